//! Container snapshots: the root filesystem a container sees, made from an image's layers and
//! a directory of its own. With overlayfs it is an overlay mount of the layers (read-only,
//! shared) under the container's `upper/`; without it, a full copy of the layers applied in
//! order, whiteouts and opaque directories included.
//!
//! Overlay's mount options must fit in one page. Lower layers are named by their short links
//! (`l/<16 hex>`) relative to `layers/`, so the mount is made from a thread that has its own
//! working directory (`unshare(CLONE_FS)`), which leaves the rest of the process untouched.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::store::{LayerError, LayerStore};
use crate::engine::store::Digest;

/// Why a snapshot could not be made or removed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A layer is missing or unreadable.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// Too many layers to stack in one overlay mount.
    #[error(
        "the image has {layers} layers; at most {max} can be stacked in one overlay mount. Flatten the image (export and import it) or set storage.driver = \"copy\""
    )]
    TooManyLayers {
        /// Layers of the image.
        layers: usize,
        /// The most that fit.
        max: usize,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Io {
        action,
        path,
        source,
    }
}

/// How container root filesystems are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// overlayfs over the shared layers.
    Overlay,
    /// A full copy of the layers per container.
    Copy,
}

impl Driver {
    /// The name used in the config and in `info`.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay => "overlay",
            Driver::Copy => "copy",
        }
    }

    /// Overlay when the kernel offers it and it works on the data root's filesystem (tried
    /// with a real mount in `scratch`), else copy.
    pub fn detect(scratch: &Path) -> Driver {
        let listed = std::fs::read_to_string("/proc/filesystems").is_ok_and(|f| {
            f.lines()
                .any(|l| l.split_whitespace().last() == Some("overlay"))
        });
        if listed && try_overlay(scratch).is_ok() {
            Driver::Overlay
        } else {
            Driver::Copy
        }
    }

    /// [`Driver::detect`] once per data root: the answer is kept in `root/storage-driver`
    /// (containers made with one driver need it for their whole life).
    pub fn detect_once(root: &Path, scratch: &Path) -> Driver {
        let file = root.join("storage-driver");
        match std::fs::read_to_string(&file).as_deref().map(str::trim) {
            Ok("overlay") => Driver::Overlay,
            Ok("copy") => Driver::Copy,
            _ => {
                let d = Self::detect(scratch);
                let _ = crate::engine::store::write_atomic(&file, d.name().as_bytes());
                d
            }
        }
    }
}

/// Mounts and unmounts a throw-away overlay in `scratch`.
fn try_overlay(scratch: &Path) -> std::io::Result<()> {
    let dir = crate::engine::store::temp_path(scratch, "overlay-probe");
    let result = (|| {
        for d in ["lower", "upper", "work", "merged"] {
            std::fs::create_dir_all(dir.join(d))?;
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            dir.join("lower").display(),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        mount_overlay(&dir, &options, &dir.join("merged"))?;
        rustix::mount::unmount(dir.join("merged"), rustix::mount::UnmountFlags::DETACH)?;
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Mounts overlay on `target`, resolving relative paths in `options` from `cwd`. The mount is
/// made from a short-lived thread with its own working directory, so the process's stays.
fn mount_overlay(cwd: &Path, options: &str, target: &Path) -> std::io::Result<()> {
    let (cwd, options, target) = (cwd.to_path_buf(), options.to_string(), target.to_path_buf());
    std::thread::spawn(move || -> std::io::Result<()> {
        rustix::thread::unshare(rustix::thread::UnshareFlags::FS)?;
        rustix::process::chdir(&cwd)?;
        rustix::mount::mount(
            "overlay",
            &target,
            "overlay",
            rustix::mount::MountFlags::empty(),
            options.as_str(),
        )?;
        Ok(())
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("the mount thread panicked")))
}

/// Whether `path` is a mount point (its device differs from its parent's).
fn is_mounted(path: &Path) -> bool {
    let parent = path.parent().unwrap_or(Path::new("/"));
    match (std::fs::metadata(path), std::fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev(),
        _ => false,
    }
}

/// Makes and removes container root filesystems.
#[derive(Debug, Clone)]
pub struct Snapshotter {
    layers: LayerStore,
    driver: Driver,
    volatile: bool,
}

/// Most lower layers overlayfs stacks (`OVL_MAX_STACK`).
const OVL_MAX_STACK: usize = 500;

impl Snapshotter {
    /// Snapshots over `layers` with `driver`.
    pub fn new(layers: LayerStore, driver: Driver) -> Snapshotter {
        Snapshotter {
            layers,
            driver,
            volatile: false,
        }
    }

    /// Overlay mounts made from here on skip syncing the upper directory (overlayfs
    /// `volatile`): for containers removed once they end, whose files need not survive a
    /// crash. Their unmount no longer waits for a sync.
    pub fn volatile(mut self, volatile: bool) -> Snapshotter {
        self.volatile = volatile;
        self
    }

    /// The driver in use.
    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// The container's root filesystem in `dir`.
    pub fn rootfs(dir: &Path) -> PathBuf {
        dir.join("rootfs")
    }

    /// Makes (or, when it is there, re-mounts) the root filesystem of a container whose image
    /// has the layers `chain` (bottom first) in `dir`, and returns its path. Files the
    /// container writes go to `dir/upper` (overlay) or `dir/rootfs` (copy).
    pub fn prepare(&self, chain: &[Digest], dir: &Path) -> Result<PathBuf, SnapshotError> {
        for c in chain {
            if !self.layers.has(c) {
                return Err(LayerError::Missing(c.clone()).into());
            }
        }
        let rootfs = Self::rootfs(dir);
        match self.driver {
            Driver::Overlay => self.prepare_overlay(chain, dir, &rootfs)?,
            Driver::Copy => self.prepare_copy(chain, dir, &rootfs)?,
        }
        Ok(rootfs)
    }

    /// The overlay mount options for `chain` in `dir`.
    fn overlay_options(&self, chain: &[Digest], dir: &Path) -> Result<String, SnapshotError> {
        let lower: Vec<String> = if chain.is_empty() {
            vec![dir.join("empty").display().to_string()]
        } else {
            chain
                .iter()
                .rev()
                .map(|c| LayerStore::short_link(c).display().to_string())
                .collect()
        };
        let mut options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.join(":"),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        // With the inode index on, a lower layer in use by one mount is refused to the next.
        if Path::new("/sys/module/overlay/parameters/index").exists() {
            options.push_str(",index=off");
        }
        let page = rustix::param::page_size();
        if options.len() >= page || chain.len() > OVL_MAX_STACK {
            let per_layer = LayerStore::short_link(&chain[0]).as_os_str().len() + 1;
            let fixed = options.len() - chain.len() * per_layer;
            let max = ((page - 1).saturating_sub(fixed) / per_layer).min(OVL_MAX_STACK);
            return Err(SnapshotError::TooManyLayers {
                layers: chain.len(),
                max,
            });
        }
        Ok(options)
    }

    fn prepare_overlay(
        &self,
        chain: &[Digest],
        dir: &Path,
        rootfs: &Path,
    ) -> Result<(), SnapshotError> {
        let options = self.overlay_options(chain, dir)?;
        for d in ["upper", "work", "rootfs", "empty"] {
            let p = dir.join(d);
            std::fs::create_dir_all(&p).map_err(io_err("cannot create", &p))?;
        }
        if is_mounted(rootfs) {
            return Ok(());
        }
        for c in chain {
            self.layers.ensure_link(c)?;
        }
        if self.volatile {
            // Kernels before 5.10 do not know the option: the plain mount then.
            let fast = format!("{options},volatile");
            if mount_overlay(self.layers.dir(), &fast, rootfs).is_ok() {
                return Ok(());
            }
        }
        mount_overlay(self.layers.dir(), &options, rootfs)
            .map_err(io_err("cannot mount overlay on", rootfs))
    }

    fn prepare_copy(
        &self,
        chain: &[Digest],
        dir: &Path,
        rootfs: &Path,
    ) -> Result<(), SnapshotError> {
        if rootfs.is_dir() {
            return Ok(());
        }
        // Built aside and renamed, so that a half-made copy is never taken for a whole one.
        let building = dir.join("rootfs.partial");
        if building.exists() {
            std::fs::remove_dir_all(&building).map_err(io_err("cannot remove", &building))?;
        }
        std::fs::create_dir_all(&building).map_err(io_err("cannot create", &building))?;
        for c in chain {
            apply_diff(&self.layers.diff_dir(c), &building)?;
        }
        std::fs::rename(&building, rootfs).map_err(io_err("cannot rename into", rootfs))
    }

    /// Unmounts a container's root filesystem (overlay); its files stay for the next start.
    pub fn release(&self, dir: &Path) -> Result<(), SnapshotError> {
        let rootfs = Self::rootfs(dir);
        if self.driver == Driver::Overlay && is_mounted(&rootfs) {
            rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH)
                .map_err(|e| io_err("cannot unmount", &rootfs)(e.into()))?;
        }
        Ok(())
    }

    /// Unmounts and deletes everything of a container's snapshot in `dir`.
    pub fn remove(&self, dir: &Path) -> Result<(), SnapshotError> {
        self.release(dir)?;
        for d in ["upper", "work", "rootfs", "rootfs.partial", "empty"] {
            let p = dir.join(d);
            if p.exists() {
                std::fs::remove_dir_all(&p).map_err(io_err("cannot remove", &p))?;
            }
        }
        Ok(())
    }

    /// The files a container changed: `upper/` for overlay (whiteouts mark deletions).
    pub fn changes_dir(&self, dir: &Path) -> Option<PathBuf> {
        (self.driver == Driver::Overlay).then(|| dir.join("upper"))
    }
}

/// Whether a directory entry is an overlay whiteout (a 0/0 character device).
pub fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Whether a directory is marked opaque.
pub fn is_opaque(path: &Path) -> bool {
    let mut buf = [0u8; 1];
    rustix::fs::lgetxattr(path, "trusted.overlay.opaque", &mut buf).is_ok_and(|n| n == 1)
        && buf[0] == b'y'
}

/// Copies the tree under `from` into the directory `to` (which exists), keeping owners,
/// modes, times and symlinks as they are; `to` takes `from`'s owner and mode too.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), SnapshotError> {
    apply_diff(from, to)?;
    let meta = std::fs::symlink_metadata(from).map_err(io_err("cannot stat", from))?;
    copy_attributes(to, &meta)
}

/// Applies one unpacked layer (overlay form) onto a directory tree, as overlay would show it.
fn apply_diff(diff: &Path, target: &Path) -> Result<(), SnapshotError> {
    let entries = std::fs::read_dir(diff).map_err(io_err("cannot read", diff))?;
    for entry in entries {
        let entry = entry.map_err(io_err("cannot read", diff))?;
        let src = entry.path();
        let dst = target.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&src).map_err(io_err("cannot stat", &src))?;
        let existing = std::fs::symlink_metadata(&dst).ok();
        if is_whiteout(&meta) {
            remove_any(&dst, existing.as_ref())?;
            continue;
        }
        if meta.is_dir() {
            let keep = existing.as_ref().is_some_and(|m| m.is_dir()) && !is_opaque(&src);
            if !keep {
                remove_any(&dst, existing.as_ref())?;
                std::fs::create_dir(&dst).map_err(io_err("cannot create", &dst))?;
            }
            apply_diff(&src, &dst)?;
            copy_attributes(&dst, &meta)?;
            continue;
        }
        remove_any(&dst, existing.as_ref())?;
        if meta.file_type().is_symlink() {
            let to = std::fs::read_link(&src).map_err(io_err("cannot read", &src))?;
            std::os::unix::fs::symlink(&to, &dst).map_err(io_err("cannot create", &dst))?;
        } else if meta.is_file() {
            std::fs::copy(&src, &dst).map_err(io_err("cannot copy to", &dst))?;
        } else {
            // FIFOs (the unpacker refuses device nodes).
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &dst,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(meta.mode() & 0o7777),
                0,
            )
            .map_err(|e| io_err("cannot create", &dst)(e.into()))?;
        }
        copy_attributes(&dst, &meta)?;
    }
    Ok(())
}

fn remove_any(path: &Path, meta: Option<&std::fs::Metadata>) -> Result<(), SnapshotError> {
    match meta {
        None => Ok(()),
        Some(m) if m.is_dir() => {
            std::fs::remove_dir_all(path).map_err(io_err("cannot remove", path))
        }
        Some(_) => std::fs::remove_file(path).map_err(io_err("cannot remove", path)),
    }
}

/// The owner, mode and times in `meta` onto `dst` (not following symlinks).
fn copy_attributes(dst: &Path, meta: &std::fs::Metadata) -> Result<(), SnapshotError> {
    let err = |e: rustix::io::Errno| io_err("cannot set attributes of", dst)(e.into());
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))
        .map_err(io_err("cannot set the owner of", dst))?;
    if !meta.file_type().is_symlink() {
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(io_err("cannot set the mode of", dst))?;
    }
    let stamp = |s: i64, ns: i64| rustix::fs::Timespec {
        tv_sec: s,
        tv_nsec: ns as _,
    };
    let times = rustix::fs::Timestamps {
        last_access: stamp(meta.atime(), meta.atime_nsec()),
        last_modification: stamp(meta.mtime(), meta.mtime_nsec()),
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        dst,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(err)?;
    Ok(())
}
