//! The `:` command line from the app's side: keys go to the [`Palette`] while it is open,
//! its completion draws names from the lists held, and a line run becomes what the same
//! keys would do — a pane to the front, a container's logs, a session, a run, a pull, a
//! confirmed removal, a filter — or another endpoint, whose backend the event loop opens
//! ([`App::switched_endpoint`] then starts afresh on it).

use super::*;
use crate::tui::palette::{self, Names, Outcome, PaletteCommand};

impl App {
    /// Opens the command line.
    pub(super) fn open_palette(&mut self) -> Vec<Effect> {
        self.palette.open();
        self.mode = Mode::Palette;
        Vec::new()
    }

    pub(super) fn on_palette_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mut palette = std::mem::take(&mut self.palette);
        let outcome = palette.key(key, |n: Names| self.names_for(n));
        self.palette = palette;
        match outcome {
            Outcome::Editing => Vec::new(),
            Outcome::Closed => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Outcome::Run(line) => {
                self.mode = Mode::Normal;
                match palette::parse(&line) {
                    Ok(command) => self.run_palette(command),
                    Err(message) => {
                        self.say(message, true);
                        Vec::new()
                    }
                }
            }
        }
    }

    /// Everything shown came from the endpoint left: start afresh on the one now in use,
    /// keeping the pane in front, the size, the settings and the command history.
    pub fn switched_endpoint(&mut self, label: String, demo: bool) -> Vec<Effect> {
        let ui = self.ui.clone();
        *self = App {
            pane: self.pane,
            size: self.size,
            palette: std::mem::take(&mut self.palette),
            endpoints: std::mem::take(&mut self.endpoints),
            ..App::new(AppOptions {
                endpoint: label.clone(),
                demo,
                keymap: self.keymap.clone(),
                theme: self.theme.clone(),
                ui,
                endpoints: Vec::new(),
                clock: self.clock,
            })
        };
        self.say(format!("switched to {label}"), false);
        self.start()
    }

    /// The endpoint asked for could not be opened: nothing changed.
    pub fn endpoint_failed(&mut self, name: &str, why: String) {
        self.say(
            format!("cannot switch to {name}: {why}; still on {}", self.endpoint),
            true,
        );
        self.dirty = true;
    }

    /// What the arguments of a command may be, from the lists held.
    fn names_for(&self, names: Names) -> Vec<String> {
        fn labels<T: Row>(p: &ListPane<T>) -> Vec<String> {
            p.rows().iter().map(Row::label).collect()
        }
        match names {
            Names::Nothing => Vec::new(),
            Names::Containers => {
                let projects = self
                    .containers
                    .rows()
                    .iter()
                    .filter_map(|c| c.labels.get(super::merged::PROJECT_LABEL).cloned());
                labels(&self.containers)
                    .into_iter()
                    .chain(projects)
                    .collect()
            }
            Names::Images => self
                .images
                .rows()
                .iter()
                .flat_map(|i| i.repo_tags.iter().cloned())
                .collect(),
            Names::Endpoints => self.endpoints.clone(),
            Names::Pane => match self.pane {
                PaneKind::Containers => labels(&self.containers),
                PaneKind::Images => labels(&self.images),
                PaneKind::Volumes => labels(&self.volumes),
                PaneKind::Networks => labels(&self.networks),
            },
        }
    }

    fn run_palette(&mut self, command: PaletteCommand) -> Vec<Effect> {
        match command {
            PaletteCommand::Pane(pane) => self.switch_pane(pane),
            PaletteCommand::Help => {
                self.dialog = Some(Dialog::Help(0));
                Vec::new()
            }
            PaletteCommand::Quit => {
                self.quit = true;
                Vec::new()
            }
            PaletteCommand::Filter(text) => {
                let now = self.now;
                with_pane!(self, self.pane, p => p.set_filter(text, now));
                self.sync_detail(false)
            }
            PaletteCommand::Pull(reference) => {
                if let Err(e) = crate::model::Reference::parse(&reference) {
                    self.say(format!("cannot pull {reference}: {e}"), true);
                    return Vec::new();
                }
                self.dialog = Some(Dialog::Pull(crate::tui::dialog::PullState::new(
                    reference.clone(),
                )));
                vec![Effect::Pull(reference)]
            }
            PaletteCommand::Run { image, command } => {
                vec![Effect::Run(Box::new(crate::model::ContainerSpec {
                    image,
                    cmd: command,
                    ..crate::model::ContainerSpec::default()
                }))]
            }
            PaletteCommand::Exec { name, command } => {
                let Some(c) = self.find_container(&name) else {
                    return Vec::new();
                };
                if c.state != ContainerState::Running {
                    self.say(
                        format!(
                            "cannot exec in {}: it is {}; start it first",
                            c.name, c.state
                        ),
                        true,
                    );
                    return Vec::new();
                }
                self.open_session_on(c.id, c.name, false, command)
            }
            PaletteCommand::Remove(names) => {
                let mut keys = Vec::new();
                for name in &names {
                    match self.find_in_pane(name) {
                        Ok(key) => keys.push(key),
                        Err(message) => {
                            self.say(message, true);
                            return Vec::new();
                        }
                    }
                }
                self.confirm_remove_of(Some(&keys))
            }
            PaletteCommand::Logs { names, since } => self.palette_logs(&names, since.as_deref()),
            PaletteCommand::Endpoint(None) => {
                let message = format!(
                    "on {}; :endpoint NAME switches to {}, a unix:// or tcp:// URL",
                    self.endpoint,
                    self.endpoints.join(", ")
                );
                self.say(message, false);
                Vec::new()
            }
            PaletteCommand::Endpoint(Some(name)) => vec![Effect::SwitchEndpoint(name)],
        }
    }

    /// `:logs`: one container's Logs tab, from `since` when given.
    fn palette_logs(&mut self, names: &[String], since: Option<&str>) -> Vec<Effect> {
        let since = match since.map(|s| crate::model::parse::since(s, self.now)) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                self.say(format!("--since: {e}"), true);
                return Vec::new();
            }
        };
        let Some(members) = self.log_members(names) else {
            return Vec::new();
        };
        let single = names.len() == 1 && members.len() == 1 && !self.is_project(&names[0]);
        if !single {
            return self.show_merged(members, since);
        }
        let key = members[0].0.clone();
        let mut effects = self.switch_pane(PaneKind::Containers);
        if !self.containers.select_key(&key) {
            // Hidden by the filter: the filter goes, so the row can be shown.
            let now = self.now;
            self.containers.set_filter(String::new(), now);
            self.containers.select_key(&key);
        }
        effects.extend(self.sync_detail(false));
        self.log_since = since;
        self.detail.logs.clear();
        effects.extend(self.show_tab(Tab::Logs));
        effects
    }

    /// The container a palette argument names: its name, its id or a unique id prefix.
    /// Says why when there is none.
    pub(super) fn find_container(&mut self, name: &str) -> Option<ContainerSummary> {
        match find_row(&self.containers, name, "container") {
            Ok(c) => Some(c.clone()),
            Err(why) => {
                self.say(why, true);
                None
            }
        }
    }

    /// The key of the row of the pane in front that `name` names.
    fn find_in_pane(&self, name: &str) -> Result<String, String> {
        fn key<T: Row>(p: &ListPane<T>, name: &str, noun: &str) -> Result<String, String> {
            find_row(p, name, noun).map(|r| r.key().to_string())
        }
        let noun = self.pane.noun();
        match self.pane {
            PaneKind::Containers => key(&self.containers, name, noun),
            PaneKind::Images => key(&self.images, name, noun),
            PaneKind::Volumes => key(&self.volumes, name, noun),
            PaneKind::Networks => key(&self.networks, name, noun),
        }
    }
}

/// The row `name` names: its label, its key, or a prefix of one key only; else why not.
fn find_row<'a, T: Row>(p: &'a ListPane<T>, name: &str, noun: &str) -> Result<&'a T, String> {
    let rows = p.rows();
    if let Some(r) = rows.iter().find(|r| r.label() == name || r.key() == name) {
        return Ok(r);
    }
    let bare = name.strip_prefix("sha256:").unwrap_or(name);
    let mut prefixed = rows
        .iter()
        .filter(|r| r.key().trim_start_matches("sha256:").starts_with(bare));
    match (prefixed.next(), prefixed.next()) {
        (Some(r), None) if !bare.is_empty() => Ok(r),
        (Some(_), Some(_)) => Err(format!(
            "{name} is the start of more than one {noun} id: give more of it, or the name"
        )),
        _ => Err(format!("no such {noun}: {name}")),
    }
}
