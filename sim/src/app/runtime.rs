//! The programs of a host beside its stack: a socket event for a program
//! runs the program (`App::on_event`), and what it asks for is carried out
//! through the host's socket calls (connect, send, close, datagrams, raw
//! sends, addresses, multicast groups, timers). The world keeps the
//! programs; the host only knows its sockets' owners.

use std::net::Ipv4Addr;

use super::{App, AppAction, AppEvent, FlowOf, HttpClient, ThenHttp};
use crate::net::host::{Ctx, Host, Output};
use crate::net::tcp::ConnKey;

/// One host's stack and its programs, for one event.
pub struct Runtime<'a> {
    pub h: &'a mut Host,
    pub apps: &'a mut Vec<App>,
}

/// Puts a program on a host: it joins the host's programs and the stack
/// learns its name and uid (for the trace and `-m owner`). Returns its
/// handle.
pub fn spawn(h: &mut Host, apps: &mut Vec<App>, app: App) -> usize {
    let i = apps.len();
    h.add_owner(i, app.name(), app.uid());
    apps.push(app);
    i
}

impl Runtime<'_> {
    /// [`spawn`] on this host.
    pub fn spawn(&mut self, app: App) -> usize {
        spawn(self.h, self.apps, app)
    }

    /// Starts (or repeats) a DNS client's query: binds an ephemeral port the
    /// first time, sends, and arms the 5 s retry timer.
    pub fn dns_send(&mut self, ctx: &mut Ctx, app: usize) {
        let App::DnsClient(c) = &self.apps[app] else {
            return;
        };
        let (flow, server, port, name) = (c.flow, c.server, c.port, c.current().to_string());
        let (src, pinned, wait_ns) = (c.src, c.sport, c.wait_ns);
        let bound = self.h.udp_port_of(app);
        let sport = match bound {
            Some(p) => p,
            None => {
                if let Err(why) = self.dns_bind_check(src, pinned, app) {
                    if let App::DnsClient(c) = &mut self.apps[app] {
                        c.done = true;
                    }
                    ctx.trace.set_outcome(
                        flow,
                        crate::trace::Disposition::Failed { why: why.clone() },
                        format!("resolver: {why}"),
                    );
                    return;
                }
                let p = match pinned {
                    Some(p) => p,
                    None => self.h.bind_udp_ephemeral(ctx.trace, Some(flow), app),
                };
                let txhash = self.h.draw(ctx.trace, Some(flow));
                let id = self.h.draw(ctx.trace, Some(flow)) as u16;
                let pair = matches!(&self.apps[app], App::DnsClient(c) if c.pair);
                let id2 = if pair {
                    self.h.draw(ctx.trace, Some(flow)) as u16
                } else {
                    0
                };
                if let App::DnsClient(c) = &mut self.apps[app] {
                    c.id = id;
                    c.id2 = id2;
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
        let qt = crate::wire::dns::qtype_name(c.qtype);
        let tries = c.tries;
        let txhash = c.txhash;
        let from = Some((src.unwrap_or(Ipv4Addr::UNSPECIFIED).into(), sport));
        // the query; with AF_UNSPEC the AAAA one right after it
        let mut queries = vec![(
            c.query(),
            if c.pair {
                format!("{qt} {name}? to {server}:{port} (attempt {tries}), the AAAA query right after it on the same socket (getaddrinfo AF_UNSPEC)")
            } else {
                format!("{qt} {name}? to {server}:{port} (attempt {tries})")
            },
        )];
        if c.pair {
            queries.push((
                c.query2(),
                format!("AAAA {name}? to {server}:{port} (attempt {tries})"),
            ));
        }
        for (q, what) in queries {
            let note = format!("resolver: {what}");
            self.h
                .udp_send(ctx, flow, None, from, (server, port), q, note, txhash);
        }
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + wait_ns,
            timer: crate::net::host::HostTimer::App {
                app,
                token: tries as u64,
            },
        });
    }

    /// bind() of a resolver's socket to the address and port a flow gives
    /// (udp_v4_get_port / inet_bind: a port another socket holds is
    /// EADDRINUSE, an address the host does not own EADDRNOTAVAIL unless
    /// `ip_nonlocal_bind`); binds the pinned port.
    fn dns_bind_check(
        &mut self,
        src: Option<Ipv4Addr>,
        pinned: Option<u16>,
        app: usize,
    ) -> Result<(), String> {
        if let Some(a) = src {
            if !self.h.is_local(a) && self.h.sysctl.int("net.ipv4.ip_nonlocal_bind") == 0 {
                return Err(format!(
                    "bind to {a}: Cannot assign requested address (EADDRNOTAVAIL)"
                ));
            }
        }
        if let Some(p) = pinned {
            if self.h.bind_udp(p, app).is_err() {
                return Err(format!(
                    "bind to port {p}: Address already in use (EADDRINUSE)"
                ));
            }
        }
        Ok(())
    }

    /// Sends a ping6's echo request `seq` and arms the next one (1 s on)
    /// or, after the last, the wait.
    pub fn ping6_send(&mut self, ctx: &mut Ctx, app: usize, seq: u16) {
        let App::Ping6(p) = &mut self.apps[app] else {
            return;
        };
        p.seq = seq;
        p.sent_ns.push(ctx.now);
        let (flow, dst, id, count, size, hl) = (p.flow, p.dst, p.id, p.count, p.size, p.hlim);
        let req = p.request(seq);
        self.h.icmp_socks.insert((id, app));
        let note = format!("ping -6: echo request id {id} seq {seq} to {dst}, {size} data bytes");
        let hlim = hl.unwrap_or(
            self.h
                .sysctl
                .int("net.ipv6.conf.all.hop_limit")
                .clamp(1, 255) as u8,
        );
        let ip = crate::wire::Ipv6Repr::new(
            std::net::Ipv6Addr::UNSPECIFIED,
            dst,
            hlim,
            0,
            crate::wire::L4::Icmp6(req),
        );
        let m = ctx.new_meta(flow, None);
        ctx.out.push(Output::SendLocal6 {
            ip,
            meta: m,
            note: Some(note),
        });
        let (at, token) = if seq < count {
            (crate::app::ping6::INTERVAL_NS, seq as u64 + 1)
        } else {
            (crate::app::ping6::WAIT_NS, 0)
        };
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + at,
            timer: crate::net::host::HostTimer::App { app, token },
        });
    }

    /// Sends a ping's echo request and arms its wait.
    pub fn ping_send(&mut self, ctx: &mut Ctx, app: usize) {
        let App::Ping(p) = &self.apps[app] else {
            return;
        };
        let (flow, dst, df, spoofed, bound) = (p.flow, p.dst, p.df, p.spoofed, p.src);
        let req = p.request();
        let what = if p.timestamp {
            "timestamp request"
        } else {
            "echo request"
        };
        let note = match spoofed {
            // a raw socket (IP_HDRINCL) writes the forged source itself
            Some(s) => format!(
                "raw socket: ICMP {what} id {} seq {} to {dst} from the forged source {s}",
                p.id, p.seq
            ),
            None => {
                // the ping socket: replies with this id come to it
                self.h.icmp_socks.insert((p.id, app));
                format!(
                    "ping: {what} id {} seq {} to {dst}, {} data bytes{}",
                    p.id,
                    p.seq,
                    p.size,
                    if df { ", DF (-M do)" } else { "" }
                )
            }
        };
        let id = self.h.next_ip_id();
        let mut ip = crate::wire::Ipv4Repr::new(
            spoofed.or(bound).unwrap_or(Ipv4Addr::UNSPECIFIED),
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
        let actions = self.apps[app].on_event(&ev, ctx.now, ctx.script.as_deref_mut());
        // a ping that has its answer closes its socket
        match &self.apps[app] {
            App::Ping(p) if p.done => {
                self.h.icmp_socks.remove(&(p.id, app));
            }
            App::Ping6(p) if p.done => {
                self.h.icmp_socks.remove(&(p.id, app));
            }
            _ => {}
        }
        for a in actions {
            self.action(ctx, app, &ev, a);
        }
        // An ACK still owed goes with the application's data, or when the
        // delayed-ACK timer fires (net/tcp.rs).
    }

    /// Carries out one action of program `app`, asked for in answer to `ev`.
    fn action(&mut self, ctx: &mut Ctx, app: usize, ev: &AppEvent, a: AppAction) {
        match a {
            AppAction::Send(k, data, note) => {
                if let Some(t) = self.h.tcp.conns.get(&k) {
                    let _ = t;
                    self.tcp_send_noted(ctx, k, &data, note);
                }
            }
            AppAction::Close(k) => self.h.tcp_close(ctx, k),
            AppAction::GiveUp(k) => self.h.tcp_give_up(ctx, k),
            AppAction::Shutdown(k) => self.h.tcp_shutdown(ctx, k),
            AppAction::Abort(k) => self.h.tcp_abort(ctx, k),
            AppAction::QuickAckOff(k) => {
                if let Some(t) = self.h.tcp.conns.get_mut(&k) {
                    t.quickack_off = true;
                }
            }
            AppAction::SctpSend(k, data, note) => self.h.sctp_send(ctx, k, &data, note),
            AppAction::SctpClose(k) => self.h.sctp_close(ctx, k),
            AppAction::SctpAbort(k) => self.h.sctp_abort(ctx, k),
            AppAction::SendEcho6(seq) => self.ping6_send(ctx, app, seq),
            AppAction::Outcome(flow, disposition, text) => ctx.out.push(Output::Outcome {
                flow,
                disposition,
                text,
            }),
            AppAction::Served(of) => self.served(ctx, app, of),
            AppAction::SendUdp {
                src,
                dst,
                payload,
                note,
            } => {
                let (flow, parent) = match ev {
                    AppEvent::Datagram { flow, pkt, .. } => (*flow, Some(*pkt)),
                    _ => (0, None),
                };
                self.h
                    .udp_send(ctx, flow, parent, Some(src), dst, payload, note, None);
            }
            AppAction::Resend => self.dns_send(ctx, app),
            AppAction::NextQuery => {
                // glibc's res_send closes its socket after each query
                // (no RES_STAYOPEN): the next name goes from a new
                // socket, a new port, with a new query id.
                self.h.close_udp(app);
                self.dns_send(ctx, app);
            }
            AppAction::Connect {
                flow,
                dst,
                port,
                token,
                note,
            } => self.connect(ctx, app, flow, (dst, port), token, note),
            AppAction::Timer { at_ns, token } => ctx.out.push(Output::Timer {
                at_ns,
                timer: crate::net::host::HostTimer::App { app, token },
            }),
            AppAction::AddAddr { dev, net, note } => {
                if let Some(d) = self.h.dev_index(&dev) {
                    self.h.addr_add(d, net);
                    ctx.out.push(Output::Event {
                        what: format!("{}: {note}", self.h.name),
                    });
                }
            }
            AppAction::DelAddr { dev, net, note } => {
                if let Some(d) = self.h.dev_index(&dev) {
                    self.h.addr_del(d, net);
                    ctx.out.push(Output::Event {
                        what: format!("{}: {note}", self.h.name),
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
            } => self.send_raw(ctx, flow, &dev, (dst, ttl, proto), data, note),
            AppAction::Garp {
                flow,
                dev,
                ip,
                note,
            } => {
                if let Some(d) = self.h.dev_index(&dev) {
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
                what: format!("{}: {what}", self.h.name),
            }),
            AppAction::FlowLog {
                flow,
                program,
                line,
            } => ctx.out.push(Output::AppLog {
                flow,
                program,
                line,
            }),
            AppAction::ResponseBody { flow, body } => {
                ctx.out.push(Output::ResponseBody { flow, body })
            }
            AppAction::JoinGroup { dev, group, proto } => {
                if let Some(d) = self.h.dev_index(&dev) {
                    self.h.join_group(d, group, proto, app);
                }
            }
            AppAction::StartHttp {
                flow,
                flow_id,
                name,
                dsts,
                then,
                note,
            } => {
                let how = (dsts.as_slice(), &then);
                self.start_http(ctx, app, (flow, &flow_id), how, (&name, note))
            }
            AppAction::ConnectNext { family, note } => self.connect_next(ctx, app, family, note),
        }
    }

    /// `AppAction::Served`: the program served the flow `of` names (for the
    /// flow's summary).
    fn served(&mut self, ctx: &mut Ctx, app: usize, of: FlowOf) {
        let flow = match of {
            FlowOf::Conn(k) => self.h.tcp.conns.get(&k).map(|t| t.flow),
            FlowOf::Id(f) => Some(f),
        };
        if let Some(flow) = flow {
            ctx.out.push(Output::Served {
                flow,
                app: self.apps[app].name(),
            });
        }
    }

    /// `AppAction::Connect`: connect() to `dst` (address, port) for the
    /// flow `flow` names; the SYN carries the program's note, and the
    /// program hears Opened or ConnectFailed with its token.
    fn connect(
        &mut self,
        ctx: &mut Ctx,
        app: usize,
        flow: FlowOf,
        (dst, port): (Ipv4Addr, u16),
        token: u64,
        note: String,
    ) {
        let (flow, parent) = match flow {
            FlowOf::Conn(k) => self
                .h
                .tcp
                .conns
                .get(&k)
                // a connection that has carried no packet yet has no parent
                // to give (packet ids start at 1)
                .map(|t| (t.flow, (t.last_pkt != 0).then_some(t.last_pkt)))
                .unwrap_or((0, None)),
            FlowOf::Id(f) => (f, None),
        };
        let before = ctx.out.len();
        match self.h.tcp_connect(ctx, app, flow, dst.into(), port) {
            Ok(key) => {
                if let Some(
                    Output::SendLocal { note: n, meta, .. }
                    | Output::SendLocal6 { note: n, meta, .. },
                ) = ctx.out.get_mut(before)
                {
                    if parent.is_some() {
                        meta.parent = parent;
                    }
                    *n = Some(match n.take() {
                        Some(old) => format!("{note}; {old}"),
                        None => note,
                    });
                }
                if let Some(t) = self.h.tcp.conns.get_mut(&key) {
                    if let Some(p) = parent {
                        t.last_pkt = p;
                    }
                }
                self.app_event(ctx, app, AppEvent::Opened { key, token });
            }
            Err(why) => self.app_event(
                ctx,
                app,
                AppEvent::ConnectFailed {
                    token,
                    why: why.to_string(),
                },
            ),
        }
    }

    /// `AppAction::SendRaw`: a raw IP packet (`dst`, TTL, protocol) out of
    /// `dev`, from its primary address (nothing when it has none).
    fn send_raw(
        &mut self,
        ctx: &mut Ctx,
        flow: u32,
        dev: &str,
        (dst, ttl, proto): (Ipv4Addr, u8, u8),
        data: Vec<u8>,
        note: String,
    ) {
        let Some(d) = self.h.dev_index(dev) else {
            return;
        };
        let Some(src) = self.h.devs[d].addrs.first().map(|a| a.addr()) else {
            return;
        };
        let id = self.h.next_ip_id();
        let ip = crate::wire::Ipv4Repr::new(src, dst, ttl, id, crate::wire::L4::Raw(data))
            .with_protocol(proto);
        let meta = ctx.new_meta(flow, None);
        ctx.out.push(Output::SendRaw {
            dev: d,
            ip,
            meta,
            note,
        });
    }

    /// `AppAction::StartHttp`: a resolver that has its answer hands over
    /// to curl: getaddrinfo sorts the addresses (glibc's `rfc3484_sort`,
    /// [`super::gai`]), an HTTP client is spawned and connects as curl's
    /// Happy Eyeballs does ([`super::http::Eyeballs`]); its first packet
    /// carries the note.
    fn start_http(
        &mut self,
        ctx: &mut Ctx,
        app: usize,
        (flow, flow_id): (u32, &str),
        (dsts, then): (&[std::net::IpAddr], &ThenHttp),
        (name, note): (&str, String),
    ) {
        // The resolver's socket is done with.
        self.h.close_udp(app);
        let cands: Vec<super::gai::Candidate> = dsts
            .iter()
            .map(|d| super::gai::Candidate {
                dest: *d,
                source: self.gai_source(*d),
            })
            .collect();
        let sorted: Vec<std::net::IpAddr> =
            super::gai::sort(&cands).iter().map(|c| c.dest).collect();
        let list: Vec<String> = sorted.iter().map(|a| a.to_string()).collect();
        let why = super::gai::why_first(&cands)
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let Some(&first) = sorted.first() else {
            return;
        };
        let mut client = HttpClient::new(flow, flow_id, first, then, ctx.now);
        client.he = super::http::Eyeballs::new(&sorted);
        let two = !client.he.fams[1].is_empty();
        let client = self.spawn(App::HttpClient(client));
        let note = if two {
            format!(
                "resolved {name} -> {}{note}, in getaddrinfo's order{why}; curl tries {} first, {} after 200 ms (Happy Eyeballs)",
                list.join(", "),
                fam_name(first),
                fam_name(if first.is_ipv4() {
                    std::net::Ipv6Addr::UNSPECIFIED.into()
                } else {
                    std::net::Ipv4Addr::UNSPECIFIED.into()
                })
            )
        } else {
            format!("resolved {name} -> {}{note}", list.join(", "))
        };
        // curl -m: the whole operation's deadline, from the lookup's start
        if let App::DnsClient(d) = &self.apps[app] {
            if let Some(t) = d.curl_timeout_ns {
                ctx.out.push(Output::Timer {
                    at_ns: (d.started_ns + t).max(ctx.now),
                    timer: crate::net::host::HostTimer::App {
                        app: client,
                        token: super::http::GIVE_UP,
                    },
                });
            }
        }
        if two {
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + super::http::HAPPY_EYEBALLS_NS,
                timer: crate::net::host::HostTimer::App {
                    app: client,
                    token: super::http::HAPPY_EYEBALLS,
                },
            });
        }
        self.connect_next(ctx, client, 0, note);
    }

    /// The source address glibc's getaddrinfo learns for `dst` (a UDP
    /// socket connect()ed to it, then getsockname()), with the prefix
    /// length of the interface address holding it; None when connect()
    /// fails (no route).
    fn gai_source(&self, dst: std::net::IpAddr) -> Option<(std::net::IpAddr, u8)> {
        let (src, _) = self.h.connect_route(dst, 0, None).ok()?;
        let len = match src {
            std::net::IpAddr::V4(s) => self
                .h
                .devs
                .iter()
                .flat_map(|d| d.addrs.iter())
                .find(|a| a.addr() == s)
                .map_or(0, |a| a.prefix_len()),
            std::net::IpAddr::V6(s) => self.h.ip6.holds(s).map_or(0, |a| a.net.prefix_len()),
        };
        Some((src, len))
    }

    /// curl's next connection attempt in `family` (its addresses in
    /// order, past any whose connect() fails at once; then the other
    /// family if it has not started); the attempt's first packet carries
    /// the note. When no attempt is left, the last failure is the flow's.
    fn connect_next(&mut self, ctx: &mut Ctx, app: usize, family: usize, note: String) {
        let mut family = family;
        let mut last_err = None;
        loop {
            let App::HttpClient(c) = &mut self.apps[app] else {
                return;
            };
            let (flow, port) = (c.flow, c.port);
            let Some(addr) = c.he.take(family) else {
                let o = 1 - family;
                if !c.he.started[o] && c.he.more(o) {
                    family = o;
                    continue;
                }
                if c.he.attempts.is_empty() && c.conn.is_none() {
                    if let Some(e) = last_err {
                        ctx.out.push(Output::Outcome {
                            flow,
                            text: format!("curl: (7) {e}"),
                            disposition: crate::trace::Disposition::Failed { why: e },
                        });
                    }
                }
                return;
            };
            let before = ctx.out.len();
            match self.h.tcp_connect(ctx, app, flow, addr, port) {
                Ok(k) => {
                    if let App::HttpClient(c) = &mut self.apps[app] {
                        c.he.attempts.push((k, addr, family));
                    }
                    if let Some(n) = first_send_note(&mut ctx.out[before..]) {
                        *n = Some(match n.take() {
                            Some(old) => format!("{note}; {old}"),
                            None => note,
                        });
                    }
                    return;
                }
                Err(e) => {
                    if let App::HttpClient(c) = &mut self.apps[app] {
                        c.dst = addr;
                    }
                    last_err = Some(e.to_string());
                }
            }
        }
    }
    fn tcp_send_noted(&mut self, ctx: &mut Ctx, k: ConnKey, data: &[u8], note: String) {
        let before = ctx.out.len();
        self.h.tcp_send(ctx, k, data);
        if let Some(n) = first_send_note(&mut ctx.out[before..]) {
            *n = Some(format!("{note} ({} bytes)", data.len()));
        }
    }
}

/// `IPv4` or `IPv6`, the family of `a`.
fn fam_name(a: std::net::IpAddr) -> &'static str {
    if a.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// The note of the first packet among these outputs (timers may come first).
fn first_send_note(out: &mut [Output]) -> Option<&mut Option<String>> {
    out.iter_mut().find_map(|o| match o {
        Output::SendLocal { note, .. } | Output::SendLocal6 { note, .. } => Some(note),
        _ => None,
    })
}
