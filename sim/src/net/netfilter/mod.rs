//! Netfilter: the hooks a packet passes in the kernel's order, and what
//! iptables and nftables share there.
//!
//! ```text
//!                    (routing decision)
//! in -> PREROUTING ------+-----> FORWARD ----------+--> POSTROUTING -> out
//!       raw conntrack    |       mangle filter     |    mangle nat(SNAT)
//!       mangle nat(DNAT) v                         ^
//!                      INPUT                     OUTPUT
//!                      mangle filter             raw conntrack mangle
//!                      nat(SNAT)                 nat(DNAT) filter
//!                        |                         ^
//!                        v                         |
//!                    local socket            local process
//! ```
//! (net/netfilter/core.c `nf_hook_slow`, the hook priorities of
//! include/uapi/linux/netfilter_ipv4.h: raw -300, conntrack -200, mangle
//! -150, dst nat -100, filter 0, security 50, src nat 100; nftables base
//! chains sit among them by their own priority.)
//!
//! - [`iptables`]: tables, chains, matches and targets loaded from
//!   `iptables-save` text ([`iptables::parse`]) and evaluated in the kernel's
//!   order ([`iptables::eval`]).
//! - [`nftables`]: `nft -f` and `nft list ruleset` text, evaluated at the
//!   hooks by base-chain priority.
//! - [`conntrack`]: connection tracking; [`nat`]: NAT bindings and rewrites;
//!   [`hook`]: the walk of one hook through both.
//! - [`ipset`]: the sets `-m set` refers to.
//!
//! Here: the [`Hook`]s, the packet as the hooks see it ([`NfPacket`]), the
//! verdicts and NAT targets both engines return ([`Verdict`], [`Target`]),
//! and the step both record ([`NfStep`]).

pub mod conntrack;
pub mod ct_glue;
pub mod ct_list;
pub mod ct_sctp;
pub mod flowtable;
pub mod hook;
pub mod hook6;
pub mod ipset;
pub mod iptables;
pub mod l2hook;
pub mod l2reject;
pub mod mangle;
pub mod nat;
pub mod nfqueue;
pub mod nftables;
pub mod notes;
pub mod points;
pub mod sk;
pub mod synproxy;
pub mod synproxy_glue;
pub mod unmodelled;

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use ipset::IpsetStore;

pub use points::{Hook, L2Hook, TableKind};
pub use unmodelled::{Assume, Unmodelled};

pub use iptables::parse::ParseError;
pub use iptables::{
    Chain, Cond, CondKind, IfPattern, Policy, PortDir, RecentCmd, Rule, Ruleset, Table,
};

/// conntrack states as bits (`-m conntrack --ctstate`, `-m state --state`).
pub mod ctbits {
    pub const INVALID: u8 = 1;
    pub const NEW: u8 = 2;
    pub const ESTABLISHED: u8 = 4;
    pub const RELATED: u8 = 8;
    pub const UNTRACKED: u8 = 16;
    pub const SNAT: u8 = 32;
    pub const DNAT: u8 = 64;
}

/// Address types of `-m addrtype`, as bits.
pub mod addrtype {
    pub const UNSPEC: u16 = 1 << 0;
    pub const UNICAST: u16 = 1 << 1;
    pub const LOCAL: u16 = 1 << 2;
    pub const BROADCAST: u16 = 1 << 3;
    pub const ANYCAST: u16 = 1 << 4;
    pub const MULTICAST: u16 = 1 << 5;
    pub const BLACKHOLE: u16 = 1 << 6;
    pub const UNREACHABLE: u16 = 1 << 7;
    pub const PROHIBIT: u16 = 1 << 8;
    pub const THROW: u16 = 1 << 9;
    pub const NAT: u16 = 1 << 10;
    pub const XRESOLVE: u16 = 1 << 11;
    pub fn from_name(s: &str) -> Option<u16> {
        Some(match s {
            "UNSPEC" => UNSPEC,
            "UNICAST" => UNICAST,
            "LOCAL" => LOCAL,
            "BROADCAST" => BROADCAST,
            "ANYCAST" => ANYCAST,
            "MULTICAST" => MULTICAST,
            "BLACKHOLE" => BLACKHOLE,
            "UNREACHABLE" => UNREACHABLE,
            "PROHIBIT" => PROHIBIT,
            "THROW" => THROW,
            "NAT" => NAT,
            "XRESOLVE" => XRESOLVE,
            _ => return None,
        })
    }
}

/// How `REJECT` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectWith {
    IcmpNetUnreachable,
    IcmpHostUnreachable,
    IcmpPortUnreachable,
    IcmpProtoUnreachable,
    IcmpNetProhibited,
    IcmpHostProhibited,
    IcmpAdminProhibited,
    TcpReset,
    /// ip6tables' and nft's ICMPv6 answers (nf_reject_ipv6.c
    /// nf_send_unreach6): Destination Unreachable with this code (0 no
    /// route, 1 administratively prohibited, 3 address unreachable, 4
    /// port unreachable, 5 policy fail, 6 reject route).
    Icmp6(u8),
}

impl RejectWith {
    /// The ICMP destination-unreachable code this answer sends
    /// (ipt_REJECT.c reject_tg -> nf_reject_ipv4.c nf_send_unreach); for
    /// tcp-reset, the code of the ICMP answer podpath falls back to when a
    /// packet it cannot reset (not TCP) meets it.
    pub fn icmp_code(self) -> u8 {
        use crate::wire::icmp;
        match self {
            RejectWith::IcmpNetUnreachable => icmp::CODE_NET_UNREACH,
            RejectWith::IcmpHostUnreachable => icmp::CODE_HOST_UNREACH,
            RejectWith::IcmpProtoUnreachable => 2,
            RejectWith::IcmpNetProhibited => icmp::CODE_NET_PROHIBITED,
            RejectWith::IcmpHostProhibited => icmp::CODE_HOST_PROHIBITED,
            RejectWith::IcmpAdminProhibited => icmp::CODE_ADMIN_PROHIBITED,
            RejectWith::IcmpPortUnreachable | RejectWith::TcpReset | RejectWith::Icmp6(_) => {
                icmp::CODE_PORT_UNREACH
            }
        }
    }

    /// The ICMPv6 Destination Unreachable code this answer sends to an
    /// IPv6 packet: its own, or for an `icmpx` answer of nft's inet
    /// family the ICMPv6 one (nft_reject_icmpv6_code: port unreachable 4,
    /// host unreachable 3, no route 0, admin prohibited 1).
    pub fn icmp6_code(self) -> u8 {
        match self {
            RejectWith::Icmp6(c) => c,
            RejectWith::IcmpHostUnreachable => 3,
            RejectWith::IcmpNetUnreachable => 0,
            RejectWith::IcmpAdminProhibited
            | RejectWith::IcmpNetProhibited
            | RejectWith::IcmpHostProhibited => 1,
            _ => 4,
        }
    }

    /// An ip6tables `--reject-with` name (libip6t_REJECT.c).
    pub fn from_name6(s: &str) -> Option<RejectWith> {
        Some(match s {
            "icmp6-no-route" | "no-route" => RejectWith::Icmp6(0),
            "icmp6-adm-prohibited" | "adm-prohibited" => RejectWith::Icmp6(1),
            "icmp6-addr-unreachable" | "addr-unreach" => RejectWith::Icmp6(3),
            "icmp6-port-unreachable" | "port-unreach" => RejectWith::Icmp6(4),
            "icmp6-policy-fail" | "policy-fail" => RejectWith::Icmp6(5),
            "icmp6-reject-route" | "reject-route" => RejectWith::Icmp6(6),
            "tcp-reset" => RejectWith::TcpReset,
            _ => return None,
        })
    }

    pub fn from_name(s: &str) -> Option<RejectWith> {
        Some(match s {
            "icmp-net-unreachable" | "net-unreach" => RejectWith::IcmpNetUnreachable,
            "icmp-host-unreachable" | "host-unreach" => RejectWith::IcmpHostUnreachable,
            "icmp-port-unreachable" | "port-unreach" => RejectWith::IcmpPortUnreachable,
            "icmp-proto-unreachable" | "proto-unreach" => RejectWith::IcmpProtoUnreachable,
            "icmp-net-prohibited" | "net-prohib" => RejectWith::IcmpNetProhibited,
            "icmp-host-prohibited" | "host-prohib" => RejectWith::IcmpHostProhibited,
            "icmp-admin-prohibited" | "admin-prohib" => RejectWith::IcmpAdminProhibited,
            "tcp-reset" | "tcp-rst" => RejectWith::TcpReset,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            RejectWith::IcmpNetUnreachable => "icmp-net-unreachable",
            RejectWith::IcmpHostUnreachable => "icmp-host-unreachable",
            RejectWith::IcmpPortUnreachable => "icmp-port-unreachable",
            RejectWith::IcmpProtoUnreachable => "icmp-proto-unreachable",
            RejectWith::IcmpNetProhibited => "icmp-net-prohibited",
            RejectWith::IcmpHostProhibited => "icmp-host-prohibited",
            RejectWith::IcmpAdminProhibited => "icmp-admin-prohibited",
            RejectWith::TcpReset => "tcp-reset",
            RejectWith::Icmp6(0) => "icmp6-no-route",
            RejectWith::Icmp6(1) => "icmp6-adm-prohibited",
            RejectWith::Icmp6(3) => "icmp6-addr-unreachable",
            RejectWith::Icmp6(5) => "icmp6-policy-fail",
            RejectWith::Icmp6(6) => "icmp6-reject-route",
            RejectWith::Icmp6(_) => "icmp6-port-unreachable",
        }
    }
}

/// A NAT range: addresses and an optional port range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatRange {
    pub addr_lo: Option<std::net::IpAddr>,
    pub addr_hi: Option<std::net::IpAddr>,
    pub ports: Option<(u16, u16)>,
}

impl fmt::Display for NatRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(lo) = self.addr_lo {
            write!(f, "{lo}")?;
            if let Some(hi) = self.addr_hi {
                if hi != lo {
                    write!(f, "-{hi}")?;
                }
            }
        }
        if let Some((a, b)) = self.ports {
            if a == b {
                write!(f, ":{a}")?;
            } else {
                write!(f, ":{a}-{b}")?;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkOp {
    /// `--set-xmark value/mask`: mark = (mark & !mask) ^ value.
    SetXmark { value: u32, mask: u32 },
}

impl MarkOp {
    pub fn apply(self, mark: u32) -> u32 {
        match self {
            MarkOp::SetXmark { value, mask } => (mark & !mask) ^ value,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnmarkOp {
    Set(MarkOp),
    /// ctmark = (ctmark & !ctmask) ^ (mark & nfmask)
    Save {
        nfmask: u32,
        ctmask: u32,
    },
    /// mark = (mark & !nfmask) ^ (ctmark & ctmask)
    Restore {
        nfmask: u32,
        ctmask: u32,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Accept,
    Drop,
    Return,
    Reject(RejectWith),
    Dnat {
        to: NatRange,
        random: bool,
        persistent: bool,
    },
    Snat {
        to: NatRange,
        random: bool,
        random_fully: bool,
        persistent: bool,
    },
    Masquerade {
        ports: Option<(u16, u16)>,
        random: bool,
        random_fully: bool,
    },
    Redirect {
        ports: Option<(u16, u16)>,
    },
    Mark(MarkOp),
    Connmark(ConnmarkOp),
    Log {
        prefix: String,
    },
    Notrack,
    /// The other targets ([`iptables::targets::ExtTarget`]).
    Ext(Box<iptables::targets::ExtTarget>),
    /// `-j CHAIN`; `idx` is resolved after the table is read.
    Jump {
        chain: String,
        idx: usize,
    },
    /// `-g CHAIN`.
    Goto {
        chain: String,
        idx: usize,
    },
}

impl Target {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Target::Accept
                | Target::Drop
                | Target::Reject(_)
                | Target::Dnat { .. }
                | Target::Snat { .. }
                | Target::Masquerade { .. }
                | Target::Redirect { .. }
        )
    }
}

/// The packet as netfilter sees it at a hook.
#[derive(Clone, Debug)]
pub struct NfPacket {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub tcp_flags: Option<u8>,
    pub icmp: Option<(u8, u8)>,
    pub fragment: bool,
    pub in_if: Option<String>,
    pub out_if: Option<String>,
    pub physdev_in: Option<String>,
    pub physdev_out: Option<String>,
    pub bridged: bool,
    pub mark: u32,
    /// `ctbits` of the packet's conntrack entry (`UNTRACKED` when NOTRACK).
    pub ct_state: u8,
    pub ctmark: u32,
    /// The owner (uid) of the local socket that sent the packet
    /// (OUTPUT/POSTROUTING only).
    pub owner: Option<u32>,
    /// The IP header's TTL, TOS byte (DSCP << 2 | ECN) and total length.
    pub ttl: u8,
    pub tos: u8,
    pub len: u16,
    /// The source MAC of the frame it came in (PREROUTING, INPUT, FORWARD).
    pub src_mac: Option<[u8; 6]>,
    /// The packet's connection, as `-m conntrack` reads it.
    pub ct: Option<iptables::matches::CtView>,
    /// The TCP header's MSS option (kind 2), if it carries one (`TCPMSS`
    /// rewrites it; the hook writes it back into the header).
    pub tcp_mss: Option<u16>,
    /// The path MTU `TCPMSS --clamp-mss-to-pmtu` clamps to, at the hooks
    /// that know the route (FORWARD, OUTPUT, POSTROUTING): the smaller of
    /// the output device's MTU and that of the route back to the source
    /// (xt_TCPMSS.c: `min(dst_mtu(skb_dst(skb)), tcpmss_reverse_mtu())`).
    pub path_mtu: Option<u32>,
    /// The frame around the packet, at the hooks of the families that see
    /// frames (netdev, bridge, arp; `ether`, `arp` and `meta protocol`
    /// read it). None at the IPv4 hooks.
    pub l2: Option<L2View>,
    /// The frame carries no IPv4 packet (an ARP frame at a netdev, bridge
    /// or arp hook): `ip ...`, `tcp ...` and every other IPv4 selector
    /// fails its dependency (`meta protocol ip` / `ether type ip`).
    pub not_ip: bool,
    /// `fwd to DEV` (nft_fwd_netdev.c): the frame leaves out of DEV and
    /// the hook's verdict is NF_STOLEN.
    pub fwd: Option<String>,
    /// `fwd ip to ADDR device DEV` (nft_fwd_netdev.c nft_fwd_neigh_eval):
    /// the packet leaves out of DEV to neighbour ADDR (NF_STOLEN).
    pub fwd_neigh: Option<(Ipv4Addr, String)>,
    /// `dup to DEV` (nft_dup_netdev.c): copies sent out of DEV.
    pub dup: Vec<String>,
    /// The socket TPROXY assigned the packet to (`skb->sk`).
    pub sk: Option<sk::SkAssigned>,
    /// A SYNPROXY rule took the packet (the answer leaves after the walk).
    pub synproxy: Option<synproxy::SynproxyAct>,
    /// The conntrack helper the packet's connection has (nfct_help's
    /// helper->name: `ftp`, `sip`...), assigned by nft's `ct helper set`.
    pub ct_helper: Option<String>,
    /// Clones `-j TEE` asked for: (gateway, output device).
    pub dups: Vec<(Ipv4Addr, Option<String>)>,
    /// The connection's labels (`ct label`, nf_conn_labels: 128 bits).
    pub ct_labels: u128,
    /// An SCTP packet's chunks (first fragment): `-m sctp --chunk-types`
    /// and nft's `sctp chunk` read them. Empty for other packets.
    pub sctp_chunks: Vec<crate::wire::sctp::Chunk>,
    /// An IPv6 packet's source and destination (the IPv6 hooks): `src`
    /// and `dst` are then 0.0.0.0, and only IPv6 selectors read these
    /// (ip6tables `-s`/`-d`, nft `ip6 saddr`); `ttl` holds the hop limit,
    /// `tos` the traffic class, `icmp` the ICMPv6 type and code.
    pub ip6: Option<(std::net::Ipv6Addr, std::net::Ipv6Addr)>,
}

/// A frame's Ethernet header (and ARP body) as nft's link-layer payload
/// expressions read it. podpath's wire has no 802.1Q tags: `vlan ...`
/// never matches (its implicit dependency `ether type 8021q` fails, as in
/// the kernel on an untagged frame).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2View {
    pub src: [u8; 6],
    pub dst: [u8; 6],
    /// `skb->protocol` / `ether type`.
    pub ethertype: u16,
    pub arp: Option<ArpView>,
}

/// An Ethernet/IPv4 ARP header (include/uapi/linux/if_arp.h `struct
/// arphdr` and its addresses): htype 1, ptype 0x0800, hlen 6, plen 4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpView {
    pub op: u16,
    pub sha: [u8; 6],
    pub sip: Ipv4Addr,
    pub tha: [u8; 6],
    pub tip: Ipv4Addr,
}

impl Default for NfPacket {
    fn default() -> Self {
        NfPacket {
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::UNSPECIFIED,
            proto: 0,
            sport: None,
            dport: None,
            tcp_flags: None,
            icmp: None,
            fragment: false,
            in_if: None,
            out_if: None,
            physdev_in: None,
            physdev_out: None,
            bridged: false,
            mark: 0,
            ct_state: 0,
            ctmark: 0,
            owner: None,
            ttl: 64,
            tos: 0,
            len: 0,
            src_mac: None,
            ct: None,
            tcp_mss: None,
            path_mtu: None,
            l2: None,
            not_ip: false,
            fwd: None,
            fwd_neigh: None,
            dup: Vec::new(),
            sk: None,
            synproxy: None,
            ct_helper: None,
            dups: Vec::new(),
            ct_labels: 0,
            sctp_chunks: Vec::new(),
            ip6: None,
        }
    }
}

/// Classifies addresses for `-m addrtype` (a lookup in the host's local table).
pub trait AddrClass {
    /// The `addrtype` bits of `addr`; `dev` limits the lookup to one interface
    /// (`--limit-iface-in/out`).
    fn addr_type(&self, addr: Ipv4Addr, dev: Option<&str>) -> u16;

    /// The `addrtype` bits of an IPv6 address (xt_addrtype.c
    /// `match_type6`: multicast, unicast and unspecified from
    /// `ipv6_addr_type`, LOCAL from the host's addresses, on `dev` only
    /// with `--limit-iface-*`: `ipv6_chk_addr`). Without the host's
    /// addresses: never LOCAL.
    fn addr_type6(&self, addr: std::net::Ipv6Addr, _dev: Option<&str>) -> u16 {
        if addr.is_unspecified() {
            addrtype::UNSPEC
        } else if addr.is_multicast() {
            addrtype::MULTICAST
        } else {
            addrtype::UNICAST
        }
    }

    /// The route back to `src` (`-m rpfilter`'s reverse lookup, from
    /// `saddr` with `mark`): (unicast, local, device), None when there is
    /// none.
    fn reverse_route(
        &self,
        _src: Ipv4Addr,
        _saddr: Option<Ipv4Addr>,
        _mark: u32,
    ) -> Option<(bool, bool, Option<String>)> {
        None
    }

    /// The conntrack entries whose original source (`daddr`: destination)
    /// is `addr` under a prefix of `mask` bits (`-m connlimit`).
    fn conn_count(&self, _addr: Ipv4Addr, _mask: u8, _daddr: bool) -> u32 {
        0
    }

    /// The device's group (`ip link set DEV group N`, `-m devgroup`).
    fn dev_group(&self, _dev: &str) -> u32 {
        0
    }

    /// The bridge `dev` is a port of (its master), None when it is no
    /// bridge port (nft_meta_get_bridge).
    fn dev_master(&self, _dev: &str) -> Option<String> {
        None
    }

    /// The local socket of the tuple `q` ([`sk::SkLookup`] says which
    /// kinds count), as nf_tproxy_get_sock_v4 and nf_sk_lookup_slow_v4
    /// find it; None when there is none.
    fn sk_lookup(&self, _q: &sk::SkQuery, _how: sk::SkLookup) -> Option<sk::SkInfo> {
        None
    }

    /// The first primary address of device `dev` (nf_tproxy_laddr4).
    fn primary_addr(&self, _dev: &str) -> Option<Ipv4Addr> {
        None
    }
}

/// Where a rule sits, for choosers and trace steps.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleRef {
    pub table: TableKind,
    pub chain: String,
    /// 1-based position in the chain.
    pub rule: usize,
}

/// Makes the random choices of `-m statistic --mode random`.
pub trait Chooser {
    /// Returns whether the rule's random test holds. The kernel draws a 31-bit
    /// random value and matches when it is below `threshold`.
    fn statistic_random(&mut self, at: &RuleRef, probability: f64, threshold: u32) -> bool;
}

/// The kernel's choice, drawn from a host's seeded ChaCha stream.
pub struct RngChooser<'a>(pub &'a mut ChaCha8Rng);

impl Chooser for RngChooser<'_> {
    fn statistic_random(&mut self, _at: &RuleRef, _p: f64, threshold: u32) -> bool {
        (self.0.next_u32() & 0x7fff_ffff) < threshold
    }
}

/// A chooser that follows a script of outcomes and records every decision;
/// used to enumerate all branches (`podpath paths`, conformance replay).
#[derive(Default, Debug, Clone)]
pub struct ScriptChooser {
    pub script: Vec<bool>,
    pub pos: usize,
    /// Every decision made: where, the probability, and the outcome.
    pub taken: Vec<(RuleRef, f64, bool)>,
}

impl Chooser for ScriptChooser {
    fn statistic_random(&mut self, at: &RuleRef, p: f64, threshold: u32) -> bool {
        let outcome = if self.pos < self.script.len() {
            self.script[self.pos]
        } else {
            // Unscripted decisions take the "match" branch when it can happen.
            threshold > 0
        };
        self.pos += 1;
        self.taken.push((at.clone(), p, outcome));
        outcome
    }
}

/// Mutable per-host netfilter state: nth counters, `recent` lists, ipsets.
#[derive(Clone, Debug, Default)]
pub struct NfState {
    nth: BTreeMap<(TableKind, usize, usize), u32>,
    /// `limit` buckets, by rule: (credit, last refill), in virtual ns.
    limit: BTreeMap<(TableKind, usize, usize), (u64, u64)>,
    /// `recent` lists: name -> address -> hit times (virtual ns).
    pub recent: BTreeMap<String, BTreeMap<Ipv4Addr, Vec<u64>>>,
    /// `hashlimit` buckets, by (name, hashed key): (credit, last refill).
    pub(crate) hashlimit: BTreeMap<(String, Vec<u8>), (u64, u64)>,
    /// The ipsets, shared between copies of the host until one changes
    /// them (`-j SET`, a resync): a match only reads them.
    pub ipsets: std::sync::Arc<IpsetStore>,
    /// The queues programs listen on (nfnetlink_queue), by number.
    pub nfqueue: BTreeMap<u16, nfqueue::QueueBinding>,
}

/// Everything evaluation needs beside the packet.
pub struct EvalEnv<'a> {
    pub addr: &'a dyn AddrClass,
    pub chooser: &'a mut dyn Chooser,
    pub state: &'a mut NfState,
    pub now_ns: u64,
    /// What an unmodelled match is taken to do (`--assume-unmodelled`).
    pub assume: Assume,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Reject(RejectWith),
}

/// Whose rule a step is: an iptables table's, an nftables table's (by
/// family and name, `ip kube-proxy`), or IPVS's (a virtual service that
/// made a NAT binding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepTable {
    Iptables(TableKind),
    Nft(String),
    Ipvs,
}

/// One thing that happened in a hook, for the trace: the one step type of
/// both engines (iptables and nftables) and of IPVS's bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NfStep {
    pub table: StepTable,
    pub chain: String,
    /// 1-based rule number; 0 for the policy.
    pub rule: usize,
    /// Source line of the rule (0 when unknown).
    pub line: usize,
    /// The rule as written (after `-A CHAIN`), or "policy ACCEPT".
    pub text: String,
    /// What it did: "jump KUBE-SVC-...", "DNAT", "mark 0x0 -> 0x4000", ...
    pub effect: String,
}

impl NfStep {
    /// The chain as messages name it: `KUBE-SERVICES`, or for nftables
    /// with its table, `ip kube-proxy services`.
    pub fn chain_label(&self) -> String {
        match &self.table {
            StepTable::Nft(t) => format!("{t} {}", self.chain),
            _ => self.chain.clone(),
        }
    }
}

/// An nft `flow add|offload @NAME` that ran: the flowtable (its table,
/// name and devices).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowOffloadReq {
    /// `ip filter`, as steps name a table.
    pub table: String,
    pub name: String,
    pub devices: Vec<String>,
}

/// The result of running one hook of one table (or of nftables' base
/// chains at a hook): the one outcome type of both engines.
#[derive(Clone, Debug)]
pub struct HookOutcome {
    pub verdict: Verdict,
    /// The NAT target that ended the walk, if any.
    pub nat: Option<Target>,
    pub notrack: bool,
    /// A `flow add @FT` statement ran: the host tries to offload the
    /// connection (nft_flow_offload_eval's conditions are the host's).
    pub flow_offload: Option<FlowOffloadReq>,
    pub steps: Vec<NfStep>,
    /// Rules whose conditions were tested.
    pub rules_tested: usize,
    /// The walk stopped at a queueing verdict whose queue has a listener
    /// (the hook resumes after the listener's verdict: [`nfqueue`]).
    pub queued: Option<nfqueue::QueueReq>,
    /// What the queue's listener did, for the trace.
    pub queue: nfqueue::QueueTrace,
}

impl HookOutcome {
    /// Accepted, nothing done.
    pub fn accept() -> HookOutcome {
        HookOutcome {
            verdict: Verdict::Accept,
            nat: None,
            notrack: false,
            flow_offload: None,
            steps: Vec::new(),
            rules_tested: 0,
            queued: None,
            queue: nfqueue::QueueTrace::default(),
        }
    }
}
