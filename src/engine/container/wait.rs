//! Waiting for what usually happens soon: a back-off, a bounded wait, whether a process lives.

use std::time::{Duration, Instant};

/// Pauses between checks of something that usually happens soon: 2 ms, doubling to 100 ms.
#[derive(Debug, Clone)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(2))
    }
}

impl Backoff {
    /// The next pause.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_millis(100));
        d
    }
}

/// Waits for `done`, checking soon and then less often; false after `limit`.
pub(super) fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    let mut backoff = Backoff::default();
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(backoff.next_delay());
    }
}

/// Whether a process lives.
pub(super) fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}
