//! A build's state between steps: the layers so far and the image config document they will
//! carry (Docker's field names, so `Shell`, `Healthcheck` and `OnBuild` are kept), with the
//! cache key that names it. The instructions that change only the config are applied here.

use serde_json::{Value, json};

use super::BuildError;
use crate::engine::image::{ImageStore, LayerRef};
use crate::engine::store::Digest;

/// Layers, config and cache key after a step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// The layers, bottom first.
    pub layers: Vec<LayerRef>,
    /// The image config document.
    pub doc: Value,
    /// The cache key of this state (hex).
    #[serde(skip)]
    pub key: String,
    /// The base image's id, when the stage started from one.
    #[serde(skip)]
    pub base_image: Option<Digest>,
}

impl State {
    /// The empty state of `FROM scratch`.
    pub fn scratch() -> State {
        State {
            layers: Vec::new(),
            doc: json!({
                "architecture": crate::engine::image::archive::host_arch(),
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
                "history": [],
            }),
            key: "scratch".into(),
            base_image: None,
        }
    }

    /// The state of an image in the store.
    pub fn image(store: &ImageStore, id: &Digest) -> Result<State, BuildError> {
        let record = store.record(id)?;
        let raw = store.config_bytes(id)?;
        let mut doc: Value = serde_json::from_slice(&raw).map_err(|e| {
            BuildError::Invalid(format!("the config of image {id} cannot be read: {e}"))
        })?;
        if !doc["config"].is_object() {
            doc["config"] = json!({});
        }
        if !doc["history"].is_array() {
            doc["history"] = json!([]);
        }
        // What describes the image's own making does not carry over.
        if let Some(o) = doc.as_object_mut() {
            o.remove("container");
            o.remove("container_config");
        }
        Ok(State {
            layers: record.layers,
            doc,
            key: id.hex().to_string(),
            base_image: Some(id.clone()),
        })
    }

    /// The chain ids of the layers, bottom first.
    pub fn chain(&self) -> Vec<Digest> {
        crate::engine::image::store::layer_chain(&self.layers)
    }

    /// The `config` section.
    pub fn config(&self) -> &Value {
        &self.doc["config"]
    }

    /// The `config` section, to change.
    pub fn config_mut(&mut self) -> &mut Value {
        &mut self.doc["config"]
    }

    fn strings(&self, key: &str) -> Option<Vec<String>> {
        self.config()[key].as_array().map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    }

    /// The environment as `KEY=value`.
    pub fn env(&self) -> Vec<String> {
        self.strings("Env").unwrap_or_default()
    }

    /// A variable of the environment.
    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env().into_iter().find_map(|e| {
            e.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    /// Sets a variable of the environment.
    pub fn set_env(&mut self, name: &str, value: &str) {
        let mut env = self.env();
        let line = format!("{name}={value}");
        match env.iter_mut().find(|e| e.split('=').next() == Some(name)) {
            Some(slot) => *slot = line,
            None => env.push(line),
        }
        self.config_mut()["Env"] = json!(env);
    }

    /// The working directory (`/` when unset).
    pub fn workdir(&self) -> String {
        match self.config()["WorkingDir"].as_str() {
            Some(w) if !w.is_empty() => w.to_string(),
            _ => "/".into(),
        }
    }

    /// The user steps run as.
    pub fn user(&self) -> String {
        self.config()["User"].as_str().unwrap_or("").to_string()
    }

    /// The shell of shell-form commands (`SHELL`, else `/bin/sh -c`).
    pub fn shell(&self) -> Vec<String> {
        self.strings("Shell")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }

    /// `ONBUILD` triggers.
    pub fn triggers(&self) -> Vec<String> {
        self.strings("OnBuild").unwrap_or_default()
    }

    /// Sets a string list, or removes it when `None`.
    pub fn set_list(&mut self, key: &str, value: Option<Vec<String>>) {
        self.config_mut()[key] = match value {
            Some(v) => json!(v),
            None => Value::Null,
        };
    }

    /// Adds keys to an object of the config (`ExposedPorts`, `Volumes`, `Labels`).
    pub fn add_to(&mut self, key: &str, items: impl IntoIterator<Item = (String, Value)>) {
        let c = self.config_mut();
        if !c[key].is_object() {
            c[key] = json!({});
        }
        for (k, v) in items {
            c[key][k] = v;
        }
    }

    /// Appends a history entry made at `created` (RFC 3339).
    pub fn history(&mut self, created_by: &str, empty_layer: bool, created: &str) {
        let mut entry = json!({"created": created, "created_by": created_by});
        if empty_layer {
            entry["empty_layer"] = json!(true);
        }
        if !self.doc["history"].is_array() {
            self.doc["history"] = json!([]);
        }
        if let Some(h) = self.doc["history"].as_array_mut() {
            h.push(entry);
        }
        self.doc["created"] = json!(created);
    }

    /// Adds a layer on top.
    pub fn push_layer(&mut self, layer: LayerRef) {
        if !self.doc["rootfs"]["diff_ids"].is_array() {
            self.doc["rootfs"] = json!({"type": "layers", "diff_ids": []});
        }
        if let Some(ids) = self.doc["rootfs"]["diff_ids"].as_array_mut() {
            ids.push(json!(layer.diff_id.to_string()));
        }
        self.layers.push(layer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_edits() {
        let mut s = State::scratch();
        assert_eq!(s.workdir(), "/");
        assert_eq!(s.shell(), ["/bin/sh", "-c"]);
        s.set_env("A", "1");
        s.set_env("B", "2");
        s.set_env("A", "3");
        assert_eq!(s.env(), ["A=3", "B=2"]);
        assert_eq!(s.env_var("B").as_deref(), Some("2"));
        s.add_to("ExposedPorts", [("80/tcp".to_string(), json!({}))]);
        assert!(s.config()["ExposedPorts"]["80/tcp"].is_object());
        s.history("ENV A=3", true, "2026-01-01T00:00:00Z");
        assert_eq!(s.doc["history"][0]["empty_layer"], true);
        assert_eq!(s.doc["created"], "2026-01-01T00:00:00Z");
    }
}
