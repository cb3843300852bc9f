//! Interactive sessions on this terminal, for the CLI (`exec -it`, `attach`, `run -it`) and for
//! the TUI when it hands the terminal over (`e`, `a`). Puts the terminal in raw mode for a TTY,
//! copies stdin to the session and its output to ours, propagates window resizes, and restores
//! everything when the session ends or detaches.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::backend::{AnyBackend, Session};

use crate::backend::prelude::*;

use crate::model::{ExecSpec, LogStream, SessionId};

/// Raw mode for the life of the guard.
struct RawMode(bool);

impl RawMode {
    fn enable(tty: bool) -> RawMode {
        RawMode(tty && crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Reads stdin on its own thread until stopped. It never leaves a read pending: it waits in
/// poll on stdin and on a wake-up pipe, so that after `stop` returns no key typed later (into
/// the TUI, say) is taken.
struct StdinPump {
    keys: mpsc::Receiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
    wake: Option<rustix::fd::OwnedFd>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StdinPump {
    fn start() -> std::io::Result<StdinPump> {
        let (tx, keys) = mpsc::channel(64);
        let stop = Arc::new(AtomicBool::new(false));
        let (wake_read, wake_write) = rustix::pipe::pipe()?;
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            use rustix::event::{PollFd, PollFlags, poll};
            let fd = rustix::stdio::stdin();
            let mut buf = [0u8; 4096];
            loop {
                let mut fds = [
                    PollFd::from_borrowed_fd(fd, PollFlags::IN),
                    PollFd::new(&wake_read, PollFlags::IN),
                ];
                match poll(&mut fds, -1) {
                    Ok(_) => {}
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(_) => return,
                }
                if flag.load(Ordering::SeqCst) || !fds[1].revents().is_empty() {
                    return;
                }
                if fds[0].revents().is_empty() {
                    continue;
                }
                match rustix::io::read(fd, &mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                    Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
                    Err(_) => return,
                }
            }
        });
        Ok(StdinPump {
            keys,
            stop,
            wake: Some(wake_write),
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.wake.take() {
            let _ = rustix::io::write(&w, b"x");
        }
        // Unblock a send waiting for room.
        self.keys.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StdinPump {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a session against this terminal and returns its exit status (0 when detached).
/// `tty` says whether the session has a TTY. An attach session (`SessionId::Attach`) always
/// puts a terminal in raw mode, so that ctrl-p ctrl-q detaches here whatever the container's
/// settings, and ctrl-c is sent to a container without a TTY as SIGINT, as docker does.
pub async fn drive(b: &AnyBackend, session: Session, tty: bool) -> Result<i64> {
    let Session {
        id,
        mut output,
        input,
    } = session;
    let terminal = std::io::stdin().is_terminal();
    let attach = matches!(id, SessionId::Attach(_));
    let raw = terminal && (tty || attach);
    let _raw = RawMode::enable(raw);
    if tty && terminal {
        if let Ok((cols, rows)) = crossterm::terminal::size() {
            let _ = b.resize_session(&id, cols, rows).await;
        }
    }
    let mut pump = if input.is_some() || raw {
        Some(StdinPump::start()?)
    } else {
        None
    };
    let mut input = input;
    let mut winch = signal(SignalKind::window_change()).ok();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    // Docker reports a missing command as 126; a shell (and `docker run`) says 127.
    let mut not_found = false;
    let mut held_ctrl_p = false;
    let result: Result<()> = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(c)) => {
                    not_found |= c.data.windows(25).any(|w| w == b"executable file not found");
                    // Raw mode without a TTY on the other side: make line ends return too.
                    let data: std::borrow::Cow<[u8]> = if raw && !tty {
                        String::from_utf8_lossy(&c.data).replace('\n', "\r\n").into_bytes().into()
                    } else {
                        (&c.data[..]).into()
                    };
                    let w: &mut dyn Write = match c.stream {
                        LogStream::Stdout => &mut out,
                        LogStream::Stderr => &mut err,
                    };
                    if w.write_all(&data).and_then(|()| w.flush()).is_err() {
                        break Ok(());
                    }
                }
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            bytes = async { pump.as_mut()?.keys.recv().await }, if pump.is_some() => match bytes {
                Some(bytes) => {
                    let mut detach = false;
                    // ctrl-p is held back until the next key says whether it detaches, so
                    // the detach keys never reach the container.
                    let mut send = Vec::with_capacity(bytes.len() + 1);
                    for &k in &bytes {
                        if attach && held_ctrl_p {
                            held_ctrl_p = false;
                            if k == 0x11 {
                                detach = true;
                                break;
                            }
                            send.push(0x10);
                        }
                        if attach && k == 0x10 {
                            held_ctrl_p = true;
                            continue;
                        }
                        if attach && !tty && k == 0x03 {
                            if let SessionId::Attach(c) = &id {
                                let _ = b.kill_container(c, Some("INT")).await;
                            }
                        }
                        send.push(k);
                    }
                    if let Some(w) = input.as_mut() {
                        if !send.is_empty() && w.write_all(&send).await.and(w.flush().await).is_err() {
                            input = None;
                        }
                    }
                    if detach {
                        break Ok(());
                    }
                }
                None => {
                    // End of our input: the process sees end of file.
                    if let Some(mut w) = input.take() {
                        let _ = w.shutdown().await;
                    }
                    pump = None;
                }
            },
            Some(()) = async { winch.as_mut()?.recv().await }, if tty && terminal && winch.is_some() => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    let _ = b.resize_session(&id, cols, rows).await;
                }
            }
        }
    };
    drop(pump);
    drop(_raw);
    result?;
    let code = exit_code(b, &id).await?;
    Ok(if code == 126 && not_found { 127 } else { code })
}

/// The session's exit status; the daemon may record it a moment after the output ends.
async fn exit_code(b: &AnyBackend, id: &SessionId) -> Result<i64> {
    for _ in 0..40 {
        if let Some(code) = b.session_exit_code(id).await? {
            return Ok(code);
        }
        if matches!(id, SessionId::Attach(_)) {
            // Still running: we detached.
            return Ok(0);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(0)
}

/// `run -i/-t`: attaches before starting so no output is missed, then drives the session.
pub async fn attach_and_start(
    b: &AnyBackend,
    id: &str,
    interactive: bool,
    tty: bool,
) -> Result<i64> {
    let session = match b.attach_before_start(id, interactive).await {
        Ok(s) => {
            b.start_container(id).await?;
            s
        }
        // A backend that attaches only to running containers: start first.
        Err(crate::backend::BackendError::Conflict { .. }) => {
            b.start_container(id).await?;
            b.attach(id, interactive).await?
        }
        Err(e) => return Err(e.into()),
    };
    let code = drive(b, session, tty).await?;
    // The container's exit code if it ended; 0 when we detached and it runs on.
    match b.inspect_container(id).await {
        Ok(d) if d.summary.state.is_alive() => Ok(0),
        Ok(_) => Ok(b.wait_container(id).await?),
        // Removed as it ended (`--rm` on the embedded engine): the session had the status.
        Err(crate::backend::BackendError::NotFound { .. }) => Ok(code),
        Err(e) => Err(e.into()),
    }
}

/// The best shell a container has: bash when present, else sh.
pub async fn pick_shell(b: &AnyBackend, container: &str) -> String {
    let probe = ExecSpec {
        cmd: vec!["sh".into(), "-c".into(), "command -v bash".into()],
        ..ExecSpec::default()
    };
    let Ok(session) = b.exec(container, probe).await else {
        return "sh".into();
    };
    let out: Vec<u8> = session
        .output
        .filter_map(|c| std::future::ready(c.ok()))
        .flat_map(|c| futures::stream::iter(c.data.to_vec()))
        .collect()
        .await;
    let found = String::from_utf8_lossy(&out).trim().to_string();
    let ok = matches!(b.session_exit_code(&session.id).await, Ok(Some(0)));
    if ok && found.ends_with("bash") {
        found
    } else {
        "sh".into()
    }
}
