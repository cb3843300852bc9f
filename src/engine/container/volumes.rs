//! Containers and their volumes: a create request's mounts made concrete (named volumes made
//! on first use, anonymous ones for `-v /path` and for the image's VOLUME list, the mounts
//! of `--volumes-from`), which containers use which volume, removal refused while one does,
//! prune, the anonymous volumes going with their container (`rm -v`, `--rm`), and a new
//! volume seeded from the image's files at its mount point on the container's first start.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::lifecycle::Runtime;
use super::record::{ContainerConfig, MountConfig, MountKind};
use super::{ContainerError, ContainerStore};
use crate::engine::store::Lock;
use crate::engine::volume::{VolumeError, VolumeRecord, VolumeStore, anonymous_name};

/// What a create request asks of volumes.
pub(super) struct MountRequest<'a> {
    /// The mounts as given (`-v`, `--mount`, `--tmpfs`).
    pub mounts: &'a [MountConfig],
    /// `--volumes-from` references with their mode (`Some(true)`: read-only).
    pub volumes_from: &'a [(String, Option<bool>)],
    /// The image's VOLUME list.
    pub image_volumes: &'a [String],
}

/// The mounts of a new container and the anonymous volumes made for them (removed again if
/// the container's record cannot be written).
pub(super) struct Resolved {
    pub mounts: Vec<MountConfig>,
    pub made_anonymous: Vec<String>,
}

fn clean(destination: &str) -> String {
    let trimmed = destination.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

impl Runtime {
    /// The volume store.
    pub fn volumes(&self) -> &VolumeStore {
        &self.volumes
    }

    /// Turns a request's mounts into the stored ones, making the volumes they name: a user's
    /// mounts first, then those of `--volumes-from` at destinations still free, then an
    /// anonymous volume for each of the image's VOLUMEs nothing else covers. Two mounts at
    /// one destination are refused.
    pub(super) fn resolve_mounts(
        &self,
        lock: &Lock,
        request: &MountRequest<'_>,
    ) -> Result<Resolved, ContainerError> {
        let mut out: Vec<MountConfig> = Vec::new();
        let mut taken = BTreeSet::new();
        let mut made = Vec::new();
        let result = (|| {
            for mut m in distinct_destinations(request.mounts)? {
                taken.insert(m.destination.clone());
                if m.kind == MountKind::Volume {
                    if m.source.is_empty() {
                        m.source = anonymous_name();
                        self.volumes.create(
                            lock,
                            &m.source,
                            anonymous_labels(),
                            BTreeMap::new(),
                            true,
                        )?;
                        made.push(m.source.clone());
                    } else {
                        self.volumes.create(
                            lock,
                            &m.source,
                            BTreeMap::new(),
                            BTreeMap::new(),
                            false,
                        )?;
                    }
                }
                out.push(m);
            }
            for (reference, read_only) in request.volumes_from {
                let id = self.containers.resolve(reference)?;
                let other = self.containers.config(&id)?;
                for m in other.mounts {
                    if m.kind == MountKind::Tmpfs || !taken.insert(m.destination.clone()) {
                        continue;
                    }
                    let read_only = read_only.unwrap_or(m.read_only);
                    out.push(MountConfig { read_only, ..m });
                }
            }
            for v in request.image_volumes {
                let destination = clean(v);
                if !destination.starts_with('/') || !taken.insert(destination.clone()) {
                    continue;
                }
                let name = anonymous_name();
                self.volumes
                    .create(lock, &name, anonymous_labels(), BTreeMap::new(), true)?;
                made.push(name.clone());
                out.push(MountConfig {
                    kind: MountKind::Volume,
                    source: name,
                    destination,
                    read_only: false,
                    options: String::new(),
                });
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(Resolved {
                mounts: out,
                made_anonymous: made,
            }),
            Err(e) => {
                self.drop_volumes(lock, &made);
                Err(e)
            }
        }
    }

    /// Removes volumes made for a container that was not created after all.
    pub(super) fn drop_volumes(&self, lock: &Lock, names: &[String]) {
        for n in names {
            let _ = self.volumes.remove(lock, n);
        }
    }

    /// Which containers use which volume: volume name → container names.
    pub fn volume_users(&self) -> Result<BTreeMap<String, Vec<String>>, ContainerError> {
        users_of(&self.containers)
    }

    /// Creates a volume (`volume create`); a name that exists returns that volume, as
    /// Docker does.
    pub fn create_volume(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<VolumeRecord, ContainerError> {
        let lock = self.volumes.lock()?;
        let anonymous = name.is_none();
        let name = name.map_or_else(anonymous_name, str::to_string);
        let (record, made) = self
            .volumes
            .create(&lock, &name, labels, options, anonymous)?;
        drop(lock);
        if made {
            self.emit_volume("create", &name);
        }
        Ok(record)
    }

    /// Removes a volume; refused while any container (running or not) mounts it, naming
    /// them. With `missing_ok`, a volume that is not there is no error.
    pub fn remove_volume(&self, name: &str, missing_ok: bool) -> Result<(), ContainerError> {
        let lock = self.volumes.lock()?;
        if !self.volumes.exists(name) {
            return if missing_ok {
                Ok(())
            } else {
                Err(VolumeError::NotFound(name.to_string()).into())
            };
        }
        if let Some(users) = self.volume_users()?.remove(name) {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                users,
            }
            .into());
        }
        self.volumes.remove(&lock, name)?;
        drop(lock);
        self.emit_volume("destroy", name);
        Ok(())
    }

    /// Removes the volumes no container uses (`all`: named ones too, else only anonymous
    /// ones, as Docker 23 and later do); returns their names and the bytes freed.
    pub fn prune_volumes(&self, all: bool) -> Result<(Vec<String>, u64), ContainerError> {
        let lock = self.volumes.lock()?;
        let users = self.volume_users()?;
        let mut gone = Vec::new();
        let mut freed = 0;
        for v in self.volumes.list()? {
            if users.contains_key(&v.name) || !(all || v.anonymous) {
                continue;
            }
            let size = self.volumes.size(&v.name);
            self.volumes.remove(&lock, &v.name)?;
            freed += size;
            gone.push(v.name);
        }
        drop(lock);
        for n in &gone {
            self.emit_volume("destroy", n);
        }
        Ok((gone, freed))
    }

    /// Removes the anonymous volumes of a container that is gone (`rm -v`).
    pub(super) fn remove_anonymous_volumes(&self, config: &ContainerConfig) {
        for name in remove_anonymous(&self.volumes, &self.containers, config) {
            self.emit_volume("destroy", &name);
        }
    }

    /// Mounts what the options of the container's volumes ask for (in the host's mount
    /// namespace, before the monitor starts).
    pub(super) fn mount_volumes(&self, config: &ContainerConfig) -> Result<(), ContainerError> {
        for m in config.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
            self.volumes.ensure_mounted(&m.source)?;
        }
        Ok(())
    }
}

/// Which containers of `containers` use which volume: volume name → container names.
fn users_of(containers: &ContainerStore) -> Result<BTreeMap<String, Vec<String>>, ContainerError> {
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in containers.ids()? {
        let Ok(config) = containers.config(&id) else {
            continue;
        };
        for m in config.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
            users
                .entry(m.source.clone())
                .or_default()
                .push(config.name.clone());
        }
    }
    Ok(users)
}

/// Removes the anonymous volumes of a container that is gone, unless another container
/// mounts them too (`--volumes-from`); returns the names removed. Used by `rm -v` and by a
/// `--rm` container's monitor.
pub(super) fn remove_anonymous(
    volumes: &VolumeStore,
    containers: &ContainerStore,
    config: &ContainerConfig,
) -> Vec<String> {
    let mine: Vec<&str> = config
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| m.source.as_str())
        .collect();
    if mine.is_empty() {
        return Vec::new();
    }
    let Ok(lock) = volumes.lock() else {
        return Vec::new();
    };
    let users = users_of(containers).unwrap_or_default();
    mine.into_iter()
        .filter(|name| {
            volumes.get(name).is_ok_and(|v| v.anonymous)
                && !users.contains_key(*name)
                && volumes.remove(&lock, name).is_ok()
        })
        .map(str::to_string)
        .collect()
}

/// The mounts with their destinations cleaned (`/d/` is `/d`), refusing two at one place.
pub(super) fn distinct_destinations(
    mounts: &[MountConfig],
) -> Result<Vec<MountConfig>, ContainerError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(mounts.len());
    for m in mounts {
        let destination = clean(&m.destination);
        if !seen.insert(destination.clone()) {
            return Err(ContainerError::Invalid(format!(
                "duplicate mount point: {destination}; give each path inside the container one mount"
            )));
        }
        out.push(MountConfig {
            destination,
            ..m.clone()
        });
    }
    Ok(out)
}

fn anonymous_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(
        crate::engine::volume::ANONYMOUS_LABEL.to_string(),
        String::new(),
    )])
}

/// Copies the image's files at each volume's mount point into the volume when it is still
/// empty, as Docker does for a new volume (ownership and mode of the directory too). Run by
/// the monitor on the container's first start, with the root filesystem mounted.
pub(super) fn seed(
    volumes: &VolumeStore,
    config: &ContainerConfig,
    rootfs: &Path,
) -> Result<(), ContainerError> {
    let wanted: Vec<&MountConfig> = config
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let _lock = volumes.lock()?;
    for m in wanted {
        if !volumes.is_empty(&m.source) {
            continue;
        }
        let Some(from) = super::files::resolve(rootfs, &m.destination)? else {
            continue;
        };
        if !from.is_dir() {
            continue;
        }
        crate::engine::layer::snapshot::copy_tree(&from, &volumes.data(&m.source))?;
    }
    Ok(())
}
