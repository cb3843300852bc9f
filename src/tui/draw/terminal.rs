//! The terminal pane in the detail area: the sessions as tabs in its title (the one in
//! front highlighted, an ended one marked), the screen of the session in front through
//! tui-term's widget over its vt100 screen, with the cursor where its program put it while
//! the pane has the keyboard, how it ended on its last line once it has, and the keys that
//! matter on the right of the title.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use tui_term::widget::PseudoTerminal;

use crate::tui::app::App;
use crate::tui::keymap::Command;

/// Draws the terminal pane in `area`.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let terms = &app.terminals;
    let focused = terms.focused && app.dialog.is_none();
    let mut tabs = Vec::new();
    for (i, s) in terms.sessions().iter().enumerate() {
        let mark = if s.ended.is_some() { " ■" } else { "" };
        let style = if i == terms.active_index() {
            Style::default().fg(t.accent.0).add_modifier(Modifier::BOLD)
        } else {
            t.muted()
        };
        tabs.push(Span::styled(
            format!(" {} {}{mark} ", i + 1, s.title),
            style,
        ));
        tabs.push(Span::styled("│", t.muted()));
    }
    tabs.pop();
    let key = |c: Command| app.keymap.first_key(c).unwrap_or_default();
    let hint = if focused {
        format!(" {} back to the list ", key(Command::TermLeave))
    } else {
        format!(
            " {} types here · {} {} sessions · {} hides ",
            key(Command::Focus),
            key(Command::PrevTab),
            key(Command::NextTab),
            key(Command::Terminals)
        )
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(Line::from(tabs))
        .title(Line::from(Span::styled(hint, t.key())).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(session) = terms.active() else {
        return;
    };
    let mut widget = PseudoTerminal::new(session.screen());
    if !focused || session.scrolled() > 0 || session.ended.is_some() {
        widget = widget.cursor(tui_term::widget::Cursor::default().visibility(false));
    }
    frame.render_widget(widget, inner);
    let note = match (&session.ended, session.scrolled()) {
        (Some(how), _) => Some(format!(" {how} · a key closes it ")),
        (None, n) if n > 0 => Some(format!(" {n} lines back · shift-pgdn goes down ")),
        _ => None,
    };
    if let Some(note) = note {
        let last = Rect::new(inner.x, inner.bottom().saturating_sub(1), inner.width, 1);
        frame.render_widget(Clear, last);
        frame.render_widget(
            Paragraph::new(Span::styled(note, t.status().add_modifier(Modifier::BOLD))),
            last,
        );
    }
}
