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
//! - IPv6 (`ip6tables-save`, [`Ruleset::parse_v6`]) is parsed into typed
//!   v6 conditions and run on IPv6 packets at the IPv6 hooks
//!   ([`Family::V6`], `netfilter::hook6`); NETMAP and the IPv6 values of
//!   conntrack, iprange and recent are kept unmodelled.
//! - A match or target libxtables knows but podpath has no model of is kept
//!   as [`CondKind::Unmodelled`] / [`targets::ExtTarget::Unmodelled`]
//!   and listed in [`Ruleset::unmodelled`].
//! - Counters are parsed and ignored; `-m nfacct` always matches.
//! - `LOG`, `NFLOG`, `ULOG` and `AUDIT` record a trace step instead of
//!   writing a log; `TCPMSS` rewrites an MSS option the SYN carries and
//!   inserts none into one without (the kernel adds one), `CHECKSUM`
//!   and `CLASSIFY` change nothing podpath models; `CT --zone/--helper`
//!   are recorded, not applied; `NFQUEUE`/`QUEUE` have no listener (drop,
//!   or accept with `--queue-bypass`) ([`targets`]); `TTL`, `TOS`,
//!   `DSCP` and `ECN` change the packet's view at once and its header at
//!   the end of the hook ([`super::mangle`]); `SET` changes the host's
//!   ipsets (a hash:net element added as a /32); `TEE` sends an untracked
//!   clone to its gateway (straight to POSTROUTING).
//! - `-m time` reads the virtual clock as UTC from 1970-01-01; `-m
//!   hashlimit` buckets never expire; `-m pkttype` comes from the IP
//!   destination; `-m connlimit` counts the host's live connections;
//!   `-m helper` never matches, `-m policy` sees no IPsec ([`mod@matches`]).
//! - A dump alone is not checked against the machine's ipsets, nfacct
//!   objects and connlabel.conf label names, which iptables-restore looks
//!   up; [`Ruleset::check_machine`] checks them where the machine is
//!   known ([`machine`]).
//! - The option table of every extension (`extensions.rs`) is generated
//!   from iptables' own sources: names it lacks are refused as
//!   libxtables refuses them.

pub mod eval;
pub(crate) mod extensions;
mod fcheck;
pub mod machine;
pub mod matches;
pub mod parse;
pub mod targets;
pub(crate) mod xopts;

#[cfg(test)]
mod ext_tests;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::{Ipv4Net, Ipv6Net};

pub(crate) use fcheck::{option_scope_error, scope_error, Given};
pub use machine::Machine;
pub(crate) use matches::ExtOpts;
pub use matches::{CmpOp, CtField, HashlimitSpec, TimeSpec};
pub(crate) use targets::{build as build_target, ExtTarget};

use super::{RejectWith, TableKind, Target};
pub use parse::ParseError;

/// A built-in chain's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

/// The address family of a ruleset: `iptables` (IPv4, evaluated) or
/// `ip6tables` (IPv6, run on IPv6 packets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    V4,
    V6,
}

/// The whole netfilter configuration of one host.
#[derive(Clone, Debug, Default)]
pub struct Ruleset {
    pub family: Family,
    pub tables: BTreeMap<TableKind, Table>,
    /// Non-fatal remarks from parsing (e.g. an unquoted multi-word comment).
    pub warnings: Vec<String>,
    /// What iptables-restore loads but podpath does not evaluate, by line.
    pub unmodelled: Vec<super::Unmodelled>,
    /// A `-m connbytes` rule is loaded: conntrack accounting is forced on
    /// (xt_connbytes.c connbytes_mt_check).
    pub ct_acct: bool,
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
    /// What of this rule podpath keeps without a model (`-m string`,
    /// `-j TEE`), with the rule's line.
    pub unmodelled: Vec<super::Unmodelled>,
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

/// How `--chunk-types` combines its list (SCTP_CHUNK_MATCH_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SctpChunkMode {
    Any,
    All,
    Only,
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
    /// `-m sctp --chunk-types any|all|only LIST` (xt_sctp.c
    /// `match_packet`): `map` the chunk types listed (bit per type),
    /// `flags` (type, flag bits, mask) the flags a listed chunk must have.
    SctpChunks {
        mode: SctpChunkMode,
        map: [u64; 4],
        flags: Vec<(u8, u8, u8)>,
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
        /// The range's last id (`--uid-owner 0-10`; `id` for one id).
        hi: u32,
    },
    /// `-m owner --uid-owner NAME` / `--gid-owner NAME` that no passwd or
    /// group file given resolves (libxt_owner.c owner_mt_parse asks
    /// getpwnam/getgrnam of the machine that loads the rules;
    /// iptables-save prints ids, an iptables-restore input may hold
    /// names): kept, never matching unless `--assume-unmodelled match`
    /// ([`crate::net::names`]; [`Ruleset::resolve_names`] turns it into
    /// [`CondKind::Owner`]).
    OwnerName {
        uid: bool,
        name: String,
    },
    /// `-s`/`-d` with a mask that is not a prefix (`10.11.12.13/255.0.12.0`:
    /// xtables_ipparse_multiple takes any dotted mask): (address & mask, mask).
    SrcMask(Ipv4Addr, Ipv4Addr),
    DstMask(Ipv4Addr, Ipv4Addr),
    /// ip6tables `-s`/`-d`.
    Src6(Ipv6Net),
    Dst6(Ipv6Net),
    /// ip6tables `--icmpv6-type` (libip6t_icmp6.c); `ty` 255 is any.
    Icmp6Type {
        ty: u8,
        code: Option<u8>,
    },
    /// `-m ttl --ttl-eq/--ttl-lt/--ttl-gt N` (net/ipv4/netfilter/ipt_ttl.c
    /// ttl_mt); ip6tables `-m hl --hl-eq/lt/gt` (ip6t_hl.c) with `v6`.
    Ttl {
        op: CmpOp,
        value: u8,
        v6: bool,
    },
    /// `-m pkttype --pkt-type` (xt_pkttype.c): PACKET_HOST 0, BROADCAST 1,
    /// MULTICAST 2, OTHERHOST 3.
    PktType(u8),
    /// `-m length --length MIN[:MAX]` (xt_length.c length_mt: the IP
    /// total length).
    Length(u16, u16),
    /// `-m mac --mac-source XX:..` (xt_mac.c mac_mt).
    MacSource([u8; 6]),
    /// `-m tos --tos VALUE[/MASK]` (xt_dscp.c tos_mt).
    Tos {
        value: u8,
        mask: u8,
    },
    /// `-m dscp --dscp N` (xt_dscp.c dscp_mt).
    Dscp(u8),
    /// `-m ecn --ecn-ip-ect N` / `--ecn-tcp-cwr` / `--ecn-tcp-ece`
    /// (xt_ecn.c): one condition per option.
    EcnIp(u8),
    EcnTcp {
        cwr: bool,
    },
    /// One `-m conntrack` test beyond `--ctstate` (xt_conntrack.c
    /// conntrack_mt).
    Ct(CtField),
    /// `-m time` (xt_time.c time_mt) on the virtual clock.
    Time(Box<TimeSpec>),
    /// `-m hashlimit` (xt_hashlimit.c hashlimit_mt): token buckets per
    /// hashed key on the virtual clock.
    Hashlimit(Box<HashlimitSpec>),
    /// `-m rpfilter` (net/ipv4/netfilter/ipt_rpfilter.c rpfilter_mt).
    Rpfilter {
        loose: bool,
        validmark: bool,
        accept_local: bool,
    },
    /// `-m connlimit` (xt_connlimit.c): connections of the key (source or
    /// destination address under `mask`) compared with `limit`.
    Connlimit {
        above: bool,
        limit: u32,
        mask: u8,
        daddr: bool,
    },
    /// `-m connbytes --connbytes FROM[:TO] --connbytes-dir D
    /// --connbytes-mode M` (xt_connbytes.c).
    Connbytes {
        from: u64,
        to: u64,
        /// 0 original, 1 reply, 2 both.
        dir: u8,
        /// 0 packets, 1 bytes, 2 avgpkt.
        mode: u8,
    },
    /// `-m helper --helper NAME` (xt_helper.c): the connection's helper.
    Helper(String),
    /// `-m devgroup --src-group/--dst-group G[/MASK]` (xt_devgroup.c).
    Devgroup {
        src: Option<(u32, u32)>,
        dst: Option<(u32, u32)>,
    },
    /// `-m policy` (xt_policy.c): no IPsec in podpath, so a packet never
    /// has a policy; `--pol none` holds, `--pol ipsec` never does.
    Policy {
        ipsec: bool,
    },
    /// `-m socket [--transparent] [--nowildcard] [--restore-skmark]`
    /// (xt_socket.c `socket_match`): a local socket for the packet.
    Socket {
        transparent: bool,
        nowildcard: bool,
        restore_skmark: bool,
    },
    /// An ip6tables option of a modelled match with an IPv6 value (an
    /// address, range or mask of conntrack, iprange, recent), kept as
    /// written: a v6 ruleset is not evaluated.
    V6Kept(String),
    /// A match (or one option of one) libxtables knows and podpath has no
    /// model of (`-m string`, `-m u32`): it holds as `EvalEnv.assume` says.
    Unmodelled(String),
}

impl Rule {
    /// Whether loading this rule turns conntrack accounting on (`-m
    /// connbytes`).
    pub fn forces_ct_acct(&self) -> bool {
        self.conds
            .iter()
            .any(|c| matches!(c.kind, CondKind::Connbytes { .. }))
    }
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

    /// An empty ip6tables ruleset.
    pub fn empty_v6() -> Ruleset {
        let mut r = Ruleset::empty();
        r.family = Family::V6;
        r
    }

    /// Parses `iptables-save` text. `source` names the input in errors.
    pub fn parse(text: &str, source: &str) -> Result<Ruleset, ParseError> {
        parse::parse_ruleset(text, source, None, Family::V4)
    }

    /// Parses `ip6tables-save` text: kept with typed v6 conditions, not
    /// evaluated (IPv6 is a later issue).
    pub fn parse_v6(text: &str, source: &str) -> Result<Ruleset, ParseError> {
        parse::parse_ruleset(text, source, None, Family::V6)
    }

    /// Applies `iptables-restore --noflush` input on top of this ruleset:
    /// tables are kept, rules appended (`-A`) or inserted (`-I`), new chains
    /// made, and a user chain declared again is flushed, as iptables-restore
    /// does with --noflush.
    pub fn restore_noflush(&mut self, text: &str, source: &str) -> Result<(), ParseError> {
        let base = std::mem::take(self);
        let family = base.family;
        match parse::parse_ruleset(text, source, Some(base.clone()), family) {
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

    /// Resolves `-m owner --uid-owner NAME`/`--gid-owner NAME` with the
    /// dumped machine's passwd and group files, as iptables-restore on it
    /// does (libxt_owner.c owner_mt_parse: getpwnam/getgrnam): a name the
    /// file has becomes its id (and the rule's text says the id, as
    /// iptables-save prints it); a name a given file lacks is refused
    /// with iptables' words (xtables.c xtables_param_act XTF_BAD_VALUE:
    /// `owner: Bad value for "--uid-owner" option: "NAME"`) at the rule's
    /// line; without the file the name stays unresolved
    /// ([`Ruleset::unresolved`]).
    pub fn resolve_names(
        &mut self,
        etc: &crate::net::names::Etc,
        source: &str,
    ) -> Result<(), ParseError> {
        use crate::net::names::{Db, Lookup};
        for t in self.tables.values_mut() {
            for c in &mut t.chains {
                for r in &mut c.rules {
                    for cond in &mut r.conds {
                        let CondKind::OwnerName { uid, name } = &cond.kind else {
                            continue;
                        };
                        let (uid, name) = (*uid, name.clone());
                        let (db, opt) = if uid {
                            (Db::Passwd, "--uid-owner")
                        } else {
                            (Db::Group, "--gid-owner")
                        };
                        match etc.id(db, &name) {
                            Lookup::Found(id) => {
                                cond.kind = CondKind::Owner { uid, id, hi: id };
                                r.text = replace_word_pair(&r.text, opt, &name, &id.to_string());
                            }
                            Lookup::Missing => {
                                return Err(ParseError {
                                    file: source.to_string(),
                                    line: r.line,
                                    column: 0,
                                    message: format!(
                                        "owner: Bad value for \"{opt}\" option: \"{name}\""
                                    ),
                                    text: r.text.clone(),
                                })
                            }
                            Lookup::NoDb => {}
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The owner names no passwd or group file given resolved, by line
    /// (see [`crate::net::names`]).
    pub fn unresolved(&self) -> Vec<super::Unmodelled> {
        let mut out = Vec::new();
        for r in self
            .tables
            .values()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
        {
            for cond in &r.conds {
                if let CondKind::OwnerName { uid, name } = &cond.kind {
                    let db = if *uid {
                        crate::net::names::Db::Passwd
                    } else {
                        crate::net::names::Db::Group
                    };
                    out.push(super::Unmodelled {
                        line: r.line,
                        construct: format!(
                            "-m owner --{}-owner {name}",
                            if *uid { "uid" } else { "gid" }
                        ),
                        effect: format!("{}: treated as not matching", db.needs_file()),
                    });
                }
            }
        }
        out.sort();
        out
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
        let rule = parse::parse_rule_args(args, source, 0, &mut self.warnings, self.family)?;
        self.unmodelled.extend(rule.unmodelled.iter().cloned());
        self.ct_acct |= rule.forces_ct_acct();
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
            // an empty security table is left out (kept loadable where the
            // kernel has no iptable_security)
            let empty = t
                .chains
                .iter()
                .all(|c| c.rules.is_empty() && matches!(c.policy, Some(Policy::Accept) | None))
                && t.chains.len() == k.builtin_chains().len();
            if *k == TableKind::Security && empty {
                continue;
            }
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

/// `text` with the word after `opt` that is `old` replaced by `new`
/// (`--uid-owner java` → `--uid-owner 1337`).
fn replace_word_pair(text: &str, opt: &str, old: &str, new: &str) -> String {
    let mut w: Vec<&str> = text.split(' ').collect();
    for i in 1..w.len() {
        if w[i - 1] == opt && w[i] == old {
            w[i] = new;
        }
    }
    w.join(" ")
}
