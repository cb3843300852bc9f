//! Demo containers: state changes the way Docker makes them, synthetic logs, stats and
//! processes, files for cp.

use super::*;
use crate::backend::prelude::*;

impl ContainerBackend for FakeBackend {
    async fn list_containers(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        let st = self.state();
        Ok(st
            .containers
            .iter()
            .filter(|c| listed(&c.summary, all))
            // Sizes are measured on request only, as Docker does.
            .map(|c| ContainerSummary {
                size_rw: None,
                ..c.summary.clone()
            })
            .collect())
    }

    async fn list_containers_sized(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        let st = self.state();
        Ok(st
            .containers
            .iter()
            .filter(|c| listed(&c.summary, all))
            .map(|c| {
                let image = st
                    .image_index(&c.summary.image)
                    .map_or(0, |i| st.images[i].summary.size);
                let own = c.summary.size_rw.unwrap_or(0);
                ContainerSummary {
                    size_rw: Some(own),
                    size_root_fs: Some(image + own),
                    ..c.summary.clone()
                }
            })
            .collect())
    }

    async fn inspect_container(&self, reference: &str) -> Result<ContainerDetails> {
        let st = self.state();
        let i = st.container_index(reference)?;
        let c = &st.containers[i];
        let endpoints = st.endpoints(c);
        let image_id = st.image_id_of(c);
        let entrypoint = st
            .image_index(&c.summary.image)
            .map(|i| st.images[i].entrypoint.clone())
            .unwrap_or_default();
        Ok(ContainerDetails {
            summary: c.summary.clone(),
            env: c.env.clone(),
            entrypoint,
            cmd: c.cmd.clone(),
            working_dir: c.working_dir.clone(),
            user: c.user.clone(),
            hostname: c.hostname.clone(),
            restart_policy: c.restart_policy,
            restart_count: c.restart_count,
            mounts: c.mounts.clone(),
            resources: c.resources,
            pid: c.pid,
            oom_killed: c.oom_killed,
            tty: c.tty,
            inspect: inspect::container(c, &image_id, &endpoints),
            endpoints,
        })
    }

    async fn create_container(&self, spec: ContainerSpec) -> Result<String> {
        let now = self.now();
        let (id, name) = {
            let mut st = self.state();
            let img = st.image_index(&spec.image).map_err(|_| {
                BackendError::not_found(
                    ObjectKind::Image,
                    format!("{} (pull it first)", spec.image),
                )
            })?;
            st.seq += 1;
            let name = match spec.name {
                Some(n) => {
                    if !valid_name(&n) {
                        return Err(BackendError::invalid(format!(
                            "invalid container name {n:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                        )));
                    }
                    if st.containers.iter().any(|c| c.summary.name == n) {
                        return Err(BackendError::conflict(format!(
                            "the container name {n:?} is already in use; remove that container or choose another name"
                        )));
                    }
                    n
                }
                None => format!("demo_{}", st.seq),
            };
            let network = spec.network.unwrap_or_else(|| "bridge".into());
            st.network_index(&network)?;
            let id = hex_id(&format!("container:{name}:{}", st.seq));
            let image = &st.images[img];
            let cmd = if spec.cmd.is_empty() {
                image.cmd.clone()
            } else {
                spec.cmd
            };
            let mut env = image.env.clone();
            env.extend(spec.env);
            for m in &spec.mounts {
                if m.kind == MountKind::Volume && st.volume_index(&m.source).is_err() {
                    st.volumes.push(FakeVolume {
                        name: m.source.clone(),
                        driver: "local".into(),
                        created: now,
                        labels: BTreeMap::new(),
                        size: 0,
                    });
                }
            }
            st.containers.push(FakeContainer {
                summary: ContainerSummary {
                    id: id.clone(),
                    name: name.clone(),
                    image: spec.image,
                    command: cmd.join(" "),
                    created: now,
                    state: ContainerState::Created,
                    started_at: None,
                    finished_at: None,
                    exit_code: None,
                    health: None,
                    ports: spec.ports,
                    networks: vec![network],
                    labels: spec.labels,
                    size_rw: Some(0),
                    size_root_fs: None,
                },
                cmd,
                env,
                hostname: spec.hostname.unwrap_or_else(|| id[..12].to_string()),
                working_dir: spec.working_dir.unwrap_or_default(),
                user: spec.user.unwrap_or_default(),
                restart_policy: spec.restart_policy,
                restart_count: 0,
                mounts: spec.mounts,
                resources: spec.resources,
                pid: None,
                tty: spec.tty,
                oom_killed: false,
                stats_tick: 0,
                files: Default::default(),
            });
            (id, name)
        };
        self.emit(ObjectKind::Container, "create", &id, Some(&name));
        Ok(id)
    }

    async fn start_container(&self, reference: &str) -> Result<()> {
        self.change_container(reference, "start", |c, now| {
            if c.summary.state.check(Operation::Start, &c.summary.name)? == Allowed::AlreadyDone {
                return Ok(false);
            }
            c.summary.state = ContainerState::Running;
            c.summary.started_at = Some(now);
            c.pid = Some(3_000 + (synth::hash64(&c.summary.id, now as u64) % 5_000) as u32);
            Ok(true)
        })
    }

    async fn stop_container(&self, reference: &str, _timeout: Option<Duration>) -> Result<()> {
        self.change_container(reference, "die", |c, now| {
            if c.summary.state.check(Operation::Stop, &c.summary.name)? == Allowed::AlreadyDone {
                return Ok(false);
            }
            c.summary.state = ContainerState::Exited;
            c.summary.exit_code = Some(0);
            c.summary.finished_at = Some(now);
            c.pid = None;
            Ok(true)
        })
    }

    async fn kill_container(&self, reference: &str, signal: Option<&str>) -> Result<()> {
        let signo = i64::from(
            signal
                .map(Signal::parse)
                .transpose()?
                .unwrap_or(Signal::KILL)
                .number(),
        );
        self.change_container(reference, "kill", |c, now| {
            c.summary.state.check(Operation::Kill, &c.summary.name)?;
            // Signals a demo process would ignore or handle without exiting.
            if matches!(signo, 10 | 12 | 18 | 28) {
                return Ok(true);
            }
            c.summary.state = ContainerState::Exited;
            c.summary.exit_code = Some(128 + signo);
            c.summary.finished_at = Some(now);
            c.pid = None;
            Ok(true)
        })
    }

    async fn restart_container(&self, reference: &str, _timeout: Option<Duration>) -> Result<()> {
        self.change_container(reference, "restart", |c, now| {
            c.summary.state.check(Operation::Restart, &c.summary.name)?;
            if c.summary.state.is_alive() {
                c.summary.finished_at = Some(now);
                c.summary.exit_code = Some(0);
            }
            c.summary.state = ContainerState::Running;
            c.summary.started_at = Some(now);
            c.pid = Some(3_000 + (synth::hash64(&c.summary.id, now as u64) % 5_000) as u32);
            Ok(true)
        })
    }

    async fn pause_container(&self, reference: &str) -> Result<()> {
        self.change_container(reference, "pause", |c, _| {
            c.summary.state.check(Operation::Pause, &c.summary.name)?;
            c.summary.state = ContainerState::Paused;
            Ok(true)
        })
    }

    async fn unpause_container(&self, reference: &str) -> Result<()> {
        self.change_container(reference, "unpause", |c, _| {
            c.summary.state.check(Operation::Unpause, &c.summary.name)?;
            c.summary.state = ContainerState::Running;
            Ok(true)
        })
    }

    async fn remove_container(&self, reference: &str, options: RemoveOptions) -> Result<()> {
        let (id, name) = {
            let mut st = self.state();
            let i = st.container_index(reference)?;
            let c = &st.containers[i];
            c.summary.state.check(
                Operation::Remove {
                    force: options.force,
                },
                &c.summary.name,
            )?;
            let removed = st.containers.remove(i);
            if options.volumes {
                // Anonymous volumes are named by a 64-hex id.
                let anonymous: Vec<String> = removed
                    .mounts
                    .iter()
                    .filter(|m| m.kind == MountKind::Volume && m.source.len() == 64)
                    .map(|m| m.source.clone())
                    .collect();
                st.volumes.retain(|v| !anonymous.contains(&v.name));
            }
            (removed.summary.id, removed.summary.name)
        };
        self.emit(ObjectKind::Container, "destroy", &id, Some(&name));
        Ok(())
    }

    async fn rename_container(&self, reference: &str, new_name: &str) -> Result<()> {
        let new_name = new_name.trim_start_matches('/');
        if !valid_name(new_name) {
            return Err(BackendError::invalid(format!(
                "invalid container name {new_name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let taken = self
            .state()
            .containers
            .iter()
            .any(|c| c.summary.name == new_name);
        if taken {
            return Err(BackendError::conflict(format!(
                "the container name {new_name:?} is already in use; choose another name"
            )));
        }
        self.change_container(reference, "rename", |c, _| {
            c.summary.name = new_name.to_string();
            Ok(true)
        })
    }

    async fn wait_container(&self, reference: &str) -> Result<i64> {
        let id = self.container_snapshot(reference)?.summary.id;
        loop {
            let c = match self.container_snapshot(&id) {
                Ok(c) => c,
                // Removed while waiting: Docker reports the last code; the demo has none.
                Err(_) => return Ok(0),
            };
            if !c.summary.state.is_alive() && c.summary.state != ContainerState::Restarting {
                return Ok(c.summary.exit_code.unwrap_or(0));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn top_container(&self, reference: &str) -> Result<TopOutput> {
        let c = self.container_snapshot(reference)?;
        c.summary.state.check(Operation::Top, &c.summary.name)?;
        let pid = c.pid.ok_or_else(|| {
            BackendError::conflict(format!("container {} is not running", c.summary.name))
        })?;
        Ok(synth::top(
            Workload::for_image(&c.summary.image),
            pid,
            &c.summary.command,
        ))
    }

    async fn container_logs(
        &self,
        reference: &str,
        options: LogOptions,
    ) -> Result<ResultStream<LogLine>> {
        let c = self.container_snapshot(reference)?;
        let history = self.log_history(&c, options);
        let history = stream::iter(history.into_iter().map(Ok));
        if !options.follow || !c.summary.state.is_alive() {
            return Ok(history.boxed());
        }
        let start = c.summary.started_at.unwrap_or(0);
        let next_seq = ((self.now() - start) / LOG_SPACING_SECS + 1) as u64;
        let backend = self.clone();
        let id = c.summary.id.clone();
        let workload = Workload::for_image(&c.summary.image);
        let follow = stream::unfold(next_seq, move |seq| {
            let backend = backend.clone();
            let id = id.clone();
            async move {
                loop {
                    tokio::time::sleep(backend.inner.follow_interval).await;
                    let c = backend.container_snapshot(&id).ok()?;
                    match c.summary.state {
                        ContainerState::Running => {
                            let line = synth::log_line(workload, &id, seq, backend.now_ns());
                            return Some((Ok(line), seq + 1));
                        }
                        ContainerState::Paused => continue,
                        _ => return None,
                    }
                }
            }
        });
        Ok(history.chain(follow).boxed())
    }

    async fn container_stats(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        let c = self.container_snapshot(reference)?;
        let backend = self.clone();
        let id = c.summary.id.clone();
        let workload = Workload::for_image(&c.summary.image);
        let samples = stream::unfold(true, move |first| {
            let backend = backend.clone();
            let id = id.clone();
            async move {
                if !first {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let tick = {
                    let mut st = backend.state();
                    let i = st.container_index(&id).ok()?;
                    let c = &mut st.containers[i];
                    if !c.summary.state.is_alive() {
                        return None;
                    }
                    c.stats_tick += 1;
                    (c.stats_tick, c.summary.state, c.resources)
                };
                let (tick, state, resources) = tick;
                let sample = synth::stats_sample(
                    workload,
                    &id,
                    tick,
                    backend.now(),
                    resources.memory.unwrap_or(HOST_MEMORY),
                    state == ContainerState::Paused,
                );
                let sample = StatsSample {
                    cpu_limit: resources.nano_cpus.map(|n| n as f64 / 1e9),
                    host_cpus: HOST_CPUS,
                    ..sample
                };
                Some((Ok(sample), false))
            }
        });
        Ok(samples.boxed())
    }

    // The same samples: they cost no more here.
    async fn container_usage(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        self.container_stats(reference).await
    }

    async fn stat_path(&self, container: &str, path: &str) -> Result<Option<bool>> {
        let c = self.container_snapshot(container)?;
        Ok(files::stat(&c.all_files(), path))
    }

    async fn copy_from(&self, container: &str, path: &str) -> Result<ByteStream> {
        let c = self.container_snapshot(container)?;
        let bytes = files::archive(&c.all_files(), path, &c.summary.name)?;
        Ok(stream::once(async move { Ok(bytes::Bytes::from(bytes)) }).boxed())
    }

    async fn copy_to(&self, container: &str, dir: &str, archive: ByteStream) -> Result<()> {
        let bytes = collect_bytes(archive)
            .await
            .map_err(|e| BackendError::invalid(format!("cannot read the archive: {e}")))?;
        let mut st = self.state();
        let i = st.container_index(container)?;
        let c = &mut st.containers[i];
        let mut all = c.all_files();
        files::extract(&mut all, dir, &bytes, &c.summary.name)?;
        c.files = all;
        Ok(())
    }

    async fn export_container(&self, reference: &str) -> Result<ByteStream> {
        let c = self.container_snapshot(reference)?;
        let bytes = files::archive(&c.all_files(), "/", &c.summary.name)?;
        Ok(stream::once(async move { Ok(bytes::Bytes::from(bytes)) }).boxed())
    }

    async fn container_changes(&self, reference: &str) -> Result<Vec<FileChange>> {
        let c = self.container_snapshot(reference)?;
        Ok(files::changes(&files::initial(&c.hostname), &c.all_files()))
    }

    async fn prune_containers(&self) -> Result<PruneReport> {
        let removed: Vec<(String, String)> = {
            let mut st = self.state();
            let (gone, kept): (Vec<_>, Vec<_>) = st
                .containers
                .drain(..)
                .partition(|c| c.summary.state.is_prunable());
            st.containers = kept;
            gone.into_iter()
                .map(|c| (c.summary.id, c.summary.name))
                .collect()
        };
        for (id, name) in &removed {
            self.emit(ObjectKind::Container, "destroy", id, Some(name));
        }
        Ok(PruneReport {
            space_reclaimed: removed.len() as u64 * 4_096,
            deleted: removed.into_iter().map(|(id, _)| id).collect(),
        })
    }
}
