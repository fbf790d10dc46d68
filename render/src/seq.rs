//! Sequence diagrams (Mermaid and PlantUML text): one participant per host,
//! one arrow per packet crossing from one host to another, labelled with the
//! packet as the receiver saw it; notes for DNAT/SNAT, encapsulation and
//! decapsulation and drops (each rewrite noted the first time it happens in
//! a flow). Consecutive arrows that differ only in sequence numbers fold into
//! one with a count.

use std::collections::BTreeMap;

use podpath_sim::trace::{Action, FlowTrace, Hop, Step, Trace};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Arrow {
        from: usize,
        to: usize,
        label: String,
        count: usize,
    },
    Note {
        over: usize,
        text: String,
    },
}

fn items(f: &FlowTrace, participants: &BTreeMap<String, usize>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    // What each host emitted, by the emitted packet's label (a hop's `after`
    // may be a different packet than the one it received: an ARP request
    // queued behind a SYN, an ARP reply to a request), and by packet id.
    let mut sent_label: BTreeMap<&str, &Hop> = BTreeMap::new();
    let mut sent_by: BTreeMap<u64, &Hop> = BTreeMap::new();
    let mut seen: std::collections::BTreeSet<(usize, String)> = std::collections::BTreeSet::new();
    for h in &f.hops {
        let me = participants[&h.host];
        if h.in_dev.is_some() {
            let prev = sent_label
                .get(h.before.as_str())
                .or_else(|| sent_by.get(&h.packet));
            if let Some(prev) = prev {
                if prev.host != h.host {
                    let from = participants[&prev.host];
                    let label = h.pkt.fold(&h.before);
                    match out.last_mut() {
                        Some(Item::Arrow {
                            from: f0,
                            to: t0,
                            label: l0,
                            count,
                        }) if *f0 == from && *t0 == me && *l0 == label => *count += 1,
                        _ => out.push(Item::Arrow {
                            from,
                            to: me,
                            label,
                            count: 1,
                        }),
                    }
                }
            }
        }
        for (si, s) in h.steps.iter().enumerate() {
            let note = match &s.action {
                Action::Dnat { .. } | Action::Snat { .. } => Some(s.what.clone()),
                Action::Encap { outer } => Some(format!("encap {outer}")),
                Action::Decap { inner, inner_pkt } => {
                    Some(format!("decap {}", inner_pkt.fold(inner)))
                }
                Action::Drop { reason } => Some(format!("DROP: {reason}")),
                Action::Reject { with } => Some(format!("REJECT with {with}")),
                Action::Policy {
                    verdict,
                    direction,
                    policies,
                    ..
                } if verdict == "denied" => {
                    Some(policy_denied_note(direction, policies, &h.steps[..si]))
                }
                _ => None,
            };
            if let Some(text) = note {
                // A rewrite is shown the first time it happens in the flow.
                if seen.insert((me, text.clone())) {
                    out.push(Item::Note { over: me, text });
                }
            }
        }
        if h.out_dev.is_some() {
            sent_by.insert(h.packet, h);
            if let Some(a) = &h.after {
                sent_label.insert(a.as_str(), h);
            }
        }
    }
    out
}

fn participants(t: &Trace) -> BTreeMap<String, usize> {
    let mut p = BTreeMap::new();
    for f in &t.flows {
        for h in &f.hops {
            let n = p.len();
            p.entry(h.host.clone()).or_insert(n);
        }
    }
    p
}

fn ordered(p: &BTreeMap<String, usize>) -> Vec<(usize, &str)> {
    let mut v: Vec<(usize, &str)> = p.iter().map(|(k, i)| (*i, k.as_str())).collect();
    v.sort();
    v
}

/// Mermaid text: `#` and `;` are written as entity codes (`#35;`, `#59;`):
/// a bare `#` cuts the text in Mermaid's parser, `;` ends a statement, a
/// line break ends the message.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '"' => out.push('\''),
            // one statement per line
            '\n' => out.push(' '),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn mermaid(t: &Trace) -> String {
    let p = participants(t);
    let mut s = String::from("sequenceDiagram\n");
    for (i, name) in ordered(&p) {
        s.push_str(&format!("    participant p{i} as {name}\n"));
    }
    for f in &t.flows {
        s.push_str(&format!("    Note over p0: flow {}\n", esc(&f.id)));
        for it in items(f, &p) {
            match it {
                Item::Arrow {
                    from,
                    to,
                    label,
                    count,
                } => {
                    let n = if count > 1 {
                        format!(" (x{count})")
                    } else {
                        String::new()
                    };
                    s.push_str(&format!("    p{from}->>p{to}: {}{n}\n", esc(&label)));
                }
                Item::Note { over, text } => {
                    s.push_str(&format!("    Note over p{over}: {}\n", esc(&text)))
                }
            }
        }
        if !f.outcome.is_empty() {
            s.push_str(&format!("    Note over p0: {}\n", esc(&f.outcome)));
        }
    }
    s
}

pub fn plantuml(t: &Trace) -> String {
    let p = participants(t);
    let mut s = String::from("@startuml\n");
    for (i, name) in ordered(&p) {
        s.push_str(&format!("participant \"{name}\" as p{i}\n"));
    }
    for f in &t.flows {
        s.push_str(&format!("== flow {} ==\n", f.id.replace('"', "'")));
        for it in items(f, &p) {
            match it {
                Item::Arrow {
                    from,
                    to,
                    label,
                    count,
                } => {
                    let n = if count > 1 {
                        format!(" (x{count})")
                    } else {
                        String::new()
                    };
                    s.push_str(&format!("p{from} -> p{to} : {label}{n}\n"));
                }
                Item::Note { over, text } => s.push_str(&format!("note over p{over} : {text}\n")),
            }
        }
        if !f.outcome.is_empty() {
            s.push_str(&format!("note over p0 : {}\n", f.outcome));
        }
    }
    s.push_str("@enduml\n");
    s
}

/// Why a diagram cannot be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// merman refused the Mermaid text: its error (not a `source`, as the
    /// message already says it).
    #[error("merman: {0}")]
    Merman(Box<merman::RenderError>),
    /// merman drew nothing from the text.
    #[error("merman: no diagram in the sequence text")]
    NoDiagram,
}

/// Renders Mermaid text with merman (in-process, no browser, deterministic
/// text measurement).
fn merman_render(source: &str, ascii: bool) -> Result<String, RenderError> {
    use merman::{
        AsciiRequest, OperationControl, RenderOutput, RenderRequest, Renderer, SvgRequest,
    };
    let r = Renderer::new();
    let req = if ascii {
        // our own generated text: trusted input, so no size ceiling (a long
        // flow draws a tall diagram)
        RenderRequest::ascii(
            source,
            OperationControl::new(),
            AsciiRequest {
                resources: merman::ascii::AsciiResourcePolicy::unbounded(),
                ..Default::default()
            },
        )
    } else {
        RenderRequest::svg(source, OperationControl::new(), SvgRequest::default())
    };
    match r
        .render(req)
        .map_err(|e| RenderError::Merman(Box::new(e)))?
    {
        RenderOutput::Svg(Some(s)) => Ok(s.svg().to_string()),
        RenderOutput::Ascii(Some(a)) => Ok(a.text),
        _ => Err(RenderError::NoDiagram),
    }
}

/// Any Mermaid text as SVG.
pub fn merman_svg(source: &str) -> Result<String, RenderError> {
    merman_render(source, false)
}

/// Any Mermaid text drawn with text characters.
pub fn ascii_of(source: &str) -> Result<String, RenderError> {
    merman_render(source, true)
}

/// The sequence diagram as SVG.
pub fn svg(t: &Trace) -> Result<String, RenderError> {
    merman_render(&mermaid(t), false)
}

/// The sequence diagram drawn with text characters (for terminals). The
/// text renderer does not decode Mermaid's entity codes (`#35;`), and a
/// bare `#` or `;` means something to its parser: they go through as two
/// private-use characters (one column each, so every box keeps its width)
/// and come out as the ASCII `#` and `;` again, so a flow id copied from
/// the diagram is the id `--flow` takes.
pub fn ascii(t: &Trace) -> Result<String, RenderError> {
    const HASH: char = '\u{e000}';
    const SEMI: char = '\u{e001}';
    let src = mermaid(t)
        .replace("#35;", &HASH.to_string())
        .replace("#59;", &SEMI.to_string());
    Ok(merman_render(&src, true)?
        .replace(HASH, "#")
        .replace(SEMI, ";"))
}

/// The note of a policy drop: the policies that selected the pod, that no
/// rule of them admitted the packet, and the generated rule the verdict
/// came from (the last rule walked before it: felix's end-of-tier DROP,
/// kube-network-policies' nft queue rule).
fn policy_denied_note(direction: &str, policies: &[String], before: &[Step]) -> String {
    let by = before.iter().rev().find_map(|s| match &s.action {
        Action::Rule {
            table, chain, rule, ..
        } if *rule > 0 => Some(format!(" at {table} {chain} #{rule}")),
        _ => None,
    });
    format!(
        "{direction} denied by NetworkPolicy {}: no rule admits it{}",
        policies.join(", "),
        by.unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn mermaid_escapes_once() {
        assert_eq!(esc("a#1;\"b\""), "a#35;1#59;'b'");
    }
    #[test]
    fn folding_drops_the_packets_own_sequence_numbers() {
        let pkt = podpath_sim::trace::PktInfo {
            seq: Some(100),
            ack: Some(200),
            ..Default::default()
        };
        assert_eq!(
            pkt.fold("TCP 1.1.1.1:5 > 2.2.2.2:80 [.] seq 100 ack 200 len 0"),
            "TCP 1.1.1.1:5 > 2.2.2.2:80 [.] len 0"
        );
        // the packet's own number goes once, where the summary gives it
        let pkt = podpath_sim::trace::PktInfo {
            seq: Some(7),
            ..Default::default()
        };
        assert_eq!(
            pkt.fold("TCP a > b [S] seq 7 len 0 seq 7"),
            "TCP a > b [S] len 0 seq 7"
        );
    }
}
