//! Containers on the embedded engine behind the seam: `ContainerSpec` → the engine's create
//! request (refusing what this build's engine cannot do, by name), records → the domain
//! types and Docker-shaped inspect JSON, logs from the json-file log, and `top`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::backend::error::BackendError;
use crate::engine::container::lifecycle::CreateRequest;
use crate::engine::container::record::Status;
use crate::engine::container::{ContainerError, Snapshot, logs};
use crate::model::*;
use crate::util::time::{parse_rfc3339_nanos, rfc3339, rfc3339_nanos};

impl From<ContainerError> for BackendError {
    fn from(e: ContainerError) -> BackendError {
        container_error(e)
    }
}

/// Maps a container error.
pub fn container_error(e: ContainerError) -> BackendError {
    match e {
        ContainerError::NotFound(r) => BackendError::not_found(ObjectKind::Container, r),
        ContainerError::Ambiguous {
            reference,
            candidates,
        } => BackendError::Ambiguous {
            kind: ObjectKind::Container,
            reference,
            candidates: candidates.join(", "),
        },
        ContainerError::Conflict(m) => BackendError::conflict(m),
        ContainerError::Refused(r) => r.into(),
        ContainerError::Invalid(m) => BackendError::invalid(m),
        ContainerError::Image(i) => super::image_error(i),
        ContainerError::Volume(v) => v.into(),
        ContainerError::Network(n) => n.into(),
        ContainerError::CannotRun { code, message } => BackendError::CannotRun { code, message },
        other => BackendError::Internal {
            message: other.to_string(),
            source: Some(Box::new(other)),
        },
    }
}

/// Docker's request → the engine's, refusing what this build's engine does not offer.
pub fn request(spec: ContainerSpec) -> Result<CreateRequest, BackendError> {
    if let Some(n) = &spec.name {
        if !crate::model::parse::valid_name(n) {
            return Err(BackendError::invalid(format!(
                "invalid container name {n:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
    }
    let mut seccomp = crate::engine::container::record::Seccomp::Default;
    let mut no_new_privileges = None;
    for o in &spec.security_opt {
        match parse::security_opt(o)? {
            parse::SecurityOpt::SeccompUnconfined => {
                seccomp = crate::engine::container::record::Seccomp::Unconfined
            }
            parse::SecurityOpt::SeccompProfile(p) => {
                seccomp = crate::engine::container::record::Seccomp::Profile(p)
            }
            parse::SecurityOpt::NoNewPrivileges(on) => no_new_privileges = Some(on),
        }
    }
    let log = crate::model::logging::log_config(spec.log_driver.as_deref(), &spec.log_opts)?;
    // Empty: the default network.
    let network = spec.network.clone().unwrap_or_default();
    let ports = spec
        .ports
        .iter()
        .map(port_request)
        .collect::<Result<Vec<_>, _>>()?;
    // As Docker: a fixed address and aliases only on a network the user made.
    let user_defined = !matches!(network.as_str(), "none" | "host" | "" | "bridge");
    let ip = spec.ip.as_deref().map(parse::ipv4).transpose()?;
    if !user_defined && (ip.is_some() || !spec.network_aliases.is_empty()) {
        return Err(BackendError::invalid(
            "--ip and --network-alias are for user-defined networks: give one with --network NAME",
        ));
    }
    for d in &spec.dns {
        if d.parse::<std::net::IpAddr>().is_err() {
            return Err(BackendError::invalid(format!(
                "invalid --dns {d:?}: write the address of a name server"
            )));
        }
    }
    for h in &spec.extra_hosts {
        let ok = h
            .split_once(':')
            .is_some_and(|(n, a)| !n.is_empty() && a.parse::<std::net::IpAddr>().is_ok());
        if !ok {
            return Err(BackendError::invalid(format!(
                "invalid --add-host {h:?}: write NAME:ADDRESS, e.g. db:10.0.0.5"
            )));
        }
    }
    let volumes_from = spec
        .volumes_from
        .iter()
        .map(|v| crate::model::parse::volumes_from(v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CreateRequest {
        image: spec.image,
        name: spec.name,
        cmd: spec.cmd,
        entrypoint: spec.entrypoint,
        env: spec.env,
        working_dir: spec.working_dir,
        user: spec.user,
        hostname: spec.hostname,
        labels: spec.labels,
        tty: spec.tty,
        open_stdin: spec.open_stdin,
        stdin_once: spec.stdin_once,
        auto_remove: spec.auto_remove,
        ephemeral: spec.ephemeral || spec.auto_remove,
        restart: spec.restart_policy.into(),
        limits: spec.resources.into(),
        mounts: spec.mounts.into_iter().map(Into::into).collect(),
        volumes_from,
        network,
        ip,
        aliases: spec.network_aliases,
        dns: spec.dns,
        extra_hosts: spec.extra_hosts,
        ports,
        publish_all: spec.publish_all,
        privileged: spec.privileged,
        cap_add: spec.cap_add,
        cap_drop: spec.cap_drop,
        read_only: spec.read_only,
        seccomp,
        no_new_privileges,
        log,
    })
}

/// A `-p` mapping as the engine publishes it: IPv4, TCP or UDP.
fn port_request(p: &PortMapping) -> Result<crate::engine::network::PortRequest, BackendError> {
    use crate::engine::network::{PortRequest, Protocol as P};
    let protocol = match p.protocol {
        Protocol::Tcp => P::Tcp,
        Protocol::Udp => P::Udp,
        Protocol::Sctp => {
            return Err(BackendError::invalid(format!(
                "port {p}: the embedded engine publishes tcp and udp ports"
            )));
        }
    };
    let host_ip = match p.host_ip.as_deref() {
        None | Some("0.0.0.0") => None,
        Some(ip) => Some(ip.parse::<std::net::Ipv4Addr>().map_err(|_| {
            BackendError::invalid(format!(
                "port {p}: the embedded engine publishes on IPv4 addresses; give one such as 127.0.0.1"
            ))
        })?),
    };
    Ok(PortRequest {
        host_ip,
        host_port: p.host_port.unwrap_or(0),
        container_port: p.container_port,
        protocol,
    })
}

fn secs(ns: Option<i128>) -> Option<i64> {
    ns.map(|n| (n / 1_000_000_000) as i64)
}

fn quote(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.contains(' ') {
                format!("\"{a}\"")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ports an endpoint publishes, as `ps` shows them.
pub fn published(ep: &crate::engine::network::Endpoint) -> Vec<PortMapping> {
    ep.ports
        .iter()
        .map(|p| PortMapping {
            host_ip: Some(p.host_ip.to_string()),
            host_port: Some(p.host_port),
            container_port: p.container_port,
            protocol: match p.protocol {
                crate::engine::network::Protocol::Tcp => Protocol::Tcp,
                crate::engine::network::Protocol::Udp => Protocol::Udp,
            },
        })
        .collect()
}

/// The list row of a container.
pub fn summary(s: &Snapshot) -> ContainerSummary {
    let c = &s.config;
    ContainerSummary {
        id: c.id.clone(),
        name: c.name.clone(),
        image: c.image.clone(),
        command: quote(&c.args),
        created: c.created,
        state: s.state.status.model(),
        started_at: secs(s.state.started_at),
        finished_at: secs(s.state.finished_at),
        exit_code: s.state.exit_code,
        health: None,
        ports: Vec::new(),
        networks: vec![c.network.clone()],
        labels: c.labels.clone(),
        size_rw: None,
        size_root_fs: None,
    }
}

fn time_or_zero(ns: Option<i128>) -> String {
    ns.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339_nanos)
}

/// A container in full, with Docker-shaped inspect JSON.
pub fn details(
    s: &Snapshot,
    root: &std::path::Path,
    endpoint: Option<(
        crate::engine::network::NetworkRecord,
        crate::engine::network::Endpoint,
    )>,
) -> ContainerDetails {
    let c = &s.config;
    let st = &s.state;
    let mut summary = summary(s);
    if let Some((_, ep)) = &endpoint {
        summary.ports = published(ep);
    }
    let state = st.status.model();
    let policy = RestartPolicy::from(c.restart);
    let mounts: Vec<Mount> = c.mounts.iter().cloned().map(Into::into).collect();
    let dir = root.join("containers").join(&c.id);
    let (policy_name, retries) = match policy {
        RestartPolicy::OnFailure { max_retries } => ("on-failure", max_retries),
        other => (
            match other {
                RestartPolicy::Always => "always",
                RestartPolicy::UnlessStopped => "unless-stopped",
                _ => "no",
            },
            0,
        ),
    };
    let labels: BTreeMap<&String, &String> = c.labels.iter().collect();
    let inspect = json!({
        "Id": c.id,
        "Created": rfc3339(c.created),
        "Path": c.args.first(),
        "Args": c.args.get(1..).unwrap_or_default(),
        "State": {
            "Status": state.as_str(),
            "Running": st.status.model().is_alive(),
            "Paused": st.status == Status::Paused,
            "Restarting": st.status == Status::Restarting,
            "OOMKilled": st.oom_killed,
            "Dead": false,
            "Pid": st.pid.unwrap_or(0),
            "ExitCode": st.exit_code.unwrap_or(0),
            "Error": st.error,
            "StartedAt": time_or_zero(st.started_at),
            "FinishedAt": time_or_zero(st.finished_at),
        },
        "Image": c.image_id,
        "LogPath": dir.join("logs/container.log"),
        "Name": format!("/{}", c.name),
        "RestartCount": st.restart_count,
        "Driver": "overlay",
        "HostConfig": {
            "AutoRemove": c.auto_remove,
            "RestartPolicy": {"Name": policy_name, "MaximumRetryCount": retries},
            "NetworkMode": c.network,
            "Privileged": c.privileged,
            "CapAdd": c.cap_add,
            "CapDrop": c.cap_drop,
            "ReadonlyRootfs": c.read_only,
            "SecurityOpt": security_opt(c),
            "LogConfig": log_config(&c.log),
            "Memory": c.limits.memory.unwrap_or(0),
            "NanoCpus": c.limits.nano_cpus.unwrap_or(0),
            "CpuShares": c.limits.cpu_shares.unwrap_or(0),
            "PidsLimit": c.limits.pids_limit,
            "Binds": mounts.iter().filter(|m| m.kind == MountKind::Bind).map(|m| {
                format!("{}:{}{}", m.source, m.destination, if m.read_only { ":ro" } else { "" })
            }).collect::<Vec<_>>(),
        },
        "GraphDriver": {
            "Name": "overlay",
            "Data": {"UpperDir": dir.join("upper"), "WorkDir": dir.join("work"), "MergedDir": dir.join("rootfs")},
        },
        "Mounts": mounts.iter().map(|m| match m.kind {
            MountKind::Volume => json!({
                "Type": "volume", "Name": m.source, "Driver": "local",
                "Source": crate::engine::volume::dir_of(root).join(&m.source).join("_data"),
                "Destination": m.destination, "RW": !m.read_only,
            }),
            _ => json!({
                "Type": m.kind.to_string(), "Source": m.source, "Destination": m.destination, "RW": !m.read_only,
            }),
        }).collect::<Vec<_>>(),
        "Config": {
            "Hostname": c.hostname,
            "User": c.user,
            "Tty": c.tty,
            "OpenStdin": c.open_stdin,
            "StdinOnce": c.stdin_once,
            "AttachStdin": c.stdin_once,
            "Env": c.env,
            "Cmd": c.cmd,
            "Entrypoint": if c.entrypoint.is_empty() { Value::Null } else { json!(c.entrypoint) },
            "Image": c.image,
            "WorkingDir": c.working_dir,
            "Labels": labels,
            "StopSignal": c.stop_signal,
        },
        "NetworkSettings": network_settings(c, endpoint.as_ref()),
    });
    ContainerDetails {
        summary,
        env: c.env.clone(),
        entrypoint: c.entrypoint.clone(),
        cmd: c.cmd.clone(),
        working_dir: c.working_dir.clone(),
        user: c.user.clone(),
        hostname: c.hostname.clone(),
        restart_policy: policy,
        restart_count: st.restart_count,
        mounts,
        endpoints: endpoint
            .iter()
            .map(|(n, ep)| EndpointInfo {
                network: n.name.clone(),
                ip_address: format!("{}/{}", ep.ip, n.subnet.prefix_len()),
                gateway: n.gateway.to_string(),
                mac_address: ep.mac.clone(),
            })
            .collect(),
        resources: c.limits.into(),
        pid: st.pid.map(|p| p as u32),
        oom_killed: st.oom_killed,
        tty: c.tty,
        inspect,
    }
}

/// Docker's `NetworkSettings`: the container's network, with its address while it has one.
fn network_settings(
    c: &crate::engine::container::record::ContainerConfig,
    endpoint: Option<&(
        crate::engine::network::NetworkRecord,
        crate::engine::network::Endpoint,
    )>,
) -> Value {
    let (ip, prefix, gateway, mac, network_id) = match endpoint {
        Some((n, ep)) => (
            ep.ip.to_string(),
            n.subnet.prefix_len(),
            n.gateway.to_string(),
            ep.mac.clone(),
            n.id.clone(),
        ),
        None => Default::default(),
    };
    let mut ports = serde_json::Map::new();
    for p in endpoint.iter().flat_map(|(_, ep)| &ep.ports) {
        let key = format!("{}/{}", p.container_port, p.protocol.name());
        let list = ports.entry(key).or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(
                json!({"HostIp": p.host_ip.to_string(), "HostPort": p.host_port.to_string()}),
            );
        }
    }
    json!({
        "Ports": ports,
        "IPAddress": ip,
        "IPPrefixLen": prefix,
        "Gateway": gateway,
        "MacAddress": mac,
        "Networks": {c.network.clone(): {
            "NetworkID": network_id,
            "IPAddress": ip,
            "IPPrefixLen": prefix,
            "Gateway": gateway,
            "MacAddress": mac,
            "Aliases": c.aliases,
        }},
    })
}

/// A stored record as a log line.
pub fn log_line(r: &logs::Record) -> LogLine {
    LogLine {
        stream: if r.stream == "stderr" {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        },
        timestamp_ns: parse_rfc3339_nanos(&r.time).unwrap_or(0),
        text: r.log.strip_suffix('\n').unwrap_or(&r.log).to_string(),
    }
}

/// The history part of a logs request: since, then the last `tail`.
pub fn select_history(records: Vec<logs::Record>, options: &LogOptions) -> Vec<LogLine> {
    let mut lines: Vec<LogLine> = records
        .iter()
        .map(log_line)
        .filter(|l| {
            options
                .since
                .is_none_or(|s| l.timestamp_ns >= i128::from(s) * 1_000_000_000)
        })
        .collect();
    if let Some(n) = options.tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    lines
}

/// `top`: Docker's columns for the container's processes.
pub fn top(pids: &[i32]) -> TopOutput {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    let mut processes = Vec::new();
    for pid in pids {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ppid = fields.get(1).copied().unwrap_or("0");
        let cpu: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
            + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let cpu_secs = cpu / ticks.max(1);
        let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|v| v.split_whitespace().next().map(str::to_string))
            })
            .unwrap_or_default();
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|p| !p.is_empty())
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        processes.push(vec![
            uid,
            pid.to_string(),
            ppid.to_string(),
            format!(
                "{:02}:{:02}:{:02}",
                cpu_secs / 3600,
                cpu_secs / 60 % 60,
                cpu_secs % 60
            ),
            cmd,
        ]);
    }
    TopOutput {
        titles: ["UID", "PID", "PPID", "TIME", "CMD"]
            .iter()
            .map(|t| t.to_string())
            .collect(),
        processes,
    }
}

/// One of the networks every engine has: `host` (the host's stack) and `none` (loopback
/// only), with the running containers on it.
pub fn builtin_network(name: &str, list: &[Snapshot]) -> NetworkSummary {
    use sha2::Digest;
    let id = format!(
        "{:x}",
        sha2::Sha256::digest(format!("dockhand network {name}"))
    );
    NetworkSummary {
        id,
        name: name.to_string(),
        driver: if name == "host" { "host" } else { "null" }.into(),
        scope: "local".into(),
        subnet: None,
        gateway: None,
        internal: name == "none",
        containers: list
            .iter()
            .filter(|s| s.config.network == name && s.state.status.model().is_alive())
            .map(|s| s.config.name.clone())
            .collect(),
        addresses: BTreeMap::new(),
        created: 0,
        labels: BTreeMap::new(),
    }
}

/// `HostConfig.LogConfig` as Docker shows it: the options said, as strings.
fn log_config(log: &crate::model::logging::LogConfig) -> Value {
    let config = match log.driver {
        crate::model::logging::LogDriver::None => json!({}),
        crate::model::logging::LogDriver::JsonFile => json!({
            "max-size": log.max_size.to_string(),
            "max-file": log.max_files.to_string(),
        }),
    };
    json!({"Type": log.driver.name(), "Config": config})
}

/// `HostConfig.SecurityOpt` as Docker shows it: `null` when none was given.
fn security_opt(c: &crate::engine::container::record::ContainerConfig) -> serde_json::Value {
    use crate::engine::container::record::Seccomp;
    let mut out = Vec::new();
    match &c.seccomp {
        Seccomp::Default => {}
        Seccomp::Unconfined => out.push("seccomp=unconfined".to_string()),
        Seccomp::Profile(p) => out.push(format!("seccomp={p}")),
    }
    if let Some(on) = c.no_new_privileges {
        out.push(format!("no-new-privileges={on}"));
    }
    if out.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::json!(out)
    }
}
