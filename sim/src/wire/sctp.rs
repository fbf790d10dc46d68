//! SCTP (RFC 9260): the common header and the chunks a probe and a Service
//! need, as a typed view (smoltcp's `Repr` pattern).
//!
//! Common header (RFC 9260 §3.1): source port, destination port,
//! verification tag, checksum. The checksum is CRC32c (Castagnoli, RFC 9260
//! appendix A/B) over the whole packet with the checksum field zero, stored
//! as the kernel stores it: include/net/sctp/checksum.h `sctp_compute_cksum`
//! returns `cpu_to_le32(~crc32c(~0, ...))`, i.e. the CRC's bytes least
//! significant first.
//!
//! Chunks (RFC 9260 §3.2): type, flags, length (without padding), value,
//! padded to 4 bytes. Typed constructors exist for INIT, INIT ACK (with a
//! State Cookie parameter), COOKIE ECHO, COOKIE ACK, ABORT (T bit), DATA,
//! SACK, HEARTBEAT/HEARTBEAT ACK and the SHUTDOWN family; any other chunk is
//! kept as its bytes. Simplification: no multihoming address parameters
//! beyond what is carried, no PR-SCTP (FORWARD TSN), no AUTH/ASCONF, no
//! bundling rules beyond "chunks in order".

use crc::{Crc, CRC_32_ISCSI};

/// IP protocol number of SCTP.
pub const PROTO_SCTP: u8 = 132;

pub const DATA: u8 = 0;
pub const INIT: u8 = 1;
pub const INIT_ACK: u8 = 2;
pub const SACK: u8 = 3;
pub const HEARTBEAT: u8 = 4;
pub const HEARTBEAT_ACK: u8 = 5;
pub const ABORT: u8 = 6;
pub const SHUTDOWN: u8 = 7;
pub const SHUTDOWN_ACK: u8 = 8;
pub const ERROR: u8 = 9;
pub const COOKIE_ECHO: u8 = 10;
pub const COOKIE_ACK: u8 = 11;
pub const SHUTDOWN_COMPLETE: u8 = 14;

/// Chunk flag T (ABORT, SHUTDOWN COMPLETE): the verification tag is the
/// receiver's own, reflected (RFC 9260 §3.3.7, §8.5.1).
pub const FLAG_T: u8 = 0x01;
/// DATA flags: unfragmented message (B and E bits).
pub const DATA_BE: u8 = 0x03;

/// INIT/INIT ACK parameter type of the State Cookie (RFC 9260 §3.3.3.1).
pub const PARAM_STATE_COOKIE: u16 = 7;
/// INIT parameter type of an IPv4 address (RFC 9260 §3.3.2.1).
pub const PARAM_IPV4: u16 = 5;

const CRC32C: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// CRC32c of `bytes` (reflected, init and xorout all ones: RFC 9260
/// appendix A; the iSCSI polynomial 0x1EDC6F41).
pub fn crc32c(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
}

/// The checksum field's value of an SCTP packet: CRC32c over the packet with
/// the checksum field taken as zero.
pub fn packet_crc(pkt: &[u8]) -> u32 {
    let mut d = CRC32C.digest();
    d.update(&pkt[..8]);
    d.update(&[0; 4]);
    d.update(&pkt[12..]);
    d.finalize()
}

/// Whether the packet's checksum is right (net/sctp/input.c
/// `sctp_rcv_checksum`). False for fewer than 12 bytes.
pub fn checksum_ok(pkt: &[u8]) -> bool {
    pkt.len() >= 12 && packet_crc(pkt).to_le_bytes() == pkt[8..12]
}

/// Writes the right checksum into an SCTP packet (nf_nat_proto.c
/// `sctp_manip_pkt` after a port rewrite: `sctp_compute_cksum`).
pub fn fix_checksum(pkt: &mut [u8]) {
    if pkt.len() >= 12 {
        let c = packet_crc(pkt).to_le_bytes();
        pkt[8..12].copy_from_slice(&c);
    }
}

/// One chunk: type, flags and value (without the 4-byte chunk header and
/// without padding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub ty: u8,
    pub flags: u8,
    pub value: Vec<u8>,
}

/// The fixed part of INIT and INIT ACK (RFC 9260 §3.3.2, §3.3.3) and its
/// parameters as (type, value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Init {
    pub init_tag: u32,
    pub a_rwnd: u32,
    pub out_streams: u16,
    pub in_streams: u16,
    pub init_tsn: u32,
    pub params: Vec<(u16, Vec<u8>)>,
}

/// A DATA chunk's fields (RFC 9260 §3.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    pub tsn: u32,
    pub stream: u16,
    pub ssn: u16,
    pub ppid: u32,
    pub payload: Vec<u8>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Appends `value` as a TLV (type, length without padding, value, padding
/// to 4): the layout of chunks and of parameters alike.
fn push_tlv(out: &mut Vec<u8>, head: [u8; 2], value: &[u8]) {
    out.extend_from_slice(&head);
    out.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
}

impl Init {
    pub fn parse(v: &[u8]) -> Option<Init> {
        if v.len() < 16 {
            return None;
        }
        let mut params = Vec::new();
        let mut at = 16;
        while at + 4 <= v.len() {
            let ty = be16(v, at);
            let len = be16(v, at + 2) as usize;
            if len < 4 || at + len > v.len() {
                return None;
            }
            params.push((ty, v[at + 4..at + len].to_vec()));
            at += len.next_multiple_of(4);
        }
        Some(Init {
            init_tag: be32(v, 0),
            a_rwnd: be32(v, 4),
            out_streams: be16(v, 8),
            in_streams: be16(v, 10),
            init_tsn: be32(v, 12),
            params,
        })
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(32);
        v.extend_from_slice(&self.init_tag.to_be_bytes());
        v.extend_from_slice(&self.a_rwnd.to_be_bytes());
        v.extend_from_slice(&self.out_streams.to_be_bytes());
        v.extend_from_slice(&self.in_streams.to_be_bytes());
        v.extend_from_slice(&self.init_tsn.to_be_bytes());
        for (ty, val) in &self.params {
            push_tlv(&mut v, ty.to_be_bytes(), val);
        }
        // The last parameter's padding is part of the chunk length only
        // between parameters (RFC 9260 §3.2: the last chunk's padding is
        // not counted); trimmed here, added back by the chunk's padding.
        if let Some((_, val)) = self.params.last() {
            v.truncate(v.len() - (val.len().next_multiple_of(4) - val.len()));
        }
        v
    }

    /// The State Cookie parameter's value, if any.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(t, _)| *t == PARAM_STATE_COOKIE)
            .map(|(_, v)| v.as_slice())
    }
}

impl Chunk {
    pub fn init(i: &Init) -> Chunk {
        Chunk {
            ty: INIT,
            flags: 0,
            value: i.emit(),
        }
    }
    pub fn init_ack(i: &Init) -> Chunk {
        Chunk {
            ty: INIT_ACK,
            flags: 0,
            value: i.emit(),
        }
    }
    pub fn cookie_echo(cookie: &[u8]) -> Chunk {
        Chunk {
            ty: COOKIE_ECHO,
            flags: 0,
            value: cookie.to_vec(),
        }
    }
    pub fn cookie_ack() -> Chunk {
        Chunk {
            ty: COOKIE_ACK,
            flags: 0,
            value: Vec::new(),
        }
    }
    /// ABORT; `t` sets the T bit (the tag is the receiver's, reflected).
    pub fn abort(t: bool) -> Chunk {
        Chunk {
            ty: ABORT,
            flags: if t { FLAG_T } else { 0 },
            value: Vec::new(),
        }
    }
    pub fn data(d: &Data) -> Chunk {
        let mut v = Vec::with_capacity(12 + d.payload.len());
        v.extend_from_slice(&d.tsn.to_be_bytes());
        v.extend_from_slice(&d.stream.to_be_bytes());
        v.extend_from_slice(&d.ssn.to_be_bytes());
        v.extend_from_slice(&d.ppid.to_be_bytes());
        v.extend_from_slice(&d.payload);
        Chunk {
            ty: DATA,
            flags: DATA_BE,
            value: v,
        }
    }
    /// SACK with no gap blocks and no duplicates (RFC 9260 §3.3.4).
    pub fn sack(cum_tsn: u32, a_rwnd: u32) -> Chunk {
        let mut v = Vec::with_capacity(12);
        v.extend_from_slice(&cum_tsn.to_be_bytes());
        v.extend_from_slice(&a_rwnd.to_be_bytes());
        v.extend_from_slice(&[0; 4]);
        Chunk {
            ty: SACK,
            flags: 0,
            value: v,
        }
    }
    pub fn shutdown(cum_tsn: u32) -> Chunk {
        Chunk {
            ty: SHUTDOWN,
            flags: 0,
            value: cum_tsn.to_be_bytes().to_vec(),
        }
    }
    pub fn shutdown_ack() -> Chunk {
        Chunk {
            ty: SHUTDOWN_ACK,
            flags: 0,
            value: Vec::new(),
        }
    }
    pub fn shutdown_complete(t: bool) -> Chunk {
        Chunk {
            ty: SHUTDOWN_COMPLETE,
            flags: if t { FLAG_T } else { 0 },
            value: Vec::new(),
        }
    }
    /// HEARTBEAT (or its ACK) with a Heartbeat Info parameter (type 1).
    pub fn heartbeat(ack: bool, info: &[u8]) -> Chunk {
        let mut v = Vec::new();
        push_tlv(&mut v, 1u16.to_be_bytes(), info);
        v.truncate(4 + info.len());
        Chunk {
            ty: if ack { HEARTBEAT_ACK } else { HEARTBEAT },
            flags: 0,
            value: v,
        }
    }

    /// The INIT / INIT ACK fields.
    pub fn as_init(&self) -> Option<Init> {
        matches!(self.ty, INIT | INIT_ACK)
            .then(|| Init::parse(&self.value))
            .flatten()
    }
    /// The DATA fields.
    pub fn as_data(&self) -> Option<Data> {
        let v = &self.value;
        (self.ty == DATA && v.len() >= 12).then(|| Data {
            tsn: be32(v, 0),
            stream: be16(v, 4),
            ssn: be16(v, 6),
            ppid: be32(v, 8),
            payload: v[12..].to_vec(),
        })
    }

    /// The chunk's name as tshark and nft write it.
    pub fn name(&self) -> &'static str {
        chunk_name(self.ty)
    }
}

/// A chunk type's name (nft's `sctp chunk` keywords).
pub fn chunk_name(ty: u8) -> &'static str {
    match ty {
        DATA => "data",
        INIT => "init",
        INIT_ACK => "init-ack",
        SACK => "sack",
        HEARTBEAT => "heartbeat",
        HEARTBEAT_ACK => "heartbeat-ack",
        ABORT => "abort",
        SHUTDOWN => "shutdown",
        SHUTDOWN_ACK => "shutdown-ack",
        ERROR => "error",
        COOKIE_ECHO => "cookie-echo",
        COOKIE_ACK => "cookie-ack",
        12 => "ecne",
        13 => "cwr",
        SHUTDOWN_COMPLETE => "shutdown-complete",
        64 => "i-data",
        128 => "asconf-ack",
        130 => "re-config",
        132 => "pad",
        192 => "forward-tsn",
        193 => "asconf",
        194 => "i-forward-tsn",
        _ => "unknown",
    }
}

/// An SCTP packet: the common header and its chunks. The checksum is not
/// kept: [`SctpRepr::emit`] computes it, [`checksum_ok`] checks bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SctpRepr {
    pub sport: u16,
    pub dport: u16,
    pub vtag: u32,
    pub chunks: Vec<Chunk>,
}

impl SctpRepr {
    /// Parses the common header and the chunks; `None` when a chunk length
    /// runs past the end or is under 4 (net/sctp/inqueue.c drops those).
    pub fn parse(b: &[u8]) -> Option<SctpRepr> {
        if b.len() < 12 {
            return None;
        }
        let mut chunks = Vec::new();
        let mut at = 12;
        while at + 4 <= b.len() {
            let len = be16(b, at + 2) as usize;
            if len < 4 || at + len > b.len() {
                return None;
            }
            chunks.push(Chunk {
                ty: b[at],
                flags: b[at + 1],
                value: b[at + 4..at + len].to_vec(),
            });
            at += len.next_multiple_of(4);
        }
        Some(SctpRepr {
            sport: be16(b, 0),
            dport: be16(b, 2),
            vtag: be32(b, 4),
            chunks,
        })
    }

    /// The bytes, chunks padded to 4, with the CRC32c checksum.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.sport.to_be_bytes());
        out.extend_from_slice(&self.dport.to_be_bytes());
        out.extend_from_slice(&self.vtag.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        for c in &self.chunks {
            push_tlv(&mut out, [c.ty, c.flags], &c.value);
        }
        fix_checksum(&mut out);
        out
    }

    /// The first chunk's type (conntrack and the stack dispatch on it).
    pub fn first_chunk(&self) -> Option<u8> {
        self.chunks.first().map(|c| c.ty)
    }

    /// A short description: `SCTP 1000 > 83 vtag 0x0 INIT` (chunk names
    /// upper-case, as tshark's Info column).
    pub fn summary(&self) -> String {
        let names: Vec<String> = self
            .chunks
            .iter()
            .map(|c| c.name().to_uppercase().replace('-', "_"))
            .collect();
        format!(
            "SCTP {} > {} vtag {:#x} {}",
            self.sport,
            self.dport,
            self.vtag,
            names.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3720 §B.4 CRC32c test vectors (the same CRC as SCTP).
    #[test]
    fn crc32c_rfc3720_vectors() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        let inc: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&inc), 0x46dd_794e);
        let dec: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&dec), 0x113f_db5c);
    }

    /// Scapy's SCTP regression test (test/scapy/layers/sctp.uts, the
    /// "Chunk Init, build" case): `IP()/SCTP()/SCTPChunkInit(params=[IPv4Addr])`,
    /// checksum bytes 40 2c 0b 5f on the wire.
    const SCAPY_INIT: [u8; 40] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x2c, 0x0b, 0x5f, 0x01, 0x00, 0x00, 0x1c, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x05, 0x00, 0x08, 0x7f, 0x00, 0x00, 0x01,
    ];

    #[test]
    fn known_good_init() {
        assert!(checksum_ok(&SCAPY_INIT));
        let p = SctpRepr::parse(&SCAPY_INIT).unwrap();
        assert_eq!(p.chunks.len(), 1);
        let i = p.chunks[0].as_init().unwrap();
        assert_eq!(i.params, vec![(PARAM_IPV4, vec![127, 0, 0, 1])]);
        assert_eq!(p.emit(), SCAPY_INIT.to_vec());
        let mut bad = SCAPY_INIT;
        bad[1] = 1;
        assert!(!checksum_ok(&bad));
        fix_checksum(&mut bad);
        assert!(checksum_ok(&bad));
    }

    #[test]
    fn handshake_chunks_roundtrip() {
        let ack = Init {
            init_tag: 0x1234_5678,
            a_rwnd: 106_496,
            out_streams: 10,
            in_streams: 65535,
            init_tsn: 7,
            params: vec![(PARAM_STATE_COOKIE, vec![1, 2, 3, 4, 5])],
        };
        let p = SctpRepr {
            sport: 83,
            dport: 40000,
            vtag: 9,
            chunks: vec![Chunk::init_ack(&ack)],
        };
        let b = p.emit();
        assert_eq!(b.len() % 4, 0);
        // chunk length counts the cookie parameter without its padding
        assert_eq!(be16(&b, 14) as usize, 4 + 16 + 4 + 5);
        assert!(checksum_ok(&b));
        let q = SctpRepr::parse(&b).unwrap();
        assert_eq!(
            q.chunks[0].as_init().unwrap().cookie(),
            Some(&[1, 2, 3, 4, 5][..])
        );
        let d = Data {
            tsn: 7,
            stream: 0,
            ssn: 0,
            ppid: 0,
            payload: b"hi".to_vec(),
        };
        let p = SctpRepr {
            sport: 1,
            dport: 2,
            vtag: 3,
            chunks: vec![Chunk::cookie_echo(&[1, 2, 3, 4, 5]), Chunk::data(&d)],
        };
        let q = SctpRepr::parse(&p.emit()).unwrap();
        assert_eq!(q, p);
        assert_eq!(q.chunks[1].as_data().unwrap(), d);
        assert_eq!(q.summary(), "SCTP 1 > 2 vtag 0x3 COOKIE_ECHO,DATA");
        assert!(SctpRepr::parse(&[0; 11]).is_none());
        assert!(SctpRepr::parse(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 40]).is_none());
    }

    /// A DNAT-style port rewrite through the IPv4 view keeps the CRC32c
    /// right (nf_nat_proto.c sctp_manip_pkt).
    #[test]
    fn ipv4_port_rewrite_recomputes_crc() {
        use crate::wire::{verify_checksums, Frame, Ipv4Repr, Mac, L3, L4};
        let ip = Ipv4Repr::new(
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            64,
            1,
            L4::Raw(SCAPY_INIT.to_vec()),
        )
        .with_protocol(PROTO_SCTP);
        let mut f = Frame {
            src: Mac::ZERO,
            dst: Mac::ZERO,
            payload: L3::Ipv4(ip),
        };
        let ip = f.ipv4_mut().unwrap();
        assert_eq!(ip.ports(), Some((0, 0)));
        ip.set_dport(83);
        ip.set_sport(40000);
        assert_eq!(ip.ports(), Some((40000, 83)));
        let b = f.emit();
        assert_eq!(verify_checksums(&b), Ok(()));
        let g = Frame::parse(&b).unwrap();
        assert_eq!(g.ipv4().unwrap().sctp().unwrap().dport, 83);
        let mut bad = b.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert_eq!(
            verify_checksums(&bad),
            Err(crate::wire::ChecksumError::Bad("SCTP"))
        );
    }
}
