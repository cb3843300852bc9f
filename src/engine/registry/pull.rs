//! `pull`: resolve the manifest (a manifest list to this platform), fetch the config, then
//! download the layers in parallel into the content store (verified while written) while a
//! second loop unpacks each one, in order, as soon as it and the one below it are complete.
//! A lease keeps garbage collection away until the image is recorded. Blobs that completed
//! before an interruption stay and are not downloaded again.

use futures::{StreamExt, TryStreamExt};
use oci_client::manifest::OciDescriptor;

use super::{RegistryError, RegistrySettings, client, map_error, oci_reference, registry_auth};
use crate::engine::image::archive::commit;
use crate::engine::image::{ImageStore, store::parse_config};
use crate::engine::layer::chain_ids;
use crate::engine::store::{BlobStore, Digest};
use crate::model::Reference;
use crate::model::{PullProgress, PullStatus};
use crate::util::chan_io::ChannelReader;

/// Reports progress; called from the pulling task.
pub type Progress<'a> = &'a (dyn Fn(PullProgress) + Send + Sync);

/// The short id Docker shows for a layer.
fn short(digest: &str) -> String {
    digest
        .strip_prefix("sha256:")
        .unwrap_or(digest)
        .chars()
        .take(12)
        .collect()
}

fn digest_of(d: &str, reference: &Reference) -> Result<Digest, RegistryError> {
    Digest::parse(d).map_err(|_| RegistryError::Protocol {
        registry: reference.domain.clone(),
        message: format!("the manifest names {d:?}, which is not a sha256 digest"),
    })
}

/// Joins a blocking task, turning a panic into an error.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, RegistryError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(RegistryError::Protocol {
            registry: String::new(),
            message: format!("a storage task failed: {e}"),
        })
    })
}

/// Downloads one blob into the content store, reporting progress.
async fn download(
    oci: &oci_client::Client,
    image: &oci_client::Reference,
    descriptor: &OciDescriptor,
    blobs: BlobStore,
    reference: &Reference,
    settings: &RegistrySettings,
    progress: Progress<'_>,
) -> Result<(), RegistryError> {
    let id = short(&descriptor.digest);
    let digest = digest_of(&descriptor.digest, reference)?;
    let total = u64::try_from(descriptor.size).ok();
    let mut stream = oci
        .pull_blob_stream(image, descriptor)
        .await
        .map_err(|e| map_error(e, reference, "pull access to", settings))?;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let writer =
        tokio::task::spawn_blocking(move || blobs.put(&digest, total, ChannelReader::new(rx)));
    let mut current = 0u64;
    let mut shown = 0u64;
    progress(PullProgress {
        id: id.clone(),
        status: PullStatus::Downloading { current, total },
    });
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                current += bytes.len() as u64;
                if tx.send(Ok(bytes)).await.is_err() {
                    break; // the writer stopped; its error says why
                }
                if current - shown >= 256 << 10 {
                    shown = current;
                    progress(PullProgress {
                        id: id.clone(),
                        status: PullStatus::Downloading { current, total },
                    });
                }
            }
            Err(e) => {
                let _ = tx
                    .send(Err(std::io::Error::other("the download was interrupted")))
                    .await;
                failure = Some(RegistryError::Unreachable {
                    registry: reference.domain.clone(),
                    message: format!("the download of layer {id} broke off: {e}"),
                    hint: "; pull again to resume from the layers already complete".into(),
                });
                break;
            }
        }
    }
    drop(tx);
    if failure.is_none() {
        progress(PullProgress {
            id: id.clone(),
            status: PullStatus::Downloading { current, total },
        });
    }
    let written = writer.await.map_err(|e| RegistryError::Protocol {
        registry: reference.domain.clone(),
        message: format!("a storage task failed: {e}"),
    })?;
    if let Some(f) = failure {
        return Err(f);
    }
    written?;
    progress(PullProgress {
        id,
        status: PullStatus::Verifying,
    });
    Ok(())
}

/// Pulls an image into the store and names it `reference` (unless pulled by digest).
/// Returns the image id.
pub async fn pull(
    store: &ImageStore,
    reference: &Reference,
    settings: &RegistrySettings,
    progress: Progress<'_>,
) -> Result<Digest, RegistryError> {
    let oci = client(reference, settings);
    let image = oci_reference(reference);
    let auth = registry_auth(reference, settings)?;
    let mapped = |e| map_error(e, reference, "pull access to", settings);
    let (manifest, manifest_digest, list_digest) = oci
        .pull_image_manifest_and_list_digest(&image, &auth)
        .await
        .map_err(|e| match e {
            oci_client::errors::OciDistributionError::ImageManifestNotFoundError(m)
                if m.contains("platform") =>
            {
                RegistryError::NoPlatform {
                    reference: reference.familiar(),
                    arch: crate::engine::image::archive::host_arch().to_string(),
                }
            }
            other => mapped(other),
        })?;
    let repo_digest = format!(
        "{}@{}",
        reference.repository(),
        list_digest.clone().unwrap_or(manifest_digest.clone())
    );
    progress(PullProgress {
        id: reference
            .tag
            .clone()
            .unwrap_or_else(|| short(&manifest_digest)),
        status: PullStatus::Waiting,
    });
    let lease = store.lease()?;
    let blobs = store.blobs();

    // The config: small, fetched whole and verified on the way into the store.
    let config_digest = digest_of(&manifest.config.digest, reference)?;
    if !blobs.has(&config_digest) {
        let mut raw = Vec::new();
        oci.pull_blob(&image, &manifest.config, &mut raw)
            .await
            .map_err(mapped)?;
        blobs.put(
            &config_digest,
            u64::try_from(manifest.config.size).ok(),
            &raw[..],
        )?;
    }
    let config = parse_config(
        &store.config_bytes(&config_digest)?,
        &config_digest.to_string(),
    )?;
    let diff_ids: Vec<Digest> = config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| digest_of(d, reference))
        .collect::<Result<_, _>>()?;
    if diff_ids.len() != manifest.layers.len() {
        return Err(RegistryError::Protocol {
            registry: reference.domain.clone(),
            message: format!(
                "{} lists {} layers in its config but {} in its manifest",
                reference.familiar(),
                diff_ids.len(),
                manifest.layers.len()
            ),
        });
    }
    let chain = chain_ids(&diff_ids);
    let layers = store.layers();

    // What each layer needs: nothing, its blob, its unpacking, or both.
    let mut need_blob = Vec::new();
    let mut need_unpack = Vec::new();
    for (i, d) in manifest.layers.iter().enumerate() {
        let blob = digest_of(&d.digest, reference)?;
        let have_blob = blobs.has(&blob);
        let have_layer = layers.has(&chain[i]);
        need_blob.push(!have_blob);
        need_unpack.push(!have_layer);
        progress(PullProgress {
            id: short(&d.digest),
            status: if have_blob && have_layer {
                PullStatus::AlreadyExists
            } else {
                PullStatus::Waiting
            },
        });
    }

    // Downloads in parallel; each signals when its blob is stored.
    let mut ready = Vec::new();
    let mut signals = Vec::new();
    for _ in &manifest.layers {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        signals.push(Some(tx));
        ready.push(rx);
    }
    let jobs: Vec<_> = manifest
        .layers
        .iter()
        .enumerate()
        .zip(signals)
        .map(|((i, d), signal)| {
            let (oci, image, blobs, need) = (&oci, &image, blobs.clone(), need_blob[i]);
            async move {
                if need {
                    download(oci, image, d, blobs, reference, settings, progress).await?;
                }
                if let Some(s) = signal {
                    let _ = s.send(());
                }
                Ok::<(), RegistryError>(())
            }
        })
        .collect();
    let downloads = futures::stream::iter(jobs)
        .buffer_unordered(settings.parallel.max(1))
        .try_collect::<Vec<()>>();

    // Unpacking in order, each layer as soon as its blob is there.
    let unpacks = async {
        for (i, rx) in ready.into_iter().enumerate() {
            if rx.await.is_err() {
                // Its download failed; that error is reported.
                return Ok::<(), RegistryError>(());
            }
            let d = &manifest.layers[i];
            if need_unpack[i] {
                progress(PullProgress {
                    id: short(&d.digest),
                    status: PullStatus::Extracting {
                        current: 0,
                        total: u64::try_from(d.size).ok(),
                    },
                });
                let (layers, blobs) = (layers.clone(), blobs.clone());
                let parent = i.checked_sub(1).map(|p| chain[p].clone());
                let diff_id = diff_ids[i].clone();
                let blob = digest_of(&d.digest, reference)?;
                blocking(move || {
                    let file = blobs.open(&blob)?;
                    layers.create(parent.as_ref(), Some(&diff_id), file)?;
                    Ok(())
                })
                .await?;
            }
            progress(PullProgress {
                id: short(&d.digest),
                status: PullStatus::Complete,
            });
        }
        Ok(())
    };
    futures::try_join!(downloads, unpacks)?;

    let described: Vec<(Digest, u64, Option<String>)> = manifest
        .layers
        .iter()
        .map(|d| {
            Ok((
                digest_of(&d.digest, reference)?,
                u64::try_from(d.size).unwrap_or(0),
                Some(d.media_type.clone()),
            ))
        })
        .collect::<Result<_, RegistryError>>()?;
    let tags: Vec<Reference> = if reference.digest.is_none() {
        vec![reference.clone()]
    } else {
        Vec::new()
    };
    let (store2, config2) = (store.clone(), config_digest);
    let id = blocking(move || {
        Ok(commit(
            &store2,
            &config2,
            &described,
            &tags,
            vec![repo_digest],
        )?)
    })
    .await?;
    drop(lease);
    progress(PullProgress {
        id: reference.familiar(),
        status: PullStatus::Done {
            digest: list_digest.unwrap_or(manifest_digest),
        },
    });
    Ok(id)
}
