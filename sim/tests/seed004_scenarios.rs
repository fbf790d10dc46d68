//! The scenarios of seed 004 (cloud load balancer, DNS, traffic policy,
//! pod to pod by overlay and by BGP routes, troubleshooting): each runs end
//! to end and shows the addresses and rules the seed describes.

use podpath_sim::engine::Engine;
use podpath_sim::trace::{FlowTrace, Trace};

fn run(name: &str, text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, name, None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn flow<'a>(t: &'a Trace, id: &str) -> &'a FlowTrace {
    t.flows
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no flow {id}"))
}

fn any_step(f: &FlowTrace, host: &str, what: &str) -> bool {
    f.hops.iter().any(|h| {
        (host.is_empty() || h.host == host) && h.steps.iter().any(|s| s.what.contains(what))
    })
}

/// (host, packet as it arrived, packet as it left) of each hop.
fn hops(f: &FlowTrace) -> Vec<(String, String, String)> {
    f.hops
        .iter()
        .map(|h| {
            (
                h.host.clone(),
                h.before.clone(),
                h.after.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn cloud_lb_reproduces_the_seed_packet_table() {
    let t = run(
        "cloud-lb-snat.yaml",
        include_str!("../../scenarios/cloud-lb-snat.yaml"),
    );
    let f = flow(&t, "user");
    assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
    let h = hops(f);
    let row = |host: &str, before: &str, after: &str| {
        h.iter()
            .any(|(hh, b, a)| hh == host && b.contains(before) && a.contains(after))
    };
    // user -> LB; LB -> NodePort (client address kept)
    assert!(h.iter().any(|(hh, b, _)| hh == "client"
        && b.starts_with("TCP 1.2.3.4:")
        && b.contains("> 54.210.10.5:80 [S]")));
    assert!(any_step(
        f,
        "nlb",
        "DNAT: 54.210.10.5:80 -> 172.31.0.10:30080"
    ));
    assert!(h.iter().any(|(hh, _, a)| hh == "nlb"
        && a.starts_with("TCP 1.2.3.4:")
        && a.contains("> 172.31.0.10:30080 [S]")));
    // DNAT on the node: 1.2.3.4 -> 10.0.2.15 (externalTrafficPolicy Local: no SNAT)
    assert!(h.iter().any(|(hh, b, _)| hh == "myapp-7f9c6d5b4-q8w2e"
        && b.starts_with("TCP 1.2.3.4:")
        && b.contains("> 10.0.2.15:8080 [S]")));
    // the pod answers 10.0.2.15 -> 1.2.3.4; the node puts 172.31.0.10:30080 back
    assert!(row(
        "ip-172-31-0-10",
        "TCP 10.0.2.15:8080 > 1.2.3.4:",
        "TCP 172.31.0.10:30080 > 1.2.3.4:"
    ));
    // and the LB its own address
    assert!(row(
        "nlb",
        "TCP 172.31.0.10:30080 > 1.2.3.4:",
        "TCP 54.210.10.5:80 > 1.2.3.4:"
    ));
    assert!(!any_step(f, "ip-172-31-0-10", "MASQUERADE"));
}

#[test]
fn clusterip_dns_resolves_then_dnats_across_the_overlay() {
    let t = run(
        "clusterip-dns.yaml",
        include_str!("../../scenarios/clusterip-dns.yaml"),
    );
    let c = flow(&t, "curl");
    assert!(c.outcome.starts_with("HTTP 200 OK"), "{}", c.outcome);
    assert!(any_step(
        c,
        "pod-a",
        "resolver: A myservice.default.svc.cluster.local? to 10.96.0.10:53"
    ));
    assert!(any_step(
        c,
        "ip-172-31-0-10",
        "DNAT: 10.96.0.10:53 -> 10.0.3.10:53"
    ));
    assert!(any_step(
        c,
        "coredns-5d78c9869d-7tq4x",
        "coredns: A myservice.default.svc.cluster.local -> 10.96.0.42"
    ));
    assert!(any_step(
        c,
        "ip-172-31-0-10",
        "DNAT: 10.96.0.42:8080 -> 10.0.3.15:8080"
    ));
    assert!(any_step(c, "ip-172-31-0-10", "encapsulate VNI 1"));
    // the full name (4 dots < ndots 5) still goes through the search list
    let q = flow(&t, "fqdn");
    assert!(
        q.outcome.contains("-> 10.96.0.42") && q.outcome.contains("query 4 of 4"),
        "{}",
        q.outcome
    );
}

#[test]
fn traffic_policy_local_keeps_the_client_address_or_drops() {
    let t = run(
        "traffic-policy-local.yaml",
        include_str!("../../scenarios/traffic-policy-local.yaml"),
    );
    let l = flow(&t, "local-with-endpoint");
    assert!(l.outcome.starts_with("HTTP 200 OK"));
    assert!(hops(l)
        .iter()
        .any(|(h, b, _)| h == "web-5b7c9d8f6-r4t6y" && b.starts_with("TCP 172.18.0.1:")));
    let d = flow(&t, "local-without-endpoint");
    assert!(d.outcome.starts_with("curl: (28)"), "{}", d.outcome);
    assert!(any_step(d, "node-b", "DROP: dropped by filter/INPUT KUBE-EXTERNAL-SERVICES rule 1 (-m comment --comment \"default/web-local:http has no local endpoints\""));
    let c = flow(&t, "cluster-policy");
    assert!(c.outcome.starts_with("HTTP 200 OK"));
    assert!(any_step(c, "node-b", "SNAT: 172.18.0.1:"));
    assert!(hops(c)
        .iter()
        .any(|(h, b, _)| h == "web-5b7c9d8f6-r4t6y" && b.starts_with("TCP 10.244.1.0:")));
}

#[test]
fn pod_to_pod_by_overlay_and_by_routes() {
    let v = run(
        "pod-to-pod-vxlan.yaml",
        include_str!("../../scenarios/pod-to-pod-vxlan.yaml"),
    );
    let b = run(
        "pod-to-pod-bgp.yaml",
        include_str!("../../scenarios/pod-to-pod-bgp.yaml"),
    );
    for t in [&v, &b] {
        let f = flow(t, "pod-to-pod");
        assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
        // no NAT anywhere: pod-b sees pod-a's address
        assert!(!any_step(f, "", "DNAT:") && !any_step(f, "", "SNAT:"));
        assert!(hops(f)
            .iter()
            .any(|(h, bb, _)| h == "pod-b" && bb.starts_with("TCP 10.244.0.10:")));
        assert!(flow(t, "ping").outcome.contains("ttl=62"));
    }
    assert!(any_step(
        flow(&v, "pod-to-pod"),
        "node-a",
        "encapsulate VNI 1 in UDP 172.18.0.2:"
    ));
    let f = flow(&b, "pod-to-pod");
    assert!(any_step(f, "node-a", "proxy_arp on cali"));
    assert!(
        any_step(f, "node-a", "10.244.1.0/24 via 172.18.0.3 dev eth0")
            || any_step(f, "node-a", "via 172.18.0.3 dev eth0")
    );
    assert!(!any_step(f, "", "encapsulate"));
}

#[test]
fn troubleshooting_traces_end_in_the_cause() {
    let t = run(
        "troubleshoot-no-endpoints.yaml",
        include_str!("../../scenarios/troubleshoot-no-endpoints.yaml"),
    );
    let c = flow(&t, "clusterip");
    assert!(c.outcome.contains("ICMP port unreachable"), "{}", c.outcome);
    assert!(any_step(c, "node-b", "REJECT with icmp-port-unreachable by KUBE-SERVICES rule 1 (-m comment --comment \"default/web:http has no endpoints\""));
    let n = flow(&t, "nodeport");
    assert!(any_step(
        n,
        "node-b",
        "\"default/web:http has no endpoints\""
    ));
    let t = run(
        "troubleshoot-ingress-missing-service.yaml",
        include_str!("../../scenarios/troubleshoot-ingress-missing-service.yaml"),
    );
    let m = flow(&t, "missing-service");
    assert!(
        m.outcome
            .starts_with("HTTP 503 Service Temporarily Unavailable"),
        "{}",
        m.outcome
    );
    assert!(flow(&t, "existing-service")
        .outcome
        .starts_with("HTTP 200 OK"));
}

/// The troubleshooting table's broken networks: each failing flow ends in
/// a drop whose reason names the cause, and its working twin passes.
#[test]
fn broken_networks_drop_where_the_cause_is() {
    let t = run(
        "troubleshoot-pod-no-default-route.yaml",
        include_str!("../../scenarios/troubleshoot-pod-no-default-route.yaml"),
    );
    let f = flow(&t, "no-snat");
    assert!(f.outcome.starts_with("curl: (28)"), "{}", f.outcome);
    assert!(any_step(
        f,
        "web-5b7c9d8f6-r4t6y",
        "DROP: no route to 172.18.0.1 (ENETUNREACH)"
    ));
    assert!(flow(&t, "masqueraded").outcome.starts_with("HTTP 200 OK"));

    let t = run(
        "troubleshoot-forward-drop.yaml",
        include_str!("../../scenarios/troubleshoot-forward-drop.yaml"),
    );
    let f = flow(&t, "via-node-b");
    assert!(f.outcome.starts_with("curl: (28)"), "{}", f.outcome);
    assert!(any_step(
        f,
        "node-b",
        "DROP: dropped by filter/FORWARD FORWARD policy DROP"
    ));
    assert!(flow(&t, "via-node-a").outcome.starts_with("HTTP 200 OK"));

    let t = run(
        "troubleshoot-asymmetric-routing.yaml",
        include_str!("../../scenarios/troubleshoot-asymmetric-routing.yaml"),
    );
    let f = flow(&t, "from-office");
    assert!(f.outcome.starts_with("curl: (28)"), "{}", f.outcome);
    // in through router-a, the SYN-ACK out through router-b: INVALID there,
    // once per SYN the client retransmits (the server sends its SYN-ACK again)
    let drops = f
        .hops
        .iter()
        .filter(|h| h.host == "router-b" && h.steps.iter().any(|s| s.what.contains("DROP: dropped by filter/FORWARD FORWARD rule 1 (-m conntrack --ctstate INVALID")))
        .count();
    assert_eq!(drops, 7);
    assert!(any_step(
        f,
        "router-a",
        "NEW tcp src=192.168.10.10 dst=10.1.1.110"
    ));
    assert!(any_step(
        f,
        "",
        "retransmitted SYN in SYN-RECV: SYN-ACK again"
    ));
    assert!(flow(&t, "same-network").outcome.starts_with("HTTP 200 OK"));
}

/// Istio sidecars: the app's SYN to the ClusterIP is REDIRECTed to Envoy's
/// 15001, Envoy picks the endpoint itself (no kube-proxy DNAT), connects as
/// uid 1337 past istio-init's rules, speaks mTLS to the peer sidecar, whose
/// 15006 listener (PREROUTING REDIRECT) calls the app on 127.0.0.1.
#[test]
fn istio_sidecars_intercept_and_speak_mtls() {
    let t = run(
        "istio-sidecar.yaml",
        include_str!("../../scenarios/istio-sidecar.yaml"),
    );
    let f = flow(&t, "reviews");
    assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
    assert!(f.outcome.contains("reviews-v1-545db77b95-2kqv6"));
    let pp = "productpage-v1-6b746f74dc-9stp2";
    let rv = "reviews-v1-545db77b95-2kqv6";
    assert!(any_step(
        f,
        pp,
        "ISTIO_REDIRECT #1: -p tcp -j REDIRECT --to-ports 15001"
    ));
    assert!(any_step(f, pp, "DNAT: 10.96.20.10:9080 -> 127.0.0.1:15001"));
    assert!(any_step(f, pp, "came through loopback with its entry"));
    assert!(any_step(f, pp, "(original destination 10.96.20.10:9080) -> cluster outbound|9080||reviews.default.svc.cluster.local (EDS, 1 endpoint(s)): endpoint 10.244.1.15:9080, mTLS"));
    // Envoy's own connection passes istio-init's rules as uid 1337
    assert!(any_step(
        f,
        pp,
        "ISTIO_OUTPUT #4: -m owner --uid-owner 1337 -j RETURN"
    ));
    // no kube-proxy translation of the ClusterIP anywhere
    assert!(!any_step(f, "", "DNAT: 10.96.20.10:9080 -> 10.244."));
    assert!(any_step(
        f,
        pp,
        "mTLS ClientHello (SNI outbound_.9080_._.reviews.default.svc.cluster.local)"
    ));
    assert!(any_step(
        f,
        rv,
        "ISTIO_IN_REDIRECT #1: -p tcp -j REDIRECT --to-ports 15006"
    ));
    assert!(any_step(
        f,
        rv,
        "mTLS ServerHello, certificate spiffe://cluster.local/ns/default/sa/bookinfo-reviews"
    ));
    assert!(any_step(f, rv, "-> 127.0.0.1:9080 (the application), peer spiffe://cluster.local/ns/default/sa/bookinfo-productpage"));
    // between the nodes only TLS records: the request is not in clear text
    assert!(any_step(f, pp, "request in a TLS application_data record"));
}

/// An ALB is an HTTP proxy: its own connection to each target's NodePort in
/// turn; the pod never sees the client's address as the source (only in
/// X-Forwarded-For, checked with tshark in cli/tests/pcap.rs).
#[test]
fn alb_proxies_to_the_nodeports() {
    let t = run(
        "cloud-lb-alb.yaml",
        include_str!("../../scenarios/cloud-lb-alb.yaml"),
    );
    for (k, node) in [(1, "172.31.0.10:30080"), (2, "172.31.0.11:30080")] {
        let f = flow(&t, &format!("user#{k}"));
        assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
        assert!(
            any_step(f, "alb", "connect() from 172.31.0.6:")
                && any_step(f, "alb", &format!("to {node}: SYN"))
        );
        assert!(
            any_step(f, "alb", "(Host myapp.com)")
                || any_step(f, "alb", "use_backend tg-myservice-30080 if myapp")
        );
        assert!(!hops(f)
            .iter()
            .any(|(h, b, _)| h == "myapp-7f9c6d5b4-q8w2e" && b.starts_with("TCP 1.2.3.4:")));
    }
}
