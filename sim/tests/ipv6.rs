//! IPv6 behaviour that the live differential tests (cli/tests/live_netns.rs)
//! do not exercise, and the scenario errors of IPv6 input: each named as
//! the kernel or iproute2 would name it.

use podpath_sim::engine::Engine;
use podpath_sim::trace::{Disposition, Trace};

fn world(hosts: &str, traffic: &str) -> String {
    format!(
        "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {{name: v6, description: x}}\nseed: 1\nhosts:\n{hosts}\nlinks:\n  - {{a: a/eth0, b: r/eth0, latency: 1ms}}\n  - {{a: r/eth1, b: b/eth0, latency: 1ms}}\ntraffic:\n{traffic}\n"
    )
}

/// a -- r -- b, r forwarding unless `r_sysctl` says otherwise.
fn three(r_sysctl: &str, b_extra: &str, traffic: &str) -> String {
    world(
        &format!(
            r#"  a:
    kind: client
    devices:
      eth0: {{addrs: ["fd00:1::2/64"]}}
    routes:
      - {{dst: default, via: "fd00:1::1", dev: eth0}}
  r:
    kind: router
    devices:
      eth0: {{addrs: ["fd00:1::1/64"]}}
      eth1: {{addrs: ["fd00:2::1/64"]}}
    sysctl: {{{r_sysctl}}}
  b:
    kind: client
    devices:
      eth0: {{addrs: ["fd00:2::2/64"]}}
    routes:
      - {{dst: default, via: "fd00:2::1", dev: eth0}}
{b_extra}"#
        ),
        traffic,
    )
}

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "v6.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn err(text: &str) -> String {
    match podpath_sim::scenario::load(text, "v6.yaml", None) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn steps(t: &Trace) -> Vec<String> {
    t.flows
        .iter()
        .flat_map(|f| &f.hops)
        .flat_map(|h| {
            h.steps
                .iter()
                .map(move |s| format!("{} {}", h.host, s.what))
        })
        .collect()
}

const PING: &str = r#"  - {id: p, from: a, ping: {dst: "fd00:2::2"}}"#;

#[test]
fn a_host_that_does_not_forward_drops_what_it_would_route() {
    let t = run(&three("net.ipv6.conf.all.forwarding: 0", "", PING));
    let s = steps(&t);
    assert!(
        s.iter()
            .any(|x| x == "r DROP: net.ipv6.conf.all.forwarding=0: not a router (ip6_forward)"),
        "{s:#?}"
    );
    assert_eq!(t.flows[0].disposition, Disposition::TimedOut);
}

#[test]
fn hop_limit_one_draws_time_exceeded_from_the_router() {
    let t = run(&three(
        "net.ipv6.conf.all.forwarding: 1",
        "",
        r#"  - {id: p, from: a, ping: {dst: "fd00:2::2", hopLimit: 1}}"#,
    ));
    assert!(
        t.flows[0]
            .outcome
            .starts_with("From fd00:1::1 icmp_seq=1 Time exceeded: Hop limit"),
        "{}",
        t.flows[0].outcome
    );
}

#[test]
fn disable_ipv6_on_the_far_device_drops_at_ipv6_rcv() {
    let t = run(&three(
        "net.ipv6.conf.all.forwarding: 1, net.ipv6.conf.eth1.disable_ipv6: 1",
        "",
        PING,
    ));
    let s = steps(&t);
    // r's eth1 has no IPv6 at all: its route to fd00:2::/64 is gone
    assert!(
        s.iter()
            .any(|x| x.starts_with("r DROP: fd00:2::2: no route (ip6_null_entry)")),
        "{s:#?}"
    );
    assert!(
        t.flows[0]
            .outcome
            .starts_with("From fd00:1::1 icmp_seq=1 Destination unreachable: No route"),
        "{}",
        t.flows[0].outcome
    );
}

#[test]
fn an_address_nobody_holds_fails_after_three_solicitations() {
    let t = run(&three(
        "net.ipv6.conf.all.forwarding: 1",
        "",
        r#"  - {id: p, from: a, ping: {dst: "fd00:2::99"}}"#,
    ));
    let s = steps(&t);
    let ns = s
        .iter()
        .filter(|x| x.starts_with("r fd00:2::99 on eth1 is INCOMPLETE"))
        .count();
    assert_eq!(ns, 1, "{s:#?}");
    assert!(
        s.iter().any(|x| x
            .contains("no neighbor advertisement for fd00:2::99 on eth1 after 3 solicitations")),
        "{s:#?}"
    );
}

/// A packet with Next Header 253 (experimental, RFC 3692) keeps its
/// protocol and bytes through a parse (no traffic entry sends one; the
/// input path answers it with a parameter problem, code 1).
#[test]
fn an_unknown_next_header_stays_raw_on_the_wire() {
    use podpath_sim::wire::{Ipv6Repr, L4};
    let mut ip = Ipv6Repr::new(
        "fd00:1::2".parse().unwrap(),
        "fd00:2::2".parse().unwrap(),
        64,
        0,
        L4::Raw(vec![0; 8]),
    );
    ip.proto = 253;
    let back = Ipv6Repr::parse(&ip.emit()).unwrap();
    assert_eq!(back.proto, 253);
    assert!(matches!(back.l4, L4::Raw(_)));
}

#[test]
fn ipv6_scenario_errors_name_the_place_and_the_reason() {
    let one = |dev: &str, routes: &str, traffic: &str| {
        format!(
            "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {{name: v6, description: x}}\nhosts:\n  a:\n    kind: client\n    devices:\n      eth0: {dev}\n    routes:\n{routes}\ntraffic:\n{traffic}\n"
        )
    };
    let none = "      []";
    let e = err(&one(r#"{addrs: ["fd00::1/64 optimistic"]}"#, none, "  []"));
    assert!(
        e.contains("v6.yaml:8:") && e.contains("unknown flag 'optimistic'"),
        "{e}"
    );
    let e = err(&one(r#"{addrs: ["ff02::1/64"]}"#, none, "  []"));
    assert!(e.contains("Invalid argument"), "{e}");
    let e = err(&one(r#"{addrs: ["fd00::1/64"], mtu: 1200}"#, none, "  []"));
    assert!(e.contains("IPv6 needs at least 1280"), "{e}");
    let e = err(&one(
        r#"{addrs: ["fd00::1/64"]}"#,
        r#"      - {dst: default, via: "fe80::1"}"#,
        "  []",
    ));
    assert!(
        e.contains("gateway fe80::1 is link-local: add 'dev'"),
        "{e}"
    );
    let e = err(&one(
        r#"{addrs: ["fd00::1/64"]}"#,
        r#"      - {dst: default, via: "fd00:9::1"}"#,
        "  []",
    ));
    assert!(e.contains("not on a connected IPv6 subnet"), "{e}");
    let e = err(&one(
        r#"{addrs: ["fd00::1/64"]}"#,
        r#"      - {dst: "fd00:5::1/64", dev: eth0}"#,
        "  []",
    ));
    assert!(e.contains("has host bits set: write fd00:5::/64"), "{e}");
    let e = err(&one(
        r#"{addrs: ["fd00::1/64"]}"#,
        none,
        r#"  - {id: p, from: a, ping: {dst: "fd00::2", hopLimit: 0}}"#,
    ));
    assert!(e.contains("out of range: 1 <= value <= 255"), "{e}");
    let e = err(&one(
        r#"{addrs: ["10.0.0.1/24"]}"#,
        none,
        r#"  - {id: p, from: a, ping: {dst: "10.0.0.2", count: 2}}"#,
    ));
    assert!(e.contains("count applies to IPv6 pings only"), "{e}");
    let e = err(&one(
        r#"{addrs: ["fd00::1/64"]}"#,
        none,
        r#"  - {id: p, from: a, ping: {dst: "fd00::2", df: true}}"#,
    ));
    assert!(e.contains("'df' is for IPv4"), "{e}");
}

#[test]
fn the_same_run_gives_the_same_bytes() {
    let text = three(
        "net.ipv6.conf.all.forwarding: 1",
        "",
        r#"  - {id: p, from: a, ping: {dst: "fd00:2::2", size: 3000, count: 2}}"#,
    );
    let a = serde_json::to_string(&run(&text)).unwrap();
    let b = serde_json::to_string(&run(&text)).unwrap();
    assert_eq!(a, b);
    // 3000 data bytes leave a in three fragments (1500 MTU): id shared
    let t = run(&text);
    let frags = t
        .captures
        .iter()
        .filter(|c| c.host == "a" && c.dev == "eth0")
        .filter_map(|c| podpath_sim::wire::Frame::parse(&c.bytes).ok())
        .filter_map(|f| f.ipv6().and_then(|i| i.fragment()))
        .count();
    assert!(frags >= 3, "{frags}");
}

/// WireGuard over an IPv6 network: the tunnel carries IPv4 between two
/// hosts whose endpoints are IPv6 (`[fd00::2]:41641`); the transport
/// messages go in UDP over IPv6 and come back the same way.
#[test]
fn wireguard_runs_over_ipv6_endpoints() {
    let text = r#"apiVersion: podpath/v1
kind: Scenario
metadata: {name: wg6, description: x}
seed: 2
hosts:
  a:
    kind: client
    devices:
      eth0: {addrs: ["fd00::1/64"]}
      wg0:
        type: tun
        mtu: 1420
        addrs: [100.64.0.1/32]
        wireguard:
          name: a
          listenPort: 41641
          peers:
            - {name: b, allowedIPs: [100.64.0.2/32], endpoint: "[fd00::2]:41641"}
    routes:
      - {dst: 100.64.0.0/10, dev: wg0}
  b:
    kind: client
    devices:
      eth0: {addrs: ["fd00::2/64"]}
      wg0:
        type: tun
        mtu: 1420
        addrs: [100.64.0.2/32]
        wireguard:
          name: b
          listenPort: 41641
          peers:
            - {name: a, allowedIPs: [100.64.0.1/32], endpoint: "[fd00::1]:41641"}
    routes:
      - {dst: 100.64.0.0/10, dev: wg0}
links:
  - {a: a/eth0, b: b/eth0, latency: 1ms}
traffic:
  - {id: p, from: a, ping: {dst: 100.64.0.2}}
"#;
    let t = run(text);
    assert!(
        t.flows[0].outcome.starts_with("64 bytes from 100.64.0.2"),
        "{}",
        t.flows[0].outcome
    );
    let s = steps(&t);
    assert!(
        s.iter().any(|x| x.starts_with(
            "a wg0: 100.64.0.2 is in peer b's allowed-ips 100.64.0.2/32: seal 84 bytes (counter 0) into UDP :41641 > [fd00::2]:41641"
        )),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.starts_with("b wg0: open counter 0 from peer a ([fd00::1]:41641)")),
        "{s:#?}"
    );
    // on the wire: UDP over IPv6 with a valid checksum
    let wg6 = t
        .captures
        .iter()
        .filter(|c| c.host == "a" && c.dev == "eth0")
        .filter_map(|c| {
            podpath_sim::wire::Frame::parse(&c.bytes)
                .ok()
                .map(|f| (f, c))
        })
        .filter(|(f, _)| f.ipv6().is_some_and(|i| i.ports() == Some((41641, 41641))))
        .inspect(|(_, c)| podpath_sim::wire::verify_checksums(&c.bytes).unwrap())
        .count();
    assert_eq!(wg6, 2, "the request out and the reply in");
}

/// `ip -6 rule`: a rule's action ends the lookup (prohibit: ICMPv6
/// administratively prohibited from the router), `not` inverts a rule,
/// an address of each family in one rule is refused as iproute2 refuses
/// it, and `family` names IPv4 or IPv6 alone.
#[test]
fn ipv6_rules_decide_before_the_tables() {
    let r = |rules: &str| {
        three("net.ipv6.conf.all.forwarding: 1", "", PING).replace(
            "    sysctl: {net.ipv6.conf.all.forwarding: 1}\n",
            &format!("    sysctl: {{net.ipv6.conf.all.forwarding: 1}}\n    rules:\n{rules}"),
        )
    };
    let t = run(&r(
        "      - {priority: 10, from: \"fd00:1::/64\", to: \"fd00:2::/64\", action: prohibit}\n",
    ));
    assert!(
        t.flows[0].outcome.starts_with(
            "From fd00:1::1 icmp_seq=1 Destination unreachable: Administratively prohibited"
        ),
        "{}",
        t.flows[0].outcome
    );
    // `not from fd00:1::/64`: the request's source is in it, so the rule
    // does not apply to it and main routes it; the reply's is not: the
    // router prohibits the reply
    let t = run(&r(
        "      - {priority: 10, not: true, from: \"fd00:1::/64\", action: prohibit}\n",
    ));
    let s = steps(&t);
    assert!(
        s.iter().any(|x| x == "r DROP: fd00:1::2: prohibit"),
        "{s:#?}"
    );
    assert_eq!(t.flows[0].disposition, Disposition::TimedOut, "{s:#?}");
    // a table without the route: the lookup goes on to main
    let t = run(&r(
        "      - {priority: 10, to: \"fd00:2::/64\", table: 7}\n",
    ));
    assert!(t.flows[0].disposition.answered(), "{}", t.flows[0].outcome);
    let e = err(&r(
        "      - {priority: 10, from: \"fd00:1::/64\", to: 10.0.0.0/8, table: 7}\n",
    ));
    assert!(e.contains("Invalid prefix for given prefix family"), "{e}");
    let e = err(&r("      - {priority: 10, family: inet7, table: 7}\n"));
    assert!(e.contains("'inet7': expected inet or inet6"), "{e}");
    let e = err(&r(
        "      - {priority: 10, family: inet, from: \"fd00:1::/64\", table: 7}\n",
    ));
    assert!(e.contains("Invalid prefix for given prefix family"), "{e}");
}

/// ICMPv6 errors to one peer are rate limited as icmpv6_xrlim_allow does:
/// a burst of six, then one per 250 ms for a peer behind a /64 route
/// (net.ipv6.icmp.ratelimit 1000 ms shifted by (128 - 64) / 32); the
/// connections whose SYN drew no error retry and are refused later.
#[test]
fn icmpv6_errors_are_rate_limited_per_peer() {
    let text = three(
        "net.ipv6.conf.all.forwarding: 1",
        "",
        r#"  - {id: c, from: a, http: {get: "http://[fd00:2::2]/"}, count: 8, interval: 1ms}"#,
    )
    .replace(
        "    sysctl: {net.ipv6.conf.all.forwarding: 1}\n",
        "    sysctl: {net.ipv6.conf.all.forwarding: 1}\n    rules:\n      - {priority: 10, to: \"fd00:2::/64\", action: prohibit}\n",
    );
    let t = run(&text);
    let s = steps(&t);
    let limited = s
        .iter()
        .filter(|x| x.starts_with("r no ICMPv6") && x.contains("rate limited (icmpv6_xrlim_allow"))
        .count();
    let sent = s
        .iter()
        .filter(|x| x.starts_with("r ICMPv6 unreachable prohibited to fd00:1::2"))
        .count();
    assert_eq!(limited, 2, "{s:#?}");
    // the six of the burst, then the two retries a second later
    assert_eq!(sent, 8, "{s:#?}");
    assert_eq!(t.flows.len(), 8);
    assert!(t.flows.iter().all(|f| !f.disposition.answered()));
}
