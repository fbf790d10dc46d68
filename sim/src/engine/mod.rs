//! The event queue, the virtual clock, the seeded random streams and the run loop.

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
