//! Which probes `reach` makes: the cluster's pods and Services as targets,
//! `--from`/`--to` selectors, `--port` filters, and the fixed probe order.
//!
//! A selector is `NS/POD`, `NS/*` (a namespace's pods), `svc/NS/NAME` or
//! `svc/NS/*` (Services), or a label selector as kubectl parses
//! `-l`/`--selector` (k8s.io/apimachinery `pkg/labels/selector.go`:
//! `Lexer.Lex`, `Parser.parseRequirement`, `parseKeyAndInferOperator`,
//! `parseOperator`, `parseValues`, `parseExactValue`, and
//! `NewRequirement`'s checks): `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
//! `k notin (a,b)`, `k` (exists), `!k` (does not exist), `k>N`, `k<N`,
//! comma-separated (all must hold). A selector with one `/` and none of
//! `=!(),<>` or whitespace is read as `NS/POD`, so a lone prefixed key
//! (`example.com/tier`: the label exists) is written with a space,
//! `' example.com/tier'`, to be read as a label selector (the lexer skips
//! it). Label selectors pick pods (a Service is named with `svc/`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::model::{
    Backend, Dest, Family, PodTarget, PortProto, Probe, Proto, ReachError, SvcPort, SvcTarget,
};
use crate::k8s::netpol::NamedPort;
use crate::k8s::Cluster;

/// A `--from`/`--to` selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `NS/POD`
    Pod { namespace: String, name: String },
    /// `NS/*`
    Namespace(String),
    /// `svc/NS/NAME` (`name` None: `svc/NS/*`)
    Service {
        namespace: String,
        name: Option<String>,
    },
    /// A label selector: every requirement holds.
    Labels(Vec<Requirement>),
}

/// One requirement of a label selector (`selection.Operator`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

impl Requirement {
    /// `Requirement.Matches`: `in`/`=` need the key with one of the
    /// values, `notin`/`!=` hold also without the key, `>`/`<` compare
    /// the label's value as an integer (no key or no integer: false).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        match self.op {
            Op::In => v.is_some_and(|v| self.values.contains(v)),
            Op::NotIn => v.is_none_or(|v| !self.values.contains(v)),
            Op::Exists => v.is_some(),
            Op::DoesNotExist => v.is_none(),
            Op::Gt | Op::Lt => {
                let (Some(have), Some(bound)) = (
                    v.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|b| b.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Op::Gt {
                    have > bound
                } else {
                    have < bound
                }
            }
        }
    }
}

/// A token of selector.go's lexer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    In,
    NotIn,
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
}

impl Tok {
    fn shown(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::In => "in".into(),
            Tok::NotIn => "notin".into(),
            Tok::Eq => "=".into(),
            Tok::DoubleEq => "==".into(),
            Tok::NotEq => "!=".into(),
            Tok::Bang => "!".into(),
            Tok::Gt => ">".into(),
            Tok::Lt => "<".into(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Comma => ",".into(),
        }
    }
}

/// selector.go `isSpecialSymbol`'s characters.
fn special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

/// selector.go `Lexer.Lex`: whitespace skipped, the special symbols
/// (longest first: `!=`, `==`), identifiers (runs of other characters; `in`
/// and `notin` are keywords).
fn lex(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let next = c.get(i + 1).copied();
        let (tok, n) = match (ch, next) {
            ('!', Some('=')) => (Tok::NotEq, 2),
            ('=', Some('=')) => (Tok::DoubleEq, 2),
            ('!', _) => (Tok::Bang, 1),
            ('=', _) => (Tok::Eq, 1),
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            (',', _) => (Tok::Comma, 1),
            ('>', _) => (Tok::Gt, 1),
            ('<', _) => (Tok::Lt, 1),
            _ => {
                let start = i;
                while i < c.len() && !c[i].is_whitespace() && !special(c[i]) {
                    i += 1;
                }
                let w: String = c[start..i].iter().collect();
                out.push(match w.as_str() {
                    "in" => Tok::In,
                    "notin" => Tok::NotIn,
                    _ => Tok::Ident(w),
                });
                continue;
            }
        };
        out.push(tok);
        i += n;
    }
    out
}

/// Parses a label selector (`labels.Parse`).
pub fn parse_labels(s: &str) -> Result<Vec<Requirement>, String> {
    let toks = lex(s);
    let mut i = 0;
    let mut reqs = Vec::new();
    if toks.is_empty() {
        // `Parse("")`: no requirement, everything selected
        return Ok(reqs);
    }
    let found =
        |t: Option<&Tok>| t.map_or("end of string".to_string(), |t| format!("'{}'", t.shown()));
    loop {
        let (key, bang) = match toks.get(i) {
            Some(Tok::Bang) => match toks.get(i + 1) {
                Some(Tok::Ident(k)) => {
                    i += 2;
                    (k.clone(), true)
                }
                t => {
                    return Err(format!(
                        "found {}, expected: identifier after '!'",
                        found(t)
                    ))
                }
            },
            Some(Tok::Ident(k)) => {
                i += 1;
                (k.clone(), false)
            }
            t => {
                return Err(format!(
                    "found {}, expected: !, identifier, or 'end of string'",
                    found(t)
                ))
            }
        };
        let req = if bang || matches!(toks.get(i), None | Some(Tok::Comma)) {
            Requirement {
                key,
                op: if bang { Op::DoesNotExist } else { Op::Exists },
                values: vec![],
            }
        } else {
            let op = match toks.get(i) {
                Some(Tok::Eq | Tok::DoubleEq) => Op::In,
                Some(Tok::NotEq) => Op::NotIn,
                Some(Tok::In) => Op::In,
                Some(Tok::NotIn) => Op::NotIn,
                Some(Tok::Gt) => Op::Gt,
                Some(Tok::Lt) => Op::Lt,
                t => {
                    return Err(format!(
                        "found {}, expected: [!= = == > < in notin]",
                        found(t)
                    ))
                }
            };
            let set = matches!(toks.get(i), Some(Tok::In | Tok::NotIn));
            i += 1;
            let values = if set {
                values_list(&toks, &mut i)?
            } else {
                // parseExactValue: a value, or none (`k=` is k with the empty value)
                match toks.get(i) {
                    None | Some(Tok::Comma) => vec![String::new()],
                    Some(Tok::Ident(v)) => {
                        i += 1;
                        vec![v.clone()]
                    }
                    t => return Err(format!("found {}, expected: identifier", found(t))),
                }
            };
            Requirement { key, op, values }
        };
        check(&req)?;
        reqs.push(req);
        match toks.get(i) {
            None => break,
            Some(Tok::Comma) => {
                i += 1;
                if !matches!(toks.get(i), Some(Tok::Ident(_) | Tok::Bang)) {
                    return Err(format!(
                        "found {}, expected: identifier after ','",
                        found(toks.get(i))
                    ));
                }
            }
            t => {
                return Err(format!(
                    "found {}, expected: ',' or 'end of string'",
                    found(t)
                ))
            }
        }
    }
    Ok(reqs)
}

/// `parseValues`: `(` then identifiers separated by commas (an empty one
/// is the empty value) then `)`.
fn values_list(toks: &[Tok], i: &mut usize) -> Result<Vec<String>, String> {
    if toks.get(*i) != Some(&Tok::Open) {
        return Err("found something else, expected: '('".into());
    }
    *i += 1;
    let mut v = Vec::new();
    let mut want_value = true;
    loop {
        match toks.get(*i) {
            Some(Tok::Close) => {
                if want_value && !v.is_empty() {
                    v.push(String::new());
                }
                *i += 1;
                return Ok(v);
            }
            Some(Tok::Ident(s)) if want_value => {
                v.push(s.clone());
                want_value = false;
            }
            Some(Tok::Comma) => {
                if want_value {
                    v.push(String::new());
                }
                want_value = true;
            }
            t => {
                return Err(format!(
                    "found {}, expected: ',', or identifier",
                    t.map_or("end of string".into(), |t| format!("'{}'", t.shown()))
                ))
            }
        }
        *i += 1;
    }
}

/// `NewRequirement`'s checks: a qualified key, values for `in`/`notin`,
/// one integer for `>`/`<`, label values.
fn check(r: &Requirement) -> Result<(), String> {
    let name = r.key.rsplit_once('/').map_or(r.key.as_str(), |(_, n)| n);
    if !label_like(name) {
        return Err(format!("invalid label key \"{}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", r.key));
    }
    match r.op {
        Op::In | Op::NotIn if r.values.is_empty() => {
            return Err("for 'in', 'notin' operators, values set can't be empty".into())
        }
        Op::Gt | Op::Lt if r.values.len() != 1 || r.values[0].parse::<i64>().is_err() => {
            return Err(format!(
                "for 'Gt', 'Lt' operators, the value must be an integer: {:?}",
                r.values
            ))
        }
        _ => {}
    }
    for v in &r.values {
        if !v.is_empty() && !label_like(v) {
            return Err(format!("invalid label value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
        }
    }
    Ok(())
}

fn label_like(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Reads a `--from`/`--to` selector.
pub fn parse_selector(s: &str) -> Result<Selector, ReachError> {
    let bad = |why: String| ReachError::Selector {
        sel: s.to_string(),
        why,
    };
    let plain = !s.chars().any(|c| c.is_whitespace() || special(c));
    let parts: Vec<&str> = s.split('/').collect();
    if plain && parts.len() == 3 && parts[0] == "svc" {
        if parts[1].is_empty() || parts[2].is_empty() {
            return Err(bad("expected svc/NAMESPACE/NAME or svc/NAMESPACE/*".into()));
        }
        return Ok(Selector::Service {
            namespace: parts[1].into(),
            name: (parts[2] != "*").then(|| parts[2].to_string()),
        });
    }
    if plain && parts.len() == 2 {
        if parts[0].is_empty() || parts[1].is_empty() {
            return Err(bad("expected NAMESPACE/POD or NAMESPACE/*".into()));
        }
        return Ok(if parts[1] == "*" {
            Selector::Namespace(parts[0].into())
        } else {
            Selector::Pod {
                namespace: parts[0].into(),
                name: parts[1].into(),
            }
        });
    }
    parse_labels(s).map(Selector::Labels).map_err(bad)
}

/// Reads a `--port`: `80/TCP`, `53/udp`, or `80` (TCP, as a Service
/// port's protocol defaults).
pub fn parse_port(s: &str) -> Result<PortProto, ReachError> {
    let (p, proto) = s.split_once('/').unwrap_or((s, "TCP"));
    let port = p
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| ReachError::Port(s.to_string()))?;
    let proto = Proto::parse(proto).ok_or_else(|| ReachError::Port(s.to_string()))?;
    Ok(PortProto { port, proto })
}

/// The cluster's pods (scheduled, with an address, not host-network: the
/// pods policies select) and Services with a ClusterIP, in namespace/name
/// order, with their addresses of both families.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    pub pods: Vec<PodTarget>,
    pub services: Vec<SvcTarget>,
}

impl Targets {
    pub fn of(cluster: &Cluster) -> Targets {
        let hosts = crate::k8s::cluster::pod_host_names(cluster);
        let mut pods = Vec::new();
        for p in &cluster.pods {
            // the pod's address of each family, primary or not
            // (`status.podIPs`)
            let (ip4, ip6) = (p.ip4(), p.ip6());
            let Some(node) = p.spec.node_name.clone() else {
                continue;
            };
            if ip4.is_none() && ip6.is_none() {
                continue;
            }
            if p.spec.host_network {
                continue;
            }
            let key = (p.metadata.ns().to_string(), p.metadata.name.clone());
            let ports = p
                .spec
                .containers
                .iter()
                .flat_map(|c| &c.ports)
                .map(|cp| NamedPort {
                    name: cp.name.clone().unwrap_or_default(),
                    port: cp.container_port,
                    protocol: cp.protocol.clone(),
                })
                .collect();
            pods.push(PodTarget {
                namespace: key.0.clone(),
                name: key.1.clone(),
                host: hosts.get(&key).cloned().unwrap_or_else(|| key.1.clone()),
                ip4,
                ip6,
                node,
                labels: p.metadata.labels.clone(),
                namespace_labels: cluster.namespace_labels(&key.0),
                ports,
            });
        }
        let services = services(cluster, &pods);
        Targets { pods, services }
    }

    /// The pod with this address.
    pub fn pod_at(&self, ip: IpAddr) -> Option<usize> {
        self.pods
            .iter()
            .position(|p| p.ip(Family::of(ip)) == Some(ip))
    }

    /// The probe's destination address.
    pub fn dest_ip(&self, p: &Probe) -> Option<IpAddr> {
        match p.to {
            Dest::Pod(i) => self.pods[i].ip(p.family),
            Dest::Svc(i, _) => self.services[i].ip(p.family),
        }
    }

    /// The probe's destination as printed: `NS/POD` or `svc/NS/NAME`.
    pub fn dest_id(&self, d: Dest) -> String {
        match d {
            Dest::Pod(i) => self.pods[i].id(),
            Dest::Svc(i, _) => self.services[i].id(),
        }
    }
}

/// The Services with a ClusterIP and each port's ready endpoints of both
/// families, as kube-proxy's endpoint caches have them
/// ([`crate::k8s::kubeproxy::service_ports`]: one per family, from the
/// EndpointSlices of each `addressType`).
fn services(cluster: &Cluster, pods: &[PodTarget]) -> Vec<SvcTarget> {
    let infos: Vec<_> = [false, true]
        .into_iter()
        .flat_map(|v6| crate::k8s::kubeproxy::service_ports_of(cluster, "", v6))
        .collect();
    let mut out = Vec::new();
    for s in &cluster.services {
        // the Service's ClusterIP of each family, primary or not
        // (`clusterIPs`)
        let ip4 = match s.cluster_ip_of(false) {
            Some(IpAddr::V4(a)) => Some(a),
            _ => None,
        };
        let ip6 = match s.cluster_ip_of(true) {
            Some(IpAddr::V6(a)) => Some(a),
            _ => None,
        };
        if (ip4.is_none() && ip6.is_none()) || s.spec.svc_type.as_deref() == Some("ExternalName") {
            continue;
        }
        let cips: Vec<IpAddr> = ip4
            .map(IpAddr::V4)
            .into_iter()
            .chain(ip6.map(IpAddr::V6))
            .collect();
        let mut ports = Vec::new();
        for sp in &s.spec.ports {
            let Some(proto) = Proto::parse(&sp.protocol) else {
                continue;
            };
            let mut backends = Vec::new();
            for cip in &cips {
                let info = infos.iter().find(|i| {
                    i.cluster_ip == *cip
                        && i.port == sp.port
                        && Proto::parse(&i.protocol) == Some(proto)
                });
                backends.extend(info.into_iter().flat_map(|i| {
                    i.endpoints
                        .iter()
                        .filter(|e| e.ready && e.ip.is_ipv6() == cip.is_ipv6())
                        .map(|e| Backend {
                            pod: pods
                                .iter()
                                .position(|p| p.ip(Family::of(e.ip)) == Some(e.ip)),
                            ip: e.ip,
                            port: e
                                .endpoint
                                .rsplit_once(':')
                                .and_then(|(_, p)| p.parse().ok())
                                .unwrap_or(sp.port),
                        })
                }));
            }
            ports.push(SvcPort {
                port: PortProto {
                    port: sp.port,
                    proto,
                },
                backends,
            });
        }
        ports.sort_by_key(|p| p.port);
        ports.dedup_by_key(|p| p.port);
        out.push(SvcTarget {
            namespace: s.metadata.ns().to_string(),
            name: s.metadata.name.clone(),
            ip4,
            ip6,
            labels: s.metadata.labels.clone(),
            ports,
        });
    }
    out
}

fn pod_selected(sel: &Selector, p: &PodTarget) -> bool {
    match sel {
        Selector::Pod { namespace, name } => p.namespace == *namespace && p.name == *name,
        Selector::Namespace(ns) => p.namespace == *ns,
        Selector::Service { .. } => false,
        Selector::Labels(reqs) => reqs.iter().all(|r| r.matches(&p.labels)),
    }
}

fn svc_selected(sel: &Selector, s: &SvcTarget) -> bool {
    match sel {
        Selector::Service { namespace, name } => {
            s.namespace == *namespace && name.as_ref().is_none_or(|n| *n == s.name)
        }
        _ => false,
    }
}

/// A pod's ports as probes see them: each declared (port, protocol) once,
/// in port order (a containerPort's protocol defaults to TCP).
pub fn pod_ports(p: &PodTarget) -> Vec<PortProto> {
    let mut v: Vec<PortProto> = p
        .ports
        .iter()
        .filter_map(|c| {
            Some(PortProto {
                port: c.port,
                proto: Proto::parse(if c.protocol.is_empty() {
                    "TCP"
                } else {
                    &c.protocol
                })?,
            })
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether podpath models a probe of `proto` over `f` (SCTP over IPv6 is
/// not modelled yet: those probes are left out, and the run's warning
/// says how many).
pub fn modelled(proto: Proto, f: Family) -> bool {
    !(proto == Proto::Sctp && f == Family::IPv6)
}

/// The probes, in the fixed order: source pods in namespace/name order;
/// for each, the destination pods in that order then the Services; for
/// each destination, its ports in port/protocol order; for each port, the
/// families (IPv4 then IPv6) the destination and the source both have an
/// address of (a dual-stack pod is probed over both). Without `--to`,
/// every pod at each containerPort it declares and every Service at each
/// of its ports; `ports` (when given) keeps only those, `families` (when
/// given) only those families. A selector that selects nothing is an
/// error (a typo would otherwise give an empty matrix).
pub fn plan(
    t: &Targets,
    from: &[Selector],
    to: &[Selector],
    ports: &[PortProto],
    families: &[Family],
) -> Result<Vec<Probe>, ReachError> {
    for s in from {
        if matches!(s, Selector::Service { .. }) {
            return Err(ReachError::Selector {
                sel: describe(s),
                why: "a Service is not a source: --from takes pods (NS/POD, NS/*, labels)".into(),
            });
        }
    }
    for s in from.iter().chain(to) {
        if !t.pods.iter().any(|p| pod_selected(s, p))
            && !t.services.iter().any(|x| svc_selected(s, x))
        {
            return Err(ReachError::Selector {
                sel: describe(s),
                why: "selects no pod (scheduled, with an address, not host-network) or Service of the cluster".into(),
            });
        }
    }
    let sources: Vec<usize> = (0..t.pods.len())
        .filter(|&i| from.is_empty() || from.iter().any(|s| pod_selected(s, &t.pods[i])))
        .collect();
    let keep = |pp: &PortProto| ports.is_empty() || ports.contains(pp);
    let fams: Vec<Family> = Family::BOTH
        .into_iter()
        .filter(|f| families.is_empty() || families.contains(f))
        .collect();
    let mut dests: Vec<(Dest, PortProto, Family)> = Vec::new();
    for (i, p) in t.pods.iter().enumerate() {
        if to.is_empty() || to.iter().any(|s| pod_selected(s, p)) {
            for pp in pod_ports(p).into_iter().filter(keep) {
                for &f in fams.iter().filter(|&&f| p.ip(f).is_some()) {
                    dests.push((Dest::Pod(i), pp, f));
                }
            }
        }
    }
    for (i, s) in t.services.iter().enumerate() {
        if to.is_empty() || to.iter().any(|x| svc_selected(x, s)) {
            for (j, sp) in s.ports.iter().enumerate() {
                if keep(&sp.port) {
                    for &f in fams.iter().filter(|&&f| s.ip(f).is_some()) {
                        dests.push((Dest::Svc(i, j), sp.port, f));
                    }
                }
            }
        }
    }
    Ok(sources
        .iter()
        .flat_map(|&from| {
            dests
                .iter()
                .filter(move |d| t.pods[from].ip(d.2).is_some() && modelled(d.1.proto, d.2))
                .map(move |&(to, port, family)| Probe {
                    from,
                    to,
                    port,
                    family,
                })
        })
        .collect())
}

fn describe(s: &Selector) -> String {
    match s {
        Selector::Pod { namespace, name } => format!("{namespace}/{name}"),
        Selector::Namespace(ns) => format!("{ns}/*"),
        Selector::Service { namespace, name } => {
            format!("svc/{namespace}/{}", name.as_deref().unwrap_or("*"))
        }
        Selector::Labels(r) => r
            .iter()
            .map(|r| format!("{} {:?} {:?}", r.key, r.op, r.values))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
