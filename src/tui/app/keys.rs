//! Keys: dialogs, the filter and search prompts, commands, movement and scrolling.

use super::*;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some(dialog) = self.dialog.take() {
            return self.on_dialog_key(dialog, key);
        }
        if self.terminals.shown && self.terminals.focused {
            return self.on_terminal_key(key);
        }
        match self.mode {
            Mode::Filter => return self.on_filter_key(key),
            Mode::Search => {
                self.on_search_key(key);
                return Vec::new();
            }
            Mode::Palette => return self.on_palette_key(key),
            Mode::Normal => {}
        }
        match self.keymap.command(key) {
            Some(command) => self.on_command(command),
            None => Vec::new(),
        }
    }

    /// Hands the key to the dialog on top, which decides; the app clears the marks a
    /// confirmed bulk action used.
    pub(super) fn on_dialog_key(&mut self, dialog: Dialog, key: KeyEvent) -> Vec<Effect> {
        let is_help = self.keymap.command(key) == Some(Command::Help);
        match dialog.key(key, is_help) {
            Reply::Stays(Dialog::Help(scroll)) => {
                let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
                let max = super::layout::help(area, layout::help_entries()).max_scroll();
                self.dialog = Some(Dialog::Help(scroll.min(max)));
                Vec::new()
            }
            Reply::Stays(dialog) => {
                self.dialog = Some(dialog);
                Vec::new()
            }
            Reply::Closed => Vec::new(),
            Reply::Confirmed(effect) => {
                self.containers.clear_marks();
                self.images.clear_marks();
                self.volumes.clear_marks();
                self.networks.clear_marks();
                vec![effect]
            }
            Reply::Then(next, effect) => {
                self.dialog = next;
                if effect == Effect::CancelBuild {
                    self.say("build cancelled; nothing was tagged".into(), false);
                }
                vec![effect]
            }
        }
    }

    pub(super) fn on_filter_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mut text = self.current_filter().to_string();
        match edit_prompt(&mut text, key) {
            Prompt::Accept => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Prompt::Ignored => Vec::new(),
            edited => {
                if edited == Prompt::Cancel {
                    self.mode = Mode::Normal;
                }
                let now = self.now;
                with_pane!(self, self.pane, p => p.set_filter(text, now));
                let mut effects = self.leave_merged();
                effects.extend(self.sync_detail(false));
                effects
            }
        }
    }

    /// The search of the tab in front (Logs or Inspect).
    pub fn search_text(&self) -> &str {
        self.detail.search(self.tab())
    }

    pub(super) fn set_search_text(&mut self, text: &str) {
        let tab = self.tab();
        self.detail.set_search(tab, text);
    }

    /// Moves to the next or previous match of the tab in front; false when none.
    pub(super) fn jump_match(&mut self, forward: bool) -> bool {
        let height = self.detail_height();
        let tab = self.tab();
        self.detail.jump_match(tab, forward, height)
    }

    pub(super) fn on_search_key(&mut self, key: KeyEvent) {
        let mut text = self.search_text().to_string();
        match edit_prompt(&mut text, key) {
            Prompt::Accept => {
                self.mode = Mode::Normal;
                self.jump_match(true);
            }
            Prompt::Ignored => {}
            edited => {
                if edited == Prompt::Cancel {
                    self.mode = Mode::Normal;
                }
                self.set_search_text(&text);
            }
        }
    }

    /// Rows of the list area, for paging.
    pub(super) fn page(&self) -> isize {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        layout::split(area).list.height.saturating_sub(3).max(1) as isize
    }

    /// Rows of the detail body, for scrolling.
    pub(super) fn detail_height(&self) -> usize {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        layout::split(area).detail.height.saturating_sub(2).max(1) as usize
    }

    pub(super) fn on_command(&mut self, command: Command) -> Vec<Effect> {
        let now = self.now;
        // The list in front takes its own commands; movement goes to the detail area instead
        // while that has the focus.
        let movement = matches!(
            command,
            Command::Up
                | Command::Down
                | Command::PageUp
                | Command::PageDown
                | Command::Top
                | Command::Bottom
        );
        if !(movement && self.focus == Focus::Detail) {
            let page = self.page();
            if with_pane!(self, self.pane, p => p.command(command, page, now)) {
                let mut effects = self.leave_merged();
                effects.extend(self.sync_detail(false));
                return effects;
            }
        }
        match command {
            Command::Quit => {
                self.quit = true;
                Vec::new()
            }
            Command::Help => {
                self.dialog = Some(Dialog::Help(0));
                Vec::new()
            }
            Command::NextPane => self.switch_pane(self.pane.step(1)),
            Command::PrevPane => self.switch_pane(self.pane.step(-1)),
            Command::PaneContainers => self.switch_pane(PaneKind::Containers),
            Command::PaneImages => self.switch_pane(PaneKind::Images),
            Command::PaneVolumes => self.switch_pane(PaneKind::Volumes),
            Command::PaneNetworks => self.switch_pane(PaneKind::Networks),
            // Movement with the focus in the detail area: the tab in front scrolls.
            Command::Up => self.scroll_detail(-1),
            Command::Down => self.scroll_detail(1),
            Command::PageUp => self.scroll_detail(-self.page()),
            Command::PageDown => self.scroll_detail(self.page()),
            Command::Top => self.detail_to_edge(true),
            Command::Bottom => self.detail_to_edge(false),
            Command::Filter => {
                if self.focus == Focus::Detail && matches!(self.tab(), Tab::Logs | Tab::Inspect) {
                    // A new search starts empty.
                    self.set_search_text("");
                    self.mode = Mode::Search;
                } else {
                    self.mode = Mode::Filter;
                    self.focus = Focus::List;
                }
                Vec::new()
            }
            Command::NextMatch | Command::PrevMatch => {
                let search = self.search_text().to_string();
                if search.is_empty() {
                    self.say(
                        "nothing to search for: focus the Logs or Inspect tab (enter) and press / first"
                            .into(),
                        true,
                    );
                } else if !self.jump_match(command == Command::NextMatch) {
                    self.say(format!("no line matches \"{search}\""), true);
                }
                Vec::new()
            }
            Command::SaveLogs => self.save_logs(),
            Command::Back => {
                if self.focus == Focus::Detail {
                    self.focus = Focus::List;
                    Vec::new()
                } else if !self.current_filter().is_empty() {
                    with_pane!(self, self.pane, p => p.set_filter(String::new(), now));
                    self.sync_detail(false)
                } else {
                    with_pane!(self, self.pane, p => p.clear_marks());
                    self.leave_merged()
                }
            }
            Command::Focus if self.terminals.shown => {
                self.terminals.focused = true;
                Vec::new()
            }
            Command::Focus => {
                if self.detail.target.is_some() {
                    self.focus = Focus::Detail;
                }
                Vec::new()
            }
            Command::NextTab | Command::PrevTab if self.terminals.shown => {
                self.terminals
                    .step(if command == Command::NextTab { 1 } else { -1 });
                Vec::new()
            }
            Command::NextTab | Command::PrevTab if self.merged_members().is_some() => {
                self.say(
                    "merged logs have only the Logs tab: esc in the list, or move, to leave them"
                        .into(),
                    true,
                );
                Vec::new()
            }
            Command::NextTab | Command::PrevTab => {
                let delta = if command == Command::NextTab { 1 } else { -1 };
                self.detail.step_tab(self.pane, delta);
                self.tab_effects(false)
            }
            Command::Logs => match self.marked_logs() {
                Some(effects) => effects,
                None => self.show_tab(Tab::Logs),
            },
            Command::Palette => self.open_palette(),
            Command::Stats => self.show_tab(Tab::Stats),
            Command::Inspect => self.show_tab(Tab::Inspect),
            // Taken by the list above.
            Command::SortNext | Command::SortReverse | Command::Mark => Vec::new(),
            // Taken by the list when the selection is in a group.
            Command::Fold => {
                self.say(
                    "only a compose project's rows fold: this one is in none".into(),
                    true,
                );
                Vec::new()
            }
            Command::StartStop => self.container_action(|c| {
                if c.state.is_alive() || c.state == ContainerState::Restarting {
                    ContainerOp::Stop
                } else {
                    ContainerOp::Start
                }
            }),
            Command::Restart => self.container_action(|_| ContainerOp::Restart),
            Command::Pause => self.container_action(|c| {
                if c.state == ContainerState::Paused {
                    ContainerOp::Unpause
                } else {
                    ContainerOp::Pause
                }
            }),
            Command::Kill => self.confirm_kill(),
            Command::Create => {
                let kind = match self.pane {
                    PaneKind::Containers => FormKind::Run,
                    PaneKind::Images => FormKind::Run,
                    PaneKind::Volumes => FormKind::Volume,
                    PaneKind::Networks => FormKind::Network,
                };
                // From the Images pane the selected image is the one to run.
                let image = self.selected_image_tag();
                self.dialog = Some(Dialog::Form(Form::new(kind, &image)));
                Vec::new()
            }
            Command::Pull => {
                let image = self.selected_image_tag();
                self.dialog = Some(Dialog::Form(Form::new(FormKind::Pull, &image)));
                Vec::new()
            }
            Command::Build => self.open_build(),
            Command::Commit => self.open_commit(),
            Command::Prune => self.confirm_prune(),
            Command::Shell => self.open_session(false, Vec::new()),
            Command::Attach => self.open_session(true, Vec::new()),
            Command::Handover => self.handover(false),
            Command::Terminals => self.toggle_terminals(),
            // Only a focused terminal takes it.
            Command::TermLeave => Vec::new(),
            Command::Remove => self.confirm_remove(),
            // The log view's own commands: it acts, the app reports what it could not do.
            Command::Follow if self.tab() != Tab::Logs => Vec::new(),
            Command::Follow
            | Command::Timestamps
            | Command::Wrap
            | Command::PrettyJson
            | Command::OnlyMatches => {
                if let Some(Err(message)) = self.detail.logs.command(command) {
                    self.say(message, true);
                }
                Vec::new()
            }
            Command::Refresh => {
                let mut effects = self.update(Action::Refresh);
                effects.extend(self.tab_effects(true));
                effects
            }
        }
    }

    pub(super) fn switch_pane(&mut self, pane: PaneKind) -> Vec<Effect> {
        let mut effects = self.leave_merged();
        if pane != self.pane && self.count(pane).is_some() {
            effects.push(Effect::LoadList(pane));
        }
        self.pane = pane;
        self.focus = Focus::List;
        effects.extend(self.sync_detail(false));
        effects
    }

    pub(super) fn show_tab(&mut self, tab: Tab) -> Vec<Effect> {
        if tab != Tab::Logs && self.merged_members().is_some() {
            self.say(
                format!(
                    "merged logs have no {} tab: esc in the list, or move, to leave them",
                    tab.title()
                ),
                true,
            );
            return Vec::new();
        }
        if self.detail.select_tab(self.pane, tab) {
            self.tab_effects(false)
        } else {
            self.say(
                format!("{} has no {} tab", self.pane.title(), tab.title()),
                true,
            );
            Vec::new()
        }
    }

    /// Scrolls the tab in front to its first or last line.
    pub(super) fn detail_to_edge(&mut self, to_top: bool) -> Vec<Effect> {
        let (tab, height) = (self.tab(), self.detail_height());
        self.detail.scroll_to_edge(tab, to_top, height);
        Vec::new()
    }

    /// Scrolls the tab in front by `delta` lines.
    pub(super) fn scroll_detail(&mut self, delta: isize) -> Vec<Effect> {
        let (tab, height) = (self.tab(), self.detail_height());
        self.detail.scroll_by(tab, delta, height);
        Vec::new()
    }
}

/// What a key did to a one-line prompt (the list filter, a search).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    /// Enter: keep the text.
    Accept,
    /// Esc: the text was cleared.
    Cancel,
    /// The text changed.
    Changed,
    /// Not a prompt key.
    Ignored,
}

/// Applies a key to the prompt's text: typing, backspace, ctrl-u, enter, esc.
fn edit_prompt(text: &mut String, key: KeyEvent) -> Prompt {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Enter => return Prompt::Accept,
        KeyCode::Esc => {
            text.clear();
            return Prompt::Cancel;
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char(c) if !ctrl => text.push(c),
        _ => return Prompt::Ignored,
    }
    Prompt::Changed
}
