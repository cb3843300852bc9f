//! Locks shared by every dockhand process on one data root: `flock` on a lock file, released
//! when the `Lock` is dropped (or the process dies).

use std::path::Path;

use super::{StoreError, io_err};

/// A held exclusive lock.
#[derive(Debug)]
pub struct Lock {
    file: std::fs::File,
}

impl Lock {
    /// Takes the lock at `path` exclusively, waiting while others hold it.
    pub fn exclusive(path: &Path) -> Result<Lock, StoreError> {
        Self::take(path, rustix::fs::FlockOperation::LockExclusive)
            .map(|l| l.expect("a blocking lock is always taken"))
    }

    /// Takes the lock at `path` shared, waiting while someone holds it exclusively.
    pub fn shared(path: &Path) -> Result<Lock, StoreError> {
        Self::take(path, rustix::fs::FlockOperation::LockShared)
            .map(|l| l.expect("a blocking lock is always taken"))
    }

    /// Takes the lock at `path` exclusively if nobody holds it; `None` otherwise.
    pub fn try_exclusive(path: &Path) -> Result<Option<Lock>, StoreError> {
        Self::take(path, rustix::fs::FlockOperation::NonBlockingLockExclusive)
    }

    fn take(path: &Path, how: rustix::fs::FlockOperation) -> Result<Option<Lock>, StoreError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err("cannot open lock", path))?;
        match rustix::fs::flock(&file, how) {
            Ok(()) => Ok(Some(Lock { file })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(io_err("cannot lock", path)(e.into())),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = rustix::fs::flock(&self.file, rustix::fs::FlockOperation::Unlock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn holders_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("images"));
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = Lock::exclusive(&path).unwrap();
        let (p, o) = (path.clone(), order.clone());
        let waiter = std::thread::spawn(move || {
            let _l = Lock::exclusive(&p).unwrap();
            o.lock().unwrap().push("second");
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        order.lock().unwrap().push("first");
        drop(held);
        waiter.join().unwrap();
        assert_eq!(*order.lock().unwrap(), ["first", "second"]);
    }
}
