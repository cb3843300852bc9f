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
    assert_eq!(doc["subnet"], "10.231.41.0/24");
    assert_eq!(doc["gateway"], "10.231.41.1");
    assert_eq!(doc["driver"], "bridge");
    assert_eq!(doc["labels"]["app"], "shop");
    let ls = e.ok(&["network", "ls"]);
    assert!(
        ls.contains(&name) && ls.contains(&id[..12]) && ls.contains("host"),
        "{ls}"
    );

    // Taken names and subnets, bad values: refused, nothing made.
    let before = sh("ip -o link show type bridge").lines().count();
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
    assert_eq!(sh("ip -o link show type bridge").lines().count(), before);
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
        inspect(&e, &a)["subnet"].as_str().unwrap().to_string(),
        inspect(&e, &b)["subnet"].as_str().unwrap().to_string(),
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
    assert!(inspect(&e, &b)["internal"].as_bool().unwrap());
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
