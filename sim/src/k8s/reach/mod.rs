//! `podpath reach`: who can reach whom. Every source pod × destination
//! (pod at each containerPort it declares, Service at each of its ports)
//! probed by one of two engines:
//!
//! - **sim** ([`sim`]): a real simulated connection attempt through the
//!   whole stack, one independent run per probe, so routing, kube-proxy's
//!   NAT and the CNI's programming of the policies all count;
//! - **spec** ([`spec`]): the NetworkPolicy API semantics alone
//!   ([`crate::k8s::netpol::evaluate`]).
//!
//! A dual-stack pod or Service is probed over both families: each probe
//! connects to the destination's address of one family (the source's of
//! the same family), so a matrix has an IPv6 column per dual-stack
//! destination.
//!
//! `--compare` runs both and lists every probe where they disagree.
//! Probes are independent, so they run in parallel (rayon); results are
//! collected in the fixed probe order ([`select::plan`]), so the output is
//! the same byte for byte whatever the thread count. `--shard I/N` computes
//! one contiguous slice of that order, and [`output::merge`] joins the
//! slices into the unsharded report.
//!
//! No probes share a simulation: each runs on its own copy of the world
//! (a copy-on-write one, [`crate::shared::Shared`]: what a probe's run
//! writes is its own, what it only reads stays shared).
//! Pods the policies, routes and rules cannot tell apart could share one,
//! but only with a proof, and none is made here. Why the simple one
//! fails: swapping two such pods (their addresses, MACs, veth names) is
//! not a symmetry of the whole configuration. kube-proxy's KUBE-SVC
//! chains list a Service's endpoints in order, each with its own
//! `-m statistic` probability, and felix's dispatch chains list the
//! workloads' interfaces in name order, so the swapped rule sets differ
//! as sequences even where no pod-to-pod probe could tell (a KUBE-SVC
//! chain is reached only through a ClusterIP or NodePort match; the
//! dispatch rules match disjoint interfaces). A sound sharing needs the
//! symmetry only on what a probe consults: the chains its run entered
//! (the built-in ones and the targets of the jumps it took), the routes,
//! neighbours, devices and IP sets of the hosts it crossed, the two
//! pods' own hosts, and every CIDR deciding alike for both addresses;
//! checked per swap and cached, a member's verdict is the
//! representative's with the names swapped back. Not built yet.

pub mod model;
pub mod output;
pub mod select;
pub mod sim;
pub mod spec;

use rayon::prelude::*;

use crate::k8s::cluster::NetConfig;
use crate::k8s::netpol::NetworkPolicy;
use crate::k8s::Cluster;
use crate::world::World;

use model::{
    Comparison, DecidedBy, Disagreement, EngineKind, Family, PortProto, Probe, ProbeResult,
    ReachError, Report, Shard, Side, Verdict,
};
use select::{Selector, Targets};

/// What the cluster gives `reach`: its targets, its policies, the world
/// the sim engine copies per probe (None: the spec engine alone, which
/// needs no world), and the warnings of the run.
pub struct Setup {
    pub targets: Targets,
    pub policies: Vec<NetworkPolicy>,
    pub world: Option<World>,
    pub warnings: Vec<String>,
}

/// The warning for NetworkPolicies on a CNI that does not enforce them
/// (flannel's backends: flannel has no policy controller, as in reality).
pub fn enforcement_warning(cluster: &Cluster, net: &NetConfig) -> Option<String> {
    let n = cluster.network_policies.len();
    if n == 0 || !net.cni.starts_with("flannel") {
        return None;
    }
    let s = if n == 1 { "y has" } else { "ies have" };
    Some(format!(
        "{n} NetworkPolic{s} no effect: the cluster's CNI ({}) does not enforce NetworkPolicy, so the sim engine's verdicts (the traffic as it runs) ignore them; the spec engine's are what a CNI that enforces them would give",
        net.cni
    ))
}

/// The warning for the probes `reach` leaves out over IPv6: SCTP over
/// IPv6 is not modelled yet (simplification, named in `podpath
/// explain`), so an SCTP port of a pod or Service with an IPv6 address is
/// probed over IPv4 alone.
pub fn sctp6_warning(t: &Targets) -> Option<String> {
    let pods = t
        .pods
        .iter()
        .filter(|p| p.ip6.is_some())
        .flat_map(select::pod_ports)
        .filter(|pp| !select::modelled(pp.proto, Family::IPv6))
        .count();
    let svcs = t
        .services
        .iter()
        .filter(|s| s.ip6.is_some())
        .flat_map(|s| &s.ports)
        .filter(|sp| !select::modelled(sp.port.proto, Family::IPv6))
        .count();
    (pods + svcs > 0).then(|| {
        format!(
            "SCTP over IPv6 is not modelled: {pods} pod port(s) and {svcs} Service port(s) of SCTP are probed over IPv4 only"
        )
    })
}

impl Setup {
    /// From the cluster's objects and network settings and the world
    /// built from them (`scenario::load`; None for the spec engine alone).
    pub fn new(cluster: &Cluster, net: &NetConfig, world: Option<World>) -> Setup {
        let targets = Targets::of(cluster);
        let warnings = enforcement_warning(cluster, net)
            .into_iter()
            .chain(sctp6_warning(&targets))
            .collect();
        Setup {
            targets,
            policies: cluster.network_policies.clone(),
            world,
            warnings,
        }
    }
}

/// What to probe.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub from: Vec<Selector>,
    pub to: Vec<Selector>,
    pub ports: Vec<PortProto>,
    /// Only probes over these families (`--family`; empty: both).
    pub families: Vec<Family>,
    /// `(I, N)`: only the I-th (1-based) of N slices of the probes.
    pub shard: Option<(usize, usize)>,
}

/// The probes of the run (the shard's, when sharded) and the shard.
fn probes(setup: &Setup, o: &Options) -> Result<(Vec<Probe>, Option<Shard>), ReachError> {
    let all = select::plan(&setup.targets, &o.from, &o.to, &o.ports, &o.families)?;
    Ok(match o.shard {
        None => (all, None),
        Some((index, count)) => {
            let total = all.len();
            let r = output::shard_range(index, count, total);
            (
                all[r].to_vec(),
                Some(Shard {
                    index,
                    count,
                    total,
                }),
            )
        }
    })
}

fn result(t: &Targets, p: &Probe, verdict: Verdict, decided_by: DecidedBy) -> ProbeResult {
    ProbeResult {
        from: t.pods[p.from].id(),
        to: t.dest_id(p.to),
        port: p.port.port,
        protocol: p.port.proto,
        family: p.family,
        verdict,
        decided_by,
    }
}

fn world(setup: &Setup) -> Result<&World, ReachError> {
    setup.world.as_ref().ok_or(ReachError::NoWorld)
}

/// Runs the probes with `engine`.
pub fn run(setup: &Setup, o: &Options, engine: EngineKind) -> Result<Report, ReachError> {
    let (probes, shard) = probes(setup, o)?;
    let warnings = setup.warnings.clone();
    let t = &setup.targets;
    let results: Vec<ProbeResult> = match engine {
        EngineKind::Spec => {
            let e = spec::SpecEngine::new(&setup.policies, t);
            probes
                .par_iter()
                .map(|p| {
                    let (v, d) = e.verdict(p);
                    result(t, p, v, d)
                })
                .collect()
        }
        EngineKind::Sim => {
            let e = sim::SimEngine::new(world(setup)?, t);
            probes
                .par_iter()
                .map(|p| {
                    let (v, d, _) = e.verdict(p);
                    result(t, p, v, d)
                })
                .collect()
        }
    };
    Ok(Report {
        engine,
        warnings,
        shard,
        probes: results,
    })
}

/// The sim engine's run of the first probe of `o` (its trace, the probe's
/// flow named `reach`): what `reach --why` reads a denied probe's deciding
/// point from. None when `o` selects no probe or its source is no host.
pub fn trace_of(setup: &Setup, o: &Options) -> Result<Option<crate::trace::Trace>, ReachError> {
    let (probes, _) = probes(setup, o)?;
    let e = sim::SimEngine::new(world(setup)?, &setup.targets);
    Ok(probes.first().and_then(|p| e.trace(p)))
}

/// Runs both engines on every probe and lists the
/// probes where they disagree. A Service probe is compared with the spec
/// verdict for the endpoint the simulated connection reached (the one
/// kube-proxy picked), or with the Service's verdict when it reached
/// none.
pub fn compare(setup: &Setup, o: &Options) -> Result<Comparison, ReachError> {
    let (runnable, _) = probes(setup, o)?;
    let t = &setup.targets;
    let warnings = setup.warnings.clone();
    let se = sim::SimEngine::new(world(setup)?, t);
    let sp = spec::SpecEngine::new(&setup.policies, t);
    let found: Vec<Option<Disagreement>> = runnable
        .par_iter()
        .map(|p| {
            let (sv, sd, ep) = se.verdict(p);
            let (pv, pd) = ep
                .and_then(|ip| sp.verdict_to(p, ip))
                .unwrap_or_else(|| sp.verdict(p));
            (sv != pv).then(|| {
                let r = result(t, p, sv, sd.clone());
                Disagreement {
                    from: r.from,
                    to: r.to,
                    port: r.port,
                    protocol: r.protocol,
                    family: r.family,
                    sim: Side {
                        verdict: sv,
                        decided_by: sd,
                    },
                    spec: Side {
                        verdict: pv,
                        decided_by: pd,
                    },
                }
            })
        })
        .collect();
    Ok(Comparison {
        warnings,
        compared: runnable.len(),
        disagreements: found.into_iter().flatten().collect(),
    })
}
