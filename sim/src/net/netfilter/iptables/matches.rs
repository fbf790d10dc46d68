//! The match extensions beyond the IP header and the first ones podpath
//! modelled (see [`super::parse`]): ttl/hl, pkttype, length, mac, tos,
//! dscp, ecn, conntrack in full, time, hashlimit, rpfilter, connlimit,
//! connbytes, helper, devgroup, policy, socket, each parsed as its
//! `extensions/libxt_*.c` does and evaluated as its `net/netfilter/xt_*.c`
//! does (the file is named at each one).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::parse::{parse_net, parse_port_range, parse_u32, proto_number, RuleArgs};
use super::*;
use crate::net::netfilter::{addrtype, EvalEnv, NfPacket};

/// The comparison of `-m ttl`/`-m hl` (ipt_ttl.c `enum { IPT_TTL_EQ,
/// IPT_TTL_NE, IPT_TTL_LT, IPT_TTL_GT }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
}

impl CmpOp {
    fn holds(self, a: u8, b: u8) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Gt => a > b,
        }
    }
}

/// One test of `-m conntrack` beyond `--ctstate` (xt_conntrack.c
/// conntrack_mt and its conntrack_mt_orig*/repl* helpers). `with_state`:
/// the same match also tests `--ctstate`, so a packet without a
/// connection matches as that state test decided (conntrack_mt: `if (ct ==
/// NULL) return info->match_flags & XT_CONNTRACK_STATE`).
#[derive(Clone, Debug, PartialEq)]
pub enum CtField {
    Proto(u8, bool),
    OrigSrc(Ipv4Net, bool),
    OrigDst(Ipv4Net, bool),
    ReplSrc(Ipv4Net, bool),
    ReplDst(Ipv4Net, bool),
    OrigSrcPort((u16, u16), bool),
    OrigDstPort((u16, u16), bool),
    ReplSrcPort((u16, u16), bool),
    ReplDstPort((u16, u16), bool),
    /// `--ctstatus` bits (IPS_EXPECTED 1, SEEN_REPLY 2, ASSURED 4,
    /// CONFIRMED 8).
    Status(u32, bool),
    /// `--ctexpire MIN[:MAX]`, seconds left.
    Expire(u32, u32, bool),
    /// `--ctdir REPLY` (true) or ORIGINAL.
    Dir(bool, bool),
}

impl CtField {
    fn with_state(&self) -> bool {
        match self {
            CtField::Proto(_, w)
            | CtField::OrigSrc(_, w)
            | CtField::OrigDst(_, w)
            | CtField::ReplSrc(_, w)
            | CtField::ReplDst(_, w)
            | CtField::OrigSrcPort(_, w)
            | CtField::OrigDstPort(_, w)
            | CtField::ReplSrcPort(_, w)
            | CtField::ReplDstPort(_, w)
            | CtField::Status(_, w)
            | CtField::Expire(_, _, w)
            | CtField::Dir(_, w) => *w,
        }
    }
}

/// The connection of a packet as `-m conntrack` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtView {
    /// (proto, src, sport, dst, dport) of the original direction.
    pub orig: (u8, Ipv4Addr, u16, Ipv4Addr, u16),
    pub reply: (u8, Ipv4Addr, u16, Ipv4Addr, u16),
    /// IPS_* status bits.
    pub status: u32,
    /// Seconds until the entry expires.
    pub expires_s: u32,
    /// The packet travels in the reply direction.
    pub reply_dir: bool,
    /// The connection's (packets, bytes) per direction when conntrack
    /// accounting is on (nf_conn_acct_find finds the extension), else
    /// None.
    pub acct: Option<[(u64, u64); 2]>,
}

/// `-m time` (libxt_time.c / xt_time.c): times of day in seconds, weekday
/// bits (bit 1 Monday .. bit 7 Sunday), monthday bits (bit 1 .. 31), the
/// date window in seconds since the epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSpec {
    pub daytime_start: u32,
    pub daytime_stop: u32,
    pub weekdays: u8,
    pub monthdays: u32,
    pub date_start: u64,
    pub date_stop: u64,
    pub contiguous: bool,
}

impl Default for TimeSpec {
    /// libxt_time's time_init: the whole day, every day, from the epoch to
    /// 2038-01-19 (INT_MAX).
    fn default() -> Self {
        TimeSpec {
            daytime_start: 0,
            daytime_stop: 86_399,
            weekdays: 0xfe,
            monthdays: 0xffff_fffe,
            date_start: 0,
            date_stop: i32::MAX as u64,
            contiguous: false,
        }
    }
}

/// `-m hashlimit` (libxt_hashlimit.c, revisions 2 and 3): the rate as
/// the time between packets in µs (XT_HASHLIMIT_SCALE_v2), the burst,
/// `above` (XT_HASHLIMIT_INVERT), the mode bits (1 srcip, 2 srcport, 4
/// dstip, 8 dstport), the prefix lengths and the table's name.
#[derive(Clone, Debug, PartialEq)]
pub struct HashlimitSpec {
    pub avg: u32,
    pub burst: u32,
    pub above: bool,
    pub mode: u8,
    pub srcmask: u8,
    pub dstmask: u8,
    pub name: String,
    /// A rate in bytes (`--hashlimit-upto 4kb/s`): kept unmodelled.
    pub bytes: bool,
}

/// libxt_hashlimit.c parse_rate (revisions 2 and 3): `N[/second|minute|
/// hour|day]` (any prefix of the unit) as µs between packets; None for a
/// byte rate (`Nb/s`, `Nkb/s`, `Nmb/s`, parse_bytes).
fn hashlimit_rate(rate: &str) -> Result<Option<u32>, String> {
    let bad = || format!("hashlimit: bad rate \"{rate}\"");
    if let Some(i) = rate.find("b/s") {
        let digits: String = rate[..i]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        return match digits.parse::<u64>() {
            Ok(n) if n > 0 => Ok(None),
            _ => Err(bad()),
        };
    }
    let mult: u64 = match rate.split_once('/') {
        None => 1,
        Some((_, "")) => return Err(bad()),
        Some((_, u)) => {
            let u = u.to_ascii_lowercase();
            [
                ("second", 1),
                ("minute", 60),
                ("hour", 3600),
                ("day", 86400),
            ]
            .into_iter()
            .find(|(name, _)| name.starts_with(&u))
            .map(|(_, m)| m)
            .ok_or_else(bad)?
        }
    };
    let digits: String = rate.chars().take_while(|c| c.is_ascii_digit()).collect();
    let r: u64 = digits.parse().unwrap_or(0);
    if r == 0 {
        return Err(bad());
    }
    match 1_000_000 * mult / r {
        0 => Err(format!("Rate too fast \"{rate}\"")),
        t => Ok(Some(t.min(u64::from(u32::MAX)) as u32)),
    }
}

/// A device group and its mask (`-m devgroup`).
type Group = Option<(u32, u32)>;

/// The gathered options of the multi-option matches of one rule.
#[derive(Default)]
pub(crate) struct ExtOpts {
    time: Option<TimeSpec>,
    hashlimit: Option<(HashlimitSpec, bool)>,
    connlimit: Option<(bool, u32, u8, bool)>,
    connbytes: Option<(u64, u64, u8, u8, bool)>,
    rpfilter: Option<(bool, bool, bool, bool)>,
    policy: Option<bool>,
    socket: Option<(bool, bool, bool)>,
    devgroup: Option<(Group, Group, bool)>,
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

/// libxt_time's time_parse_minutes: `hh:mm[:ss]`, in seconds.
fn parse_daytime(s: &str) -> Option<u32> {
    let p: Vec<&str> = s.split(':').collect();
    if p.len() < 2 || p.len() > 3 {
        return None;
    }
    let h: u32 = p[0].parse().ok()?;
    let m: u32 = p[1].parse().ok()?;
    let sec: u32 = if p.len() == 3 { p[2].parse().ok()? } else { 0 };
    (h <= 23 && m <= 59 && sec <= 59).then_some(h * 3600 + m * 60 + sec)
}

/// libxt_time's time_parse_date: `YYYY[-MM[-DD[Thh[:mm[:ss]]]]]`, UTC.
fn parse_date(s: &str) -> Option<u64> {
    let (d, t) = s.split_once('T').unwrap_or((s, ""));
    let dp: Vec<&str> = d.split('-').collect();
    let y: i32 = dp.first()?.parse().ok()?;
    let mo: u8 = dp.get(1).map_or(Some(1), |x| x.parse().ok())?;
    let da: u8 = dp.get(2).map_or(Some(1), |x| x.parse().ok())?;
    let tp: Vec<&str> = if t.is_empty() {
        vec![]
    } else {
        t.split(':').collect()
    };
    let num = |i: usize| tp.get(i).map_or(Some(0u8), |x| x.parse().ok());
    let (h, mi, se) = (num(0)?, num(1)?, num(2)?);
    let month = time::Month::try_from(mo).ok()?;
    let date = time::Date::from_calendar_date(y, month, da).ok()?;
    let tm = time::Time::from_hms(h, mi, se).ok()?;
    let ts = date.with_time(tm).assume_utc().unix_timestamp();
    (ts >= 0).then_some(ts as u64)
}

/// libxt_time's weekday names (`Mon`..`Sun`, or 1..7).
fn parse_weekdays(s: &str) -> Option<u8> {
    let mut bits = 0u8;
    for w in s.split(',') {
        let n = match w.to_ascii_lowercase().as_str() {
            "mon" | "1" => 1,
            "tue" | "2" => 2,
            "wed" | "3" => 3,
            "thu" | "4" => 4,
            "fri" | "5" => 5,
            "sat" | "6" => 6,
            "sun" | "7" => 7,
            _ => return None,
        };
        bits |= 1 << n;
    }
    Some(bits)
}

impl RuleArgs<'_> {
    /// The new matches' options, each match's parser in turn (only when
    /// its module is loaded, as libxtables offers a module's options only
    /// after `-m NAME`).
    pub(super) fn ext_match_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        Ok(self.simple_match_option(tok)?
            || self.conntrack_option(tok)?
            || self.time_option(tok)?
            || self.hashlimit_option(tok)?
            || self.misc_match_option(tok)?)
    }

    pub(super) fn loaded(&self, m: &str) -> bool {
        self.modules.iter().any(|x| x == m)
    }

    fn bad(&self, what: &str, v: &str) -> ParseError {
        self.err(self.col(), format!("{what} \"{v}\""))
    }

    /// ttl, hl, pkttype, length, mac, tos, dscp, ecn, helper.
    fn simple_match_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            // libipt_ttl.c / libip6t_hl.c: --ttl-eq/-lt/-gt, --hl-eq/-lt/-gt
            "--ttl-eq" | "--ttl-lt" | "--ttl-gt" | "--ttl" | "--hl-eq" | "--hl-lt" | "--hl-gt"
            | "--hl"
                if self.loaded("ttl") || self.loaded("hl") =>
            {
                let v = self.value(tok)?;
                let Ok(value) = v.parse::<u8>() else {
                    return Err(self.bad("ttl/hl: invalid value", &v));
                };
                let op = match (tok.rsplit('-').next().unwrap_or(""), self.neg) {
                    ("eq", false) | ("ttl", false) | ("hl", false) => CmpOp::Eq,
                    ("eq", true) => CmpOp::Ne,
                    // libxtables xtables_option_parse: no XTOPT_INVERT
                    (_, true) => {
                        return Err(self.err(
                            self.col(),
                            format!("ttl: \"{tok}\" option cannot be inverted."),
                        ))
                    }
                    ("lt", _) => CmpOp::Lt,
                    _ => CmpOp::Gt,
                };
                self.neg = false;
                self.push(CondKind::Ttl {
                    op,
                    value,
                    v6: tok.starts_with("--hl"),
                });
            }
            "--icmpv6-type" if self.loaded("icmp6") => {
                let v = self.value(tok)?;
                let Some((ty, code)) = icmp6_type(&v) else {
                    return Err(self.bad("Invalid ICMPv6 type", &v));
                };
                self.push(CondKind::Icmp6Type { ty, code });
            }
            "--pkt-type" if self.loaded("pkttype") => {
                let v = self.value(tok)?;
                let t = match v.to_ascii_lowercase().as_str() {
                    "unicast" | "host" => 0,
                    "broadcast" => 1,
                    "multicast" => 2,
                    "otherhost" => 3,
                    _ => return Err(self.bad("Bad packet type", &v)),
                };
                self.push(CondKind::PktType(t));
            }
            "--length" if self.loaded("length") => {
                let v = self.value(tok)?;
                let (a, b) = v.split_once(':').unwrap_or((&v, &v));
                let lo = if a.is_empty() {
                    Some(0)
                } else {
                    a.parse().ok()
                };
                let hi = if b.is_empty() {
                    Some(0xffff)
                } else {
                    b.parse().ok()
                };
                let (Some(lo), Some(hi)) = (lo, hi) else {
                    return Err(self.bad("length: bad range", &v));
                };
                self.push(CondKind::Length(lo, hi));
            }
            "--mac-source" if self.loaded("mac") => {
                let v = self.value(tok)?;
                let Some(m) = parse_mac(&v) else {
                    return Err(self.bad("Bad mac address", &v));
                };
                self.push(CondKind::MacSource(m));
            }
            "--tos" if self.loaded("tos") => {
                let v = self.value(tok)?;
                let Some((value, mask)) = tos_value(&v) else {
                    return Err(self.bad("tos: bad value", &v));
                };
                self.push(CondKind::Tos { value, mask });
            }
            "--dscp" | "--dscp-class" if self.loaded("dscp") => {
                let v = self.value(tok)?;
                let d = if tok == "--dscp" {
                    parse_u32(&v).filter(|d| *d <= 0x3f).map(|d| d as u8)
                } else {
                    dscp_class(&v)
                };
                let Some(d) = d else {
                    return Err(self.bad("DSCP value out of range", &v));
                };
                self.push(CondKind::Dscp(d));
            }
            "--ecn-ip-ect" if self.loaded("ecn") => {
                let v = self.value(tok)?;
                let Some(e) = v.parse::<u8>().ok().filter(|e| *e <= 3) else {
                    return Err(self.bad("ECN: bad ECT value", &v));
                };
                self.push(CondKind::EcnIp(e));
            }
            "--ecn-tcp-cwr" | "--ecn-tcp-ece" if self.loaded("ecn") => {
                self.push(CondKind::EcnTcp {
                    cwr: tok == "--ecn-tcp-cwr",
                });
            }
            "--helper" if self.loaded("helper") => {
                let v = self.value(tok)?;
                self.push(CondKind::Helper(v));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// conntrack `--ctproto`, `--ctorigsrc/dst`, `--ctreplsrc/dst`,
    /// `--ctorig/replsrc/dstport`, `--ctstatus`, `--ctexpire`, `--ctdir`
    /// (libxt_conntrack.c conntrack_mt_parse).
    fn conntrack_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if !tok.starts_with("--ct") || tok == "--ctstate" || !self.loaded("conntrack") {
            return Ok(false);
        }
        let neg = self.neg;
        let v = match tok {
            "--ctproto" | "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc" | "--ctrepldst"
            | "--ctorigsrcport" | "--ctorigdstport" | "--ctreplsrcport" | "--ctrepldstport"
            | "--ctstatus" | "--ctexpire" | "--ctdir" => self.value(tok)?,
            _ => return Ok(false),
        };
        let w = true; // fixed up in ct_final_check
        let f = match tok {
            "--ctproto" => match proto_number(&v) {
                Some(p) if p != 0 => CtField::Proto(p, w),
                _ => return Err(self.bad("conntrack: unknown protocol", &v)),
            },
            "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc" | "--ctrepldst" if self.v6 => {
                if super::parse::parse_net6(&v).is_none() {
                    return Err(self.bad("host/network not found:", &v));
                }
                self.neg = false;
                self.conds.push(Cond {
                    neg,
                    kind: CondKind::V6Kept(format!("{tok} {v}")),
                });
                return Ok(true);
            }
            "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc" | "--ctrepldst" => {
                let Some(n) = parse_net(&v) else {
                    return Err(self.bad("host/network not found:", &v));
                };
                match tok {
                    "--ctorigsrc" => CtField::OrigSrc(n, w),
                    "--ctorigdst" => CtField::OrigDst(n, w),
                    "--ctreplsrc" => CtField::ReplSrc(n, w),
                    _ => CtField::ReplDst(n, w),
                }
            }
            "--ctstatus" => {
                let mut bits = 0;
                for p in v.split(',') {
                    bits |= match p {
                        "NONE" => 0,
                        "EXPECTED" => 1,
                        "SEEN_REPLY" => 2,
                        "ASSURED" => 4,
                        "CONFIRMED" => 8,
                        _ => return Err(self.bad("Bad ctstatus", p)),
                    };
                }
                CtField::Status(bits, w)
            }
            "--ctexpire" => {
                let (a, b) = v.split_once(':').unwrap_or((&v, &v));
                let (Ok(lo), Ok(hi)) = (a.parse(), b.parse()) else {
                    return Err(self.bad("conntrack: bad --ctexpire", &v));
                };
                CtField::Expire(lo, hi, w)
            }
            "--ctdir" => match v.to_ascii_uppercase().as_str() {
                "ORIGINAL" => CtField::Dir(false, w),
                "REPLY" => CtField::Dir(true, w),
                _ => return Err(self.bad("Unknown --ctdir", &v)),
            },
            _ => {
                let Some(r) = parse_port_range(&v) else {
                    return Err(self.bad("conntrack: bad port", &v));
                };
                match tok {
                    "--ctorigsrcport" => CtField::OrigSrcPort(r, w),
                    "--ctorigdstport" => CtField::OrigDstPort(r, w),
                    "--ctreplsrcport" => CtField::ReplSrcPort(r, w),
                    _ => CtField::ReplDstPort(r, w),
                }
            }
        };
        self.neg = false;
        self.conds.push(Cond {
            neg,
            kind: CondKind::Ct(f),
        });
        Ok(true)
    }

    /// time `--timestart/--timestop`, `--weekdays`, `--monthdays`,
    /// `--datestart/--datestop`, `--kerneltz`/`--utc`/`--localtz`,
    /// `--contiguous` (libxt_time.c time_parse).
    fn time_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if !self.loaded("time") {
            return Ok(false);
        }
        let neg = self.neg;
        let mut t = self.ext.time.take().unwrap_or_default();
        let r = self.time_option_into(tok, neg, &mut t);
        self.ext.time = Some(t);
        if matches!(r, Ok(true)) {
            self.neg = false;
        }
        r
    }

    fn time_option_into(
        &mut self,
        tok: &str,
        neg: bool,
        t: &mut TimeSpec,
    ) -> Result<bool, ParseError> {
        match tok {
            "--timestart" | "--timestop" => {
                let v = self.value(tok)?;
                let Some(s) = parse_daytime(&v) else {
                    return Err(self.bad("invalid time", &v));
                };
                if tok == "--timestart" {
                    t.daytime_start = s;
                } else {
                    t.daytime_stop = s;
                }
            }
            "--datestart" | "--datestop" => {
                let v = self.value(tok)?;
                let Some(s) = parse_date(&v) else {
                    return Err(self.bad("Invalid date", &v));
                };
                if tok == "--datestart" {
                    t.date_start = s;
                } else {
                    t.date_stop = s;
                }
            }
            "--weekdays" => {
                let v = self.value(tok)?;
                let Some(b) = parse_weekdays(&v) else {
                    return Err(self.bad("No, the week does NOT begin with", &v));
                };
                t.weekdays = if neg { !b & 0xfe } else { b };
            }
            "--monthdays" => {
                let v = self.value(tok)?;
                let mut b = 0u32;
                for d in v.split(',') {
                    match d.parse::<u32>() {
                        Ok(n) if (1..=31).contains(&n) => b |= 1 << n,
                        _ => return Err(self.bad("time: invalid month day", d)),
                    }
                }
                t.monthdays = if neg { !b & 0xffff_fffe } else { b };
            }
            "--contiguous" => t.contiguous = true,
            // the virtual clock is UTC: --kerneltz (the kernel's
            // sys_tz) and --localtz are the same here
            "--kerneltz" | "--localtz" | "--utc" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// hashlimit `--hashlimit-upto/--hashlimit-above RATE`, `--hashlimit`,
    /// `--hashlimit-burst`, `--hashlimit-mode`, `--hashlimit-name`,
    /// `--hashlimit-srcmask/dstmask` and the table's tuning options
    /// (libxt_hashlimit.c hashlimit_mt_parse).
    fn hashlimit_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if !self.loaded("hashlimit") || !tok.starts_with("--hashlimit") {
            return Ok(false);
        }
        let (mut h, mut rate_given) = self.ext.hashlimit.take().unwrap_or((
            HashlimitSpec {
                avg: 0,
                burst: 5,
                above: false,
                mode: 0,
                srcmask: 32,
                dstmask: 32,
                name: String::new(),
                bytes: false,
            },
            false,
        ));
        let res = (|| -> Result<bool, ParseError> {
            match tok {
                "--hashlimit-upto" | "--hashlimit-above" | "--hashlimit" => {
                    let v = self.value(tok)?;
                    match hashlimit_rate(&v).map_err(|m| self.err(self.col(), m))? {
                        Some(avg) => h.avg = avg,
                        None => h.bytes = true,
                    }
                    // `! --hashlimit-upto` is `--hashlimit-above` and the reverse
                    h.above = (tok == "--hashlimit-above") != self.neg;
                    rate_given = true;
                }
                "--hashlimit-burst" => {
                    let v = self.value(tok)?;
                    // parse_burst: a number, with a k/m factor in byte mode;
                    // a plain number at most XT_HASHLIMIT_BURST_MAX
                    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
                    let suffix = &v[digits.len()..];
                    let n = digits.parse::<u64>().ok().filter(|n| *n >= 1);
                    let ok = match (n, suffix.to_ascii_lowercase().as_str()) {
                        (Some(n), "") => (n <= 1_000_000).then_some(n),
                        (Some(n), "k" | "kb") => Some(n.saturating_mul(1024)),
                        (Some(n), "m" | "mb") => Some(n.saturating_mul(1024 * 1024)),
                        _ => None,
                    };
                    let Some(b) = ok else {
                        return Err(self.bad("hashlimit: bad --hashlimit-burst", &v));
                    };
                    h.burst = b.min(u64::from(u32::MAX)) as u32;
                }
                "--hashlimit-mode" => {
                    let v = self.value(tok)?;
                    for m in v.split(',') {
                        h.mode |= match m {
                            "srcip" => 1,
                            "srcport" => 2,
                            "dstip" => 4,
                            "dstport" => 8,
                            _ => return Err(self.bad("hashlimit: bad --hashlimit-mode", m)),
                        };
                    }
                }
                "--hashlimit-name" => h.name = self.value(tok)?,
                "--hashlimit-srcmask" | "--hashlimit-dstmask" => {
                    let v = self.value(tok)?;
                    let m = v
                        .parse::<u8>()
                        .ok()
                        .filter(|m| *m <= 32)
                        .ok_or_else(|| self.bad("hashlimit: bad mask", &v))?;
                    if tok.ends_with("srcmask") {
                        h.srcmask = m;
                    } else {
                        h.dstmask = m;
                    }
                }
                // the hash table's size and garbage collection
                "--hashlimit-htable-size"
                | "--hashlimit-htable-max"
                | "--hashlimit-htable-expire"
                | "--hashlimit-htable-gcinterval" => {
                    self.value(tok)?;
                }
                _ => return Ok(false),
            }
            Ok(true)
        })();
        self.ext.hashlimit = Some((h, rate_given));
        if matches!(res, Ok(true)) {
            self.neg = false;
        }
        res
    }

    /// rpfilter, connlimit, connbytes, policy, socket, devgroup.
    fn misc_match_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        let neg = self.neg;
        match tok {
            "--loose" | "--validmark" | "--accept-local" | "--invert"
                if self.loaded("rpfilter") =>
            {
                let r = self
                    .ext
                    .rpfilter
                    .get_or_insert((false, false, false, false));
                match tok {
                    "--loose" => r.0 = true,
                    "--validmark" => r.1 = true,
                    "--accept-local" => r.2 = true,
                    _ => r.3 = true,
                }
            }
            "--connlimit-upto" | "--connlimit-above" | "--connlimit-mask" | "--connlimit-saddr"
            | "--connlimit-daddr"
                if self.loaded("connlimit") =>
            {
                let mut c = self.ext.connlimit.take().unwrap_or((true, 0, 32, false));
                match tok {
                    "--connlimit-saddr" => c.3 = false,
                    "--connlimit-daddr" => c.3 = true,
                    _ => {
                        let v = self.value(tok)?;
                        let Ok(n) = v.parse::<u32>() else {
                            return Err(self.bad("connlimit: bad value", &v));
                        };
                        match tok {
                            "--connlimit-mask" if n <= if self.v6 { 128 } else { 32 } => {
                                c.2 = n as u8
                            }
                            "--connlimit-mask" => return Err(self.bad("connlimit: bad mask", &v)),
                            // `! --connlimit-upto` is `--connlimit-above`
                            "--connlimit-above" => (c.0, c.1) = (!neg, n),
                            _ => (c.0, c.1) = (neg, n),
                        }
                    }
                }
                self.ext.connlimit = Some(c);
            }
            "--connbytes" | "--connbytes-dir" | "--connbytes-mode" if self.loaded("connbytes") => {
                let mut c = self
                    .ext
                    .connbytes
                    .take()
                    .unwrap_or((0, u64::MAX, 3, 3, false));
                let v = self.value(tok)?;
                match tok {
                    "--connbytes" => {
                        let (a, b) = v.split_once(':').unwrap_or((&v, ""));
                        let lo = if a.is_empty() {
                            0
                        } else {
                            a.parse()
                                .map_err(|_| self.bad("connbytes: bad range", &v))?
                        };
                        let hi = if b.is_empty() {
                            u64::MAX
                        } else {
                            b.parse()
                                .map_err(|_| self.bad("connbytes: bad range", &v))?
                        };
                        (c.0, c.1, c.4) = (lo, hi, neg);
                    }
                    "--connbytes-dir" => {
                        c.2 = match v.as_str() {
                            "original" => 0,
                            "reply" => 1,
                            "both" => 2,
                            _ => return Err(self.bad("Unknown --connbytes-dir", &v)),
                        }
                    }
                    _ => {
                        c.3 = match v.as_str() {
                            "packets" => 0,
                            "bytes" => 1,
                            "avgpkt" => 2,
                            _ => return Err(self.bad("Unknown --connbytes-mode", &v)),
                        }
                    }
                }
                self.ext.connbytes = Some(c);
            }
            "--pol" if self.loaded("policy") => {
                let v = self.value(tok)?;
                self.ext.policy = Some(match v.as_str() {
                    "none" => false,
                    "ipsec" => true,
                    _ => return Err(self.bad("policy match: invalid policy", &v)),
                });
            }
            "--dir" | "--strict" | "--reqid" | "--spi" | "--proto" | "--mode" | "--tunnel-src"
            | "--tunnel-dst" | "--next"
                if self.loaded("policy") =>
            {
                if !matches!(tok, "--strict" | "--next") {
                    self.value(tok)?;
                }
            }
            "--transparent" | "--nowildcard" | "--restore-skmark" if self.loaded("socket") => {
                let s = self.ext.socket.get_or_insert((false, false, false));
                match tok {
                    "--transparent" => s.0 = true,
                    "--nowildcard" => s.1 = true,
                    _ => s.2 = true,
                }
            }
            "--src-group" | "--dst-group" if self.loaded("devgroup") => {
                let v = self.value(tok)?;
                let Some(g) = super::parse::parse_mark(&v) else {
                    return Err(self.bad("devgroup: bad group", &v));
                };
                let d = self.ext.devgroup.get_or_insert((None, None, false));
                if tok == "--src-group" {
                    d.0 = Some(g);
                } else {
                    d.1 = Some(g);
                }
                d.2 |= neg;
            }
            _ => return Ok(false),
        }
        self.neg = false;
        Ok(true)
    }

    /// The multi-option matches' final checks (each libxt_*.c's
    /// x6_fcheck), pushing their conditions.
    pub(super) fn ext_final_check(&mut self) -> Result<(), ParseError> {
        // conntrack: whether the same match tests --ctstate
        let with_state = self
            .conds
            .iter()
            .any(|c| matches!(c.kind, CondKind::CtState(_)));
        for c in &mut self.conds {
            if let CondKind::Ct(f) = &mut c.kind {
                set_with_state(f, with_state);
            }
        }
        if let Some(t) = self.ext.time.take() {
            self.conds.push(Cond {
                neg: false,
                kind: CondKind::Time(Box::new(t)),
            });
        }
        if let Some((h, rate)) = self.ext.hashlimit.take() {
            if !rate {
                return Err(self.err(
                    0,
                    "hashlimit: option \"--hashlimit-upto\" must be specified".into(),
                ));
            }
            if h.name.is_empty() {
                return Err(self.err(
                    0,
                    "hashlimit: option \"--hashlimit-name\" must be specified".into(),
                ));
            }
            if h.bytes {
                // byte rates are kept unmodelled
                let c = "-m hashlimit (a rate in bytes)".to_string();
                self.unmod.push((c.clone(), true));
                self.conds.push(Cond {
                    neg: false,
                    kind: CondKind::Unmodelled(c),
                });
            } else {
                self.conds.push(Cond {
                    neg: false,
                    kind: CondKind::Hashlimit(Box::new(h)),
                });
            }
        }
        self.simple_final_checks()
    }

    fn simple_final_checks(&mut self) -> Result<(), ParseError> {
        let e = std::mem::take(&mut self.ext);
        if let Some((above, limit, mask, daddr)) = e.connlimit {
            self.conds.push(Cond {
                neg: false,
                kind: CondKind::Connlimit {
                    above,
                    limit,
                    mask,
                    daddr,
                },
            });
        } else if self.loaded("connlimit") {
            return Err(self.err(
                0,
                "connlimit: You must specify \"--connlimit-above\" or \"--connlimit-upto\"".into(),
            ));
        }
        if let Some((from, to, dir, mode, neg)) = e.connbytes {
            if dir > 2 || mode > 2 {
                return Err(self.err(
                    0,
                    "connbytes: --connbytes-dir and --connbytes-mode are required".into(),
                ));
            }
            self.conds.push(Cond {
                neg,
                kind: CondKind::Connbytes {
                    from,
                    to,
                    dir,
                    mode,
                },
            });
        }
        if self.loaded("rpfilter") {
            let (loose, validmark, accept_local, invert) =
                e.rpfilter.unwrap_or((false, false, false, false));
            self.conds.push(Cond {
                neg: invert,
                kind: CondKind::Rpfilter {
                    loose,
                    validmark,
                    accept_local,
                },
            });
        }
        if self.loaded("policy") {
            let Some(ipsec) = e.policy else {
                return Err(self.err(
                    0,
                    "policy match: neither --dir in nor --dir out specified".into(),
                ));
            };
            self.conds.push(Cond {
                neg: false,
                kind: CondKind::Policy { ipsec },
            });
        }
        if self.loaded("socket") {
            let (transparent, nowildcard, restore_skmark) =
                e.socket.unwrap_or((false, false, false));
            self.conds.push(Cond {
                neg: false,
                kind: CondKind::Socket {
                    transparent,
                    nowildcard,
                    restore_skmark,
                },
            });
        }
        if let Some((src, dst, neg)) = e.devgroup {
            self.conds.push(Cond {
                neg,
                kind: CondKind::Devgroup { src, dst },
            });
        }
        Ok(())
    }
}

fn set_with_state(f: &mut CtField, v: bool) {
    match f {
        CtField::Proto(_, w)
        | CtField::OrigSrc(_, w)
        | CtField::OrigDst(_, w)
        | CtField::ReplSrc(_, w)
        | CtField::ReplDst(_, w)
        | CtField::OrigSrcPort(_, w)
        | CtField::OrigDstPort(_, w)
        | CtField::ReplSrcPort(_, w)
        | CtField::ReplDstPort(_, w)
        | CtField::Status(_, w)
        | CtField::Expire(_, _, w)
        | CtField::Dir(_, w) => *w = v,
    }
}

/// libxt_tos's tos_parse_symbolic: a number with an optional mask, or one
/// of the RFC 1349 names (mask 0x3f).
pub(crate) fn tos_value(s: &str) -> Option<(u8, u8)> {
    let named = match s {
        "Minimize-Delay" => Some(0x10),
        "Maximize-Throughput" => Some(0x08),
        "Maximize-Reliability" => Some(0x04),
        "Minimize-Cost" => Some(0x02),
        "Normal-Service" => Some(0x00),
        _ => None,
    };
    if let Some(v) = named {
        return Some((v, 0x3f));
    }
    let (v, m) = super::parse::parse_mark(s)?;
    let m = if s.contains('/') { m } else { 0xff };
    (v <= 0xff && m <= 0xff).then_some((v as u8, m as u8))
}

/// libip6t_icmp6.c's icmpv6_codes: a name, or `TYPE[/CODE]`.
fn icmp6_type(s: &str) -> Option<(u8, Option<u8>)> {
    if let Some((t, c)) = s.split_once('/') {
        return Some((t.parse().ok()?, Some(c.parse().ok()?)));
    }
    Some(match s {
        "destination-unreachable" => (1, None),
        "no-route" => (1, Some(0)),
        "communication-prohibited" => (1, Some(1)),
        "beyond-scope" => (1, Some(2)),
        "address-unreachable" => (1, Some(3)),
        "port-unreachable" => (1, Some(4)),
        "failed-policy" => (1, Some(5)),
        "reject-route" => (1, Some(6)),
        "packet-too-big" => (2, None),
        "time-exceeded" | "ttl-exceeded" => (3, None),
        "ttl-zero-during-transit" => (3, Some(0)),
        "ttl-zero-during-reassembly" => (3, Some(1)),
        "parameter-problem" => (4, None),
        "bad-header" => (4, Some(0)),
        "unknown-header-type" => (4, Some(1)),
        "unknown-option" => (4, Some(2)),
        "echo-request" | "ping" => (128, None),
        "echo-reply" | "pong" => (129, None),
        "router-solicitation" => (133, None),
        "router-advertisement" => (134, None),
        "neighbour-solicitation" | "neighbor-solicitation" => (135, None),
        "neighbour-advertisement" | "neighbor-advertisement" => (136, None),
        "redirect" => (137, None),
        "mld-listener-query" => (130, None),
        "mld-listener-report" => (131, None),
        "mld-listener-done" | "mld-listener-reduction" => (132, None),
        other => (other.parse().ok()?, None),
    })
}

/// extensions/dscp_helper.c class_to_dscp.
pub(crate) fn dscp_class(s: &str) -> Option<u8> {
    let s = s.to_ascii_uppercase();
    Some(match s.as_str() {
        "CS0" | "BE" => 0x00,
        "CS1" => 0x08,
        "CS2" => 0x10,
        "CS3" => 0x18,
        "CS4" => 0x20,
        "CS5" => 0x28,
        "CS6" => 0x30,
        "CS7" => 0x38,
        "AF11" => 0x0a,
        "AF12" => 0x0c,
        "AF13" => 0x0e,
        "AF21" => 0x12,
        "AF22" => 0x14,
        "AF23" => 0x16,
        "AF31" => 0x1a,
        "AF32" => 0x1c,
        "AF33" => 0x1e,
        "AF41" => 0x22,
        "AF42" => 0x24,
        "AF43" => 0x26,
        "EF" => 0x2e,
        _ => return None,
    })
}

// ------------------------------------------------------------------ evaluation

fn in_net(n: &Ipv4Net, a: Ipv4Addr) -> bool {
    n.contains(&a)
}

/// xt_conntrack.c conntrack_mt for one test; None when the packet has no
/// connection (the caller then applies `with_state`).
fn ct_field(f: &CtField, ct: &CtView) -> bool {
    let inr = |(lo, hi): (u16, u16), p: u16| (lo..=hi).contains(&p);
    match f {
        CtField::Proto(p, _) => ct.orig.0 == *p,
        CtField::OrigSrc(n, _) => in_net(n, ct.orig.1),
        CtField::OrigDst(n, _) => in_net(n, ct.orig.3),
        CtField::ReplSrc(n, _) => in_net(n, ct.reply.1),
        CtField::ReplDst(n, _) => in_net(n, ct.reply.3),
        CtField::OrigSrcPort(r, _) => inr(*r, ct.orig.2),
        CtField::OrigDstPort(r, _) => inr(*r, ct.orig.4),
        CtField::ReplSrcPort(r, _) => inr(*r, ct.reply.2),
        CtField::ReplDstPort(r, _) => inr(*r, ct.reply.4),
        // conntrack_mt: (ct->status & statusmask) != 0
        CtField::Status(b, _) => ct.status & b != 0,
        CtField::Expire(lo, hi, _) => (*lo..=*hi).contains(&ct.expires_s),
        CtField::Dir(reply, _) => ct.reply_dir == *reply,
    }
}

/// xt_time.c time_mt on the virtual clock (`now_ns` since the epoch,
/// UTC: the kernel's `--kerneltz` offset is 0 here).
fn time_holds(t: &TimeSpec, now_ns: u64) -> bool {
    let stamp = now_ns / 1_000_000_000;
    if stamp < t.date_start || stamp > t.date_stop {
        return false;
    }
    let secs = (stamp % 86_400) as u32;
    let days = stamp / 86_400;
    let mut day_shift = 0u64;
    if t.daytime_start < t.daytime_stop {
        if secs < t.daytime_start || secs > t.daytime_stop {
            return false;
        }
    } else {
        // a window across midnight
        if secs < t.daytime_start && secs > t.daytime_stop {
            return false;
        }
        if t.contiguous && secs <= t.daytime_stop {
            // the day the window began
            day_shift = 1;
        }
    }
    let days = days.saturating_sub(day_shift);
    // 1970-01-01 was a Thursday (4); weekday bits: 1 Monday .. 7 Sunday
    let wd = ((days + 3) % 7 + 1) as u8;
    if t.weekdays & (1 << wd) == 0 {
        return false;
    }
    if t.monthdays != 0xffff_fffe {
        let Ok(d) = time::OffsetDateTime::from_unix_timestamp((days * 86_400) as i64) else {
            return false;
        };
        if t.monthdays & (1 << d.day()) == 0 {
            return false;
        }
    }
    true
}

/// The hashed key of `-m hashlimit` (xt_hashlimit.c hashlimit_init_dst):
/// the fields the mode names, addresses under their masks.
fn hashlimit_key(h: &HashlimitSpec, pkt: &NfPacket) -> Vec<u8> {
    let mask = |a: Ipv4Addr, len: u8| {
        let m = if len == 0 {
            0
        } else {
            u32::MAX << (32 - len as u32)
        };
        (u32::from(a) & m).to_be_bytes()
    };
    let mut k = Vec::new();
    if h.mode & 1 != 0 {
        k.extend(mask(pkt.src, h.srcmask));
    }
    if h.mode & 4 != 0 {
        k.extend(mask(pkt.dst, h.dstmask));
    }
    if h.mode & 2 != 0 {
        k.extend(pkt.sport.unwrap_or(0).to_be_bytes());
    }
    if h.mode & 8 != 0 {
        k.extend(pkt.dport.unwrap_or(0).to_be_bytes());
    }
    k
}

/// Evaluates the conditions of this module; None for the others.
pub(super) fn holds(c: &Cond, pkt: &NfPacket, env: &mut EvalEnv) -> Option<bool> {
    let m = match &c.kind {
        CondKind::Ttl { op, value, .. } => op.holds(pkt.ttl, *value),
        // xt_pkttype.c pkttype_mt
        CondKind::PktType(t) => pkt_type(pkt, env) == *t,
        CondKind::Length(lo, hi) => (*lo..=*hi).contains(&pkt.len),
        CondKind::MacSource(m) => pkt.src_mac == Some(*m),
        // xt_dscp.c tos_mt: (tos & mask) == value
        CondKind::Tos { value, mask } => pkt.tos & mask == *value,
        CondKind::Dscp(d) => pkt.tos >> 2 == *d,
        CondKind::EcnIp(e) => pkt.tos & 3 == *e,
        CondKind::EcnTcp { cwr } => {
            let bit = if *cwr { 0x80 } else { 0x40 };
            pkt.tcp_flags.is_some_and(|f| f & bit != 0)
        }
        CondKind::Ct(f) => match &pkt.ct {
            Some(ct) => ct_field(f, ct),
            None => return Some(f.with_state()),
        },
        CondKind::Time(t) => time_holds(t, env.now_ns),
        CondKind::Hashlimit(h) => {
            // hashlimit_mt: the bucket of the packet's key, as -m limit's
            // (credit in ns of virtual time); --hashlimit-above matches
            // when the bucket is empty.
            let cost = u64::from(h.avg) * 1_000;
            let cap = cost * u64::from(h.burst.max(1));
            let now = env.now_ns;
            let key = (h.name.clone(), hashlimit_key(h, pkt));
            let b = env.state.hashlimit.entry(key).or_insert((cap, now));
            b.0 = (b.0 + now.saturating_sub(b.1)).min(cap);
            b.1 = now;
            let under = if b.0 >= cost {
                b.0 -= cost;
                true
            } else {
                false
            };
            under != h.above
        }
        CondKind::Rpfilter {
            loose,
            validmark,
            accept_local,
        } => rpfilter(pkt, env, *loose, *validmark, *accept_local),
        CondKind::Connlimit {
            above,
            limit,
            mask,
            daddr,
        } => {
            let a = if *daddr { pkt.dst } else { pkt.src };
            let n = env.addr.conn_count(a, *mask, *daddr);
            if *above {
                n > *limit
            } else {
                n <= *limit
            }
        }
        CondKind::Connbytes {
            from,
            to,
            dir,
            mode,
        } => return Some(connbytes(pkt, (*from, *to), *dir, *mode, c.neg)),
        // podpath runs no conntrack helpers (ftp, sip...): no connection
        // has one
        CondKind::Helper(_) => false,
        CondKind::Devgroup { src, dst } => {
            let g = |dev: &Option<String>| dev.as_deref().map_or(0, |d| env.addr.dev_group(d));
            src.is_none_or(|(v, m)| g(&pkt.in_if) & m == v)
                && dst.is_none_or(|(v, m)| g(&pkt.out_if) & m == v)
        }
        // no IPsec in podpath: no packet has a policy
        CondKind::Policy { ipsec } => !*ipsec,
        CondKind::Socket {
            transparent,
            nowildcard,
            restore_skmark,
        } => {
            let sk = socket_lookup(pkt, env.addr);
            crate::net::netfilter::sk::xt_socket_match(
                sk,
                *transparent,
                *nowildcard,
                *restore_skmark,
            )
            .0
        }
        CondKind::Unmodelled(_) | CondKind::OwnerName { .. } => return Some(env.assume.holds()),
        _ => return None,
    };
    Some(m != c.neg)
}

/// xt_connbytes.c connbytes_mt: the connection's counters (none without
/// a connection or without accounting: no match) in one direction or
/// both, as packets, bytes or bytes per packet; `!` is libxt_connbytes.c's
/// swap of from and to, which the kernel reads as "outside" when to <
/// from.
fn connbytes(pkt: &NfPacket, (from, to): (u64, u64), dir: u8, mode: u8, neg: bool) -> bool {
    let Some(c) = pkt.ct.as_ref().and_then(|c| c.acct) else {
        return false;
    };
    let pick = |f: fn(&(u64, u64)) -> u64| match dir {
        0 => f(&c[0]),
        1 => f(&c[1]),
        _ => f(&c[0]).saturating_add(f(&c[1])),
    };
    let what = match mode {
        0 => pick(|x| x.0),
        1 => pick(|x| x.1),
        _ => {
            let (b, p) = (pick(|x| x.1), pick(|x| x.0));
            b.checked_div(p).unwrap_or(0)
        }
    };
    let (from, to) = if neg { (to, from) } else { (from, to) };
    if to >= from {
        what <= to && what >= from
    } else {
        what < to || what > from
    }
}

/// xt_pkttype.c: skb->pkt_type, which podpath derives from the IP
/// destination (a multicast or broadcast address; else the host).
fn pkt_type(pkt: &NfPacket, env: &EvalEnv) -> u8 {
    if pkt.dst.is_multicast() {
        2
    } else if pkt.dst.is_broadcast() || env.addr.addr_type(pkt.dst, None) & addrtype::BROADCAST != 0
    {
        1
    } else {
        0
    }
}

/// net/ipv4/netfilter/ipt_rpfilter.c rpfilter_mt: a route back to the
/// source through the interface the packet came in on.
fn rpfilter(pkt: &NfPacket, env: &EvalEnv, loose: bool, validmark: bool, local: bool) -> bool {
    // rpfilter_is_loopback
    if pkt.in_if.as_deref() == Some("lo") {
        return true;
    }
    let d = pkt.dst.octets();
    if pkt.src.is_unspecified()
        && (pkt.dst.is_broadcast() || (d[0] == 224 && d[1] == 0 && d[2] == 0))
    {
        return true;
    }
    // rpfilter_get_saddr
    let saddr = if pkt.dst.is_multicast() || pkt.dst.is_broadcast() || pkt.dst.is_unspecified() {
        None
    } else {
        Some(pkt.dst)
    };
    let mark = if validmark { pkt.mark } else { 0 };
    let Some((unicast, is_local, dev)) = env.addr.reverse_route(pkt.src, saddr, mark) else {
        return false;
    };
    // rpfilter_lookup_reverse
    if !(unicast || is_local && local) {
        return false;
    }
    loose || dev.is_some() && dev == pkt.in_if
}

/// The local socket of the packet, as `nf_sk_lookup_slow_v4`
/// (net/ipv4/netfilter/nf_socket_ipv4.c) finds it for `-m socket` and
/// nft's `socket`: an established socket of the tuple, else a listener;
/// a reply of a SNATed connection is looked up with its original source
/// as the destination (the socket sent it from there). Simplifications:
/// an ICMP error's quoted tuple is not looked up (no socket), and a
/// socket TPROXY already assigned is looked up again by the tuple.
pub(crate) fn socket_lookup(
    pkt: &NfPacket,
    addr: &dyn crate::net::netfilter::AddrClass,
) -> Option<crate::net::netfilter::sk::SkInfo> {
    use crate::net::netfilter::sk::{SkLookup, SkQuery};
    if pkt.proto != 6 && pkt.proto != 17 {
        return None;
    }
    let (mut daddr, mut dport) = (pkt.dst, pkt.dport?);
    if let Some(ct) = &pkt.ct {
        // IP_CT_ESTABLISHED_REPLY with IPS_SRC_NAT_DONE
        if ct.reply_dir && ct.status & 16 != 0 && pkt.ct_state & ctbits_established() != 0 {
            daddr = ct.orig.1;
            dport = ct.orig.2;
        }
    }
    let q = SkQuery {
        proto: pkt.proto,
        saddr: pkt.src,
        sport: pkt.sport?,
        daddr,
        dport,
    };
    addr.sk_lookup(&q, SkLookup::Any)
}

fn ctbits_established() -> u8 {
    crate::net::netfilter::ctbits::ESTABLISHED
}

/// xt_sctp.c `match_packet`: `any` holds at the first listed chunk whose
/// flags fit (`match_flags`: the flag entries of its type, if any); `all`
/// once every listed type was seen with fitting flags; `only` while every
/// chunk is listed and fits.
pub(crate) fn sctp_chunks(
    chunks: &[crate::wire::sctp::Chunk],
    mode: super::SctpChunkMode,
    map: &[u64; 4],
    flags: &[(u8, u8, u8)],
) -> bool {
    use super::SctpChunkMode::*;
    let listed = |t: u8| map[t as usize / 64] & (1 << (t % 64)) != 0;
    let fits = |t: u8, f: u8| {
        flags
            .iter()
            .find(|(ty, _, _)| *ty == t)
            .is_none_or(|(_, flag, mask)| f & mask == *flag)
    };
    let mut left = *map;
    for c in chunks {
        if listed(c.ty) {
            match mode {
                Any if fits(c.ty, c.flags) => return true,
                All if fits(c.ty, c.flags) => left[c.ty as usize / 64] &= !(1 << (c.ty % 64)),
                Only if !fits(c.ty, c.flags) => return false,
                _ => {}
            }
        } else if mode == Only {
            return false;
        }
    }
    match mode {
        All => left == [0; 4],
        Any => false,
        Only => true,
    }
}
