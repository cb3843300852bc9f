//! The layer store: `layers/<chain-id>/` holds one unpacked layer (`diff/`) and its metadata,
//! shared by every image whose stack of layers starts the same way. A layer is unpacked in
//! `tmp/`, checked against the diff id the image announces, and renamed into place only when
//! complete, so a layer that is there is whole. `layers/l/<short>` are short links to each
//! `diff/` that keep overlay's mount options under one page, made before the layer is renamed
//! into place.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::compress::decompress;
use super::unpack::{UnpackError, unpack};
use crate::engine::store::{
    Digest, HashReader, Root, StoreError, io_err, sync_dir, temp_path, write_atomic,
};

/// Why a layer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tarball was refused or unreadable.
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    /// The layer's content is not what the image says it is.
    #[error(
        "layer content hashes to {actual}, but the image lists {expected}; the layer was refused and nothing was stored"
    )]
    DiffIdMismatch {
        /// The diff id the image lists.
        expected: Digest,
        /// What the content hashed to.
        actual: Digest,
    },
    /// A layer is not in the store.
    #[error("layer {0} is not in the store; pull or load the image again")]
    Missing(Digest),
}

/// What the store knows of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerMeta {
    /// The chain id: the layer and everything under it.
    pub chain_id: Digest,
    /// Digest of the layer's uncompressed tar.
    pub diff_id: Digest,
    /// The chain id of the layer below, if any.
    pub parent: Option<Digest>,
    /// Bytes of file content in the layer.
    pub size: u64,
}

/// The chain id of `diff_id` stacked on `parent` (OCI image spec: `sha256(parent + " " +
/// diff_id)`, and the diff id itself for a bottom layer).
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => {
            let hex = format!("{:x}", Sha256::digest(format!("{p} {diff_id}")));
            Digest::parse(&format!("sha256:{hex}")).expect("sha256 hex is a digest")
        }
    }
}

/// The chain ids of a stack of diff ids, bottom first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = chain_id(out.last(), d);
        out.push(next);
    }
    out
}

/// Length of the names in `layers/l/`.
const SHORT: usize = 16;

/// The layers of a data root.
#[derive(Debug, Clone)]
pub struct LayerStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl LayerStore {
    /// The layer store of `root`.
    pub fn new(root: &Root) -> LayerStore {
        LayerStore {
            dir: root.path().join("layers"),
            tmp: root.tmp(),
        }
    }

    /// The `layers/` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn layer_dir(&self, chain: &Digest) -> PathBuf {
        self.dir.join(chain.hex())
    }

    /// The unpacked content of a layer.
    pub fn diff_dir(&self, chain: &Digest) -> PathBuf {
        self.layer_dir(chain).join("diff")
    }

    /// The short link to a layer's `diff/`, relative to `layers/`.
    pub fn short_link(chain: &Digest) -> PathBuf {
        Path::new("l").join(&chain.hex()[..SHORT])
    }

    /// Whether a layer is stored.
    pub fn has(&self, chain: &Digest) -> bool {
        self.layer_dir(chain).join("layer.json").is_file()
    }

    /// A stored layer's metadata.
    pub fn get(&self, chain: &Digest) -> Result<LayerMeta, LayerError> {
        let p = self.layer_dir(chain).join("layer.json");
        let data = match std::fs::read(&p) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LayerError::Missing(chain.clone()));
            }
            Err(e) => return Err(io_err("cannot read", &p)(e).into()),
        };
        serde_json::from_slice(&data)
            .map_err(|e| LayerError::Store(io_err("cannot parse", &p)(std::io::Error::other(e))))
    }

    /// Every stored layer.
    pub fn list(&self) -> Result<Vec<LayerMeta>, LayerError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)
            .map_err(io_err("cannot read", &self.dir))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Ok(chain) = Digest::parse(&format!("sha256:{name}")) {
                if let Ok(meta) = self.get(&chain) {
                    out.push(meta);
                }
            }
        }
        out.sort_by(|a, b| a.chain_id.cmp(&b.chain_id));
        Ok(out)
    }

    /// Unpacks a layer blob (gzip, zstd or plain tar) on top of `parent`. When `expected` (the
    /// diff id the image lists) is given, a layer already stored is reused without reading,
    /// and content that hashes otherwise is refused.
    pub fn create(
        &self,
        parent: Option<&Digest>,
        expected: Option<&Digest>,
        blob: impl Read,
    ) -> Result<LayerMeta, LayerError> {
        if let Some(diff_id) = expected {
            let chain = chain_id(parent, diff_id);
            if self.has(&chain) {
                self.ensure_link(&chain)?;
                return self.get(&chain);
            }
        }
        if let Some(p) = parent {
            if !self.has(p) {
                return Err(LayerError::Missing(p.clone()));
            }
        }
        let staging = temp_path(&self.tmp, "layer");
        let result = self.create_in(&staging, parent, expected, blob);
        if staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result
    }

    fn create_in(
        &self,
        staging: &Path,
        parent: Option<&Digest>,
        expected: Option<&Digest>,
        blob: impl Read,
    ) -> Result<LayerMeta, LayerError> {
        let diff = staging.join("diff");
        std::fs::create_dir_all(&diff).map_err(io_err("cannot create", &diff))?;
        let stream = decompress(blob).map_err(io_err("cannot read the layer for", &diff))?;
        let mut hashing = HashReader::new(stream);
        let report = unpack(&mut hashing, &diff)?;
        hashing
            .drain()
            .map_err(io_err("cannot read the layer for", &diff))?;
        let diff_id = hashing.digest();
        if let Some(want) = expected {
            if *want != diff_id {
                return Err(LayerError::DiffIdMismatch {
                    expected: want.clone(),
                    actual: diff_id,
                });
            }
        }
        let meta = LayerMeta {
            chain_id: chain_id(parent, &diff_id),
            diff_id,
            parent: parent.cloned(),
            size: report.bytes,
        };
        let json = serde_json::to_vec_pretty(&meta).expect("layer metadata serialises");
        write_atomic(&staging.join("layer.json"), &json)?;
        // The short link first (dangling until the rename): a layer in place always has one,
        // whenever this process is killed.
        self.ensure_link(&meta.chain_id)?;
        let target = self.layer_dir(&meta.chain_id);
        if let Err(e) = std::fs::rename(staging, &target) {
            // Another writer stored the same layer first; theirs is as good as ours.
            if !self.has(&meta.chain_id) {
                return Err(io_err("cannot rename into", &target)(e).into());
            }
        }
        sync_dir(&self.dir)?;
        Ok(meta)
    }

    /// Creates the short link of a layer when it is missing; true when it was.
    pub fn ensure_link(&self, chain: &Digest) -> Result<bool, LayerError> {
        let link = self.dir.join(Self::short_link(chain));
        let want = Path::new("..").join(chain.hex()).join("diff");
        if std::fs::read_link(&link).is_ok_and(|t| t == want) {
            return Ok(false);
        }
        let l = self.dir.join("l");
        std::fs::create_dir_all(&l).map_err(io_err("cannot create", &l))?;
        // Made aside and renamed over whatever is there: processes storing the same layer at
        // once all end with the same link, none with "file exists".
        let tmp = temp_path(&self.tmp, "link");
        std::os::unix::fs::symlink(&want, &tmp).map_err(io_err("cannot link", &tmp))?;
        std::fs::rename(&tmp, &link).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err("cannot link", &link)(e)
        })?;
        Ok(true)
    }

    /// Removes a layer: moved out of `layers/` first, so that it vanishes at once, then deleted.
    pub fn remove(&self, chain: &Digest) -> Result<(), LayerError> {
        let dir = self.layer_dir(chain);
        let gone = temp_path(&self.tmp, "removed-layer");
        match std::fs::rename(&dir, &gone) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("cannot remove", &dir)(e).into()),
            Ok(()) => {
                let _ = std::fs::remove_file(self.dir.join(Self::short_link(chain)));
                std::fs::remove_dir_all(&gone).map_err(io_err("cannot remove", &gone))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_oci_rule() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let ids = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(ids[0], a);
        let want = format!("{:x}", Sha256::digest(format!("{a} {b}")));
        assert_eq!(ids[1].hex(), want);
        assert!(chain_ids(&[]).is_empty());
    }
}
