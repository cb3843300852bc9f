//! The build cache: `build/cache/<key>` holds the state after a step (layers and config),
//! where the key is a digest of the state before it and of everything the step depends on
//! (its instruction with variables replaced, the build arguments it sees, the content of the
//! files it copies). An entry whose layers are no longer stored counts as absent.

use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use super::state::State;
use crate::engine::image::ImageStore;
use crate::engine::store::{Root, temp_path};

/// The key of the state after a step described by `step` on the state keyed `parent`.
pub fn next_key(parent: &str, step: &str) -> String {
    let mut h = Sha256::new();
    h.update(parent.as_bytes());
    h.update(b"\n");
    h.update(step.as_bytes());
    format!("{:x}", h.finalize())
}

/// The cache of a data root.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    tmp: PathBuf,
}

impl Cache {
    /// The cache of `root`.
    pub fn new(root: &Root) -> Cache {
        Cache {
            dir: crate::engine::image::held::dir(root),
            tmp: root.tmp(),
        }
    }

    /// The state stored under `key`, if its layers are all still there.
    pub fn get(&self, key: &str, images: &ImageStore) -> Option<State> {
        let data = std::fs::read(self.dir.join(key)).ok()?;
        let mut state: State = serde_json::from_slice(&data).ok()?;
        let layers = images.layers();
        let whole = state.chain().iter().all(|c| layers.has(c))
            && state.layers.iter().all(|l| images.blobs().has(&l.blob));
        if !whole {
            return None;
        }
        state.key = key.to_string();
        Some(state)
    }

    /// Stores `state` under its key. The cache is an optimisation: a failure to write it
    /// costs the next build time, not this one its result.
    pub fn put(&self, state: &State) {
        let _ = std::fs::create_dir_all(&self.dir);
        let tmp = temp_path(&self.tmp, "cache");
        let json = serde_json::to_vec(state).expect("build states serialise");
        if std::fs::write(&tmp, json).is_ok()
            && std::fs::rename(&tmp, self.dir.join(&state.key)).is_ok()
        {
            return;
        }
        let _ = std::fs::remove_file(&tmp);
    }
}
