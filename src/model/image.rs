//! Images: list rows, details, history, pull and push progress.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{UnixTime, short_id};

/// One row of an image list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageSummary {
    /// `sha256:<64 hex>`.
    pub id: String,
    /// `name:tag` references; empty for a dangling image.
    pub repo_tags: Vec<String>,
    /// `name@sha256:…` references.
    pub repo_digests: Vec<String>,
    /// Creation time from the image config.
    pub created: UnixTime,
    /// Size of all layers, bytes.
    pub size: u64,
    /// Number of containers using it.
    pub containers: usize,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl ImageSummary {
    /// The id without `sha256:`, shortened to 12 characters.
    pub fn short_id(&self) -> &str {
        short_id(self.id.strip_prefix("sha256:").unwrap_or(&self.id))
    }

    /// Repository and tag for display: the first reference, or `<none>`/`<none>`.
    pub fn repo_and_tag(&self) -> (String, String) {
        match self.repo_tags.first() {
            Some(r) => match r.rfind(':') {
                Some(i) if !r[i..].contains('/') => (r[..i].to_string(), r[i + 1..].to_string()),
                _ => (r.clone(), "latest".to_string()),
            },
            None => ("<none>".to_string(), "<none>".to_string()),
        }
    }
}

/// Everything known about one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageDetails {
    /// The list row.
    pub summary: ImageSummary,
    /// CPU architecture.
    pub architecture: String,
    /// Operating system.
    pub os: String,
    /// Default environment.
    pub env: Vec<String>,
    /// Default entrypoint.
    pub entrypoint: Vec<String>,
    /// Default command.
    pub cmd: Vec<String>,
    /// Default working directory.
    pub working_dir: String,
    /// Exposed ports, e.g. `80/tcp`.
    pub exposed_ports: Vec<String>,
    /// Layer diff ids, bottom first.
    pub layers: Vec<String>,
    /// Docker-shaped inspect document.
    pub inspect: serde_json::Value,
}

/// One step of an image's history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Image id of the step, or `<missing>`.
    pub id: String,
    /// When the step was made.
    pub created: UnixTime,
    /// The instruction that made it.
    pub created_by: String,
    /// Size the step added, bytes.
    pub size: u64,
    /// Comment.
    pub comment: String,
}

/// Progress of one layer during a pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullProgress {
    /// Short layer id (or the reference for whole-image messages).
    pub id: String,
    /// What is happening.
    pub status: PullStatus,
}

/// What a pull is doing with one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PullStatus {
    /// Queued.
    Waiting,
    /// The layer is already in the store.
    AlreadyExists,
    /// Downloading: bytes so far of total.
    Downloading {
        /// Bytes received.
        current: u64,
        /// Bytes expected, when known.
        total: Option<u64>,
    },
    /// Digest verified.
    Verifying,
    /// Unpacking: bytes so far of total.
    Extracting {
        /// Bytes unpacked.
        current: u64,
        /// Bytes expected, when known.
        total: Option<u64>,
    },
    /// The layer is complete.
    Complete,
    /// The whole image is stored; carries the resolved digest.
    Done {
        /// Manifest digest.
        digest: String,
    },
}

/// Progress of one layer (or of the whole image) during a push, in Docker's words
/// (`Preparing`, `Pushing`, `Pushed`, `Layer already exists`, `digest: sha256:… size: N`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushProgress {
    /// Short layer id, or the tag for whole-image lines.
    pub id: String,
    /// What happened.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn image_repo_and_tag_split_on_the_last_colon_outside_the_host() {
        let mut img = ImageSummary {
            id: format!("sha256:{}", "ab".repeat(32)),
            repo_tags: vec!["localhost:5000/app".into()],
            repo_digests: vec![],
            created: 0,
            size: 0,
            containers: 0,
            labels: BTreeMap::new(),
        };
        assert_eq!(
            img.repo_and_tag(),
            ("localhost:5000/app".into(), "latest".into())
        );
        img.repo_tags = vec!["localhost:5000/app:v2".into()];
        assert_eq!(
            img.repo_and_tag(),
            ("localhost:5000/app".into(), "v2".into())
        );
        img.repo_tags.clear();
        assert_eq!(img.repo_and_tag(), ("<none>".into(), "<none>".into()));
        assert_eq!(img.short_id(), "abababababab");
    }
}

/// What `commit` makes of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSpec {
    /// `REPO[:TAG]` to name the image; untagged when `None`.
    pub reference: Option<String>,
    /// `-a`: the author.
    pub author: String,
    /// `-m`: the history entry's comment.
    pub message: String,
    /// `-c`: Dockerfile instructions applied to the config (those `import --change` takes).
    pub changes: Vec<String>,
    /// Freeze a running container while its changes are read.
    pub pause: bool,
}
