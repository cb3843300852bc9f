//! `push`: upload an image's layer blobs and config (skipping what the registry has), then
//! its manifest, so that `docker pull` or skopeo get the same image back. The manifest is in
//! Docker's schema 2 form when the layers carry Docker media types, else in OCI form.

use bytes::Bytes;
use oci_client::RegistryOperation;
use reqwest::header::HeaderValue;

use super::{RegistryError, RegistrySettings, client, map_error, oci_reference, registry_auth};
use crate::engine::image::ImageStore;
use crate::engine::image::archive::media;
use crate::engine::store::{BlobStore, Digest, write_atomic};
use crate::model::Reference;

/// What a push reports as it goes: `(short id, what happened)`.
pub type PushProgress<'a> = &'a (dyn Fn(&str, &str) + Send + Sync);

/// A stream of a stored blob's bytes, read on a blocking thread.
fn blob_stream(
    blobs: BlobStore,
    digest: Digest,
) -> impl futures::Stream<Item = oci_client::errors::Result<Bytes>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = match blobs.open(&digest) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| {
            (
                item.map_err(oci_client::errors::OciDistributionError::from),
                rx,
            )
        })
    })
}

/// Pushes the local image `source` as `target`. Returns the manifest digest.
pub async fn push(
    store: &ImageStore,
    source: &str,
    target: &Reference,
    settings: &RegistrySettings,
    progress: PushProgress<'_>,
) -> Result<Digest, RegistryError> {
    let id = store.resolve(source)?;
    let image = store.image(&id)?;
    let oci = client(target, settings);
    let remote = oci_reference(target);
    let auth = registry_auth(target, settings)?;
    let mapped = |e| map_error(e, target, "push access to", settings);
    oci.auth(&remote, &auth, RegistryOperation::Push)
        .await
        .map_err(mapped)?;
    let blobs = store.blobs();
    let docker_form = image
        .record
        .layers
        .iter()
        .all(|l| l.media_type.starts_with("application/vnd.docker."));
    let mut uploads: Vec<(Digest, u64)> = image
        .record
        .layers
        .iter()
        .map(|l| (l.blob.clone(), l.size))
        .collect();
    uploads.push((id.clone(), image.config_size));
    for (digest, size) in &uploads {
        let short: String = digest.hex().chars().take(12).collect();
        let exists = oci
            .blob_exists(&remote, &digest.to_string())
            .await
            .map_err(mapped)?;
        if exists {
            progress(&short, "Layer already exists");
            continue;
        }
        progress(&short, "Pushing");
        oci.push_blob_stream(
            &remote,
            blob_stream(blobs.clone(), digest.clone()),
            &digest.to_string(),
            Some(*size),
        )
        .await
        .map_err(mapped)?;
        progress(&short, "Pushed");
    }
    let (manifest_type, config_type) = if docker_form {
        (media::DOCKER_MANIFEST, media::DOCKER_CONFIG)
    } else {
        (media::OCI_MANIFEST, media::OCI_CONFIG)
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": id.to_string(), "size": image.config_size},
        "layers": image.record.layers.iter().map(|l| serde_json::json!({
            "mediaType": l.media_type,
            "digest": l.blob.to_string(),
            "size": l.size,
        })).collect::<Vec<_>>(),
    });
    let body = serde_json::to_vec(&manifest).expect("manifests serialise");
    let digest = Digest::of(&body);
    oci.push_manifest_raw(&remote, body, HeaderValue::from_static(manifest_type))
        .await
        .map_err(mapped)?;

    // Remember where it went, as `docker images --digests` shows.
    let lock = store.lock()?;
    let mut record = store.record(&id)?;
    let repo_digest = format!("{}@{digest}", target.repository());
    if !record.repo_digests.contains(&repo_digest) {
        record.repo_digests.push(repo_digest);
        let json = serde_json::to_vec_pretty(&record).expect("image records serialise");
        write_atomic(&store.record_path(&id), &json)?;
    }
    drop(lock);
    Ok(digest)
}
