//! Builds started from the TUI: the request the build form makes (turned into a
//! [`BuildSpec`] off the UI thread, where the Dockerfile is read), and the state of the build
//! dialog — its steps, the latest output and the outcome — as the build's events arrive.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use crate::model::{BuildEvent, BuildSpec};

/// Output lines the dialog keeps.
const OUTPUT_LINES: usize = 200;

/// A build as the form asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// The context directory.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context (`Dockerfile` when `None`).
    pub dockerfile: Option<PathBuf>,
    /// Names for the image.
    pub tags: Vec<String>,
    /// Build arguments.
    pub build_args: BTreeMap<String, String>,
    /// The stage to build.
    pub target: Option<String>,
}

impl BuildRequest {
    /// Reads the Dockerfile and makes the backend's request. Blocks on the file system.
    pub fn spec(&self) -> Result<BuildSpec, String> {
        if !self.context.is_dir() {
            return Err(format!(
                "Context: {} is not a directory; give the directory to build from",
                self.context.display()
            ));
        }
        let path = self
            .context
            .join(self.dockerfile.as_deref().unwrap_or("Dockerfile".as_ref()));
        let dockerfile = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "Dockerfile: cannot read {}: {e}; give its path relative to the context",
                path.display()
            )
        })?;
        Ok(BuildSpec {
            context: Some(self.context.clone()),
            dockerfile,
            dockerfile_path: Some(path),
            tags: self.tags.clone(),
            build_args: self.build_args.clone(),
            target: self.target.clone(),
            ..BuildSpec::default()
        })
    }

    /// How the dialog names the build.
    pub fn title(&self) -> String {
        match self.tags.first() {
            Some(t) => t.clone(),
            None => self.context.display().to_string(),
        }
    }
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepStatus {
    /// Started, not finished.
    Running,
    /// Taken from the cache.
    Cached,
    /// Finished after this many seconds.
    Done(f64),
}

/// One step of the build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildStep {
    /// Its number.
    pub number: usize,
    /// How it is shown: `[2/5] RUN make`.
    pub name: String,
    /// Where it is.
    pub status: StepStatus,
}

/// The build dialog: the steps so far, the latest output and, once finished, the image id
/// or why the build failed.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildState {
    /// What is built (the first tag, or the context).
    pub title: String,
    /// Steps in the order they started.
    pub steps: Vec<BuildStep>,
    /// The latest output lines.
    pub output: VecDeque<String>,
    /// Warnings the build gave.
    pub warnings: Vec<String>,
    /// The image id, or why the build failed.
    pub finished: Option<Result<String, String>>,
}

impl BuildState {
    /// A build that has just been asked for.
    pub fn new(title: String) -> BuildState {
        BuildState {
            title,
            steps: Vec::new(),
            output: VecDeque::new(),
            warnings: Vec::new(),
            finished: None,
        }
    }

    /// Takes one event, or the failure that ended the build.
    pub fn update(&mut self, item: Result<BuildEvent, String>) {
        let event = match item {
            Ok(e) => e,
            Err(e) => {
                self.finished = Some(Err(e));
                return;
            }
        };
        let mut set = |step: usize, status: StepStatus| {
            if let Some(s) = self.steps.iter_mut().find(|s| s.number == step) {
                // A cached step stays shown as cached when it is done.
                if s.status != StepStatus::Cached {
                    s.status = status;
                }
            }
        };
        match event {
            BuildEvent::Step { step, name } => self.steps.push(BuildStep {
                number: step,
                name,
                status: StepStatus::Running,
            }),
            BuildEvent::Output { line, .. } => {
                self.output.push_back(line);
                if self.output.len() > OUTPUT_LINES {
                    self.output.pop_front();
                }
            }
            BuildEvent::Cached { step } => set(step, StepStatus::Cached),
            BuildEvent::Done { step, seconds } => set(step, StepStatus::Done(seconds)),
            BuildEvent::Warning(w) => self.warnings.push(w),
            BuildEvent::Built { id, .. } => self.finished = Some(Ok(id)),
        }
    }

    /// Whether the build is still going.
    pub fn running(&self) -> bool {
        self.finished.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_make_steps_output_and_an_outcome() {
        let mut b = BuildState::new("app:1".into());
        for e in [
            BuildEvent::Step {
                step: 1,
                name: "[1/2] FROM busybox".into(),
            },
            BuildEvent::Cached { step: 1 },
            BuildEvent::Done {
                step: 1,
                seconds: 0.0,
            },
            BuildEvent::Step {
                step: 2,
                name: "[2/2] RUN make".into(),
            },
            BuildEvent::Output {
                step: 2,
                line: "cc main.c".into(),
            },
        ] {
            b.update(Ok(e));
        }
        assert_eq!(b.steps[0].status, StepStatus::Cached);
        assert_eq!(b.steps[1].status, StepStatus::Running);
        assert_eq!(b.output, ["cc main.c"]);
        assert!(b.running());
        b.update(Err("RUN make exited with status 2".into()));
        assert_eq!(
            b.finished,
            Some(Err("RUN make exited with status 2".into()))
        );
    }

    #[test]
    fn a_request_names_a_missing_context_or_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = BuildRequest {
            context: dir.path().join("nope"),
            dockerfile: None,
            tags: vec!["app:1".into()],
            build_args: BTreeMap::new(),
            target: None,
        };
        assert!(r.spec().unwrap_err().starts_with("Context:"));
        r.context = dir.path().to_path_buf();
        assert!(r.spec().unwrap_err().starts_with("Dockerfile:"));
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let spec = r.spec().unwrap();
        assert_eq!(spec.dockerfile, "FROM scratch\n");
        assert_eq!(spec.tags, ["app:1"]);
    }
}
