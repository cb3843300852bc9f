//! Exec and attach sessions, and container logs: what to run, which session, what comes out.

use serde::Serialize;

use super::UnixTime;

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// stdout or stderr.
    pub stream: LogStream,
    /// When the line was written, in nanoseconds since the epoch.
    pub timestamp_ns: i128,
    /// The text, without the trailing newline.
    pub text: String,
}

/// Which logs to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// Keep the stream open and send new lines as they are written.
    pub follow: bool,
    /// Only the last N lines of the history (all when `None`).
    pub tail: Option<usize>,
    /// Only lines written at or after this time.
    pub since: Option<UnixTime>,
}

/// What to run with `exec`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecSpec {
    /// Command and arguments.
    pub cmd: Vec<String>,
    /// Extra environment as `KEY=value`.
    pub env: Vec<String>,
    /// Working directory (the container's when `None`).
    pub working_dir: Option<String>,
    /// User (the container's when `None`).
    pub user: Option<String>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Attach stdin.
    pub stdin: bool,
}

/// A piece of output from an exec or attach session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    /// stdout or stderr (a TTY session has only stdout).
    pub stream: LogStream,
    /// The bytes, as written.
    pub data: bytes::Bytes,
}

/// Which session, for resizing and exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionId {
    /// An exec instance by id.
    Exec(String),
    /// An attachment to a container's main process, by container id.
    Attach(String),
}
