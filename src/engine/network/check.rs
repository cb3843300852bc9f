//! The marks that tell a root's bridges and rules on the host from others', and `system
//! check` of what a root's networks have on the host, which several roots and a
//! Docker share: bridges carrying this root's mark (their alias) with no network record,
//! veths on this root's bridges that no endpoint has, and netfilter rules carrying this
//! root's mark (their comment) for a bridge no record has or a published port no endpoint
//! has. What another root or Docker made carries no such mark and is never looked at. With
//! `repair`, rules go first, then veths, then bridges.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::netlink::{Link, Netlink};
use super::{NetworkError, NetworkStore, firewall, host};

/// How long a veth whose endpoint was just taken back may take to go with its network
/// namespace, which the kernel destroys in the background.
const VETH_GRACE: Duration = Duration::from_secs(2);

/// One leftover found on the host, and whether `repair` took it away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// What it is, named as `ip` and `iptables` show it.
    pub what: String,
    /// Whether it was taken away.
    pub repaired: bool,
}

impl NetworkStore {
    /// This root's mark on what it makes on the host, which several roots share: the comment
    /// of its networks' netfilter rules, and the start of their bridges' alias. Kept in each
    /// network's record, so its rules are found again whatever becomes of the root's path.
    pub fn mark(&self) -> String {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(self.root.path().as_os_str().as_encoded_bytes());
        let hex: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("dockhand:{hex}")
    }

    /// The alias of a network's bridge: its mark and the root's path, for whoever reads
    /// `ip link`.
    pub(super) fn alias(&self, n: &super::NetworkRecord) -> String {
        format!("{} {}", n.mark, self.root.path().display())
    }

    /// Finds (and with `repair`, removes) this root's leftovers on the host. The rules are
    /// read before the records, so a rule added meanwhile has its record already.
    pub fn check_host(&self, repair: bool) -> Result<Vec<Leftover>, NetworkError> {
        let _lock = self.lock()?;
        // This root's mark, and those its records were made with (should its path change).
        let mut marks = BTreeSet::from([self.mark()]);
        marks.extend(self.list()?.into_iter().map(|n| n.mark));
        marks.remove("");
        let rules = firewall::owned_rules(&marks)?;
        let records = self.list()?;
        let endpoints: Vec<_> = records.iter().flat_map(|n| self.endpoints(n)).collect();
        let bridges: BTreeSet<&str> = records.iter().map(|n| n.bridge.as_str()).collect();
        let published: BTreeSet<Ipv4Addr> = endpoints
            .iter()
            .filter(|ep| !ep.ports.is_empty())
            .map(|ep| ep.ip)
            .collect();
        let mut found = Vec::new();

        for rule in rules {
            let Some(why) = stray_rule(&rule, &bridges, &published) else {
                continue;
            };
            // Taken away meanwhile by the stop of its container: not a leftover.
            if !rule.exists() {
                continue;
            }
            let repaired = repair && rule.delete();
            found.push(Leftover {
                what: format!("netfilter rule `{}`: {why}", rule.describe()),
                repaired,
            });
        }

        let mut nl = Netlink::open().map_err(host("host", "cannot open netlink"))?;
        let links = nl
            .links()
            .map_err(host("host", "cannot list the host's links"))?;
        let ours: Vec<&Link> = links
            .iter()
            .filter(|l| l.bridge && l.alias.as_deref().is_some_and(|a| marked_by(a, &marks)))
            .collect();
        let linked: BTreeSet<&str> = endpoints.iter().map(|ep| ep.host_link.as_str()).collect();
        let mut strays: Vec<(String, String)> = links
            .iter()
            .filter(|l| !l.bridge && !linked.contains(l.name.as_str()))
            .filter_map(|l| {
                let bridge = ours.iter().find(|b| Some(b.index) == l.controller)?;
                Some((l.name.clone(), bridge.name.clone()))
            })
            .collect();
        let deadline = Instant::now() + VETH_GRACE;
        while !strays.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            strays.retain(|(name, _)| nl.link_index(name).ok().flatten().is_some());
        }
        for (name, bridge) in strays {
            let repaired = repair && delete(&mut nl, &name);
            found.push(Leftover {
                what: format!(
                    "veth {name} on bridge {bridge} belongs to no container of this root"
                ),
                repaired,
            });
        }
        for b in ours.iter().filter(|b| !bridges.contains(b.name.as_str())) {
            let repaired = repair && delete(&mut nl, &b.name);
            found.push(Leftover {
                what: format!("bridge {} is this root's, but no network has it", b.name),
                repaired,
            });
        }
        Ok(found)
    }
}

/// Why one of this root's rules belongs to nothing of it, if it does not.
fn stray_rule(
    rule: &firewall::Rule,
    bridges: &BTreeSet<&str>,
    published: &BTreeSet<Ipv4Addr>,
) -> Option<String> {
    let named = rule
        .values("-i")
        .chain(rule.values("-o"))
        .filter(|b| b.starts_with("dh-") && !b.ends_with('+'))
        .find(|b| !bridges.contains(b));
    if let Some(b) = named {
        return Some(format!("for bridge {b}, which no network of this root has"));
    }
    let target = rule
        .values("--to-destination")
        .filter_map(|d| d.split(':').next())
        .chain(rule.values("-s").filter_map(|s| s.strip_suffix("/32")))
        .filter_map(|ip| ip.parse::<Ipv4Addr>().ok())
        .find(|ip| !published.contains(ip));
    target.map(|ip| format!("for a port published by {ip}, which no container of this root has"))
}

/// Whether a bridge's alias starts with one of `marks`.
fn marked_by(alias: &str, marks: &BTreeSet<String>) -> bool {
    let mark = alias.split(' ').next().unwrap_or_default();
    marks.contains(mark)
}

/// Deletes the link called `name`; true when it is gone.
fn delete(nl: &mut Netlink, name: &str) -> bool {
    match nl.link_index(name) {
        Ok(Some(index)) => nl.delete_link(index).is_ok(),
        Ok(None) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> firewall::Rule {
        firewall::Rule {
            table: "nat",
            chain: "DOCKHAND",
            words: text.split(' ').map(str::to_string).collect(),
        }
    }

    #[test]
    fn a_rule_is_stray_when_its_bridge_or_its_container_is_unknown() {
        let bridges = BTreeSet::from(["dh-aaaaaaaaaaaa"]);
        let published = BTreeSet::from([Ipv4Addr::new(10, 1, 0, 2)]);
        let stray = |t: &str| stray_rule(&rule(t), &bridges, &published);
        assert_eq!(
            stray("-i dh-aaaaaaaaaaaa -o dh-aaaaaaaaaaaa -j ACCEPT"),
            None
        );
        assert_eq!(
            stray("-i dh-aaaaaaaaaaaa -o dh-+ -m conntrack ! --ctstate DNAT -j DROP"),
            None
        );
        assert!(
            stray("-s 10.2.0.0/24 ! -o dh-bbbbbbbbbbbb -j MASQUERADE")
                .unwrap()
                .contains("dh-bbbbbbbbbbbb")
        );
        assert_eq!(
            stray("-p tcp --dport 80 -j DNAT --to-destination 10.1.0.2:80"),
            None
        );
        assert_eq!(
            stray("-s 10.1.0.2/32 -d 10.1.0.2/32 -p tcp --dport 80 -j MASQUERADE"),
            None
        );
        assert!(
            stray("-p tcp --dport 80 -j DNAT --to-destination 10.1.0.3:80")
                .unwrap()
                .contains("10.1.0.3")
        );
        assert!(
            stray("-s 10.1.0.3/32 -d 10.1.0.3/32 -p tcp --dport 80 -j MASQUERADE")
                .unwrap()
                .contains("10.1.0.3")
        );
    }
}
