//! The `dockhand` binary: parses arguments, then opens the TUI or runs a subcommand.
//! Errors end here, printed once, with exit status 125 like docker's own errors.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use dockhand::cli::{self, Cli, Commands};
use dockhand::tui::app::AppOptions;
use dockhand::tui::keymap::Keymap;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dockhand: {err:#}");
            ExitCode::from(125)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Commands::Completions { shell }) = &cli.command {
        cli::completions(*shell);
        return Ok(());
    }
    let config = cli::load_config(&cli)?;
    let backend = cli::select_backend(&cli, &config)?;
    let keymap = Keymap::new(config.keys.clone()).context("key bindings")?;
    let options = AppOptions {
        endpoint: backend.endpoint_label(),
        demo: backend.is_demo(),
        keymap,
        theme: config.theme.clone(),
        ui: config.ui.clone(),
        clock: dockhand::util::time::Clock::System,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime
        .block_on(dockhand::tui::run(backend, options))
        .context("terminal error")
}
