//! Bridge networks on the embedded engine, as root, through the binary on a temporary data
//! root: `network create` makes a Linux bridge of its own holding the gateway and the
//! iptables rules for it (inside, outbound with masquerade, or none out for `--internal`),
//! with a subnet given or chosen clear of the host's routes; bad values and taken names or
//! subnets make nothing; `ls`, `inspect`, `rm` by name or id prefix and `prune` take bridge
//! and rules away. Containers on a network: talking, out through the host's masquerade, none
//! out of an internal network, addresses given once, the default `bridge`, `system reset`, and
//! what a crash leaves found and taken back. Ports, names and connect are in
//! `engine_published.rs`. Each test checks the host itself for what it left, and its root's
//! drop resets it, also when it fails.

mod common;

use std::process::Command;

use common::engine::Engine;
use common::net::*;
use common::unique;

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
            && r.contains(&format!("-i {bridge} -o {bridge} -m comment --comment"))
            && r.ends_with("-j ACCEPT")),
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
