//! A rule's expressions and statements (parser_bison.y `rule_alloc`:
//! `stmt_list`; `match_stmt`, `verdict_stmt`, `counter_stmt`,
//! `limit_stmt`, `quota_stmt`, `log_stmt`, `reject_stmt`, `nat_stmt`,
//! `masq_stmt`, `redir_stmt`, `tproxy_stmt`, `queue_stmt`, `meta_stmt`,
//! `ct_stmt`, `set_stmt`, `map_stmt`, `meter_stmt`, `dup_stmt`,
//! `fwd_stmt`, `synproxy_stmt`, `flow_offload_stmt`, `objref_stmt`,
//! `xt_stmt`, `last_stmt`).

use std::net::Ipv4Addr;

use super::expr::{self, selector, verdict_at, SelInfo};
use super::lex::{render, Tok};
use super::{
    Data, Expr, KeyType, MacVal, MapRef, NVerdict, NatKind, NatTo, NftError, Op, PayloadField,
    PayloadVal, Rhs, Sel, SetTarget, SetVal, Val,
};
use crate::net::netfilter::{RejectWith, Unmodelled};

/// What parsing a rule adds to the ruleset beside its expressions.
pub struct Cx<'a> {
    pub unmodelled: &'a mut Vec<Unmodelled>,
    /// IPv6-only statements, see [`super::Nft::ipv6_kept`].
    pub ipv6_kept: &'a mut Vec<Unmodelled>,
    pub next_id: &'a mut usize,
    /// Binding (anonymous) chains of `jump { ... }`: name, rule tokens.
    pub anon: Vec<(String, Vec<Tok>)>,
    /// Sets `meter NAME` statements create.
    pub meters: Vec<String>,
    /// The table's family (`ip`, `inet`, ...).
    pub family: String,
}

struct R<'a, 'b> {
    t: &'a [Tok],
    line: usize,
    cx: &'a mut Cx<'b>,
    out: Vec<Expr>,
}

fn w(t: &[Tok], i: usize) -> Option<&str> {
    t.get(i).filter(|x| !x.quoted).map(|x| x.s.as_str())
}

/// Statement keywords (parser_bison.y `stmt`), which end a value list.
const STMT_WORDS: &[&str] = &[
    "counter",
    "limit",
    "quota",
    "log",
    "accept",
    "drop",
    "reject",
    "return",
    "continue",
    "jump",
    "goto",
    "queue",
    "dnat",
    "snat",
    "masquerade",
    "redirect",
    "tproxy",
    "notrack",
    "comment",
    "meter",
    "dup",
    "fwd",
    "synproxy",
    "flow",
    "xt",
    "last",
    "numgen",
    "add",
    "update",
    "delete",
];

/// Parses one rule's tokens into its expressions.
pub fn parse_rule(t: &[Tok], line: usize, cx: &mut Cx) -> Result<Vec<Expr>, NftError> {
    let cx_family = cx.family.clone();
    let mut r = R {
        t,
        line,
        cx,
        out: Vec::new(),
    };
    let mut i = 0;
    // evaluate.c rule_evaluate: nothing may follow a terminal statement
    // (a verdict other than continue, reject, snat/dnat/masquerade/
    // redirect, fwd, queue: STMT_F_TERMINAL)
    let mut terminal = false;
    let mut pctx = super::context::Pctx::new(&cx_family);
    super::context::ct_addr_in_sets(t).map_err(|m| r.err(m))?;
    while i < t.len() {
        if t[i].is(";") || t[i].is("\n") {
            i += 1;
            continue;
        }
        if terminal && w(t, i) != Some("comment") {
            return Err(r.err("Error: Statement after terminal statement has no effect".into()));
        }
        super::context::nat_family(t, i, &r.cx.family, &pctx).map_err(|m| r.err(m))?;
        super::context::expr_checks(t, i, &r.cx.family, &pctx).map_err(|m| r.err(m))?;
        pctx.note(t, i);
        terminal = matches!(
            w(t, i),
            Some(
                "accept"
                    | "drop"
                    | "return"
                    | "jump"
                    | "goto"
                    | "reject"
                    | "dnat"
                    | "snat"
                    | "masquerade"
                    | "redirect"
                    | "fwd"
                    | "queue"
            )
        );
        i = r.stmt(i)?;
    }
    Ok(r.out)
}

impl R<'_, '_> {
    fn err(&self, m: String) -> NftError {
        NftError {
            line: self.line,
            message: m,
        }
    }

    /// nft's "syntax error, unexpected X" at token `i`.
    fn unexpected(&self, i: usize) -> NftError {
        let s = match self.t.get(i) {
            None => "end of file".to_string(),
            Some(x) if x.quoted => format!("quoted string \"{}\"", x.s),
            Some(x) if x.s == "\n" => "newline".to_string(),
            Some(x) => x.s.clone(),
        };
        self.err(format!("syntax error, unexpected {s}"))
    }

    fn w(&self, i: usize) -> Option<&str> {
        w(self.t, i)
    }

    /// `t[a..b]`, empty when out of range (an unbalanced brace).
    fn sl(&self, a: usize, b: usize) -> &[Tok] {
        self.t.get(a..b).unwrap_or(&[])
    }

    /// A token that starts a new statement or expression.
    fn is_start(&self, i: usize) -> bool {
        match self.w(i) {
            None => false,
            Some(s) => STMT_WORDS.contains(&s) || selector(self.t, i).is_some(),
        }
    }

    /// evaluate.c expr_evaluate_integer: a number compared with a header
    /// field or key of `bits` bits may not exceed it ("Value 256 exceeds
    /// valid range 0-255"); the widths of proto.c's header templates,
    /// ct.c's and meta.c's keys, socket.c's.
    fn check_width(&self, name: &str, a: usize, b: usize) -> Result<(), NftError> {
        let Some(bits) = field_bits(name) else {
            return Ok(());
        };
        let max: u64 = (1u64 << bits) - 1;
        for t in self.sl(a, b) {
            if t.quoted {
                continue;
            }
            let v = t.s.split('/').next().unwrap_or("");
            for part in v.split('-') {
                let n = match part.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).ok(),
                    None if part.bytes().all(|c| c.is_ascii_digit()) => part.parse().ok(),
                    None => None,
                };
                if let Some(n) = n.filter(|n| *n > max) {
                    return Err(self.err(format!("Error: Value {n} exceeds valid range 0-{max}")));
                }
            }
        }
        Ok(())
    }

    /// evaluate.c expr_evaluate_string: a string compared with a key of
    /// `len` bytes (ct helper names: NF_CT_HELPER_NAME_LEN 16; interface
    /// names: IFNAMSIZ 16; osf names and versions: NFT_OSF_MAXGENRELEN
    /// 16) may not be
    /// longer, nor empty.
    fn check_strings(&self, name: &str, a: usize, b: usize) -> Result<(), NftError> {
        let max = match name {
            "ct helper" | "meta iifname" | "meta oifname" | "iifname" | "oifname"
            | "meta ibrname" | "meta obrname" | "meta ibridgename" | "meta obridgename"
            | "osf name" | "osf version" => 16,
            _ => return Ok(()),
        };
        for t in self.sl(a, b).iter().filter(|t| t.quoted) {
            if t.s.is_empty() {
                return Err(self.err("Error: Empty string is not allowed".into()));
            }
            if t.s.len() > max {
                return Err(self.err(format!("Error: String exceeds maximum length of {max}")));
            }
        }
        Ok(())
    }

    /// Keeps a construct podpath does not evaluate.
    fn unmodelled(&mut self, construct: String, is_match: bool) {
        let effect = if is_match {
            "a match: holds as --assume-unmodelled says (default: not matching)"
        } else {
            "a statement: passed over"
        };
        self.cx.unmodelled.push(Unmodelled {
            line: self.line,
            construct: format!("nft: {construct}"),
            effect: effect.into(),
        });
        self.out.push(Expr::Unmodelled {
            construct,
            is_match,
        });
    }

    /// Keeps an IPv6-only statement ([`super::Nft::ipv6_kept`]): a no-op
    /// on IPv4 packets, as nft_nat_inet_eval makes it.
    fn ipv6_only(&mut self, construct: String) {
        self.cx.ipv6_kept.push(Unmodelled {
            line: self.line,
            construct: format!("nft: {construct}"),
            effect: IPV6_KEPT.into(),
        });
        self.out.push(Expr::Nop(construct));
    }

    /// Index past the arguments of a statement podpath keeps whole: to the
    /// next statement (brace groups skipped).
    fn skip_args(&self, mut i: usize) -> usize {
        while i < self.t.len() && !self.is_start(i) {
            if self.t[i].is("{") {
                i = self.group_end(i);
            } else {
                i += 1;
            }
        }
        i
    }

    /// `t[i]` is `{` or `(`: the index after its match.
    fn group_end(&self, i: usize) -> usize {
        let (o, c) = if self.t[i].is("(") {
            ("(", ")")
        } else {
            ("{", "}")
        };
        let mut depth = 0;
        for j in i..self.t.len() {
            if self.t[j].is(o) {
                depth += 1;
            } else if self.t[j].is(c) {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
        }
        self.t.len()
    }

    fn id(&mut self) -> usize {
        *self.cx.next_id += 1;
        *self.cx.next_id
    }

    /// `dup|fwd [ip|ip6] to EXPR [device DEV]` not caught by
    /// [Self::fwd_dup]: a TEE clone to a constant address, a `fwd ip to`
    /// a constant neighbour, else kept unmodelled
    fn dup_fwd(&mut self, i: usize) -> Result<usize, NftError> {
        // dup|fwd [ip|ip6] to EXPR [device DEV]
        let mut j = i + 1;
        if matches!(self.w(j), Some("ip" | "ip6")) && self.w(j + 1) == Some("to") {
            j += 1;
        }
        if self.w(j) == Some("to") {
            j = self.set_value_end(j + 1);
        }
        if self.w(j) == Some("device") {
            j += 2;
        }
        let end = j.min(self.t.len());
        // `dup [ip] to ADDR [device DEV]` (nft_dup_ipv4.c
        // nft_dup_ipv4_eval -> nf_dup_ipv4): the TEE clone
        let to = (self.w(i) == Some("dup"))
            .then(|| (i + 1..end).find(|p| self.t[*p].is("to")))
            .flatten()
            .and_then(|p| self.t.get(p + 1))
            .and_then(|x| x.s.parse::<Ipv4Addr>().ok());
        if let Some(gateway) = to {
            let dev = (self.w(end.saturating_sub(2)) == Some("device"))
                .then(|| self.t.get(end - 1).map(|x| x.s.clone()))
                .flatten();
            self.out.push(Expr::Dup { gateway, dev });
            return Ok(end);
        }
        // `fwd ip to ADDR device DEV` (parser_bison.y fwd_stmt:
        // FWD nf_key_proto TO stmt_expr DEVICE stmt_expr): a
        // constant address and device
        if self.w(i) == Some("fwd")
            && self.w(i + 1) == Some("ip")
            && self.w(i + 2) == Some("to")
            && self.w(i + 4) == Some("device")
            && end == i + 6
        {
            let addr = self.t.get(i + 3).and_then(|x| x.s.parse::<Ipv4Addr>().ok());
            let dev = self.t.get(i + 5).filter(|x| x.quoted || !is_punct_tok(x));
            if let (Some(addr), Some(dev)) = (addr, dev) {
                self.out.push(Expr::FwdNeigh {
                    addr,
                    dev: dev.s.clone(),
                });
                return Ok(end);
            }
        }
        let text = render(self.sl(i, end));
        self.unmodelled(text, false);
        Ok(end)
    }

    fn stmt(&mut self, i: usize) -> Result<usize, NftError> {
        let Some(word) = self.w(i).map(str::to_string) else {
            return Err(self.unexpected(i));
        };
        match word.as_str() {
            "counter" => Ok(self.counter(i)),
            "comment" => Ok(i + 2),
            "log" => self.log(i),
            "limit" => self.limit(i),
            "quota" => self.quota(i),
            "notrack" => {
                self.out.push(Expr::Notrack);
                Ok(i + 1)
            }
            "jump" | "goto" if self.t.get(i + 1).is_some_and(|x| x.is("{")) => {
                // a binding (anonymous) chain (parser_bison.y
                // `chain_block_alloc` in `verdict_expr`), named as nft
                // names them (`__chain%d`)
                let end = self.group_end(i + 1);
                let id = self.id();
                let name = format!("__chain{id}");
                let inner = self.sl(i + 2, end.saturating_sub(1)).to_vec();
                self.cx.anon.push((name.clone(), inner));
                self.out.push(Expr::Verdict(if word == "jump" {
                    NVerdict::Jump(name)
                } else {
                    NVerdict::Goto(name)
                }));
                Ok(end)
            }
            "accept" | "drop" | "return" | "continue" | "jump" | "goto" => {
                let (v, n) = verdict_at(self.t, i).ok_or_else(|| self.unexpected(i + 1))?;
                self.out.push(Expr::Verdict(v));
                Ok(i + n)
            }
            "reject" => self.reject(i),
            "queue" => self.queue(i),
            "dnat" | "snat" | "masquerade" | "redirect" => self.nat(i),
            "tproxy" => self.tproxy(i),
            "add" | "update" | "delete" if self.t.get(i + 1).is_some_and(|x| x.is("@")) => {
                self.set_stmt(i)
            }
            "flow" => {
                // flow add|offload @FLOWTABLE (parser_bison.y
                // flow_offload_stmt: FLOW ADD|OFFLOAD '@' string): the
                // connection's later packets take the flowtable's fast path
                let end = (i + 4).min(self.t.len());
                match self.w(i + 3) {
                    Some(name) if self.t.get(i + 2).is_some_and(|x| x.is("@")) => {
                        self.out.push(Expr::FlowOffload {
                            flowtable: name.to_string(),
                        })
                    }
                    _ => self.out.push(Expr::Nop(render(self.sl(i, end)))),
                }
                Ok(end)
            }
            "synproxy" if self.w(i + 1) == Some("name") => self.objref(i, "synproxy"),
            "tunnel" if self.w(i + 1) == Some("name") => self.objref(i, "tunnel"),
            "tunnel" => {
                // tunnel path|id|... (the tunnel metadata expression)
                let end = self.skip_value((i + 2).min(self.t.len()));
                let text = render(self.sl(i, end));
                self.unmodelled(text, true);
                Ok(end)
            }
            "meter" => self.meter(i),
            "dup" | "fwd" if self.fwd_dup(i).is_some() => {
                let (e, end) = self.fwd_dup(i).ok_or_else(|| self.unexpected(i))?;
                self.out.push(e);
                Ok(end)
            }
            "dup" | "fwd" => self.dup_fwd(i),
            "reset" => {
                // reset tcp option NAME
                let end = match selector(self.t, i + 1) {
                    Some((_, n)) => i + 1 + n,
                    None => self.skip_args(i + 1),
                };
                let text = render(self.sl(i, end));
                self.unmodelled(text, false);
                Ok(end)
            }
            // synproxy (nft_synproxy.c nft_synproxy_eval_v4) answers the
            // SYN itself with a cookie SYN-ACK and opens the connection
            // to the server on the client's ACK
            // ([crate::net::netfilter::synproxy_glue])
            "synproxy" => {
                let (info, end) = synproxy_args(self.t, i + 1);
                self.out.push(Expr::Synproxy(info));
                Ok(end)
            }
            // `xt` is a compat expression of an iptables target
            "xt" => {
                let end = self.skip_args(i + 1);
                let text = render(self.sl(i, end));
                self.unmodelled(text, false);
                Ok(end)
            }
            "last" => {
                let mut j = i + 1;
                if self.w(j) == Some("used") {
                    // parser_bison.y last_args: USED NEVER | USED
                    // time_spec (datatype.c time_parse: "wrong time
                    // format")
                    match self.w(j + 1) {
                        Some("never") => {}
                        Some(v) if super::context::time_ok(v) => {}
                        _ => return Err(self.err("Error: wrong time format".into())),
                    }
                    j += 2;
                }
                self.out.push(Expr::Nop("last".into()));
                Ok(j)
            }
            "numgen" => self.numgen(i),
            "ct" if self.ct_obj_set(i).is_some() => {
                let kind = format!("ct {}", self.w(i + 1).unwrap_or(""));
                if let Some(end) = self.objref_map(i, i + 3) {
                    return Ok(end);
                }
                let name = self.t.get(i + 3).map(|x| x.s.clone()).unwrap_or_default();
                self.out.push(Expr::ObjRef { kind, name });
                Ok(i + 4)
            }
            "ct" if self.w(i + 1) == Some("label") => match self.ct_label(i) {
                Some((e, j)) => {
                    self.out.push(e);
                    Ok(j)
                }
                None => self.match_or_set(i),
            },
            _ => self.match_or_set(i),
        }
    }

    /// `ct label [==] N` and `ct label set N` with a bit number
    /// (parser_bison.y `ct_expr` / `ct_stmt`, ct.c `ct_label_type_parse`:
    /// a number of 0-127 when no connlabel.conf name is given); a name, a
    /// set or `!=` is left to the general path (kept unmodelled).
    fn ct_label(&self, i: usize) -> Option<(Expr, usize)> {
        let bit = |j: usize| -> Option<u8> {
            let x = self.t.get(j).filter(|x| !x.quoted)?;
            x.s.parse::<u8>().ok().filter(|b| *b <= 127)
        };
        let ends = |j: usize| j >= self.t.len() || self.is_start(j) || self.w(j) == Some(";");
        if self.w(i + 2) == Some("set") {
            let b = bit(i + 3)?;
            return ends(i + 4).then_some((Expr::CtLabelSet(b), i + 4));
        }
        let k = if matches!(self.w(i + 2), Some("==" | "eq")) {
            i + 3
        } else {
            i + 2
        };
        let b = bit(k)?;
        ends(k + 1).then_some((Expr::CtLabel(b), k + 1))
    }

    /// `fwd to DEV` (parser_bison.y `fwd_stmt`, nft_fwd_netdev.c) and
    /// `dup to DEV` (`dup_stmt`; evaluate.c stmt_evaluate_dup: in the
    /// netdev family the destination is an interface, nft_dup_netdev.c) of
    /// the netdev family: a constant device. (`fwd ip to ADDR device DEV`
    /// (nft_fwd_neigh) and `dup to ADDR [device DEV]` (nft_dup_ipv4, a
    /// routed copy as iptables' TEE) are read beside it, in `stmt`.)
    fn fwd_dup(&self, i: usize) -> Option<(Expr, usize)> {
        let x = self.t.get(i + 2).filter(|x| x.quoted || !is_punct_tok(x))?;
        let d = x.s.clone();
        // an address (`10.0.0.1`, `::1`, `$ADDR` already expanded) is not a device
        let addr = d.parse::<Ipv4Addr>().is_ok() || d.parse::<std::net::Ipv6Addr>().is_ok();
        // a device is one word, ending the statement (not an expression:
        // `dup to ip saddr map { ... } device "lo"`)
        let ends = self
            .t
            .get(i + 3)
            .is_none_or(|n| n.is(";") || n.is("\n") || self.is_start(i + 3));
        if self.w(i + 1)? != "to"
            || addr
            || !ends
            || self.w(i + 3) == Some("device")
            || (!x.quoted && selector(self.t, i + 2).is_some())
        {
            return None;
        }
        match self.w(i)? {
            "fwd" => Some((Expr::Fwd(d), i + 3)),
            _ => Some((Expr::DupDev(d), i + 3)),
        }
    }

    /// The value of `ether saddr|daddr set` in `t[j..end]`: a MAC, or a
    /// number source and a map of MACs.
    fn mac_val(&self, j: usize, end: usize) -> Option<MacVal> {
        if end == j + 1 {
            return expr::mac(self.w(j)?).map(MacVal::Const);
        }
        let (src, k) = expr::num_expr(self.t, j)?;
        if self.w(k)? != "map" {
            return None;
        }
        let (map, next) = self
            .map_ref(
                k + 1,
                &[SelInfo {
                    sel: None,
                    ty: KeyType::Other,
                    name: String::new(),
                }],
                &[KeyType::Ether],
            )
            .ok()?;
        (next == end).then_some(MacVal::Map(src, map))
    }

    /// `KIND name NAME` (objref_stmt), or `KIND name EXPR map ...` kept
    /// unmodelled.
    fn objref(&mut self, i: usize, kind: &str) -> Result<usize, NftError> {
        if let Some(end) = self.objref_map(i, i + 2) {
            return Ok(end);
        }
        let name = self
            .t
            .get(i + 2)
            .map(|x| x.s.clone())
            .ok_or_else(|| self.unexpected(i + 2))?;
        self.out.push(Expr::ObjRef {
            kind: kind.into(),
            name,
        });
        Ok(i + 3)
    }

    /// An object chosen by a map (`... name ip saddr map @m`,
    /// `ct helper set udp dport map { ... }`): kept unmodelled.
    fn objref_map(&mut self, i: usize, j: usize) -> Option<usize> {
        if self.t.get(j).is_some_and(|x| x.quoted) || selector(self.t, j).is_none() {
            return None;
        }
        let end = self.set_value_end(j);
        let kind = match self.w(i) {
            Some("ct") => format!("ct {}", self.w(i + 1).unwrap_or("")),
            Some(k) => k.to_string(),
            None => String::new(),
        };
        let m = self.lhs(j).and_then(|(lhs, k)| {
            let key: Option<Vec<Sel>> = lhs.iter().map(|s| s.sel).collect();
            if self.w(k) != Some("map") {
                return None;
            }
            let (map, next) = self.map_ref(k + 1, &lhs, &[]).ok()?;
            (next == end).then_some((key?, map))
        });
        match m {
            Some((key, map)) => self.out.push(Expr::ObjMap { kind, key, map }),
            None => {
                let text = render(self.sl(i, end));
                self.unmodelled(text, false);
            }
        }
        Some(end)
    }

    /// `counter [packets N bytes M]`, `counter name NAME`.
    fn counter(&mut self, i: usize) -> usize {
        if self.w(i + 1) == Some("name") {
            return self.objref(i, "counter").unwrap_or(i + 3);
        }
        let mut j = i + 1;
        while matches!(self.w(j), Some("packets" | "bytes")) {
            j += 2;
        }
        self.out.push(Expr::Counter);
        j
    }

    /// `log [prefix S] [level L] [group N] [snaplen N] [queue-threshold N]
    /// [flags F,...]` (parser_bison.y `log_args`).
    fn log(&mut self, i: usize) -> Result<usize, NftError> {
        let mut j = i + 1;
        let mut prefix = String::new();
        let (mut level, mut group, mut flags, mut other) = (None, false, false, false);
        loop {
            match self.w(j) {
                Some("prefix") => {
                    prefix = self.t.get(j + 1).map(|x| x.s.clone()).unwrap_or_default();
                    other = true;
                    j += 2;
                }
                Some("level") => {
                    level = self.w(j + 1).map(str::to_string);
                    j += 2;
                }
                Some("group" | "snaplen" | "queue-threshold") => {
                    group = true;
                    j += 2;
                }
                Some("flags") => {
                    flags = true;
                    // log_flags: tcp sequence,options | ip options | skuid
                    // | ether | all
                    j += 1;
                    while matches!(
                        self.w(j),
                        Some(
                            "tcp" | "ip" | "sequence" | "options" | "skuid" | "ether" | "all" | ","
                        )
                    ) {
                        j += 1;
                    }
                }
                _ => break,
            }
        }
        // evaluate.c stmt_evaluate_log
        if group && level.is_some() {
            return Err(self.err("Error: level and group are mutually exclusive".into()));
        }
        if group && flags {
            return Err(self.err("Error: flags and group are mutually exclusive".into()));
        }
        if level.as_deref() == Some("audit") && (group || flags || other) {
            return Err(
                self.err("Error: log level audit doesn't support any further options".into())
            );
        }
        self.out.push(Expr::Log { prefix });
        Ok(j)
    }

    /// `limit rate [over|until] N/UNIT [burst N packets]`,
    /// `limit rate [over] N BYTES/UNIT [burst N BYTES]`, `limit name X`.
    fn limit(&mut self, i: usize) -> Result<usize, NftError> {
        if self.w(i + 1) == Some("name") {
            return self.objref(i, "limit");
        }
        if self.w(i + 1) != Some("rate") {
            return Err(self.unexpected(i + 1));
        }
        let (e, j) = limit_args(self.t, i + 2, self.line)?;
        let id = self.id();
        self.out.push(match e {
            Expr::Limit {
                over,
                rate,
                per_ns,
                burst,
                bytes,
                ..
            } => Expr::Limit {
                over,
                rate,
                per_ns,
                burst,
                bytes,
                id,
            },
            other => other,
        });
        Ok(j)
    }

    /// `quota [over|until] N UNIT [used N UNIT]`, `quota name X`.
    fn quota(&mut self, i: usize) -> Result<usize, NftError> {
        if self.w(i + 1) == Some("name") {
            return self.objref(i, "quota");
        }
        let (e, j) = quota_args(self.t, i + 1, self.line)?;
        let id = self.id();
        self.out.push(match e {
            Expr::Quota {
                over, bytes, used, ..
            } => Expr::Quota {
                over,
                bytes,
                used,
                id,
            },
            other => other,
        });
        Ok(j)
    }

    /// `reject [with icmp|icmpv6|icmpx [type] CODE | with tcp reset]`.
    fn reject(&mut self, i: usize) -> Result<usize, NftError> {
        if self.w(i + 1) != Some("with") {
            self.out.push(Expr::Verdict(NVerdict::Reject(
                RejectWith::IcmpPortUnreachable,
            )));
            return Ok(i + 1);
        }
        let mut j = i + 2;
        let how = match self.w(j) {
            Some("tcp") if self.w(j + 1) == Some("reset") => {
                j += 2;
                RejectWith::TcpReset
            }
            Some(fam @ ("icmp" | "icmpv6" | "icmp6" | "icmpx")) => {
                let fam = fam.to_string();
                j += 1;
                if self.w(j) == Some("type") {
                    j += 1;
                }
                let code = self.w(j).ok_or_else(|| self.unexpected(j))?.to_string();
                j += 1;
                reject_code(&fam, &code).ok_or_else(|| {
                    self.err(format!(
                        "Error: Could not parse ICMP{} code: {code}",
                        if fam == "icmpx" { "X" } else { "" }
                    ))
                })?
            }
            _ => return Err(self.unexpected(j)),
        };
        self.out.push(Expr::Verdict(NVerdict::Reject(how)));
        Ok(j)
    }

    /// `queue [flags bypass,fanout] [num N[-M] | to N] [bypass] [fanout]`.
    fn queue(&mut self, i: usize) -> Result<usize, NftError> {
        let mut j = i + 1;
        let mut bypass = false;
        let mut fanout = false;
        let mut value: Option<(usize, usize)> = None;
        loop {
            match self.w(j) {
                Some("num") => {
                    // parser_bison.y queue_stmt_expr_simple: a number or
                    // a range
                    if !self
                        .w(j + 1)
                        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
                    {
                        return Err(self.unexpected(j + 1));
                    }
                    let e = self.set_value_end(j + 1);
                    value = Some((j + 1, e));
                    j = e;
                }
                Some("to") => {
                    let e = self.set_value_end(j + 1);
                    value = Some((j + 1, e));
                    j = e;
                }
                Some("flags") => {
                    j += 1;
                    while let Some(f) = self.w(j) {
                        if f == "bypass" {
                            bypass = true;
                        }
                        if f == "fanout" {
                            fanout = true;
                        }
                        if f == "bypass" || f == "fanout" || f == "," {
                            j += 1;
                        } else {
                            break;
                        }
                    }
                }
                Some("bypass") => {
                    bypass = true;
                    j += 1;
                }
                Some("fanout") => {
                    fanout = true;
                    j += 1;
                }
                _ => break,
            }
        }
        let mut num = Some(0);
        if let Some((a, b)) = value {
            self.queue_value(a, b, fanout)?;
            // one number: that queue; a range or an expression: chosen
            // per packet (nft_queue_eval's fanout / sreg_qnum)
            num = match self.sl(a, b) {
                [one] if !one.quoted && !fanout => match one.s.strip_prefix("0x") {
                    Some(h) => u16::from_str_radix(h, 16).ok(),
                    None => one.s.parse().ok(),
                },
                _ => None,
            };
        }
        self.out
            .push(Expr::Verdict(NVerdict::Queue { bypass, num }));
        Ok(j)
    }

    /// evaluate.c stmt_evaluate_queue: the queue number is a 16-bit
    /// integer (a number, a range, a hash or numgen with `mod`/`offset`,
    /// a map), a range under `fanout`, its largest value at most 65535.
    fn queue_value(&self, a: usize, b: usize, fanout: bool) -> Result<(), NftError> {
        let toks = self.sl(a, b);
        let num = |s: &str| -> Option<u64> {
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            }
        };
        let first = toks.first().map(|x| x.s.as_str()).unwrap_or("");
        let is_map = toks.iter().any(|x| x.is("map"));
        if toks.len() == 1 && !toks[0].quoted {
            let parts: Vec<&str> = first.split('-').collect();
            let ns: Vec<Option<u64>> = parts.iter().map(|p| num(p)).collect();
            if ns.iter().all(Option::is_some) {
                if let Some(n) = ns.iter().flatten().find(|n| **n > 65535) {
                    return Err(self.err(format!("Error: Value {n} exceeds valid range 0-65535")));
                }
                if fanout && parts.len() < 2 {
                    return Err(self.err("Error: fanout requires a range to be specified".into()));
                }
                return Ok(());
            }
            if !is_map {
                return Err(self.err(format!(
                    "Error: datatype mismatch: expected integer, expression has type of {first}"
                )));
            }
        }
        if fanout && !is_map {
            return Err(self.err("Error: fanout requires a range to be specified".into()));
        }
        let after = |k: &str| {
            toks.iter()
                .position(|x| x.is(k))
                .and_then(|p| toks.get(p + 1))
                .and_then(|x| num(&x.s))
        };
        if let Some(m) = after("mod") {
            let max = after("offset").unwrap_or(0) + m.saturating_sub(1);
            if max > 65535 {
                return Err(self.err("Error: queue expression max value exceeds 65535".into()));
            }
        }
        Ok(())
    }

    /// `ct helper|timeout|expectation set "NAME"` (parser_bison.y
    /// `objref_stmt_ct`): the object's name; the index after it.
    fn ct_obj_set(&self, i: usize) -> Option<usize> {
        let k = self.w(i + 1)?;
        (["helper", "timeout", "expectation"].contains(&k) && self.w(i + 2) == Some("set"))
            .then_some(i + 4)
    }

    /// `numgen random|inc mod N [offset O] vmap { ... }`, or compared.
    fn numgen(&mut self, i: usize) -> Result<usize, NftError> {
        let (modulus, offset, random, j) = numgen_args(self.t, i).ok_or_else(|| {
            self.err("syntax error, unexpected numgen: expected 'numgen inc|random mod N'".into())
        })?;
        if self.w(j) == Some("vmap") && self.t.get(j + 1).is_some_and(|x| x.is("{")) {
            let (els, next) =
                expr::elements(self.t, j + 1, &[KeyType::Other], Some(&[KeyType::Verdict]))?;
            let mut map = Vec::new();
            for (k, d) in els {
                match (k.into_iter().next(), d) {
                    (Some(v), Some(Data::Verdict(d))) => map.push((v, d)),
                    _ => {
                        return Err(self.err("Error: numgen vmap needs numbers and verdicts".into()))
                    }
                }
            }
            self.out.push(Expr::Numgen {
                modulus,
                offset,
                random,
                map,
            });
            return Ok(next);
        }
        let end = self.skip_value(j);
        let text = render(self.sl(i, end));
        self.unmodelled(text, true);
        Ok(end)
    }

    /// The index past a right-hand side starting at `j` (an operator
    /// included).
    fn skip_value(&self, mut j: usize) -> usize {
        if matches!(self.w(j), Some(op) if relop(op).is_some()) {
            j += 1;
        }
        if self.w(j) == Some("vmap") || self.w(j) == Some("map") {
            j += 1;
        }
        self.rhs_end(j)
    }

    /// The end of a value at `j`: an atom and its continuations (`.`, `,`,
    /// `|`, `/`, `-`).
    fn rhs_end(&self, mut j: usize) -> usize {
        let atom = |j: usize| -> usize {
            match self.t.get(j) {
                Some(x) if x.is("{") || x.is("(") => self.group_end(j),
                Some(x) if x.is("@") => j + 2,
                Some(_) => j + 1,
                None => j,
            }
        };
        j = atom(j);
        while let Some(c) = self.w(j) {
            if matches!(c, "." | "," | "|" | "/" | "-") && j + 1 < self.t.len() {
                j = atom(j + 1);
            } else {
                break;
            }
        }
        j
    }

    /// A selector-led statement: a comparison, a lookup, a verdict map, or
    /// `SEL set VALUE`.
    fn match_or_set(&mut self, i: usize) -> Result<usize, NftError> {
        let Some((lhs, mut j)) = self.lhs(i) else {
            return Err(self.unexpected(i));
        };
        // `& MASK` / `and MASK`
        let mut mask = None;
        let mut odd_binop = false;
        loop {
            match self.w(j) {
                Some("&" | "and") => {
                    let end = self.rhs_end(j + 1);
                    let ty = lhs.first().map(|s| s.ty).unwrap_or_default();
                    match self.int_value(j + 1, end, ty) {
                        Some(m) if mask.is_none() => mask = Some(m),
                        _ => odd_binop = true,
                    }
                    j = end;
                }
                Some("|" | "^" | "or" | "xor" | "<<" | ">>" | "lshift" | "rshift") => {
                    odd_binop = true;
                    j = self.rhs_end(j + 1);
                }
                _ => break,
            }
        }
        let names: Vec<String> = lhs.iter().map(|s| s.name.clone()).collect();
        let sels: Option<Vec<Sel>> = lhs.iter().map(|s| s.sel).collect();
        if self.w(j) == Some("set") {
            // evaluate.c __stmt_evaluate_arg: "we are setting a value, we
            // can't use a set"
            if self.t.get(j + 1).is_some_and(|x| x.is("{")) {
                return Err(
                    self.err("Error: you cannot use a set here, unknown value to use".into())
                );
            }
            if self.t.get(j + 1).is_some_and(|x| x.is("@")) {
                return Err(
                    self.err("Error: you cannot reference a set here, unknown value to use".into())
                );
            }
            if let [one] = lhs.as_slice() {
                // the value and its bit operations, up to the next
                // statement
                let mut end = j + 1;
                while end < self.t.len() && !self.w(end).is_some_and(|x| STMT_WORDS.contains(&x)) {
                    end += 1;
                }
                self.check_width(&one.name, j + 1, end)?;
            }
            return self.set_value(i, &lhs, j + 1);
        }
        if self.w(j) == Some("vmap") {
            let (map, next) = self.map_ref(j + 1, &lhs, &[KeyType::Verdict])?;
            match sels {
                Some(sel) if !odd_binop && mask.is_none() => {
                    self.out.push(Expr::Vmap { sel, map });
                }
                _ => {
                    let text = render(self.sl(i, next));
                    self.unmodelled(text, true);
                }
            }
            return Ok(next);
        }
        let (op, k) = match self.w(j).and_then(relop) {
            Some(op) => (op, j + 1),
            None => (Op::Implicit, j),
        };
        let ty = lhs.first().map(|s| s.ty).unwrap_or_default();
        let typed_value = self.t.get(k).is_some_and(|x| {
            ty != KeyType::Other
                && ty != KeyType::Name
                && expr::value(&x.s, x.quoted, ty).is_some_and(|v| !matches!(v, Val::Sym(_)))
        });
        if k >= self.t.len() || (op == Op::Implicit && self.is_start(k) && !typed_value) {
            // `SEL` alone: nft wants a value after it
            if k >= self.t.len() || !self.t[k].is("@") {
                return Err(self.unexpected(k));
            }
        }
        let end = self.rhs_end(k);
        if let ([one], None) = (lhs.as_slice(), mask) {
            self.check_width(&one.name, k, end)?;
            self.check_strings(&one.name, k, end)?;
        }
        let flag_type = matches!(ty, KeyType::TcpFlags | KeyType::CtStatus | KeyType::CtState);
        if op == Op::Neg && !flag_type {
            // evaluate.c expr_evaluate_relational
            return Err(self.err(
                "Error: negation can only be used with singleton bitmask values.  Did you mean \"!=\"?"
                    .into(),
            ));
        }
        // a singleton set of a bitmask other than ct_state compares for
        // equality (evaluate.c optimize_singleton_set, then OP_IMPLICIT
        // becomes OP_EQ)
        let op = if op == Op::Implicit
            && self.t.get(k).is_some_and(|x| x.is("{"))
            && matches!(ty, KeyType::TcpFlags | KeyType::CtStatus)
        {
            Op::Eq
        } else {
            op
        };
        let rhs = self.rhs(k, end, &lhs);
        // a value podpath cannot read (a symbol of an unread type) is
        // not compared: the match is kept unmodelled
        let readable = |r: &Rhs| match r {
            Rhs::Vals(v) => !v.iter().any(|x| matches!(x, Val::Sym(_))),
            Rhs::Anon(els) => !els.iter().flatten().any(|x| matches!(x, Val::Sym(_))),
            _ => true,
        };
        match (sels, rhs, odd_binop) {
            (Some(sel), Ok(rhs), false) if owner_names(&sel, &rhs).is_some() => {
                // `meta skuid|skgid NAME`: the loading machine's name
                // ([`super::Nft::resolve_names`])
                let Some((db, names)) = owner_names(&sel, &rhs) else {
                    return Ok(end);
                };
                let cmp = Box::new(Expr::Cmp { sel, mask, op, rhs });
                let construct = render(self.sl(i, end));
                self.out.push(Expr::Unresolved {
                    cmp,
                    db,
                    names,
                    construct,
                });
            }
            (Some(sel), Ok(rhs), false) if readable(&rhs) || sel.contains(&Sel::V6) => {
                self.out.push(Expr::Cmp { sel, mask, op, rhs });
            }
            (_, Err(e), _) if lhs.iter().all(|s| s.sel.is_some()) => return Err(e),
            _ => {
                let text = render(self.sl(i, end));
                let _ = names;
                self.unmodelled(text, true);
            }
        }
        Ok(end)
    }

    /// Selectors joined by `.` at `i`; the index after them.
    fn lhs(&self, i: usize) -> Option<(Vec<SelInfo>, usize)> {
        let mut out = Vec::new();
        let mut j = i;
        loop {
            let (s, n) = selector(self.t, j)?;
            out.push(s);
            j += n;
            // constants in a concatenation (`ip saddr . 1.2.3.4 . 80 @s`)
            while self.w(j) == Some(".") && selector(self.t, j + 1).is_none() {
                let Some(c) = self.t.get(j + 1).filter(|x| x.quoted || !is_punct_tok(x)) else {
                    break;
                };
                let n = match expr::value(&c.s, c.quoted, KeyType::Addr4)
                    .or_else(|| expr::value(&c.s, c.quoted, KeyType::Other))
                {
                    Some(Val::Net(a)) if a.prefix_len() == 32 => Some(u32::from(a.addr())),
                    Some(Val::Int(n)) => Some(n),
                    _ => None,
                };
                out.push(SelInfo {
                    sel: n.map(Sel::Const),
                    ty: KeyType::Other,
                    name: c.s.clone(),
                });
                j += 2;
            }
            if self.w(j) == Some(".") && selector(self.t, j + 1).is_some() {
                j += 1;
                continue;
            }
            break;
        }
        Some((out, j))
    }

    /// A number (or flag list) value in `t[a..b]`.
    fn int_value(&self, a: usize, b: usize, ty: KeyType) -> Option<u32> {
        let mut v = 0;
        for x in self.t.get(a..b)? {
            if x.is("(") || x.is(")") || x.is("|") || x.is(",") {
                continue;
            }
            match expr::value(&x.s, x.quoted, ty)? {
                Val::Int(n) => v |= n,
                _ => return None,
            }
        }
        Some(v)
    }

    /// The right-hand side in `t[a..b]` typed by the left-hand side.
    fn rhs(&self, a: usize, b: usize, lhs: &[SelInfo]) -> Result<Rhs, NftError> {
        let types: Vec<KeyType> = lhs.iter().map(|s| s.ty).collect();
        let t = self.t;
        if t.get(a).is_some_and(|x| x.is("@")) {
            let name = t
                .get(a + 1)
                .map(|x| x.s.clone())
                .ok_or_else(|| self.unexpected(a + 1))?;
            return Ok(Rhs::Named(name));
        }
        if t.get(a).is_some_and(|x| x.is("{")) {
            let (els, _) = expr::elements(t, a, &types, None)?;
            let mut els: Vec<Vec<Val>> = els.into_iter().map(|e| e.0).collect();
            // nft itself stores `{ x }` as the value x (and lists it so)
            return Ok(if els.len() == 1 {
                Rhs::Vals(els.remove(0))
            } else {
                Rhs::Anon(els)
            });
        }
        let toks = t.get(a..b).unwrap_or(&[]);
        if toks.is_empty() {
            return Err(self.unexpected(a));
        }
        let flags = matches!(
            types.as_slice(),
            [KeyType::CtState | KeyType::CtStatus | KeyType::TcpFlags]
        );
        // `flags / mask`
        if let Some(p) = toks.iter().position(|x| x.is("/")) {
            let v = self.int_value(a, a + p, types[0]);
            let m = self.int_value(a + p + 1, b, types[0]);
            return match (v, m) {
                (Some(v), Some(m)) => Ok(Rhs::Masked(v, m)),
                _ => Err(expr::bad_value(self.line, &render(toks), types[0])),
            };
        }
        if flags {
            let v = self
                .int_value(a, b, types[0])
                .ok_or_else(|| expr::bad_value(self.line, &render(toks), types[0]))?;
            return Ok(Rhs::Vals(vec![Val::Int(v)]));
        }
        // a comma list of values, or one (concatenated) value
        let mut list = Vec::new();
        let mut cur: Vec<&Tok> = Vec::new();
        let mut joined: Vec<Tok> = Vec::new();
        // `A - B` spaced: join into one word
        let mut k = 0;
        while k < toks.len() {
            if toks[k].is("-") && !joined.is_empty() && k + 1 < toks.len() {
                let last = joined.len() - 1;
                joined[last].s = format!("{}-{}", joined[last].s, toks[k + 1].s);
                k += 2;
                continue;
            }
            joined.push(toks[k].clone());
            k += 1;
        }
        for x in &joined {
            if x.is(",") {
                list.push(expr::concat(&cur, &types, self.line)?);
                cur.clear();
            } else if !x.is("(") && !x.is(")") {
                cur.push(x);
            }
        }
        list.push(expr::concat(&cur, &types, self.line)?);
        Ok(if list.len() == 1 {
            Rhs::Vals(list.remove(0))
        } else {
            Rhs::Anon(list)
        })
    }

    /// `@MAP` or `{ k : d, ... }` at `j`: the map and the index after it.
    fn map_ref(
        &self,
        j: usize,
        lhs: &[SelInfo],
        data: &[KeyType],
    ) -> Result<(MapRef, usize), NftError> {
        let t = self.t;
        if t.get(j).is_some_and(|x| x.is("@")) {
            let name = t
                .get(j + 1)
                .map(|x| x.s.clone())
                .ok_or_else(|| self.unexpected(j + 1))?;
            return Ok((MapRef::Named(name), j + 2));
        }
        if t.get(j).is_some_and(|x| x.is("{")) {
            let types: Vec<KeyType> = lhs.iter().map(|s| s.ty).collect();
            let (els, next) = expr::elements(t, j, &types, Some(data))?;
            if interval_conflict(&els) {
                return Err(self.err("Error: conflicting intervals specified".into()));
            }
            return Ok((MapRef::Anon(els), next));
        }
        Err(self.unexpected(j))
    }

    /// `SEL set VALUE` (parser_bison.y `meta_stmt`, `ct_stmt`,
    /// `payload_stmt`): the mark and the connection's mark are modelled.
    fn set_value(&mut self, i: usize, lhs: &[SelInfo], j: usize) -> Result<usize, NftError> {
        let target = match lhs {
            [s] if s.sel == Some(Sel::Mark) => Some(SetTarget::Mark),
            [s] if s.sel == Some(Sel::CtMark) => Some(SetTarget::CtMark),
            _ => None,
        };
        let end = self.set_value_end(j);
        if j >= end {
            return Err(self.unexpected(j));
        }
        let name = lhs.first().map(|s| s.name.as_str()).unwrap_or("");
        if name == "meta nftrace" || name == "nftrace" {
            self.out.push(Expr::Nop("meta nftrace set".into()));
            return Ok(end);
        }
        if name == "tcp option maxseg" || name == "ct zone" {
            // nft_exthdr_tcp_set_eval / nft_ct_set_zone_eval: a trace
            // step (see Expr::Step)
            let why = if name == "ct zone" {
                "zones do not separate connections in podpath"
            } else {
                "the option is not rewritten in podpath"
            };
            let text = render(self.sl(i, end));
            self.out.push(Expr::Step(format!("{text} ({why})")));
            return Ok(end);
        }
        if let [s] = lhs {
            if matches!(s.sel, Some(Sel::EtherSaddr | Sel::EtherDaddr)) {
                if let Some(value) = self.mac_val(j, end) {
                    let daddr = s.sel == Some(Sel::EtherDaddr);
                    self.out.push(Expr::EtherSet { daddr, value });
                    return Ok(end);
                }
            }
        }
        if let Some(field) = payload_field(name) {
            if let Some(value) = self.payload_val(j, end, field, lhs) {
                self.out.push(Expr::PayloadSet { field, value });
                return Ok(end);
            }
        }
        let value = self.set_val(j, end);
        if let (Some(target), None) = (target, &value) {
            if let Some((key, map)) = self.set_map(j, end) {
                self.out.push(Expr::SetMap { target, key, map });
                return Ok(end);
            }
        }
        match (target, value) {
            (Some(target), Some(value)) => self.out.push(Expr::Set { target, value }),
            _ => {
                let text = render(self.sl(i, end));
                self.unmodelled(text, false);
            }
        }
        Ok(end)
    }

    /// The value of `ip FIELD set ...` ending at `end`: a constant, or
    /// `numgen|jhash ... map { ... }`.
    fn payload_val(
        &self,
        j: usize,
        end: usize,
        field: PayloadField,
        lhs: &[SelInfo],
    ) -> Option<PayloadVal> {
        let ty = match field {
            PayloadField::Saddr | PayloadField::Daddr => KeyType::Addr4,
            _ => KeyType::Other,
        };
        if let Some((num, k)) = expr::num_expr(self.t, j) {
            if self.w(k) != Some("map") {
                return None;
            }
            let (map, next) = self.map_ref(k + 1, lhs, &[ty]).ok()?;
            return (next == end).then_some(PayloadVal::Map { num, map });
        }
        if end != j + 1 {
            return None;
        }
        let v = self.t.get(j)?;
        let n = match field {
            PayloadField::Saddr | PayloadField::Daddr => match expr::value(&v.s, v.quoted, ty)? {
                Val::Net(a) if a.prefix_len() == 32 => u32::from(a.addr()),
                _ => return None,
            },
            PayloadField::Ttl => self
                .int_value(j, j + 1, KeyType::Other)
                .filter(|t| *t <= 255)?,
            // datatype.c dscp_type (cs0..cs7, af11..af43, ef, le) and
            // ecn_type
            PayloadField::Dscp => crate::net::netfilter::iptables::matches::dscp_class(&v.s)
                .map(u32::from)
                .or_else(|| (v.s == "le").then_some(1))
                .or_else(|| {
                    self.int_value(j, j + 1, KeyType::Other)
                        .filter(|d| *d <= 63)
                })?,
            PayloadField::Ecn => match v.s.as_str() {
                "not-ect" => 0,
                "ect1" => 1,
                "ect0" => 2,
                "ce" => 3,
                _ => self
                    .int_value(j, j + 1, KeyType::Other)
                    .filter(|e| *e <= 3)?,
            },
        };
        Some(PayloadVal::Const(n))
    }

    /// The end of a `set` statement's value expression.
    fn set_value_end(&self, j: usize) -> usize {
        // a selector or a constant, then `op value` pairs, `map {...}`
        let mut k = match (self.lhs(j), numgen_args(self.t, j)) {
            (Some((_, e)), _) => e,
            (None, Some((_, _, _, e))) => e,
            (None, None) => self.rhs_end(j),
        };
        while let Some(op) = self.w(k) {
            k = match (op, self.lhs(k + 1)) {
                ("map", _) => self.rhs_end(k + 1),
                ("|" | "&" | "^" | "or" | "and" | "xor" | "<<" | ">>", Some((_, e))) => e,
                ("|" | "&" | "^" | "or" | "and" | "xor" | "<<" | ">>", None) => {
                    match self.t.get(k + 1) {
                        Some(x) if x.is("(") || x.is("{") => self.group_end(k + 1),
                        Some(_) => k + 2,
                        None => k + 1,
                    }
                }
                _ => break,
            };
        }
        k
    }

    /// A mark value: `N`, `mark`, `ct mark`, then bit operations
    /// (`meta mark & 0xffff04ff | 0x400`, `mark and 0xffff00ff xor 0xad`).
    fn set_val(&self, j: usize, end: usize) -> Option<SetVal> {
        let (src, mut k) = match self.lhs(j) {
            Some((l, k)) => match l.as_slice() {
                [s] if matches!(s.sel, Some(Sel::Mark | Sel::CtMark | Sel::Symhash(..))) => {
                    (s.sel, k)
                }
                _ => return None,
            },
            None => (None, j),
        };
        let mut value = 0;
        if src.is_none() {
            value = self.int_value(k, k + 1, KeyType::Mark)?;
            k += 1;
        }
        let mut ops = Vec::new();
        let mut or_src = None;
        while k < end {
            if matches!(self.w(k), Some("|" | "or")) {
                if let Some((l, k2)) = self.lhs(k + 1) {
                    // `| SEL2 [& M]...`: the second register
                    let [s2] = l.as_slice() else { return None };
                    let s2 = s2.sel.filter(|s| matches!(s, Sel::Mark | Sel::CtMark))?;
                    let mut masks = Vec::new();
                    k = k2;
                    while k < end && matches!(self.w(k), Some("&" | "and")) {
                        masks.push(self.int_value(k + 1, k + 2, KeyType::Mark)?);
                        k += 2;
                    }
                    or_src = Some((s2, masks));
                    break;
                }
            }
            let op = match self.w(k)? {
                "|" | "or" => 'o',
                "&" | "and" => 'a',
                "^" | "xor" => 'x',
                _ => return None,
            };
            ops.push((op, self.int_value(k + 1, k + 2, KeyType::Mark)?));
            k += 2;
        }
        (k == end).then_some(SetVal {
            src,
            value,
            ops,
            or_src,
        })
    }

    /// `SEL [. SEL] map @m|{ ... }` ending at `end`: a mark looked up.
    fn set_map(&self, j: usize, end: usize) -> Option<(Vec<Sel>, MapRef)> {
        let (lhs, k) = self.lhs(j)?;
        let key: Vec<Sel> = lhs.iter().map(|s| s.sel).collect::<Option<_>>()?;
        if self.w(k) != Some("map") || key.contains(&Sel::V6) {
            return None;
        }
        let (map, next) = self.map_ref(k + 1, &lhs, &[KeyType::Mark]).ok()?;
        (next == end).then_some((key, map))
    }

    /// `add|update|delete @SET { KEY [timeout T] [stateful] }`.
    fn set_stmt(&mut self, i: usize) -> Result<usize, NftError> {
        let set = self
            .t
            .get(i + 2)
            .map(|x| x.s.clone())
            .ok_or_else(|| self.unexpected(i + 2))?;
        self.update_group(i, set, i + 3)
    }

    /// `meter NAME [size N] { KEY [limit ...] }` (parser_bison.y
    /// `meter_stmt`): an update of the dynamic set NAME it creates.
    fn meter(&mut self, i: usize) -> Result<usize, NftError> {
        let set = self
            .t
            .get(i + 1)
            .map(|x| x.s.clone())
            .ok_or_else(|| self.unexpected(i + 1))?;
        let mut b = i + 2;
        if self.w(b) == Some("size") {
            b += 2;
        }
        self.cx.meters.push(set.clone());
        self.update_group(i, set, b)
    }

    /// The `{ KEY [timeout T] [stateful] }` of a set update at `brace`.
    fn update_group(&mut self, i: usize, set: String, brace: usize) -> Result<usize, NftError> {
        if !self.t.get(brace).is_some_and(|x| x.is("{")) {
            return Err(self.unexpected(brace));
        }
        let end = self.group_end(brace);
        let t = self.t;
        let inner = t.get(brace + 1..end.saturating_sub(1)).unwrap_or(&[]);
        let mut key = Vec::new();
        let mut k = 0;
        let mut ok = self.w(i) != Some("delete");
        let mut timeout_ns = None;
        let mut limit = None;
        while k < inner.len() {
            if let Some((s, n)) = selector(inner, k) {
                match s.sel {
                    Some(sel) => key.push(sel),
                    None => ok = false,
                }
                k += n;
            } else if inner[k].is(".") {
                k += 1;
            } else if inner[k].is("limit") && inner.get(k + 1).is_some_and(|x| x.is("rate")) {
                let (e, n) = limit_args(inner, k + 2, self.line)?;
                let id = self.id();
                limit = Some(Box::new(match e {
                    Expr::Limit {
                        over,
                        rate,
                        per_ns,
                        burst,
                        bytes,
                        ..
                    } => Expr::Limit {
                        over,
                        rate,
                        per_ns,
                        burst,
                        bytes,
                        id,
                    },
                    other => other,
                }));
                k = n;
            } else if inner[k].is("counter") {
                k += 1;
                while matches!(w(inner, k), Some("packets" | "bytes")) {
                    k += 2;
                }
            } else if inner[k].is("timeout") {
                timeout_ns = inner.get(k + 1).and_then(|x| expr::parse_nft_time(&x.s));
                k += 2;
            } else if let Some(Val::Int(c)) =
                expr::value(&inner[k].s, inner[k].quoted, KeyType::Other)
            {
                key.push(Sel::Const(c));
                k += 1;
            } else {
                // a stateful statement per element (limit, counter, quota)
                ok = false;
                break;
            }
        }
        if ok && !key.is_empty() {
            self.out.push(Expr::Update {
                set,
                key,
                timeout_ns,
                limit,
            });
        } else {
            let text = render(self.sl(i, end));
            self.unmodelled(text, false);
        }
        Ok(end)
    }

    /// `snat|dnat [ip|ip6] [prefix|addr . port] [to] SPEC [:PORTS] [flags]`,
    /// `masquerade [to :P[-Q]] [flags]`, `redirect [to [:]P[-Q]] [flags]`
    /// (parser_bison.y `nat_stmt_args`, `masq_stmt`, `redir_stmt_arg`).
    fn nat(&mut self, i: usize) -> Result<usize, NftError> {
        let kind = match self.w(i) {
            Some("dnat") => NatKind::Dnat,
            Some("snat") => NatKind::Snat,
            Some("masquerade") => NatKind::Masquerade,
            _ => NatKind::Redirect,
        };
        let mut j = i + 1;
        let mut explicit: Option<bool> = None;
        let mut special = false;
        if matches!(self.w(j), Some("ip" | "ip6"))
            && !self
                .w(j + 1)
                .is_some_and(|f| ["saddr", "daddr"].contains(&f))
        {
            explicit = Some(self.w(j) == Some("ip6"));
            j += 1;
        }
        let v6 = explicit == Some(true) || self.cx.family == "ip6";
        // `prefix to`, `addr . port to`, `addr . port`
        let prefix = self.w(j) == Some("prefix");
        if prefix {
            j += 1;
        }
        if self.w(j) == Some("addr") && self.w(j + 1) == Some(".") {
            j += 3;
        }
        let mut to = NatTo::None;
        let spec_start;
        if self.w(j) == Some("to") || matches!(kind, NatKind::Snat | NatKind::Dnat) {
            if self.w(j) == Some("to") {
                j += 1;
            }
            spec_start = j;
            let (t, k) = self.nat_spec(j, kind, v6)?;
            match t {
                Some(t) => to = t,
                None => special = true,
            }
            j = k;
        } else {
            spec_start = j;
        }
        let (mut random, mut fully_random, mut persistent) = (false, false, false);
        while let Some(f) = self.w(j) {
            match f {
                "random" => random = true,
                "fully-random" => fully_random = true,
                "persistent" => persistent = true,
                "netmap" => special = true,
                "," => {}
                _ => break,
            }
            j += 1;
        }
        if let (true, NatTo::Map { key, map }) = (prefix, &to) {
            to = NatTo::PrefixMap {
                key: key.clone(),
                map: map.clone(),
            };
        } else if prefix {
            special = true;
        }
        if special {
            let text = render(self.sl(i, j));
            let _ = spec_start;
            if v6 || self.sl(i, j).iter().any(|t| is_v6_literal(&t.s)) {
                self.ipv6_only(text);
            } else {
                self.unmodelled(text, false);
            }
            return Ok(j);
        }
        let family = match (&to, self.cx.family.as_str()) {
            _ if explicit.is_some() => explicit,
            (_, "ip") => Some(false),
            (_, "ip6") => Some(true),
            (NatTo::Range { lo, .. }, _) => Some(lo.is_ipv6()),
            _ => None,
        };
        self.out.push(Expr::Nat {
            kind,
            to,
            random,
            fully_random,
            persistent,
            v6: family,
        });
        Ok(j)
    }

    /// `tproxy [ip|ip6] to ADDR | to :PORT | to ADDR:PORT`
    /// (parser_bison.y `tproxy_stmt`); an IPv6 form is kept for IPv6 and
    /// breaks the rule for IPv4 packets; an address or port given by a map
    /// or an expression is kept unmodelled.
    fn tproxy(&mut self, i: usize) -> Result<usize, NftError> {
        let mut j = i + 1;
        let v6 = self.w(j) == Some("ip6");
        if matches!(self.w(j), Some("ip" | "ip6")) {
            j += 1;
        }
        if self.w(j) != Some("to") {
            return Err(self.unexpected(j));
        }
        let (to, end) = if v6 {
            (None, self.skip_args(j + 1))
        } else {
            match self.nat_spec(j + 1, NatKind::Dnat, false) {
                Ok(x) => x,
                // a port by `symhash` (the kernel's flow hash with a boot
                // key podpath cannot have): nft takes it, kept unmodelled
                Err(e) => {
                    let end = self.skip_args(j + 1);
                    if !self.sl(j + 1, end).iter().any(|t| t.s.contains("symhash")) {
                        return Err(e);
                    }
                    (None, end)
                }
            }
        };
        let one = |lo: u16, hi: u16| (lo == hi).then_some(lo);
        let tp = match to {
            Some(NatTo::Ports(lo, hi)) => one(lo, hi).map(|p| (None, Some(p))),
            Some(NatTo::Range {
                lo: std::net::IpAddr::V4(lo),
                hi,
                ports,
            }) if std::net::IpAddr::V4(lo) == hi => match ports {
                None => Some((Some(lo), None)),
                Some((a, b)) => one(a, b).map(|p| (Some(lo), Some(p))),
            },
            _ => None,
        };
        match tp {
            Some((addr, port)) => self.out.push(Expr::Tproxy { addr, port }),
            None if v6 => {
                let text = render(self.sl(i, end));
                self.cx.ipv6_kept.push(Unmodelled {
                    line: self.line,
                    construct: format!("nft: {text}"),
                    effect: "IPv6 only: kept for IPv6 (not evaluated yet); an IPv4 packet stops the rule, as nft_tproxy_eval does (NFT_BREAK)".into(),
                });
                self.out.push(Expr::Ipv6Break(text));
            }
            None => {
                let text = render(self.sl(i, end));
                self.unmodelled(text, false);
            }
        }
        Ok(end)
    }

    /// The address and port of a NAT statement at `j`.
    /// `None`: a form podpath keeps unmodelled (IPv6, a hashed key).
    fn nat_spec(
        &self,
        j: usize,
        kind: NatKind,
        v6: bool,
    ) -> Result<(Option<NatTo>, usize), NftError> {
        let addr_ty = if v6 { KeyType::Addr6 } else { KeyType::Addr4 };
        let t = self.t;
        if self.w(j) == Some("jhash") {
            // `jhash EXPR mod N [seed S] [offset O] map { ... }`
            let Some((num, k)) = expr::num_expr(t, j) else {
                return Ok((None, self.set_value_end(j)));
            };
            if self.w(k) != Some("map") {
                return Ok((None, k));
            }
            let lhs = [SelInfo {
                sel: None,
                ty: KeyType::Other,
                name: "jhash".into(),
            }];
            let (map, next) = self.map_ref(k + 1, &lhs, &[addr_ty, KeyType::Port])?;
            return Ok((Some(NatTo::NumMap { num, map }), next));
        }
        // a map: `SEL [. SEL] map ...`, `numgen ... map ...`
        if let Some((lhs, k)) = self.lhs(j) {
            if self.w(k) == Some("map") {
                let data = [addr_ty, KeyType::Port];
                let (map, next) = self.map_ref(k + 1, &lhs, &data)?;
                let key: Option<Vec<Sel>> = lhs.iter().map(|s| s.sel).collect();
                return Ok((key.map(|key| NatTo::Map { key, map }), next));
            }
            return Err(self.unexpected(k));
        }
        if self.w(j) == Some("numgen") {
            let (modulus, offset, random, k) =
                numgen_args(t, j).ok_or_else(|| self.unexpected(j + 1))?;
            if self.w(k) != Some("map") {
                // an address computed by numgen (`numgen inc mod 7 offset
                // 167772161`): kept unmodelled
                return Ok((None, k));
            }
            let lhs = [SelInfo {
                sel: None,
                ty: KeyType::Other,
                name: "numgen".into(),
            }];
            let (map, next) = self.map_ref(k + 1, &lhs, &[addr_ty, KeyType::Port])?;
            return Ok((
                Some(NatTo::NumgenMap {
                    modulus,
                    offset,
                    random,
                    map,
                }),
                next,
            ));
        }
        let s = t
            .get(j)
            .map(|x| x.s.clone())
            .ok_or_else(|| self.unexpected(j))?;
        let mut k = j + 1;
        // `:P` alone (redirect, masquerade), `A`, `A:P`, `A-B:P-Q`, `A : P`
        if s.strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && port_range(p).is_none())
        {
            // `to :tcp dport map { ... }`: a port chosen by a map
            return Ok((None, self.set_value_end(j + 1)));
        }
        let (addr, mut port) = if let Some(p) = s.strip_prefix(':') {
            ("", Some(p.to_string()))
        } else if s.matches(':').count() > 1 || s.starts_with('[') {
            // an IPv6 address: `fd00::1`, `[fd00::1]:80`, `fd00::1-fd00::9`
            return self.nat_spec6(&s, k);
        } else {
            match s.rsplit_once(':') {
                Some((a, p)) => (a, Some(p.to_string())),
                None => (s.as_str(), None),
            }
        };
        if port.is_none()
            && t.get(k).is_some_and(|x| x.is(":"))
            && t.get(k + 1).is_some_and(|x| port_range(&x.s).is_none())
        {
            // `A : numgen ... map { ... }`: a port chosen by an expression
            let addr = addr.parse::<Ipv4Addr>().ok();
            if let (Some(addr), Some((num, n))) = (addr, expr::num_expr(t, k + 1)) {
                if self.w(n) == Some("map") {
                    let lhs = [SelInfo {
                        sel: None,
                        ty: KeyType::Other,
                        name: "numgen".into(),
                    }];
                    let (map, next) = self.map_ref(n + 1, &lhs, &[KeyType::Port])?;
                    return Ok((Some(NatTo::AddrPortMap { addr, num, map }), next));
                }
            }
            return Ok((None, self.set_value_end(k + 1)));
        }
        if port.is_none() && t.get(k).is_some_and(|x| x.is(":")) {
            port = t.get(k + 1).map(|x| x.s.clone());
            k += 2;
        }
        let ports = match &port {
            Some(p) => Some(port_range(p).ok_or_else(|| {
                self.err(format!(
                    "Error: Could not parse internet network service: {p}"
                ))
            })?),
            None => None,
        };
        if addr.is_empty() {
            let (lo, hi) = ports.unwrap_or((0, 0));
            return Ok((Some(NatTo::Ports(lo, hi)), k));
        }
        if matches!(kind, NatKind::Redirect | NatKind::Masquerade) {
            // `redirect to 8080`: a port
            let (lo, hi) = port_range(addr).ok_or_else(|| self.unexpected(j))?;
            return Ok((Some(NatTo::Ports(lo, hi)), k));
        }
        let (lo, hi) = match addr.split_once('-') {
            Some((a, b)) => (a.parse::<Ipv4Addr>(), b.parse::<Ipv4Addr>()),
            None => (addr.parse(), addr.parse()),
        };
        match (lo, hi) {
            (Ok(lo), Ok(hi)) => Ok((
                Some(NatTo::Range {
                    lo: std::net::IpAddr::V4(lo),
                    hi: std::net::IpAddr::V4(hi),
                    ports,
                }),
                k,
            )),
            _ => Err(self.err(format!("Error: Could not parse IPv4 address: {addr}"))),
        }
    }
}

impl R<'_, '_> {
    /// An IPv6 NAT address (parser_bison.y `stmt_expr`): `A`, `A-B`,
    /// `[A]:P[-Q]`, `[A]-[B]:P`.
    fn nat_spec6(&self, s: &str, k: usize) -> Result<(Option<NatTo>, usize), NftError> {
        let bad = || self.err(format!("Error: Could not parse IPv6 address: {s}"));
        let (addrs, ports) = match s.rsplit_once("]:") {
            Some((a, p)) => (
                a.to_string() + "]",
                Some(port_range(p).ok_or_else(|| {
                    self.err(format!(
                        "Error: Could not parse internet network service: {p}"
                    ))
                })?),
            ),
            None => (s.to_string(), None),
        };
        let strip = |a: &str| a.trim_start_matches('[').trim_end_matches(']').to_string();
        let (lo, hi) = match addrs.split_once("]-[") {
            Some((a, b)) => (strip(a), strip(b)),
            None => match strip(&addrs).split_once('-') {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => (strip(&addrs), strip(&addrs)),
            },
        };
        let lo: std::net::Ipv6Addr = lo.parse().map_err(|_| bad())?;
        let hi: std::net::Ipv6Addr = hi.parse().map_err(|_| bad())?;
        Ok((
            Some(NatTo::Range {
                lo: lo.into(),
                hi: hi.into(),
                ports,
            }),
            k,
        ))
    }
}

fn is_punct_tok(x: &Tok) -> bool {
    !x.quoted && x.s.len() == 1 && "{},;@()|&^:\n".contains(x.s.as_str())
}

/// `P` or `P-Q`.
fn port_range(p: &str) -> Option<(u16, u16)> {
    match p.split_once('-') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => {
            let v = p.parse().ok()?;
            Some((v, v))
        }
    }
}

fn relop(s: &str) -> Option<Op> {
    Some(match s {
        "==" | "eq" => Op::Eq,
        "!=" | "ne" => Op::Ne,
        "!" => Op::Neg,
        "<" | "lt" => Op::Lt,
        ">" | "gt" => Op::Gt,
        "<=" | "le" => Op::Le,
        ">=" | "ge" => Op::Ge,
        _ => return None,
    })
}

pub use super::expr::numgen_args;

/// The header field `ip FIELD set` writes, for those podpath rewrites.
fn payload_field(name: &str) -> Option<PayloadField> {
    Some(match name {
        "ip saddr" => PayloadField::Saddr,
        "ip daddr" => PayloadField::Daddr,
        "ip ttl" => PayloadField::Ttl,
        "ip dscp" => PayloadField::Dscp,
        "ip ecn" => PayloadField::Ecn,
        _ => return None,
    })
}

/// The user or group names of a `meta skuid|skgid` comparison (values
/// nft's uid_type_parse/gid_type_parse, nftables src/meta.c, look up with
/// getpwnam/getgrnam when the script is loaded), and which database.
fn owner_names(sel: &[Sel], rhs: &Rhs) -> Option<(crate::net::names::Db, Vec<String>)> {
    let db = match sel {
        [Sel::Skuid] => crate::net::names::Db::Passwd,
        [Sel::Skgid] => crate::net::names::Db::Group,
        _ => return None,
    };
    let vals: Vec<&Val> = match rhs {
        Rhs::Vals(v) => v.iter().collect(),
        Rhs::Anon(els) => els.iter().flatten().collect(),
        _ => return None,
    };
    let mut names: Vec<String> = Vec::new();
    for v in vals {
        if let Val::Sym(n) | Val::Str(n) = v {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    (!names.is_empty()).then_some((db, names))
}

/// The ICMP code of `reject with FAMILY [type] CODE` (datatype.c
/// `icmp_code_tbl`, `icmpx_code_tbl`).
fn reject_code(fam: &str, code: &str) -> Option<RejectWith> {
    if matches!(fam, "icmpv6" | "icmp6") {
        // icmpv6_code_tbl
        return Some(RejectWith::Icmp6(match code {
            "no-route" => 0,
            "admin-prohibited" => 1,
            "addr-unreachable" => 3,
            "port-unreachable" => 4,
            "policy-fail" => 5,
            "reject-route" => 6,
            n => n.parse::<u8>().ok()?,
        }));
    }
    Some(match (fam, code) {
        (_, "port-unreachable") => RejectWith::IcmpPortUnreachable,
        (_, "host-unreachable" | "addr-unreachable") => RejectWith::IcmpHostUnreachable,
        ("icmpx", "no-route") | (_, "net-unreachable") => RejectWith::IcmpNetUnreachable,
        (_, "prot-unreachable") => RejectWith::IcmpProtoUnreachable,
        (_, "net-prohibited") => RejectWith::IcmpNetProhibited,
        (_, "host-prohibited") => RejectWith::IcmpHostProhibited,
        (_, "admin-prohibited" | "no-route" | "policy-fail" | "reject-route") => {
            RejectWith::IcmpAdminProhibited
        }
        (_, n) => match n.parse::<u8>().ok()? {
            0 => RejectWith::IcmpNetUnreachable,
            1 => RejectWith::IcmpHostUnreachable,
            2 => RejectWith::IcmpProtoUnreachable,
            3 => RejectWith::IcmpPortUnreachable,
            9 => RejectWith::IcmpNetProhibited,
            10 => RejectWith::IcmpHostProhibited,
            _ => RejectWith::IcmpAdminProhibited,
        },
    })
}

fn bytes_unit(s: &str) -> Option<u64> {
    Some(match s {
        "bytes" => 1,
        "kbytes" => 1024,
        "mbytes" => 1024 * 1024,
        _ => return None,
    })
}

fn time_unit(s: &str) -> Option<u64> {
    Some(match s {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 604_800,
        _ => return None,
    })
}

/// `limit_args` at `j` (after `limit rate`): the statement and the index
/// after it.
pub fn limit_args(t: &[Tok], mut j: usize, line: usize) -> Result<(Expr, usize), NftError> {
    let err = |m: &str| NftError {
        line,
        message: m.to_string(),
    };
    let mut over = false;
    if matches!(w(t, j), Some("over" | "until")) {
        over = w(t, j) == Some("over");
        j += 1;
    }
    // `N/UNIT` or `N BYTES/UNIT` (the scanner splits `/`): rebuild words
    let mut words: Vec<String> = Vec::new();
    while let Some(x) = w(t, j) {
        if x == "burst"
            || STMT_WORDS.contains(&x)
            || x == ","
            || x == "}"
            || x == ";"
            || x == "comment"
        {
            break;
        }
        words.push(x.to_string());
        j += 1;
        if words.join(" ").contains('/') && !words.last().is_some_and(|l| l.ends_with('/')) {
            break;
        }
    }
    // `N/UNIT`, `N BYTES/UNIT`, `1025bytes/second`, `1025 bytes / second`
    let text: String = words.concat();
    let (num, unit) = text
        .split_once('/')
        .ok_or_else(|| err("syntax error, unexpected newline, expecting '/'"))?;
    let unit = time_unit(unit).ok_or_else(|| err(&format!("syntax error, unexpected {unit}")))?;
    let (n, u) =
        split_num(num).ok_or_else(|| err("syntax error, unexpected string, expecting number"))?;
    let (rate, bytes) = if u.is_empty() {
        (n, false)
    } else {
        let m = bytes_unit(u).ok_or_else(|| err(&format!("syntax error, unexpected {u}")))?;
        (n.saturating_mul(m), true)
    };
    let mut burst = if bytes { 0 } else { 5 };
    if w(t, j) == Some("burst") {
        // `burst N packets`, `burst N BYTES`, `burst 512bytes`
        let first = w(t, j + 1).unwrap_or("");
        let (b, mut bu) = split_num(first).ok_or_else(|| err("syntax error, expecting number"))?;
        j += 2;
        if bu.is_empty() {
            if let Some(u) = w(t, j).filter(|u| *u == "packets" || bytes_unit(u).is_some()) {
                bu = u;
                j += 1;
            }
        }
        // parser_bison.y limit_stmt: a packet rate takes `burst N
        // packets`, a byte rate `burst N BYTES`
        let byte_burst = bytes_unit(bu).is_some();
        if !bu.is_empty() && byte_burst != bytes {
            return Err(err(&format!("syntax error, unexpected {bu}")));
        }
        burst = match bytes_unit(bu) {
            Some(m) => b.saturating_mul(m),
            None => b,
        };
        if !bytes && burst == 0 {
            return Err(err("packet limit burst must be > 0"));
        }
    }
    if rate == 0 {
        return Err(err("Error: limit rate must be > 0"));
    }
    Ok((
        Expr::Limit {
            over,
            rate,
            per_ns: unit * 1_000_000_000,
            burst,
            bytes,
            id: 0,
        },
        j,
    ))
}

/// `1025bytes` → (1025, "bytes"); `5` → (5, "").
fn split_num(s: &str) -> Option<(u64, &str)> {
    let k = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    Some((s[..k].parse().ok()?, &s[k..]))
}

/// `quota_args` at `j`: `[over|until] N UNIT [used N UNIT]`.
pub fn quota_args(t: &[Tok], mut j: usize, line: usize) -> Result<(Expr, usize), NftError> {
    let err = |m: String| NftError { line, message: m };
    let mut over = false;
    if matches!(w(t, j), Some("over" | "until")) {
        over = w(t, j) == Some("over");
        j += 1;
    }
    let n: u64 = w(t, j)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| err("syntax error, expecting number".into()))?;
    let u = w(t, j + 1)
        .and_then(bytes_unit)
        .ok_or_else(|| err("syntax error, expecting bytes unit".into()))?;
    j += 2;
    let mut used = 0;
    if w(t, j) == Some("used") {
        let m: u64 = w(t, j + 1).and_then(|n| n.parse().ok()).unwrap_or(0);
        used = m.saturating_mul(w(t, j + 2).and_then(bytes_unit).unwrap_or(1));
        j += 3;
    }
    Ok((
        Expr::Quota {
            over,
            bytes: n.saturating_mul(u),
            used,
            id: 0,
        },
        j,
    ))
}

/// The effect of an IPv6-only statement kept for IPv6.
pub const IPV6_KEPT: &str =
    "IPv6 only: kept for IPv6 (not evaluated yet); an IPv4 packet passes over it, as the kernel's nft_nat_inet_eval does";

/// An IPv6 address or prefix token (`feed::1`, `2001:db8::/64`).
fn is_v6_literal(s: &str) -> bool {
    // `[fd49::1]:80`: the address in brackets
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .unwrap_or(s);
    let a = s.split('/').next().unwrap_or(s);
    a.contains(':') && a.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `synproxy_arg`s (parser_bison.y: `mss NUM`, `wscale NUM`,
/// `timestamp`, `sack-perm`, each setting its NF_SYNPROXY_OPT_ flag), for
/// the statement and for a named `synproxy` object's block; the index
/// after them.
pub fn synproxy_args(
    t: &[Tok],
    mut j: usize,
) -> (crate::net::netfilter::synproxy::SynproxyInfo, usize) {
    use crate::net::netfilter::synproxy as sp;
    let mut info = sp::SynproxyInfo::default();
    while let Some(word) = w(t, j) {
        let num = || w(t, j + 1).and_then(|v| v.parse::<u16>().ok());
        match word {
            "mss" => {
                info.mss = num().unwrap_or(0);
                info.options |= sp::OPT_MSS;
                j += 2;
            }
            "wscale" => {
                info.wscale = num().unwrap_or(0).min(14) as u8;
                info.options |= sp::OPT_WSCALE;
                j += 2;
            }
            "timestamp" => {
                info.options |= sp::OPT_TIMESTAMP;
                j += 1;
            }
            "sack-perm" => {
                info.options |= sp::OPT_SACK_PERM;
                j += 1;
            }
            _ => break,
        }
    }
    (info, j.min(t.len()))
}

/// The width in bits of a header field or key nft compares numbers with
/// (proto.c `proto_ip`, `proto_ip6`, `proto_tcp`, `proto_udp`,
/// `proto_icmp`, `proto_eth`, `proto_vlan` templates; ct.c `ct_templates`;
/// socket.c `socket_templates`).
fn field_bits(name: &str) -> Option<u32> {
    Some(match name {
        "ip version" | "ip hdrlength" | "ip6 version" | "tcp doff" | "tcp reserved" => 4,
        "ip dscp" | "ip6 dscp" => 6,
        "ip ecn" | "ip6 ecn" => 2,
        "ip ttl" | "ip protocol" | "ip6 nexthdr" | "ip6 hoplimit" | "icmp type" | "icmp code"
        | "icmpv6 type" | "icmpv6 code" => 8,
        "ip length" | "ip id" | "ip checksum" | "ip6 length" | "tcp window" | "tcp checksum"
        | "tcp urgptr" | "udp length" | "udp checksum" | "icmp checksum" | "icmp id"
        | "icmp sequence" | "icmp mtu" | "ether type" | "ct zone" | "tcp sport" | "tcp dport"
        | "udp sport" | "udp dport" | "th sport" | "th dport" | "sctp sport" | "sctp dport"
        | "dccp sport" | "dccp dport" | "udplite sport" | "udplite dport" => 16,
        "ip6 flowlabel" => 20,
        "vlan id" => 12,
        "vlan pcp" => 3,
        "socket transparent" | "socket wildcard" | "vlan cfi" | "vlan dei" => 1,
        _ => return None,
    })
}

/// The interval a single map key covers: (address space, low, high).
fn key_interval(v: &Val) -> Option<(u8, u128, u128)> {
    Some(match v {
        Val::Int(x) => (0, u128::from(*x), u128::from(*x)),
        Val::Range(a, b) => (0, u128::from(*a), u128::from(*b)),
        Val::Net(n) => (
            1,
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        Val::V6(n) => (2, u128::from(n.network()), u128::from(n.broadcast())),
        Val::V6Range(a, b) => (2, u128::from(*a), u128::from(*b)),
        _ => return None,
    })
}

/// segtree.c / evaluate.c: the elements of an anonymous map (`vmap {
/// ... }`, `map { ... }`) whose keys are intervals may not overlap (nft
/// merges a plain set's, not a map's): "conflicting intervals
/// specified". Single-field keys only; a range and an address or a
/// number as a Range of numbers share a space.
fn interval_conflict(els: &[super::Element]) -> bool {
    let mut iv: Vec<(u8, u128, u128)> = els
        .iter()
        .filter_map(|(k, _)| match k.as_slice() {
            [v] => key_interval(v),
            _ => None,
        })
        .map(|(space, lo, hi)| (if space == 1 { 0 } else { space }, lo, hi))
        .collect();
    if !iv.iter().any(|(_, lo, hi)| lo < hi) {
        return false;
    }
    iv.sort();
    iv.windows(2)
        .any(|p| p[0].0 == p[1].0 && p[1].1 <= p[0].2 && (p[0].1 < p[0].2 || p[1].1 < p[1].2))
}
