//! iptables: the tables, chains, matches and targets of an `iptables-save`
//! dump, loaded by [`parse`] and evaluated by [`eval`] in the kernel's order.
//!
//! - [`parse`]: the `iptables-save`/`iptables-restore` text parser, with errors
//!   naming the source, line and what was expected.
//! - [`eval`]: rule evaluation (first match, jump/goto/RETURN, policies), with a
//!   per-chain destination index that keeps first-match semantics (what nftables
//!   maps give kube-proxy's nftables mode, applied to iptables chains).
//!
//! Simplifications (also listed by `podpath explain`):
//! - IPv4 only (`iptables`, not `ip6tables`).
//! - Counters are parsed and ignored; `-m nfacct` always matches.
//! - `LOG` records a trace step instead of writing to the kernel log.

pub mod eval;
pub mod parse;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{RejectWith, TableKind, Target};
pub use parse::ParseError;

/// A built-in chain's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

/// The whole netfilter configuration of one host.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    pub tables: BTreeMap<TableKind, Table>,
    /// Non-fatal remarks from parsing (e.g. an unquoted multi-word comment).
    pub warnings: Vec<String>,
    /// What iptables-restore loads but podpath does not evaluate, by line.
    pub unmodelled: Vec<super::Unmodelled>,
}

#[derive(Clone, Debug)]
pub struct Table {
    pub kind: TableKind,
    pub chains: Vec<Chain>,
    pub by_name: BTreeMap<String, usize>,
}

#[derive(Clone, Debug)]
pub struct Chain {
    pub name: String,
    /// `Some` for built-in chains.
    pub policy: Option<Policy>,
    pub rules: Vec<Rule>,
    pub(crate) index: Option<eval::DstIndex>,
}

/// One `-A CHAIN ...` rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// 1-based line in the source text (0 for rules added programmatically).
    pub line: usize,
    /// The rule's arguments as written after `-A CHAIN`.
    pub text: String,
    pub comment: Option<String>,
    pub conds: Vec<Cond>,
    pub target: Option<Target>,
}

/// One match condition; `neg` is iptables' `!`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    pub neg: bool,
    pub kind: CondKind,
}

/// An interface name pattern: exact, or a prefix when written with a trailing `+`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfPattern {
    pub name: String,
    pub prefix: bool,
}

impl IfPattern {
    pub fn parse(s: &str) -> IfPattern {
        match s.strip_suffix('+') {
            Some(p) => IfPattern {
                name: p.to_string(),
                prefix: true,
            },
            None => IfPattern {
                name: s.to_string(),
                prefix: false,
            },
        }
    }
    pub fn matches(&self, dev: &str) -> bool {
        if self.prefix {
            dev.starts_with(&self.name)
        } else {
            dev == self.name
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortDir {
    Src,
    Dst,
    Either,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecentCmd {
    Set,
    Rcheck,
    Update,
    Remove,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CondKind {
    /// `-p`; 0 is `all`.
    Proto(u8),
    Src(Ipv4Net),
    Dst(Ipv4Net),
    InIf(IfPattern),
    OutIf(IfPattern),
    /// `-f`: second and later fragments.
    Fragment,
    /// `--sport`/`--dport` of tcp/udp/sctp: inclusive ranges.
    Port {
        dir: PortDir,
        ranges: Vec<(u16, u16)>,
    },
    /// `--tcp-flags MASK COMP` (and `--syn`).
    TcpFlags {
        mask: u8,
        comp: u8,
    },
    /// `--icmp-type`; `code` None matches any code, `ty` 255 is `any`.
    IcmpType {
        ty: u8,
        code: Option<u8>,
    },
    Mark {
        value: u32,
        mask: u32,
    },
    ConnMark {
        value: u32,
        mask: u32,
    },
    CtState(u8),
    AddrType {
        src: Option<u16>,
        dst: Option<u16>,
        limit_in: bool,
        limit_out: bool,
    },
    /// `-m statistic --mode random --probability P`: the kernel matches when
    /// `(random & 0x7fffffff) < threshold`, threshold = round(P * 2^31).
    StatRandom {
        probability: f64,
        threshold: u32,
    },
    /// `-m iprange --src-range A[-B]` / `--dst-range` (xt_iprange.c
    /// iprange_mt4): the address within [lo, hi] (a reversed range never
    /// matches).
    SrcRange(Ipv4Addr, Ipv4Addr),
    DstRange(Ipv4Addr, Ipv4Addr),
    /// `-m limit --limit RATE --limit-burst N` (net/netfilter/xt_limit.c):
    /// a token bucket; `avg` is the time between packets in 1/10000 s
    /// (XT_LIMIT_SCALE), `burst` the packets it holds.
    Limit {
        avg: u32,
        burst: u32,
    },
    /// `-m statistic --mode nth --every N --packet P`.
    StatNth {
        every: u32,
        packet: u32,
    },
    Recent {
        name: String,
        cmd: RecentCmd,
        seconds: Option<u32>,
        hitcount: Option<u32>,
        reap: bool,
        rdest: bool,
        mask: Ipv4Addr,
    },
    /// `-m set --match-set NAME src,dst`.
    Set {
        name: String,
        flags: Vec<bool>,
    },
    PhysdevIn(IfPattern),
    PhysdevOut(IfPattern),
    PhysdevIsBridged,
    /// A match that always holds (`-m nfacct`): counting only.
    Always(String),
    /// `-m owner --uid-owner N` (`uid: true`) or `--gid-owner N`: the
    /// sending socket's owner; packets without a local socket never match
    /// (so `!` matches them), as xt_owner does.
    Owner {
        uid: bool,
        id: u32,
    },
}

impl Table {
    pub fn new(kind: TableKind) -> Table {
        let mut t = Table {
            kind,
            chains: Vec::new(),
            by_name: BTreeMap::new(),
        };
        for c in kind.builtin_chains() {
            t.add_chain(c, Some(Policy::Accept));
        }
        t
    }
    pub fn add_chain(&mut self, name: &str, policy: Option<Policy>) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            if policy.is_some() {
                self.chains[i].policy = policy;
            }
            return i;
        }
        self.chains.push(Chain {
            name: name.to_string(),
            policy,
            rules: Vec::new(),
            index: None,
        });
        let i = self.chains.len() - 1;
        self.by_name.insert(name.to_string(), i);
        i
    }
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.by_name.get(name).map(|&i| &self.chains[i])
    }
}

impl Ruleset {
    /// An empty ruleset: every table with its built-in chains, policies ACCEPT.
    pub fn empty() -> Ruleset {
        let mut r = Ruleset::default();
        for k in TableKind::ALL {
            r.tables.insert(k, Table::new(k));
        }
        r
    }

    /// Parses `iptables-save` text. `source` names the input in errors.
    pub fn parse(text: &str, source: &str) -> Result<Ruleset, ParseError> {
        parse::parse_ruleset(text, source, None)
    }

    /// Applies `iptables-restore --noflush` input on top of this ruleset:
    /// tables are kept, rules appended (`-A`) or inserted (`-I`), new chains
    /// made, and a user chain declared again is flushed, as iptables-restore
    /// does with --noflush.
    pub fn restore_noflush(&mut self, text: &str, source: &str) -> Result<(), ParseError> {
        let base = std::mem::take(self);
        match parse::parse_ruleset(text, source, Some(base.clone())) {
            Ok(r) => {
                *self = r;
                Ok(())
            }
            Err(e) => {
                *self = base;
                Err(e)
            }
        }
    }

    pub fn table(&self, k: TableKind) -> &Table {
        self.tables.get(&k).expect("every table exists")
    }

    /// Inserts a rule (`-A CHAIN args` or just `args`) at position `pos` of
    /// `chain` (creating the chain if it does not exist), then re-resolves
    /// jumps and rebuilds indexes, as `iptables -I` would.
    pub fn insert_rule(
        &mut self,
        table: TableKind,
        chain: &str,
        pos: usize,
        text: &str,
        source: &str,
    ) -> Result<(), ParseError> {
        let args = text
            .strip_prefix("-A ")
            .or_else(|| text.strip_prefix("-I "))
            .map(|r| r.split_once(' ').map(|x| x.1).unwrap_or(""))
            .unwrap_or(text);
        let rule = parse::parse_rule_args(args, source, 0, &mut self.warnings)?;
        let t = self.tables.get_mut(&table).expect("every table exists");
        let ci = t.add_chain(chain, None);
        let rules = &mut t.chains[ci].rules;
        let pos = pos.min(rules.len());
        rules.insert(pos, rule);
        parse::resolve_table(t, source)?;
        Ok(())
    }

    /// The ruleset as `iptables-save` prints it.
    pub fn to_save_text(&self) -> String {
        let mut out = String::new();
        for (k, t) in &self.tables {
            let _ = k;
            out.push_str(&format!("*{}\n", t.kind.name()));
            for c in &t.chains {
                let pol = match c.policy {
                    Some(Policy::Accept) => "ACCEPT",
                    Some(Policy::Drop) => "DROP",
                    None => "-",
                };
                out.push_str(&format!(":{} {} [0:0]\n", c.name, pol));
            }
            for c in &t.chains {
                for r in &c.rules {
                    out.push_str(&format!("-A {} {}\n", c.name, r.text));
                }
            }
            out.push_str("COMMIT\n");
        }
        out
    }

    /// Number of rules across all tables.
    pub fn rule_count(&self) -> usize {
        self.tables
            .values()
            .map(|t| t.chains.iter().map(|c| c.rules.len()).sum::<usize>())
            .sum()
    }
}
