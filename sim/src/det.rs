//! Determinism's ground floor: a stable hash (the same value on every
//! machine and release) and the seeded random streams every random choice
//! draws from. Imports nothing of podpath.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// FNV-1a over bytes: a stable hash (same value on every machine and release),
/// used to derive per-host seeds and MAC addresses from names.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The random stream of one host (or of one named thing on it, such as
/// `lb-1/haproxy`): seeded from the scenario's seed and the name, so adding
/// a host does not change another host's draws.
pub fn host_rng(seed: u64, host: &str) -> ChaCha8Rng {
    let mut k = seed.to_be_bytes().to_vec();
    k.extend_from_slice(host.as_bytes());
    ChaCha8Rng::seed_from_u64(stable_hash(&k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn hash_and_streams_are_stable() {
        // FNV-1a's published test vector
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut a = host_rng(7, "node-1");
        let mut b = host_rng(7, "node-1");
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(
            host_rng(7, "node-1").next_u64(),
            host_rng(7, "node-2").next_u64()
        );
    }
}
