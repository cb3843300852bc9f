//! Small helpers shared by the CLI, the TUI and the backends: time and size formatting, command-line words.

pub mod time;
pub mod units;
pub mod words;
