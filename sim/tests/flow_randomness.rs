//! Each flow draws its random choices (ephemeral port, ISN, kube-proxy's
//! `-m statistic` endpoint choice) from a stream of its own per host, so
//! adding a flow to a scenario leaves the others' choices as they were
//! (what `podpath diff` and golden checks rely on to report only the
//! flows a change touches).

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;
use std::collections::BTreeSet;

const FLANNEL: &str = include_str!("../../scenarios/flannel-cluster.yaml");

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "flannel-cluster.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

/// Per flow: who answered, and each packet its client sent or got
/// (addresses, ports, ISNs: the flow's random draws), ARP left out: the
/// neighbour table is state the flows share, as in the kernel (the first
/// flow to a neighbour resolves it for the others), and so is whether a
/// packet waited in the ARP queue (seen twice): each distinct packet once.
fn choices(t: &Trace) -> Vec<(String, Option<String>, BTreeSet<String>)> {
    t.flows
        .iter()
        .filter(|f| !f.daemon)
        .map(|f| {
            let sent = f
                .hops
                .iter()
                .filter(|h| h.host == f.from && !h.before.starts_with("ARP"))
                .map(|h| h.before.clone())
                .collect();
            (f.id.clone(), f.served_by.clone(), sent)
        })
        .collect()
}

#[test]
fn adding_a_flow_leaves_the_others_random_choices_unchanged() {
    let base = run(FLANNEL);
    // one more NodePort request through the same node's kube-proxy rules,
    // before the others: it draws from the node's randomness first
    let extra = "  - {id: extra, from: laptop, http: {get: \"http://172.18.0.3:30080/\"}, count: 3, start: 1ms}\n";
    let at = FLANNEL.find("\ntraffic:\n").expect("traffic") + "\ntraffic:\n".len();
    let changed = format!("{}{extra}{}", &FLANNEL[..at], &FLANNEL[at..]);
    let more = run(&changed);
    let a = choices(&base);
    let b: Vec<_> = choices(&more)
        .into_iter()
        .filter(|(id, ..)| !id.starts_with("extra"))
        .collect();
    assert!(a
        .iter()
        .any(|(_, served, sent)| served.is_some() && !sent.is_empty()));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0);
        assert_eq!(x.1, y.1, "flow {}: answered by another", x.0);
        assert_eq!(x.2, y.2, "flow {}: other packets", x.0);
    }
    assert_eq!(a.len(), b.len());
    // and the added flows drew choices of their own (not the same stream
    // replayed): their source ports differ from one another
    let extra_ports: BTreeSet<_> = choices(&more)
        .into_iter()
        .filter(|(id, ..)| id.starts_with("extra"))
        .filter_map(|(_, _, sent)| sent.into_iter().find(|p| p.contains("[S]")))
        .collect();
    assert_eq!(extra_ports.len(), 3, "{extra_ports:?}");
}
