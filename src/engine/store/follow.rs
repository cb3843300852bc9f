//! Following a file of JSON lines as it grows and is rotated (the events journal, container
//! logs): each poll returns the records appended since the last one; a file renamed away is
//! read to its end, then the files rotated after it (`PATH.1`, `PATH.2`, … newest first,
//! when it was rotated more than once between two polls) and the new file from its start.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::marker::PhantomData;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use serde::de::DeserializeOwned;

/// Reads new records of a JSON-lines file.
#[derive(Debug)]
pub struct LineFollower<T> {
    path: PathBuf,
    reader: Option<BufReader<std::fs::File>>,
    inode: u64,
    partial: String,
    records: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> LineFollower<T> {
    /// Starts at the current end of `path` (or at the start of the file once it exists).
    pub fn from_end(path: PathBuf) -> LineFollower<T> {
        Self::open(path, SeekFrom::End(0))
    }

    /// Starts at the beginning of `path`: the first poll returns everything it holds. Records
    /// read once are never returned again, so a reader of the whole file that keeps
    /// following sees each record exactly once.
    pub fn from_start(path: PathBuf) -> LineFollower<T> {
        Self::open(path, SeekFrom::Start(0))
    }

    fn open(path: PathBuf, at: SeekFrom) -> LineFollower<T> {
        let mut f = LineFollower {
            path,
            reader: None,
            inode: 0,
            partial: String::new(),
            records: PhantomData,
        };
        if let Ok(mut file) = std::fs::File::open(&f.path) {
            f.inode = file.metadata().map_or(0, |m| m.ino());
            let _ = file.seek(at);
            f.reader = Some(BufReader::new(file));
        }
        f
    }

    /// The inode of the file being read (0 before it exists).
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// Records appended since the last call.
    pub fn poll(&mut self) -> Vec<T> {
        let mut out = self.read_available();
        let inode = std::fs::metadata(&self.path).map_or(0, |m| m.ino());
        if inode != 0 && inode != self.inode {
            // Created since, or rotated: the old file was read to its end above. The new one
            // is opened before the rotated ones are looked at, so a rotation meanwhile shows
            // it among them (and it is skipped there).
            let Ok(file) = std::fs::File::open(&self.path) else {
                return out;
            };
            let inode = file.metadata().map_or(inode, |m| m.ino());
            if self.inode != 0 {
                for missed in self.rotated_since(inode) {
                    self.reader = Some(BufReader::new(missed));
                    self.partial.clear();
                    out.extend(self.read_available());
                }
            }
            self.reader = Some(BufReader::new(file));
            self.inode = inode;
            self.partial.clear();
            out.extend(self.read_available());
        }
        out
    }

    /// The rotated files written after the one last read and before `current`, oldest
    /// first: all that are left when that one is gone too.
    fn rotated_since(&self, current: u64) -> Vec<std::fs::File> {
        let mut newer = Vec::new();
        for n in 1..=64 {
            let mut name = self.path.clone().into_os_string();
            name.push(format!(".{n}"));
            let Ok(file) = std::fs::File::open(&name) else {
                break;
            };
            let inode = file.metadata().map_or(0, |m| m.ino());
            if inode == self.inode {
                break;
            }
            if inode != current {
                newer.push(file);
            }
        }
        newer.reverse();
        newer
    }

    fn read_available(&mut self) -> Vec<T> {
        let mut out = Vec::new();
        let Some(reader) = self.reader.as_mut() else {
            return out;
        };
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    self.partial.push_str(&line);
                    if !self.partial.ends_with('\n') {
                        break; // the rest is still being written
                    }
                    if let Ok(r) = serde_json::from_str(self.partial.trim_end()) {
                        out.push(r);
                    }
                    self.partial.clear();
                }
            }
        }
        out
    }
}
