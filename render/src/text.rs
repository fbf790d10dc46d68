//! The canonical text dump: one block per flow, one line per hop header and
//! per step. Stable and diff-friendly; golden tests compare it first.

use std::fmt::Write;

use podpath_sim::trace::{Action, FlowTrace, Hop, Trace};

/// Seconds with nanosecond precision, as tcpdump prints times.
pub fn fmt_time(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

fn marker(a: &Action) -> &'static str {
    match a {
        Action::Drop { .. } => "!!",
        Action::Reject { .. } => "!!",
        Action::Dnat { .. } | Action::Snat { .. } => "<>",
        Action::Deliver { .. } => "->",
        Action::Policy { verdict, .. } if verdict == "denied" => "xx",
        _ => "  ",
    }
}

pub fn render_hop(out: &mut String, h: &Hop) {
    let from = h.in_dev.as_deref().unwrap_or("(local)");
    let to = h
        .out_dev
        .as_deref()
        .unwrap_or(match h.steps.last().map(|s| &s.action) {
            Some(Action::Drop { .. }) | Some(Action::Reject { .. }) => "(dropped)",
            Some(Action::Deliver { .. }) => "(delivered)",
            _ => "(stays)",
        });
    let _ = writeln!(
        out,
        "  hop {:<3} {}  {}  {} -> {}",
        h.seq,
        fmt_time(h.time_ns),
        h.host,
        from,
        to
    );
    let _ = writeln!(out, "      in   {}", h.before);
    for s in &h.steps {
        let _ = writeln!(out, "    {} {:<18} {}", marker(&s.action), s.point, s.what);
    }
    if let Some(a) = &h.after {
        let _ = writeln!(out, "      out  {a}");
    }
}

pub fn render_flow(out: &mut String, f: &FlowTrace) {
    let _ = writeln!(out, "flow {}", f.description);
    let _ = writeln!(
        out,
        "  outcome: {}",
        if f.outcome.is_empty() {
            "(none: the run ended first)"
        } else {
            &f.outcome
        }
    );
    for l in &f.logs {
        let _ = writeln!(
            out,
            "  log {}  {} {}: {}",
            fmt_time(l.time_ns),
            l.host,
            l.program,
            l.line
        );
    }
    if let Some(b) = &f.response_body {
        let lines: Vec<&str> = b.lines().collect();
        let _ = writeln!(out, "  response body ({} bytes):", b.len());
        for l in lines.iter().take(MAX_BODY_LINES) {
            let _ = writeln!(out, "    | {l}");
        }
        if lines.len() > MAX_BODY_LINES {
            let _ = writeln!(
                out,
                "    | … {} more line(s) (the capture has them all)",
                lines.len() - MAX_BODY_LINES
            );
        }
    }
    for h in &f.hops {
        render_hop(out, h);
    }
}

/// Lines of a response body the trace shows.
const MAX_BODY_LINES: usize = 40;

pub fn render(trace: &Trace) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "podpath trace: scenario {} seed {}",
        trace.scenario, trace.seed
    );
    if !trace.events.is_empty() {
        out.push_str("\nevents (faults, daemons):\n");
        for e in &trace.events {
            let _ = writeln!(
                out,
                "  {}.{:09}  {}",
                e.time_ns / 1_000_000_000,
                e.time_ns % 1_000_000_000,
                e.what
            );
        }
    }
    for f in &trace.flows {
        out.push('\n');
        render_flow(&mut out, f);
    }
    out
}
