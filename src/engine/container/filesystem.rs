//! A container's root filesystem from outside: worked on where it is mounted (in its
//! monitor's mount namespace while it runs, mounted for the time it takes otherwise), its
//! changes against the image, its sizes, an export.

use std::path::{Path, PathBuf};

use super::ContainerError;
use super::lifecycle::Runtime;
use super::runtime;
use crate::engine::layer::Driver;
use crate::engine::layer::changes::{self, ImageView};
use crate::engine::store::Digest;
use crate::model::{ChangeKind, FileChange};

impl Runtime {
    /// Runs `f` with the container's root filesystem: the mounted one while it runs, else
    /// mounted for the time `f` takes.
    pub fn with_rootfs<T: Send>(
        &self,
        id: &str,
        f: impl FnOnce(&Path) -> Result<T, ContainerError> + Send,
    ) -> Result<T, ContainerError> {
        let snap = self.get(id)?;
        let dir = self.containers.dir(id);
        if snap.state.status.is_active() {
            // Mounted in the monitor's own mount namespace: worked on from there.
            let rootfs = std::path::absolute(dir.join("rootfs"))
                .map_err(|e| runtime("cannot resolve the container's directory", e))?;
            return match snap.state.monitor_pid {
                Some(pid) => super::in_mount_namespace(pid, || f(&rootfs)),
                None => f(&rootfs),
            };
        }
        let chain = super::layers_of(&self.images, &snap.config)?;
        let snapshots = self.snapshots();
        let rootfs = snapshots.prepare(&chain, &dir)?;
        let result = f(&rootfs);
        let _ = snapshots.release(&dir);
        result
    }

    /// What the container changed in its root filesystem compared with its image.
    pub fn changes(&self, id: &str) -> Result<Vec<FileChange>, ContainerError> {
        Ok(self.changes_in(id)?.1)
    }

    /// What the container changed and the directory the changes were read from (its upper
    /// dir, or its copy), for a new layer made of them.
    pub fn changes_of(&self, id: &str) -> Result<(PathBuf, Vec<FileChange>), ContainerError> {
        let (base, found, _) = self.changes_in(id)?;
        Ok((base, found))
    }

    /// `docker ps -s`'s two sizes: the bytes of the files the container added or changed (the
    /// regular files among its changes, each counted once however many links it has), and
    /// those plus its image's layers.
    pub fn sizes(&self, id: &str) -> Result<(u64, u64), ContainerError> {
        use std::os::unix::fs::MetadataExt;
        let (base, found, chain) = self.changes_in(id)?;
        let layers = self.images.layers();
        let image: u64 = chain
            .iter()
            .map(|c| layers.get(c).map_or(0, |m| m.size))
            .sum();
        let mut seen = std::collections::BTreeSet::new();
        let mut total = 0;
        for change in found {
            if change.kind == ChangeKind::Deleted {
                continue;
            }
            let path = base.join(change.path.trim_start_matches('/'));
            if let Ok(meta) = std::fs::symlink_metadata(&path) {
                if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                    total += meta.len();
                }
            }
        }
        Ok((total, total + image))
    }

    /// The changes, the directory they were read from (upper dir or copy) and the image's
    /// layers.
    pub(super) fn changes_in(
        &self,
        id: &str,
    ) -> Result<(PathBuf, Vec<FileChange>, Vec<Digest>), ContainerError> {
        let snap = self.get(id)?;
        let chain = super::layers_of(&self.images, &snap.config)?;
        let layers = self.images.layers();
        let image = ImageView::new(chain.iter().map(|c| layers.diff_dir(c)).collect());
        let dir = self.containers.dir(id);
        let (base, found) = match self.snapshots().driver() {
            Driver::Overlay => {
                let upper = dir.join("upper");
                let found = changes::from_upper(&upper, &image);
                (upper, found)
            }
            Driver::Copy => {
                let rootfs = dir.join("rootfs");
                // Never started: nothing changed yet.
                if !rootfs.is_dir() {
                    return Ok((rootfs, Vec::new(), chain));
                }
                let found = changes::from_copy(&rootfs, &image);
                (rootfs, found)
            }
        };
        // Mount points the runtime made are not the container's doing (Docker keeps them in
        // an init layer, so its diff leaves them out too).
        let mut points: Vec<String> = super::spec::RUNTIME_MOUNT_POINTS
            .iter()
            .map(|p| p.to_string())
            .collect();
        points.extend(snap.config.mounts.iter().map(|m| m.destination.clone()));
        let found = changes::without_mount_points(found, &points, &base, &image);
        Ok((base, found, chain))
    }

    /// Writes the container's whole filesystem to `out` as a tar archive.
    pub fn export(&self, id: &str, out: impl std::io::Write + Send) -> Result<(), ContainerError> {
        self.with_rootfs(id, |rootfs| super::files::export(rootfs, out))
    }
}
