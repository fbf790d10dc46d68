//! The layer-2 graph (petgraph) and the loop check every scenario passes.

use podpath_sim::scenario;
use podpath_sim::topo::{l2_graph, l2_loops};

/// Two switches (hosts with a bridge and three ports each), a client on
/// each, one link between the switches; `extra` adds links.
fn text(extra: &str) -> String {
    let sw = |n: &str| {
        format!("  {n}:\n    kind: router\n    devices:\n      br0: {{type: bridge}}\n      p1: {{master: br0}}\n      p2: {{master: br0}}\n      p3: {{master: br0}}\n")
    };
    format!(
        "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {{name: l2}}\nhosts:\n  a:\n    kind: client\n    devices:\n      eth0: {{addrs: [10.0.0.1/24]}}\n  b:\n    kind: client\n    devices:\n      eth0: {{addrs: [10.0.0.2/24]}}\n{}{}links:\n  - {{a: a/eth0, b: sw1/p3}}\n  - {{a: b/eth0, b: sw2/p3}}\n  - {{a: sw1/p1, b: sw2/p1}}\n{extra}traffic: []\n",
        sw("sw1"),
        sw("sw2")
    )
}

#[test]
fn a_tree_has_no_loop() {
    let w = scenario::load(&text(""), "l2.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    assert!(l2_loops(&w).is_empty());
    let (g, edges) = l2_graph(&w);
    // a/eth0, b/eth0, and br0 p1 p2 p3 on each switch (loopbacks are not L2)
    assert_eq!(g.node_count(), 10);
    // 6 bridge ports, then 3 links
    assert_eq!(edges.len(), 9);
    assert_eq!(g[edges[0].0], "sw1/p1");
    assert_eq!(g[edges[0].1], "sw1/br0");
    assert_eq!(g[edges[8].0], "sw1/p1");
    assert_eq!(g[edges[8].1], "sw2/p1");
}

#[test]
fn a_second_link_between_two_switches_is_refused_at_its_line() {
    let t = text("  - {a: sw1/p2, b: sw2/p2}\n");
    let err = scenario::load(&t, "l2.yaml", None)
        .err()
        .expect("a loop must be refused")
        .to_string();
    let line = t
        .lines()
        .position(|l| l.contains("sw1/p2, b: sw2/p2"))
        .unwrap()
        + 1;
    assert_eq!(
        err,
        format!(
            "l2.yaml:{line}:9: links[3]: this link closes a layer-2 loop (sw1/p2 - sw1/br0 - \
             sw1/p1 - sw2/p1 - sw2/br0 - sw2/p2 - sw1/p2): podpath's bridges, like Linux's by \
             default (stp_state 0), run no spanning tree, so a flooded frame would circle it \
             forever; remove a link of the loop"
        )
    );
}

#[test]
fn a_veth_pair_between_two_ports_of_one_bridge_is_a_loop() {
    let t = text("").replace("traffic: []", "  - {a: sw1/p2, b: sw1/p3x}\ntraffic: []");
    let t = t.replace(
        "      p3: {master: br0}\n  sw2",
        "      p3: {master: br0}\n      p3x: {master: br0}\n  sw2",
    );
    let err = scenario::load(&t, "l2.yaml", None)
        .err()
        .expect("a loop must be refused")
        .to_string();
    assert!(
        err.contains("(sw1/p2 - sw1/br0 - sw1/p3x - sw1/p2)"),
        "{err}"
    );
}
