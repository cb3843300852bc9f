//! Facts about the host the engine runs on, for `info`: the distribution, the kernel, CPUs,
//! memory, and how cgroups are mounted (v1, v2 or hybrid).

use std::path::Path;

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
        Self::detect_in(Path::new("/sys/fs/cgroup"))
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

/// `PRETTY_NAME` from /etc/os-release.
pub fn operating_system() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// The kernel release.
pub fn kernel_version() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

/// CPUs available.
pub fn cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// Total memory in bytes.
pub fn memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
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
        assert!(memory() > 0);
        assert!(!kernel_version().is_empty());
    }
}
