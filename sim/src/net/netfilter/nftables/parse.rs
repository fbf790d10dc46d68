//! nft text into the [`Nft`] model: `nft -f` commands and `nft list
//! ruleset` blocks, with errors naming the line.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::*;
use crate::net::netfilter::ctbits;

#[derive(Clone, Debug, PartialEq)]
struct Tok {
    s: String,
    quoted: bool,
    line: usize,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, NftError> {
    let mut out = Vec::new();
    for (li, raw) in text.lines().enumerate() {
        let line = li + 1;
        let mut chars = raw.char_indices().peekable();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '#' {
                break;
            } else if c == '"' {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                for (_, ch) in chars.by_ref() {
                    if ch == '"' {
                        closed = true;
                        break;
                    }
                    s.push(ch);
                }
                if !closed {
                    return Err(NftError {
                        line,
                        message: format!("unterminated string at column {}", i + 1),
                    });
                }
                out.push(Tok {
                    s,
                    quoted: true,
                    line,
                });
            } else if "{},;@".contains(c) {
                chars.next();
                out.push(Tok {
                    s: c.to_string(),
                    quoted: false,
                    line,
                });
            } else {
                let mut s = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if ch.is_whitespace() || "{},;@\"".contains(ch) {
                        break;
                    }
                    s.push(ch);
                    chars.next();
                }
                out.push(Tok {
                    s,
                    quoted: false,
                    line,
                });
            }
        }
        out.push(Tok {
            s: "\n".into(),
            quoted: false,
            line,
        });
    }
    Ok(out)
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&str> {
        self.t.get(self.i).map(|t| t.s.as_str())
    }
    fn line(&self) -> usize {
        self.t
            .get(self.i)
            .or(self.t.last())
            .map(|t| t.line)
            .unwrap_or(0)
    }
    fn err<T>(&self, m: String) -> Result<T, NftError> {
        Err(NftError {
            line: self.line(),
            message: m,
        })
    }
    fn next(&mut self) -> Option<String> {
        let t = self.t.get(self.i)?.s.clone();
        self.i += 1;
        Some(t)
    }
    fn word(&mut self, what: &str) -> Result<String, NftError> {
        match self.peek() {
            Some(s) if s != "\n" && s != "{" && s != "}" && s != ";" && s != "," => {
                Ok(self.next().expect("peeked"))
            }
            Some(s) => {
                let s = if s == "\n" { "end of line" } else { s }.to_string();
                self.err(format!("expected {what}, found '{s}'"))
            }
            None => self.err(format!("expected {what}, found end of text")),
        }
    }
    fn expect(&mut self, s: &str) -> Result<(), NftError> {
        match self.peek() {
            Some(x) if x == s => {
                self.i += 1;
                Ok(())
            }
            other => {
                let o = match other {
                    Some("\n") => "end of line".to_string(),
                    Some(x) => format!("'{x}'"),
                    None => "end of text".into(),
                };
                self.err(format!("expected '{s}', found {o}"))
            }
        }
    }
    fn eat(&mut self, s: &str) -> bool {
        if self.peek() == Some(s) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_nl(&mut self) {
        while self.peek() == Some("\n") || self.peek() == Some(";") {
            self.i += 1;
        }
    }
    /// Tokens up to the end of the line (or a closing brace at depth 0).
    fn until_eol(&mut self) -> Vec<Tok> {
        let mut v = Vec::new();
        let mut depth = 0;
        while let Some(t) = self.t.get(self.i) {
            if t.s == "\n" && depth == 0 {
                break;
            }
            if t.s == "}" && !t.quoted {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            if t.s == "{" && !t.quoted {
                depth += 1;
            }
            if t.s != "\n" {
                v.push(t.clone());
            }
            self.i += 1;
        }
        v
    }
}

pub(crate) fn priority(words: &[String]) -> Option<i32> {
    let base = |w: &str| -> Option<i32> {
        Some(match w {
            "raw" => -300,
            "mangle" => -150,
            "dstnat" => -100,
            "filter" => 0,
            "security" => 50,
            "srcnat" => 100,
            n => n.parse().ok()?,
        })
    };
    let joined = words.join(" ");
    let joined = joined.replace(' ', "");
    // "dstnat-10", "dstnat+10", "-110"
    if let Ok(p) = joined.parse::<i32>() {
        return Some(p);
    }
    for (i, ch) in joined.char_indices().skip(1) {
        if ch == '-' || ch == '+' {
            let b = base(&joined[..i])?;
            let d: i32 = joined[i + 1..].parse().ok()?;
            return Some(if ch == '-' { b - d } else { b + d });
        }
    }
    base(&joined)
}

fn parse_val(s: &str) -> Option<Val> {
    if let Ok(a) = s.parse::<Ipv4Addr>() {
        return Some(Val::Net(Ipv4Net::new(a, 32).ok()?));
    }
    if let Some((a, p)) = s.split_once('/') {
        let n = Ipv4Net::new(a.parse().ok()?, p.parse().ok()?).ok()?;
        return Some(Val::Net(n.trunc()));
    }
    Some(Val::Int(match s {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "sctp" => 132,
        "new" => ctbits::NEW as u32,
        "established" => ctbits::ESTABLISHED as u32,
        "related" => ctbits::RELATED as u32,
        "invalid" => ctbits::INVALID as u32,
        "untracked" => ctbits::UNTRACKED as u32,
        _ => {
            if let Some(h) = s.strip_prefix("0x") {
                u32::from_str_radix(h, 16).ok()?
            } else {
                s.parse().ok()?
            }
        }
    }))
}

/// A concatenated value `a . b . c` from tokens.
fn parse_concat(toks: &[String]) -> Option<Vec<Val>> {
    let mut out = Vec::new();
    let mut want = true;
    for t in toks {
        if t == "." {
            if want {
                return None;
            }
            want = true;
            continue;
        }
        if !want {
            return None;
        }
        out.push(parse_val(t)?);
        want = false;
    }
    (!want && !out.is_empty()).then_some(out)
}

fn parse_verdict(w: &[String]) -> Option<NVerdict> {
    Some(match w {
        [a] if a == "accept" => NVerdict::Accept,
        [a] if a == "drop" => NVerdict::Drop,
        [a] if a == "reject" => NVerdict::Reject,
        [a] if a == "return" => NVerdict::Return,
        [a] if a == "continue" => NVerdict::Continue,
        [a, c] if a == "jump" => NVerdict::Jump(c.clone()),
        [a, c] if a == "goto" => NVerdict::Goto(c.clone()),
        _ => return None,
    })
}

/// Elements inside `{ ... }` (the opening brace already consumed): a list
/// of keys, or of `key : verdict` for maps; `comment "x"` is skipped.
fn parse_elements(p: &mut P, map: bool) -> Result<Vec<Element>, NftError> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut data: Option<Vec<String>> = None;
    let line = p.line();
    let flush = |cur: &mut Vec<String>,
                 data: &mut Option<Vec<String>>,
                 out: &mut Vec<(Vec<Val>, Option<NVerdict>)>|
     -> Result<(), NftError> {
        if cur.is_empty() && data.is_none() {
            return Ok(());
        }
        let key = parse_concat(cur).ok_or_else(|| NftError {
            line,
            message: format!("bad element key '{}'", cur.join(" ")),
        })?;
        let v = match data.take() {
            Some(d) => Some(parse_verdict(&d).ok_or_else(|| NftError {
                line,
                message: format!("bad verdict '{}'", d.join(" ")),
            })?),
            None => None,
        };
        if map && v.is_none() {
            return Err(NftError {
                line,
                message: format!("map element '{}' needs ': VERDICT'", cur.join(" ")),
            });
        }
        out.push((key, v));
        cur.clear();
        Ok(())
    };
    loop {
        let Some(t) = p.t.get(p.i).cloned() else {
            return p.err("expected '}' closing the elements".into());
        };
        p.i += 1;
        match t.s.as_str() {
            "}" if !t.quoted => {
                flush(&mut cur, &mut data, &mut out)?;
                return Ok(out);
            }
            "," if !t.quoted => flush(&mut cur, &mut data, &mut out)?,
            "\n" => {}
            "comment" if !t.quoted => {
                p.i += 1; // the string
            }
            ":" if !t.quoted => data = Some(Vec::new()),
            _ => match data.as_mut() {
                Some(d) => d.push(t.s.clone()),
                None => cur.push(t.s.clone()),
            },
        }
    }
}

fn sel_of(w: &[String]) -> Option<(Vec<Sel>, usize)> {
    // returns the selector and how many words it took
    let one = |i: usize| -> Option<(Sel, usize)> {
        let a = w.get(i)?.as_str();
        let b = w.get(i + 1).map(|s| s.as_str());
        Some(match (a, b) {
            ("ip", Some("saddr")) => (Sel::Saddr, 2),
            ("ip", Some("daddr")) => (Sel::Daddr, 2),
            ("meta", Some("l4proto")) => (Sel::L4proto, 2),
            ("meta", Some("mark")) => (Sel::Mark, 2),
            ("meta", Some("iifname")) => (Sel::Iif, 2),
            ("meta", Some("oifname")) => (Sel::Oif, 2),
            ("th" | "tcp" | "udp" | "sctp", Some("dport")) => (Sel::Dport, 2),
            ("th" | "tcp" | "udp" | "sctp", Some("sport")) => (Sel::Sport, 2),
            ("ct", Some("state")) => (Sel::CtState, 2),
            ("ct", Some("mark")) => (Sel::CtMark, 2),
            ("iifname", _) => (Sel::Iif, 1),
            ("oifname", _) => (Sel::Oif, 1),
            ("mark", _) => (Sel::Mark, 1),
            _ => return None,
        })
    };
    let mut sels = Vec::new();
    let mut i = 0;
    loop {
        let (s, n) = one(i)?;
        sels.push(s);
        i += n;
        if w.get(i).map(|s| s.as_str()) == Some(".") && one(i + 1).is_some() {
            i += 1;
            continue;
        }
        break;
    }
    Some((sels, i))
}

/// One rule's words, as nft's parser (`parser_bison.y`) reads a `rule`
/// line: the words, which of them were quoted, and the line for errors.
struct RuleWords<'a> {
    toks: &'a [Tok],
    w: Vec<String>,
    quoted: Vec<bool>,
    line: usize,
}

impl RuleWords<'_> {
    /// An error on this rule's line.
    fn err(&self, m: String) -> NftError {
        NftError {
            line: self.line,
            message: m,
        }
    }

    /// `w[i] == "{"`: the tokens to the matching `}` and the index after it.
    fn group(&self, i: usize) -> Result<(Vec<Tok>, usize), NftError> {
        let toks = self.toks;
        let mut depth = 0;
        for j in i..toks.len() {
            if !toks[j].quoted && toks[j].s == "{" {
                depth += 1;
            } else if !toks[j].quoted && toks[j].s == "}" {
                depth -= 1;
                if depth == 0 {
                    return Ok((toks[i + 1..j].to_vec(), j + 1));
                }
            }
        }
        Err(NftError {
            line: self.line,
            message: "unbalanced '{'".into(),
        })
    }

    /// The elements of a brace group's inner tokens (a set, or a map with
    /// `map`).
    fn elements_of(&self, inner: &[Tok], map: bool) -> Result<Vec<Element>, NftError> {
        let mut v = inner.to_vec();
        v.push(Tok {
            s: "}".into(),
            quoted: false,
            line: self.line,
        });
        let mut p = P { t: v, i: 0 };
        parse_elements(&mut p, map)
    }
}

/// Parses one rule's statements.
fn parse_rule(toks: &[Tok], line: usize) -> Result<Vec<Expr>, NftError> {
    // words, with brace groups kept as their own tokens
    let r = RuleWords {
        toks,
        w: toks.iter().map(|t| t.s.clone()).collect(),
        quoted: toks.iter().map(|t| t.quoted).collect(),
        line,
    };
    let w = &r.w;
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let rest = &w[i..];
        i = match rest[0].as_str() {
            "counter" => {
                out.push(Expr::Nop("counter".into()));
                i += 1;
                // "counter packets N bytes M"
                while i + 1 < w.len() && (w[i] == "packets" || w[i] == "bytes") {
                    i += 2;
                }
                i
            }
            "comment" if i + 1 < w.len() && r.quoted[i + 1] => i + 2,
            "log" => {
                out.push(Expr::Nop("log".into()));
                i += 1;
                if i + 1 < w.len() && w[i] == "prefix" {
                    i += 2;
                }
                i
            }
            "notrack" => {
                out.push(Expr::Notrack);
                i + 1
            }
            "accept" | "drop" | "return" | "continue" | "jump" | "goto" => {
                r.verdict_stmt(i, &mut out)?
            }
            "reject" => r.reject_stmt(i, &mut out),
            "dnat" | "snat" => r.nat_stmt(i, &mut out)?,
            "masquerade" => r.masq_stmt(i, &mut out),
            "update" | "add" if rest.get(1).map(|s| s.as_str()) == Some("@") => {
                r.set_stmt(i, &mut out)?
            }
            "numgen" => r.numgen_expr(i, &mut out)?,
            "fib" => r.fib_expr(i, &mut out)?,
            _ => {
                // a comparison, a vmap lookup or `mark set ...`
                if rest.len() >= 3
                    && (rest[0] == "mark" || rest[0] == "meta")
                    && rest.contains(&"set".to_string())
                {
                    r.mark_set_stmt(i, &mut out)?
                } else {
                    r.match_stmt(i, &mut out)?
                }
            }
        };
    }
    Ok(out)
}

impl RuleWords<'_> {
    /// `verdict_stmt`: `accept`, `drop`, `return`, `continue`,
    /// `jump CHAIN`, `goto CHAIN`.
    fn verdict_stmt(&self, i: usize, out: &mut Vec<Expr>) -> Result<usize, NftError> {
        let rest = &self.w[i..];
        if rest[0] != "jump" && rest[0] != "goto" {
            out.push(Expr::Verdict(parse_verdict(&rest[..1]).expect("verdict")));
            return Ok(i + 1);
        }
        let c = rest
            .get(1)
            .ok_or_else(|| self.err(format!("'{}' needs a chain", rest[0])))?;
        out.push(Expr::Verdict(
            parse_verdict(&[rest[0].clone(), c.clone()]).expect("verdict"),
        ));
        Ok(i + 2)
    }

    /// `reject_stmt`: `reject [with icmp type X | tcp reset]` (the kind is
    /// not kept).
    fn reject_stmt(&self, mut i: usize, out: &mut Vec<Expr>) -> usize {
        let w = &self.w;
        out.push(Expr::Verdict(NVerdict::Reject));
        i += 1;
        if i < w.len() && w[i] == "with" {
            // reject with icmp type X / tcp reset
            i += 1;
            while i < w.len() && w[i] != "comment" {
                i += 1;
            }
        }
        i
    }

    /// `nat_stmt`: `dnat|snat [ip] to ADDR[:PORT]`.
    fn nat_stmt(&self, i: usize, out: &mut Vec<Expr>) -> Result<usize, NftError> {
        let w = &self.w;
        let rest = &w[i..];
        let mut j = i + 1;
        if w.get(j).map(|s| s.as_str()) == Some("ip") {
            j += 1;
        }
        if w.get(j).map(|s| s.as_str()) != Some("to") {
            return Err(self.err(format!("'{}' needs 'to ADDR[:PORT]'", rest[0])));
        }
        let a = w
            .get(j + 1)
            .ok_or_else(|| self.err("'to' needs an address".into()))?;
        let (addr, port) = match a.split_once(':') {
            Some((x, p)) => (x, Some(p)),
            None => (a.as_str(), None),
        };
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| self.err(format!("bad address '{a}' in {}", rest[0])))?;
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| self.err(format!("bad port in '{a}'")))?,
            ),
            None => None,
        };
        out.push(if rest[0] == "dnat" {
            Expr::Dnat { addr, port }
        } else {
            Expr::Snat { addr }
        });
        Ok(j + 2)
    }

    /// `masq_stmt`: `masquerade [random] [fully-random] [persistent]`.
    fn masq_stmt(&self, mut i: usize, out: &mut Vec<Expr>) -> usize {
        let w = &self.w;
        let mut fr = false;
        let mut r = false;
        i += 1;
        while i < w.len() && (w[i] == "fully-random" || w[i] == "random" || w[i] == "persistent") {
            fr |= w[i] == "fully-random";
            r |= w[i] == "random";
            i += 1;
        }
        out.push(Expr::Masquerade {
            fully_random: fr,
            random: r,
        });
        i
    }

    /// `set_stmt`: `update|add @SET { ip saddr }`.
    fn set_stmt(&self, i: usize, out: &mut Vec<Expr>) -> Result<usize, NftError> {
        let rest = &self.w[i..];
        let set = rest
            .get(2)
            .ok_or_else(|| self.err("'update @' needs a set name".into()))?
            .clone();
        if rest.get(3).map(|s| s.as_str()) != Some("{") {
            return Err(self.err(format!("'update @{set}' needs '{{ ip saddr }}'")));
        }
        let (inner, next) = self.group(i + 3)?;
        let inner: Vec<String> = inner.iter().map(|t| t.s.clone()).collect();
        if inner != ["ip", "saddr"] {
            return Err(self.err(format!(
                "'update @{set} {{ {} }}': only '{{ ip saddr }}' is modelled",
                inner.join(" ")
            )));
        }
        out.push(Expr::Update { set });
        Ok(next)
    }

    /// `numgen_expr` in a verdict map: `numgen random mod N vmap { ... }`.
    fn numgen_expr(&self, i: usize, out: &mut Vec<Expr>) -> Result<usize, NftError> {
        let rest = &self.w[i..];
        // numgen random mod N vmap { ... }
        if rest.get(1).map(|s| s.as_str()) != Some("random")
            || rest.get(2).map(|s| s.as_str()) != Some("mod")
        {
            return Err(self.err("expected 'numgen random mod N'".into()));
        }
        let n: u32 = rest
            .get(3)
            .and_then(|s| s.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| self.err("'numgen random mod' needs a positive number".into()))?;
        if rest.get(4).map(|s| s.as_str()) != Some("vmap")
            || rest.get(5).map(|s| s.as_str()) != Some("{")
        {
            return Err(self.err("expected 'vmap { N : VERDICT, ... }' after numgen".into()));
        }
        let (inner, next) = self.group(i + 5)?;
        let els = self.elements_of(&inner, true)?;
        let mut map = Vec::new();
        for (k, v) in els {
            match (k.as_slice(), v) {
                ([Val::Int(x)], Some(v)) => map.push((*x, v)),
                _ => return Err(self.err("numgen vmap keys must be numbers".into())),
            }
        }
        out.push(Expr::Numgen { modulus: n, map });
        Ok(next)
    }

    /// `fib_expr` compared: `fib saddr|daddr type [!=] local`.
    fn fib_expr(&self, i: usize, out: &mut Vec<Expr>) -> Result<usize, NftError> {
        let rest = &self.w[i..];
        // fib saddr|daddr type local
        let which = rest.get(1).map(|s| s.as_str());
        let ok = rest.get(2).map(|s| s.as_str()) == Some("type");
        let (ne, t) = match rest.get(3).map(|s| s.as_str()) {
            Some("!=") => (true, rest.get(4)),
            _ => (false, rest.get(3)),
        };
        if !ok || t.map(|s| s.as_str()) != Some("local") {
            return Err(self.err("expected 'fib saddr|daddr type [!=] local'".into()));
        }
        let sel = match which {
            Some("saddr") => Sel::FibSaddrLocal,
            Some("daddr") => Sel::FibDaddrLocal,
            _ => return Err(self.err("expected 'fib saddr' or 'fib daddr'".into())),
        };
        out.push(Expr::Cmp {
            sel: vec![sel],
            ne,
            rhs: Rhs::Vals(vec![Val::Int(1)]),
        });
        Ok(i + if ne { 5 } else { 4 })
    }

    /// `meta_stmt` setting the mark: `mark set mark or|xor|and V`,
    /// `meta mark set V`.
    fn mark_set_stmt(&self, i: usize, out: &mut Vec<Expr>) -> Result<usize, NftError> {
        let rest = &self.w[i..];
        // mark set mark or|xor|and V  /  meta mark set V
        let si = rest.iter().position(|x| x == "set").expect("set");
        let after = &rest[si + 1..];
        // `mark set mark or V` (nft -f) / `meta mark set meta mark | V`
        // (nft list ruleset)
        let opc = |o: &str| match o {
            "or" | "|" => Some('o'),
            "xor" | "^" => Some('x'),
            "and" | "&" => Some('a'),
            _ => None,
        };
        let (op, v, used) = match after {
            [m, op, v, ..] if m == "mark" && opc(op).is_some() => (opc(op).expect("checked"), v, 3),
            [m, mm, op, v, ..] if m == "meta" && mm == "mark" && opc(op).is_some() => {
                (opc(op).expect("checked"), v, 4)
            }
            [v, ..] => ('=', v, 1),
            [] => return Err(self.err("'mark set' needs a value".into())),
        };
        let value = match parse_val(v) {
            Some(Val::Int(x)) => x,
            _ => return Err(self.err(format!("bad mark value '{v}'"))),
        };
        out.push(Expr::MarkSet { op, value });
        Ok(i + si + 1 + used)
    }

    /// `match_stmt`: a selector (with `mark and M`), then `==`/`!=` and a
    /// right-hand side, or a `vmap` lookup.
    fn match_stmt(&self, i: usize, out: &mut Vec<Expr>) -> Result<usize, NftError> {
        let w = &self.w;
        let rest = &w[i..];
        let Some((mut sel, n)) = sel_of(rest) else {
            return Err(self.err(format!("unsupported expression at '{}'", rest.join(" "))));
        };
        let mut j = i + n;
        // mark and 0x4000 == 0
        if sel == [Sel::Mark] && matches!(w.get(j).map(|s| s.as_str()), Some("and" | "&")) {
            let m = w
                .get(j + 1)
                .and_then(|s| parse_val(s))
                .and_then(|v| if let Val::Int(x) = v { Some(x) } else { None })
                .ok_or_else(|| self.err("'mark and' needs a number".into()))?;
            sel = vec![Sel::MarkAnd(m)];
            j += 2;
        }
        let mut ne = false;
        match w.get(j).map(|s| s.as_str()) {
            Some("==") => j += 1,
            Some("!=") => {
                ne = true;
                j += 1
            }
            Some("vmap") => return self.vmap_expr(sel, j, out),
            _ => {}
        }
        let (rhs, j) = self.rhs_expr(&sel, i, j)?;
        out.push(Expr::Cmp { sel, ne, rhs });
        Ok(j)
    }

    /// `map_expr` of verdicts: `SEL vmap @MAP` or `SEL vmap { ... }`.
    fn vmap_expr(
        &self,
        sel: Vec<Sel>,
        mut j: usize,
        out: &mut Vec<Expr>,
    ) -> Result<usize, NftError> {
        let w = &self.w;
        let map = match w.get(j + 1).map(|s| s.as_str()) {
            Some("@") => {
                let m = w
                    .get(j + 2)
                    .ok_or_else(|| self.err("'vmap @' needs a map name".into()))?;
                j += 3;
                MapRef::Named(m.clone())
            }
            Some("{") => {
                let (inner, next) = self.group(j + 1)?;
                let els = self.elements_of(&inner, true)?;
                j = next;
                MapRef::Anon(els.into_iter().map(|(k, v)| (k, v.expect("map"))).collect())
            }
            _ => return Err(self.err("'vmap' needs '@MAP' or '{ ... }'".into())),
        };
        out.push(Expr::Vmap { sel, map });
        Ok(j)
    }

    /// The right-hand side of a comparison starting at `j` (the selector's
    /// words start at `i`): `@SET`, `{ ... }`, or values; and the index
    /// after it.
    fn rhs_expr(&self, sel: &[Sel], i: usize, mut j: usize) -> Result<(Rhs, usize), NftError> {
        let w = &self.w;
        let rhs = match w.get(j).map(|s| s.as_str()) {
            Some("@") => {
                let m = w
                    .get(j + 1)
                    .ok_or_else(|| self.err("'@' needs a set name".into()))?
                    .clone();
                j += 2;
                Rhs::Named(m)
            }
            Some("{") => {
                let (inner, next) = self.group(j)?;
                let mut els: Vec<Vec<Val>> = self
                    .elements_of(&inner, false)?
                    .into_iter()
                    .map(|e| e.0)
                    .collect();
                j = next;
                // nft itself stores `{ x }` as the value x
                if els.len() == 1 {
                    Rhs::Vals(els.remove(0))
                } else {
                    Rhs::Anon(els)
                }
            }
            Some(_) => {
                let (rhs, k) = self.rhs_values(sel, i, j)?;
                j = k;
                rhs
            }
            None => return Err(self.err(format!("'{}' needs a value", w[i..j].join(" ")))),
        };
        Ok((rhs, j))
    }

    /// Inline values at `j`: one value, or a concatenation, or a comma list
    /// of ct states; an interface name is one word.
    fn rhs_values(&self, sel: &[Sel], i: usize, j: usize) -> Result<(Rhs, usize), NftError> {
        let w = &self.w;
        // one value, or a concatenation, or a comma list
        // of ct states
        let mut vals = Vec::new();
        let mut k = j;
        while k < w.len() {
            let tok = &w[k];
            if matches!(sel, [Sel::Iif] | [Sel::Oif]) {
                vals.push(tok.clone());
                k += 1;
                break;
            }
            if parse_val(tok).is_none() && tok != "." {
                break;
            }
            vals.push(tok.clone());
            k += 1;
            if sel == [Sel::CtState] && w.get(k).map(|s| s.as_str()) == Some(",") {
                k += 1;
                continue;
            }
            if w.get(k).map(|s| s.as_str()) != Some(".") && sel.len() == 1 && sel != [Sel::CtState]
            {
                break;
            }
        }
        if vals.is_empty() {
            return Err(self.err(format!("expected a value after '{}'", w[i..j].join(" "))));
        }
        let rhs = if matches!(sel, [Sel::Iif] | [Sel::Oif]) {
            Rhs::Name(vals[0].clone())
        } else if sel == [Sel::CtState] {
            let mut bits = 0;
            for v in &vals {
                match parse_val(v) {
                    Some(Val::Int(b)) => bits |= b,
                    _ => return Err(self.err(format!("bad ct state '{v}'"))),
                }
            }
            Rhs::Vals(vec![Val::Int(bits)])
        } else {
            Rhs::Vals(
                parse_concat(&vals)
                    .ok_or_else(|| self.err(format!("bad value '{}'", vals.join(" "))))?,
            )
        };
        Ok((rhs, k))
    }
}

impl Nft {
    fn table_mut(&mut self, family: &str, name: &str) -> &mut NftTable {
        let pos = match self
            .tables
            .iter()
            .position(|t| t.family == family && t.name == name)
        {
            Some(p) => p,
            None => {
                self.tables.push(NftTable {
                    family: family.to_string(),
                    name: name.to_string(),
                    chains: Vec::new(),
                    sets: BTreeMap::new(),
                    by_name: BTreeMap::new(),
                });
                self.tables.len() - 1
            }
        };
        &mut self.tables[pos]
    }

    /// Reads `nft -f` command text or `nft list ruleset` text.
    pub fn parse(text: &str) -> Result<Nft, NftError> {
        let mut p = P {
            t: tokenize(text)?,
            i: 0,
        };
        let mut nft = Nft::default();
        loop {
            p.skip_nl();
            let Some(w) = p.peek().map(|s| s.to_string()) else {
                break;
            };
            match w.as_str() {
                "add" | "create" | "insert" => {
                    p.next();
                    nft.command(&mut p, w == "insert")?;
                }
                "flush" | "delete" | "destroy" => {
                    p.next();
                    let what = p.word("table, chain, set, map, element or ruleset")?;
                    if what == "ruleset" && w == "flush" {
                        // `flush ruleset`: every table goes
                        nft.tables.clear();
                        p.until_eol();
                        continue;
                    }
                    if !matches!(what.as_str(), "table" | "chain" | "set" | "map" | "element") {
                        return p.err(format!(
                            "{w} '{what}': expected table, chain, set, map or element"
                        ));
                    }
                    let fam = p.word("a family (ip, inet)")?;
                    if fam != "ip" && fam != "inet" {
                        return p.err(format!(
                            "family '{fam}' is not modelled: expected ip or inet"
                        ));
                    }
                    let tname = p.word("a table name")?;
                    let name = if what == "table" {
                        None
                    } else {
                        Some(p.word("a name")?)
                    };
                    let exists = nft
                        .tables
                        .iter()
                        .any(|t| t.family == fam && t.name == tname);
                    if !exists {
                        if w == "destroy" {
                            // destroy: no error when it is not there
                            p.until_eol();
                            continue;
                        }
                        return p.err(format!(
                            "{w} {what}: no table {fam} {tname} (nft: No such file or directory)"
                        ));
                    }
                    let t = nft.table_mut(&fam, &tname);
                    match (w.as_str(), what.as_str(), name) {
                        ("flush", "chain", Some(n)) => {
                            if let Some(c) = t.chain(&n).map(|i| &mut t.chains[i]) {
                                c.rules.clear();
                            }
                        }
                        ("flush", "set" | "map", Some(n)) => {
                            if let Some(s) = t.sets.get_mut(&n) {
                                s.elements.clear();
                            }
                        }
                        ("flush", "table", None) => {
                            for c in t.chains.iter_mut() {
                                c.rules.clear();
                            }
                        }
                        (_, "chain", Some(n)) => {
                            t.chains.retain(|c| c.name != n);
                            t.reindex();
                        }
                        (_, "set" | "map", Some(n)) => {
                            t.sets.remove(&n);
                        }
                        (_, "table", None) => {
                            let (f, n) = (fam.clone(), tname.clone());
                            nft.tables.retain(|t| !(t.family == f && t.name == n));
                        }
                        _ => {}
                    }
                    p.until_eol();
                }
                "table" => {
                    p.next();
                    nft.block_table(&mut p)?;
                }
                _ => {
                    return p.err(format!(
                        "expected a command (add, flush, delete) or 'table', found '{w}'"
                    ))
                }
            }
        }
        nft.check()?;
        for t in nft.tables.iter_mut() {
            for set in t.sets.values_mut() {
                set.build_index();
            }
        }
        for (ti, t) in nft.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                if let Some(b) = &c.base {
                    nft.bases
                        .entry(b.hook)
                        .or_default()
                        .push((b.priority, ti, ci));
                }
            }
        }
        Ok(nft)
    }

    /// Every jump/goto names a chain of its table; every @set exists.
    fn check(&self) -> Result<(), NftError> {
        for t in &self.tables {
            for c in &t.chains {
                for r in &c.rules {
                    let mut names: Vec<(&str, bool)> = Vec::new();
                    for e in &r.exprs {
                        match e {
                            Expr::Verdict(NVerdict::Jump(n) | NVerdict::Goto(n)) => {
                                names.push((n, true))
                            }
                            Expr::Numgen { map, .. } => {
                                for (_, v) in map {
                                    if let NVerdict::Jump(n) | NVerdict::Goto(n) = v {
                                        names.push((n, true));
                                    }
                                }
                            }
                            Expr::Vmap {
                                map: MapRef::Named(m),
                                ..
                            }
                            | Expr::Cmp {
                                rhs: Rhs::Named(m), ..
                            }
                            | Expr::Update { set: m } => names.push((m, false)),
                            _ => {}
                        }
                    }
                    for (n, chain) in names {
                        let ok = if chain {
                            t.chain(n).is_some()
                        } else {
                            t.sets.contains_key(n)
                        };
                        if !ok {
                            return Err(NftError {
                                line: r.line,
                                message: format!(
                                    "{} '{n}' (in chain {}) does not exist in table {} {}",
                                    if chain { "chain" } else { "set or map" },
                                    c.name,
                                    t.family,
                                    t.name
                                ),
                            });
                        }
                    }
                }
            }
            for s in t.sets.values() {
                for (_, v) in &s.elements {
                    if let Some(NVerdict::Jump(n) | NVerdict::Goto(n)) = v {
                        if t.chain(n).is_none() {
                            return Err(NftError {
                                line: 0,
                                message: format!(
                                    "map {} points at chain '{n}', which does not exist",
                                    s.name
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn command(&mut self, p: &mut P, insert: bool) -> Result<(), NftError> {
        let what = p.word("table, chain, set, map, rule or element")?;
        let fam = p.word("a family (ip, inet)")?;
        if fam != "ip" && fam != "inet" {
            return p.err(format!(
                "family '{fam}' is not modelled: expected ip or inet"
            ));
        }
        let tname = p.word("a table name")?;
        match what.as_str() {
            "table" => {
                self.table_mut(&fam, &tname);
                p.until_eol();
            }
            "chain" => {
                let name = p.word("a chain name")?;
                let base = if p.eat("{") {
                    let body = p.until_eol();
                    p.expect("}")?;
                    chain_spec(&body, p.line())?
                } else {
                    None
                };
                let t = self.table_mut(&fam, &tname);
                match t.chain(&name) {
                    Some(i) => {
                        if base.is_some() {
                            t.chains[i].base = base;
                        }
                    }
                    None => {
                        t.add_chain(NftChain {
                            name,
                            base,
                            rules: Vec::new(),
                        });
                    }
                }
            }
            "set" | "map" => {
                let name = p.word("a set name")?;
                let mut s = NftSet {
                    name: name.clone(),
                    is_map: what == "map",
                    ..Default::default()
                };
                if p.eat("{") {
                    let body = p.until_eol();
                    p.expect("}")?;
                    set_spec(&mut s, &body, p.line())?;
                }
                let t = self.table_mut(&fam, &tname);
                t.sets.entry(name).or_insert(s);
            }
            "rule" => {
                let chain = p.word("a chain name")?;
                let line = p.line();
                let toks = p.until_eol();
                let exprs = parse_rule(&toks, line)?;
                let text = render(&toks);
                let t = self.table_mut(&fam, &tname);
                let ci = t.chain(&chain).ok_or(NftError {
                    line,
                    message: format!("add rule: no chain '{chain}' in table {fam} {tname}"),
                })?;
                let c = &mut t.chains[ci];
                let r = NftRule { exprs, text, line };
                if insert {
                    c.rules.insert(0, r);
                } else {
                    c.rules.push(r);
                }
            }
            "element" => {
                let name = p.word("a set name")?;
                p.expect("{")?;
                let t = self.table_mut(&fam, &tname);
                let is_map = t.sets.get(&name).map(|s| s.is_map);
                let Some(is_map) = is_map else {
                    return p.err(format!(
                        "add element: no set or map '{name}' in table {fam} {tname}"
                    ));
                };
                let els = parse_elements(p, is_map)?;
                let t = self.table_mut(&fam, &tname);
                t.sets.get_mut(&name).expect("checked").elements.extend(els);
            }
            other => return p.err(format!("'add {other}' is not modelled")),
        }
        Ok(())
    }

    /// `table ip NAME { ... }` (nft list ruleset).
    fn block_table(&mut self, p: &mut P) -> Result<(), NftError> {
        let fam = p.word("a family (ip, inet)")?;
        if fam != "ip" && fam != "inet" {
            return p.err(format!(
                "family '{fam}' is not modelled: expected ip or inet"
            ));
        }
        let tname = p.word("a table name")?;
        p.expect("{")?;
        self.table_mut(&fam, &tname);
        loop {
            p.skip_nl();
            match p.peek() {
                Some("}") => {
                    p.next();
                    return Ok(());
                }
                Some("comment") | Some("flags") => {
                    p.until_eol();
                }
                Some("set") | Some("map") => {
                    let is_map = p.next().as_deref() == Some("map");
                    let name = p.word("a set name")?;
                    p.expect("{")?;
                    let mut s = NftSet {
                        name: name.clone(),
                        is_map,
                        ..Default::default()
                    };
                    loop {
                        p.skip_nl();
                        match p.peek() {
                            Some("}") => {
                                p.next();
                                break;
                            }
                            Some("elements") => {
                                p.next();
                                p.eat("=");
                                p.expect("{")?;
                                s.elements = parse_elements(p, is_map)?;
                            }
                            Some(_) => {
                                let line = p.line();
                                let body = p.until_eol();
                                set_spec(&mut s, &body, line)?;
                            }
                            None => return p.err(format!("set {name}: expected '}}'")),
                        }
                    }
                    self.table_mut(&fam, &tname).sets.insert(name, s);
                }
                Some("chain") => {
                    p.next();
                    let name = p.word("a chain name")?;
                    p.expect("{")?;
                    let mut c = NftChain {
                        name,
                        base: None,
                        rules: Vec::new(),
                    };
                    loop {
                        p.skip_nl();
                        match p.peek() {
                            Some("}") => {
                                p.next();
                                break;
                            }
                            Some("type") => {
                                let line = p.line();
                                let body = p.until_eol();
                                c.base = chain_spec(&body, line)?;
                            }
                            Some("comment") => {
                                p.until_eol();
                            }
                            Some(_) => {
                                let line = p.line();
                                let toks = p.until_eol();
                                let exprs = parse_rule(&toks, line)?;
                                c.rules.push(NftRule {
                                    exprs,
                                    text: render(&toks),
                                    line,
                                });
                            }
                            None => return p.err(format!("chain {}: expected '}}'", c.name)),
                        }
                    }
                    self.table_mut(&fam, &tname).add_chain(c);
                }
                Some(other) => {
                    let o = other.to_string();
                    return p.err(format!(
                        "in table {fam} {tname}: expected set, map, chain or '}}', found '{o}'"
                    ));
                }
                None => return p.err(format!("table {fam} {tname}: expected '}}'")),
            }
        }
    }

    /// Reads `nft list ruleset` output of a machine whose iptables is
    /// iptables-nft: the tables it marks as managed by iptables-nft are the
    /// iptables rules (read from `iptables-save` instead) and are left out.
    pub fn parse_listing(text: &str) -> Result<Nft, NftError> {
        // top-level blocks: (first line, last line, skip?)
        let lines: Vec<&str> = text.lines().collect();
        let mut skip = vec![false; lines.len()];
        let mut i = 0;
        let mut warned = false;
        while i < lines.len() {
            let t = lines[i].trim_start();
            if t.starts_with("# Warning: table ") && t.contains("iptables-nft") {
                warned = true;
                i += 1;
                continue;
            }
            if !t.starts_with("table ") {
                i += 1;
                continue;
            }
            let mut depth = 0i32;
            let mut j = i;
            let mut builtin_chain = false;
            while j < lines.len() {
                let l = lines[j];
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                let lt = l.trim_start();
                if let Some(c) = lt.strip_prefix("chain ") {
                    let c = c.trim_end_matches('{').trim();
                    builtin_chain |=
                        ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"].contains(&c);
                }
                if depth <= 0 && (j > i || l.contains('}')) {
                    break;
                }
                j += 1;
            }
            let w: Vec<&str> = t.split_whitespace().collect();
            let iptables_name = w.get(1) == Some(&"ip")
                && w.get(2)
                    .is_some_and(|n| ["filter", "nat", "mangle", "raw", "security"].contains(n));
            if warned || (iptables_name && builtin_chain) {
                let last = j.min(lines.len() - 1);
                skip[i..=last].iter_mut().for_each(|k| *k = true);
            }
            warned = false;
            i = j + 1;
        }
        // blank the skipped lines, keeping line numbers
        let kept: String = lines
            .iter()
            .zip(&skip)
            .map(|(l, s)| {
                if *s {
                    "\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        Nft::parse(&kept)
    }

    /// `nft list ruleset`-like text of the whole ruleset.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for t in &self.tables {
            s.push_str(&format!("table {} {} {{\n", t.family, t.name));
            for set in t.sets.values() {
                s.push_str(&format!(
                    "\t{} {} {{\n",
                    if set.is_map { "map" } else { "set" },
                    set.name
                ));
                if !set.elements.is_empty() {
                    let els: Vec<String> = set
                        .elements
                        .iter()
                        .map(|(k, v)| {
                            let k: Vec<String> = k.iter().map(|x| x.to_string()).collect();
                            match v {
                                Some(v) => format!("{} : {v}", k.join(" . ")),
                                None => k.join(" . "),
                            }
                        })
                        .collect();
                    s.push_str(&format!("\t\telements = {{ {} }}\n", els.join(", ")));
                }
                s.push_str("\t}\n");
            }
            for c in &t.chains {
                s.push_str(&format!("\tchain {} {{\n", c.name));
                if let Some(b) = &c.base {
                    s.push_str(&format!(
                        "\t\ttype {} hook {} priority {}; policy {};\n",
                        match b.ty {
                            ChainType::Filter => "filter",
                            ChainType::Nat => "nat",
                            ChainType::Route => "route",
                        },
                        b.hook.name(),
                        b.priority,
                        if b.policy_drop { "drop" } else { "accept" }
                    ));
                }
                for r in &c.rules {
                    s.push_str(&format!("\t\t{}\n", r.text));
                }
                s.push_str("\t}\n");
            }
            s.push_str("}\n");
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

fn render(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        if !s.is_empty() && t.s != "," {
            s.push(' ');
        }
        if t.quoted {
            s.push('"');
            s.push_str(&t.s);
            s.push('"');
        } else {
            s.push_str(&t.s);
        }
    }
    s.replace("@ ", "@")
}

/// `type filter hook prerouting priority -110 ; policy accept ;`
fn chain_spec(body: &[Tok], line: usize) -> Result<Option<BaseChain>, NftError> {
    let w: Vec<String> = body
        .iter()
        .filter(|t| !t.quoted)
        .map(|t| t.s.clone())
        .collect();
    let Some(ti) = w.iter().position(|x| x == "type") else {
        return Ok(None);
    };
    let err = |m: String| NftError { line, message: m };
    let ty = match w.get(ti + 1).map(|s| s.as_str()) {
        Some("filter") => ChainType::Filter,
        Some("nat") => ChainType::Nat,
        Some("route") => ChainType::Route,
        other => {
            return Err(err(format!(
                "chain type '{}': expected filter, nat or route",
                other.unwrap_or("")
            )))
        }
    };
    let hook = w
        .iter()
        .position(|x| x == "hook")
        .and_then(|i| w.get(i + 1))
        .and_then(|h| Hook::from_name(h))
        .ok_or_else(|| {
            err("a base chain needs 'hook prerouting|input|forward|output|postrouting'".into())
        })?;
    let pi = w
        .iter()
        .position(|x| x == "priority")
        .ok_or_else(|| err("a base chain needs 'priority N'".into()))?;
    let end = w[pi + 1..]
        .iter()
        .position(|x| x == ";")
        .map(|e| pi + 1 + e)
        .unwrap_or(w.len());
    let priority = priority(&w[pi + 1..end])
        .ok_or_else(|| err(format!("bad priority '{}'", w[pi + 1..end].join(" "))))?;
    let policy_drop = w
        .iter()
        .position(|x| x == "policy")
        .and_then(|i| w.get(i + 1))
        .is_some_and(|p| p == "drop");
    Ok(Some(BaseChain {
        ty,
        hook,
        priority,
        policy_drop,
    }))
}

/// `type ... ; flags dynamic,timeout ; timeout 10800s ; comment "..." ;`
fn set_spec(s: &mut NftSet, body: &[Tok], line: usize) -> Result<(), NftError> {
    let w: Vec<String> = body
        .iter()
        .filter(|t| !t.quoted)
        .map(|t| t.s.clone())
        .collect();
    let mut i = 0;
    while i < w.len() {
        match w[i].as_str() {
            "flags" => {
                i += 1;
                while i < w.len() && w[i] != ";" {
                    if w[i].contains("dynamic") {
                        s.dynamic = true;
                    }
                    i += 1;
                }
            }
            "timeout" => {
                let v = w.get(i + 1).cloned().unwrap_or_default();
                let ns = parse_nft_time(&v).ok_or(NftError {
                    line,
                    message: format!("bad timeout '{v}'"),
                })?;
                s.timeout_ns = Some(ns);
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// `10800s`, `3h`, `1d2h`, `500ms`
pub(crate) fn parse_nft_time(v: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut num = String::new();
    let mut chars = v.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let mul = match c {
            'd' => 86_400_000_000_000,
            'h' => 3_600_000_000_000,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1_000_000
            }
            'm' => 60_000_000_000,
            's' => 1_000_000_000,
            _ => return None,
        };
        total += n * mul;
        any = true;
    }
    if !num.is_empty() {
        total += num.parse::<u64>().ok()? * 1_000_000_000;
        any = true;
    }
    any.then_some(total)
}
