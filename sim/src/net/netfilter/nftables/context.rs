//! The protocol context nft's evaluation builds along a rule
//! (src/evaluate.c: `struct proto_ctx`, filled by each match's payload
//! dependencies), and the checks of the statements that need it:
//! `stmt_evaluate_tproxy` ("Transparent proxy support requires transport
//! protocol match"), `nat_evaluate_family`/`stmt_evaluate_l3proto`
//! ("conflicting protocols specified") and `stmt_evaluate_addr` in an
//! inet table ("specify `dnat ip' or 'dnat ip6' in inet table to
//! disambiguate").

use super::lex::Tok;

fn w(t: &[Tok], i: usize) -> Option<&str> {
    t.get(i).filter(|x| !x.quoted).map(|x| x.s.as_str())
}

/// What the rule has told of the packet so far.
#[derive(Clone, Debug, Default)]
pub struct Pctx {
    /// The network header: "ip" or "ip6" (the table's own for ip/ip6).
    pub net: Option<&'static str>,
    /// Whether a transport header is known (a tcp/udp/... match, or one
    /// protocol by `meta l4proto`, `ip protocol`, `ip6 nexthdr`).
    pub l4: bool,
    /// That transport protocol's name, when one is known.
    pub l4name: Option<String>,
    /// The ICMP or ICMPv6 type the rule has fixed (proto_ctx
    /// `th_dep.icmp.type`: payload.c payload_expr_pctx_update, an echo
    /// reply kept as its request; payload_gen_icmp_dependency).
    pub icmp_type: Option<u32>,
    /// The transport protocols a set gave (`ip protocol { tcp, udp }`,
    /// `meta l4proto { 6, 17 }`): nft keeps them in its protocol context
    /// (proto.c proto_ctx `protos`), the first one the others conflict
    /// with.
    pub l4set: Vec<String>,
    /// The protocol above the Ethernet header `ether type` fixed.
    pub ll_upper: Option<String>,
}

impl Pctx {
    /// The context a rule of a table of `family` starts with.
    pub fn new(family: &str) -> Self {
        Pctx {
            net: match family {
                "ip" => Some("ip"),
                "ip6" => Some("ip6"),
                _ => None,
            },
            l4: false,
            l4name: None,
            icmp_type: None,
            l4set: Vec::new(),
            ll_upper: None,
        }
    }

    /// Notes what the statement at `t[i..]` tells.
    pub fn note(&mut self, t: &[Tok], i: usize) {
        let single = |k: usize| {
            let k = if matches!(w(t, k), Some("==" | "eq")) {
                k + 1
            } else {
                k
            };
            t.get(k)
                .is_some_and(|x| x.quoted || !matches!(x.s.as_str(), "{" | "!=" | "@" | "ne"))
        };
        let set_at = |k: usize| {
            let k = if matches!(w(t, k), Some("==" | "eq")) {
                k + 1
            } else {
                k
            };
            if !t.get(k).is_some_and(|x| x.is("{")) {
                return Vec::new();
            }
            t[k + 1..]
                .iter()
                .take_while(|x| !x.is("}"))
                .filter(|x| !x.is(","))
                .map(|x| proto_name(&x.s))
                .collect()
        };
        match (w(t, i), w(t, i + 1)) {
            (Some("ip"), Some("protocol"))
            | (Some("ip6"), Some("nexthdr"))
            | (Some("meta"), Some("l4proto")) => {
                let set = set_at(i + 2);
                if !set.is_empty() {
                    self.l4set = set;
                }
            }
            (Some("l4proto"), _) => {
                let set = set_at(i + 1);
                if !set.is_empty() {
                    self.l4set = set;
                }
            }
            _ => {}
        }
        if (w(t, i), w(t, i + 1)) == (Some("ether"), Some("type")) && single(i + 2) {
            let k = if matches!(w(t, i + 2), Some("==" | "eq")) {
                i + 3
            } else {
                i + 2
            };
            self.ll_upper = w(t, k).map(str::to_string);
        }
        match (w(t, i), w(t, i + 1)) {
            (Some("ip"), Some(f)) if f != "option" => {
                self.net = Some("ip");
                if f == "protocol" && single(i + 2) {
                    self.l4 = true;
                    self.l4name = w(t, i + 2).map(proto_name);
                }
            }
            (Some("ip6"), Some(f)) => {
                self.net = Some("ip6");
                if f == "nexthdr" && single(i + 2) {
                    self.l4 = true;
                    self.l4name = w(t, i + 2).map(proto_name);
                }
            }
            (Some("meta"), Some("nfproto")) | (Some("nfproto"), _) => {
                let k = if w(t, i) == Some("meta") {
                    i + 2
                } else {
                    i + 1
                };
                if single(k) {
                    match w(t, k) {
                        Some("ipv4") => self.net = Some("ip"),
                        Some("ipv6") => self.net = Some("ip6"),
                        _ => {}
                    }
                }
            }
            (Some("meta"), Some("l4proto")) | (Some("l4proto"), _) => {
                let k = if w(t, i) == Some("meta") {
                    i + 2
                } else {
                    i + 1
                };
                if single(k) {
                    self.l4 = true;
                    self.l4name = w(t, k).map(proto_name);
                }
            }
            (Some(l4 @ ("tcp" | "udp" | "udplite" | "sctp" | "dccp")), Some(_)) => {
                self.l4 = true;
                self.l4name = Some(l4.to_string());
            }
            (Some("icmp"), Some(f)) => {
                self.net = Some("ip");
                self.l4 = true;
                self.note_icmp_type(t, i, f, false, single(i + 2));
            }
            (Some("icmpv6"), Some(f)) => {
                self.net = Some("ip6");
                self.l4 = true;
                self.note_icmp_type(t, i, f, true, single(i + 2));
            }
            _ => {}
        }
    }
}

impl Pctx {
    /// The ICMP type `icmp|icmpv6 FIELD ...` at `t[i..]` fixes: its
    /// `type` matched against one value, or the type a field depends on.
    fn note_icmp_type(&mut self, t: &[Tok], i: usize, field: &str, v6: bool, single: bool) {
        if field == "type" {
            if !single {
                return;
            }
            let mut k = i + 2;
            if matches!(w(t, k), Some("==" | "eq")) {
                k += 1;
            }
            let Some(v) = w(t, k) else { return };
            let n = v.parse::<u32>().ok().or_else(|| {
                if v6 {
                    super::expr::icmpv6_type(v)
                } else {
                    super::expr::icmp_type(v)
                }
            });
            self.icmp_type = n.map(|n| match (v6, n) {
                (false, 0) => 8,
                (true, 129) => 128,
                (_, n) => n,
            });
        } else if let Some(need) = icmp_dep(field, v6) {
            self.icmp_type = Some(need);
        }
    }
}

/// The ICMP type a header field depends on (proto.c proto_icmp and
/// proto_icmp6 templates' icmp_dep; payload.c icmp_dep_to_type): id and
/// sequence an echo request, gateway a redirect, mtu a destination
/// unreachable (ICMPv6: a packet too big), max-delay an MLD query,
/// parameter-problem a parameter problem.
fn icmp_dep(field: &str, v6: bool) -> Option<u32> {
    Some(match (field, v6) {
        ("id" | "sequence", false) => 8,
        ("gateway", false) => 5,
        ("mtu", false) => 3,
        ("id" | "sequence", true) => 128,
        ("mtu", true) => 2,
        ("max-delay", true) => 130,
        ("parameter-problem", true) => 4,
        _ => return None,
    })
}

/// payload.c payload_gen_icmp_dependency: a field whose ICMP type
/// differs from the one the rule has fixed: "incompatible icmp match:
/// rule has %d, need %u".
fn icmp_compat(t: &[Tok], i: usize, p: &Pctx) -> Result<(), String> {
    let v6 = w(t, i) == Some("icmpv6");
    let (Some(field), Some(has)) = (w(t, i + 1), p.icmp_type) else {
        return Ok(());
    };
    match icmp_dep(field, v6) {
        Some(need) if need != has => Err(format!(
            "Error: incompatible icmp match: rule has {has}, need {need}"
        )),
        _ => Ok(()),
    }
}

/// The checks of a `tproxy`, `dnat` or `snat` statement at `t[i..]` in a
/// table of `family`, with nft's words.
pub fn nat_family(t: &[Tok], i: usize, family: &str, p: &Pctx) -> Result<(), String> {
    let Some(kw) = w(t, i) else { return Ok(()) };
    if !matches!(kw, "tproxy" | "dnat" | "snat") {
        return Ok(());
    }
    let mut j = i + 1;
    let explicit = match w(t, j) {
        Some(f @ ("ip" | "ip6")) if matches!(w(t, j + 1), Some("to" | "prefix")) => {
            j += 1;
            Some(if f == "ip" { "ip" } else { "ip6" })
        }
        _ => None,
    };
    if kw == "tproxy" {
        if !matches!(family, "ip" | "ip6" | "inet") {
            return Err("Error: tproxy is only supported for IPv4/IPv6/INET".into());
        }
        if !p.l4 {
            return Err(
                "Error: Transparent proxy support requires transport protocol match".into(),
            );
        }
        if w(t, j) != Some("to") {
            return Err("Error: Either address or port must be specified!".into());
        }
    }
    if let (Some(e), Some(n)) = (explicit, p.net) {
        if e != n {
            return Err(format!("Error: conflicting protocols specified: {n} vs. {}. You must specify ip or ip6 family in {kw} statement", if e == "ip" { "ipv4" } else { "ipv6" }));
        }
    }
    if w(t, j) != Some("to") {
        return Ok(());
    }
    let a = j + 1;
    let has_addr = t.get(a).is_some_and(|x| !x.s.starts_with(':'));
    if !has_addr {
        return Ok(());
    }
    // expr_family_infer: the payload keys of a map
    let mut k = a;
    let mut inferred = None;
    while k < t.len() && !t[k].is("{") && !t[k].is("@") {
        match w(t, k) {
            Some("ip") if inferred.is_none() => inferred = Some("ip"),
            Some("ip6") if inferred.is_none() => inferred = Some("ip6"),
            Some("map") => break,
            _ => {}
        }
        k += 1;
    }
    let is_map = w(t, k) == Some("map") || t.get(k).is_some_and(|x| x.is("{") || x.is("@"));
    let fam = explicit.or(p.net).or(if is_map { inferred } else { None });
    let Some(fam) = fam else {
        if family == "inet" {
            return Err(format!(
                "Error: specify `{kw} ip' or '{kw} ip6' in inet table to disambiguate"
            ));
        }
        return Ok(());
    };
    // a literal address of the other family
    let lit = &t[a].s;
    let bare = lit
        .strip_prefix('[')
        .and_then(|x| x.split(']').next())
        .unwrap_or(lit);
    let v4 = bare
        .split([':', '-'])
        .next()
        .is_some_and(|x| x.parse::<std::net::Ipv4Addr>().is_ok());
    let v6 = lit.starts_with('[')
        || bare
            .split('-')
            .next()
            .is_some_and(|x| x.parse::<std::net::Ipv6Addr>().is_ok());
    if fam == "ip" && v6 && !v4 {
        return Err(format!("Error: Could not parse IPv4 address: {bare}"));
    }
    if fam == "ip6" && v4 && !v6 {
        return Err(format!("Error: Could not parse IPv6 address: {bare}"));
    }
    Ok(())
}

/// A protocol by its name as nft prints it (`6` is tcp).
fn proto_name(s: &str) -> String {
    match s {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "58" => "ipv6-icmp",
        "132" => "sctp",
        "33" => "dccp",
        "136" => "udplite",
        other => other,
    }
    .to_string()
}

/// The checks of the statement or expression at `t[i..]` that need the
/// table's family or the rule's context: `fib` flags (parser_bison.y
/// fib_expr: "fib: need either saddr or daddr", "mutually exclusive"),
/// `rt nexthop` (evaluate.c expr_evaluate_rt), the bridge-only meta keys
/// (the kernel's nft_meta_bridge is registered for the bridge family
/// only: "Operation not supported"), `reject with` (evaluate.c
/// stmt_evaluate_reject_family: a code of the other family, tcp reset
/// without tcp).
pub fn expr_checks(t: &[Tok], i: usize, family: &str, p: &Pctx) -> Result<(), String> {
    header_checks(t, i, family, p)?;
    match w(t, i) {
        Some("fib") => {
            let mut flags = Vec::new();
            let mut j = i + 1;
            while let Some(f) =
                w(t, j).filter(|f| ["saddr", "daddr", "mark", "iif", "oif"].contains(f))
            {
                flags.push(f);
                j += 1;
                if w(t, j) == Some(".") {
                    j += 1;
                } else {
                    break;
                }
            }
            let has = |f: &str| flags.contains(&f);
            if !flags.is_empty() && !has("saddr") && !has("daddr") {
                return Err("Error: fib: need either saddr or daddr".into());
            }
            if has("saddr") && has("daddr") {
                return Err("Error: fib: saddr and daddr are mutually exclusive".into());
            }
            if has("iif") && has("oif") {
                return Err("Error: fib: iif and oif are mutually exclusive".into());
            }
        }
        Some("rt") => {
            let (e, k) = match w(t, i + 1) {
                Some(f @ ("ip" | "ip6")) => (Some(f), i + 2),
                _ => (None, i + 1),
            };
            if w(t, k) != Some("nexthop") {
                return Ok(());
            }
            let fam = e.or(p.net);
            let Some(fam) = fam else {
                return Err("Error: cannot determine ip protocol version, use \"ip nexthop\" or \"ip6 nexthop\" instead".into());
            };
            if matches!((fam, family), ("ip", "ip6") | ("ip6", "ip")) {
                return Err(format!("Error: {fam} nexthop will not match"));
            }
            let v = t.get(k + 1).map(|x| x.s.as_str()).unwrap_or("");
            let v = if matches!(v, "==" | "!=" | "eq" | "ne") {
                t.get(k + 2).map(|x| x.s.as_str()).unwrap_or("")
            } else {
                v
            };
            let a = v.split(['/', '-']).next().unwrap_or("");
            if fam == "ip" && a.contains(':') {
                return Err(format!("Error: Could not parse IPv4 address: {a}"));
            }
            if fam == "ip6" && a.parse::<std::net::Ipv4Addr>().is_ok() {
                return Err(format!("Error: Could not parse IPv6 address: {a}"));
            }
        }
        Some("meta") | Some("ibrname" | "obrname")
            if family != "bridge"
                && matches!(
                    if w(t, i) == Some("meta") {
                        w(t, i + 1)
                    } else {
                        w(t, i)
                    },
                    Some(
                        "ibrname"
                            | "obrname"
                            | "ibridgename"
                            | "obridgename"
                            | "ibrpvid"
                            | "ibrvproto"
                    )
                ) =>
        {
            return Err("Error: Could not process rule: Operation not supported (a bridge meta key outside the bridge family)".into());
        }
        Some("tcp") if w(t, i + 1) == Some("option") => return tcp_option(t, i + 2),
        Some("reset") if w(t, i + 1) == Some("tcp") && w(t, i + 2) == Some("option") => {
            return tcp_option(t, i + 3)
        }
        Some("ct") => {
            ct_addr(t, i, p)?;
            return ct_values(t, i);
        }
        // evaluate.c stmt_evaluate_payload: an inner header of a tunnel
        // cannot be written
        Some("vxlan" | "geneve" | "gre" | "gretap") if w(t, i + 3) == Some("set") => {
            return Err("Error: payload statement for this expression is not supported".into());
        }
        // parser_bison.y xfrm_expr: IPSEC in|out [spnum N (<= 255)]
        Some("ipsec") => {
            if !matches!(w(t, i + 1), Some("in" | "out")) {
                return Err(format!(
                    "syntax error, unexpected {}",
                    w(t, i + 1).unwrap_or("end of file")
                ));
            }
            if w(t, i + 2) == Some("spnum")
                && w(t, i + 3)
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 255)
            {
                return Err("Error: value too large".into());
            }
        }
        Some("redirect" | "masquerade" | "dnat" | "snat") => {
            // nat_evaluate_transport: a port needs a transport match
            let to = (i + 1..(i + 4).min(t.len())).find(|&k| t[k].is("to"));
            let ports = to.is_some_and(|to| {
                let a = t.get(to + 1);
                // a port taken from the packet (`:tcp dport map { ... }`)
                // brings its own transport header
                let colon = |k: usize| {
                    t.get(k).is_some_and(|x| {
                        !x.quoted
                            && x.s.starts_with(':')
                            && !x.s[1..].starts_with(|c: char| c.is_ascii_alphabetic())
                    }) && !t
                        .get(k + 1)
                        .filter(|_| t[k].s == ":")
                        .is_some_and(|y| y.s.starts_with(|c: char| c.is_ascii_alphabetic()))
                };
                colon(to + 1)
                    || (a.is_some_and(|x| !x.is("{") && !x.is("@"))
                        && colon(to + 2)
                        && !t[to + 1..(to + 4).min(t.len())].iter().any(|x| x.is("map")))
            });
            if (ports || (concat_map_data(t, i) && p.l4set.is_empty())) && !p.l4 {
                return Err("Error: transport protocol mapping is only valid after transport protocol match".into());
            }
        }
        Some("reject") if w(t, i + 1) == Some("with") => return reject_with(t, i, family, p),
        _ => {}
    }
    Ok(())
}

/// The checks of a header match at `t[i..]` against what the rule has
/// told of the packet (the protocol context of evaluate.c and
/// payload.c) and the header grammars of parser_bison.y.
fn header_checks(t: &[Tok], i: usize, family: &str, p: &Pctx) -> Result<(), String> {
    negated_binop(t, i)?;
    match w(t, i) {
        Some("icmp" | "icmpv6") => return icmp_compat(t, i, p),
        // proto.c/payload.c: a transport header other than the first of
        // a protocol set the rule matched (`ip protocol { tcp, udp } tcp
        // dport 20`: "conflicting protocols specified: udp vs. tcp")
        Some(l4 @ ("tcp" | "udp" | "udplite" | "sctp" | "dccp"))
            if p.l4name.is_none() && !p.l4set.is_empty() =>
        {
            if let Some(other) = p.l4set.iter().find(|m| m.as_str() != l4) {
                return Err(format!(
                    "Error: conflicting protocols specified: {other} vs. {l4}"
                ));
            }
        }
        // a network header of the other family than the one the rule
        // fixed (`meta nfproto ipv6 ip protocol icmp`, `ip saddr 1.1.1.1
        // ip6 saddr ::1`): "conflicting protocols specified: ip6 vs. ip"
        Some(n @ ("ip" | "ip6"))
            if !matches!(family, "ip" | "ip6")
                && p.net.is_some_and(|have| have != n)
                && w(t, i + 1).is_some_and(|f| f != "option") =>
        {
            return Err(format!(
                "Error: conflicting protocols specified: {} vs. {n}",
                p.net.unwrap_or("")
            ));
        }
        // a vlan header where `ether type` named another protocol
        Some("vlan")
            if p.ll_upper.as_deref().is_some_and(|u| {
                !matches!(u, "vlan" | "8021q" | "8021ad" | "0x8100" | "0x88a8")
            }) =>
        {
            return Err("Error: conflicting protocols specified: ether vs. vlan".into());
        }
        // parser_bison.y gre_hdr_expr: GRE inner_inet_expr (an L2
        // inner header is gretap's)
        Some("gre") if matches!(w(t, i + 1), Some("ether" | "vlan" | "arp")) => {
            return Err(format!(
                "Error: syntax error, unexpected {}",
                w(t, i + 1).unwrap_or("")
            ));
        }
        // payload.c payload_gen_inner_dependency: a UDP tunnel's header
        // sits on the rule's transport protocol (ip when none):
        // proto_find_num finds no vxlan/geneve above anything but udp
        Some(tun @ ("vxlan" | "geneve")) if p.l4name.as_deref() != Some("udp") => {
            return Err(format!(
                "Error: conflicting protocols specified: {} vs. {tun}",
                p.l4name.as_deref().unwrap_or("ip")
            ));
        }
        // parser_bison.y osf_ttl: TTL LOOSE | TTL SKIP
        Some("osf")
            if w(t, i + 1) == Some("ttl") && !matches!(w(t, i + 2), Some("loose" | "skip")) =>
        {
            return Err("Error: syntax error, unexpected string, expecting loose or skip".into());
        }
        _ => {}
    }
    Ok(())
}

/// parser_bison.y tcp_hdr_option_type and the fields of each option
/// (tcpopt.c tcpopt_protocols): an unknown name or field is a syntax
/// error, a number above 255 "value too large".
fn tcp_option(t: &[Tok], k: usize) -> Result<(), String> {
    let Some(name) = w(t, k) else { return Ok(()) };
    if t.get(k).is_some_and(|x| x.is("@")) {
        return tcp_option_raw(t, k);
    }
    if name.starts_with('@') {
        return Ok(());
    }
    const FIELDS: &[&str] = &[
        "kind", "length", "size", "count", "left", "right", "tsval", "tsecr", "subtype",
    ];
    let fields: &[&str] = match name {
        "eol" | "nop" => &["kind"],
        "maxseg" | "mss" => &["kind", "length", "size"],
        "window" => &["kind", "length", "count"],
        "sack-perm" | "sack-permitted" | "fastopen" | "md5sig" => &["kind", "length"],
        "sack" | "sack0" | "sack1" | "sack2" | "sack3" => &["kind", "length", "left", "right"],
        "timestamp" => &["kind", "length", "tsval", "tsecr"],
        "mptcp" => &["kind", "length", "subtype"],
        n if n.bytes().all(|c| c.is_ascii_digit()) => {
            if n.parse::<u64>().map_or(true, |v| v > 255) {
                return Err("Error: value too large".into());
            }
            return Ok(());
        }
        other => return Err(format!("syntax error, unexpected {other}")),
    };
    match w(t, k + 1) {
        Some(f) if (FIELDS.contains(&f) || is_tcp_option_name(f)) && !fields.contains(&f) => {
            Err(format!("syntax error, unexpected {f}"))
        }
        _ => Ok(()),
    }
}

/// `tcp option @KIND,OFFSET,LENGTH VALUE` at `t[k..]` (`@` at `k`):
/// the kind a tcp_hdr_option_type number up to 255 ("value too large"),
/// the value within LENGTH bits (evaluate.c expr_evaluate_value: "Value
/// %s exceeds valid range 0-%u").
fn tcp_option_raw(t: &[Tok], k: usize) -> Result<(), String> {
    let num = |j: usize| w(t, j).and_then(|v| v.parse::<u64>().ok());
    if num(k + 1).is_some_and(|v| v > 255) {
        return Err("Error: value too large".into());
    }
    let Some(len) = num(k + 5).filter(|l| (1..64).contains(l)) else {
        return Ok(());
    };
    let mut v = k + 6;
    if matches!(w(t, v), Some("==" | "!=" | "eq" | "ne")) {
        v += 1;
    }
    let max = (1u64 << len) - 1;
    match w(t, v).map(|x| (x, x.parse::<u64>())) {
        Some((x, Ok(n))) if n > max => Err(format!("Error: Value {x} exceeds valid range 0-{max}")),
        _ => Ok(()),
    }
}

fn is_tcp_option_name(s: &str) -> bool {
    matches!(
        s,
        "eol"
            | "nop"
            | "maxseg"
            | "mss"
            | "window"
            | "sack-perm"
            | "sack-permitted"
            | "sack"
            | "timestamp"
            | "fastopen"
            | "md5sig"
            | "mptcp"
    )
}

/// The values of conntrack keys nft parses by symbol (ct.c
/// ct_dir_tbl, ct_event_tbl; datatype.c nfproto_type; ct label bits
/// 0-127, XT_CONNLABEL_MAXBIT).
fn ct_values(t: &[Tok], i: usize) -> Result<(), String> {
    ct_grammar(t, i)?;
    let key = w(t, i + 1).unwrap_or("");
    // evaluate.c expr_evaluate_range: "Range negative size" (a time
    // range `ct expiration 1d-1h`)
    if key == "expiration" {
        let mut k = i + 2;
        if matches!(w(t, k), Some("==" | "!=" | "eq" | "ne")) {
            k += 1;
        }
        if let Some((a, b)) = w(t, k).and_then(|v| v.split_once('-')) {
            if let (Some(a), Some(b)) = (nft_time(a), nft_time(b)) {
                if a > b {
                    return Err("Error: Range negative size".into());
                }
            }
        }
    }
    let mut k = i + 2;
    if matches!(w(t, k), Some("==" | "!=" | "eq" | "ne")) {
        k += 1;
    }
    let set = w(t, k) == Some("set");
    let v = w(t, k).unwrap_or("");
    if t.get(k).is_some_and(|x| x.quoted || x.is("{") || x.is("@"))
        || (!set
            && !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        || matches!(v, "map" | "vmap")
    {
        return Ok(());
    }
    match key {
        "direction" if !set && !matches!(v, "original" | "reply" | "0" | "1") => {
            Err(format!("Error: Could not parse conntrack direction: {v}"))
        }
        "l3proto" if !set && !matches!(v, "ipv4" | "ipv6") && v.parse::<u8>().is_err() => {
            Err(format!("Error: Could not parse netfilter protocol: {v}"))
        }
        "label" if !set && v.parse::<u64>().is_ok_and(|n| n > 127) => {
            Err(format!("Error: {v}: could not parse conntrack label"))
        }
        "event" if set => {
            const EV: &[&str] = &[
                "new",
                "related",
                "destroy",
                "reply",
                "assured",
                "protoinfo",
                "helper",
                "mark",
                "seqadj",
                "secmark",
                "label",
            ];
            let mut j = k + 1;
            while let Some(e) = w(t, j) {
                if matches!(e, "," | "|" | "or") {
                    j += 1;
                    continue;
                }
                if !EV.contains(&e) && !e.starts_with(|c: char| c.is_ascii_digit()) {
                    if is_stmt_start(e) {
                        break;
                    }
                    return Err(format!("Error: Could not parse conntrack event: {e}"));
                }
                j += 1;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Words that start a new statement after a value list.
/// evaluate.c stmt_evaluate_nat_map: a NAT map whose data are
/// `address . port` concatenations (nat_concat_map) maps ports, and
/// needs a transport protocol unless its key holds a transport header
/// field or a protocol key of the network header
/// (nat_evaluate_addr_has_th_expr: `th` does not count).
fn concat_map_data(t: &[Tok], i: usize) -> bool {
    let Some(to) = (i + 1..(i + 4).min(t.len())).find(|&k| t[k].is("to")) else {
        return false;
    };
    let Some(m) = (to + 1..t.len())
        .take_while(|&k| !t[k].is("{") && !t[k].is(";"))
        .find(|&k| w(t, k) == Some("map"))
    else {
        return false;
    };
    let key_has_th = (to + 1..m).any(|k| {
        matches!(
            (w(t, k), w(t, k + 1)),
            (Some("tcp" | "udp" | "udplite" | "sctp" | "dccp"), Some(_))
                | (Some("ip"), Some("protocol"))
                | (Some("ip6"), Some("nexthdr"))
                | (Some("meta"), Some("l4proto"))
        )
    });
    if key_has_th || !t.get(m + 1).is_some_and(|x| x.is("{")) {
        return false;
    }
    // an element's data (after `:`) holding a `.`
    let mut in_data = false;
    for x in &t[m + 2..] {
        if x.quoted {
            continue;
        }
        match x.s.as_str() {
            "}" => return false,
            ":" => in_data = true,
            "," => in_data = false,
            "." if in_data => return true,
            _ => {}
        }
    }
    false
}

/// evaluate.c expr_evaluate_relational: the `!` operator (OP_NEG) on
/// a binary expression (`tcp flags & (fin | syn) ! syn`): "cannot
/// combine negation with binary expression".
fn negated_binop(t: &[Tok], i: usize) -> Result<(), String> {
    let mut binop = false;
    for (k, x) in t.iter().enumerate().skip(i + 1) {
        if x.quoted {
            continue;
        }
        match x.s.as_str() {
            "&" | "|" | "^" | "<<" | ">>" => binop = true,
            "!" if binop => {
                return Err("Error: cannot combine negation with binary expression".into());
            }
            "{" | "}" | ";" => return Ok(()),
            s if k > i + 1 && (is_stmt_start(s) || s == "set") => return Ok(()),
            _ => {}
        }
    }
    Ok(())
}

fn is_stmt_start(s: &str) -> bool {
    matches!(
        s,
        "counter"
            | "accept"
            | "drop"
            | "log"
            | "limit"
            | "return"
            | "jump"
            | "goto"
            | "meta"
            | "ct"
            | "ip"
            | "ip6"
            | "tcp"
            | "udp"
            | "comment"
            | "notrack"
    )
}

/// evaluate.c stmt_evaluate_reject_family: `reject with icmp|icmpv6`
/// of the other family than the table's or the rule's, an icmp code
/// icmp_code_type does not know, `tcp reset` after another transport
/// protocol.
fn reject_with(t: &[Tok], i: usize, family: &str, p: &Pctx) -> Result<(), String> {
    let kind = w(t, i + 2).unwrap_or("");
    let code = if w(t, i + 3) == Some("type") {
        w(t, i + 4)
    } else {
        w(t, i + 3)
    };
    let other = match kind {
        "icmp" => Some("ip6"),
        "icmpv6" => Some("ip"),
        _ => None,
    };
    let base = p.net.or(match family {
        "ip" => Some("ip"),
        "ip6" => Some("ip6"),
        _ => None,
    });
    if let (Some(o), Some(b)) = (other, base) {
        if o == b {
            let want = if kind == "icmp" { "ip" } else { "ip6" };
            return Err(format!(
                "Error: conflicting protocols specified: {b} vs. {want}"
            ));
        }
    }
    // the icmp codes of datatype.c icmp_code_type
    const V4: &[&str] = &[
        "net-unreachable",
        "host-unreachable",
        "prot-unreachable",
        "port-unreachable",
        "net-prohibited",
        "host-prohibited",
        "admin-prohibited",
        "frag-needed",
    ];
    if kind == "icmp" && code.is_some_and(|c| !V4.contains(&c) && c.parse::<u8>().is_err()) {
        return Err(format!(
            "Error: Could not parse ICMP code: {}",
            code.unwrap_or("")
        ));
    }
    if kind == "tcp" && p.l4name.as_deref().is_some_and(|n| n != "tcp") {
        return Err(format!(
            "Error: conflicting protocols specified: {} vs. tcp",
            p.l4name.as_deref().unwrap_or("")
        ));
    }
    Ok(())
}

/// parser_bison.y ct_expr, ct_stmt, objref_stmt_ct and ct_limit_stmt:
/// `ct` is followed by a ct_key, by a direction (`original`, `reply`)
/// and a ct_key_dir (saddr, daddr, l3proto, protocol, proto-src,
/// proto-dst, bytes, packets, avgpkt, zone) or `ip|ip6 saddr|daddr`
/// (ct_key_proto_field), or by `timeout set`, `expectation set`,
/// `count`; anything else is a syntax error (`ct ip saddr`, `ct
/// original mark`).
fn ct_grammar(t: &[Tok], i: usize) -> Result<(), String> {
    const KEY: &[&str] = &[
        "l3proto",
        "protocol",
        "mark",
        "state",
        "direction",
        "status",
        "expiration",
        "helper",
        "saddr",
        "daddr",
        "proto-src",
        "proto-dst",
        "label",
        "event",
        "secmark",
        "id",
        "bytes",
        "packets",
        "avgpkt",
        "zone",
        "timeout",
        "expectation",
        "count",
    ];
    const DIR_KEY: &[&str] = &[
        "saddr",
        "daddr",
        "l3proto",
        "protocol",
        "proto-src",
        "proto-dst",
        "bytes",
        "packets",
        "avgpkt",
        "zone",
    ];
    let unexpected = |k: usize| {
        Err(format!(
            "Error: syntax error, unexpected {}",
            t.get(k).map_or("end of file", |x| x.s.as_str())
        ))
    };
    let Some(key) = w(t, i + 1) else {
        return unexpected(i + 1);
    };
    if matches!(key, "original" | "reply") {
        match w(t, i + 2) {
            Some(k) if DIR_KEY.contains(&k) => Ok(()),
            Some("ip" | "ip6") if matches!(w(t, i + 3), Some("saddr" | "daddr")) => Ok(()),
            Some("ip" | "ip6") => unexpected(i + 3),
            _ => unexpected(i + 2),
        }
    } else if KEY.contains(&key) {
        Ok(())
    } else {
        unexpected(i + 1)
    }
}

/// Whether `s` is a time datatype.c time_parse reads.
pub fn time_ok(s: &str) -> bool {
    nft_time(s).is_some()
}

/// datatype.c time_parse: `NdNhNmNsNms` parts in any order, a bare
/// number being seconds; in milliseconds.
fn nft_time(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return n.checked_mul(1000);
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            num.push(c);
            rest = &rest[1..];
            continue;
        }
        let (unit, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match c {
                'd' => (86_400_000, 1),
                'h' => (3_600_000, 1),
                'm' => (60_000, 1),
                's' => (1000, 1),
                _ => return None,
            }
        };
        let n: u64 = num.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        num.clear();
        rest = &rest[len..];
    }
    num.is_empty().then_some(total)
}

/// A conntrack address key in a relation at `t[i..]` (evaluate.c
/// expr_evaluate_ct): `ct DIR saddr|daddr` takes the rule's network
/// protocol (ct_gen_nh_dependency: "cannot determine ip protocol
/// version, use \"ip saddr\" or \"ip6 saddr\" instead" without one),
/// `ct DIR ip|ip6 saddr|daddr` must agree with it ("conflicting
/// protocols specified: ip6 vs. ip"), and the address is parsed in that
/// family (datatype.c ipaddr_type_parse/ip6addr_type_parse: getaddrinfo
/// refuses an address of the other family, glibc's EAI_ADDRFAMILY).
fn ct_addr(t: &[Tok], i: usize, p: &Pctx) -> Result<(), String> {
    if !matches!(w(t, i + 1), Some("original" | "reply")) {
        return Ok(());
    }
    let (explicit, key, k) = match (w(t, i + 2), w(t, i + 3)) {
        (Some(f @ ("ip" | "ip6")), Some(key @ ("saddr" | "daddr"))) => (Some(f), key, i + 4),
        (Some(key @ ("saddr" | "daddr")), _) => (None, key, i + 3),
        _ => return Ok(()),
    };
    // a map key, a concatenation or a set: ct_addr_in_sets
    if matches!(w(t, k), Some("." | "map" | "vmap"))
        || t.get(k).is_some_and(|x| x.is("{") || x.is("@"))
    {
        return Ok(());
    }
    let fam = match (explicit, p.net) {
        (Some(e), Some(n)) if e != n => {
            return Err(format!(
                "Error: conflicting protocols specified: {n} vs. {e}"
            ));
        }
        (Some(e), _) => e,
        (None, Some(n)) => n,
        (None, None) => {
            return Err(format!(
                "Error: cannot determine ip protocol version, use \"ip {key}\" or \"ip6 {key}\" instead"
            ));
        }
    };
    let mut v = k;
    if matches!(w(t, v), Some("==" | "!=" | "eq" | "ne")) {
        v += 1;
    }
    let Some(val) = w(t, v) else { return Ok(()) };
    let a = val.split(['/', '-']).next().unwrap_or("");
    let other = if fam == "ip" {
        a.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        a.parse::<std::net::Ipv4Addr>().is_ok()
    };
    if other {
        return Err(
            "Error: Could not resolve hostname: Address family for hostname not supported".into(),
        );
    }
    Ok(())
}

/// evaluate.c expr_evaluate_map, expr_evaluate_concat and
/// expr_evaluate_relational (a set lookup): a conntrack address without
/// its family (`ct original saddr`) cannot be a map key, a part of a
/// concatenation or a set's key: "specify either ip or ip6 for address
/// matching".
pub fn ct_addr_in_sets(t: &[Tok]) -> Result<(), String> {
    for k in 0..t.len() {
        if w(t, k) != Some("ct")
            || !matches!(w(t, k + 1), Some("original" | "reply"))
            || !matches!(w(t, k + 2), Some("saddr" | "daddr"))
        {
            continue;
        }
        let next = k + 3;
        let joined = matches!(w(t, next), Some("." | "map" | "vmap"))
            || t.get(next).is_some_and(|x| x.is("{") || x.is("@"))
            || (k > 0 && w(t, k - 1) == Some("."));
        if joined {
            return Err("Error: specify either ip or ip6 for address matching".into());
        }
    }
    Ok(())
}
