//! The demo world's records, lookup by name, id or id prefix, and Docker's rules for names,
//! references and signals.

use std::collections::BTreeMap;

use crate::backend::error::{BackendError, Result};
use crate::model::*;

use super::synth::hex_id;

/// A container of the demo world.
#[derive(Debug, Clone)]
pub struct FakeContainer {
    pub(super) summary: ContainerSummary,
    pub(super) cmd: Vec<String>,
    pub(super) env: Vec<String>,
    pub(super) hostname: String,
    pub(super) working_dir: String,
    pub(super) user: String,
    pub(super) restart_policy: RestartPolicy,
    pub(super) restart_count: u32,
    pub(super) mounts: Vec<Mount>,
    pub(super) resources: Resources,
    pub(super) pid: Option<u32>,
    pub(super) tty: bool,
    pub(super) oom_killed: bool,
    pub(super) stats_tick: u64,
    pub(super) files: super::files::Files,
}

/// An image of the demo world.
#[derive(Debug, Clone)]
pub struct FakeImage {
    pub(super) summary: ImageSummary,
    pub(super) env: Vec<String>,
    pub(super) cmd: Vec<String>,
    pub(super) entrypoint: Vec<String>,
    pub(super) working_dir: String,
    pub(super) exposed_ports: Vec<String>,
    pub(super) layers: Vec<String>,
    pub(super) history: Vec<HistoryEntry>,
}

/// A network of the demo world.
#[derive(Debug, Clone)]
pub struct FakeNetwork {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) driver: String,
    pub(super) subnet: Option<String>,
    pub(super) gateway: Option<String>,
    pub(super) internal: bool,
    pub(super) created: i64,
    pub(super) labels: BTreeMap<String, String>,
}

/// A volume of the demo world.
#[derive(Debug, Clone)]
pub struct FakeVolume {
    pub(super) name: String,
    pub(super) driver: String,
    pub(super) created: i64,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) size: u64,
}

/// The whole demo world.
#[derive(Debug, Clone)]
pub struct State {
    pub(super) containers: Vec<FakeContainer>,
    pub(super) images: Vec<FakeImage>,
    pub(super) volumes: Vec<FakeVolume>,
    pub(super) networks: Vec<FakeNetwork>,
    pub(super) seq: u64,
}

/// `name` → `name:latest`, and Docker Hub prefixes dropped, so references compare equal.
/// Text that is no reference (an id, say) is kept as it is.
pub(super) fn normalize_reference(reference: &str) -> String {
    crate::model::Reference::parse(reference)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| reference.to_string())
}

/// Checks a reference against Docker's rules, naming the rule it breaks.
pub(super) fn validate_reference(reference: &str) -> Result<()> {
    crate::model::Reference::parse(reference)
        .map(drop)
        .map_err(|e| BackendError::invalid(e.to_string()))
}

impl FakeContainer {
    /// The container's files: the ones it starts with, then what was copied in.
    pub(super) fn all_files(&self) -> super::files::Files {
        let mut all = super::files::initial(&self.hostname);
        all.extend(self.files.clone());
        all
    }
}

/// The index of the one id starting with `prefix`; not found or ambiguous otherwise.
pub(super) fn unique_prefix<'a>(
    kind: ObjectKind,
    reference: &str,
    prefix: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<usize> {
    let matches: Vec<(usize, &str)> = ids
        .enumerate()
        .filter(|(_, id)| !prefix.is_empty() && id.starts_with(prefix))
        .collect();
    match matches.as_slice() {
        [(i, _)] => Ok(*i),
        [] => Err(BackendError::not_found(kind, reference)),
        many => Err(BackendError::Ambiguous {
            kind,
            reference: reference.to_string(),
            candidates: many
                .iter()
                .map(|(_, id)| short_id(id))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

impl State {
    pub(super) fn container_index(&self, reference: &str) -> Result<usize> {
        let r = reference.trim_start_matches('/');
        if let Some(i) = self
            .containers
            .iter()
            .position(|c| c.summary.id == r || c.summary.name == r)
        {
            return Ok(i);
        }
        let ids = self.containers.iter().map(|c| c.summary.id.as_str());
        unique_prefix(ObjectKind::Container, reference, r, ids)
    }

    pub(super) fn image_index(&self, reference: &str) -> Result<usize> {
        let normalized = normalize_reference(reference);
        if let Some(i) = self
            .images
            .iter()
            .position(|img| img.summary.repo_tags.contains(&normalized))
        {
            return Ok(i);
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        if hex.len() < 4 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(BackendError::not_found(ObjectKind::Image, reference));
        }
        let ids = self.images.iter().map(|i| &i.summary.id["sha256:".len()..]);
        unique_prefix(ObjectKind::Image, reference, hex, ids)
    }

    pub(super) fn network_index(&self, reference: &str) -> Result<usize> {
        if let Some(i) = self
            .networks
            .iter()
            .position(|n| n.id == reference || n.name == reference)
        {
            return Ok(i);
        }
        let ids = self.networks.iter().map(|n| n.id.as_str());
        unique_prefix(ObjectKind::Network, reference, reference, ids)
    }

    pub(super) fn volume_index(&self, name: &str) -> Result<usize> {
        self.volumes
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| BackendError::not_found(ObjectKind::Volume, name))
    }

    pub(super) fn image_id_of(&self, c: &FakeContainer) -> String {
        self.image_index(&c.summary.image)
            .map(|i| self.images[i].summary.id.clone())
            .unwrap_or_else(|_| format!("sha256:{}", hex_id(&c.summary.image)))
    }

    pub(super) fn image_summary(&self, img: &FakeImage) -> ImageSummary {
        let mut s = img.summary.clone();
        s.containers = self
            .containers
            .iter()
            .filter(|c| self.image_id_of(c) == s.id)
            .count();
        s
    }

    pub(super) fn volume_summary(&self, v: &FakeVolume) -> VolumeSummary {
        VolumeSummary {
            name: v.name.clone(),
            driver: v.driver.clone(),
            mountpoint: format!("/var/lib/dockhand/volumes/{}/_data", v.name),
            created: v.created,
            labels: v.labels.clone(),
            used_by: self
                .containers
                .iter()
                .filter(|c| {
                    c.mounts
                        .iter()
                        .any(|m| m.kind == MountKind::Volume && m.source == v.name)
                })
                .map(|c| c.summary.name.clone())
                .collect(),
            size: Some(v.size),
            options: Default::default(),
            anonymous: false,
        }
    }

    pub(super) fn network_summary(&self, n: &FakeNetwork) -> NetworkSummary {
        let on: Vec<&FakeContainer> = self
            .containers
            .iter()
            .filter(|c| c.summary.state.is_alive() && c.summary.networks.contains(&n.name))
            .collect();
        NetworkSummary {
            addresses: on
                .iter()
                .filter_map(|c| {
                    let ep = self
                        .endpoints(c)
                        .into_iter()
                        .find(|e| e.network == n.name)?;
                    Some((c.summary.name.clone(), ep.ip_address))
                })
                .collect(),
            id: n.id.clone(),
            name: n.name.clone(),
            driver: n.driver.clone(),
            scope: "local".into(),
            subnet: n.subnet.clone(),
            gateway: n.gateway.clone(),
            internal: n.internal,
            containers: on.iter().map(|c| c.summary.name.clone()).collect(),
            created: n.created,
            labels: n.labels.clone(),
        }
    }

    /// The container's address on each of its networks, derived from its position.
    pub(super) fn endpoints(&self, c: &FakeContainer) -> Vec<EndpointInfo> {
        c.summary
            .networks
            .iter()
            .filter_map(|name| self.networks.iter().find(|n| &n.name == name))
            .filter_map(|n| {
                let subnet = n.subnet.as_ref()?;
                let (base, prefix) = subnet.split_once('/')?;
                let octets: Vec<&str> = base.split('.').collect();
                // Distinct on each network, as an allocator hands them out: by the
                // container's place among those on it (the gateway has .1).
                let place = self
                    .containers
                    .iter()
                    .filter(|o| o.summary.networks.contains(&n.name))
                    .position(|o| o.summary.id == c.summary.id)?;
                let host = (place % 250 + 2) as u8;
                Some(EndpointInfo {
                    network: n.name.clone(),
                    ip_address: format!("{}.{}.0.{host}/{prefix}", octets.first()?, octets.get(1)?),
                    gateway: n.gateway.clone().unwrap_or_default(),
                    mac_address: format!(
                        "02:42:ac:{:02x}:00:{host:02x}",
                        octets.get(1)?.parse::<u8>().ok()?
                    ),
                })
            })
            .collect()
    }
}
