//! Drawing. Everything here reads the [`App`] and writes to the frame: no I/O, no waiting.

mod detail;
mod list;
mod popup;
mod stats;
mod terminal;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Connection, Mode};
use super::dialog::Dialog;
use super::keymap::Command;
use super::layout;
use super::panes::PaneKind;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    frame.render_widget(Paragraph::new("").style(app.theme.base()), area);
    let areas = layout::split(area);
    header(frame, app, areas.header);
    list::draw(frame, app, areas.list);
    if app.terminals.shown {
        terminal::draw(frame, app, areas.detail);
    } else {
        detail::draw(frame, app, areas.detail);
    }
    status(frame, app, areas.status);
    match &app.dialog {
        Some(Dialog::Help(scroll)) => popup::help(frame, app, *scroll),
        Some(Dialog::Confirm(c)) => popup::confirm(frame, app, c),
        Some(Dialog::Error(text)) => popup::error(frame, app, text),
        Some(Dialog::Form(form)) => popup::form(frame, app, form),
        Some(Dialog::Pull(state)) => popup::pull(frame, app, state),
        Some(Dialog::Build(state)) => popup::build(frame, app, state),
        None => {}
    }
}

fn header(frame: &mut Frame, app: &App, area: ratatui::layout::Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::styled(
        " dockhand ",
        Style::default().fg(t.accent.0).add_modifier(Modifier::BOLD),
    )];
    for pane in PaneKind::ALL {
        let text = app.pane_label(pane);
        let style = if pane == app.pane {
            t.selection()
        } else {
            t.muted()
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(text, style));
    }
    let mut right: Vec<Span> = Vec::new();
    if let Connection::Unreachable(_) = app.connection {
        right.push(Span::styled(
            " ⚠ stale ",
            t.error().add_modifier(Modifier::BOLD),
        ));
    }
    if app.demo {
        right.push(Span::styled(
            " DEMO DATA ",
            Style::default()
                .fg(t.selection_fg.0)
                .bg(t.demo.0)
                .add_modifier(Modifier::BOLD),
        ));
    }
    let right_width: u16 = right.iter().map(|s| s.width() as u16).sum();
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left_area);
    frame.render_widget(Paragraph::new(Line::from(right)), right_area);
}

fn status(frame: &mut Frame, app: &App, area: ratatui::layout::Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::styled(
        format!(" {} ", app.endpoint),
        t.status().add_modifier(Modifier::BOLD),
    )];
    if let Connection::Unreachable(why) = &app.connection {
        spans.push(Span::styled(format!(" unreachable: {why} "), t.error()));
    }
    spans.push(Span::raw(" "));
    if app.mode == Mode::Filter {
        spans.push(Span::styled("filter: ", t.key()));
        spans.push(Span::raw(app.current_filter().to_string()));
        spans.push(Span::styled("█", t.key()));
        spans.push(Span::styled("  enter keep · esc clear", t.muted()));
    } else if app.terminals.shown && app.terminals.focused && app.dialog.is_none() {
        let title = app
            .terminals
            .active()
            .map(|s| s.title.clone())
            .unwrap_or_default();
        spans.push(Span::styled(format!("{title}: "), t.key()));
        spans.push(Span::styled(
            format!(
                "keys go to it · {} back to the list · shift-pgup/pgdn scroll",
                app.keymap.first_key(Command::TermLeave).unwrap_or_default()
            ),
            t.muted(),
        ));
    } else if app.mode == Mode::Palette {
        spans.push(Span::styled(":", t.key()));
        spans.push(Span::raw(app.palette.text.clone()));
        spans.push(Span::styled("█", t.key()));
        let hint = if app.palette.candidates.is_empty() {
            let first = app
                .palette
                .text
                .split_whitespace()
                .next()
                .unwrap_or_default();
            match crate::tui::palette::find(first) {
                Some(s) if !s.usage.is_empty() => format!("  :{} {}", s.name, s.usage),
                _ => "  tab complete · ↑↓ history · enter run · esc close".to_string(),
            }
        } else {
            format!("  {}", app.palette.candidates.join(" · "))
        };
        spans.push(Span::styled(hint, t.muted()));
    } else if app.mode == Mode::Search {
        spans.push(Span::styled(
            format!("search {}: ", app.tab().title()),
            t.key(),
        ));
        spans.push(Span::raw(app.search_text().to_string()));
        spans.push(Span::styled("█", t.key()));
        let count = if app.tab() == super::detail::Tab::Logs {
            format!("  {} matches ·", app.detail.logs.match_count())
        } else {
            String::new()
        };
        spans.push(Span::styled(
            format!("{count} enter jump · esc clear"),
            t.muted(),
        ));
    } else if let Some(m) = &app.message {
        let style = if m.error {
            t.error()
        } else {
            Style::default().fg(t.running.0)
        };
        spans.push(Span::styled(m.text.replace('\n', " · "), style));
    } else {
        spans.extend(hints(app));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Key hints for the pane in front, from the bindings in force.
fn hints(app: &App) -> Vec<Span<'static>> {
    let commands: &[(Command, &str)] = match app.pane {
        PaneKind::Containers => &[
            (Command::StartStop, "start/stop"),
            (Command::Restart, "restart"),
            (Command::Remove, "remove"),
            (Command::Shell, "shell"),
            (Command::Logs, "logs"),
            (Command::Filter, "filter"),
            (Command::Help, "help"),
            (Command::Quit, "quit"),
        ],
        _ => &[
            (Command::Remove, "remove"),
            (Command::Inspect, "inspect"),
            (Command::Filter, "filter"),
            (Command::Help, "help"),
            (Command::Quit, "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (command, what) in commands {
        if let Some(key) = app.keymap.first_key(*command) {
            spans.push(Span::styled(key, app.theme.key()));
            spans.push(Span::styled(format!(" {what}  "), app.theme.muted()));
        }
    }
    spans
}
