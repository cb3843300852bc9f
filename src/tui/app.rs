//! Application state and `update`: every [`Action`] changes the state here and may ask for
//! backend work as [`Effect`]s. Drawing only reads this state.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Failure, Lists, Loaded, Outcome};
use super::detail::{Detail, Tab, Target};
use super::dialog::{Confirm, Dialog, PullState};
use super::effect::{ContainerOp, Effect};
use super::form::{Form, FormKind, FormResult};
use super::keymap::{Command, Keymap};
use super::layout;
use super::panes::{ListPane, PaneKind, Row};
use super::theme::Theme;
use crate::backend::{
    ContainerState, ContainerSummary, Event, ImageSummary, LogOptions, NetworkSummary, ObjectKind,
    VolumeSummary,
};
use crate::config::UiConfig;
use crate::util::time::Clock;

/// Ticks a status message stays on screen.
const MESSAGE_TICKS: u8 = 6;

/// Which area has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The list.
    List,
    /// The detail area (scrolls).
    Detail,
}

/// Whether keys go to commands or to the filter prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keys are commands.
    Normal,
    /// Keys edit the filter of the current pane.
    Filter,
    /// Keys edit the search of the Logs tab.
    Search,
}

/// Whether the endpoint answered the last time it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// No answer yet.
    Connecting,
    /// Answering.
    Ok,
    /// Not answering; lists show the last data, marked stale.
    Unreachable(String),
}

/// A line in the status bar that disappears after a few ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Text.
    pub text: String,
    /// Shown in the error colour.
    pub error: bool,
    ticks_left: u8,
}

/// What the app needs to know at start.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Label of the endpoint for the status bar.
    pub endpoint: String,
    /// The data is sample data.
    pub demo: bool,
    /// Key bindings.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
    /// `[ui]` settings.
    pub ui: UiConfig,
    /// Where the time comes from.
    pub clock: Clock,
}

/// The whole UI state.
#[derive(Debug)]
pub struct App {
    /// Pane in front.
    pub pane: PaneKind,
    /// Containers list.
    pub containers: ListPane<ContainerSummary>,
    /// Images list.
    pub images: ListPane<ImageSummary>,
    /// Volumes list.
    pub volumes: ListPane<VolumeSummary>,
    /// Networks list.
    pub networks: ListPane<NetworkSummary>,
    /// Detail area.
    pub detail: Detail,
    /// Keyboard focus.
    pub focus: Focus,
    /// Input mode.
    pub mode: Mode,
    /// Open dialog.
    pub dialog: Option<Dialog>,
    /// Status-bar message.
    pub message: Option<Message>,
    /// Endpoint state.
    pub connection: Connection,
    /// Endpoint label.
    pub endpoint: String,
    /// Sample data on screen.
    pub demo: bool,
    /// Key bindings.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
    ui: UiConfig,
    clock: Clock,
    /// Current time (Unix seconds), advanced by ticks.
    pub now: i64,
    /// Terminal size.
    pub size: (u16, u16),
    /// Something changed since the last frame.
    pub dirty: bool,
    /// The user asked to quit.
    pub quit: bool,
}

/// Runs `$body` with `$p` bound to the list pane of `$kind`.
macro_rules! with_pane {
    ($app:expr, $kind:expr, $p:ident => $body:expr) => {
        match $kind {
            PaneKind::Containers => {
                let $p = &mut $app.containers;
                $body
            }
            PaneKind::Images => {
                let $p = &mut $app.images;
                $body
            }
            PaneKind::Volumes => {
                let $p = &mut $app.volumes;
                $body
            }
            PaneKind::Networks => {
                let $p = &mut $app.networks;
                $body
            }
        }
    };
}

impl App {
    /// A fresh app; call [`App::start`] for the first requests.
    pub fn new(options: AppOptions) -> App {
        App {
            pane: PaneKind::Containers,
            containers: ListPane::default(),
            images: ListPane::default(),
            volumes: ListPane::default(),
            networks: ListPane::default(),
            detail: Detail::new(options.ui.log_buffer_lines, options.ui.stats_history),
            focus: Focus::List,
            mode: Mode::Normal,
            dialog: None,
            message: None,
            connection: Connection::Connecting,
            endpoint: options.endpoint,
            demo: options.demo,
            keymap: options.keymap,
            theme: options.theme,
            ui: options.ui,
            now: options.clock.now(),
            clock: options.clock,
            size: (80, 24),
            dirty: true,
            quit: false,
        }
    }

    /// The requests to make at start-up: every list and the events stream.
    ///
    /// The containers come first and alone, so that the first screen is not slowed by the
    /// other lists competing for the daemon; those follow when the containers have arrived.
    pub fn start(&self) -> Vec<Effect> {
        vec![Effect::LoadList(PaneKind::Containers), Effect::WatchEvents]
    }

    /// Number of rows in a pane, for the tab bar.
    pub fn count(&self, pane: PaneKind) -> Option<usize> {
        let (loaded, n) = match pane {
            PaneKind::Containers => (self.containers.is_loaded(), self.containers.rows().len()),
            PaneKind::Images => (self.images.is_loaded(), self.images.rows().len()),
            PaneKind::Volumes => (self.volumes.is_loaded(), self.volumes.rows().len()),
            PaneKind::Networks => (self.networks.is_loaded(), self.networks.rows().len()),
        };
        loaded.then_some(n)
    }

    /// The filter text of the pane in front.
    pub fn current_filter(&self) -> &str {
        match self.pane {
            PaneKind::Containers => self.containers.filter(),
            PaneKind::Images => self.images.filter(),
            PaneKind::Volumes => self.volumes.filter(),
            PaneKind::Networks => self.networks.filter(),
        }
    }

    /// The current tab of the detail area.
    pub fn tab(&self) -> Tab {
        self.detail.tab(self.pane)
    }

    /// Handles one action and returns the backend requests it needs.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Key(key) => {
                self.dirty = true;
                self.on_key(key)
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                Vec::new()
            }
            Action::Tick => {
                self.now = self.clock.now();
                self.tick_message();
                // Relative times ("Up 3 minutes") change as time passes.
                self.dirty = true;
                Vec::new()
            }
            Action::Refresh => {
                let mut effects: Vec<Effect> =
                    PaneKind::ALL.into_iter().map(Effect::LoadList).collect();
                effects.push(Effect::WatchEvents);
                effects
            }
            Action::List(list) => {
                self.dirty = true;
                self.on_list(list)
            }
            Action::Detail(loaded) => {
                self.on_detail(loaded);
                Vec::new()
            }
            Action::LogLines(id, lines) => {
                if self.detail.shows(&id) && !lines.is_empty() {
                    self.detail.logs.push(lines);
                    self.dirty |= self.tab() == Tab::Logs;
                }
                Vec::new()
            }
            Action::LogEnded(id, error) => {
                if self.detail.shows(&id) {
                    self.detail.logs.ended = Some(error.unwrap_or_else(|| "stream ended".into()));
                    self.dirty = true;
                }
                Vec::new()
            }
            Action::Stats(id, sample) => {
                if self.detail.shows(&id) {
                    self.detail.push_stats(sample);
                    self.dirty |= self.tab() == Tab::Stats;
                }
                Vec::new()
            }
            Action::StatsEnded(id, error) => {
                if self.detail.shows(&id) {
                    self.detail.stats_ended =
                        Some(error.unwrap_or_else(|| "the container is not running".into()));
                    self.dirty = true;
                }
                Vec::new()
            }
            Action::Finished { done, failures } => {
                self.dirty = true;
                if failures.is_empty() {
                    self.say(done, false);
                } else {
                    let mut text = failures.join("\n");
                    if !done.is_empty() {
                        text = format!("{done}; but:\n{text}");
                    }
                    self.dialog = Some(Dialog::Error(text));
                }
                Vec::new()
            }
            Action::Pulled(reference, item) => {
                self.dirty = true;
                let finished = match &item {
                    Ok(crate::backend::PullProgress {
                        status: crate::backend::PullStatus::Done { .. },
                        ..
                    }) => Some(Ok(())),
                    Err(e) => Some(Err(e.clone())),
                    Ok(_) => None,
                };
                match &mut self.dialog {
                    Some(Dialog::Pull(state)) if state.reference == reference => state.update(item),
                    _ => match &finished {
                        Some(Ok(())) => self.say(format!("pulled {reference}"), false),
                        Some(Err(e)) => self.say(format!("pull of {reference} failed: {e}"), true),
                        None => {}
                    },
                }
                if finished.is_some() {
                    return vec![Effect::LoadList(PaneKind::Images)];
                }
                Vec::new()
            }
            Action::Backend(event) => self.on_event(event),
            Action::EventsEnded(error) => {
                if let Some(e) = error {
                    self.say(format!("live updates stopped: {e}"), true);
                    self.dirty = true;
                }
                Vec::new()
            }
        }
    }

    fn say(&mut self, text: String, error: bool) {
        self.message = (!text.is_empty()).then_some(Message {
            text,
            error,
            ticks_left: MESSAGE_TICKS,
        });
    }

    fn tick_message(&mut self) {
        if let Some(m) = &mut self.message {
            m.ticks_left = m.ticks_left.saturating_sub(1);
            if m.ticks_left == 0 {
                self.message = None;
            }
        }
    }

    fn on_list(&mut self, list: Lists) -> Vec<Effect> {
        let now = self.now;
        // The first container list (or its failure) lets the other panes load.
        let first = matches!(list, Lists::Containers(_))
            && !self.containers.is_loaded()
            && !self.images.is_loaded();
        let mut effects: Vec<Effect> = if first {
            [PaneKind::Images, PaneKind::Volumes, PaneKind::Networks]
                .into_iter()
                .map(Effect::LoadList)
                .collect()
        } else {
            Vec::new()
        };
        let failed = |app: &mut App, f: Failure| {
            if f.unavailable {
                app.connection = Connection::Unreachable(f.message);
            } else {
                app.say(f.message, true);
            }
        };
        macro_rules! apply {
            ($field:ident, $rows:expr) => {
                match $rows {
                    Ok(rows) => {
                        self.connection = Connection::Ok;
                        self.$field.set_rows(rows, now);
                    }
                    Err(f) => failed(self, f),
                }
            };
        }
        match list {
            Lists::Containers(rows) => apply!(containers, rows),
            Lists::Images(rows) => apply!(images, rows),
            Lists::Volumes(rows) => apply!(volumes, rows),
            Lists::Networks(rows) => apply!(networks, rows),
        }
        effects.extend(self.sync_detail(false));
        effects
    }

    fn on_detail(&mut self, loaded: Loaded) {
        fn take<T>(detail: &mut Detail, id: &str, r: Outcome<T>) -> Option<T> {
            if !detail.shows(id) {
                return None;
            }
            match r {
                Ok(v) => {
                    detail.error = None;
                    Some(v)
                }
                Err(f) => {
                    detail.error = Some(f.message);
                    None
                }
            }
        }
        let d = &mut self.detail;
        match loaded {
            Loaded::Container(id, r) => {
                if let Some(c) = take(d, &id, r) {
                    d.set_inspect(&serde_json::to_string_pretty(&c.inspect).unwrap_or_default());
                    d.container = Some(c);
                }
            }
            Loaded::Top(id, r) => {
                if let Some(t) = take(d, &id, r) {
                    d.top = Some(t);
                }
            }
            Loaded::Image(id, r) => {
                if let Some(i) = take(d, &id, r) {
                    d.set_inspect(&serde_json::to_string_pretty(&i.inspect).unwrap_or_default());
                    d.image = Some(i);
                }
            }
            Loaded::History(id, r) => {
                if let Some(h) = take(d, &id, r) {
                    d.history = Some(h);
                }
            }
            Loaded::Json(id, r) => {
                if let Some(j) = take(d, &id, r) {
                    d.set_inspect(&j);
                }
            }
        }
        self.dirty = true;
    }

    fn on_event(&mut self, event: Event) -> Vec<Effect> {
        let pane = match event.kind {
            ObjectKind::Container => PaneKind::Containers,
            ObjectKind::Image => PaneKind::Images,
            ObjectKind::Volume => PaneKind::Volumes,
            ObjectKind::Network => PaneKind::Networks,
        };
        let mut effects = vec![Effect::LoadList(pane)];
        // Container changes alter image use counts, volume users and network members.
        if pane == PaneKind::Containers {
            effects.extend(
                [PaneKind::Images, PaneKind::Volumes, PaneKind::Networks].map(Effect::LoadList),
            );
        }
        if self.detail.shows(&event.id) && event.action != "destroy" && event.action != "delete" {
            effects.extend(self.tab_effects(true));
        }
        effects
    }

    /// The target of the detail area for the current selection.
    fn selected_target(&self) -> Option<Target> {
        fn of<T: Row>(pane: PaneKind, list: &ListPane<T>) -> Option<Target> {
            list.selected_row().map(|r| Target {
                pane,
                id: r.key().to_string(),
                label: r.label(),
            })
        }
        match self.pane {
            PaneKind::Containers => of(self.pane, &self.containers),
            PaneKind::Images => of(self.pane, &self.images),
            PaneKind::Volumes => of(self.pane, &self.volumes),
            PaneKind::Networks => of(self.pane, &self.networks),
        }
    }

    /// Points the detail area at the selection; reloads its tab when it changed or `force`.
    fn sync_detail(&mut self, force: bool) -> Vec<Effect> {
        let target = self.selected_target();
        if target == self.detail.target {
            return if force {
                self.tab_effects(true)
            } else {
                Vec::new()
            };
        }
        let was_streaming = self
            .detail
            .target
            .as_ref()
            .is_some_and(|t| t.pane == PaneKind::Containers);
        self.detail.retarget(target);
        let mut effects = self.tab_effects(false);
        if was_streaming && self.detail.target.is_none() {
            effects.push(Effect::WatchLogs(None));
            effects.push(Effect::WatchStats(None));
        }
        effects
    }

    /// The requests that fill the current tab; streams for other tabs are stopped.
    fn tab_effects(&mut self, reload: bool) -> Vec<Effect> {
        let Some(t) = self.detail.target.clone() else {
            return vec![Effect::WatchLogs(None), Effect::WatchStats(None)];
        };
        let tab = self.tab();
        let mut effects = Vec::new();
        let id = t.id.clone();
        let streams_here = t.pane == PaneKind::Containers;
        match tab {
            Tab::Logs => {
                if reload {
                    // The history is fetched again, so drop what is buffered.
                    self.detail.logs.clear();
                }
                let options = LogOptions {
                    follow: true,
                    tail: Some(self.ui.log_tail_lines),
                    since: None,
                };
                if self.detail.logs.is_empty() {
                    effects.push(Effect::WatchLogs(Some((id.clone(), options))));
                }
            }
            Tab::Stats => {
                if reload || self.detail.stats.is_empty() {
                    effects.push(Effect::WatchStats(Some(id.clone())));
                }
            }
            Tab::Inspect | Tab::Env | Tab::Ports => match t.pane {
                PaneKind::Containers if reload || self.detail.container.is_none() => {
                    effects.push(Effect::LoadContainer(id.clone()))
                }
                PaneKind::Images if reload || self.detail.image.is_none() => {
                    effects.push(Effect::LoadImage(id.clone()))
                }
                PaneKind::Volumes => effects.push(Effect::LoadVolume(id.clone())),
                PaneKind::Networks => effects.push(Effect::LoadNetwork(id.clone())),
                _ => {}
            },
            Tab::Top => effects.push(Effect::LoadTop(id.clone())),
            Tab::History => {
                if reload || self.detail.history.is_none() {
                    effects.push(Effect::LoadHistory(id.clone()))
                }
            }
        }
        if streams_here {
            // Stream only what is on screen.
            if tab != Tab::Logs {
                effects.push(Effect::WatchLogs(None));
            }
            if tab != Tab::Stats {
                effects.push(Effect::WatchStats(None));
            }
        }
        effects
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some(dialog) = self.dialog.take() {
            return self.on_dialog_key(dialog, key);
        }
        match self.mode {
            Mode::Filter => return self.on_filter_key(key),
            Mode::Search => {
                self.on_search_key(key);
                return Vec::new();
            }
            Mode::Normal => {}
        }
        match self.keymap.command(key) {
            Some(command) => self.on_command(command),
            None => Vec::new(),
        }
    }

    fn on_dialog_key(&mut self, dialog: Dialog, key: KeyEvent) -> Vec<Effect> {
        let plain = |c: char| {
            key.code == KeyCode::Char(c) && !key.modifiers.contains(KeyModifiers::CONTROL)
        };
        match dialog {
            Dialog::Confirm(confirm) => {
                if plain('y') || plain('Y') || key.code == KeyCode::Enter {
                    self.containers.clear_marks();
                    self.images.clear_marks();
                    self.volumes.clear_marks();
                    self.networks.clear_marks();
                    return vec![confirm.effect];
                }
                if !(plain('n') || plain('N') || plain('q') || key.code == KeyCode::Esc) {
                    self.dialog = Some(Dialog::Confirm(confirm));
                }
            }
            Dialog::Help => {
                let closes = key.code == KeyCode::Esc
                    || plain('q')
                    || self.keymap.command(key) == Some(Command::Help);
                if !closes {
                    self.dialog = Some(Dialog::Help);
                }
            }
            Dialog::Error(text) => {
                if !matches!(key.code, KeyCode::Esc | KeyCode::Enter) && !plain('q') {
                    self.dialog = Some(Dialog::Error(text));
                }
            }
            Dialog::Form(mut form) => match form.key(key) {
                FormResult::Editing => self.dialog = Some(Dialog::Form(form)),
                FormResult::Cancelled => {}
                FormResult::Submit(Effect::Pull(reference)) => {
                    self.dialog = Some(Dialog::Pull(PullState::new(reference.clone())));
                    return vec![Effect::Pull(reference)];
                }
                FormResult::Submit(effect) => return vec![effect],
            },
            Dialog::Pull(state) => {
                // Esc hides the dialog; the pull goes on and reports when done.
                let closes = key.code == KeyCode::Esc
                    || (state.finished.is_some() && matches!(key.code, KeyCode::Enter)
                        || plain('q'));
                if !closes {
                    self.dialog = Some(Dialog::Pull(state));
                }
            }
        }
        Vec::new()
    }

    fn on_filter_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mut text = self.current_filter().to_string();
        match key.code {
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                return Vec::new();
            }
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                text.clear();
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            _ => return Vec::new(),
        }
        let now = self.now;
        with_pane!(self, self.pane, p => p.set_filter(text, now));
        self.sync_detail(false)
    }

    /// The search of the tab in front (Logs or Inspect).
    pub fn search_text(&self) -> &str {
        match self.tab() {
            Tab::Inspect => &self.detail.inspect_search,
            _ => self.detail.logs.search(),
        }
    }

    fn set_search_text(&mut self, text: &str) {
        match self.tab() {
            Tab::Inspect => {
                self.detail.inspect_search = text.to_string();
                self.detail.inspect_current = None;
            }
            _ => self.detail.logs.set_search(text),
        }
    }

    /// Moves to the next or previous match of the tab in front; false when none.
    fn jump_match(&mut self, forward: bool) -> bool {
        let height = self.detail_height();
        match self.tab() {
            Tab::Inspect => self.detail.inspect_jump(forward, height),
            _ => self.detail.logs.jump(forward, height),
        }
    }

    fn on_search_key(&mut self, key: KeyEvent) {
        let mut text = self.search_text().to_string();
        match key.code {
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                self.jump_match(true);
                return;
            }
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                text.clear();
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            _ => return,
        }
        self.set_search_text(&text);
    }

    /// Rows of the list area, for paging.
    fn page(&self) -> isize {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        layout::split(area).list.height.saturating_sub(3).max(1) as isize
    }

    /// Rows of the detail body, for scrolling.
    fn detail_height(&self) -> usize {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        layout::split(area).detail.height.saturating_sub(2).max(1) as usize
    }

    fn on_command(&mut self, command: Command) -> Vec<Effect> {
        let now = self.now;
        match command {
            Command::Quit => {
                self.quit = true;
                Vec::new()
            }
            Command::Help => {
                self.dialog = Some(Dialog::Help);
                Vec::new()
            }
            Command::NextPane => self.switch_pane(self.pane.step(1)),
            Command::PrevPane => self.switch_pane(self.pane.step(-1)),
            Command::PaneContainers => self.switch_pane(PaneKind::Containers),
            Command::PaneImages => self.switch_pane(PaneKind::Images),
            Command::PaneVolumes => self.switch_pane(PaneKind::Volumes),
            Command::PaneNetworks => self.switch_pane(PaneKind::Networks),
            Command::Up => self.move_by(-1),
            Command::Down => self.move_by(1),
            Command::PageUp => self.move_by(-self.page()),
            Command::PageDown => self.move_by(self.page()),
            Command::Top => self.jump(true),
            Command::Bottom => self.jump(false),
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
            Command::OnlyMatches => {
                if self.detail.logs.search().is_empty() {
                    self.say(
                        "no log search to filter by: press / in the Logs tab first".into(),
                        true,
                    );
                } else {
                    self.detail.logs.toggle_only_matches();
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
                    Vec::new()
                }
            }
            Command::Focus => {
                if self.detail.target.is_some() {
                    self.focus = Focus::Detail;
                }
                Vec::new()
            }
            Command::NextTab | Command::PrevTab => {
                let delta = if command == Command::NextTab { 1 } else { -1 };
                self.detail.step_tab(self.pane, delta);
                self.tab_effects(false)
            }
            Command::Logs => self.show_tab(Tab::Logs),
            Command::Stats => self.show_tab(Tab::Stats),
            Command::Inspect => self.show_tab(Tab::Inspect),
            Command::SortNext => {
                with_pane!(self, self.pane, p => p.sort_next(now));
                self.sync_detail(false)
            }
            Command::SortReverse => {
                with_pane!(self, self.pane, p => p.sort_reverse(now));
                self.sync_detail(false)
            }
            Command::Mark => {
                with_pane!(self, self.pane, p => p.toggle_mark());
                self.sync_detail(false)
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
            Command::Prune => self.confirm_prune(),
            Command::Shell => self.handover(false),
            Command::Attach => self.handover(true),
            Command::Remove => self.confirm_remove(),
            Command::Follow => {
                if self.tab() == Tab::Logs {
                    let logs = &mut self.detail.logs;
                    if logs.follow {
                        logs.follow = false;
                        logs.scroll(0, 0);
                    } else {
                        logs.to_bottom();
                    }
                }
                Vec::new()
            }
            Command::Timestamps => {
                self.detail.logs.timestamps = !self.detail.logs.timestamps;
                Vec::new()
            }
            Command::Wrap => {
                self.detail.logs.wrap = !self.detail.logs.wrap;
                Vec::new()
            }
            Command::Refresh => {
                let mut effects = self.update(Action::Refresh);
                effects.extend(self.tab_effects(true));
                effects
            }
        }
    }

    fn switch_pane(&mut self, pane: PaneKind) -> Vec<Effect> {
        self.pane = pane;
        self.focus = Focus::List;
        self.sync_detail(false)
    }

    fn show_tab(&mut self, tab: Tab) -> Vec<Effect> {
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

    fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        if self.focus == Focus::Detail {
            self.scroll_detail(delta);
            return Vec::new();
        }
        with_pane!(self, self.pane, p => p.move_by(delta));
        self.sync_detail(false)
    }

    fn jump(&mut self, to_top: bool) -> Vec<Effect> {
        if self.focus == Focus::Detail {
            if self.tab() == Tab::Logs {
                if to_top {
                    self.detail.logs.to_top();
                } else {
                    self.detail.logs.to_bottom();
                }
            } else {
                let max = self
                    .detail
                    .text_len(self.tab())
                    .saturating_sub(self.detail_height());
                self.detail.scroll = if to_top { 0 } else { max };
            }
            return Vec::new();
        }
        with_pane!(self, self.pane, p => if to_top { p.first() } else { p.last() });
        self.sync_detail(false)
    }

    fn scroll_detail(&mut self, delta: isize) {
        let height = self.detail_height();
        if self.tab() == Tab::Logs {
            self.detail.logs.scroll(delta, height);
        } else {
            let max = self.detail.text_len(self.tab()).saturating_sub(height);
            self.detail.scroll =
                (self.detail.scroll as isize + delta).clamp(0, max as isize) as usize;
        }
    }

    /// Runs an action on the target containers; other panes get a hint instead.
    fn container_action(&mut self, op: impl Fn(&ContainerSummary) -> ContainerOp) -> Vec<Effect> {
        if self.pane != PaneKind::Containers {
            self.say(
                format!(
                    "that key acts on containers; press {} for the Containers pane",
                    self.keymap.label(Command::PaneContainers)
                ),
                true,
            );
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
    fn selected_image_tag(&self) -> String {
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
    fn confirm_prune(&mut self) -> Vec<Effect> {
        let (names, bytes): (Vec<String>, u64) = match self.pane {
            PaneKind::Containers => {
                let gone: Vec<&ContainerSummary> = self
                    .containers
                    .rows()
                    .iter()
                    .filter(|c| {
                        matches!(
                            c.state,
                            ContainerState::Exited | ContainerState::Created | ContainerState::Dead
                        )
                    })
                    .collect();
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
        if bytes > 0 {
            lines.push(format!(
                "About {} will be freed.",
                crate::util::units::human_size(bytes)
            ));
        }
        self.dialog = Some(Dialog::Confirm(Confirm {
            title: format!("Prune {noun}s"),
            lines,
            effect: Effect::Prune(self.pane),
        }));
        Vec::new()
    }

    /// Writes the shown log lines to `dockhand-NAME-TIME.log` in the current directory.
    fn save_logs(&mut self) -> Vec<Effect> {
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
    fn handover(&mut self, attach: bool) -> Vec<Effect> {
        if self.pane != PaneKind::Containers {
            self.say(
                format!(
                    "that key acts on containers; press {} for the Containers pane",
                    self.keymap.label(Command::PaneContainers)
                ),
                true,
            );
            return Vec::new();
        }
        let Some(c) = self.containers.selected_row() else {
            return Vec::new();
        };
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
            return Vec::new();
        }
        vec![Effect::Handover(super::effect::Handover {
            id: c.id.clone(),
            name: c.name.clone(),
            attach,
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

    fn confirm_kill(&mut self) -> Vec<Effect> {
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

    fn confirm_remove(&mut self) -> Vec<Effect> {
        let (targets, extra) = match self.pane {
            PaneKind::Containers => {
                let targets = self.containers.targets();
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
                self.images
                    .targets()
                    .iter()
                    .map(|i| (i.label(), i.label()))
                    .collect(),
                Vec::new(),
            ),
            PaneKind::Volumes => (
                key_label(&self.volumes.targets()),
                vec!["The data in it is deleted for good.".to_string()],
            ),
            PaneKind::Networks => (key_label(&self.networks.targets()), Vec::new()),
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
