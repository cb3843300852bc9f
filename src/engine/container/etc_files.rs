//! The files the runtime gives every container at /etc (hostname, hosts, resolv.conf): which
//! they are and what they hold, as Docker writes them. The monitor writes them before each
//! start; the spec binds them in.

use std::net::Ipv4Addr;
use std::path::Path;

use super::record::ContainerConfig;
use super::{ContainerError, runtime};

/// The container's resolv.conf from the host's `host` one: `--host` networking takes it as it
/// is; on a user-defined network the name server is the monitor's, on 127.0.0.11, with the
/// host's search and options lines and `ndots:0`, as Docker writes it (it forwards to the
/// host's servers or `--dns`); without a network, `--dns` servers with the host's search and
/// options lines, or nothing.
fn resolv_conf(config: &ContainerConfig, host: &str, on_bridge: bool) -> String {
    if config.network == "host" {
        return host.to_string();
    }
    if on_bridge {
        let mut out = format!("nameserver {}\n", crate::engine::network::dns::ADDRESS);
        for line in host.lines().filter(|l| {
            l.starts_with("search") || (l.starts_with("options") && !l.contains("ndots"))
        }) {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("options ndots:0\n");
        return out;
    }
    if config.dns.is_empty() {
        return String::new();
    }
    let mut out: String = host
        .lines()
        .filter(|l| !l.trim_start().starts_with("nameserver"))
        .map(|l| format!("{l}\n"))
        .collect();
    for d in &config.dns {
        out.push_str(&format!("nameserver {d}\n"));
    }
    out
}

/// The container's /etc/hosts: loopback names, the `--add-host` entries, and its own name at
/// its address on its network (127.0.1.1 without one).
fn hosts(config: &ContainerConfig, ip: Option<Ipv4Addr>) -> String {
    let mut out = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for h in &config.extra_hosts {
        if let Some((name, addr)) = h.split_once(':') {
            out.push_str(&format!("{addr}\t{name}\n"));
        }
    }
    match ip {
        Some(ip) => out.push_str(&format!("{ip}\t{}\n", config.hostname)),
        None => out.push_str(&format!("127.0.1.1\t{}\n", config.hostname)),
    }
    out
}

/// The files, by their name under /etc.
pub const NAMES: [&str; 3] = ["hostname", "hosts", "resolv.conf"];

/// /etc/hostname, /etc/hosts and /etc/resolv.conf for the container; `ip` is its address on
/// its bridge network.
pub fn write(
    dir: &Path,
    config: &ContainerConfig,
    ip: Option<Ipv4Addr>,
) -> Result<(), ContainerError> {
    std::fs::create_dir_all(dir).map_err(|e| runtime("cannot create etc files", e))?;
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let resolv = resolv_conf(config, &host, ip.is_some());
    for (name, text) in
        NAMES
            .into_iter()
            .zip([format!("{}\n", config.hostname), hosts(config, ip), resolv])
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
        write(dir.path(), &config, None).unwrap();
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

    #[test]
    fn files_follow_docker_on_a_network() {
        let mut c = super::super::record::sample_config(&"0".repeat(64), "t");
        c.network = "app".into();
        c.extra_hosts = vec!["db:10.1.2.3".into()];
        let h = hosts(&c, Some("10.89.0.2".parse().unwrap()));
        assert!(
            h.contains("10.1.2.3\tdb\n") && h.ends_with("10.89.0.2\th\n"),
            "{h}"
        );
        assert!(!h.contains("127.0.1.1"));
        let host = "search lan\nnameserver 127.0.0.53\nnameserver 192.168.1.1\noptions edns0\n";
        assert_eq!(
            resolv_conf(&c, host, true),
            "nameserver 127.0.0.11\nsearch lan\noptions edns0\noptions ndots:0\n",
            "the monitor's name server on a user-defined network"
        );
        c.network = "none".into();
        assert_eq!(resolv_conf(&c, host, false), "", "none: no name server");
        c.dns = vec!["10.0.0.53".into()];
        assert_eq!(
            resolv_conf(&c, host, false),
            "search lan\noptions edns0\nnameserver 10.0.0.53\n"
        );
        c.dns.clear();
        c.extra_hosts.clear();
        c.network = "host".into();
        assert_eq!(resolv_conf(&c, host, false), host);
    }
}
