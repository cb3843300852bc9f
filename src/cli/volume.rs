//! `volume` commands: create, ls, inspect, rm, prune.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use clap::Subcommand;

use super::container::each;
use super::output::{Table, confirm, print_json};
use crate::backend::AnyBackend;
use crate::backend::prelude::*;
use crate::model::{VolumeFilter, VolumeSpec};
use crate::util::units::human_size;

/// `volume …`.
#[derive(Debug, Subcommand)]
pub enum VolumeCmd {
    /// Create a volume.
    Create {
        /// Volume name (generated when omitted).
        name: Option<String>,
        /// Volume driver.
        #[arg(short, long, default_value = "local")]
        driver: String,
        /// Set labels (KEY=VALUE).
        #[arg(short = 'l', long = "label", value_name = "LABEL")]
        label: Vec<String>,
        /// Set driver options (type=tmpfs, device=…, o=size=64m).
        #[arg(short, long = "opt", value_name = "OPTION")]
        opt: Vec<String>,
    },
    /// List volumes.
    #[command(alias = "list")]
    Ls {
        /// Only display volume names.
        #[arg(short, long)]
        quiet: bool,
        /// Filter: dangling=true|false, name=…, label=KEY[=VALUE], driver=….
        #[arg(short, long = "filter", value_name = "FILTER")]
        filter: Vec<String>,
        /// Format with a Go template ({{.Name}}, `table …`, `json`).
        #[arg(long)]
        format: Option<String>,
    },
    /// Display detailed information on volumes.
    Inspect {
        /// Volumes.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove volumes.
    #[command(alias = "remove")]
    Rm {
        /// Remove even when in use.
        #[arg(short, long)]
        force: bool,
        /// Volumes.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused volumes.
    Prune {
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
}

/// `KEY=VALUE` labels (a bare `KEY` has an empty value).
pub(super) fn labels(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Runs a `volume` command; returns the exit code.
pub async fn volume(b: &AnyBackend, cmd: &VolumeCmd) -> Result<i32> {
    match cmd {
        VolumeCmd::Create {
            name,
            driver,
            label,
            opt,
        } => {
            let mut options = BTreeMap::new();
            for o in opt {
                let Some((k, v)) = o.split_once('=') else {
                    bail!("invalid option {o:?}: write KEY=VALUE, e.g. type=tmpfs");
                };
                options.insert(k.to_string(), v.to_string());
            }
            let v = b
                .create_volume(VolumeSpec {
                    name: name.clone(),
                    driver: Some(driver.clone()),
                    labels: labels(label),
                    options,
                })
                .await?;
            println!("{}", v.name);
        }
        VolumeCmd::Ls {
            quiet,
            filter,
            format,
        } => {
            let filter = VolumeFilter::parse(filter)?;
            let format = format
                .as_deref()
                .map(super::format::Format::parse)
                .transpose()?;
            let mut list = b.list_volumes().await?;
            list.retain(|v| filter.matches(v));
            list.sort_by(|a, b| a.name.cmp(&b.name));
            if let Some(f) = format {
                let rows: Vec<serde_json::Value> = list.iter().map(|v| v.inspect_json()).collect();
                let header = serde_json::json!({
                    "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                    "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "CreatedAt": "CREATED AT",
                });
                f.print(&header, &rows)?;
            } else if *quiet {
                list.iter().for_each(|v| println!("{}", v.name));
            } else {
                let mut t = Table::new(&["DRIVER", "VOLUME NAME"]);
                for v in list {
                    t.row(vec![v.driver, v.name]);
                }
                t.print();
            }
        }
        VolumeCmd::Inspect { names } => {
            let mut docs = Vec::new();
            for n in names {
                docs.push(b.inspect_volume(n).await?.inspect_json());
            }
            print_json(&docs);
        }
        VolumeCmd::Rm { force, names } => {
            return Ok(each(names, async |n| b.remove_volume(&n, *force).await).await);
        }
        VolumeCmd::Prune { force } => {
            if !force
                && !confirm(
                    "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?",
                )
            {
                return Ok(0);
            }
            let r = b.prune_volumes().await?;
            if !r.deleted.is_empty() {
                println!("Deleted Volumes:");
                r.deleted.iter().for_each(|d| println!("{d}"));
                println!();
            }
            println!("Total reclaimed space: {}", human_size(r.space_reclaimed));
        }
    }
    Ok(0)
}
