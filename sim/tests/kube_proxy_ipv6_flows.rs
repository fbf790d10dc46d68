//! kube-proxy's IPv6 proxier against kube-proxy's own packet-flow
//! expectations for IPv6 (`TestNodePorts`' IPv6 rows of kubernetes
//! 531be812 pkg/proxy/iptables/proxier_test.go and 030880a5
//! pkg/proxy/nftables/proxier_test.go; inputs and provenance in
//! tests/data/kube-proxy/ipv6): the objects the test builds go through
//! podpath's generators (ip6tables-restore payload, `ip6 kube-proxy`
//! table), and each flow walks the result as the kernel would: nat
//! PREROUTING with conntrack state NEW (every `statistic` branch forced in
//! turn, so every endpoint the Service can pick is reached), then nat
//! POSTROUTING for the masquerade. The endpoints reached and whether the
//! packet is masqueraded must be the test's.

use std::net::Ipv6Addr;
use std::path::Path;

use podpath_sim::k8s::kubeproxy::{node_iptables_save, ExtraRules, ProxierConfig};
use podpath_sim::k8s::kubeproxy_nft::nft_rules;
use podpath_sim::k8s::Cluster;
use podpath_sim::net::netfilter::nftables::{DynSets, Nft};
use podpath_sim::net::netfilter::{
    addrtype, ctbits, AddrClass, EvalEnv, Hook, NfPacket, NfState, Ruleset, ScriptChooser,
    TableKind, Target,
};
use serde_json::Value;

const OBJECTS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: svc1, namespace: ns1}
spec:
  type: NodePort
  clusterIP: fd00:172:30::41
  ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
addressType: IPv6
endpoints:
  - {addresses: ["fd00:10:180::1"]}
  - {addresses: ["fd00:10:180::2:1"], nodeName: test-node}
ports: [{name: p80, port: 80, protocol: TCP}]
"#;

/// The fake node's addresses (`testNodeIPs` and the tracer's loopback).
struct Node;

impl AddrClass for Node {
    fn addr_type(&self, _a: std::net::Ipv4Addr, _dev: Option<&str>) -> u16 {
        addrtype::UNICAST
    }
    fn addr_type6(&self, a: Ipv6Addr, _dev: Option<&str>) -> u16 {
        let local: [Ipv6Addr; 3] = [
            "2001:db8::1".parse().unwrap(),
            "2001:db8:1::2".parse().unwrap(),
            Ipv6Addr::LOCALHOST,
        ];
        if local.contains(&a) {
            addrtype::LOCAL
        } else {
            addrtype::UNICAST
        }
    }
}

fn cfg(localhost: bool, nodeport_addresses: &[&str]) -> ProxierConfig {
    let mut c = ProxierConfig::new("test-node");
    c.ipv6 = true;
    c.node_ips = vec![
        "2001:db8::1".parse().unwrap(),
        "2001:db8:1::2".parse().unwrap(),
    ];
    c.cluster_cidr = Some("fd00:10::/64".parse().unwrap());
    c.service_cidrs = vec!["fd00:10:96::/112".parse().unwrap()];
    c.localhost_nodeports = localhost;
    c.random_fully = false;
    // proxyutil.NewNodePortAddresses(IPv6, cidrs): the IPv6 ones
    c.nodeport_addresses = nodeport_addresses
        .iter()
        .map(|s| s.parse().unwrap())
        .filter(|n: &ipnet::IpNet| matches!(n, ipnet::IpNet::V6(_)))
        .collect();
    c
}

fn packet(flow: &Value) -> NfPacket {
    NfPacket {
        proto: 6,
        sport: Some(43210),
        dport: Some(flow["dest_port"].as_u64().unwrap() as u16),
        tcp_flags: Some(0x02),
        in_if: Some("eth0".into()),
        ct_state: ctbits::NEW,
        ip6: Some((
            flow["source_ip"].as_str().unwrap().parse().unwrap(),
            flow["dest_ip"].as_str().unwrap().parse().unwrap(),
        )),
        ..Default::default()
    }
}

/// One walk with the `statistic` choices of `script`: the DNAT
/// destination (`[addr]:port`), whether POSTROUTING masquerades, and the
/// choices met.
type Walk<'a> = dyn Fn(&mut NfPacket, &mut EvalEnv, TableKind, Hook) -> Option<Target> + 'a;

fn branch(walk: &Walk, flow: &Value, script: Vec<bool>) -> (Option<String>, bool, Vec<bool>) {
    let mut pkt = packet(flow);
    let mut chooser = ScriptChooser {
        script,
        ..Default::default()
    };
    let mut state = NfState::default();
    let mut env = EvalEnv {
        addr: &Node,
        chooser: &mut chooser,
        state: &mut state,
        now_ns: 0,
        assume: Default::default(),
    };
    let mut dnat = None;
    if let Some(Target::Dnat { to, .. }) =
        walk(&mut pkt, &mut env, TableKind::Nat, Hook::Prerouting)
    {
        let a = to.addr_lo.unwrap();
        let port = to.ports.map(|p| p.0).or(pkt.dport).unwrap();
        dnat = Some(std::net::SocketAddr::new(a, port).to_string());
        if let (Some((s, _)), std::net::IpAddr::V6(d)) = (pkt.ip6, a) {
            pkt.ip6 = Some((s, d));
        }
        pkt.dport = Some(port);
        pkt.ct_state |= ctbits::DNAT;
    }
    let masq = dnat.is_some()
        && matches!(
            walk(&mut pkt, &mut env, TableKind::Nat, Hook::Postrouting),
            Some(Target::Masquerade { .. })
        );
    let taken = chooser.taken.iter().map(|t| t.2).collect();
    (dnat, masq, taken)
}

/// Every endpoint a flow can reach (each `statistic` branch in turn) and
/// whether it is masqueraded.
fn reach(walk: &Walk, flow: &Value) -> (String, bool) {
    let mut seen = std::collections::BTreeSet::new();
    let mut masq = false;
    let mut todo: Vec<Vec<bool>> = vec![vec![]];
    while let Some(script) = todo.pop() {
        let n = script.len();
        let (d, m, taken) = branch(walk, flow, script);
        if let Some(d) = d {
            seen.insert(d);
            masq |= m;
        }
        for j in n..taken.len() {
            if taken[j] {
                let mut s = taken[..j].to_vec();
                s.push(false);
                todo.push(s);
            }
        }
    }
    (seen.into_iter().collect::<Vec<_>>().join(", "), masq)
}

fn flows(name: &str) -> Vec<Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kube-proxy/ipv6")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn check(case: &str, walk: &Walk) -> usize {
    let mut n = 0;
    for f in flows(case) {
        let (got, masq) = reach(walk, &f);
        assert_eq!(
            got,
            f["expected_output"].as_str().unwrap(),
            "{case}: {}",
            f["name"]
        );
        assert_eq!(
            masq,
            f["expected_masquerade"].as_bool().unwrap_or(false),
            "{case}: {} masquerade",
            f["name"]
        );
        n += 1;
    }
    n
}

#[test]
fn ipv6_iptables_rules_take_kube_proxys_flows() {
    let cluster = Cluster::from_yaml(OBJECTS, "TestNodePorts").unwrap();
    let mut run = 0;
    for (case, localhost, addrs) in [
        ("iptables.TestNodePorts.ipv6-localhost-nodeports-enabled.flows.json", true, &[][..]),
        ("iptables.TestNodePorts.ipv6-localhost-nodeports-disabled.flows.json", false, &[][..]),
        (
            "iptables.TestNodePorts.ipv6-localhost-nodeports-disabled-multiple-nodeport-addresses.flows.json",
            false,
            &["192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64"][..],
        ),
    ] {
        let dump = node_iptables_save(&cluster, &cfg(localhost, addrs), &ExtraRules::default());
        let rs = Ruleset::parse_v6(&dump, case).unwrap();
        // the test's chain check: no KUBE-FIREWALL localnet rule for IPv6
        assert!(
            rs.table(TableKind::Filter)
                .chain("KUBE-FIREWALL")
                .is_none_or(|c| c.rules.is_empty()),
            "{case}"
        );
        let walk = |p: &mut NfPacket, env: &mut EvalEnv, t: TableKind, h: Hook| {
            rs.run_hook(t, h.chain(), p, env).nat
        };
        run += check(case, &walk);
    }
    assert_eq!(run, 15);
}

#[test]
fn ipv6_nftables_table_takes_kube_proxys_flows() {
    let cluster = Cluster::from_yaml(OBJECTS, "TestNodePorts").unwrap();
    let mut run = 0;
    for (case, addrs) in [
        (
            "nftables.TestNodePorts.ipv6.flows.json",
            &["192.168.0.2/32", "2001:db8::1/128"][..],
        ),
        (
            "nftables.TestNodePorts.ipv6-multiple-nodeport-addresses.flows.json",
            &[
                "192.168.0.0/24",
                "192.168.1.0/24",
                "2001:db8::/64",
                "2001:db8:1::2/128",
            ][..],
        ),
    ] {
        let text = nft_rules(&cluster, &cfg(false, addrs));
        assert!(text.starts_with("add table ip6 kube-proxy"), "{text}");
        let n = Nft::parse(&text).unwrap_or_else(|e| panic!("{case}: {e}\n{text}"));
        let walk = |p: &mut NfPacket, env: &mut EvalEnv, t: TableKind, h: Hook| {
            let (a, b) = n.chains_at6(t, h);
            let all: Vec<_> = a.into_iter().chain(b).collect();
            n.run(&all, p, env, &mut DynSets::default()).nat
        };
        run += check(case, &walk);
    }
    assert_eq!(run, 8);
}
