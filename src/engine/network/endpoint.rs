//! A container's place on a network: its address, claimed by making
//! `networks/<id>/ips/<address>` with O_EXCL (two starts never get one address, with no lock
//! to wait for), its record `networks/<id>/endpoints/<container id>.json` (name, aliases,
//! address, MAC: what inspect shows and name lookups read), and its link — a veth pair from
//! the bridge to `eth0` in the container's network namespace, with the address, the default
//! route (none on an internal network) and loopback up. Taking the endpoint back is
//! idempotent: it also serves for what a dead monitor left; the link itself goes with the
//! container's network namespace.

use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::netlink::Netlink;
use super::{NetworkError, NetworkRecord, NetworkStore, host};
use crate::engine::store::write_atomic;

/// A container on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The container's id.
    pub container: String,
    /// The container's name.
    pub name: String,
    /// Other names it answers to on this network.
    pub aliases: Vec<String>,
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its MAC address (Docker's rule: 02:42 and the address).
    pub mac: String,
    /// The host's end of its veth pair.
    pub host_link: String,
    /// The ports it publishes, as taken (a free port chosen where none was given).
    #[serde(default)]
    pub ports: Vec<super::PublishedPort>,
}

impl NetworkStore {
    fn ips(&self, n: &NetworkRecord) -> PathBuf {
        self.dir.join(&n.id).join("ips")
    }

    fn endpoint_file(&self, n: &NetworkRecord, container: &str) -> PathBuf {
        self.dir
            .join(&n.id)
            .join("endpoints")
            .join(format!("{container}.json"))
    }

    /// The containers on the network.
    pub fn endpoints(&self, n: &NetworkRecord) -> Vec<Endpoint> {
        let Ok(entries) = std::fs::read_dir(self.dir.join(&n.id).join("endpoints")) else {
            return Vec::new();
        };
        let mut out: Vec<Endpoint> = entries
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|t| serde_json::from_slice(&t).ok())
            .collect();
        out.sort_by_key(|e| e.ip);
        out
    }

    /// The networks the container has an endpoint on.
    pub fn networks_of(&self, container: &str) -> Vec<(NetworkRecord, Endpoint)> {
        self.list()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| self.endpoint(&n, container).map(|ep| (n, ep)))
            .collect()
    }

    /// The container's endpoint on the network, if it has one.
    pub fn endpoint(&self, n: &NetworkRecord, container: &str) -> Option<Endpoint> {
        let text = std::fs::read(self.endpoint_file(n, container)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Gives the container an address on the network (`requested`, or the first free one
    /// of the range) and records its endpoint. What an earlier run of it left is taken back
    /// first.
    pub fn attach(
        &self,
        n: &NetworkRecord,
        container: &str,
        name: &str,
        aliases: &[String],
        requested: Option<Ipv4Addr>,
    ) -> Result<Endpoint, NetworkError> {
        self.detach(n, container);
        let ips = self.ips(n);
        let endpoints = self.dir.join(&n.id).join("endpoints");
        for d in [&ips, &endpoints] {
            std::fs::create_dir_all(d).map_err(host(&n.name, "cannot create its address book"))?;
        }
        let claim = |ip: Ipv4Addr| -> std::io::Result<bool> {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(ips.join(ip.to_string()))
            {
                Ok(mut f) => {
                    std::io::Write::write_all(&mut f, container.as_bytes())?;
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            }
        };
        let ip = match requested {
            Some(ip) => {
                n.check_address(ip)?;
                if !claim(ip).map_err(host(&n.name, "cannot claim an address"))? {
                    let holder =
                        std::fs::read_to_string(ips.join(ip.to_string())).unwrap_or_default();
                    return Err(NetworkError::Conflict(format!(
                        "address {ip} on network {} is in use by container {}",
                        n.name,
                        &holder[..holder.len().min(12)]
                    )));
                }
                ip
            }
            None => {
                let range = n.ip_range.unwrap_or(n.subnet);
                let mut found = None;
                for ip in range.hosts() {
                    if ip == n.gateway || !n.subnet.contains(&ip) || ip == n.subnet.broadcast() {
                        continue;
                    }
                    if claim(ip).map_err(host(&n.name, "cannot claim an address"))? {
                        found = Some(ip);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    NetworkError::Conflict(format!(
                        "network {} has no free address left in {range}",
                        n.name
                    ))
                })?
            }
        };
        let o = ip.octets();
        let endpoint = Endpoint {
            container: container.to_string(),
            name: name.to_string(),
            aliases: aliases.to_vec(),
            ip,
            mac: format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3]),
            // Unique on the host for a container on several networks.
            host_link: format!(
                "vh{}{}",
                &container[..container.len().min(7)],
                &n.id[..n.id.len().min(6)]
            ),
            ports: Vec::new(),
        };
        let json = serde_json::to_vec(&endpoint).expect("an endpoint serializes");
        if let Err(e) = write_atomic(&self.endpoint_file(n, container), &json) {
            let _ = std::fs::remove_file(ips.join(ip.to_string()));
            return Err(e.into());
        }
        Ok(endpoint)
    }

    /// Publishes the endpoint's ports: each host port taken with a socket the caller keeps
    /// (returned), recorded in the endpoint, then its DNAT rule added — recorded first, so
    /// `detach` finds every rule even after a crash.
    pub fn publish(
        &self,
        n: &NetworkRecord,
        ep: &mut Endpoint,
        requests: &[super::PortRequest],
    ) -> Result<Vec<std::os::fd::OwnedFd>, NetworkError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let (ports, held) = super::ports::reserve(&n.name, requests)?;
        ep.ports = ports;
        let json = serde_json::to_vec(&ep).expect("an endpoint serializes");
        write_atomic(&self.endpoint_file(n, &ep.container), &json)?;
        super::firewall::add_ports(&ep.ports, ep.ip, &n.mark)?;
        Ok(held)
    }

    /// Takes the container's endpoint, address and port rules back. Its veth pair goes with
    /// its network namespace, which the kernel destroys (in the background, in batches) once
    /// the container's processes are gone and its monitor closed the file: deleting the link
    /// by hand would wait out a grace period, tens of milliseconds a container. A link left by
    /// a run whose processes outlived their monitor is deleted by `plug` before the next one.
    pub fn detach(&self, n: &NetworkRecord, container: &str) {
        if let Some(ep) = self.endpoint(n, container) {
            super::firewall::remove_ports(&ep.ports, ep.ip, &n.mark);
            let _ = std::fs::remove_file(self.endpoint_file(n, container));
            let claim = self.ips(n).join(ep.ip.to_string());
            if std::fs::read_to_string(&claim).is_ok_and(|c| c == container) {
                let _ = std::fs::remove_file(claim);
            }
        }
    }
}

/// Links the endpoint: a veth pair from the network's bridge to `ifname` inside `netns`,
/// with its address and MAC, loopback up, and — with `default_route`, for a container's first
/// network — the default route through the gateway unless the network is internal.
pub fn plug(
    n: &NetworkRecord,
    ep: &Endpoint,
    netns: BorrowedFd<'_>,
    ifname: &str,
    default_route: bool,
) -> Result<(), NetworkError> {
    let err = |what: &str| host(&n.name, what.to_string());
    let mut nl = Netlink::open().map_err(err("cannot open netlink"))?;
    let bridge = super::required_link(&mut nl, &n.name, &n.bridge)?;
    if let Some(old) = nl
        .link_index(&ep.host_link)
        .map_err(err("cannot look up a link"))?
    {
        let _ = nl.delete_link(old);
    }
    let mac = parse_mac(&ep.mac);
    nl.add_veth(&ep.host_link, ifname, &mac, netns)
        .map_err(err("cannot create the container's veth pair"))?;
    let outer = super::required_link(&mut nl, &n.name, &ep.host_link)?;
    nl.set_up(outer, Some(bridge))
        .map_err(err("cannot put the container's link on the bridge"))?;
    // Hairpin: the container reaches its own published ports through the host's addresses
    // (the packet leaves by the port it came in by).
    std::fs::write(
        format!("/sys/class/net/{}/brport/hairpin_mode", ep.host_link),
        "1",
    )
    .map_err(err(
        "cannot let the container reach its own published ports",
    ))?;
    let mut inside =
        Netlink::open_in(netns).map_err(err("cannot enter the container's network namespace"))?;
    for (name, address) in [("lo", None), (ifname, Some(ep.ip))] {
        let index = super::required_link(&mut inside, &n.name, name)?;
        if let Some(ip) = address {
            inside
                .add_address(index, ip, n.subnet.prefix_len())
                .map_err(err("cannot give the container its address"))?;
        }
        inside
            .set_up(index, None)
            .map_err(err("cannot set the container's links up"))?;
    }
    if default_route && !n.internal {
        inside
            .add_default_route(n.gateway)
            .map_err(err("cannot give the container its default route"))?;
    }
    Ok(())
}

/// Deletes the endpoint's veth pair now (`network disconnect`: the container leaves the
/// network at once; its namespace lives on).
pub fn unlink(n: &NetworkRecord, ep: &Endpoint) -> Result<(), NetworkError> {
    let mut nl = Netlink::open().map_err(host(&n.name, "cannot open netlink"))?;
    if let Some(index) = nl
        .link_index(&ep.host_link)
        .map_err(host(&n.name, "cannot look up a link"))?
    {
        nl.delete_link(index)
            .map_err(host(&n.name, format!("cannot delete {}", ep.host_link)))?;
    }
    Ok(())
}

fn parse_mac(text: &str) -> Vec<u8> {
    text.split(':')
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}
