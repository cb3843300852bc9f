//! The container state machine: a container's lifecycle states as Docker names them, which
//! operation each state allows, and the one wording of each refusal. The engine checks it
//! inside the container's record lock (read the state, check, write: one critical section);
//! the demo backend applies the same rules.

use std::fmt;

use serde::Serialize;

/// Lifecycle state of a container, as Docker names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// Created but never started.
    Created,
    /// Its process is running.
    Running,
    /// Frozen by the freezer cgroup.
    Paused,
    /// Waiting for the restart policy to start it again.
    Restarting,
    /// Being removed.
    Removing,
    /// Its process has exited.
    Exited,
    /// Could not be stopped or removed cleanly.
    Dead,
}

impl ContainerState {
    /// Docker's lowercase name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
        }
    }

    /// Whether the container has a run in progress: running, paused, or waiting for its
    /// restart policy to start it again.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
        )
    }

    /// Whether a process of the container is alive (running or paused).
    pub fn is_alive(self) -> bool {
        matches!(self, ContainerState::Running | ContainerState::Paused)
    }

    /// Whether `container prune` removes a container in this state.
    pub fn is_prunable(self) -> bool {
        matches!(
            self,
            ContainerState::Exited | ContainerState::Created | ContainerState::Dead
        )
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a user asks of a container whose answer depends on its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Start its process.
    Start,
    /// Stop it: the stop signal, then SIGKILL.
    Stop,
    /// Send it a signal.
    Kill,
    /// Stop it if it runs, then start it.
    Restart,
    /// Freeze its processes.
    Pause,
    /// Thaw them.
    Unpause,
    /// Run another process in it.
    Exec,
    /// Attach to its main process (a run in progress).
    Attach,
    /// List its processes.
    Top,
    /// Remove it; `force` kills a run in progress first.
    Remove {
        /// `rm -f`.
        force: bool,
    },
}

impl Operation {
    fn verb(self) -> &'static str {
        match self {
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Kill => "kill",
            Operation::Restart => "restart",
            Operation::Pause => "pause",
            Operation::Unpause => "unpause",
            Operation::Exec => "exec in",
            Operation::Attach => "attach to",
            Operation::Top => "list the processes of",
            Operation::Remove { .. } => "remove",
        }
    }
}

/// What an allowed operation has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Carry it out.
    Proceed,
    /// Nothing: the container is already where the operation would take it (`start` of a
    /// running container, `stop` of a stopped one), and Docker answers with success.
    AlreadyDone,
}

/// An operation the container's state does not allow, with the one wording every backend
/// uses for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Refusal {
    /// What was asked.
    pub operation: Operation,
    /// The state that refused it.
    pub state: ContainerState,
    /// The container's name (or short id), as the message names it.
    pub container: String,
}

impl Refusal {
    fn message(&self) -> String {
        let n = &self.container;
        match (self.operation, self.state) {
            (Operation::Pause, ContainerState::Paused) => {
                format!("container {n} is already paused")
            }
            (Operation::Unpause, _) => format!("container {n} is not paused"),
            (Operation::Remove { .. }, ContainerState::Removing)
            | (_, ContainerState::Removing) => {
                format!("container {n} is being removed")
            }
            (Operation::Remove { .. }, s) => {
                format!("you cannot remove a {s} container {n}; stop it first or use rm -f")
            }
            (op, ContainerState::Paused) => {
                format!(
                    "cannot {} container {n}: it is paused; unpause it first",
                    op.verb()
                )
            }
            (Operation::Kill, ContainerState::Restarting) => format!(
                "cannot kill container {n}: it is restarting; wait until it runs, or stop it"
            ),
            (Operation::Exec | Operation::Attach, _) => {
                format!("container {n} is not running; start it first")
            }
            _ => format!("container {n} is not running"),
        }
    }
}

impl ContainerState {
    /// Whether this state allows `operation`: what to do, or the refusal naming `container`.
    pub fn check(self, operation: Operation, container: &str) -> Result<Allowed, Refusal> {
        use Allowed::{AlreadyDone, Proceed};
        use ContainerState as S;
        let verdict = match (operation, self) {
            (_, S::Removing) => None,
            (Operation::Start, S::Running | S::Restarting) => Some(AlreadyDone),
            (Operation::Start, S::Created | S::Exited | S::Dead) => Some(Proceed),
            (Operation::Stop, s) => Some(if s.is_active() { Proceed } else { AlreadyDone }),
            (Operation::Kill | Operation::Top, S::Running | S::Paused) => Some(Proceed),
            (Operation::Restart, S::Running | S::Restarting | S::Created | S::Exited | S::Dead) => {
                Some(Proceed)
            }
            (Operation::Pause, S::Running) => Some(Proceed),
            (Operation::Unpause, S::Paused) => Some(Proceed),
            (Operation::Exec, S::Running) => Some(Proceed),
            (Operation::Attach, S::Running | S::Paused | S::Restarting) => Some(Proceed),
            (Operation::Remove { force }, s) => (force || !s.is_active()).then_some(Proceed),
            _ => None,
        };
        verdict.ok_or_else(|| Refusal {
            operation,
            state: self,
            container: container.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ContainerState; 7] = [
        ContainerState::Created,
        ContainerState::Running,
        ContainerState::Paused,
        ContainerState::Restarting,
        ContainerState::Removing,
        ContainerState::Exited,
        ContainerState::Dead,
    ];

    fn allowed(state: ContainerState, op: Operation) -> Option<Allowed> {
        state.check(op, "web").ok()
    }

    #[test]
    fn start_runs_stopped_containers_and_leaves_running_ones() {
        use ContainerState::*;
        for s in [Created, Exited, Dead] {
            assert_eq!(allowed(s, Operation::Start), Some(Allowed::Proceed), "{s}");
        }
        for s in [Running, Restarting] {
            assert_eq!(
                allowed(s, Operation::Start),
                Some(Allowed::AlreadyDone),
                "{s}"
            );
        }
        assert_eq!(
            Paused
                .check(Operation::Start, "web")
                .unwrap_err()
                .to_string(),
            "cannot start container web: it is paused; unpause it first"
        );
    }

    #[test]
    fn stop_is_done_for_every_stopped_state() {
        for s in ALL {
            let expected = match s {
                ContainerState::Removing => None,
                s if s.is_active() => Some(Allowed::Proceed),
                _ => Some(Allowed::AlreadyDone),
            };
            assert_eq!(allowed(s, Operation::Stop), expected, "{s}");
        }
    }

    #[test]
    fn pause_and_unpause_go_between_running_and_paused() {
        use ContainerState::*;
        assert_eq!(allowed(Running, Operation::Pause), Some(Allowed::Proceed));
        assert_eq!(allowed(Paused, Operation::Unpause), Some(Allowed::Proceed));
        assert_eq!(
            Paused
                .check(Operation::Pause, "web")
                .unwrap_err()
                .to_string(),
            "container web is already paused"
        );
        for s in [Created, Running, Restarting, Exited, Dead] {
            assert_eq!(
                s.check(Operation::Unpause, "web").unwrap_err().to_string(),
                "container web is not paused",
                "{s}"
            );
        }
        for s in [Created, Restarting, Exited, Dead] {
            assert_eq!(
                s.check(Operation::Pause, "web").unwrap_err().to_string(),
                "container web is not running",
                "{s}"
            );
        }
    }

    #[test]
    fn exec_needs_a_running_container() {
        use ContainerState::*;
        for s in ALL {
            let r = s.check(Operation::Exec, "web");
            match s {
                Running => assert_eq!(r, Ok(Allowed::Proceed)),
                Paused => assert_eq!(
                    r.unwrap_err().to_string(),
                    "cannot exec in container web: it is paused; unpause it first"
                ),
                Removing => {
                    assert_eq!(r.unwrap_err().to_string(), "container web is being removed")
                }
                _ => assert_eq!(
                    r.unwrap_err().to_string(),
                    "container web is not running; start it first",
                    "{s}"
                ),
            }
        }
    }

    #[test]
    fn remove_refuses_a_run_in_progress_unless_forced() {
        use ContainerState::*;
        for s in ALL {
            let plain = s.check(Operation::Remove { force: false }, "web");
            let forced = s.check(Operation::Remove { force: true }, "web");
            if s == Removing {
                assert!(plain.is_err() && forced.is_err());
            } else if s.is_active() {
                assert_eq!(
                    plain.unwrap_err().to_string(),
                    format!("you cannot remove a {s} container web; stop it first or use rm -f")
                );
                assert_eq!(forced, Ok(Allowed::Proceed));
            } else {
                assert_eq!(plain, Ok(Allowed::Proceed), "{s}");
                assert_eq!(forced, Ok(Allowed::Proceed), "{s}");
            }
        }
    }

    #[test]
    fn kill_and_top_need_a_process() {
        use ContainerState::*;
        for op in [Operation::Kill, Operation::Top] {
            assert_eq!(allowed(Running, op), Some(Allowed::Proceed));
            for s in [Created, Exited, Dead] {
                assert_eq!(
                    s.check(op, "web").unwrap_err().to_string(),
                    "container web is not running"
                );
            }
        }
        assert!(
            Restarting
                .check(Operation::Kill, "web")
                .unwrap_err()
                .to_string()
                .contains("restarting")
        );
        assert_eq!(allowed(Paused, Operation::Kill), Some(Allowed::Proceed));
        assert_eq!(allowed(Paused, Operation::Top), Some(Allowed::Proceed));
    }

    #[test]
    fn a_container_being_removed_allows_nothing() {
        for op in [
            Operation::Start,
            Operation::Stop,
            Operation::Kill,
            Operation::Restart,
            Operation::Pause,
            Operation::Unpause,
            Operation::Exec,
            Operation::Attach,
            Operation::Top,
            Operation::Remove { force: true },
        ] {
            assert!(ContainerState::Removing.check(op, "web").is_err(), "{op:?}");
        }
    }

    #[test]
    fn every_refusal_names_the_container() {
        for s in ALL {
            for op in [
                Operation::Start,
                Operation::Kill,
                Operation::Pause,
                Operation::Unpause,
                Operation::Exec,
                Operation::Attach,
                Operation::Top,
                Operation::Remove { force: false },
            ] {
                if let Err(r) = s.check(op, "my-app") {
                    assert!(r.to_string().contains("my-app"), "{s} {op:?}: {r}");
                }
            }
        }
    }
}
