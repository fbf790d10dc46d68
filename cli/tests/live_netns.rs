//! Kernel differential tests: each topology is built for real out of network
//! namespaces, its flows go through the real kernel, every device is captured
//! (per direction), and the captures must match the simulation frame for
//! frame (ports up to a consistent renaming). Skipped, with the reason
//! printed, where network namespaces cannot be created (not root, no ip).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/live")
        .join(name)
        .display()
        .to_string()
}

fn can_run() -> Result<(), String> {
    match common::netns_unavailable(&["tcpdump", "iptables-restore", "python3", "bridge"]) {
        None => Ok(()),
        Some(why) => Err(why),
    }
}

/// Runs `podpath live --netns SCENARIO --diff` with a bounded wait; returns
/// (exit code, stdout).
fn live(scenario: &str, tag: &str) -> (Option<i32>, String) {
    let prefix = format!("pt{}{tag}-", std::process::id() % 10000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .args(["live", "--netns", scenario, "--diff", "--prefix", &prefix])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..1200 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // nothing of this run may be left behind
            let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
            assert!(
                !String::from_utf8_lossy(&ns.stdout).contains(&prefix),
                "namespaces left behind"
            );
            return (out.status.code(), text);
        }
        sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("podpath live did not finish within 120 s");
}

/// One live run at a time: they compare timing-dependent sequences (ARP
/// probes, SYN retransmissions), which two cores shared by parallel runs
/// would skew.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn check(scenario: &str, tag: &str, interfaces: usize) {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(why) = can_run() {
        common::skip(&format!("live_netns kernel differential test {tag}"), &why);
        return;
    }
    let (code, out) = live(scenario, tag);
    println!("{out}");
    let want = format!("{interfaces} of {interfaces} interface directions match");
    assert!(out.contains(&want), "expected '{want}':\n{out}");
    let bundle = format!("bundle replay: {interfaces} of {interfaces} interface directions match");
    assert!(
        out.contains(&bundle),
        "expected '{bundle}' (snapshot of the real namespaces, replayed):\n{out}"
    );
    assert_eq!(code, Some(0), "{out}");
    // Each flow succeeds on the real kernel exactly when it succeeds in the
    // simulation, with the same answer.
    let outcome = |prefix: &str, id: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{prefix} {id}: ")))
            .unwrap_or("")
            .to_string()
    };
    let ids: Vec<String> = out
        .lines()
        .filter_map(|l| {
            l.strip_prefix("live ")
                .and_then(|r| r.split_once(": "))
                .map(|(id, _)| id.to_string())
        })
        .collect();
    assert!(!ids.is_empty(), "{out}");
    for id in ids {
        let (real, sim) = (outcome("live", &id), outcome("sim ", &id));
        let ok =
            |s: &str| s.starts_with("HTTP 200") || (s.starts_with("DNS A") && s.contains("->"));
        assert_eq!(
            ok(&real),
            ok(&sim),
            "flow {id}: real '{real}' vs sim '{sim}'"
        );
        if ok(&sim) && sim.starts_with("HTTP") {
            let body = |s: &str| s.rsplit(": ").next().unwrap_or("").to_string();
            assert_eq!(body(&real), body(&sim), "flow {id}");
        }
        if ok(&sim) && sim.starts_with("DNS") {
            let answer = |s: &str| s.split(" from ").next().unwrap_or("").to_string();
            assert_eq!(answer(&real), answer(&sim), "flow {id}");
        }
    }
}

#[test]
fn nodeport_to_other_node_over_flannel_vxlan() {
    check("nodeport-vxlan", "vx", 36);
}

#[test]
fn clusterip_bridged_dnat_same_node() {
    check(&fixture("clusterip-bridged.yaml"), "cb", 16);
}

#[test]
fn hairpin_pod_to_its_own_service() {
    check(&fixture("hairpin.yaml"), "hp", 10);
}

#[test]
fn pod_egress_masquerade_through_router() {
    check(&fixture("egress-masquerade.yaml"), "eg", 22);
}

#[test]
fn policy_routing_with_strict_rp_filter() {
    check(&fixture("policy-routing.yaml"), "pr", 20);
}

#[test]
fn external_traffic_policy_local_and_forward_drop() {
    check(&fixture("etp-local-forward-drop.yaml"), "el", 32);
}

#[test]
fn dns_over_udp_to_clusterip_on_another_node() {
    check(&fixture("dns-clusterip.yaml"), "dn", 42);
}

/// A cluster generated from Kubernetes objects (flannel vxlan + kube-proxy
/// iptables): DNS to CoreDNS on the other node, ClusterIP across nodes, NodePort.
#[test]
fn generated_flannel_vxlan_cluster() {
    check(&fixture("flannel-cluster.yaml"), "fv", 54);
}

/// The same objects with kube-proxy in nftables mode: the `ip kube-proxy`
/// table loaded with `nft -f` into the real nodes, and read back from their
/// `nft list ruleset` for the bundle replay.
#[test]
fn generated_flannel_vxlan_cluster_nftables() {
    if !common::have("nft") {
        common::skip(
            "live_netns kernel differential test fn",
            "nft is not installed (scripts/test installs nftables as root)",
        );
        return;
    }
    check(&fixture("flannel-nftables.yaml"), "fn", 54);
}

/// The same objects with flannel's host-gw backend (routes via node IPs).
#[test]
fn generated_flannel_host_gw_cluster() {
    check(&fixture("flannel-hostgw.yaml"), "fg", 50);
}

/// The same objects with calico in BGP mode: cali* veths with proxy ARP for
/// 169.254.1.1, /32 routes per pod, blocks routed via node addresses.
#[test]
fn generated_calico_bgp_cluster() {
    check(&fixture("calico-bgp.yaml"), "cg", 46);
}

/// Path MTU: ping with DF across a 1280-byte link draws ICMP
/// fragmentation-needed (quoting 548 bytes, as icmp_send does); a smaller
/// ping is answered.
#[test]
fn pmtu_fragmentation_needed() {
    check(&fixture("pmtu.yaml"), "pm", 14);
}

/// The same objects with kind's kindnet CNI (ptp veths, per-node routes,
/// KIND-MASQ-AGENT), the layout of a kind cluster's nodes.
#[test]
fn generated_kindnet_cluster() {
    check(&fixture("kindnet.yaml"), "kn", 46);
}

/// A HAProxy on a keepalived VIP in front of a NodePort, the daemons real:
/// keepalived 2.2.7 takes the VIP on lb1 (VRRP adverts, gratuitous ARPs,
/// compared as their own class), HAProxy (mode tcp) on the VIP's holder
/// connects to the node's NodePort, kube-proxy DNATs to the pod; three
/// requests one after the other. The snapshot carries both programs with
/// their configuration files, and its replay runs them.
#[test]
fn keepalived_vip_haproxy_nodeport() {
    for tool in ["haproxy", "keepalived"] {
        if !common::have(tool) {
            common::skip(
                "live_netns kernel differential test ka",
                &format!("{tool} is not installed (scripts/test installs it as root)"),
            );
            return;
        }
    }
    check(&fixture("keepalived-haproxy.yaml"), "ka", 38);
}
