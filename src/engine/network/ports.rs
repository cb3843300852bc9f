//! Published ports: what a container asks for, and the host ports it holds while it runs.
//! Traffic takes the kernel's path (DNAT rules in `firewall.rs`), never a userland proxy; the
//! monitor holds a socket on each host port (a listener that never accepts: every IPv4
//! packet to the port is rewritten before it could reach it), so the port is taken for anyone
//! else and `ss -ltnp` names its holder, a port already in use is found before the container
//! runs, and a free port is chosen by the kernel when none is given. Whoever holds a port in the way is named
//! from `/proc/net/{tcp,udp}` and the processes' open files (a container's monitor by the
//! container's name).

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;

use serde::{Deserialize, Serialize};

use super::NetworkError;

/// A transport protocol the engine publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// A port a container asks to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRequest {
    /// Host address (`None`: all of the host's).
    pub host_ip: Option<Ipv4Addr>,
    /// Host port; 0 for any free one.
    pub host_port: u16,
    /// The container's port.
    pub container_port: u16,
    /// Protocol.
    pub protocol: Protocol,
}

/// A port a running container holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// Host address (0.0.0.0: all of the host's).
    pub host_ip: Ipv4Addr,
    /// Host port.
    pub host_port: u16,
    /// The container's port.
    pub container_port: u16,
    /// Protocol.
    pub protocol: Protocol,
}

/// Takes each requested host port with a socket this process keeps; refuses, naming the
/// holder, a port someone else has. Nothing is held when it fails.
pub fn reserve(
    network: &str,
    requests: &[PortRequest],
) -> Result<(Vec<PublishedPort>, Vec<OwnedFd>), NetworkError> {
    let mut held = Vec::new();
    let mut out = Vec::new();
    for r in requests {
        let ip = r.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let addr = std::net::SocketAddrV4::new(ip, r.host_port);
        let taken = match r.protocol {
            Protocol::Tcp => std::net::TcpListener::bind(addr)
                .and_then(|l| Ok((l.local_addr()?.port(), OwnedFd::from(l)))),
            Protocol::Udp => std::net::UdpSocket::bind(addr)
                .and_then(|s| Ok((s.local_addr()?.port(), OwnedFd::from(s)))),
        };
        let (host_port, fd) = match taken {
            Ok(t) => t,
            Err(e) => {
                let port = format!("{ip}:{}/{}", r.host_port, r.protocol.name());
                return Err(match e.kind() {
                    std::io::ErrorKind::AddrInUse => NetworkError::Conflict(format!(
                        "cannot publish {port}: the port is already in use{}; pick another host port",
                        holder(r.host_port, r.protocol)
                            .map(|h| format!(" by {h}"))
                            .unwrap_or_default()
                    )),
                    std::io::ErrorKind::AddrNotAvailable => NetworkError::Invalid(format!(
                        "cannot publish {port}: {ip} is not an address of this host"
                    )),
                    _ => NetworkError::Host {
                        name: network.to_string(),
                        what: format!("cannot take the host port {port}"),
                        source: e,
                    },
                });
            }
        };
        out.push(PublishedPort {
            host_ip: ip,
            host_port,
            container_port: r.container_port,
            protocol: r.protocol,
        });
        held.push(fd);
    }
    Ok((out, held))
}

/// Who holds `port`: "process PID (NAME)", or "container NAME" when it is a monitor of ours.
fn holder(port: u16, protocol: Protocol) -> Option<String> {
    let inodes: Vec<String> = ["", "6"]
        .iter()
        .filter_map(|v| std::fs::read_to_string(format!("/proc/net/{}{v}", protocol.name())).ok())
        .flat_map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    let local = f.get(1)?;
                    let p = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
                    (p == port).then(|| f.get(9).map(|s| s.to_string()))?
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|l| wanted.iter().any(|w| l.as_os_str() == w.as_str()))
        });
        if holds {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args.get(1).map(String::as_str) == Some(crate::engine::container::monitor::ARG) {
                if let (Some(root), Some(id)) = (args.get(2), args.get(3)) {
                    let config = std::path::Path::new(root)
                        .join("containers")
                        .join(id)
                        .join("config.json");
                    if let Some(name) = std::fs::read(config)
                        .ok()
                        .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
                        .and_then(|v| v["name"].as_str().map(str::to_string))
                    {
                        return Some(format!("container {name}"));
                    }
                }
            }
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            return Some(format!("process {pid} ({})", comm.trim()));
        }
    }
    None
}
