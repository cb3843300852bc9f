//! Demo images: pulls with progress, pushes, archives, tags, removal with Docker's rules.

use super::*;
use crate::backend::prelude::*;

impl ImageBackend for FakeBackend {
    async fn list_images(&self, _all: bool) -> Result<Vec<ImageSummary>> {
        let st = self.state();
        Ok(st.images.iter().map(|i| st.image_summary(i)).collect())
    }

    async fn inspect_image(&self, reference: &str) -> Result<ImageDetails> {
        let st = self.state();
        let img = &st.images[st.image_index(reference)?];
        Ok(ImageDetails {
            summary: st.image_summary(img),
            architecture: "amd64".into(),
            os: "linux".into(),
            env: img.env.clone(),
            entrypoint: img.entrypoint.clone(),
            cmd: img.cmd.clone(),
            working_dir: img.working_dir.clone(),
            exposed_ports: img.exposed_ports.clone(),
            layers: img.layers.clone(),
            inspect: inspect::image(img),
        })
    }

    async fn image_history(&self, reference: &str) -> Result<Vec<HistoryEntry>> {
        let st = self.state();
        Ok(st.images[st.image_index(reference)?].history.clone())
    }

    async fn pull_image(&self, reference: &str) -> Result<ResultStream<PullProgress>> {
        validate_reference(reference)?;
        let normalized = normalize_reference(reference);
        let present = self.state().image_index(&normalized).ok();
        let (size, layers) = match present {
            Some(i) => {
                let st = self.state();
                (st.images[i].summary.size, st.images[i].layers.len())
            }
            None => sample::PULLABLE
                .iter()
                .find(|(r, _, _)| *r == normalized)
                .map(|(_, s, l)| (*s, *l))
                .ok_or_else(|| {
                    BackendError::not_found(
                        ObjectKind::Image,
                        format!(
                            "{normalized} (the demo registry offers {})",
                            sample::PULLABLE
                                .iter()
                                .map(|(r, _, _)| *r)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?,
        };
        let layer_ids: Vec<String> = (0..layers)
            .map(|i| hex_id(&format!("layer:{normalized}:{i}"))[..12].to_string())
            .collect();
        let per_layer = size / layers.max(1) as u64;
        let mut steps: Vec<PullProgress> = Vec::new();
        for id in &layer_ids {
            if present.is_some() {
                steps.push(PullProgress {
                    id: id.clone(),
                    status: PullStatus::AlreadyExists,
                });
                continue;
            }
            for part in 1..=4u64 {
                steps.push(PullProgress {
                    id: id.clone(),
                    status: PullStatus::Downloading {
                        current: per_layer * part / 4,
                        total: Some(per_layer),
                    },
                });
            }
            steps.push(PullProgress {
                id: id.clone(),
                status: PullStatus::Verifying,
            });
            steps.push(PullProgress {
                id: id.clone(),
                status: PullStatus::Extracting {
                    current: per_layer,
                    total: Some(per_layer),
                },
            });
            steps.push(PullProgress {
                id: id.clone(),
                status: PullStatus::Complete,
            });
        }
        let backend = self.clone();
        let digest = format!("sha256:{}", hex_id(&format!("digest:{normalized}")));
        let finish = stream::once(async move {
            let (id, added) = {
                let mut st = backend.state();
                match st.image_index(&normalized) {
                    Ok(i) => (st.images[i].summary.id.clone(), false),
                    Err(_) => {
                        let img = sample::image(&normalized, backend.now(), 30, size, layers);
                        let id = img.summary.id.clone();
                        st.images.push(img);
                        (id, true)
                    }
                }
            };
            if added {
                backend.emit(ObjectKind::Image, "pull", &id, Some(&normalized));
            }
            Ok(PullProgress {
                id: normalized,
                status: PullStatus::Done { digest },
            })
        });
        let paced = stream::iter(steps).then(|p| async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(p)
        });
        Ok(paced.chain(finish).boxed())
    }

    async fn push_image(&self, reference: &str) -> Result<ResultStream<PushProgress>> {
        let (tag, layers, size) = {
            let st = self.state();
            let i = st.image_index(reference)?;
            let img = &st.images[i];
            (
                normalize_reference(reference),
                img.layers.clone(),
                img.summary.size,
            )
        };
        let mut steps = Vec::new();
        for layer in &layers {
            let id = layer.strip_prefix("sha256:").unwrap_or(layer);
            let id = id[..id.len().min(12)].to_string();
            steps.push(PushProgress {
                id: id.clone(),
                status: "Preparing".into(),
            });
            steps.push(PushProgress {
                id,
                status: "Pushed".into(),
            });
        }
        let digest = hex_id(&format!("manifest:{tag}"));
        steps.push(PushProgress {
            id: tag
                .rsplit_once(':')
                .map_or("latest", |(_, t)| t)
                .to_string(),
            status: format!("digest: sha256:{digest} size: {size}"),
        });
        Ok(futures::stream::iter(steps.into_iter().map(Ok)).boxed())
    }

    async fn load_images(&self, archive: ByteStream) -> Result<Vec<String>> {
        let bytes = collect_bytes(archive)
            .await
            .map_err(|e| BackendError::invalid(format!("cannot read the archive: {e}")))?;
        let images = archive::read(&bytes)?;
        let mut report = Vec::new();
        let mut loaded = Vec::new();
        {
            let mut st = self.state();
            for img in images {
                for tag in &img.summary.repo_tags {
                    for other in &mut st.images {
                        other.summary.repo_tags.retain(|t| t != tag);
                    }
                    report.push(format!("Loaded image: {tag}"));
                }
                if img.summary.repo_tags.is_empty() {
                    report.push(format!("Loaded image ID: {}", img.summary.id));
                }
                loaded.push(img.summary.id.clone());
                match st
                    .images
                    .iter_mut()
                    .find(|i| i.summary.id == img.summary.id)
                {
                    Some(existing) => existing.summary.repo_tags.extend(img.summary.repo_tags),
                    None => st.images.push(img),
                }
            }
        }
        for id in loaded {
            self.emit(ObjectKind::Image, "load", &id, None);
        }
        Ok(report)
    }

    async fn save_images(&self, references: &[String]) -> Result<ByteStream> {
        let bytes = {
            let st = self.state();
            let mut chosen = Vec::new();
            for r in references {
                let img = &st.images[st.image_index(r)?];
                let normalized = normalize_reference(r);
                let tags = if img.summary.repo_tags.contains(&normalized) {
                    vec![normalized]
                } else {
                    img.summary.repo_tags.clone()
                };
                chosen.push((img, tags));
            }
            archive::write(&chosen)?
        };
        Ok(stream::once(async move { Ok(bytes::Bytes::from(bytes)) }).boxed())
    }

    async fn import_image(
        &self,
        rootfs: ByteStream,
        reference: Option<&str>,
        changes: &[String],
    ) -> Result<String> {
        let changes = crate::model::import_changes::parse(changes)?;
        if let Some(r) = reference {
            validate_reference(r)?;
        }
        let bytes = collect_bytes(rootfs)
            .await
            .map_err(|e| BackendError::invalid(format!("cannot read the root filesystem: {e}")))?;
        let mut img = archive::import(&bytes, &changes, self.now())?;
        let id = img.summary.id.clone();
        {
            let mut st = self.state();
            if let Some(r) = reference {
                let tag = normalize_reference(r);
                for other in &mut st.images {
                    other.summary.repo_tags.retain(|t| *t != tag);
                }
                img.summary.repo_tags.push(tag);
            }
            st.images.retain(|i| i.summary.id != id);
            st.images.push(img);
        }
        self.emit(ObjectKind::Image, "import", &id, reference);
        Ok(id)
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        validate_reference(target)?;
        let target = normalize_reference(target);
        let id = {
            let mut st = self.state();
            let i = st.image_index(source)?;
            for img in &mut st.images {
                img.summary.repo_tags.retain(|t| *t != target);
            }
            st.images[i].summary.repo_tags.push(target.clone());
            st.images[i].summary.id.clone()
        };
        self.emit(ObjectKind::Image, "tag", &id, Some(&target));
        Ok(())
    }

    async fn remove_image(&self, reference: &str, force: bool) -> Result<Vec<String>> {
        let normalized = normalize_reference(reference);
        let (id, report, deleted) = {
            let mut st = self.state();
            let i = st.image_index(reference)?;
            let id = st.images[i].summary.id.clone();
            let users: Vec<String> = st
                .containers
                .iter()
                .filter(|c| st.image_id_of(c) == id)
                .map(|c| c.summary.name.clone())
                .collect();
            let by_tag = st.images[i].summary.repo_tags.contains(&normalized);
            let tags = st.images[i].summary.repo_tags.len();
            if by_tag && tags > 1 {
                st.images[i].summary.repo_tags.retain(|t| *t != normalized);
                (id, vec![format!("Untagged: {normalized}")], false)
            } else {
                if !users.is_empty() && !force {
                    return Err(BackendError::conflict(format!(
                        "unable to remove image {reference}: it is used by container {}; remove the container first or force the removal",
                        users.join(", ")
                    )));
                }
                if !by_tag && tags > 1 && !force {
                    return Err(BackendError::conflict(format!(
                        "unable to remove image {reference}: it is referenced by {} tags ({}); remove the tags one by one or force the removal",
                        tags,
                        st.images[i].summary.repo_tags.join(", ")
                    )));
                }
                let img = st.images.remove(i);
                let mut report: Vec<String> = img
                    .summary
                    .repo_tags
                    .iter()
                    .map(|t| format!("Untagged: {t}"))
                    .collect();
                report.push(format!("Deleted: {id}"));
                (id, report, true)
            }
        };
        self.emit(
            ObjectKind::Image,
            if deleted { "delete" } else { "untag" },
            &id,
            None,
        );
        Ok(report)
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let removed: Vec<FakeImage> = {
            let mut st = self.state();
            let unused: Vec<String> = st
                .images
                .iter()
                .filter(|img| st.image_summary(img).containers == 0)
                .filter(|img| all || img.summary.repo_tags.is_empty())
                .map(|img| img.summary.id.clone())
                .collect();
            let (gone, kept) = st
                .images
                .drain(..)
                .partition(|img| unused.contains(&img.summary.id));
            st.images = kept;
            gone
        };
        for img in &removed {
            self.emit(ObjectKind::Image, "delete", &img.summary.id, None);
        }
        Ok(PruneReport {
            space_reclaimed: removed.iter().map(|i| i.summary.size).sum(),
            deleted: removed.into_iter().map(|i| i.summary.id).collect(),
        })
    }

    async fn commit_container(&self, container: &str, spec: CommitSpec) -> Result<String> {
        let changes = crate::model::import_changes::parse(&spec.changes)?;
        if let Some(r) = &spec.reference {
            validate_reference(r)?;
        }
        let now = self.now();
        let (id, name) = {
            let mut st = self.state();
            let c = st.containers[st.container_index(container)?].clone();
            let base = st.images[st.image_index(&c.summary.image)?].clone();
            let mut img = base.clone();
            let id = format!(
                "sha256:{}",
                super::synth::hex_id(&format!(
                    "commit {} {now} {}",
                    c.summary.id,
                    st.images.len()
                ))
            );
            img.summary.id = id.clone();
            img.summary.repo_tags.clear();
            img.summary.repo_digests.clear();
            img.summary.created = now;
            img.summary.containers = 0;
            img.summary.labels.extend(changes.labels.clone());
            img.cmd = changes.cmd.clone().unwrap_or_else(|| c.cmd.clone());
            if let Some(e) = &changes.entrypoint {
                img.entrypoint = e.clone();
            }
            img.env = c.env.clone();
            for e in &changes.env {
                let key = e.split('=').next().unwrap_or(e);
                img.env.retain(|x| x.split('=').next() != Some(key));
                img.env.push(e.clone());
            }
            img.working_dir = changes
                .working_dir
                .clone()
                .unwrap_or_else(|| c.working_dir.clone());
            img.exposed_ports.extend(changes.exposed_ports.clone());
            img.layers
                .push(format!("sha256:{}", super::synth::hex_id(&id)));
            img.history.insert(
                0,
                HistoryEntry {
                    id: id.clone(),
                    created: now,
                    created_by: c.cmd.join(" "),
                    size: 0,
                    comment: spec.message.clone(),
                },
            );
            if let Some(r) = &spec.reference {
                let tag = normalize_reference(r);
                for other in &mut st.images {
                    other.summary.repo_tags.retain(|t| *t != tag);
                }
                img.summary.repo_tags.push(tag);
            }
            st.images.push(img);
            (id, (c.summary.id.clone(), c.summary.name.clone()))
        };
        self.emit(ObjectKind::Container, "commit", &name.0, Some(&name.1));
        Ok(id)
    }

    /// The demo's builds keep no cache: there is never anything to prune.
    async fn prune_build_cache(&self, _all: bool) -> Result<PruneReport> {
        Ok(PruneReport::default())
    }

    async fn build_image(&self, spec: BuildSpec) -> Result<ResultStream<BuildEvent>> {
        for t in &spec.tags {
            validate_reference(t)?;
        }
        let lines: Vec<String> = spec
            .dockerfile
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        let base = lines
            .iter()
            .find_map(|l| l.strip_prefix("FROM ").or_else(|| l.strip_prefix("from ")))
            .and_then(|b| b.split_whitespace().next())
            .ok_or_else(|| {
                BackendError::invalid(
                    "the Dockerfile has no FROM: start it with FROM IMAGE (or FROM scratch)",
                )
            })?
            .to_string();
        let now = self.now();
        let id = format!(
            "sha256:{}",
            super::synth::hex_id(&format!("build {} {now}", spec.dockerfile))
        );
        let mut img = {
            let st = self.state();
            match st.image_index(&base) {
                Ok(i) => st.images[i].clone(),
                Err(_) if base == "scratch" => super::sample::image("scratch", now, 0, 0, 0),
                Err(e) => return Err(e),
            }
        };
        img.summary.id = id.clone();
        img.summary.repo_tags = spec.tags.iter().map(|t| normalize_reference(t)).collect();
        img.summary.repo_digests.clear();
        img.summary.created = now;
        img.summary.containers = 0;
        img.summary.labels.extend(spec.labels.clone());
        let mut events = Vec::new();
        let total = lines.len();
        for (n, l) in lines.iter().enumerate() {
            events.push(Ok(BuildEvent::Step {
                step: n + 1,
                name: format!("[{}/{total}] {l}", n + 1),
            }));
            events.push(Ok(BuildEvent::Done {
                step: n + 1,
                seconds: 0.0,
            }));
        }
        {
            let mut st = self.state();
            for other in &mut st.images {
                other
                    .summary
                    .repo_tags
                    .retain(|t| !img.summary.repo_tags.contains(t));
            }
            st.images.push(img);
        }
        self.emit(
            ObjectKind::Image,
            "build",
            &id,
            spec.tags.first().map(String::as_str),
        );
        events.push(Ok(BuildEvent::Built {
            id,
            tags: spec.tags.clone(),
        }));
        Ok(futures::stream::iter(events).boxed())
    }
}
