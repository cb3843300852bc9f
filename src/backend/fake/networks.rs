//! Demo networks and their containers.

use super::*;
use crate::backend::prelude::*;

impl NetworkBackend for FakeBackend {
    async fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        let st = self.state();
        Ok(st.networks.iter().map(|n| st.network_summary(n)).collect())
    }

    async fn inspect_network(&self, reference: &str) -> Result<NetworkSummary> {
        let st = self.state();
        Ok(st.network_summary(&st.networks[st.network_index(reference)?]))
    }

    async fn create_network(&self, spec: NetworkSpec) -> Result<String> {
        if !valid_name(&spec.name) {
            return Err(BackendError::invalid(format!(
                "invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                spec.name
            )));
        }
        let driver = spec.driver.unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(BackendError::invalid(format!(
                "unknown network driver {driver:?}: user-defined networks use \"bridge\""
            )));
        }
        let now = self.now();
        let id = {
            let mut st = self.state();
            if st.networks.iter().any(|n| n.name == spec.name) {
                return Err(BackendError::conflict(format!(
                    "network with name {} already exists",
                    spec.name
                )));
            }
            let subnet = match spec.subnet {
                Some(s) => {
                    let ok = s.split_once('/').is_some_and(|(ip, len)| {
                        ip.parse::<std::net::Ipv4Addr>().is_ok()
                            && len.parse::<u8>().is_ok_and(|l| l <= 30)
                    });
                    if !ok {
                        return Err(BackendError::invalid(format!(
                            "invalid subnet {s:?}: write an IPv4 network in CIDR notation such as 10.10.0.0/24"
                        )));
                    }
                    s
                }
                None => {
                    let used = st.networks.len() as u8;
                    format!("172.{}.0.0/16", 18 + used)
                }
            };
            let gateway = spec.gateway.unwrap_or_else(|| {
                let base = subnet.split('/').next().unwrap_or("");
                let mut parts: Vec<&str> = base.split('.').collect();
                parts.pop();
                format!("{}.1", parts.join("."))
            });
            let id = hex_id(&format!("network:{}:{}", spec.name, st.seq));
            st.seq += 1;
            st.networks.push(FakeNetwork {
                id: id.clone(),
                name: spec.name.clone(),
                driver,
                subnet: Some(subnet),
                gateway: Some(gateway),
                internal: spec.internal,
                created: now,
                labels: spec.labels,
            });
            id
        };
        self.emit(ObjectKind::Network, "create", &id, Some(&spec.name));
        Ok(id)
    }

    async fn remove_network(&self, reference: &str) -> Result<()> {
        let (id, name) = {
            let mut st = self.state();
            let i = st.network_index(reference)?;
            let summary = st.network_summary(&st.networks[i]);
            if summary.is_builtin() {
                return Err(BackendError::conflict(format!(
                    "{} is a pre-defined network and cannot be removed",
                    summary.name
                )));
            }
            if !summary.containers.is_empty() {
                return Err(BackendError::conflict(format!(
                    "network {} has active endpoints ({}); stop or disconnect those containers first",
                    summary.name,
                    summary.containers.join(", ")
                )));
            }
            let n = st.networks.remove(i);
            (n.id, n.name)
        };
        self.emit(ObjectKind::Network, "destroy", &id, Some(&name));
        Ok(())
    }

    async fn prune_networks(&self) -> Result<PruneReport> {
        let removed: Vec<FakeNetwork> = {
            let mut st = self.state();
            let unused: Vec<String> = st
                .networks
                .iter()
                .map(|n| st.network_summary(n))
                .filter(|n| !n.is_builtin() && n.containers.is_empty())
                .map(|n| n.id)
                .collect();
            let (gone, kept) = st.networks.drain(..).partition(|n| unused.contains(&n.id));
            st.networks = kept;
            gone
        };
        for n in &removed {
            self.emit(ObjectKind::Network, "destroy", &n.id, Some(&n.name));
        }
        Ok(PruneReport {
            space_reclaimed: 0,
            deleted: removed.into_iter().map(|n| n.name).collect(),
        })
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        _options: ConnectOptions,
    ) -> Result<()> {
        let (net_id, net_name) = {
            let st = self.state();
            let n = &st.networks[st.network_index(network)?];
            (n.id.clone(), n.name.clone())
        };
        self.change_container(container, "connect", |c, _| {
            if c.summary.networks.contains(&net_name) {
                return Err(BackendError::conflict(format!(
                    "container {} is already attached to network {net_name}",
                    c.summary.name
                )));
            }
            c.summary.networks.push(net_name.clone());
            Ok(true)
        })?;
        self.emit(ObjectKind::Network, "connect", &net_id, Some(&net_name));
        Ok(())
    }

    async fn disconnect_network(&self, network: &str, container: &str, _force: bool) -> Result<()> {
        let (net_id, net_name) = {
            let st = self.state();
            let n = &st.networks[st.network_index(network)?];
            (n.id.clone(), n.name.clone())
        };
        self.change_container(container, "disconnect", |c, _| {
            if !c.summary.networks.contains(&net_name) {
                return Err(BackendError::conflict(format!(
                    "container {} is not attached to network {net_name}",
                    c.summary.name
                )));
            }
            c.summary.networks.retain(|n| *n != net_name);
            Ok(true)
        })?;
        self.emit(ObjectKind::Network, "disconnect", &net_id, Some(&net_name));
        Ok(())
    }
}
