//! The binary's command line: version, help, completions, and refusals that name what was
//! wrong with exit status 125.

use std::process::{Command, Output};

fn dockhand(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockhand"))
        .args(args)
        .env_remove("DOCKHAND_HOST")
        .env_remove("DOCKHAND_ROOT")
        .env("XDG_CONFIG_HOME", "/nonexistent-dockhand-config")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_and_help() {
    let out = dockhand(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("dockhand {}", env!("CARGO_PKG_VERSION"))
    );
    let out = dockhand(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "-H, --host",
        "--root",
        "--config",
        "--demo",
        "completions",
        "DOCKHAND_HOST",
        "DOCKHAND_ROOT",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef dockhand"),
        ("fish", "complete -c dockhand"),
    ] {
        let out = dockhand(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell} script lacks {marker}");
        assert!(
            script.contains("demo"),
            "{shell} script lacks the --demo option"
        );
    }
    let out = dockhand(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
}

#[test]
fn a_bad_config_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[ui]\ntick_rate_ms = 1\n").unwrap();
    let out = dockhand(&["--demo", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("`ui.tick_rate_ms`") && err.contains("accepted: 50 to 60000"),
        "{err}"
    );
    let out = dockhand(&["--demo", "--config", "/nonexistent/c.toml"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("cannot read config file /nonexistent/c.toml"));
}

#[test]
fn a_bad_endpoint_is_refused_with_what_is_accepted() {
    let out = dockhand(&["-H", "ssh://build-box"]);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains("\"ssh://build-box\" has an unknown scheme")
            && err.contains("tcp://host:port"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dockhand"))
        .env("DOCKHAND_HOST", "nosuchname")
        .env("XDG_CONFIG_HOME", "/nonexistent-dockhand-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("\"nosuchname\""), "{}", stderr(&out));
}

#[test]
fn without_a_terminal_the_tui_says_so() {
    // Under the test runner stdin/stdout are not a terminal.
    let out = Command::new(env!("CARGO_BIN_EXE_dockhand"))
        .arg("--demo")
        .env("XDG_CONFIG_HOME", "/nonexistent-dockhand-config")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).starts_with("dockhand: "), "{}", stderr(&out));
}
