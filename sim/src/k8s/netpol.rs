//! networking.k8s.io/v1 NetworkPolicy as the API defines it: the objects,
//! the API server's validation and defaulting, and the API semantics of
//! who may reach whom (the "spec engine", the verdict a NetworkPolicy
//! conformance suite expects, independent of how a CNI programs it).
//!
//! Read from:
//! - kubernetes `pkg/apis/networking/validation/validation.go`
//!   (`ValidateNetworkPolicyPort`, `ValidateNetworkPolicyPeer`,
//!   `ValidateNetworkPolicySpec`, `ValidateIPBlock`), the messages quoted;
//! - `pkg/apis/networking/v1/defaults.go` (`SetDefaults_NetworkPolicy`:
//!   no `policyTypes` means Ingress, plus Egress when `egress` has a rule;
//!   `SetDefaults_NetworkPolicyPort`: protocol TCP);
//! - apimachinery `pkg/apis/meta/v1/validation` (`ValidateLabelSelector`)
//!   and `pkg/apis/meta/v1/helpers.go` `LabelSelectorAsSelector` (an empty
//!   selector selects everything; `NotIn` and `DoesNotExist` hold when the
//!   key is absent), `pkg/util/validation` (`IsValidPortName`,
//!   `IsValidPortNum`);
//! - `pkg/apis/core/v1/defaults.go` `SetDefaults_Namespace` (the
//!   `kubernetes.io/metadata.name` label) and the API reference of
//!   NetworkPolicySpec (several policies selecting a pod: the union of
//!   their rules; a pod no policy of a type selects is not isolated for
//!   that type).
//!
//! Semantics the API leaves to the implementation, as podpath takes them
//! (named in `podpath explain`): an `ipBlock` matches any address in it,
//! pod addresses included (Calico and kube-network-policies do; the API
//! says ipBlocks are meant for cluster-external addresses); a named port
//! of an egress rule resolves against the destination pod's container
//! ports, and never matches a destination that is not a pod; host-network
//! pods are not selected by any policy (their traffic is the node's).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use super::meta::{err, K8sError, ObjectMeta};

/// A NetworkPolicy (the fields the data path depends on: all of spec).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicy {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: NetworkPolicySpec,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// Which pods of the policy's namespace it selects (empty: all).
    #[serde(default)]
    pub pod_selector: LabelSelector,
    /// `ingress: []` and no `ingress` are the same list (Go's nil and
    /// empty slices); a rule `{}` allows everything.
    #[serde(default)]
    pub ingress: Vec<IngressRule>,
    #[serde(default)]
    pub egress: Vec<EgressRule>,
    /// As written; [`NetworkPolicy::policy_types`] applies the default.
    #[serde(default)]
    pub policy_types: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    #[serde(default)]
    pub ports: Vec<PolicyPort>,
    /// Empty: from every source.
    #[serde(default)]
    pub from: Vec<Peer>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EgressRule {
    #[serde(default)]
    pub ports: Vec<PolicyPort>,
    /// Empty: to every destination.
    #[serde(default)]
    pub to: Vec<Peer>,
}

/// One peer: a pod selector, a namespace selector, both (AND: those pods
/// in those namespaces), or an ipBlock alone.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    #[serde(default)]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub ip_block: Option<IpBlock>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IpBlock {
    #[serde(default)]
    pub cidr: String,
    #[serde(default)]
    pub except: Vec<String>,
}

/// A port (number or name) and protocol; `endPort` makes a range.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPort {
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub port: Option<PortRef>,
    #[serde(default)]
    pub end_port: Option<i64>,
}

/// `port: 80` or `port: http` (an int-or-string, read wide so that an out
/// of range number is the API server's error, not a parse error).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PortRef {
    Num(i64),
    Name(String),
}

/// A label selector (metav1.LabelSelector).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub match_expressions: Vec<Requirement>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// A Namespace (its labels are what namespaceSelectors match).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    pub metadata: ObjectMeta,
}

/// The label the API server puts on every namespace
/// (`SetDefaults_Namespace`, since 1.21).
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

impl Namespace {
    /// The namespace's labels as the API server stores them: with
    /// `kubernetes.io/metadata.name: NAME` (which it sets whatever the
    /// manifest says).
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut l = self.metadata.labels.clone();
        l.insert(NAMESPACE_NAME_LABEL.into(), self.metadata.name.clone());
        l
    }
}

impl LabelSelector {
    /// Whether `labels` satisfy every matchLabels pair and every
    /// requirement (`LabelSelectorAsSelector`; an empty selector selects
    /// everything).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let v = labels.get(&r.key);
                match r.operator.as_str() {
                    "In" => v.is_some_and(|v| r.values.contains(v)),
                    "NotIn" => v.is_none_or(|v| !r.values.contains(v)),
                    "Exists" => v.is_some(),
                    "DoesNotExist" => v.is_none(),
                    // refused by validate(); never selects
                    _ => false,
                }
            })
    }

    /// `metav1validation.ValidateLabelSelector`: operators and their
    /// values, label keys and values.
    fn validate(&self, o: &str, path: &str) -> Result<(), K8sError> {
        for (k, v) in &self.match_labels {
            label_key(o, &format!("{path}.matchLabels"), k)?;
            label_value(o, &format!("{path}.matchLabels"), v)?;
        }
        for (i, r) in self.match_expressions.iter().enumerate() {
            let p = format!("{path}.matchExpressions[{i}]");
            match r.operator.as_str() {
                "In" | "NotIn" if r.values.is_empty() => {
                    return Err(err(
                        o.into(),
                        format!("{p}.values"),
                        "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                    ))
                }
                "Exists" | "DoesNotExist" if !r.values.is_empty() => return Err(err(
                    o.into(),
                    format!("{p}.values"),
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                x => {
                    return Err(err(
                        o.into(),
                        format!("{p}.operator"),
                        format!("Invalid value: \"{x}\": not a valid selector operator"),
                    ))
                }
            }
            label_key(o, &format!("{p}.key"), &r.key)?;
            for v in &r.values {
                label_value(o, &format!("{p}.values"), v)?;
            }
        }
        Ok(())
    }
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of
/// at most 63 characters (alphanumerics, `-`, `_`, `.`, alphanumeric at
/// both ends) (`IsQualifiedName`).
pub(crate) fn label_key(o: &str, path: &str, k: &str) -> Result<(), K8sError> {
    let name = k.rsplit_once('/').map_or(k, |(prefix, n)| {
        if prefix.is_empty() || prefix.len() > 253 {
            ""
        } else {
            n
        }
    });
    if name.is_empty() || !label_chars(name) {
        return Err(err(
            o.into(),
            path,
            format!("Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
        ));
    }
    Ok(())
}

/// A label value: empty, or what a label name may be (`IsValidLabelValue`).
pub(crate) fn label_value(o: &str, path: &str, v: &str) -> Result<(), K8sError> {
    if !v.is_empty() && !label_chars(v) {
        return Err(err(
            o.into(),
            path,
            format!("Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
        ));
    }
    Ok(())
}

fn label_chars(s: &str) -> bool {
    s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `validation.IsValidPortName` (IANA_SVC_NAME), its first complaint.
fn port_name_error(n: &str) -> Option<&'static str> {
    if n.len() > 15 {
        Some("must be no more than 15 characters")
    } else if !n
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Some("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    } else if n.contains("--") {
        Some("must not contain consecutive hyphens")
    } else if !n.chars().any(|c| c.is_ascii_lowercase()) {
        Some("must contain at least one letter (a-z)")
    } else if n.starts_with('-') || n.ends_with('-') {
        Some("must not begin or end with a hyphen")
    } else {
        None
    }
}

const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

impl PolicyPort {
    /// The protocol, defaulted (`SetDefaults_NetworkPolicyPort`).
    pub fn protocol(&self) -> &str {
        self.protocol.as_deref().unwrap_or("TCP")
    }

    /// `ValidateNetworkPolicyPort`.
    fn validate(&self, o: &str, path: &str) -> Result<(), K8sError> {
        let bad = |f: &str, m: String| Err(err(o.into(), format!("{path}.{f}"), m));
        if let Some(p) = &self.protocol {
            if !["TCP", "UDP", "SCTP"].contains(&p.as_str()) {
                return bad(
                    "protocol",
                    format!(
                        "Unsupported value: \"{p}\": supported values: \"TCP\", \"UDP\", \"SCTP\""
                    ),
                );
            }
        }
        match (&self.port, self.end_port) {
            (Some(PortRef::Num(n)), end) => {
                if !(1..=65535).contains(n) {
                    return bad("port", format!("Invalid value: {n}: {PORT_RANGE}"));
                }
                if let Some(e) = end {
                    if e < *n {
                        return bad(
                            "endPort",
                            format!("Invalid value: {e}: must be greater than or equal to `port`"),
                        );
                    }
                    if !(1..=65535).contains(&e) {
                        return bad("endPort", format!("Invalid value: {e}: {PORT_RANGE}"));
                    }
                }
            }
            (Some(PortRef::Name(n)), end) => {
                if let Some(e) = end {
                    return bad(
                        "endPort",
                        format!(
                            "Invalid value: {e}: may not be specified when `port` is non-numeric"
                        ),
                    );
                }
                if let Some(m) = port_name_error(n) {
                    return bad("port", format!("Invalid value: \"{n}\": {m}"));
                }
            }
            (None, Some(e)) => {
                return bad(
                    "endPort",
                    format!(
                        "Invalid value: {e}: may not be specified when `port` is not specified"
                    ),
                )
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// Whether a connection to `port`/`proto` of a destination whose
    /// container ports are `named` (None: not a pod) is this port.
    fn admits(&self, port: u16, proto: &str, named: Option<&[NamedPort]>) -> bool {
        if self.protocol() != proto {
            return false;
        }
        match &self.port {
            None => true,
            Some(PortRef::Num(n)) => {
                let end = self.end_port.unwrap_or(*n);
                (*n..=end).contains(&i64::from(port))
            }
            Some(PortRef::Name(name)) => named.is_some_and(|ps| {
                ps.iter()
                    .any(|c| c.name == *name && c.protocol == proto && c.port == port)
            }),
        }
    }
}

/// A CIDR as the API server reads it (`ParseCIDRSloppy`: leading zeros
/// allowed); a block of one family matches no address of the other.
fn cidr(s: &str) -> Result<IpNet, ()> {
    s.parse::<IpNet>().map_err(|_| ())
}

impl IpBlock {
    /// `ValidateIPBlock`.
    fn validate(&self, o: &str, path: &str) -> Result<(), K8sError> {
        if self.cidr.is_empty() {
            return Err(err(o.into(), format!("{path}.cidr"), "Required value"));
        }
        let Ok(outer) = cidr(&self.cidr) else {
            return Err(err(
                o.into(),
                format!("{path}.cidr"),
                format!("Invalid value: \"{}\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)", self.cidr),
            ));
        };
        for (i, e) in self.except.iter().enumerate() {
            let p = format!("{path}.except[{i}]");
            let Ok(inner) = cidr(e) else {
                return Err(err(
                    o.into(),
                    p,
                    format!("Invalid value: \"{e}\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"),
                ));
            };
            // `ValidateIPBlock`: each except a strict subset of the cidr
            // (apimachinery's `cidrsubset`: contained and a longer prefix),
            // of the same family
            let strict =
                outer.contains(&inner.network()) && outer.prefix_len() < inner.prefix_len();
            if !strict {
                return Err(err(
                    o.into(),
                    p,
                    format!("Invalid value: \"{e}\": must be a strict subset of `cidr`"),
                ));
            }
        }
        Ok(())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let within = |s: &str| matches!(cidr(s), Ok(n) if n.contains(&ip));
        within(&self.cidr) && !self.except.iter().any(|e| within(e))
    }
}

impl Peer {
    /// `ValidateNetworkPolicyPeer`.
    fn validate(&self, o: &str, path: &str) -> Result<(), K8sError> {
        let n = usize::from(self.pod_selector.is_some())
            + usize::from(self.namespace_selector.is_some())
            + usize::from(self.ip_block.is_some());
        if n == 0 {
            return Err(err(o.into(), path, "Required value: must specify a peer"));
        }
        if n > 1 && self.ip_block.is_some() {
            return Err(err(
                o.into(),
                path,
                "Forbidden: may not specify both ipBlock and another peer",
            ));
        }
        if let Some(s) = &self.pod_selector {
            s.validate(o, &format!("{path}.podSelector"))?;
        }
        if let Some(s) = &self.namespace_selector {
            s.validate(o, &format!("{path}.namespaceSelector"))?;
        }
        if let Some(b) = &self.ip_block {
            b.validate(o, &format!("{path}.ipBlock"))?;
        }
        Ok(())
    }

    /// Whether `who` is this peer of a policy in namespace `policy_ns`.
    fn matches(&self, policy_ns: &str, who: &Party) -> bool {
        if let Some(b) = &self.ip_block {
            return b.contains(who.ip());
        }
        let Party::Pod(p) = who else {
            return false;
        };
        let ns_ok = match &self.namespace_selector {
            Some(s) => s.matches(p.namespace_labels),
            None => p.namespace == policy_ns,
        };
        ns_ok
            && self
                .pod_selector
                .as_ref()
                .is_none_or(|s| s.matches(p.labels))
    }
}

/// A policy type (`policyTypes` entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    Ingress,
    Egress,
}

impl NetworkPolicy {
    fn object(&self) -> String {
        format!(
            "NetworkPolicy {}/{}",
            self.metadata.ns(),
            self.metadata.name
        )
    }

    /// The policy types after the API server's defaulting.
    pub fn policy_types(&self) -> Vec<Direction> {
        if self.spec.policy_types.is_empty() {
            let mut v = vec![Direction::Ingress];
            if !self.spec.egress.is_empty() {
                v.push(Direction::Egress);
            }
            return v;
        }
        let mut v: Vec<Direction> = self
            .spec
            .policy_types
            .iter()
            .filter_map(|t| match t.as_str() {
                "Ingress" => Some(Direction::Ingress),
                "Egress" => Some(Direction::Egress),
                _ => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// `ValidateNetworkPolicySpec`, the first error with its field path, at
    /// the policy's line.
    pub fn validate(&self) -> Result<(), K8sError> {
        self.validate_spec().map_err(|mut e| {
            e.line = self.metadata.line;
            e
        })
    }

    fn validate_spec(&self) -> Result<(), K8sError> {
        let o = self.object();
        let s = &self.spec;
        s.pod_selector.validate(&o, "spec.podSelector")?;
        for (i, r) in s.ingress.iter().enumerate() {
            for (j, p) in r.ports.iter().enumerate() {
                p.validate(&o, &format!("spec.ingress[{i}].ports[{j}]"))?;
            }
            for (j, p) in r.from.iter().enumerate() {
                p.validate(&o, &format!("spec.ingress[{i}].from[{j}]"))?;
            }
        }
        for (i, r) in s.egress.iter().enumerate() {
            for (j, p) in r.ports.iter().enumerate() {
                p.validate(&o, &format!("spec.egress[{i}].ports[{j}]"))?;
            }
            for (j, p) in r.to.iter().enumerate() {
                p.validate(&o, &format!("spec.egress[{i}].to[{j}]"))?;
            }
        }
        if s.policy_types.len() > 2 {
            return Err(err(
                o,
                "spec.policyTypes",
                "Invalid value: may not specify more than two policyTypes",
            ));
        }
        for (i, t) in s.policy_types.iter().enumerate() {
            if t != "Ingress" && t != "Egress" {
                return Err(err(
                    o.clone(),
                    format!("spec.policyTypes[{i}]"),
                    format!(
                        "Unsupported value: \"{t}\": supported values: \"Ingress\", \"Egress\""
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether the policy selects pod `p` for direction `d`.
    pub fn selects(&self, p: &PodParty, d: Direction) -> bool {
        self.metadata.ns() == p.namespace
            && self.policy_types().contains(&d)
            && self.spec.pod_selector.matches(p.labels)
    }
}

/// A pod as policies see it.
#[derive(Clone, Copy, Debug)]
pub struct PodParty<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// Its address of the connection's family.
    pub ip: IpAddr,
    /// Its named container ports (what a named policy port resolves to).
    pub ports: &'a [NamedPort],
}

/// A named container port of a pod (`spec.containers[].ports[]` with a
/// name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedPort {
    pub name: String,
    pub port: u16,
    pub protocol: String,
}

/// One end of a connection: a pod (not host-network) or any other address.
#[derive(Clone, Copy, Debug)]
pub enum Party<'a> {
    Pod(PodParty<'a>),
    Other(IpAddr),
}

impl Party<'_> {
    pub fn ip(&self) -> IpAddr {
        match self {
            Party::Pod(p) => p.ip,
            Party::Other(ip) => *ip,
        }
    }
}

/// The verdict of one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// No policy of this type selects the pod (or the end is not a pod).
    NotIsolated,
    /// Allowed by rule `rule` (0-based) of policy `ns/name`.
    Allowed { policy: String, rule: usize },
    /// Selected by these policies (`ns/name`), none of whose rules admits.
    Denied { policies: Vec<String> },
}

/// What the API semantics say of one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecVerdict {
    /// The source pod's egress policies.
    pub egress: Side,
    /// The destination pod's ingress policies.
    pub ingress: Side,
}

impl SpecVerdict {
    pub fn allowed(&self) -> bool {
        !matches!(self.egress, Side::Denied { .. }) && !matches!(self.ingress, Side::Denied { .. })
    }
}

/// The API verdict on a connection from `src` to `dst` port `port`/`proto`
/// (`TCP`, `UDP`, `SCTP`), `dst` being the destination after DNAT (the
/// pod behind a Service, as the CNIs see it).
pub fn evaluate(
    policies: &[NetworkPolicy],
    src: &Party,
    dst: &Party,
    port: u16,
    proto: &str,
) -> SpecVerdict {
    let sel = |who: &Party, d| match who {
        Party::Pod(p) => selecting(policies, p, d),
        Party::Other(_) => Vec::new(),
    };
    let egress = sel(src, Direction::Egress);
    let ingress = sel(dst, Direction::Ingress);
    evaluate_selected(policies, (&egress, &ingress), src, dst, port, proto)
}

/// The policies (indexes into `policies`) that select `pod` for `d`, in
/// the order their rules are tried (by name: they are all in the pod's
/// namespace). What the verdict of a pod depends on besides the peer, so
/// a caller evaluating many connections of one pod computes it once.
pub fn selecting(policies: &[NetworkPolicy], pod: &PodParty, d: Direction) -> Vec<usize> {
    let mut v: Vec<usize> = (0..policies.len())
        .filter(|&i| policies[i].selects(pod, d))
        .collect();
    v.sort_by(|&a, &b| policies[a].metadata.name.cmp(&policies[b].metadata.name));
    v
}

/// [`evaluate`] with the policies selecting the source for egress and the
/// destination for ingress given ([`selecting`]; empty for a party that is
/// not a pod): the same verdict, by construction.
pub fn evaluate_selected(
    policies: &[NetworkPolicy],
    (egress_sel, ingress_sel): (&[usize], &[usize]),
    src: &Party,
    dst: &Party,
    port: u16,
    proto: &str,
) -> SpecVerdict {
    let named = match dst {
        Party::Pod(p) => Some(p.ports),
        Party::Other(_) => None,
    };
    let ports_ok =
        |ps: &[PolicyPort]| ps.is_empty() || ps.iter().any(|p| p.admits(port, proto, named));
    let egress = match src {
        Party::Pod(_) => side(policies, egress_sel, |pol| {
            pol.spec.egress.iter().position(|r| {
                ports_ok(&r.ports)
                    && (r.to.is_empty() || r.to.iter().any(|p| p.matches(pol.metadata.ns(), dst)))
            })
        }),
        Party::Other(_) => Side::NotIsolated,
    };
    let ingress = match dst {
        Party::Pod(_) => side(policies, ingress_sel, |pol| {
            pol.spec.ingress.iter().position(|r| {
                ports_ok(&r.ports)
                    && (r.from.is_empty()
                        || r.from.iter().any(|p| p.matches(pol.metadata.ns(), src)))
            })
        }),
        Party::Other(_) => Side::NotIsolated,
    };
    SpecVerdict { egress, ingress }
}

/// The union of the rules of the policies `selecting` a pod for a
/// direction (in the order [`selecting`] gives): the first policy and
/// rule that admits.
fn side(
    policies: &[NetworkPolicy],
    selecting: &[usize],
    admits: impl Fn(&NetworkPolicy) -> Option<usize>,
) -> Side {
    if selecting.is_empty() {
        return Side::NotIsolated;
    }
    let name = |p: &NetworkPolicy| format!("{}/{}", p.metadata.ns(), p.metadata.name);
    for &i in selecting {
        let p = &policies[i];
        if let Some(rule) = admits(p) {
            return Side::Allowed {
                policy: name(p),
                rule,
            };
        }
    }
    Side::Denied {
        policies: selecting.iter().map(|&i| name(&policies[i])).collect(),
    }
}

#[cfg(test)]
mod tests;
