//! Neighbor Discovery (RFC 4861; net/ipv6/ndisc.c, net/core/neighbour.c):
//! resolving a next hop with neighbour solicitations, answering them, and
//! the neighbour states.
//!
//! - Resolution (`ndisc_solicit`): an NS to the target's solicited-node
//!   group from the packet's own source when it is ours, with our MAC in
//!   a source link-layer option; packets wait (INCOMPLETE); every
//!   `retrans_time` (1 s) another NS, `mcast_solicit` (3) in all, then
//!   FAILED and the waiting packets are dropped with an ICMPv6 address
//!   unreachable each (`ndisc_error_report` -> `icmpv6_send`
//!   ICMPV6_ADDR_UNREACH).
//! - An NS for one of our usable addresses (`ndisc_recv_ns`): the sender's
//!   entry made or refreshed STALE from its source link-layer option, and
//!   a solicited NA with our MAC, Override set, Router set when
//!   forwarding. An NS from `::` is DAD: answered to all-nodes, not
//!   solicited (RFC 4861 §7.2.4). A tentative target is not answered.
//! - An NA (`ndisc_recv_na`): a solicited one makes the entry REACHABLE,
//!   an unsolicited one STALE (RFC 4861 §7.2.5); the queue is sent.
//! - A REACHABLE entry used after `reachable_time` goes STALE; a STALE
//!   one used goes DELAY, and after 5 s PROBE with unicast NS (3), then
//!   FAILED. As for ARP (`neigh::table`), the same simplifications: no
//!   random reachable time, no confirmation by upper layers.
//! - ND messages go out with hop limit 255 and are taken only with hop
//!   limit 255 (RFC 4861 §7.1.1, `ndisc_rcv`).

use std::net::Ipv6Addr;

use super::Neigh6;
use crate::net::host::{Ctx, Host, HostTimer, Meta, Output};
use crate::net::neigh::table::{
    Nud, DELAY_FIRST_PROBE_NS, MCAST_SOLICIT, REACHABLE_NS, RETRANS_NS,
};
use crate::net::netfilter::ct_glue::CtInfo;
use crate::trace::{Action, Point};
use crate::wire::icmpv6::{self, Icmpv6Repr, NdOpt};
use crate::wire::ipv6::{addr, Ipv6Repr};
use crate::wire::{Frame, Mac, L3, L4};

/// `neigh.default.unres_qlen` in packets (101, as for ARP).
const UNRES_QLEN: usize = 101;

fn neigh_action(ip: Ipv6Addr, mac: Option<Mac>, state: &str) -> Action {
    Action::Neigh {
        ip: ip.to_string(),
        mac: mac.map(|m| m.to_string()),
        state: state.into(),
    }
}

impl Host {
    /// `ip6_finish_output2` -> `neigh_output`: the next hop's MAC, or the
    /// packet queued while ndisc resolves it.
    pub(crate) fn ndisc_output(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv6Addr,
        ip: Ipv6Repr,
        meta: Meta,
    ) {
        let dn = self.devs[dev].name.clone();
        let dst_mac = if ip.dst.is_multicast() {
            // ipv6_eth_mc_map: 33:33 and the group's low 32 bits
            Some(addr::multicast_mac(ip.dst))
        } else {
            self.ndisc_use(ctx, dev, nexthop, meta)
        };
        match dst_mac {
            Some(m) => self.ip6_xmit_frame(ctx, dev, m, ip, meta),
            None => self.ndisc_queue(ctx, dev, nexthop, ip, meta, &dn),
        }
    }

    /// The frame out of `dev` to `mac`.
    pub(crate) fn ip6_xmit_frame(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        mac: Mac,
        ip: Ipv6Repr,
        meta: Meta,
    ) {
        let d = &self.devs[dev];
        let dn = d.name.clone();
        let f = Frame {
            src: d.mac,
            dst: mac,
            payload: L3::Ipv6(ip),
        };
        ctx.trace.set_out(&dn, crate::wire::summarize(&f));
        self.dev_xmit(ctx, dev, f.emit(), meta);
    }

    /// A resolved entry's MAC, with the state changes use makes
    /// (`neigh_event_send`).
    fn ndisc_use(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv6Addr, meta: Meta) -> Option<Mac> {
        let dn = self.devs[dev].name.clone();
        let e = self.ip6.neigh.get_mut(&(dev, ip))?;
        let mac = e.mac?;
        if e.state == Nud::Reachable && ctx.now.saturating_sub(e.updated_ns) >= REACHABLE_NS {
            e.state = Nud::Stale;
        }
        let shown = match e.state {
            Nud::Incomplete | Nud::Failed => return None,
            Nud::Stale => {
                e.state = Nud::Delay;
                e.probes = 0;
                ctx.out.push(Output::Timer {
                    at_ns: ctx.now + DELAY_FIRST_PROBE_NS,
                    timer: HostTimer::Ndisc { dev, ip },
                });
                "STALE -> DELAY (probe in 5 s unless confirmed)"
            }
            s => s.name(),
        };
        e.last_use = Some(meta);
        let state = e.state.name();
        ctx.trace.step(
            Point::Neigh,
            format!("{ip} lladdr {mac} {shown} on {dn}"),
            neigh_action(ip, Some(mac), state),
        );
        Some(mac)
    }

    fn ndisc_queue(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv6Addr,
        ip: Ipv6Repr,
        meta: Meta,
        dn: &str,
    ) {
        let src = ip.src;
        let e = self.ip6.neigh.entry((dev, nexthop)).or_insert(Neigh6 {
            mac: None,
            state: Nud::Incomplete,
            updated_ns: ctx.now,
            probes: 0,
            router: false,
            queue: Vec::new(),
            last_use: None,
        });
        let fresh = e.state != Nud::Incomplete || e.queue.is_empty() && e.probes == 0;
        if e.state != Nud::Incomplete {
            e.state = Nud::Incomplete;
            e.probes = 0;
        }
        if e.queue.len() >= UNRES_QLEN {
            e.queue.remove(0);
        }
        e.queue.push((ip, meta));
        e.last_use = Some(meta);
        let n = e.queue.len();
        ctx.trace.step(
            Point::Neigh,
            format!(
                "{nexthop} on {dn} is INCOMPLETE: packet queued ({n} waiting), neighbor solicitation to {}",
                addr::solicited_node(nexthop)
            ),
            neigh_action(nexthop, None, "INCOMPLETE"),
        );
        if fresh {
            self.send_ns(ctx, dev, nexthop, Some(src), None, meta);
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + RETRANS_NS,
                timer: HostTimer::Ndisc { dev, ip: nexthop },
            });
        }
    }

    /// `ndisc_solicit` -> `ndisc_send_ns`: to the solicited-node group of
    /// `target`, or to `unicast` (a probe); from `src` (the waiting
    /// packet's source) when it is a usable address of the device, else
    /// from the device's link-local address (`ipv6_get_lladdr`); a device
    /// without one sends no solicitation.
    pub(crate) fn send_ns(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        target: Ipv6Addr,
        src: Option<Ipv6Addr>,
        unicast: Option<Mac>,
        meta: Meta,
    ) {
        let own = src.filter(|s| {
            self.ip6
                .addrs
                .get(&dev)
                .is_some_and(|v| v.iter().any(|a| a.addr() == *s && a.usable()))
        });
        let lladdr = || {
            self.ip6
                .addrs
                .get(&dev)
                .and_then(|v| v.iter().find(|a| a.scope() == 0x02 && a.usable()))
                .map(|a| a.addr())
        };
        let Some(from) = own.or_else(lladdr) else {
            ctx.trace.step(
                Point::Neigh,
                format!(
                    "{} has no link-local address: no neighbor solicitation (ndisc_send_ns)",
                    self.devs[dev].name
                ),
                Action::Info,
            );
            return;
        };
        let mac = self.devs[dev].mac;
        let opts = if from.is_unspecified() {
            vec![]
        } else {
            vec![NdOpt::SourceLla(mac)]
        };
        let dst = if unicast.is_some() {
            target
        } else {
            addr::solicited_node(target)
        };
        let ns = Ipv6Repr::new(
            from,
            dst,
            255,
            0,
            L4::Icmp6(Icmpv6Repr::NeighborSolicit { target, opts }),
        );
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        let to = unicast.unwrap_or_else(|| addr::multicast_mac(dst));
        self.ip6_xmit_frame(ctx, dev, to, ns, m);
    }

    /// The retransmission and probe timer of an entry.
    pub fn ndisc_timer(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv6Addr) {
        let dn = self.devs[dev].name.clone();
        let Some(e) = self.ip6.neigh.get_mut(&(dev, ip)) else {
            return;
        };
        let first = e.queue.first().map(|(_, m)| *m).or(e.last_use);
        let Some(meta) = first else { return };
        match e.state {
            Nud::Incomplete => {
                e.probes += 1;
                if e.probes < MCAST_SOLICIT {
                    let src = e.queue.first().map(|(p, _)| p.src);
                    ctx.trace.begin_hop(
                        meta.flow,
                        ctx.now,
                        &self.name,
                        meta.pkt,
                        meta.parent,
                        None,
                        (
                            format!("neighbor solicitation retransmit for {ip}"),
                            crate::wire::PktInfo {
                                kind: crate::wire::PktKind::Ndp,
                                ..Default::default()
                            },
                        ),
                    );
                    self.send_ns(ctx, dev, ip, src, None, meta);
                    ctx.trace.end_hop();
                    ctx.out.push(Output::Timer {
                        at_ns: ctx.now + RETRANS_NS,
                        timer: HostTimer::Ndisc { dev, ip },
                    });
                    return;
                }
                e.state = Nud::Failed;
                let dropped = std::mem::take(&mut e.queue);
                for (p, m) in dropped {
                    ctx.trace.begin_hop(
                        m.flow,
                        ctx.now,
                        &self.name,
                        m.pkt,
                        m.parent,
                        None,
                        crate::wire::describe(&Frame {
                            src: Mac::ZERO,
                            dst: Mac::ZERO,
                            payload: L3::Ipv6(p.clone()),
                        }),
                    );
                    self.drop(
                        ctx,
                        Point::Neigh,
                        format!("no neighbor advertisement for {ip} on {dn} after {MCAST_SOLICIT} solicitations: neighbour FAILED"),
                        &CtInfo::default(),
                    );
                    // ndisc_error_report -> icmpv6_send(ADDR_UNREACH)
                    self.icmp6_error(
                        ctx,
                        &p,
                        Icmpv6Repr::DstUnreach {
                            code: icmpv6::CODE_ADDR_UNREACH,
                            quoted: vec![],
                        },
                        m,
                    );
                    ctx.trace.end_hop();
                }
            }
            Nud::Delay | Nud::Probe => {
                if e.state == Nud::Delay {
                    e.state = Nud::Probe;
                    e.probes = 0;
                } else {
                    e.probes += 1;
                }
                if e.probes >= MCAST_SOLICIT {
                    e.state = Nud::Failed;
                    return;
                }
                let mac = e.mac;
                ctx.trace.begin_hop(
                    meta.flow,
                    ctx.now,
                    &self.name,
                    meta.pkt,
                    None,
                    None,
                    (
                        format!("neighbour {ip} on {dn}"),
                        crate::wire::PktInfo {
                            kind: crate::wire::PktKind::Ndp,
                            ..Default::default()
                        },
                    ),
                );
                ctx.trace.step(
                    Point::Neigh,
                    format!("{ip} on {dn} unconfirmed: PROBE with a unicast neighbor solicitation"),
                    neigh_action(ip, mac, "PROBE"),
                );
                self.send_ns(ctx, dev, ip, None, mac, meta);
                ctx.trace.end_hop();
                ctx.out.push(Output::Timer {
                    at_ns: ctx.now + RETRANS_NS,
                    timer: HostTimer::Ndisc { dev, ip },
                });
            }
            _ => {}
        }
    }

    /// `ndisc_rcv`: an ND message taken in.
    pub(crate) fn ndisc_rcv(&mut self, ctx: &mut Ctx, dev: usize, ip: &Ipv6Repr, meta: Meta) {
        let Some(m) = ip.icmp6() else { return };
        if ip.hop_limit != 255 {
            self.drop(
                ctx,
                Point::Neigh,
                format!(
                    "{m} with hop limit {}: ND messages must come with 255 (RFC 4861 §7.1.1, ndisc_rcv)",
                    ip.hop_limit
                ),
                &CtInfo::default(),
            );
            return;
        }
        match m {
            Icmpv6Repr::NeighborSolicit { target, .. } => {
                self.ndisc_recv_ns(ctx, dev, ip, *target, m.lladdr(), meta)
            }
            Icmpv6Repr::NeighborAdvert {
                target,
                solicited,
                override_,
                router,
                ..
            } => self.ndisc_recv_na(
                ctx,
                dev,
                *target,
                m.lladdr(),
                (*solicited, *override_, *router),
            ),
            Icmpv6Repr::RouterSolicit { .. } | Icmpv6Repr::RouterAdvert { .. } => {
                ctx.trace.step(
                    Point::Neigh,
                    format!("{m}: router discovery is not modelled (no SLAAC, no default router from RA)"),
                    Action::Info,
                );
            }
            Icmpv6Repr::Redirect { target, dst, .. } => {
                self.ndisc_redirect_rcv(ctx, dev, ip, *target, *dst, m.lladdr());
            }
            _ => {}
        }
    }

    /// `ndisc_redirect_rcv` and `rt6_do_redirect` (RFC 4861 §8.1): taken
    /// when IPv6 forwarding is off and accept_redirects on, from a
    /// link-local source that is the current first hop for `dst`, for a
    /// target that is link-local or `dst` itself; the target's link-layer
    /// address (if given) is learnt STALE and `dst` goes to `target` from
    /// then on (a route exception).
    fn ndisc_redirect_rcv(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv6Repr,
        target: Ipv6Addr,
        dst: Ipv6Addr,
        lladdr: Option<Mac>,
    ) {
        let dn = self.devs[dev].name.clone();
        let refuse = |why: String| format!("redirect for {dst} to {target}: ignored ({why})");
        let accept = self.sysctl.conf6("all", "accept_redirects") != 0
            && self.sysctl.conf6(&dn, "accept_redirects") != 0;
        let why = if self.sysctl.ip6_forward() || self.sysctl.conf6(&dn, "forwarding") != 0 {
            Some("this host forwards: a router takes no redirects".to_string())
        } else if !accept {
            Some(format!("net.ipv6.conf.{dn}.accept_redirects=0"))
        } else if addr::scope(ip.src) != 0x02 {
            Some("source address is not link-local".into())
        } else if target != dst && addr::scope(target) != 0x02 {
            Some("target address is not link-local unicast".into())
        } else {
            let first_hop = self
                .ip6
                .redirects
                .get(&dst)
                .map(|(_, gw)| *gw)
                .or_else(|| self.ip6.fib.lookup(dst).and_then(|f| f.route.via));
            (first_hop != Some(ip.src)).then(|| {
                format!(
                    "{} is not the current first hop for {dst} (ip6_route_redirect)",
                    ip.src
                )
            })
        };
        if let Some(w) = why {
            ctx.trace.step(Point::Neigh, refuse(w), Action::Info);
            return;
        }
        if let Some(mac) = lladdr {
            let released = self.ndisc_learn(ctx, dev, target, mac, Nud::Stale);
            self.ndisc_flush(ctx, dev, target, released);
        }
        self.ip6.redirects.insert(dst, (dev, target));
        ctx.trace.step(
            Point::Neigh,
            format!(
                "redirect from {}: {dst} now goes to {target} on {dn}{} (rt6_do_redirect)",
                ip.src,
                lladdr
                    .map(|m| format!(", lladdr {m} STALE"))
                    .unwrap_or_default()
            ),
            Action::Route {
                table: "cache".into(),
                prefix: format!("{dst}/128"),
                via: (target != dst).then(|| target.to_string()),
                dev: Some(dn.clone()),
                src: None,
                rtype: "unicast".into(),
            },
        );
    }

    fn ndisc_recv_ns(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv6Repr,
        target: Ipv6Addr,
        lladdr: Option<Mac>,
        meta: Meta,
    ) {
        let dn = self.devs[dev].name.clone();
        let dad = ip.src.is_unspecified();
        let ours = self
            .ip6
            .addrs
            .get(&dev)
            .and_then(|v| v.iter().find(|a| a.addr() == target))
            .cloned();
        let Some(a) = ours else {
            ctx.trace.step(
                Point::Neigh,
                format!("{target} is not an address of {dn}: no advertisement"),
                Action::Info,
            );
            return;
        };
        if !a.usable() {
            ctx.trace.step(
                Point::Neigh,
                format!("{target} is tentative on {dn}: not answered (an NS for it during our own DAD means a duplicate)"),
                Action::Info,
            );
            return;
        }
        // RFC 4861 §7.2.3: the sender's entry from its source link-layer
        // address, STALE (neigh_update NEIGH_UPDATE_F_WEAK_OVERRIDE)
        if let (false, Some(mac)) = (dad, lladdr) {
            let released = self.ndisc_learn(ctx, dev, ip.src, mac, Nud::Stale);
            self.ndisc_flush(ctx, dev, ip.src, released);
        }
        let router = self.sysctl.ip6_forward() || self.sysctl.conf6(&dn, "forwarding") != 0;
        let (dst, solicited) = if dad {
            (addr::ALL_NODES, false)
        } else {
            (ip.src, true)
        };
        let na = Ipv6Repr::new(
            target,
            dst,
            255,
            0,
            L4::Icmp6(Icmpv6Repr::NeighborAdvert {
                router,
                solicited,
                override_: true,
                target,
                opts: vec![NdOpt::TargetLla(self.devs[dev].mac)],
            }),
        );
        ctx.trace.step(
            Point::Neigh,
            format!(
                "{target} is ours: neighbor advertisement {target} is at {}{}",
                self.devs[dev].mac,
                if dad {
                    " (to all-nodes: a DAD probe)"
                } else {
                    ""
                }
            ),
            neigh_action(ip.src, lladdr, "learned from solicitation"),
        );
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        let to = match (dad, lladdr) {
            (false, Some(mac)) => mac,
            _ => addr::multicast_mac(dst),
        };
        self.ip6_xmit_frame(ctx, dev, to, na, m);
    }

    fn ndisc_recv_na(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        target: Ipv6Addr,
        lladdr: Option<Mac>,
        (solicited, override_, router): (bool, bool, bool),
    ) {
        let dn = self.devs[dev].name.clone();
        if self.ip6.holds(target).is_some() {
            // ndisc_recv_na: "NA: <mac> advertised our address on <dev>!"
            ctx.trace.step(
                Point::Neigh,
                format!("neighbor advertisement for our own address {target} on {dn}: a duplicate (DAD failed if tentative)"),
                Action::Info,
            );
            return;
        }
        let Some(e) = self.ip6.neigh.get(&(dev, target)) else {
            ctx.trace.step(
                Point::Neigh,
                format!("unsolicited advertisement for {target}: no entry, ignored"),
                Action::Info,
            );
            return;
        };
        let Some(mac) = lladdr.or(e.mac) else { return };
        let changed = e.mac.is_some_and(|m| m != mac);
        let incomplete = e.state == Nud::Incomplete;
        // RFC 4861 §7.2.5
        let state = if !incomplete && changed && !override_ {
            if e.state == Nud::Reachable {
                Nud::Stale
            } else {
                e.state
            }
        } else if solicited {
            Nud::Reachable
        } else {
            Nud::Stale
        };
        let mac = if !incomplete && changed && !override_ {
            e.mac.expect("changed")
        } else {
            mac
        };
        let released = self.ndisc_learn(ctx, dev, target, mac, state);
        if let Some(e) = self.ip6.neigh.get_mut(&(dev, target)) {
            e.router = router;
        }
        ctx.trace.step(
            Point::Neigh,
            format!(
                "{target} lladdr {mac} {} on {dn}; {} queued packet(s) released",
                state.name(),
                released.len()
            ),
            neigh_action(target, Some(mac), state.name()),
        );
        self.ndisc_flush(ctx, dev, target, released);
    }

    /// Records a link-layer address; returns the packets that waited.
    fn ndisc_learn(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv6Addr,
        mac: Mac,
        state: Nud,
    ) -> Vec<(Ipv6Repr, Meta)> {
        let e = self.ip6.neigh.entry((dev, ip)).or_insert(Neigh6 {
            mac: None,
            state,
            updated_ns: ctx.now,
            probes: 0,
            router: false,
            queue: Vec::new(),
            last_use: None,
        });
        // a weak update (from an NS) does not demote a REACHABLE entry
        // with the same address
        if !(state == Nud::Stale && e.state == Nud::Reachable && e.mac == Some(mac)) {
            e.state = state;
        }
        e.mac = Some(mac);
        e.updated_ns = ctx.now;
        e.probes = 0;
        std::mem::take(&mut e.queue)
    }

    /// The packets that waited, sent in hops of their own.
    fn ndisc_flush(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv6Addr,
        pend: Vec<(Ipv6Repr, Meta)>,
    ) {
        for (ip, meta) in pend {
            self.ip6.resume.insert(meta.pkt, (dev, nexthop));
            ctx.out.push(Output::SendLocal6 {
                ip,
                meta,
                note: Some(format!(
                    "resume: neighbour on {} resolved",
                    self.devs[dev].name
                )),
            });
        }
    }
}
