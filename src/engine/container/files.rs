//! Files of a container for `cp` and `export`: paths are resolved inside its root filesystem as the
//! container sees them (`openat2` with `RESOLVE_IN_ROOT`, so a symlink in the container
//! cannot lead outside it), archives are written without following links, and archives are
//! unpacked with the tar crate's `unpack_in`, which refuses entries that would land outside
//! the destination.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::{ContainerError, runtime};

/// The container's root filesystem, opened as a path.
fn open_root(rootfs: &Path) -> Result<OwnedFd, ContainerError> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| runtime("cannot open the container's root filesystem", e))
}

/// Opens `path` of the container whose root filesystem is `rootfs`; `None` when missing.
fn open_in(rootfs: &Path, path: &str) -> Result<Option<OwnedFd>, ContainerError> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let root = open_root(rootfs)?;
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    match rustix::fs::openat2(
        &root,
        rel,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(runtime(format!("cannot open {path} in the container"), e)),
    }
}

/// Where a file opened in the container is, as a path under `rootfs`. The kernel names an
/// open file by its path in the mount namespace it lives in (the monitor's, for a running
/// container), so the path is taken relative to the root filesystem's own name there.
fn real_path(rootfs: &Path, fd: &OwnedFd) -> Result<PathBuf, ContainerError> {
    let name = |fd: &OwnedFd| {
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| runtime("cannot resolve a path in the container", e))
    };
    let (file, base) = (name(fd)?, name(&open_root(rootfs)?)?);
    let inside = file.strip_prefix(&base).map_err(|_| {
        ContainerError::runtime(format!("a path left the container: {}", file.display()))
    })?;
    Ok(rootfs.join(inside))
}

/// Where `path` of the container is under `rootfs`, resolved as the container would (its
/// symlinks stay inside it); `None` when missing.
pub fn resolve(rootfs: &Path, path: &str) -> Result<Option<PathBuf>, ContainerError> {
    match open_in(rootfs, path)? {
        None => Ok(None),
        Some(fd) => real_path(rootfs, &fd).map(Some),
    }
}

/// Makes the mount point `path` in the container whose root filesystem is `rootfs` (not yet
/// running), as the container would resolve it: each symlink on the way is followed inside
/// the root filesystem (an absolute target from its root, `..` never above it), missing
/// directories are made, and a missing last part becomes a directory, or an empty file when
/// `file`. Returns the path inside the container with every symlink resolved, for the
/// runtime to mount on. This is the rule that keeps an image's symlink from carrying a mount
/// out of the container.
pub fn mount_point(rootfs: &Path, path: &str, file: bool) -> Result<String, ContainerError> {
    use std::collections::VecDeque;
    let mut rest: VecDeque<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let mut at: Vec<String> = Vec::new();
    let mut links = 0;
    let host = |at: &[String]| rootfs.join(at.join("/"));
    while let Some(part) = rest.pop_front() {
        match part.as_str() {
            "." => continue,
            ".." => {
                at.pop();
                continue;
            }
            _ => {}
        }
        at.push(part);
        // Every part before this one is a real directory, so this names the file itself.
        let here = host(&at);
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(ContainerError::Invalid(format!(
                        "mount point {path}: too many levels of symbolic links in the image"
                    )));
                }
                let target = std::fs::read_link(&here).map_err(|e| {
                    runtime(format!("cannot read the link {path} in the container"), e)
                })?;
                at.pop();
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    at.clear();
                }
                for (i, c) in target.split('/').filter(|c| !c.is_empty()).enumerate() {
                    rest.insert(i, c.to_string());
                }
            }
            Ok(m) if !rest.is_empty() && !m.is_dir() => {
                return Err(ContainerError::Invalid(format!(
                    "mount point {path}: /{} is not a directory in the image",
                    at.join("/")
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let made = if rest.is_empty() && file {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&here)
                        .map(drop)
                } else {
                    std::fs::create_dir(&here)
                };
                made.map_err(|e| runtime(format!("cannot make the mount point {path}"), e))?;
            }
            Err(e) => {
                return Err(runtime(
                    format!("cannot look at {path} in the container"),
                    e,
                ));
            }
        }
    }
    Ok(format!("/{}", at.join("/")))
}

/// Whether `path` exists in the container: `Some(true)` for a directory.
pub fn stat(rootfs: &Path, path: &str) -> Result<Option<bool>, ContainerError> {
    Ok(match open_in(rootfs, path)? {
        None => None,
        Some(fd) => Some(
            rustix::fs::fstat(&fd)
                .map(|s| {
                    rustix::fs::FileType::from_raw_mode(s.st_mode)
                        == rustix::fs::FileType::Directory
                })
                .map_err(|e| runtime("stat", e))?,
        ),
    })
}

/// A tar archive of `path` of the container, its last component at the top, links kept as
/// links.
pub fn archive(rootfs: &Path, path: &str) -> Result<Vec<u8>, ContainerError> {
    let fd = open_in(rootfs, path)?.ok_or_else(|| {
        ContainerError::Invalid(format!(
            "no such file or directory in the container: {path}"
        ))
    })?;
    let real = real_path(rootfs, &fd)?;
    let name = Path::new(path.trim_end_matches('/'))
        .file_name()
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    let meta = std::fs::symlink_metadata(&real).map_err(|e| runtime("stat", e))?;
    let result = if meta.is_dir() {
        b.append_dir_all(&name, &real)
    } else {
        b.append_path_with_name(&real, &name)
    };
    result.map_err(|e| runtime(format!("cannot archive {path}"), e))?;
    b.into_inner().map_err(|e| runtime("cannot archive", e))
}

/// Writes the whole root filesystem `rootfs` to `out` as a tar archive (`export`): paths
/// relative to `/`, links kept as links, owners, modes and times kept, device nodes and
/// fifos as such.
pub fn export(rootfs: &Path, out: impl std::io::Write) -> Result<(), ContainerError> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.append_dir_all("", rootfs)
        .map_err(|e| runtime("cannot archive the container's filesystem", e))?;
    b.into_inner()
        .map(drop)
        .map_err(|e| runtime("cannot archive the container's filesystem", e))
}

/// Unpacks `tar` into directory `dir` of the container.
pub fn extract(rootfs: &Path, dir: &str, tar: &[u8]) -> Result<(), ContainerError> {
    let fd = open_in(rootfs, dir)?.ok_or_else(|| {
        ContainerError::Invalid(format!("no such directory in the container: {dir}"))
    })?;
    let real = real_path(rootfs, &fd)?;
    if !real.is_dir() {
        return Err(ContainerError::Invalid(format!(
            "{dir} in the container is not a directory"
        )));
    }
    let mut archive = tar::Archive::new(tar);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    for entry in archive
        .entries()
        .map_err(|e| ContainerError::Invalid(format!("not a tar archive: {e}")))?
    {
        let mut entry =
            entry.map_err(|e| ContainerError::Invalid(format!("not a tar archive: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let inside = entry
            .unpack_in(&real)
            .map_err(|e| runtime(format!("cannot write {name}"), e))?;
        if !inside {
            return Err(ContainerError::Invalid(format!(
                "refused archive entry {name:?}: it would be written outside {dir}"
            )));
        }
    }
    Ok(())
}
