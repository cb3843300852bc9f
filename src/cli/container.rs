//! Container commands: ps, create, run, start, stop, kill, restart, pause, unpause, rm, rename,
//! logs, top, stats, wait and container prune, with docker's flags and output.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use futures::StreamExt;

use super::output::{Table, ellipsis};
use crate::backend::prelude::*;
use crate::backend::{AnyBackend, BackendError};
use crate::model::{
    ContainerSpec, ContainerState, ContainerSummary, LogOptions, LogStream, ObjectKind,
    RemoveOptions, StatsSample, parse,
};
use crate::util::time::{ago, rfc3339_nanos, unix_now};
use crate::util::units::{bytes_size, human_size};

/// `ps` options.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Filter output: id=, name=, label=KEY[=VALUE], exited=CODE, status=STATE, ancestor=IMAGE.
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Display total file sizes (own layer, and with the image as "virtual").
    #[arg(short, long)]
    pub size: bool,
}

/// Options shared by `create` and `run`.
#[derive(Debug, Args)]
pub struct ContainerOptions {
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables (KEY=value, or KEY to copy it from here).
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Publish a port: [IP:]HOST_PORT:CONTAINER_PORT[/PROTO].
    #[arg(short, long = "publish", value_name = "PORTS")]
    pub publish: Vec<String>,
    /// Bind mount or volume: SOURCE:TARGET[:ro], or TARGET for an anonymous volume.
    #[arg(short, long = "volume", value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Mount: type=bind|volume|tmpfs,source=…,target=…[,readonly].
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Vec<String>,
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
    /// Network to connect to.
    #[arg(long)]
    pub network: Option<String>,
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

/// `logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end ("all" for every line).
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show logs since a time (RFC 3339, Unix seconds) or a duration ago (10m, 2h).
    #[arg(long)]
    pub since: Option<String>,
    /// Show timestamps.
    #[arg(short, long)]
    pub timestamps: bool,
    /// Container.
    pub container: String,
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
            .map(|p| parse::port(p))
            .collect::<Result<_, _>>()?,
        mounts,
        restart_policy: parse::restart(&o.restart)?,
        resources: crate::model::Resources {
            memory: o.memory.as_deref().map(parse::memory).transpose()?,
            nano_cpus: o.cpus.as_deref().map(parse::cpus).transpose()?,
            cpu_shares: o.cpu_shares,
            pids_limit: o.pids_limit,
        },
        network: o.network.clone(),
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
    })
}

/// Does a filter (`key=value`) accept this container?
fn filter_matches(c: &ContainerSummary, key: &str, value: &str) -> bool {
    match key {
        "id" => c.id.starts_with(value),
        "name" => c.name.contains(value.trim_start_matches('/')),
        "label" => match value.split_once('=') {
            Some((k, v)) => c.labels.get(k).is_some_and(|x| x == v),
            None => c.labels.contains_key(value),
        },
        "exited" => {
            c.state == ContainerState::Exited
                && c.exit_code.map(|x| x.to_string()).as_deref() == Some(value)
        }
        "status" => c.state.as_str() == value,
        "ancestor" => c.image == value || c.image.split(':').next() == Some(value),
        _ => false,
    }
}

/// `ps`.
pub async fn ps(b: &AnyBackend, args: &PsArgs) -> Result<()> {
    let mut filters: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in &args.filter {
        let (k, v) = f
            .split_once('=')
            .with_context(|| format!("invalid filter {f:?}: write KEY=VALUE"))?;
        if !matches!(
            k,
            "id" | "name" | "label" | "exited" | "status" | "ancestor"
        ) {
            bail!(
                "invalid filter {k:?}: accepted are id, name, label, exited, status and ancestor"
            );
        }
        filters.entry(k).or_default().push(v);
    }
    // A status or exited filter looks at stopped containers too, as docker does.
    let all = args.all || filters.contains_key("status") || filters.contains_key("exited");
    let mut list = if args.size {
        b.list_containers_sized(all).await?
    } else {
        b.list_containers(all).await?
    };
    list.retain(|c| {
        filters
            .iter()
            .all(|(k, vs)| vs.iter().any(|v| filter_matches(c, k, v)))
    });
    list.sort_by_key(|x| std::cmp::Reverse(x.created));
    if args.quiet {
        for c in &list {
            println!("{}", if args.no_trunc { &c.id } else { c.short_id() });
        }
        return Ok(());
    }
    let now = unix_now();
    let mut columns = vec![
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    if args.size {
        columns.push("SIZE");
    }
    let mut t = Table::new(&columns);
    for c in &list {
        let command = if args.no_trunc {
            c.command.clone()
        } else {
            ellipsis(&c.command, 20)
        };
        let mut row = vec![
            if args.no_trunc {
                c.id.clone()
            } else {
                c.short_id().to_string()
            },
            c.image.clone(),
            format!("\"{command}\""),
            ago(c.created, now),
            c.status_text(now),
            c.ports_text(),
            c.name.clone(),
        ];
        if args.size {
            row.push(size_text(c));
        }
        t.row(row);
    }
    t.print();
    Ok(())
}

/// `ps -s`'s column: `12.3kB (virtual 4.1MB)`, as docker prints it.
fn size_text(c: &ContainerSummary) -> String {
    match (c.size_rw, c.size_root_fs) {
        (Some(own), Some(all)) => format!("{} (virtual {})", human_size(own), human_size(all)),
        (Some(own), None) => human_size(own),
        _ => "-".to_string(),
    }
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

/// Copies a container's output to ours, stdout and stderr kept apart.
async fn print_logs(b: &AnyBackend, id: &str, options: LogOptions, timestamps: bool) -> Result<()> {
    let mut stream = b.container_logs(id, options).await?;
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    while let Some(line) = stream.next().await {
        let line = line?;
        let text = if timestamps {
            format!("{} {}\n", rfc3339_nanos(line.timestamp_ns), line.text)
        } else {
            format!("{}\n", line.text)
        };
        let w: &mut dyn Write = match line.stream {
            LogStream::Stdout => &mut out,
            LogStream::Stderr => &mut err,
        };
        // A closed pipe (`| head`) ends the output quietly.
        if w.write_all(text.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
        {
            break;
        }
    }
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
    let attach = o.interactive || o.tty || caps.attach_ends_at_exit;
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

/// Runs `op` on each container, printing each name on success and each error on stderr.
/// Returns 1 when any failed, as docker does.
pub async fn each(names: &[String], op: impl AsyncFn(String) -> Result<(), BackendError>) -> i32 {
    let mut failed = false;
    for name in names {
        match op(name.clone()).await {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    i32::from(failed)
}

/// `logs`.
pub async fn logs(b: &AnyBackend, args: &LogsArgs) -> Result<()> {
    let tail =
        match args.tail.as_str() {
            "all" => None,
            n => Some(n.parse::<usize>().with_context(|| {
                format!("invalid --tail {n:?}: give a number of lines or \"all\"")
            })?),
        };
    let since = args
        .since
        .as_deref()
        .map(|s| parse::since(s, unix_now()))
        .transpose()?;
    let options = LogOptions {
        follow: args.follow,
        tail,
        since,
    };
    print_logs(b, &args.container, options, args.timestamps).await
}

/// `top`.
pub async fn top(b: &AnyBackend, container: &str) -> Result<()> {
    let top = b.top_container(container).await?;
    let titles: Vec<&str> = top.titles.iter().map(String::as_str).collect();
    let mut t = Table::new(&titles);
    for p in top.processes {
        t.row(p);
    }
    t.print();
    Ok(())
}

fn stats_row(id: &str, name: &str, s: &StatsSample) -> Vec<String> {
    let mem_pct = if s.memory_limit > 0 {
        s.memory_usage as f64 * 100.0 / s.memory_limit as f64
    } else {
        0.0
    };
    vec![
        id[..id.len().min(12)].to_string(),
        name.to_string(),
        format!("{:.2}%", s.cpu_percent),
        format!(
            "{} / {}",
            bytes_size(s.memory_usage),
            bytes_size(s.memory_limit)
        ),
        format!("{mem_pct:.2}%"),
        format!("{} / {}", human_size(s.net_rx), human_size(s.net_tx)),
        format!(
            "{} / {}",
            human_size(s.block_read),
            human_size(s.block_write)
        ),
        s.pids.to_string(),
    ]
}

const STATS_HEADER: [&str; 8] = [
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
];

/// `stats`: one table with `--no-stream`, else a table redrawn every second.
pub async fn stats(b: &AnyBackend, names: &[String], all: bool, no_stream: bool) -> Result<()> {
    let targets: Vec<ContainerSummary> = if names.is_empty() {
        b.list_containers(all).await?
    } else {
        let mut v = Vec::new();
        for n in names {
            v.push(b.inspect_container(n).await?.summary);
        }
        v
    };
    // One stream per container; the latest sample of each is shown.
    let mut streams = Vec::new();
    for c in &targets {
        let s = b.container_stats(&c.id).await?;
        streams.push(s.map(move |r| (c.id.clone(), r)).boxed());
    }
    let mut merged = futures::stream::select_all(streams);
    let mut latest: BTreeMap<String, StatsSample> = BTreeMap::new();
    let deadline = tokio::time::sleep(Duration::from_secs(if no_stream { 5 } else { 1 }));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            item = merged.next() => match item {
                Some((id, Ok(s))) => { latest.insert(id, s); }
                Some((_, Err(e))) => return Err(e.into()),
                None => break,
            },
            () = &mut deadline => {
                if no_stream {
                    break;
                }
                print!("\x1b[2J\x1b[H");
                print_stats(&targets, &latest);
                deadline.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(1));
            }
        }
        if no_stream && latest.len() == targets.len() {
            break;
        }
    }
    print_stats(&targets, &latest);
    Ok(())
}

fn print_stats(targets: &[ContainerSummary], latest: &BTreeMap<String, StatsSample>) {
    let mut t = Table::new(&STATS_HEADER);
    for c in targets {
        let zero = StatsSample::default();
        t.row(stats_row(
            &c.id,
            &c.name,
            latest.get(&c.id).unwrap_or(&zero),
        ));
    }
    t.print();
}

/// `wait`: prints each exit code.
pub async fn wait(b: &AnyBackend, names: &[String]) -> Result<i32> {
    let mut failed = false;
    for n in names {
        match b.wait_container(n).await {
            Ok(code) => println!("{code}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// `container prune`.
pub async fn prune(b: &AnyBackend, force: bool) -> Result<()> {
    if !force
        && !super::output::confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let r = b.prune_containers().await?;
    if !r.deleted.is_empty() {
        println!("Deleted Containers:");
        for d in &r.deleted {
            println!("{d}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(r.space_reclaimed));
    Ok(())
}

/// Options to stop or restart with a timeout.
pub fn timeout(seconds: Option<u64>) -> Option<Duration> {
    seconds.map(Duration::from_secs)
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
