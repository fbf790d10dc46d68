//! IPVS at LOCAL_IN (`ip_vs_in`): a packet to a virtual service scheduled
//! to a real server and masqueraded on.

use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::Verdict;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::Ipv4Repr;

impl Host {
    /// IPVS at LOCAL_IN: a new connection to a virtual service is given a
    /// real server, DNATed (conntrack altered) and sent on (see net/ipvs).
    /// Returns true when IPVS took the packet.
    pub(crate) fn ipvs_in(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv4Repr,
        meta: Meta,
        mark: u32,
        ct: &CtInfo,
    ) -> bool {
        if self.ipvs.services.is_empty() {
            return false;
        }
        let Some((_, dport)) = ip.ports() else {
            return false;
        };
        let Some(vi) = self.ipvs.find(ip.proto(), ip.dst(), dport) else {
            return false;
        };
        // SCTP: only an INIT is scheduled (ip_vs_proto_sctp.c
        // sctp_conn_schedule, net.ipv4.vs.sloppy_sctp=0); any other chunk
        // without a connection goes on to the local stack
        if ip.proto() == crate::wire::sctp::PROTO_SCTP
            && ip.sctp().and_then(|p| p.first_chunk()) != Some(crate::wire::sctp::INIT)
            && ct.created
        {
            return false;
        }
        // Packets of a connection already scheduled follow conntrack.
        let Some(id) = ct.id else { return false };
        let Some(c) = self.ct.get(id) else {
            return false;
        };
        if c.dnat() || ct.dir != Some(super::netfilter::conntrack::Dir::Original) {
            return false;
        }
        let vs_text = format!("{}:{}", ip.dst(), dport);
        let sched = self.ipvs.services[vi].scheduler;
        let Some(ri) = self.ipvs.services[vi].schedule_at(ip.src(), ctx.now) else {
            // ip_vs_schedule finds no destination: ip_vs_leave answers ICMP
            // port unreachable and drops
            self.drop(
                ctx,
                Point::Ipvs,
                format!(
                    "virtual service {vs_text} has no real server with weight > 0: ICMP port unreachable"
                ),
                ct,
            );
            self.send_icmp_error(
                ctx,
                ip,
                icmp::DEST_UNREACH,
                icmp::CODE_PORT_UNREACH,
                [0; 4],
                meta,
                "IPVS: no destination available",
            );
            return true;
        };
        let rs = self.ipvs.services[vi].reals[ri].clone();
        let n = self.ipvs.services[vi].reals.len();
        ctx.trace.step(
            Point::Ipvs,
            format!(
                "virtual service {vs_text} ({}): real server {}:{} ({} of {n}), masquerading forward",
                sched.name(),
                rs.ip,
                rs.port,
                ri + 1
            ),
            Action::Info,
        );
        let out = super::netfilter::HookOutcome {
            verdict: Verdict::Accept,
            nat: Some(super::netfilter::Target::Dnat {
                to: super::netfilter::NatRange {
                    addr_lo: Some(rs.ip.into()),
                    addr_hi: Some(rs.ip.into()),
                    ports: Some((rs.port, rs.port)),
                },
                random: false,
                persistent: false,
            }),
            notrack: false,
            flow_offload: None,
            // what made the binding, for the trace's NAT step
            steps: vec![super::netfilter::NfStep {
                table: super::netfilter::StepTable::Ipvs,
                chain: format!("IPVS virtual service {vs_text}"),
                rule: 0,
                line: 0,
                text: String::new(),
                effect: String::new(),
            }],
            rules_tested: 0,
            queued: None,
            queue: Default::default(),
        };
        if let Err(e) = self.nat_setup(ctx, ct, &out, false, None, None) {
            self.drop(ctx, Point::Ipvs, e.to_string(), ct);
            return true;
        }
        let mut ip = ip.clone();
        self.nat_manip(ctx, &mut ip, ct, false);
        // ip_vs_nat_xmit: routed to the real server, then POSTROUTING.
        let key = self.route_key(ip.dst(), None, mark, None);
        let l = match self.fib.lookup(&key, None) {
            Ok(l) => l,
            Err(_) => {
                self.drop(
                    ctx,
                    Point::Ipvs,
                    format!("no route to real server {}", rs.ip),
                    ct,
                );
                return true;
            }
        };
        self.route_step(ctx, &l, ip.dst());
        let Some(out_dev) = l.route.dev else {
            self.drop(ctx, Point::Ipvs, "route has no device".into(), ct);
            return true;
        };
        let nexthop = l.route.via.unwrap_or(ip.dst());
        self.postrouting(ctx, ip, Some(dev), out_dev, nexthop, meta, mark, *ct);
        true
    }
}
