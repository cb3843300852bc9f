//! The one line a monitor sends the process that started it, on the pipe that is its stdout:
//! `ok PID` once the container's process runs, or `err CODE MESSAGE` when it could not be
//! started (126/127 when the command cannot run, 125 otherwise). Both sides use this type, so
//! the wording on the pipe is written and read in one place.

use std::io::{BufRead, Write};

/// How a start went, as the monitor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartReply {
    /// The container's init runs with this host pid.
    Started {
        /// Host pid of the container's init.
        pid: i32,
    },
    /// The container was not started.
    Failed {
        /// 127 (command not found), 126 (cannot run) or 125 (anything else).
        code: i32,
        /// What went wrong.
        message: String,
    },
}

impl StartReply {
    /// A failure with status 125.
    pub fn failed(message: impl std::fmt::Display) -> StartReply {
        StartReply::Failed {
            code: 125,
            message: message.to_string(),
        }
    }

    /// Writes the reply as its line.
    pub fn write_to(&self, mut out: impl Write) -> std::io::Result<()> {
        match self {
            StartReply::Started { pid } => writeln!(out, "ok {pid}"),
            // One line: a message that spans several is joined.
            StartReply::Failed { code, message } => {
                writeln!(out, "err {code} {}", message.replace('\n', " "))
            }
        }
    }

    /// Reads the reply; `None` when the monitor ended without one (or sent something else).
    pub fn read_from(input: impl std::io::Read) -> Option<StartReply> {
        let mut line = String::new();
        std::io::BufReader::new(input).read_line(&mut line).ok()?;
        let line = line.trim_end_matches('\n');
        if let Some(pid) = line.strip_prefix("ok ") {
            return pid.parse().ok().map(|pid| StartReply::Started { pid });
        }
        let rest = line.strip_prefix("err ")?;
        let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(StartReply::Failed {
            code: code.parse().unwrap_or(125),
            message: message.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(reply: StartReply) -> Option<StartReply> {
        let mut buf = Vec::new();
        reply.write_to(&mut buf).unwrap();
        StartReply::read_from(&buf[..])
    }

    #[test]
    fn replies_read_back_as_written() {
        let started = StartReply::Started { pid: 4242 };
        assert_eq!(round_trip(started.clone()), Some(started));
        let failed = StartReply::Failed {
            code: 127,
            message: "exec: \"nope\": executable file not found in $PATH".into(),
        };
        assert_eq!(round_trip(failed.clone()), Some(failed));
        assert_eq!(
            round_trip(StartReply::failed("a\nb")),
            Some(StartReply::Failed {
                code: 125,
                message: "a b".into()
            })
        );
    }

    #[test]
    fn a_monitor_that_said_nothing_or_nonsense_is_no_reply() {
        assert_eq!(StartReply::read_from(&b""[..]), None);
        assert_eq!(StartReply::read_from(&b"ok twelve\n"[..]), None);
        assert_eq!(StartReply::read_from(&b"hello\n"[..]), None);
    }
}
