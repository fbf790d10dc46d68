//! nftables: `nft -f` scripts and `nft list ruleset` output, read along
//! nftables' own grammar (src/parser_bison.y: `input` → `line` → commands
//! (`add|create|insert|replace|delete|destroy|flush|list ...`) and
//! `table_block` → `chain_block`/`set_block`/`map_block`/
//! `flowtable_block`/object blocks; a rule is `rule_alloc`: expressions and
//! statements) and evaluated at the netfilter hooks.
//!
//! - [`lex`]: the scanner (src/scanner.l): words, quoted strings, braces,
//!   comments (`# handle N` of `nft -a` included);
//! - [`script`]: the command and block level, `define`/`$var`, `include`
//!   (through an [`IncludeReader`], resolved as scanner.l's
//!   `scanner_include_file`), `flush`/`delete`;
//! - [`expr`]: selectors (payload, meta, ct, fib, numgen ...) and values
//!   typed by what they are compared with (addresses v4/v6, ports, names,
//!   ranges, prefixes, concatenations, interface-name and string keys);
//! - [`stmt`]: a rule's statements (verdicts, NAT with maps and
//!   concatenations, redirect, tproxy, limit, quota, counter, log, queue,
//!   reject with every type, meta/ct set, set updates, objects by name);
//! - [`eval`]: the base chains at the hooks.
//!
//! Every family is read and kept (`ip`, `ip6`, `inet`, `bridge`, `netdev`,
//! `arp`). Base chains of `ip` and `inet` run at their hook ordered by
//! priority. Relative to the iptables tables (raw -300, mangle -150, nat
//! -100/100, filter 0) a base chain runs in the slot of the iptables table
//! its priority falls in: a nat chain with the nat table (before it when
//! its priority is lower), a filter chain after the last table whose
//! priority is not above its own; at equal priority the iptables table runs
//! first (the kernel orders equal priorities by registration).
//!
//! Simplifications (listed by `podpath explain`): IPv4 only: `ip6` tables
//! are kept and never see a packet (podpath sends IPv4), `ip6 ...` matches
//! in `inet` tables never hold for IPv4 (their `meta nfproto ipv6`
//! dependency fails, as in the kernel); `netdev`, `bridge` and `arp` base
//! chains (and `inet` ingress chains) run at the frame hooks
//! ([`super::l2hook`], [`super::L2Hook`]) with their own simplifications;
//! `numgen random mod N` draws as a cascade of 1/(N-i) decisions (the same
//! distribution as the kernel's one draw, and enumerable by `podpath
//! paths`); `accept` ends the base chain (later base chains at the hook
//! still run), `drop`/`reject` end the packet; `meta skgid` is the
//! socket owner's uid (uid = gid, as `-m owner`), `iifgroup`/`oifgroup`
//! the device's group (0 unless the host model has groups, as `-m
//! devgroup`), `meta time|hour|day` the virtual clock as UTC (`meta time`
//! in whole seconds), `fib ... oif|oifname` the reverse route `-m
//! rpfilter` uses, `ip version`/`ip hdrlength` 4 and 5 (no IP options:
//! `ip option` fields break the rule), no xfrm (`ipsec` keys break the
//! rule, `meta ipsec` is false), no SCTP (`sctp chunk` fields break), no
//! OS fingerprints (`osf name` is "unknown" on a SYN); `ct packets|
//! bytes|avgpkt` read the connection's counters as 32 bits;
//! `tcp option maxseg size set` and `ct zone set` are trace steps (the
//! option is not rewritten, zones do not separate connections). What is
//! read but not evaluated (tproxy, synproxy, group names...) is listed in [`Nft::unmodelled`] and obeys `EvalEnv.assume`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

pub mod context;
pub mod eval;
pub mod expr;
pub mod lex;
pub mod script;
pub mod stmt;

use super::RejectWith;
pub use super::{Hook, L2Hook};
pub use script::IncludeReader;

/// A parse error: 1-based line, nft's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for NftError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainType {
    Filter,
    Nat,
    Route,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseChain {
    pub ty: ChainType,
    /// The hook as nft names it (`prerouting`, `ingress`, `egress`...).
    pub hook_name: String,
    /// The IPv4 hook this chain runs at (for `ip` and `inet` base chains
    /// whose `runs` is set; a placeholder for other families' hooks).
    pub hook: Hook,
    /// Whether podpath runs it at `hook` (an IPv4 family and one of the
    /// five IPv4 hooks), or at `l2`.
    pub runs: bool,
    /// The frame hook of a `netdev`, `bridge` or `arp` chain, or of an
    /// `inet` chain at `ingress`.
    pub l2: Option<super::L2Hook>,
    pub priority: i32,
    pub policy_drop: bool,
    /// `device "lo"` / `devices = { a, b }` of netdev chains.
    pub devices: Vec<String>,
    /// The line of its `type ... hook ...` (0 when implied).
    pub line: usize,
}

/// A value in a set element, a map key or data, or a comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Val {
    /// An IPv4 address (/32) or prefix.
    Net(Ipv4Net),
    /// A number (ports, protocols, marks, flags, symbolic constants).
    Int(u32),
    /// `A-B` of numbers or IPv4 addresses (as numbers).
    Range(u32, u32),
    /// An interface name or string; a trailing `*` is a wildcard.
    Str(String),
    /// An IPv6 address or prefix (kept, never equal to an IPv4 value).
    V6(Ipv6Net),
    /// `A-B` of IPv6 addresses.
    V6Range(Ipv6Addr, Ipv6Addr),
    /// An Ethernet address (`ether_addr`).
    Mac([u8; 6]),
    /// A value of a type podpath does not read.
    Sym(String),
    /// The catch-all element `*`.
    Any,
}

/// A value read from the packet, to match against [`Val`]s.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kv {
    N(u32),
    S(String),
    /// An Ethernet address.
    M([u8; 6]),
    /// An IPv6 address.
    A6(u128),
}

impl Val {
    pub fn matches(&self, v: &Kv) -> bool {
        match (self, v) {
            (Val::Int(i), Kv::N(v)) => i == v,
            (Val::Net(n), Kv::N(v)) => n.contains(&Ipv4Addr::from(*v)),
            (Val::Range(a, b), Kv::N(v)) => a <= v && v <= b,
            (Val::Any, _) => true,
            (Val::Mac(a), Kv::M(b)) => a == b,
            (Val::V6(n), Kv::A6(v)) => n.contains(&Ipv6Addr::from(*v)),
            (Val::V6Range(a, b), Kv::A6(v)) => u128::from(*a) <= *v && *v <= u128::from(*b),
            (Val::Str(s), Kv::S(d)) => match s.strip_suffix('*') {
                Some(p) => d.starts_with(p),
                None => s == d,
            },
            _ => false,
        }
    }

    /// The value as one exact key part, if it is one.
    fn exact(&self) -> Option<Kv> {
        match self {
            Val::Int(x) => Some(Kv::N(*x)),
            Val::Net(n) if n.prefix_len() == 32 => Some(Kv::N(u32::from(n.addr()))),
            Val::Range(a, b) if a == b => Some(Kv::N(*a)),
            Val::Str(s) if !s.ends_with('*') => Some(Kv::S(s.clone())),
            Val::Mac(m) => Some(Kv::M(*m)),
            Val::V6(n) if n.prefix_len() == 128 => Some(Kv::A6(u128::from(n.addr()))),
            _ => None,
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Net(n) if n.prefix_len() == 32 => write!(f, "{}", n.addr()),
            Val::Net(n) => write!(f, "{n}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Range(a, b) => write!(f, "{a}-{b}"),
            Val::Str(s) => write!(f, "\"{s}\""),
            Val::V6(n) if n.prefix_len() == 128 => write!(f, "{}", n.addr()),
            Val::V6(n) => write!(f, "{n}"),
            Val::V6Range(a, b) => write!(f, "{a}-{b}"),
            Val::Mac(m) => write!(f, "{}", mac_text(m)),
            Val::Sym(s) => write!(f, "{s}"),
            Val::Any => write!(f, "*"),
        }
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(m: &[u8; 6]) -> String {
    let p: Vec<String> = m.iter().map(|b| format!("{b:02x}")).collect();
    p.join(":")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NVerdict {
    Accept,
    Drop,
    /// `reject [with ...]` (nft's default: ICMP port unreachable).
    Reject(RejectWith),
    Return,
    Continue,
    Jump(String),
    Goto(String),
    /// `queue [num N] [bypass]` (nft_queue.c nft_queue_eval: NF_QUEUE_NR
    /// of `num`, 0 when none is given): to the program bound to the
    /// queue ([`super::nfqueue`]); with no listener the packet is dropped,
    /// or accepted with `bypass` (NFT_QUEUE_FLAG_BYPASS). `num` is None
    /// for a queue number computed per packet (a map, a hash, a fanout
    /// range), which podpath does not resolve: no listener is reached.
    Queue {
        bypass: bool,
        num: Option<u16>,
    },
}

impl fmt::Display for NVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NVerdict::Accept => write!(f, "accept"),
            NVerdict::Drop => write!(f, "drop"),
            NVerdict::Reject(RejectWith::IcmpPortUnreachable) => write!(f, "reject"),
            NVerdict::Reject(RejectWith::TcpReset) => write!(f, "reject with tcp reset"),
            NVerdict::Reject(w) => write!(f, "reject with icmp {}", reject_name(*w)),
            NVerdict::Return => write!(f, "return"),
            NVerdict::Continue => write!(f, "continue"),
            NVerdict::Jump(c) => write!(f, "jump {c}"),
            NVerdict::Goto(c) => write!(f, "goto {c}"),
            NVerdict::Queue { bypass: true, .. } => write!(f, "queue bypass"),
            NVerdict::Queue { bypass: false, .. } => write!(f, "queue"),
        }
    }
}

/// nft's name of an ICMP reject code (src/icmp.c / datatype.c
/// `icmp_code_tbl`).
pub fn reject_name(w: RejectWith) -> &'static str {
    match w {
        RejectWith::IcmpNetUnreachable => "net-unreachable",
        RejectWith::IcmpHostUnreachable => "host-unreachable",
        RejectWith::IcmpPortUnreachable => "port-unreachable",
        RejectWith::IcmpProtoUnreachable => "prot-unreachable",
        RejectWith::IcmpNetProhibited => "net-prohibited",
        RejectWith::IcmpHostProhibited => "host-prohibited",
        RejectWith::IcmpAdminProhibited => "admin-prohibited",
        RejectWith::TcpReset => "tcp reset",
        RejectWith::Icmp6(0) => "no-route",
        RejectWith::Icmp6(1) => "admin-prohibited",
        RejectWith::Icmp6(3) => "addr-unreachable",
        RejectWith::Icmp6(5) => "policy-fail",
        RejectWith::Icmp6(6) => "reject-route",
        RejectWith::Icmp6(_) => "port-unreachable",
    }
}

/// A selector: what a comparison or a map key reads from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sel {
    Saddr,
    Daddr,
    L4proto,
    Sport,
    Dport,
    Mark,
    CtState,
    CtStatus,
    CtMark,
    CtDirection,
    Iif,
    Oif,
    TcpFlags,
    IcmpType,
    IcmpCode,
    PktType,
    /// `meta nfproto`: ipv4 (2) or ipv6 (10).
    Nfproto,
    /// `fib saddr|daddr [. iif] type`: the address type number.
    FibSaddrType(u8),
    FibDaddrType(u8),
    /// A selector of IPv6 podpath does not read (ip6 flowlabel, dscp,
    /// ...): on an IPv4 packet its dependency fails; on an IPv6 one it
    /// reads nothing and the rule does not match either.
    V6,
    /// `ip6 saddr`, `ip6 daddr` (the final destination: a routing header's
    /// last segment).
    Saddr6,
    Daddr6,
    /// `ip6 nexthdr` (podpath's packets carry their extension headers
    /// in front of the upper layer; nexthdr is the first header's type).
    Nexthdr6,
    /// `ip6 hoplimit`.
    Hoplimit6,
    /// `icmpv6 type`, `icmpv6 code`.
    Icmp6Type,
    Icmp6Code,
    /// `meta skuid`: the sending socket's owner.
    Skuid,
    /// `meta skgid` (nft_meta.c NFT_META_SKGID: the socket file's
    /// f_cred->fsgid): podpath's sockets run as gid = uid, as
    /// iptables' `-m owner --gid-owner` reads them.
    Skgid,
    /// `ip ttl` (payload: the IP header's TTL byte).
    Ttl,
    /// `tcp option maxseg size` (nft_exthdr.c nft_exthdr_tcp_eval: the
    /// MSS option's value; a segment without it breaks the rule).
    TcpMss,
    /// `meta iifgroup`/`oifgroup` (nft_meta.c NFT_META_IIFGROUP: the
    /// device's `group`; [`super::AddrClass::dev_group`], 0 for every
    /// device unless the host model gives groups, as `-m devgroup`).
    IifGroup,
    OifGroup,
    /// `meta time` (nft_meta.c NFT_META_TIME_NS), in whole seconds of
    /// the virtual clock since 1970-01-01 UTC (the kernel compares ns).
    MetaTime,
    /// `meta hour` (NFT_META_TIME_HOUR): seconds since midnight UTC.
    MetaHour,
    /// `meta day` (NFT_META_TIME_DAY, nft_meta_weekday): 0 Sunday .. 6.
    MetaDay,
    /// `fib saddr|daddr [. mark] [. iif|oif] oif|oifname` (nft_fib4_eval):
    /// the device of the route, as a name; (daddr, mark, dev restriction:
    /// 1 iif, 2 oif, `oifname`). No route, a local route or a route
    /// through another device than the restriction reads as 0 (`oif`) or
    /// the empty name (`oifname`), as nft_fib_store_result stores them.
    FibOif(bool, bool, u8, bool),
    /// A constant in a concatenation (`ip saddr . 10002`); also what
    /// reads the same on every packet podpath sends: `meta ipsec` (no
    /// secpath), `ip option X` as a presence test.
    Const(u32),
    /// `sctp chunk NAME [FIELD]` (nft_exthdr.c nft_exthdr_sctp_eval): the
    /// first chunk of type `ty`; `len` 0 is the presence test (1 or 0),
    /// else the field of `len` bytes at `off` from the chunk's start (a
    /// packet without the chunk, or a chunk too short, breaks the rule).
    SctpChunk {
        ty: u8,
        off: u8,
        len: u8,
    },
    /// `ether saddr`, `ether daddr` (the link-layer header: at the frame
    /// hooks; at the IPv4 hooks the source is the received frame's, where
    /// there is one, and the destination unknown).
    EtherSaddr,
    EtherDaddr,
    /// `ether type`, and `meta protocol` (skb->protocol).
    EtherType,
    /// `vlan id|pcp|dei|cfi|type`: podpath's frames carry no 802.1Q tag,
    /// so the implicit `ether type 8021q` fails and the rule breaks.
    Vlan,
    /// `arp htype|ptype|hlen|plen|operation`, `arp saddr|daddr ip|ether`
    /// (an ARP frame only).
    Arp(ArpField),
    /// `socket transparent|mark|wildcard` (nft_socket.c nft_socket_eval:
    /// the packet's local socket, found as `-m socket` finds it; no socket
    /// breaks the rule).
    SocketTransparent,
    SocketMark,
    SocketWildcard,
    /// `ct [original|reply] packets|bytes|avgpkt` (nft_ct.c): direction
    /// (0 original, 1 reply, 2 both) and what (0 packets, 1 bytes, 2
    /// avgpkt). 0 when conntrack accounting is off (no nf_conn_acct);
    /// no connection breaks the rule. Simplification: read as 32 bits
    /// (saturating; the kernel's register holds 64).
    CtAcct(u8, u8),
    /// `ct helper`: the name of the connection's helper (nft_ct.c
    /// NFT_CT_HELPER), as `ct helper set` assigned it.
    CtHelper,
    /// A key with no value on podpath's packets, which breaks the rule
    /// (NFT_BREAK): `ipsec in|out ...` (nft_xfrm.c: podpath has no xfrm),
    /// `ip option X FIELD` (no IP options).
    Absent,
    /// `meta ibrname|obrname` (nft_meta_bridge.c
    /// nft_meta_bridge_get_eval NFT_META_BRI_IIFNAME/OIFNAME): the name
    /// of the bridge the in (`true`) or out port is enslaved to
    /// (nft_meta_get_bridge: netif_is_bridge_port, then the master
    /// device); no device, or one that is no bridge port, breaks the rule.
    BrName(bool),
    /// `socket cgroupv2 level N` (nft_socket.c nft_socket_eval
    /// NFT_SOCKET_CGROUPV2, nft_sock_get_eval_cgroupv2): the id of the
    /// socket's cgroup ancestor at level N. podpath's programs run in no
    /// cgroup of their own, i.e. in the root cgroup (level 0): at level
    /// 0 the value is the root, `"/"`; at any deeper level the socket has
    /// no ancestor there (cgroup_ancestor returns NULL) and the rule
    /// breaks (NFT_BREAK), as does a packet without a socket.
    SocketCgroupv2(u8),
    /// `symhash mod N [offset O]` (nft_hash.c nft_symhash_eval:
    /// `reciprocal_scale(__skb_get_hash_symmetric(skb), N) + O`): see
    /// [`super::nftables::eval`]'s `symhash` for what is exact.
    Symhash(u32, u32),
    /// `osf name|version` (nft_osf.c nft_osf_eval): a TCP SYN reads
    /// "unknown" (no fingerprints are loaded: nf_osf_find finds none),
    /// anything else breaks the rule.
    OsfName,
}

/// The fields of an ARP header (proto.c `arp_hdr_fields`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArpField {
    Htype,
    Ptype,
    Hlen,
    Plen,
    Op,
    SaddrIp,
    DaddrIp,
    SaddrEther,
    DaddrEther,
}

/// The value `ether saddr|daddr set` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MacVal {
    Const([u8; 6]),
    /// `numgen ... map { 0 : MAC, ... }`, `jhash ... map { ... }`.
    Map(expr::NumExpr, MapRef),
}

/// The relational operator (parser_bison.y `relational_op`; `Implicit`
/// is nft's OP_IMPLICIT: equality, or "any of the bits" on flag types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Implicit,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// `!` (OP_NEG): none of the bits of a flag value.
    Neg,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rhs {
    /// One value (its parts, for a concatenation); or with `/ MASK`.
    Vals(Vec<Val>),
    /// An anonymous set, or a comma list.
    Anon(Vec<Vec<Val>>),
    Named(String),
    /// `flags / mask` (parser_bison.y `basic_rhs_expr SLASH`): (v & mask) == value.
    Masked(u32, u32),
}

/// A value a statement sets: a constant, or a selector's value, with an
/// optional bit operation (nft's bitwise expression: `mark or 0x4000`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetVal {
    pub src: Option<Sel>,
    /// The constant when there is no `src`.
    pub value: u32,
    /// Bit operations applied in order: 'o' or, 'x' xor, 'a' and.
    pub ops: Vec<(char, u32)>,
    /// `... | SEL2 [& M]`: a second selector (the mark or the
    /// connection's mark) under its masks, or-ed in (a bitwise of two
    /// registers, nft_bitwise.c NFTA_BITWISE_SREG2 with NFT_BITWISE_OR;
    /// `&` binds tighter than `|` as in parser_bison.y).
    pub or_src: Option<(Sel, Vec<u32>)>,
}

/// What a `set` statement writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTarget {
    Mark,
    CtMark,
}

/// The address (and port) a NAT statement maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatTo {
    /// `masquerade`, `redirect`: no address.
    None,
    /// `A[-B][:P[-Q]]`, `[A6][:P]`: an address of either family.
    Range {
        lo: std::net::IpAddr,
        hi: std::net::IpAddr,
        ports: Option<(u16, u16)>,
    },
    /// `to :P[-Q]` (redirect, tproxy).
    Ports(u16, u16),
    /// `to KEY map { k : addr [. port] }` or `map @m`: looked up.
    Map { key: Vec<Sel>, map: MapRef },
    /// `prefix to KEY map { prefix : prefix }` (netmap): the new address
    /// keeps the host bits of the one it replaces.
    PrefixMap { key: Vec<Sel>, map: MapRef },
    /// `to jhash EXPR mod N ... map { N : addr [. port] }`: the number
    /// looked up (nft_jhash_eval, then nft_lookup).
    NumMap { num: expr::NumExpr, map: MapRef },
    /// `to A : numgen ... map { N : port }`: the address given, the port
    /// looked up.
    AddrPortMap {
        addr: Ipv4Addr,
        num: expr::NumExpr,
        map: MapRef,
    },
    /// `to numgen inc|random mod N [offset O] map { ... }`.
    NumgenMap {
        modulus: u32,
        offset: u32,
        random: bool,
        map: MapRef,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatKind {
    Snat,
    Dnat,
    Masquerade,
    Redirect,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Cmp {
        sel: Vec<Sel>,
        /// `& MASK` applied to the (single) selector.
        mask: Option<u32>,
        op: Op,
        rhs: Rhs,
    },
    /// `KEY vmap @map` or `KEY vmap { k : verdict, ... }`
    Vmap {
        sel: Vec<Sel>,
        map: MapRef,
    },
    /// `numgen random|inc mod N [offset O] vmap { ... }`
    Numgen {
        modulus: u32,
        offset: u32,
        random: bool,
        map: Vec<(Val, NVerdict)>,
    },
    /// `meta mark set ...`, `ct mark set ...`
    Set {
        target: SetTarget,
        value: SetVal,
    },
    /// `meta mark set KEY map @m|{ ... }` (nft_lookup with map data into
    /// the register nft_meta_set_eval writes): no element breaks the rule.
    SetMap {
        target: SetTarget,
        key: Vec<Sel>,
        map: MapRef,
    },
    /// `ip saddr|daddr|ttl|dscp|ecn set VALUE` or `set NUMEXPR map {...}`
    /// (nft_payload.c nft_payload_set_eval: the header written in place,
    /// checksums updated; [`super::mangle`] writes the bytes at the end
    /// of the hook). No map element breaks the rule.
    PayloadSet {
        field: PayloadField,
        value: PayloadVal,
    },
    /// `dup to ADDR [device DEV]` in ip/inet (nft_dup_ipv4.c): a clone
    /// routed to ADDR, as iptables' TEE.
    Dup {
        gateway: Ipv4Addr,
        dev: Option<String>,
    },
    /// `add|update @set { KEY [timeout T] }`
    Update {
        set: String,
        key: Vec<Sel>,
        timeout_ns: Option<u64>,
        /// A per-element `limit rate ...` (a meter): breaks when over.
        limit: Option<Box<Expr>>,
    },
    /// An object chosen by a map: `limit name KEY map @m`, `ct helper set
    /// KEY map { ... }` (nft_objref_map).
    ObjMap {
        kind: String,
        key: Vec<Sel>,
        map: MapRef,
    },
    Verdict(NVerdict),
    Nat {
        kind: NatKind,
        to: NatTo,
        random: bool,
        fully_random: bool,
        persistent: bool,
        /// The expression's family: Some(true) IPv6 (`dnat ip6 to`, an
        /// `ip6` table, an IPv6 address), Some(false) IPv4, None both (an
        /// inet table's masquerade or redirect). nft_nat.c
        /// `nft_nat_inet_eval` runs it only on packets of its family; on
        /// others it does nothing and the rule goes on.
        v6: Option<bool>,
    },
    /// `limit rate [over] N/unit [burst B packets|bytes]` (nft_limit): a
    /// token bucket on the virtual clock; `id` names its state.
    Limit {
        over: bool,
        /// tokens per second, and their unit (packets, or bytes)
        rate: u64,
        per_ns: u64,
        burst: u64,
        bytes: bool,
        id: usize,
    },
    /// `quota [over|until] N bytes [used M]` (nft_quota).
    Quota {
        over: bool,
        bytes: u64,
        used: u64,
        id: usize,
    },
    /// A named object by name: `limit name "x"`, `quota name "x"`,
    /// `counter name "x"`, `ct helper set "x"`...
    ObjRef {
        kind: String,
        name: String,
    },
    /// `counter`: counts.
    Counter,
    /// `log [prefix "x"] ...`: a trace step.
    Log {
        prefix: String,
    },
    Notrack,
    /// `flow add|offload @FLOWTABLE` (nft_flow_offload.c
    /// nft_flow_offload_eval): asks the host to put the packet's
    /// connection into the flowtable (the host checks the kernel's
    /// conditions: [`crate::net::netfilter::FlowOffloadReq`]).
    FlowOffload {
        flowtable: String,
    },
    /// `ether saddr|daddr set VALUE` (nft_payload_set_eval on the link
    /// layer header); a map without the number's element breaks the rule.
    EtherSet {
        daddr: bool,
        value: MacVal,
    },
    /// `fwd ip to ADDR device DEV` (nft_fwd_netdev.c nft_fwd_neigh_eval):
    /// the IPv4 packet's TTL decreased (ip_decrease_ttl), then sent to
    /// the neighbour ADDR on DEV (neigh_xmit: ARP if needed), NF_STOLEN;
    /// a frame that is no IPv4 breaks the rule.
    FwdNeigh {
        addr: Ipv4Addr,
        dev: String,
    },
    /// `fwd to DEV` (nft_fwd_netdev.c nft_fwd_netdev_eval): the frame is
    /// sent out of DEV, the verdict is NF_STOLEN.
    Fwd(String),
    /// `dup to device DEV` in netdev (nft_dup_netdev.c): a copy leaves out
    /// of DEV.
    DupDev(String),
    /// `synproxy mss M wscale W timestamp sack-perm` or a named
    /// `synproxy` object's settings (nft_synproxy.c).
    Synproxy(crate::net::netfilter::synproxy::SynproxyInfo),
    /// `tproxy [ip] to [ADDR][:PORT]` (nft_tproxy.c nft_tproxy_eval_v4):
    /// the packet is given a transparent local socket, or the rule stops.
    Tproxy {
        addr: Option<Ipv4Addr>,
        port: Option<u16>,
    },
    /// `meta skuid|skgid NAME` whose name no passwd/group file given
    /// resolves (nft resolves it when it loads the script, src/meta.c
    /// uid_type_parse/gid_type_parse): the comparison with the names
    /// still as symbols; never holds unless `assume.holds()`
    /// ([`Nft::resolve_names`] turns it into the comparison of ids).
    Unresolved {
        cmp: Box<Expr>,
        db: crate::net::names::Db,
        names: Vec<String>,
        /// the match as written
        construct: String,
    },
    /// A construct podpath keeps but does not evaluate: a match (holds
    /// iff `assume.holds()`) or a statement (passed over).
    Unmodelled {
        construct: String,
        is_match: bool,
    },
    /// A statement podpath records as a trace step and does not apply:
    /// `tcp option maxseg size set` (nft_exthdr.c
    /// nft_exthdr_tcp_set_eval: the MSS option is not rewritten, as
    /// iptables' TCPMSS here), `ct zone set` (nft_ct.c
    /// nft_ct_set_zone_eval: zones do not separate connections here, as
    /// iptables' CT --zone).
    Step(String),
    /// A statement with no effect on the path podpath models (`comment`,
    /// `meta nftrace set`, `ct helper` assignment recorded...).
    Nop(String),
    /// `ct label N` (nft_ct.c NFT_CT_LABELS, then the bitwise and cmp nft
    /// makes of a bitmask value): bit N of the connection's labels is set;
    /// a packet without a connection breaks the rule.
    CtLabel(u8),
    /// `ct label set N` (nft_ct_set_eval NFT_CT_LABELS,
    /// nf_connlabels_replace): bit N set on the connection (none: nothing).
    CtLabelSet(u8),
    /// An IPv6-only statement that stops the rule for an IPv4 packet:
    /// `tproxy ip6 to ...` (nft_tproxy.c nft_tproxy_eval: a family that is
    /// not the packet's sets NFT_BREAK). Kept for IPv6 (`Nft::ipv6_kept`).
    Ipv6Break(String),
}

/// The IPv4 header fields a payload statement writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadField {
    Saddr,
    Daddr,
    Ttl,
    Dscp,
    Ecn,
}

/// What a payload statement writes: a constant, or a number's map data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadVal {
    Const(u32),
    Map { num: expr::NumExpr, map: MapRef },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapRef {
    Named(String),
    Anon(Vec<Element>),
}

/// Map data: a verdict, values (`addr . port`), or an object's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    Verdict(NVerdict),
    Vals(Vec<Val>),
    Obj(String),
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Verdict(v) => write!(f, "{v}"),
            Data::Vals(v) => {
                let p: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "{}", p.join(" . "))
            }
            Data::Obj(o) => write!(f, "\"{o}\""),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NftRule {
    pub exprs: Vec<Expr>,
    /// the rule as written
    pub text: String,
    pub line: usize,
    /// The kernel's handle (`nft -a`'s `# handle N`), 0 until assigned
    /// ([`NftTable::assign_handles`]; a binding chain's rules keep 0).
    pub handle: u64,
    /// The handles the rule's anonymous sets and binding chains take before
    /// its own.
    pub(crate) subs: u64,
}

#[derive(Clone, Debug)]
pub struct NftChain {
    pub name: String,
    pub base: Option<BaseChain>,
    pub rules: Vec<NftRule>,
    /// The kernel's handle, 0 until assigned (a binding chain's is counted
    /// in its rule's `subs`).
    pub handle: u64,
}

/// A set element: its key and, in a map, its data.
pub type Element = (Vec<Val>, Option<Data>);

/// Base chains of one slot: (table index, chain index), in order.
pub type ChainList = Vec<(usize, usize)>;

/// The type of a key part, from `type` or `typeof` (datatype.c names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyType {
    Addr4,
    Addr6,
    Port,
    Proto,
    Name,
    Mark,
    CtState,
    CtStatus,
    TcpFlags,
    IcmpType,
    Icmp6Type,
    IcmpCode,
    EtherType,
    /// `ether_addr`.
    Ether,
    /// `arp_op`.
    ArpOp,
    PktType,
    Nfproto,
    FibType,
    Verdict,
    /// `meta time` values: a date (`"2022-05-30 21:51:23"`), in seconds.
    Time,
    /// `meta hour` values (`"21:51:23"`), in seconds since midnight.
    Hour,
    /// `meta day` values (`"Monday"`), 0 Sunday .. 6 Saturday.
    Day,
    /// `exists`/`missing` (datatype.c boolean_type).
    Boolean,
    #[default]
    Other,
}

#[derive(Clone, Debug, Default)]
pub struct NftSet {
    pub name: String,
    pub is_map: bool,
    pub key: Vec<KeyType>,
    pub data: Vec<KeyType>,
    /// `flags interval, timeout, dynamic, constant`...
    pub flags: Vec<String>,
    pub dynamic: bool,
    pub timeout_ns: Option<u64>,
    pub elements: Vec<Element>,
    /// Elements whose key parts are all single values, by key (the kernel's
    /// hash lookup); the rest (prefixes, ranges, wildcards) are scanned.
    exact: BTreeMap<Vec<Kv>, usize>,
    ranged: Vec<usize>,
}

impl NftSet {
    fn build_index(&mut self) {
        self.exact.clear();
        self.ranged.clear();
        for (i, (k, _)) in self.elements.iter().enumerate() {
            let single: Option<Vec<Kv>> = k.iter().map(|v| v.exact()).collect();
            match single {
                Some(key) => {
                    self.exact.entry(key).or_insert(i);
                }
                None => self.ranged.push(i),
            }
        }
    }

    /// The element whose key matches.
    pub fn lookup(&self, key: &[Option<Kv>]) -> Option<&Element> {
        let exact: Option<Vec<Kv>> = key.iter().cloned().collect();
        if let Some(i) = exact.as_ref().and_then(|k| self.exact.get(k)) {
            return self.elements.get(*i);
        }
        self.ranged
            .iter()
            .filter_map(|i| self.elements.get(*i))
            .find(|(k, _)| eval::key_matches(k, key))
    }
}

/// A named stateful object (parser_bison.y `counter_block`, `quota_block`,
/// `limit_block`, `ct_helper_block`, `ct_timeout_block`,
/// `ct_expect_block`, `synproxy_block`, `secmark_block`) or a flowtable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftObject {
    /// `counter`, `quota`, `limit`, `ct helper`, `ct timeout`,
    /// `ct expectation`, `synproxy`, `secmark`, `flowtable`.
    pub kind: String,
    pub name: String,
    /// The statement it stands for, where podpath evaluates one (a limit's
    /// or a quota's [`Expr`]).
    pub stmt: Option<Expr>,
    /// Its body as written.
    pub body: String,
    pub line: usize,
}

impl NftObject {
    /// A flowtable's devices (`devices = { eth0, "eth1" }` or `devices =
    /// eth0`, parser_bison.y `flowtable_block`: `DEVICES '=' flowtable_expr`).
    pub fn flowtable_devices(&self) -> Vec<String> {
        let Some(at) = self.body.find("devices") else {
            return Vec::new();
        };
        let rest = self.body[at + "devices".len()..]
            .trim_start()
            .trim_start_matches('=')
            .trim_start();
        let list = match rest.strip_prefix('{') {
            Some(r) => r.split('}').next().unwrap_or(""),
            None => rest
                .split(|c: char| c == ';' || c.is_whitespace())
                .next()
                .unwrap_or(""),
        };
        list.split(|c: char| c == ',' || c.is_whitespace())
            .map(|d| d.trim_matches('"'))
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct NftTable {
    pub family: String,
    pub name: String,
    pub chains: Vec<NftChain>,
    pub sets: BTreeMap<String, NftSet>,
    /// Named objects and flowtables, by (kind, name).
    pub objects: BTreeMap<(String, String), NftObject>,
    /// `flags dormant` (a dormant table's base chains do not run).
    pub flags: Vec<String>,
    /// chain name -> index (kept by `add_chain` and `reindex`)
    by_name: BTreeMap<String, usize>,
    /// The table's handle generator (`table->hgen` in
    /// net/netfilter/nf_tables_api.c `nf_tables_alloc_handle`): the last
    /// handle given to a chain, set, object, flowtable or rule.
    pub(crate) hgen: u64,
    /// Sets, objects and flowtables created since the last assignment.
    pub(crate) pending: u64,
}

impl NftTable {
    fn new(family: &str, name: &str) -> NftTable {
        NftTable {
            family: family.to_string(),
            name: name.to_string(),
            chains: Vec::new(),
            sets: BTreeMap::new(),
            objects: BTreeMap::new(),
            flags: Vec::new(),
            by_name: BTreeMap::new(),
            hgen: 0,
            pending: 0,
        }
    }

    /// Gives handles to what was created since the last call, in the order
    /// the kernel allocates them for one command. nftables' `nft_cmd_expand`
    /// (src/cmd.c) turns a `table { ... }` block into the commands: its new
    /// chains, then its objects, sets and flowtables, then the rules of its
    /// chains (`order`: the block's chains in the order written), each rule
    /// after its anonymous sets and binding chains
    /// (checked against nft 1.0.6 with `nft -a list ruleset` in a network
    /// namespace: sim/tests/nft_handles.rs).
    pub(crate) fn assign_handles(&mut self, order: &[String]) {
        let chains: Vec<usize> = order
            .iter()
            .filter(|n| !n.starts_with("__chain"))
            .filter_map(|n| self.chain(n))
            .collect();
        for &i in &chains {
            if self.chains[i].handle == 0 {
                self.hgen += 1;
                self.chains[i].handle = self.hgen;
            }
        }
        self.hgen += std::mem::take(&mut self.pending);
        for &i in &chains {
            for r in self.chains[i].rules.iter_mut().filter(|r| r.handle == 0) {
                self.hgen += r.subs + 1;
                r.handle = self.hgen;
            }
        }
    }

    fn chain(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    fn add_chain(&mut self, c: NftChain) -> usize {
        if let Some(&i) = self.by_name.get(&c.name) {
            return i;
        }
        self.by_name.insert(c.name.clone(), self.chains.len());
        self.chains.push(c);
        self.chains.len() - 1
    }

    fn reindex(&mut self) {
        self.by_name = self
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
    }

    /// Whether podpath runs this table's base chains (a dormant table's
    /// do not run).
    pub fn evaluated(&self) -> bool {
        !self.flags.iter().any(|f| f == "dormant")
    }
}

/// A host's nftables ruleset.
#[derive(Clone, Debug, Default)]
pub struct Nft {
    pub tables: Vec<NftTable>,
    /// every base chain: (priority, table, chain), by hook
    bases: BTreeMap<Hook, Vec<(i32, usize, usize)>>,
    /// the base chains IPv6 packets run (ip6 and inet tables)
    bases6: BTreeMap<Hook, Vec<(i32, usize, usize)>>,
    /// the base chains of the frame hooks (netdev, bridge, arp, inet
    /// ingress): (priority, table, chain)
    l2bases: BTreeMap<super::L2Hook, Vec<(i32, usize, usize)>>,
    /// What `nft -f` loads but podpath does not evaluate, by line.
    pub unmodelled: Vec<super::Unmodelled>,
    /// IPv6-only statements (`dnat to feed::1`, `snat ip6 to ...`), kept
    /// for IPv6 (not evaluated yet). On an IPv4 packet they do nothing, as
    /// in the kernel (nft_nat.c `nft_nat_inet_eval` runs a NAT expression
    /// only when its family is the packet's), so they are exact for every
    /// packet podpath carries today; they stay apart from `unmodelled`.
    pub ipv6_kept: Vec<super::Unmodelled>,
    /// Stateful statements (limit, quota) counted while parsing: the next id.
    pub(crate) next_id: usize,
}

/// The state nftables keeps while packets pass: dynamic set contents
/// (`update @set`, by (table, set) → key → expiry), limit buckets and quota
/// use (by statement id or object), counters.
#[derive(Clone, Debug, Default)]
pub struct DynSets {
    pub sets: BTreeMap<(String, String), BTreeMap<Vec<Kv>, u64>>,
    /// token buckets: (credit in ns of rate, last refill ns)
    pub limits: BTreeMap<String, (u64, u64)>,
    /// bytes used
    pub quotas: BTreeMap<String, u64>,
    /// (packets, bytes), by rule or object
    pub counters: BTreeMap<String, (u64, u64)>,
}

#[cfg(test)]
mod tests;
