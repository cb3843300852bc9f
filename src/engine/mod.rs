//! The embedded, daemonless engine, reached from the front ends through the `Backend` seam.
//! Its core (store, layers, images, containers, check) is synchronous and imports no tokio,
//! ratatui or bollard; `registry` is its async edge. It holds the data root's store (atomic
//! writes, locks, the verified content store), layers and container snapshots, images and
//! their sources (archives, registries), containers with their per-container monitor, the
//! events journal and host facts, and named volumes. Networks follow.

pub mod build;
pub mod cgroup;
pub mod check;
pub mod container;
pub mod events;
pub mod host;
pub mod image;
pub mod layer;
pub mod network;
pub mod registry;
pub mod store;
pub mod volume;
