//! A pseudo-terminal for driving the real binary the way a user at a terminal does: the
//! child gets the terminal as its controlling terminal (so resizing sends it SIGWINCH), and
//! everything it prints is collected for `expect`. The child is killed on drop.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process on its own terminal.
pub struct Pty {
    master: std::fs::File,
    child: Child,
    seen: Arc<Mutex<Vec<u8>>>,
    /// Where the next `expect` starts looking.
    mark: usize,
}

impl Pty {
    /// Starts `command` on a new terminal of `cols` x `rows`.
    pub fn spawn(mut command: Command, cols: u16, rows: u16) -> Pty {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pair = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave: OwnedFd = pair.slave;
        command
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec only async-signal-safe calls: setsid and an ioctl on
        // the child's own stdin.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn on the terminal");
        drop(command);
        let master = std::fs::File::from(pair.master);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            child,
            seen,
            mark: 0,
        }
    }

    /// Types `text`.
    pub fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
    }

    /// Waits up to 20 s for `text` to appear after what earlier expects matched; panics with
    /// the screen so far when it does not.
    pub fn expect(&mut self, text: &str) {
        assert!(
            self.appears_within(text, Duration::from_secs(20)),
            "{text:?} did not appear; the terminal shows:\n{}",
            self.screen()
        );
    }

    /// Whether `text` appears within `limit` after what earlier expects matched (then
    /// matched, as by [`Pty::expect`]).
    pub fn appears_within(&mut self, text: &str, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            {
                let seen = self.seen.lock().unwrap();
                let hay = String::from_utf8_lossy(&seen[self.mark..]).into_owned();
                if let Some(at) = hay.find(text) {
                    self.mark += hay[..at + text.len()].len();
                    return true;
                }
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything printed so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Resizes the terminal; the kernel tells the child's foreground process group.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on our own master with a pointer to a live Winsize.
        let r = unsafe { nix::libc::ioctl(self.master.as_raw_fd(), nix::libc::TIOCSWINSZ, &size) };
        assert_eq!(r, 0, "TIOCSWINSZ");
    }

    /// Resizes the terminal, then checks with `stty size` that the shell on it sees the new
    /// size.
    pub fn resize_and_check(&mut self, cols: u16, rows: u16) {
        self.resize(cols, rows);
        // The size travels through the CLI's SIGWINCH handler and the backend first: asked
        // again until the shell sees it, for up to 20 s.
        let want = format!("{rows} {cols}");
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            self.send("stty size\r");
            if self.appears_within(&want, Duration::from_millis(500)) {
                return;
            }
            assert!(
                Instant::now() < until,
                "the shell never saw {want}; the terminal shows:\n{}",
                self.screen()
            );
        }
    }

    /// Waits up to 20 s for the child to exit; its exit code.
    pub fn wait(&mut self) -> i32 {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < until,
                "the command did not end; the terminal shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
