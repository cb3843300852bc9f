//! cgroups, in one place: how they are mounted here (v1, v2 or hybrid), the hierarchies a
//! process is in (`/proc/PID/cgroup`), the cgroup mounts that count (`mountinfo`, hidden ones
//! left out) and the directory of a cgroup in them; the warm-up of the kernel's migration
//! lock ([`warmup`]) and the counters `stats` reads ([`stats`]). Joining a running container's
//! cgroups is [`crate::engine::container::tenant`]'s, on these functions; limits are set by
//! libcontainer from the runtime spec.

pub mod stats;
pub mod warmup;

use std::path::{Path, PathBuf};

/// Where the cgroup file systems are mounted, on the host and in a container.
pub const BASE: &str = "/sys/fs/cgroup";

/// How cgroups are mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// The unified hierarchy only.
    V2,
    /// v1 controllers only.
    V1,
    /// v1 controllers plus a unified mount (`/sys/fs/cgroup/unified`).
    Hybrid,
}

impl CgroupLayout {
    /// Looks at `/sys/fs/cgroup`.
    pub fn detect() -> CgroupLayout {
        Self::detect_in(Path::new(BASE))
    }

    /// Looks at a cgroup mount point.
    pub fn detect_in(base: &Path) -> CgroupLayout {
        if base.join("cgroup.controllers").exists() {
            CgroupLayout::V2
        } else if base.join("unified").is_dir() {
            CgroupLayout::Hybrid
        } else {
            CgroupLayout::V1
        }
    }

    /// `2`, `1` or `hybrid`, as `info` shows it.
    pub fn label(self) -> &'static str {
        match self {
            CgroupLayout::V2 => "2",
            CgroupLayout::V1 => "1",
            CgroupLayout::Hybrid => "hybrid",
        }
    }
}

/// A cgroup hierarchy line of `/proc/PID/cgroup`: id, controllers, path.
pub fn hierarchies(text: &str) -> Vec<(&str, &str, &str)> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.splitn(3, ':');
            Some((f.next()?, f.next()?, f.next()?))
        })
        .collect()
}

/// A cgroup file system mounted here: its mount point, the cgroup its root shows, whether
/// it is the unified (v2) hierarchy, and its super options (the v1 controllers).
#[derive(Debug, PartialEq, Eq)]
pub struct CgroupMount {
    /// Where it is mounted.
    pub point: PathBuf,
    /// The cgroup its root shows.
    pub root: String,
    /// The unified (v2) hierarchy.
    pub unified: bool,
    /// Its super options (the v1 controllers).
    pub options: Vec<String>,
}

/// The cgroup mounts listed in a `mountinfo` text that are not hidden by a later mount on
/// their mount point or above it.
pub fn mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let unescape = |s: &str| s.replace("\\040", " ").replace("\\134", "\\");
    // Every mount in order, with what it is when it is a cgroup file system.
    let all: Vec<(PathBuf, Option<CgroupMount>)> = mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let point = PathBuf::from(unescape(fields.get(4)?));
            let mut rest = after.split(' ');
            let unified = match rest.next()? {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return Some((point, None)),
            };
            let options = rest.nth(1).unwrap_or("");
            let mount = CgroupMount {
                point: point.clone(),
                root: unescape(fields.get(3)?),
                unified,
                options: options.split(',').map(str::to_string).collect(),
            };
            Some((point, Some(mount)))
        })
        .collect();
    let hidden: Vec<bool> = (0..all.len())
        .map(|i| {
            all[i + 1..]
                .iter()
                .any(|(later, _)| all[i].0.starts_with(later))
        })
        .collect();
    all.into_iter()
        .zip(hidden)
        .filter_map(|((_, mount), hidden)| mount.filter(|_| !hidden))
        .collect()
}

/// The directory of cgroup `path` of a hierarchy (`controllers`, empty for the unified one)
/// among `mounts`, or `None` when that hierarchy is not mounted here.
pub fn dir_of(mounts: &[CgroupMount], controllers: &str, path: &str) -> Option<PathBuf> {
    let mount = mounts.iter().find(|m| {
        if controllers.is_empty() {
            m.unified
        } else {
            !m.unified
                && controllers
                    .split(',')
                    .all(|c| m.options.iter().any(|o| o == c))
        }
    })?;
    mount.dir(path)
}

impl CgroupMount {
    /// The directory of cgroup `path` in this hierarchy, when the mount shows it.
    pub fn dir(&self, path: &str) -> Option<PathBuf> {
        let below = if self.root == "/" {
            path
        } else {
            path.strip_prefix(self.root.as_str())?
        };
        Some(self.point.join(below.trim_start_matches('/')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_layouts_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(CgroupLayout::detect_in(dir.path()), CgroupLayout::V1);
        std::fs::create_dir(dir.path().join("unified")).unwrap();
        assert_eq!(CgroupLayout::detect_in(dir.path()), CgroupLayout::Hybrid);
        std::fs::write(dir.path().join("cgroup.controllers"), "cpu memory").unwrap();
        assert_eq!(CgroupLayout::detect_in(dir.path()), CgroupLayout::V2);
    }

    const HYBRID: &str = "\
29 1 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
30 29 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
31 29 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
34 29 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
35 29 0:32 /nested /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
36 1 8:1 / /mnt/my\\040disk rw - ext4 /dev/sda1 rw
";

    #[test]
    fn cgroup_directories_follow_the_mounts() {
        let found = mounts(HYBRID);
        assert_eq!(found.len(), 4);
        let dir = |c: &str, p: &str| dir_of(&found, c, p);
        assert_eq!(
            dir("cpu,cpuacct", "/dockhand/abc"),
            Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/dockhand/abc"))
        );
        assert_eq!(
            dir("cpuacct", "/x"),
            Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/x"))
        );
        assert_eq!(
            dir("name=systemd", "/user.slice"),
            Some(PathBuf::from("/sys/fs/cgroup/systemd/user.slice"))
        );
        assert_eq!(
            dir("", "/dockhand/abc"),
            Some(PathBuf::from("/sys/fs/cgroup/unified/dockhand/abc"))
        );
        // A mount of a sub-tree: paths below its root only.
        assert_eq!(
            dir("pids", "/nested/dockhand/abc"),
            Some(PathBuf::from("/sys/fs/cgroup/pids/dockhand/abc"))
        );
        assert_eq!(dir("pids", "/elsewhere"), None);
        assert_eq!(dir("memory", "/"), None);
        // A cgroup2 mount over /sys/fs/cgroup hides the hierarchies below it.
        let over = format!("{HYBRID}40 29 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let found = mounts(&over);
        assert_eq!(found.len(), 1);
        assert_eq!(
            dir_of(&found, "", "/x"),
            Some(PathBuf::from("/sys/fs/cgroup/x"))
        );
        assert_eq!(dir_of(&found, "pids", "/nested/x"), None);
        // Pure v2.
        let v2 = mounts("30 1 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        assert_eq!(
            dir_of(&v2, "", "/dockhand/abc"),
            Some(PathBuf::from("/sys/fs/cgroup/dockhand/abc"))
        );
    }

    #[test]
    fn hierarchy_lines_split_in_three() {
        assert_eq!(
            hierarchies("12:cpu,cpuacct:/a:b\n0::/\n"),
            vec![("12", "cpu,cpuacct", "/a:b"), ("0", "", "/")]
        );
    }
}
