//! Kernel behaviours on small worlds: each test builds a topology, runs one
//! curl, and asserts the step where the packet's fate was decided.

use podpath_sim::engine::Engine;
use podpath_sim::trace::{Action, Trace};

fn run(yaml: &str) -> Trace {
    let world = podpath_sim::scenario::load(yaml, "t.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(world).run()
}

fn drops(t: &Trace) -> Vec<String> {
    t.flows
        .iter()
        .flat_map(|f| f.hops.iter())
        .flat_map(|h| h.steps.iter())
        .filter_map(|s| match &s.action {
            Action::Drop { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

/// client -- router -- server, with knobs.
fn three_hosts(router_extra: &str, client_extra: &str, horizon: &str) -> String {
    format!(
        r#"apiVersion: podpath/v1
kind: Scenario
metadata: {{name: t}}
horizon: {horizon}
hosts:
  client:
    kind: client
    devices:
      eth0: {{addrs: [10.0.1.2/24]}}
    routes:
      - {{dst: default, via: 10.0.1.1}}
{client_extra}
  router:
    kind: router
    devices:
      eth0: {{addrs: [10.0.1.1/24]}}
      eth1: {{addrs: [10.0.2.1/24]}}
      eth2: {{addrs: [10.0.3.1/24]}}
    sysctl: {{net.ipv4.ip_forward: 1}}
{router_extra}
  server:
    kind: external
    devices:
      eth0: {{addrs: [10.0.2.2/24]}}
    routes:
      - {{dst: default, via: 10.0.2.1}}
    apps:
      - {{kind: http-server, listen: ":80", routes: {{/: {{body: hi}}}}}}
links:
  - {{a: client/eth0, b: router/eth0, latency: 1ms}}
  - {{a: router/eth1, b: server/eth0, latency: 1ms}}
traffic:
  - {{id: get, from: client, http: {{get: "http://10.0.2.2/"}}}}
"#
    )
}

#[test]
fn plain_forwarding_works() {
    let t = run(&three_hosts("", "", "10s"));
    assert!(
        t.flows[0].outcome.starts_with("HTTP 200 OK"),
        "{}",
        t.flows[0].outcome
    );
    // TTL is decremented by the router: the server sees 63.
    let at_server = t.flows[0]
        .hops
        .iter()
        .find(|h| h.host == "server" && h.before.contains("[S]"))
        .unwrap();
    let cap = t
        .captures
        .iter()
        .find(|c| c.host == "server" && c.packet == at_server.packet)
        .unwrap();
    assert_eq!(cap.bytes[14 + 8], 63);
}

#[test]
fn ip_forward_off_drops_silently() {
    let y = three_hosts("", "", "200s").replace(
        "sysctl: {net.ipv4.ip_forward: 1}",
        "sysctl: {net.ipv4.ip_forward: 0}",
    );
    let t = run(&y);
    assert!(
        drops(&t)
            .iter()
            .any(|d| d.contains("net.ipv4.ip_forward=0")),
        "{:?}",
        drops(&t)
    );
    assert!(
        t.flows[0].outcome.contains("timed out"),
        "{}",
        t.flows[0].outcome
    );
}

#[test]
fn forward_policy_drop_names_the_policy() {
    let r = "    iptables: |\n      *filter\n      :FORWARD DROP [0:0]\n      COMMIT\n";
    let t = run(&three_hosts(r, "", "10s"));
    assert!(
        drops(&t).iter().any(|d| d.contains("FORWARD policy DROP")),
        "{:?}",
        drops(&t)
    );
}

#[test]
fn reject_with_tcp_reset_refuses_the_connection() {
    let r = "    iptables: |\n      *filter\n      :FORWARD ACCEPT [0:0]\n      -A FORWARD -p tcp --dport 80 -j REJECT --reject-with tcp-reset\n      COMMIT\n";
    let t = run(&three_hosts(r, "", "10s"));
    assert!(
        t.flows[0].outcome.contains("connection refused (RST)"),
        "{}",
        t.flows[0].outcome
    );
}

#[test]
fn reject_with_icmp_port_unreachable_refuses_via_icmp() {
    let r = "    iptables: |\n      *filter\n      :FORWARD ACCEPT [0:0]\n      -A FORWARD -p tcp --dport 80 -j REJECT\n      COMMIT\n";
    let t = run(&three_hosts(r, "", "10s"));
    assert!(
        t.flows[0].outcome.contains("ICMP port unreachable"),
        "{}",
        t.flows[0].outcome
    );
    // The ICMP error reaches the client as RELATED.
    assert!(t.flows[0]
        .hops
        .iter()
        .any(|h| h.host == "client" && h.steps.iter().any(|s| s.what.starts_with("RELATED"))));
}

#[test]
fn rp_filter_strict_drops_asymmetric_source_loose_accepts() {
    // The client claims a source that the router routes back via eth2.
    let client = "    rules: []\n";
    let y = three_hosts("", client, "3s").replace(
        "eth0: {addrs: [10.0.1.2/24]}",
        "eth0: {addrs: [10.0.1.2/24, 10.0.3.9/32]}",
    );
    // Make the client source its SYN from 10.0.3.9 by a route src hint.
    let y = y.replace(
        "      - {dst: default, via: 10.0.1.1}",
        "      - {dst: default, via: 10.0.1.1, src: 10.0.3.9}",
    );
    let strict = y.replace(
        "sysctl: {net.ipv4.ip_forward: 1}",
        "sysctl: {net.ipv4.ip_forward: 1, net.ipv4.conf.all.rp_filter: 1}",
    );
    let t = run(&strict);
    let d = drops(&t);
    assert!(
        d.iter().any(|d| d
            .contains("rp_filter=1 (strict) on eth0: a reply to 10.0.3.9 would leave via eth2")),
        "{d:?}"
    );
    let loose = y.replace(
        "sysctl: {net.ipv4.ip_forward: 1}",
        "sysctl: {net.ipv4.ip_forward: 1, net.ipv4.conf.all.rp_filter: 2}",
    );
    let t = run(&loose);
    assert!(
        !drops(&t).iter().any(|d| d.contains("rp_filter")),
        "{:?}",
        drops(&t)
    );
}

#[test]
fn policy_routing_by_source_picks_another_table() {
    // Traffic from 10.0.1.0/24 to 10.0.2.2 is sent to table 100, which
    // blackholes it; without the rule it would be forwarded.
    let r = "    rules:\n      - {priority: 100, from: 10.0.1.0/24, table: 100}\n    routes:\n      - {dst: 10.0.2.0/24, type: blackhole, table: 100}\n";
    let t = run(&three_hosts(r, "", "3s"));
    let d = drops(&t);
    assert!(
        d.iter()
            .any(|d| d.contains("blackhole route 10.0.2.0/24 in table 100")),
        "{d:?}"
    );
    let route = t.flows[0]
        .hops
        .iter()
        .find(|h| h.host == "router" && h.before.contains("[S]"))
        .unwrap()
        .steps
        .iter()
        .find(|s| s.point == podpath_sim::trace::Point::Routing)
        .unwrap();
    assert!(
        route.what.contains("rule 100 -> table 100"),
        "{}",
        route.what
    );
}

#[test]
fn unanswered_arp_fails_the_neighbour() {
    // The server is gone: the router's ARP for 10.0.2.2 goes unanswered.
    let y = three_hosts("", "", "5s")
        .replace("  - {a: router/eth1, b: server/eth0, latency: 1ms}\n", "");
    let y = y.replace(
        "      eth1: {addrs: [10.0.2.1/24]}",
        "      eth1: {addrs: [10.0.2.1/24]}\n      eth9: {}",
    );
    let t = run(&y);
    let d = drops(&t);
    // router/eth1 has no link: NO-CARRIER for the ARP request itself.
    assert!(d.iter().any(|d| d.contains("eth1 has no link")), "{d:?}");
    assert!(
        d.iter()
            .any(|d| d.contains("no ARP reply for 10.0.2.2 on eth1 after 3 requests")),
        "{d:?}"
    );
}

#[test]
fn routing_loop_ends_in_ttl_exceeded() {
    // The router sends 10.0.9.0/24 to the server, whose default route
    // points back at the router...
    let r = "    routes:\n      - {dst: 10.0.9.0/24, via: 10.0.2.2}\n";
    let y = three_hosts(r, "", "2s")
        .replace("http://10.0.2.2/", "http://10.0.9.9/")
        .replace(
            "    kind: external\n",
            "    kind: external\n    sysctl: {net.ipv4.ip_forward: 1}\n",
        );
    let t = run(&y);
    let d = drops(&t);
    assert!(
        d.iter().any(|d| d.contains("TTL 1 expired in transit")),
        "{d:?}"
    );
    assert!(t.flows[0]
        .hops
        .iter()
        .any(|h| h.before.contains("time exceeded")));
}

fn hairpin(hairpin: bool) -> String {
    format!(
        r#"apiVersion: podpath/v1
kind: Scenario
metadata: {{name: hairpin}}
horizon: 3s
hosts:
  node:
    kind: node
    devices:
      cni0: {{type: bridge, addrs: [10.244.0.1/24]}}
      veth1: {{master: cni0, hairpin: {hairpin}}}
    sysctl: {{net.ipv4.ip_forward: 1, net.bridge.bridge-nf-call-iptables: 1}}
    iptables: |
      *nat
      :PREROUTING ACCEPT [0:0]
      :INPUT ACCEPT [0:0]
      :OUTPUT ACCEPT [0:0]
      :POSTROUTING ACCEPT [0:0]
      :KUBE-SEP-X - [0:0]
      -A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SEP-X
      -A KUBE-SEP-X -s 10.244.0.5/32 -j MARK --set-xmark 0x4000/0x4000
      -A KUBE-SEP-X -p tcp -m tcp -j DNAT --to-destination 10.244.0.5:8080
      -A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE
      COMMIT
  pod:
    kind: pod
    devices:
      eth0: {{addrs: [10.244.0.5/24]}}
    routes:
      - {{dst: default, via: 10.244.0.1}}
    apps:
      - {{kind: http-server, listen: ":8080", routes: {{/: {{body: me}}}}}}
links:
  - {{a: pod/eth0, b: node/veth1}}
traffic:
  - {{id: self, from: pod, http: {{get: "http://10.96.0.10/"}}}}
"#
    )
}

#[test]
fn pod_reaches_itself_through_its_service_only_with_hairpin() {
    let t = run(&hairpin(true));
    let f = &t.flows[0];
    assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
    // The SYN comes back to the pod masqueraded as the bridge address, out of
    // the port it came in on.
    let back = f
        .hops
        .iter()
        .find(|h| h.host == "pod" && h.in_dev.is_some() && h.before.contains("[S]"))
        .unwrap();
    assert!(
        back.before.starts_with("TCP 10.244.0.1:") && back.before.contains("> 10.244.0.5:8080"),
        "{}",
        back.before
    );
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "node" && h.steps.iter().any(|s| s.what.contains("(hairpin)"))));
    assert!(f
        .hops
        .iter()
        .any(|h| h.steps.iter().any(|s| s.what.contains("bridged DNAT"))));
    // and the pod sees the answer from the Service address
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "pod" && h.before.starts_with("TCP 10.96.0.10:80 > 10.244.0.5:")));

    let t = run(&hairpin(false));
    assert!(
        drops(&t)
            .iter()
            .any(|d| d.contains("hairpin mode is off on veth1")),
        "{:?}",
        drops(&t)
    );
    assert!(!t.flows[0].outcome.starts_with("HTTP"));
}

/// ICMP errors to one peer are rate limited as icmpv4_xrlim_allow does
/// (REJECT's port unreachable included): a burst of six, then one per
/// net.ipv4.icmp_ratelimit (1000 ms); with the limit off (0) every
/// error goes.
#[test]
fn icmp_errors_are_rate_limited_per_peer() {
    let r = "    iptables: |\n      *filter\n      :FORWARD ACCEPT [0:0]\n      -A FORWARD -p tcp --dport 80 -j REJECT\n      COMMIT\n";
    let burst = |sysctl: &str| {
        let text = three_hosts(r, "", "20s")
            .replace(
                "  - {id: get, from: client, http: {get: \"http://10.0.2.2/\"}}",
                "  - {id: get, from: client, http: {get: \"http://10.0.2.2/\"}, count: 8, interval: 1ms}",
            )
            .replace(
                "sysctl: {net.ipv4.ip_forward: 1}",
                &format!("sysctl: {{net.ipv4.ip_forward: 1{sysctl}}}"),
            );
        let t = run(&text);
        let limited = t
            .flows
            .iter()
            .flat_map(|f| &f.hops)
            .flat_map(|h| &h.steps)
            .filter(|s| s.what.contains("rate limited (icmpv4_xrlim_allow"))
            .count();
        let first: Vec<bool> = t
            .flows
            .iter()
            .map(|f| f.outcome.contains("ICMP port unreachable"))
            .collect();
        (limited, first, t)
    };
    let (limited, refused, t) = burst("");
    let outcomes: Vec<&String> = t.flows.iter().map(|f| &f.outcome).collect();
    // the 7th and 8th SYNs draw none; a second later one token: the 7th's
    // retransmission is refused, the 8th's limited again, refused at 2 s
    assert_eq!(limited, 3, "{outcomes:#?}");
    assert!(outcomes[6].ends_with("after 1002.000 ms"), "{outcomes:#?}");
    assert!(outcomes[7].ends_with("after 2002.000 ms"), "{outcomes:#?}");
    assert!(refused.iter().all(|r| *r), "{refused:?}");
    let (limited, _, _) = burst(", net.ipv4.icmp_ratelimit: 0");
    assert_eq!(limited, 0);
}
