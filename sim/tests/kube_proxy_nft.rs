//! kube-proxy nftables mode against kube-proxy's own expected transaction.
//!
//! `fixtures/kube-proxy-nft-overall.txt` is the transaction
//! `TestOverallNFTablesRules` (kubernetes/kubernetes
//! pkg/proxy/nftables/proxier_test.go) expects for six Services: ClusterIP,
//! LoadBalancer with externalTrafficPolicy Local and no local endpoint,
//! NodePort, external IPs with a local endpoint, LoadBalancer with source
//! ranges and ClientIP affinity, and a Service without endpoints. The same
//! objects are written here as YAML, podpath generates the node's
//! transaction with the test's proxier settings (node test-node,
//! 192.168.0.2, pod CIDR 10.0.0.0/8, service CIDR 172.30.0.0/16,
//! nodeport-addresses 192.168.0.2/32) and the two must be equal line for line
//! once declarations and elements are put in order, as the test's own
//! comparison does. Then the transaction is loaded and packets are run
//! through it, with the verdicts kube-proxy's packet-flow tests expect.

mod common;

use podpath_sim::k8s::kubeproxy::ProxierConfig;
use podpath_sim::k8s::kubeproxy_nft::{nft_rules, normalise};
use podpath_sim::k8s::Cluster;

const OBJECTS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  clusterIP: 172.30.0.41
  ports: [{name: p80, port: 80, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc2, namespace: ns2}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  clusterIP: 172.30.0.42
  externalIPs: [192.168.99.22]
  healthCheckNodePort: 30000
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}
---
apiVersion: v1
kind: Service
metadata: {name: svc3, namespace: ns3}
spec:
  type: NodePort
  clusterIP: 172.30.0.43
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3003}]
---
apiVersion: v1
kind: Service
metadata: {name: svc4, namespace: ns4}
spec:
  type: NodePort
  clusterIP: 172.30.0.44
  externalIPs: [192.168.99.33]
  ports: [{name: p80, port: 80, protocol: TCP, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: svc5, namespace: ns5}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Cluster
  clusterIP: 172.30.0.45
  healthCheckNodePort: 30000
  loadBalancerSourceRanges: [" 203.0.113.0/25"]
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 10800}}
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3002}]
status: {loadBalancer: {ingress: [{ip: 5.6.7.8}]}}
---
apiVersion: v1
kind: Service
metadata: {name: svc6, namespace: ns6}
spec:
  type: ClusterIP
  clusterIP: 172.30.0.46
  ports: [{name: p80, port: 80, protocol: TCP, targetPort: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.1]}]
ports: [{name: p80, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc2-1, namespace: ns2, labels: {kubernetes.io/service-name: svc2}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.2]}]
ports: [{name: p80, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc3-1, namespace: ns3, labels: {kubernetes.io/service-name: svc3}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.3]}]
ports: [{name: p80, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc4-1, namespace: ns4, labels: {kubernetes.io/service-name: svc4}}
addressType: IPv4
endpoints:
  - {addresses: [10.180.0.4]}
  - {addresses: [10.180.0.5], nodeName: test-node}
ports: [{name: p80, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc5-1, namespace: ns5, labels: {kubernetes.io/service-name: svc5}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.3]}]
ports: [{name: p80, port: 80, protocol: TCP}]
"#;

fn config() -> ProxierConfig {
    let mut cfg = ProxierConfig::new("test-node");
    cfg.node_ips = vec!["192.168.0.2".parse().unwrap()];
    cfg.cluster_cidr = Some("10.0.0.0/8".parse().unwrap());
    cfg.service_cidrs = vec!["172.30.0.0/16".parse().unwrap()];
    cfg.nodeport_addresses = vec!["192.168.0.2/32".parse().unwrap()];
    cfg
}

fn generated() -> String {
    let cluster = Cluster::from_yaml(OBJECTS, "objects.yaml").unwrap_or_else(|e| panic!("{e}"));
    nft_rules(&cluster, &config())
}

#[test]
fn overall_rules_match_kube_proxy_line_for_line() {
    let want = normalise(include_str!("fixtures/kube-proxy-nft-overall.txt"));
    let got = normalise(&generated());
    let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
    let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from podpath's output:\n{}\n\nonly in podpath's output:\n{}",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(got, want, "same lines, different order within a chain");
    assert_eq!(want.len(), 122);
}

mod flows {
    use std::net::Ipv4Addr;

    use podpath_sim::net::netfilter::nftables::{DynSets, Hook, Nft};
    use podpath_sim::net::netfilter::{addrtype, ctbits, TableKind, Target};
    use podpath_sim::net::netfilter::{
        AddrClass, EvalEnv, NfPacket, NfState, ScriptChooser, Verdict,
    };

    /// The node's local addresses (kube-proxy's testNodeIPs).
    struct Node;
    impl AddrClass for Node {
        fn addr_type(&self, a: Ipv4Addr, _dev: Option<&str>) -> u16 {
            if ["192.168.0.2", "192.168.1.2", "192.168.99.11"]
                .iter()
                .any(|x| x.parse::<Ipv4Addr>().unwrap() == a)
                || a.is_loopback()
            {
                addrtype::LOCAL
            } else {
                addrtype::UNICAST
            }
        }
    }

    /// Runs a new TCP connection's first packet through the hooks as
    /// kube-proxy's packet-flow tracer does (prerouting filter, DNAT, then
    /// forward or input), following every numgen branch. Returns the
    /// outcome per branch ("10.180.0.1:80", "DROP", "REJECT") and whether
    /// the masquerade mark was set.
    pub fn trace(nft: &Nft, src: &str, dst: &str, dport: u16) -> (Vec<String>, bool) {
        let mut outs = Vec::new();
        let mut masq = false;
        let mut script: Vec<bool> = Vec::new();
        loop {
            let mut chooser = ScriptChooser {
                script: script.clone(),
                ..Default::default()
            };
            let mut state = NfState::default();
            let mut dyn_sets = DynSets::default();
            let mut env = EvalEnv {
                addr: &Node,
                chooser: &mut chooser,
                state: &mut state,
                now_ns: 0,
                assume: Default::default(),
            };
            let mut pkt = NfPacket {
                src: src.parse().unwrap(),
                dst: dst.parse().unwrap(),
                proto: 6,
                sport: Some(40000),
                dport: Some(dport),
                ct_state: ctbits::NEW,
                ..Default::default()
            };
            let mut run = |table: TableKind, hook: Hook, pkt: &mut NfPacket, env: &mut EvalEnv| {
                let (a, b) = nft.chains_at(table, hook);
                let mut all = a;
                all.extend(b);
                nft.run(&all, pkt, env, &mut dyn_sets)
            };
            let mut out = String::new();
            let pre = run(TableKind::Mangle, Hook::Prerouting, &mut pkt, &mut env);
            if pre.verdict != Verdict::Accept {
                out = "DROP".into();
            }
            if out.is_empty() {
                let nat = run(TableKind::Nat, Hook::Prerouting, &mut pkt, &mut env);
                if let Some(Target::Dnat { to, .. }) = nat.nat {
                    pkt.dst = podpath_sim::net::netfilter::conntrack::v4(to.addr_lo.unwrap());
                    pkt.dport = to.ports.map(|p| p.0).or(pkt.dport);
                    out = format!("{}:{}", pkt.dst, pkt.dport.unwrap());
                }
                let local = Node.addr_type(pkt.dst, None) & addrtype::LOCAL != 0;
                let hook = if local { Hook::Input } else { Hook::Forward };
                let f = run(TableKind::Filter, hook, &mut pkt, &mut env);
                match f.verdict {
                    Verdict::Drop => out = "DROP".into(),
                    Verdict::Reject(_) => out = "REJECT".into(),
                    Verdict::Accept if out.is_empty() => {
                        out = if local {
                            "LOCAL".into()
                        } else {
                            "ACCEPT".into()
                        }
                    }
                    Verdict::Accept => {}
                }
            }
            masq |= pkt.mark & 0x4000 != 0;
            if !outs.contains(&out) {
                outs.push(out);
            }
            // next branch of the numgen cascades (depth-first)
            let taken: Vec<bool> = chooser.taken.iter().map(|t| t.2).collect();
            let Some(last_true) = taken.iter().rposition(|b| *b) else {
                break;
            };
            script = taken[..last_true].to_vec();
            script.push(false);
        }
        outs.sort();
        (outs, masq)
    }
}

/// The verdicts of kube-proxy's packet-flow tests (TestClusterIPGeneral,
/// TestNoEndpointsReject, TestLoadBalancer, TestExternalTrafficPolicyLocal
/// shapes) on the transaction generated for the overall Services.
/// (name, source, destination, port, outcomes, masquerade)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    u16,
    &'static [&'static str],
    bool,
);

#[test]
fn packets_through_the_generated_table_get_kube_proxys_verdicts() {
    let nft = podpath_sim::net::netfilter::nftables::Nft::parse(&generated())
        .unwrap_or_else(|e| panic!("{e}"));
    let cases: &[Case] = &[
        (
            "pod to cluster IP",
            "10.0.0.2",
            "172.30.0.41",
            80,
            &["10.180.0.1:80"],
            false,
        ),
        (
            "hairpin to cluster IP",
            "10.180.0.1",
            "172.30.0.41",
            80,
            &["10.180.0.1:80"],
            true,
        ),
        (
            "external to cluster IP",
            "203.0.113.2",
            "172.30.0.41",
            80,
            &["10.180.0.1:80"],
            true,
        ),
        (
            "cluster IP, wrong port",
            "10.0.0.2",
            "172.30.0.41",
            443,
            &["REJECT"],
            false,
        ),
        (
            "unallocated cluster IP",
            "10.0.0.2",
            "172.30.0.50",
            80,
            &["DROP"],
            false,
        ),
        (
            "no endpoints",
            "10.0.0.2",
            "172.30.0.46",
            80,
            &["REJECT"],
            false,
        ),
        (
            "external to NodePort",
            "203.0.113.2",
            "192.168.0.2",
            3003,
            &["10.180.0.3:80"],
            true,
        ),
        (
            "two endpoints",
            "10.0.0.2",
            "172.30.0.44",
            80,
            &["10.180.0.4:80", "10.180.0.5:80"],
            false,
        ),
        (
            "external IP",
            "203.0.113.2",
            "192.168.99.33",
            80,
            &["10.180.0.4:80", "10.180.0.5:80"],
            true,
        ),
        (
            "LB, allowed source",
            "203.0.113.2",
            "5.6.7.8",
            80,
            &["10.180.0.3:80"],
            true,
        ),
        (
            "LB, blocked source",
            "203.0.113.130",
            "5.6.7.8",
            80,
            &["DROP"],
            false,
        ),
        (
            "NodePort bypasses source ranges",
            "203.0.113.130",
            "192.168.0.2",
            3002,
            &["10.180.0.3:80"],
            true,
        ),
        (
            "ETP Local, no local endpoint: external dropped",
            "203.0.113.2",
            "1.2.3.4",
            80,
            &["DROP"],
            false,
        ),
        (
            "ETP Local: pod short-circuits to the cluster chain",
            "10.0.0.2",
            "1.2.3.4",
            80,
            &["10.180.0.2:80"],
            false,
        ),
        (
            "ETP Local NodePort from outside: dropped",
            "203.0.113.2",
            "192.168.0.2",
            3001,
            &["DROP"],
            false,
        ),
        (
            "unknown NodePort",
            "203.0.113.2",
            "192.168.0.2",
            3999,
            &["LOCAL"],
            false,
        ),
    ];
    for (name, src, dst, port, want, masq) in cases {
        let (got, m) = flows::trace(&nft, src, dst, *port);
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(m, *masq, "{name}: masquerade");
    }
}

/// (name, (hook, priority) of a base chain, rule count)
type ChainShape = (String, Option<(String, i32)>, usize);

/// `nft list ruleset` of a real kernel (nftables 1.0.6) after kube-proxy's
/// transaction for the flannel-cluster scenario's kind-worker was loaded
/// with `nft -f`: the listing (priorities as `dstnat - 10`, `meta mark set
/// meta mark | 0x00004000`, one-element sets unwrapped, multi-line
/// elements) reads back into the same ruleset as the transaction.
#[test]
fn a_real_nft_listing_reads_back_as_the_transaction() {
    use podpath_sim::net::netfilter::nftables::Nft;
    let text = include_str!("../../scenarios/flannel-cluster.yaml")
        .replace("proxyMode: iptables", "proxyMode: nftables");
    let doc = podpath_sim::scenario::parse(&text, "f.yaml").unwrap();
    let c = doc.cluster.as_ref().unwrap();
    let (objs, net) = podpath_sim::scenario::cluster_of(c, "f.yaml").unwrap();
    let n = objs.node("kind-worker").unwrap();
    let cfg =
        podpath_sim::k8s::cluster::proxier_config(&net, "kind-worker", n.internal_ip().unwrap());
    let tx = nft_rules(&objs, &cfg);
    let from_tx = Nft::parse(&tx).unwrap_or_else(|e| panic!("{e}"));
    let listing = include_str!("fixtures/nft-list-ruleset-kind-worker.txt");
    let from_listing = Nft::parse(listing).unwrap_or_else(|e| panic!("{e}"));
    // same chains with the same hooks and priorities, same rule count per
    // chain, same set and map contents
    let t1 = &from_tx.tables[0];
    let t2 = &from_listing.tables[0];
    let mut c1: Vec<ChainShape> = t1
        .chains
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.base
                    .as_ref()
                    .map(|b| (b.hook.name().to_string(), b.priority)),
                c.rules.len(),
            )
        })
        .collect();
    let mut c2: Vec<ChainShape> = t2
        .chains
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.base
                    .as_ref()
                    .map(|b| (b.hook.name().to_string(), b.priority)),
                c.rules.len(),
            )
        })
        .collect();
    c1.sort();
    c2.sort();
    assert_eq!(c1, c2);
    for (name, s1) in &t1.sets {
        let s2 = &t2.sets[name];
        let mut e1 = s1.elements.clone();
        let mut e2 = s2.elements.clone();
        e1.sort_by_key(|e| format!("{e:?}"));
        e2.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(e1, e2, "set {name}");
    }
    // and the rules mean the same: every expression list is equal
    for c in &t1.chains {
        let c2 = t2.chains.iter().find(|x| x.name == c.name).unwrap();
        for (r1, r2) in c.rules.iter().zip(&c2.rules) {
            assert_eq!(
                r1.exprs, r2.exprs,
                "{}: '{}' vs '{}'",
                c.name, r1.text, r2.text
            );
        }
    }
}

/// A seeded mutation fuzzer over both nft texts: byte flips, cuts, dropped
/// and duplicated lines give a ruleset or an error naming a line, never a
/// panic; a ruleset that parses prints and parses again. (`fuzz/` has the
/// coverage-guided target `nftables`.)
#[test]
fn mutated_nft_texts_never_panic() {
    use podpath_sim::net::netfilter::nftables::Nft;
    for base in [
        include_str!("fixtures/kube-proxy-nft-overall.txt"),
        include_str!("fixtures/nft-list-ruleset-kind-worker.txt"),
    ] {
        let mut errors = 0;
        for (text, lines) in common::mutations(base, 7, 400, b" :.@{},;\"-x0/9") {
            let r = std::panic::catch_unwind(|| Nft::parse(&text)).expect("parser panicked");
            match r {
                Ok(n) => {
                    Nft::parse(&n.to_text()).unwrap_or_else(|e| panic!("{e}\n{}", n.to_text()));
                }
                Err(e) => {
                    errors += 1;
                    assert!(e.line <= lines + 1, "{e}");
                }
            }
        }
        assert!(
            errors > 50,
            "{errors}: the mutations should break some texts"
        );
    }
}
