//! Images: the store of image records and names (references follow [`crate::model::Reference`]), and the
//! sources images come from (archives, registries).

pub mod archive;
pub mod compose;
pub mod held;
pub mod import;
pub mod store;

pub use store::{Image, ImageError, ImageRecord, ImageStore, LayerRef};
