//! COPY, ADD and WORKDIR's directory: the files to write (from the context with
//! `.dockerignore` applied, from another stage or image, from a heredoc, or a local tarball
//! ADD unpacks), a digest of them for the cache, and the file step that writes them into the
//! build's root filesystem — mounted in a mount namespace of the step's own thread, so
//! nothing stays mounted whatever happens — whose changes become the step's layer.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::BuildError;
use super::state::State;
use crate::engine::container::files;
use crate::engine::image::{ImageStore, LayerRef, compose};
use crate::engine::layer::changes::{self, ImageView};
use crate::engine::layer::{Driver, Snapshotter};
use crate::engine::store::temp_path;
use crate::model::dockerignore::{Ignore, clean, pattern};

/// Where sources are read from: the context (with its ignore file) or another stage's or
/// image's root filesystem.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The directory.
    pub root: PathBuf,
    /// Patterns left out (the context's).
    pub ignore: Option<Ignore>,
}

/// One source found: its path under the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Path relative to the tree's root, cleaned.
    pub rel: String,
}

/// A file to write: where under the destination, and what.
#[derive(Debug, Clone)]
enum Entry {
    Dir,
    File(PathBuf),
    Link(PathBuf),
    Data(Vec<u8>),
}

/// What one COPY or ADD writes, relative to its destination.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Entries by path under the destination ("" is the destination itself), with the
    /// metadata of their source (mode, owner, time) when they have one.
    entries: BTreeMap<PathBuf, (EntryKind, Option<std::fs::Metadata>)>,
    /// Tarballs to unpack into the destination (ADD).
    tars: Vec<PathBuf>,
    /// The name of the one file that is the destination, should the destination turn out
    /// to be a directory.
    single_name: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct EntryKind(Entry);

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

impl Tree {
    fn excluded(&self, rel: &str) -> bool {
        self.ignore.as_ref().is_some_and(|i| i.excludes(rel))
    }

    /// The sources `given` names: a path, or a pattern matched element by element.
    pub fn resolve(&self, given: &str) -> Result<Vec<Source>, String> {
        let rel = clean(given);
        if !has_glob(&rel) {
            let found = files::resolve(&self.root, &rel).map_err(|e| e.to_string())?;
            if found.is_none() || self.excluded(&rel) {
                return Err(format!(
                    "{given}: not found in the build context or left out by .dockerignore"
                ));
            }
            return Ok(vec![Source { rel }]);
        }
        let mut at = vec![String::new()];
        for part in rel.split('/') {
            let re = pattern(part).map_err(|e| format!("{given}: {e}"))?;
            let mut next = Vec::new();
            for dir in &at {
                let host = self.root.join(dir);
                let Ok(list) = std::fs::read_dir(&host) else {
                    continue;
                };
                let mut names: Vec<String> = list
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| re.is_match(n))
                    .collect();
                names.sort();
                for n in names {
                    let child = if dir.is_empty() {
                        n
                    } else {
                        format!("{dir}/{n}")
                    };
                    if !self.excluded(&child) {
                        next.push(child);
                    }
                }
            }
            at = next;
        }
        if at.is_empty() {
            return Err(format!(
                "{given}: no file in the build context matches it (after .dockerignore)"
            ));
        }
        Ok(at.into_iter().map(|rel| Source { rel }).collect())
    }

    /// Everything under `rel` (itself first), as paths relative to it, sorted, with what is
    /// left out skipped.
    fn walk(&self, rel: &str) -> Vec<(PathBuf, PathBuf, std::fs::Metadata)> {
        let mut out = Vec::new();
        let Ok(Some(top)) = files::resolve(&self.root, rel) else {
            return out;
        };
        let Ok(meta) = std::fs::metadata(&top) else {
            return out;
        };
        out.push((PathBuf::new(), top.clone(), meta.clone()));
        if meta.is_dir() {
            self.walk_dir(&top, Path::new(""), rel, &mut out);
        }
        out
    }

    fn walk_dir(
        &self,
        host: &Path,
        under: &Path,
        rel: &str,
        out: &mut Vec<(PathBuf, PathBuf, std::fs::Metadata)>,
    ) {
        let Ok(list) = std::fs::read_dir(host.join(under)) else {
            return;
        };
        let mut names: Vec<_> = list.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let child = under.join(&name);
            let ctx_rel = Path::new(rel).join(&child).display().to_string();
            let Ok(meta) = std::fs::symlink_metadata(host.join(&child)) else {
                continue;
            };
            let excluded = self.excluded(&ctx_rel);
            if !excluded {
                out.push((child.clone(), host.join(&child), meta.clone()));
            }
            let walk_in = !excluded || self.ignore.as_ref().is_some_and(Ignore::has_exceptions);
            if meta.is_dir() && walk_in {
                self.walk_dir(host, &child, rel, out);
            }
        }
    }
}

impl Plan {
    /// Adds a source; `into_dir` puts it under its own name (a file into a directory
    /// destination), else it is the destination (a file) or fills it (a directory).
    pub fn add_source(&mut self, tree: &Tree, source: &Source, into_dir: bool) {
        let walked = tree.walk(&source.rel);
        let is_dir = walked.first().is_some_and(|(_, _, m)| m.is_dir());
        let name = Path::new(&source.rel)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default();
        for (rel, host, meta) in walked {
            let at = if is_dir {
                if rel.as_os_str().is_empty() {
                    continue;
                }
                rel
            } else if into_dir {
                name.clone()
            } else {
                self.single_name = Some(name.clone());
                PathBuf::new()
            };
            let kind = if meta.is_dir() {
                Entry::Dir
            } else if meta.file_type().is_symlink() {
                match std::fs::read_link(&host) {
                    Ok(t) => Entry::Link(t),
                    Err(_) => continue,
                }
            } else if meta.is_file() {
                Entry::File(host)
            } else {
                continue;
            };
            self.entries.insert(at, (EntryKind(kind), Some(meta)));
        }
    }

    /// Adds a file named `name` with the given content (a heredoc), mode 0644: under the
    /// destination when `into_dir`, else as the destination.
    pub fn add_data(&mut self, name: &str, into_dir: bool, data: Vec<u8>) {
        let at = if into_dir {
            PathBuf::from(name)
        } else {
            self.single_name = Some(PathBuf::from(name));
            PathBuf::new()
        };
        self.entries
            .insert(at, (EntryKind(Entry::Data(data)), None));
    }

    /// Whether an entry is the destination itself (one file copied to a file path).
    pub fn writes_destination(&self) -> bool {
        self.entries.contains_key(Path::new(""))
    }

    /// Adds a tarball to unpack into the destination.
    pub fn add_tar(&mut self, host: PathBuf) {
        self.tars.push(host);
    }

    /// A digest of what the plan writes, for the cache: paths, types, modes, owners, sizes,
    /// contents and link targets (times left out, as Docker's cache does).
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (at, (EntryKind(kind), meta)) in &self.entries {
            h.update(at.as_os_str().as_encoded_bytes());
            h.update([0]);
            if let Some(m) = meta {
                h.update(format!(
                    "{:o} {} {} {}",
                    m.mode(),
                    m.uid(),
                    m.gid(),
                    m.len()
                ));
            }
            match kind {
                Entry::Dir => h.update(b"dir"),
                Entry::Link(t) => h.update(t.as_os_str().as_encoded_bytes()),
                Entry::Data(d) => h.update(d),
                Entry::File(p) => hash_file(&mut h, p),
            }
            h.update([0]);
        }
        for t in &self.tars {
            h.update(b"tar");
            hash_file(&mut h, t);
        }
        format!("{:x}", h.finalize())
    }

    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.tars.is_empty()
    }
}

fn hash_file(h: &mut Sha256, p: &Path) {
    if let Ok(mut f) = std::fs::File::open(p) {
        let _ = std::io::copy(&mut f, h);
    }
}

/// How written files are owned and what mode they get.
#[derive(Debug, Clone, Default)]
pub struct Ownership {
    /// `--chown` as written (names are looked up in the destination's /etc files).
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<u32>,
    /// Keep the sources' owners (another stage's files) rather than making them root's.
    pub keep: bool,
}

/// Parses `--chmod`: octal.
pub fn parse_chmod(value: &str) -> Result<u32, String> {
    u32::from_str_radix(value, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("--chmod={value}: write an octal mode such as 0755"))
}

/// A user or group, by number or by name in the file `db` (`/etc/passwd` or `/etc/group`).
fn id_of(rootfs: &Path, db: &str, name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse() {
        return Ok(n);
    }
    let path = files::resolve(rootfs, db).ok().flatten();
    let text = path
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[0] == name)
                .then(|| f[2].parse().ok())
                .flatten()
        })
        .next()
        .ok_or_else(|| format!("--chown: no {name} in the image's {db}"))
}

fn owner(rootfs: &Path, chown: &str) -> Result<(u32, u32), String> {
    let (user, group) = match chown.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (chown, None),
    };
    let uid = id_of(rootfs, "/etc/passwd", user)?;
    let gid = match group {
        Some(g) => id_of(rootfs, "/etc/group", g)?,
        // A user alone: its primary group, or the same number.
        None => files::resolve(rootfs, "/etc/passwd")
            .ok()
            .flatten()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| {
                t.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() > 3 && f[0] == user)
                        .then(|| f[3].parse().ok())
                        .flatten()
                })
            })
            .unwrap_or(uid),
    };
    Ok((uid, gid))
}

/// Writes `plan` at `dest` (absolute; a directory when `dest_is_dir`) in `rootfs`.
pub fn write(
    rootfs: &Path,
    plan: &Plan,
    dest: &str,
    dest_is_dir: bool,
    own: &Ownership,
) -> Result<(), String> {
    let chown = own.chown.as_deref().map(|c| owner(rootfs, c)).transpose()?;
    let err =
        |what: &str, p: &Path, e: std::io::Error| format!("cannot {what} {}: {e}", p.display());
    // The destination directory (made, symlinks followed inside the root filesystem).
    let (dir, leaf) = if dest_is_dir {
        (dest.to_string(), None)
    } else {
        let p = Path::new(dest);
        (
            p.parent().unwrap_or(Path::new("/")).display().to_string(),
            p.file_name().map(PathBuf::from),
        )
    };
    let made = |inside: &str| -> Result<PathBuf, String> {
        files::mount_point(rootfs, inside, false)
            .map(|real| rootfs.join(real.trim_start_matches('/')))
            .map_err(|e| e.to_string())
    };
    let base = made(&dir)?;
    let mut dirs: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    dirs.insert(PathBuf::new(), base.clone());
    let mut times: Vec<(PathBuf, std::fs::Metadata)> = Vec::new();
    for (at, (EntryKind(kind), meta)) in &plan.entries {
        let at = if at.as_os_str().is_empty() {
            match (&leaf, &plan.single_name) {
                (Some(l), _) => l.clone(),
                (None, Some(n)) => n.clone(),
                (None, None) => continue,
            }
        } else {
            match &leaf {
                Some(l) => l.join(at),
                None => at.clone(),
            }
        };
        let (parent_rel, name) = match (at.parent(), at.file_name()) {
            (Some(p), Some(n)) => (p.to_path_buf(), n.to_owned()),
            _ => {
                // The destination directory itself (a source directory's top).
                continue;
            }
        };
        let parent = match dirs.get(&parent_rel) {
            Some(p) => p.clone(),
            None => {
                let inside = Path::new(&dir).join(&parent_rel).display().to_string();
                let p = made(&inside)?;
                dirs.insert(parent_rel.clone(), p.clone());
                p
            }
        };
        let target = parent.join(&name);
        let existing = std::fs::symlink_metadata(&target).ok();
        match kind {
            Entry::Dir => {
                match &existing {
                    Some(m) if m.is_dir() => {}
                    Some(_) => {
                        std::fs::remove_file(&target).map_err(|e| err("replace", &target, e))?;
                        std::fs::create_dir(&target).map_err(|e| err("create", &target, e))?;
                    }
                    None => std::fs::create_dir(&target).map_err(|e| err("create", &target, e))?,
                }
                dirs.insert(at.clone(), target.clone());
            }
            other => {
                if let Some(m) = &existing {
                    if m.is_dir() {
                        std::fs::remove_dir_all(&target).map_err(|e| err("replace", &target, e))?;
                    } else {
                        std::fs::remove_file(&target).map_err(|e| err("replace", &target, e))?;
                    }
                }
                match other {
                    Entry::File(src) => {
                        std::fs::copy(src, &target).map_err(|e| err("write", &target, e))?;
                    }
                    Entry::Data(d) => {
                        std::fs::write(&target, d).map_err(|e| err("write", &target, e))?;
                    }
                    Entry::Link(t) => {
                        std::os::unix::fs::symlink(t, &target)
                            .map_err(|e| err("link", &target, e))?;
                    }
                    Entry::Dir => unreachable!("handled above"),
                }
            }
        }
        let is_link = matches!(kind, Entry::Link(_));
        let (uid, gid) = match (chown, meta) {
            (Some(o), _) => o,
            (None, Some(m)) if own.keep => (m.uid(), m.gid()),
            _ => (0, 0),
        };
        std::os::unix::fs::lchown(&target, Some(uid), Some(gid))
            .map_err(|e| err("chown", &target, e))?;
        if !is_link {
            let mode = match (own.chmod, meta) {
                (Some(m), _) => m,
                (None, Some(m)) => m.mode() & 0o7777,
                (None, None) => 0o644,
            };
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                .map_err(|e| err("set the mode of", &target, e))?;
            if let Some(m) = meta {
                times.push((target.clone(), m.clone()));
            }
        }
    }
    for t in &plan.tars {
        unpack_tar(t, &base)?;
    }
    // Times last, deepest first, so writing into a directory does not change its own.
    for (p, m) in times.iter().rev() {
        let t = std::time::UNIX_EPOCH
            + std::time::Duration::new(m.mtime().max(0) as u64, m.mtime_nsec() as u32);
        if let Ok(f) = std::fs::File::open(p) {
            let _ = f.set_modified(t);
        }
    }
    Ok(())
}

/// Unpacks a local tarball (plain, gzip or zstd) into `dir`, refusing entries that leave it.
fn unpack_tar(tar: &Path, dir: &Path) -> Result<(), String> {
    let file =
        std::fs::File::open(tar).map_err(|e| format!("cannot open {}: {e}", tar.display()))?;
    let stream = crate::engine::layer::decompress(file)
        .map_err(|e| format!("cannot read {}: {e}", tar.display()))?;
    let mut archive = tar::Archive::new(stream);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    for entry in archive
        .entries()
        .map_err(|e| format!("{}: not a tar archive: {e}", tar.display()))?
    {
        let mut entry = entry.map_err(|e| format!("{}: not a tar archive: {e}", tar.display()))?;
        let inside = entry
            .unpack_in(dir)
            .map_err(|e| format!("cannot unpack {}: {e}", tar.display()))?;
        if !inside {
            return Err(format!(
                "{}: an entry would be written outside the destination",
                tar.display()
            ));
        }
    }
    Ok(())
}

/// Whether a local file is a tarball ADD unpacks.
pub fn is_tarball(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(stream) = crate::engine::layer::decompress(file) else {
        return false;
    };
    let mut head = [0u8; 512];
    let mut r = stream;
    let mut got = 0;
    while got < head.len() {
        match std::io::Read::read(&mut r, &mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got == 512 && &head[257..262] == b"ustar"
}

/// Runs `work` on the root filesystem of `state` (and of `from`, read from) mounted in a
/// mount namespace of this step's own thread; what it changed becomes a layer.
pub fn file_step(
    images: &ImageStore,
    driver: Driver,
    tmp: &Path,
    state: &State,
    from: Option<&State>,
    work: impl FnOnce(&Path, Option<&Path>) -> Result<(), BuildError> + Send,
) -> Result<LayerRef, BuildError> {
    let chain = state.chain();
    let snaps = Snapshotter::new(images.layers(), driver);
    let dir = temp_path(tmp, "build-step");
    let from_dir = temp_path(tmp, "build-from");
    let result = crate::engine::container::in_own_mount_namespace(|| {
        std::fs::create_dir_all(&dir).map_err(|e| BuildError::Invalid(e.to_string()))?;
        let rootfs = snaps
            .prepare(&chain, &dir)
            .map_err(crate::engine::container::ContainerError::from)?;
        let from_rootfs = match from {
            Some(f) => {
                std::fs::create_dir_all(&from_dir)
                    .map_err(|e| BuildError::Invalid(e.to_string()))?;
                Some(
                    snaps
                        .prepare(&f.chain(), &from_dir)
                        .map_err(crate::engine::container::ContainerError::from)?,
                )
            }
            None => None,
        };
        work(&rootfs, from_rootfs.as_deref())?;
        let layers = images.layers();
        let view = ImageView::new(chain.iter().map(|c| layers.diff_dir(c)).collect());
        let (base, found) = match driver {
            Driver::Overlay => {
                let _ = snaps.release(&dir);
                let upper = dir.join("upper");
                let found = changes::from_upper(&upper, &view);
                (upper, found)
            }
            Driver::Copy => {
                let found = changes::from_copy(&rootfs, &view);
                (rootfs, found)
            }
        };
        Ok(compose::add_layer(images, chain.last(), &base, &found)?)
    });
    for d in [&dir, &from_dir] {
        let _ = snaps.remove(d);
        let _ = std::fs::remove_dir_all(d);
    }
    result
}
