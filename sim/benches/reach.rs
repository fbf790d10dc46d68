//! `podpath reach`'s engines at size: the spec engine's probes per second
//! on a 100-node, 1,000-pod cluster (calico-bgp, kube-proxy iptables,
//! the synthetic cluster of `tests/k8s_synth`) with 50 NetworkPolicies,
//! the pod × pod matrix on 8080/TCP from 100 sources (100,000 probes);
//! the sim engine's (a simulated connect per probe) on a 10-node, 100-pod
//! one with 5 policies (10 sources × 100 pods) and on the 100-node one
//! (a 50 × 50 slice of its matrix); and what a probe's fresh world costs:
//! a clone of the built world (copy-on-write) against building it again.
//!
//! `cargo bench -p podpath-sim --bench reach`. Figures (this 2-core
//! machine, release). "quiet": nothing else running; "shared": while
//! another engineer's builds ran (load ~3), where runs spread ±30%.
//! "822797a": the same probes through `reach::run` at commit 822797a;
//! "853c1fa": with the copy-on-write world (2026-12-03 morning, the 100-node
//! slice quiet); "5b41562": a probe's run stops once its fate is known
//! (2026-12-03 12:40, quiet).
//!
//! | | 822797a | 853c1fa | 5b41562 |
//! |---|---|---|---|
//! | spec, 100 nodes, 100 × 1,000 | | 609,000 probes/s (shared) | 1,162,000 probes/s |
//! | sim, 10 nodes, 5 policies, 10 × 100 (quiet) | 1,051 probes/s | 16,991 probes/s | 20,793 probes/s |
//! | sim, 100 nodes, 50 policies, 50 × 50 (quiet) | 63 probes/s | 3,161 probes/s | 5,737 probes/s |
//! | world clone, 10 nodes | 0.8 ms | 3.9 µs | 1.4 µs |
//! | world clone, 100 nodes, 50 policies | 25 ms | 47 µs | 17.5 µs |
//! | world build, 10 nodes | | 23 ms | 13 ms |
//! | world build, 100 nodes, 50 policies | | 6 to 8 s | 5 to 7 s (mostly iptables parsing) |
//!
//! The full 1,000 × 1,000 matrix at 100 nodes, run once by
//! `examples/reach_matrix.rs` (quiet, 2 threads): 1,059.8 s at 1fa722d
//! (944 probes/s), 633.5 s at 5b41562 (1,578 probes/s); on 2026-12-04,
//! step by step: 86.8 s with mimalloc (glibc's malloc and free took 40 %
//! of the time), an O(1) world clone (the `Shared` overlay: 36 µs to 0.1
//! µs a clone of the 1,100-host world) and warmed neighbours and FDBs
//! (an answered probe crossed 101 to 121 hops, its SYN flooded to every
//! node by a switch that had not learned the MACs; now 10 to 11); 72.3 s
//! once the warmed world's hosts were folded into its base; 63.4 s with
//! the lean trace; 59.8 s (16,738 probes/s) with the daemons found once
//! (60.5 s and 60.3 s in two more runs).
//! 900,300 allowed every time. Slices run faster than the full matrix:
//! of the first 20 sources' 20,000 probes 43 % are allowed (22,798
//! probes/s), of the full matrix's 90 %, and an allowed handshake
//! crosses more hosts than a denied SYN (10 hops against 2). No probes
//! share a simulation (see `reach/mod.rs` for why, and the design that
//! would make sharing sound).

use std::time::Duration;

/// The allocator `podpath` itself runs with (cli/src/main.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use podpath_sim::k8s::reach::model::EngineKind;
use podpath_sim::k8s::reach::select::{parse_port, parse_selector};
use podpath_sim::k8s::reach::{self, Options, Setup};

#[path = "../tests/k8s_synth/mod.rs"]
mod k8s_synth;

/// The cluster's reach setup; `world`: build the world too (the sim
/// engine's).
fn setup(nodes: usize, pods: usize, services: usize, npol: usize, world: bool) -> Setup {
    let shape = k8s_synth::Shape {
        nodes,
        pods,
        services,
        seed: 15,
    };
    k8s_synth::reach_setup(&shape, npol, world)
}

/// Sources: the pods of `namespaces` namespaces; destinations: every pod
/// at 8080/TCP.
fn opts(namespaces: usize) -> Options {
    Options {
        from: (0..namespaces)
            .map(|n| parse_selector(&format!("ns-{n:02}/*")).unwrap())
            .collect(),
        to: vec![parse_selector("app").unwrap()],
        ports: vec![parse_port("8080/TCP").unwrap()],
        families: Vec::new(),
        shard: None,
    }
}

fn spec(c: &mut Criterion) {
    let s = setup(100, 1000, 100, 50, false);
    // 2 namespaces x 50 pods = 100 sources x 1,000 pods
    let o = opts(2);
    let n = reach::run(&s, &o, EngineKind::Spec).unwrap().probes.len() as u64;
    assert_eq!(n, 100_000);
    let mut g = c.benchmark_group("reach spec");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(n));
    g.bench_function(
        "100 nodes, 1000 pods, 50 policies: 100 x 1000 probes",
        |b| b.iter(|| reach::run(&s, &o, EngineKind::Spec).unwrap().probes.len()),
    );
    g.finish();
}

/// The sim engine at the size: a 100-node, 1,000-pod cluster with
/// 50 policies. The full matrix (1,000 x 1,000) takes minutes a sample, so
/// a slice of it is measured: the 50 pods of `ns-00` to the 50 pods of
/// `ns-01` (2,500 probes; each probe is an independent run, so the matrix
/// costs 400 times one sample).
fn sim_100(c: &mut Criterion) {
    let s = setup(100, 1000, 100, 50, true);
    let o = Options {
        from: vec![parse_selector("ns-00/*").unwrap()],
        to: vec![parse_selector("ns-01/*").unwrap()],
        ports: vec![parse_port("8080/TCP").unwrap()],
        families: Vec::new(),
        shard: None,
    };
    let n = reach::run(&s, &o, EngineKind::Sim).unwrap().probes.len() as u64;
    assert_eq!(n, 2500);
    let mut g = c.benchmark_group("reach sim");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(n));
    g.bench_function(
        format!("100 nodes, 1000 pods, 50 policies: {n} probes (ns-00 x ns-01)"),
        |b| b.iter(|| reach::run(&s, &o, EngineKind::Sim).unwrap().probes.len()),
    );
    g.finish();
    let mut g = c.benchmark_group("reach world");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("clone the built world (100 nodes, 1000 pods)", |b| {
        b.iter(|| s.world.as_ref().map(|w| w.clone().hosts.len()))
    });
    g.finish();
}

fn sim(c: &mut Criterion) {
    let s = setup(10, 100, 10, 5, true);
    // 1 namespace (5 pods of 100 / 20 namespaces) x 100 pods
    let o = opts(1);
    let n = reach::run(&s, &o, EngineKind::Sim).unwrap().probes.len() as u64;
    let mut g = c.benchmark_group("reach sim");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(n));
    g.bench_function(format!("10 nodes, 100 pods, 5 policies: {n} probes"), |b| {
        b.iter(|| reach::run(&s, &o, EngineKind::Sim).unwrap().probes.len())
    });
    g.finish();
    let mut g = c.benchmark_group("reach world");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("clone the built world (10 nodes, 100 pods)", |b| {
        b.iter(|| s.world.as_ref().map(|w| w.clone().hosts.len()))
    });
    let shape = k8s_synth::Shape {
        nodes: 10,
        pods: 100,
        services: 10,
        seed: 15,
    };
    let text = k8s_synth::scenario_with(&shape, "calico-bgp", &k8s_synth::json_text(&shape), 1);
    g.bench_function(
        "build it again from the scenario (10 nodes, 100 pods)",
        |b| {
            b.iter(|| {
                podpath_sim::scenario::load(&text, "cluster.yaml", None)
                    .unwrap()
                    .hosts
                    .len()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, spec, sim, sim_100);
criterion_main!(benches);
