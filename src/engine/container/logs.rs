//! Container logs in Docker's json-file form: one JSON object per line
//! (`{"log": "text\n", "stream": "stdout", "time": "…"}`) in `logs/container.log`, rotated by
//! size to `container.log.1` … `.N`. The monitor writes them; readers take the history and
//! follow new lines across rotation.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::store::LineFollower;
use crate::util::time::{parse_rfc3339_nanos, rfc3339_nanos, unix_now_ns};

/// One log record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The text with its newline.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
}

impl Record {
    /// The time in nanoseconds since the epoch.
    pub fn time_ns(&self) -> i128 {
        parse_rfc3339_nanos(&self.time).unwrap_or(0)
    }
}

/// The current log file in `dir`.
pub fn current(dir: &Path) -> PathBuf {
    dir.join("container.log")
}

fn rotated(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("container.log.{n}"))
}

/// Writes records, splitting output into lines per stream and rotating by size.
pub struct LogWriter {
    dir: PathBuf,
    file: std::fs::File,
    size: u64,
    max_size: u64,
    max_files: usize,
    partial: [Vec<u8>; 2],
}

/// Longest line kept whole; longer output is cut into records of this size.
const MAX_LINE: usize = 16 << 10;

impl LogWriter {
    /// Opens (appending to) the log in `dir`.
    pub fn open(dir: &Path, max_size: u64, max_files: usize) -> std::io::Result<LogWriter> {
        std::fs::create_dir_all(dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(current(dir))?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            dir: dir.to_path_buf(),
            file,
            size,
            max_size: max_size.max(4096),
            max_files: max_files.max(1),
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Takes output of one stream (0 stdout, 1 stderr); whole lines are written at once.
    pub fn write(&mut self, stream: usize, data: &[u8]) -> std::io::Result<()> {
        self.partial[stream].extend_from_slice(data);
        while let Some(pos) = self.partial[stream].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial[stream].drain(..=pos).collect();
            self.record(stream, &line)?;
        }
        while self.partial[stream].len() >= MAX_LINE {
            let line: Vec<u8> = self.partial[stream].drain(..MAX_LINE).collect();
            self.record(stream, &line)?;
        }
        Ok(())
    }

    /// Writes what is left of unfinished lines (at exit).
    pub fn flush_partial(&mut self) -> std::io::Result<()> {
        for stream in 0..2 {
            if !self.partial[stream].is_empty() {
                let line = std::mem::take(&mut self.partial[stream]);
                self.record(stream, &line)?;
            }
        }
        Ok(())
    }

    fn record(&mut self, stream: usize, line: &[u8]) -> std::io::Result<()> {
        let record = Record {
            log: String::from_utf8_lossy(line).into_owned(),
            stream: if stream == 0 { "stdout" } else { "stderr" }.into(),
            time: rfc3339_nanos(unix_now_ns()),
        };
        let mut json = serde_json::to_vec(&record).expect("records serialise");
        json.push(b'\n');
        if self.size + json.len() as u64 > self.max_size && self.size > 0 {
            self.rotate()?;
        }
        self.file.write_all(&json)?;
        self.size += json.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.max_files == 1 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(rotated(&self.dir, self.max_files - 1));
        for n in (1..self.max_files - 1).rev() {
            let _ = std::fs::rename(rotated(&self.dir, n), rotated(&self.dir, n + 1));
        }
        std::fs::rename(current(&self.dir), rotated(&self.dir, 1))?;
        self.file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(current(&self.dir))?;
        self.size = 0;
        Ok(())
    }
}

/// Every stored record, oldest first, and a follower that continues exactly where that
/// history ends: a line written while the history is read is in one of the two, never both.
pub fn open(dir: &Path) -> (Vec<Record>, Follower) {
    // The current file is opened first; if it is rotated while the older files are read,
    // its new name is skipped below and its records come from the handle already open.
    let mut follower = LineFollower::from_start(current(dir));
    let mut files: Vec<PathBuf> = (1..=64)
        .map(|n| rotated(dir, n))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    let mut out = Vec::new();
    for f in files {
        let Ok(file) = std::fs::File::open(&f) else {
            continue;
        };
        if file.metadata().map(|m| m.ino()).ok() == Some(follower.inode()) {
            continue;
        }
        for line in BufReader::new(file).lines().map_while(Result::ok) {
            if let Ok(r) = serde_json::from_str(&line) {
                out.push(r);
            }
        }
    }
    out.extend(follower.poll());
    (out, follower)
}

/// Follows the current log across rotation.
pub type Follower = LineFollower<Record>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_per_stream_rotated_and_followed() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), 4096, 3).unwrap();
        w.write(0, b"before\n").unwrap();
        let (before, mut follow) = open(dir.path());
        assert_eq!(before.len(), 1);
        // What the history returned, the follower does not return again.
        assert!(follow.poll().is_empty());
        w.write(0, b"out one\nout ").unwrap();
        w.write(1, b"err one\n").unwrap();
        w.write(0, b"two\n").unwrap();
        let seen: Vec<(String, String)> = follow
            .poll()
            .into_iter()
            .map(|r| (r.stream, r.log))
            .collect();
        assert_eq!(
            seen,
            [
                ("stdout".to_string(), "out one\n".to_string()),
                ("stderr".to_string(), "err one\n".to_string()),
                ("stdout".to_string(), "out two\n".to_string()),
            ]
        );
        // Enough to rotate a few times: history keeps what the kept files hold, in order,
        // and the follower misses nothing across rotations.
        let mut followed: Vec<String> = Vec::new();
        for i in 0..200 {
            w.write(0, format!("line {i:03} {}\n", "x".repeat(40)).as_bytes())
                .unwrap();
            if i % 20 == 0 {
                followed.extend(follow.poll().into_iter().map(|r| r.log));
            }
        }
        w.write(0, b"no newline at the end").unwrap();
        w.flush_partial().unwrap();
        followed.extend(follow.poll().into_iter().map(|r| r.log));
        let mut want: Vec<String> = (0..200)
            .map(|i| format!("line {i:03} {}\n", "x".repeat(40)))
            .collect();
        want.push("no newline at the end".into());
        assert_eq!(followed, want, "the follower saw every line once, in order");
        assert!(dir.path().join("container.log.2").exists());
        assert!(!dir.path().join("container.log.3").exists());
        let (all, _) = open(dir.path());
        assert_eq!(all.last().unwrap().log, "no newline at the end");
        let numbers: Vec<&str> = all.iter().filter_map(|r| r.log.get(5..8)).collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(numbers, sorted, "oldest first");
        assert!(all.len() < 203, "rotation dropped the oldest");
    }

    #[test]
    fn a_follower_slower_than_two_rotations_still_sees_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), 4096, 4).unwrap();
        let (_, mut follow) = open(dir.path());
        let line = |i: usize| format!("line {i:04} {}\n", "y".repeat(60));
        let mut followed: Vec<String> = Vec::new();
        let mut rotations_between_polls = 0;
        for i in 0..400 {
            let before = std::fs::metadata(current(dir.path())).map(|m| m.ino()).ok();
            w.write(0, line(i).as_bytes()).unwrap();
            if std::fs::metadata(current(dir.path())).map(|m| m.ino()).ok() != before {
                rotations_between_polls += 1;
            }
            // Poll only after the writer has rotated twice since the last poll.
            if rotations_between_polls == 2 {
                followed.extend(follow.poll().into_iter().map(|r| r.log));
                rotations_between_polls = 0;
            }
        }
        followed.extend(follow.poll().into_iter().map(|r| r.log));
        let want: Vec<String> = (0..400).map(line).collect();
        assert_eq!(followed.len(), want.len(), "no line lost or repeated");
        assert_eq!(followed, want, "in order");
    }
}
