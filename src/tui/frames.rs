//! Key-to-frame timing for benchmarks: with `DOCKHAND_FRAME_LOG=FILE` set, each key's time
//! from its arrival in the event loop to the end of the next frame written to the terminal
//! is appended to FILE, one line per key: the microseconds to the frame, then those the
//! loop took to handle the key and what was waiting before it drew (the rest is the
//! drawing and the write to the terminal). Unset, it costs nothing.

use std::io::Write;
use std::time::Instant;

/// Where key-to-frame times go, and the key waiting for its frame.
#[derive(Debug, Default)]
pub struct FrameLog {
    out: Option<std::fs::File>,
    key_at: Option<Instant>,
    handled_at: Option<Instant>,
}

impl FrameLog {
    /// A log to the file `DOCKHAND_FRAME_LOG` names, or none.
    pub fn from_env() -> FrameLog {
        let out = std::env::var_os("DOCKHAND_FRAME_LOG").and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        FrameLog {
            out,
            key_at: None,
            handled_at: None,
        }
    }

    /// A key arrived (the first of several before one frame counts).
    pub fn key(&mut self) {
        if self.out.is_some() && self.key_at.is_none() {
            self.key_at = Some(Instant::now());
        }
    }

    /// The key and what was waiting were handled; the frame comes next.
    pub fn handled(&mut self) {
        if self.key_at.is_some() && self.handled_at.is_none() {
            self.handled_at = Some(Instant::now());
        }
    }

    /// A frame was written.
    pub fn drawn(&mut self) {
        if let (Some(out), Some(at)) = (self.out.as_mut(), self.key_at.take()) {
            let handled = self.handled_at.take().map_or(0, |h| (h - at).as_micros());
            // A benchmark aid: a failed write only loses a figure.
            let _ = writeln!(out, "{} {handled}", at.elapsed().as_micros());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_key_that_reached_a_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames");
        let mut log = FrameLog {
            out: Some(std::fs::File::create(&path).unwrap()),
            key_at: None,
            handled_at: None,
        };
        log.drawn();
        log.key();
        log.key();
        log.drawn();
        log.drawn();
        log.key();
        log.drawn();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.lines().all(|l| l
                .split(' ')
                .map(|n| n.parse::<u64>())
                .collect::<Result<Vec<_>, _>>()
                .is_ok_and(|v| v.len() == 2 && v[1] <= v[0])),
            "{text}"
        );
        // Without a file nothing is kept.
        let mut none = FrameLog::default();
        none.key();
        assert!(none.key_at.is_none());
    }
}
