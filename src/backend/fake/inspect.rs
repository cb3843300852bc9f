//! Docker-shaped inspect documents for the demo backend's objects, so the Inspect tab and
//! `inspect` show what a Docker user expects to read.

use serde_json::{Map, Value, json};

use super::{FakeContainer, FakeImage};
use crate::model::*;
use crate::util::time::rfc3339;

fn ports_json(ports: &[PortMapping]) -> Value {
    let mut map = Map::new();
    for p in ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        let binding = match p.host_port {
            Some(hp) => {
                json!([{ "HostIp": p.host_ip.clone().unwrap_or_default(), "HostPort": hp.to_string() }])
            }
            None => Value::Null,
        };
        map.insert(key, binding);
    }
    Value::Object(map)
}

fn time_or_zero(t: Option<i64>) -> String {
    t.map(rfc3339)
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string())
}

/// `docker container inspect` for a demo container.
pub fn container(c: &FakeContainer, image_id: &str, endpoints: &[EndpointInfo]) -> Value {
    let s = &c.summary;
    let networks: Map<String, Value> = endpoints
        .iter()
        .map(|e| {
            let (ip, prefix) = e
                .ip_address
                .split_once('/')
                .unwrap_or((&e.ip_address, "16"));
            (
                e.network.clone(),
                json!({
                    "IPAddress": ip,
                    "IPPrefixLen": prefix.parse::<u8>().unwrap_or(16),
                    "Gateway": e.gateway,
                    "MacAddress": e.mac_address,
                }),
            )
        })
        .collect();
    let (max_retries, policy) = match c.restart_policy {
        RestartPolicy::OnFailure { max_retries } => (max_retries, "on-failure".to_string()),
        other => (0, other.to_string()),
    };
    json!({
        "Id": s.id,
        "Created": rfc3339(s.created),
        "Path": c.cmd.first().cloned().unwrap_or_default(),
        "Args": c.cmd.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": s.state.as_str(),
            "Running": s.state.is_alive(),
            "Paused": s.state == ContainerState::Paused,
            "Restarting": s.state == ContainerState::Restarting,
            "OOMKilled": c.oom_killed,
            "Dead": s.state == ContainerState::Dead,
            "Pid": c.pid.unwrap_or(0),
            "ExitCode": s.exit_code.unwrap_or(0),
            "StartedAt": time_or_zero(s.started_at),
            "FinishedAt": time_or_zero(s.finished_at),
        },
        "Image": image_id,
        "Name": format!("/{}", s.name),
        "RestartCount": c.restart_count,
        "Mounts": c.mounts.iter().map(|m| json!({
            "Type": m.kind.to_string(),
            "Name": if m.kind == MountKind::Volume { m.source.clone() } else { String::new() },
            "Source": m.source,
            "Destination": m.destination,
            "RW": !m.read_only,
        })).collect::<Vec<_>>(),
        "HostConfig": {
            "RestartPolicy": { "Name": policy, "MaximumRetryCount": max_retries },
            "Memory": c.resources.memory.unwrap_or(0),
            "NanoCpus": c.resources.nano_cpus.unwrap_or(0),
            "CpuShares": c.resources.cpu_shares.unwrap_or(0),
            "PidsLimit": c.resources.pids_limit,
            "PortBindings": ports_json(&s.ports),
        },
        "Config": {
            "Hostname": c.hostname,
            "User": c.user,
            "Tty": c.tty,
            "Env": c.env,
            "Cmd": c.cmd,
            "Image": s.image,
            "WorkingDir": c.working_dir,
            "Labels": s.labels,
        },
        "NetworkSettings": {
            "Ports": ports_json(&s.ports),
            "Networks": networks,
        },
    })
}

/// `docker image inspect` for a demo image.
pub fn image(i: &FakeImage) -> Value {
    let s = &i.summary;
    let exposed: Map<String, Value> = i
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    json!({
        "Id": s.id,
        "RepoTags": s.repo_tags,
        "RepoDigests": s.repo_digests,
        "Created": rfc3339(s.created),
        "Architecture": "amd64",
        "Os": "linux",
        "Size": s.size,
        "Config": {
            "Env": i.env,
            "Cmd": i.cmd,
            "Entrypoint": if i.entrypoint.is_empty() { Value::Null } else { json!(i.entrypoint) },
            "WorkingDir": i.working_dir,
            "ExposedPorts": exposed,
            "Labels": s.labels,
        },
        "RootFS": { "Type": "layers", "Layers": i.layers },
    })
}
