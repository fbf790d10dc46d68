//! The sim engine: each probe a real simulated connection attempt through
//! the whole stack (routing, kube-proxy's NAT, the CNI's rules), one run
//! of its own on a fresh copy of the world.
//!
//! A TCP probe is a connect (the handshake, then close, no payload): what
//! the Kubernetes e2e NetworkPolicy suite's probe does (`agnhost connect
//! HOST:PORT --timeout=1s --protocol=tcp`, test/e2e/network/netpol
//! kubemanager.go `probeConnectivity`, 1 s from `getProbeTimeoutSeconds`):
//! allowed when the SYN is answered by a SYN-ACK within 1 s. A UDP probe is
//! one datagram (a DNS query to port 53, where the pod runs its DNS
//! server; a line of text elsewhere, echoed by the pod's UDP echo server),
//! allowed when an answer comes back within 1 s. An SCTP probe is an
//! association set up (INIT, INIT ACK, COOKIE ECHO, COOKIE ACK: what
//! agnhost's `connect --protocol=sctp` waits for) and closed, allowed when
//! the COOKIE ACK comes within 1 s.
//!
//! The verdict's `decided_by` comes from the trace: the NetworkPolicy step
//! (`Action::Policy`) a CNI model wrote, with the rule that dropped after
//! it; else the first drop or reject step, with the netfilter rule just
//! before it in the same hop; else (answered, no policy in the way) the
//! destination's socket that took the probe.
//!
//! Cost: a probe clones the world built once and runs it to the probe's
//! end (the horizon is the probe's timeout and a little more; the
//! scenario's own traffic is left out, its faults kept). The clone is
//! copy-on-write ([`crate::shared::Shared`], whose clone costs the same
//! whatever the number of hosts): the hosts, their programs,
//! and a touched host's devices, FIB tables, ipsets and sysctls stay
//! shared with the built world until the probe's run writes them, so a
//! probe pays for the few hosts its packets pass, not for the cluster;
//! and it runs with [`Engine::run_flows`] (no captures, no host list: the
//! verdict reads the flows alone), which stops once the probe's fate is
//! known (the handshake answered, or the timeout): the connection's close
//! is not simulated, as nothing of the verdict reads it. The world starts
//! with a running cluster's neighbour entries and switch FDBs
//! ([`warm_neighbours`], [`warm_neighbours6`] for IPv6's neighbour
//! discovery), so a probe pays for no ARP exchange or flood
//! across the node network; and its trace is lean
//! ([`crate::trace::TraceSink::lean`]). See the `reach`
//! benchmark and `examples/reach_matrix.rs` (the full matrix).

use crate::engine::Engine;
use crate::net::host::HostKind;
use crate::trace::{Action, FlowTrace, Trace};
use crate::world::{ClientOpts, FlowSpec, Request, World};

use super::model::{DecidedBy, Dest, Probe, Proto, Verdict};
use super::select::Targets;

/// How long a probe waits for its answer (agnhost connect's `--timeout=1s`).
pub const PROBE_TIMEOUT_NS: u64 = 1_000_000_000;

/// The run ends this long after the timeout (the give-up has fired).
const HORIZON_NS: u64 = PROBE_TIMEOUT_NS + 100_000_000;

/// The world every probe starts from, and the pods' hosts in it.
pub struct SimEngine<'a> {
    world: World,
    /// The world's daemons ([`Engine::daemons`]), found once.
    daemons: Vec<(usize, usize)>,
    targets: &'a Targets,
    /// `hosts[i]`: pod i's host index in the world (None: not in it)
    hosts: Vec<Option<usize>>,
}

/// The neighbour entries and switch FDBs of a running cluster, where the
/// world has no fault: each switch host has learned the MAC of every far
/// end of its ports, and every host on its segment holds a REACHABLE
/// entry for each address of the others' ports that is on one of its own
/// subnets there, as the ARP exchange of earlier traffic (BGP sessions,
/// kubelet, overlay) leaves it. Only where ARP would resolve it: both
/// devices up, a switch with no nftables of its own (no bridge or arp
/// chain to drop the exchange), an entry the host does not hold already.
/// A probe then does not pay for an ARP request, or its SYN, flooded to
/// every node of the segment; its verdict is the same, since ARP over such
/// a segment always resolves, a flooded frame's copies are dropped by the
/// hosts it is not addressed to (their devices are no bridge's ports),
/// and only the timing (microseconds, against the 1 s timeout) differs.
/// Its trace has no ARP exchange and no flood across the segment. The same
/// for point-to-point links (veth pairs that are no bridge's ports): a
/// host holds an entry for each next hop it routes out of its end that
/// the other end answers ARP for (an address local to it, or one its
/// proxy ARP answers), as arp_process decides; hosts with nftables arp,
/// netdev or bridge chains are left as they are.
fn warm_neighbours(w: &mut World) {
    if !w.faults.is_empty() {
        return;
    }
    let mut add: Vec<(usize, usize, std::net::Ipv4Addr, crate::wire::Mac)> = Vec::new();
    let mut learn: Vec<(usize, usize, crate::wire::Mac, usize)> = Vec::new();
    for (si, sw) in w
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.kind == HostKind::Switch)
    {
        if !sw.nft.tables.is_empty() {
            continue;
        }
        // the ports' far ends: (port, host, device), both up, the far
        // device a plain one (not a bridge's port, which would carry a
        // flooded frame further)
        let ends: Vec<(usize, usize, usize)> = sw
            .devs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.up && d.master.is_some())
            .filter_map(|(pi, d)| d.peer.as_ref().map(|p| (pi, p.host, p.dev)))
            .filter(|&(_, h, d)| {
                w.hosts
                    .get(h)
                    .and_then(|x| x.devs.get(d))
                    .is_some_and(|d| d.up && d.master.is_none())
            })
            .collect();
        // the switch has learned every far end's MAC on its port
        for &(pi, h, d) in &ends {
            let br = sw.devs[pi].master.expect("a port");
            let mac = w.hosts[h].devs[d].mac;
            if !sw.devs[br].fdb.contains_key(&mac) {
                learn.push((si, br, mac, pi));
            }
        }
        let ends: Vec<(usize, usize)> = ends.iter().map(|&(_, h, d)| (h, d)).collect();
        for &(a, ad) in &ends {
            let nets = &w.hosts[a].devs[ad].addrs;
            for &(b, bd) in ends.iter().filter(|e| e.0 != a) {
                let dev = &w.hosts[b].devs[bd];
                for ip in dev.addrs.iter().map(|n| n.addr()) {
                    if nets.iter().any(|n| n.contains(&ip))
                        && !w.hosts[a].neigh.entries.contains_key(&(ad, ip))
                    {
                        add.push((a, ad, ip, dev.mac));
                    }
                }
            }
        }
    }
    // point-to-point links (veth pairs, not bridge ports): the next hops
    // a host routes through its end that the other end answers ARP for,
    // as arp_process would (an address local to it, arp_ignore=0; or proxy
    // ARP: calico's 169.254.1.1 gateway on the host's cali veth)
    let l2_rules = |h: &crate::net::host::Host| {
        h.nft
            .tables
            .iter()
            .any(|t| matches!(t.family.as_str(), "arp" | "netdev" | "bridge"))
    };
    for (a, ha) in w.hosts.iter().enumerate() {
        if ha.kind == HostKind::Switch || l2_rules(ha) {
            continue;
        }
        let routes = ha.fib.all_routes();
        for (ad, d) in ha.devs.iter().enumerate() {
            let Some(peer) = d.peer.as_ref() else {
                continue;
            };
            let Some(hb) = w.hosts.get(peer.host) else {
                continue;
            };
            let Some(bdev) = hb.devs.get(peer.dev) else {
                continue;
            };
            if !d.up || !bdev.up || d.master.is_some() || bdev.master.is_some() {
                continue;
            }
            if hb.kind == HostKind::Switch || l2_rules(hb) {
                continue;
            }
            let sip = d
                .addrs
                .first()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED, |n| n.addr());
            let mut want: Vec<std::net::Ipv4Addr> = Vec::new();
            for (_, r) in routes.iter().filter(|(_, r)| r.dev == Some(ad)) {
                match r.via {
                    Some(g) => want.push(g),
                    None => want.extend(
                        bdev.addrs
                            .iter()
                            .map(|n| n.addr())
                            .filter(|ip| r.dst.contains(ip)),
                    ),
                }
            }
            want.sort();
            want.dedup();
            for ip in want {
                let answers = (hb.is_local(ip) && !ip.is_loopback())
                    || hb.proxy_arp_route(peer.dev, sip, ip).is_some();
                if answers && !ha.neigh.entries.contains_key(&(ad, ip)) {
                    add.push((a, ad, ip, bdev.mac));
                }
            }
        }
    }
    add.sort_by_key(|x| (x.0, x.1, x.2));
    add.dedup_by_key(|x| (x.0, x.1, x.2));
    for (si, br, mac, port) in learn {
        w.hosts[si].devs[br].fdb.insert(
            mac,
            crate::net::device::FdbEntry {
                port,
                is_static: false,
                updated_ns: 0,
            },
        );
    }
    for (a, ad, ip, mac) in add {
        w.hosts[a].neigh.entries.insert(
            (ad, ip),
            crate::net::neigh::table::NeighEntry {
                mac: Some(mac),
                state: crate::net::neigh::table::Nud::Reachable,
                updated_ns: 0,
                probes: 0,
                queue: Vec::new(),
                last_use: None,
            },
        );
    }
}

/// The far ends a host's device reaches at layer 2: its veth peer; every
/// other plain device on the switch (a bridge host) it is plugged into;
/// for a veth that is a bridge's port on the far host (a pod's eth0 on
/// cni0), that bridge and the bridge's other ports' peers; for a bridge
/// device, its ports' peers. Only ends that are up. None where a switch
/// on the way has nftables of its own (a bridge or netdev chain could
/// drop the exchange).
fn far_ends(w: &World, a: usize, ad: usize) -> Option<Vec<(usize, usize)>> {
    let ha = &w.hosts[a];
    let d = ha.devs.get(ad)?;
    if !d.up {
        return None;
    }
    // the plain peers of bridge `br`'s ports on host `h`, but `skip`
    let port_peers = |h: usize, br: usize, skip: Option<usize>| -> Vec<(usize, usize)> {
        w.hosts[h]
            .devs
            .iter()
            .enumerate()
            .filter(|(pi, x)| Some(*pi) != skip && x.up && x.master == Some(br))
            .filter_map(|(_, x)| x.peer.as_ref().map(|p| (p.host, p.dev)))
            .filter(|&(ph, pd)| {
                w.hosts.get(ph).is_some_and(|x| x.kind != HostKind::Switch)
                    && w.hosts[ph]
                        .devs
                        .get(pd)
                        .is_some_and(|x| x.up && x.master.is_none())
            })
            .collect()
    };
    if ha.devs.iter().any(|x| x.master == Some(ad)) {
        return Some(port_peers(a, ad, None));
    }
    let peer = d.peer.as_ref()?;
    let hb = w.hosts.get(peer.host)?;
    let bdev = hb.devs.get(peer.dev)?;
    if !bdev.up || d.master.is_some() {
        return None;
    }
    match (hb.kind == HostKind::Switch, bdev.master) {
        (true, _) if !hb.nft.tables.is_empty() => None,
        (true, Some(br)) => Some(port_peers(peer.host, br, Some(peer.dev))),
        (true, None) => None,
        (false, Some(br)) => {
            let mut v = vec![(peer.host, br)];
            v.extend(port_peers(peer.host, br, Some(peer.dev)));
            Some(v)
        }
        (false, None) => Some(vec![(peer.host, peer.dev)]),
    }
}

/// The IPv6 side of [`warm_neighbours`]: every host holds a REACHABLE
/// neighbour for each next hop it routes out of a device (a route's
/// gateway, often a link-local one, or an address of a far end within an
/// on-link route) that a far end of that device holds as a usable
/// address, as neighbour discovery would leave it (ndisc_recv_ns answers
/// for an address of the receiving device). Hosts with nftables arp,
/// netdev or bridge chains are left as they are.
fn warm_neighbours6(w: &mut World) {
    if !w.faults.is_empty() {
        return;
    }
    let l2_rules = |h: &crate::net::host::Host| {
        h.nft
            .tables
            .iter()
            .any(|t| matches!(t.family.as_str(), "arp" | "netdev" | "bridge"))
    };
    let mut add: Vec<(usize, usize, std::net::Ipv6Addr, crate::wire::Mac, bool)> = Vec::new();
    for (a, ha) in w.hosts.iter().enumerate() {
        if ha.kind == HostKind::Switch || l2_rules(ha) {
            continue;
        }
        let routes: Vec<&crate::net::ip6::route::Route6> =
            ha.ip6.fib.tables.values().flatten().collect();
        for ad in 0..ha.devs.len() {
            let Some(ends) = far_ends(w, a, ad) else {
                continue;
            };
            for (b, bd) in ends {
                let hb = &w.hosts[b];
                if l2_rules(hb) {
                    continue;
                }
                let held: Vec<std::net::Ipv6Addr> = hb
                    .ip6
                    .addrs
                    .get(&bd)
                    .into_iter()
                    .flatten()
                    .filter(|x| x.usable())
                    .map(|x| x.addr())
                    .collect();
                for r in routes.iter().filter(|r| r.dev == Some(ad)) {
                    let hops: Vec<std::net::Ipv6Addr> = match r.via {
                        Some(g) => vec![g],
                        None => held.iter().copied().filter(|x| r.dst.contains(x)).collect(),
                    };
                    for ip in hops.into_iter().filter(|x| held.contains(x)) {
                        if !ha.ip6.neigh.contains_key(&(ad, ip)) {
                            // its advertisement's IsRouter: it forwards
                            add.push((a, ad, ip, hb.devs[bd].mac, hb.sysctl.ip6_forward()));
                        }
                    }
                }
            }
        }
    }
    add.sort_by_key(|x| (x.0, x.1, x.2));
    add.dedup_by_key(|x| (x.0, x.1, x.2));
    for (a, ad, ip, mac, router) in add {
        w.hosts[a].ip6.neigh.insert(
            (ad, ip),
            crate::net::ip6::state::Neigh6 {
                mac: Some(mac),
                state: crate::net::neigh::table::Nud::Reachable,
                updated_ns: 0,
                probes: 0,
                router,
                queue: Vec::new(),
                last_use: None,
            },
        );
    }
}

/// The probe's flow id in its run.
const FLOW: &str = "reach";

impl<'a> SimEngine<'a> {
    pub fn new(world: &World, targets: &'a Targets) -> Self {
        let mut world = world.clone();
        warm_neighbours(&mut world);
        warm_neighbours6(&mut world);
        // every probe's copy then shares the warmed hosts
        world.hosts.compact();
        let hosts = targets
            .pods
            .iter()
            .map(|p| world.hosts.iter().position(|h| h.name == p.host))
            .collect();
        SimEngine {
            daemons: Engine::daemons(&world),
            world,
            targets,
            hosts,
        }
    }

    /// The probe's one run: its trace (None: its source pod is not a host
    /// of the world).
    pub fn trace(&self, p: &Probe) -> Option<Trace> {
        let from = self.hosts[p.from]?;
        let dst = self.targets.dest_ip(p)?;
        let port = p.port.port;
        let request = match p.port.proto {
            Proto::Udp => Request::Udp {
                dst,
                port,
                payload: if port == 53 {
                    crate::wire::dns::DnsRepr::query(0x7265, "reach.podpath.invalid").emit()
                } else {
                    b"podpath reach probe\n".to_vec()
                },
            },
            // SCTP over IPv6 is not modelled ([`super::select::modelled`]:
            // no such probe is planned)
            Proto::Sctp => Request::Sctp {
                dst: match dst {
                    std::net::IpAddr::V4(a) => a,
                    std::net::IpAddr::V6(_) => return None,
                },
                port,
                payload: None,
            },
            Proto::Tcp => Request::HttpGet {
                dst,
                port,
                host_header: crate::wire::endpoint(dst, port),
                path: "/".into(),
                user: None,
                extra: crate::app::http::RequestExtra {
                    connect_only: true,
                    ..Default::default()
                },
            },
        };
        let mut w = self.world.clone();
        w.flows = vec![FlowSpec {
            streams: Vec::new(),
            id: FLOW.into(),
            from,
            request,
            start_ns: 0,
            count: 1,
            interval_ns: 0,
            after_previous: false,
            client: ClientOpts {
                timeout_ns: Some(PROBE_TIMEOUT_NS),
                ..Default::default()
            },
            expect: Vec::new(),
        }];
        w.horizon_ns = w.horizon_ns.min(HORIZON_NS);
        Some(Engine::with_daemons(w, &self.daemons).run_flows())
    }

    /// A probe's verdict, what decided it, and (a Service probe) the
    /// address of the endpoint the connection was DNATed to.
    pub fn verdict(&self, p: &Probe) -> (Verdict, DecidedBy, Option<std::net::IpAddr>) {
        let Some(t) = self.trace(p) else {
            return (
                Verdict::Denied,
                DecidedBy {
                    reason: format!(
                        "not run: pod {}'s host is not in the world",
                        self.targets.pods[p.from].id()
                    ),
                    ..Default::default()
                },
                None,
            );
        };
        let Some(f) = t.flows.iter().find(|f| f.id == FLOW) else {
            return (
                Verdict::Denied,
                DecidedBy {
                    reason: "the probe did not start".into(),
                    ..Default::default()
                },
                None,
            );
        };
        let endpoint = dnat_target(f);
        let mut d = decided(f);
        if let (Dest::Svc(..), Some(ip)) = (p.to, endpoint) {
            d.endpoint = Some(
                self.targets
                    .pod_at(ip)
                    .map_or_else(|| ip.to_string(), |i| self.targets.pods[i].id()),
            );
        }
        let v = if f.disposition.answered() {
            Verdict::Allowed
        } else {
            Verdict::Denied
        };
        (v, d, endpoint)
    }
}

/// The address a Service probe was DNATed to (kube-proxy's binding):
/// the step's `ADDR:PORT`, `[ADDR6]:PORT` or bare address.
fn dnat_target(f: &FlowTrace) -> Option<std::net::IpAddr> {
    let addr = |to: &str| -> Option<std::net::IpAddr> {
        if let Ok(a) = to.parse() {
            return Some(a);
        }
        match to.strip_prefix('[') {
            Some(v6) => v6.split(']').next()?.parse().ok(),
            None => to.split(':').next()?.parse().ok(),
        }
    };
    f.hops
        .iter()
        .flat_map(|h| &h.steps)
        .find_map(|s| match &s.action {
            Action::Dnat {
                to, reply: false, ..
            } => addr(to),
            _ => None,
        })
}

/// What decided the flow: its NetworkPolicy step (a denial, else the
/// admission), then the drop after it; else the first drop or reject.
fn decided(f: &FlowTrace) -> DecidedBy {
    let mut out = DecidedBy {
        reason: f.outcome.clone(),
        ..Default::default()
    };
    let mut policy_hop = None;
    for (hi, h) in f.hops.iter().enumerate() {
        for s in &h.steps {
            if let Action::Policy {
                verdict,
                direction,
                policies,
                rule,
            } = &s.action
            {
                let first = out.policy.is_none() && out.direction.is_none();
                if verdict == "denied" || first {
                    out.host = Some(h.host.clone());
                    out.point = Some(s.point.to_string());
                    out.direction = Some(direction.clone());
                    out.policy = (!policies.is_empty()).then(|| policies.join(", "));
                    out.rule = rule.clone();
                    out.reason = format!("{}: {}", s.what, f.outcome);
                    policy_hop = Some(hi);
                }
                if verdict == "denied" {
                    drop_after(f, hi, &mut out, true);
                    return out;
                }
            }
        }
    }
    if policy_hop.is_some() {
        return out;
    }
    let dropped = f
        .hops
        .iter()
        .enumerate()
        .find(|(_, h)| h.steps.iter().any(is_drop));
    if let (false, Some((hi, _))) = (f.disposition.answered(), dropped) {
        drop_after(f, hi, &mut out, false);
    } else if let Some((h, s)) = f
        .hops
        .iter()
        .filter(|_| f.disposition.answered())
        .find_map(|h| {
            // an answered probe without a policy step: the server's socket
            // that took it
            (h.host != f.from)
                .then(|| {
                    h.steps
                        .iter()
                        .find(|s| matches!(s.action, Action::Deliver { .. }))
                })
                .flatten()
                .map(|s| (h, s))
        })
    {
        out.host = Some(h.host.clone());
        out.point = Some(s.point.to_string());
    }
    out
}

fn is_drop(s: &crate::trace::Step) -> bool {
    matches!(s.action, Action::Drop { .. } | Action::Reject { .. })
}

/// The drop or reject of hop `hi` (from the policy step on, when
/// `after_policy`): its host and point, the netfilter rule before it.
fn drop_after(f: &FlowTrace, hi: usize, out: &mut DecidedBy, after_policy: bool) {
    let h = &f.hops[hi];
    let start = if after_policy {
        h.steps
            .iter()
            .position(|s| matches!(s.action, Action::Policy { .. }))
            .unwrap_or(0)
    } else {
        0
    };
    let Some(di) = h.steps[start..].iter().position(is_drop).map(|i| i + start) else {
        return;
    };
    let s = &h.steps[di];
    out.host = Some(h.host.clone());
    out.point = Some(s.point.to_string());
    if let Some(r) = h.steps[..di]
        .iter()
        .rev()
        .find(|s| matches!(s.action, Action::Rule { .. }))
    {
        out.rule.get_or_insert_with(|| r.what.clone());
    }
    if !after_policy {
        out.reason = format!("{}: {}", s.what, f.outcome);
    }
}
