//! VXLAN (RFC 7348): an 8-byte header (flags with the I bit, 24-bit VNI) in a UDP
//! datagram, followed by the inner Ethernet frame.

pub const IANA_PORT: u16 = 4789;
/// The port Linux uses when a vxlan device is created without `dstport`.
pub const LINUX_DEFAULT_PORT: u16 = 8472;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VxlanRepr {
    pub vni: u32,
    pub inner: Vec<u8>,
}

impl VxlanRepr {
    pub fn parse(b: &[u8]) -> Option<VxlanRepr> {
        if b.len() < 8 + 14 || b[0] & 0x08 == 0 {
            return None;
        }
        Some(VxlanRepr {
            vni: u32::from_be_bytes([0, b[4], b[5], b[6]]),
            inner: b[8..].to_vec(),
        })
    }

    /// Parses a UDP payload as VXLAN when the port is one of the VXLAN ports.
    pub fn parse_udp(dport: u16, payload: &[u8]) -> Option<VxlanRepr> {
        if dport == IANA_PORT || dport == LINUX_DEFAULT_PORT {
            Self::parse(payload)
        } else {
            None
        }
    }

    pub fn emit(&self) -> Vec<u8> {
        let v = self.vni.to_be_bytes();
        let mut out = vec![0x08, 0, 0, 0, v[1], v[2], v[3], 0];
        out.extend_from_slice(&self.inner);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn roundtrip() {
        let v = VxlanRepr {
            vni: 1,
            inner: vec![0u8; 60],
        };
        let b = v.emit();
        assert_eq!(&b[..8], &[0x08, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(VxlanRepr::parse(&b).unwrap(), v);
        assert!(VxlanRepr::parse(&b[..10]).is_none());
    }
}
