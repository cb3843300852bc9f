//! The configuration file: its keys and defaults, where it is found, and the errors that stop
//! start-up when a key is unknown or a value is out of range.
//!
//! Every key is optional. `config.example.toml` at the top of the repository documents each
//! one with its default; a test keeps the two in step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration. `[keys]` and `[theme]` are kept as written: what their names and
/// values mean is the TUI's (`tui::settings`), which checks them through the [`Check`] given
/// to [`Config::load`] and [`Config::parse`].
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[general]`.
    pub general: General,
    /// `[endpoints]`: named Docker-compatible endpoints.
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// `[engine]`.
    pub engine: EngineConfig,
    /// `[ui]`.
    pub ui: UiConfig,
    /// `[keys]`, as written.
    pub keys: toml::Table,
    /// `[theme]`, as written.
    pub theme: toml::Table,
}

/// A check of the tables a front end owns: `Err((dotted key, what is wrong and accepted))`.
pub type Check = fn(&Config) -> Result<(), (String, String)>;

/// No check beyond the config's own: for callers that do not read `[keys]` or `[theme]`.
pub fn no_check(_: &Config) -> Result<(), (String, String)> {
    Ok(())
}

/// `[general]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// Endpoint used when no `-H` is given: empty for the embedded engine, `docker`, `podman`,
    /// a URL, or the name of an entry in `[endpoints]`.
    pub endpoint: String,
}

/// One named endpoint in `[endpoints.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// `unix:///path/to.sock` or `tcp://host:port`.
    pub host: String,
    /// CA certificate for TLS.
    pub tlscacert: Option<PathBuf>,
    /// Client certificate for TLS.
    pub tlscert: Option<PathBuf>,
    /// Client key for TLS.
    pub tlskey: Option<PathBuf>,
}

/// Storage driver of the embedded engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageDriver {
    /// overlay where the kernel offers it, else copy.
    #[default]
    Auto,
    /// overlayfs.
    Overlay,
    /// Full copies of the image layers.
    Copy,
}

/// `[engine]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Data root.
    pub root: PathBuf,
    /// Storage driver.
    pub storage_driver: StorageDriver,
    /// Network containers join when none is given.
    pub default_network: String,
    /// Registries (`host[:port]`) reached over plain HTTP; those on loopback always are.
    pub insecure_registries: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            root: PathBuf::from("/var/lib/dockhand"),
            storage_driver: StorageDriver::Auto,
            default_network: "bridge".into(),
            insecure_registries: Vec::new(),
        }
    }
}

/// `[ui]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// How often relative times ("Up 3 minutes") are redrawn, in milliseconds.
    pub tick_rate_ms: u64,
    /// How often the list in front is re-read once the events stream has ended, in
    /// milliseconds (30 times as long while it is live).
    pub refresh_interval_ms: u64,
    /// Most log lines kept per followed container.
    pub log_buffer_lines: usize,
    /// Lines of history fetched when the Logs tab opens.
    pub log_tail_lines: usize,
    /// Samples kept for the Stats charts.
    pub stats_history: usize,
    /// Where `e` and `a` open their session: a terminal pane beside the list, or the whole
    /// screen handed over.
    pub shell: ShellMode,
    /// Clicks and the wheel go to the TUI (off: the terminal selects text as usual).
    pub mouse: bool,
}

/// `[ui] shell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShellMode {
    /// A terminal pane inside the TUI.
    #[default]
    Pane,
    /// The whole terminal, given back when the session ends.
    Handover,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            tick_rate_ms: 1_000,
            refresh_interval_ms: 10_000,
            log_buffer_lines: 100_000,
            log_tail_lines: 500,
            stats_history: 120,
            shell: ShellMode::Pane,
            mouse: true,
        }
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key or value was refused.
    #[error("config file {path}{}: {message}", key_and_line(.key, *.line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key, e.g. `ui.tick_rate_ms` (empty for a syntax error).
        key: String,
        /// Line number, when known.
        line: Option<usize>,
        /// What was wrong and what is accepted.
        message: String,
    },
}

fn key_and_line(key: &str, line: Option<usize>) -> String {
    match (key.is_empty(), line) {
        (false, Some(l)) => format!(", key `{key}` (line {l})"),
        (false, None) => format!(", key `{key}`"),
        (true, Some(l)) => format!(", line {l}"),
        (true, None) => String::new(),
    }
}

/// The default location: `$XDG_CONFIG_HOME/dockhand/config.toml` (or the platform's equivalent).
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("dockhand").join("config.toml"))
}

impl Config {
    /// Loads `explicit` (which must exist), else the default location when it exists, else
    /// the defaults.
    pub fn load(explicit: Option<&Path>, check: Check) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path() {
                Some(p) if p.exists() => p,
                _ => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Config::parse(&text, &path, check)
    }

    /// Parses and validates config text, the front end's tables with `check`; `path` is used
    /// in messages only.
    pub fn parse(text: &str, path: &Path, check: Check) -> Result<Config, ConfigError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].lines().count().max(1);
        let deserializer = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let key = err.path().to_string();
            let inner = err.into_inner();
            ConfigError::Invalid {
                path: path.to_path_buf(),
                key: if key == "." { String::new() } else { key },
                line: inner.span().map(|s| line_of(s.start + 1)),
                message: inner.message().trim().to_string(),
            }
        })?;
        config
            .validate()
            .and_then(|()| check(&config))
            .map_err(|(key, message)| ConfigError::Invalid {
                line: find_key_line(text, &key),
                path: path.to_path_buf(),
                key,
                message,
            })?;
        Ok(config)
    }

    /// Checks ranges and cross-references that the types alone do not.
    fn validate(&self) -> Result<(), (String, String)> {
        let range = |key: &str, value: u64, lo: u64, hi: u64, unit: &str| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err((
                    key.to_string(),
                    format!("{value} is out of range; accepted: {lo} to {hi} {unit}"),
                ))
            }
        };
        let ui = &self.ui;
        range(
            "ui.tick_rate_ms",
            ui.tick_rate_ms,
            50,
            60_000,
            "milliseconds",
        )?;
        range(
            "ui.refresh_interval_ms",
            ui.refresh_interval_ms,
            500,
            3_600_000,
            "milliseconds",
        )?;
        range(
            "ui.log_buffer_lines",
            ui.log_buffer_lines as u64,
            100,
            10_000_000,
            "lines",
        )?;
        range(
            "ui.log_tail_lines",
            ui.log_tail_lines as u64,
            0,
            1_000_000,
            "lines",
        )?;
        range(
            "ui.stats_history",
            ui.stats_history as u64,
            10,
            3_600,
            "samples",
        )?;
        if !self.engine.root.is_absolute() {
            return Err((
                "engine.root".into(),
                format!(
                    "{:?} is not an absolute path; write the full path, e.g. /var/lib/dockhand",
                    self.engine.root
                ),
            ));
        }
        if self.engine.default_network.is_empty() {
            return Err((
                "engine.default_network".into(),
                "must not be empty; the built-in default is \"bridge\"".into(),
            ));
        }
        for (name, endpoint) in &self.endpoints {
            if matches!(name.as_str(), "docker" | "podman" | "engine") {
                return Err((
                    format!("endpoints.{name}"),
                    format!("{name:?} is a built-in endpoint name; choose another name"),
                ));
            }
            check_url(&endpoint.host).map_err(|m| (format!("endpoints.{name}.host"), m))?;
        }
        let ep = &self.general.endpoint;
        if !(ep.is_empty()
            || matches!(ep.as_str(), "docker" | "podman" | "engine")
            || self.endpoints.contains_key(ep)
            || ep.contains("://"))
        {
            return Err((
                "general.endpoint".into(),
                format!(
                    "{ep:?} is neither a URL nor a configured endpoint; accepted: \"\" (embedded engine), \"docker\", \"podman\", a unix:// or tcp:// URL, or a name from [endpoints]{}",
                    if self.endpoints.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({})",
                            self.endpoints
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            ));
        }
        if ep.contains("://") {
            check_url(ep).map_err(|m| ("general.endpoint".to_string(), m))?;
        }
        Ok(())
    }
}

/// Checks that an endpoint URL has a scheme dockhand can reach.
pub fn check_url(url: &str) -> Result<(), String> {
    if let Some(path) = url.strip_prefix("unix://") {
        if path.starts_with('/') {
            return Ok(());
        }
        return Err(format!(
            "{url:?} needs an absolute socket path, e.g. unix:///var/run/docker.sock"
        ));
    }
    for scheme in ["tcp://", "http://", "https://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let authority = rest.split('/').next().unwrap_or("");
            let port_ok = authority
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if port_ok {
                return Ok(());
            }
            return Err(format!(
                "{url:?} needs a host and a port, e.g. {scheme}127.0.0.1:2375"
            ));
        }
    }
    Err(format!(
        "{url:?} has an unknown scheme; use unix:///path/to.sock or tcp://host:port"
    ))
}

/// Best-effort line of a dotted key (`ui.tick_rate_ms`) in the text, for messages.
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    let header = format!("[{key}]");
    if let Some(i) = text.lines().position(|l| l.trim() == header) {
        return Some(i + 1);
    }
    let (table, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let mut in_table = table.is_empty();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_table = t.trim_matches(|c| c == '[' || c == ']').trim() == table;
        } else if in_table
            && t.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == leaf)
        {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/dockhand/test.toml"), no_check)
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn values_override_defaults() {
        let c = parse(
            "[ui]\ntick_rate_ms = 250\n[keys]\nquit = \"x\"\n[theme]\naccent = \"#ff8800\"\n",
        )
        .unwrap();
        assert_eq!(c.ui.tick_rate_ms, 250);
        assert_eq!(c.keys["quit"].as_str(), Some("x"));
        assert_eq!(c.theme["accent"].as_str(), Some("#ff8800"));
    }
}
