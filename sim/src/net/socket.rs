//! Sockets: what the stack tells the programs on a host, and who they are.
//!
//! The stack keeps socket tables (TCP listeners and connections, UDP ports,
//! ICMP echo ids, raw sockets) keyed by an [`Owner`], the program's handle,
//! and reports to it through [`SocketEvent`]s; it never runs the program.
//! The programs live beside the host (the world keeps them, as turmoil
//! keeps its hosts' software apart from the network), and act on the host
//! through its socket calls (`tcp_connect`, `tcp_send`, `udp_send`, ...).

use std::net::Ipv4Addr;

use super::tcp::sock::ConnKey;
use crate::wire::icmp::IcmpRepr;

/// A program's handle on its host: the index the world keeps it under.
pub type Owner = usize;

/// What the stack knows of a socket's owner: its name for the trace
/// (`haproxy ext-lb`) and the uid it runs as (`-m owner`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerInfo {
    pub name: String,
    pub uid: u32,
}

/// An event for a socket's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketEvent {
    /// `connect()` completed.
    Connected {
        key: ConnKey,
    },
    /// A connection was accepted on a listening socket; `orig_dst` is what
    /// `getsockopt(SO_ORIGINAL_DST)` returns: the destination before a
    /// REDIRECT or DNAT, from the connection's conntrack entry.
    Accepted {
        key: ConnKey,
        orig_dst: Option<(Ipv4Addr, u16)>,
        /// the trace flow the connection's packets belong to
        flow: u32,
    },
    Data {
        key: ConnKey,
        data: Vec<u8>,
    },
    /// The peer's FIN: no more data.
    Eof {
        key: ConnKey,
    },
    Closed {
        key: ConnKey,
    },
    Reset {
        key: ConnKey,
    },
    /// `connect()` failed: RST, or an ICMP error.
    Refused {
        key: ConnKey,
        why: String,
    },
    /// Gave up: `tries` SYNs unanswered (`data` false, ETIMEDOUT from
    /// connect) or `tries` retransmissions of data unanswered (`data` true).
    TimedOut {
        key: ConnKey,
        tries: u32,
        data: bool,
    },
    /// A UDP datagram for a bound port.
    Datagram {
        from: (std::net::IpAddr, u16),
        to: (std::net::IpAddr, u16),
        data: Vec<u8>,
        flow: u32,
        pkt: u64,
    },
    /// An ICMP message for a ping socket (echo reply, or an error quoting
    /// its request).
    Icmp {
        from: Ipv4Addr,
        msg: IcmpRepr,
        ttl: u8,
    },
    /// An ICMPv6 message for a ping socket.
    Icmp6 {
        from: std::net::Ipv6Addr,
        msg: crate::wire::icmpv6::Icmpv6Repr,
        hlim: u8,
    },
    /// A datagram of another IP protocol for a raw socket (VRRP).
    Raw {
        dev: usize,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        proto: u8,
        data: Vec<u8>,
        pkt: u64,
    },
}
