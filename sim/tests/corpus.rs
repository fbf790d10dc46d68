//! The corpus of real dumps (sim/tests/data/corpus, sources in its
//! SOURCES.md): every file is read as `podpath inspect` reads it, and every
//! one loads; the constructs podpath keeps without a model are counted per
//! folder, so a change that models one more (or loses one) shows here.
//! Real dumps that the real tool itself refuses are kept apart
//! (sim/tests/data/refused, sources in its SOURCES.md) and must be refused
//! with the tool's reason. The per-format tests (corpus_nft,
//! corpus_iptables, the ipset/ipvsadm/conntrack tests) check each file's
//! details.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use podpath_sim::scenario::dumps;

mod common;

/// The refused dumps, and the words of the real tool's refusal: a
/// fragment that adds to a set it never creates, options of iptables 1.2
/// (2003) that today's iptables-restore does not know, an option no
/// extension has (a parser test), anonymised MACs, intrapositioned `!`
/// (removed in iptables 1.4.12), a jump to a chain the dump never
/// declares, and ipvsadm printing `(null)` for a forwarding method (a
/// patched ipvsadm).
const REFUSED: &[(&str, &str)] = &[
    (
        "ipset/azure-npm-list-set-save.txt",
        "element does not exist",
    ),
    (
        "iptables/iptsem-linux-gda-2003.txt",
        "unknown option \"--days\"",
    ),
    (
        "iptables/iptsem-parser-test.txt",
        "unknown option \"--something-else\"",
    ),
    (
        "iptables/iptsem-tum-net-2013-large.txt",
        "Bad mac address \"XX:XX:XX:XX:XX:XX\"",
    ),
    (
        "iptables/iptsem-tum-net-2015-09-large.txt",
        "Bad mac address \"XX:XX:XX:XX:XX:XX\"",
    ),
    ("iptables/iptsem-ugent.txt", "host/network `!' not found"),
    (
        "iptables/kubernetes-util-iptables-test-save-2014.txt",
        "Couldn't load target `DOCKER'",
    ),
    (
        "ipvsadm/alibaba-lvs-fullnat-save-n-refused.txt",
        "unexpected argument (null)",
    ),
    (
        "ipvsadm/alibaba-lvs-fullnat-save-refused.txt",
        "unexpected argument (null)",
    ),
];

/// (folder, folder/file, path) of every file under `root`'s folders
/// (subfolders included), sorted.
fn files_of(root: &Path) -> Vec<(String, String, PathBuf)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for d in &dirs {
        let folder = d.file_name().unwrap().to_string_lossy().to_string();
        for (rel, p) in common::files_under(d) {
            out.push((folder.clone(), format!("{folder}/{rel}"), p));
        }
    }
    out
}

fn data(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir)
}

#[test]
fn every_corpus_dump_loads() {
    let mut files = 0;
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut unmodelled: BTreeMap<String, usize> = BTreeMap::new();
    let mut ipv6_kept = 0;
    for (folder, name, p) in files_of(&data("corpus")) {
        files += 1;
        let text = std::fs::read_to_string(&p).unwrap();
        let read = common::include_reader_in(p.parent().unwrap().to_path_buf());
        let r = dumps::inspect_with(&name, &text, &read);
        if let Some((line, why)) = &r.error {
            refused.push((name.clone(), format!("{line}: {why}")));
        }
        *unmodelled.entry(folder.clone()).or_default() += r.unmodelled.len();
        ipv6_kept += r.ipv6_kept.len();
        if std::env::var("CORPUS_LIST").is_ok() {
            for u in &r.unmodelled {
                println!("unmodelled {name}: {u}");
            }
        }
    }
    println!("{files} files; unmodelled by folder: {unmodelled:?}");
    assert!(files >= 150, "{files}");
    assert_eq!(refused, Vec::<(String, String)>::new());
    // What is kept without a model: names only the dumped machine could
    // resolve (an `ipvsadm -S` host name without a hosts file beside the
    // lone dump; an nft `skgid` group name, which nft resolves with
    // getgrnam when it loads the script); and nothing else. ([OFFLOAD]
    // conntrack entries go into a flowtable when the host has one;
    // broadcast routes are modelled, `ip -brief` links taken as Ethernet
    // NICs.)
    for (folder, n) in [
        ("iptables", 0),
        ("ip6tables", 0),
        ("ipset", 0),
        ("ipvsadm", 1),
        ("conntrack", 0),
        ("ipjson", 0),
    ] {
        assert_eq!(unmodelled[folder], n, "{folder}: {unmodelled:?}");
    }
    assert_eq!(unmodelled["nft"], 1, "{unmodelled:?}");
    // IPv6-only NAT and tproxy statements of inet/ip6 tables (`dnat to
    // feed::1`, `tproxy ip6 to`), kept for IPv6: exact on IPv4 packets
    // (a no-op, a rule break), as in the kernel
    assert_eq!(ipv6_kept, 18);
}

#[test]
fn every_refused_dump_is_refused_as_the_real_tool_refuses_it() {
    let mut refused: Vec<(String, String)> = Vec::new();
    for (_, name, p) in files_of(&data("refused")) {
        let text = std::fs::read_to_string(&p).unwrap();
        let r = dumps::inspect(&name, &text);
        let (line, why) = r.error.unwrap_or_else(|| panic!("{name} loads"));
        refused.push((name, format!("{line}: {why}")));
    }
    let want: Vec<(String, String)> = REFUSED
        .iter()
        .map(|(f, w)| (f.to_string(), w.to_string()))
        .collect();
    assert_eq!(refused.len(), want.len(), "{refused:#?}");
    for ((f, why), (wf, ww)) in refused.iter().zip(&want) {
        assert_eq!(f, wf);
        assert!(why.contains(ww.as_str()), "{f}: {why}");
    }
}
