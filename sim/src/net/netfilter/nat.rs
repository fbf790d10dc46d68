//! NAT (net/netfilter/nf_nat_core.c): the binding a new connection's NAT
//! target chooses (`nf_nat_setup_info`, port clash resolution,
//! `--random-fully`) and the rewrite of every packet of it
//! (`nf_nat_manip_pkt`), ICMP errors' quoted packets included.

use std::net::{IpAddr, Ipv4Addr};

use crate::net::host::{Ctx, Host};
use crate::net::netfilter::conntrack::{Dir, Tuple};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::{HookOutcome, Target};
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::{Ipv4Repr, L4};

/// Why a NAT target cannot bind a new connection: there is no address to
/// rewrite to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NatError {
    /// REDIRECT of a packet whose incoming device has no address.
    #[error("REDIRECT: incoming device has no address")]
    RedirectNoAddress,
    /// MASQUERADE out of a device (`dev`) with no address to masquerade as.
    #[error("MASQUERADE: {dev} has no address to masquerade as")]
    MasqueradeNoAddress { dev: String },
}

impl Host {
    /// Takes the NAT decision of one manip type for a new connection
    /// (`nf_nat_setup_info`), from the nat table's outcome.
    pub(crate) fn nat_setup(
        &mut self,
        ctx: &mut Ctx,
        ct: &CtInfo,
        out: &HookOutcome,
        src_manip: bool,
        dev: Option<usize>,
        nexthop: Option<Ipv4Addr>,
    ) -> Result<(), NatError> {
        let Some(id) = ct.id else { return Ok(()) };
        let c = self.ct.get(id).expect("live").clone();
        let mut reply = c.reply;
        match (&out.nat, src_manip) {
            (Some(Target::Dnat { to, random, .. }), false) => {
                let addr = pick_addr(to.addr_lo, to.addr_hi, *random, &mut self.rng, &c.orig)
                    .unwrap_or(c.orig.dst);
                reply.src = addr;
                if let Some((lo, hi)) = to.ports {
                    reply.sport = if lo == hi {
                        lo
                    } else {
                        lo + (crate::det::stable_hash(&c.orig.sport.to_be_bytes())
                            % (hi - lo + 1) as u64) as u16
                    };
                }
            }
            (Some(Target::Redirect { ports }), false) => {
                // REDIRECT: to the primary address of the incoming device, or
                // 127.0.0.1 for locally generated packets; for IPv6
                // (nf_nat_redirect_ipv6) the device's first usable address,
                // global scope first, or ::1
                let addr: Option<IpAddr> = match (dev, c.orig.src) {
                    (Some(d), IpAddr::V4(_)) => self.devs[d].addrs.first().map(|a| a.addr().into()),
                    (None, IpAddr::V4(_)) => Some(Ipv4Addr::LOCALHOST.into()),
                    (Some(d), IpAddr::V6(_)) => self.ip6.addrs.get(&d).and_then(|v| {
                        let mut v: Vec<_> = v.iter().filter(|a| a.usable()).collect();
                        v.sort_by_key(|a| std::cmp::Reverse(a.scope()));
                        v.first().map(|a| a.addr().into())
                    }),
                    (None, IpAddr::V6(_)) => Some(std::net::Ipv6Addr::LOCALHOST.into()),
                };
                let Some(addr) = addr else {
                    return Err(NatError::RedirectNoAddress);
                };
                reply.src = addr;
                if let Some((lo, _)) = ports {
                    reply.sport = *lo;
                }
            }
            (
                Some(Target::Snat {
                    to,
                    random,
                    random_fully,
                    ..
                }),
                true,
            ) => {
                let addr = pick_addr(to.addr_lo, to.addr_hi, *random, &mut self.rng, &c.orig)
                    .unwrap_or(c.orig.src);
                reply.dst = addr;
                reply.dport =
                    self.nat_unique_port(&c.orig, reply, to.ports, *random_fully, ctx.now);
            }
            (
                Some(Target::Masquerade {
                    ports,
                    random_fully,
                    ..
                }),
                true,
            ) => {
                let d = dev.expect("POSTROUTING has an output device");
                // IPv4: inet_select_addr towards the next hop; IPv6
                // (nf_nat_masquerade_ipv6): ipv6_dev_get_saddr for the
                // packet's destination (after any DNAT)
                let addr: Option<IpAddr> = match c.reply.src {
                    IpAddr::V4(_) => self
                        .select_src(d, nexthop.unwrap_or(c.orig.dst4()))
                        .map(Into::into),
                    IpAddr::V6(to) => self.ip6_saddr(to, Some(d)).map(Into::into),
                };
                let Some(addr) = addr else {
                    return Err(NatError::MasqueradeNoAddress {
                        dev: self.devs[d].name.clone(),
                    });
                };
                reply.dst = addr;
                reply.dport = self.nat_unique_port(&c.orig, reply, *ports, *random_fully, ctx.now);
            }
            _ => {}
        }
        self.nat_bind(id, reply, src_manip, out);
        Ok(())
    }

    /// A NAT binding made: the reply tuple set, the manip type marked
    /// done, and the rule that made it kept for the trace.
    pub(crate) fn nat_bind(&mut self, id: u64, reply: Tuple, src_manip: bool, out: &HookOutcome) {
        let changed = self.ct.get(id).is_some_and(|c| c.reply != reply);
        if changed {
            self.ct.set_reply(id, reply);
        }
        if let Some(c) = self.ct.get_mut(id) {
            if src_manip {
                c.src_nat_done = true;
            } else {
                c.dst_nat_done = true;
            }
            if changed {
                c.nat_by[usize::from(!src_manip)] = out.steps.last().map(|s| {
                    if s.rule == 0 {
                        s.chain_label()
                    } else {
                        format!("{} #{}: {}", s.chain_label(), s.rule, s.text)
                    }
                });
            }
        }
    }

    /// `nf_nat_l4proto_unique_tuple`: keep the source port when the resulting
    /// reply tuple is free (and no range or --random-fully forces a choice);
    /// otherwise search the range from an offset (a hash of the tuple, or a
    /// seeded random draw with --random-fully).
    pub(crate) fn nat_unique_port(
        &mut self,
        orig: &Tuple,
        mut reply: Tuple,
        range: Option<(u16, u16)>,
        random_fully: bool,
        now: u64,
    ) -> u16 {
        if orig.proto != 6 && orig.proto != 17 && orig.proto != 132 {
            return reply.dport;
        }
        let sport = orig.sport;
        let in_range = range.is_none_or(|(lo, hi)| (lo..=hi).contains(&sport));
        reply.dport = sport;
        if in_range && !random_fully && !self.ct.tuple_taken(&reply, now) {
            return sport;
        }
        let (lo, hi) = range.unwrap_or(if sport < 512 {
            (1, 511)
        } else if sport < 1024 {
            (600, 1023)
        } else {
            (1024, 65535)
        });
        let size = (hi - lo) as u32 + 1;
        let off = if random_fully {
            rand_core::Rng::next_u32(&mut self.rng)
        } else {
            let mut b = Vec::new();
            let addr = |a: IpAddr, b: &mut Vec<u8>| match a {
                IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
            };
            addr(orig.src, &mut b);
            addr(orig.dst, &mut b);
            b.extend_from_slice(&orig.dport.to_be_bytes());
            addr(reply.dst, &mut b);
            crate::det::stable_hash(&b) as u32
        };
        for i in 0..size {
            let p = lo + ((off.wrapping_add(i)) % size) as u16;
            reply.dport = p;
            if !self.ct.tuple_taken(&reply, now) {
                return p;
            }
        }
        sport
    }

    /// Rewrites the packet to its connection's NAT target (`nf_nat_manip_pkt`)
    /// for one manip type, and for a RELATED ICMP error the quoted packet too.
    pub(crate) fn nat_manip(
        &mut self,
        ctx: &mut Ctx,
        ip: &mut Ipv4Repr,
        ct: &CtInfo,
        src_manip: bool,
    ) {
        let (Some(id), Some(dir)) = (ct.id, ct.dir) else {
            return;
        };
        let Some(c) = self.ct.get(id) else { return };
        let t = c.target(dir);
        // compared as numbers, written out only when they differ (every
        // packet of a NATed connection passes here)
        let endpoint = |ip: &Ipv4Repr| {
            if src_manip {
                (ip.src(), ip.ports().map(|p| p.0))
            } else {
                (ip.dst(), ip.ports().map(|p| p.1))
            }
        };
        let before_ep = endpoint(ip);
        if ct.related {
            // nf_nat_icmp_reply_translation: only when the connection has
            // the NAT this hook does (source manip: SNAT, inverted for the
            // reply direction).
            let want_snat = src_manip == (dir == Dir::Original);
            let has = if want_snat { c.snat() } else { c.dnat() };
            if !has {
                return;
            }
            // Outer header: like the reply to an incoming packet.
            if src_manip {
                ip.set_src(t.src4());
            } else {
                ip.set_dst(t.dst4());
            }
            // Quoted packet travels the other way: undo its NAT too.
            if let L4::Icmp(i) = &mut ip.l4 {
                let qt = c.target(dir).invert();
                rewrite_quoted(&mut i.payload, &qt, src_manip);
            }
        } else if src_manip {
            ip.set_src(t.src4());
            set_l4_port(ip, true, t.sport);
        } else {
            ip.set_dst(t.dst4());
            set_l4_port(ip, false, t.dport);
        }
        if before_ep != endpoint(ip) {
            let before = fmt_endpoint(before_ep);
            let after = ip_endpoint(ip, src_manip);
            // the packet that made the binding names what made it
            let by = if ct.created && dir == Dir::Original {
                c.nat_by[usize::from(!src_manip)].clone()
            } else {
                None
            };
            let (point, action) = if src_manip {
                (
                    Point::Nat,
                    Action::Snat {
                        from: before.clone(),
                        to: after.clone(),
                        reply: dir == Dir::Reply,
                        by,
                    },
                )
            } else {
                (
                    Point::Nat,
                    Action::Dnat {
                        from: before.clone(),
                        to: after.clone(),
                        reply: dir == Dir::Reply,
                        by,
                    },
                )
            };
            let kind = match (src_manip, dir) {
                (true, Dir::Original) => "SNAT",
                (false, Dir::Original) => "DNAT",
                (true, Dir::Reply) => "reverse DNAT (reply source restored)",
                (false, Dir::Reply) => "reverse SNAT (reply destination restored)",
            };
            ctx.trace
                .step(point, format!("{kind}: {before} -> {after}"), action);
        }
    }

    pub(crate) fn needs_nat(&self, ct: &CtInfo, src_manip: bool) -> bool {
        match (ct.id, ct.related) {
            (Some(id), false) => self.ct.get(id).is_some_and(|c| {
                if src_manip {
                    !c.src_nat_done
                } else {
                    !c.dst_nat_done
                }
            }),
            _ => false,
        }
    }
}

/// Rewrites the quoted packet of an ICMP error to `t` (its header checksum is
/// recomputed; the quoted transport checksum is left, as only 8 bytes are
/// quoted and the kernel adjusts it incrementally).
pub(crate) fn rewrite_quoted(q: &mut [u8], t: &Tuple, src_manip: bool) {
    if q.len() < 20 {
        return;
    }
    let ihl = ((q[0] & 0x0f) as usize) * 4;
    // The quoted packet travelled the other way: SRC manip of the error is DST
    // manip of the quoted packet, and vice versa.
    if src_manip {
        q[16..20].copy_from_slice(&t.dst4().octets());
        if q.len() >= ihl + 4 && matches!(q[9], 6 | 17 | 132) {
            q[ihl + 2..ihl + 4].copy_from_slice(&t.dport.to_be_bytes());
        }
    } else {
        q[12..16].copy_from_slice(&t.src4().octets());
        if q.len() >= ihl + 4 && matches!(q[9], 6 | 17 | 132) {
            q[ihl..ihl + 2].copy_from_slice(&t.sport.to_be_bytes());
        }
    }
    q[10] = 0;
    q[11] = 0;
    let c = crate::wire::internet_checksum(&q[..ihl.min(q.len())]);
    q[10..12].copy_from_slice(&c.to_be_bytes());
}

pub(crate) fn set_l4_port(ip: &mut Ipv4Repr, src: bool, p: u16) {
    match &mut ip.l4 {
        // SCTP (raw bytes): nf_nat_proto.c sctp_manip_pkt, the CRC32c
        // recomputed by set_sport/set_dport
        L4::Tcp { .. } | L4::Udp { .. } | L4::Raw(_) => {
            if src {
                ip.set_sport(p)
            } else {
                ip.set_dport(p)
            }
        }
        L4::Icmp(i) if matches!(i.icmp_type, icmp::ECHO_REQUEST | icmp::ECHO_REPLY) => {
            i.rest[0..2].copy_from_slice(&p.to_be_bytes());
        }
        _ => {}
    }
}

pub(crate) fn ip_endpoint(ip: &Ipv4Repr, src: bool) -> String {
    fmt_endpoint(if src {
        (ip.src(), ip.ports().map(|p| p.0))
    } else {
        (ip.dst(), ip.ports().map(|p| p.1))
    })
}

/// `ADDR:PORT`, or `ADDR` for a protocol without ports.
fn fmt_endpoint((a, p): (Ipv4Addr, Option<u16>)) -> String {
    match p {
        Some(p) => format!("{a}:{p}"),
        None => a.to_string(),
    }
}

/// An address of a NAT range (`find_best_ips_proto`), of either family.
pub(crate) fn pick_addr(
    lo: Option<IpAddr>,
    hi: Option<IpAddr>,
    random: bool,
    rng: &mut rand_chacha::ChaCha8Rng,
    orig: &Tuple,
) -> Option<IpAddr> {
    let lo = lo?;
    let hi = hi.unwrap_or(lo);
    let num = |x: IpAddr| match x {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let (a, b) = (num(lo), num(hi));
    if b <= a || lo.is_ipv4() != hi.is_ipv4() {
        return Some(lo);
    }
    let span = (b - a).saturating_add(1);
    let off = if random {
        u128::from(rand_core::Rng::next_u32(rng))
    } else {
        // find_best_ips_proto: a hash of the source (and destination unless
        // persistent) picks the address, so a client keeps its address.
        let mut k = Vec::new();
        for x in [orig.src, orig.dst] {
            match x {
                IpAddr::V4(x) => k.extend_from_slice(&x.octets()),
                IpAddr::V6(x) => k.extend_from_slice(&x.octets()),
            }
        }
        u128::from(crate::det::stable_hash(&k))
    };
    let n = a + off % span;
    Some(match lo {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(n)),
    })
}
