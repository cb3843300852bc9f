//! The seam between the front ends (TUI, CLI) and the container backends.
//!
//! [`Backend`] (one trait per kind of object: [`SystemBackend`], [`ContainerBackend`],
//! [`SessionBackend`], [`ImageBackend`], [`VolumeBackend`], [`NetworkBackend`]) is the one
//! interface the TUI and the CLI use. Implementations map their own models into the domain
//! types of [`crate::model`]; none of their types cross this seam. [`AnyBackend`] dispatches to
//! the implementation chosen at start-up; what differs between them is a method or
//! [`Capabilities`], never a match on the variant in a front end.

pub mod docker;
pub mod engine;
pub mod error;
pub mod fake;

use std::future::Future;
use std::time::Duration;

use futures::stream::BoxStream;

use crate::model::*;

pub use docker::DockerBackend;
pub use engine::EngineBackend;
pub use error::{BackendError, Result};
pub use fake::FakeBackend;

/// A stream of results that lives independently of the backend handle.
pub type ResultStream<T> = BoxStream<'static, Result<T>>;

/// A stream of bytes: image archives in and out.
pub type ByteStream = BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Where a session's input goes.
pub type SessionInput = std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>;

/// A running exec or attach session: its output, and its input when stdin was asked for.
pub struct Session {
    /// Which session.
    pub id: SessionId,
    /// Output until the process ends or the session is detached.
    pub output: ResultStream<OutputChunk>,
    /// Input, when stdin is attached.
    pub input: Option<SessionInput>,
}

/// The `.dockerignore` that applies: `<Dockerfile>.dockerignore` beside the Dockerfile,
/// else the context's.
pub fn ignore_file(spec: &BuildSpec) -> Result<crate::model::dockerignore::Ignore> {
    let beside = spec
        .dockerfile_path
        .as_ref()
        .map(|p| std::path::PathBuf::from(format!("{}.dockerignore", p.display())));
    let in_context = spec.context.as_ref().map(|c| c.join(".dockerignore"));
    for p in beside.into_iter().chain(in_context) {
        if let Ok(text) = std::fs::read_to_string(&p) {
            return Ok(crate::model::dockerignore::Ignore::parse(&text)?);
        }
    }
    Ok(Default::default())
}

/// Reads a byte stream to the end.
pub async fn collect_bytes(mut stream: ByteStream) -> std::io::Result<Vec<u8>> {
    use futures::StreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// `system df` figures from the lists of images, containers (measured) and volumes, for the
/// backends that compute them that way (Docker's and the demo).
pub async fn disk_usage_from_lists<B>(b: &B) -> Result<DiskUsage>
where
    B: ContainerBackend + ImageBackend + VolumeBackend,
{
    let images = b.list_images(true).await?;
    let containers = b.list_containers_sized(true).await?;
    let volumes = b.list_volumes().await?;
    Ok(usage_of(&images, &containers, &volumes))
}

/// Everything the TUI and the CLI ask of a container backend: one trait per kind of object.
/// Every backend implements all of them, each in a file of its own.
pub trait Backend:
    SystemBackend + ContainerBackend + SessionBackend + ImageBackend + VolumeBackend + NetworkBackend
{
}

impl<T> Backend for T where
    T: SystemBackend
        + ContainerBackend
        + SessionBackend
        + ImageBackend
        + VolumeBackend
        + NetworkBackend
{
}

/// The traits in one import, for callers that use several kinds: `use crate::backend::prelude::*`.
pub mod prelude {
    pub use super::{
        Backend, ContainerBackend, ImageBackend, NetworkBackend, SessionBackend, SystemBackend,
        VolumeBackend,
    };
}

/// The endpoint itself: reachability, facts, disk use and the stream of changes.
pub trait SystemBackend: Send + Sync {
    /// Checks that the endpoint answers.
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;
    /// Facts about the backend and its host.
    fn info(&self) -> impl Future<Output = Result<SystemInfo>> + Send;
    /// Disk use by images, containers and volumes.
    fn disk_usage(&self) -> impl Future<Output = Result<DiskUsage>> + Send;
    /// Changes as they happen, from now on.
    fn events(&self) -> impl Future<Output = Result<ResultStream<Event>>> + Send;
    /// Verifies the backend's own store (`system check`); with `repair`, removes what is
    /// broken. Backends whose store is a daemon's answer `Unsupported`.
    fn check(&self, repair: bool) -> impl Future<Output = Result<CheckReport>> + Send;
    /// Starts what the restart policies ask for after a reboot (`system boot`). Backends
    /// whose daemon does that itself answer `Unsupported`.
    fn boot(&self) -> impl Future<Output = Result<BootReport>> + Send;
    /// Removes every container, network (the default one too), volume and image of the
    /// backend's own store, and what they hold on the host (bridges, rules) (`system
    /// reset`). Backends whose store is a daemon's answer `Unsupported`.
    fn reset(&self) -> impl Future<Output = Result<ResetReport>> + Send;
    /// What this backend does differently.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}

/// Containers: listing, inspecting, the lifecycle, logs, stats, processes, files and prunes.
///
/// References (`reference` arguments) accept a name, a full id or a unique id prefix.
pub trait ContainerBackend: Send + Sync {
    /// Containers; stopped ones too when `all`.
    fn list_containers(
        &self,
        all: bool,
    ) -> impl Future<Output = Result<Vec<ContainerSummary>>> + Send;
    /// Containers as [`ContainerBackend::list_containers`] gives them, with `size_rw` and
    /// `size_root_fs` measured (`docker ps -s`): slower, as each container's layer is walked.
    fn list_containers_sized(
        &self,
        all: bool,
    ) -> impl Future<Output = Result<Vec<ContainerSummary>>> + Send;
    /// One container in full.
    fn inspect_container(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<ContainerDetails>> + Send;
    /// Creates a container and returns its id.
    fn create_container(&self, spec: ContainerSpec) -> impl Future<Output = Result<String>> + Send;
    /// Starts a created or stopped container.
    fn start_container(&self, reference: &str) -> impl Future<Output = Result<()>> + Send;
    /// Sends the stop signal, then SIGKILL after `timeout` (the container's default when `None`).
    fn stop_container(
        &self,
        reference: &str,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sends a signal (SIGKILL when `None`).
    fn kill_container(
        &self,
        reference: &str,
        signal: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Stops then starts a container.
    fn restart_container(
        &self,
        reference: &str,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Freezes every process of a container.
    fn pause_container(&self, reference: &str) -> impl Future<Output = Result<()>> + Send;
    /// Thaws a paused container.
    fn unpause_container(&self, reference: &str) -> impl Future<Output = Result<()>> + Send;
    /// Removes a container.
    fn remove_container(
        &self,
        reference: &str,
        options: RemoveOptions,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Renames a container.
    fn rename_container(
        &self,
        reference: &str,
        new_name: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Waits until a container exits and returns its exit code.
    fn wait_container(&self, reference: &str) -> impl Future<Output = Result<i64>> + Send;
    /// Processes running in a container.
    fn top_container(&self, reference: &str) -> impl Future<Output = Result<TopOutput>> + Send;
    /// Log lines of a container: history as asked, then new lines while `follow`.
    fn container_logs(
        &self,
        reference: &str,
        options: LogOptions,
    ) -> impl Future<Output = Result<ResultStream<LogLine>>> + Send;
    /// Resource usage samples, about one a second, while the container runs.
    fn container_stats(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<ResultStream<StatsSample>>> + Send;
    /// Samples for a list's CPU and MEM columns while the container runs: CPU, memory and
    /// the limits at least (a backend may fill in the rest), as cheaply as the backend can
    /// read them, every second or two.
    fn container_usage(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<ResultStream<StatsSample>>> + Send;
    /// Whether `path` exists in the container: `Some(true)` for a directory, `Some(false)` for
    /// anything else, `None` when missing.
    fn stat_path(
        &self,
        container: &str,
        path: &str,
    ) -> impl Future<Output = Result<Option<bool>>> + Send;
    /// A path of the container as a tar archive, its last component at the top (`docker cp`).
    fn copy_from(
        &self,
        container: &str,
        path: &str,
    ) -> impl Future<Output = Result<ByteStream>> + Send;
    /// Extracts a tar archive into an existing directory of the container.
    fn copy_to(
        &self,
        container: &str,
        dir: &str,
        archive: ByteStream,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The container's whole filesystem (its image and its changes, not its mounts) as a tar
    /// archive (`docker export`).
    fn export_container(&self, reference: &str) -> impl Future<Output = Result<ByteStream>> + Send;
    /// What the container changed in its filesystem compared with its image, sorted by path
    /// (`docker diff`).
    fn container_changes(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Vec<FileChange>>> + Send;
    /// Removes every stopped container.
    fn prune_containers(&self) -> impl Future<Output = Result<PruneReport>> + Send;
}

/// Interactive sessions: exec and attach, their terminal size and exit status.
pub trait SessionBackend: Send + Sync {
    /// Runs a process in a running container.
    fn exec(&self, container: &str, spec: ExecSpec)
    -> impl Future<Output = Result<Session>> + Send;
    /// Attaches to a container's main process (its output from now on, and stdin when asked).
    fn attach(&self, container: &str, stdin: bool) -> impl Future<Output = Result<Session>> + Send;
    /// Attaches to a container that the caller starts next (`run -a`, `start -a`), so that
    /// none of its output is missed. Backends that attach only to running containers answer
    /// `Conflict` for a stopped one, and the caller starts it first.
    fn attach_before_start(
        &self,
        container: &str,
        stdin: bool,
    ) -> impl Future<Output = Result<Session>> + Send {
        self.attach(container, stdin)
    }
    /// Tells a TTY session its new size.
    fn resize_session(
        &self,
        id: &SessionId,
        cols: u16,
        rows: u16,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Exit code of a session's process; `None` while it runs.
    fn session_exit_code(&self, id: &SessionId)
    -> impl Future<Output = Result<Option<i64>>> + Send;
}

/// Images: listing, inspecting, pulls and pushes, archives, tags, removal and prunes.
pub trait ImageBackend: Send + Sync {
    /// Images; intermediate ones too when `all`.
    fn list_images(&self, all: bool) -> impl Future<Output = Result<Vec<ImageSummary>>> + Send;
    /// One image in full.
    fn inspect_image(&self, reference: &str) -> impl Future<Output = Result<ImageDetails>> + Send;
    /// The steps that built an image, newest first.
    fn image_history(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>>> + Send;
    /// Pulls an image, reporting progress per layer.
    fn pull_image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<ResultStream<PullProgress>>> + Send;
    /// Pushes an image to its registry, reporting progress per layer.
    fn push_image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<ResultStream<PushProgress>>> + Send;
    /// Loads images from a `docker save` archive; returns `Loaded image: …` lines.
    fn load_images(&self, archive: ByteStream) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Writes the images as a `docker save` archive that `docker load` accepts.
    fn save_images(&self, references: &[String])
    -> impl Future<Output = Result<ByteStream>> + Send;
    /// Makes an image of one layer from a root filesystem tarball; `changes` are Dockerfile
    /// instructions (`CMD ["sh"]`, `ENV A=b`, `WORKDIR /app`, …). Returns the image id.
    fn import_image(
        &self,
        rootfs: ByteStream,
        reference: Option<&str>,
        changes: &[String],
    ) -> impl Future<Output = Result<String>> + Send;
    /// Adds the reference `target` to an image.
    fn tag_image(&self, source: &str, target: &str) -> impl Future<Output = Result<()>> + Send;
    /// Removes a reference, and the image when no reference is left. Returns what was untagged
    /// and deleted, in `docker rmi` wording (`Untagged: …`, `Deleted: …`).
    fn remove_image(
        &self,
        reference: &str,
        force: bool,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Removes dangling images; every unused one when `all`.
    fn prune_images(&self, all: bool) -> impl Future<Output = Result<PruneReport>> + Send;
    /// Removes the build cache's entries that keep something no image keeps (every entry
    /// when `all`) and what only they kept.
    fn prune_build_cache(&self, all: bool) -> impl Future<Output = Result<PruneReport>> + Send;
    /// Builds an image from a Dockerfile; the build's progress, ending with
    /// [`BuildEvent::Built`]. Dropping the stream stops the build.
    fn build_image(
        &self,
        spec: BuildSpec,
    ) -> impl Future<Output = Result<ResultStream<BuildEvent>>> + Send;
    /// Makes an image of a container's changes (`docker commit`) and returns its id.
    fn commit_container(
        &self,
        container: &str,
        spec: CommitSpec,
    ) -> impl Future<Output = Result<String>> + Send;
}

/// Named volumes.
pub trait VolumeBackend: Send + Sync {
    /// Named volumes.
    fn list_volumes(&self) -> impl Future<Output = Result<Vec<VolumeSummary>>> + Send;
    /// One volume.
    fn inspect_volume(&self, name: &str) -> impl Future<Output = Result<VolumeSummary>> + Send;
    /// Creates a volume and returns it.
    fn create_volume(&self, spec: VolumeSpec)
    -> impl Future<Output = Result<VolumeSummary>> + Send;
    /// Removes a volume; refused while a container uses it (`force`: a missing one is no
    /// error).
    fn remove_volume(&self, name: &str, force: bool) -> impl Future<Output = Result<()>> + Send;
    /// Removes every volume no container uses (Docker 20.10's rule: named ones too).
    fn prune_volumes(&self) -> impl Future<Output = Result<PruneReport>> + Send;
}

/// Networks and the containers attached to them.
pub trait NetworkBackend: Send + Sync {
    /// Networks.
    fn list_networks(&self) -> impl Future<Output = Result<Vec<NetworkSummary>>> + Send;
    /// One network.
    fn inspect_network(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<NetworkSummary>> + Send;
    /// Creates a network and returns its id.
    fn create_network(&self, spec: NetworkSpec) -> impl Future<Output = Result<String>> + Send;
    /// Removes a network; refused while containers are attached.
    fn remove_network(&self, reference: &str) -> impl Future<Output = Result<()>> + Send;
    /// Removes every user-defined network without containers.
    fn prune_networks(&self) -> impl Future<Output = Result<PruneReport>> + Send;
    /// Attaches a container to a network.
    fn connect_network(
        &self,
        network: &str,
        container: &str,
        options: ConnectOptions,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Detaches a container from a network.
    fn disconnect_network(
        &self,
        network: &str,
        container: &str,
        force: bool,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The backend chosen at start-up.
#[derive(Clone)]
pub enum AnyBackend {
    /// In-memory sample data (`--demo`, UI tests).
    Fake(FakeBackend),
    /// A Docker-compatible API endpoint.
    Docker(DockerBackend),
    /// The embedded engine.
    Engine(EngineBackend),
}

impl From<FakeBackend> for AnyBackend {
    fn from(b: FakeBackend) -> AnyBackend {
        AnyBackend::Fake(b)
    }
}

impl From<DockerBackend> for AnyBackend {
    fn from(b: DockerBackend) -> AnyBackend {
        AnyBackend::Docker(b)
    }
}

impl From<EngineBackend> for AnyBackend {
    fn from(b: EngineBackend) -> AnyBackend {
        AnyBackend::Engine(b)
    }
}

impl AnyBackend {
    /// A short label for the status bar: what answers and where.
    pub fn endpoint_label(&self) -> String {
        match self {
            AnyBackend::Fake(_) => "demo (sample data)".to_string(),
            AnyBackend::Docker(d) => d.url().to_string(),
            AnyBackend::Engine(e) => format!("engine {}", e.root().display()),
        }
    }

    /// `exec` without a terminal run by this very process, with its stdio, where the backend
    /// can (the engine joins the container itself); `None` where it cannot, and the caller
    /// goes through [`SessionBackend::exec`]. The outer result is the request's, the inner
    /// one the command's status or 126/127 with what went wrong. Call it only while the
    /// process is single-threaded (before a runtime starts).
    pub fn exec_here(
        &self,
        container: &str,
        spec: ExecSpec,
    ) -> Option<Result<std::result::Result<i32, (i32, String)>>> {
        match self {
            AnyBackend::Engine(e) => Some(e.exec_here(container, spec)),
            AnyBackend::Fake(_) | AnyBackend::Docker(_) => None,
        }
    }

    /// Whether the data shown is sample data.
    pub fn is_demo(&self) -> bool {
        matches!(self, AnyBackend::Fake(_))
    }
}

/// Forwards each method of a trait to the chosen implementation.
macro_rules! dispatch {
    ($trait:ident { $( fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )* } $($extra:item)*) => {
        impl $trait for AnyBackend {
            $($extra)*
            $(
                async fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                    match self {
                        AnyBackend::Fake(b) => b.$name($($arg),*).await,
                        AnyBackend::Docker(b) => b.$name($($arg),*).await,
                        AnyBackend::Engine(b) => b.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

dispatch! {
    SystemBackend {
        fn ping(&self) -> ();
        fn info(&self) -> SystemInfo;
        fn disk_usage(&self) -> DiskUsage;
        fn events(&self) -> ResultStream<Event>;
        fn check(&self, repair: bool) -> CheckReport;
        fn boot(&self) -> BootReport;
        fn reset(&self) -> ResetReport;
    }
    fn capabilities(&self) -> Capabilities {
        match self {
            AnyBackend::Fake(b) => b.capabilities(),
            AnyBackend::Docker(b) => b.capabilities(),
            AnyBackend::Engine(b) => b.capabilities(),
        }
    }
}

dispatch! {
    ContainerBackend {
        fn list_containers(&self, all: bool) -> Vec<ContainerSummary>;
        fn list_containers_sized(&self, all: bool) -> Vec<ContainerSummary>;
        fn inspect_container(&self, reference: &str) -> ContainerDetails;
        fn create_container(&self, spec: ContainerSpec) -> String;
        fn start_container(&self, reference: &str) -> ();
        fn stop_container(&self, reference: &str, timeout: Option<Duration>) -> ();
        fn kill_container(&self, reference: &str, signal: Option<&str>) -> ();
        fn restart_container(&self, reference: &str, timeout: Option<Duration>) -> ();
        fn pause_container(&self, reference: &str) -> ();
        fn unpause_container(&self, reference: &str) -> ();
        fn remove_container(&self, reference: &str, options: RemoveOptions) -> ();
        fn rename_container(&self, reference: &str, new_name: &str) -> ();
        fn wait_container(&self, reference: &str) -> i64;
        fn top_container(&self, reference: &str) -> TopOutput;
        fn container_logs(&self, reference: &str, options: LogOptions) -> ResultStream<LogLine>;
        fn container_stats(&self, reference: &str) -> ResultStream<StatsSample>;
        fn container_usage(&self, reference: &str) -> ResultStream<StatsSample>;
        fn stat_path(&self, container: &str, path: &str) -> Option<bool>;
        fn copy_from(&self, container: &str, path: &str) -> ByteStream;
        fn copy_to(&self, container: &str, dir: &str, archive: ByteStream) -> ();
        fn export_container(&self, reference: &str) -> ByteStream;
        fn container_changes(&self, reference: &str) -> Vec<FileChange>;
        fn prune_containers(&self) -> PruneReport;
    }
}

dispatch! {
    SessionBackend {
        fn exec(&self, container: &str, spec: ExecSpec) -> Session;
        fn attach(&self, container: &str, stdin: bool) -> Session;
        fn attach_before_start(&self, container: &str, stdin: bool) -> Session;
        fn resize_session(&self, id: &SessionId, cols: u16, rows: u16) -> ();
        fn session_exit_code(&self, id: &SessionId) -> Option<i64>;
    }
}

dispatch! {
    ImageBackend {
        fn list_images(&self, all: bool) -> Vec<ImageSummary>;
        fn inspect_image(&self, reference: &str) -> ImageDetails;
        fn image_history(&self, reference: &str) -> Vec<HistoryEntry>;
        fn pull_image(&self, reference: &str) -> ResultStream<PullProgress>;
        fn push_image(&self, reference: &str) -> ResultStream<PushProgress>;
        fn load_images(&self, archive: ByteStream) -> Vec<String>;
        fn save_images(&self, references: &[String]) -> ByteStream;
        fn import_image(&self, rootfs: ByteStream, reference: Option<&str>, changes: &[String]) -> String;
        fn tag_image(&self, source: &str, target: &str) -> ();
        fn remove_image(&self, reference: &str, force: bool) -> Vec<String>;
        fn prune_images(&self, all: bool) -> PruneReport;
        fn prune_build_cache(&self, all: bool) -> PruneReport;
        fn commit_container(&self, container: &str, spec: CommitSpec) -> String;
        fn build_image(&self, spec: BuildSpec) -> ResultStream<BuildEvent>;
    }
}

dispatch! {
    VolumeBackend {
        fn list_volumes(&self) -> Vec<VolumeSummary>;
        fn inspect_volume(&self, name: &str) -> VolumeSummary;
        fn create_volume(&self, spec: VolumeSpec) -> VolumeSummary;
        fn remove_volume(&self, name: &str, force: bool) -> ();
        fn prune_volumes(&self) -> PruneReport;
    }
}

dispatch! {
    NetworkBackend {
        fn list_networks(&self) -> Vec<NetworkSummary>;
        fn inspect_network(&self, reference: &str) -> NetworkSummary;
        fn create_network(&self, spec: NetworkSpec) -> String;
        fn remove_network(&self, reference: &str) -> ();
        fn prune_networks(&self) -> PruneReport;
        fn connect_network(&self, network: &str, container: &str, options: ConnectOptions) -> ();
        fn disconnect_network(&self, network: &str, container: &str, force: bool) -> ();
    }
}
