//! SYNPROXY in a running world (xt_SYNPROXY.c, nft_synproxy.c,
//! nf_synproxy_core.c): the cookie SYN-ACK, the cookie checked on the
//! client's ACK, the server handshake behind it, and the connection's
//! sequence numbers translated (seqadj) so that both ends agree.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

const IPT: &str = include_str!("data/tproxy/synproxy-iptables.yaml");

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

#[test]
fn synproxy_completes_the_handshake_for_the_server() {
    let t = run(IPT);
    let s = steps(&t);
    assert!(
        t.flows[0].outcome.starts_with("HTTP 200"),
        "{}\n{s:#?}",
        t.flows[0].outcome
    );
    let pos = |needle: &str| {
        s.iter()
            .position(|x| x.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {s:#?}"))
    };
    let synack = pos("SYNPROXY: SYN from 192.168.1.10:");
    let ack = pos("carries a valid SYN cookie (MSS 1460): consumed; opening the connection to the server 192.168.1.1:80 with a SYN; options [mss 1460, sackOK, TS val ");
    let server = pos("SYN to listening socket *:80 (http-server web): SYN-RECV");
    let seqadj = pos("SYNPROXY: the server's SYN-ACK");
    assert!(synack < ack && ack < server && server < seqadj, "{s:#?}");
    // the client offers timestamps, SACK and window scale (Linux's
    // defaults): the SYN-ACK carries the rule's options back, its TSecr
    // the client's TSval (synproxy_tg4)
    assert!(
        s[synack].contains("(MSS 1460 encoded; options [mss 1460, sackOK, TS val ")
            && s[synack].ends_with(", wscale 7])"),
        "{}",
        s[synack]
    );
}

/// The packets themselves: the client only ever sees the cookie's
/// sequence space, the server only its own (seqadj).
#[test]
fn synproxy_translates_sequence_numbers_both_ways() {
    let t = run(IPT);
    let f = &t.flows[0];
    let mut cookie = None;
    let mut server_isn = None;
    for h in &f.hops {
        for st in &h.steps {
            if let Some(r) = st.what.split("with SYN cookie ").nth(1) {
                cookie = cookie.or(r.split(' ').next().and_then(|c| c.parse::<u32>().ok()));
            }
            if let Some(r) = st.what.split("the server's SYN-ACK (ISN ").nth(1) {
                server_isn = server_isn.or(r.split(')').next().and_then(|c| c.parse::<u32>().ok()));
            }
        }
    }
    let (cookie, server_isn) = (cookie.expect("cookie"), server_isn.expect("server ISN"));
    // every packet as it left a host
    let out: Vec<&str> = f.hops.iter().filter_map(|h| h.after.as_deref()).collect();
    // the window update reaches the client in the cookie's space
    let client_seq = format!("[.] seq {}", cookie.wrapping_add(1));
    assert!(
        out.iter()
            .any(|l| l.starts_with("TCP 192.168.1.1:80 > 192.168.1.10:") && l.contains(&client_seq)),
        "{out:#?}"
    );
    // the server's ACK acknowledges its own ISN, untranslated
    let server_ack = format!("ack {}", server_isn.wrapping_add(1));
    assert!(
        out.iter().any(|l| l.starts_with("TCP 192.168.1.10:")
            && l.contains("[.]")
            && l.contains(&server_ack)),
        "{out:#?}"
    );
    // the server's data reaches the client translated into the cookie's
    // space (seq past cookie + 1)
    assert!(
        out.iter()
            .any(|l| l.starts_with("TCP 192.168.1.1:80 > 192.168.1.10:")
                && l.contains("[P.]")
                && l.contains(&format!("seq {}", cookie.wrapping_add(1)))),
        "{out:#?}"
    );
    // the server's answer reaches the client translated: its data is
    // acknowledged by the client in the cookie's space
    assert!(f.outcome.starts_with("HTTP 200"), "{}", f.outcome);
}

/// nft's synproxy (nft_synproxy.c) through a named `synproxy` object,
/// with `notrack` for the SYN (the nftables wiki's recipe).
#[test]
fn nft_named_synproxy_object_protects_the_server() {
    let nft = "    nftables: |\n      table ip sp {\n        synproxy web-sp {\n          mss 1460\n          wscale 7\n          timestamp sack-perm\n        }\n        chain raw {\n          type filter hook prerouting priority raw; policy accept;\n          iif \"eth0\" tcp dport 80 tcp flags syn notrack\n        }\n        chain input {\n          type filter hook input priority filter; policy accept;\n          iif \"eth0\" tcp dport 80 ct state invalid,untracked synproxy name \"web-sp\"\n          iif \"eth0\" tcp dport 80 ct state invalid drop\n        }\n      }\n";
    let start = IPT.find("    iptables: |").unwrap();
    let end = IPT.find("    apps:").unwrap();
    let text = format!("{}{nft}{}", &IPT[..start], &IPT[end..]);
    let t = run(&text);
    let s = steps(&t);
    assert!(
        t.flows[0].outcome.starts_with("HTTP 200"),
        "{}\n{s:#?}",
        t.flows[0].outcome
    );
    assert!(
        s.iter()
            .any(|x| x.contains("answering SYN-ACK with SYN cookie")),
        "{s:#?}"
    );
    assert!(
        s.iter().any(|x| x.contains("carries a valid SYN cookie")),
        "{s:#?}"
    );
    assert!(
        s.iter().any(|x| x.contains("SYNPROXY seqadj: seq ")),
        "{s:#?}"
    );
}

/// A forged ACK (no SYN cookie of ours) is dropped, and the server never
/// hears of it.
#[test]
fn an_ack_without_a_cookie_is_dropped() {
    use podpath_sim::net::netfilter::synproxy::{
        cookie_check, cookie_init, CookieSecret, CookieTuple,
    };
    let s = CookieSecret([[7, 8], [9, 10]]);
    let t = CookieTuple {
        saddr: "192.168.1.10".parse().unwrap(),
        daddr: "192.168.1.1".parse().unwrap(),
        sport: 40000,
        dport: 80,
    };
    let (c, _) = cookie_init(&s, &t, 5, 1460, 0);
    assert_eq!(cookie_check(&s, &t, 5, c.wrapping_add(1), 0), None);
}
