//! `podpath why`: every troubleshooting scenario's failed flow gets a fix
//! the re-run proves, and `podpath diff --patch` with that fix agrees; a fix
//! that changes other flows names them.

use std::process::Command;

use serde_json::Value;

fn podpath(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn why(scenario: &str, flow: &str) -> Value {
    let (code, out, err) = podpath(&["why", scenario, "--flow", flow, "--format", "json"]);
    assert_eq!(code, 0, "{scenario} {flow}: {out}{err}");
    serde_json::from_str(&out).unwrap()
}

/// `podpath diff SCENARIO --patch P --format json` with the patch text
/// `patch` (written to `p`): the report, after checking it says changed.
fn diff_with(scenario: &str, patch: &str, p: &std::path::Path) -> Value {
    std::fs::write(p, patch).unwrap();
    let (code, out, err) = podpath(&[
        "diff",
        scenario,
        "--patch",
        p.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{scenario} {}: {out}{err}", p.display());
    serde_json::from_str(&out).unwrap()
}

/// The flow `id` of a diff report.
fn flow<'a>(d: &'a Value, id: &str) -> &'a Value {
    d["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap()
}

/// The troubleshooting scenarios and the flow of each that fails.
const TROUBLES: [(&str, &str); 10] = [
    ("troubleshoot-asymmetric-routing", "from-office"),
    ("troubleshoot-forward-drop", "via-node-b"),
    ("troubleshoot-ingress-missing-service", "missing-service"),
    ("troubleshoot-mtu-mismatch", "large"),
    ("troubleshoot-no-endpoints", "clusterip"),
    ("troubleshoot-no-endpoints", "nodeport"),
    ("troubleshoot-pod-no-default-route", "no-snat"),
    ("troubleshoot-service-selector", "selector"),
    ("troubleshoot-service-selector", "named-port"),
    ("troubleshoot-service-selector", "target-port"),
];

#[test]
fn every_troubleshooting_flow_gets_a_fix_that_diff_confirms() {
    let dir = std::env::temp_dir().join(format!("podpath-why-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (s, flow) in TROUBLES {
        let v = why(s, flow);
        let fixes = v["fixes"].as_array().unwrap();
        assert!(!fixes.is_empty(), "{s} {flow}: no fix: {v}");
        assert!(v["decided_by"]["host"].is_string(), "{s}: {v}");
        for (i, x) in fixes.iter().enumerate() {
            assert_eq!(x["proven"], true);
            // the patch is one `diff` takes, and it makes the flow succeed
            let p = dir.join(format!("{s}-{i}.yaml"));
            let d = diff_with(s, x["patch"].as_str().unwrap(), &p);
            let f = self::flow(&d, flow);
            assert_eq!(f["changed"], true);
            assert_eq!(f["b"]["outcome"]["kind"], "answered", "{s} fix {i}: {f}");
            // and changes exactly the other flows why named
            let mut others: Vec<&str> = d["flows"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["changed"] == true && g["id"] != flow)
                .map(|g| g["id"].as_str().unwrap())
                .collect();
            let mut named: Vec<&str> = x["other_flows_changed"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap())
                .collect();
            others.sort();
            named.sort();
            assert_eq!(others, named, "{s} fix {i}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_fixes_are_the_ones_a_person_would_make() {
    // the policy's DROP names the chain; the fix is the chain's
    let v = why("troubleshoot-forward-drop", "via-node-b");
    let cmd = v["fixes"][0]["command"].as_str().unwrap();
    assert!(
        cmd.contains("iptables -I FORWARD 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"),
        "{cmd}"
    );
    assert!(
        cmd.contains("-d 10.244.0.5/32 --dport 8080 -j ACCEPT"),
        "{cmd}"
    );
    // the missing default route, through the gateway the pod's own route
    // to the cluster uses
    let v = why("troubleshoot-pod-no-default-route", "no-snat");
    assert_eq!(
        v["fixes"][0]["command"],
        "ip route add default via 10.244.0.1 dev eth0"
    );
    // a packet too big for the veth it crosses: the pod's MTU back to
    // flannel's 1450, or the client's (its MSS then makes the pod send
    // less), the veth raised, or the SYN's MSS clamped on the node
    let v = why("troubleshoot-mtu-mismatch", "large");
    let cmds: Vec<(&str, &str)> = v["fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["command"].as_str().unwrap(), x["patch"].as_str().unwrap()))
        .collect();
    let has = |cmd: &str, host: &str| {
        cmds.iter()
            .any(|(c, p)| *c == cmd && p.contains(&format!("  {host}:\n")))
    };
    assert!(
        has("ip link set dev eth0 mtu 1450", "web-7d9c6b5f4-k2m8p"),
        "{cmds:?}"
    );
    assert!(has("ip link set dev eth0 mtu 1450", "laptop"), "{cmds:?}");
    assert!(
        has(
            "iptables -t mangle -I FORWARD 1 -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
            "node-b"
        ),
        "{cmds:?}"
    );
    assert!(
        cmds.iter()
            .any(|(c, _)| c.ends_with(" mtu 1500") && c.contains("dev veth")),
        "{cmds:?}"
    );
    // the Ingress pointed at the Service that exists
    let v = why("troubleshoot-ingress-missing-service", "missing-service");
    assert!(v["fixes"][0]["patch"].as_str().unwrap().contains("shop-v2"));
    // a default-deny needs two steps: DNS to kube-dns, then the
    // connection at both ends, each a rule added to the policy that
    // isolates the pods (printed as that policy's YAML with the rules
    // added, once); the larger fix that also opens kube-dns's ingress (not
    // isolated) is left out
    let v = why("netpol-default-deny", "before");
    let fixes = v["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 1, "{v}");
    let patch = fixes[0]["patch"].as_str().unwrap();
    assert_eq!(patch.matches("kind: NetworkPolicy").count(), 1, "{patch}");
    assert!(patch.contains("name: default-deny"), "{patch}");
    for rule in [
        "  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n      podSelector:\n        matchLabels:\n          k8s-app: kube-dns\n    ports:\n    - protocol: UDP\n      port: 53\n",
        "    ports:\n    - protocol: TCP\n      port: 8080\n  ingress:\n  - from:",
    ] {
        assert!(patch.contains(rule), "{patch}");
    }
    assert!(fixes[0]["command"]
        .as_str()
        .unwrap()
        .starts_with("kubectl apply -f - <<'EOF'\napiVersion"));
}

#[test]
fn a_fix_that_changes_another_flow_says_how() {
    // the endpoint made ready answers the NodePort too, whose expect:
    // (rejected) is then no longer met
    let v = why("troubleshoot-no-endpoints", "clusterip");
    let o = &v["fixes"][0]["other_flows_changed"][0];
    assert_eq!(o["id"], "nodeport");
    assert_eq!(
        (o["before"].as_str(), o["after"].as_str()),
        (Some("rejected"), Some("answered"))
    );
    assert_eq!(o["expectation_no_longer_met"], true);
    assert_eq!(o["breaks"], false);
    let (_, out, _) = podpath(&["why", "troubleshoot-no-endpoints", "--flow", "clusterip"]);
    assert!(
        out.contains(
            "it also changes nodeport (rejected -> answered, its expect: is no longer met)"
        ),
        "{out}"
    );
}

#[test]
fn a_fix_that_breaks_another_flow_says_so() {
    // externalTrafficPolicy: Cluster lets node-b forward the NodePort, and
    // takes the healthCheckNodePort away: the load balancer's probe of
    // node-a, answered by kube-proxy's health server before, is refused
    let s = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/why/etp-local-health-check.yaml"
    );
    let v = why(s, "without-endpoint");
    let fixes = v["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 1, "{v}");
    assert!(fixes[0]["patch"]
        .as_str()
        .unwrap()
        .contains("externalTrafficPolicy: Cluster"));
    let o = &fixes[0]["other_flows_changed"][0];
    assert_eq!(o["id"], "health-node-a");
    assert_eq!(
        (o["before"].as_str(), o["after"].as_str()),
        (Some("answered"), Some("rejected"))
    );
    assert_eq!(o["breaks"], true);
    let (_, out, _) = podpath(&["why", s, "--flow", "without-endpoint"]);
    assert!(
        out.contains("it also changes health-node-a (answered -> rejected: the fix BREAKS it)"),
        "{out}"
    );
    // the probe itself: kube-proxy's answer on a node with the endpoint
    let (_, out, _) = podpath(&["run", s, "--flow", "health-node-a", "--format", "json"]);
    assert!(out.contains(r#"\"localEndpoints\": 1"#), "{out}");
    let (code, out, _) = podpath(&["run", s, "--flow", "health-node-b"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("HTTP 503"), "{out}");
}

#[test]
fn an_nft_drop_gets_nft_fixes() {
    // an `inet filter` forward chain with policy drop: the fixes are nft
    // rules inserted at the top of that chain, and diff agrees
    let s = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/why/nft-forward-drop.yaml"
    );
    let v = why(s, "api");
    assert_eq!(
        v["decided_by"]["rule"], "nft inet filter forward policy",
        "{v}"
    );
    let fixes = v["fixes"].as_array().unwrap();
    let cmds: Vec<&str> = fixes
        .iter()
        .map(|x| x["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        cmds,
        [
            "nft insert rule inet filter forward ip saddr 192.168.1.10 ip daddr 10.0.2.10 tcp dport 8080 accept\nnft insert rule inet filter forward ct state established,related accept",
            "nft insert rule inet filter forward ip saddr 192.168.1.10 ip daddr 10.0.2.10 tcp dport 8080 accept",
        ]
    );
    let p = std::env::temp_dir().join(format!("podpath-why-nft-{}.yaml", std::process::id()));
    let d = diff_with(s, fixes[1]["patch"].as_str().unwrap(), &p);
    std::fs::remove_file(&p).unwrap();
    let f = flow(&d, "api");
    assert_eq!(f["b"]["outcome"]["kind"], "answered", "{f}");
}

#[test]
fn a_service_that_misses_its_pods_gets_its_selector_or_target_port_fixed() {
    let cmds = |v: &Value| -> Vec<String> {
        v["fixes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["command"].as_str().unwrap().to_string())
            .collect()
    };
    // the typo's fix first, before the selector of another app's pods
    let v = why("troubleshoot-service-selector", "selector");
    assert_eq!(
        cmds(&v),
        [
            r#"kubectl patch service -n default web --type merge -p '{"spec":{"selector":{"app":"web"}}}'"#,
            r#"kubectl patch service -n default web --type merge -p '{"spec":{"selector":{"app":"api"}}}'"#,
        ]
    );
    // a named targetPort no pod has: the name the pod gives its port
    let v = why("troubleshoot-service-selector", "named-port");
    assert!(
        cmds(&v)[0].ends_with(r#""path":"/spec/ports/0/targetPort","value":"http"}]'"#),
        "{v}"
    );
    // a numeric one the pod does not serve: its RST decides
    let v = why("troubleshoot-service-selector", "target-port");
    assert_eq!(v["decided_by"]["point"], "tcp", "{v}");
    assert!(
        cmds(&v).iter().any(|c| c.ends_with(r#""value":8080}]'"#)),
        "{v}"
    );
    // no selector: an EndpointSlice listing the pod that serves the port,
    // the pod named like the Service first
    let s = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/why/service-without-selector.yaml"
    );
    let v = why(s, "manual");
    let p = v["fixes"][0]["patch"].as_str().unwrap();
    assert!(
        p.contains("kind: EndpointSlice")
            && p.contains("\"10.244.0.6\"")
            && p.contains("port: 8080"),
        "{p}"
    );
    // slices given (a real cluster's dump): the fix deletes them, the
    // controller writes them anew, and diff agrees
    let s = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/why/service-given-slices.yaml"
    );
    let dir = std::env::temp_dir().join(format!("podpath-why-svc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (flow, slice) in [("selector", "web-x8k2p"), ("target-port", "api-m4v7z")] {
        let v = why(s, flow);
        let x = &v["fixes"][0];
        assert_eq!(x["proven"], true, "{v}");
        let patch = x["patch"].as_str().unwrap();
        assert!(
            patch.contains(&format!(
                "name: {slice}\n  namespace: default\n$patch: delete"
            )),
            "{patch}"
        );
        let d = diff_with(s, patch, &dir.join(format!("{flow}.yaml")));
        assert_eq!(self::flow(&d, flow)["b"]["outcome"]["kind"], "answered");
        assert_eq!(self::flow(&d, "ok")["changed"], false);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_neighbour_gets_proxy_arp_or_the_device_up() {
    let dir = std::env::temp_dir().join(format!("podpath-why-neigh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, flow, host, cmd) in [
        // calico's gateway 169.254.1.1 is nobody's: the host veth's proxy
        // ARP answers it
        (
            "calico-proxy-arp-off",
            "pod-to-pod",
            "node-a",
            "sysctl -w net.ipv4.conf.cali224156c4f7e.proxy_arp=1",
        ),
        // the gateway's device is down: up
        ("gateway-down", "web", "router", "ip link set dev eth0 up"),
    ] {
        let s = format!("{}/tests/why/{file}.yaml", env!("CARGO_MANIFEST_DIR"));
        let v = why(&s, flow);
        let fixes = v["fixes"].as_array().unwrap();
        assert_eq!(fixes.len(), 1, "{v}");
        assert_eq!(fixes[0]["command"], cmd, "{v}");
        let patch = fixes[0]["patch"].as_str().unwrap();
        assert!(patch.contains(&format!("  {host}:\n")), "{patch}");
        let d = diff_with(&s, patch, &dir.join(format!("{file}.yaml")));
        assert_eq!(self::flow(&d, flow)["b"]["outcome"]["kind"], "answered");
    }
    // the pod's answer to node-b's ping was lost the same way: the fix
    // says it changes that flow too
    let s = format!(
        "{}/tests/why/calico-proxy-arp-off.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let v = why(&s, "pod-to-pod");
    assert_eq!(
        v["fixes"][0]["other_flows_changed"][0]["id"], "from-b",
        "{v}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reply_bridged_past_conntrack_gets_bridge_nf_call_iptables() {
    let s = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/why/bridge-nf-off.yaml");
    let v = why(s, "same-node");
    assert_eq!(v["fate"]["outcome"]["kind"], "timed_out", "{v}");
    assert_eq!(v["decided_by"]["host"], "client", "{v}");
    let fixes = v["fixes"].as_array().unwrap();
    assert_eq!(fixes.len(), 1, "{v}");
    assert_eq!(
        fixes[0]["command"],
        "sysctl -w net.bridge.bridge-nf-call-iptables=1"
    );
    let p = std::env::temp_dir().join(format!("podpath-why-bnf-{}.yaml", std::process::id()));
    let d = diff_with(s, fixes[0]["patch"].as_str().unwrap(), &p);
    std::fs::remove_file(&p).unwrap();
    let f = flow(&d, "same-node");
    assert_eq!(f["b"]["outcome"]["kind"], "answered", "{f}");
    assert_eq!(f["b"]["served_by"], "web-5b7c9d8f6-r4t6y", "{f}");
}

#[test]
fn an_nft_rules_reject_is_deleted_by_its_handle() {
    let s = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/why/nft-rule-drop.yaml");
    let v = why(s, "api");
    assert_eq!(
        v["decided_by"]["rule"], "nft inet filter forward rule 3",
        "{v}"
    );
    let fixes = v["fixes"].as_array().unwrap();
    assert_eq!(
        fixes[0]["command"], "nft delete rule inet filter forward handle 6",
        "{v}"
    );
    let p = std::env::temp_dir().join(format!("podpath-why-nft-rule-{}.yaml", std::process::id()));
    let d = diff_with(s, fixes[0]["patch"].as_str().unwrap(), &p);
    std::fs::remove_file(&p).unwrap();
    assert_eq!(flow(&d, "api")["b"]["outcome"]["kind"], "answered");
    assert_eq!(flow(&d, "web")["changed"], false);
}

/// A copy of `from` (a bundle directory) at `to`.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_bundle_gets_kernel_command_fixes_proven_on_a_copy_of_its_dumps() {
    // the hairpin bundle with a DROP for the pod's port first in the
    // node's FORWARD chain, as a snapshot of such a machine would hold it
    let dir = std::env::temp_dir().join(format!("podpath-why-bundle-{}", std::process::id()));
    let b = dir.join("hairpin-drop");
    copy_dir(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sim/tests/bundles/hairpin"
        )),
        &b,
    );
    let ipt = b.join("node/iptables-save.txt");
    let s = std::fs::read_to_string(&ipt).unwrap();
    let at = s.find("*filter").unwrap();
    let at = at + s[at..].find("\n-A ").unwrap();
    let s = format!(
        "{}\n-A FORWARD -d 10.244.0.5/32 -p tcp -m tcp --dport 8080 -j DROP{}",
        &s[..at],
        &s[at..]
    );
    std::fs::write(&ipt, s).unwrap();
    let bs = b.to_str().unwrap();
    let (code, out, err) = podpath(&["why", "--bundle", bs, "--flow", "self", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decided_by"]["rule"], "FORWARD rule 1", "{v}");
    let fixes = v["fixes"].as_array().unwrap();
    assert_eq!(fixes[0]["command"], "iptables -D FORWARD 1", "{v}");
    assert_eq!(fixes.len(), 3, "{v}");
    // the bundle's dumps are left as they were
    assert!(std::fs::read_to_string(&ipt)
        .unwrap()
        .contains("--dport 8080 -j DROP"));
    // diff takes the fix as a patch to the bundle
    let d = diff_with(
        bs,
        fixes[0]["patch"].as_str().unwrap(),
        &dir.join("fix.yaml"),
    );
    assert_eq!(flow(&d, "self")["b"]["outcome"]["kind"], "answered", "{d}");
    // what a bundle cannot take is refused with the reason
    std::fs::write(
        dir.join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n",
    )
    .unwrap();
    let (code, _, err) = podpath(&[
        "diff",
        bs,
        "--patch",
        dir.join("svc.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("a patch to it is apiVersion podpath/v1, kind Commands"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flow_that_works_needs_no_fix_and_an_unknown_one_is_an_error() {
    let (code, out, _) = podpath(&["why", "troubleshoot-forward-drop", "--flow", "via-node-a"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("it succeeded; there is nothing to fix"),
        "{out}"
    );
    let (code, _, err) = podpath(&["why", "troubleshoot-forward-drop", "--flow", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no flow 'nope' in this scenario (flows: via-node-b, via-node-a)"),
        "{err}"
    );
}

#[test]
fn every_troubleshooting_scenario_is_covered() {
    let (_, out, _) = podpath(&["list"]);
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("troubleshoot-"))
        .collect();
    assert!(names.len() >= 5, "{out}");
    for n in names {
        assert!(TROUBLES.iter().any(|(s, _)| *s == n), "{n} has no why test");
    }
}
