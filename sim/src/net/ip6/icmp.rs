//! ICMPv6 (net/ipv6/icmp.c): `icmpv6_rcv` (echo, errors to their
//! socket, Packet Too Big to the path MTU, ND to ndisc) and `icmp6_send`
//! (the errors a host or router sends).

use std::net::Ipv6Addr;

use crate::net::host::{Ctx, Host, Meta, Output};
use crate::net::socket::SocketEvent;
use crate::trace::{Action, Point};
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::{Ipv6Repr, IPV6_MIN_MTU, NEXTHDR_ICMPV6};
use crate::wire::L4;

/// What an error's quoted packet tells: its source, destination, and the
/// ICMPv6 echo identifier when it was an echo request. Read from the
/// bytes as they are (a quote is usually cut short, so the packet does not
/// parse whole).
pub fn quoted_echo(q: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr, Option<u16>)> {
    if q.len() < 40 || q[0] >> 4 != 6 {
        return None;
    }
    let a = |o: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&q[o..o + 16]).expect("16"));
    let id = (q[6] == NEXTHDR_ICMPV6 && q.len() >= 46 && q[40] == 128)
        .then(|| u16::from_be_bytes([q[44], q[45]]));
    Some((a(8), a(24), id))
}

/// The source address and ports of a quoted TCP segment (no extension
/// headers before it), read from the cut quote's bytes.
pub fn quoted_tcp(q: &[u8]) -> Option<(Ipv6Addr, u16, u16)> {
    if q.len() < 44 || q[0] >> 4 != 6 || q[6] != 6 {
        return None;
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&q[8..24]).ok()?);
    Some((
        src,
        u16::from_be_bytes([q[40], q[41]]),
        u16::from_be_bytes([q[42], q[43]]),
    ))
}

impl Host {
    /// `icmp6_send`: an error about `offending` (as it came), of `msg`'s
    /// kind (its quote is filled in here), unless RFC 4443 §2.4 (e) forbids
    /// it: about an ICMPv6 error, a packet from `::` or a multicast source,
    /// or to a multicast destination (but Packet Too Big and an unknown
    /// option of type 10xxxxxx).
    pub(crate) fn icmp6_error(
        &mut self,
        ctx: &mut Ctx,
        offending: &Ipv6Repr,
        msg: Icmpv6Repr,
        meta: Meta,
    ) {
        let ineligible = offending.icmp6().is_some_and(Icmpv6Repr::is_error);
        let mcast_ok = matches!(msg, Icmpv6Repr::PacketTooBig { .. })
            || matches!(msg, Icmpv6Repr::ParamProblem { code: 2, .. });
        if ineligible
            || offending.src.is_unspecified()
            || offending.src.is_multicast()
            || (offending.dst.is_multicast() && !mcast_ok)
        {
            ctx.trace.step(
                Point::Icmp,
                format!("no ICMPv6 {msg}: not sent about this packet (RFC 4443 §2.4 (e))"),
                Action::Info,
            );
            return;
        }
        if !self.icmp6_xrlim_allow(ctx, offending.src, &msg) {
            ctx.trace.step(
                Point::Icmp,
                format!(
                    "no ICMPv6 {msg} to {}: rate limited (icmpv6_xrlim_allow: net.ipv6.icmp.ratelimit {} ms for the route's prefix, a burst of {})",
                    offending.src,
                    self.sysctl.int("net.ipv6.icmp.ratelimit"),
                    crate::net::inetpeer::BURST
                ),
                Action::Info,
            );
            return;
        }
        let quoted = Icmpv6Repr::quote(&offending.emit());
        let msg = match msg {
            Icmpv6Repr::DstUnreach { code, .. } => Icmpv6Repr::DstUnreach { code, quoted },
            Icmpv6Repr::TimeExceeded { code, .. } => Icmpv6Repr::TimeExceeded { code, quoted },
            Icmpv6Repr::PacketTooBig { mtu, .. } => Icmpv6Repr::PacketTooBig { mtu, quoted },
            Icmpv6Repr::ParamProblem { code, pointer, .. } => Icmpv6Repr::ParamProblem {
                code,
                pointer,
                quoted,
            },
            m => m,
        };
        // icmp6_send: the offending packet's destination when it is ours,
        // else the source selection's for the way back
        let src = if !offending.dst.is_multicast() && self.ip6.holds(offending.dst).is_some() {
            offending.dst
        } else {
            Ipv6Addr::UNSPECIFIED
        };
        let hlim = self.sysctl.int("net.ipv6.conf.all.hop_limit").clamp(1, 255) as u8;
        ctx.trace.step(
            Point::Icmp,
            format!("ICMPv6 {msg} to {}", offending.src),
            Action::Info,
        );
        let r = Ipv6Repr::new(src, offending.src, hlim, 0, L4::Icmp6(msg));
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::SendLocal6 {
            ip: r,
            meta: m,
            note: Some("icmpv6 error".into()),
        });
    }

    /// `icmpv6_xrlim_allow`: an error of net.ipv6.icmp.ratemask's types
    /// (0-1,3-127: not Packet Too Big) to a peer reached off the loopback
    /// takes a token; the timeout is shorter for a peer behind a wider
    /// route ("give more bandwidth to wider prefixes": shifted right by
    /// (128 - prefix length) / 32).
    pub(crate) fn icmp6_xrlim_allow(&mut self, ctx: &Ctx, to: Ipv6Addr, msg: &Icmpv6Repr) -> bool {
        if matches!(msg, Icmpv6Repr::PacketTooBig { .. }) || !msg.is_error() {
            return true;
        }
        let Some(found) = self.ip6.fib.lookup(to) else {
            // no route: ip6_route_output's error, the error is not limited
            // here (it goes nowhere)
            return true;
        };
        let r = &found.route;
        if r.rtype == crate::net::fib::RouteType::Local {
            return true;
        }
        let mut ms = self.sysctl.int("net.ipv6.icmp.ratelimit").max(0) as u64;
        let plen = u32::from(r.dst.prefix_len());
        if plen < 128 {
            ms >>= (128 - plen) >> 5;
        }
        self.peers.xrlim_allow(to.into(), ctx.now, ms * 1_000_000)
    }

    /// `icmpv6_rcv`.
    pub(crate) fn icmp6_rcv(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv6Repr, meta: Meta) {
        let Some(m) = ip.icmp6().cloned() else { return };
        if m.is_ndp() {
            self.ndisc_rcv(ctx, dev, &ip, meta);
            return;
        }
        match &m {
            Icmpv6Repr::EchoRequest { id, seq, data } => {
                ctx.trace.step(
                    Point::Icmp,
                    "echo request: answering (icmpv6_echo_reply)".into(),
                    Action::Info,
                );
                let from = if ip.dst.is_multicast() {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    ip.dst
                };
                let hlim = self.sysctl.int("net.ipv6.conf.all.hop_limit").clamp(1, 255) as u8;
                let reply = Icmpv6Repr::EchoReply {
                    id: *id,
                    seq: *seq,
                    data: data.clone(),
                };
                let r = Ipv6Repr::new(from, ip.src, hlim, 0, L4::Icmp6(reply));
                let nm = ctx.new_meta(meta.flow, Some(meta.pkt));
                ctx.out.push(Output::Served {
                    flow: meta.flow,
                    app: "kernel (ICMPv6 echo)".into(),
                });
                ctx.out.push(Output::SendLocal6 {
                    ip: r,
                    meta: nm,
                    note: Some("icmpv6 echo reply".into()),
                });
            }
            Icmpv6Repr::EchoReply { id, .. } => {
                let Some(owner) = self.icmp_sock(*id) else {
                    ctx.trace.step(
                        Point::Icmp,
                        "echo reply: no ping socket waits for it".into(),
                        Action::Info,
                    );
                    return;
                };
                ctx.trace.step(
                    Point::Icmp,
                    format!("echo reply id {id}: to the ping socket"),
                    Action::Deliver {
                        socket: "ping".into(),
                    },
                );
                let ev = SocketEvent::Icmp6 {
                    from: ip.src,
                    msg: m.clone(),
                    hlim: ip.hop_limit,
                };
                ctx.out.push(Output::SocketNow { owner, ev });
            }
            _ if m.is_error() => self.icmp6_error_rcv(ctx, &ip, &m),
            _ => ctx.trace.step(
                Point::Icmp,
                format!("ICMPv6 {m}: not handled"),
                Action::Info,
            ),
        }
    }

    /// An error received: Packet Too Big lowers the path MTU to the quoted
    /// destination (`icmpv6_notify` -> `ip6_update_pmtu`, never below
    /// 1280), and the error goes to the socket that sent the quoted
    /// packet.
    fn icmp6_error_rcv(&mut self, ctx: &mut Ctx, ip: &Ipv6Repr, m: &Icmpv6Repr) {
        let Some((_, qdst, echo)) = m.quoted().and_then(quoted_echo) else {
            ctx.trace.step(
                Point::Icmp,
                format!("ICMPv6 {m}: the quoted packet is not IPv6"),
                Action::Info,
            );
            return;
        };
        if let Icmpv6Repr::PacketTooBig { mtu, .. } = m {
            let new = (*mtu).max(IPV6_MIN_MTU as u32);
            self.ip6.pmtu.insert(qdst, new);
            ctx.trace.step(
                Point::Icmp,
                format!("packet too big: path MTU to {qdst} is now {new} (rt6_pmtu_discovery)"),
                Action::Info,
            );
        }
        if let Some((qsrc, sport, dport)) = m.quoted().and_then(quoted_tcp) {
            self.tcp_v6_err(ctx, (qsrc.into(), sport, qdst.into(), dport), m);
            return;
        }
        let owner = echo.and_then(|id| self.icmp_sock(id));
        match owner {
            Some(owner) => {
                ctx.trace.step(
                    Point::Icmp,
                    format!("ICMPv6 {m}: to the ping socket"),
                    Action::Deliver {
                        socket: "ping".into(),
                    },
                );
                let ev = SocketEvent::Icmp6 {
                    from: ip.src,
                    msg: m.clone(),
                    hlim: ip.hop_limit,
                };
                ctx.out.push(Output::SocketNow { owner, ev });
            }
            None => ctx.trace.step(
                Point::Icmp,
                format!("ICMPv6 {m} about {qdst}: no socket of the quoted packet"),
                Action::Info,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_echo_reads_a_cut_quote() {
        let ip = Ipv6Repr::new(
            "fd00::1".parse().unwrap(),
            "fd00::2".parse().unwrap(),
            64,
            0,
            L4::Icmp6(Icmpv6Repr::EchoRequest {
                id: 77,
                seq: 1,
                data: vec![0; 2000],
            }),
        );
        let q = Icmpv6Repr::quote(&ip.emit());
        assert!(
            Ipv6Repr::parse(&q).is_err(),
            "a cut quote does not parse whole"
        );
        assert_eq!(
            quoted_echo(&q),
            Some((
                "fd00::1".parse().unwrap(),
                "fd00::2".parse().unwrap(),
                Some(77)
            ))
        );
        assert_eq!(quoted_echo(&q[..39]), None);
    }
}
