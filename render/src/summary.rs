//! The answer first: what `podpath run` prints by default. One short block
//! per flow of the scenario's traffic: how it ended, the path as hosts, who
//! answered, every NAT binding with the rule that made it, the first drop
//! with its reason, and whether the entry's `expect:` was met. Daemon flows
//! (health checks, VRRP) fold to one line each. The hop-by-hop dump is
//! `--format trace`.
//!
//! Everything here reads typed fields of the trace (dispositions, packet
//! facts, NAT actions, drop steps); nothing parses the trace's prose.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use podpath_sim::trace::{Action, FlowTrace, Hop, HostInfo, PktInfo, PktKind, Point, Trace};

/// One NAT binding a flow's packets made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatRewrite {
    pub host: String,
    /// `nat/PREROUTING`, `nft/postrouting`, `ipvs`, ...: where it was taken.
    pub point: Point,
    /// `DNAT` or `SNAT`.
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    /// The rule (or IPVS service) whose target chose it.
    pub by: String,
}

/// The first drop (or reject) of a flow and how often the same drop
/// happened (a retransmitted SYN dropped again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstDrop {
    pub host: String,
    pub point: Point,
    pub reason: String,
    pub times: usize,
}

/// The facts of one flow's fate that the summary shows (and `check`,
/// `diff` compare).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fate {
    pub path: Vec<String>,
    pub served_by: Option<String>,
    pub nat: Vec<NatRewrite>,
    pub drop: Option<FirstDrop>,
}

fn host_info<'a>(trace: &'a Trace, name: &str) -> Option<&'a HostInfo> {
    trace.hosts.iter().find(|h| h.name == name)
}

fn display(trace: &Trace, name: &str) -> String {
    host_info(trace, name)
        .map(HostInfo::display)
        .unwrap_or_else(|| name.to_string())
}

fn is_switch(trace: &Trace, name: &str) -> bool {
    host_info(trace, name).is_some_and(|h| h.kind == "switch")
}

/// The packets that carry the request forward: for TCP, each connection's
/// SYN (a proxy's upstream connection is a leg of its own; a retransmitted
/// SYN is not a new leg); otherwise the flow's first packet. With each, what
/// was made of it on the way (encapsulation, decapsulation, a WireGuard
/// datagram), but not what answers it (a packet sent back to its sender).
fn request_hops(f: &FlowTrace) -> Vec<&Hop> {
    let mut roots: BTreeSet<u64> = BTreeSet::new();
    let syns: Vec<&Hop> = f.hops.iter().filter(|h| h.pkt.is_syn()).collect();
    if syns.is_empty() {
        if let Some(first) = f.hops.iter().find(|h| {
            h.in_dev.is_none()
                && h.host == f.from
                && !matches!(h.pkt.kind, PktKind::Arp | PktKind::Other)
        }) {
            roots.insert(first.packet);
        }
    } else {
        // a SYN that leaves a host with the tuple of an earlier SYN from
        // there is a retransmission, not a new leg
        let mut legs: BTreeSet<(String, PktInfoKey)> = BTreeSet::new();
        for h in syns {
            if h.in_dev.is_some() || roots.contains(&h.packet) {
                continue;
            }
            if h.parent.is_some_and(|p| roots.contains(&p)) {
                continue;
            }
            if legs.insert((h.host.clone(), key_of(&h.pkt))) {
                roots.insert(h.packet);
            }
        }
    }
    // the latest facts of each packet of the lineage
    let mut lineage: BTreeMap<u64, PktInfo> = BTreeMap::new();
    // packets judged (at their first hop) not to carry the request
    let mut other: BTreeSet<u64> = BTreeSet::new();
    let mut out = Vec::new();
    for h in &f.hops {
        if other.contains(&h.packet) {
            continue;
        }
        if !lineage.contains_key(&h.packet) && !roots.contains(&h.packet) {
            let Some(p) = h.parent.and_then(|p| lineage.get(&p)) else {
                other.insert(h.packet);
                continue;
            };
            // an answer (or an ICMP error) goes back to the sender
            if matches!(h.pkt.kind, PktKind::Arp | PktKind::Ndp)
                || (h.pkt.dst.is_some() && h.pkt.dst == p.src)
            {
                other.insert(h.packet);
                continue;
            }
        }
        lineage.insert(h.packet, h.pkt);
        out.push(h);
    }
    out
}

type PktInfoKey = (Option<std::net::IpAddr>, u16, Option<std::net::IpAddr>, u16);

fn key_of(p: &PktInfo) -> PktInfoKey {
    (p.src, p.sport, p.dst, p.dport)
}

/// The hosts the request went through, in order (switches left out, a host
/// named once per visit).
pub fn path(trace: &Trace, f: &FlowTrace) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in request_hops(f) {
        if is_switch(trace, &h.host) {
            continue;
        }
        if out.last() != Some(&h.host) {
            out.push(h.host.clone());
        }
    }
    out
}

/// Every NAT binding the flow's packets made, in order, once each.
pub fn nat_rewrites(f: &FlowTrace) -> Vec<NatRewrite> {
    let mut out: Vec<NatRewrite> = Vec::new();
    for h in &f.hops {
        let mut point: Option<Point> = None;
        for s in &h.steps {
            let (kind, from, to, by) = match &s.action {
                Action::Dnat {
                    from,
                    to,
                    reply: false,
                    by: Some(by),
                } => ("DNAT", from, to, by),
                Action::Snat {
                    from,
                    to,
                    reply: false,
                    by: Some(by),
                } => ("SNAT", from, to, by),
                Action::Rule { .. } => {
                    point = Some(s.point);
                    continue;
                }
                _ if s.point == Point::Ipvs => {
                    point = Some(s.point);
                    continue;
                }
                _ => continue,
            };
            let r = NatRewrite {
                host: h.host.clone(),
                point: point.unwrap_or(s.point),
                kind,
                from: from.clone(),
                to: to.clone(),
                by: by.clone(),
            };
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// The flow's first drop or reject, and how many times the same one
/// happened.
pub fn first_drop(f: &FlowTrace) -> Option<FirstDrop> {
    let (h, s) = f.first_drop()?;
    let reason = match &s.action {
        Action::Drop { reason } => reason.clone(),
        Action::Reject { with } => format!("rejected with {with}"),
        _ => s.what.clone(),
    };
    let times = f
        .hops
        .iter()
        .filter(|x| x.host == h.host)
        .flat_map(|x| &x.steps)
        .filter(|x| x.point == s.point && x.action == s.action)
        .count();
    Some(FirstDrop {
        host: h.host.clone(),
        point: s.point,
        reason,
        times,
    })
}

/// The fate of one flow as facts.
pub fn fate(trace: &Trace, f: &FlowTrace) -> Fate {
    Fate {
        path: path(trace, f),
        served_by: f.served_by.clone(),
        nat: nat_rewrites(f),
        drop: first_drop(f),
    }
}

/// Cuts a line to `max` characters (an ellipsis at the end).
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Cuts a line to `max` characters in the middle: its start (what made
/// it: the chain and rule number) and its end (the target) stay.
fn cut_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head = max / 3;
    let tail = max.saturating_sub(head + 1);
    let h: String = s.chars().take(head).collect();
    let t: String = s.chars().skip(n - tail).collect();
    format!("{h}…{t}")
}

/// Width of the summary's lines (the rule texts are cut to it).
const WIDTH: usize = 100;

fn render_flow(out: &mut String, trace: &Trace, f: &FlowTrace) {
    let desc = f
        .description
        .strip_prefix(&format!("{}: ", f.id))
        .unwrap_or(&f.description);
    let _ = writeln!(out, "{}  {}", f.id, cut(desc, WIDTH - f.id.len() - 2));
    let outcome = if f.outcome.is_empty() {
        "(none: the run ended first)"
    } else {
        &f.outcome
    };
    let _ = writeln!(out, "  outcome   {}", cut(outcome, WIDTH - 12));
    let fate = fate(trace, f);
    if let Some(s) = &fate.served_by {
        let app = f
            .served_app
            .as_ref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  answered  by {}{app}", display(trace, s));
    }
    if !fate.path.is_empty() {
        let hosts: Vec<String> = fate.path.iter().map(|h| display(trace, h)).collect();
        let _ = writeln!(out, "  path      {}", hosts.join(" → "));
    }
    for (i, n) in fate.nat.iter().enumerate() {
        let head = if i == 0 {
            "  nat       "
        } else {
            "            "
        };
        let _ = writeln!(
            out,
            "{head}{} {} {}: {} → {}",
            n.host, n.point, n.kind, n.from, n.to
        );
        let _ = writeln!(out, "              by {}", cut_middle(&n.by, WIDTH - 17));
    }
    if let Some(d) = &fate.drop {
        let times = if d.times > 1 {
            format!(" ({} times)", d.times)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  dropped   at {} {}{times}: {}",
            d.host,
            d.point,
            cut(&d.reason, WIDTH - 20 - d.host.len() - d.point.name().len())
        );
    }
    for l in &f.logs {
        let _ = writeln!(out, "  log       {} {}:", l.host, l.program);
        let _ = writeln!(out, "            {}", l.line);
    }
    if !f.expect.is_empty() {
        let unmet = f.unmet(&trace.hosts);
        let parts: Vec<String> = f
            .expect
            .iter()
            .map(|e| match unmet.iter().find(|u| &u.expect == e) {
                None => format!("{e}: met"),
                Some(u) => format!("{e}: NOT MET (got {})", u.got),
            })
            .collect();
        let _ = writeln!(out, "  expect    {}", cut(&parts.join("; "), WIDTH - 12));
    }
}

/// The summary of a run.
pub fn render(trace: &Trace) -> String {
    let mut out = String::new();
    let user: Vec<&FlowTrace> = trace.flows.iter().filter(|f| !f.daemon).collect();
    let daemons: Vec<&FlowTrace> = trace.flows.iter().filter(|f| f.daemon).collect();
    let answered = user.iter().filter(|f| f.disposition.answered()).count();
    let _ = writeln!(
        out,
        "podpath: scenario {} (seed {}): {} flow(s), {answered} answered; {} daemon flow(s)",
        trace.scenario,
        trace.seed,
        user.len(),
        daemons.len()
    );
    let unmet = trace.unmet();
    if !unmet.is_empty() {
        let _ = writeln!(out, "{} expectation(s) NOT MET:", unmet.len());
        for u in &unmet {
            let _ = writeln!(out, "  {}", cut(&u.to_string(), WIDTH - 2));
        }
    }
    for f in &user {
        out.push('\n');
        render_flow(&mut out, trace, f);
    }
    if !trace.events.is_empty() {
        out.push_str("\nevents (faults, daemons):\n");
        for e in &trace.events {
            let _ = writeln!(
                out,
                "  {}  {}",
                crate::text::fmt_time(e.time_ns),
                cut(&e.what, WIDTH - 14)
            );
        }
    }
    if !daemons.is_empty() {
        out.push_str("\ndaemons:\n");
        for f in &daemons {
            let _ = writeln!(
                out,
                "  {}",
                cut(&format!("{}: {}", f.id, f.outcome), WIDTH - 2)
            );
        }
    }
    out.push_str(
        "\nevery hop: --format trace (or -v); one flow: --flow ID; step through it: podpath step\n",
    );
    out
}
