//! `podpath why SCENARIO --flow ID`: for a flow that failed (dropped,
//! rejected, reset, timed out, or answered by a proxy with a 5xx), the
//! point that decided it and the changes that would make it succeed, each
//! proven by re-running the scenario with the change applied
//! ([`crate::patch`]) and comparing the runs ([`crate::delta`]): a fix is
//! shown only when the flow then succeeds, with the other flows whose fate
//! it changes.
//!
//! Candidates come from the deciding point:
//! - an iptables rule or chain policy that dropped or rejected the packet
//!   (in a chain no controller owns: kube-proxy's `KUBE-*` and felix's
//!   `cali-*` chains are rewritten on their next sync, so the fix there is
//!   the object they are made from): delete the rule, or insert an ACCEPT
//!   for the packet before it;
//! - a sysctl the drop names (`ip_forward`, `rp_filter`, `route_localnet`),
//!   and `bridge-nf-call-iptables` where a reply bridged past conntrack
//!   reached the client un-NATed;
//! - a missing route: the default route a host of the same kind has over a
//!   device of the same name;
//! - a NetworkPolicy: a policy admitting this source pod to this
//!   destination pod and port, on the side (egress, ingress, both) that
//!   denied it;
//! - a missing neighbour ([`neigh`]): the device holding the address up,
//!   a static neighbour, or proxy ARP at the other end of the link;
//! - a Service's selector or targetPort ([`service`]): where it selects no
//!   pod, or sends to a port its pods do not serve.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use podpath_sim::engine::Engine;
use podpath_sim::trace::{Action, Disposition, FlowTrace, Hop, PktKind, Point, Trace};
use serde_json::{json, Value};

use crate::delta;

mod neigh;
mod policy;
mod service;

pub use policy::policy_fixes;

#[derive(Args)]
pub struct WhyArgs {
    /// A scenario (a file or an embedded name).
    #[arg(conflicts_with = "bundle")]
    pub scenario: Option<String>,
    /// A podpath-snapshot/1 bundle instead of a scenario: its fixes are
    /// kernel commands, proven on a copy of its dumps.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<std::path::PathBuf>,
    /// The flow (its id, as `podpath run` prints it).
    #[arg(long)]
    pub flow: String,
    /// text (default) or json (`{"flow", "fate", "decided_by", "fixes",
    /// "tried"}`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: super::diff::Format,
    #[arg(long)]
    pub seed: Option<u64>,
}

/// A change to try: what it is, the command a user would run, and the
/// patch (`podpath diff --patch`) that applies it.
#[derive(Clone)]
pub struct Candidate {
    pub change: String,
    pub command: String,
    pub patch: String,
}

/// A proven fix: the candidate and the other flows whose fate it changes.
struct Fix {
    c: Candidate,
    others: Vec<Other>,
}

/// Another flow a fix changes: how it ended before and after, whether it
/// succeeded before and no longer does (the fix breaks it), and whether an
/// `expect:` of it that was met no longer is.
struct Other {
    id: String,
    /// What of its fate changed (`outcome`, `served_by`, `path`, `nat`,
    /// `drop`).
    what: Vec<&'static str>,
    before: String,
    after: String,
    breaks: bool,
    unmet: bool,
}

impl Other {
    fn line(&self) -> String {
        let mut s = format!("{} ({} -> {}", self.id, self.before, self.after);
        if self.before == self.after {
            s.push_str(&format!(", other {}", self.what.join(", ")));
        }
        if self.breaks {
            s.push_str(": the fix BREAKS it");
        }
        if self.unmet {
            s.push_str(", its expect: is no longer met");
        }
        s.push(')');
        s
    }
}

/// The flows other than `id` whose fate differs between `base` and
/// `after`.
fn others_changed(base: &Trace, after: &Trace, id: &str) -> Vec<Other> {
    let unmet = |t: &Trace, id: &str| {
        t.flows
            .iter()
            .find(|f| f.id == id)
            .is_some_and(|f| !f.unmet(&t.hosts).is_empty())
    };
    delta::compare(base, after)
        .into_iter()
        .filter(|d| d.changed && d.id != id)
        .map(|d| {
            let w = |v: &Option<delta::FateView>| {
                v.as_ref()
                    .map_or("absent".to_string(), |v| v.outcome.word().to_string())
            };
            let ok =
                |v: &Option<delta::FateView>| v.as_ref().is_some_and(|v| succeeded(&v.outcome));
            let what = match (&d.a, &d.b) {
                (Some(x), Some(y)) => x.differences(y),
                _ => vec!["outcome"],
            };
            Other {
                what,
                unmet: !unmet(base, &d.id) && unmet(after, &d.id),
                breaks: ok(&d.a) && !ok(&d.b),
                before: w(&d.a),
                after: w(&d.b),
                id: d.id,
            }
        })
        .collect()
}

/// Leaves out a fix that makes every change of another fix and more (a
/// smaller one works).
fn smallest(fixes: Vec<Fix>) -> Vec<Fix> {
    let docs = |x: &Fix| -> Vec<String> { x.c.patch.split("---\n").map(str::to_string).collect() };
    let all: Vec<Vec<String>> = fixes.iter().map(docs).collect();
    fixes
        .into_iter()
        .enumerate()
        .filter(|(i, _)| {
            !all.iter().enumerate().any(|(j, o)| {
                j != *i && o.len() < all[*i].len() && o.iter().all(|d| all[*i].contains(d))
            })
        })
        .map(|(_, f)| f)
        .collect()
}

/// The flow ended as its client wanted: an answer that is not a proxy's
/// own 5xx.
fn succeeded(d: &Disposition) -> bool {
    match d {
        Disposition::Answered { http_status, .. } => http_status.is_none_or(|s| s < 500),
        _ => false,
    }
}

impl Candidate {
    /// A change made by kernel commands `cmd` (one per line) on `host`.
    fn commands(host: &str, change: String, cmd: String) -> Candidate {
        Candidate {
            change,
            patch: commands_patch(host, &cmd),
            command: cmd,
        }
    }
}

fn commands_patch(host: &str, line: &str) -> String {
    let mut s = format!("apiVersion: podpath/v1\nkind: Commands\ncommands:\n  {host}:\n");
    for l in line.lines() {
        s.push_str(&format!(
            "    - {}\n",
            serde_json::to_string(l).expect("a string")
        ));
    }
    s
}

/// The rule (chain, 1-based number; `None` for the chain's policy) that
/// decided the drop step `at` of hop `h`.
fn deciding_rule(h: &Hop, at: usize, point: Point) -> Option<(String, Option<usize>)> {
    for s in h.steps[..=at].iter().rev() {
        if s.point != point {
            continue;
        }
        let Some((head, rest)) = s.what.split_once(": ") else {
            continue;
        };
        if let Some((chain, n)) = head.split_once(" #") {
            if let Ok(n) = n.parse() {
                return Some((chain.to_string(), Some(n)));
            }
        }
        if rest.starts_with("policy ") && !head.contains(' ') {
            return Some((head.to_string(), None));
        }
    }
    None
}

/// The packet of hop `h` as it is at step `at`: the hop's facts are the
/// packet as it arrived, and the NAT steps before `at` rewrote it (a
/// FORWARD chain sees the address PREROUTING's DNAT chose).
fn at_step(h: &Hop, at: usize) -> podpath_sim::trace::PktInfo {
    let mut p = h.pkt;
    let split = |s: &str| -> Option<(std::net::Ipv4Addr, Option<u16>)> {
        match s.rsplit_once(':') {
            Some((a, port)) => Some((a.parse().ok()?, port.parse().ok())),
            None => Some((s.parse().ok()?, None)),
        }
    };
    for s in &h.steps[..at] {
        match &s.action {
            Action::Dnat { to, .. } => {
                if let Some((a, port)) = split(to) {
                    p.dst = Some(std::net::IpAddr::V4(a));
                    p.dport = port.unwrap_or(p.dport);
                }
            }
            Action::Snat { to, .. } => {
                if let Some((a, port)) = split(to) {
                    p.src = Some(std::net::IpAddr::V4(a));
                    p.sport = port.unwrap_or(p.sport);
                }
            }
            _ => {}
        }
    }
    p
}

/// `-p P -s S -d D --dport N` for the packet of hop `h` at step `at`; a port the flow
/// chose at random (an ephemeral port) is not matched: the destination
/// port of a reply gives way to its source port.
fn packet_match(h: &Hop, at: usize, chosen: &delta::Chosen) -> String {
    let p = &at_step(h, at);
    let mut m = String::new();
    let sctp = h.before.starts_with("SCTP ");
    match p.kind {
        _ if sctp => m.push_str("-p sctp "),
        PktKind::Tcp => m.push_str("-p tcp "),
        PktKind::Udp => m.push_str("-p udp "),
        PktKind::Icmp => m.push_str("-p icmp "),
        _ => {}
    }
    if let Some(s) = p.src {
        m.push_str(&format!("-s {s}/32 "));
    }
    if let Some(d) = p.dst {
        m.push_str(&format!("-d {d}/32 "));
    }
    if sctp || matches!(p.kind, PktKind::Tcp | PktKind::Udp) {
        if p.dport != 0 && !chosen.has(p.dport) {
            m.push_str(&format!("--dport {} ", p.dport));
        } else if p.sport != 0 && !chosen.has(p.sport) {
            m.push_str(&format!("--sport {} ", p.sport));
        }
    }
    m.trim_end().to_string()
}

fn iptables_candidates(
    h: &Hop,
    (at, point): (usize, Point),
    chosen: &delta::Chosen,
    out: &mut Vec<Candidate>,
) {
    let Point::Table(..) = point else { return };
    let name = point.to_string();
    let Some((table, _hook)) = name.split_once('/') else {
        return;
    };
    let Some((chain, rule)) = deciding_rule(h, at, point) else {
        return;
    };
    if chain.starts_with("KUBE-") || chain.starts_with("cali-") {
        return;
    }
    let t = if table == "filter" {
        String::new()
    } else {
        format!("-t {table} ")
    };
    let m = packet_match(h, at, chosen);
    if let Some(n) = rule {
        let cmd = format!("iptables {t}-D {chain} {n}");
        out.push(Candidate::commands(
            &h.host,
            format!("delete rule {n} of {table} {chain} on {}", h.host),
            cmd,
        ));
    }
    let pos = rule.unwrap_or(1);
    // the stateful pair: this packet's connection, and what belongs to it
    // (the replies), as firewalls write it
    let cmd = format!(
        "iptables {t}-I {chain} {pos} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\niptables {t}-I {chain} {} {m} -j ACCEPT",
        pos + 1
    );
    out.push(Candidate::commands(
        &h.host,
        format!(
            "accept this connection (the packet and its replies) in {table} {chain} on {}",
            h.host
        ),
        cmd,
    ));
    let cmd = format!("iptables {t}-I {chain} {pos} {m} -j ACCEPT");
    out.push(Candidate::commands(
        &h.host,
        format!(
            "accept this packet in {table} {chain} on {} before {}",
            h.host,
            match rule {
                Some(n) => format!("rule {n}"),
                None => "the chain's policy".into(),
            }
        ),
        cmd,
    ));
}

/// The nft table (`inet filter`), chain and rule (0: the chain's policy)
/// that decided the drop step `at` of hop `h`, when the drop names it.
fn nft_deciding(h: &Hop, at: usize, reason: &str) -> Option<(String, String, usize)> {
    let (table, chain, rule) = h.steps[..=at].iter().rev().find_map(|s| match &s.action {
        Action::Rule {
            table, chain, rule, ..
        } if matches!(s.point, Point::Nft(_)) => Some((
            table.strip_prefix("nft ")?.to_string(),
            chain.clone(),
            *rule,
        )),
        _ => None,
    })?;
    reason
        .contains(&format!("{table} {chain}"))
        .then_some((table, chain, rule))
}

/// An nft chain's drop (a rule's verdict or the chain's policy): the
/// connection accepted at the top of the chain (`ct state
/// established,related accept` above the packet's own accept) or the
/// packet alone, as `nft insert rule` puts them there. Not in the tables
/// kube-proxy (nftables mode), kube-network-policies or calico rewrite on
/// their next sync. A rule's drop or reject is also deleted, by its
/// handle (`nft delete rule FAMILY TABLE CHAIN handle N`, the handle the
/// kernel gave it: [`podpath_sim::net::netfilter::nftables::NftTable::assign_handles`]).
fn nft_candidates(
    world: &podpath_sim::world::World,
    (h, at): (&Hop, usize),
    reason: &str,
    chosen: &delta::Chosen,
    out: &mut Vec<Candidate>,
) {
    let Some((table, chain, rule)) = nft_deciding(h, at, reason) else {
        return;
    };
    let tname = table.split(' ').nth(1).unwrap_or("");
    if tname == "kube-proxy" || tname.starts_with("kindnet") || tname.starts_with("calico") {
        return;
    }
    let (fam, _) = table.split_once(' ').unwrap_or(("", ""));
    let handle = world
        .hosts
        .iter()
        .find(|x| x.name == h.host)
        .and_then(|x| {
            let t = x
                .nft
                .tables
                .iter()
                .find(|t| t.family == fam && t.name == tname)?;
            let c = t.chains.iter().find(|c| c.name == chain)?;
            c.rules.get(rule.checked_sub(1)?)
        })
        .filter(|r| r.handle != 0 && !chain.starts_with("__chain"));
    if let Some(r) = handle {
        out.push(Candidate::commands(
            &h.host,
            format!(
                "delete rule {rule} of nft {table} {chain} on {} (handle {}: {})",
                h.host, r.handle, r.text
            ),
            format!("nft delete rule {table} {chain} handle {}", r.handle),
        ));
    }
    let p = &at_step(h, at);
    let mut m = Vec::new();
    if let Some(s) = p.src {
        m.push(format!("ip saddr {s}"));
    }
    if let Some(d) = p.dst {
        m.push(format!("ip daddr {d}"));
    }
    let l4 = match p.kind {
        _ if h.before.starts_with("SCTP ") => Some("sctp"),
        PktKind::Tcp => Some("tcp"),
        PktKind::Udp => Some("udp"),
        PktKind::Icmp => {
            m.push("ip protocol icmp".into());
            None
        }
        _ => None,
    };
    if let Some(l4) = l4 {
        if p.dport != 0 && !chosen.has(p.dport) {
            m.push(format!("{l4} dport {}", p.dport));
        } else if p.sport != 0 && !chosen.has(p.sport) {
            m.push(format!("{l4} sport {}", p.sport));
        } else {
            m.push(format!("meta l4proto {l4}"));
        }
    }
    let m = m.join(" ");
    let before = if rule == 0 {
        "the chain's policy".to_string()
    } else {
        format!("rule {rule}")
    };
    let cmd = format!(
        "nft insert rule {table} {chain} {m} accept\nnft insert rule {table} {chain} ct state established,related accept"
    );
    out.push(Candidate::commands(&h.host, format!(
            "accept this connection (the packet and its replies) at the top of nft {table} {chain} on {}",
            h.host
        ), cmd));
    let cmd = format!("nft insert rule {table} {chain} {m} accept");
    out.push(Candidate::commands(
        &h.host,
        format!(
            "accept this packet in nft {table} {chain} on {} before {before}",
            h.host
        ),
        cmd,
    ));
}

/// A reply that reached the client without its NAT undone: the client's
/// kernel answered RST to a packet from the address a node DNATed the
/// connection to. On a node whose bridge carries both pods with
/// `net.bridge.bridge-nf-call-iptables=0`, the endpoint's reply is bridged
/// straight to the client, past conntrack (br_netfilter's
/// br_nf_pre_routing is not called), so its source stays the pod's: the
/// sysctl on, as kubeadm's preflight check and every bridged CNI require.
fn bridge_nf_candidates(
    world: &podpath_sim::world::World,
    f: &FlowTrace,
    pkt: &podpath_sim::trace::PktInfo,
    reason: &str,
    out: &mut Vec<Candidate>,
) {
    let Some(src) = pkt.src.filter(|_| reason.starts_with("no socket")) else {
        return;
    };
    let from = format!("{src}:{}", pkt.sport);
    let mut nodes: Vec<&str> = Vec::new();
    for hop in &f.hops {
        let dnat_to_src = hop
            .steps
            .iter()
            .any(|s| matches!(&s.action, Action::Dnat { to, .. } if *to == from || *to == src.to_string()));
        if dnat_to_src && !nodes.contains(&hop.host.as_str()) {
            nodes.push(&hop.host);
        }
    }
    for n in nodes {
        let Some(h) = world.hosts.iter().find(|h| h.name == n) else {
            continue;
        };
        let bridged = h
            .devs
            .iter()
            .any(|d| d.kind == podpath_sim::net::device::DevKind::Bridge);
        if bridged && !h.sysctl.bridge_nf_call_iptables() {
            let k = "net.bridge.bridge-nf-call-iptables=1";
            out.push(Candidate::commands(
                n,
                format!("set {k} on {n}: the reply of {from}, bridged to the client on {n}, then passes conntrack and leaves with the Service's address"),
                format!("sysctl -w {k}"),
            ));
        }
    }
}

fn sysctl_candidates(h: &Hop, reason: &str, out: &mut Vec<Candidate>) {
    let mut keys = Vec::new();
    if reason.contains("ip_forward=0") {
        keys.push("net.ipv4.ip_forward=1".to_string());
    }
    if reason.contains("rp_filter") {
        if let Some(d) = &h.in_dev {
            keys.push(format!("net.ipv4.conf.{d}.rp_filter=0"));
        }
        keys.push("net.ipv4.conf.all.rp_filter=0".into());
    }
    if reason.contains("route_localnet") {
        if let Some(d) = &h.in_dev {
            keys.push(format!("net.ipv4.conf.{d}.route_localnet=1"));
        }
    }
    for k in keys {
        let cmd = format!("sysctl -w {k}");
        out.push(Candidate::commands(
            &h.host,
            format!("set {k} on {}", h.host),
            cmd,
        ));
    }
}

/// `default via G dev D [onlink]` for each default route of `h`'s main
/// table.
fn default_routes(h: &podpath_sim::net::host::Host) -> Vec<String> {
    let any: ipnet::Ipv4Net = "0.0.0.0/0".parse().expect("a prefix");
    let Some(routes) = h.fib.tables.get(&254).and_then(|t| t.get(&any)) else {
        return Vec::new();
    };
    routes
        .iter()
        .filter_map(|r| {
            let dev = h.devs.get(r.dev?)?.name.clone();
            let mut s = String::from("default");
            if let Some(g) = r.via {
                s.push_str(&format!(" via {g}"));
            }
            s.push_str(&format!(" dev {dev}"));
            if r.onlink {
                s.push_str(" onlink");
            }
            Some(s)
        })
        .collect()
}

/// `default via G dev D` for each gateway of `h`'s main table's routes.
fn gateways(h: &podpath_sim::net::host::Host) -> Vec<String> {
    let Some(t) = h.fib.tables.get(&254) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (_, routes) in t.iter() {
        for r in routes {
            let (Some(g), Some(d)) = (r.via, r.dev.and_then(|d| h.devs.get(d))) else {
                continue;
            };
            let line = format!("default via {g} dev {}", d.name);
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

/// A default route of another host of the same kind over a device of the
/// same name, for a host that has no route.
fn route_candidates(
    world: &podpath_sim::world::World,
    host: &str,
    reason: &str,
    out: &mut Vec<Candidate>,
) {
    if !reason.contains("no route") {
        return;
    }
    let Some(me) = world.hosts.iter().find(|h| h.name == host) else {
        return;
    };
    let mut seen = Vec::new();
    // the gateway the host's own routes use, then the default routes of
    // hosts of its kind
    for line in gateways(me) {
        if seen.contains(&line) {
            continue;
        }
        seen.push(line.clone());
        let cmd = format!("ip route add {line}");
        out.push(Candidate::commands(
            host,
            format!("add a default route on {host} through the gateway its other routes use"),
            cmd,
        ));
    }
    for other in world
        .hosts
        .iter()
        .filter(|h| h.kind == me.kind && h.name != host)
    {
        for line in default_routes(other) {
            let Some(dev) = line.split(" dev ").nth(1).and_then(|r| r.split(' ').next()) else {
                continue;
            };
            if !me.devs.iter().any(|d| d.name == dev) || seen.contains(&line) {
                continue;
            }
            seen.push(line.clone());
            let cmd = format!("ip route add {line}");
            out.push(Candidate::commands(
                host,
                format!("add {host}'s default route as {} has it", other.name),
                cmd,
            ));
        }
    }
}

/// A NetworkPolicy admitting the flow's source pod to the destination pod
/// and port: egress in the source's namespace, ingress in the
/// destination's, and both.
fn policy_candidates(
    text: &(String, String),
    f: &FlowTrace,
    (h, at): (&Hop, usize),
    reason: &str,
    out: &mut Vec<Candidate>,
) {
    // felix's drops name the NetworkPolicy; kube-network-policies' verdicts
    // (kindnet) name the side that denied
    if !reason.contains("NetworkPolicy") && !reason.contains("kube-network-policies") {
        return;
    }
    let Ok(doc) = podpath_sim::scenario::parse(&text.0, &text.1) else {
        return;
    };
    let Some(c) = &doc.cluster else { return };
    let Ok((cluster, _)) = podpath_sim::scenario::cluster_of(c, &text.1) else {
        return;
    };
    let Some(src) = cluster.pods.iter().find(|p| p.metadata.name == f.from) else {
        return;
    };
    let p = at_step(h, at);
    let Some(dst_ip) = p.dst.map(|d| d.to_string()) else {
        return;
    };
    let Some(dst) = cluster
        .pods
        .iter()
        .find(|p| p.status.pod_ip.as_deref() == Some(dst_ip.as_str()))
    else {
        return;
    };
    let proto = match (p.kind, h.before.starts_with("SCTP ")) {
        (_, true) => "SCTP",
        (PktKind::Udp, _) => "UDP",
        _ => "TCP",
    };
    out.extend(policy_fixes(
        (&text.0, &cluster),
        (src, dst),
        (p.dport, proto),
        &f.id,
    ));
}

/// The objects behind a Service that kube-proxy rejects for having no
/// endpoints: its EndpointSlices' endpoints that are not ready, made ready
/// (what the pod passing its readiness probe makes the EndpointSlice
/// controller write).
fn endpoint_candidates(text: &str, h: &Hop, out: &mut Vec<Candidate>) {
    let comment = |what: &'static str| {
        h.steps.iter().find_map(|s| {
            let (_, rest) = s.what.split_once("--comment \"")?;
            let (c, _) = rest.split_once(what)?;
            Some(c.split(':').next()?.to_string())
        })
    };
    // kube-proxy's "has no local endpoints" (externalTrafficPolicy: Local
    // on a node without one): the Service's policy made Cluster
    if let Some(svc) = comment(" has no local endpoints") {
        if let Some((ns, name)) = svc.split_once('/') {
            let patch = format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  externalTrafficPolicy: Cluster\n");
            out.push(Candidate {
                change: format!("externalTrafficPolicy: Cluster on Service {svc}: a node without a local endpoint forwards to one on another node (the client's address is then masqueraded: the pod sees the node's)"),
                command: format!("kubectl patch service -n {ns} {name} --type merge -p '{{\"spec\":{{\"externalTrafficPolicy\":\"Cluster\"}}}}'"),
                patch,
            });
        }
    }
    let Some(svc) = comment(" has no endpoints") else {
        return;
    };
    let Some((ns, name)) = svc.split_once('/') else {
        return;
    };
    let Ok(objs) = crate::patch::manifests(text) else {
        return;
    };
    for o in objs.iter().filter(|o| {
        o["kind"] == "EndpointSlice"
            && crate::patch::ident(o).1 == ns
            && o["metadata"]["labels"]["kubernetes.io/service-name"] == name
    }) {
        let Some(eps) = o["endpoints"].as_array() else {
            continue;
        };
        let not_ready: Vec<String> = eps
            .iter()
            .filter(|e| e["conditions"]["ready"] == false)
            .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        if not_ready.is_empty() {
            continue;
        }
        let mut fixed = eps.clone();
        for e in &mut fixed {
            e["conditions"]["ready"] = Value::Bool(true);
        }
        let slice = o["metadata"]["name"].as_str().unwrap_or("");
        let patch = serde_saphyr::to_string(&json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": slice, "namespace": ns},
            "endpoints": fixed,
        }))
        .expect("JSON values are YAML");
        out.push(Candidate {
            change: format!(
                "the endpoint(s) {} of Service {svc} ready: the pod passes its readiness probe, and the EndpointSlice controller marks it ready in {slice}",
                not_ready.join(", ")
            ),
            command: format!("kubectl get endpointslice -n {ns} {slice} -o yaml   # conditions.ready: false; fix the pod's readiness probe (kubectl describe pod)"),
            patch,
        });
    }
}

/// An Ingress whose backend Service does not exist (ingress-nginx answers
/// 503 itself): the backend pointed at each Service of its namespace
/// that has the port.
fn ingress_candidates(text: &str, f: &FlowTrace, out: &mut Vec<Candidate>) {
    if !f
        .served_app
        .as_deref()
        .is_some_and(|a| a.contains("ingress-nginx"))
    {
        return;
    }
    let Ok(objs) = crate::patch::manifests(text) else {
        return;
    };
    let services: Vec<&Value> = objs.iter().filter(|o| o["kind"] == "Service").collect();
    for ing in objs.iter().filter(|o| o["kind"] == "Ingress") {
        let ns = crate::patch::ident(ing).1;
        let Some(rules) = ing["spec"]["rules"].as_array() else {
            continue;
        };
        for (ri, r) in rules.iter().enumerate() {
            let Some(paths) = r["http"]["paths"].as_array() else {
                continue;
            };
            for (pi, p) in paths.iter().enumerate() {
                let b = &p["backend"]["service"];
                let (Some(name), port) = (b["name"].as_str(), &b["port"]) else {
                    continue;
                };
                let exists =
                    |s: &&Value| crate::patch::ident(s).1 == ns && s["metadata"]["name"] == name;
                if services.iter().any(exists) {
                    continue;
                }
                for s in services.iter().filter(|s| crate::patch::ident(s).1 == ns) {
                    let has_port = s["spec"]["ports"].as_array().is_some_and(|ps| {
                        ps.iter().any(|x| {
                            x["port"] == port["number"]
                                || (port["name"].is_string() && x["name"] == port["name"])
                        })
                    });
                    if !has_port {
                        continue;
                    }
                    let other = s["metadata"]["name"].as_str().unwrap_or("");
                    let mut fixed = ing["spec"]["rules"].clone();
                    fixed[ri]["http"]["paths"][pi]["backend"]["service"]["name"] =
                        Value::String(other.to_string());
                    let iname = ing["metadata"]["name"].as_str().unwrap_or("");
                    let patch = serde_saphyr::to_string(&json!({
                        "apiVersion": ing["apiVersion"],
                        "kind": "Ingress",
                        "metadata": {"name": iname, "namespace": ns},
                        "spec": {"rules": fixed},
                    }))
                    .expect("JSON values are YAML");
                    out.push(Candidate {
                        change: format!("point Ingress {ns}/{iname}'s backend for host {} at Service {other} (Service {name} does not exist)", r["host"].as_str().unwrap_or("*")),
                        command: format!("kubectl edit ingress -n {ns} {iname}   # rules[{ri}].http.paths[{pi}].backend.service.name: {name} -> {other}"),
                        patch,
                    });
                }
            }
        }
    }
}

/// `(N, M, DEV, is_frame)` of a drop for size: "N bytes exceed the MTU M of
/// DEV ..." (ip_forward with DF set, ip_finish_output) or "frame of N bytes
/// exceeds the MTU M of DEV" (a device's receipt, is_skb_forwardable).
fn mtu_drop(reason: &str) -> Option<(u32, u32, String, bool)> {
    let frame = reason.starts_with("frame of ");
    let (n, rest) = reason
        .trim_start_matches("frame of ")
        .split_once(" bytes exceed")?;
    let rest = rest.split_once("the MTU ")?.1;
    let (m, rest) = rest.split_once(" of ")?;
    let dev = rest.split([' ', ';']).next()?;
    Some((n.parse().ok()?, m.parse().ok()?, dev.to_string(), frame))
}

/// A packet too big for a device on its way: the sender's device MTU
/// lowered to what the path carries (TCP's MSS follows the device,
/// tcp_mss_clamp in net/ipv4/tcp_output.c: MTU - 40, and the client's
/// lowered MTU lowers the MSS it advertises, so both ends send less), the
/// device raised to what the packet needs, and the SYN's MSS clamped to
/// the route's MTU on the host that dropped it (`TCPMSS
/// --clamp-mss-to-pmtu`, what firewalls write for an MTU black hole).
fn mtu_candidates(
    world: &podpath_sim::world::World,
    (f, h): (&FlowTrace, &Hop),
    reason: &str,
    out: &mut Vec<Candidate>,
) {
    let Some((n, m, dev, frame)) = mtu_drop(reason) else {
        return;
    };
    // the IP packet's length, and the tunnel headers around it when the
    // packet dropped is an encapsulated one
    let ip_len = if frame { n.saturating_sub(14) } else { n };
    let overhead = if !h.pkt.encap {
        0
    } else if h.before.contains("VXLAN") {
        50
    } else if h.before.contains("WireGuard") {
        60
    } else {
        20
    };
    let fits = m.saturating_sub(overhead);
    let owner = |ip: std::net::IpAddr| {
        let std::net::IpAddr::V4(ip) = ip else {
            return None;
        };
        world.hosts.iter().find_map(|x| {
            let d = x
                .devs
                .iter()
                .find(|d| d.addrs.iter().any(|a| a.addr() == ip))?;
            Some((x.name.clone(), d.name.clone(), d.mtu))
        })
    };
    let mut senders = Vec::new();
    if let Some(src) = h.pkt.src.filter(|_| !h.before.contains("WireGuard")) {
        senders.extend(owner(src));
    }
    // the flow's client, by the address its first packet left with
    if let Some(src) = f.hops.first().and_then(|x| x.pkt.src) {
        senders.extend(owner(src));
    }
    senders.dedup();
    for (host, d, mtu) in senders {
        if mtu <= fits || fits < 68 {
            continue;
        }
        let cmd = format!("ip link set dev {d} mtu {fits}");
        out.push(Candidate::commands(
            &host,
            format!(
                "MTU {fits} on {host}'s {d} (was {mtu}): what {dev} on {} carries{}",
                h.host,
                if overhead > 0 {
                    format!(" less the tunnel's {overhead} bytes")
                } else {
                    String::new()
                }
            ),
            cmd,
        ));
    }
    let need = ip_len + overhead;
    if need > m && need <= 65535 {
        let cmd = format!("ip link set dev {dev} mtu {need}");
        out.push(Candidate::commands(
            &h.host,
            format!(
                "MTU {need} on {}'s {dev} (was {m}): the {ip_len}-byte packets pass",
                h.host
            ),
            cmd,
        ));
    }
    if h.pkt.kind == PktKind::Tcp {
        let cmd = "iptables -t mangle -I FORWARD 1 -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu".to_string();
        out.push(Candidate::commands(&h.host, format!(
                "clamp the MSS of forwarded SYNs to the route's MTU on {} (TCPMSS --clamp-mss-to-pmtu)",
                h.host
            ), cmd));
    }
}

/// The point that decided a failed flow (`null` when no packet was
/// dropped) and the changes to try there.
fn decide(
    text: &(String, String),
    world: &podpath_sim::world::World,
    f: &FlowTrace,
) -> (Value, Vec<Candidate>) {
    let mut cands = Vec::new();
    ingress_candidates(&text.0, f, &mut cands);
    let Some((h, s)) = f.first_drop() else {
        let decided = match &f.served_app {
            Some(app) if !cands.is_empty() => {
                json!({"host": f.served_by, "point": "app", "rule": null, "reason": format!("{app} answered by itself: {}", f.outcome)})
            }
            _ => Value::Null,
        };
        return (decided, cands);
    };
    let at = h
        .steps
        .iter()
        .position(|x| std::ptr::eq(x, s))
        .expect("the step is the hop's");
    let reason = match &s.action {
        Action::Drop { reason } => reason.clone(),
        _ => s.what.clone(),
    };
    let rule = deciding_rule(h, at, s.point)
        .map(|(c, n)| match n {
            Some(n) => format!("{c} rule {n}"),
            None => format!("{c} policy"),
        })
        .or_else(|| {
            nft_deciding(h, at, &reason).map(|(t, c, n)| match n {
                0 => format!("nft {t} {c} policy"),
                n => format!("nft {t} {c} rule {n}"),
            })
        });
    let chosen = delta::Chosen::of(f);
    iptables_candidates(h, (at, s.point), &chosen, &mut cands);
    nft_candidates(world, (h, at), &reason, &chosen, &mut cands);
    sysctl_candidates(h, &reason, &mut cands);
    route_candidates(world, &h.host, &reason, &mut cands);
    policy_candidates(text, f, (h, at), &reason, &mut cands);
    endpoint_candidates(&text.0, h, &mut cands);
    let pkt = at_step(h, at);
    let proto = match pkt.kind {
        _ if h.before.starts_with("SCTP ") => "SCTP",
        PktKind::Tcp => "TCP",
        PktKind::Udp => "UDP",
        _ => "",
    };
    // the pod's kernel: no socket at the port the Service sent it to
    let refused = reason.starts_with("no socket");
    service::candidates(&text.0, &pkt, proto, refused, &mut cands);
    bridge_nf_candidates(world, f, &pkt, &reason, &mut cands);
    mtu_candidates(world, (f, h), &reason, &mut cands);
    neigh::candidates(world, h, &reason, &mut cands);
    let decided =
        json!({"host": h.host, "point": s.point.to_string(), "rule": rule, "reason": reason});
    (decided, cands)
}

/// The changes `why` tries for the failed flow `f` of the run of `world`
/// (made from the scenario `text`): what `reach --why` tries for a probe
/// that no NetworkPolicy denied.
pub fn candidates(
    text: &(String, String),
    world: &podpath_sim::world::World,
    f: &FlowTrace,
) -> Vec<Candidate> {
    decide(text, world, f).1
}

/// What `why` re-runs: a scenario (its text and file name), or a snapshot
/// bundle (its directory), whose fixes are kernel commands applied to a
/// copy of its dumps ([`crate::patch::bundle`]).
pub enum Src {
    Scenario(String, String),
    Bundle(std::path::PathBuf),
}

impl Src {
    /// The scenario text candidates read (a bundle has none: no cluster
    /// objects, so no Kubernetes candidates).
    fn text(&self) -> (String, String) {
        self.text_of(&self.start())
    }

    fn text_of(&self, t: &str) -> (String, String) {
        match self {
            Src::Scenario(_, file) => (t.to_string(), file.clone()),
            Src::Bundle(d) => (String::new(), d.display().to_string()),
        }
    }

    /// A state's text before any change: the scenario, or no patch yet.
    fn start(&self) -> String {
        match self {
            Src::Scenario(t, _) => t.clone(),
            Src::Bundle(_) => String::new(),
        }
    }

    /// The world of state text `t` with `patch` applied: the patched
    /// scenario, or the bundle with the patches so far and this one; and
    /// the new state text.
    fn rerun(
        &self,
        t: &str,
        patch: &str,
        kind_of: &dyn Fn(&str) -> Option<String>,
        seed: Option<u64>,
    ) -> Option<(String, podpath_sim::world::World)> {
        match self {
            Src::Scenario(_, file) => {
                let t = crate::patch::apply(t, file, patch, "fix", kind_of).ok()?;
                let (w, _) = podpath_sim::scenario::load_reporting(&t, file, seed).ok()?;
                Some((t, w))
            }
            Src::Bundle(dir) => {
                let all = if t.is_empty() {
                    patch.to_string()
                } else {
                    format!("{t}---\n{patch}")
                };
                let copy = crate::patch::bundle::apply(dir, &all, "fix").ok()?;
                let (w, _) = super::load_bundle_quiet(&copy.dir, seed).ok()?;
                Some((all, w))
            }
        }
    }
}

/// A world on the way to a fix: the changes made so far, the scenario
/// with them applied, its run, and where the flow failed in it.
struct State {
    chain: Vec<Candidate>,
    text: String,
    world: podpath_sim::world::World,
    trace: Trace,
    decided: Value,
}

/// At most this many changes in one fix (a fix may need several: DNS
/// allowed, then the connection it resolved for).
const MAX_DEPTH: usize = 3;
/// At most this many re-runs in all.
const MAX_RUNS: usize = 64;

/// The changes of `chain` as one: joined descriptions, commands and patch
/// documents.
fn combine(chain: &[&Candidate]) -> Candidate {
    let j = |f: &dyn Fn(&Candidate) -> String, sep: &str| {
        chain.iter().map(|c| f(c)).collect::<Vec<_>>().join(sep)
    };
    let change = j(&|c| c.change.clone(), "; then ");
    const APPLY: &str = "kubectl apply -f - <<'EOF'\n";
    if chain.len() > 1 && chain.iter().all(|c| c.command.starts_with(APPLY)) {
        // manifests applied one after another: an object applied again
        // is what its last document says (each is the whole object)
        let mut docs: Vec<(String, (String, String, String))> = Vec::new();
        for c in chain {
            for d in c.patch.split("---\n").filter(|d| !d.trim().is_empty()) {
                let id = serde_saphyr::from_str::<Value>(d)
                    .map(|v| crate::patch::ident(&v))
                    .unwrap_or_default();
                docs.retain(|(_, i)| *i != id || id.2.is_empty());
                docs.push((d.to_string(), id));
            }
        }
        let patch = docs
            .into_iter()
            .map(|(d, _)| d)
            .collect::<Vec<_>>()
            .join("---\n");
        return Candidate {
            change,
            command: format!("{APPLY}{patch}EOF"),
            patch,
        };
    }
    Candidate {
        change,
        command: j(&|c| c.command.clone(), "\n"),
        patch: j(&|c| c.patch.clone(), "---\n"),
    }
}

/// The smallest changes that make flow `f` of `base` succeed, found by
/// re-running the scenario with each candidate applied (and, when a
/// change moves the failure on, with a next change on top, up to
/// [`MAX_DEPTH`]); and how many changes were tried.
fn search(
    src: &Src,
    world: podpath_sim::world::World,
    (base, f): (&Trace, &FlowTrace),
    seed: Option<u64>,
) -> (Vec<Fix>, usize) {
    let kinds: Vec<(String, String)> = world
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.kind.name().to_string()))
        .collect();
    let text = &src.text();
    let (decided, _) = decide(text, &world, f);
    let kind_of = |h: &str| kinds.iter().find(|k| k.0 == h).map(|k| k.1.clone());
    let mut frontier = vec![State {
        chain: Vec::new(),
        text: src.start(),
        world,
        trace: base.clone(),
        decided: decided.clone(),
    }];
    let mut fixes: Vec<Fix> = Vec::new();
    let mut tried = 0;
    for _ in 0..MAX_DEPTH {
        let mut jobs: Vec<(usize, Candidate)> = Vec::new();
        for (i, st) in frontier.iter().enumerate() {
            let Some(g) = st.trace.flows.iter().find(|x| x.id == f.id) else {
                continue;
            };
            let (_, cands) = decide(&src.text_of(&st.text), &st.world, g);
            jobs.extend(cands.into_iter().map(|c| (i, c)));
        }
        jobs.truncate(MAX_RUNS.saturating_sub(tried));
        tried += jobs.len();
        // each candidate is an independent run
        let runs: Vec<Option<(usize, Candidate, State)>> = {
            use rayon::prelude::*;
            jobs.into_par_iter()
                .map(|(i, c)| {
                    let st = &frontier[i];
                    let (t, w) = src.rerun(&st.text, &c.patch, &kind_of, seed)?;
                    let after: Trace = Engine::new(w.clone()).run();
                    let g = after.flows.iter().find(|x| x.id == f.id)?;
                    let (d, _) = decide(&src.text_of(&t), &w, g);
                    Some((
                        i,
                        c,
                        State {
                            chain: Vec::new(),
                            text: t,
                            world: w,
                            trace: after,
                            decided: d,
                        },
                    ))
                })
                .collect()
        };
        let mut next = Vec::new();
        for (i, c, mut st) in runs.into_iter().flatten() {
            let mut chain = frontier[i].chain.clone();
            chain.push(c);
            let g = st
                .trace
                .flows
                .iter()
                .find(|x| x.id == f.id)
                .expect("found above");
            if succeeded(&g.disposition) {
                let others = others_changed(base, &st.trace, &f.id);
                fixes.push(Fix {
                    c: combine(&chain.iter().collect::<Vec<_>>()),
                    others,
                });
            } else if !st.decided.is_null()
                && (st.decided != frontier[i].decided
                    || drop_key(&st.trace, &f.id) != drop_key(&frontier[i].trace, &f.id))
            {
                // the change moved the failure on: a next change may end it
                st.chain = chain;
                next.push(st);
            }
        }
        // the smallest changes that work: no longer fix is looked for
        if !fixes.is_empty() || next.is_empty() {
            break;
        }
        frontier = next;
    }
    (smallest(fixes), tried)
}

/// Where flow `id` of `t` was first dropped: the host, the point, and the
/// dropped packet's destination (the same rule dropping the next packet
/// of the flow, the connection after its DNS query, is a failure moved
/// on).
fn drop_key(t: &Trace, id: &str) -> Option<String> {
    let f = t.flows.iter().find(|x| x.id == id)?;
    let (h, s) = f.first_drop()?;
    let at = h.steps.iter().position(|x| std::ptr::eq(x, s))?;
    let p = at_step(h, at);
    Some(format!("{} {} {:?}:{}", h.host, s.point, p.dst, p.dport))
}

/// `why`'s answer for one failed flow.
pub struct Report {
    flow: String,
    description: String,
    outcome: String,
    fate: delta::FateView,
    decided: Value,
    fixes: Vec<Fix>,
    tried: usize,
}

/// The answer for flow `f` of `base` (the run of `world`, made from
/// `text`); `None` when the flow succeeded.
pub fn analyse(
    src: &Src,
    world: podpath_sim::world::World,
    (base, f): (&Trace, &FlowTrace),
    seed: Option<u64>,
) -> Option<Report> {
    if succeeded(&f.disposition) {
        return None;
    }
    let (decided, _) = decide(&src.text(), &world, f);
    let (fixes, tried) = search(src, world, (base, f), seed);
    Some(Report {
        flow: f.id.clone(),
        description: f.description.clone(),
        outcome: f.outcome.clone(),
        fate: delta::FateView::of(base, f),
        decided,
        fixes,
        tried,
    })
}

impl Report {
    pub fn proven(&self) -> usize {
        self.fixes.len()
    }

    pub fn json(&self) -> Value {
        json!({
            "flow": self.flow,
            "fate": self.fate.json(),
            "decided_by": self.decided,
            "tried": self.tried,
            "fixes": self.fixes.iter().map(|x| json!({
                "change": x.c.change, "command": x.c.command, "patch": x.c.patch,
                "proven": true,
                "other_flows_changed": x.others.iter().map(|o| json!({
                    "id": o.id, "before": o.before, "after": o.after, "changed": o.what, "breaks": o.breaks, "expectation_no_longer_met": o.unmet,
                })).collect::<Vec<Value>>(),
            })).collect::<Vec<Value>>(),
        })
    }

    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let d = &self.decided;
        let _ = writeln!(out, "{}  {}", self.flow, self.description);
        let _ = writeln!(out, "  outcome     {}", self.outcome);
        match d["host"].as_str() {
            Some(h) => {
                let rule = d["rule"]
                    .as_str()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  decided by  {h} {}{rule}: {}",
                    d["point"].as_str().unwrap_or(""),
                    d["reason"].as_str().unwrap_or("")
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  decided by  (no drop step: the flow failed without a packet being dropped)"
                );
            }
        }
        let _ = writeln!(out);
        for (i, x) in self.fixes.iter().enumerate() {
            let _ = writeln!(out, "fix {}: {}", i + 1, x.c.change);
            for l in x.c.command.lines() {
                let _ = writeln!(out, "    {l}");
            }
            if x.others.is_empty() {
                let _ = writeln!(
                    out,
                    "  proven: {} then succeeds; no other flow changes",
                    self.flow
                );
            } else {
                let o: Vec<String> = x.others.iter().map(Other::line).collect();
                let _ = writeln!(
                    out,
                    "  proven: {} then succeeds; it also changes {}",
                    self.flow,
                    o.join(", ")
                );
            }
        }
        let _ = writeln!(
            out,
            "{} fix(es) proven of {} change(s) tried; each as a patch: podpath why --format json (\"patch\"), for podpath diff --patch",
            self.fixes.len(),
            self.tried
        );
        out
    }
}

pub fn run(a: WhyArgs, out: &mut impl Write) -> Result<ExitCode> {
    let (src, world) = match &a.bundle {
        Some(dir) => (Src::Bundle(dir.clone()), super::load_bundle(dir, a.seed)?),
        None => {
            let (t, file) = super::scenario_text(a.scenario.as_deref())?;
            (
                Src::Scenario(t, file),
                super::load(a.scenario.as_deref(), a.seed)?,
            )
        }
    };
    let base = Engine::new(world.clone()).run();
    let Some(f) = base.flows.iter().find(|x| x.id == a.flow) else {
        let ids: Vec<&str> = base
            .flows
            .iter()
            .filter(|x| !x.daemon)
            .map(|x| x.id.as_str())
            .collect();
        bail!(
            "no flow '{}' in this scenario (flows: {})",
            a.flow,
            ids.join(", ")
        );
    };
    let Some(r) = analyse(&src, world, (&base, f), a.seed) else {
        writeln!(
            out,
            "{}: {} — it succeeded; there is nothing to fix",
            f.id, f.outcome
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    match a.format {
        super::diff::Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&r.json())?)?,
        super::diff::Format::Text => out.write_all(r.text().as_bytes())?,
    }
    Ok(if r.proven() == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
