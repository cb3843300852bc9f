//! Atomic file replacement: write a temporary file beside the target, fsync it, rename it over
//! the target, fsync the directory. Readers see the old content or the new, never a mix.
//! Records that mean nothing after a reboot (a container's runtime state) skip the fsyncs.

use std::io::Write;
use std::path::Path;

use super::{StoreError, io_err, temp_path};

/// Writes `data` to `path` atomically and durably.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    replace(path, data, true)
}

/// Writes `data` to `path` atomically but not durably: readers never see a mix, but after a
/// crash the file may hold the old content, the new, or (on some file systems) nothing.
/// For records a reboot makes stale anyway; it saves two fsyncs per write.
pub fn write_replace(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    replace(path, data, false)
}

fn replace(path: &Path, data: &[u8], durable: bool) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_path(dir, ".write");
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io_err("cannot create", &tmp))?;
        f.write_all(data).map_err(io_err("cannot write", &tmp))?;
        if durable {
            f.sync_all().map_err(io_err("cannot sync", &tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io_err("cannot rename into", path))?;
        if durable { sync_dir(dir) } else { Ok(()) }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("cannot sync", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        write_atomic(&p, b"{\"a\":1}").unwrap();
        write_atomic(&p, b"{\"a\":2}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":2}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let err = write_atomic(&dir.path().join("missing/state.json"), b"x").unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        write_replace(&p, b"{\"a\":3}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":3}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
