//! Image builds: what to build from a Dockerfile, and the progress a build reports.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What `build` makes an image from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSpec {
    /// The context directory; `None` for a build without one (a Dockerfile from stdin).
    pub context: Option<PathBuf>,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Where the Dockerfile was read from (its `.dockerignore` beside it counts first), when
    /// it came from a file.
    pub dockerfile_path: Option<PathBuf>,
    /// Names for the image.
    pub tags: Vec<String>,
    /// `--build-arg`, values resolved.
    pub build_args: BTreeMap<String, String>,
    /// The stage to build (the last when `None`).
    pub target: Option<String>,
    /// Run every step again.
    pub no_cache: bool,
    /// Pull base images even when they are here.
    pub pull: bool,
    /// Labels for the image.
    pub labels: BTreeMap<String, String>,
    /// Network of RUN steps: `bridge` (the default), `host` or `none`.
    pub network: Option<String>,
}

/// Progress of a build, as the steps happen. Steps are numbered from 1 in the order they
/// start; independent stages may interleave.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildEvent {
    /// A step begins: `[stage 2/5] RUN make`.
    Step {
        /// Its number.
        step: usize,
        /// How it is shown.
        name: String,
    },
    /// A line of a step's output.
    Output {
        /// The step.
        step: usize,
        /// The line, without its newline.
        line: String,
    },
    /// A step's result came from the cache.
    Cached {
        /// The step.
        step: usize,
    },
    /// A step finished.
    Done {
        /// The step.
        step: usize,
        /// How long it took.
        seconds: f64,
    },
    /// Something the user should know that does not stop the build.
    Warning(String),
    /// The image is made.
    Built {
        /// Its id.
        id: String,
        /// The names it was given.
        tags: Vec<String>,
    },
}
