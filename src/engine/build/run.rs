//! RUN: the command runs in a container of the engine's own (its monitor, namespaces,
//! cgroup, network and logs as for any container) whose root filesystem is the build's
//! layers so far plus a fresh upper directory; what it changed becomes the step's layer. The
//! container is hidden from listings, and removed when the step ends however it ends; one a
//! dead build left is removed by the next build.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::cache::next_key;
use super::parse::{Args, Raw};
use super::state::State;
use super::step::{Scope, flag, shown};
use super::{Build, BuildError, PROXY_ARGS};
use crate::engine::container::Runtime;
use crate::engine::container::record::{Builder, ContainerConfig, MountConfig, MountKind};
use crate::engine::image::{LayerRef, compose};
use crate::model::{BuildEvent, Signal};
use crate::util::time::unix_now;

/// Lines of output kept to explain a failure.
const TAIL: usize = 8;

/// One RUN step.
pub struct RunStep<'a> {
    /// The process: argv.
    pub argv: Vec<String>,
    /// Its environment.
    pub env: Vec<String>,
    /// `bridge`, `host` or `none`.
    pub network: String,
    /// Files bound read-only into the container (heredoc scripts): host path, path inside.
    pub files: Vec<(PathBuf, String)>,
    /// The step number, for its output.
    pub step: usize,
    /// The line, for errors.
    pub line: usize,
    /// Where output goes.
    pub events: &'a (dyn Fn(BuildEvent) + Sync),
    /// Set to stop the build.
    pub cancel: &'a AtomicBool,
}

impl RunStep<'_> {
    /// Runs the step on `state`; the layer of its changes.
    pub fn run(&self, runtime: &Runtime, state: &State) -> Result<LayerRef, BuildError> {
        let chain = state.chain();
        let id = crate::util::random::random_id();
        let config = ContainerConfig {
            format: crate::engine::container::record::CONFIG_FORMAT,
            id: id.clone(),
            name: String::new(),
            image: "(build step)".into(),
            image_id: state
                .base_image
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            created: unix_now(),
            args: self.argv.clone(),
            entrypoint: Vec::new(),
            cmd: self.argv.clone(),
            env: self.env.clone(),
            working_dir: state.workdir(),
            user: state.user(),
            hostname: id[..12].to_string(),
            labels: Default::default(),
            tty: false,
            open_stdin: false,
            stdin_once: false,
            auto_remove: false,
            ephemeral: false,
            restart: Default::default(),
            limits: Default::default(),
            mounts: self
                .files
                .iter()
                .map(|(host, inside)| MountConfig {
                    kind: MountKind::Bind,
                    source: host.display().to_string(),
                    destination: inside.clone(),
                    read_only: true,
                    options: String::new(),
                })
                .collect(),
            network: self.network.clone(),
            ip: None,
            aliases: Vec::new(),
            dns: Vec::new(),
            extra_hosts: Vec::new(),
            ports: Vec::new(),
            stop_signal: Signal::TERM.to_string(),
            stop_timeout: 0,
            privileged: false,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            read_only: false,
            layers: Some(chain.iter().map(|c| c.to_string()).collect()),
            build: Some(Builder::this()),
            seccomp: Default::default(),
            no_new_privileges: None,
            log: Default::default(),
        };
        let id = runtime.create_build_step(config)?;
        let result = self.run_in(runtime, &id, chain.last());
        let _ = runtime.remove(&id, true);
        result
    }

    fn run_in(
        &self,
        runtime: &Runtime,
        id: &str,
        parent: Option<&crate::engine::store::Digest>,
    ) -> Result<LayerRef, BuildError> {
        let logs = runtime.store().dir(id).join("logs");
        runtime.start(id)?;
        let (history, mut follow) = crate::engine::container::logs::open(&logs);
        let mut tail: Vec<String> = Vec::new();
        let mut show = |records: Vec<crate::engine::container::logs::Record>| {
            for r in records {
                let line = r.log.trim_end_matches('\n').to_string();
                (self.events)(BuildEvent::Output {
                    step: self.step,
                    line: line.clone(),
                });
                tail.push(line);
                if tail.len() > TAIL {
                    tail.remove(0);
                }
            }
        };
        show(history);
        let mut pause = Duration::from_millis(2);
        let code = loop {
            if self.cancel.load(Ordering::Relaxed) {
                let _ = runtime.kill(id, Signal::KILL);
                return Err(BuildError::Cancelled);
            }
            let snap = runtime.get(id)?;
            if !snap.state.status.is_active() {
                show(follow.poll());
                break snap.state.exit_code.unwrap_or(255);
            }
            show(follow.poll());
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        };
        if code != 0 {
            let mut message = format!(
                "RUN {} exited with status {code}",
                shown_command(&self.argv)
            );
            if !tail.is_empty() {
                message.push_str("; its last output:\n  ");
                message.push_str(&tail.join("\n  "));
            }
            return Err(BuildError::Step {
                line: self.line,
                message,
            });
        }
        let (base, changes) = runtime.changes_of(id)?;
        Ok(compose::add_layer(
            runtime.images(),
            parent,
            &base,
            &changes,
        )?)
    }
}

/// The command as a user wrote it: the shell's script, or the JSON form.
fn shown_command(argv: &[String]) -> String {
    match argv {
        [sh, c, script] if c == "-c" && sh.ends_with("sh") => script.clone(),
        _ => serde_json::to_string(argv).unwrap_or_default(),
    }
}

impl Build<'_> {
    pub(super) fn run(
        &self,
        _stage: usize,
        state: &mut State,
        scope: &mut Scope,
        raw: &Raw,
        key: String,
        now: &str,
    ) -> Result<(), BuildError> {
        let at = |e: String| BuildError::at(raw.line, e);
        let network = match flag(raw, "network").flatten() {
            None | Some("default") => self.request.network.clone(),
            Some(n @ ("none" | "host")) => n.to_string(),
            Some(other) => {
                return Err(at(format!(
                    "RUN --network={other}: use default, none or host"
                )));
            }
        };
        let mut files = Vec::new();
        let argv = match &raw.args {
            Args::Json(v) => v.clone(),
            Args::Shell(text) if raw.heredocs.is_empty() => {
                let mut c = state.shell();
                c.push(text.clone());
                c
            }
            Args::Shell(text) => {
                let only_marker = raw.heredocs.len() == 1
                    && text.split_whitespace().count() == 1
                    && text.trim().contains("<<");
                let h = &raw.heredocs[0];
                if only_marker && h.body.starts_with("#!") {
                    let script = crate::engine::store::temp_path(&self.tmp, "heredoc");
                    std::fs::write(&script, &h.body)
                        .map_err(|e| at(format!("cannot write the heredoc: {e}")))?;
                    use std::os::unix::fs::PermissionsExt;
                    let _ =
                        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755));
                    let inside = format!("/dev/pipes/{}", h.name);
                    files.push((script, inside.clone()));
                    vec![inside]
                } else if only_marker {
                    let mut c = state.shell();
                    c.push(h.body.clone());
                    c
                } else {
                    let mut script = text.clone();
                    for h in &raw.heredocs {
                        script.push('\n');
                        script.push_str(&h.body);
                        script.push_str(&h.name);
                    }
                    let mut c = state.shell();
                    c.push(script);
                    c
                }
            }
        };
        let mut env = state.env();
        for (k, v) in &scope.args {
            if !env.iter().any(|e| e.split('=').next() == Some(k)) {
                env.push(format!("{k}={v}"));
            }
        }
        for p in PROXY_ARGS {
            if let Some(v) = self.request.args.get(*p) {
                self.used.lock().expect("used").insert(p.to_string());
                if !env.iter().any(|e| e.split('=').next() == Some(p)) {
                    env.push(format!("{p}={v}"));
                }
            }
        }
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(
                0,
                format!("PATH={}", crate::engine::container::spec::DEFAULT_PATH),
            );
        }
        let args_text: Vec<String> = scope.args.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let key = next_key(
            &key,
            &format!("network={network} args={}", args_text.join(" ")),
        );
        let created_by = if args_text.is_empty() {
            format!("RUN {}", argv.join(" "))
        } else {
            format!(
                "RUN |{} {} {}",
                args_text.len(),
                args_text.join(" "),
                argv.join(" ")
            )
        };
        let shown = self.begin(scope, shown(raw));
        let result = self.cached(state, key, Some(shown.0), |s| {
            let step = RunStep {
                argv,
                env,
                network,
                files: files.clone(),
                step: shown.0,
                line: raw.line,
                events: self.events,
                cancel: self.cancel,
            };
            let layer = step.run(self.runtime, s)?;
            s.push_layer(layer);
            s.history(&created_by, false, now);
            Ok(())
        });
        for (f, _) in &files {
            let _ = std::fs::remove_file(f);
        }
        result?;
        self.done(shown);
        Ok(())
    }
}
