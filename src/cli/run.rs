//! `create` and `run`: docker's container flags turned into a spec (every value checked
//! before anything is made), a pull when the image is missing, and a foreground run that
//! attaches, waits and removes as docker's CLI does.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use clap::Args;

use super::container::print_logs;
use crate::backend::prelude::*;
use crate::backend::{AnyBackend, BackendError};
use crate::model::{ContainerSpec, LogOptions, ObjectKind, RemoveOptions, parse};

/// Options shared by `create` and `run`.
#[derive(Debug, Args)]
pub struct ContainerOptions {
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables (KEY=value, or KEY to copy it from here).
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Publish a port or a range: [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO].
    #[arg(short, long = "publish", value_name = "PORTS")]
    pub publish: Vec<String>,
    /// Publish every port the image exposes, each on a free host port.
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Bind mount or volume: SOURCE:TARGET[:ro], or TARGET for an anonymous volume.
    #[arg(short, long = "volume", value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Mount: type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…].
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Vec<String>,
    /// Mount a tmpfs: /path[:size=64m,mode=1777,…].
    #[arg(long = "tmpfs", value_name = "PATH")]
    pub tmpfs: Vec<String>,
    /// Mount the volumes of another container: NAME[:ro|rw].
    #[arg(long = "volumes-from", value_name = "CONTAINER")]
    pub volumes_from: Vec<String>,
    /// Restart policy: no, always, unless-stopped, on-failure[:N].
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Memory limit (e.g. 512m).
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Number of CPUs (e.g. 1.5).
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight).
    #[arg(long)]
    pub cpu_shares: Option<u64>,
    /// Process limit.
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Network to connect to (none, host or a network's name).
    #[arg(long, visible_alias = "net")]
    pub network: Option<String>,
    /// IPv4 address on that network.
    #[arg(long)]
    pub ip: Option<String>,
    /// Another name of the container on that network.
    #[arg(
        long = "network-alias",
        visible_alias = "net-alias",
        value_name = "ALIAS"
    )]
    pub network_alias: Vec<String>,
    /// A name server for the container (instead of the host's).
    #[arg(long)]
    pub dns: Vec<String>,
    /// Add an /etc/hosts entry: NAME:ADDRESS.
    #[arg(long = "add-host", value_name = "NAME:ADDRESS")]
    pub add_host: Vec<String>,
    /// Container host name.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User (name or UID[:GID]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Overwrite the default entrypoint.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set labels (KEY=VALUE).
    #[arg(short, long = "label", value_name = "LABEL")]
    pub label: Vec<String>,
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Read environment variables from a file (KEY=value lines).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Give every capability and device, and no seccomp profile.
    #[arg(long)]
    pub privileged: bool,
    /// Add a capability (NET_ADMIN, SYS_PTRACE, ALL, …).
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability.
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Mount the container's root filesystem read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Security options: seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges.
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Logging driver: json-file (the default) or none; a daemon may offer others.
    #[arg(long = "log-driver", value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Logging driver options: max-size=SIZE, max-file=N.
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// Image to create the container from.
    pub image: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run in the background and print the container ID.
    #[arg(short, long)]
    pub detach: bool,
    #[command(flatten)]
    pub options: ContainerOptions,
}

/// Turns the options into a container spec, refusing bad values before anything is created.
pub fn spec(o: &ContainerOptions) -> Result<ContainerSpec, BackendError> {
    let mut env = Vec::new();
    for f in &o.env_file {
        let text = std::fs::read_to_string(f).map_err(|e| {
            BackendError::invalid(format!(
                "cannot read the environment file {}: {e}",
                f.display()
            ))
        })?;
        env.extend(parse::env_file(&text, &f.display().to_string(), |k| {
            std::env::var(k).ok()
        })?);
    }
    for e in &o.env {
        env.extend(parse::env(e, |k| std::env::var(k).ok())?);
    }
    let mut mounts = Vec::new();
    for v in &o.volume {
        mounts.push(parse::volume(v)?);
    }
    for m in &o.mount {
        mounts.push(parse::mount(m)?);
    }
    for t in &o.tmpfs {
        mounts.push(parse::tmpfs(t)?);
    }
    for v in &o.volumes_from {
        parse::volumes_from(v)?;
    }
    for l in &o.log_opt {
        crate::model::logging::log_opt(l)?;
    }
    let mut labels = BTreeMap::new();
    for l in &o.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    Ok(ContainerSpec {
        image: o.image.clone(),
        name: o.name.clone(),
        cmd: o.command.clone(),
        entrypoint: o.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                Vec::new()
            } else {
                vec![e.clone()]
            }
        }),
        env,
        ports: o
            .publish
            .iter()
            .map(|p| parse::ports(p))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        publish_all: o.publish_all,
        mounts,
        volumes_from: o.volumes_from.clone(),
        restart_policy: parse::restart(&o.restart)?,
        resources: crate::model::Resources {
            memory: o.memory.as_deref().map(parse::memory).transpose()?,
            nano_cpus: o.cpus.as_deref().map(parse::cpus).transpose()?,
            cpu_shares: o.cpu_shares,
            pids_limit: o.pids_limit,
        },
        network: o.network.clone(),
        ip: o.ip.clone(),
        network_aliases: o.network_alias.clone(),
        dns: o.dns.clone(),
        extra_hosts: o.add_host.clone(),
        hostname: o.hostname.clone(),
        working_dir: o.workdir.clone(),
        user: o.user.clone(),
        labels,
        tty: o.tty,
        open_stdin: o.interactive,
        stdin_once: false,
        auto_remove: false,
        ephemeral: false,
        privileged: o.privileged,
        cap_add: o.cap_add.clone(),
        cap_drop: o.cap_drop.clone(),
        read_only: o.read_only,
        security_opt: o
            .security_opt
            .iter()
            .map(|v| security_opt(v))
            .collect::<Result<_, BackendError>>()?,
        log_driver: o.log_driver.clone(),
        log_opts: o.log_opt.clone(),
    })
}

/// A `--security-opt` value as the API takes it: a seccomp profile's file read, as docker
/// does; the value checked.
fn security_opt(value: &str) -> Result<String, BackendError> {
    let sent = match value
        .strip_prefix("seccomp=")
        .or_else(|| value.strip_prefix("seccomp:"))
    {
        Some(path) if path != "unconfined" => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                BackendError::invalid(format!(
                    "--security-opt {value}: cannot read the seccomp profile {path}: {e}"
                ))
            })?;
            format!("seccomp={text}")
        }
        _ => value.to_string(),
    };
    crate::model::parse::security_opt(&sent)?;
    Ok(sent)
}

/// Creates a container, pulling the image first when it is missing (as docker does).
async fn create(b: &AnyBackend, spec: ContainerSpec) -> Result<String> {
    match b.create_container(spec.clone()).await {
        Err(BackendError::NotFound {
            kind: ObjectKind::Image,
            ..
        }) => {
            eprintln!("Unable to find image '{}' locally", spec.image);
            super::image::pull_with_progress(b, &spec.image).await?;
            Ok(b.create_container(spec).await?)
        }
        other => Ok(other?),
    }
}

/// `create`: prints the new id.
pub async fn create_cmd(b: &AnyBackend, o: &ContainerOptions) -> Result<()> {
    let mut s = spec(o)?;
    s.auto_remove = o.rm;
    s.ephemeral = o.rm;
    println!("{}", create(b, s).await?);
    Ok(())
}

/// `run`: returns the container's exit code when attached, 0 when detached.
pub async fn run(b: &AnyBackend, args: &RunArgs) -> Result<i32> {
    let o = &args.options;
    if o.tty && !args.detach && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        bail!("the input device is not a TTY; drop -t or run from a terminal");
    }
    let mut s = spec(o)?;
    // The engine's monitor removes a `--rm` container itself as its run ends, before it lets
    // attached clients go; on Docker the CLI removes it once it has waited, unless detached.
    let caps = b.capabilities();
    s.auto_remove = o.rm && (args.detach || caps.removes_ended_runs);
    s.ephemeral = o.rm;
    s.stdin_once = o.interactive && !args.detach;
    // With the none driver there is no log to follow: the output comes through an attach.
    let unlogged = s.log_driver.as_deref() == Some("none");
    let id = create(b, s).await?;
    if args.detach {
        b.start_container(&id).await?;
        println!("{id}");
        return Ok(0);
    }
    // A command that cannot run ends `run` with 126/127, as docker's does.
    let cannot_run = async |e: BackendError| -> Result<i32> {
        let BackendError::CannotRun { code, message } = e else {
            return Err(e.into());
        };
        eprintln!("dockhand: {message}");
        if o.rm {
            let options = RemoveOptions {
                force: true,
                volumes: true,
            };
            let _ = b.remove_container(&id, options).await;
        }
        Ok(code)
    };
    // The engine's attach socket ends the output the moment the exit is on record, so a
    // foreground run attaches there even without -i/-t (as docker's CLI does).
    let attach = o.interactive || o.tty || caps.attach_ends_at_exit || unlogged;
    let code = if attach {
        match crate::session::attach_and_start(b, &id, o.interactive, o.tty).await {
            Ok(code) => code,
            Err(e) => match e.downcast::<BackendError>() {
                Ok(e) => return cannot_run(e).await,
                Err(e) => return Err(e),
            },
        }
    } else {
        if let Err(e) = b.start_container(&id).await {
            return cannot_run(e).await;
        }
        let follow = LogOptions {
            follow: true,
            ..LogOptions::default()
        };
        print_logs(b, &id, follow, false).await?;
        b.wait_container(&id).await?
    };
    if o.rm {
        let options = RemoveOptions {
            force: true,
            volumes: true,
        };
        // Normally gone already on the engine; still there if its monitor died.
        match b.remove_container(&id, options).await {
            Err(BackendError::NotFound { .. }) if caps.removes_ended_runs => {}
            other => other?,
        }
    }
    Ok(code as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        o: ContainerOptions,
    }

    #[test]
    fn options_become_a_spec() {
        let p = Probe::parse_from([
            "x",
            "--name",
            "web",
            "-e",
            "A=1",
            "-p",
            "127.0.0.1:8080:80",
            "-v",
            "data:/data",
            "--restart",
            "on-failure:2",
            "-m",
            "256m",
            "--cpus",
            "0.5",
            "busybox",
            "sh",
            "-c",
            "echo hi",
        ]);
        let s = spec(&p.o).unwrap();
        assert_eq!(s.name.as_deref(), Some("web"));
        assert_eq!(s.cmd, ["sh", "-c", "echo hi"]);
        assert_eq!(s.ports[0].host_port, Some(8080));
        assert_eq!(s.resources.memory, Some(256 << 20));
        assert_eq!(s.resources.nano_cpus, Some(500_000_000));
        assert_eq!(s.mounts[0].source, "data");
    }

    #[test]
    fn bad_values_are_refused_before_anything_is_created() {
        for (flag, value) in [
            ("-p", "80:http"),
            ("-v", "rel"),
            ("--restart", "sometimes"),
            ("-m", "lots"),
        ] {
            let p = Probe::parse_from(["x", flag, value, "busybox"]);
            let err = spec(&p.o).unwrap_err().to_string();
            assert!(err.contains(value), "{flag} {value}: {err}");
        }
    }
}
