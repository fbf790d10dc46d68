//! `podpath inspect` on real dumps (every file of the corpus, and one of
//! each format together),
//! on the bundles, in text and JSON, and on a file the real tool refuses,
//! as insta snapshots (cli/tests/snapshots/inspect__*.snap). One process
//! call each.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `podpath inspect ARGS` from the workspace root (paths in the report
/// are then the relative ones given).
fn inspect(args: &[&str]) -> Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new(env!("CARGO_BIN_EXE_podpath"))
        .arg("inspect")
        .args(args)
        .current_dir(root)
        .output()
        .expect("podpath runs")
}

fn text(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// One dump of each format that loads today.
const ONE_OF_EACH: &[&str] = &[
    "sim/tests/data/corpus/iptables/firehol-basics-interface.txt",
    "sim/tests/data/corpus/nft/knftables-kube-proxy-nftables-mode-script.txt",
    "sim/tests/data/corpus/nft/nftables-shell-set-connlimit.txt",
    "sim/tests/data/corpus/ipset/kube-router-ipset-save-test1.txt",
    "sim/tests/data/corpus/ipvsadm/kube-proxy-session-affinity-save-n.txt",
    "sim/tests/data/corpus/ipvsadm/lvs-nat-hostname-save.txt",
    "sim/tests/data/corpus/ipjson/netplan-ip-d-j-addr.json",
    "sim/tests/data/corpus/ipjson/iproute2-ip-json-brief-link-show-2017.json",
    "sim/tests/data/corpus/ipjson/netplan-ip-d-j-route4-table-all.json",
    "sim/tests/data/corpus/ipjson/iproute2-ip-j-p-rule-show-sport-mask.json",
    "sim/tests/data/corpus/ipjson/iproute2-ip-j-p-neigh-show-extern-valid.json",
    "sim/tests/data/corpus/ipjson/iproute2-bridge-j-p-fdb-get-locked.json",
    "sim/tests/bundles/hairpin/node/sysctl.txt",
    "sim/tests/data/corpus/conntrack/pyroute2-1198-conntrack-L-offload.txt",
    "sim/tests/data/corpus/conntrack/aks-engine-1912-conntrack-L-kube-proxy-dnat.txt",
];

#[test]
fn inspect_one_file_of_each_format() {
    let o = inspect(ONE_OF_EACH);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    insta::assert_snapshot!("one-of-each.txt", text(&o));
}

#[test]
fn inspect_a_file_as_json() {
    let o = inspect(&[
        "--format",
        "json",
        "sim/tests/data/corpus/ipset/antrea-support-dump-ipset.txt",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in ["format", "objects", "unmodelled", "items"] {
        assert!(v.get(k).is_some(), "no key {k}");
    }
    insta::assert_snapshot!("antrea-ipset.json", text(&o));
}

#[test]
fn inspect_bundles() {
    // the bundle of the sim tests, and one that lacks what a faithful
    // replay needs (local routes, links, a config file, a flow's address)
    let o = inspect(&[
        "sim/tests/bundles/hairpin",
        "cli/tests/data/inspect/bundle-gaps",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    insta::assert_snapshot!("bundles.txt", text(&o));
    let o = inspect(&["--format", "json", "sim/tests/bundles/hairpin"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("bundle-hairpin.json", text(&o));
}

/// A set that no `create` made: `ipset restore` refuses it, so does
/// inspect, with exit 2 and FILE:LINE on stderr; the refused ipvsadm dumps
/// as a directory (both refused by `ipvsadm -R`) likewise,
/// and a bundle without the files it names.
#[test]
fn inspect_refused_files_exit_2() {
    let o = inspect(&[
        "cli/tests/data/inspect/broken-ipset.txt",
        "sim/tests/data/refused/ipvsadm",
        "cli/tests/data/inspect/bundle-missing-file",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    insta::assert_snapshot!("refused.stderr", err);
    insta::assert_snapshot!("refused.txt", text(&o));
}

/// An `nft -f` script's includes are read relative to the script's
/// directory (a wildcard in alphabetical order, a define of one included
/// file used by the next); an include that names no file is refused as nft
/// refuses it.
#[test]
fn inspect_reads_nft_includes_beside_the_script() {
    let o = inspect(&[
        "--format",
        "json",
        "cli/tests/data/inspect/nft-include/main.nft",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &j;
    assert_eq!(f["objects"]["tables"], 2, "{j}");
    assert_eq!(f["objects"]["rules"], 3, "{j}");
    let o = inspect(&["cli/tests/data/inspect/nft-include/missing.nft"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("missing.nft:1") && err.contains("not-there.nft"),
        "{err}"
    );
}

/// Every file of the corpus of real dumps (sim/tests/data/corpus, its
/// SOURCES.md names each one's origin), one snapshot of its report each
/// (cli/tests/snapshots/inspect__corpus__FOLDER__FILE.snap): what it
/// understood, what is simplified, every unmodelled construct with its
/// line. Each exits 0: all of them load.
#[test]
fn inspect_every_corpus_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sim/tests/data/corpus");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "SOURCES.md") {
                files.push(p.strip_prefix(&root).unwrap().to_string_lossy().to_string());
            }
        }
    }
    files.sort();
    assert!(files.len() >= 150, "{}", files.len());
    let paths: Vec<String> = files
        .iter()
        .map(|f| format!("sim/tests/data/corpus/{f}"))
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let o = inspect(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // one report per file, each starting at column 0 with its path
    let out = text(&o);
    let mut reports: Vec<String> = Vec::new();
    for line in out.lines() {
        if !line.starts_with(' ') {
            reports.push(String::new());
        }
        let r = reports.last_mut().expect("a report starts with its path");
        r.push_str(line);
        r.push('\n');
    }
    assert_eq!(reports.len(), files.len());
    for (f, r) in files.iter().zip(&reports) {
        assert!(
            r.starts_with(&format!("sim/tests/data/corpus/{f}: ")),
            "{r}"
        );
        let name = format!("corpus__{}", f.replace(['/', '.'], "_"));
        insta::assert_snapshot!(name, r);
    }
}

/// `--etc DIR`: the dumped machine's passwd, group and hosts for lone
/// files. The corpus's two names only the machine resolves (nft `skgid
/// != java`, ipvsadm host `s2`) resolve with the fixture's files; with
/// a group file that lacks java, nft's own refusal at the rule's line.
#[test]
fn inspect_resolves_names_with_etc() {
    let files = [
        "sim/tests/data/corpus/nft/istio-sidecar-ipv6-dns-owner-script.txt",
        "sim/tests/data/corpus/ipvsadm/lvs-nat-hostname-save.txt",
    ];
    let json = |extra: &[&str]| {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&files);
        let o = inspect(&args);
        (
            o.status.code(),
            serde_json::from_slice::<serde_json::Value>(&o.stdout).ok(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (code, v, _) = json(&[]);
    assert_eq!(code, Some(0));
    let v = v.unwrap();
    assert_eq!(
        (v["unmodelled"].as_u64(), v["unresolved"].as_u64()),
        (Some(0), Some(2))
    );
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["items"].as_array().unwrap())
        .filter_map(|i| i["kind"].as_str())
        .filter(|k| *k == "unresolved")
        .collect();
    assert_eq!(kinds.len(), 2);
    let (code, v, _) = json(&["--etc", "sim/tests/data/etc"]);
    assert_eq!(code, Some(0));
    let v = v.unwrap();
    assert_eq!(
        (v["unmodelled"].as_u64(), v["unresolved"].as_u64()),
        (Some(0), Some(0)),
        "{v}"
    );
    let dir = std::env::temp_dir().join(format!("podpath-etc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("group"), "root:x:0:\n").unwrap();
    let (code, _, err) = json(&["--etc", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(2));
    assert!(
        err.contains("istio-sidecar-ipv6-dns-owner-script.txt:22: Error: Group does not exist"),
        "{err}"
    );
}
