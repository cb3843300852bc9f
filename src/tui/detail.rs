//! The detail area under the list: which tabs each pane has, what object they show, and the
//! data loaded for them.

use std::collections::VecDeque;

use super::logview::LogView;
use super::panes::PaneKind;
use crate::model::{ContainerDetails, HistoryEntry, ImageDetails, StatsSample, TopOutput};

/// A tab of the detail area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Container output.
    Logs,
    /// Container resource charts.
    Stats,
    /// Inspect document.
    Inspect,
    /// Container environment.
    Env,
    /// Container ports.
    Ports,
    /// Container processes.
    Top,
    /// Image history.
    History,
}

impl Tab {
    /// Title in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Logs => "Logs",
            Tab::Stats => "Stats",
            Tab::Inspect => "Inspect",
            Tab::Env => "Env",
            Tab::Ports => "Ports",
            Tab::Top => "Top",
            Tab::History => "History",
        }
    }

    /// The tabs a pane offers, in order.
    pub fn for_pane(pane: PaneKind) -> &'static [Tab] {
        match pane {
            PaneKind::Containers => &[
                Tab::Logs,
                Tab::Stats,
                Tab::Inspect,
                Tab::Env,
                Tab::Ports,
                Tab::Top,
            ],
            PaneKind::Images => &[Tab::Inspect, Tab::History],
            PaneKind::Volumes | PaneKind::Networks => &[Tab::Inspect],
        }
    }
}

/// The object the detail area shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its pane.
    pub pane: PaneKind,
    /// Id (name for volumes).
    pub id: String,
    /// Name for the title.
    pub label: String,
}

/// State of the detail area.
#[derive(Debug, Clone)]
pub struct Detail {
    tab: [usize; 4],
    /// What is shown.
    pub target: Option<Target>,
    /// Container inspect (Inspect, Env, Ports tabs).
    pub container: Option<Box<ContainerDetails>>,
    /// Image inspect.
    pub image: Option<Box<ImageDetails>>,
    /// Image history.
    pub history: Option<Vec<HistoryEntry>>,
    /// Container processes.
    pub top: Option<TopOutput>,
    /// The inspect document of the target, one line each.
    pub inspect_lines: Vec<String>,
    /// Recent stats samples, oldest first.
    pub stats: VecDeque<StatsSample>,
    stats_cap: usize,
    /// Why the stats stream ended.
    pub stats_ended: Option<String>,
    /// Log lines of the target container.
    pub logs: LogView,
    /// First line shown in text tabs.
    pub scroll: usize,
    /// Search in the Inspect tab (ASCII case-insensitive).
    pub inspect_search: String,
    /// The Inspect line `n`/`N` last moved to.
    pub inspect_current: Option<usize>,
    /// Why loading the current tab failed.
    pub error: Option<String>,
}

impl Detail {
    /// An empty detail area.
    pub fn new(log_cap: usize, stats_cap: usize) -> Detail {
        Detail {
            tab: [0; 4],
            target: None,
            container: None,
            image: None,
            history: None,
            top: None,
            inspect_lines: Vec::new(),
            stats: VecDeque::new(),
            stats_cap: stats_cap.max(1),
            stats_ended: None,
            logs: LogView::new(log_cap),
            scroll: 0,
            inspect_search: String::new(),
            inspect_current: None,
            error: None,
        }
    }

    /// The current tab of a pane.
    pub fn tab(&self, pane: PaneKind) -> Tab {
        let tabs = Tab::for_pane(pane);
        tabs[self.tab[pane.index()].min(tabs.len() - 1)]
    }

    /// Moves to the tab `delta` steps away (wrapping).
    pub fn step_tab(&mut self, pane: PaneKind, delta: isize) {
        let n = Tab::for_pane(pane).len() as isize;
        let i = &mut self.tab[pane.index()];
        *i = (*i as isize + delta).rem_euclid(n) as usize;
        self.scroll = 0;
        self.error = None;
    }

    /// Selects `tab` if the pane has it; returns whether it did.
    pub fn select_tab(&mut self, pane: PaneKind, tab: Tab) -> bool {
        match Tab::for_pane(pane).iter().position(|t| *t == tab) {
            Some(i) => {
                if self.tab[pane.index()] != i {
                    self.scroll = 0;
                    self.error = None;
                }
                self.tab[pane.index()] = i;
                true
            }
            None => false,
        }
    }

    /// Points the area at another object, dropping what was loaded for the previous one.
    pub fn retarget(&mut self, target: Option<Target>) {
        self.target = target;
        self.container = None;
        self.image = None;
        self.history = None;
        self.top = None;
        self.inspect_lines.clear();
        self.inspect_current = None;
        self.stats.clear();
        self.stats_ended = None;
        self.logs.set_sources(Vec::new());
        self.scroll = 0;
        self.error = None;
    }

    /// Whether `id` is the object shown.
    pub fn shows(&self, id: &str) -> bool {
        self.target.as_ref().is_some_and(|t| t.id == id)
    }

    /// How many samples the Stats tab keeps (one a second: the width of its time axis in
    /// seconds).
    pub fn stats_window(&self) -> usize {
        self.stats_cap
    }

    /// Adds a stats sample, keeping the configured history.
    pub fn push_stats(&mut self, sample: StatsSample) {
        if self.stats.len() == self.stats_cap {
            self.stats.pop_front();
        }
        self.stats.push_back(sample);
        self.stats_ended = None;
    }

    /// Number of lines the text tab `tab` has, for clamping the scroll position.
    pub fn text_len(&self, tab: Tab) -> usize {
        match tab {
            Tab::Inspect => self.inspect_lines.len(),
            Tab::Env => self.container.as_ref().map_or(0, |c| c.env.len()),
            Tab::Ports => self.container.as_ref().map_or(0, |c| c.summary.ports.len()),
            Tab::Top => self.top.as_ref().map_or(0, |t| t.processes.len()),
            Tab::History => self.history.as_ref().map_or(0, Vec::len),
            Tab::Logs | Tab::Stats => 0,
        }
    }

    /// Moves to the next (or previous) Inspect line containing the search, keeping a third of
    /// the view above it. Returns false when no line matches.
    pub fn inspect_jump(&mut self, forward: bool, height: usize) -> bool {
        let needle = self.inspect_search.to_ascii_lowercase();
        if needle.is_empty() {
            return false;
        }
        let hits: Vec<usize> = (0..self.inspect_lines.len())
            .filter(|&i| self.inspect_lines[i].to_ascii_lowercase().contains(&needle))
            .collect();
        let next = match (self.inspect_current, forward) {
            (Some(c), true) => hits.iter().find(|&&h| h > c).or(hits.first()),
            (Some(c), false) => hits.iter().rev().find(|&&h| h < c).or(hits.last()),
            (None, true) => hits.iter().find(|&&h| h >= self.scroll).or(hits.first()),
            (None, false) => hits.last(),
        };
        let Some(&line) = next else {
            return false;
        };
        self.inspect_current = Some(line);
        let max = self.inspect_lines.len().saturating_sub(height);
        self.scroll = line.saturating_sub(height / 3).min(max);
        true
    }

    /// The search of `tab` (the Logs tab's, or the Inspect tab's).
    pub fn search(&self, tab: Tab) -> &str {
        match tab {
            Tab::Inspect => &self.inspect_search,
            _ => self.logs.search(),
        }
    }

    /// Sets the search of `tab`; a new search starts from the top.
    pub fn set_search(&mut self, tab: Tab, text: &str) {
        match tab {
            Tab::Inspect => {
                self.inspect_search = text.to_string();
                self.inspect_current = None;
            }
            _ => self.logs.set_search(text),
        }
    }

    /// Moves to the next or previous match in `tab`; false when none.
    pub fn jump_match(&mut self, tab: Tab, forward: bool, height: usize) -> bool {
        match tab {
            Tab::Inspect => self.inspect_jump(forward, height),
            _ => self.logs.jump(forward, height),
        }
    }

    /// Scrolls `tab` by `delta` lines within a view `height` lines high.
    pub fn scroll_by(&mut self, tab: Tab, delta: isize, height: usize) {
        if tab == Tab::Logs {
            self.logs.scroll(delta, height);
        } else {
            let max = self.text_len(tab).saturating_sub(height);
            self.scroll = (self.scroll as isize + delta).clamp(0, max as isize) as usize;
        }
    }

    /// Scrolls `tab` to its first or last line.
    pub fn scroll_to_edge(&mut self, tab: Tab, to_top: bool, height: usize) {
        if tab == Tab::Logs {
            if to_top {
                self.logs.to_top();
            } else {
                self.logs.to_bottom();
            }
        } else {
            let max = self.text_len(tab).saturating_sub(height);
            self.scroll = if to_top { 0 } else { max };
        }
    }

    /// Sets the inspect document from pretty JSON.
    pub fn set_inspect(&mut self, json: &str) {
        self.inspect_lines = json.lines().map(str::to_string).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_tabs_scroll_and_search_within_their_lines() {
        let mut d = Detail::new(100, 10);
        let doc: Vec<String> = (0..30).map(|i| format!("\"key{i}\": {i}")).collect();
        d.set_inspect(&doc.join("\n"));
        d.scroll_by(Tab::Inspect, 5, 10);
        assert_eq!(d.scroll, 5);
        d.scroll_by(Tab::Inspect, 100, 10);
        assert_eq!(d.scroll, 20, "no further than the last full view");
        d.scroll_to_edge(Tab::Inspect, true, 10);
        assert_eq!(d.scroll, 0);
        d.scroll_to_edge(Tab::Inspect, false, 10);
        assert_eq!(d.scroll, 20);

        d.set_search(Tab::Inspect, "KEY25");
        assert_eq!(d.search(Tab::Inspect), "KEY25");
        assert_eq!(d.search(Tab::Logs), "", "each tab has its own search");
        assert!(d.jump_match(Tab::Inspect, true, 10));
        assert_eq!(d.inspect_current, Some(25));
        d.set_search(Tab::Inspect, "nowhere");
        assert!(!d.jump_match(Tab::Inspect, true, 10));
    }
}
