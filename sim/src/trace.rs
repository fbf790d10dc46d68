//! The trace: the one output of a run, and the single source of every renderer.
//!
//! A run has flows; a flow has hops; a hop is one host's handling of one packet
//! (where it came in, where it went out), made of ordered steps with kernel
//! names (batfish's shape). Every packet observation on a device also goes to
//! `captures`, with its bytes, for pcapng.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::netfilter::points::{Hook, L2Hook, TableKind};

/// The wall-clock date of virtual time 0: 2026-01-01T00:00:00Z. Captures
/// and application logs (HAProxy's `%t`) count from it.
pub const EPOCH_UNIX_S: u64 = 1_767_225_600;

/// A whole run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Trace {
    pub scenario: String,
    pub seed: u64,
    pub hosts: Vec<HostInfo>,
    pub flows: Vec<FlowTrace>,
    /// Faults of the scenario's timeline, as they happened.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub events: Vec<TraceEvent>,
    #[serde(skip)]
    pub captures: Vec<Capture>,
}

/// Something that happened to the topology (a fault of the timeline).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TraceEvent {
    pub time_ns: u64,
    pub what: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HostInfo {
    pub name: String,
    pub kind: String,
    /// A pod's namespace (pods made from Kubernetes objects, or hosts that
    /// say `namespace:`): summaries name the pod `NAMESPACE/NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub devices: Vec<DeviceInfo>,
}

impl HostInfo {
    /// How a person names the host: `pod default/web-1` for a pod with a
    /// namespace, the host's name otherwise.
    pub fn display(&self) -> String {
        match (&self.namespace, self.kind.as_str()) {
            (Some(ns), "pod") => format!("pod {ns}/{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// `NAMESPACE/NAME` for a pod with a namespace, the name otherwise (what
    /// `expect: {servedBy: ...}` matches).
    pub fn qualified(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeviceInfo {
    pub name: String,
    pub kind: String,
    pub mac: String,
    pub mtu: u32,
    pub addrs: Vec<String>,
    /// IPv6 addresses, link-local included, with their flags as `ip -6
    /// addr` shows them (`fd00::1/64 nodad`, `fe80::1/64 tentative`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub addrs6: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The pcap link type: "ethernet" or "raw".
    pub link: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FlowTrace {
    pub id: String,
    pub description: String,
    pub hops: Vec<Hop>,
    /// How the flow ended, in words ("HTTP 200 OK in 1.402 ms", "connection
    /// timed out after 7 SYNs", ...).
    pub outcome: String,
    /// How the flow ended, as a fact (what `check`, expectations and the
    /// summary read).
    pub disposition: Disposition,
    /// The host the flow starts on.
    pub from: String,
    /// A daemon's own traffic (health checks, VRRP adverts), not a
    /// traffic entry of the scenario.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub daemon: bool,
    /// The host whose application answered the request (the pod behind a
    /// Service, or a proxy that answered by itself, e.g. a 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    /// The application that answered (`http-server web`, `ingress-nginx
    /// node-b`, `kernel (ICMP echo)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_app: Option<String>,
    /// What the traffic entry says must happen (`expect:`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expect>,
    /// Lines applications logged about this flow (HAProxy's traffic log),
    /// in the order they were written.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub logs: Vec<AppLog>,
    /// The body of the HTTP response the client received, as text (cut at
    /// 64 KiB).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_body: Option<String>,
}

/// One line an application logged, with where and when.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AppLog {
    pub time_ns: u64,
    pub host: String,
    /// the program and where its log goes (`haproxy → 127.0.0.1 local0`)
    pub program: String,
    pub line: String,
}

/// How a flow ended (batfish's disposition).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Disposition {
    /// The run ended before the flow did.
    #[default]
    Unfinished,
    /// An answer came back: an HTTP response, a DNS answer, an ICMP echo
    /// reply.
    Answered {
        #[serde(skip_serializing_if = "Option::is_none")]
        http_status: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dns_rcode: Option<u8>,
    },
    /// The name did not resolve (NXDOMAIN, or no address).
    NotResolved { name: String },
    /// Refused: a TCP RST answered the SYN, or an ICMP error came back
    /// (port/host/net unreachable, filtered, fragmentation needed, TTL
    /// exceeded).
    Rejected { with: String },
    /// Nothing came back within the client's patience.
    TimedOut,
    /// The established connection was reset.
    Reset,
    /// The client could not send at all (no route, no source address, no
    /// resolv.conf): a local error.
    Failed { why: String },
    /// A daemon's flow (health checks, VRRP): it runs as long as the run.
    Daemon,
}

impl Disposition {
    pub fn answered(&self) -> bool {
        matches!(self, Disposition::Answered { .. })
    }

    /// One word for tables: `answered`, `timed-out`, ...
    pub fn word(&self) -> &'static str {
        match self {
            Disposition::Unfinished => "unfinished",
            Disposition::Answered { .. } => "answered",
            Disposition::NotResolved { .. } => "not-resolved",
            Disposition::Rejected { .. } => "rejected",
            Disposition::TimedOut => "timed-out",
            Disposition::Reset => "reset",
            Disposition::Failed { .. } => "failed",
            Disposition::Daemon => "daemon",
        }
    }
}

/// One thing a traffic entry says must happen to each of its flows.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// An HTTP answer with this status.
    Status(u16),
    /// Answered by this host: `NAMESPACE/NAME` for pods, the host name
    /// otherwise; `*` matches any run of characters.
    ServedBy(String),
    /// Some answer (HTTP, DNS, ICMP echo reply).
    Answered,
    /// No answer, and a packet of the flow was dropped on the way.
    Dropped,
    /// Refused (RST or an ICMP error).
    Rejected,
    TimedOut,
    Reset,
    /// The name did not resolve.
    NotResolved,
    /// The client could not send at all.
    Failed,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Status(s) => write!(f, "status {s}"),
            Expect::ServedBy(p) => write!(f, "served by {p}"),
            Expect::Answered => f.write_str("answered"),
            Expect::Dropped => f.write_str("dropped"),
            Expect::Rejected => f.write_str("rejected"),
            Expect::TimedOut => f.write_str("timed out"),
            Expect::Reset => f.write_str("reset"),
            Expect::NotResolved => f.write_str("not resolved"),
            Expect::Failed => f.write_str("failed"),
        }
    }
}

/// `*` matches any run of characters, `?` one character; the rest is
/// literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// An expectation a flow did not meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet {
    pub flow: String,
    pub expect: Expect,
    /// What happened instead.
    pub got: String,
}

impl std::fmt::Display for Unmet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "flow {}: expected {}, got {}",
            self.flow, self.expect, self.got
        )
    }
}

impl FlowTrace {
    /// The first packet drop or reject of the flow: its hop and step.
    pub fn first_drop(&self) -> Option<(&Hop, &Step)> {
        self.hops.iter().find_map(|h| {
            h.steps
                .iter()
                .find(|s| matches!(s.action, Action::Drop { .. } | Action::Reject { .. }))
                .map(|s| (h, s))
        })
    }

    /// Whether a packet of the flow was dropped (not rejected).
    pub fn dropped(&self) -> bool {
        self.hops
            .iter()
            .flat_map(|h| &h.steps)
            .any(|s| matches!(s.action, Action::Drop { .. }))
    }

    /// The expectations this flow did not meet; `hosts` resolve `served_by`.
    pub fn unmet(&self, hosts: &[HostInfo]) -> Vec<Unmet> {
        let served = self.served_by.as_ref().map(|s| {
            hosts
                .iter()
                .find(|h| &h.name == s)
                .map(HostInfo::qualified)
                .unwrap_or_else(|| s.clone())
        });
        let d = &self.disposition;
        let got = || match d {
            Disposition::Answered {
                http_status: Some(s),
                ..
            } => format!("HTTP {s} ({})", self.outcome),
            _ => format!("{} ({})", d.word(), self.outcome),
        };
        let mut out = Vec::new();
        for e in &self.expect {
            let (ok, got) = match e {
                Expect::Status(want) => (
                    matches!(d, Disposition::Answered { http_status: Some(s), .. } if s == want),
                    got(),
                ),
                Expect::ServedBy(p) => match &served {
                    Some(s) => (glob_match(p, s), format!("served by {s}")),
                    None => (false, format!("no answer ({})", self.outcome)),
                },
                Expect::Answered => (d.answered(), got()),
                Expect::Dropped => (!d.answered() && self.dropped(), {
                    if d.answered() {
                        got()
                    } else {
                        format!("{}, with no packet dropped", got())
                    }
                }),
                Expect::Rejected => (matches!(d, Disposition::Rejected { .. }), got()),
                Expect::TimedOut => (matches!(d, Disposition::TimedOut), got()),
                Expect::Reset => (matches!(d, Disposition::Reset), got()),
                Expect::NotResolved => (matches!(d, Disposition::NotResolved { .. }), got()),
                Expect::Failed => (matches!(d, Disposition::Failed { .. }), got()),
            };
            if !ok {
                out.push(Unmet {
                    flow: self.id.clone(),
                    expect: e.clone(),
                    got,
                });
            }
        }
        out
    }
}

impl Trace {
    /// The trace's invariants, in the spirit of batfish's `validateHops`:
    /// what every trace the engine writes must satisfy, whatever the
    /// scenario. Returns each violation in words (none for a sound trace).
    ///
    /// - every hop is on a host of the run, and its devices are that host's;
    /// - a hop that left names its outgoing device and the packet as it left
    ///   (and only then);
    /// - hops are numbered in the order they were made, and a flow's hops
    ///   run forward in time in that order;
    /// - packet ids start at 1, and a packet's parent was made before it;
    /// - each step's action happens at a point that can take it: rule steps
    ///   at netfilter hooks, routes at the routing decision, neighbour
    ///   states at `neigh`/`arp`, bridge ports at `bridge`;
    /// - nothing is done to a packet after it was dropped in the same hop
    ///   (a drop ends the hop's work; only words may follow). A hop may
    ///   still have left: a bridge floods copies before its local copy is
    ///   dropped.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let hosts: BTreeMap<&str, &HostInfo> =
            self.hosts.iter().map(|h| (h.name.as_str(), h)).collect();
        let mut hops: Vec<(&FlowTrace, &Hop)> = self
            .flows
            .iter()
            .flat_map(|f| f.hops.iter().map(move |h| (f, h)))
            .collect();
        hops.sort_by_key(|(_, h)| h.seq);
        for w in hops.windows(2) {
            if w[0].1.seq == w[1].1.seq {
                out.push(format!("hop {} appears twice", w[0].1.seq));
            }
        }
        for (f, h) in &hops {
            let at = format!("flow {} hop {} on {}", f.id, h.seq, h.host);
            match hosts.get(h.host.as_str()) {
                None => out.push(format!("{at}: no such host")),
                Some(hi) => {
                    for d in [&h.in_dev, &h.out_dev].into_iter().flatten() {
                        if !hi.devices.iter().any(|x| &x.name == d) {
                            out.push(format!("{at}: no device {d} on the host"));
                        }
                    }
                }
            }
            if h.out_dev.is_some() != h.after.is_some() {
                out.push(format!(
                    "{at}: an outgoing device without the packet as it left, or the reverse"
                ));
            }
            if h.packet == 0 {
                out.push(format!("{at}: packet id 0 (ids start at 1)"));
            }
            if let Some(p) = h.parent {
                // made before it: an ARP request is made for a packet
                // queued behind it, which may leave later (or never)
                if p == 0 || p >= h.packet {
                    out.push(format!(
                        "{at}: parent packet {p} was not made before packet {}",
                        h.packet
                    ));
                }
            }
            out.extend(step_violations(&at, h));
        }
        for f in &self.flows {
            for w in f.hops.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                if a.seq < b.seq && a.time_ns > b.time_ns {
                    out.push(format!(
                        "flow {}: hop {} at {} ns comes after hop {} at {} ns",
                        f.id, b.seq, b.time_ns, a.seq, a.time_ns
                    ));
                }
            }
        }
        out
    }

    /// Every expectation of the run's flows that was not met, in flow order.
    pub fn unmet(&self) -> Vec<Unmet> {
        self.flows
            .iter()
            .flat_map(|f| f.unmet(&self.hosts))
            .collect()
    }
}

/// The step invariants of one hop (see [`Trace::violations`]).
fn step_violations(at: &str, h: &Hop) -> Vec<String> {
    let mut out = Vec::new();
    let mut dropped = false;
    for s in &h.steps {
        let ok = match &s.action {
            Action::Rule { .. } => s.point.hook().is_some(),
            Action::Route { .. } => s.point == Point::Routing,
            Action::Neigh { .. } => matches!(s.point, Point::Neigh | Point::Arp),
            Action::Bridge { .. } => matches!(s.point, Point::Bridge | Point::BrNetfilter),
            _ => true,
        };
        if !ok {
            out.push(format!("{at}: a {:?} step at {}", s.action, s.point));
        }
        if dropped && !matches!(s.action, Action::Info | Action::Drop { .. }) {
            out.push(format!(
                "{at}: '{}' at {} after the packet was dropped",
                s.what, s.point
            ));
        }
        if matches!(s.action, Action::Drop { .. }) {
            dropped = true;
        }
    }
    out
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Hop {
    /// Position of the hop in the whole run (global order of first touch).
    pub seq: u32,
    pub time_ns: u64,
    pub host: String,
    pub packet: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// Incoming device, None for a packet the host itself generated.
    pub in_dev: Option<String>,
    /// Outgoing device, None when delivered locally or dropped.
    pub out_dev: Option<String>,
    /// The packet as it arrived (or was generated).
    pub before: String,
    /// The same packet as typed facts (its innermost headers).
    #[serde(skip)]
    pub pkt: PktInfo,
    /// The packet as it left, when it left.
    pub after: Option<String>,
    pub steps: Vec<Step>,
}

/// What a packet is, as facts a renderer can use without reading the
/// summary text: the innermost IP packet's protocol, addresses, ports and
/// TCP flags (for an encapsulated packet, the packet inside the tunnel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PktInfo {
    pub kind: PktKind,
    /// Carried inside VXLAN, IP-in-IP or WireGuard.
    pub encap: bool,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub sport: u16,
    pub dport: u16,
    /// TCP flags (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
    pub tcp_flags: u8,
    /// TCP's sequence number, and its acknowledgment number when ACK is set.
    pub seq: Option<u32>,
    pub ack: Option<u32>,
}

impl PktInfo {
    /// A packet's summary without what changes on every segment of a
    /// connection (TCP's `seq N` and `ack N`), from the packet's own
    /// numbers: what diagrams fold repeated arrows by.
    pub fn fold(&self, summary: &str) -> String {
        let mut s = summary.to_string();
        if let Some(n) = self.seq {
            s = s.replacen(&format!(" seq {n}"), "", 1);
        }
        if let Some(n) = self.ack {
            s = s.replacen(&format!(" ack {n}"), "", 1);
        }
        s
    }
}

impl PktInfo {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;

    /// A TCP SYN without ACK: the first packet of a connection.
    pub fn is_syn(&self) -> bool {
        self.kind == PktKind::Tcp && self.tcp_flags & (Self::SYN | Self::ACK) == Self::SYN
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PktKind {
    Arp,
    Tcp,
    Udp,
    Icmp,
    /// ICMPv6 other than Neighbor Discovery.
    Icmp6,
    /// IPv6 Neighbor Discovery (RFC 4861): what ARP is to IPv4.
    Ndp,
    /// Another IP protocol (VRRP, ...).
    Ip,
    /// Not IP, not ARP, or malformed.
    #[default]
    Other,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Step {
    /// Where in the stack the step happened.
    pub point: Point,
    /// What happened, in words.
    pub what: String,
    pub action: Action,
}

/// Where in the stack a step happened: an iptables table at a hook,
/// nftables at a hook, or one of the stack's subsystems, named as the
/// kernel names them. Written (text, JSON) as that name: `nat/PREROUTING`,
/// `nft/prerouting`, `routing`, `tcp`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Point {
    /// An iptables table's built-in chain at its hook (`nat/PREROUTING`).
    Table(TableKind, Hook),
    /// nftables' base chains at a hook (`nft/prerouting`).
    Nft(Hook),
    /// nftables' base chains of the netdev, bridge and arp families (and
    /// inet ingress) at their hook (`nft/bridge-forward`).
    NftL2(L2Hook),
    /// A frame on a link (carried, lost): `link`.
    Link,
    /// Layer-2 receive (`__netif_receive_skb`: packet type, protocol
    /// handler): `l2`.
    L2,
    /// A frame received on a device that does not take it: `wire`.
    Wire,
    /// `dev_queue_xmit`: a device transmits.
    DevQueueXmit,
    /// The Linux bridge (FDB, flooding, hairpin): `bridge`.
    Bridge,
    /// br_netfilter's hooks for bridged IPv4: `br_netfilter`.
    BrNetfilter,
    /// ARP requests and replies: `arp`.
    Arp,
    /// The neighbour table (NUD states): `neigh`.
    Neigh,
    /// IPv4 receive (`ip_rcv`).
    IpRcv,
    /// Reverse-path filtering (`rp_filter`).
    RpFilter,
    /// The routing decision: `routing`.
    Routing,
    /// IPv4 forwarding (`ip_forward`).
    IpForward,
    /// Local delivery (`ip_local_deliver`).
    IpLocalDeliver,
    /// The end of IPv4 output (`ip_finish_output`: fragmentation, MTU).
    IpFinishOutput,
    /// Connection tracking and NAT bindings: `conntrack`.
    Conntrack,
    /// A NAT binding applied to a packet (`nf_nat_packet`): `nat`.
    Nat,
    /// IPVS: `ipvs`.
    Ipvs,
    /// A flowtable's fast path (nf_flow_table_ip.c): `flowtable`.
    Flowtable,
    /// A raw socket (VRRP, ...) receiving: `raw`.
    RawSocket,
    /// TCP: `tcp`.
    Tcp,
    /// UDP: `udp`.
    Udp,
    /// SCTP: `sctp`.
    Sctp,
    /// ICMP: `icmp`.
    Icmp,
    /// VXLAN encapsulation: `vxlan`.
    Vxlan,
    /// IP-in-IP (tunl0): `ipip`.
    Ipip,
    /// WireGuard: `wireguard`.
    Wireguard,
    /// A program on a socket: `app`.
    App,
}

impl Point {
    /// The point's name as the trace writes it.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        Cow::Borrowed(match self {
            Point::Table(t, h) => return Cow::Owned(format!("{}/{}", t.name(), h.chain())),
            Point::Nft(h) => return Cow::Owned(format!("nft/{}", h.name())),
            Point::NftL2(h) => return Cow::Owned(format!("nft/{}", h.name())),
            Point::Link => "link",
            Point::L2 => "l2",
            Point::Wire => "wire",
            Point::DevQueueXmit => "dev_queue_xmit",
            Point::Bridge => "bridge",
            Point::BrNetfilter => "br_netfilter",
            Point::Arp => "arp",
            Point::Neigh => "neigh",
            Point::IpRcv => "ip_rcv",
            Point::RpFilter => "rp_filter",
            Point::Routing => "routing",
            Point::IpForward => "ip_forward",
            Point::IpLocalDeliver => "ip_local_deliver",
            Point::IpFinishOutput => "ip_finish_output",
            Point::Conntrack => "conntrack",
            Point::Nat => "nat",
            Point::Ipvs => "ipvs",
            Point::Flowtable => "flowtable",
            Point::RawSocket => "raw",
            Point::Tcp => "tcp",
            Point::Udp => "udp",
            Point::Sctp => "sctp",
            Point::Icmp => "icmp",
            Point::Vxlan => "vxlan",
            Point::Ipip => "ipip",
            Point::Wireguard => "wireguard",
            Point::App => "app",
        })
    }

    /// A netfilter point (an iptables table or nftables at a hook): its hook.
    pub fn hook(self) -> Option<Hook> {
        match self {
            Point::Table(_, h) | Point::Nft(h) => Some(h),
            _ => None,
        }
    }
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that widths (`{:<18}`) apply
        f.pad(&self.name())
    }
}

impl Serialize for Point {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Info,
    Rule {
        table: String,
        chain: String,
        rule: usize,
        line: usize,
    },
    /// The destination rewritten. `reply`: the reverse of a SNAT, on a
    /// reply packet (conntrack restoring the original destination).
    Dnat {
        from: String,
        to: String,
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        reply: bool,
        /// On the packet that made the binding: the rule (or IPVS
        /// service) that chose it.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        by: Option<String>,
    },
    /// The source rewritten. `reply`: the reverse of a DNAT, on a reply.
    Snat {
        from: String,
        to: String,
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        reply: bool,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        by: Option<String>,
    },
    Conntrack {
        state: String,
        tuple: String,
    },
    Route {
        table: String,
        prefix: String,
        via: Option<String>,
        dev: Option<String>,
        src: Option<String>,
        rtype: String,
    },
    Neigh {
        ip: String,
        mac: Option<String>,
        state: String,
    },
    Bridge {
        bridge: String,
        port: String,
    },
    Encap {
        outer: String,
    },
    Decap {
        inner: String,
        /// The inner packet's facts.
        #[serde(skip)]
        inner_pkt: PktInfo,
    },
    Deliver {
        socket: String,
    },
    Transmit {
        dev: String,
    },
    App {
        app: String,
    },
    Drop {
        reason: String,
    },
    Reject {
        with: String,
    },
    /// A NetworkPolicy verdict, as the CNI's programming reached it (felix's
    /// chains, kube-network-policies' queue evaluator) or as the API
    /// semantics give it: which policies selected the pod for `direction`
    /// and which of their rules admitted the packet. The step that drops a
    /// denied packet follows it.
    Policy {
        /// `allowed` or `denied`.
        verdict: String,
        /// `ingress` or `egress`.
        direction: String,
        /// The policies that selected the pod for that direction, each
        /// `NS/NAME`, in name order; empty when none did (allowed: the pod is
        /// not isolated).
        policies: Vec<String>,
        /// The rule that admitted the packet, `NS/NAME ingress[I]` /
        /// `NS/NAME egress[I]`; None when none did (denied) or when no
        /// policy selected the pod.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        rule: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

/// A frame's bytes, held once and shared: a bridge flooding a broadcast
/// to a 1,000-port segment sends one frame to every port, each copy is
/// captured leaving and arriving, and the link carries it in between; a
/// `Vec` each was three copies per port. Reads as the `[u8]` it holds
/// (`Debug` and `==` as a byte slice's).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SharedBytes(std::sync::Arc<[u8]>);

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(b: Vec<u8>) -> Self {
        SharedBytes(b.into())
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(b: &[u8]) -> Self {
        SharedBytes(b.into())
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0[..].fmt(f)
    }
}

/// A name many captures repeat (a host's, a device's, a flow's), held once
/// and shared: a run of 1,000 nodes captures two million frames, most of
/// them the ARP requests a broadcast domain hears, and a `String` each was
/// three allocations a frame. Reads as the `str` it holds (`==` with
/// `&str` and `String`, `Display`, `Debug` and order as a string's).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SharedName(std::sync::Arc<str>);

impl SharedName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for SharedName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SharedName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedName {
    fn from(s: &str) -> Self {
        SharedName(s.into())
    }
}

impl From<String> for SharedName {
    fn from(s: String) -> Self {
        SharedName(s.into())
    }
}

impl From<&String> for SharedName {
    fn from(s: &String) -> Self {
        SharedName(s.as_str().into())
    }
}

impl From<SharedName> for String {
    fn from(s: SharedName) -> Self {
        s.0.to_string()
    }
}

impl std::fmt::Display for SharedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl std::fmt::Debug for SharedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for SharedName {
    fn eq(&self, o: &str) -> bool {
        *self.0 == *o
    }
}

impl PartialEq<&str> for SharedName {
    fn eq(&self, o: &&str) -> bool {
        *self.0 == **o
    }
}

impl PartialEq<String> for SharedName {
    fn eq(&self, o: &String) -> bool {
        *self.0 == **o
    }
}

impl PartialEq<&String> for SharedName {
    fn eq(&self, o: &&String) -> bool {
        *self.0 == ***o
    }
}

impl PartialEq<SharedName> for str {
    fn eq(&self, o: &SharedName) -> bool {
        *self == *o.0
    }
}

impl PartialEq<SharedName> for &str {
    fn eq(&self, o: &SharedName) -> bool {
        **self == *o.0
    }
}

impl PartialEq<SharedName> for String {
    fn eq(&self, o: &SharedName) -> bool {
        **self == *o.0
    }
}

/// One packet seen on one device, as tcpdump on that device would see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Capture {
    pub time_ns: u64,
    pub host: SharedName,
    pub dev: SharedName,
    pub dir: Direction,
    pub packet: u64,
    pub flow: SharedName,
    /// The hop that produced or received the packet (seq), if any.
    pub hop: Option<u32>,
    pub comment: String,
    pub bytes: SharedBytes,
}

/// Builds hops while hosts process packets. Hops can nest (a host that queues
/// a packet and emits an ARP request opens the ARP's hop inside the first).
#[derive(Debug, Default)]
pub struct TraceSink {
    pub flows: Vec<FlowTrace>,
    open: Vec<(usize, Hop)>,
    next_seq: u32,
    pub captures: Vec<Capture>,
    /// The flows' ids as shared names, for captures ([`TraceSink::flow_name`]).
    flow_names: Vec<SharedName>,
    /// The random stream number of each flow that has one other than 0
    /// ([`crate::world::FlowSpec::streams`]).
    streams: BTreeMap<u32, u64>,
    /// Only the flows' fates are read ([`crate::engine::Engine::run_flows`]):
    /// a netfilter table's traversal is kept as its deciding rule (the last
    /// one it ran) and the rules that carry a NetworkPolicy's verdict, not
    /// every rule it passed.
    pub lean: bool,
}

impl TraceSink {
    /// A new flow starting on `from`; `daemon`: a daemon's own traffic.
    pub fn add_flow(&mut self, id: String, description: String, from: &str, daemon: bool) -> u32 {
        self.flows.push(FlowTrace {
            id,
            description,
            hops: Vec::new(),
            outcome: String::new(),
            disposition: if daemon {
                Disposition::Daemon
            } else {
                Disposition::Unfinished
            },
            from: from.to_string(),
            daemon,
            served_by: None,
            served_app: None,
            expect: Vec::new(),
            logs: Vec::new(),
            response_body: None,
        });
        (self.flows.len() - 1) as u32
    }

    /// A line an application logged about `flow`.
    pub fn add_log(&mut self, flow: u32, log: AppLog) {
        if let Some(f) = self.flows.get_mut(flow as usize) {
            f.logs.push(log);
        }
    }

    /// The response body the flow's client received.
    pub fn set_response_body(&mut self, flow: u32, body: String) {
        if let Some(f) = self.flows.get_mut(flow as usize) {
            f.response_body = Some(body);
        }
    }

    /// The host whose application answered the flow (the last one wins: a
    /// lookup then a request ends at the server of the request).
    pub fn set_served_by(&mut self, flow: u32, host: &str, app: &str) {
        if let Some(f) = self.flows.get_mut(flow as usize) {
            if !f.daemon {
                f.served_by = Some(host.to_string());
                f.served_app = Some(app.to_string());
            }
        }
    }

    pub fn set_expect(&mut self, flow: u32, expect: Vec<Expect>) {
        if let Some(f) = self.flows.get_mut(flow as usize) {
            f.expect = expect;
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn begin_hop(
        &mut self,
        flow: u32,
        time_ns: u64,
        host: &str,
        packet: u64,
        parent: Option<u64>,
        in_dev: Option<&str>,
        (before, pkt): (String, PktInfo),
    ) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.open.push((
            flow as usize,
            Hop {
                seq,
                time_ns,
                host: host.to_string(),
                packet,
                parent,
                in_dev: in_dev.map(str::to_string),
                out_dev: None,
                before,
                pkt,
                after: None,
                steps: Vec::new(),
            },
        ));
        seq
    }

    /// The sequence number the next hop will get.
    pub fn peek_seq(&self) -> u32 {
        self.next_seq
    }

    /// The sequence number of the innermost open hop.
    pub fn current_hop(&self) -> Option<u32> {
        self.open.last().map(|(_, h)| h.seq)
    }

    pub fn step(&mut self, point: Point, what: String, action: Action) {
        if let Some((_, h)) = self.open.last_mut() {
            h.steps.push(Step {
                point,
                what,
                action,
            });
        }
    }

    pub fn set_out(&mut self, dev: &str, after: String) {
        if let Some((_, h)) = self.open.last_mut() {
            h.out_dev = Some(dev.to_string());
            h.after = Some(after);
        }
    }

    pub fn end_hop(&mut self) {
        if let Some((f, mut h)) = self.open.pop() {
            if let Some(flow) = self.flows.get_mut(f) {
                // A hop is done with: its steps' vector gives back its
                // spare room (a first push reserves 4 steps, most hops
                // keep 1 or 2: the ARP requests a 1,000-node broadcast
                // domain hears are a million such hops).
                h.steps.shrink_to_fit();
                h.before.shrink_to_fit();
                if let Some(a) = &mut h.after {
                    a.shrink_to_fit();
                }
                for st in &mut h.steps {
                    st.what.shrink_to_fit();
                }
                flow.hops.push(h);
            }
        }
    }

    pub fn set_outcome(&mut self, flow: u32, disposition: Disposition, outcome: String) {
        if let Some(f) = self.flows.get_mut(flow as usize) {
            f.outcome = outcome;
            if !f.daemon {
                f.disposition = disposition;
            }
        }
    }

    pub fn has_outcome(&self, flow: u32) -> bool {
        self.flows
            .get(flow as usize)
            .is_some_and(|f| !f.outcome.is_empty())
    }

    /// Gives `flow` the random stream `n` (0: its own).
    pub fn set_stream(&mut self, flow: u32, n: u64) {
        if n != 0 {
            self.streams.insert(flow, n);
        }
    }

    /// The random stream number of `flow` (0: its own).
    pub fn stream(&self, flow: u32) -> u64 {
        self.streams.get(&flow).copied().unwrap_or(0)
    }

    pub fn flow_id(&self, flow: u32) -> String {
        self.flows
            .get(flow as usize)
            .map(|f| f.id.clone())
            .unwrap_or_default()
    }

    /// [`TraceSink::flow_id`] as a name captures share (made once a flow,
    /// and again only if the flow's id changed since).
    pub fn flow_name(&mut self, flow: u32) -> SharedName {
        let Some(f) = self.flows.get(flow as usize) else {
            return SharedName::default();
        };
        let i = flow as usize;
        if self.flow_names.len() <= i {
            self.flow_names.resize(i + 1, SharedName::default());
        }
        if self.flow_names[i] != f.id {
            self.flow_names[i] = SharedName::from(&f.id);
        }
        self.flow_names[i].clone()
    }

    /// Finishes: hops of each flow sorted by their global sequence.
    pub fn finish(mut self) -> (Vec<FlowTrace>, Vec<Capture>) {
        while !self.open.is_empty() {
            self.end_hop();
        }
        for f in &mut self.flows {
            f.hops.sort_by_key(|h| h.seq);
        }
        (self.flows, self.captures)
    }
}
