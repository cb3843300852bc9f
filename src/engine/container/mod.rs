//! Containers of the embedded engine: their records, the OCI runtime spec made at each
//! start, the per-container monitor process that owns a running container, its logs, and the
//! lifecycle operations the front ends call (create, start, stop, kill, wait, remove, rename,
//! pause, unpause, top).

pub mod attach;
pub mod cgroupfs;
pub mod check;
pub mod commit;
mod create;
pub mod etc_files;
pub mod exec;
pub mod files;
mod filesystem;
pub mod lifecycle;
pub mod logs;
mod memory;
pub mod monitor;
mod names;
pub mod network;
pub mod record;
pub mod relay;
mod seccomp;
pub mod spec;
mod start_error;
pub mod start_reply;
pub mod store;
pub mod supervision;
pub mod tenant;
pub mod volumes;
mod wait;

use std::path::PathBuf;

pub use lifecycle::{Backoff, Runtime, Snapshot};
pub use record::{ContainerConfig, ContainerState, Status};
pub use store::ContainerStore;

use crate::engine::image::ImageError;
use crate::engine::layer::SnapshotError;
use crate::engine::store::StoreError;

/// Where libcontainer keeps its per-container state (short paths: it binds a unix socket there).
pub const RUNTIME_DIR: &str = "/run/dockhand";

/// Deletes what libcontainer kept of a container's last run (its cgroup and its state in
/// [`RUNTIME_DIR`]), when a monitor died before it could.
pub fn clear_runtime_state(id: &str) {
    let dir = std::path::Path::new(RUNTIME_DIR).join(id);
    if dir.exists() {
        if let Ok(mut c) = libcontainer::container::Container::load(dir.clone()) {
            let _ = c.delete(true);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The layers of a container's root filesystem, bottom first: its own list (a build
/// step's) or its image's.
pub fn layers_of(
    images: &crate::engine::image::ImageStore,
    config: &ContainerConfig,
) -> Result<Vec<crate::engine::store::Digest>, ContainerError> {
    match &config.layers {
        Some(chain) => chain
            .iter()
            .map(|c| crate::engine::store::Digest::parse(c).map_err(ContainerError::from))
            .collect(),
        None => Ok(images
            .record(&crate::engine::store::Digest::parse(&config.image_id)?)?
            .chain()),
    }
}

/// Why a container operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// No container answers to the reference.
    #[error("no such container: {0}")]
    NotFound(String),
    /// An id prefix matches several containers.
    #[error("{reference} matches more than one container ({}); give more of the id or the name", candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        reference: String,
        /// Short ids of the matches.
        candidates: Vec<String>,
    },
    /// The request clashes with the container's name or another object.
    #[error("{0}")]
    Conflict(String),
    /// The container's state does not allow the operation (the state machine's wording).
    #[error(transparent)]
    Refused(#[from] crate::model::Refusal),
    /// A value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The command to run does not exist or cannot run (exit status 127 or 126).
    #[error("{message}")]
    CannotRun {
        /// 127 (not found) or 126 (not executable).
        code: i32,
        /// What failed.
        message: String,
    },
    /// A user stopped or removed the container while a run of it was being made.
    #[error("the container was stopped while it started")]
    Stopped,
    /// A record is unreadable.
    #[error("{path} is corrupt: {message}; remove the container with `dockhand rm -f`")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The image failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The root filesystem failed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A volume failed.
    #[error(transparent)]
    Volume(#[from] crate::engine::volume::VolumeError),
    /// A network failed.
    #[error(transparent)]
    Network(#[from] crate::engine::network::NetworkError),
    /// The container runtime failed: what failed, and the error that made it fail.
    #[error("{what}{}", .source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
    Runtime {
        /// What failed, and where.
        what: String,
        /// Why, when something below said.
        #[source]
        source: Option<Cause>,
    },
}

/// The error below a runtime failure.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl ContainerError {
    /// A runtime failure that has no error below it (a message that crossed a process
    /// boundary, a state that is not what it must be).
    pub fn runtime(what: impl Into<String>) -> ContainerError {
        ContainerError::Runtime {
            what: what.into(),
            source: None,
        }
    }
}

/// A runtime failure: `what` failed because of `cause`, which is kept as the source.
pub(crate) fn runtime(what: impl Into<String>, cause: impl Into<Cause>) -> ContainerError {
    ContainerError::Runtime {
        what: what.into(),
        source: Some(cause.into()),
    }
}

/// Runs `f` on a short-lived thread in a mount namespace of its own (a slave of the host's):
/// what `f` mounts is seen by nobody else and goes away with the thread however it ends.
pub(crate) fn in_own_mount_namespace<T: Send, E: Send + From<ContainerError>>(
    f: impl FnOnce() -> Result<T, E> + Send,
) -> Result<T, E> {
    std::thread::scope(|s| {
        s.spawn(|| {
            monitor::own_mount_namespace()
                .map_err(|e| runtime("cannot make a mount namespace of its own", e))?;
            f()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(ContainerError::runtime(
                "a thread working in a mount namespace of its own panicked",
            )
            .into())
        })
    })
}

/// Runs `f` on a short-lived thread that has entered the mount namespace of process `pid`.
/// The thread first stops sharing its filesystem context with the others, as the kernel
/// requires; the rest of the process stays where it is.
pub(crate) fn in_mount_namespace<T: Send>(
    pid: i32,
    f: impl FnOnce() -> Result<T, ContainerError> + Send,
) -> Result<T, ContainerError> {
    use nix::sched::CloneFlags;
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt")).map_err(|e| {
        runtime(
            format!("cannot open the mount namespace of process {pid}"),
            e,
        )
    })?;
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(CloneFlags::CLONE_FS)
                .map_err(|e| runtime("cannot leave the shared filesystem context", e))?;
            nix::sched::setns(&ns, CloneFlags::CLONE_NEWNS).map_err(|e| {
                runtime(
                    format!("cannot enter the mount namespace of process {pid}"),
                    e,
                )
            })?;
            f()
        })
        .join()
        .unwrap_or_else(|_| {
            Err(ContainerError::runtime(format!(
                "a thread working in the mount namespace of process {pid} panicked"
            )))
        })
    })
}
