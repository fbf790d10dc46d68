//! TLS 1.3 records as two Envoy sidecars exchange them for Istio mTLS: a
//! real ClientHello and ServerHello (SNI, ALPN, supported_versions,
//! key_share; tshark decodes them), the server's and the client's encrypted
//! handshake flights as application_data records of the sizes a SPIFFE
//! certificate chain gives, then the HTTP bytes in application_data
//! records.
//!
//! Simplification (also in `podpath explain`): no key exchange. Each
//! direction's key is derived from the connection's addresses, the payload
//! is XORed with a ChaCha20 keystream and followed by a 16-byte SHA-256 tag
//! (AES-GCM's tag size); the sizes on the wire are TLS 1.3's (5-byte header,
//! inner content type byte, 16-byte tag).

use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

pub const HANDSHAKE: u8 = 22;
pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const APPLICATION_DATA: u8 = 23;
pub const TAG_LEN: usize = 16;
/// The server's encrypted flight: EncryptedExtensions, CertificateRequest,
/// Certificate (workload certificate + istiod's root), CertificateVerify,
/// Finished.
pub const SERVER_FLIGHT_LEN: usize = 2_412;
/// The client's: Certificate, CertificateVerify, Finished.
pub const CLIENT_FLIGHT_LEN: usize = 1_604;

fn record(ct: u8, legacy: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ct];
    r.extend_from_slice(&legacy.to_be_bytes());
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut e = ty.to_be_bytes().to_vec();
    e.extend_from_slice(&(data.len() as u16).to_be_bytes());
    e.extend_from_slice(data);
    e
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![ty];
    h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    h
}

/// A ClientHello for `sni` offering TLS 1.3 (x25519), ALPN `alpn`.
pub fn client_hello(sni: &str, alpn: &[&str], rng: &mut impl Rng) -> Vec<u8> {
    let mut b = vec![3, 3];
    let mut random = [0u8; 32];
    rng.fill_bytes(&mut random);
    b.extend_from_slice(&random);
    let mut sid = [0u8; 32];
    rng.fill_bytes(&mut sid);
    b.push(32);
    b.extend_from_slice(&sid);
    // TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256
    b.extend_from_slice(&[0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03]);
    b.extend_from_slice(&[1, 0]);
    let mut exts = Vec::new();
    let mut sn = vec![0u8];
    sn.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sn.extend_from_slice(sni.as_bytes());
    let mut snl = (sn.len() as u16).to_be_bytes().to_vec();
    snl.extend_from_slice(&sn);
    exts.extend(ext(0, &snl));
    // supported_groups x25519, secp256r1
    exts.extend(ext(10, &[0, 4, 0, 0x1d, 0, 0x17]));
    // signature_algorithms
    exts.extend(ext(13, &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01]));
    let mut al = Vec::new();
    for a in alpn {
        al.push(a.len() as u8);
        al.extend_from_slice(a.as_bytes());
    }
    let mut all = (al.len() as u16).to_be_bytes().to_vec();
    all.extend_from_slice(&al);
    exts.extend(ext(16, &all));
    // supported_versions: TLS 1.3
    exts.extend(ext(43, &[2, 3, 4]));
    // psk_key_exchange_modes
    exts.extend(ext(45, &[1, 1]));
    // key_share: x25519
    let mut ks = vec![0, 36, 0, 0x1d, 0, 32];
    let mut pk = [0u8; 32];
    rng.fill_bytes(&mut pk);
    ks.extend_from_slice(&pk);
    exts.extend(ext(51, &ks));
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    record(HANDSHAKE, 0x0301, &handshake(1, &b))
}

/// ServerHello (TLS 1.3, TLS_AES_128_GCM_SHA256, x25519) + the middlebox
/// ChangeCipherSpec + the encrypted server flight.
pub fn server_flight(session_id: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut b = vec![3, 3];
    let mut random = [0u8; 32];
    rng.fill_bytes(&mut random);
    b.extend_from_slice(&random);
    b.push(session_id.len() as u8);
    b.extend_from_slice(session_id);
    b.extend_from_slice(&[0x13, 0x01, 0]);
    let mut exts = ext(43, &[3, 4]);
    let mut ks = vec![0, 0x1d, 0, 32];
    let mut pk = [0u8; 32];
    rng.fill_bytes(&mut pk);
    ks.extend_from_slice(&pk);
    exts.extend(ext(51, &ks));
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    let mut out = record(HANDSHAKE, 0x0303, &handshake(2, &b));
    out.extend(record(CHANGE_CIPHER_SPEC, 0x0303, &[1]));
    let mut enc = vec![0u8; SERVER_FLIGHT_LEN];
    rng.fill_bytes(&mut enc);
    out.extend(record(APPLICATION_DATA, 0x0303, &enc));
    out
}

/// The client's ChangeCipherSpec + encrypted flight.
pub fn client_flight(rng: &mut impl Rng) -> Vec<u8> {
    let mut out = record(CHANGE_CIPHER_SPEC, 0x0303, &[1]);
    let mut enc = vec![0u8; CLIENT_FLIGHT_LEN];
    rng.fill_bytes(&mut enc);
    out.extend(record(APPLICATION_DATA, 0x0303, &enc));
    out
}

/// The session id of a ClientHello record (echoed by the ServerHello).
pub fn hello_session_id(rec: &[u8]) -> Vec<u8> {
    // header 5, handshake 4, version 2, random 32, sid len
    let at = 5 + 4 + 2 + 32;
    let n = rec.get(at).copied().unwrap_or(0) as usize;
    rec.get(at + 1..at + 1 + n)
        .map(|s| s.to_vec())
        .unwrap_or_default()
}

/// One direction's key: from the connection's addresses and the direction.
pub fn direction_key(client: &str, server: &str, dir: &str) -> [u8; 32] {
    let d = Sha256::digest(format!("podpath-tls\0{client}\0{server}\0{dir}").as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(&d);
    k
}

fn keystream(key: &[u8; 32], seq: u64, len: usize) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(*key);
    rng.set_stream(seq);
    let mut ks = vec![0u8; len];
    rng.fill_bytes(&mut ks);
    ks
}

fn tag(key: &[u8; 32], seq: u64, ct: &[u8]) -> [u8; TAG_LEN] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(seq.to_be_bytes());
    h.update(ct);
    let d = h.finalize();
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(&d[..TAG_LEN]);
    t
}

/// An application_data record carrying `plain` (inner content type 23).
pub fn seal(key: &[u8; 32], seq: u64, plain: &[u8]) -> Vec<u8> {
    let mut p = plain.to_vec();
    p.push(APPLICATION_DATA);
    let ks = keystream(key, seq, p.len());
    let mut c: Vec<u8> = p.iter().zip(ks).map(|(a, b)| a ^ b).collect();
    let t = tag(key, seq, &c);
    c.extend_from_slice(&t);
    record(APPLICATION_DATA, 0x0303, &c)
}

/// The plaintext of an application_data record's body, if its tag holds.
pub fn open(key: &[u8; 32], seq: u64, body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < TAG_LEN + 1 {
        return None;
    }
    let (c, t) = body.split_at(body.len() - TAG_LEN);
    if tag(key, seq, c) != t {
        return None;
    }
    let ks = keystream(key, seq, c.len());
    let mut p: Vec<u8> = c.iter().zip(ks).map(|(a, b)| a ^ b).collect();
    p.pop(); // inner content type
    Some(p)
}

/// Takes complete records off the front of `buf`: (content type, body).
pub fn take_records(buf: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        if buf.len() < 5 {
            break;
        }
        let len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
        if buf.len() < 5 + len {
            break;
        }
        let rest = buf.split_off(5 + len);
        let rec = std::mem::replace(buf, rest);
        out.push((rec[0], rec[5..].to_vec()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_framing() {
        let k = direction_key("10.0.0.1:1", "10.0.0.2:2", "c2s");
        let r = seal(&k, 0, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(r.len(), 5 + 18 + 1 + TAG_LEN);
        let mut buf = r.clone();
        buf.extend_from_slice(&r[..3]);
        let recs = take_records(&mut buf);
        assert_eq!(recs.len(), 1);
        assert_eq!(buf.len(), 3);
        assert_eq!(open(&k, 0, &recs[0].1).unwrap(), b"GET / HTTP/1.1\r\n\r\n");
        assert!(open(&k, 1, &recs[0].1).is_none());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let ch = client_hello(
            "outbound_.9080_._.reviews.default.svc.cluster.local",
            &["istio-peer-exchange", "istio"],
            &mut rng,
        );
        assert_eq!(ch[0], HANDSHAKE);
        assert_eq!(hello_session_id(&ch).len(), 32);
    }
}
