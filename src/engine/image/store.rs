//! The image store: image records (`images/<id>.json`: the layers, their blobs and the
//! registry digests) and the references that name them (`images/refs.json`:
//! `docker.io/library/busybox:latest` → image id). The image id is the digest of its config,
//! which lives in the content store with the layer blobs. Changes are made under the
//! `images` lock and written atomically; layers and blobs no image uses are collected when an
//! image goes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use oci_spec::image::ImageConfiguration;
use serde::{Deserialize, Serialize};

use crate::engine::layer::{LayerError, LayerStore, chain_ids};
use crate::engine::store::{BlobStore, Digest, Lock, Root, StoreError, io_err, write_atomic};
use crate::model::reference::{Reference, ReferenceError};

/// Why an image operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// No image answers to the reference.
    #[error("no such image: {0}")]
    NotFound(String),
    /// An id prefix matches several images.
    #[error("{prefix:?} matches {count} images; give more of the id")]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// How many matched.
        count: usize,
    },
    /// A reference breaks Docker's naming rules.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A layer failed.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// An image's metadata is malformed.
    #[error("{what}: {message}")]
    Invalid {
        /// What was being read.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// The image is in use.
    #[error("{0}")]
    Conflict(String),
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// Digest of the uncompressed layer.
    pub diff_id: Digest,
    /// The blob as distributed (compressed or not).
    pub blob: Digest,
    /// Its media type.
    pub media_type: String,
    /// The blob's size in bytes.
    pub size: u64,
}

/// The chain ids of a stack of layers, bottom first.
pub fn layer_chain(layers: &[LayerRef]) -> Vec<Digest> {
    chain_ids(&layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>())
}

/// What the store keeps of an image besides its config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image id: the digest of its config.
    pub id: Digest,
    /// Its layers, bottom first.
    pub layers: Vec<LayerRef>,
    /// `repository@sha256:…` of the manifests it was pulled or pushed as.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// When it was stored (Unix seconds).
    pub added: i64,
}

impl ImageRecord {
    /// The chain ids of its layers, bottom first.
    pub fn chain(&self) -> Vec<Digest> {
        layer_chain(&self.layers)
    }
}

/// An image as the front ends want it: record, config and names.
#[derive(Debug, Clone)]
pub struct Image {
    /// The record.
    pub record: ImageRecord,
    /// The parsed config.
    pub config: ImageConfiguration,
    /// Size of the config blob.
    pub config_size: u64,
    /// References that name it (full form).
    pub tags: Vec<Reference>,
}

/// The images of a data root.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: Root,
    dir: PathBuf,
}

impl ImageStore {
    /// The image store of `root`.
    pub fn new(root: &Root) -> ImageStore {
        ImageStore {
            root: root.clone(),
            dir: root.path().join("images"),
        }
    }

    /// The content store.
    pub fn blobs(&self) -> BlobStore {
        self.root.blobs()
    }

    /// The layer store.
    pub fn layers(&self) -> LayerStore {
        LayerStore::new(&self.root)
    }

    /// Takes the lock that orders changes to images, references and layers.
    pub fn lock(&self) -> Result<Lock, ImageError> {
        Ok(self.root.lock("images")?)
    }

    /// Where an image record is written.
    pub fn record_path(&self, id: &Digest) -> PathBuf {
        self.dir.join(format!("{}.json", id.hex()))
    }

    fn refs_path(&self) -> PathBuf {
        self.dir.join("refs.json")
    }

    /// Name → image id.
    pub fn refs(&self) -> Result<BTreeMap<String, Digest>, ImageError> {
        let p = self.refs_path();
        match std::fs::read(&p) {
            Ok(data) => serde_json::from_slice(&data).map_err(|e| ImageError::Invalid {
                what: p.display().to_string(),
                message: format!("{e}; run `dockhand system check --repair`"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io_err("cannot read", &p)(e).into()),
        }
    }

    fn write_refs(&self, refs: &BTreeMap<String, Digest>) -> Result<(), ImageError> {
        let json = serde_json::to_vec_pretty(refs).expect("references serialise");
        Ok(write_atomic(&self.refs_path(), &json)?)
    }

    /// Every image record.
    pub fn records(&self) -> Result<Vec<ImageRecord>, ImageError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)
            .map_err(io_err("cannot read", &self.dir))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(hex) = name.strip_suffix(".json") else {
                continue;
            };
            if let Ok(id) = Digest::parse(&format!("sha256:{hex}")) {
                out.push(self.record(&id)?);
            }
        }
        Ok(out)
    }

    /// One record by id.
    pub fn record(&self, id: &Digest) -> Result<ImageRecord, ImageError> {
        let p = self.record_path(id);
        let data = match std::fs::read(&p) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ImageError::NotFound(id.to_string()));
            }
            Err(e) => return Err(io_err("cannot read", &p)(e).into()),
        };
        serde_json::from_slice(&data).map_err(|e| ImageError::Invalid {
            what: p.display().to_string(),
            message: format!("{e}; run `dockhand system check --repair`"),
        })
    }

    /// The config of an image, raw.
    pub fn config_bytes(&self, id: &Digest) -> Result<Vec<u8>, ImageError> {
        let p = self.blobs().path(id);
        std::fs::read(&p).map_err(|e| io_err("cannot read the image config", &p)(e).into())
    }

    /// An image in full.
    pub fn image(&self, id: &Digest) -> Result<Image, ImageError> {
        let record = self.record(id)?;
        let raw = self.config_bytes(id)?;
        let config = parse_config(&raw, &id.to_string())?;
        let tags = self
            .refs()?
            .into_iter()
            .filter(|(_, target)| target == id)
            .filter_map(|(name, _)| Reference::parse(&name).ok())
            .collect();
        Ok(Image {
            record,
            config,
            config_size: raw.len() as u64,
            tags,
        })
    }

    /// Every image in full.
    pub fn images(&self) -> Result<Vec<Image>, ImageError> {
        self.records()?.iter().map(|r| self.image(&r.id)).collect()
    }

    /// The id of the image a user means: a name[:tag], name@digest, a full id, or a unique
    /// prefix of one.
    pub fn resolve(&self, reference: &str) -> Result<Digest, ImageError> {
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        let is_hex = !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit());
        if let Ok(r) = Reference::parse(reference) {
            if let Some(digest) = &r.digest {
                let wanted = format!("{}@{digest}", r.repository());
                for record in self.records()? {
                    if record.repo_digests.contains(&wanted) {
                        return Ok(record.id);
                    }
                }
            } else if let Some(id) = self.refs()?.get(&r.full()) {
                return Ok(id.clone());
            }
        }
        if is_hex {
            let hex = hex.to_ascii_lowercase();
            let matches: Vec<Digest> = self
                .records()?
                .into_iter()
                .map(|r| r.id)
                .filter(|id| id.hex().starts_with(&hex))
                .collect();
            match matches.len() {
                1 => return Ok(matches.into_iter().next().expect("one match")),
                0 => {}
                count => {
                    return Err(ImageError::Ambiguous {
                        prefix: reference.to_string(),
                        count,
                    });
                }
            }
        }
        // A malformed name is reported as such rather than as missing.
        Reference::parse(reference)?;
        Err(ImageError::NotFound(reference.to_string()))
    }

    /// Stores an image whose config and layer blobs are in the content store and whose
    /// layers are unpacked, and points `tags` at it (taking them from any other image).
    /// The caller holds the lock.
    pub fn add(
        &self,
        _lock: &Lock,
        mut record: ImageRecord,
        tags: &[Reference],
    ) -> Result<(), ImageError> {
        if let Ok(old) = self.record(&record.id) {
            for d in old.repo_digests {
                if !record.repo_digests.contains(&d) {
                    record.repo_digests.push(d);
                }
            }
            record.added = old.added;
        }
        let layers = self.layers();
        for chain in record.chain() {
            if !layers.has(&chain) {
                return Err(LayerError::Missing(chain).into());
            }
        }
        let json = serde_json::to_vec_pretty(&record).expect("image records serialise");
        write_atomic(&self.record_path(&record.id), &json)?;
        if !tags.is_empty() {
            let mut refs = self.refs()?;
            for t in tags {
                refs.insert(t.full(), record.id.clone());
            }
            self.write_refs(&refs)?;
        }
        Ok(())
    }

    /// Points `target` at the image `id`.
    pub fn tag(&self, _lock: &Lock, id: &Digest, target: &Reference) -> Result<(), ImageError> {
        self.record(id)?;
        let mut refs = self.refs()?;
        refs.insert(target.full(), id.clone());
        self.write_refs(&refs)
    }

    /// Removes a name; returns the image it named.
    pub fn untag(&self, _lock: &Lock, name: &Reference) -> Result<Digest, ImageError> {
        let mut refs = self.refs()?;
        let id = refs
            .remove(&name.full())
            .ok_or_else(|| ImageError::NotFound(name.familiar()))?;
        self.write_refs(&refs)?;
        Ok(id)
    }

    /// Removes an image record and its names, then collects the layers and blobs no image
    /// (and no chain in `in_use`) needs. Returns the names removed.
    pub fn delete(
        &self,
        lock: &Lock,
        id: &Digest,
        in_use: &BTreeSet<Digest>,
    ) -> Result<Vec<Reference>, ImageError> {
        let mut refs = self.refs()?;
        let mut untagged = Vec::new();
        refs.retain(|name, target| {
            let keep = target != id;
            if !keep {
                untagged.extend(Reference::parse(name).ok());
            }
            keep
        });
        self.write_refs(&refs)?;
        let p = self.record_path(id);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_err("cannot remove", &p)(e).into());
            }
            _ => {}
        }
        self.collect(lock, in_use)?;
        Ok(untagged)
    }

    /// Takes a lease: while it is held, garbage collection leaves blobs and layers alone
    /// (a pull or load holds one until its image is recorded).
    pub fn lease(&self) -> Result<Lock, ImageError> {
        Ok(self.root.lock_shared("leases")?)
    }

    /// The lease lock taken exclusively, when no pull or load holds a lease; `None` otherwise.
    pub fn exclusive_lease(&self) -> Result<Option<Lock>, ImageError> {
        Ok(self.root.try_lock("leases")?)
    }

    /// What image records (and, with `held`, the build cache's entries) keep, with every
    /// layer stored: the chains kept (their parents included) and the blobs kept.
    fn kept(&self, held: bool) -> Result<Kept, ImageError> {
        let mut stacks: Vec<Vec<LayerRef>> = Vec::new();
        let mut blobs: BTreeSet<Digest> = BTreeSet::new();
        for r in self.records()? {
            blobs.insert(r.id.clone());
            stacks.push(r.layers);
        }
        if held {
            stacks.extend(super::held::stacks(&self.root).into_iter().map(|(_, l)| l));
        }
        let mut chains = BTreeSet::new();
        for layers in &stacks {
            blobs.extend(layers.iter().map(|l| l.blob.clone()));
            chains.extend(layer_chain(layers));
        }
        let all = self.layers().list()?;
        Ok(Kept {
            chains: closed_over_parents(&all, chains),
            blobs,
            all,
        })
    }

    /// Removes layers and blobs that no image record, no build cache entry and no chain in
    /// `in_use` needs. Returns the bytes freed. Skipped (0) while a pull, load or build holds
    /// a lease; the next run collects.
    pub fn collect(&self, _lock: &Lock, in_use: &BTreeSet<Digest>) -> Result<u64, ImageError> {
        let Some(_collecting) = self.exclusive_lease()? else {
            return Ok(0);
        };
        let mut kept = self.kept(true)?;
        let in_use = closed_over_parents(&kept.all, in_use.clone());
        kept.chains.extend(in_use);
        let layers = self.layers();
        let mut freed = 0;
        for meta in std::mem::take(&mut kept.all) {
            if !kept.chains.contains(&meta.chain_id) {
                freed += meta.size;
                layers.remove(&meta.chain_id)?;
            }
        }
        let store = self.blobs();
        for d in store.list()? {
            if !kept.blobs.contains(&d) {
                freed += store.size(&d);
                store.remove(&d)?;
            }
        }
        Ok(freed)
    }

    /// The build cache: its entries, how many of them keep something no image keeps, and the
    /// bytes only the cache keeps (what `builder prune` frees).
    pub fn build_cache(&self) -> Result<BuildCacheUsage, ImageError> {
        let images = self.kept(false)?;
        let with_cache = self.kept(true)?;
        let entries = super::held::stacks(&self.root);
        let costly = entries
            .iter()
            .filter(|(_, layers)| !self.held_by(&images, layers))
            .map(|(key, _)| key.clone())
            .collect();
        let store = self.blobs();
        let only: Vec<_> = with_cache
            .all
            .iter()
            .filter(|m| {
                with_cache.chains.contains(&m.chain_id) && !images.chains.contains(&m.chain_id)
            })
            .collect();
        let bytes = only.iter().map(|m| m.size).sum::<u64>()
            + with_cache
                .blobs
                .difference(&images.blobs)
                .map(|d| store.size(d))
                .sum::<u64>();
        Ok(BuildCacheUsage {
            entries: entries.into_iter().map(|(k, _)| k).collect(),
            costly,
            layers: only.into_iter().map(|m| m.chain_id.clone()).collect(),
            bytes,
        })
    }

    /// Whether everything `layers` needs is kept by `kept` already.
    fn held_by(&self, kept: &Kept, layers: &[LayerRef]) -> bool {
        layer_chain(layers).iter().all(|c| kept.chains.contains(c))
            && layers.iter().all(|l| kept.blobs.contains(&l.blob))
    }
}

/// What garbage collection keeps, and every layer stored.
struct Kept {
    chains: BTreeSet<Digest>,
    blobs: BTreeSet<Digest>,
    all: Vec<crate::engine::layer::LayerMeta>,
}

/// The build cache's entries as [`ImageStore::build_cache`] counts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildCacheUsage {
    /// Every entry's key.
    pub entries: Vec<String>,
    /// The entries that keep something no image keeps.
    pub costly: Vec<String>,
    /// The layers only the cache keeps.
    pub layers: BTreeSet<Digest>,
    /// The bytes only the cache keeps.
    pub bytes: u64,
}

/// `chains` and every layer under them.
fn closed_over_parents(
    all: &[crate::engine::layer::LayerMeta],
    chains: BTreeSet<Digest>,
) -> BTreeSet<Digest> {
    let parents: BTreeMap<&Digest, Option<&Digest>> = all
        .iter()
        .map(|m| (&m.chain_id, m.parent.as_ref()))
        .collect();
    let mut keep = BTreeSet::new();
    for c in chains {
        let mut cur = Some(c);
        while let Some(c) = cur {
            cur = parents.get(&c).copied().flatten().cloned();
            if !keep.insert(c) {
                break;
            }
        }
    }
    keep
}

/// Parses an image config, naming the image when it is malformed.
pub fn parse_config(raw: &[u8], what: &str) -> Result<ImageConfiguration, ImageError> {
    serde_json::from_slice(raw).map_err(|e| ImageError::Invalid {
        what: format!("image config {what}"),
        message: e.to_string(),
    })
}
