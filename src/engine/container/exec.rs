//! `exec`: the command runs in a child of this process that enters the running container
//! ([`tenant`]: its cgroups, namespaces, capabilities and seccomp profile), with this
//! process's stdio (or, with a TTY, on a terminal made inside the container whose master is
//! sent to the caller's console socket). The CLI does this itself for a plain `exec`; the
//! TUI and `exec -t` use a helper process (`dockhand __exec ROOT ID REQUEST`), because only
//! a single-threaded process may fork. The status is the command's: 127 when it does not
//! exist, 126 when it cannot be run, 125 when the container cannot be entered.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spec::resolve_user;
use super::{ContainerStore, tenant};
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
    let root = match Root::open(Path::new(root)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dockhand: {e}");
            return 125;
        }
    };
    match run(&root, id, &request) {
        Ok(code) => code,
        Err((code, message)) => {
            eprintln!("dockhand: {message}");
            code
        }
    }
}

/// Runs `request` in container `id` of the data root `root` from this process (which must be
/// single-threaded) and returns its status, or the status to exit with and why.
pub fn run(root: &Root, id: &str, request: &ExecRequest) -> Result<i32, (i32, String)> {
    let fail = |e: &dyn std::fmt::Display| (125, e.to_string());
    let store = ContainerStore::new(root);
    let config = store.config(id).map_err(|e| fail(&e))?;
    let not_running = || (125, format!("container {} is not running", config.name));
    let init = store
        .state(id)
        .map_err(|e| fail(&e))?
        .pid
        .ok_or_else(not_running)?;
    // A failure from here on may be the container stopping or going meanwhile: said so.
    let gone = |failure: (i32, String)| {
        if !store.dir(id).join("config.json").exists() {
            (125, format!("no such container: {}", config.name))
        } else if store.state(id).map(|s| s.pid).ok() != Some(Some(init)) {
            not_running()
        } else {
            failure
        }
    };
    // The container's files as its process sees them (its root filesystem is mounted in its
    // monitor's mount namespace, not the host's).
    let rootfs = PathBuf::from(format!("/proc/{init}/root"));
    let user = request.user.clone().unwrap_or(config.user.clone());
    let (uid, gid) = resolve_user(&rootfs, &user).map_err(|e| gone(fail(&e)))?;
    // The runtime spec of the container's current run: its process's environment,
    // capabilities, no_new_privs and seccomp profile are the exec's too.
    let spec = oci_spec::runtime::Spec::load(store.dir(id).join("bundle").join("config.json"))
        .map_err(|e| {
            gone((
                125,
                format!("cannot read the container's runtime spec: {e}"),
            ))
        })?;
    let own = spec.process().clone().unwrap_or_default();
    let mut env = merge_env(own.env().as_deref().unwrap_or_default(), &request.env);
    if !env.iter().any(|v| v.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(&rootfs, uid)));
    }
    let cwd = request
        .working_dir
        .clone()
        .or_else(|| (!config.working_dir.is_empty()).then(|| config.working_dir.clone()))
        .unwrap_or_else(|| own.cwd().display().to_string());
    let console = match (&request.console_socket, request.tty) {
        (Some(socket), true) => Some(
            std::os::unix::net::UnixStream::connect(socket)
                .map_err(|e| {
                    (
                        125,
                        format!("cannot reach the console socket {socket}: {e}"),
                    )
                })?
                .into(),
        ),
        _ => None,
    };
    let process = tenant::Process {
        args: request.cmd.clone(),
        env,
        cwd,
        uid,
        gid,
        capabilities: own.capabilities().clone(),
        no_new_privileges: own.no_new_privileges().unwrap_or(false),
        seccomp: spec.linux().as_ref().and_then(|l| l.seccomp().clone()),
        console,
    };
    let pid = tenant::spawn(init, id, &process).map_err(|f| {
        if f.code == 125 {
            gone((f.code, f.message))
        } else {
            (f.code, f.message)
        }
    })?;
    // The terminal's socket is the child's business now.
    drop(process);
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

/// The container's environment with the request's variables over it.
fn merge_env(own: &[String], extra: &[String]) -> Vec<String> {
    let key = |v: &str| v.split_once('=').map_or(v, |(k, _)| k).to_string();
    let extra_keys: Vec<String> = extra.iter().map(|v| key(v)).collect();
    own.iter()
        .filter(|v| !extra_keys.contains(&key(v)))
        .chain(extra.iter().filter(|v| v.contains('=')))
        .cloned()
        .collect()
}

/// The home directory of user `uid` in the container's /etc/passwd, `/` when it has none.
fn home_of(rootfs: &Path, uid: u32) -> String {
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2].parse() == Ok(uid))
        .map_or_else(|| "/".to_string(), |f| f[5].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_variables_replace_the_containers() {
        let own = vec!["PATH=/bin".to_string(), "A=1".into(), "B=2".into()];
        let extra = vec!["A=9".to_string(), "C=3".into(), "junk".into()];
        assert_eq!(merge_env(&own, &extra), ["PATH=/bin", "B=2", "A=9", "C=3"]);
    }

    #[test]
    fn homes_come_from_passwd() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nbad line\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        assert_eq!(home_of(dir.path(), 0), "/root");
        assert_eq!(home_of(dir.path(), 1000), "/home/app");
        assert_eq!(home_of(dir.path(), 7), "/");
        assert_eq!(home_of(&dir.path().join("none"), 0), "/");
    }
}
