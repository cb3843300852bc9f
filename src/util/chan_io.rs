//! Bridges between async byte streams and the blocking `Read`/`Write` the engine's store uses:
//! a reader that takes chunks from a tokio channel (on a blocking thread) and a writer that
//! sends its bytes as chunks.

use std::io::{Read, Write};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc::{Receiver, Sender, channel};

/// A blocking reader over chunks sent from the async side. Use it on a blocking thread.
pub struct ChannelReader {
    rx: Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    /// A reader of what is sent on the channel; an `Err` chunk becomes a read error.
    pub fn new(rx: Receiver<std::io::Result<Bytes>>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }

    /// A reader of `stream`, forwarded by a task on the current runtime.
    pub fn from_stream(
        mut stream: impl Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static,
    ) -> ChannelReader {
        let (tx, rx) = channel(16);
        tokio::spawn(async move {
            while let Some(chunk) = stream.next().await {
                if tx.send(chunk).await.is_err() {
                    break;
                }
            }
        });
        ChannelReader::new(rx)
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A blocking writer whose bytes are sent as chunks. Use it on a blocking thread.
pub struct ChannelWriter {
    tx: Sender<std::io::Result<Bytes>>,
}

impl ChannelWriter {
    /// A writer into the channel.
    pub fn new(tx: Sender<std::io::Result<Bytes>>) -> ChannelWriter {
        ChannelWriter { tx }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the reader is gone")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_cross_both_ways() {
        let stream = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ]);
        let mut reader = ChannelReader::from_stream(stream);
        let text = tokio::task::spawn_blocking(move || {
            let mut s = String::new();
            reader.read_to_string(&mut s).map(|_| s)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(text, "hello world");

        let (tx, mut rx) = channel(4);
        tokio::task::spawn_blocking(move || {
            let mut w = ChannelWriter::new(tx);
            w.write_all(b"abc").unwrap();
        });
        assert_eq!(
            rx.recv().await.unwrap().unwrap(),
            Bytes::from_static(b"abc")
        );
        assert!(rx.recv().await.is_none());

        let failing = futures::stream::iter(vec![Err(std::io::Error::other("broken"))]);
        let mut reader = ChannelReader::from_stream(failing);
        let err = tokio::task::spawn_blocking(move || reader.read(&mut [0u8; 4]))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.to_string(), "broken");
    }
}
