//! Signals as Docker accepts them (`kill -s`, `--stop-signal`, STOPSIGNAL): a name with or
//! without `SIG` in any case (`term`, `SIGTERM`, `sigterm`), a number from 1 to 64, or a
//! real-time signal as `RTMIN+N` / `RTMAX-N`. An unknown name is an error, never a fallback.

use std::fmt;

use super::Invalid;

/// Linux's standard signals by number, with the names Docker also accepts for some of them.
const NAMES: &[(i32, &str)] = &[
    (1, "HUP"),
    (2, "INT"),
    (3, "QUIT"),
    (4, "ILL"),
    (5, "TRAP"),
    (6, "ABRT"),
    (6, "IOT"),
    (7, "BUS"),
    (8, "FPE"),
    (9, "KILL"),
    (10, "USR1"),
    (11, "SEGV"),
    (12, "USR2"),
    (13, "PIPE"),
    (14, "ALRM"),
    (15, "TERM"),
    (16, "STKFLT"),
    (17, "CHLD"),
    (17, "CLD"),
    (18, "CONT"),
    (19, "STOP"),
    (20, "TSTP"),
    (21, "TTIN"),
    (22, "TTOU"),
    (23, "URG"),
    (24, "XCPU"),
    (25, "XFSZ"),
    (26, "VTALRM"),
    (27, "PROF"),
    (28, "WINCH"),
    (29, "IO"),
    (29, "POLL"),
    (30, "PWR"),
    (31, "SYS"),
];

/// The first real-time signal as the C library sees it (glibc keeps 32 and 33 for itself).
const RTMIN: i32 = 34;
/// The last signal number.
const RTMAX: i32 = 64;

const FORM: &str = "give a name such as TERM, KILL, HUP (with or without SIG, in any case), RTMIN+N, or a number from 1 to 64";

/// A signal number that is valid on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(i32);

impl Signal {
    /// SIGKILL.
    pub const KILL: Signal = Signal(9);
    /// SIGTERM.
    pub const TERM: Signal = Signal(15);

    /// Parses a signal as `docker kill -s` accepts it; an unknown one names what was given.
    pub fn parse(text: &str) -> Result<Signal, Invalid> {
        let refuse = || Invalid::new(format!("invalid signal {text:?}: {FORM}"));
        let t = text.trim();
        if let Ok(n) = t.parse::<i32>() {
            return Signal::from_number(n).ok_or_else(refuse);
        }
        let upper = t.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some(&(n, _)) = NAMES.iter().find(|(_, s)| *s == name) {
            return Ok(Signal(n));
        }
        let realtime = |rest: &str, base: i32, sign: i32| -> Option<Signal> {
            let offset = if rest.is_empty() {
                0
            } else {
                rest.parse::<i32>().ok()?
            };
            Signal::from_number(base + sign * offset).filter(|s| s.0 >= RTMIN)
        };
        let found = if let Some(rest) = name.strip_prefix("RTMIN") {
            realtime(rest.strip_prefix('+').unwrap_or(rest), RTMIN, 1)
        } else if let Some(rest) = name.strip_prefix("RTMAX") {
            realtime(rest.strip_prefix('-').unwrap_or(rest), RTMAX, -1)
        } else {
            None
        };
        found.ok_or_else(refuse)
    }

    /// The signal with this number, when Linux has one.
    pub fn from_number(n: i32) -> Option<Signal> {
        (1..=RTMAX).contains(&n).then_some(Signal(n))
    }

    /// The signal's number.
    pub fn number(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Signal {
    /// `SIGTERM`, `SIGRTMIN+3`, or the number for 32 and 33.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((_, name)) = NAMES.iter().find(|(n, _)| *n == self.0) {
            write!(f, "SIG{name}")
        } else if self.0 >= RTMIN {
            match self.0 - RTMIN {
                0 => f.write_str("SIGRTMIN"),
                k => write!(f, "SIGRTMIN+{k}"),
            }
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_case_with_or_without_sig() {
        for text in [
            "term", "TERM", "SIGTERM", "sigterm", "SigTerm", "15", " 15 ",
        ] {
            assert_eq!(Signal::parse(text).unwrap(), Signal::TERM, "{text}");
        }
        assert_eq!(Signal::parse("kill").unwrap(), Signal::KILL);
        assert_eq!(Signal::parse("SIGIOT").unwrap().number(), 6);
        assert_eq!(Signal::parse("cld").unwrap().number(), 17);
        assert_eq!(Signal::parse("winch").unwrap().number(), 28);
    }

    #[test]
    fn real_time_signals() {
        assert_eq!(Signal::parse("RTMIN").unwrap().number(), 34);
        assert_eq!(Signal::parse("SIGRTMIN+3").unwrap().number(), 37);
        assert_eq!(Signal::parse("rtmax-1").unwrap().number(), 63);
        assert_eq!(Signal::parse("RTMAX").unwrap().number(), 64);
        assert!(Signal::parse("RTMIN+31").is_err());
        assert!(Signal::parse("RTMAX-31").is_err());
        assert_eq!(Signal::parse("37").unwrap().to_string(), "SIGRTMIN+3");
    }

    #[test]
    fn unknown_signals_are_refused_by_name() {
        for text in ["TERMINATE", "SIGFOO", "0", "65", "-9", "", "SIG"] {
            let e = Signal::parse(text).unwrap_err();
            assert!(e.0.contains(&format!("{text:?}")), "{e}");
            assert!(e.0.contains("TERM"), "{e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for n in 1..=64 {
            let s = Signal::from_number(n).unwrap();
            assert_eq!(Signal::parse(&s.to_string()).unwrap(), s, "{s}");
        }
    }
}
