//! Source address selection (RFC 6724 §5) as Linux does it:
//! `ipv6_dev_get_saddr` and `ipv6_get_saddr_eval` (net/ipv6/addrconf.c),
//! with the address labels of net/ipv6/addrlabel.c.
//!
//! Candidates are the usable (not tentative, not DAD-failed) addresses of
//! the outgoing device only when the destination is multicast or of link
//! scope; of every device otherwise. The rules, first difference wins:
//! 1 the destination itself; 2 scope (the smallest scope not below the
//! destination's; else the largest); 3 preferred over deprecated (podpath
//! has no lifetimes: all preferred); 5 on the outgoing device; 6 the
//! destination's label; 8 longest matching prefix, capped at the
//! candidate's prefix length. Rule 4 (home addresses) and 7 (temporary
//! addresses) do not apply: podpath has neither.

use std::net::Ipv6Addr;

use super::addrconf::Inet6Addr;
use crate::wire::ipv6::addr::scope;

/// `ip addrlabel` defaults (addrlabel.c `ip6addrlbl_init_table`).
const LABELS: &[(&str, u8, u32)] = &[
    ("::1", 128, 0),
    ("::", 96, 3),
    ("::ffff:0:0", 96, 4),
    ("2001:10::", 28, 7),
    ("2001::", 32, 6),
    ("2002::", 16, 2),
    ("3ffe::", 16, 12),
    ("fc00::", 7, 5),
    ("fec0::", 10, 11),
    ("::", 0, 1),
];

/// The label of the longest matching prefix.
pub fn label(a: Ipv6Addr) -> u32 {
    LABELS
        .iter()
        .filter(|(p, len, _)| common_prefix(a, p.parse().expect("valid")) >= *len as u32)
        .max_by_key(|(_, len, _)| *len)
        .map_or(1, |(_, _, l)| *l)
}

/// The number of leading bits two addresses share.
pub fn common_prefix(a: Ipv6Addr, b: Ipv6Addr) -> u32 {
    (u128::from(a) ^ u128::from(b)).leading_zeros()
}

/// One candidate: its device and address.
pub type Candidate<'a> = (usize, &'a Inet6Addr);

/// The source for `dst` out of `out_dev`, or None
/// (`ipv6_dev_get_saddr` returns -EADDRNOTAVAIL).
pub fn select(cands: &[Candidate<'_>], dst: Ipv6Addr, out_dev: Option<usize>) -> Option<Ipv6Addr> {
    let dscope = scope(dst);
    let only_oif = dst.is_multicast() || dscope <= 0x02;
    let pool: Vec<&Candidate<'_>> = cands
        .iter()
        .filter(|(d, a)| a.usable() && (!only_oif || Some(*d) == out_dev))
        .filter(|(_, a)| !a.addr().is_loopback() || dst.is_loopback())
        .collect();
    let key = |(d, a): &Candidate<'_>| {
        let s = a.scope();
        let rule1 = a.addr() == dst;
        // rule 2: ascending scope at or above the destination's first,
        // then descending below it
        let rule2 = if s >= dscope {
            (1u8, u8::MAX - s)
        } else {
            (0u8, s)
        };
        let rule5 = Some(*d) == out_dev;
        let rule6 = label(a.addr()) == label(dst);
        let rule8 = common_prefix(a.addr(), dst).min(a.net.prefix_len() as u32);
        (rule1, rule2, rule5, rule6, rule8)
    };
    // max_by_key keeps the last of equals; the kernel keeps the first
    // seen: take the max over the reversed order.
    pool.iter()
        .rev()
        .max_by_key(|c| key(c))
        .map(|(_, a)| a.addr())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Inet6Addr {
        Inet6Addr::new(s.parse().unwrap())
    }
    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn rfc_6724_rules_as_linux_orders_them() {
        let ll = a("fe80::1/64");
        let ula = a("fd00:10:244:1::5/64");
        let gua = a("2001:db8:1::5/64");
        let other = a("fd00:20::5/64");
        let c = vec![(0, &ll), (0, &ula), (0, &gua), (1, &other)];
        // rule 2: a link-local destination gets the link-local source
        assert_eq!(select(&c, ip("fe80::2"), Some(0)), Some(ip("fe80::1")));
        // rule 6: a ULA destination prefers the ULA label (5) over the
        // global one, and rule 5 the outgoing device
        assert_eq!(
            select(&c, ip("fd00:30::1"), Some(0)),
            Some(ip("fd00:10:244:1::5"))
        );
        // rule 8 within the same label and device: the longest match
        assert_eq!(
            select(&c, ip("2001:db8:1::9"), Some(0)),
            Some(ip("2001:db8:1::5"))
        );
        // rule 5: fd00:20::5 matches 24 bits more, but is on device 1
        assert_eq!(
            select(&c, ip("fd00:20::9"), Some(0)),
            Some(ip("fd00:10:244:1::5"))
        );
        // rule 1
        assert_eq!(
            select(&c, ip("fd00:20::5"), Some(0)),
            Some(ip("fd00:20::5"))
        );
        // a tentative address is no source
        let mut t = a("fd00:10:244:1::6/64");
        t.tentative = true;
        assert_eq!(select(&[(0, &t)], ip("fd00:10:244:1::9"), Some(0)), None);
        // link scope: the outgoing device's addresses only
        assert_eq!(select(&[(1, &ll)], ip("fe80::2"), Some(0)), None);
    }

    #[test]
    fn rule_8_is_capped_at_the_prefix_length() {
        // fd00:1::1/16 shares 127 bits with the destination but only its
        // 16 count; fd00:1::2/64 shares 126 of 64
        let short = a("fd00:1::1/16");
        let long = a("fd00:1::2/64");
        let c = vec![(0, &short), (0, &long)];
        assert_eq!(select(&c, ip("fd00:1::3"), Some(0)), Some(ip("fd00:1::2")));
    }

    #[test]
    fn labels() {
        assert_eq!(label(ip("::1")), 0);
        assert_eq!(label(ip("fd00::1")), 5);
        assert_eq!(label(ip("2001::1")), 6);
        assert_eq!(label(ip("2001:db8::1")), 1);
        assert_eq!(label(ip("2002::1")), 2);
        assert_eq!(label(ip("::ffff:10.0.0.1")), 4);
        assert_eq!(label(ip("2a00::1")), 1);
    }
}
