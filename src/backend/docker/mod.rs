//! The Docker-compatible backend: Docker or Podman over their HTTP API (bollard), on a unix
//! socket or tcp, with TLS when given. The API version is negotiated on first use, so an
//! unreachable endpoint does not delay start-up; it fails requests as `Unavailable` instead.

mod build;
mod containers;
mod convert;
pub mod endpoint;
mod errors;
mod images;
mod networks;
mod sessions;
mod system;
mod volumes;

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
use super::{ByteStream, ResultStream, Session};
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
    let store = crate::util::credentials::CredentialStore::default();
    let c = store.get(domain).ok().flatten()?;
    Some(bollard::auth::DockerCredentials {
        username: Some(c.username),
        password: Some(c.password),
        serveraddress: Some(crate::util::credentials::key_for(domain)),
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

/// `--log-driver` and `--log-opt` as the daemon takes them (it checks them against its own
/// drivers); `None` leaves the daemon's default.
fn log_config(spec: &ContainerSpec) -> Option<m::HostConfigLogConfig> {
    if spec.log_driver.is_none() && spec.log_opts.is_empty() {
        return None;
    }
    let config: HashMap<String, String> = spec
        .log_opts
        .iter()
        .filter_map(|o| crate::model::logging::log_opt(o).ok())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(m::HostConfigLogConfig {
        typ: spec.log_driver.clone(),
        config: (!config.is_empty()).then_some(config),
    })
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
    let mut anonymous = Vec::new();
    for mnt in &spec.mounts {
        match mnt.kind {
            MountKind::Tmpfs => {
                let mut options = mnt.options.clone();
                if mnt.read_only {
                    options = if options.is_empty() {
                        "ro".into()
                    } else {
                        format!("ro,{options}")
                    };
                }
                tmpfs.insert(mnt.destination.clone(), options);
            }
            MountKind::Volume if mnt.source.is_empty() => anonymous.push(mnt.destination.clone()),
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
        volumes_from: (!spec.volumes_from.is_empty()).then(|| spec.volumes_from.clone()),
        dns: (!spec.dns.is_empty()).then(|| spec.dns.clone()),
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
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
        security_opt: (!spec.security_opt.is_empty()).then(|| spec.security_opt.clone()),
        publish_all_ports: spec.publish_all.then_some(true),
        log_config: log_config(&spec),
        ..Default::default()
    };
    let networking_config = match (
        &spec.network,
        spec.ip.is_some() || !spec.network_aliases.is_empty(),
    ) {
        (Some(network), true) => Some(m::NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                m::EndpointSettings {
                    ipam_config: spec.ip.clone().map(|ip| m::EndpointIpamConfig {
                        ipv4_address: Some(ip),
                        ..Default::default()
                    }),
                    aliases: (!spec.network_aliases.is_empty())
                        .then(|| spec.network_aliases.clone()),
                    ..Default::default()
                },
            )])),
        }),
        _ => None,
    };
    m::ContainerCreateBody {
        networking_config,
        image: Some(spec.image),
        cmd: (!spec.cmd.is_empty()).then_some(spec.cmd),
        entrypoint: spec.entrypoint,
        env: (!spec.env.is_empty()).then_some(spec.env),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        volumes: (!anonymous.is_empty()).then_some(anonymous),
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
            mounts: vec![Mount::new(MountKind::Bind, "/srv", "/data", true)],
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

    #[test]
    fn create_body_carries_volumes_and_network_settings() {
        let mut tmpfs = Mount::new(MountKind::Tmpfs, "", "/run", true);
        tmpfs.options = "size=64m".into();
        let spec = ContainerSpec {
            image: "busybox".into(),
            mounts: vec![tmpfs, Mount::new(MountKind::Volume, "", "/scratch", false)],
            volumes_from: vec!["db:ro".into()],
            network: Some("app".into()),
            ip: Some("10.5.0.9".into()),
            network_aliases: vec!["web".into()],
            dns: vec!["10.0.0.53".into()],
            extra_hosts: vec!["db:10.5.0.2".into()],
            ..ContainerSpec::default()
        };
        let body = create_body(spec);
        assert_eq!(body.volumes.unwrap(), vec!["/scratch"], "anonymous volume");
        let host = body.host_config.unwrap();
        assert!(host.binds.is_none(), "no bind made of an anonymous volume");
        assert_eq!(host.tmpfs.unwrap()["/run"], "ro,size=64m");
        assert_eq!(host.volumes_from.unwrap(), vec!["db:ro"]);
        assert_eq!(host.dns.unwrap(), vec!["10.0.0.53"]);
        assert_eq!(host.extra_hosts.unwrap(), vec!["db:10.5.0.2"]);
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        let app = &endpoints["app"];
        assert_eq!(
            app.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("10.5.0.9")
        );
        assert_eq!(app.aliases.as_deref(), Some(&["web".to_string()][..]));
    }
}
