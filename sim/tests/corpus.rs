//! The corpus of real dumps (sim/tests/data/corpus, sources in its
//! SOURCES.md): every file is read as `podpath inspect` reads it. Each
//! loads, except the few the real tool itself refuses (listed here with
//! the tool's reason); the constructs podpath keeps without a model are
//! counted per folder, so a change that models one more (or loses one)
//! shows here. The per-format tests (corpus_nft, corpus_iptables, the
//! ipset/ipvsadm/conntrack tests) check each file's details.

use std::collections::BTreeMap;
use std::path::PathBuf;

use podpath_sim::scenario::dumps;

/// Files the real tool refuses too, and the words of its refusal: a
/// fragment that adds to a set it never creates, options of iptables 1.2
/// (2003) that today's iptables-restore does not know, an option no
/// extension has (a parser test), anonymised MACs, intrapositioned `!`
/// (removed in iptables 1.4.12), a jump to a chain the dump never
/// declares, ipvsadm printing `(null)` for a forwarding method (a patched
/// ipvsadm), and an nft script whose included file is not in the corpus.
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
    (
        "nft/nftables-example-all-in-one-include-script.txt",
        "File not found: ./inet-filter.nft",
    ),
];

#[test]
fn every_corpus_dump_loads_or_is_refused_as_the_real_tool_refuses_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut files = 0;
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut unmodelled: BTreeMap<String, usize> = BTreeMap::new();
    for d in &dirs {
        let folder = d.file_name().unwrap().to_string_lossy().to_string();
        let mut names: Vec<PathBuf> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            files += 1;
            let name = format!("{folder}/{}", p.file_name().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&p).unwrap();
            let r = dumps::inspect(&name, &text);
            if let Some((line, why)) = &r.error {
                refused.push((name.clone(), format!("{line}: {why}")));
            }
            *unmodelled.entry(folder.clone()).or_default() += r.unmodelled.len();
            if std::env::var("CORPUS_LIST").is_ok() {
                for u in &r.unmodelled {
                    println!("unmodelled {name}: {u}");
                }
            }
        }
    }
    println!("{files} files; unmodelled by folder: {unmodelled:?}");
    for (f, why) in &refused {
        println!("refused {f}: {why}");
    }
    assert!(files >= 150, "{files}");
    // What is kept without a model: none in the iptables, ip6tables and
    // ipset dumps; an unresolvable host name in an `ipvsadm -S` without
    // -n; flowtable-offloaded conntrack entries (tracked as ordinary);
    // broadcast routes and `ip -brief` links (no kind to model them by);
    // and, in nft, what corpus_nft lists per file.
    for (folder, n) in [
        ("iptables", 0),
        ("ip6tables", 0),
        ("ipset", 0),
        ("ipvsadm", 1),
        ("conntrack", 2),
        ("ipjson", 8),
    ] {
        assert_eq!(unmodelled[folder], n, "{folder}: {unmodelled:?}");
    }
    assert_eq!(unmodelled["nft"], 48, "{unmodelled:?}");
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
