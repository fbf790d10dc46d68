//! UDP input (net/ipv4/udp.c): a datagram to its socket, or ICMP port
//! unreachable.

use std::net::{IpAddr, Ipv4Addr};

use crate::net::host::{Ctx, Host, Meta, Output};
use crate::net::netfilter::ct_glue::*;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::{IpRepr, Ipv4Repr, L4};

impl Host {
    pub(crate) fn udp_rcv(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta) {
        if self.vxlan_rcv(ctx, &ip, meta) || self.wg_rcv(ctx, &ip, meta) {
            return;
        }
        self.udp_deliver(ctx, IpRepr::V4(ip), meta)
    }

    /// `__udp4_lib_rcv` / `__udp6_lib_rcv` past the tunnels: the
    /// datagram to the socket bound to its port, else port unreachable
    /// (ICMP or ICMPv6).
    pub(crate) fn udp_deliver(&mut self, ctx: &mut Ctx, ip: IpRepr, meta: Meta) {
        let L4::Udp { hdr, payload } = ip.l4() else {
            return;
        };
        // a socket TPROXY assigned (skb_steal_sock in __udp4_lib_rcv)
        let port = meta
            .sk
            .filter(|k| k.proto == 17)
            .map_or(hdr.destination_port, |k| k.port);
        match self.udp_listeners.get(&port).copied() {
            Some(app) => {
                let tproxied = if port != hdr.destination_port {
                    format!(
                        " (assigned by TPROXY; the datagram keeps its destination {})",
                        crate::wire::endpoint(ip.dst(), hdr.destination_port)
                    )
                } else {
                    String::new()
                };
                ctx.trace.step(
                    Point::Udp,
                    format!(
                        "deliver {} bytes to socket *:{port}{tproxied}",
                        payload.len(),
                    ),
                    Action::Deliver {
                        socket: format!("udp *:{port}"),
                    },
                );
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: crate::net::socket::SocketEvent::Datagram {
                        from: (ip.src(), hdr.source_port),
                        to: (ip.dst(), hdr.destination_port),
                        data: payload.clone(),
                        flow: meta.flow,
                        pkt: meta.pkt,
                    },
                });
            }
            None => {
                self.drop(
                    ctx,
                    Point::Udp,
                    format!("no socket on UDP port {}", hdr.destination_port),
                    &CtInfo::default(),
                );
                match &ip {
                    IpRepr::V4(ip) => self.send_icmp_error(
                        ctx,
                        ip,
                        icmp::DEST_UNREACH,
                        icmp::CODE_PORT_UNREACH,
                        [0; 4],
                        meta,
                        "closed UDP port",
                    ),
                    IpRepr::V6(ip) => self.icmp6_error(
                        ctx,
                        ip,
                        crate::wire::Icmpv6Repr::DstUnreach {
                            code: crate::wire::icmpv6::CODE_PORT_UNREACH,
                            quoted: vec![],
                        },
                        meta,
                    ),
                }
            }
        }
    }

    /// Sends a UDP datagram from a socket. With no source, the route picks
    /// the address. Returns the source used.
    #[allow(clippy::too_many_arguments)]
    pub fn udp_send(
        &mut self,
        ctx: &mut Ctx,
        flow: u32,
        parent: Option<u64>,
        src: Option<(IpAddr, u16)>,
        dst: (IpAddr, u16),
        payload: Vec<u8>,
        note: String,
        txhash: Option<u32>,
    ) {
        let sp = src.map_or(0, |s| s.1);
        let l4 = crate::wire::L4::Udp {
            hdr: crate::wire::udp_header(sp, dst.1),
            payload,
        };
        let ip = match dst.0 {
            IpAddr::V4(d) => {
                let s = match src {
                    Some((IpAddr::V4(s), _)) => s,
                    _ => Ipv4Addr::UNSPECIFIED,
                };
                let id = self.next_ip_id();
                IpRepr::V4(Ipv4Repr::new(s, d, 64, id, l4))
            }
            IpAddr::V6(d) => {
                // an unbound source (::) is the route's (ip6_route_output)
                let s = match src {
                    Some((IpAddr::V6(s), _)) => s,
                    _ => std::net::Ipv6Addr::UNSPECIFIED,
                };
                let hl = self.ip6_hop_limit(d);
                IpRepr::V6(crate::wire::Ipv6Repr::new(s, d, hl, 0, l4))
            }
        };
        let mut m = ctx.new_meta(flow, parent);
        m.hash = txhash;
        ctx.out.push(Output::send_local(ip, m, Some(note)));
    }
}
