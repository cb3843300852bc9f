//! A small synchronous rtnetlink client: netlink-packet-route's messages over a netlink-sys
//! socket (the crates libcontainer already builds). Links — a bridge, a veth pair whose peer
//! is made directly inside a container's network namespace, up, a bridge port, delete —,
//! IPv4 addresses and the default route. A netlink socket acts in the network namespace it was
//! made in, so the one for a container's namespace is made by a short-lived thread that
//! entered it.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_ROUTE;

/// What a link dump tells of one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its index.
    pub index: u32,
    /// Its name.
    pub name: String,
    /// Its alias (`ip link set … alias`), where it has one.
    pub alias: Option<String>,
    /// Whether it is a bridge.
    pub bridge: bool,
    /// The index of the bridge it is a port of.
    pub controller: Option<u32>,
}

/// An rtnetlink socket in one network namespace.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

fn bad(what: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("netlink: {what}"))
}

impl Netlink {
    /// A socket in this process's network namespace.
    pub fn open() -> io::Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }

    /// A socket in the network namespace `netns` (an open namespace file).
    pub fn open_in(netns: BorrowedFd<'_>) -> io::Result<Netlink> {
        in_namespace(netns, Netlink::open)
    }

    /// Sends `message` and collects the replies until the kernel's acknowledgement; a
    /// refusal is the errno the kernel gave.
    fn call(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut request = NetlinkMessage::from(message);
        self.sequence += 1;
        request.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        request.header.sequence_number = self.sequence;
        request.finalize();
        let mut buf = vec![0; request.header.length as usize];
        request.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let mut replies = Vec::new();
        let mut receive = vec![0u8; 32 * 1024];
        loop {
            let n = self.socket.recv(&mut &mut receive[..], 0)?;
            let mut offset = 0;
            while offset < n {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&receive[offset..n])
                    .map_err(bad)?;
                let length = reply.header.length as usize;
                if reply.header.sequence_number == self.sequence {
                    match reply.payload {
                        NetlinkPayload::Error(e) => {
                            return match e.code {
                                None => Ok(replies),
                                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                            };
                        }
                        NetlinkPayload::Done(_) => return Ok(replies),
                        NetlinkPayload::InnerMessage(m) => replies.push(m),
                        _ => {}
                    }
                }
                if length == 0 {
                    break;
                }
                offset += length;
            }
        }
    }

    /// The index of the link called `name`, if there is one.
    pub fn link_index(&mut self, name: &str) -> io::Result<Option<u32>> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.call(RouteNetlinkMessage::GetLink(m), 0) {
            Ok(replies) => Ok(replies.into_iter().find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(nix::libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        let replies = self.call(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .map(|l| {
                let mut link = Link {
                    index: l.header.index,
                    name: String::new(),
                    alias: None,
                    bridge: false,
                    controller: None,
                };
                for a in l.attributes {
                    match a {
                        LinkAttribute::IfName(n) => link.name = n,
                        LinkAttribute::IfAlias(a) => link.alias = Some(a),
                        LinkAttribute::Controller(c) => link.controller = Some(c),
                        LinkAttribute::LinkInfo(info) => {
                            link.bridge |= info
                                .iter()
                                .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge)));
                        }
                        _ => {}
                    }
                }
                link
            })
            .collect())
    }

    /// Sets link `index`'s alias (what `ip link` shows as `alias`).
    pub fn set_alias(&mut self, index: u32, alias: &str) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes.push(LinkAttribute::IfAlias(alias.to_string()));
        self.call(RouteNetlinkMessage::SetLink(m), 0).map(drop)
    }

    /// Makes a bridge called `name`.
    pub fn add_bridge(&mut self, name: &str) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.call(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// Makes a veth pair: `host` here, and `peer` with MAC address `mac` inside the network
    /// namespace `netns`.
    pub fn add_veth(
        &mut self,
        host: &str,
        peer: &str,
        mac: &[u8],
        netns: BorrowedFd<'_>,
    ) -> io::Result<()> {
        let mut p = LinkMessage::default();
        p.attributes.push(LinkAttribute::IfName(peer.to_string()));
        p.attributes.push(LinkAttribute::Address(mac.to_vec()));
        p.attributes.push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(host.to_string()));
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
        ]));
        self.call(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// Sets link `index` up, and makes it a port of the bridge `controller` when given.
    pub fn set_up(&mut self, index: u32, controller: Option<u32>) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        if let Some(c) = controller {
            m.attributes.push(LinkAttribute::Controller(c));
        }
        self.call(RouteNetlinkMessage::SetLink(m), 0).map(drop)
    }

    /// Deletes link `index` (a veth's peer goes with it).
    pub fn delete_link(&mut self, index: u32) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        self.call(RouteNetlinkMessage::DelLink(m), 0).map(drop)
    }

    /// Gives link `index` the address `ip/prefix`.
    pub fn add_address(&mut self, index: u32, ip: Ipv4Addr, prefix: u8) -> io::Result<()> {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = prefix;
        m.header.index = index;
        let broadcast =
            Ipv4Addr::from(u32::from(ip) | (u32::MAX.checked_shr(prefix.into()).unwrap_or(0)));
        m.attributes.push(AddressAttribute::Local(IpAddr::V4(ip)));
        m.attributes.push(AddressAttribute::Address(IpAddr::V4(ip)));
        m.attributes.push(AddressAttribute::Broadcast(broadcast));
        match self.call(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Err(e) if e.raw_os_error() == Some(nix::libc::EEXIST) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Routes everything not on a link through `gateway`.
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> io::Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Boot;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        self.call(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }
}

/// Runs `f` on a short-lived thread that entered the network namespace `netns`: what it
/// makes there (a socket) stays in that namespace, and this process stays where it is.
pub fn in_namespace<T: Send + 'static>(
    netns: BorrowedFd<'_>,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let fd = netns.try_clone_to_owned()?;
    std::thread::spawn(move || -> io::Result<T> {
        rustix::thread::move_into_link_name_space(
            fd.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )?;
        f()
    })
    .join()
    .unwrap_or_else(|_| Err(bad("the thread entering a network namespace panicked")))
}

/// A new network namespace, held by the returned file (it lives while a process is in it or
/// a file of it is open). Made by a short-lived thread, so this process stays where it is.
pub fn new_namespace() -> io::Result<OwnedFd> {
    std::thread::spawn(|| -> io::Result<OwnedFd> {
        rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET)?;
        Ok(std::fs::File::open("/proc/thread-self/ns/net")?.into())
    })
    .join()
    .unwrap_or_else(|_| Err(bad("the thread making a network namespace panicked")))
}
