//! Requests `App::update` asks for, and the runner that carries them out on the backend in
//! background tasks, sending the results back as [`Action`]s. Nothing here blocks the UI.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::action::{Action, Failure, Lists, Loaded, Outcome};
use super::build::BuildRequest;
use super::panes::PaneKind;
use super::streams;
use crate::backend::prelude::*;
use crate::backend::{AnyBackend, BackendError};
use crate::model::{
    CommitSpec, ContainerSpec, LogOptions, NetworkSpec, ObjectKind, RemoveOptions, VolumeSpec,
};
use crate::util::units::human_size;

/// Longest wait for a one-shot request before it is reported as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Containers (or images, volumes, networks) a bulk action works on at once.
const BULK_AT_ONCE: usize = 16;

/// An action on containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerOp {
    /// Start.
    Start,
    /// Stop (stop signal, then SIGKILL after the container's timeout).
    Stop,
    /// Restart.
    Restart,
    /// Pause.
    Pause,
    /// Unpause.
    Unpause,
    /// SIGKILL.
    Kill,
    /// Remove, killing it first when running.
    Remove,
}

impl ContainerOp {
    /// Past tense for the status bar.
    pub fn done(self) -> &'static str {
        match self {
            ContainerOp::Start => "started",
            ContainerOp::Stop => "stopped",
            ContainerOp::Restart => "restarted",
            ContainerOp::Pause => "paused",
            ContainerOp::Unpause => "unpaused",
            ContainerOp::Kill => "killed",
            ContainerOp::Remove => "removed",
        }
    }
}

/// A request for the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Re-read one list.
    LoadList(PaneKind),
    /// Inspect a container.
    LoadContainer(String),
    /// Processes of a container.
    LoadTop(String),
    /// Inspect an image.
    LoadImage(String),
    /// History of an image.
    LoadHistory(String),
    /// Inspect a volume.
    LoadVolume(String),
    /// Inspect a network.
    LoadNetwork(String),
    /// Stream logs of a container (replacing any other log stream), or stop streaming.
    WatchLogs(Option<(String, LogOptions)>),
    /// Open a terminal pane's session.
    OpenTerminal(super::terminal_io::TermRequest),
    /// Bytes typed into a terminal pane's session.
    TerminalInput(u32, Vec<u8>),
    /// A terminal pane's new size (rows, cols) for its session.
    TerminalResize(u32, u16, u16),
    /// Close a terminal pane's session (a detach, or a closed tab).
    CloseTerminal(u32),
    /// Stream the merged logs of several containers (id, name) under one key, replacing any
    /// other log stream.
    WatchMergedLogs(String, Vec<(String, String)>, LogOptions),
    /// Stream stats of a container (replacing any other), or stop.
    WatchStats(Option<String>),
    /// Stream the CPU and memory of these containers (the running ones on screen), and of
    /// no others.
    WatchUsage(Vec<String>),
    /// (Re)subscribe to backend events.
    WatchEvents,
    /// Open the endpoint of this name or URL and start afresh on it (the event loop's: it
    /// owns the backend and the runner).
    SwitchEndpoint(String),
    /// Act on containers, given as (id, name).
    Containers(ContainerOp, Vec<(String, String)>),
    /// Remove images, given as (id, label).
    RemoveImages(Vec<(String, String)>),
    /// Remove volumes, given as (name, name).
    RemoveVolumes(Vec<(String, String)>),
    /// Remove networks, given as (id, name).
    RemoveNetworks(Vec<(String, String)>),
    /// Create and start a container.
    Run(Box<ContainerSpec>),
    /// Pull an image, reporting progress.
    Pull(String),
    /// Build an image, reporting progress (replacing any build running).
    Build(BuildRequest),
    /// Stop the build running: nothing is tagged.
    CancelBuild,
    /// Make an image of a container's changes.
    Commit {
        /// Container id.
        id: String,
        /// Container name, for messages.
        name: String,
        /// What to make.
        spec: CommitSpec,
    },
    /// Create a volume.
    CreateVolume(VolumeSpec),
    /// Create a network.
    CreateNetwork(NetworkSpec),
    /// Remove what the pane's prune removes.
    Prune(PaneKind),
    /// Measure the own layers of the stopped containers, for the prune dialog.
    MeasurePrune,
    /// Write these lines to a file.
    SaveLogs(std::path::PathBuf, Vec<String>),
    /// Hand the terminal to a session in a container; the event loop carries this out itself.
    Handover(Handover),
}

/// What to run when the terminal is handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// Container id.
    pub id: String,
    /// Container name, for messages.
    pub name: String,
    /// A shell (exec) or the main process (attach).
    pub attach: bool,
    /// What to run instead of a shell (`:exec NAME CMD…`); empty for a shell.
    pub command: Vec<String>,
}

pub(super) async fn timed<T>(fut: impl Future<Output = Result<T, BackendError>>) -> Outcome<T> {
    match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Ok(r) => r.map_err(Failure::from),
        Err(_) => Err(Failure {
            message: format!(
                "no answer within {}s; the endpoint may be overloaded or hung",
                REQUEST_TIMEOUT.as_secs()
            ),
            unavailable: true,
        }),
    }
}

/// Carries out one request that has a single answer. Returns `None` for streaming effects.
pub async fn resolve(backend: &AnyBackend, effect: &Effect) -> Option<Action> {
    Some(match effect {
        Effect::LoadList(pane) => Action::List(match pane {
            PaneKind::Containers => Lists::Containers(timed(backend.list_containers(true)).await),
            PaneKind::Images => Lists::Images(timed(backend.list_images(false)).await),
            PaneKind::Volumes => Lists::Volumes(timed(backend.list_volumes()).await),
            PaneKind::Networks => Lists::Networks(timed(backend.list_networks()).await),
        }),
        Effect::LoadContainer(id) => Action::Detail(Loaded::Container(
            id.clone(),
            timed(backend.inspect_container(id)).await.map(Box::new),
        )),
        Effect::LoadTop(id) => Action::Detail(Loaded::Top(
            id.clone(),
            timed(backend.top_container(id)).await,
        )),
        Effect::LoadImage(id) => Action::Detail(Loaded::Image(
            id.clone(),
            timed(backend.inspect_image(id)).await.map(Box::new),
        )),
        Effect::LoadHistory(id) => Action::Detail(Loaded::History(
            id.clone(),
            timed(backend.image_history(id)).await,
        )),
        Effect::LoadVolume(name) => Action::Detail(Loaded::Json(
            name.clone(),
            timed(backend.inspect_volume(name))
                .await
                .map(|v| serde_json::to_string_pretty(&v.inspect_json()).unwrap_or_default()),
        )),
        Effect::LoadNetwork(id) => Action::Detail(Loaded::Json(
            id.clone(),
            timed(backend.inspect_network(id))
                .await
                .map(|n| serde_json::to_string_pretty(&n.inspect_json()).unwrap_or_default()),
        )),
        Effect::Containers(op, targets) => {
            let op = *op;
            each(op.done(), targets, |id| {
                let b = backend.clone();
                async move {
                    match op {
                        ContainerOp::Start => timed(b.start_container(&id)).await,
                        ContainerOp::Stop => timed(b.stop_container(&id, None)).await,
                        ContainerOp::Restart => timed(b.restart_container(&id, None)).await,
                        ContainerOp::Pause => timed(b.pause_container(&id)).await,
                        ContainerOp::Unpause => timed(b.unpause_container(&id)).await,
                        ContainerOp::Kill => timed(b.kill_container(&id, None)).await,
                        ContainerOp::Remove => {
                            let options = RemoveOptions {
                                force: true,
                                volumes: false,
                            };
                            timed(b.remove_container(&id, options)).await
                        }
                    }
                }
            })
            .await
        }
        Effect::RemoveImages(targets) => {
            each("removed", targets, |id| {
                let b = backend.clone();
                async move { timed(b.remove_image(&id, false)).await.map(drop) }
            })
            .await
        }
        Effect::RemoveVolumes(targets) => {
            each("removed", targets, |name| {
                let b = backend.clone();
                async move { timed(b.remove_volume(&name, false)).await }
            })
            .await
        }
        Effect::RemoveNetworks(targets) => {
            each("removed", targets, |id| {
                let b = backend.clone();
                async move { timed(b.remove_network(&id)).await }
            })
            .await
        }
        Effect::SaveLogs(path, lines) => save(path.clone(), lines).await,
        Effect::MeasurePrune => Action::PruneMeasured(
            timed(backend.list_containers_sized(true))
                .await
                .map(|list| {
                    list.iter()
                        .filter(|c| c.state.is_prunable())
                        .filter_map(|c| c.size_rw)
                        .sum()
                }),
        ),
        Effect::Run(spec) => {
            let name = spec.name.clone();
            let image = spec.image.clone();
            let outcome = match timed(backend.create_container((**spec).clone())).await {
                Ok(id) => timed(backend.start_container(&id)).await.map(|()| id),
                Err(f) => Err(f),
            };
            match outcome {
                Ok(id) => done(format!(
                    "started {}",
                    name.unwrap_or_else(|| id[..12].to_string())
                )),
                Err(f)
                    if f.message
                        .starts_with(&format!("no such {}", ObjectKind::Image)) =>
                {
                    failed(format!(
                        "{image} is not here: pull it first (Images pane, P)"
                    ))
                }
                Err(f) => failed(f.message),
            }
        }
        Effect::Commit { id, name, spec } => Action::Committed(
            name.clone(),
            timed(backend.commit_container(id, spec.clone())).await,
        ),
        Effect::CreateVolume(spec) => match timed(backend.create_volume(spec.clone())).await {
            Ok(v) => done(format!("created volume {}", v.name)),
            Err(f) => failed(f.message),
        },
        Effect::CreateNetwork(spec) => match timed(backend.create_network(spec.clone())).await {
            Ok(_) => done(format!("created network {}", spec.name)),
            Err(f) => failed(f.message),
        },
        Effect::Prune(pane) => {
            let report = match pane {
                PaneKind::Containers => timed(backend.prune_containers()).await,
                PaneKind::Images => timed(backend.prune_images(false)).await,
                PaneKind::Volumes => timed(backend.prune_volumes()).await,
                PaneKind::Networks => timed(backend.prune_networks()).await,
            };
            match report {
                Ok(r) => done(format!(
                    "pruned {} {}{}, freed {}",
                    r.deleted.len(),
                    pane.noun(),
                    if r.deleted.len() == 1 { "" } else { "s" },
                    human_size(r.space_reclaimed)
                )),
                Err(f) => failed(f.message),
            }
        }
        Effect::Pull(_)
        | Effect::Build(_)
        | Effect::CancelBuild
        | Effect::WatchLogs(_)
        | Effect::WatchMergedLogs(..)
        | Effect::OpenTerminal(_)
        | Effect::TerminalInput(..)
        | Effect::TerminalResize(..)
        | Effect::CloseTerminal(_)
        | Effect::WatchStats(_)
        | Effect::WatchUsage(_)
        | Effect::WatchEvents
        | Effect::SwitchEndpoint(_)
        | Effect::Handover(_) => {
            return None;
        }
    })
}

fn done(text: String) -> Action {
    Action::Finished {
        done: text,
        failures: Vec::new(),
    }
}

fn failed(text: String) -> Action {
    Action::Finished {
        done: String::new(),
        failures: vec![text],
    }
}

/// Writes lines to a file off the UI thread and reports the outcome.
async fn save(path: std::path::PathBuf, lines: &[String]) -> Action {
    let count = lines.len();
    let mut text = lines.join("\n");
    text.push('\n');
    let shown = path.display().to_string();
    let written = tokio::task::spawn_blocking(move || std::fs::write(&path, text))
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
    match written {
        Ok(()) => done(format!("saved {count} lines to {shown}")),
        Err(e) => failed(format!("cannot write {shown}: {e}")),
    }
}

/// Applies `act` to each (id, label) target in turn and reports what was `verb` and what failed.
async fn each<F, Fut>(verb: &str, targets: &[(String, String)], act: F) -> Action
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Outcome<()>>,
{
    let mut done = Vec::new();
    let mut failures = Vec::new();
    // Several at once, as compose stops a project: each stop may wait out a grace period.
    let mut pending = Vec::with_capacity(targets.len());
    for (id, _) in targets {
        pending.push(act(id.clone()));
    }
    let outcomes: Vec<Outcome<()>> = futures::stream::iter(pending)
        .buffered(BULK_AT_ONCE)
        .collect()
        .await;
    for ((_, label), outcome) in targets.iter().zip(outcomes) {
        match outcome {
            Ok(()) => done.push(label.clone()),
            Err(f) => failures.push(format!("{label}: {}", f.message)),
        }
    }
    Action::Finished {
        done: if done.is_empty() {
            String::new()
        } else {
            format!("{verb} {}", done.join(", "))
        },
        failures,
    }
}

/// Runs effects in background tasks and keeps at most one log, stats and events stream, and
/// one build.
pub struct Runner {
    backend: AnyBackend,
    tx: UnboundedSender<Action>,
    logs: Option<JoinHandle<()>>,
    stats: Option<JoinHandle<()>>,
    /// The sample streams of the CPU and MEM columns, by container.
    usage: std::collections::HashMap<String, JoinHandle<()>>,
    events: Option<JoinHandle<()>>,
    build: Option<JoinHandle<()>>,
    /// The terminal pane's sessions: what is sent to each, and its task.
    terminals: std::collections::HashMap<u32, TerminalTask>,
}

/// A terminal pane's session as the runner holds it.
type TerminalTask = (
    UnboundedSender<super::terminal_io::TermCommand>,
    JoinHandle<()>,
);

impl Runner {
    /// A runner sending results to `tx`.
    pub fn new(backend: AnyBackend, tx: UnboundedSender<Action>) -> Runner {
        Runner {
            backend,
            tx,
            logs: None,
            stats: None,
            usage: std::collections::HashMap::new(),
            events: None,
            build: None,
            terminals: std::collections::HashMap::new(),
        }
    }

    /// Starts carrying out `effect`.
    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::WatchLogs(target) => {
                if let Some(task) = self.logs.take() {
                    task.abort();
                }
                if let Some((id, options)) = target {
                    self.logs = Some(self.spawn_logs(id, options));
                }
            }
            Effect::OpenTerminal(request) => {
                let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
                let id = request.session;
                let task = tokio::spawn(super::terminal_io::run(
                    self.backend.clone(),
                    request,
                    rx,
                    self.tx.clone(),
                ));
                self.terminals.insert(id, (commands, task));
            }
            Effect::TerminalInput(id, bytes) => {
                if let Some((commands, _)) = self.terminals.get(&id) {
                    let _ = commands.send(super::terminal_io::TermCommand::Input(bytes));
                }
            }
            Effect::TerminalResize(id, rows, cols) => {
                if let Some((commands, _)) = self.terminals.get(&id) {
                    let _ = commands.send(super::terminal_io::TermCommand::Resize(rows, cols));
                }
            }
            // Dropping its commands ends the session's connection.
            Effect::CloseTerminal(id) => {
                self.terminals.remove(&id);
            }
            Effect::WatchMergedLogs(key, members, options) => {
                if let Some(task) = self.logs.take() {
                    task.abort();
                }
                let backend = self.backend.clone();
                let tx = self.tx.clone();
                self.logs = Some(tokio::spawn(async move {
                    forward(
                        streams::merged_logs(&backend, key, members, options).await,
                        tx,
                    )
                    .await
                }));
            }
            Effect::WatchStats(target) => {
                if let Some(task) = self.stats.take() {
                    task.abort();
                }
                if let Some(id) = target {
                    self.stats = Some(self.spawn_stats(id));
                }
            }
            Effect::WatchUsage(ids) => {
                self.usage.retain(|id, task| {
                    let keep = ids.contains(id);
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for id in ids {
                    if !self.usage.contains_key(&id) {
                        let backend = self.backend.clone();
                        let tx = self.tx.clone();
                        let stream = id.clone();
                        let task = tokio::spawn(async move {
                            forward(streams::usage(&backend, stream).await, tx).await
                        });
                        self.usage.insert(id, task);
                    }
                }
            }
            Effect::Pull(reference) => {
                let backend = self.backend.clone();
                let tx = self.tx.clone();
                tokio::spawn(
                    async move { forward(streams::pull(&backend, reference).await, tx).await },
                );
            }
            Effect::Build(request) => {
                if let Some(task) = self.build.take() {
                    task.abort();
                }
                let backend = self.backend.clone();
                let tx = self.tx.clone();
                self.build = Some(tokio::spawn(async move {
                    forward(streams::build(&backend, request).await, tx).await
                }));
            }
            // Dropping the build's stream stops it.
            Effect::CancelBuild => {
                if let Some(task) = self.build.take() {
                    task.abort();
                }
            }
            Effect::WatchEvents => {
                if self.events.as_ref().is_some_and(|t| !t.is_finished()) {
                    return;
                }
                self.events = Some(self.spawn_events());
            }
            other => {
                let backend = self.backend.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    if let Some(action) = resolve(&backend, &other).await {
                        // The UI has gone away when sending fails; nothing to do then.
                        let _ = tx.send(action);
                    }
                });
            }
        }
    }

    fn spawn_logs(&self, id: String, options: LogOptions) -> JoinHandle<()> {
        let backend = self.backend.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move { forward(streams::logs(&backend, id, options).await, tx).await })
    }

    fn spawn_stats(&self, id: String) -> JoinHandle<()> {
        let backend = self.backend.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move { forward(streams::stats(&backend, id).await, tx).await })
    }

    fn spawn_events(&self) -> JoinHandle<()> {
        let backend = self.backend.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move { forward(streams::events(&backend).await, tx).await })
    }
}

/// Sends a stream's actions to the UI until it ends or the UI has gone away.
async fn forward(
    mut actions: futures::stream::BoxStream<'static, Action>,
    tx: UnboundedSender<Action>,
) {
    while let Some(action) = actions.next().await {
        if tx.send(action).is_err() {
            return;
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let tasks = [
            self.logs.take(),
            self.stats.take(),
            self.events.take(),
            self.build.take(),
        ];
        for task in tasks
            .into_iter()
            .flatten()
            .chain(self.usage.drain().map(|(_, t)| t))
        {
            task.abort();
        }
        for (_, (_, task)) in self.terminals.drain() {
            task.abort();
        }
    }
}
