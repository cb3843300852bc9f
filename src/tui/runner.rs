//! The runner: carries out effects on the backend in background tasks and sends their
//! results back as [`Action`]s, keeping at most one log, stats and events stream and one
//! build, a usage stream per container on screen, and the terminal pane's sessions.

use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::action::Action;
use super::effect::{Effect, resolve};
use super::streams;
use crate::backend::AnyBackend;
use crate::model::LogOptions;

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
