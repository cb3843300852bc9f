//! Log drivers: what `--log-driver` and `--log-opt` ask for, checked. The raw values travel
//! in [`super::ContainerSpec`] (a Docker daemon takes drivers of its own); the embedded
//! engine offers `json-file` (rotated by size) and `none`, read through [`log_config`].

use serde::{Deserialize, Serialize};

use super::Invalid;

type Result<T> = std::result::Result<T, Invalid>;

/// Rotation defaults: 10 MiB per file.
pub const DEFAULT_MAX_SIZE: u64 = 10 << 20;
/// Files kept, the current one included.
pub const DEFAULT_MAX_FILES: usize = 3;

/// Where a container's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    /// Docker's json-file form, rotated by size; `logs` reads it.
    #[default]
    JsonFile,
    /// Nowhere: `logs` has nothing to read.
    None,
}

impl LogDriver {
    /// The name Docker gives it.
    pub fn name(self) -> &'static str {
        match self {
            LogDriver::JsonFile => "json-file",
            LogDriver::None => "none",
        }
    }
}

/// A container's logging, as the embedded engine keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfig {
    /// The driver.
    pub driver: LogDriver,
    /// Bytes per file before it rotates.
    pub max_size: u64,
    /// Files kept, the current one included.
    pub max_files: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: LogDriver::JsonFile,
            max_size: DEFAULT_MAX_SIZE,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

impl LogConfig {
    /// Whether it is the default.
    pub fn is_default(&self) -> bool {
        *self == LogConfig::default()
    }
}

/// One `--log-opt KEY=VALUE`, split; refused unless it has that form.
pub fn log_opt(value: &str) -> Result<(&str, &str)> {
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k, v)),
        _ => Err(Invalid::new(format!(
            "invalid --log-opt {value:?}: write KEY=VALUE, e.g. max-size=10m"
        ))),
    }
}

/// `--log-driver` and `--log-opt` for the embedded engine: json-file (the default) with
/// max-size and max-file, or none.
pub fn log_config(driver: Option<&str>, opts: &[String]) -> Result<LogConfig> {
    let driver = match driver.unwrap_or("json-file") {
        "json-file" => LogDriver::JsonFile,
        "none" => LogDriver::None,
        other => {
            return Err(Invalid::new(format!(
                "log driver {other:?} is not offered by the embedded engine: use json-file or none"
            )));
        }
    };
    let mut config = LogConfig {
        driver,
        ..LogConfig::default()
    };
    for o in opts {
        let (key, value) = log_opt(o)?;
        match (driver, key) {
            (LogDriver::None, _) => {
                return Err(Invalid::new(format!(
                    "--log-opt {o}: the none log driver takes no options; leave them out or use json-file"
                )));
            }
            (_, "max-size") => {
                config.max_size = super::parse::size("--log-opt max-size", value)?;
                if config.max_size < 4096 {
                    return Err(Invalid::new(format!(
                        "--log-opt max-size={value} is below the smallest file of 4k"
                    )));
                }
            }
            (_, "max-file") => {
                config.max_files = match value.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        return Err(Invalid::new(format!(
                            "invalid --log-opt max-file={value:?}: write a whole number of files, 1 or more"
                        )));
                    }
                }
            }
            (_, other) => {
                return Err(Invalid::new(format!(
                    "--log-opt {other} is not offered by the embedded engine's json-file driver: it takes max-size and max-file"
                )));
            }
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_stay_ten_mib_by_three() {
        let c = log_config(None, &[]).unwrap();
        assert_eq!(c, LogConfig::default());
        assert_eq!((c.max_size, c.max_files), (10 << 20, 3));
        assert!(c.is_default());
    }

    #[test]
    fn sizes_and_counts_are_read() {
        let c = log_config(Some("json-file"), &opts(&["max-size=64k", "max-file=5"])).unwrap();
        assert_eq!((c.max_size, c.max_files), (64 << 10, 5));
        let c = log_config(Some("none"), &[]).unwrap();
        assert_eq!(c.driver, LogDriver::None);
    }

    #[test]
    fn bad_values_name_what_was_wrong() {
        let err = |d: Option<&str>, o: &[&str]| log_config(d, &opts(o)).unwrap_err().to_string();
        assert!(err(Some("syslog"), &[]).contains("json-file or none"));
        assert!(err(None, &["max-size=lots"]).contains("max-size"));
        assert!(err(None, &["max-size=1k"]).contains("4k"));
        assert!(err(None, &["max-file=0"]).contains("1 or more"));
        assert!(err(None, &["compress=true"]).contains("max-size and max-file"));
        assert!(err(None, &["max-size"]).contains("KEY=VALUE"));
        assert!(err(Some("none"), &["max-size=1m"]).contains("no options"));
    }
}
