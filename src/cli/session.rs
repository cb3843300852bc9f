//! Interactive sessions from the terminal: `exec -it`, `attach` and `run -it`. Puts the
//! terminal in raw mode for a TTY, copies stdin to the session and its output to ours,
//! propagates window resizes, and restores everything when the session ends or detaches.
//! The TUI uses the same code when it hands the terminal over.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::backend::{AnyBackend, Backend, LogStream, Session, SessionId};

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

/// Reads stdin on its own thread until told to stop. Polling with a timeout lets the thread
/// end without a pending read that would eat the next key typed into the TUI.
fn pump_stdin(stop: Arc<AtomicBool>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        let fd = rustix::stdio::stdin();
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            let mut fds = [rustix::event::PollFd::from_borrowed_fd(
                fd,
                rustix::event::PollFlags::IN,
            )];
            match rustix::event::poll(&mut fds, 100) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => break,
            }
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
                Err(_) => break,
            }
        }
    });
    rx
}

/// Runs a session against this terminal and returns its exit status (0 when detached).
pub async fn drive(b: &AnyBackend, session: Session, tty: bool) -> Result<i64> {
    let Session {
        id,
        mut output,
        input,
    } = session;
    let tty = tty && std::io::stdin().is_terminal();
    let _raw = RawMode::enable(tty);
    if tty {
        if let Ok((cols, rows)) = crossterm::terminal::size() {
            let _ = b.resize_session(&id, cols, rows).await;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut keys = input.as_ref().map(|_| pump_stdin(stop.clone()));
    let mut input = input;
    let mut winch = signal(SignalKind::window_change()).ok();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    // Docker reports a missing command as 126; a shell (and `docker run`) says 127.
    let mut not_found = false;
    let result: Result<()> = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(c)) => {
                    not_found |= c.data.windows(25).any(|w| w == b"executable file not found");
                    let w: &mut dyn Write = match c.stream {
                        LogStream::Stdout => &mut out,
                        LogStream::Stderr => &mut err,
                    };
                    if w.write_all(&c.data).and_then(|()| w.flush()).is_err() {
                        break Ok(());
                    }
                }
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            bytes = async { keys.as_mut()?.recv().await }, if keys.is_some() => match (bytes, input.as_mut()) {
                (Some(bytes), Some(w)) => {
                    if w.write_all(&bytes).await.and(w.flush().await).is_err() {
                        keys = None;
                    }
                }
                _ => {
                    // End of our input: the process sees end of file.
                    if let Some(mut w) = input.take() {
                        let _ = w.shutdown().await;
                    }
                    keys = None;
                }
            },
            Some(()) = async { winch.as_mut()?.recv().await }, if tty && winch.is_some() => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    let _ = b.resize_session(&id, cols, rows).await;
                }
            }
        }
    };
    stop.store(true, Ordering::Relaxed);
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
    let session = match b.attach(id, interactive).await {
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
    drive(b, session, tty).await?;
    // The container's exit code if it ended; 0 when we detached and it runs on.
    if b.inspect_container(id).await?.summary.state.is_alive() {
        return Ok(0);
    }
    Ok(b.wait_container(id).await?)
}
