//! The domain model: the vocabulary every layer above shares.
//!
//! Types by object kind (containers, images, volumes, networks, events, the system), the
//! container state machine, image references, and the parsers of Docker's option syntax
//! (`-p`, `-v`, `--mount`, sizes, signals). Nothing here depends on bollard, on the engine or on
//! a front end, and nothing here does I/O: the engine, every backend, the CLI and the TUI
//! depend on this module, never the other way round.

pub mod build;
pub mod container;
pub mod dockerignore;
pub mod event;
pub mod image;
pub mod import_changes;
pub mod logging;
pub mod network;
pub mod parse;
pub mod reference;
pub mod session;
pub mod signal;
pub mod state;
pub mod system;
pub mod volume;

pub use build::*;
pub use container::*;
pub use event::*;
pub use image::*;
pub use network::*;
pub use reference::{Reference, ReferenceError};
pub use session::*;
pub use signal::Signal;
pub use state::{Allowed, ContainerState, Operation, Refusal};
pub use system::*;
pub use volume::*;

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// The first 12 characters of an id.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// A value that does not follow the syntax it was given in: the message names the value and
/// the accepted form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    /// A refusal with this message.
    pub fn new(message: impl Into<String>) -> Invalid {
        Invalid(message.into())
    }
}
