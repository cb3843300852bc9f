//! The embedded engine behind the `Backend` seam. Images (list, inspect, history, pull,
//! load, save, import, tag, remove, prune) and events are served from the engine's store;
//! every store call runs on a blocking thread so that the caller's runtime never waits on
//! disk. Containers, volumes and networks arrive with the engine's container runtime; until
//! then the CLI sends only image commands here (see `cli::select_backend`).

mod containers;
mod convert;
mod exec;
mod session_io;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::error::{BackendError, Result};
use super::{Backend, ByteStream, ResultStream, Session};
use crate::engine::events::{Entry, Journal};
use crate::engine::image::{ImageStore, archive, import};
use crate::engine::registry::{CredentialStore, RegistrySettings};
use crate::engine::store::Root;
use crate::model::Reference;
use crate::model::*;
use crate::util::chan_io::{ChannelReader, ChannelWriter};
use crate::util::time::unix_now;

pub use convert::{image_error, registry_error};

struct Inner {
    root: Root,
    exe: std::path::PathBuf,
    runtime: std::sync::OnceLock<crate::engine::container::Runtime>,
    sessions: exec::Sessions,
    /// Created containers a client attached to before starting them: their monitor waits
    /// for that client before the process starts.
    attach_pending: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Exit statuses that attach sessions received from the monitor, by container id, until
    /// asked for (a `--rm` container is out of the store by then).
    attach_exits: session_io::Exits,
    images: ImageStore,
    journal: Journal,
    registry: RegistrySettings,
    storage_driver: String,
}

/// The embedded engine on one data root.
#[derive(Clone)]
pub struct EngineBackend {
    inner: Arc<Inner>,
}

/// Options for opening the engine.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Registries reached over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// Where registry credentials are kept (the default: dockhand's and Docker's files).
    pub credentials: Option<CredentialStore>,
    /// `overlay`, `copy` or `auto`.
    pub storage_driver: String,
    /// The dockhand binary, run as each container's monitor (this process's own by default).
    pub exe: Option<std::path::PathBuf>,
}

impl EngineBackend {
    /// Opens the engine on `root`, creating its layout. The engine needs root.
    pub fn open(root: &Path, options: EngineOptions) -> Result<EngineBackend> {
        if !rustix::process::geteuid().is_root() {
            return Err(BackendError::PermissionDenied {
                message: format!(
                    "the embedded engine (root {}) needs root for its mounts and namespaces; run dockhand as root, or use a Docker-compatible endpoint with -H docker or -H podman",
                    root.display()
                ),
                source: None,
            });
        }
        let opened = Root::open(root).map_err(|e| BackendError::Unavailable {
            endpoint: root.display().to_string(),
            message: format!("cannot open the data root: {e}"),
            source: Some(Box::new(e)),
        })?;
        let exe = match options.exe {
            Some(e) => e,
            None => std::env::current_exe().map_err(|e| BackendError::Internal {
                message: format!("cannot find the dockhand binary to run container monitors: {e}"),
                source: None,
            })?,
        };
        Ok(EngineBackend {
            inner: Arc::new(Inner {
                exe,
                runtime: std::sync::OnceLock::new(),
                sessions: exec::Sessions::default(),
                attach_pending: Default::default(),
                attach_exits: Default::default(),
                images: ImageStore::new(&opened),
                journal: Journal::new(opened.path()),
                root: opened,
                registry: RegistrySettings {
                    insecure: options.insecure_registries,
                    credentials: options.credentials.unwrap_or_default(),
                    parallel: 3,
                },
                storage_driver: if options.storage_driver.is_empty() {
                    "auto".into()
                } else {
                    options.storage_driver
                },
            }),
        })
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        self.inner.root.path()
    }

    /// The image store.
    pub fn images(&self) -> &ImageStore {
        &self.inner.images
    }

    /// The registry settings.
    pub fn registry(&self) -> &RegistrySettings {
        &self.inner.registry
    }

    /// The storage driver in use (`auto` is settled by trying overlay once).
    fn driver(&self) -> crate::engine::layer::Driver {
        use crate::engine::layer::Driver;
        match self.inner.storage_driver.as_str() {
            "overlay" => Driver::Overlay,
            "copy" => Driver::Copy,
            _ => Driver::detect_once(self.inner.root.path(), &self.inner.root.tmp()),
        }
    }

    /// The container runtime.
    pub fn runtime(&self) -> &crate::engine::container::Runtime {
        self.inner.runtime.get_or_init(|| {
            crate::engine::container::Runtime::new(
                &self.inner.root,
                self.inner.exe.clone(),
                self.driver(),
            )
        })
    }

    fn resolve_container(&self, reference: &str) -> Result<String> {
        self.runtime()
            .store()
            .resolve(reference)
            .map_err(containers::container_error)
    }

    /// Records an event in the journal.
    fn emit(&self, kind: ObjectKind, action: &str, id: &str, name: Option<&str>) {
        self.inner.journal.append(&Entry {
            time: unix_now(),
            kind: kind.into(),
            action: action.into(),
            id: id.into(),
            name: name.map(str::to_string),
        });
    }

    /// Runs store work on a blocking thread.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&EngineBackend) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| BackendError::Internal {
                message: format!("an engine task failed: {e}"),
                source: None,
            })?
    }

    fn unsupported(&self, operation: &str) -> BackendError {
        BackendError::Unsupported {
            operation: operation.to_string(),
            backend: format!("the embedded engine at {}", self.root().display()),
            hint: "the embedded engine of this build has no named volumes and no networks besides host and none; containers take bind mounts (-v /host/path:/path), tmpfs mounts and --network host|none. Use -H docker or -H podman for the rest".into(),
        }
    }

    /// Attach; with `starting`, a stopped container is about to be started by the caller,
    /// and its monitor will wait for this client.
    async fn attach_with(&self, container: &str, stdin: bool, starting: bool) -> Result<Session> {
        use crate::engine::container::Status;
        let reference = container.to_string();
        let (id, name, status) = self
            .blocking(move |me| {
                let id = me.resolve_container(&reference)?;
                let snap = me.runtime().get(&id).map_err(containers::container_error)?;
                Ok((id, snap.config.name, snap.state.status))
            })
            .await?;
        let until = match status.model().check(Operation::Attach, &name) {
            Ok(_) => None,
            Err(_) if status == Status::Created || (starting && status == Status::Exited) => {
                // Attached before the start: the monitor will wait for us.
                self.inner
                    .attach_pending
                    .lock()
                    .expect("attach lock")
                    .insert(id.clone());
                Some(std::time::Instant::now() + std::time::Duration::from_secs(30))
            }
            Err(refusal) => return Err(refusal.into()),
        };
        let path = crate::engine::container::attach::socket_path(&id);
        let (session, ends) = session_io::channels(SessionId::Attach(id.clone()), stdin);
        // A status an earlier session received and nobody asked for is not this one's.
        self.inner.attach_exits.take(&id);
        let exit = session_io::ExitSlot::new(self.inner.attach_exits.clone(), id);
        tokio::spawn(session_io::attach(path, name, until, ends, exit));
        Ok(session)
    }

    /// The id of a running container to exec in.
    fn exec_target(&self, reference: &str) -> Result<String> {
        let id = self.resolve_container(reference)?;
        let snap = self
            .runtime()
            .get(&id)
            .map_err(containers::container_error)?;
        snap.state
            .status
            .model()
            .check(Operation::Exec, &snap.config.name)?;
        Ok(id)
    }

    /// `exec` without a TTY from this very process, with its stdio (stdin only when
    /// `spec.stdin`): it joins the container as the `__exec` helper does, sparing a process
    /// and a relay. Returns the command's status, or 126/127 with what went wrong. Call it
    /// only while the process is single-threaded (before a runtime starts): libcontainer
    /// forks.
    pub fn exec_here(
        &self,
        container: &str,
        spec: ExecSpec,
    ) -> Result<std::result::Result<i32, (i32, String)>> {
        let id = self.exec_target(container)?;
        if spec.cmd.is_empty() {
            return Err(BackendError::invalid("exec needs a command"));
        }
        if spec.tty {
            return Err(BackendError::invalid("exec_here runs without a terminal"));
        }
        if !spec.stdin {
            let null = std::fs::File::open("/dev/null").map_err(|e| BackendError::Internal {
                message: format!("cannot open /dev/null: {e}"),
                source: Some(Box::new(e)),
            })?;
            rustix::stdio::dup2_stdin(&null).map_err(|e| BackendError::Internal {
                message: format!("cannot redirect stdin: {e}"),
                source: None,
            })?;
        }
        let request = crate::engine::container::exec::ExecRequest {
            cmd: spec.cmd,
            env: spec.env,
            working_dir: spec.working_dir,
            user: spec.user,
            tty: false,
            console_socket: None,
        };
        Ok(crate::engine::container::exec::run(
            &self.inner.root,
            &id,
            &request,
        ))
    }

    /// Short ids of the containers made from image `id`.
    fn containers_using(&self, id: &crate::engine::store::Digest) -> Result<Vec<String>> {
        Ok(self
            .runtime()
            .list()
            .map_err(containers::container_error)?
            .into_iter()
            .filter(|s| s.config.image_id == id.to_string())
            .map(|s| s.config.id[..12].to_string())
            .collect())
    }

    /// Removes one image by id and collects what it alone used.
    fn delete_image(&self, id: &crate::engine::store::Digest) -> Result<(Vec<String>, u64)> {
        let store = self.images();
        let lock = store.lock().map_err(image_error)?;
        let untagged = store
            .delete(&lock, id, &BTreeSet::new())
            .map_err(image_error)?;
        let freed = store
            .collect(&lock, &BTreeSet::new())
            .map_err(image_error)?;
        let mut lines: Vec<String> = untagged
            .iter()
            .map(|t| format!("Untagged: {}", t.familiar()))
            .collect();
        lines.push(format!("Deleted: {id}"));
        for t in &untagged {
            self.emit(
                ObjectKind::Image,
                "untag",
                &id.to_string(),
                Some(&t.familiar()),
            );
        }
        self.emit(ObjectKind::Image, "delete", &id.to_string(), None);
        Ok((lines, freed))
    }
}

fn receiver_stream<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> futures::stream::BoxStream<'static, T> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) }).boxed()
}

fn parse_reference(r: &str) -> Result<Reference> {
    Reference::parse(r).map_err(|e| BackendError::invalid(e.to_string()))
}

/// Methods of the container runtime, which this build's engine does not have.
macro_rules! unsupported {
    ($( fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $(
            async fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                $( let _ = $arg; )*
                Err(self.unsupported(stringify!($name)))
            }
        )*
    };
}

impl Backend for EngineBackend {
    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn info(&self) -> Result<SystemInfo> {
        self.blocking(|me| {
            let images = me.images().records().map_err(image_error)?.len();
            let all = me.runtime().list().map_err(containers::container_error)?;
            let count = |st: crate::engine::container::Status| {
                all.iter().filter(|s| s.state.status == st).count()
            };
            use crate::engine::container::Status as S;
            Ok(SystemInfo {
                backend: "engine".into(),
                endpoint: me.root().display().to_string(),
                server_version: env!("CARGO_PKG_VERSION").into(),
                api_version: None,
                operating_system: crate::engine::host::operating_system(),
                kernel_version: crate::engine::host::kernel_version(),
                storage_driver: me.driver().name().to_string(),
                cgroup_version: crate::engine::host::CgroupLayout::detect().label().into(),
                root_dir: me.root().display().to_string(),
                ncpu: crate::engine::host::cpus(),
                mem_total: crate::engine::host::memory(),
                containers: all.len(),
                containers_running: count(S::Running),
                containers_paused: count(S::Paused),
                containers_stopped: count(S::Exited) + count(S::Created),
                images,
            })
        })
        .await
    }

    async fn list_images(&self, _all: bool) -> Result<Vec<ImageSummary>> {
        self.blocking(|me| {
            let layers = me.images().layers();
            let containers = me.runtime().list().map_err(containers::container_error)?;
            let mut out: Vec<ImageSummary> = me
                .images()
                .images()
                .map_err(image_error)?
                .iter()
                .map(|i| {
                    let mut row = convert::summary(i, &layers);
                    row.containers = containers
                        .iter()
                        .filter(|c| c.config.image_id == row.id)
                        .count();
                    row
                })
                .collect();
            out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
            Ok(out)
        })
        .await
    }

    async fn inspect_image(&self, reference: &str) -> Result<ImageDetails> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.images().resolve(&reference).map_err(image_error)?;
            let image = me.images().image(&id).map_err(image_error)?;
            Ok(convert::details(&image, &me.images().layers()))
        })
        .await
    }

    async fn image_history(&self, reference: &str) -> Result<Vec<HistoryEntry>> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.images().resolve(&reference).map_err(image_error)?;
            let image = me.images().image(&id).map_err(image_error)?;
            Ok(convert::history(&image, &me.images().layers()))
        })
        .await
    }

    async fn pull_image(&self, reference: &str) -> Result<ResultStream<PullProgress>> {
        let parsed = parse_reference(reference)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<PullProgress>>(256);
        let me = self.clone();
        tokio::spawn(async move {
            let progress_tx = tx.clone();
            let report = move |p: PullProgress| {
                let _ = progress_tx.try_send(Ok(p));
            };
            let result =
                crate::engine::registry::pull::pull(me.images(), &parsed, me.registry(), &report)
                    .await;
            match result {
                Ok(id) => me.emit(
                    ObjectKind::Image,
                    "pull",
                    &id.to_string(),
                    Some(&parsed.familiar()),
                ),
                Err(e) => {
                    let _ = tx.send(Err(registry_error(e))).await;
                }
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn push_image(&self, reference: &str) -> Result<ResultStream<PushProgress>> {
        let target = parse_reference(reference)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<PushProgress>>(256);
        let me = self.clone();
        let source = reference.to_string();
        tokio::spawn(async move {
            let progress_tx = tx.clone();
            let report = move |id: &str, status: &str| {
                let _ = progress_tx.try_send(Ok(PushProgress {
                    id: id.to_string(),
                    status: status.to_string(),
                }));
            };
            let result = crate::engine::registry::push::push(
                me.images(),
                &source,
                &target,
                me.registry(),
                &report,
            )
            .await;
            match result {
                Ok(digest) => {
                    let size = me
                        .images()
                        .resolve(&source)
                        .ok()
                        .and_then(|id| me.images().image(&id).ok())
                        .map_or(0, |i| i.record.layers.iter().map(|l| l.size).sum::<u64>());
                    let _ = tx
                        .send(Ok(PushProgress {
                            id: target.tag.clone().unwrap_or_default(),
                            status: format!("digest: {digest} size: {size}"),
                        }))
                        .await;
                    me.emit(
                        ObjectKind::Image,
                        "push",
                        &digest.to_string(),
                        Some(&target.familiar()),
                    );
                }
                Err(e) => {
                    let _ = tx.send(Err(registry_error(e))).await;
                }
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn load_images(&self, archive: ByteStream) -> Result<Vec<String>> {
        let reader = ChannelReader::from_stream(archive);
        self.blocking(move |me| {
            let loaded = archive::load(me.images(), reader).map_err(image_error)?;
            let mut lines = Vec::new();
            for l in &loaded {
                let name = l.tags.first().map(|t| t.familiar());
                me.emit(
                    ObjectKind::Image,
                    "load",
                    &l.id.to_string(),
                    name.as_deref(),
                );
                lines.extend(l.lines());
            }
            Ok(lines)
        })
        .await
    }

    async fn save_images(&self, references: &[String]) -> Result<ByteStream> {
        let references = references.to_vec();
        // Every name must resolve before any byte is written.
        let checked = references.clone();
        self.blocking(move |me| {
            for r in &checked {
                me.images().resolve(r).map_err(image_error)?;
            }
            Ok(())
        })
        .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let writer = ChannelWriter::new(tx.clone());
            if let Err(e) = archive::save(me.images(), &references, writer) {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn import_image(
        &self,
        rootfs: ByteStream,
        reference: Option<&str>,
        changes: &[String],
    ) -> Result<String> {
        let changes = crate::model::import_changes::parse(changes)?;
        let tag = reference.map(parse_reference).transpose()?;
        let reader = ChannelReader::from_stream(rootfs);
        self.blocking(move |me| {
            let id = import::import(
                me.images(),
                reader,
                changes.config_json(),
                unix_now(),
                tag.as_ref(),
            )
            .map_err(image_error)?;
            let name = tag.as_ref().map(|t| t.familiar());
            me.emit(
                ObjectKind::Image,
                "import",
                &id.to_string(),
                name.as_deref(),
            );
            Ok(id.to_string())
        })
        .await
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let target = parse_reference(target)?;
        if target.digest.is_some() {
            return Err(BackendError::invalid(format!(
                "{} names a digest; a tag is NAME[:TAG]",
                target.familiar()
            )));
        }
        let source = source.to_string();
        self.blocking(move |me| {
            let store = me.images();
            let id = store.resolve(&source).map_err(image_error)?;
            let lock = store.lock().map_err(image_error)?;
            store.tag(&lock, &id, &target).map_err(image_error)?;
            me.emit(
                ObjectKind::Image,
                "tag",
                &id.to_string(),
                Some(&target.familiar()),
            );
            Ok(())
        })
        .await
    }

    async fn remove_image(&self, reference: &str, force: bool) -> Result<Vec<String>> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let store = me.images();
            let id = store.resolve(&reference).map_err(image_error)?;
            let tags = store.image(&id).map_err(image_error)?.tags;
            let users = me.containers_using(&id)?;
            if !users.is_empty() {
                if !force {
                    return Err(BackendError::conflict(format!(
                        "unable to remove {reference} (must be forced): container {} is using it; remove the container first or use -f",
                        users.join(", ")
                    )));
                }
                // Forced: the names go, the image stays for its containers, as Docker does.
                let lock = store.lock().map_err(image_error)?;
                let mut lines = Vec::new();
                for t in &tags {
                    store.untag(&lock, t).map_err(image_error)?;
                    me.emit(ObjectKind::Image, "untag", &id.to_string(), Some(&t.familiar()));
                    lines.push(format!("Untagged: {}", t.familiar()));
                }
                return Ok(lines);
            }
            // A name of an image that has other names: only that name goes.
            let named = Reference::parse(&reference)
                .ok()
                .filter(|r| tags.iter().any(|t| t.full() == r.full()));
            if let Some(name) = named {
                if tags.len() > 1 {
                    let lock = store.lock().map_err(image_error)?;
                    store.untag(&lock, &name).map_err(image_error)?;
                    me.emit(ObjectKind::Image, "untag", &id.to_string(), Some(&name.familiar()));
                    return Ok(vec![format!("Untagged: {}", name.familiar())]);
                }
            } else if tags.len() > 1 && !force {
                return Err(BackendError::conflict(format!(
                    "unable to delete {} (must be forced): the image is referenced in multiple repositories ({}); remove the names one by one or use -f",
                    &id.hex()[..12],
                    tags.iter().map(|t| t.familiar()).collect::<Vec<_>>().join(", ")
                )));
            }
            me.delete_image(&id).map(|(lines, _)| lines)
        })
        .await
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        self.blocking(move |me| {
            let store = me.images();
            let mut report = PruneReport::default();
            for image in store.images().map_err(image_error)? {
                if !me.containers_using(&image.record.id)?.is_empty() {
                    continue;
                }
                if all || image.tags.is_empty() {
                    let (lines, freed) = me.delete_image(&image.record.id)?;
                    report.deleted.extend(lines);
                    report.space_reclaimed += freed;
                }
            }
            // Blobs and layers left by interrupted pulls go too.
            let lock = store.lock().map_err(image_error)?;
            report.space_reclaimed += store
                .collect(&lock, &BTreeSet::new())
                .map_err(image_error)?;
            Ok(report)
        })
        .await
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        self.blocking(|me| {
            let store = me.images();
            let layers = store.layers();
            let metas = layers.list().map_err(|e| image_error(e.into()))?;
            let records = store.records().map_err(image_error)?;
            // How many images use each layer.
            let mut users: std::collections::BTreeMap<_, usize> = Default::default();
            for r in &records {
                for c in r.chain() {
                    *users.entry(c).or_default() += 1;
                }
            }
            let mut usage = DiskUsage {
                layers: Some(metas.len()),
                ..DiskUsage::default()
            };
            let (mut shared, mut shared_bytes) = (0, 0);
            for m in &metas {
                usage.images.size += m.size;
                if users.get(&m.chain_id).copied().unwrap_or(0) > 1 {
                    shared += 1;
                    shared_bytes += m.size;
                }
            }
            usage.shared_layers = Some((shared, shared_bytes));
            usage.images.total = records.len();
            // What removing every image without containers would free: the layers that only
            // such images use.
            let containers = me.runtime().list().map_err(containers::container_error)?;
            let used: Vec<&crate::engine::image::ImageRecord> = records
                .iter()
                .filter(|r| {
                    containers
                        .iter()
                        .any(|c| c.config.image_id == r.id.to_string())
                })
                .collect();
            usage.images.active = used.len();
            let kept: BTreeSet<crate::engine::store::Digest> =
                used.iter().flat_map(|r| r.chain()).collect();
            usage.images.reclaimable = metas
                .iter()
                .filter(|m| !kept.contains(&m.chain_id))
                .map(|m| m.size)
                .sum();
            for c in &containers {
                let size = me.runtime().sizes(&c.config.id).map_or(0, |s| s.0);
                usage.containers.total += 1;
                usage.containers.size += size;
                if c.state.status == crate::engine::container::Status::Running {
                    usage.containers.active += 1;
                } else {
                    usage.containers.reclaimable += size;
                }
            }
            Ok(usage)
        })
        .await
    }

    async fn events(&self) -> Result<ResultStream<Event>> {
        let follower = self.inner.journal.follow();
        Ok(futures::stream::unfold(follower, |mut f| async move {
            loop {
                let batch = f.poll();
                if !batch.is_empty() {
                    return Some((
                        futures::stream::iter(batch.into_iter().map(|e| Ok(e.into()))),
                        f,
                    ));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .flatten()
        .boxed())
    }

    async fn list_containers(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        self.blocking(move |me| {
            let mut out: Vec<ContainerSummary> = me
                .runtime()
                .list()
                .map_err(containers::container_error)?
                .iter()
                .map(containers::summary)
                .filter(|c| {
                    all || matches!(
                        c.state,
                        ContainerState::Running
                            | ContainerState::Paused
                            | ContainerState::Restarting
                    )
                })
                .collect();
            out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
            Ok(out)
        })
        .await
    }

    async fn list_containers_sized(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        let mut list = self.list_containers(all).await?;
        self.blocking(move |me| {
            for c in &mut list {
                // A container removed since the listing keeps no sizes.
                if let Ok((own, all)) = me.runtime().sizes(&c.id) {
                    c.size_rw = Some(own);
                    c.size_root_fs = Some(all);
                }
            }
            Ok(list)
        })
        .await
    }

    async fn inspect_container(&self, reference: &str) -> Result<ContainerDetails> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let snap = me.runtime().get(&id).map_err(containers::container_error)?;
            Ok(containers::details(&snap, me.root()))
        })
        .await
    }

    async fn create_container(&self, spec: ContainerSpec) -> Result<String> {
        let request = containers::request(spec)?;
        self.blocking(move |me| {
            me.runtime()
                .create(request)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn start_container(&self, reference: &str) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let attached = me
                .inner
                .attach_pending
                .lock()
                .expect("attach lock")
                .remove(&id);
            me.runtime()
                .start_with(&id, attached)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn stop_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .stop(&id, timeout)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn kill_container(&self, reference: &str, signal: Option<&str>) -> Result<()> {
        let signal = signal
            .map(Signal::parse)
            .transpose()?
            .unwrap_or(Signal::KILL);
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .kill(&id, signal)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn restart_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let rt = me.runtime();
            rt.stop(&id, timeout).map_err(containers::container_error)?;
            rt.start(&id).map_err(containers::container_error)
        })
        .await
    }

    async fn pause_container(&self, reference: &str) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime().pause(&id).map_err(containers::container_error)
        })
        .await
    }

    async fn unpause_container(&self, reference: &str) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .unpause(&id)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn remove_container(&self, reference: &str, options: RemoveOptions) -> Result<()> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .remove(&id, options.force)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn rename_container(&self, reference: &str, new_name: &str) -> Result<()> {
        if !crate::model::parse::valid_name(new_name) {
            return Err(BackendError::invalid(format!(
                "invalid container name {new_name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let (reference, new_name) = (reference.to_string(), new_name.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .rename(&id, &new_name)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn wait_container(&self, reference: &str) -> Result<i64> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime().wait(&id).map_err(containers::container_error)
        })
        .await
    }

    async fn top_container(&self, reference: &str) -> Result<TopOutput> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            let pids = me
                .runtime()
                .pids(&id)
                .map_err(containers::container_error)?;
            Ok(containers::top(&pids))
        })
        .await
    }

    async fn container_logs(
        &self,
        reference: &str,
        options: LogOptions,
    ) -> Result<ResultStream<LogLine>> {
        let reference = reference.to_string();
        let (id, history, follower) = self
            .blocking(move |me| {
                let id = me.resolve_container(&reference)?;
                let dir = me.runtime().store().dir(&id).join("logs");
                let (history, follower) = crate::engine::container::logs::open(&dir);
                let history = containers::select_history(history, &options);
                Ok((id, history, follower))
            })
            .await?;
        let history = futures::stream::iter(history.into_iter().map(Ok));
        if !options.follow {
            return Ok(history.boxed());
        }
        let me = self.clone();
        let start = (
            follower,
            false,
            crate::engine::container::Backoff::default(),
        );
        let live = futures::stream::unfold(start, move |(mut follower, ending, mut backoff)| {
            let me = me.clone();
            let id = id.clone();
            async move {
                loop {
                    let batch: Vec<LogLine> =
                        follower.poll().iter().map(containers::log_line).collect();
                    if !batch.is_empty() {
                        let fresh = crate::engine::container::Backoff::default();
                        return Some((
                            futures::stream::iter(batch.into_iter().map(Ok)),
                            (follower, ending, fresh),
                        ));
                    }
                    if ending {
                        return None;
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                    let running = me
                        .runtime()
                        .get(&id)
                        .is_ok_and(|s| s.state.status.is_active());
                    if !running {
                        // One more read for what the last moments wrote, then the end.
                        let last: Vec<LogLine> =
                            follower.poll().iter().map(containers::log_line).collect();
                        return Some((
                            futures::stream::iter(last.into_iter().map(Ok)),
                            (follower, true, backoff),
                        ));
                    }
                }
            }
        })
        .flatten();
        Ok(history.chain(live).boxed())
    }

    async fn export_container(&self, reference: &str) -> Result<ByteStream> {
        let reference = reference.to_string();
        // An unknown container fails here, before any byte is written.
        let id = self
            .blocking(move |me| me.resolve_container(&reference))
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let writer = ChannelWriter::new(tx.clone());
            if let Err(e) = me.runtime().export(&id, writer) {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        Ok(receiver_stream(rx))
    }

    async fn container_changes(&self, reference: &str) -> Result<Vec<FileChange>> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .changes(&id)
                .map_err(containers::container_error)
        })
        .await
    }

    async fn prune_containers(&self) -> Result<PruneReport> {
        self.blocking(move |me| {
            let mut report = PruneReport::default();
            for s in me.runtime().list().map_err(containers::container_error)? {
                if matches!(
                    s.state.status,
                    crate::engine::container::Status::Exited
                        | crate::engine::container::Status::Created
                ) {
                    me.runtime()
                        .remove(&s.config.id, false)
                        .map_err(containers::container_error)?;
                    report.deleted.push(s.config.id.clone());
                }
            }
            Ok(report)
        })
        .await
    }

    async fn exec(&self, container: &str, spec: ExecSpec) -> Result<Session> {
        let reference = container.to_string();
        let id = self.blocking(move |me| me.exec_target(&reference)).await?;
        if spec.cmd.is_empty() {
            return Err(BackendError::invalid("exec needs a command"));
        }
        let request = crate::engine::container::exec::ExecRequest {
            cmd: spec.cmd,
            env: spec.env,
            working_dir: spec.working_dir,
            user: spec.user,
            tty: spec.tty,
            console_socket: None,
        };
        self.inner
            .sessions
            .start(&self.inner.exe, self.root(), &id, &request, spec.stdin)
    }

    async fn attach(&self, container: &str, stdin: bool) -> Result<Session> {
        self.attach_with(container, stdin, false).await
    }

    async fn attach_before_start(&self, container: &str, stdin: bool) -> Result<Session> {
        self.attach_with(container, stdin, true).await
    }

    async fn resize_session(&self, id: &SessionId, cols: u16, rows: u16) -> Result<()> {
        match id {
            SessionId::Exec(key) => self.inner.sessions.resize(key, cols, rows),
            SessionId::Attach(reference) => {
                let reference = reference.clone();
                let id = self
                    .blocking(move |me| me.resolve_container(&reference))
                    .await?;
                let path = crate::engine::container::attach::socket_path(&id);
                session_io::resize_attached(path, cols, rows)
                    .await
                    .map_err(|e| {
                        BackendError::conflict(format!(
                            "cannot resize the terminal of container {id}: {e}; is it running?"
                        ))
                    })
            }
        }
    }

    async fn session_exit_code(&self, id: &SessionId) -> Result<Option<i64>> {
        match id {
            SessionId::Exec(key) => Ok(self.inner.sessions.exit_code(key).await),
            SessionId::Attach(c) => {
                if let Some(code) = self.inner.attach_exits.take(c) {
                    return Ok(Some(code));
                }
                let d = self.inspect_container(c).await?;
                let state = d.summary.state;
                Ok(
                    if state.is_alive() || state == crate::model::ContainerState::Restarting {
                        None
                    } else {
                        d.summary.exit_code
                    },
                )
            }
        }
    }

    async fn container_stats(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        let reference = reference.to_string();
        let id = self
            .blocking(move |me| me.resolve_container(&reference))
            .await?;
        let me = self.clone();
        let host_memory = crate::engine::host::memory();
        let cpus = f64::from(crate::engine::host::cpus());
        let stream = futures::stream::unfold(
            (None::<(std::time::Instant, u64)>, false),
            move |(last, started)| {
                let me = me.clone();
                let id = id.clone();
                async move {
                    if started {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    let snap = me.runtime().get(&id).ok()?;
                    let pid = snap
                        .state
                        .pid
                        .filter(|_| snap.state.status.model().is_alive())?;
                    let read = || {
                        crate::engine::container::stats::read_counters(
                            std::path::Path::new("/sys/fs/cgroup"),
                            &id,
                            pid,
                        )
                    };
                    // The first sample measures CPU over a short window of its own.
                    let last = match last {
                        Some(l) => Some(l),
                        None => {
                            let first = (std::time::Instant::now(), read().cpu_ns);
                            tokio::time::sleep(Duration::from_millis(250)).await;
                            Some(first)
                        }
                    };
                    let c = read();
                    let now = std::time::Instant::now();
                    let cpu_percent = match last {
                        Some((t, ns)) => {
                            let wall = now.duration_since(t).as_nanos().max(1) as f64;
                            (c.cpu_ns.saturating_sub(ns) as f64 / wall * 100.0).min(cpus * 100.0)
                        }
                        None => 0.0,
                    };
                    let sample = StatsSample {
                        read: unix_now(),
                        cpu_percent,
                        memory_usage: c.memory,
                        memory_limit: c.memory_limit.unwrap_or(host_memory).min(host_memory),
                        net_rx: c.net_rx,
                        net_tx: c.net_tx,
                        block_read: c.block_read,
                        block_write: c.block_write,
                        pids: c.pids,
                    };
                    Some((Ok(sample), (Some((now, c.cpu_ns)), true)))
                }
            },
        );
        Ok(stream.boxed())
    }

    async fn stat_path(&self, container: &str, path: &str) -> Result<Option<bool>> {
        let (reference, path) = (container.to_string(), path.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .with_rootfs(&id, |rootfs| {
                    crate::engine::container::files::stat(rootfs, &path)
                })
                .map_err(containers::container_error)
        })
        .await
    }

    async fn copy_from(&self, container: &str, path: &str) -> Result<ByteStream> {
        let (reference, path) = (container.to_string(), path.to_string());
        let tar = self
            .blocking(move |me| {
                let id = me.resolve_container(&reference)?;
                me.runtime()
                    .with_rootfs(&id, |rootfs| {
                        crate::engine::container::files::archive(rootfs, &path)
                    })
                    .map_err(containers::container_error)
            })
            .await?;
        Ok(futures::stream::once(async move { Ok(Bytes::from(tar)) }).boxed())
    }

    async fn copy_to(&self, container: &str, dir: &str, archive: ByteStream) -> Result<()> {
        let tar = super::collect_bytes(archive)
            .await
            .map_err(|e| BackendError::invalid(format!("cannot read the archive: {e}")))?;
        let (reference, dir) = (container.to_string(), dir.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&reference)?;
            me.runtime()
                .with_rootfs(&id, |rootfs| {
                    crate::engine::container::files::extract(rootfs, &dir, &tar)
                })
                .map_err(containers::container_error)
        })
        .await
    }

    async fn list_volumes(&self) -> Result<Vec<VolumeSummary>> {
        // Named volumes are not made by this engine: there are none to list.
        Ok(Vec::new())
    }

    async fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        self.blocking(|me| {
            let list = me.runtime().list().map_err(containers::container_error)?;
            Ok(["host", "none"]
                .into_iter()
                .map(|name| containers::builtin_network(name, &list))
                .collect())
        })
        .await
    }

    async fn inspect_network(&self, reference: &str) -> Result<NetworkSummary> {
        let networks = self.list_networks().await?;
        networks
            .into_iter()
            .find(|n| n.name == reference || (reference.len() >= 3 && n.id.starts_with(reference)))
            .ok_or_else(|| BackendError::NotFound {
                kind: ObjectKind::Network,
                reference: reference.to_string(),
            })
    }

    unsupported! {
        fn inspect_volume(&self, name: &str) -> VolumeSummary;
        fn create_volume(&self, spec: VolumeSpec) -> VolumeSummary;
        fn remove_volume(&self, name: &str, force: bool) -> ();
        fn prune_volumes(&self) -> PruneReport;
        fn create_network(&self, spec: NetworkSpec) -> String;
        fn remove_network(&self, reference: &str) -> ();
        fn prune_networks(&self) -> PruneReport;
        fn connect_network(&self, network: &str, container: &str) -> ();
        fn disconnect_network(&self, network: &str, container: &str, force: bool) -> ();
    }
}
