//! Commands about the whole backend: inspect (any object), events, info, version.

use anyhow::{Result, bail};
use futures::StreamExt;

use super::output::print_json;
use crate::backend::{AnyBackend, Backend, BackendError};
use crate::util::time::rfc3339;
use crate::util::units::bytes_size;

/// `inspect`: containers first, then images, volumes and networks, as docker looks them up.
pub async fn inspect(b: &AnyBackend, names: &[String], kind: Option<&str>) -> Result<i32> {
    let mut docs = Vec::new();
    let mut failed = false;
    for name in names {
        let doc = match kind {
            Some("container") => b.inspect_container(name).await.map(|c| c.inspect),
            Some("image") => b.inspect_image(name).await.map(|i| i.inspect),
            Some("volume") => b
                .inspect_volume(name)
                .await
                .map(|v| serde_json::to_value(v).unwrap_or_default()),
            Some("network") => b
                .inspect_network(name)
                .await
                .map(|n| serde_json::to_value(n).unwrap_or_default()),
            Some(other) => {
                bail!("invalid --type {other:?}: accepted are container, image, volume and network")
            }
            None => match b.inspect_container(name).await {
                Ok(c) => Ok(c.inspect),
                Err(BackendError::NotFound { .. }) => match b.inspect_image(name).await {
                    Ok(i) => Ok(i.inspect),
                    Err(BackendError::NotFound { .. }) => match b.inspect_volume(name).await {
                        Ok(v) => Ok(serde_json::to_value(v).unwrap_or_default()),
                        Err(BackendError::NotFound { .. }) => b
                            .inspect_network(name)
                            .await
                            .map(|n| serde_json::to_value(n).unwrap_or_default())
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
    print_json(&docs);
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
