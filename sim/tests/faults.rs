//! The fault timeline: a link down and up while a connection is being made
//! (the SYN is retransmitted on Linux's schedule and gets through after the
//! link comes back), a server process stopped (RST), conntrack flushed, a
//! lossy link (data retransmitted on the RTO, ETIMEDOUT after tcp_retries2),
//! and errors naming the fault.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const BASE: &str = include_str!("../../scenarios/nodeport-vxlan.yaml");

fn scenario(extra_traffic: &str, faults: &str) -> String {
    BASE.replace(
        "traffic:\n  - {id: nodeport, from: client, http: {get: \"http://10.1.1.110:30000/\"}}",
        &if extra_traffic.is_empty() {
            format!("traffic: []\nfaults:\n{faults}")
        } else {
            format!("traffic:\n{extra_traffic}faults:\n{faults}")
        },
    )
}

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "f.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn outcome<'a>(t: &'a Trace, id: &str) -> &'a str {
    &t.flows.iter().find(|f| f.id == id).unwrap().outcome
}

#[test]
fn link_down_then_up_delays_the_connection_by_syn_retransmission() {
    let t = run(&scenario(
        "  - {id: during, from: client, http: {get: \"http://10.1.1.110:30000/\"}, start: 1s}\n",
        "  - {at: 500ms, linkDown: node-b/eth0}\n  - {at: 2500ms, linkUp: node-b/eth0}\n",
    ));
    assert_eq!(t.events.len(), 2);
    assert_eq!(t.events[0].what, "node-b/eth0 down");
    assert_eq!(t.events[1].time_ns, 2_500_000_000);
    // SYN at 1 s lost, retransmitted at 2 s (lost), at 3 s answered
    assert!(
        outcome(&t, "during").starts_with("HTTP 200 OK in 2002."),
        "{}",
        outcome(&t, "during")
    );
    let drops: Vec<&str> = t.flows[0]
        .hops
        .iter()
        .filter(|h| h.host == "node-b")
        .flat_map(|h| h.steps.iter())
        .filter(|s| s.what.contains("eth0 is down"))
        .map(|s| s.what.as_str())
        .collect();
    assert!(drops.len() >= 2, "{drops:?}");
    // the text trace lists the timeline
    let text = podpath_render::text::render(&t);
    assert!(
        text.contains("events (faults, daemons):\n  0.500000000  node-b/eth0 down\n  2.500000000  node-b/eth0 up\n")
    );
}

#[test]
fn link_down_for_good_times_the_connection_out() {
    let t = run(&scenario(
        "  - {id: lost, from: client, http: {get: \"http://10.1.1.110:30000/\"}}\n",
        "  - {at: 0s, nodeDown: node-b}\n",
    ));
    assert!(
        outcome(&t, "lost").contains("timed out"),
        "{}",
        outcome(&t, "lost")
    );
}

#[test]
fn stopped_server_answers_with_rst_and_flush_and_latency_apply() {
    let t = run(&scenario(
        "  - {id: ok, from: client, http: {get: \"http://10.1.1.110:30000/\"}}\n  - {id: refused, from: client, http: {get: \"http://10.1.1.110:30000/\"}, start: 2s}\n",
        "  - {at: 1s, stop: hostnames-7b6d9/serve_hostname}\n  - {at: 1s, conntrackFlush: node-a}\n  - {at: 1500ms, link: client/eth0, latency: 20ms}\n",
    ));
    assert!(outcome(&t, "ok").starts_with("HTTP 200 OK"));
    assert!(
        outcome(&t, "refused").contains("connection refused (RST)"),
        "{}",
        outcome(&t, "refused")
    );
    let ev: Vec<&str> = t.events.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(ev[0], "hostnames-7b6d9: http-server serve_hostname stopped");
    assert!(ev[1].starts_with("node-a: conntrack -F ("), "{ev:?}");
    assert!(ev[2].contains("latency 20000 us"), "{ev:?}");
}

#[test]
fn fault_errors_name_the_key() {
    let bad = |f: &str| match podpath_sim::scenario::load(&scenario("", f), "f.yaml", None) {
        Ok(_) => panic!("expected an error for {f}"),
        Err(e) => e.to_string(),
    };
    assert!(bad("  - {at: 1s, linkDown: node-z/eth0}\n")
        .contains("faults[0].linkDown: no host 'node-z'"));
    assert!(bad("  - {at: 1s, linkDown: node-b/eth9}\n").contains("no device 'eth9' on node-b"));
    assert!(bad("  - {at: soon, nodeDown: node-b}\n").contains("faults[0].at: bad duration 'soon'"));
    assert!(bad("  - {at: 1s}\n").contains("exactly one of linkDown"));
    assert!(bad("  - {at: 1s, stop: node-b/nginx}\n").contains("no app named 'nginx' on node-b"));
}

fn steps_containing(t: &Trace, needle: &str) -> usize {
    t.flows
        .iter()
        .flat_map(|f| f.hops.iter())
        .flat_map(|h| h.steps.iter())
        .filter(|s| s.what.contains(needle))
        .count()
}

#[test]
fn a_lossy_link_costs_retransmissions_not_answers() {
    let text = scenario(
        // a first request resolves the gateway's ARP before the loss: a
        // neighbour that fails on the lossy link would end every connect
        // waiting for it with EHOSTUNREACH (arp_error_report)
        "  - {id: warm, from: client, http: {get: \"http://10.1.1.110:30000/\"}}\n  - {id: lossy, from: client, http: {get: \"http://10.1.1.110:30000/\"}, count: 20, interval: 100ms, start: 1s}\n",
        "  - {at: 500ms, link: client/eth0, loss: 30%}\n",
    );
    let t = run(&text);
    assert_eq!(t.events[0].what, "client/eth0 link loses 30% of frames");
    let outcomes: Vec<&str> = t
        .flows
        .iter()
        .filter(|f| f.id.starts_with("lossy"))
        .map(|f| f.outcome.as_str())
        .collect();
    assert_eq!(outcomes.len(), 20);
    // TCP resends what was lost: most requests are answered; a request
    // whose SYNs are all lost times out as curl would
    assert!(
        outcomes
            .iter()
            .all(|o| o.starts_with("HTTP 200 OK") || o.contains("timed out")),
        "{outcomes:?}"
    );
    let ok = outcomes
        .iter()
        .filter(|o| o.starts_with("HTTP 200 OK"))
        .count();
    assert!(ok >= 15, "{outcomes:?}");
    let lost = steps_containing(&t, "lost on the link client/eth0 -> ");
    let lost_back = steps_containing(&t, "-> client/eth0 (loss 30%)");
    assert!(lost + lost_back > 5, "{lost} + {lost_back}");
    assert!(lost > 0 && lost_back > 0, "{lost} + {lost_back}");
    let syn_rtx = steps_containing(&t, "SYN retransmission #");
    let data_rtx = steps_containing(&t, "RTO expired: retransmission #");
    assert!(syn_rtx + data_rtx > 0, "{syn_rtx} {data_rtx}");
    // some requests took a retransmission timeout longer than the others
    let slow = outcomes
        .iter()
        .filter(|o| {
            let ms: f64 = o
                .split(" in ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            ms >= 200.0
        })
        .count();
    assert!(slow > 0, "{outcomes:?}");
    // the same seed loses the same frames
    let again = run(&text);
    assert_eq!(
        podpath_render::text::render(&t),
        podpath_render::text::render(&again)
    );
}

#[test]
fn data_lost_for_good_aborts_after_tcp_retries2() {
    // a slow link (50 ms each way): the handshake and the request get
    // through, then the link starts losing everything while the request
    // is on the wire, so the answer and every retransmission are lost
    let text = scenario(
        "  - {id: cut, from: client, http: {get: \"http://10.1.1.110:30000/\"}, start: 1s}\n",
        "  - {at: 0s, link: client/eth0, latency: 50ms}\n  - {at: 1220ms, link: client/eth0, loss: 100%}\n",
    )
    .replace(
        "  client:\n    kind: client\n",
        "  client:\n    kind: client\n    sysctl: {net.ipv4.tcp_retries2: 3}\n",
    )
    // the pod keeps trying for ~16 minutes (RTO capped at 120 s)
    .replace("seed: 3\n", "seed: 3\nhorizon: 20m\n");
    let t = run(&text);
    let o = outcome(&t, "cut");
    assert!(
        o.starts_with("curl: (56) recv failure from 10.1.1.110:30000 after ")
            && o.ends_with("connection timed out (3 retransmissions unanswered)"),
        "{o}"
    );
    let rtx: Vec<&str> = t.flows[0]
        .hops
        .iter()
        .filter(|h| h.host == "client")
        .flat_map(|h| h.steps.iter())
        .filter(|s| s.what.contains("RTO expired"))
        .map(|s| s.what.as_str())
        .collect();
    assert_eq!(rtx.len(), 3, "{rtx:?}");
    // the handshake's RTT (connect at 1 s, ARP and SYN-ACK back at
    // 1.20122 s) gives Linux's first estimate R + max(2R, 200 ms) =
    // 603.66 ms; each expiry doubles it
    assert!(
        rtx[0].contains("retransmission #1 (RTO now 1207 ms): 79 bytes at seq 1"),
        "{rtx:?}"
    );
    assert!(rtx[1].contains("#2 (RTO now 2414 ms)"), "{rtx:?}");
    assert!(rtx[2].contains("#3 (RTO now 4829 ms)"), "{rtx:?}");
    // both ends give up, on the run's timeline: the client after 3
    // retransmissions, the pod after the default 15
    let ev: Vec<&str> = t
        .events
        .iter()
        .map(|e| e.what.as_str())
        .filter(|w| w.contains("ETIMEDOUT"))
        .collect();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(ev[0].starts_with("client: tcp 10.1.1.50:"), "{ev:?}");
    assert!(ev[0].contains("3 retransmissions unanswered (tcp_retries2 3)"));
    assert!(ev[1].starts_with("hostnames-7b6d9: tcp 10.244.1.2:9376 <-> "));
    assert!(ev[1].contains("15 retransmissions unanswered (tcp_retries2 15)"));
    let server_gave_up = t.events.iter().find(|e| e.what == ev[1]).unwrap().time_ns;
    assert!(
        (900_000_000_000..1_100_000_000_000).contains(&server_gave_up),
        "{server_gave_up}"
    );
}

#[test]
fn bad_loss_is_named() {
    let e = podpath_sim::scenario::load(
        &scenario("", "  - {at: 1s, link: client/eth0, loss: lots}\n"),
        "f.yaml",
        None,
    )
    .err()
    .expect("error")
    .to_string();
    assert!(
        e.contains("faults[0].loss: bad loss 'lots': expected a share like 30% or 0.3"),
        "{e}"
    );
    let e = podpath_sim::scenario::load(&scenario("", "  - {at: 1s, loss: 10%}\n"), "f.yaml", None)
        .err()
        .expect("error")
        .to_string();
    assert!(e.contains("need 'link: HOST/DEV'"), "{e}");
}
