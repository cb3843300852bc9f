//! The I/O of a terminal pane's session, on either backend: the exec (a shell — bash when
//! the container has it, else sh — or the command asked for) or the attach opened with a
//! TTY at the pane's size, its output sent to the UI as it comes, the keys and resizes the
//! UI sends passed on, and its end said once with the exit status. Dropping the command
//! sender (closing the tab, detaching) ends the session's connection; an exec'd process
//! then gets a hang-up as from a closed terminal, an attached container runs on.

use std::sync::Arc;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::action::{Action, TermOutput};
use crate::backend::AnyBackend;
use crate::backend::prelude::*;
use crate::model::ExecSpec;

/// Bytes of one session's output sent to the UI and not yet taken by it: past this the
/// session waits (and so does what it runs, as on a slow terminal).
pub const IN_FLIGHT: u32 = 256 << 10;

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermRequest {
    /// The pane's number for the session.
    pub session: u32,
    /// The container's id.
    pub container: String,
    /// Its name, for messages.
    pub name: String,
    /// Attach to the main process instead of running a command.
    pub attach: bool,
    /// The command (a shell when empty).
    pub command: Vec<String>,
    /// The pane's size.
    pub rows: u16,
    /// The pane's size.
    pub cols: u16,
}

/// What the UI sends a running session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermCommand {
    /// Bytes typed.
    Input(Vec<u8>),
    /// The pane's new size (rows, cols).
    Resize(u16, u16),
}

/// Runs the session until it ends or `commands` closes, sending its output and its end to
/// `tx`.
pub async fn run(
    backend: AnyBackend,
    request: TermRequest,
    mut commands: UnboundedReceiver<TermCommand>,
    tx: UnboundedSender<Action>,
) {
    let id = request.session;
    let end = |text: String| {
        let _ = tx.send(Action::TerminalEnded(id, text));
    };
    let (session, what) = if request.attach {
        (
            backend.attach(&request.container, true).await,
            format!("attach to {}", request.name),
        )
    } else {
        let command = if request.command.is_empty() {
            vec![crate::session::pick_shell(&backend, &request.container).await]
        } else {
            request.command.clone()
        };
        let what = format!("{} in {}", command.join(" "), request.name);
        let spec = ExecSpec {
            cmd: command,
            tty: true,
            stdin: true,
            ..ExecSpec::default()
        };
        (backend.exec(&request.container, spec).await, what)
    };
    let session = match session {
        Ok(s) => s,
        Err(e) => return end(format!("cannot open {what}: {e}")),
    };
    let _ = backend
        .resize_session(&session.id, request.cols, request.rows)
        .await;
    // A container without a TTY writes bare line feeds; a terminal needs them to return too.
    let bare_lines = request.attach
        && !backend
            .inspect_container(&request.container)
            .await
            .is_ok_and(|d| d.tty);
    let budget = Arc::new(Semaphore::new(IN_FLIGHT as usize));
    let crate::backend::Session {
        id: session_id,
        mut output,
        mut input,
    } = session;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(c)) => {
                    let bytes = if bare_lines {
                        crlf(&c.data)
                    } else {
                        c.data.to_vec()
                    };
                    let share = u32::try_from(bytes.len()).unwrap_or(u32::MAX).min(IN_FLIGHT);
                    let Ok(held) = budget.clone().acquire_many_owned(share).await else {
                        return;
                    };
                    let out = TermOutput { bytes, held: Arc::new(held) };
                    if tx.send(Action::TerminalOutput(id, out)).is_err() {
                        return;
                    }
                }
                Some(Err(e)) => return end(format!("{what} failed: {e}")),
                None => break,
            },
            command = commands.recv() => match command {
                Some(TermCommand::Input(bytes)) => {
                    if let Some(w) = input.as_mut() {
                        if w.write_all(&bytes).await.and(w.flush().await).is_err() {
                            input = None;
                        }
                    }
                }
                Some(TermCommand::Resize(rows, cols)) => {
                    let _ = backend.resize_session(&session_id, cols, rows).await;
                }
                // The tab was closed or the session detached.
                None => return,
            },
        }
    }
    if request.attach {
        let state = backend.inspect_container(&request.container).await;
        return end(match state {
            Ok(d) if d.summary.state.is_alive() => format!("{what} ended"),
            Ok(d) => format!(
                "{} exited with code {}",
                request.name,
                d.summary.exit_code.unwrap_or(0)
            ),
            Err(e) => format!("{what} ended: {e}"),
        });
    }
    end(match backend.session_exit_code(&session_id).await {
        Ok(Some(code)) => format!("{what} ended (exit {code})"),
        _ => format!("{what} ended"),
    });
}

/// `data` with each bare line feed made a carriage return and line feed.
fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    let mut last = 0u8;
    for &b in data {
        if b == b'\n' && last != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        last = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::fake::FakeBackend;

    #[test]
    fn bare_line_feeds_return_too() {
        assert_eq!(super::crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }

    /// The bytes of output waiting in `rx`, taken out (and so given back).
    fn waiting(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Action>) -> usize {
        let mut n = 0;
        while let Ok(a) = rx.try_recv() {
            if let Action::TerminalOutput(_, out) = a {
                n += out.bytes.len();
            }
        }
        n
    }

    #[tokio::test]
    async fn a_flooding_session_waits_for_the_ui_instead_of_queueing_without_end() {
        let backend = AnyBackend::Fake(FakeBackend::new());
        let request = TermRequest {
            session: 1,
            container: "web".into(),
            name: "web".into(),
            attach: false,
            command: vec!["yes".into()],
            rows: 24,
            cols: 80,
        };
        let (_commands, command_rx) = tokio::sync::mpsc::unbounded_channel();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(run(backend, request, command_rx, tx));
        // The UI takes nothing for a while: the session stops at its budget.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let first = waiting(&mut rx);
        assert!(first > 0, "yes wrote nothing");
        assert!(
            first <= IN_FLIGHT as usize,
            "{first} bytes queued, more than the budget of {IN_FLIGHT}"
        );
        // Taken, the budget is given back and the output goes on.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(waiting(&mut rx) > 0, "the output did not go on");
    }
}
