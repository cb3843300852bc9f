//! What the network tests share: the host seen from outside the engine (links, rules,
//! addresses), an "outside" network namespace with no route back, a fake upstream name
//! server on a host loopback address, and readers of what the binary prints (inspect,
//! `port`, `nslookup` in a container, a greeting through a published port).

use std::process::Command;

use super::engine::Engine;

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The network's bridge name and its inspect document.
pub fn inspect(e: &Engine, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["network", "inspect", name])).unwrap();
    v[0].clone()
}

pub fn bridge_of(id: &str) -> String {
    format!("dh-{}", &id[..12])
}

/// The rules that name `bridge`, in iptables-save form.
pub fn rules_of(bridge: &str) -> Vec<String> {
    sh("iptables-save")
        .lines()
        .filter(|l| l.contains(bridge))
        .map(str::to_string)
        .collect()
}

/// A network namespace the test makes as "the outside": a veth from the host with addresses
/// of the test's own subnet, and no route back to any container network (so a reply reaches
/// a container only through the engine's masquerade). Removed on drop.
pub struct Outside {
    netns: String,
    host_link: String,
}

impl Outside {
    pub fn new(subnet: u8) -> Outside {
        let tag = std::process::id() % 100_000;
        let o = Outside {
            netns: format!("dhout{tag}"),
            host_link: format!("dhoh{tag}"),
        };
        let script = format!(
            "set -e; ip netns add {ns}; ip link add {h} type veth peer name {h}p; \
             ip link set {h}p netns {ns}; ip addr add 10.231.{subnet}.1/24 dev {h}; ip link set {h} up; \
             ip -n {ns} addr add 10.231.{subnet}.2/24 dev {h}p; ip -n {ns} link set {h}p up; \
             ip -n {ns} link set lo up",
            ns = o.netns,
            h = o.host_link
        );
        let st = Command::new("sh").args(["-c", &script]).status().unwrap();
        assert!(st.success(), "cannot make the outside namespace");
        o
    }

    /// Serves one connection on `port`, writing what came to `log`. Its input is a pipe
    /// held open until the child is waited for: busybox `nc -l` whose input is at its end
    /// from the start (the suite runs without stdin) may close a connection before it
    /// has read what came.
    pub fn serve_once(&self, port: u16, log: &std::path::Path) -> std::process::Child {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.netns,
                "timeout",
                "20",
                "busybox",
                "nc",
                "-l",
                "-p",
            ])
            .arg(port.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        child
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_link])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

pub fn ip_of(e: &Engine, name: &str) -> String {
    e.inspect(name)["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The host's end of container `id`'s veth pair on network `network` (an id).
pub fn host_link_of(id: &str, network: &str) -> String {
    format!("vh{}{}", &id[..7], &network[..6])
}

/// `port NAME` lines as (container port/proto, host address, host port).
pub fn ports_of(e: &Engine, name: &str) -> Vec<(String, String, u16)> {
    e.ok(&["port", name])
        .lines()
        .map(|l| {
            let (inside, outside) = l.split_once(" -> ").unwrap();
            let (ip, port) = outside.rsplit_once(':').unwrap();
            (inside.to_string(), ip.to_string(), port.parse().unwrap())
        })
        .collect()
}

/// Connects to `addr` and reads what the server says first. The test servers are `nc` in a
/// loop, which listens again a moment after each connection: a refusal is retried briefly.
pub fn greeting(addr: &str) -> String {
    use std::io::Read;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut s = loop {
        match std::net::TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(e)
                if e.kind() == std::io::ErrorKind::ConnectionRefused
                    && std::time::Instant::now() < until =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("{addr}: {e}"),
        }
    };
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// One of the host's own IPv4 addresses other than loopback.
pub fn host_address() -> String {
    sh("ip -4 -o addr show scope global")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .map(|a| a.split('/').next().unwrap().to_string())
        .next()
        .expect("the host has a global IPv4 address")
}

/// A name server on a loopback address of the host that answers every A question with
/// 10.1.2.3, for as long as the test runs: an upstream only the host's namespace can reach.
pub fn fake_upstream() -> std::net::Ipv4Addr {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let last = (std::process::id() % 100) as u8 * 2 + 20 + n;
    let ip = std::net::Ipv4Addr::new(127, 0, 53, last);
    let socket = std::net::UdpSocket::bind((ip, 53)).expect("the fake name server's address");
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if n < 12 {
                continue;
            }
            // The question ends after the name's zero label and four bytes of type and class.
            let Some(zero) = buf[12..n].iter().position(|b| *b == 0) else {
                continue;
            };
            let end = 12 + zero + 5;
            let mut reply = buf[..end.min(n)].to_vec();
            reply[2] = 0x81;
            reply[3] = 0x80;
            reply[6..8].copy_from_slice(&1u16.to_be_bytes());
            reply[8..12].fill(0);
            reply.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
            let _ = socket.send_to(&reply, from);
        }
    });
    ip
}

/// The address `nslookup NAME` gives in the container `box` (the server's own lines skipped).
pub fn lookup(e: &Engine, container: &str, name: &str) -> Option<String> {
    let out = e.run(&["exec", container, "nslookup", name]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip_while(|l| !l.starts_with("Name:"))
        .find_map(|l| l.strip_prefix("Address:").map(|a| a.trim().to_string()))
}
