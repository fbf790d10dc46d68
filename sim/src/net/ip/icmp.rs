//! ICMP (net/ipv4/icmp.c): echo, errors sent (unreachable, fragmentation
//! needed, TTL exceeded, REJECT's answers) and errors received, mapped to
//! their connection.

use std::net::Ipv4Addr;

use crate::net::host::{Ctx, Host, Meta, Output};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::RejectWith;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self, IcmpRepr};
use crate::wire::{Ipv4Repr, L4};

impl Host {
    pub(crate) fn send_reject(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr, w: RejectWith, meta: Meta) {
        if w == RejectWith::TcpReset {
            if let L4::Tcp { hdr, payload } = &ip.l4 {
                if hdr.rst {
                    return;
                }
                let (seq, ack) = if hdr.ack {
                    (hdr.acknowledgment_number, None)
                } else {
                    (
                        0,
                        Some(
                            hdr.sequence_number
                                .wrapping_add(payload.len() as u32)
                                .wrapping_add(hdr.syn as u32)
                                .wrapping_add(hdr.fin as u32),
                        ),
                    )
                };
                let mut t =
                    crate::wire::tcp_header(hdr.destination_port, hdr.source_port, seq, ack, 0);
                t.rst = true;
                let id = self.next_ip_id();
                let r = Ipv4Repr::new(
                    ip.dst(),
                    ip.src(),
                    64,
                    id,
                    L4::Tcp {
                        hdr: t,
                        payload: vec![],
                    },
                );
                let m = ctx.new_meta(meta.flow, Some(meta.pkt));
                ctx.out.push(Output::SendLocal {
                    ip: r,
                    meta: m,
                    note: Some("REJECT --reject-with tcp-reset".into()),
                });
                return;
            }
        }
        let code = w.icmp_code();
        self.send_icmp_error(ctx, ip, icmp::DEST_UNREACH, code, [0; 4], meta, "REJECT");
    }

    /// `icmp_send`: an error about `ip` back to its source, as a locally
    /// generated packet (source chosen by the route back).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_icmp_error(
        &mut self,
        ctx: &mut Ctx,
        ip: &Ipv4Repr,
        ty: u8,
        code: u8,
        rest: [u8; 4],
        meta: Meta,
        why: &str,
    ) {
        // Never an error about an ICMP error, a broadcast, or a non-first fragment.
        if let L4::Icmp(i) = &ip.l4 {
            if i.is_error() {
                return;
            }
        }
        // (icmp_send: RTCF_BROADCAST, a broadcast route's address included)
        if self.is_broadcast_dst(ip.dst())
            || ip.dst().is_multicast()
            || ip.hdr.fragment_offset.value() != 0
        {
            return;
        }
        let quoted = ip.emit();
        let err = IcmpRepr::error(ty, code, rest, &quoted);
        if !self.icmp4_xrlim_allow(ctx, ip.src(), ty, code) {
            ctx.trace.step(
                Point::Icmp,
                format!(
                    "no ICMP {err} to {}: rate limited (icmpv4_xrlim_allow: net.ipv4.icmp_ratelimit {} ms, a burst of {})",
                    ip.src(),
                    self.sysctl.int("net.ipv4.icmp_ratelimit"),
                    crate::net::inetpeer::BURST
                ),
                Action::Info,
            );
            return;
        }
        let id = self.next_ip_id();
        let mut r = Ipv4Repr::new(
            Ipv4Addr::UNSPECIFIED,
            ip.src(),
            64,
            id,
            L4::Icmp(err.clone()),
        );
        r.hdr.dont_fragment = false;
        r.hdr.dscp = etherparse::IpDscp::try_new(0x30).expect("valid dscp");
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::SendLocal {
            ip: r,
            meta: m,
            note: Some(format!("{why}: ICMP {err} to {}", ip.src())),
        });
    }

    /// `icmpv4_xrlim_allow`: an error of a type icmp_ratemask limits (not
    /// fragmentation needed: PMTU discovery) to a peer that is not this
    /// host (no limit on loopback) takes a token of its bucket.
    fn icmp4_xrlim_allow(&mut self, ctx: &Ctx, to: Ipv4Addr, ty: u8, code: u8) -> bool {
        let mask = self.sysctl.int("net.ipv4.icmp_ratemask");
        let limited = ty <= 18
            && !(ty == 3 && code == crate::wire::icmp::CODE_FRAG_NEEDED)
            && (mask >> ty) & 1 == 1;
        if !limited || self.is_local(to) {
            return true;
        }
        let ms = self.sysctl.int("net.ipv4.icmp_ratelimit").max(0) as u64;
        self.peers.xrlim_allow(to.into(), ctx.now, ms * 1_000_000)
    }

    /// net/ipv4/icmp.c `icmp_timestamp`: a request with at least its
    /// originate timestamp (4 bytes) is answered with a timestamp reply
    /// (type 14, code 0, its id and seq), the originate timestamp copied,
    /// receive and transmit both the current time in ms since midnight UT
    /// (`inet_current_timestamp`); a shorter one is dropped.
    fn icmp_timestamp(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr, i: &IcmpRepr, meta: Meta) {
        if i.payload.len() < 4 {
            self.drop(
                ctx,
                Point::Icmp,
                format!(
                    "timestamp request with {} data bytes: too short (icmp_timestamp)",
                    i.payload.len()
                ),
                &CtInfo::default(),
            );
            return;
        }
        let now = icmp::ms_since_midnight(ctx.now).to_be_bytes();
        let mut payload = i.payload[..4].to_vec();
        payload.extend_from_slice(&now);
        payload.extend_from_slice(&now);
        let reply = IcmpRepr {
            icmp_type: icmp::TIMESTAMP_REPLY,
            code: 0,
            rest: i.rest,
            payload,
        };
        ctx.trace.step(
            Point::Icmp,
            format!(
                "timestamp request: answering (receive = transmit = {} ms since midnight UT)",
                u32::from_be_bytes(now)
            ),
            Action::Info,
        );
        let from = if self.is_broadcast_dst(ip.dst()) {
            Ipv4Addr::UNSPECIFIED
        } else {
            ip.dst()
        };
        let id = self.next_ip_id();
        let mut r = Ipv4Repr::new(from, ip.src(), 64, id, L4::Icmp(reply));
        r.hdr.dont_fragment = false;
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::Served {
            flow: meta.flow,
            app: "kernel (ICMP timestamp)".into(),
        });
        ctx.out.push(Output::SendLocal {
            ip: r,
            meta: m,
            note: Some("icmp timestamp reply".into()),
        });
    }

    pub(crate) fn icmp_rcv(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta) {
        let L4::Icmp(i) = &ip.l4 else { return };
        if self.is_broadcast_dst(ip.dst()) {
            // icmp_rcv: to a broadcast (RTCF_BROADCAST), an echo or
            // timestamp request is ignored while
            // net.ipv4.icmp_echo_ignore_broadcasts=1, and any type but
            // echo, timestamp and address mask requests/replies is dropped.
            let query = matches!(i.icmp_type, icmp::ECHO_REQUEST | icmp::TIMESTAMP);
            let ignore = self.sysctl.int("net.ipv4.icmp_echo_ignore_broadcasts") != 0;
            if (query && ignore) || !matches!(i.icmp_type, icmp::ECHO_REQUEST | 13 | 17 | 18) {
                let why = if query {
                    "net.ipv4.icmp_echo_ignore_broadcasts=1"
                } else {
                    "only echo, timestamp and address mask messages are taken"
                };
                self.drop(
                    ctx,
                    Point::Icmp,
                    format!(
                        "ICMP type {} to the broadcast address {}: ignored ({why}; icmp_rcv)",
                        i.icmp_type,
                        ip.dst()
                    ),
                    &CtInfo::default(),
                );
                return;
            }
        }
        match i.icmp_type {
            icmp::ECHO_REQUEST => {
                ctx.trace
                    .step(Point::Icmp, "echo request: answering".into(), Action::Info);
                let mut reply = i.clone();
                reply.icmp_type = icmp::ECHO_REPLY;
                let id = self.next_ip_id();
                // icmp_reply: the source is fib_compute_spec_dst's, the
                // address itself unless it was a broadcast (then the
                // output route's choice)
                let from = if self.is_broadcast_dst(ip.dst()) {
                    Ipv4Addr::UNSPECIFIED
                } else {
                    ip.dst()
                };
                let mut r = Ipv4Repr::new(from, ip.src(), 64, id, L4::Icmp(reply));
                r.hdr.dont_fragment = false;
                let m = ctx.new_meta(meta.flow, Some(meta.pkt));
                ctx.out.push(Output::Served {
                    flow: meta.flow,
                    app: "kernel (ICMP echo)".into(),
                });
                ctx.out.push(Output::SendLocal {
                    ip: r,
                    meta: m,
                    note: Some("icmp echo reply".into()),
                });
            }
            icmp::TIMESTAMP => self.icmp_timestamp(ctx, &ip, i, meta),
            icmp::ECHO_REPLY | icmp::TIMESTAMP_REPLY => {
                let id = i.echo_id();
                let what = if i.icmp_type == icmp::ECHO_REPLY {
                    "echo reply"
                } else {
                    "timestamp reply"
                };
                let app = self.icmp_sock(id);
                let Some(app) = app else {
                    ctx.trace.step(
                        Point::Icmp,
                        format!("{what}: no ping socket waits for it"),
                        Action::Info,
                    );
                    return;
                };
                ctx.trace.step(
                    Point::Icmp,
                    format!("{what} id {id}: to the ping socket"),
                    Action::Deliver {
                        socket: "ping".into(),
                    },
                );
                let ev = crate::net::socket::SocketEvent::Icmp {
                    from: ip.src(),
                    msg: i.clone(),
                    ttl: ip.hdr.time_to_live,
                };
                ctx.out.push(Output::SocketNow { owner: app, ev });
            }
            _ => {
                // Errors go to the socket of the quoted connection.
                let what = format!("ICMP {i} received");
                ctx.trace.step(
                    Point::Icmp,
                    what.clone(),
                    Action::Deliver {
                        socket: "icmp".into(),
                    },
                );
                if i.is_error() {
                    if let Some(t) = quoted_tuple(&i.payload) {
                        if t.proto == 1 {
                            let app = self.icmp_sock(t.sport);
                            if let Some(app) = app {
                                let ev = crate::net::socket::SocketEvent::Icmp {
                                    from: ip.src(),
                                    msg: i.clone(),
                                    ttl: ip.hdr.time_to_live,
                                };
                                ctx.out.push(Output::SocketNow { owner: app, ev });
                            }
                        } else if t.proto == crate::wire::sctp::PROTO_SCTP {
                            self.sctp_icmp_error(ctx, &t, i);
                        } else {
                            self.tcp_icmp_error(ctx, &t, i, meta);
                        }
                    }
                }
            }
        }
    }
}
