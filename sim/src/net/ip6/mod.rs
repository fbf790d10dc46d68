//! The IPv6 layer, one file per part of the walk, in the kernel's order
//! (net/ipv6/):
//!
//! ```text
//! ipv6_rcv (input): disable_ipv6, martians, hop-by-hop options
//!   -> route input (ip -6 route: local, main)
//!   local:   reassembly -> ICMPv6 (echo, errors, ND) / UDP / TCP
//!   forward: ip6_forward: forwarding, hop limit, scope, MTU (Packet Too
//!            Big: routers never fragment) -> neighbour
//! ip6_output (locally generated): route output, source address
//!   selection (RFC 6724), path MTU per destination, fragmentation by the
//!   source -> neighbour discovery (ndisc) -> device
//! ```
//!
//! Files: [`addrconf`] (addresses, link-local, states), [`addrsel`]
//! (source selection), [`route`] (tables), [`ndisc`] (neighbour
//! discovery), [`input`], [`forward`], [`output`], [`icmp`] (ICMPv6
//! errors and echo), [`frag`] (fragmentation and reassembly).
//!
//! Simplifications (listed by `podpath explain`): ip6tables and nftables
//! `ip6`/`inet` tables are not run on IPv6 packets and there is no
//! conntrack for IPv6 (no NAT66) yet; TCP and UDP over IPv6 have no
//! sockets (TCP gets the kernel's RST, UDP port unreachable); router
//! advertisements are parsed and shown, not acted on (no SLAAC, no
//! default router from RA); no ICMPv6 rate limit; only the default
//! `ip -6 rule`s.

pub mod addrconf;
pub mod addrsel;
pub mod forward;
pub mod frag;
pub mod icmp;
pub mod input;
pub mod ndisc;
pub mod output;
pub mod route;

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use crate::net::host::Meta;
use crate::net::neigh::table::Nud;
use crate::wire::{Ipv6Repr, Mac};

pub use addrconf::Inet6Addr;
pub use route::{Fib6, Route6};

/// A neighbour (RFC 4861 §7.3): what ndisc knows of an address on a link.
#[derive(Clone, Debug)]
pub struct Neigh6 {
    pub mac: Option<Mac>,
    pub state: Nud,
    pub updated_ns: u64,
    pub probes: u32,
    /// The IsRouter flag of its last advertisement.
    pub router: bool,
    /// Packets waiting for the address to resolve.
    pub queue: Vec<(Ipv6Repr, Meta)>,
    pub last_use: Option<Meta>,
}

/// A host's IPv6 state beside its devices.
#[derive(Clone, Debug, Default)]
pub struct Ip6 {
    /// Addresses per device index, in the order added.
    pub addrs: BTreeMap<usize, Vec<Inet6Addr>>,
    pub fib: Fib6,
    pub neigh: BTreeMap<(usize, Ipv6Addr), Neigh6>,
    /// Path MTUs learnt from Packet Too Big, per destination (the route
    /// exceptions `rt6_insert_exception` makes; `ip -6 route get` shows
    /// them as `mtu N`). Simplification: they never expire
    /// (`mtu_expires`, 600 s).
    pub pmtu: BTreeMap<Ipv6Addr, u32>,
    /// Fragments being reassembled.
    pub reasm: frag::Reassembly,
    /// The next fragment identification.
    pub frag_id: u32,
    /// Packets released from the neighbour queue: packet id -> (device,
    /// next hop), transmitted as they are.
    pub resume: BTreeMap<u64, (usize, Ipv6Addr)>,
}

impl Ip6 {
    /// Every address with its device.
    pub fn all(&self) -> Vec<(usize, &Inet6Addr)> {
        self.addrs
            .iter()
            .flat_map(|(d, v)| v.iter().map(move |a| (*d, a)))
            .collect()
    }

    /// The device holding `a` as a usable address.
    pub fn local_dev(&self, a: Ipv6Addr) -> Option<usize> {
        self.all()
            .into_iter()
            .find(|(_, x)| x.addr() == a && x.usable())
            .map(|(d, _)| d)
    }

    /// Whether `a` is an address of this host (any state).
    pub fn holds(&self, a: Ipv6Addr) -> Option<&Inet6Addr> {
        self.addrs.values().flatten().find(|x| x.addr() == a)
    }
}
