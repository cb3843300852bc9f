//! What the front ends do to containers: create (records only), start (spawn the monitor and
//! wait for its word), stop, kill, wait, remove, rename, pause, unpause, and read what runs
//! inside. A container whose monitor died is reported as exited with an unknown status.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::monitor::{self, start_time};
use super::record::{
    ContainerConfig, ContainerState, Limits, MountConfig, MountKind, Restart, Status,
};
use super::spec::capabilities;
use super::{ContainerError, ContainerStore, RUNTIME_DIR, clear_runtime_state};
use crate::engine::events::{Entry, Journal, Kind};
use crate::engine::image::ImageStore;
use crate::engine::layer::changes::{self, ImageView};
use crate::engine::layer::{Driver, Snapshotter};
use crate::engine::store::{Digest, Root};
use crate::model::{Allowed, Operation, Signal};
use crate::model::{ChangeKind, FileChange};
use crate::util::time::unix_now;

/// What to create a container from (checked by the caller for syntax).
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// The image reference as given.
    pub image: String,
    /// Name; generated when `None`.
    pub name: Option<String>,
    /// Command (the image's when empty).
    pub cmd: Vec<String>,
    /// Entrypoint (the image's when `None`).
    pub entrypoint: Option<Vec<String>>,
    /// Extra environment (`KEY=value`), over the image's.
    pub env: Vec<String>,
    /// Working directory (the image's when `None`).
    pub working_dir: Option<String>,
    /// User (the image's when `None`).
    pub user: Option<String>,
    /// Hostname (the short id when `None`).
    pub hostname: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Close stdin when the client attached at start closes its input.
    pub stdin_once: bool,
    /// Remove at exit.
    pub auto_remove: bool,
    /// Removed once its run ends (by its monitor or by the caller that waits for it).
    pub ephemeral: bool,
    /// Restart policy.
    pub restart: Restart,
    /// Limits.
    pub limits: Limits,
    /// Mounts.
    pub mounts: Vec<MountConfig>,
    /// `none` or `host`.
    pub network: String,
    /// Privileged.
    pub privileged: bool,
    /// Capabilities added.
    pub cap_add: Vec<String>,
    /// Capabilities dropped.
    pub cap_drop: Vec<String>,
    /// Read-only root filesystem.
    pub read_only: bool,
}

/// What `system boot` did.
#[derive(Debug, Default)]
pub struct BootReport {
    /// Names of the containers started.
    pub started: Vec<String>,
    /// Names of those that failed to start, and why.
    pub failed: Vec<(String, ContainerError)>,
}

/// A container's snapshot of facts for listing and inspecting.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Its configuration.
    pub config: ContainerConfig,
    /// Its state as observed (a dead monitor's container shows as exited).
    pub state: ContainerState,
}

/// The container side of the engine on one data root.
#[derive(Debug, Clone)]
pub struct Runtime {
    root: Root,
    containers: ContainerStore,
    images: ImageStore,
    journal: Journal,
    exe: PathBuf,
    driver: Driver,
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "rapid", "sharp", "tender", "vivid", "witty", "young", "zealous",
];
const NOUNS: &[&str] = &[
    "albatross",
    "badger",
    "crane",
    "dolphin",
    "eagle",
    "falcon",
    "gecko",
    "heron",
    "ibis",
    "jaguar",
    "koala",
    "lynx",
    "marten",
    "newt",
    "otter",
    "puffin",
    "quail",
    "raven",
    "stork",
    "tapir",
];

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_err()
    {
        b = (std::process::id() as u64 ^ unix_now() as u64).to_le_bytes();
    }
    u64::from_le_bytes(b)
}

fn random_id() -> String {
    (0..4).map(|_| format!("{:016x}", random_u64())).collect()
}

/// Pauses between checks of something that usually happens soon: 2 ms, doubling to 100 ms.
#[derive(Debug, Clone)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(2))
    }
}

impl Backoff {
    /// The next pause.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_millis(100));
        d
    }
}

/// Waits for `done`, checking soon and then less often; false after `limit`.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    let mut backoff = Backoff::default();
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(backoff.next_delay());
    }
}

/// Whether a process lives.
fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

impl Runtime {
    /// The containers of `root`, with monitors run from `exe` and root filesystems made by
    /// `driver`.
    pub fn new(root: &Root, exe: PathBuf, driver: Driver) -> Runtime {
        Runtime {
            containers: ContainerStore::new(root),
            images: ImageStore::new(root),
            journal: Journal::new(root.path()),
            root: root.clone(),
            exe,
            driver,
        }
    }

    /// The record store.
    pub fn store(&self) -> &ContainerStore {
        &self.containers
    }

    fn snapshots(&self) -> Snapshotter {
        Snapshotter::new(self.images.layers(), self.driver)
    }

    fn emit(&self, action: &str, id: &str, name: &str) {
        self.journal.append(&Entry {
            time: unix_now(),
            kind: Kind::Container,
            action: action.into(),
            id: id.into(),
            name: Some(name.into()),
        });
    }

    /// Checks `operation` against the container's state and applies `change` when it is to
    /// proceed, in one critical section under the state lock.
    fn transition(
        &self,
        id: &str,
        name: &str,
        operation: Operation,
        change: impl FnOnce(&mut ContainerState),
    ) -> Result<Allowed, ContainerError> {
        self.containers.update_state_with(id, |s| {
            let go = observed(s).model().check(operation, name)?;
            if go == Allowed::Proceed {
                change(s);
            }
            Ok(go)
        })
    }

    /// Whether the monitor recorded in `state` still runs.
    fn monitor_alive(state: &ContainerState) -> bool {
        match (state.monitor_pid, state.monitor_start) {
            (Some(pid), Some(start)) => start_time(pid) == Some(start),
            (Some(pid), None) => alive(pid),
            _ => false,
        }
    }

    /// A container's configuration and observed state.
    pub fn get(&self, id: &str) -> Result<Snapshot, ContainerError> {
        let config = self.containers.config(id)?;
        let mut state = self.containers.state(id)?;
        observe(&mut state);
        Ok(Snapshot { config, state })
    }

    /// Every container.
    pub fn list(&self) -> Result<Vec<Snapshot>, ContainerError> {
        let mut out = Vec::new();
        for id in self.containers.ids()? {
            if let Ok(s) = self.get(&id) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Creates a container's records from an image in the store. Returns the id.
    pub fn create(&self, request: CreateRequest) -> Result<String, ContainerError> {
        let image_id = self.images.resolve(&request.image)?;
        let image = self.images.image(&image_id)?;
        let image_config = image.config.config().clone().unwrap_or_default();
        let entrypoint = request
            .entrypoint
            .clone()
            .unwrap_or_else(|| image_config.entrypoint().clone().unwrap_or_default());
        let cmd = if request.cmd.is_empty() {
            if request.entrypoint.is_some() {
                Vec::new()
            } else {
                image_config.cmd().clone().unwrap_or_default()
            }
        } else {
            request.cmd.clone()
        };
        let args: Vec<String> = entrypoint.iter().chain(&cmd).cloned().collect();
        if args.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "no command specified: the image {} has none; give one after the image",
                request.image
            )));
        }
        let mut env: Vec<String> = image_config.env().clone().unwrap_or_default();
        for e in &request.env {
            let key = e.split('=').next().unwrap_or(e);
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, format!("PATH={}", super::spec::DEFAULT_PATH));
        }
        let id = random_id();
        let mut config = ContainerConfig {
            format: super::record::CONFIG_FORMAT,
            name: String::new(),
            image: request.image.clone(),
            image_id: image_id.to_string(),
            created: unix_now(),
            args,
            entrypoint,
            cmd,
            env,
            working_dir: request
                .working_dir
                .clone()
                .unwrap_or_else(|| image_config.working_dir().clone().unwrap_or_default()),
            user: request
                .user
                .clone()
                .unwrap_or_else(|| image_config.user().clone().unwrap_or_default()),
            hostname: request
                .hostname
                .clone()
                .unwrap_or_else(|| id[..12].to_string()),
            labels: request.labels.clone(),
            tty: request.tty,
            open_stdin: request.open_stdin,
            stdin_once: request.stdin_once,
            auto_remove: request.auto_remove,
            ephemeral: request.ephemeral,
            restart: request.restart,
            limits: request.limits,
            mounts: request.mounts.clone(),
            network: if request.network.is_empty() {
                "none".into()
            } else {
                request.network.clone()
            },
            stop_signal: match image_config.stop_signal() {
                Some(given) => Signal::parse(given)
                    .map_err(|e| {
                        ContainerError::Invalid(format!(
                            "image {}: its STOPSIGNAL is not valid ({e}); rebuild it with another",
                            request.image
                        ))
                    })?
                    .to_string(),
                None => Signal::TERM.to_string(),
            },
            stop_timeout: 10,
            privileged: request.privileged,
            cap_add: request.cap_add.clone(),
            cap_drop: request.cap_drop.clone(),
            read_only: request.read_only,
            id: id.clone(),
        };
        capabilities(&config)?;
        for m in &config.mounts {
            if m.kind == MountKind::Bind && !Path::new(&m.source).exists() {
                std::fs::create_dir_all(&m.source).map_err(|e| {
                    ContainerError::Invalid(format!("cannot create bind source {}: {e}", m.source))
                })?;
            }
        }
        let lock = self.containers.lock()?;
        let name = match &request.name {
            Some(n) => {
                if let Some(other) = self.containers.by_name(n)? {
                    return Err(ContainerError::Conflict(format!(
                        "the container name \"/{n}\" is already in use by container {}; remove (or rename) that container to reuse the name",
                        &other[..12]
                    )));
                }
                n.clone()
            }
            None => loop {
                let r = random_u64();
                let n = format!(
                    "{}_{}",
                    ADJECTIVES[(r % ADJECTIVES.len() as u64) as usize],
                    NOUNS[((r >> 16) % NOUNS.len() as u64) as usize]
                );
                if self.containers.by_name(&n)?.is_none() {
                    break n;
                }
            },
        };
        config.name = name.clone();
        self.containers
            .create(&lock, &config, &ContainerState::default())?;
        drop(lock);
        self.emit("create", &id, &name);
        Ok(id)
    }

    /// Starts a container: spawns its monitor and waits for the start to succeed or fail.
    /// Starting a running container does nothing.
    pub fn start(&self, id: &str) -> Result<(), ContainerError> {
        self.start_with(id, false)
    }

    /// [`Runtime::start`]; with `attach_first`, the monitor waits (briefly) for a client on
    /// the attach socket before the process starts, so that client sees all of its output.
    pub fn start_with(&self, id: &str, attach_first: bool) -> Result<(), ContainerError> {
        let snap = self.get(id)?;
        if snap
            .state
            .status
            .model()
            .check(Operation::Start, &snap.config.name)?
            == Allowed::AlreadyDone
        {
            return Ok(());
        }
        // A monitor that is still cleaning up after the last run finishes first.
        if Self::monitor_alive(&snap.state) {
            wait_until(Duration::from_secs(10), || {
                self.containers
                    .state(id)
                    .is_ok_and(|s| !Self::monitor_alive(&s))
            });
        }
        let go = self.transition(id, &snap.config.name, Operation::Start, |s| {
            s.stopped_by_user = false;
            s.error.clear();
        })?;
        if go == Allowed::AlreadyDone {
            return Ok(());
        }
        let (reader, writer) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| runtime("pipe", e))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.containers.dir(id).join("monitor.log"))
            .map_err(|e| runtime("monitor log", e))?;
        let mut child = Command::new(&self.exe)
            .arg(monitor::ARG)
            .arg(self.root.path())
            .arg(id)
            .arg(self.driver.name())
            .args(attach_first.then_some("attach"))
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(log)
            .spawn()
            .map_err(|e| runtime(&format!("cannot run {}", self.exe.display()), e))?;
        let _ = child.wait();
        let mut line = String::new();
        let _ = std::io::BufReader::new(std::fs::File::from(reader)).read_line(&mut line);
        let line = line.trim();
        if line.starts_with("ok ") {
            return Ok(());
        }
        let (code, message) = match line.strip_prefix("err ") {
            Some(rest) => {
                let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
                (code.parse().unwrap_or(125), message.to_string())
            }
            None => (
                125,
                format!(
                    "the container monitor ended without a word; see {}",
                    self.containers.dir(id).join("monitor.log").display()
                ),
            ),
        };
        Err(match code {
            126 | 127 => ContainerError::CannotRun { code, message },
            _ => ContainerError::Runtime(message),
        })
    }

    /// Sends a signal to the container's process; marks it stopped by its user, so the
    /// restart policy lets it be.
    pub fn kill(&self, id: &str, signal: Signal) -> Result<(), ContainerError> {
        let name = self.containers.config(id)?.name;
        let pid = self.containers.update_state_with(id, |s| {
            observed(s).model().check(Operation::Kill, &name)?;
            let pid = s.pid.ok_or_else(|| {
                ContainerError::Conflict(format!("container {name} is not running"))
            })?;
            s.stopped_by_user = true;
            Ok(pid)
        })?;
        send_signal(pid, signal).map_err(|e| runtime("cannot signal the container", e))?;
        self.emit("kill", id, &name);
        if signal == Signal::KILL {
            // It cannot survive this; report it as gone once its monitor has recorded it.
            self.wait_settled(id, Duration::from_secs(10));
        }
        Ok(())
    }

    /// Whether the container's run is over and its monitor has finished.
    fn settled(&self, id: &str) -> bool {
        // The monitor records the end before it exits, so its being gone says both.
        self.containers
            .state(id)
            .is_ok_and(|s| !Self::monitor_alive(&s))
    }

    /// Waits up to `limit` for the container to be settled: woken by the monitor's exit
    /// (a pidfd) rather than by polling; false when it is not settled by then.
    fn wait_settled(&self, id: &str, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            let Ok(state) = self.containers.state(id) else {
                return false;
            };
            let Some(pid) = state.monitor_pid.filter(|_| Self::monitor_alive(&state)) else {
                return true;
            };
            let pidfd = rustix::process::Pid::from_raw(pid).and_then(|p| {
                rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
            });
            // Opened after the liveness check: make sure it is still that monitor.
            let left = until.saturating_duration_since(Instant::now());
            match pidfd {
                Some(fd) if Self::monitor_alive(&state) => {
                    let mut fds = [rustix::event::PollFd::new(
                        &fd,
                        rustix::event::PollFlags::IN,
                    )];
                    let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
                    let _ = rustix::event::poll(&mut fds, ms);
                }
                // No pidfds here (old kernel): poll the state.
                _ => return wait_until(left, || self.settled(id)),
            }
            if Instant::now() >= until {
                return self.settled(id);
            }
        }
    }

    /// Stops a container: its stop signal, then SIGKILL after `timeout`.
    pub fn stop(&self, id: &str, timeout: Option<Duration>) -> Result<(), ContainerError> {
        let snap = self.get(id)?;
        let go = self.transition(id, &snap.config.name, Operation::Stop, |s| {
            s.stopped_by_user = true
        })?;
        if go == Allowed::AlreadyDone {
            return Ok(());
        }
        if snap.state.status == Status::Paused {
            self.unpause(id)?;
        }
        if let Some(pid) = snap.state.pid {
            // Checked at create; a record from before that check falls back to SIGTERM.
            let sig = Signal::parse(&snap.config.stop_signal).unwrap_or(Signal::TERM);
            let _ = send_signal(pid, sig);
            let limit = timeout.unwrap_or(Duration::from_secs(snap.config.stop_timeout));
            if !self.wait_settled(id, limit) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        if !self.wait_settled(id, Duration::from_secs(20)) {
            return Err(ContainerError::Runtime(format!(
                "container {} did not stop; see {}",
                snap.config.name,
                self.containers.dir(id).join("monitor.log").display()
            )));
        }
        self.emit("stop", id, &snap.config.name);
        Ok(())
    }

    /// Waits until a container's run is over; returns its exit code.
    pub fn wait(&self, id: &str) -> Result<i64, ContainerError> {
        let mut backoff = Backoff::default();
        loop {
            let snap = self.get(id)?;
            match snap.state.status {
                Status::Running | Status::Paused | Status::Restarting => {}
                Status::Created => {
                    // Docker waits for a created container to run and exit.
                }
                Status::Exited => {
                    if !Self::monitor_alive(&snap.state) {
                        return Ok(snap.state.exit_code.unwrap_or(0));
                    }
                    // The exit is on record; the monitor's end says it is done with it.
                    self.wait_settled(id, Duration::from_secs(1));
                    continue;
                }
            }
            std::thread::sleep(backoff.next_delay());
        }
    }

    /// Removes a container; a running one only with `force` (killed first).
    pub fn remove(&self, id: &str, force: bool) -> Result<(), ContainerError> {
        let snap = self.get(id)?;
        let name = &snap.config.name;
        if snap.state.status.is_active() {
            self.transition(id, name, Operation::Remove { force }, |s| {
                s.stopped_by_user = true
            })?;
            if snap.state.status == Status::Paused {
                let _ = self.unpause(id);
            }
            if let Some(pid) = snap.state.pid {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            self.wait_settled(id, Duration::from_secs(20));
        }
        // What a dead monitor left: the process and libcontainer's state.
        let state = self.containers.state(id)?;
        if let Some(pid) = state.pid {
            if alive(pid) && !Self::monitor_alive(&state) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        clear_runtime_state(id);
        let _ = std::fs::remove_file(super::attach::socket_path(id));
        let lock = self.containers.lock()?;
        // Unmounted here; the files go with the directory.
        self.snapshots().release(&self.containers.dir(id))?;
        let gone = self.containers.unlist(&lock, id)?;
        drop(lock);
        if let Some(gone) = gone {
            purge_later(gone);
        }
        self.emit("destroy", id, &snap.config.name);
        Ok(())
    }

    /// Renames a container.
    pub fn rename(&self, id: &str, new_name: &str) -> Result<(), ContainerError> {
        let lock = self.containers.lock()?;
        if let Some(other) = self.containers.by_name(new_name)? {
            if other != id {
                return Err(ContainerError::Conflict(format!(
                    "the container name \"/{new_name}\" is already in use by container {}; choose another name",
                    &other[..12]
                )));
            }
        }
        let mut config = self.containers.config(id)?;
        let old = std::mem::replace(&mut config.name, new_name.to_string());
        self.containers.replace_config(&lock, &config)?;
        drop(lock);
        self.journal.append(&Entry {
            time: unix_now(),
            kind: Kind::Container,
            action: "rename".into(),
            id: id.into(),
            name: Some(format!("{new_name} (old: {old})")),
        });
        Ok(())
    }

    fn libcontainer(&self, id: &str) -> Result<libcontainer::container::Container, ContainerError> {
        libcontainer::container::Container::load(Path::new(RUNTIME_DIR).join(id))
            .map_err(|e| runtime("cannot load the container's runtime state", e))
    }

    /// Freezes every process of a running container.
    pub fn pause(&self, id: &str) -> Result<(), ContainerError> {
        let name = self.containers.config(id)?.name;
        // Checked, frozen and recorded under the state lock, so an exit the monitor records
        // meanwhile is never overwritten by Paused.
        self.containers.update_state_with(id, |s| {
            observed(s).model().check(Operation::Pause, &name)?;
            self.libcontainer(id)?
                .pause()
                .map_err(|e| runtime("cannot freeze the container", e))?;
            s.status = Status::Paused;
            Ok(())
        })?;
        self.emit("pause", id, &name);
        Ok(())
    }

    /// Thaws a paused container.
    pub fn unpause(&self, id: &str) -> Result<(), ContainerError> {
        let name = self.containers.config(id)?.name;
        self.containers.update_state_with(id, |s| {
            observed(s).model().check(Operation::Unpause, &name)?;
            self.libcontainer(id)?
                .resume()
                .map_err(|e| runtime("cannot thaw the container", e))?;
            s.status = Status::Running;
            Ok(())
        })?;
        self.emit("unpause", id, &name);
        Ok(())
    }

    /// Runs `f` with the container's root filesystem: the mounted one while it runs, else
    /// mounted for the time `f` takes.
    pub fn with_rootfs<T: Send>(
        &self,
        id: &str,
        f: impl FnOnce(&Path) -> Result<T, ContainerError> + Send,
    ) -> Result<T, ContainerError> {
        let snap = self.get(id)?;
        let dir = self.containers.dir(id);
        if snap.state.status.is_active() {
            // Mounted in the monitor's own mount namespace: worked on from there.
            let rootfs = std::path::absolute(dir.join("rootfs"))
                .map_err(|e| runtime("cannot resolve the container's directory", e))?;
            return match snap.state.monitor_pid {
                Some(pid) => super::in_mount_namespace(pid, || f(&rootfs)),
                None => f(&rootfs),
            };
        }
        let image_id = Digest::parse(&snap.config.image_id)?;
        let chain = self.images.record(&image_id)?.chain();
        let snapshots = self.snapshots();
        let rootfs = snapshots.prepare(&chain, &dir)?;
        let result = f(&rootfs);
        let _ = snapshots.release(&dir);
        result
    }

    /// What the container changed in its root filesystem compared with its image.
    pub fn changes(&self, id: &str) -> Result<Vec<FileChange>, ContainerError> {
        Ok(self.changes_in(id)?.1)
    }

    /// `docker ps -s`'s two sizes: the bytes of the files the container added or changed (the
    /// regular files among its changes, each counted once however many links it has), and
    /// those plus its image's layers.
    pub fn sizes(&self, id: &str) -> Result<(u64, u64), ContainerError> {
        use std::os::unix::fs::MetadataExt;
        let (base, found, chain) = self.changes_in(id)?;
        let layers = self.images.layers();
        let image: u64 = chain
            .iter()
            .map(|c| layers.get(c).map_or(0, |m| m.size))
            .sum();
        let mut seen = std::collections::BTreeSet::new();
        let mut total = 0;
        for change in found {
            if change.kind == ChangeKind::Deleted {
                continue;
            }
            let path = base.join(change.path.trim_start_matches('/'));
            if let Ok(meta) = std::fs::symlink_metadata(&path) {
                if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                    total += meta.len();
                }
            }
        }
        Ok((total, total + image))
    }

    /// The changes, the directory they were read from (upper dir or copy) and the image's
    /// layers.
    fn changes_in(
        &self,
        id: &str,
    ) -> Result<(PathBuf, Vec<FileChange>, Vec<Digest>), ContainerError> {
        let snap = self.get(id)?;
        let image_id = Digest::parse(&snap.config.image_id)?;
        let chain = self.images.record(&image_id)?.chain();
        let layers = self.images.layers();
        let image = ImageView::new(chain.iter().map(|c| layers.diff_dir(c)).collect());
        let dir = self.containers.dir(id);
        let (base, found) = match self.snapshots().driver() {
            Driver::Overlay => {
                let upper = dir.join("upper");
                let found = changes::from_upper(&upper, &image);
                (upper, found)
            }
            Driver::Copy => {
                let rootfs = dir.join("rootfs");
                // Never started: nothing changed yet.
                if !rootfs.is_dir() {
                    return Ok((rootfs, Vec::new(), chain));
                }
                let found = changes::from_copy(&rootfs, &image);
                (rootfs, found)
            }
        };
        // Mount points the runtime made are not the container's doing (Docker keeps them in
        // an init layer, so its diff leaves them out too).
        let mut points: Vec<String> = super::spec::RUNTIME_MOUNT_POINTS
            .iter()
            .map(|p| p.to_string())
            .collect();
        points.extend(snap.config.mounts.iter().map(|m| m.destination.clone()));
        let found = changes::without_mount_points(found, &points, &base, &image);
        Ok((base, found, chain))
    }

    /// Writes the container's whole filesystem to `out` as a tar archive.
    pub fn export(&self, id: &str, out: impl std::io::Write + Send) -> Result<(), ContainerError> {
        self.with_rootfs(id, |rootfs| super::files::export(rootfs, out))
    }

    /// Host pids of every process in the container (those in its pid namespace).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, ContainerError> {
        let snap = self.get(id)?;
        snap.state
            .status
            .model()
            .check(Operation::Top, &snap.config.name)?;
        let Some(init) = snap.state.pid else {
            return Err(ContainerError::Conflict(format!(
                "container {} is not running",
                snap.config.name
            )));
        };
        let ns = std::fs::read_link(format!("/proc/{init}/ns/pid"))
            .map_err(|e| runtime("cannot read the container's pid namespace", e))?;
        let mut pids: Vec<i32> = std::fs::read_dir("/proc")
            .map_err(|e| runtime("/proc", e))?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).is_ok_and(|l| l == ns))
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// After a reboot (or a crash of every monitor): starts the containers whose restart
    /// policy says they should run — `always`, `unless-stopped` unless a user stopped them,
    /// `on-failure` if they were running. Returns the names started and the failures.
    pub fn boot(&self) -> Result<BootReport, ContainerError> {
        let mut started = Vec::new();
        let mut failed = Vec::new();
        for id in self.containers.ids()? {
            let config = self.containers.config(&id)?;
            let state = self.containers.state(&id)?;
            if Self::monitor_alive(&state) {
                continue;
            }
            let was_running = state.status.is_active();
            let wanted = match config.restart {
                Restart::No => false,
                Restart::Always => true,
                Restart::UnlessStopped => !state.stopped_by_user,
                Restart::OnFailure { .. } => was_running && !state.stopped_by_user,
            };
            if !wanted {
                continue;
            }
            // What the old run left: its process (if the host did not reboot) and state.
            if let Some(pid) = state.pid.filter(|p| alive(*p)) {
                let _ = send_signal(pid, Signal::KILL);
            }
            clear_runtime_state(&id);
            let _ = self.snapshots().release(&self.containers.dir(&id));
            self.containers.update_state(&id, |s| {
                s.status = Status::Exited;
                s.pid = None;
                s.monitor_pid = None;
                s.monitor_start = None;
            })?;
            match self.start(&id) {
                Ok(()) => started.push(config.name),
                Err(e) => failed.push((config.name, e)),
            }
        }
        Ok(BootReport { started, failed })
    }

    /// The image id of a container's image, for the image store's in-use checks.
    pub fn image_ids(&self) -> Result<Vec<Digest>, ContainerError> {
        Ok(self
            .list()?
            .iter()
            .filter_map(|s| Digest::parse(&s.config.image_id).ok())
            .collect())
    }
}

/// Deletes the directory of a removed container (already out of the store, in `tmp/`) in the
/// background, so that `rm` and `run --rm` return once the container is gone rather than once
/// its files are: `rm -rf` in a process of its own, reaped by a thread (or by init once this
/// process has ended). When that cannot start, deletes here. Whatever is left after a crash
/// goes with the next `Root::open`, which clears `tmp/` of writers that no longer run.
fn purge_later(path: PathBuf) {
    let spawned = Command::new("rm")
        .args(["-rf", "--one-file-system", "--"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
        Err(_) => {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn runtime(what: &str, e: impl std::fmt::Display) -> ContainerError {
    ContainerError::Runtime(format!("{what}: {e}"))
}

/// Sends `signal` to host process `pid` (real-time signals too, which nix's enum lacks).
fn send_signal(pid: i32, signal: Signal) -> std::io::Result<()> {
    // SAFETY: kill(2) takes two integers and touches no memory of this process.
    let r = unsafe { nix::libc::kill(pid, signal.number()) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The status as observed: a run in progress whose monitor is gone is over. The record is
/// left as it is (its pid is what `rm` kills of what the dead monitor left).
fn observed(state: &ContainerState) -> Status {
    if state.status.is_active() && !Runtime::monitor_alive(state) {
        Status::Exited
    } else {
        state.status
    }
}

/// A snapshot's state as observed: a run whose monitor is gone shows as exited with an
/// unknown status.
fn observe(state: &mut ContainerState) {
    if observed(state) != state.status {
        state.status = Status::Exited;
        state.pid = None;
        state.exit_code = state.exit_code.or(Some(255));
        state.error = "the container's monitor is gone, so its exit status is unknown".to_string();
    }
}
