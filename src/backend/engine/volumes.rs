//! Volumes on the embedded engine (none are made by this build).

use super::*;
use crate::backend::prelude::*;

impl VolumeBackend for EngineBackend {
    async fn list_volumes(&self) -> Result<Vec<VolumeSummary>> {
        // Named volumes are not made by this engine: there are none to list.
        Ok(Vec::new())
    }

    unsupported! {
        fn inspect_volume(&self, name: &str) -> VolumeSummary;
        fn create_volume(&self, spec: VolumeSpec) -> VolumeSummary;
        fn remove_volume(&self, name: &str, force: bool) -> ();
        fn prune_volumes(&self) -> PruneReport;
    }
}
