//! Container rows: what `docker ps -a` shows, coloured by state.

use ratatui::style::Style;

use super::{Column, Row, SortKey};
use crate::model::{ContainerState, ContainerSummary};
use crate::tui::theme::Theme;
use crate::tui::usage::{Usage, cpu_cell, memory_cell};
use crate::util::time::ago;

const NAME: usize = 1;
const STATUS: usize = 4;
/// Read live for the running rows on screen.
pub const CPU: usize = 5;
const MEM: usize = 6;
const CREATED: usize = 7;

impl Row for ContainerSummary {
    const COLUMNS: &'static [Column] = &[
        Column {
            title: "CONTAINER ID",
            width: 12,
            priority: 4,
            grow: false,
        },
        Column {
            title: "NAME",
            width: 14,
            priority: 0,
            grow: true,
        },
        Column {
            title: "IMAGE",
            width: 18,
            priority: 1,
            grow: true,
        },
        Column {
            title: "COMMAND",
            width: 22,
            priority: 5,
            grow: true,
        },
        Column {
            title: "STATUS",
            width: 28,
            priority: 0,
            grow: false,
        },
        Column {
            title: "CPU",
            width: 5,
            priority: 2,
            grow: false,
        },
        Column {
            title: "MEM",
            width: 6,
            priority: 2,
            grow: false,
        },
        Column {
            title: "CREATED",
            width: 18,
            priority: 3,
            grow: false,
        },
        Column {
            title: "PORTS",
            width: 22,
            priority: 2,
            grow: true,
        },
    ];
    const DEFAULT_SORT: usize = NAME;
    const LABEL_COLUMN: usize = NAME;

    fn key(&self) -> &str {
        &self.id
    }

    fn label(&self) -> String {
        self.name.clone()
    }

    fn cell(&self, col: usize, now: i64) -> String {
        match col {
            0 => self.short_id().to_string(),
            NAME => self.name.clone(),
            2 => self.image.clone(),
            3 => format!("\"{}\"", self.command),
            STATUS => self.status_text(now),
            CPU | MEM => String::new(),
            CREATED => ago(self.created, now),
            _ => self.ports_text(),
        }
    }

    fn sort_key(&self, col: usize, now: i64) -> SortKey {
        match col {
            // Running first, then by how long ago the state began.
            STATUS => {
                let rank = match self.state {
                    ContainerState::Running => 0.0,
                    ContainerState::Restarting => 1.0,
                    ContainerState::Paused => 2.0,
                    ContainerState::Created => 3.0,
                    ContainerState::Exited => 4.0,
                    ContainerState::Dead | ContainerState::Removing => 5.0,
                };
                let since = self.finished_at.filter(|_| !self.state.is_alive());
                let since = since.or(self.started_at).unwrap_or(self.created);
                SortKey::Num(rank * 1e12 - since as f64)
            }
            CREATED => SortKey::Num(-(self.created as f64)),
            _ => SortKey::Text(self.cell(col, now)),
        }
    }

    fn live_cell(&self, col: usize, usage: &Usage) -> Option<String> {
        if col != CPU && col != MEM {
            return None;
        }
        let Some(sample) = usage.get(&self.id) else {
            // A sample is on its way.
            let waiting = usage.is_watched(&self.id);
            return Some(if waiting { "…" } else { "" }.to_string());
        };
        Some(if col == CPU {
            cpu_cell(sample)
        } else {
            memory_cell(sample)
        })
    }

    fn sortable(col: usize) -> bool {
        col != CPU && col != MEM
    }

    fn style(&self, col: usize, theme: &Theme) -> Style {
        match col {
            NAME | STATUS => theme.state(self.state),
            _ => Style::default(),
        }
    }

    fn group(&self) -> Option<&str> {
        self.labels
            .get(crate::tui::app::PROJECT_LABEL)
            .map(String::as_str)
    }

    fn is_up(&self) -> bool {
        self.state.is_alive()
    }
}
