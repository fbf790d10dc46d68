//! NodePort to a pod on another node across flannel VXLAN (seed 003).

use podpath_sim::engine::Engine;
use podpath_sim::trace::Action;
use podpath_sim::wire::{verify_checksums, Frame, L3, L4};

const SCENARIO: &str = include_str!("../../scenarios/nodeport-vxlan.yaml");

#[test]
fn nodeport_crosses_the_overlay_and_returns() {
    let world = podpath_sim::scenario::load(SCENARIO, "nodeport-vxlan.yaml", None).unwrap();
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    assert_eq!(
        f.outcome.split(" in ").next(),
        Some("HTTP 200 OK"),
        "{}",
        f.outcome
    );
    assert!(f.outcome.ends_with(": hostnames-7b6d9"));
    let syn_a = f
        .hops
        .iter()
        .find(|h| {
            h.host == "node-a" && h.in_dev.as_deref() == Some("eth0") && h.before.contains("[S]")
        })
        .unwrap();
    let acts: Vec<&Action> = syn_a.steps.iter().map(|s| &s.action).collect();
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Dnat { to, .. } if to == "10.244.1.2:9376")));
    // MASQUERADE picks flannel.1's address, the source for the route via flannel.1.
    assert!(acts.iter().any(|a| matches!(a, Action::Snat { from, to, .. } if from.starts_with("10.1.1.50:") && to.starts_with("10.244.0.0:"))));
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Encap { outer } if outer == "UDP 10.1.1.111:8472 vni 1")));
    // node-b decapsulates and forwards to the pod without NAT.
    let dec = f
        .hops
        .iter()
        .find(|h| {
            h.host == "node-b"
                && h.steps
                    .iter()
                    .any(|s| matches!(s.action, Action::Decap { .. }))
        })
        .unwrap();
    assert_eq!(dec.in_dev.as_deref(), Some("eth0"));
    let inner = f
        .hops
        .iter()
        .find(|h| {
            h.host == "node-b"
                && h.in_dev.as_deref() == Some("flannel.1")
                && h.before.contains("[S]")
        })
        .unwrap();
    assert!(
        inner.before.starts_with("TCP 10.244.0.0:"),
        "{}",
        inner.before
    );
    assert!(!inner
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::Dnat { .. } | Action::Snat { .. })));
    assert_eq!(inner.out_dev.as_deref(), Some("veth3a9f0c21"));
    // The answer is de-NATed on node-a: the client sees 10.1.1.110:30000.
    assert!(f.hops.iter().any(|h| h.host == "client"
        && h.before.starts_with("TCP 10.1.1.110:30000 > 10.1.1.50:")
        && h.before.contains("[P.]")));
    // Every VXLAN frame on the wire: outer UDP 8472, VNI 1, no DF, valid checksums.
    let mut vx = 0;
    for c in t
        .captures
        .iter()
        .filter(|c| c.dev == "eth0" && (c.host == "node-a" || c.host == "node-b"))
    {
        verify_checksums(&c.bytes).unwrap();
        let fr = Frame::parse(&c.bytes).unwrap();
        if let L3::Ipv4(ip) = &fr.payload {
            if let L4::Udp { hdr, payload } = &ip.l4 {
                assert_eq!(hdr.destination_port, 8472);
                assert!(!ip.hdr.dont_fragment);
                let v = podpath_sim::wire::vxlan::VxlanRepr::parse(payload).unwrap();
                assert_eq!(v.vni, 1);
                verify_checksums(&v.inner).unwrap();
                vx += 1;
            }
        }
    }
    assert!(vx >= 10, "{vx}");
}
