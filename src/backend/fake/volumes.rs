//! Demo volumes.

use super::*;
use crate::backend::prelude::*;

impl VolumeBackend for FakeBackend {
    async fn list_volumes(&self) -> Result<Vec<VolumeSummary>> {
        let st = self.state();
        Ok(st.volumes.iter().map(|v| st.volume_summary(v)).collect())
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeSummary> {
        let st = self.state();
        Ok(st.volume_summary(&st.volumes[st.volume_index(name)?]))
    }

    async fn create_volume(&self, spec: VolumeSpec) -> Result<VolumeSummary> {
        let now = self.now();
        let (summary, created) = {
            let mut st = self.state();
            st.seq += 1;
            let name = spec
                .name
                .unwrap_or_else(|| hex_id(&format!("volume:{}:{now}", st.seq)));
            if !valid_name(&name) {
                return Err(BackendError::invalid(format!(
                    "invalid volume name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )));
            }
            let driver = spec.driver.unwrap_or_else(|| "local".into());
            if driver != "local" {
                return Err(BackendError::invalid(format!(
                    "unknown volume driver {driver:?}: the demo offers only \"local\""
                )));
            }
            let created = match st.volume_index(&name) {
                Ok(_) => false,
                Err(_) => {
                    st.volumes.push(FakeVolume {
                        name: name.clone(),
                        driver,
                        created: now,
                        labels: spec.labels,
                        size: 0,
                    });
                    true
                }
            };
            let i = st.volume_index(&name)?;
            (st.volume_summary(&st.volumes[i]), created)
        };
        if created {
            self.emit(ObjectKind::Volume, "create", &summary.name, None);
        }
        Ok(summary)
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        {
            let mut st = self.state();
            let i = st.volume_index(name)?;
            let used_by = st.volume_summary(&st.volumes[i]).used_by;
            if !used_by.is_empty() && !force {
                return Err(BackendError::conflict(format!(
                    "volume {name} is in use by container {}; remove the container first",
                    used_by.join(", ")
                )));
            }
            st.volumes.remove(i);
        }
        self.emit(ObjectKind::Volume, "destroy", name, None);
        Ok(())
    }

    async fn prune_volumes(&self) -> Result<PruneReport> {
        let removed: Vec<FakeVolume> = {
            let mut st = self.state();
            let unused: Vec<String> = st
                .volumes
                .iter()
                .filter(|v| st.volume_summary(v).used_by.is_empty())
                .map(|v| v.name.clone())
                .collect();
            let (gone, kept) = st.volumes.drain(..).partition(|v| unused.contains(&v.name));
            st.volumes = kept;
            gone
        };
        for v in &removed {
            self.emit(ObjectKind::Volume, "destroy", &v.name, None);
        }
        Ok(PruneReport {
            space_reclaimed: removed.iter().map(|v| v.size).sum(),
            deleted: removed.into_iter().map(|v| v.name).collect(),
        })
    }
}
