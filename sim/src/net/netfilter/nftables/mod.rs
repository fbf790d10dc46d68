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

pub mod eval;
pub mod parse;

pub use super::Hook;
use super::{NatRange, Target};
use eval::key_matches;

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
    /// What `nft -f` loads but podpath does not evaluate, by line.
    pub unmodelled: Vec<super::Unmodelled>,
}

/// Dynamic set contents (`update @set`): (table, set) -> address -> expiry.
pub type DynSets = BTreeMap<(String, String), BTreeMap<Ipv4Addr, u64>>;

// ------------------------------------------------------------------ parsing

#[cfg(test)]
mod tests {
    use super::parse::{parse_nft_time, priority};
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
