use super::*;
use crate::net::netfilter::nftables::Nft;

/// kube-network-policies' own expectation
/// (`pkg/dataplane/controller_test.go` TestNetworkPolicies_SyncRules,
/// "default with pod IPs", at f67f0fb) with its IPv6 element left out
/// (podpath's pods are IPv4: the set is printed empty).
const UPSTREAM: &str = "table inet kube-network-policies {
	set podips-v4 {
		type ipv4_addr
		elements = { 10.0.0.1 }
	}

	set podips-v6 {
		type ipv6_addr
	}

	chain postrouting {
		type filter hook postrouting priority srcnat - 5; policy accept;
		udp dport 53 accept
		icmpv6 type nd-router-solicit accept
		icmpv6 type nd-router-advert accept
		icmpv6 type nd-neighbor-solicit accept
		icmpv6 type nd-neighbor-advert accept
		icmpv6 type nd-redirect accept
		meta skuid 0 counter packets 0 bytes 0 accept
		ct label 28 ct state established,related counter packets 0 bytes 0 accept
		ip saddr @podips-v4 queue flags bypass to 102
		ip daddr @podips-v4 queue flags bypass to 102
		ip6 saddr @podips-v6 queue flags bypass to 102
		ip6 daddr @podips-v6 queue flags bypass to 102
		ct label set 28
	}

	chain input {
		type filter hook input priority srcnat + 1; policy accept;
		iifname \"lo\" accept
		ip saddr @podips-v4 ct state new queue flags bypass to 102
		ip6 saddr @podips-v6 ct state new queue flags bypass to 102
	}

	chain prerouting {
		type filter hook prerouting priority dstnat + 5; policy accept;
		meta l4proto != udp accept
		udp dport != 53 accept
		ip saddr @podips-v4 queue flags bypass to 102
		ip daddr @podips-v4 queue flags bypass to 102
		ip6 saddr @podips-v6 queue flags bypass to 102
		ip6 daddr @podips-v6 queue flags bypass to 102
	}
}
";

#[test]
fn the_table_is_the_one_upstream_expects() {
    let cfg = Config {
        table: "kube-network-policies".into(),
        queue: 102,
        ..Config::default()
    };
    let got = nft_text(&cfg, &["10.0.0.1".parse().unwrap()]);
    assert_eq!(got, UPSTREAM);
}

#[test]
fn the_accept_label_is_generate_label_masks_bit() {
    // generateLabelMask(100): byte 3, bit 4 of the 16 bytes
    assert_eq!(Config::default().label_bit(), 28);
    let c = |i| {
        Config {
            ct_label_accept: i,
            ..Config::default()
        }
        .label_bit()
    };
    assert_eq!(c(0), 120);
    assert_eq!(c(127), 7);
}

#[test]
fn kindnetds_table_loads_with_nothing_unmodelled() {
    let t = nft_text(&Config::default(), &["10.244.1.5".parse().unwrap()]);
    assert!(t.starts_with("table inet kindnet-network-policies {"));
    assert!(t.contains("ip saddr @podips-v4 queue flags bypass to 101"));
    let n = Nft::parse(&t).unwrap();
    assert_eq!(n.unmodelled, vec![], "{t}");
}

const OBJECTS: &str = "
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
---
apiVersion: v1
kind: Namespace
metadata: {name: qa, labels: {team: qa}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  nodeName: n1
  containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: t, namespace: qa, labels: {app: t}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.244.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: hn, namespace: default, labels: {app: web}}
spec: {nodeName: n2, hostNetwork: true, containers: [{name: c}]}
status: {podIP: 172.18.0.3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-http-from-qa, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: qa}}}], ports: [{port: http}]}]
";

fn syn(src: [u8; 4], dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut tcp = etherparse::TcpHeader::new(40000, dport, 1, 64240);
    tcp.syn = true;
    let ip = crate::wire::Ipv4Repr::new(
        Ipv4Addr::from(src),
        Ipv4Addr::from(dst),
        64,
        1,
        crate::wire::L4::Tcp {
            hdr: tcp,
            payload: Vec::new(),
        },
    );
    ip.emit()
}

#[test]
fn managed_ips_are_the_local_selected_pods_host_network_ones_too() {
    let c = Cluster::from_yaml(OBJECTS, "t").unwrap();
    assert_eq!(managed_ips(&c, "n1"), vec![Ipv4Addr::new(10, 244, 1, 5)]);
    // getLocalPodsForNetworkPolicy lists the host-network pod (its status
    // holds the node's address); the evaluator never finds it by address
    assert_eq!(managed_ips(&c, "n2"), vec![Ipv4Addr::new(172, 18, 0, 3)]);
}

#[test]
fn the_listener_parses_the_packet_and_answers() {
    let c = Cluster::from_yaml(OBJECTS, "t").unwrap();
    let ev = Evaluator::new(&c, Config::default());
    let ask = |b: &[u8]| {
        ev.on_packet(&QueuedPacket {
            queue: 101,
            id: 1,
            hook: crate::net::netfilter::Hook::Postrouting,
            payload: b,
            indev: None,
            outdev: None,
            mark: 0,
            ct_state: crate::net::netfilter::ctbits::NEW,
        })
    };
    let ok = ask(&syn([10, 244, 0, 10], [10, 244, 1, 5], 8080));
    assert_eq!(ok.verdict, QueueVerdict::Accept);
    assert_eq!(ok.ct_labels, 1 << 28);
    assert!(ok.steps.iter().any(|(_, a)| matches!(a,
        Action::Policy { verdict, rule: Some(r), .. }
            if verdict == "allowed" && r == "default/web-http-from-qa ingress[0]")));
    // another port: the named port is 8080 only
    let no = ask(&syn([10, 244, 0, 10], [10, 244, 1, 5], 8081));
    assert_eq!(no.verdict, QueueVerdict::Drop);
    assert!(no.why.contains("default/web-http-from-qa"), "{}", no.why);
    // the node's address is no pod: an ipBlock-less rule does not admit it
    let node = ask(&syn([172, 18, 0, 3], [10, 244, 1, 5], 8080));
    assert_eq!(node.verdict, QueueVerdict::Drop);
    // too short to parse: failOpen's default verdict
    assert_eq!(ask(&[0x45, 0]).verdict, QueueVerdict::Accept);
}
