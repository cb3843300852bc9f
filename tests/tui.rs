//! The TUI over the demo backend: snapshots of every pane, tab and dialog at 80x24 and
//! 200x50, colours checked cell by cell, and key-driven flows through the whole App.

use std::collections::VecDeque;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use dockhand::backend::fake::Clock;
use dockhand::backend::{AnyBackend, FakeBackend};
use dockhand::config::Config;
use dockhand::model::{ContainerState, StatsSample};
use dockhand::tui::action::Action;
use dockhand::tui::app::{App, AppOptions, Focus, Mode};
use dockhand::tui::detail::Tab;
use dockhand::tui::dialog::Dialog;
use dockhand::tui::draw;
use dockhand::tui::effect::{self, Effect};
use dockhand::tui::panes::PaneKind;
use dockhand::tui::settings;
use dockhand::tui::streams;
use dockhand::tui::terminal_io::{self, TermCommand};
use tokio::sync::mpsc::UnboundedSender;

/// A fixed "now" so relative times and log history are the same on every run.
const NOW: i64 = 1_763_800_000;

/// What a stream has ready now, without waiting for more.
fn ready(mut actions: futures::stream::BoxStream<'static, Action>) -> Vec<Action> {
    let mut out = Vec::new();
    while let Some(Some(action)) = actions.next().now_or_never() {
        out.push(action);
    }
    out
}

/// An App over a demo backend, with effects carried out inline and events delivered.
struct Harness {
    app: App,
    backend: AnyBackend,
    events: futures::stream::BoxStream<'static, Action>,
    dir: tempfile::TempDir,
    /// The terminal pane's sessions, run by `terminal_io` as the runner runs them.
    terminals: std::collections::HashMap<u32, UnboundedSender<TermCommand>>,
    terminal_tx: UnboundedSender<Action>,
    terminal_rx: tokio::sync::mpsc::UnboundedReceiver<Action>,
    /// The containers whose CPU and MEM the app last asked for.
    usage_watched: Vec<String>,
}

impl Harness {
    async fn new(width: u16, height: u16) -> Harness {
        Harness::with_config(width, height, Config::default()).await
    }

    async fn with_config(width: u16, height: u16, config: Config) -> Harness {
        let backend = AnyBackend::Fake(FakeBackend::with_clock(Clock::Fixed(NOW)));
        let events = streams::events(&backend).await;
        let mut app = App::new(AppOptions {
            endpoint: backend.endpoint_label(),
            demo: true,
            keymap: settings::keymap(&config).unwrap(),
            theme: settings::theme(&config).unwrap(),
            ui: config.ui.clone(),
            endpoints: vec!["engine".into(), "docker".into(), "podman".into()],
            clock: Clock::Fixed(NOW),
        });
        app.size = (width, height);
        let start = app.start();
        let (terminal_tx, terminal_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut h = Harness {
            app,
            backend,
            events,
            dir: tempfile::tempdir().unwrap(),
            terminals: Default::default(),
            terminal_tx,
            terminal_rx,
            usage_watched: Vec::new(),
        };
        h.run(start).await;
        h
    }

    /// Carries out effects until none are left: one-shot requests with the runner's
    /// `resolve`, streams through the same `tui::streams` the runner forwards, of which what
    /// is ready is taken (a followed log or stats stream then waits for more).
    async fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        loop {
            while let Some(effect) = queue.pop_front() {
                let actions = match effect {
                    Effect::WatchLogs(Some((id, options))) => {
                        ready(streams::logs(&self.backend, id, options).await)
                    }
                    Effect::WatchMergedLogs(key, members, options) => {
                        ready(streams::merged_logs(&self.backend, key, members, options).await)
                    }
                    Effect::WatchStats(Some(id)) => ready(streams::stats(&self.backend, id).await),
                    Effect::WatchUsage(ids) => {
                        self.usage_watched = ids.clone();
                        let mut actions = Vec::new();
                        for id in ids {
                            actions.extend(ready(streams::usage(&self.backend, id).await));
                        }
                        actions
                    }
                    Effect::OpenTerminal(request) => {
                        let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
                        self.terminals.insert(request.session, commands);
                        tokio::spawn(terminal_io::run(
                            self.backend.clone(),
                            request,
                            rx,
                            self.terminal_tx.clone(),
                        ));
                        Vec::new()
                    }
                    Effect::TerminalInput(id, bytes) => {
                        let _ = self.terminals[&id].send(TermCommand::Input(bytes));
                        Vec::new()
                    }
                    Effect::TerminalResize(id, rows, cols) => {
                        let _ = self.terminals[&id].send(TermCommand::Resize(rows, cols));
                        Vec::new()
                    }
                    Effect::CloseTerminal(id) => {
                        self.terminals.remove(&id);
                        Vec::new()
                    }
                    // A pull's stream ends: all of it.
                    Effect::Pull(reference) => {
                        streams::pull(&self.backend, reference)
                            .await
                            .collect()
                            .await
                    }
                    // So does a build's.
                    Effect::Build(request) => {
                        streams::build(&self.backend, request).await.collect().await
                    }
                    // Saved logs go to the harness's own directory, not the checkout.
                    Effect::SaveLogs(path, lines) => {
                        let path = self.dir.path().join(path);
                        effect::resolve(&self.backend, &Effect::SaveLogs(path, lines))
                            .await
                            .into_iter()
                            .collect()
                    }
                    other => effect::resolve(&self.backend, &other)
                        .await
                        .into_iter()
                        .collect::<Vec<_>>(),
                };
                for action in actions {
                    queue.extend(self.app.update(action));
                }
            }
            // Deliver the change events the backend published, as the event stream would.
            let mut delivered = false;
            while let Some(Some(action)) = self.events.next().now_or_never() {
                queue.extend(self.app.update(action));
                delivered = true;
            }
            if !delivered {
                return;
            }
        }
    }

    /// Feeds the terminal sessions' output to the app until `pred` holds for the screen of
    /// the session in front (5 s at most).
    async fn wait_terminal(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            while let Ok(action) = self.terminal_rx.try_recv() {
                let effects = self.app.update(action);
                self.run(effects).await;
            }
            let contents = self
                .app
                .terminals
                .active()
                .map(|s| s.contents())
                .unwrap_or_default();
            if pred(&contents) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; the terminal shows:\n{contents}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Waits until the session in front has ended.
    async fn wait_ended(&mut self) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            while let Ok(action) = self.terminal_rx.try_recv() {
                let effects = self.app.update(action);
                self.run(effects).await;
            }
            if let Some(how) = self.app.terminals.active().and_then(|s| s.ended.clone()) {
                return how;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the session did not end"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    async fn key(&mut self, code: KeyCode) {
        self.key_mod(code, KeyModifiers::NONE).await;
    }

    async fn key_mod(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        let effects = self.app.update(Action::Key(KeyEvent::new(code, modifiers)));
        self.run(effects).await;
    }

    async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    fn render(&self) -> Terminal<TestBackend> {
        let (w, h) = self.app.size;
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|f| draw::draw(f, &self.app)).unwrap();
        terminal
    }

    fn screen(&self) -> String {
        buffer_text(self.render().backend().buffer())
    }

    fn selected_name(&self) -> String {
        self.app.containers.selected_row().unwrap().name.clone()
    }
}

fn buffer_text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where `text` starts on screen.
fn find(buffer: &Buffer, text: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    for y in 0..area.height {
        let line: Vec<&str> = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        let joined: String = line.concat();
        if let Some(byte) = joined.find(text) {
            // Map the byte offset back to a column.
            let mut col = 0u16;
            let mut acc = 0;
            for sym in &line {
                if acc >= byte {
                    break;
                }
                acc += sym.len();
                col += 1;
            }
            return Some((col, y));
        }
    }
    None
}

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 50)];

macro_rules! snapshot {
    ($name:expr, $h:expr) => {
        let (w, hgt) = $h.app.size;
        insta::assert_snapshot!(format!("{}_{}x{}", $name, w, hgt), $h.render().backend());
    };
}

#[tokio::test]
async fn snapshots_of_every_pane() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        snapshot!("containers", t);
        t.key(KeyCode::Char('2')).await;
        snapshot!("images", t);
        t.key(KeyCode::Char('3')).await;
        snapshot!("volumes", t);
        t.key(KeyCode::Char('4')).await;
        snapshot!("networks", t);
    }
}

#[tokio::test]
async fn snapshots_of_every_dialog() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        t.key(KeyCode::Char('?')).await;
        snapshot!("help", t);
        t.key(KeyCode::Esc).await;
        t.key(KeyCode::Char('G')).await;
        t.key(KeyCode::Char('d')).await;
        snapshot!("confirm_remove", t);
        t.key(KeyCode::Char('n')).await;
        t.key(KeyCode::Char('g')).await;
        t.key_mod(KeyCode::Char('k'), KeyModifiers::CONTROL).await;
        snapshot!("confirm_kill", t);
        t.key(KeyCode::Esc).await;
        t.key(KeyCode::Char('2')).await;
        t.keys("/nginx").await;
        t.key(KeyCode::Enter).await;
        t.key(KeyCode::Char('d')).await;
        t.key(KeyCode::Char('y')).await;
        snapshot!("error", t);
        t.key(KeyCode::Enter).await;
        t.key(KeyCode::Char('1')).await;
        t.keys("/ca").await;
        snapshot!("filter", t);
        t.key(KeyCode::Esc).await;
        t.key(KeyCode::Char('c')).await;
        t.keys("busybox:1.36").await;
        t.key(KeyCode::Tab).await;
        t.keys("box1").await;
        t.key(KeyCode::Tab).await;
        t.key(KeyCode::Tab).await;
        t.keys("80:http").await;
        t.key(KeyCode::Enter).await;
        snapshot!("form_run_refused", t);
        t.key(KeyCode::Esc).await;
        t.key(KeyCode::Char('P')).await;
        t.keys("caddy:2").await;
        t.key(KeyCode::Enter).await;
        snapshot!("pull_done", t);
        t.key(KeyCode::Enter).await;
        t.key(KeyCode::Char('X')).await;
        snapshot!("confirm_prune", t);
    }
}

#[tokio::test]
async fn snapshots_of_every_detail_tab() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        // "api" is first by name and running, so every tab has data.
        for tab in ["logs", "stats", "inspect", "env", "ports", "top"] {
            snapshot!(format!("tab_{tab}"), t);
            t.key(KeyCode::Char(']')).await;
        }
        t.key(KeyCode::Char('2')).await;
        t.key(KeyCode::Char(']')).await;
        snapshot!("tab_image_history", t);
    }
}

#[tokio::test]
async fn colours_follow_state_and_theme() {
    // Tall enough for every row, the project's header among them.
    let t = Harness::new(120, 34).await;
    let term = t.render();
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "Up 2 days").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Green, "running is green");
    let (x, y) = find(buf, "Exited (1)").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Red, "exited is red");
    let (x, y) = find(buf, "Up 25 minutes (Paused)").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Yellow, "paused is yellow");
    let (x, y) = find(buf, "node:20-alpine").unwrap();
    assert_eq!(
        buf[(x, y)].bg,
        Color::Cyan,
        "the selected row is highlighted"
    );
    let (x, y) = find(buf, "DEMO DATA").unwrap();
    assert_eq!(buf[(x, y)].bg, Color::Magenta, "demo data is labelled");

    let config = Config::parse(
        "[theme]\nrunning = \"#00ff00\"\nselection_bg = \"blue\"\n",
        Path::new("theme.toml"),
        settings::check,
    )
    .unwrap();
    let t = Harness::with_config(120, 30, config).await;
    let term = t.render();
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "Up 2 days").unwrap();
    assert_eq!(buf[(x, y)].fg, Color::Rgb(0, 255, 0));
    let (x, y) = find(buf, "node:20-alpine").unwrap();
    assert_eq!(buf[(x, y)].bg, Color::Blue);
}

#[tokio::test]
async fn panes_switch_with_tab_backtab_and_digits() {
    let mut t = Harness::new(100, 30).await;
    assert_eq!(t.app.pane, PaneKind::Containers);
    t.key(KeyCode::Tab).await;
    assert_eq!(t.app.pane, PaneKind::Images);
    t.key_mod(KeyCode::BackTab, KeyModifiers::SHIFT).await;
    t.key_mod(KeyCode::BackTab, KeyModifiers::SHIFT).await;
    assert_eq!(t.app.pane, PaneKind::Networks);
    t.key(KeyCode::Char('3')).await;
    assert_eq!(t.app.pane, PaneKind::Volumes);
    assert!(t.screen().contains("pgdata"));
    // The detail area follows the pane.
    assert_eq!(
        t.app.detail.target.as_ref().unwrap().pane,
        PaneKind::Volumes
    );
    assert!(t.screen().contains("\"Mountpoint\""));
}

#[tokio::test]
async fn movement_keys_move_the_selection_and_the_detail_follows() {
    let mut t = Harness::new(100, 30).await;
    assert_eq!(t.selected_name(), "api");
    t.key(KeyCode::Char('j')).await;
    t.key(KeyCode::Down).await;
    assert_eq!(t.selected_name(), "cron");
    t.key(KeyCode::Char('k')).await;
    assert_eq!(t.selected_name(), "cache");
    t.key(KeyCode::Char('G')).await;
    assert_eq!(t.selected_name(), "worker");
    assert_eq!(t.app.detail.target.as_ref().unwrap().label, "worker");
    t.key(KeyCode::Char('g')).await;
    assert_eq!(t.selected_name(), "api");
    t.key(KeyCode::PageDown).await;
    assert_eq!(
        t.selected_name(),
        "worker",
        "a page is longer than the list"
    );
    t.key(KeyCode::PageUp).await;
    assert_eq!(t.selected_name(), "api");
}

#[tokio::test]
async fn filter_narrows_the_list_and_esc_clears_it() {
    let mut t = Harness::new(100, 30).await;
    t.key(KeyCode::Char('/')).await;
    assert_eq!(t.app.mode, Mode::Filter);
    t.keys("python").await;
    let names: Vec<String> = t.app.containers.visible().map(|c| c.name.clone()).collect();
    assert_eq!(names, ["migrate", "worker"]);
    assert!(t.screen().contains("(2 of 9)"));
    t.key(KeyCode::Enter).await;
    assert_eq!(t.app.mode, Mode::Normal);
    assert_eq!(
        t.app.containers.visible().len(),
        2,
        "enter keeps the filter"
    );
    t.key(KeyCode::Esc).await;
    assert_eq!(t.app.containers.visible().len(), 9, "esc clears it");
    t.keys("/zzz").await;
    assert!(t.screen().contains("no container matches \"zzz\""));
    t.key(KeyCode::Esc).await;
    assert_eq!(t.app.containers.filter(), "");
}

#[tokio::test]
async fn columns_sort_and_reverse() {
    let mut t = Harness::new(200, 50).await;
    let names = |t: &Harness| -> Vec<String> {
        t.app.containers.visible().map(|c| c.name.clone()).collect()
    };
    assert_eq!(names(&t)[0], "api");
    t.key(KeyCode::Char('O')).await;
    // Reversed: the rows of no project, then the project's rows, each in that order.
    assert_eq!(names(&t)[0], "proxy");
    assert_eq!(names(&t)[7..], ["worker", "web"]);
    assert!(t.screen().contains("NAME▼"));
    // NAME → IMAGE → COMMAND → STATUS: running containers first.
    t.keys("ooo").await;
    assert!(t.screen().contains("STATUS▲"));
    let states: Vec<ContainerState> = t.app.containers.visible().map(|c| c.state).collect();
    assert_eq!(states[0], ContainerState::Running);
    assert_eq!(*states.last().unwrap(), ContainerState::Exited);
}

#[tokio::test]
async fn start_stop_pause_restart_change_the_container() {
    let mut t = Harness::new(100, 30).await;
    t.key(KeyCode::Char('s')).await;
    let api = t.app.containers.selected_row().unwrap().clone();
    assert_eq!(api.name, "api");
    assert_eq!(
        api.state,
        ContainerState::Exited,
        "the list was refreshed by the event"
    );
    assert!(t.screen().contains("stopped api"));
    t.key(KeyCode::Char('s')).await;
    assert_eq!(
        t.app.containers.selected_row().unwrap().state,
        ContainerState::Running
    );
    t.key(KeyCode::Char('p')).await;
    assert_eq!(
        t.app.containers.selected_row().unwrap().state,
        ContainerState::Paused
    );
    t.key(KeyCode::Char('p')).await;
    t.key(KeyCode::Char('r')).await;
    assert_eq!(
        t.app.containers.selected_row().unwrap().state,
        ContainerState::Running
    );
    assert!(t.screen().contains("restarted api"));
}

#[tokio::test]
async fn remove_asks_first_and_no_keeps_the_container() {
    let mut t = Harness::new(100, 30).await;
    t.key(KeyCode::Char('d')).await;
    assert!(matches!(t.app.dialog, Some(Dialog::Confirm(_))));
    assert!(
        t.screen()
            .contains("api is running and will be killed first")
    );
    t.key(KeyCode::Char('n')).await;
    assert!(t.app.dialog.is_none());
    assert_eq!(t.app.containers.rows().len(), 9);
    t.key(KeyCode::Char('d')).await;
    t.key(KeyCode::Char('y')).await;
    assert_eq!(t.app.containers.rows().len(), 8);
    assert!(t.app.containers.rows().iter().all(|c| c.name != "api"));
    assert!(t.screen().contains("removed api"));
}

#[tokio::test]
async fn kill_asks_first() {
    let mut t = Harness::new(100, 30).await;
    t.key_mod(KeyCode::Char('k'), KeyModifiers::CONTROL).await;
    assert!(t.screen().contains("Send SIGKILL to api?"));
    t.key(KeyCode::Enter).await;
    let api = t.app.containers.selected_row().unwrap();
    assert_eq!(
        (api.state, api.exit_code),
        (ContainerState::Exited, Some(137))
    );
}

#[tokio::test]
async fn marked_rows_take_bulk_actions() {
    let mut t = Harness::new(100, 30).await;
    t.key(KeyCode::Char(' ')).await; // api
    t.key(KeyCode::Char(' ')).await; // cache
    assert!(t.screen().contains("2 marked"));
    t.key(KeyCode::Char('s')).await;
    let stopped: Vec<String> = t
        .app
        .containers
        .rows()
        .iter()
        .filter(|c| c.state == ContainerState::Exited && c.finished_at == Some(NOW))
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(stopped, ["api", "cache"]);
    assert_eq!(t.app.containers.mark_count(), 0);
}

#[tokio::test]
async fn failures_open_an_error_dialog_and_change_nothing() {
    let mut t = Harness::new(100, 30).await;
    t.key(KeyCode::Char('2')).await;
    let before = t.app.images.rows().len();
    // nginx is in use by the web container.
    t.keys("/nginx").await;
    t.key(KeyCode::Enter).await;
    t.key(KeyCode::Char('d')).await;
    t.key(KeyCode::Char('y')).await;
    let Some(Dialog::Error(text)) = &t.app.dialog else {
        panic!("expected an error dialog, got {:?}", t.app.dialog);
    };
    assert!(text.contains("used by container"), "{text}");
    assert_eq!(t.app.images.rows().len(), before);
    t.key(KeyCode::Esc).await;
    assert!(t.app.dialog.is_none());
}

#[tokio::test]
async fn detail_focus_scrolls_and_log_toggles_apply() {
    let mut t = Harness::new(120, 40).await;
    assert_eq!(t.app.tab(), Tab::Logs);
    assert!(!t.app.detail.logs.is_empty());
    t.key(KeyCode::Char('t')).await;
    assert!(t.screen().contains("2025-11-22T"), "timestamps are shown");
    t.key(KeyCode::Enter).await;
    assert_eq!(t.app.focus, Focus::Detail);
    t.key(KeyCode::Char('k')).await;
    assert!(!t.app.detail.logs.follow, "scrolling up stops following");
    t.key(KeyCode::Char('G')).await;
    assert!(t.app.detail.logs.follow);
    t.key(KeyCode::Char('w')).await;
    assert!(t.app.detail.logs.wrap);
    t.key(KeyCode::Esc).await;
    assert_eq!(t.app.focus, Focus::List);
    t.key(KeyCode::Char('i')).await;
    assert_eq!(t.app.tab(), Tab::Inspect);
    assert!(t.screen().contains("\"Args\""));
}

#[tokio::test]
async fn help_lists_rebound_keys_and_rebinding_works() {
    let config = Config::parse(
        "[keys]\nquit = \"x\"\nhelp = [\"h\", \"?\"]\ndown = [\"u\", \"down\"]\n",
        Path::new("keys.toml"),
        settings::check,
    )
    .unwrap();
    let mut t = Harness::with_config(100, 30, config).await;
    t.key(KeyCode::Char('h')).await;
    let screen = t.screen();
    assert!(screen.contains("x quit dockhand"), "{screen}");
    assert!(screen.contains("h/? show or hide this help"), "{screen}");
    assert!(screen.contains("u/↓ move down"), "{screen}");
    t.key(KeyCode::Esc).await;
    t.key(KeyCode::Char('u')).await;
    assert_eq!(t.selected_name(), "cache");
    t.key(KeyCode::Char('q')).await;
    assert!(!t.app.quit, "q is no longer bound");
    t.key(KeyCode::Char('x')).await;
    assert!(t.app.quit);
}

#[tokio::test]
async fn quit_with_q_and_ctrl_c() {
    let mut t = Harness::new(80, 24).await;
    t.key(KeyCode::Char('q')).await;
    assert!(t.app.quit);
    let mut t = Harness::new(80, 24).await;
    t.key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL).await;
    assert!(t.app.quit);
}

#[tokio::test]
async fn an_unreachable_endpoint_keeps_the_last_data_marked_stale() {
    let mut t = Harness::new(100, 30).await;
    let failure = dockhand::tui::action::Failure {
        message: "unix:///var/run/docker.sock is unavailable: connection refused".into(),
        unavailable: true,
    };
    let _ = t
        .app
        .update(Action::List(dockhand::tui::action::Lists::Containers(Err(
            failure,
        ))));
    let screen = t.screen();
    assert!(screen.contains("stale"), "{screen}");
    assert!(screen.contains("connection refused"), "{screen}");
    assert_eq!(
        t.app.containers.rows().len(),
        9,
        "the last data stays on screen"
    );
}

#[tokio::test]
async fn log_search_highlights_jumps_filters_and_saves() {
    let mut t = Harness::new(120, 40).await;
    t.key(KeyCode::Enter).await; // focus the Logs tab of "api"
    t.keys("/slow").await;
    assert_eq!(t.app.mode, Mode::Search);
    let matches = t.app.detail.logs.match_count();
    assert!(matches > 0, "the demo api logs slow queries");
    assert!(t.screen().contains(&format!("{matches} matches")));
    t.key(KeyCode::Enter).await;
    assert_eq!(t.app.mode, Mode::Normal);
    assert!(
        !t.app.detail.logs.follow,
        "jumping to a match stops following"
    );
    let first = t.app.detail.logs.current_match().unwrap();
    t.key(KeyCode::Char('n')).await;
    let second = t.app.detail.logs.current_match().unwrap();
    assert!(second > first);
    t.key(KeyCode::Char('N')).await;
    assert_eq!(t.app.detail.logs.current_match(), Some(first));

    // The match is highlighted on screen.
    let term = t.render();
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "slow query").unwrap();
    assert_eq!(buf[(x, y)].bg, Color::Yellow);

    t.key(KeyCode::Char('F')).await;
    assert!(t.app.detail.logs.only_matches);
    let screen = t.screen();
    assert!(
        !screen.contains("info: "),
        "only matching lines are shown:\n{screen}"
    );
    t.key_mod(KeyCode::Char('s'), KeyModifiers::CONTROL).await;
    let saved: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1);
    let text = std::fs::read_to_string(&saved[0]).unwrap();
    assert_eq!(text.lines().count(), matches);
    assert!(text.lines().all(|l| l.contains("slow")));
    assert!(
        saved[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("dockhand-api-")
    );
    assert!(t.screen().contains(&format!("saved {matches} lines to")));

    // Esc in search mode clears the search.
    t.keys("/").await;
    t.key(KeyCode::Esc).await;
    assert_eq!(t.app.detail.logs.search(), "");
}

#[tokio::test]
async fn the_run_form_creates_and_starts_a_container() {
    let mut t = Harness::new(120, 40).await;
    t.key(KeyCode::Char('c')).await;
    assert!(matches!(t.app.dialog, Some(Dialog::Form(_))));
    t.keys("busybox:1.36").await;
    t.key(KeyCode::Tab).await;
    t.keys("box1").await;
    t.key(KeyCode::Tab).await;
    t.keys("sh -c 'echo hi'").await;
    t.key(KeyCode::Tab).await;
    t.keys("127.0.0.1:8088:80").await;
    t.key(KeyCode::Enter).await;
    assert!(t.app.dialog.is_none(), "{:?}", t.app.dialog);
    let c = t
        .app
        .containers
        .rows()
        .iter()
        .find(|c| c.name == "box1")
        .unwrap()
        .clone();
    assert_eq!(c.state, ContainerState::Running);
    assert_eq!(c.command, "sh -c echo hi");
    assert_eq!(c.ports[0].host_port, Some(8088));
    assert!(t.screen().contains("started box1"));
}

#[tokio::test]
async fn a_refused_form_names_the_field_and_creates_nothing() {
    let mut t = Harness::new(120, 40).await;
    let before = t.app.containers.rows().len();
    t.key(KeyCode::Char('c')).await;
    t.keys("busybox:1.36").await;
    for _ in 0..7 {
        t.key(KeyCode::Tab).await;
    }
    t.keys("lots").await;
    t.key(KeyCode::Enter).await;
    let Some(Dialog::Form(form)) = &t.app.dialog else {
        panic!("the form stays open");
    };
    assert!(
        form.error
            .as_deref()
            .unwrap()
            .starts_with("Memory: invalid memory limit \"lots\"")
    );
    t.key(KeyCode::Esc).await;
    assert!(t.app.dialog.is_none());
    assert_eq!(t.app.containers.rows().len(), before);
    // An image that is not here is reported with the way out.
    t.key(KeyCode::Char('c')).await;
    t.keys("nosuch:1").await;
    t.key(KeyCode::Enter).await;
    let Some(Dialog::Error(text)) = &t.app.dialog else {
        panic!("expected an error, got {:?}", t.app.dialog);
    };
    assert!(text.contains("pull it first"), "{text}");
}

#[tokio::test]
async fn pull_shows_layers_and_lists_the_image() {
    let mut t = Harness::new(120, 40).await;
    t.key(KeyCode::Char('2')).await;
    t.key(KeyCode::Char('P')).await;
    t.keys("httpd:2.4").await;
    t.key(KeyCode::Enter).await;
    let Some(Dialog::Pull(state)) = &t.app.dialog else {
        panic!("expected the pull dialog, got {:?}", t.app.dialog);
    };
    assert_eq!(state.layers.len(), 6);
    assert!(matches!(state.finished, Some(Ok(_))));
    assert!(t.screen().contains("Pull complete"));
    t.key(KeyCode::Enter).await;
    assert!(
        t.app
            .images
            .rows()
            .iter()
            .any(|i| i.repo_tags == ["httpd:2.4"])
    );
}

#[tokio::test]
async fn volume_and_network_forms_create_them() {
    let mut t = Harness::new(120, 40).await;
    t.key(KeyCode::Char('3')).await;
    t.key(KeyCode::Char('c')).await;
    t.keys("scratch").await;
    t.key(KeyCode::Enter).await;
    assert!(t.app.volumes.rows().iter().any(|v| v.name == "scratch"));
    t.key(KeyCode::Char('4')).await;
    t.key(KeyCode::Char('c')).await;
    t.keys("backend").await;
    t.key(KeyCode::Tab).await;
    t.keys("10.9.0.0/24").await;
    t.key(KeyCode::Enter).await;
    let n = t
        .app
        .networks
        .rows()
        .iter()
        .find(|n| n.name == "backend")
        .unwrap();
    assert_eq!(n.subnet.as_deref(), Some("10.9.0.0/24"));
}

#[tokio::test]
async fn prune_lists_what_goes_and_frees_it() {
    let mut t = Harness::new(120, 40).await;
    t.key(KeyCode::Char('3')).await;
    t.key(KeyCode::Char('X')).await;
    let screen = t.screen();
    assert!(screen.contains("Remove 2 unused volumes"), "{screen}");
    assert!(screen.contains("will be freed"), "{screen}");
    t.key(KeyCode::Char('y')).await;
    assert!(t.app.volumes.rows().iter().all(|v| !v.used_by.is_empty()));
    assert!(t.screen().contains("pruned 2 volumes"));
    t.key(KeyCode::Char('X')).await;
    assert!(t.screen().contains("nothing to prune"));
    // Container lists carry no sizes: the dialog measures the stopped containers' layers.
    t.key(KeyCode::Char('1')).await;
    t.key(KeyCode::Char('X')).await;
    let screen = t.screen();
    assert!(screen.contains("Prune containers"), "{screen}");
    assert!(
        screen.contains("will be freed") && !screen.contains("Measuring"),
        "{screen}"
    );
}

#[tokio::test]
async fn inspect_search_jumps_to_matching_lines() {
    let mut t = Harness::new(120, 40).await;
    t.key(KeyCode::Char('i')).await;
    t.key(KeyCode::Enter).await;
    t.keys("/restartpolicy").await;
    t.key(KeyCode::Enter).await;
    let line = t.app.detail.inspect_current.expect("a match");
    assert!(t.app.detail.inspect_lines[line].contains("RestartPolicy"));
    let screen = t.screen();
    assert!(screen.contains("\"RestartPolicy\""), "{screen}");
    t.keys("/zzzz-nothing").await;
    t.key(KeyCode::Enter).await;
    t.key(KeyCode::Char('n')).await;
    assert!(t.screen().contains("no line matches \"zzzz-nothing\""));
}

#[tokio::test]
async fn the_build_form_shows_the_steps_and_lists_the_image() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        let ctx = t.dir.path().join("app");
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::write(
            ctx.join("Dockerfile"),
            "FROM busybox:1.36\nRUN echo built\nCMD [\"sh\"]\n",
        )
        .unwrap();
        t.key(KeyCode::Char('2')).await;
        t.key(KeyCode::Char('b')).await;
        snapshot!("form_build", t);
        // The context is "." until changed.
        t.key(KeyCode::Backspace).await;
        t.keys(ctx.to_str().unwrap()).await;
        t.key(KeyCode::Tab).await;
        t.key(KeyCode::Tab).await;
        t.keys("myapp:1").await;
        t.key(KeyCode::Enter).await;
        let Some(Dialog::Build(state)) = &t.app.dialog else {
            panic!("expected the build dialog, got {:?}", t.app.dialog);
        };
        assert_eq!(state.steps.len(), 3, "{state:?}");
        assert!(matches!(state.finished, Some(Ok(_))), "{state:?}");
        snapshot!("build_done", t);
        t.key(KeyCode::Enter).await;
        assert!(t.app.dialog.is_none());
        assert!(
            t.app
                .images
                .rows()
                .iter()
                .any(|i| i.repo_tags == ["myapp:1"]),
            "the Images pane shows the new image"
        );
    }
}

#[tokio::test]
async fn a_bad_build_is_refused_or_reported_and_esc_cancels_one_running() {
    let mut t = Harness::new(120, 40).await;
    let images = t.app.images.rows().len();
    t.key(KeyCode::Char('b')).await;
    t.key(KeyCode::Tab).await;
    t.key(KeyCode::Tab).await;
    t.keys("Bad:Tag!").await;
    t.key(KeyCode::Enter).await;
    let Some(Dialog::Form(form)) = &t.app.dialog else {
        panic!("the form stays open");
    };
    assert!(
        form.error.as_deref().unwrap().starts_with("Tags:"),
        "{form:?}"
    );
    t.key(KeyCode::Esc).await;
    // A context without a Dockerfile: the dialog says which file it could not read.
    t.key(KeyCode::Char('b')).await;
    t.key(KeyCode::Backspace).await;
    t.keys(t.dir.path().to_str().unwrap().to_string().as_str())
        .await;
    t.key(KeyCode::Enter).await;
    let Some(Dialog::Build(state)) = &t.app.dialog else {
        panic!("expected the build dialog, got {:?}", t.app.dialog);
    };
    let Some(Err(e)) = &state.finished else {
        panic!("expected a failure: {state:?}");
    };
    assert!(e.starts_with("Dockerfile: cannot read"), "{e}");
    assert!(t.screen().contains("failed: Dockerfile: cannot read"));
    t.key(KeyCode::Esc).await;
    assert_eq!(t.app.images.rows().len(), images);
    // Esc while a build runs stops it.
    t.app.dialog = Some(Dialog::Build(dockhand::tui::build::BuildState::new(
        "app:1".into(),
    )));
    let effects = t
        .app
        .update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert_eq!(effects, [Effect::CancelBuild]);
    assert!(t.app.dialog.is_none());
    assert!(t.screen().contains("build cancelled; nothing was tagged"));
}

#[tokio::test]
async fn commit_from_the_containers_pane_asks_for_the_name() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        let name = t.selected_name();
        t.key(KeyCode::Char('C')).await;
        snapshot!("form_commit", t);
        t.keys("snap:1").await;
        t.key(KeyCode::Tab).await;
        t.keys("my change").await;
        t.key(KeyCode::Tab).await;
        t.key(KeyCode::Tab).await;
        t.keys("ENV A=1; CMD [\"true\"]").await;
        t.key(KeyCode::Enter).await;
        assert!(t.app.dialog.is_none(), "{:?}", t.app.dialog);
        assert!(
            t.screen().contains(&format!("committed {name} as image")),
            "{}",
            t.screen()
        );
        assert!(
            t.app
                .images
                .rows()
                .iter()
                .any(|i| i.repo_tags == ["snap:1"])
        );
        // A bad change keeps the form open, naming the field.
        t.key(KeyCode::Char('C')).await;
        t.key(KeyCode::Tab).await;
        t.key(KeyCode::Tab).await;
        t.key(KeyCode::Tab).await;
        t.keys("RUN make").await;
        t.key(KeyCode::Enter).await;
        let Some(Dialog::Form(form)) = &t.app.dialog else {
            panic!("the form stays open");
        };
        assert!(
            form.error.as_deref().unwrap().starts_with("Changes:"),
            "{form:?}"
        );
        t.key(KeyCode::Esc).await;
        // Other panes point to the Containers pane.
        t.key(KeyCode::Char('2')).await;
        t.key(KeyCode::Char('C')).await;
        assert!(t.app.dialog.is_none());
        assert!(t.screen().contains("that key acts on containers"));
    }
}

#[tokio::test]
async fn help_shows_every_binding_at_80x24_by_scrolling() {
    let mut t = Harness::new(80, 24).await;
    t.key(KeyCode::Char('?')).await;
    let top = t.screen();
    assert!(top.contains("more below"), "{top}");
    t.key(KeyCode::Char('G')).await;
    let bottom = t.screen();
    assert!(bottom.contains("more above"), "{bottom}");
    for c in dockhand::tui::keymap::Command::ALL {
        assert!(
            top.contains(c.help()) || bottom.contains(c.help()),
            "{:?} ({}) is not shown whole",
            c,
            c.help()
        );
    }
    for s in dockhand::tui::palette::COMMANDS {
        let entry = format!(":{} {}", s.name, s.help);
        assert!(
            top.contains(&entry) || bottom.contains(&entry),
            "{entry} is not shown whole"
        );
    }
    // Scrolling stops at the ends: j at the bottom changes nothing.
    t.key(KeyCode::Char('j')).await;
    assert_eq!(t.screen(), bottom);
    t.key(KeyCode::Char('g')).await;
    assert_eq!(t.screen(), top);
    t.key(KeyCode::Esc).await;
    assert!(t.app.dialog.is_none());
}

#[tokio::test]
async fn the_command_line_switches_panes_completes_names_and_names_the_closest_command() {
    let mut t = Harness::new(80, 24).await;
    t.key(KeyCode::Char(':')).await;
    assert_eq!(t.app.mode, Mode::Palette);
    t.keys("im").await;
    t.key(KeyCode::Enter).await;
    assert_eq!(t.app.mode, Mode::Normal);
    assert_eq!(t.app.pane, PaneKind::Images);
    // Aliases, and the history brings a line back.
    t.keys(":co").await;
    t.key(KeyCode::Enter).await;
    assert_eq!(t.app.pane, PaneKind::Containers);
    t.key(KeyCode::Char(':')).await;
    t.key(KeyCode::Up).await;
    assert_eq!(t.app.palette.text, "co");
    t.key(KeyCode::Up).await;
    assert_eq!(t.app.palette.text, "im");
    t.key(KeyCode::Esc).await;
    assert_eq!(t.app.pane, PaneKind::Containers, "esc runs nothing");
    // Tab completes a command, then a container's name; several candidates are listed.
    t.keys(":lo").await;
    t.key(KeyCode::Tab).await;
    assert_eq!(t.app.palette.text, "logs ");
    t.keys("c").await;
    t.key(KeyCode::Tab).await;
    assert_eq!(t.app.palette.text, "logs c");
    assert_eq!(t.app.palette.candidates, vec!["cache", "cron"]);
    t.key(KeyCode::Esc).await;
    // A misspelt command: the closest one is named, nothing else changes.
    t.keys(":netwrks").await;
    t.key(KeyCode::Enter).await;
    assert!(
        t.screen()
            .contains("unknown command :netwrks; did you mean :networks?"),
        "{}",
        t.screen()
    );
    assert_eq!(t.app.pane, PaneKind::Containers);
    // :filter filters the pane in front, :help opens the help.
    t.keys(":filter ca").await;
    t.key(KeyCode::Enter).await;
    assert_eq!(t.app.containers.visible().len(), 1);
    assert_eq!(t.selected_name(), "cache");
    t.keys(":filter").await;
    t.key(KeyCode::Enter).await;
    assert!(t.app.containers.visible().len() > 1);
    t.keys(":help").await;
    t.key(KeyCode::Enter).await;
    assert!(matches!(t.app.dialog, Some(Dialog::Help(_))));
}

#[tokio::test]
async fn the_command_line_opens_logs_removes_runs_and_pulls() {
    let mut t = Harness::new(80, 24).await;
    // One container's logs: selected, its Logs tab in front.
    t.keys(":logs db").await;
    t.key(KeyCode::Enter).await;
    assert_eq!(t.selected_name(), "db");
    assert_eq!(t.app.detail.tab(PaneKind::Containers), Tab::Logs);
    assert!(!t.app.detail.logs.is_empty());
    // A name that is not there is said, and nothing moves.
    t.keys(":logs nosuch").await;
    t.key(KeyCode::Enter).await;
    assert!(
        t.screen().contains("no such container: nosuch"),
        "{}",
        t.screen()
    );
    assert_eq!(t.selected_name(), "db");
    t.keys(":logs db --since yesterday").await;
    t.key(KeyCode::Enter).await;
    assert!(t.screen().contains("--since"), "{}", t.screen());
    // :rm asks first, naming what goes.
    t.keys(":rm cron migrate").await;
    t.key(KeyCode::Enter).await;
    let screen = t.screen();
    assert!(matches!(t.app.dialog, Some(Dialog::Confirm(_))), "{screen}");
    assert!(
        screen.contains("cron") && screen.contains("migrate"),
        "{screen}"
    );
    t.key(KeyCode::Char('y')).await;
    let names: Vec<String> = t
        .app
        .containers
        .rows()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert!(!names.contains(&"cron".to_string()), "{names:?}");
    assert!(!names.contains(&"migrate".to_string()), "{names:?}");
    // :run starts a detached container of an image.
    let before = t.app.containers.rows().len();
    t.keys(":run alpine:3.20 sleep 60").await;
    t.key(KeyCode::Enter).await;
    assert_eq!(t.app.containers.rows().len(), before + 1, "{}", t.screen());
    // :pull shows the pull's progress; a bad reference is refused first.
    t.keys(":pull Bad//Ref").await;
    t.key(KeyCode::Enter).await;
    assert!(
        t.screen().contains("cannot pull Bad//Ref"),
        "{}",
        t.screen()
    );
    assert!(t.app.dialog.is_none());
    t.keys(":pull redis:7").await;
    t.key(KeyCode::Enter).await;
    assert!(matches!(t.app.dialog, Some(Dialog::Pull(_))));
}

#[tokio::test]
async fn merged_logs_interleave_containers_by_time_with_their_names() {
    let mut t = Harness::new(80, 24).await;
    t.keys(":logs web api").await;
    t.key(KeyCode::Enter).await;
    let logs = &t.app.detail.logs;
    assert_eq!(logs.sources(), ["api", "web"]);
    let lines = logs.export();
    assert!(lines.iter().any(|l| l.starts_with("web | ")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("api | ")), "{lines:?}");
    t.key(KeyCode::Char('t')).await;
    let stamped = t.app.detail.logs.export();
    let times: Vec<&str> = stamped
        .iter()
        .map(|l| l.split(" | ").nth(1).unwrap().split(' ').next().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "interleaved by time");
    t.key(KeyCode::Char('t')).await;
    // A compose project: all its containers.
    t.key(KeyCode::Esc).await;
    t.key(KeyCode::Esc).await;
    t.keys(":logs shop").await;
    t.key(KeyCode::Enter).await;
    assert_eq!(
        t.app.detail.logs.sources(),
        ["web", "worker"],
        "{}",
        t.screen()
    );
    // Only the Logs tab; moving the selection leaves them.
    t.key(KeyCode::Char(']')).await;
    assert!(t.screen().contains("only the Logs tab"), "{}", t.screen());
    t.key(KeyCode::Esc).await;
    t.key(KeyCode::Char('j')).await;
    assert!(t.app.detail.logs.sources().is_empty());
    // Marked rows: l shows their logs merged.
    t.key(KeyCode::Char('g')).await;
    t.key(KeyCode::Char(' ')).await;
    t.key(KeyCode::Char(' ')).await;
    t.key(KeyCode::Char('l')).await;
    assert_eq!(t.app.detail.logs.sources().len(), 2);
}

#[tokio::test]
async fn snapshots_of_the_command_line_and_merged_logs() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        t.keys(":im").await;
        snapshot!("palette_typing", t);
        t.key(KeyCode::Esc).await;
        t.keys(":logs c").await;
        t.key(KeyCode::Tab).await;
        snapshot!("palette_candidates", t);
        t.key(KeyCode::Esc).await;
        t.keys(":logs web api").await;
        t.key(KeyCode::Enter).await;
        snapshot!("merged_logs", t);
    }
}

#[tokio::test]
async fn a_compose_project_is_grouped_folds_and_acts_on_all_its_containers() {
    let mut t = Harness::new(80, 30).await;
    let screen = t.screen();
    assert!(screen.contains("▾  shop"), "{screen}");
    assert!(screen.contains("1/2 running"), "{screen}");
    // The header is after the rows of no project; its rows follow it, indented.
    t.key(KeyCode::Char('G')).await;
    assert_eq!(t.selected_name(), "worker");
    t.key(KeyCode::Char('k')).await;
    t.key(KeyCode::Char('k')).await;
    assert!(t.app.containers.selected_row().is_none());
    assert_eq!(t.app.containers.selected_group().unwrap().name, "shop");
    // z folds it to its header and back; the rows of no project stay.
    t.key(KeyCode::Char('z')).await;
    assert!(t.screen().contains("▸  shop"), "{}", t.screen());
    assert!(!t.app.containers.visible().any(|c| c.name == "web"));
    assert_eq!(t.app.containers.visible().len(), 7);
    t.key(KeyCode::Char('z')).await;
    assert_eq!(t.app.containers.visible().len(), 9);
    // z on a row of no project says so.
    t.key(KeyCode::Char('g')).await;
    t.key(KeyCode::Char('z')).await;
    assert!(
        t.screen().contains("only a compose project's rows fold"),
        "{}",
        t.screen()
    );
    // l on the header: the project's logs, merged.
    t.key(KeyCode::Char('G')).await;
    t.keys("kk").await;
    t.key(KeyCode::Char('l')).await;
    assert_eq!(t.app.detail.logs.sources(), ["web", "worker"]);
    t.key(KeyCode::Esc).await;
    // s on the header: one of them runs, so all of them stop.
    t.key(KeyCode::Char('s')).await;
    let state = |t: &Harness, n: &str| {
        t.app
            .containers
            .rows()
            .iter()
            .find(|c| c.name == n)
            .unwrap()
            .state
    };
    assert!(!state(&t, "web").is_alive(), "{}", t.screen());
    assert!(t.screen().contains("0/2 running"), "{}", t.screen());
    // And start again, all of them.
    t.key(KeyCode::Char('s')).await;
    assert!(state(&t, "web").is_alive());
    assert!(state(&t, "worker").is_alive());
    // d on the header asks, naming them, then removes the project.
    t.key(KeyCode::Char('d')).await;
    let screen = t.screen();
    assert!(
        screen.contains("Remove 2 containers web, worker?"),
        "{screen}"
    );
    t.key(KeyCode::Char('y')).await;
    assert!(!t.screen().contains("shop"), "{}", t.screen());
    assert_eq!(t.app.containers.rows().len(), 7);
}

#[tokio::test]
async fn snapshots_of_a_grouped_project() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        t.key(KeyCode::Char('G')).await;
        t.keys("kk").await;
        snapshot!("project_header", t);
        t.key(KeyCode::Char('z')).await;
        snapshot!("project_folded", t);
    }
}

#[tokio::test]
async fn a_shell_in_a_pane_runs_beside_the_list_and_sessions_are_tabs() {
    let mut t = Harness::new(100, 30).await;
    assert_eq!(t.selected_name(), "api");
    t.key(KeyCode::Char('e')).await;
    assert!(t.app.terminals.shown && t.app.terminals.focused);
    t.wait_terminal("the prompt", |s| s.contains("/ #")).await;
    t.keys("echo pane-42").await;
    t.key(KeyCode::Enter).await;
    t.wait_terminal("the echo", |s| s.contains("pane-42\n"))
        .await;
    // The shell has the pane's size: the detail area less its border.
    t.keys("stty size").await;
    t.key(KeyCode::Enter).await;
    let (rows, cols) = t.app.terminals.size();
    t.wait_terminal("the size", |s| s.contains(&format!("{rows} {cols}")))
        .await;
    let screen = t.screen();
    assert!(screen.contains("┌ Containers"), "the list stays: {screen}");
    assert!(screen.contains("1 shell in api"), "{screen}");
    assert!(screen.contains("back to the list"), "{screen}");
    // Keys are the shell's while it has the focus: q is typed, not quit.
    t.key(KeyCode::Char('q')).await;
    assert!(!t.app.quit);
    t.key(KeyCode::Backspace).await;
    // ctrl-] gives the keys back to the list; the pane stays.
    t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
    assert!(!t.app.terminals.focused && t.app.terminals.shown);
    t.key(KeyCode::Char('j')).await;
    assert_eq!(t.selected_name(), "cache");
    // A second session, an attach, as another tab in front.
    t.key(KeyCode::Char('a')).await;
    assert_eq!(t.app.terminals.sessions().len(), 2);
    let screen = t.screen();
    assert!(screen.contains("2 attach cache"), "{screen}");
    // ctrl-p ctrl-q detaches from an attach, as on Docker.
    t.key_mod(KeyCode::Char('p'), KeyModifiers::CONTROL).await;
    t.key_mod(KeyCode::Char('q'), KeyModifiers::CONTROL).await;
    assert_eq!(
        t.app.terminals.sessions().len(),
        1,
        "ctrl-p ctrl-q detached"
    );
    assert!(
        t.screen().contains("detached: attach cache"),
        "{}",
        t.screen()
    );
    // Another attach, then back to the shell with [, without closing the attach.
    t.key(KeyCode::Char('k')).await;
    t.key(KeyCode::Char('a')).await;
    t.key_mod(KeyCode::Char('5'), KeyModifiers::CONTROL).await;
    assert!(
        !t.app.terminals.focused,
        "ctrl-] as legacy terminals report it"
    );
    t.key(KeyCode::Char('[')).await;
    assert_eq!(t.app.terminals.active().unwrap().title, "shell in api");
    t.key(KeyCode::Char('T')).await;
    assert!(!t.app.terminals.shown, "T hides the pane");
    assert!(t.screen().contains("Logs"), "{}", t.screen());
    t.key(KeyCode::Char('T')).await;
    t.key(KeyCode::Enter).await;
    assert!(t.app.terminals.focused);
    // Its end shows its status; a key then closes it.
    t.keys("exit").await;
    t.key(KeyCode::Enter).await;
    let how = t.wait_ended().await;
    assert_eq!(how, "sh in api ended (exit 0)");
    assert!(t.screen().contains("a key closes it"), "{}", t.screen());
    t.key(KeyCode::Char('x')).await;
    assert_eq!(t.app.terminals.sessions().len(), 1);
    assert_eq!(t.app.terminals.active().unwrap().title, "attach api");
}

#[tokio::test]
async fn a_resize_reaches_the_shell_and_the_handover_stays_available() {
    let mut t = Harness::new(100, 30).await;
    t.key(KeyCode::Char('e')).await;
    t.wait_terminal("the prompt", |s| s.contains("/ #")).await;
    let effects = t.app.update(Action::Resize(120, 40));
    t.run(effects).await;
    // 40 rows: a header, a status line, 17 for the list, 21 for the pane less its border.
    let (rows, cols) = t.app.terminals.size();
    assert_eq!((rows, cols), (19, 118));
    t.keys("stty size").await;
    t.key(KeyCode::Enter).await;
    t.wait_terminal("the new size", |s| s.contains(&format!("{rows} {cols}")))
        .await;
    // E hands the whole screen over, whatever the config says.
    t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
    let effects = t.app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('E'),
        KeyModifiers::SHIFT,
    )));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Handover(_))),
        "{effects:?}"
    );
    // And with ui.shell = "handover", e and a do too.
    let config = Config::parse(
        "[ui]\nshell = \"handover\"\n",
        Path::new("c.toml"),
        settings::check,
    )
    .unwrap();
    let mut h = Harness::with_config(100, 30, config).await;
    let effects = h.app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('e'),
        KeyModifiers::NONE,
    )));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Handover(_))),
        "{effects:?}"
    );
    assert!(!h.app.terminals.shown);
}

#[tokio::test]
async fn snapshots_of_the_terminal_pane() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        t.key(KeyCode::Char('e')).await;
        t.wait_terminal("the prompt", |s| s.contains("/ #")).await;
        t.keys("echo hello from the pane").await;
        t.key(KeyCode::Enter).await;
        t.wait_terminal("the echo", |s| {
            s.matches("hello from the pane").count() == 2
        })
        .await;
        snapshot!("terminal_focused", t);
        t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
        t.key(KeyCode::Char('j')).await;
        t.key(KeyCode::Char('a')).await;
        t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
        snapshot!("terminal_two_sessions", t);
    }
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Action {
    Action::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

#[tokio::test]
async fn clicks_select_panes_rows_tabs_and_sessions_and_the_wheel_scrolls() {
    let mut t = Harness::new(100, 30).await;
    let click = |x, y| mouse(MouseEventKind::Down(MouseButton::Left), x, y);
    // A row of the list, where it is drawn.
    let (_, y) = find(t.render().backend().buffer(), "db  ").unwrap();
    let effects = t.app.update(click(10, y));
    t.run(effects).await;
    assert_eq!(t.selected_name(), "db");
    assert!(
        t.screen().contains("db ┐"),
        "the detail follows: {}",
        t.screen()
    );
    // The wheel over the list moves the selection three rows.
    let effects = t.app.update(mouse(MouseEventKind::ScrollDown, 10, y));
    t.run(effects).await;
    assert_eq!(t.selected_name(), "proxy");
    // A detail tab.
    let (x, y) = find(t.render().backend().buffer(), "Inspect").unwrap();
    let effects = t.app.update(click(x + 1, y));
    t.run(effects).await;
    assert_eq!(t.app.detail.tab(PaneKind::Containers), Tab::Inspect);
    // A pane in the header.
    let (x, y) = find(t.render().backend().buffer(), "Images").unwrap();
    let effects = t.app.update(click(x, y));
    t.run(effects).await;
    assert_eq!(t.app.pane, PaneKind::Images);
    let effects = t.app.update(click(3, 0));
    t.run(effects).await;
    assert_eq!(t.app.pane, PaneKind::Images, "the name is not a pane");
    // Terminal sessions: a click on a tab brings it to the front with the keys.
    t.key(KeyCode::Char('1')).await;
    t.key(KeyCode::Char('g')).await;
    t.key(KeyCode::Char('e')).await;
    t.wait_terminal("the prompt", |s| s.contains("/ #")).await;
    t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
    t.key(KeyCode::Char('j')).await;
    t.key(KeyCode::Char('e')).await;
    t.wait_terminal("the prompt", |s| s.contains("/ #")).await;
    t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
    let (x, y) = find(t.render().backend().buffer(), "1 shell in api").unwrap();
    let effects = t.app.update(click(x + 2, y));
    t.run(effects).await;
    assert_eq!(t.app.terminals.active().unwrap().title, "shell in api");
    assert!(t.app.terminals.focused);
    // The wheel over a terminal scrolls its scrollback.
    for i in 0..40 {
        t.keys(&format!("echo line{i}")).await;
        t.key(KeyCode::Enter).await;
    }
    t.wait_terminal("the last line", |s| s.contains("line39\n"))
        .await;
    let effects = t.app.update(mouse(MouseEventKind::ScrollUp, 10, y + 3));
    t.run(effects).await;
    assert_eq!(t.app.terminals.active().unwrap().scrolled(), 3);
    // Pasted text goes to the focused terminal, and into a prompt being edited.
    let effects = t.app.update(Action::Paste("echo pasted".into()));
    t.run(effects).await;
    t.key(KeyCode::Enter).await;
    t.wait_terminal("the paste", |s| s.contains("pasted\n"))
        .await;
    t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
    t.key(KeyCode::Char(':')).await;
    let effects = t.app.update(Action::Paste("images\nignored".into()));
    t.run(effects).await;
    assert_eq!(t.app.palette.text, "images");
}

#[tokio::test]
async fn the_mouse_setting_is_read() {
    let config = Config::parse(
        "[ui]\nmouse = false\n",
        Path::new("c.toml"),
        settings::check,
    )
    .unwrap();
    assert!(!config.ui.mouse);
    let err = Config::parse(
        "[ui]\nshell = \"window\"\n",
        Path::new("c.toml"),
        settings::check,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("shell") && err.contains("pane"), "{err}");
}

#[tokio::test]
async fn an_empty_endpoint_greets_with_what_to_do() {
    use dockhand::backend::prelude::*;
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        let options = dockhand::model::RemoveOptions {
            force: true,
            volumes: false,
        };
        for c in t.backend.list_containers(true).await.unwrap() {
            t.backend.remove_container(&c.id, options).await.unwrap();
        }
        for i in t.backend.list_images(true).await.unwrap() {
            t.backend.remove_image(&i.id, true).await.unwrap();
        }
        t.key_mod(KeyCode::Char('r'), KeyModifiers::CONTROL).await;
        let screen = t.screen();
        assert!(screen.contains("Nothing here yet on"), "{screen}");
        assert!(screen.contains("P or :pull REF"), "{screen}");
        snapshot!("greeting", t);
        t.key(KeyCode::Char('2')).await;
        assert!(t.screen().contains("No images yet"), "{}", t.screen());
    }
}

#[tokio::test]
async fn json_lines_are_pretty_printed_on_demand() {
    let mut t = Harness::new(100, 30).await;
    let id = t.app.containers.selected_row().unwrap().id.clone();
    let line = dockhand::model::LogLine {
        stream: dockhand::model::LogStream::Stdout,
        timestamp_ns: i128::from(NOW) * 1_000_000_000,
        text: r#"{"level":"info","msg":"order placed","items":[1,2]}"#.into(),
    };
    let effects = t.app.update(Action::LogLines(id, vec![line]));
    t.run(effects).await;
    assert!(
        t.screen()
            .contains(r#"{"level":"info","msg":"order placed""#)
    );
    t.key(KeyCode::Char('J')).await;
    let screen = t.screen();
    assert!(screen.contains(r#"  "level": "info","#), "{screen}");
    assert!(screen.contains(r#"  "msg": "order placed""#), "{screen}");
    assert!(screen.contains("json"), "{screen}");
    // Lines that are not JSON stay as they are; J again folds the JSON back.
    assert!(screen.contains("info: "), "{screen}");
    t.key(KeyCode::Char('J')).await;
    assert!(
        t.screen()
            .contains(r#"{"level":"info","msg":"order placed""#)
    );
}

/// A minute of samples of the API container: CPU rising to a peak and falling, memory
/// growing, steady traffic.
fn a_minute_of_samples(t: &Harness) -> Vec<StatsSample> {
    let api = t.app.containers.selected_row().unwrap();
    assert_eq!(api.name, "api");
    (0..60)
        .map(|i: u64| StatsSample {
            read: NOW - 59 + i as i64,
            // Up to 120% of one core: 80% of its 1.5-CPU limit.
            cpu_percent: 120.0 * (1.0 - (i as f64 - 30.0).abs() / 30.0),
            cpu_limit: Some(1.5),
            host_cpus: 4,
            memory_usage: (200 + i * 2) << 20,
            memory_limit: 512 << 20,
            net_rx: i * 40_000,
            net_tx: i * 10_000,
            block_read: 1_000_000,
            block_write: i * i * 1_000,
            pids: 11,
        })
        .collect()
}

#[tokio::test]
async fn stats_are_line_charts_against_the_limit_with_labelled_axes() {
    for (w, h) in SIZES {
        let mut t = Harness::new(w, h).await;
        t.key(KeyCode::Char(']')).await;
        assert_eq!(t.app.tab(), Tab::Stats);
        let id = t.app.containers.selected_row().unwrap().id.clone();
        // The fake's own first sample says what the container may use.
        let first = *t.app.detail.stats.back().unwrap();
        assert_eq!((first.cpu_limit, first.host_cpus), (Some(1.5), 4));
        t.app.detail.stats.clear();
        for sample in a_minute_of_samples(&t) {
            let effects = t.app.update(Action::Stats(id.clone(), sample));
            t.run(effects).await;
        }
        let screen = t.screen();
        // The newest sample: 4% of one core is 2.7% of 1.5 CPUs.
        assert!(screen.contains("CPU 2.7% of its 1.5-CPU limit"), "{screen}");
        assert!(screen.contains("MEM 318MiB of 512MiB (62.1%)"), "{screen}");
        assert!(screen.contains("NET in 40kB/s · out 10kB/s"), "{screen}");
        assert!(
            screen.contains("IO read 0B/s · write 117kB/s · PIDS 11"),
            "{screen}"
        );
        // Time runs to "now" over the kept history (120 samples by default); the CPU axis
        // ends at a round figure above the peak, the memory axis at the limit.
        assert!(screen.contains("-2m") && screen.contains("-1m") && screen.contains("now"));
        assert!(
            screen.contains("100%") && screen.contains("512MiB"),
            "{screen}"
        );
        snapshot!("stats_charts", t);
    }
}

#[tokio::test]
async fn cpu_and_mem_columns_read_only_the_running_rows_on_screen() {
    let running = |t: &Harness| -> Vec<String> {
        let names: Vec<String> = t
            .usage_watched
            .iter()
            .map(|id| {
                let row = t
                    .app
                    .containers
                    .rows()
                    .iter()
                    .find(|r| &r.id == id)
                    .unwrap();
                row.name.clone()
            })
            .collect();
        names
    };
    // Wide enough for the columns: every running container of the nine is on screen (the
    // restarting one's stream ends at once, as Docker's does, and is not asked for again).
    let t = Harness::new(200, 50).await;
    assert_eq!(running(&t), ["api", "cache", "db", "debug-shell", "web"]);
    let screen = t.screen();
    let header = screen.lines().find(|l| l.contains("NAME▲")).unwrap();
    assert!(header.contains("CPU") && header.contains("MEM"), "{header}");
    // The API's sample is in its row, as % of its limit; an exited row has none.
    let api = screen.lines().find(|l| l.contains(" api ")).unwrap();
    let api_id = &t.app.containers.selected_row().unwrap().id;
    let sample = *t.app.usage.get(api_id).unwrap();
    assert!(
        api.contains(&dockhand::tui::usage::cpu_cell(&sample)),
        "{api}"
    );
    assert!(
        api.contains(&dockhand::tui::usage::memory_cell(&sample)),
        "{api}"
    );
    let migrate = screen.lines().find(|l| l.contains(" migrate ")).unwrap();
    assert!(!migrate.contains('%'), "{migrate}");

    // A short screen shows three rows: only those are read, and scrolling changes which.
    let mut t = Harness::new(200, 16).await;
    assert_eq!(running(&t), ["api", "cache"]);
    t.key(KeyCode::Char('G')).await;
    assert_eq!(running(&t), ["web"]);
    // Another pane: nothing is read.
    t.key(KeyCode::Char('2')).await;
    assert!(running(&t).is_empty());
    t.key(KeyCode::Char('1')).await;
    assert_eq!(running(&t), ["web"]);
    // A stopped container leaves the set.
    t.key(KeyCode::Char('k')).await;
    assert_eq!(t.selected_name(), "web");
    t.key(KeyCode::Char('s')).await;
    assert!(running(&t).is_empty());

    // At 80 columns CPU fits and MEM does not; the six rows on screen are read.
    let t = Harness::new(80, 24).await;
    assert_eq!(running(&t), ["api", "cache", "db", "debug-shell"]);
    let screen = t.screen();
    let header = screen.lines().find(|l| l.contains("NAME▲")).unwrap();
    assert!(
        header.contains("CPU") && !header.contains("MEM"),
        "{header}"
    );
    // Too narrow for CPU too: nothing is read.
    let t = Harness::new(64, 24).await;
    assert!(running(&t).is_empty());
}

#[tokio::test]
async fn endpoint_switches_the_backend_and_starts_afresh_keeping_the_pane() {
    let mut t = Harness::new(200, 50).await;
    // Without a name: where the UI is and what it can switch to.
    t.keys(":endpoint").await;
    t.key(KeyCode::Enter).await;
    assert!(
        t.screen().contains(
            "on demo (sample data); :endpoint NAME switches to engine, docker, podman, a unix:// or tcp:// URL"
        ),
        "{}",
        t.screen()
    );
    // Names complete; the line asks the event loop to open the endpoint.
    t.keys(":ep d").await;
    t.key(KeyCode::Tab).await;
    assert_eq!(t.app.palette.text, "ep docker ");
    let effects = t.app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    assert_eq!(effects, [Effect::SwitchEndpoint("docker".into())]);

    // A failure to open it changes nothing.
    t.key(KeyCode::Char('3')).await;
    let before = t.app.volumes.rows().len();
    t.app.endpoint_failed("nowhere", "no such endpoint".into());
    assert!(
        t.screen()
            .contains("cannot switch to nowhere: no such endpoint; still on demo")
    );
    assert_eq!(t.app.volumes.rows().len(), before);

    // Opened: every list, the detail and the sessions start afresh on the new backend; the
    // pane in front and the command history stay.
    t.key(KeyCode::Char('1')).await;
    t.key(KeyCode::Char('e')).await;
    t.wait_terminal("the prompt", |s| s.contains("/ #")).await;
    t.key_mod(KeyCode::Char(']'), KeyModifiers::CONTROL).await;
    t.key(KeyCode::Char('3')).await;
    let other = FakeBackend::with_clock(Clock::Fixed(NOW));
    use dockhand::backend::prelude::*;
    other
        .create_volume(dockhand::model::VolumeSpec {
            name: Some("only-there".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    t.backend = AnyBackend::Fake(other);
    t.events = streams::events(&t.backend).await;
    let effects = t.app.switched_endpoint("other endpoint".into(), false);
    assert!(!t.app.volumes.is_loaded() && !t.app.containers.is_loaded());
    assert!(t.app.terminals.active().is_none());
    t.run(effects).await;
    assert_eq!(t.app.pane, PaneKind::Volumes);
    assert_eq!(t.app.endpoint, "other endpoint");
    assert_eq!(t.app.volumes.rows().len(), before + 1);
    assert!(t.app.volumes.rows().iter().any(|v| v.name == "only-there"));
    assert!(t.app.containers.is_loaded());
    let screen = t.screen();
    assert!(screen.contains("switched to other endpoint"), "{screen}");
    assert!(!screen.contains("DEMO DATA"), "{screen}");
    assert!(t.app.palette.history().contains(&"endpoint".to_string()));
}
