//! The spec engine: each probe's verdict from the NetworkPolicy API
//! semantics alone ([`crate::k8s::netpol::evaluate`]), what a conformance
//! suite expects whatever the CNI programs.
//!
//! A probe to a Service is evaluated on the post-DNAT destination, as the
//! CNIs see it: every ready endpoint of the Service port, at the port the
//! endpoint serves (the EndpointSlice's). The verdict is `allowed` only
//! when every endpoint admits the connection (then it succeeds whichever
//! endpoint kube-proxy picks), `denied` otherwise, naming the first
//! endpoint that does not admit and how many do; a Service port without
//! a ready endpoint is denied (kube-proxy rejects it). A pod probing its
//! own address is allowed: the packets never leave its `lo`, so no CNI
//! sees them (the one departure from `evaluate`). `--compare` compares
//! a Service probe with the verdict of the endpoint the simulated
//! connection reached ([`SpecEngine::verdict_to`]).

use crate::k8s::netpol::{self, Direction, NetworkPolicy, Party, PodParty, Side, SpecVerdict};

use super::model::{Backend, DecidedBy, Dest, Family, PodTarget, Probe, Verdict};
use super::select::Targets;

/// The policies and, per pod, the policies that select it for each
/// direction (what a pod's verdicts depend on besides the peer), computed
/// once.
pub struct SpecEngine<'a> {
    policies: &'a [NetworkPolicy],
    targets: &'a Targets,
    /// per pod: (egress, ingress) selecting policies
    selected: Vec<(Vec<usize>, Vec<usize>)>,
}

/// The pod as policies see it, with its address of family `f` (the
/// unspecified address when it has none: no ipBlock holds it; no probe
/// of `f` goes to or from such a pod).
fn party(p: &PodTarget, f: Family) -> PodParty<'_> {
    let none = match f {
        Family::IPv4 => std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Family::IPv6 => std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    PodParty {
        namespace: &p.namespace,
        name: &p.name,
        labels: &p.labels,
        namespace_labels: &p.namespace_labels,
        ip: p.ip(f).unwrap_or(none),
        ports: &p.ports,
    }
}

impl<'a> SpecEngine<'a> {
    pub fn new(policies: &'a [NetworkPolicy], targets: &'a Targets) -> Self {
        let selected = targets
            .pods
            .iter()
            .map(|p| {
                // which policies select a pod does not hang on its address
                let pp = party(p, Family::IPv4);
                (
                    netpol::selecting(policies, &pp, Direction::Egress),
                    netpol::selecting(policies, &pp, Direction::Ingress),
                )
            })
            .collect();
        SpecEngine {
            policies,
            targets,
            selected,
        }
    }

    /// The API verdict of a connection from pod `from` to `backend`.
    fn eval(&self, from: usize, b: &Backend, proto: &str) -> SpecVerdict {
        let f = Family::of(b.ip);
        let src = Party::Pod(party(&self.targets.pods[from], f));
        let empty: &[usize] = &[];
        let (dst, ingress) = match b.pod {
            Some(i) => (
                Party::Pod(party(&self.targets.pods[i], f)),
                self.selected[i].1.as_slice(),
            ),
            None => (Party::Other(b.ip), empty),
        };
        netpol::evaluate_selected(
            self.policies,
            (&self.selected[from].0, ingress),
            &src,
            &dst,
            b.port,
            proto,
        )
    }

    /// A probe's verdict and what decided it.
    pub fn verdict(&self, p: &Probe) -> (Verdict, DecidedBy) {
        let proto = p.port.proto.name();
        match p.to {
            Dest::Pod(i) if i == p.from => (
                // a pod's connection to its own address goes through its
                // own `lo` (the local route), never past its veth: no CNI
                // sees it, and the e2e suite does not judge it
                // (truthtable.go `CompareResultBool`, ignoreLoopback)
                Verdict::Allowed,
                DecidedBy {
                    reason: "a pod reaching its own address: the packets stay on its lo, where no NetworkPolicy applies".into(),
                    ..Default::default()
                },
            ),
            Dest::Pod(i) => {
                let Some(ip) = self.targets.pods[i].ip(p.family) else {
                    return (
                        Verdict::Denied,
                        DecidedBy {
                            reason: format!("the pod has no {} address", p.family.name()),
                            ..Default::default()
                        },
                    );
                };
                let b = Backend {
                    pod: Some(i),
                    ip,
                    port: p.port.port,
                };
                explain(&self.eval(p.from, &b, proto), &self.targets.pods[p.from], None)
            }
            Dest::Svc(s, j) => {
                let backends: Vec<&Backend> = self.targets.services[s].ports[j]
                    .backends_of(p.family)
                    .collect();
                if backends.is_empty() {
                    return (
                        Verdict::Denied,
                        DecidedBy {
                            reason: "the Service port has no ready endpoint (kube-proxy rejects the connection)".into(),
                            ..Default::default()
                        },
                    );
                }
                let all: Vec<(Verdict, DecidedBy)> = backends
                    .iter()
                    .map(|b| {
                        let ep = self.backend_name(b);
                        explain(&self.eval(p.from, b, proto), &self.targets.pods[p.from], Some(ep))
                    })
                    .collect();
                let admit = all.iter().filter(|(v, _)| *v == Verdict::Allowed).count();
                let n = all.len();
                let pick = all
                    .iter()
                    .find(|(v, _)| *v == Verdict::Denied)
                    .unwrap_or(&all[0]);
                let mut d = pick.1.clone();
                d.reason = format!("{} ({admit} of {n} endpoints admit)", d.reason);
                (pick.0, d)
            }
        }
    }

    /// The verdict of a probe to a Service as if it went to the endpoint
    /// at `ip` (the one a simulated connection reached); None when that is
    /// not an endpoint of the port.
    pub fn verdict_to(&self, p: &Probe, ip: std::net::IpAddr) -> Option<(Verdict, DecidedBy)> {
        let Dest::Svc(s, j) = p.to else {
            return None;
        };
        let b = self.targets.services[s].ports[j]
            .backends
            .iter()
            .find(|b| b.ip == ip)?;
        let ep = self.backend_name(b);
        Some(explain(
            &self.eval(p.from, b, p.port.proto.name()),
            &self.targets.pods[p.from],
            Some(ep),
        ))
    }

    fn backend_name(&self, b: &Backend) -> String {
        match b.pod {
            Some(i) => self.targets.pods[i].id(),
            None => crate::wire::endpoint(b.ip, b.port),
        }
    }
}

/// A verdict in `reach`'s terms: a denial names its direction and the
/// policies that selected the pod, none of whose rules admits; an
/// admission names the rule that admitted (ingress first: the
/// destination's policy is what a reader looks for).
fn explain(v: &SpecVerdict, from: &PodTarget, endpoint: Option<String>) -> (Verdict, DecidedBy) {
    let words = |side: &Side, dir: &str| match side {
        Side::NotIsolated => format!("{dir}: not isolated"),
        Side::Allowed { policy, rule } => format!("{dir}: admitted by {policy} {dir}[{rule}]"),
        Side::Denied { policies } => {
            format!("{dir}: selected by {}, no rule admits", policies.join(", "))
        }
    };
    let reason = format!(
        "{}; {}",
        words(&v.egress, "egress"),
        words(&v.ingress, "ingress")
    );
    let mut d = DecidedBy {
        endpoint,
        reason,
        ..Default::default()
    };
    let denied = |d: &mut DecidedBy, policies: &[String], dir: &str| {
        d.policy = Some(policies.join(", "));
        d.direction = Some(dir.into());
    };
    match (&v.egress, &v.ingress) {
        (Side::Denied { policies }, _) => {
            denied(&mut d, policies, "egress");
            d.reason = format!("egress of {}: {}", from.id(), d.reason);
            (Verdict::Denied, d)
        }
        (_, Side::Denied { policies }) => {
            denied(&mut d, policies, "ingress");
            (Verdict::Denied, d)
        }
        (e, i) => {
            if let Some((Side::Allowed { policy, rule }, dir)) = [(i, "ingress"), (e, "egress")]
                .into_iter()
                .find(|(s, _)| matches!(s, Side::Allowed { .. }))
            {
                d.rule = Some(format!("{policy} {dir}[{rule}]"));
                d.policy = Some(policy.clone());
                d.direction = Some(dir.into());
            }
            (Verdict::Allowed, d)
        }
    }
}
