//! Networks.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{UnixTime, short_id};

/// One network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSummary {
    /// Full id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `bridge`, `host`, `null`, …
    pub driver: String,
    /// `local` or `swarm`.
    pub scope: String,
    /// IPv4 subnet in CIDR notation.
    pub subnet: Option<String>,
    /// Gateway address.
    pub gateway: Option<String>,
    /// No outbound connectivity.
    pub internal: bool,
    /// Names of attached containers.
    pub containers: Vec<String>,
    /// Creation time.
    pub created: UnixTime,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl NetworkSummary {
    /// The first 12 characters of the id.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }

    /// Whether the network is one of the predefined ones that cannot be removed.
    pub fn is_builtin(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }
}

/// How a container joins a network (`network connect --alias --ip`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectOptions {
    /// Other names of the container on that network.
    pub aliases: Vec<String>,
    /// A fixed IPv4 address on it.
    pub ip: Option<String>,
}

/// What to create a network with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkSpec {
    /// Name.
    pub name: String,
    /// Driver (`bridge` when `None`).
    pub driver: Option<String>,
    /// Subnet in CIDR notation; allocated when `None`.
    pub subnet: Option<String>,
    /// Gateway; the first address of the subnet when `None`.
    pub gateway: Option<String>,
    /// Where containers' addresses come from, inside the subnet (CIDR).
    pub ip_range: Option<String>,
    /// No outbound connectivity.
    pub internal: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}
