//! getaddrinfo's destination address sorting: glibc's `rfc3484_sort`
//! (sysdeps/posix/getaddrinfo.c), with its built-in tables, the ones in
//! force when `/etc/gai.conf` has no active line (Debian and Ubuntu ship
//! it all comments).
//!
//! glibc learns each destination's source address by connect()ing a UDP
//! socket of its family to it and reading getsockname(); a destination
//! whose connect() fails (no route) is "unusable". The rules, first
//! difference wins:
//! 1 usable before unusable; 2 matching scope (the source's scope equals
//! the destination's); 3 source not deprecated; 4 home address;
//! 5 matching label; 6 higher precedence; 7 native transport; 8 smaller
//! scope; 9 longest matching prefix (same family only; for IPv4 only when
//! source and destination share the source's subnet); 10 the order the
//! answers came in.
//!
//! The built-in tables are RFC 3484's, not RFC 6724's: IPv4 (as
//! `::ffff:0:0/96`) has precedence 10 and every IPv6 address not in
//! 2002::/16, ::/96 or ::1 has 40, so a ULA (fd00::/8) comes before an
//! IPv4 address; RFC 6724's table, where IPv4 is 35 and ULAs 3, is what
//! gai.conf's comments show, not what glibc uses by default.
//!
//! Simplifications (named in `podpath explain`): rule 3 never decides
//! (podpath's addresses have no lifetimes, so none is deprecated), rule 4
//! never decides (no Mobile IPv6 home addresses), rule 7 never decides
//! (glibc's `__check_native` tells tunnels of type ARPHRD_TUNNEL6 or SIT;
//! podpath models neither); no `/etc/gai.conf`.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// glibc's `default_labels`.
const LABELS: &[(Ipv6Addr, u8, u32)] = &[
    (Ipv6Addr::LOCALHOST, 128, 0),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, 2),
    (Ipv6Addr::UNSPECIFIED, 96, 3),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, 4),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, 5),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, 6),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, 7),
    (Ipv6Addr::UNSPECIFIED, 0, 1),
];

/// glibc's `default_precedence`.
const PRECEDENCE: &[(Ipv6Addr, u8, u32)] = &[
    (Ipv6Addr::LOCALHOST, 128, 50),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, 30),
    (Ipv6Addr::UNSPECIFIED, 96, 20),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, 10),
    (Ipv6Addr::UNSPECIFIED, 0, 40),
];

/// As glibc's `match_prefix` sees an address: IPv4 as IPv4-mapped.
fn as6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// `match_prefix`: the value of the first entry whose prefix holds `a`
/// (the tables are in glibc's order, the `::/0` entry last).
fn lookup(table: &[(Ipv6Addr, u8, u32)], a: IpAddr) -> u32 {
    let a = u128::from(as6(a));
    table
        .iter()
        .find(|(p, len, _)| {
            let mask = if *len == 0 {
                0
            } else {
                u128::MAX << (128 - *len as u32)
            };
            a & mask == u128::from(*p) & mask
        })
        .map_or(1, |(_, _, v)| *v)
}

/// `get_label`.
pub fn label(a: IpAddr) -> u32 {
    lookup(LABELS, a)
}

/// `get_precedence`.
pub fn precedence(a: IpAddr) -> u32 {
    lookup(PRECEDENCE, a)
}

/// `get_scope`: IPv6 by its address type (loopback and link-local 2,
/// site-local 5, else 14; multicast its scope field); IPv4 by glibc's
/// `default_scopes` (169.254/16 and 127/8 link-local, 2; the rest 14).
pub fn scope(a: IpAddr) -> u8 {
    match a {
        IpAddr::V6(a) if a.is_multicast() => a.octets()[1] & 0x0f,
        IpAddr::V6(a) if a.is_loopback() || (a.segments()[0] & 0xffc0) == 0xfe80 => 2,
        IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfec0 => 5,
        IpAddr::V6(_) => 14,
        IpAddr::V4(a) if a.is_link_local() || a.is_loopback() => 2,
        IpAddr::V4(_) => 14,
    }
}

/// One answer, with what glibc learnt of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub dest: IpAddr,
    /// The source address connect() gave, with the prefix length of the
    /// interface address holding it (0 when no interface holds it); None:
    /// connect() failed.
    pub source: Option<(IpAddr, u8)>,
}

/// Rule 9's measure for two candidates (larger is better): the leading
/// bits destination and source share, the leading zeros of their XOR
/// (glibc's own `fls` before 2.42, which despite its name counted them;
/// `stdc_leading_zeros` since, commit b4495bd405).
fn rule9_bits(a: &Candidate, b: &Candidate) -> (u32, u32) {
    let (Some((sa, la)), Some((sb, lb))) = (a.source, b.source) else {
        return (0, 0);
    };
    match (a.dest, sa, b.dest, sb) {
        (IpAddr::V4(da), IpAddr::V4(sa), IpAddr::V4(db), IpAddr::V4(sb)) => {
            // "Outside of subnets, as defined by the network masks, common
            // address prefixes for IPv4 addresses make no sense."
            let one = |d: Ipv4Addr, s: Ipv4Addr, len: u8| {
                let (d, s) = (u32::from(d), u32::from(s));
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - len.min(32) as u32)
                };
                if s & mask == d & mask {
                    (d ^ s).leading_zeros()
                } else {
                    0
                }
            };
            (one(da, sa, la), one(db, sb, lb))
        }
        (IpAddr::V6(da), IpAddr::V6(sa), IpAddr::V6(db), IpAddr::V6(sb)) => {
            // within the first 32-bit word where either pair differs
            let w = |x: Ipv6Addr, i: usize| {
                let o = x.octets();
                u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
            };
            (0..4)
                .find(|&i| w(da, i) != w(sa, i) || w(db, i) != w(sb, i))
                .map_or((0, 0), |i| {
                    (
                        (w(da, i) ^ w(sa, i)).leading_zeros(),
                        (w(db, i) ^ w(sb, i)).leading_zeros(),
                    )
                })
        }
        _ => (0, 0),
    }
}

/// `rfc3484_sort` of two answers (`ia`, `ib` their arrival order), with
/// the rule that decided.
fn compare(a: &Candidate, ia: usize, b: &Candidate, ib: usize) -> (Ordering, u8) {
    let pick = |am: bool| {
        if am {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    };
    // Rule 1: avoid unusable destinations
    if a.source.is_some() != b.source.is_some() {
        return (pick(a.source.is_some()), 1);
    }
    let (ads, bds) = (scope(a.dest), scope(b.dest));
    if let (Some((sa, _)), Some((sb, _))) = (a.source, b.source) {
        // Rule 2: prefer matching scope
        let (am, bm) = (ads == scope(sa), bds == scope(sb));
        if am != bm {
            return (pick(am), 2);
        }
        // Rules 3 and 4: no deprecated source, no home address (podpath
        // has neither). Rule 5: prefer matching label
        let (am, bm) = (label(a.dest) == label(sa), label(b.dest) == label(sb));
        if am != bm {
            return (pick(am), 5);
        }
    }
    // Rule 6: prefer higher precedence
    let o = precedence(b.dest).cmp(&precedence(a.dest));
    if o != Ordering::Equal {
        return (o, 6);
    }
    // Rule 7: prefer native transport (every interface is native here).
    // Rule 8: prefer smaller scope
    if ads != bds {
        return (ads.cmp(&bds), 8);
    }
    // Rule 9: longest matching prefix, within a family
    if a.source.is_some() && a.dest.is_ipv4() == b.dest.is_ipv4() {
        let (ba, bb) = rule9_bits(a, b);
        if ba != bb {
            return (bb.cmp(&ba), 9);
        }
    }
    // Rule 10: the order the answers came in
    (ia.cmp(&ib), 10)
}

/// The answers in the order getaddrinfo returns them.
pub fn sort(cands: &[Candidate]) -> Vec<Candidate> {
    let mut idx: Vec<usize> = (0..cands.len()).collect();
    idx.sort_by(|&i, &j| compare(&cands[i], i, &cands[j], j).0);
    idx.into_iter().map(|i| cands[i]).collect()
}

/// Why the sorted list starts as it does, in words: the rule that put
/// its first address before the first of the other family (None with
/// one family).
pub fn why_first(cands: &[Candidate]) -> Option<String> {
    let sorted = sort(cands);
    let first = sorted.first()?;
    let other = sorted
        .iter()
        .find(|c| c.dest.is_ipv4() != first.dest.is_ipv4())?;
    let ia = cands.iter().position(|c| c == first)?;
    let ib = cands.iter().position(|c| c == other)?;
    let (_, rule) = compare(first, ia, other, ib);
    let what = match rule {
        1 => format!("{} has no route", other.dest),
        2 => format!("{}'s source is of another scope", other.dest),
        5 => format!("{}'s source has another label", other.dest),
        6 => format!(
            "precedence {} > {}",
            precedence(first.dest),
            precedence(other.dest)
        ),
        8 => "smaller scope".to_string(),
        9 => "longer matching prefix".to_string(),
        _ => "the order the answers came in".to_string(),
    };
    Some(format!("RFC 3484 rule {rule}, {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(dest: &str, source: Option<(&str, u8)>) -> Candidate {
        Candidate {
            dest: dest.parse().unwrap(),
            source: source.map(|(s, l)| (s.parse().unwrap(), l)),
        }
    }

    fn order(cs: &[Candidate]) -> Vec<String> {
        sort(cs).iter().map(|c| c.dest.to_string()).collect()
    }

    #[test]
    fn tables_are_glibcs_built_in_ones() {
        let p = |a: &str| precedence(a.parse().unwrap());
        let l = |a: &str| label(a.parse().unwrap());
        assert_eq!(p("10.96.0.10"), 10);
        assert_eq!(p("fd00:10:96::a"), 40);
        assert_eq!(p("2001:db8::1"), 40);
        assert_eq!(p("2002::1"), 30);
        assert_eq!(p("::1"), 50);
        assert_eq!(p("::10.0.0.1"), 20);
        assert_eq!(l("10.96.0.10"), 4);
        assert_eq!(l("fd00:10:96::a"), 6);
        // Teredo, 2001::/32; 2001:db8::/32 is outside it
        assert_eq!(l("2001:0:1::1"), 7);
        assert_eq!(l("2001:db8::1"), 1);
        assert_eq!(l("2a00::1"), 1);
        assert_eq!(l("fec0::1"), 5);
        assert_eq!(scope("169.254.1.1".parse().unwrap()), 2);
        assert_eq!(scope("fe80::1".parse().unwrap()), 2);
        assert_eq!(scope("10.0.0.1".parse().unwrap()), 14);
    }

    #[test]
    fn a_ula_service_comes_before_its_ipv4_address() {
        // a dual-stack pod: A first, AAAA second as they arrived; rule 6
        // (40 > 10) puts the ULA first
        let cs = [
            c("10.96.0.10", Some(("10.244.1.5", 24))),
            c("fd00:10:96::a", Some(("fd00:10:244:1::5", 64))),
        ];
        assert_eq!(order(&cs), ["fd00:10:96::a", "10.96.0.10"]);
        assert_eq!(
            why_first(&cs).as_deref(),
            Some("RFC 3484 rule 6, precedence 40 > 10")
        );
    }

    #[test]
    fn an_unroutable_family_goes_last() {
        // an IPv4-only pod given an AAAA answer: connect() fails (rule 1)
        let cs = [
            c("fd00:10:96::a", None),
            c("10.96.0.10", Some(("10.244.1.5", 24))),
        ];
        assert_eq!(order(&cs), ["10.96.0.10", "fd00:10:96::a"]);
    }

    #[test]
    fn a_link_local_source_loses_on_scope() {
        // rule 2: a global destination reached only from a link-local
        // source (no global IPv6 address) goes after IPv4
        let cs = [
            c("2001:db8::1", Some(("fe80::1", 64))),
            c("192.0.2.1", Some(("10.0.0.2", 24))),
        ];
        assert_eq!(order(&cs), ["192.0.2.1", "2001:db8::1"]);
    }

    #[test]
    fn a_mismatched_label_loses() {
        // rule 5: a ULA source for a global destination
        let cs = [
            c("2001:db8::1", Some(("fd00::2", 64))),
            c("192.0.2.1", Some(("10.0.0.2", 24))),
        ];
        assert_eq!(order(&cs), ["192.0.2.1", "2001:db8::1"]);
    }

    #[test]
    fn rule_9_prefers_the_longer_match_and_ipv4_only_in_subnet() {
        let cs = [
            c("fd00:2::1", Some(("fd00:1::5", 64))),
            c("fd00:1::9", Some(("fd00:1::5", 64))),
        ];
        assert_eq!(order(&cs), ["fd00:1::9", "fd00:2::1"]);
        // IPv4: outside the source's /24 counts as no shared bit at all
        let cs = [
            c("10.9.0.1", Some(("10.0.0.5", 24))),
            c("10.0.0.9", Some(("10.0.0.5", 24))),
        ];
        assert_eq!(order(&cs), ["10.0.0.9", "10.9.0.1"]);
        // equal on every rule: arrival order
        let cs = [
            c("10.9.0.1", Some(("10.0.0.5", 24))),
            c("10.8.0.1", Some(("10.0.0.5", 24))),
        ];
        assert_eq!(order(&cs), ["10.9.0.1", "10.8.0.1"]);
    }
}
