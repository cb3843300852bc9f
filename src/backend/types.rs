//! Domain types shared by every backend, the CLI and the TUI.
//!
//! Nothing here depends on bollard or on the engine: each backend maps its own
//! models into these types, so the UI and the CLI see one vocabulary.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::util::time::human_duration;

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// The kind of object an id, event or error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A named volume.
    Volume,
    /// A network.
    Network,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Container => "container",
            ObjectKind::Image => "image",
            ObjectKind::Volume => "volume",
            ObjectKind::Network => "network",
        })
    }
}

/// Lifecycle state of a container, as Docker names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// Created but never started.
    Created,
    /// Its process is running.
    Running,
    /// Frozen by the freezer cgroup.
    Paused,
    /// Waiting for the restart policy to start it again.
    Restarting,
    /// Being removed.
    Removing,
    /// Its process has exited.
    Exited,
    /// Could not be stopped or removed cleanly.
    Dead,
}

impl ContainerState {
    /// Docker's lowercase name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
        }
    }

    /// Whether a process of the container is alive (running or paused).
    pub fn is_alive(self) -> bool {
        matches!(self, ContainerState::Running | ContainerState::Paused)
    }

    /// Whether `container prune` removes a container in this state.
    pub fn is_prunable(self) -> bool {
        matches!(
            self,
            ContainerState::Exited | ContainerState::Created | ContainerState::Dead
        )
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// Mounts.
    pub mounts: Vec<Mount>,
    /// Restart policy.
    pub restart_policy: RestartPolicy,
    /// Limits.
    pub resources: Resources,
    /// Network to attach to (default network when `None`).
    pub network: Option<String>,
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

/// What a prune removed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PruneReport {
    /// Ids or names of what was removed.
    pub deleted: Vec<String>,
    /// Bytes freed.
    pub space_reclaimed: u64,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// stdout or stderr.
    pub stream: LogStream,
    /// When the line was written, in nanoseconds since the epoch.
    pub timestamp_ns: i128,
    /// The text, without the trailing newline.
    pub text: String,
}

/// Which logs to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// Keep the stream open and send new lines as they are written.
    pub follow: bool,
    /// Only the last N lines of the history (all when `None`).
    pub tail: Option<usize>,
    /// Only lines written at or after this time.
    pub since: Option<UnixTime>,
}

/// What to run with `exec`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecSpec {
    /// Command and arguments.
    pub cmd: Vec<String>,
    /// Extra environment as `KEY=value`.
    pub env: Vec<String>,
    /// Working directory (the container's when `None`).
    pub working_dir: Option<String>,
    /// User (the container's when `None`).
    pub user: Option<String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Attach stdin.
    pub stdin: bool,
}

/// A piece of output from an exec or attach session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    /// stdout or stderr (a TTY session has only stdout).
    pub stream: LogStream,
    /// The bytes, as written.
    pub data: bytes::Bytes,
}

/// Which session, for resizing and exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionId {
    /// An exec instance by id.
    Exec(String),
    /// An attachment to a container's main process, by container id.
    Attach(String),
}

/// One sample of a container's resource usage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct StatsSample {
    /// When it was read.
    pub read: UnixTime,
    /// CPU use as a percentage of one core (200.0 = two full cores).
    pub cpu_percent: f64,
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

/// One row of an image list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageSummary {
    /// `sha256:<64 hex>`.
    pub id: String,
    /// `name:tag` references; empty for a dangling image.
    pub repo_tags: Vec<String>,
    /// `name@sha256:…` references.
    pub repo_digests: Vec<String>,
    /// Creation time from the image config.
    pub created: UnixTime,
    /// Size of all layers, bytes.
    pub size: u64,
    /// Number of containers using it.
    pub containers: usize,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl ImageSummary {
    /// The id without `sha256:`, shortened to 12 characters.
    pub fn short_id(&self) -> &str {
        short_id(self.id.strip_prefix("sha256:").unwrap_or(&self.id))
    }

    /// Repository and tag for display: the first reference, or `<none>`/`<none>`.
    pub fn repo_and_tag(&self) -> (String, String) {
        match self.repo_tags.first() {
            Some(r) => match r.rfind(':') {
                Some(i) if !r[i..].contains('/') => (r[..i].to_string(), r[i + 1..].to_string()),
                _ => (r.clone(), "latest".to_string()),
            },
            None => ("<none>".to_string(), "<none>".to_string()),
        }
    }
}

/// Everything known about one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageDetails {
    /// The list row.
    pub summary: ImageSummary,
    /// CPU architecture.
    pub architecture: String,
    /// Operating system.
    pub os: String,
    /// Default environment.
    pub env: Vec<String>,
    /// Default entrypoint.
    pub entrypoint: Vec<String>,
    /// Default command.
    pub cmd: Vec<String>,
    /// Default working directory.
    pub working_dir: String,
    /// Exposed ports, e.g. `80/tcp`.
    pub exposed_ports: Vec<String>,
    /// Layer diff ids, bottom first.
    pub layers: Vec<String>,
    /// Docker-shaped inspect document.
    pub inspect: serde_json::Value,
}

/// One step of an image's history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Image id of the step, or `<missing>`.
    pub id: String,
    /// When the step was made.
    pub created: UnixTime,
    /// The instruction that made it.
    pub created_by: String,
    /// Size the step added, bytes.
    pub size: u64,
    /// Comment.
    pub comment: String,
}

/// Progress of one layer during a pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullProgress {
    /// Short layer id (or the reference for whole-image messages).
    pub id: String,
    /// What is happening.
    pub status: PullStatus,
}

/// What a pull is doing with one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PullStatus {
    /// Queued.
    Waiting,
    /// The layer is already in the store.
    AlreadyExists,
    /// Downloading: bytes so far of total.
    Downloading {
        /// Bytes received.
        current: u64,
        /// Bytes expected, when known.
        total: Option<u64>,
    },
    /// Digest verified.
    Verifying,
    /// Unpacking: bytes so far of total.
    Extracting {
        /// Bytes unpacked.
        current: u64,
        /// Bytes expected, when known.
        total: Option<u64>,
    },
    /// The layer is complete.
    Complete,
    /// The whole image is stored; carries the resolved digest.
    Done {
        /// Manifest digest.
        digest: String,
    },
}

/// Progress of one layer (or of the whole image) during a push, in Docker's words
/// (`Preparing`, `Pushing`, `Pushed`, `Layer already exists`, `digest: sha256:… size: N`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushProgress {
    /// Short layer id, or the tag for whole-image lines.
    pub id: String,
    /// What happened.
    pub status: String,
}

/// One row of `system df`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    /// How many there are.
    pub total: usize,
    /// How many are in use.
    pub active: usize,
    /// Bytes on disk.
    pub size: u64,
    /// Bytes that removing the unused ones would free.
    pub reclaimable: u64,
}

/// Disk use by kind, as `system df` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    /// Images (layers shared between images counted once).
    pub images: UsageRow,
    /// Containers' own files.
    pub containers: UsageRow,
    /// Named volumes.
    pub volumes: UsageRow,
    /// Layers stored, when the backend knows them.
    pub layers: Option<usize>,
    /// Layers used by more than one image, and their bytes.
    pub shared_layers: Option<(usize, u64)>,
}

/// Whether a container's image field (a name, `name:tag` or an id) names `img`.
fn uses_image(image: &str, img: &ImageSummary) -> bool {
    let bare = image.trim_start_matches("sha256:");
    if bare.len() >= 12 && img.id.trim_start_matches("sha256:").starts_with(bare) {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    let tagged = if last.contains(':') {
        image.to_string()
    } else {
        format!("{image}:latest")
    };
    img.repo_tags.contains(&tagged)
}

/// `system df` figures from the lists, for backends that have no cheaper source.
pub fn usage_of(
    images: &[ImageSummary],
    containers: &[ContainerSummary],
    volumes: &[VolumeSummary],
) -> DiskUsage {
    let mut usage = DiskUsage::default();
    for img in images {
        let used = containers.iter().any(|c| uses_image(&c.image, img));
        usage.images.total += 1;
        usage.images.size += img.size;
        if used {
            usage.images.active += 1;
        } else {
            usage.images.reclaimable += img.size;
        }
    }
    for c in containers {
        let size = c.size_rw.unwrap_or(0);
        usage.containers.total += 1;
        usage.containers.size += size;
        if c.state == ContainerState::Running {
            usage.containers.active += 1;
        } else {
            usage.containers.reclaimable += size;
        }
    }
    for v in volumes {
        let size = v.size.unwrap_or(0);
        usage.volumes.total += 1;
        usage.volumes.size += size;
        if v.used_by.is_empty() {
            usage.volumes.reclaimable += size;
        } else {
            usage.volumes.active += 1;
        }
    }
    usage
}

/// One named volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeSummary {
    /// Name.
    pub name: String,
    /// Driver (`local`).
    pub driver: String,
    /// Where the data lives on the host.
    pub mountpoint: String,
    /// Creation time.
    pub created: UnixTime,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Names of containers that mount it.
    pub used_by: Vec<String>,
    /// Size on disk, when known.
    pub size: Option<u64>,
}

/// What to create a volume with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeSpec {
    /// Name; generated when `None`.
    pub name: Option<String>,
    /// Driver (`local` when `None`).
    pub driver: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// One network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSummary {
    /// Full id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `bridge`, `host`, `null`, …
    pub driver: String,
    /// `local` or `swarm`.
    pub scope: String,
    /// IPv4 subnet in CIDR notation.
    pub subnet: Option<String>,
    /// Gateway address.
    pub gateway: Option<String>,
    /// No outbound connectivity.
    pub internal: bool,
    /// Names of attached containers.
    pub containers: Vec<String>,
    /// Creation time.
    pub created: UnixTime,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl NetworkSummary {
    /// The first 12 characters of the id.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }

    /// Whether the network is one of the predefined ones that cannot be removed.
    pub fn is_builtin(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }
}

/// What to create a network with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkSpec {
    /// Name.
    pub name: String,
    /// Driver (`bridge` when `None`).
    pub driver: Option<String>,
    /// Subnet in CIDR notation; allocated when `None`.
    pub subnet: Option<String>,
    /// Gateway; the first address of the subnet when `None`.
    pub gateway: Option<String>,
    /// No outbound connectivity.
    pub internal: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A change reported by a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Event {
    /// When it happened.
    pub time: UnixTime,
    /// Kind of object.
    pub kind: ObjectKind,
    /// Docker's action name: `create`, `start`, `die`, `destroy`, `pull`, `tag`, …
    pub action: String,
    /// Id of the object.
    pub id: String,
    /// Name of the object, when it has one.
    pub name: Option<String>,
}

/// Facts about the backend and its host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemInfo {
    /// Which backend answers: `engine`, `docker`, `demo`.
    pub backend: String,
    /// The endpoint in use (a URL, the engine root, or `demo`).
    pub endpoint: String,
    /// Server version.
    pub server_version: String,
    /// API version in use, when there is an API.
    pub api_version: Option<String>,
    /// Host operating system.
    pub operating_system: String,
    /// Host kernel version.
    pub kernel_version: String,
    /// Storage driver.
    pub storage_driver: String,
    /// cgroup version (`1`, `2`, or `hybrid`).
    pub cgroup_version: String,
    /// Data root.
    pub root_dir: String,
    /// Number of CPUs.
    pub ncpu: u32,
    /// Host memory in bytes.
    pub mem_total: u64,
    /// Containers in total.
    pub containers: usize,
    /// Running containers.
    pub containers_running: usize,
    /// Paused containers.
    pub containers_paused: usize,
    /// Stopped containers.
    pub containers_stopped: usize,
    /// Images.
    pub images: usize,
}

/// The first 12 characters of an id.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
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

    #[test]
    fn image_repo_and_tag_split_on_the_last_colon_outside_the_host() {
        let mut img = ImageSummary {
            id: format!("sha256:{}", "ab".repeat(32)),
            repo_tags: vec!["localhost:5000/app".into()],
            repo_digests: vec![],
            created: 0,
            size: 0,
            containers: 0,
            labels: BTreeMap::new(),
        };
        assert_eq!(
            img.repo_and_tag(),
            ("localhost:5000/app".into(), "latest".into())
        );
        img.repo_tags = vec!["localhost:5000/app:v2".into()];
        assert_eq!(
            img.repo_and_tag(),
            ("localhost:5000/app".into(), "v2".into())
        );
        img.repo_tags.clear();
        assert_eq!(img.repo_and_tag(), ("<none>".into(), "<none>".into()));
        assert_eq!(img.short_id(), "abababababab");
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
