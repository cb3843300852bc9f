//! Named volumes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::UnixTime;

/// One named volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeSummary {
    /// Name.
    pub name: String,
    /// Driver (`local`).
    pub driver: String,
    /// Where the data lives on the host.
    pub mountpoint: String,
    /// Creation time.
    pub created: UnixTime,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Names of containers that mount it.
    pub used_by: Vec<String>,
    /// Size on disk, when known.
    pub size: Option<u64>,
}

/// What to create a volume with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeSpec {
    /// Name; generated when `None`.
    pub name: Option<String>,
    /// Driver (`local` when `None`).
    pub driver: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}
