//! Drawing of the list of the pane in front: only the visible rows are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table};

use crate::tui::app::{App, Focus, Mode};
use crate::tui::keymap::Command;
use crate::tui::panes::{Group, Item, ListPane, PaneKind, Row, SPACING, shown_columns};

/// Draws the list of the pane in front.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    match app.pane {
        PaneKind::Containers => table(frame, app, area, &app.containers),
        PaneKind::Images => table(frame, app, area, &app.images),
        PaneKind::Volumes => table(frame, app, area, &app.volumes),
        PaneKind::Networks => table(frame, app, area, &app.networks),
    }
}

fn table<T: Row>(frame: &mut Frame, app: &App, area: Rect, pane: &ListPane<T>) {
    let t = &app.theme;
    let focused = app.focus == Focus::List && app.dialog.is_none();
    let mut title = vec![Span::styled(
        format!(" {} ", app.pane.title()),
        Style::default().fg(t.accent.0).add_modifier(Modifier::BOLD),
    )];
    let shown = pane.visible().len();
    if !pane.filter().is_empty() || app.mode == Mode::Filter {
        title.push(Span::styled(
            format!("/{} ", pane.filter()),
            Style::default().fg(t.highlight.0),
        ));
        title.push(Span::styled(
            format!("({shown} of {}) ", pane.rows().len()),
            t.muted(),
        ));
    }
    if pane.mark_count() > 0 {
        title.push(Span::styled(
            format!("{} marked ", pane.mark_count()),
            Style::default().fg(t.marked.0),
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(focused))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    if shown == 0 && pane.is_loaded() && pane.rows().is_empty() && app.images.is_loaded() {
        if let Some(lines) = greeting(app) {
            frame.render_widget(Paragraph::new(lines), inner);
            return;
        }
    }
    if shown == 0 {
        let text = if !pane.is_loaded() {
            "loading…".to_string()
        } else if pane.rows().is_empty() {
            format!("no {}s", app.pane.noun())
        } else {
            format!(
                "no {} matches \"{}\" (esc clears the filter)",
                app.pane.noun(),
                pane.filter()
            )
        };
        frame.render_widget(Paragraph::new(Span::styled(text, t.muted())), inner);
        return;
    }

    // One column of gutter for the mark.
    let cols = shown_columns(T::COLUMNS, inner.width);
    let (sort_col, desc) = pane.sort();
    let header = TableRow::new(std::iter::once(Cell::from("")).chain(cols.iter().map(|&c| {
        let mut title = T::COLUMNS[c].title.to_string();
        if c == sort_col {
            title.push(if desc { '▼' } else { '▲' });
        }
        Cell::from(title)
    })))
    .style(t.header());

    let body_height = inner.height.saturating_sub(1) as usize;
    let offset = pane.scroll_offset(body_height);
    let selected = pane.selected_index();
    let rows = pane
        .items()
        .enumerate()
        .skip(offset)
        .take(body_height)
        .map(|(i, item)| {
            let highlighted = i == selected && focused;
            let r = match item {
                Item::Group(g) => group_row(app, g, &cols, T::LABEL_COLUMN, highlighted),
                Item::Row(row, grouped) => {
                    let marked = pane.is_marked(row);
                    let gutter = Cell::from(if marked { "●" } else { " " })
                        .style(Style::default().fg(t.marked.0));
                    let cells = cols.iter().map(|&c| {
                        // The selection colours win over state colours, for contrast.
                        let style = if highlighted {
                            Style::default()
                        } else if marked {
                            Style::default().fg(t.marked.0)
                        } else {
                            row.style(c, t)
                        };
                        // A group's rows are indented under its header.
                        let indent = if grouped && c == T::LABEL_COLUMN {
                            "  "
                        } else {
                            ""
                        };
                        let text = row
                            .live_cell(c, &app.usage)
                            .unwrap_or_else(|| row.cell(c, app.now));
                        Cell::from(format!("{indent}{text}")).style(style)
                    });
                    TableRow::new(std::iter::once(gutter).chain(cells))
                }
            };
            if highlighted {
                r.style(t.selection())
            } else if i == selected {
                r.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                r
            }
        });
    let widths = std::iter::once(Constraint::Length(1)).chain(cols.iter().map(|&c| {
        let col = &T::COLUMNS[c];
        if col.grow {
            Constraint::Fill(col.width)
        } else {
            Constraint::Length(col.width)
        }
    }));
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(SPACING),
        inner,
    );
}

/// A group's header: folded or not, its name in the rows' label column (the first one shown
/// when that is not), and how many of its rows are up in the next.
fn group_row(
    app: &App,
    g: &Group,
    cols: &[usize],
    label: usize,
    highlighted: bool,
) -> TableRow<'static> {
    let t = &app.theme;
    let fold = if g.collapsed { "▸" } else { "▾" };
    let (name, muted) = if highlighted {
        (Style::default(), Style::default())
    } else {
        (
            Style::default().fg(t.accent.0).add_modifier(Modifier::BOLD),
            t.muted(),
        )
    };
    let at = cols.iter().position(|&c| c == label).unwrap_or(0);
    let cells = (0..cols.len()).map(|n| {
        if n == at {
            Cell::from(g.name.clone()).style(name)
        } else if n == at + 1 {
            Cell::from(format!("{}/{} running", g.up, g.total)).style(muted)
        } else {
            Cell::from("")
        }
    });
    TableRow::new(std::iter::once(Cell::from(fold).style(name)).chain(cells))
}

/// What a new user sees on an empty endpoint, instead of empty lists: how to get an image,
/// then a container. `None` where the pane is not empty of both.
fn greeting(app: &App) -> Option<Vec<Line<'static>>> {
    let t = &app.theme;
    let no_images = app.images.rows().is_empty();
    let key = |c: Command| app.keymap.first_key(c).unwrap_or_default();
    let line = |k: String, what: &str| {
        Line::from(vec![
            Span::styled(format!("  {k:<28}"), t.key()),
            Span::raw(what.to_string()),
        ])
    };
    let mut lines = match app.pane {
        PaneKind::Containers if no_images => vec![Line::from(Span::styled(
            format!(
                "Nothing here yet on {}. To begin, get an image:",
                app.endpoint
            ),
            Style::default().add_modifier(Modifier::BOLD),
        ))],
        PaneKind::Containers => vec![Line::from(Span::styled(
            "No containers yet:",
            Style::default().add_modifier(Modifier::BOLD),
        ))],
        PaneKind::Images if no_images => vec![Line::from(Span::styled(
            "No images yet:",
            Style::default().add_modifier(Modifier::BOLD),
        ))],
        _ => return None,
    };
    if no_images {
        lines.push(line(
            format!("{} or :pull REF", key(Command::Pull)),
            "pull one from a registry, e.g. busybox",
        ));
        lines.push(line(key(Command::Build), "build one from a Dockerfile"));
        lines.push(line(
            "dockhand load -i FILE.tar".into(),
            "load a tarball made by docker save",
        ));
    }
    if app.pane == PaneKind::Containers {
        lines.push(line(
            format!("{} or :run IMAGE", key(Command::Create)),
            "run a container of an image",
        ));
    }
    lines.push(line(key(Command::Help), "every key, and the : commands"));
    Some(lines)
}
