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
        }
        Ok(())
    }
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
fn strtoul(s: &str) -> Option<u64> {
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
        ("string", false) => string(given),
        _ => Ok(()),
    }
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
