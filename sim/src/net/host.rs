//! A host: a network namespace with devices, addresses, routing tables and
//! rules, a neighbour table, netfilter tables, conntrack, sysctls, sockets and
//! the applications on them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rand_chacha::ChaCha8Rng;

use super::fib::{Fib, FlowKey, Route, RouteType, TABLE_LOCAL, TABLE_MAIN};
use super::neigh::NeighTable;
use super::netfilter::conntrack::Conntrack;
use super::netfilter::sk::{SkInfo, SkLookup, SkQuery};
use super::netfilter::{addrtype, AddrClass, NfState, Ruleset};
use super::socket::{Owner, OwnerInfo, SocketEvent};
use super::sysctl::Sysctl;
use super::tcp::sock::TcpStack;
use crate::wire::{Ipv4Repr, Mac};
use std::sync::Arc;

pub use super::device::{DevKind, Device, FdbEntry, Peer};

/// The random stream of `flow` on a host ([`Host::draw`]): its per-flow
/// streams, its own stream (for no flow) and the per-flow streams' seed,
/// taken apart so a caller can hold other fields of the host meanwhile.
pub(crate) fn stream_of<'a>(
    (streams, own, seed): (&'a mut BTreeMap<u32, ChaCha8Rng>, &'a mut ChaCha8Rng, u64),
    trace: &crate::trace::TraceSink,
    flow: Option<u32>,
) -> &'a mut ChaCha8Rng {
    use rand_core::SeedableRng;
    let Some(f) = flow else {
        return own;
    };
    streams.entry(f).or_insert_with(|| {
        let mut k = seed.to_be_bytes().to_vec();
        k.extend_from_slice(trace.flow_id(f).as_bytes());
        // another stream of the same flow (live diffs' alignment)
        let n = trace.stream(f);
        if n != 0 {
            k.extend_from_slice(&n.to_be_bytes());
        }
        ChaCha8Rng::seed_from_u64(crate::det::stable_hash(&k))
    })
}

/// Metadata that travels with a packet (beside the skb in the kernel): its id,
/// the flow it belongs to, and the packet it was made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub pkt: u64,
    pub flow: u32,
    pub parent: Option<u64>,
    /// `skb->hash` when a socket set it (TCP's per-connection `txhash`); it
    /// travels with the packet across veths and bridges, and VXLAN derives
    /// the outer source port from it.
    pub hash: Option<u32>,
    /// The uid of the local socket that sent it (`-m owner`).
    pub owner: Option<u32>,
    /// Across loopback the conntrack entry travels with the packet
    /// (`skb->_nfct`): PREROUTING does not look it up again.
    pub lo_ct: Option<(u64, super::netfilter::conntrack::Dir)>,
    /// The local socket TPROXY assigned the packet to in PREROUTING
    /// (`skb->sk`): local delivery hands it to that socket; forwarding
    /// drops it (ip_forward: `if (unlikely(skb->sk)) goto drop`).
    pub sk: Option<super::netfilter::sk::SkAssigned>,
    /// The packet carries the untracked conntrack (`skb->_nfct`) from the
    /// packet it answers (SYNPROXY's SYN-ACK to an untracked SYN): local
    /// output does not track it.
    pub untracked: bool,
}

/// Timers a host asks the engine to fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostTimer {
    /// ARP retransmission for (device, address).
    Neigh { dev: usize, ip: Ipv4Addr },
    /// Neighbor Discovery retransmission or probe for (device, address).
    Ndisc { dev: usize, ip: std::net::Ipv6Addr },
    /// TCP retransmission; `gen` discards stale timers.
    Tcp {
        key: super::tcp::sock::ConnKey,
        gen: u64,
    },
    /// An application's timer.
    App { app: usize, token: u64 },
    /// Delayed ACK; `gen` discards stale timers.
    TcpDelack {
        key: super::tcp::sock::ConnKey,
        gen: u64,
    },
    /// SCTP's T1-init, T1-cookie, T2-shutdown or T3-rtx timer.
    Sctp {
        key: super::tcp::sock::ConnKey,
        gen: u64,
    },
    /// SCTP's delayed SACK.
    SctpSack {
        key: super::tcp::sock::ConnKey,
        gen: u64,
    },
}

/// What a host hands back to the engine.
#[derive(Clone, Debug)]
pub enum Output {
    /// A frame leaves through a device with a link.
    Tx {
        dev: usize,
        bytes: crate::trace::SharedBytes,
        meta: Meta,
        hop: Option<u32>,
    },
    /// A frame seen on a device that has no link of its own (a bridge).
    Capture {
        dev: usize,
        out: bool,
        bytes: Vec<u8>,
        meta: Meta,
        hop: Option<u32>,
    },
    Timer {
        at_ns: u64,
        timer: HostTimer,
    },
    /// A locally generated packet, sent in its own hop after the current one.
    SendLocal {
        ip: Ipv4Repr,
        meta: Meta,
        note: Option<String>,
    },
    /// A locally generated IPv6 packet, sent in its own hop.
    SendLocal6 {
        ip: crate::wire::Ipv6Repr,
        meta: Meta,
        note: Option<String>,
    },
    /// A frame received on a device of this host (decapsulated from a tunnel).
    Rx {
        dev: usize,
        bytes: Vec<u8>,
        meta: Meta,
    },
    /// An event for a socket's owner, queued.
    Socket {
        owner: Owner,
        ev: SocketEvent,
    },
    /// An event for a socket's owner, delivered before the host's next
    /// output (the program reacts within this hop).
    SocketNow {
        owner: Owner,
        ev: SocketEvent,
    },
    /// A flow's outcome: how it ended, and in words.
    Outcome {
        flow: u32,
        disposition: crate::trace::Disposition,
        text: String,
    },
    /// This host's application (its name) answered the flow.
    Served {
        flow: u32,
        app: String,
    },
    /// A raw IP datagram out of a device (no route lookup).
    SendRaw {
        dev: usize,
        ip: crate::wire::Ipv4Repr,
        meta: Meta,
        note: String,
    },
    /// A gratuitous ARP for an address out of a device.
    Garp {
        dev: usize,
        ip: Ipv4Addr,
        meta: Meta,
        note: String,
    },
    /// Something a daemon did outside any packet (an address added or
    /// removed, a state change): listed in the trace's events.
    Event {
        what: String,
    },
    /// A line an application logged about a flow.
    AppLog {
        flow: u32,
        program: String,
        line: String,
    },
    /// The response body a client received.
    ResponseBody {
        flow: u32,
        body: String,
    },
}

impl Output {
    /// A locally generated packet of either family, sent in its own hop.
    pub fn send_local(ip: crate::wire::IpRepr, meta: Meta, note: Option<String>) -> Output {
        match ip {
            crate::wire::IpRepr::V4(ip) => Output::SendLocal { ip, meta, note },
            crate::wire::IpRepr::V6(ip) => Output::SendLocal6 { ip, meta, note },
        }
    }
}

/// What a host needs from the engine while it works on a packet.
pub struct Ctx<'a> {
    pub now: u64,
    pub trace: &'a mut crate::trace::TraceSink,
    pub out: Vec<Output>,
    pub next_pkt: &'a mut u64,
    /// When set, random rule matches (`-m statistic`) follow this script
    /// instead of the host's random stream (`podpath paths`).
    pub script: Option<&'a mut crate::net::netfilter::ScriptChooser>,
    /// The flow of the packet being processed (its [`Meta::flow`]), whose
    /// random stream a `-m statistic` or `numgen random` choice draws from
    /// ([`Host::draw`]); None before a packet is in hand.
    pub flow: Option<u32>,
}

impl Ctx<'_> {
    pub fn new_meta(&mut self, flow: u32, parent: Option<u64>) -> Meta {
        *self.next_pkt += 1;
        Meta {
            pkt: *self.next_pkt,
            flow,
            parent,
            hash: None,
            owner: None,
            lo_ct: None,
            sk: None,
            untracked: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    Client,
    Router,
    Lb,
    Node,
    Pod,
    External,
    /// An L2 segment: a bridge in a namespace of its own, no addresses.
    Switch,
}

impl HostKind {
    pub fn name(self) -> &'static str {
        match self {
            HostKind::Client => "client",
            HostKind::Router => "router",
            HostKind::Lb => "lb",
            HostKind::Node => "node",
            HostKind::Pod => "pod",
            HostKind::External => "external",
            HostKind::Switch => "switch",
        }
    }
    pub fn from_name(s: &str) -> Option<HostKind> {
        Some(match s {
            "client" => HostKind::Client,
            "router" => HostKind::Router,
            "lb" => HostKind::Lb,
            "node" => HostKind::Node,
            "pod" => HostKind::Pod,
            "external" => HostKind::External,
            "switch" => HostKind::Switch,
            _ => return None,
        })
    }
}

#[derive(Clone)]
pub struct Host {
    pub index: usize,
    pub name: String,
    pub kind: HostKind,
    /// A pod's Kubernetes namespace (summaries name it `NAMESPACE/NAME`).
    pub namespace: Option<String>,
    pub devs: crate::shared::Shared<Device>,
    pub fib: Fib,
    pub neigh: NeighTable,
    /// IPv6: addresses, routes, neighbours, path MTUs, reassembly.
    pub ip6: super::ip6::Ip6,
    /// The iptables rule set, shared: hosts given the same text (the nodes
    /// of a cluster, whose kube-proxy rules are the same text on every
    /// node but for the local-endpoint parts) hold one parsed copy. The
    /// rules are only read while packets pass (counters, token buckets and
    /// recent lists live in `nf_state`); a host that changes its own rules
    /// gets its own copy (`Arc::make_mut`, or [`Host::replace_iptables`]).
    pub nf: Arc<Ruleset>,
    /// The ip6tables ruleset (`ip6tables-save`), run on IPv6 packets.
    pub nf6: Arc<Ruleset>,
    /// What generated rules of `nf` stand for (felix's policy chains: the
    /// NetworkPolicy behind them), for the trace.
    pub rule_notes: Option<Arc<super::netfilter::notes::RuleNotes>>,
    pub nf_state: NfState,
    /// What an unmodelled iptables/nftables match is taken to do
    /// (`--assume-unmodelled`; the run's setting, the same on every host).
    pub assume_unmodelled: super::netfilter::Assume,
    /// The source MAC of the frame being received (`-m mac`), None for a
    /// packet that came in without one (TUN, local).
    pub(crate) rx_src_mac: Option<[u8; 6]>,
    /// nftables ruleset (kube-proxy nftables mode), shared as `nf` is, and
    /// its dynamic sets (this host's own).
    pub nft: Arc<super::netfilter::nftables::Nft>,
    pub nft_dyn: super::netfilter::nftables::DynSets,
    /// The nftables text as given (live mode loads it with `nft -f`).
    pub nft_text: Arc<str>,
    /// The `ipset save` text as given (live mode loads it with `ipset
    /// restore`, before the iptables rules that name its sets).
    pub ipset_text: Arc<str>,
    pub ct: Conntrack,
    pub sysctl: Sysctl,
    pub tcp: TcpStack,
    /// SCTP endpoints and associations.
    pub sctp: super::sctp::sock::SctpStack,
    /// Packets released from the ARP queue, to transmit without re-running hooks.
    pub resume: Vec<(u64, usize, Option<super::neigh::BridgedDnat>)>,
    pub udp_listeners: BTreeMap<u16, Owner>,
    /// The programs that own sockets here: name and uid (the world keeps
    /// the programs themselves).
    pub owners: BTreeMap<Owner, OwnerInfo>,
    /// Ping sockets: (ICMP echo id, owner); an id's first owner gets its
    /// replies.
    pub icmp_socks: std::collections::BTreeSet<(u16, Owner)>,
    pub rng: ChaCha8Rng,
    /// One random stream per flow on this host, made at the flow's first
    /// draw ([`Host::draw`]).
    pub(crate) flow_rngs: BTreeMap<u32, ChaCha8Rng>,
    /// What the per-flow streams are seeded from (the host's first draw:
    /// the scenario's seed and the host's name).
    pub(crate) flow_seed: u64,
    pub ip_id: u16,
    /// /etc/resolv.conf, for programs that resolve names.
    pub resolv: Option<super::resolv::ResolvConf>,
    /// IPVS virtual services (kube-proxy's ipvs mode).
    pub ipvs: super::ipvs::Ipvs,
    /// The inet_peer rate limiter's buckets (ICMP errors, redirects).
    pub peers: super::inetpeer::Peers,
    /// Multicast groups joined, per device (IP_ADD_MEMBERSHIP).
    pub mc_groups: std::collections::BTreeSet<(usize, Ipv4Addr)>,
    /// Raw sockets: IP protocol -> app (keepalived's IPPROTO_VRRP socket).
    pub raw_listeners: BTreeMap<u8, usize>,
    /// The owner of the socket whose packet is being sent (set around
    /// local output, read by `-m owner`).
    pub sk_owner: Option<u32>,
    /// The listening sockets with IP_TRANSPARENT, by (IP protocol, port)
    /// (an app's `transparent: true`; Envoy's and HAProxy's `transparent`
    /// binds): TPROXY assigns packets only to these, `-m socket
    /// --transparent` counts only these and the connections they accept.
    pub transparent: std::collections::BTreeSet<(u8, u16)>,
    /// The socket a hook assigned the packet in flight to (TPROXY's
    /// `skb->sk`), taken into its [`Meta::sk`] once PREROUTING is done.
    pub(crate) skb_sk: Option<super::netfilter::sk::SkAssigned>,
    /// SYNPROXY's cookie secret, templates and the pending decision.
    pub(crate) synproxy: super::netfilter::synproxy::SynproxyState,
    /// A TEE clone is being sent (nf_dup_ipv4.c's per-cpu
    /// `nf_skb_duplicated`): TEE rules do not clone it again.
    pub dup_active: bool,
}

/// What an administrator or a control plane does to the namespace (the
/// timeline's faults and kube-proxy's resyncs go through these, never
/// through the fields).
impl Host {
    /// `ip link set DEV up|down`.
    pub fn set_link_up(&mut self, dev: usize, up: bool) {
        if let Some(d) = self.devs.get_mut(dev) {
            d.up = up;
        }
    }

    /// The machine stops: every device down.
    pub fn all_links_down(&mut self) {
        for d in &mut self.devs {
            d.up = false;
        }
    }

    /// `conntrack -F`: every entry gone; returns how many there were.
    pub fn conntrack_flush(&mut self) -> usize {
        let n = self.ct.len();
        self.ct.flush();
        n
    }

    /// `conntrack -D` of the UDP entries DNATed to `endpoint` (what
    /// kube-proxy does when a UDP endpoint goes); returns how many.
    pub fn conntrack_delete_udp_dnat_to(&mut self, endpoint: std::net::Ipv4Addr) -> usize {
        self.ct.delete_udp_dnat_to(endpoint)
    }

    /// A process exits: the sockets it listened on close.
    pub fn close_sockets_of(&mut self, owner: Owner) {
        self.tcp.listeners.retain(|_, (_, a)| *a != owner);
        self.udp_listeners.retain(|_, a| *a != owner);
        self.sctp.listeners.retain(|_, a| *a != owner);
        self.raw_listeners.retain(|_, a| *a != owner);
    }

    /// `listen()` on a TCP port (on `addr` only, or every address) for the
    /// program `owner`. The port is taken either way; the program that had
    /// it, if any, is returned as the error (`EADDRINUSE` to the caller).
    pub fn listen_tcp(
        &mut self,
        port: u16,
        addr: Option<std::net::IpAddr>,
        owner: Owner,
    ) -> Result<(), Owner> {
        match self.tcp.listeners.insert(port, (addr, owner)) {
            Some((_, was)) => Err(was),
            None => Ok(()),
        }
    }

    /// `setsockopt(IP_TRANSPARENT, 1)` on every socket the program
    /// `owner` listens on (TCP) or has bound (UDP).
    pub fn set_transparent(&mut self, owner: Owner) {
        for (p, (_, o)) in &self.tcp.listeners {
            if *o == owner {
                self.transparent.insert((6, *p));
            }
        }
        for (p, o) in &self.udp_listeners {
            if *o == owner {
                self.transparent.insert((17, *p));
            }
        }
    }

    /// `bind()` of a UDP port for the program `owner`; as [`Host::listen_tcp`].
    pub fn bind_udp(&mut self, port: u16, owner: Owner) -> Result<(), Owner> {
        // a port another socket holds stays that socket's (EADDRINUSE)
        match self.udp_listeners.get(&port) {
            Some(was) => Err(*was),
            None => {
                self.udp_listeners.insert(port, owner);
                Ok(())
            }
        }
    }

    /// The UDP port the program `owner` has bound, if any.
    pub fn udp_port_of(&self, owner: Owner) -> Option<u16> {
        self.udp_listeners
            .iter()
            .find(|(_, a)| **a == owner)
            .map(|(p, _)| *p)
    }

    /// `bind()` of an unbound UDP socket to an ephemeral port
    /// (udp_lib_get_port): from a random point of ip_local_port_range,
    /// the first free port (the range's first when every port is taken).
    pub fn bind_udp_ephemeral(
        &mut self,
        trace: &crate::trace::TraceSink,
        flow: Option<u32>,
        owner: Owner,
    ) -> u16 {
        let (lo, hi) = self.sysctl.port_range();
        let span = (hi - lo) as u32 + 1;
        let start = self.draw(trace, flow) % span;
        let p = (0..span)
            .map(|i| lo + ((start + i) % span) as u16)
            .find(|p| !self.udp_listeners.contains_key(p))
            .unwrap_or(lo);
        self.udp_listeners.insert(p, owner);
        p
    }

    /// `close()` of the program's UDP sockets.
    pub fn close_udp(&mut self, owner: Owner) {
        self.udp_listeners.retain(|_, a| *a != owner);
    }

    /// A raw socket of protocol `proto` that joined multicast `group` on
    /// device `dev` (`IP_ADD_MEMBERSHIP`), for the program `owner`.
    pub fn join_group(&mut self, dev: usize, group: std::net::Ipv4Addr, proto: u8, owner: Owner) {
        self.mc_groups.insert((dev, group));
        self.raw_listeners.insert(proto, owner);
    }

    /// `iptables-restore`: the rule set replaced.
    pub fn replace_iptables(&mut self, nf: impl Into<Arc<crate::net::netfilter::Ruleset>>) {
        self.nf = nf.into();
    }

    /// `nft -f` of a table replaced in one transaction; the dynamic sets'
    /// entries stay (nft_dyn), as the kernel keeps them.
    pub fn replace_nftables(
        &mut self,
        nft: impl Into<Arc<crate::net::netfilter::nftables::Nft>>,
        text: impl Into<Arc<str>>,
    ) {
        self.nft = nft.into();
        self.nft_text = text.into();
    }

    /// `ipset restore`: the sets replaced.
    pub fn replace_ipsets(&mut self, sets: crate::net::netfilter::ipset::IpsetStore) {
        self.nf_state.ipsets = Arc::new(sets);
    }

    /// IPVS's virtual services synced to `services` (ipvsadm / kube-proxy's
    /// ipvs mode): real servers added and removed.
    pub fn sync_ipvs(&mut self, services: Vec<crate::net::ipvs::VirtualService>) {
        self.ipvs.sync(services);
    }
}

impl Host {
    /// Registers a program that owns sockets here.
    pub fn add_owner(&mut self, owner: Owner, name: String, uid: u32) {
        self.owners.insert(owner, OwnerInfo { name, uid });
    }

    /// The name of a socket's owner, for the trace.
    pub fn owner_name(&self, owner: Owner) -> String {
        self.owners
            .get(&owner)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| format!("program {owner}"))
    }

    /// The ping socket that waits for echo id `id`.
    pub fn icmp_sock(&self, id: u16) -> Option<Owner> {
        self.icmp_socks
            .range((id, 0)..=(id, Owner::MAX))
            .next()
            .map(|(_, o)| *o)
    }

    /// The uid a socket's owner runs as (root when unknown).
    /// A random 32-bit draw made for `flow` (None: for no flow, from the
    /// host's own stream). Each flow has its own stream on each host,
    /// seeded from the host's seed and the flow's id, so one flow's draws
    /// (its ephemeral ports, ISNs, hashes, `-m statistic` choices) do not
    /// depend on how many draws other flows made: adding or changing a
    /// flow leaves the others' choices as they were. (In the kernel these
    /// all come from one `get_random_u32()`; which value a connection gets
    /// is not something a user can rely on, its independence from the
    /// other flows of a scenario is.) What stays shared per host, as the
    /// kernel's state is: NAT's port allocator (`--random`, a taken port)
    /// and the programs' own streams (HAProxy's and Envoy's balancing).
    pub(crate) fn draw(&mut self, trace: &crate::trace::TraceSink, flow: Option<u32>) -> u32 {
        use rand_core::Rng;
        stream_of(
            (&mut self.flow_rngs, &mut self.rng, self.flow_seed),
            trace,
            flow,
        )
        .next_u32()
    }

    pub fn owner_uid(&self, owner: Owner) -> u32 {
        self.owners.get(&owner).map(|o| o.uid).unwrap_or(0)
    }

    pub fn new(index: usize, name: &str, kind: HostKind, rng: ChaCha8Rng) -> Host {
        let flow_seed = rand_core::Rng::next_u64(&mut rng.clone());
        let mut lo = Device::new("lo", DevKind::Loopback, Mac::ZERO);
        lo.addrs
            .push(Ipv4Net::new(Ipv4Addr::LOCALHOST, 8).expect("/8"));
        Host {
            index,
            name: name.to_string(),
            namespace: None,
            kind,
            devs: vec![lo].into(),
            fib: Fib::new(),
            neigh: NeighTable::default(),
            ip6: Default::default(),
            nf: Arc::new(Ruleset::empty()),
            nf6: Arc::new(Ruleset::empty_v6()),
            rule_notes: None,
            nf_state: NfState::default(),
            assume_unmodelled: Default::default(),
            rx_src_mac: None,
            nft: Default::default(),
            nft_dyn: Default::default(),
            nft_text: Arc::from(""),
            ipset_text: Arc::from(""),
            ct: Conntrack::default(),
            sysctl: Sysctl::default(),
            tcp: TcpStack::default(),
            sctp: Default::default(),
            resume: Vec::new(),
            udp_listeners: BTreeMap::new(),
            owners: BTreeMap::new(),
            icmp_socks: std::collections::BTreeSet::new(),
            rng,
            flow_rngs: BTreeMap::new(),
            flow_seed,
            ip_id: 0,
            mc_groups: Default::default(),
            raw_listeners: BTreeMap::new(),
            sk_owner: None,
            transparent: Default::default(),
            skb_sk: None,
            synproxy: Default::default(),
            dup_active: false,
            resolv: None,
            ipvs: Default::default(),
            peers: Default::default(),
        }
    }

    pub fn dev_index(&self, name: &str) -> Option<usize> {
        self.devs.iter().position(|d| d.name == name)
    }

    pub fn dev_name(&self, i: usize) -> &str {
        &self.devs[i].name
    }

    /// `ip addr add NET dev DEV` at run time (keepalived's VIP): the address
    /// and the routes the kernel adds for it (a local route; the prefix
    /// route unless one exists already, as for a secondary address).
    pub fn addr_add(&mut self, dev: usize, net: Ipv4Net) {
        if self.devs[dev].addrs.contains(&net) {
            return;
        }
        self.devs[dev].addrs.push(net);
        self.fib.add_route(
            TABLE_LOCAL,
            Route {
                dst: Ipv4Net::new(net.addr(), 32).expect("/32"),
                rtype: RouteType::Local,
                via: None,
                dev: Some(dev),
                src: Some(net.addr()),
                metric: 0,
                onlink: false,
                scope_link: false,
                proto: "kernel".into(),
            },
        );
        let has_prefix = self.devs[dev]
            .addrs
            .iter()
            .any(|a| *a != net && a.trunc() == net.trunc());
        if net.prefix_len() < 32 && !has_prefix {
            self.fib.add_route(
                TABLE_MAIN,
                Route {
                    dst: net.trunc(),
                    rtype: RouteType::Unicast,
                    via: None,
                    dev: Some(dev),
                    src: Some(net.addr()),
                    metric: 0,
                    onlink: false,
                    scope_link: true,
                    proto: "kernel".into(),
                },
            );
        }
    }

    /// `ip addr del NET dev DEV`: the address and its local route (and the
    /// prefix route it brought).
    pub fn addr_del(&mut self, dev: usize, net: Ipv4Net) {
        let before = self.devs[dev].addrs.len();
        self.devs[dev].addrs.retain(|a| *a != net);
        if self.devs[dev].addrs.len() == before {
            return;
        }
        let addr = net.addr();
        let still = self.devs[dev]
            .addrs
            .iter()
            .any(|a| a.trunc() == net.trunc());
        for (table, dst) in [
            (TABLE_LOCAL, Ipv4Net::new(addr, 32).expect("/32")),
            (TABLE_MAIN, net.trunc()),
        ] {
            if table == TABLE_MAIN && (still || net.prefix_len() == 32) {
                continue;
            }
            if let Some(t) = Arc::make_mut(&mut self.fib.tables).get_mut(&table) {
                if let Some(v) = t.get_mut(&dst) {
                    v.retain(|r| !(r.dev == Some(dev) && r.src == Some(addr)));
                    if v.is_empty() {
                        t.remove(&dst);
                    }
                }
            }
        }
    }

    /// Adds the routes the kernel adds for every address: a `local` route in
    /// table local, and the connected prefix (proto kernel, scope link) in
    /// table main. 127.0.0.0/8 on lo is local as a whole.
    pub fn install_address_routes(&mut self) {
        for (i, d) in self.devs.iter().enumerate() {
            for a in &d.addrs {
                let local_dst = if d.kind == DevKind::Loopback && a.addr().is_loopback() {
                    a.trunc()
                } else {
                    Ipv4Net::new(a.addr(), 32).expect("/32")
                };
                self.fib.add_route(
                    TABLE_LOCAL,
                    Route {
                        dst: local_dst,
                        rtype: RouteType::Local,
                        via: None,
                        dev: Some(i),
                        src: Some(a.addr()),
                        metric: 0,
                        onlink: false,
                        scope_link: false,
                        proto: "kernel".into(),
                    },
                );
                if d.kind != DevKind::Loopback && a.prefix_len() < 32 {
                    self.fib.add_route(
                        TABLE_MAIN,
                        Route {
                            dst: a.trunc(),
                            rtype: RouteType::Unicast,
                            via: None,
                            dev: Some(i),
                            src: Some(a.addr()),
                            metric: 0,
                            onlink: false,
                            scope_link: true,
                            proto: "kernel".into(),
                        },
                    );
                }
            }
        }
    }

    /// Whether `a`, of either family, is one of this host's addresses.
    pub fn is_local_ip(&self, a: std::net::IpAddr) -> bool {
        match a {
            std::net::IpAddr::V4(a) => self.is_local(a),
            std::net::IpAddr::V6(a) => self.ip6.holds(a).is_some(),
        }
    }

    /// Whether `a` is one of this host's addresses (a `local` route).
    pub fn is_local(&self, a: Ipv4Addr) -> bool {
        self.fib
            .lookup_table(TABLE_LOCAL, a, None)
            .is_some_and(|r| r.rtype == RouteType::Local)
    }

    /// `inet_select_addr`: the source address for a packet leaving `dev`
    /// towards `towards`: the route's `src` if given (the caller checks), else
    /// the primary address of `dev` in the same subnet, else `dev`'s primary,
    /// else any global address of the host.
    pub fn select_src(&self, dev: usize, towards: Ipv4Addr) -> Option<Ipv4Addr> {
        let d = &self.devs[dev];
        if let Some(a) = d.addrs.iter().find(|a| a.contains(&towards)) {
            return Some(a.addr());
        }
        if let Some(a) = d.addrs.first() {
            return Some(a.addr());
        }
        self.devs
            .iter()
            .filter(|d| d.kind != DevKind::Loopback)
            .flat_map(|d| d.addrs.iter())
            .map(|a| a.addr())
            .next()
    }

    pub fn next_ip_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    pub fn route_key<'a>(
        &self,
        dst: Ipv4Addr,
        src: Option<Ipv4Addr>,
        mark: u32,
        iif: Option<&'a str>,
    ) -> FlowKey<'a> {
        FlowKey {
            dst: Some(dst),
            src,
            mark,
            iif,
            oif: None,
        }
    }
}

/// The host's routing view for `-m addrtype` (borrows only the FIB and the
/// device list, so netfilter can run while other host state is borrowed).
pub struct HostAddrs<'a> {
    pub fib: &'a Fib,
    pub devs: &'a crate::shared::Shared<Device>,
    /// The connections `-m connlimit` counts.
    pub ct: Option<&'a Conntrack>,
    /// The socket tables TPROXY and `-m socket` look up.
    pub socks: Option<Sockets<'a>>,
    /// The IPv6 addresses (`-m addrtype` on an IPv6 packet).
    pub ip6: Option<&'a crate::net::ip6::Ip6>,
}

/// The host's socket tables, as netfilter's socket lookups read them.
#[derive(Clone, Copy)]
pub struct Sockets<'a> {
    pub tcp: &'a TcpStack,
    pub udp: &'a BTreeMap<u16, Owner>,
    pub transparent: &'a std::collections::BTreeSet<(u8, u16)>,
}

impl Sockets<'_> {
    /// nf_tproxy_get_sock_v4 / nf_socket_get_sock_v4 over podpath's
    /// tables: an established TCP socket by the full tuple
    /// (inet_lookup_established), a listener by the destination port and
    /// its bound address (inet_lookup_listener; one listener a port in
    /// podpath), a UDP socket by the port (udp4_lib_lookup: podpath's
    /// UDP sockets are unconnected, so never "established").
    pub fn lookup(&self, q: &SkQuery, how: SkLookup) -> Option<SkInfo> {
        let est = || {
            if q.proto != 6 {
                return None;
            }
            let t = self
                .tcp
                .conns
                .get(&(q.daddr.into(), q.dport, q.saddr.into(), q.sport))?;
            Some(SkInfo {
                proto: 6,
                listener: false,
                time_wait: t.state == super::tcp::sock::TcpState::TimeWait,
                transparent: t.transparent,
                wildcard: false,
                mark: 0,
                port: q.dport,
            })
        };
        let lis = || {
            let wildcard = match q.proto {
                6 => {
                    let (bound, _) = self.tcp.listeners.get(&q.dport)?;
                    if !super::tcp::sock::listener_takes(*bound, q.daddr.into()) {
                        return None;
                    }
                    bound.is_none_or(|b| b.is_unspecified())
                }
                17 => {
                    self.udp.get(&q.dport)?;
                    true
                }
                _ => return None,
            };
            Some(SkInfo {
                proto: q.proto,
                listener: true,
                time_wait: false,
                transparent: self.transparent.contains(&(q.proto, q.dport)),
                wildcard,
                mark: 0,
                port: q.dport,
            })
        };
        match how {
            SkLookup::Established => est(),
            SkLookup::Listener => lis(),
            SkLookup::Any => est().or_else(lis),
        }
    }
}

impl AddrClass for HostAddrs<'_> {
    fn addr_type6(&self, a: std::net::Ipv6Addr, dev: Option<&str>) -> u16 {
        if a.is_unspecified() {
            return addrtype::UNSPEC;
        }
        if a.is_multicast() {
            return addrtype::MULTICAST;
        }
        let local = self.ip6.is_some_and(|ip6| match dev {
            Some(dn) => ip6.addrs.iter().any(|(d, v)| {
                self.devs.get(*d).is_some_and(|x| x.name == dn) && v.iter().any(|x| x.addr() == a)
            }),
            None => ip6.holds(a).is_some(),
        });
        if local {
            addrtype::LOCAL | addrtype::UNICAST
        } else {
            addrtype::UNICAST
        }
    }

    fn sk_lookup(&self, q: &SkQuery, how: SkLookup) -> Option<SkInfo> {
        self.socks?.lookup(q, how)
    }

    fn dev_master(&self, dev: &str) -> Option<String> {
        let d = self.devs.iter().find(|d| d.name == dev)?;
        let m = self.devs.get(d.master?)?;
        (m.kind == DevKind::Bridge).then(|| m.name.clone())
    }

    fn primary_addr(&self, dev: &str) -> Option<Ipv4Addr> {
        self.devs
            .iter()
            .find(|d| d.name == dev)
            .and_then(|d| d.addrs.first())
            .map(|a| a.addr())
    }

    /// ipt_rpfilter.c rpfilter_lookup_reverse: the route to the packet's
    /// source, looked up as from the host (`flowi4_iif = LOOPBACK_IFINDEX`)
    /// with the packet's destination as source.
    fn reverse_route(
        &self,
        src: Ipv4Addr,
        saddr: Option<Ipv4Addr>,
        mark: u32,
    ) -> Option<(bool, bool, Option<String>)> {
        let k = FlowKey {
            dst: Some(src),
            src: saddr,
            mark,
            iif: Some("lo"),
            oif: None,
        };
        let l = self.fib.lookup(&k, None).ok()?;
        let dev = l
            .route
            .dev
            .and_then(|i| self.devs.get(i))
            .map(|d| d.name.clone());
        Some((
            l.route.rtype == RouteType::Unicast,
            l.route.rtype == RouteType::Local,
            dev,
        ))
    }

    /// xt_connlimit.c count_them, simplified: the host's live connections
    /// whose original source (or destination) is in the packet's prefix
    /// (not only those this rule saw; closed TCP ones left out, as
    /// nf_conncount does).
    fn conn_count(&self, addr: Ipv4Addr, mask: u8, daddr: bool) -> u32 {
        let Some(ct) = self.ct else { return 0 };
        let m = if mask == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(mask.min(32)))
        };
        let key = u32::from(addr) & m;
        ct.conns
            .values()
            .filter(|c| {
                let a = if daddr { c.orig.dst } else { c.orig.src };
                a.is_ipv4()
                    && u32::from(crate::net::netfilter::conntrack::v4(a)) & m == key
                    && !(c.orig.proto == 6
                        && matches!(
                            c.tcp,
                            crate::net::netfilter::conntrack::TcpCt::TimeWait
                                | crate::net::netfilter::conntrack::TcpCt::Close
                        ))
            })
            .count() as u32
    }

    fn addr_type(&self, a: Ipv4Addr, dev: Option<&str>) -> u16 {
        if a.is_broadcast() {
            return addrtype::BROADCAST;
        }
        if a.is_multicast() {
            return addrtype::MULTICAST;
        }
        if a.is_unspecified() {
            return addrtype::UNSPEC;
        }
        match self.fib.lookup_table(TABLE_LOCAL, a, None) {
            // inet_addr_type: a `broadcast` route of table local
            Some(r) if r.rtype == RouteType::Broadcast && r.dst.prefix_len() == 32 => {
                addrtype::BROADCAST
            }
            Some(r) if r.rtype == RouteType::Local => {
                if let Some(dn) = dev {
                    if r.dev.map(|i| self.devs[i].name.as_str()) != Some(dn) {
                        return addrtype::UNICAST;
                    }
                }
                addrtype::LOCAL
            }
            _ => {
                let k = FlowKey {
                    dst: Some(a),
                    ..Default::default()
                };
                match self.fib.lookup(&k, None) {
                    Ok(l) => match l.route.rtype {
                        RouteType::Blackhole => addrtype::BLACKHOLE,
                        RouteType::Unreachable => addrtype::UNREACHABLE,
                        RouteType::Prohibit => addrtype::PROHIBIT,
                        _ => addrtype::UNICAST,
                    },
                    Err(_) => addrtype::UNICAST,
                }
            }
        }
    }
}
