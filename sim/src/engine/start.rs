//! A traffic entry's connection starting: the client program it runs
//! (curl, a resolver, ping) spawned on its host and its first packet sent.

use crate::app::{App, DnsClient, HttpClient, PingClient, Runtime};
use crate::net::host::Ctx;
use crate::trace::Disposition;
use crate::world::{FlowSpec, Request};

/// Starts connection `k` (0-based) of traffic entry `f` on its host;
/// returns its trace flow.
pub(super) fn start_flow(rt: &mut Runtime, ctx: &mut Ctx, f: &FlowSpec, k: u32) -> u32 {
    let id = if f.count > 1 {
        format!("{}#{}", f.id, k + 1)
    } else {
        f.id.clone()
    };
    let hname = rt.h.name.clone();
    let desc = flow_desc(&id, &hname, &f.request);
    let flow = ctx.trace.add_flow(id.clone(), desc, &hname, false);
    ctx.trace.set_expect(flow, f.expect.clone());
    ctx.trace
        .set_stream(flow, f.streams.get(k as usize).copied().unwrap_or(0));
    match &f.request {
        Request::HttpGet {
            dst,
            port,
            host_header,
            path,
            user,
            extra,
            // a spoofed source comes from a bundle flow, whose addresses are
            // IPv4 (bundle_flows.rs parses them so)
        } if f.client.spoofed => tcp_spoofed(rt, ctx, flow, &id, f, (crate::app::ip4(*dst), *port)),
        Request::HttpGet {
            dst,
            port,
            host_header,
            path,
            user,
            extra,
        } => {
            let spec = crate::app::ThenHttp {
                port: *port,
                host_header: host_header.clone(),
                path: path.clone(),
                user: user.clone(),
                extra: extra.clone(),
                family: if dst.is_ipv6() {
                    crate::app::IpResolve::V6
                } else {
                    crate::app::IpResolve::V4
                },
            };
            let app = rt.spawn(App::HttpClient(HttpClient::new(
                flow, &id, *dst, &spec, ctx.now,
            )));
            client_opts(rt, ctx, app, &f.client);
            let c = &f.client;
            match rt
                .h
                .tcp_connect_from(ctx, app, flow, *dst, *port, c.src.map(Into::into), c.sport)
            {
                Ok(k) => {
                    if let App::HttpClient(h) = &mut rt.apps[app] {
                        h.conn = Some(k);
                    }
                }
                Err(e) => ctx.trace.set_outcome(
                    flow,
                    Disposition::Failed { why: e.to_string() },
                    format!("curl: (7) {e}"),
                ),
            }
        }
        Request::DnsA {
            server,
            port,
            name,
            qtype,
        } => {
            dns_start(rt, ctx, flow, &id, f, (*server, *port), name, *qtype);
        }
        Request::Ping { .. } => ping_start(rt, ctx, flow, &id, f),
        Request::Ping6 { .. } => ping6_start(rt, ctx, flow, &id, &f.request),
        Request::Udp { dst, port, payload } => {
            let app = rt.spawn(App::UdpClient(crate::app::udp::UdpClient {
                flow,
                flow_id: id.clone(),
                dst: *dst,
                port: *port,
                payload: payload.clone(),
                spoofed: None,
                started_ns: ctx.now,
                done: false,
            }));
            udp_start(rt, ctx, app, flow, f, (*dst, *port), payload);
        }
        Request::Sctp { dst, port, payload } => {
            let app = rt.spawn(App::SctpClient(crate::app::sctp::SctpClient {
                flow,
                flow_id: id.clone(),
                dst: *dst,
                port: *port,
                payload: payload.clone(),
                started_ns: ctx.now,
                conn: None,
                done: false,
            }));
            client_opts(rt, ctx, app, &f.client);
            let c = &f.client;
            match rt
                .h
                .sctp_connect(ctx, app, flow, *dst, *port, c.src, c.sport)
            {
                Ok(k) => {
                    if let App::SctpClient(s) = &mut rt.apps[app] {
                        s.conn = Some(k);
                    }
                }
                Err(e) => ctx.trace.set_outcome(
                    flow,
                    Disposition::Failed { why: e.to_string() },
                    format!("SCTP: {e}"),
                ),
            }
        }
        Request::Resolve { name, then } => match rt.h.resolv.clone() {
            Some(rc) => {
                let mut c = DnsClient::new(
                    flow,
                    &id,
                    rc.nameserver,
                    53,
                    name,
                    rc.candidates(name),
                    ctx.now,
                    then.clone(),
                );
                c.connected = true;
                c.curl_timeout_ns = f.client.timeout_ns;
                let app = rt.spawn(App::DnsClient(c));
                rt.dns_send(ctx, app);
            }
            None => ctx.trace.set_outcome(
                flow,
                Disposition::Failed {
                    why: format!("{hname} has no resolv.conf"),
                },
                format!("cannot resolve {name}: {hname} has no resolv.conf"),
            ),
        },
    }
    flow
}

/// A DNS query from a resolver socket: bound to the flow's source address
/// and port when it gives them, each attempt waiting its `timeout_s`; or,
/// `spoofed`, the query's datagram from a raw socket with a forged source.
#[allow(clippy::too_many_arguments)]
fn dns_start(
    rt: &mut Runtime,
    ctx: &mut Ctx,
    flow: u32,
    id: &str,
    f: &FlowSpec,
    (server, port): (std::net::IpAddr, u16),
    name: &str,
    qtype: u16,
) {
    let mut c = DnsClient::new(
        flow,
        id,
        server,
        port,
        name,
        vec![name.to_string()],
        ctx.now,
        None,
    );
    c.qtype = qtype;
    let cl = &f.client;
    c.src = cl.src;
    c.sport = cl.sport;
    if let Some(w) = cl.timeout_ns {
        c.wait_ns = w;
    }
    if cl.spoofed {
        // a query from a raw socket with a forged source: sent as
        // the datagram it is, its answer goes to the forged address
        let payload = c.query_with_id(rt.h.draw(ctx.trace, Some(flow)) as u16);
        // a spoofed source comes from a bundle flow: IPv4
        let server = crate::app::ip4(server);
        let app = rt.spawn(App::UdpClient(crate::app::udp::UdpClient {
            flow,
            flow_id: id.to_string(),
            dst: server.into(),
            port,
            payload: payload.clone(),
            spoofed: None,
            started_ns: ctx.now,
            done: false,
        }));
        udp_spoofed(rt, ctx, app, flow, cl, (server.into(), port), &payload);
        return;
    }
    let app = rt.spawn(App::DnsClient(c));
    if cl.uid.is_some() {
        // the per-attempt wait is the resolver's own timer
        let opts = crate::world::ClientOpts {
            timeout_ns: None,
            ..cl.clone()
        };
        client_opts(rt, ctx, app, &opts);
    }
    rt.dns_send(ctx, app);
}

/// What a flow's client options ask of its program `app` at start: the
/// uid it runs as (`-m owner` sees it), and its give-up timer.
fn client_opts(rt: &mut Runtime, ctx: &mut Ctx, app: usize, c: &crate::world::ClientOpts) {
    if let Some(uid) = c.uid {
        let name = rt.h.owner_name(app);
        rt.h.add_owner(app, name, uid);
    }
    let wait = match &rt.apps[app] {
        App::UdpClient(_) => Some(c.timeout_ns.unwrap_or(crate::app::udp::DEFAULT_WAIT_NS)),
        // `ncat --sctp -w`: podpath's default, the wait of a UDP client
        App::SctpClient(_) => Some(c.timeout_ns.unwrap_or(crate::app::udp::DEFAULT_WAIT_NS)),
        _ => c.timeout_ns,
    };
    if let Some(t) = wait {
        ctx.out.push(crate::net::host::Output::Timer {
            at_ns: ctx.now + t,
            timer: crate::net::host::HostTimer::App {
                app,
                token: crate::app::http::GIVE_UP,
            },
        });
    }
}

/// A UDP client's datagram: its socket bound to the flow's source address
/// and port (EADDRNOTAVAIL / EADDRINUSE as bind() gives them) or an
/// ephemeral port, then `sendto`.
fn udp_start(
    rt: &mut Runtime,
    ctx: &mut Ctx,
    app: usize,
    flow: u32,
    f: &FlowSpec,
    dst: (std::net::IpAddr, u16),
    payload: &[u8],
) {
    let c = &f.client;
    let fail = |ctx: &mut Ctx, why: String| {
        ctx.trace.set_outcome(
            flow,
            Disposition::Failed { why: why.clone() },
            format!("UDP: {why}"),
        )
    };
    if c.spoofed {
        return udp_spoofed(rt, ctx, app, flow, c, dst, payload);
    }
    if let Some(a) = c.src {
        if !rt.h.is_local(a) && rt.h.sysctl.int("net.ipv4.ip_nonlocal_bind") == 0 {
            return fail(
                ctx,
                format!("bind to {a}: Cannot assign requested address (EADDRNOTAVAIL)"),
            );
        }
    }
    let sport = match c.sport {
        Some(p) => {
            if rt.h.bind_udp(p, app).is_err() {
                return fail(
                    ctx,
                    format!("bind to port {p}: Address already in use (EADDRINUSE)"),
                );
            }
            p
        }
        None => rt.h.bind_udp_ephemeral(ctx.trace, Some(flow), app),
    };
    client_opts(rt, ctx, app, c);
    let src = c.src.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    rt.h.udp_send(
        ctx,
        flow,
        None,
        Some((src.into(), sport)),
        dst,
        payload.to_vec(),
        format!(
            "sendto({}): {} bytes from port {sport}",
            std::net::SocketAddr::from(dst),
            payload.len()
        ),
        None,
    );
}

/// A datagram from a raw socket with a forged source (`src`, the pinned
/// port or a drawn one): no bind() checks the address and no socket of the
/// sender waits, so an answer goes wherever the forged source leads.
fn udp_spoofed(
    rt: &mut Runtime,
    ctx: &mut Ctx,
    app: usize,
    flow: u32,
    c: &crate::world::ClientOpts,
    dst: (std::net::IpAddr, u16),
    payload: &[u8],
) {
    let src = c.src.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let sport = match c.sport {
        Some(p) => p,
        None => {
            // a port drawn as an ephemeral one, not held
            let p = rt.h.bind_udp_ephemeral(ctx.trace, Some(flow), app);
            rt.h.close_udp(app);
            p
        }
    };
    if let App::UdpClient(u) = &mut rt.apps[app] {
        u.spoofed = Some((src, sport));
    }
    client_opts(rt, ctx, app, c);
    rt.h.udp_send(
        ctx,
        flow,
        None,
        Some((src.into(), sport)),
        dst,
        payload.to_vec(),
        format!(
            "raw socket: {} bytes to {} from the forged source {src}:{sport}",
            payload.len(),
            std::net::SocketAddr::from(dst)
        ),
        None,
    );
}

/// A TCP SYN from a raw socket with a forged source (`hping3 -S -a SRC`,
/// `nmap -S`): no socket of the sender is in SYN-SENT, so the SYN-ACK goes
/// wherever the forged address routes, and the kernel that owns it, having
/// no socket for it either, answers RST (net/ipv4/tcp_ipv4.c tcp_v4_rcv →
/// no_tcp_socket → tcp_v4_send_reset); a forged address nobody owns gets
/// nothing back.
fn tcp_spoofed(
    rt: &mut Runtime,
    ctx: &mut Ctx,
    flow: u32,
    id: &str,
    f: &FlowSpec,
    dst: (std::net::Ipv4Addr, u16),
) {
    let c = &f.client;
    let src = c.src.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let sport = c
        .sport
        .unwrap_or_else(|| 32768 + (rt.h.draw(ctx.trace, Some(flow)) % 28232) as u16);
    let isn = rt.h.draw(ctx.trace, Some(flow));
    let sent = format!(
        "TCP SYN sent to {}:{} from the forged source {src}:{sport} (raw socket)",
        dst.0, dst.1
    );
    let app = rt.spawn(App::Raw(crate::app::udp::RawSender {
        flow,
        flow_id: id.to_string(),
        sent: sent.clone(),
        done: false,
    }));
    let mut opts = c.clone();
    opts.timeout_ns = Some(c.timeout_ns.unwrap_or(crate::app::udp::DEFAULT_WAIT_NS));
    client_opts(rt, ctx, app, &opts);
    let mut hdr = crate::wire::tcp_header(sport, dst.1, isn, None, 64240);
    hdr.syn = true;
    let ipid = rt.h.next_ip_id();
    let ip = crate::wire::Ipv4Repr::new(
        src,
        dst.0,
        64,
        ipid,
        crate::wire::L4::Tcp {
            hdr,
            payload: vec![],
        },
    );
    let m = ctx.new_meta(flow, None);
    ctx.out.push(crate::net::host::Output::SendLocal {
        ip,
        meta: m,
        note: Some(sent),
    });
}

/// The flow's description in the trace: what its client runs.
fn flow_desc(id: &str, hname: &str, req: &Request) -> String {
    match req {
        Request::HttpGet {
            host_header,
            path,
            user,
            ..
        } => format!(
            "{id}: GET http://{}{host_header}{path} from {hname}",
            user.as_ref().map(|u| format!("{u}@")).unwrap_or_default()
        ),
        Request::DnsA {
            server,
            port,
            name,
            qtype,
        } => format!(
            "{id}: DNS {} {name} at {} from {hname}",
            crate::wire::dns::qtype_name(*qtype),
            crate::wire::endpoint(*server, *port)
        ),
        Request::Ping {
            dst,
            timestamp: true,
            ..
        } => format!("{id}: ICMP timestamp request to {dst} from {hname}"),
        Request::Ping { dst, size, .. } => format!("{id}: ping -s {size} {dst} from {hname}"),
        Request::Ping6 {
            dst,
            size,
            count,
            hlim,
        } => {
            let t = hlim.map(|h| format!(" -t {h}")).unwrap_or_default();
            format!("{id}: ping -6 -c {count} -s {size}{t} {dst} from {hname}")
        }
        Request::Udp { dst, port, payload } => {
            format!(
                "{id}: UDP {} bytes to {} from {hname}",
                payload.len(),
                std::net::SocketAddr::from((*dst, *port))
            )
        }
        Request::Sctp {
            dst,
            port,
            payload: Some(p),
        } => format!(
            "{id}: SCTP message of {} bytes to {dst}:{port} from {hname}",
            p.len()
        ),
        Request::Sctp {
            dst,
            port,
            payload: None,
        } => format!("{id}: SCTP association to {dst}:{port} from {hname}"),
        Request::Resolve {
            name,
            then: Some(t),
        } => format!(
            "{id}: GET http://{}{} from {hname} (resolving {name}{})",
            t.host_header,
            t.path,
            match t.family {
                crate::app::IpResolve::V6 => ", curl -6: AAAA",
                crate::app::IpResolve::V4 => ", curl -4: A",
                crate::app::IpResolve::Whatever => ", A and AAAA",
            }
        ),
        Request::Resolve { name, then: None } => format!("{id}: resolve {name} from {hname}"),
    }
}

/// A ping flow: the echo (or timestamp) client, bound to the flow's
/// source address when it gives one the host holds.
/// `ping -6`: its socket's id drawn as for IPv4, the first request now.
fn ping6_start(rt: &mut Runtime, ctx: &mut Ctx, flow: u32, id: &str, r: &Request) {
    let Request::Ping6 {
        dst,
        size,
        count,
        hlim,
    } = *r
    else {
        return;
    };
    let pid = rt.h.draw(ctx.trace, Some(flow)) as u16;
    let app = rt.spawn(App::Ping6(crate::app::ping6::Ping6Client {
        flow,
        flow_id: id.to_string(),
        dst,
        size,
        count,
        id: pid,
        seq: 0,
        sent_ns: vec![],
        received: 0,
        lines: vec![],
        error: None,
        done: false,
        hlim,
    }));
    rt.ping6_send(ctx, app, 1);
}

fn ping_start(rt: &mut Runtime, ctx: &mut Ctx, flow: u32, id: &str, f: &FlowSpec) {
    let Request::Ping {
        dst,
        size,
        df,
        ident,
        timestamp,
    } = f.request
    else {
        return;
    };
    let pid = rt.h.draw(ctx.trace, Some(flow)) as u16;
    let (pid, seq) = ident.unwrap_or((pid, 1));
    let app = rt.spawn(App::Ping(PingClient {
        flow,
        flow_id: id.to_string(),
        dst,
        size,
        df,
        id: pid,
        seq,
        started_ns: ctx.now,
        done: false,
        timestamp,
        spoofed: f.client.src.filter(|_| f.client.spoofed),
        src: f.client.src.filter(|_| !f.client.spoofed),
    }));
    if let Some(a) = f
        .client
        .src
        .filter(|a| !f.client.spoofed && !rt.h.is_local(*a))
    {
        // ping_bind: bind() of the ping socket to an address the
        // host does not hold (iputils: "ping: bind: Cannot assign
        // requested address")
        if rt.h.sysctl.int("net.ipv4.ip_nonlocal_bind") == 0 {
            let why = format!("bind to {a}: Cannot assign requested address (EADDRNOTAVAIL)");
            ctx.trace.set_outcome(
                flow,
                Disposition::Failed { why: why.clone() },
                format!("ping: {why}"),
            );
            return;
        }
    }
    if f.client.timeout_ns.is_some() || f.client.uid.is_some() {
        client_opts(rt, ctx, app, &f.client);
    }
    rt.ping_send(ctx, app);
}
