//! Networks.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Invalid, UnixTime, short_id};

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
    /// Their addresses on the network with the prefix length (`10.89.0.2/24`), by name, where
    /// known.
    pub addresses: BTreeMap<String, String>,
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

    /// The network as `docker network inspect` prints it (scripts read
    /// `.IPAM.Config`); its containers by name (the summary has no ids), with their addresses.
    pub fn inspect_json(&self) -> serde_json::Value {
        let config: Vec<serde_json::Value> = self
            .subnet
            .iter()
            .map(|s| serde_json::json!({"Subnet": s, "Gateway": self.gateway}))
            .collect();
        let containers: serde_json::Map<String, serde_json::Value> = self
            .containers
            .iter()
            .map(|c| {
                let address = self.addresses.get(c).map_or("", String::as_str);
                (
                    c.clone(),
                    serde_json::json!({"Name": c, "IPv4Address": address}),
                )
            })
            .collect();
        serde_json::json!({
            "Name": self.name,
            "Id": self.id,
            "Created": crate::util::time::rfc3339(self.created),
            "Scope": self.scope,
            "Driver": self.driver,
            "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": {}, "Config": config},
            "Internal": self.internal,
            "Attachable": false,
            "Ingress": false,
            "Containers": containers,
            "Options": {},
            "Labels": self.labels,
        })
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

/// The `-f` filters of `network ls`: every one given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkFilter {
    filters: Vec<(String, String)>,
}

impl NetworkFilter {
    /// Reads `KEY=VALUE` filters as `network ls -f` takes them.
    pub fn parse(items: &[String]) -> Result<NetworkFilter, Invalid> {
        let mut filters = Vec::new();
        for item in items {
            let Some((key, value)) = item.split_once('=') else {
                return Err(Invalid::new(format!(
                    "invalid filter {item:?}: write KEY=VALUE, with KEY one of name, id, driver, label, type"
                )));
            };
            if !matches!(key, "name" | "id" | "driver" | "label" | "type") {
                return Err(Invalid::new(format!(
                    "invalid filter {key:?}: network ls filters by name, id, driver, label or type"
                )));
            }
            if key == "type" && !matches!(value, "builtin" | "custom") {
                return Err(Invalid::new(format!(
                    "invalid filter {item:?}: type is builtin or custom"
                )));
            }
            filters.push((key.to_string(), value.to_string()));
        }
        Ok(NetworkFilter { filters })
    }

    /// Whether `n` passes: filters of one key match when any of their values does, and
    /// every key given must match.
    pub fn matches(&self, n: &NetworkSummary) -> bool {
        let mut keys: Vec<&str> = self.filters.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        keys.iter().all(|key| {
            self.filters
                .iter()
                .filter(|(k, _)| k == key)
                .any(|(_, v)| match *key {
                    "name" => n.name.contains(v.as_str()),
                    "id" => n.id.starts_with(v.as_str()),
                    "driver" => n.driver == *v,
                    "label" => match v.split_once('=') {
                        Some((k, val)) => n.labels.get(k).is_some_and(|x| x == val),
                        None => n.labels.contains_key(v.as_str()),
                    },
                    _ => (v == "builtin") == n.is_builtin(),
                })
        })
    }
}
