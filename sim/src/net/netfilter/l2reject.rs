//! What the frame hooks answer and forward themselves: `reject` at the
//! netdev ingress and bridge prerouting/input hooks (net/netfilter/
//! nft_reject_netdev.c, net/bridge/netfilter/nft_reject_bridge.c: the
//! reply is built as net/ipv4/netfilter/nf_reject_ipv4.c builds it for
//! these hooks and sent back out of the port the frame came in on, its
//! Ethernet addresses swapped), and `fwd ip to ADDR device DEV`
//! (net/netfilter/nft_fwd_netdev.c nft_fwd_neigh_eval: the TTL decreased,
//! then neigh_xmit to ADDR on DEV).

use std::net::Ipv4Addr;

use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::{L2Hook, RejectWith};
use crate::trace::{Action, Point};
use crate::wire::icmp::{self, IcmpRepr};
use crate::wire::{Frame, Ipv4Repr, L3, L4};

/// The hooks nft lets `reject` run at in the frame families
/// (nft_reject_netdev_validate: NF_NETDEV_INGRESS; nft_reject_bridge_validate:
/// NF_BR_PRE_ROUTING and NF_BR_LOCAL_IN).
pub fn reject_hook(hook: L2Hook) -> bool {
    matches!(
        hook,
        L2Hook::Ingress | L2Hook::BrPrerouting | L2Hook::BrInput
    )
}

/// The reply `reject` sends for frame `f` (nft_reject_netdev_eval,
/// nft_reject_bridge_eval), or None when it sends none: a broadcast or
/// multicast destination MAC, a frame that is no IPv4, a non-first
/// fragment, or a TCP reset asked for a packet that is no TCP or is a
/// reset itself (nf_reject_ip_tcphdr_get). The IPv4 header is
/// nf_reject_iphdr_put's: the addresses swapped, TOS 0, id 0, DF, TTL
/// `ttl` (net.ipv4.ip_default_ttl); a reset is nf_reject_ip_tcphdr_put's
/// (the ports swapped; with ACK in the packet, its ack number as the
/// sequence, else sequence 0 and ACK of its sequence plus SYN, FIN and the
/// payload length; window 0); an ICMP destination unreachable
/// (nf_reject_skb_v4_unreach) quotes the packet up to 536 bytes.
pub fn reject_reply(f: &Frame, w: RejectWith, ttl: u8) -> Option<Frame> {
    if f.dst.0[0] & 1 != 0 {
        return None;
    }
    let L3::Ipv4(ip) = &f.payload else {
        return None;
    };
    if ip.hdr.fragment_offset.value() != 0 {
        return None;
    }
    let l4 = match w {
        RejectWith::TcpReset => {
            let L4::Tcp { hdr, payload } = &ip.l4 else {
                return None;
            };
            if hdr.rst {
                return None;
            }
            let (seq, ack) = if hdr.ack {
                (hdr.acknowledgment_number, None)
            } else {
                let n = hdr
                    .sequence_number
                    .wrapping_add(u32::from(hdr.syn))
                    .wrapping_add(u32::from(hdr.fin))
                    .wrapping_add(u32::try_from(payload.len()).unwrap_or(u32::MAX));
                (0, Some(n))
            };
            let mut t = crate::wire::tcp_header(hdr.destination_port, hdr.source_port, seq, ack, 0);
            t.rst = true;
            L4::Tcp {
                hdr: t,
                payload: Vec::new(),
            }
        }
        _ => {
            let code = w.icmp_code();
            let quoted = ip.emit();
            let n = quoted.len().min(536);
            L4::Icmp(IcmpRepr {
                icmp_type: icmp::DEST_UNREACH,
                code,
                rest: [0; 4],
                payload: quoted[..n].to_vec(),
            })
        }
    };
    let mut r = Ipv4Repr::new(ip.dst(), ip.src(), ttl, 0, l4);
    r.hdr.dont_fragment = true;
    Some(Frame {
        src: f.dst,
        dst: f.src,
        payload: L3::Ipv4(r),
    })
}

impl Host {
    /// `reject` at frame hook `hook`: the reply, when there is one, leaves
    /// out of the port `in_dev` the frame came in on (netdev:
    /// nft_reject_queue_xmit → dev_queue_xmit; bridge: br_forward to the
    /// port). True when a reply was sent.
    pub(crate) fn l2_reject(
        &mut self,
        ctx: &mut Ctx,
        hook: L2Hook,
        f: &Frame,
        w: RejectWith,
        in_dev: Option<usize>,
        meta: Meta,
    ) -> bool {
        let Some(dev) = in_dev.filter(|_| reject_hook(hook)) else {
            return false;
        };
        let ttl = u8::try_from(self.sysctl.int("net.ipv4.ip_default_ttl")).unwrap_or(64);
        let Some(reply) = reject_reply(f, w, ttl) else {
            return false;
        };
        let name = self.devs[dev].name.clone();
        ctx.trace.step(
            Point::NftL2(hook),
            format!(
                "reject: {} sent back out of {name}",
                crate::wire::summarize(&reply)
            ),
            Action::Info,
        );
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        self.dev_xmit_raw(ctx, dev, reply.emit(), m);
        true
    }

    /// `fwd ip to ADDR device DEV` (nft_fwd_neigh_eval): the frame's IPv4
    /// packet, its TTL decreased (ip_decrease_ttl: no check, the
    /// checksum updated), goes to neighbour `addr` on `dev` (neigh_xmit:
    /// the neighbour's MAC, resolved by ARP if needed, and DEV's own).
    /// None when the frame went; Some(why) when it is dropped (no such
    /// device: simplified, the kernel resolved the device when the rule
    /// was loaded).
    pub(crate) fn l2_fwd_neigh(
        &mut self,
        ctx: &mut Ctx,
        f: &Frame,
        (addr, dev): (Ipv4Addr, &str),
        meta: Meta,
    ) -> Option<String> {
        let Some(i) = self.dev_index(dev) else {
            return Some(format!("fwd ip to {addr} device {dev}: no such device"));
        };
        let L3::Ipv4(ip) = &f.payload else {
            return Some(format!("fwd ip to {addr}: not IPv4"));
        };
        let mut ip = ip.clone();
        ip.hdr.time_to_live = ip.hdr.time_to_live.wrapping_sub(1);
        self.neigh_output(ctx, i, addr, ip, meta);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Mac;

    /// A TCP SYN 10.0.0.5:40000 -> 10.0.0.1:22, seq 1000, from MAC a to b.
    fn syn() -> Frame {
        let mut t = crate::wire::tcp_header(40000, 22, 1000, None, 64240);
        t.syn = true;
        Frame {
            src: Mac([0x0a, 0, 0, 0, 0, 5]),
            dst: Mac([0x02, 0, 0, 0, 0, 1]),
            payload: L3::Ipv4(Ipv4Repr::new(
                Ipv4Addr::new(10, 0, 0, 5),
                Ipv4Addr::new(10, 0, 0, 1),
                64,
                7,
                L4::Tcp {
                    hdr: t,
                    payload: vec![],
                },
            )),
        }
    }

    /// nf_reject_ipv4.c as the frame hooks call it, on real bytes: the
    /// reset answers the SYN (ack = seq + 1, sequence 0, window 0, id 0,
    /// DF, TTL of ip_default_ttl), the Ethernet addresses swapped; an ICMP
    /// port unreachable quotes the packet; a broadcast frame gets none.
    #[test]
    fn reject_replies_at_the_frame_hooks() {
        let f = syn();
        let r = reject_reply(&f, RejectWith::TcpReset, 64).unwrap();
        let b = r.emit();
        // Ethernet: dst = the SYN's source MAC, src = its destination
        assert_eq!(&b[0..6], &[0x0a, 0, 0, 0, 0, 5]);
        assert_eq!(&b[6..12], &[0x02, 0, 0, 0, 0, 1]);
        assert_eq!(&b[12..14], &[0x08, 0x00]);
        let ip = &b[14..];
        assert_eq!(ip[0], 0x45);
        assert_eq!(ip[1], 0, "tos 0");
        assert_eq!(u16::from_be_bytes([ip[2], ip[3]]), 40, "20 + 20 bytes");
        assert_eq!(&ip[4..8], &[0, 0, 0x40, 0], "id 0, DF");
        assert_eq!((ip[8], ip[9]), (64, 6));
        assert_eq!(&ip[12..16], &[10, 0, 0, 1]);
        assert_eq!(&ip[16..20], &[10, 0, 0, 5]);
        let tcp = &ip[20..];
        assert_eq!(u16::from_be_bytes([tcp[0], tcp[1]]), 22);
        assert_eq!(u16::from_be_bytes([tcp[2], tcp[3]]), 40000);
        assert_eq!(u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]), 0);
        assert_eq!(u32::from_be_bytes([tcp[8], tcp[9], tcp[10], tcp[11]]), 1001);
        assert_eq!(tcp[13], 0x14, "RST|ACK");
        assert_eq!(u16::from_be_bytes([tcp[14], tcp[15]]), 0, "window 0");
        // the IP header checksum holds; the bytes parse back the same
        let sum: u32 = ip[..20]
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        assert_eq!((sum & 0xffff) + (sum >> 16), 0xffff);
        assert_eq!(Frame::parse(&b).unwrap().emit(), b);
        // a reset is not answered; ICMP unreachable quotes the packet
        let L3::Ipv4(old) = &f.payload else { panic!() };
        let u = reject_reply(&f, RejectWith::IcmpPortUnreachable, 64).unwrap();
        let L3::Ipv4(uip) = &u.payload else { panic!() };
        let L4::Icmp(ic) = &uip.l4 else { panic!() };
        assert_eq!((ic.icmp_type, ic.code), (3, 3));
        assert_eq!(ic.payload, old.emit());
        let mut bc = syn();
        bc.dst = Mac::BROADCAST;
        assert!(reject_reply(&bc, RejectWith::TcpReset, 64).is_none());
        let mut rst = syn();
        if let L3::Ipv4(ip) = &mut rst.payload {
            if let L4::Tcp { hdr, .. } = &mut ip.l4 {
                hdr.rst = true;
            }
        }
        assert!(reject_reply(&rst, RejectWith::TcpReset, 64).is_none());
        assert!(reject_hook(L2Hook::Ingress) && !reject_hook(L2Hook::Egress));
    }
}
