//! ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861): typed messages.
//!
//! The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3), so a
//! message is emitted for a source and destination. Error messages quote
//! as much of the offending packet as keeps the error within the minimum
//! MTU, 1280 bytes (RFC 4443 §2.4 (c), `icmp6_send` in net/ipv6/icmp.c).
//!
//! Neighbor Discovery options (RFC 4861 §4.6) are parsed as
//! `ndisc_parse_options` (net/ipv6/ndisc.c) does: a zero length is
//! malformed and the message is dropped; an unknown option is kept and
//! skipped.

use std::fmt;
use std::net::Ipv6Addr;

use super::{Mac, WireError};

pub const DEST_UNREACH: u8 = 1;
pub const PACKET_TOO_BIG: u8 = 2;
pub const TIME_EXCEEDED: u8 = 3;
pub const PARAM_PROBLEM: u8 = 4;
pub const ECHO_REQUEST: u8 = 128;
pub const ECHO_REPLY: u8 = 129;
pub const ROUTER_SOLICIT: u8 = 133;
pub const ROUTER_ADVERT: u8 = 134;
pub const NEIGHBOR_SOLICIT: u8 = 135;
pub const NEIGHBOR_ADVERT: u8 = 136;
pub const REDIRECT: u8 = 137;

/// Destination unreachable codes (RFC 4443 §3.1).
pub const CODE_NOROUTE: u8 = 0;
pub const CODE_ADM_PROHIBITED: u8 = 1;
pub const CODE_BEYOND_SCOPE: u8 = 2;
pub const CODE_ADDR_UNREACH: u8 = 3;
pub const CODE_PORT_UNREACH: u8 = 4;
pub const CODE_POLICY_FAIL: u8 = 5;
pub const CODE_REJECT_ROUTE: u8 = 6;

/// Parameter problem codes (RFC 4443 §3.4).
pub const CODE_HDR_FIELD: u8 = 0;
pub const CODE_UNK_NEXTHDR: u8 = 1;
pub const CODE_UNK_OPTION: u8 = 2;

/// A Neighbor Discovery option (RFC 4861 §4.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NdOpt {
    /// Type 1.
    SourceLla(Mac),
    /// Type 2.
    TargetLla(Mac),
    /// Type 3 (§4.6.2).
    Prefix {
        prefix_len: u8,
        on_link: bool,
        autonomous: bool,
        valid: u32,
        preferred: u32,
        prefix: Ipv6Addr,
    },
    /// Type 4 (§4.6.3): as much of the redirected packet as fits.
    Redirected(Vec<u8>),
    /// Type 5 (§4.6.4).
    Mtu(u32),
    /// Any other type: its bytes after type and length.
    Other { kind: u8, data: Vec<u8> },
}

impl NdOpt {
    fn parse_all(mut b: &[u8]) -> Result<Vec<NdOpt>, WireError> {
        let mut out = Vec::new();
        while !b.is_empty() {
            if b.len() < 2 || b[1] == 0 || b.len() < b[1] as usize * 8 {
                return Err(WireError::Malformed {
                    layer: "ND option",
                    detail: "invalid ND option length (ndisc_parse_options)".into(),
                });
            }
            let len = b[1] as usize * 8;
            let d = &b[2..len];
            let mac = || Mac([d[0], d[1], d[2], d[3], d[4], d[5]]);
            out.push(match (b[0], len) {
                (1, 8) => NdOpt::SourceLla(mac()),
                (2, 8) => NdOpt::TargetLla(mac()),
                (3, 32) => NdOpt::Prefix {
                    prefix_len: d[0],
                    on_link: d[1] & 0x80 != 0,
                    autonomous: d[1] & 0x40 != 0,
                    valid: u32::from_be_bytes([d[2], d[3], d[4], d[5]]),
                    preferred: u32::from_be_bytes([d[6], d[7], d[8], d[9]]),
                    prefix: Ipv6Addr::from(<[u8; 16]>::try_from(&d[14..30]).expect("16")),
                },
                (4, _) => NdOpt::Redirected(d[6..].to_vec()),
                (5, 8) => NdOpt::Mtu(u32::from_be_bytes([d[2], d[3], d[4], d[5]])),
                (kind, _) => NdOpt::Other {
                    kind,
                    data: d.to_vec(),
                },
            });
            b = &b[len..];
        }
        Ok(out)
    }

    fn emit(&self, out: &mut Vec<u8>) {
        let start = out.len();
        match self {
            NdOpt::SourceLla(m) | NdOpt::TargetLla(m) => {
                out.extend_from_slice(&[
                    if matches!(self, NdOpt::SourceLla(_)) {
                        1
                    } else {
                        2
                    },
                    1,
                ]);
                out.extend_from_slice(&m.0);
            }
            NdOpt::Prefix {
                prefix_len,
                on_link,
                autonomous,
                valid,
                preferred,
                prefix,
            } => {
                let flags = (*on_link as u8) << 7 | (*autonomous as u8) << 6;
                out.extend_from_slice(&[3, 4, *prefix_len, flags]);
                out.extend_from_slice(&valid.to_be_bytes());
                out.extend_from_slice(&preferred.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&prefix.octets());
            }
            NdOpt::Redirected(p) => {
                out.extend_from_slice(&[4, 0, 0, 0, 0, 0, 0, 0]);
                out.extend_from_slice(p);
            }
            NdOpt::Mtu(m) => {
                out.extend_from_slice(&[5, 1, 0, 0]);
                out.extend_from_slice(&m.to_be_bytes());
            }
            NdOpt::Other { kind, data } => {
                out.extend_from_slice(&[*kind, 0]);
                out.extend_from_slice(data);
            }
        }
        let len = (out.len() - start).div_ceil(8) * 8;
        out.resize(start + len, 0);
        out[start + 1] = (len / 8) as u8;
    }
}

/// An ICMPv6 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Icmpv6Repr {
    EchoRequest {
        id: u16,
        seq: u16,
        data: Vec<u8>,
    },
    EchoReply {
        id: u16,
        seq: u16,
        data: Vec<u8>,
    },
    /// Destination unreachable (type 1), time exceeded (3): a code and
    /// the quoted packet.
    DstUnreach {
        code: u8,
        quoted: Vec<u8>,
    },
    TimeExceeded {
        code: u8,
        quoted: Vec<u8>,
    },
    /// Packet too big (type 2): the next hop's MTU.
    PacketTooBig {
        mtu: u32,
        quoted: Vec<u8>,
    },
    /// Parameter problem (type 4): the offset of the offending byte.
    ParamProblem {
        code: u8,
        pointer: u32,
        quoted: Vec<u8>,
    },
    RouterSolicit {
        opts: Vec<NdOpt>,
    },
    RouterAdvert {
        cur_hop_limit: u8,
        managed: bool,
        other: bool,
        router_lifetime: u16,
        reachable_time: u32,
        retrans_timer: u32,
        opts: Vec<NdOpt>,
    },
    NeighborSolicit {
        target: Ipv6Addr,
        opts: Vec<NdOpt>,
    },
    NeighborAdvert {
        router: bool,
        solicited: bool,
        override_: bool,
        target: Ipv6Addr,
        opts: Vec<NdOpt>,
    },
    Redirect {
        target: Ipv6Addr,
        dst: Ipv6Addr,
        opts: Vec<NdOpt>,
    },
    /// Anything else (MLD, ...): type, code, bytes 4.. as they came.
    Other {
        icmp_type: u8,
        code: u8,
        body: Vec<u8>,
    },
}

fn addr_at(b: &[u8], o: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&b[o..o + 16]).expect("16 bytes"))
}

impl Icmpv6Repr {
    pub fn parse(b: &[u8]) -> Result<Icmpv6Repr, WireError> {
        if b.len() < 8 {
            return Err(WireError::Truncated(format!(
                "ICMPv6 needs 8 bytes, got {}",
                b.len()
            )));
        }
        let (t, code) = (b[0], b[1]);
        let u16at = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
        let u32at = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let need = |n: usize, what: &str| {
            if b.len() < n {
                Err(WireError::Truncated(format!(
                    "ICMPv6 {what} needs {n} bytes, got {}",
                    b.len()
                )))
            } else {
                Ok(())
            }
        };
        // RFC 4861 §6.1/§7.1: ND messages with code 0 only; others are
        // kept as they came.
        let ndp = (ROUTER_SOLICIT..=REDIRECT).contains(&t) && code == 0;
        Ok(match t {
            ECHO_REQUEST | ECHO_REPLY => {
                let (id, seq, data) = (u16at(4), u16at(6), b[8..].to_vec());
                if t == ECHO_REQUEST {
                    Icmpv6Repr::EchoRequest { id, seq, data }
                } else {
                    Icmpv6Repr::EchoReply { id, seq, data }
                }
            }
            DEST_UNREACH => Icmpv6Repr::DstUnreach {
                code,
                quoted: b[8..].to_vec(),
            },
            TIME_EXCEEDED => Icmpv6Repr::TimeExceeded {
                code,
                quoted: b[8..].to_vec(),
            },
            PACKET_TOO_BIG => Icmpv6Repr::PacketTooBig {
                mtu: u32at(4),
                quoted: b[8..].to_vec(),
            },
            PARAM_PROBLEM => Icmpv6Repr::ParamProblem {
                code,
                pointer: u32at(4),
                quoted: b[8..].to_vec(),
            },
            ROUTER_SOLICIT if ndp => Icmpv6Repr::RouterSolicit {
                opts: NdOpt::parse_all(&b[8..])?,
            },
            ROUTER_ADVERT if ndp => {
                need(16, "router advertisement")?;
                Icmpv6Repr::RouterAdvert {
                    cur_hop_limit: b[4],
                    managed: b[5] & 0x80 != 0,
                    other: b[5] & 0x40 != 0,
                    router_lifetime: u16at(6),
                    reachable_time: u32at(8),
                    retrans_timer: u32at(12),
                    opts: NdOpt::parse_all(&b[16..])?,
                }
            }
            NEIGHBOR_SOLICIT if ndp => {
                need(24, "neighbor solicitation")?;
                Icmpv6Repr::NeighborSolicit {
                    target: addr_at(b, 8),
                    opts: NdOpt::parse_all(&b[24..])?,
                }
            }
            NEIGHBOR_ADVERT if ndp => {
                need(24, "neighbor advertisement")?;
                Icmpv6Repr::NeighborAdvert {
                    router: b[4] & 0x80 != 0,
                    solicited: b[4] & 0x40 != 0,
                    override_: b[4] & 0x20 != 0,
                    target: addr_at(b, 8),
                    opts: NdOpt::parse_all(&b[24..])?,
                }
            }
            REDIRECT if ndp => {
                need(40, "redirect")?;
                Icmpv6Repr::Redirect {
                    target: addr_at(b, 8),
                    dst: addr_at(b, 24),
                    opts: NdOpt::parse_all(&b[40..])?,
                }
            }
            _ => Icmpv6Repr::Other {
                icmp_type: t,
                code,
                body: b[4..].to_vec(),
            },
        })
    }

    /// Type and code.
    pub fn kind(&self) -> (u8, u8) {
        match self {
            Icmpv6Repr::EchoRequest { .. } => (ECHO_REQUEST, 0),
            Icmpv6Repr::EchoReply { .. } => (ECHO_REPLY, 0),
            Icmpv6Repr::DstUnreach { code, .. } => (DEST_UNREACH, *code),
            Icmpv6Repr::TimeExceeded { code, .. } => (TIME_EXCEEDED, *code),
            Icmpv6Repr::PacketTooBig { .. } => (PACKET_TOO_BIG, 0),
            Icmpv6Repr::ParamProblem { code, .. } => (PARAM_PROBLEM, *code),
            Icmpv6Repr::RouterSolicit { .. } => (ROUTER_SOLICIT, 0),
            Icmpv6Repr::RouterAdvert { .. } => (ROUTER_ADVERT, 0),
            Icmpv6Repr::NeighborSolicit { .. } => (NEIGHBOR_SOLICIT, 0),
            Icmpv6Repr::NeighborAdvert { .. } => (NEIGHBOR_ADVERT, 0),
            Icmpv6Repr::Redirect { .. } => (REDIRECT, 0),
            Icmpv6Repr::Other {
                icmp_type, code, ..
            } => (*icmp_type, *code),
        }
    }

    /// The message's bytes with the checksum over the pseudo-header of
    /// `src` and `dst` (RFC 4443 §2.3).
    pub fn emit(&self, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
        let (t, code) = self.kind();
        let mut out = vec![t, code, 0, 0];
        let opts = |out: &mut Vec<u8>, o: &[NdOpt]| o.iter().for_each(|x| x.emit(out));
        match self {
            Icmpv6Repr::EchoRequest { id, seq, data } | Icmpv6Repr::EchoReply { id, seq, data } => {
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(data);
            }
            Icmpv6Repr::DstUnreach { quoted, .. } | Icmpv6Repr::TimeExceeded { quoted, .. } => {
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(quoted);
            }
            Icmpv6Repr::PacketTooBig { mtu: n, quoted }
            | Icmpv6Repr::ParamProblem {
                pointer: n, quoted, ..
            } => {
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(quoted);
            }
            Icmpv6Repr::RouterSolicit { opts: o } => {
                out.extend_from_slice(&[0; 4]);
                opts(&mut out, o);
            }
            Icmpv6Repr::RouterAdvert {
                cur_hop_limit,
                managed,
                other,
                router_lifetime,
                reachable_time,
                retrans_timer,
                opts: o,
            } => {
                out.extend_from_slice(&[
                    *cur_hop_limit,
                    (*managed as u8) << 7 | (*other as u8) << 6,
                ]);
                out.extend_from_slice(&router_lifetime.to_be_bytes());
                out.extend_from_slice(&reachable_time.to_be_bytes());
                out.extend_from_slice(&retrans_timer.to_be_bytes());
                opts(&mut out, o);
            }
            Icmpv6Repr::NeighborSolicit { target, opts: o } => {
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&target.octets());
                opts(&mut out, o);
            }
            Icmpv6Repr::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                opts: o,
            } => {
                let f = (*router as u8) << 7 | (*solicited as u8) << 6 | (*override_ as u8) << 5;
                out.extend_from_slice(&[f, 0, 0, 0]);
                out.extend_from_slice(&target.octets());
                opts(&mut out, o);
            }
            Icmpv6Repr::Redirect {
                target,
                dst: d,
                opts: o,
            } => {
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&target.octets());
                out.extend_from_slice(&d.octets());
                opts(&mut out, o);
            }
            Icmpv6Repr::Other { body, .. } => out.extend_from_slice(body),
        }
        let c = checksum(src, dst, &out);
        out[2..4].copy_from_slice(&c.to_be_bytes());
        out
    }

    pub fn is_error(&self) -> bool {
        // RFC 4443 §2.1: types 0 to 127 are errors.
        self.kind().0 < 128
    }

    pub fn is_ndp(&self) -> bool {
        matches!(
            self,
            Icmpv6Repr::RouterSolicit { .. }
                | Icmpv6Repr::RouterAdvert { .. }
                | Icmpv6Repr::NeighborSolicit { .. }
                | Icmpv6Repr::NeighborAdvert { .. }
                | Icmpv6Repr::Redirect { .. }
        )
    }

    /// The echo identifier (conntrack's key for echo request/reply).
    pub fn echo_id(&self) -> Option<u16> {
        match self {
            Icmpv6Repr::EchoRequest { id, .. } | Icmpv6Repr::EchoReply { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The packet an error quotes.
    pub fn quoted(&self) -> Option<&[u8]> {
        match self {
            Icmpv6Repr::DstUnreach { quoted, .. }
            | Icmpv6Repr::TimeExceeded { quoted, .. }
            | Icmpv6Repr::PacketTooBig { quoted, .. }
            | Icmpv6Repr::ParamProblem { quoted, .. } => Some(quoted),
            _ => None,
        }
    }

    /// The quoted packet of an error, to rewrite (NAT of a RELATED error).
    pub fn quoted_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Icmpv6Repr::DstUnreach { quoted, .. }
            | Icmpv6Repr::TimeExceeded { quoted, .. }
            | Icmpv6Repr::PacketTooBig { quoted, .. }
            | Icmpv6Repr::ParamProblem { quoted, .. } => Some(quoted),
            _ => None,
        }
    }

    /// The options of an ND message.
    pub fn nd_opts(&self) -> &[NdOpt] {
        match self {
            Icmpv6Repr::RouterSolicit { opts }
            | Icmpv6Repr::RouterAdvert { opts, .. }
            | Icmpv6Repr::NeighborSolicit { opts, .. }
            | Icmpv6Repr::NeighborAdvert { opts, .. }
            | Icmpv6Repr::Redirect { opts, .. } => opts,
            _ => &[],
        }
    }

    /// The link-layer address an ND message carries (source for RS, RA,
    /// NS; target for NA and redirect).
    pub fn lladdr(&self) -> Option<Mac> {
        self.nd_opts().iter().find_map(|o| match o {
            NdOpt::SourceLla(m) | NdOpt::TargetLla(m) => Some(*m),
            _ => None,
        })
    }

    /// How much of `offending` an error quotes: what keeps the whole
    /// error, IPv6 header (40) and ICMPv6 header (8) included, within 1280
    /// bytes (`icmp6_send`: `len = min(skb->len, IPV6_MIN_MTU - sizeof
    /// (ipv6hdr) - sizeof(icmp6hdr))`).
    pub fn quote(offending: &[u8]) -> Vec<u8> {
        offending[..offending.len().min(super::IPV6_MIN_MTU - 48)].to_vec()
    }
}

/// The ICMPv6 checksum: RFC 1071 over the pseudo-header (source,
/// destination, upper-layer length, next header 58) and the message.
pub fn checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    // Next Header 58 (ipv6.rs's NEXTHDR_ICMPV6)
    super::pseudo_checksum(src, dst, 58, msg)
}

impl fmt::Display for NdOpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdOpt::SourceLla(m) => write!(f, "source link-address {m}"),
            NdOpt::TargetLla(m) => write!(f, "target link-address {m}"),
            NdOpt::Prefix {
                prefix_len,
                prefix,
                valid,
                preferred,
                on_link,
                autonomous,
            } => {
                write!(f, "prefix info {prefix}/{prefix_len}")?;
                let flags: String = [(*on_link, 'L'), (*autonomous, 'A')]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, c)| *c)
                    .collect();
                if !flags.is_empty() {
                    write!(f, " [{flags}]")?;
                }
                write!(f, " valid {valid}s pref {preferred}s")
            }
            NdOpt::Redirected(p) => write!(f, "redirected header len {}", p.len()),
            NdOpt::Mtu(m) => write!(f, "mtu {m}"),
            NdOpt::Other { kind, data } => write!(f, "option {kind} len {}", data.len() + 2),
        }
    }
}

impl fmt::Display for Icmpv6Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tcpdump's wording (print-icmp6.c), shortened.
        match self {
            Icmpv6Repr::EchoRequest { id, seq, .. } => write!(f, "echo request id {id} seq {seq}"),
            Icmpv6Repr::EchoReply { id, seq, .. } => write!(f, "echo reply id {id} seq {seq}"),
            Icmpv6Repr::DstUnreach { code, .. } => f.write_str(match *code {
                CODE_NOROUTE => "unreachable route",
                CODE_ADM_PROHIBITED => "unreachable prohibited",
                CODE_BEYOND_SCOPE => "unreachable beyond scope",
                CODE_ADDR_UNREACH => "unreachable address",
                CODE_PORT_UNREACH => "unreachable port",
                CODE_POLICY_FAIL => "unreachable failed policy",
                CODE_REJECT_ROUTE => "unreachable reject route",
                _ => "unreachable",
            }),
            Icmpv6Repr::TimeExceeded { code: 1, .. } => {
                write!(f, "time exceeded in-reassembly")
            }
            Icmpv6Repr::TimeExceeded { .. } => write!(f, "time exceeded in-transit"),
            Icmpv6Repr::PacketTooBig { mtu, .. } => write!(f, "packet too big, mtu {mtu}"),
            Icmpv6Repr::ParamProblem { code, pointer, .. } => {
                let what = match *code {
                    CODE_HDR_FIELD => "header field",
                    CODE_UNK_NEXTHDR => "next header",
                    CODE_UNK_OPTION => "option",
                    _ => "code",
                };
                write!(f, "parameter problem, {what} at offset {pointer}")
            }
            Icmpv6Repr::RouterSolicit { .. } => write!(f, "router solicitation"),
            Icmpv6Repr::RouterAdvert {
                router_lifetime, ..
            } => write!(f, "router advertisement, lifetime {router_lifetime}s"),
            Icmpv6Repr::NeighborSolicit { target, .. } => {
                write!(f, "neighbor solicitation, who has {target}")
            }
            Icmpv6Repr::NeighborAdvert {
                target,
                router,
                solicited,
                override_,
                ..
            } => {
                write!(f, "neighbor advertisement, tgt is {target}")?;
                let flags: Vec<&str> = [
                    (*router, "router"),
                    (*solicited, "solicited"),
                    (*override_, "override"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, s)| *s)
                .collect();
                if !flags.is_empty() {
                    write!(f, " [{}]", flags.join(", "))?;
                }
                Ok(())
            }
            Icmpv6Repr::Redirect { target, dst, .. } => {
                write!(f, "redirect, {dst} to {target}")
            }
            Icmpv6Repr::Other {
                icmp_type, code, ..
            } => match icmp_type {
                130 => write!(f, "multicast listener query"),
                131 => write!(f, "multicast listener report"),
                143 => write!(f, "multicast listener report v2"),
                _ => write!(f, "type {icmp_type} code {code}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// Every message re-parses to itself, and its checksum sums to zero
    /// over the pseudo-header it was emitted for.
    fn check(m: Icmpv6Repr) {
        let (s, d) = (a("fe80::1"), a("ff02::1:ff00:2"));
        let b = m.emit(s, d);
        assert_eq!(checksum(s, d, &b), 0, "{m}");
        assert_ne!(checksum(a("fe80::3"), d, &b), 0);
        assert_eq!(Icmpv6Repr::parse(&b).unwrap(), m);
    }

    #[test]
    fn every_message_roundtrips() {
        let mac = Mac::parse("02:42:ac:11:00:02").unwrap();
        let pkt = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
        for m in [
            Icmpv6Repr::EchoRequest {
                id: 7,
                seq: 1,
                data: b"ping".to_vec(),
            },
            Icmpv6Repr::EchoReply {
                id: 7,
                seq: 1,
                data: vec![],
            },
            Icmpv6Repr::DstUnreach {
                code: CODE_PORT_UNREACH,
                quoted: pkt.clone(),
            },
            Icmpv6Repr::TimeExceeded {
                code: 0,
                quoted: pkt.clone(),
            },
            Icmpv6Repr::PacketTooBig {
                mtu: 1450,
                quoted: pkt.clone(),
            },
            Icmpv6Repr::ParamProblem {
                code: CODE_UNK_NEXTHDR,
                pointer: 6,
                quoted: pkt.clone(),
            },
            Icmpv6Repr::RouterSolicit {
                opts: vec![NdOpt::SourceLla(mac)],
            },
            Icmpv6Repr::RouterAdvert {
                cur_hop_limit: 64,
                managed: false,
                other: true,
                router_lifetime: 1800,
                reachable_time: 0,
                retrans_timer: 0,
                opts: vec![
                    NdOpt::SourceLla(mac),
                    NdOpt::Mtu(1500),
                    NdOpt::Prefix {
                        prefix_len: 64,
                        on_link: true,
                        autonomous: true,
                        valid: 86400,
                        preferred: 14400,
                        prefix: a("2001:db8:1::"),
                    },
                ],
            },
            Icmpv6Repr::NeighborSolicit {
                target: a("fd00::2"),
                opts: vec![NdOpt::SourceLla(mac)],
            },
            // DAD: from ::, no source link-layer option (RFC 4862 §5.4.2)
            Icmpv6Repr::NeighborSolicit {
                target: a("fe80::42:acff:fe11:2"),
                opts: vec![],
            },
            Icmpv6Repr::NeighborAdvert {
                router: true,
                solicited: true,
                override_: false,
                target: a("fd00::2"),
                opts: vec![NdOpt::TargetLla(mac)],
            },
            Icmpv6Repr::Redirect {
                target: a("fe80::9"),
                dst: a("fd00:1::5"),
                opts: vec![NdOpt::TargetLla(mac), NdOpt::Redirected(vec![0; 48])],
            },
            Icmpv6Repr::Other {
                icmp_type: 143,
                code: 0,
                body: vec![0, 0, 0, 0],
            },
        ] {
            check(m);
        }
    }

    #[test]
    fn nd_fields_sit_where_rfc_4861_puts_them() {
        let mac = Mac::parse("02:42:ac:11:00:02").unwrap();
        let m = Icmpv6Repr::NeighborAdvert {
            router: false,
            solicited: true,
            override_: true,
            target: a("fd00::2"),
            opts: vec![NdOpt::TargetLla(mac)],
        };
        let b = m.emit(a("fd00::2"), a("fd00::1"));
        assert_eq!(b.len(), 32);
        assert_eq!(b[0], 136);
        assert_eq!(b[4], 0x60);
        assert_eq!(&b[8..24], &a("fd00::2").octets());
        assert_eq!(&b[24..26], &[2, 1]);
        assert_eq!(&b[26..32], &mac.0);
        assert_eq!(m.lladdr(), Some(mac));
        assert_eq!(
            m.to_string(),
            "neighbor advertisement, tgt is fd00::2 [solicited, override]"
        );
    }

    #[test]
    fn a_zero_length_option_is_refused_as_ndisc_does() {
        let mut b = Icmpv6Repr::NeighborSolicit {
            target: a("fd00::2"),
            opts: vec![],
        }
        .emit(a("fd00::1"), a("ff02::1:ff00:2"));
        b.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        let e = Icmpv6Repr::parse(&b).unwrap_err();
        assert!(e.to_string().contains("ND option"), "{e}");
        for n in 0..b.len() {
            let _ = Icmpv6Repr::parse(&b[..n]);
        }
    }

    #[test]
    fn errors_quote_at_most_what_fits_in_1280_bytes() {
        let q = Icmpv6Repr::quote(&[0u8; 2000]);
        assert_eq!(q.len(), 1232);
        assert_eq!(40 + 8 + q.len(), 1280);
        assert_eq!(Icmpv6Repr::quote(&[1, 2]).len(), 2);
    }
}
