//! NetworkPolicy enforced by felix's generated rules: truth tables written
//! from the Kubernetes API documentation (NetworkPolicy concepts page and
//! the NetworkPolicySpec reference), in the form `from -> to : port/proto
//! -> allowed?`, each probe a real simulated connection (HTTP over TCP, a
//! DNS query over UDP) through a generated calico cluster, and each checked
//! against the spec engine (`netpol::evaluate`). SCTP probes: in
//! `reach.rs`'s truth tables, run under Calico too.

use std::net::Ipv4Addr;

use podpath_sim::engine::Engine;
use podpath_sim::k8s::netpol::{evaluate, NamedPort, Party, PodParty};
use podpath_sim::trace::{Action, Trace};

/// The cluster: namespace prod {team: a}, dev {team: b}, default; pods
/// (name, ns, node, ip, labels, ports).
const PODS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "web",
        "prod",
        "node-b",
        "10.244.1.10",
        "app: web, tier: front",
        "[{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]",
    ),
    (
        "db",
        "prod",
        "node-a",
        "10.244.0.11",
        "app: db",
        "[{name: http, containerPort: 5432}]",
    ),
    (
        "client",
        "dev",
        "node-a",
        "10.244.0.12",
        "app: client, role: tool",
        "[]",
    ),
    ("tool", "dev", "node-b", "10.244.1.13", "role: tool", "[]"),
    (
        "other",
        "default",
        "node-a",
        "10.244.0.14",
        "app: other",
        "[]",
    ),
    ("peer", "prod", "node-a", "10.244.0.15", "app: peer", "[]"),
];

fn pod(
    name: &str,
) -> &'static (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    PODS.iter().find(|p| p.0 == name).expect("pod")
}

fn manifests(policies: &str) -> String {
    let mut m = String::from(
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\nspec: {podCIDR: 10.244.0.0/24}\nstatus:\n  addresses: [{type: InternalIP, address: 172.18.0.2}]\n---\napiVersion: v1\nkind: Node\nmetadata: {name: node-b}\nspec: {podCIDR: 10.244.1.0/24}\nstatus:\n  addresses: [{type: InternalIP, address: 172.18.0.3}]\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {team: a}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dev, labels: {team: b}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: prod}\nspec:\n  clusterIP: 10.96.0.50\n  ports: [{port: 80, targetPort: 8080, protocol: TCP}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n  namespace: prod\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\nendpoints:\n  - addresses: [10.244.1.10]\n    nodeName: node-b\n    conditions: {ready: true}\nports: [{port: 8080, protocol: TCP}]\n",
    );
    for (name, ns, node, ip, labels, ports) in PODS {
        m.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{labels}}}}}\nspec:\n  nodeName: {node}\n  containers: [{{name: c, ports: {ports}}}]\nstatus: {{podIP: {ip}}}\n"
        ));
    }
    m.push_str(policies);
    m
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// One probe: from pod, to address, port, protocol, expected.
struct Probe<'a> {
    from: &'a str,
    to: &'a str,
    port: u16,
    proto: &'a str,
    allowed: bool,
}

/// Parses `from -> to : port/proto -> yes|no` lines.
fn table(t: &str) -> Vec<Probe<'_>> {
    t.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (lhs, verdict) = l.rsplit_once("->").expect("verdict");
            let (pair, pp) = lhs.split_once(':').expect("port");
            let (from, to) = pair.split_once("->").expect("pair");
            let (port, proto) = pp.trim().split_once('/').expect("proto");
            Probe {
                from: from.trim(),
                to: to.trim(),
                port: port.parse().expect("port number"),
                proto: proto.trim(),
                allowed: verdict.trim() == "yes",
            }
        })
        .collect()
}

fn scenario(cni: &str, policies: &str, probes: &[Probe]) -> String {
    let mut s = format!(
        "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {{name: netpol}}\nseed: 7\ncluster:\n  cni: {cni}\n  proxyMode: iptables\n  clusterCIDR: 10.244.0.0/16\n  nodeNetwork: 172.18.0.0/16\n  manifests: |\n{}traffic:\n",
        indent(&manifests(policies), 4)
    );
    for (i, p) in probes.iter().enumerate() {
        let to = if p.to == "svc/web" {
            "10.96.0.50".to_string()
        } else {
            pod(p.to).3.to_string()
        };
        let start = format!("{}ms", i * 5);
        if p.proto == "TCP" {
            s.push_str(&format!(
                "  - {{id: p{i}, from: {}, http: {{get: \"http://{to}:{}/\"}}, start: {start}}}\n",
                p.from, p.port
            ));
        } else {
            s.push_str(&format!(
                "  - {{id: p{i}, from: {}, dns: {{query: web.prod.svc.cluster.local, server: {to}, port: {}}}, start: {start}}}\n",
                p.from, p.port
            ));
        }
    }
    s
}

/// The spec engine's verdict for a probe (the Service's backend as the
/// post-DNAT destination).
fn spec(cluster_policies: &str, p: &Probe) -> bool {
    let c = podpath_sim::k8s::Cluster::from_text(&manifests(cluster_policies), "m.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    let ports_of = |name: &str| -> Vec<NamedPort> {
        let pp = c
            .pods
            .iter()
            .find(|x| x.metadata.name == name)
            .expect("pod");
        pp.spec
            .containers
            .iter()
            .flat_map(|k| k.ports.iter())
            .filter_map(|cp| {
                Some(NamedPort {
                    name: cp.name.clone()?,
                    port: cp.container_port,
                    protocol: cp.protocol.clone(),
                })
            })
            .collect()
    };
    let to = if p.to == "svc/web" { "web" } else { p.to };
    let port = if p.to == "svc/web" { 8080 } else { p.port };
    let mk = |name: &str| {
        let pp = c
            .pods
            .iter()
            .find(|x| x.metadata.name == name)
            .expect("pod");
        (
            pp.metadata.ns().to_string(),
            pp.metadata.labels.clone(),
            c.namespace_labels(pp.metadata.ns()),
            pp.status
                .pod_ip
                .clone()
                .unwrap_or_default()
                .parse::<Ipv4Addr>()
                .expect("ip"),
            ports_of(name),
        )
    };
    let (sns, sl, snl, sip, sports) = mk(p.from);
    let (dns, dl, dnl, dip, dports) = mk(to);
    let party = |ns: &'static str, name, l, nl, ip, ports| {
        Party::Pod(PodParty {
            namespace: ns,
            name,
            labels: l,
            namespace_labels: nl,
            ip,
            ports,
        })
    };
    let sns: &'static str = Box::leak(sns.into_boxed_str());
    let dns: &'static str = Box::leak(dns.into_boxed_str());
    let src = party(sns, p.from, &sl, &snl, sip.into(), &sports[..]);
    let dst = party(dns, to, &dl, &dnl, dip.into(), &dports[..]);
    evaluate(&c.network_policies, &src, &dst, port, p.proto).allowed()
}

fn policy_steps(t: &Trace, id: &str) -> Vec<(String, Vec<String>, Option<String>)> {
    let f = t.flows.iter().find(|f| f.id == id).expect("flow");
    f.hops
        .iter()
        .flat_map(|h| h.steps.iter())
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
}

/// Runs the table under both calico CNIs: the simulated verdict, the
/// documented one and the spec engine's must agree; a denial is traced
/// with the policies that selected the pod.
fn check(policies: &str, truth: &str) {
    let probes = table(truth);
    for p in &probes {
        assert_eq!(
            spec(policies, p),
            p.allowed,
            "spec engine: {} -> {} : {}/{}",
            p.from,
            p.to,
            p.port,
            p.proto
        );
    }
    for cni in ["calico-bgp", "calico-ipip"] {
        let text = scenario(cni, policies, &probes);
        let world = podpath_sim::scenario::load(&text, "netpol.yaml", None)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let t = Engine::new(world).run();
        for (i, p) in probes.iter().enumerate() {
            let id = format!("p{i}");
            let f = t.flows.iter().find(|f| f.id == id).expect("flow");
            let got = f.served_by.is_some();
            let steps = policy_steps(&t, &id);
            assert_eq!(
                got, p.allowed,
                "{cni}: {} -> {} : {}/{} (outcome {}; policy steps {steps:?})",
                p.from, p.to, p.port, p.proto, f.outcome
            );
            if !p.allowed {
                assert!(
                    steps
                        .iter()
                        .any(|s| s.0 == "denied" && !s.1.is_empty() && s.2.is_none()),
                    "{cni}: denial of p{i} not attributed: {steps:?}"
                );
            }
        }
    }
}

fn np(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{}",
        indent(spec, 2)
    )
}

#[test]
fn pod_selector_and_default_deny() {
    // web admits only app=db pods of its namespace on 8080
    let p = np(
        "prod",
        "web-from-db",
        "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [{podSelector: {matchLabels: {app: db}}}]\n  ports: [{port: 8080}]",
    );
    check(
        &p,
        "db -> web : 8080/TCP -> yes
         peer -> web : 8080/TCP -> no
         client -> web : 8080/TCP -> no
         db -> web : 53/UDP -> no
         web -> db : 5432/TCP -> yes",
    );
}

#[test]
fn namespace_selector_and_both_in_one_peer_vs_two_peers() {
    // one peer: pods with role=tool in namespaces team=b (AND)
    let and = np(
        "prod",
        "and",
        "podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {team: b}}\n    podSelector: {matchLabels: {app: client}}",
    );
    check(
        &and,
        "client -> web : 8080/TCP -> yes
         tool -> web : 8080/TCP -> no
         db -> web : 8080/TCP -> no",
    );
    // two peers: namespaces team=b OR pods app=db of prod
    let or = np(
        "prod",
        "or",
        "podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {team: b}}\n  - podSelector: {matchLabels: {app: db}}",
    );
    check(
        &or,
        "client -> web : 8080/TCP -> yes
         tool -> web : 8080/TCP -> yes
         db -> web : 8080/TCP -> yes
         peer -> web : 8080/TCP -> no
         other -> web : 8080/TCP -> no",
    );
}

#[test]
fn match_expressions() {
    let p = np(
        "prod",
        "exprs",
        "podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\ningress:\n- from:\n  - namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [b, c]}]}\n    podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [client]}]}\n  - namespaceSelector: {}\n    podSelector: {matchExpressions: [{key: app, operator: DoesNotExist}]}",
    );
    check(
        &p,
        "client -> web : 8080/TCP -> no
         tool -> web : 8080/TCP -> yes
         other -> web : 8080/TCP -> no
         db -> web : 8080/TCP -> no
         web -> db : 5432/TCP -> yes",
    );
}

#[test]
fn ip_block_with_except() {
    let p = np(
        "prod",
        "cidr",
        "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [{ipBlock: {cidr: 10.244.0.0/24, except: [10.244.0.12/32, 10.244.0.14/31]}}]",
    );
    check(
        &p,
        "db -> web : 8080/TCP -> yes
         client -> web : 8080/TCP -> no
         other -> web : 8080/TCP -> no
         peer -> web : 8080/TCP -> no
         tool -> web : 8080/TCP -> no",
    );
}

#[test]
fn named_ports_end_port_and_protocols() {
    let p = np(
        "prod",
        "ports",
        "podSelector: {}\ningress:\n- ports: [{port: http}]\n  from: [{namespaceSelector: {matchLabels: {team: b}}}]\n- ports: [{port: 50, endPort: 60, protocol: UDP}]",
    );
    check(
        &p,
        "client -> web : 8080/TCP -> yes
         client -> db : 5432/TCP -> yes
         other -> web : 8080/TCP -> no
         other -> web : 53/UDP -> yes
         client -> web : 53/UDP -> yes",
    );
    let narrow = np(
        "prod",
        "range",
        "podSelector: {matchLabels: {app: web}}\ningress:\n- ports: [{port: 8000, endPort: 8079}, {port: 54, protocol: UDP}]",
    );
    check(
        &narrow,
        "client -> web : 8080/TCP -> no
         client -> web : 53/UDP -> no",
    );
}

#[test]
fn policy_types_empty_and_absent_rules_union() {
    // policyTypes [Ingress] with no rules: deny all ingress; egress free
    let deny = np("prod", "deny", "podSelector: {}\npolicyTypes: [Ingress]");
    check(
        &deny,
        "client -> web : 8080/TCP -> no
         web -> db : 5432/TCP -> no
         db -> web : 53/UDP -> no",
    );
    // ingress: [{}] allows all; egress rules present, policyTypes inferred
    // Ingress+Egress: egress only to prod
    let both = np(
        "dev",
        "both",
        "podSelector: {}\ningress: [{}]\negress: [{to: [{namespaceSelector: {matchLabels: {team: a}}}]}]",
    );
    check(
        &both,
        "client -> web : 8080/TCP -> yes
         client -> other : 80/TCP -> no
         tool -> db : 5432/TCP -> yes",
    );
    // two policies on one pod: the union of their rules
    let union = format!(
        "{}{}",
        np("prod", "a-from-db", "podSelector: {matchLabels: {app: web}}\ningress: [{from: [{podSelector: {matchLabels: {app: db}}}]}]"),
        np("prod", "b-from-dev", "podSelector: {matchLabels: {app: web}}\ningress: [{from: [{namespaceSelector: {matchLabels: {team: b}}}]}]"),
    );
    check(
        &union,
        "db -> web : 8080/TCP -> yes
         tool -> web : 8080/TCP -> yes
         peer -> web : 8080/TCP -> no",
    );
}

#[test]
fn egress_on_the_post_dnat_destination() {
    // client may reach prod's web pods on 8080 only: reaching the Service
    // (10.96.0.50:80) works, as felix sees the DNATed packet in FORWARD
    let p = np(
        "dev",
        "to-web",
        "podSelector: {matchLabels: {app: client}}\npolicyTypes: [Egress]\negress:\n- to: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: web}}}]\n  ports: [{port: 8080}]",
    );
    check(
        &p,
        "client -> svc/web : 80/TCP -> yes
         client -> web : 8080/TCP -> yes
         client -> db : 5432/TCP -> no
         tool -> db : 5432/TCP -> yes",
    );
}

#[test]
fn generated_rules_are_felix_layout_and_allowed_steps_name_the_rule() {
    let p = np(
        "prod",
        "web-from-db",
        "podSelector: {matchLabels: {app: web}}\ningress:\n- from: [{podSelector: {matchLabels: {app: db}}}]\n  ports: [{port: 8080}]",
    );
    let probes = table("db -> web : 8080/TCP -> yes");
    let text = scenario("calico-bgp", &p, &probes);
    let sdoc = podpath_sim::scenario::parse(&text, "netpol.yaml").unwrap_or_else(|e| panic!("{e}"));
    let doc = podpath_sim::scenario::expansion(&sdoc, "netpol.yaml")
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("cluster");
    let ipt = doc.hosts["node-b"]
        .iptables
        .as_ref()
        .expect("iptables")
        .value
        .to_string();
    for want in [
        ":cali-pi-knp/prod/web-from-db - [0:0]",
        "-A FORWARD -m comment --comment \"cali:wUHhoiAYhphO9Mso\" -j cali-FORWARD",
        "-m comment --comment \"End of tier default. Drop if no policies passed packet\" -m mark --mark 0x0/0x20000 -j DROP",
        "-m comment --comment \"KubernetesNetworkPolicy prod/web-from-db ingress\"",
        ":cali-pri-kns.prod - [0:0]",
        ":cali-pri-ksa.prod.default - [0:0]",
    ] {
        assert!(ipt.contains(want), "missing {want} in\n{ipt}");
    }
    let sets = doc.hosts["node-b"]
        .ipset
        .as_ref()
        .expect("ipset")
        .value
        .clone();
    assert!(
        sets.contains("hash:net family inet") && sets.contains("add cali40s:"),
        "{sets}"
    );
    assert!(sets.contains(" 10.244.0.11\n"), "{sets}");
    // everything podpath reads of felix's output it evaluates
    for node in ["node-a", "node-b"] {
        let h = &doc.hosts[node];
        let t = h.iptables.as_ref().expect("iptables").value.to_string();
        let rs = podpath_sim::net::netfilter::iptables::Ruleset::parse(&t, node).expect("parses");
        assert!(rs.unmodelled.is_empty(), "{node}: {:?}", rs.unmodelled);
        let st = podpath_sim::net::netfilter::ipset::IpsetStore::parse(
            &h.ipset.as_ref().expect("ipset").value,
            node,
        )
        .expect("ipset parses");
        assert!(st.unmodelled.is_empty(), "{node}: {:?}", st.unmodelled);
    }
    let world =
        podpath_sim::scenario::load(&text, "netpol.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    let t = Engine::new(world).run();
    let steps = policy_steps(&t, "p0");
    assert!(
        steps
            .iter()
            .any(|s| s.0 == "allowed" && s.2.as_deref() == Some("prod/web-from-db ingress[0]")),
        "{steps:?}"
    );
}

#[test]
fn egress_named_ports_resolve_on_the_destination_pod() {
    // "http" is 8080 on web and 5432 on db; other declares no port of
    // that name; a numeric and a named port in one rule (felix's port
    // block)
    let p = np(
        "dev",
        "named-egress",
        "podSelector: {matchLabels: {app: client}}\npolicyTypes: [Egress]\negress:\n- ports: [{port: http}, {port: 9999}, {port: 53, protocol: UDP}]",
    );
    check(
        &p,
        "client -> web : 8080/TCP -> yes
         client -> db : 5432/TCP -> yes
         client -> svc/web : 80/TCP -> yes
         client -> web : 53/UDP -> yes
         client -> other : 8080/TCP -> no",
    );
}
