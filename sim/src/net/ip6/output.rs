//! IPv6 output (net/ipv6/ip6_output.c): a locally generated packet routed
//! (`ip6_route_output`), given a source (`ipv6_dev_get_saddr`), its hop
//! limit, cut to the path MTU (`ip6_fragment`: the source fragments), and
//! handed to the neighbour layer.

use std::net::Ipv6Addr;

use super::frag;
use crate::net::fib::RouteType;
use crate::net::host::{Ctx, DevKind, Host, Meta};
use crate::net::netfilter::ct_glue::CtInfo;
use crate::net::netfilter::hook6::Nf6;
use crate::trace::{Action, Point};
use crate::wire::{Frame, Ipv6Repr, Mac, L3};

/// The flow label `ip6_make_flowlabel` gives a locally generated packet
/// (`auto_flowlabels` 1, the default): a hash of the flow (addresses,
/// protocol, ports, or ICMPv6 type and code as `flowi6` carries them),
/// rotated by 16 and cut to 20 bits. The kernel keys its hash with a
/// random seed drawn at boot; podpath's hash is fixed (deterministic), so
/// the values differ from a real machine's, as two machines' do, while
/// what matters holds: one label per flow and direction, the same on
/// every fragment. Neighbor Discovery sends label 0 (`ip6_nd_hdr`).
pub fn flow_label(ip: &Ipv6Repr) -> u32 {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(&ip.src.octets());
    k.extend_from_slice(&ip.dst.octets());
    k.push(ip.proto);
    match (&ip.l4, ip.ports()) {
        (_, Some((s, d))) => {
            k.extend_from_slice(&s.to_be_bytes());
            k.extend_from_slice(&d.to_be_bytes());
        }
        (crate::wire::L4::Icmp6(m), None) => {
            let (t, c) = m.kind();
            k.extend_from_slice(&[t, c]);
        }
        _ => {}
    }
    let h = crate::det::stable_hash(&k) as u32;
    h.rotate_left(16) & 0xf_ffff
}

impl Host {
    /// A locally generated IPv6 packet, in its own hop.
    pub fn send_local6(&mut self, ctx: &mut Ctx, ip: Ipv6Repr, meta: Meta, note: Option<String>) {
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            None,
            crate::wire::describe(&Frame {
                src: Mac::ZERO,
                dst: Mac::ZERO,
                payload: L3::Ipv6(ip.clone()),
            }),
        );
        if let Some(n) = note {
            ctx.trace
                .step(Point::App, n.clone(), Action::App { app: n });
        }
        ctx.flow = Some(meta.flow);
        if let Some((dev, nexthop)) = self.ip6.resume.remove(&meta.pkt) {
            match self.ip6.bridged.remove(&meta.pkt) {
                Some(b) => self.bridged_dnat_continue6(ctx, dev, nexthop, ip, meta, b),
                None => self.ndisc_output(ctx, dev, nexthop, ip, meta),
            }
        } else if self.ip6.raw_out.remove(&meta.pkt) {
            self.ip6_output_tunnel(ctx, ip, meta);
        } else {
            self.ip6_output_local(ctx, ip, meta);
        }
        ctx.trace.end_hop();
    }

    /// The source `ipv6_dev_get_saddr` picks for `dst` out of `dev`.
    pub(crate) fn ip6_saddr(&self, dst: Ipv6Addr, dev: Option<usize>) -> Option<Ipv6Addr> {
        super::addrsel::select(&self.ip6.all(), dst, dev)
    }

    /// `ip6_dst_hoplimit`: a socket's unicast hop limit is its route's
    /// device's (`net.ipv6.conf.DEV.hop_limit`, 64 by default).
    pub(crate) fn ip6_hop_limit(&self, dst: Ipv6Addr) -> u8 {
        let dev = self.ip6.fib.lookup(dst).and_then(|f| f.route.dev);
        let name = dev.map_or("all", |d| self.devs[d].name.as_str());
        self.sysctl.conf6(name, "hop_limit").clamp(1, 255) as u8
    }

    /// `ip6_route_output` and `ip6_finish_output` for a local packet.
    pub(crate) fn ip6_output_local(&mut self, ctx: &mut Ctx, ip: Ipv6Repr, meta: Meta) {
        self.ip6_route_and_send(ctx, ip, meta, true)
    }

    /// A tunnel's outer packet (`udp_tunnel6_xmit_skb`): routed and sent
    /// as a local one, with the flow label it has (no auto label).
    pub(crate) fn ip6_output_tunnel(&mut self, ctx: &mut Ctx, ip: Ipv6Repr, meta: Meta) {
        self.ip6_route_and_send(ctx, ip, meta, false)
    }

    fn ip6_route_and_send(&mut self, ctx: &mut Ctx, ip: Ipv6Repr, meta: Meta, autolabel: bool) {
        self.ip6_route_and_send_nf(ctx, ip, meta, autolabel, None)
    }

    /// The route, the source, LOCAL_OUT (a DNAT there routes the packet
    /// again: `ip6_route_me_harder`), POSTROUTING, and out.
    fn ip6_route_and_send_nf(
        &mut self,
        ctx: &mut Ctx,
        mut ip: Ipv6Repr,
        meta: Meta,
        autolabel: bool,
        nf: Option<Nf6>,
    ) {
        let dst = ip.dst;
        // multicast and link-local destinations leave the device the
        // socket names (here: the only one with an address of that scope)
        let found = if ip.dst.is_multicast() || crate::wire::ipv6::addr::scope(dst) == 0x02 {
            self.ip6_link_scope_route(dst, ip.src)
        } else {
            // the rules see the socket's source (when bound) and the
            // packet's mark (after LOCAL_OUT's mangle, as
            // ip6_route_me_harder looks up again)
            self.ip6.fib.lookup_key(&crate::net::ip6::route::Key6 {
                dst: Some(dst),
                src: Some(ip.src),
                mark: nf.map_or(0, |n| n.mark),
                iif: None,
                oif: None,
            })
        };
        let Some(found) = found else {
            self.drop(
                ctx,
                Point::Routing,
                format!("no IPv6 route to {dst}: Network is unreachable (ip6_null_entry)"),
                &CtInfo::default(),
            );
            return;
        };
        let r = &found.route;
        let dev = match (r.rtype, r.dev) {
            (RouteType::Local, _) => self.ip6.local_dev(dst).or(Some(0)),
            (RouteType::Unicast, Some(d)) => Some(d),
            _ => None,
        };
        let Some(dev) = dev else {
            let why = match r.rtype {
                RouteType::Blackhole => "blackhole route: Invalid argument",
                RouteType::Prohibit => "prohibit route: Permission denied",
                _ => "unreachable route: Network is unreachable",
            };
            self.drop(
                ctx,
                Point::Routing,
                format!("{dst} matches {}: {why}", r.dst),
                &CtInfo::default(),
            );
            return;
        };
        let dev = if r.rtype == RouteType::Local {
            // local traffic goes over the loopback (ip6_route_output:
            // the local route's device is lo)
            self.devs
                .iter()
                .position(|d| d.kind == DevKind::Loopback)
                .unwrap_or(dev)
        } else {
            dev
        };
        let dn = self.devs[dev].name.clone();
        if ip.src.is_unspecified() {
            let src = r.src.or_else(|| self.ip6_saddr(dst, Some(dev)));
            let Some(src) = src else {
                self.drop(
                    ctx,
                    Point::Routing,
                    format!(
                        "no IPv6 source address for {dst} on {dn}: Cannot assign requested address"
                    ),
                    &CtInfo::default(),
                );
                return;
            };
            ip.src = src;
        }
        // a redirect taken for this destination (a cached route)
        let redirected = self
            .ip6
            .redirects
            .get(&dst)
            .copied()
            .filter(|(d, _)| *d == dev && r.rtype == RouteType::Unicast);
        let via_addr = match redirected {
            Some((_, gw)) if gw == dst => None,
            Some((_, gw)) => Some(gw),
            None => r.via,
        };
        let nexthop = via_addr.unwrap_or(dst);
        let via = match redirected {
            Some((_, gw)) => format!(" redirected to {gw}"),
            None => r.via.map(|v| format!(" via {v}")).unwrap_or_default(),
        };
        ctx.trace.step(
            Point::Routing,
            format!(
                "{dst}: table {} {}{via} dev {dn}, src {}",
                crate::net::fib::table_name(found.table),
                r.dst,
                ip.src
            ),
            Action::Route {
                table: crate::net::fib::table_name(found.table),
                prefix: r.dst.to_string(),
                via: r.via.map(|v| v.to_string()),
                dev: Some(dn.clone()),
                src: Some(ip.src.to_string()),
                rtype: r.rtype.name().into(),
            },
        );
        let route_mtu = r.mtu;
        let mut nf = match nf {
            Some(n) => n,
            None => {
                let Some(n) = self.nf6_output(ctx, &mut ip, meta) else {
                    return;
                };
                if ip.dst != dst {
                    return self.ip6_route_and_send_nf(ctx, ip, meta, autolabel, Some(n));
                }
                n
            }
        };
        if !self.nf6_postrouting(ctx, (None, dev), &mut ip, meta, &mut nf) {
            return;
        }
        if autolabel
            && !ip.is_ndp()
            && ip.flow_label == 0
            && matches!(self.sysctl.int("net.ipv6.auto_flowlabels"), 1 | 3)
        {
            ip.flow_label = flow_label(&ip);
        }
        self.ip6_finish_output(ctx, dev, nexthop, ip, meta, route_mtu);
    }

    /// The on-link route of a link-scope or multicast destination: the
    /// device of the source, else the first device with a link-local.
    fn ip6_link_scope_route(&self, dst: Ipv6Addr, src: Ipv6Addr) -> Option<super::route::Found6> {
        if let Some(f) = self
            .ip6
            .fib
            .lookup(dst)
            .filter(|f| f.route.rtype == RouteType::Local)
        {
            return Some(f);
        }
        let dev = self.ip6.local_dev(src).or_else(|| {
            self.ip6
                .all()
                .into_iter()
                .find(|(d, a)| a.scope() == 0x02 && !a.addr().is_loopback() && self.devs[*d].up)
                .map(|(d, _)| d)
        })?;
        Some(super::route::Found6 {
            table: crate::net::fib::TABLE_MAIN,
            route: super::route::Route6 {
                dst: ipnet::Ipv6Net::new(dst, 128).expect("128"),
                rtype: RouteType::Unicast,
                via: None,
                dev: Some(dev),
                src: None,
                metric: 0,
                kernel: true,
                mtu: None,
                onlink: false,
            },
        })
    }

    /// The path MTU to `dst` out of `dev`: the device's, the route's, a
    /// learnt one (`ip6_mtu`, `rt6_mtu_change`), never below 1280.
    pub(crate) fn ip6_path_mtu(&self, dev: usize, dst: Ipv6Addr, route_mtu: Option<u32>) -> u32 {
        let mut m = self.devs[dev].mtu;
        if let Some(r) = route_mtu {
            m = m.min(r);
        }
        if let Some(p) = self.ip6.pmtu.get(&dst) {
            m = m.min(*p);
        }
        m.max(crate::wire::ipv6::IPV6_MIN_MTU as u32)
    }

    /// `ip6_finish_output`: fragments when the packet exceeds the path MTU
    /// (a local packet only; `ip6_fragment`), then the neighbour.
    pub(crate) fn ip6_finish_output(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv6Addr,
        ip: Ipv6Repr,
        meta: Meta,
        route_mtu: Option<u32>,
    ) {
        let dn = self.devs[dev].name.clone();
        if self.devs[dev].kind == DevKind::Loopback {
            let f = Frame {
                src: Mac::ZERO,
                dst: Mac::ZERO,
                payload: L3::Ipv6(ip),
            };
            ctx.trace.set_out(&dn, crate::wire::summarize(&f));
            self.dev_xmit(ctx, dev, f.emit(), meta);
            return;
        }
        let mtu = self.ip6_path_mtu(dev, ip.dst, route_mtu) as usize;
        if ip.total_len() <= mtu {
            self.ndisc_output(ctx, dev, nexthop, ip, meta);
            return;
        }
        self.ip6.frag_id = self.ip6.frag_id.wrapping_add(1);
        let id = self.ip6.frag_id;
        let parts = frag::fragment(&ip, mtu, id);
        ctx.trace.step(
            Point::IpFinishOutput,
            format!(
                "{} bytes over the path MTU {mtu} to {}: {} fragments, id {id:#x} (ip6_fragment)",
                ip.total_len(),
                ip.dst,
                parts.len()
            ),
            Action::Info,
        );
        for p in parts {
            self.ndisc_output(ctx, dev, nexthop, p, meta);
        }
    }
}
