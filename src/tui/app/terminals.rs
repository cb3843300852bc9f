//! Terminal sessions in the pane from the app's side: `e` and `a` (and `:exec`) open a
//! session tab beside the list — or hand the whole screen over, with `ui.shell = "handover"`
//! or `E` —, keys go to the session in front while it has the focus, the leave key (ctrl-])
//! gives them back to the list, `enter` returns to the session, `]`/`[` switch sessions and
//! `T` shows or hides the pane. The session's size follows the pane's.

use super::*;
use crate::config::ShellMode;
use crate::tui::terminal::KeyOutcome;
use crate::tui::terminal_io::TermRequest;

impl App {
    /// A shell (or `command`), or an attach, for the selected container: in the pane, or on
    /// the whole screen when the config says so.
    pub(super) fn open_session(&mut self, attach: bool, command: Vec<String>) -> Vec<Effect> {
        let Some((id, name)) = self.running_selected(attach) else {
            return Vec::new();
        };
        self.open_session_on(id, name, attach, command)
    }

    /// The selected container when it is running; else why not, said.
    pub(super) fn running_selected(&mut self, attach: bool) -> Option<(String, String)> {
        if !self.on_containers_pane() {
            return None;
        }
        let c = self.containers.selected_row()?;
        if c.state != ContainerState::Running {
            let what = if attach {
                "attach to"
            } else {
                "open a shell in"
            };
            let hint = if c.state == ContainerState::Paused {
                "unpause"
            } else {
                "start"
            };
            let text = format!(
                "cannot {what} {}: it is {}; {hint} it first",
                c.name, c.state
            );
            self.say(text, true);
            return None;
        }
        Some((c.id.clone(), c.name.clone()))
    }

    /// Opens the session on container `id` called `name`.
    pub(super) fn open_session_on(
        &mut self,
        id: String,
        name: String,
        attach: bool,
        command: Vec<String>,
    ) -> Vec<Effect> {
        if self.ui.shell == ShellMode::Handover {
            return vec![Effect::Handover(crate::tui::effect::Handover {
                id,
                name,
                attach,
                command,
            })];
        }
        let title = if attach {
            format!("attach {name}")
        } else if command.is_empty() {
            format!("shell in {name}")
        } else {
            format!("{} in {name}", command.join(" "))
        };
        let (rows, cols) = self.terminal_area();
        self.terminals.resize(rows, cols);
        let session = self.terminals.open(&id, title, attach);
        self.dirty = true;
        vec![Effect::OpenTerminal(TermRequest {
            session,
            container: id,
            name,
            attach,
            command,
            rows,
            cols,
        })]
    }

    /// The size of the terminal inside the pane (rows, cols): the detail area less its
    /// border.
    pub(super) fn terminal_area(&self) -> (u16, u16) {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        let d = layout::split(area).detail;
        (d.height.saturating_sub(2), d.width.saturating_sub(2))
    }

    /// After the screen's size changed: every session is told its new size.
    pub(super) fn resize_terminals(&mut self) -> Vec<Effect> {
        let (rows, cols) = self.terminal_area();
        self.terminals
            .resize(rows, cols)
            .into_iter()
            .map(|id| Effect::TerminalResize(id, rows, cols))
            .collect()
    }

    /// A key while the session in front has the keyboard.
    pub(super) fn on_terminal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if self.keymap.command(key) == Some(Command::TermLeave) {
            self.terminals.focused = false;
            return Vec::new();
        }
        let Some((id, title)) = self.terminals.active().map(|s| (s.id, s.title.clone())) else {
            self.terminals.focused = false;
            return Vec::new();
        };
        match self.terminals.key(key) {
            KeyOutcome::Send(bytes) => vec![Effect::TerminalInput(id, bytes)],
            KeyOutcome::Nothing => Vec::new(),
            // The keys go back to the list, where what happened is said.
            KeyOutcome::Detach => {
                self.terminals.close(id);
                self.terminals.focused = false;
                self.say(format!("detached: {title}"), false);
                vec![Effect::CloseTerminal(id)]
            }
            KeyOutcome::Close => {
                self.terminals.close(id);
                self.terminals.focused = false;
                vec![Effect::CloseTerminal(id)]
            }
        }
    }

    /// A session's output or end.
    pub(super) fn on_terminal(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::TerminalOutput(id, out) => {
                self.dirty |= self.terminals.output(id, &out.bytes) && self.terminals.shown;
                Vec::new()
            }
            Action::TerminalEnded(id, how) => {
                if self.terminals.ended(id, how.clone()) {
                    self.dirty = true;
                    // What it ran may have changed the container: read the list again.
                    return vec![Effect::LoadList(PaneKind::Containers)];
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Pasted text: to the focused session, or into the prompt being edited.
    pub(super) fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        if self.dialog.is_none() && self.terminals.shown && self.terminals.focused {
            if let Some(id) = self.terminals.active().map(|s| s.id) {
                return vec![Effect::TerminalInput(id, self.terminals.paste(text))];
            }
        }
        let line = text.lines().next().unwrap_or_default();
        match self.mode {
            Mode::Palette => self.palette.text.push_str(line),
            Mode::Filter => {
                let filter = format!("{}{line}", self.current_filter());
                let now = self.now;
                with_pane!(self, self.pane, p => p.set_filter(filter, now));
                return self.sync_detail(false);
            }
            Mode::Search => {
                let search = format!("{}{line}", self.search_text());
                self.set_search_text(&search);
            }
            Mode::Normal => {}
        }
        Vec::new()
    }

    /// `T`: shows or hides the pane of sessions.
    pub(super) fn toggle_terminals(&mut self) -> Vec<Effect> {
        if self.terminals.is_empty() {
            self.say(
                "no terminal is open: e opens a shell in the selected container, a attaches".into(),
                true,
            );
        } else {
            self.terminals.shown = !self.terminals.shown;
            self.terminals.focused = false;
        }
        Vec::new()
    }
}
