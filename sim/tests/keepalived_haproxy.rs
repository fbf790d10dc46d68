//! Seed 003: keepalived (VRRP) holds the VIP, HAProxy on the VIP's holder
//! balances to the nodes' NodePort, kube-proxy and flannel take it to the
//! pod. Adverts on the wire, failover times from RFC 3768's timers, the
//! balance algorithms, health checks taking a dead node out.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const SCENARIO: &str = include_str!("../../scenarios/keepalived-nodeport.yaml");

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "keepalived-nodeport.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn flow<'a>(t: &'a Trace, id: &str) -> &'a podpath_sim::trace::FlowTrace {
    t.flows
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no flow {id}"))
}

/// The server HAProxy chose for a client flow, and on which LB.
fn chosen(t: &Trace, id: &str) -> (String, String) {
    let f = flow(t, id);
    f.hops
        .iter()
        .find_map(|h| {
            h.steps.iter().find_map(|s| {
                let w = s.what.split("-> server ").nth(1)?;
                Some((h.host.clone(), w.split(' ').next()?.to_string()))
            })
        })
        .unwrap_or_else(|| panic!("{id}: no HAProxy decision"))
}

fn event_time(t: &Trace, what: &str) -> u64 {
    t.events
        .iter()
        .find(|e| e.what.contains(what))
        .unwrap_or_else(|| panic!("no event {what:?} in {:#?}", t.events))
        .time_ns
}

#[test]
fn vip_haproxy_nodeport_pod_and_failover() {
    let t = run(SCENARIO);
    // every request answered by the pod
    for id in ["vip#1", "vip#2", "vip#3", "after-failover"] {
        assert!(
            flow(&t, id).outcome.starts_with("HTTP 200 OK in ")
                && flow(&t, id).outcome.contains("my-app-6d4f8c7b9-x2x5k"),
            "{id}: {}",
            flow(&t, id).outcome
        );
    }
    // roundrobin over the three nodes, on the master
    assert_eq!(chosen(&t, "vip#1"), ("lb1".into(), "node-110".into()));
    assert_eq!(chosen(&t, "vip#2"), ("lb1".into(), "node-111".into()));
    assert_eq!(chosen(&t, "vip#3"), ("lb1".into(), "node-112".into()));
    // the hops of the seed: client -> VIP:30000 on lb1; lb1 -> node:30000;
    // node DNAT to the pod 10.244.1.2:9376
    let f = flow(&t, "vip#1");
    let steps: Vec<(String, String)> = f
        .hops
        .iter()
        .flat_map(|h| {
            h.steps
                .iter()
                .map(move |s| (h.host.clone(), s.what.clone()))
        })
        .collect();
    assert!(steps
        .iter()
        .any(|(h, w)| h == "lb1" && w.contains("SYN to listening socket *:30000 (haproxy lb1)")));
    assert!(steps.iter().any(|(h, w)| h == "lb1"
        && w.contains("connect() from 10.1.1.101:")
        && w.contains("to 10.1.1.110:30000")));
    assert!(steps
        .iter()
        .any(|(h, w)| h == "node-110" && w.contains("DNAT: 10.1.1.110:30000 -> 10.244.1.2:9376")));
    assert!(steps
        .iter()
        .any(|(h, w)| h == "node-110" && w.contains("encapsulate VNI 1")));
    // VRRP: lb1 master at 0 (VIP added), stops at 2 s with a priority-0
    // advert; lb2 takes over Skew_Time = (256-90)/256 s later
    assert_eq!(event_time(&t, "lb1: keepalived lb1 VI_1: MASTER"), 0);
    assert_eq!(event_time(&t, "ip addr del 10.1.1.200/24"), 2_000_000_000);
    let takeover = event_time(&t, "lb2: keepalived lb2 VI_1: MASTER");
    // the priority-0 advert reaches lb2 after the LAN's latency
    assert!(
        (2_648_437_000..2_648_437_000 + 1_000_000).contains(&takeover),
        "{takeover}"
    );
    // after the failover, the client's neighbour entry was moved by the
    // gratuitous ARP and the request goes through lb2
    assert_eq!(chosen(&t, "after-failover").0, "lb2");
    let ka = flow(&t, "keepalived lb1");
    let adverts: Vec<&podpath_sim::trace::Hop> = ka
        .hops
        .iter()
        .filter(|h| h.host == "lb1" && h.steps.iter().any(|s| s.what.contains("VRRP advert")))
        .collect();
    // adverts at 0, 1 and 2 s (the timer fires before SIGTERM is handled),
    // then the goodbye with priority 0
    let times: Vec<u64> = adverts.iter().map(|h| h.time_ns).collect();
    assert_eq!(times, [0, 1_000_000_000, 2_000_000_000, 2_000_000_000]);
    assert!(adverts[3]
        .steps
        .iter()
        .any(|s| s.what.contains("priority 0")));
    assert!(adverts[2]
        .steps
        .iter()
        .any(|s| s.what.contains("priority 100")));
    assert!(
        adverts[0]
            .before
            .contains("10.1.1.101 > 224.0.0.18 proto 112"),
        "{}",
        adverts[0].before
    );
    let garps = ka
        .hops
        .iter()
        .filter(|h| h.steps.iter().any(|s| s.what.contains("gratuitous ARP")))
        .count();
    assert_eq!(garps, 5);
}

/// A master that dies without a word (node down): the backup waits the
/// whole Master_Down_Interval, 3 * 1 s + 0.648 s after the last advert.
#[test]
fn silent_master_failure_takes_master_down_interval() {
    let t = run(&SCENARIO.replace("{at: 2s, stop: lb1/keepalived}", "{at: 2s, nodeDown: lb1}"));
    let takeover = event_time(&t, "lb2: keepalived lb2 VI_1: MASTER");
    // last advert heard at 1 s (+ LAN latency); 1 s + 3.648437 s
    assert!(
        (4_648_437_000..4_648_437_000 + 1_000_000).contains(&takeover),
        "{takeover}"
    );
    assert_eq!(chosen(&t, "after-failover").0, "lb2");
    assert!(flow(&t, "after-failover")
        .outcome
        .starts_with("HTTP 200 OK"));
}

/// Health checks: a node that went down is taken out after `fall` (3)
/// failed checks, and no request goes to it after that.
#[test]
fn failed_health_checks_take_a_node_out() {
    let text = SCENARIO
        .replace("check inter 10s", "check inter 500ms")
        .replace(
            "  - {at: 2s, stop: lb1/keepalived}",
            "  - {at: 0s, nodeDown: node-112}",
        )
        .replace(
            "count: 3, start: 100ms, interval: 100ms",
            "count: 6, start: 2s, interval: 100ms",
        );
    let t = run(&text);
    let down = event_time(&t, "Server nodes/node-112 is DOWN");
    assert!(down < 2_000_000_000, "{down}");
    let picks: Vec<String> = (1..=6).map(|k| chosen(&t, &format!("vip#{k}")).1).collect();
    assert!(!picks.contains(&"node-112".to_string()), "{picks:?}");
    assert_eq!(picks.iter().filter(|p| *p == "node-110").count(), 3);
    for k in 1..=6 {
        assert!(flow(&t, &format!("vip#{k}"))
            .outcome
            .starts_with("HTTP 200 OK"));
    }
}

/// balance source: one client always reaches the same node; leastconn and
/// random spread; every request still reaches the pod.
#[test]
fn balance_algorithms_over_many_requests() {
    let base = SCENARIO.replace(
        "count: 3, start: 100ms, interval: 100ms",
        "count: 12, start: 100ms, interval: 10ms",
    );
    let picks = |algo: &str| -> Vec<String> {
        let t = run(&base.replace("balance roundrobin", &format!("balance {algo}")));
        (1..=12)
            .map(|k| {
                let id = format!("vip#{k}");
                assert!(
                    flow(&t, &id).outcome.starts_with("HTTP 200 OK"),
                    "{algo} {id}"
                );
                chosen(&t, &id).1
            })
            .collect()
    };
    let src = picks("source");
    assert!(src.iter().all(|p| *p == src[0]), "{src:?}");
    let rr = picks("roundrobin");
    for n in ["node-110", "node-111", "node-112"] {
        assert_eq!(rr.iter().filter(|p| *p == n).count(), 4, "{rr:?}");
    }
    // sequential requests: every server idle each time, leastconn turns
    // through them as roundrobin does
    let lc = picks("leastconn");
    for n in ["node-110", "node-111", "node-112"] {
        assert_eq!(lc.iter().filter(|p| *p == n).count(), 4, "{lc:?}");
    }
    let rnd = picks("random");
    assert!(rnd.iter().any(|p| *p != rnd[0]), "{rnd:?}");
    // weights: node-110 weight 2 gets half of roundrobin's picks
    let t = run(&base.replace("10.1.1.110:30000 check", "10.1.1.110:30000 weight 2 check"));
    let w: Vec<String> = (1..=12)
        .map(|k| chosen(&t, &format!("vip#{k}")).1)
        .collect();
    assert_eq!(w.iter().filter(|p| *p == "node-110").count(), 6, "{w:?}");
}

#[test]
fn config_errors_point_into_the_scenario() {
    let bad = SCENARIO.replacen(
        "              balance roundrobin",
        "              balance uri",
        1,
    );
    let e = podpath_sim::scenario::load(&bad, "k.yaml", None)
        .err()
        .expect("error");
    let line = SCENARIO
        .lines()
        .position(|l| l.contains("balance roundrobin"))
        .expect("line")
        + 1;
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains("balance 'uri' is not modelled"), "{e}");
    assert_eq!(e.key, "hosts.lb1.apps[1].config");
    let bad = SCENARIO.replacen("priority 100", "priority 0", 1);
    let e = podpath_sim::scenario::load(&bad, "k.yaml", None)
        .err()
        .expect("error");
    assert!(e.message.contains("priority must be 1-255"), "{e}");
    assert_eq!(e.key, "hosts.lb1.apps[0].config");
}

/// `podpath paths` branches on HAProxy's `balance random` (random(2): two
/// weighted draws, the less loaded wins): 3 x 3 draws of 1/9 each, every
/// node reached, probabilities summing to 1; roundrobin has one path.
#[test]
fn paths_branch_on_balance_random() {
    let text = SCENARIO.replace("balance roundrobin", "balance random");
    let make = || podpath_sim::scenario::load(&text, "k.yaml", None).unwrap();
    let paths = podpath_sim::engine::paths::enumerate(&make, "after-failover", 100).unwrap();
    assert_eq!(paths.len(), 9);
    let sum: f64 = paths.iter().map(|p| p.probability).sum();
    assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    for p in &paths {
        assert!((p.probability - 1.0 / 9.0).abs() < 1e-9);
        assert!(p.outcome.starts_with("HTTP 200 OK"), "{}", p.outcome);
        assert!(p
            .decisions
            .iter()
            .all(|d| d.0.starts_with("haproxy backend nodes random draw ")));
    }
    for node in ["10.1.1.110:30000", "10.1.1.111:30000", "10.1.1.112:30000"] {
        assert!(
            paths.iter().any(|p| p
                .rewrites
                .iter()
                .any(|r| r.contains(&format!("DNAT: {node} ->")))),
            "{node}"
        );
    }
    let make = || podpath_sim::scenario::load(SCENARIO, "k.yaml", None).unwrap();
    assert_eq!(
        podpath_sim::engine::paths::enumerate(&make, "after-failover", 100)
            .unwrap()
            .len(),
        1
    );
}

/// HAProxy's connections on the wire as the real HAProxy 2.6 leaves them
/// (checked against a live run, cli/tests/live_netns.rs
/// keepalived_vip_haproxy_nodeport): a layer-4 check is SYN, SYN-ACK, RST
/// (TCP_QUICKACK off, closed without lingering); in mode tcp the client's
/// FIN is forwarded to the server and HAProxy's FIN to the client follows
/// the server's FIN.
#[test]
fn haproxy_checks_end_with_rst_and_fins_are_forwarded() {
    use podpath_sim::trace::Direction;
    use podpath_sim::wire::{tcp_flags_str, Frame, L3, L4};
    let t = run(SCENARIO);
    // (src, sport, dst, dport, flags) of TCP frames lb1 sends on eth0
    type Seg = (String, u16, String, u16, String);
    let out: Vec<Seg> = t
        .captures
        .iter()
        .filter(|c| c.host == "lb1" && c.dev == "eth0" && c.dir == Direction::Out)
        .filter_map(|c| match Frame::parse(&c.bytes).ok()?.payload {
            L3::Ipv4(ip) => match &ip.l4 {
                L4::Tcp { hdr, .. } => Some((
                    ip.src().to_string(),
                    hdr.source_port,
                    ip.dst().to_string(),
                    hdr.destination_port,
                    tcp_flags_str(hdr),
                )),
                _ => None,
            },
            _ => None,
        })
        .collect();
    // the first connection lb1 opens to node-110 is its health check
    let check = out
        .iter()
        .find(|f| f.2 == "10.1.1.110" && f.4 == "S")
        .expect("a check SYN")
        .1;
    let flags: Vec<&str> = out
        .iter()
        .filter(|f| f.1 == check && f.2 == "10.1.1.110")
        .map(|f| f.4.as_str())
        .collect();
    assert_eq!(flags, ["S", "R."], "the check's frames from lb1");
    // vip#1: lb1's FIN to the server goes before its FIN to the client
    let pos = |p: &dyn Fn(&Seg) -> bool| out.iter().position(p).expect("frame");
    let to_client_fin = pos(&|f| f.0 == "10.1.1.200" && f.4.contains('F'));
    let to_server_fin = pos(&|f| f.0 == "10.1.1.101" && f.1 != check && f.4.contains('F'));
    assert!(to_server_fin < to_client_fin, "{out:#?}");
}
