//! Command-line interface: global options, subcommands, and choosing the backend.

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::backend::docker::{TlsArgs, endpoint};
use crate::backend::{AnyBackend, BackendError, DockerBackend, FakeBackend};
use crate::config::{self, Config};

/// Keyboard-driven terminal UI for containers, images, volumes and networks.
#[derive(Debug, Parser)]
#[command(name = "dockhand", version, about, propagate_version = true)]
pub struct Cli {
    /// Docker-compatible endpoint: `docker`, `podman`, a unix:// or tcp:// URL, or a name
    /// from [endpoints] in the config file.
    #[arg(
        short = 'H',
        long,
        env = "DOCKHAND_HOST",
        global = true,
        value_name = "URL|NAME"
    )]
    pub host: Option<String>,
    /// Data root of the embedded engine.
    #[arg(long, env = "DOCKHAND_ROOT", global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Config file (default: $XDG_CONFIG_HOME/dockhand/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// CA certificate for a TLS endpoint.
    #[arg(long, global = true, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,
    /// Client certificate for a TLS endpoint.
    #[arg(long, global = true, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,
    /// Client key for a TLS endpoint.
    #[arg(long, global = true, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,
    /// Use built-in sample data instead of a real backend; nothing real is touched.
    #[arg(long, global = true)]
    pub demo: bool,
    /// What to do; without a command the TUI opens.
    #[command(subcommand)]
    pub command: Option<Commands>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Print a shell completion script (e.g. `dockhand completions bash > /etc/bash_completion.d/dockhand`).
    Completions {
        /// Shell to generate for.
        shell: Shell,
    },
}

/// Why no backend could be opened.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// The endpoint given is malformed or unknown.
    #[error(transparent)]
    Endpoint(#[from] BackendError),
    /// No backend of this build serves the endpoint.
    #[error("{0}")]
    NoBackend(String),
}

/// Loads the config, applying `--root` on top of it.
pub fn load_config(cli: &Cli) -> Result<Config, config::ConfigError> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(root) = &cli.root {
        config.engine.root = root.clone();
    }
    Ok(config)
}

/// Opens the backend the options and the config ask for. Nothing is contacted yet: a
/// Docker-compatible endpoint is reached on the first request.
pub fn select_backend(cli: &Cli, config: &Config) -> Result<AnyBackend, SelectError> {
    if cli.demo {
        return Ok(AnyBackend::Fake(FakeBackend::new()));
    }
    let name = cli
        .host
        .clone()
        .unwrap_or_else(|| config.general.endpoint.clone());
    if name.is_empty() || name == "engine" {
        return Err(SelectError::NoBackend(format!(
            "this build of dockhand cannot open the embedded engine (root {}) yet; use a Docker-compatible endpoint (`-H docker`, `-H podman`, `-H unix:///path/to.sock`) or the demo data (`--demo`)",
            config.engine.root.display()
        )));
    }
    let tls = TlsArgs {
        ca: cli.tlscacert.clone(),
        cert: cli.tlscert.clone(),
        key: cli.tlskey.clone(),
    };
    let endpoint = endpoint::resolve(&name, &tls, config)?;
    Ok(AnyBackend::Docker(DockerBackend::new(endpoint)))
}

/// Writes a completion script for `shell` to stdout.
pub fn completions(shell: Shell) {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "dockhand",
        &mut std::io::stdout(),
    );
}
