//! The detail area following the selection: its target kept on the selected row (or left
//! on merged logs), and the requests that fill the tab in front — a log or stats stream for
//! a container on screen only, inspect, top, history — with the streams of other tabs
//! stopped.

use super::*;
use crate::model::ContainerSummary;
use crate::tui::panes::{CPU_COLUMN, Item, shown_columns};

impl App {
    /// The target of the detail area for the current selection.
    pub(super) fn selected_target(&self) -> Option<Target> {
        fn of<T: Row>(pane: PaneKind, list: &ListPane<T>) -> Option<Target> {
            list.selected_row().map(|r| Target {
                pane,
                id: r.key().to_string(),
                label: r.label(),
            })
        }
        match self.pane {
            PaneKind::Containers => of(self.pane, &self.containers),
            PaneKind::Images => of(self.pane, &self.images),
            PaneKind::Volumes => of(self.pane, &self.volumes),
            PaneKind::Networks => of(self.pane, &self.networks),
        }
    }

    /// Points the detail area at the selection; reloads its tab when it changed or `force`.
    pub(super) fn sync_detail(&mut self, force: bool) -> Vec<Effect> {
        // Merged logs stay until the user moves away from them (`leave_merged`).
        if self.merged_members().is_some() {
            return if force {
                self.tab_effects(true)
            } else {
                Vec::new()
            };
        }
        let target = self.selected_target();
        if target == self.detail.target {
            return if force {
                self.tab_effects(true)
            } else {
                Vec::new()
            };
        }
        let was_streaming = self
            .detail
            .target
            .as_ref()
            .is_some_and(|t| t.pane == PaneKind::Containers);
        self.detail.retarget(target);
        self.log_since = None;
        let mut effects = self.tab_effects(false);
        if was_streaming && self.detail.target.is_none() {
            effects.push(Effect::WatchLogs(None));
            effects.push(Effect::WatchStats(None));
        }
        effects
    }

    /// The requests that fill the current tab; streams for other tabs are stopped.
    pub(super) fn tab_effects(&mut self, reload: bool) -> Vec<Effect> {
        let Some(t) = self.detail.target.clone() else {
            return vec![Effect::WatchLogs(None), Effect::WatchStats(None)];
        };
        let tab = self.tab();
        let mut effects = Vec::new();
        let id = t.id.clone();
        let streams_here = t.pane == PaneKind::Containers;
        match tab {
            Tab::Logs => {
                if reload {
                    // The history is fetched again, so drop what is buffered.
                    self.detail.logs.clear();
                }
                let options = LogOptions {
                    follow: true,
                    // From a time, everything since; else the last lines.
                    tail: self.log_since.is_none().then_some(self.ui.log_tail_lines),
                    since: self.log_since,
                };
                if self.detail.logs.is_empty() {
                    effects.push(match self.merged_members() {
                        Some(members) => Effect::WatchMergedLogs(id.clone(), members, options),
                        None => Effect::WatchLogs(Some((id.clone(), options))),
                    });
                }
            }
            Tab::Stats => {
                if reload || self.detail.stats.is_empty() {
                    effects.push(Effect::WatchStats(Some(id.clone())));
                }
            }
            Tab::Inspect | Tab::Env | Tab::Ports => match t.pane {
                PaneKind::Containers if reload || self.detail.container.is_none() => {
                    effects.push(Effect::LoadContainer(id.clone()))
                }
                PaneKind::Images if reload || self.detail.image.is_none() => {
                    effects.push(Effect::LoadImage(id.clone()))
                }
                PaneKind::Volumes => effects.push(Effect::LoadVolume(id.clone())),
                PaneKind::Networks => effects.push(Effect::LoadNetwork(id.clone())),
                _ => {}
            },
            Tab::Top => effects.push(Effect::LoadTop(id.clone())),
            Tab::History => {
                if reload || self.detail.history.is_none() {
                    effects.push(Effect::LoadHistory(id.clone()))
                }
            }
        }
        if streams_here {
            // Stream only what is on screen.
            if tab != Tab::Logs {
                effects.push(Effect::WatchLogs(None));
            }
            if tab != Tab::Stats {
                effects.push(Effect::WatchStats(None));
            }
        }
        effects
    }

    /// The running containers whose CPU and MEM columns are on screen, to stream samples of;
    /// an effect only when they changed.
    pub(super) fn watch_usage(&mut self) -> Option<Effect> {
        let area = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        let list = layout::split(area).list;
        let columns = shown_columns(ContainerSummary::COLUMNS, list.width.saturating_sub(2));
        let mut ids = Vec::new();
        if self.pane == PaneKind::Containers && columns.contains(&CPU_COLUMN) {
            let page = self.page().max(1) as usize;
            let offset = self.containers.scroll_offset(page);
            for item in self.containers.items().skip(offset).take(page) {
                if let Item::Row(row, _) = item {
                    if row.state.is_alive() {
                        ids.push(row.id.clone());
                    }
                }
            }
        }
        self.usage.watch(ids).map(Effect::WatchUsage)
    }
}
