//! Volumes on the embedded engine: the volume store's records with the containers that use
//! each (sizes measured for inspect and `system df`, not for every list).

use super::*;
use crate::backend::prelude::*;
use crate::engine::volume::{VolumeError, VolumeRecord};

impl From<VolumeError> for BackendError {
    fn from(e: VolumeError) -> BackendError {
        match e {
            VolumeError::NotFound(name) => BackendError::not_found(ObjectKind::Volume, name),
            VolumeError::Invalid(m) => BackendError::invalid(m),
            e @ VolumeError::InUse { .. } => BackendError::conflict(e.to_string()),
            other => BackendError::Internal {
                message: other.to_string(),
                source: Some(Box::new(other)),
            },
        }
    }
}

/// A volume record as the front ends see it.
fn summary(
    me: &EngineBackend,
    v: VolumeRecord,
    used_by: Vec<String>,
    sized: bool,
) -> VolumeSummary {
    let store = me.runtime().volumes();
    VolumeSummary {
        mountpoint: store.data(&v.name).display().to_string(),
        size: sized.then(|| store.size(&v.name)),
        name: v.name,
        driver: "local".into(),
        created: v.created,
        labels: v.labels,
        used_by,
        options: v.options,
        anonymous: v.anonymous,
    }
}

impl EngineBackend {
    /// Every volume with its users; `sized` measures each.
    pub(super) fn volume_list(&self, sized: bool) -> Result<Vec<VolumeSummary>> {
        let rt = self.runtime();
        let mut users = rt.volume_users()?;
        let records = rt.volumes().list()?;
        Ok(records
            .into_iter()
            .map(|v| {
                let used = users.remove(&v.name).unwrap_or_default();
                summary(self, v, used, sized)
            })
            .collect())
    }
}

impl VolumeBackend for EngineBackend {
    async fn list_volumes(&self) -> Result<Vec<VolumeSummary>> {
        self.blocking(|me| me.volume_list(false)).await
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeSummary> {
        let name = name.to_string();
        self.blocking(move |me| {
            let rt = me.runtime();
            let record = rt.volumes().get(&name)?;
            let used = rt.volume_users()?.remove(&name).unwrap_or_default();
            Ok(summary(me, record, used, true))
        })
        .await
    }

    async fn create_volume(&self, spec: VolumeSpec) -> Result<VolumeSummary> {
        if let Some(d) = spec.driver.as_deref().filter(|d| *d != "local") {
            return Err(BackendError::invalid(format!(
                "volume driver {d:?}: the embedded engine has the local driver only"
            )));
        }
        self.blocking(move |me| {
            let rt = me.runtime();
            let record = rt.create_volume(spec.name.as_deref(), spec.labels, spec.options)?;
            let used = rt.volume_users()?.remove(&record.name).unwrap_or_default();
            Ok(summary(me, record, used, false))
        })
        .await
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let name = name.to_string();
        self.blocking(move |me| Ok(me.runtime().remove_volume(&name, force)?))
            .await
    }

    async fn prune_volumes(&self) -> Result<PruneReport> {
        self.blocking(|me| {
            let (deleted, space_reclaimed) = me.runtime().prune_volumes(true)?;
            Ok(PruneReport {
                deleted,
                space_reclaimed,
            })
        })
        .await
    }
}
