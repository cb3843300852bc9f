//! Command-line interface: global options, subcommands (docker's flags and output), and
//! choosing the backend. Every command goes through the `Backend` seam.

pub mod build;
pub mod container;
pub mod copy;
pub mod format;
pub mod image;
pub mod network;
pub mod output;
pub mod registry;
pub mod run;
pub mod system;
pub mod volume;

mod args;
mod select;

pub use args::*;
pub use select::*;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::backend::AnyBackend;
use crate::backend::prelude::*;
use crate::config::Config;
use crate::model::{CommitSpec, ExecSpec, RemoveOptions};

/// Runs a subcommand and returns the process exit status.
pub async fn run(b: &AnyBackend, command: &Commands) -> anyhow::Result<i32> {
    use container::each;
    let ok = |()| 0;
    Ok(match command {
        Commands::Ps(a) => container::ps(b, a).await.map(ok)?,
        Commands::Run(a) => run::run(b, a).await?,
        Commands::Create(o) => run::create_cmd(b, o).await.map(ok)?,
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
            // As docker's: with -f, a container that is not there is said on stderr but
            // does not fail the command.
            let op = async |c: String| b.remove_container(&c, o).await;
            if *force {
                container::each_missing_ok(containers, op).await
            } else {
                each(containers, op).await
            }
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
        Commands::Inspect {
            kind,
            format,
            names,
        } => system::inspect(b, names, kind.as_deref(), format.as_deref()).await?,
        Commands::Top { container } => container::top(b, container).await.map(ok)?,
        Commands::Port { container, port } => container::port(b, container, port.as_deref())
            .await
            .map(ok)?,
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
            format,
            repository,
        } => image::images(b, *all, *quiet, repository.as_deref(), format.as_deref())
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
        Commands::Build(a) => build::build(b, a).await?,
        Commands::Builder(cmd) => build::builder(b, cmd).await?,
        Commands::Commit {
            author,
            message,
            change,
            pause,
            container,
            reference,
        } => {
            let spec = CommitSpec {
                reference: reference.clone(),
                author: author.clone().unwrap_or_default(),
                message: message.clone().unwrap_or_default(),
                changes: change.clone(),
                pause: *pause,
            };
            println!("{}", b.commit_container(container, spec).await?);
            0
        }
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
        Commands::System(SystemCmd::Reset { force }) => system::reset(b, *force).await?,
        Commands::System(SystemCmd::Check { repair }) => system::check(b, *repair).await?,
        Commands::Image(ImageCmd::Inspect { names }) => {
            system::inspect(b, names, Some("image"), None).await?
        }
        Commands::Image(ImageCmd::Prune { all, force }) => {
            image::prune(b, *all, *force).await.map(ok)?
        }
        Commands::Container(ContainerCmd::Prune { force }) => {
            container::prune(b, *force).await.map(ok)?
        }
        Commands::Volume(cmd) => volume::volume(b, cmd).await?,
        Commands::Network(cmd) => network::network(b, cmd).await?,
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
