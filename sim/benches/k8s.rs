//! The Kubernetes layer at scale: kube-proxy's iptables-restore payload for
//! 2,000 Services x 3 endpoints on one node (objects to rules), and the full
//! expansion of a 3-node flannel cluster with 60 pods and 20 Services
//! (objects to every host, route and rule, then loaded as a world); and
//! clusters of real size (issue 14): a synthetic `kubectl get -A -o json`
//! of 100, 300 and 1,000 nodes (10 pods per node, one Service per node,
//! calico-bgp, kube-proxy iptables) with 1,000 HTTP flows pod -> ClusterIP,
//! loaded and expanded, and loaded and run.
//!
//! `cargo bench -p podpath-sim --bench k8s -- 'real size'`; peak memory:
//! `/usr/bin/time -v target/release/examples/load_cluster 1000 json run`.
//!
//! Where a run of this cluster goes (perf, heaptrack; 2026-12-02): the
//! nodes share one broadcast domain, so every ARP request a node sends is
//! heard by every other node: 1,000 flows make 1.07 M hops and 2.1 M
//! captures at 1,000 nodes (360 k and 693 k at 300, 152 k and 278 k at
//! 100), and the trace, not the world, is the run's memory. Fixed: a
//! closed hop's steps kept room for 4 (a first push reserves 4; most hops
//! hold 1 or 2), captures held 3 copied names each (now shared,
//! `trace::SharedName`), sysctl reads copied and formatted keys.
//! Allocation calls of load_cluster 300 json run (heaptrack, the whole
//! process): 21.55 M before, 18.99 M after.
//!
//! Peak RSS of load_cluster N json run (deterministic to ~1 MB), before ->
//! after: 100 nodes 402 MB (main) -> 292 MB; 300 nodes 874 -> 607 MB;
//! 1,000 nodes 2.62 GB -> 1.86 GB (under the 2 GiB aim).
//! Wall time, criterion load+run medians on this 2-core machine shared
//! with 5 other builds (load average 5-11, so the figures mostly measure
//! the load): main 2.58 s / 7.13 s / 12.6 s (as measured on main, in a
//! quieter hour); after 4.56 s / 9.26 s / 18.9 s (load 6-9). The engine
//! run alone (load_cluster's "ran" line, one run before at load ~8, runs
//! after at loads 4-11): 300 nodes 16.4 s -> 3.9-10 s; 1,000 nodes 34.6 s
//! -> 10.1-28 s. Neither is a clean comparison. The 10 s aim at 1,000
//! nodes is not shown met: the run is O(flows x nodes) in hops by
//! construction (the broadcasts), and what remains is their allocations
//! (about 10 a hop) and the trace's drop.
//!
//! On a quiet machine (load average 2, 2026-12-02, release build),
//! load_cluster N json run, its phases without the text generation:
//! 100 nodes 1.6 s (run 1.27 s), 296 MB peak; 300 nodes 4.5 s (run
//! 3.30 s), 613 MB; 1,000 nodes 13.7 s (parse 0.69, expand 1.79, world
//! 2.88, run 8.30), 1.87 GB. The 10 s aim at 1,000 nodes is missed by
//! 3.7 s; the 2 GiB one is met.
//!
//! After the perf branch (2026-12-02, quiet machine, load average 0-1,
//! release build; `/usr/bin/time -v`): a frame's bytes are held once and
//! shared by a flood's ports, its captures out and in and the link between
//! (`trace::SharedBytes`: a 1,000-port broadcast was three copies a
//! port), sysctl's per-packet keys are read parsed (`Sysctl::proxy_arp`,
//! `rp_filter`, `route_localnet`: every node looked up `conf.DEV.proxy_arp`
//! by its full key for every ARP request it heard), NAT endpoints are
//! compared as numbers and written only when they differ, and a capture's
//! comment is sized exactly. Same output (the trace's JSON and a digest of
//! every capture, `load_cluster 100 json dump`, byte-identical).
//! load_cluster N json run, process wall / user+sys CPU / peak RSS, and
//! phases (parse = the cluster text alone; expand = scenario parse and
//! expansion; world = `scenario::load`, which parses and expands again,
//! then builds; run = the engine):
//! - 100 nodes: 1.88 s / 1.87 s / 278 MB; parse 0.03, expand 0.09,
//!   world 0.13, run 1.12 s.
//! - 300 nodes: 3.08 s / 3.08 s / 563 MB; parse 0.16, expand 0.23,
//!   world 0.48, run 1.48 s.
//! - 1,000 nodes: 13.1 s / 13.1 s / 1.73 GB (was 1.87); parse 0.58,
//!   expand 1.40, world 2.40, run 6.25 s (was 8.30). What podpath does
//!   for `podpath run` of this scenario (world + run) is 8.65 s, under the
//!   10 s aim; the example's phases together are 10.6 s (it parses and
//!   expands twice) and its process 13.1 s with the text's generation
//!   (1.6 s) and the trace's drop, so the aim is met for the load and run,
//!   not for the example's whole process. Peak stays under 2 GiB.
//!
//! On main after the reach/netpol merges (2026-12-02 12:38, load average
//! 0.00, release; links resolve host names through a map), the example's
//! whole process (text generation, parse, expansion twice, build, 1,000
//! flows, the trace's drop): 100 nodes 1.09 s / 279 MB (world 0.10, run
//! 0.61 s); 300 nodes 2.13 s / 565 MB (world 0.33, run 1.05 s); 1,000
//! nodes 7.35 s / 1.73 GB (parse 0.41, expand 1.10, world 1.66, run
//! 2.66 s). Both aims (< 10 s, < 2 GiB) are met for the whole process.

use std::fmt::Write;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use podpath_sim::k8s::kubeproxy::{restore_input, ProxierConfig};
use podpath_sim::k8s::objects::*;
use podpath_sim::k8s::Cluster;

fn meta(ns: &str, name: &str, svc: Option<&str>) -> ObjectMeta {
    let mut labels = std::collections::BTreeMap::new();
    if let Some(s) = svc {
        labels.insert("kubernetes.io/service-name".to_string(), s.to_string());
    }
    ObjectMeta {
        name: name.into(),
        namespace: Some(ns.into()),
        labels,
        ..Default::default()
    }
}

fn cluster(services: u32) -> Cluster {
    let mut c = Cluster::default();
    for s in 0..services {
        let name = format!("svc{s}");
        let ns = format!("ns{}", s % 50);
        c.services.push(Service {
            metadata: meta(&ns, &name, None),
            spec: ServiceSpec {
                svc_type: Some("NodePort".into()),
                cluster_ip: Some(format!("10.96.{}.{}", s / 250, s % 250 + 1)),
                ports: vec![ServicePort {
                    name: "http".into(),
                    protocol: "TCP".into(),
                    port: 80,
                    target_port: None,
                    node_port: Some(30000 + (s % 2000) as u16),
                }],
                ..Default::default()
            },
            status: Default::default(),
        });
        c.slices.push(EndpointSlice {
            metadata: meta(&ns, &format!("{name}-abc"), Some(&name)),
            address_type: "IPv4".into(),
            endpoints: (0..3)
                .map(|e| Endpoint {
                    addresses: vec![format!("10.244.{}.{}", e, s % 250 + 2)],
                    node_name: Some(format!("node-{e}")),
                    ..Default::default()
                })
                .collect(),
            ports: vec![EndpointPort {
                name: Some("http".into()),
                port: Some(8080),
                protocol: "TCP".into(),
            }],
        });
    }
    c.sort();
    c
}

fn scenario(pods: u32, services: u32) -> String {
    let mut m = String::new();
    for n in 0..3 {
        let _ = write!(m, "    apiVersion: v1\n    kind: Node\n    metadata: {{name: node-{n}}}\n    spec: {{podCIDR: 10.244.{n}.0/24}}\n    status: {{addresses: [{{type: InternalIP, address: 172.18.0.{}}}]}}\n    ---\n", n + 2);
    }
    for p in 0..pods {
        let _ = write!(m, "    apiVersion: v1\n    kind: Pod\n    metadata: {{name: p{p}, namespace: default, labels: {{app: a{}}}}}\n    spec: {{nodeName: node-{}, containers: [{{name: c, ports: [{{containerPort: 8080}}]}}]}}\n    status: {{podIP: 10.244.{}.{}}}\n    ---\n", p % services, p % 3, p % 3, p / 3 + 2);
    }
    for s in 0..services {
        let _ = write!(m, "    apiVersion: v1\n    kind: Service\n    metadata: {{name: s{s}, namespace: default}}\n    spec: {{clusterIP: 10.96.1.{}, ports: [{{name: http, port: 80}}]}}\n    ---\n    apiVersion: discovery.k8s.io/v1\n    kind: EndpointSlice\n    metadata: {{name: s{s}-x, namespace: default, labels: {{kubernetes.io/service-name: s{s}}}}}\n    endpoints:\n", s + 1);
        for p in (0..pods).filter(|p| p % services == s) {
            let _ = writeln!(
                m,
                "      - {{addresses: [10.244.{}.{}], nodeName: node-{}}}",
                p % 3,
                p / 3 + 2,
                p % 3
            );
        }
        let _ = write!(m, "    ports: [{{name: http, port: 8080}}]\n    ---\n");
    }
    format!("apiVersion: podpath/v1\nkind: Scenario\nmetadata: {{name: bench}}\ncluster:\n  cni: flannel-vxlan\n  clusterCIDR: 10.244.0.0/16\n  nodeNetwork: 172.18.0.0/16\n  manifests: |\n{m}")
}

fn bench(c: &mut Criterion) {
    let cl = cluster(2000);
    let mut cfg = ProxierConfig::new("node-0");
    cfg.cluster_cidr = Some("10.244.0.0/16".parse().unwrap());
    c.bench_function("kube-proxy rules for 2000 Services x 3 endpoints", |b| {
        b.iter(|| restore_input(&cl, &cfg).len())
    });
    let text = scenario(60, 20);
    c.bench_function(
        "expand and load a 3-node cluster, 60 pods, 20 Services",
        |b| {
            b.iter(|| {
                podpath_sim::scenario::load(&text, "bench.yaml", None)
                    .unwrap()
                    .hosts
                    .len()
            })
        },
    );
}

#[path = "../tests/k8s_synth/mod.rs"]
mod k8s_synth;

/// Load+expand and load+run of clusters of 100, 300 and 1,000 nodes.
fn real_size(c: &mut Criterion) {
    let mut g = c.benchmark_group("real size");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1));
    for nodes in [100usize, 300, 1000] {
        let shape = k8s_synth::Shape {
            nodes,
            pods: nodes * 10,
            services: nodes,
            seed: 14,
        };
        let text =
            k8s_synth::scenario_with(&shape, "calico-bgp", &k8s_synth::json_text(&shape), 1000);
        g.bench_with_input(BenchmarkId::new("load+expand", nodes), &text, |b, t| {
            b.iter(|| {
                podpath_sim::scenario::load(t, "cluster.yaml", None)
                    .unwrap()
                    .hosts
                    .len()
            })
        });
        g.bench_with_input(BenchmarkId::new("load+run", nodes), &text, |b, t| {
            b.iter(|| {
                let w = podpath_sim::scenario::load(t, "cluster.yaml", None).unwrap();
                podpath_sim::engine::Engine::new(w).run().flows.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, real_size);
criterion_main!(benches);
