//! The engine's netfilter rules, through `iptables` (the `iptables-nft` Debian installs by
//! default, or the legacy one: whichever Docker on the same host uses, since both go through
//! the same command). Why iptables and not a table of our own in nftables: a packet must be
//! accepted by every base chain on its hook, so a Docker that set the `filter` FORWARD policy
//! to DROP would drop our bridges' traffic whatever a separate nftables table accepted; the
//! accept has to be in that same FORWARD chain, which is iptables' `filter` table.
//!
//! Every rule carries its root's mark as a comment (`-m comment --comment dockhand:<tag>`), so
//! `system check` tells this root's leftovers from another root's rules (`owned_rules`).
//!
//! Our rules live in chains of our own — `DOCKHAND-FORWARD` (filter, jumped to first from
//! FORWARD), `DOCKHAND-POSTROUTING` (nat, from POSTROUTING) and `DOCKHAND` (nat, from
//! PREROUTING and OUTPUT for packets to the host's own addresses: the published ports) — and
//! each network and each published port adds and removes its own lines there; nothing of
//! Docker's is touched. A port published on 127.0.0.1 works through the kernel too: the
//! bridge takes loopback sources (`route_localnet`) and they are masqueraded to the gateway.

use std::collections::BTreeSet;
use std::process::Command;

/// Why a rule could not be set.
#[derive(Debug, thiserror::Error)]
#[error("iptables {args}: {message}")]
pub struct FirewallError {
    /// The arguments given.
    pub args: String,
    /// What iptables said, or why it could not run.
    pub message: String,
}

const FORWARD: &str = "DOCKHAND-FORWARD";
const POSTROUTING: &str = "DOCKHAND-POSTROUTING";
const PORTS: &str = "DOCKHAND";

fn iptables(args: &[&str]) -> Result<(), FirewallError> {
    let out = Command::new("iptables")
        .arg("-w")
        .args(args)
        .output()
        .map_err(|e| FirewallError {
            args: args.join(" "),
            message: format!(
                "cannot run iptables ({e}); install it (Debian: apt-get install iptables)"
            ),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(FirewallError {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `rule` with the owner's mark put before its target (none for a network made before
/// marks, whose rules must be found as they were made).
fn marked(mut rule: Vec<String>, owner: &str) -> Vec<String> {
    if owner.is_empty() {
        return rule;
    }
    let at = rule.iter().position(|w| w == "-j").unwrap_or(rule.len());
    rule.splice(
        at..at,
        ["-m", "comment", "--comment", owner].map(str::to_string),
    );
    rule
}

fn exists(table: &str, chain: &str, rule: &[&str]) -> bool {
    let mut args = vec!["-t", table, "-C", chain];
    args.extend_from_slice(rule);
    iptables(&args).is_ok()
}

/// Makes our chains and the jumps to them, once per host (and again after a reboot or a
/// flush).
fn ensure_chains() -> Result<(), FirewallError> {
    let local = ["-m", "addrtype", "--dst-type", "LOCAL"];
    for (table, chain, from, first, matching) in [
        ("filter", FORWARD, "FORWARD", true, &[][..]),
        ("nat", POSTROUTING, "POSTROUTING", false, &[][..]),
        ("nat", PORTS, "PREROUTING", false, &local[..]),
        ("nat", PORTS, "OUTPUT", false, &local[..]),
    ] {
        if iptables(&["-t", table, "-L", chain, "-n"]).is_err() {
            // Another process may make it at the same moment.
            let _ = iptables(&["-t", table, "-N", chain]);
        }
        let mut jump: Vec<&str> = matching.to_vec();
        jump.extend(["-j", chain]);
        if !exists(table, from, &jump) {
            let mut args = vec!["-t", table];
            if first {
                args.extend(["-I", from, "1"]);
            } else {
                args.extend(["-A", from]);
            }
            args.extend_from_slice(&jump);
            iptables(&args)?;
        }
    }
    Ok(())
}

/// The rules of a network on bridge `bridge` with `subnet`: traffic between its containers,
/// none to other networks' containers but through their published ports, and, unless
/// `internal`, out through the host (masqueraded) with the replies back in.
/// An internal network's containers reach nothing beyond their bridge, and nothing beyond
/// reaches them.
fn network_rules(
    bridge: &str,
    subnet: &str,
    internal: bool,
    owner: &str,
) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let words = |s: String| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    let mut rules = vec![(
        "filter",
        FORWARD,
        words(format!("-i {bridge} -o {bridge} -j ACCEPT")),
    )];
    if internal {
        rules.push((
            "filter",
            FORWARD,
            words(format!("-i {bridge} ! -o {bridge} -j DROP")),
        ));
        rules.push((
            "filter",
            FORWARD,
            words(format!("! -i {bridge} -o {bridge} -j DROP")),
        ));
    } else {
        // Isolation, as Docker has it between its networks: nothing new from this bridge to
        // another network's, but for connections to a published port (DNAT'd), which every
        // container may reach through the host's addresses.
        rules.push((
            "filter",
            FORWARD,
            words(format!(
                "-i {bridge} -o dh-+ -m conntrack ! --ctstate DNAT -j DROP"
            )),
        ));
        rules.push((
            "filter",
            FORWARD,
            words(format!("-i {bridge} ! -o {bridge} -j ACCEPT")),
        ));
        rules.push((
            "filter",
            FORWARD,
            words(format!(
                "-o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT"
            )),
        ));
        rules.push((
            "nat",
            POSTROUTING,
            words(format!("-s {subnet} ! -o {bridge} -j MASQUERADE")),
        ));
        // The host's own connections to a published port (127.0.0.1 among them) reach the
        // container from the gateway's address.
        rules.push((
            "nat",
            POSTROUTING,
            words(format!(
                "-o {bridge} -m addrtype --src-type LOCAL -j MASQUERADE"
            )),
        ));
    }
    rules
        .into_iter()
        .map(|(table, chain, rule)| (table, chain, marked(rule, owner)))
        .collect()
}

/// The DNAT rule of one published port: the host's `host_ip:host_port` (any local address
/// for 0.0.0.0) to the container's `ip:container_port`.
fn port_rule(p: &super::PublishedPort, container: std::net::Ipv4Addr) -> Vec<String> {
    let mut rule = vec!["-p".to_string(), p.protocol.name().to_string()];
    if !p.host_ip.is_unspecified() {
        rule.extend(["-d".to_string(), p.host_ip.to_string()]);
    }
    rule.extend([
        "--dport".to_string(),
        p.host_port.to_string(),
        "-j".into(),
        "DNAT".into(),
        "--to-destination".into(),
        format!("{container}:{}", p.container_port),
    ]);
    rule
}

/// The masquerade of a container's connection to its own published port (hairpin): the
/// reply then comes back through the bridge, from the address it was sent to.
fn hairpin_rule(p: &super::PublishedPort, container: std::net::Ipv4Addr) -> Vec<String> {
    format!(
        "-s {container}/32 -d {container}/32 -p {} --dport {} -j MASQUERADE",
        p.protocol.name(),
        p.container_port
    )
    .split(' ')
    .map(str::to_string)
    .collect()
}

/// A published port's rules: its DNAT, and its hairpin masquerade.
fn port_rules(
    p: &super::PublishedPort,
    container: std::net::Ipv4Addr,
    owner: &str,
) -> [(&'static str, Vec<String>); 2] {
    [
        (PORTS, marked(port_rule(p, container), owner)),
        (POSTROUTING, marked(hairpin_rule(p, container), owner)),
    ]
}

/// Adds the rules of a container's published ports.
pub fn add_ports(
    ports: &[super::PublishedPort],
    container: std::net::Ipv4Addr,
    owner: &str,
) -> Result<(), FirewallError> {
    if ports.is_empty() {
        return Ok(());
    }
    ensure_chains()?;
    for p in ports {
        for (chain, rule) in port_rules(p, container, owner) {
            let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
            if !exists("nat", chain, &rule) {
                let mut args = vec!["-t", "nat", "-A", chain];
                args.extend_from_slice(&rule);
                iptables(&args)?;
            }
        }
    }
    Ok(())
}

/// Removes the rules of a container's published ports; those already gone are no error.
pub fn remove_ports(ports: &[super::PublishedPort], container: std::net::Ipv4Addr, owner: &str) {
    for p in ports {
        for (chain, rule) in port_rules(p, container, owner) {
            remove_rule("nat", chain, &rule);
        }
    }
}

/// Deletes every copy of `rule` from `chain`; one already gone is no error.
fn remove_rule(table: &str, chain: &str, rule: &[String]) {
    let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
    while exists(table, chain, &rule) {
        let mut args = vec!["-t", table, "-D", chain];
        args.extend_from_slice(&rule);
        if iptables(&args).is_err() {
            break;
        }
    }
}

/// One rule of ours, as `iptables -S` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its table.
    pub table: &'static str,
    /// Its chain.
    pub chain: &'static str,
    /// Its match and target, as words.
    pub words: Vec<String>,
}

impl Rule {
    /// The values given to `option`, negated or not.
    pub fn values<'a>(&'a self, option: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.words
            .windows(2)
            .filter(move |w| w[0] == option)
            .map(|w| w[1].as_str())
    }

    /// Whether the rule is still there.
    pub fn exists(&self) -> bool {
        let words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        exists(self.table, self.chain, &words)
    }

    /// Deletes it.
    pub fn delete(&self) -> bool {
        remove_rule(self.table, self.chain, &self.words);
        !self.exists()
    }

    /// The rule as a line of `iptables -S`.
    pub fn describe(&self) -> String {
        format!(
            "-t {} -A {} {}",
            self.table,
            self.chain,
            self.words.join(" ")
        )
    }
}

/// The rules in our chains that carry one of the `owners`' marks. Chains that do not exist (no network
/// was ever up on this host) hold none.
pub fn owned_rules(owners: &BTreeSet<String>) -> Result<Vec<Rule>, FirewallError> {
    let mut rules = Vec::new();
    for (table, chain) in [("filter", FORWARD), ("nat", POSTROUTING), ("nat", PORTS)] {
        let Ok(listing) = list(table, chain) else {
            continue;
        };
        for line in listing.lines() {
            let Some(words) = shlex::split(line) else {
                continue;
            };
            if words.len() < 2 || words[0] != "-A" || words[1] != chain {
                continue;
            }
            let rule = Rule {
                table,
                chain,
                words: words[2..].to_vec(),
            };
            if rule.values("--comment").any(|c| owners.contains(c)) {
                rules.push(rule);
            }
        }
    }
    Ok(rules)
}

/// `iptables -S` of one chain.
fn list(table: &str, chain: &str) -> Result<String, FirewallError> {
    let out = Command::new("iptables")
        .args(["-w", "-t", table, "-S", chain])
        .output()
        .map_err(|e| FirewallError {
            args: format!("-t {table} -S {chain}"),
            message: format!("cannot run iptables ({e})"),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(FirewallError {
            args: format!("-t {table} -S {chain}"),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Lets the bridge take packets from 127.0.0.0/8, so a port published on 127.0.0.1 is
/// reached through the kernel (`net.ipv4.conf.BRIDGE.route_localnet`).
pub fn allow_localnet(bridge: &str) -> std::io::Result<()> {
    std::fs::write(
        format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"),
        "1",
    )
}

/// Adds a network's rules (those already there are left as they are).
pub fn add_network(
    bridge: &str,
    subnet: &str,
    internal: bool,
    owner: &str,
) -> Result<(), FirewallError> {
    ensure_chains()?;
    for (table, chain, rule) in network_rules(bridge, subnet, internal, owner) {
        let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
        if !exists(table, chain, &rule) {
            let mut args = vec!["-t", table, "-A", chain];
            args.extend_from_slice(&rule);
            iptables(&args)?;
        }
    }
    Ok(())
}

/// Removes a network's rules; those already gone are no error.
pub fn remove_network(bridge: &str, subnet: &str, internal: bool, owner: &str) {
    for (table, chain, rule) in network_rules(bridge, subnet, internal, owner) {
        remove_rule(table, chain, &rule);
    }
}

/// Lets the host forward packets between interfaces (`net.ipv4.ip_forward`, as Docker sets
/// it).
pub fn enable_forwarding() -> std::io::Result<()> {
    let path = "/proc/sys/net/ipv4/ip_forward";
    if std::fs::read_to_string(path)?.trim() != "1" {
        std::fs::write(path, "1")?;
    }
    Ok(())
}
