//! Network rows: `docker network ls` plus subnet, gateway and attached containers.

use ratatui::style::Style;

use super::{Column, Row, SortKey};
use crate::model::NetworkSummary;
use crate::tui::theme::Theme;

impl Row for NetworkSummary {
    const COLUMNS: &'static [Column] = &[
        Column {
            title: "NETWORK ID",
            width: 12,
            priority: 3,
            grow: false,
        },
        Column {
            title: "NAME",
            width: 14,
            priority: 0,
            grow: true,
        },
        Column {
            title: "DRIVER",
            width: 7,
            priority: 1,
            grow: false,
        },
        Column {
            title: "SUBNET",
            width: 15,
            priority: 2,
            grow: false,
        },
        Column {
            title: "GATEWAY",
            width: 12,
            priority: 5,
            grow: false,
        },
        Column {
            title: "CONTAINERS",
            width: 20,
            priority: 1,
            grow: true,
        },
    ];
    const DEFAULT_SORT: usize = 1;

    fn key(&self) -> &str {
        &self.id
    }

    fn label(&self) -> String {
        self.name.clone()
    }

    fn cell(&self, col: usize, _now: i64) -> String {
        let or_dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
        match col {
            0 => self.short_id().to_string(),
            1 => self.name.clone(),
            2 => self.driver.clone(),
            3 => or_dash(&self.subnet),
            4 => or_dash(&self.gateway),
            _ if self.containers.is_empty() => "-".into(),
            _ => self.containers.join(", "),
        }
    }

    fn sort_key(&self, col: usize, now: i64) -> SortKey {
        match col {
            5 => SortKey::Num(self.containers.len() as f64),
            _ => SortKey::Text(self.cell(col, now)),
        }
    }

    fn style(&self, _col: usize, theme: &Theme) -> Style {
        if self.is_builtin() {
            theme.muted()
        } else {
            Style::default()
        }
    }
}
