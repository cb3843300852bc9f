//! The demo containers' files: a few per container, kept in memory, so that `cp` both ways and
//! `cat` in a demo shell behave as on a real container. Paths are absolute and normalised;
//! archives use docker's layout (the copied item's name at the top).

use std::collections::BTreeMap;
use std::io::Read;

use super::archive::append;
use crate::backend::error::{BackendError, Result};

/// Files of one container by absolute path.
pub type Files = BTreeMap<String, Vec<u8>>;

/// The files every demo container starts with.
pub fn initial(hostname: &str) -> Files {
    Files::from([
        (
            "/etc/hostname".to_string(),
            format!("{hostname}\n").into_bytes(),
        ),
        (
            "/etc/os-release".to_string(),
            b"NAME=\"dockhand demo\"\nID=demo\n".to_vec(),
        ),
        (
            "/etc/motd".to_string(),
            b"Welcome to a dockhand demo container.\n".to_vec(),
        ),
    ])
}

/// `/a//b/./c/` → `/a/b/c`; `..` is refused.
pub fn normalize(path: &str) -> Result<String> {
    let mut parts = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                return Err(BackendError::invalid(format!(
                    "{path:?} leaves its directory with \"..\"; give a path without it"
                )));
            }
            other => parts.push(other),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// `Some(true)` for a directory (a prefix of some file, or `/`), `Some(false)` for a file.
pub fn stat(files: &Files, path: &str) -> Option<bool> {
    let path = normalize(path).ok()?;
    if files.contains_key(&path) {
        return Some(false);
    }
    let prefix = if path == "/" {
        "/".to_string()
    } else {
        format!("{path}/")
    };
    files.keys().any(|k| k.starts_with(&prefix)).then_some(true)
}

/// A tarball of `path`: the file itself, or the directory with everything under it.
pub fn archive(files: &Files, path: &str, container: &str) -> Result<Vec<u8>> {
    let path = normalize(path)?;
    let is_dir = stat(files, &path).ok_or_else(|| {
        BackendError::invalid(format!("no such file or directory in {container}: {path}"))
    })?;
    let top = path
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(".");
    let io = |e: std::io::Error| BackendError::Internal {
        message: format!("cannot build the archive of {path}: {e}"),
        source: None,
    };
    let mut b = tar::Builder::new(Vec::new());
    if is_dir {
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        for (k, v) in files.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            append(&mut b, &format!("{top}/{rest}"), v).map_err(io)?;
        }
    } else {
        append(&mut b, top, &files[&path]).map_err(io)?;
    }
    b.into_inner().map_err(io)
}

/// Extracts the regular files of a tarball under `dir`; entries that would leave it are refused
/// and nothing is written then.
pub fn extract(files: &mut Files, dir: &str, bytes: &[u8], container: &str) -> Result<usize> {
    let dir = normalize(dir)?;
    if stat(files, &dir) != Some(true) {
        return Err(BackendError::invalid(format!(
            "no such directory in {container}: {dir}"
        )));
    }
    let bad = |e: std::io::Error| {
        BackendError::invalid(format!("the archive is not a readable tar: {e}"))
    };
    let mut staged = Vec::new();
    for entry in tar::Archive::new(bytes).entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(bad)?.to_string_lossy().to_string();
        if name.starts_with('/') || name.split('/').any(|p| p == "..") {
            return Err(BackendError::invalid(format!(
                "the archive entry {name:?} would be written outside {dir}; nothing was copied"
            )));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(bad)?;
        staged.push((normalize(&format!("{dir}/{name}"))?, data));
    }
    let n = staged.len();
    files.extend(staged);
    Ok(n)
}

/// What `now` changed compared with `before`: files added or changed, and their directories
/// as changed, as `docker diff` reports them.
pub fn changes(before: &Files, now: &Files) -> Vec<crate::model::FileChange> {
    use crate::model::{ChangeKind, FileChange};
    let mut out = std::collections::BTreeMap::new();
    let existed = |dir: &str| before.keys().any(|k| k.starts_with(&format!("{dir}/")));
    for (path, data) in now {
        let kind = match before.get(path) {
            None => ChangeKind::Added,
            Some(old) if old != data => ChangeKind::Changed,
            Some(_) => continue,
        };
        out.insert(path.clone(), kind);
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if parent.is_empty() {
                break;
            }
            let kind = if existed(parent) {
                ChangeKind::Changed
            } else {
                ChangeKind::Added
            };
            out.entry(parent.to_string()).or_insert(kind);
            dir = parent;
        }
    }
    for path in before.keys().filter(|k| !now.contains_key(*k)) {
        out.insert(path.clone(), ChangeKind::Deleted);
        if let Some((parent, _)) = path.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
            out.entry(parent.to_string()).or_insert(ChangeKind::Changed);
        }
    }
    out.into_iter()
        .map(|(path, kind)| FileChange { path, kind })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_like_docker_diff() {
        let before = initial("box");
        let mut now = before.clone();
        now.insert("/etc/motd".into(), b"new\n".to_vec());
        now.insert("/srv/app/config".into(), b"x".to_vec());
        now.remove("/etc/os-release");
        let seen: Vec<String> = changes(&before, &now)
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect();
        assert_eq!(
            seen,
            [
                "C /etc",
                "C /etc/motd",
                "D /etc/os-release",
                "A /srv",
                "A /srv/app",
                "A /srv/app/config"
            ]
        );
    }

    #[test]
    fn files_copy_out_and_back_in() {
        let mut f = initial("web");
        assert_eq!(stat(&f, "/etc"), Some(true));
        assert_eq!(stat(&f, "/etc/motd"), Some(false));
        assert_eq!(stat(&f, "/nope"), None);
        let tar = archive(&f, "/etc", "web").unwrap();
        f.insert("/tmp/.keep".into(), Vec::new());
        assert_eq!(extract(&mut f, "/tmp", &tar, "web").unwrap(), 3);
        assert_eq!(f["/tmp/etc/hostname"], b"web\n");
    }

    #[test]
    fn escaping_entries_change_nothing() {
        let mut f = initial("web");
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        // Written raw: the tar crate refuses to build a ".." path itself.
        h.as_old_mut().name[..9].copy_from_slice(b"../escape");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let before = f.clone();
        let err = extract(&mut f, "/etc", &tar, "web").unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        assert_eq!(f, before);
        assert!(normalize("/a/../b").is_err());
    }
}
