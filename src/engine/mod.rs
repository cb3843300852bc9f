//! The embedded, daemonless engine. Its core imports no tokio, ratatui or bollard; it is
//! reached from the front ends through the `Backend` seam.
//!
//! So far it holds image references; storage, layers, containers and networks follow.

pub mod image;
