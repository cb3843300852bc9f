//! Starts the kernel's wait for a cgroup migration before a container needs one.
//!
//! Moving a process into a cgroup (writing a pid to `cgroup.procs`) takes the kernel's global
//! cgroup threadgroup lock for writing, and the first writer after a quiet spell waits a
//! whole RCU grace period for it: 7–15 ms on a small VM, the largest single cost of starting
//! a container. Writers that come within a grace period of the last one do not wait again.
//! `run`, `start` and `restart` on the engine therefore begin with a short-lived child
//! that moves itself into the cgroup it is already in (which changes nothing), so the grace
//! period runs while the CLI and the monitor do their own work, and the runtime's real
//! migration a few milliseconds later finds it over.
//! (`exec` needs none: [`crate::engine::container::tenant`] joins without the lock.)

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// The `cgroup.procs` of the calling process's own cgroup: the unified hierarchy when it is
/// mounted with the process in it, else the first v1 hierarchy found.
fn own_procs_file(base: &Path, self_cgroup: &str) -> Option<PathBuf> {
    let mut v1 = None;
    for (id, controllers, path) in super::hierarchies(self_cgroup) {
        let path = path.trim_start_matches('/');
        if id == "0" && controllers.is_empty() {
            for root in [base.to_path_buf(), base.join("unified")] {
                let file = root.join(path).join("cgroup.procs");
                if root.join("cgroup.controllers").exists() && file.exists() {
                    return Some(file);
                }
            }
        } else if v1.is_none() && !controllers.is_empty() {
            let dir = controllers.strip_prefix("name=").unwrap_or(controllers);
            let file = base.join(dir).join(path).join("cgroup.procs");
            if file.exists() {
                v1 = Some(file);
            }
        }
    }
    v1
}

/// Starts the grace period in a child process and returns at once. Does nothing when the
/// process may not move itself (not root, no cgroup file found): this only saves time.
pub fn start() {
    let Ok(self_cgroup) = std::fs::read_to_string("/proc/self/cgroup") else {
        return;
    };
    let Some(file) = own_procs_file(Path::new(super::BASE), &self_cgroup) else {
        return;
    };
    let Ok(file) = CString::new(file.into_os_string().into_encoded_bytes()) else {
        return;
    };
    // SAFETY: the child only calls open, write and _exit, which are async-signal-safe, so
    // forking is sound even when other threads exist; it touches nothing the parent owns.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // "0" is the writing process; it is already in this cgroup, so nothing moves.
            if let Ok(fd) = rustix::fs::open(
                file.as_c_str(),
                rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            ) {
                let _ = rustix::io::write(&fd, b"0");
            }
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { nix::libc::_exit(0) }
        }
        // The parent never waits: the child is reaped when it ends (SIGCHLD is not ignored
        // here, so it stays a zombie at most until this short-lived command exits).
        Ok(nix::unistd::ForkResult::Parent { .. }) | Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_cgroup_is_found_on_v2_hybrid_and_v1_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        // Pure v2: the unified hierarchy at the base.
        std::fs::create_dir_all(base.join("user.slice")).unwrap();
        std::fs::write(base.join("cgroup.controllers"), "cpu memory").unwrap();
        std::fs::write(base.join("user.slice/cgroup.procs"), "").unwrap();
        assert_eq!(
            own_procs_file(base, "0::/user.slice\n"),
            Some(base.join("user.slice/cgroup.procs"))
        );
        std::fs::remove_file(base.join("cgroup.controllers")).unwrap();

        // Hybrid: v1 controllers and the unified mount beside them.
        std::fs::create_dir_all(base.join("unified")).unwrap();
        std::fs::write(base.join("unified/cgroup.controllers"), "").unwrap();
        std::fs::write(base.join("unified/cgroup.procs"), "").unwrap();
        std::fs::create_dir_all(base.join("pids")).unwrap();
        std::fs::write(base.join("pids/cgroup.procs"), "").unwrap();
        let hybrid = "5:pids:/\n1:name=systemd:/\n0::/\n";
        assert_eq!(
            own_procs_file(base, hybrid),
            Some(base.join("unified/cgroup.procs"))
        );

        // v1 only.
        assert_eq!(
            own_procs_file(base, "5:pids:/\n"),
            Some(base.join("pids/cgroup.procs"))
        );
        assert_eq!(own_procs_file(base, "7:memory:/gone\n"), None);
    }
}
