//! Deterministic synthetic output for the demo backend: ids, log lines, stats samples and
//! process tables that look like what the sample images would produce.

use crate::model::{LogLine, LogStream, StatsSample, TopOutput};

/// FNV-1a over `data`, mixed with `salt`.
pub fn hash64(data: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in data.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final avalanche so neighbouring inputs differ in every digit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// A stable 64-hex id derived from a seed string.
pub fn hex_id(seed: &str) -> String {
    (0..4)
        .map(|i| format!("{:016x}", hash64(seed, i)))
        .collect()
}

/// What kind of program a sample image runs, which decides its logs, load and processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// A web server answering requests.
    Web,
    /// A Node.js API.
    Api,
    /// A PostgreSQL server.
    Postgres,
    /// A Redis server.
    Redis,
    /// A Python job runner.
    Worker,
    /// A shell or other idle program.
    Shell,
    /// A reverse proxy.
    Proxy,
}

impl Workload {
    /// Picks the workload from an image reference.
    pub fn for_image(image: &str) -> Workload {
        let name = image.rsplit('/').next().unwrap_or(image);
        match name.split(':').next().unwrap_or(name) {
            "nginx" | "httpd" | "caddy" => Workload::Web,
            "node" => Workload::Api,
            "postgres" => Workload::Postgres,
            "redis" => Workload::Redis,
            "python" => Workload::Worker,
            "traefik" => Workload::Proxy,
            _ => Workload::Shell,
        }
    }

    fn base_cpu(self) -> f64 {
        match self {
            Workload::Web => 0.8,
            Workload::Api => 6.5,
            Workload::Postgres => 2.4,
            Workload::Redis => 0.6,
            Workload::Worker => 18.0,
            Workload::Shell => 0.0,
            Workload::Proxy => 1.2,
        }
    }

    fn base_memory(self) -> u64 {
        const MIB: u64 = 1024 * 1024;
        match self {
            Workload::Web => 9 * MIB,
            Workload::Api => 84 * MIB,
            Workload::Postgres => 61 * MIB,
            Workload::Redis => 7 * MIB,
            Workload::Worker => 143 * MIB,
            Workload::Shell => MIB / 2,
            Workload::Proxy => 32 * MIB,
        }
    }
}

const PATHS: [&str; 6] = [
    "/",
    "/api/v1/orders",
    "/static/app.js",
    "/healthz",
    "/api/v1/users/42",
    "/favicon.ico",
];
const CODES: [u16; 6] = [200, 200, 304, 200, 404, 200];

/// The `seq`-th line a container of this workload writes, at `timestamp_ns`.
pub fn log_line(workload: Workload, seed: &str, seq: u64, timestamp_ns: i128) -> LogLine {
    let r = hash64(seed, seq);
    let pick = (r % 6) as usize;
    let ms = r % 900 + 3;
    let (stream, text) = match workload {
        Workload::Web | Workload::Proxy => (
            LogStream::Stdout,
            format!(
                "172.20.0.{} - - \"GET {} HTTP/1.1\" {} {} \"-\" \"curl/8.5.0\"",
                r % 200 + 2,
                PATHS[pick],
                CODES[pick],
                r % 4000 + 120
            ),
        ),
        Workload::Api => {
            if r % 11 == 0 {
                (
                    LogStream::Stderr,
                    format!("warn: slow query on /api/v1/orders took {ms}ms"),
                )
            } else {
                (
                    LogStream::Stdout,
                    format!(
                        "info: {} {} {} - {ms}ms",
                        if r % 3 == 0 { "POST" } else { "GET" },
                        PATHS[pick],
                        CODES[pick]
                    ),
                )
            }
        }
        Workload::Postgres => (
            LogStream::Stderr,
            if r % 4 == 0 {
                format!(
                    "LOG:  checkpoint complete: wrote {} buffers ({}.{}%); 0 WAL file(s) added",
                    r % 90 + 3,
                    r % 2,
                    r % 10
                )
            } else {
                "LOG:  checkpoint starting: time".to_string()
            },
        ),
        Workload::Redis => (
            LogStream::Stdout,
            format!(
                "1:M * {} changes in 60 seconds. Saving... DB saved on disk ({} keys)",
                r % 500 + 1,
                r % 9000 + 1000
            ),
        ),
        Workload::Worker => {
            if r % 7 == 0 {
                (
                    LogStream::Stderr,
                    format!(
                        "ERROR worker: job {} failed: ConnectionError: redis:6379 refused",
                        r % 100_000
                    ),
                )
            } else {
                (
                    LogStream::Stdout,
                    format!(
                        "INFO worker: job {} done in {ms}ms (queue=default)",
                        r % 100_000
                    ),
                )
            }
        }
        Workload::Shell => (LogStream::Stdout, format!("heartbeat {seq}")),
    };
    LogLine {
        stream,
        timestamp_ns,
        text,
    }
}

/// A plausible resource sample for tick `tick` of a container.
pub fn stats_sample(
    workload: Workload,
    seed: &str,
    tick: u64,
    now: i64,
    memory_limit: u64,
    paused: bool,
) -> StatsSample {
    let r = hash64(seed, tick);
    let jitter = (r % 1000) as f64 / 1000.0;
    let cpu = if paused {
        0.0
    } else {
        workload.base_cpu() * (0.6 + 0.8 * jitter)
    };
    let base = workload.base_memory();
    let memory_usage = base + (r >> 12) % (base / 8 + 1);
    let rate = (workload.base_cpu() * 900.0) as u64 + 64;
    StatsSample {
        read: now,
        cpu_percent: cpu,
        memory_usage,
        memory_limit,
        net_rx: 48_000 + tick * rate * 3 + (r % rate),
        net_tx: 21_000 + tick * rate + (r % rate),
        block_read: 2_400_000 + tick * 512,
        block_write: 380_000 + tick * (rate / 2),
        pids: match workload {
            Workload::Postgres => 7,
            Workload::Api | Workload::Proxy => 11,
            Workload::Worker => 3,
            Workload::Web => 3,
            Workload::Redis => 5,
            Workload::Shell => 1,
        },
        ..StatsSample::default()
    }
}

/// The process table `top` shows for a running container of this workload.
pub fn top(workload: Workload, pid: u32, command: &str) -> TopOutput {
    let titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        .iter()
        .map(ToString::to_string)
        .collect();
    let row = |user: &str, p: u32, pp: u32, cmd: &str| {
        vec![
            user.to_string(),
            p.to_string(),
            pp.to_string(),
            "0".into(),
            "09:12".into(),
            "?".into(),
            "00:00:01".into(),
            cmd.to_string(),
        ]
    };
    let mut processes = vec![row("root", pid, pid - 1, command)];
    let children: &[(&str, &str)] = match workload {
        Workload::Web => &[
            ("101", "nginx: worker process"),
            ("101", "nginx: worker process"),
        ],
        Workload::Postgres => &[
            ("999", "postgres: checkpointer"),
            ("999", "postgres: background writer"),
            ("999", "postgres: walwriter"),
            ("999", "postgres: autovacuum launcher"),
        ],
        Workload::Worker => &[("1000", "python -m worker --child")],
        _ => &[],
    };
    for (i, (user, cmd)) in children.iter().enumerate() {
        processes.push(row(user, pid + 1 + i as u32, pid, cmd));
    }
    TopOutput { titles, processes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_64_hex() {
        let a = hex_id("web");
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, hex_id("web"));
        assert_ne!(a, hex_id("api"));
    }

    #[test]
    fn workloads_follow_the_image_name() {
        assert_eq!(
            Workload::for_image("docker.io/library/nginx:1.27"),
            Workload::Web
        );
        assert_eq!(Workload::for_image("postgres:16"), Workload::Postgres);
        assert_eq!(Workload::for_image("busybox"), Workload::Shell);
    }

    #[test]
    fn paused_containers_use_no_cpu() {
        let s = stats_sample(Workload::Worker, "w", 3, 0, 1 << 30, true);
        assert_eq!(s.cpu_percent, 0.0);
        let s = stats_sample(Workload::Worker, "w", 3, 0, 1 << 30, false);
        assert!(s.cpu_percent > 0.0);
    }
}
