//! nftables: the subset of `nft` that kube-proxy's nftables mode writes, read
//! from `nft -f` command text (`add table/chain/set/map/rule/element`, as
//! kube-proxy sends it and `knftables` dumps it) or from `nft list ruleset`
//! block text, and evaluated at the netfilter hooks.
//!
//! Expressions: `ip saddr|daddr`, `meta l4proto`, `th|tcp|udp sport|dport`,
//! `meta mark`/`mark` (with `and MASK`), `ct state`, `iifname`/`oifname`,
//! `fib saddr|daddr type local`, compared with `==`/`!=` (or implicit ==)
//! against a value, an anonymous set `{ a, b/n }` or a named set `@name`;
//! concatenations (`ip daddr . meta l4proto . th dport`) looked up in named
//! maps with `vmap @map`; `numgen random mod N vmap { 0 : goto X, ... }`;
//! statements `mark set mark or|xor|and V`, `update @set { ip saddr }`
//! (dynamic sets with timeout), `counter`, `log`, `notrack`; verdicts
//! `accept drop reject return jump goto continue`, `dnat to A[:P]`,
//! `snat to A`, `masquerade [fully-random|random]`.
//!
//! Base chains run at their hook ordered by priority. Relative to the
//! iptables tables (raw -300, mangle -150, nat -100/100, filter 0) a base
//! chain runs in the slot of the iptables table its priority falls in: a
//! nat chain with the nat table (before it when its priority is lower), a
//! filter chain after the last table whose priority is not above its own;
//! at equal priority the iptables table runs first (the kernel orders equal
//! priorities by registration).
//!
//! Simplifications (listed by `podpath explain`): IPv4 only (`ip` and
//! `inet` tables); `numgen random mod N` draws as a cascade of 1/(N-i)
//! decisions (the same distribution as the kernel's one draw, and
//! enumerable by `podpath paths`); `accept` ends the base chain (later base
//! chains at the hook still run), `drop`/`reject` end the packet.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::netfilter::eval::{EvalEnv, NfPacket, RuleRef, Verdict};
use super::netfilter::{addrtype, ctbits, NatRange, RejectWith, TableKind, Target};

/// A parse error: 1-based line, what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub fn from_name(s: &str) -> Option<Hook> {
        Some(match s {
            "prerouting" => Hook::Prerouting,
            "input" => Hook::Input,
            "forward" => Hook::Forward,
            "output" => Hook::Output,
            "postrouting" => Hook::Postrouting,
            _ => return None,
        })
    }
    /// The iptables built-in chain of this hook.
    pub fn from_iptables(s: &str) -> Option<Hook> {
        Hook::from_name(&s.to_ascii_lowercase())
    }
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainType {
    Filter,
    Nat,
    Route,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseChain {
    pub ty: ChainType,
    pub hook: Hook,
    pub priority: i32,
    pub policy_drop: bool,
}

/// A value in a set element, a map key or a comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Val {
    Net(Ipv4Net),
    Int(u32),
}

impl Val {
    fn matches(&self, v: u32) -> bool {
        match self {
            Val::Int(i) => *i == v,
            Val::Net(n) => n.contains(&Ipv4Addr::from(v)),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Net(n) if n.prefix_len() == 32 => write!(f, "{}", n.addr()),
            Val::Net(n) => write!(f, "{n}"),
            Val::Int(i) => write!(f, "{i}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NVerdict {
    Accept,
    Drop,
    Reject,
    Return,
    Continue,
    Jump(String),
    Goto(String),
}

impl fmt::Display for NVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NVerdict::Accept => write!(f, "accept"),
            NVerdict::Drop => write!(f, "drop"),
            NVerdict::Reject => write!(f, "reject"),
            NVerdict::Return => write!(f, "return"),
            NVerdict::Continue => write!(f, "continue"),
            NVerdict::Jump(c) => write!(f, "jump {c}"),
            NVerdict::Goto(c) => write!(f, "goto {c}"),
        }
    }
}

/// A selector: what a comparison or a map key reads from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sel {
    Saddr,
    Daddr,
    L4proto,
    Sport,
    Dport,
    Mark,
    MarkAnd(u32),
    CtState,
    CtMark,
    Iif,
    Oif,
    FibSaddrLocal,
    FibDaddrLocal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rhs {
    Vals(Vec<Val>),
    Anon(Vec<Vec<Val>>),
    Named(String),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Cmp {
        sel: Vec<Sel>,
        ne: bool,
        rhs: Rhs,
    },
    /// `KEY vmap @map` or `KEY vmap { k : verdict, ... }`
    Vmap {
        sel: Vec<Sel>,
        map: MapRef,
    },
    /// `numgen random mod N vmap { i : verdict, ... }`
    Numgen {
        modulus: u32,
        map: Vec<(u32, NVerdict)>,
    },
    MarkSet {
        op: char,
        value: u32,
    },
    Update {
        set: String,
    },
    Verdict(NVerdict),
    Dnat {
        addr: Ipv4Addr,
        port: Option<u16>,
    },
    Snat {
        addr: Ipv4Addr,
    },
    Masquerade {
        fully_random: bool,
        random: bool,
    },
    /// counter, log, notrack: no effect on the verdict
    Nop(String),
    Notrack,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapRef {
    Named(String),
    Anon(Vec<(Vec<Val>, NVerdict)>),
}

#[derive(Clone, Debug)]
pub struct NftRule {
    pub exprs: Vec<Expr>,
    /// the rule as written
    pub text: String,
    pub line: usize,
}

#[derive(Clone, Debug)]
pub struct NftChain {
    pub name: String,
    pub base: Option<BaseChain>,
    pub rules: Vec<NftRule>,
}

/// A set element: its key and, in a map, its verdict.
pub type Element = (Vec<Val>, Option<NVerdict>);

/// Base chains of one slot: (table index, chain index), in order.
pub type ChainList = Vec<(usize, usize)>;

#[derive(Clone, Debug, Default)]
pub struct NftSet {
    pub name: String,
    pub is_map: bool,
    pub dynamic: bool,
    pub timeout_ns: Option<u64>,
    pub elements: Vec<Element>,
    /// Elements whose key parts are all single values, by key (the kernel's
    /// hash lookup); the rest (prefixes) are scanned.
    exact: BTreeMap<Vec<u32>, usize>,
    ranged: Vec<usize>,
}

impl NftSet {
    fn build_index(&mut self) {
        self.exact.clear();
        self.ranged.clear();
        for (i, (k, _)) in self.elements.iter().enumerate() {
            let single: Option<Vec<u32>> = k
                .iter()
                .map(|v| match v {
                    Val::Int(x) => Some(*x),
                    Val::Net(n) if n.prefix_len() == 32 => Some(u32::from(n.addr())),
                    Val::Net(_) => None,
                })
                .collect();
            match single {
                Some(key) => {
                    self.exact.entry(key).or_insert(i);
                }
                None => self.ranged.push(i),
            }
        }
    }

    /// The element whose key matches.
    pub fn lookup(&self, key: &[Option<u32>]) -> Option<&Element> {
        let exact: Option<Vec<u32>> = key.iter().copied().collect();
        if let Some(i) = exact.as_ref().and_then(|k| self.exact.get(k)) {
            return Some(&self.elements[*i]);
        }
        self.ranged
            .iter()
            .map(|i| &self.elements[*i])
            .find(|(k, _)| key_matches(k, key))
    }
}

#[derive(Clone, Debug)]
pub struct NftTable {
    pub family: String,
    pub name: String,
    pub chains: Vec<NftChain>,
    pub sets: BTreeMap<String, NftSet>,
    /// chain name -> index (kept by `add_chain` and `reindex`)
    by_name: BTreeMap<String, usize>,
}

impl NftTable {
    fn chain(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    fn add_chain(&mut self, c: NftChain) -> usize {
        if let Some(&i) = self.by_name.get(&c.name) {
            return i;
        }
        self.by_name.insert(c.name.clone(), self.chains.len());
        self.chains.push(c);
        self.chains.len() - 1
    }

    fn reindex(&mut self) {
        self.by_name = self
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
    }
}

/// A host's nftables ruleset.
#[derive(Clone, Debug, Default)]
pub struct Nft {
    pub tables: Vec<NftTable>,
    /// every base chain: (priority, table, chain), by hook
    bases: BTreeMap<Hook, Vec<(i32, usize, usize)>>,
}

/// Dynamic set contents (`update @set`): (table, set) -> address -> expiry.
pub type DynSets = BTreeMap<(String, String), BTreeMap<Ipv4Addr, u64>>;

// ------------------------------------------------------------------ parsing

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

fn priority(words: &[String]) -> Option<i32> {
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

/// Parses one rule's statements.
fn parse_rule(toks: &[Tok], line: usize) -> Result<Vec<Expr>, NftError> {
    let err = |m: String| NftError { line, message: m };
    // words, with brace groups kept as their own tokens
    let w: Vec<String> = toks.iter().map(|t| t.s.clone()).collect();
    let quoted: Vec<bool> = toks.iter().map(|t| t.quoted).collect();
    let mut out = Vec::new();
    let mut i = 0;
    let group = |i: usize| -> Result<(Vec<Tok>, usize), NftError> {
        // w[i] == "{": tokens to the matching "}"
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
            line,
            message: "unbalanced '{'".into(),
        })
    };
    let elements_of = |inner: &[Tok], map: bool| -> Result<Vec<Element>, NftError> {
        let mut v = inner.to_vec();
        v.push(Tok {
            s: "}".into(),
            quoted: false,
            line,
        });
        let mut p = P { t: v, i: 0 };
        parse_elements(&mut p, map)
    };
    while i < w.len() {
        let rest = &w[i..];
        match rest[0].as_str() {
            "counter" => {
                out.push(Expr::Nop("counter".into()));
                i += 1;
                // "counter packets N bytes M"
                while i + 1 < w.len() && (w[i] == "packets" || w[i] == "bytes") {
                    i += 2;
                }
            }
            "comment" if i + 1 < w.len() && quoted[i + 1] => i += 2,
            "log" => {
                out.push(Expr::Nop("log".into()));
                i += 1;
                if i + 1 < w.len() && w[i] == "prefix" {
                    i += 2;
                }
            }
            "notrack" => {
                out.push(Expr::Notrack);
                i += 1;
            }
            "accept" | "drop" | "return" | "continue" => {
                out.push(Expr::Verdict(parse_verdict(&rest[..1]).expect("verdict")));
                i += 1;
            }
            "reject" => {
                out.push(Expr::Verdict(NVerdict::Reject));
                i += 1;
                if i < w.len() && w[i] == "with" {
                    // reject with icmp type X / tcp reset
                    i += 1;
                    while i < w.len() && w[i] != "comment" {
                        i += 1;
                    }
                }
            }
            "jump" | "goto" => {
                let c = rest
                    .get(1)
                    .ok_or_else(|| err(format!("'{}' needs a chain", rest[0])))?;
                out.push(Expr::Verdict(
                    parse_verdict(&[rest[0].clone(), c.clone()]).expect("verdict"),
                ));
                i += 2;
            }
            "dnat" | "snat" => {
                let mut j = i + 1;
                if w.get(j).map(|s| s.as_str()) == Some("ip") {
                    j += 1;
                }
                if w.get(j).map(|s| s.as_str()) != Some("to") {
                    return Err(err(format!("'{}' needs 'to ADDR[:PORT]'", rest[0])));
                }
                let a = w
                    .get(j + 1)
                    .ok_or_else(|| err("'to' needs an address".into()))?;
                let (addr, port) = match a.split_once(':') {
                    Some((x, p)) => (x, Some(p)),
                    None => (a.as_str(), None),
                };
                let addr: Ipv4Addr = addr
                    .parse()
                    .map_err(|_| err(format!("bad address '{a}' in {}", rest[0])))?;
                let port = match port {
                    Some(p) => Some(
                        p.parse::<u16>()
                            .map_err(|_| err(format!("bad port in '{a}'")))?,
                    ),
                    None => None,
                };
                out.push(if rest[0] == "dnat" {
                    Expr::Dnat { addr, port }
                } else {
                    Expr::Snat { addr }
                });
                i = j + 2;
            }
            "masquerade" => {
                let mut fr = false;
                let mut r = false;
                i += 1;
                while i < w.len()
                    && (w[i] == "fully-random" || w[i] == "random" || w[i] == "persistent")
                {
                    fr |= w[i] == "fully-random";
                    r |= w[i] == "random";
                    i += 1;
                }
                out.push(Expr::Masquerade {
                    fully_random: fr,
                    random: r,
                });
            }
            "update" | "add" if rest.get(1).map(|s| s.as_str()) == Some("@") => {
                let set = rest
                    .get(2)
                    .ok_or_else(|| err("'update @' needs a set name".into()))?
                    .clone();
                if rest.get(3).map(|s| s.as_str()) != Some("{") {
                    return Err(err(format!("'update @{set}' needs '{{ ip saddr }}'")));
                }
                let (inner, next) = group(i + 3)?;
                let inner: Vec<String> = inner.iter().map(|t| t.s.clone()).collect();
                if inner != ["ip", "saddr"] {
                    return Err(err(format!(
                        "'update @{set} {{ {} }}': only '{{ ip saddr }}' is modelled",
                        inner.join(" ")
                    )));
                }
                out.push(Expr::Update { set });
                i = next;
            }
            "numgen" => {
                // numgen random mod N vmap { ... }
                if rest.get(1).map(|s| s.as_str()) != Some("random")
                    || rest.get(2).map(|s| s.as_str()) != Some("mod")
                {
                    return Err(err("expected 'numgen random mod N'".into()));
                }
                let n: u32 = rest
                    .get(3)
                    .and_then(|s| s.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| err("'numgen random mod' needs a positive number".into()))?;
                if rest.get(4).map(|s| s.as_str()) != Some("vmap")
                    || rest.get(5).map(|s| s.as_str()) != Some("{")
                {
                    return Err(err(
                        "expected 'vmap { N : VERDICT, ... }' after numgen".into()
                    ));
                }
                let (inner, next) = group(i + 5)?;
                let els = elements_of(&inner, true)?;
                let mut map = Vec::new();
                for (k, v) in els {
                    match (k.as_slice(), v) {
                        ([Val::Int(x)], Some(v)) => map.push((*x, v)),
                        _ => return Err(err("numgen vmap keys must be numbers".into())),
                    }
                }
                out.push(Expr::Numgen { modulus: n, map });
                i = next;
            }
            "fib" => {
                // fib saddr|daddr type local
                let which = rest.get(1).map(|s| s.as_str());
                let ok = rest.get(2).map(|s| s.as_str()) == Some("type");
                let (ne, t) = match rest.get(3).map(|s| s.as_str()) {
                    Some("!=") => (true, rest.get(4)),
                    _ => (false, rest.get(3)),
                };
                if !ok || t.map(|s| s.as_str()) != Some("local") {
                    return Err(err("expected 'fib saddr|daddr type [!=] local'".into()));
                }
                let sel = match which {
                    Some("saddr") => Sel::FibSaddrLocal,
                    Some("daddr") => Sel::FibDaddrLocal,
                    _ => return Err(err("expected 'fib saddr' or 'fib daddr'".into())),
                };
                out.push(Expr::Cmp {
                    sel: vec![sel],
                    ne,
                    rhs: Rhs::Vals(vec![Val::Int(1)]),
                });
                i += if ne { 5 } else { 4 };
            }
            _ => {
                // a comparison, a vmap lookup or `mark set ...`
                if rest.len() >= 3
                    && (rest[0] == "mark" || rest[0] == "meta")
                    && rest.contains(&"set".to_string())
                {
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
                        [m, op, v, ..] if m == "mark" && opc(op).is_some() => {
                            (opc(op).expect("checked"), v, 3)
                        }
                        [m, mm, op, v, ..] if m == "meta" && mm == "mark" && opc(op).is_some() => {
                            (opc(op).expect("checked"), v, 4)
                        }
                        [v, ..] => ('=', v, 1),
                        [] => return Err(err("'mark set' needs a value".into())),
                    };
                    let value = match parse_val(v) {
                        Some(Val::Int(x)) => x,
                        _ => return Err(err(format!("bad mark value '{v}'"))),
                    };
                    out.push(Expr::MarkSet { op, value });
                    i += si + 1 + used;
                    continue;
                }
                let Some((mut sel, n)) = sel_of(rest) else {
                    return Err(err(format!(
                        "unsupported expression at '{}'",
                        rest.join(" ")
                    )));
                };
                let mut j = i + n;
                // mark and 0x4000 == 0
                if sel == [Sel::Mark] && matches!(w.get(j).map(|s| s.as_str()), Some("and" | "&")) {
                    let m = w
                        .get(j + 1)
                        .and_then(|s| parse_val(s))
                        .and_then(|v| if let Val::Int(x) = v { Some(x) } else { None })
                        .ok_or_else(|| err("'mark and' needs a number".into()))?;
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
                    Some("vmap") => {
                        let map = match w.get(j + 1).map(|s| s.as_str()) {
                            Some("@") => {
                                let m = w
                                    .get(j + 2)
                                    .ok_or_else(|| err("'vmap @' needs a map name".into()))?;
                                j += 3;
                                MapRef::Named(m.clone())
                            }
                            Some("{") => {
                                let (inner, next) = group(j + 1)?;
                                let els = elements_of(&inner, true)?;
                                j = next;
                                MapRef::Anon(
                                    els.into_iter().map(|(k, v)| (k, v.expect("map"))).collect(),
                                )
                            }
                            _ => return Err(err("'vmap' needs '@MAP' or '{ ... }'".into())),
                        };
                        out.push(Expr::Vmap { sel, map });
                        i = j;
                        continue;
                    }
                    _ => {}
                }
                let rhs = match w.get(j).map(|s| s.as_str()) {
                    Some("@") => {
                        let m = w
                            .get(j + 1)
                            .ok_or_else(|| err("'@' needs a set name".into()))?
                            .clone();
                        j += 2;
                        Rhs::Named(m)
                    }
                    Some("{") => {
                        let (inner, next) = group(j)?;
                        let mut els: Vec<Vec<Val>> = elements_of(&inner, false)?
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
                        // one value, or a concatenation, or a comma list
                        // of ct states
                        let mut vals = Vec::new();
                        let mut k = j;
                        while k < w.len() {
                            let tok = &w[k];
                            if matches!(sel.as_slice(), [Sel::Iif] | [Sel::Oif]) {
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
                            if w.get(k).map(|s| s.as_str()) != Some(".")
                                && sel.len() == 1
                                && sel != [Sel::CtState]
                            {
                                break;
                            }
                        }
                        if vals.is_empty() {
                            return Err(err(format!(
                                "expected a value after '{}'",
                                w[i..j].join(" ")
                            )));
                        }
                        j = k;
                        if matches!(sel.as_slice(), [Sel::Iif] | [Sel::Oif]) {
                            Rhs::Name(vals[0].clone())
                        } else if sel == [Sel::CtState] {
                            let mut bits = 0;
                            for v in &vals {
                                match parse_val(v) {
                                    Some(Val::Int(b)) => bits |= b,
                                    _ => return Err(err(format!("bad ct state '{v}'"))),
                                }
                            }
                            Rhs::Vals(vec![Val::Int(bits)])
                        } else {
                            Rhs::Vals(
                                parse_concat(&vals).ok_or_else(|| {
                                    err(format!("bad value '{}'", vals.join(" ")))
                                })?,
                            )
                        }
                    }
                    None => return Err(err(format!("'{}' needs a value", w[i..j].join(" ")))),
                };
                out.push(Expr::Cmp { sel, ne, rhs });
                i = j;
            }
        }
    }
    Ok(out)
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
                    let what = p.word("table, chain, set, map or element")?;
                    let fam = p.word("a family")?;
                    let tname = p.word("a table name")?;
                    let name = if what == "table" {
                        None
                    } else {
                        Some(p.word("a name")?)
                    };
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
fn parse_nft_time(v: &str) -> Option<u64> {
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

// ------------------------------------------------------------------ evaluation

/// One rule that acted, for the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftStep {
    /// `ip kube-proxy`
    pub table: String,
    pub chain: String,
    /// 1-based; 0 for the base chain's policy
    pub rule: usize,
    pub line: usize,
    pub text: String,
    pub effect: String,
}

#[derive(Clone, Debug)]
pub struct NftOutcome {
    pub verdict: Verdict,
    pub nat: Option<Target>,
    pub notrack: bool,
    pub steps: Vec<NftStep>,
}

/// Which iptables table's slot a base chain runs in, and whether before it.
fn slot_of(b: &BaseChain) -> (TableKind, bool) {
    let slots: &[(TableKind, i32)] = match b.hook {
        Hook::Prerouting => &[(TableKind::Raw, -300), (TableKind::Mangle, -150)],
        Hook::Input | Hook::Forward => &[(TableKind::Mangle, -150), (TableKind::Filter, 0)],
        Hook::Output => &[
            (TableKind::Raw, -300),
            (TableKind::Mangle, -150),
            (TableKind::Filter, 0),
        ],
        Hook::Postrouting => &[(TableKind::Mangle, -150)],
    };
    if b.ty == ChainType::Nat {
        let nat_prio = match b.hook {
            Hook::Prerouting | Hook::Output => -100,
            _ => 100,
        };
        return (TableKind::Nat, b.priority < nat_prio);
    }
    match slots.iter().rev().find(|(_, p)| *p <= b.priority) {
        Some((t, _)) => (*t, false),
        None => (slots[0].0, true),
    }
}

impl Nft {
    /// The base chains that run in the slot of iptables table `table` at
    /// `hook`: (before the table, after it), each in priority order.
    pub fn chains_at(&self, table: TableKind, hook: Hook) -> (ChainList, ChainList) {
        let mut before = Vec::new();
        let mut after = Vec::new();
        for &(prio, ti, ci) in self.bases.get(&hook).map(|v| v.as_slice()).unwrap_or(&[]) {
            let Some(b) = &self.tables[ti].chains[ci].base else {
                continue;
            };
            let (slot, first) = slot_of(b);
            if slot != table {
                continue;
            }
            if first {
                before.push((prio, ti, ci));
            } else {
                after.push((prio, ti, ci));
            }
        }
        before.sort();
        after.sort();
        (
            before.into_iter().map(|x| (x.1, x.2)).collect(),
            after.into_iter().map(|x| (x.1, x.2)).collect(),
        )
    }

    /// Runs the base chains `chains` in order over `pkt`.
    pub fn run(
        &self,
        chains: &[(usize, usize)],
        pkt: &mut NfPacket,
        env: &mut EvalEnv,
        dyn_sets: &mut DynSets,
    ) -> NftOutcome {
        let mut out = NftOutcome {
            verdict: Verdict::Accept,
            nat: None,
            notrack: false,
            steps: Vec::new(),
        };
        for &(ti, ci) in chains {
            let v = self.run_base(ti, ci, pkt, env, dyn_sets, &mut out);
            if v != Verdict::Accept {
                out.verdict = v;
                return out;
            }
            if out.nat.is_some() {
                // a NAT statement accepts; the binding is made once
                return out;
            }
        }
        out
    }

    fn run_base(
        &self,
        ti: usize,
        start: usize,
        pkt: &mut NfPacket,
        env: &mut EvalEnv,
        dyn_sets: &mut DynSets,
        out: &mut NftOutcome,
    ) -> Verdict {
        let t = &self.tables[ti];
        let tlabel = format!("{} {}", t.family, t.name);
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let (mut ci, mut pos) = (start, 0usize);
        let mut budget = 1_000_000usize;
        loop {
            budget -= 1;
            if budget == 0 {
                return Verdict::Drop;
            }
            let chain = &t.chains[ci];
            let Some(rule) = chain.rules.get(pos) else {
                match stack.pop() {
                    Some((c, p)) => {
                        ci = c;
                        pos = p;
                        continue;
                    }
                    None => {
                        let drop = t.chains[start].base.as_ref().is_some_and(|b| b.policy_drop);
                        if drop {
                            out.steps.push(NftStep {
                                table: tlabel.clone(),
                                chain: t.chains[start].name.clone(),
                                rule: 0,
                                line: 0,
                                text: String::new(),
                                effect: "policy drop".into(),
                            });
                            return Verdict::Drop;
                        }
                        return Verdict::Accept;
                    }
                }
            };
            let ri = pos;
            pos += 1;
            let at = RuleRef {
                table: TableKind::Filter,
                chain: format!("nft:{tlabel} {}", chain.name),
                rule: ri + 1,
            };
            let step = |effect: String, out: &mut NftOutcome| {
                out.steps.push(NftStep {
                    table: tlabel.clone(),
                    chain: chain.name.clone(),
                    rule: ri + 1,
                    line: rule.line,
                    text: rule.text.clone(),
                    effect,
                })
            };
            let mut verdict: Option<NVerdict> = None;
            let mut matched = true;
            for e in &rule.exprs {
                match e {
                    Expr::Cmp { sel, ne, rhs } => {
                        if cmp(t, sel, *ne, rhs, pkt, env, dyn_sets) {
                            continue;
                        }
                        matched = false;
                        break;
                    }
                    Expr::Vmap { sel, map } => {
                        let key = keys(sel, pkt, env);
                        let found = match map {
                            MapRef::Named(m) => t
                                .sets
                                .get(m)
                                .and_then(|s| s.lookup(&key))
                                .and_then(|(_, v)| v.clone()),
                            MapRef::Anon(els) => els
                                .iter()
                                .find(|(k, _)| key_matches(k, &key))
                                .map(|(_, v)| v.clone()),
                        };
                        match found {
                            Some(v) => {
                                verdict = Some(v);
                                break;
                            }
                            None => {
                                matched = false;
                                break;
                            }
                        }
                    }
                    Expr::Numgen { modulus, map } => {
                        // the kernel draws one value in [0, mod); here a
                        // cascade of 1/(n-i) decisions (same distribution)
                        let n = *modulus;
                        let mut pick = n - 1;
                        for i in 0..n.saturating_sub(1) {
                            let p = 1.0 / f64::from(n - i);
                            let thr = (p * 2_147_483_648.0) as u32;
                            if env.chooser.statistic_random(&at, p, thr) {
                                pick = i;
                                break;
                            }
                        }
                        match map.iter().find(|(k, _)| *k == pick) {
                            Some((_, v)) => {
                                step(format!("numgen random mod {n} = {pick}"), out);
                                verdict = Some(v.clone());
                                break;
                            }
                            None => {
                                matched = false;
                                break;
                            }
                        }
                    }
                    Expr::MarkSet { op, value } => {
                        let before = pkt.mark;
                        pkt.mark = match op {
                            'o' => pkt.mark | value,
                            'x' => pkt.mark ^ value,
                            'a' => pkt.mark & value,
                            _ => *value,
                        };
                        step(format!("mark {before:#x} -> {:#x}", pkt.mark), out);
                    }
                    Expr::Update { set } => {
                        let timeout = t
                            .sets
                            .get(set)
                            .and_then(|s| s.timeout_ns)
                            .unwrap_or(u64::MAX / 4);
                        dyn_sets
                            .entry((tlabel.clone(), set.clone()))
                            .or_default()
                            .insert(pkt.src, env.now_ns.saturating_add(timeout));
                        step(format!("update @{set} {{ {} }}", pkt.src), out);
                    }
                    Expr::Verdict(v) => {
                        verdict = Some(v.clone());
                        break;
                    }
                    Expr::Dnat { addr, port } => {
                        out.nat = Some(Target::Dnat {
                            to: NatRange {
                                addr_lo: Some(*addr),
                                addr_hi: Some(*addr),
                                ports: port.map(|p| (p, p)),
                            },
                            random: false,
                            persistent: false,
                        });
                        step(
                            format!(
                                "DNAT to {addr}{}",
                                port.map(|p| format!(":{p}")).unwrap_or_default()
                            ),
                            out,
                        );
                        return Verdict::Accept;
                    }
                    Expr::Snat { addr } => {
                        out.nat = Some(Target::Snat {
                            to: NatRange {
                                addr_lo: Some(*addr),
                                addr_hi: Some(*addr),
                                ports: None,
                            },
                            random: false,
                            random_fully: false,
                            persistent: false,
                        });
                        step(format!("SNAT to {addr}"), out);
                        return Verdict::Accept;
                    }
                    Expr::Masquerade {
                        fully_random,
                        random,
                    } => {
                        out.nat = Some(Target::Masquerade {
                            ports: None,
                            random: *random,
                            random_fully: *fully_random,
                        });
                        step(
                            format!(
                                "MASQUERADE{}",
                                if *fully_random { " (fully-random)" } else { "" }
                            ),
                            out,
                        );
                        return Verdict::Accept;
                    }
                    Expr::Notrack => {
                        out.notrack = true;
                    }
                    Expr::Nop(_) => {}
                }
            }
            if !matched {
                continue;
            }
            let Some(v) = verdict else { continue };
            let jump = matches!(v, NVerdict::Jump(_));
            match v {
                NVerdict::Accept => {
                    step("accept".into(), out);
                    return Verdict::Accept;
                }
                NVerdict::Drop => {
                    step("drop".into(), out);
                    return Verdict::Drop;
                }
                NVerdict::Reject => {
                    step("reject".into(), out);
                    // nft's plain `reject` answers ICMP port unreachable
                    return Verdict::Reject(RejectWith::IcmpPortUnreachable);
                }
                NVerdict::Continue => {}
                NVerdict::Return => {
                    step("return".into(), out);
                    match stack.pop() {
                        Some((c, p)) => {
                            ci = c;
                            pos = p;
                        }
                        None => return Verdict::Accept,
                    }
                }
                NVerdict::Jump(c) | NVerdict::Goto(c) => {
                    let Some(target) = t.chain(&c) else {
                        return Verdict::Drop;
                    };
                    step(format!("{} {c}", if jump { "jump" } else { "goto" }), out);
                    if jump {
                        stack.push((ci, pos));
                    } else {
                        // goto: a return from the target goes back past us
                    }
                    ci = target;
                    pos = 0;
                }
            }
        }
    }
}

fn key_matches(k: &[Val], key: &[Option<u32>]) -> bool {
    k.len() == key.len()
        && k.iter()
            .zip(key)
            .all(|(v, x)| x.is_some_and(|x| v.matches(x)))
}

fn sel_value(s: Sel, pkt: &NfPacket, env: &EvalEnv) -> Option<u32> {
    Some(match s {
        Sel::Saddr => u32::from(pkt.src),
        Sel::Daddr => u32::from(pkt.dst),
        Sel::L4proto => u32::from(pkt.proto),
        Sel::Sport => u32::from(pkt.sport?),
        Sel::Dport => u32::from(pkt.dport?),
        Sel::Mark => pkt.mark,
        Sel::MarkAnd(m) => pkt.mark & m,
        Sel::CtState => u32::from(pkt.ct_state),
        Sel::CtMark => pkt.ctmark,
        Sel::FibSaddrLocal => u32::from(env.addr.addr_type(pkt.src, None) & addrtype::LOCAL != 0),
        Sel::FibDaddrLocal => u32::from(env.addr.addr_type(pkt.dst, None) & addrtype::LOCAL != 0),
        Sel::Iif | Sel::Oif => return None,
    })
}

fn keys(sel: &[Sel], pkt: &NfPacket, env: &EvalEnv) -> Vec<Option<u32>> {
    sel.iter().map(|s| sel_value(*s, pkt, env)).collect()
}

fn cmp(
    t: &NftTable,
    sel: &[Sel],
    ne: bool,
    rhs: &Rhs,
    pkt: &NfPacket,
    env: &EvalEnv,
    dyn_sets: &DynSets,
) -> bool {
    let hit = match rhs {
        Rhs::Name(n) => {
            let dev = match sel.first() {
                Some(Sel::Iif) => pkt.in_if.as_deref(),
                _ => pkt.out_if.as_deref(),
            };
            match (dev, n.strip_suffix('*')) {
                (Some(d), Some(prefix)) => d.starts_with(prefix),
                (Some(d), None) => d == n,
                (None, _) => false,
            }
        }
        Rhs::Vals(v) => {
            let key = keys(sel, pkt, env);
            if sel == [Sel::CtState] {
                // ct state new,established: any of the bits
                match (v.first(), key.first()) {
                    (Some(Val::Int(bits)), Some(Some(s))) => bits & s != 0,
                    _ => false,
                }
            } else {
                key_matches(v, &key)
            }
        }
        Rhs::Anon(els) => {
            let key = keys(sel, pkt, env);
            els.iter().any(|k| key_matches(k, &key))
        }
        Rhs::Named(name) => {
            let key = keys(sel, pkt, env);
            let tlabel = format!("{} {}", t.family, t.name);
            let dynamic = dyn_sets.get(&(tlabel, name.clone())).is_some_and(|m| {
                sel == [Sel::Saddr] && m.get(&pkt.src).is_some_and(|exp| *exp > env.now_ns)
            });
            dynamic || t.sets.get(name).is_some_and(|s| s.lookup(&key).is_some())
        }
    };
    hit != ne
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_and_times() {
        assert_eq!(priority(&["dstnat".into()]), Some(-100));
        assert_eq!(
            priority(&["dstnat".into(), "-".into(), "10".into()]),
            Some(-110)
        );
        assert_eq!(priority(&["-110".into()]), Some(-110));
        assert_eq!(priority(&["srcnat".into()]), Some(100));
        assert_eq!(parse_nft_time("10800s"), Some(10_800_000_000_000));
        assert_eq!(parse_nft_time("3h"), Some(10_800_000_000_000));
        assert_eq!(parse_nft_time("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_nft_time("x"), None);
    }

    #[test]
    fn both_syntaxes_read_the_same_rules() {
        let cmds = "add table ip t\nadd chain ip t pre { type nat hook prerouting priority dstnat ; }\nadd chain ip t svc\nadd map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }\nadd rule ip t pre ip daddr . meta l4proto . th dport vmap @m\nadd rule ip t svc meta l4proto tcp dnat to 10.0.0.1:80\nadd element ip t m { 10.96.0.1 . tcp . 80 : goto svc }\n";
        let block = "table ip t {\n\tmap m {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { 10.96.0.1 . tcp . 80 : goto svc }\n\t}\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr . meta l4proto . th dport vmap @m\n\t}\n\tchain svc {\n\t\tmeta l4proto tcp dnat to 10.0.0.1:80\n\t}\n}\n";
        let a = Nft::parse(cmds).unwrap();
        let b = Nft::parse(block).unwrap();
        for n in [&a, &b] {
            let t = &n.tables[0];
            assert_eq!(t.sets["m"].elements.len(), 1);
            let pre = &t.chains[t.chain("pre").unwrap()];
            assert_eq!(pre.base.as_ref().unwrap().priority, -100);
            assert_eq!(pre.rules.len(), 1);
        }
        assert_eq!(a.to_text(), b.to_text());
    }

    #[test]
    fn iptables_nft_tables_are_left_to_iptables_save() {
        let listing = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct status dnat counter packets 0 bytes 0 drop\n\t}\n}\n# Warning: table ip nat is managed by iptables-nft, do not touch!\ntable ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\txt target \"MASQUERADE\"\n\t}\n}\ntable ip kube-proxy {\n\tchain c {\n\t\tdrop\n\t}\n}\n";
        let n = Nft::parse_listing(listing).unwrap();
        assert_eq!(n.tables.len(), 1);
        assert_eq!(n.tables[0].name, "kube-proxy");
        assert_eq!(n.tables[0].chains[0].rules[0].line, 16);
    }

    #[test]
    fn errors_name_the_line() {
        let e = Nft::parse("add table ip t\nadd chain ip t c\nadd rule ip t c jump nowhere\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("chain 'nowhere'"), "{e}");
        let e = Nft::parse("add table ip t\nadd chain ip t c\nadd rule ip t c frobnicate 3\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message
                .contains("unsupported expression at 'frobnicate 3'"),
            "{e}"
        );
        let e = Nft::parse("add table ip6 t\n").unwrap_err();
        assert!(e.message.contains("family 'ip6' is not modelled"), "{e}");
        let e = Nft::parse("table ip t {\n chain c {\n").unwrap_err();
        assert!(e.message.contains("expected '}'"), "{e}");
    }
}
