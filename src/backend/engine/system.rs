//! The embedded engine itself: info, disk usage and the events journal.

use super::*;
use crate::backend::prelude::*;

impl SystemBackend for EngineBackend {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn info(&self) -> Result<SystemInfo> {
        self.blocking(|me| {
            let images = me.images().records()?.len();
            let all = me.runtime().list()?;
            let count = |st: crate::engine::container::Status| {
                all.iter().filter(|s| s.state.status == st).count()
            };
            use crate::engine::container::Status as S;
            Ok(SystemInfo {
                backend: "engine".into(),
                endpoint: me.root().display().to_string(),
                server_version: env!("CARGO_PKG_VERSION").into(),
                api_version: None,
                operating_system: crate::engine::host::operating_system(),
                kernel_version: crate::engine::host::kernel_version(),
                storage_driver: me.driver().name().to_string(),
                cgroup_version: crate::engine::cgroup::CgroupLayout::detect().label().into(),
                root_dir: me.root().display().to_string(),
                ncpu: crate::engine::host::cpus(),
                mem_total: crate::engine::host::memory(),
                containers: all.len(),
                containers_running: count(S::Running),
                containers_paused: count(S::Paused),
                containers_stopped: count(S::Exited) + count(S::Created),
                images,
            })
        })
        .await
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        self.blocking(|me| {
            let store = me.images();
            let layers = store.layers();
            let metas = layers.list().map_err(|e| image_error(e.into()))?;
            let records = store.records()?;
            // How many images use each layer.
            let mut users: std::collections::BTreeMap<_, usize> = Default::default();
            for r in &records {
                for c in r.chain() {
                    *users.entry(c).or_default() += 1;
                }
            }
            let mut usage = DiskUsage {
                layers: Some(metas.len()),
                ..DiskUsage::default()
            };
            // Layers only the build cache keeps are its row's, not the images'.
            let cache = store.build_cache()?;
            let metas: Vec<_> = metas
                .into_iter()
                .filter(|m| !cache.layers.contains(&m.chain_id))
                .collect();
            usage.build_cache = Some(UsageRow {
                total: cache.entries.len(),
                active: cache.entries.len() - cache.costly.len(),
                size: cache.bytes,
                reclaimable: cache.bytes,
            });
            let (mut shared, mut shared_bytes) = (0, 0);
            for m in &metas {
                usage.images.size += m.size;
                if users.get(&m.chain_id).copied().unwrap_or(0) > 1 {
                    shared += 1;
                    shared_bytes += m.size;
                }
            }
            usage.shared_layers = Some((shared, shared_bytes));
            usage.images.total = records.len();
            // What removing every image without containers would free: the layers that only
            // such images use.
            let containers = me.runtime().list()?;
            let used: Vec<&crate::engine::image::ImageRecord> = records
                .iter()
                .filter(|r| {
                    containers
                        .iter()
                        .any(|c| c.config.image_id == r.id.to_string())
                })
                .collect();
            usage.images.active = used.len();
            let kept: BTreeSet<crate::engine::store::Digest> =
                used.iter().flat_map(|r| r.chain()).collect();
            usage.images.reclaimable = metas
                .iter()
                .filter(|m| !kept.contains(&m.chain_id))
                .map(|m| m.size)
                .sum();
            for c in &containers {
                let size = me.runtime().sizes(&c.config.id).map_or(0, |s| s.0);
                usage.containers.total += 1;
                usage.containers.size += size;
                if c.state.status == crate::engine::container::Status::Running {
                    usage.containers.active += 1;
                } else {
                    usage.containers.reclaimable += size;
                }
            }
            usage.volumes = crate::model::volume_usage(&me.volume_list(true)?);
            Ok(usage)
        })
        .await
    }

    async fn events(&self) -> Result<ResultStream<Event>> {
        // The journal has every change that a process of the root made; the monitors'
        // pidfds tell of a monitor lost, whose container nobody would otherwise read (and so
        // find stopped) until the next list.
        let follower = self.inner.journal.follow();
        let changes = Changes::watch(&[self.inner.journal.dir()], FOLLOW_FALLBACK);
        let monitors = supervise::Monitors::of_running(self).await;
        let start = (follower, changes, monitors);
        Ok(
            futures::stream::unfold(start, |(mut f, changes, mut monitors)| async move {
                loop {
                    let batch = f.poll();
                    if !batch.is_empty() {
                        for e in &batch {
                            if e.kind == crate::engine::events::Kind::Container
                                && e.action == "start"
                            {
                                monitors.started(&e.id).await;
                            }
                        }
                        return Some((
                            futures::stream::iter(batch.into_iter().map(|e| Ok(e.into()))),
                            (f, changes, monitors),
                        ));
                    }
                    // A lost monitor's container is recorded stopped: the journal says so next.
                    let ended = tokio::select! {
                        () = changes.wait() => Vec::new(),
                        ended = monitors.ended() => ended,
                    };
                    monitors.check(ended).await;
                }
            })
            .flatten()
            .boxed(),
        )
    }

    async fn check(&self, repair: bool) -> Result<CheckReport> {
        self.blocking(move |me| {
            let r = crate::engine::check::check(&me.inner.root, repair)?;
            let rt = me.runtime_as_found();
            let stale = if repair {
                rt.forget_stale_endpoints()?
            } else {
                rt.stale_endpoints()?
            };
            let (containers, findings) = rt.check_containers(repair)?;
            let volumes = crate::engine::volume::VolumeStore::new(&me.inner.root)
                .check(repair)?
                .into_iter()
                .map(|(what, repaired)| CheckProblem { what, repaired });
            let host = crate::engine::network::NetworkStore::new(&me.inner.root)
                .check_host(repair)?
                .into_iter()
                .map(|l| CheckProblem {
                    what: l.what,
                    repaired: l.repaired,
                });
            let findings = findings.into_iter().map(|f| CheckProblem {
                what: f.what,
                repaired: f.repaired,
            });
            let stale = stale.into_iter().map(|(n, ep)| CheckProblem {
                what: format!(
                    "network {}: the endpoint of {} ({}) has no running container",
                    n.name, ep.name, ep.ip
                ),
                repaired: repair,
            });
            Ok(CheckReport {
                root: me.root().display().to_string(),
                blobs: r.blobs,
                layers: r.layers,
                images: r.images,
                containers,
                problems: r
                    .problems
                    .into_iter()
                    .map(|p| CheckProblem {
                        what: p.what,
                        repaired: p.repaired,
                    })
                    .chain(findings)
                    .chain(stale)
                    .chain(host)
                    .chain(volumes)
                    .collect(),
                unused_blobs: r.unused_blobs,
                unused_layers: r.unused_layers,
            })
        })
        .await
    }

    async fn boot(&self) -> Result<BootReport> {
        self.blocking(|me| {
            // Its own report says what it started: the runtime's first sweep, which would
            // restart them itself, is left out.
            let r = me.runtime_as_found().boot()?;
            Ok(BootReport {
                started: r.started,
                failed: r
                    .failed
                    .into_iter()
                    .map(|(name, e)| (name, BackendError::from(e).to_string()))
                    .collect(),
            })
        })
        .await
    }

    async fn reset(&self) -> Result<ResetReport> {
        let mut report = self
            .blocking(|me| {
                let rt = me.runtime();
                let mut report = ResetReport::default();
                for s in rt.list()? {
                    rt.remove_with(&s.config.id, true, true)?;
                    report.containers.push(s.config.name);
                }
                let networks = crate::engine::network::NetworkStore::new(&me.inner.root);
                let lock = networks.lock()?;
                for n in networks.list()? {
                    networks.remove(&lock, &n)?;
                    me.emit(ObjectKind::Network, "destroy", &n.id, Some(&n.name));
                    report.networks.push(n.name);
                }
                drop(lock);
                for v in rt.volumes().list()? {
                    rt.remove_volume(&v.name, true)?;
                    report.volumes.push(v.name);
                }
                Ok(report)
            })
            .await?;
        for image in self.list_images(true).await? {
            self.remove_image(&image.id, true).await?;
            report.images.push(image.id);
        }
        Ok(report)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            removes_ended_runs: true,
            attach_ends_at_exit: true,
        }
    }
}
