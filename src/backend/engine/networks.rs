//! Networks on the embedded engine: `host` and `none`, with the containers on each.

use super::*;
use crate::backend::prelude::*;

impl NetworkBackend for EngineBackend {
    async fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        self.blocking(|me| {
            let list = me.runtime().list()?;
            Ok(["host", "none"]
                .into_iter()
                .map(|name| convert_containers::builtin_network(name, &list))
                .collect())
        })
        .await
    }

    async fn inspect_network(&self, reference: &str) -> Result<NetworkSummary> {
        let networks = self.list_networks().await?;
        networks
            .into_iter()
            .find(|n| n.name == reference || (reference.len() >= 3 && n.id.starts_with(reference)))
            .ok_or_else(|| BackendError::NotFound {
                kind: ObjectKind::Network,
                reference: reference.to_string(),
            })
    }

    unsupported! {
        fn create_network(&self, spec: NetworkSpec) -> String;
        fn remove_network(&self, reference: &str) -> ();
        fn prune_networks(&self) -> PruneReport;
        fn connect_network(&self, network: &str, container: &str) -> ();
        fn disconnect_network(&self, network: &str, container: &str, force: bool) -> ();
    }
}
