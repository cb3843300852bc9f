//! Modal dialogs: confirmation of destructive actions, the help overlay, error messages,
//! forms (run, pull, create volume or network) and pull progress.

use super::effect::Effect;
use super::form::Form;
use crate::model::{PullProgress, PullStatus};

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

/// A pull in progress, layer by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullState {
    /// What is pulled.
    pub reference: String,
    /// Layers in the order they were announced, with their latest status.
    pub layers: Vec<(String, PullStatus)>,
    /// The outcome once finished: the digest, or why it failed.
    pub finished: Option<Result<String, String>>,
}

impl PullState {
    /// A pull that has just started.
    pub fn new(reference: String) -> PullState {
        PullState {
            reference,
            layers: Vec::new(),
            finished: None,
        }
    }

    /// Takes one progress report.
    pub fn update(&mut self, item: Result<PullProgress, String>) {
        match item {
            Ok(PullProgress {
                status: PullStatus::Done { digest },
                ..
            }) => self.finished = Some(Ok(digest)),
            Ok(p) => match self.layers.iter_mut().find(|(id, _)| *id == p.id) {
                Some(entry) => entry.1 = p.status,
                None => self.layers.push((p.id, p.status)),
            },
            Err(e) => self.finished = Some(Err(e)),
        }
    }
}

/// The dialog on top of everything, if any.
#[derive(Debug)]
pub enum Dialog {
    /// Asks before a destructive action.
    Confirm(Confirm),
    /// Lists the key bindings in force.
    Help,
    /// Shows a failure until dismissed.
    Error(String),
    /// A form to fill in.
    Form(Form),
    /// A pull's progress.
    Pull(PullState),
}
