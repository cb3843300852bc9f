//! A layer tarball made from changes: what a container or a build step changed, read from
//! the directory that holds it (an overlay upper dir or a full copy). Entries go in path
//! order, every parent directory before what it holds, deletions as OCI whiteouts
//! (`.wh.NAME`), files with several links in the layer as hard links, extended attributes as
//! PAX records (overlay's own `trusted.overlay.*` left out), so the same changes always give
//! the same bytes and so the same diff id.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header, HeaderMode};

use crate::model::{ChangeKind, FileChange};

/// Writes the layer of `changes` (paths absolute, as `diff` gives them), read from `base`,
/// to `out` as a tar stream.
pub fn write_layer(
    base: &Path,
    changes: &[FileChange],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut plan: BTreeSet<PathBuf> = BTreeSet::new();
    let mut whiteouts: BTreeSet<PathBuf> = BTreeSet::new();
    for c in changes {
        let rel = PathBuf::from(c.path.trim_start_matches('/'));
        if rel.as_os_str().is_empty() {
            continue;
        }
        // Every parent goes in first, as Docker's layers have them.
        for a in rel.ancestors().skip(1) {
            if !a.as_os_str().is_empty() {
                plan.insert(a.to_path_buf());
            }
        }
        match c.kind {
            ChangeKind::Deleted => {
                let name = rel.file_name().unwrap_or_default().to_string_lossy();
                let parent = rel.parent().unwrap_or(Path::new(""));
                whiteouts.insert(parent.join(format!(".wh.{name}")));
            }
            ChangeKind::Added | ChangeKind::Changed => {
                plan.insert(rel);
            }
        }
    }
    let mut writer = LayerWriter {
        base,
        tar: tar::Builder::new(out),
        links: HashMap::new(),
    };
    // Sorted together, so a whiteout sits beside the entries of its directory.
    let mut all: Vec<(PathBuf, bool)> = plan.into_iter().map(|p| (p, false)).collect();
    all.extend(whiteouts.into_iter().map(|p| (p, true)));
    all.sort();
    for (rel, whiteout) in all {
        if whiteout {
            writer.whiteout(&rel)?;
        } else {
            writer.entry(&rel)?;
        }
    }
    writer.tar.finish()
}

struct LayerWriter<'a> {
    base: &'a Path,
    tar: tar::Builder<&'a mut dyn Write>,
    /// The first path written of each inode with more links than one.
    links: HashMap<(u64, u64), PathBuf>,
}

impl LayerWriter<'_> {
    fn whiteout(&mut self, rel: &Path) -> std::io::Result<()> {
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(0);
        h.set_mtime(0);
        self.tar.append_data(&mut h, rel, std::io::empty())
    }

    fn entry(&mut self, rel: &Path) -> std::io::Result<()> {
        let path = self.base.join(rel);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            // A parent the change list implies but the directory lacks (a copy snapshot
            // changed under it): nothing to write for it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let xattrs = xattrs(&path);
        if !xattrs.is_empty() {
            self.tar
                .append_pax_extensions(xattrs.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        }
        let mut h = Header::new_gnu();
        h.set_metadata_in_mode(&meta, HeaderMode::Complete);
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(&path)?;
            h.set_size(0);
            return self.tar.append_link(&mut h, rel, target);
        }
        if ft.is_file() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key) {
                h.set_entry_type(EntryType::Link);
                h.set_size(0);
                let first = first.clone();
                return self.tar.append_link(&mut h, rel, first);
            }
            self.links.insert(key, rel.to_path_buf());
        }
        if ft.is_file() {
            let file = std::fs::File::open(&path)?;
            return self.tar.append_data(&mut h, rel, file);
        }
        h.set_size(0);
        if ft.is_dir() {
            // Directories carry a trailing slash, as in Docker's layers.
            let mut name = rel.as_os_str().to_owned();
            name.push("/");
            return self.tar.append_data(&mut h, name, std::io::empty());
        }
        // Devices, fifos and sockets: the header says all.
        self.tar.append_data(&mut h, rel, std::io::empty())
    }
}

/// The extended attributes a layer keeps, as PAX record names and values.
fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let Ok(n) = rustix::fs::llistxattr(path, &mut names) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name.starts_with("trusted.overlay.") {
            continue;
        }
        let mut value = vec![0u8; 65536];
        if let Ok(len) = rustix::fs::lgetxattr(path, name, &mut value) {
            value.truncate(len);
            out.push((format!("SCHILY.xattr.{name}"), value));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: ChangeKind) -> FileChange {
        FileChange {
            path: path.into(),
            kind,
        }
    }

    fn entries(tar: &[u8]) -> Vec<(String, EntryType)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().entry_type(),
                )
            })
            .collect()
    }

    #[test]
    fn parents_first_whiteouts_and_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path();
        std::fs::create_dir_all(b.join("etc/app")).unwrap();
        std::fs::write(b.join("etc/app/conf"), "x=1\n").unwrap();
        std::fs::hard_link(b.join("etc/app/conf"), b.join("etc/conf.link")).unwrap();
        std::os::unix::fs::symlink("app/conf", b.join("etc/short")).unwrap();
        let changes = vec![
            change("/etc/app", ChangeKind::Added),
            change("/etc/app/conf", ChangeKind::Added),
            change("/etc/conf.link", ChangeKind::Added),
            change("/etc/old", ChangeKind::Deleted),
            change("/etc/short", ChangeKind::Added),
        ];
        let mut one = Vec::new();
        write_layer(b, &changes, &mut one).unwrap();
        let mut two = Vec::new();
        write_layer(b, &changes, &mut two).unwrap();
        assert_eq!(one, two, "the same changes give the same bytes");
        assert_eq!(
            entries(&one),
            [
                ("etc/".to_string(), EntryType::Directory),
                ("etc/.wh.old".to_string(), EntryType::Regular),
                ("etc/app/".to_string(), EntryType::Directory),
                ("etc/app/conf".to_string(), EntryType::Regular),
                ("etc/conf.link".to_string(), EntryType::Link),
                ("etc/short".to_string(), EntryType::Symlink),
            ]
        );
    }
}
