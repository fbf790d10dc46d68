//! One self-contained HTML file per run: the topology drawn, then for each
//! flow its outcome, its sequence diagram and its hop table, and the pcapng
//! embedded as a download. No scripts, no external resources: it opens the
//! same offline, in a browser, or attached to a CI run.

use std::fmt::Write as _;

use base64::Engine as _;
use podpath_sim::trace::{Action, Trace};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:12px;font-family:ui-monospace,monospace}\
td,th{border:1px solid #ddd;padding:2px 6px;vertical-align:top;text-align:left}\
th{background:#f4f4f4}tr.drop td{background:#fee}tr.nat td{background:#eef6ff}\
.diagram{overflow:auto;max-height:60em;border:1px solid #eee;margin:1em 0}\
.outcome{font-family:ui-monospace,monospace;background:#f8f8f8;padding:.3em .6em}\
details{margin:.5em 0}";

/// The report. `pcap` is the run's pcapng (embedded for download).
pub fn render(t: &Trace, pcap: &[u8]) -> Result<String, crate::seq::RenderError> {
    let mut h = String::new();
    let title = format!("podpath: {} (seed {})", t.scenario, t.seed);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(pcap);
    let _ = writeln!(
        h,
        "<p>{} flows, {} hosts, {} captured packets. <a id=\"pcap\" download=\"{}.pcapng\" href=\"data:application/octet-stream;base64,{b64}\">Download the pcapng</a> (open it with Wireshark).</p>",
        t.flows.len(),
        t.hosts.len(),
        t.captures.len(),
        esc(&t.scenario)
    );
    h.push_str("<h2 id=\"topology\">Topology</h2>\n<div class=\"diagram\">");
    h.push_str(&crate::topo::svg(t)?);
    h.push_str("</div>\n");
    for f in &t.flows {
        let _ = writeln!(
            h,
            "<h2 id=\"flow-{}\">Flow {}</h2>\n<p>{}</p>\n<p class=\"outcome\">{}</p>",
            esc(&f.id.replace('#', "-")),
            esc(&f.id),
            esc(&f.description),
            esc(&f.outcome)
        );
        let one = Trace {
            scenario: t.scenario.clone(),
            seed: t.seed,
            hosts: t.hosts.clone(),
            flows: vec![f.clone()],
            events: Vec::new(),
            captures: Vec::new(),
        };
        h.push_str("<div class=\"diagram\">");
        h.push_str(&crate::seq::svg(&one)?);
        h.push_str("</div>\n<details><summary>Hop table</summary>\n<table><tr><th>hop</th><th>time (s)</th><th>host</th><th>in</th><th>out</th><th>packet in</th><th>decisions</th><th>packet out</th></tr>\n");
        for hop in &f.hops {
            let dropped = hop
                .steps
                .iter()
                .any(|s| matches!(s.action, Action::Drop { .. }));
            let nat = hop
                .steps
                .iter()
                .any(|s| matches!(s.action, Action::Dnat { .. } | Action::Snat { .. }));
            let class = if dropped {
                " class=\"drop\""
            } else if nat {
                " class=\"nat\""
            } else {
                ""
            };
            let decisions: Vec<String> = hop
                .steps
                .iter()
                // a rule that matched, not a chain's policy (rule 0)
                .filter(|s| !matches!(s.action, Action::Rule { rule: 0, .. }))
                .map(|s| format!("{}: {}", esc(&s.point.name()), esc(&s.what)))
                .collect();
            let _ = writeln!(
                h,
                "<tr{class}><td>{}</td><td>{}.{:09}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                hop.seq,
                hop.time_ns / 1_000_000_000,
                hop.time_ns % 1_000_000_000,
                esc(&hop.host),
                esc(hop.in_dev.as_deref().unwrap_or("(local)")),
                esc(hop.out_dev.as_deref().unwrap_or("-")),
                esc(&hop.before),
                decisions.join("<br>"),
                esc(hop.after.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</table></details>\n");
    }
    h.push_str("</body></html>\n");
    Ok(h)
}
