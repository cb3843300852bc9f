//! Demo exec and attach sessions, served by the small shell.

use super::*;
use crate::backend::prelude::*;

impl SessionBackend for FakeBackend {
    async fn exec(&self, container: &str, spec: ExecSpec) -> Result<Session> {
        let c = self.container_snapshot(container)?;
        c.summary.state.check(Operation::Exec, &c.summary.name)?;
        if spec.cmd.is_empty() {
            return Err(BackendError::invalid("no command given to exec"));
        }
        let seq = {
            let mut st = self.state();
            st.seq += 1;
            st.seq
        };
        let id = hex_id(&format!("exec:{}:{seq}", c.summary.id));
        let size = Arc::new(Mutex::new((80, 24)));
        let exit = Arc::new(Mutex::new(None));
        self.sessions().insert(
            id.clone(),
            ExecState {
                size: size.clone(),
                exit: exit.clone(),
            },
        );
        let mut env = c.env.clone();
        env.extend(spec.env.iter().cloned());
        let ctx = shell::Context {
            files: c.all_files(),
            hostname: c.hostname.clone(),
            env,
            top: synth::top(
                Workload::for_image(&c.summary.image),
                c.pid.unwrap_or(1),
                &c.summary.command,
            ),
            size,
        };
        let interactive_shell = spec.stdin
            && spec.cmd.len() == 1
            && matches!(spec.cmd[0].rsplit('/').next(), Some("sh" | "bash" | "ash"));
        if interactive_shell {
            let (client, server) = tokio::io::duplex(8192);
            let (tx, rx) = tokio::sync::mpsc::channel(256);
            let tty = spec.tty;
            tokio::spawn(async move {
                let code = shell::serve(ctx, server, tx, tty, false).await;
                *exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(code.unwrap_or(0));
            });
            return Ok(Session {
                id: SessionId::Exec(id),
                output: receiver_stream(rx),
                input: Some(Box::pin(client)),
            });
        }
        if spec.cmd[0] == "yes" {
            return Ok(Session {
                id: SessionId::Exec(id),
                output: yes(&spec, exit),
                input: spec
                    .stdin
                    .then(|| Box::pin(tokio::io::sink()) as crate::backend::SessionInput),
            });
        }
        let o = shell::run(&ctx, &spec.cmd, false);
        *exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(o.code);
        let chunks: Vec<Result<OutputChunk>> =
            [(LogStream::Stdout, o.stdout), (LogStream::Stderr, o.stderr)]
                .into_iter()
                .filter(|(_, text)| !text.is_empty())
                .map(|(stream, text)| {
                    let text = if spec.tty {
                        text.replace('\n', "\r\n")
                    } else {
                        text
                    };
                    Ok(OutputChunk {
                        stream: if spec.tty { LogStream::Stdout } else { stream },
                        data: bytes::Bytes::from(text),
                    })
                })
                .collect();
        Ok(Session {
            id: SessionId::Exec(id),
            output: stream::iter(chunks).boxed(),
            input: spec
                .stdin
                .then(|| Box::pin(tokio::io::sink()) as crate::backend::SessionInput),
        })
    }

    async fn attach(&self, container: &str, stdin: bool) -> Result<Session> {
        let c = self.container_snapshot(container)?;
        c.summary.state.check(Operation::Attach, &c.summary.name)?;
        let follow = LogOptions {
            follow: true,
            tail: Some(0),
            since: None,
        };
        let tty = c.tty;
        let lines = self.container_logs(&c.summary.id, follow).await?;
        let output = lines.map(move |l| {
            l.map(|l| OutputChunk {
                stream: if tty { LogStream::Stdout } else { l.stream },
                data: bytes::Bytes::from(format!("{}{}", l.text, if tty { "\r\n" } else { "\n" })),
            })
        });
        let (input, output): (
            Option<crate::backend::SessionInput>,
            ResultStream<OutputChunk>,
        ) = if stdin {
            // The process reads nothing; ctrl-p ctrl-q detaches, as on Docker.
            let (client, mut server) = tokio::io::duplex(4096);
            let detached = async move {
                let mut last = 0u8;
                let mut buf = [0u8; 256];
                loop {
                    match tokio::io::AsyncReadExt::read(&mut server, &mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            for &b in &buf[..n] {
                                if last == 0x10 && b == 0x11 {
                                    return;
                                }
                                last = b;
                            }
                        }
                    }
                }
            };
            (
                Some(Box::pin(client)),
                output.take_until(Box::pin(detached)).boxed(),
            )
        } else {
            (None, output.boxed())
        };
        Ok(Session {
            id: SessionId::Attach(c.summary.id),
            output,
            input,
        })
    }

    async fn resize_session(&self, id: &SessionId, cols: u16, rows: u16) -> Result<()> {
        match id {
            SessionId::Exec(exec) => {
                let sessions = self.sessions();
                let s = sessions.get(exec).ok_or_else(|| {
                    BackendError::invalid(format!("no such exec session: {exec}"))
                })?;
                *s.size.lock().unwrap_or_else(|p| p.into_inner()) = (cols, rows);
                Ok(())
            }
            SessionId::Attach(c) => self.container_snapshot(c).map(drop),
        }
    }

    async fn session_exit_code(&self, id: &SessionId) -> Result<Option<i64>> {
        match id {
            SessionId::Exec(exec) => {
                let sessions = self.sessions();
                let s = sessions.get(exec).ok_or_else(|| {
                    BackendError::invalid(format!("no such exec session: {exec}"))
                })?;
                Ok(*s.exit.lock().unwrap_or_else(|p| p.into_inner()))
            }
            SessionId::Attach(c) => {
                let c = self.container_snapshot(c)?;
                Ok(if c.summary.state.is_alive() {
                    None
                } else {
                    c.summary.exit_code
                })
            }
        }
    }
}

/// `yes [WORD]`: the word, line after line, for as long as the session is read (as fast as
/// it is read: the channel is bounded, like a pipe); killed by a hang-up when it is closed.
fn yes(spec: &ExecSpec, exit: Arc<Mutex<Option<i64>>>) -> ResultStream<OutputChunk> {
    let word = spec.cmd.get(1).map_or("y", String::as_str);
    let line = format!("{word}{}", if spec.tty { "\r\n" } else { "\n" });
    let chunk = bytes::Bytes::from(line.repeat(4096 / line.len()));
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while tx
            .send(OutputChunk {
                stream: LogStream::Stdout,
                data: chunk.clone(),
            })
            .await
            .is_ok()
        {}
        *exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(129);
    });
    receiver_stream(rx)
}
