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

/// Reads every corpus file with the name databases `etc`: (files,
/// refused, unmodelled by folder, unresolved by folder, IPv6 kept).
#[allow(clippy::type_complexity)]
fn read_corpus(
    etc: &podpath_sim::net::names::Etc,
) -> (
    usize,
    Vec<(String, String)>,
    BTreeMap<String, usize>,
    BTreeMap<String, usize>,
    usize,
) {
    let mut files = 0;
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut unmodelled: BTreeMap<String, usize> = BTreeMap::new();
    let mut unresolved: BTreeMap<String, usize> = BTreeMap::new();
    let mut ipv6_kept = 0;
    for (folder, name, p) in files_of(&data("corpus")) {
        files += 1;
        let text = std::fs::read_to_string(&p).unwrap();
        let read = common::include_reader_in(p.parent().unwrap().to_path_buf());
        let r = dumps::inspect_etc(&name, &text, &read, etc);
        if let Some((line, why)) = &r.error {
            refused.push((name.clone(), format!("{line}: {why}")));
        }
        *unmodelled.entry(folder.clone()).or_default() += r.unmodelled.len();
        *unresolved.entry(folder.clone()).or_default() += r.unresolved.len();
        ipv6_kept += r.ipv6_kept.len();
        if std::env::var("CORPUS_LIST").is_ok() {
            for u in r.unmodelled.iter().chain(&r.unresolved) {
                println!("unmodelled/unresolved {name}: {u}");
            }
        }
    }
    (files, refused, unmodelled, unresolved, ipv6_kept)
}

#[test]
fn every_corpus_dump_loads() {
    let (files, refused, unmodelled, unresolved, ipv6_kept) =
        read_corpus(&podpath_sim::net::names::Etc::default());
    println!("{files} files; unmodelled by folder: {unmodelled:?}; unresolved: {unresolved:?}");
    assert!(files >= 150, "{files}");
    assert_eq!(refused, Vec::<(String, String)>::new());
    // Nothing is kept without a model. ([OFFLOAD] conntrack entries go
    // into a flowtable when the host has one; broadcast routes are
    // modelled, `ip -brief` links taken as Ethernet NICs.)
    for folder in [
        "iptables",
        "ip6tables",
        "ipset",
        "ipvsadm",
        "conntrack",
        "ipjson",
        "nft",
    ] {
        assert_eq!(unmodelled[folder], 0, "{folder}: {unmodelled:?}");
    }
    // Names only the dumped machine resolves, kept apart: an `ipvsadm -S`
    // host name without a hosts file beside the lone dump (s2), an nft
    // `skgid != java` (nft resolves it with getgrnam when it loads the
    // script).
    let total: usize = unresolved.values().sum();
    assert_eq!(total, 2, "{unresolved:?}");
    assert_eq!((unresolved["ipvsadm"], unresolved["nft"]), (1, 1));
    // IPv6 NAT statements (`dnat to feed::1`, `dnat ip6 to [..]:P`) are
    // evaluated on IPv6 packets now; what is kept for IPv6 is the tproxy
    // ones (`tproxy ip6 to`): a rule break on IPv4 packets, as in the
    // kernel
    assert_eq!(ipv6_kept, 2);
}

/// With the databases of a machine that has them (tests/data/etc: group
/// java, host s2) the names resolve as nft and ipvsadm there would:
/// nothing unmodelled, nothing unresolved, nothing refused.
#[test]
fn corpus_names_resolve_with_the_machines_databases() {
    let dir = data("etc");
    let etc = podpath_sim::net::names::Etc::read(
        &|f: &str| std::fs::read_to_string(dir.join(f)).ok(),
        "",
    );
    assert!(etc.passwd.is_some() && etc.group.is_some() && etc.hosts.is_some());
    let (_, refused, unmodelled, unresolved, _) = read_corpus(&etc);
    assert_eq!(refused, Vec::<(String, String)>::new());
    assert_eq!(unmodelled.values().sum::<usize>(), 0, "{unmodelled:?}");
    assert_eq!(unresolved.values().sum::<usize>(), 0, "{unresolved:?}");
    // a group file without java: nft's own refusal, at the rule's line
    let text =
        std::fs::read_to_string(data("corpus").join("nft/istio-sidecar-ipv6-dns-owner-script.txt"))
            .unwrap();
    let no_java = podpath_sim::net::names::Etc {
        group: Some(podpath_sim::net::names::parse_ids("root:x:0:\n")),
        ..etc.clone()
    };
    let r = dumps::inspect_etc("x.nft", &text, &|_| Ok(Vec::new()), &no_java);
    assert_eq!(
        r.error,
        Some((22, "Error: Group does not exist".to_string()))
    );
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
