//! Builds on the embedded engine: the request checked and planned before anything runs, the
//! base images pulled when missing (or with `--pull`), then the engine's build on a blocking
//! thread whose progress is streamed; dropping the stream cancels the build.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use super::*;
use crate::backend::prelude::*;
use crate::engine::build::{BuildError, BuildRequest};

impl From<BuildError> for BackendError {
    fn from(e: BuildError) -> BackendError {
        match e {
            BuildError::Image(e) => e.into(),
            BuildError::Container(e) => e.into(),
            BuildError::Store(e) => BackendError::Internal {
                message: e.to_string(),
                source: Some(Box::new(e)),
            },
            other => BackendError::invalid(other.to_string()),
        }
    }
}

impl EngineBackend {
    /// `builder prune`: drops the cache entries that keep something no image keeps (every
    /// entry when `all`), then collects what they alone kept.
    pub(super) fn prune_build_cache_now(&self, all: bool) -> Result<PruneReport> {
        let store = self.images();
        let lock = store.lock()?;
        let usage = store.build_cache()?;
        let dropped = if all { usage.entries } else { usage.costly };
        let mut report = PruneReport::default();
        for key in dropped {
            crate::engine::image::held::release(&self.inner.root, &key).map_err(|e| {
                BackendError::Internal {
                    message: format!("cannot drop build cache entry {key}: {e}"),
                    source: Some(Box::new(e)),
                }
            })?;
            report.deleted.push(key[..12.min(key.len())].to_string());
        }
        report.space_reclaimed = store.collect(&lock, &Default::default())?;
        Ok(report)
    }

    /// Checks and starts a build; its progress as a stream.
    pub(super) async fn start_build(&self, spec: BuildSpec) -> Result<ResultStream<BuildEvent>> {
        let mut tags = Vec::new();
        for t in &spec.tags {
            let r = parse_reference(t)?;
            if r.digest.is_some() {
                return Err(BackendError::invalid(format!(
                    "-t {t}: a digest cannot name a build; write NAME[:TAG]"
                )));
            }
            tags.push(r);
        }
        let network = match spec.network.as_deref() {
            None | Some("default" | "bridge") => "bridge",
            Some("host") => "host",
            Some("none") => "none",
            Some(other) => {
                return Err(BackendError::invalid(format!(
                    "--network {other}: RUN steps take bridge (the default), host or none"
                )));
            }
        };
        if let Some(c) = &spec.context {
            if !c.is_dir() {
                return Err(BackendError::invalid(format!(
                    "the build context {} is not a directory",
                    c.display()
                )));
            }
        }
        let plan = crate::engine::build::plan(&spec.dockerfile, &spec.build_args)?;
        let bases = plan.images(spec.target.as_deref())?;
        let request = BuildRequest {
            dockerfile: spec.dockerfile.clone(),
            context: spec.context.clone(),
            ignore: crate::backend::ignore_file(&spec)?,
            tags,
            args: spec.build_args.clone(),
            target: spec.target.clone(),
            no_cache: spec.no_cache,
            labels: spec.labels.clone(),
            network: network.to_string(),
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<BuildEvent>>(1024);
        let me = self.clone();
        tokio::spawn(async move {
            for (n, base) in bases.iter().enumerate() {
                if tx.is_closed() {
                    return;
                }
                let here = me.images().resolve(base).is_ok();
                if here && !spec.pull {
                    continue;
                }
                let step = n + 1;
                let _ = tx
                    .send(Ok(BuildEvent::Step {
                        step,
                        name: format!("[internal] pull {base}"),
                    }))
                    .await;
                let pulled = match me.pull_image(base).await {
                    Ok(mut s) => {
                        let mut failed = None;
                        while let Some(p) = s.next().await {
                            if let Err(e) = p {
                                failed = Some(e);
                            }
                        }
                        failed.map_or(Ok(()), Err)
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = pulled {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                let _ = tx.send(Ok(BuildEvent::Done { step, seconds: 0.0 })).await;
            }
            let cancel = Arc::new(AtomicBool::new(false));
            // The reader may go away while a step is silent: that stops the build too.
            let watched = tx.clone();
            let on_close = cancel.clone();
            let watcher = tokio::spawn(async move {
                watched.closed().await;
                on_close.store(true, Ordering::Relaxed);
            });
            let events_tx = tx.clone();
            let runner = me.clone();
            let flag = cancel.clone();
            let built = tokio::task::spawn_blocking(move || {
                let events = |e: BuildEvent| {
                    if events_tx.blocking_send(Ok(e)).is_err() {
                        // Nobody reads the progress any more: the build was abandoned.
                        flag.store(true, Ordering::Relaxed);
                    }
                };
                crate::engine::build::build(runner.runtime(), &request, &events, &flag)
            })
            .await;
            watcher.abort();
            match built {
                Ok(Ok(id)) => {
                    for t in &spec.tags {
                        me.emit(ObjectKind::Image, "tag", &id.to_string(), Some(t));
                    }
                    if spec.tags.is_empty() {
                        me.emit(ObjectKind::Image, "build", &id.to_string(), None);
                    }
                }
                Ok(Err(e)) => {
                    let _ = tx.send(Err(e.into())).await;
                }
                Err(e) => {
                    let _ = tx
                        .send(Err(BackendError::Internal {
                            message: format!("the build task failed: {e}"),
                            source: None,
                        }))
                        .await;
                }
            }
        });
        Ok(receiver_stream(rx))
    }
}
