//! Attaching to a container: the unix socket each monitor serves at
//! `/run/dockhand/attach/<id>`, the frames spoken on it, and the terminal plumbing shared by
//! the monitor and exec (receiving a PTY master from libcontainer's console socket, setting
//! a window size).
//!
//! A client opens with a HELLO frame (whether it sends input, or only controls), then sends
//! STDIN data, STDIN_EOF and RESIZE frames; the monitor sends STDOUT and STDERR frames (a
//! container with a TTY has only STDOUT) and, when the container's process has ended and its
//! exit is on record, an EXIT frame with the status before it closes the connection. Every frame is `[kind: u8][length: u32 big-endian][payload]`.

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::RUNTIME_DIR;

/// Client → monitor: the first frame; its one payload byte holds [`WANTS_STDIN`] / [`CONTROL`].
pub const HELLO: u8 = 1;
/// Client → monitor: bytes for the container's input.
pub const STDIN: u8 = 2;
/// Client → monitor: this client's input ended.
pub const STDIN_EOF: u8 = 3;
/// Client → monitor: the terminal's size, `cols: u16, rows: u16`, big-endian.
pub const RESIZE: u8 = 4;
/// Monitor → client: the container's standard output (or its terminal).
pub const STDOUT: u8 = 1;
/// Monitor → client: the container's standard error.
pub const STDERR: u8 = 2;
/// Monitor → client: the run's exit status (`i64`, big-endian), last before the close.
pub const EXIT: u8 = 3;

/// HELLO flag: the client sends input.
pub const WANTS_STDIN: u8 = 1;
/// HELLO flag: the client only sends RESIZE frames and wants no output.
pub const CONTROL: u8 = 2;

/// The largest frame accepted; a peer sending more is dropped.
pub const MAX_FRAME: usize = 1 << 20;

/// The attach socket of container `id`.
pub fn socket_path(id: &str) -> PathBuf {
    Path::new(RUNTIME_DIR).join("attach").join(id)
}

/// One frame, ready to send.
pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A RESIZE frame.
pub fn resize_frame(cols: u16, rows: u16) -> Vec<u8> {
    let mut payload = cols.to_be_bytes().to_vec();
    payload.extend_from_slice(&rows.to_be_bytes());
    frame(RESIZE, &payload)
}

/// The size a RESIZE payload carries.
pub fn parse_resize(payload: &[u8]) -> Option<(u16, u16)> {
    let [c0, c1, r0, r1] = payload else {
        return None;
    };
    Some((
        u16::from_be_bytes([*c0, *c1]),
        u16::from_be_bytes([*r0, *r1]),
    ))
}

/// Splits a byte stream into frames.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

/// A peer broke the framing.
#[derive(Debug, thiserror::Error)]
#[error("attach frame of {0} bytes is over the limit of {MAX_FRAME}")]
pub struct FrameTooLarge(pub usize);

impl Decoder {
    /// Adds received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, FrameTooLarge> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(FrameTooLarge(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let kind = self.buf[0];
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, payload)))
    }
}

/// Sets the window size of the terminal `fd` (a PTY master): the kernel tells the
/// foreground process group with SIGWINCH.
pub fn set_window_size(fd: BorrowedFd<'_>, cols: u16, rows: u16) -> std::io::Result<()> {
    let size = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(fd, size).map_err(std::io::Error::from)
}

/// A listener for libcontainer's console socket at `path` (replacing a stale one).
pub fn console_listener(path: &Path) -> std::io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Receives the PTY master that libcontainer sends to the console socket once the container's
/// process has made its terminal; gives up after `timeout`.
pub fn receive_console(listener: &UnixListener, timeout: Duration) -> std::io::Result<OwnedFd> {
    let until = Instant::now() + timeout;
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= until {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the container did not send its terminal",
                    ));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(
        until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(10)),
    ))?;
    receive_fd(&stream)
}

/// Reads one message carrying a file descriptor (SCM_RIGHTS) from `stream`.
pub fn receive_fd(stream: &UnixStream) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut name = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(std::io::Error::from)?;
    for cmsg in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor in our table for us;
                // nothing else owns it.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the console socket message carried no terminal",
    ))
}

/// Reads what is available from a non-blocking `reader`: `Ok(None)` when nothing is, an
/// empty vector at its end.
pub fn read_available(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
    match reader.read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_split_whatever_the_chunks() {
        let mut bytes = frame(HELLO, &[WANTS_STDIN]);
        bytes.extend(frame(STDIN, b"echo hi\n"));
        bytes.extend(resize_frame(120, 40));
        let mut d = Decoder::default();
        let mut seen = Vec::new();
        for b in bytes {
            d.push(&[b]);
            while let Some(f) = d.next_frame().unwrap() {
                seen.push(f);
            }
        }
        assert_eq!(seen[0], (HELLO, vec![WANTS_STDIN]));
        assert_eq!(seen[1], (STDIN, b"echo hi\n".to_vec()));
        assert_eq!(seen[2].0, RESIZE);
        assert_eq!(parse_resize(&seen[2].1), Some((120, 40)));
        let mut d = Decoder::default();
        d.push(&frame(STDIN, &[])[..1]);
        d.push(&[0xff, 0xff, 0xff, 0xff]);
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn a_descriptor_passes_over_a_socket() {
        let (a, b) = UnixStream::pair().unwrap();
        let file = tempfile::tempfile().unwrap();
        let fds = [file.as_raw_fd()];
        let iov = [std::io::IoSlice::new(b"x")];
        nix::sys::socket::sendmsg::<()>(
            a.as_raw_fd(),
            &iov,
            &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
        let got = receive_fd(&b).unwrap();
        let same = |fd: i32| std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        assert_eq!(same(got.as_raw_fd()), same(file.as_raw_fd()));
    }
}
