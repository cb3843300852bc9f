//! Containers on the embedded engine: the runtime's operations on blocking threads, logs
//! followed from the json-file log, stats from the cgroup, cp through the root filesystem.

use super::*;
use crate::backend::prelude::*;

impl ContainerBackend for EngineBackend {
    async fn list_containers(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        self.blocking(move |me| {
            let networks = crate::engine::network::NetworkStore::new(&me.inner.root).list()?;
            let mut out: Vec<ContainerSummary> = me
                .runtime()
                .list()?
                .iter()
                // A build's step containers belong to the build, not to the user's list.
                .filter(|s| s.config.build.is_none())
                .map(|s| {
                    let mut row = convert_containers::summary(s);
                    if s.state.status.is_active() {
                        if let Some((_, ep)) = me.endpoint_among(&networks, &s.config) {
                            row.ports = convert_containers::published(&ep);
                        }
                    }
                    row
                })
                .filter(|c| {
                    all || matches!(
                        c.state,
                        ContainerState::Running
                            | ContainerState::Paused
                            | ContainerState::Restarting
                    )
                })
                .collect();
            out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
            Ok(out)
        })
        .await
    }

    async fn list_containers_sized(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        let mut list = self.list_containers(all).await?;
        self.blocking(move |me| {
            for c in &mut list {
                // A container removed since the listing keeps no sizes.
                if let Ok((own, all)) = me.runtime().sizes(&c.id) {
                    c.size_rw = Some(own);
                    c.size_root_fs = Some(all);
                }
            }
            Ok(list)
        })
        .await
    }

    async fn inspect_container(&self, reference: &str) -> Result<ContainerDetails> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let snap = me.runtime().get(&id)?;
            let endpoint = me.endpoint_of(&snap.config);
            Ok(convert_containers::details(&snap, me.root(), endpoint))
        })
        .await
    }

    async fn create_container(&self, spec: ContainerSpec) -> Result<String> {
        let request = convert_containers::request(spec)?;
        self.blocking(move |me| Ok(me.runtime().create(request)?))
            .await
    }

    async fn start_container(&self, reference: &str) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let attached = me
                .inner
                .attach_pending
                .lock()
                .expect("attach lock")
                .remove(&id);
            Ok(me.runtime().start_with(&id, attached)?)
        })
        .await
    }

    async fn stop_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().stop(&id, timeout)?)
        })
        .await
    }

    async fn kill_container(&self, reference: &str, signal: Option<&str>) -> Result<()> {
        let signal = signal
            .map(Signal::parse)
            .transpose()?
            .unwrap_or(Signal::KILL);
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().kill(&id, signal)?)
        })
        .await
    }

    async fn restart_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let rt = me.runtime();
            rt.stop(&id, timeout)?;
            Ok(rt.start(&id)?)
        })
        .await
    }

    async fn pause_container(&self, reference: &str) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().pause(&id)?)
        })
        .await
    }

    async fn unpause_container(&self, reference: &str) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().unpause(&id)?)
        })
        .await
    }

    async fn remove_container(&self, reference: &str, options: RemoveOptions) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me
                .runtime()
                .remove_with(&id, options.force, options.volumes)?)
        })
        .await
    }

    async fn rename_container(&self, reference: &str, new_name: &str) -> Result<()> {
        if !crate::model::parse::valid_name(new_name) {
            return Err(BackendError::invalid(format!(
                "invalid container name {new_name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let (reference, new_name) = (reference.to_string(), new_name.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().rename(&id, &new_name)?)
        })
        .await
    }

    async fn wait_container(&self, reference: &str) -> Result<i64> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().wait(&id)?)
        })
        .await
    }

    async fn top_container(&self, reference: &str) -> Result<TopOutput> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let pids = me.runtime().pids(&id)?;
            Ok(convert_containers::top(&pids))
        })
        .await
    }

    async fn container_logs(
        &self,
        reference: &str,
        options: LogOptions,
    ) -> Result<ResultStream<LogLine>> {
        let reference = reference.to_string();
        let (id, history, follower) = self
            .blocking(move |me| {
                let id = me.resolve_container(&reference)?;
                let config = me.runtime().store().config(&id)?;
                if config.log.driver == crate::model::logging::LogDriver::None {
                    return Err(BackendError::invalid(format!(
                        "container {} logs with the none driver, which keeps nothing to read; \
                         run it with --log-driver json-file to keep its output",
                        config.name
                    )));
                }
                let dir = me.runtime().store().dir(&id).join("logs");
                let (history, follower) = crate::engine::container::logs::open(&dir);
                let history = convert_containers::select_history(history, &options);
                Ok((id, history, follower))
            })
            .await?;
        let history = futures::stream::iter(history.into_iter().map(Ok));
        if !options.follow {
            return Ok(history.boxed());
        }
        let me = self.clone();
        // The log's directory for what it writes, the container's for its state record.
        let dir = self.runtime().store().dir(&id);
        let changes = Changes::watch(&[&dir, &dir.join("logs")], FOLLOW_FALLBACK);
        let start = (follower, false, changes);
        let live = futures::stream::unfold(start, move |(mut follower, ending, changes)| {
            let me = me.clone();
            let id = id.clone();
            async move {
                loop {
                    let batch: Vec<LogLine> = follower
                        .poll()
                        .iter()
                        .map(convert_containers::log_line)
                        .collect();
                    if !batch.is_empty() {
                        return Some((
                            futures::stream::iter(batch.into_iter().map(Ok)),
                            (follower, ending, changes),
                        ));
                    }
                    if ending {
                        return None;
                    }
                    changes.wait().await;
                    // The state record alone: a lost monitor is found by whoever reads the
                    // container next (the list, the events stream), who records the exit.
                    let running = me
                        .runtime()
                        .store()
                        .state(&id)
                        .is_ok_and(|s| s.status.is_active());
                    if !running {
                        // One more read for what the last moments wrote, then the end.
                        let last: Vec<LogLine> = follower
                            .poll()
                            .iter()
                            .map(convert_containers::log_line)
                            .collect();
                        return Some((
                            futures::stream::iter(last.into_iter().map(Ok)),
                            (follower, true, changes),
                        ));
                    }
                }
            }
        })
        .flatten();
        Ok(history.chain(live).boxed())
    }

    async fn export_container(&self, reference: &str) -> Result<ByteStream> {
        let reference = reference.to_string();
        // An unknown container fails here, before any byte is written.
        let id = self
            .blocking(move |me| me.resolve_container(&reference))
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let writer = ChannelWriter::new(tx.clone());
            if let Err(e) = me.runtime().export(&id, writer) {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn container_changes(&self, reference: &str) -> Result<Vec<FileChange>> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().changes(&id)?)
        })
        .await
    }

    async fn prune_containers(&self) -> Result<PruneReport> {
        self.blocking(move |me| {
            let mut report = PruneReport::default();
            for s in me.runtime().list()? {
                if matches!(
                    s.state.status,
                    crate::engine::container::Status::Exited
                        | crate::engine::container::Status::Created
                ) {
                    me.runtime().remove(&s.config.id, false)?;
                    report.deleted.push(s.config.id.clone());
                }
            }
            Ok(report)
        })
        .await
    }

    async fn container_stats(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        let reference = reference.to_string();
        let id = self
            .blocking(move |me| me.resolve_container(&reference))
            .await?;
        let me = self.clone();
        let host_memory = crate::engine::host::memory();
        let host_cpus = crate::engine::host::cpus();
        let cpus = f64::from(host_cpus);
        let stream = futures::stream::unfold(
            (None::<(std::time::Instant, u64)>, false),
            move |(last, started)| {
                let me = me.clone();
                let id = id.clone();
                async move {
                    if started {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    // The state record alone (not the whole snapshot): the list's columns
                    // read this once a second for every running row on screen.
                    let state = me.runtime().store().state(&id).ok()?;
                    let pid = state.pid.filter(|_| state.status.model().is_alive())?;
                    let read = || {
                        crate::engine::cgroup::stats::read_counters(
                            std::path::Path::new(crate::engine::cgroup::BASE),
                            &id,
                            pid,
                        )
                    };
                    // The first sample measures CPU over a short window of its own.
                    let last = match last {
                        Some(l) => Some(l),
                        None => {
                            let first = (std::time::Instant::now(), read().cpu_ns);
                            tokio::time::sleep(Duration::from_millis(250)).await;
                            Some(first)
                        }
                    };
                    let c = read();
                    let now = std::time::Instant::now();
                    let cpu_percent = match last {
                        Some((t, ns)) => {
                            let wall = now.duration_since(t).as_nanos().max(1) as f64;
                            (c.cpu_ns.saturating_sub(ns) as f64 / wall * 100.0).min(cpus * 100.0)
                        }
                        None => 0.0,
                    };
                    let sample = StatsSample {
                        read: unix_now(),
                        cpu_percent,
                        cpu_limit: c.cpu_limit,
                        host_cpus,
                        memory_usage: c.memory,
                        memory_limit: c.memory_limit.unwrap_or(host_memory).min(host_memory),
                        net_rx: c.net_rx,
                        net_tx: c.net_tx,
                        block_read: c.block_read,
                        block_write: c.block_write,
                        pids: c.pids,
                    };
                    Some((Ok(sample), (Some((now, c.cpu_ns)), true)))
                }
            },
        );
        Ok(stream.boxed())
    }

    async fn container_usage(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        // The first sample is the full one (limits, and CPU over a short window); then
        // every two seconds CPU and memory alone, from the cgroup: a list has many rows.
        let mut first = self.container_stats(reference).await?;
        let Some(Ok(sample)) = first.next().await else {
            return Ok(futures::stream::empty().boxed());
        };
        drop(first);
        let id = self
            .runtime()
            .store()
            .resolve(reference)
            .map_err(crate::backend::BackendError::from)?;
        let base = std::path::Path::new(crate::engine::cgroup::BASE);
        let cpus = f64::from(sample.host_cpus.max(1)) * 100.0;
        // Its cgroup's files stay open: a sample is then a read of each.
        let files = crate::engine::cgroup::stats::UsageFiles::open(base, &id);
        let start = (files, None, sample);
        let rest = futures::stream::unfold(start, move |(files, mark, last)| async move {
            let files = files?;
            // CPU time is measured from where the last sample left it.
            let (at, ns) = match mark {
                Some(mark) => mark,
                None => (std::time::Instant::now(), files.read()?.0),
            };
            usage_tick().await;
            let (cpu_ns, memory) = files.read()?;
            let now = std::time::Instant::now();
            let wall = now.duration_since(at).as_nanos().max(1) as f64;
            let sample = StatsSample {
                read: unix_now(),
                cpu_percent: (cpu_ns.saturating_sub(ns) as f64 / wall * 100.0).min(cpus),
                memory_usage: memory,
                ..last
            };
            Some((Ok(sample), (Some(files), Some((now, cpu_ns)), sample)))
        });
        Ok(futures::stream::once(async move { Ok(sample) })
            .chain(rest)
            .boxed())
    }

    async fn stat_path(&self, container: &str, path: &str) -> Result<Option<bool>> {
        let (reference, path) = (container.to_string(), path.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().with_rootfs(&id, |rootfs| {
                crate::engine::container::files::stat(rootfs, &path)
            })?)
        })
        .await
    }

    async fn copy_from(&self, container: &str, path: &str) -> Result<ByteStream> {
        let (reference, path) = (container.to_string(), path.to_string());
        let tar = self
            .blocking(move |me| {
                let id = me.resolve_container(&reference)?;
                Ok(me.runtime().with_rootfs(&id, |rootfs| {
                    crate::engine::container::files::archive(rootfs, &path)
                })?)
            })
            .await?;
        Ok(futures::stream::once(async move { Ok(Bytes::from(tar)) }).boxed())
    }

    async fn copy_to(&self, container: &str, dir: &str, archive: ByteStream) -> Result<()> {
        let tar = crate::backend::collect_bytes(archive)
            .await
            .map_err(|e| BackendError::invalid(format!("cannot read the archive: {e}")))?;
        let (reference, dir) = (container.to_string(), dir.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            Ok(me.runtime().with_rootfs(&id, |rootfs| {
                crate::engine::container::files::extract(rootfs, &dir, &tar)
            })?)
        })
        .await
    }
}

/// Waits for the next tick of the CPU and MEM columns: every two seconds, on the same ticks
/// for every container's stream, so that a screen of them wakes the process once, and at
/// least a second away.
async fn usage_tick() {
    static EPOCH: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    const EVERY: Duration = Duration::from_secs(2);
    let epoch = *EPOCH.get_or_init(tokio::time::Instant::now);
    let now = tokio::time::Instant::now();
    let ticks = now.duration_since(epoch).as_nanos() / EVERY.as_nanos() + 1;
    let mut next = epoch + EVERY * u32::try_from(ticks).unwrap_or(u32::MAX);
    // A CPU share measured over a moment says little: a second at least.
    if next - now < EVERY / 2 {
        next += EVERY;
    }
    tokio::time::sleep_until(next).await;
}
