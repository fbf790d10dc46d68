//! `podpath diff`: a scenario against itself with one change reports exactly
//! the flows (and reach cells) that change, with the first divergent step.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn patch(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/diff")
        .join(name)
        .display()
        .to_string()
}

/// (exit code, stdout, stderr)
fn diff(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .arg("diff")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let (code, out, err) = diff(&a);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")),
    )
}

fn changed_ids(v: &Value) -> Vec<String> {
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["changed"] == true)
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn flow<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap()
}

#[test]
fn a_scenario_against_itself_has_no_change() {
    let (code, v) = json(&["flannel-cluster", "flannel-cluster"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], 0);
    assert_eq!(v["flows"].as_array().unwrap().len(), 5);
    assert!(v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["first_divergence"].is_null()));
}

#[test]
fn a_changed_node_port_changes_only_the_node_port_flows() {
    let (code, v) = json(&["flannel-cluster", "--patch", &patch("nodeport-30081.yaml")]);
    assert_eq!(code, 1);
    assert_eq!(changed_ids(&v), ["nodeport#1", "nodeport#2"]);
    let f = flow(&v, "nodeport#1");
    assert_eq!(f["a"]["outcome"]["kind"], "answered");
    assert_eq!(f["b"]["outcome"]["kind"], "rejected");
    // the runs part where kube-proxy's KUBE-NODEPORTS rule for 30080 was
    // matched, and no longer is
    let d = &f["first_divergence"];
    assert_eq!(d["host"], "kind-worker");
    assert_eq!(d["point"], "nat/PREROUTING");
    assert!(d["a"].as_str().unwrap().contains("--dport 30080"), "{d}");
    // the ClusterIP flows kept their fate (their ephemeral ports and
    // endpoints are their own draws)
    for id in ["dns", "clusterip#1", "clusterip#2"] {
        assert_eq!(flow(&v, id)["changed"], false, "{id}");
    }
    assert_eq!(v["changed"], 2);
}

#[test]
fn other_ephemeral_and_masquerade_ports_are_no_change() {
    let (code, v) = json(&[
        "flannel-cluster",
        "--patch",
        &patch("laptop-port-range.yaml"),
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], 0);
    // the patch took effect: the laptop's connections use ports of the
    // new range, and its steps show them
    let f = flow(&v, "nodeport#1");
    let snat = f["b"]["nat"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "SNAT")
        .unwrap();
    let port: u16 = snat["from"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((20000..=20999).contains(&port), "{snat}");
    assert_ne!(f["a"]["nat"], f["b"]["nat"]);
}

#[test]
fn a_policy_change_flips_only_its_cells() {
    let (code, v) = json(&[
        "netpol-calico",
        "--patch",
        &patch("metrics-allowed.yaml"),
        "--reach",
    ]);
    assert_eq!(code, 1);
    assert_eq!(changed_ids(&v), ["metrics"]);
    let cells = v["reach"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{cells:?}");
    let c = &cells[0];
    assert_eq!(
        (
            &c["from"],
            &c["to"],
            &c["port"],
            &c["protocol"],
            &c["a"],
            &c["b"]
        ),
        (
            &Value::from("shop/frontend"),
            &Value::from("shop/backend"),
            &Value::from(9090),
            &Value::from("TCP"),
            &Value::from("denied"),
            &Value::from("allowed")
        )
    );
    // where the packet was dropped before: felix's end-of-tier DROP
    let d = &flow(&v, "metrics")["first_divergence"];
    assert!(
        d["a"].as_str().unwrap().contains("End of tier default"),
        "{d}"
    );
}

#[test]
fn kernel_commands_patch_a_host_and_other_flows_that_change_are_named() {
    let (code, v) = json(&[
        "troubleshoot-forward-drop",
        "--patch",
        &patch("forward-fix.yaml"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(changed_ids(&v), ["via-node-b"]);
    assert_eq!(flow(&v, "via-node-b")["b"]["outcome"]["kind"], "answered");
    // a change that fixes one flow and breaks the other reports both
    let (_, v) = json(&[
        "troubleshoot-forward-drop",
        "--patch",
        &patch("forward-breaks-node-a.yaml"),
    ]);
    assert_eq!(changed_ids(&v), ["via-node-b", "via-node-a"]);
    let a = flow(&v, "via-node-a");
    assert_eq!(a["b"]["drop"]["host"], "node-a");
    assert_eq!(a["b"]["drop"]["point"], "raw/PREROUTING");
}

#[test]
fn the_text_report_names_the_changed_flows_and_where_they_part() {
    let (code, out, _) = diff(&["flannel-cluster", "--patch", &patch("nodeport-30081.yaml")]);
    assert_eq!(code, 1);
    assert!(out.contains("CHANGED  nodeport#1"), "{out}");
    assert!(out.contains("parts  at hop"), "{out}");
    assert!(out.contains("2 of 5 flow(s) changed their fate"), "{out}");
    assert!(!out.contains("CHANGED  clusterip"), "{out}");
}

#[test]
fn bad_patches_are_refused_with_their_reason() {
    let dir = std::env::temp_dir().join(format!("podpath-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "apiVersion: podpath/v1\nkind: Commands\ncommands:\n  nowhere: [\"sysctl -w net.ipv4.ip_forward=1\"]\n",
            "commands for host 'nowhere', which the scenario does not have",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: gone, namespace: default}\n$patch: delete\n",
            "which the scenario's manifests do not have",
        ),
        (
            "apiVersion: podpath/v1\nkind: Commands\ncommands:\n  laptop: [\"iptables -L\"]\n",
            "expected `iptables [-t TABLE] -A|-I|-D CHAIN ...`",
        ),
        (
            "apiVersion: podpath/v1\nkind: Commands\ncommands:\n  kind-worker: [\"iptables -D FORWARD 99\"]\n",
            "Index of deletion too big",
        ),
        ("kind: Service\n", "expected apiVersion and kind"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = dir.join(format!("p{i}.yaml"));
        std::fs::write(&f, text).unwrap();
        let (code, out, err) = diff(&["flannel-cluster", "--patch", f.to_str().unwrap()]);
        assert_eq!(code, 2, "{text}: {out}{err}");
        assert!(err.contains(want), "{text}: want '{want}' in: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
