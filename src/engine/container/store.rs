//! The container records of a data root: `containers/<id>/config.json` (written once) and
//! `state.json` (rewritten atomically), looked up by name, full id or unique id prefix.
//! Creating and renaming happen under the `containers` lock, so names stay unique across
//! processes. Names are indexed by `names/<name>`, a symbolic link to `../containers/<id>`,
//! so a lookup by name reads one link and one record however many containers there are. A
//! link is made before the records it names and removed after them; one that a crash left
//! pointing at a missing container, or at one since renamed, counts as absent.

use std::path::PathBuf;

use super::ContainerError;
use super::record::{CONFIG_FORMAT, ContainerConfig, ContainerState, Status};
use crate::engine::store::{Lock, Root, io_err, write_atomic, write_replace};

thread_local! {
    /// The containers whose start lock this thread holds.
    static HELD: std::cell::RefCell<std::collections::HashSet<PathBuf>> = Default::default();
}

/// A held [`ContainerStore::start_lock`].
#[derive(Debug)]
pub struct StartLock {
    held: Option<(Lock, PathBuf)>,
}

impl Drop for StartLock {
    fn drop(&mut self) {
        if let Some((_, key)) = &self.held {
            HELD.with(|h| h.borrow_mut().remove(key));
        }
    }
}

/// The containers of a data root.
#[derive(Debug, Clone)]
pub struct ContainerStore {
    root: Root,
    dir: PathBuf,
    /// Configurations read, by id, with the file they came from: a config is written once
    /// (renames replace the file), so one stat tells whether what was read still holds. A
    /// list of thousands of containers then parses none it parsed before.
    configs: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, CachedConfig>>>,
}

/// A configuration as read, and which file it was read from.
#[derive(Debug)]
struct CachedConfig {
    file: FileKey,
    config: ContainerConfig,
}

/// What tells one config file from another: a rewrite is a new inode (written aside, then
/// renamed into place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl FileKey {
    fn of(m: &std::fs::Metadata) -> FileKey {
        use std::os::unix::fs::MetadataExt;
        FileKey {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        }
    }
}

/// Marks a name index that lists every container (roots made before the index get one built).
const INDEX_COMPLETE: &str = ".complete";

/// Whether `name` can be a container name (Docker's rule); nothing else is looked up.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 255
}

/// The state of a container whose record a crash left unreadable: its run ended, unrecorded.
fn lost_state(e: &serde_json::Error) -> ContainerState {
    ContainerState {
        status: Status::Exited,
        error: format!(
            "the state record was lost ({e}); the host probably stopped while it was written"
        ),
        ..ContainerState::default()
    }
}

impl ContainerStore {
    /// The container store of `root`.
    pub fn new(root: &Root) -> ContainerStore {
        ContainerStore {
            configs: Default::default(),
            root: root.clone(),
            dir: root.path().join("containers"),
        }
    }

    /// Takes the lock that orders creating, renaming and removing containers.
    pub fn lock(&self) -> Result<Lock, ContainerError> {
        Ok(self.root.lock("containers")?)
    }

    /// Takes container `id`'s lock `what` exclusively; a container removed meanwhile is
    /// not found.
    fn container_lock(&self, id: &str, what: &str) -> Result<Lock, ContainerError> {
        Lock::exclusive(&self.dir(id).join(format!("{what}.lock"))).map_err(|e| {
            if self.dir(id).join("config.json").exists() {
                e.into()
            } else {
                ContainerError::NotFound(id.to_string())
            }
        })
    }

    /// Takes the lock that lets one process at a time start, stop or remove container
    /// `id`, held by a start until its monitor has answered: a second `start` waits and then
    /// finds it running, an `rm` never takes a container half-started. A thread that holds
    /// it already (an `rm` whose read of the container restarts it after a lost monitor)
    /// holds it again without waiting for itself.
    pub fn start_lock(&self, id: &str) -> Result<StartLock, ContainerError> {
        let key = self.dir(id);
        if HELD.with(|h| h.borrow().contains(&key)) {
            return Ok(StartLock { held: None });
        }
        let lock = self.container_lock(id, "start")?;
        HELD.with(|h| h.borrow_mut().insert(key.clone()));
        Ok(StartLock {
            held: Some((lock, key)),
        })
    }

    /// A container's directory.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn names(&self) -> PathBuf {
        self.root.path().join("names")
    }

    /// Points `name` at container `id` (replacing a stale link).
    fn link_name(&self, name: &str, id: &str) -> Result<(), ContainerError> {
        let link = self.names().join(name);
        std::fs::create_dir_all(self.names()).map_err(io_err("cannot create", &self.names()))?;
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("../containers/{id}"), &link)
            .map_err(io_err("cannot create", &link))?;
        Ok(())
    }

    /// Removes `name` from the index if it still points at `id`.
    fn unlink_name(&self, name: &str, id: &str) {
        let link = self.names().join(name);
        if std::fs::read_link(&link).is_ok_and(|t| t.file_name() == Some(id.as_ref())) {
            let _ = std::fs::remove_file(&link);
        }
    }

    /// Builds the name index of a root made before it existed. Idempotent, so processes that
    /// race here do no harm.
    fn ensure_index(&self) -> Result<(), ContainerError> {
        let complete = self.names().join(INDEX_COMPLETE);
        if complete.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(self.names()).map_err(io_err("cannot create", &self.names()))?;
        for id in self.ids()? {
            if let Ok(config) = self.config(&id) {
                let link = self.names().join(&config.name);
                if std::fs::symlink_metadata(&link).is_err() && is_name(&config.name) {
                    self.link_name(&config.name, &id)?;
                }
            }
        }
        std::fs::write(&complete, b"").map_err(io_err("cannot create", &complete))?;
        Ok(())
    }

    /// Every container id.
    pub fn ids(&self) -> Result<Vec<String>, ContainerError> {
        let mut out = self.dirs()?;
        out.retain(|n| self.dir(n).join("config.json").is_file());
        Ok(out)
    }

    /// The directories named like container ids, sorted, without looking into them: some
    /// may not hold a container (one being made or removed). A caller that reads each
    /// record anyway saves a look per container.
    pub fn dirs(&self) -> Result<Vec<String>, ContainerError> {
        let mut out: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(io_err("cannot read", &self.dir))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() == 64)
            .collect();
        out.sort();
        Ok(out)
    }

    /// A container's configuration.
    pub fn config(&self, id: &str) -> Result<ContainerConfig, ContainerError> {
        let p = self.dir(id).join("config.json");
        let not_read = |e: std::io::Error| -> ContainerError {
            if e.kind() == std::io::ErrorKind::NotFound {
                ContainerError::NotFound(id.to_string())
            } else {
                io_err("cannot read", &p)(e).into()
            }
        };
        let file = FileKey::of(&std::fs::metadata(&p).map_err(not_read)?);
        let cache = || self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache().get(id).filter(|c| c.file == file) {
            return Ok(c.config.clone());
        }
        let data = std::fs::read(&p).map_err(not_read)?;
        let config: ContainerConfig =
            serde_json::from_slice(&data).map_err(|e| ContainerError::Corrupt {
                path: p.clone(),
                message: e.to_string(),
            })?;
        if config.format > CONFIG_FORMAT {
            return Err(ContainerError::Corrupt {
                path: p,
                message: format!(
                    "written in format {} by a newer dockhand (this one reads up to {CONFIG_FORMAT}); use that version",
                    config.format
                ),
            });
        }
        // An entry of a container removed by another process stays until this one ends:
        // the stat above finds the file gone, whatever the entry says.
        cache().insert(
            id.to_string(),
            CachedConfig {
                file,
                config: config.clone(),
            },
        );
        Ok(config)
    }

    /// A container's state as recorded.
    pub fn state(&self, id: &str) -> Result<ContainerState, ContainerError> {
        let p = self.dir(id).join("state.json");
        match std::fs::read(&p) {
            Ok(data) => Ok(serde_json::from_slice(&data).unwrap_or_else(|e| lost_state(&e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.dir(id).join("config.json").is_file() {
                    Ok(ContainerState::default())
                } else {
                    Err(ContainerError::NotFound(id.to_string()))
                }
            }
            Err(e) => Err(io_err("cannot read", &p)(e).into()),
        }
    }

    /// Writes a container's state. Atomically, but without fsync: after a crash no container
    /// runs whatever the record says, and a record torn by one reads as a lost run.
    pub fn set_state(&self, id: &str, state: &ContainerState) -> Result<(), ContainerError> {
        let json = serde_json::to_vec_pretty(state).expect("states serialise");
        Ok(write_replace(&self.dir(id).join("state.json"), &json)?)
    }

    /// Changes a container's state under its own lock (the monitor and the CLI both write it).
    pub fn update_state(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerState),
    ) -> Result<ContainerState, ContainerError> {
        let _lock = self.container_lock(id, "state")?;
        let mut state = self.state(id)?;
        let before = state.clone();
        change(&mut state);
        // A change that changes nothing writes nothing (each write is a new file).
        if state != before {
            self.set_state(id, &state)?;
        }
        Ok(state)
    }

    /// Reads, checks and changes a container's state in one critical section under its lock:
    /// `change` sees the state as recorded and decides; what it leaves is written (when it
    /// changed) only if it returns `Ok`.
    pub fn update_state_with<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerState) -> Result<T, ContainerError>,
    ) -> Result<T, ContainerError> {
        let _lock = self.container_lock(id, "state")?;
        let mut state = self.state(id)?;
        let before = state.clone();
        let out = change(&mut state)?;
        if state != before {
            self.set_state(id, &state)?;
        }
        Ok(out)
    }

    /// Writes a new container's records; the caller holds the lock and checked the name.
    pub fn create(
        &self,
        _lock: &Lock,
        config: &ContainerConfig,
        state: &ContainerState,
    ) -> Result<(), ContainerError> {
        let dir = self.dir(&config.id);
        self.ensure_index()?;
        self.link_name(&config.name, &config.id)?;
        let written = (|| {
            std::fs::create_dir_all(&dir).map_err(io_err("cannot create", &dir))?;
            self.set_state(&config.id, state)?;
            let json = serde_json::to_vec_pretty(config).expect("configs serialise");
            // config.json last: a directory without it is not a container yet.
            write_atomic(&dir.join("config.json"), &json)?;
            Ok(())
        })();
        if written.is_err() {
            self.unlink_name(&config.name, &config.id);
        }
        written
    }

    /// Rewrites a container's configuration (renames only).
    pub fn replace_config(
        &self,
        _lock: &Lock,
        config: &ContainerConfig,
    ) -> Result<(), ContainerError> {
        let old = self.config(&config.id)?.name;
        self.ensure_index()?;
        // The new name first: a crash in between leaves a stale link, never a name unlisted.
        self.link_name(&config.name, &config.id)?;
        let json = serde_json::to_vec_pretty(config).expect("configs serialise");
        write_atomic(&self.dir(&config.id).join("config.json"), &json)?;
        if old != config.name {
            self.unlink_name(&old, &config.id);
        }
        Ok(())
    }

    /// The id of the container a user means: a name, a full id or a unique prefix of one.
    pub fn resolve(&self, reference: &str) -> Result<String, ContainerError> {
        let reference = reference.trim_start_matches('/');
        let ids = self.ids()?;
        if ids.iter().any(|i| i == reference) {
            return Ok(reference.to_string());
        }
        if let Some(id) = self.by_name(reference)? {
            return Ok(id);
        }
        let matches: Vec<&String> =
            if !reference.is_empty() && reference.bytes().all(|c| c.is_ascii_hexdigit()) {
                ids.iter().filter(|i| i.starts_with(reference)).collect()
            } else {
                Vec::new()
            };
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ContainerError::NotFound(reference.to_string())),
            many => Err(ContainerError::Ambiguous {
                reference: reference.to_string(),
                candidates: many.iter().map(|i| i[..12].to_string()).collect(),
            }),
        }
    }

    /// The id of the container named `name`, if any.
    pub fn by_name(&self, name: &str) -> Result<Option<String>, ContainerError> {
        if !is_name(name) {
            return Ok(None);
        }
        self.ensure_index()?;
        let link = self.names().join(name);
        match std::fs::read_link(&link) {
            Ok(target) => {
                let Some(id) = target.file_name().and_then(|n| n.to_str()) else {
                    return Ok(None);
                };
                // Current only if that container exists and still has the name.
                Ok(self
                    .config(id)
                    .is_ok_and(|c| c.name == name)
                    .then(|| id.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot read", &link)(e).into()),
        }
    }

    /// Removes a container's records and directory (the caller unmounted its snapshot).
    pub fn remove(&self, lock: &Lock, id: &str) -> Result<(), ContainerError> {
        self.configs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(gone) = self.unlist(lock, id)? {
            std::fs::remove_dir_all(&gone).map_err(io_err("cannot remove", &gone))?;
        }
        Ok(())
    }

    /// Ends a container at once: its directory is moved into `tmp/` (so it is no longer a
    /// container) and its name freed. Returns where the directory went, for the caller to
    /// delete; `None` when there was no such container. What a crash leaves there goes with
    /// the next `Root::open`.
    pub fn unlist(&self, _lock: &Lock, id: &str) -> Result<Option<PathBuf>, ContainerError> {
        let dir = self.dir(id);
        let name = self.config(id).map(|c| c.name).ok();
        let gone = crate::engine::store::temp_path(&self.root.tmp(), "removed-container");
        match std::fs::rename(&dir, &gone) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot remove", &dir)(e).into()),
            Ok(()) => {
                if let Some(name) = name {
                    self.unlink_name(&name, id);
                }
                Ok(Some(gone))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::record::sample_config as config;

    #[test]
    fn names_are_indexed_renamed_removed_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(&Root::open(dir.path()).unwrap());
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let lock = store.lock().unwrap();
        let state = ContainerState::default();
        store.create(&lock, &config(&a, "web"), &state).unwrap();
        store.create(&lock, &config(&b, "db"), &state).unwrap();
        assert_eq!(store.by_name("web").unwrap(), Some(a.clone()));
        assert_eq!(store.resolve("db").unwrap(), b);
        assert_eq!(store.by_name("../containers").unwrap(), None);

        // Renamed: the old name is free, the new one found.
        store.replace_config(&lock, &config(&a, "front")).unwrap();
        assert_eq!(store.by_name("web").unwrap(), None);
        assert_eq!(store.by_name("front").unwrap(), Some(a.clone()));

        // A link a crash left behind (its container gone) counts as absent and is replaced.
        std::fs::rename(store.dir(&b), dir.path().join("tmp/gone")).unwrap();
        assert_eq!(store.by_name("db").unwrap(), None);
        let c = "c".repeat(64);
        store.create(&lock, &config(&c, "db"), &state).unwrap();
        assert_eq!(store.by_name("db").unwrap(), Some(c.clone()));

        // Removed: unlisted.
        store.remove(&lock, &c).unwrap();
        assert_eq!(store.by_name("db").unwrap(), None);
        assert!(std::fs::symlink_metadata(dir.path().join("names/db")).is_err());

        // A root made before the index: built on first use.
        std::fs::remove_dir_all(dir.path().join("names")).unwrap();
        assert_eq!(store.by_name("front").unwrap(), Some(a.clone()));
        assert!(dir.path().join("names/.complete").exists());
    }

    #[test]
    fn configs_from_older_roots_open_and_newer_formats_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(&Root::open(dir.path()).unwrap());
        let a = "a".repeat(64);
        let lock = store.lock().unwrap();
        store
            .create(&lock, &config(&a, "web"), &ContainerState::default())
            .unwrap();
        let path = store.dir(&a).join("config.json");
        // As a root written before configs had a format: no `format`, the same layout.
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        doc.as_object_mut().unwrap().remove("format");
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        let old = store.config(&a).unwrap();
        assert_eq!((old.format, old.name.as_str()), (0, "web"));
        assert_eq!(old.restart, super::super::record::Restart::No);

        doc["format"] = serde_json::json!(CONFIG_FORMAT + 1);
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        let e = store.config(&a).unwrap_err().to_string();
        assert!(e.contains("newer dockhand"), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }

    #[test]
    fn state_changes_that_change_nothing_write_nothing() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(&Root::open(dir.path()).unwrap());
        let a = "a".repeat(64);
        let lock = store.lock().unwrap();
        store
            .create(&lock, &config(&a, "web"), &ContainerState::default())
            .unwrap();
        let file = store.dir(&a).join("state.json");
        let inode = || std::fs::metadata(&file).unwrap().ino();
        let first = inode();
        store.update_state(&a, |s| s.error.clear()).unwrap();
        assert_eq!(inode(), first);
        let state = store.update_state(&a, |s| s.restart_count = 2).unwrap();
        assert_ne!(inode(), first);
        assert_eq!(state.restart_count, 2);
        assert_eq!(store.state(&a).unwrap().restart_count, 2);
    }

    #[test]
    fn a_torn_state_record_reads_as_a_lost_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContainerStore::new(&Root::open(dir.path()).unwrap());
        let id = "a".repeat(64);
        std::fs::create_dir_all(store.dir(&id)).unwrap();
        std::fs::write(store.dir(&id).join("config.json"), "{}").unwrap();
        // No state yet: created.
        assert_eq!(store.state(&id).unwrap().status, Status::Created);
        // Empty, as a crash can leave a file replaced without fsync.
        std::fs::write(store.dir(&id).join("state.json"), "").unwrap();
        let lost = store.state(&id).unwrap();
        assert_eq!(lost.status, Status::Exited);
        assert_eq!(
            (lost.pid, lost.monitor_pid, lost.exit_code),
            (None, None, None)
        );
        assert!(
            lost.error.contains("state record was lost"),
            "{}",
            lost.error
        );
        // Rewritten whole.
        store.update_state(&id, |s| s.restart_count = 2).unwrap();
        assert_eq!(store.state(&id).unwrap().restart_count, 2);
    }
}
