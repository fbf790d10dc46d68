//! User-space programs on sockets. Each reacts to socket events with actions
//! (send, close, report an outcome); the host carries them out.

pub mod dns;
pub mod envoy;
pub mod haproxy;
pub mod http;
pub mod ingress_nginx;
pub mod keepalived;
pub mod ping;
pub mod proxy;

use std::net::Ipv4Addr;

use crate::net::host::{Ctx, Host, Output};
use crate::net::tcp::ConnKey;

pub use dns::{DnsClient, DnsServer, ResolvConf, ThenHttp};
pub use http::{HttpClient, HttpResponseSpec, HttpServer};
pub use ping::PingClient;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent {
    Connected {
        key: ConnKey,
    },
    Accepted {
        key: ConnKey,
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
        from: (Ipv4Addr, u16),
        to: (Ipv4Addr, u16),
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

impl AppEvent {
    pub fn key(&self) -> Option<ConnKey> {
        match self {
            AppEvent::Connected { key }
            | AppEvent::Accepted { key }
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
    /// The flow ended: how, and in words.
    Outcome(u32, crate::trace::Disposition, String),
    /// The application answers `flow` by itself (a server's response, a
    /// proxy's own error page): the flow was served by this host.
    Served(FlowOf),
    /// A UDP datagram from `src` to `dst`.
    SendUdp {
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        payload: Vec<u8>,
        note: String,
    },
    /// Send the client's request again (DNS retry).
    Resend,
    /// Ask the next name of the search list (a new query).
    NextQuery,
    /// The name resolved: make the HTTP request to the address.
    StartHttp {
        flow: u32,
        flow_id: String,
        dst: Ipv4Addr,
        then: dns::ThenHttp,
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
    Proxy(Box<proxy::Proxy>),
    Keepalived(Box<keepalived::Keepalived>),
    Envoy(Box<envoy::Envoy>),
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
            App::Proxy(p) => p.name.clone(),
            App::Keepalived(k) => k.name.clone(),
            App::Envoy(e) => e.name.clone(),
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
            App::Proxy(p) => p.on_event(ev, now, script),
            App::Keepalived(k) => k.on_event(ev, now),
            App::Envoy(e) => e.on_event(ev, now),
        }
    }
}

impl Host {
    /// Sends a UDP datagram from a socket. With no source, the route picks
    /// the address. Returns the source used.
    #[allow(clippy::too_many_arguments)]
    pub fn udp_send(
        &mut self,
        ctx: &mut Ctx,
        flow: u32,
        parent: Option<u64>,
        src: Option<(Ipv4Addr, u16)>,
        dst: (Ipv4Addr, u16),
        payload: Vec<u8>,
        note: String,
        txhash: Option<u32>,
    ) {
        let (sa, sp) = src.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
        let id = self.next_ip_id();
        let ip = crate::wire::Ipv4Repr::new(
            sa,
            dst.0,
            64,
            id,
            crate::wire::L4::Udp {
                hdr: crate::wire::udp_header(sp, dst.1),
                payload,
            },
        );
        let mut m = ctx.new_meta(flow, parent);
        m.hash = txhash;
        ctx.out.push(Output::SendLocal {
            ip,
            meta: m,
            note: Some(note),
        });
    }

    /// Starts (or repeats) a DNS client's query: binds an ephemeral port the
    /// first time, sends, and arms the 5 s retry timer.
    pub fn dns_send(&mut self, ctx: &mut Ctx, app: usize) {
        use rand_core::Rng;
        let App::DnsClient(c) = &self.apps[app] else {
            return;
        };
        let (flow, server, port, name) = (c.flow, c.server, c.port, c.current().to_string());
        let bound = self
            .udp_listeners
            .iter()
            .find(|(_, a)| **a == app)
            .map(|(p, _)| *p);
        let sport = match bound {
            Some(p) => p,
            None => {
                let (lo, hi) = self.sysctl.port_range();
                let span = (hi - lo) as u32 + 1;
                let start = self.rng.next_u32() % span;
                let p = (0..span)
                    .map(|i| lo + ((start + i) % span) as u16)
                    .find(|p| !self.udp_listeners.contains_key(p))
                    .unwrap_or(lo);
                self.udp_listeners.insert(p, app);
                let txhash = self.rng.next_u32();
                if let App::DnsClient(c) = &mut self.apps[app] {
                    c.id = self.rng.next_u32() as u16;
                    c.tries = 1;
                    // A connect()ed UDP socket (glibc's resolver) gets a
                    // random sk_txhash, stamped on its packets as skb->hash.
                    c.txhash = c.connected.then_some(txhash);
                }
                p
            }
        };
        let App::DnsClient(c) = &self.apps[app] else {
            return;
        };
        let q = c.query();
        let tries = c.tries;
        let txhash = c.txhash;
        self.udp_send(
            ctx,
            flow,
            None,
            Some((Ipv4Addr::UNSPECIFIED, sport)),
            (server, port),
            q,
            format!("resolver: A {name}? to {server}:{port} (attempt {tries})"),
            txhash,
        );
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + crate::app::dns::TIMEOUT_NS,
            timer: crate::net::host::HostTimer::App {
                app,
                token: tries as u64,
            },
        });
    }

    /// Sends a ping's echo request and arms its wait.
    pub fn ping_send(&mut self, ctx: &mut Ctx, app: usize) {
        let App::Ping(p) = &self.apps[app] else {
            return;
        };
        let (flow, dst, df) = (p.flow, p.dst, p.df);
        let req = p.request();
        let note = format!(
            "ping: echo request id {} seq {} to {dst}, {} data bytes{}",
            p.id,
            p.seq,
            p.size,
            if df { ", DF (-M do)" } else { "" }
        );
        let id = self.next_ip_id();
        let mut ip = crate::wire::Ipv4Repr::new(
            Ipv4Addr::UNSPECIFIED,
            dst,
            64,
            id,
            crate::wire::L4::Icmp(req),
        );
        ip.hdr.dont_fragment = df;
        let m = ctx.new_meta(flow, None);
        ctx.out.push(Output::SendLocal {
            ip,
            meta: m,
            note: Some(note),
        });
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + crate::app::ping::WAIT_NS,
            timer: crate::net::host::HostTimer::App { app, token: 0 },
        });
    }

    /// Runs an application's reaction to a socket event and carries out its
    /// actions; then sends the ACK the socket still owes, if any.
    pub fn app_event(&mut self, ctx: &mut Ctx, app: usize, ev: AppEvent) {
        if let (AppEvent::Accepted { key }, App::Envoy(_)) = (&ev, &self.apps[app]) {
            // SO_ORIGINAL_DST: the destination before REDIRECT, from the
            // connection's conntrack entry (looked up by its reply tuple)
            let t = crate::net::netfilter::conntrack::Tuple {
                proto: 6,
                src: key.0,
                sport: key.1,
                dst: key.2,
                dport: key.3,
            };
            let od = self
                .ct
                .lookup(&t, ctx.now)
                .and_then(|(id, _)| self.ct.get(id))
                .map(|c| (c.orig.dst, c.orig.dport));
            if let (Some(od), App::Envoy(e)) = (od, &mut self.apps[app]) {
                e.set_orig_dst(*key, od);
            }
        }
        let actions = self.apps[app].on_event(&ev, ctx.now, ctx.script.as_deref_mut());
        for a in actions {
            match a {
                AppAction::Send(k, data, note) => {
                    if let Some(t) = self.tcp.conns.get(&k) {
                        let _ = t;
                        self.tcp_send_noted(ctx, k, &data, note);
                    }
                }
                AppAction::Close(k) => self.tcp_close(ctx, k),
                AppAction::Outcome(flow, disposition, text) => ctx.out.push(Output::Outcome {
                    flow,
                    disposition,
                    text,
                }),
                AppAction::Served(of) => {
                    let flow = match of {
                        FlowOf::Conn(k) => self.tcp.conns.get(&k).map(|t| t.flow),
                        FlowOf::Id(f) => Some(f),
                    };
                    if let Some(flow) = flow {
                        ctx.out.push(Output::Served {
                            flow,
                            app: self.apps[app].name(),
                        });
                    }
                }
                AppAction::SendUdp {
                    src,
                    dst,
                    payload,
                    note,
                } => {
                    let (flow, parent) = match &ev {
                        AppEvent::Datagram { flow, pkt, .. } => (*flow, Some(*pkt)),
                        _ => (0, None),
                    };
                    self.udp_send(ctx, flow, parent, Some(src), dst, payload, note, None);
                }
                AppAction::Resend => self.dns_send(ctx, app),
                AppAction::NextQuery => {
                    // glibc's res_send closes its socket after each query
                    // (no RES_STAYOPEN): the next name goes from a new
                    // socket, a new port, with a new query id.
                    self.udp_listeners.retain(|_, a| *a != app);
                    self.dns_send(ctx, app);
                }
                AppAction::Connect {
                    flow,
                    dst,
                    port,
                    token,
                    note,
                } => {
                    let (flow, parent) = match flow {
                        FlowOf::Conn(k) => self
                            .tcp
                            .conns
                            .get(&k)
                            .map(|t| (t.flow, Some(t.last_pkt)))
                            .unwrap_or((0, None)),
                        FlowOf::Id(f) => (f, None),
                    };
                    let before = ctx.out.len();
                    match self.tcp_connect(ctx, app, flow, dst, port) {
                        Ok(key) => {
                            if let Some(Output::SendLocal { note: n, meta, .. }) =
                                ctx.out.get_mut(before)
                            {
                                if parent.is_some() {
                                    meta.parent = parent;
                                }
                                *n = Some(match n.take() {
                                    Some(old) => format!("{note}; {old}"),
                                    None => note,
                                });
                            }
                            if let Some(t) = self.tcp.conns.get_mut(&key) {
                                if let Some(p) = parent {
                                    t.last_pkt = p;
                                }
                            }
                            self.app_event(ctx, app, AppEvent::Opened { key, token });
                        }
                        Err(why) => {
                            self.app_event(ctx, app, AppEvent::ConnectFailed { token, why })
                        }
                    }
                }
                AppAction::Timer { at_ns, token } => ctx.out.push(Output::Timer {
                    at_ns,
                    timer: crate::net::host::HostTimer::App { app, token },
                }),
                AppAction::AddAddr { dev, net, note } => {
                    if let Some(d) = self.dev_index(&dev) {
                        self.addr_add(d, net);
                        ctx.out.push(Output::Event {
                            what: format!("{}: {note}", self.name),
                        });
                    }
                }
                AppAction::DelAddr { dev, net, note } => {
                    if let Some(d) = self.dev_index(&dev) {
                        self.addr_del(d, net);
                        ctx.out.push(Output::Event {
                            what: format!("{}: {note}", self.name),
                        });
                    }
                }
                AppAction::SendRaw {
                    flow,
                    dev,
                    dst,
                    ttl,
                    proto,
                    data,
                    note,
                } => {
                    let Some(d) = self.dev_index(&dev) else {
                        continue;
                    };
                    let Some(src) = self.devs[d].addrs.first().map(|a| a.addr()) else {
                        continue;
                    };
                    let id = self.next_ip_id();
                    let ip =
                        crate::wire::Ipv4Repr::new(src, dst, ttl, id, crate::wire::L4::Raw(data))
                            .with_protocol(proto);
                    let meta = ctx.new_meta(flow, None);
                    ctx.out.push(Output::SendRaw {
                        dev: d,
                        ip,
                        meta,
                        note,
                    });
                }
                AppAction::Garp {
                    flow,
                    dev,
                    ip,
                    note,
                } => {
                    if let Some(d) = self.dev_index(&dev) {
                        let meta = ctx.new_meta(flow, None);
                        ctx.out.push(Output::Garp {
                            dev: d,
                            ip,
                            meta,
                            note,
                        });
                    }
                }
                AppAction::Log(what) => ctx.out.push(Output::Event {
                    what: format!("{}: {what}", self.name),
                }),
                AppAction::JoinGroup { dev, group, proto } => {
                    if let Some(d) = self.dev_index(&dev) {
                        self.mc_groups.insert((d, group));
                        self.raw_listeners.insert(proto, app);
                    }
                }
                AppAction::StartHttp {
                    flow,
                    flow_id,
                    dst,
                    then,
                    note,
                } => {
                    // The resolver's socket is done with.
                    self.udp_listeners.retain(|_, a| *a != app);
                    let before = ctx.out.len();
                    let client = self.apps.len();
                    self.apps.push(App::HttpClient(HttpClient::new(
                        flow,
                        &flow_id,
                        dst,
                        then.port,
                        &then.host_header,
                        &then.path,
                        ctx.now,
                    )));
                    if let Err(e) = self.tcp_connect(ctx, client, flow, dst, then.port) {
                        ctx.out.push(Output::Outcome {
                            flow,
                            disposition: crate::trace::Disposition::Failed { why: e.clone() },
                            text: format!("curl: (7) {e}"),
                        });
                    }
                    if let Some(n) = first_send_note(&mut ctx.out[before..]) {
                        *n = Some(match n.take() {
                            Some(old) => format!("{note}; {old}"),
                            None => note,
                        });
                    }
                }
            }
        }
        // An ACK still owed goes with the application's data, or when the
        // delayed-ACK timer fires (net/tcp.rs).
    }

    fn tcp_send_noted(&mut self, ctx: &mut Ctx, k: ConnKey, data: &[u8], note: String) {
        let before = ctx.out.len();
        self.tcp_send(ctx, k, data);
        if let Some(n) = first_send_note(&mut ctx.out[before..]) {
            *n = Some(format!("{note} ({} bytes)", data.len()));
        }
    }
}

/// The note of the first packet among these outputs (timers may come first).
fn first_send_note(out: &mut [Output]) -> Option<&mut Option<String>> {
    out.iter_mut().find_map(|o| match o {
        Output::SendLocal { note, .. } => Some(note),
        _ => None,
    })
}
