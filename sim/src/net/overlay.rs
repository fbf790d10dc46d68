//! Overlays: VXLAN (RFC 7348) as Linux's vxlan driver does it, and IP-in-IP
//! (RFC 2003, `ipip`: calico's tunl0).
//!
//! IPIP transmit (`ipip_xmit`): the route's gateway (`via NODE dev tunl0
//! onlink`) is the tunnel's remote; the packet goes whole into an outer
//! IPv4 header, protocol 4, TTL inherited from the inner packet and DF
//! copied (tunl0's defaults, `ttl inherit`, pmtudisc), sent like a local
//! packet. Receive (`ipip_rcv`): protocol 4 for a local address, with an
//! ipip device up, is decapsulated and received on it.
//!
//! Transmit (`vxlan_xmit`): the inner frame's destination MAC is looked up in
//! the device's FDB (`bridge fdb append MAC dev flannel.1 dst IP`); an all-zero
//! MAC entry is the default/flood list. The frame is wrapped in VXLAN/UDP/IP:
//! UDP destination port `dstport`, source port from a hash of the inner flow
//! in the local port range (`udp_flow_src_port`), outer source `local` (or the
//! route's choice), TTL 64, DF clear. The outer packet is sent like any
//! locally generated packet: route, OUTPUT and POSTROUTING hooks, ARP, device.
//!
//! Receive (`vxlan_rcv`): a UDP datagram for a local address on the port of a
//! vxlan device with the same VNI is decapsulated; with learning on, the inner
//! source MAC is learned against the outer source address; the inner frame is
//! received on the vxlan device.
//!
//! Simplifications (listed by `podpath explain`): the source-port hash is a
//! stable, symmetric hash of the inner addresses and ports, not the kernel's
//! seeded jhash (live comparisons rename it); no VXLAN-GBP/GPE. The underlay is IPv4 or IPv6
//! (`local` and FDB remotes of one family; VXLAN6_HEADROOM 70).
//! The outer UDP checksum is computed (`udpcsum`, what `ip link add ... type
//! vxlan` gives today).

use std::net::{IpAddr, Ipv4Addr};

use super::host::{Ctx, Host, Meta, Output};
use super::netfilter::ct_glue::CtInfo;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::vxlan::VxlanRepr;
use crate::wire::{summarize, udp_header, Frame, Ipv4Repr, Mac, L3, L4};

pub use super::device::VxlanCfg;

impl Host {
    pub(crate) fn vxlan_xmit(&mut self, ctx: &mut Ctx, dev: usize, bytes: Vec<u8>, meta: Meta) {
        let dn = self.devs[dev].name.clone();
        let Some(cfg) = self.devs[dev].vxlan.clone() else {
            self.drop(
                ctx,
                Point::Vxlan,
                format!("{dn} has no VXLAN configuration"),
                &CtInfo::default(),
            );
            return;
        };
        ctx.out.push(Output::Capture {
            dev,
            out: true,
            bytes: bytes.clone(),
            meta,
            hop: ctx.trace.current_hop(),
        });
        let inner = match Frame::parse(&bytes) {
            Ok(f) => f,
            Err(e) => {
                self.drop(
                    ctx,
                    Point::Vxlan,
                    format!("malformed inner frame: {e}"),
                    &CtInfo::default(),
                );
                return;
            }
        };
        let remotes = cfg
            .fdb
            .get(&inner.dst)
            .or_else(|| cfg.fdb.get(&Mac::ZERO))
            .cloned()
            .unwrap_or_default();
        if remotes.is_empty() {
            self.drop(
                ctx,
                Point::Vxlan,
                format!(
                    "{dn}: no FDB entry for {} and no default (00:00:00:00:00:00) entry",
                    inner.dst
                ),
                &CtInfo::default(),
            );
            return;
        }
        let sport = self.vxlan_src_port(&inner, meta.hash);
        for remote in remotes {
            let src = cfg.local.unwrap_or(match remote {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            });
            let payload = VxlanRepr {
                vni: cfg.vni,
                inner: bytes.clone(),
            }
            .emit();
            let udp = L4::Udp {
                hdr: udp_header(sport, cfg.port),
                payload,
            };
            ctx.trace.step(
                Point::Vxlan,
                format!(
                    "{dn}: fdb {} -> {remote}; encapsulate VNI {} in UDP {}:{sport} > {remote}:{}",
                    inner.dst,
                    cfg.vni,
                    if src.is_unspecified() {
                        "(route source)".to_string()
                    } else {
                        src.to_string()
                    },
                    cfg.port
                ),
                Action::Encap {
                    outer: format!("UDP {remote}:{} vni {}", cfg.port, cfg.vni),
                },
            );
            let m = ctx.new_meta(meta.flow, Some(meta.pkt));
            match (src, remote) {
                (IpAddr::V4(s), IpAddr::V4(r)) => {
                    let id = self.next_ip_id();
                    let mut outer = Ipv4Repr::new(s, r, 64, id, udp);
                    outer.hdr.dont_fragment = false;
                    self.ip_output_local(ctx, outer, m);
                }
                (IpAddr::V6(s), IpAddr::V6(r)) => {
                    // vxlan6_xmit: hop limit ip6_dst_hoplimit, flow label
                    // the device's (0 by default: not the auto label), the
                    // UDP checksum computed (udp6zerocsumtx off)
                    let outer = crate::wire::Ipv6Repr::new(s, r, 64, 0, udp);
                    self.ip6_output_tunnel(ctx, outer, m);
                }
                _ => self.drop(
                    ctx,
                    Point::Vxlan,
                    format!("{dn}: remote {remote} and local {src} are of different families"),
                    &CtInfo::default(),
                ),
            }
        }
    }

    /// `udp_flow_src_port`: a port in the local port range from the packet's
    /// hash: the sending socket's `txhash` when it has one (TCP: random per
    /// connection and direction), else a hash of the inner flow that, like
    /// the kernel's (`__flow_hash_consistentify`), is symmetric.
    fn vxlan_src_port(&self, inner: &Frame, skb_hash: Option<u32>) -> u16 {
        let mut k = Vec::new();
        if let L3::Ipv4(ip) = &inner.payload {
            let (mut a, mut b) = (ip.src(), ip.dst());
            let (mut pa, mut pb) = ip.ports().unwrap_or((0, 0));
            if b < a || (a == b && pb < pa) {
                std::mem::swap(&mut a, &mut b);
                std::mem::swap(&mut pa, &mut pb);
            }
            k.extend_from_slice(&a.octets());
            k.extend_from_slice(&b.octets());
            k.push(ip.proto());
            k.extend_from_slice(&pa.to_be_bytes());
            k.extend_from_slice(&pb.to_be_bytes());
        } else if let L3::Ipv6(ip) = &inner.payload {
            // flow_keys_dissector with FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL:
            // a non-zero flow label stands for the ports (and differs by
            // direction: each end labels its own packets)
            let (mut a, mut b) = (ip.src, ip.dst);
            let (mut pa, mut pb) = if ip.flow_label != 0 {
                (0, 0)
            } else {
                ip.ports().unwrap_or((0, 0))
            };
            k.extend_from_slice(&ip.flow_label.to_be_bytes());
            if b < a || (a == b && pb < pa) {
                std::mem::swap(&mut a, &mut b);
                std::mem::swap(&mut pa, &mut pb);
            }
            k.extend_from_slice(&a.octets());
            k.extend_from_slice(&b.octets());
            k.push(ip.proto);
            k.extend_from_slice(&pa.to_be_bytes());
            k.extend_from_slice(&pb.to_be_bytes());
        } else {
            let (mut a, mut b) = (inner.src.0, inner.dst.0);
            if b < a {
                std::mem::swap(&mut a, &mut b);
            }
            k.extend_from_slice(&a);
            k.extend_from_slice(&b);
        }
        let (lo, hi) = self.sysctl.port_range();
        // A socket's hash when the packet carries one, else the flow's.
        let mut hash = skb_hash.unwrap_or(crate::det::stable_hash(&k) as u32);
        hash ^= hash << 16;
        (((hash as u64) * (hi - lo) as u64) >> 32) as u16 + lo
    }

    /// Returns true when the datagram was VXLAN for one of our devices.
    pub(crate) fn vxlan_rcv(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr, meta: Meta) -> bool {
        let L4::Udp { hdr, payload } = &ip.l4 else {
            return false;
        };
        self.vxlan_rcv_udp(ctx, IpAddr::V4(ip.src()), hdr, payload, meta)
    }

    /// `vxlan_rcv` of a UDP datagram from `src` (either family): true when
    /// it was VXLAN for one of our devices.
    pub(crate) fn vxlan_rcv_udp(
        &mut self,
        ctx: &mut Ctx,
        src: IpAddr,
        hdr: &etherparse::UdpHeader,
        payload: &[u8],
        meta: Meta,
    ) -> bool {
        let Some(v) = VxlanRepr::parse(payload) else {
            return false;
        };
        // vxlan_rcv -> vxlan_vs_find_vni: the datagram came in on the
        // socket of its family (vxlan.c keeps vn4_sock and vn6_sock per
        // device), so a dual-stack node's flannel.1 and flannel-v6.1 can
        // share VNI and port
        let found = self.devs.iter().position(|d| {
            d.vxlan.as_ref().is_some_and(|c| {
                c.port == hdr.destination_port && c.vni == v.vni && c.is_v6() == src.is_ipv6()
            })
        });
        let Some(dev) = found else {
            let on_port = self.devs.iter().any(|d| {
                d.vxlan
                    .as_ref()
                    .is_some_and(|c| c.port == hdr.destination_port)
            });
            if on_port {
                self.drop(
                    ctx,
                    Point::Vxlan,
                    format!(
                        "no vxlan device with VNI {} on port {}",
                        v.vni, hdr.destination_port
                    ),
                    &CtInfo::default(),
                );
                return true;
            }
            return false;
        };
        let dn = self.devs[dev].name.clone();
        let inner = match Frame::parse(&v.inner) {
            Ok(f) => f,
            Err(e) => {
                self.drop(
                    ctx,
                    Point::Vxlan,
                    format!("malformed inner frame: {e}"),
                    &CtInfo::default(),
                );
                return true;
            }
        };
        if self.devs[dev].vxlan.as_ref().is_some_and(|c| c.learning) && !inner.src.is_multicast() {
            if let Some(c) = self.devs[dev].vxlan.as_mut() {
                c.fdb.insert(inner.src, vec![src]);
            }
        }
        ctx.trace.step(
            Point::Vxlan,
            format!(
                "decapsulate VNI {} from {}: {} received on {dn}",
                v.vni,
                src,
                summarize(&inner)
            ),
            Action::Decap {
                inner: summarize(&inner),
                inner_pkt: crate::wire::pkt_info(&inner),
            },
        );
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::Rx {
            dev,
            bytes: v.inner,
            meta: m,
        });
        true
    }

    pub(crate) fn ipip_xmit(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        remote: Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
    ) {
        let dn = self.devs[dev].name.clone();
        let inner = ip.emit();
        ctx.out.push(Output::Capture {
            dev,
            out: true,
            bytes: inner.clone(),
            meta,
            hop: ctx.trace.current_hop(),
        });
        if remote == ip.dst() {
            // no gateway on the route and no fixed remote on the device
            self.drop(
                ctx,
                Point::Ipip,
                format!(
                    "{dn}: no tunnel remote for {} (route it via a node address)",
                    ip.dst()
                ),
                &CtInfo::default(),
            );
            return;
        }
        let id = self.next_ip_id();
        let mut outer = Ipv4Repr::new(
            Ipv4Addr::UNSPECIFIED,
            remote,
            ip.hdr.time_to_live,
            id,
            L4::Raw(inner),
        )
        .with_protocol(4);
        outer.hdr.dont_fragment = ip.hdr.dont_fragment;
        ctx.trace.step(
            Point::Ipip,
            format!("{dn}: encapsulate in IP-in-IP (protocol 4) to {remote}"),
            Action::Encap {
                outer: format!("IPIP {remote}"),
            },
        );
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        self.ip_output_local(ctx, outer, m);
    }

    pub(crate) fn ipip_rcv(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr, meta: Meta) {
        let Some(dev) = self
            .devs
            .iter()
            .position(|d| d.kind == super::host::DevKind::Ipip && d.up)
        else {
            return;
        };
        let L4::Raw(inner) = &ip.l4 else {
            return;
        };
        let dn = self.devs[dev].name.clone();
        let (what, inner_pkt) = match Ipv4Repr::parse(inner) {
            Ok(i) => crate::wire::describe_ip(&i),
            Err(e) => (format!("malformed inner packet ({e})"), Default::default()),
        };
        ctx.trace.step(
            Point::Ipip,
            format!(
                "decapsulate IP-in-IP from {}: {what} received on {dn}",
                ip.src()
            ),
            Action::Decap {
                inner: what,
                inner_pkt,
            },
        );
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::Rx {
            dev,
            bytes: inner.clone(),
            meta: m,
        });
    }
}
