//! The I/O of a terminal pane's session, on either backend: the exec (a shell — bash when
//! the container has it, else sh — or the command asked for) or the attach opened with a
//! TTY at the pane's size, its output sent to the UI as it comes, the keys and resizes the
//! UI sends passed on, and its end said once with the exit status. Dropping the command
//! sender (closing the tab, detaching) ends the session's connection; an exec'd process
//! then gets a hang-up as from a closed terminal, an attached container runs on.

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::action::Action;
use crate::backend::AnyBackend;
use crate::backend::prelude::*;
use crate::model::ExecSpec;

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
    let crate::backend::Session {
        id: session_id,
        mut output,
        mut input,
    } = session;
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(c)) => {
                    let data = if bare_lines {
                        crlf(&c.data)
                    } else {
                        c.data.to_vec()
                    };
                    if tx.send(Action::TerminalOutput(id, data)).is_err() {
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
    #[test]
    fn bare_line_feeds_return_too() {
        assert_eq!(super::crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }
}
