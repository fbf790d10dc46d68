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

/// The chunk lists (`[SACK,DATA]`) of the SCTP packets `host` sent, in
/// order (a packet that waited for ARP shows again when it goes: once).
fn sent_chunks(f: &FlowTrace, host: &str) -> Vec<String> {
    let mut v: Vec<String> = f
        .hops
        .iter()
        .filter(|h| h.host == host && h.in_dev.is_none() && h.before.starts_with("SCTP "))
        .filter_map(|h| {
            h.before
                .split('[')
                .nth(1)
                .map(|c| c.split(']').next().unwrap_or("").to_string())
        })
        .collect();
    v.dedup();
    v
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
    let chunks = sent_chunks(f, "mme");
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
    let server = sent_chunks(f, "hss");
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

/// Seeded mutations (bytes flipped, cut short, lengths grown) of every
/// SCTP packet of the run, with the CRC32c fixed half the time so the
/// chunk walk is reached: the packet view, the INIT/DATA views and the
/// conntrack tracker never panic, and what parses emits bytes that parse
/// back to the same packet.
#[test]
fn mutated_sctp_packets_never_panic() {
    use podpath_sim::net::netfilter::ct_sctp::SctpCt;
    use podpath_sim::wire::sctp::{fix_checksum, SctpRepr};
    let t = run(|_| {});
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for c in &t.captures {
        if let Ok(f) = podpath_sim::wire::Frame::parse(&c.bytes) {
            if let Some(ip) = f.ipv4().filter(|ip| ip.proto() == 132) {
                if let podpath_sim::wire::L4::Raw(b) = &ip.l4 {
                    if !seeds.contains(b) {
                        seeds.push(b.clone());
                    }
                }
            }
        }
    }
    assert!(seeds.len() >= 9, "{}", seeds.len());
    let mut x: u64 = 0x5eed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut parsed = 0;
    for seed in &seeds {
        for _ in 0..400 {
            let mut b = seed.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % b.len();
                match next() % 4 {
                    0 => b[i] ^= 1 << (next() % 8),
                    1 => b.truncate(i.max(1)),
                    2 => b[i] = 0xff,
                    _ => b.insert(i, (next() % 256) as u8),
                }
            }
            if next() % 2 == 0 {
                fix_checksum(&mut b);
            }
            let Some(p) = SctpRepr::parse(&b) else {
                continue;
            };
            parsed += 1;
            for c in &p.chunks {
                let _ = (c.as_init(), c.as_data(), c.name());
                if let Some(i) = c.as_init() {
                    let _ = i.cookie();
                }
            }
            let again = SctpRepr::parse(&p.emit()).expect("its own bytes parse");
            assert_eq!(again, p);
            if let Ok(mut ct) = SctpCt::new(&p) {
                let _ = ct.packet(0, &p, false);
                let _ = ct.packet(1, &p, true);
            }
        }
    }
    assert!(parsed > 1000, "{parsed} mutants parsed");
}

/// The same association and policy under kube-proxy's nftables and IPVS
/// modes: the Service's `meta l4proto sctp` DNAT, IPVS's virtual service
/// (scheduled on the INIT, ip_vs_proto_sctp.c sctp_conn_schedule); every
/// flow's expectation met.
#[test]
fn nftables_and_ipvs_modes_carry_sctp_too() {
    for mode in ["nftables", "ipvs"] {
        let text = SCENARIO.replace("proxyMode: iptables", &format!("proxyMode: {mode}"));
        let w = podpath_sim::scenario::load(&text, "sctp-diameter.yaml", None)
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        let t = Engine::new(w).run();
        assert!(t.unmet().is_empty(), "{mode}: {:?}", t.unmet());
        let f = flow(&t, "mme");
        assert!(f.disposition.answered(), "{mode}: {}", f.outcome);
        let dnat = f.hops.iter().flat_map(|h| &h.steps).any(|s| {
            matches!(&s.action, Action::Dnat { to, reply: false, .. } if to == "10.244.1.20:3868")
        });
        assert!(dnat, "{mode}: the INIT DNATed to the pod");
    }
}

/// AdminNetworkPolicy and BaselineAdminNetworkPolicy are not modelled:
/// the load warning says their rules are not applied (so a user does not
/// read the run's verdicts as theirs).
#[test]
fn admin_network_policies_are_said_to_be_ignored() {
    let text = SCENARIO.replace(
        "    apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy",
        "    apiVersion: policy.networking.k8s.io/v1alpha1\n    kind: AdminNetworkPolicy\n    metadata: {name: anp}\n    spec: {priority: 10, subject: {namespaces: {}}, ingress: []}\n    ---\n    apiVersion: networking.k8s.io/v1\n    kind: NetworkPolicy",
    );
    let (_, warnings) = podpath_sim::scenario::load_reporting(&text, "anp.yaml", None).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains(
            "AdminNetworkPolicy not modelled: the run and `reach` apply none of their rules"
        )),
        "{warnings:?}"
    );
}
