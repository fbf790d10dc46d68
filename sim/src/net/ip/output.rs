//! IP output (net/ipv4/ip_output.c): a locally generated packet routed,
//! through OUTPUT and POSTROUTING (SNAT/MASQUERADE) to the neighbour layer.

use std::net::Ipv4Addr;

use crate::net::fib::{FlowKey, RouteType};
use crate::net::host::{Ctx, DevKind, Host, Meta};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::Hook;
use crate::net::netfilter::{ctbits, TableKind};
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::Ipv4Repr;

impl Host {
    /// A locally generated IP packet, in its own hop.
    pub fn send_local(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta, note: Option<String>) {
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            None,
            crate::wire::describe_ip(&ip),
        );
        if let Some(n) = note {
            ctx.trace
                .step(Point::App, n.clone(), Action::App { app: n });
        }
        // the sending socket's owner, for -m owner in OUTPUT/POSTROUTING
        self.sk_owner = meta.owner;
        self.ip_output_local(ctx, ip, meta);
        self.sk_owner = None;
        ctx.trace.end_hop();
    }

    /// `ip_queue_xmit` / `ip_local_out` for a locally generated packet. A zero
    /// source address is filled in from the route, as for an unbound socket.
    pub(crate) fn ip_output_local(&mut self, ctx: &mut Ctx, mut ip: Ipv4Repr, meta: Meta) {
        ctx.flow = Some(meta.flow);
        // A packet released from the ARP queue already went through the hooks.
        if let Some(pos) = self.resume.iter().position(|(p, _, _)| *p == meta.pkt) {
            let (_, dev, bridged) = self.resume.remove(pos);
            let nexthop = self.pending_nexthop(dev, &ip);
            match bridged {
                Some(b) => self.bridged_dnat_resume(ctx, dev, nexthop, ip, meta, b),
                None => self.neigh_output(ctx, dev, nexthop, ip, meta),
            }
            return;
        }
        let mut mark = 0u32;
        let Some((out, nexthop)) = self.ip_route_output(ctx, &mut ip) else {
            return;
        };
        let Some(ct) = self.nf_local_out(ctx, &mut ip, out, &mut mark, meta) else {
            return;
        };
        let dst_before = ip.dst();
        self.nat_manip(ctx, &mut ip, &ct, false);
        let (mut out, mut nexthop) = (out, nexthop);
        if !self.ip_route_me_harder(ctx, &ip, mark, &ct, dst_before, &mut out, &mut nexthop) {
            return;
        }
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Filter, Hook::Output),
            &mut ip,
            (None, Some(out), None),
            &mut mark,
            &ct,
            meta,
        ) else {
            return;
        };
        self.postrouting(ctx, ip, None, out, nexthop, meta, mark, ct);
    }

    /// `ip_route_output_key` for a local packet: the route, its device and
    /// next hop, and a source address from the route for an unbound socket.
    fn ip_route_output(&mut self, ctx: &mut Ctx, ip: &mut Ipv4Repr) -> Option<(usize, Ipv4Addr)> {
        let src = (!ip.src().is_unspecified()).then_some(ip.src());
        let key = FlowKey {
            dst: Some(ip.dst()),
            src,
            mark: 0,
            iif: None,
            oif: None,
        };
        let l = match self.fib.lookup(&key, None) {
            Ok(l) => l,
            Err(_) => {
                self.drop(
                    ctx,
                    Point::Routing,
                    format!("no route to {} (ENETUNREACH)", ip.dst()),
                    &CtInfo::default(),
                );
                return None;
            }
        };
        self.route_step(ctx, &l, ip.dst());
        let (out, nexthop) = match l.route.rtype {
            RouteType::Local => (0usize, ip.dst()),
            // a broadcast route: out of its device, the neighbour being the
            // link-layer broadcast (arp.c arp_constructor, RTN_BROADCAST)
            RouteType::Unicast | RouteType::Broadcast => match l.route.dev {
                Some(d) => (d, l.route.via.unwrap_or(ip.dst())),
                None => {
                    self.drop(
                        ctx,
                        Point::Routing,
                        "route has no device".into(),
                        &CtInfo::default(),
                    );
                    return None;
                }
            },
            t => {
                self.drop(
                    ctx,
                    Point::Routing,
                    format!("{} route to {}", t.name(), ip.dst()),
                    &CtInfo::default(),
                );
                return None;
            }
        };
        if src.is_none() {
            let s = l.route.src.or_else(|| self.select_src(out, nexthop));
            match s {
                Some(s) => ip.set_src(s),
                None => {
                    self.drop(
                        ctx,
                        Point::Routing,
                        "no source address available (EADDRNOTAVAIL)".into(),
                        &CtInfo::default(),
                    );
                    return None;
                }
            }
        }
        Some((out, nexthop))
    }

    /// The LOCAL_OUT hook before NAT is applied: raw/OUTPUT, conntrack,
    /// mangle/OUTPUT and nat/OUTPUT (the NAT binding); the connection, or
    /// `None` when the packet is gone.
    fn nf_local_out(
        &mut self,
        ctx: &mut Ctx,
        ip: &mut Ipv4Repr,
        out: usize,
        mark: &mut u32,
        meta: Meta,
    ) -> Option<CtInfo> {
        let none = CtInfo::default();
        let raw = self.nf_filter(
            ctx,
            (TableKind::Raw, Hook::Output),
            ip,
            (None, Some(out), None),
            mark,
            &none,
            meta,
        )?;
        let ct = if raw.notrack || meta.untracked {
            CtInfo {
                bits: ctbits::UNTRACKED,
                ..Default::default()
            }
        } else {
            match self.ct_in(ctx, ip) {
                Ok(c) => c,
                Err(reason) => {
                    self.drop(ctx, Point::Conntrack, reason.to_string(), &none);
                    return None;
                }
            }
        };
        let _ = self.nf_filter(
            ctx,
            (TableKind::Mangle, Hook::Output),
            ip,
            (None, Some(out), None),
            mark,
            &ct,
            meta,
        )?;
        if self.needs_nat(&ct, false) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                Hook::Output,
                ip,
                None,
                Some(out),
                mark,
                &ct,
                None,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, false, None, None) {
                self.drop(
                    ctx,
                    Point::Table(TableKind::Nat, Hook::Output),
                    e.to_string(),
                    &ct,
                );
                return None;
            }
        }
        Some(ct)
    }

    /// `ip_route_me_harder`: after NAT changed the destination (or a mark
    /// was set) the packet is routed again; false when it is gone.
    #[allow(clippy::too_many_arguments)]
    fn ip_route_me_harder(
        &mut self,
        ctx: &mut Ctx,
        ip: &Ipv4Repr,
        mark: u32,
        ct: &CtInfo,
        dst_before: Ipv4Addr,
        out: &mut usize,
        nexthop: &mut Ipv4Addr,
    ) -> bool {
        if ip.dst() != dst_before || mark != 0 {
            // ip_route_me_harder: the destination (or mark) changed; route again.
            let key = FlowKey {
                dst: Some(ip.dst()),
                src: Some(ip.src()),
                mark,
                iif: None,
                oif: None,
            };
            match self.fib.lookup(&key, None) {
                Ok(l2) => {
                    if ip.dst() != dst_before {
                        self.route_step(ctx, &l2, ip.dst());
                    }
                    match (l2.route.rtype, l2.route.dev) {
                        (RouteType::Local, _) => {
                            *out = 0;
                            *nexthop = ip.dst();
                        }
                        (RouteType::Unicast | RouteType::Broadcast, Some(d)) => {
                            *out = d;
                            *nexthop = l2.route.via.unwrap_or(ip.dst());
                        }
                        (t, _) => {
                            self.drop(
                                ctx,
                                Point::Routing,
                                format!("{} route to {} after NAT", t.name(), ip.dst()),
                                ct,
                            );
                            return false;
                        }
                    }
                }
                Err(_) => {
                    self.drop(
                        ctx,
                        Point::Routing,
                        format!("no route to {} after NAT", ip.dst()),
                        ct,
                    );
                    return false;
                }
            }
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn postrouting(
        &mut self,
        ctx: &mut Ctx,
        mut ip: Ipv4Repr,
        in_dev: Option<usize>,
        out: usize,
        nexthop: Ipv4Addr,
        meta: Meta,
        mut mark: u32,
        ct: CtInfo,
    ) {
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Mangle, Hook::Postrouting),
            &mut ip,
            (in_dev, Some(out), None),
            &mut mark,
            &ct,
            meta,
        ) else {
            return;
        };
        if self.needs_nat(&ct, true) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                Hook::Postrouting,
                &mut ip,
                in_dev,
                Some(out),
                &mut mark,
                &ct,
                None,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, true, Some(out), Some(nexthop)) {
                self.drop(
                    ctx,
                    Point::Table(TableKind::Nat, Hook::Postrouting),
                    e.to_string(),
                    &ct,
                );
                return;
            }
        }
        self.nat_manip(ctx, &mut ip, &ct, true);
        // ipv4_synproxy_hook (NF_IP_PRI_CONNTRACK_CONFIRM - 1)
        if !self.synproxy_hook(ctx, &mut ip, &ct, in_dev, meta) {
            return;
        }
        let mut meta = meta;
        if self.devs[out].kind == DevKind::Loopback {
            meta.lo_ct = ct.id.zip(ct.dir);
        }
        let mtu = self.devs[out].mtu as usize;
        if ip.total_len() > mtu {
            let reason = if ip.hdr.dont_fragment {
                format!(
                    "{} bytes exceed the MTU {} of {} (EMSGSIZE)",
                    ip.total_len(),
                    mtu,
                    self.devs[out].name
                )
            } else {
                format!(
                    "{} bytes exceed the MTU {} of {}; IP fragmentation is not modelled",
                    ip.total_len(),
                    mtu,
                    self.devs[out].name
                )
            };
            self.drop(ctx, Point::IpFinishOutput, reason, &ct);
            return;
        }
        self.neigh_output(ctx, out, nexthop, ip, meta);
    }
}
