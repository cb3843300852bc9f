//! Named volumes on a Docker-compatible endpoint.

use super::*;
use crate::backend::prelude::*;

impl VolumeBackend for DockerBackend {
    async fn list_volumes(&self) -> Result<Vec<VolumeSummary>> {
        let list = self
            .api()
            .await?
            .list_volumes(None::<q::ListVolumesOptions>)
            .await
            .map_err(|e| self.err(e, None))?;
        let users = Self::container_names_by_volume(&self.raw_containers().await?);
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let used_by = users.get(&v.name).cloned().unwrap_or_default();
                convert::volume(v, used_by)
            })
            .collect())
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeSummary> {
        let v = self
            .api()
            .await?
            .inspect_volume(name)
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Volume, name)))?;
        let users = Self::container_names_by_volume(&self.raw_containers().await?);
        let used_by = users.get(&v.name).cloned().unwrap_or_default();
        Ok(convert::volume(v, used_by))
    }

    async fn create_volume(&self, spec: VolumeSpec) -> Result<VolumeSummary> {
        let request = m::VolumeCreateRequest {
            name: spec.name,
            driver: spec.driver,
            labels: Some(spec.labels.into_iter().collect()),
            driver_opts: Some(spec.options.into_iter().collect()),
            ..Default::default()
        };
        let v = self
            .api()
            .await?
            .create_volume(request)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(convert::volume(v, Vec::new()))
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let o = q::RemoveVolumeOptionsBuilder::default()
            .force(force)
            .build();
        self.api()
            .await?
            .remove_volume(name, Some(o))
            .await
            .map_err(|e| self.err(e, subject(ObjectKind::Volume, name)))
    }

    async fn prune_volumes(&self) -> Result<PruneReport> {
        let r = self
            .api()
            .await?
            .prune_volumes(None::<q::PruneVolumesOptions>)
            .await
            .map_err(|e| self.err(e, None))?;
        Ok(PruneReport {
            deleted: r.volumes_deleted.unwrap_or_default(),
            space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }
}
