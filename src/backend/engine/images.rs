//! Images on the embedded engine: the image store, pulls and pushes through the registry
//! client fed by tasks, archives bridged between byte streams and the synchronous store,
//! Docker's untag-or-delete rules and in-use refusals.

use super::*;
use crate::backend::prelude::*;

impl ImageBackend for EngineBackend {
    async fn list_images(&self, _all: bool) -> Result<Vec<ImageSummary>> {
        self.blocking(|me| {
            let layers = me.images().layers();
            let containers = me.runtime().list()?;
            let mut out: Vec<ImageSummary> = me
                .images()
                .images()?
                .iter()
                .map(|i| {
                    let mut row = convert::summary(i, &layers);
                    row.containers = containers
                        .iter()
                        .filter(|c| c.config.image_id == row.id)
                        .count();
                    row
                })
                .collect();
            out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
            Ok(out)
        })
        .await
    }

    async fn inspect_image(&self, reference: &str) -> Result<ImageDetails> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.images().resolve(&reference)?;
            let image = me.images().image(&id)?;
            Ok(convert::details(&image, &me.images().layers()))
        })
        .await
    }

    async fn image_history(&self, reference: &str) -> Result<Vec<HistoryEntry>> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.images().resolve(&reference)?;
            let image = me.images().image(&id)?;
            Ok(convert::history(&image, &me.images().layers()))
        })
        .await
    }

    async fn pull_image(&self, reference: &str) -> Result<ResultStream<PullProgress>> {
        let parsed = parse_reference(reference)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<PullProgress>>(256);
        let me = self.clone();
        tokio::spawn(async move {
            let progress_tx = tx.clone();
            let report = move |p: PullProgress| {
                let _ = progress_tx.try_send(Ok(p));
            };
            let result =
                crate::engine::registry::pull::pull(me.images(), &parsed, me.registry(), &report)
                    .await;
            match result {
                Ok(id) => me.emit(
                    ObjectKind::Image,
                    "pull",
                    &id.to_string(),
                    Some(&parsed.familiar()),
                ),
                Err(e) => {
                    let _ = tx.send(Err(registry_error(e))).await;
                }
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn push_image(&self, reference: &str) -> Result<ResultStream<PushProgress>> {
        let target = parse_reference(reference)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<PushProgress>>(256);
        let me = self.clone();
        let source = reference.to_string();
        tokio::spawn(async move {
            let progress_tx = tx.clone();
            let report = move |id: &str, status: &str| {
                let _ = progress_tx.try_send(Ok(PushProgress {
                    id: id.to_string(),
                    status: status.to_string(),
                }));
            };
            let result = crate::engine::registry::push::push(
                me.images(),
                &source,
                &target,
                me.registry(),
                &report,
            )
            .await;
            match result {
                Ok(digest) => {
                    let size = me
                        .images()
                        .resolve(&source)
                        .ok()
                        .and_then(|id| me.images().image(&id).ok())
                        .map_or(0, |i| i.record.layers.iter().map(|l| l.size).sum::<u64>());
                    let _ = tx
                        .send(Ok(PushProgress {
                            id: target.tag.clone().unwrap_or_default(),
                            status: format!("digest: {digest} size: {size}"),
                        }))
                        .await;
                    me.emit(
                        ObjectKind::Image,
                        "push",
                        &digest.to_string(),
                        Some(&target.familiar()),
                    );
                }
                Err(e) => {
                    let _ = tx.send(Err(registry_error(e))).await;
                }
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn load_images(&self, archive: ByteStream) -> Result<Vec<String>> {
        let reader = ChannelReader::from_stream(archive);
        self.blocking(move |me| {
            let loaded = archive::load(me.images(), reader)?;
            let mut lines = Vec::new();
            for l in &loaded {
                let name = l.tags.first().map(|t| t.familiar());
                me.emit(
                    ObjectKind::Image,
                    "load",
                    &l.id.to_string(),
                    name.as_deref(),
                );
                lines.extend(l.lines());
            }
            Ok(lines)
        })
        .await
    }

    async fn save_images(&self, references: &[String]) -> Result<ByteStream> {
        let references = references.to_vec();
        // Every name must resolve before any byte is written.
        let checked = references.clone();
        self.blocking(move |me| {
            for r in &checked {
                me.images().resolve(r)?;
            }
            Ok(())
        })
        .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let writer = ChannelWriter::new(tx.clone());
            if let Err(e) = archive::save(me.images(), &references, writer) {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn import_image(
        &self,
        rootfs: ByteStream,
        reference: Option<&str>,
        changes: &[String],
    ) -> Result<String> {
        let changes = crate::model::import_changes::parse(changes)?;
        let tag = reference.map(parse_reference).transpose()?;
        let reader = ChannelReader::from_stream(rootfs);
        self.blocking(move |me| {
            let id = import::import(
                me.images(),
                reader,
                changes.config_json(),
                unix_now(),
                tag.as_ref(),
            )?;
            let name = tag.as_ref().map(|t| t.familiar());
            me.emit(
                ObjectKind::Image,
                "import",
                &id.to_string(),
                name.as_deref(),
            );
            Ok(id.to_string())
        })
        .await
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let target = parse_reference(target)?;
        if target.digest.is_some() {
            return Err(BackendError::invalid(format!(
                "{} names a digest; a tag is NAME[:TAG]",
                target.familiar()
            )));
        }
        let source = source.to_string();
        self.blocking(move |me| {
            let store = me.images();
            let id = store.resolve(&source)?;
            let lock = store.lock()?;
            store.tag(&lock, &id, &target)?;
            me.emit(
                ObjectKind::Image,
                "tag",
                &id.to_string(),
                Some(&target.familiar()),
            );
            Ok(())
        })
        .await
    }

    async fn remove_image(&self, reference: &str, force: bool) -> Result<Vec<String>> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let store = me.images();
            let id = store.resolve(&reference)?;
            let tags = store.image(&id)?.tags;
            let users = me.containers_using(&id)?;
            if !users.is_empty() {
                if !force {
                    return Err(BackendError::conflict(format!(
                        "unable to remove {reference} (must be forced): container {} is using it; remove the container first or use -f",
                        users.join(", ")
                    )));
                }
                // Forced: the names go, the image stays for its containers, as Docker does.
                let lock = store.lock()?;
                let mut lines = Vec::new();
                for t in &tags {
                    store.untag(&lock, t)?;
                    me.emit(ObjectKind::Image, "untag", &id.to_string(), Some(&t.familiar()));
                    lines.push(format!("Untagged: {}", t.familiar()));
                }
                return Ok(lines);
            }
            // A name of an image that has other names: only that name goes.
            let named = Reference::parse(&reference)
                .ok()
                .filter(|r| tags.iter().any(|t| t.full() == r.full()));
            if let Some(name) = named {
                if tags.len() > 1 {
                    let lock = store.lock()?;
                    store.untag(&lock, &name)?;
                    me.emit(ObjectKind::Image, "untag", &id.to_string(), Some(&name.familiar()));
                    return Ok(vec![format!("Untagged: {}", name.familiar())]);
                }
            } else if tags.len() > 1 && !force {
                return Err(BackendError::conflict(format!(
                    "unable to delete {} (must be forced): the image is referenced in multiple repositories ({}); remove the names one by one or use -f",
                    &id.hex()[..12],
                    tags.iter().map(|t| t.familiar()).collect::<Vec<_>>().join(", ")
                )));
            }
            me.delete_image(&id).map(|(lines, _)| lines)
        })
        .await
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        self.blocking(move |me| {
            let store = me.images();
            let mut report = PruneReport::default();
            for image in store.images()? {
                if !me.containers_using(&image.record.id)?.is_empty() {
                    continue;
                }
                if all || image.tags.is_empty() {
                    let (lines, freed) = me.delete_image(&image.record.id)?;
                    report.deleted.extend(lines);
                    report.space_reclaimed += freed;
                }
            }
            // Blobs and layers left by interrupted pulls go too.
            let lock = store.lock()?;
            report.space_reclaimed += store.collect(&lock, &BTreeSet::new())?;
            Ok(report)
        })
        .await
    }

    async fn commit_container(&self, container: &str, spec: CommitSpec) -> Result<String> {
        let changes = crate::model::import_changes::parse(&spec.changes)?;
        let tag = spec.reference.as_deref().map(parse_reference).transpose()?;
        if let Some(t) = tag.as_ref().filter(|t| t.digest.is_some()) {
            return Err(BackendError::invalid(format!(
                "{} names a digest; a commit is named REPOSITORY[:TAG]",
                t.familiar()
            )));
        }
        let container = container.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&container)?;
            let request = crate::engine::container::commit::CommitRequest {
                author: spec.author,
                message: spec.message,
                changes,
                pause: spec.pause,
                tag: tag.clone(),
            };
            // The runtime records the container's `commit` event, as Docker does.
            Ok(me.runtime().commit(&id, &request)?.to_string())
        })
        .await
    }

    async fn prune_build_cache(&self, all: bool) -> Result<PruneReport> {
        self.blocking(move |me| me.prune_build_cache_now(all)).await
    }

    async fn build_image(&self, spec: BuildSpec) -> Result<ResultStream<BuildEvent>> {
        self.start_build(spec).await
    }
}
