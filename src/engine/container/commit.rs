//! `commit`: a container's changes (deletions as whiteouts) become one new layer over its
//! image's, and its configuration, with the `--change` instructions over it, the new
//! image's. A running container is paused meanwhile unless asked not to be.

use serde_json::{Value, json};

use super::ContainerError;
use super::lifecycle::{Runtime, Snapshot};
use super::record::Status;
use crate::engine::image::compose;
use crate::engine::store::Digest;
use crate::model::import_changes::ImageChanges;
use crate::model::reference::Reference;
use crate::util::time::{rfc3339, unix_now};

/// What `commit` records besides the changes.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    /// `-a`.
    pub author: String,
    /// `-m`.
    pub message: String,
    /// `-c`, parsed.
    pub changes: ImageChanges,
    /// Freeze a running container while its changes are read.
    pub pause: bool,
    /// The name to give the image.
    pub tag: Option<Reference>,
}

impl Runtime {
    /// Makes an image of a container's changes. Returns the image id.
    pub fn commit(&self, id: &str, request: &CommitRequest) -> Result<Digest, ContainerError> {
        let snap = self.get(id)?;
        if snap.config.build.is_some() {
            return Err(ContainerError::Invalid(format!(
                "{} is a build step; its build makes the image",
                &snap.config.id[..12]
            )));
        }
        let froze = request.pause && snap.state.status == Status::Running;
        if froze {
            self.pause(id)?;
        }
        let result = self.commit_changes(id, &snap, request);
        if froze {
            let _ = self.unpause(id);
        }
        result
    }

    fn commit_changes(
        &self,
        id: &str,
        snap: &Snapshot,
        request: &CommitRequest,
    ) -> Result<Digest, ContainerError> {
        let image_id = Digest::parse(&snap.config.image_id)?;
        let record = self.images.record(&image_id)?;
        let raw = self.images.config_bytes(&image_id)?;
        let mut doc: Value = serde_json::from_slice(&raw).map_err(|e| {
            super::runtime(format!("cannot read the config of image {image_id}"), e)
        })?;
        let lease = self.images.lease()?;
        let (base, changes, chain) = self.changes_in(id)?;
        let layer = compose::add_layer(&self.images, chain.last(), &base, &changes)?;
        let config = &snap.config;
        if !doc["config"].is_object() {
            doc["config"] = json!({});
        }
        let c = &mut doc["config"];
        c["Cmd"] = json!(config.cmd);
        c["Entrypoint"] = if config.entrypoint.is_empty() {
            Value::Null
        } else {
            json!(config.entrypoint)
        };
        c["Env"] = json!(config.env);
        c["WorkingDir"] = json!(config.working_dir);
        c["User"] = json!(config.user);
        c["Labels"] = json!(config.labels);
        request.changes.apply(c);
        let now = rfc3339(unix_now());
        doc["created"] = json!(now);
        doc["container"] = json!(config.id);
        if !request.author.is_empty() {
            doc["author"] = json!(request.author);
        }
        if !doc["rootfs"]["diff_ids"].is_array() {
            doc["rootfs"] = json!({"type": "layers", "diff_ids": []});
        }
        if let Some(ids) = doc["rootfs"]["diff_ids"].as_array_mut() {
            ids.push(json!(layer.diff_id.to_string()));
        }
        let mut entry = json!({"created": now, "created_by": config.args.join(" ")});
        if !request.author.is_empty() {
            entry["author"] = json!(request.author);
        }
        if !request.message.is_empty() {
            entry["comment"] = json!(request.message);
        }
        match doc["history"].as_array_mut() {
            Some(h) => h.push(entry),
            None => doc["history"] = json!([entry]),
        }
        let mut layers = record.layers.clone();
        layers.push(layer);
        let tags: Vec<Reference> = request.tag.iter().cloned().collect();
        let made = compose::record(&self.images, &doc, &layers, &tags)?;
        drop(lease);
        self.emit("commit", id, &config.name);
        Ok(made)
    }
}
