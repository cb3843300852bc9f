//! What the engine keeps of a container: its configuration (written once at create) and its
//! state (rewritten atomically by whoever changes it: the CLI at create and stop, the monitor
//! at start and exit).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model;
use crate::model::logging::LogConfig;

/// The format of `config.json` this build writes. Roots written before the format had a number
/// read as 0, which has the same layout as 1.
pub const CONFIG_FORMAT: u32 = 1;

/// Resource limits, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Limits {
    /// Memory limit in bytes.
    pub memory: Option<u64>,
    /// CPU quota in billionths of a CPU.
    pub nano_cpus: Option<u64>,
    /// Relative CPU weight.
    pub cpu_shares: Option<u64>,
    /// Maximum number of processes.
    pub pids_limit: Option<i64>,
}

/// How a container restarts when its process exits, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Restart {
    /// Never.
    #[default]
    No,
    /// After a non-zero exit, at most `max_retries` times (0 = unlimited).
    OnFailure {
        /// Maximum restart count; 0 means no limit.
        max_retries: u32,
    },
    /// Always.
    Always,
    /// Unless a user stopped it.
    UnlessStopped,
}

/// A mount of a container, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountConfig {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: MountKind,
    /// Host path or volume name (empty for tmpfs).
    pub source: String,
    /// Path inside the container.
    pub destination: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// tmpfs options (`size=64m,mode=1777`), empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub options: String,
}

/// The kind of a stored mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named volume.
    Volume,
    /// A memory-backed filesystem.
    Tmpfs,
}

impl From<model::Resources> for Limits {
    fn from(r: model::Resources) -> Limits {
        Limits {
            memory: r.memory,
            nano_cpus: r.nano_cpus,
            cpu_shares: r.cpu_shares,
            pids_limit: r.pids_limit,
        }
    }
}

impl From<Limits> for model::Resources {
    fn from(l: Limits) -> model::Resources {
        model::Resources {
            memory: l.memory,
            nano_cpus: l.nano_cpus,
            cpu_shares: l.cpu_shares,
            pids_limit: l.pids_limit,
        }
    }
}

impl From<model::RestartPolicy> for Restart {
    fn from(p: model::RestartPolicy) -> Restart {
        match p {
            model::RestartPolicy::No => Restart::No,
            model::RestartPolicy::OnFailure { max_retries } => Restart::OnFailure { max_retries },
            model::RestartPolicy::Always => Restart::Always,
            model::RestartPolicy::UnlessStopped => Restart::UnlessStopped,
        }
    }
}

impl From<Restart> for model::RestartPolicy {
    fn from(r: Restart) -> model::RestartPolicy {
        match r {
            Restart::No => model::RestartPolicy::No,
            Restart::OnFailure { max_retries } => model::RestartPolicy::OnFailure { max_retries },
            Restart::Always => model::RestartPolicy::Always,
            Restart::UnlessStopped => model::RestartPolicy::UnlessStopped,
        }
    }
}

impl From<model::Mount> for MountConfig {
    fn from(m: model::Mount) -> MountConfig {
        MountConfig {
            kind: match m.kind {
                model::MountKind::Bind => MountKind::Bind,
                model::MountKind::Volume => MountKind::Volume,
                model::MountKind::Tmpfs => MountKind::Tmpfs,
            },
            source: m.source,
            destination: m.destination,
            read_only: m.read_only,
            options: m.options,
        }
    }
}

impl From<MountConfig> for model::Mount {
    fn from(m: MountConfig) -> model::Mount {
        model::Mount {
            kind: match m.kind {
                MountKind::Bind => model::MountKind::Bind,
                MountKind::Volume => model::MountKind::Volume,
                MountKind::Tmpfs => model::MountKind::Tmpfs,
            },
            source: m.source,
            destination: m.destination,
            read_only: m.read_only,
            options: m.options,
        }
    }
}

/// A container's configuration, fixed at create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// The record's format ([`CONFIG_FORMAT`]; 0 for records written before it had one).
    #[serde(default)]
    pub format: u32,
    /// 64 hex digits.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The image reference as given.
    pub image: String,
    /// The image id.
    pub image_id: String,
    /// Creation time (Unix seconds).
    pub created: i64,
    /// The process: entrypoint then command, resolved against the image.
    pub args: Vec<String>,
    /// The entrypoint part of `args`.
    pub entrypoint: Vec<String>,
    /// The command part of `args`.
    pub cmd: Vec<String>,
    /// Environment as `KEY=value` (image's, then the user's).
    pub env: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// `user[:group]` as given (names resolved in the container at start).
    pub user: String,
    /// Hostname.
    pub hostname: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Close stdin when the client attached at start closes its input.
    #[serde(default)]
    pub stdin_once: bool,
    /// Remove when it exits.
    pub auto_remove: bool,
    /// Removed once its run ends, by its monitor or by the `run --rm` waiting for it: its
    /// root filesystem is mounted without syncs (overlayfs `volatile`).
    #[serde(default)]
    pub ephemeral: bool,
    /// Restart policy.
    pub restart: Restart,
    /// Limits.
    pub limits: Limits,
    /// Mounts.
    pub mounts: Vec<MountConfig>,
    /// `none` (its own network namespace with loopback only), `host`, or the name of a
    /// bridge network.
    pub network: String,
    /// The address asked for on its network (`--ip`).
    #[serde(default)]
    pub ip: Option<std::net::Ipv4Addr>,
    /// Other names on its network (`--network-alias`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Name servers for its resolv.conf (`--dns`), instead of the host's.
    #[serde(default)]
    pub dns: Vec<String>,
    /// Extra /etc/hosts lines as `NAME:ADDRESS` (`--add-host`).
    #[serde(default)]
    pub extra_hosts: Vec<String>,
    /// Ports to publish on its bridge network (host port 0: any free one).
    #[serde(default)]
    pub ports: Vec<crate::engine::network::PortRequest>,
    /// Signal `stop` sends first.
    pub stop_signal: String,
    /// Seconds `stop` waits before SIGKILL.
    pub stop_timeout: u64,
    /// All capabilities, no seccomp, every device.
    #[serde(default)]
    pub privileged: bool,
    /// Capabilities added to Docker's default set.
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// Capabilities dropped from it.
    #[serde(default)]
    pub cap_drop: Vec<String>,
    /// Root filesystem mounted read-only.
    #[serde(default)]
    pub read_only: bool,
    /// The root filesystem's layers (chain ids, bottom first) when they are not its image's:
    /// a build step runs on the layers its build has made so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    /// Set on a build step's container: the process that builds, which removes it. Such
    /// containers are not listed; one whose builder is gone is a leftover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Builder>,
    /// The seccomp filter.
    #[serde(default, skip_serializing_if = "Seccomp::is_default")]
    pub seccomp: Seccomp,
    /// `--security-opt no-new-privileges=…`; on unless said otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_new_privileges: Option<bool>,
    /// Where its output goes (json-file, 10 MiB × 3, unless said otherwise).
    #[serde(default, skip_serializing_if = "LogConfig::is_default")]
    pub log: LogConfig,
}

/// A container's seccomp filter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seccomp {
    /// The engine's default profile.
    #[default]
    Default,
    /// None (`seccomp=unconfined`).
    Unconfined,
    /// A profile in Docker's format.
    Profile(serde_json::Value),
}

impl Seccomp {
    /// Whether it is the default.
    pub fn is_default(&self) -> bool {
        *self == Seccomp::Default
    }
}

/// The process that made a build step's container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    /// Its pid.
    pub pid: i32,
    /// Its start time (clock ticks after boot), so a reused pid is told apart.
    pub start: u64,
}

impl Builder {
    /// This process.
    pub fn this() -> Builder {
        let pid = std::process::id() as i32;
        Builder {
            pid,
            start: super::monitor::start_time(pid).unwrap_or(0),
        }
    }

    /// Whether the builder still runs.
    pub fn alive(&self) -> bool {
        super::monitor::start_time(self.pid) == Some(self.start)
    }
}

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, never started.
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Frozen.
    Paused,
    /// Waiting to be restarted by its policy.
    Restarting,
    /// Its process ended.
    Exited,
}

impl Status {
    /// The state as the model names it, for the state machine and the front ends.
    pub fn model(self) -> model::ContainerState {
        match self {
            Status::Created => model::ContainerState::Created,
            Status::Running => model::ContainerState::Running,
            Status::Paused => model::ContainerState::Paused,
            Status::Restarting => model::ContainerState::Restarting,
            Status::Exited => model::ContainerState::Exited,
        }
    }

    /// Whether a run is in progress (running, paused or restarting).
    pub fn is_active(self) -> bool {
        self.model().is_active()
    }
}

/// A container's state, rewritten atomically.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerState {
    /// Lifecycle status as recorded.
    pub status: Status,
    /// Host pid of the container's init while it runs.
    pub pid: Option<i32>,
    /// Pid of its monitor while one runs.
    pub monitor_pid: Option<i32>,
    /// The monitor's start time (clock ticks since boot), against pid reuse.
    pub monitor_start: Option<u64>,
    /// Start of the current or last run (Unix nanoseconds).
    pub started_at: Option<i128>,
    /// End of the last run (Unix nanoseconds).
    pub finished_at: Option<i128>,
    /// Exit code of the last run.
    pub exit_code: Option<i64>,
    /// The last run ended in an OOM kill.
    pub oom_killed: bool,
    /// Restarts made by the policy.
    pub restart_count: u32,
    /// A user stopped it (the policy does not restart it).
    pub stopped_by_user: bool,
    /// Why the last start failed, or what went wrong with the monitor.
    pub error: String,
}

/// A minimal configuration for tests: container `id` named `name` running `sh`.
#[cfg(test)]
pub fn sample_config(id: &str, name: &str) -> ContainerConfig {
    serde_json::from_value(serde_json::json!({
        "format": CONFIG_FORMAT, "id": id, "name": name, "image": "i", "image_id": "x", "created": 0,
        "args": ["sh"], "entrypoint": [], "cmd": ["sh"], "env": [], "working_dir": "",
        "user": "", "hostname": "h", "labels": {}, "tty": false, "open_stdin": false,
        "auto_remove": false, "restart": {"name": "no"}, "limits": {}, "mounts": [],
        "network": "none", "stop_signal": "SIGTERM", "stop_timeout": 10,
    }))
    .expect("the sample configuration is valid")
}
