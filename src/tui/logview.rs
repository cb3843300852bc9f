//! The Logs tab's state: a bounded ring buffer of lines with follow, timestamps, wrap and
//! scrolling. Only the visible slice is measured when drawing.

use std::collections::VecDeque;

use crate::backend::LogLine;

/// Log lines of one container and how they are shown.
#[derive(Debug, Clone)]
pub struct LogView {
    lines: VecDeque<LogLine>,
    cap: usize,
    dropped: u64,
    /// Keep the newest line in view.
    pub follow: bool,
    /// Prefix each line with its RFC 3339 time.
    pub timestamps: bool,
    /// Wrap long lines instead of cutting them.
    pub wrap: bool,
    /// First line in view when not following.
    top: usize,
    /// Why the stream ended, when it did.
    pub ended: Option<String>,
}

impl LogView {
    /// An empty view keeping at most `cap` lines.
    pub fn new(cap: usize) -> LogView {
        LogView {
            lines: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
            follow: true,
            timestamps: false,
            wrap: false,
            top: 0,
            ended: None,
        }
    }

    /// Drops every line (another container was selected); keeps the display toggles.
    pub fn clear(&mut self) {
        self.lines.clear();
        self.dropped = 0;
        self.top = 0;
        self.follow = true;
        self.ended = None;
    }

    /// Appends lines, dropping the oldest beyond the cap.
    pub fn push(&mut self, new: Vec<LogLine>) {
        for line in new {
            if self.lines.len() == self.cap {
                self.lines.pop_front();
                self.dropped += 1;
                self.top = self.top.saturating_sub(1);
            }
            self.lines.push_back(line);
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

    /// Scrolls by `delta` lines; scrolling up stops following.
    pub fn scroll(&mut self, delta: isize, height: usize) {
        let max_top = self.lines.len().saturating_sub(height);
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

    /// The lines to draw in a `width` x `height` area: the newest that fit when following,
    /// else those from the scroll position. Returns them oldest first.
    pub fn visible(&self, width: usize, height: usize) -> Vec<&LogLine> {
        let rows = |l: &LogLine| -> usize {
            if self.wrap && width > 0 {
                let len = l.text.chars().count() + if self.timestamps { 31 } else { 0 };
                len.div_ceil(width).max(1)
            } else {
                1
            }
        };
        let mut out = Vec::new();
        let mut used = 0;
        if self.follow {
            for l in self.lines.iter().rev() {
                used += rows(l);
                if used > height && !out.is_empty() {
                    break;
                }
                out.push(l);
            }
            out.reverse();
        } else {
            for l in self.lines.iter().skip(self.top) {
                used += rows(l);
                if used > height && !out.is_empty() {
                    break;
                }
                out.push(l);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LogStream;

    fn line(n: usize) -> LogLine {
        LogLine {
            stream: LogStream::Stdout,
            timestamp_ns: n as i128,
            text: format!("line {n}"),
        }
    }

    #[test]
    fn the_buffer_is_bounded_by_the_cap() {
        let mut v = LogView::new(100);
        v.push((0..250).map(line).collect());
        assert_eq!(v.len(), 100);
        assert_eq!(v.dropped(), 150);
        assert_eq!(v.visible(80, 2)[1].text, "line 249");
    }

    #[test]
    fn scrolling_up_stops_following_and_bottom_resumes() {
        let mut v = LogView::new(1000);
        v.push((0..50).map(line).collect());
        v.scroll(-10, 5);
        assert!(!v.follow);
        assert_eq!(v.visible(80, 5)[0].text, "line 35");
        v.push(vec![line(50)]);
        assert_eq!(
            v.visible(80, 5)[0].text,
            "line 35",
            "new lines do not move a scrolled view"
        );
        v.to_bottom();
        assert_eq!(v.visible(80, 5)[4].text, "line 50");
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
}
