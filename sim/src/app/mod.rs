//! User-space programs on sockets. Each reacts to socket events with actions
//! (send, close, report an outcome); the host carries them out.

pub mod dns;
pub mod envoy;
pub mod gai;
pub mod haproxy;
pub mod haproxy_log;
pub mod haproxy_stats;
pub mod http;
pub mod ingress_nginx;
pub mod keepalived;
pub mod launch;
pub mod nfqueue;
pub mod ping;
pub mod ping6;
pub mod proxy;
pub mod sctp;
pub mod udp;

use std::net::Ipv4Addr;

use crate::net::socket::SocketEvent;
use crate::net::tcp::ConnKey;

pub mod runtime;
pub use runtime::Runtime;

pub use dns::{DnsClient, DnsServer, IpResolve, ResolvConf, ThenHttp};
pub use http::{HttpClient, HttpResponseSpec, HttpServer};
pub use ping::PingClient;

/// A proxy's view of a connection address. Simplification: the proxies
/// (haproxy, ingress-nginx, envoy) listen on IPv4 wildcards or addresses
/// and connect to IPv4 backends only, so every connection they hold is
/// IPv4; an IPv6 address (never seen there) reads as its v4-mapped form
/// or 0.0.0.0.
pub(crate) fn ip4(a: std::net::IpAddr) -> Ipv4Addr {
    match a {
        std::net::IpAddr::V4(a) => a,
        std::net::IpAddr::V6(a) => a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent {
    Connected {
        key: ConnKey,
    },
    /// `orig_dst`: SO_ORIGINAL_DST (the destination before REDIRECT/DNAT);
    /// `flow`: the trace flow of the connection.
    Accepted {
        key: ConnKey,
        orig_dst: Option<(Ipv4Addr, u16)>,
        flow: u32,
    },
    Data {
        key: ConnKey,
        data: Vec<u8>,
    },
    Eof {
        key: ConnKey,
    },
    Closed {
        key: ConnKey,
    },
    Reset {
        key: ConnKey,
    },
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
    Datagram {
        from: (std::net::IpAddr, u16),
        to: (std::net::IpAddr, u16),
        data: Vec<u8>,
        flow: u32,
        pkt: u64,
    },
    /// An application timer fired.
    Timer {
        token: u64,
    },
    /// An ICMP message for a ping socket (echo reply, or an error quoting
    /// its request).
    Icmp {
        from: Ipv4Addr,
        msg: crate::wire::icmp::IcmpRepr,
        ttl: u8,
    },
    /// An ICMPv6 message for a ping socket.
    Icmp6 {
        from: std::net::Ipv6Addr,
        msg: crate::wire::icmpv6::Icmpv6Repr,
        hlim: u8,
    },
    /// A daemon starts (at time 0), with the trace flow its own traffic
    /// belongs to.
    Start {
        flow: u32,
    },
    /// The daemon is stopped (SIGTERM): it may say goodbye on the wire.
    Stop,
    /// A connection the app opened (`AppAction::Connect`) has its key.
    Opened {
        key: ConnKey,
        token: u64,
    },
    /// `connect()` failed at once (no route, no source address).
    ConnectFailed {
        token: u64,
        why: String,
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

impl From<SocketEvent> for AppEvent {
    fn from(e: SocketEvent) -> AppEvent {
        match e {
            SocketEvent::Connected { key } => AppEvent::Connected { key },
            SocketEvent::Accepted {
                key,
                orig_dst,
                flow,
            } => AppEvent::Accepted {
                key,
                orig_dst,
                flow,
            },
            SocketEvent::Data { key, data } => AppEvent::Data { key, data },
            SocketEvent::Eof { key } => AppEvent::Eof { key },
            SocketEvent::Closed { key } => AppEvent::Closed { key },
            SocketEvent::Reset { key } => AppEvent::Reset { key },
            SocketEvent::Refused { key, why } => AppEvent::Refused { key, why },
            SocketEvent::TimedOut { key, tries, data } => AppEvent::TimedOut { key, tries, data },
            SocketEvent::Datagram {
                from,
                to,
                data,
                flow,
                pkt,
            } => AppEvent::Datagram {
                from,
                to,
                data,
                flow,
                pkt,
            },
            SocketEvent::Icmp { from, msg, ttl } => AppEvent::Icmp { from, msg, ttl },
            SocketEvent::Icmp6 { from, msg, hlim } => AppEvent::Icmp6 { from, msg, hlim },
            SocketEvent::Raw {
                dev,
                src,
                dst,
                ttl,
                proto,
                data,
                pkt,
            } => AppEvent::Raw {
                dev,
                src,
                dst,
                ttl,
                proto,
                data,
                pkt,
            },
        }
    }
}

impl AppEvent {
    pub fn key(&self) -> Option<ConnKey> {
        match self {
            AppEvent::Connected { key }
            | AppEvent::Accepted { key, .. }
            | AppEvent::Data { key, .. }
            | AppEvent::Eof { key }
            | AppEvent::Closed { key }
            | AppEvent::Reset { key }
            | AppEvent::Refused { key, .. }
            | AppEvent::TimedOut { key, .. }
            | AppEvent::Opened { key, .. } => Some(*key),
            AppEvent::Datagram { .. }
            | AppEvent::Timer { .. }
            | AppEvent::Icmp { .. }
            | AppEvent::Icmp6 { .. }
            | AppEvent::Start { .. }
            | AppEvent::Stop
            | AppEvent::ConnectFailed { .. }
            | AppEvent::Raw { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppAction {
    Send(ConnKey, Vec<u8>, String),
    Close(ConnKey),
    /// close() of a client whose time is up: also in SYN-SENT.
    GiveUp(ConnKey),
    /// shutdown(SHUT_WR): a FIN, the connection still read (its peer's FIN
    /// comes back as an `Eof`).
    Shutdown(ConnKey),
    /// close() with SO_LINGER {1, 0}: an RST, the connection gone.
    Abort(ConnKey),
    /// setsockopt(TCP_QUICKACK, 0) on a connection being opened: the
    /// handshake's ACK waits for the delayed-ACK timer.
    QuickAckOff(ConnKey),
    /// A ping6's next echo request (its sequence number).
    SendEcho6(u16),
    /// The flow ended: how, and in words.
    Outcome(u32, crate::trace::Disposition, String),
    /// The application answers `flow` by itself (a server's response, a
    /// proxy's own error page): the flow was served by this host.
    Served(FlowOf),
    /// One message on an SCTP association (`sendmsg`).
    SctpSend(ConnKey, Vec<u8>, String),
    /// `close()` of an SCTP association: the graceful SHUTDOWN.
    SctpClose(ConnKey),
    /// An SCTP association given up: an ABORT once established.
    SctpAbort(ConnKey),
    /// A UDP datagram from `src` to `dst`.
    SendUdp {
        src: (std::net::IpAddr, u16),
        dst: (std::net::IpAddr, u16),
        payload: Vec<u8>,
        note: String,
    },
    /// Send the client's request again (DNS retry).
    Resend,
    /// Ask the next name of the search list (a new query).
    NextQuery,
    /// The name resolved: make the HTTP request to the addresses (in the
    /// order the answers came; getaddrinfo sorts them).
    StartHttp {
        flow: u32,
        flow_id: String,
        /// The name as the program gave it.
        name: String,
        dsts: Vec<std::net::IpAddr>,
        then: dns::ThenHttp,
        note: String,
    },
    /// Happy Eyeballs: connect() to the next address of the client's
    /// family `family` (0 the first, 1 the other).
    ConnectNext {
        family: usize,
        note: String,
    },
    /// Open a TCP connection for `flow` (the connection's key comes back as
    /// `AppEvent::Opened` with `token`, then `Connected` or a failure).
    Connect {
        flow: FlowOf,
        dst: Ipv4Addr,
        port: u16,
        token: u64,
        note: String,
    },
    /// Arm an application timer (`AppEvent::Timer { token }` at `at_ns`).
    Timer {
        at_ns: u64,
        token: u64,
    },
    /// `ip addr add NET dev DEV` (keepalived's VIP).
    AddAddr {
        dev: String,
        net: ipnet::Ipv4Net,
        note: String,
    },
    /// `ip addr del NET dev DEV`.
    DelAddr {
        dev: String,
        net: ipnet::Ipv4Net,
        note: String,
    },
    /// A raw IP datagram out of `dev` (no routing: IP_MULTICAST_IF), as
    /// keepalived sends VRRP adverts.
    SendRaw {
        flow: u32,
        dev: String,
        dst: Ipv4Addr,
        ttl: u8,
        proto: u8,
        data: Vec<u8>,
        note: String,
    },
    /// Gratuitous ARP for `ip` out of `dev`.
    Garp {
        flow: u32,
        dev: String,
        ip: Ipv4Addr,
        note: String,
    },
    /// A line for the log (the trace's events).
    Log(String),
    /// A line of the program's own log about one flow (HAProxy's traffic
    /// log): `program` names it and where it goes.
    FlowLog {
        flow: u32,
        program: String,
        line: String,
    },
    /// The client's flow received this response body.
    ResponseBody {
        flow: u32,
        body: String,
    },
    /// Join a multicast group on a device (IP_ADD_MEMBERSHIP).
    JoinGroup {
        dev: String,
        group: Ipv4Addr,
        proto: u8,
    },
}

/// Which trace flow a connection's packets belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowOf {
    /// The flow of an existing connection (a proxy's upstream connection
    /// continues its client's flow).
    Conn(ConnKey),
    Id(u32),
}

#[derive(Clone, Debug)]
pub enum App {
    HttpServer(HttpServer),
    HttpClient(HttpClient),
    DnsServer(DnsServer),
    DnsClient(DnsClient),
    Ping(PingClient),
    Ping6(ping6::Ping6Client),
    Proxy(Box<proxy::Proxy>),
    Keepalived(Box<keepalived::Keepalived>),
    Envoy(Box<envoy::Envoy>),
    UdpClient(udp::UdpClient),
    UdpEcho(udp::UdpEchoServer),
    SctpClient(sctp::SctpClient),
    SctpEcho(sctp::SctpEchoServer),
    Raw(udp::RawSender),
    /// A program on an nfnetlink queue (kube-network-policies).
    Nfqueue(nfqueue::NfqueueProgram),
}

impl App {
    /// Takes the endpoints of `new` (the same app built from a changed
    /// cluster); apps that do not learn endpoints ignore it.
    pub fn update_endpoints(&mut self, new: App) -> bool {
        match (self, new) {
            (App::Proxy(p), App::Proxy(n)) => p.update_endpoints(*n),
            (App::Envoy(e), App::Envoy(n)) => e.update_endpoints(*n),
            _ => false,
        }
    }

    pub fn name(&self) -> String {
        match self {
            App::HttpServer(s) => format!("http-server {}", s.name),
            App::HttpClient(c) => format!("http-client {}", c.flow_id),
            App::DnsServer(s) => format!("dns-server {}", s.name),
            App::DnsClient(c) => format!("dns-client {}", c.flow_id),
            App::Ping(c) => format!("ping {}", c.flow_id),
            App::Ping6(c) => format!("ping -6 {}", c.flow_id),
            App::Proxy(p) => p.name.clone(),
            App::Keepalived(k) => k.name.clone(),
            App::Envoy(e) => e.name.clone(),
            App::UdpClient(c) => format!("udp-client {}", c.flow_id),
            App::UdpEcho(s) if s.sink => format!("udp-listener {}", s.name),
            App::UdpEcho(s) => format!("udp-echo-server {}", s.name),
            App::SctpClient(c) => format!("sctp-client {}", c.flow_id),
            App::SctpEcho(s) if s.sink => format!("sctp-listener {}", s.name),
            App::SctpEcho(s) => format!("sctp-echo-server {}", s.name),
            App::Raw(c) => format!("raw-socket {}", c.flow_id),
            App::Nfqueue(q) => q.name.clone(),
        }
    }
    /// The uid the program runs as (`-m owner`): Envoy's 1337, root else.
    pub fn uid(&self) -> u32 {
        match self {
            App::Envoy(_) => envoy::UID,
            _ => 0,
        }
    }
    /// Daemons run from time 0 on their own timers (adverts, health
    /// checks); a run with daemons ends once the scenario's flows are done.
    pub fn is_daemon(&self) -> bool {
        match self {
            App::Keepalived(_) => true,
            App::Proxy(p) => p.has_checks(),
            _ => false,
        }
    }
    /// `script`: forced random choices (`podpath paths`), for proxies'
    /// `balance random`.
    pub fn on_event(
        &mut self,
        ev: &AppEvent,
        now: u64,
        script: Option<&mut crate::net::netfilter::ScriptChooser>,
    ) -> Vec<AppAction> {
        match self {
            App::HttpServer(s) => s.on_event(ev),
            App::HttpClient(c) => c.on_event(ev, now),
            App::DnsServer(s) => s.on_event(ev),
            App::DnsClient(c) => c.on_event(ev, now),
            App::Ping(c) => c.on_event(ev, now),
            App::Ping6(c) => c.on_event(ev, now),
            App::Proxy(p) => p.on_event(ev, now, script),
            App::Keepalived(k) => k.on_event(ev, now),
            App::Envoy(e) => e.on_event(ev, now),
            App::UdpClient(c) => c.on_event(ev, now),
            App::UdpEcho(s) => s.on_event(ev),
            App::SctpClient(c) => c.on_event(ev, now),
            App::SctpEcho(s) => s.on_event(ev),
            App::Raw(c) => c.on_event(ev),
            App::Nfqueue(q) => q.on_event(),
        }
    }
}
