//! A container on a bridge network, from its monitor's side: before the container is made,
//! a network namespace of its own (held by a file the monitor keeps open, never bind-mounted:
//! it goes with the last process in it, so a killed monitor or a reboot leaves no namespace
//! and no veth behind), the network's bridge brought up if it is missing, an address and an
//! endpoint record, and the veth into the bridge. The runtime joins the namespace through
//! `/proc/<monitor>/fd/<n>`. Left when the monitor's last run ends; what a dead monitor left
//! is taken back by the next start (the endpoint is replaced) or by `rm`. The attachment also
//! serves the container's names (`network::dns`) from the monitor's poll loop.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::ContainerError;
use super::record::ContainerConfig;
use crate::engine::network::dns::Dns;
use crate::engine::network::{self, Endpoint, NetworkRecord, NetworkStore};

/// What joining a network gave the container.
pub struct Attachment {
    store: NetworkStore,
    network: NetworkRecord,
    endpoint: Endpoint,
    netns: OwnedFd,
    /// The sockets that hold its published host ports.
    _ports: Vec<OwnedFd>,
    /// Its name server on 127.0.0.11.
    dns: Dns,
}

impl super::relay::Service for Attachment {
    fn sources(&self) -> Vec<BorrowedFd<'_>> {
        self.dns.sources().to_vec()
    }

    fn ready(&mut self, i: usize) {
        self.dns.ready(i);
    }
}

/// Where names the network does not know go: the container's `--dns` servers, else the
/// host's (loopback ones too: the forwarding socket is in the host's namespace).
fn upstreams(config: &ContainerConfig) -> Vec<std::net::IpAddr> {
    let given: Vec<std::net::IpAddr> = config.dns.iter().filter_map(|d| d.parse().ok()).collect();
    if !given.is_empty() {
        return given;
    }
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(
            |l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["nameserver", addr, ..] => addr.parse().ok(),
                _ => None,
            },
        )
        .collect()
}

/// Whether the container's network is a bridge network (not `none` or `host`).
pub fn on_bridge(config: &ContainerConfig) -> bool {
    !matches!(config.network.as_str(), "none" | "host" | "")
}

impl Attachment {
    /// Joins the container's bridge network. Anything made is taken back on failure.
    pub fn join(
        store: NetworkStore,
        config: &ContainerConfig,
    ) -> Result<Attachment, ContainerError> {
        let network = store.resolve(&config.network)?;
        store.ensure_bridge(&network)?;
        let netns = network::netlink::new_namespace()
            .map_err(|e| super::runtime("cannot make the container's network namespace", e))?;
        let mut endpoint = store.attach(
            &network,
            &config.id,
            &config.name,
            &config.aliases,
            config.ip,
        )?;
        let ports = network::plug(&network, &endpoint, netns.as_fd(), "eth0", true)
            .and_then(|()| store.publish(&network, &mut endpoint, &config.ports));
        let ports = match ports {
            Ok(p) => p,
            Err(e) => {
                store.detach(&network, &config.id);
                return Err(e.into());
            }
        };
        let dns = match Dns::bind(netns.as_fd(), store.clone(), &config.id, &upstreams(config)) {
            Ok(d) => d,
            Err(e) => {
                store.detach(&network, &config.id);
                return Err(super::runtime(
                    "cannot serve names on 127.0.0.11 in the container",
                    e,
                ));
            }
        };
        Ok(Attachment {
            store,
            network,
            endpoint,
            netns,
            _ports: ports,
            dns,
        })
    }

    /// The path the runtime opens to join the namespace.
    pub fn netns_path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.netns.as_raw_fd())
    }

    /// The container's endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The network.
    pub fn network(&self) -> &NetworkRecord {
        &self.network
    }

    /// Leaves its networks (the first and any it was connected to since): addresses, rules
    /// and records go; the namespace, and with it the veth pairs, go as this file closes
    /// (the container's processes are gone by now).
    pub fn leave(self) {
        forget(&self.store, &self.endpoint.container);
    }
}

/// Takes back a container's endpoints on every network (at the end of its run, and at `rm`
/// for what a dead monitor left).
pub fn forget(store: &NetworkStore, container: &str) {
    for (n, _) in store.networks_of(container) {
        store.detach(&n, container);
    }
}

impl super::lifecycle::Runtime {
    /// The endpoints whose container is gone or has no monitor any more (after a reboot, or
    /// a monitor killed with its container): their addresses are held and their names resolve
    /// for nothing.
    pub fn stale_endpoints(&self) -> Result<Vec<(NetworkRecord, Endpoint)>, ContainerError> {
        let store = NetworkStore::new(&self.root);
        let mut stale = Vec::new();
        for n in store.list()? {
            for ep in store.endpoints(&n) {
                let live = self
                    .containers
                    .state(&ep.container)
                    .is_ok_and(|s| Self::monitor_alive(&s));
                if !live {
                    stale.push((n.clone(), ep));
                }
            }
        }
        Ok(stale)
    }

    /// Takes back the stale endpoints ([`Self::stale_endpoints`]): their addresses are free
    /// again and their names no longer resolve. Returns them.
    pub fn forget_stale_endpoints(&self) -> Result<Vec<(NetworkRecord, Endpoint)>, ContainerError> {
        let store = NetworkStore::new(&self.root);
        let stale = self.stale_endpoints()?;
        for (n, ep) in &stale {
            store.detach(n, &ep.container);
        }
        Ok(stale)
    }
}

/// Connects the running container whose init is `pid` to another network: an endpoint
/// there, and the next free `ethN` in its namespace (its first network keeps the default
/// route). Refused when it is on that network already.
pub fn connect(
    store: &NetworkStore,
    config: &ContainerConfig,
    pid: i32,
    network: &str,
    aliases: &[String],
    ip: Option<std::net::Ipv4Addr>,
) -> Result<(), ContainerError> {
    let n = store.resolve(network)?;
    if let Some(ip) = ip {
        n.check_address(ip)?;
    }
    if store.endpoint(&n, &config.id).is_some() {
        return Err(ContainerError::Conflict(format!(
            "endpoint with name {} already exists in network {}",
            config.name, n.name
        )));
    }
    store.ensure_bridge(&n)?;
    let netns: OwnedFd = std::fs::File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| super::runtime("cannot open the container's network namespace", e))?
        .into();
    let ifname = free_interface(netns.as_fd())?;
    let endpoint = store.attach(&n, &config.id, &config.name, aliases, ip)?;
    if let Err(e) = network::plug(&n, &endpoint, netns.as_fd(), &ifname, false) {
        store.detach(&n, &config.id);
        return Err(e.into());
    }
    Ok(())
}

/// Disconnects the container from a network: its interface there goes at once (deleted, so
/// the container stops seeing the network now), and its endpoint with it.
pub fn disconnect(
    store: &NetworkStore,
    config: &ContainerConfig,
    network: &str,
) -> Result<(), ContainerError> {
    let n = store.resolve(network)?;
    let Some(ep) = store.endpoint(&n, &config.id) else {
        return Err(ContainerError::Conflict(format!(
            "container {} is not connected to network {}",
            config.name, n.name
        )));
    };
    network::unlink(&n, &ep)?;
    store.detach(&n, &config.id);
    Ok(())
}

/// The first `ethN` not yet in the namespace.
fn free_interface(netns: BorrowedFd<'_>) -> Result<String, ContainerError> {
    let mut nl = network::netlink::Netlink::open_in(netns)
        .map_err(|e| super::runtime("cannot enter the container's network namespace", e))?;
    for i in 0..64 {
        let name = format!("eth{i}");
        match nl.link_index(&name) {
            Ok(None) => return Ok(name),
            Ok(Some(_)) => {}
            Err(e) => return Err(super::runtime("cannot list the container's links", e)),
        }
    }
    Err(ContainerError::Conflict(
        "the container has 64 network interfaces already".into(),
    ))
}
