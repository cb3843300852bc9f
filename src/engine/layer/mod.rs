//! Layers: safe unpacking of layer tarballs into the overlay form, their compression, the
//! store of unpacked layers by chain id, container snapshots over them, and new layers
//! written from a container's or a build step's changes.

pub mod changes;
pub mod compress;
pub mod snapshot;
pub mod store;
pub mod unpack;
pub mod write;

pub use compress::{Compression, decompress};
pub use snapshot::{Driver, SnapshotError, Snapshotter};
pub use store::{LayerError, LayerMeta, LayerStore, chain_id, chain_ids};
pub use unpack::{UnpackError, UnpackReport, unpack};
