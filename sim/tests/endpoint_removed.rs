//! The `endpointRemoved` fault: the endpoint leaves its EndpointSlices and
//! the control plane resyncs at that virtual time — kube-proxy rewrites its
//! iptables (or IPVS) state on every node, ingress-nginx's balancer gets the
//! new upstream list, and UDP conntrack entries DNATed to the endpoint are
//! deleted as kube-proxy does. Later connections avoid the endpoint; with
//! none left the Service REJECTs.

use podpath_sim::engine::Engine;
use podpath_sim::net::netfilter::Hook;
use podpath_sim::trace::Point;
use podpath_sim::trace::Trace;

const CLUSTER: &str = include_str!("../../scenarios/flannel-cluster.yaml");

fn with_traffic(base: &str, traffic_and_faults: &str) -> String {
    let i = base.find("\ntraffic:\n").expect("traffic") + 1;
    format!("{}{traffic_and_faults}", &base[..i])
}

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "er.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn outcomes(t: &Trace, prefix: &str) -> Vec<(u64, String)> {
    let mut v: Vec<(u64, String)> = t
        .flows
        .iter()
        .filter(|f| f.id.starts_with(prefix))
        .map(|f| {
            (
                f.hops.first().map(|h| h.time_ns).unwrap_or(0),
                f.outcome.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

const FAULTS: &str = r#"traffic:
  - {id: np, from: laptop, http: {get: "http://172.18.0.3:30080/"}, count: 8, interval: 500ms}
  - {id: dns, from: client, dns: {query: kube-dns.kube-system}, count: 2, interval: 100ms}
faults:
  - {at: 1600ms, endpointRemoved: default/web-7c5b8d6f4-abcde}
  - {at: 3100ms, endpointRemoved: 10.244.0.7}
  - {at: 3200ms, endpointRemoved: 10.244.1.3}
"#;

fn check_cluster(text: &str, sync: &str) {
    let t = run(text);
    let ev: Vec<&str> = t.events.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert_eq!(
        ev[0],
        format!("endpoint 10.244.1.5 (Pod default/web-7c5b8d6f4-abcde) removed from EndpointSlice default/web-x7k2q: kube-proxy updated {sync}")
    );
    // the resolver's earlier queries were DNATed to CoreDNS on the client's
    // node: two lookups, two names each (search list, ndots:5)
    assert!(
        ev[2].ends_with("; 4 UDP conntrack entries DNATed to it deleted"),
        "{ev:?}"
    );
    let np = outcomes(&t, "np");
    assert_eq!(np.len(), 8);
    fn pod(o: &str) -> &str {
        if o.contains("web-7c5b8d6f4-abcde") {
            "abcde"
        } else if o.contains("web-7c5b8d6f4-fghij") {
            "fghij"
        } else {
            o.split(':').next().unwrap_or("")
        }
    }
    let got: Vec<(u64, &str)> = np.iter().map(|(t, o)| (*t / 1_000_000, pod(o))).collect();
    // before 1.6 s both pods answer; between 1.6 s and 3.1 s only fghij;
    // after 3.1 s no endpoint: kube-proxy's REJECT
    for (ms, p) in &got {
        match ms {
            0..=1599 => assert!(*p == "abcde" || *p == "fghij", "{got:?}"),
            1600..=3099 => assert_eq!(*p, "fghij", "{got:?}"),
            _ => assert_eq!(*p, "curl", "{got:?}"),
        }
    }
    assert!(got.iter().take(4).any(|(_, p)| *p == "abcde"), "{got:?}");
    assert!(np[7].1.contains("failed to connect"), "{np:?}");
}

#[test]
fn iptables_mode_follows_the_endpoint_slices() {
    check_cluster(
        &with_traffic(CLUSTER, FAULTS),
        "its iptables/ipset state on kind-control-plane, kind-worker",
    );
}

#[test]
fn ipvs_mode_follows_the_endpoint_slices() {
    let text =
        with_traffic(CLUSTER, FAULTS).replace("  proxyMode: iptables\n", "  proxyMode: ipvs\n");
    assert!(text.contains("proxyMode: ipvs"));
    // the KUBE-SVC/KUBE-SEP chains are gone: only the virtual server's
    // real servers and the hairpin set (KUBE-LOOP-BACK) on the pod's node
    check_cluster(
        &text,
        "its iptables/ipset state on kind-worker and the IPVS real servers on kind-control-plane, kind-worker",
    );
}

#[test]
fn nftables_mode_follows_the_endpoint_slices() {
    let text =
        with_traffic(CLUSTER, FAULTS).replace("  proxyMode: iptables\n", "  proxyMode: nftables\n");
    assert!(text.contains("proxyMode: nftables"));
    // kube-proxy's transaction replaces the ip kube-proxy table on both nodes
    check_cluster(
        &text,
        "its nftables table on kind-control-plane, kind-worker",
    );
}

#[test]
fn ingress_nginx_gets_the_new_upstreams() {
    // without service-upstream ingress-nginx balances over the endpoints
    // itself (its Lua balancer), so the removal reaches it directly
    let base = include_str!("../../scenarios/browser-to-pod.yaml").replace(
        "        nginx.ingress.kubernetes.io/service-upstream: \"true\"\n",
        "",
    );
    let text = base.replace(
        "count: 3, start: 100ms, interval: 50ms}",
        "count: 6, start: 100ms, interval: 50ms}\nfaults:\n  - {at: 180ms, endpointRemoved: 10.244.0.10}",
    );
    assert_ne!(text, base);
    let t = run(&text);
    let ev: Vec<&str> = t
        .events
        .iter()
        .map(|e| e.what.as_str())
        .filter(|w| w.contains("endpoint 10.244.0.10"))
        .collect();
    assert_eq!(ev.len(), 1);
    assert!(
        ev[0].contains("; endpoints pushed to node-1 (ingress-nginx"),
        "{ev:?}"
    );
    let b = outcomes(&t, "browser");
    assert_eq!(b.len(), 6);
    // 10.244.0.10 is api-server-5d8f7-abcde; requests sent after the
    // removal all reach the other pod
    let after: Vec<&str> = b
        .iter()
        .filter(|(at, _)| *at >= 200_000_000)
        .map(|(_, o)| o.as_str())
        .collect();
    assert_eq!(after.len(), 4, "{b:?}");
    for o in &after {
        assert!(
            o.starts_with("HTTP 200 OK") && o.contains("api-server-5d8f7-fghij"),
            "{b:?}"
        );
    }
    // without the fault the same requests alternate between the pods
    let t0 = run(&base.replace(
        "count: 3, start: 100ms, interval: 50ms}",
        "count: 6, start: 100ms, interval: 50ms}",
    ));
    let b0 = outcomes(&t0, "browser");
    assert!(
        b0.iter()
            .filter(|(at, _)| *at >= 200_000_000)
            .any(|(_, o)| o.contains("api-server-5d8f7-abcde")),
        "{b0:?}"
    );
}

#[test]
fn endpoint_removed_errors_name_the_fault() {
    let bad = |f: &str| {
        let text = with_traffic(CLUSTER, &format!("traffic: []\nfaults:\n{f}"));
        match podpath_sim::scenario::load(&text, "er.yaml", None) {
            Ok(_) => panic!("expected an error for {f}"),
            Err(e) => e.to_string(),
        }
    };
    assert!(bad("  - {at: 1s, endpointRemoved: 10.244.9.9}\n")
        .contains("faults[0].endpointRemoved: no EndpointSlice lists 10.244.9.9"));
    assert!(bad("  - {at: 1s, endpointRemoved: default/nope}\n")
        .contains("no Pod default/nope in the cluster"));
    assert!(bad("  - {at: 1s, endpointRemoved: web}\n")
        .contains("'web': expected an endpoint address or NAMESPACE/POD"));
    // removed twice: the second finds nothing
    assert!(bad(
        "  - {at: 1s, endpointRemoved: 10.244.1.5}\n  - {at: 2s, endpointRemoved: 10.244.1.5}\n"
    )
    .contains("faults[1].endpointRemoved: no EndpointSlice lists 10.244.1.5 (by then)"));
    // without a cluster there is nothing to remove from
    let plain = include_str!("../../scenarios/nodeport-vxlan.yaml");
    let i = plain.find("\ntraffic:\n").unwrap() + 1;
    let text = format!(
        "{}traffic: []\nfaults:\n  - {{at: 1s, endpointRemoved: 10.244.1.2}}\n",
        &plain[..i]
    );
    let e = podpath_sim::scenario::load(&text, "er.yaml", None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("needs a `cluster`"), "{e}");
}

/// The shipped scenario: four NodePort requests a second apart through
/// kube-proxy's nftables table; the pod that leaves at 1.5 s answers only
/// before.
#[test]
fn the_nftables_endpoint_removed_scenario() {
    let t = run(include_str!(
        "../../scenarios/nftables-endpoint-removed.yaml"
    ));
    assert_eq!(
        t.events[0].what,
        "endpoint 10.244.1.5 (Pod default/web-7c5b8d6f4-abcde) removed from EndpointSlice default/web-x7k2q: kube-proxy updated its nftables table on kind-control-plane, kind-worker"
    );
    let np = outcomes(&t, "nodeport");
    let pods: Vec<&str> = np
        .iter()
        .map(|(_, o)| {
            assert!(o.starts_with("HTTP 200 OK"), "{o}");
            if o.contains("abcde") {
                "abcde"
            } else {
                "fghij"
            }
        })
        .collect();
    // seed 1: the second request reaches the pod that then leaves
    assert_eq!(pods, ["fghij", "abcde", "fghij", "fghij"]);
    // every request goes through the verdict maps and an endpoint chain
    for f in &t.flows {
        let steps: Vec<&str> = f
            .hops
            .iter()
            .flat_map(|h| h.steps.iter())
            .filter(|s| s.point == Point::Nft(Hook::Prerouting))
            .map(|s| s.what.as_str())
            .collect();
        assert!(
            steps
                .iter()
                .any(|w| w.contains("vmap @service-nodeports => goto external-")),
            "{steps:#?}"
        );
        assert!(steps.iter().any(|w| w.contains("numgen random mod")));
        assert!(steps.iter().any(|w| w.contains("=> DNAT to 10.244.")));
    }
}
