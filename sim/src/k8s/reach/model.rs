//! What `podpath reach` works on and gives: the cluster's pods and
//! Services as probe targets, the probes in their fixed order, and each
//! probe's verdict with what decided it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::k8s::netpol::NamedPort;

/// A transport protocol a probe uses (a containerPort's, a Service
/// port's, a policy port's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    /// As the API writes it: `TCP`, `UDP`, `SCTP`.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Sctp => "SCTP",
        }
    }

    /// `TCP`, `udp`, ... (the API's names, case-insensitive as kube-proxy
    /// reads a slice port's protocol); None for anything else.
    pub fn parse(s: &str) -> Option<Proto> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Proto::Tcp),
            "UDP" => Some(Proto::Udp),
            "SCTP" => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// The address family a probe goes over (as `ipFamilies` spells it).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Family {
    #[default]
    IPv4,
    IPv6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::IPv4, Family::IPv6];

    /// `IPv4`, `IPv6`.
    pub fn name(self) -> &'static str {
        match self {
            Family::IPv4 => "IPv4",
            Family::IPv6 => "IPv6",
        }
    }

    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv6() {
            Family::IPv6
        } else {
            Family::IPv4
        }
    }

    /// `ipv4`, `IPv6`, `4`, `6` (case-insensitive); None for anything else.
    pub fn parse(s: &str) -> Option<Family> {
        match s.to_ascii_lowercase().as_str() {
            "ipv4" | "4" => Some(Family::IPv4),
            "ipv6" | "6" => Some(Family::IPv6),
            _ => None,
        }
    }
}

/// A port and its protocol (`80/TCP`); ordered by port, then protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortProto {
    pub port: u16,
    pub proto: Proto,
}

impl std::fmt::Display for PortProto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.port, self.proto.name())
    }
}

/// A pod a probe starts from or goes to.
#[derive(Clone, Debug)]
pub struct PodTarget {
    pub namespace: String,
    pub name: String,
    /// Its host in the scenario (`pod_host_names`).
    pub host: String,
    /// Its addresses of each family (`status.podIPs`); one at least.
    pub ip4: Option<Ipv4Addr>,
    pub ip6: Option<Ipv6Addr>,
    pub node: String,
    pub labels: BTreeMap<String, String>,
    pub namespace_labels: BTreeMap<String, String>,
    /// Every container port it declares (unnamed ones with an empty
    /// name), in declaration order.
    pub ports: Vec<NamedPort>,
}

impl PodTarget {
    /// `NS/NAME`
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Its address of `f`, if it has one.
    pub fn ip(&self, f: Family) -> Option<IpAddr> {
        match f {
            Family::IPv4 => self.ip4.map(IpAddr::V4),
            Family::IPv6 => self.ip6.map(IpAddr::V6),
        }
    }
}

/// One endpoint behind a Service port: a pod of the cluster (its index) or
/// another address, and the port the connection is DNATed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    pub pod: Option<usize>,
    pub ip: IpAddr,
    pub port: u16,
}

/// One port of a Service with a ClusterIP.
#[derive(Clone, Debug)]
pub struct SvcPort {
    pub port: PortProto,
    /// Its ready endpoints of both families, as kube-proxy's endpoint
    /// caches have them (one per family: the EndpointSlices of each
    /// `addressType`).
    pub backends: Vec<Backend>,
}

impl SvcPort {
    /// Its ready endpoints of family `f`.
    pub fn backends_of(&self, f: Family) -> impl Iterator<Item = &Backend> {
        self.backends.iter().filter(move |b| Family::of(b.ip) == f)
    }
}

/// A Service with a ClusterIP (of one family or both: `clusterIPs`).
#[derive(Clone, Debug)]
pub struct SvcTarget {
    pub namespace: String,
    pub name: String,
    pub ip4: Option<Ipv4Addr>,
    pub ip6: Option<Ipv6Addr>,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<SvcPort>,
}

impl SvcTarget {
    /// `svc/NS/NAME`
    pub fn id(&self) -> String {
        format!("svc/{}/{}", self.namespace, self.name)
    }

    /// Its ClusterIP of `f`, if it has one.
    pub fn ip(&self, f: Family) -> Option<IpAddr> {
        match f {
            Family::IPv4 => self.ip4.map(IpAddr::V4),
            Family::IPv6 => self.ip6.map(IpAddr::V6),
        }
    }
}

/// Where a probe goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dest {
    /// `pods[i]`
    Pod(usize),
    /// `services[i]`, port `ports[j]` of it
    Svc(usize, usize),
}

/// One connection attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// `pods[i]`
    pub from: usize,
    pub to: Dest,
    pub port: PortProto,
    /// The family of the destination address it connects to.
    pub family: Family,
}

/// The verdict of a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    Denied,
}

/// What decided a probe: where (host and stack point, for the sim
/// engine), the rule and the NetworkPolicy, and in words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedBy {
    /// The host whose stack decided (sim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The stack point, as the trace names it (`filter/FORWARD`, `tcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<String>,
    /// The rule: the iptables/nft rule that dropped (sim), or the policy
    /// rule that admitted (`NS/NAME ingress[0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The NetworkPolicy (`NS/NAME`; several, comma-separated, when all
    /// that selected the pod denied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// `ingress` or `egress`, when a policy decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// For a Service probe: the endpoint pod the connection went to (sim)
    /// or the one that decided (spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// In words.
    pub reason: String,
}

/// A probe and its verdict, as `reach` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub from: String,
    pub to: String,
    pub port: u16,
    pub protocol: Proto,
    /// The family of the address connected to (a report made before
    /// `reach` probed IPv6 has none: IPv4).
    #[serde(default)]
    pub family: Family,
    pub verdict: Verdict,
    pub decided_by: DecidedBy,
}

/// Which engine gave the verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Simulated connections through the whole stack.
    Sim,
    /// `netpol::evaluate`, the API semantics alone.
    Spec,
}

/// Which slice of the fixed probe order a run computed (`--shard I/N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based
    pub index: usize,
    pub count: usize,
    /// Probes of the whole, unsharded run.
    pub total: usize,
}

/// A `reach` run's result (`--format json` prints it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub engine: EngineKind,
    /// The cluster's NetworkPolicies have no effect (flannel, host-gw):
    /// said here and on stderr.
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    pub probes: Vec<ProbeResult>,
}

/// A probe both engines ran and gave different verdicts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    pub from: String,
    pub to: String,
    pub port: u16,
    pub protocol: Proto,
    pub family: Family,
    pub sim: Side,
    pub spec: Side,
}

/// One engine's side of a disagreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Side {
    pub verdict: Verdict,
    pub decided_by: DecidedBy,
}

/// `reach --compare`'s result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub warnings: Vec<String>,
    /// Probes both engines ran.
    pub compared: usize,
    pub disagreements: Vec<Disagreement>,
}

/// Why `reach` cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReachError {
    #[error("bad selector '{sel}': {why}")]
    Selector { sel: String, why: String },
    #[error("bad port '{0}': expected PORT/PROTO (80/TCP, 53/UDP; the protocol TCP, UDP or SCTP)")]
    Port(String),
    #[error("bad family '{0}': expected ipv4 or ipv6")]
    Family(String),
    #[error("bad shard '{0}': expected I/N with 1 <= I <= N")]
    ShardSpec(String),
    #[error("{0}")]
    Merge(String),
    #[error("the sim engine needs the world built from the scenario (none was given)")]
    NoWorld,
}
