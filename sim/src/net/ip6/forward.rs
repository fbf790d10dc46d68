//! IPv6 forwarding (net/ipv6/ip6_output.c `ip6_forward`), in its order:
//! `net.ipv6.conf.all.forwarding`, the hop limit (Time Exceeded at 1),
//! the source's scope (a link-local source is never forwarded:
//! Destination Unreachable "beyond scope"), a redirect when the packet
//! leaves the device it came in on, the MTU (a router never fragments:
//! Packet Too Big with the next link's MTU), then the hop limit
//! decremented and the packet to the neighbour layer.

use super::route::Route6;
use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::ct_glue::CtInfo;
use crate::net::netfilter::hook6::Nf6;
use crate::trace::{Action, Point};
use crate::wire::icmpv6::{self, Icmpv6Repr, NdOpt};
use crate::wire::ipv6::{addr, Ipv6Repr};
use crate::wire::L4;

impl Host {
    pub(crate) fn ip6_forward(
        &mut self,
        ctx: &mut Ctx,
        in_dev: usize,
        mut ip: Ipv6Repr,
        r: Route6,
        meta: Meta,
        mut nf: Nf6,
    ) {
        let none = CtInfo::default();
        if !self.sysctl.ip6_forward() {
            self.drop(
                ctx,
                Point::IpForward,
                "net.ipv6.conf.all.forwarding=0: not a router (ip6_forward)".into(),
                &none,
            );
            return;
        }
        if ip.hop_limit <= 1 {
            self.drop(
                ctx,
                Point::IpForward,
                format!("hop limit {} would reach 0: time exceeded", ip.hop_limit),
                &none,
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
            return;
        }
        // "This check is security critical."
        if ip.src.is_unspecified() || ip.src.is_loopback() {
            self.drop(
                ctx,
                Point::IpForward,
                format!("source {} is never forwarded", ip.src),
                &none,
            );
            return;
        }
        if addr::scope(ip.src) == 0x02 {
            self.drop(
                ctx,
                Point::IpForward,
                format!("source {} is link-local: beyond scope", ip.src),
                &none,
            );
            self.icmp6_error(
                ctx,
                &ip,
                Icmpv6Repr::DstUnreach {
                    code: icmpv6::CODE_BEYOND_SCOPE,
                    quoted: vec![],
                },
                meta,
            );
            return;
        }
        let Some(out) = r.dev else { return };
        let on = self.devs[out].name.clone();
        // IP6CB(skb)->iif == dst->dev: the input device, or the route's
        // device when br_netfilter routed the packet at the bridge
        if out == in_dev || nf.brnf_iif == Some(out) {
            self.ip6_redirect(ctx, (in_dev, out), &ip, &r, meta);
        }
        let mtu = self.ip6_path_mtu(out, ip.dst, r.mtu);
        if ip.total_len() > mtu as usize {
            // ip6_pkt_too_big: routers do not fragment (RFC 8200 §5)
            self.drop(
                ctx,
                Point::IpForward,
                format!(
                    "{} bytes exceed the MTU {mtu} of {on}: packet too big (routers never fragment IPv6)",
                    ip.total_len()
                ),
                &none,
            );
            self.icmp6_error(
                ctx,
                &ip,
                Icmpv6Repr::PacketTooBig {
                    mtu,
                    quoted: vec![],
                },
                meta,
            );
            return;
        }
        ip.hop_limit -= 1;
        ctx.trace.step(
            Point::IpForward,
            format!(
                "forward out of {on}, hop limit {} -> {}",
                ip.hop_limit + 1,
                ip.hop_limit
            ),
            Action::Info,
        );
        if !self.nf6_forward(ctx, (in_dev, out), &mut ip, meta, &mut nf) {
            return;
        }
        let nexthop = r.via.unwrap_or(ip.dst);
        self.ndisc_output(ctx, out, nexthop, ip, meta);
    }

    /// `ndisc_send_redirect` (RFC 4861 §8.2): the packet goes back out the
    /// device it came in on: tell the source the better first hop (the
    /// gateway, or the destination itself when on-link). The kernel sends
    /// none when that hop is neither the destination nor a link-local
    /// address ("target address is not link-local unicast"), or when the
    /// device has no link-local address. Sent from that address, with the
    /// target's link-layer address when known and as much of the packet as
    /// fits; at most one a second to a source after a burst of six
    /// (`inet_peer_xrlim_allow(peer, 1*HZ)`, the ICMPv6 errors' buckets).
    fn ip6_redirect(
        &mut self,
        ctx: &mut Ctx,
        (dev, out): (usize, usize),
        ip: &Ipv6Repr,
        r: &Route6,
        meta: Meta,
    ) {
        let target = r.via.unwrap_or(ip.dst);
        if target != ip.dst && addr::scope(target) != 0x02 {
            return;
        }
        let Some(ll) = self
            .ip6
            .addrs
            .get(&dev)
            .and_then(|v| v.iter().find(|a| a.scope() == 0x02 && a.usable()))
            .map(|a| a.addr())
        else {
            return;
        };
        if !self
            .peers
            .xrlim_allow(ip.src.into(), ctx.now, 1_000_000_000)
        {
            ctx.trace.step(
                Point::Icmp,
                format!(
                    "no redirect to {}: rate limited (inet_peer_xrlim_allow, 1 s)",
                    ip.src
                ),
                Action::Info,
            );
            return;
        }
        let mut opts = vec![];
        // the target's neighbour on the route's device (dst_neigh_lookup)
        if let Some(mac) = self.ip6.neigh.get(&(out, target)).and_then(|e| e.mac) {
            opts.push(NdOpt::TargetLla(mac));
        }
        // ndisc_send_redirect: rd_len = min(1280 - 40 - 40 - optlen,
        // skb->len + 8) & ~7, the option's 8-byte header included
        let optlen = 8 * opts.len();
        let pkt = ip.emit();
        let rd_len = (crate::wire::ipv6::IPV6_MIN_MTU - 40 - 40 - optlen).min(pkt.len() + 8) & !7;
        opts.push(NdOpt::Redirected(pkt[..rd_len - 8].to_vec()));
        let msg = Ipv6Repr::new(
            ll,
            ip.src,
            255,
            0,
            L4::Icmp6(Icmpv6Repr::Redirect {
                target,
                dst: ip.dst,
                opts,
            }),
        );
        ctx.trace.step(
            Point::IpForward,
            format!(
                "{} goes back out {}: redirect {} to the first hop {target}",
                ip.dst, self.devs[dev].name, ip.src
            ),
            Action::Info,
        );
        // sent at once, before the packet itself reaches the neighbour
        // layer (ip6_forward calls ndisc_send_redirect first)
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        self.ip6_output_local(ctx, msg, m);
    }
}
