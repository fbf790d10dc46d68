//! nft rule handles against the real kernel: every nft script of the
//! corpus that the real `nft -f` loads in a fresh network namespace, plus
//! scripts written to exercise the allocation order (anonymous sets,
//! maps, binding chains, objects, `index`/`handle` positions, `delete`
//! and `replace` by handle), is loaded by podpath too, and each chain's
//! handle and each rule's handle, in order, must be the kernel's
//! (`nft -j -a list ruleset`). `podpath why` prints `nft delete rule ...
//! handle N` from these handles. Skipped, with the reason printed, where
//! network namespaces cannot be created.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use podpath_sim::net::netfilter::nftables::Nft;

/// (family, table, chain) -> (chain handle, rule handles in order).
type Handles = BTreeMap<(String, String, String), (u64, Vec<u64>)>;

fn kernel(ns: &str, file: &std::path::Path) -> Option<Handles> {
    let ok = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f"])
        .arg(file)
        .output()
        .ok()?
        .status
        .success();
    if !ok {
        return None;
    }
    let o = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-j", "-a", "list", "ruleset"])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    let mut h = Handles::new();
    let key = |x: &serde_json::Value, name: &str| {
        (
            x["family"].as_str().unwrap_or("").to_string(),
            x["table"].as_str().unwrap_or("").to_string(),
            x[name].as_str().unwrap_or("").to_string(),
        )
    };
    for item in v["nftables"].as_array()? {
        if let Some(c) = item.get("chain") {
            h.entry(key(c, "name")).or_default().0 = c["handle"].as_u64()?;
        } else if let Some(r) = item.get("rule") {
            h.entry(key(r, "chain"))
                .or_default()
                .1
                .push(r["handle"].as_u64()?);
        }
    }
    h.retain(|k, _| !k.2.starts_with("__chain"));
    Some(h)
}

fn podpath(text: &str) -> Option<Handles> {
    let nft = Nft::parse(text).ok()?;
    let mut h = Handles::new();
    for t in &nft.tables {
        for c in t.chains.iter().filter(|c| !c.name.starts_with("__chain")) {
            h.insert(
                (t.family.clone(), t.name.clone(), c.name.clone()),
                (c.handle, c.rules.iter().map(|r| r.handle).collect()),
            );
        }
    }
    Some(h)
}

const WRITTEN: [(&str, &str); 4] = [
    (
        "blocks",
        "table inet filter {\n  set allowed { type ipv4_addr; elements = { 10.0.0.1 } }\n  chain forward {\n    type filter hook forward priority filter; policy drop;\n    ct state established,related accept\n    ip saddr @allowed accept\n  }\n  chain input {\n    type filter hook input priority filter; policy accept;\n    tcp dport 22 accept\n  }\n  counter c1 { }\n}\ntable ip nat {\n  chain post { type nat hook postrouting priority srcnat; masquerade; }\n}\nadd rule inet filter forward tcp dport 80 accept\n",
    ),
    (
        "anonymous",
        "table inet t {\n  chain c {\n    type filter hook forward priority filter; policy accept;\n    tcp dport { 1, 2 } accept\n    tcp dport { 3 } accept\n    tcp dport vmap { 4 : accept, 5 : drop }\n    jump { tcp dport 7 accept; }\n    tcp dport 6 accept\n  }\n  chain d {\n    tcp dport 8 accept\n  }\n}\n",
    ),
    (
        "index",
        "add table inet t\nadd chain inet t c\nadd rule inet t c tcp dport 1 accept\nadd rule inet t c tcp dport 2 accept\ninsert rule inet t c index 0 tcp dport 10 accept\ninsert rule inet t c index 1 tcp dport 11 accept\nadd rule inet t c index 0 tcp dport 20 accept\n",
    ),
    (
        "delete-replace",
        "table inet t {\n  chain c {\n    type filter hook input priority filter;\n    tcp dport 1 accept\n    tcp dport 2 accept\n    tcp dport 3 accept\n  }\n}\ndelete rule inet t c handle 3\nreplace rule inet t c handle 4 udp dport { 5, 6 } accept\nadd rule inet t c udp dport 7 accept\n",
    ),
];

#[test]
fn rule_handles_are_the_kernels() {
    if let Some(why) = common::netns_unavailable(&["nft"]) {
        common::skip("rule_handles_are_the_kernels", &why);
        return;
    }
    let dir = std::env::temp_dir().join(format!("podpath-nft-handles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim/tests/data/corpus/nft");
    let mut inputs: Vec<(String, String)> = WRITTEN
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let mut names: Vec<_> = std::fs::read_dir(corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        if !text.contains("include") {
            inputs.push((e.file_name().to_string_lossy().into_owned(), text));
        }
    }
    let ns = format!("ppnh{}", std::process::id());
    let (mut compared, mut refused) = (0, Vec::new());
    let mut wrong = Vec::new();
    for (name, text) in &inputs {
        let _ = Command::new("ip").args(["netns", "add", &ns]).output();
        let f = dir.join("rules.nft");
        std::fs::write(&f, text).unwrap();
        let k = kernel(&ns, &f);
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        let Some(k) = k else {
            refused.push(name.clone());
            continue;
        };
        let p = podpath(text).unwrap_or_else(|| panic!("{name}: podpath refuses what nft loads"));
        compared += 1;
        if p != k {
            let diff: Vec<String> = k
                .iter()
                .filter(|(c, h)| p.get(*c) != Some(*h))
                .map(|(c, h)| format!("{c:?}: kernel {h:?}, podpath {:?}", p.get(c)))
                .take(3)
                .collect();
            wrong.push(format!("{name}: {}", diff.join("; ")));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    eprintln!(
        "nft handles: {compared} rulesets compared, {} refused by this nft: {refused:?}",
        refused.len()
    );
    // the written ones all load
    assert!(
        WRITTEN
            .iter()
            .all(|(n, _)| !refused.contains(&n.to_string())),
        "{refused:?}"
    );
    assert!(compared >= 20, "{compared} compared; refused: {refused:?}");
    assert!(
        wrong.is_empty(),
        "{} of {compared} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
