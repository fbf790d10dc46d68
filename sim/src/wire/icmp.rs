//! ICMPv4 (RFC 792): type, code, checksum, the 4-byte rest of header, payload.
//! Error messages quote the offending IP header and the first 8 bytes after it.

use std::fmt;

use super::{internet_checksum, WireError};

pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACH: u8 = 3;
pub const ECHO_REQUEST: u8 = 8;
pub const TIME_EXCEEDED: u8 = 11;
/// Timestamp request and reply (RFC 792): id, seq, then originate,
/// receive and transmit timestamps (ms since midnight UT, 32 bits each).
pub const TIMESTAMP: u8 = 13;
pub const TIMESTAMP_REPLY: u8 = 14;

/// `inet_current_timestamp` (net/ipv4/af_inet.c): ms since midnight UT of
/// the virtual clock (its second 0 is 1970-01-01 00:00 UTC).
pub fn ms_since_midnight(now_ns: u64) -> u32 {
    ((now_ns / 1_000_000) % 86_400_000) as u32
}

pub const CODE_NET_UNREACH: u8 = 0;
pub const CODE_HOST_UNREACH: u8 = 1;
pub const CODE_PORT_UNREACH: u8 = 3;
pub const CODE_FRAG_NEEDED: u8 = 4;
pub const CODE_NET_PROHIBITED: u8 = 9;
pub const CODE_HOST_PROHIBITED: u8 = 10;
pub const CODE_ADMIN_PROHIBITED: u8 = 13;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpRepr {
    pub icmp_type: u8,
    pub code: u8,
    /// Bytes 4..8: identifier and sequence for echo, next-hop MTU for
    /// fragmentation-needed, unused otherwise.
    pub rest: [u8; 4],
    pub payload: Vec<u8>,
}

impl IcmpRepr {
    pub fn parse(b: &[u8]) -> Result<IcmpRepr, WireError> {
        if b.len() < 8 {
            return Err(WireError::Truncated(format!(
                "ICMP needs 8 bytes, got {}",
                b.len()
            )));
        }
        Ok(IcmpRepr {
            icmp_type: b[0],
            code: b[1],
            rest: [b[4], b[5], b[6], b[7]],
            payload: b[8..].to_vec(),
        })
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut out = vec![self.icmp_type, self.code, 0, 0];
        out.extend_from_slice(&self.rest);
        out.extend_from_slice(&self.payload);
        let c = internet_checksum(&out);
        out[2..4].copy_from_slice(&c.to_be_bytes());
        out
    }

    pub fn is_error(&self) -> bool {
        matches!(self.icmp_type, DEST_UNREACH | TIME_EXCEEDED | 4 | 5 | 12)
    }

    /// The echo identifier (conntrack's key for echo request/reply).
    pub fn echo_id(&self) -> u16 {
        u16::from_be_bytes([self.rest[0], self.rest[1]])
    }

    /// An error message quoting `quoted_ip`, as Linux's `icmp_send` does:
    /// as much of the offending packet as keeps the error within 576 bytes
    /// (RFC 1812), so 548 bytes after the outer IP and ICMP headers.
    pub fn error(icmp_type: u8, code: u8, rest: [u8; 4], quoted_ip: &[u8]) -> IcmpRepr {
        let n = quoted_ip.len().min(576 - 20 - 8);
        IcmpRepr {
            icmp_type,
            code,
            rest,
            payload: quoted_ip[..n].to_vec(),
        }
    }
}

impl fmt::Display for IcmpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.icmp_type, self.code) {
            (ECHO_REQUEST, _) => write!(f, "echo request id {}", self.echo_id()),
            (ECHO_REPLY, _) => write!(f, "echo reply id {}", self.echo_id()),
            (TIMESTAMP, _) => write!(f, "timestamp request id {}", self.echo_id()),
            (TIMESTAMP_REPLY, _) => write!(f, "timestamp reply id {}", self.echo_id()),
            (DEST_UNREACH, CODE_NET_UNREACH) => write!(f, "net unreachable"),
            (DEST_UNREACH, CODE_HOST_UNREACH) => write!(f, "host unreachable"),
            (DEST_UNREACH, CODE_PORT_UNREACH) => write!(f, "port unreachable"),
            (DEST_UNREACH, CODE_FRAG_NEEDED) => write!(
                f,
                "fragmentation needed, next-hop MTU {}",
                u16::from_be_bytes([self.rest[2], self.rest[3]])
            ),
            (DEST_UNREACH, CODE_ADMIN_PROHIBITED) => {
                write!(f, "communication administratively prohibited")
            }
            (DEST_UNREACH, CODE_HOST_PROHIBITED) => write!(f, "host prohibited"),
            (DEST_UNREACH, CODE_NET_PROHIBITED) => write!(f, "net prohibited"),
            (TIME_EXCEEDED, _) => write!(f, "time exceeded in transit"),
            (t, c) => write!(f, "type {t} code {c}"),
        }
    }
}
