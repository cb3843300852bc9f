//! The terminal UI: event loop, application state, key bindings, theme, panes and dialogs.
//!
//! Data flow: terminal input, timer ticks and backend results become [`action::Action`]s;
//! [`app::App::update`] changes the state and returns [`effect::Effect`]s; the
//! [`runner::Runner`] carries those out in background tasks whose results come back as
//! actions. The screen is drawn only when something changed.

pub mod action;
pub mod app;
pub mod build;
pub mod detail;
pub mod dialog;
pub mod draw;
pub mod effect;
pub mod form;
pub mod frames;
pub mod keymap;
pub mod layout;
pub mod logview;
pub mod palette;
pub mod panes;
pub mod runner;
pub mod settings;
pub mod streams;
pub mod terminal;
pub mod terminal_io;
pub mod theme;
pub mod usage;

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::backend::AnyBackend;
use action::Action;
use app::{App, AppOptions};
use effect::{Effect, Handover};
use runner::Runner;

/// Opens the backend of an endpoint named in `:endpoint NAME` (a name or a URL), or says
/// why it cannot.
pub type Connect = Box<dyn Fn(&str) -> Result<AnyBackend, String>>;

/// Runs the TUI until the user quits. The terminal is restored on return and on panic.
pub async fn run(backend: AnyBackend, options: AppOptions, connect: Connect) -> io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let mouse = options.ui.mouse;
    capture(true, mouse)?;
    let result = event_loop(&mut terminal, backend, options, connect).await;
    let released = capture(false, mouse);
    ratatui::try_restore()?;
    released?;
    result
}

/// Takes (or gives back) pasted text as one event, and the mouse when `mouse`.
fn capture(on: bool, mouse: bool) -> io::Result<()> {
    use crossterm::event::{
        DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    };
    let mut out = io::stdout();
    if on {
        crossterm::execute!(out, EnableBracketedPaste)?;
        if mouse {
            crossterm::execute!(out, EnableMouseCapture)?;
        }
    } else {
        if mouse {
            crossterm::execute!(out, DisableMouseCapture)?;
        }
        crossterm::execute!(out, DisableBracketedPaste)?;
    }
    Ok(())
}

/// How long the loop takes messages already waiting before it draws.
const DRAIN_FOR: Duration = Duration::from_millis(4);

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut backend: AnyBackend,
    options: AppOptions,
    connect: Connect,
) -> io::Result<()> {
    let tick_every = Duration::from_millis(options.ui.tick_rate_ms);
    let refresh_every = Duration::from_millis(options.ui.refresh_interval_ms);
    let mouse = options.ui.mouse;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(backend.clone(), tx);
    let mut app = App::new(options);
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    for effect in app.start() {
        runner.run(effect);
    }

    let mut frames = frames::FrameLog::from_env();
    let mut input = Some(EventStream::new());
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Not an interval: the next refresh waits longer after a slow one.
    let refresh = tokio::time::sleep(app.refresh_after(refresh_every));
    tokio::pin!(refresh);

    loop {
        if app.dirty {
            terminal.draw(|frame| draw::draw(frame, &app))?;
            app.dirty = false;
            frames.drawn();
        }
        if app.quit {
            return Ok(());
        }
        // Keys first, and the timers before the backend's messages, so that a session
        // flooding its pane (`yes`) delays neither.
        let action = tokio::select! {
            biased;
            event = async { input.as_mut()?.next().await } => match event {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => Action::Key(key),
                Some(Ok(TermEvent::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(TermEvent::Mouse(m))) => Action::Mouse(m),
                Some(Ok(TermEvent::Paste(text))) => Action::Paste(text),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            _ = tick.tick() => Action::Tick,
            _ = &mut refresh => {
                let next = tokio::time::Instant::now() + app.refresh_after(refresh_every);
                refresh.as_mut().reset(next);
                Action::Refresh
            }
            Some(action) = rx.recv() => action,
        };
        let key = matches!(action, Action::Key(_));
        if key {
            frames.key();
        }
        let mut effects = app.update(action);
        // Take what is already waiting before drawing once, for a few milliseconds at most
        // so that a flood of output is drawn as it goes; a key is drawn at once.
        let drain_until = std::time::Instant::now() + if key { Duration::ZERO } else { DRAIN_FOR };
        while std::time::Instant::now() < drain_until {
            let Ok(action) = rx.try_recv() else { break };
            effects.extend(app.update(action));
        }
        if std::mem::take(&mut app.refresh_rescheduled) {
            refresh
                .as_mut()
                .reset(tokio::time::Instant::now() + app.refresh_after(refresh_every));
        }
        while !effects.is_empty() {
            let mut next = Vec::new();
            for effect in effects {
                match effect {
                    Effect::Handover(h) => {
                        let (text, error) =
                            handover(terminal, &mut input, &backend, &h, mouse).await?;
                        next.extend(app.handover_ended(text, error));
                    }
                    Effect::SwitchEndpoint(name) => match connect(&name) {
                        Ok(opened) => {
                            // A new runner and channel: the old one's streams, sessions and
                            // answers still on their way go with them.
                            let (new_tx, new_rx) = mpsc::unbounded_channel();
                            rx = new_rx;
                            runner = Runner::new(opened.clone(), new_tx);
                            backend = opened;
                            next.extend(
                                app.switched_endpoint(backend.endpoint_label(), backend.is_demo()),
                            );
                        }
                        Err(why) => app.endpoint_failed(&name, why),
                    },
                    other => runner.run(other),
                }
            }
            effects = next;
        }
        frames.handled();
    }
}

/// Leaves the TUI, runs a shell or attach session on the real terminal, and comes back.
/// Returns the message for the status bar.
async fn handover(
    terminal: &mut ratatui::DefaultTerminal,
    input: &mut Option<EventStream>,
    backend: &AnyBackend,
    h: &Handover,
    mouse: bool,
) -> io::Result<(String, bool)> {
    // Stop reading terminal events so the session gets every key, and the mouse is the
    // terminal's again.
    *input = None;
    capture(false, mouse)?;
    ratatui::try_restore()?;
    let outcome = session_on_terminal(backend, h).await;
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    capture(true, mouse)?;
    terminal.clear()?;
    *input = Some(EventStream::new());
    Ok(match outcome {
        Ok(text) => (text, false),
        Err(e) => (format!("{}: {e:#}", h.name), true),
    })
}

async fn session_on_terminal(backend: &AnyBackend, h: &Handover) -> anyhow::Result<String> {
    use crate::backend::prelude::*;
    use crate::model::ExecSpec;
    if h.attach {
        let tty = backend.inspect_container(&h.id).await?.tty;
        println!("attached to {}; detach with ctrl-p ctrl-q", h.name);
        let s = backend.attach(&h.id, true).await?;
        crate::session::drive(backend, s, tty).await?;
        let now = backend.inspect_container(&h.id).await?.summary;
        return Ok(if now.state.is_alive() {
            format!("detached from {}", h.name)
        } else {
            format!("{} exited with code {}", h.name, now.exit_code.unwrap_or(0))
        });
    }
    let (shell, cmd) = if h.command.is_empty() {
        let shell = crate::session::pick_shell(backend, &h.id).await;
        println!(
            "{shell} in {}; type exit or press ctrl-d to return to dockhand",
            h.name
        );
        (shell.clone(), vec![shell])
    } else {
        (h.command.join(" "), h.command.clone())
    };
    let spec = ExecSpec {
        cmd,
        tty: true,
        stdin: true,
        ..ExecSpec::default()
    };
    let s = backend.exec(&h.id, spec).await?;
    let code = crate::session::drive(backend, s, true).await?;
    Ok(format!("{shell} in {} ended (exit {code})", h.name))
}
