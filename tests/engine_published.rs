//! Containers on the engine's networks, as root, through the binary on a temporary data
//! root: published ports (loopback, the host's addresses, other networks, the same network,
//! hairpin; a port in use named and refused; `-P`; nothing left after `rm -f`), names
//! between containers (name, alias, short id, coming and going, other networks not seen,
//! other names to an upstream on a host loopback address), and `network connect` and
//! `disconnect` of a running container, and `system check` of this root's bridges, veths and
//! rules left without a record (another root's left alone). Each test checks the host itself for what it left,
//! and its root's drop resets it, also when it fails.

mod common;

use common::engine::Engine;
use common::net::*;
use common::unique;

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
fn system_check_finds_this_roots_bridges_veths_and_rules_that_no_record_has() {
    let (e, image) = Engine::with_busybox();
    // Another root's network on the same host: never this root's leftover.
    let other = Engine::new();
    let theirs = unique("theirs");
    let their_id = other
        .ok(&["network", "create", "--subnet", "10.231.58.0/24", &theirs])
        .trim()
        .to_string();
    let net = unique("gone");
    let id = e
        .ok(&["network", "create", "--subnet", "10.231.57.0/24", &net])
        .trim()
        .to_string();
    let bridge = bridge_of(&id);
    let alias = sh(&format!("ip -d link show dev {bridge}"));
    assert!(
        alias.contains("alias dockhand:") && alias.contains(&e.root().display().to_string()),
        "the bridge names its root: {alias}"
    );
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
        &image,
        "sleep",
        "600",
    ]);
    let veth = e.inspect(&web)["Id"].as_str().unwrap()[..7].to_string();
    assert!(sh("ip -o link show").contains(&format!("vh{veth}")));
    assert!(e.ok(&["system", "check"]).contains("No problems found."));

    // The network's record goes, as an operator's `rm -rf` of it would: its bridge, the
    // container's veth, the network's rules and the port's rules are left on the host.
    let aside = e.root().join("tmp-aside");
    let record = e.root().join("networks").join(&id);
    std::fs::rename(&record, &aside).unwrap();
    // Should the test fail before the repair, the record goes back, so the root's reset
    // takes the bridge and its rules away (this guard drops before the engine does).
    let _restore = Restore(aside.clone(), record);
    let out = e.run(&["system", "check"]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{report}");
    for what in [
        format!("bridge {bridge} is this root's, but no network has it"),
        format!("on bridge {bridge} belongs to no container of this root"),
        format!("for bridge {bridge}, which no network of this root has"),
        "for a port published by 10.231.57.".to_string(),
    ] {
        assert!(report.contains(&what), "{what}: {report}");
    }
    assert!(!report.contains(&bridge_of(&their_id)), "{report}");
    assert!(
        other
            .ok(&["system", "check"])
            .contains("No problems found."),
        "the other root has nothing left over"
    );

    let repaired = e.ok(&["system", "check", "--repair"]);
    assert!(!repaired.contains("problem: "), "{repaired}");
    assert!(sh(&format!("ip -o link show dev {bridge} 2>/dev/null")).is_empty());
    assert!(!sh("ip -o link show").contains(&format!("vh{veth}")));
    assert!(rules_of(&bridge).is_empty(), "{:?}", rules_of(&bridge));
    assert!(
        !sh("iptables-save -t nat").contains("10.231.57."),
        "the port's rules are gone"
    );
    assert!(e.ok(&["system", "check"]).contains("No problems found."));
    // The other root's network is whole.
    assert!(!sh(&format!("ip -o link show dev {}", bridge_of(&their_id))).is_empty());
    assert!(!rules_of(&bridge_of(&their_id)).is_empty());
    std::fs::remove_dir_all(&aside).unwrap();
    e.ok(&["rm", "-f", &web]);
    other.ok(&["network", "rm", &theirs]);
}

/// Renames `.0` back to `.1` on drop, when it is still there.
struct Restore(std::path::PathBuf, std::path::PathBuf);

impl Drop for Restore {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::fs::rename(&self.0, &self.1);
        }
    }
}
