//! iptables' own extension tests (extensions/lib{xt,ipt}_*.t of
//! netfilter/iptables, copied from aosp-mirror/platform_external_iptables
//! 672d4a94 into tests/data/iptables-t): each line is a rule with the
//! result iptables-restore gives it (OK or FAIL). podpath loads every OK
//! one (never refusing what iptables accepts); of the FAIL ones, those it
//! still accepts are counted: the count was 15 (and 3 of
//! ip6tables) and is now 0, asserted exact so that a regression fails.
//! The rules that need the machine's state (an ipset `foo` for `-m set`
//! and `-j SET`: "Set foo doesn't exist."; an nfacct object; a
//! connlabel.conf name) are checked against iptables-test.py's machine
//! ([`Machine`]: no ipset, no label names, the nfacct objects its
//! `@nfacct add` lines make) with `Ruleset::check_machine`; recent's
//! `--hitcount 65536` is refused as kernels since 6.11 refuse it.

use podpath_sim::net::netfilter::iptables::{Machine, Ruleset};

/// How many FAIL lines (rule × chain) podpath still accepts.
const ACCEPTED_FAILS: usize = 0;

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
    assert_eq!(
        accepted_fails, ACCEPTED_FAILS,
        "{accepted_fails} FAIL lines accepted (was {ACCEPTED_FAILS})"
    );
}

/// How many FAIL lines of libip6t_*.t podpath's ip6tables loader accepts.
const ACCEPTED_FAILS_V6: usize = 0;

/// ip6tables' own tests (libip6t_*.t) through [`Ruleset::parse_v6`].
#[test]
fn ip6tables_extension_tests_load_as_ip6tables_loads_them() {
    let (checked, accepted_fails) = run_dir("ip6tables-t", Ruleset::parse_v6);
    assert!(checked > 100, "{checked}");
    assert_eq!(
        accepted_fails, ACCEPTED_FAILS_V6,
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
        // iptables-test.py's machine: no ipset (the `.t` files' `foo` is
        // never created), no connlabel.conf label named, the nfacct
        // objects its `@nfacct add NAME` lines make
        let mut machine = Machine::bare();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(cmd) = line.strip_prefix('@') {
                let w: Vec<&str> = cmd.split_whitespace().collect();
                if let (Some(set), ["nfacct", op, name]) = (machine.nfacct.as_mut(), w.as_slice()) {
                    if *op == "add" {
                        set.insert(name.to_string());
                    } else {
                        set.remove(*name);
                    }
                }
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
                let got = load(&t, &name).and_then(|r| r.check_machine(&machine, &name));
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

/// The refusals name the file, the line and the tool's words
/// (libxtables/xtoptions.c, the extensions' x6_fcheck, the kernel's
/// checkentry).
#[test]
fn refusals_carry_the_tools_words() {
    for (rules, want) in [
        ("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DSCP --set-dscp 0x3f --set-dscp-class CS0\nCOMMIT\n", "DSCP: option \"--set-dscp\" cannot be used together with \"--set-dscp-class\"."),
        ("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DSCP --set-dscp 0x40\nCOMMIT\n", "DSCP: bad value for option \"--set-dscp\", or out of range (0-63)."),
        ("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j TTL\nCOMMIT\n", "TTL: You must specify an action"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m length --length 4:3\nCOMMIT\n", "length: bad value for option \"--length\" near \"3\", or out of range (4-65535)."),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DNAT --to-destination 1.1.1.1 --to-destination 2.2.2.2\nCOMMIT\n", "DNAT: option \"--to-destination\" can only be used once."),
        ("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j REDIRECT --to-ports 10-ssh\nCOMMIT\n", "Port `ssh' not valid"),
        ("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j TCPOPTSTRIP --strip-options 1\nCOMMIT\n", "Option value may not be 0 or 1"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m owner --uid-owner 0\nCOMMIT\n", "owner is reached from INPUT, but is only usable from OUTPUT/POSTROUTING"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ! -p 0 -j ACCEPT\nCOMMIT\n", "rule would never match protocol"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --rcheck --hitcount 65536 --name foo\nCOMMIT\n", "xt_recent: hitcount (65536) is larger than allowed maximum (65535)"),
    ] {
        let e = Ruleset::parse(rules, "t.rules").expect_err(rules);
        assert_eq!((e.file.as_str(), e.line), ("t.rules", 3), "{e}");
        assert!(e.message.contains(want), "{rules}: {e}");
    }
    let e = Ruleset::parse_v6("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DNPT --src-pfx dead::beef --dst-pfx 1c3::/64\nCOMMIT\n", "t6").unwrap_err();
    assert!(
        e.message.contains("is not a prefix of at most 64 bits"),
        "{e}"
    );
}

/// The tables and hooks the kernel's modules allow an extension in
/// (`.table`/`.hooks` of their registration, checked by
/// xt_check_target/xt_check_match in net/netfilter/x_tables.c): one
/// rule per entry corrected after reading the kernel, in a chain it may
/// and one it may not be reached from.
#[test]
fn extensions_are_refused_outside_the_tables_and_hooks_their_module_registers() {
    let load = |table: &str, chain: &str, rule: &str| {
        let builtins: String = builtin(table)
            .iter()
            .map(|b| format!(":{b} ACCEPT [0:0]\n"))
            .collect();
        Ruleset::parse(
            &format!("*{table}\n{builtins}-A {chain} {rule}\nCOMMIT\n"),
            "s.rules",
        )
    };
    for (table, chain, rule, ok) in [
        // xt_CLASSIFY.c classify_tg_reg: no .table, LOCAL_OUT | FORWARD
        // | POST_ROUTING (podpath held it to mangle before)
        ("filter", "OUTPUT", "-j CLASSIFY --set-class 1:10", true),
        ("filter", "FORWARD", "-j CLASSIFY --set-class 1:10", true),
        (
            "mangle",
            "POSTROUTING",
            "-j CLASSIFY --set-class 1:10",
            true,
        ),
        (
            "mangle",
            "PREROUTING",
            "-j CLASSIFY --set-class 1:10",
            false,
        ),
        ("filter", "INPUT", "-j CLASSIFY --set-class 1:10", false),
        // xt_mac.c mac_mt_reg: PRE_ROUTING | LOCAL_IN | FORWARD
        (
            "filter",
            "INPUT",
            "-m mac --mac-source 42:01:02:03:04:05",
            true,
        ),
        (
            "filter",
            "OUTPUT",
            "-m mac --mac-source 42:01:02:03:04:05",
            false,
        ),
        (
            "nat",
            "POSTROUTING",
            "-m mac --mac-source 42:01:02:03:04:05",
            false,
        ),
        // xt_realm.c realm_mt_reg: POST_ROUTING | FORWARD | LOCAL_OUT |
        // LOCAL_IN
        ("filter", "FORWARD", "-m realm --realm 0x2a", true),
        ("mangle", "PREROUTING", "-m realm --realm 0x2a", false),
        // xt_TRACE.c trace_tg_reg: .table = "raw", but iptables-nft
        // writes -j TRACE as `meta nftrace set 1` (iptables/nft.c
        // add_target), accepted in any table: not refused
        ("raw", "PREROUTING", "-j TRACE", true),
        ("filter", "INPUT", "-j TRACE", true),
        // xt_cgroup.c cgroup_mt_reg: LOCAL_OUT | POST_ROUTING | LOCAL_IN
        ("filter", "INPUT", "-m cgroup --cgroup 1", true),
        ("filter", "FORWARD", "-m cgroup --cgroup 1", false),
    ] {
        let got = load(table, chain, rule);
        assert_eq!(got.is_ok(), ok, "{table} {chain} {rule}: {got:?}");
        if let Err(e) = got {
            assert_eq!(
                (e.file.as_str(), e.line),
                ("s.rules", 2 + builtin(table).len())
            );
            assert!(
                e.message.contains("only usable from") || e.message.contains("only valid in"),
                "{e}"
            );
        }
    }
}
