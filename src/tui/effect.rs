//! Requests `App::update` asks for, and [`resolve`], which carries out a one-shot request on
//! the backend and says its result as an [`Action`] (the [`Runner`](super::runner::Runner)
//! runs it in a task, with the streams). Nothing here blocks the UI.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;

use super::action::{Action, Failure, Lists, Loaded, Outcome};
use super::build::BuildRequest;
use super::panes::PaneKind;
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
