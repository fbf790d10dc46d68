//! The scalar values of the scenario format: durations, prefixes,
//! addresses and numbers, as `ip` and the format's docs write them.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// The longest duration a scenario may give: 2^62 ns (146 years). Sums of
/// two such (a time plus a latency) still fit the virtual clock's 64 bits.
pub const MAX_DURATION_NS: u64 = 1 << 62;

/// Why a duration of the scenario is refused (the text as written).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a number followed by a unit.
    #[error("bad duration '{0}': expected a number and a unit (ns, us, ms, s, m, h), e.g. 100us or 1.5s")]
    Bad(String),
    /// More than [`MAX_DURATION_NS`].
    #[error("duration '{0}' overflows the virtual clock: at most 2^62 ns (about 146 years)")]
    Overflow(String),
}

/// Parses a duration: `100us`, `1.5ms`, `2s`, `250ns`, `5m`, `1h`; the
/// error says what was expected, or that it overflows the virtual clock.
pub fn duration(s: &str) -> Result<u64, DurationError> {
    let t = s.trim();
    let bad = || DurationError::Bad(s.to_string());
    let (num, mul) = if let Some(n) = t.strip_suffix("ns") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("µs") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e9)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60e9)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600e9)
    } else {
        return Err(bad());
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(bad());
    }
    let ns = v * mul;
    if ns > MAX_DURATION_NS as f64 {
        return Err(DurationError::Overflow(s.to_string()));
    }
    Ok(ns.round() as u64)
}

/// [`duration`] without the reason.
pub fn parse_duration(s: &str) -> Option<u64> {
    duration(s).ok()
}

/// `A.B.C.D/LEN`, host bits kept (an interface address).
pub(super) fn parse_cidr(s: &str) -> Option<Ipv4Net> {
    let (a, p) = s.split_once('/')?;
    Ipv4Net::new(a.parse().ok()?, p.parse().ok()?).ok()
}

/// A route or rule destination: `default`, `A.B.C.D/LEN` (truncated to
/// its network) or `A.B.C.D` (a /32).
pub(super) fn parse_dst(s: &str) -> Option<Ipv4Net> {
    if s == "default" {
        return Some(Ipv4Net::default());
    }
    if s.contains('/') {
        return parse_cidr(s).map(|n| n.trunc());
    }
    s.parse::<Ipv4Addr>()
        .ok()
        .map(|a| Ipv4Net::new(a, 32).expect("/32"))
}

/// A number in decimal or `0x` hex (an fwmark or its mask).
pub(super) fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}
