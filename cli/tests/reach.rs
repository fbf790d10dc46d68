//! `podpath reach` as a user runs it: the truth tables' layout, the JSON,
//! shards and their merge, thread counts, `--compare`'s exit status, the
//! refusals.

use std::path::PathBuf;
use std::process::{Command, Output};

fn podpath(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_podpath"));
    c.args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("podpath runs")
}

fn out(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// NetworkPolicies on flannel host-gw: x isolated for ingress, x/b
/// admitting its `http` port from x's app=a pods.
fn fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sim/tests/data/reach/flannel-netpol.yaml")
        .display()
        .to_string()
}

#[test]
fn spec_truth_tables_in_the_e2e_layout() {
    let f = fixture();
    let o = podpath(&["reach", &f, "--engine", "spec"], &[]);
    assert!(o.status.success(), "{}", err(&o));
    insta::assert_snapshot!("reach-flannel-netpol.spec.table", out(&o));
}

#[test]
fn spec_truth_table_through_json() {
    let f = fixture();
    let o = podpath(&["reach", &f, "--engine", "spec", "--format", "json"], &[]);
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let got: Vec<String> = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} → {} : {}/{} → {}",
                p["from"].as_str().unwrap(),
                p["to"].as_str().unwrap(),
                p["port"],
                p["protocol"].as_str().unwrap(),
                p["verdict"].as_str().unwrap()
            )
        })
        .collect();
    // written from the policies: x/a isolated by deny-all; x/b admits
    // TCP `http` (80) from app=a of x only; y open; a pod reaches itself
    let want = "x/a → x/a : 80/TCP → allowed
x/a → x/a : 81/UDP → allowed
x/a → x/b : 80/TCP → allowed
x/a → y/a : 80/TCP → allowed
x/a → svc/x/web : 8080/TCP → allowed
x/b → x/a : 80/TCP → denied
x/b → x/a : 81/UDP → denied
x/b → x/b : 80/TCP → allowed
x/b → y/a : 80/TCP → allowed
x/b → svc/x/web : 8080/TCP → denied
y/a → x/a : 80/TCP → denied
y/a → x/a : 81/UDP → denied
y/a → x/b : 80/TCP → denied
y/a → y/a : 80/TCP → allowed
y/a → svc/x/web : 8080/TCP → denied";
    assert_eq!(got.join("\n"), want);
    assert!(v["warnings"][0].as_str().unwrap().contains("no effect"));
    let d = &v["probes"][5]["decided_by"];
    assert_eq!(d["policy"], "x/deny-all");
    assert_eq!(d["direction"], "ingress");
    let d = &v["probes"][2]["decided_by"];
    assert_eq!(d["rule"], "x/allow-from-a ingress[0]");
    assert_eq!(v["probes"][4]["decided_by"]["endpoint"], "x/b");
}

#[test]
fn sim_on_flannel_allows_all_compare_lists_the_rest_and_exits_1() {
    let f = fixture();
    let o = podpath(&["reach", &f, "--format", "json"], &[]);
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let probes = v["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 15);
    assert!(probes.iter().all(|p| p["verdict"] == "allowed"));
    assert!(err(&o).contains("have no effect: the cluster's CNI (flannel-host-gw)"));
    let c = podpath(&["reach", &f, "--compare"], &[]);
    assert_eq!(c.status.code(), Some(1), "{}", err(&c));
    let text = out(&c);
    assert!(
        text.starts_with("15 probe(s) compared, 7 disagreement(s)"),
        "{text}"
    );
    assert!(
        text.contains("y/a -> svc/x/web : 8080/TCP\n  sim  allowed [on b, at tcp, endpoint x/b]"),
        "{text}"
    );
    assert!(text.contains("  spec denied [policy x/allow-from-a, x/deny-all, endpoint x/b]"));
    // no policy in the way: no disagreement, exit 0
    let c = podpath(&["reach", &f, "--compare", "--to", "y/*"], &[]);
    assert_eq!(c.status.code(), Some(0), "{}", out(&c));
}

#[test]
fn shards_merge_to_the_unsharded_output_with_any_thread_count() {
    let f = fixture();
    let dir = std::env::temp_dir().join(format!("podpath-reach-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = podpath(
        &["reach", &f, "--format", "json"],
        &[("RAYON_NUM_THREADS", "1")],
    );
    let two = podpath(
        &["reach", &f, "--format", "json"],
        &[("RAYON_NUM_THREADS", "2")],
    );
    assert_eq!(out(&whole), out(&two), "thread counts change nothing");
    let mut files = Vec::new();
    for i in 1..=4 {
        let o = podpath(
            &[
                "reach",
                &f,
                "--format",
                "json",
                "--shard",
                &format!("{i}/4"),
            ],
            &[],
        );
        assert!(o.status.success(), "{}", err(&o));
        let p = dir.join(format!("s{i}.json"));
        std::fs::write(&p, out(&o)).unwrap();
        files.push(p.display().to_string());
    }
    files.reverse();
    let mut args = vec!["reach", "--format", "json", "--merge"];
    args.extend(files.iter().map(String::as_str));
    let m = podpath(&args, &[]);
    assert!(m.status.success(), "{}", err(&m));
    assert_eq!(out(&m), out(&whole));
    // the table of the merge is the table of the whole
    args[2] = "table";
    let t = podpath(&args, &[]);
    let tw = podpath(&["reach", &f], &[]);
    assert_eq!(out(&t), out(&tw));
    let missing = podpath(&["reach", "--merge", &files[0], &files[1]], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(err(&missing).contains("needed"), "{}", err(&missing));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refusals_say_why() {
    let f = fixture();
    // SCTP: both engines take it (a port no pod declares selects none)
    for engine in ["sim", "spec"] {
        let o = podpath(&["reach", &f, "--engine", engine, "--port", "80/SCTP"], &[]);
        assert!(
            err(&o).contains("selects") || o.status.success(),
            "{engine}: {}",
            err(&o)
        );
    }
    let o = podpath(&["reach", &f, "--from", "app in (a"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("bad selector 'app in (a'"), "{}", err(&o));
    let o = podpath(&["reach", "--bundle", "/nonexistent"], &[]);
    assert!(err(&o).contains("a snapshot bundle holds machines only"));
    let o = podpath(&["reach", &f, "--shard", "3/2"], &[]);
    assert!(err(&o).contains("bad shard '3/2'"));
    let o = podpath(&["reach", &f, "--family", "ipv5"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("bad family 'ipv5': expected ipv4 or ipv6"),
        "{}",
        err(&o)
    );
}

/// A dual-stack cluster's matrix: an IPv6 column per dual-stack
/// destination; `--family ipv6` keeps those columns alone.
#[test]
fn dual_stack_has_an_ipv6_column_per_destination() {
    let o = podpath(
        &[
            "reach",
            "dual-stack-cluster",
            "--to",
            "svc/default/*",
            "--port",
            "80/TCP",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", err(&o));
    let t = out(&o);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[0], "80/TCP");
    assert_eq!(
        lines[1],
        "-\t\tsvc/default/web\tsvc/default/web (IPv6)\tsvc/default/web-legacy\tsvc/default/web-legacy (IPv6)"
    );
    // web-legacy has no IPv6 endpoint: denied over IPv6 alone
    assert_eq!(lines[2], "default/client\t.\t\t.\t\t.\t\tX\t");
    let o = podpath(
        &[
            "reach",
            "dual-stack-cluster",
            "--family",
            "ipv6",
            "--format",
            "json",
        ],
        &[],
    );
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let fams: Vec<&str> = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["family"].as_str().unwrap())
        .collect();
    assert_eq!(fams.len(), 12);
    assert!(fams.iter().all(|f| *f == "IPv6"));
}

/// `reach --why`: each denied pod-to-pod cell gets the NetworkPolicies
/// that admit it, proven by re-running the probe, with the other cells
/// they flip; the same bytes on 1 and 2 threads.
#[test]
fn why_proves_a_policy_per_denied_cell() {
    let args = ["reach", "netpol-calico", "--why", "--format", "json"];
    let one = podpath(&args, &[("RAYON_NUM_THREADS", "1")]);
    assert!(one.status.success(), "{}", err(&one));
    let two = podpath(&args, &[("RAYON_NUM_THREADS", "2")]);
    assert_eq!(out(&one), out(&two));
    let v: serde_json::Value = serde_json::from_str(&out(&one)).unwrap();
    let why = v["why"].as_array().unwrap();
    let denied = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["verdict"] == "denied")
        .count();
    assert_eq!(why.len(), denied);
    let cell = |from: &str, to: &str, port: u64| {
        why.iter()
            .find(|w| w["from"] == from && w["to"] == to && w["port"] == port)
            .unwrap()
    };
    // frontend's egress allows 8080 only and backend's ingress port http:
    // 9090 needs both ends
    let f = &cell("shop/frontend", "shop/backend", 9090)["fixes"];
    assert_eq!(f.as_array().unwrap().len(), 1, "{f}");
    assert_eq!(f[0]["proven"], true);
    let patch = f[0]["patch"].as_str().unwrap();
    // the policies that isolate each end, each with the rule added
    assert!(
        patch.contains("name: frontend-egress") && patch.contains("name: backend-ingress"),
        "{patch}"
    );
    assert_eq!(patch.matches("port: 9090").count(), 2, "{patch}");
    // coredns is not isolated for egress: the backend's ingress alone; the
    // Service's cell flips with it
    let f = &cell("kube-system/coredns", "shop/backend", 8080)["fixes"][0];
    assert!(!f["patch"].as_str().unwrap().contains("Egress"), "{f}");
    assert_eq!(
        f["other_cells_changed"],
        serde_json::json!([{"from": "kube-system/coredns", "to": "svc/shop/backend", "port": 80, "protocol": "TCP", "family": "IPv4", "b": "allowed"}])
    );
    // a Service's cell is explained by its pods' cells
    assert!(cell("shop/other", "svc/shop/backend", 80)["note"].is_string());
}

/// `reach --why` where no policy denies: a Service that selects no pod
/// gets the selector that selects the pods serving its port, a Service
/// whose targetPort its pod does not serve gets the port it serves, each
/// proven, with the cells of the other clients it flips too.
#[test]
fn why_fixes_a_service_that_misses_its_pods() {
    let args = [
        "reach",
        "troubleshoot-service-selector",
        "--from",
        "default/client",
        "--why",
        "--format",
        "json",
    ];
    let o = podpath(&args, &[]);
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let why = v["why"].as_array().unwrap();
    let cell = |to: &str| why.iter().find(|w| w["to"] == to).unwrap();
    let web = &cell("svc/default/web")["fixes"];
    assert_eq!(
        web[0]["command"],
        r#"kubectl patch service -n default web --type merge -p '{"spec":{"selector":{"app":"web"}}}'"#
    );
    assert_eq!(web[0]["proven"], true);
    assert!(
        web[0]["other_cells_changed"].as_array().unwrap().is_empty(),
        "{web}"
    );
    let api = &cell("svc/default/api")["fixes"];
    assert!(
        api.as_array().unwrap().iter().any(|f| f["command"]
            .as_str()
            .unwrap()
            .ends_with(r#""value":8080}]'"#)),
        "{api}"
    );
    // the Service that works is not in the list
    assert!(why.iter().all(|w| w["to"] != "svc/default/status"));
}
