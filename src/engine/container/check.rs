//! `system check` of the containers of a data root: each record against its monitor, its
//! processes, its cgroups and libcontainer's state; processes and runtime state of this
//! root that no record has; build step containers whose build is gone; container root
//! filesystems left mounted in the host's namespace. Without `repair` nothing is changed;
//! with it, lost monitors are reaped (see `supervision.rs`), unsupervised processes killed,
//! and leftovers removed. Each finding names the container and what was found.

use super::lifecycle::Runtime;
use super::supervision::{cgroup_dirs, cgroup_pids, stop_leftovers};
use super::{ContainerError, RUNTIME_DIR, clear_runtime_state};

/// One finding, and whether `repair` dealt with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What is wrong, naming the container.
    pub what: String,
    /// Whether it was repaired.
    pub repaired: bool,
}

impl Runtime {
    /// Checks the containers; returns how many records were checked and what was found.
    pub fn check_containers(&self, repair: bool) -> Result<(usize, Vec<Finding>), ContainerError> {
        let mut found = Vec::new();
        let ids = self.containers.ids()?;
        for id in &ids {
            let Ok(config) = self.containers.config(id) else {
                continue;
            };
            let state = self.containers.state(id)?;
            let label = if config.name.is_empty() {
                format!("build step container {}", &id[..12])
            } else {
                format!("container {}", config.name)
            };
            if Self::monitor_lost(&state) {
                let pids = cgroup_pids(id);
                let running = if pids.is_empty() {
                    String::new()
                } else {
                    format!("; its processes run unsupervised (pids {})", join(&pids))
                };
                let fixed = repair && self.reap_lost_monitor(id).is_ok();
                found.push(Finding {
                    what: format!(
                        "{label}: its monitor (pid {}) is gone{running}",
                        state.monitor_pid.unwrap_or_default()
                    ),
                    repaired: fixed,
                });
                continue;
            }
            if let Some(b) = config.build.filter(|b| !b.alive()) {
                let fixed = repair && self.remove(id, true).is_ok();
                found.push(Finding {
                    what: format!(
                        "{label}: its build (pid {}) is gone, and the step container was left",
                        b.pid
                    ),
                    repaired: fixed,
                });
                continue;
            }
            if !Self::monitor_alive(&state) {
                let dirs = cgroup_dirs(id);
                let pids = cgroup_pids(id);
                let runtime_state = std::path::Path::new(RUNTIME_DIR).join(id).exists();
                if !pids.is_empty() || !dirs.is_empty() || runtime_state {
                    let fixed = repair && {
                        stop_leftovers(id);
                        cgroup_pids(id).is_empty()
                    };
                    let what = if pids.is_empty() {
                        format!("{label}: not running, but its cgroups or runtime state were left")
                    } else {
                        format!(
                            "{label}: not running by its record, but its processes run unsupervised (pids {})",
                            join(&pids)
                        )
                    };
                    found.push(Finding {
                        what,
                        repaired: fixed,
                    });
                }
            }
        }
        // What no record has: processes and runtime state of removed containers.
        for u in self.unsupervised() {
            let fixed = repair && {
                stop_leftovers(&u.id);
                cgroup_pids(&u.id).is_empty()
            };
            found.push(Finding {
                what: format!(
                    "removed container {}: its processes run without a record (pids {})",
                    &u.id[..12.min(u.id.len())],
                    join(&u.pids)
                ),
                repaired: fixed,
            });
        }
        for id in self.stale_runtime_states(&ids) {
            let fixed = repair && {
                clear_runtime_state(&id);
                true
            };
            found.push(Finding {
                what: format!(
                    "removed container {}: its runtime state was left",
                    &id[..12.min(id.len())]
                ),
                repaired: fixed,
            });
        }
        for point in self.host_mounts() {
            let fixed = repair
                && nix::mount::umount2(point.as_str(), nix::mount::MntFlags::MNT_DETACH).is_ok();
            found.push(Finding {
                what: format!("{point}: a container's root filesystem is left mounted on the host"),
                repaired: fixed,
            });
        }
        Ok((ids.len(), found))
    }

    /// libcontainer state of this root with no record and no process left.
    fn stale_runtime_states(&self, ids: &[String]) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(RUNTIME_DIR) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| self.owns(&e.path().join("state.json")))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|id| !ids.contains(id) && cgroup_pids(id).is_empty())
            .collect()
    }

    /// Mount points in this process's namespace under the containers' directories, of
    /// containers whose monitor is not running (monitors mount in namespaces of their own).
    fn host_mounts(&self) -> Vec<String> {
        let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
            return Vec::new();
        };
        let dir = self.containers.dir("");
        let base = dir.to_string_lossy();
        let mut points: Vec<String> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(|p| p.replace("\\040", " "))
            .filter(|p| p.starts_with(base.as_ref()))
            .filter(|p| {
                let id = p[base.len()..].split('/').next().unwrap_or_default();
                !self
                    .containers
                    .state(id)
                    .is_ok_and(|s| Self::monitor_alive(&s))
            })
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points.dedup();
        points
    }
}

fn join(pids: &[i32]) -> String {
    pids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
