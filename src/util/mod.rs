//! Small helpers shared by the CLI, the TUI, the backends and the engine: time and size
//! formatting, command-line words, bridges between byte streams and blocking I/O, registry
//! credentials and the check `login` makes with them, random ids, directory sizes. Nothing here depends on another module
//! of the crate.

pub mod chan_io;
pub mod credentials;
pub mod errors;
pub mod fs;
pub mod random;
pub mod registry_login;
pub mod time;
pub mod units;
pub mod words;
