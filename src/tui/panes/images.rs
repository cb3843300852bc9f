//! Image rows: what `docker images` shows.

use ratatui::style::Style;

use super::{Column, Row, SortKey};
use crate::model::ImageSummary;
use crate::tui::theme::Theme;
use crate::util::time::ago;
use crate::util::units::human_size;

impl Row for ImageSummary {
    const COLUMNS: &'static [Column] = &[
        Column {
            title: "REPOSITORY",
            width: 20,
            priority: 0,
            grow: true,
        },
        Column {
            title: "TAG",
            width: 12,
            priority: 0,
            grow: false,
        },
        Column {
            title: "IMAGE ID",
            width: 12,
            priority: 2,
            grow: false,
        },
        Column {
            title: "CREATED",
            width: 14,
            priority: 3,
            grow: false,
        },
        Column {
            title: "SIZE",
            width: 9,
            priority: 1,
            grow: false,
        },
        Column {
            title: "USED BY",
            width: 7,
            priority: 4,
            grow: false,
        },
    ];

    fn key(&self) -> &str {
        &self.id
    }

    fn label(&self) -> String {
        self.repo_tags
            .first()
            .cloned()
            .unwrap_or_else(|| self.short_id().to_string())
    }

    fn cell(&self, col: usize, now: i64) -> String {
        match col {
            0 => self.repo_and_tag().0,
            1 => self.repo_and_tag().1,
            2 => self.short_id().to_string(),
            3 => ago(self.created, now),
            4 => human_size(self.size),
            _ => self.containers.to_string(),
        }
    }

    fn sort_key(&self, col: usize, now: i64) -> SortKey {
        match col {
            3 => SortKey::Num(-(self.created as f64)),
            4 => SortKey::Num(self.size as f64),
            5 => SortKey::Num(self.containers as f64),
            _ => SortKey::Text(self.cell(col, now)),
        }
    }

    fn style(&self, col: usize, theme: &Theme) -> Style {
        if self.repo_tags.is_empty() || (col == 5 && self.containers == 0) {
            theme.muted()
        } else {
            Style::default()
        }
    }
}
