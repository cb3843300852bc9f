//! Networks on the embedded engine: `host` and `none`, which every engine has, and the
//! user-defined bridge networks of the network store, with the containers on each; a
//! container's endpoint for inspect. A container joins its network at create (the monitor
//! plugs it in at each start); a running one can join more (`network connect`) and leave
//! them.

use super::*;
use crate::backend::prelude::*;
use crate::engine::network::{Endpoint, NetworkError, NetworkRecord, NetworkStore, NewNetwork};

impl From<NetworkError> for BackendError {
    fn from(e: NetworkError) -> BackendError {
        match e {
            NetworkError::NotFound(r) => BackendError::not_found(ObjectKind::Network, r),
            NetworkError::Ambiguous {
                reference,
                candidates,
            } => BackendError::Ambiguous {
                kind: ObjectKind::Network,
                reference,
                candidates: candidates.join(", "),
            },
            NetworkError::Invalid(m) => BackendError::invalid(m),
            NetworkError::Conflict(m) => BackendError::conflict(m),
            e @ NetworkError::InUse { .. } => BackendError::conflict(e.to_string()),
            other => BackendError::Internal {
                message: other.to_string(),
                source: Some(Box::new(other)),
            },
        }
    }
}

/// A bridge network as the front ends see it.
fn summary(n: NetworkRecord, endpoints: Vec<Endpoint>) -> NetworkSummary {
    let prefix = n.subnet.prefix_len();
    NetworkSummary {
        containers: endpoints.iter().map(|e| e.name.clone()).collect(),
        addresses: endpoints
            .iter()
            .map(|e| (e.name.clone(), format!("{}/{prefix}", e.ip)))
            .collect(),
        id: n.id,
        name: n.name,
        driver: "bridge".into(),
        scope: "local".into(),
        subnet: Some(n.subnet.to_string()),
        gateway: Some(n.gateway.to_string()),
        internal: n.internal,
        created: n.created,
        labels: n.labels,
    }
}

impl EngineBackend {
    fn networks(&self) -> NetworkStore {
        NetworkStore::new(&self.inner.root)
    }

    /// The container's network and its endpoint there, while it has one.
    pub(super) fn endpoint_of(
        &self,
        config: &crate::engine::container::record::ContainerConfig,
    ) -> Option<(NetworkRecord, crate::engine::network::Endpoint)> {
        self.endpoint_among(&self.networks().list().ok()?, config)
    }

    /// [`Self::endpoint_of`] with the networks read already (a listing reads them once, not
    /// once per container).
    pub(super) fn endpoint_among(
        &self,
        networks: &[NetworkRecord],
        config: &crate::engine::container::record::ContainerConfig,
    ) -> Option<(NetworkRecord, crate::engine::network::Endpoint)> {
        if !crate::engine::container::network::on_bridge(config) {
            return None;
        }
        let n = networks.iter().find(|n| n.name == config.network)?;
        let ep = self.networks().endpoint(n, &config.id)?;
        Some((n.clone(), ep))
    }

    /// The containers on network `n`: those with an endpoint there (running, or connected
    /// since).
    fn members(&self, n: &NetworkRecord) -> Vec<Endpoint> {
        self.networks().endpoints(n)
    }
}

impl NetworkBackend for EngineBackend {
    async fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        self.blocking(|me| {
            let list = me.runtime().list()?;
            let mut out: Vec<NetworkSummary> = ["host", "none"]
                .into_iter()
                .map(|name| convert_containers::builtin_network(name, &list))
                .collect();
            for n in me.networks().list()? {
                let members = me.members(&n);
                out.push(summary(n, members));
            }
            Ok(out)
        })
        .await
    }

    async fn inspect_network(&self, reference: &str) -> Result<NetworkSummary> {
        let reference = reference.to_string();
        self.blocking(move |me| {
            let list = me.runtime().list()?;
            if let Some(name) = ["host", "none"].into_iter().find(|n| *n == reference) {
                return Ok(convert_containers::builtin_network(name, &list));
            }
            let n = me.networks().resolve(&reference)?;
            let members = me.members(&n);
            Ok(summary(n, members))
        })
        .await
    }

    async fn create_network(&self, spec: NetworkSpec) -> Result<String> {
        if let Some(d) = spec.driver.as_deref().filter(|d| *d != "bridge") {
            return Err(BackendError::invalid(format!(
                "network driver {d:?}: the embedded engine makes bridge networks (and has host and none)"
            )));
        }
        self.blocking(move |me| {
            let store = me.networks();
            let lock = store.lock()?;
            let n = store.create(
                &lock,
                &NewNetwork {
                    name: spec.name,
                    subnet: spec.subnet,
                    gateway: spec.gateway,
                    ip_range: spec.ip_range,
                    internal: spec.internal,
                    labels: spec.labels,
                },
            )?;
            drop(lock);
            me.emit(ObjectKind::Network, "create", &n.id, Some(&n.name));
            Ok(n.id)
        })
        .await
    }

    async fn remove_network(&self, reference: &str) -> Result<()> {
        if crate::engine::network::BUILTIN.contains(&reference) {
            return Err(BackendError::conflict(format!(
                "{reference} is a pre-defined network and cannot be removed"
            )));
        }
        let reference = reference.to_string();
        self.blocking(move |me| {
            let store = me.networks();
            let lock = store.lock()?;
            let n = store.resolve(&reference)?;
            let list = me.runtime().list()?;
            let mut users: Vec<String> = list
                .iter()
                .filter(|s| s.config.network == n.name)
                .map(|s| s.config.name.clone())
                .collect();
            for m in me.members(&n) {
                if !users.contains(&m.name) {
                    users.push(m.name);
                }
            }
            if !users.is_empty() {
                return Err(NetworkError::InUse {
                    name: n.name,
                    users,
                }
                .into());
            }
            store.remove(&lock, &n)?;
            drop(lock);
            me.emit(ObjectKind::Network, "destroy", &n.id, Some(&n.name));
            Ok(())
        })
        .await
    }

    async fn prune_networks(&self) -> Result<PruneReport> {
        self.blocking(|me| {
            let store = me.networks();
            let lock = store.lock()?;
            let list = me.runtime().list()?;
            let mut deleted = Vec::new();
            for n in store.list()? {
                if n.name == crate::engine::network::DEFAULT
                    || list.iter().any(|s| s.config.network == n.name)
                    || !store.endpoints(&n).is_empty()
                {
                    continue;
                }
                store.remove(&lock, &n)?;
                me.emit(ObjectKind::Network, "destroy", &n.id, Some(&n.name));
                deleted.push(n.name);
            }
            Ok(PruneReport {
                deleted,
                space_reclaimed: 0,
            })
        })
        .await
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        options: ConnectOptions,
    ) -> Result<()> {
        let ip = options
            .ip
            .as_deref()
            .map(crate::model::parse::ipv4)
            .transpose()?;
        let (network, container) = (network.to_string(), container.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&container)?;
            let snap = me.runtime().get(&id)?;
            let pid = match (snap.state.status.model().is_alive(), snap.state.pid) {
                (true, Some(pid)) => pid,
                _ => {
                    return Err(BackendError::invalid(format!(
                        "container {} is not running: on the embedded engine a stopped container joins its network when it is created (--network NAME); start it, then connect it",
                        snap.config.name
                    )));
                }
            };
            if !crate::engine::container::network::on_bridge(&snap.config) {
                return Err(BackendError::invalid(format!(
                    "container {} has --network {}: only a container on a bridge network can join another",
                    snap.config.name, snap.config.network
                )));
            }
            crate::engine::container::network::connect(
                &me.networks(),
                &snap.config,
                pid,
                &network,
                &options.aliases,
                ip,
            )?;
            me.emit(ObjectKind::Network, "connect", &network, Some(&snap.config.name));
            Ok(())
        })
        .await
    }

    async fn disconnect_network(&self, network: &str, container: &str, _force: bool) -> Result<()> {
        let (network, container) = (network.to_string(), container.to_string());
        self.blocking(move |me| {
            let id = me.resolve_container(&container)?;
            let snap = me.runtime().get(&id)?;
            crate::engine::container::network::disconnect(&me.networks(), &snap.config, &network)?;
            me.emit(
                ObjectKind::Network,
                "disconnect",
                &network,
                Some(&snap.config.name),
            );
            Ok(())
        })
        .await
    }
}
