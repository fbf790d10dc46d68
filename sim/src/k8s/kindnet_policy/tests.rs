use super::*;
use crate::net::netfilter::nftables::Nft;

/// kube-network-policies' own expectation
/// (`pkg/dataplane/controller_test.go` TestNetworkPolicies_SyncRules,
/// "default with pod IPs", at f67f0fb: the evaluator's IPs 10.0.0.1 and
/// fd00::1).
const UPSTREAM: &str = "table inet kube-network-policies {
	set podips-v4 {
		type ipv4_addr
		elements = { 10.0.0.1 }
	}

	set podips-v6 {
		type ipv6_addr
		elements = { fd00::1 }
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
    let got = nft_text(
        &cfg,
        &["10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()],
    );
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
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    assert_eq!(managed_ips(&c, "n1"), vec![v4(10, 244, 1, 5)]);
    // getLocalPodsForNetworkPolicy lists the host-network pod (its status
    // holds the node's address); the evaluator never finds it by address
    assert_eq!(managed_ips(&c, "n2"), vec![v4(172, 18, 0, 3)]);
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

/// An IPv6 packet as the wire has it: the fixed header (next header
/// `next`), the extension headers `ext`, then `l4`.
fn v6(next: u8, ext: &[u8], l4: &[u8]) -> Vec<u8> {
    let mut b = vec![0x60, 0, 0, 0];
    b.extend(((ext.len() + l4.len()) as u16).to_be_bytes());
    b.extend([next, 64]);
    b.extend("fd00:10:244::9".parse::<Ipv6Addr>().unwrap().octets());
    b.extend("fd00:10:244:1::5".parse::<Ipv6Addr>().unwrap().octets());
    b.extend(ext);
    b.extend(l4);
    b
}

/// `ParsePacket` on IPv6: the addresses, the L4 header past hop-by-hop,
/// routing and destination options headers; a fragment other than the
/// first has no ports; shorter than 48 bytes, or an extension header
/// running past the packet, does not parse.
#[test]
fn ipv6_packets_parse_as_parse_packet_reads_them() {
    // a TCP header's first 20 bytes: ports 40000 -> 8080
    let mut tcp = vec![0x9c, 0x40, 0x1f, 0x90];
    tcp.extend([0; 8]);
    tcp.extend([0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0]);
    let want = |proto, sport, dport| PacketInfo {
        src: "fd00:10:244::9".parse().unwrap(),
        dst: "fd00:10:244:1::5".parse().unwrap(),
        proto,
        sport,
        dport,
    };
    assert_eq!(
        PacketInfo::parse(&v6(6, &[], &tcp)),
        Some(want("TCP", 40000, 8080))
    );
    // hop-by-hop (8 bytes: next TCP, length 0, a PadN), then a
    // destination options header of 16 (length 1)
    let hbh = [60, 0, 1, 4, 0, 0, 0, 0];
    let mut dst = vec![6, 1, 1, 12];
    dst.extend([0; 12]);
    let ext: Vec<u8> = hbh.iter().chain(&dst).copied().collect();
    assert_eq!(
        PacketInfo::parse(&v6(0, &ext, &tcp)),
        Some(want("TCP", 40000, 8080))
    );
    // a fragment header: the first fragment (offset 0, M set) has them
    let first = [17, 0, 0, 1, 0, 0, 0, 7];
    let udp = [0x00, 0x35, 0x9c, 0x41, 0, 8, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        PacketInfo::parse(&v6(44, &first, &udp)),
        Some(want("UDP", 53, 40001))
    );
    // a later fragment (offset 185 x 8) has no L4 header
    let later = [17, 0, 0x05, 0xc8, 0, 0, 0, 7];
    assert_eq!(
        PacketInfo::parse(&v6(44, &later, &udp)),
        Some(want("", 0, 0))
    );
    // ICMPv6: no ports
    let echo = [128, 0, 0, 0, 0, 1, 0, 1];
    assert_eq!(PacketInfo::parse(&v6(58, &[], &echo)), Some(want("", 0, 0)));
    // 47 bytes: ErrorTooShort
    assert_eq!(PacketInfo::parse(&v6(6, &[], &tcp)[..47]), None);
    // a hop-by-hop header claiming 64 bytes in a 56-byte packet
    assert_eq!(
        PacketInfo::parse(&v6(0, &[6, 7, 0, 0, 0, 0, 0, 0], &[0; 8])),
        None
    );
    // an unknown version
    let mut bad = v6(6, &[], &tcp);
    bad[0] = 0x50;
    assert_eq!(PacketInfo::parse(&bad), None);
}
