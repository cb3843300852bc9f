//! Bridge networks on the embedded engine, as root, through the binary on a temporary data
//! root: `network create` makes a Linux bridge of its own holding the gateway and the
//! iptables rules for it (inside, outbound with masquerade, or none out for `--internal`),
//! with a subnet given or chosen clear of the host's routes; bad values and taken names or
//! subnets make nothing; `ls`, `inspect`, `rm` by name or id prefix and `prune` take bridge
//! and rules away. Each test checks the host itself for what it left, and its root's drop
//! prunes the networks it made, also when it fails.

mod common;

use std::process::Command;

use common::engine::Engine;
use common::unique;

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The network's bridge name and its inspect document.
fn inspect(e: &Engine, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&e.ok(&["network", "inspect", name])).unwrap();
    v[0].clone()
}

fn bridge_of(id: &str) -> String {
    format!("dh-{}", &id[..12])
}

/// The rules that name `bridge`, in iptables-save form.
fn rules_of(bridge: &str) -> Vec<String> {
    sh("iptables-save")
        .lines()
        .filter(|l| l.contains(bridge))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_network_has_its_own_bridge_and_rules_until_it_is_removed() {
    let e = Engine::new();
    let name = unique("net");
    let id = e
        .ok(&[
            "network",
            "create",
            "--subnet",
            "10.231.41.0/24",
            "--ip-range",
            "10.231.41.128/25",
            "-l",
            "app=shop",
            &name,
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let bridge = bridge_of(&id);
    let addr = sh(&format!("ip -4 -o addr show dev {bridge}"));
    assert!(
        addr.contains("10.231.41.1/24"),
        "the bridge holds the gateway: {addr}"
    );
    assert!(
        sh(&format!("ip -o link show dev {bridge}")).contains("state UNKNOWN")
            || sh(&format!("ip -o link show dev {bridge}")).contains(",UP")
    );
    let rules = rules_of(&bridge);
    assert!(
        rules.iter().any(|r| r.contains("-A DOCKHAND-FORWARD")
            && r.contains(&format!("-i {bridge} -o {bridge} -j ACCEPT"))),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|r| r.contains("MASQUERADE") && r.contains("10.231.41.0/24")),
        "{rules:?}"
    );
    // Our chain is in FORWARD (whose policy Docker sets to DROP) before any rule that drops;
    // a dockerd started later puts its own jumps first, which return what is not Docker's.
    let forward: Vec<String> = sh("iptables -S FORWARD")
        .lines()
        .map(str::to_string)
        .collect();
    let ours = forward
        .iter()
        .position(|l| l == "-A FORWARD -j DOCKHAND-FORWARD")
        .unwrap_or_else(|| panic!("{forward:?}"));
    let first_drop = forward
        .iter()
        .position(|l| l.starts_with("-A") && (l.ends_with("-j DROP") || l.contains("-j REJECT")));
    assert!(first_drop.is_none_or(|d| ours < d), "{forward:?}");
    assert_eq!(sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");

    let doc = inspect(&e, &name);
    assert_eq!(doc["IPAM"]["Config"][0]["Subnet"], "10.231.41.0/24");
    assert_eq!(doc["IPAM"]["Config"][0]["Gateway"], "10.231.41.1");
    assert_eq!(doc["Driver"], "bridge");
    assert_eq!(doc["Labels"]["app"], "shop");
    let ls = e.ok(&["network", "ls"]);
    assert!(
        ls.contains(&name) && ls.contains(&id[..12]) && ls.contains("host"),
        "{ls}"
    );

    // Taken names and subnets, bad values: refused, nothing made.
    let other = unique("other");
    for (args, word) in [
        (vec!["network", "create", &name], "already exists"),
        (vec!["network", "create", "bridge"], "already exists"),
        (
            vec!["network", "create", "--subnet", "10.231.41.128/25", &other],
            "overlaps",
        ),
        (
            vec!["network", "create", "--subnet", "10.231.300.0/24", &other],
            "10.231.300.0/24",
        ),
        (
            vec![
                "network",
                "create",
                "--subnet",
                "10.231.42.0/24",
                "--gateway",
                "10.231.43.1",
                &other,
            ],
            "10.231.43.1",
        ),
        (
            vec![
                "network",
                "create",
                "--subnet",
                "10.231.42.0/24",
                "--ip-range",
                "10.231.50.0/24",
                &other,
            ],
            "ip-range",
        ),
        (
            vec!["network", "create", "--gateway", "10.231.42.1", &other],
            "--subnet",
        ),
        (
            vec!["network", "create", "-d", "macvlan", &other],
            "macvlan",
        ),
        (vec!["network", "create", "bad/name"], "bad/name"),
    ] {
        let err = e.fails(&args, 125);
        assert!(err.contains(word), "{args:?}: {err}");
    }
    // Nothing made: a bridge is only ever made after its record, and the root holds just
    // the one network (a host-wide count of bridges would race with the other tests).
    assert_eq!(
        std::fs::read_dir(e.root().join("networks"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(std::fs::read_dir(e.root().join("tmp")).unwrap().count(), 0);
    assert!(!e.ok(&["network", "ls"]).contains(&other));
    let err = e.fails(&["network", "rm", "host"], 1);
    assert!(err.contains("pre-defined"), "{err}");

    // Removed by an id prefix: bridge and rules go.
    assert_eq!(e.ok(&["network", "rm", &id[..10]]).trim(), &id[..10]);
    assert!(sh(&format!("ip -o link show dev {bridge} 2>/dev/null")).is_empty());
    assert!(rules_of(&bridge).is_empty(), "{:?}", rules_of(&bridge));
    let err = e.fails(&["network", "inspect", &name], 125);
    assert!(err.contains(&name), "{err}");
}

#[test]
fn chosen_subnets_avoid_the_hosts_routes_and_internal_networks_have_no_way_out() {
    let e = Engine::new();
    let (a, b) = (unique("auto-a"), unique("auto-b"));
    let id_a = e.ok(&["network", "create", &a]).trim().to_string();
    let id_b = e
        .ok(&["network", "create", "--internal", &b])
        .trim()
        .to_string();
    let (sa, sb) = (
        inspect(&e, &a)["IPAM"]["Config"][0]["Subnet"]
            .as_str()
            .unwrap()
            .to_string(),
        inspect(&e, &b)["IPAM"]["Config"][0]["Subnet"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    assert_ne!(sa, sb);
    for s in [&sa, &sb] {
        assert!(s.starts_with("10.") && s.ends_with("/24"), "{s}");
        // The only route to it is its own bridge's.
        let routes = sh(&format!(
            "ip -4 route show match {}",
            s.trim_end_matches("/24")
        ));
        let via: Vec<&str> = routes
            .lines()
            .filter(|l| !l.starts_with("default"))
            .collect();
        assert_eq!(via.len(), 1, "{s}: {routes}");
    }
    assert!(inspect(&e, &b)["Internal"].as_bool().unwrap());
    let rules = rules_of(&bridge_of(&id_b));
    assert!(rules.iter().any(|r| r.contains("-j DROP")), "{rules:?}");
    assert!(!rules.iter().any(|r| r.contains("MASQUERADE")), "{rules:?}");
    let out = e.ok(&["network", "prune", "-f"]);
    assert!(out.contains(&a) && out.contains(&b), "{out}");
    for id in [&id_a, &id_b] {
        let bridge = bridge_of(id);
        assert!(sh(&format!("ip -o link show dev {bridge} 2>/dev/null")).is_empty());
        assert!(rules_of(&bridge).is_empty());
    }
}

/// A network namespace the test makes as "the outside": a veth from the host with addresses
/// of the test's own subnet, and no route back to any container network (so a reply reaches
/// a container only through the engine's masquerade). Removed on drop.
struct Outside {
    netns: String,
    host_link: String,
}

impl Outside {
    fn new(subnet: u8) -> Outside {
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

    /// Serves one connection on `port`: replies `answer`, writes what came to `log`.
    fn serve_once(&self, port: u16, log: &std::path::Path) -> std::process::Child {
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

fn ip_of(e: &Engine, name: &str) -> String {
    e.inspect(name)["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The host's end of container `id`'s veth pair on network `network` (an id).
fn host_link_of(id: &str, network: &str) -> String {
    format!("vh{}{}", &id[..7], &network[..6])
}

#[test]
fn containers_on_a_network_talk_and_get_out_through_the_host() {
    let (e, image) = Engine::with_busybox();
    let net = unique("app");
    let id = e
        .ok(&["network", "create", "--subnet", "10.231.44.0/24", &net])
        .trim()
        .to_string();
    let server = unique("server");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &server,
        "--network",
        &net,
        "--hostname",
        "srv",
        &image,
        "sh",
        "-c",
        "while true; do echo hello | nc -l -p 8080; done",
    ]);
    let server_ip = ip_of(&e, &server);
    assert!(server_ip.starts_with("10.231.44."), "{server_ip}");
    let doc = e.inspect(&server);
    let settings = &doc["NetworkSettings"]["Networks"][net.as_str()];
    assert_eq!(settings["Gateway"], "10.231.44.1");
    assert_eq!(settings["NetworkID"], id.as_str());
    let mac = settings["MacAddress"].as_str().unwrap();
    assert!(mac.starts_with("02:42:0a:e7:2c:"), "{mac}");
    // The network lists it; removing the network is refused while it is attached.
    let members = &inspect(&e, &net)["Containers"];
    assert_eq!(
        members[server.as_str()]["IPv4Address"],
        format!("{server_ip}/24").as_str(),
        "{members}"
    );
    let err = e.fails(&["network", "rm", &net], 1);
    assert!(
        err.contains("active endpoints") && err.contains(&server),
        "{err}"
    );

    // Another container reaches it by address; its own files say where it is.
    let script =
        format!("nc -w 3 {server_ip} 8080; ip -4 -o addr show eth0; cat /etc/hosts; ip route");
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        "--add-host",
        "db:10.9.9.9",
        "--hostname",
        "cli",
        &image,
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.starts_with("hello\n"), "{out}");
    let my_ip = out
        .lines()
        .find_map(|l| l.split_whitespace().skip_while(|w| *w != "inet").nth(1))
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(my_ip, server_ip);
    assert!(
        out.contains(&format!("{my_ip}\tcli")) && out.contains("10.9.9.9\tdb"),
        "{out}"
    );
    assert!(out.contains("default via 10.231.44.1 dev eth0"), "{out}");

    // Out through the host to an "outside" that has no route back: the masquerade at work.
    let outside = Outside::new(45);
    let log = e.dir.path().join("outside.log");
    let mut listener = outside.serve_once(7101, &log);
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        &image,
        "sh",
        "-c",
        "echo from-inside | nc -w 3 10.231.45.2 7101; echo rc=$?",
    ]);
    assert!(out.contains("rc=0"), "{out}");
    let _ = listener.wait();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "from-inside\n");

    // A network with no way out: no default route, the outside unreachable.
    let closed = unique("closed");
    e.ok(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        "10.231.46.0/24",
        &closed,
    ]);
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        &closed,
        &image,
        "sh",
        "-c",
        "ip route; echo x | nc -w 2 10.231.45.2 7101; echo rc=$?",
    ]);
    assert!(!out.contains("default"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
    // `none` still has loopback alone.
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "ip -o link | wc -l",
    ]);
    assert_eq!(out.trim(), "1", "{out}");

    e.ok(&["rm", "-f", &server]);
    e.ok(&["network", "rm", &net, &closed]);
}

#[test]
fn addresses_are_given_once_and_nothing_is_left_behind() {
    let (e, image) = Engine::with_busybox();
    let net = unique("pool");
    let id = e
        .ok(&[
            "network",
            "create",
            "--subnet",
            "10.231.47.0/24",
            "--ip-range",
            "10.231.47.16/28",
            &net,
        ])
        .trim()
        .to_string();
    // Eight concurrent runs: eight different addresses, all from the range.
    let names: Vec<String> = (0..8).map(|i| unique(&format!("c{i}"))).collect();
    let runs: Vec<_> = names
        .iter()
        .map(|n| {
            e.command(&[
                "run",
                "-d",
                "--name",
                n,
                "--network",
                &net,
                &image,
                "sleep",
                "600",
            ])
            .output()
            .unwrap()
        })
        .collect();
    for r in &runs {
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let ips: std::collections::BTreeSet<String> = names.iter().map(|n| ip_of(&e, n)).collect();
    assert_eq!(ips.len(), 8, "{ips:?}");
    for ip in &ips {
        let last: u8 = ip.rsplit('.').next().unwrap().parse().unwrap();
        assert!((16..32).contains(&last), "{ip} is outside the range");
    }
    // --ip: the address asked for, refused while another holds it, with nothing made.
    let fixed = unique("fixed");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &fixed,
        "--network",
        &net,
        "--ip",
        "10.231.47.200",
        &image,
        "sleep",
        "600",
    ]);
    assert_eq!(ip_of(&e, &fixed), "10.231.47.200");
    let twin = unique("twin");
    let err = e.fails(
        &[
            "run",
            "-d",
            "--name",
            &twin,
            "--network",
            &net,
            "--ip",
            "10.231.47.200",
            &image,
            "true",
        ],
        125,
    );
    assert!(
        err.contains("10.231.47.200") && err.contains("in use"),
        "{err}"
    );
    assert_eq!(
        e.status(&twin),
        "exited",
        "the refused container did not run"
    );
    e.ok(&["rm", &twin]);
    for (args, word) in [
        (
            vec!["--network", net.as_str(), "--ip", "10.231.99.5"],
            "10.231.99.5",
        ),
        (vec!["--ip", "10.231.47.9"], "user-defined networks"),
        (vec!["--network", "nosuchnet"], "nosuchnet"),
        (
            vec!["--ip", "300.1.1.1", "--network", net.as_str()],
            "300.1.1.1",
        ),
        (vec!["--add-host", "nohost"], "nohost"),
        (vec!["--dns", "resolver"], "resolver"),
    ] {
        let mut full = vec!["create"];
        full.extend(args.iter().copied());
        full.extend([image.as_str(), "true"]);
        let err = e.fails(&full, 125);
        assert!(err.contains(word), "{args:?}: {err}");
    }

    // Teardown: rm -f of a running container, and rm -f after its monitor was killed,
    // leave no link, address claim or endpoint.
    let victim = &names[0];
    let victim_id = e.inspect(victim)["Id"].as_str().unwrap().to_string();
    let monitor = {
        let state: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                e.root()
                    .join("containers")
                    .join(&victim_id)
                    .join("state.json"),
            )
            .unwrap(),
        )
        .unwrap();
        state["monitor_pid"].as_i64().unwrap()
    };
    Command::new("kill")
        .args(["-9", &monitor.to_string()])
        .status()
        .unwrap();
    e.wait_for("the monitor to be gone", || {
        !std::path::Path::new(&format!("/proc/{monitor}")).exists()
    });
    let mut ids = vec![victim_id];
    for n in names.iter().chain([&fixed]) {
        if n != victim {
            ids.push(e.inspect(n)["Id"].as_str().unwrap().to_string());
        }
        e.ok(&["rm", "-f", n]);
    }
    // The links go with the containers' namespaces, which the kernel destroys in the
    // background once nothing holds them.
    for cid in &ids {
        let link = host_link_of(cid, &id);
        e.wait_for(&format!("{link} to go"), || {
            sh(&format!("ip -o link show dev {link} 2>/dev/null")).is_empty()
        });
    }
    let dir = e.root().join("networks").join(&id);
    for sub in ["ips", "endpoints"] {
        let left: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .flatten()
            .map(|f| f.file_name())
            .collect();
        assert!(left.is_empty(), "{sub}: {left:?}");
    }
    e.ok(&["network", "rm", &net]);
}

/// `port NAME` lines as (container port/proto, host address, host port).
fn ports_of(e: &Engine, name: &str) -> Vec<(String, String, u16)> {
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
fn greeting(addr: &str) -> String {
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
fn host_address() -> String {
    sh("ip -4 -o addr show scope global")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .map(|a| a.split('/').next().unwrap().to_string())
        .next()
        .expect("the host has a global IPv4 address")
}

#[test]
fn published_ports_answer_on_loopback_and_the_hosts_addresses() {
    let (e, image) = Engine::with_busybox();
    let net = unique("pub");
    e.ok(&["network", "create", "--subnet", "10.231.48.0/24", &net]);
    let web = unique("web");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &web,
        "--network",
        &net,
        "-p",
        "127.0.0.1::80",
        "-p",
        "80",
        "-p",
        "127.0.0.1::5353/udp",
        &image,
        "sh",
        "-c",
        "while true; do echo hello | nc -l -p 80; done",
    ]);
    let ports = ports_of(&e, &web);
    assert_eq!(ports.len(), 3, "{ports:?}");
    let local = ports
        .iter()
        .find(|p| p.1 == "127.0.0.1" && p.0 == "80/tcp")
        .unwrap()
        .2;
    let any = ports.iter().find(|p| p.1 == "0.0.0.0").unwrap().2;
    assert!(ports.iter().any(|p| p.0 == "5353/udp"), "{ports:?}");
    assert_ne!(local, any);
    let ps = e.ok(&["ps", "--filter", &format!("name={web}")]);
    assert!(ps.contains(&format!("127.0.0.1:{local}->80/tcp")), "{ps}");
    let doc = e.inspect(&web);
    assert_eq!(
        doc["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"],
        "127.0.0.1"
    );
    assert_eq!(e.ok(&["port", &web, "80/tcp"]).lines().count(), 2);
    let err = e.fails(&["port", &web, "81"], 125);
    assert!(err.contains("81/tcp"), "{err}");

    // Through the kernel, from the host: loopback, and the host's own address.
    assert_eq!(greeting(&format!("127.0.0.1:{local}")), "hello\n");
    assert_eq!(greeting(&format!("{}:{any}", host_address())), "hello\n");
    // The host port is held: nobody else can take it.
    assert!(std::net::TcpListener::bind(("127.0.0.1", local)).is_err());
    // From a container on another network, through the host's address.
    let other = unique("other-net");
    e.ok(&["network", "create", "--subnet", "10.231.49.0/24", &other]);
    // Retried like `greeting`: the server listens again a moment after each connection.
    let script = format!(
        "for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 3 {} {any} && break; sleep 0.2; done",
        host_address()
    );
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--network",
            &other,
            &image,
            "sh",
            "-c",
            &script
        ]),
        "hello\n"
    );
    // From a container on the same network, and from the container itself (hairpin).
    let same = e.ok(&[
        "run",
        "--rm",
        "--network",
        &net,
        &image,
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(same, "hello\n");
    // The server is busy in its own loop here: a client inside it runs beside it.
    let mine = e.ok(&["exec", &web, "sh", "-c", &script]);
    assert_eq!(
        mine, "hello\n",
        "the container reaches its own published port"
    );

    // A port in use is refused, naming who has it, and the container does not run.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().port();
    let late = unique("late");
    let err = e.fails(
        &[
            "run",
            "-d",
            "--name",
            &late,
            "--network",
            &net,
            "-p",
            &format!("127.0.0.1:{taken}:80"),
            &image,
            "sleep",
            "60",
        ],
        125,
    );
    assert!(
        err.contains(&format!("127.0.0.1:{taken}/tcp")) && err.contains("in use by process"),
        "{err}"
    );
    assert_eq!(e.status(&late), "exited");
    let twin = unique("twin");
    let err = e.fails(
        &[
            "run",
            "-d",
            "--name",
            &twin,
            "--network",
            &net,
            "-p",
            &format!("127.0.0.1:{local}:80"),
            &image,
            "sleep",
            "60",
        ],
        125,
    );
    assert!(err.contains(&format!("in use by container {web}")), "{err}");
    drop(holder);
    // Bad ports are refused at create.
    for bad in ["99999:80", "[::1]:8080:80", "80/sctp", "8000-8001:80-82"] {
        let err = e.fails(
            &["create", "--network", &net, "-p", bad, &image, "true"],
            125,
        );
        assert!(
            err.contains(bad.split('/').next().unwrap())
                || err.contains("sctp")
                || err.contains("IPv4"),
            "{bad}: {err}"
        );
    }
    let err = e.fails(
        &[
            "create",
            "--network",
            "none",
            "-p",
            "8080:80",
            &image,
            "true",
        ],
        125,
    );
    assert!(err.contains("loopback only"), "{err}");

    // -P publishes what the image exposes.
    let rootfs = e.write("rootfs.tar", &common::images::busybox_rootfs());
    let exposing = format!("{}:1", unique("exposing"));
    e.ok(&[
        "import",
        "-c",
        "EXPOSE 7000/tcp",
        rootfs.to_str().unwrap(),
        &exposing,
    ]);
    let all = unique("all");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &all,
        "--network",
        &net,
        "-P",
        &exposing,
        "sleep",
        "60",
    ]);
    let p = ports_of(&e, &all);
    assert_eq!(
        (p.len(), p[0].0.as_str(), p[0].1.as_str()),
        (1, "7000/tcp", "0.0.0.0"),
        "{p:?}"
    );

    // Teardown: no DNAT rule, no held port, no link.
    let ips = [ip_of(&e, &web), ip_of(&e, &all)];
    for n in [&web, &all, &late, &twin] {
        e.ok(&["rm", "-f", n]);
    }
    let nat = sh("iptables -t nat -S DOCKHAND");
    for ip in &ips {
        assert!(!nat.contains(ip.as_str()), "{ip}: {nat}");
    }
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", local)).is_ok(),
        "the port is free again"
    );
    e.ok(&["network", "rm", &net, &other]);
}

/// A name server on a loopback address of the host that answers every A question with
/// 10.1.2.3, for as long as the test runs: an upstream only the host's namespace can reach.
fn fake_upstream() -> std::net::Ipv4Addr {
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
fn lookup(e: &Engine, container: &str, name: &str) -> Option<String> {
    let out = e.run(&["exec", container, "nslookup", name]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip_while(|l| !l.starts_with("Name:"))
        .find_map(|l| l.strip_prefix("Address:").map(|a| a.trim().to_string()))
}

#[test]
fn containers_find_each_other_by_name_and_other_names_go_to_the_hosts_resolvers() {
    let (e, image) = Engine::with_busybox();
    let upstream = fake_upstream().to_string();
    let net = unique("names");
    e.ok(&["network", "create", "--subnet", "10.231.51.0/24", &net]);
    let db = unique("db");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &db,
        "--network",
        &net,
        "--network-alias",
        "database",
        &image,
        "sleep",
        "600",
    ]);
    let client = unique("client");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &client,
        "--network",
        &net,
        "--dns",
        &upstream,
        &image,
        "sleep",
        "600",
    ]);
    let db_ip = ip_of(&e, &db);
    let short = e.inspect(&db)["Id"].as_str().unwrap()[..12].to_string();
    let resolv = e.ok(&["exec", &client, "cat", "/etc/resolv.conf"]);
    assert!(resolv.starts_with("nameserver 127.0.0.11\n"), "{resolv}");
    for name in [db.as_str(), "database", short.as_str(), &db.to_uppercase()] {
        assert_eq!(
            lookup(&e, &client, name).as_deref(),
            Some(db_ip.as_str()),
            "{name}"
        );
    }
    // Other names go to the upstream, which only the host's namespace reaches.
    assert_eq!(
        lookup(&e, &client, "outside.test").as_deref(),
        Some("10.1.2.3")
    );
    // A container that comes later is found; once removed, it is not.
    let late = unique("late");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &late,
        "--network",
        &net,
        &image,
        "sleep",
        "600",
    ]);
    assert_eq!(lookup(&e, &client, &late), Some(ip_of(&e, &late)));
    e.ok(&["rm", "-f", &late]);
    assert_eq!(
        lookup(&e, &client, &late).as_deref(),
        Some("10.1.2.3"),
        "now the upstream's answer"
    );
    // Another network's containers do not see these names.
    let apart = unique("apart");
    e.ok(&["network", "create", "--subnet", "10.231.52.0/24", &apart]);
    let stranger = unique("stranger");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &stranger,
        "--network",
        &apart,
        "--dns",
        &upstream,
        &image,
        "sleep",
        "600",
    ]);
    assert_eq!(lookup(&e, &stranger, &db).as_deref(), Some("10.1.2.3"));
    for n in [&db, &client, &stranger] {
        e.ok(&["rm", "-f", n]);
    }
    e.ok(&["network", "rm", &net, &apart]);
}

#[test]
fn a_container_without_a_network_is_on_the_default_bridge_and_reset_takes_it_all_away() {
    let (e, image) = Engine::with_busybox();
    let web = unique("web");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &web,
        "-p",
        "127.0.0.1::80",
        &image,
        "sh",
        "-c",
        "while true; do echo hi | nc -l -p 80; done",
    ]);
    let doc = e.inspect(&web);
    assert_eq!(doc["HostConfig"]["NetworkMode"], "bridge");
    let ip = ip_of(&e, &web);
    let bridge = inspect(&e, "bridge");
    assert_eq!(bridge["Name"], "bridge");
    let subnet = bridge["IPAM"]["Config"][0]["Subnet"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        subnet.starts_with("10.") && !subnet.starts_with("172.17."),
        "never Docker's: {subnet}"
    );
    let id = bridge["Id"].as_str().unwrap().to_string();
    let port = ports_of(&e, &web)[0].2;
    assert_eq!(greeting(&format!("127.0.0.1:{port}")), "hi\n");
    let out = e.ok(&[
        "run",
        "--rm",
        &image,
        "sh",
        "-c",
        "ip -4 -o addr show eth0; ip route",
    ]);
    assert!(out.contains("default via"), "{out}");
    assert!(!out.contains(&format!("{ip}/")), "another address: {out}");
    // The default network stays: neither rm nor prune takes it, and --ip is for user networks.
    let err = e.fails(&["network", "rm", "bridge"], 1);
    assert!(err.contains("pre-defined"), "{err}");
    assert!(!e.ok(&["network", "prune", "-f"]).contains("bridge"));
    let err = e.fails(&["create", "--ip", "10.0.0.5", &image, "true"], 125);
    assert!(err.contains("user-defined"), "{err}");
    // system reset: everything of the root, and the bridge with its rules.
    let vol = unique("vol");
    e.ok(&["volume", "create", &vol]);
    let out = e.ok(&["system", "reset", "-f"]);
    assert!(
        out.contains("Removed 1 containers, 1 networks, 1 volumes and 1 images"),
        "{out}"
    );
    assert!(e.ok(&["ps", "-aq"]).is_empty() && e.ok(&["volume", "ls", "-q"]).is_empty());
    assert!(e.ok(&["images", "-q"]).is_empty());
    let link = bridge_of(&id);
    assert!(sh(&format!("ip -o link show dev {link} 2>/dev/null")).is_empty());
    assert!(rules_of(&link).is_empty(), "{:?}", rules_of(&link));
    // Without -f and without an answer, nothing happens.
    assert!(e.ok(&["system", "reset"]).is_empty());
}

#[test]
fn a_running_container_joins_and_leaves_another_network() {
    let (e, image) = Engine::with_busybox();
    let upstream = fake_upstream().to_string();
    let (front, back) = (unique("front"), unique("back"));
    e.ok(&["network", "create", "--subnet", "10.231.53.0/24", &front]);
    let back_id = e
        .ok(&["network", "create", "--subnet", "10.231.54.0/24", &back])
        .trim()
        .to_string();
    let (web, db) = (unique("web"), unique("db"));
    e.ok(&[
        "run",
        "-d",
        "--name",
        &web,
        "--network",
        &front,
        "--dns",
        &upstream,
        &image,
        "sleep",
        "600",
    ]);
    e.ok(&[
        "run",
        "-d",
        "--name",
        &db,
        "--network",
        &back,
        "--dns",
        &upstream,
        &image,
        "sh",
        "-c",
        "while true; do echo from-db | nc -l -p 5432; done",
    ]);
    let db_ip = ip_of(&e, &db);
    let reach = format!("nc -w 2 {db_ip} 5432");
    assert!(
        !e.run(&["exec", &web, "sh", "-c", &reach]).status.success(),
        "not yet on the same network"
    );

    e.ok(&[
        "network",
        "connect",
        "--alias",
        "frontend",
        "--ip",
        "10.231.54.50",
        &back,
        &web,
    ]);
    let links = e.ok(&["exec", &web, "ip", "-4", "-o", "addr"]);
    assert!(
        links.contains("eth1") && links.contains("10.231.54.50/24"),
        "{links}"
    );
    let routes = e.ok(&["exec", &web, "ip", "route"]);
    assert!(
        routes.contains("default via 10.231.53.1"),
        "the first network keeps the default route: {routes}"
    );
    let out = e.ok(&[
        "exec",
        &web,
        "sh",
        "-c",
        &format!("for i in 1 2 3 4 5; do {reach} && break; sleep 0.2; done"),
    ]);
    assert_eq!(out, "from-db\n");
    // Names across the shared network, both ways, the alias too.
    assert_eq!(lookup(&e, &web, &db).as_deref(), Some(db_ip.as_str()));
    assert_eq!(lookup(&e, &db, "frontend").as_deref(), Some("10.231.54.50"));
    assert_eq!(lookup(&e, &db, &web).as_deref(), Some("10.231.54.50"));
    assert!(inspect(&e, &back)["Containers"].to_string().contains(&web));
    let err = e.fails(&["network", "rm", &back], 1);
    assert!(err.contains(&web), "{err}");
    let err = e.fails(&["network", "connect", &back, &web], 125);
    assert!(err.contains("already exists"), "{err}");
    let stopped = unique("stopped");
    e.ok(&["create", "--name", &stopped, &image, "true"]);
    let err = e.fails(&["network", "connect", &back, &stopped], 125);
    assert!(err.contains("not running"), "{err}");

    // Disconnected: the interface goes at once, and the names with it.
    e.ok(&["network", "disconnect", &back, &web]);
    assert!(!e.ok(&["exec", &web, "ip", "-o", "link"]).contains("eth1"));
    assert_eq!(
        lookup(&e, &db, "frontend").as_deref(),
        Some("10.1.2.3"),
        "the upstream's answer now"
    );
    let err = e.fails(&["network", "disconnect", &back, &web], 125);
    assert!(err.contains("not connected"), "{err}");
    // Connected again, then removed with the container: nothing of it stays on the network.
    e.ok(&["network", "connect", &back, &web]);
    let web_id = e.inspect(&web)["Id"].as_str().unwrap().to_string();
    e.ok(&["rm", "-f", &web, &db, &stopped]);
    let endpoints = e.root().join("networks").join(&back_id).join("endpoints");
    assert_eq!(std::fs::read_dir(endpoints).unwrap().count(), 0);
    let link = host_link_of(&web_id, &back_id);
    e.wait_for(&format!("{link} to go"), || {
        sh(&format!("ip -o link show dev {link} 2>/dev/null")).is_empty()
    });
    e.ok(&["network", "rm", &front, &back]);
}

#[test]
fn what_a_crash_leaves_on_a_network_is_found_and_taken_back() {
    let (e, image) = Engine::with_busybox();
    let net = unique("crash");
    e.ok(&["network", "create", "--subnet", "10.231.55.0/24", &net]);
    let victim = unique("victim");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &victim,
        "--network",
        &net,
        "--ip",
        "10.231.55.9",
        &image,
        "sleep",
        "600",
    ]);
    let id = e.inspect(&victim)["Id"].as_str().unwrap().to_string();
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(e.root().join("containers").join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    // As a power cut would: the monitor and the container's process die at once.
    for key in ["monitor_pid", "pid"] {
        let pid = state[key].as_i64().unwrap().to_string();
        Command::new("kill").args(["-9", &pid]).status().unwrap();
    }
    e.wait_for("the monitor to be gone", || {
        !std::path::Path::new(&format!("/proc/{}", state["monitor_pid"])).exists()
    });
    let out = e.run(&["system", "check"]);
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        report.contains(&victim) && report.contains("10.231.55.9"),
        "{report}"
    );
    assert_ne!(out.status.code(), Some(0), "an open problem: {report}");
    let repaired = e.ok(&["system", "check", "--repair"]);
    assert!(repaired.contains(&victim), "{repaired}");
    e.ok(&["system", "check"]);
    // The address is free again.
    let next = unique("next");
    e.ok(&[
        "run",
        "-d",
        "--name",
        &next,
        "--network",
        &net,
        "--ip",
        "10.231.55.9",
        &image,
        "sleep",
        "600",
    ]);
    e.ok(&["rm", "-f", &next, &victim]);
    e.ok(&["network", "rm", &net]);
}
