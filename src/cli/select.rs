//! Choosing the backend: the config file with the command line on top, the endpoint from
//! `-H`, `DOCKHAND_HOST` or the config, the embedded engine without one; and, before any of
//! that, whether the arguments start an engine container (for the cgroup warm-up).

use crate::backend::docker::{TlsArgs, endpoint};
use crate::backend::engine::EngineOptions;
use crate::backend::{AnyBackend, BackendError, DockerBackend, EngineBackend, FakeBackend};
use crate::config::{self, Config};

use super::{Cli, Commands};

/// Whether these arguments (the program name left out) ask the embedded engine to start a
/// container: judged before parsing, so that the kernel's wait for the
/// cgroup move starts as early as it can (see [`crate::engine::cgroup::warmup`]). It errs
/// towards no: any sign of another backend (`-H`, `--host`, `--demo`, `DOCKHAND_HOST`)
/// means no. A yes for a config that names another endpoint only wastes that early start.
pub fn starts_engine_process(args: &[String], host_in_env: bool) -> bool {
    let elsewhere =
        |a: &str| a == "--demo" || a == "--host" || a.starts_with("--host=") || a.starts_with("-H");
    if host_in_env || args.iter().any(|a| elsewhere(a)) {
        return false;
    }
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        if matches!(
            a.as_str(),
            "--root" | "--config" | "--tlscacert" | "--tlscert" | "--tlskey"
        ) {
            rest.next();
        } else if !a.starts_with('-') {
            // Not `exec`: it joins the container's cgroups without the migration lock.
            return matches!(a.as_str(), "run" | "start" | "restart");
        }
    }
    false
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

/// Loads the config (the front end's tables checked with `check`), applying `--root` on top
/// of it.
pub fn load_config(cli: &Cli, check: config::Check) -> Result<Config, config::ConfigError> {
    let mut config = Config::load(cli.config.as_deref(), check)?;
    if let Some(root) = &cli.root {
        config.engine.root = root.clone();
    }
    Ok(config)
}

/// Opens the backend the options and the config ask for. Nothing is contacted yet: a
/// Docker-compatible endpoint is reached on the first request.
pub fn select_backend(cli: &Cli, config: &Config) -> Result<AnyBackend, SelectError> {
    if cli.demo {
        return Ok(FakeBackend::new().into());
    }
    let name = cli
        .host
        .clone()
        .unwrap_or_else(|| config.general.endpoint.clone());
    let needs_root = !matches!(cli.command, Some(Commands::Completions { .. }));
    open_endpoint(&name, &tls_args(cli), config, needs_root)
}

/// The TLS files of the command line.
pub fn tls_args(cli: &Cli) -> TlsArgs {
    TlsArgs {
        ca: cli.tlscacert.clone(),
        cert: cli.tlscert.clone(),
        key: cli.tlskey.clone(),
    }
}

/// The endpoints to offer by name: the embedded engine, Docker's and Podman's usual sockets,
/// and the config's `[endpoints]`.
pub fn endpoint_names(config: &Config) -> Vec<String> {
    ["engine", "docker", "podman"]
        .into_iter()
        .map(String::from)
        .chain(config.endpoints.keys().cloned())
        .collect()
}

/// Opens the backend of endpoint `name`: `""` or `engine` for the embedded engine (which
/// needs root when `needs_root`), else a name or URL Docker's resolution knows.
pub fn open_endpoint(
    name: &str,
    tls: &TlsArgs,
    config: &Config,
    needs_root: bool,
) -> Result<AnyBackend, SelectError> {
    if name.is_empty() || name == "engine" {
        if needs_root && !rustix::process::geteuid().is_root() {
            return Err(SelectError::NoBackend(format!(
                "the embedded engine needs root: it makes namespaces, cgroups and overlay mounts, and owns its data root ({}). Run dockhand as root (sudo dockhand), or manage a Docker or Podman host instead (-H docker, -H podman, -H unix:///path/to.sock), or look around with --demo",
                config.engine.root.display()
            )));
        }
        let storage_driver = match config.engine.storage_driver {
            config::StorageDriver::Auto => "auto",
            config::StorageDriver::Overlay => "overlay",
            config::StorageDriver::Copy => "copy",
        };
        let engine = EngineBackend::open(
            &config.engine.root,
            EngineOptions {
                insecure_registries: config.engine.insecure_registries.clone(),
                credentials: None,
                storage_driver: storage_driver.into(),
                exe: None,
            },
        )?;
        return Ok(engine.into());
    }
    let endpoint = endpoint::resolve(name, tls, config)?;
    Ok(DockerBackend::new(endpoint).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(args: &str, env: bool) -> bool {
        let args: Vec<String> = args.split_whitespace().map(String::from).collect();
        starts_engine_process(&args, env)
    }

    #[test]
    fn only_engine_starts_warm_up_early() {
        assert!(starts("run --rm busybox true", false));
        assert!(starts("--root /srv/dh run web true", false));
        assert!(!starts("--root /srv/dh exec web true", false));
        assert!(starts("--config=/c.toml start -a web", false));
        assert!(starts("restart web", false));
        // Other commands, other backends, or a host from the environment: no.
        assert!(!starts("ps -a", false));
        assert!(!starts("--root run ps", false));
        assert!(!starts("-H docker run busybox", false));
        assert!(!starts("run -Hdocker busybox", false));
        assert!(!starts("--host=tcp://h:2375 exec web true", false));
        assert!(!starts("--demo run busybox", false));
        assert!(!starts("run busybox", true));
        assert!(!starts("", false));
    }
}
