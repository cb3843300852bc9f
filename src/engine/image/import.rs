//! `import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer image with
//! the config section the caller gives (from `--change`).

use std::io::Read;

use super::archive::{commit, sniff_media_type};
use super::store::{ImageError, ImageStore};
use crate::engine::layer::chain_id;
use crate::engine::store::Digest;
use crate::model::reference::Reference;

/// Imports `rootfs` as an image whose config section is `config`, created at `created`
/// (Unix seconds), named `tag` when given. Returns the image id.
pub fn import(
    store: &ImageStore,
    rootfs: impl Read,
    config: serde_json::Value,
    created: i64,
    tag: Option<&Reference>,
) -> Result<Digest, ImageError> {
    let lease = store.lease()?;
    let (blob, size) = store.blobs().put_any(rootfs)?;
    let result = (|| {
        let layer = store
            .layers()
            .create(None, None, store.blobs().open(&blob)?)?;
        let when = crate::util::time::rfc3339(created);
        let doc = serde_json::json!({
            "architecture": super::archive::host_arch(),
            "os": "linux",
            "created": when,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
            "history": [{"created": when, "created_by": "dockhand import", "comment": "Imported from -"}],
        });
        let raw = serde_json::to_vec(&doc).expect("configs serialise");
        let id = Digest::of(&raw);
        store.blobs().put(&id, Some(raw.len() as u64), &raw[..])?;
        debug_assert_eq!(chain_id(None, &layer.diff_id), layer.chain_id);
        let media = sniff_media_type(store, &blob);
        let tags: Vec<Reference> = tag.cloned().into_iter().collect();
        commit(
            store,
            &id,
            &[(blob.clone(), size, Some(media))],
            &tags,
            Vec::new(),
        )
    })();
    drop(lease);
    if result.is_err() {
        let lock = store.lock()?;
        store.collect(&lock, &Default::default())?;
    }
    result
}
