//! Exec sessions on the embedded engine: the `__exec` helper runs with pipes for stdin,
//! stdout and stderr; its exit status is kept per session.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncReadExt;

use crate::backend::error::{BackendError, Result};
use crate::backend::types::{LogStream, OutputChunk, SessionId};
use crate::backend::{ResultStream, Session, SessionInput};
use crate::engine::container::exec::{ARG, ExecRequest};

/// What the backend keeps of a session.
#[derive(Default)]
struct Entry {
    code: Option<i64>,
}

/// The sessions of one engine backend.
#[derive(Default, Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> BackendError + '_ {
    move |e| BackendError::Internal {
        message: format!("{what}: {e}"),
        source: Some(Box::new(e)),
    }
}

/// Chunks read from an async reader, as one stream of output.
fn chunks(
    reader: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    stream: LogStream,
) -> ResultStream<OutputChunk> {
    futures::stream::unfold(reader, move |mut r| async move {
        let mut buf = vec![0u8; 16 << 10];
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok(OutputChunk {
                        stream,
                        data: Bytes::from(buf),
                    }),
                    r,
                ))
            }
        }
    })
    .boxed()
}

impl Sessions {
    /// Starts `request` in container `id` through the helper `exe`.
    pub fn start(
        &self,
        exe: &std::path::Path,
        root: &std::path::Path,
        id: &str,
        request: &ExecRequest,
        stdin: bool,
    ) -> Result<Session> {
        let json = serde_json::to_string(request).expect("requests serialise");
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg(ARG).arg(root).arg(id).arg(json).kill_on_drop(false);
        let key = format!("{:016x}", rand_u64());
        let (output, input): (ResultStream<OutputChunk>, Option<SessionInput>) = {
            cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().map_err(io("cannot run the exec helper"))?;
            let out = chunks(child.stdout.take().expect("piped"), LogStream::Stdout);
            let err = chunks(child.stderr.take().expect("piped"), LogStream::Stderr);
            let input: Option<SessionInput> =
                child.stdin.take().map(|i| Box::pin(i) as SessionInput);
            self.wait_for(key.clone(), child);
            (futures::stream::select(out, err).boxed(), input)
        };
        Ok(Session {
            id: SessionId::Exec(key),
            output,
            input,
        })
    }

    fn wait_for(&self, key: String, mut child: tokio::process::Child) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(s) => s.code().map_or(128 + 9, i64::from),
                Err(_) => 125,
            };
            inner
                .lock()
                .expect("sessions lock")
                .entry(key)
                .or_default()
                .code = Some(code);
        });
    }

    /// The exit status of a finished session.
    pub fn exit_code(&self, key: &str) -> Option<i64> {
        let mut map = self.inner.lock().expect("sessions lock");
        let code = map.get(key).and_then(|e| e.code);
        if code.is_some() {
            map.remove(key);
        }
        code
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(crate::util::time::unix_now_ns() as u128);
    h.finish()
}
