//! The issue's `reach` benchmark at full size, once: the whole pod × pod
//! matrix on 8080/TCP of the synthetic cluster (`sim/tests/k8s_synth`,
//! calico-bgp, kube-proxy iptables) with NetworkPolicies, through the sim
//! engine (or the spec engine), printing how long the world's build and
//! the probes took. The criterion benchmark (`benches/reach.rs`) measures
//! slices of it; this runs the 1,000,000 probes of the 1,000-pod cluster:
//! `cargo run --release -p podpath-sim --example reach_matrix -- 100 1000 100 50 sim`
//! (NODES PODS SERVICES POLICIES sim|spec [SOURCES: the first N pods]).
//! With SERVICES 97 a Service's pods are spread over the nodes.
// A measuring tool: the wall time of this machine, never the simulation's
// clock (which stays virtual).
#![allow(clippy::disallowed_methods)]

#[path = "../tests/k8s_synth/mod.rs"]
mod k8s_synth;

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use podpath_sim::k8s::reach::model::{EngineKind, Verdict};
use podpath_sim::k8s::reach::select::{parse_port, parse_selector};
use podpath_sim::k8s::reach::{self, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let shape = k8s_synth::Shape {
        nodes: num(0, 100),
        pods: num(1, 1000),
        services: num(2, 100),
        seed: 15,
    };
    let npol = num(3, 50);
    let engine = match args.get(4).map(String::as_str) {
        Some("spec") => EngineKind::Spec,
        _ => EngineKind::Sim,
    };
    let t0 = Instant::now();
    let setup = k8s_synth::reach_setup(&shape, npol, engine == EngineKind::Sim);
    let built = t0.elapsed();
    let mut from = vec![parse_selector("app").unwrap()];
    if let Some(n) = args.get(5).and_then(|a| a.parse::<usize>().ok()) {
        from = setup.targets.pods[..n.min(setup.targets.pods.len())]
            .iter()
            .map(|p| parse_selector(&p.id()).unwrap())
            .collect();
    }
    let o = Options {
        from,
        to: vec![parse_selector("app").unwrap()],
        ports: vec![parse_port("8080/TCP").unwrap()],
        families: Vec::new(),
        shard: None,
    };
    let t1 = Instant::now();
    let r = reach::run(&setup, &o, engine).unwrap();
    let probes = t1.elapsed();
    let allowed = r
        .probes
        .iter()
        .filter(|p| p.verdict == Verdict::Allowed)
        .count();
    println!(
        "{} nodes, {} pods, {} services, {} policies, {:?} engine, {} threads",
        shape.nodes,
        shape.pods,
        shape.services,
        npol,
        engine,
        rayon::current_num_threads()
    );
    println!("build: {:.2} s", built.as_secs_f64());
    println!(
        "probes: {} ({} allowed) in {:.2} s: {:.0} probes/s",
        r.probes.len(),
        allowed,
        probes.as_secs_f64(),
        r.probes.len() as f64 / probes.as_secs_f64()
    );
}
