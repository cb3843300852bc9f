//! The monitors of running containers as the events stream watches them: a pidfd for each
//! one, so that a monitor that ends is seen the moment it does. One that ended on its own
//! has recorded its container's exit (and the journal has the `die`); one that was lost
//! (killed, crashed) is dealt with as any reader of the container would — its container
//! stopped, the loss recorded and journalled, the restart policy applied — so that a
//! follower of the events learns of it without re-reading every container. A monitor whose
//! pidfd cannot be had (no descriptors left under the process's limit, an old kernel) is
//! looked at every [`UNWATCHED_EVERY`], when its pidfd is tried again.

use std::collections::{BTreeSet, HashMap};
use std::os::fd::OwnedFd;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::io::unix::AsyncFd;

use super::EngineBackend;
use crate::engine::container::monitor::start_time;

/// How often the containers whose monitor has no pidfd are read.
const UNWATCHED_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The monitors being watched.
pub(super) struct Monitors {
    me: EngineBackend,
    /// Container id → the monitor pid watched for it.
    watched: HashMap<String, i32>,
    /// One future per watched monitor, ready with the container id when it ends.
    ends: FuturesUnordered<BoxFuture<'static, String>>,
    /// Containers whose monitor could not be watched.
    unwatched: BTreeSet<String>,
    /// When they are read next.
    look_at: tokio::time::Instant,
}

impl Monitors {
    /// Watches the monitors of every container running now.
    pub(super) async fn of_running(me: &EngineBackend) -> Monitors {
        let found = me
            .blocking(|me| {
                let store = me.runtime().store();
                Ok(store
                    .dirs()?
                    .into_iter()
                    .filter_map(|id| {
                        let s = store.state(&id).ok()?;
                        Some((id, s.monitor_pid?, s.monitor_start))
                    })
                    .collect::<Vec<_>>())
            })
            .await
            .unwrap_or_default();
        let mut monitors = Monitors {
            me: me.clone(),
            watched: HashMap::new(),
            ends: FuturesUnordered::new(),
            unwatched: BTreeSet::new(),
            look_at: tokio::time::Instant::now() + UNWATCHED_EVERY,
        };
        for (id, pid, start) in found {
            monitors.watch(id, pid, start);
        }
        monitors
    }

    /// Container `id` was started: watches its new monitor.
    pub(super) async fn started(&mut self, id: &str) {
        let reference = id.to_string();
        let state = self
            .me
            .blocking(move |me| Ok(me.runtime().store().state(&reference)?))
            .await;
        if let Ok(s) = state {
            if let Some(pid) = s.monitor_pid {
                self.watch(id.to_string(), pid, s.monitor_start);
            }
        }
    }

    fn watch(&mut self, id: String, pid: i32, start: Option<u64>) {
        if self.watched.get(&id) == Some(&pid) {
            return;
        }
        let opened = rustix::process::Pid::from_raw(pid)
            .ok_or(rustix::io::Errno::SRCH)
            .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::NONBLOCK));
        let fd = match opened.map(|fd: OwnedFd| {
            // SAFETY: the pidfd is open and owned by the AsyncFd from here on, which closes
            // it when dropped; an OwnedFd always gives the same descriptor.
            unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        }) {
            Ok(Ok(fd)) => Some(fd),
            // No such process: the monitor is already gone, its container to be read now.
            Err(rustix::io::Errno::SRCH) => None,
            _ => {
                self.unwatched.insert(id);
                return;
            }
        };
        // The pid may have been reused between the record and the pidfd: then the monitor is
        // already gone, and the pidfd is another process's.
        let gone = start.is_some() && start_time(pid) != start;
        self.watched.insert(id.clone(), pid);
        self.unwatched.remove(&id);
        self.ends.push(Box::pin(async move {
            if let (Some(fd), false) = (fd, gone) {
                let _ = fd.readable().await;
            }
            id
        }));
    }

    /// Waits until a watched monitor ends (or the fallback passes, when some are unwatched):
    /// the containers to [`Monitors::check`]. Cancel-safe.
    pub(super) async fn ended(&mut self) -> Vec<String> {
        if self.ends.is_empty() && self.unwatched.is_empty() {
            std::future::pending().await
        } else if self.unwatched.is_empty() {
            self.ends.next().await.into_iter().collect()
        } else {
            tokio::select! {
                Some(id) = self.ends.next() => vec![id],
                () = tokio::time::sleep_until(self.look_at) => {
                    self.look_at = tokio::time::Instant::now() + UNWATCHED_EVERY;
                    std::mem::take(&mut self.unwatched).into_iter().collect()
                }
            }
        }
    }

    /// Reads containers whose monitor ended as any command would: a lost monitor is found
    /// there, and its container's exit recorded and journalled.
    pub(super) async fn check(&mut self, ended: Vec<String>) {
        if ended.is_empty() {
            return;
        }
        for id in &ended {
            self.watched.remove(id);
        }
        let now = self
            .me
            .blocking(move |me| {
                Ok(ended
                    .into_iter()
                    .filter_map(|id| {
                        // Restarted (by its policy, after a loss) it has a monitor again.
                        let s = me.runtime().get(&id).ok()?.state;
                        Some((id, s.monitor_pid?, s.monitor_start))
                    })
                    .collect::<Vec<_>>())
            })
            .await
            .unwrap_or_default();
        for (id, pid, start) in now {
            self.watch(id, pid, start);
        }
    }
}
