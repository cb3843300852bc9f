//! `create`: a container's records from a request and its image (command, environment,
//! stop signal, mounts), under the name it asked for or one generated.

use std::collections::BTreeMap;
use std::path::Path;

use super::ContainerError;
use super::lifecycle::Runtime;
use super::names;
use super::record::{ContainerConfig, ContainerState, Limits, MountConfig, MountKind, Restart};
use super::spec::capabilities;
use super::volumes::MountRequest;
use crate::model::Signal;
use crate::util::time::unix_now;

/// What to create a container from (checked by the caller for syntax).
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// The image reference as given.
    pub image: String,
    /// Name; generated when `None`.
    pub name: Option<String>,
    /// Command (the image's when empty).
    pub cmd: Vec<String>,
    /// Entrypoint (the image's when `None`).
    pub entrypoint: Option<Vec<String>>,
    /// Extra environment (`KEY=value`), over the image's.
    pub env: Vec<String>,
    /// Working directory (the image's when `None`).
    pub working_dir: Option<String>,
    /// User (the image's when `None`).
    pub user: Option<String>,
    /// Hostname (the short id when `None`).
    pub hostname: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Close stdin when the client attached at start closes its input.
    pub stdin_once: bool,
    /// Remove at exit.
    pub auto_remove: bool,
    /// Removed once its run ends (by its monitor or by the caller that waits for it).
    pub ephemeral: bool,
    /// Restart policy.
    pub restart: Restart,
    /// Limits.
    pub limits: Limits,
    /// Mounts (a volume with an empty source is a new anonymous one).
    pub mounts: Vec<MountConfig>,
    /// Containers whose mounts this one gets too, each read-only (`Some(true)`), read-write
    /// or as it has them (`None`).
    pub volumes_from: Vec<(String, Option<bool>)>,
    /// `none`, `host` or a bridge network's name; empty for the default network.
    pub network: String,
    /// Address on that network.
    pub ip: Option<std::net::Ipv4Addr>,
    /// Other names on that network.
    pub aliases: Vec<String>,
    /// Name servers.
    pub dns: Vec<String>,
    /// Extra /etc/hosts entries, `NAME:ADDRESS`.
    pub extra_hosts: Vec<String>,
    /// Ports to publish.
    pub ports: Vec<crate::engine::network::PortRequest>,
    /// Also publish every port the image exposes, on free host ports.
    pub publish_all: bool,
    /// Privileged.
    pub privileged: bool,
    /// Capabilities added.
    pub cap_add: Vec<String>,
    /// Capabilities dropped.
    pub cap_drop: Vec<String>,
    /// Read-only root filesystem.
    pub read_only: bool,
    /// The seccomp filter.
    pub seccomp: super::record::Seccomp,
    /// no_new_privs, when said.
    pub no_new_privileges: Option<bool>,
    /// Where its output goes.
    pub log: crate::model::logging::LogConfig,
}

/// The ports to publish: the ones asked for, and with `-P` each port the image exposes that
/// is not among them, on a free host port.
fn published(
    request: &CreateRequest,
    exposed: &[String],
) -> Result<Vec<crate::engine::network::PortRequest>, ContainerError> {
    use crate::engine::network::{PortRequest, Protocol};
    if request.network == "host" {
        // The container's ports are the host's already (Docker discards them too).
        return Ok(Vec::new());
    }
    let mut out = request.ports.clone();
    if request.publish_all {
        for e in exposed {
            let (number, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            let protocol = match proto {
                "udp" => Protocol::Udp,
                _ => Protocol::Tcp,
            };
            let Ok(container_port) = number.parse::<u16>() else {
                continue;
            };
            if !out
                .iter()
                .any(|p| p.container_port == container_port && p.protocol == protocol)
            {
                out.push(PortRequest {
                    host_ip: None,
                    host_port: 0,
                    container_port,
                    protocol,
                });
            }
        }
    }
    if !out.is_empty() && request.network == "none" {
        return Err(ContainerError::Invalid(
            "publishing ports needs a network: --network none has loopback only; leave --network out for the default one, or give one".into(),
        ));
    }
    Ok(out)
}

impl Runtime {
    /// Creates a container's records from an image in the store. Returns the id.
    pub fn create(&self, request: CreateRequest) -> Result<String, ContainerError> {
        let image_id = self.images.resolve(&request.image)?;
        let image = self.images.image(&image_id)?;
        let image_config = image.config.config().clone().unwrap_or_default();
        let entrypoint = request
            .entrypoint
            .clone()
            .unwrap_or_else(|| image_config.entrypoint().clone().unwrap_or_default());
        let cmd = if request.cmd.is_empty() {
            if request.entrypoint.is_some() {
                Vec::new()
            } else {
                image_config.cmd().clone().unwrap_or_default()
            }
        } else {
            request.cmd.clone()
        };
        let args: Vec<String> = entrypoint.iter().chain(&cmd).cloned().collect();
        if args.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "no command specified: the image {} has none; give one after the image",
                request.image
            )));
        }
        let mut env: Vec<String> = image_config.env().clone().unwrap_or_default();
        for e in &request.env {
            let key = e.split('=').next().unwrap_or(e);
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, format!("PATH={}", super::spec::DEFAULT_PATH));
        }
        let id = names::random_id();
        let mut config = ContainerConfig {
            format: super::record::CONFIG_FORMAT,
            name: String::new(),
            image: request.image.clone(),
            image_id: image_id.to_string(),
            created: unix_now(),
            args,
            entrypoint,
            cmd,
            env,
            working_dir: request
                .working_dir
                .clone()
                .unwrap_or_else(|| image_config.working_dir().clone().unwrap_or_default()),
            user: request
                .user
                .clone()
                .unwrap_or_else(|| image_config.user().clone().unwrap_or_default()),
            hostname: request
                .hostname
                .clone()
                .unwrap_or_else(|| id[..12].to_string()),
            // The image's labels, then the container's own over them, as Docker has them.
            labels: image_config
                .labels()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .chain(request.labels.clone())
                .collect(),
            tty: request.tty,
            open_stdin: request.open_stdin,
            stdin_once: request.stdin_once,
            auto_remove: request.auto_remove,
            ephemeral: request.ephemeral,
            restart: request.restart,
            limits: request.limits,
            mounts: Vec::new(),
            network: match request.network.as_str() {
                "none" | "host" => request.network.clone(),
                other => {
                    let store = crate::engine::network::NetworkStore::new(&self.root);
                    let n = match other {
                        "" | crate::engine::network::DEFAULT => store.ensure_default()?,
                        name => store.resolve(name)?,
                    };
                    if let Some(ip) = request.ip {
                        n.check_address(ip)?;
                    }
                    n.name
                }
            },
            ip: request.ip,
            aliases: request.aliases.clone(),
            dns: request.dns.clone(),
            extra_hosts: request.extra_hosts.clone(),
            ports: published(
                &request,
                image_config.exposed_ports().as_deref().unwrap_or_default(),
            )?,
            stop_signal: match image_config.stop_signal() {
                Some(given) => Signal::parse(given)
                    .map_err(|e| {
                        ContainerError::Invalid(format!(
                            "image {}: its STOPSIGNAL is not valid ({e}); rebuild it with another",
                            request.image
                        ))
                    })?
                    .to_string(),
                None => Signal::TERM.to_string(),
            },
            stop_timeout: 10,
            privileged: request.privileged,
            cap_add: request.cap_add.clone(),
            cap_drop: request.cap_drop.clone(),
            read_only: request.read_only,
            layers: None,
            build: None,
            seccomp: request.seccomp.clone(),
            no_new_privileges: request.no_new_privileges,
            log: request.log,
            id: id.clone(),
        };
        capabilities(&config)?;
        for m in &request.mounts {
            if m.kind == MountKind::Bind && !Path::new(&m.source).exists() {
                std::fs::create_dir_all(&m.source).map_err(|e| {
                    ContainerError::Invalid(format!("cannot create bind source {}: {e}", m.source))
                })?;
            }
        }
        let image_volumes = image_config.volumes().clone().unwrap_or_default();
        let needs_volumes = !image_volumes.is_empty()
            || !request.volumes_from.is_empty()
            || request.mounts.iter().any(|m| m.kind == MountKind::Volume);
        // Held until the record is written: a volume it names is not removed meanwhile.
        let volumes_lock = needs_volumes.then(|| self.volumes.lock()).transpose()?;
        let made = match &volumes_lock {
            Some(vlock) => {
                let resolved = self.resolve_mounts(
                    vlock,
                    &MountRequest {
                        mounts: &request.mounts,
                        volumes_from: &request.volumes_from,
                        image_volumes: &image_volumes,
                    },
                )?;
                config.mounts = resolved.mounts;
                resolved.made_anonymous
            }
            None => {
                config.mounts = super::volumes::distinct_destinations(&request.mounts)?;
                Vec::new()
            }
        };
        let written = self.write_record(config, request.name.as_deref());
        if let (Err(_), Some(vlock)) = (&written, &volumes_lock) {
            self.drop_volumes(vlock, &made);
        }
        drop(volumes_lock);
        written
    }

    /// Creates a build step's container from the configuration its build made (layers,
    /// command, environment, user), named `buildstep-<short id>`, on the default network
    /// unless it asks for `none` or `host`.
    pub fn create_build_step(&self, mut config: ContainerConfig) -> Result<String, ContainerError> {
        if !matches!(config.network.as_str(), "none" | "host") {
            config.network = crate::engine::network::NetworkStore::new(&self.root)
                .ensure_default()?
                .name;
        }
        let name = format!("buildstep-{}", &config.id[..12]);
        self.write_record(config, Some(&name))
    }

    /// Names the container (as asked, or generated) and writes its records.
    fn write_record(
        &self,
        mut config: ContainerConfig,
        name: Option<&str>,
    ) -> Result<String, ContainerError> {
        let id = config.id.clone();
        let lock = self.containers.lock()?;
        let name = match name {
            Some(n) => {
                if let Some(other) = self.containers.by_name(n)? {
                    return Err(ContainerError::Conflict(format!(
                        "the container name \"/{n}\" is already in use by container {}; remove (or rename) that container to reuse the name",
                        &other[..12]
                    )));
                }
                n.to_string()
            }
            None => {
                let mut attempt = 0;
                loop {
                    let n = names::generated(names::random_u64(), attempt);
                    if self.containers.by_name(&n)?.is_none() {
                        break n;
                    }
                    attempt += 1;
                }
            }
        };
        config.name = name.clone();
        self.containers
            .create(&lock, &config, &ContainerState::default())?;
        drop(lock);
        self.emit("create", &id, &name);
        Ok(id)
    }
}
