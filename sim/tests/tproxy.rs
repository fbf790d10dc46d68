//! Transparent proxying and the socket match in a running world:
//! iptables' `-j TPROXY` and `-m socket` (xt_TPROXY.c, xt_socket.c) and
//! nft's `tproxy` and `socket transparent` (nft_tproxy.c, nft_socket.c)
//! hand a connection for another address to a transparent local proxy,
//! which answers from that address.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const IPT: &str = include_str!("data/tproxy/tproxy-iptables.yaml");

fn run(text: &str) -> Trace {
    let w = podpath_sim::scenario::load(text, "s.yaml", None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(w).run()
}

fn steps(t: &Trace) -> Vec<String> {
    t.flows
        .iter()
        .flat_map(|f| f.hops.iter())
        .flat_map(|h| h.steps.iter())
        .map(|s| format!("{} {}", s.point.name(), s.what))
        .collect()
}

fn outcome(t: &Trace) -> String {
    t.flows[0].outcome.clone()
}

#[test]
fn tproxy_hands_the_connection_to_the_transparent_proxy_keeping_the_destination() {
    let t = run(IPT);
    let s = steps(&t);
    assert!(
        outcome(&t).starts_with("HTTP 200"),
        "{}\n{s:#?}",
        outcome(&t)
    );
    // the SYN: no socket yet (-m socket fails), TPROXY finds the listener
    assert!(
        s.iter().any(|x| x.contains("TPROXY to 192.168.1.1:15001: tcp listener :15001 (IP_TRANSPARENT); mark 0x0 -> 0x1; the packet keeps its destination 10.96.0.10:80")),
        "{s:#?}"
    );
    // the proxy accepts with the original destination as its address
    assert!(
        s.iter().any(|x| x.contains("transparent listener *:15001 (http-server proxy): SYN-RECV with local address 10.96.0.10:80")),
        "{s:#?}"
    );
    // the later packets belong to the accepted socket: -m socket matches
    assert!(
        s.iter()
            .any(|x| x.contains("PREROUTING #1: -p tcp -m socket -j DIVERT => jump DIVERT")),
        "{s:#?}"
    );
    // and the answer comes from 10.96.0.10:80
    assert!(
        t.flows[0]
            .hops
            .iter()
            .any(|h| h.host == "client"
                && h.steps.iter().any(|st| st.what.contains("10.96.0.10:80"))),
        "{s:#?}"
    );
}

#[test]
fn tproxy_without_a_transparent_socket_drops() {
    // the same proxy without IP_TRANSPARENT: tproxy_tg4 returns NF_DROP
    let text = IPT.replace("        transparent: true\n", "");
    let t = run(&text);
    let s = steps(&t);
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    assert!(
        s.iter()
            .any(|x| x.contains("no transparent socket: DROP (tproxy_tg4 returns NF_DROP)")),
        "{s:#?}"
    );
}

#[test]
fn tproxy_without_the_policy_route_is_dropped_by_ip_forward() {
    // no `ip rule fwmark 1 lookup 100`: the packet with a socket routes
    // to forwarding, and ip_forward drops it (skb->sk)
    let text = IPT.replace("      - {priority: 100, fwmark: 1, table: 100}\n", "");
    let text = text.replace("    rules:\n", "");
    let t = run(&text);
    let s = steps(&t);
    assert!(!outcome(&t).starts_with("HTTP 200"), "{}", outcome(&t));
    assert!(
        s.iter()
            .any(|x| x.contains("ip_forward drops a packet that has a socket")),
        "{s:#?}"
    );
}

#[test]
fn nft_tproxy_and_socket_transparent() {
    let nft = "    nftables: |\n      table ip tp {\n        chain pre {\n          type filter hook prerouting priority mangle; policy accept;\n          meta l4proto tcp socket transparent 1 meta mark set 0x1 accept\n          ip daddr 10.96.0.0/16 tcp dport 80 tproxy to :15001 meta mark set 0x1 accept\n        }\n      }\n";
    let start = IPT.find("    iptables: |").unwrap();
    let end = IPT.find("    apps:").unwrap();
    let text = format!("{}{nft}{}", &IPT[..start], &IPT[end..]);
    let t = run(&text);
    let s = steps(&t);
    assert!(
        outcome(&t).starts_with("HTTP 200"),
        "{}\n{s:#?}",
        outcome(&t)
    );
    assert!(
        s.iter().any(|x| x.contains("tproxy to 192.168.1.1:15001: tcp listener :15001 (IP_TRANSPARENT); the packet keeps its destination 10.96.0.10:80")),
        "{s:#?}"
    );
    assert!(
        s.iter()
            .any(|x| x
                .contains("#1: meta l4proto tcp socket transparent 1 meta mark set 0x1 accept")),
        "{s:#?}"
    );
}

/// UDP through TPROXY: the datagram for 10.96.0.10:53 is handed to the
/// transparent socket on :15053 keeping its destination (udp_rcv's
/// `skb_steal_sock`), and the answer leaves from that original destination
/// (a transparent UDP proxy binds its reply socket to the address
/// IP_RECVORIGDSTADDR gave, as Envoy's and Istio's UDP proxies do), so the
/// client's conntrack entry takes it as the reply and its resolver accepts
/// it from the server it asked.
#[test]
fn udp_tproxy_answers_from_the_original_destination() {
    let text = IPT
        .replace(
            "      -A PREROUTING -p tcp -m socket -j DIVERT\n",
            "      -A PREROUTING -p tcp -m socket -j DIVERT\n      -A PREROUTING -d 10.96.0.0/16 -p udp -m udp --dport 53 -j TPROXY --on-port 15053 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1\n",
        )
        .replace(
            "          /: {body: '{\"via\":\"transparent proxy\"}'}\n",
            "          /: {body: '{\"via\":\"transparent proxy\"}'}\n      - kind: dns-server\n        name: udp-proxy\n        listen: \":15053\"\n        transparent: true\n        records: {web.example: 10.0.0.7}\n",
        )
        .replace(
            "  - {id: intercepted, from: client, http: {get: \"http://10.96.0.10/\"}, expect: {status: 200}}",
            "  - {id: dns, from: client, dns: {query: web.example, server: 10.96.0.10}}",
        );
    let t = run(&text);
    let s = steps(&t);
    assert!(
        outcome(&t).starts_with("DNS A web.example -> 10.0.0.7 from 10.96.0.10"),
        "{}\n{s:#?}",
        outcome(&t)
    );
    assert!(
        s.iter().any(|x| x.contains("TPROXY to 192.168.1.1:15053: udp listener :15053 (IP_TRANSPARENT); mark 0x0 -> 0x1; the packet keeps its destination 10.96.0.10:53")),
        "{s:#?}"
    );
    assert!(
        s.iter().any(|x| x.contains("deliver 29 bytes to socket *:15053 (assigned by TPROXY; the datagram keeps its destination 10.96.0.10:53)")),
        "{s:#?}"
    );
    // the answer the gateway sends: from 10.96.0.10:53, not 192.168.1.1:15053
    let reply = t.flows[0]
        .hops
        .iter()
        .find(|h| {
            h.host == "gw"
                && h.steps
                    .iter()
                    .any(|st| st.what.contains("udp-proxy: A web.example"))
        })
        .unwrap_or_else(|| panic!("{s:#?}"));
    let out = reply.after.clone().unwrap_or_default();
    assert!(out.contains("UDP 10.96.0.10:53 > 192.168.1.10:"), "{out}");
    assert!(
        reply.steps.iter().any(|st| st
            .what
            .contains("ESTABLISHED udp src=192.168.1.10 dst=10.96.0.10")
            && st.what.contains("(reply direction)")),
        "{s:#?}"
    );
}
