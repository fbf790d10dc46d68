//! The fault timeline: a link down and up while a connection is being made
//! (the SYN is retransmitted on Linux's schedule and gets through after the
//! link comes back), a server process stopped (RST), conntrack flushed, and
//! errors naming the fault.

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
