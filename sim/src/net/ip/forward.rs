//! IP forwarding (net/ipv4/ip_forward.c): ip_forward, TTL, MTU and DF,
//! FORWARD, then POSTROUTING.

use crate::net::fib::Lookup;
use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::Hook;
use crate::net::netfilter::TableKind;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::Ipv4Repr;

impl Host {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ip_forward(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        mut ip: Ipv4Repr,
        meta: Meta,
        mut mark: u32,
        ct: CtInfo,
        l: &Lookup,
    ) {
        if let Some(sk) = meta.sk {
            // ip_forward: `if (unlikely(skb->sk)) goto drop` (a packet
            // TPROXY gave a local socket is not routed local: no policy
            // route sends the mark to a `local` table)
            self.drop(
                ctx,
                Point::IpForward,
                format!(
                    "the packet was assigned the local socket :{} by TPROXY but routes to forwarding (ip_forward drops a packet that has a socket)",
                    sk.port
                ),
                &ct,
            );
            return;
        }
        let Some(out) = l.route.dev else {
            self.drop(ctx, Point::IpForward, "route has no device".into(), &ct);
            return;
        };
        if ip.hdr.time_to_live <= 1 {
            self.drop(
                ctx,
                Point::IpForward,
                format!("TTL {} expired in transit", ip.hdr.time_to_live),
                &ct,
            );
            self.send_icmp_error(
                ctx,
                &ip,
                icmp::TIME_EXCEEDED,
                0,
                [0; 4],
                meta,
                "TTL exceeded",
            );
            return;
        }
        let mtu = self.devs[out].mtu as usize;
        if ip.total_len() > mtu && ip.hdr.dont_fragment {
            self.drop(
                ctx,
                Point::IpForward,
                format!(
                    "{} bytes exceed the MTU {} of {} and DF is set",
                    ip.total_len(),
                    mtu,
                    self.devs[out].name
                ),
                &ct,
            );
            let m = (mtu as u16).to_be_bytes();
            self.send_icmp_error(
                ctx,
                &ip,
                icmp::DEST_UNREACH,
                icmp::CODE_FRAG_NEEDED,
                [0, 0, m[0], m[1]],
                meta,
                "PMTU",
            );
            return;
        }
        ip.hdr.time_to_live -= 1;
        let Some(m) = self.nf_filter(
            ctx,
            (TableKind::Mangle, Hook::Forward),
            &mut ip,
            (Some(dev), Some(out), None),
            &mut mark,
            &ct,
            meta,
        ) else {
            return;
        };
        let Some(f) = self.nf_filter(
            ctx,
            (TableKind::Filter, Hook::Forward),
            &mut ip,
            (Some(dev), Some(out), None),
            &mut mark,
            &ct,
            meta,
        ) else {
            return;
        };
        // nft `flow add @ft` in a forward chain (nft_flow_offload_eval)
        if let Some(req) = m.flow_offload.or(f.flow_offload) {
            self.flow_offload_add(ctx, &req, &ip, &ct, (dev, out, l.route.via));
        }
        let nexthop = l.route.via.unwrap_or(ip.dst());
        self.postrouting(ctx, ip, Some(dev), out, nexthop, meta, mark, ct);
    }
}
