//! Small helpers shared by the CLI, the TUI and the backends: time and size formatting.

pub mod time;
pub mod units;
