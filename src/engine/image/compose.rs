//! Images made here rather than pulled or loaded (`commit`, `build`): a layer written from a
//! list of changes into the content store and the layer store, and an image recorded from a
//! config document and its layers. The caller holds a lease (`ImageStore::lease`) from the
//! first layer until the image is recorded, so garbage collection cannot take a layer that
//! no image names yet.

use std::path::Path;

use super::archive::{commit, media};
use super::store::{ImageError, ImageStore, LayerRef};
use crate::engine::layer::write::write_layer;
use crate::engine::store::Digest;
use crate::model::FileChange;
use crate::model::reference::Reference;

/// Writes `changes` (read from `base`) as a layer on top of the layer `parent` (a chain
/// id). A layer with the same content over the same parent is reused.
pub fn add_layer(
    store: &ImageStore,
    parent: Option<&Digest>,
    base: &Path,
    changes: &[FileChange],
) -> Result<LayerRef, ImageError> {
    let (digest, size) = store
        .blobs()
        .put_written(|out| write_layer(base, changes, out))?;
    let blob = store.blobs().open(&digest)?;
    store.layers().create(parent, Some(&digest), blob)?;
    Ok(LayerRef {
        diff_id: digest.clone(),
        blob: digest,
        media_type: media::DOCKER_LAYER_TAR.to_string(),
        size,
    })
}

/// Records the image whose config document is `config` (its `rootfs.diff_ids` already
/// listing `layers`), named by `tags`. Returns the image id.
pub fn record(
    store: &ImageStore,
    config: &serde_json::Value,
    layers: &[LayerRef],
    tags: &[Reference],
) -> Result<Digest, ImageError> {
    let raw = serde_json::to_vec(config).expect("image configs serialise");
    let id = Digest::of(&raw);
    store.blobs().put(&id, Some(raw.len() as u64), &raw[..])?;
    let layers: Vec<(Digest, u64, Option<String>)> = layers
        .iter()
        .map(|l| (l.blob.clone(), l.size, Some(l.media_type.clone())))
        .collect();
    commit(store, &id, &layers, tags, Vec::new())
}
