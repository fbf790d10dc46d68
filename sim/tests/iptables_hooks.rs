//! The iptables tables at the hooks of a running world: the security
//! table after filter (iptable_security.c, priority 50), `-m mac` reading
//! the frame's source address, `-m ttl` the header's.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const BASE: &str = include_str!("../../scenarios/troubleshoot-forward-drop.yaml");

/// The scenario with `rules` added to node-a's tables (after its filter
/// table's COMMIT).
fn with_node_a(tables: &str) -> String {
    let anchor = "      -A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n      COMMIT\n";
    assert!(BASE.contains(anchor));
    BASE.replacen(anchor, &format!("{anchor}{tables}"), 1)
}

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "s.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn outcome(t: &Trace) -> String {
    t.flows
        .iter()
        .find(|f| f.id == "via-node-a")
        .unwrap()
        .outcome
        .clone()
}

fn security(rules: &str) -> String {
    format!("      *security\n      :INPUT ACCEPT [0:0]\n      :FORWARD ACCEPT [0:0]\n      :OUTPUT ACCEPT [0:0]\n{rules}      COMMIT\n")
}

#[test]
fn security_table_runs_after_filter() {
    assert!(outcome(&run(BASE)).starts_with("HTTP 200"));
    let t = run(&with_node_a(&security(
        "      -A FORWARD -p tcp --dport 8080 -j DROP\n",
    )));
    assert!(outcome(&t).contains("timed out"), "{}", outcome(&t));
    let steps: Vec<String> = t
        .flows
        .iter()
        .flat_map(|f| f.hops.iter())
        .flat_map(|h| h.steps.iter())
        .map(|s| format!("{} {}", s.point.name(), s.what))
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s
                .starts_with("security/FORWARD FORWARD #1: -p tcp --dport 8080 -j DROP => DROP")),
        "{steps:?}"
    );
    // filter's FORWARD ran before it
    let f = steps.iter().position(|s| s.starts_with("filter/FORWARD"));
    let sec = steps.iter().position(|s| s.starts_with("security/FORWARD"));
    assert!(f.is_none() || f < sec, "{steps:?}");
}

#[test]
fn mac_and_ttl_read_the_packet() {
    let w = podpath_sim::scenario::load(BASE, "s.yaml", None).unwrap();
    let laptop = w.hosts.iter().find(|h| h.name == "laptop").unwrap();
    let m = laptop.devs.iter().find(|d| d.name == "eth0").unwrap().mac.0;
    let mac = m
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    // the laptop's frames pass, everything else to the pod is dropped
    let t = run(&with_node_a(&security(&format!(
        "      -A FORWARD -o vethef513e30 -m mac --mac-source {mac} -j ACCEPT\n      -A FORWARD -o vethef513e30 -j DROP\n"
    ))));
    assert!(outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let t = run(&with_node_a(&security(
        "      -A FORWARD -o vethef513e30 -m mac ! --mac-source 02:00:00:00:00:99 -j DROP\n",
    )));
    assert!(outcome(&t).contains("timed out"), "{}", outcome(&t));
    // forwarded once: the laptop's TTL 64 is 63 in node-a's FORWARD
    let t = run(&with_node_a(&security(
        "      -A FORWARD -o vethef513e30 -m ttl --ttl-eq 63 -j DROP\n",
    )));
    assert!(outcome(&t).contains("timed out"), "{}", outcome(&t));
}

fn mangle(rules: &str) -> String {
    format!("      *mangle\n      :PREROUTING ACCEPT [0:0]\n      :INPUT ACCEPT [0:0]\n      :FORWARD ACCEPT [0:0]\n      :OUTPUT ACCEPT [0:0]\n      :POSTROUTING ACCEPT [0:0]\n{rules}      COMMIT\n")
}

fn steps(t: &Trace) -> Vec<String> {
    t.flows
        .iter()
        .flat_map(|f| f.hops.iter())
        .flat_map(|h| h.steps.iter())
        .map(|s| format!("{} {}", s.point.name(), s.what))
        .collect()
}

/// xt_HL.c ttl_tg in mangle PREROUTING writes the header: with TTL 1
/// the packet cannot be forwarded (ip_forward: "TTL expired in
/// transit"), where the laptop's TTL 64 passed; a TTL raised before
/// FORWARD is what `-m ttl` reads there.
#[test]
fn ttl_target_rewrites_the_header_the_forward_path_reads() {
    let t = run(&with_node_a(&mangle(
        "      -A PREROUTING -i eth0 -p tcp -j TTL --ttl-set 1\n",
    )));
    assert!(outcome(&t).contains("timed out"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter()
            .any(|x| x.contains("-i eth0 -p tcp -j TTL --ttl-set 1 => TTL 64 -> 1")),
        "{s:?}"
    );
    assert!(
        s.iter().any(|x| x.contains("TTL 1 expired in transit")),
        "{s:?}"
    );
    let t = run(&with_node_a(&format!(
        "{}{}",
        mangle("      -A PREROUTING -i eth0 -p tcp -j TTL --ttl-inc 100\n"),
        security("      -A FORWARD -o vethef513e30 -m ttl --ttl-eq 163 -j DROP\n")
    )));
    assert!(outcome(&t).contains("timed out"), "{}", outcome(&t));
    // DSCP set in PREROUTING is what -m dscp reads in FORWARD
    let t = run(&with_node_a(&format!(
        "{}{}",
        mangle("      -A PREROUTING -i eth0 -p tcp -j DSCP --set-dscp-class AF41\n"),
        security("      -A FORWARD -o vethef513e30 -m dscp --dscp-class AF41 -j DROP\n")
    )));
    assert!(outcome(&t).contains("timed out"), "{}", outcome(&t));
    assert!(outcome(&run(&with_node_a(&mangle(
        "      -A PREROUTING -i eth0 -p tcp -j DSCP --set-dscp-class AF41\n"
    ))))
    .starts_with("HTTP 200"));
}

/// xt_connbytes.c: the connection's counters (accounting forced on by
/// the rule): the SYN and the ACK pass, the request (the connection's
/// third packet in the original direction) and what follows are
/// dropped; with the limit above what the exchange sends, all passes.
#[test]
fn connbytes_threshold_counts_the_connection_packets() {
    let rule = |n: u32| {
        security(&format!(
            "      -A FORWARD -o vethef513e30 -m connbytes --connbytes {n}: --connbytes-dir original --connbytes-mode packets -j DROP\n"
        ))
    };
    let t = run(&with_node_a(&rule(3)));
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    let drops: Vec<&String> = s
        .iter()
        .filter(|x| {
            x.contains(
                "--connbytes 3: --connbytes-dir original --connbytes-mode packets -j DROP => DROP",
            )
        })
        .collect();
    assert!(!drops.is_empty(), "{s:?}");
    assert!(outcome(&run(&with_node_a(&rule(100)))).starts_with("HTTP 200"));
}

/// xt_set.c set_target_v3 at a running node: the SYN to the pod adds the
/// laptop to an ipset, and the connection's next packet meets `-m set`
/// and is dropped.
#[test]
fn set_target_adds_and_the_next_packet_matches() {
    let anchor = "      vethef513e30: {mtu: 1500, addrs: [10.244.0.1/32]}\n";
    let base = with_node_a(&security(
        "      -A FORWARD -o vethef513e30 -m set --match-set seen src -j DROP\n      -A FORWARD -o vethef513e30 -j SET --add-set seen src\n",
    ));
    let i = base.find(anchor).unwrap();
    let j = i + base[i..].find("    iptables: |\n").unwrap();
    let text = format!(
        "{}    ipset: |\n      create seen hash:ip\n{}",
        &base[..j],
        &base[j..]
    );
    let t = run(&text);
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    let add = s
        .iter()
        .position(|x| x.contains("-j SET --add-set seen src => SET add 172.18.0.1 to seen"));
    let drop = s
        .iter()
        .position(|x| x.contains("-m set --match-set seen src -j DROP => DROP"));
    assert!(add.is_some() && drop.is_some() && add < drop, "{s:?}");
}

/// xt_TEE.c / nf_dup_ipv4.c: node-a clones what it forwards to the pod
/// towards the laptop (the gateway, the next hop of the clone); the
/// original goes on and the request succeeds.
#[test]
fn tee_clones_to_the_gateway_and_the_original_goes_on() {
    let t = run(&with_node_a(&security(
        "      -A FORWARD -o vethef513e30 -p tcp -j TEE --gateway 172.18.0.1\n",
    )));
    assert!(outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter()
            .any(|x| x.contains("-j TEE --gateway 172.18.0.1 => TEE: a clone to 172.18.0.1")),
        "{s:?}"
    );
    assert!(
        s.iter()
            .any(|x| x.contains("to 172.18.0.1 on eth0 (untracked)")),
        "{s:?}"
    );
}
