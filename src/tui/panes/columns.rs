//! The columns of a list: what each is, which fit a width (the least important dropped
//! first), and how a cell sorts.

use std::cmp::Ordering;

/// A column of a list.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header text.
    pub title: &'static str,
    /// Width it needs.
    pub width: u16,
    /// Lower is more important; the least important columns are hidden first when narrow.
    pub priority: u8,
    /// Takes spare width.
    pub grow: bool,
}

/// How a cell sorts.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortKey {
    /// Text, compared case-insensitively.
    Text(String),
    /// A number.
    Num(f64),
}

impl SortKey {
    /// The key with its text lower-cased, for [`SortKey::cmp_folded`].
    pub(super) fn folded(self) -> SortKey {
        match self {
            SortKey::Text(t) => SortKey::Text(t.to_lowercase()),
            n => n,
        }
    }

    /// [`SortKey::cmp`] of keys already [`folded`](SortKey::folded).
    pub(super) fn cmp_folded(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            _ => self.cmp(other),
        }
    }

    fn cmp(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Text(a), SortKey::Text(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
            (SortKey::Num(a), SortKey::Num(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (SortKey::Num(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Num(_)) => Ordering::Greater,
        }
    }
}

/// Spaces between a list's columns.
pub const SPACING: u16 = 2;

/// The columns a list shows inside its borders when they are `width` wide (one column goes
/// to the mark's gutter).
pub fn shown_columns(columns: &[Column], width: u16) -> Vec<usize> {
    fit_columns(columns, width.saturating_sub(1 + SPACING), SPACING)
}

/// Picks the columns that fit in `width`, dropping the least important first.
/// Returns column indices in their natural order.
pub fn fit_columns(columns: &[Column], width: u16, spacing: u16) -> Vec<usize> {
    let mut chosen: Vec<usize> = (0..columns.len()).collect();
    let need = |set: &[usize]| -> u32 {
        set.iter()
            .map(|&i| u32::from(columns[i].width))
            .sum::<u32>()
            + u32::from(spacing) * set.len().saturating_sub(1) as u32
    };
    while chosen.len() > 1 && need(&chosen) > u32::from(width) {
        let drop = chosen
            .iter()
            .enumerate()
            .max_by_key(|(pos, i)| (columns[**i].priority, *pos))
            .map(|(pos, _)| pos)
            .unwrap_or(0);
        chosen.remove(drop);
    }
    chosen
}
