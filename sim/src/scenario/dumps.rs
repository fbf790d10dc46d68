//! The dumps a real machine holds, as `podpath inspect` reads them: which
//! tool wrote a file ([`detect`]), and what podpath understands of it
//! ([`inspect`]): counts of what it loads, what it models with a named
//! simplification, what it keeps without evaluating (with the line), and
//! the error the real tool would give. The same readers the bundle loader
//! uses (`bundle.rs`) decide what is modelled: device kinds
//! ([`link_kind`]), route types (`RouteType::from_name`), sysctl keys
//! (`Sysctl::is_known`).
//!
//! Formats: `iptables-save`, `ip6tables-save`, `nft list ruleset`, `nft -f`
//! scripts, `ipset save`, `ipvsadm -S [-n]`, `ip -j addr|link|route|rule|
//! neigh`, `bridge -j fdb|vlan`, `sysctl -a`, `conntrack -L`, resolv.conf.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::net::fib::RouteType;
use crate::net::host::DevKind;
use crate::net::names::Etc;
use crate::net::netfilter::ipset::{Family, IpsetStore};
use crate::net::netfilter::nftables::{IncludeReader, Nft};
use crate::net::netfilter::{Ruleset, Unmodelled};
use crate::net::sysctl::Sysctl;

/// The tool a dump comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    IptablesSave,
    Ip6tablesSave,
    NftRuleset,
    NftScript,
    IpsetSave,
    IpvsadmSave,
    IpAddr,
    IpLink,
    IpRoute,
    IpRule,
    IpNeigh,
    BridgeFdb,
    BridgeVlan,
    Sysctl,
    ConntrackList,
    ResolvConf,
    /// `/etc/passwd`, `/etc/group`, `/etc/hosts` (by file name): the
    /// names some tools resolve when they load rules
    /// ([`crate::net::names`]).
    Passwd,
    Group,
    Hosts,
    /// A JSON list with nothing in it (any `ip -j` command on nothing).
    EmptyJson,
    /// No text at all (`iptables-save` with no table loaded prints none).
    Empty,
    Unknown,
}

impl Format {
    /// The command that writes it, as `inspect` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Format::IptablesSave => "iptables-save",
            Format::Ip6tablesSave => "ip6tables-save",
            Format::NftRuleset => "nft list ruleset",
            Format::NftScript => "nft -f script",
            Format::IpsetSave => "ipset save",
            Format::IpvsadmSave => "ipvsadm -S",
            Format::IpAddr => "ip -j addr",
            Format::IpLink => "ip -j link",
            Format::IpRoute => "ip -j route",
            Format::IpRule => "ip -j rule",
            Format::IpNeigh => "ip -j neigh",
            Format::BridgeFdb => "bridge -j fdb",
            Format::BridgeVlan => "bridge -j vlan",
            Format::Sysctl => "sysctl -a",
            Format::ConntrackList => "conntrack -L",
            Format::ResolvConf => "resolv.conf",
            Format::Passwd => "/etc/passwd",
            Format::Group => "/etc/group",
            Format::Hosts => "/etc/hosts",
            Format::EmptyJson => "empty JSON list",
            Format::Empty => "empty file",
            Format::Unknown => "unknown",
        }
    }
}

/// What podpath makes of one dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub format: Option<Format>,
    /// What it loads, by kind (`rules`, `sets`, `routes`...).
    pub objects: BTreeMap<String, usize>,
    /// What is modelled with a simplification (the simplification named).
    pub simplified: Vec<String>,
    /// What it keeps but does not evaluate, with lines.
    pub unmodelled: Vec<Unmodelled>,
    /// IPv6-only constructs kept for IPv6 (exact no-ops on the IPv4
    /// packets podpath carries; see `Nft::ipv6_kept`).
    pub ipv6_kept: Vec<Unmodelled>,
    /// Names only the dumped machine's database resolves (a user, group or
    /// host name without the passwd, group or hosts file): kept apart from
    /// what is unmodelled; never matching unless `--assume-unmodelled
    /// match` ([`crate::net::names`]).
    pub unresolved: Vec<Unmodelled>,
    /// Remarks that are neither (a device left out, a key not read).
    pub warnings: Vec<String>,
    /// What the real tool would refuse: the line (0: none) and the reason.
    pub error: Option<(usize, String)>,
}

impl Report {
    fn count(&mut self, k: &str, n: usize) {
        *self.objects.entry(k.to_string()).or_default() += n;
    }
    fn fail(&mut self, line: usize, msg: impl Into<String>) {
        self.error = Some((line, msg.into()));
    }
}

/// The device kinds podpath models, from `ip -j -d link` (`info_kind`,
/// `link_type`), as the bundle loader takes them.
pub fn dev_kind(info_kind: &str, link_type: Option<&str>) -> Option<DevKind> {
    Some(match (info_kind, link_type) {
        (_, Some("loopback")) => DevKind::Loopback,
        ("veth", _) => DevKind::Veth,
        ("bridge", _) => DevKind::Bridge,
        ("vxlan", _) => DevKind::Vxlan,
        ("dummy", _) => DevKind::Dummy,
        ("", Some("ether")) => DevKind::Veth,
        _ => return None,
    })
}

/// The kind of one link of `ip -j [-d] link`: `linkinfo.info_kind` and
/// `link_type` as [`dev_kind`] reads them; a link without `linkinfo` is a
/// physical device (only a virtual device has rtnl_link_ops, whose `kind`
/// the kernel reports in IFLA_LINKINFO: net/core/rtnetlink.c
/// rtnl_link_fill → rtnl_link_info_fill), an Ethernet NIC. `ip -brief`
/// prints neither (iproute2 ip/ipaddress.c print_linkinfo_brief: ifname,
/// link/master, operstate, address, flags): its LOOPBACK flag names the
/// loopback and every other link is taken as an Ethernet NIC
/// ([`BRIEF_SIMPLIFIED`]).
pub fn link_kind(l: &Value) -> Option<DevKind> {
    let k = l["linkinfo"]["info_kind"].as_str().unwrap_or("");
    match l["link_type"].as_str() {
        Some(t) => dev_kind(k, Some(t)),
        None if l["linkinfo"].is_null() && l["ifname"].is_string() => {
            if arr_has(&l["flags"], "LOOPBACK") {
                Some(DevKind::Loopback)
            } else {
                Some(DevKind::Veth)
            }
        }
        None => dev_kind(k, None),
    }
}

/// What `ip -brief` costs (see [`link_kind`]).
pub const BRIEF_SIMPLIFIED: &str = "`ip -brief link` prints no device kind (iproute2 print_linkinfo_brief): the LOOPBACK link is the loopback, every other link is taken as an Ethernet NIC, a bridge, bond, vxlan or vlan among them included (write the dump with `ip -j -d link` to have them modelled as what they are)";

/// What a `broadcast` route costs.
pub const BROADCAST_SIMPLIFIED: &str = "a broadcast route delivers locally as a broadcast (route.c brd_input) and sends to ff:ff:ff:ff:ff:ff; net.ipv4.conf.*.bc_forwarding (off by default) is not modelled";

fn arr_has(v: &Value, s: &str) -> bool {
    v.as_array().is_some_and(|a| a.iter().any(|x| x == s))
}

/// The NUD states podpath models, from `ip -j neigh` (`state[0]`), as
/// the bundle loader takes them: DELAY and PROBE as STALE.
pub fn neigh_state(s: &str) -> Option<crate::net::neigh::Nud> {
    use crate::net::neigh::Nud;
    Some(match s {
        "PERMANENT" => Nud::Permanent,
        "REACHABLE" => Nud::Reachable,
        "STALE" | "DELAY" | "PROBE" => Nud::Stale,
        _ => return None,
    })
}

/// Which tool wrote `text` (its file name breaks ties: `ip-addr.json`).
pub fn detect(file_name: &str, text: &str) -> Format {
    let t = text.trim_start();
    if t.is_empty() {
        return Format::Empty;
    }
    // the name databases, by their own names (etc/passwd in a bundle)
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base {
        "passwd" => return Format::Passwd,
        "group" => return Format::Group,
        "hosts" => return Format::Hosts,
        _ => {}
    }
    if t.starts_with('[') || t.starts_with('{') {
        return match serde_json::from_str::<Value>(t) {
            Ok(v) => detect_json(file_name, &v),
            Err(_) => Format::Unknown,
        };
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines
        .iter()
        .find(|l| !l.starts_with('#'))
        .copied()
        .unwrap_or("");
    let v6_header = lines
        .iter()
        .any(|l| l.starts_with('#') && l.contains("ip6tables-save"));
    if is_iptables(&lines) && (v6_header || looks_v6(&lines)) {
        return Format::Ip6tablesSave;
    }
    if is_iptables(&lines) {
        return Format::IptablesSave;
    }
    if let Some(f) = detect_nft(&lines) {
        return f;
    }
    let w: Vec<&str> = first.split_whitespace().collect();
    if matches!(w.first(), Some(&"create" | &"-N" | &"add" | &"-A"))
        && lines
            .iter()
            .any(|l| l.starts_with("create ") || l.starts_with("-N "))
        && !first.starts_with("-A -")
    {
        return Format::IpsetSave;
    }
    if lines.iter().all(|l| l.starts_with('#') || is_ipvsadm(l)) && !lines.is_empty() {
        return Format::IpvsadmSave;
    }
    if lines.iter().any(|l| is_conntrack(l)) {
        return Format::ConntrackList;
    }
    if lines
        .iter()
        .any(|l| l.starts_with("nameserver ") || l.starts_with("search "))
    {
        return Format::ResolvConf;
    }
    let kv = lines
        .iter()
        .filter(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| k.trim().contains('.'))
        })
        .count();
    if kv > 0 && kv * 2 >= lines.len() {
        return Format::Sysctl;
    }
    Format::Unknown
}

fn is_iptables(lines: &[&str]) -> bool {
    lines
        .iter()
        .any(|l| matches!(*l, "*filter" | "*nat" | "*mangle" | "*raw" | "*security"))
        && lines.contains(&"COMMIT")
}

fn looks_v6(lines: &[&str]) -> bool {
    // an IPv4 address given to -s/-d says iptables, whatever else is there
    let v4 = lines.iter().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.windows(2).any(|p| {
            matches!(p[0], "-s" | "-d" | "--source" | "--destination")
                && p[1].contains('.')
                && !p[1].contains(':')
        })
    });
    !v4 && lines.iter().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.contains(&"--icmpv6-type")
            || w.windows(2).any(|p| {
                (p[0] == "-p" && matches!(p[1], "ipv6-icmp" | "icmpv6" | "icmp6" | "58"))
                    || (matches!(p[0], "-s" | "-d") && p[1].contains(':'))
            })
    })
}

/// nft: a script has commands (`add table ...`, `flush ruleset`, `define`,
/// `include`, a `#!/usr/sbin/nft -f` line); a listing has only `table`
/// blocks.
fn detect_nft(lines: &[&str]) -> Option<Format> {
    const VERBS: &[&str] = &[
        "add", "insert", "delete", "flush", "create", "replace", "destroy", "reset",
    ];
    const OBJECTS: &[&str] = &[
        "table",
        "chain",
        "rule",
        "set",
        "map",
        "element",
        "flowtable",
        "counter",
        "quota",
        "limit",
        "ct",
        "ruleset",
        "synproxy",
        "secmark",
    ];
    let script = lines.iter().any(|l| {
        let mut w = l.split_whitespace();
        let (a, b) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
        (l.starts_with("#!") && l.contains("nft"))
            || a == "define"
            || a == "include"
            || (VERBS.contains(&a) && OBJECTS.contains(&b))
    });
    let tables = lines
        .iter()
        .any(|l| l.starts_with("table ") && l.ends_with('{'));
    match (script, tables) {
        (true, _) => Some(Format::NftScript),
        (false, true) => Some(Format::NftRuleset),
        _ => None,
    }
}

/// `-A -t|-u|-f ...` and `-a -t|-u|-f ... -r ...` (ipvsadm's save format).
fn is_ipvsadm(l: &str) -> bool {
    [
        "-A -t ",
        "-A -u ",
        "-A -f ",
        "-a -t ",
        "-a -u ",
        "-a -f ",
        "-A --tcp-service",
        "-A --udp-service",
        "-A --sctp-service",
        "-A --fwmark-service",
        "-a --",
        "-A --",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

/// `tcp 6 431999 ESTABLISHED src=...` or `ipv4 2 tcp 6 ...` (-o extended).
fn is_conntrack(l: &str) -> bool {
    let w: Vec<&str> = l.split_whitespace().collect();
    let proto_at = match w.first() {
        Some(&"ipv4" | &"ipv6") => 2,
        _ => 0,
    };
    w.get(proto_at).is_some_and(|p| {
        matches!(
            *p,
            "tcp" | "udp" | "icmp" | "icmpv6" | "sctp" | "dccp" | "udplite" | "gre" | "unknown"
        )
    }) && w.iter().any(|x| x.starts_with("src="))
        && w.iter().any(|x| x.starts_with("dst="))
}

fn detect_json(file_name: &str, v: &Value) -> Format {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        o @ Value::Object(_) => vec![o],
        _ => return Format::Unknown,
    };
    let by_name = || {
        let n = file_name
            .rsplit('/')
            .next()
            .unwrap_or(file_name)
            .replace("iproute2", "");
        [
            ("addr", Format::IpAddr),
            ("link", Format::IpLink),
            ("route", Format::IpRoute),
            ("rule", Format::IpRule),
            ("neigh", Format::IpNeigh),
            ("fdb", Format::BridgeFdb),
            ("vlan", Format::BridgeVlan),
        ]
        .iter()
        .find(|(k, _)| n.contains(k))
        .map(|(_, f)| *f)
    };
    let Some(first) = items.first() else {
        return by_name().unwrap_or(Format::EmptyJson);
    };
    let has = |k: &str| items.iter().any(|i| i.get(k).is_some());
    if has("addr_info") {
        Format::IpAddr
    } else if has("vlans") {
        Format::BridgeVlan
    } else if has("mtu") && has("ifname") {
        Format::IpLink
    } else if has("mac") && !has("dst") || has("mac") && has("ifname") && !has("lladdr") {
        Format::BridgeFdb
    } else if has("priority") && (has("table") || has("action") || has("src")) {
        Format::IpRule
    } else if has("lladdr") || (has("state") && first["state"].is_array() && has("dst")) {
        Format::IpNeigh
    } else if has("dst") || has("gateway") || has("dev") {
        Format::IpRoute
    } else {
        by_name().unwrap_or(Format::Unknown)
    }
}

/// Detects and reads one dump. `source` names it in errors.
pub fn inspect(file_name: &str, text: &str) -> Report {
    inspect_with(file_name, text, &|_| Ok(Vec::new()))
}

/// [`inspect`], an `nft -f` script's `include`s read through `read` (the
/// CLI reads them relative to the script's directory, as `nft -f` run
/// there does: nftables' scanner.l opens a `./` name from the working
/// directory).
pub fn inspect_with(file_name: &str, text: &str, read: IncludeReader) -> Report {
    inspect_etc(file_name, text, read, &Etc::default())
}

/// [`inspect_with`], the names the dump holds (`meta skgid NAME`, `-m
/// owner --uid-owner NAME`, an `ipvsadm -S` host name) resolved with the
/// dumped machine's name databases `etc` as the loading tool would: a
/// name a given database lacks is the tool's refusal; without the
/// database the name is listed in [`Report::unresolved`].
pub fn inspect_etc(file_name: &str, text: &str, read: IncludeReader, etc: &Etc) -> Report {
    let f = detect(file_name, text);
    let mut r = inspect_as_with(f, text, file_name, read, etc);
    r.format = Some(f);
    r
}

/// Reads a dump of a known format.
pub fn inspect_as(f: Format, text: &str, source: &str) -> Report {
    inspect_as_with(f, text, source, &|_| Ok(Vec::new()), &Etc::default())
}

fn inspect_as_with(f: Format, text: &str, source: &str, read: IncludeReader, etc: &Etc) -> Report {
    let mut r = Report {
        format: Some(f),
        ..Report::default()
    };
    match f {
        Format::IptablesSave => iptables(&mut r, text, source, false, etc),
        Format::Ip6tablesSave => iptables(&mut r, text, source, true, etc),
        Format::NftRuleset | Format::NftScript => nft(&mut r, f, text, read, etc),
        Format::IpsetSave => ipset(&mut r, text, source),
        Format::IpvsadmSave => ipvsadm(&mut r, text, source, etc),
        Format::Passwd | Format::Group => {
            r.count("names", crate::net::names::parse_ids(text).len());
        }
        Format::Hosts => {
            r.count(
                "IPv4 host names",
                crate::net::names::parse_hosts(text).len(),
            );
        }
        Format::ConntrackList => conntrack(&mut r, text),
        Format::Sysctl => sysctl(&mut r, text),
        Format::ResolvConf => {
            let n = text
                .lines()
                .filter(|l| l.trim_start().starts_with("nameserver"))
                .count();
            r.count("nameservers", n);
            if crate::app::ResolvConf::parse(text).is_none() {
                r.warnings.push("no nameserver line: ignored".into());
            }
        }
        Format::EmptyJson | Format::Empty => {}
        Format::Unknown => r.fail(0, "format not recognised (expected one of iptables-save, ip6tables-save, nft, ipset save, ipvsadm -S, ip -j, bridge -j, sysctl -a, conntrack -L)"),
        _ => match serde_json::from_str::<Value>(text) {
            Ok(v) => ip_json(&mut r, f, &v),
            Err(e) => r.fail(e.line(), e.to_string()),
        },
    }
    r
}

/// `iptables-save` (or, with `v6`, `ip6tables-save`, run on IPv6
/// packets).
fn iptables(r: &mut Report, text: &str, source: &str, v6: bool, etc: &Etc) {
    let parsed = if v6 {
        Ruleset::parse_v6(text, source)
    } else {
        Ruleset::parse(text, source)
    };
    let parsed = parsed.and_then(|mut rs| rs.resolve_names(etc, source).map(|()| rs));
    match parsed {
        Ok(rs) => {
            r.count("tables", rs.tables.len());
            let chains: usize = rs.tables.values().map(|t| t.chains.len()).sum();
            let rules: usize = rs
                .tables
                .values()
                .flat_map(|t| &t.chains)
                .map(|c| c.rules.len())
                .sum();
            r.count("chains", chains);
            r.count("rules", rules);
            r.unmodelled = rs.unmodelled.clone();
            r.unresolved = rs.unresolved();
            r.warnings = rs.warnings.clone();
            r.simplified
                .push("packet and byte counters ([n:m]) are parsed and ignored".into());
            if v6 {
                r.simplified.push(
                    "ip6tables' HL, TCPMSS, TOS, NFQUEUE, TEE, TPROXY and SYNPROXY targets are not applied to IPv6 packets; NETMAP and IPv6 values of conntrack, iprange and recent are kept unmodelled"
                        .into(),
                );
            }
            if text.contains("-j LOG") || text.contains("-j NFLOG") {
                r.simplified
                    .push("LOG/NFLOG write a trace step, not a kernel log line".into());
            }
            if text.contains("-m limit") {
                r.simplified.push(
                    "-m limit's token bucket refills in nanoseconds of virtual time, not jiffies"
                        .into(),
                );
            }
        }
        Err(e) => r.fail(e.line, e.message),
    }
}

fn nft(r: &mut Report, f: Format, text: &str, read: IncludeReader, etc: &Etc) {
    let parsed = if f == Format::NftRuleset {
        Nft::parse_listing(text)
    } else {
        Nft::parse_with(text, read)
    };
    let parsed = parsed.and_then(|mut n| n.resolve_names(etc).map(|()| n));
    match parsed {
        Ok(n) => {
            r.count("tables", n.tables.len());
            let chains = n.tables.iter().flat_map(|t| &t.chains);
            r.count("chains", chains.clone().count());
            r.count(
                "base chains",
                chains.clone().filter(|c| c.base.is_some()).count(),
            );
            r.count("rules", chains.map(|c| c.rules.len()).sum());
            let sets = n.tables.iter().flat_map(|t| t.sets.values());
            r.count("sets", sets.clone().filter(|s| !s.is_map).count());
            r.count("maps", sets.clone().filter(|s| s.is_map).count());
            r.count("elements", sets.map(|s| s.elements.len()).sum());
            r.unmodelled = n.unmodelled.clone();
            r.unresolved = n.unresolved();
            r.ipv6_kept = n.ipv6_kept.clone();
            r.simplified
                .push("rule counters are parsed and ignored".into());
            r.simplified
                .extend(n.frame_notes().into_iter().map(String::from));
            let fts = n
                .tables
                .iter()
                .flat_map(|t| t.objects.keys())
                .filter(|(k, _)| k == "flowtable")
                .count();
            if fts > 0 {
                r.count("flowtables", fts);
                r.simplified.push("flowtables run in software: `flow add` offloads as nft_flow_offload does and the fast path runs at their devices' ingress (no hardware offload, counters or VLAN/PPPoE encapsulation; no idle expiry during a run)".into());
            }
            if text.contains("iptables-nft") {
                r.simplified.push(
                    "tables managed by iptables-nft are left out (read from iptables-save)".into(),
                );
            }
        }
        Err(e) => r.fail(e.line, e.message),
    }
}

fn ipset(r: &mut Report, text: &str, source: &str) {
    match IpsetStore::parse(text, source) {
        Ok(st) => {
            r.count("sets", st.sets.len());
            r.count("elements", st.sets.values().map(|s| s.members.len()).sum());
            let v6 = st
                .sets
                .values()
                .filter(|s| s.family == Family::Inet6)
                .count();
            if v6 > 0 {
                r.count("inet6 sets", v6);
            }
            let all = || st.sets.values().flat_map(|s| &s.members);
            if st.sets.values().any(|s| s.timeout.is_some()) {
                r.simplified
                    .push("element timeouts are kept but never expire during a run".into());
            }
            if st.sets.values().any(|s| s.counters) || all().any(|m| m.packets.is_some()) {
                r.simplified
                    .push("packet/byte counters are kept, not updated".into());
            }
            if st.sets.values().any(|s| s.skbinfo) {
                r.simplified
                    .push("skbinfo is kept, not applied (SET --map-set)".into());
            }
            r.unmodelled = st.unmodelled.clone();
        }
        Err(e) => r.fail(e.line, e.kind.to_string()),
    }
}

fn ipvsadm(r: &mut Report, text: &str, source: &str, etc: &Etc) {
    match crate::net::ipvsadm::parse(text, source) {
        Ok(mut d) => {
            if let Some(hosts) = &etc.hosts {
                for (n, a) in d.resolve(hosts) {
                    r.warnings
                        .push(format!("host name '{n}' resolved to {a} from etc/hosts"));
                }
            }
            r.unresolved = d.unresolved.clone();
            r.count("services", d.services.len());
            r.count(
                "real servers",
                d.services.iter().map(|s| s.reals.len()).sum(),
            );
            r.unmodelled = d.unmodelled.clone();
            let sched = |n: &str| d.services.iter().any(|s| s.scheduler == n);
            if sched("lc") || sched("wlc") {
                r.simplified
                    .push(crate::net::ipvsadm::SIMPLIFIED[0].to_string());
            }
            if d.services
                .iter()
                .flat_map(|s| &s.reals)
                .any(|x| x.upper.is_some() || x.lower.is_some())
            {
                r.simplified
                    .push(crate::net::ipvsadm::SIMPLIFIED[1].to_string());
            }
            let v6 = d
                .services
                .iter()
                .filter(|s| {
                    matches!(
                        s.vaddr,
                        crate::net::ipvsadm::Vaddr::Addr(_, std::net::IpAddr::V6(_), _)
                            | crate::net::ipvsadm::Vaddr::Fwmark(_, true)
                    )
                })
                .count();
            if v6 > 0 {
                r.simplified.push(format!(
                    "{v6} IPv6 service(s) kept, evaluated when IPv6 lands"
                ));
            }
        }
        Err(e) => r.fail(e.line, e.message),
    }
}

fn conntrack(r: &mut Report, text: &str) {
    match crate::net::netfilter::ct_list::parse(text) {
        Ok(d) => {
            r.count("entries", d.entries.len());
            for e in &d.entries {
                r.count(&format!("{} entries", e.proto_name()), 1);
            }
            r.unmodelled = d.unmodelled.clone();
            let simp = crate::net::netfilter::ct_list::SIMPLIFIED;
            r.simplified.push(simp[0].to_string());
            if d.entries.iter().any(|e| e.proto == 6) {
                r.simplified.push(simp[1].to_string());
            }
            if d.entries.iter().any(|e| e.l3 == 10) {
                r.simplified.push(simp[2].to_string());
            }
            if d.entries.iter().any(|e| e.offloaded()) {
                r.simplified.push(simp[3].to_string());
            }
        }
        Err(e) => r.fail(e.line, e.message),
    }
}

/// `sysctl -a` lines as `(key, value)`, both trimmed (`key = value`, or
/// `key=value` as /etc/sysctl.conf has them); what the bundle loader reads.
pub fn sysctl_pairs(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|line| line.split_once(" = ").or_else(|| line.split_once('=')))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn sysctl(r: &mut Report, text: &str) {
    let pairs = sysctl_pairs(text);
    let keys = pairs.len();
    let known = pairs.iter().filter(|(k, _)| Sysctl::is_known(k)).count();
    r.count("keys", keys);
    r.count("keys podpath reads", known);
    r.simplified
        .push("keys podpath does not read are ignored (they change nothing it models)".into());
}

/// `ip -j ...` and `bridge -j ...`: what the bundle loader takes of them.
fn ip_json(r: &mut Report, f: Format, v: &Value) {
    let items: &[Value] = v.as_array().map(|a| a.as_slice()).unwrap_or(&[]);
    let left_out = |r: &mut Report, i: usize, what: String| {
        r.unmodelled.push(Unmodelled {
            line: i + 1,
            construct: what,
            effect: "left out of the host".into(),
        })
    };
    match f {
        Format::IpLink => {
            r.count("links", items.len());
            let brief = items
                .iter()
                .any(|l| l["link_type"].is_null() && l["linkinfo"].is_null());
            if brief {
                r.simplified.push(BRIEF_SIMPLIFIED.into());
            }
            for (i, l) in items.iter().enumerate() {
                let k = l["linkinfo"]["info_kind"].as_str().unwrap_or("");
                match link_kind(l) {
                    Some(_) => r.count("links modelled", 1),
                    None => left_out(
                        r,
                        i,
                        format!(
                            "ip link: {} (kind '{k}', link type {})",
                            l["ifname"].as_str().unwrap_or("?"),
                            l["link_type"].as_str().unwrap_or("?")
                        ),
                    ),
                }
            }
        }
        Format::IpAddr => {
            r.count("links", items.len());
            let fam = |name: &str| {
                items
                    .iter()
                    .flat_map(|l| l["addr_info"].as_array().into_iter().flatten())
                    .filter(|a| a["family"].as_str() == Some(name))
                    .count()
            };
            r.count("addresses", fam("inet"));
            let v6 = fam("inet6");
            if v6 > 0 {
                r.count("inet6 addresses", v6);
            }
        }
        Format::IpRoute => {
            r.count("routes", items.len());
            let mut tables = std::collections::BTreeSet::new();
            for (i, x) in items.iter().enumerate() {
                tables.insert(x["table"].to_string());
                let t = x["type"].as_str().unwrap_or("unicast");
                let dst = x["dst"].as_str().unwrap_or("");
                if dst.contains(':') {
                    r.count("inet6 routes", 1);
                } else if RouteType::from_name(t).is_none() {
                    left_out(r, i, format!("ip route: type {t} ({dst})"));
                }
            }
            r.count("tables", tables.len());
            if items
                .iter()
                .any(|x| x["type"].as_str() == Some("broadcast"))
            {
                r.simplified.push(BROADCAST_SIMPLIFIED.into());
            }
            if !items.iter().any(|x| x["table"].as_str() == Some("local")) {
                r.warnings.push("no route of table local: this is `ip -j route show` (the main table only); write it with `ip -j route show table all`".into());
            }
        }
        Format::IpRule => {
            r.count("rules", items.len());
            for (i, x) in items.iter().enumerate() {
                if let Some(a) = x["action"].as_str() {
                    if !matches!(a, "to_tbl" | "blackhole" | "unreachable" | "prohibit") {
                        left_out(r, i, format!("ip rule: action {a}"));
                    }
                }
            }
        }
        Format::IpNeigh => {
            r.count("entries", items.len());
            for (i, n) in items.iter().enumerate() {
                let st = n["state"][0].as_str().unwrap_or("");
                if n["dst"].as_str().is_some_and(|d| d.contains(':')) {
                    r.count("inet6 entries", 1);
                } else if neigh_state(st).is_none() {
                    left_out(r, i, format!("ip neigh: state {st}"));
                }
            }
            if items
                .iter()
                .any(|n| matches!(n["state"][0].as_str(), Some("DELAY" | "PROBE")))
            {
                r.simplified
                    .push("DELAY and PROBE entries are taken as STALE".into());
            }
        }
        Format::BridgeFdb => {
            r.count("entries", items.len());
            let skipped = items
                .iter()
                .filter(|e| {
                    e["dst"].is_null()
                        && (e["flags"]
                            .as_array()
                            .is_some_and(|f| f.iter().any(|x| x == "self"))
                            || e["mac"]
                                .as_str()
                                .and_then(crate::wire::Mac::parse)
                                .is_some_and(|m| m.is_multicast()))
                })
                .count();
            if skipped > 0 {
                r.simplified.push(format!(
                    "{skipped} multicast or `self` entr(ies) left to the device (not in the bridge's table)"
                ));
            }
        }
        Format::BridgeVlan => {
            r.count("ports", items.len());
            let vlans: usize = items
                .iter()
                .map(|p| p["vlans"].as_array().map_or(0, Vec::len))
                .sum();
            r.count("vlans", vlans);
            if vlans > 0 {
                r.unmodelled.push(Unmodelled {
                    line: 0,
                    construct: "bridge vlan filtering".into(),
                    effect: "frames are bridged as if VLAN filtering were off".into(),
                });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the corpus is detected as the tool its directory
    /// names (the ip6tables ones that carry no IPv6 construct cannot be
    /// told from iptables-save, nor ip -j's brief link form from others).
    #[test]
    fn corpus_formats_detected() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus");
        let want = |dir: &str, name: &str| -> Vec<Format> {
            let name = name.replace("iproute2", "");
            match dir {
                "iptables" => vec![Format::IptablesSave, Format::Ip6tablesSave],
                "ip6tables" => vec![Format::Ip6tablesSave, Format::IptablesSave],
                "nft" => vec![Format::NftRuleset, Format::NftScript],
                "ipset" => vec![Format::IpsetSave],
                "ipvsadm" => vec![Format::IpvsadmSave],
                "conntrack" => vec![Format::ConntrackList],
                "ipjson" if name.contains("addr") => vec![Format::IpAddr],
                "ipjson" if name.contains("fdb") => vec![Format::BridgeFdb],
                "ipjson" if name.contains("rule") => vec![Format::IpRule],
                "ipjson" if name.contains("neigh") => vec![Format::IpNeigh],
                "ipjson" if name.contains("route") => vec![Format::IpRoute],
                "ipjson" if name.contains("link") => vec![Format::IpLink],
                _ => vec![],
            }
        };
        let mut n = 0;
        for d in std::fs::read_dir(root).unwrap() {
            let d = d.unwrap().path();
            if !d.is_dir() {
                continue;
            }
            let dir = d.file_name().unwrap().to_string_lossy().to_string();
            let mut files: Vec<std::path::PathBuf> = Vec::new();
            for f in std::fs::read_dir(&d).unwrap() {
                let p = f.unwrap().path();
                if p.is_dir() {
                    // nft/nftables-files: nftables' files under their names
                    files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                } else {
                    files.push(p);
                }
            }
            for p in files {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                let got = detect(&name, &std::fs::read_to_string(&p).unwrap());
                assert!(want(&dir, &name).contains(&got), "{dir}/{name}: {got:?}");
                n += 1;
            }
        }
        assert!(n >= 150, "{n}");
    }

    /// What inspect says of dumps this part models: a flowtable (OpenWrt
    /// fw4's), `ip -brief` links, broadcast routes.
    #[test]
    fn flowtables_brief_links_and_broadcast_routes_reported() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus");
        let rd = |f: &str| std::fs::read_to_string(format!("{root}/{f}")).unwrap();
        let r = inspect("x", &rd("nft/openwrt-fw4-default-ruleset.txt"));
        assert_eq!(r.objects["flowtables"], 1);
        assert!(r
            .simplified
            .iter()
            .any(|s| s.starts_with("flowtables run in software")));
        let r = inspect(
            "link.json",
            &rd("ipjson/iproute2-ip-json-brief-link-show-2017.json"),
        );
        assert_eq!(r.objects["links modelled"], 7);
        assert!(r.unmodelled.is_empty());
        assert_eq!(r.simplified, vec![BRIEF_SIMPLIFIED.to_string()]);
        let r = inspect(
            "route.json",
            &rd("ipjson/netplan-ip-d-j-route4-table-all.json"),
        );
        assert!(r.unmodelled.is_empty());
        assert!(r.simplified.contains(&BROADCAST_SIMPLIFIED.to_string()));
    }

    #[test]
    fn small_texts_detected() {
        assert_eq!(detect("x", ""), Format::Empty);
        assert_eq!(detect("x", "[]"), Format::EmptyJson);
        assert_eq!(detect("ip-route.json", "[]"), Format::IpRoute);
        assert_eq!(
            detect(
                "x",
                "net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter = 2\n"
            ),
            Format::Sysctl
        );
        assert_eq!(
            detect("x", "nameserver 10.96.0.10\nsearch svc.cluster.local\n"),
            Format::ResolvConf
        );
        assert_eq!(
            detect("x", "-A -t 10.96.0.1:443 -s rr\n"),
            Format::IpvsadmSave
        );
        assert_eq!(
            detect(
                "x",
                "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n"
            ),
            Format::Ip6tablesSave
        );
        assert_eq!(detect("x", "ipv4     2 tcp      6 10 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 mark=0 use=1\n"), Format::ConntrackList);
        assert_eq!(detect("x", "hello\n"), Format::Unknown);
        let r = inspect("x", "hello\n");
        assert!(r.error.is_some());
    }
}
