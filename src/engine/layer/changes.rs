//! What a container changed in its root filesystem compared with its image (`diff`): read
//! from the overlay upper directory (a whiteout is a deletion; a path the image has is a
//! change, any other an addition), or, for a copy snapshot, by comparing the copy with the
//! image's layers entry by entry.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::snapshot::{is_opaque, is_whiteout};
use crate::model::{ChangeKind, FileChange};

/// The image's merged view, read from its layer directories without mounting them.
pub struct ImageView {
    /// Layer directories, top first.
    layers: Vec<PathBuf>,
}

impl ImageView {
    /// The view of `layers` given bottom first, as a chain is.
    pub fn new(mut layers: Vec<PathBuf>) -> ImageView {
        layers.reverse();
        ImageView { layers }
    }

    /// The entry at `rel` in one layer, found without following links on the way.
    fn in_layer(layer: &Path, rel: &Path) -> InLayer {
        let parts: Vec<_> = rel.components().collect();
        let mut at = layer.to_path_buf();
        let mut opaque_above = false;
        for (i, part) in parts.iter().enumerate() {
            let here = at.join(part);
            match std::fs::symlink_metadata(&here) {
                Ok(m) if is_whiteout(&m) => return InLayer::Hidden,
                Ok(m) if i + 1 == parts.len() => return InLayer::Found(here, m),
                Ok(m) if m.is_dir() => {
                    opaque_above |= is_opaque(&here);
                    at = here;
                }
                // A file (or link) where the path needs a directory shadows lower layers.
                Ok(_) => return InLayer::Hidden,
                Err(_) if opaque_above => return InLayer::Hidden,
                Err(_) => return InLayer::Absent,
            }
        }
        match std::fs::symlink_metadata(layer) {
            Ok(m) => InLayer::Found(layer.to_path_buf(), m),
            Err(_) => InLayer::Absent,
        }
    }

    /// The entry at `rel` as the image shows it, and where it lives.
    fn find(&self, rel: &Path) -> Option<(PathBuf, Metadata)> {
        for layer in &self.layers {
            match Self::in_layer(layer, rel) {
                InLayer::Found(p, m) => return Some((p, m)),
                InLayer::Hidden => return None,
                InLayer::Absent => {}
            }
        }
        None
    }

    /// The entry at `rel` as the image shows it.
    pub fn lookup(&self, rel: &Path) -> Option<Metadata> {
        self.find(rel).map(|(_, m)| m)
    }

    /// The entries of directory `rel` as the image shows it.
    fn children(&self, rel: &Path) -> BTreeMap<OsString, Metadata> {
        let mut seen: BTreeMap<OsString, Option<Metadata>> = BTreeMap::new();
        for layer in &self.layers {
            match Self::in_layer(layer, rel) {
                InLayer::Found(dir, m) if m.is_dir() => {
                    if let Ok(entries) = std::fs::read_dir(&dir) {
                        for e in entries.flatten() {
                            if let Ok(m) = e.metadata() {
                                let hidden = is_whiteout(&m);
                                seen.entry(e.file_name())
                                    .or_insert_with(|| (!hidden).then_some(m));
                            }
                        }
                    }
                    if is_opaque(&dir) {
                        break;
                    }
                }
                InLayer::Absent => {}
                InLayer::Found(..) | InLayer::Hidden => break,
            }
        }
        seen.into_iter()
            .filter_map(|(k, v)| v.map(|m| (k, m)))
            .collect()
    }
}

/// What one layer says of a path.
enum InLayer {
    /// There, at this host path.
    Found(PathBuf, Metadata),
    /// Deleted here (or shadowed): lower layers do not count.
    Hidden,
    /// Not in this layer: ask the one below.
    Absent,
}

fn push(out: &mut Vec<FileChange>, rel: &Path, kind: ChangeKind) {
    out.push(FileChange {
        path: format!("/{}", rel.display()),
        kind,
    });
}

/// Everything under `dir` (a directory added as a whole) as additions.
fn all_added(base: &Path, rel: &Path, out: &mut Vec<FileChange>) {
    let Ok(entries) = std::fs::read_dir(base.join(rel)) else {
        return;
    };
    for e in entries.flatten() {
        let child = rel.join(e.file_name());
        push(out, &child, ChangeKind::Added);
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            all_added(base, &child, out);
        }
    }
}

/// The changes recorded in an overlay upper directory over `image`.
pub fn from_upper(upper: &Path, image: &ImageView) -> Vec<FileChange> {
    let mut out = Vec::new();
    walk_upper(upper, Path::new(""), image, &mut out);
    out.sort();
    out
}

fn walk_upper(upper: &Path, rel: &Path, image: &ImageView, out: &mut Vec<FileChange>) {
    let Ok(entries) = std::fs::read_dir(upper.join(rel)) else {
        return;
    };
    for e in entries.flatten() {
        let child = rel.join(e.file_name());
        let Ok(meta) = e.metadata() else { continue };
        if is_whiteout(&meta) {
            if image.lookup(&child).is_some() {
                push(out, &child, ChangeKind::Deleted);
            }
            continue;
        }
        match image.lookup(&child) {
            Some(_) => {
                push(out, &child, ChangeKind::Changed);
                if meta.is_dir() {
                    if is_opaque(&upper.join(&child)) {
                        // Emptied and refilled: what the image had and the upper lacks is gone.
                        let upper_dir = upper.join(&child);
                        for name in image.children(&child).keys() {
                            if std::fs::symlink_metadata(upper_dir.join(name)).is_err() {
                                push(out, &child.join(name), ChangeKind::Deleted);
                            }
                        }
                    }
                    walk_upper(upper, &child, image, out);
                }
            }
            None => {
                push(out, &child, ChangeKind::Added);
                if meta.is_dir() {
                    all_added(upper, &child, out);
                }
            }
        }
    }
}

/// Whether two entries differ the way `diff` cares about: type, mode, owner, size, time,
/// or a link's target.
fn differs(a: &Metadata, a_path: &Path, b: &Metadata, b_path: &Path) -> bool {
    if a.file_type() != b.file_type()
        || a.mode() != b.mode()
        || a.uid() != b.uid()
        || a.gid() != b.gid()
    {
        return true;
    }
    if a.file_type().is_symlink() {
        return std::fs::read_link(a_path).ok() != std::fs::read_link(b_path).ok();
    }
    if a.is_dir() {
        return a.mtime() != b.mtime() || a.mtime_nsec() != b.mtime_nsec();
    }
    a.size() != b.size() || a.mtime() != b.mtime() || a.mtime_nsec() != b.mtime_nsec()
}

/// The changes of a full copy `rootfs` against `image`.
pub fn from_copy(rootfs: &Path, image: &ImageView) -> Vec<FileChange> {
    let mut out = Vec::new();
    walk_copy(rootfs, Path::new(""), image, &mut out);
    out.sort();
    out
}

fn walk_copy(rootfs: &Path, rel: &Path, image: &ImageView, out: &mut Vec<FileChange>) {
    let mut before = image.children(rel);
    let Ok(entries) = std::fs::read_dir(rootfs.join(rel)) else {
        return;
    };
    for e in entries.flatten() {
        let child = rel.join(e.file_name());
        let Ok(meta) = e.metadata() else { continue };
        match before.remove(&e.file_name()) {
            None => {
                push(out, &child, ChangeKind::Added);
                if meta.is_dir() {
                    all_added(rootfs, &child, out);
                }
            }
            Some(old) => {
                let old_path = image.find(&child).map(|(p, _)| p).unwrap_or_default();
                if differs(&meta, &e.path(), &old, &old_path) {
                    push(out, &child, ChangeKind::Changed);
                }
                if meta.is_dir() && old.is_dir() {
                    walk_copy(rootfs, &child, image, out);
                }
            }
        }
    }
    for name in before.keys() {
        push(out, &rel.join(name), ChangeKind::Deleted);
    }
}

/// Leaves out what the runtime made rather than the container: the empty mount points it
/// created (`mount_points`, absolute paths), and directories that show as changed only
/// because they hold them. `base` is where the changes were read (upper dir or copy).
pub fn without_mount_points(
    changes: Vec<FileChange>,
    mount_points: &[String],
    base: &Path,
    image: &ImageView,
) -> Vec<FileChange> {
    let rel = |path: &str| PathBuf::from(path.trim_start_matches('/'));
    let empty = |path: &str| {
        let p = base.join(rel(path));
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => std::fs::read_dir(&p).is_ok_and(|mut d| d.next().is_none()),
            Ok(m) => m.is_file() && m.len() == 0,
            Err(_) => false,
        }
    };
    let kept: Vec<FileChange> = changes
        .into_iter()
        .filter(|c| {
            !(c.kind == ChangeKind::Added && mount_points.contains(&c.path) && empty(&c.path))
        })
        .collect();
    let has_changes_under = |dir: &str| {
        let prefix = format!("{dir}/");
        kept.iter().any(|c| c.path.starts_with(&prefix))
    };
    let same_as_image = |path: &str| {
        let (Ok(now), Some(before)) = (
            std::fs::symlink_metadata(base.join(rel(path))),
            image.lookup(&rel(path)),
        ) else {
            return false;
        };
        now.is_dir()
            && before.is_dir()
            && now.mode() == before.mode()
            && now.uid() == before.uid()
            && now.gid() == before.gid()
            && !is_opaque(&base.join(rel(path)))
    };
    kept.iter()
        .filter(|c| {
            !(c.kind == ChangeKind::Changed
                && !has_changes_under(&c.path)
                && same_as_image(&c.path))
        })
        .cloned()
        .collect()
}
