//! Commands about the whole backend: inspect (any object), events, info, version, disk use,
//! and the engine's data root check.

use anyhow::{Result, bail};
use futures::StreamExt;

use super::output::{Table, print_json};
use crate::backend::prelude::*;
use crate::backend::{AnyBackend, BackendError};
use crate::util::time::rfc3339;
use crate::util::units::{bytes_size, human_size};

/// `inspect`: containers first, then images, volumes and networks, as docker looks them up.
pub async fn inspect(
    b: &AnyBackend,
    names: &[String],
    kind: Option<&str>,
    format: Option<&str>,
) -> Result<i32> {
    let format = format.map(super::format::Format::parse).transpose()?;
    let mut docs = Vec::new();
    let mut failed = false;
    for name in names {
        let doc = match kind {
            Some("container") => b.inspect_container(name).await.map(|c| c.inspect),
            Some("image") => b.inspect_image(name).await.map(|i| i.inspect),
            Some("volume") => b.inspect_volume(name).await.map(|v| v.inspect_json()),
            Some("network") => b.inspect_network(name).await.map(|n| n.inspect_json()),
            Some(other) => {
                bail!("invalid --type {other:?}: accepted are container, image, volume and network")
            }
            None => match b.inspect_container(name).await {
                Ok(c) => Ok(c.inspect),
                Err(BackendError::NotFound { .. } | BackendError::Unsupported { .. }) => match b
                    .inspect_image(name)
                    .await
                {
                    Ok(i) => Ok(i.inspect),
                    Err(BackendError::NotFound { .. }) => match b.inspect_volume(name).await {
                        Ok(v) => Ok(v.inspect_json()),
                        Err(BackendError::NotFound { .. } | BackendError::Unsupported { .. }) => b
                            .inspect_network(name)
                            .await
                            .map(|n| n.inspect_json())
                            .map_err(|_| BackendError::invalid(format!("no such object: {name}"))),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
        };
        match doc {
            Ok(d) => docs.push(d),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    match format {
        Some(f) => {
            for d in &docs {
                println!("{}", f.render(d)?);
            }
        }
        None => print_json(&docs),
    }
    Ok(i32::from(failed))
}

/// `events`: one line per change until interrupted.
pub async fn events(b: &AnyBackend) -> Result<()> {
    let mut stream = b.events().await?;
    while let Some(e) = stream.next().await {
        let e = e?;
        let name = e.name.map(|n| format!(" (name={n})")).unwrap_or_default();
        println!("{} {} {} {}{name}", rfc3339(e.time), e.kind, e.action, e.id);
    }
    Ok(())
}

/// `info`.
pub async fn info(b: &AnyBackend) -> Result<()> {
    let i = b.info().await?;
    println!("Server:");
    println!(" Backend: {}", i.backend);
    println!(" Endpoint: {}", i.endpoint);
    println!(" Containers: {}", i.containers);
    println!("  Running: {}", i.containers_running);
    println!("  Paused: {}", i.containers_paused);
    println!("  Stopped: {}", i.containers_stopped);
    println!(" Images: {}", i.images);
    println!(" Server Version: {}", i.server_version);
    println!(" Storage Driver: {}", i.storage_driver);
    println!(" Cgroup Version: {}", i.cgroup_version);
    println!(" Kernel Version: {}", i.kernel_version);
    println!(" Operating System: {}", i.operating_system);
    println!(" CPUs: {}", i.ncpu);
    println!(" Total Memory: {}", bytes_size(i.mem_total));
    println!(" Root Dir: {}", i.root_dir);
    Ok(())
}

/// `version`.
pub async fn version(b: &AnyBackend) -> Result<()> {
    println!("Client:");
    println!(" Version: {}", env!("CARGO_PKG_VERSION"));
    println!(
        " OS/Arch: {}/{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    println!();
    let i = b.info().await?;
    println!("Server: {}", i.backend);
    println!(" Version: {}", i.server_version);
    if let Some(api) = i.api_version {
        println!(" API version: {api}");
    }
    println!(" Endpoint: {}", i.endpoint);
    Ok(())
}

/// `system df`.
pub async fn df(b: &AnyBackend) -> Result<()> {
    let u = b.disk_usage().await?;
    let mut t = Table::new(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    let rows = [
        ("Images", Some(u.images)),
        ("Containers", Some(u.containers)),
        ("Local Volumes", Some(u.volumes)),
        ("Build Cache", u.build_cache),
    ];
    for (kind, row) in rows.into_iter().filter_map(|(k, r)| Some((k, r?))) {
        let pct = (row.reclaimable * 100).checked_div(row.size).unwrap_or(0);
        t.row(vec![
            kind.to_string(),
            row.total.to_string(),
            row.active.to_string(),
            human_size(row.size),
            format!("{} ({pct}%)", human_size(row.reclaimable)),
        ]);
    }
    t.print();
    if let (Some(layers), Some((shared, bytes))) = (u.layers, u.shared_layers) {
        println!();
        println!(
            "Layers: {layers} stored once each; {shared} shared by more than one image ({})",
            human_size(bytes)
        );
    }
    Ok(())
}

/// `system check [--repair]`: the embedded engine's data root only.
pub async fn check(b: &AnyBackend, repair: bool) -> Result<i32> {
    let report = b.check(repair).await?;
    println!(
        "Checked {} blobs, {} layers, {} images and {} containers in {}",
        report.blobs, report.layers, report.images, report.containers, report.root
    );
    for p in &report.problems {
        let mark = if p.repaired { "repaired" } else { "problem" };
        println!("{mark}: {}", p.what);
    }
    if report.unused_blobs.0 > 0 || report.unused_layers > 0 {
        println!(
            "unused: {} blobs ({}) and {} layers no image needs, kept to resume pulls; `dockhand image prune` removes them",
            report.unused_blobs.0,
            human_size(report.unused_blobs.1),
            report.unused_layers
        );
    }
    if report.has_open_problems() {
        println!("Run `dockhand system check --repair` to remove what is broken.");
        Ok(1)
    } else {
        if report.problems.is_empty() {
            println!("No problems found.");
        }
        Ok(0)
    }
}

/// `system boot`: the embedded engine only.
/// `system reset`: everything of the data root goes, after a question unless `force`.
pub async fn reset(b: &AnyBackend, force: bool) -> Result<i32> {
    if !force
        && !super::output::confirm(
            "WARNING! This will remove all containers, networks, volumes and images of this data root, and the bridges and rules of its networks.\nAre you sure you want to continue?",
        )
    {
        return Ok(0);
    }
    let r = b.reset().await?;
    println!(
        "Removed {} containers, {} networks, {} volumes and {} images",
        r.containers.len(),
        r.networks.len(),
        r.volumes.len(),
        r.images.len()
    );
    Ok(0)
}

pub async fn boot(b: &AnyBackend) -> Result<i32> {
    let report = b.boot().await?;
    for name in &report.started {
        println!("{name}");
    }
    for (name, e) in &report.failed {
        eprintln!("Error: {name}: {e}");
    }
    Ok(i32::from(!report.failed.is_empty()))
}
