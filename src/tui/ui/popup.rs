//! Drawing of the dialogs: help, confirmation, error.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Padding, Paragraph, Wrap};

use crate::tui::app::App;
use crate::tui::dialog::Confirm;
use crate::tui::keymap::Command;
use crate::tui::layout::centered;

fn frame_block<'a>(title: &'a str, border: Style) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Span::styled(title, border.add_modifier(Modifier::BOLD)))
}

/// The help overlay: every command with the keys bound to it now.
pub fn help(frame: &mut Frame, app: &App) {
    let t = &app.theme;
    let area = frame.area();
    let two_columns = area.width >= 70;
    let per_column = if two_columns {
        Command::ALL.len().div_ceil(2)
    } else {
        Command::ALL.len()
    };
    let width = if two_columns { 78 } else { 40 };
    let popup = centered(area, width, per_column as u16 + 4);
    frame.render_widget(Clear, popup);
    let block = frame_block(" Help: keys in force ", Style::default().fg(t.accent.0));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let entry = |c: &Command| {
        let keys = app.keymap.label(*c);
        let keys = if keys.is_empty() {
            "(unbound)".to_string()
        } else {
            keys
        };
        Line::from(vec![
            Span::styled(format!("{keys:>12} "), t.key()),
            Span::raw(c.help()),
        ])
    };
    let columns: Vec<&[Command]> = Command::ALL.chunks(per_column).collect();
    let areas = Layout::horizontal(vec![
        Constraint::Ratio(1, columns.len() as u32);
        columns.len()
    ])
    .split(body);
    for (chunk, area) in columns.iter().zip(areas.iter()) {
        let lines: Vec<Line> = chunk.iter().map(entry).collect();
        frame.render_widget(Paragraph::new(lines), *area);
    }
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
