//! Where each area of the screen goes; shared by drawing and by paging in `update`.

use ratatui::layout::{Constraint, Layout, Rect};

/// The areas of the main screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Tab bar.
    pub header: Rect,
    /// The list of the pane in front.
    pub list: Rect,
    /// Detail tabs.
    pub detail: Rect,
    /// Status bar.
    pub status: Rect,
}

/// Splits the screen: one header line, the list, the detail area, one status line.
pub fn split(area: Rect) -> Areas {
    let body = area.height.saturating_sub(2);
    let list = (body * 9 / 20).max(5.min(body));
    let [header, list, detail, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(list),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        header,
        list,
        detail,
        status,
    }
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// How the help overlay is laid out on a screen of `area`: the popup, whether the commands
/// go in two columns, how many go in each column, and how many rows of them show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpLayout {
    /// The popup.
    pub popup: Rect,
    /// Two columns (on screens 70 wide or more).
    pub two_columns: bool,
    /// Commands per column.
    pub per_column: usize,
    /// Rows of commands that fit.
    pub visible: usize,
}

/// Entries of the help overlay: every key command, then every `:` command.
pub fn help_entries() -> usize {
    super::keymap::Command::ALL.len() + super::palette::COMMANDS.len()
}

/// The help overlay's layout for `commands` entries.
pub fn help(area: Rect, commands: usize) -> HelpLayout {
    let two_columns = area.width >= 70;
    let per_column = if two_columns {
        commands.div_ceil(2)
    } else {
        commands
    };
    let width = if two_columns { 78 } else { 40 };
    // Border, footer line and the scroll line take four rows.
    let popup = centered(area, width, per_column as u16 + 4);
    HelpLayout {
        popup,
        two_columns,
        per_column,
        visible: (popup.height.saturating_sub(4) as usize).min(per_column),
    }
}

impl HelpLayout {
    /// The furthest the list can scroll.
    pub fn max_scroll(&self) -> usize {
        self.per_column - self.visible
    }
}
