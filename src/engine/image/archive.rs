//! Image archives: `load` of `docker save` tarballs (`manifest.json` with config and layer
//! paths) and of OCI image layouts (`index.json` and `blobs/`), and `save` of images into a
//! tarball that `docker load` and OCI tools both accept.
//!
//! Loading streams every file of the archive into the content store (hashed as it goes),
//! then reads the manifests, unpacks each layer once (checked against the config's diff ids)
//! and records the images. Files the manifests do not use are removed again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::store::{ImageError, ImageRecord, ImageStore, LayerRef, parse_config};
use crate::engine::layer::Compression;
use crate::engine::store::Digest;
use crate::model::reference::Reference;

/// Media types of layers as Docker and OCI name them.
pub mod media {
    /// A Docker layer, uncompressed.
    pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
    /// A Docker layer, gzip.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// An OCI layer, uncompressed.
    pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    /// An OCI layer, gzip.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// An OCI layer, zstd.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// An OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// An OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// A Docker image manifest.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// A Docker manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// An OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// A Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
}

/// One image an archive held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// Its id.
    pub id: Digest,
    /// The names it was loaded with.
    pub tags: Vec<Reference>,
}

impl Loaded {
    /// The line `docker load` prints for it.
    pub fn lines(&self) -> Vec<String> {
        if self.tags.is_empty() {
            vec![format!("Loaded image ID: {}", self.id)]
        } else {
            self.tags
                .iter()
                .map(|t| format!("Loaded image: {}", t.familiar()))
                .collect()
        }
    }
}

/// `manifest.json` of a `docker save` archive.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Index files are small; anything bigger is not one.
const INDEX_MAX: u64 = 16 << 20;

fn invalid(message: impl Into<String>) -> ImageError {
    ImageError::Invalid {
        what: "image archive".into(),
        message: message.into(),
    }
}

/// A path inside an archive, without `./` and refusing `..` and absolute paths.
fn clean(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// What an archive held: files stored as blobs, and the small index files kept in memory.
struct Contents {
    files: BTreeMap<PathBuf, (Digest, u64)>,
    index: BTreeMap<String, Vec<u8>>,
}

impl Contents {
    /// Streams an archive's files into the content store, noting each in `files` as soon as
    /// it is stored (so that a failure part-way can remove them), and returns the small index
    /// files.
    fn read_into(
        store: &ImageStore,
        reader: impl Read,
        files: &mut BTreeMap<PathBuf, (Digest, u64)>,
    ) -> Result<BTreeMap<String, Vec<u8>>, ImageError> {
        let blobs = store.blobs();
        let mut links = Vec::new();
        let mut index = BTreeMap::new();
        let mut archive = tar::Archive::new(reader);
        let bad = |e: std::io::Error| {
            invalid(format!(
                "cannot read it as a tar archive ({e}); give a file made by `docker save` or `dockhand save`"
            ))
        };
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let raw = entry.path().map_err(bad)?.into_owned();
            let Some(path) = clean(&raw) else {
                return Err(invalid(format!(
                    "entry {} points outside the archive",
                    raw.display()
                )));
            };
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry.link_name().map_err(bad)?.unwrap_or_default();
                let base = if kind.is_symlink() {
                    path.parent().unwrap_or(Path::new("")).join(target)
                } else {
                    target.into_owned()
                };
                if let Some(t) = clean(&base) {
                    links.push((path, t));
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let name = path.to_string_lossy().into_owned();
            if matches!(
                name.as_str(),
                "manifest.json" | "index.json" | "repositories" | "oci-layout"
            ) {
                let mut data = Vec::new();
                entry
                    .by_ref()
                    .take(INDEX_MAX)
                    .read_to_end(&mut data)
                    .map_err(bad)?;
                index.insert(name, data);
                continue;
            }
            let stored = blobs.put_any(&mut entry)?;
            files.insert(path, stored);
        }
        for (path, target) in links {
            if let Some(stored) = files.get(&target).cloned() {
                files.insert(path, stored);
            }
        }
        Ok(index)
    }

    fn file(&self, path: &str) -> Result<&(Digest, u64), ImageError> {
        let p = clean(Path::new(path)).unwrap_or_default();
        self.files
            .get(&p)
            .ok_or_else(|| invalid(format!("it names {path}, which it does not contain")))
    }

    /// A blob of an OCI layout by digest.
    fn oci_blob(&self, digest: &str) -> Result<(Digest, u64), ImageError> {
        let d = Digest::parse(digest).map_err(|e| invalid(e.to_string()))?;
        self.file(&format!("blobs/sha256/{}", d.hex())).cloned()
    }
}

/// One image found in an archive, before its layers are unpacked.
struct Found {
    config: Digest,
    layers: Vec<(Digest, u64, Option<String>)>,
    tags: Vec<Reference>,
}

/// The images of a `docker save` archive.
fn docker_images(c: &Contents, manifest: &[u8]) -> Result<Vec<Found>, ImageError> {
    let entries: Vec<DockerManifest> =
        serde_json::from_slice(manifest).map_err(|e| invalid(format!("manifest.json: {e}")))?;
    let mut out = Vec::new();
    for m in entries {
        let config = c.file(&m.config)?.0.clone();
        let layers = m
            .layers
            .iter()
            .map(|l| c.file(l).map(|(d, s)| (d.clone(), *s, None)))
            .collect::<Result<_, _>>()?;
        let tags = m
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| Reference::parse(t))
            .collect::<Result<_, _>>()?;
        out.push(Found {
            config,
            layers,
            tags,
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    architecture: String,
    os: String,
}

#[derive(Debug, Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// The architecture name images use for this machine.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The images of an OCI image layout.
fn oci_images(store: &ImageStore, c: &Contents, index: &[u8]) -> Result<Vec<Found>, ImageError> {
    let index: Index =
        serde_json::from_slice(index).map_err(|e| invalid(format!("index.json: {e}")))?;
    let mut out = Vec::new();
    for d in index.manifests {
        let name = d
            .annotations
            .get("io.containerd.image.name")
            .or_else(|| d.annotations.get("org.opencontainers.image.ref.name"));
        let tags = match name {
            // A bare tag ("latest") names nothing on its own.
            Some(n) if n.contains(':') || n.contains('/') => vec![Reference::parse(n)?],
            _ => Vec::new(),
        };
        let manifest = resolve_manifest(store, c, &d)?;
        let config = c.oci_blob(&manifest.config.digest)?.0;
        let layers = manifest
            .layers
            .iter()
            .map(|l| {
                c.oci_blob(&l.digest)
                    .map(|(d, s)| (d, s, Some(l.media_type.clone())))
            })
            .collect::<Result<_, _>>()?;
        out.push(Found {
            config,
            layers,
            tags,
        });
    }
    Ok(out)
}

/// The image manifest a descriptor leads to, through image indexes, for this platform.
fn resolve_manifest(
    store: &ImageStore,
    c: &Contents,
    d: &Descriptor,
) -> Result<Manifest, ImageError> {
    let (blob, _) = c.oci_blob(&d.digest)?;
    let raw = std::fs::read(store.blobs().path(&blob))
        .map_err(|e| invalid(format!("cannot read {}: {e}", d.digest)))?;
    if d.media_type == media::OCI_INDEX || d.media_type == media::DOCKER_LIST {
        let index: Index =
            serde_json::from_slice(&raw).map_err(|e| invalid(format!("{}: {e}", d.digest)))?;
        let pick = index
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == host_arch())
            })
            .ok_or_else(|| {
                invalid(format!(
                    "{} has no image for linux/{}",
                    d.digest,
                    host_arch()
                ))
            })?;
        return resolve_manifest(store, c, pick);
    }
    serde_json::from_slice(&raw).map_err(|e| invalid(format!("manifest {}: {e}", d.digest)))
}

/// The media type of a layer blob, from its first bytes.
pub fn sniff_media_type(store: &ImageStore, blob: &Digest) -> String {
    let mut head = [0u8; 4];
    let n = store
        .blobs()
        .open(blob)
        .ok()
        .and_then(|mut f| f.read(&mut head).ok())
        .unwrap_or(0);
    match Compression::sniff(&head[..n]) {
        Compression::None => media::DOCKER_LAYER_TAR,
        Compression::Gzip => media::DOCKER_LAYER_GZIP,
        Compression::Zstd => media::OCI_LAYER_ZSTD,
    }
    .to_string()
}

/// Unpacks the layers of an image whose blobs are stored and records it with `tags`.
pub fn commit(
    store: &ImageStore,
    config: &Digest,
    layers: &[(Digest, u64, Option<String>)],
    tags: &[Reference],
    repo_digests: Vec<String>,
) -> Result<Digest, ImageError> {
    let raw = store.config_bytes(config)?;
    let parsed = parse_config(&raw, &config.to_string())?;
    let diff_ids = parsed.rootfs().diff_ids();
    if diff_ids.len() != layers.len() {
        return Err(invalid(format!(
            "image {config} lists {} layers in its config but {} in its manifest",
            diff_ids.len(),
            layers.len()
        )));
    }
    let layer_store = store.layers();
    let mut parent: Option<Digest> = None;
    let mut refs = Vec::new();
    for ((blob, size, media_type), diff_id) in layers.iter().zip(diff_ids) {
        let diff_id = Digest::parse(diff_id).map_err(|e| invalid(e.to_string()))?;
        let file = store.blobs().open(blob)?;
        let meta = layer_store.create(parent.as_ref(), Some(&diff_id), file)?;
        parent = Some(meta.chain_id);
        refs.push(LayerRef {
            diff_id,
            blob: blob.clone(),
            media_type: media_type
                .clone()
                .unwrap_or_else(|| sniff_media_type(store, blob)),
            size: *size,
        });
    }
    let record = ImageRecord {
        id: config.clone(),
        layers: refs,
        repo_digests,
        added: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let lock = store.lock()?;
    store.add(&lock, record, tags)?;
    Ok(config.clone())
}

/// Loads every image of a `docker save` archive or OCI layout tarball.
pub fn load(store: &ImageStore, reader: impl Read) -> Result<Vec<Loaded>, ImageError> {
    let lease = store.lease()?;
    let mut files = BTreeMap::new();
    let result = Contents::read_into(store, reader, &mut files).and_then(|index| {
        let contents = Contents { files: files.clone(), index };
        let found = if let Some(m) = contents.index.get("manifest.json") {
            docker_images(&contents, m)?
        } else if let Some(i) = contents.index.get("index.json") {
            oci_images(store, &contents, i)?
        } else {
            return Err(invalid(
                "it has neither manifest.json (docker save) nor index.json (OCI layout); give a file made by `docker save` or `dockhand save`",
            ));
        };
        let mut loaded = Vec::new();
        for f in found {
            let id = commit(store, &f.config, &f.layers, &f.tags, Vec::new())?;
            loaded.push(Loaded { id, tags: f.tags });
        }
        Ok(loaded)
    });
    drop(lease);
    // Files of the archive that no image uses (old-style `json` and `VERSION` files, or all
    // of them when the load failed) are not kept, and layers unpacked before a failure go.
    // Another pull or load in flight may need the same content: then the next collection
    // removes it instead.
    if let Some(_alone) = store.exclusive_lease()? {
        let used = used_blobs(store)?;
        for (digest, _) in files.values() {
            if !used.contains(digest) {
                store.blobs().remove(digest)?;
            }
        }
        drop(_alone);
        if result.is_err() {
            let lock = store.lock()?;
            store.collect(&lock, &BTreeSet::new())?;
        }
    }
    result
}

/// The blobs some image record uses.
fn used_blobs(store: &ImageStore) -> Result<BTreeSet<Digest>, ImageError> {
    Ok(store
        .records()?
        .iter()
        .flat_map(|r| std::iter::once(r.id.clone()).chain(r.layers.iter().map(|l| l.blob.clone())))
        .collect())
}

/// Writes images to a tarball in the `docker save` form (manifest.json, `blobs/sha256/…`)
/// that is also an OCI image layout (`index.json`, `oci-layout`).
pub fn save(store: &ImageStore, references: &[String], out: impl Write) -> Result<(), ImageError> {
    let mut manifest = Vec::new();
    let mut index = Vec::new();
    let mut blobs: BTreeSet<Digest> = BTreeSet::new();
    let mut manifests: Vec<(Digest, Vec<u8>)> = Vec::new();
    for reference in references {
        let id = store.resolve(reference)?;
        let image = store.image(&id)?;
        // A tag given by name is saved under that name; an id saves every name it has.
        let tags: Vec<String> = match Reference::parse(reference) {
            Ok(r) if store.refs()?.contains_key(&r.full()) && r.digest.is_none() => {
                vec![r.familiar()]
            }
            _ => image.tags.iter().map(|t| t.familiar()).collect(),
        };
        let layers: Vec<String> = image
            .record
            .layers
            .iter()
            .map(|l| format!("blobs/sha256/{}", l.blob.hex()))
            .collect();
        manifest.push(serde_json::json!({
            "Config": format!("blobs/sha256/{}", id.hex()),
            "RepoTags": tags,
            "Layers": layers,
        }));
        let oci_manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": media::OCI_CONFIG, "digest": id.to_string(), "size": image.config_size},
            "layers": image.record.layers.iter().map(|l| serde_json::json!({
                "mediaType": oci_media_type(&l.media_type),
                "digest": l.blob.to_string(),
                "size": l.size,
            })).collect::<Vec<_>>(),
        });
        let raw = serde_json::to_vec(&oci_manifest).expect("manifests serialise");
        let digest = Digest::of(&raw);
        let mut descriptor = serde_json::json!({
            "mediaType": media::OCI_MANIFEST,
            "digest": digest.to_string(),
            "size": raw.len(),
        });
        if let Some(t) = tags.first() {
            descriptor["annotations"] = serde_json::json!({
                "io.containerd.image.name": Reference::parse(t).map(|r| r.full()).unwrap_or_default(),
                "org.opencontainers.image.ref.name": Reference::parse(t).ok().and_then(|r| r.tag).unwrap_or_default(),
            });
        }
        index.push(descriptor);
        manifests.push((digest, raw));
        blobs.insert(id.clone());
        blobs.extend(image.record.layers.iter().map(|l| l.blob.clone()));
    }
    let mut tar = tar::Builder::new(out);
    let failed = |e: std::io::Error| invalid(format!("cannot write the archive: {e}"));
    let add = |tar: &mut tar::Builder<_>, name: &str, size: u64, data: &mut dyn Read| {
        let mut header = tar::Header::new_ustar();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data).map_err(failed)
    };
    let dir = |tar: &mut tar::Builder<_>, name: &str| {
        let mut header = tar::Header::new_ustar();
        header.set_size(0);
        header.set_mode(0o755);
        header.set_entry_type(tar::EntryType::Directory);
        tar.append_data(&mut header, name, std::io::empty())
            .map_err(failed)
    };
    dir(&mut tar, "blobs")?;
    dir(&mut tar, "blobs/sha256")?;
    for d in &blobs {
        let path = store.blobs().path(d);
        let mut f = store.blobs().open(d)?;
        let size = f
            .metadata()
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?
            .len();
        add(&mut tar, &format!("blobs/sha256/{}", d.hex()), size, &mut f)?;
    }
    for (d, raw) in &manifests {
        add(
            &mut tar,
            &format!("blobs/sha256/{}", d.hex()),
            raw.len() as u64,
            &mut &raw[..],
        )?;
    }
    let json = |v: &serde_json::Value| serde_json::to_vec(v).expect("json serialises");
    let index = json(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": index,
    }));
    let layout = json(&serde_json::json!({"imageLayoutVersion": "1.0.0"}));
    let manifest = json(&serde_json::Value::Array(manifest));
    for (name, data) in [
        ("oci-layout", layout),
        ("index.json", index),
        ("manifest.json", manifest),
    ] {
        add(&mut tar, name, data.len() as u64, &mut &data[..])?;
    }
    tar.finish().map_err(failed)
}

/// The OCI name of a layer media type.
fn oci_media_type(m: &str) -> &str {
    match m {
        media::DOCKER_LAYER_TAR => media::OCI_LAYER_TAR,
        media::DOCKER_LAYER_GZIP => media::OCI_LAYER_GZIP,
        other => other,
    }
}
