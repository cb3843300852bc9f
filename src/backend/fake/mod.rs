//! In-memory backend with realistic sample data, for `--demo` and for UI tests.
//!
//! It keeps a small world of containers, images, volumes and networks in memory and changes it
//! the way Docker would: starting, stopping, pausing and removing containers, tagging, pulling
//! and removing images, creating and removing volumes and networks. Every change is published
//! on the events stream. With a fixed clock everything it reports is deterministic.

mod archive;
mod containers;
mod files;
mod images;
mod inspect;
mod networks;
mod sample;
mod sessions;
mod shell;
mod state;
mod synth;
mod system;
mod volumes;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use futures::stream;
use tokio::sync::broadcast;

use super::error::{BackendError, Result};
use super::{ByteStream, ResultStream, Session, collect_bytes};
use crate::model::parse::valid_name;
use crate::model::signal::Signal;
use crate::model::*;
pub use crate::util::time::Clock;
pub use state::{FakeContainer, FakeImage, FakeNetwork, FakeVolume, State};
use state::{normalize_reference, validate_reference};
use synth::{Workload, hex_id};

/// Seconds between two lines of a demo container's log history.
const LOG_SPACING_SECS: i64 = 17;
/// Most history lines a demo container keeps.
const LOG_HISTORY_MAX: i64 = 5_000;
/// Memory the demo host pretends to have.
const HOST_MEMORY: u64 = 16 * 1024 * 1024 * 1024;
/// The demo host's CPUs.
const HOST_CPUS: u32 = 4;

/// An exec session of the demo: its terminal size and, once ended, its exit status.
struct ExecState {
    size: Arc<Mutex<(u16, u16)>>,
    exit: Arc<Mutex<Option<i64>>>,
}

struct Inner {
    state: Mutex<State>,
    sessions: Mutex<HashMap<String, ExecState>>,
    events: broadcast::Sender<Event>,
    clock: Clock,
    follow_interval: Duration,
}

/// The in-memory demo backend. Cloning shares the same world.
#[derive(Clone)]
pub struct FakeBackend {
    inner: Arc<Inner>,
}

impl Default for FakeBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeBackend {
    /// A demo backend on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Clock::System)
    }

    /// A demo backend on the given clock.
    pub fn with_clock(clock: Clock) -> Self {
        let now = clock.now();
        let (events, _) = broadcast::channel(256);
        FakeBackend {
            inner: Arc::new(Inner {
                state: Mutex::new(sample::world(now)),
                sessions: Mutex::new(HashMap::new()),
                events,
                clock,
                follow_interval: Duration::from_millis(700),
            }),
        }
    }

    fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    fn now_ns(&self) -> i128 {
        self.inner.clock.now_ns()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn emit(&self, kind: ObjectKind, action: &str, id: &str, name: Option<&str>) {
        // No receivers is fine: nobody is watching.
        let _ = self.inner.events.send(Event {
            time: self.now(),
            kind,
            action: action.to_string(),
            id: id.to_string(),
            name: name.map(ToString::to_string),
        });
    }

    /// Applies `change` to a container and emits `action` when it returns true.
    fn change_container(
        &self,
        reference: &str,
        action: &str,
        change: impl FnOnce(&mut FakeContainer, i64) -> Result<bool>,
    ) -> Result<()> {
        let now = self.now();
        let (id, name, changed) = {
            let mut st = self.state();
            let i = st.container_index(reference)?;
            let c = &mut st.containers[i];
            let changed = change(c, now)?;
            (c.summary.id.clone(), c.summary.name.clone(), changed)
        };
        if changed {
            self.emit(ObjectKind::Container, action, &id, Some(&name));
        }
        Ok(())
    }

    fn log_history(&self, c: &FakeContainer, options: LogOptions) -> Vec<LogLine> {
        let Some(start) = c.summary.started_at else {
            return Vec::new();
        };
        let end = if c.summary.state.is_alive() {
            self.now()
        } else {
            c.summary.finished_at.unwrap_or(start)
        };
        let count = ((end - start) / LOG_SPACING_SECS + 1).clamp(1, LOG_HISTORY_MAX);
        let mut first = (end - start) / LOG_SPACING_SECS + 1 - count;
        if let Some(tail) = options.tail {
            first = first.max((end - start) / LOG_SPACING_SECS + 1 - tail as i64);
        }
        if let Some(since) = options.since {
            first = first.max((since - start + LOG_SPACING_SECS - 1).div_euclid(LOG_SPACING_SECS));
        }
        let workload = Workload::for_image(&c.summary.image);
        (first.max(0)..=(end - start) / LOG_SPACING_SECS)
            .map(|seq| {
                let ts = i128::from(start + seq * LOG_SPACING_SECS) * 1_000_000_000
                    + i128::from(synth::hash64(&c.summary.id, seq as u64) % 1_000_000_000);
                synth::log_line(workload, &c.summary.id, seq as u64, ts)
            })
            .collect()
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, ExecState>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn container_snapshot(&self, reference: &str) -> Result<FakeContainer> {
        let st = self.state();
        let i = st.container_index(reference)?;
        Ok(st.containers[i].clone())
    }
}

/// The chunks a session task sends, as a stream that ends when the task does.
fn receiver_stream(rx: tokio::sync::mpsc::Receiver<OutputChunk>) -> ResultStream<OutputChunk> {
    stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|c| (Ok(c), rx)) },
    )
    .boxed()
}

/// Whether `ps` shows the container: all of them, or those with a process (or about to).
fn listed(c: &ContainerSummary, all: bool) -> bool {
    all || c.state.is_alive() || c.state == ContainerState::Restarting
}

#[cfg(test)]
mod tests;
