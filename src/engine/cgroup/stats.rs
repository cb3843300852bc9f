//! Resource use of a running container, read from its cgroup (v2 unified, or the v1
//! controllers on v1 and hybrid hosts) and its network namespace.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Raw counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// CPU limit in CPUs (`None` when unlimited).
    pub cpu_limit: Option<f64>,
    /// Memory in use, bytes.
    pub memory: u64,
    /// Memory limit, bytes (`None` when unlimited).
    pub memory_limit: Option<u64>,
    /// Processes.
    pub pids: u64,
    /// Bytes read from block devices.
    pub block_read: u64,
    /// Bytes written to block devices.
    pub block_write: u64,
    /// Bytes received on the container's interfaces (loopback aside).
    pub net_rx: u64,
    /// Bytes sent.
    pub net_tx: u64,
}

fn read(p: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn number(p: impl AsRef<Path>) -> Option<u64> {
    read(p)?.trim().parse().ok()
}

/// A `key value` line of a flat-keyed cgroup file.
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// A CFS quota per period as a number of CPUs.
fn quota_in_cpus(quota: u64, period: u64) -> Option<f64> {
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
}

/// CPU time used (nanoseconds) and memory in use (bytes, the page cache left out as Docker
/// does) of container `id` under `base`: what a list's columns show, in a few reads.
/// `None` when its cgroup is gone (it stopped).
pub fn read_usage(base: &Path, id: &str) -> Option<(u64, u64)> {
    UsageFiles::open(base, id)?.read()
}

/// The files [`read_usage`] reads, kept open for a stream of samples: each is then one read
/// per file, without looking up a path.
#[derive(Debug)]
pub struct UsageFiles {
    unified: bool,
    /// `cpu.stat` (v2) or `cpuacct.usage` (v1).
    cpu: File,
    /// `memory.current` (v2) or `memory.usage_in_bytes` (v1).
    memory: Option<File>,
    /// v1's `memory.stat`, for the page cache to leave out.
    memory_stat: Option<File>,
}

impl UsageFiles {
    /// Opens the files of container `id` under `base`; `None` when its cgroup is gone.
    pub fn open(base: &Path, id: &str) -> Option<UsageFiles> {
        let open = |p: PathBuf| File::open(p).ok();
        if base.join("cgroup.controllers").exists() {
            let dir = base.join("dockhand").join(id);
            Some(UsageFiles {
                unified: true,
                cpu: open(dir.join("cpu.stat"))?,
                memory: open(dir.join("memory.current")),
                memory_stat: None,
            })
        } else {
            let v1 = |ctrl: &str, file: &str| base.join(ctrl).join("dockhand").join(id).join(file);
            Some(UsageFiles {
                unified: false,
                cpu: open(v1("cpuacct", "cpuacct.usage"))?,
                memory: open(v1("memory", "memory.usage_in_bytes")),
                memory_stat: open(v1("memory", "memory.stat")),
            })
        }
    }

    /// CPU time (nanoseconds) and memory in use (bytes) now; `None` once the cgroup is gone.
    pub fn read(&self) -> Option<(u64, u64)> {
        let mut buf = [0u8; 4096];
        let memory = |buf: &mut [u8]| {
            self.memory
                .as_ref()
                .and_then(|f| reread(f, buf))
                .and_then(|t| t.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        if self.unified {
            let cpu = keyed(reread(&self.cpu, &mut buf)?, "usage_usec")? * 1000;
            Some((cpu, memory(&mut buf)))
        } else {
            let cpu = reread(&self.cpu, &mut buf)?.trim().parse().ok()?;
            let usage = memory(&mut buf);
            let cache = self
                .memory_stat
                .as_ref()
                .and_then(|f| reread(f, &mut buf))
                .and_then(|t| keyed(t, "total_inactive_file"))
                .unwrap_or(0);
            Some((cpu, usage.saturating_sub(cache)))
        }
    }
}

/// The whole of a small cgroup file, read again from its start into `buf`.
fn reread<'b>(f: &File, buf: &'b mut [u8]) -> Option<&'b str> {
    let n = f.read_at(buf, 0).ok()?;
    std::str::from_utf8(&buf[..n]).ok()
}

/// The counters of container `id` whose init has host pid `pid`, under `base`
/// (`/sys/fs/cgroup`).
pub fn read_counters(base: &Path, id: &str, pid: i32) -> Counters {
    let unified: PathBuf = base.join("dockhand").join(id);
    let (cpu_ns, memory) = read_usage(base, id).unwrap_or_default();
    let mut c = Counters {
        cpu_ns,
        memory,
        ..Counters::default()
    };
    if base.join("cgroup.controllers").exists() {
        // "max 100000" or "<quota> <period>".
        c.cpu_limit = read(unified.join("cpu.max")).and_then(|t| {
            let (quota, period) = t.trim().split_once(' ')?;
            quota_in_cpus(quota.parse().ok()?, period.parse().ok()?)
        });
        c.memory_limit = number(unified.join("memory.max"));
        c.pids = number(unified.join("pids.current")).unwrap_or(0);
        if let Some(io) = read(unified.join("io.stat")) {
            for line in io.lines() {
                for field in line.split_whitespace() {
                    if let Some(v) = field.strip_prefix("rbytes=") {
                        c.block_read += v.parse::<u64>().unwrap_or(0);
                    } else if let Some(v) = field.strip_prefix("wbytes=") {
                        c.block_write += v.parse::<u64>().unwrap_or(0);
                    }
                }
            }
        }
    } else {
        let v1 = |ctrl: &str, file: &str| base.join(ctrl).join("dockhand").join(id).join(file);
        // The quota is -1 when unlimited.
        let quota = read(v1("cpu", "cpu.cfs_quota_us")).and_then(|t| t.trim().parse::<i64>().ok());
        c.cpu_limit = quota
            .and_then(|q| u64::try_from(q).ok())
            .zip(number(v1("cpu", "cpu.cfs_period_us")))
            .and_then(|(q, p)| quota_in_cpus(q, p));
        c.memory_limit =
            number(v1("memory", "memory.limit_in_bytes")).filter(|l| *l < (1u64 << 62));
        c.pids = number(v1("pids", "pids.current")).unwrap_or(0);
        if let Some(io) = read(v1("blkio", "blkio.throttle.io_service_bytes")) {
            for line in io.lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() == 3 {
                    let n: u64 = f[2].parse().unwrap_or(0);
                    match f[1] {
                        "Read" => c.block_read += n,
                        "Write" => c.block_write += n,
                        _ => {}
                    }
                }
            }
        }
    }
    if let Some(dev) = read(format!("/proc/{pid}/net/dev")) {
        for line in dev.lines().skip(2) {
            let Some((name, rest)) = line.split_once(':') else {
                continue;
            };
            if name.trim() == "lo" {
                continue;
            }
            let f: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            c.net_rx += f.first().copied().unwrap_or(0);
            c.net_tx += f.get(8).copied().unwrap_or(0);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_layouts_are_read() {
        let v2 = tempfile::tempdir().unwrap();
        let dir = v2.path().join("dockhand/abc");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(v2.path().join("cgroup.controllers"), "cpu memory pids io").unwrap();
        std::fs::write(dir.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n").unwrap();
        std::fs::write(dir.join("memory.current"), "4096\n").unwrap();
        std::fs::write(dir.join("memory.max"), "max\n").unwrap();
        std::fs::write(dir.join("cpu.max"), "max 100000\n").unwrap();
        std::fs::write(dir.join("pids.current"), "3\n").unwrap();
        std::fs::write(
            dir.join("io.stat"),
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n",
        )
        .unwrap();
        let c = read_counters(v2.path(), "abc", -1);
        assert_eq!(
            (c.cpu_ns, c.memory, c.memory_limit, c.pids),
            (1_500_000, 4096, None, 3)
        );
        assert_eq!((c.block_read, c.block_write), (10, 20));
        assert_eq!(c.cpu_limit, None);
        assert_eq!(read_usage(v2.path(), "abc"), Some((1_500_000, 4096)));
        assert_eq!(read_usage(v2.path(), "gone"), None);
        std::fs::write(dir.join("cpu.max"), "150000 100000\n").unwrap();
        assert_eq!(read_counters(v2.path(), "abc", -1).cpu_limit, Some(1.5));

        let v1 = tempfile::tempdir().unwrap();
        for (ctrl, file, text) in [
            ("cpuacct", "cpuacct.usage", "777\n"),
            ("memory", "memory.usage_in_bytes", "10000\n"),
            (
                "memory",
                "memory.stat",
                "cache 5\ntotal_inactive_file 1000\n",
            ),
            ("memory", "memory.limit_in_bytes", "8388608\n"),
            ("pids", "pids.current", "2\n"),
            ("cpu", "cpu.cfs_quota_us", "50000\n"),
            ("cpu", "cpu.cfs_period_us", "100000\n"),
            (
                "blkio",
                "blkio.throttle.io_service_bytes",
                "8:0 Read 7\n8:0 Write 9\nTotal 16\n",
            ),
        ] {
            let d = v1.path().join(ctrl).join("dockhand/abc");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(file), text).unwrap();
        }
        let c = read_counters(v1.path(), "abc", -1);
        assert_eq!(
            (c.cpu_ns, c.memory, c.memory_limit, c.pids),
            (777, 9000, Some(8 << 20), 2)
        );
        assert_eq!((c.block_read, c.block_write), (7, 9));
        assert_eq!(c.cpu_limit, Some(0.5));
        assert_eq!(read_usage(v1.path(), "abc"), Some((777, 9000)));
        assert_eq!(read_usage(v1.path(), "gone"), None);
        let quota = v1.path().join("cpu/dockhand/abc/cpu.cfs_quota_us");
        std::fs::write(quota, "-1\n").unwrap();
        assert_eq!(read_counters(v1.path(), "abc", -1).cpu_limit, None);
    }
}
