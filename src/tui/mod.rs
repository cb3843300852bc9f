//! The terminal UI: event loop, application state, key bindings, theme, panes and dialogs.
//!
//! Data flow: terminal input, timer ticks and backend results become [`action::Action`]s;
//! [`app::App::update`] changes the state and returns [`effect::Effect`]s; the
//! [`effect::Runner`] carries those out in background tasks whose results come back as
//! actions. The screen is drawn only when something changed.

pub mod action;
pub mod app;
pub mod detail;
pub mod dialog;
pub mod effect;
pub mod keymap;
pub mod layout;
pub mod logview;
pub mod panes;
pub mod theme;
pub mod ui;

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::backend::AnyBackend;
use action::Action;
use app::{App, AppOptions};
use effect::Runner;

/// Runs the TUI until the user quits. The terminal is restored on return and on panic.
pub async fn run(backend: AnyBackend, options: AppOptions) -> io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, backend, options).await;
    ratatui::try_restore()?;
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    backend: AnyBackend,
    options: AppOptions,
) -> io::Result<()> {
    let tick_every = Duration::from_millis(options.ui.tick_rate_ms);
    let refresh_every = Duration::from_millis(options.ui.refresh_interval_ms);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(backend, tx);
    let mut app = App::new(options);
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    for effect in app.start() {
        runner.run(effect);
    }

    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut refresh =
        tokio::time::interval_at(tokio::time::Instant::now() + refresh_every, refresh_every);
    refresh.set_missed_tick_behavior(MissedTickBehavior::Skip);

    loop {
        if app.dirty {
            terminal.draw(|frame| ui::draw(frame, &app))?;
            app.dirty = false;
        }
        if app.quit {
            return Ok(());
        }
        let action = tokio::select! {
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => Action::Key(key),
                Some(Ok(TermEvent::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            Some(action) = rx.recv() => action,
            _ = tick.tick() => Action::Tick,
            _ = refresh.tick() => Action::Refresh,
        };
        for effect in app.update(action) {
            runner.run(effect);
        }
        // Take everything already waiting before drawing once.
        while let Ok(action) = rx.try_recv() {
            for effect in app.update(action) {
                runner.run(effect);
            }
        }
    }
}
