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
    /// Takes the lock on `path` (created when missing), waiting while another process holds it.
    pub fn exclusive(path: &Path) -> Result<Lock, StoreError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err("cannot open lock", path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(std::io::Error::from)
            .map_err(io_err("cannot lock", path))?;
        Ok(Lock { file })
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
