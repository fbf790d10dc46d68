//! IPVS at LOCAL_IN (`ip_vs_in`), for IPv4 and IPv6: a packet to a
//! virtual service scheduled to a real server and masqueraded on.

use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::Verdict;
use crate::trace::Action;
use crate::trace::Point;
use std::net::IpAddr;

use crate::net::ipvs::RealServer;
use crate::wire::icmp::{self};
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::{Ipv4Repr, Ipv6Repr, L4};

impl Host {
    /// The part of `ip_vs_in` both families share: a packet to a virtual
    /// service that starts a connection gets a real server from the
    /// scheduler. None when IPVS does not take it (no such service, a
    /// connection already scheduled, or not the original direction);
    /// `Err` when no real server has weight (the packet dropped; the
    /// caller answers with its family's port unreachable).
    fn ipvs_pick(
        &mut self,
        ctx: &mut Ctx,
        (proto, src, dst, dport): (u8, IpAddr, IpAddr, u16),
        ct: &CtInfo,
    ) -> Option<Result<(String, RealServer), ()>> {
        let vi = self.ipvs.find(proto, dst, dport)?;
        // Packets of a connection already scheduled follow conntrack.
        let c = self.ct.get(ct.id?)?;
        if c.dnat() || ct.dir != Some(super::netfilter::conntrack::Dir::Original) {
            return None;
        }
        let vs_text = crate::wire::endpoint(dst, dport);
        let sched = self.ipvs.services[vi].scheduler;
        let Some(ri) = self.ipvs.services[vi].schedule_at(src, ctx.now) else {
            // ip_vs_schedule finds no destination: ip_vs_leave drops it
            // and answers port unreachable (the caller, in its family)
            let icmp = if dst.is_ipv6() { "ICMPv6" } else { "ICMP" };
            self.drop(
                ctx,
                Point::Ipvs,
                format!(
                    "virtual service {vs_text} has no real server with weight > 0: {icmp} port unreachable"
                ),
                ct,
            );
            return Some(Err(()));
        };
        let rs = self.ipvs.services[vi].reals[ri].clone();
        let n = self.ipvs.services[vi].reals.len();
        ctx.trace.step(
            Point::Ipvs,
            format!(
                "virtual service {vs_text} ({}): real server {} ({} of {n}), masquerading forward",
                sched.name(),
                crate::wire::endpoint(rs.ip, rs.port),
                ri + 1
            ),
            Action::Info,
        );
        Some(Ok((vs_text, rs)))
    }

    /// The connection's binding to the real server (`ip_vs_update_conntrack`
    /// with net.ipv4.vs.conntrack=1: the entry altered so replies match);
    /// false when it cannot be made (the packet dropped).
    fn ipvs_bind(&mut self, ctx: &mut Ctx, ct: &CtInfo, vs_text: &str, rs: &RealServer) -> bool {
        let out = super::netfilter::HookOutcome {
            verdict: Verdict::Accept,
            nat: Some(super::netfilter::Target::Dnat {
                to: super::netfilter::NatRange {
                    addr_lo: Some(rs.ip),
                    addr_hi: Some(rs.ip),
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
            return false;
        }
        true
    }

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
        // SCTP: only an INIT is scheduled (ip_vs_proto_sctp.c
        // sctp_conn_schedule, net.ipv4.vs.sloppy_sctp=0); any other chunk
        // without a connection goes on to the local stack
        if ip.proto() == crate::wire::sctp::PROTO_SCTP
            && ip.sctp().and_then(|p| p.first_chunk()) != Some(crate::wire::sctp::INIT)
            && ct.created
        {
            return false;
        }
        let four = (ip.proto(), ip.src().into(), ip.dst().into(), dport);
        let (vs_text, rs) = match self.ipvs_pick(ctx, four, ct) {
            None => return false,
            Some(Ok(x)) => x,
            Some(Err(())) => {
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
            }
        };
        if !self.ipvs_bind(ctx, ct, &vs_text, &rs) {
            return true;
        }
        let mut ip = ip.clone();
        self.nat_manip(ctx, &mut ip, ct, false);
        // ip_vs_nat_xmit: routed to the real server (__ip_vs_get_out_rt:
        // decrement_ttl for a destination that is not local), then
        // POSTROUTING.
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
        if !self.is_local(ip.dst()) {
            if ip.hdr.time_to_live <= 1 {
                self.drop(
                    ctx,
                    Point::Ipvs,
                    format!(
                        "TTL {} would reach 0: time exceeded (decrement_ttl)",
                        ip.hdr.time_to_live
                    ),
                    ct,
                );
                self.send_icmp_error(
                    ctx,
                    &ip,
                    icmp::TIME_EXCEEDED,
                    0,
                    [0; 4],
                    meta,
                    "IPVS: TTL exceeded",
                );
                return true;
            }
            ip.hdr.time_to_live -= 1;
        }
        let nexthop = l.route.via.unwrap_or(ip.dst());
        self.postrouting(ctx, ip, Some(dev), out_dev, nexthop, meta, mark, *ct);
        true
    }

    /// IPVS at LOCAL_IN for IPv6 (`ip_vs_remote_request6`, priority
    /// NF_IP6_PRI_NAT_SRC - 2: after filter INPUT, before nat INPUT): the
    /// same scheduling and binding; no real server answers ICMPv6 port
    /// unreachable (ip_vs_leave: `icmpv6_send(ICMPV6_DEST_UNREACH,
    /// ICMPV6_PORT_UNREACH)`); `ip_vs_nat_xmit_v6` routes to the real
    /// server (`__ip_vs_get_out_rt_v6`: the hop limit decremented, Time
    /// Exceeded at 1), then POSTROUTING. TCP and UDP (SCTP over IPv6 is not
    /// modelled). Returns true when IPVS took the packet.
    pub(crate) fn ipvs_in6(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv6Repr,
        meta: Meta,
        nf: &mut crate::net::netfilter::hook6::Nf6,
    ) -> bool {
        if self.ipvs.services.is_empty() {
            return false;
        }
        let (proto, dport) = match &ip.l4 {
            L4::Tcp { hdr, .. } => (6, hdr.destination_port),
            L4::Udp { hdr, .. } => (17, hdr.destination_port),
            _ => return false,
        };
        let ct = nf.ct;
        let four = (proto, ip.src.into(), ip.dst.into(), dport);
        let (vs_text, rs) = match self.ipvs_pick(ctx, four, &ct) {
            None => return false,
            Some(Ok(x)) => x,
            Some(Err(())) => {
                self.icmp6_error(
                    ctx,
                    ip,
                    Icmpv6Repr::DstUnreach {
                        code: crate::wire::icmpv6::CODE_PORT_UNREACH,
                        quoted: vec![],
                    },
                    meta,
                );
                return true;
            }
        };
        if !self.ipvs_bind(ctx, &ct, &vs_text, &rs) {
            return true;
        }
        let mut ip = ip.clone();
        self.nat_manip6(ctx, &mut ip, &ct, false);
        use crate::net::fib::RouteType;
        let found = self.ip6.fib.lookup(ip.dst).map(|f| f.route);
        let out = match &found {
            // a real server on this host: over the loopback, as a local
            // route leads (Simplification: the kernel hands it to the
            // local stack at once, ip_vs_nat_send_or_cont's NF_ACCEPT)
            Some(r) if r.rtype == RouteType::Local => self
                .devs
                .iter()
                .position(|d| d.kind == crate::net::device::DevKind::Loopback),
            Some(r) if r.rtype == RouteType::Unicast => r.dev,
            _ => None,
        };
        let (Some(r), Some(out)) = (found, out) else {
            self.drop(
                ctx,
                Point::Ipvs,
                format!("no route to real server {}", rs.ip),
                &ct,
            );
            return true;
        };
        if r.rtype != RouteType::Local {
            if ip.hop_limit <= 1 {
                self.drop(
                    ctx,
                    Point::Ipvs,
                    format!(
                        "hop limit {} would reach 0: time exceeded (decrement_ttl)",
                        ip.hop_limit
                    ),
                    &ct,
                );
                self.icmp6_error(
                    ctx,
                    &ip,
                    Icmpv6Repr::TimeExceeded {
                        code: 0,
                        quoted: vec![],
                    },
                    meta,
                );
                return true;
            }
            ip.hop_limit -= 1;
        }
        ctx.trace.step(
            Point::Ipvs,
            format!(
                "ip_vs_nat_xmit_v6: to {} out of {}",
                ip.dst, self.devs[out].name
            ),
            Action::Info,
        );
        if !self.nf6_postrouting(ctx, (Some(dev), out), &mut ip, meta, nf) {
            return true;
        }
        let nexthop = r.via.unwrap_or(ip.dst);
        self.ip6_finish_output(ctx, out, nexthop, ip, meta, r.mtu);
        true
    }
}
