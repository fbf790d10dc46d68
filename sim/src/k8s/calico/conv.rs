//! A Kubernetes NetworkPolicy as felix receives it: libcalico-go's
//! conversion to a Calico policy in tier `default` (one Calico rule per
//! protocol and peer), the selectors the syncer's update processor makes
//! of each peer, and felix's calculation graph's IP set ids for them.
//!
//! Read from projectcalico/calico v3.32.1:
//! - `libcalico-go/lib/backend/k8s/conversion/conversion.go`
//!   (`K8sNetworkPolicyToCalico`, `k8sRuleToCalico`: the ports grouped by
//!   protocol, the protocols sorted, a port without protocol TCP, an
//!   absent or empty port list "all"; for each protocol, for each peer, an
//!   Allow rule; `k8sSelectorToCalico`: `projectcalico.org/orchestrator ==
//!   'k8s'` first for pod selectors, matchLabels by sorted key, then the
//!   expressions; an empty namespace selector `all()`;
//!   `k8sPeerToCalicoFields`: ipBlock to nets and `except` to notNets;
//!   `SimplifyPorts`);
//! - `libcalico-go/lib/backend/syncersv1/updateprocessors/rules.go`
//!   (`getEndpointSelector`: a namespace selector with the `pcns.` prefix
//!   and `all()` as `has(projectcalico.org/namespace)`, else the policy's
//!   namespace `projectcalico.org/namespace == 'NS'`, combined as `(ns) &&
//!   (sel)` when a selector is there);
//! - `felix/calc/rule_scanner.go` (`ruleToParsedRule`: named ports split
//!   out; the selector's IP set kept only when numeric ports or no named
//!   ports; a named port's set is `(selector or all(), protocol, name)` with
//!   id `MakeUniqueID("n", selID + "," + proto + "," + name)`).

use super::selector::{make_unique_id, string_set, Sel};
use crate::k8s::netpol::{LabelSelector, NetworkPolicy, Peer, PolicyPort, PortRef};

/// A Calico rule (v3 model after the update processor), with the index of
/// the Kubernetes rule it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CRule {
    pub k8s_rule: usize,
    /// Lower-case protocol, None for any.
    pub proto: Option<String>,
    pub src_sel: Option<Sel>,
    pub dst_sel: Option<Sel>,
    pub src_nets: Vec<String>,
    pub not_src_nets: Vec<String>,
    pub dst_nets: Vec<String>,
    pub not_dst_nets: Vec<String>,
    /// Destination ports: numeric ranges, then names.
    pub dst_ports: Vec<(u16, u16)>,
    pub dst_named: Vec<String>,
}

/// An IP set felix programs: by selector, or by selector and named port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IpSetDef {
    Selector(Sel),
    NamedPort {
        sel: Sel,
        proto: String,
        name: String,
    },
}

impl IpSetDef {
    /// `IPSetData.UniqueID`.
    pub fn id(&self) -> String {
        match self {
            IpSetDef::Selector(s) => s.unique_id(),
            IpSetDef::NamedPort { sel, proto, name } => {
                make_unique_id("n", &format!("{},{proto},{name}", sel.unique_id()))
            }
        }
    }

    /// `NameForMainIPSet` of the IPv4 config: `cali40` + id, cut at 31
    /// characters.
    pub fn name(&self) -> String {
        self.name_for(false)
    }

    /// `NameForMainIPSet` of the version's config
    /// (`felix/ipsets/ipset_defs.go`: prefix `cali` + `4`|`6` + the main
    /// set token `0`), cut at `MaxIPSetNameLength` (31).
    pub fn name_for(&self, v6: bool) -> String {
        let mut n = format!("cali{}0{}", if v6 { 6 } else { 4 }, self.id());
        n.truncate(31);
        n
    }
}

/// A rule as felix's renderer gets it (`proto.Rule`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PRule {
    pub proto: Option<String>,
    pub src_nets: Vec<String>,
    pub not_src_nets: Vec<String>,
    pub dst_nets: Vec<String>,
    pub not_dst_nets: Vec<String>,
    pub src_ipsets: Vec<IpSetDef>,
    pub dst_ipsets: Vec<IpSetDef>,
    pub src_ports: Vec<(u16, u16)>,
    pub dst_ports: Vec<(u16, u16)>,
    pub src_named: Vec<IpSetDef>,
    pub dst_named: Vec<IpSetDef>,
}

/// `k8sSelectorToCalico`'s terms, as felix's parser makes nodes of them.
fn selector_terms(s: &LabelSelector) -> Vec<Sel> {
    let mut t: Vec<Sel> = s
        .match_labels
        .iter()
        .map(|(k, v)| Sel::Eq(k.clone(), v.clone()))
        .collect();
    for e in &s.match_expressions {
        t.push(match e.operator.as_str() {
            "In" => Sel::In(e.key.clone(), string_set(&e.values)),
            "NotIn" => Sel::NotIn(e.key.clone(), string_set(&e.values)),
            "Exists" => Sel::Has(e.key.clone()),
            _ => Sel::Not(Box::new(Sel::Has(e.key.clone()))),
        });
    }
    t
}

/// A pod selector (`SelectorPod`): the orchestrator term first.
fn pod_selector(s: Option<&LabelSelector>) -> Sel {
    let mut t = vec![Sel::Eq(
        "projectcalico.org/orchestrator".into(),
        "k8s".into(),
    )];
    if let Some(s) = s {
        t.extend(selector_terms(s));
    }
    Sel::and(t)
}

/// A peer's selector as `getEndpointSelector` leaves it (None: ipBlock).
fn peer_selector(p: &Peer, ns: &str) -> Option<Sel> {
    if p.ip_block.is_some() {
        return None;
    }
    let pod = pod_selector(p.pod_selector.as_ref());
    let nsel = match &p.namespace_selector {
        Some(s) => {
            let t = selector_terms(s);
            if t.is_empty() {
                Sel::Has("projectcalico.org/namespace".into())
            } else {
                Sel::and(t).prefixed("pcns.")
            }
        }
        None => Sel::Eq("projectcalico.org/namespace".into(), ns.into()),
    };
    Some(Sel::And(vec![nsel, pod]))
}

/// A port list's entries by protocol (`protocolPorts`): None for "every
/// protocol and port"; an empty list for every port of that protocol.
#[allow(clippy::type_complexity)]
fn ports_by_protocol(ports: &[PolicyPort]) -> Vec<(Option<String>, Vec<PortRef>, Vec<i64>)> {
    use std::collections::BTreeMap;
    if ports.is_empty() {
        return vec![(None, Vec::new(), Vec::new())];
    }
    // value: None = all ports; Some(list of (port, end))
    let mut m: BTreeMap<String, Option<Vec<(PortRef, Option<i64>)>>> = BTreeMap::new();
    for p in ports {
        let proto = p.protocol().to_string();
        match &p.port {
            None => {
                m.insert(proto, None);
            }
            Some(r) => {
                let e = m.entry(proto).or_insert_with(|| Some(Vec::new()));
                if let Some(v) = e {
                    v.push((r.clone(), p.end_port));
                }
            }
        }
    }
    m.into_iter()
        .map(|(k, v)| {
            let (named, ranges) = match v {
                None => (Vec::new(), Vec::new()),
                Some(v) => {
                    let mut named = Vec::new();
                    let mut nums = Vec::new();
                    for (r, end) in v {
                        match r {
                            PortRef::Name(n) => named.push(PortRef::Name(n)),
                            PortRef::Num(n) => {
                                nums.push(n);
                                nums.push(end.unwrap_or(n));
                            }
                        }
                    }
                    (named, nums)
                }
            };
            (Some(k.to_lowercase()), named, ranges)
        })
        .collect()
}

/// `SimplifyPorts` over (first, last) pairs: with two or more numeric
/// ports, the sorted union as ranges; else as given.
fn simplify(pairs: &[i64]) -> Vec<(u16, u16)> {
    let given: Vec<(u16, u16)> = pairs
        .chunks(2)
        .filter_map(|c| Some((u16::try_from(c[0]).ok()?, u16::try_from(*c.get(1)?).ok()?)))
        .collect();
    let count: usize = given
        .iter()
        .map(|(a, b)| usize::from(b.saturating_sub(*a)) + 1)
        .sum();
    if given.len() <= 1 || count <= 1 {
        return given;
    }
    let mut all: Vec<(u16, u16)> = given;
    all.sort();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (a, b) in all {
        match out.last_mut() {
            Some(l) if u32::from(a) <= u32::from(l.1) + 1 => l.1 = l.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The Calico rules of one direction of a policy.
pub fn calico_rules(pol: &NetworkPolicy, ingress: bool) -> Vec<CRule> {
    let ns = pol.metadata.ns();
    let mut out = Vec::new();
    let rules: Vec<(&[PolicyPort], &[Peer])> = if ingress {
        pol.spec
            .ingress
            .iter()
            .map(|r| (&r.ports[..], &r.from[..]))
            .collect()
    } else {
        pol.spec
            .egress
            .iter()
            .map(|r| (&r.ports[..], &r.to[..]))
            .collect()
    };
    for (i, (ports, peers)) in rules.into_iter().enumerate() {
        let no_peer = [Peer::default()];
        let peers: &[Peer] = if peers.is_empty() { &no_peer } else { peers };
        for (proto, named, nums) in ports_by_protocol(ports) {
            for p in peers {
                let any = p.ip_block.is_none()
                    && p.pod_selector.is_none()
                    && p.namespace_selector.is_none();
                let sel = if any { None } else { peer_selector(p, ns) };
                let (nets, not_nets) = match &p.ip_block {
                    Some(b) => (
                        vec![net(&b.cidr)],
                        b.except.iter().map(|e| net(e)).collect(),
                    ),
                    None => (Vec::new(), Vec::new()),
                };
                let mut r = CRule {
                    k8s_rule: i,
                    proto: proto.clone(),
                    src_sel: None,
                    dst_sel: None,
                    src_nets: Vec::new(),
                    not_src_nets: Vec::new(),
                    dst_nets: Vec::new(),
                    not_dst_nets: Vec::new(),
                    dst_ports: simplify(&nums),
                    dst_named: named
                        .iter()
                        .filter_map(|n| match n {
                            PortRef::Name(s) => Some(s.clone()),
                            PortRef::Num(_) => None,
                        })
                        .collect(),
                };
                if ingress {
                    r.src_sel = sel;
                    r.src_nets = nets;
                    r.not_src_nets = not_nets;
                } else {
                    r.dst_sel = sel;
                    r.dst_nets = nets;
                    r.not_dst_nets = not_nets;
                }
                out.push(r);
            }
        }
    }
    out
}

/// A CIDR as `cnet.ParseCIDR` prints it back (the network address).
fn net(s: &str) -> String {
    s.parse::<ipnet::IpNet>()
        .map(|n| n.trunc().to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// felix's `filterNets`: the CIDRs of the version (`:` in it is IPv6), and
/// whether none is left of a non-empty list (None too for a negated
/// catch-all, which felix drops the rule for).
fn filter_nets(nets: &[String], v6: bool, negated: bool) -> Option<Vec<String>> {
    if nets.is_empty() {
        return Some(Vec::new());
    }
    let kept: Vec<String> = nets
        .iter()
        .filter(|n| n.contains(':') == v6)
        .cloned()
        .collect();
    let catch_all = |n: &String| n == if v6 { "::/0" } else { "0.0.0.0/0" };
    if kept.is_empty() || (negated && kept.iter().any(catch_all)) {
        return None;
    }
    Some(kept)
}

impl CRule {
    /// `FilterRuleToIPVersion` (felix/rules/policy.go): the rule for the
    /// IPv6 (`v6`) or IPv4 ruleset, its CIDRs of that version alone; None
    /// when a CIDR list it has holds none of the version (the rule is
    /// rendered in neither form: it is left out of that ruleset).
    pub fn for_version(&self, v6: bool) -> Option<CRule> {
        Some(CRule {
            src_nets: filter_nets(&self.src_nets, v6, false)?,
            not_src_nets: filter_nets(&self.not_src_nets, v6, true)?,
            dst_nets: filter_nets(&self.dst_nets, v6, false)?,
            not_dst_nets: filter_nets(&self.not_dst_nets, v6, true)?,
            ..self.clone()
        })
    }

    /// `ruleToParsedRule`: the IP sets felix makes of it.
    pub fn parsed(&self) -> PRule {
        let np = |sel: &Option<Sel>, names: &[String]| -> Vec<IpSetDef> {
            names
                .iter()
                .map(|n| IpSetDef::NamedPort {
                    sel: sel.clone().unwrap_or(Sel::All),
                    proto: self.proto.clone().unwrap_or_else(|| "any".into()),
                    name: n.clone(),
                })
                .collect()
        };
        let keep_dst = !self.dst_ports.is_empty() || self.dst_named.is_empty();
        PRule {
            proto: self.proto.clone(),
            src_nets: self.src_nets.clone(),
            not_src_nets: self.not_src_nets.clone(),
            dst_nets: self.dst_nets.clone(),
            not_dst_nets: self.not_dst_nets.clone(),
            src_ipsets: self
                .src_sel
                .iter()
                .cloned()
                .map(IpSetDef::Selector)
                .collect(),
            dst_ipsets: if keep_dst {
                self.dst_sel
                    .iter()
                    .cloned()
                    .map(IpSetDef::Selector)
                    .collect()
            } else {
                Vec::new()
            },
            src_ports: Vec::new(),
            dst_ports: self.dst_ports.clone(),
            src_named: Vec::new(),
            dst_named: np(&self.dst_sel, &self.dst_named),
        }
    }
}
