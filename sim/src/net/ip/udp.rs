//! UDP input (net/ipv4/udp.c): a datagram to its socket, or ICMP port
//! unreachable.

use std::net::Ipv4Addr;

use crate::net::host::{Ctx, Host, Meta, Output};
use crate::net::netfilter::ct_glue::*;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::{Ipv4Repr, L4};

impl Host {
    pub(crate) fn udp_rcv(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta) {
        if self.vxlan_rcv(ctx, &ip, meta) || self.wg_rcv(ctx, &ip, meta) {
            return;
        }
        let L4::Udp { hdr, payload } = &ip.l4 else {
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
                        " (assigned by TPROXY; the datagram keeps its destination {}:{})",
                        ip.dst(),
                        hdr.destination_port
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
                self.send_icmp_error(
                    ctx,
                    &ip,
                    icmp::DEST_UNREACH,
                    icmp::CODE_PORT_UNREACH,
                    [0; 4],
                    meta,
                    "closed UDP port",
                );
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
        src: Option<(Ipv4Addr, u16)>,
        dst: (Ipv4Addr, u16),
        payload: Vec<u8>,
        note: String,
        txhash: Option<u32>,
    ) {
        let (sa, sp) = src.unwrap_or((Ipv4Addr::UNSPECIFIED, 0));
        let id = self.next_ip_id();
        let ip = crate::wire::Ipv4Repr::new(
            sa,
            dst.0,
            64,
            id,
            crate::wire::L4::Udp {
                hdr: crate::wire::udp_header(sp, dst.1),
                payload,
            },
        );
        let mut m = ctx.new_meta(flow, parent);
        m.hash = txhash;
        ctx.out.push(Output::SendLocal {
            ip,
            meta: m,
            note: Some(note),
        });
    }
}
