//! ARP (net/ipv4/arp.c) on the neighbour table: requests and replies,
//! proxy ARP, the packets queued while a neighbour resolves, probes and
//! the NUD timers (`neigh_output`, `neigh_timer_handler`).

use std::net::Ipv4Addr;

use crate::net::fib::FlowKey;
use crate::net::host::{Ctx, DevKind, Host, Meta, Output};
use crate::net::netfilter::ct_glue::*;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::arp::{self, ArpRepr};
use crate::wire::icmp::{self};
use crate::wire::{summarize, summarize_ip, Frame, Ipv4Repr, Mac, L3};

impl Host {
    /// Proxy ARP (`arp_process` with `arp_fwd_proxy`): with proxy_arp on
    /// the device (or conf.all) and forwarding on, a request for an address
    /// whose input route leads out of another device is answered with this
    /// device's MAC. Returns that other device's name. The reply is sent at
    /// once, as with `neigh.DEV.proxy_delay=0` (calico sets it; the kernel's
    /// default delays broadcast requests by a random part of 0.8 s).
    pub(crate) fn proxy_arp_route(
        &self,
        dev: usize,
        sip: Ipv4Addr,
        tip: Ipv4Addr,
    ) -> Option<String> {
        let dn = &self.devs[dev].name;
        if !self.sysctl.proxy_arp(dn) || self.sysctl.ip_forward_int() != 1 || tip.is_loopback() {
            return None;
        }
        let k = self.route_key(tip, Some(sip), 0, Some(dn));
        let l = self.fib.lookup(&k, None).ok()?;
        if l.route.rtype != crate::net::fib::RouteType::Unicast {
            return None;
        }
        let out = l.route.dev?;
        (out != dev).then(|| self.devs[out].name.clone())
    }

    pub(crate) fn arp_input(&mut self, ctx: &mut Ctx, dev: usize, a: ArpRepr, meta: Meta) {
        let dn = self.devs[dev].name.clone();
        match a.op {
            arp::OP_REQUEST => {
                // arp_ignore=0: answer for any local address, on any device.
                let ours = self.is_local(a.target_ip) && !a.target_ip.is_loopback();
                let proxied = if ours {
                    None
                } else {
                    self.proxy_arp_route(dev, a.sender_ip, a.target_ip)
                };
                // A request we answer creates the sender's entry
                // (neigh_event_ns); others only refresh an existing one.
                let pend = self.neigh.update(
                    dev,
                    a.sender_ip,
                    a.sender_mac,
                    ctx.now,
                    ours || proxied.is_some(),
                    false,
                );
                self.flush_pending(ctx, dev, pend);
                if !ours && proxied.is_none() {
                    ctx.trace.step(
                        Point::Arp,
                        format!("{} is not a local address: no reply", a.target_ip),
                        Action::Info,
                    );
                    return;
                }
                if let Some(via) = &proxied {
                    ctx.trace.step(
                        Point::Arp,
                        format!(
                            "proxy_arp on {dn}: {} is routed via {via}, not {dn}: answer with {dn}'s address",
                            a.target_ip
                        ),
                        Action::Info,
                    );
                }
                let reply = ArpRepr {
                    op: arp::OP_REPLY,
                    sender_mac: self.devs[dev].mac,
                    sender_ip: a.target_ip,
                    target_mac: a.sender_mac,
                    target_ip: a.sender_ip,
                };
                let f = Frame {
                    src: self.devs[dev].mac,
                    dst: a.sender_mac,
                    payload: L3::Arp(reply.clone()),
                };
                ctx.trace.step(
                    Point::Arp,
                    format!(
                        "{} is ours: reply {} is-at {}",
                        a.target_ip, a.target_ip, self.devs[dev].mac
                    ),
                    Action::Neigh {
                        ip: a.sender_ip.to_string(),
                        mac: Some(a.sender_mac.to_string()),
                        state: "learned from request".into(),
                    },
                );
                ctx.trace.set_out(&dn, reply.to_string());
                let m = ctx.new_meta(meta.flow, Some(meta.pkt));
                self.dev_xmit(ctx, dev, f.emit(), m);
            }
            arp::OP_REPLY => {
                let pend = self
                    .neigh
                    .learn(dev, a.sender_ip, a.sender_mac, ctx.now, false);
                ctx.trace.step(
                    Point::Neigh,
                    format!(
                        "{} lladdr {} REACHABLE on {dn}; {} queued packet(s) released",
                        a.sender_ip,
                        a.sender_mac,
                        pend.len()
                    ),
                    Action::Neigh {
                        ip: a.sender_ip.to_string(),
                        mac: Some(a.sender_mac.to_string()),
                        state: "REACHABLE".into(),
                    },
                );
                self.flush_pending(ctx, dev, pend);
            }
            op => self.drop(
                ctx,
                Point::Arp,
                format!("ARP op {op} not handled"),
                &CtInfo::default(),
            ),
        }
    }

    pub(crate) fn flush_pending(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        pend: Vec<super::table::Pending>,
    ) {
        for p in pend {
            ctx.out.push(Output::SendLocal {
                ip: p.ip,
                meta: p.meta,
                note: Some(format!(
                    "resume: neighbour on {} resolved",
                    self.devs[dev].name
                )),
            });
            // Mark the resumed packet so ip_output_local transmits it as is.
            self.resume.push((p.meta.pkt, dev, p.bridged));
        }
    }

    /// The next hop of a queued packet: recomputed from the route, since the
    /// queue keeps only the packet.
    pub(crate) fn pending_nexthop(&self, dev: usize, ip: &Ipv4Repr) -> Ipv4Addr {
        let key = FlowKey {
            dst: Some(ip.dst()),
            src: Some(ip.src()),
            mark: 0,
            iif: None,
            oif: None,
        };
        match self.fib.lookup(&key, Some(dev)) {
            Ok(l) if l.route.dev == Some(dev) => l.route.via.unwrap_or(ip.dst()),
            _ => ip.dst(),
        }
    }

    /// `neigh_output`: find the next hop's MAC (ARP if needed) and transmit.
    pub(crate) fn neigh_output(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
    ) {
        self.neigh_output_ex(ctx, dev, nexthop, ip, meta, None)
    }

    /// `neigh_output`, remembering a bridged DNAT for when the queue drains.
    pub(crate) fn neigh_output_ex(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
        bridged: Option<super::table::BridgedDnat>,
    ) {
        let d = &self.devs[dev];
        let dn = d.name.clone();
        let src_mac = d.mac;
        match d.kind {
            DevKind::Ipip => {
                ctx.trace.set_out(&dn, summarize_ip(&ip));
                self.ipip_xmit(ctx, dev, nexthop, ip, meta);
                return;
            }
            DevKind::Tun => {
                // point-to-point, IFF_NOARP: the packet goes as it is
                ctx.trace.set_out(&dn, summarize_ip(&ip));
                self.dev_xmit(ctx, dev, ip.emit(), meta);
                return;
            }
            DevKind::Loopback => {
                let f = Frame {
                    src: Mac::ZERO,
                    dst: Mac::ZERO,
                    payload: L3::Ipv4(ip),
                };
                ctx.trace.set_out(&dn, summarize(&f));
                self.dev_xmit(ctx, dev, f.emit(), meta);
                return;
            }
            DevKind::Dummy => {
                self.drop(
                    ctx,
                    Point::DevQueueXmit,
                    format!("{dn} is a dummy device: frames are discarded"),
                    &CtInfo::default(),
                );
                return;
            }
            _ => {}
        }
        // arp_constructor: the neighbour of a broadcast address (limited,
        // or a `broadcast` route of table local: inet_addr_type_dev_table
        // RTN_BROADCAST) is NUD_NOARP with dev->broadcast, no ARP.
        let dst_mac = if self.is_broadcast_dst(nexthop) {
            Some(Mac::BROADCAST)
        } else if ip.dst().is_multicast() {
            // arp_mc_map / ip_eth_mc_map: 01:00:5e + the group's low 23 bits
            let o = ip.dst().octets();
            Some(Mac([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]))
        } else {
            self.neigh_use(ctx, dev, nexthop, meta).map(|(m, st)| {
                let state = if st == super::table::Nud::Stale {
                    "STALE -> DELAY (probe in 5 s unless confirmed)".to_string()
                } else {
                    st.name().to_string()
                };
                ctx.trace.step(
                    Point::Neigh,
                    format!("{nexthop} lladdr {m} {state} on {dn}"),
                    Action::Neigh {
                        ip: nexthop.to_string(),
                        mac: Some(m.to_string()),
                        state: st.name().into(),
                    },
                );
                m
            })
        };
        match dst_mac {
            Some(m) => {
                let f = Frame {
                    src: src_mac,
                    dst: m,
                    payload: L3::Ipv4(ip),
                };
                ctx.trace.set_out(&dn, summarize(&f));
                self.dev_xmit(ctx, dev, f.emit(), meta);
            }
            None => self.neigh_queue(ctx, dev, nexthop, ip, meta, bridged),
        }
    }

    /// Looks up the next hop's MAC for sending; a STALE entry goes to DELAY
    /// with the first-probe timer armed (`neigh_event_send`).
    pub(crate) fn neigh_use(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv4Addr,
        meta: Meta,
    ) -> Option<(Mac, super::table::Nud)> {
        use super::table::{Nud, DELAY_FIRST_PROBE_NS};
        let (mac, st) = self.neigh.resolve(dev, ip, ctx.now)?;
        let e = self.neigh.entries.get_mut(&(dev, ip))?;
        e.last_use = Some(meta);
        if st == Nud::Stale {
            e.state = Nud::Delay;
            e.probes = 0;
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + DELAY_FIRST_PROBE_NS,
                timer: crate::net::host::HostTimer::Neigh { dev, ip },
            });
        } else if e.state == Nud::Reachable && st == Nud::Stale {
            e.state = Nud::Stale;
        }
        Some((mac, st))
    }

    pub(crate) fn neigh_queue(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
        bridged: Option<super::table::BridgedDnat>,
    ) {
        use super::table::{NeighEntry, Nud, Pending, UNRES_QLEN};
        let dn = self.devs[dev].name.clone();
        let src_ip = if self.is_local(ip.src()) {
            Some(ip.src())
        } else {
            self.select_src(dev, nexthop)
        };
        let e = self
            .neigh
            .entries
            .entry((dev, nexthop))
            .or_insert(NeighEntry {
                mac: None,
                state: Nud::Incomplete,
                updated_ns: ctx.now,
                probes: 0,
                queue: Vec::new(),
                last_use: None,
            });
        let fresh = e.state != Nud::Incomplete || e.queue.is_empty() && e.probes == 0;
        if e.state == Nud::Failed || e.state == Nud::Stale {
            e.state = Nud::Incomplete;
            e.probes = 0;
        }
        if e.queue.len() >= UNRES_QLEN {
            e.queue.remove(0);
        }
        e.queue.push(Pending { ip, meta, bridged });
        e.last_use = Some(meta);
        let qlen = e.queue.len();
        ctx.trace.step(
            Point::Neigh,
            format!("{nexthop} on {dn} is INCOMPLETE: packet queued ({qlen} waiting), ARP who-has {nexthop}"),
            Action::Neigh { ip: nexthop.to_string(), mac: None, state: "INCOMPLETE".into() },
        );
        if fresh {
            self.send_arp_request(ctx, dev, nexthop, src_ip, meta);
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + super::table::RETRANS_NS,
                timer: crate::net::host::HostTimer::Neigh { dev, ip: nexthop },
            });
        }
    }

    /// DELAY expired or a PROBE went unanswered: probe the cached MAC with a
    /// unicast ARP request, or give up after `ucast_solicit` probes.
    pub(crate) fn neigh_probe(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv4Addr) {
        use super::table::{Nud, UCAST_SOLICIT};
        let dn = self.devs[dev].name.clone();
        let Some(e) = self.neigh.entries.get_mut(&(dev, ip)) else {
            return;
        };
        if e.state == Nud::Probe {
            e.probes += 1;
        } else {
            e.state = Nud::Probe;
            e.probes = 0;
        }
        let meta = e.last_use.unwrap_or(Meta {
            pkt: 0,
            flow: 0,
            parent: None,
            hash: None,
            owner: None,
            lo_ct: None,
            sk: None,
            untracked: false,
        });
        if e.probes >= UCAST_SOLICIT {
            e.state = Nud::Failed;
            ctx.trace.begin_hop(
                meta.flow,
                ctx.now,
                &self.name,
                meta.pkt,
                None,
                None,
                (format!("neighbour {ip} on {dn}"), Default::default()),
            );
            ctx.trace.step(
                Point::Neigh,
                format!("{ip} on {dn}: no answer to {UCAST_SOLICIT} unicast probes: FAILED"),
                Action::Neigh {
                    ip: ip.to_string(),
                    mac: None,
                    state: "FAILED".into(),
                },
            );
            ctx.trace.end_hop();
            return;
        }
        let Some(mac) = e.mac else { return };
        let src = self.select_src(dev, ip).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let a = ArpRepr {
            op: arp::OP_REQUEST,
            sender_mac: self.devs[dev].mac,
            sender_ip: src,
            target_mac: Mac::ZERO,
            target_ip: ip,
        };
        let f = Frame {
            src: self.devs[dev].mac,
            dst: mac,
            payload: L3::Arp(a),
        };
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            m.pkt,
            m.parent,
            None,
            crate::wire::describe(&f),
        );
        ctx.trace.step(
            Point::Neigh,
            format!("{ip} on {dn} unconfirmed since it went STALE: PROBE with a unicast ARP request to {mac}"),
            Action::Neigh { ip: ip.to_string(), mac: Some(mac.to_string()), state: "PROBE".into() },
        );
        ctx.trace.set_out(&dn, summarize(&f));
        self.dev_xmit(ctx, dev, f.emit(), m);
        ctx.trace.end_hop();
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + super::table::RETRANS_NS,
            timer: crate::net::host::HostTimer::Neigh { dev, ip },
        });
    }

    pub(crate) fn send_arp_request(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        target: Ipv4Addr,
        src_ip: Option<Ipv4Addr>,
        meta: Meta,
    ) {
        let a = ArpRepr {
            op: arp::OP_REQUEST,
            sender_mac: self.devs[dev].mac,
            sender_ip: src_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            target_mac: Mac::ZERO,
            target_ip: target,
        };
        let f = Frame {
            src: self.devs[dev].mac,
            dst: Mac::BROADCAST,
            payload: L3::Arp(a),
        };
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        let dn = self.devs[dev].name.clone();
        ctx.trace.set_out(&dn, summarize(&f));
        self.dev_xmit(ctx, dev, f.emit(), m);
    }

    /// ARP retransmission timer: ask again, or give up after `mcast_solicit`
    /// probes and drop what waited, each with an ICMP host unreachable to
    /// its source (a local sender's included).
    pub fn neigh_timer(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv4Addr) {
        use super::table::{Nud, MCAST_SOLICIT};
        let Some(e) = self.neigh.entries.get_mut(&(dev, ip)) else {
            return;
        };
        if matches!(e.state, Nud::Delay | Nud::Probe) {
            self.neigh_probe(ctx, dev, ip);
            return;
        }
        if e.state != Nud::Incomplete {
            return;
        }
        e.probes += 1;
        let Some(first) = e.queue.first().map(|p| p.meta) else {
            return;
        };
        if e.probes >= MCAST_SOLICIT {
            e.state = Nud::Failed;
            let dropped = std::mem::take(&mut e.queue);
            let dn = self.devs[dev].name.clone();
            for p in dropped {
                ctx.trace.begin_hop(
                    p.meta.flow,
                    ctx.now,
                    &self.name,
                    p.meta.pkt,
                    p.meta.parent,
                    None,
                    crate::wire::describe_ip(&p.ip),
                );
                self.drop(
                    ctx,
                    Point::Neigh,
                    format!("no ARP reply for {ip} on {dn} after {MCAST_SOLICIT} requests: neighbour FAILED"),
                    &CtInfo::default(),
                );
                // net/ipv4/arp.c arp_error_report -> dst_link_failure ->
                // net/ipv4/route.c ipv4_link_failure: icmp_send(skb,
                // ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0) for every packet
                // that waited, forwarded or locally sent alike (the error
                // about a local packet goes to the local sender over lo).
                self.send_icmp_error(
                    ctx,
                    &p.ip,
                    icmp::DEST_UNREACH,
                    icmp::CODE_HOST_UNREACH,
                    [0; 4],
                    p.meta,
                    "neighbour failed",
                );
                ctx.trace.end_hop();
            }
            return;
        }
        let src = e
            .queue
            .first()
            .map(|p| p.ip.src())
            .filter(|s| self.is_local(*s))
            .or_else(|| self.select_src(dev, ip));
        ctx.trace.begin_hop(
            first.flow,
            ctx.now,
            &self.name,
            first.pkt,
            first.parent,
            None,
            (
                format!("ARP retransmit for {ip}"),
                crate::wire::PktInfo {
                    kind: crate::wire::PktKind::Arp,
                    ..Default::default()
                },
            ),
        );
        self.send_arp_request(ctx, dev, ip, src, first);
        ctx.trace.end_hop();
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + super::table::RETRANS_NS,
            timer: crate::net::host::HostTimer::Neigh { dev, ip },
        });
    }
}
