//! The config file: the example documents every key at its default, and invalid files stop
//! start-up with a message naming the file, the key and what is accepted.

use std::path::Path;

use dockhand::config::{Config, ConfigError};
use dockhand::tui::keymap::{Command, KeyBindings};
use dockhand::tui::settings;
use dockhand::tui::theme::Theme;

fn example() -> (String, std::path::PathBuf) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    (std::fs::read_to_string(&path).unwrap(), path)
}

/// Parses `text` expecting a refusal; returns the message.
fn refused(text: &str) -> String {
    match Config::parse(text, Path::new("/tmp/bad.toml"), settings::check) {
        Err(err @ ConfigError::Invalid { .. }) => err.to_string(),
        other => panic!("expected a refusal for {text:?}, got {other:?}"),
    }
}

#[test]
fn example_config_shows_the_defaults() {
    let (text, path) = example();
    let parsed = Config::parse(&text, &path, settings::check).unwrap();
    assert_eq!(
        settings::key_bindings(&parsed).unwrap(),
        KeyBindings::default(),
        "config.example.toml must show the default keys"
    );
    assert_eq!(
        settings::theme(&parsed).unwrap(),
        Theme::default(),
        "config.example.toml must show the default theme"
    );
    let rest = Config {
        keys: Default::default(),
        theme: Default::default(),
        ..parsed
    };
    assert_eq!(
        rest,
        Config::default(),
        "config.example.toml must show the defaults"
    );
}

#[test]
fn example_config_lists_every_key() {
    let (text, _) = example();
    let value: toml::Table = text.parse().unwrap();
    let keys = |table: &str| -> Vec<String> {
        let mut k: Vec<String> = value[table].as_table().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let mut commands: Vec<String> = Command::ALL.iter().map(|c| c.name().to_string()).collect();
    commands.sort();
    assert_eq!(keys("keys"), commands);
    assert_eq!(keys("general"), ["endpoint"]);
    assert_eq!(
        keys("engine"),
        [
            "default_network",
            "insecure_registries",
            "root",
            "storage_driver"
        ]
    );
    assert_eq!(
        keys("ui"),
        [
            "log_buffer_lines",
            "log_tail_lines",
            "mouse",
            "refresh_interval_ms",
            "shell",
            "stats_history",
            "tick_rate_ms"
        ]
    );
    assert_eq!(keys("theme").len(), 18);
    // The commented endpoint example must be valid when uncommented.
    let endpoint: String = text
        .lines()
        .skip_while(|l| !l.starts_with("# [endpoints."))
        .take_while(|l| l.starts_with("# "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    let config = Config::parse(
        &format!("{endpoint}[general]\nendpoint = \"build-box\"\n"),
        Path::new("x"),
        settings::check,
    )
    .unwrap();
    assert_eq!(config.endpoints["build-box"].host, "tcp://192.0.2.10:2376");
}

#[test]
fn unknown_keys_are_named_with_what_is_accepted() {
    let msg = refused("[ui]\ncolour = 1\n");
    assert!(
        msg.starts_with("config file /tmp/bad.toml, key `ui.colour` (line 2)"),
        "{msg}"
    );
    assert!(msg.contains("expected one of `tick_rate_ms`"), "{msg}");
    let msg = refused("[keys]\nfly = \"x\"\n");
    assert!(
        msg.contains("`keys.fly`") && msg.contains("`quit`"),
        "{msg}"
    );
    let msg = refused("[colours]\n");
    assert!(
        msg.contains("`colours`") && msg.contains("`theme`"),
        "{msg}"
    );
}

#[test]
fn bad_values_are_named_with_what_is_accepted() {
    let cases = [
        (
            "[ui]\ntick_rate_ms = \"fast\"\n",
            "`ui.tick_rate_ms` (line 2)",
            "expected u64",
        ),
        (
            "[ui]\n\ntick_rate_ms = 5\n",
            "`ui.tick_rate_ms` (line 3)",
            "accepted: 50 to 60000",
        ),
        (
            "[ui]\nlog_buffer_lines = 3\n",
            "`ui.log_buffer_lines`",
            "accepted: 100 to",
        ),
        (
            "[theme]\naccent = \"octarine\"\n",
            "`theme.accent`",
            "#rrggbb",
        ),
        (
            "[keys]\nquit = \"hyper-q\"\n",
            "`keys.quit`",
            "ctrl-, alt- or shift-",
        ),
        ("[keys]\nquit = 3\n", "`keys.quit`", "a list of keys"),
        (
            "[keys]\nhelp = \"q\"\n",
            "`keys`",
            "bound to both `quit` and `help`",
        ),
        (
            "[engine]\nstorage_driver = \"zfs\"\n",
            "`engine.storage_driver`",
            "`overlay`, `copy`",
        ),
        (
            "[engine]\nroot = \"data\"\n",
            "`engine.root`",
            "absolute path",
        ),
        (
            "[general]\nendpoint = \"prod\"\n",
            "`general.endpoint`",
            "a name from [endpoints]",
        ),
        (
            "[endpoints.prod]\nhost = \"ssh://x\"\n",
            "`endpoints.prod.host`",
            "unknown scheme",
        ),
        (
            "[endpoints.prod]\nhost = \"tcp://x\"\n",
            "`endpoints.prod.host`",
            "host and a port",
        ),
        (
            "[endpoints.docker]\nhost = \"tcp://x:1\"\n",
            "`endpoints.docker`",
            "built-in",
        ),
    ];
    for (text, key, accepted) in cases {
        let msg = refused(text);
        assert!(msg.contains(key), "{text:?}: {msg}");
        assert!(msg.contains(accepted), "{text:?}: {msg}");
    }
}

#[test]
fn syntax_errors_give_the_line() {
    let msg = refused("[ui]\ntick_rate_ms = 1000\n[keys\n");
    assert!(
        msg.starts_with("config file /tmp/bad.toml, line 3:"),
        "{msg}"
    );
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    let err = Config::load(
        Some(Path::new("/nonexistent/dockhand.toml")),
        settings::check,
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string().contains("/nonexistent/dockhand.toml"),
        "{err}"
    );
}

#[test]
fn rebinding_a_key_frees_its_default() {
    let config = Config::parse(
        "[keys]\nquit = \"x\"\nhelp = [\"q\", \"?\"]\n",
        Path::new("x"),
        settings::check,
    )
    .unwrap();
    let keys = settings::key_bindings(&config).unwrap();
    assert_eq!(keys.quit.0.len(), 1);
    assert_eq!(keys.help.0.len(), 2);
}

#[test]
fn readme_lists_every_key_binding_with_its_default() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let keymap = dockhand::tui::keymap::KeyBindings::default();
    for command in Command::ALL {
        let keys: Vec<String> = keymap
            .get(*command)
            .0
            .iter()
            .map(|k| {
                format!(
                    "`{}`",
                    k.to_string()
                        .replace('↑', "up")
                        .replace('↓', "down")
                        .replace('←', "left")
                        .replace('→', "right")
                )
            })
            .collect();
        let row = format!(
            "| {} | `{}` | {} |",
            keys.join(" "),
            command.name(),
            command.help()
        );
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(readme.contains("./scripts/test.sh    # installs what the tests need"));
    assert!(ci.contains("exec ./scripts/test.sh"));
}
