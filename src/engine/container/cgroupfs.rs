//! The container's view of its cgroups is read-only, as Docker makes it: once libcontainer
//! has set up the container's mounts (the container waits to be started), a short-lived child
//! of the monitor enters the container's mount namespace and remounts everything under
//! `/sys/fs/cgroup` read-only. libcontainer mounts the cgroup v1 hierarchies writable
//! whatever the spec says; without this, a container could raise its own limits.

use std::os::fd::{AsFd, AsRawFd};

use nix::mount::MsFlags;

/// Where the cgroup file systems are mounted in a container.
const CGROUP_DIR: &str = "/sys/fs/cgroup";

/// Makes the cgroup mounts of the container whose init process is `pid` read-only. Call it
/// from a single-threaded process (it forks).
pub fn seal(pid: i32) -> std::io::Result<()> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))?;
    let root = std::fs::File::open(format!("/proc/{pid}/root"))?;
    // The mount points as the container's process sees them, relative to its root.
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    // SAFETY: the monitor is single-threaded, so the child is a complete copy; it only
    // enters a namespace, reads a file, remounts and exits.
    match unsafe { nix::unistd::fork() }.map_err(std::io::Error::from)? {
        nix::unistd::ForkResult::Child => {
            let code = match remount_read_only(&ns, &root, &info) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("dockhand: cannot make the container's cgroups read-only: {e}");
                    1
                }
            };
            // SAFETY: ends the child without running the parent's exit handlers twice.
            unsafe { nix::libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => loop {
            match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => return Ok(()),
                Ok(
                    nix::sys::wait::WaitStatus::Exited(..)
                    | nix::sys::wait::WaitStatus::Signaled(..),
                ) => {
                    return Err(std::io::Error::other(
                        "cannot make the container's cgroups read-only",
                    ));
                }
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        },
    }
}

/// In the child: enters the namespace and the container's root, and remounts, deepest first.
fn remount_read_only(ns: &std::fs::File, root: &std::fs::File, info: &str) -> std::io::Result<()> {
    nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNS)?;
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
