//! Volume rows: `docker volume ls` plus who uses each volume and its size.

use ratatui::style::Style;

use super::{Column, Row, SortKey};
use crate::model::VolumeSummary;
use crate::tui::theme::Theme;
use crate::util::time::ago;
use crate::util::units::human_size;

impl Row for VolumeSummary {
    const COLUMNS: &'static [Column] = &[
        Column {
            title: "VOLUME NAME",
            width: 20,
            priority: 0,
            grow: true,
        },
        Column {
            title: "DRIVER",
            width: 6,
            priority: 3,
            grow: false,
        },
        Column {
            title: "USED BY",
            width: 14,
            priority: 1,
            grow: true,
        },
        Column {
            title: "SIZE",
            width: 9,
            priority: 2,
            grow: false,
        },
        Column {
            title: "CREATED",
            width: 14,
            priority: 4,
            grow: false,
        },
        Column {
            title: "MOUNTPOINT",
            width: 30,
            priority: 5,
            grow: true,
        },
    ];

    fn key(&self) -> &str {
        &self.name
    }

    fn label(&self) -> String {
        self.name.clone()
    }

    fn cell(&self, col: usize, now: i64) -> String {
        match col {
            0 => self.name.clone(),
            1 => self.driver.clone(),
            2 if self.used_by.is_empty() => "-".into(),
            2 => self.used_by.join(", "),
            3 => self.size.map(human_size).unwrap_or_else(|| "-".into()),
            4 => ago(self.created, now),
            _ => self.mountpoint.clone(),
        }
    }

    fn sort_key(&self, col: usize, now: i64) -> SortKey {
        match col {
            3 => SortKey::Num(self.size.unwrap_or(0) as f64),
            4 => SortKey::Num(-(self.created as f64)),
            _ => SortKey::Text(self.cell(col, now)),
        }
    }

    fn style(&self, _col: usize, theme: &Theme) -> Style {
        if self.used_by.is_empty() {
            theme.muted()
        } else {
            Style::default()
        }
    }
}
