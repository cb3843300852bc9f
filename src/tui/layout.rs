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
