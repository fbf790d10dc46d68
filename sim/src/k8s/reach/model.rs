//! What `podpath reach` works on and gives: the cluster's pods and
//! Services as probe targets, the probes in their fixed order, and each
//! probe's verdict with what decided it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

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
    pub ip: Ipv4Addr,
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
}

/// One endpoint behind a Service port: a pod of the cluster (its index) or
/// another address, and the port the connection is DNATed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    pub pod: Option<usize>,
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// One port of a Service with a ClusterIP.
#[derive(Clone, Debug)]
pub struct SvcPort {
    pub port: PortProto,
    /// Its ready endpoints, as kube-proxy's endpoint cache has them.
    pub backends: Vec<Backend>,
}

/// A Service with an IPv4 ClusterIP.
#[derive(Clone, Debug)]
pub struct SvcTarget {
    pub namespace: String,
    pub name: String,
    pub ip: Ipv4Addr,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<SvcPort>,
}

impl SvcTarget {
    /// `svc/NS/NAME`
    pub fn id(&self) -> String {
        format!("svc/{}/{}", self.namespace, self.name)
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
    #[error("bad shard '{0}': expected I/N with 1 <= I <= N")]
    ShardSpec(String),
    #[error("{0}")]
    Merge(String),
    #[error("the sim engine needs the world built from the scenario (none was given)")]
    NoWorld,
}
