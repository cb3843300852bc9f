//! What the engine keeps of a container: its configuration (written once at create) and its
//! state (rewritten atomically by whoever changes it: the CLI at create and stop, the monitor
//! at start and exit).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Resource limits.
pub use crate::backend::types::Resources as Limits;
/// How a container restarts when its process exits (the domain type, stored as it is).
pub use crate::backend::types::RestartPolicy as Restart;
/// A mount of a container.
pub use crate::backend::types::{Mount as MountConfig, MountKind};

/// A container's configuration, fixed at create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerConfig {
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
    /// `none` (its own network namespace with loopback only) or `host`.
    pub network: String,
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
        "id": id, "name": name, "image": "i", "image_id": "x", "created": 0,
        "args": ["sh"], "entrypoint": [], "cmd": ["sh"], "env": [], "working_dir": "",
        "user": "", "hostname": "h", "labels": {}, "tty": false, "open_stdin": false,
        "auto_remove": false, "restart": {"name": "no"}, "limits": {}, "mounts": [],
        "network": "none", "stop_signal": "SIGTERM", "stop_timeout": 10,
    }))
    .expect("the sample configuration is valid")
}
