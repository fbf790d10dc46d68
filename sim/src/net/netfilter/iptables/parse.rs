//! The `iptables-save` / `iptables-restore` text parser.
//!
//! Accepted: `*table` ... `COMMIT` blocks, `:CHAIN POLICY [p:b]` declarations,
//! `-A CHAIN args` rules (optionally prefixed by `[p:b]` counters), `-N`/`-X`/`-F`
//! lines as `iptables-restore` accepts them, `#` comments and blank lines. Every
//! option is checked: an unknown option, a bad address, a jump to a chain that
//! does not exist or a loop between chains is an error naming the line.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::super::*;
use super::*;

/// An error in iptables-save text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub text: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if self.column > 0 {
            write!(f, ":{}", self.column)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.text.is_empty() {
            write!(f, "\n  | {}", self.text)?;
        }
        Ok(())
    }
}

pub(super) struct Tok {
    pub(super) s: String,
    col: usize,
}

/// The words of a rule's text, quotes removed, as [`tokenize`] splits
/// them.
pub(super) fn words(line: &str) -> Result<Vec<String>, (usize, String)> {
    Ok(tokenize(line)?.into_iter().map(|t| t.s).collect())
}

/// Splits a line into words; a double-quoted string (with `\"` and `\\`
/// escapes) is one word.
fn tokenize(line: &str) -> Result<Vec<Tok>, (usize, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut s = String::new();
        while i < chars.len() && !chars[i].is_whitespace() {
            if chars[i] == '"' {
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        c => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    return Err((start + 1, "unterminated double quote".into()));
                }
            } else {
                s.push(chars[i]);
                i += 1;
            }
        }
        out.push(Tok { s, col: start + 1 });
    }
    Ok(out)
}

/// Parses iptables-restore input; with `base`, on top of that ruleset as
/// `--noflush` does.
pub(crate) fn parse_ruleset(
    text: &str,
    source: &str,
    base: Option<Ruleset>,
    family: Family,
) -> Result<Ruleset, ParseError> {
    let noflush = base.is_some();
    let mut rs = base.unwrap_or_else(Ruleset::empty);
    rs.family = family;
    let mut current: Option<TableKind> = None;
    let mut seen_tables = BTreeSet::new();
    let err = |line: usize, col: usize, msg: String, t: &str| line_err(source, line, col, msg, t);
    let mut last_line = 0;
    for (n, raw) in text.lines().enumerate() {
        let lineno = n + 1;
        last_line = lineno;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            if let Some(t) = current {
                return Err(err(
                    lineno,
                    1,
                    format!(
                        "table '{}' starts before table '{}' was closed with COMMIT",
                        name, t
                    ),
                    raw,
                ));
            }
            let k = TableKind::from_name(name.trim()).ok_or_else(|| {
                err(
                    lineno,
                    2,
                    format!(
                        "unknown table '{}': expected raw, mangle, nat, filter or security",
                        name.trim()
                    ),
                    raw,
                )
            })?;
            if !seen_tables.insert(k) && !noflush {
                // iptables-restore replaces a table given twice; so do we.
                rs.tables.insert(k, Table::new(k));
            }
            current = Some(k);
            continue;
        }
        if line == "COMMIT" {
            let k = current
                .take()
                .ok_or_else(|| err(lineno, 1, "COMMIT outside a table".into(), raw))?;
            let t = rs.tables.get_mut(&k).expect("every table exists");
            resolve_table(t, source).map_err(|mut e| {
                if e.line == 0 {
                    e.line = lineno;
                }
                e
            })?;
            continue;
        }
        let Some(k) = current else {
            return Err(err(
                lineno,
                1,
                "rule or chain outside a table: expected '*filter', '*nat', '*mangle' or '*raw' first".into(),
                raw,
            ));
        };
        if let Some(decl) = line.strip_prefix(':') {
            let table = rs.tables.get_mut(&k).expect("every table exists");
            chain_declaration(table, k, decl, noflush, source, lineno, raw)?;
            continue;
        }
        command_line(&mut rs, k, line, source, lineno, raw)?;
    }
    if let Some(k) = current {
        return Err(ParseError {
            file: source.to_string(),
            line: last_line,
            column: 0,
            message: format!("table '{k}' is not closed with COMMIT"),
            text: String::new(),
        });
    }
    if written_by_legacy(text) {
        legacy_checks(&rs, source)?;
    }
    Ok(rs)
}

/// Whether the dump's header says iptables-legacy wrote it
/// (iptables-save.c do_output: "# Generated by iptables-save v%s on %s";
/// iptables-nft-save writes "iptables-nft-save", xtables_save_main).
fn written_by_legacy(text: &str) -> bool {
    text.lines()
        .take_while(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
        .any(|l| {
            let l = l.trim();
            [
                "iptables-save v",
                "ip6tables-save v",
                "iptables-legacy-save v",
                "ip6tables-legacy-save v",
            ]
            .iter()
            .any(|h| l.starts_with(&format!("# Generated by {h}")))
        })
}

/// What only the legacy kernel path refuses (iptables-nft hands the
/// target to nft_compat with an entry holding no matches):
/// xt_TCPMSS.c tcpmss_tg4_check/tcpmss_tg6_check find no `--tcp-flags`
/// match selecting SYN: "Only works on TCP SYN packets" (iptables' own
/// libxt_TCPMSS.t: `-p tcp -j TCPMSS --set-mss 42;=;FAIL;LEGACY`).
fn legacy_checks(rs: &Ruleset, source: &str) -> Result<(), ParseError> {
    for t in rs.tables.values() {
        for c in &t.chains {
            for r in &c.rules {
                let tcpmss = matches!(&r.target, Some(Target::Ext(x)) if matches!(**x, super::ExtTarget::Tcpmss { .. }));
                let syn = r.conds.iter().any(|c| {
                    !c.neg && matches!(c.kind, CondKind::TcpFlags { mask, comp } if mask & comp & 0x02 != 0)
                });
                if tcpmss && !syn {
                    return Err(ParseError {
                        file: source.to_string(),
                        line: r.line,
                        column: 0,
                        message: "x_tables: TCPMSS: Only works on TCP SYN packets (iptables-restore fails on this line: Invalid argument)".into(),
                        text: format!("-A {} {}", c.name, r.text),
                    });
                }
            }
        }
    }
    Ok(())
}

/// An error at `line`:`col` of `source`, quoting the line's `text`.
fn line_err(source: &str, line: usize, col: usize, message: String, text: &str) -> ParseError {
    ParseError {
        file: source.to_string(),
        line,
        column: col,
        message,
        text: text.to_string(),
    }
}

/// A `:CHAIN POLICY [p:b]` line (iptables-restore's chain declaration): a
/// built-in chain takes ACCEPT or DROP, a user chain `-`; with `--noflush` a
/// user chain declared again is flushed.
fn chain_declaration(
    table: &mut Table,
    k: TableKind,
    decl: &str,
    noflush: bool,
    source: &str,
    lineno: usize,
    raw: &str,
) -> Result<(), ParseError> {
    let err = |line: usize, col: usize, msg: String, t: &str| line_err(source, line, col, msg, t);
    let mut parts = decl.split_whitespace();
    let name = parts
        .next()
        .ok_or_else(|| err(lineno, 2, "chain declaration without a name".into(), raw))?;
    let pol = parts.next().unwrap_or("-");
    let builtin = k.builtin_chains().contains(&name);
    let policy = match (pol, builtin) {
        ("ACCEPT", true) => Some(Policy::Accept),
        ("DROP", true) => Some(Policy::Drop),
        ("-", false) => None,
        // iptables-restore: "-" on a built-in chain keeps its policy.
        ("-", true) => Some(Policy::Accept),
        (p, true) => {
            return Err(err(
                lineno,
                2 + name.len() + 1,
                format!("built-in chain {name} needs policy ACCEPT or DROP, found '{p}'"),
                raw,
            ))
        }
        (p, false) => {
            return Err(err(
                lineno,
                2 + name.len() + 1,
                format!("user chain {name} cannot have a policy ('{p}'); expected '-'"),
                raw,
            ))
        }
    };
    if name.len() > 28 {
        return Err(err(
            lineno,
            2,
            format!("chain name '{name}' is longer than 28 characters"),
            raw,
        ));
    }
    if noflush && !builtin {
        // --noflush: a user chain declared again is flushed
        if let Some(&ci) = table.by_name.get(name) {
            table.chains[ci].rules.clear();
        }
    }
    table.add_chain(name, policy);
    Ok(())
}

/// A command line inside a table (iptables-restore hands it to
/// `do_command`): `-A`/`-I CHAIN args` (after optional `[p:b]` counters),
/// `-D CHAIN N` or `-D CHAIN args`, `-N`, `-X`, `-F`.
fn command_line(
    rs: &mut Ruleset,
    k: TableKind,
    line: &str,
    source: &str,
    lineno: usize,
    raw: &str,
) -> Result<(), ParseError> {
    let err = |line: usize, col: usize, msg: String, t: &str| line_err(source, line, col, msg, t);
    let table = rs.tables.get_mut(&k).expect("every table exists");
    // Optional leading counters: "[12:3456] -A ..."
    let mut body = line;
    if body.starts_with('[') {
        if let Some(end) = body.find(']') {
            body = body[end + 1..].trim_start();
        }
    }
    let (cmd, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    let rest = rest.trim_start();
    match cmd {
        "-A" | "--append" | "-I" | "--insert" => {
            let (chain, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if chain.is_empty() {
                return Err(err(lineno, 1, format!("{cmd} needs a chain name"), raw));
            }
            let Some(&ci) = table.by_name.get(chain) else {
                return Err(err(
                    lineno,
                    4,
                    format!("rule for chain '{chain}', which was not declared in table {k} (add ':{chain} - [0:0]')"),
                    raw,
                ));
            };
            let mut args = args.trim_start();
            let mut pos: Option<usize> = None;
            if cmd == "-I" || cmd == "--insert" {
                if let Some((first, r)) = args.split_once(char::is_whitespace) {
                    if let Ok(p) = first.parse::<usize>() {
                        pos = Some(p.saturating_sub(1));
                        args = r.trim_start();
                    }
                }
                pos.get_or_insert(0);
            }
            let mut rule =
                parse_rule_args(args, source, lineno, &mut rs.warnings, rs.family).map_err(|mut e| {
                    e.text = raw.to_string();
                    if e.column > 0 {
                        e.column += args.as_ptr() as usize - raw.as_ptr() as usize;
                    }
                    e
                })?;
            rule.line = lineno;
            for u in &mut rule.unmodelled {
                u.line = lineno;
            }
            rs.unmodelled.extend(rule.unmodelled.iter().cloned());
            rs.ct_acct |= rule.forces_ct_acct();
            let table = rs.tables.get_mut(&k).expect("every table exists");
            let rules = &mut table.chains[ci].rules;
            match pos {
                Some(p) => rules.insert(p.min(rules.len()), rule),
                None => rules.push(rule),
            }
        }
        "-D" | "--delete" => {
            // iptables' delete_entry (iptables/iptables.c): by number, or
            // the first rule whose parsed entry equals the one given
            let (chain, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let Some(&ci) = table.by_name.get(chain) else {
                return Err(err(
                    lineno,
                    4,
                    format!("-D for chain '{chain}', which table {k} does not have"),
                    raw,
                ));
            };
            let args = args.trim();
            let at = if let Ok(n) = args.parse::<usize>() {
                let len = table.chains[ci].rules.len();
                if n == 0 || n > len {
                    return Err(err(
                        lineno,
                        4,
                        format!("Index of deletion too big: {chain} has {len} rule(s), not {n}"),
                        raw,
                    ));
                }
                n - 1
            } else {
                let mut warnings = Vec::new();
                let want = parse_rule_args(args, source, lineno, &mut warnings, rs.family)?;
                let table = rs.tables.get_mut(&k).expect("every table exists");
                let found = table.chains[ci]
                    .rules
                    .iter()
                    .position(|r| r.conds == want.conds && r.target == want.target);
                let Some(at) = found else {
                    return Err(err(
                        lineno,
                        1,
                        format!("Bad rule (does a matching rule exist in that chain?): no rule of {chain} is '{args}'"),
                        raw,
                    ));
                };
                at
            };
            let table = rs.tables.get_mut(&k).expect("every table exists");
            table.chains[ci].rules.remove(at);
        }
        "-N" | "--new-chain" => {
            let name = rest.trim();
            if name.is_empty() {
                return Err(err(lineno, 1, "-N needs a chain name".into(), raw));
            }
            table.add_chain(name, None);
        }
        "-X" | "--delete-chain" => {
            // iptables-restore deletes the (empty, unreferenced) user chain.
            // kube-proxy writes `-X` for chains that are gone; a chain that
            // was declared in this same payload stays.
        }
        "-F" | "--flush" => {
            let name = rest.trim();
            if name.is_empty() {
                for c in &mut table.chains {
                    c.rules.clear();
                }
            } else if let Some(&ci) = table.by_name.get(name) {
                table.chains[ci].rules.clear();
            }
        }
        other => {
            return Err(err(
                lineno,
                1,
                format!("unexpected '{other}': expected '-A CHAIN ...', ':CHAIN POLICY', 'COMMIT' or '*table'"),
                raw,
            ))
        }
    }
    Ok(())
}

/// Resolves jump targets to chain indexes, checks for loops, builds indexes.
pub(crate) fn resolve_table(t: &mut Table, source: &str) -> Result<(), ParseError> {
    let names = t.by_name.clone();
    for c in &mut t.chains {
        for r in &mut c.rules {
            match &mut r.target {
                Some(Target::Jump { chain, idx }) | Some(Target::Goto { chain, idx }) => {
                    match names.get(chain.as_str()) {
                        Some(&i) => *idx = i,
                        None => {
                            return Err(ParseError {
                                file: source.to_string(),
                                line: r.line,
                                column: 0,
                                message: format!(
                                    "Couldn't load target `{}':No such file or directory (neither a chain of table {} nor a target iptables knows; libxtables/xtables.c xtables_find_target)",
                                    chain, t.kind
                                ),
                                text: format!("-A {} {}", c.name, r.text),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // Loop detection (iptables-restore refuses loops with ELOOP).
    let n = t.chains.len();
    let mut state = vec![0u8; n];
    fn dfs(t: &Table, i: usize, state: &mut [u8]) -> Option<(usize, usize)> {
        state[i] = 1;
        for (ri, r) in t.chains[i].rules.iter().enumerate() {
            if let Some(Target::Jump { idx, .. }) | Some(Target::Goto { idx, .. }) = &r.target {
                if state[*idx] == 1 {
                    return Some((i, ri));
                }
                if state[*idx] == 0 {
                    if let Some(x) = dfs(t, *idx, state) {
                        return Some(x);
                    }
                }
            }
        }
        state[i] = 2;
        None
    }
    for i in 0..n {
        if state[i] == 0 {
            if let Some((ci, ri)) = dfs(t, i, &mut state) {
                let c = &t.chains[ci];
                let r = &c.rules[ri];
                return Err(ParseError {
                    file: source.to_string(),
                    line: r.line,
                    column: 0,
                    message: format!("this jump makes a loop between chains of table {}", t.kind),
                    text: format!("-A {} {}", c.name, r.text),
                });
            }
        }
        // Only built-in chains may jump into a chain... user chains may not
        // be referenced in a loop; nothing else to check.
    }
    check_targets(t, source)?;
    for c in &mut t.chains {
        c.index = eval::DstIndex::build(&c.rules);
    }
    Ok(())
}

/// Where a target may be used, as its kernel module registers it
/// (`struct xt_target`'s `.table` and `.hooks`): net/netfilter/xt_nat.c
/// (DNAT: nat, PREROUTING/OUTPUT; SNAT: nat, POSTROUTING/INPUT),
/// xt_MASQUERADE.c (nat, POSTROUTING), xt_REDIRECT.c (nat,
/// PREROUTING/OUTPUT), net/ipv4/netfilter/ipt_REJECT.c (filter,
/// INPUT/FORWARD/OUTPUT), xt_CT.c's NOTRACK (raw). MARK, CONNMARK, LOG and
/// the verdicts go anywhere.
fn target_scope(t: &Target) -> Option<(&'static str, TableKind, &'static [&'static str])> {
    Some(match t {
        Target::Dnat { .. } => ("DNAT", TableKind::Nat, &["PREROUTING", "OUTPUT"]),
        Target::Snat { .. } => ("SNAT", TableKind::Nat, &["POSTROUTING", "INPUT"]),
        Target::Masquerade { .. } => ("MASQUERADE", TableKind::Nat, &["POSTROUTING"]),
        Target::Redirect { .. } => ("REDIRECT", TableKind::Nat, &["PREROUTING", "OUTPUT"]),
        Target::Reject(_) => ("REJECT", TableKind::Filter, &["INPUT", "FORWARD", "OUTPUT"]),
        Target::Notrack => ("NOTRACK", TableKind::Raw, &["PREROUTING", "OUTPUT"]),
        // xt_CT.c xt_ct_tg_reg: .table = "raw"; xt_CHECKSUM.c: "mangle"
        Target::Ext(x) => match **x {
            ExtTarget::Ct { .. } => ("CT", TableKind::Raw, &["PREROUTING", "OUTPUT"]),
            // xt_TPROXY.c tproxy_tg_reg: .table = "mangle", .hooks =
            // 1 << NF_INET_PRE_ROUTING
            ExtTarget::Tproxy { .. } => ("TPROXY", TableKind::Mangle, &["PREROUTING"]),
            ExtTarget::Checksum => (
                "CHECKSUM",
                TableKind::Mangle,
                &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            ),
            // xt_HL.c hl_tg_reg, xt_DSCP.c dscp_tg_reg, ipt_ECN.c
            // ecn_tg_reg: .table = "mangle", every hook
            ExtTarget::Ttl { .. }
            | ExtTarget::Tos { .. }
            | ExtTarget::Dscp(_)
            | ExtTarget::Ecn { .. } => (
                match **x {
                    ExtTarget::Ttl { .. } => "TTL",
                    ExtTarget::Tos { .. } => "TOS",
                    ExtTarget::Dscp(_) => "DSCP",
                    _ => "ECN",
                },
                TableKind::Mangle,
                &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            ),
            _ => return None,
        },
        _ => return None,
    })
}

/// Refuses targets used outside their table, or in a chain reachable from a
/// hook they do not support, as the kernel does when iptables-restore
/// commits the table (`xt_check_target`: "only valid in nat table, not
/// mangle", "used from hooks PREROUTING, but only usable from
/// POSTROUTING"). A user chain no built-in chain reaches is checked for its
/// table only, as the kernel's hook mask for it is empty.
fn check_targets(t: &Table, source: &str) -> Result<(), ParseError> {
    // the hooks each chain is reachable from (mark_source_chains)
    let n = t.chains.len();
    let mut hooks: Vec<BTreeSet<&'static str>> = vec![BTreeSet::new(); n];
    let mut todo: Vec<(usize, &'static str)> = Vec::new();
    for h in t.kind.builtin_chains() {
        if let Some(&i) = t.by_name.get(*h) {
            todo.push((i, h));
        }
    }
    while let Some((i, h)) = todo.pop() {
        if !hooks[i].insert(h) {
            continue;
        }
        for r in &t.chains[i].rules {
            if let Some(Target::Jump { idx, .. }) | Some(Target::Goto { idx, .. }) = &r.target {
                todo.push((*idx, h));
            }
        }
    }
    for (ci, c) in t.chains.iter().enumerate() {
        for r in &c.rules {
            let hs: Vec<&str> = hooks[ci].iter().copied().collect();
            if let Some(m) = super::scope_error(&r.text, t.kind.name(), &hs)
                .or_else(|| super::option_scope_error(&r.text, &hs))
            {
                return Err(ParseError {
                    file: source.to_string(),
                    line: r.line,
                    column: 0,
                    message: m,
                    text: format!("-A {} {}", c.name, r.text),
                });
            }
            let Some((name, table, allowed)) = r.target.as_ref().and_then(target_scope) else {
                continue;
            };
            let e = |message: String| ParseError {
                file: source.to_string(),
                line: r.line,
                column: 0,
                message,
                text: format!("-A {} {}", c.name, r.text),
            };
            // reject_tg_check: "TCP_RESET invalid for non-tcp"
            if matches!(r.target, Some(Target::Reject(super::RejectWith::TcpReset)))
                && !r
                    .conds
                    .iter()
                    .any(|c| !c.neg && c.kind == super::CondKind::Proto(6))
            {
                return Err(e(
                    "REJECT --reject-with tcp-reset needs -p tcp (the kernel: TCP_RESET invalid for non-tcp; iptables-restore fails on this line)".into(),
                ));
            }
            if table != t.kind {
                return Err(e(format!(
                    "{name} is only valid in table {table}, not {} (the kernel: ip_tables: {name} target: only valid in {table} table, not {}; iptables-restore fails on this line)",
                    t.kind, t.kind
                )));
            }
            let bad: Vec<&str> = hooks[ci]
                .iter()
                .filter(|h| !allowed.contains(h))
                .copied()
                .collect();
            if !bad.is_empty() {
                return Err(e(format!(
                    "{name} in chain {} is reached from {}, but is only usable from {} (the kernel: ip_tables: {name} target: used from hooks {}, but only usable from {}; iptables-restore fails on this line)",
                    c.name,
                    bad.join("/"),
                    allowed.join("/"),
                    bad.join("/"),
                    allowed.join("/")
                )));
            }
        }
    }
    Ok(())
}

pub(super) fn parse_u32(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

pub(super) fn parse_mark(s: &str) -> Option<(u32, u32)> {
    match s.split_once('/') {
        Some((v, m)) => Some((parse_u32(v)?, parse_u32(m)?)),
        None => Some((parse_u32(s)?, 0xffff_ffff)),
    }
}

pub(super) fn parse_net(s: &str) -> Option<Ipv4Net> {
    if let Some((a, p)) = s.split_once('/') {
        let a: Ipv4Addr = a.parse().ok()?;
        if let Ok(len) = p.parse::<u8>() {
            return Ipv4Net::new(a, len).ok().map(|n| n.trunc());
        }
        // dotted mask
        let m: Ipv4Addr = p.parse().ok()?;
        let bits = u32::from(m);
        if bits.leading_ones() + bits.trailing_zeros() != 32 {
            return None;
        }
        Ipv4Net::new(a, bits.leading_ones() as u8)
            .ok()
            .map(|n| n.trunc())
    } else {
        let a: Ipv4Addr = s.parse().ok()?;
        Some(Ipv4Net::new(a, 32).expect("32 is a valid prefix"))
    }
}

/// `A.B.C.D/W.X.Y.Z` with a mask that is not a prefix: (A & mask, mask).
fn parse_odd_mask(s: &str) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let (a, m) = s.split_once('/')?;
    let a: Ipv4Addr = a.parse().ok()?;
    let m: Ipv4Addr = m.parse().ok()?;
    let bits = u32::from(m);
    if bits.leading_ones() + bits.trailing_zeros() == 32 {
        return None;
    }
    Some((Ipv4Addr::from(u32::from(a) & bits), m))
}

pub(super) fn proto_number(s: &str) -> Option<u8> {
    Some(match s.to_ascii_lowercase().as_str() {
        "all" | "0" => 0,
        "icmpv6" | "ipv6-icmp" | "icmp6" => 58,
        "ipcomp" => 108,
        "rsvp" => 46,
        "egp" => 8,
        "ipv6-route" => 43,
        "ipv6-frag" => 44,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "eigrp" => 88,
        "etherip" => 97,
        "encap" => 98,
        "carp" => 112,
        "isis" => 124,
        "mpls-in-ip" => 137,
        "udplite" => 136,
        "dccp" => 33,
        "mh" | "ipv6-mh" | "mobility-header" => 135,
        "ipv6" => 41,
        "igmp" => 2,
        "ospf" | "ospfigp" => 89,
        "pim" => 103,
        "l2tp" => 115,
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "sctp" => 132,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "vrrp" => 112,
        "ipip" | "ipencap" => 4,
        other => other.parse().ok()?,
    })
}

/// The matches podpath parses and evaluates itself; any other match
/// libxtables knows is kept unmodelled ([`CondKind::Unmodelled`]).
pub(super) const MODELLED_MATCHES: &[&str] = &[
    "comment",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "multiport",
    "mark",
    "connmark",
    "conntrack",
    "state",
    "addrtype",
    "statistic",
    "recent",
    "set",
    "physdev",
    "nfacct",
    "owner",
    "limit",
    "iprange",
    "ttl",
    "hl",
    "pkttype",
    "length",
    "mac",
    "tos",
    "dscp",
    "ecn",
    "time",
    "hashlimit",
    "rpfilter",
    "connlimit",
    "connbytes",
    "helper",
    "devgroup",
    "policy",
    "socket",
    "icmp6",
];

/// An ip6tables address: `ADDR` or `ADDR/LEN` (xtables_ip6parse_any).
pub(super) fn parse_net6(s: &str) -> Option<ipnet::Ipv6Net> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok()?),
        None => (s, 128),
    };
    let a: std::net::Ipv6Addr = a.parse().ok()?;
    ipnet::Ipv6Net::new(a, len).ok().map(|n| n.trunc())
}

/// A port by number or by its /etc/services name
/// ([`super::extensions::parse_port`]).
pub(super) fn parse_port(s: &str) -> Option<u16> {
    super::extensions::parse_port(s)
}

pub(super) fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once(':') {
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { parse_port(a)? };
            let hi = if b.is_empty() { 65535 } else { parse_port(b)? };
            (lo <= hi).then_some((lo, hi))
        }
        None => {
            let p = parse_port(s)?;
            Some((p, p))
        }
    }
}

/// A NAT port range `LO[-HI][/BASE]` (libxt_NAT.c parse_ports: ports by
/// number or service name; the `/BASE` of revision 2's shifted ranges is
/// read and not kept).
fn parse_ports_dash(s: &str) -> Option<(u16, u16)> {
    let s = match s.split_once('/') {
        Some((r, base)) => {
            parse_port(base)?;
            r
        }
        None => s,
    };
    if let Some(p) = parse_port(s) {
        return Some((p, p));
    }
    match s.split_once('-') {
        Some((a, b)) => {
            let lo = parse_port(a)?;
            let hi = parse_port(b)?;
            (lo <= hi).then_some((lo, hi))
        }
        None => {
            let p = parse_port(s)?;
            Some((p, p))
        }
    }
}

/// An ip6tables NAT target from its options (libip6t_DNAT.c, SNAT,
/// MASQUERADE, REDIRECT): `--to-destination`/`--to-source`
/// `[ADDR[-ADDR]]:PORT[-PORT]` or `ADDR[-ADDR]`, `--to-ports`,
/// `--random`, `--random-fully`, `--persistent`.
fn nat6_target(name: &str, opts: &[(String, String)]) -> Result<Target, String> {
    let get = |k: &str| opts.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let has = |k: &str| opts.iter().any(|(n, _)| n == k);
    let to = |k: &str| -> Result<NatRange, String> {
        let v = get(k).ok_or_else(|| format!("{name} needs --{k}"))?;
        parse_nat_range6(v).ok_or_else(|| format!("Bad IP address \"{v}\""))
    };
    let ports = match get("to-ports") {
        Some(p) => Some(parse_ports_dash(p).ok_or_else(|| format!("bad port range \"{p}\""))?),
        None => None,
    };
    Ok(match name {
        "DNAT" => Target::Dnat {
            to: to("to-destination")?,
            random: has("random"),
            persistent: has("persistent"),
        },
        "SNAT" => Target::Snat {
            to: to("to-source")?,
            random: has("random"),
            random_fully: has("random-fully"),
            persistent: has("persistent"),
        },
        "MASQUERADE" => Target::Masquerade {
            ports,
            random: has("random"),
            random_fully: has("random-fully"),
        },
        _ => Target::Redirect { ports },
    })
}

/// An IPv6 NAT range: `[ADDR[-ADDR]]:PORT[-PORT]`, `[ADDR]`, `ADDR[-ADDR]`.
fn parse_nat_range6(s: &str) -> Option<NatRange> {
    let (addrs, ports) = match s.strip_prefix('[') {
        Some(r) => {
            let (a, rest) = r.split_once(']')?;
            let p = match rest.strip_prefix(':') {
                Some(p) => Some(parse_ports_dash(p)?),
                None if rest.is_empty() => None,
                None => return None,
            };
            (a, p)
        }
        None => (s, None),
    };
    let (lo, hi) = match addrs.split_once('-') {
        Some((a, b)) => (
            a.parse::<std::net::Ipv6Addr>().ok()?,
            b.parse::<std::net::Ipv6Addr>().ok()?,
        ),
        None if addrs.is_empty() => {
            return ports.map(|p| NatRange {
                addr_lo: None,
                addr_hi: None,
                ports: Some(p),
            })
        }
        None => {
            let a = addrs.parse::<std::net::Ipv6Addr>().ok()?;
            (a, a)
        }
    };
    Some(NatRange {
        addr_lo: Some(lo.into()),
        addr_hi: Some(hi.into()),
        ports,
    })
}

/// `--to-destination`/`--to-source`: `[ip[-ip]][:port[-port]]`.
fn parse_nat_range(s: &str) -> Option<NatRange> {
    let (addrs, ports) = match s.split_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let (lo, hi) = if addrs.is_empty() {
        (None, None)
    } else {
        match addrs.split_once('-') {
            Some((a, b)) => (Some(a.parse().ok()?), Some(b.parse().ok()?)),
            None => {
                let a: Ipv4Addr = addrs.parse().ok()?;
                (Some(a), Some(a))
            }
        }
    };
    let ports = match ports {
        Some(p) => Some(parse_ports_dash(p)?),
        None => None,
    };
    if lo.is_none() && ports.is_none() {
        return None;
    }
    Some(NatRange {
        addr_lo: lo.map(|a: Ipv4Addr| a.into()),
        addr_hi: hi.map(|a: Ipv4Addr| a.into()),
        ports,
    })
}

fn tcp_flag_list(s: &str) -> Option<u8> {
    let mut v = 0u8;
    for f in s.split(',') {
        v |= match f {
            "FIN" => 0x01,
            "SYN" => 0x02,
            "RST" => 0x04,
            "PSH" => 0x08,
            "ACK" => 0x10,
            "URG" => 0x20,
            "ECE" => 0x40,
            "CWR" => 0x80,
            "ALL" => 0xff,
            "NONE" => 0,
            _ => return None,
        };
    }
    Some(v)
}

fn icmp_type(s: &str) -> Option<(u8, Option<u8>)> {
    if let Some((t, c)) = s.split_once('/') {
        // a code range LO:HI (libxt_icmp.c): the whole range is any code
        let code = match c.split_once(':') {
            Some(("0", "255")) => None,
            Some((a, b)) if a == b => Some(a.parse().ok()?),
            Some(_) => return None,
            None => Some(c.parse().ok()?),
        };
        return Some((t.parse().ok()?, code));
    }
    Some(match s {
        "any" => (255, None),
        "echo-reply" | "pong" => (0, Some(0)),
        "destination-unreachable" => (3, None),
        "network-unreachable" => (3, Some(0)),
        "host-unreachable" => (3, Some(1)),
        "protocol-unreachable" => (3, Some(2)),
        "port-unreachable" => (3, Some(3)),
        "fragmentation-needed" => (3, Some(4)),
        "echo-request" | "ping" => (8, Some(0)),
        "time-exceeded" | "ttl-exceeded" => (11, None),
        "parameter-problem" => (12, None),
        "redirect" => (5, None),
        other => (other.parse().ok()?, None),
    })
}

fn ctstate_bits(s: &str) -> Option<u8> {
    let mut v = 0;
    for p in s.split(',') {
        v |= match p {
            "INVALID" => ctbits::INVALID,
            "NEW" => ctbits::NEW,
            "ESTABLISHED" => ctbits::ESTABLISHED,
            "RELATED" => ctbits::RELATED,
            "UNTRACKED" => ctbits::UNTRACKED,
            "SNAT" => ctbits::SNAT,
            "DNAT" => ctbits::DNAT,
            _ => return None,
        };
    }
    Some(v)
}

/// `-m recent` options gathered while parsing: name, (command, negated),
/// seconds, hitcount, reap, rdest, mask.
type RecentOpts = (
    String,
    Option<(RecentCmd, bool)>,
    Option<u32>,
    Option<u32>,
    bool,
    bool,
    Ipv4Addr,
);

/// `-m statistic` options gathered while parsing (libxt_statistic's
/// `--mode`, `--probability`, `--every`, `--packet`, and whether one of them
/// was negated).
#[derive(Default)]
struct StatisticOpts {
    mode: Option<String>,
    prob: Option<f64>,
    every: Option<u32>,
    packet: u32,
    neg: bool,
}

/// `-m addrtype` options gathered while parsing (libxt_addrtype's
/// `--src-type`/`--dst-type` with their negation, `--limit-iface-in/out`).
#[derive(Default)]
struct AddrtypeOpts {
    src: Option<(u16, bool)>,
    dst: Option<(u16, bool)>,
    limit_in: bool,
    limit_out: bool,
}

/// The target's options gathered while parsing, for every modelled target
/// (libxt_DNAT/SNAT/MASQUERADE/REDIRECT, libxt_REJECT, libxt_MARK,
/// libxt_CONNMARK, libxt_LOG, libxt_CT).
struct TargetOpts {
    to: Option<NatRange>,
    ports: Option<(u16, u16)>,
    random: bool,
    random_fully: bool,
    persistent: bool,
    reject: Option<RejectWith>,
    mark: Option<MarkOp>,
    connmark: Option<ConnmarkOp>,
    nfmask: u32,
    ctmask: u32,
    log_prefix: String,
    notrack: bool,
    /// The options of the other targets, for [`super::targets::build`](build_target).
    generic: Vec<(String, String)>,
}

impl TargetOpts {
    /// No option given yet; CONNMARK's masks default to all ones.
    fn new() -> TargetOpts {
        TargetOpts {
            to: None,
            ports: None,
            random: false,
            random_fully: false,
            persistent: false,
            reject: None,
            mark: None,
            connmark: None,
            nfmask: 0xffff_ffff,
            ctmask: 0xffff_ffff,
            log_prefix: String::new(),
            notrack: false,
            generic: Vec::new(),
        }
    }
}

/// The state of parsing one rule's arguments: the words, the position, a
/// pending `!`, the conditions so far and each extension's gathered options
/// (iptables' `struct iptables_command_state` with the matches' and the
/// target's private data).
pub(crate) struct RuleArgs<'a> {
    args: &'a str,
    source: &'a str,
    line: usize,
    warnings: &'a mut Vec<String>,
    pub(super) toks: Vec<Tok>,
    pub(super) i: usize,
    pub(super) neg: bool,
    pub(super) conds: Vec<Cond>,
    pub(super) target_name: Option<(String, bool)>, // (name, goto)
    comment: Option<String>,
    pub(super) modules: Vec<String>,
    stat: StatisticOpts,
    recent: Option<RecentOpts>,
    /// `-m limit`'s (avg, burst), libxt_limit's defaults 3/hour and 5.
    limit: Option<(u32, u32)>,
    addrtype: AddrtypeOpts,
    t: TargetOpts,
    /// ip6tables: v6 addresses, protocols and extensions.
    pub(super) v6: bool,
    /// The new matches' gathered options ([`super::matches`]).
    pub(super) ext: ExtOpts,
    /// What of the rule is kept unmodelled: (construct, is a match).
    pub(super) unmod: Vec<(String, bool)>,
    /// The long options given, for XTOPT_MAND.
    generic_seen: Vec<String>,
    /// Each long option given: (its extension instance: `None` the
    /// target, `Some(k)` the k-th loaded match; name; value words;
    /// negated).
    pub(super) given: Vec<super::Given>,
}

/// libxt_owner.c owner_parse_range: `FROM[-TO]` or `FROM:TO`, each
/// xtables_strtoui(base 0: decimal, `0x` hex, `0` octal) at most
/// UINT32_MAX - 1 (-1 is reserved). (No `from <= to` check: the kernel
/// takes the range as given.)
pub(crate) fn owner_range(s: &str) -> Option<(u32, u32)> {
    fn strtoui(s: &str) -> Option<(u32, &str)> {
        let (radix, body) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            (16, h)
        } else if s.len() > 1 && s.starts_with('0') {
            (8, &s[1..])
        } else {
            (10, s)
        };
        let n = body.chars().take_while(|c| c.is_digit(radix)).count();
        if n == 0 && radix != 8 {
            return None;
        }
        let v = if n == 0 {
            0
        } else {
            u64::from_str_radix(&body[..n], radix).ok()?
        };
        (v <= u64::from(u32::MAX - 1)).then_some((v as u32, &body[n..]))
    }
    let (from, rest) = strtoui(s)?;
    let (to, rest) = match rest.strip_prefix('-').or_else(|| rest.strip_prefix(':')) {
        Some(r) => strtoui(r)?,
        None => (from, rest),
    };
    rest.is_empty().then_some((from, to))
}

/// libxt_limit's parse_rate: `N` packets per second, or per any prefix of
/// second, minute, hour or day after a `/`; the time between packets in
/// 1/10000 s (XT_LIMIT_SCALE).
pub(super) fn parse_rate(rate: &str) -> Result<u32, String> {
    let bad = || format!("bad rate \"{rate}\"'");
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
    // atoi: the leading digits
    let digits: String = rate.chars().take_while(|c| c.is_ascii_digit()).collect();
    let r: u64 = digits.parse().unwrap_or(0);
    if r == 0 {
        return Err(bad());
    }
    if r / mult > 10_000 {
        return Err(format!("Rate too fast \"{rate}\""));
    }
    Ok((10_000 * mult / r) as u32)
}

/// [`parse_rate`], for the evaluator's tests.
#[cfg(test)]
pub(crate) fn parse_rate_for_tests(rate: &str) -> Result<u32, String> {
    parse_rate(rate)
}

/// Parses the arguments of one rule (everything after `-A CHAIN`).
pub(crate) fn parse_rule_args(
    args: &str,
    source: &str,
    line: usize,
    warnings: &mut Vec<String>,
    family: Family,
) -> Result<Rule, ParseError> {
    let toks = tokenize(args).map_err(|(col, m)| ParseError {
        file: source.to_string(),
        line,
        column: col,
        message: m,
        text: args.to_string(),
    })?;
    let mut p = RuleArgs {
        args,
        source,
        line,
        warnings,
        toks,
        i: 0,
        neg: false,
        conds: Vec::new(),
        target_name: None,
        comment: None,
        modules: Vec::new(),
        stat: StatisticOpts::default(),
        recent: None,
        limit: None,
        addrtype: AddrtypeOpts::default(),
        t: TargetOpts::new(),
        v6: family == Family::V6,
        ext: Default::default(),
        unmod: Vec::new(),
        generic_seen: Vec::new(),
        given: Vec::new(),
    };
    while p.i < p.toks.len() {
        p.option()?;
        p.i += 1;
    }
    if p.neg {
        return Err(p.err(
            args.len(),
            "'!' at the end of the rule negates nothing".into(),
        ));
    }
    p.statistic_final_check()?;
    p.recent_final_check()?;
    if let Some((avg, burst)) = p.limit {
        p.conds.push(Cond {
            neg: false,
            kind: CondKind::Limit { avg, burst },
        });
    }
    p.addrtype_final_check();
    p.ext_final_check()?;
    p.mandatory_options()?;
    p.option_table_checks()?;
    let tname = p
        .target_name
        .as_ref()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let target = p.target()?;
    p.protocol_checks(&tname, target.as_ref())?;
    let unmodelled = p
        .unmod
        .iter()
        .map(|(c, is_match)| Unmodelled {
            line,
            construct: c.clone(),
            effect: if *is_match {
                Assume::NoMatch.effect().to_string()
            } else {
                "passed over".to_string()
            },
        })
        .collect();
    Ok(Rule {
        line,
        text: args.trim().to_string(),
        comment: p.comment,
        conds: p.conds,
        target,
        unmodelled,
    })
}

impl RuleArgs<'_> {
    /// An error at column `col` of this rule.
    pub(super) fn err(&self, col: usize, message: String) -> ParseError {
        ParseError {
            file: self.source.to_string(),
            line: self.line,
            column: col,
            message,
            text: self.args.to_string(),
        }
    }

    /// The column of the current word.
    pub(super) fn col(&self) -> usize {
        self.toks[self.i].col
    }

    /// Steps to the value of option `opt` and returns it.
    pub(super) fn value(&mut self, opt: &str) -> Result<String, ParseError> {
        self.i += 1;
        match self.toks.get(self.i) {
            Some(t) => Ok(t.s.clone()),
            None => Err(self.err(
                self.toks[self.i - 1].col,
                format!("option {} needs a value", opt),
            )),
        }
    }

    /// Adds a condition, negated by a pending `!`.
    pub(super) fn push(&mut self, kind: CondKind) {
        self.conds.push(Cond {
            neg: self.neg,
            kind,
        });
        self.neg = false;
    }

    /// One option, as iptables' `do_parse` sees it: a built-in option first;
    /// then, as `command_default` does, the target's options (once `-j` was
    /// given), then the loaded matches' options.
    fn option(&mut self) -> Result<(), ParseError> {
        self.split_joined_value();
        let tok = self.canonical_option(&self.toks[self.i].s.clone())?;
        if let Some(name) = tok.strip_prefix("--") {
            self.generic_seen.push(name.to_string());
        }
        let col = self.toks[self.i].col;
        let in_target = self.target_name.is_some();
        let (start, neg) = (self.i, self.neg);
        if self.builtin_option(&tok, col)?
            || (in_target && self.target_option(&tok)?)
            || self.match_option(&tok)?
            || self.ext_match_option(&tok)?
            || self.generic_option(&tok, in_target)?
        {
            if let Some(name) = tok.strip_prefix("--") {
                self.record_given(name, start, neg, in_target);
            }
            return Ok(());
        }
        if tok.starts_with('-') {
            // xshared.c command_default
            return Err(self.err(col, format!("unknown option \"{tok}\"")));
        }
        Err(self.err(
            col,
            format!("Bad argument `{tok}' (xshared.c: an option was expected)"),
        ))
    }

    /// getopt's joined forms: `--option=value` and `-pVALUE` (a short
    /// option that takes a value, written with it) become two words.
    fn split_joined_value(&mut self) {
        let t = &self.toks[self.i];
        let (col, s) = (t.col, t.s.clone());
        let split = if let Some(rest) = s.strip_prefix("--") {
            rest.split_once('=')
                .map(|(o, v)| (format!("--{o}"), v.to_string()))
        } else if s.len() > 2 && s.is_char_boundary(2) && s.starts_with('-') {
            let (o, v) = s.split_at(2);
            "-p-s-d-i-o-j-g-m"
                .contains(o)
                .then(|| (o.to_string(), v.to_string()))
        } else {
            None
        };
        if let Some((o, v)) = split {
            self.toks[self.i] = Tok { s: o, col };
            self.toks.insert(self.i + 1, Tok { s: v, col });
        }
    }

    /// The protocol a rule's extensions need: the kernel's `.proto` of a
    /// match or target (x_tables.c xt_check_match/xt_check_target: "%s
    /// match: only valid for protocol %u"; xt_tcpudp.c, xt_sctp.c,
    /// xt_dccp.c, xt_esp.c, ipt_ah.c, xt_ipcomp.c, xt_tcpmss.c, ip_tables.c
    /// icmp_mt, xt_TCPMSS.c, xt_TCPOPTSTRIP.c, xt_SYNPROXY.c), libxt_multiport's
    /// check_proto and libxt_NAT's "Need TCP, UDP, SCTP or DCCP with port
    /// specification"; TCPMSS also needs a SYN test (tcpmss_tg4_check).
    fn protocol_checks(&self, tname: &str, target: Option<&Target>) -> Result<(), ParseError> {
        let (proto, inv) = self
            .conds
            .iter()
            .find_map(|c| match c.kind {
                CondKind::Proto(p) => Some((p, c.neg)),
                _ => None,
            })
            .unwrap_or((0, false));
        let tables = if self.v6 { "ip6" } else { "ip" };
        let need = |name: &str, what: &str, p: u8| -> Result<(), ParseError> {
            if proto != p || inv {
                return Err(self.err(
                    0,
                    format!("x_tables: {tables}_tables: {name} {what}: only valid for protocol {p} (iptables-restore fails on this line)"),
                ));
            }
            Ok(())
        };
        for m in &self.modules {
            let p = match m.as_str() {
                "tcp" | "tcpmss" => 6,
                "udp" => 17,
                "udplite" => 136,
                "sctp" => 132,
                "dccp" => 33,
                "esp" => 50,
                // ip6t_ah.c walks the extension headers: no .proto
                "ah" if !self.v6 => 51,
                "ipcomp" => 108,
                "icmp" if !self.v6 => 1,
                "icmp6" if self.v6 => 58,
                "mh" if self.v6 => 135,
                "multiport" => {
                    if inv || ![6, 17, 136, 132, 33].contains(&proto) {
                        return Err(self.err(0, "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'".into()));
                    }
                    continue;
                }
                _ => continue,
            };
            need(m, "match", p)?;
        }
        if matches!(tname, "TCPMSS" | "TCPOPTSTRIP" | "SYNPROXY") {
            need(tname, "target", 6)?;
        }
        if tname == "TPROXY" && !self.v6 && (inv || (proto != 6 && proto != 17)) {
            // xt_TPROXY.c tproxy_tg4_check
            return Err(self.err(0, "x_tables: ip_tables: TPROXY target: Can be used only with -p tcp or -p udp (iptables-restore fails on this line)".into()));
        }
        if let Some(Target::Ext(x)) = target {
            // ipt_ECN.c ecn_tg_check
            if matches!(**x, ExtTarget::Ecn { ece, cwr, .. } if ece.is_some() || cwr.is_some())
                && (proto != 6 || inv)
            {
                return Err(self.err(0, "x_tables: ECN: cannot use TCP operations on non-tcp rules (iptables-restore fails on this line)".into()));
            }
        }
        // (xt_TCPMSS.c tcpmss_tg4_check's "Only works on TCP SYN packets"
        // is checked by [`legacy_checks`] for a dump iptables-legacy
        // wrote: iptables-nft accepts the rule)
        let ports = match target {
            Some(Target::Dnat { to, .. }) | Some(Target::Snat { to, .. }) => to.ports.is_some(),
            Some(Target::Masquerade { ports, .. }) | Some(Target::Redirect { ports }) => {
                ports.is_some()
            }
            _ => false,
        };
        if ports && (inv || ![6, 17, 132, 33].contains(&proto)) {
            return Err(self.err(
                0,
                "Need TCP, UDP, SCTP or DCCP with port specification".into(),
            ));
        }
        Ok(())
    }

    /// xtoptions.c xtables_options_fcheck: a mandatory option (XTOPT_MAND)
    /// of a loaded extension is required; and the final checks of
    /// libxt_addrtype, libxt_statistic and libxt_owner.
    fn mandatory_options(&self) -> Result<(), ParseError> {
        // (libxt_conntrack.c's one array registers conntrack and state:
        // the generated table gives conntrack state's mandatory --state)
        // A protocol's match loaded by `-p` alone has no option to require.
        let explicit = |name: &str| {
            self.toks
                .windows(2)
                .any(|w| matches!(w[0].s.as_str(), "-m" | "--match") && w[1].s == name)
        };
        for e in self
            .loaded_exts(true)
            .into_iter()
            .filter(|e| e.name != "conntrack" && (e.target || explicit(e.name)))
        {
            if let Some(o) = e
                .opts
                .iter()
                .find(|o| o.mand && !self.generic_seen.iter().any(|s| s == o.name))
            {
                return Err(self.err(
                    0,
                    format!("{}: option \"--{}\" must be specified", e.name, o.name),
                ));
            }
        }
        let given = |o: &str| self.generic_seen.iter().any(|s| s == o);
        let fail = |m: &str| Err(self.err(0, m.to_string()));
        for m in &self.modules {
            match m.as_str() {
                "addrtype" if !given("src-type") && !given("dst-type") => {
                    return fail("addrtype: you must specify --src-type or --dst-type");
                }
                "addrtype" if given("limit-iface-in") && given("limit-iface-out") => {
                    return fail(
                        "addrtype: you can't specify both --limit-iface-in and --limit-iface-out",
                    );
                }
                "statistic" if !given("mode") => return fail("statistic: no mode specified"),
                "owner"
                    if !["uid-owner", "gid-owner", "socket-exists"]
                        .iter()
                        .any(|o| given(o)) =>
                {
                    return fail(
                        "owner: At least one of --uid-owner, --gid-owner or --socket-exists is required",
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The extensions whose options getopt_long sees now: the loaded
    /// matches, and the target once `-j` was given.
    fn loaded_exts(&self, in_target: bool) -> Vec<&'static super::extensions::Ext> {
        let mut v: Vec<&'static super::extensions::Ext> = Vec::new();
        if in_target {
            if let Some((name, _)) = &self.target_name {
                v.extend(super::extensions::find(name, true, self.v6));
            }
        }
        for m in self.modules.iter().rev() {
            v.extend(super::extensions::find(m, false, self.v6));
        }
        v
    }

    /// getopt_long's reading of a long option: an exact name, or an
    /// unambiguous prefix of one of the options it knows now (`--mac` for
    /// `--mac-source`); an ambiguous prefix is an error.
    fn canonical_option(&self, tok: &str) -> Result<String, ParseError> {
        let Some(name) = tok.strip_prefix("--") else {
            return Ok(tok.to_string());
        };
        const BUILTIN: &[&str] = &[
            "protocol",
            "source",
            "src",
            "destination",
            "dst",
            "in-interface",
            "out-interface",
            "fragment",
            "match",
            "jump",
            "goto",
            "set-counters",
        ];
        let exts = self.loaded_exts(self.target_name.is_some());
        let all: BTreeSet<&str> = BUILTIN
            .iter()
            .copied()
            .chain(exts.iter().flat_map(|e| e.opts.iter().map(|o| o.name)))
            .collect();
        if all.contains(name) || name.is_empty() {
            return Ok(tok.to_string());
        }
        let cands: Vec<&str> = all
            .iter()
            .copied()
            .filter(|o| o.starts_with(name))
            .collect();
        match cands.as_slice() {
            [one] => Ok(format!("--{one}")),
            [] => Ok(tok.to_string()),
            _ => Err(self.err(
                self.col(),
                format!(
                    "option '{tok}' is ambiguous; possibilities: --{}",
                    cands.join(" --")
                ),
            )),
        }
    }

    /// An option of a loaded extension that no parser above took: a
    /// target's option is kept for the target's builder; a match's option
    /// is consumed, and unless its whole match is already kept unmodelled
    /// it becomes an unmodelled condition of its own.
    fn generic_option(&mut self, tok: &str, in_target: bool) -> Result<bool, ParseError> {
        let Some(name) = tok.strip_prefix("--") else {
            return Ok(false);
        };
        let Some((ext, opt)) = self
            .loaded_exts(in_target)
            .into_iter()
            .find_map(|e| e.opts.iter().find(|o| o.name == name).map(|o| (e, o)))
        else {
            return Ok(false);
        };
        if self.neg && !opt.invert {
            // xtoptions.c xtables_option_parse
            return Err(self.err(
                self.col(),
                format!("{}: \"--{name}\" option cannot be inverted.", ext.name),
            ));
        }
        let takes = opt.takes();
        let mut val = String::new();
        let optional = super::extensions::optional_value(ext.name, name)
            && self
                .toks
                .get(self.i + 1)
                .is_some_and(|t| !t.s.starts_with('-') && t.s != "!");
        if takes || optional {
            val = self.value(tok)?;
            super::extensions::check_value(ext.name, opt, &val)
                .map_err(|m| self.err(self.col(), m))?;
            if super::extensions::two_words(ext.name, name) {
                let second = self.value(tok)?;
                val = format!("{val} {second}");
            }
        }
        if self.neg {
            val = if val.is_empty() {
                "!".into()
            } else {
                format!("! {val}")
            };
        }
        self.neg = false;
        if ext.target {
            self.t.generic.push((name.to_string(), val));
        } else if MODELLED_MATCHES.contains(&ext.name) {
            let c = format!("-m {} --{name}", ext.name);
            self.conds.push(Cond {
                neg: false,
                kind: CondKind::Unmodelled(c.clone()),
            });
            self.unmod.push((c, true));
        }
        Ok(true)
    }

    /// iptables' own options: `!`, `-p`, `-s`/`-d`, `-i`/`-o`, `-f`, `-m`,
    /// `-j`/`-g`, `-c`.
    fn builtin_option(&mut self, tok: &str, col: usize) -> Result<bool, ParseError> {
        match tok {
            "!" => {
                if self.neg {
                    return Err(self.err(col, "double negation '! !'".into()));
                }
                self.neg = true;
            }
            "-p" | "--protocol" => {
                let v = self.value(tok)?;
                let Some(p) = proto_number(&v) else {
                    return Err(self.err(self.col(), format!("unknown protocol \"{v}\" specified")));
                };
                // `! -p tcp` loads no protocol match (xshared.c
                // command_default loads it only for a plain -p)
                let negated = self.neg;
                if negated && p == 0 {
                    // xshared.c ipv4_post_parse/ipv6_post_parse
                    return Err(self.err(col, "rule would never match protocol".into()));
                }
                self.push(CondKind::Proto(p));
                match p {
                    _ if negated => {}
                    6 => self.modules.push("tcp".into()),
                    17 => self.modules.push("udp".into()),
                    1 if !self.v6 => self.modules.push("icmp".into()),
                    58 if self.v6 => self.modules.push("icmp6".into()),
                    132 => self.modules.push("sctp".into()),
                    _ => {}
                }
            }
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                let v = self.value(tok)?;
                if v.contains(',') {
                    return Err(self.err(self.col(), format!("address lists are expanded by iptables-save into one rule per address; found '{v}'")));
                }
                let src = tok.starts_with("-s") || tok.starts_with("--s");
                if self.v6 {
                    let Some(net) = parse_net6(&v) else {
                        return Err(self.err(
                            self.col(),
                            format!("host/network `{v}' not found (bad address: expected an IPv6 address or ADDR/LEN)"),
                        ));
                    };
                    self.push(if src {
                        CondKind::Src6(net)
                    } else {
                        CondKind::Dst6(net)
                    });
                    return Ok(true);
                }
                if let Some((a, m)) = parse_odd_mask(&v) {
                    self.push(if src {
                        CondKind::SrcMask(a, m)
                    } else {
                        CondKind::DstMask(a, m)
                    });
                    return Ok(true);
                }
                let Some(net) = parse_net(&v) else {
                    return Err(self.err(
                        self.col(),
                        format!("host/network `{v}' not found (bad address: expected A.B.C.D or A.B.C.D/LEN)"),
                    ));
                };
                self.push(if src {
                    CondKind::Src(net)
                } else {
                    CondKind::Dst(net)
                });
            }
            "-i" | "--in-interface" => {
                let v = self.value(tok)?;
                self.push(CondKind::InIf(IfPattern::parse(&v)));
            }
            "-o" | "--out-interface" => {
                let v = self.value(tok)?;
                self.push(CondKind::OutIf(IfPattern::parse(&v)));
            }
            "-f" | "--fragment" => self.push(CondKind::Fragment),
            "-m" | "--match" => self.load_match(tok)?,
            "-j" | "--jump" | "-g" | "--goto" => {
                if self.target_name.is_some() {
                    return Err(self.err(col, "more than one target".into()));
                }
                let v = self.value(tok)?;
                self.target_name = Some((v, tok == "-g" || tok == "--goto"));
            }
            "-c" | "--set-counters" => {
                self.i += 1;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `-m NAME`: loads a match extension (only the modelled ones).
    fn load_match(&mut self, tok: &str) -> Result<(), ParseError> {
        let v = self.value(tok)?;
        if super::extensions::find(&v, false, self.v6).is_none() {
            // libxtables/xtables.c xtables_find_match (XTF_LOAD_MUST_SUCCEED)
            return Err(self.err(
                self.col(),
                format!("Couldn't load match `{v}':No such file or directory"),
            ));
        }
        if !MODELLED_MATCHES.contains(&v.as_str()) {
            let c = format!("-m {v}");
            self.conds.push(Cond {
                neg: false,
                kind: CondKind::Unmodelled(c.clone()),
            });
            self.unmod.push((c, true));
            self.neg = false;
        }
        if v == "limit" {
            // libxt_limit's limit_init: 3/hour, burst 5
            self.limit = Some((10_000 * 3600 / 3, 5));
        }
        if v == "nfacct" {
            self.conds.push(Cond {
                neg: false,
                kind: CondKind::Always("nfacct".into()),
            });
        }
        self.modules.push(v);
        Ok(())
    }

    /// The target's options, each target's parser in turn.
    fn target_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if self.v6
            && !matches!(
                tok,
                "--set-xmark"
                    | "--set-mark"
                    | "--or-mark"
                    | "--and-mark"
                    | "--xor-mark"
                    | "--save-mark"
                    | "--restore-mark"
                    | "--nfmask"
                    | "--ctmask"
                    | "--mask"
                    | "--log-prefix"
                    | "--log-level"
                    | "--log-uid"
                    | "--log-tcp-sequence"
                    | "--log-tcp-options"
                    | "--log-ip-options"
                    | "--notrack"
            )
        {
            return Ok(false);
        }
        let name = self
            .target_name
            .as_ref()
            .map(|t| t.0.as_str())
            .unwrap_or("");
        if !matches!(
            name,
            "DNAT"
                | "SNAT"
                | "MASQUERADE"
                | "REDIRECT"
                | "REJECT"
                | "MARK"
                | "CONNMARK"
                | "LOG"
                | "CT"
        ) {
            return Ok(false);
        }
        Ok(self.nat_target_option(tok)?
            || self.reject_target_option(tok)?
            || self.mark_target_option(tok)?
            || self.log_target_option(tok)?
            || self.ct_target_option(tok))
    }

    /// DNAT/SNAT/MASQUERADE/REDIRECT: `--to-destination`, `--to-source`,
    /// `--to-ports`, `--random`, `--random-fully`, `--persistent`.
    fn nat_target_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--to-destination" | "--to-source" | "--to" => {
                let v = self.value(tok)?;
                let Some(r) = parse_nat_range(&v) else {
                    return Err(self.err(
                        self.col(),
                        format!("bad NAT range '{v}': expected IP[-IP][:PORT[-PORT]]"),
                    ));
                };
                self.t.to = Some(r);
            }
            "--to-ports" | "--to-port" => {
                let v = self.value(tok)?;
                let Some(r) = parse_ports_dash(&v) else {
                    return Err(self.err(self.col(), format!("bad port range '{v}'")));
                };
                self.t.ports = Some(r);
            }
            "--random" => self.t.random = true,
            "--random-fully" => self.t.random_fully = true,
            "--persistent" => self.t.persistent = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// REJECT: `--reject-with`.
    fn reject_target_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if tok != "--reject-with" {
            return Ok(false);
        }
        let v = self.value(tok)?;
        let Some(r) = RejectWith::from_name(&v) else {
            return Err(self.err(self.col(), format!("unknown --reject-with '{v}'")));
        };
        self.t.reject = Some(r);
        Ok(true)
    }

    /// MARK and CONNMARK: `--set-xmark` and its spellings, `--save-mark`,
    /// `--restore-mark`, `--nfmask`/`--ctmask`/`--mask`.
    fn mark_target_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--set-xmark" | "--set-mark" | "--or-mark" | "--and-mark" | "--xor-mark" => {
                let v = self.value(tok)?;
                let Some((val, mask)) = parse_mark(&v) else {
                    return Err(
                        self.err(self.col(), format!("bad mark '{v}': expected VALUE[/MASK]"))
                    );
                };
                let op = match tok {
                    "--set-xmark" => MarkOp::SetXmark { value: val, mask },
                    "--set-mark" => MarkOp::SetXmark {
                        value: val,
                        mask: if v.contains('/') {
                            mask | val
                        } else {
                            0xffff_ffff
                        },
                    },
                    "--or-mark" => MarkOp::SetXmark {
                        value: val,
                        mask: val,
                    },
                    "--and-mark" => MarkOp::SetXmark {
                        value: 0,
                        mask: !val,
                    },
                    _ => MarkOp::SetXmark {
                        value: val,
                        mask: 0,
                    },
                };
                let is_connmark = matches!(&self.target_name, Some((n, _)) if n == "CONNMARK");
                if is_connmark {
                    self.t.connmark = Some(ConnmarkOp::Set(op));
                } else {
                    self.t.mark = Some(op);
                }
            }
            "--save-mark" => {
                self.t.connmark = Some(ConnmarkOp::Save {
                    nfmask: 0,
                    ctmask: 0,
                })
            }
            "--restore-mark" => {
                self.t.connmark = Some(ConnmarkOp::Restore {
                    nfmask: 0,
                    ctmask: 0,
                })
            }
            "--nfmask" | "--ctmask" | "--mask" => {
                let v = self.value(tok)?;
                let Some(m) = parse_u32(&v) else {
                    return Err(self.err(self.col(), format!("bad mask '{v}'")));
                };
                match tok {
                    "--nfmask" => self.t.nfmask = m,
                    "--ctmask" => self.t.ctmask = m,
                    _ => {
                        self.t.nfmask = m;
                        self.t.ctmask = m;
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// LOG: `--log-prefix`; the other LOG options are accepted and ignored.
    fn log_target_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--log-prefix" => self.t.log_prefix = self.value(tok)?,
            "--log-level" | "--log-uid" | "--log-tcp-sequence" | "--log-tcp-options"
            | "--log-ip-options" => {
                if tok == "--log-level" {
                    self.i += 1;
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// CT: `--notrack`.
    fn ct_target_option(&mut self, tok: &str) -> bool {
        if tok != "--notrack" {
            return false;
        }
        self.t.notrack = true;
        true
    }

    /// The loaded matches' options, each match's parser in turn.
    /// (Each only once its module is loaded: libxtables merges a match's
    /// options into getopt's table at `-m NAME`, or at `-p PROTO` for the
    /// protocol's match.)
    fn match_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        let ports = match tok {
            "--dport" | "--destination-port" | "--sport" | "--source-port" => {
                ["tcp", "udp", "sctp", "dccp", "udplite"]
                    .iter()
                    .any(|m| self.loaded(m))
            }
            _ => self.loaded("multiport"),
        };
        let state = match tok {
            "--state" => self.loaded("state"),
            _ => self.loaded("conntrack"),
        };
        Ok((self.loaded("comment") && self.comment_option(tok)?)
            || (ports && self.port_option(tok)?)
            || (self.loaded("tcp") && self.tcp_option(tok)?)
            || (self.loaded("sctp") && self.sctp_option(tok)?)
            || (self.loaded("icmp") && self.icmp_option(tok)?)
            || ((self.loaded("mark") || self.loaded("connmark")) && self.mark_option(tok)?)
            || (state && self.state_option(tok)?)
            || (self.loaded("addrtype") && self.addrtype_option(tok)?)
            || (self.loaded("owner") && self.owner_option(tok)?)
            || (self.loaded("statistic") && self.statistic_option(tok)?)
            || (self.loaded("recent") && self.recent_option(tok)?)
            || self.limit_option(tok)?
            || self.iprange_option(tok)?
            || (self.loaded("set") && self.set_option(tok)?)
            || (self.loaded("physdev") && self.physdev_option(tok)?)
            || (self.loaded("nfacct") && self.nfacct_option(tok)))
    }

    /// `-m comment --comment TEXT`.
    fn comment_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if tok != "--comment" {
            return Ok(false);
        }
        let mut v = self.value(tok)?;
        // kube-proxy's fake iptables renders multi-word comments without
        // quotes; iptables-restore would reject the extra words. Keep them
        // as part of the comment and say so.
        while let Some(next) = self.toks.get(self.i + 1) {
            if next.s.starts_with('-') || next.s == "!" {
                break;
            }
            v.push(' ');
            v.push_str(&next.s);
            self.i += 1;
            if !self.warnings.iter().any(|w| w.contains("unquoted")) {
                self.warnings.push(format!(
                    "{}:{}: unquoted multi-word --comment; treating the words up to the next option as the comment",
                    self.source, self.line
                ));
            }
        }
        self.comment = Some(v);
        Ok(true)
    }

    /// tcp/udp/sctp `--sport`/`--dport` and multiport
    /// `--sports`/`--dports`/`--ports`.
    fn port_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--dport" | "--destination-port" | "--sport" | "--source-port" => {
                let v = self.value(tok)?;
                let Some(r) = parse_port_range(&v) else {
                    return Err(self.err(
                        self.col(),
                        format!("bad port '{v}': expected PORT or LO:HI"),
                    ));
                };
                let dir = if tok.contains('d') && !tok.starts_with("--s") {
                    PortDir::Dst
                } else {
                    PortDir::Src
                };
                self.push(CondKind::Port {
                    dir,
                    ranges: vec![r],
                });
            }
            "--dports" | "--destination-ports" | "--sports" | "--source-ports" | "--ports" => {
                let v = self.value(tok)?;
                let mut ranges = Vec::new();
                for p in v.split(',') {
                    let Some(r) = parse_port_range(p) else {
                        return Err(self.err(self.col(), format!("bad port '{p}' in '{v}'")));
                    };
                    ranges.push(r);
                }
                let dir = match tok {
                    "--dports" | "--destination-ports" => PortDir::Dst,
                    "--sports" | "--source-ports" => PortDir::Src,
                    _ => PortDir::Either,
                };
                self.push(CondKind::Port { dir, ranges });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// sctp `--chunk-types {all|any|only} TYPE[:FLAGS][,...]`
    /// (libxt_sctp.c `parse_sctp_chunks`: names case-insensitive, `ALL`
    /// and `NONE`; flags for DATA `IUBE`, ABORT and SHUTDOWN_COMPLETE `T`,
    /// upper case set, lower case clear).
    fn sctp_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        use super::SctpChunkMode;
        if tok != "--chunk-types" {
            return Ok(false);
        }
        let mode = self.value(tok)?;
        let mode = match mode.as_str() {
            "any" => SctpChunkMode::Any,
            "all" => SctpChunkMode::All,
            "only" => SctpChunkMode::Only,
            m => {
                return Err(self.err(
                    self.col(),
                    format!(
                        "Invalid chunk match type '{m}': expected all, any or only (libxt_sctp)"
                    ),
                ))
            }
        };
        let list = self.value(tok)?;
        let mut map = [0u64; 4];
        let mut flags = Vec::new();
        for item in list.split(',') {
            let (name, fl) = item.split_once(':').unwrap_or((item, ""));
            if name.eq_ignore_ascii_case("ALL") {
                map = [u64::MAX; 4];
                continue;
            }
            if name.eq_ignore_ascii_case("NONE") {
                map = [0; 4];
                continue;
            }
            let Some(&(_, ty, valid)) = SCTP_CHUNK_NAMES
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            else {
                return Err(self.err(
                    self.col(),
                    format!("Unknown chunk type '{name}' (libxt_sctp)"),
                ));
            };
            map[ty as usize / 64] |= 1 << (ty % 64);
            if !fl.is_empty() {
                let (mut flag, mut mask) = (0u8, 0u8);
                for ch in fl.chars() {
                    let Some(pos) = valid
                        .find(ch.to_ascii_uppercase())
                        .filter(|_| ch.is_ascii_alphabetic())
                    else {
                        return Err(self.err(
                            self.col(),
                            format!(
                                "Invalid flags for chunk type {name}: '{fl}' (valid: {})",
                                valid.trim_start_matches('-')
                            ),
                        ));
                    };
                    let bit = 1u8 << (7 - pos);
                    mask |= bit;
                    if ch.is_ascii_uppercase() {
                        flag |= bit;
                    }
                }
                flags.push((ty, flag, mask));
            }
        }
        self.push(CondKind::SctpChunks { mode, map, flags });
        Ok(true)
    }

    /// tcp `--tcp-flags MASK COMP` and `--syn`.
    fn tcp_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--tcp-flags" => {
                let m = self.value(tok)?;
                let c = self.value(tok)?;
                let (Some(mask), Some(comp)) = (tcp_flag_list(&m), tcp_flag_list(&c)) else {
                    return Err(self.err(self.col(), format!("bad --tcp-flags '{m} {c}'")));
                };
                self.push(CondKind::TcpFlags { mask, comp });
            }
            "--syn" => self.push(CondKind::TcpFlags {
                mask: 0x17,
                comp: 0x02,
            }),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// icmp `--icmp-type`.
    fn icmp_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if tok != "--icmp-type" {
            return Ok(false);
        }
        let v = self.value(tok)?;
        let Some((ty, code)) = icmp_type(&v) else {
            return Err(self.err(self.col(), format!("unknown ICMP type '{v}'")));
        };
        self.push(CondKind::IcmpType { ty, code });
        Ok(true)
    }

    /// mark and connmark `--mark VALUE[/MASK]` (the last of the two loaded
    /// decides which).
    fn mark_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if tok != "--mark" {
            return Ok(false);
        }
        let v = self.value(tok)?;
        let Some((value, mask)) = parse_mark(&v) else {
            return Err(self.err(self.col(), format!("bad mark '{v}': expected VALUE[/MASK]")));
        };
        let connmark = self
            .modules
            .iter()
            .rev()
            .find(|m| *m == "mark" || *m == "connmark")
            .map(|m| m == "connmark")
            .unwrap_or(false);
        let k = if connmark {
            CondKind::ConnMark { value, mask }
        } else {
            CondKind::Mark { value, mask }
        };
        self.push(k);
        Ok(true)
    }

    /// conntrack `--ctstate` and state `--state`.
    fn state_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if tok != "--ctstate" && tok != "--state" {
            return Ok(false);
        }
        let v = self.value(tok)?;
        let Some(b) = ctstate_bits(&v) else {
            return Err(self.err(self.col(), format!("bad state list '{v}'")));
        };
        self.push(CondKind::CtState(b));
        Ok(true)
    }

    /// addrtype `--src-type`/`--dst-type` (each keeps its own `!`) and
    /// `--limit-iface-in/out`.
    fn addrtype_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--src-type" | "--dst-type" => {
                let v = self.value(tok)?;
                let mut bits = 0;
                for p in v.split(',') {
                    let Some(b) = addrtype::from_name(p) else {
                        return Err(self.err(self.col(), format!("unknown address type '{p}'")));
                    };
                    bits |= b;
                }
                if tok == "--src-type" {
                    self.addrtype.src = Some((bits, self.neg));
                } else {
                    self.addrtype.dst = Some((bits, self.neg));
                }
                self.neg = false;
            }
            "--limit-iface-in" => self.addrtype.limit_in = true,
            "--limit-iface-out" => self.addrtype.limit_out = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// owner `--uid-owner`/`--gid-owner` (libxt_owner.c owner_mt_parse:
    /// getpwnam/getgrnam of the loading machine first, else
    /// owner_parse_range: `ID[-ID]` or `ID:ID`, xtables_strtoui base 0,
    /// at most 2^32-2). A name is kept as [`CondKind::OwnerName`] for
    /// [`super::Ruleset::resolve_names`] (`root` is 0 on every machine).
    /// (Simplified: a number is taken as an id before any name lookup; a
    /// passwd entry whose name is all digits is not looked up.)
    fn owner_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if tok != "--uid-owner" && tok != "--gid-owner" {
            return Ok(false);
        }
        let v = self.value(tok)?;
        let uid = tok == "--uid-owner";
        if let Some((id, hi)) = owner_range(&v) {
            self.push(CondKind::Owner { uid, id, hi });
        } else if v == "root" {
            self.push(CondKind::Owner { uid, id: 0, hi: 0 });
        } else {
            self.push(CondKind::OwnerName { uid, name: v });
        }
        Ok(true)
    }

    /// limit `--limit RATE` (N[/second|/minute|/hour|/day], any prefix of
    /// the unit, as libxt_limit's parse_rate) and `--limit-burst N`
    /// (at most 10000).
    fn limit_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if !matches!(tok, "--limit" | "--limit-burst") || self.limit.is_none() {
            return Ok(false);
        }
        if self.neg {
            return Err(self.err(self.col(), "limit does not support invert".into()));
        }
        let v = self.value(tok)?;
        let (avg, burst) = self.limit.unwrap_or((0, 5));
        let new = if tok == "--limit" {
            (parse_rate(&v).map_err(|m| self.err(self.col(), m))?, burst)
        } else {
            match v.parse::<u32>() {
                Ok(b) if b <= 10_000 => (avg, b),
                _ => {
                    return Err(self.err(
                        self.col(),
                        format!(
                            "--limit-burst '{v}': expected a number of packets from 0 to 10000"
                        ),
                    ))
                }
            }
        };
        self.limit = Some(new);
        Ok(true)
    }

    /// statistic `--mode`, `--probability`, `--every`, `--packet`.
    fn statistic_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--mode" => {
                let v = self.value(tok)?;
                if v != "random" && v != "nth" {
                    return Err(self.err(
                        self.col(),
                        format!("statistic --mode must be random or nth, found '{v}'"),
                    ));
                }
                self.stat.mode = Some(v);
            }
            "--probability" => {
                let v = self.value(tok)?;
                let Ok(p) = v.parse::<f64>() else {
                    return Err(self.err(self.col(), format!("bad probability '{v}'")));
                };
                if !(0.0..=1.0).contains(&p) {
                    return Err(self.err(self.col(), format!("probability {v} is outside 0..1")));
                }
                self.stat.prob = Some(p);
                self.stat.neg |= self.neg;
                self.neg = false;
            }
            "--every" => {
                let v = self.value(tok)?;
                let Some(e) = v.parse::<u32>().ok().filter(|e| *e > 0) else {
                    return Err(self.err(self.col(), format!("bad --every '{v}'")));
                };
                self.stat.every = Some(e);
                self.stat.neg |= self.neg;
                self.neg = false;
            }
            "--packet" => {
                let v = self.value(tok)?;
                let Ok(p) = v.parse::<u32>() else {
                    return Err(self.err(self.col(), format!("bad --packet '{v}'")));
                };
                self.stat.packet = p;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// recent `--name`, `--set`/`--rcheck`/`--update`/`--remove`,
    /// `--seconds`, `--hitcount`, `--reap`, `--rsource`/`--rdest`, `--rttl`,
    /// `--mask`.
    fn recent_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        let fresh = |name: &str| -> RecentOpts {
            (
                name.into(),
                None,
                None,
                None,
                false,
                false,
                Ipv4Addr::BROADCAST,
            )
        };
        match tok {
            "--name" if self.modules.iter().any(|m| m == "recent") => {
                let v = self.value(tok)?;
                let r = self.recent.get_or_insert(fresh(""));
                r.0 = v;
            }
            "--set" | "--rcheck" | "--update" | "--remove" => {
                let cmd = match tok {
                    "--set" => RecentCmd::Set,
                    "--rcheck" => RecentCmd::Rcheck,
                    "--update" => RecentCmd::Update,
                    _ => RecentCmd::Remove,
                };
                let r = self.recent.get_or_insert(fresh("DEFAULT"));
                if r.0.is_empty() {
                    r.0 = "DEFAULT".into();
                }
                r.1 = Some((cmd, self.neg));
                self.neg = false;
            }
            "--seconds" | "--hitcount" => {
                let v = self.value(tok)?;
                let Ok(n) = v.parse::<u32>() else {
                    return Err(self.err(self.col(), format!("bad {tok} '{v}'")));
                };
                let r = self.recent.get_or_insert(fresh("DEFAULT"));
                if tok == "--seconds" {
                    r.2 = Some(n)
                } else {
                    r.3 = Some(n)
                }
            }
            "--reap" | "--rsource" | "--rdest" | "--rttl" => {
                let r = self.recent.get_or_insert(fresh("DEFAULT"));
                match tok {
                    "--reap" => r.4 = true,
                    "--rdest" => r.5 = true,
                    _ => {}
                }
            }
            "--mask" if self.recent.is_some() && self.v6 => {
                let v = self.value(tok)?;
                if v.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(self.err(self.col(), format!("bad --mask '{v}'")));
                }
            }
            "--mask" if self.recent.is_some() => {
                let v = self.value(tok)?;
                let Ok(m) = v.parse::<Ipv4Addr>() else {
                    return Err(self.err(self.col(), format!("bad --mask '{v}'")));
                };
                if let Some(r) = self.recent.as_mut() {
                    r.6 = m;
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// set `--match-set NAME FLAGS` and the accepted, ignored
    /// `--return-nomatch`, `--update-counters`, `--update-subcounters`.
    fn set_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--match-set" => {
                let name = self.value(tok)?;
                let f = self.value(tok)?;
                let mut flags = Vec::new();
                for p in f.split(',') {
                    match p {
                        "src" => flags.push(true),
                        "dst" => flags.push(false),
                        _ => {
                            return Err(self.err(
                                self.col(),
                                format!("bad --match-set flag '{p}': expected src or dst"),
                            ))
                        }
                    }
                }
                self.push(CondKind::Set { name, flags });
            }
            "--return-nomatch" | "--update-counters" | "--update-subcounters" => {}
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// physdev `--physdev-in`, `--physdev-out`, `--physdev-is-bridged`.
    fn physdev_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        match tok {
            "--physdev-in" => {
                let v = self.value(tok)?;
                self.push(CondKind::PhysdevIn(IfPattern::parse(&v)));
            }
            "--physdev-out" => {
                let v = self.value(tok)?;
                self.push(CondKind::PhysdevOut(IfPattern::parse(&v)));
            }
            "--physdev-is-bridged" => self.push(CondKind::PhysdevIsBridged),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// iprange `--src-range FROM[-TO]` and `--dst-range FROM[-TO]`
    /// (libxt_iprange's iprange_parse_range: one address is a range of one).
    fn iprange_option(&mut self, tok: &str) -> Result<bool, ParseError> {
        if !matches!(tok, "--src-range" | "--dst-range")
            || !self.modules.iter().any(|m| m == "iprange")
        {
            return Ok(false);
        }
        let v = self.value(tok)?;
        let (a, b) = v.split_once('-').unwrap_or((&v, &v));
        if self.v6 {
            let (Ok(_), Ok(_)) = (
                a.parse::<std::net::Ipv6Addr>(),
                b.parse::<std::net::Ipv6Addr>(),
            ) else {
                return Err(self.err(self.col(), format!("iprange match: Bad IP address \"{v}\"")));
            };
            self.push(CondKind::V6Kept(format!("{tok} {v}")));
            return Ok(true);
        }
        let (Ok(lo), Ok(hi)) = (a.parse::<Ipv4Addr>(), b.parse::<Ipv4Addr>()) else {
            return Err(self.err(self.col(), format!("iprange match: Bad IP address \"{v}\"")));
        };
        self.push(if tok == "--src-range" {
            CondKind::SrcRange(lo, hi)
        } else {
            CondKind::DstRange(lo, hi)
        });
        Ok(true)
    }

    /// nfacct `--nfacct-name` (accepted; the counter is not modelled).
    fn nfacct_option(&mut self, tok: &str) -> bool {
        if tok != "--nfacct-name" {
            return false;
        }
        self.i += 1;
        true
    }

    /// statistic's final check: `--mode random` needs `--probability`,
    /// `--mode nth` needs `--every` above `--packet`; the threshold is the
    /// kernel's `probability * 2^31`.
    fn statistic_final_check(&mut self) -> Result<(), ParseError> {
        if let Some(mode) = self.stat.mode.take() {
            let kind = if mode == "random" {
                let Some(p) = self.stat.prob else {
                    return Err(self.err(0, "statistic --mode random needs --probability".into()));
                };
                let threshold = (p * 2147483648.0).round().min(u32::MAX as f64) as u32;
                CondKind::StatRandom {
                    probability: p,
                    threshold,
                }
            } else {
                let Some(every) = self.stat.every else {
                    return Err(self.err(0, "statistic --mode nth needs --every".into()));
                };
                if self.stat.packet >= every {
                    return Err(self.err(0, "statistic --packet must be lower than --every".into()));
                }
                CondKind::StatNth {
                    every,
                    packet: self.stat.packet,
                }
            };
            self.conds.push(Cond {
                neg: self.stat.neg,
                kind,
            });
        } else if self.stat.prob.is_some() || self.stat.every.is_some() {
            return Err(self.err(0, "--probability/--every need '-m statistic --mode'".into()));
        }
        Ok(())
    }

    /// recent's final check: one of `--set`, `--rcheck`, `--update`,
    /// `--remove` is required.
    fn recent_final_check(&mut self) -> Result<(), ParseError> {
        if let Some((name, cmd, seconds, hitcount, reap, rdest, mask)) = self.recent.take() {
            let Some((cmd, n)) = cmd else {
                return Err(self.err(
                    0,
                    "-m recent needs one of --set, --rcheck, --update, --remove".into(),
                ));
            };
            self.conds.push(Cond {
                neg: n,
                kind: CondKind::Recent {
                    name,
                    cmd,
                    seconds,
                    hitcount,
                    reap,
                    rdest,
                    mask,
                },
            });
        }
        Ok(())
    }

    /// addrtype's conditions: iptables-save prints one addrtype match per
    /// type; each keeps its own negation, so emit them as separate
    /// conditions.
    fn addrtype_final_check(&mut self) {
        let a = &self.addrtype;
        if a.src.is_some() || a.dst.is_some() {
            if let Some((b, n)) = a.src {
                self.conds.push(Cond {
                    neg: n,
                    kind: CondKind::AddrType {
                        src: Some(b),
                        dst: None,
                        limit_in: a.limit_in,
                        limit_out: a.limit_out,
                    },
                });
            }
            if let Some((b, n)) = a.dst {
                self.conds.push(Cond {
                    neg: n,
                    kind: CondKind::AddrType {
                        src: None,
                        dst: Some(b),
                        limit_in: a.limit_in,
                        limit_out: a.limit_out,
                    },
                });
            }
        }
    }

    /// The `-j`/`-g` target built from its gathered options, with each
    /// target's final check; any other name is a chain.
    fn target(&mut self) -> Result<Option<Target>, ParseError> {
        let Some((name, goto)) = self.target_name.clone() else {
            return Ok(None);
        };
        let mut t = std::mem::replace(&mut self.t, TargetOpts::new());
        if !(name == "CT" && t.notrack) {
            if let Some(x) = build_target(&name, &t.generic, self.v6).map_err(|m| self.err(0, m))? {
                // ip6tables' REJECT and NAT targets are evaluated as the
                // IPv4 ones are (ip6t_REJECT.c, ip6table_nat.c)
                return Ok(Some(match x {
                    ExtTarget::Reject6(n) => match RejectWith::from_name6(&n) {
                        Some(w) => Target::Reject(w),
                        None => return Err(self.err(0, format!("unknown reject type \"{n}\""))),
                    },
                    ExtTarget::Nat6 { name, opts } if name != "NETMAP" => {
                        nat6_target(&name, &opts).map_err(|m| self.err(0, m))?
                    }
                    x => Target::Ext(Box::new(x)),
                }));
            }
        }
        let fail = |m: String| -> Result<Option<Target>, ParseError> { Err(self.err(0, m)) };
        let target = match name.as_str() {
            "ACCEPT" => Target::Accept,
            "DROP" => Target::Drop,
            "RETURN" => Target::Return,
            "REJECT" => Target::Reject(t.reject.unwrap_or(RejectWith::IcmpPortUnreachable)),
            "DNAT" => {
                let Some(to) = t.to.take() else {
                    return fail("DNAT needs --to-destination".into());
                };
                Target::Dnat {
                    to,
                    random: t.random,
                    persistent: t.persistent,
                }
            }
            "SNAT" => {
                let Some(to) = t.to.take() else {
                    return fail("SNAT needs --to-source".into());
                };
                Target::Snat {
                    to,
                    random: t.random,
                    random_fully: t.random_fully,
                    persistent: t.persistent,
                }
            }
            "MASQUERADE" => Target::Masquerade {
                ports: t.ports,
                random: t.random,
                random_fully: t.random_fully,
            },
            "REDIRECT" => Target::Redirect { ports: t.ports },
            "MARK" => {
                let Some(op) = t.mark.take() else {
                    return fail(
                        "MARK needs --set-xmark, --set-mark, --or-mark, --and-mark or --xor-mark"
                            .into(),
                    );
                };
                Target::Mark(op)
            }
            "CONNMARK" => {
                let op = match t.connmark.take() {
                    Some(ConnmarkOp::Save { .. }) => ConnmarkOp::Save {
                        nfmask: t.nfmask,
                        ctmask: t.ctmask,
                    },
                    Some(ConnmarkOp::Restore { .. }) => ConnmarkOp::Restore {
                        nfmask: t.nfmask,
                        ctmask: t.ctmask,
                    },
                    Some(op) => op,
                    None => {
                        return fail(
                            "CONNMARK needs --set-xmark, --save-mark or --restore-mark".into(),
                        )
                    }
                };
                Target::Connmark(op)
            }
            "LOG" => Target::Log {
                prefix: t.log_prefix,
            },
            "NOTRACK" => Target::Notrack,
            "CT" => Target::Notrack,
            _ if super::extensions::find(&name, true, self.v6).is_some() => {
                self.unmod.push((format!("-j {name}"), false));
                Target::Ext(Box::new(ExtTarget::Unmodelled { name }))
            }
            _ => {
                if goto {
                    Target::Goto {
                        chain: name,
                        idx: usize::MAX,
                    }
                } else {
                    Target::Jump {
                        chain: name,
                        idx: usize::MAX,
                    }
                }
            }
        };
        Ok(Some(target))
    }
}

/// libxt_sctp.c `sctp_chunk_names`: name, type, and the flags it takes
/// (one letter per bit, most significant first).
const SCTP_CHUNK_NAMES: &[(&str, u8, &str)] = &[
    ("DATA", 0, "----IUBE"),
    ("INIT", 1, "--------"),
    ("INIT_ACK", 2, "--------"),
    ("SACK", 3, "--------"),
    ("HEARTBEAT", 4, "--------"),
    ("HEARTBEAT_ACK", 5, "--------"),
    ("ABORT", 6, "-------T"),
    ("SHUTDOWN", 7, "--------"),
    ("SHUTDOWN_ACK", 8, "--------"),
    ("ERROR", 9, "--------"),
    ("COOKIE_ECHO", 10, "--------"),
    ("COOKIE_ACK", 11, "--------"),
    ("ECN_ECNE", 12, "--------"),
    ("ECN_CWR", 13, "--------"),
    ("SHUTDOWN_COMPLETE", 14, "-------T"),
    ("I_DATA", 64, "----IUBE"),
    ("RE_CONFIG", 130, "--------"),
    ("PAD", 132, "--------"),
    ("ASCONF", 193, "--------"),
    ("ASCONF_ACK", 128, "--------"),
    ("FORWARD_TSN", 192, "--------"),
    ("I_FORWARD_TSN", 194, "--------"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n\
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n\
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X\n\
-A KUBE-SVC-X -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.244.0.5:8080\n\
-A KUBE-SVC-X -p tcp -j DNAT --to-destination 10.244.0.6:8080\n\
COMMIT\n";

    #[test]
    fn delete_by_number_and_by_specification() {
        let mut rs = Ruleset::parse(SMALL, "t").unwrap();
        let chain = |rs: &Ruleset| {
            let c = rs.table(TableKind::Nat).chain("KUBE-SVC-X").unwrap();
            c.rules.iter().map(|r| r.text.clone()).collect::<Vec<_>>()
        };
        // by specification, written in another order than iptables-save's
        rs.restore_noflush(
            "*nat\n-D KUBE-SVC-X -j DNAT -p tcp --to-destination 10.244.0.6:8080\nCOMMIT\n",
            "p",
        )
        .unwrap();
        assert_eq!(chain(&rs).len(), 1);
        assert!(chain(&rs)[0].contains("statistic"), "{:?}", chain(&rs));
        // a rule that is not there, and a number past the end, are refused
        let e = rs
            .restore_noflush(
                "*nat\n-D KUBE-SVC-X -p tcp -j DNAT --to-destination 10.244.0.7:8080\nCOMMIT\n",
                "p",
            )
            .unwrap_err();
        assert!(e.message.contains("Bad rule"), "{e}");
        let e = rs
            .restore_noflush("*nat\n-D KUBE-SVC-X 2\nCOMMIT\n", "p")
            .unwrap_err();
        assert!(e.message.contains("Index of deletion too big"), "{e}");
        rs.restore_noflush("*nat\n-D KUBE-SVC-X 1\nCOMMIT\n", "p")
            .unwrap();
        assert!(chain(&rs).is_empty());
    }

    #[test]
    fn parses_a_small_dump() {
        let rs = Ruleset::parse(SMALL, "t").unwrap();
        let nat = rs.table(TableKind::Nat);
        assert_eq!(nat.chain("KUBE-SVC-X").unwrap().rules.len(), 2);
        let r = &nat.chain("KUBE-SERVICES").unwrap().rules[0];
        assert_eq!(r.line, 6);
        assert!(r.conds.iter().any(|c| c.kind == CondKind::Proto(6)));
        let st = nat.chain("KUBE-SVC-X").unwrap().rules[0]
            .conds
            .iter()
            .find(|c| matches!(c.kind, CondKind::StatRandom { .. }))
            .unwrap();
        assert_eq!(
            st.kind,
            CondKind::StatRandom {
                probability: 0.5,
                threshold: 1 << 30
            }
        );
        assert_eq!(
            nat.chain("PREROUTING").unwrap().rules[0].comment.as_deref(),
            Some("kubernetes service portals")
        );
    }

    fn err_of(text: &str) -> ParseError {
        Ruleset::parse(text, "dump.txt").unwrap_err()
    }

    #[test]
    fn errors_name_line_and_problem() {
        let e = err_of("*nat\n:FOO - [0:0]\n-A FOO -j NOPE\nCOMMIT\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("NOPE"), "{e}");
        let e = err_of("*nat\n:FOO - [0:0]\n-A FOO -s 10.0.0.300 -j ACCEPT\nCOMMIT\n");
        assert_eq!((e.line, e.column), (3, 11));
        assert!(
            e.message.contains("host/network `10.0.0.300' not found"),
            "{e}"
        );
        let e = err_of("*nat\n-A BAR -j ACCEPT\nCOMMIT\n");
        assert!(e.message.contains("not declared"), "{e}");
        let e = err_of("*nat\n:FOO - [0:0]\n-A FOO --frob 1 -j ACCEPT\nCOMMIT\n");
        assert!(e.message.contains("unknown option \"--frob\""), "{e}");
        let e = err_of("*nat\n:FOO - [0:0]\n");
        assert!(e.message.contains("COMMIT"), "{e}");
        let e = err_of("*bogus\nCOMMIT\n");
        assert!(e.message.contains("unknown table"), "{e}");
        let e = err_of("*nat\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\nCOMMIT\n");
        assert!(e.message.contains("loop"), "{e}");
        let e = err_of("*filter\n:INPUT FOO [0:0]\nCOMMIT\n");
        assert!(e.message.contains("policy"), "{e}");
        let e = err_of("*nat\n:FOO - [0:0]\n-A FOO -m comment --comment \"open\nCOMMIT\n");
        assert!(e.message.contains("quote"), "{e}");
        assert!(e.to_string().starts_with("dump.txt:3:"), "{e}");
    }

    #[test]
    fn mark_ops_follow_iptables() {
        let rs = Ruleset::parse(
            "*nat\n:M - [0:0]\n-A M -j MARK --or-mark 0x4000\n-A M -j MARK --xor-mark 0x4000\n-A M -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let rules = &rs.table(TableKind::Nat).chain("M").unwrap().rules;
        let op = |i: usize| match &rules[i].target {
            Some(Target::Mark(op)) => *op,
            _ => panic!(),
        };
        assert_eq!(op(0).apply(0x1), 0x4001);
        assert_eq!(op(1).apply(0x4001), 0x1);
        assert_eq!(op(2).apply(0x8000), 0xc000);
    }
}

#[cfg(test)]
mod fuzzish {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};

    /// Seeded mutations of real kube-proxy dumps: every result is a ruleset
    /// or an error; a parsed ruleset prints and parses again. (`sim/fuzz/`
    /// holds the coverage-guided target.)
    #[test]
    fn mutated_dumps_never_panic_and_roundtrip() {
        let base = include_str!("../../../../../scenarios/minikube-service.yaml");
        let start = base.find("*filter").unwrap();
        let end = base.rfind("COMMIT").unwrap() + 6;
        let dump: String = base[start..end]
            .lines()
            .map(|l| l.trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let words: Vec<&str> = dump.split_whitespace().collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..2000 {
            let mut lines: Vec<String> = dump.lines().map(str::to_string).collect();
            let i = rng.next_u32() as usize % lines.len();
            match rng.next_u32() % 5 {
                0 => {
                    let w = words[rng.next_u32() as usize % words.len()];
                    lines[i].push(' ');
                    lines[i].push_str(w);
                }
                1 => {
                    let mut ws: Vec<&str> = lines[i].split(' ').collect();
                    if ws.len() > 1 {
                        ws.remove(rng.next_u32() as usize % ws.len());
                    }
                    lines[i] = ws.join(" ");
                }
                2 => lines[i] = lines[i].replace('"', ""),
                3 => {
                    let j = rng.next_u32() as usize % lines.len();
                    lines.swap(i, j)
                }
                _ => lines[i] = lines[i].replace("0x4000", "0xzz"),
            }
            let text = lines.join("\n") + "\n";
            if let Ok(rs) = Ruleset::parse(&text, "m") {
                let printed = rs.to_save_text();
                let again =
                    Ruleset::parse(&printed, "again").unwrap_or_else(|e| panic!("{e}\n{printed}"));
                assert_eq!(again.rule_count(), rs.rule_count());
            }
        }
    }
}
