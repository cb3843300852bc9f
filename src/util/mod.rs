//! Small helpers shared by the CLI, the TUI, the backends and the engine: time and size
//! formatting, command-line words, bridges between byte streams and blocking I/O.

pub mod chan_io;
pub mod time;
pub mod units;
pub mod words;
