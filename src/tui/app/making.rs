//! Images made from the TUI: the build form (from any pane) and its progress dialog, the
//! commit form of the selected container, and their outcomes, after which the Images pane
//! is read again so the new image shows at once.

use super::*;

impl App {
    /// Opens the build form.
    pub(super) fn open_build(&mut self) -> Vec<Effect> {
        self.dialog = Some(Dialog::Form(Form::new(FormKind::Build, "")));
        Vec::new()
    }

    /// Opens the commit form for the selected container.
    pub(super) fn open_commit(&mut self) -> Vec<Effect> {
        if !self.on_containers_pane() {
            return Vec::new();
        }
        let Some(c) = self.containers.selected_row() else {
            self.say("no container selected to commit".into(), true);
            return Vec::new();
        };
        let form = Form::commit(c.id.clone(), c.name.clone());
        self.dialog = Some(Dialog::Form(form));
        Vec::new()
    }

    /// Takes a build's progress into its dialog; once it ends, the images are read again.
    pub(super) fn on_building(
        &mut self,
        item: Result<crate::model::BuildEvent, String>,
    ) -> Vec<Effect> {
        let end = matches!(&item, Err(_) | Ok(crate::model::BuildEvent::Built { .. }));
        // Once a cancel closed the dialog, what was still on its way is dropped.
        if let Some(Dialog::Build(state)) = &mut self.dialog {
            state.update(item);
            self.dirty = true;
        }
        if end {
            vec![Effect::LoadList(PaneKind::Images)]
        } else {
            Vec::new()
        }
    }

    /// Says what a commit made, or why it failed.
    pub(super) fn on_committed(&mut self, name: String, outcome: Outcome<String>) -> Vec<Effect> {
        self.dirty = true;
        match outcome {
            Ok(id) => {
                let short = id.trim_start_matches("sha256:");
                let short = &short[..short.len().min(12)];
                self.say(format!("committed {name} as image {short}"), false);
                vec![Effect::LoadList(PaneKind::Images)]
            }
            Err(f) => {
                self.dialog = Some(Dialog::Error(format!(
                    "commit of {name} failed: {}",
                    f.message
                )));
                Vec::new()
            }
        }
    }
}
