//! Drawing of the detail area: the tab bar and the body of the current tab.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table, Wrap};

use crate::model::LogStream;
use crate::tui::app::{App, Focus};
use crate::tui::detail::Tab;
use crate::tui::theme::Theme;
use crate::util::time::{ago, rfc3339_nanos};
use crate::util::units::human_size;

/// Draws the detail area.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    if area.height < 3 {
        return;
    }
    let t = &app.theme;
    let current = app.tab();
    let mut tabs = vec![Span::raw(" ")];
    for (i, tab) in Tab::for_pane(app.pane).iter().enumerate() {
        if i > 0 {
            tabs.push(Span::styled(" │ ", t.muted()));
        }
        let style = if *tab == current {
            Style::default()
                .fg(t.accent.0)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            t.muted()
        };
        tabs.push(Span::styled(tab.title(), style));
    }
    tabs.push(Span::raw(" "));
    let mut right = Vec::new();
    if let Some(target) = &app.detail.target {
        if current == Tab::Logs {
            let logs = &app.detail.logs;
            let flag = |on: bool, name: &'static str| {
                Span::styled(format!("{name} "), if on { t.key() } else { t.muted() })
            };
            if !logs.search().is_empty() {
                right.push(Span::styled(
                    format!("/{} {} ", logs.search(), logs.match_count()),
                    Style::default().fg(t.highlight.0),
                ));
            }
            right.push(flag(logs.only_matches, "only"));
            right.push(flag(logs.follow, "follow"));
            right.push(flag(logs.timestamps, "time"));
            right.push(flag(logs.wrap, "wrap"));
            right.push(flag(logs.pretty, "json"));
        }
        right.push(Span::styled(
            format!(" {} ", target.label),
            Style::default().add_modifier(Modifier::BOLD),
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(app.focus == Focus::Detail && app.dialog.is_none()))
        .title(Line::from(tabs))
        .title(Line::from(right).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let detail = &app.detail;
    if detail.target.is_none() {
        let text = match app.containers.selected_group() {
            Some(g) if app.pane == crate::tui::panes::PaneKind::Containers => format!(
                "compose project {}: {} of {} running; l shows their logs merged, and start/stop, restart, remove act on all of them; z folds it",
                g.name, g.up, g.total
            ),
            _ => format!("no {} selected", app.pane.noun()),
        };
        return placeholder(frame, t, inner, text);
    }
    if let Some(err) = &detail.error {
        frame.render_widget(
            Paragraph::new(Span::styled(err.clone(), t.error())).wrap(Wrap { trim: false }),
            inner,
        );
        return;
    }
    match current {
        Tab::Logs => logs(frame, app, inner),
        Tab::Stats => super::stats::draw(frame, app, inner),
        Tab::Inspect => inspect(frame, app, inner),
        Tab::Env => env(frame, app, inner),
        Tab::Ports => ports(frame, app, inner),
        Tab::Top => top(frame, app, inner),
        Tab::History => history(frame, app, inner),
    }
}

pub(super) fn placeholder(frame: &mut Frame, t: &Theme, area: Rect, text: String) {
    frame.render_widget(
        Paragraph::new(Span::styled(text, t.muted())).wrap(Wrap { trim: true }),
        area,
    );
}

fn logs(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let view = &app.detail.logs;
    if view.is_empty() {
        let text = match &view.ended {
            Some(why) => format!("no output ({why})"),
            None => "waiting for output…".to_string(),
        };
        return placeholder(frame, t, area, text);
    }
    let current = view.current_match();
    let lines: Vec<Line> = view
        .visible(area.width as usize, area.height as usize)
        .into_iter()
        .flat_map(|(seq, l)| {
            let mut prefix = Vec::with_capacity(4);
            if let Some((_, name)) = view.source(seq) {
                let width = view.prefix_width() - 3;
                prefix.push(Span::styled(
                    format!("{name:<width$}"),
                    Style::default().fg(crate::tui::theme::source_color(name)),
                ));
                prefix.push(Span::styled(" │ ", t.muted()));
            }
            if view.timestamps {
                prefix.push(Span::styled(
                    format!("{} ", rfc3339_nanos(l.timestamp_ns)),
                    t.muted(),
                ));
            }
            let style = match l.stream {
                LogStream::Stdout => Style::default(),
                LogStream::Stderr => t.error(),
            };
            let found = Style::default().fg(t.selection_fg.0).bg(t.highlight.0);
            let found = if current == Some(seq) {
                found.add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            } else {
                found
            };
            let Some(pretty) = view.pretty_text(l) else {
                let mut spans = prefix;
                spans.extend(highlight(&l.text, view.search(), style, found));
                return vec![Line::from(spans)];
            };
            // A JSON line pretty-printed: its first line after the prefix, the rest under it.
            let pad: usize = prefix.iter().map(Span::width).sum();
            pretty
                .lines()
                .enumerate()
                .map(|(i, text)| {
                    let mut spans = if i == 0 {
                        prefix.clone()
                    } else {
                        vec![Span::raw(" ".repeat(pad))]
                    };
                    spans.extend(
                        highlight(text, view.search(), style, found)
                            .into_iter()
                            .map(|s| Span::styled(s.content.into_owned(), s.style)),
                    );
                    Line::from(spans)
                })
                .collect()
        })
        .collect();
    let mut paragraph = Paragraph::new(lines);
    if view.wrap {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    frame.render_widget(paragraph, area);
}

/// Splits `text` into spans, styling each (ASCII case-insensitive) occurrence of `needle`.
fn highlight<'a>(text: &'a str, needle: &str, normal: Style, found: Style) -> Vec<Span<'a>> {
    if needle.is_empty() {
        return vec![Span::styled(text, normal)];
    }
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(pos) = lower[at..].find(needle) {
        let start = at + pos;
        let end = start + needle.len();
        if start > at {
            spans.push(Span::styled(&text[at..start], normal));
        }
        spans.push(Span::styled(&text[start..end], found));
        at = end;
    }
    if at < text.len() {
        spans.push(Span::styled(&text[at..], normal));
    }
    spans
}

fn inspect(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let d = &app.detail;
    if d.inspect_lines.is_empty() {
        return placeholder(frame, t, area, "loading…".into());
    }
    let height = area.height as usize;
    let start = d.scroll.min(d.inspect_lines.len().saturating_sub(height));
    let needle = d.inspect_search.to_ascii_lowercase();
    let lines: Vec<Line> = d.inspect_lines[start..]
        .iter()
        .take(height)
        .enumerate()
        .map(|(i, l)| {
            if needle.is_empty() || !l.to_ascii_lowercase().contains(&needle) {
                return json_line(l, t);
            }
            let mut found = Style::default().fg(t.selection_fg.0).bg(t.highlight.0);
            if d.inspect_current == Some(start + i) {
                found = found.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
            }
            Line::from(highlight(l, &needle, Style::default(), found))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// Colours the key of a pretty-printed JSON line.
fn json_line<'a>(line: &'a str, t: &Theme) -> Line<'a> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    if rest.starts_with('"') {
        if let Some(end) = rest.find("\": ") {
            return Line::from(vec![
                Span::raw(&line[..indent]),
                Span::styled(&rest[..end + 1], Style::default().fg(t.accent.0)),
                Span::raw(&rest[end + 1..]),
            ]);
        }
    }
    Line::raw(line)
}

/// A table of strings with a header, scrolled by the detail scroll position.
fn text_table(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    header: &[&str],
    widths: &[Constraint],
    rows: Vec<Vec<String>>,
) {
    let height = area.height.saturating_sub(1) as usize;
    let start = app.detail.scroll.min(rows.len().saturating_sub(height));
    let body = rows
        .into_iter()
        .skip(start)
        .take(height)
        .map(|r| TableRow::new(r.into_iter().map(Cell::from)));
    let table = Table::new(body, widths.to_vec())
        .header(TableRow::new(header.iter().map(|h| Cell::from(*h))).style(app.theme.header()))
        .column_spacing(2);
    frame.render_widget(table, area);
}

fn env(frame: &mut Frame, app: &App, area: Rect) {
    let Some(c) = &app.detail.container else {
        return placeholder(frame, &app.theme, area, "loading…".into());
    };
    let rows = c
        .env
        .iter()
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            vec![k.to_string(), v.to_string()]
        })
        .collect();
    text_table(
        frame,
        app,
        area,
        &["VARIABLE", "VALUE"],
        &[Constraint::Percentage(35), Constraint::Fill(1)],
        rows,
    );
}

fn ports(frame: &mut Frame, app: &App, area: Rect) {
    let Some(c) = &app.detail.container else {
        return placeholder(frame, &app.theme, area, "loading…".into());
    };
    if c.summary.ports.is_empty() {
        return placeholder(frame, &app.theme, area, "no ports exposed".into());
    }
    let rows = c
        .summary
        .ports
        .iter()
        .map(|p| {
            vec![
                format!("{}/{}", p.container_port, p.protocol),
                p.host_ip.clone().unwrap_or_else(|| "-".into()),
                p.host_port
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "not published".into()),
            ]
        })
        .collect();
    text_table(
        frame,
        app,
        area,
        &["CONTAINER PORT", "HOST IP", "HOST PORT"],
        &[
            Constraint::Length(16),
            Constraint::Length(16),
            Constraint::Fill(1),
        ],
        rows,
    );
}

fn top(frame: &mut Frame, app: &App, area: Rect) {
    let Some(top) = &app.detail.top else {
        return placeholder(frame, &app.theme, area, "loading…".into());
    };
    let titles: Vec<&str> = top.titles.iter().map(String::as_str).collect();
    let widths: Vec<Constraint> = titles
        .iter()
        .map(|t| match *t {
            "CMD" | "COMMAND" => Constraint::Fill(1),
            _ => Constraint::Length((t.len() as u16).max(6)),
        })
        .collect();
    text_table(frame, app, area, &titles, &widths, top.processes.clone());
}

fn history(frame: &mut Frame, app: &App, area: Rect) {
    let Some(history) = &app.detail.history else {
        return placeholder(frame, &app.theme, area, "loading…".into());
    };
    let rows = history
        .iter()
        .map(|h| {
            vec![
                h.id.strip_prefix("sha256:")
                    .map(|s| s[..12].to_string())
                    .unwrap_or_else(|| h.id.clone()),
                ago(h.created, app.now),
                h.created_by.clone(),
                human_size(h.size),
            ]
        })
        .collect();
    text_table(
        frame,
        app,
        area,
        &["IMAGE", "CREATED", "CREATED BY", "SIZE"],
        &[
            Constraint::Length(12),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Length(9),
        ],
        rows,
    );
}
