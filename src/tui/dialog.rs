//! Modal dialogs: confirmation of destructive actions, the help overlay, error messages,
//! forms (run, pull, build, commit, create volume or network), pull and build progress.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::build::BuildState;
use super::effect::Effect;
use super::form::{Form, FormResult};
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
    /// Lists the key bindings in force, scrolled down this many rows.
    Help(usize),
    /// Shows a failure until dismissed.
    Error(String),
    /// A form to fill in.
    Form(Form),
    /// A pull's progress.
    Pull(PullState),
    /// A build's progress.
    Build(BuildState),
}

/// What a key did to the dialog on top.
#[derive(Debug)]
pub enum Reply {
    /// The dialog stays, as the key left it.
    Stays(Dialog),
    /// The dialog is gone and nothing else happens.
    Closed,
    /// A confirmation was answered yes: the dialog is gone and its effect runs.
    Confirmed(Effect),
    /// The dialog is replaced by another (or by none) and `effect` runs.
    Then(Option<Dialog>, Effect),
}

impl Dialog {
    /// Takes one key. `is_help` says whether the key is bound to the help command, which
    /// also closes the help overlay.
    pub fn key(self, key: KeyEvent, is_help: bool) -> Reply {
        let plain = |c: char| {
            key.code == KeyCode::Char(c) && !key.modifiers.contains(KeyModifiers::CONTROL)
        };
        match self {
            Dialog::Confirm(confirm) => {
                if plain('y') || plain('Y') || key.code == KeyCode::Enter {
                    Reply::Confirmed(confirm.effect)
                } else if plain('n') || plain('N') || plain('q') || key.code == KeyCode::Esc {
                    Reply::Closed
                } else {
                    Reply::Stays(Dialog::Confirm(confirm))
                }
            }
            // Scrolling past the end is undone by the app, which knows the screen.
            Dialog::Help(scroll) => match key.code {
                KeyCode::Esc => Reply::Closed,
                _ if plain('q') || is_help => Reply::Closed,
                KeyCode::Down => Reply::Stays(Dialog::Help(scroll + 1)),
                KeyCode::Up => Reply::Stays(Dialog::Help(scroll.saturating_sub(1))),
                KeyCode::PageDown => Reply::Stays(Dialog::Help(scroll + 10)),
                KeyCode::PageUp => Reply::Stays(Dialog::Help(scroll.saturating_sub(10))),
                KeyCode::Home => Reply::Stays(Dialog::Help(0)),
                KeyCode::End => Reply::Stays(Dialog::Help(usize::MAX)),
                _ if plain('j') => Reply::Stays(Dialog::Help(scroll + 1)),
                _ if plain('k') => Reply::Stays(Dialog::Help(scroll.saturating_sub(1))),
                _ if plain('g') => Reply::Stays(Dialog::Help(0)),
                _ if plain('G') => Reply::Stays(Dialog::Help(usize::MAX)),
                _ => Reply::Stays(Dialog::Help(scroll)),
            },
            Dialog::Error(text) => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter) || plain('q') {
                    Reply::Closed
                } else {
                    Reply::Stays(Dialog::Error(text))
                }
            }
            Dialog::Form(mut form) => match form.key(key) {
                FormResult::Editing => Reply::Stays(Dialog::Form(form)),
                FormResult::Cancelled => Reply::Closed,
                // A pull from the form shows its progress.
                FormResult::Submit(Effect::Pull(reference)) => Reply::Then(
                    Some(Dialog::Pull(PullState::new(reference.clone()))),
                    Effect::Pull(reference),
                ),
                // So does a build.
                FormResult::Submit(Effect::Build(request)) => Reply::Then(
                    Some(Dialog::Build(BuildState::new(request.title()))),
                    Effect::Build(request),
                ),
                FormResult::Submit(effect) => Reply::Then(None, effect),
            },
            Dialog::Build(state) => {
                // Esc stops a running build (nothing is tagged); a finished one closes.
                if state.running() {
                    if key.code == KeyCode::Esc {
                        Reply::Then(None, Effect::CancelBuild)
                    } else {
                        Reply::Stays(Dialog::Build(state))
                    }
                } else if matches!(key.code, KeyCode::Esc | KeyCode::Enter) || plain('q') {
                    Reply::Closed
                } else {
                    Reply::Stays(Dialog::Build(state))
                }
            }
            Dialog::Pull(state) => {
                // Esc hides the dialog; the pull goes on and reports when done.
                let closes = key.code == KeyCode::Esc
                    || plain('q')
                    || (state.finished.is_some() && key.code == KeyCode::Enter);
                if closes {
                    Reply::Closed
                } else {
                    Reply::Stays(Dialog::Pull(state))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(dialog: Dialog, code: KeyCode) -> Reply {
        dialog.key(KeyEvent::new(code, KeyModifiers::NONE), false)
    }

    fn confirm() -> Dialog {
        Dialog::Confirm(Confirm {
            title: "Remove container".into(),
            lines: vec!["web".into()],
            effect: Effect::LoadTop("web".into()),
        })
    }

    #[test]
    fn a_confirmation_runs_on_yes_only() {
        assert!(matches!(
            press(confirm(), KeyCode::Char('y')),
            Reply::Confirmed(Effect::LoadTop(_))
        ));
        assert!(matches!(
            press(confirm(), KeyCode::Enter),
            Reply::Confirmed(_)
        ));
        for no in [KeyCode::Char('n'), KeyCode::Esc, KeyCode::Char('q')] {
            assert!(matches!(press(confirm(), no), Reply::Closed), "{no:?}");
        }
        assert!(matches!(
            press(confirm(), KeyCode::Char('x')),
            Reply::Stays(Dialog::Confirm(_))
        ));
        // ctrl-y is not a yes.
        let ctrl_y = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL);
        assert!(matches!(confirm().key(ctrl_y, false), Reply::Stays(_)));
    }

    #[test]
    fn help_and_errors_close_on_their_keys() {
        let help = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE);
        assert!(matches!(Dialog::Help(0).key(help, true), Reply::Closed));
        assert!(matches!(
            press(Dialog::Help(0), KeyCode::Char('j')),
            Reply::Stays(Dialog::Help(1))
        ));
        assert!(matches!(
            press(Dialog::Help(0), KeyCode::Up),
            Reply::Stays(Dialog::Help(0))
        ));
        assert!(matches!(
            press(Dialog::Error("no".into()), KeyCode::Enter),
            Reply::Closed
        ));
        assert!(matches!(
            press(Dialog::Error("no".into()), KeyCode::Char('j')),
            Reply::Stays(Dialog::Error(_))
        ));
    }

    #[test]
    fn esc_cancels_a_running_build_and_closes_a_finished_one() {
        let building = || Dialog::Build(BuildState::new("app:1".into()));
        assert!(matches!(
            press(building(), KeyCode::Esc),
            Reply::Then(None, Effect::CancelBuild)
        ));
        assert!(matches!(press(building(), KeyCode::Enter), Reply::Stays(_)));
        let mut done = BuildState::new("app:1".into());
        done.finished = Some(Ok("sha256:00".into()));
        assert!(matches!(
            press(Dialog::Build(done.clone()), KeyCode::Esc),
            Reply::Closed
        ));
        assert!(matches!(
            press(Dialog::Build(done), KeyCode::Enter),
            Reply::Closed
        ));
    }

    #[test]
    fn a_pull_dialog_hides_on_esc_and_closes_on_enter_once_done() {
        let pulling = || Dialog::Pull(PullState::new("busybox".into()));
        assert!(matches!(press(pulling(), KeyCode::Esc), Reply::Closed));
        assert!(matches!(press(pulling(), KeyCode::Enter), Reply::Stays(_)));
        let mut done = PullState::new("busybox".into());
        done.finished = Some(Ok("sha256:00".into()));
        assert!(matches!(
            press(Dialog::Pull(done), KeyCode::Enter),
            Reply::Closed
        ));
    }
}
