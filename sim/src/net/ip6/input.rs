//! IPv6 input (net/ipv6/ip6_input.c, exthdrs.c): `ipv6_rcv` and
//! `ip6_rcv_core`'s checks, the hop-by-hop options, the input route, and
//! local delivery (`ip6_input_finish`) by Next Header.

use super::frag::Reasm;
use crate::net::fib::RouteType;
use crate::net::host::{Ctx, DevKind, Host, Meta};
use crate::net::netfilter::ct_glue::CtInfo;
use crate::net::netfilter::hook6::Nf6;
use crate::trace::{Action, Point};
use crate::wire::icmpv6::{self, Icmpv6Repr};
use crate::wire::ipv6::{addr, Ipv6Ext, Ipv6Repr, NEXTHDR_ICMPV6, NEXTHDR_NONE};
use crate::wire::{L4, PROTO_TCP, PROTO_UDP};

/// What a hop-by-hop or destination option's type asks for when it is
/// unknown (RFC 8200 §4.2, `ip6_tlvopt_unknown`): the two high bits.
enum Unknown {
    Skip,
    Discard,
    /// Discard and send Parameter Problem code 2 at the option's offset
    /// (3: only when the destination is not multicast).
    ParamProblem {
        offset: u32,
        unless_multicast: bool,
    },
}

/// The first unknown option of a TLV area that is not skipped; `base` is
/// the area's offset from the start of the IPv6 header.
fn check_tlvs(opts: &[u8], base: u32) -> Option<Unknown> {
    let mut i = 0;
    while i < opts.len() {
        let t = opts[i];
        if t == 0 {
            i += 1; // Pad1
            continue;
        }
        let len = *opts.get(i + 1)? as usize;
        // PadN 1, Jumbo 0xc2, router alert 5, (tunnel limit 4 in
        // destination options), CALIPSO 7: the kernel knows these
        if !matches!(t, 1 | 4 | 5 | 7 | 0xc2) {
            let offset = base + i as u32;
            match t >> 6 {
                0 => {}
                1 => return Some(Unknown::Discard),
                2 => {
                    return Some(Unknown::ParamProblem {
                        offset,
                        unless_multicast: false,
                    })
                }
                _ => {
                    return Some(Unknown::ParamProblem {
                        offset,
                        unless_multicast: true,
                    })
                }
            }
        }
        i += 2 + len;
    }
    Some(Unknown::Skip)
}

impl Host {
    pub(crate) fn ipv6_rcv(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv6Repr, meta: Meta) {
        let dn = self.devs[dev].name.clone();
        let none = CtInfo::default();
        let why = if self.sysctl.ipv6_disabled(&dn) {
            Some("disable_ipv6=1".to_string())
        } else if self.devs[dev].kind == DevKind::Ipip {
            Some("an IPIP tunnel has no IPv6".to_string())
        } else if self.devs[dev].kind != DevKind::Loopback
            && (self.devs[dev].mtu as usize) < crate::wire::ipv6::IPV6_MIN_MTU
        {
            Some(format!("MTU {} is under IPv6's 1280", self.devs[dev].mtu))
        } else {
            None
        };
        if let Some(why) = why {
            self.drop(
                ctx,
                Point::IpRcv,
                format!("IPv6 is off on {dn} ({why}): ipv6_rcv drops"),
                &none,
            );
            return;
        }
        let lo = self.devs[dev].kind == DevKind::Loopback;
        // ip6_rcv_core: RFC 4291 §2.5.3 and §2.7
        if ip.src.is_multicast() || (!lo && (ip.src.is_loopback() || ip.dst.is_loopback())) {
            self.drop(
                ctx,
                Point::IpRcv,
                format!("martian {} > {} on {dn} (ip6_rcv_core)", ip.src, ip.dst),
                &none,
            );
            return;
        }
        if ip.dst.is_multicast() && (ip.dst.octets()[1] & 0x0f) == 1 && !lo {
            self.drop(
                ctx,
                Point::IpRcv,
                format!(
                    "{} is interface-local multicast: never from the wire",
                    ip.dst
                ),
                &none,
            );
            return;
        }
        if let Some(Ipv6Ext::HopByHop(o)) = ip.exts.first() {
            if !self.ip6_options_ok(ctx, &ip, o, 40 + 2, meta) {
                return;
            }
        }
        let mut ip = ip;
        let Some(nf) = self.nf6_prerouting(ctx, dev, &mut ip, meta) else {
            return;
        };
        self.ip6_route_input(ctx, dev, ip, meta, nf);
    }

    /// Unknown options, as RFC 8200 §4.2 says; false if the packet is
    /// dropped.
    fn ip6_options_ok(
        &mut self,
        ctx: &mut Ctx,
        ip: &Ipv6Repr,
        opts: &[u8],
        base: u32,
        meta: Meta,
    ) -> bool {
        match check_tlvs(opts, base) {
            Some(Unknown::Skip) => true,
            None | Some(Unknown::Discard) => {
                self.drop(
                    ctx,
                    Point::IpRcv,
                    "an unknown option with action 01 (discard) or a malformed option area".into(),
                    &CtInfo::default(),
                );
                false
            }
            Some(Unknown::ParamProblem {
                offset,
                unless_multicast,
            }) => {
                self.drop(
                    ctx,
                    Point::IpRcv,
                    format!(
                        "unknown option at offset {offset}: discard and report (RFC 8200 §4.2)"
                    ),
                    &CtInfo::default(),
                );
                if !(unless_multicast && ip.dst.is_multicast()) {
                    self.icmp6_error(
                        ctx,
                        ip,
                        Icmpv6Repr::ParamProblem {
                            code: icmpv6::CODE_UNK_OPTION,
                            pointer: offset,
                            quoted: vec![],
                        },
                        meta,
                    );
                }
                false
            }
        }
    }

    /// `ip6_route_input`: local, forward, or an error route.
    pub(crate) fn ip6_route_input(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv6Repr,
        meta: Meta,
        nf: Nf6,
    ) {
        let dn = self.devs[dev].name.clone();
        if ip.dst.is_multicast() {
            if self.ip6_joined(dev, ip.dst) {
                ctx.trace.step(
                    Point::Routing,
                    format!("{}: a group {dn} has joined: deliver", ip.dst),
                    Action::Info,
                );
                self.ip6_local_deliver(ctx, dev, ip, meta, nf);
            } else {
                // ip6_mc_input discards it without a word (as a NIC's
                // multicast filter would): not a drop of the flow's
                ctx.trace.step(
                    Point::Routing,
                    format!(
                        "{}: not a group {dn} has joined: ignored (ip6_mc_input)",
                        ip.dst
                    ),
                    Action::Info,
                );
            }
            return;
        }
        // the rules see the source, the mark and the input device
        // (`ip6_route_input`'s flowi6)
        let key = crate::net::ip6::route::Key6 {
            dst: Some(ip.dst),
            src: Some(ip.src),
            mark: nf.mark,
            iif: Some(&dn),
            oif: None,
        };
        // a link-local destination is looked up on the input device only
        let found = if addr::scope(ip.dst) == 0x02 {
            self.ip6
                .addrs
                .get(&dev)
                .filter(|v| v.iter().any(|a| a.addr() == ip.dst))
                .and_then(|_| self.ip6.fib.lookup_key(&key))
        } else {
            self.ip6.fib.lookup_key(&key)
        };
        let Some(found) = found else {
            if addr::scope(ip.dst) == 0x02 {
                self.drop(
                    ctx,
                    Point::Routing,
                    format!(
                        "{} is link-local and not ours on {dn}: not forwarded",
                        ip.dst
                    ),
                    &CtInfo::default(),
                );
                return;
            }
            self.ip6_no_route(
                ctx,
                &ip,
                RouteType::Unreachable,
                "no route (ip6_null_entry)",
                meta,
            );
            return;
        };
        let r = found.route.clone();
        let table = crate::net::fib::table_name(found.table);
        let action = Action::Route {
            table: table.clone(),
            prefix: r.dst.to_string(),
            via: r.via.map(|v| v.to_string()),
            dev: r.dev.map(|d| self.devs[d].name.clone()),
            src: None,
            rtype: r.rtype.name().into(),
        };
        match r.rtype {
            RouteType::Local => {
                ctx.trace.step(
                    Point::Routing,
                    format!("{}: table {table} local {}: deliver", ip.dst, r.dst),
                    action,
                );
                if self.ip6.holds(ip.dst).is_some_and(|a| !a.usable()) {
                    self.drop(
                        ctx,
                        Point::Routing,
                        format!("{} is tentative (DAD): not yet ours", ip.dst),
                        &CtInfo::default(),
                    );
                    return;
                }
                self.ip6_local_deliver(ctx, dev, ip, meta, nf);
            }
            RouteType::Unicast => {
                let out = r.dev.map(|d| self.devs[d].name.clone()).unwrap_or_default();
                let via = r.via.map(|v| format!(" via {v}")).unwrap_or_default();
                ctx.trace.step(
                    Point::Routing,
                    format!(
                        "{}: table {table} {}{via} dev {out}: forward",
                        ip.dst, r.dst
                    ),
                    action,
                );
                self.ip6_forward(ctx, dev, ip, r, meta, nf);
            }
            t => {
                ctx.trace.step(
                    Point::Routing,
                    format!("{}: table {table} {} {}", ip.dst, t.name(), r.dst),
                    action,
                );
                self.ip6_no_route(ctx, &ip, t, t.name(), meta);
            }
        }
    }

    /// `ip6_pkt_discard` (unreachable: no route), `ip6_pkt_prohibit`, and
    /// blackhole's silent drop.
    fn ip6_no_route(&mut self, ctx: &mut Ctx, ip: &Ipv6Repr, t: RouteType, why: &str, meta: Meta) {
        self.drop(
            ctx,
            Point::Routing,
            format!("{}: {why}", ip.dst),
            &CtInfo::default(),
        );
        let code = match t {
            RouteType::Blackhole => return,
            RouteType::Prohibit => icmpv6::CODE_ADM_PROHIBITED,
            _ => icmpv6::CODE_NOROUTE,
        };
        self.icmp6_error(
            ctx,
            ip,
            Icmpv6Repr::DstUnreach {
                code,
                quoted: vec![],
            },
            meta,
        );
    }

    /// Groups a device listens to: all-nodes, the solicited-node group of
    /// each of its addresses, all-routers when forwarding
    /// (`ipv6_chk_mcast_addr`; MLD joins by the kernel).
    pub(crate) fn ip6_joined(&self, dev: usize, g: std::net::Ipv6Addr) -> bool {
        if g == addr::ALL_NODES {
            return true;
        }
        if g == addr::ALL_ROUTERS {
            return self.sysctl.ip6_forward();
        }
        self.ip6
            .addrs
            .get(&dev)
            .is_some_and(|v| v.iter().any(|a| addr::solicited_node(a.addr()) == g))
    }

    /// `ip6_input_finish`: reassembly, then the upper-layer protocol.
    fn ip6_local_deliver(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv6Repr,
        meta: Meta,
        mut nf: Nf6,
    ) {
        let ip = if ip.fragment().is_some() {
            match self.ip6.reasm.add(&ip, ctx.now) {
                Reasm::Done(p) => {
                    ctx.trace.step(
                        Point::IpRcv,
                        format!(
                            "last fragment in: {} bytes reassembled (ip6_frag_reasm)",
                            p.total_len()
                        ),
                        Action::Info,
                    );
                    *p
                }
                Reasm::Waiting { have } => {
                    ctx.trace.step(
                        Point::IpRcv,
                        format!("fragment kept for reassembly ({have} bytes so far)"),
                        Action::Info,
                    );
                    return;
                }
                Reasm::Overlap => {
                    self.drop(
                        ctx,
                        Point::IpRcv,
                        "overlapping fragments: the datagram is dropped (RFC 5722)".into(),
                        &CtInfo::default(),
                    );
                    return;
                }
            }
        } else {
            ip
        };
        // destination options (after any routing header) for us
        for (i, e) in ip.exts.iter().enumerate() {
            if let Ipv6Ext::DestOpts(o) = e {
                let mut head = ip.clone();
                head.exts.truncate(i);
                let base = 40 + head.ext_len() as u32 + 2;
                if !self.ip6_options_ok(ctx, &ip, o, base, meta) {
                    return;
                }
            }
        }
        let mut ip = ip;
        if !self.nf6_input(ctx, dev, &mut ip, meta, &mut nf) {
            return;
        }
        match ip.proto {
            NEXTHDR_ICMPV6 => self.icmp6_rcv(ctx, dev, ip, meta),
            NEXTHDR_NONE => ctx.trace.step(
                Point::IpLocalDeliver,
                "no next header (59): nothing to deliver".into(),
                Action::Info,
            ),
            PROTO_UDP if self.ip6_vxlan(ctx, &ip, meta) => {}
            // a UDP socket takes either family (bindv6only 0)
            PROTO_UDP => self.udp_deliver(ctx, crate::wire::IpRepr::V6(ip), meta),
            PROTO_TCP => self.tcp_rcv(ctx, crate::wire::IpRepr::V6(ip), meta),
            p => {
                // ip6_input_finish: icmpv6_send(PARAMPROB, UNK_NEXTHDR,
                // offset of the Next Header field that named it)
                let mut head = ip.clone();
                let pointer = if ip.exts.is_empty() {
                    6
                } else {
                    head.exts.truncate(ip.exts.len() - 1);
                    40 + head.ext_len() as u32
                };
                self.drop(
                    ctx,
                    Point::IpLocalDeliver,
                    format!("no handler for Next Header {p}: parameter problem"),
                    &CtInfo::default(),
                );
                self.icmp6_error(
                    ctx,
                    &ip,
                    Icmpv6Repr::ParamProblem {
                        code: icmpv6::CODE_UNK_NEXTHDR,
                        pointer,
                        quoted: vec![],
                    },
                    meta,
                );
            }
        }
    }

    /// A UDP datagram to a VXLAN device's port (udp6 encap_rcv) or a
    /// WireGuard listen port (its userspace socket): true when taken.
    fn ip6_vxlan(&mut self, ctx: &mut Ctx, ip: &Ipv6Repr, meta: Meta) -> bool {
        let L4::Udp { hdr, payload } = &ip.l4 else {
            return false;
        };
        let src = std::net::IpAddr::V6(ip.src);
        self.vxlan_rcv_udp(ctx, src, hdr, payload, meta)
            || self.wg_rcv_udp(ctx, src, hdr, payload, meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_options_follow_their_action_bits() {
        assert!(matches!(
            check_tlvs(&[5, 2, 0, 0, 1, 0], 42),
            Some(Unknown::Skip)
        ));
        assert!(matches!(check_tlvs(&[0x1e, 0], 42), Some(Unknown::Skip)));
        assert!(matches!(check_tlvs(&[0x5e, 0], 42), Some(Unknown::Discard)));
        assert!(matches!(
            check_tlvs(&[1, 0, 0x9e, 0], 42),
            Some(Unknown::ParamProblem {
                offset: 44,
                unless_multicast: false
            })
        ));
        assert!(matches!(
            check_tlvs(&[0xde, 0], 42),
            Some(Unknown::ParamProblem {
                unless_multicast: true,
                ..
            })
        ));
        assert!(check_tlvs(&[5], 42).is_none());
    }
}
