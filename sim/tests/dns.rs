//! DNS over UDP through a ClusterIP to CoreDNS on another node (seed 004).

use podpath_sim::engine::Engine;
use podpath_sim::trace::Action;

#[test]
fn lookup_crosses_the_service_and_nxdomain_is_reported() {
    let text = include_str!("../../cli/tests/live/dns-clusterip.yaml");
    let world = podpath_sim::scenario::load(text, "dns-clusterip.yaml", None).unwrap();
    let t = Engine::new(world).run();
    assert!(
        t.flows[0]
            .outcome
            .starts_with("DNS A myservice.default.svc.cluster.local -> 10.96.0.42 from 10.96.0.10"),
        "{}",
        t.flows[0].outcome
    );
    assert!(
        t.flows[1].outcome.contains("NXDOMAIN"),
        "{}",
        t.flows[1].outcome
    );
    let f = &t.flows[0];
    // DNAT to CoreDNS on node-a (UDP), the answer de-NATed back to the ClusterIP.
    assert!(f.hops.iter().any(|h| h.host == "node-a" && h.steps.iter().any(|s| matches!(&s.action, Action::Dnat { from, to, .. } if from == "10.96.0.10:53" && to == "10.244.1.10:53"))));
    assert!(f.hops.iter().any(|h| h.host == "coredns-5dd5756b68-x2x7q"
        && h.steps.iter().any(|s| s
            .what
            .contains("coredns: A myservice.default.svc.cluster.local -> 10.96.0.42"))));
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "app-pod" && h.before.starts_with("UDP 10.96.0.10:53 > 10.244.0.7:")));
}

#[test]
fn unanswered_query_is_retried_once_after_5s() {
    let text = include_str!("../../cli/tests/live/dns-clusterip.yaml")
        .replace("server: 10.96.0.10}", "server: 10.96.0.99}");
    let world = podpath_sim::scenario::load(&text, "x.yaml", None).unwrap();
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    assert!(
        f.outcome
            .contains("no answer from 10.96.0.99 after 2 queries"),
        "{}",
        f.outcome
    );
    let sends: Vec<u64> = f
        .hops
        .iter()
        .filter(|h| {
            h.host == "app-pod" && h.steps.iter().any(|s| s.what.starts_with("resolver: A"))
        })
        .map(|h| h.time_ns)
        .collect();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[1] - sends[0], 5_000_000_000);
}
