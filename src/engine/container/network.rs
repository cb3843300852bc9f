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
        let ports = network::plug(&network, &endpoint, netns.as_fd())
            .and_then(|()| store.publish(&network, &mut endpoint, &config.ports));
        let ports = match ports {
            Ok(p) => p,
            Err(e) => {
                store.detach(&network, &config.id);
                return Err(e.into());
            }
        };
        let dns = match Dns::bind(
            netns.as_fd(),
            store.clone(),
            network.clone(),
            &upstreams(config),
        ) {
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

    /// Leaves the network: address, rules and record go; the namespace, and with it the veth
    /// pair, go as this file closes (the container's processes are gone by now).
    pub fn leave(self) {
        self.store.detach(&self.network, &self.endpoint.container);
    }
}

/// Takes back a container's endpoint on its network (at `rm`, for what a dead monitor left).
pub fn forget(store: &NetworkStore, config: &ContainerConfig) {
    if !on_bridge(config) {
        return;
    }
    if let Ok(n) = store.resolve(&config.network) {
        store.detach(&n, &config.id);
    }
}
