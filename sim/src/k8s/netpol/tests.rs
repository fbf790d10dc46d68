use std::net::Ipv4Addr;

use super::*;
use crate::k8s::Cluster;

fn cluster(yaml: &str) -> Cluster {
    Cluster::from_text(yaml, "np.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn refused(yaml: &str) -> String {
    let e = Cluster::from_text(yaml, "np.yaml").unwrap_err();
    format!("{}: {}", e.field, e.message)
}

fn pod<'a>(
    ns: &'a str,
    labels: &'a BTreeMap<String, String>,
    nsl: &'a BTreeMap<String, String>,
    ip: [u8; 4],
    ports: &'a [NamedPort],
) -> Party<'a> {
    Party::Pod(PodParty {
        namespace: ns,
        name: "p",
        labels,
        namespace_labels: nsl,
        ip: Ipv4Addr::from(ip).into(),
        ports,
    })
}

fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The API reference's example (concepts/services-networking/
/// network-policies, `test-network-policy`): ingress to role=db from the
/// 172.17.0.0/16 block except 172.17.1.0/24, from namespaces project=myproject
/// and from role=frontend pods of default, on TCP 6379; egress to
/// 10.0.0.0/24 on TCP 5978.
const DOCS_EXAMPLE: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
";

#[test]
fn the_api_reference_example() {
    let c = cluster(DOCS_EXAMPLE);
    let ps = &c.network_policies;
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].metadata.line, 1);
    let db = labels(&[("role", "db")]);
    let fe = labels(&[("role", "frontend")]);
    let other = labels(&[("role", "other")]);
    let def = c.namespace_labels("default");
    let proj = labels(&[("project", "myproject")]);
    let none: Vec<NamedPort> = Vec::new();
    let dbp = pod("default", &db, &def, [10, 0, 0, 5], &none);
    let v = |src: &Party, dst: &Party, port| evaluate(ps, src, dst, port, "TCP");
    // a frontend of default: allowed by the third peer, on 6379 only
    let f = pod("default", &fe, &def, [10, 1, 0, 2], &none);
    assert!(v(&f, &dbp, 6379).allowed());
    assert_eq!(
        v(&f, &dbp, 6379).ingress,
        Side::Allowed {
            policy: "default/test-network-policy".into(),
            rule: 0
        }
    );
    assert!(!v(&f, &dbp, 6380).allowed());
    assert!(!evaluate(ps, &f, &dbp, 6379, "UDP").allowed());
    // a frontend of another namespace: the podSelector peer is the
    // policy's namespace only
    let f2 = pod("prod", &fe, &def, [10, 1, 0, 3], &none);
    assert!(!v(&f2, &dbp, 6379).allowed());
    // any pod of a namespace labelled project=myproject
    let p = pod("myproject", &other, &proj, [10, 1, 0, 4], &none);
    assert!(v(&p, &dbp, 6379).allowed());
    // the ipBlock and its except
    assert!(v(
        &Party::Other(Ipv4Addr::new(172, 17, 0, 9).into()),
        &dbp,
        6379
    )
    .allowed());
    let denied = v(
        &Party::Other(Ipv4Addr::new(172, 17, 1, 9).into()),
        &dbp,
        6379,
    );
    assert_eq!(
        denied.ingress,
        Side::Denied {
            policies: vec!["default/test-network-policy".into()]
        }
    );
    // egress of the db pod: 10.0.0.0/24 on 5978 only
    let out = Party::Other(Ipv4Addr::new(10, 0, 0, 77).into());
    assert!(v(&dbp, &out, 5978).allowed());
    assert!(!v(&dbp, &out, 53).allowed());
    // a pod no policy selects is not isolated either way
    assert_eq!(
        v(&f, &p, 80),
        SpecVerdict {
            egress: Side::NotIsolated,
            ingress: Side::NotIsolated
        }
    );
}

/// A namespaceSelector and a podSelector in one peer (AND) against two
/// peers (OR), the API reference's "behavior of to and from selectors".
#[test]
fn and_within_a_peer_or_across_peers() {
    let and = "kind: NetworkPolicy
metadata: {name: and, namespace: default}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {user: alice}}
      podSelector: {matchLabels: {role: client}}
";
    let or = and.replace(
        "      podSelector: {matchLabels: {role: client}}",
        "    - podSelector: {matchLabels: {role: client}}",
    );
    let client = labels(&[("role", "client")]);
    let web = labels(&[("app", "web")]);
    let alice = labels(&[("user", "alice")]);
    let bob = labels(&[("user", "bob")]);
    let def = labels(&[("kubernetes.io/metadata.name", "default")]);
    let none: Vec<NamedPort> = Vec::new();
    let dst = pod("default", &web, &def, [10, 0, 0, 1], &none);
    let alice_client = pod("a", &client, &alice, [10, 0, 1, 1], &none);
    let alice_web = pod("a", &web, &alice, [10, 0, 1, 2], &none);
    let bob_client = pod("b", &client, &bob, [10, 0, 2, 1], &none);
    let default_client = pod("default", &client, &def, [10, 0, 0, 3], &none);
    let c = cluster(and);
    let ok = |src: &Party| evaluate(&c.network_policies, src, &dst, 80, "TCP").allowed();
    assert!(ok(&alice_client));
    assert!(!ok(&alice_web));
    assert!(!ok(&bob_client));
    assert!(!ok(&default_client));
    let c = cluster(&or);
    let ok = |src: &Party| evaluate(&c.network_policies, src, &dst, 80, "TCP").allowed();
    assert!(ok(&alice_client));
    assert!(ok(&alice_web));
    assert!(!ok(&bob_client));
    assert!(ok(&default_client));
}

/// policyTypes as the API server defaults them, and empty against absent
/// rule lists: `ingress: []` denies all ingress, `ingress: [{}]` allows all;
/// `egress: []` without policyTypes makes no egress policy.
#[test]
fn defaulted_policy_types_and_empty_rules() {
    let base = "kind: NetworkPolicy
metadata: {name: x, namespace: default}
spec:
  podSelector: {}
";
    let types = |extra: &str| cluster(&format!("{base}{extra}")).network_policies[0].policy_types();
    assert_eq!(types(""), vec![Direction::Ingress]);
    assert_eq!(types("  egress: []\n"), vec![Direction::Ingress]);
    assert_eq!(
        types("  egress: [{}]\n"),
        vec![Direction::Ingress, Direction::Egress]
    );
    assert_eq!(types("  policyTypes: [Egress]\n"), vec![Direction::Egress]);
    let l = labels(&[("a", "b")]);
    let nsl = labels(&[]);
    let none: Vec<NamedPort> = Vec::new();
    let a = pod("default", &l, &nsl, [10, 0, 0, 1], &none);
    let b = pod("default", &l, &nsl, [10, 0, 0, 2], &none);
    let allowed = |extra: &str| {
        let c = cluster(&format!("{base}{extra}"));
        evaluate(&c.network_policies, &a, &b, 80, "TCP").allowed()
    };
    assert!(!allowed(""));
    assert!(!allowed("  ingress: []\n"));
    assert!(allowed("  ingress: [{}]\n"));
    assert!(!allowed("  policyTypes: [Egress]\n"));
    assert!(allowed("  policyTypes: [Egress]\n  egress: [{}]\n"));
}

/// matchExpressions: In, NotIn (holds when the key is absent), Exists,
/// DoesNotExist.
#[test]
fn match_expressions() {
    let sel = |op: &str, values: &[&str]| LabelSelector {
        match_labels: BTreeMap::new(),
        match_expressions: vec![Requirement {
            key: "tier".into(),
            operator: op.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }],
    };
    let fe = labels(&[("tier", "fe")]);
    let be = labels(&[("tier", "be")]);
    let none = labels(&[]);
    assert!(sel("In", &["fe", "x"]).matches(&fe));
    assert!(!sel("In", &["fe"]).matches(&be));
    assert!(!sel("In", &["fe"]).matches(&none));
    assert!(sel("NotIn", &["fe"]).matches(&be));
    assert!(sel("NotIn", &["fe"]).matches(&none));
    assert!(!sel("NotIn", &["fe"]).matches(&fe));
    assert!(sel("Exists", &[]).matches(&be));
    assert!(!sel("Exists", &[]).matches(&none));
    assert!(sel("DoesNotExist", &[]).matches(&none));
    assert!(!sel("DoesNotExist", &[]).matches(&fe));
    assert!(LabelSelector::default().matches(&fe));
}

/// Named ports resolve per destination pod (name and protocol), endPort
/// ranges are inclusive, SCTP and UDP are their own protocols.
#[test]
fn named_ports_and_ranges() {
    let c = cluster(
        "kind: NetworkPolicy
metadata: {name: ports, namespace: default}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: web
    - port: 32000
      endPort: 32768
    - protocol: SCTP
      port: 9000
",
    );
    let l = labels(&[]);
    let cp = |name: &str, port: u16, proto: &str| NamedPort {
        name: name.into(),
        port,
        protocol: proto.into(),
    };
    let a_ports = vec![cp("web", 8080, "TCP")];
    let b_ports = vec![cp("web", 9090, "TCP"), cp("dns", 53, "UDP")];
    let src = Party::Other(Ipv4Addr::new(192, 0, 2, 1).into());
    let a = pod("default", &l, &l, [10, 0, 0, 1], &a_ports);
    let b = pod("default", &l, &l, [10, 0, 0, 2], &b_ports);
    let ok =
        |dst: &Party, port, proto| evaluate(&c.network_policies, &src, dst, port, proto).allowed();
    assert!(ok(&a, 8080, "TCP"));
    assert!(!ok(&a, 9090, "TCP"));
    assert!(ok(&b, 9090, "TCP"));
    assert!(!ok(&b, 8080, "TCP"));
    assert!(!ok(&a, 8080, "UDP"));
    assert!(ok(&a, 32000, "TCP"));
    assert!(ok(&a, 32768, "TCP"));
    assert!(!ok(&a, 32769, "TCP"));
    assert!(!ok(&a, 31999, "TCP"));
    assert!(ok(&a, 9000, "SCTP"));
    assert!(!ok(&a, 9000, "TCP"));
}

/// Several policies selecting one pod: the union of their rules.
#[test]
fn policies_add_up() {
    let c = cluster(
        "kind: NetworkPolicy
metadata: {name: a, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - ports: [{port: 80}]
---
kind: NetworkPolicy
metadata: {name: b, namespace: default}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 443}]
",
    );
    let web = labels(&[("app", "web")]);
    let other = labels(&[("app", "db")]);
    let nsl = labels(&[]);
    let none: Vec<NamedPort> = Vec::new();
    let src = Party::Other(Ipv4Addr::new(192, 0, 2, 1).into());
    let w = pod("default", &web, &nsl, [10, 0, 0, 1], &none);
    let d = pod("default", &other, &nsl, [10, 0, 0, 2], &none);
    let ok = |dst: &Party, port| evaluate(&c.network_policies, &src, dst, port, "TCP");
    assert!(ok(&w, 80).allowed());
    assert_eq!(
        ok(&w, 443).ingress,
        Side::Allowed {
            policy: "default/b".into(),
            rule: 0
        }
    );
    assert_eq!(
        ok(&w, 22).ingress,
        Side::Denied {
            policies: vec!["default/a".into(), "default/b".into()]
        }
    );
    assert!(!ok(&d, 80).allowed());
    assert!(ok(&d, 443).allowed());
}

/// What the API server refuses, in its words, with the field path.
#[test]
fn validation_in_the_api_servers_words() {
    let p = |spec: &str| {
        refused(&format!(
            "kind: NetworkPolicy\nmetadata: {{name: x, namespace: default}}\nspec:\n{spec}"
        ))
    };
    assert_eq!(
        p("  ingress:\n  - ports: [{port: 70000}]\n"),
        "spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
    );
    assert_eq!(
        p("  ingress:\n  - ports: [{port: 90, endPort: 80}]\n"),
        "spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`"
    );
    assert_eq!(
        p("  egress:\n  - ports: [{port: http, endPort: 80}]\n"),
        "spec.egress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is non-numeric"
    );
    assert_eq!(
        p("  egress:\n  - ports: [{endPort: 80}]\n"),
        "spec.egress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is not specified"
    );
    assert_eq!(
        p("  ingress:\n  - ports: [{protocol: ICMP}]\n"),
        "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\""
    );
    assert_eq!(
        p("  ingress:\n  - ports: [{port: Web_1}]\n"),
        "spec.ingress[0].ports[0].port: Invalid value: \"Web_1\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    );
    assert_eq!(
        p("  ingress:\n  - from: [{}]\n"),
        "spec.ingress[0].from[0]: Required value: must specify a peer"
    );
    assert_eq!(
        p("  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]\n"),
        "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"
    );
    assert_eq!(
        p("  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]\n"),
        "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: \"10.0.0.0/8\": must be a strict subset of `cidr`"
    );
    assert_eq!(
        p("  podSelector:\n    matchExpressions: [{key: a, operator: In}]\n"),
        "spec.podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
    );
    assert_eq!(
        p("  podSelector:\n    matchExpressions: [{key: a, operator: Is, values: [b]}]\n"),
        "spec.podSelector.matchExpressions[0].operator: Invalid value: \"Is\": not a valid selector operator"
    );
    assert_eq!(
        p("  policyTypes: [Ingress, Egress, Ingress]\n"),
        "spec.policyTypes: Invalid value: may not specify more than two policyTypes"
    );
    assert_eq!(
        p("  policyTypes: [Inbound]\n"),
        "spec.policyTypes[0]: Unsupported value: \"Inbound\": supported values: \"Ingress\", \"Egress\""
    );
}

/// A Namespace object's labels, with the name label the API server adds
/// (whatever the manifest says); a namespace without an object has only
/// that label.
#[test]
fn namespace_labels() {
    let c = cluster(
        "apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels:
    team: payments
    kubernetes.io/metadata.name: wrong
",
    );
    assert_eq!(
        c.namespace_labels("prod"),
        labels(&[
            ("kubernetes.io/metadata.name", "prod"),
            ("team", "payments")
        ])
    );
    assert_eq!(
        c.namespace_labels("dev"),
        labels(&[("kubernetes.io/metadata.name", "dev")])
    );
}

/// Policies are read and validated, and a run says they are not enforced.
#[test]
fn unenforced_policies_are_said() {
    let c = cluster(DOCS_EXAMPLE);
    let w = c.policy_warning("flannel-vxlan").unwrap();
    assert!(
        w.starts_with("1 NetworkPolicy read and validated but not enforced: the CNI flannel-vxlan programs no NetworkPolicy"),
        "{w}"
    );
    assert_eq!(
        cluster("kind: Namespace\nmetadata: {name: a}\n").policy_warning("flannel-vxlan"),
        None
    );
}

/// IPv6 blocks hold IPv6 addresses and no IPv4 one, and the reverse;
/// `except` works alike; an except of the other family is refused as the
/// API server refuses it (not a strict subset of `cidr`).
#[test]
fn ipv6_blocks() {
    let c = cluster(
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: v6, namespace: default}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 'fd00:10::/32', except: ['fd00:10:244:1::/64']}
    - ipBlock: {cidr: 10.0.0.0/8}
",
    );
    let ps = &c.network_policies;
    let def = c.namespace_labels("default");
    let none: Vec<NamedPort> = Vec::new();
    let l = labels(&[]);
    let dst = Party::Pod(PodParty {
        namespace: "default",
        name: "p",
        labels: &l,
        namespace_labels: &def,
        ip: "fd00:10:244::5".parse().unwrap(),
        ports: &none,
    });
    let from = |a: &str| evaluate(ps, &Party::Other(a.parse().unwrap()), &dst, 80, "TCP");
    assert!(from("fd00:10:244::9").allowed());
    assert!(!from("fd00:10:244:1::9").allowed());
    assert!(!from("fd00:11::1").allowed());
    assert!(from("10.1.2.3").allowed());
    // an IPv4-mapped address is IPv6: no IPv4 block holds it
    assert!(!from("::ffff:10.1.2.3").allowed());
    let e = refused(
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: mixed, namespace: default}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 'fd00::/8', except: [10.0.0.0/8]}
",
    );
    assert!(e.contains("must be a strict subset of `cidr`"), "{e}");
}
