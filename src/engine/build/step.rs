//! The steps of a stage: every instruction checked when the Dockerfile is read (a known
//! keyword, flags it takes, arguments), then applied in order to the stage's state with
//! variables replaced where Docker replaces them, each result looked up in and written to
//! the cache. RUN goes to `run`, COPY and ADD to `copy_step` (and WORKDIR's directory to
//! `copy`'s file step), HEALTHCHECK's form to `health`; the rest change only the config.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::json;

use super::cache::next_key;
use super::copy;
use super::parse::{Args, Raw};
use super::state::State;
use super::{Base, Build, BuildError, arg_words, words};
use crate::model::{BuildEvent, Signal};
use crate::util::time::{rfc3339, unix_now};

/// Each keyword and the flags it takes.
const KEYWORDS: &[(&str, &[&str])] = &[
    ("FROM", &["platform"]),
    ("RUN", &["network"]),
    ("CMD", &[]),
    ("ENTRYPOINT", &[]),
    ("ENV", &[]),
    ("ARG", &[]),
    ("LABEL", &[]),
    ("EXPOSE", &[]),
    ("VOLUME", &[]),
    ("USER", &[]),
    ("WORKDIR", &[]),
    ("SHELL", &[]),
    ("STOPSIGNAL", &[]),
    (
        "HEALTHCHECK",
        &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
    ),
    ("ONBUILD", &[]),
    ("COPY", &["from", "chown", "chmod", "link"]),
    ("ADD", &["chown", "chmod", "link", "checksum"]),
    ("MAINTAINER", &[]),
];

/// Instructions shown as steps of the build's progress.
const SHOWN: &[&str] = &["RUN", "COPY", "ADD", "WORKDIR"];

/// Checks an instruction's keyword, flags and that it has arguments.
pub fn check(raw: &Raw) -> Result<(), BuildError> {
    let Some((_, flags)) = KEYWORDS.iter().find(|(k, _)| *k == raw.keyword) else {
        return Err(BuildError::at(
            raw.line,
            format!(
                "unknown instruction: {} (the instructions are {})",
                raw.keyword,
                KEYWORDS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    for (name, _) in &raw.flags {
        if !flags.contains(&name.as_str()) {
            let takes = if flags.is_empty() {
                "it takes no flags".to_string()
            } else {
                format!(
                    "it takes {}",
                    flags
                        .iter()
                        .map(|f| format!("--{f}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(BuildError::at(
                raw.line,
                format!("{} does not take --{name}; {takes}", raw.keyword),
            ));
        }
    }
    let empty = match &raw.args {
        Args::Json(v) => v.is_empty() && raw.keyword != "CMD" && raw.keyword != "ENTRYPOINT",
        Args::Shell(s) => s.trim().is_empty(),
    };
    if empty {
        return Err(BuildError::at(
            raw.line,
            format!("{} needs arguments", raw.keyword),
        ));
    }
    Ok(())
}

/// A flag's value: `Some(Some(v))` for `--name=v`, `Some(None)` for `--name`.
pub fn flag<'a>(raw: &'a Raw, name: &str) -> Option<Option<&'a str>> {
    raw.flags
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_deref())
}

/// What a stage keeps besides its state: its ARGs, whether CMD was set in it, its steps.
pub(super) struct Scope {
    pub(super) args: BTreeMap<String, String>,
    pub(super) cmd_set: bool,
    pub(super) label: String,
    pub(super) shown: usize,
    pub(super) total: usize,
}

/// The instruction as text, for cache keys.
pub(super) fn describe(raw: &Raw) -> String {
    let mut s = raw.keyword.clone();
    for (k, v) in &raw.flags {
        s.push_str(&format!(" --{k}={}", v.as_deref().unwrap_or("")));
    }
    s.push(' ');
    s.push_str(&match &raw.args {
        Args::Json(v) => json!(v).to_string(),
        Args::Shell(t) => t.clone(),
    });
    for h in &raw.heredocs {
        s.push_str(&format!("\n<<{}\n{}", h.name, h.body));
    }
    s
}

pub(super) fn one_line(raw: &Raw) -> String {
    match &raw.args {
        Args::Json(v) => json!(v).to_string(),
        Args::Shell(t) => t.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// An instruction as the progress shows it: keyword, flags and arguments on one line.
pub(super) fn shown(raw: &Raw) -> String {
    let mut out = raw.keyword.clone();
    for (k, v) in &raw.flags {
        out.push_str(" --");
        out.push_str(k);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
    out.push(' ');
    out.push_str(&one_line(raw));
    out
}

/// `KEY=value` pairs of ENV and LABEL (or ENV's old `KEY value`), expanded.
fn pairs(
    raw: &Raw,
    escape: char,
    lookup: words::Lookup,
    expand_keys: bool,
) -> Result<Vec<(String, String)>, BuildError> {
    let Args::Shell(text) = &raw.args else {
        return Err(BuildError::at(
            raw.line,
            format!("{} takes KEY=value pairs", raw.keyword),
        ));
    };
    let at = |e: String| BuildError::at(raw.line, e);
    let raw_words = words::split_raw(text, escape);
    if raw_words.first().is_some_and(|w| !w.contains('=')) {
        let (key, rest) = text
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| at(format!("{} {text}: write KEY=value", raw.keyword)))?;
        return Ok(vec![(
            key.to_string(),
            words::word(rest.trim(), escape, lookup).map_err(at)?,
        )]);
    }
    raw_words
        .iter()
        .map(|w| {
            let (k, v) = w
                .split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| at(format!("{} {w}: write KEY=value", raw.keyword)))?;
            let k = if expand_keys {
                words::word(k, escape, lookup).map_err(at)?
            } else {
                k.to_string()
            };
            Ok((k, words::word(v, escape, lookup).map_err(at)?))
        })
        .collect()
}

impl Build<'_> {
    pub(super) fn now() -> String {
        rfc3339(unix_now())
    }

    pub(super) fn begin(&self, scope: &mut Scope, text: String) -> (usize, Instant) {
        scope.shown += 1;
        let n = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        let name = if scope.label.is_empty() {
            format!("[{}/{}] {text}", scope.shown, scope.total)
        } else {
            format!("[{} {}/{}] {text}", scope.label, scope.shown, scope.total)
        };
        (self.events)(BuildEvent::Step { step: n, name });
        (n, Instant::now())
    }

    pub(super) fn done(&self, (step, start): (usize, Instant)) {
        (self.events)(BuildEvent::Done {
            step,
            seconds: start.elapsed().as_secs_f64(),
        });
    }

    /// Applies a step through the cache: its result under `key` when there, else `run`'s.
    pub(super) fn cached(
        &self,
        state: &mut State,
        key: String,
        shown: Option<usize>,
        run: impl FnOnce(&mut State) -> Result<(), BuildError>,
    ) -> Result<(), BuildError> {
        if !self.request.no_cache {
            if let Some(mut hit) = self.cache.get(&key, self.runtime.images()) {
                hit.base_image = state.base_image.clone();
                *state = hit;
                if let Some(step) = shown {
                    (self.events)(BuildEvent::Cached { step });
                }
                return Ok(());
            }
        }
        let mut next = state.clone();
        run(&mut next)?;
        next.key = key;
        self.cache.put(&next);
        *state = next;
        Ok(())
    }

    /// The state a stage or image reference names.
    pub(super) fn state_of(&self, base: &Base, line: usize) -> Result<State, BuildError> {
        match base {
            Base::Scratch => Ok(State::scratch()),
            Base::Stage(i) => self
                .results
                .lock()
                .expect("results")
                .get(i)
                .cloned()
                .ok_or_else(|| BuildError::at(line, format!("stage {i} is not built yet"))),
            Base::Image(r) => {
                let images = self.runtime.images();
                let id = images.resolve(r).map_err(|e| {
                    BuildError::at(
                        line,
                        format!("{r}: {e}; pull it first (or build with --pull)"),
                    )
                })?;
                State::image(images, &id)
            }
        }
    }

    /// Builds stage `i` (the stages it needs are built).
    pub(super) fn stage(&self, i: usize) -> Result<State, BuildError> {
        let stage = &self.plan.stages[i];
        let mut scope = Scope {
            args: BTreeMap::new(),
            cmd_set: false,
            label: if self.plan.stages.len() == 1 {
                String::new()
            } else {
                stage.name.clone().unwrap_or_else(|| format!("stage-{i}"))
            },
            shown: 0,
            total: 1 + stage
                .instructions
                .iter()
                .filter(|r| SHOWN.contains(&r.keyword.as_str()))
                .count(),
        };
        let from = self.begin(&mut scope, format!("FROM {}", stage.from_text));
        let mut state = self.state_of(&stage.base, stage.line)?;
        self.done(from);
        let triggers = state.triggers();
        if !triggers.is_empty() {
            state.set_list("OnBuild", None);
            state.key = next_key(&state.key, "ONBUILD cleared");
            for t in triggers {
                let parsed = super::parse::parse(&t).map_err(|e| {
                    BuildError::at(
                        stage.line,
                        format!("the base image's ONBUILD {t:?}: {}", e.message),
                    )
                })?;
                for mut raw in parsed.instructions {
                    raw.line = stage.line;
                    check(&raw)?;
                    self.apply(i, &mut state, &mut scope, &raw)?;
                }
            }
        }
        for raw in &stage.instructions {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(BuildError::Cancelled);
            }
            self.apply(i, &mut state, &mut scope, raw)?;
        }
        Ok(state)
    }

    fn apply(
        &self,
        stage: usize,
        state: &mut State,
        scope: &mut Scope,
        raw: &Raw,
    ) -> Result<(), BuildError> {
        let escape = self.plan.escape;
        let at = |e: String| BuildError::at(raw.line, e);
        let env_now = state.clone();
        let args_now = scope.args.clone();
        let lookup = move |n: &str| env_now.env_var(n).or_else(|| args_now.get(n).cloned());
        let key = next_key(&state.key, &describe(raw));
        let now = Self::now();
        match raw.keyword.as_str() {
            "ARG" => {
                for (k, default) in arg_words(raw, escape)? {
                    let value = match self.request.args.get(&k) {
                        Some(v) => {
                            self.used.lock().expect("used").insert(k.clone());
                            Some(v.clone())
                        }
                        None => match default {
                            Some(d) => Some(words::word(&d, escape, &lookup).map_err(at)?),
                            None => self.plan.global.get(&k).cloned(),
                        },
                    };
                    state.key = next_key(&state.key, &format!("ARG {k}={value:?}"));
                    if let Some(v) = value {
                        scope.args.insert(k, v);
                    }
                }
                Ok(())
            }
            "ENV" | "LABEL" => {
                let is_env = raw.keyword == "ENV";
                let kv = pairs(raw, escape, &lookup, !is_env)?;
                let text = kv
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.cached(state, key, None, |s| {
                    if is_env {
                        for (k, v) in &kv {
                            s.set_env(k, v);
                        }
                    } else {
                        s.add_to("Labels", kv.iter().map(|(k, v)| (k.clone(), json!(v))));
                    }
                    s.history(&format!("{} {text}", raw.keyword), true, &now);
                    Ok(())
                })
            }
            "MAINTAINER" => {
                let who = one_line(raw);
                self.cached(state, key, None, |s| {
                    s.doc["author"] = json!(who);
                    s.history(&format!("MAINTAINER {who}"), true, &now);
                    Ok(())
                })
            }
            "EXPOSE" => {
                let text = one_line(raw);
                let mut ports = Vec::new();
                for p in words::words(&text, escape, &lookup).map_err(at)? {
                    let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                    let proto = proto.to_ascii_lowercase();
                    let valid = |n: &str| n.parse::<u16>().is_ok_and(|n| n > 0);
                    let ok = match num.split_once('-') {
                        Some((a, b)) => valid(a) && valid(b),
                        None => valid(num),
                    };
                    if !ok || !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
                        return Err(at(format!(
                            "EXPOSE {p}: write a port such as 80, 80/tcp or 53/udp"
                        )));
                    }
                    ports.push(format!("{num}/{proto}"));
                }
                self.cached(state, key, None, |s| {
                    s.add_to("ExposedPorts", ports.iter().map(|p| (p.clone(), json!({}))));
                    let shown: Vec<String> = ports.iter().map(|p| format!("{p}:{{}}")).collect();
                    s.history(&format!("EXPOSE map[{}]", shown.join(" ")), true, &now);
                    Ok(())
                })
            }
            "VOLUME" => {
                let paths = match &raw.args {
                    Args::Json(v) => v.clone(),
                    Args::Shell(t) => words::words(t, escape, &lookup).map_err(at)?,
                };
                if paths.iter().any(|p| p.is_empty()) {
                    return Err(at("VOLUME: a path is empty".into()));
                }
                self.cached(state, key, None, |s| {
                    s.add_to("Volumes", paths.iter().map(|p| (p.clone(), json!({}))));
                    s.history(&format!("VOLUME [{}]", paths.join(" ")), true, &now);
                    Ok(())
                })
            }
            "USER" | "STOPSIGNAL" => {
                let value = words::word(&one_line(raw), escape, &lookup).map_err(at)?;
                if raw.keyword == "STOPSIGNAL" {
                    Signal::parse(&value).map_err(|e| at(format!("STOPSIGNAL {value}: {e}")))?;
                }
                let field = if raw.keyword == "USER" {
                    "User"
                } else {
                    "StopSignal"
                };
                self.cached(state, key, None, |s| {
                    s.config_mut()[field] = json!(value);
                    s.history(&format!("{} {value}", raw.keyword), true, &now);
                    Ok(())
                })
            }
            "SHELL" => {
                let Args::Json(v) = &raw.args else {
                    return Err(at(
                        "SHELL needs the JSON form: SHELL [\"/bin/sh\", \"-c\"]".into()
                    ));
                };
                let v = v.clone();
                self.cached(state, key, None, |s| {
                    s.set_list("Shell", Some(v.clone()));
                    s.history(&format!("SHELL {}", json!(v)), true, &now);
                    Ok(())
                })
            }
            "CMD" | "ENTRYPOINT" => {
                let command = match &raw.args {
                    Args::Json(v) => v.clone(),
                    Args::Shell(t) => {
                        let mut c = state.shell();
                        c.push(t.clone());
                        c
                    }
                };
                let is_cmd = raw.keyword == "CMD";
                let reset_cmd = !is_cmd && !scope.cmd_set;
                if is_cmd {
                    scope.cmd_set = true;
                }
                self.cached(state, key, None, |s| {
                    let field = if is_cmd { "Cmd" } else { "Entrypoint" };
                    s.set_list(field, Some(command.clone()));
                    if reset_cmd {
                        // An ENTRYPOINT resets the CMD the base image had.
                        s.set_list("Cmd", None);
                    }
                    s.history(&format!("{} {}", raw.keyword, json!(command)), true, &now);
                    Ok(())
                })
            }
            "HEALTHCHECK" => {
                let hc = self.healthcheck(raw)?;
                self.cached(state, key, None, |s| {
                    s.config_mut()["Healthcheck"] = hc.clone();
                    s.history(&format!("HEALTHCHECK {}", one_line(raw)), true, &now);
                    Ok(())
                })
            }
            "ONBUILD" => {
                let text = one_line(raw);
                let inner = super::parse::parse(&text)
                    .map_err(|e| at(format!("ONBUILD: {}", e.message)))?;
                match inner.instructions.as_slice() {
                    [one] if !matches!(one.keyword.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") => {
                        check(one)?
                    }
                    [one] => return Err(at(format!("ONBUILD cannot hold {}", one.keyword))),
                    _ => return Err(at("ONBUILD holds one instruction".into())),
                }
                self.cached(state, key, None, |s| {
                    let mut list = s.triggers();
                    list.push(text.clone());
                    s.set_list("OnBuild", Some(list));
                    s.history(&format!("ONBUILD {text}"), true, &now);
                    Ok(())
                })
            }
            "WORKDIR" => {
                let given = words::word(&one_line(raw), escape, &lookup).map_err(at)?;
                let joined = if given.starts_with('/') {
                    given.clone()
                } else {
                    format!("{}/{given}", state.workdir())
                };
                let path = format!("/{}", crate::model::dockerignore::clean(&joined));
                let shown = self.begin(scope, format!("WORKDIR {given}"));
                self.cached(state, key, Some(shown.0), |s| {
                    let layers = self.runtime.images().layers();
                    let view = crate::engine::layer::changes::ImageView::new(
                        s.chain().iter().map(|c| layers.diff_dir(c)).collect(),
                    );
                    let exists = view
                        .lookup(std::path::Path::new(path.trim_start_matches('/')))
                        .is_some_and(|m| m.is_dir());
                    s.config_mut()["WorkingDir"] = json!(path);
                    if exists || path == "/" {
                        s.history(&format!("WORKDIR {path}"), true, &now);
                        return Ok(());
                    }
                    let layer = copy::file_step(
                        self.runtime.images(),
                        self.runtime.driver(),
                        &self.tmp,
                        s,
                        None,
                        |rootfs, _| {
                            crate::engine::container::files::mount_point(rootfs, &path, false)?;
                            Ok(())
                        },
                    )?;
                    s.push_layer(layer);
                    s.history(&format!("WORKDIR {path}"), false, &now);
                    Ok(())
                })?;
                self.done(shown);
                Ok(())
            }
            "RUN" => self.run(stage, state, scope, raw, key, &now),
            "COPY" | "ADD" => self.copy(stage, state, scope, raw, &lookup, &now),
            other => Err(at(format!("{other} is not allowed here"))),
        }
    }
}
