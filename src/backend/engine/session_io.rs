//! The async side of engine sessions that are not plain pipes: attach sessions over a
//! monitor's attach socket, and the terminal (PTY master) of `exec -t`. Output reaches the
//! session through a channel; input goes through [`InputWriter`], which tells an explicit end
//! of input (shutdown) from the writer being dropped (a detach), so that detaching never
//! closes a container's stdin.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use crate::backend::error::{BackendError, Result};
use crate::backend::{Session, SessionInput};
use crate::engine::container::attach::{self, Decoder};
use crate::model::{LogStream, OutputChunk, SessionId};

/// What the input side sends.
#[derive(Debug)]
pub enum Input {
    /// Bytes for the process.
    Data(Bytes),
    /// The input ended (the writer was shut down).
    End,
}

/// A session input that sends its bytes down a channel.
pub struct InputWriter {
    tx: PollSender<Input>,
}

impl tokio::io::AsyncWrite for InputWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.tx.poll_reserve(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
            Poll::Ready(Ok(())) => {
                match self.tx.send_item(Input::Data(Bytes::copy_from_slice(buf))) {
                    Ok(()) => Poll::Ready(Ok(buf.len())),
                    Err(_) => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.tx.is_closed() {
            return Poll::Ready(Ok(()));
        }
        match self.tx.poll_reserve(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Ok(())) => {
                let _ = self.tx.send_item(Input::End);
                self.tx.close();
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// The two ends a session's worker holds.
pub struct Ends {
    /// Where output goes; the session's output ends when every clone is dropped.
    pub output: mpsc::Sender<Result<OutputChunk>>,
    /// The input, when the session has one.
    pub input: Option<mpsc::Receiver<Input>>,
}

/// A session fed by channels, and the ends for its worker.
pub fn channels(id: SessionId, stdin: bool) -> (Session, Ends) {
    let (out_tx, out_rx) = mpsc::channel(64);
    let (input, in_rx) = if stdin {
        let (tx, rx) = mpsc::channel(16);
        let writer: SessionInput = Box::pin(InputWriter {
            tx: PollSender::new(tx),
        });
        (Some(writer), Some(rx))
    } else {
        (None, None)
    };
    let output = futures::stream::unfold(out_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed();
    (
        Session { id, output, input },
        Ends {
            output: out_tx,
            input: in_rx,
        },
    )
}

/// The next input, or `None` forever once there is none (so a `select!` arm sleeps).
async fn next_input(input: &mut Option<mpsc::Receiver<Input>>) -> Option<Input> {
    match input {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Connects to the attach socket at `path`. With `until`, keeps trying while the container is
/// being started (the monitor binds the socket before the process starts).
async fn connect(
    path: &std::path::Path,
    until: Option<Instant>,
    ends: &Ends,
) -> std::io::Result<tokio::net::UnixStream> {
    loop {
        match tokio::net::UnixStream::connect(path).await {
            Ok(s) => return Ok(s),
            Err(e) => {
                let keep_trying = until.is_some_and(|u| Instant::now() < u);
                if !keep_trying || ends.output.is_closed() {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
}

/// Exit statuses received by attach sessions, by container id.
#[derive(Clone, Default)]
pub struct Exits(Arc<Mutex<HashMap<String, i64>>>);

impl Exits {
    /// The status received for container `id`, once.
    pub fn take(&self, id: &str) -> Option<i64> {
        self.0.lock().expect("exits lock").remove(id)
    }
}

/// Where one attach session puts the status it receives.
pub struct ExitSlot {
    exits: Exits,
    id: String,
}

impl ExitSlot {
    pub fn new(exits: Exits, id: String) -> Self {
        Self { exits, id }
    }

    fn put(&self, code: i64) {
        self.exits
            .0
            .lock()
            .expect("exits lock")
            .insert(self.id.clone(), code);
    }
}

/// Runs an attach session on the socket at `path` until the container's process ends, the
/// session is dropped, or the connection fails. `until` allows for a container that is about
/// to start. The run's exit status, when the monitor sends it, goes to `exit` before the
/// session's output ends.
pub async fn attach(
    path: PathBuf,
    name: String,
    until: Option<Instant>,
    mut ends: Ends,
    exit: ExitSlot,
) {
    let stream = match connect(&path, until, &ends).await {
        Ok(s) => s,
        Err(_) => {
            let _ = ends
                .output
                .send(Err(BackendError::conflict(format!(
                    "container {name} is not running; start it first"
                ))))
                .await;
            return;
        }
    };
    let (mut rd, mut wr) = stream.into_split();
    let flags = if ends.input.is_some() {
        attach::WANTS_STDIN
    } else {
        0
    };
    if wr
        .write_all(&attach::frame(attach::HELLO, &[flags]))
        .await
        .is_err()
    {
        return;
    }
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        tokio::select! {
            read = rd.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                decoder.push(&buf[..n]);
                while let Ok(Some((kind, data))) = decoder.next_frame() {
                    if kind == attach::EXIT {
                        if let Ok(code) = <[u8; 8]>::try_from(&data[..]) {
                            exit.put(i64::from_be_bytes(code));
                        }
                        continue;
                    }
                    let stream = if kind == attach::STDERR { LogStream::Stderr } else { LogStream::Stdout };
                    let chunk = OutputChunk { stream, data: Bytes::from(data) };
                    if ends.output.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
            }
            input = next_input(&mut ends.input) => {
                let frame = match input {
                    Some(Input::Data(data)) => attach::frame(attach::STDIN, &data),
                    Some(Input::End) => attach::frame(attach::STDIN_EOF, &[]),
                    None => {
                        // Dropped without an end: a detach. The container keeps its stdin.
                        ends.input = None;
                        continue;
                    }
                };
                if wr.write_all(&frame).await.is_err() {
                    return;
                }
            }
            () = ends.output.closed() => return,
        }
    }
}

/// Tells the monitor behind `path` the terminal's new size.
pub async fn resize_attached(path: PathBuf, cols: u16, rows: u16) -> std::io::Result<()> {
    let mut s = tokio::net::UnixStream::connect(path).await?;
    let mut bytes = attach::frame(attach::HELLO, &[attach::CONTROL]);
    bytes.extend(attach::resize_frame(cols, rows));
    s.write_all(&bytes).await?;
    s.shutdown().await
}

/// A PTY master, read and written without blocking a thread.
pub struct Terminal {
    fd: AsyncFd<File>,
}

impl Terminal {
    /// Takes a master; it is made non-blocking.
    pub fn new(master: File) -> std::io::Result<Terminal> {
        rustix::io::ioctl_fionbio(&master, true)?;
        // SAFETY: the File is owned by the AsyncFd from here on, so its descriptor stays open
        // and the same for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register(master) }.map_err(std::io::Error::from)?;
        Ok(Terminal { fd })
    }

    async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.try_io(|f| f.get_ref().read(buf)) {
                Ok(r) => return r,
                Err(_) => continue,
            }
        }
    }

    async fn write_all(&self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let mut ready = self.fd.writable().await?;
            match ready.try_io(|f| f.get_ref().write(data)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_) => continue,
            }
        }
        Ok(())
    }

    /// Copies the terminal's output to the session and the session's input to it, until the
    /// last process holding the terminal is gone (the master then reads EIO) or the session
    /// is dropped.
    pub async fn relay(self, mut ends: Ends) {
        let mut buf = vec![0u8; 32 << 10];
        loop {
            tokio::select! {
                read = self.read(&mut buf) => {
                    let n = match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let chunk = OutputChunk {
                        stream: LogStream::Stdout,
                        data: Bytes::copy_from_slice(&buf[..n]),
                    };
                    if ends.output.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                input = next_input(&mut ends.input) => match input {
                    Some(Input::Data(data)) => {
                        if self.write_all(&data).await.is_err() {
                            ends.input = None;
                        }
                    }
                    // A terminal has no end of input but the one its user types (ctrl-d).
                    Some(Input::End) | None => ends.input = None,
                },
                () = ends.output.closed() => return,
            }
        }
    }
}
