//! The `:` command palette, k9s-style: the line being edited, completion of the word under
//! the cursor (command names, then the names each command takes, from the lists on screen),
//! the history of the lines run (up and down), and the parsing of a line into a
//! [`PaletteCommand`]. An unknown command is answered with the closest known one. What a
//! command does is the app's (`app/command_line.rs`); this only reads and edits text.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::panes::PaneKind;

/// Lines kept in the history.
const HISTORY: usize = 100;

/// What a command's arguments name, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Nothing to complete.
    Nothing,
    /// Containers (names), and compose projects for `logs`.
    Containers,
    /// Image references.
    Images,
    /// Rows of the pane in front.
    Pane,
    /// Endpoints: the embedded engine, Docker, Podman, those of the config.
    Endpoints,
}

/// One command of the palette.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Its name.
    pub name: &'static str,
    /// Shorter names for it.
    pub aliases: &'static [&'static str],
    /// Its arguments, for the help line.
    pub usage: &'static str,
    /// What its first arguments name.
    pub names: Names,
    /// Whether only the first argument is a name (the rest being a command line).
    pub one_name: bool,
    /// What it does, for the help overlay.
    pub help: &'static str,
}

/// Every command, in help order.
pub const COMMANDS: &[Spec] = &[
    spec("containers", &["co", "ps", "container"], "", Names::Nothing)
        .help("Containers pane (co, ps)"),
    spec("images", &["im", "img", "image"], "", Names::Nothing).help("Images pane (im)"),
    spec("volumes", &["vol", "volume"], "", Names::Nothing).help("Volumes pane (vol)"),
    spec("networks", &["net", "network"], "", Names::Nothing).help("Networks pane (net)"),
    spec(
        "logs",
        &["log"],
        "NAME…|PROJECT [--since 10m]",
        Names::Containers,
    )
    .help("logs, merged [--since]"),
    spec("exec", &["sh"], "NAME [CMD…]", Names::Containers)
        .one_name()
        .help("NAME [CMD] run inside"),
    spec("run", &[], "IMAGE [CMD…]", Names::Images)
        .one_name()
        .help("IMAGE [CMD] detached"),
    spec("pull", &[], "REF", Names::Images)
        .one_name()
        .help("REF pull an image"),
    spec("rm", &["remove", "delete"], "NAME…", Names::Pane).help("NAME… remove (asks)"),
    spec("filter", &["f"], "TEXT", Names::Nothing).help("TEXT filter the pane"),
    spec(
        "endpoint",
        &["ep", "ctx", "context"],
        "[NAME]",
        Names::Endpoints,
    )
    .one_name()
    .help("NAME switch backend"),
    spec("help", &["h", "?"], "", Names::Nothing).help("this help"),
    spec("quit", &["q", "q!", "exit"], "", Names::Nothing).help("quit dockhand (q)"),
];

const fn spec(
    name: &'static str,
    aliases: &'static [&'static str],
    usage: &'static str,
    names: Names,
) -> Spec {
    Spec {
        name,
        aliases,
        usage,
        names,
        one_name: false,
        help: "",
    }
}

impl Spec {
    const fn one_name(self) -> Spec {
        Spec {
            one_name: true,
            ..self
        }
    }

    const fn help(self, help: &'static str) -> Spec {
        Spec { help, ..self }
    }
}

/// A command line read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteCommand {
    /// Bring a pane to the front.
    Pane(PaneKind),
    /// Logs of containers (several merged) or of a compose project, from `since`.
    Logs {
        /// Names, ids or projects.
        names: Vec<String>,
        /// `--since` as written.
        since: Option<String>,
    },
    /// A command in a running container, on this terminal.
    Exec {
        /// The container.
        name: String,
        /// The command (a shell when empty).
        command: Vec<String>,
    },
    /// A detached container of an image.
    Run {
        /// The image.
        image: String,
        /// Its command (the image's when empty).
        command: Vec<String>,
    },
    /// Pull an image.
    Pull(String),
    /// Remove rows of the pane in front, asking first.
    Remove(Vec<String>),
    /// Filter the pane in front.
    Filter(String),
    /// Switch to another endpoint (`None`: say which one is in use and which there are).
    Endpoint(Option<String>),
    /// The help overlay.
    Help,
    /// Leave.
    Quit,
}

/// Reads a line (without its `:`) into a command; the error names what was wrong and what
/// to write instead.
pub fn parse(line: &str) -> Result<PaletteCommand, String> {
    let words = shlex::split(line).ok_or_else(|| format!("unbalanced quotes in \"{line}\""))?;
    let Some((first, args)) = words.split_first() else {
        return Err("type a command, e.g. :containers or :logs NAME (:help lists them)".into());
    };
    let Some(spec) = find(first) else {
        return Err(match closest(first) {
            Some(c) => format!("unknown command :{first}; did you mean :{c}?"),
            None => format!("unknown command :{first} (:help lists the commands)"),
        });
    };
    let usage = || format!("usage: :{} {}", spec.name, spec.usage);
    let none = |c: PaletteCommand| {
        if args.is_empty() {
            Ok(c)
        } else {
            Err(format!(":{} takes no arguments", spec.name))
        }
    };
    match spec.name {
        "containers" => none(PaletteCommand::Pane(PaneKind::Containers)),
        "images" => none(PaletteCommand::Pane(PaneKind::Images)),
        "volumes" => none(PaletteCommand::Pane(PaneKind::Volumes)),
        "networks" => none(PaletteCommand::Pane(PaneKind::Networks)),
        "help" => none(PaletteCommand::Help),
        "quit" => none(PaletteCommand::Quit),
        "logs" => {
            let mut names = Vec::new();
            let mut since = None;
            let mut rest = args.iter();
            while let Some(a) = rest.next() {
                if a == "--since" {
                    since = Some(rest.next().ok_or_else(usage)?.clone());
                } else if let Some(v) = a.strip_prefix("--since=") {
                    since = Some(v.to_string());
                } else if a.starts_with('-') {
                    return Err(format!("unknown option {a}; {}", usage()));
                } else {
                    names.push(a.clone());
                }
            }
            if names.is_empty() {
                return Err(usage());
            }
            Ok(PaletteCommand::Logs { names, since })
        }
        "exec" => {
            let (name, command) = args.split_first().ok_or_else(usage)?;
            // Without a command, a shell, as `e` opens.
            Ok(PaletteCommand::Exec {
                name: name.clone(),
                command: command.to_vec(),
            })
        }
        "run" => {
            let (image, command) = args.split_first().ok_or_else(usage)?;
            Ok(PaletteCommand::Run {
                image: image.clone(),
                command: command.to_vec(),
            })
        }
        "pull" => match args {
            [r] => Ok(PaletteCommand::Pull(r.clone())),
            _ => Err(usage()),
        },
        "rm" if !args.is_empty() => Ok(PaletteCommand::Remove(args.to_vec())),
        "filter" => Ok(PaletteCommand::Filter(args.join(" "))),
        "endpoint" => match args {
            [] => Ok(PaletteCommand::Endpoint(None)),
            [name] => Ok(PaletteCommand::Endpoint(Some(name.clone()))),
            _ => Err(usage()),
        },
        _ => Err(usage()),
    }
}

/// The command called `word` (by name or alias).
pub fn find(word: &str) -> Option<&'static Spec> {
    COMMANDS
        .iter()
        .find(|s| s.name == word || s.aliases.contains(&word))
}

/// The known command nearest to a misspelt `word`, if one is near enough.
fn closest(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
        .map(|n| (strsim::damerau_levenshtein(word, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3) && *d < n.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| find(n).map_or(n, |s| s.name))
}

/// What a key did to the palette.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still editing.
    Editing,
    /// Closed without running anything.
    Closed,
    /// Enter on a line: run it.
    Run(String),
}

/// The command line: its text, the candidates of the last completion, and the history.
#[derive(Debug, Clone, Default)]
pub struct Palette {
    /// The text after `:`.
    pub text: String,
    /// What the last tab could complete to, when it was not one thing.
    pub candidates: Vec<String>,
    history: Vec<String>,
    /// Where up/down is in the history (`None`: the line being written).
    back: Option<usize>,
    /// The line being written, kept while the history is browsed.
    draft: String,
}

impl Palette {
    /// Opens an empty line.
    pub fn open(&mut self) {
        self.text.clear();
        self.candidates.clear();
        self.back = None;
    }

    /// The lines run, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Applies a key; `names` gives what a command's arguments may be.
    pub fn key(&mut self, key: KeyEvent, names: impl Fn(Names) -> Vec<String>) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code != KeyCode::Tab {
            self.candidates.clear();
        }
        match key.code {
            KeyCode::Esc => return Outcome::Closed,
            KeyCode::Char('c') if ctrl => return Outcome::Closed,
            KeyCode::Enter => {
                let line = self.text.trim().to_string();
                if line.is_empty() {
                    return Outcome::Closed;
                }
                self.history.retain(|h| *h != line);
                self.history.push(line.clone());
                if self.history.len() > HISTORY {
                    self.history.remove(0);
                }
                return Outcome::Run(line);
            }
            KeyCode::Backspace if self.text.is_empty() => return Outcome::Closed,
            KeyCode::Backspace => {
                self.text.pop();
            }
            KeyCode::Char('u') if ctrl => self.text.clear(),
            KeyCode::Char('w') if ctrl => {
                let kept = self.text.trim_end().rfind(' ').map_or(0, |i| i + 1);
                self.text.truncate(kept);
            }
            KeyCode::Up => self.browse(true),
            KeyCode::Down => self.browse(false),
            KeyCode::Tab => self.complete(names),
            KeyCode::Char(c) if !ctrl => self.text.push(c),
            _ => {}
        }
        Outcome::Editing
    }

    fn browse(&mut self, older: bool) {
        let at = match (self.back, older) {
            (None, true) if !self.history.is_empty() => {
                self.draft = self.text.clone();
                Some(self.history.len() - 1)
            }
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
            (None, _) => return,
        };
        self.back = at;
        self.text = match at {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
    }

    /// Completes the last word: a command name first, then what the command takes.
    fn complete(&mut self, names: impl Fn(Names) -> Vec<String>) {
        let start = self.text.rfind(' ').map_or(0, |i| i + 1);
        let word = &self.text[start..];
        let words_before = self.text[..start].split_whitespace().count();
        let mut options: Vec<String> = if words_before == 0 {
            COMMANDS.iter().map(|s| s.name.to_string()).collect()
        } else {
            let first = self.text.split_whitespace().next().unwrap_or_default();
            match find(first) {
                Some(s) if !(s.one_name && words_before > 1) => names(s.names),
                _ => Vec::new(),
            }
        };
        options.retain(|o| o.starts_with(word));
        options.sort();
        options.dedup();
        match options.as_slice() {
            [] => self.candidates.clear(),
            [one] => {
                self.text.truncate(start);
                self.text.push_str(one);
                self.text.push(' ');
                self.candidates.clear();
            }
            many => {
                let common = common_prefix(many);
                if common.len() > word.len() {
                    self.text.truncate(start);
                    self.text.push_str(&common);
                }
                self.candidates = many.to_vec();
            }
        }
    }
}

fn common_prefix(words: &[String]) -> String {
    let first = &words[0];
    let mut end = first.len();
    for w in &words[1..] {
        end = end.min(
            first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a == b)
                .map(|((i, a), _)| i + a.len_utf8())
                .last()
                .unwrap_or(0),
        );
    }
    first[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(p: &mut Palette, keys: &str) -> Outcome {
        let names = |n: Names| match n {
            Names::Containers => vec!["web-1".into(), "web-2".into(), "db".into()],
            Names::Images => vec!["busybox:latest".into()],
            _ => Vec::new(),
        };
        let mut last = Outcome::Editing;
        for c in keys.chars() {
            let code = match c {
                '\t' => KeyCode::Tab,
                '\n' => KeyCode::Enter,
                '↑' => KeyCode::Up,
                '↓' => KeyCode::Down,
                c => KeyCode::Char(c),
            };
            last = p.key(KeyEvent::new(code, KeyModifiers::NONE), names);
        }
        last
    }

    #[test]
    fn lines_are_read_into_commands_or_told_what_is_wrong() {
        assert_eq!(parse("co"), Ok(PaletteCommand::Pane(PaneKind::Containers)));
        assert_eq!(parse("net"), Ok(PaletteCommand::Pane(PaneKind::Networks)));
        assert_eq!(
            parse("ctx docker"),
            Ok(PaletteCommand::Endpoint(Some("docker".into())))
        );
        assert_eq!(parse("endpoint"), Ok(PaletteCommand::Endpoint(None)));
        assert_eq!(
            parse("endpoint a b"),
            Err("usage: :endpoint [NAME]".to_string())
        );
        assert_eq!(
            parse("endpiont docker"),
            Err("unknown command :endpiont; did you mean :endpoint?".to_string())
        );
        assert_eq!(
            parse("logs web db --since 10m"),
            Ok(PaletteCommand::Logs {
                names: vec!["web".into(), "db".into()],
                since: Some("10m".into())
            })
        );
        assert_eq!(
            parse("exec web sh -c 'echo hi there'"),
            Ok(PaletteCommand::Exec {
                name: "web".into(),
                command: vec!["sh".into(), "-c".into(), "echo hi there".into()]
            })
        );
        assert_eq!(
            parse("run busybox sleep 5"),
            Ok(PaletteCommand::Run {
                image: "busybox".into(),
                command: vec!["sleep".into(), "5".into()]
            })
        );
        assert_eq!(
            parse("rm a b"),
            Ok(PaletteCommand::Remove(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            parse("filter web 1"),
            Ok(PaletteCommand::Filter("web 1".into()))
        );
        assert_eq!(
            parse("contaners").unwrap_err(),
            "unknown command :contaners; did you mean :containers?"
        );
        assert_eq!(
            parse("imgs").unwrap_err(),
            "unknown command :imgs; did you mean :images?"
        );
        assert!(parse("zzzzzzzz").unwrap_err().contains(":help"));
        assert!(parse("logs").unwrap_err().contains("usage: :logs NAME"));
        assert!(parse("logs web --tail 3").unwrap_err().contains("--tail"));
        assert!(parse("pull").unwrap_err().contains("usage: :pull REF"));
        assert!(parse("images x").unwrap_err().contains("no arguments"));
        assert!(parse("exec 'web").unwrap_err().contains("quotes"));
    }

    #[test]
    fn tab_completes_commands_then_names_and_history_comes_back() {
        let mut p = Palette::default();
        press(&mut p, "lo\t");
        assert_eq!(p.text, "logs ");
        press(&mut p, "w\t");
        assert_eq!(p.text, "logs web-", "the common prefix");
        assert_eq!(p.candidates, vec!["web-1", "web-2"]);
        press(&mut p, "2\t");
        assert_eq!(p.text, "logs web-2 ");
        assert_eq!(press(&mut p, "\n"), Outcome::Run("logs web-2".into()));
        // exec completes only its container, not the command after it.
        p.open();
        press(&mut p, "exec d\t");
        assert_eq!(p.text, "exec db ");
        press(&mut p, "w\t");
        assert_eq!(p.text, "exec db w");
        assert_eq!(press(&mut p, "\n"), Outcome::Run("exec db w".into()));
        p.open();
        press(&mut p, "co");
        press(&mut p, "↑");
        assert_eq!(p.text, "exec db w");
        press(&mut p, "↑");
        assert_eq!(p.text, "logs web-2");
        press(&mut p, "↓↓");
        assert_eq!(p.text, "co", "the draft comes back");
        assert_eq!(p.history().len(), 2);
    }
}
