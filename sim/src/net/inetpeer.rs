//! The inet_peer cache's token bucket (net/ipv4/inetpeer.c
//! `inet_peer_xrlim_allow`): how often a host sends ICMP and ICMPv6 errors
//! (`icmpv4_xrlim_allow`, `icmpv6_xrlim_allow`) and IPv6 redirects
//! (`ndisc_send_redirect`) to one address.
//!
//! Each peer (by address) earns one token per nanosecond up to
//! `XRLIM_BURST_FACTOR` (6) times the timeout; a message costs a timeout's
//! worth. A new peer starts as though last seen 60 s ago (`inet_getpeer`:
//! `rate_last = jiffies - 60*HZ`), so it has its full burst: six errors at
//! once, then one per timeout.
//!
//! Simplification (named in `podpath explain`): the kernel's global limit
//! on ICMP messages (`icmp_global_allow`: net.ipv4.icmp_msgs_per_sec 1000,
//! icmp_msgs_burst 50, each message taking a random 0 to 2 credits) is not
//! modelled; peers are never evicted from the cache.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// `XRLIM_BURST_FACTOR`.
pub const BURST: u64 = 6;

/// A new peer's tokens: as if last seen 60 s before.
const NEW_PEER_NS: u64 = 60_000_000_000;

/// One peer's bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Peer {
    tokens: u64,
    last_ns: u64,
}

/// A host's peers (IPv4 and IPv6 alike, by address).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peers {
    map: BTreeMap<IpAddr, Peer>,
}

impl Peers {
    /// `inet_peer_xrlim_allow(peer, timeout)` at `now_ns`: whether a
    /// message to `addr` may go, its cost taken when it may.
    pub fn xrlim_allow(&mut self, addr: IpAddr, now_ns: u64, timeout_ns: u64) -> bool {
        let earned = match self.map.get(&addr) {
            Some(p) => p.tokens + now_ns.saturating_sub(p.last_ns),
            None => NEW_PEER_NS,
        };
        let mut token = earned.min(BURST * timeout_ns);
        let ok = token >= timeout_ns;
        if ok {
            token -= timeout_ns;
        }
        self.map.insert(
            addr,
            Peer {
                tokens: token,
                last_ns: now_ns,
            },
        );
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst of six, then one per timeout; a quiet spell refills it.
    #[test]
    fn six_at_once_then_one_per_timeout() {
        let mut p = Peers::default();
        let a: IpAddr = "fd00::1".parse().unwrap();
        let s = 1_000_000_000;
        let sent: Vec<bool> = (0..8).map(|_| p.xrlim_allow(a, 0, s)).collect();
        assert_eq!(sent, [true, true, true, true, true, true, false, false]);
        assert!(!p.xrlim_allow(a, s / 2, s));
        assert!(p.xrlim_allow(a, s, s), "one timeout after the burst");
        assert!(!p.xrlim_allow(a, s + 1, s));
        // another peer has its own bucket
        assert!(p.xrlim_allow("10.0.0.1".parse().unwrap(), s, s));
        // ten quiet seconds: a full burst again (capped at six)
        let back: Vec<bool> = (0..7).map(|_| p.xrlim_allow(a, 11 * s, s)).collect();
        assert_eq!(back, [true, true, true, true, true, true, false]);
    }
}
