//! felix's iptables rules as values, and their two texts: the one felix
//! writes to `iptables-restore` (and hashes into the `cali:` comment), and
//! the one `iptables-save` prints back on the node.
//!
//! Read from projectcalico/calico v3.32.1:
//! - `felix/iptables/match_builder.go` (each match's fragment: `-m mark
//!   --mark 0/%#x`, `--source`, `-m set --match-set NAME src`, `-m
//!   multiport --destination-ports 80,90:99`, ...) and
//!   `felix/iptables/actions.go` (`--jump MARK --set-mark %#x/%#x`,
//!   `ClearMarkAction`: `--set-mark 0/%#x`, `--goto`, `--jump RETURN`);
//! - `felix/iptables/renderer.go` (`renderInner`: `-A CHAIN`, the hash
//!   comment, the comments, the match, the action; `RuleHashes` renders
//!   with `HASH` in place of the hash comment);
//! - `felix/generictables/rules.go` (`RuleHashes`: SHA-224 chained from
//!   the chain name over each rule's text, base64url, 16 characters).
//!
//! What `iptables-save` prints (iptables `iptables/iptables.c`
//! `print_rule4`/`save_rule`: `-s`, `-d`, `-i`, `-o`, `-p` first, then the
//! matches in order, then the target; `extensions/libxt_MARK.c`
//! `mark_tg_save`: `--set-xmark value/mask`, where `--set-mark v/m` was
//! parsed as mask `m | v` (`mark_tg_parse`); `libxt_mark.c` `print_mark`:
//! `0x%x/0x%x`; `libxt_multiport.c` `multiport_save1`: `--dports`,
//! `--sports`; protocol 4 by its /etc/protocols name `ipencap`).

use sha2::{Digest, Sha224};

/// A match criterion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum M {
    /// `-p NAME` (or number), negated when true.
    Proto(String, bool),
    Src(String, bool),
    Dst(String, bool),
    InIf(String),
    OutIf(String),
    /// `-m set [!] --match-set NAME FLAGS`.
    Set {
        name: String,
        flags: &'static str,
        neg: bool,
    },
    /// `-m multiport [!] --destination-ports|--source-ports`.
    Ports {
        dst: bool,
        ranges: Vec<(u16, u16)>,
    },
    /// `-m mark --mark 0/BIT`
    MarkClear(u32),
    /// `-m mark ! --mark 0/BITS`
    MarkNotClear(u32),
    /// `-m mark --mark BIT/BIT`
    MarkSet(u32),
    /// `-m conntrack --ctstate STATES`
    Ct(&'static str),
    /// `-m addrtype --dst-type LOCAL`
    DstLocal,
    /// `-m icmp6 --icmpv6-type N` (`ICMPV6Type`)
    Icmp6Type(u8),
}

/// A rule's action.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum A {
    #[default]
    None,
    Jump(String),
    Goto(String),
    Accept,
    Drop,
    Return,
    /// `SetMarkAction`: the bit set, mask the bit.
    SetMark(u32),
    /// `ClearMarkAction`.
    ClearMark(u32),
    /// `SetMaskedMarkAction`.
    MaskedMark(u32, u32),
}

/// One rule: its matches, its action, its comments (after the hash).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub m: Vec<M>,
    pub a: A,
    pub comments: Vec<String>,
}

/// A chain felix owns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// Go's `%#x`.
fn hx(v: u32) -> String {
    format!("{v:#x}")
}

fn ports(r: &[(u16, u16)]) -> String {
    r.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}:{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl M {
    /// felix's fragment.
    pub fn felix(&self) -> String {
        let not = |n: bool| if n { "! " } else { "" };
        match self {
            M::Proto(p, n) => format!("{}-p {p}", not(*n)),
            M::Src(c, n) => format!("{}--source {c}", not(*n)),
            M::Dst(c, n) => format!("{}--destination {c}", not(*n)),
            M::InIf(i) => format!("--in-interface {i}"),
            M::OutIf(i) => format!("--out-interface {i}"),
            M::Set { name, flags, neg } => {
                format!("-m set {}--match-set {name} {flags}", not(*neg))
            }
            M::Ports { dst, ranges } => format!(
                "-m multiport --{}-ports {}",
                if *dst { "destination" } else { "source" },
                ports(ranges)
            ),
            M::MarkClear(b) => format!("-m mark --mark 0/{}", hx(*b)),
            M::MarkNotClear(b) => format!("-m mark ! --mark 0/{}", hx(*b)),
            M::MarkSet(b) => format!("-m mark --mark {}/{}", hx(*b), hx(*b)),
            M::Ct(s) => format!("-m conntrack --ctstate {s}"),
            M::DstLocal => "-m addrtype --dst-type LOCAL".into(),
            M::Icmp6Type(t) => format!("-m icmp6 --icmpv6-type {t}"),
        }
    }

    /// Whether iptables-save prints it in the rule's IP part.
    fn ip_part(&self) -> Option<(u8, String)> {
        let not = |n: bool| if n { "! " } else { "" };
        match self {
            M::Src(c, n) => Some((0, format!("{}-s {c}", not(*n)))),
            M::Dst(c, n) => Some((1, format!("{}-d {c}", not(*n)))),
            M::InIf(i) => Some((2, format!("-i {i}"))),
            M::OutIf(i) => Some((3, format!("-o {i}"))),
            M::Proto(p, n) => {
                let name = match p.as_str() {
                    "4" => "ipencap",
                    "6" => "tcp",
                    "17" => "udp",
                    "132" => "sctp",
                    "58" => "ipv6-icmp",
                    x => x,
                };
                Some((4, format!("{}-p {name}", not(*n))))
            }
            _ => None,
        }
    }

    /// iptables-save's text of a match (not of the IP part).
    fn save(&self) -> String {
        match self {
            M::Ports { dst, ranges } => format!(
                "-m multiport --{} {}",
                if *dst { "dports" } else { "sports" },
                ports(ranges)
            ),
            M::MarkClear(b) => format!("-m mark --mark 0x0/{}", hx(*b)),
            M::MarkNotClear(b) => format!("-m mark ! --mark 0x0/{}", hx(*b)),
            other => other.felix(),
        }
    }
}

impl A {
    fn felix(&self) -> String {
        match self {
            A::None => String::new(),
            A::Jump(c) => format!("--jump {c}"),
            A::Goto(c) => format!("--goto {c}"),
            A::Accept => "--jump ACCEPT".into(),
            A::Drop => "--jump DROP".into(),
            A::Return => "--jump RETURN".into(),
            A::SetMark(b) => format!("--jump MARK --set-mark {}/{}", hx(*b), hx(*b)),
            A::ClearMark(b) => format!("--jump MARK --set-mark 0/{}", hx(*b)),
            A::MaskedMark(v, m) => format!("--jump MARK --set-mark {}/{}", hx(*v), hx(*m)),
        }
    }

    fn save(&self) -> String {
        let xmark = |v: u32, m: u32| format!("-j MARK --set-xmark {}/{}", hx(v), hx(m | v));
        match self {
            A::None => String::new(),
            A::Jump(c) => format!("-j {c}"),
            A::Goto(c) => format!("-g {c}"),
            A::Accept => "-j ACCEPT".into(),
            A::Drop => "-j DROP".into(),
            A::Return => "-j RETURN".into(),
            A::SetMark(b) => xmark(*b, *b),
            A::ClearMark(b) => xmark(0, *b),
            A::MaskedMark(v, m) => xmark(*v, *m),
        }
    }
}

/// `escapeComment`: anything but `[\w @%+=:,./-]` becomes `_`; at most
/// 256 characters (`truncateComment`).
fn escape_comment(c: &str) -> String {
    let s: String = c
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || " _@%+=:,./-".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    s.chars().take(256).collect()
}

impl Rule {
    pub fn new(m: Vec<M>, a: A) -> Self {
        Rule {
            m,
            a,
            comments: Vec::new(),
        }
    }

    pub fn with_comment(mut self, c: impl Into<String>) -> Self {
        self.comments.push(c.into());
        self
    }

    /// The match text (`MatchCriteria.Render`).
    pub fn match_text(&self) -> String {
        self.m.iter().map(M::felix).collect::<Vec<_>>().join(" ")
    }

    /// `RenderAppend(rule, chain, hash)`: with hash `HASH` as felix hashes
    /// it, `""` for no hash comment.
    pub fn felix(&self, chain: &str, hash: &str) -> String {
        let mut f = vec!["-A".to_string(), chain.to_string()];
        match hash {
            "" => {}
            "HASH" => f.push("HASH".into()),
            h => f.push(format!("-m comment --comment \"cali:{h}\"")),
        }
        for c in &self.comments {
            f.push(format!("-m comment --comment \"{}\"", escape_comment(c)));
        }
        let m = self.match_text();
        if !m.is_empty() {
            f.push(m);
        }
        let a = self.a.felix();
        if !a.is_empty() {
            f.push(a);
        }
        f.join(" ")
    }

    /// The line `iptables-save` prints for it (without `-A CHAIN `).
    pub fn save(&self, hash: &str) -> String {
        let mut ip: Vec<(u8, String)> = self.m.iter().filter_map(M::ip_part).collect();
        ip.sort_by_key(|x| x.0);
        let mut f: Vec<String> = ip.into_iter().map(|x| x.1).collect();
        f.push(format!("-m comment --comment \"cali:{hash}\""));
        for c in &self.comments {
            f.push(format!("-m comment --comment \"{}\"", escape_comment(c)));
        }
        for m in &self.m {
            if m.ip_part().is_none() {
                f.push(m.save());
            }
        }
        let a = self.a.save();
        if !a.is_empty() {
            f.push(a);
        }
        f.join(" ")
    }
}

/// `RuleHashes`: each rule's `cali:` id.
pub fn rule_hashes(chain: &str, rules: &[Rule]) -> Vec<String> {
    let mut hash = Sha224::digest(chain.as_bytes()).to_vec();
    rules
        .iter()
        .map(|r| {
            let mut s = Sha224::new();
            s.update(&hash);
            s.update(r.felix(chain, "HASH").as_bytes());
            hash = s.finalize().to_vec();
            data_encoding::BASE64URL_NOPAD.encode(&hash)[..16].to_string()
        })
        .collect()
}

/// `hash.GetLengthLimitedID`: `prefix + suffix`, or when longer than
/// `max` (or exactly `max` starting with `_`), `prefix_` and the start of
/// base64url(SHA-256(suffix)).
pub fn length_limited_id(prefix: &str, suffix: &str, max: usize) -> String {
    use sha2::Sha256;
    let suffix = if suffix.is_empty() { "_" } else { suffix };
    let total = prefix.len() + suffix.len();
    if total > max || (total == max && suffix.starts_with('_')) {
        let h = data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(suffix.as_bytes()));
        let left = max.saturating_sub(1 + prefix.len());
        return format!("{prefix}_{}", &h[..left.min(h.len())]);
    }
    format!("{prefix}{suffix}")
}

/// iptables' chain name limit (`iptables.MaxChainNameLength`).
pub const MAX_CHAIN_NAME: usize = 28;
