//! SCTP through the whole stack (scenarios/sctp-diameter.yaml): the
//! association as the pods' kernels run it, conntrack's SCTP states on
//! the node as nf_conntrack_proto_sctp.c gives them (Linux 6.x), the
//! INIT retransmissions of T1-init (rto_initial 3 s, doubled), and every
//! SCTP packet's CRC32c.

use podpath_sim::engine::Engine;
use podpath_sim::trace::{Action, FlowTrace, Trace};

const SCENARIO: &str = include_str!("../../scenarios/sctp-diameter.yaml");

fn run(edit: impl FnOnce(&mut podpath_sim::world::World)) -> Trace {
    let mut w = podpath_sim::scenario::load(SCENARIO, "sctp-diameter.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    edit(&mut w);
    Engine::new(w).run()
}

fn flow<'a>(t: &'a Trace, id: &str) -> &'a FlowTrace {
    t.flows.iter().find(|f| f.id == id).unwrap()
}

/// The conntrack states of the flow's connection on `host`, in order,
/// without repeats.
fn ct_states(f: &FlowTrace, host: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in f.hops.iter().filter(|h| h.host == host) {
        for s in &h.steps {
            if let Action::Conntrack { state, tuple } = &s.action {
                if tuple.starts_with("sctp") && out.last() != Some(state) {
                    out.push(state.clone());
                }
            }
        }
    }
    out
}

#[test]
fn the_association_and_conntrack_states_on_the_node() {
    let t = run(|_| {});
    let f = flow(&t, "mme");
    assert!(f.disposition.answered(), "{}", f.outcome);
    assert!(
        f.outcome.contains("CER Origin-Host: mme.core"),
        "{}",
        f.outcome
    );
    // the first packet makes the entry (NEW, state CLOSED after the INIT);
    // then the tracker's table, then the entry kept in CLOSED
    assert_eq!(
        ct_states(f, "kind-control-plane"),
        [
            "NEW",
            "COOKIE_WAIT",
            "COOKIE_ECHOED",
            "ESTABLISHED [ASSURED]",
            "SHUTDOWN_SENT [ASSURED]",
            "SHUTDOWN_ACK_SENT [ASSURED]",
            "CLOSED [ASSURED]"
        ]
    );
    // the chunks on the client's side, in order (SACK bundled with the
    // server's DATA: the delayed SACK goes with the echo)
    let chunks: Vec<String> = f
        .hops
        .iter()
        .filter(|h| h.host == "mme" && h.in_dev.is_none())
        .filter_map(|h| {
            h.before
                .split('[')
                .nth(1)
                .map(|c| c.split(']').next().unwrap().to_string())
        })
        .collect();
    let mut chunks = chunks;
    chunks.dedup();
    assert_eq!(
        chunks,
        [
            "INIT",
            "COOKIE_ECHO",
            "DATA",
            "SHUTDOWN",
            "SHUTDOWN_COMPLETE"
        ]
    );
    let server: Vec<String> = f
        .hops
        .iter()
        .filter(|h| h.host == "hss" && h.in_dev.is_none())
        .filter_map(|h| {
            h.before
                .split('[')
                .nth(1)
                .map(|c| c.split(']').next().unwrap().to_string())
        })
        .collect();
    // (a packet that waited for ARP shows again when it goes)
    let mut server = server;
    server.dedup();
    assert_eq!(
        server,
        ["INIT_ACK", "COOKIE_ACK", "SACK,DATA", "SHUTDOWN_ACK"]
    );
    // the DNAT of the INIT, and its reverse on the replies
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "mme" && h.before.starts_with("SCTP 10.96.38.68:3868 > 10.244.0.10:")));
}

#[test]
fn t1_init_retransmits_at_the_rto_doubled() {
    // the probe waits 10 s: INITs at 20 ms, 3.02 s, 9.02 s (RTO 3 s, 6 s)
    let t = run(|w| {
        for f in &mut w.flows {
            if f.id == "probe" {
                f.client.timeout_ns = Some(10_000_000_000);
            }
        }
        w.horizon_ns = 12_000_000_000;
    });
    let f = flow(&t, "probe");
    assert!(!f.disposition.answered());
    let inits: Vec<u64> = f
        .hops
        .iter()
        .filter(|h| h.host == "probe" && h.in_dev.is_none() && h.before.contains("[INIT]"))
        .map(|h| h.time_ns / 1_000_000)
        .collect();
    // (an INIT that waited for ARP is sent again once resolved: the same
    // instant's first is counted)
    let mut at: Vec<u64> = inits.clone();
    at.dedup();
    assert_eq!(at, [20, 3020, 9020], "{inits:?}");
    // the policy drops each at kind-worker's FORWARD
    let drops = f
        .hops
        .iter()
        .filter(|h| h.host == "kind-worker")
        .filter(|h| {
            h.steps
                .iter()
                .any(|s| matches!(s.action, Action::Drop { .. }))
        })
        .count();
    assert_eq!(drops, 3);
}

#[test]
fn closed_port_answers_abort_and_every_crc_is_right() {
    let t = run(|_| {});
    let f = flow(&t, "closed-port");
    assert!(
        f.outcome.contains("ABORT received (ECONNREFUSED)"),
        "{}",
        f.outcome
    );
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "mme" && h.in_dev.is_none() && h.before.contains("[ABORT]")));
    // every SCTP frame of the run has a good CRC32c (and IP checksum)
    let mut n = 0;
    for c in &t.captures {
        let Ok(fr) = podpath_sim::wire::Frame::parse(&c.bytes) else {
            continue;
        };
        if let Some(ip) = fr.ipv4() {
            if ip.proto() == 132 {
                n += 1;
            }
        }
        podpath_sim::wire::verify_checksums(&c.bytes).unwrap();
    }
    assert!(n > 20, "{n} SCTP frames");
}
