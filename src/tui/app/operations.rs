//! Actions that ask first or hand the terminal over: container operations, kill, remove and
//! prune confirmations (with what goes), saving logs, shell and attach.

use super::*;

/// The prune dialog's line while the containers' sizes are measured.
const MEASURING: &str = "Measuring the space it frees…";

/// The prune dialog's line for what goes.
fn freed(bytes: u64) -> String {
    format!(
        "About {} will be freed.",
        crate::util::units::human_size(bytes)
    )
}

impl App {
    /// Whether the Containers pane is in front; if not, says how to get there.
    pub(super) fn on_containers_pane(&mut self) -> bool {
        if self.pane == PaneKind::Containers {
            return true;
        }
        let key = self.keymap.label(Command::PaneContainers);
        self.say(
            format!("that key acts on containers; press {key} for the Containers pane"),
            true,
        );
        false
    }

    /// Runs an action on the target containers; other panes get a hint instead.
    pub(super) fn container_action(
        &mut self,
        op: impl Fn(&ContainerSummary) -> ContainerOp,
    ) -> Vec<Effect> {
        if !self.on_containers_pane() {
            return Vec::new();
        }
        let targets = self.containers.targets();
        let Some(first) = targets.first() else {
            return Vec::new();
        };
        // A bulk action follows the first target, like a toggle over the selection.
        let op = op(first);
        self.containers.clear_marks();
        vec![Effect::Containers(op, key_label(&targets))]
    }

    /// The tag of the selected image when the Images pane is in front (for run and pull forms).
    pub(super) fn selected_image_tag(&self) -> String {
        match self.pane {
            PaneKind::Images => self
                .images
                .selected_row()
                .and_then(|i| i.repo_tags.first().cloned())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Asks before pruning the pane, listing what would go and the space it frees.
    pub(super) fn confirm_prune(&mut self) -> Vec<Effect> {
        // Lists leave container sizes out (measuring them walks every layer): when they are
        // missing, the dialog opens at once and the figure follows.
        let mut measure = false;
        let (names, bytes): (Vec<String>, u64) = match self.pane {
            PaneKind::Containers => {
                let gone: Vec<&ContainerSummary> = self
                    .containers
                    .rows()
                    .iter()
                    .filter(|c| c.state.is_prunable())
                    .collect();
                measure = gone.iter().any(|c| c.size_rw.is_none());
                (
                    gone.iter().map(|c| c.name.clone()).collect(),
                    gone.iter().filter_map(|c| c.size_rw).sum(),
                )
            }
            PaneKind::Images => {
                let gone: Vec<&ImageSummary> = self
                    .images
                    .rows()
                    .iter()
                    .filter(|i| i.repo_tags.is_empty() && i.containers == 0)
                    .collect();
                (
                    gone.iter().map(|i| i.short_id().to_string()).collect(),
                    gone.iter().map(|i| i.size).sum(),
                )
            }
            PaneKind::Volumes => {
                let gone: Vec<&VolumeSummary> = self
                    .volumes
                    .rows()
                    .iter()
                    .filter(|v| v.used_by.is_empty())
                    .collect();
                (
                    gone.iter().map(|v| v.name.clone()).collect(),
                    gone.iter().filter_map(|v| v.size).sum(),
                )
            }
            PaneKind::Networks => (
                self.networks
                    .rows()
                    .iter()
                    .filter(|n| !n.is_builtin() && n.containers.is_empty())
                    .map(|n| n.name.clone())
                    .collect(),
                0,
            ),
        };
        let noun = self.pane.noun();
        if names.is_empty() {
            self.say(format!("nothing to prune: no unused {noun}s"), false);
            return Vec::new();
        }
        let what = match self.pane {
            PaneKind::Containers => "stopped",
            PaneKind::Images => "dangling",
            _ => "unused",
        };
        let mut lines = vec![format!(
            "Remove {} {what} {}: {}?",
            names.len(),
            if names.len() == 1 {
                noun.to_string()
            } else {
                format!("{noun}s")
            },
            names_list(names.iter().map(String::as_str))
        )];
        if measure {
            lines.push(MEASURING.to_string());
        } else if bytes > 0 {
            lines.push(freed(bytes));
        }
        self.dialog = Some(Dialog::Confirm(Confirm {
            title: format!("Prune {noun}s"),
            lines,
            effect: Effect::Prune(self.pane),
        }));
        if measure {
            vec![Effect::MeasurePrune]
        } else {
            Vec::new()
        }
    }

    /// Puts the measured size into the container prune dialog, if it is still open.
    pub(super) fn prune_measured(&mut self, bytes: Outcome<u64>) {
        let Some(Dialog::Confirm(confirm)) = &mut self.dialog else {
            return;
        };
        if confirm.effect != Effect::Prune(PaneKind::Containers) {
            return;
        }
        let Some(line) = confirm.lines.iter().position(|l| l == MEASURING) else {
            return;
        };
        match bytes {
            Ok(0) => {
                confirm.lines.remove(line);
            }
            Ok(n) => confirm.lines[line] = freed(n),
            Err(e) => confirm.lines[line] = format!("The space it frees is unknown: {}", e.message),
        }
        self.dirty = true;
    }

    /// Writes the shown log lines to `dockhand-NAME-TIME.log` in the current directory.
    pub(super) fn save_logs(&mut self) -> Vec<Effect> {
        let Some(target) = self
            .detail
            .target
            .clone()
            .filter(|t| t.pane == PaneKind::Containers)
        else {
            self.say("select a container to save its logs".into(), true);
            return Vec::new();
        };
        if self.detail.logs.is_empty() {
            self.say(format!("{} has no log lines to save", target.label), true);
            return Vec::new();
        }
        let stamp = crate::util::time::rfc3339(self.now).replace(':', "");
        let path = std::path::PathBuf::from(format!("dockhand-{}-{stamp}.log", target.label));
        vec![Effect::SaveLogs(path, self.detail.logs.export())]
    }

    /// Asks the event loop to hand the terminal to a shell or the main process.
    pub(super) fn handover(&mut self, attach: bool) -> Vec<Effect> {
        let Some((id, name)) = self.running_selected(attach) else {
            return Vec::new();
        };
        vec![Effect::Handover(crate::tui::effect::Handover {
            id,
            name,
            attach,
            command: Vec::new(),
        })]
    }

    /// Shows how a handed-over session ended and reloads what it may have changed.
    pub fn handover_ended(&mut self, text: String, error: bool) -> Vec<Effect> {
        self.say(text, error);
        self.dirty = true;
        let mut effects = vec![Effect::LoadList(PaneKind::Containers)];
        effects.extend(self.tab_effects(true));
        effects
    }

    pub(super) fn confirm_kill(&mut self) -> Vec<Effect> {
        if self.pane != PaneKind::Containers {
            return self.container_action(|_| ContainerOp::Kill);
        }
        let targets: Vec<ContainerSummary> = self
            .containers
            .targets()
            .into_iter()
            .filter(|c| c.state.is_alive())
            .collect();
        if targets.is_empty() {
            self.say("nothing to kill: the container is not running".into(), true);
            return Vec::new();
        }
        self.dialog = Some(Dialog::Confirm(Confirm {
            title: "Kill".into(),
            lines: vec![format!(
                "Send SIGKILL to {}?",
                names_list(targets.iter().map(|c| c.name.as_str()))
            )],
            effect: Effect::Containers(ContainerOp::Kill, key_label(&targets)),
        }));
        Vec::new()
    }

    pub(super) fn confirm_remove(&mut self) -> Vec<Effect> {
        self.confirm_remove_of(None)
    }

    /// Asks before removing `only` (keys of the pane in front), or the marked or selected
    /// rows.
    pub(super) fn confirm_remove_of(&mut self, only: Option<&[String]>) -> Vec<Effect> {
        fn chosen<T: Row>(p: &ListPane<T>, only: Option<&[String]>) -> Vec<T> {
            match only {
                Some(keys) => p
                    .rows()
                    .iter()
                    .filter(|r| keys.iter().any(|k| k == r.key()))
                    .cloned()
                    .collect(),
                None => p.targets(),
            }
        }
        let (targets, extra) = match self.pane {
            PaneKind::Containers => {
                let targets = chosen(&self.containers, only);
                let running: Vec<&str> = targets
                    .iter()
                    .filter(|c| c.state.is_alive())
                    .map(|c| c.name.as_str())
                    .collect();
                let extra = if running.is_empty() {
                    Vec::new()
                } else {
                    vec![format!(
                        "{} running and will be killed first.",
                        is_are(&running)
                    )]
                };
                (key_label(&targets), extra)
            }
            // By reference, so a row with several tags is untagged, as Docker does.
            PaneKind::Images => (
                chosen(&self.images, only)
                    .iter()
                    .map(|i| (i.label(), i.label()))
                    .collect(),
                Vec::new(),
            ),
            PaneKind::Volumes => (
                key_label(&chosen(&self.volumes, only)),
                vec!["The data in it is deleted for good.".to_string()],
            ),
            PaneKind::Networks => (key_label(&chosen(&self.networks, only)), Vec::new()),
        };
        if targets.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![format!(
            "Remove {} {}?",
            plural(targets.len(), self.pane.noun()),
            names_list(targets.iter().map(|(_, label)| label.as_str()))
        )];
        lines.extend(extra);
        let effect = match self.pane {
            PaneKind::Containers => Effect::Containers(ContainerOp::Remove, targets),
            PaneKind::Images => Effect::RemoveImages(targets),
            PaneKind::Volumes => Effect::RemoveVolumes(targets),
            PaneKind::Networks => Effect::RemoveNetworks(targets),
        };
        self.dialog = Some(Dialog::Confirm(Confirm {
            title: format!("Remove {}", self.pane.noun()),
            lines,
            effect,
        }));
        Vec::new()
    }
}

/// (key, label) of each row, as effects take their targets.
fn key_label<T: Row>(rows: &[T]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| (r.key().to_string(), r.label()))
        .collect()
}

/// `1 container` / `3 containers`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        format!("{n} {noun}s")
    }
}

/// Names joined for a dialog, shortened after a few.
fn names_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = items.collect();
    if all.len() <= 4 {
        all.join(", ")
    } else {
        format!("{} and {} more", all[..3].join(", "), all.len() - 3)
    }
}

fn is_are(running: &[&str]) -> String {
    if running.len() == 1 {
        format!("{} is", running[0])
    } else {
        format!("{} are", names_list(running.iter().copied()))
    }
}
