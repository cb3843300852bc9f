//! The container's view of its cgroups is read-only, as Docker makes it: once libcontainer
//! has set up the container's mounts (the container waits to be started), a short-lived thread
//! of the monitor enters the container's mount namespace and remounts everything under
//! `/sys/fs/cgroup` read-only. libcontainer mounts the cgroup v1 hierarchies writable
//! whatever the spec says; without this, a container could raise its own limits.

use std::os::fd::AsRawFd;

use nix::mount::MsFlags;

use crate::engine::cgroup::BASE as CGROUP_DIR;

/// Makes the cgroup mounts of the container whose init process is `pid` read-only, from a
/// short-lived thread of the caller that enters the container's mount namespace and root.
pub fn seal(pid: i32) -> std::io::Result<()> {
    let root = std::fs::File::open(format!("/proc/{pid}/root"))?;
    // The mount points as the container's process sees them, relative to its root.
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    super::in_mount_namespace(pid, || {
        remount_read_only(&root, &info)
            .map_err(|e| super::runtime("cannot make the container's cgroups read-only", e))
    })
    .map_err(std::io::Error::other)
}

/// In the thread, inside the container's mount namespace: enters the container's root and
/// remounts, deepest first.
fn remount_read_only(root: &std::fs::File, info: &str) -> std::io::Result<()> {
    nix::unistd::fchdir(root.as_raw_fd())?;
    nix::unistd::chroot(".")?;
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|p| *p == CGROUP_DIR || p.starts_with(&format!("{CGROUP_DIR}/")))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    points.dedup();
    for p in points {
        let flags = MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC;
        nix::mount::mount(None::<&str>, p, None::<&str>, flags, None::<&str>)?;
    }
    Ok(())
}
