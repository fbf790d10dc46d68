//! Clusters described by Kubernetes objects: the expansion into kernel state
//! and the paths through it, per CNI backend; errors for inconsistent objects.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const SCENARIO: &str = include_str!("../../scenarios/flannel-cluster.yaml");

fn run(text: &str) -> Trace {
    let world = podpath_sim::scenario::load(text, "flannel-cluster.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::new(world).run()
}

fn steps(t: &Trace, flow: &str) -> Vec<(String, String, String)> {
    let f = t.flows.iter().find(|f| f.id == flow).expect("flow");
    f.hops
        .iter()
        .flat_map(|h| {
            h.steps
                .iter()
                .map(move |s| (h.host.clone(), s.point.to_string(), s.what.clone()))
        })
        .collect()
}

fn has(st: &[(String, String, String)], host: &str, point: &str, what: &str) -> bool {
    st.iter()
        .any(|(h, p, w)| h == host && p.starts_with(point) && w.contains(what))
}

#[test]
fn vxlan_cluster_paths() {
    let t = run(SCENARIO);
    // DNS: the pod's query to kube-dns is DNATed on its node and carried in
    // VXLAN to CoreDNS on the other node.
    let d = steps(&t, "dns");
    assert!(has(
        &d,
        "kind-control-plane",
        "nat",
        "DNAT: 10.96.0.10:53 -> 10.244.1.3:53"
    ));
    assert!(has(
        &d,
        "kind-control-plane",
        "vxlan",
        "encapsulate VNI 1 in UDP 172.18.0.2:"
    ));
    assert!(has(&d, "kind-worker", "vxlan", "VNI 1"));
    let f = t.flows.iter().find(|f| f.id == "dns").unwrap();
    assert!(f.outcome.contains("-> 10.96.100.10"), "{}", f.outcome);
    // Names go through the pod's resolv.conf (kubelet's ClusterFirst:
    // search default.svc.cluster.local svc.cluster.local cluster.local,
    // ndots:5), in res_search's order, before the connection.
    assert!(
        f.outcome
            .contains("(as web.default.svc.cluster.local, query 1 of 4)"),
        "{}",
        f.outcome
    );
    let c = steps(&t, "clusterip#1");
    let pos = |what: &str| {
        c.iter()
            .position(|(_, _, w)| w.contains(what))
            .unwrap_or_else(|| panic!("no step {what:?}"))
    };
    let q1 = pos("resolver: A web.default.default.svc.cluster.local?");
    let nx = pos("A web.default.default.svc.cluster.local -> NXDOMAIN");
    let q2 = pos("resolver: A web.default.svc.cluster.local?");
    let syn = pos(
        "resolved web.default -> 10.96.100.10 (as web.default.svc.cluster.local, query 2 of 4)",
    );
    assert!(q1 < nx && nx < q2 && q2 < syn, "{q1} {nx} {q2} {syn}");
    assert!(c[syn].2.contains("to 10.96.100.10:80: SYN"));
    // NodePort from outside: kube-proxy's KUBE-EXT chain marks for
    // masquerade, KUBE-POSTROUTING masquerades.
    let n = steps(&t, "nodeport#1");
    assert!(has(&n, "kind-worker", "nat/PREROUTING", "KUBE-NODEPORTS"));
    assert!(has(
        &n,
        "kind-worker",
        "nat/PREROUTING",
        "masquerade traffic for default/web:http external destinations"
    ));
    assert!(has(
        &n,
        "kind-worker",
        "nat/POSTROUTING",
        "kubernetes service traffic requiring SNAT"
    ));
    for f in t
        .flows
        .iter()
        .filter(|f| f.id.starts_with("clusterip") || f.id.starts_with("nodeport"))
    {
        assert!(
            f.outcome.starts_with("HTTP 200 OK"),
            "{}: {}",
            f.id,
            f.outcome
        );
    }
    // Both endpoints are reached over the four connections of this seed.
    let pods: std::collections::BTreeSet<&str> = t
        .flows
        .iter()
        .filter_map(|f| {
            ["web-7c5b8d6f4-abcde", "web-7c5b8d6f4-fghij"]
                .into_iter()
                .find(|p| f.outcome.contains(p))
        })
        .collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
}

#[test]
fn host_gw_cluster_routes_via_node_addresses() {
    let text = SCENARIO.replace("cni: flannel-vxlan", "cni: flannel-host-gw");
    let t = run(&text);
    let d = steps(&t, "dns");
    assert!(has(
        &d,
        "kind-control-plane",
        "routing",
        "10.244.1.0/24 via 172.18.0.3 dev eth0"
    ));
    assert!(!d.iter().any(|(_, p, _)| p == "vxlan"));
    let f = t.flows.iter().find(|f| f.id == "dns").unwrap();
    assert!(f.outcome.contains("-> 10.96.100.10"), "{}", f.outcome);
}

#[test]
fn calico_bgp_cluster_uses_proxy_arp_and_host_routes() {
    let text = SCENARIO.replace("cni: flannel-vxlan", "cni: calico-bgp");
    let t = run(&text);
    let d = steps(&t, "dns");
    // the pod's gateway 169.254.1.1 is answered by proxy ARP on its cali veth
    assert!(d.iter().any(|(h, p, w)| h == "kind-control-plane"
        && p == "arp"
        && w.starts_with("proxy_arp on cali")
        && w.contains("169.254.1.1 is routed via eth0")));
    // the other node's block is routed via its address; no overlay
    assert!(has(
        &d,
        "kind-control-plane",
        "routing",
        "10.244.1.0/24 via 172.18.0.3 dev eth0"
    ));
    // on the far node, the /32 route to the CoreDNS pod's cali device
    assert!(d.iter().any(|(h, p, w)| h == "kind-worker"
        && p == "routing"
        && w.contains("10.244.1.3/32 dev cali")));
    // (the node network itself is a switch: its bridge steps do not count)
    assert!(!d
        .iter()
        .any(|(h, p, _)| h.starts_with("kind-") && (p == "vxlan" || p == "bridge")));
    for f in &t.flows {
        assert!(
            f.outcome.starts_with("HTTP 200 OK") || f.outcome.contains("-> 10.96.100.10"),
            "{}: {}",
            f.id,
            f.outcome
        );
    }
}

#[test]
fn expansion_is_deterministic_and_complete() {
    let doc = podpath_sim::scenario::parse(SCENARIO, "f.yaml").unwrap();
    let a = podpath_sim::scenario::expansion(&doc, "f.yaml")
        .unwrap()
        .unwrap();
    let b = podpath_sim::scenario::expansion(&doc, "f.yaml")
        .unwrap()
        .unwrap();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let cp = &a.hosts["kind-control-plane"];
    let vx = &cp.devices["flannel.1"];
    assert_eq!(vx.dev_type.as_ref().unwrap().value, "vxlan");
    assert_eq!((vx.vni, vx.port), (Some(1), Some(8472)));
    assert_eq!(vx.local.as_ref().unwrap().value, "172.18.0.2");
    assert!(
        cp.routes.iter().any(|r| r.dst.value == "10.244.1.0/24"
            && r.via.as_ref().map(|v| v.value.as_str()) == Some("10.244.1.0")
            && r.dev.as_ref().map(|d| d.value.as_str()) == Some("flannel.1")
            && r.onlink),
        "no route to kind-worker's pods over flannel.1"
    );
    let ipt = &cp.iptables.as_ref().unwrap().value;
    for want in [
        "-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully",
        "-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment \"default/web:http -> 10.244.0.7:8080\" -m statistic --mode random --probability 0.5000000000",
    ] {
        assert!(ipt.contains(want), "iptables lacks {want:?}");
    }
    let dns = a
        .hosts
        .values()
        .flat_map(|h| &h.apps)
        .find(|app| app.kind.value == "dns-server")
        .expect("a dns-server app");
    assert_eq!(
        dns.records["web.default.svc.cluster.local"].value,
        "10.96.100.10"
    );
}

fn err_of(text: &str) -> String {
    match podpath_sim::scenario::load(text, "bad.yaml", None) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn inconsistent_objects_name_object_and_field() {
    // EndpointSlice for an unknown Service
    let e = err_of(&SCENARIO.replace(
        "labels: {kubernetes.io/service-name: web}",
        "labels: {kubernetes.io/service-name: webb}",
    ));
    assert!(
        e.contains("EndpointSlice default/web-x7k2q: metadata.labels[kubernetes.io/service-name]: Service default/webb does not exist"),
        "{e}"
    );
    // Pod IP outside its node's podCIDR
    let e = err_of(&SCENARIO.replace("status: {podIP: 10.244.0.9}", "status: {podIP: 10.244.1.9}"));
    assert!(
        e.contains("Pod default/client: status.podIP: 10.244.1.9 is outside the podCIDR 10.244.0.0/24 of Node kind-control-plane"),
        "{e}"
    );
    // EndpointSlice port name that matches no Service port
    let e = err_of(&SCENARIO.replace(
        "ports: [{name: http, port: 8080, protocol: TCP}]",
        "ports: [{name: web, port: 8080, protocol: TCP}]",
    ));
    assert!(
        e.contains("EndpointSlice default/web-x7k2q: ports[0].name: 'web' matches no port of Service default/web"),
        "{e}"
    );
    // every error names the scenario file and the manifests key
    assert!(
        e.starts_with("bad.yaml:") && e.contains("cluster.manifests"),
        "{e}"
    );
    // a Node whose podCIDR is outside the cluster CIDR
    let e = err_of(&SCENARIO.replace("clusterCIDR: 10.244.0.0/16", "clusterCIDR: 10.244.0.0/24"));
    assert!(e.contains("Node kind-worker: spec.podCIDR: 10.244.1.0/24 is outside the cluster CIDR 10.244.0.0/24"), "{e}");
    // unknown CNI
    let e = err_of(&SCENARIO.replace("cni: flannel-vxlan", "cni: weave"));
    assert!(e.contains("unknown CNI 'weave'"), "{e}");
    // malformed manifests
    let e = err_of(&SCENARIO.replace("spec: {podCIDR: 10.244.1.0/24}", "spec: {podCIDR: {a: 1}}"));
    assert!(e.contains("cluster.manifests"), "{e}");
}

#[test]
fn paths_cover_every_endpoint_with_kube_proxy_probabilities() {
    // a third web endpoint: kube-proxy writes 1/3, 1/2, then the rest
    let text = SCENARIO
        .replace(
            "      - {addresses: [10.244.0.7], conditions: {ready: true}, nodeName: kind-control-plane}\n",
            "      - {addresses: [10.244.0.7], conditions: {ready: true}, nodeName: kind-control-plane}\n      - {addresses: [10.244.0.8], conditions: {ready: true}, nodeName: kind-control-plane}\n",
        )
        .replace(
            "    status: {podIP: 10.244.0.9}\n",
            "    status: {podIP: 10.244.0.9}\n    ---\n    apiVersion: v1\n    kind: Pod\n    metadata: {name: web-7c5b8d6f4-klmno, namespace: default, labels: {app: web}}\n    spec:\n      nodeName: kind-control-plane\n      containers:\n        - name: web\n          ports: [{name: http, containerPort: 8080}]\n    status: {podIP: 10.244.0.8}\n",
        );
    let make = || podpath_sim::scenario::load(&text, "f.yaml", None).unwrap();
    let paths = podpath_sim::engine::paths::enumerate(&make, "nodeport", 100).unwrap();
    assert_eq!(paths.len(), 3);
    let sum: f64 = paths.iter().map(|p| p.probability).sum();
    assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    let mut pods: Vec<&str> = paths
        .iter()
        .map(|p| {
            assert!(
                (p.probability - 1.0 / 3.0).abs() < 1e-6,
                "{}",
                p.probability
            );
            ["abcde", "fghij", "klmno"]
                .into_iter()
                .find(|x| p.outcome.contains(x))
                .unwrap_or_else(|| panic!("{}", p.outcome))
        })
        .collect();
    pods.sort();
    assert_eq!(pods, ["abcde", "fghij", "klmno"]);
    // the decisions are kube-proxy's statistic rules
    assert!(paths.iter().any(|p| p
        .decisions
        .iter()
        .any(|d| d.0.starts_with("nat/KUBE-SVC-") && d.1 == 0.3333333333)));
    // nftables mode: the same three paths, decided by the service chain's
    // `numgen random mod 3`
    let nft = text.replace("proxyMode: iptables", "proxyMode: nftables");
    let make = || podpath_sim::scenario::load(&nft, "f.yaml", None).unwrap();
    let paths = podpath_sim::engine::paths::enumerate(&make, "nodeport", 100).unwrap();
    assert_eq!(paths.len(), 3);
    for p in &paths {
        assert!(
            (p.probability - 1.0 / 3.0).abs() < 1e-6,
            "{}",
            p.probability
        );
        assert!(
            p.decisions
                .iter()
                .all(|d| d.0.starts_with("ip kube-proxy service-") && d.0.ends_with(" #2: numgen")),
            "{:?}",
            p.decisions
        );
    }
    let mut pods: Vec<&str> = paths
        .iter()
        .filter_map(|p| {
            ["abcde", "fghij", "klmno"]
                .into_iter()
                .find(|x| p.outcome.contains(x))
        })
        .collect();
    pods.sort();
    assert_eq!(pods, ["abcde", "fghij", "klmno"]);
}

/// The same objects under every CNI: the same client -> Service -> pod
/// outcomes, each with its own data-path steps on the way.
#[test]
fn same_cluster_under_every_cni() {
    let cases = [
        ("flannel-vxlan", "vxlan", "flannel.1: fdb"),
        ("flannel-host-gw", "routing", "via 172.18.0.3 dev eth0"),
        ("calico-bgp", "arp", "proxy_arp on cali"),
        (
            "calico-ipip",
            "ipip",
            "tunl0: encapsulate in IP-in-IP (protocol 4) to 172.18.0.",
        ),
        ("kindnet", "routing", "dev veth"),
    ];
    let mut outcomes = Vec::new();
    for (cni, point, what) in cases {
        let t = run(&SCENARIO.replace("cni: flannel-vxlan", &format!("cni: {cni}")));
        let o: Vec<String> = t
            .flows
            .iter()
            .map(|f| format!("{}: {}", f.id, f.outcome.split(" in ").next().unwrap_or("")))
            .collect();
        let steps: Vec<(String, String, String)> = t
            .flows
            .iter()
            .flat_map(|f| f.hops.iter())
            .flat_map(|h| {
                h.steps
                    .iter()
                    .map(move |s| (h.host.clone(), s.point.to_string(), s.what.clone()))
            })
            .collect();
        assert!(
            steps
                .iter()
                .any(|(h, p, w)| h.starts_with("kind-") && p == point && w.contains(what)),
            "{cni}: no {point} step with {what:?}"
        );
        // kube-proxy's DNAT is the same in every CNI
        assert!(
            steps
                .iter()
                .any(|(_, _, w)| w.contains("DNAT: 10.96.100.10:80 -> 10.244.")),
            "{cni}"
        );
        outcomes.push((cni, o));
    }
    for (cni, o) in &outcomes[1..] {
        assert_eq!(o, &outcomes[0].1, "{cni} vs {}", outcomes[0].0);
    }
}

fn outcomes(t: &Trace) -> Vec<String> {
    t.flows
        .iter()
        .map(|f| {
            // "HTTP 200 OK in 0.070 ms: {body}" -> "HTTP 200 OK"
            format!("{}: {}", f.id, f.outcome.split(" in ").next().unwrap_or(""))
        })
        .collect()
}

/// The same objects in kube-proxy's iptables and ipvs modes, under every
/// CNI: the same outcomes; ipvs mode shows IPVS scheduling steps and no
/// KUBE-SVC/KUBE-SEP chains.
#[test]
fn same_cluster_in_each_proxy_mode() {
    for cni in [
        "flannel-vxlan",
        "flannel-host-gw",
        "calico-bgp",
        "calico-ipip",
        "kindnet",
    ] {
        let base = SCENARIO.replace("cni: flannel-vxlan", &format!("cni: {cni}"));
        let ipt = run(&base);
        let ipvs = run(&base.replace("proxyMode: iptables", "proxyMode: ipvs"));
        assert_eq!(outcomes(&ipvs), outcomes(&ipt), "{cni}");
        for f in ["dns", "clusterip#1", "nodeport#2"] {
            let s = steps(&ipvs, f);
            assert!(
                s.iter()
                    .any(|(_, p, w)| p == "ipvs" && w.contains("virtual service")),
                "{cni}/{f}: no ipvs step"
            );
            assert!(
                !s.iter().any(|(_, _, w)| w.contains("KUBE-SVC-")),
                "{cni}/{f}: iptables-mode chains in ipvs mode"
            );
            let s = steps(&ipt, f);
            assert!(!s.iter().any(|(_, p, _)| p == "ipvs"), "{cni}/{f}");
        }
        // nftables mode: the same outcomes through the `ip kube-proxy`
        // table: the service-ips verdict map, numgen over the endpoints, the
        // endpoint chain's DNAT, and no KUBE-SVC chains
        let nft = run(&base.replace("proxyMode: iptables", "proxyMode: nftables"));
        assert_eq!(outcomes(&nft), outcomes(&ipt), "{cni} nftables");
        for f in ["dns", "clusterip#1", "nodeport#2"] {
            let s = steps(&nft, f);
            let has =
                |point: &str, what: &str| s.iter().any(|(_, p, w)| p == point && w.contains(what));
            assert!(
                has("nft/prerouting", "ip kube-proxy services #1: ip daddr . meta l4proto . th dport vmap @service-ips => goto service-")
                    || has("nft/output", "vmap @service-ips => goto service-")
                    || has("nft/prerouting", "vmap @service-nodeports => goto external-"),
                "{cni}/{f}: no service-ips/service-nodeports dispatch: {s:#?}"
            );
            assert!(
                has("nft/prerouting", "dnat to 10.244.") || has("nft/output", "dnat to 10.244."),
                "{cni}/{f}: no endpoint DNAT"
            );
            assert!(
                !s.iter().any(|(_, _, w)| w.contains("KUBE-SVC-")),
                "{cni}/{f}: iptables-mode chains in nftables mode"
            );
        }
    }
}

/// IPVS round robin takes the real servers in turn; a NodePort connection
/// is marked through the KUBE-NODE-PORT-TCP ipset and masqueraded.
#[test]
fn ipvs_round_robin_and_nodeport_masquerade() {
    let text = SCENARIO
        .replace("proxyMode: iptables", "proxyMode: ipvs")
        .replace(
            "http: {get: \"http://web.default/\"}, count: 2",
            "http: {get: \"http://web.default/\"}, count: 4",
        );
    let t = run(&text);
    let chosen: Vec<String> = t
        .flows
        .iter()
        .filter(|f| f.id.starts_with("clusterip#"))
        .flat_map(|f| f.hops.iter())
        .flat_map(|h| h.steps.iter())
        .filter(|s| {
            s.point == podpath_sim::trace::Point::Ipvs && s.what.contains("10.96.100.10:80")
        })
        .map(|s| {
            s.what
                .split("real server ")
                .nth(1)
                .and_then(|x| x.split(' ').next())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        chosen,
        [
            "10.244.0.7:8080",
            "10.244.1.5:8080",
            "10.244.0.7:8080",
            "10.244.1.5:8080"
        ],
        "one scheduling decision per connection, in turn"
    );
    let n = steps(&t, "nodeport#1");
    assert!(has(
        &n,
        "kind-worker",
        "nat/PREROUTING",
        "--match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ"
    ));
    assert!(has(
        &n,
        "kind-worker",
        "ipvs",
        "virtual service 172.18.0.3:30080 (rr)"
    ));
    assert!(has(&n, "kind-worker", "nat", "SNAT: 172.18.0.1:"));
    // the ClusterIP lives on kube-ipvs0, so routing sees a local address
    assert!(has(
        &steps(&t, "clusterip#3"),
        "kind-control-plane",
        "routing",
        "local 10.96.100.10/32 dev kube-ipvs0"
    ));
}

/// What kube-proxy's ipvs mode programs: ipvsadm -Sn and the ipsets.
#[test]
fn ipvs_state_of_a_node() {
    let text = SCENARIO.replace("proxyMode: iptables", "proxyMode: ipvs");
    let doc = podpath_sim::scenario::parse(&text, "x.yaml").expect("parse");
    let x = podpath_sim::scenario::expansion(&doc, "x.yaml")
        .expect("expand")
        .expect("cluster");
    let w = &x.hosts["kind-worker"];
    assert!(w.devices.contains_key("kube-ipvs0"), "{w:?}");
    let sets = &w.ipset.as_ref().expect("ipset").value;
    assert!(sets.contains("add KUBE-NODE-PORT-TCP 30080"));
    assert!(sets.contains("add KUBE-CLUSTER-IP 10.96.100.10,tcp:80"));
    let np = w
        .ipvs
        .iter()
        .find(|v| v.service.value == "tcp 172.18.0.3:30080")
        .expect("the NodePort's virtual service");
    assert_eq!(np.scheduler.as_ref().map(|s| s.value.as_str()), Some("rr"));
    let reals: Vec<&str> = np.reals.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(reals, ["10.244.0.7:8080", "10.244.1.5:8080"]);
}

fn dual_stack_ipvs() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/dual-stack-cluster.yaml"),
    )
    .unwrap()
    .replace("proxyMode: iptables", "proxyMode: ipvs")
}

/// IPVS for IPv6: a dual-stack cluster in ipvs mode. The IPv6 proxier's
/// virtual services (`[ADDR]:PORT`), its KUBE-6-* sets of family inet6,
/// kube-ipvs0's /128s, its ip6tables rules; every flow answered: the IPv6
/// ClusterIP and the NodePort over IPv6 scheduled by IPVS and masqueraded
/// on, web-legacy's IPv6 virtual service (no IPv6 endpoint) answering
/// ICMPv6 port unreachable so curl falls back to IPv4 at once.
#[test]
fn ipvs_for_ipv6() {
    let text = dual_stack_ipvs();
    let doc = podpath_sim::scenario::parse(&text, "x.yaml").expect("parse");
    let x = podpath_sim::scenario::expansion(&doc, "x.yaml")
        .expect("expand")
        .expect("cluster");
    let w = &x.hosts["kind-worker"];
    let sets = &w.ipset.as_ref().expect("ipset").value;
    assert!(
        sets.contains("create KUBE-6-CLUSTER-IP hash:ip,port family inet6"),
        "{sets}"
    );
    assert!(
        sets.contains("add KUBE-6-CLUSTER-IP fd00:10:96::100a,tcp:80"),
        "{sets}"
    );
    assert!(sets.contains("add KUBE-6-NODE-PORT-TCP 30080"), "{sets}");
    // the IPv4 sets stay as they were
    assert!(
        sets.contains("add KUBE-CLUSTER-IP 10.96.100.10,tcp:80"),
        "{sets}"
    );
    let vs: Vec<(&str, Vec<&str>)> = w
        .ipvs
        .iter()
        .map(|v| {
            (
                v.service.value.as_str(),
                v.reals.iter().map(|r| r.value.as_str()).collect(),
            )
        })
        .collect();
    for want in [
        ("tcp [fd00:10:96::100a]:80", vec!["[fd00:10:244:1::5]:8080"]),
        (
            "tcp [fc00:f853:ccd:e793::3]:30080",
            vec!["[fd00:10:244:1::5]:8080"],
        ),
        ("tcp [fd00:10:96::1014]:80", vec![]),
        ("tcp 10.96.100.20:80", vec!["10.244.1.5:8080"]),
    ] {
        assert!(vs.contains(&want), "{want:?} not in {vs:#?}");
    }
    let dummy = format!("{:?}", w.devices["kube-ipvs0"]);
    assert!(dummy.contains("fd00:10:96::100a/128"), "{dummy}");
    let ip6t = format!("{:?}", w.ip6tables);
    assert!(
        ip6t.contains("--match-set KUBE-6-CLUSTER-IP dst,dst -j ACCEPT"),
        "{ip6t}"
    );
    let t = run(&text);
    for f in &t.flows {
        assert!(f.disposition.answered(), "{}: {}", f.id, f.outcome);
    }
    let np = steps(&t, "nodeport-v6");
    assert!(
        has(
            &np,
            "kind-worker",
            "ipvs",
            "virtual service [fc00:f853:ccd:e793::3]:30080 (rr): real server [fd00:10:244:1::5]:8080"
        ),
        "{np:#?}"
    );
    let fb = steps(&t, "fallback-v4");
    assert!(
        has(
            &fb,
            "kind-control-plane",
            "ipvs",
            "virtual service [fd00:10:96::1014]:80 has no real server with weight > 0: ICMPv6 port unreachable"
        ),
        "{fb:#?}"
    );
}

/// kube-proxy's own IPv6 IPVS expectations (pkg/proxy/ipvs/proxier_test.go
/// `TestNodePortIPv6` "1 service with node port, has 2 endpoints" and
/// "service has node port but no endpoints", `TestIPv6Proxier` "2
/// services with Cluster IP, each with endpoints"): the IPv6 proxier's
/// virtual servers and real servers, the IPv4 slice and the IPv4 Service
/// left to the IPv4 proxier.
#[test]
fn ipvs_ipv6_proxier_matches_kube_proxys_tests() {
    let objs = |extra: &str| {
        podpath_sim::k8s::Cluster::from_text(
            &format!(
                "apiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\nstatus: {{addresses: [{{type: InternalIP, address: 100.101.102.103}}, {{type: InternalIP, address: \"2001:db8::1:1\"}}]}}\n{extra}"
            ),
            "t.yaml",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let svc = "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc1, namespace: ns1}\nspec: {type: NodePort, clusterIP: \"2020::1\", ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]}\n";
    let slices = "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}\naddressType: IPv4\nendpoints: [{addresses: [10.180.0.1]}]\nports: [{name: p80, port: 80, protocol: TCP}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc1-2, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}\naddressType: IPv6\nendpoints: [{addresses: [\"1002:ab8::2:10\"]}]\nports: [{name: p80, port: 80, protocol: TCP}]\n";
    let node6: std::net::IpAddr = "2001:db8::1:1".parse().unwrap();
    let state = |c: &podpath_sim::k8s::Cluster| {
        let mut v: Vec<(String, String, u16, Vec<String>)> =
            podpath_sim::k8s::cluster::ipvs_state_of(c, "n1", node6, true).services;
        v.sort();
        v
    };
    let s = |p: &str, a: &str, port: u16, r: &[&str]| {
        (
            p.to_string(),
            a.to_string(),
            port,
            r.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        state(&objs(&format!("{svc}{slices}"))),
        [
            s("tcp", "[2001:db8::1:1]", 3001, &["[1002:ab8::2:10]:80"]),
            s("tcp", "[2020::1]", 80, &["[1002:ab8::2:10]:80"]),
        ]
    );
    assert_eq!(
        state(&objs(svc)),
        [
            s("tcp", "[2001:db8::1:1]", 3001, &[]),
            s("tcp", "[2020::1]", 80, &[]),
        ]
    );
    let two = "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc1, namespace: ns1}\nspec: {clusterIP: 10.20.30.41, ports: [{name: p80, port: 80, protocol: TCP}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: svc2, namespace: ns2}\nspec: {clusterIP: \"1002:ab8::2:1\", ports: [{name: p8080, port: 8080, protocol: TCP}]}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}\naddressType: IPv4\nendpoints: [{addresses: [10.180.0.1]}]\nports: [{name: p80, port: 80, protocol: TCP}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc2-1, namespace: ns2, labels: {kubernetes.io/service-name: svc2}}\naddressType: IPv6\nendpoints: [{addresses: [\"1009:ab8::5:6\"]}]\nports: [{name: p8080, port: 8080, protocol: TCP}]\n";
    assert_eq!(
        state(&objs(two)),
        [s("tcp", "[1002:ab8::2:1]", 8080, &["[1009:ab8::5:6]:8080"])]
    );
}
