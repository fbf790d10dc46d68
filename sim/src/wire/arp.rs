//! ARP for Ethernet/IPv4 (RFC 826): 28 bytes after the Ethernet header.

use std::fmt;
use std::net::Ipv4Addr;

use super::{Mac, WireError};

pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    pub fn parse(b: &[u8]) -> Result<ArpRepr, WireError> {
        if b.len() < 28 {
            return Err(WireError::Truncated(format!(
                "ARP needs 28 bytes, got {}",
                b.len()
            )));
        }
        let htype = u16::from_be_bytes([b[0], b[1]]);
        let ptype = u16::from_be_bytes([b[2], b[3]]);
        if htype != 1 || ptype != 0x0800 || b[4] != 6 || b[5] != 4 {
            return Err(WireError::Malformed {
                layer: "ARP",
                detail: format!("not Ethernet/IPv4 (htype {htype}, ptype 0x{ptype:04x})"),
            });
        }
        let m = |o: usize| Mac([b[o], b[o + 1], b[o + 2], b[o + 3], b[o + 4], b[o + 5]]);
        let ip = |o: usize| Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]);
        Ok(ArpRepr {
            op: u16::from_be_bytes([b[6], b[7]]),
            sender_mac: m(8),
            sender_ip: ip(14),
            target_mac: m(18),
            target_ip: ip(24),
        })
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28);
        out.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
        out.extend_from_slice(&self.op.to_be_bytes());
        out.extend_from_slice(&self.sender_mac.0);
        out.extend_from_slice(&self.sender_ip.octets());
        out.extend_from_slice(&self.target_mac.0);
        out.extend_from_slice(&self.target_ip.octets());
        out
    }
}

impl fmt::Display for ArpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            OP_REQUEST => write!(f, "ARP who-has {} tell {}", self.target_ip, self.sender_ip),
            OP_REPLY => write!(f, "ARP {} is-at {}", self.sender_ip, self.sender_mac),
            op => write!(f, "ARP op {op}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roundtrip() {
        let a = ArpRepr {
            op: OP_REQUEST,
            sender_mac: Mac::derived("x"),
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: Mac::ZERO,
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        };
        let b = a.emit();
        assert_eq!(b.len(), 28);
        assert_eq!(ArpRepr::parse(&b).unwrap(), a);
        assert_eq!(a.to_string(), "ARP who-has 10.0.0.2 tell 10.0.0.1");
        assert!(ArpRepr::parse(&b[..27]).is_err());
    }
}
