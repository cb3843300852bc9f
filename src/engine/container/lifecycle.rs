//! What the front ends do to existing containers: start (spawn the monitor and read its
//! [`StartReply`]), stop, kill, wait, remove, rename, pause, unpause, the processes inside and
//! `system boot`. Each state change is checked against the model's state machine inside the
//! state lock. What happens to a container whose monitor died is in `supervision.rs`.
//! Creating is in `create.rs`, the root filesystem from outside in `filesystem.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use super::create::CreateRequest;
use super::monitor;
use super::record::{ContainerConfig, ContainerState, Restart, Status};
use super::start_reply::StartReply;
use super::supervision::{observe, observed, stop_leftovers};
pub use super::wait::Backoff;
use super::wait::wait_until;
use super::{ContainerError, ContainerStore, RUNTIME_DIR, runtime};
use crate::engine::events::{Entry, Journal, Kind};
use crate::engine::image::ImageStore;
use crate::engine::layer::{Driver, Snapshotter};
use crate::engine::store::{Digest, Root};
use crate::engine::volume::VolumeStore;
use crate::model::{Allowed, Operation, Signal};
use crate::util::time::unix_now;

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
    pub(super) root: Root,
    pub(super) containers: ContainerStore,
    pub(super) images: ImageStore,
    pub(super) volumes: VolumeStore,
    pub(super) journal: Journal,
    pub(super) exe: PathBuf,
    pub(super) driver: Driver,
}

impl Runtime {
    /// The containers of `root`, with monitors run from `exe` and root filesystems made by
    /// `driver`.
    pub fn new(root: &Root, exe: PathBuf, driver: Driver) -> Runtime {
        Runtime {
            containers: ContainerStore::new(root),
            images: ImageStore::new(root),
            volumes: VolumeStore::new(root),
            journal: Journal::new(root.path()),
            root: root.clone(),
            exe,
            driver,
        }
    }

    /// The data root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// How root filesystems are made.
    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// The image store.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// The record store.
    pub fn store(&self) -> &ContainerStore {
        &self.containers
    }

    pub(super) fn snapshots(&self) -> Snapshotter {
        Snapshotter::new(self.images.layers(), self.driver)
    }

    pub(super) fn emit(&self, action: &str, id: &str, name: &str) {
        self.emit_kind(Kind::Container, action, id, name);
    }

    pub(super) fn emit_volume(&self, action: &str, name: &str) {
        self.emit_kind(Kind::Volume, action, name, name);
    }

    fn emit_kind(&self, kind: Kind, action: &str, id: &str, name: &str) {
        self.journal.append(&Entry {
            time: unix_now(),
            kind,
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

    /// A container's configuration and observed state. A monitor found lost is dealt with
    /// first (see `supervision.rs`).
    pub fn get(&self, id: &str) -> Result<Snapshot, ContainerError> {
        let config = self.containers.config(id)?;
        let mut state = self.containers.state(id)?;
        // One look at /proc per container: listing thousands of them reads this for each.
        if Self::monitor_alive(&state) {
            return Ok(Snapshot { config, state });
        }
        if state.monitor_pid.is_some() && self.reap_lost_monitor(id)? {
            state = self.containers.state(id)?;
        }
        observe(&mut state);
        Ok(Snapshot { config, state })
    }

    /// Every container. Step containers of builds that are gone are removed, not listed.
    pub fn list(&self) -> Result<Vec<Snapshot>, ContainerError> {
        let mut out = Vec::new();
        // A directory that is not a container yet (or any more) fails `get` and is skipped.
        for id in self.containers.dirs()? {
            if let Ok(s) = self.get(&id) {
                out.push(s);
            }
        }
        let (dead, live): (Vec<Snapshot>, Vec<Snapshot>) = out
            .into_iter()
            .partition(|s| s.config.build.is_some_and(|b| !b.alive()));
        self.reap_dead_builds(&dead);
        Ok(live)
    }

    /// Starts a container: spawns its monitor and waits for the start to succeed or fail.
    /// Starting a running container does nothing.
    pub fn start(&self, id: &str) -> Result<(), ContainerError> {
        self.start_with(id, false)
    }

    /// [`Runtime::start`]; with `attach_first`, the monitor waits (briefly) for a client on
    /// the attach socket before the process starts, so that client sees all of its output.
    pub fn start_with(&self, id: &str, attach_first: bool) -> Result<(), ContainerError> {
        let _one_at_a_time = self.containers.start_lock(id)?;
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
        self.mount_volumes(&snap.config)?;
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
            .map_err(|e| runtime(format!("cannot run {}", self.exe.display()), e))?;
        let _ = child.wait();
        match StartReply::read_from(std::fs::File::from(reader)) {
            Some(StartReply::Started { .. }) => Ok(()),
            Some(StartReply::Failed {
                code: code @ (126 | 127),
                message,
            }) => Err(ContainerError::CannotRun { code, message }),
            Some(StartReply::Failed { message, .. }) => Err(ContainerError::runtime(message)),
            None => Err(ContainerError::runtime(format!(
                "the container monitor ended without a word; see {}",
                self.containers.dir(id).join("monitor.log").display()
            ))),
        }
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
            let state = match self.containers.state(id) {
                Ok(s) => s,
                // Removed meanwhile (its monitor does that with `--rm`): it is over.
                Err(ContainerError::NotFound(_)) => return true,
                Err(_) => return false,
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
        let _one_at_a_time = self.containers.start_lock(id)?;
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
            return Err(ContainerError::runtime(format!(
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
        self.remove_with(id, force, false)
    }

    /// [`Runtime::remove`]; with `volumes`, its anonymous volumes go too (`rm -v`).
    pub fn remove_with(&self, id: &str, force: bool, volumes: bool) -> Result<(), ContainerError> {
        let _one_at_a_time = self.containers.start_lock(id)?;
        let snap = self.get(id)?;
        let name = &snap.config.name;
        if snap.state.status.is_active() || Self::monitor_alive(&snap.state) {
            // Marked under the state lock, so a monitor about to restart it sees the mark
            // and does not (see `Monitor::start_once`).
            self.transition(id, name, Operation::Remove { force }, |s| {
                s.stopped_by_user = true
            })?;
            if snap.state.status == Status::Paused {
                let _ = self.unpause(id);
            }
            // The process running now: a restart may have replaced the one seen above.
            if let Some(pid) = self.containers.state(id)?.pid {
                let _ = send_signal(pid, Signal::KILL);
            }
            if !self.wait_settled(id, Duration::from_secs(20)) {
                return Err(ContainerError::runtime(format!(
                    "container {name} did not stop, so it stays; see {}",
                    self.containers.dir(id).join("monitor.log").display()
                )));
            }
        }
        // Nothing of the container may outlive its record: what a dead monitor left goes.
        stop_leftovers(id);
        if !self.containers.dir(id).join("config.json").exists() {
            // Its `--rm` monitor removed it while it stopped.
            return Ok(());
        }
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
        // What a dead monitor left of its network endpoint.
        super::network::forget(
            &crate::engine::network::NetworkStore::new(&self.root),
            &snap.config.id,
        );
        if volumes {
            self.remove_anonymous_volumes(&snap.config);
        }
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
        self.forget_stale_endpoints()?;
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
            // What the old run left: its processes (if the host did not reboot) and state.
            stop_leftovers(&id);
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
