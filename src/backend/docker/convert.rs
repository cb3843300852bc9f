//! Mapping of the Docker API's models (bollard) into dockhand's domain types, and of domain
//! requests into API bodies.

use std::collections::{BTreeMap, HashMap};

use bollard::models as m;

use crate::model::*;
use crate::util::time::{parse_human_duration, parse_rfc3339};

fn labels(map: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

fn protocol(typ: Option<&str>) -> Protocol {
    match typ {
        Some("udp") => Protocol::Udp,
        Some("sctp") => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

fn state_from_str(s: &str) -> ContainerState {
    match s {
        "created" => ContainerState::Created,
        "running" => ContainerState::Running,
        "paused" => ContainerState::Paused,
        "restarting" => ContainerState::Restarting,
        "removing" => ContainerState::Removing,
        "dead" => ContainerState::Dead,
        _ => ContainerState::Exited,
    }
}

/// Times and exit code recovered from Docker's status column ("Up 3 hours (healthy)",
/// "Exited (137) 2 minutes ago"), relative to `now`. The list API gives no timestamps, and
/// asking each container for them would cost a request per row; this gives the same text.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StatusFacts {
    /// When the current run started.
    pub started_at: Option<i64>,
    /// When the last run finished.
    pub finished_at: Option<i64>,
    /// Exit code of the last run.
    pub exit_code: Option<i64>,
    /// Health, when the status names it.
    pub health: Option<Health>,
}

/// Reads Docker's status column.
pub fn parse_status(status: &str, now: i64) -> StatusFacts {
    let mut facts = StatusFacts::default();
    let mut text = status.trim().to_string();
    for (suffix, health) in [
        (" (healthy)", Some(Health::Healthy)),
        (" (unhealthy)", Some(Health::Unhealthy)),
        (" (health: starting)", Some(Health::Starting)),
        (" (Paused)", None),
    ] {
        if let Some(stripped) = text.strip_suffix(suffix) {
            facts.health = health.or(facts.health);
            text = stripped.to_string();
        }
    }
    let ago = |s: &str| parse_human_duration(s).map(|d| now - d as i64);
    if let Some(rest) = text.strip_prefix("Up ") {
        facts.started_at = ago(rest);
    } else if let Some(rest) = text
        .strip_prefix("Exited (")
        .or_else(|| text.strip_prefix("Restarting ("))
    {
        if let Some((code, when)) = rest.split_once(") ") {
            facts.exit_code = code.parse().ok();
            facts.finished_at = when.strip_suffix(" ago").and_then(ago);
        }
    }
    facts
}

/// A row of `GET /containers/json`.
pub fn container_summary(c: m::ContainerSummary, now: i64) -> ContainerSummary {
    let state = c
        .state
        .map(|s| state_from_str(s.as_ref()))
        .unwrap_or(ContainerState::Exited);
    let facts = parse_status(c.status.as_deref().unwrap_or(""), now);
    let health = c
        .health
        .and_then(|h| h.status)
        .and_then(|s| match s {
            m::ContainerSummaryHealthStatusEnum::HEALTHY => Some(Health::Healthy),
            m::ContainerSummaryHealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
            m::ContainerSummaryHealthStatusEnum::STARTING => Some(Health::Starting),
            _ => None,
        })
        .or(facts.health);
    let mut ports: Vec<PortMapping> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| PortMapping {
            host_ip: p.public_port.and(p.ip.clone()),
            host_port: p.public_port,
            container_port: p.private_port,
            protocol: protocol(p.typ.map(|t| t.to_string()).as_deref()),
        })
        .collect();
    ports.sort_by_key(|p| (p.container_port, p.protocol, p.host_ip.clone()));
    ports.dedup();
    let mut networks: Vec<String> = c
        .network_settings
        .and_then(|n| n.networks)
        .map(|n| n.into_keys().collect())
        .unwrap_or_default();
    networks.sort();
    let name = c
        .names
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    ContainerSummary {
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        command: c.command.unwrap_or_default(),
        created: c.created.unwrap_or(0),
        state,
        started_at: facts.started_at,
        finished_at: facts.finished_at,
        exit_code: facts.exit_code,
        health,
        ports,
        networks,
        labels: labels(c.labels),
        size_rw: c.size_rw.map(|s| s.max(0) as u64),
        size_root_fs: c.size_root_fs.map(|s| s.max(0) as u64),
    }
}

/// Volumes mounted by a container of `GET /containers/json`, by name.
pub fn summary_volume_names(c: &m::ContainerSummary) -> Vec<String> {
    c.mounts
        .iter()
        .flatten()
        .filter(|mp| mp.typ.as_ref().is_some_and(|t| *t == "volume"))
        .filter_map(|mp| mp.name.clone())
        .collect()
}

fn restart_policy(p: Option<m::RestartPolicy>) -> RestartPolicy {
    let Some(p) = p else {
        return RestartPolicy::No;
    };
    match p.name.map(|n| n.to_string()).as_deref() {
        Some("always") => RestartPolicy::Always,
        Some("unless-stopped") => RestartPolicy::UnlessStopped,
        Some("on-failure") => RestartPolicy::OnFailure {
            max_retries: p.maximum_retry_count.unwrap_or(0).max(0) as u32,
        },
        _ => RestartPolicy::No,
    }
}

fn mount(mp: &m::MountPoint) -> Mount {
    let kind = match mp.typ.as_ref().map(|t| t.to_string()).as_deref() {
        Some("volume") => MountKind::Volume,
        Some("tmpfs") => MountKind::Tmpfs,
        _ => MountKind::Bind,
    };
    let source = match kind {
        MountKind::Volume => mp.name.clone().unwrap_or_default(),
        _ => mp.source.clone().unwrap_or_default(),
    };
    let destination = mp.destination.clone().unwrap_or_default();
    Mount::new(kind, &source, &destination, !mp.rw.unwrap_or(true))
}

fn ports_from_map(map: Option<&m::PortMap>) -> Vec<PortMapping> {
    let mut out = Vec::new();
    for (key, bindings) in map.into_iter().flatten() {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let Ok(container_port) = port.parse::<u16>() else {
            continue;
        };
        let protocol = protocol(Some(proto));
        match bindings {
            Some(list) if !list.is_empty() => {
                for b in list {
                    out.push(PortMapping {
                        host_ip: b.host_ip.clone().filter(|s| !s.is_empty()),
                        host_port: b.host_port.as_deref().and_then(|p| p.parse().ok()),
                        container_port,
                        protocol,
                    });
                }
            }
            _ => out.push(PortMapping {
                host_ip: None,
                host_port: None,
                container_port,
                protocol,
            }),
        }
    }
    out.sort_by_key(|p| (p.container_port, p.protocol, p.host_ip.clone()));
    out
}

/// `GET /containers/{id}/json`.
pub fn container_details(c: m::ContainerInspectResponse) -> ContainerDetails {
    let inspect = serde_json::to_value(&c).unwrap_or_default();
    let state = c.state.clone().unwrap_or_default();
    let config = c.config.clone().unwrap_or_default();
    let host = c.host_config.clone().unwrap_or_default();
    let net = c.network_settings.clone().unwrap_or_default();
    let status = state
        .status
        .map(|s| state_from_str(s.as_ref()))
        .unwrap_or(ContainerState::Exited);
    let started_at = state.started_at.as_deref().and_then(parse_rfc3339);
    let finished_at = state.finished_at.as_deref().and_then(parse_rfc3339);
    let health = state
        .health
        .and_then(|h| h.status)
        .and_then(|s| match s.to_string().as_str() {
            "healthy" => Some(Health::Healthy),
            "unhealthy" => Some(Health::Unhealthy),
            "starting" => Some(Health::Starting),
            _ => None,
        });
    let mut endpoints: Vec<EndpointInfo> = net
        .networks
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(network, e)| EndpointInfo {
            network,
            ip_address: match (&e.ip_address, e.ip_prefix_len) {
                (Some(ip), Some(len)) if !ip.is_empty() => format!("{ip}/{len}"),
                _ => String::new(),
            },
            gateway: e.gateway.unwrap_or_default(),
            mac_address: e.mac_address.unwrap_or_default(),
        })
        .collect();
    endpoints.sort_by(|a, b| a.network.cmp(&b.network));
    let mounts: Vec<Mount> = c.mounts.iter().flatten().map(mount).collect();
    let cmd = config.cmd.clone().unwrap_or_default();
    let summary = ContainerSummary {
        id: c.id.clone().unwrap_or_default(),
        name: c
            .name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.clone().unwrap_or_default(),
        command: c
            .path
            .iter()
            .chain(c.args.iter().flatten())
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        created: c.created.as_deref().and_then(parse_rfc3339).unwrap_or(0),
        state: status,
        started_at,
        finished_at,
        exit_code: state.exit_code,
        health,
        ports: ports_from_map(net.ports.as_ref()),
        networks: endpoints.iter().map(|e| e.network.clone()).collect(),
        labels: labels(config.labels.clone()),
        size_rw: c.size_rw.map(|s| s.max(0) as u64),
        size_root_fs: c.size_root_fs.map(|s| s.max(0) as u64),
    };
    ContainerDetails {
        summary,
        env: config.env.unwrap_or_default(),
        entrypoint: config.entrypoint.unwrap_or_default(),
        cmd,
        working_dir: config.working_dir.unwrap_or_default(),
        user: config.user.unwrap_or_default(),
        hostname: config.hostname.unwrap_or_default(),
        restart_policy: restart_policy(host.restart_policy),
        restart_count: c.restart_count.unwrap_or(0).max(0) as u32,
        mounts,
        endpoints,
        resources: Resources {
            memory: host.memory.filter(|m| *m > 0).map(|m| m as u64),
            // `--cpus` sets NanoCpus; `--cpu-quota` with `--cpu-period` says the same per period.
            nano_cpus: host
                .nano_cpus
                .filter(|n| *n > 0)
                .map(|n| n as u64)
                .or_else(|| {
                    let quota = u64::try_from(host.cpu_quota?).ok().filter(|q| *q > 0)?;
                    let period = host.cpu_period.filter(|p| *p > 0).unwrap_or(100_000) as u64;
                    Some(quota * 1_000_000_000 / period)
                }),
            cpu_shares: host.cpu_shares.filter(|n| *n > 0).map(|n| n as u64),
            pids_limit: host.pids_limit.filter(|n| *n > 0),
        },
        pid: state.pid.filter(|p| *p > 0).map(|p| p as u32),
        oom_killed: state.oom_killed.unwrap_or(false),
        tty: config.tty.unwrap_or(false),
        inspect,
    }
}

/// A row of `GET /images/json`; `containers` is counted by the caller.
pub fn image_summary(i: m::ImageSummary, containers: usize) -> ImageSummary {
    let mut repo_tags: Vec<String> = i
        .repo_tags
        .into_iter()
        .filter(|t| t != "<none>:<none>")
        .collect();
    repo_tags.sort();
    ImageSummary {
        id: i.id,
        repo_tags,
        repo_digests: i
            .repo_digests
            .into_iter()
            .filter(|d| d != "<none>@<none>")
            .collect(),
        created: i.created,
        size: i.size.max(0) as u64,
        containers,
        labels: i.labels.into_iter().collect(),
    }
}

/// `GET /images/{name}/json`.
pub fn image_details(i: m::ImageInspect, containers: usize) -> ImageDetails {
    let inspect = serde_json::to_value(&i).unwrap_or_default();
    let config = i.config.clone().unwrap_or_default();
    let mut repo_tags = i.repo_tags.clone().unwrap_or_default();
    repo_tags.sort();
    ImageDetails {
        summary: ImageSummary {
            id: i.id.clone().unwrap_or_default(),
            repo_tags,
            repo_digests: i.repo_digests.clone().unwrap_or_default(),
            created: i.created.as_deref().and_then(parse_rfc3339).unwrap_or(0),
            size: i.size.unwrap_or(0).max(0) as u64,
            containers,
            labels: labels(config.labels.clone()),
        },
        architecture: i.architecture.clone().unwrap_or_default(),
        os: i.os.clone().unwrap_or_default(),
        env: config.env.unwrap_or_default(),
        entrypoint: config.entrypoint.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
        working_dir: config.working_dir.unwrap_or_default(),
        exposed_ports: config.exposed_ports.unwrap_or_default(),
        layers: i.root_fs.and_then(|r| r.layers).unwrap_or_default(),
        inspect,
    }
}

/// A step of `GET /images/{name}/history`.
pub fn history_entry(h: m::ImageHistoryResponseItem) -> HistoryEntry {
    HistoryEntry {
        id: h.id,
        created: h.created,
        created_by: h.created_by,
        size: h.size.max(0) as u64,
        comment: h.comment,
    }
}

/// A volume; `used_by` is filled by the caller.
pub fn volume(v: m::Volume, used_by: Vec<String>) -> VolumeSummary {
    VolumeSummary {
        created: v.created_at.as_deref().and_then(parse_rfc3339).unwrap_or(0),
        size: v
            .usage_data
            .map(|u| u.size)
            .filter(|s| *s >= 0)
            .map(|s| s as u64),
        name: v.name,
        driver: v.driver,
        mountpoint: v.mountpoint,
        anonymous: v.labels.contains_key("com.docker.volume.anonymous"),
        labels: v.labels.into_iter().collect(),
        options: v.options.into_iter().collect(),
        used_by,
    }
}

/// A network; `containers` is filled by the caller when the API does not list them.
pub fn network(n: m::NetworkInspect, containers: Vec<String>) -> NetworkSummary {
    let ipam = n.ipam.and_then(|i| i.config).and_then(|c| {
        c.into_iter()
            .find(|c| c.subnet.as_deref().is_some_and(|s| s.contains('.')))
    });
    let endpoints: Vec<m::EndpointResource> = n
        .containers
        .map(|c| c.into_values().collect())
        .unwrap_or_default();
    let addresses = endpoints
        .iter()
        .filter_map(|e| Some((e.name.clone()?, e.ipv4_address.clone()?)))
        .collect();
    let mut members: Vec<String> = endpoints.into_iter().filter_map(|e| e.name).collect();
    if members.is_empty() {
        members = containers;
    }
    members.sort();
    NetworkSummary {
        id: n.id.unwrap_or_default(),
        name: n.name.unwrap_or_default(),
        driver: n.driver.unwrap_or_default(),
        scope: n.scope.unwrap_or_default(),
        subnet: ipam.as_ref().and_then(|c| c.subnet.clone()),
        gateway: ipam.and_then(|c| c.gateway),
        internal: n.internal.unwrap_or(false),
        containers: members,
        addresses,
        created: n.created.as_deref().and_then(parse_rfc3339).unwrap_or(0),
        labels: labels(n.labels),
    }
}

/// CPU, memory, network and block I/O from one stats document, as `docker stats` computes them;
/// `cpu_limit` is the container's (from its inspect document), in CPUs.
pub fn stats(s: &m::ContainerStatsResponse, now: i64, cpu_limit: Option<f64>) -> StatsSample {
    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let pre = s.precpu_stats.clone().unwrap_or_default();
    let total = |c: &m::ContainerCpuStats| {
        c.cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
    let system_delta = cpu
        .system_cpu_usage
        .unwrap_or(0)
        .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
    let cpus = cpu
        .online_cpus
        .map(f64::from)
        .or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map(|v| v.len() as f64)
        })
        .unwrap_or(1.0);
    let cpu_percent = if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    };
    let mem = s.memory_stats.clone().unwrap_or_default();
    // Docker subtracts the page cache: inactive_file on cgroup v2, total_inactive_file (or cache) on v1.
    let cache = mem.stats.as_ref().and_then(|st| {
        st.get("inactive_file")
            .or_else(|| st.get("total_inactive_file"))
            .or_else(|| st.get("cache"))
            .copied()
    });
    let usage = mem.usage.unwrap_or(0);
    let usage = usage.saturating_sub(cache.unwrap_or(0).min(usage));
    let (mut rx, mut tx) = (0, 0);
    for n in s.networks.iter().flat_map(|m| m.values()) {
        rx += n.rx_bytes.unwrap_or(0);
        tx += n.tx_bytes.unwrap_or(0);
    }
    let (mut read, mut write) = (0, 0);
    for e in s
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref())
        .into_iter()
        .flatten()
    {
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += e.value.unwrap_or(0),
            Some("write") => write += e.value.unwrap_or(0),
            _ => {}
        }
    }
    StatsSample {
        read: s.read.as_deref().and_then(parse_rfc3339).unwrap_or(now),
        cpu_percent,
        cpu_limit,
        host_cpus: cpus as u32,
        memory_usage: usage,
        memory_limit: mem.limit.unwrap_or(0),
        net_rx: rx,
        net_tx: tx,
        block_read: read,
        block_write: write,
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    }
}

/// Maps a pull progress message to a layer status; `None` for messages about the whole image.
pub fn pull_status(info: &m::CreateImageInfo) -> Option<PullStatus> {
    let status = info.status.as_deref()?;
    let detail = info.progress_detail.as_ref();
    let current = detail.and_then(|d| d.current).unwrap_or(0).max(0) as u64;
    let total = detail
        .and_then(|d| d.total)
        .filter(|t| *t > 0)
        .map(|t| t as u64);
    info.id.as_ref()?;
    Some(match status {
        "Pulling fs layer" | "Waiting" => PullStatus::Waiting,
        "Downloading" => PullStatus::Downloading { current, total },
        "Verifying Checksum" | "Download complete" => PullStatus::Verifying,
        "Extracting" => PullStatus::Extracting { current, total },
        "Pull complete" => PullStatus::Complete,
        "Already exists" => PullStatus::AlreadyExists,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn status_text_round_trips_through_the_summary() {
        for status in [
            "Up 3 hours",
            "Up 2 days (healthy)",
            "Up 25 minutes (Paused)",
            "Exited (137) 2 minutes ago",
            "Exited (0) About an hour ago",
            "Restarting (1) 5 seconds ago",
            "Created",
        ] {
            let state = match status.split(' ').next().unwrap() {
                "Up" if status.contains("Paused") => ContainerState::Paused,
                "Up" => ContainerState::Running,
                "Exited" => ContainerState::Exited,
                "Restarting" => ContainerState::Restarting,
                _ => ContainerState::Created,
            };
            let facts = parse_status(status, NOW);
            let summary = ContainerSummary {
                id: String::new(),
                name: String::new(),
                image: String::new(),
                command: String::new(),
                created: 0,
                state,
                started_at: facts.started_at,
                finished_at: facts.finished_at,
                exit_code: facts.exit_code,
                health: facts.health,
                ports: vec![],
                networks: vec![],
                labels: BTreeMap::new(),
                size_rw: None,
                size_root_fs: None,
            };
            assert_eq!(summary.status_text(NOW), status);
        }
    }

    #[test]
    fn exit_codes_come_from_the_status() {
        assert_eq!(
            parse_status("Exited (143) 3 days ago", NOW).exit_code,
            Some(143)
        );
        assert_eq!(
            parse_status("Exited (143) 3 days ago", NOW).finished_at,
            Some(NOW - 3 * 86_400)
        );
    }
}
