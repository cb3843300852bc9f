//! Layer stacks held outside image records: the build cache's entries
//! (`build/cache/<key>`, written by the build) each keep their layers and blobs from garbage
//! collection until `builder prune` drops them. Only an entry's `layers` are read here; the
//! rest of it belongs to the build.

use std::path::PathBuf;

use super::LayerRef;
use crate::engine::store::Root;

/// The directory of the build cache's entries.
pub fn dir(root: &Root) -> PathBuf {
    root.path().join("build").join("cache")
}

#[derive(serde::Deserialize)]
struct Entry {
    layers: Vec<LayerRef>,
}

/// Every entry: its key and the layers it holds. An unreadable entry holds nothing.
pub fn stacks(root: &Root) -> Vec<(String, Vec<LayerRef>)> {
    let Ok(entries) = std::fs::read_dir(dir(root)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let key = e.file_name().to_str()?.to_string();
            let entry: Entry = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            Some((key, entry.layers))
        })
        .collect()
}

/// Drops one entry; its layers go at the next collection unless something else holds them.
pub fn release(root: &Root, key: &str) -> std::io::Result<()> {
    match std::fs::remove_file(dir(root).join(key)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
