//! WireGuard transport data messages (type 4), as WireGuard (and Tailscale's
//! wireguard-go) put them in UDP:
//!
//! ```text
//! type (1) = 4 | reserved (3) = 0 | receiver index (4, LE) | counter (8, LE)
//! | encrypted packet (the inner IP packet zero-padded to a multiple of 16)
//! | authentication tag (16)
//! ```
//!
//! The encryption is not WireGuard's ChaCha20-Poly1305 with keys from a Noise
//! handshake: podpath XORs the padded packet with a ChaCha20 keystream keyed
//! by the session key and the counter, and the tag is a SHA-256 of the
//! ciphertext under the key. The wire carries opaque bytes of the real
//! sizes, and the receiving peer recovers the inner packet.

use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

pub const TYPE_TRANSPORT: u8 = 4;
pub const HEADER_LEN: usize = 16;
pub const TAG_LEN: usize = 16;
/// Tailscale's default WireGuard port.
pub const TAILSCALE_PORT: u16 = 41641;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgData {
    pub receiver: u32,
    pub counter: u64,
    /// Ciphertext and tag.
    pub sealed: Vec<u8>,
}

impl WgData {
    pub fn parse(b: &[u8]) -> Option<WgData> {
        if b.len() < HEADER_LEN + TAG_LEN || b[0] != TYPE_TRANSPORT || b[1..4] != [0, 0, 0] {
            return None;
        }
        if !(b.len() - HEADER_LEN - TAG_LEN).is_multiple_of(16) {
            return None;
        }
        Some(WgData {
            receiver: u32::from_le_bytes(b[4..8].try_into().ok()?),
            counter: u64::from_le_bytes(b[8..16].try_into().ok()?),
            sealed: b[16..].to_vec(),
        })
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut out = vec![TYPE_TRANSPORT, 0, 0, 0];
        out.extend_from_slice(&self.receiver.to_le_bytes());
        out.extend_from_slice(&self.counter.to_le_bytes());
        out.extend_from_slice(&self.sealed);
        out
    }

    /// The UDP payload size for an inner packet of `len` bytes.
    pub fn wire_len(len: usize) -> usize {
        HEADER_LEN + len.div_ceil(16) * 16 + TAG_LEN
    }
}

fn keystream(key: &[u8; 32], counter: u64, len: usize) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(*key);
    rng.set_stream(counter);
    let mut ks = vec![0u8; len];
    rng.fill_bytes(&mut ks);
    ks
}

fn tag(key: &[u8; 32], ct: &[u8]) -> [u8; TAG_LEN] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(ct);
    let d = h.finalize();
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(&d[..TAG_LEN]);
    t
}

/// Seals an inner packet for the peer: pad, encrypt, tag.
pub fn seal(key: &[u8; 32], receiver: u32, counter: u64, packet: &[u8]) -> WgData {
    let mut p = packet.to_vec();
    p.resize(packet.len().div_ceil(16) * 16, 0);
    let ks = keystream(key, counter, p.len());
    for (b, k) in p.iter_mut().zip(ks) {
        *b ^= k;
    }
    let t = tag(key, &p);
    p.extend_from_slice(&t);
    WgData {
        receiver,
        counter,
        sealed: p,
    }
}

/// Opens a message: checks the tag, decrypts; the result still carries the
/// padding (the inner IP header's total length says where the packet ends).
pub fn open(key: &[u8; 32], m: &WgData) -> Option<Vec<u8>> {
    let n = m.sealed.len().checked_sub(TAG_LEN)?;
    let (ct, t) = m.sealed.split_at(n);
    if tag(key, ct) != t {
        return None;
    }
    let ks = keystream(key, m.counter, ct.len());
    Some(ct.iter().zip(ks).map(|(c, k)| c ^ k).collect())
}

/// The session key two peers share (podpath's stand-in for the handshake):
/// derived from both public keys, the same on both sides.
pub fn session_key(a: &str, b: &str) -> [u8; 32] {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    let d = Sha256::digest(format!("podpath-wg-session\0{x}\0{y}").as_bytes());
    d.into()
}

/// The receiver index a peer `me` announced to `them` in the handshake.
pub fn index(me: &str, them: &str) -> u32 {
    let d = Sha256::digest(format!("podpath-wg-index\0{me}\0{them}").as_bytes());
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_sizes() {
        let k = session_key("a", "b");
        assert_eq!(k, session_key("b", "a"));
        let pkt = vec![0x45u8; 61];
        let m = seal(&k, 7, 3, &pkt);
        let b = m.emit();
        assert_eq!(b.len(), WgData::wire_len(61));
        assert_eq!(b.len(), 16 + 64 + 16);
        assert_eq!(&b[..4], &[4, 0, 0, 0]);
        let p = WgData::parse(&b).unwrap();
        assert_eq!(p, m);
        let opened = open(&k, &p).unwrap();
        assert_eq!(&opened[..61], &pkt[..]);
        // the ciphertext is not the plaintext, and a wrong key fails
        assert_ne!(&b[16..77], &pkt[..]);
        assert!(open(&session_key("a", "c"), &p).is_none());
    }
}
