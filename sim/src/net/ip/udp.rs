//! UDP input (net/ipv4/udp.c): a datagram to its socket, or ICMP port
//! unreachable.

use crate::net::host::{Ctx, Host, Meta, Output};
use crate::net::netfilter::ct_glue::*;
use crate::trace::Action;
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
        match self.udp_listeners.get(&hdr.destination_port).copied() {
            Some(app) => {
                ctx.trace.step(
                    "udp",
                    format!(
                        "deliver {} bytes to socket *:{}",
                        payload.len(),
                        hdr.destination_port
                    ),
                    Action::Deliver {
                        socket: format!("udp *:{}", hdr.destination_port),
                    },
                );
                ctx.out.push(Output::AppEvent {
                    app,
                    ev: crate::app::AppEvent::Datagram {
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
                    "udp",
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
}
