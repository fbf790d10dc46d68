//! A TUN device served by a userspace WireGuard (tailscaled's wireguard-go,
//! or HeadCNI's daemon): what the kernel routes into the device comes out of
//! the process as WireGuard transport messages in UDP, and what the process
//! receives on its UDP port is written back into the device.
//!
//! Transmit: the peer is chosen by cryptokey routing (the longest
//! `allowed-ips` prefix holding the inner destination); the raw IP packet is
//! sealed (see `wire::wireguard`) and sent from the listen port (Tailscale's
//! 41641) to the peer's endpoint as a locally generated UDP packet, with DF
//! set (a UDP socket's default path-MTU discovery), through the host's
//! routing, OUTPUT and POSTROUTING.
//!
//! Receive: a datagram to the listen port is matched to a peer by receiver
//! index, opened, checked against that peer's `allowed-ips` (WireGuard drops
//! other sources), the peer's endpoint follows the outer source (roaming),
//! and the inner packet is received on the TUN device (no Ethernet header).
//!
//! Simplifications (listed by `podpath explain`): the session is taken as
//! established: no handshake messages (types 1 and 2), no cookies, no
//! keepalives, no rekeying; the cipher is a ChaCha20 keystream and a SHA-256
//! tag, not ChaCha20-Poly1305 (sizes are WireGuard's); Tailscale's DERP
//! relays and disco pings are not modelled.

use std::net::{IpAddr, Ipv4Addr};

use super::host::{Ctx, Host, Meta, Output};
use super::netfilter::ct_glue::CtInfo;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::wireguard::{self, WgData};
use crate::wire::{summarize_ip, udp_header, Ipv4Repr, L4};

pub use super::device::{WgCfg, WgPeer};

impl Host {
    pub(crate) fn wg_xmit(&mut self, ctx: &mut Ctx, dev: usize, bytes: Vec<u8>, meta: Meta) {
        let dn = self.devs[dev].name.clone();
        ctx.out.push(Output::Capture {
            dev,
            out: true,
            bytes: bytes.clone(),
            meta,
            hop: ctx.trace.current_hop(),
        });
        let Some(cfg) = self.devs[dev].wg.clone() else {
            self.drop(
                ctx,
                Point::Wireguard,
                format!("{dn}: no process serves this TUN device: packet discarded"),
                &CtInfo::default(),
            );
            return;
        };
        let inner = match Ipv4Repr::parse(&bytes) {
            Ok(ip) => ip,
            Err(e) => {
                self.drop(
                    ctx,
                    Point::Wireguard,
                    format!("{dn}: {e}"),
                    &CtInfo::default(),
                );
                return;
            }
        };
        let dst = inner.dst();
        let best = cfg
            .peers
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.allowed_ips.iter().map(move |n| (i, *n)))
            .filter(|(_, n)| n.contains(&dst))
            .max_by_key(|(_, n)| n.prefix_len());
        let Some((pi, net)) = best else {
            self.drop(
                ctx,
                Point::Wireguard,
                format!("{dn}: no peer has {dst} in its allowed-ips: packet discarded"),
                &CtInfo::default(),
            );
            return;
        };
        let peer = &cfg.peers[pi];
        let key = wireguard::session_key(&cfg.me, &peer.name);
        let counter = peer.tx_counter;
        let msg = wireguard::seal(&key, wireguard::index(&peer.name, &cfg.me), counter, &bytes);
        if let Some(w) = self.devs[dev].wg.as_mut() {
            w.peers[pi].tx_counter += 1;
        }
        let payload = msg.emit();
        let (ep, port) = peer.endpoint;
        ctx.trace.step(
            Point::Wireguard,
            format!(
                "{dn}: {dst} is in peer {}'s allowed-ips {net}: seal {} bytes (counter {counter}) into UDP :{} > {}, {} bytes",
                peer.name,
                bytes.len(),
                cfg.listen_port,
                crate::wire::endpoint(ep, port),
                payload.len()
            ),
            Action::Encap {
                outer: format!("UDP {} wireguard", crate::wire::endpoint(ep, port)),
            },
        );
        let udp = L4::Udp {
            hdr: udp_header(cfg.listen_port, port),
            payload,
        };
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        match ep {
            IpAddr::V4(ep) => {
                let id = self.next_ip_id();
                let outer = Ipv4Repr::new(Ipv4Addr::UNSPECIFIED, ep, 64, id, udp);
                self.ip_output_local(ctx, outer, m);
            }
            // a UDP socket's datagram over IPv6: source selection, the
            // socket's auto flow label
            IpAddr::V6(ep) => {
                let hlim = self.sysctl.int("net.ipv6.conf.all.hop_limit").clamp(1, 255) as u8;
                let outer =
                    crate::wire::Ipv6Repr::new(std::net::Ipv6Addr::UNSPECIFIED, ep, hlim, 0, udp);
                self.ip6_output_local(ctx, outer, m);
            }
        }
    }

    /// Returns true when the datagram was for a WireGuard listen port here.
    pub(crate) fn wg_rcv(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr, meta: Meta) -> bool {
        let L4::Udp { hdr, payload } = &ip.l4 else {
            return false;
        };
        self.wg_rcv_udp(ctx, IpAddr::V4(ip.src()), hdr, payload, meta)
    }

    /// A UDP datagram from `src` (either family) to a WireGuard listen
    /// port: true when it was one.
    pub(crate) fn wg_rcv_udp(
        &mut self,
        ctx: &mut Ctx,
        src: IpAddr,
        hdr: &etherparse::UdpHeader,
        payload: &[u8],
        meta: Meta,
    ) -> bool {
        let Some(dev) = self.devs.iter().position(|d| {
            d.wg.as_ref()
                .is_some_and(|w| w.listen_port == hdr.destination_port)
        }) else {
            return false;
        };
        let dn = self.devs[dev].name.clone();
        let cfg = self.devs[dev].wg.clone().expect("wg");
        let Some(m) = WgData::parse(payload) else {
            self.drop(
                ctx,
                Point::Wireguard,
                format!("{dn}: not a WireGuard transport message: discarded"),
                &CtInfo::default(),
            );
            return true;
        };
        let Some(pi) = cfg
            .peers
            .iter()
            .position(|p| wireguard::index(&cfg.me, &p.name) == m.receiver)
        else {
            self.drop(
                ctx,
                Point::Wireguard,
                format!(
                    "{dn}: unknown receiver index {:#010x}: discarded",
                    m.receiver
                ),
                &CtInfo::default(),
            );
            return true;
        };
        let peer = &cfg.peers[pi];
        let key = wireguard::session_key(&cfg.me, &peer.name);
        let Some(plain) = wireguard::open(&key, &m) else {
            self.drop(
                ctx,
                Point::Wireguard,
                format!(
                    "{dn}: message from {} fails authentication: discarded",
                    peer.name
                ),
                &CtInfo::default(),
            );
            return true;
        };
        let inner = match Ipv4Repr::parse(&plain) {
            Ok(i) => i,
            Err(e) => {
                self.drop(
                    ctx,
                    Point::Wireguard,
                    format!("{dn}: {e}"),
                    &CtInfo::default(),
                );
                return true;
            }
        };
        if !peer.allowed_ips.iter().any(|n| n.contains(&inner.src())) {
            self.drop(
                ctx,
                Point::Wireguard,
                format!(
                    "{dn}: packet from peer {} has source {} outside its allowed-ips: discarded",
                    peer.name,
                    inner.src()
                ),
                &CtInfo::default(),
            );
            return true;
        }
        let from = (src, hdr.source_port);
        if let Some(w) = self.devs[dev].wg.as_mut() {
            w.peers[pi].endpoint = from;
        }
        ctx.trace.step(
            Point::Wireguard,
            format!(
                "{dn}: open counter {} from peer {} ({}): {} written to {dn}",
                m.counter,
                peer.name,
                crate::wire::endpoint(from.0, from.1),
                summarize_ip(&inner)
            ),
            Action::Decap {
                inner: summarize_ip(&inner),
                inner_pkt: crate::wire::pkt_info_ip(&inner),
            },
        );
        let total = inner.hdr.total_len as usize;
        let mut bytes = plain;
        bytes.truncate(total);
        let m2 = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::Rx {
            dev,
            bytes,
            meta: m2,
        });
        true
    }
}
