//! The fault timeline's cluster changes beside `endpointRemoved`:
//! `policyApplied`, `policyDeleted`, `podLabelsChanged` and
//! `namespaceLabelsChanged`. Each one changes the objects as the API server
//! would and the CNI's policy agent reprograms the nodes at that instant; on
//! flannel, which enforces no NetworkPolicy, the timeline says nothing
//! changes on the nodes.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const CLUSTER: &str = include_str!("../../scenarios/flannel-cluster.yaml");

fn with_traffic(base: &str, traffic_and_faults: &str) -> String {
    let i = base.find("\ntraffic:\n").expect("traffic") + 1;
    format!("{}{traffic_and_faults}", &base[..i])
}

fn load(text: &str) -> Result<Trace, String> {
    let w = podpath_sim::scenario::load(text, "pe.yaml", None).map_err(|e| e.to_string())?;
    Ok(Engine::new(w).run())
}

const EVENTS: &str = r#"traffic:
  - {id: c, from: client, http: {get: "http://web.default.svc.cluster.local/"}, count: 5, interval: 1s}
faults:
  - at: 1500ms
    policyApplied: |
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: deny-web, namespace: default}
      spec:
        podSelector: {matchLabels: {app: web}}
        policyTypes: [Ingress]
  - at: 2500ms
    podLabelsChanged: {pod: default/client, labels: {role: frontend}}
  - at: 3000ms
    namespaceLabelsChanged: {namespace: default, labels: {team: a}}
  - at: 3500ms
    policyApplied: |
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: deny-web, namespace: default}
      spec:
        podSelector: {matchLabels: {app: web}}
        policyTypes: [Ingress]
        ingress: [{from: [{podSelector: {matchLabels: {role: frontend}}}]}]
  - at: 4500ms
    policyDeleted: default/deny-web
"#;

#[test]
fn each_change_is_on_the_timeline_in_the_api_servers_terms() {
    let t = load(&with_traffic(CLUSTER, EVENTS)).unwrap_or_else(|e| panic!("{e}"));
    let ev: Vec<&str> = t.events.iter().map(|e| e.what.as_str()).collect();
    let none = ": the CNI enforces no NetworkPolicy, no node changes";
    assert_eq!(
        ev,
        [
            format!("NetworkPolicy default/deny-web created{none}"),
            format!("Pod default/client labels (none) -> role=frontend{none}"),
            format!("Namespace default labels kubernetes.io/metadata.name=default -> kubernetes.io/metadata.name=default,team=a{none}"),
            format!("NetworkPolicy default/deny-web configured{none}"),
            format!("NetworkPolicy default/deny-web deleted{none}"),
        ]
    );
    let times: Vec<u64> = t.events.iter().map(|e| e.time_ns).collect();
    assert_eq!(
        times,
        [
            1_500_000_000,
            2_500_000_000,
            3_000_000_000,
            3_500_000_000,
            4_500_000_000
        ]
    );
    // flannel: every request answered whatever the policies say
    assert!(
        t.flows.iter().all(|f| f.outcome.starts_with("HTTP 200")),
        "{:?}",
        t.flows.iter().map(|f| &f.outcome).collect::<Vec<_>>()
    );
}

#[test]
fn the_expanded_scenario_carries_the_changes_as_resyncs() {
    let text = with_traffic(CLUSTER, EVENTS);
    let x = podpath_sim::scenario::expanded_scenario(&text, "pe.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("a cluster");
    assert!(x.contains("agent: none"), "{x}");
    assert!(!x.contains("policyApplied"), "{x}");
    let a = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let b = load(&x).unwrap_or_else(|e| panic!("{e}"));
    let ev = |t: &Trace| {
        t.events
            .iter()
            .map(|e| (e.time_ns, e.what.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ev(&a), ev(&b));
}

fn refused(faults: &str) -> String {
    let text = with_traffic(
        CLUSTER,
        &format!("traffic:\n  - {{id: c, from: client, http: {{get: \"http://web.default.svc.cluster.local/\"}}}}\nfaults:\n{faults}"),
    );
    match load(&text) {
        Ok(_) => panic!("accepted: {faults}"),
        Err(e) => e,
    }
}

#[test]
fn bad_changes_are_refused_with_the_api_servers_words() {
    let e = refused("  - {at: 1s, policyDeleted: default/nope}\n");
    assert!(
        e.contains("faults[0].policyDeleted")
            && e.contains("networkpolicies.networking.k8s.io \"nope\" not found"),
        "{e}"
    );
    let e = refused("  - {at: 1s, policyDeleted: nope}\n");
    assert!(e.contains("expected NAMESPACE/NAME"), "{e}");
    let e = refused("  - {at: 1s, podLabelsChanged: {pod: default/ghost, labels: {a: b}}}\n");
    assert!(e.contains("pods \"ghost\" not found"), "{e}");
    let e = refused("  - {at: 1s, namespaceLabelsChanged: {namespace: nowhere, labels: {a: b}}}\n");
    assert!(e.contains("namespaces \"nowhere\" not found"), "{e}");
    let e = refused("  - at: 1s\n    policyApplied: |\n      apiVersion: v1\n      kind: Pod\n      metadata: {name: x}\n");
    assert!(
        e.contains("expected one or more documents of kind NetworkPolicy"),
        "{e}"
    );
    // the policy is validated as the API server validates it
    let e = refused("  - at: 1s\n    policyApplied: |\n      apiVersion: networking.k8s.io/v1\n      kind: NetworkPolicy\n      metadata: {name: x, namespace: default}\n      spec:\n        podSelector: {}\n        policyTypes: [Sideways]\n");
    assert!(e.contains("faults[0].policyApplied"), "{e}");
    // a label value the API server refuses
    let e =
        refused("  - {at: 1s, podLabelsChanged: {pod: default/client, labels: {a: \"-bad-\"}}}\n");
    assert!(e.contains("faults[0].podLabelsChanged"), "{e}");
}

const KINDNET: &str = include_str!("../../scenarios/netpol-kindnet.yaml");

/// kindnet: kube-network-policies' informers see each change at its
/// instant, so a new connection is judged by the objects as they are then:
/// denied once backend-ingress is deleted (the namespace's default-deny
/// is left), admitted again once it is re-created, and admitted for
/// `other` once its labels make it a frontend.
#[test]
fn kindnet_judges_new_connections_by_the_objects_of_their_instant() {
    let events = r#"traffic:
  - {id: a, from: frontend, http: {get: "http://backend/"}}
  - {id: b, from: frontend, http: {get: "http://backend/"}, start: 2s}
  - {id: c, from: frontend, http: {get: "http://backend/"}, start: 30s}
  - {id: d, from: other, http: {get: "http://backend/"}, start: 45s}
faults:
  - {at: 1s, policyDeleted: shop/backend-ingress}
  - at: 20s
    policyApplied: |
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: backend-ingress, namespace: shop}
      spec:
        podSelector: {matchLabels: {app: backend}}
        ingress:
          - from: [{podSelector: {matchLabels: {app: frontend}}}]
            ports: [{port: http}]
  - {at: 40s, podLabelsChanged: {pod: shop/other, labels: {app: frontend}}}
"#;
    let t = load(&with_traffic(KINDNET, events)).unwrap_or_else(|e| panic!("{e}"));
    let out: Vec<(&str, bool)> = t
        .flows
        .iter()
        .map(|f| (f.id.as_str(), f.outcome.starts_with("HTTP 200")))
        .collect();
    assert_eq!(
        out,
        [("a", true), ("b", false), ("c", true), ("d", true)],
        "{:?}",
        t.flows.iter().map(|f| &f.outcome).collect::<Vec<_>>()
    );
    assert!(
        t.flows[1].outcome.contains("timed out"),
        "{}",
        t.flows[1].outcome
    );
    let ev: Vec<&str> = t.events.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(ev.len(), 3, "{ev:?}");
    for e in &ev {
        assert!(
            e.contains("kube-network-policies updated")
                && e.ends_with("its evaluator's objects on kind-control-plane, kind-worker"),
            "{e}"
        );
    }
    assert!(
        ev[0].starts_with("NetworkPolicy shop/backend-ingress deleted"),
        "{}",
        ev[0]
    );
}

/// felix's rule notes are replaced with the rules at a resync: after the
/// fix of netpol-default-deny (policyApplied at 50 s) the `after` flow is
/// traced with the new policies' allowing rules, no step of the old rules'
/// numbering says the old default-deny dropped it (the notes were kept from
/// the first rendering and named a jump as the end-of-tier DROP); the
/// `before` flow's drop step names the policy, the verdict and felix's rule.
#[test]
fn calico_policy_steps_follow_the_resynced_rules() {
    use podpath_sim::trace::Action;
    let text = include_str!("../../scenarios/netpol-default-deny.yaml");
    let w = podpath_sim::scenario::load(text, "netpol-default-deny.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    let t = podpath_sim::engine::Engine::new(w).run();
    let flow = |id: &str| t.flows.iter().find(|f| f.id == id).unwrap();
    let policy_steps = |id: &str| -> Vec<(String, Vec<String>, Option<String>)> {
        flow(id)
            .hops
            .iter()
            .flat_map(|h| &h.steps)
            .filter_map(|s| match &s.action {
                Action::Policy {
                    verdict,
                    policies,
                    rule,
                    ..
                } => Some((verdict.clone(), policies.clone(), rule.clone())),
                _ => None,
            })
            .collect()
    };
    let after = policy_steps("after");
    assert!(!after.is_empty());
    assert!(after.iter().all(|(v, _, _)| v == "allowed"), "{after:?}");
    assert!(after
        .iter()
        .any(|(_, _, r)| r.as_deref() == Some("default/myservice-ingress ingress[0]")));
    assert!(after
        .iter()
        .any(|(_, _, r)| r.as_deref() == Some("default/allow-dns-and-app egress[1]")));
    let before = policy_steps("before");
    assert!(before
        .iter()
        .all(|(v, p, _)| v == "denied" && p == &vec!["default/default-deny".to_string()]));
    let drop = flow("before")
        .hops
        .iter()
        .flat_map(|h| &h.steps)
        .find(|s| matches!(s.action, Action::Drop { .. }))
        .unwrap();
    assert!(
        drop.what.contains("End of tier default")
            && drop.what.contains(
                "NetworkPolicy egress: selected by default/default-deny, no rule of them admits the packet"
            ),
        "{}",
        drop.what
    );
}
