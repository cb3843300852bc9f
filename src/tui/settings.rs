//! The config file's `[keys]` and `[theme]` tables, which the config keeps as written: read
//! here into key bindings and a theme, and refused with the key and what is accepted. The
//! binary passes [`check`] to `Config::load`, so a bad table stops start-up like any other
//! bad value, naming the file and the line.

use serde::de::DeserializeOwned;

use super::keymap::{KeyBindings, Keymap};
use super::theme::Theme;
use crate::config::Config;

/// Reads a raw table as `T`; a refusal names `table.key` and the reason.
fn read<T: DeserializeOwned>(table: &str, raw: &toml::Table) -> Result<T, (String, String)> {
    let value = toml::Value::Table(raw.clone());
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let full = err.into_inner().to_string();
        // The table's deserializer appends "in `key`", which the key already says.
        let message = full
            .split("\nin `")
            .next()
            .unwrap_or(&full)
            .trim()
            .to_string();
        // An unknown field is reported at the table's level; its message names it.
        let key = match path.as_str() {
            "." | "" => match unknown_field(&message) {
                Some(field) => format!("{table}.{field}"),
                None => table.to_string(),
            },
            p => format!("{table}.{p}"),
        };
        (key, message)
    })
}

/// The field an "unknown field `x`, expected …" message is about.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// The key bindings of `[keys]` (defaults for what it leaves out).
pub fn key_bindings(config: &Config) -> Result<KeyBindings, (String, String)> {
    read("keys", &config.keys)
}

/// The theme of `[theme]` (defaults for what it leaves out).
pub fn theme(config: &Config) -> Result<Theme, (String, String)> {
    read("theme", &config.theme)
}

/// The lookup from keys to commands, refusing a key bound to two commands.
pub fn keymap(config: &Config) -> Result<Keymap, (String, String)> {
    Keymap::new(key_bindings(config)?).map_err(|e| ("keys".to_string(), e.to_string()))
}

/// Checks both tables: what `Config::load` runs for the TUI's part of the file.
pub fn check(config: &Config) -> Result<(), (String, String)> {
    keymap(config)?;
    theme(config)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("x"), crate::config::no_check).unwrap()
    }

    #[test]
    fn tables_become_bindings_and_a_theme() {
        let c = config("[keys]\nquit = \"x\"\n[theme]\naccent = \"#ff8800\"\n");
        assert_eq!(key_bindings(&c).unwrap().quit.0.len(), 1);
        assert_eq!(
            theme(&c).unwrap().accent.0,
            ratatui::style::Color::Rgb(0xff, 0x88, 0)
        );
        let empty = config("");
        assert_eq!(key_bindings(&empty).unwrap(), KeyBindings::default());
        assert_eq!(theme(&empty).unwrap(), Theme::default());
    }

    #[test]
    fn refusals_name_the_key() {
        let (key, message) = check(&config("[keys]\nfly = \"x\"\n")).unwrap_err();
        assert_eq!(key, "keys.fly");
        assert!(message.contains("`quit`"), "{message}");
        let (key, message) = check(&config("[theme]\naccent = \"octarine\"\n")).unwrap_err();
        assert_eq!(key, "theme.accent");
        assert!(message.contains("#rrggbb"), "{message}");
        assert!(!message.contains('\n'), "{message:?}");
        let (key, message) = check(&config("[keys]\nhelp = \"q\"\n")).unwrap_err();
        assert_eq!(key, "keys");
        assert!(message.contains("`quit` and `help`"), "{message}");
    }
}
