//! A host's IPv6 state beside its devices: addresses, tables,
//! neighbours, path MTUs, reassembly queues.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use crate::net::host::Meta;
use crate::net::neigh::table::Nud;
use crate::wire::{Ipv6Repr, Mac};

use super::addrconf::Inet6Addr;
use super::frag;
use super::route::Fib6;

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

/// A bridged-DNAT IPv6 packet sent through the bridge's neighbour output
/// (br_nf_pre_routing_finish_bridge): the port it came in on, its frame's
/// source, its netfilter state.
#[derive(Clone, Debug)]
pub struct BridgedDnat6 {
    pub physin: usize,
    pub src_mac: Mac,
    pub nf: crate::net::netfilter::hook6::Nf6,
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
    /// Redirects taken (`rt6_do_redirect`'s route exceptions): destination
    /// -> (device, first hop). Simplification: they never expire.
    pub redirects: BTreeMap<Ipv6Addr, (usize, Ipv6Addr)>,
    /// Packets released from the neighbour queue: packet id -> (device,
    /// next hop), transmitted as they are.
    pub resume: BTreeMap<u64, (usize, Ipv6Addr)>,
    /// Bridged-DNAT packets waiting in the neighbour queue of a bridge
    /// (see `net::bridge_nf6`): packet id -> where they came from.
    pub bridged: BTreeMap<u64, BridgedDnat6>,
    /// Packets (by id) sent with the flow label they carry, no automatic
    /// one (`nf_send_reset6` builds its header with label 0 and calls
    /// `ip6_local_out`).
    pub raw_out: std::collections::BTreeSet<u64>,
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
