//! Waiting for files of the data root to change, for the streams that follow them (a
//! container's log and state, the events journal): an inotify watch on their directories
//! wakes the follower when something is written there, so that a quiet follower costs no
//! wake-ups. A follower still looks once per `fallback` in case a change escaped the watch
//! (a directory made after it, a kernel without inotify).

use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

use rustix::fs::inotify;
use tokio::io::unix::AsyncFd;

/// What a watched directory reports: writes, and files made, moved in or out, or removed.
const WHAT: inotify::WatchFlags = inotify::WatchFlags::MODIFY
    .union(inotify::WatchFlags::CLOSE_WRITE)
    .union(inotify::WatchFlags::CREATE)
    .union(inotify::WatchFlags::MOVED_TO)
    .union(inotify::WatchFlags::MOVED_FROM)
    .union(inotify::WatchFlags::DELETE)
    .union(inotify::WatchFlags::DELETE_SELF);

/// A watch over some directories, or nothing (then each wait is the fallback's).
pub(super) struct Changes {
    fd: Option<AsyncFd<OwnedFd>>,
    fallback: Duration,
}

impl Changes {
    /// Watches `dirs` (those that exist); waits end at the latest after `fallback`. Must be
    /// called within the Tokio runtime.
    pub(super) fn watch(dirs: &[&Path], fallback: Duration) -> Changes {
        let fd = (|| {
            let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC)
                .ok()?;
            let mut any = false;
            for dir in dirs {
                any |= inotify::add_watch(&fd, *dir, WHAT).is_ok();
            }
            if !any {
                return None;
            }
            // SAFETY: `fd` is an open inotify descriptor that the AsyncFd owns from here on
            // and closes only when it is dropped; an OwnedFd always gives the same descriptor.
            unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.ok()
        })();
        Changes { fd, fallback }
    }

    /// Waits until something changed in a watched directory, or the fallback has passed.
    pub(super) async fn wait(&self) {
        let Some(fd) = &self.fd else {
            return tokio::time::sleep(self.fallback).await;
        };
        let ready = tokio::time::timeout(self.fallback, fd.readable()).await;
        if let Ok(Ok(mut guard)) = ready {
            // What changed does not matter: the follower reads what is new. Take every
            // event waiting so that the next wait sleeps.
            let mut buf = [0u8; 4096];
            while rustix::io::read(fd.get_ref(), &mut buf).is_ok_and(|n| n > 0) {}
            guard.clear_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn a_write_wakes_the_wait_and_quiet_lasts_until_the_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let changes = Changes::watch(&[dir.path()], Duration::from_secs(2));
        let quiet = Instant::now();
        changes.wait().await;
        assert!(
            quiet.elapsed() >= Duration::from_millis(1900),
            "woke with nothing new"
        );
        let file = dir.path().join("log");
        let writer = {
            let file = file.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                std::fs::write(file, b"line\n").unwrap();
            })
        };
        let woke = Instant::now();
        changes.wait().await;
        assert!(
            woke.elapsed() < Duration::from_millis(1500),
            "the write did not wake it"
        );
        writer.await.unwrap();
        // Every event was taken: the next wait sleeps again.
        let again = Instant::now();
        changes.wait().await;
        assert!(again.elapsed() >= Duration::from_millis(1900));
    }
}
