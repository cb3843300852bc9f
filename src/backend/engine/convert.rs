//! Turns the engine's image records into the domain types and Docker-shaped inspect JSON,
//! and its errors into [`BackendError`]s.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::backend::error::BackendError;
use crate::engine::image::{Image, ImageError};
use crate::engine::layer::LayerStore;
use crate::engine::registry::RegistryError;
use crate::engine::store::StoreError;
use crate::model::{HistoryEntry, ImageDetails, ImageSummary, ObjectKind};
use crate::util::time::{parse_rfc3339, rfc3339};

/// Bytes of the image's unpacked layers.
fn size(image: &Image, layers: &LayerStore) -> u64 {
    image
        .record
        .chain()
        .iter()
        .map(|c| layers.get(c).map_or(0, |m| m.size))
        .sum()
}

fn created(image: &Image) -> i64 {
    image
        .config
        .created()
        .as_deref()
        .and_then(parse_rfc3339)
        .unwrap_or(image.record.added)
}

fn labels(image: &Image) -> BTreeMap<String, String> {
    image
        .config
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .map(|l| l.into_iter().collect())
        .unwrap_or_default()
}

/// The list row of an image.
pub fn summary(image: &Image, layers: &LayerStore) -> ImageSummary {
    ImageSummary {
        id: image.record.id.to_string(),
        repo_tags: image.tags.iter().map(|t| t.familiar()).collect(),
        repo_digests: image
            .record
            .repo_digests
            .iter()
            .map(|d| familiar_digest(d))
            .collect(),
        created: created(image),
        size: size(image, layers),
        containers: 0,
        labels: labels(image),
    }
}

/// `docker.io/library/busybox@sha256:…` → `busybox@sha256:…`.
fn familiar_digest(d: &str) -> String {
    match d.split_once('@') {
        Some((repo, digest)) => {
            let short = repo
                .strip_prefix("docker.io/library/")
                .or_else(|| repo.strip_prefix("docker.io/"))
                .unwrap_or(repo);
            format!("{short}@{digest}")
        }
        None => d.to_string(),
    }
}

/// An image in full, with Docker-shaped inspect JSON.
pub fn details(image: &Image, layers: &LayerStore) -> ImageDetails {
    let summary = summary(image, layers);
    let c = image.config.config().clone().unwrap_or_default();
    let env = c.env().clone().unwrap_or_default();
    let entrypoint = c.entrypoint().clone().unwrap_or_default();
    let cmd = c.cmd().clone().unwrap_or_default();
    let working_dir = c.working_dir().clone().unwrap_or_default();
    let exposed_ports = c.exposed_ports().clone().unwrap_or_default();
    let diff_ids: Vec<String> = image
        .record
        .layers
        .iter()
        .map(|l| l.diff_id.to_string())
        .collect();
    let chain = image.record.chain();
    let dirs: Vec<String> = chain
        .iter()
        .rev()
        .map(|c| layers.diff_dir(c).display().to_string())
        .collect();
    let ports: serde_json::Map<String, Value> = exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    let volumes: serde_json::Map<String, Value> = c
        .volumes()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v, json!({})))
        .collect();
    let inspect = json!({
        "Id": summary.id,
        "RepoTags": summary.repo_tags,
        "RepoDigests": summary.repo_digests,
        "Parent": "",
        "Comment": "",
        "Created": rfc3339(summary.created),
        "Author": image.config.author().clone().unwrap_or_default(),
        "Config": {
            "User": c.user().clone().unwrap_or_default(),
            "ExposedPorts": if ports.is_empty() { Value::Null } else { Value::Object(ports) },
            "Env": if env.is_empty() { Value::Null } else { json!(env) },
            "Cmd": if cmd.is_empty() { Value::Null } else { json!(cmd) },
            "Entrypoint": if entrypoint.is_empty() { Value::Null } else { json!(entrypoint) },
            "Volumes": if volumes.is_empty() { Value::Null } else { Value::Object(volumes) },
            "WorkingDir": working_dir,
            "Labels": if summary.labels.is_empty() { Value::Null } else { json!(summary.labels) },
            "StopSignal": c.stop_signal().clone(),
        },
        "Architecture": image.config.architecture().to_string(),
        "Os": image.config.os().to_string(),
        "Size": summary.size,
        "GraphDriver": {
            "Name": "overlay",
            "Data": { "LowerDir": dirs.join(":") },
        },
        "RootFS": { "Type": "layers", "Layers": diff_ids },
        "Metadata": { "LastTagTime": rfc3339(image.record.added) },
    });
    ImageDetails {
        architecture: image.config.architecture().to_string(),
        os: image.config.os().to_string(),
        env,
        entrypoint,
        cmd,
        working_dir,
        exposed_ports,
        layers: diff_ids,
        inspect,
        summary,
    }
}

/// The history of an image, newest first, with the size each layer-making step added.
pub fn history(image: &Image, layers: &LayerStore) -> Vec<HistoryEntry> {
    let chain = image.record.chain();
    let mut sizes = chain.iter().map(|c| layers.get(c).map_or(0, |m| m.size));
    let steps = image.config.history().clone().unwrap_or_default();
    let mut out: Vec<HistoryEntry> = steps
        .iter()
        .map(|h| {
            let size = if h.empty_layer().unwrap_or(false) {
                0
            } else {
                sizes.next().unwrap_or(0)
            };
            HistoryEntry {
                id: "<missing>".into(),
                created: h.created().as_deref().and_then(parse_rfc3339).unwrap_or(0),
                created_by: h.created_by().clone().unwrap_or_default(),
                size,
                comment: h.comment().clone().unwrap_or_default(),
            }
        })
        .collect();
    out.reverse();
    if let Some(first) = out.first_mut() {
        first.id = image.record.id.to_string();
    }
    out
}

impl From<ImageError> for BackendError {
    fn from(e: ImageError) -> BackendError {
        image_error(e)
    }
}

impl From<RegistryError> for BackendError {
    fn from(e: RegistryError) -> BackendError {
        registry_error(e)
    }
}

/// Maps an image store error.
pub fn image_error(e: ImageError) -> BackendError {
    match e {
        ImageError::NotFound(r) => BackendError::not_found(ObjectKind::Image, r),
        ImageError::Ambiguous { prefix, count } => BackendError::Ambiguous {
            kind: ObjectKind::Image,
            reference: prefix,
            candidates: format!("{count} images"),
        },
        ImageError::Reference(r) => BackendError::invalid(r.to_string()),
        ImageError::Invalid { .. } => BackendError::invalid(e.to_string()),
        ImageError::Conflict(m) => BackendError::conflict(m),
        ImageError::Layer(crate::engine::layer::LayerError::DiffIdMismatch { .. })
        | ImageError::Layer(crate::engine::layer::LayerError::Unpack(_))
        | ImageError::Store(StoreError::DigestMismatch { .. })
        | ImageError::Store(StoreError::SizeMismatch { .. }) => {
            BackendError::invalid(e.to_string())
        }
        other => internal(other),
    }
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> BackendError {
    BackendError::Internal {
        message: e.to_string(),
        source: Some(Box::new(e)),
    }
}

/// Maps a registry error.
pub fn registry_error(e: RegistryError) -> BackendError {
    match e {
        RegistryError::Image(i) => image_error(i),
        RegistryError::NotFound(r) => BackendError::NotFound {
            kind: ObjectKind::Image,
            reference: format!("{r} (manifest unknown to the registry)"),
        },
        RegistryError::Denied { .. } => BackendError::PermissionDenied {
            message: e.to_string(),
            source: None,
        },
        RegistryError::Unreachable {
            registry,
            message,
            hint,
        } => BackendError::Unavailable {
            endpoint: format!("registry {registry}"),
            message: format!("{message}{hint}"),
            source: None,
        },
        other => internal(other),
    }
}
