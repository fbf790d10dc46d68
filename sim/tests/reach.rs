//! `podpath reach`'s engines on truth tables written from the
//! NetworkPolicy API documentation (kubernetes.io concepts/services-
//! networking/network-policies and the NetworkPolicySpec reference), each
//! line `from → to : port/proto → allowed|denied`: the spec engine must
//! give every line; on flannel (no enforcement) the sim engine must find
//! everything reachable. [`check_case`] takes the CNI, so the same cases
//! run under a CNI that enforces policies (the sim engine then must give
//! the lines too, and `compare` must find no disagreement).
//!
//! Also: kubectl's label-selector syntax, `--from`/`--to`/`--port`
//! selection, shards merged back to the unsharded report, the same bytes
//! with one thread and two, and the flannel warning.

use podpath_sim::k8s::reach::model::{EngineKind, Report, Verdict};
use podpath_sim::k8s::reach::select::{parse_labels, parse_port, parse_selector, Selector};
use podpath_sim::k8s::reach::{self, output, Options, Setup};

/// Two nodes; namespaces x (team=x) and y (team=y); pods x/a (app=a,
/// tier=web, on node-a 10.244.0.10), x/b (app=b, node-b 10.244.1.10),
/// y/a (app=a, node-b 10.244.1.11), y/c (app=c, node-a 10.244.0.12); every
/// pod declares 80/TCP `http`, 81/TCP `alt`, 82/UDP `udp-p`, 83/SCTP
/// `sctp-p`; Service x/web
/// 8080 -> x/b:80.
const BASE: &str = "    apiVersion: v1
    kind: Node
    metadata: {name: node-a}
    spec: {podCIDR: 10.244.0.0/24}
    status: {addresses: [{type: InternalIP, address: 172.18.0.2}]}
    ---
    apiVersion: v1
    kind: Node
    metadata: {name: node-b}
    spec: {podCIDR: 10.244.1.0/24}
    status: {addresses: [{type: InternalIP, address: 172.18.0.3}]}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: x, labels: {team: x}}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: y, labels: {team: y}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: a, namespace: x, labels: {app: a, tier: web}}
    spec: {nodeName: node-a, containers: [{name: c, ports: [{name: http, containerPort: 80}, {name: alt, containerPort: 81}, {name: udp-p, containerPort: 82, protocol: UDP}, {name: sctp-p, containerPort: 83, protocol: SCTP}]}]}
    status: {podIP: 10.244.0.10}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: b, namespace: x, labels: {app: b}}
    spec: {nodeName: node-b, containers: [{name: c, ports: [{name: http, containerPort: 80}, {name: alt, containerPort: 81}, {name: udp-p, containerPort: 82, protocol: UDP}, {name: sctp-p, containerPort: 83, protocol: SCTP}]}]}
    status: {podIP: 10.244.1.10}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: a, namespace: y, labels: {app: a}}
    spec: {nodeName: node-b, containers: [{name: c, ports: [{name: http, containerPort: 80}, {name: alt, containerPort: 81}, {name: udp-p, containerPort: 82, protocol: UDP}, {name: sctp-p, containerPort: 83, protocol: SCTP}]}]}
    status: {podIP: 10.244.1.11}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: c, namespace: y, labels: {app: c}}
    spec: {nodeName: node-a, containers: [{name: c, ports: [{name: http, containerPort: 80}, {name: alt, containerPort: 81}, {name: udp-p, containerPort: 82, protocol: UDP}, {name: sctp-p, containerPort: 83, protocol: SCTP}]}]}
    status: {podIP: 10.244.0.12}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: x}
    spec: {clusterIP: 10.96.0.20, selector: {app: b}, ports: [{name: http, port: 8080, targetPort: 80}]}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: web-1, namespace: x, labels: {kubernetes.io/service-name: web}}
    addressType: IPv4
    endpoints: [{addresses: [10.244.1.10], nodeName: node-b}]
    ports: [{name: http, port: 80}]
";

/// The scenario of the base cluster with `policies` (YAML documents, each
/// indented by 4) under `cni`.
fn scenario(cni: &str, policies: &str) -> String {
    let mut m = BASE.to_string();
    for doc in policies.split("---\n").filter(|d| !d.trim().is_empty()) {
        m.push_str("    ---\n");
        for l in doc.lines() {
            m.push_str("    ");
            m.push_str(l);
            m.push('\n');
        }
    }
    format!(
        "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {{name: reach-case}}\nseed: 1\ncluster:\n  cni: {cni}\n  proxyMode: iptables\n  clusterCIDR: 10.244.0.0/16\n  nodeNetwork: 172.18.0.0/16\n  manifests: |\n{m}"
    )
}

fn setup(text: &str) -> Setup {
    let doc = podpath_sim::scenario::parse(text, "case.yaml").unwrap();
    let (cluster, net) =
        podpath_sim::scenario::cluster_of(doc.cluster.as_ref().unwrap(), "case.yaml").unwrap();
    let world =
        podpath_sim::scenario::load(text, "case.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Setup::new(&cluster, &net, Some(world))
}

/// `from → to : port/proto → allowed|denied`, one a line.
fn lines(table: &str) -> Vec<(String, String, String, Verdict)> {
    table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (probe, v) = l.rsplit_once('→').unwrap();
            let (ends, port) = probe.split_once(':').unwrap();
            let (from, to) = ends.split_once('→').unwrap();
            let v = match v.trim() {
                "allowed" => Verdict::Allowed,
                "denied" => Verdict::Denied,
                x => panic!("{x}"),
            };
            (from.trim().into(), to.trim().into(), port.trim().into(), v)
        })
        .collect()
}

fn verdict_of(r: &Report, from: &str, to: &str, port: &str) -> Verdict {
    r.probes
        .iter()
        .find(|p| {
            p.from == from && p.to == to && format!("{}/{}", p.port, p.protocol.name()) == port
        })
        .unwrap_or_else(|| panic!("no probe {from} → {to} : {port}"))
        .verdict
}

/// Checks every line of `table` for the policies under `cni` with the
/// spec engine, and with the sim engine: on flannel every line's probe
/// is allowed; elsewhere it gives the table's verdict and `compare` finds
/// no disagreement.
fn check_case(name: &str, cni: &str, policies: &str, table: &str) {
    let s = setup(&scenario(cni, policies));
    let want = lines(table);
    let spec = reach::run(&s, &Options::default(), EngineKind::Spec).unwrap();
    for (f, t, p, v) in &want {
        assert_eq!(
            verdict_of(&spec, f, t, p),
            *v,
            "{name}: spec: {f} → {t} : {p}"
        );
    }
    // the sim engine on the lines' sources and destinations only
    let mut o = Options::default();
    for (f, t, p, _) in &want {
        o.from.push(parse_selector(f).unwrap());
        o.to.push(parse_selector(t).unwrap());
        o.ports.push(parse_port(p).unwrap());
    }
    let sim = reach::run(&s, &o, EngineKind::Sim).unwrap();
    for (f, t, p, v) in &want {
        let got = verdict_of(&sim, f, t, p);
        if cni.starts_with("flannel") {
            assert_eq!(
                got,
                Verdict::Allowed,
                "{name}: sim on flannel: {f} → {t} : {p}"
            );
        } else {
            assert_eq!(got, *v, "{name}: sim under {cni}: {f} → {t} : {p}");
        }
    }
    if !cni.starts_with("flannel") {
        let c = reach::compare(&s, &o).unwrap();
        assert!(c.disagreements.is_empty(), "{name}: {c:?}");
    }
}

/// The cases, each (name, policies, truth table).
const CASES: &[(&str, &str, &str)] = &[
        (
            "default deny ingress in x: x's pods take nothing, y is open, egress is free",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
",
            "x/a → x/b : 80/TCP → denied
             y/a → x/a : 82/UDP → denied
             y/a → x/a : 83/SCTP → denied
             y/a → y/c : 80/TCP → allowed
             y/a → y/c : 83/SCTP → allowed
             x/b → y/a : 80/TCP → allowed
             x/a → x/a : 80/TCP → allowed",
        ),
        (
            "a podSelector peer alone: pods of the policy's own namespace",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]
",
            "x/a → x/b : 80/TCP → allowed
             y/a → x/b : 80/TCP → denied
             y/c → x/b : 80/TCP → denied
             y/c → x/a : 80/TCP → allowed",
        ),
        (
            "a namespaceSelector peer: every pod of those namespaces",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: y}}}]}]
",
            "y/a → x/b : 80/TCP → allowed
             y/c → x/b : 81/TCP → allowed
             x/a → x/b : 80/TCP → denied",
        ),
        (
            "namespaceSelector and podSelector in one peer: AND",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: and, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: y}}, podSelector: {matchLabels: {app: a}}}]
",
            "y/a → x/b : 80/TCP → allowed
             y/c → x/b : 80/TCP → denied
             x/a → x/b : 80/TCP → denied",
        ),
        (
            "namespaceSelector and podSelector as two peers: OR",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: or, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: y}}}, {podSelector: {matchLabels: {app: a}}}]
",
            "y/a → x/b : 80/TCP → allowed
             y/c → x/b : 80/TCP → allowed
             x/a → x/b : 80/TCP → allowed",
        ),
        (
            "matchExpressions: In over all namespaces, Exists, DoesNotExist",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: in, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: app, operator: In, values: [a, c]}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: tier, namespace: y}
spec:
  podSelector: {matchExpressions: [{key: tier, operator: DoesNotExist}]}
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: tier, operator: Exists}]}}]
",
            "x/a → x/b : 80/TCP → allowed
             y/a → x/b : 80/TCP → allowed
             y/c → x/b : 80/TCP → allowed
             x/a → y/c : 80/TCP → allowed
             x/b → y/c : 80/TCP → denied
             y/a → y/c : 80/TCP → denied",
        ),
        (
            "NotIn holds for a pod without the key",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: notin, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [web]}]}}]
",
            "x/b → x/a : 80/TCP → allowed
             y/c → x/a : 80/TCP → allowed",
        ),
        (
            "ipBlock with except (pod addresses are in blocks too)",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: block, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from: [{ipBlock: {cidr: 10.244.1.0/24, except: [10.244.1.11/32]}}]
",
            "x/b → x/a : 80/TCP → allowed
             y/a → x/a : 80/TCP → denied
             y/c → x/a : 80/TCP → denied",
        ),
        (
            "a named port resolves to the destination pod's containerPort",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{ports: [{port: alt}]}]
",
            "y/a → x/b : 81/TCP → allowed
             y/a → x/b : 80/TCP → denied
             y/a → x/b : 82/UDP → denied",
        ),
        (
            "endPort: a range; a port's protocol defaults to TCP",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: range, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{ports: [{port: 80, endPort: 82}]}]
",
            "y/a → x/b : 80/TCP → allowed
             y/a → x/b : 81/TCP → allowed
             y/a → x/b : 82/UDP → denied",
        ),
        (
            "a UDP port",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: udp, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{ports: [{protocol: UDP, port: 82}]}]
",
            "y/a → x/b : 82/UDP → allowed
             y/a → x/b : 83/SCTP → denied
             y/a → x/b : 80/TCP → denied",
        ),
        (
            "an SCTP port by name: SCTP is its own protocol (not TCP's, not UDP's)",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: sctp, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{ports: [{protocol: SCTP, port: sctp-p}]}]
",
            "y/a → x/b : 83/SCTP → allowed
             x/a → x/b : 83/SCTP → allowed
             y/a → x/b : 82/UDP → denied
             y/a → x/b : 80/TCP → denied
             y/a → x/a : 83/SCTP → allowed",
        ),
        (
            "policyTypes omitted with egress rules: Ingress and Egress (no ingress rule: ingress isolated)",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-to-x, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}}
  egress: [{to: [{namespaceSelector: {matchLabels: {team: x}}}]}]
",
            "y/a → x/b : 80/TCP → allowed
             y/a → y/c : 80/TCP → denied
             x/a → y/a : 80/TCP → denied
             y/c → x/a : 80/TCP → allowed",
        ),
        (
            "an empty rule admits everything; no rules (or ingress: []) admit nothing",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: closed, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: []
",
            "y/c → x/a : 80/TCP → allowed
             y/c → x/a : 82/UDP → allowed
             y/c → x/b : 80/TCP → denied
             x/a → x/b : 81/TCP → denied",
        ),
        (
            "several policies selecting a pod: the union of their rules",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: alt-for-all, namespace: x}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 81}]}]
",
            "x/a → x/b : 80/TCP → allowed
             y/c → x/b : 80/TCP → denied
             y/c → x/b : 81/TCP → allowed
             y/c → x/a : 80/TCP → denied",
        ),
        (
            "egress is evaluated on the post-DNAT destination (the pod behind the Service, its port)",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-to-b, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {team: x}}, podSelector: {matchLabels: {app: b}}}]
    ports: [{port: 80}]
",
            "y/a → svc/x/web : 8080/TCP → allowed
             y/a → x/b : 80/TCP → allowed
             y/a → x/b : 81/TCP → denied
             y/a → x/a : 80/TCP → denied
             y/c → svc/x/web : 8080/TCP → allowed",
        ),
        (
            "a named port resolves per destination pod: http is 80 on x/b, 8080 on x/d (where 80 is alt); UDP names too",
            "apiVersion: v1
kind: Pod
metadata: {name: d, namespace: x, labels: {app: d}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: alt, containerPort: 80}, {name: udp-p, containerPort: 9000, protocol: UDP}]}]}
status: {podIP: 10.244.0.13}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named-http, namespace: x}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [b, d]}]}
  ingress: [{ports: [{port: http}, {protocol: UDP, port: udp-p}]}]
",
            "y/a → x/b : 80/TCP → allowed
             y/a → x/b : 81/TCP → denied
             y/a → x/b : 82/UDP → allowed
             y/a → x/d : 8080/TCP → allowed
             y/a → x/d : 80/TCP → denied
             y/a → x/d : 9000/UDP → allowed
             y/c → x/a : 80/TCP → allowed",
        ),
        (
            "a named egress port resolves on the destination pod",
            "apiVersion: v1
kind: Pod
metadata: {name: d, namespace: x, labels: {app: d}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: alt, containerPort: 80}]}]}
status: {podIP: 10.244.0.13}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-http, namespace: y}
spec:
  podSelector: {matchLabels: {app: c}}
  policyTypes: [Egress]
  egress: [{ports: [{port: http}]}]
",
            "y/c → x/d : 8080/TCP → allowed
             y/c → x/d : 80/TCP → denied
             y/c → x/b : 80/TCP → allowed
             y/c → x/b : 81/TCP → denied
             y/a → x/d : 80/TCP → allowed",
        ),
        (
            "from: [] matches every source; ports: [] every port",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: any-source, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [], ports: [{port: 81}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: any-port, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {matchLabels: {app: b}}}], ports: []}]
",
            "y/c → x/b : 81/TCP → allowed
             x/a → x/b : 81/TCP → allowed
             y/c → x/b : 80/TCP → denied
             x/b → x/a : 80/TCP → allowed
             x/b → x/a : 82/UDP → allowed
             y/c → x/a : 80/TCP → denied",
        ),
        (
            "policyTypes omitted with ingress rules only (or no rules): Ingress alone, egress stays free",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-c, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {matchLabels: {app: c}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: nothing, namespace: y}
spec:
  podSelector: {matchLabels: {app: c}}
",
            "y/c → y/a : 80/TCP → allowed
             x/a → y/a : 80/TCP → denied
             y/a → x/b : 80/TCP → allowed
             y/a → y/c : 80/TCP → denied
             y/c → x/b : 80/TCP → allowed
             y/c → svc/x/web : 8080/TCP → allowed",
        ),
        (
            "default deny egress (egress absent, and egress: []): ingress stays open",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: x}
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: empty-egress, namespace: y}
spec: {podSelector: {matchLabels: {app: c}}, policyTypes: [Egress], egress: []}
",
            "x/a → x/b : 80/TCP → denied
             x/b → y/a : 80/TCP → denied
             x/b → y/a : 82/UDP → denied
             x/a → svc/x/web : 8080/TCP → denied
             y/a → x/b : 80/TCP → allowed
             y/a → svc/x/web : 8080/TCP → allowed
             y/c → x/a : 80/TCP → denied
             y/a → y/c : 80/TCP → allowed",
        ),
        (
            "an egress ipBlock with except, on the post-DNAT address (the ClusterIP is outside the block)",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: to-block, namespace: y}
spec:
  podSelector: {matchLabels: {app: c}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.244.1.0/24, except: [10.244.1.11/32]}}]}]
",
            "y/c → x/b : 80/TCP → allowed
             y/c → x/b : 82/UDP → allowed
             y/c → svc/x/web : 8080/TCP → allowed
             y/c → y/a : 80/TCP → denied
             y/c → x/a : 80/TCP → denied",
        ),
        (
            "through a Service: egress to a pod other than the endpoint is denied; ingress judges the client",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: to-x-a, namespace: y}
spec:
  podSelector: {matchLabels: {app: c}}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {matchLabels: {team: x}}, podSelector: {matchLabels: {app: a}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: y}}}], ports: [{port: 80}]}]
",
            "y/c → svc/x/web : 8080/TCP → denied
             y/c → x/a : 80/TCP → allowed
             y/a → svc/x/web : 8080/TCP → allowed
             x/a → svc/x/web : 8080/TCP → denied
             y/a → x/b : 81/TCP → denied",
        ),
        (
            "NotIn excludes a pod with the value; namespace matchExpressions; the kubernetes.io/metadata.name label",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: not-web, namespace: y}
spec:
  podSelector: {matchLabels: {app: c}}
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [web]}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: not-x, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [x]}]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-ns-x, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}}]
",
            "x/a → y/c : 80/TCP → denied
             x/b → y/c : 80/TCP → allowed
             y/a → y/c : 80/TCP → allowed
             y/a → x/b : 80/TCP → allowed
             x/a → x/b : 80/TCP → denied
             x/b → y/a : 80/TCP → allowed
             y/c → y/a : 80/TCP → denied",
        ),
        (
            "endPort on UDP; an egress range",
            "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: udp-range, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{ports: [{protocol: UDP, port: 80, endPort: 90}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-range, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Egress]
  egress: [{ports: [{port: 79, endPort: 80}]}]
",
            "y/c → x/b : 82/UDP → allowed
             y/c → x/b : 83/SCTP → denied
             y/c → x/b : 80/TCP → denied
             y/a → x/a : 80/TCP → allowed
             y/a → x/a : 83/SCTP → denied
             y/a → x/a : 81/TCP → denied
             y/a → x/a : 82/UDP → denied",
        ),
];

#[test]
fn truth_tables_spec_engine_and_flannel() {
    for &(name, policies, table) in CASES {
        check_case(name, "flannel-host-gw", policies, table);
    }
}

/// The same truth tables (24 cases, 108 lines) where the CNI enforces them: felix's rules
/// (calico-bgp) and kube-network-policies (kindnet); every line must hold
/// for the simulated connection and `compare` find no disagreement.
#[test]
fn truth_tables_under_calico() {
    for &(name, policies, table) in CASES {
        check_case(name, "calico-bgp", policies, table);
    }
}

#[test]
fn truth_tables_under_calico_ipip() {
    for &(name, policies, table) in CASES {
        check_case(name, "calico-ipip", policies, table);
    }
}

#[test]
fn truth_tables_under_kindnet() {
    for &(name, policies, table) in CASES {
        check_case(name, "kindnet", policies, table);
    }
}

#[test]
fn flannel_warns_that_policies_have_no_effect_and_compare_lists_them() {
    let (_, policies, _) = CASES[0];
    let s = setup(&scenario("flannel-vxlan", policies));
    let o = Options {
        to: vec![parse_selector("x/b").unwrap()],
        ports: vec![parse_port("80/TCP").unwrap()],
        ..Default::default()
    };
    let sim = reach::run(&s, &o, EngineKind::Sim).unwrap();
    assert!(sim.warnings[0].contains("no effect"), "{:?}", sim.warnings);
    assert!(sim.probes.iter().all(|p| p.verdict == Verdict::Allowed));
    let c = reach::compare(&s, &o).unwrap();
    assert!(c.warnings[0].contains("flannel-vxlan"));
    // x/b itself is allowed by both (its own lo); the other three differ
    let d: Vec<(String, Verdict, Verdict)> = c
        .disagreements
        .iter()
        .map(|d| (d.from.clone(), d.sim.verdict, d.spec.verdict))
        .collect();
    assert_eq!(
        d,
        vec![
            ("x/a".into(), Verdict::Allowed, Verdict::Denied),
            ("y/a".into(), Verdict::Allowed, Verdict::Denied),
            ("y/c".into(), Verdict::Allowed, Verdict::Denied),
        ]
    );
    assert_eq!(
        c.disagreements[0].spec.decided_by.policy.as_deref(),
        Some("x/deny")
    );
    let text = output::comparison_text(&c);
    assert!(
        text.contains("4 probe(s) compared, 3 disagreement(s)"),
        "{text}"
    );
}

#[test]
fn kubectl_label_selectors() {
    let l = |kv: &[(&str, &str)]| {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let m = |sel: &str, labels| {
        parse_labels(sel)
            .unwrap_or_else(|e| panic!("{sel}: {e}"))
            .iter()
            .all(|r| r.matches(labels))
    };
    let web = l(&[("app", "web"), ("tier", "a"), ("n", "5")]);
    let db = l(&[("app", "db")]);
    // selector.go's own TestSelectorMatches-style cases
    assert!(m("app=web", &web) && !m("app=web", &db));
    assert!(m("app==web", &web));
    assert!(m("app!=web", &db) && !m("app!=web", &web));
    assert!(m("tier!=b", &db), "!= holds without the key");
    assert!(m("app=web,tier in (a,b)", &web));
    assert!(!m("app=web,tier in (b,c)", &web));
    assert!(m("tier notin (b)", &db), "notin holds without the key");
    assert!(m("tier", &web) && !m("tier", &db));
    assert!(m("!tier", &db) && !m("!tier", &web));
    assert!(m("n>4", &web) && !m("n>5", &web) && m("n<6", &web) && !m("n>4", &db));
    assert!(
        m("  app = web , tier in ( a ) ", &web),
        "whitespace is skipped"
    );
    assert!(m("", &db), "the empty selector selects everything");
    for bad in [
        "app=web,",
        "app in ()",
        "app in a",
        "x>y",
        "app=we b",
        "=web",
        "a b",
    ] {
        assert!(parse_labels(bad).is_err(), "{bad} must be refused");
    }
    assert_eq!(
        parse_labels("app=web,").unwrap_err(),
        "found end of string, expected: identifier after ','"
    );
}

#[test]
fn selectors_pick_sources_destinations_and_ports() {
    assert_eq!(
        parse_selector("x/a").unwrap(),
        Selector::Pod {
            namespace: "x".into(),
            name: "a".into()
        }
    );
    assert_eq!(
        parse_selector("y/*").unwrap(),
        Selector::Namespace("y".into())
    );
    assert!(matches!(
        parse_selector("svc/x/web").unwrap(),
        Selector::Service { .. }
    ));
    assert!(matches!(
        parse_selector("app=a").unwrap(),
        Selector::Labels(_)
    ));
    assert!(matches!(
        parse_selector(" example.com/k").unwrap(),
        Selector::Labels(_)
    ));
    let s = setup(&scenario("flannel-host-gw", ""));
    let run = |from: &[&str], to: &[&str], ports: &[&str]| {
        let o = Options {
            from: from.iter().map(|x| parse_selector(x).unwrap()).collect(),
            to: to.iter().map(|x| parse_selector(x).unwrap()).collect(),
            ports: ports.iter().map(|x| parse_port(x).unwrap()).collect(),
            families: Vec::new(),
            shard: None,
        };
        reach::run(&s, &o, EngineKind::Spec)
            .unwrap()
            .probes
            .iter()
            .map(|p| format!("{} {} {}/{}", p.from, p.to, p.port, p.protocol.name()))
            .collect::<Vec<_>>()
    };
    // every pod × every pod's 4 ports + the Service's port
    assert_eq!(run(&[], &[], &[]).len(), 4 * (4 * 4 + 1));
    assert_eq!(
        run(&["app=a"], &["y/*"], &["80/TCP"]),
        [
            "x/a y/a 80/TCP",
            "x/a y/c 80/TCP",
            "y/a y/a 80/TCP",
            "y/a y/c 80/TCP"
        ]
    );
    assert_eq!(
        run(&["app=a,tier"], &["svc/x/*", "x/b"], &["8080", "82/udp"]),
        ["x/a x/b 82/UDP", "x/a svc/x/web 8080/TCP"]
    );
    let bad = |from: &str| {
        let o = Options {
            from: vec![parse_selector(from).unwrap()],
            ..Default::default()
        };
        reach::run(&s, &o, EngineKind::Spec)
            .unwrap_err()
            .to_string()
    };
    assert!(bad("x/nope").contains("selects no pod"));
    assert!(bad("svc/x/web").contains("not a source"));
    assert!(parse_port("0/TCP").is_err() && parse_port("80/ICMP").is_err());
    // SCTP: both engines probe it (a port no pod declares selects none)
    let o = Options {
        ports: vec![parse_port("83/SCTP").unwrap()],
        ..Default::default()
    };
    let sim = reach::run(&s, &o, EngineKind::Sim).unwrap();
    let spec = reach::run(&s, &o, EngineKind::Spec).unwrap();
    assert_eq!(sim.probes.len(), spec.probes.len());
    assert!(sim.probes.len() >= 16, "{}", sim.probes.len());
}

#[test]
fn shards_merge_into_the_unsharded_report_for_both_engines() {
    let (_, policies, _) = CASES[14];
    let s = setup(&scenario("flannel-host-gw", policies));
    for (engine, ports) in [
        (EngineKind::Spec, vec![]),
        (EngineKind::Sim, vec!["80/TCP", "8080/TCP"]),
    ] {
        let base = Options {
            ports: ports.iter().map(|p| parse_port(p).unwrap()).collect(),
            ..Default::default()
        };
        let whole = reach::run(&s, &base, engine).unwrap();
        for n in [1, 3, 5] {
            let mut parts: Vec<Report> = (1..=n)
                .map(|i| {
                    let o = Options {
                        shard: Some((i, n)),
                        ..base.clone()
                    };
                    let r = reach::run(&s, &o, engine).unwrap();
                    // through JSON, as files are merged
                    serde_json::from_str(&output::json(&r)).unwrap()
                })
                .collect();
            parts.reverse();
            let merged = output::merge(parts.clone()).unwrap();
            assert_eq!(output::json(&merged), output::json(&whole), "{n} shards");
            parts.pop();
            if n > 1 {
                assert!(output::merge(parts).is_err(), "a missing shard is refused");
            }
        }
    }
}

#[test]
fn the_same_bytes_with_one_thread_and_two() {
    let (_, policies, _) = CASES[14];
    let s = setup(&scenario("flannel-vxlan", policies));
    let o = Options::default();
    let with = |n: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap();
        pool.install(|| {
            (
                output::json(&reach::run(&s, &o, EngineKind::Sim).unwrap()),
                output::json(&reach::run(&s, &o, EngineKind::Spec).unwrap()),
            )
        })
    };
    assert_eq!(with(1), with(2));
}

/// The shipped netpol scenarios: the same pods and policies under kindnet
/// (kube-network-policies), Calico (felix) and flannel (none). The full
/// default matrix (every pod to every pod's containerPorts and every
/// Service port) is the same under kindnet and Calico, and equals the spec
/// engine's; under flannel every probe is allowed and the report warns.
#[test]
fn netpol_scenarios_give_the_same_matrix_under_kindnet_and_calico() {
    let matrix = |r: &Report| {
        r.probes
            .iter()
            .map(|p| {
                format!(
                    "{} → {} : {}/{} → {:?}",
                    p.from,
                    p.to,
                    p.port,
                    p.protocol.name(),
                    p.verdict
                )
            })
            .collect::<Vec<_>>()
    };
    let run = |text: &str, e: EngineKind| {
        reach::run(&setup(text), &Options::default(), e).unwrap_or_else(|e| panic!("{e}"))
    };
    let kindnet = run(
        include_str!("../../scenarios/netpol-kindnet.yaml"),
        EngineKind::Sim,
    );
    let calico_text = include_str!("../../scenarios/netpol-calico.yaml");
    let calico = run(calico_text, EngineKind::Sim);
    let spec = run(calico_text, EngineKind::Spec);
    let m = matrix(&kindnet);
    assert!(m.len() >= 20, "{m:?}");
    assert!(
        m.iter().any(|l| l.ends_with("Allowed")) && m.iter().any(|l| l.ends_with("Denied")),
        "{m:?}"
    );
    assert_eq!(m, matrix(&calico));
    assert_eq!(m, matrix(&spec));
    assert!(kindnet.warnings.is_empty() && calico.warnings.is_empty());
    let s = setup(include_str!("../../scenarios/netpol-calico.yaml"));
    let c = reach::compare(&s, &Options::default()).unwrap();
    assert!(c.disagreements.is_empty(), "{c:?}");
    let flannel = run(
        include_str!("../../scenarios/netpol-flannel-ignored.yaml"),
        EngineKind::Sim,
    );
    assert_eq!(flannel.probes.len(), m.len());
    assert!(flannel.probes.iter().all(|p| p.verdict == Verdict::Allowed));
    assert!(
        flannel.warnings[0].contains("4 NetworkPolicies have no effect"),
        "{:?}",
        flannel.warnings
    );
}

/// More cases from the same documentation, each (name, policies, truth
/// table): both ends of a connection must allow it, a rule's peers and
/// ports as any peer × any port, matchLabels AND matchExpressions, a
/// selector that selects no pod, an egress ipBlock with except, a named
/// port no container declares, a pod probing its own address, and
/// replies passing (conntrack) against the policies of their direction,
/// NotIn on the policy's own selector, namespace expressions, and a
/// Service's named targetPort, UDP 53.
const MORE_CASES: &[(&str, &str, &str)] = &[
    (
        "both ends must allow: the source's egress and the destination's ingress",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-to-x-80, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {matchLabels: {team: x}}}], ports: [{port: 80}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-y-c, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: y}}, podSelector: {matchLabels: {app: c}}}]}]
",
        "y/a → x/b : 80/TCP → denied
         y/a → svc/x/web : 8080/TCP → denied
         y/c → x/b : 80/TCP → allowed
         y/c → x/b : 81/TCP → allowed
         y/a → x/a : 80/TCP → allowed
         y/a → x/a : 81/TCP → denied",
    ),
    (
        "a rule's peers and ports: any listed peer on any listed port",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-two-peers-two-ports, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}, {namespaceSelector: {matchLabels: {team: y}}, podSelector: {matchLabels: {app: c}}}]
    ports: [{port: 81}, {protocol: UDP, port: udp-p}]
",
        "x/a → x/b : 81/TCP → allowed
         x/a → x/b : 82/UDP → allowed
         x/a → x/b : 80/TCP → denied
         y/c → x/b : 82/UDP → allowed
         y/c → x/b : 80/TCP → denied
         y/a → x/b : 81/TCP → denied",
    ),
    (
        "matchLabels and matchExpressions in one selector: AND; In with two values; a selector that selects no pod changes nothing",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}, matchExpressions: [{key: tier, operator: In, values: [web, db]}]}
  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: app, operator: In, values: [b, c]}]}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: tiered-a, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}, matchExpressions: [{key: tier, operator: Exists}]}
  ingress: []
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: nobody, namespace: y}
spec:
  podSelector: {matchLabels: {app: nothing}}
  ingress: []
",
        "x/b → x/a : 80/TCP → allowed
         y/c → x/a : 81/TCP → allowed
         y/a → x/a : 80/TCP → denied
         x/a → y/a : 80/TCP → allowed
         x/b → y/c : 80/TCP → allowed",
    ),
    (
        "an egress ipBlock with except, on the post-DNAT address",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: c-to-node-b-but-y-a, namespace: y}
spec:
  podSelector: {matchLabels: {app: c}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.244.1.0/24, except: [10.244.1.11/32]}}]}]
",
        "y/c → x/b : 80/TCP → allowed
         y/c → svc/x/web : 8080/TCP → allowed
         y/c → y/a : 80/TCP → denied
         y/c → x/a : 80/TCP → denied
         x/a → y/c : 80/TCP → allowed",
    ),
    (
        "a named port the destination does not declare matches nothing; a pod reaching its own address is never filtered",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-on-nope, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{ports: [{port: nope}, {port: alt}]}]
",
        "x/a → x/b : 80/TCP → denied
         x/a → x/b : 81/TCP → allowed
         y/c → x/b : 82/UDP → denied
         x/b → x/b : 80/TCP → allowed",
    ),
    (
        "policies are stateful: a reply passes whatever the policies of its direction say (TCP and UDP)",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: x-takes-nothing, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: c-sends-nothing, namespace: y}
spec:
  podSelector: {matchLabels: {app: c}}
  policyTypes: [Egress]
",
        "x/a → y/a : 80/TCP → allowed
         x/b → y/a : 82/UDP → allowed
         x/a → y/c : 82/UDP → allowed
         x/a → y/c : 80/TCP → allowed
         y/c → y/a : 82/UDP → denied
         y/a → x/a : 82/UDP → denied",
    ),
    (
        "NotIn on the policy's own podSelector; namespaceSelector expressions In and DoesNotExist",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: not-a, namespace: y}
spec:
  podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [a]}]}
  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [x, z]}]}, podSelector: {}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-c-anywhere, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: nope, operator: DoesNotExist}]}, podSelector: {matchLabels: {app: c}}}]}]
",
        "x/a → y/c : 80/TCP → allowed
         x/b → y/c : 81/TCP → allowed
         y/a → y/c : 80/TCP → denied
         x/a → y/a : 80/TCP → allowed
         y/c → x/b : 80/TCP → allowed
         x/a → x/b : 80/TCP → denied
         y/a → x/b : 80/TCP → denied",
    ),
    (
        "a Service's named targetPort: ingress is judged on the backend's port, numbered or named",
        "apiVersion: v1
kind: Service
metadata: {name: alt, namespace: y}
spec: {clusterIP: 10.96.0.30, selector: {app: a}, ports: [{name: alt, port: 9090, targetPort: alt}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: alt-1, namespace: y, labels: {kubernetes.io/service-name: alt}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.11], nodeName: node-b}]
ports: [{name: alt, port: 81}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-on-alt-from-x, namespace: y}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: x}}}]
    ports: [{port: alt}]
  - from: [{podSelector: {matchLabels: {app: c}}}]
    ports: [{port: 81}]
",
        "x/a → svc/y/alt : 9090/TCP → allowed
         y/c → svc/y/alt : 9090/TCP → allowed
         x/b → y/a : 80/TCP → denied
         x/b → y/a : 81/TCP → allowed
         y/c → y/a : 80/TCP → denied",
    ),
    (
        "UDP 53 (kube-network-policies judges it at PREROUTING, after DNAT): the same verdicts",
        "apiVersion: v1
kind: Pod
metadata: {name: dns, namespace: y, labels: {app: dns}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{name: dns, containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.244.0.20}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns-from-x, namespace: y}
spec:
  podSelector: {matchLabels: {app: dns}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: x}}}], ports: [{protocol: UDP, port: dns}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-to-y-80, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {matchLabels: {team: y}}}], ports: [{port: 80}]}]
",
        "x/a → y/dns : 53/UDP → allowed
         y/c → y/dns : 53/UDP → denied
         y/a → y/dns : 53/UDP → denied
         x/b → y/dns : 53/UDP → denied
         x/b → y/a : 80/TCP → allowed",
    ),
];

/// [`MORE_CASES`] under the spec engine, flannel, felix's rules
/// (calico-bgp) and kube-network-policies (kindnet).
#[test]
fn more_truth_tables_under_each_cni() {
    for cni in ["flannel-host-gw", "calico-bgp", "kindnet"] {
        for &(name, policies, table) in MORE_CASES {
            check_case(name, cni, policies, table);
        }
    }
}

/// A probe's run stops once its fate is known (`Engine::run_flows`): an
/// allowed TCP probe's trace ends at the handshake, the close (FINs) is
/// not simulated (without the stop the FINs are in the trace).
#[test]
fn a_probe_run_stops_at_its_verdict() {
    use podpath_sim::k8s::reach::model::{Dest, Probe};
    use podpath_sim::k8s::reach::sim::SimEngine;
    let s = setup(&scenario("calico-bgp", ""));
    let w = s.world.as_ref().unwrap();
    let e = SimEngine::new(w, &s.targets);
    let probe = Probe {
        from: 0,
        to: Dest::Pod(1),
        port: parse_port("80/TCP").unwrap(),
        family: Default::default(),
    };
    let (v, _, _) = e.verdict(&probe);
    assert_eq!(v, Verdict::Allowed);
    let t = e.trace(&probe).unwrap();
    let hops = |t: &podpath_sim::trace::Trace| -> Vec<String> {
        t.flows
            .iter()
            .flat_map(|f| f.hops.iter().map(|h| h.before.clone()))
            .collect()
    };
    let short = hops(&t);
    assert!(short.iter().any(|b| b.contains("[S.]")), "{short:?}");
    // the close comes only after the fate is known: not in the probe's run
    assert!(!short.iter().any(|b| b.contains("[F")), "{short:?}");
}

fn embedded(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.yaml")),
    )
    .unwrap()
}

#[test]
fn a_dual_stack_cluster_is_probed_over_both_families() {
    use podpath_sim::k8s::reach::model::Family;
    // web-legacy: ipFamilies [IPv6, IPv4], an IPv4 EndpointSlice only
    let s = setup(&embedded("dual-stack-cluster"));
    let legacy = s
        .targets
        .services
        .iter()
        .find(|t| t.name == "web-legacy")
        .expect("web-legacy is a target");
    assert_eq!(
        (
            legacy.ip4.map(|a| a.to_string()),
            legacy.ip6.map(|a| a.to_string())
        ),
        (Some("10.96.100.20".into()), Some("fd00:10:96::1014".into()))
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let o = Options {
        from: vec![parse_selector("default/client").unwrap()],
        to: vec![parse_selector("svc/default/web-legacy").unwrap()],
        ..Default::default()
    };
    let r = reach::run(&s, &o, EngineKind::Sim).unwrap();
    let got: Vec<(Family, Verdict)> = r.probes.iter().map(|p| (p.family, p.verdict)).collect();
    assert_eq!(
        got,
        [
            (Family::IPv4, Verdict::Allowed),
            (Family::IPv6, Verdict::Denied)
        ]
    );
    // over IPv6 kube-proxy's ip6tables rejects it (no IPv6 endpoint)
    let d = &r.probes[1].decided_by;
    assert_eq!(d.point.as_deref(), Some("filter/FORWARD"), "{d:?}");
    assert!(
        d.rule
            .as_deref()
            .is_some_and(|r| r.contains("has no endpoints")
                && r.contains("-d fd00:10:96::1014")
                && r.ends_with("REJECT with icmp6-port-unreachable")),
        "{d:?}"
    );
    // the spec engine agrees: no IPv6 endpoint
    let spec = reach::run(&s, &o, EngineKind::Spec).unwrap();
    assert_eq!(spec.probes[1].verdict, Verdict::Denied);
    assert!(spec.probes[1]
        .decided_by
        .reason
        .contains("no ready endpoint"));
    // every dual-stack destination has an IPv6 column beside its IPv4 one
    let all = reach::run(&s, &Options::default(), EngineKind::Sim).unwrap();
    let table = podpath_sim::k8s::reach::output::table(&all);
    let header = table
        .lines()
        .skip_while(|l| *l != "8080/TCP")
        .nth(1)
        .unwrap();
    assert_eq!(
        header,
        "-\t\tdefault/web-7c5b8d6f4-abcde\tdefault/web-7c5b8d6f4-abcde (IPv6)"
    );
    let v6 = all
        .probes
        .iter()
        .filter(|p| p.family == Family::IPv6)
        .count();
    assert_eq!((all.probes.len(), v6), (27, 12));
    // --family ipv6: those alone
    let only6 = reach::run(
        &s,
        &Options {
            families: vec![Family::IPv6],
            ..Default::default()
        },
        EngineKind::Sim,
    )
    .unwrap();
    assert_eq!(only6.probes.len(), 12);
    assert!(only6.probes.iter().all(|p| p.family == Family::IPv6));
    let c = reach::compare(&s, &Options::default()).unwrap();
    assert_eq!((c.compared, c.disagreements.len()), (27, 0));
}

#[test]
fn an_ipv6_only_cluster_is_probed_over_ipv6() {
    use podpath_sim::k8s::reach::model::{Family, Proto};
    let s = setup(&embedded("ipv6-only-cluster"));
    assert!(s
        .targets
        .pods
        .iter()
        .all(|p| p.ip4.is_none() && p.ip6.is_some()));
    let r = reach::run(&s, &Options::default(), EngineKind::Sim).unwrap();
    assert_eq!(r.probes.len(), 12);
    assert!(r
        .probes
        .iter()
        .all(|p| p.family == Family::IPv6 && p.verdict == Verdict::Allowed));
    // UDP over IPv6: CoreDNS answers the DNS probe
    let dns = r
        .probes
        .iter()
        .find(|p| p.protocol == Proto::Udp && p.to == "svc/kube-system/kube-dns")
        .unwrap();
    assert_eq!(
        dns.decided_by.endpoint.as_deref(),
        Some("kube-system/coredns-5d78c9869d-8xk2p")
    );
    assert!(
        dns.decided_by
            .reason
            .starts_with("UDP answer from [fd00:10:96::a]:53"),
        "{dns:?}"
    );
    assert!(reach::run(
        &s,
        &Options {
            families: vec![Family::IPv4],
            ..Default::default()
        },
        EngineKind::Sim
    )
    .unwrap()
    .probes
    .is_empty());
}

#[test]
fn sctp_over_ipv6_is_left_out_and_said_so() {
    use podpath_sim::k8s::reach::model::{Family, Proto};
    let text = embedded("dual-stack-cluster").replace(
        "ports: [{name: http, containerPort: 8080}]",
        "ports: [{name: http, containerPort: 8080}, {containerPort: 9999, protocol: SCTP}]",
    );
    let s = setup(&text);
    assert_eq!(
        s.warnings,
        ["SCTP over IPv6 is not modelled: 1 pod port(s) and 0 Service port(s) of SCTP are probed over IPv4 only"]
    );
    let r = reach::run(&s, &Options::default(), EngineKind::Spec).unwrap();
    let sctp: Vec<Family> = r
        .probes
        .iter()
        .filter(|p| p.protocol == Proto::Sctp)
        .map(|p| p.family)
        .collect();
    assert_eq!(sctp, [Family::IPv4; 3]);
}

const WEB_IN: &str = r#"
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: web-in, namespace: default}
    spec:
      podSelector: {matchLabels: {app: web}}
      ingress:
      - from:
        - ipBlock: {cidr: "fd00:10:244::9/128"}
        - namespaceSelector: {}
          podSelector: {matchLabels: {k8s-app: kube-dns}}
"#;

/// The dual-stack cluster under `cni` with `policies` added.
fn dual_stack_with(cni: &str, policies: &str) -> String {
    embedded("dual-stack-cluster")
        .replace("cni: flannel-vxlan", &format!("cni: {cni}"))
        .replace("\ntraffic:\n", &format!("{policies}\ntraffic:\n"))
}

/// kindnet on a dual-stack cluster: kube-network-policies' inet table
/// holds the selected pods' addresses of both families, the IPv6 chains
/// queue to the same evaluator, and an ipBlock of one family admits only
/// that family's packets.
#[test]
fn kindnet_judges_both_families() {
    use podpath_sim::k8s::reach::model::Family;
    let text = dual_stack_with("kindnet", WEB_IN);
    let s = setup(&text);
    let w = s.world.as_ref().unwrap();
    let node = w.hosts.iter().find(|h| h.name == "kind-worker").unwrap();
    let set = node
        .nft
        .tables
        .iter()
        .find(|t| t.name == "kindnet-network-policies")
        .expect("kube-network-policies' table");
    let v6: Vec<String> = set.sets["podips-v6"]
        .elements
        .iter()
        .map(|e| format!("{:?}", e.0))
        .collect();
    assert_eq!(v6.len(), 1);
    assert!(v6[0].contains("fd00:10:244:1::5"), "{v6:?}");
    let o = Options {
        to: vec![parse_selector("default/web-7c5b8d6f4-abcde").unwrap()],
        ..Default::default()
    };
    let r = reach::run(&s, &o, EngineKind::Sim).unwrap();
    let cells: Vec<(String, Family, Verdict)> = r
        .probes
        .iter()
        .map(|p| (p.from.clone(), p.family, p.verdict))
        .collect();
    let a = Verdict::Allowed;
    let d = Verdict::Denied;
    assert_eq!(
        cells,
        [
            ("default/client".to_string(), Family::IPv4, d),
            ("default/client".to_string(), Family::IPv6, a),
            ("default/web-7c5b8d6f4-abcde".to_string(), Family::IPv4, a),
            ("default/web-7c5b8d6f4-abcde".to_string(), Family::IPv6, a),
            (
                "kube-system/coredns-5d78c9869d-8xk2p".to_string(),
                Family::IPv4,
                a
            ),
            (
                "kube-system/coredns-5d78c9869d-8xk2p".to_string(),
                Family::IPv6,
                a
            ),
        ]
    );
    let denied = &r.probes[0].decided_by;
    assert_eq!(
        denied.policy.as_deref(),
        Some("default/web-in"),
        "{denied:?}"
    );
    assert_eq!(denied.direction.as_deref(), Some("ingress"));
    // the IPv6 admission is the evaluator's, through the ip6 queue rule
    let t = reach::trace_of(
        &s,
        &Options {
            from: vec![parse_selector("default/client").unwrap()],
            families: vec![Family::IPv6],
            ..o.clone()
        },
    )
    .unwrap()
    .unwrap();
    let steps: Vec<&str> = t
        .flows
        .iter()
        .flat_map(|f| &f.hops)
        .flat_map(|h| &h.steps)
        .map(|s| s.what.as_str())
        .collect();
    assert!(
        steps.iter().any(|s| s.contains(
            "ingress of default/web-7c5b8d6f4-abcde: allowed by default/web-in ingress[0]"
        )),
        "{steps:#?}"
    );
    let c = reach::compare(&s, &Options::default()).unwrap();
    assert_eq!(c.disagreements.len(), 0, "{:#?}", c.disagreements);
}

/// felix on a dual-stack cluster: its IPv6 ruleset in ip6tables (the
/// `cali60s:` sets, family inet6; the IPv4 ipBlock-free rule and the
/// IPv6 ipBlock each only in their version's ruleset; ICMPv6 neighbour
/// discovery accepted from workloads), the same verdicts as kindnet's and
/// the spec engine's.
#[test]
fn calico_judges_both_families() {
    use podpath_sim::k8s::reach::model::Family;
    let text = dual_stack_with("calico-bgp", WEB_IN);
    let s = setup(&text);
    let r = reach::run(
        &s,
        &Options {
            to: vec![parse_selector("default/web-7c5b8d6f4-abcde").unwrap()],
            ..Default::default()
        },
        EngineKind::Sim,
    )
    .unwrap();
    let cells: Vec<(String, Family, Verdict)> = r
        .probes
        .iter()
        .map(|p| (p.from.clone(), p.family, p.verdict))
        .collect();
    let (a, d) = (Verdict::Allowed, Verdict::Denied);
    let c = "default/client".to_string();
    let w = "default/web-7c5b8d6f4-abcde".to_string();
    let k = "kube-system/coredns-5d78c9869d-8xk2p".to_string();
    assert_eq!(
        cells,
        [
            (c.clone(), Family::IPv4, d),
            (c, Family::IPv6, a),
            (w.clone(), Family::IPv4, a),
            (w, Family::IPv6, a),
            (k.clone(), Family::IPv4, a),
            (k, Family::IPv6, a),
        ]
    );
    // the IPv4 denial: felix's end-of-tier drop, named by its note
    let denied = &r.probes[0].decided_by;
    assert_eq!(
        denied.policy.as_deref(),
        Some("default/web-in"),
        "{denied:?}"
    );
    // the IPv6 admission: the policy chain's rule, in ip6tables
    let t = reach::trace_of(
        &s,
        &Options {
            from: vec![parse_selector("default/client").unwrap()],
            to: vec![parse_selector("default/web-7c5b8d6f4-abcde").unwrap()],
            families: vec![Family::IPv6],
            ..Default::default()
        },
    )
    .unwrap()
    .unwrap();
    let allowed: Vec<String> = t
        .flows
        .iter()
        .flat_map(|f| &f.hops)
        .flat_map(|h| &h.steps)
        .filter_map(|s| match &s.action {
            podpath_sim::trace::Action::Policy { verdict, rule, .. } if verdict == "allowed" => {
                rule.clone()
            }
            _ => None,
        })
        .collect();
    assert!(
        allowed.iter().any(|r| r == "default/web-in ingress[0]"),
        "{allowed:?}"
    );
    // the rulesets themselves
    let doc = podpath_sim::scenario::parse(&text, "case.yaml").unwrap();
    let (cluster, net) =
        podpath_sim::scenario::cluster_of(doc.cluster.as_ref().unwrap(), "case.yaml").unwrap();
    let x = podpath_sim::k8s::cluster::expand(&cluster, &net).unwrap();
    let node = &x.hosts["kind-worker"];
    let v6 = format!("{:?}", node.ip6tables);
    assert!(v6.contains("-m icmp6 --icmpv6-type 135 -j ACCEPT"), "{v6}");
    assert!(v6.contains("-s fd00:10:244::9/128"), "{v6}");
    assert!(v6.contains("--match-set cali60s:"), "{v6}");
    let v4 = format!("{:?}", node.iptables);
    assert!(!v4.contains("fd00:10:244::9"), "{v4}");
    assert!(!v4.contains("icmpv6"), "{v4}");
    let cmp = reach::compare(&s, &Options::default()).unwrap();
    assert_eq!(cmp.disagreements.len(), 0, "{:#?}", cmp.disagreements);
}

/// IPv6 probes start with a running cluster's neighbours too: a probe's
/// trace has no neighbour solicitation (the next hops, link-local
/// gateways included, are REACHABLE), and its verdict is the same.
#[test]
fn ipv6_probes_start_with_warm_neighbours() {
    use podpath_sim::k8s::reach::model::Family;
    for (name, cni) in [
        ("dual-stack-cluster", "flannel-vxlan"),
        ("dual-stack-cluster", "calico-bgp"),
        ("ipv6-only-cluster", "flannel-vxlan"),
    ] {
        let text = embedded(name).replace("cni: flannel-vxlan", &format!("cni: {cni}"));
        let s = setup(&text);
        let o = Options {
            from: vec![parse_selector("default/client").unwrap()],
            to: vec![parse_selector("default/web-7c5b8d6f4-abcde").unwrap()],
            families: vec![Family::IPv6],
            ..Default::default()
        };
        let t = reach::trace_of(&s, &o).unwrap().unwrap();
        let frames: Vec<&str> = t
            .flows
            .iter()
            .flat_map(|f| &f.hops)
            .map(|h| h.before.as_str())
            .collect();
        assert!(
            !frames.iter().any(|f| f.contains("neighbor solicitation")),
            "{name} {cni}: {frames:#?}"
        );
        let r = reach::run(&s, &o, EngineKind::Sim).unwrap();
        assert_eq!(r.probes[0].verdict, Verdict::Allowed, "{name} {cni}");
    }
}
