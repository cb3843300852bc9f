//! The engine's data root: its layout, atomic writes, locks, and the content store of blobs
//! addressed by digest. Every write goes to a temporary file first and is renamed into place
//! only when complete and verified, so an interrupted write never leaves something that looks
//! complete; what it leaves in `tmp/` is removed by the next `Root::open`.

mod atomic;
mod blobs;
mod follow;
mod lock;

use std::path::{Path, PathBuf};

pub use atomic::{sync_dir, write_atomic, write_replace};
pub use blobs::{BlobStore, Digest, HashReader};
pub use follow::LineFollower;
pub use lock::Lock;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot create", "cannot write", …).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Content did not hash to the digest it was announced with.
    #[error("content for {expected} hashes to {actual}; it was refused and nothing was stored")]
    DigestMismatch {
        /// The announced digest.
        expected: String,
        /// What it hashed to.
        actual: String,
    },
    /// Content was shorter or longer than announced.
    #[error(
        "content for {digest} is {actual} bytes, not the {expected} announced; it was refused and nothing was stored"
    )]
    SizeMismatch {
        /// The digest.
        digest: String,
        /// Announced size.
        expected: u64,
        /// Size received.
        actual: u64,
    },
    /// A digest string is malformed.
    #[error("invalid digest {0:?}: write sha256: followed by 64 lowercase hex digits")]
    InvalidDigest(String),
}

/// Shorthand for an I/O error on a path.
pub fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// The data root (`/var/lib/dockhand` by default) and its layout.
#[derive(Debug, Clone)]
pub struct Root {
    path: PathBuf,
}

/// Directories of the data root.
const LAYOUT: &[&str] = &[
    "blobs/sha256",
    "layers",
    "images",
    "containers",
    "volumes",
    "networks",
    "locks",
    "tmp",
];

impl Root {
    /// Opens (creating when needed) a data root, and removes what interrupted writers left in
    /// `tmp/` (files of processes that no longer run).
    pub fn open(path: impl Into<PathBuf>) -> Result<Root, StoreError> {
        let root = Root { path: path.into() };
        for dir in LAYOUT {
            let p = root.path.join(dir);
            std::fs::create_dir_all(&p).map_err(io_err("cannot create", &p))?;
        }
        root.clean_tmp()?;
        Ok(root)
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The staging directory for writes in progress.
    pub fn tmp(&self) -> PathBuf {
        self.path.join("tmp")
    }

    /// The blob store.
    pub fn blobs(&self) -> BlobStore {
        BlobStore::new(self.path.join("blobs/sha256"), self.tmp())
    }

    /// Takes the named lock (e.g. `images`), waiting for other processes to release it.
    pub fn lock(&self, name: &str) -> Result<Lock, StoreError> {
        Lock::exclusive(&self.path.join("locks").join(name))
    }

    /// Takes the named lock shared (e.g. `leases`, held while a pull or load has blobs and
    /// layers that no image names yet).
    pub fn lock_shared(&self, name: &str) -> Result<Lock, StoreError> {
        Lock::shared(&self.path.join("locks").join(name))
    }

    /// Takes the named lock if nobody holds it.
    pub fn try_lock(&self, name: &str) -> Result<Option<Lock>, StoreError> {
        Lock::try_exclusive(&self.path.join("locks").join(name))
    }

    /// Removes temporary files whose writing process is gone. Names start with the pid.
    fn clean_tmp(&self) -> Result<(), StoreError> {
        let tmp = self.tmp();
        let entries = std::fs::read_dir(&tmp).map_err(io_err("cannot read", &tmp))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
            let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                let p = entry.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        Ok(())
    }
}

/// A new temporary path in `dir`, named so that `Root::open` knows whose it is.
pub fn temp_path(dir: &Path, what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    dir.join(format!(
        "{}-{}-{what}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_lays_out_the_root_and_clears_dead_writers_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path().join("root")).unwrap();
        for d in LAYOUT {
            assert!(root.path().join(d).is_dir(), "{d}");
        }
        // A file of a process that cannot exist, and one of ours.
        std::fs::write(root.tmp().join("4294967-0-blob"), b"half").unwrap();
        let ours = temp_path(&root.tmp(), "blob");
        std::fs::write(&ours, b"in progress").unwrap();
        let root = Root::open(root.path()).unwrap();
        assert!(!root.tmp().join("4294967-0-blob").exists());
        assert!(ours.exists(), "a live writer's file is left alone");
    }
}
