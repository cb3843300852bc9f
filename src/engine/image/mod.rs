//! Images: references by Docker's rules (the content store, manifests, pull/push and
//! load/save follow).

pub mod reference;

pub use reference::{Reference, ReferenceError};
