//! `podpath live --kind` end to end against a kind-like cluster built in
//! network namespaces (kind's docker network 172.18.0.0/16, one namespace per
//! node and pod, kindnet's veths and routes, kube-proxy iptables mode): the
//! objects are applied, the flows sent from the pods, the nodes captured and
//! snapshotted, the snapshot replayed and diffed per node interface. The
//! real kubectl/docker adapter cannot run here (no container engine); its
//! refusals are tested.

mod common;

use std::path::Path;
use std::process::Command;

fn podpath(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn fixture(n: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/live")
        .join(n)
        .display()
        .to_string()
}

fn namespaces_with(prefix: &str) -> usize {
    let o = Command::new("ip").args(["netns", "list"]).output();
    o.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with(prefix))
            .count()
    })
    .unwrap_or(0)
}

/// The kind pipeline over network namespaces needs what `live --netns`
/// needs: root, iproute2, tcpdump (captures), iptables-restore.
fn can_create_netns(test: &str) -> bool {
    match common::netns_unavailable(&["tcpdump", "iptables-restore", "bridge"]) {
        None => true,
        Some(why) => {
            common::skip(test, &why);
            false
        }
    }
}

#[test]
fn kind_pipeline_on_a_netns_cluster() {
    if !can_create_netns("live_kind::kind_pipeline_on_a_netns_cluster") {
        return;
    }
    let prefix = format!("pk{}-", std::process::id() % 10000);
    let (code, out, err) = podpath(&[
        "live",
        "--kind",
        "--fake-netns",
        &fixture("kindnet.yaml"),
        "--diff",
        "--prefix",
        &prefix,
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("kind: context kind-podpath-netns, nodes kind-control-plane, kind-worker"));
    assert!(out.contains("kind: 4/4 pods ready"));
    assert!(out.contains("live clusterip: HTTP 200 OK"), "{out}");
    assert!(
        out.contains("kind: 16 of 16 node interface directions match"),
        "{out}"
    );
    assert_eq!(namespaces_with(&prefix), 0, "everything removed");
}

#[test]
fn kind_refuses_a_non_kind_context_and_cleans_up() {
    if !can_create_netns("live_kind::kind_refuses_a_non_kind_context_and_cleans_up") {
        return;
    }
    let prefix = format!("pq{}-", std::process::id() % 10000);
    let (code, _out, err) = podpath(&[
        "live",
        "--kind",
        "--fake-netns",
        "--context",
        "prod-eu-1",
        &fixture("kindnet.yaml"),
        "--prefix",
        &prefix,
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains(
            "refusing kube context 'prod-eu-1': podpath live --kind only runs on kind clusters"
        ),
        "{err}"
    );
    assert_eq!(namespaces_with(&prefix), 0);
}

#[test]
fn kind_errors_name_what_is_missing() {
    // a scenario without Kubernetes objects
    let (code, _o, err) = podpath(&["live", "--kind", "--fake-netns", "nodeport-vxlan"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("live --kind needs a scenario with a 'cluster'"),
        "{err}"
    );
    // the real adapter without kubectl on PATH
    if Command::new("kubectl").arg("version").output().is_err() {
        let (code, _o, err) = podpath(&["live", "--kind", &fixture("kindnet.yaml")]);
        assert_eq!(code, Some(2));
        assert!(
            err.contains("'kubectl' is not installed or not on PATH"),
            "{err}"
        );
    } else {
        // kubectl is here but no kind cluster is: a clear error, not a hang
        let (code, _o, err) = podpath(&["live", "--kind", &fixture("kindnet.yaml")]);
        assert_eq!(code, Some(2));
        assert!(
            err.contains("is the cluster reachable?") || err.contains("docker"),
            "{err}"
        );
    }
}
