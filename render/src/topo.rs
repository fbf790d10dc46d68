//! The topology as a picture: a Mermaid flowchart (one node per host with
//! its addressed devices, one edge per link: veth pair, wire or switch port)
//! drawn to SVG in-process by merman.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use podpath_sim::trace::Trace;

fn id(host: &str) -> String {
    let mut s = String::from("h_");
    for c in host.chars() {
        s.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    s
}

fn label(s: &str) -> String {
    s.replace('"', "'").replace(';', ",")
}

/// Mermaid flowchart text of the hosts and links. Labels are plain SVG
/// text (`htmlLabels: false`), not HTML in a `<foreignObject>`, so the
/// picture draws in any SVG renderer, not only in browsers.
pub fn mermaid(t: &Trace) -> String {
    let mut s = String::from(
        "%%{init: {\"htmlLabels\": false, \"flowchart\": {\"htmlLabels\": false}}}%%\nflowchart LR\n",
    );
    for h in &t.hosts {
        let mut lines = vec![format!("{} ({})", label(&h.name), h.kind)];
        for d in &h.devices {
            if d.name == "lo" || d.addrs.is_empty() {
                continue;
            }
            lines.push(format!("{}: {}", label(&d.name), d.addrs.join(", ")));
        }
        let shape = if h.kind == "switch" {
            ("([", "])")
        } else {
            ("[", "]")
        };
        let _ = writeln!(
            s,
            "    {}{}\"{}\"{}",
            id(&h.name),
            shape.0,
            lines.join("<br/>"),
            shape.1
        );
    }
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for h in &t.hosts {
        for d in &h.devices {
            let Some(peer) = &d.peer else { continue };
            let (ph, pd) = peer.split_once('/').unwrap_or((peer, ""));
            let a = (h.name.clone(), d.name.clone());
            let b = (ph.to_string(), pd.to_string());
            let key = if a < b {
                (format!("{}/{}", a.0, a.1), format!("{}/{}", b.0, b.1))
            } else {
                (format!("{}/{}", b.0, b.1), format!("{}/{}", a.0, a.1))
            };
            if !seen.insert(key) {
                continue;
            }
            let _ = writeln!(
                s,
                "    {} ---|\"{} — {}\"| {}",
                id(&h.name),
                label(&d.name),
                label(pd),
                id(ph)
            );
        }
    }
    s
}

/// The topology as SVG.
pub fn svg(t: &Trace) -> Result<String, crate::seq::RenderError> {
    crate::seq::merman_svg(&mermaid(t))
}
