//! The Dockerfile's text into instructions, as Docker reads it: parser directives at the top
//! (`# syntax=`, `# escape=`, `# check=`), comments, line continuations with the escape
//! character, empty continuation lines, BuildKit's heredocs (`<<EOF`, `<<-EOF`, quoted
//! names) after RUN, COPY and ADD, `--flag` words, and the JSON form. Each instruction keeps
//! the line it starts on, for errors.

use std::fmt;

/// A syntax error, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, and how to write it.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dockerfile line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// A heredoc's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The name after `<<`.
    pub name: String,
    /// The lines up to the closing name, each with its newline.
    pub body: String,
    /// Whether variables in the body are expanded (the name was not quoted).
    pub expand: bool,
    /// The file descriptor number before `<<`, if any.
    pub fd: Option<u32>,
}

/// What follows the keyword and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// `["a", "b"]`.
    Json(Vec<String>),
    /// Anything else, as written (continuations joined).
    Shell(String),
}

/// One instruction as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// The line it starts on.
    pub line: usize,
    /// Its keyword, upper case.
    pub keyword: String,
    /// `--name=value` and `--name` words before the arguments, in order.
    pub flags: Vec<(String, Option<String>)>,
    /// The arguments.
    pub args: Args,
    /// Heredocs the arguments open.
    pub heredocs: Vec<Heredoc>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub escape: char,
    /// The `# syntax=` directive.
    pub syntax: Option<String>,
    /// Instructions in order.
    pub instructions: Vec<Raw>,
}

/// Keywords with heredocs.
const HEREDOC_KEYWORDS: &[&str] = &["RUN", "COPY", "ADD"];

/// Parses a Dockerfile.
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut escape = '\\';
    let mut syntax = None;
    let mut seen = Vec::new();
    let mut i = 0;
    // Directives: only before any other line, comment or instruction.
    while i < lines.len() {
        let Some((key, value)) = directive(lines[i]) else {
            break;
        };
        let line = i + 1;
        if seen.contains(&key) {
            return Err(SyntaxError {
                line,
                message: format!("the {key} parser directive can be given only once"),
            });
        }
        match key.as_str() {
            "escape" => {
                escape = match value.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(SyntaxError {
                            line,
                            message: format!(
                                "invalid escape character {other:?}: write # escape=\\ or # escape=`"
                            ),
                        });
                    }
                }
            }
            "syntax" => syntax = Some(value),
            "check" => {}
            // Unknown directives are comments, and end the directives.
            _ => break,
        }
        seen.push(key);
        i += 1;
    }
    let mut instructions = Vec::new();
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let line = i + 1;
        let mut logical = String::new();
        let mut rest = trimmed;
        loop {
            let (body, more) = continued(rest, escape);
            logical.push_str(body);
            i += 1;
            if !more {
                break;
            }
            // Comment and empty lines inside a continuation are left out.
            while i < lines.len() {
                let t = lines[i].trim_start();
                if t.is_empty() || t.starts_with('#') {
                    i += 1;
                } else {
                    break;
                }
            }
            if i >= lines.len() {
                break;
            }
            rest = lines[i];
        }
        let mut raw = instruction(&logical, line)?;
        if HEREDOC_KEYWORDS.contains(&raw.keyword.as_str()) {
            if let Args::Shell(args) = &raw.args {
                for (fd, name, strip, expand) in markers(args) {
                    let mut body = String::new();
                    let mut closed = false;
                    while i < lines.len() {
                        let l = lines[i];
                        i += 1;
                        let l = if strip { l.trim_start_matches('\t') } else { l };
                        if l == name {
                            closed = true;
                            break;
                        }
                        body.push_str(l);
                        body.push('\n');
                    }
                    if !closed {
                        return Err(SyntaxError {
                            line,
                            message: format!(
                                "the heredoc <<{name} is not closed: end it with a line holding only {name}"
                            ),
                        });
                    }
                    raw.heredocs.push(Heredoc {
                        name,
                        body,
                        expand,
                        fd,
                    });
                }
            }
        }
        instructions.push(raw);
    }
    Ok(Parsed {
        escape,
        syntax,
        instructions,
    })
}

/// `# key=value` at the top of the file.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix('#')?;
    let (key, value) = rest.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((key.to_ascii_lowercase(), value.trim().to_string()))
}

/// A line without its continuation mark, and whether one was there.
fn continued(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end();
    match t.strip_suffix(escape) {
        Some(body) => (body, true),
        None => (line, false),
    }
}

/// Keyword, flags and arguments of one logical line.
fn instruction(logical: &str, line: usize) -> Result<Raw, SyntaxError> {
    let logical = logical.trim();
    let (keyword, mut rest) = match logical.find(char::is_whitespace) {
        Some(at) => (&logical[..at], logical[at..].trim_start()),
        None => (logical, ""),
    };
    if !keyword.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(SyntaxError {
            line,
            message: format!("unknown instruction: {keyword}"),
        });
    }
    let keyword = keyword.to_ascii_uppercase();
    let mut flags = Vec::new();
    // ONBUILD's flags belong to the instruction it holds.
    while keyword != "ONBUILD" && rest.starts_with("--") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[2..end];
        if word.is_empty() {
            break;
        }
        match word.split_once('=') {
            Some((k, v)) => flags.push((k.to_ascii_lowercase(), Some(v.to_string()))),
            None => flags.push((word.to_ascii_lowercase(), None)),
        }
        rest = rest[end..].trim_start();
    }
    let args = if rest.starts_with('[') {
        match serde_json::from_str::<Vec<String>>(rest) {
            Ok(v) => Args::Json(v),
            Err(_) => Args::Shell(rest.to_string()),
        }
    } else {
        Args::Shell(rest.to_string())
    };
    Ok(Raw {
        line,
        keyword,
        flags,
        args,
        heredocs: Vec::new(),
    })
}

/// The heredocs a shell-form line opens: fd, name, whether tabs are stripped (`<<-`),
/// whether the body is expanded (name unquoted).
fn markers(args: &str) -> Vec<(Option<u32>, String, bool, bool)> {
    let mut out = Vec::new();
    for word in args.split_whitespace() {
        let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
        let Some(rest) = word[digits.len()..].strip_prefix("<<") else {
            continue;
        };
        if rest.starts_with('<') {
            continue;
        }
        let (strip, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (name, quoted) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => match rest[1..].strip_suffix(q) {
                Some(n) => (n.to_string(), true),
                None => continue,
            },
            _ => (rest.to_string(), false),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            continue;
        }
        out.push((digits.parse().ok(), name, strip, !quoted));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Raw {
        let p = parse(text).unwrap();
        assert_eq!(p.instructions.len(), 1, "{:?}", p.instructions);
        p.instructions.into_iter().next().unwrap()
    }

    #[test]
    fn directives_only_at_the_top() {
        let p = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a `\n  b\n").unwrap();
        assert_eq!(p.escape, '`');
        assert_eq!(p.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(p.instructions[1].args, Args::Shell("a   b".into()));
        let p = parse("# comment\n# escape=`\nFROM x\n").unwrap();
        assert_eq!(p.escape, '\\', "a directive after a comment is a comment");
        let err = parse("# escape=x\nFROM a\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("escape"), "{err}");
        assert!(parse("# escape=`\n# escape=\\\n").is_err());
    }

    #[test]
    fn continuations_comments_and_lines() {
        let p =
            parse("FROM a\n\n# c\nRUN echo 1 \\\n# inside\n\n  && echo 2\nCMD [\"sh\", \"-c\"]\n")
                .unwrap();
        assert_eq!(p.instructions.len(), 3);
        assert_eq!(p.instructions[1].line, 4);
        assert_eq!(
            p.instructions[1].args,
            Args::Shell("echo 1   && echo 2".into())
        );
        assert_eq!(p.instructions[2].line, 8);
        assert_eq!(
            p.instructions[2].args,
            Args::Json(vec!["sh".into(), "-c".into()])
        );
        assert_eq!(one("cmd [not json").args, Args::Shell("[not json".into()));
    }

    #[test]
    fn flags_before_arguments() {
        let r = one("COPY --from=build --chown=1:2 --link a b");
        assert_eq!(
            r.flags,
            [
                ("from".to_string(), Some("build".to_string())),
                ("chown".to_string(), Some("1:2".to_string())),
                ("link".to_string(), None),
            ]
        );
        assert_eq!(r.args, Args::Shell("a b".into()));
        let err = parse("FROM a\nRUN-X b\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("unknown instruction"));
    }

    #[test]
    fn heredocs() {
        let p = parse(
            "FROM a\nRUN <<EOF\necho $X\nEOF\nCOPY <<-'A' <<B /dst/\n\tone\n\tA\ntwo\nB\nRUN x\n",
        )
        .unwrap();
        assert_eq!(p.instructions.len(), 4);
        let run = &p.instructions[1];
        assert_eq!(run.heredocs[0].body, "echo $X\n");
        assert!(run.heredocs[0].expand);
        let copy = &p.instructions[2];
        assert_eq!(copy.heredocs.len(), 2);
        assert_eq!(copy.heredocs[0].body, "one\n");
        assert!(!copy.heredocs[0].expand);
        assert_eq!(copy.heredocs[1].body, "two\n");
        assert_eq!(p.instructions[3].line, 10);
        let err = parse("FROM a\nRUN <<EOF\necho\n").unwrap_err();
        assert!(err.message.contains("not closed"), "{err}");
        // Not a heredoc outside RUN, COPY and ADD.
        assert!(one("LABEL a=<<EOF").heredocs.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "(?s).{0,400}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_dockerfile_like_text(
            lines in proptest::collection::vec(
                "(FROM|RUN|COPY|# escape=|ENV|<<EOF|EOF|\\\\| |\t|--x=|\\[\"a\"\\]|[a-z$={}\"'`]){0,12}",
                0..12,
            )
        ) {
            let _ = parse(&lines.join("\n"));
        }
    }
}
