//! Drawing of the dialogs: help, confirmation, error, forms, pull and build progress.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Padding, Paragraph, Wrap};

use crate::model::PullStatus;
use crate::tui::app::App;
use crate::tui::build::{BuildState, StepStatus};
use crate::tui::dialog::{Confirm, PullState};
use crate::tui::form::Form;
use crate::tui::keymap::Command;
use crate::tui::layout::centered;
use crate::util::units::human_size;

fn frame_block<'a>(title: &'a str, border: Style) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Span::styled(title, border.add_modifier(Modifier::BOLD)))
}

/// The help overlay: every command with the keys bound to it now, scrolled down `scroll`
/// rows when they do not all fit.
pub fn help(frame: &mut Frame, app: &App, scroll: usize) {
    let t = &app.theme;
    let layout = crate::tui::layout::help(frame.area(), crate::tui::layout::help_entries());
    let scroll = scroll.min(layout.max_scroll());
    let popup = layout.popup;
    frame.render_widget(Clear, popup);
    let block = frame_block(" Help: keys in force ", Style::default().fg(t.accent.0));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [body, more, footer] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    // The keys in force, then the `:` commands (left-aligned: their names are long).
    let entries: Vec<(String, &str, bool)> = Command::ALL
        .iter()
        .map(|c| {
            let keys = app.keymap.label(*c);
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys
            };
            (keys, c.help(), false)
        })
        .chain(
            crate::tui::palette::COMMANDS
                .iter()
                .map(|s| (format!(":{}", s.name), s.help, true)),
        )
        .collect();
    let columns: Vec<&[(String, &str, bool)]> = entries.chunks(layout.per_column).collect();
    let areas = Layout::horizontal(vec![
        Constraint::Ratio(1, columns.len() as u32);
        columns.len()
    ])
    .split(body);
    for (chunk, area) in columns.iter().zip(areas.iter()) {
        // Each column's keys as wide as its widest, so the texts get the rest.
        let width = chunk
            .iter()
            .filter(|(_, _, command)| !command)
            .map(|(k, _, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let lines: Vec<Line> = chunk
            .iter()
            .skip(scroll)
            .take(layout.visible)
            .map(|(keys, help, command)| {
                let keys = if *command {
                    format!(" {keys} ")
                } else {
                    format!(" {keys:>width$} ")
                };
                Line::from(vec![Span::styled(keys, t.key()), Span::raw(*help)])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), *area);
    }
    let below = layout.per_column - layout.visible - scroll;
    let position = match (scroll, below) {
        (0, 0) => String::new(),
        (_, 0) => format!(" ↑ {scroll} more above (k/↑)"),
        (0, _) => format!(" ↓ {below} more below (j/↓)"),
        _ => format!(" ↑ {scroll} more above, ↓ {below} below (j/k)"),
    };
    frame.render_widget(Paragraph::new(Span::styled(position, t.key())), more);
    frame.render_widget(
        Paragraph::new(Span::styled(
            " dialogs: y/enter yes · n/esc no   filter: enter keep · esc clear",
            t.muted(),
        )),
        footer,
    );
}

/// A rounded box of `width` in the middle of the screen, as tall as its wrapped lines.
fn text_box(frame: &mut Frame, title: &str, border: Style, width: u16, lines: Vec<Line>) {
    let width = width.min(frame.area().width);
    let text_width = width.saturating_sub(4).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(text_width).max(1))
        .sum();
    let popup = centered(frame.area(), width, rows as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(frame_block(title, border).padding(Padding::horizontal(1)))
            .wrap(Wrap { trim: false }),
        popup,
    );
}

/// A yes/no question before a destructive action.
pub fn confirm(frame: &mut Frame, app: &App, confirm: &Confirm) {
    let t = &app.theme;
    let mut lines: Vec<Line> = confirm
        .lines
        .iter()
        .map(|l| Line::raw(l.as_str()))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("y", t.key()),
        Span::raw(" yes    "),
        Span::styled("n", t.key()),
        Span::raw(" no"),
    ]));
    text_box(frame, &format!(" {} ", confirm.title), t.error(), 64, lines);
}

/// A failure shown until dismissed.
pub fn error(frame: &mut Frame, app: &App, text: &str) {
    let t = &app.theme;
    let mut lines: Vec<Line> = text.lines().map(Line::raw).collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("enter", t.key()),
        Span::raw(" close"),
    ]));
    text_box(frame, " Error ", t.error(), 72, lines);
}

/// A form: one labelled line per field, the reason of a refused submit, and the keys.
pub fn form(frame: &mut Frame, app: &App, form: &Form) {
    let t = &app.theme;
    let height = form.fields.len() as u16 + 6;
    let popup = centered(frame.area(), 76, height);
    frame.render_widget(Clear, popup);
    let title = form.title();
    let block = frame_block(&title, Style::default().fg(t.accent.0));
    let inner = block.inner(popup).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, popup);
    let mut rows = vec![Constraint::Length(1); form.fields.len()];
    rows.extend([
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ]);
    let areas = Layout::vertical(rows).split(inner);
    let label_width = form.fields.iter().map(|f| f.label.len()).max().unwrap_or(0);
    for (i, f) in form.fields.iter().enumerate() {
        let [label, value] = Layout::horizontal([
            Constraint::Length(label_width as u16 + 2),
            Constraint::Min(1),
        ])
        .areas(areas[i]);
        let focused = i == form.focus;
        let style = if focused { t.key() } else { t.muted() };
        frame.render_widget(
            Paragraph::new(Span::styled(format!("{:>label_width$}: ", f.label), style)),
            label,
        );
        if focused {
            frame.render_widget(&f.input, value);
        } else {
            let text = f.input.lines().join("");
            let shown = if text.is_empty() {
                Span::styled(f.hint, t.muted())
            } else {
                Span::raw(text)
            };
            frame.render_widget(Paragraph::new(shown), value);
        }
    }
    let n = form.fields.len();
    if let Some(err) = &form.error {
        frame.render_widget(
            Paragraph::new(Span::styled(err.as_str(), t.error())).wrap(Wrap { trim: true }),
            areas[n + 1],
        );
    }
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("tab", t.key()),
            Span::raw(" next field  "),
            Span::styled("enter", t.key()),
            Span::raw(" submit  "),
            Span::styled("esc", t.key()),
            Span::raw(" cancel"),
        ])),
        areas[n + 2],
    );
}

/// A pull in progress: one line per layer with a bar, then the outcome.
pub fn pull(frame: &mut Frame, app: &App, state: &PullState) {
    let t = &app.theme;
    let rows = state
        .layers
        .len()
        .min(frame.area().height.saturating_sub(8) as usize);
    let popup = centered(frame.area(), 76, rows as u16 + 5);
    frame.render_widget(Clear, popup);
    let title = format!(" Pulling {} ", state.reference);
    let block = frame_block(&title, Style::default().fg(t.accent.0));
    let mut lines: Vec<Line> = state
        .layers
        .iter()
        .rev()
        .take(rows)
        .rev()
        .map(|(id, status)| layer_line(id, status, t))
        .collect();
    if state.layers.is_empty() && state.finished.is_none() {
        lines.push(Line::styled("resolving…", t.muted()));
    }
    lines.push(Line::raw(""));
    lines.push(match &state.finished {
        None => Line::styled("esc hides this; the pull goes on", t.muted()),
        Some(Ok(digest)) => Line::from(vec![
            Span::styled("done ", Style::default().fg(t.running.0)),
            Span::styled(digest.as_str(), t.muted()),
            Span::raw("  "),
            Span::styled("enter", t.key()),
            Span::raw(" close"),
        ]),
        Some(Err(e)) => Line::styled(format!("failed: {e}"), t.error()),
    });
    frame.render_widget(
        Paragraph::new(lines)
            .block(block.padding(Padding::horizontal(1)))
            .wrap(Wrap { trim: false }),
        popup,
    );
}

fn layer_line<'a>(id: &'a str, status: &PullStatus, t: &crate::tui::theme::Theme) -> Line<'a> {
    let bar = |current: u64, total: Option<u64>| {
        let width = 24usize;
        let filled = total
            .filter(|t| *t > 0)
            .map(|t| (current.min(t) as usize * width) / t as usize)
            .unwrap_or(0);
        format!(
            "[{}{}] {}/{}",
            "=".repeat(filled),
            " ".repeat(width - filled),
            human_size(current),
            total.map(human_size).unwrap_or_else(|| "?".into())
        )
    };
    let (word, detail) = match status {
        PullStatus::Waiting => ("Waiting", String::new()),
        PullStatus::AlreadyExists => ("Already exists", String::new()),
        PullStatus::Downloading { current, total } => ("Downloading", bar(*current, *total)),
        PullStatus::Verifying => ("Verifying", String::new()),
        PullStatus::Extracting { current, total } => ("Extracting", bar(*current, *total)),
        PullStatus::Complete => ("Pull complete", String::new()),
        PullStatus::Done { .. } => ("Done", String::new()),
    };
    let colour = match status {
        PullStatus::Complete | PullStatus::AlreadyExists => t.running.0,
        _ => t.accent.0,
    };
    Line::from(vec![
        Span::styled(format!("{id:<13}"), t.muted()),
        Span::styled(format!("{word:<15}"), Style::default().fg(colour)),
        Span::raw(detail),
    ])
}

/// A build in progress: its steps (the latest that fit), the latest output, the outcome.
pub fn build(frame: &mut Frame, app: &App, state: &BuildState) {
    let t = &app.theme;
    let mut footer_lines: Vec<Line> = Vec::new();
    if let Some(w) = state.warnings.last() {
        footer_lines.push(Line::styled(format!("warning: {w}"), t.muted()));
    }
    match &state.finished {
        None => footer_lines.push(Line::from(vec![
            Span::styled("esc", t.key()),
            Span::raw(" cancels the build (nothing is tagged)"),
        ])),
        Some(Ok(id)) => footer_lines.push(Line::from(vec![
            Span::styled("built ", Style::default().fg(t.running.0)),
            Span::styled(short_id(id), t.muted()),
            Span::raw("  "),
            Span::styled("enter", t.key()),
            Span::raw(" close"),
        ])),
        Some(Err(e)) => {
            let mut first = true;
            for l in e.lines().take(8) {
                let text = if first {
                    format!("failed: {l}")
                } else {
                    l.to_string()
                };
                first = false;
                footer_lines.push(Line::styled(text, t.error()));
            }
        }
    }
    // As tall as what it shows, up to the screen: steps take what the output (up to a third)
    // and the footer leave.
    let area = frame.area();
    let wanted = state.steps.len().max(1) + state.output.len().min(8) + footer_lines.len() + 2;
    let height = (wanted as u16).min(area.height.saturating_sub(2)).max(6);
    let popup = centered(area, 96.min(area.width), height);
    frame.render_widget(Clear, popup);
    let title = format!(" Building {} ", state.title);
    let block =
        frame_block(&title, Style::default().fg(t.accent.0)).padding(Padding::horizontal(1));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let footer_rows = (footer_lines.len() as u16).min(inner.height / 2);
    let output_rows = (inner.height / 3).min(state.output.len() as u16);
    let [steps_area, output_area, footer] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(output_rows),
        Constraint::Length(footer_rows),
    ])
    .areas(inner);
    let shown = steps_area.height as usize;
    let mut lines: Vec<Line> = state
        .steps
        .iter()
        .skip(state.steps.len().saturating_sub(shown))
        .map(|s| {
            let (word, style) = match s.status {
                StepStatus::Running => ("…".to_string(), Style::default().fg(t.accent.0)),
                StepStatus::Cached => ("CACHED".to_string(), Style::default().fg(t.running.0)),
                StepStatus::Done(secs) => (format!("{secs:.1}s"), t.muted()),
            };
            Line::from(vec![
                Span::styled(format!("#{:<3}", s.number), t.muted()),
                Span::styled(format!("{word:>7} "), style),
                Span::raw(s.name.clone()),
            ])
        })
        .collect();
    if state.steps.is_empty() && state.running() {
        lines.push(Line::styled("reading the Dockerfile…", t.muted()));
    }
    frame.render_widget(Paragraph::new(lines), steps_area);
    let output: Vec<Line> = state
        .output
        .iter()
        .skip(state.output.len().saturating_sub(output_rows as usize))
        .map(|l| Line::styled(format!("  {l}"), t.muted()))
        .collect();
    frame.render_widget(Paragraph::new(output), output_area);
    frame.render_widget(Paragraph::new(footer_lines), footer);
}

/// `sha256:` and the first 12 digits of an id.
fn short_id(id: &str) -> String {
    let hex = id.trim_start_matches("sha256:");
    format!("sha256:{}", &hex[..hex.len().min(12)])
}
