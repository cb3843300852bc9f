//! `.dockerignore` as Docker reads it: one pattern a line, `#` comments, `!` exceptions,
//! paths cleaned and relative to the context, `*` and `?` within one path element, `[…]`
//! classes, `**` for any number of elements; a path is left out when the last pattern
//! matching it (or one of its parent directories) is not an exception.

use regex::Regex;

use super::Invalid;

/// One pattern.
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    exception: bool,
}

/// The patterns of a `.dockerignore` file.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

/// Cleans a relative path the way Go's `filepath.Clean` does, without leading `/` or `./`.
pub fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn to_regex(pattern: &str) -> Result<Regex, String> {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    // `**/` is any number of whole elements, none included.
                    i += 1;
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or("a [ is not closed")?;
                let inner = &chars[i + 1..i + 1 + close];
                let (negated, inner) = match inner.first() {
                    Some('^' | '!') => (true, &inner[1..]),
                    _ => (false, inner),
                };
                let mut class = String::from(if negated { "^" } else { "" });
                for c in inner {
                    match c {
                        '-' => class.push('-'),
                        c => class.push_str(&regex::escape(&c.to_string())),
                    }
                }
                re.push('[');
                re.push_str(&class);
                re.push(']');
                i += close + 1;
            }
            '\\' if i + 1 < chars.len() => {
                i += 1;
                re.push_str(&regex::escape(&chars[i].to_string()));
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    Regex::new(&re).map_err(|e| e.to_string())
}

/// One element of a path pattern (`*`, `?`, `[…]`) as a regular expression over a name, for
/// the sources of COPY and ADD.
pub fn pattern(p: &str) -> Result<Regex, Invalid> {
    to_regex(p).map_err(|e| Invalid::new(format!("{p:?} is not a valid pattern ({e})")))
}

impl Ignore {
    /// Parses the text of a `.dockerignore` file.
    pub fn parse(text: &str) -> Result<Ignore, Invalid> {
        let mut patterns = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned = clean(body);
            if cleaned.is_empty() {
                continue;
            }
            let regex = to_regex(&cleaned).map_err(|e| {
                Invalid::new(format!(
                    ".dockerignore line {}: {line:?} is not a valid pattern ({e})",
                    n + 1
                ))
            })?;
            patterns.push(Pattern { regex, exception });
        }
        Ok(Ignore { patterns })
    }

    /// Whether the file or directory at `path` (relative to the context) is left out.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path);
        if path.is_empty() {
            return false;
        }
        let mut parents = Vec::new();
        let mut at = path.as_str();
        while let Some((p, _)) = at.rsplit_once('/') {
            parents.push(p);
            at = p;
        }
        let mut excluded = false;
        for p in &self.patterns {
            let hit = p.regex.is_match(&path) || parents.iter().any(|d| p.regex.is_match(d));
            if hit {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// Whether an excluded directory must still be walked: some exception may take back a
    /// path under it.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        let i = Ignore::parse(
            "# comment\n*.log\n!keep.log\nbuild/\n**/tmp\n/secret\ndocs/**/*.md\n!docs/README.md\n",
        )
        .unwrap();
        assert!(i.excludes("a.log"));
        assert!(!i.excludes("keep.log"));
        assert!(!i.excludes("sub/a.log"), "* stays within one element");
        assert!(i.excludes("build"));
        assert!(i.excludes("build/out/bin"), "a parent directory matches");
        assert!(i.excludes("tmp"));
        assert!(i.excludes("x/y/tmp/z"));
        assert!(i.excludes("secret"));
        assert!(i.excludes("docs/a/b/c.md"));
        assert!(i.excludes("docs/c.md"));
        assert!(!i.excludes("docs/README.md"));
        assert!(!i.excludes("src/main.rs"));
        assert!(i.has_exceptions());
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert!(
            Ignore::parse("[abc\n")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        let classes = Ignore::parse("file[0-9].txt\n").unwrap();
        assert!(classes.excludes("file3.txt"));
        assert!(!classes.excludes("filex.txt"));
    }
}
