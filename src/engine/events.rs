//! The events journal (`events.jsonl`): one JSON line per change, appended by whichever
//! process made it, and followed by `dockhand events` and the TUI. It is rotated to
//! `events.jsonl.1` past a size; followers notice and reopen.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::store::LineFollower;
use crate::model;

/// Past this size the journal is rotated.
const MAX_BYTES: u64 = 8 << 20;

/// One line of the journal: the engine's own record of a change (its layout is the data
/// root's format, independent of the front ends' [`model::Event`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it happened (Unix seconds).
    pub time: i64,
    /// What kind of object changed.
    pub kind: Kind,
    /// Docker's action name: `create`, `start`, `die`, `destroy`, `pull`, `tag`, …
    pub action: String,
    /// Id of the object.
    pub id: String,
    /// Name of the object, when it has one.
    pub name: Option<String>,
}

/// The kind of object a journal entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A named volume.
    Volume,
    /// A network.
    Network,
}

impl From<Entry> for model::Event {
    fn from(e: Entry) -> model::Event {
        model::Event {
            time: e.time,
            kind: match e.kind {
                Kind::Container => model::ObjectKind::Container,
                Kind::Image => model::ObjectKind::Image,
                Kind::Volume => model::ObjectKind::Volume,
                Kind::Network => model::ObjectKind::Network,
            },
            action: e.action,
            id: e.id,
            name: e.name,
        }
    }
}

impl From<model::ObjectKind> for Kind {
    fn from(k: model::ObjectKind) -> Kind {
        match k {
            model::ObjectKind::Container => Kind::Container,
            model::ObjectKind::Image => Kind::Image,
            model::ObjectKind::Volume => Kind::Volume,
            model::ObjectKind::Network => Kind::Network,
        }
    }
}

/// The journal of a data root.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal in `root`.
    pub fn new(root: &Path) -> Journal {
        Journal {
            path: root.join("events.jsonl"),
        }
    }

    /// Appends one event. Failing to record an event never fails the change it reports.
    pub fn append(&self, event: &Entry) {
        let mut line = serde_json::to_vec(event).expect("events serialise");
        line.push(b'\n');
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() > MAX_BYTES) {
            let _ = std::fs::rename(&self.path, self.path.with_extension("jsonl.1"));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path);
        if let Ok(mut f) = file {
            // One write of a whole line: appends from several processes do not interleave.
            let _ = f.write_all(&line);
        }
    }

    /// The directory the journal is in (where a follower watches for appends).
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    /// A follower that yields events appended from now on.
    pub fn follow(&self) -> Follower {
        LineFollower::from_end(self.path.clone())
    }
}

/// Reads new lines of the journal as they are appended.
pub type Follower = LineFollower<Entry>;

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str) -> Entry {
        Entry {
            time: 1,
            kind: Kind::Image,
            action: action.into(),
            id: "sha256:00".into(),
            name: Some("busybox:latest".into()),
        }
    }

    #[test]
    fn journal_lines_keep_their_layout() {
        let line = r#"{"time":7,"kind":"container","action":"die","id":"abc","name":"web"}"#;
        let entry: Entry = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&entry).unwrap(), line);
        let event = model::Event::from(entry);
        assert_eq!(event.kind, model::ObjectKind::Container);
        assert_eq!(
            (event.action.as_str(), event.name.as_deref()),
            ("die", Some("web"))
        );
    }

    #[test]
    fn followers_see_only_what_comes_after_them_also_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        j.append(&event("pull"));
        let mut f = j.follow();
        assert!(f.poll().is_empty());
        j.append(&event("tag"));
        j.append(&event("untag"));
        let seen: Vec<String> = f.poll().into_iter().map(|e| e.action).collect();
        assert_eq!(seen, ["tag", "untag"]);
        std::fs::rename(dir.path().join("events.jsonl"), dir.path().join("old")).unwrap();
        j.append(&event("delete"));
        let seen: Vec<String> = f.poll().into_iter().map(|e| e.action).collect();
        assert_eq!(seen, ["delete"]);

        // A journal that does not exist yet is picked up once it does.
        let empty = tempfile::tempdir().unwrap();
        let j = Journal::new(empty.path());
        let mut f = j.follow();
        assert!(f.poll().is_empty());
        j.append(&event("load"));
        assert_eq!(f.poll().len(), 1);
    }
}
