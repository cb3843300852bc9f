//! Groups in a list: rows that name a group ([`Row::group`], a container's compose project)
//! are shown under its header — the group's name and how many of its rows are up — in the
//! list's sort order, after the rows of no group (containers started by hand stay where
//! `docker ps` users look first; projects follow as blocks that fold). A header is selected like a row;
//! actions on it apply to its rows, `z` collapses it to the header alone or expands it, and
//! a filter keeps a group whose name or any of whose rows matches.

use std::collections::BTreeMap;

use super::{ListPane, Row};

/// One line of the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    /// Row `rows[i]`.
    Row(usize),
    /// The header of `groups[i]`.
    Group(usize),
}

/// A group's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Its rows, all of them.
    pub total: usize,
    /// Those up.
    pub up: usize,
    /// Shown as the header alone.
    pub collapsed: bool,
}

/// One line of the list as drawn.
#[derive(Debug)]
pub enum Item<'a, T> {
    /// A row, and whether it is shown under a group.
    Row(&'a T, bool),
    /// A group's header.
    Group(&'a Group),
}

/// What the selection was on, found again after the view is rebuilt (row indices change
/// with each refresh; keys and names do not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Keep {
    /// The row with this key.
    Row(String),
    /// The header of the group with this name.
    Group(String),
}

impl<T: Row> ListPane<T> {
    /// Builds the view from `sorted` (the rows passing the filter, in sort order): the rows
    /// of no group, then the groups by name, each with its rows unless collapsed.
    pub(super) fn group_view(&mut self, sorted: Vec<usize>, needle: &str) {
        let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut loose = Vec::new();
        for &i in &sorted {
            match self.rows[i].group() {
                Some(g) => members.entry(g).or_default().push(i),
                None => loose.push(i),
            }
        }
        // A group whose name matches shows all its rows.
        for (i, r) in self.rows.iter().enumerate() {
            if let Some(g) = r.group() {
                if !needle.is_empty() && g.to_lowercase().contains(needle) {
                    let rows = members.entry(g).or_default();
                    if !rows.contains(&i) {
                        rows.push(i);
                    }
                }
            }
        }
        let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for r in &self.rows {
            if let Some(g) = r.group() {
                let t = totals.entry(g).or_default();
                t.0 += 1;
                t.1 += usize::from(r.is_up());
            }
        }
        let mut groups = Vec::new();
        let mut view: Vec<Entry> = loose.into_iter().map(Entry::Row).collect();
        for (name, rows) in members {
            let (total, up) = totals.get(name).copied().unwrap_or_default();
            let collapsed = self.collapsed.contains(name);
            view.push(Entry::Group(groups.len()));
            groups.push(Group {
                name: name.to_string(),
                total,
                up,
                collapsed,
            });
            if !collapsed {
                view.extend(rows.into_iter().map(Entry::Row));
            }
        }
        self.groups = groups;
        self.view = view;
    }

    /// What the selection is on.
    pub(super) fn keep(&self) -> Option<Keep> {
        match self.view.get(self.selected)? {
            Entry::Row(i) => Some(Keep::Row(self.rows[*i].key().to_string())),
            Entry::Group(g) => Some(Keep::Group(self.groups[*g].name.clone())),
        }
    }

    /// Where `keep` is in the view now.
    pub(super) fn position(&self, keep: &Keep) -> Option<usize> {
        self.view.iter().position(|e| match (e, keep) {
            (Entry::Row(i), Keep::Row(k)) => self.rows[*i].key() == k,
            (Entry::Group(g), Keep::Group(n)) => self.groups[*g].name == *n,
            _ => false,
        })
    }

    /// The lines to draw, in order.
    pub fn items(&self) -> impl ExactSizeIterator<Item = Item<'_, T>> {
        let items: Vec<Item<'_, T>> = self
            .view
            .iter()
            .map(|e| match e {
                Entry::Row(i) => Item::Row(&self.rows[*i], self.rows[*i].group().is_some()),
                Entry::Group(g) => Item::Group(&self.groups[*g]),
            })
            .collect();
        items.into_iter()
    }

    /// The group whose header is selected.
    pub fn selected_group(&self) -> Option<&Group> {
        match self.view.get(self.selected)? {
            Entry::Group(g) => self.groups.get(*g),
            Entry::Row(_) => None,
        }
    }

    /// Every row of group `name`, filtered or not.
    pub fn rows_of(&self, name: &str) -> Vec<&T> {
        self.rows
            .iter()
            .filter(|r| r.group() == Some(name))
            .collect()
    }

    /// Collapses the selected group (from its header or one of its rows, whose header is then
    /// selected) or expands it; false when the selection is in no group.
    pub fn toggle_fold(&mut self) -> bool {
        let name = match self.view.get(self.selected) {
            Some(Entry::Group(g)) => self.groups[*g].name.clone(),
            Some(Entry::Row(i)) => match self.rows[*i].group() {
                Some(g) => g.to_string(),
                None => return false,
            },
            None => return false,
        };
        if !self.collapsed.remove(&name) {
            self.collapsed.insert(name.clone());
        }
        self.refold(Some(Keep::Group(name)));
        true
    }
}
