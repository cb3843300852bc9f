//! The embedded, daemonless engine. Its core imports no tokio, ratatui or bollard; it is
//! reached from the front ends through the `Backend` seam.
//!
//! So far it holds image references and the data root's store (atomic writes, locks, the
//! verified content store) and safe layer unpacking; snapshots, images, containers and
//! networks follow.

pub mod check;
pub mod container;
pub mod events;
pub mod host;
pub mod image;
pub mod layer;
pub mod registry;
pub mod store;
