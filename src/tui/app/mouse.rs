//! The mouse (unless `[ui] mouse = false`, which leaves the terminal's own selection of text
//! alone): a click selects a pane in the header, a row of the list, a detail tab or a
//! terminal session in the detail area's title, and gives the keys to what was clicked; the
//! wheel scrolls the list, the tab in front or the terminal's scrollback. Where things are
//! comes from the same layout and labels the drawing uses.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::*;

/// Rows the wheel moves at a time.
const WHEEL: isize = 3;

impl App {
    /// A pane's label in the header: its key, its title, how many objects it lists.
    pub fn pane_label(&self, pane: PaneKind) -> String {
        let command = match pane {
            PaneKind::Containers => Command::PaneContainers,
            PaneKind::Images => Command::PaneImages,
            PaneKind::Volumes => Command::PaneVolumes,
            PaneKind::Networks => Command::PaneNetworks,
        };
        let key = self.keymap.first_key(command).unwrap_or_default();
        let count = self
            .count(pane)
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        format!(" {key} {}{count} ", pane.title())
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if self.dialog.is_some() || self.mode != Mode::Normal {
            return Vec::new();
        }
        let screen = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = layout::split(screen);
        let at = |r: Rect| r.contains(ratatui::layout::Position::new(m.column, m.row));
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let delta = if m.kind == MouseEventKind::ScrollUp {
                    -WHEEL
                } else {
                    WHEEL
                };
                if at(areas.list) {
                    with_pane!(self, self.pane, p => p.move_by(delta));
                    let mut effects = self.leave_merged();
                    effects.extend(self.sync_detail(false));
                    effects
                } else if at(areas.detail) && self.terminals.shown {
                    self.terminals.scroll(-delta);
                    self.dirty = true;
                    Vec::new()
                } else if at(areas.detail) {
                    self.scroll_detail(delta)
                } else {
                    Vec::new()
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if m.row == areas.header.y {
                    self.click_header(m.column)
                } else if at(areas.list) {
                    self.click_list(areas.list, m.row)
                } else if m.row == areas.detail.y && at(areas.detail) {
                    self.click_detail_title(areas.detail, m.column)
                } else if at(areas.detail) {
                    if self.terminals.shown {
                        self.terminals.focused = true;
                    } else if self.detail.target.is_some() {
                        self.focus = Focus::Detail;
                    }
                    Vec::new()
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    fn click_header(&mut self, column: u16) -> Vec<Effect> {
        // " dockhand ", then a space and each pane's label.
        let mut x = " dockhand ".chars().count() as u16;
        for pane in PaneKind::ALL {
            x += 1;
            let width = self.pane_label(pane).chars().count() as u16;
            if (x..x + width).contains(&column) {
                return self.switch_pane(pane);
            }
            x += width;
        }
        Vec::new()
    }

    fn click_list(&mut self, list: Rect, row: u16) -> Vec<Effect> {
        // Border and header row above the body.
        let body = list.y + 2;
        if row < body || row + 1 >= list.bottom() {
            return Vec::new();
        }
        let height = list.height.saturating_sub(3) as usize;
        let index =
            with_pane!(self, self.pane, p => p.scroll_offset(height)) + usize::from(row - body);
        let moved = with_pane!(self, self.pane, p => p.select_index(index));
        self.focus = Focus::List;
        if self.terminals.shown {
            self.terminals.focused = false;
        }
        if !moved {
            return Vec::new();
        }
        let mut effects = self.leave_merged();
        effects.extend(self.sync_detail(false));
        effects
    }

    fn click_detail_title(&mut self, detail: Rect, column: u16) -> Vec<Effect> {
        // The title starts after the corner: terminal sessions " N title │ …", or the tabs
        // " Logs │ Stats │ …" after a space.
        let mut x = detail.x + 1;
        if self.terminals.shown {
            for (i, s) in self.terminals.sessions().iter().enumerate() {
                let mark = if s.ended.is_some() { " ■" } else { "" };
                let width = format!(" {} {}{mark} ", i + 1, s.title).chars().count() as u16;
                if (x..x + width).contains(&column) {
                    self.terminals.select(i);
                    self.terminals.focused = true;
                    return Vec::new();
                }
                x += width + 1;
            }
            return Vec::new();
        }
        x += 1;
        for tab in Tab::for_pane(self.pane) {
            let width = tab.title().chars().count() as u16;
            if (x..x + width).contains(&column) {
                return self.show_tab(*tab);
            }
            x += width + 3;
        }
        Vec::new()
    }
}
