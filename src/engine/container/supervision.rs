//! Supervision: whether a container's monitor still runs (its pid and its start time as
//! /proc has them, so a reused pid is told apart: a fact, not a guess), and what happens when
//! a monitor is lost. The monitor holds the container's pipes or terminal and is the only
//! process that can read its exit status (it is the parent), so a lost monitor's container
//! cannot be adopted with its logs and status intact. The next operation that reads the
//! container (or `system check`) stops what the monitor left — every process in the
//! container's cgroup, libcontainer's state, its network endpoint — and records the exit with
//! the time and the reason; the restart policy then applies as for any exit.
//!
//! Processes of this data root whose record is gone (an `rm` killed half-way) are found
//! through libcontainer's state directory, whose entries name their bundle, and stopped at
//! the runtime's first use in a process; the step containers of a build whose process is
//! gone are removed when the containers are listed and when a build starts.

use std::path::{Path, PathBuf};

use super::lifecycle::Runtime;
use super::monitor::start_time;
use super::record::{ContainerState, Restart, Status};
use super::wait::alive;
use super::{ContainerError, RUNTIME_DIR, clear_runtime_state};
use crate::util::time::{rfc3339, unix_now, unix_now_ns};

/// The exit status recorded when a monitor was lost: the real one cannot be known.
pub const LOST_EXIT_CODE: i64 = 255;

/// What was left running without a supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupervised {
    /// The container id.
    pub id: String,
    /// The host pids of its processes.
    pub pids: Vec<i32>,
}

impl Restart {
    /// Whether the policy restarts a container that exited with `code` after `count`
    /// restarts.
    pub fn restarts(self, code: i64, count: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            Restart::No => false,
            Restart::OnFailure { max_retries } => {
                code != 0 && (max_retries == 0 || count < max_retries)
            }
            Restart::Always | Restart::UnlessStopped => true,
        }
    }
}

impl Runtime {
    /// Whether the monitor recorded in `state` still runs.
    pub(super) fn monitor_alive(state: &ContainerState) -> bool {
        match (state.monitor_pid, state.monitor_start) {
            (Some(pid), Some(start)) => start_time(pid) == Some(start),
            (Some(pid), None) => alive(pid),
            _ => false,
        }
    }

    /// Whether `state` names a monitor that is gone.
    pub(super) fn monitor_lost(state: &ContainerState) -> bool {
        state.monitor_pid.is_some() && !Self::monitor_alive(state)
    }

    /// When the monitor recorded for `id` is gone: stops what it left, records the exit
    /// (when a run was in progress) with the time and the reason, and restarts the container
    /// if its policy says so. Returns whether a lost monitor was found. Under the state lock,
    /// so of several callers that find it, one acts.
    pub(super) fn reap_lost_monitor(&self, id: &str) -> Result<bool, ContainerError> {
        let config = self.containers.config(id)?;
        let now = unix_now_ns();
        let restart = self.containers.update_state_with(id, |s| {
            if !Self::monitor_lost(s) {
                return Ok(None);
            }
            stop_leftovers(id);
            let was_active = s.status.is_active();
            s.monitor_pid = None;
            s.monitor_start = None;
            if was_active {
                s.status = Status::Exited;
                s.pid = None;
                s.exit_code = Some(LOST_EXIT_CODE);
                s.finished_at = Some(now);
                s.error = format!(
                    "the container's monitor was lost (killed or crashed) and the container was stopped at {}",
                    rfc3339(unix_now())
                );
            }
            let again = was_active
                && config
                    .restart
                    .restarts(LOST_EXIT_CODE, s.restart_count, s.stopped_by_user);
            if again {
                s.restart_count += 1;
            }
            Ok(Some(again))
        })?;
        let Some(again) = restart else {
            return Ok(false);
        };
        super::network::forget(
            &crate::engine::network::NetworkStore::new(&self.root),
            &config.id,
        );
        let _ = self.snapshots().release(&self.containers.dir(id));
        self.emit("die", id, &config.name);
        if again {
            self.emit("restart", id, &config.name);
            if let Err(e) = self.start(id) {
                let message = format!("restarting after the monitor was lost failed: {e}");
                let _ = self.containers.update_state(id, |s| s.error = message);
            }
        }
        Ok(true)
    }

    /// Processes of this root that no record supervises: libcontainer's state names their
    /// bundle under this root, and their record is gone. (A record whose monitor is gone is
    /// dealt with by whoever reads it next, see [`Runtime::reap_lost_monitor`].) One stat per
    /// container of this root; the state file is read only for the others.
    pub fn unsupervised(&self) -> Vec<Unsupervised> {
        let Ok(entries) = std::fs::read_dir(RUNTIME_DIR) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            if self.containers.dir(&id).join("config.json").exists()
                || !self.owns(&entry.path().join("state.json"))
            {
                continue;
            }
            let pids = cgroup_pids(&id);
            if !pids.is_empty() {
                out.push(Unsupervised { id, pids });
            }
        }
        out
    }

    /// Stops every process of this root that no record supervises; returns what it found.
    pub fn reap_unsupervised(&self) -> Vec<Unsupervised> {
        let found = self.unsupervised();
        for u in &found {
            stop_leftovers(&u.id);
        }
        found
    }

    /// Removes the step containers of builds that are gone (killed, say); `snapshots` are
    /// the containers as listed.
    pub(super) fn reap_dead_builds(&self, snapshots: &[super::lifecycle::Snapshot]) {
        for s in snapshots {
            if s.config.build.is_some_and(|b| !b.alive()) {
                let _ = self.remove(&s.config.id, true);
            }
        }
    }

    /// Whether libcontainer's state file names a bundle under this root (its containers, or
    /// `tmp/` where removed containers go).
    pub(super) fn owns(&self, state_file: &Path) -> bool {
        #[derive(serde::Deserialize)]
        struct State {
            bundle: PathBuf,
        }
        std::fs::read(state_file)
            .ok()
            .and_then(|d| serde_json::from_slice::<State>(&d).ok())
            .is_some_and(|s| s.bundle.starts_with(self.root.path()))
    }
}

/// Kills every process of container `id` and removes libcontainer's state and the cgroups.
/// A frozen cgroup (a pause, or a kill of all its processes, that a dead process left
/// half-done) is thawed first: its processes cannot die while frozen.
pub(super) fn stop_leftovers(id: &str) {
    clear_runtime_state(id);
    for dir in cgroup_dirs(id) {
        for (file, thawed) in [("freezer.state", "THAWED"), ("cgroup.freeze", "0")] {
            if dir.join(file).exists() {
                let _ = std::fs::write(dir.join(file), thawed);
            }
        }
    }
    for _ in 0..50 {
        let pids = cgroup_pids(id);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    for dir in cgroup_dirs(id) {
        let _ = std::fs::remove_dir(dir);
    }
}

/// The container's cgroup directories, in every hierarchy mounted here.
pub(super) fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let path = format!("/dockhand/{id}");
    crate::engine::cgroup::mounts(&info)
        .iter()
        .filter_map(|m| m.dir(&path))
        .filter(|d| d.is_dir())
        .collect()
}

/// The host pids in the container's cgroups.
pub(super) fn cgroup_pids(id: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = cgroup_dirs(id)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The status as observed: a run in progress whose monitor is gone is over.
pub(super) fn observed(state: &ContainerState) -> Status {
    if state.status.is_active() && !Runtime::monitor_alive(state) {
        Status::Exited
    } else {
        state.status
    }
}

/// A snapshot's state as observed: a run whose monitor is gone (and was not reaped, as when
/// the state could not be written) shows as exited with an unknown status.
pub(super) fn observe(state: &mut ContainerState) {
    if observed(state) != state.status {
        state.status = Status::Exited;
        state.pid = None;
        state.exit_code = state.exit_code.or(Some(LOST_EXIT_CODE));
        state.error = "the container's monitor is gone, so its exit status is unknown".to_string();
    }
}
