//! Safe unpacking of a layer tarball into an empty directory, in the form overlayfs reads:
//! an OCI whiteout `.wh.NAME` becomes a 0/0 character device `NAME`, and `.wh..wh..opq` marks
//! its directory opaque (`trusted.overlay.opaque=y`). Modes, owners, times, xattrs, symlinks
//! and hardlinks are kept.
//!
//! Anything that would write outside the directory is refused with an error naming the entry,
//! as Docker does: absolute paths, `..`, entries whose parent is a symlink (writing through
//! it), hardlinks to absolute or escaping targets or through symlinks, and device nodes.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Why a layer was refused.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// An entry would land outside the layer, or is of a kind a layer must not hold.
    #[error("refused layer entry {entry:?}: {reason}")]
    Refused {
        /// The entry's path in the tarball.
        entry: String,
        /// What rule it breaks.
        reason: String,
    },
    /// The tarball is unreadable or a write failed.
    #[error("cannot unpack {entry:?} into {dest}: {source}")]
    Io {
        /// The entry, or empty for the archive itself.
        entry: String,
        /// The layer directory.
        dest: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What an unpack did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackReport {
    /// Entries written.
    pub entries: usize,
    /// Whiteouts turned into 0/0 character devices.
    pub whiteouts: usize,
    /// Directories marked opaque.
    pub opaque_dirs: usize,
    /// Bytes of file content written.
    pub bytes: u64,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// The entry's path as plain relative components (empty for the layer's own `./`); `None`
/// when absolute or with `..`.
fn relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Whether any existing ancestor of `rel` under `dest` is a symlink (writing there would go
/// wherever the link points).
fn through_symlink(dest: &Path, rel: &Path) -> bool {
    let mut p = dest.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in &parts[..parts.len().saturating_sub(1)] {
        p.push(c);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// Unpacks a layer into `dest` (an existing, empty directory).
pub fn unpack(reader: impl Read, dest: &Path) -> Result<UnpackReport, UnpackError> {
    let io = |entry: &str| {
        let entry = entry.to_string();
        move |source| UnpackError::Io {
            entry,
            dest: dest.to_path_buf(),
            source,
        }
    };
    let refuse = |entry: &Path, reason: &str| UnpackError::Refused {
        entry: entry.display().to_string(),
        reason: reason.to_string(),
    };
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(true);
    archive.set_unpack_xattrs(true);
    archive.set_overwrite(true);
    let mut report = UnpackReport::default();
    for entry in archive.entries().map_err(io(""))? {
        let mut entry = entry.map_err(io(""))?;
        let raw = entry.path().map_err(io(""))?.into_owned();
        let rel = relative(&raw).ok_or_else(|| {
            refuse(
                &raw,
                "absolute paths and \"..\" would write outside the layer",
            )
        })?;
        if rel.as_os_str().is_empty() {
            // `./`, the layer's root itself, as `tar -C dir -c .` writes it.
            continue;
        }
        if through_symlink(dest, &rel) {
            return Err(refuse(
                &raw,
                "its parent is a symlink; writing through it could land outside the layer",
            ));
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = dest.join(rel.parent().unwrap_or(Path::new("")));
        let shown = raw.display().to_string();
        if name == OPAQUE {
            std::fs::create_dir_all(&parent).map_err(io(&shown))?;
            rustix::fs::lsetxattr(
                &parent,
                "trusted.overlay.opaque",
                b"y",
                rustix::fs::XattrFlags::empty(),
            )
            .map_err(|e| io(&shown)(e.into()))?;
            report.opaque_dirs += 1;
            continue;
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            if hidden.is_empty() || hidden.contains('/') {
                return Err(refuse(&raw, "a whiteout must name a file"));
            }
            std::fs::create_dir_all(&parent).map_err(io(&shown))?;
            let target = parent.join(hidden);
            let _ = std::fs::remove_file(&target);
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &target,
                rustix::fs::FileType::CharacterDevice,
                rustix::fs::Mode::empty(),
                rustix::fs::makedev(0, 0),
            )
            .map_err(|e| io(&shown)(e.into()))?;
            report.whiteouts += 1;
            continue;
        }
        let kind = entry.header().entry_type();
        if kind.is_character_special() || kind.is_block_special() {
            return Err(refuse(&raw, "device nodes do not belong in an image layer"));
        }
        if kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(io(&shown))?
                .ok_or_else(|| refuse(&raw, "a hardlink without a target"))?;
            let target_rel = relative(&target)
                .filter(|t| !t.as_os_str().is_empty())
                .ok_or_else(|| {
                    refuse(
                        &raw,
                        "a hardlink to an absolute or \"..\" path points outside the layer",
                    )
                })?;
            let full = dest.join(&target_rel);
            if through_symlink(dest, &target_rel)
                || std::fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_symlink())
            {
                return Err(refuse(
                    &raw,
                    "a hardlink through a symlink could point outside the layer",
                ));
            }
        }
        report.bytes += entry.header().size().unwrap_or(0);
        let written = entry.unpack_in(dest).map_err(io(&shown))?;
        if !written {
            return Err(refuse(&raw, "the entry would be written outside the layer"));
        }
        report.entries += 1;
    }
    Ok(report)
}
