//! Exec sessions on the embedded engine: the `__exec` helper runs with pipes for stdin,
//! stdout and stderr, or, with a TTY, the command's terminal master comes to a console socket
//! this process listens on and is relayed here (and resized here). The helper's exit status
//! is kept per session.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use std::os::fd::AsFd;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::session_io;
use crate::backend::error::{BackendError, Result};
use crate::backend::{ResultStream, Session, SessionInput};
use crate::engine::container::RUNTIME_DIR;
use crate::engine::container::attach;
use crate::engine::container::exec::{ARG, ExecRequest};
use crate::model::{LogStream, OutputChunk, SessionId};

/// What the backend keeps of a session.
#[derive(Default)]
struct Entry {
    code: Option<i64>,
    /// The terminal's master, once it came (TTY sessions).
    master: Option<std::fs::File>,
    /// The size last asked for.
    size: Option<(u16, u16)>,
}

/// The sessions of one engine backend.
#[derive(Default, Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
    /// Woken whenever a helper exits.
    ended: Arc<tokio::sync::Notify>,
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
        let key = format!("{:016x}", rand_u64());
        if request.tty {
            return self.start_terminal(exe, root, id, request.clone(), stdin, key);
        }
        let json = serde_json::to_string(request).expect("requests serialise");
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg(ARG).arg(root).arg(id).arg(json).kill_on_drop(false);
        cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(io("cannot run the exec helper"))?;
        let out = chunks(child.stdout.take().expect("piped"), LogStream::Stdout);
        let err = chunks(child.stderr.take().expect("piped"), LogStream::Stderr);
        let input: Option<SessionInput> = child.stdin.take().map(|i| Box::pin(i) as SessionInput);
        drop(self.wait_for(key.clone(), child));
        Ok(Session {
            id: SessionId::Exec(key),
            output: futures::stream::select(out, err).boxed(),
            input,
        })
    }

    /// `exec -t`: listens for the terminal's master, runs the helper, and relays the master.
    fn start_terminal(
        &self,
        exe: &std::path::Path,
        root: &std::path::Path,
        id: &str,
        mut request: ExecRequest,
        stdin: bool,
        key: String,
    ) -> Result<Session> {
        std::fs::create_dir_all(RUNTIME_DIR).map_err(io("cannot create /run/dockhand"))?;
        let path = std::path::Path::new(RUNTIME_DIR).join(format!("exec-{key}"));
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path)
            .map_err(io("cannot listen for the exec's terminal"))?;
        request.console_socket = Some(path.to_string_lossy().into_owned());
        let json = serde_json::to_string(&request).expect("requests serialise");
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg(ARG)
            .arg(root)
            .arg(id)
            .arg(json)
            .kill_on_drop(false)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawned = cmd.spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(io("cannot run the exec helper")(e));
            }
        };
        let (session, ends) = session_io::channels(SessionId::Exec(key.clone()), stdin);
        // What the helper itself says (a command that cannot run) is part of the output.
        for (reader, stream) in [
            (
                Box::new(child.stdout.take().expect("piped")) as Box<dyn AsyncRead + Send + Unpin>,
                LogStream::Stdout,
            ),
            (
                Box::new(child.stderr.take().expect("piped")),
                LogStream::Stderr,
            ),
        ] {
            let tx = ends.output.clone();
            tokio::spawn(async move {
                let mut helper = chunks(reader, stream);
                while let Some(chunk) = helper.next().await {
                    if tx.send(chunk).await.is_err() {
                        break;
                    }
                }
            });
        }
        let exited = self.wait_for(key.clone(), child);
        let sessions = self.inner.clone();
        tokio::spawn(async move {
            let accepted = tokio::select! {
                a = listener.accept() => a.ok().map(|(s, _)| s),
                _ = exited => None,
                () = tokio::time::sleep(std::time::Duration::from_secs(30)) => None,
            };
            let _ = std::fs::remove_file(&path);
            let Some(stream) = accepted else { return };
            let received = tokio::task::spawn_blocking(move || {
                let s = stream.into_std()?;
                s.set_nonblocking(false)?;
                s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
                attach::receive_fd(&s)
            })
            .await;
            let Ok(Ok(master)) = received else { return };
            let master = std::fs::File::from(master);
            {
                let mut map = sessions.lock().expect("sessions lock");
                if let Some(entry) = map.get_mut(&key) {
                    if let Some((cols, rows)) = entry.size {
                        let _ = attach::set_window_size(master.as_fd(), cols, rows);
                    }
                    entry.master = master.try_clone().ok();
                }
            }
            if let Ok(terminal) = session_io::Terminal::new(master) {
                terminal.relay(ends).await;
            }
            if let Some(e) = sessions.lock().expect("sessions lock").get_mut(&key) {
                e.master = None;
            }
        });
        Ok(session)
    }

    /// Waits for the helper in the background; the receiver fires when it has exited.
    fn wait_for(
        &self,
        key: String,
        mut child: tokio::process::Child,
    ) -> tokio::sync::oneshot::Receiver<()> {
        let inner = self.inner.clone();
        let ended = self.ended.clone();
        inner
            .lock()
            .expect("sessions lock")
            .entry(key.clone())
            .or_default();
        let (done, exited) = tokio::sync::oneshot::channel();
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
            ended.notify_waiters();
            let _ = done.send(());
        });
        exited
    }

    /// Sets the terminal size of a TTY session (now, or as soon as its terminal exists).
    pub fn resize(&self, key: &str, cols: u16, rows: u16) -> Result<()> {
        let mut map = self.inner.lock().expect("sessions lock");
        // Sessions are registered when they start; an unknown one has nothing to resize.
        let Some(entry) = map.get_mut(key) else {
            return Ok(());
        };
        entry.size = Some((cols, rows));
        if let Some(master) = &entry.master {
            attach::set_window_size(master.as_fd(), cols, rows)
                .map_err(io("cannot resize the terminal"))?;
        }
        Ok(())
    }

    /// The exit status of a session. Its output may end a moment before its helper does, so
    /// a session still running is waited for, up to a second; `None` if it runs on.
    pub async fn exit_code(&self, key: &str) -> Option<i64> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            // Registered before the check, so an exit in between still wakes us.
            let notified = self.ended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut map = self.inner.lock().expect("sessions lock");
                match map.get(key).map(|e| e.code) {
                    Some(Some(code)) => {
                        map.remove(key);
                        return Some(code);
                    }
                    Some(None) => {}
                    None => return None,
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(crate::util::time::unix_now_ns() as u128);
    h.finish()
}
