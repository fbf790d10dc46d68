//! Errors about Kubernetes objects point at the object: its kind,
//! namespace and name, and the line inside `manifests` where it starts; and
//! the objects are read as kubectl reads them (YAML scalars by the target
//! type, JSON as it is, `kind: List`).

use podpath_sim::scenario::load;

const SCENARIO: &str = include_str!("../../scenarios/flannel-cluster.yaml");

fn err_of(text: &str) -> podpath_sim::scenario::ScenarioError {
    match load(text, "c.yaml", None) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

#[test]
fn errors_name_the_object_and_its_line() {
    let bad = SCENARIO.replace("status: {podIP: 10.244.0.9}", "status: {podIP: 10.244.1.9}");
    let e = err_of(&bad);
    // the Pod starts at its apiVersion line, two above its metadata
    let want = line_of(&bad, "metadata: {name: client, namespace: default}") - 2;
    assert_eq!(e.line, want, "{e}");
    assert!(
        e.message
            .starts_with("Pod default/client: status.podIP: 10.244.1.9 is outside"),
        "{e}"
    );
    // a nodePort outside the API server's range, in its words
    let bad = SCENARIO.replace("nodePort: 30080", "nodePort: 8080");
    let e = err_of(&bad);
    assert_eq!(
        e.line,
        line_of(&bad, "metadata: {name: web, namespace: default}") - 2,
        "{e}"
    );
    assert!(
        e.message.contains("Service default/web: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767"),
        "{e}"
    );
    // the range is the API server's flag
    let ok = bad.replace(
        "  clusterCIDR:",
        "  serviceNodePortRange: 8000-9000\n  clusterCIDR:",
    );
    assert_ne!(ok, bad);
    load(&ok, "c.yaml", None).unwrap();
}

#[test]
fn a_duplicate_pod_is_named_as_such() {
    let pod = "    apiVersion: v1\n    kind: Pod\n    metadata: {name: client, namespace: default}\n    spec:\n      nodeName: kind-control-plane\n      containers: [{name: curl}]\n    status: {podIP: 10.244.0.19}\n    ---\n";
    let bad = SCENARIO.replacen(
        "    apiVersion: v1\n    kind: Service\n",
        &format!("{pod}    apiVersion: v1\n    kind: Service\n"),
        1,
    );
    assert_ne!(bad, SCENARIO);
    let e = err_of(&bad);
    assert!(
        e.message.contains(
            "Pod default/client: metadata.name: a second Pod default/client (the first is at line"
        ),
        "{e}"
    );
}

#[test]
fn scalars_are_strings_where_the_field_is_a_string() {
    // `on`, `y`, `n`, `no` and numbers are YAML 1.1 booleans and numbers;
    // in a string field kubectl reads them as the string
    let pod = "    apiVersion: v1\n    kind: Pod\n    metadata: {name: n, namespace: y, labels: {on: off, version: 1, no: yes}}\n    spec:\n      nodeName: kind-worker\n      containers: [{name: x}]\n    status: {podIP: 10.244.1.19}\n    ---\n";
    let text = SCENARIO.replacen(
        "    apiVersion: v1\n    kind: Service\n",
        &format!("{pod}    apiVersion: v1\n    kind: Service\n"),
        1,
    );
    assert_ne!(text, SCENARIO);
    let w = load(&text, "c.yaml", None).unwrap();
    let pod = w.hosts.iter().find(|h| h.name == "n").expect("pod n");
    assert_eq!(pod.namespace.as_deref(), Some("y"));
}

#[test]
fn json_manifests_load_as_they_are() {
    // `kubectl get -o json` prints one List; the same objects as JSON
    let yaml_objs = SCENARIO
        .split("  manifests: |\n")
        .nth(1)
        .unwrap()
        .split("\ntraffic:")
        .next()
        .unwrap();
    let docs: Vec<String> = yaml_objs
        .split("\n    ---\n")
        .map(|d| {
            d.lines()
                .map(|l| l.strip_prefix("    ").unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(docs.len() > 5);
    // convert each document to JSON through serde_json (a YAML subset is JSON)
    let items: Vec<serde_json::Value> = docs
        .iter()
        .map(|d| serde_saphyr::from_str::<serde_json::Value>(d).unwrap())
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let json = serde_json::to_string_pretty(&list).unwrap();
    let indented: String = json.lines().map(|l| format!("    {l}\n")).collect();
    let text = format!(
        "{}  manifests: |\n{indented}{}",
        SCENARIO.split("  manifests: |\n").next().unwrap(),
        &SCENARIO[SCENARIO.find("\ntraffic:").unwrap() + 1..]
    );
    let a = podpath_sim::engine::Engine::new(load(SCENARIO, "c.yaml", None).unwrap()).run();
    let b = podpath_sim::engine::Engine::new(load(&text, "c.json.yaml", None).unwrap()).run();
    assert_eq!(a.flows.len(), b.flows.len());
    for (x, y) in a.flows.iter().zip(&b.flows) {
        assert_eq!(x.outcome, y.outcome);
    }
}

#[test]
fn labels_read_by_the_target_type() {
    let y = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: n\n  namespace: y\n  labels: {on: off, version: 1, no: yes}\nspec: {nodeName: on}\n";
    let c = podpath_sim::k8s::Cluster::from_yaml(y, "p.yaml").unwrap();
    let m = &c.pods[0].metadata;
    assert_eq!((m.name.as_str(), m.ns()), ("n", "y"));
    assert_eq!(m.labels.get("on").map(String::as_str), Some("off"));
    assert_eq!(m.labels.get("version").map(String::as_str), Some("1"));
    assert_eq!(m.labels.get("no").map(String::as_str), Some("yes"));
    assert_eq!(c.pods[0].spec.node_name.as_deref(), Some("on"));
}

#[test]
fn a_name_without_kube_dns_says_to_add_it() {
    // the kube-dns Service and its EndpointSlice gone
    let (head, rest) = SCENARIO.split_once("  manifests: |\n").unwrap();
    let at = rest.find("\ntraffic:").unwrap();
    let (objs, tail) = rest.split_at(at);
    let kept: Vec<&str> = objs
        .split("\n    ---\n")
        .filter(|d| !d.contains("{name: kube-dns,") && !d.contains("name: kube-dns-"))
        .collect();
    assert_eq!(kept.len() + 2, objs.split("\n    ---\n").count());
    let text = format!("{head}  manifests: |\n{}{tail}", kept.join("\n    ---\n"));
    assert!(text.contains("\ntraffic:"));
    let e = err_of(&text);
    assert!(e.message.contains("has no resolvConf"), "{e}");
    assert!(
        e.message.contains("the cluster has no Service kube-system/kube-dns, so kubelet gives its pods no nameserver; add a kube-dns Service"),
        "{e}"
    );
}

/// The dual-stack fields as the API server validates them, each error
/// naming the object, its field and line; and the cluster's CIDRs of
/// both families agreeing.
#[test]
fn dual_stack_objects_are_validated_as_the_api_server_does() {
    const DUAL: &str = include_str!("../../scenarios/dual-stack-cluster.yaml");
    load(DUAL, "d.yaml", None).unwrap();
    let cases = [
        // SingleStack with two families
        (
            "ipFamilyPolicy: PreferDualStack",
            "ipFamilyPolicy: SingleStack",
            "Service default/web: spec.ipFamilyPolicy: SingleStack (the default) allows one family",
        ),
        // clusterIPs[0] is clusterIP
        (
            "clusterIPs: [10.96.100.10,",
            "clusterIPs: [10.96.100.11,",
            "Service default/web: spec.clusterIPs[0]: '10.96.100.11' must be the same as clusterIP '10.96.100.10'",
        ),
        // one address per family
        (
            "clusterIPs: [10.96.100.10, \"fd00:10:96::100a\"]",
            "clusterIPs: [10.96.100.10, 10.96.100.12]",
            "spec.clusterIPs: may specify no more than one IP for each IP family",
        ),
        // ipFamilies in the order of clusterIPs
        (
            "ipFamilies: [IPv4, IPv6]",
            "ipFamilies: [IPv6, IPv4]",
            "spec.clusterIPs[0]: '10.96.100.10' is not an IPv6 address, as ipFamilies[0] says it is",
        ),
        // a pod's second address of the same family
        (
            "podIPs: [{ip: 10.244.1.5}, {ip: \"fd00:10:244:1::5\"}]",
            "podIPs: [{ip: 10.244.1.5}, {ip: 10.244.1.6}]",
            "Pod default/web-7c5b8d6f4-abcde: status.podIPs[1].ip: may specify no more than one IP for each IP family",
        ),
        // an IPv6 podIP outside its node's IPv6 podCIDR
        (
            "{ip: \"fd00:10:244:1::5\"}",
            "{ip: \"fd00:10:244:7::5\"}",
            "fd00:10:244:7::5 is outside the podCIDR fd00:10:244:1::/64 of Node kind-worker",
        ),
        // the cluster's CIDRs: both dual or neither
        (
            "nodeNetwork: 172.18.0.0/16,fc00:f853:ccd:e793::/64",
            "nodeNetwork: 172.18.0.0/16",
            "has one family, but the other of clusterCIDR and nodeNetwork has two",
        ),
        // a node of a dual-stack cluster has an IPv6 InternalIP
        (
            "        - {type: InternalIP, address: \"fc00:f853:ccd:e793::3\"}\n",
            "",
            "Node kind-worker: status.addresses: no IPv6 InternalIP",
        ),
    ];
    for (from, to, want) in cases {
        assert!(DUAL.contains(from), "{from}");
        let e = err_of(&DUAL.replacen(from, to, 1));
        assert!(e.to_string().contains(want), "{from} -> {to}: {e}");
    }
    // RequireDualStack with one ClusterIP: the API server allocates the
    // other family's (k8s::ipalloc), in the IPv6 range
    let given = "ipFamilyPolicy: PreferDualStack\n      ipFamilies: [IPv4, IPv6]\n      clusterIP: 10.96.100.10\n      clusterIPs: [10.96.100.10, \"fd00:10:96::100a\"]";
    assert!(DUAL.contains(given));
    let one = DUAL.replacen(
        given,
        "ipFamilyPolicy: RequireDualStack\n      clusterIP: 10.96.100.10",
        1,
    );
    let doc = podpath_sim::scenario::parse(&one, "d.yaml").unwrap();
    let (c, _) =
        podpath_sim::scenario::cluster_of(doc.cluster.as_ref().unwrap(), "d.yaml").unwrap();
    let web = c
        .services
        .iter()
        .find(|s| s.metadata.name == "web")
        .unwrap();
    assert_eq!(web.spec.ip_families, ["IPv4", "IPv6"]);
    assert_eq!(web.spec.cluster_ips[0], "10.96.100.10");
    assert!(
        web.spec.cluster_ips[1].starts_with("fd00:10:96::"),
        "{:?}",
        web.spec.cluster_ips
    );
}
