//! IPv6 (RFC 8200): the 40-byte fixed header, the extension headers a
//! kernel meets on these paths, and the upper-layer payload.
//!
//! Extension headers are kept in the order they came, as `ipv6_rcv` and
//! `ip6_protocol_deliver_rcu` (net/ipv6/ip6_input.c) walk them: hop-by-hop
//! first (RFC 8200 §4.1 allows it only there), then routing, fragment and
//! destination options. Each is a typed view of its fixed fields with its
//! option bytes kept raw, so a packet re-emits to the bytes it came from.
//!
//! The upper-layer checksums (TCP, UDP, ICMPv6) cover the pseudo-header of
//! RFC 8200 §8.1: source, final destination, upper-layer length and next
//! header. With a routing header whose segments are not all visited, the
//! final destination is the last address of the routing header, not the
//! header's destination (§8.1 bullet 2); [`Ipv6Repr::final_dst`] gives it.

use std::fmt;
use std::net::Ipv6Addr;

use etherparse::{IpNumber, Ipv6FlowLabel, Ipv6Header};

use super::icmpv6::Icmpv6Repr;
use super::{WireError, L4, PROTO_TCP, PROTO_UDP};

/// Next Header values of the extension headers (RFC 8200 §4, IANA).
pub const NEXTHDR_HOP: u8 = 0;
pub const NEXTHDR_ROUTING: u8 = 43;
pub const NEXTHDR_FRAGMENT: u8 = 44;
pub const NEXTHDR_ESP: u8 = 50;
pub const NEXTHDR_AUTH: u8 = 51;
pub const NEXTHDR_ICMPV6: u8 = 58;
pub const NEXTHDR_NONE: u8 = 59;
pub const NEXTHDR_DEST: u8 = 60;

pub use super::IPV6_MIN_MTU;

/// One extension header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ipv6Ext {
    /// Hop-by-hop options (RFC 8200 §4.3): the option TLVs after the
    /// 2-byte header, padding included (a multiple of 8, less 2).
    HopByHop(Vec<u8>),
    /// Routing header (RFC 8200 §4.4): its type (0 deprecated, 2 Mobile
    /// IPv6, 3 RPL, 4 segment routing), segments left, and the
    /// type-specific bytes after the first 4.
    Routing {
        kind: u8,
        segments_left: u8,
        data: Vec<u8>,
    },
    /// Fragment header (RFC 8200 §4.5): offset in 8-byte units, the M
    /// flag, identification. Always 8 bytes.
    Fragment { offset: u16, more: bool, id: u32 },
    /// Destination options (RFC 8200 §4.6), like hop-by-hop.
    DestOpts(Vec<u8>),
}

impl Ipv6Ext {
    /// The Next Header value that announces this header.
    pub fn number(&self) -> u8 {
        match self {
            Ipv6Ext::HopByHop(_) => NEXTHDR_HOP,
            Ipv6Ext::Routing { .. } => NEXTHDR_ROUTING,
            Ipv6Ext::Fragment { .. } => NEXTHDR_FRAGMENT,
            Ipv6Ext::DestOpts(_) => NEXTHDR_DEST,
        }
    }

    fn is_ext(n: u8) -> bool {
        matches!(
            n,
            NEXTHDR_HOP | NEXTHDR_ROUTING | NEXTHDR_FRAGMENT | NEXTHDR_DEST
        )
    }

    /// Parses the header at the start of `b`: the header, its Next Header
    /// and its length.
    fn parse(n: u8, b: &[u8]) -> Result<(Ipv6Ext, u8, usize), WireError> {
        let name = match n {
            NEXTHDR_HOP => "IPv6 hop-by-hop header",
            NEXTHDR_ROUTING => "IPv6 routing header",
            NEXTHDR_FRAGMENT => "IPv6 fragment header",
            _ => "IPv6 destination options header",
        };
        if b.len() < 8 {
            return Err(WireError::Truncated(format!(
                "{name} needs 8 bytes, got {}",
                b.len()
            )));
        }
        let next = b[0];
        if n == NEXTHDR_FRAGMENT {
            // RFC 8200 §4.5: byte 1 reserved, then offset(13) res(2) M(1).
            let w = u16::from_be_bytes([b[2], b[3]]);
            let id = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let ext = Ipv6Ext::Fragment {
                offset: w >> 3,
                more: w & 1 == 1,
                id,
            };
            return Ok((ext, next, 8));
        }
        let len = (b[1] as usize + 1) * 8;
        if b.len() < len {
            return Err(WireError::Truncated(format!(
                "{name} says {len} bytes, {} present",
                b.len()
            )));
        }
        let ext = match n {
            NEXTHDR_HOP => Ipv6Ext::HopByHop(b[2..len].to_vec()),
            NEXTHDR_DEST => Ipv6Ext::DestOpts(b[2..len].to_vec()),
            _ => Ipv6Ext::Routing {
                kind: b[2],
                segments_left: b[3],
                data: b[4..len].to_vec(),
            },
        };
        Ok((ext, next, len))
    }

    fn emit(&self, next: u8, out: &mut Vec<u8>) {
        match self {
            Ipv6Ext::Fragment { offset, more, id } => {
                out.extend_from_slice(&[next, 0]);
                out.extend_from_slice(&((offset << 3) | *more as u16).to_be_bytes());
                out.extend_from_slice(&id.to_be_bytes());
            }
            Ipv6Ext::HopByHop(o) | Ipv6Ext::DestOpts(o) => {
                let body = pad_options(o);
                out.extend_from_slice(&[next, ((body.len() + 2) / 8 - 1) as u8]);
                out.extend_from_slice(&body);
            }
            Ipv6Ext::Routing {
                kind,
                segments_left,
                data,
            } => {
                let mut d = data.clone();
                d.resize((d.len() + 4).div_ceil(8) * 8 - 4, 0);
                out.extend_from_slice(&[
                    next,
                    ((d.len() + 4) / 8 - 1) as u8,
                    *kind,
                    *segments_left,
                ]);
                out.extend_from_slice(&d);
            }
        }
    }

    /// The addresses of a type 4 (segment routing, RFC 8754) header: its
    /// segment list, `[0]` the last segment. Empty for another type.
    pub fn segments(&self) -> Vec<Ipv6Addr> {
        match self {
            // RFC 8754 §2: last entry(1) flags(1) tag(2), then the list.
            Ipv6Ext::Routing { kind: 4, data, .. } if data.len() >= 4 => data[4..]
                .chunks_exact(16)
                .map(|c| Ipv6Addr::from(<[u8; 16]>::try_from(c).expect("16 bytes")))
                .collect(),
            _ => vec![],
        }
    }
}

/// Option bytes padded with PadN (RFC 8200 §4.2) to a length of 8n - 2.
fn pad_options(o: &[u8]) -> Vec<u8> {
    let mut body = o.to_vec();
    let want = (body.len() + 2).div_ceil(8) * 8 - 2;
    match want - body.len() {
        0 => {}
        1 => body.push(0), // Pad1
        n => {
            body.extend_from_slice(&[1, (n - 2) as u8]);
            body.resize(want, 0);
        }
    }
    body
}

/// An IPv6 packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub traffic_class: u8,
    /// 20 bits.
    pub flow_label: u32,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub exts: Vec<Ipv6Ext>,
    /// The upper-layer protocol: the last header's Next Header.
    pub proto: u8,
    pub l4: L4,
}

impl Ipv6Repr {
    /// A new packet with the kernel's defaults (traffic class 0, flow label
    /// given by the caller: Linux hashes the flow into it,
    /// `ip6_make_flowlabel`), no extension headers.
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, flow_label: u32, l4: L4) -> Ipv6Repr {
        let proto = match &l4 {
            L4::Tcp { .. } => PROTO_TCP,
            L4::Udp { .. } => PROTO_UDP,
            L4::Icmp6(_) => NEXTHDR_ICMPV6,
            L4::Icmp(_) | L4::Raw(_) => NEXTHDR_NONE,
        };
        Ipv6Repr {
            traffic_class: 0,
            flow_label: flow_label & 0xf_ffff,
            hop_limit,
            src,
            dst,
            exts: vec![],
            proto,
            l4,
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Ipv6Repr, WireError> {
        let (hdr, rest) = Ipv6Header::from_slice(bytes).map_err(|e| WireError::Malformed {
            layer: "IPv6 header",
            detail: e.to_string(),
        })?;
        let plen = hdr.payload_length as usize;
        if plen > rest.len() {
            // Jumbograms (payload length 0 with a hop-by-hop Jumbo option,
            // RFC 2675) do not occur on these links.
            return Err(WireError::Malformed {
                layer: "IPv6 header",
                detail: format!("payload length {plen} but {} bytes present", rest.len()),
            });
        }
        let mut body = &rest[..plen];
        let mut next = hdr.next_header.0;
        let mut exts = Vec::new();
        while Ipv6Ext::is_ext(next) {
            if next == NEXTHDR_HOP && !exts.is_empty() {
                // ip6_parse_tlv/ipv6_rcv: hop-by-hop only right after the
                // fixed header, else ICMPv6 parameter problem code 1.
                return Err(WireError::Malformed {
                    layer: "IPv6 hop-by-hop header",
                    detail: "not right after the IPv6 header".into(),
                });
            }
            let (e, n, len) = Ipv6Ext::parse(next, body)?;
            body = &body[len..];
            next = n;
            exts.push(e);
        }
        let frag = exts.iter().find_map(|e| match e {
            Ipv6Ext::Fragment { offset, more, .. } => Some((*offset, *more)),
            _ => None,
        });
        let l4 = if frag.is_some_and(|(o, m)| o != 0 || m) {
            L4::Raw(body.to_vec())
        } else {
            match next {
                NEXTHDR_ICMPV6 => L4::Icmp6(Icmpv6Repr::parse(body)?),
                p => super::parse_transport(p, body)?,
            }
        };
        Ok(Ipv6Repr {
            traffic_class: hdr.traffic_class,
            flow_label: hdr.flow_label.value(),
            hop_limit: hdr.hop_limit,
            src: hdr.source_addr(),
            dst: hdr.destination_addr(),
            exts,
            proto: next,
            l4,
        })
    }

    /// The destination the upper-layer checksum covers (RFC 8200 §8.1).
    pub fn final_dst(&self) -> Ipv6Addr {
        for e in &self.exts {
            if let Ipv6Ext::Routing { segments_left, .. } = e {
                if *segments_left > 0 {
                    if let Some(last) = e.segments().first() {
                        return *last;
                    }
                }
            }
        }
        self.dst
    }

    /// The upper-layer bytes with their checksum.
    pub fn l4_bytes(&self) -> Vec<u8> {
        match &self.l4 {
            L4::Tcp { .. } | L4::Udp { .. } => super::emit_transport(
                &self.l4,
                super::Pseudo::V6(self.src.octets(), self.final_dst().octets()),
            ),
            L4::Icmp6(i) => i.emit(self.src, self.final_dst()),
            L4::Icmp(i) => i.emit(),
            L4::Raw(b) => b.clone(),
        }
    }

    /// The extension headers' bytes, each announcing the one after it.
    fn ext_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, e) in self.exts.iter().enumerate() {
            let next = self.exts.get(i + 1).map_or(self.proto, Ipv6Ext::number);
            e.emit(next, &mut out);
        }
        out
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut body = self.ext_bytes();
        body.extend_from_slice(&self.l4_bytes());
        let hdr = Ipv6Header {
            traffic_class: self.traffic_class,
            flow_label: Ipv6FlowLabel::try_new(self.flow_label & 0xf_ffff).expect("20 bits"),
            payload_length: body.len() as u16,
            next_header: IpNumber(self.exts.first().map_or(self.proto, Ipv6Ext::number)),
            hop_limit: self.hop_limit,
            source: self.src.octets(),
            destination: self.dst.octets(),
        };
        let mut out = hdr.to_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    /// The extension headers' length in bytes.
    pub fn ext_len(&self) -> usize {
        self.ext_bytes().len()
    }

    /// Length on the wire: the fixed header, extension headers and payload.
    pub fn total_len(&self) -> usize {
        40 + self.ext_bytes().len() + self.l4_bytes().len()
    }

    /// The fragment header, if any: (offset in bytes, M flag, id).
    pub fn fragment(&self) -> Option<(usize, bool, u32)> {
        self.exts.iter().find_map(|e| match e {
            Ipv6Ext::Fragment { offset, more, id } => Some((*offset as usize * 8, *more, *id)),
            _ => None,
        })
    }

    /// Source and destination ports (TCP/UDP), or the ICMPv6 echo
    /// identifier as both, as conntrack keys ICMPv6 echo.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match &self.l4 {
            L4::Tcp { hdr, .. } => Some((hdr.source_port, hdr.destination_port)),
            L4::Udp { hdr, .. } => Some((hdr.source_port, hdr.destination_port)),
            _ => None,
        }
    }

    /// The ICMPv6 message, if the payload is one.
    pub fn icmp6(&self) -> Option<&Icmpv6Repr> {
        match &self.l4 {
            L4::Icmp6(i) => Some(i),
            _ => None,
        }
    }

    /// Whether this is Neighbor Discovery (RFC 4861 §6.1.1/§7.1.1: hop
    /// limit 255, code 0, types 133 to 137).
    pub fn is_ndp(&self) -> bool {
        self.icmp6().is_some_and(|i| i.is_ndp())
    }
}

pub use super::pseudo_checksum;

/// RFC 5952 §6: an address with a port is written `[addr]:port`.
pub fn with_port(a: Ipv6Addr, port: u16) -> String {
    format!("[{a}]:{port}")
}

impl fmt::Display for Ipv6Ext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ipv6Ext::HopByHop(o) => write!(f, "HBH len {}", o.len() + 2),
            Ipv6Ext::DestOpts(o) => write!(f, "DSTOPT len {}", o.len() + 2),
            Ipv6Ext::Routing {
                kind,
                segments_left,
                ..
            } => {
                write!(f, "RT type {kind} segleft {segments_left}")?;
                let segs = self.segments();
                if !segs.is_empty() {
                    let s: Vec<String> = segs.iter().map(ToString::to_string).collect();
                    write!(f, " [{}]", s.join(","))?;
                }
                Ok(())
            }
            Ipv6Ext::Fragment { offset, more, id } => {
                write!(f, "frag id {id:#x} offset {}", *offset as usize * 8)?;
                if *more {
                    write!(f, " M")?;
                }
                Ok(())
            }
        }
    }
}

/// Addresses of the kinds the stack derives (RFC 4291).
pub mod addr {
    use std::net::Ipv6Addr;

    use crate::wire::Mac;

    /// The modified EUI-64 interface identifier of a MAC (RFC 4291
    /// appendix A): ff:fe in the middle, the universal/local bit flipped.
    /// `addrconf_ifid_eui48` (net/ipv6/addrconf.c).
    pub fn eui64(mac: Mac) -> [u8; 8] {
        let m = mac.0;
        [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
    }

    /// The link-local address `fe80::/64` + EUI-64 that addrconf gives
    /// every Ethernet-like device with `addr_gen_mode` eui64 (0).
    pub fn link_local(mac: Mac) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o[0] = 0xfe;
        o[1] = 0x80;
        o[8..].copy_from_slice(&eui64(mac));
        Ipv6Addr::from(o)
    }

    /// The solicited-node multicast address `ff02::1:ffXX:XXXX` (RFC 4291
    /// §2.7.1) that neighbour solicitations for `a` go to.
    pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
        let t = a.octets();
        let mut o = [0u8; 16];
        o[0] = 0xff;
        o[1] = 0x02;
        o[11] = 0x01;
        o[12] = 0xff;
        o[13..].copy_from_slice(&t[13..]);
        Ipv6Addr::from(o)
    }

    /// The Ethernet address of an IPv6 multicast group (RFC 2464 §7):
    /// 33:33 and the group's last 32 bits. `ipv6_eth_mc_map`.
    pub fn multicast_mac(a: Ipv6Addr) -> Mac {
        let t = a.octets();
        Mac([0x33, 0x33, t[12], t[13], t[14], t[15]])
    }

    /// All-nodes and all-routers link-local groups (RFC 4291 §2.7.1).
    pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

    /// An address's scope as `ipv6_addr_scope` gives it (RFC 4291 §2.7,
    /// RFC 6724 §3.1): multicast by its scope field; loopback and link-
    /// local link scope (0x02); everything else global (0x0e).
    pub fn scope(a: Ipv6Addr) -> u8 {
        let o = a.octets();
        if o[0] == 0xff {
            o[1] & 0x0f
        } else if a.is_loopback() || (o[0] == 0xfe && o[1] & 0xc0 == 0x80) {
            0x02
        } else {
            0x0e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{tcp_header, udp_header, Frame, Mac, L3};

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn frame(ip: Ipv6Repr) -> Frame {
        Frame {
            src: Mac::derived("a"),
            dst: Mac::derived("b"),
            payload: L3::Ipv6(ip),
        }
    }

    #[test]
    fn tcp_syn_roundtrips_with_pseudo_header_checksum() {
        let mut t = tcp_header(40000, 80, 1000, None, 64800);
        t.syn = true;
        let ip = Ipv6Repr::new(
            a("fd00:10:244::5"),
            a("fd00:10:96::a"),
            64,
            0x12345,
            L4::Tcp {
                hdr: t,
                payload: vec![],
            },
        );
        let f = frame(ip);
        let b = f.emit();
        assert_eq!(b.len(), 14 + 40 + 20);
        assert_eq!(&b[12..14], &[0x86, 0xdd]);
        // version 6, traffic class 0, flow label 0x12345
        assert_eq!(&b[14..18], &[0x60, 0x01, 0x23, 0x45]);
        crate::wire::verify_checksums(&b).unwrap();
        let back = Frame::parse(&b).unwrap();
        assert_eq!(back.ipv6().unwrap().src, a("fd00:10:244::5"));
        assert_eq!(back.ipv6().unwrap().flow_label, 0x12345);
        assert_eq!(back.emit(), b);
        assert_eq!(
            crate::wire::summarize(&back),
            "TCP [fd00:10:244::5]:40000 > [fd00:10:96::a]:80 [S] seq 1000 len 0"
        );
        let mut bad = b.clone();
        bad[14 + 40 + 4] ^= 1;
        assert!(crate::wire::verify_checksums(&bad).is_err());
        // A checksum computed over the IPv4-style pseudo-header would not do.
        let mut other = f.clone();
        if let L3::Ipv6(ip) = &mut other.payload {
            ip.src = a("fd00:10:244::6");
        }
        let ob = other.emit();
        assert_ne!(
            ob[14 + 40 + 16..14 + 40 + 18],
            b[14 + 40 + 16..14 + 40 + 18]
        );
    }

    #[test]
    fn extension_headers_chain_in_order_and_roundtrip() {
        let mut seg = vec![0, 0, 0, 0]; // last entry, flags, tag
        seg.extend_from_slice(&a("fd00::2").octets());
        seg.extend_from_slice(&a("fd00::1").octets());
        seg[0] = 1;
        let mut ip = Ipv6Repr::new(
            a("fd00::9"),
            a("fd00::1"),
            64,
            0,
            L4::Udp {
                hdr: udp_header(5353, 53),
                payload: b"hello".to_vec(),
            },
        );
        ip.exts = vec![
            // router alert (RFC 2711): type 5 len 2 value 0
            Ipv6Ext::HopByHop(vec![5, 2, 0, 0]),
            Ipv6Ext::Routing {
                kind: 4,
                segments_left: 1,
                data: seg,
            },
            Ipv6Ext::DestOpts(vec![]),
        ];
        let f = frame(ip);
        let b = f.emit();
        // 40 + HBH 8 + SRH 8+32 + DSTOPT 8 + UDP 13
        assert_eq!(b.len(), 14 + 40 + 8 + 40 + 8 + 13);
        assert_eq!(b[14 + 6], NEXTHDR_HOP);
        assert_eq!(b[14 + 40], NEXTHDR_ROUTING);
        assert_eq!(b[14 + 48], NEXTHDR_DEST);
        assert_eq!(b[14 + 88], PROTO_UDP);
        crate::wire::verify_checksums(&b).unwrap();
        let back = Frame::parse(&b).unwrap();
        let ip = back.ipv6().unwrap();
        assert_eq!(ip.exts.len(), 3);
        // padded on emit: PadN fills the router alert's 6 bytes to 6
        assert_eq!(ip.exts[0], Ipv6Ext::HopByHop(vec![5, 2, 0, 0, 1, 0]));
        assert_eq!(ip.exts[1].segments(), vec![a("fd00::2"), a("fd00::1")]);
        // the checksum covers the last segment, not the header's dst
        assert_eq!(ip.final_dst(), a("fd00::2"));
        assert_eq!(ip.proto, PROTO_UDP);
        assert_eq!(back.emit(), b);
    }

    #[test]
    fn fragments_after_the_first_are_raw() {
        let mut ip = Ipv6Repr::new(a("fd00::1"), a("fd00::2"), 64, 0, L4::Raw(vec![0xab; 16]));
        ip.proto = PROTO_UDP;
        ip.exts = vec![Ipv6Ext::Fragment {
            offset: 1448 / 8,
            more: false,
            id: 0xdead_beef,
        }];
        let b = frame(ip.clone()).emit();
        let back = Frame::parse(&b).unwrap();
        let got = back.ipv6().unwrap();
        assert_eq!(got, &ip);
        assert_eq!(got.fragment(), Some((1448, false, 0xdead_beef)));
        assert_eq!(got.ports(), None);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let mut ip = Ipv6Repr::new(
            a("fd00::1"),
            a("fd00::2"),
            64,
            0,
            L4::Udp {
                hdr: udp_header(1, 2),
                payload: vec![1, 2, 3],
            },
        );
        ip.exts = vec![Ipv6Ext::DestOpts(vec![]), Ipv6Ext::HopByHop(vec![])];
        let b = frame(ip).emit();
        let e = Frame::parse(&b).unwrap_err();
        assert!(e.to_string().contains("hop-by-hop"), "{e}");
        for n in 0..b.len() {
            let _ = Frame::parse(&b[..n]);
        }
        // payload length beyond the bytes present
        let mut long = b.clone();
        long[14 + 4] = 0xff;
        assert!(Frame::parse(&long).is_err());
    }

    #[test]
    fn derived_addresses() {
        let mac = Mac::parse("02:42:ac:11:00:02").unwrap();
        assert_eq!(addr::link_local(mac), a("fe80::42:acff:fe11:2"));
        assert_eq!(
            addr::solicited_node(a("fd00:10:244::1:2:3")),
            a("ff02::1:ff02:3")
        );
        assert_eq!(
            addr::multicast_mac(a("ff02::1:ff02:3")).to_string(),
            "33:33:ff:02:00:03"
        );
        assert_eq!(addr::scope(a("fe80::1")), 2);
        assert_eq!(addr::scope(a("::1")), 2);
        assert_eq!(addr::scope(a("ff02::1")), 2);
        assert_eq!(addr::scope(a("ff05::1")), 5);
        assert_eq!(addr::scope(a("fd00::1")), 0x0e);
        assert_eq!(addr::scope(a("2001:db8::1")), 0x0e);
    }
}
