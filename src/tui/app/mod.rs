//! Application state and `update`: every [`Action`] changes the state here and may ask for
//! backend work as [`Effect`]s. Drawing only reads this state. Key handling lives in `keys`,
//! actions that ask first or hand the terminal over in `actions`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Failure, Lists, Loaded, Outcome};
use super::detail::{Detail, Tab, Target};
use super::dialog::{Confirm, Dialog, Reply};
use super::effect::{ContainerOp, Effect};
use super::form::{Form, FormKind};
use super::keymap::{Command, Keymap};
use super::layout;
use super::panes::{ListPane, PaneKind, Row};
use super::theme::Theme;
use crate::config::UiConfig;
use crate::model::{
    ContainerState, ContainerSummary, Event, ImageSummary, LogOptions, NetworkSummary, ObjectKind,
    VolumeSummary,
};
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
    /// Keys edit the `:` command line.
    Palette,
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
    /// The endpoints `:endpoint` offers (the embedded engine, Docker, Podman, the config's).
    pub endpoints: Vec<String>,
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
    /// The `:` command line and its history.
    pub palette: crate::tui::palette::Palette,
    /// Where the Logs tab starts (`:logs NAME --since`), until the selection moves.
    log_since: Option<i64>,
    /// The containers (id, name) whose logs the detail area shows merged.
    merged: Option<Vec<(String, String)>>,
    /// The terminal pane's sessions.
    pub terminals: crate::tui::terminal::Terminals,
    /// CPU and memory of the running containers on screen.
    pub usage: crate::tui::usage::Usage,
    /// The endpoints `:endpoint` offers.
    endpoints: Vec<String>,
    /// The list the last periodic refresh asked for, and when.
    refresh_asked: Option<(PaneKind, std::time::Instant)>,
    /// How long that list took to come.
    refresh_took: std::time::Duration,
    /// Whether the events stream is live (not known to have ended): the lists are then
    /// current without the periodic refresh, which is only a safety net.
    events_live: bool,
    /// Set when the refresh should be rescheduled at once (the events stream ended).
    pub refresh_rescheduled: bool,
}

/// How many refresh intervals pass between refreshes while the events stream is live.
pub const SAFETY_NET: u32 = 30;

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

pub use self::merged::PROJECT_LABEL;

mod command_line;
mod follow;
mod keys;
mod making;
mod merged;
mod mouse;
mod operations;
mod terminals;

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
            palette: Default::default(),
            log_since: None,
            merged: None,
            terminals: Default::default(),
            usage: Default::default(),
            endpoints: options.endpoints,
            refresh_asked: None,
            refresh_took: std::time::Duration::ZERO,
            events_live: true,
            refresh_rescheduled: false,
        }
    }

    /// When to refresh next. While the events stream is live it tells every change (the
    /// engine's, lost monitors included, and Docker's), and the refresh is a safety net:
    /// [`SAFETY_NET`] times `every` (`ui.refresh_interval_ms`). Without it, `every`. Later
    /// still where lists are slow to read (thousands of containers): the periodic refresh
    /// takes at most a quarter of a percent of the time.
    pub fn refresh_after(&self, every: std::time::Duration) -> std::time::Duration {
        let floor = if self.events_live {
            every * SAFETY_NET
        } else {
            every
        };
        floor.max(self.refresh_took * 400)
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
        let mut effects = self.route(action);
        // Whatever moved the list may have changed which containers are on screen.
        effects.extend(self.watch_usage());
        effects
    }

    fn route(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Key(key) => {
                self.dirty = true;
                self.on_key(key)
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                self.resize_terminals()
            }
            Action::TerminalOutput(..) | Action::TerminalEnded(..) => self.on_terminal(action),
            Action::Mouse(m) => self.on_mouse(m),
            Action::Paste(text) => self.on_paste(&text),
            Action::Tick => {
                self.now = self.clock.now();
                self.tick_message();
                // Relative times ("Up 3 minutes") change as time passes.
                self.dirty = true;
                Vec::new()
            }
            // Events keep every list current; the periodic reload, for what they cannot tell
            // (a monitor lost on the engine), reads the list in front only: the others are
            // read when they come to the front.
            Action::Refresh => {
                self.refresh_asked = Some((self.pane, std::time::Instant::now()));
                vec![Effect::LoadList(self.pane), Effect::WatchEvents]
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
            Action::MergedLogLines(key, lines) => {
                if self.detail.shows(&key) && !lines.is_empty() {
                    self.detail.logs.push_merged(lines);
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
            // The next tick draws them: samples of many rows are no reason for many frames.
            Action::Usage(id, sample) => {
                self.usage.push(id, sample);
                Vec::new()
            }
            Action::UsageEnded(id) => {
                self.usage.ended(&id);
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
            Action::Building(item) => self.on_building(item),
            Action::Committed(name, outcome) => self.on_committed(name, outcome),
            Action::Pulled(reference, item) => {
                self.dirty = true;
                let finished = match &item {
                    Ok(crate::model::PullProgress {
                        status: crate::model::PullStatus::Done { .. },
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
            Action::Backend(event) => {
                self.events_live = true;
                self.on_event(event)
            }
            Action::EventsEnded(error) => {
                // Until events flow again, the lists are read every refresh interval.
                self.events_live = false;
                self.refresh_rescheduled = true;
                if let Some(e) = error {
                    self.say(format!("live updates stopped: {e}"), true);
                    self.dirty = true;
                }
                Vec::new()
            }
            Action::PruneMeasured(bytes) => {
                self.prune_measured(bytes);
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
        if let Some((pane, asked)) = self.refresh_asked {
            if pane == list.pane() {
                self.refresh_took = asked.elapsed();
                self.refresh_asked = None;
            }
        }
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
            Lists::Containers(rows) => {
                self.usage.list_loaded();
                apply!(containers, rows)
            }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn app() -> App {
        App::new(AppOptions {
            endpoint: "test".into(),
            demo: true,
            keymap: Keymap::default(),
            theme: Theme::default(),
            ui: UiConfig::default(),
            endpoints: Vec::new(),
            clock: Clock::Fixed(0),
        })
    }

    #[test]
    fn the_refresh_is_a_safety_net_while_events_flow_and_the_rule_when_they_stop() {
        let every = Duration::from_secs(10);
        let mut app = app();
        assert_eq!(app.refresh_after(every), every * SAFETY_NET);
        app.update(Action::EventsEnded(Some("connection reset".into())));
        assert!(app.refresh_rescheduled, "the timer is not moved closer");
        assert_eq!(app.refresh_after(every), every);
        app.update(Action::Backend(Event {
            time: 0,
            kind: ObjectKind::Container,
            action: "start".into(),
            id: "abc".into(),
            name: Some("web".into()),
        }));
        assert_eq!(app.refresh_after(every), every * SAFETY_NET);
    }
}
