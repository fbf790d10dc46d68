//! The golden form of a run: what `podpath check` keeps per scenario
//! (`NAME/trace.json`, format `podpath-golden/1`) and compares, semantically.
//!
//! Per flow: its fate (how it ended, who answered, the path of hosts, the
//! NAT bindings, the first drop) and its hops, one line per hop and per
//! step, with the flow's random choices renamed ([`crate::delta::Chosen`]:
//! ephemeral and masquerade ports `#1`, `#2`, ...; ISNs, SCTP tags and ICMP
//! ids left out) and without times. A change of the random draws or of the
//! timing is not a difference; a changed rule, route, endpoint or drop is,
//! in the flow it changes and no other. Beside it, `capture.pcapng` (what
//! the wire carried) is compared frame by frame per interface with the same
//! renaming ([`crate::diff::compare`]).
//!
//! What is left out of the full trace (`podpath run --format json`): hop
//! times and packet ids, the hosts' device lists, the outcome's words (its
//! times) and the text dump (`podpath run --format trace` prints it).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use podpath_sim::trace::{FlowTrace, Hop, Trace};
use serde_json::{json, Value};
use similar::{ChangeTag, TextDiff};

use crate::delta::{Chosen, FateView};

pub const FORMAT: &str = "podpath-golden/1";

/// Frames per (host, device, direction).
pub type Frames = BTreeMap<(String, String, String), Vec<Vec<u8>>>;

/// The hop's lines: where it was and the packet as it came, each step,
/// and the packet as it left.
fn hop_lines(n: usize, h: &Hop, c: &Chosen, out: &mut Vec<String>) {
    out.push(format!(
        "{n:>3} {} {} -> {}: {}",
        h.host,
        h.in_dev.as_deref().unwrap_or("(local)"),
        h.out_dev.as_deref().unwrap_or("(stays)"),
        c.normalize(&h.before)
    ));
    for s in &h.steps {
        out.push(format!("      {:<18} {}", s.point, c.normalize(&s.what)));
    }
    if let Some(a) = &h.after {
        out.push(format!("      out  {}", c.normalize(a)));
    }
}

fn flow(t: &Trace, f: &FlowTrace) -> Value {
    let c = Chosen::of(f);
    let mut hops = Vec::new();
    for (i, h) in f.hops.iter().enumerate() {
        hop_lines(i + 1, h, &c, &mut hops);
    }
    let mut v = json!({
        "id": f.id,
        "description": f.description,
        "fate": FateView::of(t, f).key(),
        "hops": hops,
    });
    if f.daemon {
        v["daemon"] = Value::Bool(true);
    }
    v
}

/// The golden form of `t`.
pub fn of(t: &Trace) -> Value {
    json!({
        "format": FORMAT,
        "scenario": t.scenario,
        "seed": t.seed,
        "events": t.events.iter().map(|e| e.what.clone()).collect::<Vec<_>>(),
        "flows": t.flows.iter().map(|f| flow(t, f)).collect::<Vec<_>>(),
    })
}

/// The golden file's text.
pub fn render(t: &Trace) -> String {
    let mut s = serde_json::to_string_pretty(&of(t)).expect("JSON values serialize");
    s.push('\n');
    s
}

/// A value as a line: a string without its quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// `- old` / `+ new` lines of a fate's part; of a list (the path, the NAT
/// bindings), the entries one side has and the other has not.
fn part_lines(a: &Value, b: &Value, out: &mut String) {
    match (a.as_array(), b.as_array()) {
        (Some(x), Some(y)) => {
            for e in x.iter().filter(|e| !y.contains(e)) {
                let _ = writeln!(out, "    - {}", plain(e));
            }
            for e in y.iter().filter(|e| !x.contains(e)) {
                let _ = writeln!(out, "    + {}", plain(e));
            }
            if x.iter().all(|e| y.contains(e)) && y.iter().all(|e| x.contains(e)) {
                // the same entries in another order
                let _ = writeln!(out, "    - {}", plain(a));
                let _ = writeln!(out, "    + {}", plain(b));
            }
        }
        _ => {
            let _ = writeln!(out, "    - {}", plain(a));
            let _ = writeln!(out, "    + {}", plain(b));
        }
    }
}

/// At most this many changed lines of one flow's hops are shown.
const SHOWN: usize = 12;

/// How `got` differs from `want` (both golden forms), flow by flow; empty
/// when they are the same.
pub fn compare(want: &Value, got: &Value) -> String {
    let mut r = String::new();
    for k in ["format", "scenario", "seed", "events"] {
        if want[k] != got[k] {
            let _ = writeln!(r, "  {k}: golden {}, now {}", want[k], got[k]);
        }
    }
    let flows = |v: &Value| -> BTreeMap<String, Value> {
        v["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| (f["id"].as_str().unwrap_or("").to_string(), f.clone()))
            .collect()
    };
    let order = |v: &Value| -> Vec<String> {
        v["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (wf, gf) = (flows(want), flows(got));
    let mut ids = order(want);
    ids.extend(order(got).into_iter().filter(|i| !wf.contains_key(i)));
    let mut differing = 0;
    for id in &ids {
        let (Some(w), Some(g)) = (wf.get(id), gf.get(id)) else {
            differing += 1;
            let side = if wf.contains_key(id) {
                "in the golden trace only"
            } else {
                "new (not in the golden trace)"
            };
            let _ = writeln!(r, "  flow {id}: {side}");
            continue;
        };
        let mut fr = String::new();
        for part in ["outcome", "served_by", "path", "nat", "drop"] {
            let (a, b) = (&w["fate"][part], &g["fate"][part]);
            if a != b {
                let _ = writeln!(fr, "    {part}");
                part_lines(a, b, &mut fr);
            }
        }
        let lines = |v: &Value| -> String {
            let mut s = String::new();
            for l in v["hops"].as_array().into_iter().flatten() {
                s.push_str(l.as_str().unwrap_or(""));
                s.push('\n');
            }
            s
        };
        let (a, b) = (lines(w), lines(g));
        if a != b {
            let d = TextDiff::from_lines(&a, &b);
            let changed: Vec<_> = d
                .iter_all_changes()
                .filter(|c| c.tag() != ChangeTag::Equal)
                .collect();
            let _ = writeln!(fr, "    hops ({} line(s) differ):", changed.len());
            for c in changed.iter().take(SHOWN) {
                let sign = if c.tag() == ChangeTag::Delete {
                    "-"
                } else {
                    "+"
                };
                let _ = writeln!(fr, "    {sign} {}", c.value().trim_end());
            }
            if changed.len() > SHOWN {
                let _ = writeln!(fr, "    (and {} more)", changed.len() - SHOWN);
            }
        }
        if !fr.is_empty() {
            differing += 1;
            let fate = if w["fate"] == g["fate"] {
                "same fate, other steps"
            } else {
                "its fate changed"
            };
            let _ = writeln!(r, "  flow {id}: {fate}");
            r.push_str(&fr);
        }
    }
    if differing > 0 {
        let _ = writeln!(
            r,
            "  {differing} of {} flow(s) differ (random choices and times are not compared)",
            ids.len()
        );
    }
    r
}

/// The frames of a podpath pcapng per (host, device, direction), as
/// [`crate::diff::sim_captures`] gives them for a run.
pub fn read_capture(bytes: &[u8]) -> Result<Frames, String> {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let mut r = PcapNgReader::new(bytes).map_err(|e| e.to_string())?;
    let mut ifaces: Vec<(String, String)> = Vec::new();
    let mut out: Frames = BTreeMap::new();
    while let Some(b) = r.next_block() {
        match b.map_err(|e| e.to_string())? {
            Block::InterfaceDescription(idb) => {
                let name = idb
                    .options
                    .iter()
                    .find_map(|o| match o {
                        InterfaceDescriptionOption::IfName(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let (h, d) = name.split_once('/').unwrap_or((&name, ""));
                ifaces.push((h.to_string(), d.to_string()));
            }
            Block::EnhancedPacket(epb) => {
                let Some((h, d)) = ifaces.get(epb.interface_id as usize) else {
                    return Err(format!(
                        "a packet of interface {} before its description",
                        epb.interface_id
                    ));
                };
                let flags = epb.options.iter().find_map(|o| match o {
                    EnhancedPacketOption::Flags(f) => Some(*f),
                    _ => None,
                });
                let dir = if flags.unwrap_or(0) & 3 == 2 {
                    "out"
                } else {
                    "in"
                };
                out.entry((h.clone(), d.clone(), dir.to_string()))
                    .or_default()
                    .push(epb.data.to_vec());
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A run's frames per (host, device, direction), every device.
pub fn captures(t: &Trace) -> Frames {
    let mut m: Frames = BTreeMap::new();
    for c in &t.captures {
        let dir = if c.dir == podpath_sim::trace::Direction::Out {
            "out"
        } else {
            "in"
        };
        m.entry((c.host.to_string(), c.dev.to_string(), dir.to_string()))
            .or_default()
            .push(c.bytes.to_vec());
    }
    m
}

/// How the run's frames differ from the golden capture's, interface by
/// interface (empty when they match up to the renaming of random
/// choices).
pub fn compare_capture(want: &[u8], t: &Trace) -> String {
    let w = match read_capture(want) {
        Ok(w) => w,
        Err(e) => return format!("  the golden capture cannot be read: {e}\n"),
    };
    let (diffs, _) = crate::diff::compare(&captures(t), &w);
    let mut r = String::new();
    // the live diff's tolerances (ACK races, reorders, probes) are races
    // of real machines: between two simulated runs each is a difference
    let raced = |d: &crate::diff::IfaceDiff| {
        d.ack_races + d.reorders + d.probe_races + d.periodic_tolerated > 0
    };
    let bad: Vec<_> = diffs.iter().filter(|d| !d.matches() || raced(d)).collect();
    for d in bad.iter().take(3) {
        let why = match &d.first {
            Some(f) => f.replace("sim:", "now:").replace("real:", "golden:"),
            None => "the same frames in another order".to_string(),
        };
        let _ = writeln!(
            r,
            "  capture {}/{} {}: now {} frames, golden {}; {why}",
            d.host, d.dev, d.dir, d.sim, d.real
        );
    }
    if !bad.is_empty() {
        let _ = writeln!(
            r,
            "  {} of {} interface direction(s) of the capture differ",
            bad.len(),
            diffs.len()
        );
    }
    r
}
