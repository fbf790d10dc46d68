//! A scenario adjusts a node its cluster generates: `hosts.<node>` adds
//! sysctls, devices, routes and iptables rules, merged onto the generated
//! node (iptables as `iptables-restore --noflush` would apply them, also
//! after every control-plane resync).

use podpath_sim::engine::Engine;
use podpath_sim::net::netfilter::{Hook, TableKind};
use podpath_sim::scenario::load;
use podpath_sim::trace::Point;

fn load_err(text: &str) -> podpath_sim::scenario::ScenarioError {
    match load(text, "a.yaml", None) {
        Ok(_) => panic!("should not load"),
        Err(e) => e,
    }
}

const FLANNEL: &str = include_str!("../../scenarios/flannel-cluster.yaml");

/// The scenario with `extra` (YAML lines, indented under `hosts:`) added.
fn with_hosts(base: &str, extra: &str) -> String {
    let out = base.replacen("hosts:\n", &format!("hosts:\n{extra}"), 1);
    assert_ne!(out, base);
    out
}

#[test]
fn a_generated_node_takes_extra_rules_sysctls_and_devices() {
    let text = with_hosts(
        FLANNEL,
        "  kind-worker:\n    kind: node\n    sysctl: {net.ipv4.conf.all.rp_filter: 1}\n    devices:\n      dummy0: {type: dummy, addrs: [192.0.2.1/32]}\n      eth0: {mtu: 9000}\n    iptables: |\n      *raw\n      :PREROUTING ACCEPT [0:0]\n      -I PREROUTING 1 -p tcp --dport 30080 -j DROP\n      COMMIT\n",
    );
    let w = load(&text, "adjusted.yaml", None).unwrap();
    let node = w.hosts.iter().find(|h| h.name == "kind-worker").unwrap();
    assert_eq!(node.sysctl.get("net.ipv4.conf.all.rp_filter"), "1");
    assert!(node.dev_index("dummy0").is_some());
    assert_eq!(node.devs[node.dev_index("eth0").unwrap()].mtu, 9000);
    // the generated rules are all still there, the added one first in raw
    let plain = load(FLANNEL, "plain.yaml", None).unwrap();
    let before = plain
        .hosts
        .iter()
        .find(|h| h.name == "kind-worker")
        .unwrap();
    assert_eq!(node.nf.rule_count(), before.nf.rule_count() + 1);
    let t = Engine::new(w).run();
    // the NodePort on kind-worker (172.18.0.3) is dropped now; the ClusterIP
    // flows from the client pod still answer
    for f in &t.flows {
        if f.id.starts_with("nodeport") {
            assert!(!f.disposition.answered(), "{}: {}", f.id, f.outcome);
            let (h, s) = f.first_drop().expect("dropped");
            assert_eq!(
                (h.host.as_str(), s.point),
                (
                    "kind-worker",
                    Point::Table(TableKind::Raw, Hook::Prerouting)
                )
            );
        } else {
            assert!(f.disposition.answered(), "{}: {}", f.id, f.outcome);
        }
    }
}

#[test]
fn adjustments_that_cannot_mean_anything_are_refused() {
    let e = load_err(&with_hosts(FLANNEL, "  kind-worker: {kind: pod}\n"));
    assert_eq!(e.key, "hosts.kind-worker.kind");
    assert!(
        e.message
            .contains("'kind-worker' is a node the cluster makes"),
        "{e}"
    );
    let e = load_err(&with_hosts(
        FLANNEL,
        "  kind-worker:\n    kind: node\n    devices:\n      eth0: {type: bridge}\n",
    ));
    assert!(
        e.message.contains(
            "device eth0 is made by the cluster: only its mtu, mac, addrs and up can be adjusted"
        ),
        "{e}"
    );
    // an added rule is checked as iptables-restore checks it, at its line
    let text = with_hosts(
        FLANNEL,
        "  kind-worker:\n    kind: node\n    iptables: |\n      *filter\n      :INPUT ACCEPT [0:0]\n      -A INPUT -j NOWHERE\n      COMMIT\n",
    );
    let e = load_err(&text);
    assert_eq!(e.key, "hosts.kind-worker.iptables");
    assert_eq!(e.line, 29, "{e}");
    assert!(e.message.contains("NOWHERE"), "{e}");
}

#[test]
fn added_rules_survive_a_resync() {
    // iptables mode: endpointRemoved rewrites kube-proxy's rules; the
    // scenario's own rule on the node is applied again on top
    let base = include_str!("../../scenarios/browser-to-pod.yaml").replace(
        "count: 3, start: 100ms, interval: 50ms}",
        "count: 3, start: 100ms, interval: 50ms}\nfaults:\n  - {at: 120ms, endpointRemoved: 10.244.0.10}",
    );
    let text = with_hosts(
        &base,
        "  node-1:\n    kind: node\n    iptables: |\n      *filter\n      :FORWARD ACCEPT [0:0]\n      :AUDIT-MARK - [0:0]\n      -I FORWARD 1 -j AUDIT-MARK\n      COMMIT\n",
    );
    let w = load(&text, "r.yaml", None).unwrap();
    let idx = w.hosts.iter().position(|h| h.name == "node-1").unwrap();
    let r = w
        .resyncs
        .iter()
        .find(|r| r.hosts.iter().any(|h| h.host == idx))
        .expect("node-1 resyncs");
    let nf = r
        .hosts
        .iter()
        .find(|h| h.host == idx)
        .unwrap()
        .iptables
        .as_ref()
        .expect("new rules");
    let text = nf.to_save_text();
    assert!(text.contains("-A FORWARD -j AUDIT-MARK\n"), "{text}");
    assert!(text.contains(":AUDIT-MARK - [0:0]"), "{text}");
}
