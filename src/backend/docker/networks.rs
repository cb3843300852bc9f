//! Networks on a Docker-compatible endpoint, and the containers attached to them.

use super::*;
use crate::backend::prelude::*;

impl NetworkBackend for DockerBackend {
    async fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        let list = self
            .api()
            .await?
            .list_networks(None::<q::ListNetworksOptions>)
            .await
            .map_err(|e| self.err(e, None))?;
        // The list API leaves out members; take them from the running containers.
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in self.list_containers(false).await? {
            for n in &c.networks {
                members.entry(n.clone()).or_default().push(c.name.clone());
            }
        }
        Ok(list
            .into_iter()
            .map(|n| {
                let names = n
                    .name
                    .as_ref()
                    .and_then(|name| members.get(name))
                    .cloned()
                    .unwrap_or_default();
                convert::network(network_as_inspect(n), names)
            })
            .collect())
    }

    async fn inspect_network(&self, reference: &str) -> Result<NetworkSummary> {
        let n = self
            .api()
            .await?
            .inspect_network(reference, None)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, reference)))?;
        Ok(convert::network(n, Vec::new()))
    }

    async fn create_network(&self, spec: NetworkSpec) -> Result<String> {
        let ipam = spec.subnet.as_ref().map(|subnet| m::Ipam {
            config: Some(vec![m::IpamConfig {
                subnet: Some(subnet.clone()),
                gateway: spec.gateway.clone(),
                ip_range: spec.ip_range.clone(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let request = m::NetworkCreateRequest {
            name: spec.name,
            driver: spec.driver,
            internal: Some(spec.internal),
            labels: Some(spec.labels.into_iter().collect()),
            ipam,
            ..Default::default()
        };
        let r = self
            .api()
            .await?
            .create_network(request)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(r.id)
    }

    async fn remove_network(&self, reference: &str) -> Result<()> {
        self.api()
            .await?
            .remove_network(reference)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, reference)))
    }

    async fn prune_networks(&self) -> Result<PruneReport> {
        let r = self
            .api()
            .await?
            .prune_networks(None)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r.networks_deleted.unwrap_or_default(),
            space_reclaimed: 0,
        })
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        options: ConnectOptions,
    ) -> Result<()> {
        let endpoint =
            (options.ip.is_some() || !options.aliases.is_empty()).then(|| m::EndpointSettings {
                ipam_config: options.ip.map(|ip| m::EndpointIpamConfig {
                    ipv4_address: Some(ip),
                    ..Default::default()
                }),
                aliases: (!options.aliases.is_empty()).then_some(options.aliases),
                ..Default::default()
            });
        let request = m::NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: endpoint,
        };
        self.api()
            .await?
            .connect_network(network, request)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, network)))
    }

    async fn disconnect_network(&self, network: &str, container: &str, force: bool) -> Result<()> {
        let request = m::NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(force),
        };
        self.api()
            .await?
            .disconnect_network(network, request)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Network, network)))
    }
}
