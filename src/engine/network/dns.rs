//! Names on a user-defined network, served without a daemon: each container's monitor answers
//! DNS on 127.0.0.11:53 inside that container's network namespace (a UDP socket opened there
//! by a short-lived thread), from its poll loop. A name, alias or short id of a container on
//! a network it shares with this one (read from the endpoint records at each query, so it
//! follows containers as they come, go, connect and disconnect) gets an A record; any other name is forwarded, from the host's
//! namespace, to the host's resolvers or the container's `--dns` servers — loopback ones
//! included, since the forwarding socket is the host's (as Docker's embedded server does).
//!
//! The wire format is read only as far as answering needs: the header and the first question
//! (RFC 1035 §4.1); a forwarded query is passed through as it came, with its id rewritten.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use super::NetworkStore;
use super::netlink::in_namespace;

/// Where the server listens in the container.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

/// How long an answer may be kept (Docker's embedded server says 600).
const TTL: u32 = 600;
/// How long a forwarded query waits for its answer.
const FORWARD_WAIT: Duration = Duration::from_secs(5);

const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
const RCODE_SERVFAIL: u8 = 2;

/// A query read off the wire.
#[derive(Debug, PartialEq, Eq)]
struct Query {
    id: u16,
    /// The name, lowercase, without the final dot.
    name: String,
    qtype: u16,
    qclass: u16,
    /// Where the question ends in the packet.
    question_end: usize,
}

fn parse(packet: &[u8]) -> Option<Query> {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return None;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let questions = u16::from_be_bytes([packet[4], packet[5]]);
    if questions == 0 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *packet.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = packet.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]);
    let qclass = u16::from_be_bytes([*packet.get(at + 2)?, *packet.get(at + 3)?]);
    Some(Query {
        id,
        name: labels.join("."),
        qtype,
        qclass,
        question_end: at + 4,
    })
}

/// An answer to `q` (whose packet is `packet`): the address for an A question, none for any
/// other type of a name we know (NOERROR, as for a name without such records).
fn answer(packet: &[u8], q: &Query, ip: Option<Ipv4Addr>) -> Vec<u8> {
    let mut out = packet[..q.question_end].to_vec();
    // QR, the query's opcode and RD; RA; NOERROR.
    out[2] = 0x80 | (packet[2] & 0x79);
    out[3] = 0x80;
    let answers: u16 = u16::from(ip.is_some());
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    out[6..8].copy_from_slice(&answers.to_be_bytes());
    out[8..12].fill(0);
    if let Some(ip) = ip {
        out.extend_from_slice(&[0xC0, 0x0C]);
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&ip.octets());
    }
    out
}

/// A failure answer to `q`.
fn failure(packet: &[u8], q: &Query, rcode: u8) -> Vec<u8> {
    let mut out = answer(packet, q, None);
    out[3] = 0x80 | rcode;
    out
}

/// A query forwarded and not yet answered.
struct Pending {
    client: SocketAddr,
    id: u16,
    since: Instant,
}

/// The DNS server of one container.
pub struct Dns {
    inside: UdpSocket,
    outside: UdpSocket,
    store: NetworkStore,
    /// The container served.
    container: String,
    upstreams: Vec<SocketAddr>,
    pending: HashMap<u16, Pending>,
    next_id: u16,
}

impl Dns {
    /// Listens on 127.0.0.11:53 in `netns`, answering from the endpoints of the networks
    /// `container` is on and forwarding the rest to `upstreams` (name server addresses).
    pub fn bind(
        netns: BorrowedFd<'_>,
        store: NetworkStore,
        container: &str,
        upstreams: &[std::net::IpAddr],
    ) -> std::io::Result<Dns> {
        let inside = in_namespace(netns, || UdpSocket::bind(SocketAddrV4::new(ADDRESS, 53)))?;
        inside.set_nonblocking(true)?;
        let outside = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        outside.set_nonblocking(true)?;
        Ok(Dns {
            inside,
            outside,
            store,
            container: container.to_string(),
            upstreams: upstreams
                .iter()
                .map(|ip| SocketAddr::new(*ip, 53))
                .collect(),
            pending: HashMap::new(),
            next_id: (std::process::id() as u16).wrapping_mul(7919),
        })
    }

    /// The sockets to poll.
    pub fn sources(&self) -> [BorrowedFd<'_>; 2] {
        [self.inside.as_fd(), self.outside.as_fd()]
    }

    /// Serves what is ready on source `i` of [`Dns::sources`].
    pub fn ready(&mut self, i: usize) {
        let mut buf = [0u8; 4096];
        if i == 0 {
            while let Ok((n, from)) = self.inside.recv_from(&mut buf) {
                self.query(&buf[..n], from);
            }
        } else {
            while let Ok((n, _)) = self.outside.recv_from(&mut buf) {
                self.reply(&mut buf[..n]);
            }
        }
        self.pending.retain(|_, p| p.since.elapsed() < FORWARD_WAIT);
    }

    /// The address of a container called `name` (name, alias or short id) on a network this
    /// one is on: its address there.
    fn lookup(&self, name: &str) -> Option<Ipv4Addr> {
        self.store
            .networks_of(&self.container)
            .into_iter()
            .flat_map(|(n, _)| self.store.endpoints(&n))
            .find(|e| {
                e.name.eq_ignore_ascii_case(name)
                    || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
                    || (name.len() == 12 && e.container.starts_with(name))
            })
            .map(|e| e.ip)
    }

    fn query(&mut self, packet: &[u8], from: SocketAddr) {
        let Some(q) = parse(packet) else {
            return;
        };
        if q.qclass == CLASS_IN {
            if let Some(ip) = self.lookup(&q.name) {
                let ip = (q.qtype == TYPE_A).then_some(ip);
                let _ = self.inside.send_to(&answer(packet, &q, ip), from);
                return;
            }
        }
        let Some(upstream) = self.upstreams.first().copied() else {
            let _ = self
                .inside
                .send_to(&failure(packet, &q, RCODE_SERVFAIL), from);
            return;
        };
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let mut forwarded = packet.to_vec();
        forwarded[..2].copy_from_slice(&id.to_be_bytes());
        if self.outside.send_to(&forwarded, upstream).is_ok() {
            self.pending.insert(
                id,
                Pending {
                    client: from,
                    id: q.id,
                    since: Instant::now(),
                },
            );
        } else {
            let _ = self
                .inside
                .send_to(&failure(packet, &q, RCODE_SERVFAIL), from);
        }
    }

    fn reply(&mut self, packet: &mut [u8]) {
        if packet.len() < 12 {
            return;
        }
        let id = u16::from_be_bytes([packet[0], packet[1]]);
        if let Some(p) = self.pending.remove(&id) {
            packet[..2].copy_from_slice(&p.id.to_be_bytes());
            let _ = self.inside.send_to(packet, p.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name`, type `qtype`, id 0x1234, recursion desired.
    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            p.push(label.len() as u8);
            p.extend_from_slice(label.as_bytes());
        }
        p.push(0);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&CLASS_IN.to_be_bytes());
        p
    }

    #[test]
    fn queries_are_read_and_answered_on_the_wire() {
        let p = query("Web.Example", TYPE_A);
        let q = parse(&p).unwrap();
        assert_eq!(
            (q.id, q.name.as_str(), q.qtype),
            (0x1234, "web.example", TYPE_A)
        );
        let a = answer(&p, &q, Some(Ipv4Addr::new(10, 89, 0, 2)));
        assert_eq!(&a[..2], &[0x12, 0x34]);
        assert_eq!(a[2] & 0x80, 0x80, "a response");
        assert_eq!(a[3] & 0x0F, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1, "one answer");
        assert_eq!(&a[a.len() - 4..], &[10, 89, 0, 2]);
        let none = answer(&p, &q, None);
        assert_eq!(u16::from_be_bytes([none[6], none[7]]), 0);
        assert_eq!(failure(&p, &q, RCODE_SERVFAIL)[3] & 0x0F, 2);
        // Answers, truncated packets and label overruns are not queries.
        assert!(parse(&a).is_none());
        assert!(parse(&p[..14]).is_none());
        let mut long = p.clone();
        long[12] = 64;
        assert!(parse(&long).is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_packet_is_read_or_refused_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Some(q) = parse(&bytes) {
                let _ = answer(&bytes, &q, Some(Ipv4Addr::LOCALHOST));
            }
        }
    }
}
