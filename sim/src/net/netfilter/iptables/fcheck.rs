//! The final checks iptables-restore makes on each extension instance of
//! a rule once its options are read (libxtables/xtoptions.c
//! `xtables_options_fcheck` and each extension's `x6_fcheck`), the value
//! parsers of extensions that parse an option themselves (`x6_parse`), and
//! the checks only the kernel makes when the table is committed
//! (`checkentry`: the restore fails with "Invalid argument"). Each refusal
//! carries the tool's words.

use super::parse::RuleArgs;
use super::xopts;
use crate::net::netfilter::ParseError;

/// One long option as given on a rule.
#[derive(Clone, Debug)]
pub(crate) struct Given {
    /// Its extension instance: `None` the target, `Some(k)` the k-th
    /// loaded match.
    pub inst: Option<usize>,
    /// Its name, without `--`, as getopt resolved it.
    pub name: String,
    /// Its value words, joined by a space (empty for a flag).
    pub val: String,
    /// Whether `!` preceded it.
    pub neg: bool,
}

/// Extensions whose `x6_fcheck` refuses them without one of `opts` (an
/// empty list: without any option), with their message (libipt_ECN.c
/// ECN_check, libxt_TOS.c tos_tg_check, libipt_TTL.c TTL_check,
/// libip6t_HL.c HL_check, libxt_CONNSECMARK.c, libxt_DSCP.c, libxt_MARK.c
/// mark_tg_check, libxt_CONNMARK.c connmark_tg_check, libxt_TCPMSS.c,
/// libxt_conntrack.c conntrack_mt_check, libxt_devgroup.c, libxt_dscp.c,
/// libxt_ecn.c, libxt_iprange.c, libxt_multiport.c, libxt_physdev.c,
/// libxt_recent.c recent_check, libxt_string.c string_check,
/// libipt_ttl.c, libip6t_hl.c, libxt_connlimit.c connlimit_check).
const REQUIRED: &[(&str, bool, &[&str], &str)] = &[
    ("ECN", true, &[], "ECN target: An operation is required"),
    (
        "TOS",
        true,
        &["set-tos", "and-tos", "or-tos", "xor-tos"],
        "TOS: An action is required",
    ),
    (
        "TTL",
        true,
        &["ttl-set", "ttl-inc", "ttl-dec"],
        "TTL: You must specify an action",
    ),
    (
        "HL",
        true,
        &["hl-set", "hl-inc", "hl-dec"],
        "HL: You must specify an action",
    ),
    (
        "CONNSECMARK",
        true,
        &[],
        "CONNSECMARK target: parameter required",
    ),
    (
        "DSCP",
        true,
        &[],
        "DSCP target: Parameter --set-dscp is required",
    ),
    (
        "MARK",
        true,
        &[],
        "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required",
    ),
    (
        "CONNMARK",
        true,
        &[
            "set-mark",
            "save-mark",
            "restore-mark",
            "and-mark",
            "or-mark",
            "xor-mark",
            "set-xmark",
        ],
        "CONNMARK target: No operation specified",
    ),
    (
        "TCPMSS",
        true,
        &[],
        "TCPMSS target: At least one parameter is required",
    ),
    (
        "conntrack",
        false,
        &[],
        "conntrack: At least one option is required",
    ),
    (
        "devgroup",
        false,
        &[],
        "devgroup match: You must specify either '--src-group' or '--dst-group'",
    ),
    (
        "dscp",
        false,
        &[],
        "DSCP match: Parameter --dscp is required",
    ),
    ("ecn", false, &[], "ECN match: some option required"),
    (
        "iprange",
        false,
        &[],
        "iprange match: You must specify `--src-range' or `--dst-range'",
    ),
    ("multiport", false, &[], "no ports specified"),
    (
        "physdev",
        false,
        &[],
        "PHYSDEV: no physdev option specified",
    ),
    (
        "recent",
        false,
        &["set", "rcheck", "update", "remove"],
        "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
    ),
    (
        "string",
        false,
        &["string", "hex-string"],
        "STRING match: You must specify `--string' or `--hex-string'",
    ),
    (
        "ttl",
        false,
        &["ttl-eq", "ttl-lt", "ttl-gt"],
        "TTL match: You must specify one of `--ttl-eq', `--ttl-lt', `--ttl-gt",
    ),
    (
        "hl",
        false,
        &["hl-eq", "hl-lt", "hl-gt", "hl"],
        "HL match: You must specify one of `--hl-eq', `--hl-lt', `--hl-gt'",
    ),
    (
        "connlimit",
        false,
        &["connlimit-above", "connlimit-upto"],
        "You must specify \"--connlimit-above\" or \"--connlimit-upto\".",
    ),
];

/// The kernel's refusal, as the restore reports it.
fn kernel(what: String) -> String {
    format!("{what} (the kernel refuses the rule: iptables-restore fails on this line)")
}

/// The kernel's refusal with its errno, as legacy iptables-restore
/// reports a failed commit (iptables-restore.c: "%s: line %u failed";
/// libiptc.c TC_STRERROR: strerror of the errno).
pub(crate) fn kernel_errno(what: String, errno: &str) -> String {
    format!("{what} (the kernel refuses the rule: iptables-restore: line failed: {errno})")
}

impl RuleArgs<'_> {
    /// Records option `name` given at word `start` (its value words run
    /// to the current word), owned by the target when `in_target` and the
    /// target has it, else by the last loaded match that has it.
    pub(super) fn record_given(&mut self, name: &str, start: usize, neg: bool, in_target: bool) {
        let v6 = self.v6;
        let has = |e: &str, t: bool| {
            super::extensions::find(e, t, v6).is_some_and(|x| x.opts.iter().any(|o| o.name == name))
        };
        let target_has = in_target && self.target_name.as_ref().is_some_and(|(t, _)| has(t, true));
        let inst = if target_has {
            None
        } else {
            match self.modules.iter().rposition(|m| has(m, false)) {
                Some(k) => Some(k),
                None => return,
            }
        };
        let end = self.i.min(self.toks.len().saturating_sub(1));
        let val = self
            .toks
            .get(start + 1..=end)
            .unwrap_or(&[])
            .iter()
            .map(|t| t.s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        self.given.push(Given {
            inst,
            name: name.to_string(),
            val,
            neg,
        });
    }

    /// The checks of every extension instance of the rule: xtoptions.c's
    /// once/excl/also, the `x6_fcheck` of the extension and its own value
    /// parsers.
    pub(super) fn option_table_checks(&self) -> Result<(), ParseError> {
        let mut insts: Vec<(Option<usize>, &str, bool)> = self
            .modules
            .iter()
            .enumerate()
            .map(|(k, m)| (Some(k), m.as_str(), false))
            .collect();
        if let Some((t, _)) = &self.target_name {
            insts.push((None, t.as_str(), true));
        }
        for (inst, ext, target) in insts {
            let given: Vec<&Given> = self.given.iter().filter(|g| g.inst == inst).collect();
            let names: Vec<&str> = given.iter().map(|g| g.name.as_str()).collect();
            // a match loaded by `-p` without options of its own is not
            // checked (command_default loads it for its options only)
            let implicit = !target
                && !self
                    .toks
                    .windows(2)
                    .any(|w| matches!(w[0].s.as_str(), "-m" | "--match") && w[1].s == ext);
            if implicit && given.is_empty() {
                continue;
            }
            let fail = |m: String| self.err(0, m);
            xopts::check_instance(ext, &names, self.v6).map_err(fail)?;
            if let Some((_, _, opts, msg)) = REQUIRED
                .iter()
                .find(|(e, t, _, _)| *e == ext && *t == target)
            {
                let ok = if opts.is_empty() {
                    !names.is_empty()
                } else {
                    names.iter().any(|n| opts.contains(n))
                };
                if !ok {
                    return Err(fail(msg.to_string()));
                }
            }
            ext_check(ext, target, &given, self.v6).map_err(fail)?;
            self.proto_check(ext, target, &given).map_err(fail)?;
            for g in &given {
                rc_order(ext, target, g, self.v6).map_err(fail)?;
            }
        }
        Ok(())
    }
}

/// The rule's `-p` protocol (0 when none) and whether it is negated.
impl RuleArgs<'_> {
    fn proto(&self) -> (u8, bool) {
        self.conds
            .iter()
            .find_map(|c| match c.kind {
                super::CondKind::Proto(p) => Some((p, c.neg)),
                _ => None,
            })
            .unwrap_or((0, false))
    }

    /// The checks of an extension that need the rule's protocol: the
    /// kernel's `.proto` and checkentry (xt_osf.c: tcp; xt_TPROXY.c
    /// tproxy_tg4_check/tproxy_tg6_check: "Can be used only with -p tcp,
    /// -p udp"; xt_ecn.c ecn_mt_check4/6: "cannot match TCP bits for
    /// non-tcp packets"; ip6t_REJECT.c reject_tg6_check: "TCP_RESET
    /// illegal for non-tcp") and libxt_NAT.c parse_ports' portok for
    /// ip6tables' NAT targets.
    fn proto_check(&self, ext: &str, target: bool, given: &[&Given]) -> Result<(), String> {
        let (p, inv) = self.proto();
        let is = |want: &[u8]| want.contains(&p) && !inv;
        match (ext, target) {
            ("osf", false) if !is(&[6]) => Err(kernel(
                "x_tables: osf match: only valid for protocol 6".into(),
            )),
            ("TPROXY", true) if !is(&[6, 17]) => Err(kernel(
                "TPROXY: Can be used only with -p tcp, -p udp".into(),
            )),
            ("ecn", false) if given.iter().any(|g| g.name.starts_with("ecn-tcp-")) && !is(&[6]) => {
                Err(kernel(
                    "ecn match: cannot match TCP bits for non-tcp packets".into(),
                ))
            }
            ("REJECT", true)
                if self.v6 && val(given, "reject-with") == Some("tcp-reset") && !is(&[6]) =>
            {
                Err(kernel("REJECT: TCP_RESET illegal for non-tcp".into()))
            }
            ("DNAT" | "SNAT", true) if self.v6 => {
                let o = if ext == "DNAT" {
                    "to-destination"
                } else {
                    "to-source"
                };
                let ports = val(given, o)
                    .and_then(|v| v.strip_prefix('['))
                    .and_then(|v| v.split_once(']'))
                    .is_some_and(|(_, a)| a.starts_with(':'));
                if ports && !is(&[6, 17, 132, 33, 1]) {
                    Err("Need TCP, UDP, SCTP or DCCP with port specification".into())
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

/// xtopt_parse_mint's order of a range's components, for the options
/// podpath's own parsers read (`--length 4:3`, `--ctexpire 4:3`).
fn rc_order(ext: &str, target: bool, g: &Given, v6: bool) -> Result<(), String> {
    let Some(e) = super::extensions::find(ext, target, v6) else {
        return Ok(());
    };
    let Some(o) = e.opts.iter().find(|o| o.name == g.name) else {
        return Ok(());
    };
    use super::extensions::Ty;
    if matches!(o.ty, Ty::UINT16RC | Ty::UINT32RC | Ty::UINT64RC) && !g.val.is_empty() {
        super::extensions::check_value(ext, o, g.val.trim_matches('"'))?;
    }
    Ok(())
}

/// The value of option `name` among `given`.
fn val<'a>(given: &[&'a Given], name: &str) -> Option<&'a str> {
    given
        .iter()
        .find(|g| g.name == name)
        .map(|g| g.val.trim_matches('"'))
}

/// An unsigned number as strtoul reads it with base 0 (decimal, 0x hex,
/// 0 octal), whole.
pub(super) fn strtoul(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// The checks of one extension, its own parser's and its kernel's.
fn ext_check(ext: &str, target: bool, given: &[&Given], v6: bool) -> Result<(), String> {
    match (ext, target) {
        ("TCPOPTSTRIP", true) => match val(given, "strip-options") {
            Some(v) => tcpoptstrip_list(v),
            None => Ok(()),
        },
        ("NFQUEUE", true) => match val(given, "queue-balance") {
            Some(v) => queue_balance(v),
            None => Ok(()),
        },
        ("CT", true) => {
            for z in ["zone", "zone-orig", "zone-reply"] {
                if let Some(v) = val(given, z) {
                    // libxt_CT.c ct_parse_zone_id
                    if !v.eq_ignore_ascii_case("mark") && strtoul(v).is_none_or(|n| n > 0xffff) {
                        return Err(format!("Cannot parse {v} as a zone ID"));
                    }
                }
            }
            Ok(())
        }
        ("AUDIT", true) => match val(given, "type") {
            // libxt_AUDIT.c audit_parse
            Some(v) if !["accept", "drop", "reject"].contains(&v.to_ascii_lowercase().as_str()) => {
                Err(format!("Bad action type value \"{v}\""))
            }
            _ => Ok(()),
        },
        ("DNAT" | "SNAT", true) => {
            let o = if ext == "DNAT" {
                "to-destination"
            } else {
                "to-source"
            };
            match val(given, o) {
                Some(v) => nat_to(v, v6, ext == "DNAT"),
                None => Ok(()),
            }
        }
        ("MASQUERADE" | "REDIRECT", true) => match val(given, "to-ports") {
            Some(v) => nat_ports(v).and_then(|shifted| {
                // libxt_NAT.c DNAT_fcheck (REDIRECT revision 0)
                if shifted && ext == "REDIRECT" {
                    Err("Shifted portmap ranges not supported with this kernel".into())
                } else {
                    Ok(())
                }
            }),
            None => Ok(()),
        },
        ("connlabel", false) => match val(given, "label") {
            // xt_connlabel.c connlabel_mt_check: bit < XT_CONNLABEL_MAXBIT
            // + 1 (128 labels); a name is looked up in connlabel.conf,
            // which podpath does not have: names are accepted
            Some(v) if strtoul(v).is_some_and(|b| b > 127) => Err(kernel(format!(
                "connlabel: label {v} is beyond the 128 labels of a connection"
            ))),
            _ => Ok(()),
        },
        ("owner", false) => owner(given),
        ("statistic", false) => {
            // libxt_statistic.c statistic_check
            match (
                val(given, "every").and_then(strtoul),
                val(given, "packet").and_then(strtoul),
            ) {
                (Some(n), Some(p)) if p > n.saturating_sub(1) => {
                    Err("the --packet p must be 0 <= p <= n-1".into())
                }
                _ => Ok(()),
            }
        }
        ("policy", false) => policy(given),
        ("LOG", true) => match val(given, "log-level") {
            Some(v) => super::extensions::find("LOG", true, v6)
                .and_then(|e| e.opts.iter().find(|o| o.name == "log-level"))
                .map_or(Ok(()), |o| super::extensions::check_value("LOG", o, v)),
            None => Ok(()),
        },
        ("HMARK", true) => hmark(given),
        // xt_recent.c recent_mt_check: `info->hit_count >=
        // XT_RECENT_MAX_NSTAMPS` is -EINVAL; the limit is 65536 since
        // kernel commit f4ebd03496f6 ("netfilter: xt_recent: Lift
        // restrictions on max hitcount value", Linux 6.11; it was 256
        // from 4.10, but the corpus holds a real dump with --hitcount
        // 348, so the newer limit is the one taken; iptables' own
        // libxt_recent.t was moved to 65536 with it, iptables commit
        // d859b91e)
        ("recent", false) => match val(given, "hitcount").and_then(strtoul) {
            Some(n) if n >= 65536 => Err(kernel_errno(
                format!("xt_recent: hitcount ({n}) is larger than allowed maximum (65535)"),
                "Invalid argument",
            )),
            _ => Ok(()),
        },
        // xt_cgroup.c cgroup_mt_check_v1/v2
        ("cgroup", false) => {
            let path = val(given, "path").is_some();
            let id = val(given, "cgroup").is_some();
            match (path, id) {
                (false, false) => Err(kernel("xt_cgroup: no path or classid specified".into())),
                (true, true) => Err(kernel("xt_cgroup: both path and classid specified".into())),
                _ => Ok(()),
            }
        }
        ("DNPT" | "SNPT", true) => npt(given),
        ("mh", false) => match val(given, "mh-type") {
            Some(v) => mh_types(v),
            None => Ok(()),
        },
        ("string", false) => string(given),
        _ => Ok(()),
    }
}

/// libip6t_mh.c parse_mh_types/name_to_type: a type by (a prefix of)
/// its name or number up to 255, a range `MIN:MAX` not descending.
fn mh_types(v: &str) -> Result<(), String> {
    const NAMES: &[(&str, u64)] = &[
        ("binding-refresh-request", 0),
        ("brr", 0),
        ("home-test-init", 1),
        ("hoti", 1),
        ("careof-test-init", 2),
        ("coti", 2),
        ("home-test", 3),
        ("hot", 3),
        ("careof-test", 4),
        ("cot", 4),
        ("binding-update", 5),
        ("bu", 5),
        ("binding-acknowledgement", 6),
        ("ba", 6),
        ("binding-error", 7),
        ("be", 7),
    ];
    let ty = |n: &str| -> Result<u64, String> {
        let l = n.to_ascii_lowercase();
        let mut found = None;
        for (name, t) in NAMES {
            if name.starts_with(&l) && (found.is_none() || name.len() == l.len()) {
                found = Some(*t);
            }
        }
        found
            .or_else(|| strtoul(n).filter(|x| *x <= 255))
            .ok_or_else(|| format!("Invalid MH type `{n}'"))
    };
    let Some((a, b)) = v.split_once(':') else {
        return ty(v).map(|_| ());
    };
    let lo = if a.is_empty() { 0 } else { ty(a)? };
    let hi = if b.is_empty() { 255 } else { ty(b)? };
    if lo > hi {
        return Err("Invalid MH type range (min > max)".into());
    }
    Ok(())
}

/// libxt_HMARK.c HMARK_check.
fn hmark(given: &[&Given]) -> Result<(), String> {
    let has = |o: &str| given.iter().any(|g| g.name == o);
    if !has("hmark-mod") {
        return Err("--hmark-mod is mandatory".into());
    }
    if !has("hmark-rnd") {
        return Err("--hmark-rnd is mandatory".into());
    }
    if has("hmark-spi-mask") && (has("hmark-sport-mask") || has("hmark-dport-mask")) {
        return Err(
            "you cannot use --hmark-spi-mask and --hmark-?port-mask,at the same time".into(),
        );
    }
    Ok(())
}

/// ip6t_NPT.c ip6t_npt_checkentry: prefixes of at most 64 bits with no
/// bit set past their length (an address without a length is a /128).
fn npt(given: &[&Given]) -> Result<(), String> {
    for o in ["src-pfx", "dst-pfx"] {
        let Some(v) = val(given, o) else { continue };
        let (a, l) = v.split_once('/').unwrap_or((v, "128"));
        let (Ok(a), Ok(l)) = (a.parse::<std::net::Ipv6Addr>(), l.parse::<u32>()) else {
            continue;
        };
        let bits = u128::from(a);
        let host = if l >= 128 { 0 } else { u128::MAX >> l };
        if l > 64 || bits & host != 0 {
            return Err(kernel(format!(
                "NPT: --{o} {v} is not a prefix of at most 64 bits"
            )));
        }
    }
    Ok(())
}

/// libxt_TCPOPTSTRIP.c parse_list: names of tcp_optionmap or numbers up
/// to 255, not 0 or 1, each once.
fn tcpoptstrip_list(v: &str) -> Result<(), String> {
    let mut seen = Vec::new();
    for a in v.split(',') {
        let n = match a {
            "wscale" => 3,
            "mss" => 2,
            "sack-permitted" => 4,
            "sack" => 5,
            "timestamp" => 8,
            "md5" => 19,
            _ => match strtoul(a) {
                Some(n) if n <= 255 => n,
                _ => return Err(format!("Bad TCP option value \"{a}\"")),
            },
        };
        if n < 2 {
            return Err("Option value may not be 0 or 1".into());
        }
        if seen.contains(&n) {
            return Err(format!("Option \"{a}\" already specified"));
        }
        seen.push(n);
    }
    Ok(())
}

/// libxt_NFQUEUE.c NFQUEUE_parse_v3: two components, the first less than
/// the second.
fn queue_balance(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.split(':').collect();
    if parts.len() != 2 {
        return Err(format!("Bad range \"{v}\""));
    }
    let lo = if parts[0].is_empty() {
        Some(0)
    } else {
        strtoul(parts[0])
    };
    let hi = if parts[1].is_empty() {
        Some(65534)
    } else {
        strtoul(parts[1])
    };
    match (lo, hi) {
        (Some(a), Some(b)) if a >= b => Err(format!("{a} should be less than {b}")),
        _ => Ok(()),
    }
}

/// strtoul's reading of a leading number (base 0): the value and the
/// rest; `None` when no digit leads or the value passes 65535 (as
/// xtables_strtoui with `end` given: trailing text is left to the caller).
fn lead_port(s: &str) -> Option<(u64, &str)> {
    let (digits, radix, skip) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16, 2),
        None => (s, 10, 0),
    };
    let n = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if n == 0 {
        return None;
    }
    let v = u64::from_str_radix(&digits[..n], radix).ok()?;
    (v <= 0xffff).then_some((v, &s[skip + n..]))
}

/// libxt_NAT.c parse_ports: `PORT` (a number or a service name),
/// `PORT-PORT` (numbers only), `PORT-PORT/BASE`; returns whether the
/// range is shifted (has a base).
fn nat_ports(arg: &str) -> Result<bool, String> {
    let bad = |p: &str| format!("Port `{p}' not valid");
    let Some((port, end)) = lead_port(arg) else {
        return match super::extensions::parse_port(arg) {
            Some(_) if !arg.starts_with(|c: char| c.is_ascii_digit()) => Ok(false),
            _ => Err(bad(arg)),
        };
    };
    let rest = match end.as_bytes().first() {
        None => return Ok(false),
        Some(b'-') => &end[1..],
        Some(b':') => return Err("Invalid port:port syntax - use dash".into()),
        Some(_) => return Err(format!("Garbage after port value: `{end}'")),
    };
    let (maxport, end) = lead_port(rest).ok_or_else(|| bad(rest))?;
    if maxport < port {
        return Err(format!("Port range `{rest}' funky"));
    }
    let base = match end.as_bytes().first() {
        None => return Ok(false),
        Some(b'/') => &end[1..],
        Some(_) => return Err(format!("Garbage after port range: `{end}'")),
    };
    let ok = lead_port(base).is_some_and(|(n, _)| n >= 1)
        || (!base.starts_with(|c: char| c.is_ascii_digit())
            && super::extensions::parse_port(base).is_some());
    if !ok {
        return Err(bad(base));
    }
    Ok(true)
}

/// libxt_NAT.c parse_to: the port part of `--to-destination`/
/// `--to-source` (after `]:` for v6, after the only colon for v4), and
/// DNAT_fcheck's refusal of shifted ranges for the IPv4 DNAT revision 2
/// does not apply (revision 2 takes them).
fn nat_to(v: &str, v6: bool, _dnat: bool) -> Result<(), String> {
    let ports = if let Some(rest) = v.strip_prefix('[') {
        match rest.split_once(']') {
            Some((_, after)) => after.strip_prefix(':'),
            None => return Err("Invalid address format".into()),
        }
    } else if v.contains('[') {
        return Err("Invalid address format".into());
    } else {
        match v.split_once(':') {
            Some((_, p)) if !v6 && !p.contains(':') => Some(p),
            _ => None,
        }
    };
    match ports {
        Some(p) => nat_ports(p).map(|_| ()),
        None => Ok(()),
    }
}

/// libxt_owner.c owner_mt_parse: `--suppl-groups` after `--gid-owner`.
fn owner(given: &[&Given]) -> Result<(), String> {
    let mut gid = false;
    for g in given {
        match g.name.as_str() {
            "gid-owner" => gid = true,
            "suppl-groups" if !gid => {
                return Err("owner: Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"".into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// libxt_policy.c policy_check: `--dir` is required; with `--pol none`
/// neither `--strict` nor elements; under `--strict` each element (split
/// by `--next`) names one of reqid, spi, tunnel-src, tunnel-dst, proto or
/// mode; tunnel addresses only in tunnel mode.
fn policy(given: &[&Given]) -> Result<(), String> {
    if val(given, "dir").is_none() {
        return Err("policy match: neither --dir in nor --dir out specified".into());
    }
    let strict = given.iter().any(|g| g.name == "strict");
    const ELEM: &[&str] = &["reqid", "spi", "tunnel-src", "tunnel-dst", "proto", "mode"];
    let mut elems: Vec<Vec<&Given>> = vec![Vec::new()];
    for g in given {
        if g.name == "next" {
            elems.push(Vec::new());
        } else if ELEM.contains(&g.name.as_str()) {
            if let Some(e) = elems.last_mut() {
                e.push(g);
            }
        }
    }
    if val(given, "pol") == Some("none") {
        if strict {
            return Err("policy match: policy none but --strict given".into());
        }
        if elems.iter().any(|e| !e.is_empty()) {
            return Err("policy match: policy none but policy given".into());
        }
        return Ok(());
    }
    for (i, e) in elems.iter().enumerate() {
        if strict && e.is_empty() {
            return Err(format!("policy match: empty policy element {i}. --strict is in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode is required."));
        }
        let tunnel_addr = e.iter().any(|g| g.name.starts_with("tunnel-"));
        let mode = e.iter().find(|g| g.name == "mode");
        let tunnel = mode.is_some_and(|g| g.val == "tunnel");
        let inv = mode.is_some_and(|g| g.neg);
        if tunnel_addr && ((tunnel && inv) || (!tunnel && !inv)) {
            return Err(
                "policy match: --tunnel-src/--tunnel-dst is only valid in tunnel mode".into(),
            );
        }
    }
    Ok(())
}

/// libxt_string.c parse_string (XT_STRING_MAX_PATTERN_SIZE 128) and the
/// kernel's textsearch algorithms (xt_string.c string_mt_check:
/// textsearch_prepare finds lib/ts_bm.c, ts_kmp.c, ts_fsm.c).
fn string(given: &[&Given]) -> Result<(), String> {
    if let Some(s) = val(given, "string") {
        if s.len() > 128 {
            return Err(format!("STRING too long \"{s}\""));
        }
    }
    if let Some(a) = val(given, "algo") {
        if !["bm", "kmp", "fsm"].contains(&a) {
            return Err(kernel(format!(
                "string: the kernel has no textsearch algorithm \"{a}\" (only bm, kmp, fsm)"
            )));
        }
    }
    Ok(())
}

/// Where the kernel lets an extension be used, by name, beyond the
/// targets [`super::parse`] checks by their parsed form: (name, is a
/// target, the tables it may be in (empty: any), the hooks it may be
/// reached from (empty: any)), as `xt_check_target`/`xt_check_match`
/// (net/netfilter/x_tables.c) check a module's `.table` and `.hooks`, or
/// its checkentry checks `par->table`. Each entry read from the kernel
/// (Linux 6.x) module named beside it.
const SCOPES: &[(&str, bool, &[&str], &[&str])] = &[
    // net/netfilter/xt_TPROXY.c tproxy_tg_reg: .table = "mangle",
    // .hooks = 1 << NF_INET_PRE_ROUTING
    ("TPROXY", true, &["mangle"], &["PREROUTING"]),
    // xt_TCPOPTSTRIP.c tcpoptstrip_tg_reg: .table = "mangle"
    ("TCPOPTSTRIP", true, &["mangle"], &[]),
    // xt_HL.c hl_tg_reg: TTL and HL, .table = "mangle"
    ("TTL", true, &["mangle"], &[]),
    ("HL", true, &["mangle"], &[]),
    // net/ipv4/netfilter/ipt_ECN.c ecn_tg_reg: .table = "mangle"
    ("ECN", true, &["mangle"], &[]),
    // xt_DSCP.c dscp_tg_reg: DSCP and TOS, .table = "mangle"
    ("DSCP", true, &["mangle"], &[]),
    ("TOS", true, &["mangle"], &[]),
    // xt_CLASSIFY.c classify_tg_reg: no .table (any table), .hooks =
    // LOCAL_OUT | FORWARD | POST_ROUTING (the "mangle" restriction is
    // gone since Linux 2.6.35)
    ("CLASSIFY", true, &[], &["OUTPUT", "FORWARD", "POSTROUTING"]),
    // xt_NETMAP.c netmap_tg_reg: .table = "nat", the four NAT hooks
    ("NETMAP", true, &["nat"], &[]),
    // xt_CONNSECMARK.c connsecmark_tg_check, xt_SECMARK.c
    // secmark_tg_check: "only valid in 'mangle' or 'security' table"
    ("CONNSECMARK", true, &["mangle", "security"], &[]),
    ("SECMARK", true, &["mangle", "security"], &[]),
    // net/ipv6/netfilter/ip6t_NPT.c ip6t_npt_target_reg: SNPT .table =
    // "mangle", .hooks = LOCAL_IN | POST_ROUTING; DNPT PRE_ROUTING |
    // LOCAL_OUT
    ("SNPT", true, &["mangle"], &["INPUT", "POSTROUTING"]),
    ("DNPT", true, &["mangle"], &["PREROUTING", "OUTPUT"]),
    // net/ipv4/netfilter/ipt_SYNPROXY.c synproxy_tg4_reg (and
    // ip6t_SYNPROXY.c): .hooks = LOCAL_IN | FORWARD
    ("SYNPROXY", true, &[], &["INPUT", "FORWARD"]),
    // (xt_TRACE.c trace_tg_reg has .table = "raw", but iptables-nft
    // turns -j TRACE into `meta nftrace set 1` (iptables/nft.c
    // add_target: add_meta_nftrace), which any table takes: not
    // restricted, as iptables-nft accepts it; iptables-legacy refuses it
    // outside raw)
    // xt_owner.c owner_mt_reg: .hooks = LOCAL_OUT | POST_ROUTING
    ("owner", false, &[], &["OUTPUT", "POSTROUTING"]),
    // xt_socket.c socket_mt_reg: .hooks = PRE_ROUTING | LOCAL_IN
    ("socket", false, &[], &["PREROUTING", "INPUT"]),
    // net/ipv6/netfilter/ip6t_eui64.c eui64_mt6_reg: .hooks =
    // PRE_ROUTING | LOCAL_IN | FORWARD
    ("eui64", false, &[], &["PREROUTING", "INPUT", "FORWARD"]),
    // net/ipv4/netfilter/ipt_rpfilter.c rpfilter_mt_reg: .hooks =
    // PRE_ROUTING; rpfilter_check: "only valid in 'raw' or 'mangle'
    // table"
    ("rpfilter", false, &["raw", "mangle"], &["PREROUTING"]),
    // xt_mac.c mac_mt_reg: .hooks = PRE_ROUTING | LOCAL_IN | FORWARD
    ("mac", false, &[], &["PREROUTING", "INPUT", "FORWARD"]),
    // xt_realm.c realm_mt_reg: .hooks = POST_ROUTING | FORWARD |
    // LOCAL_OUT | LOCAL_IN
    (
        "realm",
        false,
        &[],
        &["POSTROUTING", "FORWARD", "OUTPUT", "INPUT"],
    ),
    // xt_cgroup.c cgroup_mt_reg: .hooks = LOCAL_OUT | POST_ROUTING |
    // LOCAL_IN
    ("cgroup", false, &[], &["OUTPUT", "POSTROUTING", "INPUT"]),
];

/// The extensions a rule's text names: its `-m NAME`s and its `-j NAME`.
fn named_exts(text: &str) -> Vec<(&str, bool)> {
    let w: Vec<&str> = text.split_whitespace().collect();
    w.windows(2)
        .filter_map(|p| match p[0] {
            "-m" | "--match" => Some((p[1], false)),
            "-j" | "--jump" => Some((p[1], true)),
            _ => None,
        })
        .collect()
}

/// The kernel's refusal of an extension of rule `text` in table `table`
/// reached from `hooks`, when there is one.
pub(crate) fn scope_error(text: &str, table: &str, hooks: &[&str]) -> Option<String> {
    for (name, target) in named_exts(text) {
        let Some((_, _, tables, allowed)) = SCOPES
            .iter()
            .find(|(n, t, _, _)| *n == name && *t == target)
        else {
            continue;
        };
        let kind = if target { "target" } else { "match" };
        if !tables.is_empty() && !tables.contains(&table) {
            return Some(kernel(format!(
                "{name} is only valid in table {}, not {table} (x_tables: {name} {kind}: only valid in {} table, not {table})",
                tables.join(" or "),
                tables.join(" or ")
            )));
        }
        let bad: Vec<&str> = hooks
            .iter()
            .filter(|h| !allowed.is_empty() && !allowed.contains(h))
            .copied()
            .collect();
        if !bad.is_empty() {
            return Some(kernel(format!(
                "{name} is reached from {}, but is only usable from {} (x_tables: {name} {kind}: used from hooks {}, but only usable from {})",
                bad.join("/"),
                allowed.join("/"),
                bad.join("/"),
                allowed.join("/")
            )));
        }
    }
    None
}

/// The kernel's refusal of an extension whose checkentry allows some of
/// its options only from some hooks, for rule `text` reached from
/// `hooks`: xt_TCPMSS.c tcpmss_tg4_check (`--clamp-mss-to-pmtu`),
/// xt_physdev.c physdev_mt_check (`--physdev-out`, `--physdev-is-out`
/// without `--physdev-is-bridged` from OUTPUT), xt_addrtype.c
/// addrtype_mt_checkentry_v1 (`--limit-iface-in|out`), xt_policy.c
/// policy_mt_check (`--dir in|out`), xt_devgroup.c devgroup_mt_checkentry
/// (`--src-group`, `--dst-group`). Checked by iptables-legacy and
/// iptables-nft alike (nft_compat calls the same checkentry).
pub(crate) fn option_scope_error(text: &str, hooks: &[&str]) -> Option<String> {
    let words = super::parse::words(text).ok()?;
    // each extension instance: its name and its options (negated or not)
    let mut insts: Vec<(&str, Vec<(&str, bool)>)> = Vec::new();
    let mut neg = false;
    for (k, w) in words.iter().enumerate() {
        match w.as_str() {
            "-m" | "--match" | "-j" | "--jump" => {
                if let Some(n) = words.get(k + 1) {
                    insts.push((n.as_str(), Vec::new()));
                }
            }
            "!" => {
                neg = true;
                continue;
            }
            o if o.starts_with("--") => {
                if let Some((_, opts)) = insts.last_mut() {
                    opts.push((&o[2..], neg));
                }
            }
            _ => {}
        }
        neg = false;
    }
    let from = |set: &[&str]| hooks.iter().any(|h| set.contains(h));
    let outside = |set: &[&str]| hooks.iter().any(|h| !set.contains(h));
    for (ext, opts) in &insts {
        let has = |o: &str| opts.iter().any(|(n, _)| *n == o);
        let val_of = |o: &str| {
            words
                .iter()
                .position(|w| w == &format!("--{o}"))
                .and_then(|k| words.get(k + 1))
                .map(String::as_str)
        };
        let why = match *ext {
            "TCPMSS" if has("clamp-mss-to-pmtu") && outside(&["FORWARD", "OUTPUT", "POSTROUTING"]) => {
                "xt_TCPMSS: path-MTU clamping only supported in FORWARD, OUTPUT and POSTROUTING hooks"
            }
            "physdev"
                if (has("physdev-out") || has("physdev-is-out"))
                    && !opts.iter().any(|(n, ng)| *n == "physdev-is-bridged" && !ng)
                    && from(&["OUTPUT"]) =>
            {
                "xt_physdev: --physdev-out and --physdev-is-out only supported in the FORWARD and POSTROUTING chains with bridged traffic"
            }
            "addrtype" if has("limit-iface-out") && from(&["PREROUTING", "INPUT"]) => {
                "xt_addrtype: output interface limitation not valid in PREROUTING and INPUT"
            }
            "addrtype" if has("limit-iface-in") && from(&["POSTROUTING", "OUTPUT"]) => {
                "xt_addrtype: input interface limitation not valid in POSTROUTING and OUTPUT"
            }
            "policy" if val_of("dir") == Some("out") && from(&["PREROUTING", "INPUT"]) => {
                "xt_policy: output policy not valid in PREROUTING and INPUT"
            }
            "policy" if val_of("dir") == Some("in") && from(&["POSTROUTING", "OUTPUT"]) => {
                "xt_policy: input policy not valid in POSTROUTING and OUTPUT"
            }
            "devgroup" if has("src-group") && outside(&["PREROUTING", "INPUT", "FORWARD"]) => {
                "xt_devgroup: --src-group is only usable from PREROUTING, INPUT and FORWARD"
            }
            "devgroup" if has("dst-group") && outside(&["FORWARD", "OUTPUT", "POSTROUTING"]) => {
                "xt_devgroup: --dst-group is only usable from FORWARD, OUTPUT and POSTROUTING"
            }
            _ => continue,
        };
        return Some(kernel_errno(why.to_string(), "Invalid argument"));
    }
    None
}
