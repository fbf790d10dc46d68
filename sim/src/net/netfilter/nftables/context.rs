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
        match (w(t, i), w(t, i + 1)) {
            (Some("ip"), Some(f)) if f != "option" => {
                self.net = Some("ip");
                if f == "protocol" && single(i + 2) {
                    self.l4 = true;
                }
            }
            (Some("ip6"), Some(f)) => {
                self.net = Some("ip6");
                if f == "nexthdr" && single(i + 2) {
                    self.l4 = true;
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
                }
            }
            (Some("tcp" | "udp" | "udplite" | "sctp" | "dccp"), Some(_)) => self.l4 = true,
            (Some("icmp"), Some(_)) => {
                self.net = Some("ip");
                self.l4 = true;
            }
            (Some("icmpv6"), Some(_)) => {
                self.net = Some("ip6");
                self.l4 = true;
            }
            _ => {}
        }
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
