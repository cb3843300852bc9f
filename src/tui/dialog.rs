//! Modal dialogs: confirmation of destructive actions, the help overlay, and error messages.

use super::effect::Effect;

/// A question to answer with y or n before `effect` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// Title, e.g. "Remove container".
    pub title: String,
    /// What will happen, one line each.
    pub lines: Vec<String>,
    /// What to do on yes.
    pub effect: Effect,
}

/// The dialog on top of everything, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// Asks before a destructive action.
    Confirm(Confirm),
    /// Lists the key bindings in force.
    Help,
    /// Shows a failure until dismissed.
    Error(String),
}
