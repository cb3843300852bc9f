//! The engine's netfilter rules, through `iptables` (the `iptables-nft` Debian installs by
//! default, or the legacy one: whichever Docker on the same host uses, since both go through
//! the same command). Why iptables and not a table of our own in nftables: a packet must be
//! accepted by every base chain on its hook, so a Docker that set the `filter` FORWARD policy
//! to DROP would drop our bridges' traffic whatever a separate nftables table accepted; the
//! accept has to be in that same FORWARD chain, which is iptables' `filter` table.
//!
//! Our rules live in chains of our own — `DOCKHAND-FORWARD` (filter, jumped to first from
//! FORWARD) and `DOCKHAND-POSTROUTING` (nat, from POSTROUTING) — and each network adds and
//! removes its own lines there, naming its bridge; nothing of Docker's is touched.

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

fn exists(table: &str, chain: &str, rule: &[&str]) -> bool {
    let mut args = vec!["-t", table, "-C", chain];
    args.extend_from_slice(rule);
    iptables(&args).is_ok()
}

/// Makes our chains and the jumps to them, once per host (and again after a reboot or a
/// flush).
fn ensure_chains() -> Result<(), FirewallError> {
    for (table, chain, from, first) in [
        ("filter", FORWARD, "FORWARD", true),
        ("nat", POSTROUTING, "POSTROUTING", false),
    ] {
        if iptables(&["-t", table, "-L", chain, "-n"]).is_err() {
            // Another process may make it at the same moment.
            let _ = iptables(&["-t", table, "-N", chain]);
        }
        if !exists(table, from, &["-j", chain]) {
            if first {
                iptables(&["-t", table, "-I", from, "1", "-j", chain])?;
            } else {
                iptables(&["-t", table, "-A", from, "-j", chain])?;
            }
        }
    }
    Ok(())
}

/// The rules of a network on bridge `bridge` with `subnet`: traffic between its containers,
/// and, unless `internal`, out through the host (masqueraded) with the replies back in.
/// An internal network's containers reach nothing beyond their bridge, and nothing beyond
/// reaches them.
fn network_rules(
    bridge: &str,
    subnet: &str,
    internal: bool,
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
    }
    rules
}

/// Adds a network's rules (those already there are left as they are).
pub fn add_network(bridge: &str, subnet: &str, internal: bool) -> Result<(), FirewallError> {
    ensure_chains()?;
    for (table, chain, rule) in network_rules(bridge, subnet, internal) {
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
pub fn remove_network(bridge: &str, subnet: &str, internal: bool) {
    for (table, chain, rule) in network_rules(bridge, subnet, internal) {
        let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
        while exists(table, chain, &rule) {
            let mut args = vec!["-t", table, "-D", chain];
            args.extend_from_slice(&rule);
            if iptables(&args).is_err() {
                break;
            }
        }
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
