//! The world a run starts from: hosts (with their kernel state), the
//! applications on them, the traffic to send, the fault timeline and the
//! control-plane resyncs it refers to. The scenario and bundle loaders build
//! it; the engine runs it.

use std::net::Ipv4Addr;

use crate::app::App;
use crate::net::host::Host;
pub use crate::shared::Shared;

/// What a traffic entry asks a client to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    HttpGet {
        dst: std::net::IpAddr,
        port: u16,
        host_header: String,
        path: String,
        /// `user:password` from the URL (`http://user:pw@host/`)
        user: Option<String>,
        /// Method, headers and body when not curl's GET.
        extra: crate::app::http::RequestExtra,
    },
    /// A lookup of `name` at `server:port` over UDP: type A, or `qtype`
    /// (`DNS AAAA name` in a bundle flow).
    DnsA {
        server: std::net::IpAddr,
        port: u16,
        name: String,
        qtype: u16,
    },
    /// `ping -c 1 -s SIZE` (with DF unless `df` is false).
    Ping {
        dst: Ipv4Addr,
        size: usize,
        df: bool,
        /// The echo's identifier and sequence number when the flow gives
        /// them (`ICMP echo id=0x.. seq=N`); else a drawn id and seq 1, as
        /// ping's socket gets.
        ident: Option<(u16, u16)>,
        /// An ICMP timestamp request (type 13) instead of an echo.
        timestamp: bool,
    },
    /// `ping -6 -c COUNT -s SIZE`: echo requests one second apart.
    Ping6 {
        dst: std::net::Ipv6Addr,
        size: usize,
        count: u16,
        /// `-t`: the hop limit of the requests (else the device's, 64).
        hlim: Option<u8>,
    },
    /// One UDP datagram with exactly `payload`, to `dst:port`; the answer
    /// awaited for the flow's timeout.
    Udp {
        dst: std::net::IpAddr,
        port: u16,
        payload: Vec<u8>,
    },
    /// An SCTP association to `dst:port` carrying one message (`payload`)
    /// whose echo is awaited; with none, the association set up and
    /// closed (a connect probe).
    Sctp {
        dst: Ipv4Addr,
        port: u16,
        payload: Option<Vec<u8>>,
    },
    /// A lookup through the host's resolv.conf (search list, ndots), then,
    /// with `then`, an HTTP GET to the address found.
    Resolve {
        name: String,
        then: Option<crate::app::ThenHttp>,
    },
}

/// How a flow's client runs, beside what it sends: a bundle flow's `src`,
/// `src_port_hint`, `spoofed`, `uid` and `timeout_s` (DESIGN §5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOpts {
    /// bind() to this source address instead of the routed one.
    pub src: Option<Ipv4Addr>,
    /// bind() to this source port instead of an ephemeral one.
    pub sport: Option<u16>,
    /// With `src`: sent from a raw socket with that forged source, so no
    /// answer reaches the sender's socket.
    pub spoofed: bool,
    /// The uid (and gid) the client runs as (`-m owner`); root otherwise.
    pub uid: Option<u32>,
    /// How long the client waits for its answer before it gives up.
    pub timeout_ns: Option<u64>,
}

/// One traffic entry of a scenario.
#[derive(Clone, Debug)]
pub struct FlowSpec {
    pub id: String,
    pub from: usize,
    pub request: Request,
    pub start_ns: u64,
    pub count: u32,
    pub interval_ns: u64,
    /// Starts when the flow before it (the previous instance, or the last
    /// instance of the previous spec) has ended, as the next command of a
    /// script starts when the one before exits; `start_ns` is then unused.
    /// A bundle's flows without a `start` run so.
    pub after_previous: bool,
    /// How its client runs.
    pub client: ClientOpts,
    /// What must happen to each of its flows (`expect:`).
    pub expect: Vec<crate::trace::Expect>,
    /// The random stream of each of its connections (index: the
    /// connection, 0-based; missing or 0: the flow's own stream). Another
    /// number gives the connection other random choices (endpoint,
    /// ephemeral port, ISN) and changes nothing else: live diffs pick the
    /// stream whose choices the real run made ([`crate::net::host::stream_of`]).
    pub streams: Vec<u64>,
}

/// A change to the topology at a point of virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// `ip link set DEV down` (frames sent into it or out of it are lost).
    LinkDown {
        host: usize,
        dev: usize,
    },
    LinkUp {
        host: usize,
        dev: usize,
    },
    /// The node stops: every device down.
    NodeDown {
        host: usize,
    },
    /// `conntrack -F`
    ConntrackFlush {
        host: usize,
    },
    /// A server process stops: its listening sockets close (SYNs get RST,
    /// datagrams ICMP port unreachable).
    ProcessStop {
        host: usize,
        app: usize,
    },
    /// The one-way latency of a link changes (both directions).
    Latency {
        host: usize,
        dev: usize,
        ns: u64,
    },
    /// A link starts losing this share of its frames (both directions),
    /// in parts per million.
    Loss {
        host: usize,
        dev: usize,
        ppm: u32,
    },
    /// The control plane reacts to a change of the cluster's objects: the
    /// state in `World::resyncs[idx]` replaces what kube-proxy, ingress-nginx
    /// and the sidecars had programmed.
    Resync {
        idx: usize,
    },
}

/// What kube-proxy, ingress-nginx and istiod program after a change of the
/// cluster's objects (an endpoint removed), host by host.
#[derive(Clone, Debug)]
pub struct Resync {
    /// `endpoint 10.244.1.2 removed (Pod default/web-1)`
    pub what: String,
    /// The endpoint's address, when one left: UDP conntrack entries DNATed
    /// to it are cleared, as kube-proxy does.
    pub endpoint: Option<Ipv4Addr>,
    /// Who reprograms the hosts: `kube-proxy`, `felix`,
    /// `kube-network-policies`, or `none` (a CNI that enforces no
    /// NetworkPolicy).
    pub agent: String,
    pub hosts: Vec<HostResync>,
    /// kube-proxy runs in nftables mode (for the timeline's wording)
    pub hosts_nft: bool,
}

#[derive(Clone, Debug)]
pub struct HostResync {
    pub host: usize,
    /// kube-proxy's sync: the whole iptables state, the ipsets and the
    /// IPVS virtual servers (None: unchanged)
    pub iptables: Option<crate::net::netfilter::Ruleset>,
    pub ipsets: Option<crate::net::netfilter::ipset::IpsetStore>,
    pub ipvs: Option<Vec<crate::net::ipvs::VirtualService>>,
    /// nftables mode: the new ruleset and its text
    pub nftables: Option<(crate::net::netfilter::nftables::Nft, String)>,
    /// apps that learn endpoints (ingress-nginx's Lua balancer, Envoy's
    /// EDS): app index -> the app as the new configuration builds it
    pub apps: Vec<(usize, App)>,
    /// a queue program's new judgement (kube-network-policies after a
    /// policy or label change): (queue, program, listener); the program
    /// is started when the node did not run it (no policy before)
    pub nfqueue: Option<NfqueueResync>,
    /// with a new iptables state: what its generated rules stand for
    /// (felix's policy chains, `netfilter::notes`), replacing the old
    /// notes so a trace names the policies of the new rules
    pub rule_notes: Option<Option<std::sync::Arc<crate::net::netfilter::notes::RuleNotes>>>,
}

/// (queue, program, listener) of a [HostResync].
pub type NfqueueResync = (
    u16,
    String,
    std::sync::Arc<dyn crate::net::netfilter::nfqueue::QueueListener>,
);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub at_ns: u64,
    pub kind: FaultKind,
}

/// Hosts, links (as device peers) and traffic: everything a run needs.
/// Cloned, it is a fresh copy to run again (`podpath reach` runs one
/// probe per copy): the hosts and their programs are shared with the
/// original until the copy changes them ([`Shared`]), so a run pays for
/// the hosts its packets touch, not for the whole cluster.
#[derive(Clone)]
pub struct World {
    pub scenario: String,
    pub seed: u64,
    pub hosts: Shared<Host>,
    /// The programs on each host (`apps[h][a]` is host `h`'s program `a`,
    /// the owner `a` of its sockets).
    pub apps: Shared<Vec<App>>,
    pub flows: Vec<FlowSpec>,
    /// The scenario's fault timeline.
    pub faults: Vec<Fault>,
    /// Virtual time after which the run stops.
    pub horizon_ns: u64,
    /// Control-plane resyncs the fault timeline refers to.
    pub resyncs: Vec<Resync>,
}
