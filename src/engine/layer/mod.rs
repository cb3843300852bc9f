//! Layers: unpacking layer tarballs safely into the overlay form (diffs and snapshots follow).

pub mod unpack;

pub use unpack::{UnpackError, UnpackReport, unpack};
