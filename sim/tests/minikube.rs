//! The minikube scenario (seed 001) end to end: request and reply, with the
//! steps a reader of the seed expects to see.

use podpath_sim::engine::Engine;
use podpath_sim::trace::{Action, Hop, Trace};
use podpath_sim::wire::verify_checksums;

const SCENARIO: &str = include_str!("../../scenarios/minikube-service.yaml");

fn run(seed: Option<u64>) -> Trace {
    let world = podpath_sim::scenario::load(SCENARIO, "minikube-service.yaml", seed).unwrap();
    Engine::new(world).run()
}

fn steps(h: &Hop) -> impl Iterator<Item = &Action> {
    h.steps.iter().map(|s| &s.action)
}

/// The pod the node's DNAT chose for a flow.
fn chosen_pod(t: &Trace, flow: usize) -> String {
    t.flows[flow]
        .hops
        .iter()
        .filter(|h| h.host == "minikube")
        .flat_map(steps)
        .find_map(|a| match a {
            Action::Dnat { from, to, .. } if from == "192.168.49.2:30080" => Some(to.clone()),
            _ => None,
        })
        .expect("the node DNATs the NodePort")
}

#[test]
fn nodeport_request_reaches_a_pod_and_the_reply_is_de_natted() {
    let t = run(None);
    assert_eq!(t.flows.len(), 4);
    for f in &t.flows {
        assert!(
            f.outcome.starts_with("HTTP 200 OK")
                && f.outcome
                    .contains(r#"{"status":"healthy","uptime":"5m30s"}"#),
            "{}: {}",
            f.id,
            f.outcome
        );
    }
    let f = &t.flows[0];
    // 1. On the node, the SYN from the laptop: kube-proxy's chains, DNAT to a
    //    pod, the route to the bridge, masquerade to the bridge address.
    let syn = f
        .hops
        .iter()
        .find(|h| {
            h.host == "minikube" && h.in_dev.as_deref() == Some("eth0") && h.before.contains("[S]")
        })
        .expect("SYN reaches the node on eth0");
    let pod = chosen_pod(&t, 0);
    assert!(
        pod == "10.244.0.16:8080" || pod == "10.244.0.18:8080",
        "{pod}"
    );
    let chains: Vec<&str> = syn
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Rule { chain, table, .. } if table == "nat" => Some(chain.as_str()),
            _ => None,
        })
        .collect();
    for c in [
        "KUBE-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-EXT-NXXVJJXWSNC75CKE",
        "KUBE-MARK-MASQ",
        "KUBE-SVC-NXXVJJXWSNC75CKE",
        "KUBE-POSTROUTING",
    ] {
        assert!(chains.contains(&c), "{c} missing from {chains:?}");
    }
    assert!(steps(syn).any(|a| matches!(a, Action::Route { dev: Some(d), prefix, .. } if d == "bridge" && prefix == "10.244.0.0/16")));
    assert!(steps(syn).any(|a| matches!(a, Action::Snat { from, to, .. } if from.starts_with("192.168.49.1:") && to.starts_with("10.244.0.1:"))));
    // 2. The pod gets the request from the bridge address and Gin answers.
    let pod_ip = pod.split(':').next().unwrap();
    let pod_name = if pod_ip == "10.244.0.16" {
        "api-server-26psx"
    } else {
        "api-server-nlj5w"
    };
    let req = f
        .hops
        .iter()
        .find(|h| h.host == pod_name && h.before.contains("len 87"))
        .expect("the HTTP request reaches the chosen pod");
    assert!(req.before.starts_with("TCP 10.244.0.1:"), "{}", req.before);
    assert!(req.before.contains(&format!("> {pod}")), "{}", req.before);
    assert!(f.hops.iter().any(|h| h.host == pod_name
        && h.steps
            .iter()
            .any(|s| s.what == "gin: GET /health -> 200 OK (123 bytes)")));
    // 3. On the way back the node restores both addresses.
    let back = f
        .hops
        .iter()
        .find(|h| h.host == "minikube" && h.before.contains("len 123"))
        .expect("the response crosses the node");
    assert!(steps(back).any(
        |a| matches!(a, Action::Snat { from, to, .. } if from == &pod && to == "192.168.49.2:30080")
    ));
    assert!(steps(back).any(|a| matches!(a, Action::Dnat { from, to, .. } if from.starts_with("10.244.0.1:") && to.starts_with("192.168.49.1:"))));
    assert_eq!(back.out_dev.as_deref(), Some("eth0"));
    let at_laptop = f
        .hops
        .iter()
        .find(|h| h.host == "laptop" && h.before.contains("len 123"))
        .expect("the response reaches the laptop");
    assert!(
        at_laptop
            .before
            .starts_with("TCP 192.168.49.2:30080 > 192.168.49.1:"),
        "{}",
        at_laptop.before
    );
    // 4. The connection closes cleanly on both sides.
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == pod_name && h.steps.iter().any(|s| s.what.contains("socket closed"))));
}

#[test]
fn every_captured_frame_has_valid_checksums() {
    let t = run(None);
    assert!(t.captures.len() > 100);
    for c in &t.captures {
        verify_checksums(&c.bytes)
            .unwrap_or_else(|e| panic!("{} {} packet {}: {e}", c.host, c.dev, c.packet));
    }
}

#[test]
fn same_seed_same_bytes_and_seeds_pick_both_pods() {
    let a = run(Some(11));
    let b = run(Some(11));
    assert_eq!(a, b);
    assert_eq!(a.captures, b.captures);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..8 {
        let t = run(Some(seed));
        for i in 0..t.flows.len() {
            seen.insert(chosen_pod(&t, i));
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec![
            "10.244.0.16:8080".to_string(),
            "10.244.0.18:8080".to_string()
        ]
    );
}

#[test]
fn runs_are_identical_across_thread_pools() {
    use rayon::prelude::*;
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let one: Vec<Trace> =
        single.install(|| (0..4u64).into_par_iter().map(|s| run(Some(s))).collect());
    let many: Vec<Trace> = (0..4u64).into_par_iter().map(|s| run(Some(s))).collect();
    assert_eq!(one, many);
}

#[test]
fn no_listener_gets_rst_and_curl_reports_refused() {
    // Point the traffic at a port nothing listens on and no rule rewrites.
    let text = SCENARIO.replace(
        "http://192.168.49.2:30080/health",
        "http://192.168.49.2:30081/health",
    );
    let world = podpath_sim::scenario::load(&text, "x.yaml", None).unwrap();
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    assert!(f.outcome.contains("connection refused"), "{}", f.outcome);
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "minikube" && h.steps.iter().any(|s| s.what.contains("answering RST"))));
}

#[test]
fn blackholed_pod_route_times_out_after_syn_retries() {
    // A blackhole route for the pod network on the node: SYNs vanish, curl
    // retries 6 times (Linux 6.5+: 4 linear 1 s timeouts, then 2, 4, 8 s:
    // retransmissions at 1, 2, 3, 4, 5, 7 s) and gives up at 11 s.
    let text = SCENARIO.replace(
        "    sysctl:\n      net.ipv4.ip_forward: 1",
        "    routes:\n      - {dst: 10.244.0.16/32, type: blackhole}\n      - {dst: 10.244.0.18/32, type: blackhole}\n    sysctl:\n      net.ipv4.ip_forward: 1",
    );
    let text = text.replace("count: 4", "count: 1");
    let world = podpath_sim::scenario::load(&text, "x.yaml", None).unwrap();
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    assert!(
        f.outcome.contains("timed out after 11000.000 ms"),
        "{}",
        f.outcome
    );
    let drops = f
        .hops
        .iter()
        .filter(|h| {
            h.steps.iter().any(
                |s| matches!(&s.action, Action::Drop { reason } if reason.contains("blackhole")),
            )
        })
        .count();
    assert_eq!(
        drops, 7,
        "the first SYN and 6 retransmissions die at the blackhole"
    );
}

/// Seed 001's other ways in: the `minikube service` tunnel reaches the
/// NodePort (kube-proxy DNAT), `kubectl port-forward` reaches the named pod
/// without the Service, a pod resolves the Service by name.
#[test]
fn tunnel_port_forward_and_dns_name() {
    let text = include_str!("../../scenarios/minikube-tunnel.yaml");
    let world = podpath_sim::scenario::load(text, "minikube-tunnel.yaml", None).unwrap();
    let t = podpath_sim::engine::Engine::new(world).run();
    let flow = |id: &str| t.flows.iter().find(|f| f.id == id).expect("flow");
    let steps = |id: &str| -> Vec<(String, String)> {
        flow(id)
            .hops
            .iter()
            .flat_map(|h| {
                h.steps
                    .iter()
                    .map(move |s| (h.host.clone(), s.what.clone()))
            })
            .collect()
    };
    for id in ["tunnel", "port-forward", "by-name"] {
        assert!(
            flow(id).outcome.starts_with("HTTP 200 OK"),
            "{id}: {}",
            flow(id).outcome
        );
    }
    let s = steps("tunnel");
    assert!(s
        .iter()
        .any(|(h, w)| h == "laptop" && w.contains("(minikube-service-tunnel laptop)")));
    assert!(s.iter().any(|(h, w)| h == "laptop"
        && w.contains("connect() from 192.168.49.1:")
        && w.contains("to 192.168.49.2:30080")));
    assert!(s
        .iter()
        .any(|(h, w)| h == "minikube" && w.contains("DNAT: 192.168.49.2:30080 -> 10.244.0.1")));
    let s = steps("port-forward");
    assert!(s
        .iter()
        .any(|(h, w)| h == "minikube" && w.contains("to 10.244.0.16:8080: SYN")));
    assert!(
        !s.iter().any(|(_, w)| w.contains("DNAT:")),
        "port-forward bypasses the Service"
    );
    assert!(!s.iter().any(|(h, _)| h == "api-server-nlj5w"));
    let s = steps("by-name");
    assert!(s.iter().any(
        |(_, w)| w.contains("coredns: A api-service.default.svc.cluster.local -> 10.96.123.45")
    ));
    assert!(s
        .iter()
        .any(|(h, w)| h == "minikube" && w.contains("DNAT: 10.96.123.45:8080 -> 10.244.0.1")));
}
