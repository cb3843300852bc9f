//! `system check`: verifies the data root — every blob hashes to its name, every layer is
//! whole with its parent present and its short link, no short link points at no layer, every
//! image record has its config, blobs and layers, every name points at an image, every build
//! cache entry has its layers — and with `repair` removes or rebuilds what is broken. Content
//! no image uses (left by an interrupted pull, kept to resume it) is reported, not a problem.

use std::collections::BTreeSet;

use crate::engine::image::{ImageError, ImageStore};
use crate::engine::layer::LayerStore;
use crate::engine::store::{Digest, Root};
use crate::model::Reference;

/// One inconsistency found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, naming the object.
    pub what: String,
    /// Whether `repair` fixed it.
    pub repaired: bool,
}

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Blobs checked.
    pub blobs: usize,
    /// Layers checked.
    pub layers: usize,
    /// Images checked.
    pub images: usize,
    /// Inconsistencies.
    pub problems: Vec<Problem>,
    /// Blobs no image uses, and their bytes.
    pub unused_blobs: (usize, u64),
    /// Layers no image uses.
    pub unused_layers: usize,
}

impl CheckReport {
    /// Whether something is still wrong.
    pub fn has_open_problems(&self) -> bool {
        self.problems.iter().any(|p| !p.repaired)
    }
}

/// Checks (and with `repair`, fixes) the data root.
pub fn check(root: &Root, repair: bool) -> Result<CheckReport, ImageError> {
    let store = ImageStore::new(root);
    let lock = store.lock()?;
    let blobs = store.blobs();
    let layers = LayerStore::new(root);
    let mut report = CheckReport::default();
    let problem = |report: &mut CheckReport, what: String, fixed: bool| {
        report.problems.push(Problem {
            what,
            repaired: fixed,
        })
    };

    // Blobs.
    let mut good_blobs = BTreeSet::new();
    for d in blobs.list()? {
        report.blobs += 1;
        if blobs.verify(&d)? {
            good_blobs.insert(d);
        } else {
            let fixed = repair && blobs.remove(&d).is_ok();
            problem(
                &mut report,
                format!("blob {d} does not hash to its name (corrupt)"),
                fixed,
            );
        }
    }

    // Layers: metadata, content, parent, short link.
    let mut good_layers = BTreeSet::new();
    let entries = std::fs::read_dir(layers.dir()).map_err(|e| ImageError::Invalid {
        what: layers.dir().display().to_string(),
        message: e.to_string(),
    })?;
    let mut metas = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "l" {
            continue;
        }
        report.layers += 1;
        let chain = Digest::parse(&format!("sha256:{name}")).ok();
        match chain.as_ref().map(|c| (c, layers.get(c))) {
            Some((c, Ok(meta))) if meta.chain_id == *c && layers.diff_dir(c).is_dir() => {
                metas.push(meta)
            }
            _ => {
                let fixed = repair && std::fs::remove_dir_all(entry.path()).is_ok();
                problem(
                    &mut report,
                    format!("layer directory {name} is incomplete or misnamed"),
                    fixed,
                );
            }
        }
    }
    let present: BTreeSet<Digest> = metas.iter().map(|m| m.chain_id.clone()).collect();
    for meta in &metas {
        if let Some(p) = &meta.parent {
            if !present.contains(p) {
                let fixed = repair && layers.remove(&meta.chain_id).is_ok();
                problem(
                    &mut report,
                    format!("layer {} has no parent layer {p}", meta.chain_id),
                    fixed,
                );
                continue;
            }
        }
        if std::fs::read_link(layers.dir().join(LayerStore::short_link(&meta.chain_id))).is_err() {
            let fixed = repair && layers.ensure_link(&meta.chain_id).is_ok();
            problem(
                &mut report,
                format!("layer {} has no short link", meta.chain_id),
                fixed,
            );
        }
        good_layers.insert(meta.chain_id.clone());
    }

    // Short links to no layer, left by a store killed before its rename into place. A
    // pull, load or build in progress holds the leases lock, and may have made a link for
    // a layer it is about to rename: links are only looked at when none runs.
    if let Ok(Some(_quiet)) = store.exclusive_lease() {
        let short = layers.dir().join("l");
        for entry in std::fs::read_dir(&short).into_iter().flatten().flatten() {
            if entry.path().metadata().is_err() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let fixed = repair && std::fs::remove_file(entry.path()).is_ok();
                problem(
                    &mut report,
                    format!("short link l/{name} points at no layer"),
                    fixed,
                );
            }
        }
    }

    // Images.
    let mut used_blobs = BTreeSet::new();
    let mut used_layers = BTreeSet::new();
    let mut good_images = BTreeSet::new();
    for entry in std::fs::read_dir(root.path().join("images"))
        .map_err(|e| ImageError::Invalid {
            what: "images".into(),
            message: e.to_string(),
        })?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(hex) = name.strip_suffix(".json") else {
            continue;
        };
        if name == "refs.json" {
            continue;
        }
        report.images += 1;
        let broken = match Digest::parse(&format!("sha256:{hex}"))
            .ok()
            .map(|id| (store.record(&id), id))
        {
            Some((Ok(record), id)) => {
                let mut missing = Vec::new();
                if !good_blobs.contains(&id) {
                    missing.push(format!("its config {id}"));
                } else if store.image(&id).is_err() {
                    missing.push("a readable config".to_string());
                }
                for l in &record.layers {
                    if !good_blobs.contains(&l.blob) {
                        missing.push(format!("layer blob {}", l.blob));
                    }
                }
                for c in record.chain() {
                    if !good_layers.contains(&c) {
                        missing.push(format!("unpacked layer {c}"));
                    }
                }
                if missing.is_empty() {
                    used_blobs.insert(id.clone());
                    used_blobs.extend(record.layers.iter().map(|l| l.blob.clone()));
                    used_layers.extend(record.chain());
                    good_images.insert(id);
                    None
                } else {
                    Some(format!("image {id} lacks {}", missing.join(", ")))
                }
            }
            _ => Some(format!("image record {name} is unreadable")),
        };
        if let Some(what) = broken {
            let fixed = repair && std::fs::remove_file(entry.path()).is_ok();
            problem(&mut report, what, fixed);
        }
    }

    // Names.
    match store.refs() {
        Ok(refs) => {
            for (name, id) in refs {
                let valid = Reference::parse(&name).is_ok();
                if !valid || !good_images.contains(&id) {
                    let fixed = repair
                        && Reference::parse(&name)
                            .ok()
                            .is_some_and(|r| store.untag(&lock, &r).is_ok());
                    problem(
                        &mut report,
                        format!("name {name} points at {id}, which is not a whole image"),
                        fixed,
                    );
                }
            }
        }
        Err(e) => {
            let fixed =
                repair && std::fs::remove_file(root.path().join("images/refs.json")).is_ok();
            problem(&mut report, e.to_string(), fixed);
        }
    }

    // The build cache's entries keep their layers; one that lost some is dropped.
    for (key, held) in crate::engine::image::held::stacks(root) {
        let chain = crate::engine::image::store::layer_chain(&held);
        let whole = chain.iter().all(|c| good_layers.contains(c))
            && held.iter().all(|l| good_blobs.contains(&l.blob));
        if whole {
            used_layers.extend(chain);
            used_blobs.extend(held.into_iter().map(|l| l.blob));
        } else {
            let fixed = repair && crate::engine::image::held::release(root, &key).is_ok();
            problem(
                &mut report,
                format!("build cache entry {key} refers to layers that are gone"),
                fixed,
            );
        }
    }

    // Content no image uses.
    for d in &good_blobs {
        if !used_blobs.contains(d) {
            report.unused_blobs.0 += 1;
            report.unused_blobs.1 += blobs.size(d);
        }
    }
    report.unused_layers = good_layers.difference(&used_layers).count();
    Ok(report)
}
