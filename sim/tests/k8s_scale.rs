//! Clusters of real size (issue 14): `kubectl get -A -o json|yaml` of 1,000
//! nodes and 10,000 pods loads, within a documented ceiling that refuses a
//! larger input with a message naming the file and the limit, and the
//! kinds podpath does not use are skipped and counted.
//!
//! The 1,000-node JSON file loads in the default run; the 1,000-node YAML
//! one is `#[ignore]` (slow in a debug build: `cargo test --test k8s_scale
//! -- --ignored`), a 300-node YAML one runs by default.

mod k8s_synth;

use k8s_synth::Shape;
use podpath_sim::k8s::Cluster;
use podpath_sim::yaml::Limits;

fn shape(nodes: usize) -> Shape {
    Shape {
        nodes,
        pods: nodes * 10,
        services: nodes,
        seed: 14,
    }
}

/// Every object read, the unused kinds counted, each pod on its node.
fn check_loaded(c: &Cluster, s: &Shape) {
    assert_eq!(c.nodes.len(), s.nodes);
    assert_eq!(c.pods.len(), s.pods);
    assert_eq!(c.services.len(), s.services);
    assert_eq!(c.slices.len(), s.services);
    assert!(c
        .slices
        .iter()
        .all(|sl| sl.endpoints.len() == s.pods / s.services));
    let want: std::collections::BTreeMap<String, usize> = k8s_synth::unused_counts(s)
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    assert_eq!(c.skipped, want);
    let p = c
        .pods
        .iter()
        .find(|p| p.metadata.name == "web-00007")
        .unwrap();
    assert_eq!(
        p.spec.node_name.as_deref(),
        Some(k8s_synth::node_name(7 % s.nodes).as_str())
    );
    assert_eq!(
        p.status.pod_ip.as_deref(),
        Some(k8s_synth::pod_ip(s, 7).as_str())
    );
    assert_eq!(p.spec.containers[0].ports[0].container_port, 8080);
}

#[test]
fn kubectl_json_of_1000_nodes_and_10000_pods_loads() {
    let s = shape(1000);
    let text = k8s_synth::json_text(&s);
    let c = Cluster::from_text(&text, "cluster.json").unwrap_or_else(|e| panic!("{e}"));
    check_loaded(&c, &s);
    let n = s.services;
    assert_eq!(
        c.skipped_warning().unwrap(),
        format!("skipped {} objects of kinds podpath does not use: Deployment {n}, ReplicaSet {n}, ConfigMap 20, Secret 20, ServiceAccount 20", 2 * n + 60)
    );
    // the line an object starts at is known, as for YAML
    let line = c.nodes[0].metadata.line;
    assert!(
        text.lines().nth(line - 1).unwrap().trim() == "{",
        "line {line}"
    );
}

#[test]
fn kubectl_yaml_of_300_nodes_and_3000_pods_loads() {
    let s = shape(300);
    let c = Cluster::from_text(&k8s_synth::yaml_text(&s), "cluster.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    check_loaded(&c, &s);
}

#[test]
#[ignore = "slow in a debug build (about a minute): run with --ignored"]
fn kubectl_yaml_of_1000_nodes_and_10000_pods_loads() {
    let s = shape(1000);
    let c = Cluster::from_text(&k8s_synth::yaml_text(&s), "cluster.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    check_loaded(&c, &s);
}

#[test]
fn json_and_yaml_of_one_cluster_read_the_same() {
    let s = shape(20);
    let a = Cluster::from_text(&k8s_synth::json_text(&s), "c.json").unwrap();
    let mut b = Cluster::from_text(&k8s_synth::yaml_text(&s), "c.yaml").unwrap();
    // lines differ between the two texts; nothing else does
    let strip = |c: &mut Cluster| {
        c.nodes.iter_mut().for_each(|x| x.metadata.line = 0);
        c.pods.iter_mut().for_each(|x| x.metadata.line = 0);
        c.services.iter_mut().for_each(|x| x.metadata.line = 0);
        c.slices.iter_mut().for_each(|x| x.metadata.line = 0);
    };
    let mut a = a;
    strip(&mut a);
    strip(&mut b);
    assert_eq!(a, b);
}

#[test]
fn the_ceiling_refuses_with_the_file_and_the_limit() {
    let text = k8s_synth::json_text(&shape(3));
    let small = Limits {
        max_bytes: 1000,
        max_nodes: 100_000_000,
    };
    let e = Cluster::from_text_within(&text, "big.json", &small).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "big.json: size: {} bytes is more than podpath reads from one file: its ceiling is 1000 bytes",
            text.len()
        )
    );
    // YAML nodes in one document
    let few = Limits {
        max_bytes: 1 << 30,
        max_nodes: 500,
    };
    let e =
        Cluster::from_text_within(&k8s_synth::yaml_text(&shape(3)), "big.yaml", &few).unwrap_err();
    assert_eq!(
        e.to_string(),
        "big.yaml (the document at line 1): size: more than 500 YAML nodes in one document: podpath's ceiling for one document"
    );
    // the default ceiling is what the doc says
    assert_eq!(Limits::DEFAULT.max_bytes, 1 << 30);
    assert_eq!(
        Limits::DEFAULT.size_message((1 << 30) + 1).unwrap(),
        "1073741825 bytes is more than podpath reads from one file: its ceiling is 1073741824 bytes (1 GiB)"
    );
}

#[test]
fn a_json_error_names_the_object_and_its_line() {
    let text = "{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"},\n     \"spec\": {\"containers\": [{\"name\": \"c\", \"ports\": [{\"containerPort\": \"x\"}]}]}}\n  ]\n}\n";
    let e = Cluster::from_text(text, "c.json").unwrap_err();
    assert_eq!(e.object, "Pod p (object at line 4)");
    assert_eq!(e.line, 5);
    assert!(e.message.contains("expected"), "{e}");
}

#[test]
fn a_scenario_of_a_large_cluster_warns_of_the_skipped_kinds() {
    let s = shape(4);
    let text = k8s_synth::scenario(&s, &k8s_synth::json_text(&s), 3);
    let (w, warnings) = podpath_sim::scenario::load_reporting(&text, "big.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    // the nodes, the pods and the switch of the nodes' network
    assert_eq!(
        w.hosts.len(),
        4 + 40 + 1,
        "{:?}",
        w.hosts.iter().map(|h| &h.name).collect::<Vec<_>>()
    );
    assert_eq!(
        warnings,
        vec!["big.yaml: cluster.manifests: skipped 20 objects of kinds podpath does not use: ConfigMap 4, Deployment 4, ReplicaSet 4, Secret 4, ServiceAccount 4".to_string()]
    );
}

/// The synthetic cluster under `cni`, with Service 0 `internalTrafficPolicy:
/// Local` and Service 1 a LoadBalancer with `externalTrafficPolicy: Local`
/// and source ranges (rules that depend on the node).
fn scenario_with_local_policies(cni: &str, nodes: usize) -> String {
    let s = shape(nodes);
    let mut list = k8s_synth::list(&s);
    for it in list["items"].as_array_mut().unwrap() {
        if it["kind"] == "Service" && it["metadata"]["name"] == "svc-0" {
            it["spec"]["internalTrafficPolicy"] = "Local".into();
        }
        if it["kind"] == "Service" && it["metadata"]["name"] == "svc-1" {
            it["spec"]["type"] = "LoadBalancer".into();
            it["spec"]["externalTrafficPolicy"] = "Local".into();
            it["spec"]["ports"][0]["nodePort"] = 30001.into();
            it["spec"]["loadBalancerSourceRanges"] = serde_json::json!(["172.16.0.0/30"]);
        }
    }
    let text = serde_json::to_string_pretty(&list).unwrap();
    k8s_synth::scenario(&s, &text, 1).replace("cni: flannel-vxlan", &format!("cni: {cni}"))
}

#[test]
fn nodes_share_kube_proxy_rules_exactly_where_they_are_the_same() {
    use podpath_sim::k8s::{cluster, kubeproxy};
    for cni in ["calico-bgp", "flannel-vxlan"] {
        let text = scenario_with_local_policies(cni, 12);
        let doc = podpath_sim::scenario::parse(&text, "s.yaml").unwrap();
        let (objs, net) =
            podpath_sim::scenario::cluster_of(doc.cluster.as_ref().unwrap(), "s.yaml").unwrap();
        let x = podpath_sim::scenario::expansion(&doc, "s.yaml")
            .unwrap()
            .unwrap();
        // each node's text is what kube-proxy writes for that node
        for n in &objs.nodes {
            let name = &n.metadata.name;
            let cfg = cluster::proxier_config(&net, name, n.internal_ip().unwrap());
            let extra = cluster::cni_rules(&net, n).unwrap();
            let want = kubeproxy::node_iptables_save(&objs, &cfg, &extra);
            assert_eq!(
                &*x.hosts[name].iptables.as_ref().unwrap().value,
                want,
                "{cni} {name}"
            );
        }
        // and the same text is one shared string
        let texts: Vec<&std::sync::Arc<str>> = objs
            .nodes
            .iter()
            .map(|n| &x.hosts[&n.metadata.name].iptables.as_ref().unwrap().value)
            .collect();
        let distinct = |same: &dyn Fn(&std::sync::Arc<str>, &std::sync::Arc<str>) -> bool| {
            let mut d: Vec<&std::sync::Arc<str>> = Vec::new();
            for t in &texts {
                if !d.iter().any(|u| same(u, t)) {
                    d.push(t);
                }
            }
            d.len()
        };
        let by_content = distinct(&|a, b| a == b);
        let by_pointer = distinct(&|a, b| std::sync::Arc::ptr_eq(a, b));
        assert_eq!(by_content, by_pointer, "{cni}: equal texts are one string");
        if cni == "calico-bgp" {
            // svc-0's pods on nodes 0 and 12k... (pod j on node j % 12,
            // Service j % 12): node 0 holds svc-0's local endpoints and
            // node 1 svc-1's; the LB's source range 172.16.0.0/30 holds
            // node 0 (172.16.0.2) and node 1 (.3): nodes 2..11 share one
            assert_eq!(by_content, 3, "calico: nodes 0, 1 and the rest");
        } else {
            assert_eq!(
                by_content, 12,
                "flannel: FLANNEL-POSTRTG names each node's podCIDR"
            );
        }
        // the world's nodes share the parsed tables as they share the text
        let w = podpath_sim::scenario::load(&text, "s.yaml", None).unwrap();
        let nf: Vec<_> = w
            .hosts
            .iter()
            .filter(|h| h.name.starts_with("node-"))
            .map(|h| &h.nf)
            .collect();
        let mut d: Vec<&std::sync::Arc<podpath_sim::net::netfilter::Ruleset>> = Vec::new();
        for r in &nf {
            if !d.iter().any(|u| std::sync::Arc::ptr_eq(u, r)) {
                d.push(r);
            }
        }
        assert_eq!(
            d.len(),
            by_content,
            "{cni}: one parsed copy per distinct text"
        );
    }
}
