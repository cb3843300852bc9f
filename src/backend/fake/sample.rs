//! The sample world the demo backend starts with: a small web stack with a database, a cache,
//! a failing worker, a paused shell, images (one dangling), volumes and networks.

use std::collections::BTreeMap;

use super::synth::hex_id;
use super::{FakeContainer, FakeImage, FakeNetwork, FakeVolume, State};
use crate::model::*;

const MB: u64 = 1_000_000;
const MIB: u64 = 1024 * 1024;

fn tcp(host: Option<(&str, u16)>, container_port: u16) -> PortMapping {
    PortMapping {
        host_ip: host.map(|(ip, _)| ip.to_string()),
        host_port: host.map(|(_, p)| p),
        container_port,
        protocol: Protocol::Tcp,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

struct ImageDef {
    reference: &'static str,
    age_days: i64,
    size: u64,
    cmd: &'static [&'static str],
    entrypoint: &'static [&'static str],
    env: &'static [&'static str],
    workdir: &'static str,
    exposed: &'static [&'static str],
    layers: usize,
}

const IMAGES: &[ImageDef] = &[
    ImageDef {
        reference: "nginx:1.27-alpine",
        age_days: 34,
        size: 47 * MB + 800_000,
        cmd: &["nginx", "-g", "daemon off;"],
        entrypoint: &["/docker-entrypoint.sh"],
        env: &[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NGINX_VERSION=1.27.3",
        ],
        workdir: "",
        exposed: &["80/tcp"],
        layers: 8,
    },
    ImageDef {
        reference: "node:20-alpine",
        age_days: 21,
        size: 135 * MB + 200_000,
        cmd: &["node"],
        entrypoint: &["docker-entrypoint.sh"],
        env: &[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NODE_VERSION=20.18.1",
            "YARN_VERSION=1.22.22",
        ],
        workdir: "",
        exposed: &[],
        layers: 4,
    },
    ImageDef {
        reference: "postgres:16",
        age_days: 15,
        size: 435 * MB + 300_000,
        cmd: &["postgres"],
        entrypoint: &["docker-entrypoint.sh"],
        env: &[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/16/bin",
            "PG_MAJOR=16",
            "PGDATA=/var/lib/postgresql/data",
        ],
        workdir: "",
        exposed: &["5432/tcp"],
        layers: 13,
    },
    ImageDef {
        reference: "redis:7.2",
        age_days: 40,
        size: 117 * MB + 400_000,
        cmd: &["redis-server"],
        entrypoint: &["docker-entrypoint.sh"],
        env: &[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "REDIS_VERSION=7.2.6",
        ],
        workdir: "/data",
        exposed: &["6379/tcp"],
        layers: 8,
    },
    ImageDef {
        reference: "python:3.12-slim",
        age_days: 9,
        size: 124 * MB + 700_000,
        cmd: &["python3"],
        entrypoint: &[],
        env: &[
            "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHON_VERSION=3.12.8",
            "LANG=C.UTF-8",
        ],
        workdir: "",
        exposed: &[],
        layers: 4,
    },
    ImageDef {
        reference: "busybox:1.36",
        age_days: 480,
        size: 4 * MB + 260_000,
        cmd: &["sh"],
        entrypoint: &[],
        env: &["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        workdir: "",
        exposed: &[],
        layers: 1,
    },
    ImageDef {
        reference: "traefik:v3.1",
        age_days: 60,
        size: 182 * MB + 100_000,
        cmd: &["traefik"],
        entrypoint: &["/entrypoint.sh"],
        env: &["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        workdir: "",
        exposed: &["80/tcp"],
        layers: 4,
    },
    ImageDef {
        reference: "alpine:3.20",
        age_days: 120,
        size: 7 * MB + 800_000,
        cmd: &["/bin/sh"],
        entrypoint: &[],
        env: &["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        workdir: "",
        exposed: &[],
        layers: 1,
    },
];

/// References the demo "registry" can pull that are not in the store at first.
pub const PULLABLE: &[(&str, u64, usize)] = &[
    ("hello-world:latest", 13_256, 1),
    ("busybox:latest", 4_261_000, 1),
    ("caddy:2", 48_300_000, 5),
    ("httpd:2.4", 148_000_000, 6),
];

/// Builds an image record; `age_days` before `now`.
pub fn image(reference: &str, now: i64, age_days: i64, size: u64, layers: usize) -> FakeImage {
    let def = IMAGES.iter().find(|d| d.reference == reference);
    let id = format!("sha256:{}", hex_id(&format!("image:{reference}")));
    let created = now - age_days * 86_400 - 3_600 * 7;
    let layer_ids: Vec<String> = (0..layers.max(1))
        .map(|i| format!("sha256:{}", hex_id(&format!("layer:{reference}:{i}"))))
        .collect();
    let mut history: Vec<HistoryEntry> = layer_ids
        .iter()
        .enumerate()
        .map(|(i, _)| HistoryEntry {
            id: "<missing>".into(),
            created: created - (layers - i) as i64 * 60,
            created_by: if i == 0 {
                "/bin/sh -c #(nop) ADD file:2f8c1c0b1a0a5e3e in / ".to_string()
            } else {
                format!("RUN /bin/sh -c set -eux; step {i} # buildkit")
            },
            size: size / layers.max(1) as u64,
            comment: if i == 0 {
                String::new()
            } else {
                "buildkit.dockerfile.v0".into()
            },
        })
        .collect();
    history.reverse();
    if let Some(first) = history.first_mut() {
        first.id = id.clone();
    }
    FakeImage {
        summary: ImageSummary {
            id,
            repo_tags: vec![reference.to_string()],
            repo_digests: vec![format!(
                "{}@sha256:{}",
                reference.split(':').next().unwrap_or(reference),
                hex_id(&format!("digest:{reference}"))
            )],
            created,
            size,
            containers: 0,
            labels: BTreeMap::new(),
        },
        env: def.map(|d| strings(d.env)).unwrap_or_else(|| {
            strings(&["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        }),
        cmd: def
            .map(|d| strings(d.cmd))
            .unwrap_or_else(|| strings(&["sh"])),
        entrypoint: def.map(|d| strings(d.entrypoint)).unwrap_or_default(),
        working_dir: def.map(|d| d.workdir.to_string()).unwrap_or_default(),
        exposed_ports: def.map(|d| strings(d.exposed)).unwrap_or_default(),
        layers: layer_ids,
        history,
    }
}

struct ContainerDef {
    name: &'static str,
    image: &'static str,
    state: ContainerState,
    /// Seconds before now that the current or last run started.
    started_ago: Option<i64>,
    /// Seconds before now that the last run finished.
    finished_ago: Option<i64>,
    exit_code: Option<i64>,
    health: Option<Health>,
    cmd: &'static [&'static str],
    env: &'static [&'static str],
    ports: &'static [(Option<(&'static str, u16)>, u16)],
    networks: &'static [&'static str],
    volumes: &'static [(&'static str, &'static str)],
    restart: RestartPolicy,
    memory: Option<u64>,
}

const CONTAINERS: &[ContainerDef] = &[
    ContainerDef {
        name: "web",
        image: "nginx:1.27-alpine",
        state: ContainerState::Running,
        started_ago: Some(3 * 3600 + 340),
        finished_ago: None,
        exit_code: Some(0),
        health: Some(Health::Healthy),
        cmd: &["nginx", "-g", "daemon off;"],
        env: &["NGINX_HOST=shop.local", "NGINX_PORT=80"],
        ports: &[(Some(("0.0.0.0", 8080)), 80)],
        networks: &["app-net"],
        volumes: &[],
        restart: RestartPolicy::UnlessStopped,
        memory: Some(256 * MIB),
    },
    ContainerDef {
        name: "api",
        image: "node:20-alpine",
        state: ContainerState::Running,
        started_ago: Some(3 * 3600 + 300),
        finished_ago: None,
        exit_code: Some(0),
        health: None,
        cmd: &["node", "server.js"],
        env: &[
            "NODE_ENV=production",
            "PORT=3000",
            "DATABASE_URL=postgres://app@db:5432/shop",
            "REDIS_URL=redis://cache:6379",
        ],
        ports: &[(Some(("127.0.0.1", 3000)), 3000)],
        networks: &["app-net"],
        volumes: &[("api-cache", "/app/.cache")],
        restart: RestartPolicy::UnlessStopped,
        memory: Some(512 * MIB),
    },
    ContainerDef {
        name: "db",
        image: "postgres:16",
        state: ContainerState::Running,
        started_ago: Some(2 * 86_400 + 4_000),
        finished_ago: None,
        exit_code: Some(0),
        health: Some(Health::Healthy),
        cmd: &["postgres"],
        env: &[
            "POSTGRES_USER=app",
            "POSTGRES_DB=shop",
            "POSTGRES_PASSWORD=demo-only",
        ],
        ports: &[(None, 5432)],
        networks: &["app-net"],
        volumes: &[("pgdata", "/var/lib/postgresql/data")],
        restart: RestartPolicy::Always,
        memory: None,
    },
    ContainerDef {
        name: "cache",
        image: "redis:7.2",
        state: ContainerState::Running,
        started_ago: Some(2 * 86_400 + 3_900),
        finished_ago: None,
        exit_code: Some(0),
        health: None,
        cmd: &["redis-server", "--appendonly", "yes"],
        env: &[],
        ports: &[(None, 6379)],
        networks: &["app-net"],
        volumes: &[("redis-data", "/data")],
        restart: RestartPolicy::Always,
        memory: Some(128 * MIB),
    },
    ContainerDef {
        name: "worker",
        image: "python:3.12-slim",
        state: ContainerState::Exited,
        started_ago: Some(47 * 60),
        finished_ago: Some(12 * 60),
        exit_code: Some(1),
        health: None,
        cmd: &["python", "-m", "worker", "--queue", "default"],
        env: &[
            "QUEUE=default",
            "REDIS_URL=redis://cache:6379",
            "PYTHONUNBUFFERED=1",
        ],
        ports: &[],
        networks: &["app-net"],
        volumes: &[],
        restart: RestartPolicy::OnFailure { max_retries: 3 },
        memory: Some(MIB * 1024),
    },
    ContainerDef {
        name: "migrate",
        image: "python:3.12-slim",
        state: ContainerState::Exited,
        started_ago: Some(2 * 3600 + 75),
        finished_ago: Some(2 * 3600 + 40),
        exit_code: Some(0),
        health: None,
        cmd: &["alembic", "upgrade", "head"],
        env: &["DATABASE_URL=postgres://app@db:5432/shop"],
        ports: &[],
        networks: &["app-net"],
        volumes: &[],
        restart: RestartPolicy::No,
        memory: None,
    },
    ContainerDef {
        name: "debug-shell",
        image: "busybox:1.36",
        state: ContainerState::Paused,
        started_ago: Some(25 * 60),
        finished_ago: None,
        exit_code: Some(0),
        health: None,
        cmd: &["sh", "-c", "while true; do echo heartbeat; sleep 5; done"],
        env: &[],
        ports: &[],
        networks: &["bridge"],
        volumes: &[],
        restart: RestartPolicy::No,
        memory: None,
    },
    ContainerDef {
        name: "proxy",
        image: "traefik:v3.1",
        state: ContainerState::Created,
        started_ago: None,
        finished_ago: None,
        exit_code: None,
        health: None,
        cmd: &["traefik", "--providers.docker=true"],
        env: &[],
        ports: &[(Some(("0.0.0.0", 80)), 80), (Some(("0.0.0.0", 443)), 443)],
        networks: &["app-net"],
        volumes: &[],
        restart: RestartPolicy::UnlessStopped,
        memory: None,
    },
    ContainerDef {
        name: "cron",
        image: "alpine:3.20",
        state: ContainerState::Restarting,
        started_ago: Some(9),
        finished_ago: Some(4),
        exit_code: Some(2),
        health: None,
        cmd: &["crond", "-f", "-l", "2"],
        env: &["TZ=UTC"],
        ports: &[],
        networks: &["bridge"],
        volumes: &[],
        restart: RestartPolicy::Always,
        memory: None,
    },
];

fn network(
    name: &str,
    driver: &str,
    subnet: Option<(&str, &str)>,
    now: i64,
    age_days: i64,
) -> FakeNetwork {
    FakeNetwork {
        id: hex_id(&format!("network:{name}")),
        name: name.to_string(),
        driver: driver.to_string(),
        subnet: subnet.map(|(s, _)| s.to_string()),
        gateway: subnet.map(|(_, g)| g.to_string()),
        internal: false,
        created: now - age_days * 86_400,
        labels: BTreeMap::new(),
    }
}

fn volume(name: &str, now: i64, age_days: i64, size: u64) -> FakeVolume {
    FakeVolume {
        name: name.to_string(),
        driver: "local".into(),
        created: now - age_days * 86_400,
        labels: BTreeMap::new(),
        size,
    }
}

/// The world the demo starts in, with times relative to `now`.
pub fn world(now: i64) -> State {
    let images = IMAGES
        .iter()
        .map(|d| image(d.reference, now, d.age_days, d.size, d.layers))
        .chain(std::iter::once({
            let mut dangling = image("<none>:old-build", now, 64, 212 * MB, 6);
            dangling.summary.repo_tags.clear();
            dangling.summary.repo_digests.clear();
            dangling
        }))
        .collect();
    let containers = CONTAINERS
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let id = hex_id(&format!("container:{}", d.name));
            let created = now - d.started_ago.unwrap_or(3_600) - 20;
            FakeContainer {
                summary: ContainerSummary {
                    id: id.clone(),
                    name: d.name.to_string(),
                    image: d.image.to_string(),
                    command: d.cmd.join(" "),
                    created,
                    state: d.state,
                    started_at: d.started_ago.map(|a| now - a),
                    finished_at: d.finished_ago.map(|a| now - a),
                    exit_code: d.exit_code,
                    health: d.health,
                    ports: d.ports.iter().map(|(h, c)| tcp(*h, *c)).collect(),
                    networks: strings(d.networks),
                    labels: compose_labels(d.name),
                    size_rw: Some(4_096 * (i as u64 * 37 + 3)),
                    size_root_fs: None,
                },
                cmd: strings(d.cmd),
                env: strings(d.env),
                hostname: id[..12].to_string(),
                working_dir: String::new(),
                user: String::new(),
                restart_policy: d.restart,
                restart_count: if d.state == ContainerState::Restarting {
                    5
                } else {
                    0
                },
                mounts: d
                    .volumes
                    .iter()
                    .map(|(v, dest)| Mount::new(MountKind::Volume, v, dest, false))
                    .collect(),
                resources: Resources {
                    memory: d.memory,
                    // The API runs with `--cpus 1.5`; the rest may use the host's cores.
                    nano_cpus: (d.name == "api").then_some(1_500_000_000),
                    ..Resources::default()
                },
                pid: d.state.is_alive().then_some(2_100 + i as u32 * 97),
                tty: d.name == "debug-shell",
                oom_killed: false,
                stats_tick: 0,
                files: Default::default(),
            }
        })
        .collect();
    State {
        images,
        containers,
        volumes: vec![
            volume("pgdata", now, 40, 183 * MB),
            volume("redis-data", now, 40, 2 * MB),
            volume("api-cache", now, 12, 31 * MB),
            volume("old-backups", now, 90, 1_240 * MB),
            volume(&hex_id("volume:anonymous"), now, 30, 0),
        ],
        networks: vec![
            network(
                "bridge",
                "bridge",
                Some(("172.17.0.0/16", "172.17.0.1")),
                now,
                90,
            ),
            network("host", "host", None, now, 90),
            network("none", "null", None, now, 90),
            network(
                "app-net",
                "bridge",
                Some(("172.20.0.0/16", "172.20.0.1")),
                now,
                40,
            ),
            network(
                "monitoring",
                "bridge",
                Some(("172.21.0.0/16", "172.21.0.1")),
                now,
                20,
            ),
        ],
        seq: 0,
    }
}

/// The compose labels of the sample's project `shop`: its web front end and its worker;
/// the other containers were started by hand.
fn compose_labels(name: &str) -> BTreeMap<String, String> {
    if !["web", "worker"].contains(&name) {
        return BTreeMap::new();
    }
    BTreeMap::from([
        ("com.docker.compose.project".to_string(), "shop".to_string()),
        ("com.docker.compose.service".to_string(), name.to_string()),
        (
            "com.docker.compose.container-number".to_string(),
            "1".to_string(),
        ),
    ])
}
