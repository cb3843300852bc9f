//! dockhand: a keyboard-driven terminal UI for containers, images, volumes and networks.
//!
//! The front ends ([`tui`], [`cli`]) talk only to the [`backend::Backend`] seam.

pub mod backend;
pub mod cli;
pub mod config;
pub mod engine;
pub mod model;
pub mod session;
pub mod tui;
pub mod util;
