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
    let desc = match &f.request {
        Request::HttpGet {
            host_header,
            path,
            user,
            ..
        } => format!(
            "{id}: GET http://{}{host_header}{path} from {hname}",
            user.as_ref().map(|u| format!("{u}@")).unwrap_or_default()
        ),
        Request::DnsA { server, port, name } => {
            format!("{id}: DNS A {name} at {server}:{port} from {hname}")
        }
        Request::Ping { dst, size, .. } => format!("{id}: ping -s {size} {dst} from {hname}"),
        Request::Resolve {
            name,
            then: Some(t),
        } => format!(
            "{id}: GET http://{}{} from {hname} (resolving {name})",
            t.host_header, t.path
        ),
        Request::Resolve { name, then: None } => format!("{id}: resolve {name} from {hname}"),
    };
    let flow = ctx.trace.add_flow(id.clone(), desc, &hname, false);
    ctx.trace.set_expect(flow, f.expect.clone());
    match &f.request {
        Request::HttpGet {
            dst,
            port,
            host_header,
            path,
            user,
        } => {
            let spec = crate::app::ThenHttp {
                port: *port,
                host_header: host_header.clone(),
                path: path.clone(),
                user: user.clone(),
            };
            let app = rt.spawn(App::HttpClient(HttpClient::new(
                flow, &id, *dst, &spec, ctx.now,
            )));
            if let Err(e) = rt.h.tcp_connect(ctx, app, flow, *dst, *port) {
                ctx.trace.set_outcome(
                    flow,
                    Disposition::Failed { why: e.to_string() },
                    format!("curl: (7) {e}"),
                );
            }
        }
        Request::DnsA { server, port, name } => {
            let app = rt.spawn(App::DnsClient(DnsClient::new(
                flow,
                &id,
                *server,
                *port,
                name,
                vec![name.clone()],
                ctx.now,
                None,
            )));
            rt.dns_send(ctx, app);
        }
        Request::Ping { dst, size, df } => {
            use rand_core::Rng;
            let pid = rt.h.rng.next_u32() as u16;
            let app = rt.spawn(App::Ping(PingClient {
                flow,
                flow_id: id.clone(),
                dst: *dst,
                size: *size,
                df: *df,
                id: pid,
                seq: 1,
                started_ns: ctx.now,
                done: false,
            }));
            rt.ping_send(ctx, app);
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
