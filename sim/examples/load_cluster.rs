//! Loads a synthetic cluster (the benchmark's, `sim/tests/k8s_synth`) and
//! prints how long each phase took, for measuring the peak memory with
//! `/usr/bin/time -v`:
//! `cargo run --release -p podpath-sim --example load_cluster -- 1000 json run`
//! (NODES, json|yaml, parse|expand|load|run|write|dump, CNI: calico-bgp by
//! default, FLOWS: 1,000 by default; `write` prints the scenario, for `podpath run FILE`; `dump`
//! runs and prints the trace as JSON and a SHA-256 of its captures, for
//! checking that a speed-up changed no output).
// A measuring tool: the wall time of this machine, never the simulation's
// clock (which stays virtual).
#![allow(clippy::disallowed_methods)]

#[path = "../tests/k8s_synth/mod.rs"]
mod k8s_synth;

use std::time::Instant;

/// The resident set now and its peak so far (`/proc/self/status`), for
/// the phase lines.
fn mem() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    format!("RSS {}, peak {}", field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let nodes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let format = args.get(2).map(String::as_str).unwrap_or("json");
    let phase = args.get(3).map(String::as_str).unwrap_or("load");
    let shape = k8s_synth::Shape {
        nodes,
        pods: nodes * 10,
        services: nodes,
        seed: 14,
    };
    let t = Instant::now();
    let text = if format == "yaml" {
        k8s_synth::yaml_text(&shape)
    } else {
        k8s_synth::json_text(&shape)
    };
    eprintln!("generated {} bytes in {:?}", text.len(), t.elapsed());
    let t = Instant::now();
    let c =
        podpath_sim::k8s::Cluster::from_text(&text, "cluster").unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "parsed {} nodes, {} pods in {:?}",
        c.nodes.len(),
        c.pods.len(),
        t.elapsed()
    );
    if phase == "parse" {
        return;
    }
    let cni = args.get(4).map(String::as_str).unwrap_or("calico-bgp");
    // FLOWS (1,000 by default): fewer for a profile under valgrind
    let flows: usize = args.get(5).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let scenario = k8s_synth::scenario_with(&shape, cni, &text, flows);
    drop(text);
    if phase == "write" {
        // the scenario file, for `podpath run FILE`
        print!("{scenario}");
        return;
    }
    let t = Instant::now();
    let mut doc =
        podpath_sim::scenario::parse(&scenario, "s.yaml").unwrap_or_else(|e| panic!("{e}"));
    podpath_sim::scenario::expand_cluster(&mut doc, "s.yaml").unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "scenario parsed and expanded ({} hosts) in {:?}",
        doc.hosts.len(),
        t.elapsed()
    );
    if phase == "expand" {
        return;
    }
    drop(doc);
    let t = Instant::now();
    let w =
        podpath_sim::scenario::load(&scenario, "s.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "loaded a world of {} hosts in {:?}; {}",
        w.hosts.len(),
        t.elapsed(),
        mem()
    );
    if phase == "load" {
        return;
    }
    let t = Instant::now();
    let trace = podpath_sim::engine::Engine::new(w).run();
    eprintln!("ran {} flows in {:?}", trace.flows.len(), t.elapsed());
    let ok = trace
        .flows
        .iter()
        .filter(|f| f.outcome.starts_with("HTTP 200"))
        .count();
    eprintln!("{ok} of {} flows answered HTTP 200", trace.flows.len());
    let hops: usize = trace.flows.iter().map(|f| f.hops.len()).sum();
    let steps: usize = trace
        .flows
        .iter()
        .flat_map(|f| f.hops.iter())
        .map(|h| h.steps.len())
        .sum();
    let bytes: usize = trace.captures.iter().map(|c| c.bytes.len()).sum();
    eprintln!(
        "{} hops, {steps} steps, {} captures of {bytes} bytes; {}",
        hops,
        trace.captures.len(),
        mem()
    );
    if phase == "dump" {
        dump(&trace);
    }
}

/// The trace as JSON, then one line with a SHA-256 over every capture:
/// what the pcapng writer reads of it (time, host, device, direction,
/// packet, flow, hop, comment, bytes), in order.
fn dump(trace: &podpath_sim::trace::Trace) {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    serde_json::to_writer(&mut out, trace).unwrap_or_else(|e| panic!("{e}"));
    let mut h = Sha256::new();
    for c in &trace.captures {
        let line = format!(
            "{} {} {} {:?} {} {} {:?} {}\n",
            c.time_ns, &*c.host, &*c.dev, c.dir, c.packet, &*c.flow, c.hop, c.comment
        );
        h.update(line.as_bytes());
        h.update((c.bytes.len() as u64).to_le_bytes());
        h.update(&c.bytes[..]);
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    writeln!(out, "\ncaptures {} sha256 {digest}", trace.captures.len())
        .unwrap_or_else(|e| panic!("{e}"));
}
