//! The command line as clap parses it: global options and every subcommand with docker's
//! flags. Each object kind's own subcommands live beside its handlers.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use super::{build, container, network, run, volume};

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
    Run(run::RunArgs),
    /// Create a container.
    Create(run::ContainerOptions),
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
        /// Format each document with a Go template ({{.State.Pid}}, {{json .Config}}).
        #[arg(short, long)]
        format: Option<String>,
        /// Names or ids.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Published ports of a container, or where one of its ports is published.
    Port {
        /// Container.
        container: String,
        /// A port of the container: PORT[/PROTO].
        port: Option<String>,
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
        /// Format with a Go template ({{.Repository}}:{{.Tag}}, `table …`, `json`).
        #[arg(long)]
        format: Option<String>,
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
    /// Build an image from a Dockerfile.
    Build(build::BuildArgs),
    /// Create an image from a container's changes.
    Commit {
        /// Author (e.g. "Jane Doe <jane@example.com>").
        #[arg(short, long)]
        author: Option<String>,
        /// Commit message.
        #[arg(short, long)]
        message: Option<String>,
        /// Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR).
        #[arg(short, long = "change")]
        change: Vec<String>,
        /// Pause the container while committing (--pause=false to leave it running).
        #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set,
              num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
        pause: bool,
        /// Container.
        container: String,
        /// Name for the image, REPOSITORY[:TAG].
        reference: Option<String>,
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
    /// Manage the build cache.
    #[command(subcommand)]
    Builder(build::BuilderCmd),
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
    Network(network::NetworkCmd),
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
    /// Remove every container, network, volume and image of the embedded engine's data root,
    /// and the bridges and rules of its networks.
    Reset {
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
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
