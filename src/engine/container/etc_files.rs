//! The files the runtime gives every container at /etc (hostname, hosts, resolv.conf): which
//! they are and what they hold. The monitor writes them before each start; the spec binds
//! them in.

use std::path::Path;

use super::record::ContainerConfig;
use super::{ContainerError, runtime};

/// The files, by their name under /etc.
pub const NAMES: [&str; 3] = ["hostname", "hosts", "resolv.conf"];

/// /etc/hostname, /etc/hosts and /etc/resolv.conf for the container.
pub fn write(dir: &Path, config: &ContainerConfig) -> Result<(), ContainerError> {
    std::fs::create_dir_all(dir).map_err(|e| runtime("cannot create etc files", e))?;
    let hosts = format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n",
        config.hostname
    );
    let resolv = if config.network == "host" {
        std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
    } else {
        String::new()
    };
    for (name, text) in NAMES
        .into_iter()
        .zip([format!("{}\n", config.hostname), hosts, resolv])
    {
        std::fs::write(dir.join(name), text).map_err(|e| runtime("cannot write etc files", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_a_runtime_mount_point_and_written() {
        for name in NAMES {
            assert!(
                super::super::spec::RUNTIME_MOUNT_POINTS.contains(&format!("/etc/{name}").as_str()),
                "{name}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let config = super::super::record::sample_config(&"0".repeat(64), "t");
        write(dir.path(), &config).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("hostname")).unwrap(),
            "h\n"
        );
        assert!(
            std::fs::read_to_string(dir.path().join("hosts"))
                .unwrap()
                .contains("127.0.1.1\th\n")
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("resolv.conf")).unwrap(),
            ""
        );
    }
}
