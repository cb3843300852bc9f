//! The four list panes. [`ListPane`] holds one list's rows with its selection, filter, sort
//! order and marks; each object kind says through [`Row`] which columns it has and what goes in
//! them.

mod columns;
mod containers;
mod images;
mod networks;
mod volumes;

use std::cell::Cell;
use std::collections::BTreeSet;

use ratatui::style::Style;

use super::keymap::Command;
pub use columns::{Column, SPACING, SortKey, fit_columns, shown_columns};

mod groups;
pub use self::containers::CPU as CPU_COLUMN;
use self::groups::{Entry, Keep};
pub use self::groups::{Group, Item};
use super::theme::Theme;
use super::usage::Usage;

/// Which pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaneKind {
    /// Containers.
    Containers,
    /// Images.
    Images,
    /// Volumes.
    Volumes,
    /// Networks.
    Networks,
}

impl PaneKind {
    /// All panes in tab order.
    pub const ALL: [PaneKind; 4] = [
        PaneKind::Containers,
        PaneKind::Images,
        PaneKind::Volumes,
        PaneKind::Networks,
    ];

    /// Title shown in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            PaneKind::Containers => "Containers",
            PaneKind::Images => "Images",
            PaneKind::Volumes => "Volumes",
            PaneKind::Networks => "Networks",
        }
    }

    /// Position in tab order.
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// The pane `delta` steps away in tab order, wrapping around.
    pub fn step(self, delta: isize) -> PaneKind {
        let n = Self::ALL.len() as isize;
        Self::ALL[(self.index() as isize + delta).rem_euclid(n) as usize]
    }

    /// What one row is called, for messages ("container", "image", …).
    pub fn noun(self) -> &'static str {
        match self {
            PaneKind::Containers => "container",
            PaneKind::Images => "image",
            PaneKind::Volumes => "volume",
            PaneKind::Networks => "network",
        }
    }
}

/// One object shown as a row.
pub trait Row: Clone {
    /// The columns of this kind of list.
    const COLUMNS: &'static [Column];
    /// Column sorted by at first.
    const DEFAULT_SORT: usize = 0;
    /// The column that names the row (indented under a group's header, which names the
    /// group there).
    const LABEL_COLUMN: usize = 0;

    /// Stable id used to keep the selection and marks across refreshes.
    fn key(&self) -> &str;
    /// Human name for messages and dialogs.
    fn label(&self) -> String;
    /// Text of column `col`; `now` is Unix seconds for relative times.
    fn cell(&self, col: usize, now: i64) -> String;
    /// Sort key of column `col`.
    fn sort_key(&self, col: usize, now: i64) -> SortKey {
        SortKey::Text(self.cell(col, now))
    }
    /// Text of a column read live rather than listed (a container's CPU and memory), from
    /// the latest samples; `None` for the listed columns.
    fn live_cell(&self, _col: usize, _usage: &Usage) -> Option<String> {
        None
    }
    /// Whether column `col` can be sorted by (live columns cannot: most rows have no sample).
    fn sortable(_col: usize) -> bool {
        true
    }
    /// Style of column `col` (state colours).
    fn style(&self, _col: usize, _theme: &Theme) -> Style {
        Style::default()
    }
    /// The group the row is shown under (a container's compose project), if any.
    fn group(&self) -> Option<&str> {
        None
    }
    /// Whether the row counts as up in its group's header (a running container).
    fn is_up(&self) -> bool {
        false
    }
}

/// One list with its selection, filter, sort order and marks.
#[derive(Debug, Clone)]
pub struct ListPane<T: Row> {
    rows: Vec<T>,
    /// What is shown, in order: group headers and the rows that pass the filter.
    view: Vec<Entry>,
    /// The groups of the rows, by name.
    groups: Vec<Group>,
    /// Groups shown as their header alone.
    collapsed: BTreeSet<String>,
    /// The rows passing the filter in sort order, kept to fold groups without sorting again.
    sorted: Vec<usize>,
    selected: usize,
    /// First visible row; written by the renderer to keep the selection on screen.
    offset: Cell<usize>,
    filter: String,
    sort_col: usize,
    sort_desc: bool,
    marks: BTreeSet<String>,
    loaded: bool,
}

impl<T: Row> Default for ListPane<T> {
    fn default() -> Self {
        ListPane {
            rows: Vec::new(),
            view: Vec::new(),
            groups: Vec::new(),
            collapsed: BTreeSet::new(),
            sorted: Vec::new(),
            selected: 0,
            offset: Cell::new(0),
            filter: String::new(),
            sort_col: T::DEFAULT_SORT,
            sort_desc: false,
            marks: BTreeSet::new(),
            loaded: false,
        }
    }
}

impl<T: Row> ListPane<T> {
    /// Replaces the rows, keeping the selection on the same object when it still exists.
    pub fn set_rows(&mut self, rows: Vec<T>, now: i64) {
        let keep = self.keep();
        self.rows = rows;
        self.loaded = true;
        let keys: BTreeSet<&str> = self.rows.iter().map(Row::key).collect();
        self.marks.retain(|m| keys.contains(m.as_str()));
        self.rebuild(now, keep);
    }

    /// Recomputes the filtered, sorted view and puts the selection on `keep` if given.
    fn rebuild(&mut self, now: i64, keep: Option<Keep>) {
        let needle = self.filter.to_lowercase();
        let view: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                needle.is_empty()
                    || (0..T::COLUMNS.len())
                        .any(|c| self.rows[i].cell(c, now).to_lowercase().contains(&needle))
            })
            .collect();
        let col = self.sort_col;
        // Each row's key made once (lower-cased once), not at every comparison: thousands of
        // rows are sorted at each list.
        let keys: Vec<(SortKey, String)> = view
            .iter()
            .map(|&i| {
                (
                    self.rows[i].sort_key(col, now).folded(),
                    self.rows[i].label(),
                )
            })
            .collect();
        let mut order: Vec<usize> = (0..view.len()).collect();
        order.sort_by(|&a, &b| {
            let o = keys[a]
                .0
                .cmp_folded(&keys[b].0)
                .then_with(|| keys[a].1.cmp(&keys[b].1));
            if self.sort_desc { o.reverse() } else { o }
        });
        let view: Vec<usize> = order.into_iter().map(|k| view[k]).collect();
        self.sorted = view.clone();
        self.group_view(view, &needle);
        self.selected = keep
            .and_then(|k| self.position(&k))
            .unwrap_or(self.selected)
            .min(self.view.len().saturating_sub(1));
    }

    /// Rebuilds the view from the last sort (after a group folds), selecting `keep`.
    fn refold(&mut self, keep: Option<Keep>) {
        let needle = self.filter.to_lowercase();
        self.group_view(self.sorted.clone(), &needle);
        self.selected = keep
            .and_then(|k| self.position(&k))
            .unwrap_or(self.selected)
            .min(self.view.len().saturating_sub(1));
    }

    /// Whether rows have been loaded at least once.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// All rows, unfiltered.
    pub fn rows(&self) -> &[T] {
        &self.rows
    }

    /// Rows passing the filter, in display order (those of collapsed groups left out).
    pub fn visible(&self) -> impl ExactSizeIterator<Item = &T> {
        let rows: Vec<&T> = self
            .view
            .iter()
            .filter_map(|e| match e {
                Entry::Row(i) => Some(&self.rows[*i]),
                Entry::Group(_) => None,
            })
            .collect();
        rows.into_iter()
    }

    /// Index of the selection among the visible rows.
    pub fn selected_index(&self) -> usize {
        self.selected
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&T> {
        match self.view.get(self.selected)? {
            Entry::Row(i) => Some(&self.rows[*i]),
            Entry::Group(_) => None,
        }
    }

    /// Takes one of a list's own commands (movement, sorting, marks), `page` rows at a time
    /// for paging; false for any other command.
    pub fn command(&mut self, command: Command, page: isize, now: i64) -> bool {
        match command {
            Command::Up => self.move_by(-1),
            Command::Down => self.move_by(1),
            Command::PageUp => self.move_by(-page),
            Command::PageDown => self.move_by(page),
            Command::Top => self.first(),
            Command::Bottom => self.last(),
            Command::SortNext => self.sort_next(now),
            Command::SortReverse => self.sort_reverse(now),
            Command::Mark => self.toggle_mark(),
            Command::Fold => return self.toggle_fold(),
            _ => return false,
        }
        true
    }

    /// Moves the selection by `delta` rows, clamped to the list.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.view.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }

    /// Selects the first row.
    pub fn first(&mut self) {
        self.selected = 0;
    }

    /// Selects the last row.
    pub fn last(&mut self) {
        self.selected = self.view.len().saturating_sub(1);
    }

    /// The current filter text.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Sets the filter and re-applies it.
    pub fn set_filter(&mut self, filter: String, now: i64) {
        let keep = self.keep();
        self.filter = filter;
        self.rebuild(now, keep);
    }

    /// Sorts by the next column (wrapping), ascending.
    pub fn sort_next(&mut self, now: i64) {
        let keep = self.keep();
        self.sort_col = (self.sort_col + 1) % T::COLUMNS.len();
        while !T::sortable(self.sort_col) {
            self.sort_col = (self.sort_col + 1) % T::COLUMNS.len();
        }
        self.sort_desc = false;
        self.rebuild(now, keep);
    }

    /// Reverses the sort order.
    pub fn sort_reverse(&mut self, now: i64) {
        let keep = self.keep();
        self.sort_desc = !self.sort_desc;
        self.rebuild(now, keep);
    }

    /// Column sorted by and whether descending.
    pub fn sort(&self) -> (usize, bool) {
        (self.sort_col, self.sort_desc)
    }

    /// Selects line `index` of the view (a row or a group's header); false when there is
    /// none there or it was selected already.
    pub fn select_index(&mut self, index: usize) -> bool {
        if index >= self.view.len() || index == self.selected {
            return false;
        }
        self.selected = index;
        true
    }

    /// Selects the row with `key` among those shown; false when none is.
    pub fn select_key(&mut self, key: &str) -> bool {
        let found = self
            .view
            .iter()
            .position(|e| matches!(e, Entry::Row(i) if self.rows[*i].key() == key));
        match found {
            Some(i) => {
                let now = self.selected_index() as isize;
                self.move_by(i as isize - now);
                true
            }
            None => false,
        }
    }

    /// Marks or unmarks the selected row (a group's header: all its rows) and moves down.
    pub fn toggle_mark(&mut self) {
        if let Some(group) = self.selected_group() {
            let keys: Vec<String> = self
                .rows_of(&group.name.clone())
                .iter()
                .map(|r| r.key().to_string())
                .collect();
            let all = keys.iter().all(|k| self.marks.contains(k));
            for k in keys {
                if all {
                    self.marks.remove(&k);
                } else {
                    self.marks.insert(k);
                }
            }
            self.move_by(1);
        } else if let Some(key) = self.selected_row().map(|r| r.key().to_string()) {
            if !self.marks.remove(&key) {
                self.marks.insert(key);
            }
            self.move_by(1);
        }
    }

    /// Whether a row is marked.
    pub fn is_marked(&self, row: &T) -> bool {
        self.marks.contains(row.key())
    }

    /// Number of marked rows.
    pub fn mark_count(&self) -> usize {
        self.marks.len()
    }

    /// Drops every mark.
    pub fn clear_marks(&mut self) {
        self.marks.clear();
    }

    /// The rows an action applies to: the marked ones, else the selected one, else those of
    /// the selected group's header (those up first: a toggle follows the first).
    pub fn targets(&self) -> Vec<T> {
        if self.marks.is_empty() {
            if let Some(g) = self.selected_group() {
                let mut rows: Vec<T> = self.rows_of(&g.name).into_iter().cloned().collect();
                rows.sort_by_key(|r| !r.is_up());
                return rows;
            }
            self.selected_row().cloned().into_iter().collect()
        } else {
            self.rows
                .iter()
                .filter(|r| self.marks.contains(r.key()))
                .cloned()
                .collect()
        }
    }

    /// First visible row, adjusted so that the selection fits in `height` rows.
    pub fn scroll_offset(&self, height: usize) -> usize {
        let height = height.max(1);
        let mut offset = self.offset.get();
        if self.selected < offset {
            offset = self.selected;
        } else if self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        offset = offset.min(self.view.len().saturating_sub(height));
        self.offset.set(offset);
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    struct Item(&'static str, u32);

    impl Row for Item {
        const COLUMNS: &'static [Column] = &[
            Column {
                title: "NAME",
                width: 10,
                priority: 0,
                grow: true,
            },
            Column {
                title: "SIZE",
                width: 6,
                priority: 1,
                grow: false,
            },
        ];
        fn key(&self) -> &str {
            self.0
        }
        fn label(&self) -> String {
            self.0.to_string()
        }
        fn cell(&self, col: usize, _now: i64) -> String {
            if col == 0 {
                self.0.to_string()
            } else {
                self.1.to_string()
            }
        }
        fn sort_key(&self, col: usize, now: i64) -> SortKey {
            if col == 1 {
                SortKey::Num(f64::from(self.1))
            } else {
                SortKey::Text(self.cell(col, now))
            }
        }
    }

    fn pane() -> ListPane<Item> {
        let mut p = ListPane::default();
        p.set_rows(
            vec![Item("beta", 30), Item("alpha", 200), Item("gamma", 1)],
            0,
        );
        p
    }

    fn names(p: &ListPane<Item>) -> Vec<&str> {
        p.visible().map(|i| i.0).collect()
    }

    #[test]
    fn sorts_by_column_and_keeps_the_selection() {
        let mut p = pane();
        assert_eq!(names(&p), ["alpha", "beta", "gamma"]);
        p.move_by(1);
        p.sort_next(0);
        assert_eq!(
            names(&p),
            ["gamma", "beta", "alpha"],
            "numeric sort by SIZE"
        );
        assert_eq!(p.selected_row().unwrap().0, "beta");
        p.sort_reverse(0);
        assert_eq!(names(&p), ["alpha", "beta", "gamma"]);
    }

    #[test]
    fn filters_case_insensitively_and_refresh_keeps_selection() {
        let mut p = pane();
        p.set_filter("AM".into(), 0);
        assert_eq!(names(&p), ["gamma"]);
        p.set_filter(String::new(), 0);
        p.last();
        p.set_rows(vec![Item("gamma", 1), Item("delta", 5)], 0);
        assert_eq!(p.selected_row().unwrap().0, "gamma");
    }

    #[test]
    fn marks_drive_targets_and_vanish_with_their_rows() {
        let mut p = pane();
        p.toggle_mark();
        p.toggle_mark();
        assert_eq!(p.targets().len(), 2);
        p.set_rows(vec![Item("beta", 30)], 0);
        assert_eq!(p.mark_count(), 1);
        p.clear_marks();
        assert_eq!(p.targets().len(), 1);
    }

    #[test]
    fn the_list_takes_its_own_commands() {
        let mut p = pane();
        let first = p.selected_row().unwrap().0;
        assert!(p.command(Command::Down, 10, 0));
        assert_ne!(p.selected_row().unwrap().0, first);
        assert!(p.command(Command::Top, 10, 0));
        assert_eq!(p.selected_row().unwrap().0, first);
        assert!(p.command(Command::PageDown, 10, 0));
        assert!(p.command(Command::Mark, 10, 0));
        assert_eq!(p.mark_count(), 1);
        assert!(p.command(Command::SortReverse, 10, 0));
        assert!(!p.command(Command::Quit, 10, 0), "not the list's command");
        assert!(!p.command(Command::Logs, 10, 0));
    }

    #[test]
    fn narrow_screens_drop_low_priority_columns() {
        assert_eq!(fit_columns(Item::COLUMNS, 40, 1), [0, 1]);
        assert_eq!(fit_columns(Item::COLUMNS, 12, 1), [0]);
    }

    #[test]
    fn scroll_offset_follows_the_selection() {
        let mut p = pane();
        p.last();
        assert_eq!(p.scroll_offset(2), 1);
        p.first();
        assert_eq!(p.scroll_offset(2), 0);
    }
}
