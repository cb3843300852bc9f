//! The OCI runtime spec of a container, made at each start from its configuration and its
//! image's files: Docker's defaults (namespaces, capability set, masked and read-only /proc
//! paths, no_new_privs, a seccomp profile that refuses what a container must not do), the
//! user resolved in the container's /etc/passwd, mounts and cgroup limits.

use std::path::Path;

use oci_spec::runtime::Spec;
use serde_json::json;

use super::ContainerError;
use super::record::{ContainerConfig, MountKind};
use crate::engine::volume::VolumeStore;

/// The `PATH` of a container whose image sets none, as Docker gives it.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability, in the kernel's numbering (the index is the bit).
const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capabilities this process may hand on (its bounding set): "every capability" means
/// these, as with Docker, whose daemon can give no more than it has.
fn bounding() -> Vec<&'static str> {
    let mask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX);
    ALL_CAPS
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// `net_admin`, `NET_ADMIN` or `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `ALL` stays.
pub fn cap_name(name: &str) -> Result<String, ContainerError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if ALL_CAPS.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(ContainerError::Invalid(format!(
            "unknown capability {name:?}: give a name such as NET_ADMIN or SYS_PTRACE, or ALL"
        )))
    }
}

/// The capability set of a container (within what this process may hand on).
pub fn capabilities(config: &ContainerConfig) -> Result<Vec<String>, ContainerError> {
    let all = bounding();
    if config.privileged {
        return Ok(all.iter().map(|c| c.to_string()).collect());
    }
    let mut caps: Vec<String> = DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    for add in &config.cap_add {
        match cap_name(add)?.as_str() {
            "ALL" => caps = all.iter().map(|c| c.to_string()).collect(),
            c if !caps.iter().any(|x| x == c) => caps.push(c.to_string()),
            _ => {}
        }
    }
    for drop in &config.cap_drop {
        match cap_name(drop)?.as_str() {
            "ALL" => caps.clear(),
            c => caps.retain(|x| x != c),
        }
    }
    caps.retain(|c| all.contains(&c.as_str()));
    Ok(caps)
}

/// The entry of a passwd- or group-style file whose field `key` (0: name, 2: id) is `value`:
/// its id and, for passwd, its primary group.
fn lookup(file: &Path, key: usize, value: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 3 || f[key] != value {
            return None;
        }
        let id = f[2].parse().ok()?;
        let group = f.get(3).and_then(|g| g.parse().ok()).unwrap_or(id);
        Some((id, group))
    })
}

/// `user[:group]` (names or numbers) → uid and gid, from the container's /etc files. A uid
/// without an entry gets the same number as gid, as Docker does.
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<(u32, u32), ContainerError> {
    if user.is_empty() {
        return Ok((0, 0));
    }
    let passwd = rootfs.join("etc/passwd");
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (n, lookup(&passwd, 2, u).map_or(n, |(_, g)| g)),
        Err(_) => lookup(&passwd, 0, u).ok_or_else(|| {
            ContainerError::Invalid(format!(
                "unable to find user {u}: no matching entries in the container's /etc/passwd; give a numeric uid"
            ))
        })?,
    };
    let gid = match g {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup(&rootfs.join("etc/group"), 0, g)
                .map(|(id, _)| id)
                .ok_or_else(|| {
                    ContainerError::Invalid(format!(
                        "unable to find group {g}: no matching entries in the container's /etc/group; give a numeric gid"
                    ))
                })?,
        },
    };
    Ok((uid, gid))
}

/// Where every container gets a mount from the runtime (the points it creates in the root
/// filesystem when the image lacks them).
pub const RUNTIME_MOUNT_POINTS: &[&str] = &[
    "/proc",
    "/dev",
    "/sys",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
];

/// What a spec needs besides the configuration.
pub struct SpecInput<'a> {
    /// The container's root filesystem.
    pub rootfs: &'a Path,
    /// Files the container gets at /etc/hostname, /etc/hosts, /etc/resolv.conf.
    pub etc_dir: &'a Path,
    /// The cgroup path (`/dockhand/<id>`).
    pub cgroup_path: String,
    /// Where the named volumes are.
    pub volumes: &'a VolumeStore,
    /// The network namespace to join (a bridge network's), instead of a new empty one.
    pub netns: Option<String>,
}

/// A tmpfs's options: Docker's defaults (`nosuid,nodev,noexec`) with the user's on top (`exec`
/// lifts `noexec`, and so on).
fn tmpfs_options(given: &str) -> Vec<String> {
    let mut out: Vec<String> = ["nosuid", "nodev", "noexec"].map(String::from).to_vec();
    for o in given.split(',').filter(|o| !o.is_empty()) {
        if let Some(lifted) = ["exec", "suid", "dev"].iter().find(|l| **l == o) {
            out.retain(|x| x.strip_prefix("no") != Some(lifted));
        } else {
            out.push(o.to_string());
        }
    }
    out
}

/// Makes the runtime spec of a container.
pub fn build(config: &ContainerConfig, input: &SpecInput<'_>) -> Result<Spec, ContainerError> {
    let caps = capabilities(config)?;
    let (uid, gid) = resolve_user(input.rootfs, &config.user)?;
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "mount"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "cgroup"}),
    ];
    match (&input.netns, config.network.as_str()) {
        (_, "host") => {}
        (Some(path), _) => namespaces.push(json!({"type": "network", "path": path})),
        (None, _) => namespaces.push(json!({"type": "network"})),
    }
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
    ];
    for f in super::etc_files::NAMES {
        mounts.push(json!({
            "destination": format!("/etc/{f}"),
            "type": "bind",
            "source": input.etc_dir.join(f),
            "options": ["rbind", "rprivate"],
        }));
    }
    for m in &config.mounts {
        let file = m.kind == MountKind::Bind && !Path::new(&m.source).is_dir();
        let destination = super::files::mount_point(input.rootfs, &m.destination, file)?;
        let mut options: Vec<String> = vec![];
        if m.read_only {
            options.push("ro".into());
        }
        let entry = match m.kind {
            MountKind::Tmpfs => {
                options.extend(tmpfs_options(&m.options));
                json!({"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options})
            }
            MountKind::Volume => {
                options.extend(["rbind".into(), "rprivate".into()]);
                let source = input.volumes.data(&m.source);
                json!({"destination": destination, "type": "bind", "source": source, "options": options})
            }
            MountKind::Bind => {
                options.extend(["rbind".into(), "rprivate".into()]);
                json!({"destination": destination, "type": "bind", "source": m.source, "options": options})
            }
        };
        mounts.push(entry);
    }
    let mut resources = json!({});
    let l = &config.limits;
    if let Some(m) = l.memory {
        resources["memory"] = json!({"limit": m, "swap": m});
    }
    let mut cpu = json!({});
    if let Some(n) = l.nano_cpus {
        cpu["period"] = json!(100_000u64);
        cpu["quota"] = json!(n / 10_000);
    }
    if let Some(s) = l.cpu_shares {
        cpu["shares"] = json!(s);
    }
    if cpu.as_object().is_some_and(|o| !o.is_empty()) {
        resources["cpu"] = cpu;
    }
    if let Some(p) = l.pids_limit {
        resources["pids"] = json!({"limit": p});
    }
    resources["devices"] = if config.privileged {
        json!([{"allow": true, "access": "rwm"}])
    } else {
        json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
            {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
            {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
            {"allow": true, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
            {"allow": true, "type": "c", "major": 136, "access": "rwm"},
        ])
    };
    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": input.cgroup_path,
        "resources": resources,
    });
    if !config.privileged {
        linux["maskedPaths"] = json!(oci_spec::runtime::get_default_maskedpaths());
        linux["readonlyPaths"] = json!(oci_spec::runtime::get_default_readonly_paths());
        if let Some(profile) = super::seccomp::profile(&config.seccomp, &caps)? {
            linux["seccomp"] = profile;
        }
    }
    let cwd = if config.working_dir.is_empty() {
        "/".to_string()
    } else {
        config.working_dir.clone()
    };
    let doc = json!({
        "ociVersion": "1.0.2",
        "root": {"path": input.rootfs, "readonly": config.read_only},
        "hostname": config.hostname,
        "process": {
            "terminal": config.tty,
            "user": {"uid": uid, "gid": gid},
            "args": config.args,
            "env": config.env,
            "cwd": cwd,
            "noNewPrivileges": !config.privileged && config.no_new_privileges.unwrap_or(true),
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
            },
        },
        "mounts": mounts,
        "linux": linux,
    });
    serde_json::from_value(doc).map_err(|e| ContainerError::Invalid(format!("runtime spec: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_follow_docker() {
        let mut c = super::super::record::sample_config(&"0".repeat(64), "t");
        assert_eq!(capabilities(&c).unwrap().len(), DEFAULT_CAPS.len());
        c.cap_add = vec!["net_admin".into()];
        c.cap_drop = vec!["CAP_CHOWN".into(), "kill".into()];
        let caps = capabilities(&c).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        c.cap_add = vec!["bogus".into()];
        assert!(capabilities(&c).unwrap_err().to_string().contains("bogus"));
        c.cap_add.clear();
        c.privileged = true;
        assert_eq!(capabilities(&c).unwrap().len(), bounding().len());
    }

    #[test]
    fn users_resolve_in_the_containers_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\napp:x:1000:1001::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        assert_eq!(resolve_user(dir.path(), "").unwrap(), (0, 0));
        assert_eq!(resolve_user(dir.path(), "nobody").unwrap(), (65534, 65534));
        assert_eq!(resolve_user(dir.path(), "app").unwrap(), (1000, 1001));
        assert_eq!(resolve_user(dir.path(), "1000").unwrap(), (1000, 1001));
        assert_eq!(resolve_user(dir.path(), "4242").unwrap(), (4242, 4242));
        assert_eq!(resolve_user(dir.path(), "app:staff").unwrap(), (1000, 50));
        assert_eq!(resolve_user(dir.path(), "1:2").unwrap(), (1, 2));
        let err = resolve_user(dir.path(), "ghost").unwrap_err().to_string();
        assert!(err.contains("ghost"), "{err}");
    }
}
