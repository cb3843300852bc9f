//! Changes reported by a backend, and the kinds of object they are about.

use std::fmt;

use serde::Serialize;

use super::UnixTime;

/// The kind of object an id, event or error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A named volume.
    Volume,
    /// A network.
    Network,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Container => "container",
            ObjectKind::Image => "image",
            ObjectKind::Volume => "volume",
            ObjectKind::Network => "network",
        })
    }
}

/// A change reported by a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Event {
    /// When it happened.
    pub time: UnixTime,
    /// Kind of object.
    pub kind: ObjectKind,
    /// Docker's action name: `create`, `start`, `die`, `destroy`, `pull`, `tag`, …
    pub action: String,
    /// Id of the object.
    pub id: String,
    /// Name of the object, when it has one.
    pub name: Option<String>,
}
