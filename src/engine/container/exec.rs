//! `exec`: a helper process (`dockhand __exec ROOT ID REQUEST`) joins a running container
//! through libcontainer (a tenant of the container: its namespaces, cgroup, capabilities and
//! seccomp profile), runs the command with the helper's own stdio (or, with a TTY, on a
//! terminal made inside the container whose master libcontainer sends to the caller's
//! console socket), and exits with the command's status: 127 when it does not exist, 126
//! when it cannot be run. The helper is a fresh, single-threaded process, so the fork
//! libcontainer does is safe.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spec::resolve_user;
use super::{ContainerStore, RUNTIME_DIR};
use crate::engine::store::Root;

/// The hidden subcommand.
pub const ARG: &str = "__exec";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// Command and arguments.
    pub cmd: Vec<String>,
    /// Extra environment as `KEY=value`.
    pub env: Vec<String>,
    /// Working directory (the container's when `None`).
    pub working_dir: Option<String>,
    /// `user[:group]` (the container's when `None`).
    pub user: Option<String>,
    /// Run the command on a terminal whose master goes to `console_socket`.
    pub tty: bool,
    /// The unix socket the caller listens on for the terminal's master (with `tty`).
    #[serde(default)]
    pub console_socket: Option<String>,
}

/// Entry point from `main`, before any thread exists. Returns the command's exit status.
pub fn main(args: &[String]) -> i32 {
    let [root, id, request] = args else {
        eprintln!("usage: dockhand {ARG} ROOT ID REQUEST");
        return 125;
    };
    let request: ExecRequest = match serde_json::from_str(request) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dockhand: invalid exec request: {e}");
            return 125;
        }
    };
    match run(Path::new(root), id, &request) {
        Ok(code) => code,
        Err((code, message)) => {
            eprintln!("dockhand: {message}");
            code
        }
    }
}

/// Runs `request` in container `id` of the data root `root` from this process (which must be
/// single-threaded) and returns its status, or the status to exit with and why.
pub fn run(root: &Path, id: &str, request: &ExecRequest) -> Result<i32, (i32, String)> {
    let fail = |e: &dyn std::fmt::Display| (125, e.to_string());
    let root = Root::open(root).map_err(|e| fail(&e))?;
    let store = ContainerStore::new(&root);
    let config = store.config(id).map_err(|e| fail(&e))?;
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let user = request.user.clone().unwrap_or(config.user.clone());
    // The container's files as its process sees them (its root filesystem is mounted in its
    // monitor's mount namespace, not the host's).
    let init = store.state(id).map_err(|e| fail(&e))?.pid;
    let rootfs = init.map_or_else(
        || store.dir(id).join("rootfs"),
        |pid| PathBuf::from(format!("/proc/{pid}/root")),
    );
    let (uid, gid) = resolve_user(&rootfs, &user).map_err(|e| fail(&e))?;
    let env: HashMap<String, String> = request
        .env
        .iter()
        .filter_map(|e| {
            e.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let cwd = request
        .working_dir
        .clone()
        .or_else(|| (!config.working_dir.is_empty()).then(|| config.working_dir.clone()));
    let command = request.cmd.first().cloned().unwrap_or_default();
    let builder = libcontainer::container::builder::ContainerBuilder::new(
        id.to_string(),
        libcontainer::syscall::syscall::SyscallType::default(),
    )
    .with_executor(libcontainer::workload::default::DefaultExecutor {})
    .with_root_path(RUNTIME_DIR)
    .map_err(|e| fail(&e))?;
    let built = match (&request.console_socket, request.tty) {
        (Some(socket), true) => {
            // A process description with `terminal` set: libcontainer then makes the
            // terminal in the container and sends its master to the socket.
            let mut process =
                terminal_process(&store.dir(id), request, (uid, gid), env).map_err(|e| fail(&e))?;
            process.set_cwd(cwd.map_or(process.cwd().clone(), Into::into));
            let file = Path::new(RUNTIME_DIR).join(format!("exec-{}.json", std::process::id()));
            let saved = serde_json::to_vec(&process)
                .map_err(|e| fail(&e))
                .and_then(|json| std::fs::write(&file, json).map_err(|e| fail(&e)));
            saved?;
            let built = builder
                .with_console_socket(Some(socket))
                .as_tenant()
                .with_detach(true)
                .with_process(Some(&file))
                .build();
            let _ = std::fs::remove_file(&file);
            built
        }
        _ => builder
            .as_tenant()
            .with_detach(false)
            .with_cwd(cwd)
            .with_env(env)
            .with_user(Some(uid))
            .with_group(Some(gid))
            .with_no_new_privs(!config.privileged)
            .with_container_args(request.cmd.clone())
            .build(),
    };
    let pid = match built {
        Ok(pid) => pid,
        Err(e) => {
            let text = e.to_string();
            return Err(if text.contains("not found in $PATH") {
                (
                    127,
                    format!("exec: {command:?}: executable file not found in $PATH"),
                )
            } else if text.contains("correct permissions") {
                (126, format!("exec: {command:?}: permission denied"))
            } else {
                (126, format!("cannot exec in the container: {text}"))
            });
        }
    };
    loop {
        match nix::sys::wait::waitpid(pid, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err((125, format!("waiting for the command: {e}"))),
        }
    }
}

/// The container's own process description, turned into the one of this exec: its command,
/// environment (the request's over the container's), user, and a terminal.
fn terminal_process(
    dir: &Path,
    request: &ExecRequest,
    (uid, gid): (u32, u32),
    env: HashMap<String, String>,
) -> Result<oci_spec::runtime::Process, String> {
    let spec = oci_spec::runtime::Spec::load(dir.join("bundle").join("config.json"))
        .map_err(|e| format!("cannot read the container's runtime spec: {e}"))?;
    let mut process = spec
        .process()
        .clone()
        .ok_or("the container's runtime spec has no process")?;
    let mut vars: Vec<String> = process
        .env()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|v| {
            let key = v.split_once('=').map_or(v.as_str(), |(k, _)| k);
            !env.contains_key(key)
        })
        .collect();
    vars.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    let mut user = process.user().clone();
    user.set_uid(uid).set_gid(gid);
    process
        .set_args(Some(request.cmd.clone()))
        .set_env(Some(vars))
        .set_user(user)
        .set_terminal(Some(true))
        .set_console_size(None);
    Ok(process)
}
