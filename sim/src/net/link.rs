//! The link layer: a frame arriving on a device (Ethernet or a TUN/IPIP
//! device's raw IP), the L2 input that hands it to ARP, the bridge or IP,
//! and `dev_xmit`, a frame leaving through a device.

use std::net::Ipv4Addr;

use crate::net::host::{Ctx, DevKind, Host, Meta, Output};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::l2hook::Prio;
use crate::net::netfilter::L2Hook;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::arp::{self, ArpRepr};
use crate::wire::{Frame, Ipv4Repr, Mac, L3};

impl Host {
    /// A frame arrives on device `dev`. Opens and closes the hop.
    pub fn receive(&mut self, ctx: &mut Ctx, dev: usize, bytes: &[u8], meta: Meta) {
        if matches!(self.devs[dev].kind, DevKind::Tun | DevKind::Ipip) {
            return self.tun_receive(ctx, dev, bytes, meta);
        }
        let frame = Frame::parse(bytes);
        self.rx_src_mac = frame.as_ref().ok().map(|f| f.src.0);
        let before = match &frame {
            Ok(f) => crate::wire::describe(f),
            Err(e) => (format!("malformed frame ({e})"), Default::default()),
        };
        let dn = self.devs[dev].name.clone();
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            Some(&dn),
            before,
        );
        match frame {
            Err(e) => self.drop(
                ctx,
                Point::Wire,
                format!("malformed frame: {e}"),
                &CtInfo::default(),
            ),
            Ok(_) if !self.devs[dev].up => self.drop(
                ctx,
                Point::Link,
                format!("{dn} is down"),
                &CtInfo::default(),
            ),
            // is_skb_forwardable (net/core/dev.c), which veth_xmit's
            // __dev_forward_skb applies to the receiving peer: a frame
            // longer than its MTU + hard_header_len (14) + VLAN_HLEN (4)
            // is dropped, counted in rx_dropped, no ICMP. A NIC on a wire
            // is modelled the same way (drivers drop oversized frames;
            // their limits vary). Simplification: no GSO, so every TCP
            // segment is its own frame (a GSO superpacket passes the
            // check in the kernel).
            Ok(_)
                if self.devs[dev].kind == DevKind::Veth
                    && bytes.len() > self.devs[dev].mtu as usize + 18 =>
            {
                let reason = format!(
                    "frame of {} bytes exceeds the MTU {} of {dn} (+18 for the Ethernet and VLAN headers): dropped on receipt (is_skb_forwardable, rx_dropped)",
                    bytes.len(),
                    self.devs[dev].mtu
                );
                self.drop(ctx, Point::Link, reason, &CtInfo::default())
            }
            Ok(mut f) => {
                // nf_hook_ingress (__netif_receive_skb_core): before the
                // bridge's rx_handler and the protocol handlers
                let ingress = (L2Hook::Ingress, Prio::All);
                if self.nft_l2_hook(ctx, ingress, &mut f, (Some(dev), None), meta) {
                    match self.devs[dev].master {
                        Some(br) => self.bridge_input(ctx, br, dev, f, meta),
                        None => self.l2_input(ctx, dev, f, meta),
                    }
                }
            }
        }
        ctx.trace.end_hop();
    }

    /// A raw IP packet written into a TUN device by its process.
    pub(crate) fn tun_receive(&mut self, ctx: &mut Ctx, dev: usize, bytes: &[u8], meta: Meta) {
        self.rx_src_mac = None;
        let ip = Ipv4Repr::parse(bytes);
        let before = match &ip {
            Ok(i) => crate::wire::describe_ip(i),
            Err(e) => (format!("malformed packet ({e})"), Default::default()),
        };
        let dn = self.devs[dev].name.clone();
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            Some(&dn),
            before,
        );
        match ip {
            Err(e) => self.drop(
                ctx,
                Point::Wire,
                format!("malformed packet: {e}"),
                &CtInfo::default(),
            ),
            Ok(_) if !self.devs[dev].up => self.drop(
                ctx,
                Point::Link,
                format!("{dn} is down"),
                &CtInfo::default(),
            ),
            Ok(ip) => self.ip_rcv(ctx, dev, ip, meta),
        }
        ctx.trace.end_hop();
    }

    pub(crate) fn l2_input(&mut self, ctx: &mut Ctx, dev: usize, f: Frame, meta: Meta) {
        let d = &self.devs[dev];
        if d.kind != DevKind::Loopback
            && f.dst != d.mac
            && !f.dst.is_broadcast()
            && !f.dst.is_multicast()
        {
            let reason = format!(
                "frame to {} is not for {} ({}): PACKET_OTHERHOST, discarded",
                f.dst, d.name, d.mac
            );
            self.drop(ctx, Point::L2, reason, &CtInfo::default());
            return;
        }
        if matches!(f.payload, L3::Arp(_)) && self.has_l2_chains(L2Hook::ArpIn) {
            // arp_rcv: NF_HOOK(NFPROTO_ARP, NF_ARP_IN, ..., arp_process)
            let mut f = f;
            let arp_in = (L2Hook::ArpIn, Prio::All);
            if !self.nft_l2_hook(ctx, arp_in, &mut f, (Some(dev), None), meta) {
                return;
            }
            if let L3::Arp(a) = f.payload {
                self.arp_input(ctx, dev, a, meta);
            }
            return;
        }
        match f.payload {
            L3::Arp(a) => self.arp_input(ctx, dev, a, meta),
            L3::Ipv4(ip) => self.ip_rcv(ctx, dev, ip, meta),
            L3::Ipv6(ip) => self.ipv6_rcv(ctx, dev, ip, meta),
            L3::Other { ethertype, .. } => self.drop(
                ctx,
                Point::L2,
                format!("no protocol handler for ethertype 0x{ethertype:04x}"),
                &CtInfo::default(),
            ),
        }
    }

    /// A raw socket's datagram out of one device, as keepalived sends VRRP
    /// adverts (IP_MULTICAST_IF: no route lookup; multicast MAC from the
    /// group, no ARP).
    ///
    /// Simplification: raw output skips the netfilter OUTPUT and
    /// POSTROUTING hooks and conntrack.
    pub fn send_raw(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv4Repr, meta: Meta, note: String) {
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            None,
            crate::wire::describe_ip(&ip),
        );
        ctx.trace
            .step(Point::App, note.clone(), Action::App { app: note });
        let dn = self.devs[dev].name.clone();
        ctx.trace.step(
            Point::Routing,
            format!(
                "{}: out of {dn} as the socket asks (IP_MULTICAST_IF), no route lookup",
                ip.dst()
            ),
            Action::Info,
        );
        if !self.devs[dev].up {
            self.drop(
                ctx,
                Point::DevQueueXmit,
                format!("{dn} is down"),
                &CtInfo::default(),
            );
        } else {
            let dst = ip.dst();
            self.neigh_output(ctx, dev, dst, ip, meta);
        }
        ctx.trace.end_hop();
    }

    /// A gratuitous ARP (a request for our own address, target = sender) out
    /// of `dev`, as keepalived sends when it takes a VIP: hosts that know
    /// the address update its MAC. Its target hardware address is the
    /// broadcast address, as keepalived 2.2.7 writes it (vrrp/vrrp_arp.c
    /// `send_gratuitous_arp_immediate`: `memcpy(arp_ptr,
    /// ifp->hw_addr_bcast, ...)`), not zeros.
    pub fn send_garp(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        addr: Ipv4Addr,
        meta: Meta,
        note: String,
    ) {
        let mac = self.devs[dev].mac;
        let a = ArpRepr {
            op: arp::OP_REQUEST,
            sender_mac: mac,
            sender_ip: addr,
            target_mac: Mac::BROADCAST,
            target_ip: addr,
        };
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            None,
            (
                a.to_string(),
                crate::wire::PktInfo {
                    kind: crate::wire::PktKind::Arp,
                    ..Default::default()
                },
            ),
        );
        ctx.trace
            .step(Point::App, note.clone(), Action::App { app: note });
        let dn = self.devs[dev].name.clone();
        if self.devs[dev].up {
            let f = Frame {
                src: mac,
                dst: Mac::BROADCAST,
                payload: L3::Arp(a.clone()),
            };
            ctx.trace.set_out(&dn, a.to_string());
            self.dev_xmit(ctx, dev, f.emit(), meta);
        } else {
            self.drop(
                ctx,
                Point::DevQueueXmit,
                format!("{dn} is down"),
                &CtInfo::default(),
            );
        }
        ctx.trace.end_hop();
    }

    /// `dev_queue_xmit`: a frame leaves through `dev` (a bridge hands it to
    /// its ports), past the netdev egress chains (and, for an ARP frame
    /// the host sends, the arp output chains: `arp_xmit`). A TUN or IPIP
    /// device's raw IP skips them (simplification).
    pub(crate) fn dev_xmit(&mut self, ctx: &mut Ctx, dev: usize, bytes: Vec<u8>, meta: Meta) {
        let bytes = if matches!(self.devs[dev].kind, DevKind::Tun | DevKind::Ipip) {
            bytes
        } else {
            match self.l2_egress(ctx, dev, bytes, meta, true) {
                Some(b) => b,
                None => return,
            }
        };
        self.dev_xmit_raw(ctx, dev, bytes, meta);
    }

    /// `dev_queue_xmit` past the egress hook (a frame `fwd`/`dup` sent:
    /// nf_do_netdev_egress sets nf_skip_egress).
    pub(crate) fn dev_xmit_raw(&mut self, ctx: &mut Ctx, dev: usize, bytes: Vec<u8>, meta: Meta) {
        match self.devs[dev].kind {
            DevKind::Bridge => self.bridge_xmit(ctx, dev, bytes, meta),
            DevKind::Vxlan => self.vxlan_xmit(ctx, dev, bytes, meta),
            DevKind::Tun => self.wg_xmit(ctx, dev, bytes, meta),
            DevKind::Loopback => ctx.out.push(Output::Tx {
                dev,
                bytes: bytes.into(),
                meta,
                hop: ctx.trace.current_hop(),
            }),
            _ => {
                if !self.devs[dev].up {
                    self.drop(
                        ctx,
                        Point::DevQueueXmit,
                        format!("{} is down", self.devs[dev].name),
                        &CtInfo::default(),
                    );
                    return;
                }
                if self.devs[dev].peer.is_none() {
                    let dn = self.devs[dev].name.clone();
                    self.drop(
                        ctx,
                        Point::DevQueueXmit,
                        format!("{dn} has no link (NO-CARRIER)"),
                        &CtInfo::default(),
                    );
                    return;
                }
                ctx.out.push(Output::Tx {
                    dev,
                    bytes: bytes.into(),
                    meta,
                    hop: ctx.trace.current_hop(),
                })
            }
        }
    }
}
