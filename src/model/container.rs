//! Containers: their state, list rows, details, what to create them from, limits, mounts,
//! ports, processes, file changes and resource samples.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{ContainerState, UnixTime, short_id};
use crate::util::time::human_duration;

/// Health-check status, when the container has a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// The first check has not finished yet.
    Starting,
    /// The last checks passed.
    Healthy,
    /// The last checks failed.
    Unhealthy,
}

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        })
    }
}

/// A container port, published on the host or only exposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// Host address the port is bound to (`None` when not published).
    pub host_ip: Option<String>,
    /// Host port (`None` when not published).
    pub host_port: Option<u16>,
    /// Port inside the container.
    pub container_port: u16,
    /// Protocol.
    pub protocol: Protocol,
}

impl fmt::Display for PortMapping {
    /// Docker's `ps` notation: `0.0.0.0:8080->80/tcp` or `80/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_port {
            Some(hp) => write!(
                f,
                "{}:{}->{}/{}",
                self.host_ip.as_deref().unwrap_or("0.0.0.0"),
                hp,
                self.container_port,
                self.protocol
            ),
            None => write!(f, "{}/{}", self.container_port, self.protocol),
        }
    }
}

/// One row of a container list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerSummary {
    /// Full 64-hex id.
    pub id: String,
    /// Name without the leading slash.
    pub name: String,
    /// Image reference the container was created from.
    pub image: String,
    /// Command line, joined for display.
    pub command: String,
    /// Creation time.
    pub created: UnixTime,
    /// Lifecycle state.
    pub state: ContainerState,
    /// When the current or last run started.
    pub started_at: Option<UnixTime>,
    /// When the last run finished.
    pub finished_at: Option<UnixTime>,
    /// Exit code of the last run.
    pub exit_code: Option<i64>,
    /// Health-check status.
    pub health: Option<Health>,
    /// Exposed and published ports.
    pub ports: Vec<PortMapping>,
    /// Networks the container is attached to.
    pub networks: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Bytes written to the container's own layer, when known.
    pub size_rw: Option<u64>,
    /// Bytes of its whole filesystem (image and own layer), when known.
    pub size_root_fs: Option<u64>,
}

impl ContainerSummary {
    /// The first 12 characters of the id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }

    /// Docker's status column: `Up 3 hours`, `Exited (0) 2 minutes ago`, `Created`, …
    pub fn status_text(&self, now: UnixTime) -> String {
        let since = |t: Option<UnixTime>| {
            let secs = t.map(|t| (now - t).max(0) as u64).unwrap_or(0);
            human_duration(Duration::from_secs(secs))
        };
        let health = match self.health {
            Some(Health::Starting) => " (health: starting)",
            Some(Health::Healthy) => " (healthy)",
            Some(Health::Unhealthy) => " (unhealthy)",
            None => "",
        };
        match self.state {
            ContainerState::Created => "Created".to_string(),
            ContainerState::Running => format!("Up {}{}", since(self.started_at), health),
            ContainerState::Paused => format!("Up {} (Paused)", since(self.started_at)),
            ContainerState::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code.unwrap_or(0),
                since(self.finished_at)
            ),
            ContainerState::Removing => "Removal In Progress".to_string(),
            ContainerState::Exited => format!(
                "Exited ({}) {} ago",
                self.exit_code.unwrap_or(0),
                since(self.finished_at)
            ),
            ContainerState::Dead => "Dead".to_string(),
        }
    }

    /// Published ports in `docker ps` notation, comma separated.
    pub fn ports_text(&self) -> String {
        self.ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Restart policy of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never restart.
    #[default]
    No,
    /// Restart after a non-zero exit, at most `max_retries` times (0 = unlimited).
    OnFailure {
        /// Maximum restart count; 0 means no limit.
        max_retries: u32,
    },
    /// Always restart.
    Always,
    /// Restart unless a user stopped it.
    UnlessStopped,
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure { max_retries: 0 } => f.write_str("on-failure"),
            RestartPolicy::OnFailure { max_retries } => write!(f, "on-failure:{max_retries}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

/// A mount of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Mount {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: MountKind,
    /// Host path or volume name (empty for tmpfs).
    pub source: String,
    /// Path inside the container.
    pub destination: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Filesystem options of a tmpfs (`size=64m,mode=1777`); empty for the defaults and for
    /// the other kinds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub options: String,
}

impl Mount {
    /// A mount of `kind` from `source` at `destination`, with no options.
    pub fn new(kind: MountKind, source: &str, destination: &str, read_only: bool) -> Mount {
        Mount {
            kind,
            source: source.to_string(),
            destination: destination.to_string(),
            read_only,
            options: String::new(),
        }
    }
}

/// The kind of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named volume.
    Volume,
    /// A memory-backed filesystem.
    Tmpfs,
}

impl fmt::Display for MountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        })
    }
}

/// Resource limits of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Resources {
    /// Memory limit in bytes.
    pub memory: Option<u64>,
    /// CPU quota in billionths of a CPU (`--cpus 1.5` = 1_500_000_000).
    pub nano_cpus: Option<u64>,
    /// Relative CPU weight.
    pub cpu_shares: Option<u64>,
    /// Maximum number of processes.
    pub pids_limit: Option<i64>,
}

/// A container's attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointInfo {
    /// Network name.
    pub network: String,
    /// IPv4 address with prefix length, e.g. `172.17.0.2/16`.
    pub ip_address: String,
    /// Gateway address.
    pub gateway: String,
    /// MAC address.
    pub mac_address: String,
}

/// Everything known about one container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerDetails {
    /// The list row.
    pub summary: ContainerSummary,
    /// Environment as `KEY=value`.
    pub env: Vec<String>,
    /// Entrypoint.
    pub entrypoint: Vec<String>,
    /// Command.
    pub cmd: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// User the process runs as.
    pub user: String,
    /// Hostname inside the container.
    pub hostname: String,
    /// Restart policy.
    pub restart_policy: RestartPolicy,
    /// Times the restart policy has restarted it.
    pub restart_count: u32,
    /// Mounts.
    pub mounts: Vec<Mount>,
    /// Network attachments.
    pub endpoints: Vec<EndpointInfo>,
    /// Resource limits.
    pub resources: Resources,
    /// Host pid of the container's init process while it runs.
    pub pid: Option<u32>,
    /// Whether the last run ended in an OOM kill.
    pub oom_killed: bool,
    /// Allocated a TTY.
    pub tty: bool,
    /// Docker-shaped inspect document, as `docker inspect` prints it.
    pub inspect: serde_json::Value,
}

/// What to create a container from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// Image reference.
    pub image: String,
    /// Name; generated when `None`.
    pub name: Option<String>,
    /// Command (overrides the image's CMD when not empty).
    pub cmd: Vec<String>,
    /// Entrypoint (overrides the image's when `Some`).
    pub entrypoint: Option<Vec<String>>,
    /// Environment as `KEY=value`.
    pub env: Vec<String>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// Publish every port the image exposes, each on a free host port (`-P`).
    pub publish_all: bool,
    /// Mounts.
    pub mounts: Vec<Mount>,
    /// Containers whose mounts this one gets too (`NAME[:ro|rw]`).
    pub volumes_from: Vec<String>,
    /// Restart policy.
    pub restart_policy: RestartPolicy,
    /// Limits.
    pub resources: Resources,
    /// Network to attach to (default network when `None`).
    pub network: Option<String>,
    /// Address on that network (`--ip`).
    pub ip: Option<String>,
    /// Other names on that network (`--network-alias`).
    pub network_aliases: Vec<String>,
    /// Name servers (`--dns`).
    pub dns: Vec<String>,
    /// Extra /etc/hosts entries, `NAME:ADDRESS` (`--add-host`).
    pub extra_hosts: Vec<String>,
    /// Hostname.
    pub hostname: Option<String>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// User.
    pub user: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Close the container's stdin when the client attached at start closes its input
    /// (`run -i` in the foreground).
    pub stdin_once: bool,
    /// Remove the container when it exits.
    pub auto_remove: bool,
    /// Removed as soon as its run ends, by the backend or by whoever waits for it (`run
    /// --rm` in the foreground): its writable layer need not survive a crash.
    pub ephemeral: bool,
    /// Every capability and device, no seccomp profile.
    pub privileged: bool,
    /// Capabilities added to the default set (`NET_ADMIN`, `ALL`, …).
    pub cap_add: Vec<String>,
    /// Capabilities dropped from it.
    pub cap_drop: Vec<String>,
    /// Mount the root filesystem read-only.
    pub read_only: bool,
    /// `--security-opt` values as Docker's API takes them (`seccomp=unconfined`, the text of
    /// a profile after `seccomp=`, `no-new-privileges[=BOOL]`), checked by
    /// [`super::parse::security_opt`].
    pub security_opt: Vec<String>,
    /// `--log-driver` (the backend's default when `None`).
    pub log_driver: Option<String>,
    /// `--log-opt KEY=VALUE`, checked by [`super::logging::log_opt`].
    pub log_opts: Vec<String>,
}

/// Options for removing a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemoveOptions {
    /// Kill it first if it is running.
    pub force: bool,
    /// Also remove its anonymous volumes.
    pub volumes: bool,
}

/// Output of `top`: column titles and one row per process.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TopOutput {
    /// Column titles (`UID`, `PID`, `CMD`, …).
    pub titles: Vec<String>,
    /// One row per process.
    pub processes: Vec<Vec<String>>,
}

/// One sample of a container's resource usage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct StatsSample {
    /// When it was read.
    pub read: UnixTime,
    /// CPU use as a percentage of one core (200.0 = two full cores).
    pub cpu_percent: f64,
    /// The container's CPU limit in CPUs (`--cpus 1.5` = 1.5), `None` when unlimited.
    pub cpu_limit: Option<f64>,
    /// The host's online CPUs.
    pub host_cpus: u32,
    /// Memory in use, bytes.
    pub memory_usage: u64,
    /// Memory limit, bytes (the host's memory when unlimited).
    pub memory_limit: u64,
    /// Bytes received on all interfaces.
    pub net_rx: u64,
    /// Bytes sent on all interfaces.
    pub net_tx: u64,
    /// Bytes read from block devices.
    pub block_read: u64,
    /// Bytes written to block devices.
    pub block_write: u64,
    /// Number of processes.
    pub pids: u64,
}

impl StatsSample {
    /// The CPUs the container may use: its limit, or the host's cores (at least one).
    pub fn cpus_available(&self) -> f64 {
        let host = f64::from(self.host_cpus.max(1));
        self.cpu_limit
            .filter(|l| *l > 0.0)
            .map_or(host, |l| l.min(host))
    }

    /// CPU use as a percentage of what the container may use (100.0 = all of it).
    pub fn cpu_of_available(&self) -> f64 {
        (self.cpu_percent / self.cpus_available()).clamp(0.0, 100.0)
    }

    /// Memory in use as a percentage of its limit (0 when no limit is known).
    pub fn memory_percent(&self) -> f64 {
        if self.memory_limit == 0 {
            return 0.0;
        }
        self.memory_usage as f64 * 100.0 / self.memory_limit as f64
    }
}

/// How a path of a container's filesystem differs from its image (`diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub enum ChangeKind {
    /// Added.
    Added,
    /// Changed (for a directory: something in it was added, changed or deleted).
    Changed,
    /// Deleted.
    Deleted,
}

impl ChangeKind {
    /// Docker's letter: A, C or D.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path of a container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct FileChange {
    /// Absolute path in the container.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(state: ContainerState) -> ContainerSummary {
        ContainerSummary {
            id: "0123456789abcdef".repeat(4),
            name: "web".into(),
            image: "nginx:1.27".into(),
            command: "nginx".into(),
            created: 0,
            state,
            started_at: Some(1_000),
            finished_at: Some(2_000),
            exit_code: Some(137),
            health: None,
            ports: vec![],
            networks: vec![],
            labels: BTreeMap::new(),
            size_rw: None,
            size_root_fs: None,
        }
    }

    #[test]
    fn cpu_is_measured_against_the_limit_or_the_host() {
        let mut s = StatsSample {
            cpu_percent: 50.0,
            host_cpus: 4,
            ..StatsSample::default()
        };
        assert_eq!(s.cpus_available(), 4.0);
        assert_eq!(s.cpu_of_available(), 12.5);
        s.cpu_limit = Some(0.5);
        assert_eq!(s.cpus_available(), 0.5);
        assert_eq!(s.cpu_of_available(), 100.0);
        // A limit above the host's cores is the host's cores.
        s.cpu_limit = Some(16.0);
        assert_eq!(s.cpus_available(), 4.0);
        // No host figure at all still divides by one core.
        let none = StatsSample {
            cpu_percent: 30.0,
            ..StatsSample::default()
        };
        assert_eq!(none.cpu_of_available(), 30.0);
        assert_eq!(none.memory_percent(), 0.0);
    }

    #[test]
    fn status_text_follows_docker() {
        assert_eq!(
            summary(ContainerState::Running).status_text(1_000 + 3 * 3600),
            "Up 3 hours"
        );
        assert_eq!(
            summary(ContainerState::Exited).status_text(2_000 + 120),
            "Exited (137) 2 minutes ago"
        );
        assert_eq!(
            summary(ContainerState::Paused).status_text(1_030),
            "Up 30 seconds (Paused)"
        );
        assert_eq!(
            summary(ContainerState::Created).status_text(5_000),
            "Created"
        );
    }

    #[test]
    fn ports_render_like_docker_ps() {
        let published = PortMapping {
            host_ip: Some("0.0.0.0".into()),
            host_port: Some(8080),
            container_port: 80,
            protocol: Protocol::Tcp,
        };
        let exposed = PortMapping {
            host_ip: None,
            host_port: None,
            container_port: 53,
            protocol: Protocol::Udp,
        };
        assert_eq!(published.to_string(), "0.0.0.0:8080->80/tcp");
        assert_eq!(exposed.to_string(), "53/udp");
    }
}
