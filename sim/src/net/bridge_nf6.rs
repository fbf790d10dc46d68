//! br_netfilter for IPv6 (net/bridge/br_netfilter_ipv6.c): with
//! `net.bridge.bridge-nf-call-ip6tables=1`, an IPv6 frame entering a
//! bridge port runs ip6tables' PREROUTING (raw, conntrack, mangle, nat)
//! at the bridge (`br_nf_pre_routing_ipv6`), and a frame bridged between
//! ports their FORWARD and POSTROUTING (`br_nf_forward_ip`,
//! `br_nf_post_routing`), so a Service's DNAT and the reverse NAT of its
//! replies happen for frames the bridge carries.
//!
//! `br_nf_pre_routing_finish_ipv6`: when the nat table changed the
//! destination (`br_nf_ipv6_daddr_was_changed`), the packet is routed
//! again (`v6ops->route_input`): a route off the bridge sends it up to IPv6
//! forwarding with that route already set, so `ip6_rcv_core` takes the
//! route's device as the input interface (`IP6CB(skb)->iif =
//! ip6_dst_idev(skb_dst(skb))->dev->ifindex`) and `ip6_forward` finds it
//! equal to the output device: it sends the source an ICMPv6 redirect
//! (when the first hop is the destination itself), as the real kernel does.
//!
//! Bridged DNAT (the new destination behind the same bridge,
//! `br_nf_pre_routing_finish_bridge`): the frame is bridged to the
//! destination's MAC when the bridge knows it; else the packet goes
//! through the bridge's neighbour output (a Neighbor Solicitation from the
//! bridge, the packet queued) and, once resolved, continues from its port
//! as if it had arrived there (`br_nf_pre_routing_finish_bridge_slow`).

use super::host::{Ctx, Host, Meta, Output};
use super::netfilter::hook6::Nf6;
use crate::trace::{Action, Point};
use crate::wire::ipv6::Ipv6Repr;
use crate::wire::{Frame, L3};

impl Host {
    /// br_netfilter's IPv6 entry for a unicast frame from port `inp`:
    /// None when the packet is gone; Some(None) when it does not apply (no
    /// `bridge-nf-call-ip6tables`, not IPv6); Some(Some(nf)) when
    /// PREROUTING ran (the frame's packet rewritten in place).
    pub(crate) fn br_nf_ipv6_in(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        inp: usize,
        f: &mut Frame,
        meta: Meta,
    ) -> Option<Option<Nf6>> {
        let L3::Ipv6(ip) = &f.payload else {
            return Some(None);
        };
        if !self.sysctl.bridge_nf_call_ip6tables() {
            return Some(None);
        }
        let ip = ip.clone();
        let (ip, nf) = self.br_nf_pre_routing6(ctx, br, inp, f, ip, meta)?;
        f.payload = L3::Ipv6(ip);
        Some(Some(nf))
    }

    /// `br_nf_pre_routing_ipv6`: PREROUTING at the bridge for a unicast
    /// IPv6 frame. None: the packet is gone (dropped, or up
    /// to IPv6 forwarding); else the packet (maybe rewritten) and its
    /// netfilter state, to be delivered or bridged on.
    pub(crate) fn br_nf_pre_routing6(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        inp: usize,
        f: &mut Frame,
        mut ip: Ipv6Repr,
        meta: Meta,
    ) -> Option<(Ipv6Repr, Nf6)> {
        let dst_before = ip.dst;
        let mut nf = self.nf6_prerouting(ctx, br, &mut ip, meta)?;
        if ip.dst == dst_before {
            return Some((ip, nf));
        }
        let brn = self.devs[br].name.clone();
        let Some(found) = self.ip6.fib.lookup(ip.dst) else {
            self.drop(
                ctx,
                Point::BrNetfilter,
                format!("{}: no route after DNAT (route_input)", ip.dst),
                &nf.ct,
            );
            return None;
        };
        let r = found.route.clone();
        if r.dev == Some(br) && r.rtype == super::fib::RouteType::Unicast {
            // br_nf_pre_routing_finish_bridge: bridged DNAT
            let nh = r.via.unwrap_or(ip.dst);
            let Some(mac) = self.ip6.neigh.get(&(br, nh)).and_then(|e| e.mac) else {
                ctx.trace.step(
                    Point::BrNetfilter,
                    format!(
                        "bridged DNAT: {nh} behind {brn} is not resolved: through {brn}'s neighbour output"
                    ),
                    Action::Info,
                );
                let b = super::ip6::state::BridgedDnat6 {
                    physin: inp,
                    src_mac: f.src,
                    nf,
                };
                self.ip6.bridged.insert(meta.pkt, b);
                self.ndisc_output(ctx, br, nh, ip, meta);
                return None;
            };
            ctx.trace.step(
                Point::BrNetfilter,
                format!(
                    "bridged DNAT: {} is behind {brn}; destination MAC set to {mac}",
                    ip.dst
                ),
                Action::Info,
            );
            f.dst = mac;
            return Some((ip, nf));
        }
        ctx.trace.step(
            Point::BrNetfilter,
            format!("DNAT moved the destination off {brn}: up to IPv6 routing"),
            Action::Info,
        );
        // br_pass_frame_up: tcpdump on the bridge sees it, rewritten, to
        // the bridge's own address
        let up = Frame {
            src: f.src,
            dst: self.devs[br].mac,
            payload: L3::Ipv6(ip.clone()),
        };
        ctx.out.push(Output::Capture {
            dev: br,
            out: false,
            bytes: up.emit(),
            meta,
            hop: ctx.trace.current_hop(),
        });
        nf.brnf_iif = r.dev;
        self.ip6_route_input(ctx, br, ip, meta, nf);
        None
    }

    /// A bridged-DNAT packet whose neighbour resolved: the frame the
    /// neighbour output put on the bridge device (tcpdump on it sees it,
    /// with the bridge's source MAC), then, as br_dev_xmit does for it,
    /// the original source restored and the frame bridged on from its
    /// port through FORWARD and POSTROUTING.
    pub(crate) fn bridged_dnat_continue6(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        nexthop: std::net::Ipv6Addr,
        mut ip: Ipv6Repr,
        meta: Meta,
        mut b: super::ip6::state::BridgedDnat6,
    ) {
        let Some(mac) = self.ip6.neigh.get(&(br, nexthop)).and_then(|e| e.mac) else {
            self.drop(
                ctx,
                Point::BrNetfilter,
                format!("neighbour {nexthop} vanished"),
                &b.nf.ct,
            );
            return;
        };
        let via_br = Frame {
            src: self.devs[br].mac,
            dst: mac,
            payload: L3::Ipv6(ip.clone()),
        };
        ctx.out.push(Output::Capture {
            dev: br,
            out: true,
            bytes: via_br.emit(),
            meta,
            hop: ctx.trace.current_hop(),
        });
        ctx.trace.step(
            Point::BrNetfilter,
            format!(
                "bridged DNAT resumes as if from {}: destination MAC {mac}",
                self.devs[b.physin].name
            ),
            Action::Info,
        );
        if !self.br_nf_forward6(ctx, br, &mut ip, meta, &mut b.nf) {
            return;
        }
        let f = Frame {
            src: b.src_mac,
            dst: mac,
            payload: L3::Ipv6(ip),
        };
        self.bridge_forward(ctx, br, Some(b.physin), f, meta, false);
    }

    /// br_netfilter's FORWARD and POSTROUTING for an IPv6 frame bridged
    /// between ports (in and out device: the bridge); false when dropped.
    pub(crate) fn br_nf_forward6(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        ip: &mut Ipv6Repr,
        meta: Meta,
        nf: &mut Nf6,
    ) -> bool {
        self.nf6_forward(ctx, (br, br), ip, meta, nf)
    }

    /// A frame for the bridge itself after br_netfilter's PREROUTING: up
    /// to IPv6 routing, PREROUTING not run again (`ip6_sabotage_in`).
    pub(crate) fn br_nf_local6(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        ip: Ipv6Repr,
        meta: Meta,
        nf: Nf6,
    ) {
        self.ip6_route_input(ctx, br, ip, meta, nf);
    }
}
