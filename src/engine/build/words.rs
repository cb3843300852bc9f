//! Words of a Dockerfile as Docker's shell lexer reads them: splitting at unquoted
//! whitespace, quotes (`'…'` literal, `"…"` with variables and escapes of `"`, `$` and the
//! escape character), the escape character (`\` or the `# escape` directive's backtick), and
//! variables — `$V`, `${V}`, `${V:-word}`, `${V-word}`, `${V:+word}`, `${V+word}`,
//! `${V:?message}`, `${V?message}` — replaced from the build's environment and arguments.

/// Looks a variable up: its value when set.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Splits `text` at unquoted whitespace, keeping quotes and escapes as written (the
/// arguments of ENV, LABEL and ARG, whose values are processed one by one later).
pub fn split_raw(text: &str, escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == escape && q == '"' {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            None => {
                word.push(c);
                if c == escape {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// One word with its quotes removed, escapes applied and variables replaced.
pub fn word(text: &str, escape: char, env: Lookup) -> Result<String, String> {
    let mut l = Lexer::new(text, escape, env);
    let words = l.run(false)?;
    Ok(words.into_iter().next().unwrap_or_default())
}

/// Words as a shell would split them: at unquoted whitespace, also inside the value of an
/// unquoted variable; quotes removed, escapes applied, variables replaced.
pub fn words(text: &str, escape: char, env: Lookup) -> Result<Vec<String>, String> {
    Lexer::new(text, escape, env).run(true)
}

/// A heredoc's body with its variables replaced; quotes and other text stay as written
/// (the escape character before `$` keeps it literal).
pub fn heredoc(text: &str, escape: char, env: Lookup) -> Result<String, String> {
    let mut l = Lexer::new(text, escape, env);
    let mut out = String::new();
    while let Some(c) = l.next() {
        match c {
            '$' => out.push_str(&l.variable()?),
            c if c == escape && l.peek() == Some('$') => {
                l.at += 1;
                out.push('$');
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

struct Lexer<'a> {
    chars: Vec<char>,
    at: usize,
    escape: char,
    env: Lookup<'a>,
}

/// The words being made.
struct Out {
    split: bool,
    words: Vec<String>,
    word: String,
    /// Whether the current word has begun (an empty quoted string is a word).
    started: bool,
}

impl Out {
    fn raw(&mut self, c: char) {
        self.word.push(c);
        self.started = true;
    }

    /// A character that may split words (unquoted text and unquoted expansions).
    fn splitting(&mut self, c: char) {
        if self.split && c.is_whitespace() {
            self.end();
        } else {
            self.raw(c);
        }
    }

    fn end(&mut self) {
        if self.started {
            self.words.push(std::mem::take(&mut self.word));
            self.started = false;
        }
    }
}

impl<'a> Lexer<'a> {
    fn new(text: &str, escape: char, env: Lookup<'a>) -> Lexer<'a> {
        Lexer {
            chars: text.chars().collect(),
            at: 0,
            escape,
            env,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += 1;
        c
    }

    fn run(&mut self, split: bool) -> Result<Vec<String>, String> {
        let mut out = Out {
            split,
            words: Vec::new(),
            word: String::new(),
            started: false,
        };
        while let Some(c) = self.next() {
            match c {
                '\'' => {
                    out.started = true;
                    loop {
                        match self.next() {
                            Some('\'') => break,
                            Some(c) => out.raw(c),
                            None => return Err("unexpected end of text: a ' is not closed".into()),
                        }
                    }
                }
                '"' => {
                    out.started = true;
                    loop {
                        match self.next() {
                            Some('"') => break,
                            Some('$') => {
                                let v = self.variable()?;
                                v.chars().for_each(|c| out.raw(c));
                            }
                            Some(c) if c == self.escape => match self.next() {
                                Some(n) if n == '"' || n == '$' || n == self.escape => out.raw(n),
                                Some(n) => {
                                    out.raw(c);
                                    out.raw(n);
                                }
                                None => {
                                    return Err("unexpected end of text: a \" is not closed".into());
                                }
                            },
                            Some(c) => out.raw(c),
                            None => return Err("unexpected end of text: a \" is not closed".into()),
                        }
                    }
                }
                '$' => {
                    let v = self.variable()?;
                    v.chars().for_each(|c| out.splitting(c));
                }
                c if c == self.escape => match self.next() {
                    Some(n) => out.raw(n),
                    // A trailing escape stays as written.
                    None => out.raw(c),
                },
                c => out.splitting(c),
            }
        }
        out.end();
        Ok(out.words)
    }

    /// After a `$`: the variable's value (or `$` itself when no name follows).
    fn variable(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('{') => {
                self.at += 1;
                self.braced()
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                Ok((self.env)(&name).unwrap_or_default())
            }
            _ => Ok("$".into()),
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.at += 1;
            } else {
                break;
            }
        }
        name
    }

    /// `${…}` after its `{`.
    fn braced(&mut self) -> Result<String, String> {
        let name = self.name();
        if name.is_empty() {
            return Err("bad substitution: ${ must be followed by a variable name".into());
        }
        let value = (self.env)(&name);
        let colon = self.peek() == Some(':');
        if colon {
            self.at += 1;
        }
        let op = self.next();
        if op == Some('}') && !colon {
            return Ok(value.unwrap_or_default());
        }
        let Some(op @ ('-' | '+' | '?')) = op else {
            return Err(format!(
                "bad substitution in ${{{name}…}}: use ${{{name}}}, ${{{name}:-default}}, ${{{name}:+alternative}} or ${{{name}:?message}}"
            ));
        };
        // The word up to the matching brace, itself expanded.
        let mut depth = 0;
        let mut raw = String::new();
        loop {
            match self.next() {
                Some('}') if depth == 0 => break,
                Some(c) => {
                    if c == '{' {
                        depth += 1;
                    } else if c == '}' {
                        depth -= 1;
                    }
                    raw.push(c);
                }
                None => return Err(format!("bad substitution: ${{{name} is not closed")),
            }
        }
        let set = match &value {
            Some(v) => !colon || !v.is_empty(),
            None => false,
        };
        let expand = |s: &str| word(s, self.escape, self.env);
        match op {
            '-' if set => Ok(value.unwrap_or_default()),
            '-' => expand(&raw),
            '+' if set => expand(&raw),
            '+' => Ok(String::new()),
            _ if set => Ok(value.unwrap_or_default()),
            _ => {
                let message = expand(&raw)?;
                Err(if message.is_empty() {
                    format!("{name}: a value is required")
                } else {
                    format!("{name}: {message}")
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("one".into()),
            "SP" => Some("x y".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn w(s: &str) -> String {
        word(s, '\\', &env).unwrap()
    }

    #[test]
    fn variables_expand_as_docker_does() {
        assert_eq!(w("$A"), "one");
        assert_eq!(w("${A}b"), "oneb");
        assert_eq!(w("$Ab"), "");
        assert_eq!(w("${NOPE:-dflt}"), "dflt");
        assert_eq!(w("${EMPTY:-dflt}"), "dflt");
        assert_eq!(w("${EMPTY-dflt}"), "");
        assert_eq!(w("${A:+alt}"), "alt");
        assert_eq!(w("${NOPE:+alt}"), "");
        assert_eq!(w("${NOPE:-${A}}"), "one");
        assert_eq!(w("'$A'"), "$A");
        assert_eq!(w("\"$A\""), "one");
        assert_eq!(w("\\$A"), "$A");
        assert_eq!(w("\"a\\\"b\""), "a\"b");
        assert_eq!(w("\"a\\nb\""), "a\\nb");
        assert_eq!(w("cost$"), "cost$");
        assert!(
            word("${NOPE:?must be set}", '\\', &env)
                .unwrap_err()
                .contains("NOPE: must be set")
        );
        assert!(word("${A", '\\', &env).is_err());
        assert!(
            word("${A/x}", '\\', &env)
                .unwrap_err()
                .contains("bad substitution")
        );
    }

    #[test]
    fn words_split_outside_quotes() {
        let ws = |s: &str| words(s, '\\', &env).unwrap();
        assert_eq!(ws("a  b"), ["a", "b"]);
        assert_eq!(ws("\"a b\" c"), ["a b", "c"]);
        assert_eq!(ws("$SP z"), ["x", "y", "z"]);
        assert_eq!(ws("\"$SP\" z"), ["x y", "z"]);
        assert_eq!(ws("'' x"), ["", "x"]);
        assert_eq!(words("a` b", '`', &env).unwrap(), ["a b"]);
    }

    #[test]
    fn heredoc_bodies_keep_quotes() {
        assert_eq!(
            heredoc("echo \"$A\" '${SP}' \\$A\n", '\\', &env).unwrap(),
            "echo \"one\" 'x y' $A\n"
        );
    }

    #[test]
    fn raw_split_keeps_quotes() {
        assert_eq!(
            split_raw("A=\"x y\" B='z w' C=d\\ e", '\\'),
            ["A=\"x y\"", "B='z w'", "C=d\\ e"]
        );
    }
}
