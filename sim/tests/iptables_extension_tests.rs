//! iptables' own extension tests (extensions/lib{xt,ipt}_*.t of
//! netfilter/iptables, copied from aosp-mirror/platform_external_iptables
//! 672d4a94 into tests/data/iptables-t): each line is a rule with the
//! result iptables-restore gives it (OK or FAIL). podpath loads every OK
//! one (never refusing what iptables accepts); of the FAIL ones, those it
//! still accepts are counted (mostly values out of range and missing
//! mandatory options of extensions it keeps unmodelled, which libxtables
//! checks and podpath does not yet): the count may only go down.

use podpath_sim::net::netfilter::iptables::Ruleset;

/// How many FAIL lines (rule × chain) podpath still accepts.
const ACCEPTED_FAILS: usize = 155;

fn builtin(table: &str) -> &'static [&'static str] {
    match table {
        "raw" => &["PREROUTING", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "security" => &["INPUT", "FORWARD", "OUTPUT"],
        _ => &["INPUT", "FORWARD", "OUTPUT"],
    }
}

#[test]
fn iptables_extension_tests_load_as_iptables_loads_them() {
    let (checked, accepted_fails) = run_dir("iptables-t", Ruleset::parse);
    assert!(checked > 2000, "{checked}");
    assert!(
        accepted_fails <= ACCEPTED_FAILS,
        "{accepted_fails} FAIL lines accepted (was {ACCEPTED_FAILS})"
    );
}

/// How many FAIL lines of libip6t_*.t podpath's ip6tables loader accepts.
const ACCEPTED_FAILS_V6: usize = 61;

/// ip6tables' own tests (libip6t_*.t) through [`Ruleset::parse_v6`].
#[test]
fn ip6tables_extension_tests_load_as_ip6tables_loads_them() {
    let (checked, accepted_fails) = run_dir("ip6tables-t", Ruleset::parse_v6);
    assert!(checked > 100, "{checked}");
    assert!(
        accepted_fails <= ACCEPTED_FAILS_V6,
        "{accepted_fails} FAIL lines accepted (was {ACCEPTED_FAILS_V6})"
    );
}

type Loader = fn(&str, &str) -> Result<Ruleset, podpath_sim::net::netfilter::ParseError>;

/// Runs every .t file of `dir`; every OK line must load. Returns the lines
/// checked and the FAIL lines accepted.
fn run_dir(dir: &str, load: Loader) -> (usize, usize) {
    let root = format!("{}/tests/data/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "t"))
        .collect();
    files.sort();
    let mut wrong = Vec::new();
    let mut checked = 0;
    let mut accepted_fails = 0;
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        let mut table = "filter".to_string();
        let mut chains: Vec<String> = vec!["INPUT".into()];
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(c) = line.strip_prefix(':') {
                chains = c.split(',').map(str::to_string).collect();
                continue;
            }
            if let Some(t) = line.strip_prefix('*') {
                table = t.to_string();
                continue;
            }
            let f: Vec<&str> = line.split(';').collect();
            if f.len() < 3 || f.get(3).is_some_and(|v| *v == "NFT") {
                continue;
            }
            let (rule, ok) = (f[0], f[2] == "OK");
            for chain in &chains {
                let mut t = format!("*{table}\n");
                for b in builtin(&table) {
                    t.push_str(&format!(":{b} ACCEPT [0:0]\n"));
                }
                let user = !builtin(&table).contains(&chain.as_str());
                if user {
                    t.push_str(&format!(":{chain} - [0:0]\n"));
                }
                t.push_str(&format!("-A {chain} {rule}\nCOMMIT\n"));
                let got = load(&t, &name);
                checked += 1;
                if got.is_ok() && !ok {
                    accepted_fails += 1;
                    if std::env::var_os("PODPATH_LIST_FAILS").is_some() {
                        eprintln!("accepted FAIL: {name}: {chain}: {rule}");
                    }
                } else if got.is_ok() != ok {
                    wrong.push(format!(
                        "{name}: {table} {chain}: {rule}: want {}, got {}",
                        if ok { "OK" } else { "FAIL" },
                        match &got {
                            Ok(_) => "OK".to_string(),
                            Err(e) => e.to_string().lines().next().unwrap_or("").to_string(),
                        }
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    (checked, accepted_fails)
}
