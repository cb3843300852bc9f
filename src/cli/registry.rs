//! `push`, `login` and `logout`. Credentials are kept by dockhand (and read from Docker's
//! config too); `login` checks them against the registry before storing them.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use futures::StreamExt;

use crate::backend::AnyBackend;

use crate::backend::prelude::*;
use crate::config::Config;
use crate::util::credentials::{Credential, CredentialStore};
use crate::util::registry_login::{login as check_and_store, plain_http, registry_name};

/// `push`: progress lines as docker prints them, then the digest line.
pub async fn push(b: &AnyBackend, image: &str) -> Result<()> {
    let mut stream = b.push_image(image).await?;
    let reference = crate::model::Reference::parse(image)?;
    println!("The push refers to repository [{}]", reference.repository());
    while let Some(p) = stream.next().await {
        let p = p?;
        if p.id.is_empty() {
            println!("{}", p.status);
        } else {
            println!("{}: {}", p.id, p.status);
        }
    }
    Ok(())
}

/// Reads one line from the terminal, without echo when `secret`.
fn prompt(question: &str, secret: bool) -> Result<String> {
    let stdin = std::io::stdin();
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let saved = if secret {
        let t = rustix::termios::tcgetattr(&stdin).context("cannot read the terminal settings")?;
        let mut quiet = t.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet)
            .context("cannot turn off echo")?;
        Some(t)
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(t) = saved {
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &t);
        eprintln!();
    }
    read.context("cannot read from the terminal")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `login`.
pub async fn login(
    config: &Config,
    server: Option<&str>,
    username: Option<&str>,
    password: Option<&str>,
    password_stdin: bool,
) -> Result<()> {
    let registry = registry_name(server)?;
    let tty = std::io::stdin().is_terminal();
    let username = match username {
        Some(u) => u.to_string(),
        None if tty && !password_stdin => prompt("Username: ", false)?,
        None => bail!("give the user name with --username when not on a terminal"),
    };
    let password = match (password, password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p.to_string()
        }
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
        (None, false) if tty => prompt("Password: ", true)?,
        (None, false) => bail!("give the password with --password-stdin when not on a terminal"),
    };
    if username.is_empty() || password.is_empty() {
        bail!("a user name and a password are both needed");
    }
    let store = CredentialStore::default();
    let plain = plain_http(&registry, &config.engine.insecure_registries);
    check_and_store(&registry, &Credential { username, password }, plain, &store).await?;
    println!(
        "Login Succeeded ({registry}; saved in {})",
        store.own.display()
    );
    Ok(())
}

/// `logout`.
pub fn logout(server: Option<&str>) -> Result<()> {
    let registry = registry_name(server)?;
    if CredentialStore::default().remove(&registry)? {
        println!("Removing login credentials for {registry}");
    } else {
        println!("Not logged in to {registry}");
    }
    Ok(())
}
