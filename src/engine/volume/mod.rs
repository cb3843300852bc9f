//! Named volumes of a data root: `volumes/<name>/_data` holds the data and
//! `volumes/<name>/volume.json` the record (created, labels, the local driver's options,
//! whether it is anonymous). A volume is made whole in `tmp/` and renamed into place, and
//! removed by renaming it out first, so a crash leaves it there or gone, never half made.
//! Creating and removing take the `volumes` lock; the container side holds it too while it
//! writes a record that names volumes, so a volume in use is never removed under it. Which
//! containers use a volume is the container side's knowledge (`container/volumes.rs`); the
//! mounts a volume's options ask for are in `mount.rs`. `check` is `system check`'s part: records
//! and data directories.

mod mount;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use self::mount::{Options, is_mount_point};
use super::store::{Lock, Root, StoreError, temp_path, write_atomic};
use crate::util::time::unix_now;

/// The record's format this build writes.
const FORMAT: u32 = 1;

/// Label Docker puts on the volumes it makes for a container.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// What the store keeps of one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// The record's format.
    pub format: u32,
    /// Name (for an anonymous volume, 64 hex digits).
    pub name: String,
    /// Creation time (Unix seconds).
    pub created: i64,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The local driver's options (`type`, `device`, `o`).
    pub options: BTreeMap<String, String>,
    /// Made for a container rather than named by a user.
    pub anonymous: bool,
}

/// Why a volume operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// No such volume.
    #[error("no such volume: {0}")]
    NotFound(String),
    /// A bad name or option; nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// Containers use it.
    #[error("remove {name}: volume is in use - [{}]", users.join(", "))]
    InUse {
        /// The volume.
        name: String,
        /// The containers that mount it.
        users: Vec<String>,
    },
    /// A file or mount of the store.
    #[error("volume {name}: {what}")]
    Io {
        /// The volume.
        name: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store underneath.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(name: &str, what: impl Into<String>) -> impl FnOnce(std::io::Error) -> VolumeError {
    let (name, what) = (name.to_string(), what.into());
    move |source| VolumeError::Io { name, what, source }
}

/// The volumes of one data root.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    root: Root,
    dir: PathBuf,
}

impl VolumeStore {
    /// The volumes of `root`.
    pub fn new(root: &Root) -> VolumeStore {
        VolumeStore {
            dir: root.path().join("volumes"),
            root: root.clone(),
        }
    }

    /// Takes the lock that creating, removing and naming volumes in a container record hold.
    pub fn lock(&self) -> Result<Lock, VolumeError> {
        Ok(self.root.lock("volumes")?)
    }

    /// Where the volume's data is.
    pub fn data(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("_data")
    }

    /// Whether the volume exists.
    pub fn exists(&self, name: &str) -> bool {
        valid(name) && self.dir.join(name).join("volume.json").is_file()
    }

    /// The record of a volume.
    pub fn get(&self, name: &str) -> Result<VolumeRecord, VolumeError> {
        if !valid(name) {
            return Err(VolumeError::NotFound(name.to_string()));
        }
        let path = self.dir.join(name).join("volume.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VolumeError::NotFound(name.to_string()));
            }
            Err(e) => return Err(io(name, "cannot read its record")(e)),
        };
        serde_json::from_slice(&text)
            .map_err(|e| io(name, format!("its record {} is damaged", path.display()))(e.into()))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<VolumeRecord>, VolumeError> {
        let entries = std::fs::read_dir(&self.dir).map_err(io("*", "cannot list the volumes"))?;
        let mut out: Vec<VolumeRecord> = entries
            .flatten()
            .filter_map(|e| self.get(&e.file_name().to_string_lossy()).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates a volume, or returns the one of that name (`false`: it was there already, and
    /// its labels and options are left as they are). A bad name or option changes nothing.
    pub fn create(
        &self,
        _lock: &Lock,
        name: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<(VolumeRecord, bool), VolumeError> {
        if !valid(name) {
            return Err(VolumeError::Invalid(format!(
                "invalid volume name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if let Ok(existing) = self.get(name) {
            return Ok((existing, false));
        }
        Options::parse(&options)?;
        let record = VolumeRecord {
            format: FORMAT,
            name: name.to_string(),
            created: unix_now(),
            labels,
            options,
            anonymous,
        };
        let staging = temp_path(&self.root.tmp(), "volume");
        std::fs::create_dir_all(staging.join("_data")).map_err(io(name, "cannot create"))?;
        let json = serde_json::to_vec_pretty(&record).expect("a volume record serializes");
        write_atomic(&staging.join("volume.json"), &json)?;
        std::fs::rename(&staging, self.dir.join(name)).map_err(io(name, "cannot create"))?;
        Ok((record, true))
    }

    /// Mounts what the volume's options ask for on its data directory, unless it is mounted
    /// already (in the host's mount namespace: it stays until the volume is removed or the
    /// host restarts). A volume without options needs nothing.
    pub fn ensure_mounted(&self, name: &str) -> Result<(), VolumeError> {
        let record = self.get(name)?;
        let options = Options::parse(&record.options)?;
        let data = self.data(name);
        if options.is_none() || is_mount_point(&data) {
            return Ok(());
        }
        options.mount(&data).map_err(io(
            name,
            format!("cannot mount its options on {}", data.display()),
        ))
    }

    /// Bytes the volume's files take (each inode once).
    pub fn size(&self, name: &str) -> u64 {
        crate::util::fs::tree_size(&self.data(name))
    }

    /// Whether the volume holds no file yet.
    pub fn is_empty(&self, name: &str) -> bool {
        std::fs::read_dir(self.data(name)).is_ok_and(|mut d| d.next().is_none())
    }

    /// Removes a volume and its data (whoever calls checks it is unused, under `lock`).
    pub fn remove(&self, _lock: &Lock, name: &str) -> Result<(), VolumeError> {
        self.get(name)?;
        let data = self.data(name);
        if is_mount_point(&data) {
            rustix::mount::unmount(&data, rustix::mount::UnmountFlags::DETACH)
                .map_err(|e| io(name, "cannot unmount its data")(e.into()))?;
        }
        let gone = temp_path(&self.root.tmp(), "volume-gone");
        std::fs::rename(self.dir.join(name), &gone).map_err(io(name, "cannot remove"))?;
        std::fs::remove_dir_all(&gone).map_err(io(name, "cannot delete the data"))?;
        Ok(())
    }
}

impl VolumeStore {
    /// `system check` of the volumes: a directory under `volumes/` whose record is missing or
    /// damaged, and a volume whose data directory is gone. With `repair` a missing data
    /// directory is made again (empty: what was in it is gone already); a directory without
    /// a readable record is left for its owner to look at, since it may hold data. Each
    /// finding says what it is and whether it was repaired.
    pub fn check(&self, repair: bool) -> Result<Vec<(String, bool)>, VolumeError> {
        let _lock = self.lock()?;
        let entries = std::fs::read_dir(&self.dir).map_err(io("*", "cannot list the volumes"))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            match self.get(&name) {
                Ok(_) if !self.data(&name).is_dir() => {
                    let fixed = repair && std::fs::create_dir_all(self.data(&name)).is_ok();
                    found.push((
                        format!("volume {name}: its data directory is gone"),
                        fixed,
                    ));
                }
                Ok(_) => {}
                Err(e) => found.push((
                    format!(
                        "{}: not a whole volume ({e}); it may hold data, so it is left: look at it, then remove it by hand",
                        path.display()
                    ),
                    false,
                )),
            }
        }
        Ok(found)
    }
}

/// Docker's rule for volume names (a name is also a directory here: no `/`, no `..`).
fn valid(name: &str) -> bool {
    crate::model::parse::valid_name(name)
}

/// A new anonymous volume's name: 64 hex digits, as Docker gives them.
pub fn anonymous_name() -> String {
    crate::util::random::random_id()
}

/// The directory where the volumes of `root` are, for the check of the whole root.
pub fn dir_of(root: &Path) -> PathBuf {
    root.join("volumes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_are_made_whole_and_removed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path()).unwrap();
        let store = VolumeStore::new(&root);
        let lock = store.lock().unwrap();
        let labels = BTreeMap::from([("tier".to_string(), "db".to_string())]);
        let (v, made) = store
            .create(&lock, "pgdata", labels.clone(), BTreeMap::new(), false)
            .unwrap();
        assert!(made && v.labels == labels && !v.anonymous);
        let (_, made) = store
            .create(&lock, "pgdata", BTreeMap::new(), BTreeMap::new(), false)
            .unwrap();
        assert!(!made, "a second create returns the volume that is there");
        assert!(store.is_empty("pgdata"));
        std::fs::write(store.data("pgdata").join("f"), b"12345").unwrap();
        assert_eq!(store.size("pgdata"), 5);
        for bad in ["../x", "a/b", ".hidden", ""] {
            let err = store
                .create(&lock, bad, BTreeMap::new(), BTreeMap::new(), false)
                .unwrap_err();
            assert!(matches!(err, VolumeError::Invalid(_)), "{bad}: {err}");
        }
        let opts = BTreeMap::from([("colour".to_string(), "red".to_string())]);
        let err = store
            .create(&lock, "odd", BTreeMap::new(), opts, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
        assert!(!store.exists("odd"), "a refused create leaves nothing");
        assert_eq!(store.list().unwrap().len(), 1);
        store.remove(&lock, "pgdata").unwrap();
        assert!(matches!(store.get("pgdata"), Err(VolumeError::NotFound(_))));
        assert_eq!(std::fs::read_dir(root.tmp()).unwrap().count(), 0);
    }
}
