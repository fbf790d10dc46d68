//! Seed 002: HeadCNI host mode vs daemon mode, and the routing decisions
//! for 100.64.0.5 (Tailscale, longest prefix 100.64.0.0/10) and 8.8.8.8
//! (default route), WireGuard framing on the wire, and path MTU.

use podpath_sim::engine::Engine;
use podpath_sim::trace::Point;
use podpath_sim::trace::Trace;

fn run(text: &str, file: &str) -> Trace {
    let world = podpath_sim::scenario::load(text, file, None).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(world).run()
}

fn node_steps<'a>(t: &'a Trace, flow: &str, point: Point) -> Vec<&'a str> {
    t.flows
        .iter()
        .find(|f| f.id == flow)
        .expect("flow")
        .hops
        .iter()
        .filter(|h| h.host == "node-1")
        .flat_map(|h| h.steps.iter())
        .filter(|s| s.point == point)
        .map(|s| s.what.as_str())
        .collect()
}

const HOST: &str = include_str!("../../scenarios/headcni-host-mode.yaml");
const DAEMON: &str = include_str!("../../scenarios/headcni-daemon-mode.yaml");

#[test]
fn host_mode_routes_tailnet_via_tailscale0_and_internet_via_default() {
    let t = run(HOST, "headcni-host-mode.yaml");
    let r = node_steps(&t, "tailnet", Point::Routing);
    assert_eq!(
        r[0],
        "100.64.0.5: rule 32766 -> table main: 100.64.0.0/10 dev tailscale0"
    );
    let w = node_steps(&t, "tailnet", Point::Wireguard);
    assert!(w[0].starts_with(
        "tailscale0: 100.64.0.5 is in peer ts-peer's allowed-ips 100.64.0.5/32: seal 60 bytes (counter 0) into UDP :41641 > 203.0.113.7:41641, 96 bytes"
    ), "{}", w[0]);
    let r = node_steps(&t, "internet", Point::Routing);
    assert_eq!(
        r[0],
        "8.8.8.8: rule 32766 -> table main: 0.0.0.0/0 via 192.168.1.1 dev eth0"
    );
    let outcome = |id: &str| t.flows.iter().find(|f| f.id == id).unwrap().outcome.clone();
    assert!(outcome("tailnet").starts_with("HTTP 200 OK"));
    assert!(outcome("internet").contains("example.com -> 93.184.216.34"));
    // tailscale0's MTU 1280: a 1400-byte ping with DF draws fragmentation-needed
    assert_eq!(
        outcome("pmtu"),
        "From 10.244.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1280)"
    );
    assert!(outcome("ping-small").starts_with("1208 bytes from 100.64.0.5"));
    let d = node_steps(&t, "pmtu", Point::IpForward);
    assert_eq!(
        d,
        ["DROP: 1428 bytes exceed the MTU 1280 of tailscale0 and DF is set"]
    );
    // The WireGuard packets between the sites, as captured on node-1's eth0:
    // UDP 41641, transport messages whose size is WireGuard's.
    let wg: Vec<&podpath_sim::trace::Capture> = t
        .captures
        .iter()
        .filter(|c| c.host == "node-1" && c.dev == "eth0" && c.flow == "tailnet")
        .collect();
    assert!(!wg.is_empty());
    let f =
        podpath_sim::wire::Frame::parse(&wg.iter().find(|c| c.bytes.len() > 100).unwrap().bytes)
            .unwrap();
    let podpath_sim::wire::L3::Ipv4(ip) = f.payload else {
        panic!()
    };
    let podpath_sim::wire::L4::Udp { hdr, payload } = ip.l4 else {
        panic!()
    };
    assert!(hdr.source_port == 41641 || hdr.destination_port == 41641);
    assert_eq!(payload[0], 4);
    assert_eq!((payload.len() - 32) % 16, 0);
    // the tun device is captured without an Ethernet header
    let tun = t.captures.iter().find(|c| c.dev == "tailscale0").unwrap();
    assert_eq!(tun.bytes[0] >> 4, 4);
}

#[test]
fn daemon_mode_uses_headcni01() {
    let t = run(DAEMON, "headcni-daemon-mode.yaml");
    let r = node_steps(&t, "tailnet", Point::Routing);
    assert_eq!(
        r[0],
        "100.64.0.5: rule 32766 -> table main: 100.64.0.0/10 dev headcni01"
    );
    let w = node_steps(&t, "tailnet", Point::Wireguard);
    assert!(w[0].starts_with("headcni01: 100.64.0.5 is in peer ts-peer's allowed-ips"));
    assert!(t.flows.iter().all(|f| !f.outcome.is_empty()));
    assert!(t
        .flows
        .iter()
        .find(|f| f.id == "tailnet")
        .unwrap()
        .outcome
        .starts_with("HTTP 200 OK"));
    let r = node_steps(&t, "internet", Point::Routing);
    assert_eq!(
        r[0],
        "8.8.8.8: rule 32766 -> table main: 0.0.0.0/0 via 192.168.1.1 dev eth0"
    );
}

#[test]
fn wireguard_drops_sources_outside_allowed_ips() {
    // the peer no longer accepts the pod subnet from node-1
    let text = HOST.replace(
        "allowedIPs: [100.64.0.1/32, 10.244.0.0/24]",
        "allowedIPs: [100.64.0.1/32]",
    );
    let t = run(&text, "x.yaml");
    let f = t.flows.iter().find(|f| f.id == "tailnet").unwrap();
    let drop = f
        .hops
        .iter()
        .filter(|h| h.host == "ts-peer")
        .flat_map(|h| h.steps.iter())
        .find(|s| s.point == Point::Wireguard && s.what.contains("outside its allowed-ips"));
    assert!(drop.is_some());
    assert!(f.outcome.contains("timed out"), "{}", f.outcome);
}
