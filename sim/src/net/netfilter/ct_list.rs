//! `conntrack -L` output (conntrack-tools; the line is libnetfilter_conntrack's
//! `__snprintf_conntrack_default`, src/conntrack/snprintf_default.c):
//!
//! ```text
//! [ipv4     2 ]tcp      6 431999 ESTABLISHED src=A dst=B sport=P dport=Q \
//!     [UNREPLIED ]src=B' dst=A' sport=Q' dport=P' [ASSURED ]mark=0 [zone=N ]use=1
//! ```
//!
//! (`-o extended` puts the layer-3 protocol first; UDP has no state; ICMP
//! tuples carry `type= code= id=`; `packets= bytes=` follow a tuple when
//! accounting is on), read into entries that [`insert`] puts into a
//! [`Conntrack`] so a replay can start in the middle of an established,
//! NATed connection: the reply tuple says what NAT did (a reply source that
//! is not the original destination is DNAT, a reply destination that is not
//! the original source is SNAT), the timeout counts from the replay's start.

use std::net::IpAddr;

use super::conntrack::{Conntrack, TcpCt, Tuple};
use super::Unmodelled;

/// What podpath simplifies in the entries it loads.
pub const SIMPLIFIED: &[&str] = &[
    "an entry's remaining timeout counts from the start of the replay",
    "TCP window tracking starts afresh (no sequence numbers are dumped)",
    "IPv6 entries are kept, loaded when IPv6 lands",
    "an [OFFLOAD] entry goes into a flowtable of the host's nft ruleset (its routes as the FIB gives them now); with no flowtable it is an ordinary entry, as the kernel lets only nft_flow_offload set IPS_OFFLOAD",
];

impl CtEntry {
    /// `[OFFLOAD]` / `[HW_OFFLOAD]`: the flow was in a flowtable.
    pub fn offloaded(&self) -> bool {
        self.extras
            .iter()
            .any(|(k, _)| k == "OFFLOAD" || k == "HW_OFFLOAD")
    }
}

/// The original tuples of the IPv4 `[OFFLOAD]` entries (for
/// [`crate::net::host::Host::offload_loaded`]).
pub fn offloaded_tuples(list: &CtList) -> Vec<Tuple> {
    list.entries
        .iter()
        .filter(|e| e.offloaded())
        .filter_map(|e| v4_tuple(e.proto, &e.orig))
        .collect()
}

/// A line conntrack would not have printed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CtListError {
    pub line: usize,
    pub message: String,
}

/// One tuple as printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtTuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Ports (ICMP: the echo id in both, as podpath's tuples hold it).
    pub sport: u16,
    pub dport: u16,
    /// ICMP type and code.
    pub icmp: Option<(u8, u8)>,
}

/// One entry of `conntrack -L`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtEntry {
    pub line: usize,
    /// 2 (ipv4) or 10 (ipv6); 2 when `-o extended` was not given and the
    /// addresses are IPv4.
    pub l3: u8,
    pub proto: u8,
    /// Seconds left (none for an `[OFFLOAD]`ed flow, which conntrack
    /// prints without one).
    pub timeout_s: Option<u64>,
    /// TCP (SCTP, DCCP) state name.
    pub state: Option<String>,
    pub orig: CtTuple,
    pub reply: CtTuple,
    pub unreplied: bool,
    pub assured: bool,
    pub mark: u32,
    pub zone: u16,
    /// Other `key=value` fields (`use`, `id`, `secctx`, `helper`, counters).
    pub extras: Vec<(String, String)>,
}

impl CtEntry {
    /// The layer-4 protocol as conntrack names it.
    pub fn proto_name(&self) -> &'static str {
        match self.proto {
            6 => "tcp",
            17 => "udp",
            1 => "icmp",
            58 => "icmpv6",
            132 => "sctp",
            33 => "dccp",
            136 => "udplite",
            47 => "gre",
            _ => "unknown",
        }
    }
}

/// A `conntrack -L` dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtList {
    pub entries: Vec<CtEntry>,
    pub unmodelled: Vec<Unmodelled>,
}

/// Parses `conntrack -L` output (with or without `-o extended`); the
/// "flow entries have been shown" trailer is skipped.
pub fn parse(text: &str) -> Result<CtList, CtListError> {
    let mut out = CtList::default();
    for (n, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with("conntrack v") {
            continue;
        }
        let e = entry(l, n + 1).map_err(|m| CtListError {
            line: n + 1,
            message: m,
        })?;
        let mut um = |c: String, eff: &str| {
            out.unmodelled.push(Unmodelled {
                line: n + 1,
                construct: c,
                effect: eff.into(),
            })
        };
        if e.zone != 0 {
            um(
                format!("conntrack: zone={}", e.zone),
                "loaded into the default zone",
            );
        }
        if let Some((_, h)) = e.extras.iter().find(|(k, _)| k == "helper") {
            um(
                format!("conntrack: helper={h}"),
                "no expectations are created",
            );
        }
        if e.l3 == 2 && !matches!(e.proto, 6 | 17 | 1) {
            um(
                format!("conntrack: {} entry", e.proto_name()),
                "not loaded (podpath tracks TCP, UDP and ICMP)",
            );
        }
        out.entries.push(e);
    }
    Ok(out)
}

fn proto_num(name: &str) -> Option<u8> {
    Some(match name {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" => 58,
        "sctp" => 132,
        "dccp" => 33,
        "udplite" => 136,
        "gre" => 47,
        _ => return None,
    })
}

/// One line: the protocol words, the timeout and state, two tuples, flags.
fn entry(l: &str, line: usize) -> Result<CtEntry, String> {
    let w: Vec<&str> = l.split_whitespace().collect();
    let mut i = 0;
    let mut l3 = 2;
    if matches!(w.first(), Some(&"ipv4" | &"ipv6")) {
        l3 = if w[0] == "ipv6" { 10 } else { 2 };
        i = 2;
    }
    let pname = *w.get(i).ok_or("empty line")?;
    let proto = match (
        proto_num(pname),
        w.get(i + 1).and_then(|x| x.parse::<u8>().ok()),
    ) {
        (_, Some(p)) if pname == "unknown" => p,
        (Some(p), Some(q)) if p == q => p,
        _ => return Err(format!("'{pname}' is not a protocol conntrack prints")),
    };
    i += 2;
    let timeout_s = match w.get(i) {
        Some(t) if t.contains('=') => None,
        Some(t) => {
            i += 1;
            Some(
                t.parse::<u64>()
                    .map_err(|_| format!("expected the timeout after '{pname}', found '{t}'"))?,
            )
        }
        None => return Err(format!("expected the timeout after '{pname}'")),
    };
    let state = match w.get(i) {
        Some(s) if !s.contains('=') && !s.starts_with('[') => {
            i += 1;
            Some(s.to_string())
        }
        _ => None,
    };
    let mut tuples: Vec<Vec<(&str, &str)>> = vec![Vec::new()];
    let (mut unreplied, mut assured) = (false, false);
    let mut extras = Vec::new();
    for x in &w[i..] {
        if let Some(flag) = x.strip_prefix('[').and_then(|f| f.strip_suffix(']')) {
            match flag {
                "UNREPLIED" => unreplied = true,
                "ASSURED" => assured = true,
                _ => extras.push((flag.to_string(), String::new())),
            }
            continue;
        }
        let Some((k, v)) = x.split_once('=') else {
            return Err(format!("unexpected '{x}'"));
        };
        if k == "src"
            && tuples
                .last()
                .is_some_and(|t| t.iter().any(|(k, _)| *k == "src"))
        {
            tuples.push(Vec::new());
        }
        if tuples.len() <= 2
            && matches!(
                k,
                "src" | "dst" | "sport" | "dport" | "type" | "code" | "id"
            )
            && !(k == "id" && tuples.len() == 2 && tuples[1].iter().any(|(k, _)| *k == "id"))
        {
            if let Some(t) = tuples.last_mut() {
                t.push((k, v));
            }
        } else {
            extras.push((k.to_string(), v.to_string()));
        }
    }
    if tuples.len() != 2 {
        return Err("expected two tuples (original and reply)".into());
    }
    let orig = tuple(&tuples[0], proto)?;
    let reply = tuple(&tuples[1], proto)?;
    if l3 == 2 && orig.src.is_ipv6() {
        l3 = 10;
    }
    let field = |k: &str| extras.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let mark = field("mark").and_then(|m| m.parse().ok()).unwrap_or(0);
    let zone = field("zone").and_then(|z| z.parse().ok()).unwrap_or(0);
    Ok(CtEntry {
        line,
        l3,
        proto,
        timeout_s,
        state,
        orig,
        reply,
        unreplied,
        assured,
        mark,
        zone,
        extras,
    })
}

fn tuple(kv: &[(&str, &str)], proto: u8) -> Result<CtTuple, String> {
    let get = |k: &str| kv.iter().find(|(x, _)| *x == k).map(|(_, v)| *v);
    let addr = |k: &str| -> Result<IpAddr, String> {
        let v = get(k).ok_or_else(|| format!("tuple without {k}="))?;
        v.parse().map_err(|_| format!("bad address {k}={v}"))
    };
    let num = |k: &str| -> Result<u16, String> {
        match get(k) {
            Some(v) => v.parse().map_err(|_| format!("bad {k}={v}")),
            None => Ok(0),
        }
    };
    let (sport, dport, icmp) = if matches!(proto, 1 | 58) {
        let id = num("id")?;
        let ty = num("type")? as u8;
        let code = num("code")? as u8;
        (id, id, Some((ty, code)))
    } else {
        (num("sport")?, num("dport")?, None)
    };
    Ok(CtTuple {
        src: addr("src")?,
        dst: addr("dst")?,
        sport,
        dport,
        icmp,
    })
}

fn tcp_state(s: Option<&str>) -> TcpCt {
    match s.unwrap_or("") {
        "SYN_SENT" | "SYN_SENT2" => TcpCt::SynSent,
        "SYN_RECV" => TcpCt::SynRecv,
        "ESTABLISHED" => TcpCt::Established,
        "FIN_WAIT" => TcpCt::FinWait,
        "CLOSE_WAIT" => TcpCt::CloseWait,
        "LAST_ACK" => TcpCt::LastAck,
        "TIME_WAIT" => TcpCt::TimeWait,
        "CLOSE" => TcpCt::Close,
        _ => TcpCt::None,
    }
}

fn v4_tuple(proto: u8, t: &CtTuple) -> Option<Tuple> {
    match (t.src, t.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => Some(Tuple {
            proto,
            src: src.into(),
            sport: t.sport,
            dst: dst.into(),
            dport: t.dport,
        }),
        _ => None,
    }
}

/// Puts the IPv4 TCP, UDP and ICMP entries into the table as of `now_ns`;
/// returns how many went in (an entry whose tuple is taken, or a full
/// table, is skipped).
pub fn insert(ct: &mut Conntrack, list: &CtList, now_ns: u64) -> usize {
    let mut n = 0;
    for e in &list.entries {
        if !matches!(e.proto, 6 | 17 | 1) {
            continue;
        }
        let (Some(orig), Some(reply)) = (v4_tuple(e.proto, &e.orig), v4_tuple(e.proto, &e.reply))
        else {
            continue;
        };
        if ct.tuple_taken(&orig, now_ns) || ct.tuple_taken(&reply, now_ns) {
            continue;
        }
        let Some(id) = ct.create(orig, now_ns) else {
            continue;
        };
        ct.set_reply(id, reply);
        if let Some(c) = ct.get_mut(id) {
            c.tcp = if e.proto == 6 {
                tcp_state(e.state.as_deref())
            } else {
                TcpCt::None
            };
            c.seen_reply = !e.unreplied;
            c.assured = e.assured;
            c.mark = e.mark;
            // an offloaded flow has no timeout printed: the protocol's
            // established one (nf_flow_table gives it back to conntrack so)
            let t = e.timeout_s.unwrap_or(match e.proto {
                6 => TcpCt::Established.timeout_s(),
                17 => 120,
                _ => 30,
            });
            c.expires_ns = now_ns + t * 1_000_000_000;
            // the NAT decisions were taken when the connection began
            c.dst_nat_done = true;
            c.src_nat_done = true;
            let by = Some("conntrack -L".to_string());
            if c.snat() {
                c.nat_by[0] = by.clone();
            }
            if c.dnat() {
                c.nat_by[1] = by;
            }
            c.fin = match c.tcp {
                TcpCt::FinWait | TcpCt::CloseWait => [true, false],
                TcpCt::LastAck | TcpCt::TimeWait | TcpCt::Close => [true, true],
                _ => [false, false],
            };
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::netfilter::conntrack::Dir;
    use std::net::Ipv4Addr;

    /// Lines as conntrack -L prints them (the conntrack(8) man page's
    /// examples, a kube-proxy DNAT, -o extended).
    const DUMP: &str = "\
tcp      6 431999 ESTABLISHED src=10.244.1.5 dst=10.96.0.10 sport=41234 dport=80 src=10.244.2.7 dst=10.244.1.5 sport=8080 dport=41234 [ASSURED] mark=0 use=1
udp      17 29 src=10.244.1.5 dst=10.96.0.10 sport=53000 dport=53 [UNREPLIED] src=10.244.0.3 dst=10.244.1.5 sport=53 dport=53000 mark=0 use=1
icmp     1 29 src=192.168.1.2 dst=8.8.8.8 type=8 code=0 id=4660 src=8.8.8.8 dst=203.0.113.9 type=0 code=0 id=4660 mark=0 use=1
ipv4     2 tcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=22 src=10.0.0.2 dst=10.0.0.1 sport=22 dport=5000 [ASSURED] mark=7 zone=3 use=1
ipv6     10 tcp      6 300 ESTABLISHED src=fd00::1 dst=fd00::2 sport=1 dport=2 src=fd00::2 dst=fd00::1 sport=2 dport=1 [ASSURED] mark=0 use=1
conntrack v1.4.6 (conntrack-tools): 5 flow entries have been shown.
";

    #[test]
    fn parse_and_insert_nated_connections() {
        let l = parse(DUMP).unwrap();
        assert_eq!(l.entries.len(), 5);
        assert_eq!(l.entries[1].state, None);
        assert!(l.entries[1].unreplied);
        assert_eq!(l.entries[2].orig.icmp, Some((8, 0)));
        assert_eq!(l.entries[3].mark, 7);
        assert_eq!(l.entries[4].l3, 10);
        assert_eq!(l.unmodelled.len(), 1); // zone=3
        let mut ct = Conntrack::default();
        assert_eq!(insert(&mut ct, &l, 1_000), 4);
        // the established DNAT: a reply from the pod finds its entry
        let reply = Tuple {
            proto: 6,
            src: Ipv4Addr::new(10, 244, 2, 7).into(),
            sport: 8080,
            dst: Ipv4Addr::new(10, 244, 1, 5).into(),
            dport: 41234,
        };
        let (id, dir) = ct.lookup(&reply, 2_000).unwrap();
        assert_eq!(dir, Dir::Reply);
        let c = ct.get(id).unwrap();
        assert!(c.dnat() && !c.snat() && c.assured && c.seen_reply);
        assert_eq!(c.tcp, TcpCt::Established);
        assert_eq!(c.expires_ns, 1_000 + 431_999 * 1_000_000_000);
        // the masqueraded ping: SNAT
        let icmp = ct.get(3).unwrap();
        assert!(icmp.snat() && !icmp.dnat());
        assert!(parse("tcp 6 x ESTABLISHED src=1.1.1.1\n").is_err());
        assert!(parse("tcp 6 10 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2\n").is_err());
    }

    /// The real dumps of the corpus: all parse; the kube-proxy DNATed
    /// connections of aks-engine#1912 go in as DNAT; offloaded flows
    /// (pyroute2#1198) have no timeout.
    #[test]
    fn corpus_loads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus/conntrack");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 4);
        for p in files {
            let l = parse(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let mut ct = Conntrack::default();
            let n = insert(&mut ct, &l, 0);
            assert_eq!(n, l.entries.len(), "{}", p.display());
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("aks-engine") {
                assert!(ct.conns.values().all(|c| c.dnat() && !c.snat()));
                assert_eq!(ct.conns.len(), 2);
            }
            if name.starts_with("pyroute2") {
                assert_eq!(l.entries[1].timeout_s, None);
                assert!(l.unmodelled.is_empty());
                assert_eq!(offloaded_tuples(&l).len(), 2);
                assert!(ct.conns.values().filter(|c| c.snat()).count() >= 4);
            }
        }
    }
}
