//! `network` commands: create, ls, inspect, rm, prune, connect, disconnect.

use anyhow::Result;
use clap::Subcommand;

use super::container::each;
use super::output::{Table, confirm, print_json};
use super::volume::labels;
use crate::backend::AnyBackend;
use crate::backend::prelude::*;
use crate::model::{ConnectOptions, NetworkFilter, NetworkSpec};

/// `network …`.
#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// Create a network.
    Create {
        /// Network name.
        name: String,
        /// Driver.
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        /// Subnet in CIDR form.
        #[arg(long)]
        subnet: Option<String>,
        /// Gateway address.
        #[arg(long)]
        gateway: Option<String>,
        /// Allocate container addresses from this range (CIDR, inside the subnet).
        #[arg(long = "ip-range")]
        ip_range: Option<String>,
        /// No outbound access.
        #[arg(long)]
        internal: bool,
        /// Set labels (KEY=VALUE).
        #[arg(short = 'l', long = "label", value_name = "LABEL")]
        label: Vec<String>,
    },
    /// List networks.
    #[command(alias = "list")]
    Ls {
        /// Only display network IDs.
        #[arg(short, long)]
        quiet: bool,
        /// Filter: name=…, id=…, driver=…, label=KEY[=VALUE], type=builtin|custom.
        #[arg(short, long = "filter", value_name = "FILTER")]
        filter: Vec<String>,
        /// Format with a Go template ({{.Name}}, `table …`, `json`).
        #[arg(long)]
        format: Option<String>,
    },
    /// Display detailed information on networks.
    Inspect {
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove networks.
    #[command(alias = "remove")]
    Rm {
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused networks.
    Prune {
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
    /// Connect a container to a network.
    Connect {
        /// Another name of the container on that network.
        #[arg(long = "alias", value_name = "ALIAS")]
        alias: Vec<String>,
        /// IPv4 address on that network.
        #[arg(long)]
        ip: Option<String>,
        /// Network.
        network: String,
        /// Container.
        container: String,
    },
    /// Disconnect a container from a network.
    Disconnect {
        /// Force the container to disconnect.
        #[arg(short, long)]
        force: bool,
        /// Network.
        network: String,
        /// Container.
        container: String,
    },
}

/// Runs a `network` command; returns the exit code.
pub async fn network(b: &AnyBackend, cmd: &NetworkCmd) -> Result<i32> {
    match cmd {
        NetworkCmd::Create {
            name,
            driver,
            subnet,
            gateway,
            ip_range,
            internal,
            label,
        } => {
            let id = b
                .create_network(NetworkSpec {
                    name: name.clone(),
                    driver: Some(driver.clone()),
                    subnet: subnet.clone(),
                    gateway: gateway.clone(),
                    ip_range: ip_range.clone(),
                    internal: *internal,
                    labels: labels(label),
                })
                .await?;
            println!("{id}");
        }
        NetworkCmd::Ls {
            quiet,
            filter,
            format,
        } => {
            let filter = NetworkFilter::parse(filter)?;
            let format = format
                .as_deref()
                .map(super::format::Format::parse)
                .transpose()?;
            let mut list = b.list_networks().await?;
            list.retain(|n| filter.matches(n));
            list.sort_by(|a, b| a.name.cmp(&b.name));
            if let Some(f) = format {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|n| {
                        let mut row = n.inspect_json();
                        row["ID"] = serde_json::json!(n.short_id());
                        row
                    })
                    .collect();
                let header = serde_json::json!({
                    "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                    "Internal": "INTERNAL", "Labels": "LABELS", "Created": "CREATED",
                });
                f.print(&header, &rows)?;
            } else if *quiet {
                list.iter().for_each(|n| println!("{}", n.short_id()));
            } else {
                let mut t = Table::new(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"]);
                for n in &list {
                    t.row(vec![
                        n.short_id().to_string(),
                        n.name.clone(),
                        n.driver.clone(),
                        n.scope.clone(),
                    ]);
                }
                t.print();
            }
        }
        NetworkCmd::Inspect { names } => {
            let mut docs = Vec::new();
            for n in names {
                docs.push(b.inspect_network(n).await?.inspect_json());
            }
            print_json(&docs);
        }
        NetworkCmd::Rm { names } => {
            return Ok(each(names, async |n| b.remove_network(&n).await).await);
        }
        NetworkCmd::Prune { force } => {
            if !force
                && !confirm(
                    "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?",
                )
            {
                return Ok(0);
            }
            let r = b.prune_networks().await?;
            if !r.deleted.is_empty() {
                println!("Deleted Networks:");
                r.deleted.iter().for_each(|d| println!("{d}"));
            }
        }
        NetworkCmd::Connect {
            alias,
            ip,
            network,
            container,
        } => {
            b.connect_network(
                network,
                container,
                ConnectOptions {
                    aliases: alias.clone(),
                    ip: ip.clone(),
                },
            )
            .await?
        }
        NetworkCmd::Disconnect {
            force,
            network,
            container,
        } => b.disconnect_network(network, container, *force).await?,
    }
    Ok(0)
}
