//! Image archives for the demo backend: reads `docker save` tarballs into demo images and
//! writes demo images back out in the same format, so load/save/import behave as on Docker.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::state::FakeImage;
use crate::backend::error::{BackendError, Result};
use crate::model::import_changes::ImageChanges;
use crate::model::{HistoryEntry, ImageSummary};
use crate::util::time::{parse_rfc3339, rfc3339};

fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Every regular file of a tarball by path; refuses what is not a tarball.
fn files(bytes: &[u8], what: &str) -> Result<HashMap<String, Vec<u8>>> {
    let bad = |e: std::io::Error| {
        BackendError::invalid(format!("{what} is not a readable tar archive: {e}"))
    };
    let mut archive = tar::Archive::new(bytes);
    let mut out = HashMap::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(bad)?;
        out.insert(path, data);
    }
    if out.is_empty() && !bytes.iter().all(|b| *b == 0) {
        return Err(BackendError::invalid(format!(
            "{what} is not a tar archive"
        )));
    }
    Ok(out)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Builds a demo image from an image config document.
fn image_from_config(config_bytes: &[u8], repo_tags: Vec<String>, size: u64) -> Result<FakeImage> {
    let config: Value = serde_json::from_slice(config_bytes)
        .map_err(|e| BackendError::invalid(format!("the image config is not JSON: {e}")))?;
    let c = &config["config"];
    let created = config["created"]
        .as_str()
        .and_then(parse_rfc3339)
        .unwrap_or(0);
    let id = format!("sha256:{}", sha256_hex(config_bytes));
    let layers = strings(&config["rootfs"]["diff_ids"]);
    let mut history: Vec<HistoryEntry> = config["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| HistoryEntry {
            id: "<missing>".into(),
            created: h["created"]
                .as_str()
                .and_then(parse_rfc3339)
                .unwrap_or(created),
            created_by: h["created_by"].as_str().unwrap_or_default().to_string(),
            size: 0,
            comment: h["comment"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    history.reverse();
    if let Some(first) = history.first_mut() {
        first.id = id.clone();
    }
    Ok(FakeImage {
        summary: ImageSummary {
            id,
            repo_tags,
            repo_digests: Vec::new(),
            created,
            size,
            containers: 0,
            labels: c["Labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        },
        env: strings(&c["Env"]),
        cmd: strings(&c["Cmd"]),
        entrypoint: strings(&c["Entrypoint"]),
        working_dir: c["WorkingDir"].as_str().unwrap_or_default().to_string(),
        exposed_ports: c["ExposedPorts"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
        layers,
        history,
    })
}

/// Reads the images of a `docker save` archive.
pub fn read(bytes: &[u8]) -> Result<Vec<FakeImage>> {
    let files = files(bytes, "the archive")?;
    let manifest = files.get("manifest.json").ok_or_else(|| {
        BackendError::invalid(
            "the archive has no manifest.json; give a tarball written by `docker save` or `dockhand save`",
        )
    })?;
    let entries: Vec<ManifestEntry> = serde_json::from_slice(manifest).map_err(|e| {
        BackendError::invalid(format!("manifest.json of the archive is malformed: {e}"))
    })?;
    entries
        .into_iter()
        .map(|entry| {
            let config = files.get(&entry.config).ok_or_else(|| {
                BackendError::invalid(format!(
                    "the archive lacks {}, named in manifest.json",
                    entry.config
                ))
            })?;
            let mut size = 0;
            for layer in &entry.layers {
                size += files
                    .get(layer)
                    .ok_or_else(|| {
                        BackendError::invalid(format!(
                            "the archive lacks layer {layer}, named in manifest.json"
                        ))
                    })?
                    .len() as u64;
            }
            image_from_config(config, entry.repo_tags.unwrap_or_default(), size)
        })
        .collect()
}

fn config_document(img: &FakeImage) -> Value {
    json!({
        "architecture": "amd64",
        "os": "linux",
        "created": rfc3339(img.summary.created),
        "config": {
            "Env": img.env,
            "Cmd": img.cmd,
            "Entrypoint": if img.entrypoint.is_empty() { Value::Null } else { json!(img.entrypoint) },
            "WorkingDir": img.working_dir,
            "ExposedPorts": img.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect::<BTreeMap<_, _>>(),
            "Labels": img.summary.labels,
        },
        "rootfs": { "type": "layers", "diff_ids": [] },
        "history": img.history.iter().rev().map(|h| json!({
            "created": rfc3339(h.created),
            "created_by": h.created_by,
            "empty_layer": true,
        })).collect::<Vec<_>>(),
    })
}

/// Adds a regular file with fixed mode and time to an archive being built.
pub(super) fn append(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder.append_data(&mut header, path, data)
}

/// Writes images as a `docker save` archive. The demo has no file contents, so each image is
/// its config with no layers; `docker load` accepts that.
pub fn write(images: &[(&FakeImage, Vec<String>)]) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| BackendError::Internal {
        message: format!("cannot write the archive: {e}"),
        source: None,
    };
    let mut builder = tar::Builder::new(Vec::new());
    let mut manifest = Vec::new();
    for (img, tags) in images {
        let config = serde_json::to_vec(&config_document(img)).unwrap_or_default();
        let name = format!("{}.json", sha256_hex(&config));
        append(&mut builder, &name, &config).map_err(io)?;
        manifest.push(json!({ "Config": name, "RepoTags": tags, "Layers": [] }));
    }
    let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
    append(&mut builder, "manifest.json", &manifest).map_err(io)?;
    builder.into_inner().map_err(io)
}

/// Makes a one-layer image from a root filesystem tarball and the `--change` instructions.
pub fn import(bytes: &[u8], changes: &ImageChanges, now: i64) -> Result<FakeImage> {
    files(bytes, "the root filesystem")?;
    let diff_id = format!("sha256:{}", sha256_hex(bytes));
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": rfc3339(now),
        "config": changes.config_json(),
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": rfc3339(now), "created_by": "dockhand import", "comment": "Imported from -" }],
    });
    let bytes_config = serde_json::to_vec(&config).unwrap_or_default();
    image_from_config(&bytes_config, Vec::new(), bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_images_load_back() {
        let img = super::super::sample::image("busybox:1.36", 1_700_000_000, 3, 4_000_000, 1);
        let bytes = write(&[(&img, vec!["busybox:1.36".into()])]).unwrap();
        let back = read(&bytes).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].summary.repo_tags, ["busybox:1.36"]);
        assert_eq!(back[0].cmd, img.cmd);
        assert_eq!(back[0].env, img.env);
    }

    #[test]
    fn garbage_is_refused_by_name() {
        let err = read(b"this is not a tarball at all, not even close to 512 bytes").unwrap_err();
        assert!(err.to_string().contains("not a"), "{err}");
        let empty_tar = tar::Builder::new(Vec::new()).into_inner().unwrap();
        let err = read(&empty_tar).unwrap_err();
        assert!(err.to_string().contains("no manifest.json"), "{err}");
    }
}
