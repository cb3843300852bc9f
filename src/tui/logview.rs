//! The Logs tab's state: a bounded ring buffer of lines with follow, timestamps, wrap,
//! scrolling, and search (matches kept up to date as lines arrive; `n`/`N` jump with context;
//! a toggle shows only matching lines). Only the visible slice is measured when drawing.
//! Merged logs of several containers keep, beside each line, which container wrote it.

use std::collections::VecDeque;

use super::keymap::Command;
use crate::model::LogLine;
use crate::util::time::rfc3339_nanos;

/// Log lines of one container and how they are shown.
#[derive(Debug, Clone)]
pub struct LogView {
    lines: VecDeque<LogLine>,
    /// Sequence number of `lines[0]`; every line ever pushed has one.
    first_seq: u64,
    cap: usize,
    dropped: u64,
    /// Keep the newest line in view.
    pub follow: bool,
    /// Prefix each line with its RFC 3339 time.
    pub timestamps: bool,
    /// Wrap long lines instead of cutting them.
    pub wrap: bool,
    /// Show lines that are JSON objects or arrays pretty-printed.
    pub pretty: bool,
    /// First line in view (an index into the shown lines) when not following.
    top: usize,
    /// Search text (ASCII case-insensitive); empty when not searching.
    search: String,
    /// Sequence numbers of the lines that match, ascending.
    matches: VecDeque<u64>,
    /// Show only matching lines.
    pub only_matches: bool,
    /// The match `n`/`N` last moved to.
    current: Option<u64>,
    /// Why the stream ended, when it did.
    pub ended: Option<String>,
    /// The containers of merged logs, by source number (empty for one container's logs).
    names: Vec<String>,
    /// The source of each line of merged logs, beside `lines`.
    sources: VecDeque<u16>,
}

impl LogView {
    /// An empty view keeping at most `cap` lines.
    pub fn new(cap: usize) -> LogView {
        LogView {
            lines: VecDeque::new(),
            first_seq: 0,
            cap: cap.max(1),
            dropped: 0,
            follow: true,
            timestamps: false,
            wrap: false,
            pretty: false,
            top: 0,
            search: String::new(),
            matches: VecDeque::new(),
            only_matches: false,
            current: None,
            ended: None,
            names: Vec::new(),
            sources: VecDeque::new(),
        }
    }

    /// Empties the view for the merged logs of containers `names` (none: one container's).
    pub fn set_sources(&mut self, names: Vec<String>) {
        self.clear();
        self.names = names;
    }

    /// The containers of merged logs, by source number.
    pub fn sources(&self) -> &[String] {
        &self.names
    }

    /// The source number and name of the line `seq` of merged logs.
    pub fn source(&self, seq: u64) -> Option<(u16, &str)> {
        let i = seq.checked_sub(self.first_seq)? as usize;
        let s = *self.sources.get(i)?;
        Some((s, self.names.get(usize::from(s))?.as_str()))
    }

    /// Columns the source names take before each line of merged logs.
    pub fn prefix_width(&self) -> usize {
        match self.names.iter().map(|n| n.chars().count()).max() {
            Some(w) => w + 3,
            None => 0,
        }
    }

    /// Appends lines of merged logs with their sources.
    pub fn push_merged(&mut self, new: Vec<(u16, LogLine)>) {
        for (source, line) in new {
            self.push_one(line, Some(source));
        }
    }

    /// Drops every line (another container was selected); keeps the display toggles and search.
    pub fn clear(&mut self) {
        self.first_seq += self.lines.len() as u64;
        self.lines.clear();
        self.sources.clear();
        self.matches.clear();
        self.current = None;
        self.dropped = 0;
        self.top = 0;
        self.follow = true;
        self.ended = None;
    }

    fn is_match(&self, line: &LogLine) -> bool {
        !self.search.is_empty() && line.text.to_ascii_lowercase().contains(&self.search)
    }

    /// Appends lines, dropping the oldest beyond the cap.
    pub fn push(&mut self, new: Vec<LogLine>) {
        for line in new {
            self.push_one(line, None);
        }
    }

    fn push_one(&mut self, mut line: LogLine, source: Option<u16>) {
        line.text = printable(&line.text);
        if self.lines.len() == self.cap {
            self.lines.pop_front();
            self.sources.pop_front();
            // The first shown line went away: the view keeps its place.
            let shown_dropped = if self.matches.front() == Some(&self.first_seq) {
                self.matches.pop_front();
                true
            } else {
                !self.only_matches
            };
            if shown_dropped {
                self.top = self.top.saturating_sub(1);
            }
            if self.current == Some(self.first_seq) {
                self.current = None;
            }
            self.first_seq += 1;
            self.dropped += 1;
        }
        let seq = self.first_seq + self.lines.len() as u64;
        if self.is_match(&line) {
            self.matches.push_back(seq);
        }
        self.lines.push_back(line);
        if let Some(s) = source {
            self.sources.push_back(s);
        }
    }

    /// Number of buffered lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line is buffered.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines dropped because of the cap.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The search text.
    pub fn search(&self) -> &str {
        &self.search
    }

    /// Number of matching lines buffered.
    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    /// Sets the search text and finds the matches again.
    pub fn set_search(&mut self, text: &str) {
        self.search = text.to_ascii_lowercase();
        self.current = None;
        self.matches = (0..self.lines.len())
            .filter(|&i| self.is_match(&self.lines[i]))
            .map(|i| self.first_seq + i as u64)
            .collect();
        if self.only_matches {
            self.top = 0;
        }
    }

    /// Lines shown: all, or only the matches.
    fn shown_len(&self) -> usize {
        if self.only_matches {
            self.matches.len()
        } else {
            self.lines.len()
        }
    }

    fn shown(&self, i: usize) -> (u64, &LogLine) {
        let seq = if self.only_matches {
            self.matches[i]
        } else {
            self.first_seq + i as u64
        };
        (seq, &self.lines[(seq - self.first_seq) as usize])
    }

    /// Takes one of the Logs tab's own commands: follow, timestamps, wrap, only matches.
    /// `None` for any other command; `Some(Err(message))` when it cannot be done now.
    pub fn command(&mut self, command: Command) -> Option<Result<(), String>> {
        match command {
            Command::Follow => {
                if self.follow {
                    self.follow = false;
                    self.scroll(0, 0);
                } else {
                    self.to_bottom();
                }
            }
            Command::Timestamps => self.timestamps = !self.timestamps,
            Command::Wrap => self.wrap = !self.wrap,
            Command::PrettyJson => self.pretty = !self.pretty,
            Command::OnlyMatches => {
                if self.search.is_empty() {
                    return Some(Err(
                        "no log search to filter by: press / in the Logs tab first".into(),
                    ));
                }
                self.toggle_only_matches();
            }
            _ => return None,
        }
        Some(Ok(()))
    }

    /// Shows only matching lines, or all of them again.
    pub fn toggle_only_matches(&mut self) {
        self.only_matches = !self.only_matches;
        self.top = 0;
        self.follow = true;
    }

    /// Moves to the next (or previous) match, keeping lines before it in view for context.
    /// Returns false when there is no match.
    pub fn jump(&mut self, forward: bool, height: usize) -> bool {
        if self.matches.is_empty() {
            return false;
        }
        let from = self.current.unwrap_or(if forward {
            self.first_seq + self.visible_start(height) as u64
        } else {
            u64::MAX
        });
        let next = if forward {
            self.matches
                .iter()
                .find(|&&m| m > from || (self.current.is_none() && m >= from))
                .or(self.matches.front())
        } else {
            self.matches
                .iter()
                .rev()
                .find(|&&m| m < from)
                .or(self.matches.back())
        };
        let Some(&seq) = next else {
            return false;
        };
        self.current = Some(seq);
        let index = if self.only_matches {
            self.matches.iter().position(|&m| m == seq).unwrap_or(0)
        } else {
            (seq - self.first_seq) as usize
        };
        self.follow = false;
        // A third of the view above the match shows what led to it.
        let max_top = self.shown_len().saturating_sub(height);
        self.top = index.saturating_sub(height / 3).min(max_top);
        true
    }

    /// The match `n`/`N` moved to.
    pub fn current_match(&self) -> Option<u64> {
        self.current
    }

    /// Index of the first shown line in view.
    fn visible_start(&self, height: usize) -> usize {
        if self.follow {
            self.shown_len().saturating_sub(height)
        } else {
            self.top
        }
    }

    /// Scrolls by `delta` lines; scrolling up stops following.
    pub fn scroll(&mut self, delta: isize, height: usize) {
        let max_top = self.shown_len().saturating_sub(height);
        let current = if self.follow { max_top } else { self.top };
        let next = (current as isize + delta).clamp(0, max_top as isize) as usize;
        if delta < 0 {
            self.follow = false;
        }
        self.top = next;
    }

    /// Jumps to the oldest line.
    pub fn to_top(&mut self) {
        self.follow = false;
        self.top = 0;
    }

    /// Jumps to the newest line and follows.
    pub fn to_bottom(&mut self) {
        self.follow = true;
    }

    fn rows(&self, l: &LogLine, width: usize) -> usize {
        if let Some(pretty) = self.pretty_text(l) {
            return pretty.lines().count().max(1);
        }
        if self.wrap && width > 0 {
            let len =
                l.text.chars().count() + if self.timestamps { 31 } else { 0 } + self.prefix_width();
            len.div_ceil(width).max(1)
        } else {
            1
        }
    }

    /// The lines to draw in a `width` x `height` area with their sequence numbers: the newest
    /// that fit when following, else those from the scroll position. Oldest first.
    pub fn visible(&self, width: usize, height: usize) -> Vec<(u64, &LogLine)> {
        let mut out = Vec::new();
        let mut used = 0;
        let n = self.shown_len();
        if self.follow {
            for i in (0..n).rev() {
                let (seq, l) = self.shown(i);
                used += self.rows(l, width);
                if used > height && !out.is_empty() {
                    break;
                }
                out.push((seq, l));
            }
            out.reverse();
        } else {
            for i in self.top..n {
                let (seq, l) = self.shown(i);
                used += self.rows(l, width);
                if used > height && !out.is_empty() {
                    break;
                }
                out.push((seq, l));
            }
        }
        out
    }

    /// The line pretty-printed, when that is on and the line is a JSON object or array.
    pub fn pretty_text(&self, l: &LogLine) -> Option<String> {
        if !self.pretty {
            return None;
        }
        let t = l.text.trim();
        if !(t.starts_with('{') || t.starts_with('[')) {
            return None;
        }
        let value: serde_json::Value = serde_json::from_str(t).ok()?;
        serde_json::to_string_pretty(&value).ok()
    }

    /// The shown lines as text, for saving: with timestamps when they are on.
    pub fn export(&self) -> Vec<String> {
        (0..self.shown_len())
            .map(|i| {
                let (seq, l) = self.shown(i);
                let source = match self.source(seq) {
                    Some((_, name)) => format!("{name} | "),
                    None => String::new(),
                };
                if self.timestamps {
                    format!("{source}{} {}", rfc3339_nanos(l.timestamp_ns), l.text)
                } else {
                    format!("{source}{}", l.text)
                }
            })
            .collect()
    }
}

/// A log line as it can be drawn: terminal escape sequences (colours, cursor moves, a
/// shell's queries) removed, tabs expanded, what a carriage return overwrote dropped, and
/// other control characters left out, so a container's output never reaches the terminal
/// raw.
pub fn printable(text: &str) -> String {
    let text = text.trim_end_matches('\r');
    let text = text.rsplit('\r').next().unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters, then one final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    fn line(n: usize) -> LogLine {
        LogLine {
            stream: LogStream::Stdout,
            timestamp_ns: n as i128,
            text: format!("line {n}"),
        }
    }

    fn texts(v: &LogView, w: usize, h: usize) -> Vec<String> {
        v.visible(w, h)
            .into_iter()
            .map(|(_, l)| l.text.clone())
            .collect()
    }

    #[test]
    fn the_view_takes_its_own_commands() {
        let mut v = LogView::new(100);
        v.push((0..50).map(line).collect());
        assert_eq!(v.command(Command::Timestamps), Some(Ok(())));
        assert!(v.timestamps);
        assert_eq!(v.command(Command::Wrap), Some(Ok(())));
        assert!(v.wrap);
        assert_eq!(v.command(Command::Follow), Some(Ok(())));
        assert!(!v.follow, "follow toggles off");
        assert_eq!(v.command(Command::Follow), Some(Ok(())));
        assert!(v.follow, "and back on, at the bottom");
        let refused = v.command(Command::OnlyMatches).unwrap().unwrap_err();
        assert!(refused.contains("press /"), "{refused}");
        assert!(!v.only_matches);
        v.set_search("line 4");
        assert_eq!(v.command(Command::OnlyMatches), Some(Ok(())));
        assert!(v.only_matches);
        assert_eq!(v.command(Command::Quit), None, "not the view's command");
    }

    #[test]
    fn escapes_and_control_characters_never_reach_the_screen() {
        assert_eq!(printable("\u{1b}[1;31mred\u{1b}[0m text\r"), "red text");
        assert_eq!(printable("/ # \u{1b}[6n"), "/ # ");
        assert_eq!(printable("\u{1b}]0;title\u{7}after"), "after");
        assert_eq!(printable("10%\r50%\r100%"), "100%");
        assert_eq!(printable("a\tb\u{8}c"), "a    bc");
    }

    #[test]
    fn the_buffer_is_bounded_by_the_cap() {
        let mut v = LogView::new(100);
        v.push((0..250).map(line).collect());
        assert_eq!(v.len(), 100);
        assert_eq!(v.dropped(), 150);
        assert_eq!(texts(&v, 80, 2), ["line 248", "line 249"]);
    }

    #[test]
    fn scrolling_up_stops_following_and_bottom_resumes() {
        let mut v = LogView::new(1000);
        v.push((0..50).map(line).collect());
        v.scroll(-10, 5);
        assert!(!v.follow);
        assert_eq!(texts(&v, 80, 5)[0], "line 35");
        v.push(vec![line(50)]);
        assert_eq!(
            texts(&v, 80, 5)[0],
            "line 35",
            "new lines do not move a scrolled view"
        );
        v.to_bottom();
        assert_eq!(texts(&v, 80, 5)[4], "line 50");
    }

    #[test]
    fn wrapped_lines_take_more_rows() {
        let mut v = LogView::new(10);
        v.wrap = true;
        v.push(vec![
            LogLine {
                text: "x".repeat(25),
                ..line(0)
            },
            line(1),
        ]);
        assert_eq!(v.visible(10, 3).len(), 1, "the long line needs 3 more rows");
        assert_eq!(v.visible(10, 4).len(), 2);
    }

    #[test]
    fn search_jumps_between_matches_with_context() {
        let mut v = LogView::new(1000);
        v.push((0..100).map(line).collect());
        v.set_search("LINE 4");
        assert_eq!(v.match_count(), 11, "line 4 and 40-49");
        assert!(v.jump(true, 10));
        let shown = texts(&v, 80, 10);
        assert_eq!(shown[0], "line 1", "three lines of context above the match");
        assert_eq!(shown[3], "line 4");
        assert!(v.jump(true, 10));
        assert_eq!(v.current_match(), Some(40));
        assert!(v.jump(false, 10));
        assert_eq!(v.current_match(), Some(4));
        assert!(v.jump(false, 10), "wraps around");
        assert_eq!(v.current_match(), Some(49));
        // New lines are searched as they arrive.
        v.push(vec![line(400)]);
        assert_eq!(v.match_count(), 12);
    }

    #[test]
    fn only_matches_filters_the_view_and_export() {
        let mut v = LogView::new(1000);
        v.push((0..30).map(line).collect());
        v.set_search("line 2");
        v.toggle_only_matches();
        assert_eq!(texts(&v, 80, 3), ["line 27", "line 28", "line 29"]);
        assert_eq!(v.export().len(), 11);
        v.toggle_only_matches();
        assert_eq!(v.export().len(), 30);
    }

    #[test]
    fn matches_leave_with_their_lines() {
        let mut v = LogView::new(10);
        v.set_search("line 1");
        v.push((0..20).map(line).collect());
        // line 1 and line 10-19 matched; line 1 dropped out with the cap.
        assert_eq!(v.match_count(), 10);
    }
}
