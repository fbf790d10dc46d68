//! Snapshot bundles: a bundle taken from real namespaces (the hairpin
//! topology, captured by `podpath live --netns --bundle-out`) replays to the
//! same path; broken bundles give errors naming the file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use podpath_sim::engine::Engine;
use podpath_sim::scenario::bundle;
use podpath_sim::trace::Action;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bundles/hairpin")
}

fn fs_reader(p: &str) -> Result<String, bundle::ReadError> {
    std::fs::read_to_string(dir().join(p)).map_err(|e| bundle::ReadError::Io {
        path: p.to_string(),
        source: e,
    })
}

#[test]
fn real_hairpin_snapshot_replays_with_kernel_state() {
    let (world, warnings) = bundle::load(&fs_reader, "hairpin", 1).unwrap();
    // The kernel's own MACs, hairpin flag and routes came through.
    let node = &world.hosts[0];
    assert_eq!(node.name, "node");
    let veth = &node.devs[node.dev_index("veth-a").unwrap()];
    assert!(veth.hairpin);
    assert_eq!(node.devs[veth.master.unwrap()].name, "cni0");
    assert!(node.sysctl.bridge_nf_call_iptables() && node.sysctl.ip_forward());
    assert!(node.nf.rule_count() > 10);
    // Broadcast routes are the only thing left out, and it is said.
    assert!(
        warnings.iter().all(|w| w.contains("broadcast route")),
        "{warnings:?}"
    );
    assert!(!warnings.is_empty());
    let t = Engine::new(world).run();
    let f = &t.flows[0];
    assert!(f.outcome.starts_with("HTTP 200 OK"), "{}", f.outcome);
    assert!(f
        .hops
        .iter()
        .any(|h| h.host == "node" && h.steps.iter().any(|s| s.what.contains("(hairpin)"))));
    assert!(f.hops.iter().any(|h| h
        .steps
        .iter()
        .any(|s| matches!(&s.action, Action::Dnat { to, .. } if to == "10.244.0.5:8080"))));
}

fn with(files: &[(&str, &str)]) -> impl Fn(&str) -> Result<String, bundle::ReadError> {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for f in [
        "bundle.json",
        "node/ip-link.json",
        "node/ip-addr.json",
        "node/ip-route.json",
        "node/ip-rule.json",
        "node/ip-neigh.json",
        "node/bridge-fdb.json",
        "node/iptables-save.txt",
        "node/sysctl.txt",
    ] {
        if let Ok(t) = std::fs::read_to_string(dir().join(f)) {
            m.insert(f.to_string(), t);
        }
    }
    m.insert(
        "bundle.json".into(),
        r#"{"format":"podpath-snapshot/1","hosts":["node"],"links":[],"flows":[],"apps":[]}"#
            .into(),
    );
    for (k, v) in files {
        m.insert(k.to_string(), v.to_string());
    }
    move |p: &str| {
        m.get(p)
            .cloned()
            .ok_or_else(|| bundle::ReadError::NotFound(p.to_string()))
    }
}

#[test]
fn broken_bundles_name_the_file_and_line() {
    let r = with(&[(
        "node/ip-route.json",
        "[{\"dst\": \"10.0.0.0/8\",\n \"dev\": }]",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), ("node/ip-route.json", 2), "{e}");
    let r = with(&[("bundle.json", r#"{"format":"other/2","hosts":["node"]}"#)]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert!(e.message.contains("podpath-snapshot/1"), "{e}");
    let r = with(&[(
        "node/iptables-save.txt",
        "*nat\n:X - [0:0]\n-A X -j NOWHERE\nCOMMIT\n",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(
        (e.file.as_str(), e.line),
        ("node/iptables-save.txt", 3),
        "{e}"
    );
    let r = with(&[(
        "bundle.json",
        r#"{"format":"podpath-snapshot/1","hosts":["node"],"links":[{"a":"node/eth9","b":"node/veth-a"}]}"#,
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert!(e.message.contains("no interface 'eth9'"), "{e}");
    let r = with(&[("node/sysctl.txt", "")]);
    assert!(bundle::load(&r, "b", 0).is_ok());
    let r = |p: &str| {
        if p == "bundle.json" {
            Ok(r#"{"format":"podpath-snapshot/1","hosts":["x"]}"#.to_string())
        } else {
            Err(bundle::ReadError::NotFound(p.to_string()))
        }
    };
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(e.file, "x/ip-link.json", "{e}");
}

#[test]
fn unsupported_devices_and_apps_are_warned_about() {
    let link = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00"},
 {"ifindex":5,"ifname":"wg0","flags":["UP"],"mtu":1420,"link_type":"none","linkinfo":{"info_kind":"wireguard"}}]"#;
    let r = with(&[
        ("node/ip-link.json", link),
        ("node/ip-addr.json", "[]"),
        ("node/ip-route.json", "[]"),
        ("node/bridge-fdb.json", "[]"),
        (
            "bundle.json",
            r#"{"format":"podpath-snapshot/1","hosts":["node"],"apps":[{"host":"node","kind":"haproxy","config":"node/haproxy.cfg"}]}"#,
        ),
    ]);
    let (_, w) = bundle::load(&r, "b", 0).unwrap();
    assert!(
        w.iter().any(|x| x.contains("node/ip-link.json")
            && x.contains("wg0")
            && x.contains("wireguard")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|x| x.contains("haproxy") && x.contains("not modelled")),
        "{w:?}"
    );
}

/// bundle.json is read key by key: an unknown key (a typo such as `flow`
/// for `flows`) or a value of the wrong type is an error naming the key,
/// its line and what was expected; a route dump without the local table
/// gets a warning naming the command that writes a complete one.
#[test]
fn bundle_keys_and_types_are_checked() {
    let r = with(&[(
        "bundle.json",
        "{\"format\":\"podpath-snapshot/1\",\"hosts\":[\"node\"],\n \"flow\":[]}",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!((e.file.as_str(), e.line), ("bundle.json", 2), "{e}");
    assert!(
        e.message
            .starts_with("unknown field `flow`, expected one of"),
        "{e}"
    );
    assert!(e.message.contains("`flows`"), "{e}");
    let r = with(&[(
        "bundle.json",
        "{\"format\":\"podpath-snapshot/1\",\"hosts\":[\"node\"],\"flows\":[\n {\"from\":\"node\",\"dst\":5}]}",
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(e.key, "flows[0].dst", "{e}");
    assert_eq!(e.line, 2, "{e}");
    assert!(
        e.message
            .contains("invalid type: integer `5`, expected a string"),
        "{e}"
    );
    let r = with(&[(
        "bundle.json",
        r#"{"format":"podpath-snapshot/1","hosts":["node"],"flows":[{"from":"node","dst":"10.0.0.1:80","request":"HTTP GET / Host: x","proto":"udp"}]}"#,
    )]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert!(
        e.message
            .contains("flows[0].proto: 'udp', but request 'HTTP GET / Host: x' is sent over tcp"),
        "{e}"
    );
    // a route whose "dst" is not a string, as `ip -j route` never writes
    let r = with(&[("node/ip-route.json", r#"[{"dst": 5, "dev": "lo"}]"#)]);
    let e = bundle::load(&r, "b", 0).err().unwrap();
    assert_eq!(
        (e.file.as_str(), e.key.as_str()),
        ("node/ip-route.json", "[0].dst"),
        "{e}"
    );
    assert!(e.message.contains("5 is not a string"), "{e}");
    // the main table only (`ip -j route show`): loads, with a warning
    let main_only = std::fs::read_to_string(dir().join("node/ip-route.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&main_only).unwrap();
    let kept: Vec<&serde_json::Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["table"].as_str() != Some("local"))
        .collect();
    assert!(kept.len() < v.as_array().unwrap().len());
    let main_only = serde_json::to_string(&kept).unwrap();
    let r = with(&[("node/ip-route.json", &main_only)]);
    let (_, w) = bundle::load(&r, "b", 0).unwrap();
    assert!(
        w.iter().any(
            |x| x.contains("node/ip-route.json: no route of table local")
                && x.contains("`ip -j route show table all`")
        ),
        "{w:?}"
    );
    let (_, w) = bundle::load(&with(&[]), "b", 0).unwrap();
    assert!(!w.iter().any(|x| x.contains("table local")), "{w:?}");
}

/// A snapshot taken where iptables-save, bridge or sysctl is not installed
/// lists what it could not write under `missing`: those files read as
/// empty, each with a warning; a file absent without being listed is still
/// an error naming it.
#[test]
fn files_a_snapshot_lists_as_missing_read_as_empty() {
    let files = |listed: &str| {
        let b =
            format!(r#"{{"format":"podpath-snapshot/1","hosts":["node"],"missing":[{listed}]}}"#);
        let inner = with(&[("bundle.json", b.as_str())]);
        move |p: &str| match p {
            "node/iptables-save.txt" | "node/bridge-fdb.json" | "node/sysctl.txt" => {
                Err(bundle::ReadError::NotFound(p.to_string()))
            }
            _ => inner(p),
        }
    };
    let all = r#"{"host":"node","file":"iptables-save.txt","why":"iptables-save is not installed"},
        {"host":"node","file":"bridge-fdb.json","why":"bridge is not installed"},
        {"host":"node","file":"sysctl.txt","why":"sysctl is not installed"}"#;
    let (world, w) = bundle::load(&files(all), "b", 0).unwrap();
    assert_eq!(world.hosts[0].nf.rule_count(), 0);
    assert!(
        w.iter().any(|x| x
            == "node/iptables-save.txt: not in the snapshot (iptables-save is not installed); read as empty"),
        "{w:?}"
    );
    assert_eq!(
        w.iter()
            .filter(|x| x.contains("not in the snapshot"))
            .count(),
        3
    );
    let two = r#"{"host":"node","file":"bridge-fdb.json","why":"bridge is not installed"},
        {"host":"node","file":"sysctl.txt","why":"sysctl is not installed"}"#;
    let e = bundle::load(&files(two), "b", 0).err().unwrap();
    assert_eq!(e.file, "node/iptables-save.txt", "{e}");
    let e = bundle::load(&files(r#"{"host":"node","file":"x"}"#), "b", 0)
        .err()
        .unwrap();
    assert!(e.message.contains("missing field `why`"), "{e}");
}
