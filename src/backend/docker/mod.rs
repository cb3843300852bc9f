//! The Docker-compatible backend: Docker or Podman over their HTTP API (bollard), on a unix
//! socket or tcp, with TLS when given. The API version is negotiated on first use, so an
//! unreachable endpoint does not delay start-up; it fails requests as `Unavailable` instead.

mod convert;
pub mod endpoint;
mod errors;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models as m;
use bollard::query_parameters as q;
use futures::stream::{self, StreamExt};
use tokio::sync::OnceCell;

use super::error::{BackendError, Result};
use super::{Backend, ByteStream, ResultStream, Session};
use crate::model::*;
use crate::util::time::{Clock, parse_rfc3339_nanos};
pub use endpoint::{Endpoint, TlsArgs, TlsFiles};
use errors::Subject;

/// Seconds a request may wait for the daemon's answer (streams are not limited).
const REQUEST_TIMEOUT_SECS: u64 = 60;

struct Inner {
    endpoint: Endpoint,
    client: OnceCell<Docker>,
    clock: Clock,
    /// The last container listing and when it came back (see `raw_containers`).
    containers: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Vec<m::ContainerSummary>>)>>,
}

/// A Docker-compatible endpoint. Cloning shares the connection.
#[derive(Clone)]
pub struct DockerBackend {
    inner: Arc<Inner>,
}

fn subject(kind: ObjectKind, reference: &str) -> Option<Subject<'_>> {
    Some(Subject { kind, reference })
}

/// Splits a reference into what the API takes as the image and the tag (`latest` by default);
/// a digest stays with the name. A reference Docker would refuse is refused here, naming the
/// rule it breaks.
fn split_reference(reference: &str) -> Result<(String, Option<String>)> {
    let r = crate::model::Reference::parse(reference)
        .map_err(|e| BackendError::invalid(e.to_string()))?;
    Ok(match &r.digest {
        Some(d) => (format!("{}@{d}", r.familiar_name()), None),
        None => (r.familiar_name(), r.tag.clone()),
    })
}

/// Credentials stored by `dockhand login` (or Docker's config) for a registry, in the form
/// the Docker API takes them.
fn registry_credentials(domain: &str) -> Option<bollard::auth::DockerCredentials> {
    let store = crate::engine::registry::CredentialStore::default();
    let c = store.get(domain).ok().flatten()?;
    Some(bollard::auth::DockerCredentials {
        username: Some(c.username),
        password: Some(c.password),
        serveraddress: Some(crate::engine::registry::auth::key_for(domain)),
        ..Default::default()
    })
}

fn filters(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect()
}

impl DockerBackend {
    /// A backend for `endpoint`; nothing is contacted until the first request.
    pub fn new(endpoint: Endpoint) -> DockerBackend {
        DockerBackend {
            inner: Arc::new(Inner {
                endpoint,
                client: OnceCell::new(),
                clock: Clock::System,
                containers: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.inner.endpoint.url
    }

    fn err(&self, e: bollard::errors::Error, subject: Option<Subject<'_>>) -> BackendError {
        errors::map(e, self.url(), subject)
    }

    fn connect(&self) -> Result<Docker> {
        let url = self.url();
        let version = bollard::API_DEFAULT_VERSION;
        let result = if url.starts_with("unix://") {
            Docker::connect_with_unix(url, REQUEST_TIMEOUT_SECS, version)
        } else if let Some(tls) = &self.inner.endpoint.tls {
            Docker::connect_with_ssl(
                url,
                &tls.key,
                &tls.cert,
                &tls.ca,
                REQUEST_TIMEOUT_SECS,
                version,
            )
        } else if url.starts_with("https://") {
            return Err(BackendError::invalid(format!(
                "{url} uses TLS: give --tlscacert, --tlscert and --tlskey (or set them for the endpoint in the config)"
            )));
        } else {
            Docker::connect_with_http(url, REQUEST_TIMEOUT_SECS, version)
        };
        result.map_err(|e| self.err(e, None))
    }

    /// The client, connected and with the API version negotiated on first use.
    async fn api(&self) -> Result<&Docker> {
        self.inner
            .client
            .get_or_try_init(|| async {
                let raw = self.connect()?;
                raw.negotiate_version().await.map_err(|e| self.err(e, None))
            })
            .await
    }

    fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The container list; with `size`, dockerd measures each container's layer too.
    async fn containers_listed(&self, all: bool, size: bool) -> Result<Vec<ContainerSummary>> {
        let options = q::ListContainersOptionsBuilder::default()
            .all(all)
            .size(size)
            .build();
        let list = self
            .api()
            .await?
            .list_containers(Some(options))
            .await
            .map_err(|e| self.err(e, None))?;
        let now = self.now();
        Ok(list
            .into_iter()
            .map(|c| convert::container_summary(c, now))
            .collect())
    }

    /// Every container, as the API lists them. Requests made while a listing is on its way
    /// share its answer (a refresh asks for containers, images, volumes and networks at once,
    /// and the last three count containers); an answer that came back before the caller asked
    /// is never reused, so nothing stale is returned.
    async fn raw_containers(&self) -> Result<Arc<Vec<m::ContainerSummary>>> {
        let asked = std::time::Instant::now();
        let mut cache = self.inner.containers.lock().await;
        if let Some((when, list)) = cache.as_ref() {
            if *when >= asked {
                return Ok(list.clone());
            }
        }
        let options = q::ListContainersOptionsBuilder::default().all(true).build();
        let list = Arc::new(
            self.api()
                .await?
                .list_containers(Some(options))
                .await
                .map_err(|e| self.err(e, None))?,
        );
        *cache = Some((std::time::Instant::now(), list.clone()));
        Ok(list)
    }

    /// A session's output as domain chunks.
    fn session_output(
        &self,
        output: std::pin::Pin<
            Box<
                dyn futures::Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>>
                    + Send,
            >,
        >,
        container: &str,
    ) -> ResultStream<OutputChunk> {
        let me = self.clone();
        let container = container.to_string();
        output
            .filter_map(move |item| {
                let out = match item {
                    Ok(LogOutput::StdErr { message }) => Some(Ok(OutputChunk {
                        stream: LogStream::Stderr,
                        data: message,
                    })),
                    Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                        Some(Ok(OutputChunk {
                            stream: LogStream::Stdout,
                            data: message,
                        }))
                    }
                    Ok(LogOutput::StdIn { .. }) => None,
                    Err(e) => Some(Err(me.err(e, subject(ObjectKind::Container, &container)))),
                };
                std::future::ready(out)
            })
            .boxed()
    }

    /// Treats "not modified" (already started, already stopped) as success, as docker does.
    fn unmodified_ok(
        &self,
        r: std::result::Result<(), bollard::errors::Error>,
        s: Option<Subject<'_>>,
    ) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(self.err(e, s)),
        }
    }

    fn container_names_by_volume(
        containers: &[m::ContainerSummary],
    ) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in containers {
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            for v in convert::summary_volume_names(c) {
                map.entry(v).or_default().push(name.clone());
            }
        }
        map
    }
}

/// The list API's network record in the inspect shape, so one conversion serves both.
fn network_as_inspect(n: m::Network) -> m::NetworkInspect {
    m::NetworkInspect {
        name: n.name,
        id: n.id,
        created: n.created,
        scope: n.scope,
        driver: n.driver,
        ipam: n.ipam,
        internal: n.internal,
        labels: n.labels,
        ..Default::default()
    }
}

fn create_body(spec: ContainerSpec) -> m::ContainerCreateBody {
    let mut port_bindings: m::PortMap = HashMap::new();
    for p in &spec.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        let entry = port_bindings.entry(key).or_insert_with(|| Some(Vec::new()));
        if let (Some(list), Some(hp)) = (entry.as_mut(), p.host_port) {
            list.push(m::PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: Some(hp.to_string()),
            });
        }
    }
    let exposed: Vec<String> = port_bindings.keys().cloned().collect();
    let mut binds = Vec::new();
    let mut tmpfs = HashMap::new();
    for mnt in &spec.mounts {
        match mnt.kind {
            MountKind::Tmpfs => {
                tmpfs.insert(mnt.destination.clone(), String::new());
            }
            _ => binds.push(format!(
                "{}:{}{}",
                mnt.source,
                mnt.destination,
                if mnt.read_only { ":ro" } else { "" }
            )),
        }
    }
    let restart = match spec.restart_policy {
        RestartPolicy::No => None,
        p => Some(m::RestartPolicy {
            name: Some(match p {
                RestartPolicy::Always => m::RestartPolicyNameEnum::ALWAYS,
                RestartPolicy::UnlessStopped => m::RestartPolicyNameEnum::UNLESS_STOPPED,
                _ => m::RestartPolicyNameEnum::ON_FAILURE,
            }),
            maximum_retry_count: match p {
                RestartPolicy::OnFailure { max_retries } => Some(i64::from(max_retries)),
                _ => None,
            },
        }),
    };
    let host_config = m::HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        binds: (!binds.is_empty()).then_some(binds),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        restart_policy: restart,
        memory: spec.resources.memory.map(|v| v as i64),
        nano_cpus: spec.resources.nano_cpus.map(|v| v as i64),
        cpu_shares: spec.resources.cpu_shares.map(|v| v as i64),
        pids_limit: spec.resources.pids_limit,
        network_mode: spec.network.clone(),
        auto_remove: spec.auto_remove.then_some(true),
        privileged: spec.privileged.then_some(true),
        cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
        cap_drop: (!spec.cap_drop.is_empty()).then(|| spec.cap_drop.clone()),
        readonly_rootfs: spec.read_only.then_some(true),
        ..Default::default()
    };
    m::ContainerCreateBody {
        image: Some(spec.image),
        cmd: (!spec.cmd.is_empty()).then_some(spec.cmd),
        entrypoint: spec.entrypoint,
        env: (!spec.env.is_empty()).then_some(spec.env),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        hostname: spec.hostname,
        working_dir: spec.working_dir,
        user: spec.user,
        labels: (!spec.labels.is_empty()).then(|| spec.labels.into_iter().collect()),
        tty: Some(spec.tty),
        open_stdin: Some(spec.open_stdin),
        attach_stdin: Some(spec.open_stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        stdin_once: Some(spec.stdin_once),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// Splits a log frame into lines, reading the timestamp Docker puts before each.
fn log_lines(stream: LogStream, bytes: &[u8], fallback_ns: i128) -> Vec<LogLine> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (timestamp_ns, text) = match l.split_once(' ') {
                Some((ts, rest)) => match parse_rfc3339_nanos(ts) {
                    Some(ns) => (ns, rest),
                    None => (fallback_ns, l),
                },
                None => match parse_rfc3339_nanos(l) {
                    Some(ns) => (ns, ""),
                    None => (fallback_ns, l),
                },
            };
            LogLine {
                stream,
                timestamp_ns,
                text: text.to_string(),
            }
        })
        .collect()
}

impl Backend for DockerBackend {
    async fn ping(&self) -> Result<()> {
        self.api()
            .await?
            .ping()
            .await
            .map(drop)
            .map_err(|e| self.err(e, None))
    }

    async fn info(&self) -> Result<SystemInfo> {
        let api = self.api().await?;
        let info = api.info().await.map_err(|e| self.err(e, None))?;
        let version = api.version().await.map_err(|e| self.err(e, None))?;
        let backend = if version
            .components
            .iter()
            .flatten()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"))
        {
            "podman"
        } else {
            "docker"
        };
        let n = |v: Option<i64>| v.unwrap_or(0).max(0) as usize;
        Ok(SystemInfo {
            backend: backend.into(),
            endpoint: self.url().to_string(),
            server_version: info.server_version.unwrap_or_default(),
            api_version: Some(api.client_version().to_string()),
            operating_system: info.operating_system.unwrap_or_default(),
            kernel_version: info.kernel_version.unwrap_or_default(),
            storage_driver: info.driver.unwrap_or_default(),
            cgroup_version: info
                .cgroup_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
            root_dir: info.docker_root_dir.unwrap_or_default(),
            ncpu: info.ncpu.unwrap_or(0).max(0) as u32,
            mem_total: info.mem_total.unwrap_or(0).max(0) as u64,
            containers: n(info.containers),
            containers_running: n(info.containers_running),
            containers_paused: n(info.containers_paused),
            containers_stopped: n(info.containers_stopped),
            images: n(info.images),
        })
    }

    async fn list_containers(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        self.containers_listed(all, false).await
    }

    async fn list_containers_sized(&self, all: bool) -> Result<Vec<ContainerSummary>> {
        self.containers_listed(all, true).await
    }

    async fn inspect_container(&self, reference: &str) -> Result<ContainerDetails> {
        let c = self
            .api()
            .await?
            .inspect_container(reference, None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))?;
        Ok(convert::container_details(c))
    }

    async fn create_container(&self, spec: ContainerSpec) -> Result<String> {
        let image = spec.image.clone();
        let options = spec
            .name
            .as_ref()
            .map(|n| q::CreateContainerOptionsBuilder::default().name(n).build());
        let created = self
            .api()
            .await?
            .create_container(options, create_body(spec))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, &image)))?;
        Ok(created.id)
    }

    async fn start_container(&self, reference: &str) -> Result<()> {
        let r = self.api().await?.start_container(reference, None).await;
        self.unmodified_ok(r, subject(ObjectKind::Container, reference))
    }

    async fn stop_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let options = timeout.map(|t| {
            q::StopContainerOptionsBuilder::default()
                .t(t.as_secs() as i32)
                .build()
        });
        let r = self.api().await?.stop_container(reference, options).await;
        self.unmodified_ok(r, subject(ObjectKind::Container, reference))
    }

    async fn kill_container(&self, reference: &str, signal: Option<&str>) -> Result<()> {
        let options = signal.map(|s| q::KillContainerOptionsBuilder::default().signal(s).build());
        self.api()
            .await?
            .kill_container(reference, options)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn restart_container(&self, reference: &str, timeout: Option<Duration>) -> Result<()> {
        let options = timeout.map(|t| {
            q::RestartContainerOptionsBuilder::default()
                .t(t.as_secs() as i32)
                .build()
        });
        self.api()
            .await?
            .restart_container(reference, options)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn pause_container(&self, reference: &str) -> Result<()> {
        self.api()
            .await?
            .pause_container(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn unpause_container(&self, reference: &str) -> Result<()> {
        self.api()
            .await?
            .unpause_container(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn remove_container(&self, reference: &str, options: RemoveOptions) -> Result<()> {
        let o = q::RemoveContainerOptionsBuilder::default()
            .force(options.force)
            .v(options.volumes)
            .build();
        self.api()
            .await?
            .remove_container(reference, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn rename_container(&self, reference: &str, new_name: &str) -> Result<()> {
        let o = q::RenameContainerOptionsBuilder::default()
            .name(new_name)
            .build();
        self.api()
            .await?
            .rename_container(reference, o)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))
    }

    async fn wait_container(&self, reference: &str) -> Result<i64> {
        let mut stream = self.api().await?.wait_container(reference, None);
        match stream.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(self.err(e, subject(ObjectKind::Container, reference))),
            None => Err(BackendError::Internal {
                message: format!(
                    "{}: the wait for {reference} ended without an exit code",
                    self.url()
                ),
                source: None,
            }),
        }
    }

    async fn top_container(&self, reference: &str) -> Result<TopOutput> {
        let top = self
            .api()
            .await?
            .top_processes(reference, None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))?;
        Ok(TopOutput {
            titles: top.titles.unwrap_or_default(),
            processes: top.processes.unwrap_or_default(),
        })
    }

    async fn container_logs(
        &self,
        reference: &str,
        options: LogOptions,
    ) -> Result<ResultStream<LogLine>> {
        // Resolve first, so a wrong name fails now rather than on the first poll.
        let id = self.inspect_container(reference).await?.summary.id;
        let o = q::LogsOptionsBuilder::default()
            .follow(options.follow)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(
                &options
                    .tail
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "all".into()),
            )
            .since(options.since.unwrap_or(0) as i32)
            .build();
        let me = self.clone();
        let clock = self.inner.clock;
        let stream = self.api().await?.logs(&id, Some(o)).flat_map(move |item| {
            let lines: Vec<Result<LogLine>> = match item {
                Ok(LogOutput::StdErr { message }) => {
                    log_lines(LogStream::Stderr, &message, clock.now_ns())
                        .into_iter()
                        .map(Ok)
                        .collect()
                }
                Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                    log_lines(LogStream::Stdout, &message, clock.now_ns())
                        .into_iter()
                        .map(Ok)
                        .collect()
                }
                Ok(LogOutput::StdIn { .. }) => Vec::new(),
                Err(e) => vec![Err(me.err(e, subject(ObjectKind::Container, &id)))],
            };
            stream::iter(lines)
        });
        Ok(stream.boxed())
    }

    async fn container_stats(&self, reference: &str) -> Result<ResultStream<StatsSample>> {
        let details = self.inspect_container(reference).await?;
        if !details.summary.state.is_alive() {
            return Ok(stream::empty().boxed());
        }
        let o = q::StatsOptionsBuilder::default()
            .stream(true)
            .one_shot(false)
            .build();
        let me = self.clone();
        let id = details.summary.id;
        let stream = self
            .api()
            .await?
            .stats(&id.clone(), Some(o))
            // A stopped container's samples carry Docker's zero time; the stream is over then.
            .take_while(|item| {
                let alive = match item {
                    Ok(s) => s.read.as_deref().is_some_and(|r| !r.starts_with("0001-")),
                    Err(_) => true,
                };
                std::future::ready(alive)
            })
            .map(move |item| {
                item.map(|s| convert::stats(&s, me.now()))
                    .map_err(|e| me.err(e, subject(ObjectKind::Container, &id)))
            });
        Ok(stream.boxed())
    }

    async fn exec(&self, container: &str, spec: ExecSpec) -> Result<Session> {
        let config = bollard::exec::CreateExecOptions {
            cmd: Some(spec.cmd.clone()),
            env: (!spec.env.is_empty()).then_some(spec.env),
            working_dir: spec.working_dir,
            user: spec.user,
            tty: Some(spec.tty),
            attach_stdin: Some(spec.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let api = self.api().await?;
        let created = api
            .create_exec(container, config)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))?;
        let options = bollard::exec::StartExecOptions {
            detach: false,
            tty: spec.tty,
            output_capacity: None,
        };
        let started = api
            .start_exec(&created.id, Some(options))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))?;
        match started {
            bollard::exec::StartExecResults::Attached { output, input } => Ok(Session {
                id: SessionId::Exec(created.id),
                output: self.session_output(output, container),
                input: spec.stdin.then_some(input),
            }),
            bollard::exec::StartExecResults::Detached => Err(BackendError::Internal {
                message: format!("{}: the exec in {container} started detached", self.url()),
                source: None,
            }),
        }
    }

    async fn attach(&self, container: &str, stdin: bool) -> Result<Session> {
        let id = self.inspect_container(container).await?.summary.id;
        let o = q::AttachContainerOptionsBuilder::default()
            .stdin(stdin)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .logs(false)
            .detach_keys("ctrl-p,ctrl-q")
            .build();
        let attached = self
            .api()
            .await?
            .attach_container(&id, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))?;
        Ok(Session {
            output: self.session_output(attached.output, container),
            input: stdin.then_some(attached.input),
            id: SessionId::Attach(id),
        })
    }

    async fn resize_session(&self, id: &SessionId, cols: u16, rows: u16) -> Result<()> {
        let api = self.api().await?;
        match id {
            SessionId::Exec(exec) => {
                let o = q::ResizeExecOptionsBuilder::default()
                    .w(i32::from(cols))
                    .h(i32::from(rows))
                    .build();
                api.resize_exec(exec, o)
                    .await
                    .map_err(|e| self.err(e, None))
            }
            SessionId::Attach(c) => {
                let o = q::ResizeContainerTTYOptionsBuilder::default()
                    .w(i32::from(cols))
                    .h(i32::from(rows))
                    .build();
                api.resize_container_tty(c, o)
                    .await
                    .map_err(|e| self.err(e, subject(ObjectKind::Container, c)))
            }
        }
    }

    async fn session_exit_code(&self, id: &SessionId) -> Result<Option<i64>> {
        match id {
            SessionId::Exec(exec) => {
                let i = self
                    .api()
                    .await?
                    .inspect_exec(exec)
                    .await
                    .map_err(|e| self.err(e, None))?;
                Ok(if i.running.unwrap_or(false) {
                    None
                } else {
                    i.exit_code
                })
            }
            SessionId::Attach(c) => {
                let d = self.inspect_container(c).await?;
                Ok(
                    if d.summary.state.is_alive() || d.summary.state == ContainerState::Restarting {
                        None
                    } else {
                        d.summary.exit_code
                    },
                )
            }
        }
    }

    async fn stat_path(&self, container: &str, path: &str) -> Result<Option<bool>> {
        let o = q::ContainerArchiveInfoOptionsBuilder::default()
            .path(path)
            .build();
        match self
            .api()
            .await?
            .get_container_archive_info(container, Some(o))
            .await
        {
            // Go's os.ModeDir is the top bit of the mode.
            Ok(stat) => Ok(Some(stat.file_mode & (1 << 31) != 0)),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message,
            }) if !message.to_ascii_lowercase().contains("no such container") => Ok(None),
            Err(e) => Err(self.err(e, subject(ObjectKind::Container, container))),
        }
    }

    async fn copy_from(&self, container: &str, path: &str) -> Result<ByteStream> {
        if self.stat_path(container, path).await?.is_none() {
            return Err(BackendError::invalid(format!(
                "no such file or directory in {container}: {path}"
            )));
        }
        let o = q::DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let me = self.clone();
        let stream = self
            .api()
            .await?
            .download_from_container(container, Some(o))
            .map(move |chunk| chunk.map_err(|e| std::io::Error::other(me.err(e, None))));
        Ok(stream.boxed())
    }

    async fn export_container(&self, reference: &str) -> Result<ByteStream> {
        // An unknown container fails here, before any byte is written.
        let id = self.inspect_container(reference).await?.summary.id;
        let me = self.clone();
        let stream = self
            .api()
            .await?
            .export_container(&id)
            .map(move |chunk| chunk.map_err(|e| std::io::Error::other(me.err(e, None))));
        Ok(stream.boxed())
    }

    async fn container_changes(&self, reference: &str) -> Result<Vec<FileChange>> {
        let changes = self
            .api()
            .await?
            .container_changes(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, reference)))?;
        let mut out: Vec<FileChange> = changes
            .unwrap_or_default()
            .into_iter()
            .map(|c| FileChange {
                path: c.path,
                kind: match c.kind {
                    bollard::models::ChangeType::_1 => ChangeKind::Added,
                    bollard::models::ChangeType::_2 => ChangeKind::Deleted,
                    bollard::models::ChangeType::_0 => ChangeKind::Changed,
                },
            })
            .collect();
        out.sort();
        Ok(out)
    }

    async fn copy_to(&self, container: &str, dir: &str, archive: ByteStream) -> Result<()> {
        if self.stat_path(container, dir).await? != Some(true) {
            return Err(BackendError::invalid(format!(
                "no such directory in {container}: {dir}"
            )));
        }
        let o = q::UploadToContainerOptionsBuilder::default()
            .path(dir)
            .build();
        self.api()
            .await?
            .upload_to_container(container, Some(o), bollard::body_try_stream(archive))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Container, container)))
    }

    async fn prune_containers(&self) -> Result<PruneReport> {
        let r = self
            .api()
            .await?
            .prune_containers(None)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r.containers_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    async fn list_images(&self, all: bool) -> Result<Vec<ImageSummary>> {
        let options = q::ListImagesOptionsBuilder::default().all(all).build();
        let images = self
            .api()
            .await?
            .list_images(Some(options))
            .await
            .map_err(|e| self.err(e, None))?;
        let containers = self.raw_containers().await?;
        Ok(images
            .into_iter()
            .map(|i| {
                let users = containers
                    .iter()
                    .filter(|c| c.image_id.as_deref() == Some(i.id.as_str()))
                    .count();
                convert::image_summary(i, users)
            })
            .collect())
    }

    async fn inspect_image(&self, reference: &str) -> Result<ImageDetails> {
        let i = self
            .api()
            .await?
            .inspect_image(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, reference)))?;
        let id = i.id.clone().unwrap_or_default();
        let users = self
            .raw_containers()
            .await?
            .iter()
            .filter(|c| c.image_id.as_deref() == Some(id.as_str()))
            .count();
        Ok(convert::image_details(i, users))
    }

    async fn image_history(&self, reference: &str) -> Result<Vec<HistoryEntry>> {
        let h = self
            .api()
            .await?
            .image_history(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, reference)))?;
        Ok(h.into_iter().map(convert::history_entry).collect())
    }

    async fn pull_image(&self, reference: &str) -> Result<ResultStream<PullProgress>> {
        let (repo, tag) = split_reference(reference)?;
        let mut builder = q::CreateImageOptionsBuilder::default().from_image(&repo);
        if let Some(tag) = &tag {
            builder = builder.tag(tag);
        }
        let raw = self.api().await?.create_image(
            Some(builder.build()),
            None,
            crate::model::Reference::parse(reference)
                .ok()
                .and_then(|r| registry_credentials(&r.domain)),
        );
        let me = self.clone();
        let reference = reference.to_string();
        // Carry the digest announced near the end into the final `Done`.
        let stream = stream::unfold(
            (raw.boxed(), String::new(), false),
            move |(mut raw, mut digest, done)| {
                let me = me.clone();
                let reference = reference.clone();
                async move {
                    if done {
                        return None;
                    }
                    loop {
                        match raw.next().await {
                            Some(Ok(info)) => {
                                if let Some(d) = info
                                    .status
                                    .as_deref()
                                    .and_then(|s| s.strip_prefix("Digest: "))
                                {
                                    digest = d.to_string();
                                }
                                if let Some(status) = convert::pull_status(&info) {
                                    let id = info.id.unwrap_or_default();
                                    return Some((
                                        Ok(PullProgress { id, status }),
                                        (raw, digest, false),
                                    ));
                                }
                            }
                            Some(Err(e)) => {
                                let err = me.err(e, subject(ObjectKind::Image, &reference));
                                return Some((Err(err), (raw, digest, true)));
                            }
                            None => {
                                let item = PullProgress {
                                    id: reference.clone(),
                                    status: PullStatus::Done {
                                        digest: digest.clone(),
                                    },
                                };
                                return Some((Ok(item), (raw, digest, true)));
                            }
                        }
                    }
                }
            },
        );
        Ok(stream.boxed())
    }

    async fn push_image(&self, reference: &str) -> Result<ResultStream<PushProgress>> {
        let parsed = crate::model::Reference::parse(reference)
            .map_err(|e| BackendError::invalid(e.to_string()))?;
        let credentials = registry_credentials(&parsed.domain);
        let mut options = q::PushImageOptionsBuilder::default();
        if let Some(tag) = &parsed.tag {
            options = options.tag(tag);
        }
        let raw = self.api().await?.push_image(
            &parsed.familiar_name(),
            Some(options.build()),
            credentials,
        );
        let me = self.clone();
        let reference = reference.to_string();
        let stream = raw.map(move |item| match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(BackendError::Internal {
                        message: format!("push of {reference} failed: {detail}"),
                        source: None,
                    });
                }
                // The API's per-layer ids are not exposed by bollard; statuses still are.
                Ok(PushProgress {
                    id: String::new(),
                    status: info.status.unwrap_or_default(),
                })
            }
            Err(e) => Err(me.err(e, subject(ObjectKind::Image, &reference))),
        });
        Ok(stream.boxed())
    }

    async fn load_images(&self, archive: ByteStream) -> Result<Vec<String>> {
        let o = q::ImportImageOptionsBuilder::default().quiet(true).build();
        let mut stream = self
            .api()
            .await?
            .import_image(o, bollard::body_try_stream(archive), None);
        let mut loaded = Vec::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                bollard::errors::Error::DockerStreamError { error } => {
                    BackendError::invalid(format!("the archive was refused: {error}"))
                }
                other => self.err(other, None),
            })?;
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(BackendError::invalid(format!(
                    "the archive was refused: {message}"
                )));
            }
            for line in info.stream.iter().flat_map(|s| s.lines()) {
                if line.starts_with("Loaded image") {
                    loaded.push(line.trim().to_string());
                }
            }
        }
        Ok(loaded)
    }

    async fn save_images(&self, references: &[String]) -> Result<ByteStream> {
        // Check each name first: the archive stream would only fail on its first read.
        for r in references {
            self.api()
                .await?
                .inspect_image(r)
                .await
                .map_err(|e| self.err(e, subject(ObjectKind::Image, r)))?;
        }
        let names: Vec<&str> = references.iter().map(String::as_str).collect();
        let me = self.clone();
        let stream = self
            .api()
            .await?
            .export_images(&names)
            .map(move |chunk| chunk.map_err(|e| std::io::Error::other(me.err(e, None))));
        Ok(stream.boxed())
    }

    async fn import_image(
        &self,
        rootfs: ByteStream,
        reference: Option<&str>,
        changes: &[String],
    ) -> Result<String> {
        // Refuse bad instructions here with the same words as the other backends.
        crate::model::import_changes::parse(changes)?;
        let mut builder = q::CreateImageOptionsBuilder::default()
            .from_src("-")
            .changes(changes.to_vec());
        if let Some(r) = reference {
            let (repo, tag) = split_reference(r)?;
            builder = builder.repo(&repo).tag(tag.as_deref().unwrap_or("latest"));
        }
        let mut stream = self.api().await?.create_image(
            Some(builder.build()),
            Some(bollard::body_try_stream(rootfs)),
            None,
        );
        let mut id = String::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| match e {
                bollard::errors::Error::DockerStreamError { error } => {
                    BackendError::invalid(format!("the root filesystem was refused: {error}"))
                }
                other => self.err(other, None),
            })?;
            if let Some(s) = info.status.filter(|s| s.starts_with("sha256:")) {
                id = s;
            }
        }
        if id.is_empty() {
            return Err(BackendError::Internal {
                message: format!("{}: the import finished without an image id", self.url()),
                source: None,
            });
        }
        Ok(id)
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let (repo, tag) = split_reference(target)?;
        if repo.contains('@') {
            return Err(BackendError::invalid(format!(
                "cannot tag with a digest ({target}); give name:tag"
            )));
        }
        let o = q::TagImageOptionsBuilder::default()
            .repo(&repo)
            .tag(tag.as_deref().unwrap_or("latest"))
            .build();
        self.api()
            .await?
            .tag_image(source, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, source)))
    }

    async fn remove_image(&self, reference: &str, force: bool) -> Result<Vec<String>> {
        let o = q::RemoveImageOptionsBuilder::default().force(force).build();
        let items = self
            .api()
            .await?
            .remove_image(reference, Some(o), None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Image, reference)))?;
        Ok(items
            .into_iter()
            .flat_map(|i| {
                i.untagged
                    .map(|u| format!("Untagged: {u}"))
                    .into_iter()
                    .chain(i.deleted.map(|d| format!("Deleted: {d}")))
            })
            .collect())
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let f = if all {
            filters(&[("dangling", "false")])
        } else {
            filters(&[("dangling", "true")])
        };
        let o = q::PruneImagesOptionsBuilder::default().filters(&f).build();
        let r = self
            .api()
            .await?
            .prune_images(Some(o))
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r
                .images_deleted
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.deleted.or(i.untagged))
                .collect(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    async fn list_volumes(&self) -> Result<Vec<VolumeSummary>> {
        let list = self
            .api()
            .await?
            .list_volumes(None::<q::ListVolumesOptions>)
            .await
            .map_err(|e| self.err(e, None))?;
        let users = Self::container_names_by_volume(&self.raw_containers().await?);
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let used_by = users.get(&v.name).cloned().unwrap_or_default();
                convert::volume(v, used_by)
            })
            .collect())
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeSummary> {
        let v = self
            .api()
            .await?
            .inspect_volume(name)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Volume, name)))?;
        let users = Self::container_names_by_volume(&self.raw_containers().await?);
        let used_by = users.get(&v.name).cloned().unwrap_or_default();
        Ok(convert::volume(v, used_by))
    }

    async fn create_volume(&self, spec: VolumeSpec) -> Result<VolumeSummary> {
        let request = m::VolumeCreateRequest {
            name: spec.name,
            driver: spec.driver,
            labels: Some(spec.labels.into_iter().collect()),
            ..Default::default()
        };
        let v = self
            .api()
            .await?
            .create_volume(request)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(convert::volume(v, Vec::new()))
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let o = q::RemoveVolumeOptionsBuilder::default()
            .force(force)
            .build();
        self.api()
            .await?
            .remove_volume(name, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Volume, name)))
    }

    async fn prune_volumes(&self) -> Result<PruneReport> {
        let r = self
            .api()
            .await?
            .prune_volumes(None::<q::PruneVolumesOptions>)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r.volumes_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    async fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        let list = self
            .api()
            .await?
            .list_networks(None::<q::ListNetworksOptions>)
            .await
            .map_err(|e| self.err(e, None))?;
        // The list API leaves out members; take them from the running containers.
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in self.list_containers(false).await? {
            for n in &c.networks {
                members.entry(n.clone()).or_default().push(c.name.clone());
            }
        }
        Ok(list
            .into_iter()
            .map(|n| {
                let names = n
                    .name
                    .as_ref()
                    .and_then(|name| members.get(name))
                    .cloned()
                    .unwrap_or_default();
                convert::network(network_as_inspect(n), names)
            })
            .collect())
    }

    async fn inspect_network(&self, reference: &str) -> Result<NetworkSummary> {
        let n = self
            .api()
            .await?
            .inspect_network(reference, None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, reference)))?;
        Ok(convert::network(n, Vec::new()))
    }

    async fn create_network(&self, spec: NetworkSpec) -> Result<String> {
        let ipam = spec.subnet.as_ref().map(|subnet| m::Ipam {
            config: Some(vec![m::IpamConfig {
                subnet: Some(subnet.clone()),
                gateway: spec.gateway.clone(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let request = m::NetworkCreateRequest {
            name: spec.name,
            driver: spec.driver,
            internal: Some(spec.internal),
            labels: Some(spec.labels.into_iter().collect()),
            ipam,
            ..Default::default()
        };
        let r = self
            .api()
            .await?
            .create_network(request)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(r.id)
    }

    async fn remove_network(&self, reference: &str) -> Result<()> {
        self.api()
            .await?
            .remove_network(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, reference)))
    }

    async fn prune_networks(&self) -> Result<PruneReport> {
        let r = self
            .api()
            .await?
            .prune_networks(None)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r.networks_deleted.unwrap_or_default(),
            space_reclaimed: 0,
        })
    }

    async fn connect_network(&self, network: &str, container: &str) -> Result<()> {
        let request = m::NetworkConnectRequest {
            container: container.to_string(),
            ..Default::default()
        };
        self.api()
            .await?
            .connect_network(network, request)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, network)))
    }

    async fn disconnect_network(&self, network: &str, container: &str, force: bool) -> Result<()> {
        let request = m::NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(force),
        };
        self.api()
            .await?
            .disconnect_network(network, request)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, network)))
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        let images = self.list_images(true).await?;
        let containers = self.list_containers_sized(true).await?;
        let volumes = self.list_volumes().await?;
        Ok(usage_of(&images, &containers, &volumes))
    }

    async fn events(&self) -> Result<ResultStream<Event>> {
        let me = self.clone();
        // The request is sent on the first poll; `since` keeps what happens before that.
        let since = self.now().to_string();
        let o = q::EventsOptionsBuilder::default().since(&since).build();
        let stream = self.api().await?.events(Some(o)).filter_map(move |item| {
            let out = match item {
                Ok(e) => {
                    let kind = match e.typ.map(|t| t.to_string()).as_deref() {
                        Some("container") => Some(ObjectKind::Container),
                        Some("image") => Some(ObjectKind::Image),
                        Some("volume") => Some(ObjectKind::Volume),
                        Some("network") => Some(ObjectKind::Network),
                        _ => None,
                    };
                    kind.map(|kind| {
                        let actor = e.actor.unwrap_or_default();
                        Ok(Event {
                            time: e.time.unwrap_or(0),
                            kind,
                            // "exec_start: sh" and the like: the verb is what matters.
                            action: e
                                .action
                                .unwrap_or_default()
                                .split(':')
                                .next()
                                .unwrap_or_default()
                                .to_string(),
                            id: actor.id.unwrap_or_default(),
                            name: actor.attributes.and_then(|a| a.get("name").cloned()),
                        })
                    })
                }
                Err(e) => Some(Err(me.err(e, None))),
            };
            std::future::ready(out)
        });
        Ok(stream.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        let split = |r: &str| split_reference(r).unwrap();
        assert_eq!(split("busybox"), ("busybox".into(), Some("latest".into())));
        assert_eq!(
            split("docker.io/library/busybox:1"),
            ("busybox".into(), Some("1".into()))
        );
        assert_eq!(
            split("localhost:5000/app:v2"),
            ("localhost:5000/app".into(), Some("v2".into()))
        );
        assert_eq!(
            split("localhost:5000/app"),
            ("localhost:5000/app".into(), Some("latest".into()))
        );
        let digest = format!("sha256:{}", "cd".repeat(32));
        assert_eq!(
            split(&format!("app@{digest}")),
            (format!("app@{digest}"), None)
        );
        assert!(
            split_reference("Bad/Name")
                .unwrap_err()
                .to_string()
                .contains("lowercase")
        );
    }

    #[test]
    fn log_frames_split_into_timestamped_lines() {
        let lines = log_lines(
            LogStream::Stderr,
            b"2024-05-01T12:00:00.000000001Z first\n2024-05-01T12:00:01Z second\r\n",
            0,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "first");
        assert_eq!(lines[0].timestamp_ns % 1_000_000_000, 1);
        assert_eq!(lines[1].text, "second");
        assert_eq!(lines[1].stream, LogStream::Stderr);
    }

    #[test]
    fn create_body_publishes_ports_and_mounts() {
        let spec = ContainerSpec {
            image: "busybox".into(),
            ports: vec![PortMapping {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(8080),
                container_port: 80,
                protocol: Protocol::Tcp,
            }],
            mounts: vec![Mount {
                kind: MountKind::Bind,
                source: "/srv".into(),
                destination: "/data".into(),
                read_only: true,
            }],
            restart_policy: RestartPolicy::OnFailure { max_retries: 3 },
            ..ContainerSpec::default()
        };
        let body = create_body(spec);
        let host = body.host_config.unwrap();
        assert_eq!(host.binds.unwrap(), vec!["/srv:/data:ro"]);
        let ports = host.port_bindings.unwrap();
        let binding = &ports["80/tcp"].as_ref().unwrap()[0];
        assert_eq!(binding.host_port.as_deref(), Some("8080"));
        assert_eq!(host.restart_policy.unwrap().maximum_retry_count, Some(3));
        assert_eq!(body.exposed_ports.unwrap(), vec!["80/tcp"]);
    }
}
