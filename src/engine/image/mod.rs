//! Images: references by Docker's rules, the store of image records and names, and the
//! sources images come from (archives, registries).

pub mod archive;
pub mod import;
pub mod reference;
pub mod store;

pub use reference::{Reference, ReferenceError};
pub use store::{Image, ImageError, ImageRecord, ImageStore, LayerRef};
