//! The semantic difference of two runs (`podpath diff`): each flow matched
//! with its counterpart by id, its fate (how it ended, who answered, the
//! path of hosts, the NAT bindings, the first drop) compared, and the first
//! step where the two runs part named.
//!
//! What a run chooses at random is not a difference: a flow's ephemeral
//! ports, the ports masquerading allocated, the VXLAN source port hashed
//! from them, TCP's initial sequence numbers, SCTP's verification tags and
//! ICMP echo ids. Within one flow, each chosen port is renamed `#1`, `#2`,
//! ... in the order the flow first shows it, on each side independently:
//! two runs that drew other numbers but used them alike compare equal (the
//! consistent renaming the kernel differential tests use for captures).
//!
//! Simplification (named in `podpath explain`): a chosen port that is also
//! a configured one (an ephemeral port equal to a Service's port in the same
//! flow) is renamed there too; the ephemeral range (32768-60999) and the
//! configured ports rarely meet.

use std::collections::{BTreeMap, BTreeSet};

use podpath_render::summary::{self, FirstDrop, NatRewrite};
use podpath_sim::trace::{Action, FlowTrace, Hop, PktKind, Trace};
use serde_json::{json, Value};

/// The ports a flow's run chose, each with its name (`#1`, ...).
#[derive(Clone, Debug, Default)]
pub struct Chosen(BTreeMap<u16, usize>);

impl Chosen {
    /// The ports `f`'s hosts chose for it: the source port of each request a
    /// host sent itself (not of its replies), the port each SNAT allocated,
    /// the outer source port of each VXLAN datagram.
    pub fn of(f: &FlowTrace) -> Chosen {
        let mut order: Vec<u16> = Vec::new();
        let pick = |p: u16, order: &mut Vec<u16>| {
            if p != 0 && !order.contains(&p) {
                order.push(p);
            }
        };
        // endpoints seen as a packet's source: a packet sent to one is a
        // reply
        let mut sources: BTreeSet<(Option<std::net::IpAddr>, u16)> = BTreeSet::new();
        for h in &f.hops {
            let p = &h.pkt;
            let ported = matches!(p.kind, PktKind::Tcp | PktKind::Udp | PktKind::Ip);
            if h.in_dev.is_none() && ported && !sources.contains(&(p.dst, p.dport)) {
                pick(p.sport, &mut order);
            }
            if let Some(outer) = vxlan_outer_sport(&h.before) {
                pick(outer, &mut order);
            }
            sources.insert((p.src, p.sport));
            for s in &h.steps {
                if let Action::Snat {
                    from,
                    to,
                    reply: false,
                    ..
                } = &s.action
                {
                    let (a, b) = (port_of(from), port_of(to));
                    if let (Some(a), Some(b)) = (a, b) {
                        pick(a, &mut order);
                        if a != b {
                            pick(b, &mut order);
                        }
                    }
                }
            }
        }
        Chosen(
            order
                .into_iter()
                .enumerate()
                .map(|(i, p)| (p, i + 1))
                .collect(),
        )
    }

    /// Whether the flow chose `port`.
    pub fn has(&self, port: u16) -> bool {
        self.0.contains_key(&port)
    }

    /// `text` with the chosen ports renamed and the other random numbers
    /// (sequence numbers, SCTP tags, ICMP ids) left out.
    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            // a number after one of the random fields' names
            if let Some(w) = RANDOM_FIELDS.iter().find(|w| text[i..].starts_with(**w)) {
                out.push_str(w);
                i += w.len();
                let start = i;
                while i < b.len() && (b[i].is_ascii_hexdigit() || b[i] == b'x') {
                    i += 1;
                }
                if i > start {
                    out.push('#');
                }
                continue;
            }
            if b[i].is_ascii_digit() && (i == 0 || !is_word(b[i - 1])) {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let num = &text[start..i];
                let bounded = i == b.len() || !is_word(b[i]);
                let renamed = bounded
                    .then(|| num.parse::<u16>().ok())
                    .flatten()
                    .and_then(|p| self.0.get(&p));
                match renamed {
                    Some(n) => {
                        out.push('#');
                        out.push_str(&n.to_string());
                    }
                    None => out.push_str(num),
                }
                continue;
            }
            let ch = text[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
        out
    }
}

/// The names of numbers a run draws afresh (ISNs and what they ack, SCTP
/// verification tags, ICMP echo ids).
const RANDOM_FIELDS: [&str; 6] = [" seq ", " ack ", "vtag ", " id ", "id=", "isn "];

/// A byte that makes a number part of a larger token (an address's octet,
/// a decimal, a name).
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-'
}

/// The port of `ADDR:PORT`.
fn port_of(s: &str) -> Option<u16> {
    s.rsplit_once(':')?.1.parse().ok()
}

/// The outer UDP source port of a VXLAN datagram's summary (`UDP
/// 172.18.0.2:43432 > 172.18.0.3:8472 VXLAN ...`).
fn vxlan_outer_sport(before: &str) -> Option<u16> {
    if !before.contains(" VXLAN ") {
        return None;
    }
    let rest = before.strip_prefix("UDP ")?;
    port_of(rest.split(' ').next()?)
}

/// One flow's fate as the diff shows and compares it.
#[derive(Clone, Debug)]
pub struct FateView {
    pub outcome: podpath_sim::trace::Disposition,
    /// The outcome in words (with times: shown, not compared).
    pub outcome_text: String,
    pub served_by: Option<String>,
    pub path: Vec<String>,
    pub nat: Vec<NatRewrite>,
    pub drop: Option<FirstDrop>,
    chosen: Chosen,
}

impl FateView {
    pub fn of(t: &Trace, f: &FlowTrace) -> FateView {
        let s = summary::fate(t, f);
        FateView {
            outcome: f.disposition.clone(),
            outcome_text: f.outcome.clone(),
            served_by: s.served_by,
            path: s.path,
            nat: s.nat,
            drop: s.drop,
            chosen: Chosen::of(f),
        }
    }

    /// What is compared: everything but the chosen numbers.
    pub fn key(&self) -> Value {
        let n = |s: &str| self.chosen.normalize(s);
        json!({
            "outcome": self.outcome,
            "served_by": self.served_by,
            "path": self.path,
            "nat": self.nat.iter().map(|r| format!("{} {} {}: {} -> {} by {}", r.host, r.point, r.kind, n(&r.from), n(&r.to), n(&r.by))).collect::<Vec<_>>(),
            "drop": self.drop.as_ref().map(|d| format!("{} {} {} x{}", d.host, d.point, n(&d.reason), d.times)),
        })
    }

    /// The parts of the fate (`outcome`, `served_by`, `path`, `nat`,
    /// `drop`) in which `self` and `other` differ, chosen numbers renamed.
    pub fn differences(&self, other: &FateView) -> Vec<&'static str> {
        let (a, b) = (self.key(), other.key());
        ["outcome", "served_by", "path", "nat", "drop"]
            .into_iter()
            .filter(|k| a[k] != b[k])
            .collect()
    }

    pub fn json(&self) -> Value {
        json!({
            "outcome": self.outcome,
            "outcome_text": self.outcome_text,
            "served_by": self.served_by,
            "path": self.path,
            "nat": self.nat.iter().map(|r| json!({
                "host": r.host, "point": r.point.to_string(), "kind": r.kind,
                "from": r.from, "to": r.to, "by": r.by,
            })).collect::<Vec<_>>(),
            "drop": self.drop.as_ref().map(|d| json!({
                "host": d.host, "point": d.point.to_string(), "reason": d.reason, "times": d.times,
            })),
        })
    }

    /// One line: outcome, who answered, the drop.
    pub fn line(&self) -> String {
        let mut s = self.outcome.word().to_string();
        if let podpath_sim::trace::Disposition::Answered {
            http_status: Some(c),
            ..
        } = &self.outcome
        {
            s.push_str(&format!(" (HTTP {c})"));
        }
        if let Some(by) = &self.served_by {
            s.push_str(&format!(" by {by}"));
        }
        if let Some(d) = &self.drop {
            s.push_str(&format!(
                "; dropped at {} {}: {}",
                d.host, d.point, d.reason
            ));
        }
        s
    }
}

/// Where two runs of one flow part: the hop (1-based, in the flow), its
/// host, the point in the stack, and what each run did there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub hop: usize,
    pub host: String,
    pub point: String,
    pub a: String,
    pub b: String,
}

/// One flow of either run.
#[derive(Clone, Debug)]
pub struct FlowDelta {
    pub id: String,
    pub description: String,
    /// The fate differs (or the flow is in one run only).
    pub changed: bool,
    pub a: Option<FateView>,
    pub b: Option<FateView>,
    /// The first step where the runs part, when the hops differ at all
    /// (also for a flow whose fate is the same).
    pub first_divergence: Option<Divergence>,
}

/// A hop's parts in order, each with the point it is shown at, normalized
/// for comparison and as shown.
fn hop_parts(h: &Hop, c: &Chosen) -> Vec<(String, String, String)> {
    let devs = format!(
        "{} -> {}",
        h.in_dev.as_deref().unwrap_or("(local)"),
        h.out_dev.as_deref().unwrap_or("(stays)")
    );
    let mut v = vec![("in".to_string(), c.normalize(&h.before), h.before.clone())];
    for s in &h.steps {
        v.push((s.point.to_string(), c.normalize(&s.what), s.what.clone()));
    }
    let after = match &h.after {
        Some(a) => format!("{devs}: {a}"),
        None => format!("{devs}: (not sent on)"),
    };
    v.push(("out".to_string(), c.normalize(&after), after));
    v
}

/// The first step where `fa` and `fb` part, if they do.
pub fn first_divergence(fa: &FlowTrace, fb: &FlowTrace) -> Option<Divergence> {
    let (ca, cb) = (Chosen::of(fa), Chosen::of(fb));
    for i in 0..fa.hops.len().max(fb.hops.len()) {
        let (ha, hb) = (fa.hops.get(i), fb.hops.get(i));
        let (Some(ha), Some(hb)) = (ha, hb) else {
            let h = ha.or(hb).expect("one side has the hop");
            let show = |x: Option<&Hop>| match x {
                Some(x) => format!("{}: {}", x.host, x.before),
                None => "(no such hop: the flow ended before)".to_string(),
            };
            return Some(Divergence {
                hop: i + 1,
                host: h.host.clone(),
                point: "hop".into(),
                a: show(ha),
                b: show(hb),
            });
        };
        if ha.host != hb.host {
            return Some(Divergence {
                hop: i + 1,
                host: format!("{} / {}", ha.host, hb.host),
                point: "hop".into(),
                a: format!("on {}: {}", ha.host, ha.before),
                b: format!("on {}: {}", hb.host, hb.before),
            });
        }
        let (pa, pb) = (hop_parts(ha, &ca), hop_parts(hb, &cb));
        for k in 0..pa.len().max(pb.len()) {
            let (x, y) = (pa.get(k), pb.get(k));
            if x.map(|x| (&x.0, &x.1)) == y.map(|y| (&y.0, &y.1)) {
                continue;
            }
            let none = || ("".to_string(), "".to_string(), "(nothing)".to_string());
            let (x, y) = (
                x.cloned().unwrap_or_else(none),
                y.cloned().unwrap_or_else(none),
            );
            let point = if x.0 == y.0 || y.0.is_empty() {
                x.0.clone()
            } else if x.0.is_empty() {
                y.0.clone()
            } else {
                format!("{} / {}", x.0, y.0)
            };
            return Some(Divergence {
                hop: i + 1,
                host: ha.host.clone(),
                point,
                a: x.2,
                b: y.2,
            });
        }
    }
    None
}

/// Every flow of either run (daemons' flows left out), in `a`'s order and
/// then the flows only `b` has.
pub fn compare(a: &Trace, b: &Trace) -> Vec<FlowDelta> {
    let user =
        |t: &Trace| -> Vec<usize> { (0..t.flows.len()).filter(|&i| !t.flows[i].daemon).collect() };
    let (ua, ub) = (user(a), user(b));
    fn find<'t>(t: &'t Trace, us: &[usize], id: &str) -> Option<&'t FlowTrace> {
        us.iter().map(|&i| &t.flows[i]).find(|f| f.id == id)
    }
    let mut out = Vec::new();
    for &i in &ua {
        let fa = &a.flows[i];
        let va = FateView::of(a, fa);
        match find(b, &ub, &fa.id) {
            Some(fb) => {
                let vb = FateView::of(b, fb);
                out.push(FlowDelta {
                    id: fa.id.clone(),
                    description: fa.description.clone(),
                    changed: va.key() != vb.key(),
                    first_divergence: first_divergence(fa, fb),
                    a: Some(va),
                    b: Some(vb),
                });
            }
            None => out.push(FlowDelta {
                id: fa.id.clone(),
                description: fa.description.clone(),
                changed: true,
                first_divergence: None,
                a: Some(va),
                b: None,
            }),
        }
    }
    for &i in &ub {
        let fb = &b.flows[i];
        if find(a, &ua, &fb.id).is_none() {
            out.push(FlowDelta {
                id: fb.id.clone(),
                description: fb.description.clone(),
                changed: true,
                first_divergence: None,
                a: None,
                b: Some(FateView::of(b, fb)),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_ports_and_random_numbers_are_renamed_and_others_kept() {
        let c = Chosen([(35955u16, 1usize), (6916, 2)].into_iter().collect());
        assert_eq!(
            c.normalize("TCP 10.0.0.100:35955 > 10.96.0.10:8080 [S] seq 811729005 len 0"),
            "TCP 10.0.0.100:#1 > 10.96.0.10:8080 [S] seq # len 0"
        );
        assert_eq!(
            c.normalize("SNAT: 10.0.0.100:35955 -> 10.244.0.1:6916 sport=35955 dport=8080"),
            "SNAT: 10.0.0.100:#1 -> 10.244.0.1:#2 sport=#1 dport=8080"
        );
        // an address's octet, a time and a longer number are not ports
        let c = Chosen([(100u16, 1usize)].into_iter().collect());
        assert_eq!(
            c.normalize("10.0.0.100:80 0.100 s 1000 x100 100"),
            "10.0.0.100:80 0.100 s 1000 x100 #1"
        );
        assert_eq!(
            c.normalize("[INIT] vtag 0x1f2e len 0"),
            "[INIT] vtag # len 0"
        );
    }
}
