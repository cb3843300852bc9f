//! Form dialogs (tui-textarea fields): run a container, pull or build an image, commit a
//! container, create a volume or a network. Each form turns its fields into a request with the same parsers as the CLI, and a
//! bad value keeps the form open with a message naming the field; nothing is created.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::build::BuildRequest;
use super::effect::Effect;
use crate::backend::BackendError;
use crate::model::{CommitSpec, ContainerSpec, NetworkSpec, Resources, VolumeSpec, parse};

/// What a form makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// Create and start a container.
    Run,
    /// Pull an image.
    Pull,
    /// Create a volume.
    Volume,
    /// Create a network.
    Network,
    /// Build an image from a Dockerfile.
    Build,
    /// Make an image of a container's changes.
    Commit,
}

/// One labelled single-line field.
#[derive(Debug)]
pub struct Field {
    /// Label.
    pub label: &'static str,
    /// What to type, shown when empty.
    pub hint: &'static str,
    /// The editor.
    pub input: TextArea<'static>,
}

/// An open form.
#[derive(Debug)]
pub struct Form {
    /// What it makes.
    pub kind: FormKind,
    /// Fields in order.
    pub fields: Vec<Field>,
    /// Field with the cursor.
    pub focus: usize,
    /// Why the last submit was refused.
    pub error: Option<String>,
    /// The object the form acts on, as (id, name): the container of a commit.
    pub subject: Option<(String, String)>,
}

/// What a key did to the form.
#[derive(Debug)]
pub enum FormResult {
    /// Still editing.
    Editing,
    /// Closed without doing anything.
    Cancelled,
    /// Submitted; run this.
    Submit(Effect),
}

fn field(label: &'static str, hint: &'static str, value: &str) -> Field {
    let mut input = TextArea::new(vec![value.to_string()]);
    input.set_placeholder_text(hint);
    input.set_cursor_line_style(ratatui::style::Style::default());
    input.move_cursor(tui_textarea::CursorMove::End);
    Field { label, hint, input }
}

/// Items of a list field: separated by commas or spaces.
fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl Form {
    /// A new form of this kind; `image` pre-fills the image of a run form.
    pub fn new(kind: FormKind, image: &str) -> Form {
        let fields = match kind {
            FormKind::Run => vec![
                field("Image", "e.g. nginx:1.27 (required)", image),
                field("Name", "generated when empty", ""),
                field("Command", "the image's default when empty", ""),
                field("Ports", "8080:80, 127.0.0.1:5353:53/udp", ""),
                field("Volumes", "/host:/ctr:ro, data:/var/lib/data", ""),
                field("Env", "KEY=value, OTHER=x", ""),
                field(
                    "Restart",
                    "no | always | unless-stopped | on-failure[:N]",
                    "",
                ),
                field("Memory", "e.g. 512m", ""),
                field("CPUs", "e.g. 1.5", ""),
            ],
            FormKind::Pull => vec![field("Image", "e.g. busybox:latest (required)", image)],
            FormKind::Volume => vec![
                field("Name", "generated when empty", ""),
                field("Labels", "KEY=value, OTHER=x", ""),
            ],
            FormKind::Network => vec![
                field("Name", "required", ""),
                field("Subnet", "e.g. 10.10.0.0/24; allocated when empty", ""),
                field("Gateway", "first address of the subnet when empty", ""),
                field("Internal", "yes to cut outbound access", ""),
            ],
            FormKind::Build => vec![
                field("Context", "the directory to build from", "."),
                field(
                    "Dockerfile",
                    "relative to the context; Dockerfile when empty",
                    "",
                ),
                field("Tags", "app:1, app:latest (untagged when empty)", ""),
                field("Args", "build arguments: KEY=value, OTHER=x", ""),
                field("Target", "the stage to build; the last when empty", ""),
            ],
            FormKind::Commit => vec![
                field("Image", "REPOSITORY[:TAG] (untagged when empty)", image),
                field("Message", "commit message", ""),
                field("Author", "e.g. Jane Doe <jane@example.com>", ""),
                field("Changes", "CMD [\"app\"]; ENV A=1 (separated by ;)", ""),
            ],
        };
        Form {
            kind,
            fields,
            focus: 0,
            error: None,
            subject: None,
        }
    }

    /// A commit form for the container `(id, name)`.
    pub fn commit(id: String, name: String) -> Form {
        Form {
            subject: Some((id, name)),
            ..Form::new(FormKind::Commit, "")
        }
    }

    /// The title of the dialog.
    pub fn title(&self) -> String {
        let title = match self.kind {
            FormKind::Run => "Run a container",
            FormKind::Pull => "Pull an image",
            FormKind::Volume => "Create a volume",
            FormKind::Network => "Create a network",
            FormKind::Build => "Build an image",
            FormKind::Commit => "Commit a container",
        };
        match (&self.subject, self.kind) {
            (Some((_, name)), FormKind::Commit) => format!(" Commit {name} to an image "),
            _ => format!(" {title} "),
        }
    }

    fn value(&self, label: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.input.lines().join("").trim().to_string())
            .unwrap_or_default()
    }

    /// Handles a key: moves between fields, edits, submits on enter, cancels on esc.
    pub fn key(&mut self, key: KeyEvent) -> FormResult {
        match key.code {
            KeyCode::Esc => return FormResult::Cancelled,
            KeyCode::Enter => {
                return match self.submit() {
                    Ok(effect) => FormResult::Submit(effect),
                    Err(e) => {
                        self.error = Some(plain(e));
                        FormResult::Editing
                    }
                };
            }
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % self.fields.len(),
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = (self.focus + self.fields.len() - 1) % self.fields.len()
            }
            // One line per field: ctrl-m and ctrl-j would insert a newline.
            KeyCode::Char('m' | 'j') if key.modifiers.contains(KeyModifiers::CONTROL) => {}
            _ => {
                self.fields[self.focus].input.input(key);
                self.error = None;
            }
        }
        FormResult::Editing
    }

    /// Turns the fields into a request; the first bad value is refused with its field named.
    pub fn submit(&self) -> Result<Effect, BackendError> {
        match self.kind {
            FormKind::Run => {
                let image = self.value("Image");
                if image.is_empty() {
                    return Err(BackendError::invalid("Image: give the image to run"));
                }
                let name = Some(self.value("Name")).filter(|n| !n.is_empty());
                let cmd = named(
                    "Command",
                    crate::util::words::split(&self.value("Command"))
                        .map_err(BackendError::invalid),
                )?;
                let ports = named(
                    "Ports",
                    items(&self.value("Ports"))
                        .map(parse::ports)
                        .collect::<Result<Vec<_>, _>>(),
                )?
                .into_iter()
                .flatten()
                .collect();
                let mounts = named(
                    "Volumes",
                    items(&self.value("Volumes"))
                        .map(parse::volume)
                        .collect::<Result<Vec<_>, _>>(),
                )?;
                let mut env = Vec::new();
                for e in items(&self.value("Env")) {
                    env.extend(named("Env", parse::env(e, |_| None))?);
                }
                let restart = self.value("Restart");
                let memory = self.value("Memory");
                let cpus = self.value("CPUs");
                Ok(Effect::Run(Box::new(ContainerSpec {
                    image,
                    name,
                    cmd,
                    env,
                    ports,
                    mounts,
                    restart_policy: named("Restart", parse::restart(&restart))?,
                    resources: Resources {
                        memory: named(
                            "Memory",
                            (!memory.is_empty())
                                .then(|| parse::memory(&memory))
                                .transpose(),
                        )?,
                        nano_cpus: named(
                            "CPUs",
                            (!cpus.is_empty()).then(|| parse::cpus(&cpus)).transpose(),
                        )?,
                        ..Resources::default()
                    },
                    ..ContainerSpec::default()
                })))
            }
            FormKind::Pull => {
                let image = self.value("Image");
                if image.is_empty() {
                    return Err(BackendError::invalid("Image: give the reference to pull"));
                }
                Ok(Effect::Pull(image))
            }
            FormKind::Volume => Ok(Effect::CreateVolume(VolumeSpec {
                name: Some(self.value("Name")).filter(|n| !n.is_empty()),
                driver: None,
                labels: named("Labels", labels(&self.value("Labels")))?,
                options: Default::default(),
            })),
            FormKind::Network => {
                let name = self.value("Name");
                if name.is_empty() {
                    return Err(BackendError::invalid("Name: give the network a name"));
                }
                let internal = match self.value("Internal").to_ascii_lowercase().as_str() {
                    "" | "no" | "n" => false,
                    "yes" | "y" => true,
                    other => {
                        return Err(BackendError::invalid(format!(
                            "Internal: answer yes or no, not {other:?}"
                        )));
                    }
                };
                Ok(Effect::CreateNetwork(NetworkSpec {
                    name,
                    driver: None,
                    subnet: Some(self.value("Subnet")).filter(|s| !s.is_empty()),
                    gateway: Some(self.value("Gateway")).filter(|s| !s.is_empty()),
                    ip_range: None,
                    internal,
                    labels: BTreeMap::new(),
                }))
            }
            FormKind::Build => {
                let context = self.value("Context");
                if context.is_empty() {
                    return Err(BackendError::invalid(
                        "Context: give the directory to build from (. for this one)",
                    ));
                }
                let tags: Vec<String> = items(&self.value("Tags")).map(str::to_string).collect();
                for t in &tags {
                    named(
                        "Tags",
                        crate::model::Reference::parse(t)
                            .map_err(|e| BackendError::invalid(e.to_string())),
                    )?;
                }
                Ok(Effect::Build(BuildRequest {
                    context: context.into(),
                    dockerfile: Some(self.value("Dockerfile"))
                        .filter(|d| !d.is_empty())
                        .map(Into::into),
                    tags,
                    build_args: named("Args", labels(&self.value("Args")))?,
                    target: Some(self.value("Target")).filter(|t| !t.is_empty()),
                }))
            }
            FormKind::Commit => {
                let Some((id, name)) = self.subject.clone() else {
                    return Err(BackendError::invalid("no container to commit"));
                };
                let reference = Some(self.value("Image")).filter(|r| !r.is_empty());
                if let Some(r) = &reference {
                    named(
                        "Image",
                        crate::model::Reference::parse(r)
                            .map_err(|e| BackendError::invalid(e.to_string())),
                    )?;
                }
                let changes: Vec<String> = self
                    .value("Changes")
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
                named("Changes", crate::model::import_changes::parse(&changes))?;
                Ok(Effect::Commit {
                    id,
                    name,
                    spec: CommitSpec {
                        reference,
                        author: self.value("Author"),
                        message: self.value("Message"),
                        changes,
                        pause: true,
                    },
                })
            }
        }
    }
}

/// Puts the field's label in front of a refusal.
fn named<T, E: Into<BackendError>>(label: &str, r: Result<T, E>) -> Result<T, BackendError> {
    r.map_err(|e| BackendError::invalid(format!("{label}: {}", plain(e.into()))))
}

/// The message of a refusal without the "invalid input" prefix.
fn plain(e: BackendError) -> String {
    match e {
        BackendError::InvalidInput { message } => message,
        other => other.to_string(),
    }
}

fn labels(text: &str) -> Result<BTreeMap<String, String>, BackendError> {
    items(text)
        .map(|l| match l.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(BackendError::invalid(format!("{l:?}: write KEY=value"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(form: &mut Form, field: usize, text: &str) {
        form.focus = field;
        for c in text.chars() {
            form.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn a_run_form_becomes_a_spec() {
        let mut f = Form::new(FormKind::Run, "busybox");
        typed(&mut f, 1, "web");
        typed(&mut f, 2, "sh -c 'echo hi; sleep 5'");
        typed(&mut f, 3, "8080:80, 127.0.0.1:53:53/udp");
        typed(&mut f, 5, "A=1,B=2");
        typed(&mut f, 6, "on-failure:2");
        let Ok(Effect::Run(spec)) = f.submit() else {
            panic!("expected a run effect");
        };
        assert_eq!(spec.image, "busybox");
        assert_eq!(spec.cmd, ["sh", "-c", "echo hi; sleep 5"]);
        assert_eq!(spec.ports.len(), 2);
        assert_eq!(spec.env, ["A=1", "B=2"]);
    }

    #[test]
    fn bad_fields_are_named_and_the_form_stays_open() {
        let mut f = Form::new(FormKind::Run, "busybox");
        typed(&mut f, 3, "80:http");
        assert!(matches!(
            f.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            FormResult::Editing
        ));
        let err = f.error.clone().unwrap();
        assert!(err.contains("Ports:") && err.contains("80:http"), "{err}");
        let f = Form::new(FormKind::Run, "");
        assert!(f.submit().unwrap_err().to_string().contains("Image:"));
        let mut n = Form::new(FormKind::Network, "");
        typed(&mut n, 0, "net1");
        typed(&mut n, 3, "maybe");
        assert!(n.submit().unwrap_err().to_string().contains("Internal:"));
    }
}
