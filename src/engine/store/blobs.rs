//! The content store: blobs (layers, manifests, configs) under `blobs/sha256/<hex>`, hashed
//! while they are written and moved into place only when digest (and size, when announced)
//! match. A blob that is there is complete and verified.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::atomic::sync_dir;
use super::{StoreError, io_err, temp_path};

/// A content digest; only sha256 is used. Serialised as `sha256:<hex>`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(s: &str) -> Result<Digest, StoreError> {
        match s.strip_prefix("sha256:") {
            Some(hex)
                if hex.len() == 64
                    && hex
                        .bytes()
                        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) =>
            {
                Ok(Digest {
                    hex: hex.to_string(),
                })
            }
            _ => Err(StoreError::InvalidDigest(s.to_string())),
        }
    }

    /// The digest of some bytes.
    pub fn of(data: &[u8]) -> Digest {
        Digest {
            hex: format!("{:x}", Sha256::digest(data)),
        }
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl TryFrom<String> for Digest {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Digest, StoreError> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

impl std::str::FromStr for Digest {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Digest, StoreError> {
        Digest::parse(s)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

/// A writer that hashes what passes through it.
struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through it (a layer's diff id is the digest of its
/// uncompressed tar stream).
pub struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> HashReader<R> {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads what is left, so that the digest covers the whole stream.
    pub fn drain(&mut self) -> std::io::Result<()> {
        std::io::copy(self, &mut std::io::sink()).map(|_| ())
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of everything read.
    pub fn digest(self) -> Digest {
        Digest {
            hex: format!("{:x}", self.hasher.finalize()),
        }
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Blobs by digest.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl BlobStore {
    /// The store in `dir`, staging writes in `tmp` (on the same filesystem).
    pub fn new(dir: PathBuf, tmp: PathBuf) -> BlobStore {
        BlobStore { dir, tmp }
    }

    /// Where a blob lives.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    /// The blob's size in bytes; 0 when it is not stored.
    pub fn size(&self, digest: &Digest) -> u64 {
        std::fs::metadata(self.path(digest)).map_or(0, |m| m.len())
    }

    /// Whether the blob is stored.
    pub fn has(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Stores what `reader` yields as `digest`, verifying while writing. On a mismatch, a short
    /// read or an error, nothing is stored and the temporary file is removed. Storing a blob
    /// that is already there reads nothing and succeeds.
    pub fn put(
        &self,
        digest: &Digest,
        size: Option<u64>,
        mut reader: impl Read,
    ) -> Result<PathBuf, StoreError> {
        let target = self.path(digest);
        if target.is_file() {
            return Ok(target);
        }
        let tmp = temp_path(&self.tmp, "blob");
        let result = (|| {
            let mut file = std::fs::File::create(&tmp).map_err(io_err("cannot create", &tmp))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0u64;
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(io_err("cannot read the content for", &target))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n])
                    .map_err(io_err("cannot write", &tmp))?;
                total += n as u64;
                if size.is_some_and(|s| total > s) {
                    break;
                }
            }
            if let Some(expected) = size {
                if total != expected {
                    return Err(StoreError::SizeMismatch {
                        digest: digest.to_string(),
                        expected,
                        actual: total,
                    });
                }
            }
            let actual = format!("sha256:{:x}", hasher.finalize());
            if actual != digest.to_string() {
                return Err(StoreError::DigestMismatch {
                    expected: digest.to_string(),
                    actual,
                });
            }
            file.sync_all().map_err(io_err("cannot sync", &tmp))?;
            std::fs::rename(&tmp, &target).map_err(io_err("cannot rename into", &target))?;
            sync_dir(&self.dir)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map(|()| target)
    }

    /// Stores what `reader` yields under the digest it hashes to, and returns that digest
    /// and the size (for content whose digest is not known beforehand, such as the files of
    /// an archive being loaded).
    pub fn put_any(&self, reader: impl Read) -> Result<(Digest, u64), StoreError> {
        let tmp = temp_path(&self.tmp, "blob");
        let result = (|| {
            let mut file = std::fs::File::create(&tmp).map_err(io_err("cannot create", &tmp))?;
            let mut hashing = HashReader::new(reader);
            std::io::copy(&mut hashing, &mut file).map_err(io_err("cannot write", &tmp))?;
            file.sync_all().map_err(io_err("cannot sync", &tmp))?;
            let size = hashing.count();
            let digest = hashing.digest();
            let target = self.path(&digest);
            std::fs::rename(&tmp, &target).map_err(io_err("cannot rename into", &target))?;
            sync_dir(&self.dir)?;
            Ok((digest, size))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Stores what `write` writes under the digest it hashes to, and returns that digest and
    /// the size: content made here (a layer tarball) goes to disk once, hashed on the way.
    pub fn put_written(
        &self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(Digest, u64), StoreError> {
        let tmp = temp_path(&self.tmp, "blob");
        let result = (|| {
            let file = std::fs::File::create(&tmp).map_err(io_err("cannot create", &tmp))?;
            let mut out = HashWriter {
                inner: std::io::BufWriter::with_capacity(1 << 16, file),
                hasher: Sha256::new(),
                count: 0,
            };
            write(&mut out).map_err(io_err("cannot write", &tmp))?;
            let file = out
                .inner
                .into_inner()
                .map_err(|e| io_err("cannot write", &tmp)(e.into_error()))?;
            file.sync_all().map_err(io_err("cannot sync", &tmp))?;
            let digest = Digest {
                hex: format!("{:x}", out.hasher.finalize()),
            };
            let target = self.path(&digest);
            std::fs::rename(&tmp, &target).map_err(io_err("cannot rename into", &target))?;
            sync_dir(&self.dir)?;
            Ok((digest, out.count))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Opens a stored blob.
    pub fn open(&self, digest: &Digest) -> Result<std::fs::File, StoreError> {
        let p = self.path(digest);
        std::fs::File::open(&p).map_err(io_err("cannot open", &p))
    }

    /// Hashes a stored blob again; false when it no longer matches its name.
    pub fn verify(&self, digest: &Digest) -> Result<bool, StoreError> {
        let mut f = self.open(digest)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut f, &mut hasher).map_err(io_err("cannot read", &self.path(digest)))?;
        Ok(format!("{:x}", hasher.finalize()) == digest.hex())
    }

    /// Removes a blob; a missing one is not an error.
    pub fn remove(&self, digest: &Digest) -> Result<(), StoreError> {
        let p = self.path(digest);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err("cannot remove", &p)(e))
            }
            _ => Ok(()),
        }
    }

    /// Every stored digest.
    pub fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let mut out: Vec<Digest> = std::fs::read_dir(&self.dir)
            .map_err(io_err("cannot read", &self.dir))?
            .flatten()
            .filter_map(|e| {
                Digest::parse(&format!("sha256:{}", e.file_name().to_string_lossy())).ok()
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// The staging directory.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }
}

#[cfg(test)]
mod tests {
    use super::super::Root;
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path().join("root")).unwrap();
        let blobs = root.blobs();
        (dir, blobs)
    }

    fn nothing_left(b: &BlobStore) -> bool {
        b.list().unwrap().is_empty() && std::fs::read_dir(b.tmp_dir()).unwrap().count() == 0
    }

    #[test]
    fn verified_content_is_stored_once() {
        let (_d, b) = store();
        let data = b"layer contents".repeat(10_000);
        let digest = Digest::of(&data);
        let p = b
            .put(&digest, Some(data.len() as u64), data.as_slice())
            .unwrap();
        assert_eq!(std::fs::read(p).unwrap(), data);
        assert!(b.has(&digest) && b.verify(&digest).unwrap());
        // Again: nothing read, same blob.
        b.put(&digest, None, std::io::empty()).unwrap();
        assert_eq!(b.list().unwrap(), [digest]);
    }

    #[test]
    fn a_digest_mismatch_leaves_nothing() {
        let (_d, b) = store();
        let claimed = Digest::of(b"what was announced");
        let err = b.put(&claimed, None, &b"what arrived"[..]).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        assert!(err.to_string().contains("nothing was stored"));
        assert!(nothing_left(&b));
    }

    #[test]
    fn a_truncated_or_failing_stream_leaves_nothing() {
        let (_d, b) = store();
        let data = vec![7u8; 100_000];
        let digest = Digest::of(&data);
        let err = b.put(&digest, Some(100_000), &data[..60_000]).unwrap_err();
        assert!(
            matches!(err, StoreError::SizeMismatch { actual: 60_000, .. }),
            "{err}"
        );
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("connection reset"));
                }
                self.0 -= 1;
                buf[..10].fill(1);
                Ok(10)
            }
        }
        let err = b.put(&digest, None, Failing(3)).unwrap_err();
        assert!(err.to_string().contains("connection reset"), "{err}");
        assert!(nothing_left(&b));
    }

    #[test]
    fn concurrent_writers_of_one_blob_both_succeed() {
        let (_d, b) = store();
        let data = vec![3u8; 1 << 20];
        let digest = Digest::of(&data);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (b, d, data) = (b.clone(), digest.clone(), data.clone());
                std::thread::spawn(move || b.put(&d, None, data.as_slice()).map(drop))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        assert_eq!(b.list().unwrap(), std::slice::from_ref(&digest));
        assert!(b.verify(&digest).unwrap());
        assert_eq!(std::fs::read_dir(b.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn digests_parse_strictly() {
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(64))).is_ok());
        for bad in [
            "sha256:ABC",
            "md5:abc",
            &format!("sha256:{}", "A".repeat(64)),
            "",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
