//! Bridge networks of a data root: `networks/<id>/network.json` (name, bridge, subnet,
//! gateway, address range, internal, labels), each with its own Linux bridge (`dh-<12 hex>`,
//! never Docker's docker0) holding the gateway address, and its netfilter rules
//! (`firewall.rs`). A network is made whole in `tmp/` and renamed into place, then its bridge
//! and rules are brought up; removing takes the rules and the bridge down first. Creating and
//! removing hold the `networks` lock. A subnet chosen for the user is one that overlaps no
//! route of the host (Docker's networks and every interface's included) and no other
//! network of this root; the choice and the bridge coming up happen under a host-wide lock,
//! so two roots never take the same one. Links and addresses are set over rtnetlink
//! (`netlink.rs`).

pub mod check;
pub mod dns;
pub mod endpoint;
pub(crate) mod firewall;
pub mod netlink;
pub mod ports;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

pub use self::endpoint::{Endpoint, plug, unlink};
pub use self::firewall::FirewallError;
pub use self::ports::{PortRequest, Protocol, PublishedPort};
use super::store::{Lock, Root, StoreError, temp_path, write_atomic};
use crate::util::time::unix_now;

/// The record's format this build writes.
const FORMAT: u32 = 1;

/// Names a user cannot give a network: the ones every engine has.
pub const BUILTIN: &[&str] = &[DEFAULT, "host", "none"];

/// The network of a container created without `--network`.
pub const DEFAULT: &str = "bridge";

/// Where subnets are chosen from when the user names none: 10.89.0.0/16 and up, /24 each.
const POOL_FIRST: u32 = 0x0A59_0000;
const POOL_LAST: u32 = 0x0AFE_FF00;

/// What the store keeps of one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// The record's format.
    pub format: u32,
    /// 64 hex digits.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Its Linux bridge.
    pub bridge: String,
    /// IPv4 subnet.
    #[serde(with = "as_text")]
    pub subnet: Ipv4Net,
    /// The bridge's address, the containers' default route.
    pub gateway: Ipv4Addr,
    /// Where containers' addresses are taken from (the subnet when `None`).
    #[serde(with = "as_text_option")]
    pub ip_range: Option<Ipv4Net>,
    /// No route out of the bridge.
    pub internal: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Creation time (Unix seconds).
    pub created: i64,
    /// The mark its bridge's alias and its rules carry ([`NetworkStore::mark`] when it was
    /// made; empty for a network made before marks, whose rules have none).
    #[serde(default)]
    pub mark: String,
}

/// What to make a network with.
#[derive(Debug, Clone, Default)]
pub struct NewNetwork {
    /// Name.
    pub name: String,
    /// Subnet in CIDR notation (chosen when `None`).
    pub subnet: Option<String>,
    /// Gateway (the subnet's first address when `None`).
    pub gateway: Option<String>,
    /// Range of container addresses, in CIDR notation inside the subnet.
    pub ip_range: Option<String>,
    /// No route out.
    pub internal: bool,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// No such network.
    #[error("network {0} not found")]
    NotFound(String),
    /// A prefix that fits several.
    #[error("network {reference} is ambiguous: it matches {}", candidates.join(", "))]
    Ambiguous {
        /// The reference given.
        reference: String,
        /// Names of the matches.
        candidates: Vec<String>,
    },
    /// A bad name, subnet or address; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// A name or subnet taken.
    #[error("{0}")]
    Conflict(String),
    /// Containers are attached.
    #[error("error while removing network {name}: network {name} has active endpoints ({})", users.join(", "))]
    InUse {
        /// The network.
        name: String,
        /// The containers attached.
        users: Vec<String>,
    },
    /// A link, address or sysctl of the host.
    #[error("network {name}: {what}: {source}")]
    Host {
        /// The network.
        name: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A netfilter rule.
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    /// The store underneath.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn host(name: &str, what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetworkError {
    let (name, what) = (name.to_string(), what.into());
    move |source| NetworkError::Host { name, what, source }
}

/// The networks of one data root.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    root: Root,
    dir: PathBuf,
}

impl NetworkStore {
    /// The networks of `root`.
    pub fn new(root: &Root) -> NetworkStore {
        NetworkStore {
            dir: root.path().join("networks"),
            root: root.clone(),
        }
    }

    /// Takes the lock that creating and removing networks hold.
    pub fn lock(&self) -> Result<Lock, NetworkError> {
        Ok(self.root.lock("networks")?)
    }

    /// Every network, by name.
    pub fn list(&self) -> Result<Vec<NetworkRecord>, NetworkError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| StoreError::Io {
            action: "cannot list",
            path: self.dir.clone(),
            source: e,
        })?;
        let mut out: Vec<NetworkRecord> = entries
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("network.json")).ok())
            .filter_map(|text| serde_json::from_slice(&text).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The network a reference names: its name, its id or a unique prefix of the id.
    pub fn resolve(&self, reference: &str) -> Result<NetworkRecord, NetworkError> {
        let all = self.list()?;
        if let Some(n) = all
            .iter()
            .find(|n| n.name == reference || n.id == reference)
        {
            return Ok(n.clone());
        }
        let matches: Vec<&NetworkRecord> = all
            .iter()
            .filter(|n| !reference.is_empty() && n.id.starts_with(reference))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(NetworkError::NotFound(reference.to_string())),
            many => Err(NetworkError::Ambiguous {
                reference: reference.to_string(),
                candidates: many.iter().map(|n| n.name.clone()).collect(),
            }),
        }
    }

    /// Makes a network and brings its bridge and rules up. Bad values are refused before
    /// anything is made; a failure on the way takes back what was made.
    pub fn create(&self, lock: &Lock, request: &NewNetwork) -> Result<NetworkRecord, NetworkError> {
        let name = request.name.as_str();
        if !crate::model::parse::valid_name(name) {
            return Err(NetworkError::Invalid(format!(
                "invalid network name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if BUILTIN.contains(&name) {
            return Err(NetworkError::Conflict(format!(
                "network with name {name} already exists"
            )));
        }
        self.make(lock, request)
    }

    /// The default network `bridge`, made (with a subnet chosen clear of the host's routes)
    /// the first time a container needs it, as Docker's docker0 is there from the start.
    pub fn ensure_default(&self) -> Result<NetworkRecord, NetworkError> {
        let lock = self.lock()?;
        match self.resolve(DEFAULT) {
            Ok(n) => Ok(n),
            Err(NetworkError::NotFound(_)) => self.make(
                &lock,
                &NewNetwork {
                    name: DEFAULT.into(),
                    ..NewNetwork::default()
                },
            ),
            Err(e) => Err(e),
        }
    }

    fn make(&self, lock: &Lock, request: &NewNetwork) -> Result<NetworkRecord, NetworkError> {
        let name = request.name.as_str();
        let existing = self.list()?;
        if existing.iter().any(|n| n.name == name) {
            return Err(NetworkError::Conflict(format!(
                "network with name {name} already exists"
            )));
        }
        let cidr = |what: &str, v: &str| -> Result<Ipv4Net, NetworkError> {
            v.parse::<Ipv4Net>().map(|n| n.trunc()).map_err(|_| {
                NetworkError::Invalid(format!(
                    "invalid {what} {v:?}: write an IPv4 network such as 10.5.0.0/16"
                ))
            })
        };
        let given = request
            .subnet
            .as_deref()
            .map(|s| cidr("subnet", s))
            .transpose()?;
        if let Some(s) = given {
            if s.prefix_len() > 30 {
                return Err(NetworkError::Invalid(format!(
                    "subnet {s} is too small: give a /30 or larger"
                )));
            }
            if let Some(other) = existing.iter().find(|n| overlaps(&n.subnet, &s)) {
                return Err(NetworkError::Conflict(format!(
                    "invalid pool request: subnet {s} overlaps {} of network {}",
                    other.subnet, other.name
                )));
            }
        }
        let ip_range = request
            .ip_range
            .as_deref()
            .map(|r| cidr("ip-range", r))
            .transpose()?;
        let gateway = request
            .gateway
            .as_deref()
            .map(|g| {
                g.parse::<Ipv4Addr>().map_err(|_| {
                    NetworkError::Invalid(format!("invalid gateway {g:?}: write an IPv4 address"))
                })
            })
            .transpose()?;
        if given.is_none() && (gateway.is_some() || ip_range.is_some()) {
            return Err(NetworkError::Invalid(
                "--gateway and --ip-range need --subnet".into(),
            ));
        }
        // The choice of a subnet and the bridge taking it are one step for the whole host.
        std::fs::create_dir_all(super::container::RUNTIME_DIR)
            .map_err(host(name, "cannot create the runtime directory"))?;
        let _host_lock = super::store::Lock::exclusive(
            &std::path::Path::new(super::container::RUNTIME_DIR).join("subnets.lock"),
        )?;
        let subnet = match given {
            Some(s) => s,
            None => free_subnet(&existing)?,
        };
        let gateway = gateway.unwrap_or_else(|| first_host(&subnet));
        if !subnet.contains(&gateway)
            || gateway == subnet.network()
            || gateway == subnet.broadcast()
        {
            return Err(NetworkError::Invalid(format!(
                "gateway {gateway} is not a host address of the subnet {subnet}"
            )));
        }
        if let Some(r) = ip_range {
            if !subnet.contains(&r) {
                return Err(NetworkError::Invalid(format!(
                    "ip-range {r} is not inside the subnet {subnet}"
                )));
            }
        }
        let id = crate::util::random::random_id();
        let record = NetworkRecord {
            format: FORMAT,
            bridge: format!("dh-{}", &id[..12]),
            id,
            name: name.to_string(),
            subnet,
            gateway,
            ip_range,
            internal: request.internal,
            labels: request.labels.clone(),
            created: unix_now(),
            mark: self.mark(),
        };
        let staging = temp_path(&self.root.tmp(), "network");
        std::fs::create_dir_all(&staging).map_err(host(name, "cannot create its record"))?;
        let json = serde_json::to_vec_pretty(&record).expect("a network record serializes");
        write_atomic(&staging.join("network.json"), &json)?;
        std::fs::rename(&staging, self.dir.join(&record.id))
            .map_err(host(name, "cannot create its record"))?;
        if let Err(e) = self.ensure_up(&record) {
            let _ = self.remove(lock, &record);
            return Err(e);
        }
        Ok(record)
    }

    /// Brings the bridge and rules up when the bridge is missing (after a reboot, or a
    /// create that was killed half-way); a network whose bridge is there is left alone, so a
    /// container's start pays one netlink lookup.
    pub fn ensure_bridge(&self, n: &NetworkRecord) -> Result<(), NetworkError> {
        let mut nl = netlink::Netlink::open().map_err(host(&n.name, "cannot open netlink"))?;
        match nl
            .link_index(&n.bridge)
            .map_err(host(&n.name, "cannot look up its bridge"))?
        {
            Some(_) => Ok(()),
            None => self.ensure_up(n),
        }
    }

    /// Brings the network's bridge (with the gateway address) and rules up where they are
    /// missing (after a reboot, say).
    pub fn ensure_up(&self, n: &NetworkRecord) -> Result<(), NetworkError> {
        let mut nl = netlink::Netlink::open().map_err(host(&n.name, "cannot open netlink"))?;
        let index = match nl
            .link_index(&n.bridge)
            .map_err(host(&n.name, "cannot look up its bridge"))?
        {
            Some(i) => i,
            None => {
                nl.add_bridge(&n.bridge).map_err(host(
                    &n.name,
                    format!("cannot create the bridge {}", n.bridge),
                ))?;
                required_link(&mut nl, &n.name, &n.bridge)?
            }
        };
        if !n.mark.is_empty() {
            nl.set_alias(index, &self.alias(n)).map_err(host(
                &n.name,
                format!("cannot mark {} as this root's", n.bridge),
            ))?;
        }
        nl.add_address(index, n.gateway, n.subnet.prefix_len())
            .map_err(host(
                &n.name,
                format!("cannot give {} its address", n.bridge),
            ))?;
        nl.set_up(index, None)
            .map_err(host(&n.name, format!("cannot set {} up", n.bridge)))?;
        firewall::allow_localnet(&n.bridge)
            .map_err(host(&n.name, "cannot let the bridge take loopback sources"))?;
        if !n.internal {
            firewall::enable_forwarding()
                .map_err(host(&n.name, "cannot enable IPv4 forwarding"))?;
        }
        firewall::add_network(&n.bridge, &n.subnet.to_string(), n.internal, &n.mark)?;
        Ok(())
    }

    /// Takes the network's rules and bridge down and removes its record (whoever calls
    /// checks that no container is attached, under `lock`).
    pub fn remove(&self, _lock: &Lock, n: &NetworkRecord) -> Result<(), NetworkError> {
        firewall::remove_network(&n.bridge, &n.subnet.to_string(), n.internal, &n.mark);
        let mut nl = netlink::Netlink::open().map_err(host(&n.name, "cannot open netlink"))?;
        if let Some(index) = nl
            .link_index(&n.bridge)
            .map_err(host(&n.name, "cannot look up its bridge"))?
        {
            nl.delete_link(index).map_err(host(
                &n.name,
                format!("cannot delete the bridge {}", n.bridge),
            ))?;
        }
        let gone = temp_path(&self.root.tmp(), "network-gone");
        let dir = self.dir.join(&n.id);
        if dir.exists() {
            std::fs::rename(&dir, &gone).map_err(host(&n.name, "cannot remove its record"))?;
            let _ = std::fs::remove_dir_all(&gone);
        }
        Ok(())
    }
}

/// A network in CIDR notation in the record.
mod as_text {
    use ipnet::Ipv4Net;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(n: &Ipv4Net, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(n)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Ipv4Net, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// An optional network in CIDR notation in the record.
mod as_text_option {
    use ipnet::Ipv4Net;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(n: &Option<Ipv4Net>, s: S) -> Result<S::Ok, S::Error> {
        match n {
            Some(n) => s.collect_str(n),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ipv4Net>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| t.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl NetworkRecord {
    /// Refuses an address a container cannot have here: outside the subnet, or the
    /// subnet's own, broadcast or gateway address.
    pub fn check_address(&self, ip: Ipv4Addr) -> Result<(), NetworkError> {
        let s = &self.subnet;
        if !s.contains(&ip) || ip == self.gateway || ip == s.network() || ip == s.broadcast() {
            return Err(NetworkError::Invalid(format!(
                "address {ip} is not a host address of network {} ({s}, gateway {}); give one inside it",
                self.name, self.gateway
            )));
        }
        Ok(())
    }
}

/// The index of the link `link`, which network `network` needs to be there.
fn required_link(
    nl: &mut netlink::Netlink,
    network: &str,
    link: &str,
) -> Result<u32, NetworkError> {
    nl.link_index(link)
        .map_err(host(network, format!("cannot look up the link {link}")))?
        .ok_or_else(|| NetworkError::Host {
            name: network.to_string(),
            what: format!("the link {link} is missing"),
            source: std::io::ErrorKind::NotFound.into(),
        })
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn first_host(n: &Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(n.network()) + 1)
}

/// The host's IPv4 routes other than the default one (`/proc/net/route`, which holds the
/// connected routes of every interface with an address).
fn host_routes() -> Vec<Ipv4Net> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let (dest, mask) = (
                Ipv4Addr::from(dest.swap_bytes()),
                Ipv4Addr::from(mask.swap_bytes()),
            );
            let net = Ipv4Net::with_netmask(dest, mask).ok()?;
            (net.prefix_len() > 0).then_some(net)
        })
        .collect()
}

/// The first /24 of the pool that overlaps nothing of the host's or of this root's.
fn free_subnet(existing: &[NetworkRecord]) -> Result<Ipv4Net, NetworkError> {
    let taken: Vec<Ipv4Net> = host_routes()
        .into_iter()
        .chain(existing.iter().map(|n| n.subnet))
        .collect();
    let mut at = POOL_FIRST;
    while at <= POOL_LAST {
        let candidate = Ipv4Net::new(Ipv4Addr::from(at), 24).expect("a /24 is a valid prefix");
        if !taken.iter().any(|t| overlaps(t, &candidate)) {
            return Ok(candidate);
        }
        at += 256;
    }
    Err(NetworkError::Conflict(
        "no free subnet left in 10.89.0.0–10.254.255.0; give one with --subnet".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_chosen_clear_of_what_is_taken() {
        let net = |s: &str| s.parse::<Ipv4Net>().unwrap();
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.89.3.0/24")));
        assert!(!overlaps(&net("10.89.2.0/24"), &net("10.89.3.0/24")));
        let mut taken = NetworkRecord {
            format: FORMAT,
            id: "0".repeat(64),
            name: "a".into(),
            bridge: "dh-0".into(),
            subnet: net("10.89.0.0/24"),
            gateway: "10.89.0.1".parse().unwrap(),
            ip_range: None,
            internal: false,
            labels: BTreeMap::new(),
            created: 0,
            mark: String::new(),
        };
        let first = free_subnet(std::slice::from_ref(&taken)).unwrap();
        assert!(!overlaps(&first, &taken.subnet));
        assert!(!host_routes().iter().any(|r| overlaps(r, &first)));
        taken.subnet = net("10.0.0.0/8");
        assert!(free_subnet(&[taken]).is_err(), "the whole pool taken");
        assert_eq!(
            first_host(&net("10.89.7.0/24")),
            "10.89.7.1".parse::<Ipv4Addr>().unwrap()
        );
    }
}
