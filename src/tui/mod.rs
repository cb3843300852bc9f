//! The terminal UI: event loop, application state, key bindings, theme, panes and dialogs.

pub mod keymap;
pub mod theme;
