//! Typed views over packet bytes.
//!
//! Every packet in the simulator is a real Ethernet frame. This module parses a
//! frame into a [`Frame`] representation (smoltcp's `Repr` pattern) and emits it
//! back into bytes with correct lengths and checksums. Ethernet, IPv4, TCP and UDP
//! headers are etherparse's; ARP, ICMP and VXLAN are small hand-written views
//! because the simulator needs their raw fields (ICMP quotes, VXLAN flags).
//!
//! The engine never works on a high-level enum in place of the bytes: it parses
//! the frame it received, changes the fields a kernel would change, and emits the
//! frame the next device carries.

pub mod arp;
pub mod dns;
pub mod icmp;
pub mod icmpv6;
pub mod ipv6;
pub mod sctp;
pub mod tls;
pub mod vxlan;
pub mod wireguard;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{EtherType, Ethernet2Header, IpNumber, Ipv4Header, UdpHeader};
pub use etherparse::{TcpHeader, TcpOptionElement};

pub use crate::trace::{PktInfo, PktKind};
pub use arp::ArpRepr;
pub use icmp::IcmpRepr;
pub use icmpv6::{Icmpv6Repr, NdOpt};
pub use ipv6::{Ipv6Ext, Ipv6Repr};

/// A MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    pub const ZERO: Mac = Mac([0; 6]);

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
    /// A locally administered unicast MAC derived deterministically from a name,
    /// as the kernel's random veth MACs would be, but stable across runs.
    pub fn derived(name: &str) -> Mac {
        let h = crate::det::stable_hash(name.as_bytes());
        let b = h.to_be_bytes();
        Mac([(b[0] & 0xfe) | 0x02, b[1], b[2], b[3], b[4], b[5]])
    }
    pub fn parse(s: &str) -> Option<Mac> {
        let mut out = [0u8; 6];
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return None;
        }
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || p.len() > 2 {
                return None;
            }
            out[i] = u8::from_str_radix(p, 16).ok()?;
        }
        Some(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}
impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_SCTP: u8 = 132;

/// Why a byte string is not a frame the simulator understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame too short: {0}")]
    Truncated(String),
    #[error("malformed {layer}: {detail}")]
    Malformed { layer: &'static str, detail: String },
}

/// A parsed Ethernet frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub src: Mac,
    pub dst: Mac,
    pub payload: L3,
}

/// The network-layer payload of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L3 {
    Arp(ArpRepr),
    Ipv4(Ipv4Repr),
    Ipv6(Ipv6Repr),
    Other { ethertype: u16, bytes: Vec<u8> },
}

/// An IPv4 packet: etherparse's header (all fields, options kept) and the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub hdr: Ipv4Header,
    pub l4: L4,
}

/// The transport payload of an IPv4 or IPv6 packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp {
        hdr: TcpHeader,
        payload: Vec<u8>,
    },
    Udp {
        hdr: UdpHeader,
        payload: Vec<u8>,
    },
    Icmp(IcmpRepr),
    /// ICMPv6 (in IPv6 packets only).
    Icmp6(Icmpv6Repr),
    /// Any other protocol, or a non-first fragment: the bytes after the IP header.
    Raw(Vec<u8>),
}

impl Frame {
    /// Parses an Ethernet II frame.
    pub fn parse(bytes: &[u8]) -> Result<Frame, WireError> {
        let (eth, rest) =
            Ethernet2Header::from_slice(bytes).map_err(|e| WireError::Truncated(e.to_string()))?;
        let payload = match eth.ether_type.0 {
            ETHERTYPE_ARP => L3::Arp(ArpRepr::parse(rest)?),
            ETHERTYPE_IPV4 => L3::Ipv4(Ipv4Repr::parse(rest)?),
            ETHERTYPE_IPV6 => L3::Ipv6(Ipv6Repr::parse(rest)?),
            other => L3::Other {
                ethertype: other,
                bytes: rest.to_vec(),
            },
        };
        Ok(Frame {
            src: Mac(eth.source),
            dst: Mac(eth.destination),
            payload,
        })
    }

    /// Emits the frame. IPv4 total length, header checksum and the TCP/UDP/ICMP
    /// checksums are recomputed, so whatever a step changed, the bytes are valid.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        let ethertype = match &self.payload {
            L3::Arp(_) => ETHERTYPE_ARP,
            L3::Ipv4(_) => ETHERTYPE_IPV4,
            L3::Ipv6(_) => ETHERTYPE_IPV6,
            L3::Other { ethertype, .. } => *ethertype,
        };
        let eth = Ethernet2Header {
            source: self.src.0,
            destination: self.dst.0,
            ether_type: EtherType(ethertype),
        };
        out.extend_from_slice(&eth.to_bytes());
        match &self.payload {
            L3::Arp(a) => out.extend_from_slice(&a.emit()),
            L3::Ipv4(ip) => out.extend_from_slice(&ip.emit()),
            L3::Ipv6(ip) => out.extend_from_slice(&ip.emit()),
            L3::Other { bytes, .. } => out.extend_from_slice(bytes),
        }
        out
    }

    pub fn ipv4(&self) -> Option<&Ipv4Repr> {
        match &self.payload {
            L3::Ipv4(ip) => Some(ip),
            _ => None,
        }
    }
    pub fn ipv4_mut(&mut self) -> Option<&mut Ipv4Repr> {
        match &mut self.payload {
            L3::Ipv4(ip) => Some(ip),
            _ => None,
        }
    }
    pub fn ipv6(&self) -> Option<&Ipv6Repr> {
        match &self.payload {
            L3::Ipv6(ip) => Some(ip),
            _ => None,
        }
    }
    pub fn ipv6_mut(&mut self) -> Option<&mut Ipv6Repr> {
        match &mut self.payload {
            L3::Ipv6(ip) => Some(ip),
            _ => None,
        }
    }
}

/// An IP packet of either family, as a socket layer that serves both
/// (TCP, UDP) builds and reads it: the family follows the addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpRepr {
    V4(Ipv4Repr),
    V6(Ipv6Repr),
}

impl IpRepr {
    pub fn src(&self) -> IpAddr {
        match self {
            IpRepr::V4(i) => i.src().into(),
            IpRepr::V6(i) => i.src.into(),
        }
    }
    pub fn dst(&self) -> IpAddr {
        match self {
            IpRepr::V4(i) => i.dst().into(),
            IpRepr::V6(i) => i.final_dst().into(),
        }
    }
    pub fn l4(&self) -> &L4 {
        match self {
            IpRepr::V4(i) => &i.l4,
            IpRepr::V6(i) => &i.l4,
        }
    }
    /// TTL or hop limit.
    pub fn hop_limit(&self) -> u8 {
        match self {
            IpRepr::V4(i) => i.hdr.time_to_live,
            IpRepr::V6(i) => i.hop_limit,
        }
    }
}

impl Ipv4Repr {
    pub fn parse(bytes: &[u8]) -> Result<Ipv4Repr, WireError> {
        let (hdr, _) = Ipv4Header::from_slice(bytes).map_err(|e| WireError::Malformed {
            layer: "IPv4 header",
            detail: e.to_string(),
        })?;
        let total = hdr.total_len as usize;
        if total > bytes.len() || total < hdr.header_len() {
            return Err(WireError::Malformed {
                layer: "IPv4 header",
                detail: format!("total length {} but {} bytes present", total, bytes.len()),
            });
        }
        let body = &bytes[hdr.header_len()..total];
        let first_fragment = hdr.fragment_offset.value() == 0;
        let l4 = if !first_fragment || hdr.more_fragments {
            L4::Raw(body.to_vec())
        } else {
            match hdr.protocol.0 {
                PROTO_ICMP => L4::Icmp(IcmpRepr::parse(body)?),
                p => parse_transport(p, body)?,
            }
        };
        Ok(Ipv4Repr { hdr, l4 })
    }

    /// A new IPv4 packet with the kernel's defaults (TTL 64, DF set for TCP,
    /// identification given by the caller).
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16, l4: L4) -> Ipv4Repr {
        let proto = match &l4 {
            L4::Tcp { .. } => PROTO_TCP,
            L4::Udp { .. } => PROTO_UDP,
            L4::Icmp(_) => PROTO_ICMP,
            L4::Icmp6(_) => ipv6::NEXTHDR_ICMPV6,
            L4::Raw(_) => 255,
        };
        let mut hdr = Ipv4Header::new(0, ttl, IpNumber(proto), src.octets(), dst.octets())
            .expect("zero payload length always fits");
        hdr.identification = id;
        hdr.dont_fragment = true;
        Ipv4Repr { hdr, l4 }
    }

    /// Sets the protocol number of a raw (`L4::Raw`) datagram, and clears DF
    /// (raw sockets do not set it unless asked).
    pub fn with_protocol(mut self, proto: u8) -> Ipv4Repr {
        self.hdr.protocol = IpNumber(proto);
        self.hdr.dont_fragment = false;
        self
    }

    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.hdr.source)
    }
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.hdr.destination)
    }
    pub fn set_src(&mut self, a: Ipv4Addr) {
        self.hdr.source = a.octets();
    }
    pub fn set_dst(&mut self, a: Ipv4Addr) {
        self.hdr.destination = a.octets();
    }
    pub fn proto(&self) -> u8 {
        self.hdr.protocol.0
    }

    /// Source and destination ports (TCP/UDP), or the ICMP echo identifier as
    /// both, as conntrack keys ICMP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match &self.l4 {
            L4::Tcp { hdr, .. } => Some((hdr.source_port, hdr.destination_port)),
            L4::Udp { hdr, .. } => Some((hdr.source_port, hdr.destination_port)),
            // SCTP rides as raw bytes (no etherparse header): its ports are
            // the first 4 bytes of the common header.
            L4::Raw(b)
                if self.hdr.protocol.0 == sctp::PROTO_SCTP
                    && b.len() >= 12
                    && self.hdr.fragment_offset.value() == 0 =>
            {
                Some((
                    u16::from_be_bytes([b[0], b[1]]),
                    u16::from_be_bytes([b[2], b[3]]),
                ))
            }
            _ => None,
        }
    }
    /// The SCTP view of the payload (protocol 132, an unfragmented packet).
    pub fn sctp(&self) -> Option<sctp::SctpRepr> {
        match &self.l4 {
            L4::Raw(b) if self.hdr.protocol.0 == sctp::PROTO_SCTP && self.unfragmented() => {
                sctp::SctpRepr::parse(b)
            }
            _ => None,
        }
    }
    fn unfragmented(&self) -> bool {
        self.hdr.fragment_offset.value() == 0 && !self.hdr.more_fragments
    }
    pub fn set_sport(&mut self, p: u16) {
        match &mut self.l4 {
            L4::Tcp { hdr, .. } => hdr.source_port = p,
            L4::Udp { hdr, .. } => hdr.source_port = p,
            // an unfragmented packet only: the CRC32c covers it whole
            L4::Raw(b)
                if self.hdr.protocol.0 == sctp::PROTO_SCTP
                    && b.len() >= 12
                    && self.hdr.fragment_offset.value() == 0
                    && !self.hdr.more_fragments =>
            {
                b[..2].copy_from_slice(&p.to_be_bytes());
                sctp::fix_checksum(b);
            }
            _ => {}
        }
    }
    pub fn set_dport(&mut self, p: u16) {
        match &mut self.l4 {
            L4::Tcp { hdr, .. } => hdr.destination_port = p,
            L4::Udp { hdr, .. } => hdr.destination_port = p,
            // nf_nat_proto.c sctp_manip_pkt: rewrite the port, recompute
            // the CRC32c (sctp_compute_cksum).
            L4::Raw(b)
                if self.hdr.protocol.0 == sctp::PROTO_SCTP
                    && b.len() >= 12
                    && self.hdr.fragment_offset.value() == 0
                    && !self.hdr.more_fragments =>
            {
                b[2..4].copy_from_slice(&p.to_be_bytes());
                sctp::fix_checksum(b);
            }
            _ => {}
        }
    }

    pub fn l4_bytes(&self) -> Vec<u8> {
        match &self.l4 {
            L4::Tcp { .. } | L4::Udp { .. } => {
                emit_transport(&self.l4, Pseudo::V4(self.hdr.source, self.hdr.destination))
            }
            L4::Icmp(i) => i.emit(),
            // Not carried by IPv4; its checksum has no IPv6 pseudo-header
            // here, so the unspecified addresses stand in.
            L4::Icmp6(i) => i.emit(
                std::net::Ipv6Addr::UNSPECIFIED,
                std::net::Ipv6Addr::UNSPECIFIED,
            ),
            L4::Raw(b) => b.clone(),
        }
    }

    pub fn emit(&self) -> Vec<u8> {
        let body = self.l4_bytes();
        let mut hdr = self.hdr.clone();
        hdr.total_len = (hdr.header_len() + body.len()) as u16;
        hdr.header_checksum = hdr.calc_header_checksum();
        let mut out = hdr.to_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    /// Length on the wire (IP header plus payload).
    pub fn total_len(&self) -> usize {
        self.hdr.header_len() + self.l4_bytes().len()
    }

    /// TCP flags in the kernel's bit order (FIN=0x01 .. CWR=0x80).
    pub fn tcp_flags(&self) -> Option<u8> {
        match &self.l4 {
            L4::Tcp { hdr, .. } => Some(tcp_flag_bits(hdr)),
            _ => None,
        }
    }
}

pub fn tcp_flag_bits(h: &TcpHeader) -> u8 {
    (h.fin as u8)
        | (h.syn as u8) << 1
        | (h.rst as u8) << 2
        | (h.psh as u8) << 3
        | (h.ack as u8) << 4
        | (h.urg as u8) << 5
        | (h.ece as u8) << 6
        | (h.cwr as u8) << 7
}

/// A TCP header's options in tcpdump's words, their values left out but
/// the MSS and window scale: `mss 1460`, `sackOK`, `TS`, `nop`,
/// `wscale 7`, `sack`.
pub fn tcp_option_kinds(h: &TcpHeader) -> Vec<String> {
    use etherparse::TcpOptionElement as O;
    h.options_iterator()
        .map(|o| match o {
            Ok(O::Noop) => "nop".into(),
            Ok(O::MaximumSegmentSize(m)) => format!("mss {m}"),
            Ok(O::WindowScale(w)) => format!("wscale {w}"),
            Ok(O::SelectiveAcknowledgementPermitted) => "sackOK".into(),
            Ok(O::SelectiveAcknowledgement(..)) => "sack".into(),
            Ok(O::Timestamp(..)) => "TS".into(),
            Err(e) => format!("bad option ({e:?})"),
        })
        .collect()
}

/// tcpdump's flag notation: `[S]`, `[S.]`, `[P.]`, `[F.]`, `[R]`.
pub fn tcp_flags_str(h: &TcpHeader) -> String {
    let mut s = String::new();
    if h.syn {
        s.push('S');
    }
    if h.fin {
        s.push('F');
    }
    if h.rst {
        s.push('R');
    }
    if h.psh {
        s.push('P');
    }
    if h.urg {
        s.push('U');
    }
    if h.ack {
        s.push('.');
    }
    s
}

/// The RFC 1071 internet checksum over `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = chunks.remainder() {
        sum += (*b as u32) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The addresses a TCP or UDP checksum's pseudo-header takes.
#[derive(Clone, Copy)]
pub(crate) enum Pseudo {
    V4([u8; 4], [u8; 4]),
    V6([u8; 16], [u8; 16]),
}

/// A TCP or UDP header and payload with its length and checksum over the
/// pseudo-header of either family (an IPv6 UDP checksum computed as 0 is
/// sent as 0xffff, RFC 8200 §8.1: etherparse does that); empty for
/// another payload.
pub(crate) fn emit_transport(l4: &L4, p: Pseudo) -> Vec<u8> {
    let (mut out, payload) = match l4 {
        L4::Tcp { hdr, payload } => {
            let mut h = hdr.clone();
            h.checksum = match p {
                Pseudo::V4(s, d) => h.calc_checksum_ipv4_raw(s, d, payload),
                Pseudo::V6(s, d) => h.calc_checksum_ipv6_raw(s, d, payload),
            }
            .expect("tcp payload fits");
            (h.to_bytes().to_vec(), payload)
        }
        L4::Udp { hdr, payload } => {
            let mut h = hdr.clone();
            h.length = (8 + payload.len()) as u16;
            h.checksum = match p {
                Pseudo::V4(s, d) => h.calc_checksum_ipv4_raw(s, d, payload),
                Pseudo::V6(s, d) => h.calc_checksum_ipv6_raw(s, d, payload),
            }
            .expect("udp payload fits");
            (h.to_bytes().to_vec(), payload)
        }
        _ => return Vec::new(),
    };
    out.extend_from_slice(payload);
    out
}

/// TCP and UDP after an IP header of either family (UDP's payload cut at
/// its own length); any other protocol's bytes as they are.
pub(crate) fn parse_transport(proto: u8, body: &[u8]) -> Result<L4, WireError> {
    Ok(match proto {
        PROTO_TCP => {
            let (t, payload) = TcpHeader::from_slice(body).map_err(|e| WireError::Malformed {
                layer: "TCP header",
                detail: e.to_string(),
            })?;
            L4::Tcp {
                hdr: t,
                payload: payload.to_vec(),
            }
        }
        PROTO_UDP => {
            let (u, payload) = UdpHeader::from_slice(body).map_err(|e| WireError::Malformed {
                layer: "UDP header",
                detail: e.to_string(),
            })?;
            let plen = (u.length as usize).saturating_sub(8).min(payload.len());
            L4::Udp {
                hdr: u,
                payload: payload[..plen].to_vec(),
            }
        }
        _ => L4::Raw(body.to_vec()),
    })
}

/// The minimum link MTU of IPv6 (RFC 8200 §5): every link carries 1280
/// bytes, and an ICMPv6 error never exceeds it (RFC 4443 §2.4 (c)).
pub const IPV6_MIN_MTU: usize = 1280;

/// RFC 1071 over the IPv6 pseudo-header (RFC 8200 §8.1: source,
/// destination, upper-layer length, next header) and `upper`.
pub fn pseudo_checksum(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, upper: &[u8]) -> u16 {
    let mut buf = Vec::with_capacity(40 + upper.len());
    buf.extend_from_slice(&src.octets());
    buf.extend_from_slice(&dst.octets());
    buf.extend_from_slice(&(upper.len() as u32).to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, proto]);
    buf.extend_from_slice(upper);
    internet_checksum(&buf)
}

/// Why a frame fails [`verify_checksums`]: a header that does not parse, or
/// the first bad checksum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumError {
    /// A header etherparse cannot read (its message).
    #[error("{0}")]
    Parse(String),
    /// The checksum of this header (`IPv4 header`, `TCP`, `UDP`, `ICMP`) is
    /// wrong.
    #[error("bad {0} checksum")]
    Bad(&'static str),
}

impl ChecksumError {
    /// A header parse error, by its message.
    fn parse(e: impl fmt::Display) -> ChecksumError {
        ChecksumError::Parse(e.to_string())
    }
}

/// Checks every checksum a receiver would verify. Returns a description of the
/// first bad one.
pub fn verify_checksums(bytes: &[u8]) -> Result<(), ChecksumError> {
    let (eth, rest) = Ethernet2Header::from_slice(bytes).map_err(ChecksumError::parse)?;
    if eth.ether_type.0 == ETHERTYPE_IPV6 {
        return verify_checksums_v6(rest);
    }
    if eth.ether_type.0 != ETHERTYPE_IPV4 {
        return Ok(());
    }
    let (hdr, _) = Ipv4Header::from_slice(rest).map_err(ChecksumError::parse)?;
    if hdr.calc_header_checksum() != hdr.header_checksum {
        return Err(ChecksumError::Bad("IPv4 header"));
    }
    let body = &rest[hdr.header_len()..hdr.total_len as usize];
    if hdr.fragment_offset.value() != 0 || hdr.more_fragments {
        return Ok(());
    }
    match hdr.protocol.0 {
        PROTO_TCP => {
            let (t, p) = TcpHeader::from_slice(body).map_err(ChecksumError::parse)?;
            let c = t
                .calc_checksum_ipv4_raw(hdr.source, hdr.destination, p)
                .map_err(ChecksumError::parse)?;
            if c != t.checksum {
                return Err(ChecksumError::Bad("TCP"));
            }
        }
        PROTO_UDP => {
            let (u, p) = UdpHeader::from_slice(body).map_err(ChecksumError::parse)?;
            let plen = (u.length as usize).saturating_sub(8).min(p.len());
            let c = u
                .calc_checksum_ipv4_raw(hdr.source, hdr.destination, &p[..plen])
                .map_err(ChecksumError::parse)?;
            if u.checksum != 0 && c != u.checksum {
                return Err(ChecksumError::Bad("UDP"));
            }
        }
        PROTO_ICMP if internet_checksum(body) != 0 => {
            return Err(ChecksumError::Bad("ICMP"));
        }
        sctp::PROTO_SCTP if !sctp::checksum_ok(body) => {
            return Err(ChecksumError::Bad("SCTP"));
        }
        _ => {}
    }
    Ok(())
}

/// The upper-layer checksum of an IPv6 packet (RFC 8200 §8.1): summed
/// with the pseudo-header over the bytes as they came, it must give 0.
/// UDP's checksum is mandatory: a zero one is bad (`udp6_csum_init`).
fn verify_checksums_v6(rest: &[u8]) -> Result<(), ChecksumError> {
    let ip = Ipv6Repr::parse(rest).map_err(ChecksumError::parse)?;
    if ip.fragment().is_some_and(|(o, m, _)| o != 0 || m) {
        return Ok(());
    }
    let start = 40 + ip.ext_len();
    let end = 40 + u16::from_be_bytes([rest[4], rest[5]]) as usize;
    let upper = &rest[start..end];
    let name = match ip.proto {
        PROTO_TCP => "TCP",
        PROTO_UDP => "UDP",
        ipv6::NEXTHDR_ICMPV6 => "ICMPv6",
        _ => return Ok(()),
    };
    if ip.proto == PROTO_UDP && upper.len() >= 8 && upper[6..8] == [0, 0] {
        return Err(ChecksumError::Bad("UDP"));
    }
    if pseudo_checksum(ip.src, ip.final_dst(), ip.proto, upper) != 0 {
        return Err(ChecksumError::Bad(name));
    }
    Ok(())
}

/// A new TCP header with the fields the simulator sets.
pub fn tcp_header(sport: u16, dport: u16, seq: u32, ack: Option<u32>, window: u16) -> TcpHeader {
    let mut h = TcpHeader::new(sport, dport, seq, window);
    if let Some(a) = ack {
        h.ack = true;
        h.acknowledgment_number = a;
    }
    h
}

pub fn udp_header(sport: u16, dport: u16) -> UdpHeader {
    UdpHeader {
        source_port: sport,
        destination_port: dport,
        length: 0,
        checksum: 0,
    }
}

/// A one-line summary of a frame as tcpdump would print its layer-3/4 part.
/// A frame's packet as typed facts (see [`PktInfo`]).
pub fn pkt_info(frame: &Frame) -> PktInfo {
    match &frame.payload {
        L3::Arp(_) => PktInfo {
            kind: PktKind::Arp,
            ..Default::default()
        },
        L3::Ipv4(ip) => pkt_info_ip(ip),
        L3::Ipv6(ip) => pkt_info_ip6(ip),
        L3::Other { .. } => PktInfo::default(),
    }
}

/// An IP packet as typed facts: for VXLAN and IP-in-IP, the packet inside
/// (WireGuard's payload is opaque: its outer UDP header is what is known).
pub fn pkt_info_ip(ip: &Ipv4Repr) -> PktInfo {
    let base = PktInfo {
        src: Some(IpAddr::V4(ip.src())),
        dst: Some(IpAddr::V4(ip.dst())),
        ..Default::default()
    };
    if let Some(i) = transport_info(base, &ip.l4) {
        return i;
    }
    match &ip.l4 {
        L4::Raw(b) => {
            if ip.proto() == 4 {
                if let Ok(inner) = Ipv4Repr::parse(b) {
                    return PktInfo {
                        encap: true,
                        ..pkt_info_ip(&inner)
                    };
                }
            }
            // SCTP: its ports (the common header's first 4 bytes)
            let (sport, dport) = ip.ports().unwrap_or((0, 0));
            PktInfo {
                kind: PktKind::Ip,
                sport,
                dport,
                ..base
            }
        }
        // ICMPv6 in an IPv4 packet: not a message a stack sends.
        _ => PktInfo {
            kind: PktKind::Ip,
            ..base
        },
    }
}

/// A frame's one-line summary and its typed facts, as a hop records them.
pub fn describe(frame: &Frame) -> (String, PktInfo) {
    (summarize(frame), pkt_info(frame))
}

/// An IP packet's one-line summary and its typed facts.
pub fn describe_ip(ip: &Ipv4Repr) -> (String, PktInfo) {
    (summarize_ip(ip), pkt_info_ip(ip))
}

pub fn summarize(frame: &Frame) -> String {
    match &frame.payload {
        L3::Arp(a) => a.to_string(),
        L3::Ipv4(ip) => summarize_ip(ip),
        L3::Ipv6(ip) => summarize_ip6(ip),
        L3::Other { ethertype, bytes } => {
            format!("ethertype 0x{ethertype:04x} length {}", bytes.len())
        }
    }
}

/// `addr:port`, an IPv6 address in brackets (RFC 5952 §6).
pub fn endpoint(a: IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => ipv6::with_port(a, port),
    }
}

/// The summary of a TCP, UDP or ICMP payload between two addresses, the
/// same for both families; `None` for another protocol.
fn summarize_transport(src: IpAddr, dst: IpAddr, l4: &L4) -> Option<String> {
    let ends = |sp: u16, dp: u16| format!("{} > {}", endpoint(src, sp), endpoint(dst, dp));
    Some(match l4 {
        L4::Tcp { hdr, payload } => {
            let mut s = format!(
                "TCP {} [{}] seq {}",
                ends(hdr.source_port, hdr.destination_port),
                tcp_flags_str(hdr),
                hdr.sequence_number
            );
            if hdr.ack {
                s.push_str(&format!(" ack {}", hdr.acknowledgment_number));
            }
            s.push_str(&format!(" len {}", payload.len()));
            s
        }
        L4::Udp { hdr, payload } => {
            let e = ends(hdr.source_port, hdr.destination_port);
            if let Some(v) = vxlan::VxlanRepr::parse_udp(hdr.destination_port, payload) {
                format!(
                    "UDP {e} VXLAN vni {} [{}]",
                    v.vni,
                    match Frame::parse(&v.inner) {
                        Ok(f) => summarize(&f),
                        Err(e) => e.to_string(),
                    }
                )
            } else if let Some(w) = wireguard::WgData::parse(payload) {
                format!(
                    "UDP {e} WireGuard transport idx {:#010x} counter {} len {}",
                    w.receiver,
                    w.counter,
                    payload.len()
                )
            } else {
                format!("UDP {e} len {}", payload.len())
            }
        }
        L4::Icmp(i) => format!("ICMP {src} > {dst} {i}"),
        L4::Icmp6(i) => format!("ICMP6 {src} > {dst} {i}"),
        L4::Raw(_) => return None,
    })
}

/// An IPv6 packet's one-line summary: the transport's, after the
/// extension headers that are not the usual (every one but none).
pub fn summarize_ip6(ip: &Ipv6Repr) -> String {
    let (src, dst) = (IpAddr::V6(ip.src), IpAddr::V6(ip.dst));
    let body = summarize_transport(src, dst, &ip.l4).unwrap_or_else(|| {
        format!(
            "IP6 {src} > {dst} proto {} len {}",
            ip.proto,
            ip.l4_bytes().len()
        )
    });
    if ip.exts.is_empty() {
        return body;
    }
    let exts: Vec<String> = ip.exts.iter().map(ToString::to_string).collect();
    format!("{body} ({})", exts.join(", "))
}

/// An IPv6 packet as typed facts.
pub fn pkt_info_ip6(ip: &Ipv6Repr) -> PktInfo {
    let base = PktInfo {
        src: Some(IpAddr::V6(ip.src)),
        dst: Some(IpAddr::V6(ip.dst)),
        ..Default::default()
    };
    transport_info(base, &ip.l4).unwrap_or(PktInfo {
        kind: PktKind::Ip,
        ..base
    })
}

/// TCP, UDP (and what VXLAN carries), ICMP facts of either family.
fn transport_info(base: PktInfo, l4: &L4) -> Option<PktInfo> {
    Some(match l4 {
        L4::Tcp { hdr, .. } => PktInfo {
            kind: PktKind::Tcp,
            sport: hdr.source_port,
            dport: hdr.destination_port,
            tcp_flags: tcp_flag_bits(hdr),
            seq: Some(hdr.sequence_number),
            ack: hdr.ack.then_some(hdr.acknowledgment_number),
            ..base
        },
        L4::Udp { hdr, payload } => {
            if let Some(v) = vxlan::VxlanRepr::parse_udp(hdr.destination_port, payload) {
                if let Ok(f) = Frame::parse(&v.inner) {
                    return Some(PktInfo {
                        encap: true,
                        ..pkt_info(&f)
                    });
                }
            }
            PktInfo {
                kind: PktKind::Udp,
                sport: hdr.source_port,
                dport: hdr.destination_port,
                ..base
            }
        }
        L4::Icmp(_) => PktInfo {
            kind: PktKind::Icmp,
            ..base
        },
        L4::Icmp6(i) => PktInfo {
            kind: if i.is_ndp() {
                PktKind::Ndp
            } else {
                PktKind::Icmp6
            },
            ..base
        },
        L4::Raw(_) => return None,
    })
}

pub fn summarize_ip(ip: &Ipv4Repr) -> String {
    if let Some(s) = summarize_transport(IpAddr::V4(ip.src()), IpAddr::V4(ip.dst()), &ip.l4) {
        return s;
    }
    match &ip.l4 {
        L4::Raw(_) if ip.sctp().is_some() => {
            let p = ip.sctp().expect("parsed");
            let names: Vec<String> = p
                .chunks
                .iter()
                .map(|c| c.name().to_uppercase().replace('-', "_"))
                .collect();
            let data: usize = p
                .chunks
                .iter()
                .filter_map(|c| c.as_data())
                .map(|d| d.payload.len())
                .sum();
            format!(
                "SCTP {}:{} > {}:{} [{}] vtag {:#x} len {data}",
                ip.src(),
                p.sport,
                ip.dst(),
                p.dport,
                names.join(","),
                p.vtag
            )
        }
        L4::Raw(b) => format!(
            "IP {} > {} proto {} len {}",
            ip.src(),
            ip.dst(),
            ip.proto(),
            b.len()
        ),
        _ => format!("IP {} > {} proto {}", ip.src(), ip.dst(), ip.proto()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Frame {
        let mut tcp = tcp_header(40000, 80, 1000, None, 64240);
        tcp.syn = true;
        let ip = Ipv4Repr::new(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            64,
            7,
            L4::Tcp {
                hdr: tcp,
                payload: vec![],
            },
        );
        Frame {
            src: Mac::derived("a"),
            dst: Mac::derived("b"),
            payload: L3::Ipv4(ip),
        }
    }

    #[test]
    fn roundtrip_keeps_bytes_and_checksums() {
        let f = sample();
        let bytes = f.emit();
        assert_eq!(bytes.len(), 14 + 20 + 20);
        verify_checksums(&bytes).unwrap();
        let back = Frame::parse(&bytes).unwrap();
        assert_eq!(back.emit(), bytes);
        assert_eq!(
            summarize(&back),
            "TCP 10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1000 len 0"
        );
    }

    #[test]
    fn rewrite_updates_checksums() {
        let mut f = sample();
        let before = f.emit();
        f.ipv4_mut().unwrap().set_dst(Ipv4Addr::new(10, 244, 0, 16));
        f.ipv4_mut().unwrap().set_dport(8080);
        let after = f.emit();
        assert_ne!(before, after);
        verify_checksums(&after).unwrap();
        let mut corrupt = after.clone();
        corrupt[14 + 20 + 16] ^= 0xff;
        assert!(verify_checksums(&corrupt).is_err());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let bytes = sample().emit();
        for n in 0..bytes.len() {
            let _ = Frame::parse(&bytes[..n]);
        }
        assert!(Frame::parse(&bytes[..20]).is_err());
    }

    #[test]
    fn mac_parse_and_display() {
        let m = Mac::parse("02:42:c0:a8:31:02").unwrap();
        assert_eq!(m.to_string(), "02:42:c0:a8:31:02");
        assert!(Mac::parse("02:42:c0:a8:31").is_none());
        assert!(Mac::parse("zz:42:c0:a8:31:02").is_none());
        assert!(!Mac::derived("x").is_multicast());
    }
}
