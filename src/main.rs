//! The `dockhand` binary: parses arguments, then opens the TUI or runs a subcommand.
//! Errors end here, printed once, with exit status 125 like docker's own errors.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use dockhand::cli::{self, Cli, Commands};
use dockhand::tui::app::AppOptions;
use dockhand::tui::settings;

fn main() -> ExitCode {
    // The container monitor is this binary too; it must start before any thread exists.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(dockhand::engine::container::monitor::ARG) {
        let code = dockhand::engine::container::monitor::main(&args[2..]);
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    if args.get(1).map(String::as_str) == Some(dockhand::engine::container::exec::ARG) {
        let code = dockhand::engine::container::exec::main(&args[2..]);
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    // Before anything else: the cgroup move of a container start waits for the
    // kernel, and the sooner that wait begins the less of it is left (engine only).
    let host_in_env = std::env::var_os("DOCKHAND_HOST").is_some_and(|h| !h.is_empty());
    if cli::starts_engine_process(&args[1..], host_in_env) {
        dockhand::engine::cgroup::warmup::start();
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            // Every cause once: a cause a message already quotes is not repeated.
            eprintln!("dockhand: {}", dockhand::util::errors::chain(err.as_ref()));
            ExitCode::from(125)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Some(Commands::Completions { shell }) = &cli.command {
        cli::completions(*shell);
        return Ok(0);
    }
    let config = cli::load_config(&cli, dockhand::tui::settings::check)?;
    if matches!(
        cli.command,
        Some(Commands::Login { .. } | Commands::Logout { .. })
    ) {
        return runtime()?
            .block_on(cli::run_registry_command(&cli, &config))
            .unwrap_or(Ok(0));
    }
    let backend = cli::select_backend(&cli, &config)?;
    if let Some(result) = cli
        .command
        .as_ref()
        .and_then(|c| cli::exec_here(&backend, c))
    {
        return result;
    }
    if let Some(command) = &cli.command {
        return runtime()?.block_on(cli::run(&backend, command));
    }
    let (keymap, theme) = settings::keymap(&config)
        .and_then(|k| Ok((k, settings::theme(&config)?)))
        .map_err(|(key, message)| anyhow::anyhow!("config key `{key}`: {message}"))?;
    let options = AppOptions {
        endpoint: backend.endpoint_label(),
        demo: backend.is_demo(),
        keymap,
        theme,
        ui: config.ui.clone(),
        endpoints: cli::endpoint_names(&config),
        clock: dockhand::util::time::Clock::System,
    };
    // `:endpoint NAME` opens its backend the way -H NAME would.
    let tls = cli::tls_args(&cli);
    let connect: dockhand::tui::Connect = Box::new(move |name: &str| {
        cli::open_endpoint(name, &tls, &config, true).map_err(|e| dockhand::util::errors::chain(&e))
    });
    runtime()?
        .block_on(dockhand::tui::run(backend, options, connect))
        .context("terminal error")?;
    Ok(0)
}
