//! Merged logs in the detail area: the Logs tab of several containers at once — marked rows,
//! a compose project (`:logs PROJECT`, or `l` on its header), or `:logs A B` — their lines interleaved by time, each with its
//! container's name. The view stays while the lists refresh, and goes when the user moves
//! the selection, changes pane or presses esc in the list; search, follow, only-matches and
//! save work as for one container's logs.

use super::*;

/// The label a compose project's containers carry.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

/// The start of the detail target's id for merged logs.
const MERGED: &str = "merged:";

impl App {
    /// The containers whose logs are shown merged, while they are.
    pub(super) fn merged_members(&self) -> Option<Vec<(String, String)>> {
        let shown = self
            .detail
            .target
            .as_ref()
            .is_some_and(|t| t.id.starts_with(MERGED));
        self.merged.clone().filter(|_| shown)
    }

    /// Whether `name` is a compose project of the containers listed.
    pub(super) fn is_project(&self, name: &str) -> bool {
        self.containers
            .rows()
            .iter()
            .any(|c| c.labels.get(PROJECT_LABEL).is_some_and(|p| p == name))
    }

    /// The containers (id, name) that `names` name: compose projects and containers (by
    /// name, id or id prefix), each once. `None`, said, when one names nothing.
    pub(super) fn log_members(&mut self, names: &[String]) -> Option<Vec<(String, String)>> {
        let mut members: Vec<(String, String)> = Vec::new();
        for name in names {
            let found: Vec<(String, String)> = if self.is_project(name) {
                self.containers
                    .rows()
                    .iter()
                    .filter(|c| c.labels.get(PROJECT_LABEL) == Some(name))
                    .map(|c| (c.id.clone(), c.name.clone()))
                    .collect()
            } else {
                let c = self.find_container(name)?;
                vec![(c.id, c.name)]
            };
            for f in found {
                if !members.contains(&f) {
                    members.push(f);
                }
            }
        }
        Some(members)
    }

    /// Shows the merged logs of `members` (one alone gets its own Logs tab).
    pub(super) fn show_merged(
        &mut self,
        mut members: Vec<(String, String)>,
        since: Option<i64>,
    ) -> Vec<Effect> {
        members.sort_by(|a, b| a.1.cmp(&b.1));
        let mut effects = self.leave_merged();
        effects.extend(self.switch_pane(PaneKind::Containers));
        let label = members
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let key = format!(
            "{MERGED}{}",
            members
                .iter()
                .map(|(id, _)| &id[..id.len().min(12)])
                .collect::<Vec<_>>()
                .join(",")
        );
        self.detail.retarget(Some(Target {
            pane: PaneKind::Containers,
            id: key,
            label,
        }));
        self.detail
            .logs
            .set_sources(members.iter().map(|(_, n)| n.clone()).collect());
        self.merged = Some(members);
        self.log_since = since;
        self.detail.select_tab(PaneKind::Containers, Tab::Logs);
        self.focus = Focus::Detail;
        effects.extend(self.tab_effects(false));
        effects
    }

    /// Leaves merged logs (if they are shown) for the selection's own detail.
    pub(super) fn leave_merged(&mut self) -> Vec<Effect> {
        if self.merged.take().is_none() {
            return Vec::new();
        }
        self.log_since = None;
        self.sync_detail(false)
    }

    /// `l` on marked rows, or on a compose project's header: their logs, merged.
    pub(super) fn marked_logs(&mut self) -> Option<Vec<Effect>> {
        if self.pane != PaneKind::Containers {
            return None;
        }
        if self.containers.mark_count() < 2 && self.containers.selected_group().is_none() {
            return None;
        }
        let members = self
            .containers
            .targets()
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        self.containers.clear_marks();
        Some(self.show_merged(members, None))
    }
}
