//! Conntrack at the hooks (`nf_conntrack_in`): the packet's tuple, its
//! entry found or made, and its view at the hooks ([`CtInfo`]).

use std::net::Ipv4Addr;

use crate::net::host::{Ctx, Host};
use crate::net::netfilter::conntrack::{Dir, Tuple};
use crate::net::netfilter::ctbits;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::{Ipv4Repr, L4};

/// Why conntrack drops a packet it cannot track.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConntrackError {
    /// The table holds `nf_conntrack_max` (`max`) entries and none can go
    /// (`nf_conntrack_alloc`'s "table full, dropping packet").
    #[error("nf_conntrack: table full ({max} entries), dropping packet")]
    TableFull { max: usize },
}

/// The packet's conntrack view at a hook.
#[derive(Clone, Copy, Debug, Default)]
pub struct CtInfo {
    pub id: Option<u64>,
    pub dir: Option<Dir>,
    pub bits: u8,
    /// Created by this packet (removed again if the packet dies).
    pub created: bool,
    pub related: bool,
}

impl Host {
    /// An ICMP error: RELATED to the connection it quotes, else INVALID;
    /// None for any other packet.
    fn ct_related(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr) -> Option<CtInfo> {
        match &ip.l4 {
            L4::Icmp(i) if i.is_error() => Some(self.ct_related_to(ctx, quoted_tuple(&i.payload))),
            _ => None,
        }
    }

    /// An ICMP or ICMPv6 error quoting `inner`: RELATED to its connection
    /// (`icmp_error_message`, `icmpv6_error_message`), else INVALID.
    fn ct_related_to(&mut self, ctx: &mut Ctx, inner: Option<Tuple>) -> CtInfo {
        let now = ctx.now;
        if let Some(inner) = inner {
            let found = self
                .ct
                .lookup(&inner.invert(), now)
                .or_else(|| self.ct.lookup(&inner, now).map(|(id, d)| (id, flip(d))));
            if let Some((id, dir)) = found {
                let c = self.ct.get(id).expect("live");
                let bits = ctbits::RELATED
                    | (if c.dnat() { ctbits::DNAT } else { 0 })
                    | (if c.snat() { ctbits::SNAT } else { 0 });
                ctx.trace.step(
                    Point::Conntrack,
                    format!("RELATED to {} ({})", c.orig, dir_name(dir)),
                    Action::Conntrack {
                        state: "RELATED".into(),
                        tuple: c.orig.to_string(),
                    },
                );
                return CtInfo {
                    id: Some(id),
                    dir: Some(dir),
                    bits,
                    created: false,
                    related: true,
                };
            }
        }
        ctx.trace.step(
            Point::Conntrack,
            "ICMP error for no known connection: INVALID".into(),
            Action::Conntrack {
                state: "INVALID".into(),
                tuple: String::new(),
            },
        );
        CtInfo {
            bits: ctbits::INVALID,
            ..Default::default()
        }
    }

    /// `nf_conntrack_in` for an IPv6 packet (nf_conntrack_proto_icmpv6.c
    /// for ICMPv6: an error is RELATED to the connection it quotes, only
    /// an echo request may start one; Neighbor Discovery and MLD never get
    /// here: the hook leaves them untracked, as `nf_conntrack_icmpv6_error`
    /// does).
    /// Simplification: a fragment is tracked by its own header, not after
    /// reassembly (nf_defrag_ipv6).
    pub(crate) fn ct_in6(
        &mut self,
        ctx: &mut Ctx,
        ip: &crate::wire::Ipv6Repr,
    ) -> Result<CtInfo, ConntrackError> {
        use crate::wire::Icmpv6Repr as M;
        let (sport, dport) = match &ip.l4 {
            L4::Icmp6(M::EchoRequest { id, .. } | M::EchoReply { id, .. }) => (*id, *id),
            L4::Icmp6(m) if m.is_error() => {
                let inner = m.quoted().and_then(quoted_tuple6);
                return Ok(self.ct_related_to(ctx, inner));
            }
            L4::Icmp6(_) => (0, 0),
            _ => ip.ports().unwrap_or((0, 0)),
        };
        let t = Tuple {
            proto: ip.proto,
            src: ip.src.into(),
            sport,
            dst: ip.final_dst().into(),
            dport,
        };
        let flags = match &ip.l4 {
            L4::Tcp { hdr, .. } => Some(crate::wire::tcp_flag_bits(hdr)),
            _ => None,
        };
        // icmpv6_new: only an echo request (or a node information query)
        // starts a connection
        let not_new = matches!(&ip.l4, L4::Icmp6(m) if !matches!(m, M::EchoRequest { .. }));
        self.ct_track(ctx, t, flags, None, not_new, ip.total_len())
    }

    /// `nf_conntrack_in`: finds or creates the connection of a packet.
    pub(crate) fn ct_in(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr) -> Result<CtInfo, ConntrackError> {
        let now = ctx.now;
        // ICMP errors belong to the connection they quote (RELATED).
        if let Some(c) = self.ct_related(ctx, ip) {
            return Ok(c);
        }
        let t = packet_tuple(ip);
        let flags = ip.tcp_flags();
        // the SCTP tracker reads the chunks of a whole packet (the kernel
        // defragments before conntrack); a fragment podpath carries as
        // such is tracked by its tuple alone
        let whole = ip.hdr.fragment_offset.value() == 0 && !ip.hdr.more_fragments;
        let sctp = (ip.proto() == crate::wire::sctp::PROTO_SCTP && whole)
            .then(|| ip.sctp())
            .map(|p| p.ok_or("malformed chunks"));
        // nf_conntrack_proto_icmp.c icmp_new's valid_new: echo,
        // timestamp (info and address mask requests: not sent here)
        let not_new = matches!(&ip.l4, L4::Icmp(i)
            if !matches!(i.icmp_type, icmp::ECHO_REQUEST | icmp::TIMESTAMP));
        let _ = now;
        self.ct_track(ctx, t, flags, sctp, not_new, ip.total_len())
    }

    /// The family-neutral part of `nf_conntrack_in`: the entry of tuple
    /// `t` found and updated, or made for a packet that may start one
    /// (`not_new`: an ICMP message that may not), else INVALID.
    fn ct_track(
        &mut self,
        ctx: &mut Ctx,
        t: Tuple,
        flags: Option<u8>,
        sctp: Option<Result<crate::wire::sctp::SctpRepr, &'static str>>,
        not_new: bool,
        len: usize,
    ) -> Result<CtInfo, ConntrackError> {
        let now = ctx.now;
        if let Some((id, dir)) = self.ct.lookup(&t, now) {
            let bad = match &sctp {
                Some(Ok(p)) => self.ct.update_sctp(id, dir, p, true, now).err(),
                Some(Err(e)) => Some(*e),
                None => {
                    self.ct.update(id, dir, flags, now);
                    None
                }
            };
            if let Some(why) = bad {
                return Ok(sctp_invalid(ctx, &t, why));
            }
            self.ct.acct(id, dir, len);
            let c = self.ct.get(id).expect("live");
            let bits = c.ctstate(dir);
            ctx.trace.step(
                Point::Conntrack,
                format!(
                    "{} {} ({}), {}",
                    if bits & ctbits::ESTABLISHED != 0 {
                        "ESTABLISHED"
                    } else {
                        "NEW"
                    },
                    c.orig,
                    dir_name(dir),
                    c.state_name()
                ),
                Action::Conntrack {
                    state: c.state_name(),
                    tuple: c.orig.to_string(),
                },
            );
            if self.ct.dumped_offload.remove(&id) {
                ctx.trace.step(
                    Point::Conntrack,
                    "this entry was [OFFLOAD] in the conntrack -L dump; with no flowtable here it is an ordinary entry (only nft_flow_offload sets IPS_OFFLOAD): the classic path".into(),
                    Action::Info,
                );
            }
            return Ok(CtInfo {
                id: Some(id),
                dir: Some(dir),
                bits,
                created: false,
                related: false,
            });
        }
        // No entry: only some packets may start a connection.
        let invalid = match (t.proto, flags) {
            (6, Some(f)) => {
                let syn = f & 0x02 != 0;
                let ack = f & 0x10 != 0;
                let rst = f & 0x04 != 0;
                let fin = f & 0x01 != 0;
                // tcp_new(): SYN starts; with nf_conntrack_tcp_loose a bare ACK
                // picks up a connection mid-stream; SYN/ACK, RST, FIN do not;
                // nf_conntrack_tcp_loose=0 takes only a SYN
                let loose = self.sysctl.int("net.netfilter.nf_conntrack_tcp_loose") != 0;
                rst || fin || (syn && ack) || (!syn && !ack) || (!syn && !loose)
            }
            (1 | 58, _) => not_new,
            _ => false,
        };
        let sctp = match sctp {
            Some(Ok(p)) => match crate::net::netfilter::ct_sctp::SctpCt::new(&p) {
                Ok(c) => Some((p, c)),
                Err(why) => return Ok(sctp_invalid(ctx, &t, why)),
            },
            Some(Err(why)) => return Ok(sctp_invalid(ctx, &t, why)),
            None => None,
        };
        if invalid {
            ctx.trace.step(
                Point::Conntrack,
                format!("no connection for {t}: INVALID"),
                Action::Conntrack {
                    state: "INVALID".into(),
                    tuple: t.to_string(),
                },
            );
            return Ok(CtInfo {
                bits: ctbits::INVALID,
                ..Default::default()
            });
        }
        let Some(id) = self.ct.create(t, now) else {
            return Err(ConntrackError::TableFull { max: self.ct.max });
        };
        if let Some((p, c)) = sctp {
            if let Some(e) = self.ct.get_mut(id) {
                e.sctp = c;
            }
            if let Err(why) = self.ct.update_sctp(id, Dir::Original, &p, false, now) {
                self.ct.remove(id);
                return Ok(sctp_invalid(ctx, &t, why));
            }
        } else {
            self.ct.update(id, Dir::Original, flags, now);
        }
        if self.synproxy.tmpl.remove(&t) {
            // the synproxy template's extensions (synproxy_send_server_syn)
            if let Some(c) = self.ct.get_mut(id) {
                c.synproxy = Some(Default::default());
            }
        }
        self.ct.acct(id, Dir::Original, len);
        ctx.trace.step(
            Point::Conntrack,
            format!("NEW {t}"),
            Action::Conntrack {
                state: "NEW".into(),
                tuple: t.to_string(),
            },
        );
        Ok(CtInfo {
            id: Some(id),
            dir: Some(Dir::Original),
            bits: ctbits::NEW,
            created: true,
            related: false,
        })
    }
}

/// An SCTP packet the tracker refuses (nf_conntrack_sctp_packet's
/// -NF_ACCEPT): INVALID, on its way without an entry.
fn sctp_invalid(ctx: &mut Ctx, t: &Tuple, why: &str) -> CtInfo {
    ctx.trace.step(
        Point::Conntrack,
        format!("{t}: INVALID ({why}; nf_conntrack_proto_sctp)"),
        Action::Conntrack {
            state: "INVALID".into(),
            tuple: t.to_string(),
        },
    );
    CtInfo {
        bits: ctbits::INVALID,
        ..Default::default()
    }
}

pub(crate) fn flip(d: Dir) -> Dir {
    match d {
        Dir::Original => Dir::Reply,
        Dir::Reply => Dir::Original,
    }
}

pub(crate) fn dir_name(d: Dir) -> &'static str {
    match d {
        Dir::Original => "original direction",
        Dir::Reply => "reply direction",
    }
}

pub(crate) fn l4_ports(ip: &Ipv4Repr) -> (Option<u16>, Option<u16>) {
    match ip.ports() {
        Some((s, d)) => (Some(s), Some(d)),
        None => (None, None),
    }
}

/// The conntrack tuple of a packet.
pub fn packet_tuple(ip: &Ipv4Repr) -> Tuple {
    let (sport, dport) = match &ip.l4 {
        L4::Tcp { hdr, .. } => (hdr.source_port, hdr.destination_port),
        L4::Udp { hdr, .. } => (hdr.source_port, hdr.destination_port),
        L4::Icmp(i) => (i.echo_id(), i.echo_id()),
        // SCTP's ports (nf_conntrack_proto.c: SCTP is keyed by ports)
        L4::Raw(_) => ip.ports().unwrap_or((0, 0)),
        L4::Icmp6(_) => (0, 0),
    };
    Tuple {
        proto: ip.proto(),
        src: ip.src().into(),
        sport,
        dst: ip.dst().into(),
        dport,
    }
}

/// The tuple of the IPv6 packet an ICMPv6 error quotes (its header, and
/// the transport's ports or the echo identifier; no extension headers
/// are walked).
pub fn quoted_tuple6(q: &[u8]) -> Option<Tuple> {
    if q.len() < 44 || q[0] >> 4 != 6 {
        return None;
    }
    let a = |o: usize| -> Option<std::net::IpAddr> {
        Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&q[o..o + 16]).ok()?).into())
    };
    let proto = q[6];
    let (sport, dport) = match proto {
        6 | 17 | 132 => (
            u16::from_be_bytes([q[40], q[41]]),
            u16::from_be_bytes([q[42], q[43]]),
        ),
        58 if q.len() >= 46 => {
            let id = u16::from_be_bytes([q[44], q[45]]);
            (id, id)
        }
        _ => (0, 0),
    };
    Some(Tuple {
        proto,
        src: a(8)?,
        sport,
        dst: a(24)?,
        dport,
    })
}

/// The tuple of the packet quoted in an ICMP error (header + 8 bytes).
pub fn quoted_tuple(q: &[u8]) -> Option<Tuple> {
    if q.len() < 20 {
        return None;
    }
    let ihl = ((q[0] & 0x0f) as usize) * 4;
    if q.len() < ihl + 4 {
        return None;
    }
    let proto = q[9];
    let src = Ipv4Addr::new(q[12], q[13], q[14], q[15]);
    let dst = Ipv4Addr::new(q[16], q[17], q[18], q[19]);
    let (sport, dport) = match proto {
        6 | 17 | 132 => (
            u16::from_be_bytes([q[ihl], q[ihl + 1]]),
            u16::from_be_bytes([q[ihl + 2], q[ihl + 3]]),
        ),
        1 if q.len() >= ihl + 6 => {
            let id = u16::from_be_bytes([q[ihl + 4], q[ihl + 5]]);
            (id, id)
        }
        _ => (0, 0),
    };
    Some(Tuple {
        proto,
        src: src.into(),
        sport,
        dst: dst.into(),
        dport,
    })
}
