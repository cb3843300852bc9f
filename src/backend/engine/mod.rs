//! The embedded engine behind the `Backend` seam, one file per trait: images and events from
//! the engine's store, containers and sessions from its runtime, volumes from its volume
//! store, networks (bridge, host, none) from its network store. Every store call
//! runs on a blocking thread so that the caller's runtime never waits on disk. This file opens
//! a data root and holds what the trait files share.

mod build;
mod changes;
mod convert;
mod convert_containers;
mod exec_session;
mod session_io;
mod supervise;

mod containers;
mod images;
mod networks;
mod sessions;
mod system;
mod volumes;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::error::{BackendError, Result};
use super::{ByteStream, ResultStream, Session};
use crate::engine::events::{Entry, Journal};
use crate::engine::image::{ImageStore, archive, import};
use crate::engine::registry::{CredentialStore, RegistrySettings};
use crate::engine::store::Root;
use crate::model::Reference;
use crate::model::*;
use crate::util::chan_io::{ChannelReader, ChannelWriter};
use crate::util::time::unix_now;

use changes::Changes;
pub use convert::{image_error, registry_error};

/// How long a follower of the root's files (a log, the events journal) waits at most when
/// its watch reports nothing.
const FOLLOW_FALLBACK: Duration = Duration::from_secs(5);

struct Inner {
    root: Root,
    exe: std::path::PathBuf,
    runtime: std::sync::OnceLock<crate::engine::container::Runtime>,
    sessions: exec_session::Sessions,
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
                sessions: exec_session::Sessions::default(),
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

    /// The container runtime. The first use stops what no monitor supervises.
    pub fn runtime(&self) -> &crate::engine::container::Runtime {
        self.inner.runtime.get_or_init(|| {
            let rt = self.runtime_as_found();
            // A process of this root that nothing supervises (left by a crash) is stopped
            // before anything else is done with the containers.
            rt.reap_unsupervised();
            rt
        })
    }

    /// A container runtime that changes nothing on opening, for `system check` to see the
    /// root as it was found.
    pub fn runtime_as_found(&self) -> crate::engine::container::Runtime {
        crate::engine::container::Runtime::new(
            &self.inner.root,
            self.inner.exe.clone(),
            self.driver(),
        )
    }

    fn resolve_container(&self, reference: &str) -> Result<String> {
        Ok(self.runtime().store().resolve(reference)?)
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

    /// Attach; with `starting`, a stopped container is about to be started by the caller,
    /// and its monitor will wait for this client.
    async fn attach_with(&self, container: &str, stdin: bool, starting: bool) -> Result<Session> {
        use crate::engine::container::Status;
        let reference = container.to_string();
        let (id, name, status) = self
            .blocking(move |me| {
                let id = me.resolve_container(&reference)?;
                let snap = me.runtime().get(&id)?;
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
        let snap = self.runtime().get(&id)?;
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
            .list()?
            .into_iter()
            .filter(|s| s.config.image_id == id.to_string())
            .map(|s| s.config.id[..12].to_string())
            .collect())
    }

    /// Removes one image by id and collects what it alone used.
    fn delete_image(&self, id: &crate::engine::store::Digest) -> Result<(Vec<String>, u64)> {
        let store = self.images();
        let lock = store.lock()?;
        let untagged = store.delete(&lock, id, &BTreeSet::new())?;
        let freed = store.collect(&lock, &BTreeSet::new())?;
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
