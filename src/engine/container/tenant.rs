//! Entering a running container for `exec`: a child of the calling, single-threaded process
//! joins the container's cgroups and namespaces, takes the user, capabilities, no_new_privs
//! flag and seccomp profile of the container's runtime spec (and, with a terminal, a pty made
//! inside the container), then executes the command.
//!
//! The cgroups are joined without the kernel's global threadgroup lock: on a v1 hierarchy the
//! child writes `0` to the container's `tasks` file (which moves only the writing thread, the
//! whole child), on the unified hierarchy the child is born in the container's cgroup
//! (`clone3` with `CLONE_INTO_CGROUP`). Writing a pid to `cgroup.procs`, as OCI runtimes do
//! for `exec`, takes that lock for writing and first waits for an RCU grace period: 10–20 ms
//! on a small VM, most of an exec. The security steps are libcontainer's (capabilities,
//! seccomp, console, ids), in its order; the child is not dumpable until it executes the
//! command, so nothing in the container can reach the runtime's files through its /proc.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;

use crate::engine::cgroup;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxCapabilities, LinuxSeccomp};

/// What runs in the container, and how.
pub struct Process {
    /// The command and its arguments.
    pub args: Vec<String>,
    /// The whole environment, `KEY=value`.
    pub env: Vec<String>,
    /// The working directory inside the container.
    pub cwd: String,
    /// User and group ids.
    pub uid: u32,
    pub gid: u32,
    /// The capability sets (none kept when `None`).
    pub capabilities: Option<LinuxCapabilities>,
    pub no_new_privileges: bool,
    pub seccomp: Option<LinuxSeccomp>,
    /// A connected unix socket to send the terminal's master to; no terminal when `None`.
    pub console: Option<OwnedFd>,
}

/// Why the command did not start: the status to exit with, and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Status 125: the runtime could not do its part.
    fn runtime(message: impl Into<String>) -> Self {
        Self::new(125, message)
    }
}

/// The namespaces entered by the child, in the order it enters them (the mount namespace
/// last: after it, host paths are gone). The pid namespace is entered by the parent, for its
/// children.
const NAMESPACES: [(&str, CloneFlags); 5] = [
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// What the child must join, opened by the parent while host paths are at hand.
struct Target {
    /// `tasks` files of the v1 hierarchies whose cgroup differs from the caller's.
    tasks: Vec<PathBuf>,
    /// The unified hierarchy's cgroup, when it differs from the caller's.
    unified: Option<(OwnedFd, PathBuf)>,
    /// The namespaces that differ from the caller's, in [`NAMESPACES`] order.
    namespaces: Vec<(File, &'static str, CloneFlags)>,
    pid_ns: Option<File>,
}

fn same_file(a: &File, b: &Path) -> bool {
    match (a.metadata(), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Target {
    /// The cgroups and namespaces of process `init`, which must be the init of container
    /// `id` (its cgroup paths name the container).
    fn of(init: i32, id: &str) -> Result<Self, Failure> {
        let gone = || Failure::runtime(format!("container {} is not running", &id[..12]));
        let proc_dir = File::open(format!("/proc/{init}")).map_err(|_| gone())?;
        let open = |name: &str| -> std::io::Result<File> {
            rustix::fs::openat(
                &proc_dir,
                name,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map(File::from)
            .map_err(std::io::Error::from)
        };
        let mut cgroups = String::new();
        open("cgroup")
            .and_then(|mut f| f.read_to_string(&mut cgroups))
            .map_err(|_| gone())?;
        if !cgroups.contains(id) {
            return Err(gone());
        }
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| Failure::runtime(format!("cannot read /proc/self/cgroup: {e}")))?;
        let own = cgroup::hierarchies(&own);
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| Failure::runtime(format!("cannot read /proc/self/mountinfo: {e}")))?;
        let mounts = cgroup::mounts(&mountinfo);
        let mut tasks = vec![];
        let mut unified = None;
        for (hid, controllers, path) in cgroup::hierarchies(&cgroups) {
            if own.contains(&(hid, controllers, path)) {
                continue;
            }
            let Some(dir) = cgroup::dir_of(&mounts, controllers, path) else {
                // A named hierarchy nobody mounted here holds no limits.
                if controllers.is_empty() || controllers.starts_with("name=") {
                    continue;
                }
                return Err(Failure::runtime(format!(
                    "the cgroup hierarchy {controllers:?} of the container is not mounted here"
                )));
            };
            if controllers.is_empty() {
                let fd = rustix::fs::open(
                    &dir,
                    rustix::fs::OFlags::RDONLY
                        | rustix::fs::OFlags::DIRECTORY
                        | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(|e| {
                    Failure::runtime(format!("cannot open the cgroup {}: {e}", dir.display()))
                })?;
                unified = Some((fd, dir));
            } else {
                tasks.push(dir.join("tasks"));
            }
        }
        let mut namespaces = vec![];
        let mut pid_ns = None;
        let all = NAMESPACES
            .iter()
            .copied()
            .chain([("pid", CloneFlags::CLONE_NEWPID)]);
        for (name, flag) in all {
            let ns = match open(&format!("ns/{name}")) {
                Ok(ns) => ns,
                // A namespace type this kernel does not have.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(_) => return Err(gone()),
            };
            if same_file(&ns, &Path::new("/proc/self/ns").join(name)) {
                continue;
            }
            if flag == CloneFlags::CLONE_NEWPID {
                pid_ns = Some(ns);
            } else {
                namespaces.push((ns, name, flag));
            }
        }
        Ok(Self {
            tasks,
            unified,
            namespaces,
            pid_ns,
        })
    }
}

/// Starts `process` in the container whose init process is `init` and returns the child's
/// pid (the caller waits for it), or why it did not start. The calling process must be
/// single-threaded: it forks, and the child allocates.
pub fn spawn(init: i32, id: &str, process: &Process) -> Result<Pid, Failure> {
    let target = Target::of(init, id)?;
    let (report_rx, report_tx) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| Failure::runtime(format!("cannot make a pipe: {e}")))?;
    // The pid namespace applies to the children made from here on; the caller's own
    // namespace is restored for any later ones.
    let own_pid_ns = File::open("/proc/self/ns/pid")
        .map_err(|e| Failure::runtime(format!("cannot open /proc/self/ns/pid: {e}")))?;
    if let Some(ns) = &target.pid_ns {
        nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWPID).map_err(|e| {
            Failure::runtime(format!("cannot enter the container's pid namespace: {e}"))
        })?;
    }
    let forked = fork_into(target.unified.as_ref().map(|(fd, _)| fd.as_raw_fd()));
    if !matches!(forked, Ok(Forked::Child { .. })) {
        let _ = nix::sched::setns(own_pid_ns.as_fd(), CloneFlags::CLONE_NEWPID);
    }
    match forked {
        // A pid namespace whose init has just died takes no new process.
        Err(nix::errno::Errno::ENOMEM) if target.pid_ns.is_some() => Err(Failure::runtime(
            format!("container {} is not running", &id[..12]),
        )),
        Err(e) => Err(Failure::runtime(format!("cannot fork: {e}"))),
        Ok(Forked::Child { in_unified }) => {
            drop(report_rx);
            let failure = enter(&target, in_unified, process);
            let text = format!("{}\n{}", failure.code, failure.message);
            let _ = rustix::io::write(&report_tx, text.as_bytes());
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { nix::libc::_exit(failure.code) }
        }
        Ok(Forked::Parent(child)) => {
            drop(report_tx);
            // The pipe closes when the command is executed; anything written is a failure.
            let mut report = String::new();
            let _ = File::from(report_rx).read_to_string(&mut report);
            if report.is_empty() {
                return Ok(child);
            }
            let _ = nix::sys::wait::waitpid(child, None);
            let (code, message) = report.split_once('\n').unwrap_or(("125", &report));
            Err(Failure::new(code.parse().unwrap_or(125), message))
        }
    }
}

enum Forked {
    /// In the child; `in_unified` when it was born in the unified cgroup asked for.
    Child {
        in_unified: bool,
    },
    Parent(Pid),
}

/// `clone3`'s flag for a child born in the cgroup `cgroup` names.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The arguments of `clone3` (the kernel's `struct clone_args`, version 2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Forks, into the unified cgroup `cgroup` when given and the kernel can (5.7 and later);
/// else a plain fork, and the child moves itself.
fn fork_into(cgroup: Option<RawFd>) -> nix::Result<Forked> {
    if let Some(fd) = cgroup {
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: nix::libc::SIGCHLD as u64,
            cgroup: fd as u64,
            ..CloneArgs::default()
        };
        // SAFETY: clone3 without CLONE_VM is a fork: the child gets a copy of this
        // single-threaded process and goes on from here on its own stack copy; the struct is
        // the kernel's layout and lives across the call.
        let r = unsafe {
            nix::libc::syscall(
                nix::libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match r {
            0 => return Ok(Forked::Child { in_unified: true }),
            pid if pid > 0 => return Ok(Forked::Parent(Pid::from_raw(pid as i32))),
            // Old kernels, or a cgroup that cannot take a process this way: fall back.
            _ => {}
        }
    }
    // SAFETY: the caller is single-threaded, so the child is a complete copy of it.
    Ok(match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => Forked::Child { in_unified: false },
        nix::unistd::ForkResult::Parent { child } => Forked::Parent(child),
    })
}

/// Writes `0` (the writer) into a cgroup file.
fn join_cgroup(file: &Path) -> Result<(), Failure> {
    std::fs::write(file, "0").map_err(|e| {
        Failure::runtime(format!(
            "cannot join the container's cgroup ({}): {e}",
            file.display()
        ))
    })
}

/// In the child: enters the container and executes the command. Returns only on failure.
fn enter(target: &Target, in_unified: bool, process: &Process) -> Failure {
    match enter_steps(target, in_unified, process) {
        Ok(never) => match never {},
        Err(f) => f,
    }
}

fn enter_steps(
    target: &Target,
    in_unified: bool,
    process: &Process,
) -> Result<std::convert::Infallible, Failure> {
    let syscall = libcontainer::syscall::syscall::SyscallType::Linux.create_syscall();
    nix::sys::prctl::set_dumpable(false).map_err(because("cannot clear dumpable"))?;
    for tasks in &target.tasks {
        join_cgroup(tasks)?;
    }
    if let (Some((_, dir)), false) = (&target.unified, in_unified) {
        join_cgroup(&dir.join("cgroup.procs"))?;
    }
    nix::unistd::setsid().map_err(because("cannot start a session"))?;
    for (ns, name, flag) in &target.namespaces {
        nix::sched::setns(ns.as_fd(), *flag).map_err(because(&format!(
            "cannot enter the container's {name} namespace"
        )))?;
    }
    if process.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().map_err(because("cannot set no_new_privs"))?;
    }
    if let Some(console) = &process.console {
        libcontainer::tty::setup_console(syscall.as_ref(), console.as_raw_fd(), false)
            .map_err(because("cannot make the exec's terminal"))?;
    }
    let cwd_later = match nix::unistd::chdir(process.cwd.as_str()) {
        Ok(()) => false,
        Err(nix::errno::Errno::EPERM | nix::errno::Errno::EACCES) => true,
        Err(e) => return Err(cwd_failure(&process.cwd, e)),
    };
    // No supplementary groups of the caller survive.
    syscall
        .set_groups(&[])
        .map_err(because("cannot set the groups"))?;
    syscall
        .set_id(
            nix::unistd::Uid::from_raw(process.uid),
            nix::unistd::Gid::from_raw(process.gid),
        )
        .map_err(because(&format!(
            "cannot become {}:{}",
            process.uid, process.gid
        )))?;
    // Nothing of the caller's but stdio reaches the command.
    syscall
        .close_range(0)
        .map_err(because("cannot mark descriptors close-on-exec"))?;
    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: before the drop.
    if let (Some(seccomp), false) = (&process.seccomp, process.no_new_privileges) {
        libcontainer::seccomp::initialize_seccomp(seccomp)
            .map_err(because("cannot install the seccomp profile"))?;
    }
    libcontainer::capabilities::reset_effective(syscall.as_ref())
        .map_err(because("cannot reset the capabilities"))?;
    let caps = process.capabilities.clone().unwrap_or_else(|| {
        let mut none = LinuxCapabilities::default();
        none.set_bounding(Some(Default::default()))
            .set_effective(Some(Default::default()))
            .set_permitted(Some(Default::default()))
            .set_inheritable(Some(Default::default()))
            .set_ambient(Some(Default::default()));
        none
    });
    libcontainer::capabilities::drop_privileges(&caps, syscall.as_ref())
        .map_err(because("cannot set the capabilities"))?;
    if cwd_later {
        nix::unistd::chdir(process.cwd.as_str()).map_err(|e| cwd_failure(&process.cwd, e))?;
    }
    let command = process.args.first().cloned().unwrap_or_default();
    let path = find_executable(&command, &process.env)?;
    let to_c = |s: &String| CString::new(s.as_bytes()).ok();
    let args: Vec<CString> = process.args.iter().filter_map(to_c).collect();
    let env: Vec<CString> = process.env.iter().filter_map(to_c).collect();
    let path_c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Failure::new(126, format!("exec: {command:?}: invalid path")))?;
    // As close to the command as can be, so that the filter sees few of the runtime's calls.
    if let (Some(seccomp), true) = (&process.seccomp, process.no_new_privileges) {
        libcontainer::seccomp::initialize_seccomp(seccomp)
            .map_err(because("cannot install the seccomp profile"))?;
    }
    let e = nix::unistd::execve(&path_c, &args, &env).unwrap_err();
    Err(exec_failure(&command, e))
}

/// A failed step of entering the container, as status 125 with what failed.
fn because<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Failure + '_ {
    move |e| Failure::runtime(format!("{what}: {e}"))
}

/// The working directory could not be entered: status 126, as Docker gives it.
fn cwd_failure(cwd: &str, e: nix::errno::Errno) -> Failure {
    Failure::new(
        126,
        format!("cannot change to the working directory {cwd:?}: {e}"),
    )
}

/// The status and message for a command that could not be executed, as Docker gives them.
fn exec_failure(command: &str, e: nix::errno::Errno) -> Failure {
    match e {
        nix::errno::Errno::ENOENT => {
            Failure::new(127, format!("exec: {command:?}: no such file or directory"))
        }
        nix::errno::Errno::EACCES | nix::errno::Errno::EPERM => {
            Failure::new(126, format!("exec: {command:?}: permission denied"))
        }
        e => Failure::new(126, format!("exec: {command:?}: {}", e.desc())),
    }
}

/// The file to execute for `command`: itself when it names a path, else the first
/// executable regular file of that name in the `PATH` of `env` (Docker's default `PATH`
/// when it has none).
fn find_executable(command: &str, env: &[String]) -> Result<PathBuf, Failure> {
    if command.is_empty() {
        return Err(Failure::new(127, "exec: no command given"));
    }
    if command.contains('/') {
        return Ok(PathBuf::from(command));
    }
    let path = env
        .iter()
        .find_map(|v| v.strip_prefix("PATH="))
        .unwrap_or(super::spec::DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(command);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(Failure::new(
        127,
        format!("exec: {command:?}: executable file not found in $PATH"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_looked_up_in_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("data"), "").unwrap();
        let env = vec![format!("PATH=/nonexistent:{}", bin.display())];
        assert_eq!(find_executable("tool", &env).unwrap(), bin.join("tool"));
        let missing = find_executable("data", &env).unwrap_err();
        assert_eq!(missing.code, 127);
        assert!(missing.message.contains("\"data\""), "{missing:?}");
        assert_eq!(find_executable("./x", &env).unwrap(), PathBuf::from("./x"));
        assert_eq!(find_executable("", &env).unwrap_err().code, 127);
    }
}
