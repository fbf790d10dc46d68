//! nftables base chains of the frame families in a running world: a
//! netdev ingress drop, a bridge forward drop and an arp input drop each
//! end the flow, and the trace names the rule that decided (kernel:
//! net/core/dev.c `nf_hook_ingress`, net/bridge/br_forward.c
//! `__br_forward` NF_BR_FORWARD, net/ipv4/arp.c `arp_rcv` NF_ARP_IN).

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

/// client -- sw (a bridge with two ports) -- server, one HTTP request;
/// `sw_nft` and `server_nft` are the two hosts' nftables rulesets.
fn scenario(sw_nft: &str, server_nft: &str) -> String {
    let block = |t: &str| {
        if t.is_empty() {
            String::new()
        } else {
            let body: String = t.lines().map(|l| format!("      {l}\n")).collect();
            format!("    nftables: |\n{body}")
        }
    };
    format!(
        r#"apiVersion: podpath/v1
kind: Scenario
metadata: {{name: frame-hooks}}
horizon: 5s
hosts:
  client:
    kind: client
    devices:
      eth0: {{addrs: [10.0.0.1/24]}}
  sw:
    kind: router
    devices:
      br0: {{type: bridge}}
      p1: {{master: br0}}
      p2: {{master: br0}}
{}  server:
    kind: external
    devices:
      eth0: {{addrs: [10.0.0.2/24]}}
    apps:
      - {{kind: http-server, listen: ":80", routes: {{/: {{body: hi}}}}}}
{}links:
  - {{a: client/eth0, b: sw/p1, latency: 1ms}}
  - {{a: sw/p2, b: server/eth0, latency: 1ms}}
traffic:
  - {{id: get, from: client, http: {{get: "http://10.0.0.2/"}}}}
"#,
        block(sw_nft),
        block(server_nft)
    )
}

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "s.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn outcome(t: &Trace) -> String {
    t.flows[0].outcome.clone()
}

/// Every step as `point what`.
fn steps(t: &Trace) -> Vec<String> {
    t.flows
        .iter()
        .flat_map(|f| f.hops.iter())
        .flat_map(|h| h.steps.iter())
        .map(|s| format!("{} {}", s.point.name(), s.what))
        .collect()
}

#[test]
fn accepting_chains_let_the_request_through() {
    let t = run(&scenario("", ""));
    assert!(outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    // chains that accept run, and the request still succeeds
    let t = run(&scenario(
        "table bridge filter {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n    ether type arp accept\n    tcp dport 80 counter accept\n  }\n}",
        "table netdev f {\n  chain in {\n    type filter hook ingress device \"eth0\" priority 0; policy accept;\n    udp dport 53 drop\n  }\n}",
    ));
    assert!(outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter().any(|x| x.starts_with(
            "nft/bridge-forward bridge filter forward #2: tcp dport 80 counter accept => accept"
        )),
        "{s:#?}"
    );
    assert!(
        s.iter().any(|x| x.starts_with(
            "nft/bridge-forward bridge filter forward #1: ether type arp accept => accept"
        )),
        "{s:#?}"
    );
}

#[test]
fn a_bridge_forward_drop_names_its_rule() {
    let t = run(&scenario(
        "table bridge filter {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n    ip daddr 10.0.0.2 tcp dport 80 drop\n  }\n}",
        "",
    ));
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter().any(|x| x.starts_with(
            "nft/bridge-forward bridge filter forward #1: ip daddr 10.0.0.2 tcp dport 80 drop => drop"
        )),
        "{s:#?}"
    );
    assert!(
        s.iter().any(|x| x.starts_with(
            "nft/bridge-forward DROP: dropped by nft/bridge-forward bridge filter forward rule 1"
        )),
        "{s:#?}"
    );
}

#[test]
fn a_netdev_ingress_drop_names_its_rule() {
    let t = run(&scenario(
        "",
        "table netdev f {\n  chain in {\n    type filter hook ingress device \"eth0\" priority -500; policy accept;\n    tcp dport 80 drop\n  }\n}",
    ));
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter()
            .any(|x| x.starts_with("nft/netdev-ingress netdev f in #1: tcp dport 80 drop => drop")),
        "{s:#?}"
    );
    // the frame is gone before the IP stack: no ip_rcv step follows on the server
    let after = s
        .iter()
        .skip_while(|x| !x.starts_with("nft/netdev-ingress DROP"))
        .nth(1);
    assert!(after.is_none_or(|x| !x.starts_with("ip_rcv")), "{s:#?}");
}

#[test]
fn an_arp_input_drop_names_its_rule() {
    let t = run(&scenario(
        "",
        "table arp filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    arp operation request arp daddr ip 10.0.0.2 drop\n  }\n}",
    ));
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter().any(|x| x.starts_with(
            "nft/arp-input arp filter input #1: arp operation request arp daddr ip 10.0.0.2 drop => drop"
        )),
        "{s:#?}"
    );
    // the server never answers: the SYN waits in the ARP queue, so its
    // retransmission at 1 s is not sent (skb_still_in_host_queue)
    assert!(
        !s.iter().any(|x| x.contains("SYN retransmission")),
        "{s:#?}"
    );
    let ev: Vec<(u64, &str)> = t
        .events
        .iter()
        .map(|e| (e.time_ns, e.what.as_str()))
        .collect();
    assert!(
        ev.iter().any(|(at, w)| *at == 1_000_000_000
            && w.contains("SYN retransmission #1 not sent: the previous copy still waits for the neighbour 10.0.0.2 on eth0 (skb_still_in_host_queue)")),
        "{ev:#?}"
    );
    // after 3 unanswered requests the neighbour fails and the queued SYN
    // draws ICMP host unreachable to its local sender (arp_error_report ->
    // ipv4_link_failure -> icmp_send), which ends the connect with
    // EHOSTUNREACH (tcp_v4_err, SYN-SENT)
    assert!(
        s.iter()
            .any(|x| x.contains("no ARP reply for 10.0.0.2 on eth0 after 3 requests")),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x.contains("connect aborted by ICMP host unreachable")),
        "{s:#?}"
    );
    assert!(
        outcome(&t).starts_with(
            "curl: (7) failed to connect to 10.0.0.2:80: ICMP host unreachable (EHOSTUNREACH) after 3000"
        ),
        "{}",
        outcome(&t)
    );
    // the error comes back over lo as RELATED: its source, the client's own
    // address, is not rewritten to the connection's peer
    assert!(!s.iter().any(|x| x.starts_with("nat ")), "{s:#?}");
}

/// `fwd to DEV` at a bridge port's ingress (nft_fwd_netdev.c): the frame
/// leaves out of DEV before the bridge sees it (no FDB learning from it,
/// no bridge step), and the request still gets its answer.
#[test]
fn fwd_to_steals_the_frame_past_the_bridge() {
    let t = run(&scenario(
        "table netdev lb {\n  chain in {\n    type filter hook ingress device \"p1\" priority 0; policy accept;\n    ip daddr 10.0.0.2 fwd to \"p2\"\n  }\n}",
        "",
    ));
    assert!(outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    let fwd = s
        .iter()
        .position(|x| {
            x.starts_with(
                "nft/netdev-ingress netdev lb in #1: ip daddr 10.0.0.2 fwd to \"p2\" => fwd to p2",
            )
        })
        .unwrap_or_else(|| panic!("{s:#?}"));
    // the stolen frame did not pass the bridge in that hop
    assert!(
        s.get(fwd + 1).is_none_or(|x| !x.starts_with("bridge br0")),
        "{s:#?}"
    );
}

/// The bridge family's input chain (br_input.c `br_pass_frame_up`,
/// NF_BR_LOCAL_IN) sees frames for the host; a netdev egress chain
/// (`nf_hook_egress`) sees what a device sends.
#[test]
fn bridge_input_and_netdev_egress_drops() {
    let text = scenario(
        "table bridge filter {\n  chain input {\n    type filter hook input priority filter; policy accept;\n    icmp type echo-request drop\n  }\n}",
        "",
    )
    .replace("      br0: {type: bridge}", "      br0: {type: bridge, addrs: [10.0.0.254/24]}")
    .replace(
        "  - {id: get, from: client, http: {get: \"http://10.0.0.2/\"}}",
        "  - {id: get, from: client, ping: {dst: 10.0.0.254, size: 56}}",
    );
    let t = run(&text);
    assert!(outcome(&t).contains("no reply"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter().any(|x| x.starts_with(
            "nft/bridge-input bridge filter input #1: icmp type echo-request drop => drop"
        )),
        "{s:#?}"
    );
    let t = run(&scenario(
        "",
        "table netdev out {\n  chain e {\n    type filter hook egress device \"eth0\" priority 0; policy accept;\n    tcp sport 80 drop\n  }\n}",
    ));
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter()
            .any(|x| x.starts_with("nft/netdev-egress netdev out e #1: tcp sport 80 drop => drop")),
        "{s:#?}"
    );
}

/// The arp family's output chain (net/ipv4/arp.c `arp_xmit`, NF_ARP_OUT):
/// the server's replies dropped, the client never learns its address.
#[test]
fn an_arp_output_drop_names_its_rule() {
    let t = run(&scenario(
        "",
        "table arp filter {\n  chain output {\n    type filter hook output priority 0; policy accept;\n    arp operation reply drop\n  }\n}",
    ));
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter().any(|x| x
            .starts_with("nft/arp-output arp filter output #1: arp operation reply drop => drop")),
        "{s:#?}"
    );
}

/// Bridge prerouting chains run by priority around br_netfilter's own
/// hook (NF_BR_PRI_BRNF 0): a chain at -300 (dstnat) before, one at 0
/// after; its drop frees nothing it did not create and ends the frame.
#[test]
fn bridge_prerouting_chains_run_in_priority_order() {
    let text = scenario(
        "table bridge b {\n  chain late {\n    type filter hook prerouting priority 0; policy accept;\n    tcp dport 80 drop\n  }\n  chain early {\n    type filter hook prerouting priority dstnat; policy accept;\n    tcp dport 80 log prefix \"early \"\n  }\n}",
        "",
    )
    .replace(
        "      p2: {master: br0}\n",
        "      p2: {master: br0}\n    sysctl: {net.bridge.bridge-nf-call-iptables: 1}\n",
    );
    let t = run(&text);
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    let early = s
        .iter()
        .position(|x| x.starts_with("nft/bridge-prerouting bridge b early #1"));
    let late = s.iter().position(|x| {
        x.starts_with("nft/bridge-prerouting bridge b late #1: tcp dport 80 drop => drop")
    });
    assert!(early.is_some() && early < late, "{s:#?}");
}

/// `dup to DEV` in the netdev family (nft_dup_netdev.c): a copy of the
/// frame leaves out of DEV, the original goes on; `dup to ADDR device
/// DEV` (the ip family's routed copy) stays unmodelled.
#[test]
fn dup_to_sends_a_copy() {
    let t = run(&scenario(
        "table netdev mirror {\n  chain in {\n    type filter hook ingress device \"p1\" priority 0; policy accept;\n    ip daddr 10.0.0.2 dup to \"p3\"\n  }\n}",
        "",
    ).replace("      p2: {master: br0}\n", "      p2: {master: br0}\n      p3: {master: br0}\n"));
    assert!(outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    let s = steps(&t);
    assert!(
        s.iter()
            .any(|x| x.ends_with("dup to p3: a copy leaves out of p3")),
        "{s:#?}"
    );
    let n = podpath_sim::net::netfilter::nftables::Nft::parse(
        "table ip t {\n chain c {\n  type filter hook prerouting priority 0;\n  dup to 10.0.0.9 device \"eth0\"\n }\n}\n",
    )
    .unwrap();
    // a routed copy to an address (nft_dup_ipv4.c, as TEE) is modelled too
    assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
}

/// With br_netfilter on, a bridge forward chain below -1 (`priority
/// filter` is -200) runs before iptables' FORWARD (br_nf_forward_ip at
/// NF_BR_PRI_BRNF - 1) and decides first; one at 0 runs after it.
#[test]
fn bridge_forward_chains_run_around_br_netfilter_by_priority() {
    let with = |prio: &str| {
        scenario(
            &format!("table bridge f {{\n  chain forward {{\n    type filter hook forward priority {prio}; policy accept;\n    tcp dport 80 drop\n  }}\n}}"),
            "",
        )
        .replace(
            "      p2: {master: br0}\n",
            "      p2: {master: br0}\n    sysctl: {net.bridge.bridge-nf-call-iptables: 1}\n    iptables: |\n      *filter\n      :INPUT ACCEPT [0:0]\n      :FORWARD ACCEPT [0:0]\n      :OUTPUT ACCEPT [0:0]\n      -A FORWARD -p tcp --dport 80 -j DROP\n      COMMIT\n",
        )
    };
    let s = steps(&run(&with("filter")));
    assert!(
        s.iter().any(|x| x.starts_with(
            "nft/bridge-forward DROP: dropped by nft/bridge-forward bridge f forward rule 1"
        )),
        "{s:#?}"
    );
    assert!(!s.iter().any(|x| x.starts_with("filter/FORWARD")), "{s:#?}");
    let s = steps(&run(&with("0")));
    assert!(
        s.iter()
            .any(|x| x.starts_with("filter/FORWARD") && x.contains("DROP")),
        "{s:#?}"
    );
    assert!(
        !s.iter().any(|x| x.starts_with("nft/bridge-forward")),
        "{s:#?}"
    );
}
