//! The backend and its host: facts, disk use, what a prune removed.

use serde::Serialize;

use super::{ContainerState, ContainerSummary, ImageSummary, VolumeSummary};

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

/// What a prune removed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PruneReport {
    /// Ids or names of what was removed.
    pub deleted: Vec<String>,
    /// Bytes freed.
    pub space_reclaimed: u64,
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
    /// The build cache's entries and the bytes only it keeps, when the backend knows them.
    pub build_cache: Option<UsageRow>,
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
    usage.volumes = volume_usage(volumes);
    usage
}

/// The volumes row of `system df`: all, those in use, their bytes and the unused ones'.
pub fn volume_usage(volumes: &[VolumeSummary]) -> UsageRow {
    let mut row = UsageRow::default();
    for v in volumes {
        let size = v.size.unwrap_or(0);
        row.total += 1;
        row.size += size;
        if v.used_by.is_empty() {
            row.reclaimable += size;
        } else {
            row.active += 1;
        }
    }
    row
}

/// What a backend does differently, for the front ends to act on instead of asking which
/// backend it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// A `--rm` container is removed by the backend itself as its run ends (the engine's
    /// monitor does it before it lets attached clients go); otherwise whoever waits for a
    /// foreground `run --rm` removes it.
    pub removes_ended_runs: bool,
    /// An attach session ends the moment the container's exit is on record, so a foreground
    /// `run` attaches for its output even without `-i`/`-t` and learns of the exit at once.
    pub attach_ends_at_exit: bool,
}

/// What `system check` found in a data root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The data root checked.
    pub root: String,
    /// Blobs re-hashed.
    pub blobs: usize,
    /// Layers checked.
    pub layers: usize,
    /// Image records checked.
    pub images: usize,
    /// Container records checked.
    pub containers: usize,
    /// What is broken, and whether `--repair` dealt with it.
    pub problems: Vec<CheckProblem>,
    /// Blobs no image needs, and their bytes (kept to resume pulls).
    pub unused_blobs: (usize, u64),
    /// Layers no image needs.
    pub unused_layers: usize,
}

impl CheckReport {
    /// Whether a problem is left that `--repair` did not deal with.
    pub fn has_open_problems(&self) -> bool {
        self.problems.iter().any(|p| !p.repaired)
    }
}

/// One problem `system check` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckProblem {
    /// What is wrong, and where.
    pub what: String,
    /// Removed or rebuilt by `--repair`.
    pub repaired: bool,
}

/// What `system reset` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResetReport {
    /// Names of the containers removed.
    pub containers: Vec<String>,
    /// Names of the networks removed (the default one too).
    pub networks: Vec<String>,
    /// Names of the volumes removed.
    pub volumes: Vec<String>,
    /// Ids of the images removed.
    pub images: Vec<String>,
}

/// What `system boot` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BootReport {
    /// Names of the containers started.
    pub started: Vec<String>,
    /// Names of those that failed to start, and why.
    pub failed: Vec<(String, String)>,
}
