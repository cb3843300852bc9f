//! How the CLI prints: docker-style tables, JSON documents, and yes/no questions.

use std::io::{self, BufRead, IsTerminal, Write};

/// A table printed like docker's: columns padded to their widest cell plus three spaces
/// (at least ten wide), the last one unpadded.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(ToString::to_string).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, header first.
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let width = |c: usize| {
            std::iter::once(&self.header)
                .chain(&self.rows)
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..cols).map(|c| (width(c) + 3).max(10)).collect();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 < cols {
                    line.push_str(&format!("{cell:<w$}", w = widths[c]));
                } else {
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table to stdout.
    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Shortens text to `max` characters, ending with `…` when cut (docker's `Ellipsis`).
pub fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Prints values as a pretty JSON array, as `docker inspect` does.
pub fn print_json(values: &[serde_json::Value]) {
    println!(
        "{}",
        serde_json::to_string_pretty(values).unwrap_or_else(|_| "[]".into())
    );
}

/// Asks a yes/no question on stderr; anything but y/yes (including no input) is no.
pub fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    if io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_like_docker() {
        let mut t = Table::new(&["DRIVER", "VOLUME NAME"]);
        t.row(vec!["local".into(), "pgdata".into()]);
        assert_eq!(t.render(), "DRIVER    VOLUME NAME\nlocal     pgdata\n");
        let mut t = Table::new(&["CONTAINER ID", "NAMES"]);
        t.row(vec!["0123456789ab".into(), "web".into()]);
        assert_eq!(t.render(), "CONTAINER ID   NAMES\n0123456789ab   web\n");
    }

    #[test]
    fn ellipsis_cuts_with_a_mark() {
        assert_eq!(ellipsis("short", 20), "short");
        assert_eq!(
            ellipsis("sh -c 'while true; do sleep 1; done'", 20),
            "sh -c 'while true; …"
        );
    }
}
