//! Image builds from a Dockerfile on the engine. The text is parsed (`parse`, `words`) and
//! split into stages; the stages the target needs are built, those that do not depend on
//! each other at the same time, each step on the state the one before left (`state`): RUN
//! in a container of the engine (`run`), COPY/ADD/WORKDIR as a file step (`copy_step`,
//! `copy`), the other instructions on the config alone (`step`, `health`). Every step's result is kept in the cache
//! (`cache`) under a key made of what it depends on. The image is recorded, and named, only
//! when every step succeeded.

pub mod cache;
pub mod copy;
mod copy_step;
mod fetch;
mod health;
pub mod parse;
mod run;
pub mod state;
mod step;
pub mod words;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parse::{Args, Raw, SyntaxError};
use state::State;

use crate::engine::container::{ContainerError, Runtime};
use crate::engine::image::{ImageError, compose};
use crate::engine::store::{Digest, StoreError};
use crate::model::BuildEvent;
use crate::model::dockerignore::Ignore;
use crate::model::reference::Reference;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// The context directory, if any.
    pub context: Option<PathBuf>,
    /// The `.dockerignore` patterns that apply.
    pub ignore: Ignore,
    /// Names for the image.
    pub tags: Vec<Reference>,
    /// `--build-arg` values.
    pub args: BTreeMap<String, String>,
    /// The stage to build; the last when `None`.
    pub target: Option<String>,
    /// Run every step again.
    pub no_cache: bool,
    /// Labels for the image.
    pub labels: BTreeMap<String, String>,
    /// RUN's network: `bridge`, `host` or `none`.
    pub network: String,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile does not parse.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// A step failed.
    #[error("Dockerfile line {line}: {message}")]
    Step {
        /// Where.
        line: usize,
        /// What happened.
        message: String,
    },
    /// The request cannot be built.
    #[error("{0}")]
    Invalid(String),
    /// Stopped by the user.
    #[error("the build was cancelled; nothing was tagged")]
    Cancelled,
    /// The image store failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A container (a RUN step's) failed.
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// The data root failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BuildError {
    fn at(line: usize, message: impl Into<String>) -> BuildError {
        BuildError::Step {
            line,
            message: message.into(),
        }
    }
}

/// Where a stage starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// Nothing.
    Scratch,
    /// An earlier stage.
    Stage(usize),
    /// An image (the reference as expanded).
    Image(String),
}

/// A stage: its FROM and the instructions after it.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Its position.
    pub index: usize,
    /// `AS name`, lower case.
    pub name: Option<String>,
    /// Where it starts.
    pub base: Base,
    /// The FROM line.
    pub line: usize,
    /// The FROM's words, build arguments replaced.
    pub from_text: String,
    /// The instructions after FROM.
    pub instructions: Vec<Raw>,
}

/// A Dockerfile made into stages.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The escape character.
    pub escape: char,
    /// Values of the ARGs before the first FROM (and the automatic platform ones).
    pub global: BTreeMap<String, String>,
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// The build arguments the Dockerfile declares.
    pub declared: BTreeSet<String>,
}

/// The platform arguments BuildKit defines without an ARG before FROM.
fn platform_args() -> BTreeMap<String, String> {
    let arch = crate::engine::image::archive::host_arch();
    let mut m = BTreeMap::new();
    for prefix in ["TARGET", "BUILD"] {
        m.insert(format!("{prefix}PLATFORM"), format!("linux/{arch}"));
        m.insert(format!("{prefix}OS"), "linux".into());
        m.insert(format!("{prefix}ARCH"), arch.to_string());
        m.insert(format!("{prefix}VARIANT"), String::new());
    }
    m
}

/// The proxy arguments Docker passes to RUN without an ARG.
pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// `NAME[=default]` words of an ARG.
fn arg_words(raw: &Raw, escape: char) -> Result<Vec<(String, Option<String>)>, BuildError> {
    let Args::Shell(text) = &raw.args else {
        return Err(BuildError::at(raw.line, "ARG takes NAME[=default]"));
    };
    let words = words::split_raw(text, escape);
    if words.is_empty() {
        return Err(BuildError::at(
            raw.line,
            "ARG needs a name: write ARG NAME[=default]",
        ));
    }
    Ok(words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w, None),
        })
        .collect())
}

/// Parses and checks a Dockerfile and splits it into stages. `args` gives the build
/// arguments, for FROM lines that use them.
pub fn plan(text: &str, args: &BTreeMap<String, String>) -> Result<Plan, BuildError> {
    let parsed = parse::parse(text)?;
    let escape = parsed.escape;
    for raw in &parsed.instructions {
        step::check(raw)?;
    }
    let mut global = platform_args();
    let mut declared = BTreeSet::new();
    let mut stages: Vec<Stage> = Vec::new();
    for raw in parsed.instructions {
        if raw.keyword == "FROM" {
            let lookup = |n: &str| global.get(n).cloned();
            let Args::Shell(text) = &raw.args else {
                return Err(BuildError::at(raw.line, "FROM takes IMAGE [AS NAME]"));
            };
            let w = words::words(text, escape, &lookup).map_err(|e| BuildError::at(raw.line, e))?;
            let (image, name) = match w.as_slice() {
                [image] => (image.clone(), None),
                [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    (image.clone(), Some(name.to_ascii_lowercase()))
                }
                _ => {
                    return Err(BuildError::at(
                        raw.line,
                        format!("FROM {text}: write FROM IMAGE or FROM IMAGE AS NAME"),
                    ));
                }
            };
            if image.is_empty() {
                return Err(BuildError::at(
                    raw.line,
                    format!("FROM {text}: the image name is empty (is a build argument unset?)"),
                ));
            }
            if let Some(n) = &name {
                if stages.iter().any(|s| s.name.as_deref() == Some(n)) {
                    return Err(BuildError::at(
                        raw.line,
                        format!("the stage name {n} is used twice"),
                    ));
                }
            }
            let lower = image.to_ascii_lowercase();
            let base = if lower == "scratch" {
                Base::Scratch
            } else if let Some(s) = stages.iter().find(|s| s.name.as_deref() == Some(&lower)) {
                Base::Stage(s.index)
            } else {
                Base::Image(image)
            };
            stages.push(Stage {
                index: stages.len(),
                name,
                base,
                line: raw.line,
                from_text: w.join(" "),
                instructions: Vec::new(),
            });
            continue;
        }
        match stages.last_mut() {
            Some(s) => {
                if raw.keyword == "ARG" {
                    for (k, _) in arg_words(&raw, escape)? {
                        declared.insert(k);
                    }
                }
                s.instructions.push(raw);
            }
            None if raw.keyword == "ARG" => {
                for (k, default) in arg_words(&raw, escape)? {
                    declared.insert(k.clone());
                    let value = match args.get(&k) {
                        Some(v) => Some(v.clone()),
                        None => default
                            .map(|d| {
                                let lookup = |n: &str| global.get(n).cloned();
                                words::word(&d, escape, &lookup)
                            })
                            .transpose()
                            .map_err(|e| BuildError::at(raw.line, e))?,
                    };
                    if let Some(v) = value {
                        global.insert(k, v);
                    }
                }
            }
            None => {
                return Err(BuildError::at(
                    raw.line,
                    format!(
                        "{} before the first FROM: only ARG may come before FROM",
                        raw.keyword
                    ),
                ));
            }
        }
    }
    if stages.is_empty() {
        return Err(BuildError::Invalid(
            "the Dockerfile has no FROM: start it with FROM IMAGE (or FROM scratch)".into(),
        ));
    }
    Ok(Plan {
        escape,
        global,
        stages,
        declared,
    })
}

impl Plan {
    /// The index of the stage to build.
    pub fn target(&self, target: Option<&str>) -> Result<usize, BuildError> {
        match target {
            None => Ok(self.stages.len() - 1),
            Some(t) => {
                let lower = t.to_ascii_lowercase();
                self.stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(&lower))
                    .ok_or_else(|| {
                        let names: Vec<&str> = self
                            .stages
                            .iter()
                            .filter_map(|s| s.name.as_deref())
                            .collect();
                        BuildError::Invalid(format!(
                            "target stage {t} is not in the Dockerfile (its stages: {})",
                            if names.is_empty() {
                                "none named".to_string()
                            } else {
                                names.join(", ")
                            }
                        ))
                    })
            }
        }
    }

    /// What `COPY --from=VALUE` in stage `at` names: an earlier stage, or an image.
    pub fn from_ref(&self, value: &str, at: usize) -> Base {
        let lower = value.to_ascii_lowercase();
        if let Ok(n) = value.parse::<usize>() {
            if n < at {
                return Base::Stage(n);
            }
        }
        match self.stages[..at]
            .iter()
            .find(|s| s.name.as_deref() == Some(&lower))
        {
            Some(s) => Base::Stage(s.index),
            None => Base::Image(value.to_string()),
        }
    }

    /// The stages `index` needs, and what each needs, in order.
    fn needs(&self, index: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut todo = vec![index];
        while let Some(i) = todo.pop() {
            if out.insert(i) {
                todo.extend(self.deps(i));
            }
        }
        out
    }

    fn deps(&self, i: usize) -> Vec<usize> {
        let s = &self.stages[i];
        let mut d = Vec::new();
        if let Base::Stage(b) = s.base {
            d.push(b);
        }
        for raw in &s.instructions {
            if let Some(Some(v)) = step::flag(raw, "from") {
                if let Base::Stage(b) = self.from_ref(v, i) {
                    d.push(b);
                }
            }
        }
        d
    }

    /// The images (not stages) the stages for `target` start from or copy from, for the
    /// caller to pull first.
    pub fn images(&self, target: Option<&str>) -> Result<Vec<String>, BuildError> {
        let mut out = Vec::new();
        for i in self.needs(self.target(target)?) {
            let s = &self.stages[i];
            if let Base::Image(r) = &s.base {
                out.push(r.clone());
            }
            for raw in &s.instructions {
                if let Some(Some(v)) = step::flag(raw, "from") {
                    if let Base::Image(r) = self.from_ref(v, i) {
                        out.push(r);
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// What every stage of one build shares.
pub(crate) struct Build<'a> {
    runtime: &'a Runtime,
    request: &'a BuildRequest,
    plan: &'a Plan,
    cache: cache::Cache,
    events: &'a (dyn Fn(BuildEvent) + Sync),
    cancel: &'a AtomicBool,
    steps: AtomicUsize,
    used: Mutex<BTreeSet<String>>,
    results: Mutex<BTreeMap<usize, State>>,
    tmp: PathBuf,
}

/// Builds the image `request` describes; its id. Progress goes to `events`; setting
/// `cancel` stops the build (nothing is tagged). Base images must be in the store.
pub fn build(
    runtime: &Runtime,
    request: &BuildRequest,
    events: &(dyn Fn(BuildEvent) + Sync),
    cancel: &AtomicBool,
) -> Result<Digest, BuildError> {
    let plan = plan(&request.dockerfile, &request.args)?;
    let target = plan.target(request.target.as_deref())?;
    // Step containers of builds that died (killed, say) go first: listing removes them.
    let _ = runtime.list();
    let images = runtime.images();
    // Held until the image is recorded: no layer made meanwhile is collected.
    let lease = images.lease()?;
    let b = Build {
        runtime,
        request,
        plan: &plan,
        cache: cache::Cache::new(runtime.root()),
        events,
        cancel,
        steps: AtomicUsize::new(0),
        used: Mutex::new(BTreeSet::new()),
        results: Mutex::new(BTreeMap::new()),
        tmp: runtime.root().tmp(),
    };
    let mut pending: BTreeSet<usize> = plan.needs(target);
    while !pending.is_empty() {
        let done: BTreeSet<usize> = b.results.lock().expect("results").keys().copied().collect();
        let ready: Vec<usize> = pending
            .iter()
            .copied()
            .filter(|i| plan.deps(*i).iter().all(|d| done.contains(d)))
            .collect();
        // Stages that do not wait for each other are built at once.
        let outcomes: Vec<Result<(), BuildError>> = std::thread::scope(|s| {
            let handles: Vec<_> = ready
                .iter()
                .map(|i| {
                    let b = &b;
                    let i = *i;
                    s.spawn(move || {
                        let state = b.stage(i)?;
                        b.results.lock().expect("results").insert(i, state);
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(BuildError::Invalid("a build stage panicked".into()))
                    })
                })
                .collect()
        });
        if b.cancel.load(Ordering::Relaxed) {
            return Err(BuildError::Cancelled);
        }
        if let Some(e) = outcomes.into_iter().find_map(Result::err) {
            return Err(e);
        }
        for i in ready {
            pending.remove(&i);
        }
    }
    let unused: Vec<String> = {
        let used = b.used.lock().expect("used");
        request
            .args
            .keys()
            .filter(|k| {
                !used.contains(*k)
                    && !plan.global.contains_key(*k)
                    && !PROXY_ARGS.contains(&k.as_str())
            })
            .cloned()
            .collect()
    };
    if !unused.is_empty() {
        events(BuildEvent::Warning(format!(
            "one or more build arguments were not used: {}",
            unused.join(", ")
        )));
    }
    let mut state = b
        .results
        .lock()
        .expect("results")
        .remove(&target)
        .expect("the target was built");
    if !request.labels.is_empty() {
        state.add_to(
            "Labels",
            request
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!(v))),
        );
    }
    if b.cancel.load(Ordering::Relaxed) {
        return Err(BuildError::Cancelled);
    }
    let id = compose::record(images, &state.doc, &state.layers, &request.tags)?;
    drop(lease);
    events(BuildEvent::Built {
        id: id.to_string(),
        tags: request.tags.iter().map(|t| t.familiar()).collect(),
    });
    Ok(id)
}
