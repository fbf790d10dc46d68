//! The routing decision for a packet (`ip_route_input_slow`): ip rules,
//! tables, longest-prefix match, route types and rp_filter.

use std::net::Ipv4Addr;

use crate::net::fib::{table_name, FlowKey, Lookup, RouteType};
use crate::net::host::{Ctx, DevKind, Host, Meta};
use crate::net::netfilter::ct_glue::*;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::Ipv4Repr;

impl Host {
    pub(crate) fn route_input(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv4Repr,
        meta: Meta,
        mark: u32,
        ct: CtInfo,
    ) {
        let dn = self.devs[dev].name.clone();
        if ip.dst().is_multicast() {
            self.route_input_mc(ctx, dev, ip, meta, mark, ct);
            return;
        }
        let key = FlowKey {
            dst: Some(ip.dst()),
            src: Some(ip.src()),
            mark,
            iif: Some(&dn),
            oif: None,
        };
        let res = self.fib.lookup(&key, None);
        let l = match res {
            Ok(l) => l,
            Err(_) => {
                self.drop(
                    ctx,
                    Point::Routing,
                    format!("no route to {} in any table the rules select", ip.dst()),
                    &ct,
                );
                if self.sysctl.ip_forward() {
                    self.send_icmp_error(
                        ctx,
                        &ip,
                        icmp::DEST_UNREACH,
                        icmp::CODE_NET_UNREACH,
                        [0; 4],
                        meta,
                        "no route",
                    );
                }
                return;
            }
        };
        self.route_step(ctx, &l, ip.dst());
        match l.route.rtype {
            RouteType::Local => {
                if !self.rp_filter_ok(ctx, dev, &ip, mark, &ct) {
                    return;
                }
                self.ip_local_deliver(ctx, dev, ip, meta, mark, ct);
            }
            RouteType::Unicast => {
                if !self.sysctl.ip_forward() {
                    self.drop(
                        ctx,
                        Point::Routing,
                        format!(
                            "{} is not a local address and net.ipv4.ip_forward=0: not forwarding",
                            ip.dst()
                        ),
                        &ct,
                    );
                    return;
                }
                if self.is_local(ip.src()) {
                    self.drop(
                        ctx,
                        Point::Routing,
                        format!(
                            "martian source {}: one of our own addresses arriving on {dn}",
                            ip.src()
                        ),
                        &ct,
                    );
                    return;
                }
                if !self.rp_filter_ok(ctx, dev, &ip, mark, &ct) {
                    return;
                }
                self.ip_forward(ctx, dev, ip, meta, mark, ct, &l);
            }
            RouteType::Broadcast => {
                // ip_route_input_slow: res->type == RTN_BROADCAST goes to
                // brd_input (bc_forwarding, IN_DEV_BFORWARD, is not
                // modelled: off, the default): the source is validated
                // unless 0.0.0.0, the packet is delivered locally with
                // RTCF_BROADCAST.
                ctx.trace.step(
                    Point::Routing,
                    format!(
                        "{}: broadcast address of {dn}: local delivery as a broadcast (brd_input)",
                        ip.dst()
                    ),
                    Action::Info,
                );
                if !ip.src().is_unspecified() && !self.rp_filter_ok(ctx, dev, &ip, mark, &ct) {
                    return;
                }
                self.ip_local_deliver(ctx, dev, ip, meta, mark, ct);
            }
            RouteType::Blackhole => {
                self.drop(
                    ctx,
                    Point::Routing,
                    format!(
                        "blackhole route {} in table {}",
                        l.route.dst,
                        table_name(l.table)
                    ),
                    &ct,
                );
            }
            RouteType::Unreachable | RouteType::Prohibit | RouteType::Throw => {
                let (code, w) = if l.route.rtype == RouteType::Prohibit {
                    (icmp::CODE_ADMIN_PROHIBITED, "prohibit")
                } else {
                    (icmp::CODE_HOST_UNREACH, "unreachable")
                };
                self.drop(
                    ctx,
                    Point::Routing,
                    format!("{w} route {} in table {}", l.route.dst, table_name(l.table)),
                    &ct,
                );
                self.send_icmp_error(ctx, &ip, icmp::DEST_UNREACH, code, [0; 4], meta, w);
            }
        }
    }

    /// ip_route_input_mc: local delivery when a socket joined the group
    /// on this device; no multicast forwarding (no mroute).
    fn route_input_mc(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv4Repr,
        meta: Meta,
        mark: u32,
        ct: CtInfo,
    ) {
        let dn = self.devs[dev].name.clone();
        // ip_route_input_mc: local delivery when a socket joined the
        // group on this device; no multicast forwarding (no mroute).
        if self.mc_groups.contains(&(dev, ip.dst())) {
            ctx.trace.step(
                Point::Routing,
                format!(
                    "{}: multicast group joined on {dn}: local delivery",
                    ip.dst()
                ),
                Action::Info,
            );
            self.ip_local_deliver(ctx, dev, ip, meta, mark, ct);
        } else {
            self.drop(
                ctx,
                Point::Routing,
                format!(
                    "{}: multicast group not joined on {dn} (and no multicast routing): discarded",
                    ip.dst()
                ),
                &ct,
            );
        }
    }

    /// Whether a packet to `a` is a broadcast here (the route's
    /// RTCF_BROADCAST): 255.255.255.255, or a `broadcast` route of table
    /// local.
    pub(crate) fn is_broadcast_dst(&self, a: Ipv4Addr) -> bool {
        a.is_broadcast()
            || self
                .fib
                .lookup_table(crate::net::fib::TABLE_LOCAL, a, None)
                .is_some_and(|r| r.rtype == RouteType::Broadcast && r.dst.prefix_len() == 32)
    }

    pub(crate) fn route_step(&self, ctx: &mut Ctx, l: &Lookup, dst: Ipv4Addr) {
        let r = &l.route;
        let dev = r.dev.map(|i| self.devs[i].name.clone());
        let mut what = format!("{dst}: ");
        if l.rule_priority != 0 || l.table != crate::net::fib::TABLE_LOCAL {
            what.push_str(&format!("rule {} -> ", l.rule_priority));
        }
        what.push_str(&format!("table {}: ", table_name(l.table)));
        if r.rtype != RouteType::Unicast {
            what.push_str(r.rtype.name());
            what.push(' ');
        }
        what.push_str(&r.dst.to_string());
        if let Some(v) = r.via {
            what.push_str(&format!(" via {v}"));
        }
        if let Some(d) = &dev {
            what.push_str(&format!(" dev {d}"));
        }
        if let Some(s) = r.src {
            what.push_str(&format!(" src {s}"));
        }
        ctx.trace.step(
            Point::Routing,
            what,
            Action::Route {
                table: table_name(l.table),
                prefix: r.dst.to_string(),
                via: r.via.map(|v| v.to_string()),
                dev,
                src: r.src.map(|s| s.to_string()),
                rtype: r.rtype.name().into(),
            },
        );
    }

    /// `fib_validate_source`: reverse-path filtering.
    pub(crate) fn rp_filter_ok(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv4Repr,
        mark: u32,
        ct: &CtInfo,
    ) -> bool {
        let dn = self.devs[dev].name.clone();
        let mode = self.sysctl.rp_filter(&dn);
        if mode == 0 || self.devs[dev].kind == DevKind::Loopback || ip.src().is_unspecified() {
            return true;
        }
        let key = FlowKey {
            dst: Some(ip.src()),
            src: Some(ip.dst()),
            mark,
            iif: None,
            oif: None,
        };
        let back = self.fib.lookup(&key, None);
        let ok = match (&back, mode) {
            (Ok(l), 1) => l.route.dev == Some(dev) && l.route.rtype == RouteType::Unicast,
            (Ok(l), _) => matches!(l.route.rtype, RouteType::Unicast | RouteType::Local),
            (Err(_), _) => false,
        };
        if !ok {
            let via = match &back {
                Ok(l) => l
                    .route
                    .dev
                    .map(|d| {
                        format!(
                            "a reply to {} would leave via {}",
                            ip.src(),
                            self.devs[d].name
                        )
                    })
                    .unwrap_or_else(|| {
                        format!("the route back to {} is {}", ip.src(), l.route.rtype.name())
                    }),
                Err(_) => format!("there is no route back to {}", ip.src()),
            };
            let m = if mode == 1 { "strict" } else { "loose" };
            self.drop(
                ctx,
                Point::RpFilter,
                format!("rp_filter={mode} ({m}) on {dn}: {via}, not {dn}"),
                ct,
            );
            return false;
        }
        true
    }
}
