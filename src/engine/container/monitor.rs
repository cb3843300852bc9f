//! The per-container monitor: `dockhand __monitor ROOT ID DRIVER [attach]`, started by
//! `start` and detached from it (fork, setsid), a child subreaper. While still
//! single-threaded it makes the root filesystem and creates the container through
//! libcontainer, with the container's stdio on pipes it owns, or on a terminal whose master
//! libcontainer hands it over the console socket. It serves the attach socket (see
//! [`super::relay`]), writes the logs, waits for the container's process, records the exit
//! atomically (code, time, OOM kill), applies the restart policy with back-off, and cleans
//! up (unmount; the container itself with `--rm`). With `attach`, the first start waits
//! briefly for the client that asked to attach, so it sees the first output.
//!
//! It tells the process that started it how the first start went on its stdout, one line:
//! a [`super::start_reply::StartReply`], then lets go of it. Memory shedding is in
//! `memory.rs`, the /etc files in `etc_files.rs`, what a failed start means in
//! `start_error.rs`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::logs::LogWriter;
use super::network::Attachment;
use super::record::{ContainerConfig, Status};
use super::relay::{Relay, Streams};
use super::spec::{SpecInput, build};
use super::start_reply::StartReply;
use super::{ContainerError, ContainerStore, RUNTIME_DIR, clear_runtime_state, runtime};
use super::{attach, cgroupfs};
use crate::engine::events::{Entry, Journal, Kind};
use crate::engine::image::ImageStore;
use crate::engine::layer::{Driver, Snapshotter};
use crate::engine::network::NetworkStore;
use crate::engine::store::{Digest, Root};
use crate::engine::volume::VolumeStore;
use crate::util::time::{unix_now, unix_now_ns};

/// The hidden subcommand.
pub const ARG: &str = "__monitor";

/// Entry point from `main`, before any thread or runtime exists. Returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let (root, id, driver, attach_first) = match args {
        [root, id, driver] => (root, id, driver, false),
        [root, id, driver, a] if a == "attach" => (root, id, driver, true),
        _ => {
            eprintln!("usage: dockhand {ARG} ROOT ID DRIVER [attach]");
            return 2;
        }
    };
    // SAFETY: called first thing in `main`, while the process has a single thread, so the
    // child is a complete copy with nothing half-locked.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            let _ = StartReply::failed(format!("cannot fork the container monitor: {e}"))
                .write_to(std::io::stdout());
            return 1;
        }
    }
    let _ = nix::unistd::setsid();
    let _ = nix::sys::prctl::set_child_subreaper(true);
    if let Err(e) = own_mount_namespace() {
        eprintln!("dockhand: the container's mounts stay in the host's namespace: {e}");
    }
    // SAFETY: fd 1 is the status pipe our starter gave us as stdout; we own it from here on.
    let status = unsafe { OwnedFd::from_raw_fd(1) };
    let driver = if driver == "copy" {
        Driver::Copy
    } else {
        Driver::Overlay
    };
    let mut monitor = match Monitor::open(Path::new(root), id, driver) {
        Ok(m) => m,
        Err(e) => {
            report(Some(status), &StartReply::failed(e));
            return 1;
        }
    };
    monitor.attach_first = attach_first;
    monitor.run(Some(status));
    0
}

/// Moves the monitor into a mount namespace of its own, a slave of the host's: the container's
/// root filesystem is mounted there, so the host's mount table (which libcontainer, systemd,
/// dockerd and every reader of mountinfo walk) does not grow with each running container,
/// and the mount goes with the monitor however it ends. Host mounts still propagate in.
pub(crate) fn own_mount_namespace() -> nix::Result<()> {
    use nix::mount::MsFlags;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
}

/// Writes the one status line and closes the pipe; stdout becomes /dev/null.
fn report(status: Option<OwnedFd>, reply: &StartReply) {
    if let Some(fd) = status {
        let mut f = std::fs::File::from(fd);
        let _ = reply.write_to(&mut f);
        drop(f);
        if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
            // SAFETY: plain dup2 of our own descriptors.
            unsafe {
                nix::libc::dup2(null.as_raw_fd(), 1);
            }
        }
    }
}

/// The process start time of `pid` (clock ticks since boot), to tell a live monitor from a
/// reused pid; `None` when it does not run (a zombie has ended).
pub fn start_time(pid: i32) -> Option<u64> {
    use std::io::Read;
    // One read into a buffer on the stack: a list of thousands of containers asks this of
    // every monitor. The line is well under 1 KiB (the command name is at most 16 bytes).
    let mut buf = [0u8; 1024];
    let n = std::fs::File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut f| f.read(&mut buf))
        .ok()?;
    let stat = std::str::from_utf8(&buf[..n]).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

struct Monitor {
    id: String,
    containers: ContainerStore,
    volumes: VolumeStore,
    networks: NetworkStore,
    /// Its place on its bridge network, from the first start to the end of the last run.
    attachment: Option<Attachment>,
    journal: Journal,
    snapshots: Snapshotter,
    config: ContainerConfig,
    chain: Vec<Digest>,
    relay: Relay,
    /// A client asked to attach before the first start: wait for it before the process runs.
    attach_first: bool,
    /// Where the container's directory went when it was taken out of the store as its run
    /// ended (`--rm`): its files are deleted from there once the teardown is done.
    removed: Option<PathBuf>,
}

/// How one run ended.
struct Outcome {
    code: i64,
    ran_for: Duration,
}

impl Monitor {
    fn open(root: &Path, id: &str, driver: Driver) -> Result<Monitor, ContainerError> {
        let root = Root::open(root)?;
        let containers = ContainerStore::new(&root);
        let images = ImageStore::new(&root);
        let config = containers.config(id)?;
        let chain = super::layers_of(&images, &config)?;
        let (relay, failed) = Relay::bind(id, config.stdin_once);
        if let Some(e) = failed {
            eprintln!("dockhand: cannot serve the attach socket: {e}");
        }
        Ok(Monitor {
            relay,
            id: id.to_string(),
            snapshots: Snapshotter::new(images.layers(), driver).volatile(config.ephemeral),
            journal: Journal::new(root.path()),
            volumes: VolumeStore::new(&root),
            networks: NetworkStore::new(&root),
            attachment: None,
            containers,
            config,
            chain,
            attach_first: false,
            removed: None,
        })
    }

    fn emit(&self, action: &str) {
        self.journal.append(&Entry {
            time: unix_now(),
            kind: Kind::Container,
            action: action.into(),
            id: self.id.clone(),
            name: Some(self.config.name.clone()),
        });
    }

    fn run(&mut self, mut status: Option<OwnedFd>) {
        let me = std::process::id() as i32;
        let _ = self.containers.update_state(&self.id, |s| {
            s.monitor_pid = Some(me);
            s.monitor_start = start_time(me);
            s.error.clear();
        });
        let mut delay = Duration::from_millis(100);
        loop {
            match self.start_once() {
                Err(e) => {
                    let code = match &e {
                        ContainerError::CannotRun { code, .. } => *code,
                        // Killed as it started.
                        ContainerError::Stopped => 137,
                        _ => 125,
                    };
                    let message = e.to_string();
                    let _ = self.containers.update_state(&self.id, |s| {
                        s.status = Status::Exited;
                        s.pid = None;
                        s.exit_code = Some(i64::from(code));
                        s.finished_at = Some(unix_now_ns());
                        s.error = message.clone();
                    });
                    self.take_out_of_store();
                    report(status.take(), &StartReply::Failed { code, message });
                    break;
                }
                Ok((container, pid, streams)) => {
                    report(status.take(), &StartReply::Started { pid });
                    self.emit("start");
                    let outcome = self.supervise(pid, streams);
                    let oom = self.oom_killed();
                    let again = self.containers.state(&self.id).is_ok_and(|s| {
                        self.should_restart(outcome.code, s.restart_count, s.stopped_by_user)
                    });
                    if !again {
                        self.relay.stop_listening();
                    }
                    let state = self.containers.update_state(&self.id, |s| {
                        s.status = Status::Exited;
                        s.pid = None;
                        s.exit_code = Some(outcome.code);
                        s.finished_at = Some(unix_now_ns());
                        s.oom_killed = oom;
                    });
                    if !again {
                        self.take_out_of_store();
                    }
                    // Attached clients learn of the end (and its status) once the exit is on
                    // record and a `--rm` container is out of the store.
                    self.relay.let_clients_go(outcome.code);
                    let mut container = container;
                    let _ = container.delete(true);
                    if oom {
                        self.emit("oom");
                    }
                    self.emit("die");
                    let Ok(state) = state else { break };
                    if outcome.ran_for >= Duration::from_secs(10) {
                        delay = Duration::from_millis(100);
                    }
                    if !self.should_restart(
                        outcome.code,
                        state.restart_count,
                        state.stopped_by_user,
                    ) {
                        break;
                    }
                    let _ = self.containers.update_state(&self.id, |s| {
                        s.status = Status::Restarting;
                        s.restart_count += 1;
                    });
                    self.emit("restart");
                    if !self.wait_backoff(delay) {
                        let _ = self
                            .containers
                            .update_state(&self.id, |s| s.status = Status::Exited);
                        break;
                    }
                    delay = (delay * 2).min(Duration::from_secs(60));
                }
            }
        }
        // Off its network: the link, the address and the endpoint go (the namespace goes
        // with its last process and this file).
        if let Some(a) = self.attachment.take() {
            a.leave();
        }
        if let Some(gone) = self.removed.take() {
            // Deleted only once unmounted: the files below a mount are not the container's.
            if self.snapshots.release(&gone).is_ok() {
                let _ = std::fs::remove_dir_all(&gone);
            }
            self.emit("destroy");
            self.remove_anonymous_volumes();
            return;
        }
        let _ = self.snapshots.release(&self.containers.dir(&self.id));
        let _ = self.containers.update_state(&self.id, |s| {
            s.monitor_pid = None;
            s.monitor_start = None;
        });
        if self.config.auto_remove {
            let dir = self.containers.dir(&self.id);
            let _ = self.snapshots.remove(&dir);
            if let Ok(lock) = self.containers.lock() {
                let _ = self.containers.remove(&lock, &self.id);
            }
            self.emit("destroy");
            self.remove_anonymous_volumes();
        }
    }

    /// A `--rm` container's anonymous volumes go with it, as with Docker.
    fn remove_anonymous_volumes(&self) {
        let gone = super::volumes::remove_anonymous(&self.volumes, &self.containers, &self.config);
        for name in gone {
            self.journal.append(&Entry {
                time: unix_now(),
                kind: Kind::Volume,
                action: "destroy".into(),
                id: name.clone(),
                name: Some(name),
            });
        }
    }

    /// With `--rm`, takes the container out of the store as its run ends (its name is free
    /// and it is gone from every list at once; its directory moves into `tmp/`), before
    /// attached clients are let go, so that `run --rm` returns with the container removed
    /// while this process tears down the rest.
    fn take_out_of_store(&mut self) {
        if !self.config.auto_remove || self.removed.is_some() {
            return;
        }
        if let Ok(lock) = self.containers.lock() {
            if let Ok(gone) = self.containers.unlist(&lock, &self.id) {
                self.removed = gone;
            }
        }
    }

    /// Whether the policy restarts the container after it exited with `code`.
    fn should_restart(&self, code: i64, count: u32, stopped_by_user: bool) -> bool {
        self.config.restart.restarts(code, count, stopped_by_user)
    }

    /// Sleeps the back-off; false when a user stopped the container meanwhile.
    fn wait_backoff(&self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
            if self
                .containers
                .state(&self.id)
                .is_ok_and(|s| s.stopped_by_user)
            {
                return false;
            }
        }
        true
    }

    /// Makes the root filesystem and the spec, and starts the container.
    fn start_once(
        &mut self,
    ) -> Result<(libcontainer::container::Container, i32, Streams), ContainerError> {
        let dir = self.containers.dir(&self.id);
        let rootfs = self.snapshots.prepare(&self.chain, &dir)?;
        // A new volume gets the image's files at its mount point on the first start.
        if self
            .containers
            .state(&self.id)
            .is_ok_and(|s| s.started_at.is_none())
        {
            super::volumes::seed(&self.volumes, &self.config, &rootfs)?;
        }
        if super::network::on_bridge(&self.config) && self.attachment.is_none() {
            self.attachment = Some(Attachment::join(self.networks.clone(), &self.config)?);
        }
        let etc = dir.join("etc");
        let ip = self.attachment.as_ref().map(|a| a.endpoint().ip);
        super::etc_files::write(&etc, &self.config, ip)?;
        let spec = build(
            &self.config,
            &SpecInput {
                rootfs: &rootfs,
                etc_dir: &etc,
                cgroup_path: format!("/dockhand/{}", self.id),
                volumes: &self.volumes,
                netns: self.attachment.as_ref().map(Attachment::netns_path),
            },
        )?;
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle).map_err(|e| runtime("cannot create the bundle", e))?;
        spec.save(bundle.join("config.json"))
            .map_err(|e| runtime("cannot write the runtime spec", e))?;
        // A state left by a monitor that died is in the way.
        clear_runtime_state(&self.id);
        std::fs::create_dir_all(RUNTIME_DIR)
            .map_err(|e| runtime("cannot create /run/dockhand", e))?;
        let builder = libcontainer::container::builder::ContainerBuilder::new(
            self.id.clone(),
            libcontainer::syscall::syscall::SyscallType::default(),
        )
        .with_executor(libcontainer::workload::default::DefaultExecutor {})
        .with_root_path(RUNTIME_DIR)
        .map_err(|e| runtime("runtime directory", e))?;
        // With a TTY, the container's process makes its terminal and sends us the master.
        let console = Path::new(RUNTIME_DIR).join(format!("console-{}", self.id));
        let (builder, pending) = if self.config.tty {
            let listener = attach::console_listener(&console)
                .map_err(|e| runtime("cannot listen for the container's terminal", e))?;
            (
                builder.with_console_socket(Some(&console)),
                Pending::Terminal(listener),
            )
        } else {
            let (out_r, out_w) = nix::unistd::pipe().map_err(|e| runtime("pipe", e))?;
            let (err_r, err_w) = nix::unistd::pipe().map_err(|e| runtime("pipe", e))?;
            let (stdin, input) = if self.config.open_stdin {
                let (r, w) = nix::unistd::pipe().map_err(|e| runtime("pipe", e))?;
                (r, Some(w))
            } else {
                let null = std::fs::File::open("/dev/null").map_err(|e| runtime("/dev/null", e))?;
                (OwnedFd::from(null), None)
            };
            (
                builder
                    .with_stdin(stdin)
                    .with_stdout(out_w)
                    .with_stderr(err_w),
                Pending::Pipes(out_r, err_r, input),
            )
        };
        let built = builder
            .as_init(&bundle)
            .with_systemd(false)
            .with_detach(true)
            .build();
        let built = built.map_err(|e| super::start_error::classify(&self.config, e));
        let streams = match pending {
            Pending::Pipes(out, err, input) => Streams::pipes(out, err, input),
            Pending::Terminal(listener) => {
                let master = built.as_ref().map_err(|_| ()).and_then(|_| {
                    attach::receive_console(&listener, Duration::from_secs(10)).map_err(|_| ())
                });
                let _ = std::fs::remove_file(&console);
                match master {
                    Ok(m) => Streams::terminal(m),
                    Err(()) => Err(std::io::Error::other(
                        "the container did not send its terminal",
                    )),
                }
            }
        };
        let mut container = built?;
        // Read-only cgroups (as Docker has them), unless privileged.
        let sealed = match container.pid() {
            Some(init) if !self.config.privileged => cgroupfs::seal(init.as_raw()),
            _ => Ok(()),
        };
        let streams = match (streams, sealed) {
            (Ok(s), Ok(())) => s,
            (Err(e), _) | (_, Err(e)) => {
                let _ = container.kill(nix::sys::signal::Signal::SIGKILL, true);
                let _ = container.delete(true);
                return Err(runtime("cannot prepare the container", e));
            }
        };
        // The client that asked to attach first connects while the container is made, and
        // gets everything from the first byte.
        // Not for a client that will never come: a user stopped or removed the container.
        if std::mem::take(&mut self.attach_first) {
            let (containers, id) = (&self.containers, &self.id);
            self.relay.wait_for_client(Duration::from_secs(10), || {
                containers.state(id).is_ok_and(|s| s.stopped_by_user)
            });
        }
        container
            .start()
            .map_err(|e| super::start_error::classify(&self.config, e))?;
        let pid = container
            .pid()
            .map(|p| p.as_raw())
            .ok_or_else(|| ContainerError::runtime("the container has no process"))?;
        // Recorded under the state lock where a user's stop or rm marks the container: one
        // that came while this run was being made stops it at once, so that no process runs
        // on after its remover let go of it.
        let stopped = self.containers.update_state_with(&self.id, |s| {
            if s.stopped_by_user {
                return Ok(true);
            }
            s.status = Status::Running;
            s.pid = Some(pid);
            s.started_at = Some(unix_now_ns());
            s.exit_code = None;
            s.oom_killed = false;
            Ok(false)
        })?;
        if stopped {
            let _ = container.kill(nix::sys::signal::Signal::SIGKILL, true);
            let _ = container.delete(true);
            return Err(ContainerError::Stopped);
        }
        Ok((container, pid, streams))
    }

    /// Relays input and output until the container's process exits; returns how it ended.
    fn supervise(&mut self, pid: i32, streams: Streams) -> Outcome {
        let started = Instant::now();
        let mut log = self.log_writer();
        // What making the container took is given back once it runs: a short run ends
        // sooner without waiting for that.
        let code = self.relay.run(
            streams,
            pid,
            &mut log,
            super::memory::shed_startup_memory,
            self.attachment
                .as_mut()
                .map(|a| a as &mut dyn super::relay::Service),
        );
        Outcome {
            code,
            ran_for: started.elapsed(),
        }
    }

    /// Where the output goes: the json-file log with the container's rotation, or nowhere
    /// (the none driver, or a log directory that cannot be opened).
    fn log_writer(&self) -> Option<LogWriter> {
        let log = self.config.log;
        match log.driver {
            crate::model::logging::LogDriver::None => None,
            crate::model::logging::LogDriver::JsonFile => LogWriter::open(
                &self.containers.dir(&self.id).join("logs"),
                log.max_size,
                log.max_files,
            )
            .ok(),
        }
    }

    /// Whether the kernel OOM-killed a process of the container during this run.
    fn oom_killed(&self) -> bool {
        let v2 = format!("/sys/fs/cgroup/dockhand/{}/memory.events", self.id);
        let v1 = format!(
            "/sys/fs/cgroup/memory/dockhand/{}/memory.oom_control",
            self.id
        );
        [v2, v1].iter().any(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| {
                t.lines().any(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .is_some_and(|n| n > 0)
                })
            })
        })
    }
}

/// The container's stdio while it is being created.
enum Pending {
    /// stdout, stderr and (kept open) stdin's writing end.
    Pipes(OwnedFd, OwnedFd, Option<OwnedFd>),
    /// Where the terminal's master will come.
    Terminal(std::os::unix::net::UnixListener),
}
