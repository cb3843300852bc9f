//! In-memory backend with realistic sample data, for `--demo` and for UI tests.
//!
//! It keeps a small world of containers, images, volumes and networks in memory and changes it
//! the way Docker would: starting, stopping, pausing and removing containers, tagging, pulling
//! and removing images, creating and removing volumes and networks. Every change is published
//! on the events stream. With a fixed clock everything it reports is deterministic.

mod archive;
mod files;
mod inspect;
mod sample;
mod shell;
mod state;
mod synth;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use futures::stream;
use tokio::sync::broadcast;

use super::error::{BackendError, Result};
use super::{Backend, ByteStream, ResultStream, Session, collect_bytes};
use crate::model::parse::valid_name;
use crate::model::signal::Signal;
use crate::model::*;
pub use crate::util::time::Clock;
pub use state::{FakeContainer, FakeImage, FakeNetwork, FakeVolume, State};
use state::{normalize_reference, validate_reference};
use synth::{Workload, hex_id};

/// Seconds between two lines of a demo container's log history.
const LOG_SPACING_SECS: i64 = 17;
/// Most history lines a demo container keeps.
const LOG_HISTORY_MAX: i64 = 5_000;
/// Memory the demo host pretends to have.
const HOST_MEMORY: u64 = 16 * 1024 * 1024 * 1024;

/// An exec session of the demo: its terminal size and, once ended, its exit status.
struct ExecState {
    size: Arc<Mutex<(u16, u16)>>,
    exit: Arc<Mutex<Option<i64>>>,
}

struct Inner {
    state: Mutex<State>,
    sessions: Mutex<HashMap<String, ExecState>>,
    events: broadcast::Sender<Event>,
    clock: Clock,
    follow_interval: Duration,
}

/// The in-memory demo backend. Cloning shares the same world.
#[derive(Clone)]
pub struct FakeBackend {
    inner: Arc<Inner>,
}

impl Default for FakeBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeBackend {
    /// A demo backend on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Clock::System)
    }

    /// A demo backend on the given clock.
    pub fn with_clock(clock: Clock) -> Self {
        let now = clock.now();
        let (events, _) = broadcast::channel(256);
        FakeBackend {
            inner: Arc::new(Inner {
                state: Mutex::new(sample::world(now)),
                sessions: Mutex::new(HashMap::new()),
                events,
                clock,
                follow_interval: Duration::from_millis(700),
            }),
        }
    }

    fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    fn now_ns(&self) -> i128 {
        self.inner.clock.now_ns()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn emit(&self, kind: ObjectKind, action: &str, id: &str, name: Option<&str>) {
        // No receivers is fine: nobody is watching.
        let _ = self.inner.events.send(Event {
            time: self.now(),
            kind,
            action: action.to_string(),
            id: id.to_string(),
            name: name.map(ToString::to_string),
        });
    }

    /// Applies `change` to a container and emits `action` when it returns true.
    fn change_container(
        &self,
        reference: &str,
        action: &str,
        change: impl FnOnce(&mut FakeContainer, i64) -> Result<bool>,
    ) -> Result<()> {
        let now = self.now();
        let (id, name, changed) = {
            let mut st = self.state();
            let i = st.container_index(reference)?;
            let c = &mut st.containers[i];
            let changed = change(c, now)?;
            (c.summary.id.clone(), c.summary.name.clone(), changed)
        };
        if changed {
            self.emit(ObjectKind::Container, action, &id, Some(&name));
        }
        Ok(())
    }

    fn log_history(&self, c: &FakeContainer, options: LogOptions) -> Vec<LogLine> {
        let Some(start) = c.summary.started_at else {
            return Vec::new();
        };
        let end = if c.summary.state.is_alive() {
            self.now()
        } else {
            c.summary.finished_at.unwrap_or(start)
        };
        let count = ((end - start) / LOG_SPACING_SECS + 1).clamp(1, LOG_HISTORY_MAX);
        let mut first = (end - start) / LOG_SPACING_SECS + 1 - count;
        if let Some(tail) = options.tail {
            first = first.max((end - start) / LOG_SPACING_SECS + 1 - tail as i64);
        }
        if let Some(since) = options.since {
            first = first.max((since - start + LOG_SPACING_SECS - 1).div_euclid(LOG_SPACING_SECS));
        }
        let workload = Workload::for_image(&c.summary.image);
        (first.max(0)..=(end - start) / LOG_SPACING_SECS)
            .map(|seq| {
                let ts = i128::from(start + seq * LOG_SPACING_SECS) * 1_000_000_000
                    + i128::from(synth::hash64(&c.summary.id, seq as u64) % 1_000_000_000);
                synth::log_line(workload, &c.summary.id, seq as u64, ts)
            })
            .collect()
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, ExecState>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn container_snapshot(&self, reference: &str) -> Result<FakeContainer> {
        let st = self.state();
        let i = st.container_index(reference)?;
        Ok(st.containers[i].clone())
    }
}

/// The chunks a session task sends, as a stream that ends when the task does.
fn receiver_stream(rx: tokio::sync::mpsc::Receiver<OutputChunk>) -> ResultStream<OutputChunk> {
    stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|c| (Ok(c), rx)) },
    )
    .boxed()
}

/// Whether `ps` shows the container: all of them, or those with a process (or about to).
fn listed(c: &ContainerSummary, all: bool) -> bool {
    all || c.state.is_alive() || c.state == ContainerState::Restarting
}

impl Backend for FakeBackend {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn info(&self) -> Result<SystemInfo> {
        let st = self.state();
        let count = |s: ContainerState| {
            st.containers
                .iter()
                .filter(|c| c.summary.state == s)
                .count()
        };
        Ok(SystemInfo {
            backend: "demo".into(),
            endpoint: "demo".into(),
            server_version: env!("CARGO_PKG_VERSION").into(),
            api_version: None,
            operating_system: "demo data (in memory)".into(),
            kernel_version: "n/a".into(),
            storage_driver: "memory".into(),
            cgroup_version: "n/a".into(),
            root_dir: "(in memory)".into(),
            ncpu: 4,
            mem_total: HOST_MEMORY,
            containers: st.containers.len(),
            containers_running: count(ContainerState::Running),
            containers_paused: count(ContainerState::Paused),
            containers_stopped: count(ContainerState::Exited) + count(ContainerState::Created),
            images: st.images.len(),
        })
    }

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
                    (c.stats_tick, c.summary.state, c.resources.memory)
                };
                let (tick, state, memory) = tick;
                let sample = synth::stats_sample(
                    workload,
                    &id,
                    tick,
                    backend.now(),
                    memory.unwrap_or(HOST_MEMORY),
                    state == ContainerState::Paused,
                );
                Some((Ok(sample), false))
            }
        });
        Ok(samples.boxed())
    }

    async fn exec(&self, container: &str, spec: ExecSpec) -> Result<Session> {
        let c = self.container_snapshot(container)?;
        c.summary.state.check(Operation::Exec, &c.summary.name)?;
        if spec.cmd.is_empty() {
            return Err(BackendError::invalid("no command given to exec"));
        }
        let seq = {
            let mut st = self.state();
            st.seq += 1;
            st.seq
        };
        let id = hex_id(&format!("exec:{}:{seq}", c.summary.id));
        let size = Arc::new(Mutex::new((80, 24)));
        let exit = Arc::new(Mutex::new(None));
        self.sessions().insert(
            id.clone(),
            ExecState {
                size: size.clone(),
                exit: exit.clone(),
            },
        );
        let mut env = c.env.clone();
        env.extend(spec.env.iter().cloned());
        let ctx = shell::Context {
            files: c.all_files(),
            hostname: c.hostname.clone(),
            env,
            top: synth::top(
                Workload::for_image(&c.summary.image),
                c.pid.unwrap_or(1),
                &c.summary.command,
            ),
            size,
        };
        let interactive_shell = spec.stdin
            && spec.cmd.len() == 1
            && matches!(spec.cmd[0].rsplit('/').next(), Some("sh" | "bash" | "ash"));
        if interactive_shell {
            let (client, server) = tokio::io::duplex(8192);
            let (tx, rx) = tokio::sync::mpsc::channel(256);
            let tty = spec.tty;
            tokio::spawn(async move {
                let code = shell::serve(ctx, server, tx, tty, false).await;
                *exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(code.unwrap_or(0));
            });
            return Ok(Session {
                id: SessionId::Exec(id),
                output: receiver_stream(rx),
                input: Some(Box::pin(client)),
            });
        }
        let o = shell::run(&ctx, &spec.cmd, false);
        *exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(o.code);
        let chunks: Vec<Result<OutputChunk>> =
            [(LogStream::Stdout, o.stdout), (LogStream::Stderr, o.stderr)]
                .into_iter()
                .filter(|(_, text)| !text.is_empty())
                .map(|(stream, text)| {
                    let text = if spec.tty {
                        text.replace('\n', "\r\n")
                    } else {
                        text
                    };
                    Ok(OutputChunk {
                        stream: if spec.tty { LogStream::Stdout } else { stream },
                        data: bytes::Bytes::from(text),
                    })
                })
                .collect();
        Ok(Session {
            id: SessionId::Exec(id),
            output: stream::iter(chunks).boxed(),
            input: spec
                .stdin
                .then(|| Box::pin(tokio::io::sink()) as super::SessionInput),
        })
    }

    async fn attach(&self, container: &str, stdin: bool) -> Result<Session> {
        let c = self.container_snapshot(container)?;
        c.summary.state.check(Operation::Attach, &c.summary.name)?;
        let follow = LogOptions {
            follow: true,
            tail: Some(0),
            since: None,
        };
        let tty = c.tty;
        let lines = self.container_logs(&c.summary.id, follow).await?;
        let output = lines.map(move |l| {
            l.map(|l| OutputChunk {
                stream: if tty { LogStream::Stdout } else { l.stream },
                data: bytes::Bytes::from(format!("{}{}", l.text, if tty { "\r\n" } else { "\n" })),
            })
        });
        let (input, output): (Option<super::SessionInput>, ResultStream<OutputChunk>) = if stdin {
            // The process reads nothing; ctrl-p ctrl-q detaches, as on Docker.
            let (client, mut server) = tokio::io::duplex(4096);
            let detached = async move {
                let mut last = 0u8;
                let mut buf = [0u8; 256];
                loop {
                    match tokio::io::AsyncReadExt::read(&mut server, &mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            for &b in &buf[..n] {
                                if last == 0x10 && b == 0x11 {
                                    return;
                                }
                                last = b;
                            }
                        }
                    }
                }
            };
            (
                Some(Box::pin(client)),
                output.take_until(Box::pin(detached)).boxed(),
            )
        } else {
            (None, output.boxed())
        };
        Ok(Session {
            id: SessionId::Attach(c.summary.id),
            output,
            input,
        })
    }

    async fn resize_session(&self, id: &SessionId, cols: u16, rows: u16) -> Result<()> {
        match id {
            SessionId::Exec(exec) => {
                let sessions = self.sessions();
                let s = sessions.get(exec).ok_or_else(|| {
                    BackendError::invalid(format!("no such exec session: {exec}"))
                })?;
                *s.size.lock().unwrap_or_else(|p| p.into_inner()) = (cols, rows);
                Ok(())
            }
            SessionId::Attach(c) => self.container_snapshot(c).map(drop),
        }
    }

    async fn session_exit_code(&self, id: &SessionId) -> Result<Option<i64>> {
        match id {
            SessionId::Exec(exec) => {
                let sessions = self.sessions();
                let s = sessions.get(exec).ok_or_else(|| {
                    BackendError::invalid(format!("no such exec session: {exec}"))
                })?;
                Ok(*s.exit.lock().unwrap_or_else(|p| p.into_inner()))
            }
            SessionId::Attach(c) => {
                let c = self.container_snapshot(c)?;
                Ok(if c.summary.state.is_alive() {
                    None
                } else {
                    c.summary.exit_code
                })
            }
        }
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

    async fn list_volumes(&self) -> Result<Vec<VolumeSummary>> {
        let st = self.state();
        Ok(st.volumes.iter().map(|v| st.volume_summary(v)).collect())
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeSummary> {
        let st = self.state();
        Ok(st.volume_summary(&st.volumes[st.volume_index(name)?]))
    }

    async fn create_volume(&self, spec: VolumeSpec) -> Result<VolumeSummary> {
        let now = self.now();
        let (summary, created) = {
            let mut st = self.state();
            st.seq += 1;
            let name = spec
                .name
                .unwrap_or_else(|| hex_id(&format!("volume:{}:{now}", st.seq)));
            if !valid_name(&name) {
                return Err(BackendError::invalid(format!(
                    "invalid volume name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
            let driver = spec.driver.unwrap_or_else(|| "local".into());
            if driver != "local" {
                return Err(BackendError::invalid(format!(
                    "unknown volume driver {driver:?}: the demo offers only \"local\""
                )));
            }
            let created = match st.volume_index(&name) {
                Ok(_) => false,
                Err(_) => {
                    st.volumes.push(FakeVolume {
                        name: name.clone(),
                        driver,
                        created: now,
                        labels: spec.labels,
                        size: 0,
                    });
                    true
                }
            };
            let i = st.volume_index(&name)?;
            (st.volume_summary(&st.volumes[i]), created)
        };
        if created {
            self.emit(ObjectKind::Volume, "create", &summary.name, None);
        }
        Ok(summary)
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        {
            let mut st = self.state();
            let i = st.volume_index(name)?;
            let used_by = st.volume_summary(&st.volumes[i]).used_by;
            if !used_by.is_empty() && !force {
                return Err(BackendError::conflict(format!(
                    "volume {name} is in use by container {}; remove the container first",
                    used_by.join(", ")
                )));
            }
            st.volumes.remove(i);
        }
        self.emit(ObjectKind::Volume, "destroy", name, None);
        Ok(())
    }

    async fn prune_volumes(&self) -> Result<PruneReport> {
        let removed: Vec<FakeVolume> = {
            let mut st = self.state();
            let unused: Vec<String> = st
                .volumes
                .iter()
                .filter(|v| st.volume_summary(v).used_by.is_empty())
                .map(|v| v.name.clone())
                .collect();
            let (gone, kept) = st.volumes.drain(..).partition(|v| unused.contains(&v.name));
            st.volumes = kept;
            gone
        };
        for v in &removed {
            self.emit(ObjectKind::Volume, "destroy", &v.name, None);
        }
        Ok(PruneReport {
            space_reclaimed: removed.iter().map(|v| v.size).sum(),
            deleted: removed.into_iter().map(|v| v.name).collect(),
        })
    }

    async fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        let st = self.state();
        Ok(st.networks.iter().map(|n| st.network_summary(n)).collect())
    }

    async fn inspect_network(&self, reference: &str) -> Result<NetworkSummary> {
        let st = self.state();
        Ok(st.network_summary(&st.networks[st.network_index(reference)?]))
    }

    async fn create_network(&self, spec: NetworkSpec) -> Result<String> {
        if !valid_name(&spec.name) {
            return Err(BackendError::invalid(format!(
                "invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                spec.name
            )));
        }
        let driver = spec.driver.unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(BackendError::invalid(format!(
                "unknown network driver {driver:?}: user-defined networks use \"bridge\""
            )));
        }
        let now = self.now();
        let id = {
            let mut st = self.state();
            if st.networks.iter().any(|n| n.name == spec.name) {
                return Err(BackendError::conflict(format!(
                    "network with name {} already exists",
                    spec.name
                )));
            }
            let subnet = match spec.subnet {
                Some(s) => {
                    let ok = s.split_once('/').is_some_and(|(ip, len)| {
                        ip.parse::<std::net::Ipv4Addr>().is_ok()
                            && len.parse::<u8>().is_ok_and(|l| l <= 30)
                    });
                    if !ok {
                        return Err(BackendError::invalid(format!(
                            "invalid subnet {s:?}: write an IPv4 network in CIDR notation such as 10.10.0.0/24"
                        )));
                    }
                    s
                }
                None => {
                    let used = st.networks.len() as u8;
                    format!("172.{}.0.0/16", 18 + used)
                }
            };
            let gateway = spec.gateway.unwrap_or_else(|| {
                let base = subnet.split('/').next().unwrap_or("");
                let mut parts: Vec<&str> = base.split('.').collect();
                parts.pop();
                format!("{}.1", parts.join("."))
            });
            let id = hex_id(&format!("network:{}:{}", spec.name, st.seq));
            st.seq += 1;
            st.networks.push(FakeNetwork {
                id: id.clone(),
                name: spec.name.clone(),
                driver,
                subnet: Some(subnet),
                gateway: Some(gateway),
                internal: spec.internal,
                created: now,
                labels: spec.labels,
            });
            id
        };
        self.emit(ObjectKind::Network, "create", &id, Some(&spec.name));
        Ok(id)
    }

    async fn remove_network(&self, reference: &str) -> Result<()> {
        let (id, name) = {
            let mut st = self.state();
            let i = st.network_index(reference)?;
            let summary = st.network_summary(&st.networks[i]);
            if summary.is_builtin() {
                return Err(BackendError::conflict(format!(
                    "{} is a pre-defined network and cannot be removed",
                    summary.name
                )));
            }
            if !summary.containers.is_empty() {
                return Err(BackendError::conflict(format!(
                    "network {} has active endpoints ({}); stop or disconnect those containers first",
                    summary.name,
                    summary.containers.join(", ")
                )));
            }
            let n = st.networks.remove(i);
            (n.id, n.name)
        };
        self.emit(ObjectKind::Network, "destroy", &id, Some(&name));
        Ok(())
    }

    async fn prune_networks(&self) -> Result<PruneReport> {
        let removed: Vec<FakeNetwork> = {
            let mut st = self.state();
            let unused: Vec<String> = st
                .networks
                .iter()
                .map(|n| st.network_summary(n))
                .filter(|n| !n.is_builtin() && n.containers.is_empty())
                .map(|n| n.id)
                .collect();
            let (gone, kept) = st.networks.drain(..).partition(|n| unused.contains(&n.id));
            st.networks = kept;
            gone
        };
        for n in &removed {
            self.emit(ObjectKind::Network, "destroy", &n.id, Some(&n.name));
        }
        Ok(PruneReport {
            space_reclaimed: 0,
            deleted: removed.into_iter().map(|n| n.name).collect(),
        })
    }

    async fn connect_network(&self, network: &str, container: &str) -> Result<()> {
        let (net_id, net_name) = {
            let st = self.state();
            let n = &st.networks[st.network_index(network)?];
            (n.id.clone(), n.name.clone())
        };
        self.change_container(container, "connect", |c, _| {
            if c.summary.networks.contains(&net_name) {
                return Err(BackendError::conflict(format!(
                    "container {} is already attached to network {net_name}",
                    c.summary.name
                )));
            }
            c.summary.networks.push(net_name.clone());
            Ok(true)
        })?;
        self.emit(ObjectKind::Network, "connect", &net_id, Some(&net_name));
        Ok(())
    }

    async fn disconnect_network(&self, network: &str, container: &str, _force: bool) -> Result<()> {
        let (net_id, net_name) = {
            let st = self.state();
            let n = &st.networks[st.network_index(network)?];
            (n.id.clone(), n.name.clone())
        };
        self.change_container(container, "disconnect", |c, _| {
            if !c.summary.networks.contains(&net_name) {
                return Err(BackendError::conflict(format!(
                    "container {} is not attached to network {net_name}",
                    c.summary.name
                )));
            }
            c.summary.networks.retain(|n| *n != net_name);
            Ok(true)
        })?;
        self.emit(ObjectKind::Network, "disconnect", &net_id, Some(&net_name));
        Ok(())
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        let images = self.list_images(true).await?;
        let containers = self.list_containers_sized(true).await?;
        let volumes = self.list_volumes().await?;
        Ok(usage_of(&images, &containers, &volumes))
    }

    async fn events(&self) -> Result<ResultStream<Event>> {
        let rx = self.inner.events.subscribe();
        Ok(stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((Ok(event), rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed())
    }
}

#[cfg(test)]
mod tests;
