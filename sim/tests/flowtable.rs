//! nftables flowtables (net/netfilter/nft_flow_offload.c,
//! nf_flow_table_ip.c): a router whose forward chain says `flow add @ft`
//! offloads a TCP connection once it is established in both directions;
//! its later packets take the fast path at the ingress of the
//! flowtable's devices (NAT, TTL-1, out to the cached next hop, no
//! netfilter hooks), and a FIN tears the flow down. `conntrack -L`
//! entries marked [OFFLOAD] go into the host's flowtable, or stay
//! ordinary entries when it has none.

use podpath_sim::engine::Engine;
use podpath_sim::net::netfilter::ct_list;

const SCENARIO: &str = r#"
apiVersion: podpath/v1
kind: Scenario
metadata: {name: flowtable}
hosts:
  client:
    kind: client
    devices:
      eth0: {addrs: [10.0.1.2/24]}
    routes:
      - {dst: default, via: 10.0.1.1, dev: eth0}
  router:
    kind: router
    devices:
      eth0: {addrs: [10.0.1.1/24]}
      eth1: {addrs: [10.0.2.1/24]}
    sysctl: {net.ipv4.ip_forward: 1}
    nftables: |
      table inet filter {
        flowtable ft {
          hook ingress priority 0;
          devices = { "eth0", "eth1" };
        }
        chain forward {
          type filter hook forward priority 0; policy accept;
          meta l4proto { tcp, udp } flow offload @ft
        }
      }
      table ip nat {
        chain postrouting {
          type nat hook postrouting priority 100; policy accept;
          oifname "eth1" masquerade
        }
      }
  server:
    kind: pod
    devices:
      eth0: {addrs: [10.0.2.2/24]}
    routes:
      - {dst: default, via: 10.0.2.1, dev: eth0}
    apps:
      - kind: http-server
        name: web
        listen: ":80"
        routes:
          /: {body: "hello"}
links:
  - {a: client/eth0, b: router/eth0}
  - {a: router/eth1, b: server/eth0}
traffic:
  - {id: get, from: client, http: {get: "http://10.0.2.2/"}}
"#;

fn router_steps(t: &podpath_sim::trace::Trace) -> Vec<(u64, String, String)> {
    t.flows[0]
        .hops
        .iter()
        .filter(|h| h.host == "router")
        .flat_map(|h| {
            h.steps
                .iter()
                .map(move |s| (h.seq as u64, s.point.to_string(), s.what.clone()))
        })
        .collect()
}

#[test]
fn established_tcp_is_offloaded_and_takes_the_fast_path() {
    let w = podpath_sim::scenario::load(SCENARIO, "ft.yaml", None).unwrap();
    let t = Engine::new(w).run();
    let f = &t.flows[0];
    assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
    let steps = router_steps(&t);
    let dump = || {
        steps
            .iter()
            .map(|(p, pt, w)| format!("{p} {pt}: {w}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // the SYN and the SYN-ACK: not established yet
    assert!(
        steps
            .iter()
            .any(|(_, _, w)| w.contains("TCP SYN_SENT is not established in both directions")),
        "{}",
        dump()
    );
    assert!(
        steps
            .iter()
            .any(|(_, _, w)| w.contains("TCP SYN_RECV is not established in both directions")),
        "{}",
        dump()
    );
    // the handshake's ACK offloads it
    let added = steps
        .iter()
        .position(|(_, _, w)| {
            w.contains("offloaded to flowtable ft (fast path at the ingress of eth0, eth1)")
        })
        .unwrap_or_else(|| panic!("{}", dump()));
    // later packets, both ways: the fast path, no forward hook
    let fast: Vec<&(u64, String, String)> = steps[added..]
        .iter()
        .filter(|(_, pt, w)| pt == "flowtable" && w.contains("is offloaded: NAT, TTL-1"))
        .collect();
    assert!(fast.len() >= 2, "{}", dump());
    for (pkt, _, _) in &fast {
        assert!(
            !steps
                .iter()
                .any(|(p, pt, _)| p == pkt && (pt.starts_with("nft/") || pt == "routing")),
            "packet {pkt} ran hooks: {}",
            dump()
        );
    }
    assert!(fast.iter().any(|(_, _, w)| w.contains("out of eth1")));
    assert!(fast.iter().any(|(_, _, w)| w.contains("out of eth0")));
    // the FIN tears it down and takes the classic path
    assert!(
        steps
            .iter()
            .any(|(_, _, w)| w.contains("tears the flow down")),
        "{}",
        dump()
    );
    // the masquerade is applied on the fast path too: the server only
    // ever sees the router's address
    let server_src_ok = t.captures.iter().filter(|c| c.host == "server").all(|c| {
        c.bytes.len() < 34 || c.bytes[23] != 6 || {
            let (s, d) = (&c.bytes[26..30], &c.bytes[30..34]);
            s == [10, 0, 2, 1] || d == [10, 0, 2, 1]
        }
    });
    assert!(server_src_ok);
}

/// `conntrack -L` lines with [OFFLOAD] (the form pyroute2#1198 shows):
/// on the router they go into its flowtable, each direction expected on
/// the device the other leaves by; on a host without a flowtable they
/// stay ordinary entries, which is said.
#[test]
fn loaded_offload_entries_go_into_the_flowtable_or_stay_ordinary() {
    let dump = "udp      17 src=10.0.1.2 dst=10.0.2.2 sport=41510 dport=53 src=10.0.2.2 dst=10.0.2.1 sport=53 dport=12100 [OFFLOAD] mark=0 use=2\n";
    let l = ct_list::parse(dump).unwrap();
    assert!(l.unmodelled.is_empty());
    let offl = ct_list::offloaded_tuples(&l);
    assert_eq!(offl.len(), 1);
    let mut w = podpath_sim::scenario::load(SCENARIO, "ft.yaml", None).unwrap();
    let r = w.hosts.iter_mut().find(|h| h.name == "router").unwrap();
    assert_eq!(ct_list::insert(&mut r.ct, &l, 0), 1);
    let warn = r.offload_loaded(&offl, 0);
    assert!(warn.is_empty(), "{warn:?}");
    let c = r.ct.conns.values().next().unwrap();
    let o = c.offload.as_ref().unwrap();
    assert_eq!(
        (o.table.as_str(), o.flowtable.as_str()),
        ("inet filter", "ft")
    );
    let name = |i: usize| r.devs[i].name.clone();
    assert_eq!(
        (name(o.path[0].iif), name(o.path[0].oif)),
        ("eth0".into(), "eth1".into())
    );
    assert_eq!(
        (name(o.path[1].iif), name(o.path[1].oif)),
        ("eth1".into(), "eth0".into())
    );
    assert!(o.path.iter().all(|p| p.hooked));
    assert!(r.ct.list()[0].ends_with("[OFFLOAD]"), "{:?}", r.ct.list());
    // the client has no flowtable
    let cl = w.hosts.iter_mut().find(|h| h.name == "client").unwrap();
    ct_list::insert(&mut cl.ct, &l, 0);
    let warn = cl.offload_loaded(&offl, 0);
    assert_eq!(warn.len(), 1);
    assert!(
        warn[0].contains("no flowtable in the nft ruleset: an ordinary entry"),
        "{warn:?}"
    );
    assert!(cl.ct.conns.values().all(|c| c.offload.is_none()));
}
