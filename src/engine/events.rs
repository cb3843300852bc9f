//! The events journal (`events.jsonl`): one JSON line per change, appended by whichever
//! process made it, and followed by `dockhand events` and the TUI. It is rotated to
//! `events.jsonl.1` past a size; followers notice and reopen.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::backend::types::Event;
use crate::engine::store::LineFollower;

/// Past this size the journal is rotated.
const MAX_BYTES: u64 = 8 << 20;

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
    pub fn append(&self, event: &Event) {
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

    /// A follower that yields events appended from now on.
    pub fn follow(&self) -> Follower {
        LineFollower::from_end(self.path.clone())
    }
}

/// Reads new lines of the journal as they are appended.
pub type Follower = LineFollower<Event>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::types::ObjectKind;

    fn event(action: &str) -> Event {
        Event {
            time: 1,
            kind: ObjectKind::Image,
            action: action.into(),
            id: "sha256:00".into(),
            name: Some("busybox:latest".into()),
        }
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
