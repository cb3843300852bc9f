//! Container commands: ps, start, stop, kill, restart, pause, unpause, rm, rename, logs, top,
//! stats, wait and container prune, with docker's flags and output (create and run are in
//! `run.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use futures::StreamExt;

use super::output::{Table, ellipsis};
use crate::backend::prelude::*;
use crate::backend::{AnyBackend, BackendError};
use crate::model::{ContainerState, ContainerSummary, LogOptions, LogStream, StatsSample, parse};
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
    /// Format with a Go template ({{.Names}}, `table …`, `json`).
    #[arg(long)]
    pub format: Option<String>,
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

/// Does a filter (`key=value`) accept this container?
fn filter_matches(c: &ContainerSummary, key: &str, value: &str) -> bool {
    match key {
        "id" => c.id.starts_with(value),
        // A regular expression, as docker has it (checked when the filter is read).
        "name" => {
            regex::Regex::new(value.trim_start_matches('/')).is_ok_and(|r| r.is_match(&c.name))
        }
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
        if k == "name" {
            if let Err(e) = regex::Regex::new(v.trim_start_matches('/')) {
                bail!("invalid filter name={v:?}: not a regular expression ({e})");
            }
        }
        filters.entry(k).or_default().push(v);
    }
    let format = args
        .format
        .as_deref()
        .map(super::format::Format::parse)
        .transpose()?;
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
    if let Some(f) = format {
        let rows: Vec<serde_json::Value> = list.iter().map(|c| ps_row(c, args, now)).collect();
        return f.print(&ps_header(), &rows);
    }
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

/// `ps --format table`'s titles, by field.
fn ps_header() -> serde_json::Value {
    serde_json::json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "State": "STATE",
        "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Networks": "NETWORKS",
    })
}

/// A container as `ps --format` sees it: docker's field names.
fn ps_row(c: &ContainerSummary, args: &PsArgs, now: i64) -> serde_json::Value {
    let command = if args.no_trunc {
        c.command.clone()
    } else {
        ellipsis(&c.command, 20)
    };
    serde_json::json!({
        "ID": if args.no_trunc { c.id.as_str() } else { c.short_id() },
        "Image": c.image,
        "Command": format!("\"{command}\""),
        "CreatedAt": crate::util::time::rfc3339(c.created),
        "RunningFor": ago(c.created, now),
        "Ports": c.ports_text(),
        "Status": c.status_text(now),
        "State": c.state.as_str(),
        "Size": size_text(c),
        "Names": c.name,
        "Labels": c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "Networks": c.networks.join(","),
    })
}

/// `ps -s`'s column: `12.3kB (virtual 4.1MB)`, as docker prints it.
fn size_text(c: &ContainerSummary) -> String {
    match (c.size_rw, c.size_root_fs) {
        (Some(own), Some(all)) => format!("{} (virtual {})", human_size(own), human_size(all)),
        (Some(own), None) => human_size(own),
        _ => "-".to_string(),
    }
}

/// Copies a container's output to ours, stdout and stderr kept apart.
pub(super) async fn print_logs(
    b: &AnyBackend,
    id: &str,
    options: LogOptions,
    timestamps: bool,
) -> Result<()> {
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

/// Runs `op` on each container, printing each name on success and each error on stderr.
/// Returns 1 when any failed, as docker does.
pub async fn each(names: &[String], op: impl AsyncFn(String) -> Result<(), BackendError>) -> i32 {
    each_with(names, op, false).await
}

/// [`each`], where a container that is not there is said but does not fail (`rm -f`).
pub async fn each_missing_ok(
    names: &[String],
    op: impl AsyncFn(String) -> Result<(), BackendError>,
) -> i32 {
    each_with(names, op, true).await
}

async fn each_with(
    names: &[String],
    op: impl AsyncFn(String) -> Result<(), BackendError>,
    missing_ok: bool,
) -> i32 {
    let mut failed = false;
    for name in names {
        match op(name.clone()).await {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed |= !(missing_ok && matches!(e, BackendError::NotFound { .. }));
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
/// `port CTR [PORT[/PROTO]]`: `80/tcp -> 0.0.0.0:8080` for each mapping, or the host
/// addresses of one port.
pub async fn port(b: &AnyBackend, container: &str, which: Option<&str>) -> Result<()> {
    let details = b.inspect_container(container).await?;
    let mappings: Vec<_> = details
        .summary
        .ports
        .iter()
        .filter(|p| p.host_port.is_some())
        .collect();
    match which {
        None => {
            for p in mappings {
                println!(
                    "{}/{} -> {}:{}",
                    p.container_port,
                    p.protocol,
                    p.host_ip.as_deref().unwrap_or("0.0.0.0"),
                    p.host_port.unwrap_or(0)
                );
            }
        }
        Some(w) => {
            let (number, proto) = w.split_once('/').unwrap_or((w, "tcp"));
            let Ok(number) = number.parse::<u16>() else {
                anyhow::bail!("invalid port {w:?}: write PORT or PORT/PROTO, e.g. 80/tcp");
            };
            let found: Vec<_> = mappings
                .iter()
                .filter(|p| p.container_port == number && p.protocol.to_string() == proto)
                .collect();
            if found.is_empty() {
                anyhow::bail!("no public port '{number}/{proto}' published for {container}");
            }
            for p in found {
                println!(
                    "{}:{}",
                    p.host_ip.as_deref().unwrap_or("0.0.0.0"),
                    p.host_port.unwrap_or(0)
                );
            }
        }
    }
    Ok(())
}

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
