//! Every iptables-save and ip6tables-save dump of the corpus
//! (tests/data/corpus/SOURCES.md) loads as iptables-restore and
//! ip6tables-restore load it, with nothing kept unmodelled in the IPv4
//! ones; the dumps today's iptables-restore refuses are refused with its
//! reason.

use podpath_sim::net::netfilter::iptables::{Family, Ruleset};

fn corpus(dir: &str) -> Vec<(String, String)> {
    read_dir("corpus", dir)
}

/// The real dumps the real tool refuses (tests/data/refused).
fn refused(dir: &str) -> Vec<(String, String)> {
    read_dir("refused", dir)
}

fn read_dir(top: &str, dir: &str) -> Vec<(String, String)> {
    let root = format!("{}/tests/data/{top}/", env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<(String, String)> = std::fs::read_dir(format!("{root}{dir}"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// The dumps today's iptables-restore (1.8) refuses, with the reason:
/// - `--days` is iptables 1.2's libipt_time option; libxt_time only has
///   `--weekdays` (and getopt_long finds no option it abbreviates);
/// - `--something-else` is an option no extension has (the Iptables_Semantics
///   parser test puts it there on purpose);
/// - the TUM dumps were anonymised with `XX:XX:XX:XX:XX:XX` MACs, which
///   libxt_mac's parser refuses;
/// - `-d ! ADDR` is intrapositioned negation, removed in iptables 1.4.12
///   (commit fbe9f1ec "option: remove last traces of intrapositional
///   negation"; today xshared.c check_inverse only accepts it for arptables
///   and ebtables), so `!` is read as the address;
/// - Kubernetes' 2014 test dump jumps to DOCKER, a chain it does not
///   declare: iptables-restore tries it as a target and fails.
const REFUSED: &[(&str, &str)] = &[
    (
        "iptsem-linux-gda-2003.txt",
        "x:6:85: unknown option \"--days\"",
    ),
    (
        "iptsem-parser-test.txt",
        "x:12:55: unknown option \"--something-else\"",
    ),
    (
        "iptsem-tum-net-2013-large.txt",
        "x:1154:50: Bad mac address \"XX:XX:XX:XX:XX:XX\"",
    ),
    (
        "iptsem-tum-net-2015-09-large.txt",
        "x:1794:50: Bad mac address \"XX:XX:XX:XX:XX:XX\"",
    ),
    ("iptsem-ugent.txt", "x:71:39: host/network `!' not found"),
    (
        "kubernetes-util-iptables-test-save-2014.txt",
        "x:6: Couldn't load target `DOCKER':No such file or directory",
    ),
];

#[test]
fn every_iptables_dump_loads_with_nothing_unmodelled() {
    let mut files = corpus("iptables");
    let n_loading = files.len();
    files.extend(refused("iptables"));
    assert!(files.len() >= 45);
    let mut loaded = 0;
    for (name, text) in &files {
        match Ruleset::parse(text, "x") {
            Ok(rs) => {
                assert!(
                    !REFUSED.iter().any(|(n, _)| n == name),
                    "{name} loads but is listed as refused"
                );
                assert_eq!(rs.family, Family::V4);
                assert!(rs.rule_count() > 0, "{name}");
                assert_eq!(rs.unmodelled, vec![], "{name}");
                // what it loaded prints and loads again
                let again = Ruleset::parse(&rs.to_save_text(), "again")
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(again.rule_count(), rs.rule_count(), "{name}");
                loaded += 1;
            }
            Err(e) => {
                let want = REFUSED
                    .iter()
                    .find(|(n, _)| n == name)
                    .unwrap_or_else(|| panic!("{name} refused: {e}"))
                    .1;
                assert!(e.to_string().starts_with(want), "{name}: {e}");
            }
        }
    }
    assert_eq!(loaded, n_loading);
    assert_eq!(files.len() - n_loading, REFUSED.len());
}

#[test]
fn every_ip6tables_dump_loads_as_v6() {
    let files = corpus("ip6tables");
    assert!(files.len() >= 10);
    for (name, text) in &files {
        let rs = Ruleset::parse_v6(text, "x").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rs.family, Family::V6);
        assert!(rs.rule_count() > 0, "{name}");
        assert_eq!(rs.unmodelled, vec![], "{name}");
        // an ip6tables dump is not IPv4: its addresses are refused there
        if text.contains("::") {
            assert!(Ruleset::parse(text, "x").is_err(), "{name}");
        }
    }
}

/// Seeded mutations of every corpus dump (a word dropped, doubled,
/// swapped with another line's, a `!` inserted, a value cut short):
/// loading never panics, and what loads prints and loads again.
#[test]
fn mutated_corpus_dumps_never_panic() {
    use rand_chacha::ChaCha8Rng;
    use rand_core::{Rng, SeedableRng};
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut files = corpus("iptables");
    files.extend(refused("iptables"));
    files.extend(
        corpus("ip6tables")
            .into_iter()
            .map(|(n, t)| (format!("6:{n}"), t)),
    );
    for (name, text) in &files {
        let lines: Vec<&str> = text.lines().collect();
        let rules: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with("-A "))
            .collect();
        if rules.is_empty() {
            continue;
        }
        let rounds = if lines.len() > 1000 { 8 } else { 60 };
        for _ in 0..rounds {
            let mut ls: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let i = rules[rng.next_u32() as usize % rules.len()];
            let mut ws: Vec<String> = ls[i].split(' ').map(str::to_string).collect();
            let k = 2 + rng.next_u32() as usize % ws.len().saturating_sub(2).max(1);
            let k = k.min(ws.len() - 1);
            match rng.next_u32() % 6 {
                0 => {
                    ws.remove(k);
                }
                1 => {
                    let w = ws[k].clone();
                    ws.insert(k, w);
                }
                2 => ws.insert(k, "!".into()),
                3 => {
                    let w = &ws[k];
                    let cut = w.len() / 2;
                    if w.is_char_boundary(cut) {
                        ws[k] = w[..cut].to_string();
                    }
                }
                4 => {
                    let j = rules[rng.next_u32() as usize % rules.len()];
                    let other: Vec<&str> = lines[j].split(' ').collect();
                    ws[k] = other[rng.next_u32() as usize % other.len()].to_string();
                }
                _ => ws[k] = format!("{}x", ws[k]),
            }
            ls[i] = ws.join(" ");
            let t = ls.join("\n") + "\n";
            let parsed = if name.starts_with("6:") {
                Ruleset::parse_v6(&t, "m")
            } else {
                Ruleset::parse(&t, "m")
            };
            if let Ok(rs) = parsed {
                if rs.family == Family::V4 {
                    let again = Ruleset::parse(&rs.to_save_text(), "again")
                        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", ls[i]));
                    assert_eq!(again.rule_count(), rs.rule_count(), "{name}");
                }
            }
        }
    }
}
