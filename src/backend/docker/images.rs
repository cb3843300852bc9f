//! Images on a Docker-compatible endpoint: list, inspect, history, pull and push with
//! progress (stored credentials sent along), load, save, import, tag, remove and prune.

use super::*;
use crate::backend::prelude::*;

impl ImageBackend for DockerBackend {
    async fn list_images(&self, all: bool) -> Result<Vec<ImageSummary>> {
        let options = q::ListImagesOptionsBuilder::default().all(all).build();
        let images = self
            .api()
            .await?
            .list_images(Some(options))
            .await
            .map_err(|e| self.err(e, None))?;
        let containers = self.raw_containers().await?;
        Ok(images
            .into_iter()
            .map(|i| {
                let users = containers
                    .iter()
                    .filter(|c| c.image_id.as_deref() == Some(i.id.as_str()))
                    .count();
                convert::image_summary(i, users)
            })
            .collect())
    }

    async fn inspect_image(&self, reference: &str) -> Result<ImageDetails> {
        let i = self
            .api()
            .await?
            .inspect_image(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, reference)))?;
        let id = i.id.clone().unwrap_or_default();
        let users = self
            .raw_containers()
            .await?
            .iter()
            .filter(|c| c.image_id.as_deref() == Some(id.as_str()))
            .count();
        Ok(convert::image_details(i, users))
    }

    async fn image_history(&self, reference: &str) -> Result<Vec<HistoryEntry>> {
        let h = self
            .api()
            .await?
            .image_history(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, reference)))?;
        Ok(h.into_iter().map(convert::history_entry).collect())
    }

    async fn pull_image(&self, reference: &str) -> Result<ResultStream<PullProgress>> {
        let (repo, tag) = split_reference(reference)?;
        let mut builder = q::CreateImageOptionsBuilder::default().from_image(&repo);
        if let Some(tag) = &tag {
            builder = builder.tag(tag);
        }
        let raw = self.api().await?.create_image(
            Some(builder.build()),
            None,
            crate::model::Reference::parse(reference)
                .ok()
                .and_then(|r| registry_credentials(&r.domain)),
        );
        let me = self.clone();
        let reference = reference.to_string();
        // Carry the digest announced near the end into the final `Done`.
        let stream = stream::unfold(
            (raw.boxed(), String::new(), false),
            move |(mut raw, mut digest, done)| {
                let me = me.clone();
                let reference = reference.clone();
                async move {
                    if done {
                        return None;
                    }
                    loop {
                        match raw.next().await {
                            Some(Ok(info)) => {
                                if let Some(d) = info
                                    .status
                                    .as_deref()
                                    .and_then(|s| s.strip_prefix("Digest: "))
                                {
                                    digest = d.to_string();
                                }
                                if let Some(status) = convert::pull_status(&info) {
                                    let id = info.id.unwrap_or_default();
                                    return Some((
                                        Ok(PullProgress { id, status }),
                                        (raw, digest, false),
                                    ));
                                }
                            }
                            Some(Err(e)) => {
                                let err = me.err(e, subject(ObjectKind::Image, &reference));
                                return Some((Err(err), (raw, digest, true)));
                            }
                            None => {
                                let item = PullProgress {
                                    id: reference.clone(),
                                    status: PullStatus::Done {
                                        digest: digest.clone(),
                                    },
                                };
                                return Some((Ok(item), (raw, digest, true)));
                            }
                        }
                    }
                }
            },
        );
        Ok(stream.boxed())
    }

    async fn push_image(&self, reference: &str) -> Result<ResultStream<PushProgress>> {
        let parsed = crate::model::Reference::parse(reference)
            .map_err(|e| BackendError::invalid(e.to_string()))?;
        let credentials = registry_credentials(&parsed.domain);
        let mut options = q::PushImageOptionsBuilder::default();
        if let Some(tag) = &parsed.tag {
            options = options.tag(tag);
        }
        let raw = self.api().await?.push_image(
            &parsed.familiar_name(),
            Some(options.build()),
            credentials,
        );
        let me = self.clone();
        let reference = reference.to_string();
        let stream = raw.map(move |item| match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(BackendError::Internal {
                        message: format!("push of {reference} failed: {detail}"),
                        source: None,
                    });
                }
                // The API's per-layer ids are not exposed by bollard; statuses still are.
                Ok(PushProgress {
                    id: String::new(),
                    status: info.status.unwrap_or_default(),
                })
            }
            Err(e) => Err(me.err(e, subject(ObjectKind::Image, &reference))),
        });
        Ok(stream.boxed())
    }

    async fn load_images(&self, archive: ByteStream) -> Result<Vec<String>> {
        let o = q::ImportImageOptionsBuilder::default().quiet(true).build();
        let mut stream = self
            .api()
            .await?
            .import_image(o, bollard::body_try_stream(archive), None);
        let mut loaded = Vec::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                bollard::errors::Error::DockerStreamError { error } => {
                    BackendError::invalid(format!("the archive was refused: {error}"))
                }
                other => self.err(other, None),
            })?;
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(BackendError::invalid(format!(
                    "the archive was refused: {message}"
                )));
            }
            for line in info.stream.iter().flat_map(|s| s.lines()) {
                if line.starts_with("Loaded image") {
                    loaded.push(line.trim().to_string());
                }
            }
        }
        Ok(loaded)
    }

    async fn save_images(&self, references: &[String]) -> Result<ByteStream> {
        // Check each name first: the archive stream would only fail on its first read.
        for r in references {
            self.api()
                .await?
                .inspect_image(r)
                .await
                .map_err(|e| self.err(e, subject(ObjectKind::Image, r)))?;
        }
        let names: Vec<&str> = references.iter().map(String::as_str).collect();
        let me = self.clone();
        let stream = self
            .api()
            .await?
            .export_images(&names)
            .map(move |chunk| chunk.map_err(|e| std::io::Error::other(me.err(e, None))));
        Ok(stream.boxed())
    }

    async fn import_image(
        &self,
        rootfs: ByteStream,
        reference: Option<&str>,
        changes: &[String],
    ) -> Result<String> {
        // Refuse bad instructions here with the same words as the other backends.
        crate::model::import_changes::parse(changes)?;
        let mut builder = q::CreateImageOptionsBuilder::default()
            .from_src("-")
            .changes(changes.to_vec());
        if let Some(r) = reference {
            let (repo, tag) = split_reference(r)?;
            builder = builder.repo(&repo).tag(tag.as_deref().unwrap_or("latest"));
        }
        let mut stream = self.api().await?.create_image(
            Some(builder.build()),
            Some(bollard::body_try_stream(rootfs)),
            None,
        );
        let mut id = String::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                bollard::errors::Error::DockerStreamError { error } => {
                    BackendError::invalid(format!("the root filesystem was refused: {error}"))
                }
                other => self.err(other, None),
            })?;
            if let Some(s) = info.status.filter(|s| s.starts_with("sha256:")) {
                id = s;
            }
        }
        if id.is_empty() {
            return Err(BackendError::Internal {
                message: format!("{}: the import finished without an image id", self.url()),
                source: None,
            });
        }
        Ok(id)
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let (repo, tag) = split_reference(target)?;
        if repo.contains('@') {
            return Err(BackendError::invalid(format!(
                "cannot tag with a digest ({target}); give name:tag"
            )));
        }
        let o = q::TagImageOptionsBuilder::default()
            .repo(&repo)
            .tag(tag.as_deref().unwrap_or("latest"))
            .build();
        self.api()
            .await?
            .tag_image(source, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, source)))
    }

    async fn remove_image(&self, reference: &str, force: bool) -> Result<Vec<String>> {
        let o = q::RemoveImageOptionsBuilder::default().force(force).build();
        let items = self
            .api()
            .await?
            .remove_image(reference, Some(o), None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, reference)))?;
        Ok(items
            .into_iter()
            .flat_map(|i| {
                i.untagged
                    .map(|u| format!("Untagged: {u}"))
                    .into_iter()
                    .chain(i.deleted.map(|d| format!("Deleted: {d}")))
            })
            .collect())
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let f = if all {
            filters(&[("dangling", "false")])
        } else {
            filters(&[("dangling", "true")])
        };
        let o = q::PruneImagesOptionsBuilder::default().filters(&f).build();
        let r = self
            .api()
            .await?
            .prune_images(Some(o))
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r
                .images_deleted
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.deleted.or(i.untagged))
                .collect(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    async fn commit_container(&self, container: &str, spec: CommitSpec) -> Result<String> {
        // Refuse bad instructions here with the same words as the other backends.
        crate::model::import_changes::parse(&spec.changes)?;
        let mut o = q::CommitContainerOptionsBuilder::default()
            .container(container)
            .pause(spec.pause);
        if let Some(r) = &spec.reference {
            let (repo, tag) = split_reference(r)?;
            if repo.contains('@') {
                return Err(BackendError::invalid(format!(
                    "{r} names a digest; a commit is named REPOSITORY[:TAG]"
                )));
            }
            o = o.repo(&repo).tag(tag.as_deref().unwrap_or("latest"));
        }
        if !spec.author.is_empty() {
            o = o.author(&spec.author);
        }
        if !spec.message.is_empty() {
            o = o.comment(&spec.message);
        }
        if !spec.changes.is_empty() {
            o = o.changes(&spec.changes.join("\n"));
        }
        let made = self
            .api()
            .await?
            .commit_container(o.build(), bollard::models::ContainerConfig::default())
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))?;
        Ok(made.id)
    }

    async fn prune_build_cache(&self, all: bool) -> Result<PruneReport> {
        let o = q::PruneBuildOptionsBuilder::default().all(all).build();
        let r = self
            .api()
            .await?
            .prune_build(Some(o))
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r.caches_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    async fn build_image(&self, spec: BuildSpec) -> Result<ResultStream<BuildEvent>> {
        self.start_build(spec).await
    }
}
