//! The command line as a user runs it.

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

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../golden")
        .join(name)
}

/// The full dumps of one run pinned byte for byte (cli/tests/golden-run/):
/// `podpath check`'s goldens keep the semantic form only.
fn run_golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden-run")
        .join(name)
}

/// Compares with a golden file; `PODPATH_BLESS=1` rewrites it.
fn check_golden(path: PathBuf, got: &str) {
    if std::env::var("PODPATH_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing: run with PODPATH_BLESS=1", path.display()));
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{} differs from the run at line {}:\n  golden: {:?}\n  run:    {:?}\n(PODPATH_BLESS=1 to accept)",
            path.display(),
            first + 1,
            want.lines().nth(first),
            got.lines().nth(first)
        );
    }
}

#[test]
fn default_run_matches_golden_text_and_json() {
    let o = podpath(&["run", "minikube-service", "--format", "trace"], &[]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("DNAT: 192.168.49.2:30080 -> 10.244.0."));
    // -v is the same dump
    let v = podpath(&["run", "minikube-service", "-v"], &[]);
    assert_eq!(stdout(&v), text);
    check_golden(run_golden("minikube-service.txt"), &text);
    let o = podpath(&["run", "minikube-service", "--format", "json"], &[]);
    assert!(o.status.success());
    let json = stdout(&o);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["scenario"], "minikube-service");
    assert_eq!(v["flows"].as_array().unwrap().len(), 4);
    check_golden(run_golden("minikube-service.json"), &json);
}

#[test]
fn sequence_diagrams_match_golden() {
    let dir = std::env::temp_dir().join(format!("podpath-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (m, p) = (dir.join("seq.mmd"), dir.join("seq.puml"));
    let o = podpath(
        &[
            "run",
            "minikube-service",
            "--mermaid",
            m.to_str().unwrap(),
            "--plantuml",
            p.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success());
    let mm = std::fs::read_to_string(&m).unwrap();
    let pu = std::fs::read_to_string(&p).unwrap();
    assert!(mm.starts_with("sequenceDiagram\n    participant p0 as laptop\n"));
    assert!(mm.contains("Note over p1: DNAT: 192.168.49.2:30080 -> 10.244.0."));
    assert!(mm.contains("flow health#35;1\n"));
    assert!(pu.starts_with("@startuml\n") && pu.ends_with("@enduml\n"));
    // SVG and ASCII drawn in-process by merman, byte-identical across runs
    let sv = dir.join("seq.svg");
    let o = podpath(
        &[
            "run",
            "minikube-service",
            "--svg",
            sv.to_str().unwrap(),
            "--format",
            "seq",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ascii = String::from_utf8(o.stdout).unwrap();
    let svg = std::fs::read_to_string(&sv).unwrap();
    assert!(svg.starts_with("<svg ") && svg.contains("aria-roledescription=\"sequence\""));
    assert!(
        svg.contains("DNAT: 192.168.49.2:30080 -&gt; 10.244.0.")
            || svg.contains("DNAT: 192.168.49.2:30080 -> 10.244.0.")
    );
    assert!(
        ascii.contains("│ laptop │") && ascii.contains("DNAT: 192.168.49.2:30080 -> 10.244.0.")
    );
    // flow ids as --flow takes them: ASCII '#', not a look-alike
    assert!(
        ascii.contains("│ flow health#1 │") && !ascii.contains('＃'),
        "{ascii}"
    );
    let o2 = podpath(&["run", "minikube-service", "--format", "seq"], &[]);
    assert_eq!(String::from_utf8(o2.stdout).unwrap(), ascii);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let a = podpath(
        &["run", "minikube-service", "--format", "json"],
        &[("RAYON_NUM_THREADS", "1")],
    );
    let b = podpath(&["run", "minikube-service", "--format", "json"], &[]);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn seed_and_flow_flags() {
    let a = podpath(
        &[
            "run",
            "minikube-service",
            "--seed",
            "1",
            "--flow",
            "health#2",
            "--format",
            "trace",
        ],
        &[],
    );
    assert!(a.status.success());
    let t = stdout(&a);
    assert!(t.contains("seed 1"));
    assert_eq!(t.matches("\nflow ").count(), 1, "{t}");
    let e = podpath(&["run", "--flow", "nope"], &[]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("no flow 'nope'"));
}

#[test]
fn list_and_explain() {
    let o = podpath(&["list"], &[]);
    assert!(stdout(&o).contains("minikube-service"));
    let o = podpath(&["explain"], &[]);
    let t = stdout(&o);
    assert!(t.contains("SIMPLIFIED") && t.contains("rp_filter"));
}

#[test]
fn broken_scenario_exits_nonzero_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("podpath-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("broken.yaml");
    std::fs::write(
        &f,
        "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {name: x}\nhosts:\n  a:\n    kind: node\n    iptables: |\n      *nat\n      :FOO - [0:0]\n      -A FOO -j NOWHERE\n      COMMIT\n",
    )
    .unwrap();
    let o = podpath(&["run", f.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains(&format!("{}:10:", f.display())), "{err}");
    assert!(err.contains("NOWHERE"), "{err}");
    let o = podpath(&["run", "/nonexistent/scenario.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read scenario"));
    let o = podpath(&["run", "--format", "xml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kube_proxy_rules_and_expand_for_a_cluster_scenario() {
    let o = podpath(
        &[
            "kube-proxy-rules",
            "flannel-cluster",
            "--node",
            "kind-worker",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rules = String::from_utf8(o.stdout).unwrap();
    assert!(rules.starts_with("*filter\n:KUBE-SERVICES - [0:0]\n"));
    assert!(rules.contains(
        "-A KUBE-NODEPORTS -m comment --comment default/web:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL\n"
    ));
    assert!(rules.ends_with("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\nCOMMIT\n"));
    let o = podpath(
        &[
            "kube-proxy-rules",
            "flannel-cluster",
            "--node",
            "kind-worker",
            "--full",
        ],
        &[],
    );
    let full = String::from_utf8(o.stdout).unwrap();
    assert!(full.contains(":FORWARD ACCEPT [0:0]\n"));
    assert!(
        full.contains("-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG\n")
    );
    let o = podpath(
        &["kube-proxy-rules", "flannel-cluster", "--node", "nope"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("no Node 'nope' in the cluster (nodes: kind-control-plane, kind-worker)"));
    let o = podpath(&["expand", "flannel-cluster"], &[]);
    let y = String::from_utf8(o.stdout).unwrap();
    assert!(
        y.contains("\nhosts:\n") && y.contains("\n  kind-control-plane:\n    kind: node\n"),
        "{y}"
    );
    assert!(!y.contains("\ncluster:"), "{y}");
    let o = podpath(&["expand", "minikube-service"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

/// `podpath expand` prints a whole scenario that runs as it is: for every
/// embedded scenario with a cluster, the expanded scenario's trace is the
/// original's, byte for byte (an endpointRemoved fault becomes the resync
/// it causes).
#[test]
fn expanded_scenarios_run_as_they_are() {
    let dir = std::env::temp_dir().join(format!("podpath-expand-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut n = 0;
    for name in [
        "flannel-cluster",
        "nftables-endpoint-removed",
        "browser-to-pod",
        "istio-sidecar",
    ] {
        let o = podpath(&["expand", name], &[]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let f = dir.join(format!("{name}.yaml"));
        std::fs::write(&f, &o.stdout).unwrap();
        let a = podpath(&["run", name, "--format", "json"], &[]);
        let b = podpath(&["run", f.to_str().unwrap(), "--format", "json"], &[]);
        assert!(
            b.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&b.stderr)
        );
        assert_eq!(
            stdout(&a),
            stdout(&b),
            "{name}: the expanded scenario runs differently"
        );
        n += 1;
    }
    assert_eq!(n, 4);
    let y =
        String::from_utf8(podpath(&["expand", "nftables-endpoint-removed"], &[]).stdout).unwrap();
    assert!(
        y.contains("\n  resync:\n"),
        "the endpointRemoved fault is written out"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `podpath check`: bless, pass, then an endpoint removed and a rule
/// changed show up as per-hop diffs with exit 1.
#[test]
fn check_against_golden_traces() {
    let dir = std::env::temp_dir().join(format!("podpath-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let g = dir.join("golden");
    let gs = g.to_str().unwrap();
    let o = podpath(&["check", "flannel-cluster", "--golden", gs], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("MISSING  flannel-cluster"));
    let o = podpath(
        &["check", "flannel-cluster", "--golden", gs, "--bless"],
        &[],
    );
    assert!(o.status.success());
    assert!(
        g.join("flannel-cluster/trace.json").exists()
            && g.join("flannel-cluster/capture.pcapng").exists()
            && !g.join("flannel-cluster/trace.txt").exists()
    );
    let o = podpath(&["check", "flannel-cluster", "--golden", gs], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "ok       flannel-cluster\n"
    );
    // other ephemeral ports for the laptop: the same flows, other random
    // choices, no difference (the old byte-for-byte check reported every
    // NodePort flow)
    let ports = include_str!("../../scenarios/flannel-cluster.yaml").replace(
        "      eth0: {addrs: [172.18.0.1/16]}\n",
        "      eth0: {addrs: [172.18.0.1/16]}\n    sysctl: {net.ipv4.ip_local_port_range: \"20000 20999\"}\n",
    );
    let f = dir.join("ports.yaml");
    std::fs::write(&f, &ports).unwrap();
    let o = podpath(&["check", f.to_str().unwrap(), "--golden", gs], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // an endpoint removed from the web Service's EndpointSlice: the flows
    // it served change their fate, the others at most their steps (the
    // rule numbers of KUBE-SVC-...)
    let text = include_str!("../../scenarios/flannel-cluster.yaml").replace(
        "      - {addresses: [10.244.0.7], conditions: {ready: true}, nodeName: kind-control-plane}\n",
        "",
    );
    let f = dir.join("changed.yaml");
    std::fs::write(&f, &text).unwrap();
    let o = podpath(&["check", f.to_str().unwrap(), "--golden", gs], &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("DIFFERS"), "{out}");
    assert!(
        out.contains("  flow clusterip#2: its fate changed\n    served_by\n    - web-7c5b8d6f4-fghij\n    + web-7c5b8d6f4-abcde\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "    - kind-control-plane nat/PREROUTING DNAT: 10.96.100.10:80 -> 10.244.0.7:8080 by "
        ),
        "{out}"
    );
    assert!(
        out.contains("  flow clusterip#1: same fate, other steps\n"),
        "{out}"
    );
    assert!(!out.contains("  flow dns"), "{out}");
    assert!(
        out.ends_with("1 problem(s) in 1 scenario(s): traces that differ from the golden ones, or expectations not met\n"),
        "{out}"
    );
    // a rule changed: the NodePort moves; the ClusterIP flows keep their fate
    let text2 = include_str!("../../scenarios/flannel-cluster.yaml")
        .replace("nodePort: 30080", "nodePort: 30081");
    std::fs::write(&f, &text2).unwrap();
    let o = podpath(&["check", f.to_str().unwrap(), "--golden", gs], &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("  flow nodeport#1: its fate changed\n    outcome\n"),
        "{out}"
    );
    assert!(out.contains("--dport 30080"), "{out}");
    assert!(
        !out.contains("flow clusterip#1") && !out.contains("flow dns"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every embedded scenario's trace is kept in golden/NAME/ and checked with
/// `podpath check` (the users' CI workflow); `PODPATH_BLESS=1` rewrites them.
#[test]
fn embedded_scenarios_match_their_golden_traces() {
    let list = podpath(&["list"], &[]);
    let names: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    let dir = golden("");
    let mut args: Vec<&str> = vec!["check"];
    args.extend(names.iter().map(|s| s.as_str()));
    args.extend(["--golden", dir.to_str().unwrap()]);
    if std::env::var("PODPATH_BLESS").is_ok_and(|v| v == "1") {
        args.extend(["--bless", "--why"]);
    }
    let o = podpath(&args, &[]);
    assert!(
        o.status.success(),
        "{}\n(PODPATH_BLESS=1 to accept)",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// The HTML report is one self-contained file: topology and sequence
/// diagrams as inline SVG, hop tables, the pcapng embedded for download.
#[test]
fn html_report_is_self_contained_and_deterministic() {
    use base64::Engine as _;
    let dir = std::env::temp_dir().join(format!("podpath-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.html"), dir.join("b.html"));
    for f in [&a, &b] {
        let o = podpath(
            &["run", "minikube-service", "--html", f.to_str().unwrap()],
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let html = std::fs::read_to_string(&a).unwrap();
    assert_eq!(html, std::fs::read_to_string(&b).unwrap());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
    // topology + one sequence diagram per flow
    assert_eq!(html.matches("<svg ").count(), 1 + 4, "topology and 4 flows");
    assert!(html.contains("<h2 id=\"flow-health-1\">Flow health#1</h2>"));
    assert!(html.contains("DNAT: 192.168.49.2:30080 -&gt; 10.244.0."));
    // the embedded pcapng is the same as --pcap writes
    let start = html.find("base64,").unwrap() + 7;
    let end = start + html[start..].find('"').unwrap();
    let pcap = base64::engine::general_purpose::STANDARD
        .decode(&html[start..end])
        .unwrap();
    let p = dir.join("run.pcapng");
    podpath(
        &["run", "minikube-service", "--pcap", p.to_str().unwrap()],
        &[],
    );
    assert_eq!(pcap, std::fs::read(&p).unwrap());
    // the topology alone
    let t = dir.join("topo.svg");
    let o = podpath(
        &["topo", "flannel-cluster", "--svg", t.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success());
    let svg = std::fs::read_to_string(&t).unwrap();
    assert!(svg.contains("kind-control-plane") && svg.contains("flannel.1"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Progress is drawn only on a terminal: piped, `paths` and `check` write
/// nothing but their results.
#[test]
fn no_progress_output_when_piped() {
    let o = podpath(&["paths", "flannel-cluster"], &[]);
    assert!(o.status.success());
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("flow dns (from client): 1 path(s)\n"));
}

/// The sequence diagrams of every embedded scenario, in each format, as
/// insta snapshots (cli/tests/snapshots/); byte-identical across runs.
#[test]
fn sequence_diagrams_of_every_scenario() {
    let list = podpath(&["list"], &[]);
    let names: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let dir = std::env::temp_dir().join(format!("podpath-seqall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for n in &names {
        let (m, p, v) = (dir.join("a.mmd"), dir.join("a.puml"), dir.join("a.svg"));
        let o = podpath(
            &[
                "run",
                n,
                "--format",
                "seq",
                "--mermaid",
                m.to_str().unwrap(),
                "--plantuml",
                p.to_str().unwrap(),
                "--svg",
                v.to_str().unwrap(),
            ],
            &[],
        );
        assert!(
            o.status.success(),
            "{n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let ascii = String::from_utf8(o.stdout).unwrap();
        insta::assert_snapshot!(format!("{n}.mmd"), std::fs::read_to_string(&m).unwrap());
        insta::assert_snapshot!(format!("{n}.puml"), std::fs::read_to_string(&p).unwrap());
        insta::assert_snapshot!(format!("{n}.seq.txt"), ascii);
        insta::assert_snapshot!(format!("{n}.svg"), std::fs::read_to_string(&v).unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `podpath run` without a scenario runs the default, seed 000's path from
/// a browser to a pod through two HAProxy tiers, keepalived and ingress.
#[test]
fn default_scenario_is_browser_to_pod() {
    let o = podpath(&["run"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = stdout(&o);
    assert!(
        t.starts_with(
            "podpath: scenario browser-to-pod (seed 0): 5 flow(s), 5 answered; 7 daemon flow(s)\n"
        ),
        "{}",
        &t[..200.min(t.len())]
    );
    // the answer first: at most 80 lines, and the first 40 name the pod
    // that answered each browser request and show the DNAT to it
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines.len() <= 80, "{} lines:\n{t}", lines.len());
    let head = lines[..40.min(lines.len())].join("\n");
    for (flow, pod, ip) in [
        ("browser#1", "api-server-5d8f7-fghij", "10.244.0.11"),
        ("browser#2", "api-server-5d8f7-abcde", "10.244.0.10"),
        ("browser#3", "api-server-5d8f7-abcde", "10.244.0.10"),
    ] {
        let block = head.split(&format!("\n{flow}  ")).nth(1).expect(flow);
        let block = block.split("\n\n").next().unwrap();
        assert!(
            block.contains(&format!("answered  by pod default/{pod}")),
            "{flow}: {block}"
        );
        assert!(
            block.contains(&format!("DNAT: 10.96.0.10:8080 → {ip}:8080")),
            "{flow}: {block}"
        );
        assert!(block.contains("outcome   HTTP 200 OK"), "{flow}: {block}");
    }
    // the whole dump is one flag away
    let full = stdout(&podpath(&["run", "--format", "trace"], &[]));
    assert!(full.starts_with("podpath trace: scenario browser-to-pod seed 0\n"));
    // three browser requests and the stats CSV answer 200, the stats page
    // without credentials 401
    assert_eq!(full.matches("\n  outcome: HTTP 200 OK").count(), 4);
    assert_eq!(
        full.matches("\n  outcome: HTTP 401 Unauthorized").count(),
        1
    );
    // HAProxy's log is in the trace too
    assert_eq!(full.matches("\n  log ").count(), 5);
    let l = stdout(&podpath(&["list"], &[]));
    assert!(
        l.lines()
            .any(|x| x.starts_with("browser-to-pod") && x.contains("(default)")),
        "{l}"
    );
}

/// The summary `podpath run` prints by default, for every embedded
/// scenario, as insta snapshots: each flow's outcome, path, answering pod,
/// NAT rewrites and first drop.
#[test]
fn summaries_of_every_scenario() {
    let list = podpath(&["list"], &[]);
    let names: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for n in &names {
        let o = podpath(&["run", n], &[]);
        assert!(
            o.status.success(),
            "{n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let t = stdout(&o);
        assert!(
            t.starts_with(&format!("podpath: scenario {n} ")),
            "{n}: {t}"
        );
        insta::assert_snapshot!(format!("{n}.summary.txt"), t);
    }
}

/// A traffic entry's `expect:` that is not met: `run` and `check` exit 1
/// and name the flow, what was expected and what happened.
#[test]
fn unmet_expectations_fail_run_and_check() {
    let dir = std::env::temp_dir().join(format!("podpath-expect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = include_str!("../../scenarios/troubleshoot-no-endpoints.yaml");
    // the same scenario, met: exit 0
    let f = dir.join("met.yaml");
    std::fs::write(&f, text).unwrap();
    let o = podpath(&["run", f.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains("  expect    rejected: met\n"),
        "{}",
        stdout(&o)
    );
    // expecting an answer where kube-proxy rejects: exit 1, flow named
    let wrong = text.replacen(
        "expect: rejected}",
        "expect: {status: 200, servedBy: default/web-*}}",
        1,
    );
    assert_ne!(wrong, text);
    let f = dir.join("unmet.yaml");
    std::fs::write(&f, &wrong).unwrap();
    let o = podpath(&["run", f.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("expectation not met: flow clusterip: expected status 200, got rejected (curl: (7) failed to connect to 10.96.10.10:80: ICMP port unreachable"),
        "{err}"
    );
    assert!(
        err.contains(
            "expectation not met: flow clusterip: expected served by default/web-*, got no answer"
        ),
        "{err}"
    );
    let t = stdout(&o);
    assert!(t.contains("2 expectation(s) NOT MET:"), "{t}");
    assert!(
        t.contains("  expect    status 200: NOT MET (got rejected"),
        "{t}"
    );
    // check: the trace may match its golden, the expectation still fails
    let g = dir.join("golden");
    let gs = g.to_str().unwrap();
    let o = podpath(
        &["check", f.to_str().unwrap(), "--golden", gs, "--bless"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let o = podpath(&["check", f.to_str().unwrap(), "--golden", gs], &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("ok       "), "{out}");
    assert!(out.contains("UNMET    "), "{out}");
    assert!(
        out.contains("  flow clusterip: expected status 200, got rejected"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `check` refuses what would silently check the wrong thing: two
/// scenarios of one name (one golden would overwrite the other), and a
/// golden directory with nothing in it to check.
#[test]
fn check_refuses_ambiguous_or_empty_runs() {
    let dir = std::env::temp_dir().join(format!("podpath-check2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = include_str!("../../scenarios/troubleshoot-no-endpoints.yaml");
    let (a, b) = (dir.join("a.yaml"), dir.join("b.yaml"));
    std::fs::write(&a, text).unwrap();
    std::fs::write(&b, text).unwrap();
    let g = dir.join("golden");
    let gs = g.to_str().unwrap();
    let o = podpath(
        &[
            "check",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--golden",
            gs,
            "--bless",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("are both named 'troubleshoot-no-endpoints' (metadata.name): their golden traces would be one file; rename one"),
        "{err}"
    );
    assert!(!g.exists(), "nothing written");
    // no scenarios named and nothing in the directory: an error, not the default
    std::fs::create_dir_all(&g).unwrap();
    let o = podpath(&["check", "--golden", gs], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nothing to check:"), "{err}");
    assert!(
        err.contains("holds no NAME/trace.json of an embedded scenario"),
        "{err}"
    );
    // with a golden of an embedded scenario in it: that one is checked
    let o = podpath(&["check", "pod-to-pod-bgp", "--golden", gs, "--bless"], &[]);
    assert!(o.status.success());
    let o = podpath(&["check", "--golden", gs], &[]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o), "ok       pod-to-pod-bgp\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `podpath paths --format json`: every branch with its probability, the
/// probabilities of each flow summing to 1.
#[test]
fn paths_as_json() {
    let o = podpath(&["paths", "minikube-service", "--format", "json"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["flows"][0];
    assert_eq!(f["id"], "health");
    let paths = f["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2);
    let sum: f64 = paths
        .iter()
        .map(|p| p["probability"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9 && (f["sum"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    let pods: Vec<&str> = paths
        .iter()
        .map(|p| p["rewrites"][0].as_str().unwrap())
        .collect();
    assert!(
        pods[0].contains("-> 10.244.0.16:8080") && pods[1].contains("-> 10.244.0.18:8080"),
        "{pods:?}"
    );
    assert_eq!(paths[0]["decisions"][0]["matched"], true);
}

/// A rule with a match podpath keeps unmodelled (`-m string`): the run
/// warns once per construct on stderr, the trace says what was assumed,
/// and `--assume-unmodelled match` flips it (node-b's FORWARD policy DROP
/// is then passed by the rule's ACCEPT).
#[test]
fn assume_unmodelled_flips_an_unmodelled_match() {
    let dir = std::env::temp_dir().join(format!("podpath-unmodelled-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = include_str!("../../scenarios/troubleshoot-forward-drop.yaml");
    let edited = text.replacen(
        "      :FORWARD DROP [0:0]\n      :OUTPUT ACCEPT [0:0]\n",
        "      :FORWARD DROP [0:0]\n      :OUTPUT ACCEPT [0:0]\n      -A FORWARD -p tcp -m string --string \"GET /\" --algo bm -j ACCEPT\n      -A FORWARD -p tcp -j ACCEPT\n",
        1,
    );
    assert_ne!(edited, text);
    let f = dir.join("s.yaml");
    std::fs::write(&f, &edited).unwrap();
    let f = f.to_str().unwrap();
    // nomatch (the default): the string rule is passed, the next accepts
    let o = podpath(
        &["run", f, "--format", "trace", "--flow", "via-node-b"],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("-m string is not modelled").count(), 1, "{err}");
    assert!(
        err.contains(
            "warning: node-b: iptables line 5: -m string is not modelled: treated as not matching"
        ),
        "{err}"
    );
    let out = stdout(&o);
    assert!(
        out.contains("-m string is not modelled: treated as not matching"),
        "{out}"
    );
    assert!(
        out.contains("FORWARD #2: -p tcp -j ACCEPT => ACCEPT"),
        "{out}"
    );
    // match: the string rule itself accepts, saying what was assumed
    let o = podpath(
        &[
            "run",
            f,
            "--format",
            "trace",
            "--flow",
            "via-node-b",
            "--assume-unmodelled",
            "match",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("-m string is not modelled: treated as matching"),
        "{err}"
    );
    let out = stdout(&o);
    assert!(
        out.contains("-m string is not modelled: treated as matching; ACCEPT"),
        "{out}"
    );
    assert!(
        !out.contains("FORWARD #2: -p tcp -j ACCEPT => ACCEPT"),
        "{out}"
    );
    let o = podpath(&["run", f, "--assume-unmodelled", "maybe"], &[]);
    assert!(!o.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `policy-rules`: what each CNI programs on a node for the cluster's
/// NetworkPolicies: kube-network-policies' table and the policies its
/// evaluator holds (kindnet), felix's chains and sets (calico), a line
/// saying nothing is enforced (flannel).
#[test]
fn policy_rules_print_what_the_cni_programs() {
    let o = podpath(
        &["policy-rules", "netpol-kindnet", "--node", "kind-worker"],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let k = stdout(&o);
    assert!(
        k.contains("#   shop/default-deny (Ingress, Egress)\n"),
        "{k}"
    );
    assert!(k.contains("table inet kindnet-network-policies {"), "{k}");
    // the managed pod of kind-worker (backend) is in the set
    assert!(k.contains("elements = { 10.244.1.20 }"), "{k}");
    let o = podpath(
        &["policy-rules", "netpol-calico", "--node", "kind-worker"],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = stdout(&o);
    assert!(
        c.starts_with(
            "# calico-bgp: felix's rules for 4 NetworkPolicies on kind-worker\n*filter\n"
        ),
        "{c}"
    );
    for want in [
        ":cali-pi-knp/shop/allow-dns - [0:0]\n",
        ":cali-po-knp/shop/allow-dns - [0:0]\n",
        "-j cali-FORWARD\n",
        "-A cali-from-wl-dispatch -i cali",
        "\n# ipset save\ncreate cali40s:",
    ] {
        assert!(c.contains(want), "{want}: {c}");
    }
    // no kube-proxy rule is printed
    assert!(!c.contains("KUBE-"), "{c}");
    // allow-dns's egress rule matches a cali40s: set of the kube-system
    // namespace's dns pods, and the ipset text creates and fills it
    let rule = c
        .lines()
        .find(|l| {
            l.starts_with("-A cali-po-knp/shop/allow-dns -p udp") && l.contains("--dports 53")
        })
        .unwrap_or_else(|| panic!("{c}"));
    let set = rule
        .split("--match-set ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap();
    assert!(set.starts_with("cali40s:"), "{rule}");
    assert!(
        c.contains(&format!("\ncreate {set} hash:net family inet")),
        "{c}"
    );
    assert!(c.contains(&format!("\nadd {set} 10.244.1.3\n")), "{c}");
    // the pods on kind-worker each get their from-/to-workload chains
    assert!(c.contains("-A cali-to-wl-dispatch"), "{c}");
    assert!(c.contains(":cali-tw-cali"), "{c}");
    let o = podpath(
        &[
            "policy-rules",
            "netpol-flannel-ignored",
            "--node",
            "kind-worker",
        ],
        &[],
    );
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "# flannel-vxlan: the CNI programs no NetworkPolicy: the cluster's 4 NetworkPolicies have no effect on kind-worker\n"
    );
    let o = podpath(&["policy-rules", "netpol-kindnet", "--node", "nope"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("no Node 'nope' in the cluster (nodes: kind-control-plane, kind-worker)"));
    let o = podpath(
        &["policy-rules", "headcni-host-mode", "--node", "kind-worker"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("this scenario has no 'cluster'"));
}

/// A connection a NetworkPolicy denies ends in a drop step that names the
/// policy and felix's rule, in the text trace, the HTML report and the
/// sequence diagram alike (netpol-default-deny: the DNS query of pod-a).
#[test]
fn a_policy_drop_names_the_policy_and_the_rule_everywhere() {
    let dir = std::env::temp_dir().join(format!("podpath-policy-drop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (html, mmd) = (dir.join("r.html"), dir.join("s.mmd"));
    let o = podpath(
        &[
            "run",
            "netpol-default-deny",
            "--flow",
            "before",
            "--format",
            "trace",
            "--html",
            html.to_str().unwrap(),
            "--mermaid",
            mmd.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    let policy = "NetworkPolicy egress: no rule of default/default-deny admits the packet";
    let rule = "cali-fw-cali224156c4f7e rule 9";
    assert!(
        text.contains(&format!("xx filter/FORWARD     {policy}")),
        "{text}"
    );
    assert!(text.contains(rule), "{text}");
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains(policy) && h.contains(rule), "html");
    let m = std::fs::read_to_string(&mmd).unwrap();
    assert!(
        m.contains("egress denied by NetworkPolicy default/default-deny"),
        "{m}"
    );
    assert!(m.contains(rule), "{m}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A flow a NetworkPolicy denies, under calico (felix's chains) and kindnet
/// (kube-network-policies' queue): the text trace, the sequence diagrams
/// (text, Mermaid, PlantUML) and the HTML report each name the policy, that
/// no rule of it admitted the packet, and the generated chain and rule.
#[test]
fn policy_drops_are_shown_in_every_output() {
    let dir = std::env::temp_dir().join(format!("podpath-policy-drop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (scenario, policy, chain) in [
        (
            "netpol-default-deny",
            "default/default-deny",
            "cali-fw-cali224156c4f7e",
        ),
        (
            "netpol-kindnet",
            "shop/default-deny",
            "kindnet-network-policies postrouting",
        ),
    ] {
        let trace = stdout(&podpath(&["run", scenario, "--format", "trace"], &[]));
        let drop = trace
            .lines()
            .find(|l| l.trim_start().starts_with("!!") && l.contains(policy))
            .unwrap_or_else(|| panic!("{scenario}: no drop naming {policy}:\n{trace}"));
        assert!(drop.contains("no rule of them admits the packet"), "{drop}");
        assert!(drop.contains(&format!("{chain} rule 9")), "{drop}");
        assert!(
            trace
                .lines()
                .any(|l| l.trim_start().starts_with("xx") && l.contains(policy)),
            "{scenario}: the policy verdict step"
        );
        let note = "egress denied by NetworkPolicy ";
        let generated = "no rule admits it at ";
        let seq = stdout(&podpath(&["run", scenario, "--format", "seq"], &[]));
        assert!(seq.contains(note) && seq.contains(policy), "{seq}");
        assert!(
            seq.contains(generated) && seq.contains(&format!("{chain} #9")),
            "{seq}"
        );
        let (m, p, h) = (dir.join("a.mmd"), dir.join("a.puml"), dir.join("a.html"));
        let o = podpath(
            &[
                "run",
                scenario,
                "--mermaid",
                m.to_str().unwrap(),
                "--plantuml",
                p.to_str().unwrap(),
                "--html",
                h.to_str().unwrap(),
            ],
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mmd = std::fs::read_to_string(&m).unwrap();
        assert!(
            mmd.contains(note) && mmd.contains(&format!("{chain} #35;9")),
            "{mmd}"
        );
        let puml = std::fs::read_to_string(&p).unwrap();
        assert!(
            puml.contains(note) && puml.contains(&format!("{chain} #9")),
            "{puml}"
        );
        let html = std::fs::read_to_string(&h).unwrap();
        assert!(html.contains(note) && html.contains(policy), "{scenario}");
        assert!(
            html.contains("no rule of them admits the packet")
                && html.contains(&format!("{chain} rule 9")),
            "{scenario}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
