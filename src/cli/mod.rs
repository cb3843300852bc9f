//! Command-line interface: global options, subcommands (docker's flags and output), and
//! choosing the backend. Every command goes through the `Backend` seam.

pub mod container;
pub mod copy;
pub mod image;
pub mod output;
pub mod registry;
pub mod system;
pub mod volume;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::backend::docker::{TlsArgs, endpoint};
use crate::backend::engine::EngineOptions;
use crate::backend::prelude::*;
use crate::backend::{AnyBackend, BackendError, DockerBackend, EngineBackend, FakeBackend};
use crate::config::{self, Config};
use crate::model::{ExecSpec, RemoveOptions};

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
    /// List containers.
    Ps(container::PsArgs),
    /// Create and start a container.
    Run(container::RunArgs),
    /// Create a container.
    Create(container::ContainerOptions),
    /// Write a container's whole filesystem as a tar archive.
    Export {
        /// File to write (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Container.
        container: String,
    },
    /// Show the files a container added (A), changed (C) or deleted (D).
    Diff {
        /// Container.
        container: String,
    },
    /// Start containers.
    Start {
        /// Attach to the container's output (and its terminal) until it ends or you detach.
        #[arg(short, long)]
        attach: bool,
        /// With -a, attach the input too.
        #[arg(short, long)]
        interactive: bool,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop containers (stop signal, then SIGKILL after the timeout).
    Stop {
        /// Seconds to wait before killing.
        #[arg(short, long)]
        time: Option<u64>,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Send a signal to containers (SIGKILL by default).
    Kill {
        /// Signal to send.
        #[arg(short, long)]
        signal: Option<String>,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Restart containers.
    Restart {
        /// Seconds to wait before killing.
        #[arg(short, long)]
        time: Option<u64>,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Pause all processes in containers.
    Pause {
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Unpause containers.
    Unpause {
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove containers.
    Rm {
        /// Kill and remove running containers.
        #[arg(short, long)]
        force: bool,
        /// Remove anonymous volumes too.
        #[arg(short, long)]
        volumes: bool,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Rename a container.
    Rename {
        /// Container.
        container: String,
        /// New name.
        new_name: String,
    },
    /// Fetch the logs of a container.
    Logs(container::LogsArgs),
    /// Run a command in a running container.
    Exec(ExecArgs),
    /// Attach to a running container's input and output (detach with ctrl-p ctrl-q).
    Attach {
        /// Do not attach stdin.
        #[arg(long)]
        no_stdin: bool,
        /// Container.
        container: String,
    },
    /// Copy files between a container and the host (CONTAINER:PATH on one side; - for a tar on stdin/stdout).
    Cp {
        /// Source.
        src: String,
        /// Destination.
        dest: String,
    },
    /// Detailed information on containers, images, volumes or networks.
    Inspect {
        /// Only look for this kind: container, image, volume, network.
        #[arg(long = "type")]
        kind: Option<String>,
        /// Names or ids.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Processes of a container.
    Top {
        /// Container.
        container: String,
    },
    /// Live resource usage of containers.
    Stats {
        /// Show all containers (default shows just running).
        #[arg(short, long)]
        all: bool,
        /// Print one table and exit.
        #[arg(long)]
        no_stream: bool,
        /// Containers (default: all running).
        containers: Vec<String>,
    },
    /// Block until containers stop, then print their exit codes.
    Wait {
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List images.
    Images {
        /// Show all images.
        #[arg(short, long)]
        all: bool,
        /// Only show image IDs.
        #[arg(short, long)]
        quiet: bool,
        /// Only images of this repository.
        repository: Option<String>,
    },
    /// Download an image from a registry.
    Pull {
        /// Image reference.
        image: String,
    },
    /// Load images from a tar archive (file or stdin).
    Load {
        /// Archive to read (default: stdin).
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// Suppress the load output.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Save images to a tar archive (file or stdout).
    Save {
        /// File to write (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Images.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Import a root filesystem tarball (file or - for stdin) as an image.
    Import {
        /// Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR).
        #[arg(short, long = "change")]
        change: Vec<String>,
        /// Tarball, or - for stdin.
        file: PathBuf,
        /// Name for the image.
        reference: Option<String>,
    },
    /// Create a tag TARGET that refers to SOURCE.
    Tag {
        /// Source image.
        source: String,
        /// New reference.
        target: String,
    },
    /// Remove images.
    Rmi {
        /// Force removal.
        #[arg(short, long)]
        force: bool,
        /// Images.
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Show the history of an image.
    History {
        /// Don't truncate output.
        #[arg(long)]
        no_trunc: bool,
        /// Only show image IDs.
        #[arg(short, long)]
        quiet: bool,
        /// Image.
        image: String,
    },
    /// Manage images.
    /// Upload an image to its registry.
    Push {
        /// Image (NAME[:TAG]); the registry is the NAME's host.
        image: String,
    },
    /// Log in to a registry (checked before it is stored).
    Login {
        /// User name.
        #[arg(short, long)]
        username: Option<String>,
        /// Password (visible in the process list; prefer --password-stdin).
        #[arg(short, long)]
        password: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Registry (HOST[:PORT]); Docker Hub when omitted.
        server: Option<String>,
    },
    /// Forget the credentials of a registry.
    Logout {
        /// Registry (HOST[:PORT]); Docker Hub when omitted.
        server: Option<String>,
    },
    /// Manage images.
    #[command(subcommand)]
    Image(ImageCmd),
    /// Disk use and the engine's data root.
    #[command(subcommand)]
    System(SystemCmd),
    /// Manage containers.
    #[command(subcommand)]
    Container(ContainerCmd),
    /// Manage volumes.
    #[command(subcommand)]
    Volume(volume::VolumeCmd),
    /// Manage networks.
    #[command(subcommand)]
    Network(volume::NetworkCmd),
    /// Live events from the backend.
    Events,
    /// System-wide information.
    Info,
    /// Version of dockhand and of the backend.
    Version,
    /// Print a shell completion script (e.g. `dockhand completions bash > /etc/bash_completion.d/dockhand`).
    Completions {
        /// Shell to generate for.
        shell: Shell,
    },
}

/// `exec` options.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Keep STDIN open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables.
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User (name or UID[:GID]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Container.
    pub container: String,
    /// Command and arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `system …`.
#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    /// Show disk use by images, containers and volumes.
    Df,
    /// Start the engine's containers whose restart policy asks for it (after a reboot; see
    /// assets/dockhand-boot.service).
    Boot,
    /// Verify the embedded engine's data root; with --repair, remove what is broken.
    Check {
        /// Remove broken records and content, rebuild missing links.
        #[arg(long)]
        repair: bool,
    },
}

/// `image …`.
#[derive(Debug, Subcommand)]
pub enum ImageCmd {
    /// Show images in full (JSON).
    Inspect {
        /// Images.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove unused images.
    Prune {
        /// Remove all images without containers, not just dangling ones.
        #[arg(short, long)]
        all: bool,
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
}

/// `container …`.
#[derive(Debug, Subcommand)]
pub enum ContainerCmd {
    /// Remove all stopped containers.
    Prune {
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
}

/// Runs a subcommand and returns the process exit status.
pub async fn run(b: &AnyBackend, command: &Commands) -> anyhow::Result<i32> {
    use container::each;
    let ok = |()| 0;
    Ok(match command {
        Commands::Ps(a) => container::ps(b, a).await.map(ok)?,
        Commands::Run(a) => container::run(b, a).await?,
        Commands::Create(o) => container::create_cmd(b, o).await.map(ok)?,
        Commands::Start {
            attach: true,
            interactive,
            containers,
        } => {
            let [container] = containers.as_slice() else {
                anyhow::bail!("start -a attaches to one container at a time");
            };
            let tty = b.inspect_container(container).await?.tty;
            crate::session::attach_and_start(b, container, *interactive, tty).await? as i32
        }
        Commands::Start { containers, .. } => {
            each(containers, async |c| b.start_container(&c).await).await
        }
        Commands::Stop { time, containers } => {
            let t = container::timeout(*time);
            each(containers, async |c| b.stop_container(&c, t).await).await
        }
        Commands::Kill { signal, containers } => {
            each(containers, async |c| {
                b.kill_container(&c, signal.as_deref()).await
            })
            .await
        }
        Commands::Restart { time, containers } => {
            let t = container::timeout(*time);
            each(containers, async |c| b.restart_container(&c, t).await).await
        }
        Commands::Pause { containers } => {
            each(containers, async |c| b.pause_container(&c).await).await
        }
        Commands::Unpause { containers } => {
            each(containers, async |c| b.unpause_container(&c).await).await
        }
        Commands::Rm {
            force,
            volumes,
            containers,
        } => {
            let o = RemoveOptions {
                force: *force,
                volumes: *volumes,
            };
            each(containers, async |c| b.remove_container(&c, o).await).await
        }
        Commands::Rename {
            container,
            new_name,
        } => b.rename_container(container, new_name).await.map(ok)?,
        Commands::Logs(a) => container::logs(b, a).await.map(ok)?,
        Commands::Exec(a) => exec(b, a).await?,
        Commands::Attach {
            no_stdin,
            container,
        } => {
            let tty = b.inspect_container(container).await?.tty;
            let s = b.attach(container, !no_stdin).await?;
            crate::session::drive(b, s, tty).await?;
            let d = b.inspect_container(container).await?;
            if d.summary.state.is_alive() {
                0
            } else {
                d.summary.exit_code.unwrap_or(0) as i32
            }
        }
        Commands::Cp { src, dest } => copy::cp(b, src, dest).await.map(ok)?,
        Commands::Inspect { kind, names } => system::inspect(b, names, kind.as_deref()).await?,
        Commands::Top { container } => container::top(b, container).await.map(ok)?,
        Commands::Stats {
            all,
            no_stream,
            containers,
        } => container::stats(b, containers, *all, *no_stream)
            .await
            .map(ok)?,
        Commands::Wait { containers } => container::wait(b, containers).await?,
        Commands::Images {
            all,
            quiet,
            repository,
        } => image::images(b, *all, *quiet, repository.as_deref())
            .await
            .map(ok)?,
        Commands::Pull { image } => image::pull_with_progress(b, image).await.map(ok)?,
        Commands::Load { input, quiet } => {
            image::load(b, input.as_deref(), *quiet).await.map(ok)?
        }
        Commands::Export { output, container } => {
            image::refuse_terminal(output.as_deref())?;
            let stream = b.export_container(container).await?;
            image::write_archive(output.as_deref(), stream)
                .await
                .map(ok)?
        }
        Commands::Diff { container } => {
            for c in b.container_changes(container).await? {
                println!("{} {}", c.kind.letter(), c.path);
            }
            0
        }
        Commands::Save { output, images } => {
            image::save(b, output.as_deref(), images).await.map(ok)?
        }
        Commands::Import {
            change,
            file,
            reference,
        } => image::import(b, file, reference.as_deref(), change)
            .await
            .map(ok)?,
        Commands::Tag { source, target } => b.tag_image(source, target).await.map(ok)?,
        Commands::Rmi { force, images } => image::rmi(b, images, *force).await?,
        Commands::History {
            no_trunc,
            quiet,
            image,
        } => image::history(b, image, *no_trunc, *quiet).await.map(ok)?,
        Commands::Push { image } => registry::push(b, image).await.map(ok)?,
        Commands::Login { .. } | Commands::Logout { .. } => {
            anyhow::bail!("login and logout are handled before a backend is opened")
        }
        Commands::System(SystemCmd::Df) => system::df(b).await.map(ok)?,
        Commands::System(SystemCmd::Boot) => system::boot(b).await?,
        Commands::System(SystemCmd::Check { repair }) => system::check(b, *repair).await?,
        Commands::Image(ImageCmd::Inspect { names }) => {
            system::inspect(b, names, Some("image")).await?
        }
        Commands::Image(ImageCmd::Prune { all, force }) => {
            image::prune(b, *all, *force).await.map(ok)?
        }
        Commands::Container(ContainerCmd::Prune { force }) => {
            container::prune(b, *force).await.map(ok)?
        }
        Commands::Volume(cmd) => volume::volume(b, cmd).await?,
        Commands::Network(cmd) => volume::network(b, cmd).await?,
        Commands::Events => system::events(b).await.map(ok)?,
        Commands::Info => system::info(b).await.map(ok)?,
        Commands::Version => system::version(b).await.map(ok)?,
        Commands::Completions { shell } => {
            completions(*shell);
            0
        }
    })
}

/// `exec`: the process's exit status; 126/127 when the command cannot run, as docker.
fn exec_spec(a: &ExecArgs) -> anyhow::Result<ExecSpec> {
    let mut env = Vec::new();
    for e in &a.env {
        env.extend(crate::model::parse::env(e, |k| std::env::var(k).ok())?);
    }
    if a.tty && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        anyhow::bail!("the input device is not a TTY; drop -t or run from a terminal");
    }
    Ok(ExecSpec {
        cmd: a.command.clone(),
        env,
        working_dir: a.workdir.clone(),
        user: a.user.clone(),
        tty: a.tty,
        stdin: a.interactive,
    })
}

async fn exec(b: &AnyBackend, a: &ExecArgs) -> anyhow::Result<i32> {
    let s = b.exec(&a.container, exec_spec(a)?).await?;
    Ok(crate::session::drive(b, s, a.tty).await? as i32)
}

/// Whether these arguments (the program name left out) ask the embedded engine to start a
/// container: judged before parsing, so that the kernel's wait for the
/// cgroup move starts as early as it can (see [`crate::engine::cgroup_warmup`]). It errs
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

/// `exec` without `-t`, run from this process before any thread exists where the backend
/// can (see [`AnyBackend::exec_here`]); `None` when the command is something else or the
/// backend cannot.
pub fn exec_here(backend: &AnyBackend, command: &Commands) -> Option<anyhow::Result<i32>> {
    let Commands::Exec(a) = command else {
        return None;
    };
    // Forking is only safe with one thread; should one ever exist here, the helper does it.
    let threads = std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count);
    if a.tty || threads != 1 {
        return None;
    }
    let spec = match exec_spec(a) {
        Ok(spec) => spec,
        Err(e) => return Some(Err(e)),
    };
    let done = backend.exec_here(&a.container, spec)?;
    Some(match done {
        Ok(Ok(code)) => Ok(code),
        Ok(Err((code, message))) => {
            eprintln!("dockhand: {message}");
            Ok(code)
        }
        Err(e) => Err(e.into()),
    })
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
        let needs_root = !matches!(cli.command, Some(Commands::Completions { .. }));
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
        return Ok(AnyBackend::Engine(engine));
    }
    let tls = TlsArgs {
        ca: cli.tlscacert.clone(),
        cert: cli.tlscert.clone(),
        key: cli.tlskey.clone(),
    };
    let endpoint = endpoint::resolve(&name, &tls, config)?;
    Ok(AnyBackend::Docker(DockerBackend::new(endpoint)))
}

/// `login` and `logout`, which need the config but no backend; `None` for other commands.
pub async fn run_registry_command(cli: &Cli, config: &Config) -> Option<anyhow::Result<i32>> {
    match cli.command.as_ref()? {
        Commands::Login {
            username,
            password,
            password_stdin,
            server,
        } => Some(
            registry::login(
                config,
                server.as_deref(),
                username.as_deref(),
                password.as_deref(),
                *password_stdin,
            )
            .await
            .map(|()| 0),
        ),
        Commands::Logout { server } => Some(registry::logout(server.as_deref()).map(|()| 0)),
        _ => None,
    }
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
