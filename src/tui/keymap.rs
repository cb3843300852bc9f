//! Key bindings: the commands a key can trigger, their default keys, the `[keys]` config table,
//! and the lookup from a terminal key event to a command.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Deserializer};

/// A key with modifiers, as written in the config file (`q`, `ctrl-c`, `shift-tab`, `pgdn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt (Shift is part of the character for printable keys).
    pub modifiers: KeyModifiers,
}

const KEY_SYNTAX: &str = "write a character (\"q\", \"G\", \"?\"), a name (enter, esc, tab, backtab, space, backspace, delete, insert, up, down, left, right, home, end, pgup, pgdn, f1-f12), optionally after ctrl-, alt- or shift-";

impl KeySpec {
    /// Normalizes a terminal key event so it compares equal to the parsed spec.
    pub fn from_event(event: KeyEvent) -> KeySpec {
        let mut modifiers =
            event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match event.code {
            KeyCode::Char(c) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(if modifiers.contains(KeyModifiers::CONTROL) {
                    // A terminal without key reporting sends ctrl-\ ] ^ _ as the bytes
                    // 0x1c-0x1f, which crossterm reads as ctrl-4 to ctrl-7.
                    match c {
                        '4' => '\\',
                        '5' => ']',
                        '6' => '^',
                        '7' => '_',
                        c => c.to_ascii_lowercase(),
                    }
                } else {
                    c
                })
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeySpec { code, modifiers }
    }
}

impl FromStr for KeySpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid key {s:?}: {KEY_SYNTAX}");
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (prefix, m) = if lower.starts_with("ctrl-") && rest.len() > 5 {
                ("ctrl-", KeyModifiers::CONTROL)
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                ("alt-", KeyModifiers::ALT)
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                ("shift-", KeyModifiers::SHIFT)
            } else {
                break;
            };
            modifiers |= m;
            rest = &rest[prefix.len()..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if modifiers.contains(KeyModifiers::SHIFT) {
                    modifiers.remove(KeyModifiers::SHIFT);
                    KeyCode::Char(c.to_ascii_uppercase())
                } else if modifiers.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => {
                let name = rest.to_ascii_lowercase();
                let code = match name.as_str() {
                    "enter" | "return" => KeyCode::Enter,
                    "esc" | "escape" => KeyCode::Esc,
                    "tab" if modifiers.contains(KeyModifiers::SHIFT) => {
                        modifiers.remove(KeyModifiers::SHIFT);
                        KeyCode::BackTab
                    }
                    "tab" => KeyCode::Tab,
                    "backtab" => KeyCode::BackTab,
                    "space" => KeyCode::Char(' '),
                    "backspace" => KeyCode::Backspace,
                    "delete" | "del" => KeyCode::Delete,
                    "insert" | "ins" => KeyCode::Insert,
                    "up" => KeyCode::Up,
                    "down" => KeyCode::Down,
                    "left" => KeyCode::Left,
                    "right" => KeyCode::Right,
                    "home" => KeyCode::Home,
                    "end" => KeyCode::End,
                    "pgup" | "pageup" => KeyCode::PageUp,
                    "pgdn" | "pagedown" => KeyCode::PageDown,
                    f if f.starts_with('f') => match f[1..].parse::<u8>() {
                        Ok(n @ 1..=12) => KeyCode::F(n),
                        _ => return Err(bad()),
                    },
                    _ => return Err(bad()),
                };
                if modifiers.contains(KeyModifiers::SHIFT) {
                    return Err(format!(
                        "invalid key {s:?}: shift- only combines with tab or a character"
                    ));
                }
                code
            }
        };
        Ok(KeySpec { code, modifiers })
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            _ => f.write_str("?"),
        }
    }
}

/// One key or a list of keys for a command in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyList(pub Vec<KeySpec>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let raw = OneOrMany::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected a key such as \"q\" or a list of keys such as [\"q\", \"ctrl-c\"]",
            )
        })?;
        let items = match raw {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        items
            .iter()
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .collect::<Result<Vec<_>, _>>()
            .map(KeyList)
    }
}

fn keys(specs: &[&str]) -> KeyList {
    KeyList(
        specs
            .iter()
            .map(|s| s.parse().expect("default key bindings parse"))
            .collect(),
    )
}

/// Declares every bindable command once: its config name, default keys and help text.
macro_rules! commands {
    ($( $variant:ident $field:ident [$($key:literal),*] $help:literal; )*) => {
        /// A command a key can trigger.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Command { $( #[doc = $help] $variant, )* }

        impl Command {
            /// Every command, in help order.
            pub const ALL: &'static [Command] = &[$(Command::$variant),*];

            /// The name used in the `[keys]` table.
            pub fn name(self) -> &'static str {
                match self { $(Command::$variant => stringify!($field),)* }
            }

            /// What the command does, for the help overlay.
            pub fn help(self) -> &'static str {
                match self { $(Command::$variant => $help,)* }
            }
        }

        /// The `[keys]` table: one entry per command, each a key or a list of keys.
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct KeyBindings { $( #[doc = $help] pub $field: KeyList, )* }

        impl Default for KeyBindings {
            fn default() -> Self {
                KeyBindings { $( $field: keys(&[$($key),*]), )* }
            }
        }

        impl KeyBindings {
            /// The keys bound to a command.
            pub fn get(&self, command: Command) -> &KeyList {
                match command { $(Command::$variant => &self.$field,)* }
            }
        }
    };
}

commands! {
    Quit quit ["q", "ctrl-c"] "quit dockhand";
    Help help ["?"] "show or hide this help";
    NextPane next_pane ["tab"] "next pane";
    PrevPane prev_pane ["shift-tab"] "previous pane";
    PaneContainers pane_containers ["1"] "go to Containers";
    PaneImages pane_images ["2"] "go to Images";
    PaneVolumes pane_volumes ["3"] "go to Volumes";
    PaneNetworks pane_networks ["4"] "go to Networks";
    Up up ["k", "up"] "move up";
    Down down ["j", "down"] "move down";
    Top top ["g", "home"] "go to the first row";
    Bottom bottom ["G", "end"] "go to the last row";
    PageUp page_up ["pgup", "ctrl-b"] "page up";
    PageDown page_down ["pgdn", "ctrl-f"] "page down";
    Filter filter ["/"] "filter rows (esc clears)";
    Palette palette [":"] "command line (see below)";
    Back back ["esc"] "back / clear filter";
    Focus focus ["enter"] "focus detail or terminal";
    NextTab next_tab ["]", "right"] "next tab or session";
    PrevTab prev_tab ["[", "left"] "previous tab or session";
    SortNext sort_next ["o"] "sort by the next column";
    SortReverse sort_reverse ["O"] "reverse the sort order";
    Mark mark ["space"] "mark for a bulk action";
    Fold fold ["z"] "fold a compose project";
    StartStop start_stop ["s"] "start or stop";
    Restart restart ["r"] "restart";
    Pause pause ["p"] "pause or unpause";
    Remove remove ["d"] "remove (asks first)";
    Kill kill ["ctrl-k"] "kill (asks first)";
    Create create ["c"] "run or create new";
    Pull pull ["P"] "pull an image";
    Build build ["b"] "build from a Dockerfile";
    Commit commit ["C"] "commit a container to an image";
    Prune prune ["X"] "prune the pane (asks first)";
    Shell shell ["e"] "open a shell inside";
    Attach attach ["a"] "attach to main process";
    Handover handover ["E"] "shell on the whole screen";
    Terminals terminals ["T"] "show or hide the terminals";
    TermLeave term_leave ["ctrl-]"] "leave a terminal";
    Logs logs ["l"] "show logs, merged if marked";
    Stats stats ["S"] "show stats";
    Inspect inspect ["i"] "show inspect";
    Follow follow ["f"] "follow logs on/off";
    Timestamps timestamps ["t"] "timestamps on/off";
    Wrap wrap ["w"] "wrap lines on/off";
    PrettyJson pretty_json ["J"] "JSON lines pretty on/off";
    NextMatch next_match ["n"] "next log match";
    PrevMatch prev_match ["N"] "previous log match";
    OnlyMatches only_matches ["F"] "only matching lines on/off";
    SaveLogs save_logs ["ctrl-s"] "save logs to a file";
    Refresh refresh ["ctrl-r"] "refresh now";
}

/// Why a key binding table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "key {key} is bound to both `{first}` and `{second}`; give one of them another key in [keys]"
)]
pub struct KeyConflict {
    /// The key bound twice.
    pub key: String,
    /// First command (in help order).
    pub first: &'static str,
    /// Second command.
    pub second: &'static str,
}

/// Lookup from a key to the command bound to it.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: KeyBindings,
    by_key: HashMap<KeySpec, Command>,
}

impl Keymap {
    /// Builds the lookup, refusing a key bound to two commands.
    pub fn new(bindings: KeyBindings) -> Result<Keymap, KeyConflict> {
        let mut by_key = HashMap::new();
        for &command in Command::ALL {
            for key in &bindings.get(command).0 {
                if let Some(previous) = by_key.insert(*key, command) {
                    return Err(KeyConflict {
                        key: key.to_string(),
                        first: previous.name(),
                        second: command.name(),
                    });
                }
            }
        }
        Ok(Keymap { bindings, by_key })
    }

    /// The command bound to a key event, if any.
    pub fn command(&self, event: KeyEvent) -> Option<Command> {
        self.by_key.get(&KeySpec::from_event(event)).copied()
    }

    /// The keys of a command joined for display (`q/ctrl-c`); empty when unbound.
    pub fn label(&self, command: Command) -> String {
        self.bindings
            .get(command)
            .0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key of a command for compact hints, if it has one.
    pub fn first_key(&self, command: Command) -> Option<String> {
        self.bindings
            .get(command)
            .0
            .first()
            .map(ToString::to_string)
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(KeyBindings::default()).expect("default bindings have no conflicts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn parses_and_prints_keys() {
        for s in [
            "q",
            "G",
            "ctrl-c",
            "shift-tab",
            "pgdn",
            "f5",
            "space",
            "alt-x",
            "?",
        ] {
            let k: KeySpec = s.parse().unwrap();
            assert_eq!(k.to_string(), s);
        }
        assert_eq!("shift-g".parse::<KeySpec>().unwrap().to_string(), "G");
        assert_eq!("CTRL-K".parse::<KeySpec>().unwrap().to_string(), "ctrl-k");
        assert_eq!("-".parse::<KeySpec>().unwrap().code, KeyCode::Char('-'));
    }

    #[test]
    fn rejects_bad_keys_with_the_syntax() {
        for s in ["", "ctrl-", "f13", "shift-enter", "hyper-q", "qq"] {
            let err = s.parse::<KeySpec>().unwrap_err();
            assert!(err.contains(&format!("{s:?}")), "{err}");
        }
    }

    #[test]
    fn events_match_bindings_regardless_of_shift_reporting() {
        let map = Keymap::default();
        assert_eq!(
            map.command(key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Command::Bottom)
        );
        assert_eq!(
            map.command(key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        assert_eq!(
            map.command(key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Command::PrevPane)
        );
        assert_eq!(
            map.command(key(KeyCode::Char('v'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn conflicts_are_refused_with_both_names() {
        let b = KeyBindings {
            help: KeyList(vec!["q".parse().unwrap()]),
            ..KeyBindings::default()
        };
        let err = Keymap::new(b).unwrap_err();
        assert_eq!(err.first, "quit");
        assert_eq!(err.second, "help");
        assert!(err.to_string().contains("key q"));
    }
}
