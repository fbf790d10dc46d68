//! nftables' own rule tests (tests/py any/, ip/, inet/ of nftables 1.1.6,
//! copied into tests/data/nft-py): each rule is loaded in a table of the
//! directory's family (any/ and ip/: `ip`; inet/: `inet`) and a chain of
//! the file's first chain type, with the file's sets declared. podpath
//! reads every rule nft accepts (`;ok`, not disabled with `- `: 1,178)
//! and refuses every rule nft refuses (`;fail`: 162), both asserted
//! exact so that a regression fails. The last 29 refusals added (and the
//! 2 ok rules read, `meta hour "23:59:60"`, a leap second, and `tcp
//! option @255,8,8 255`, a raw tcp option) follow nft's own checks:
//! parser_bison.y's ct keys, evaluate.c's ct address families, icmp type
//! dependencies (payload.c), the protocol context's conflicts (a
//! transport header outside the rule's protocol set, a network header of
//! the other family, a vlan header under another ether type, a udp
//! tunnel without udp, gre's inner grammar), a named set of the other
//! family, NAT maps of `address . port` data without a transport match,
//! overlapping intervals of an anonymous map, the negation of a binary
//! expression, osf's grammar, `ct expiration` ranges, `last used` times,
//! and the kernel's fib hooks (nft_fib.c nft_fib_validate).

use podpath_sim::net::netfilter::nftables::Nft;

/// `;ok` rules podpath does not read.
const OK_REFUSED: usize = 0;
/// `;fail` rules podpath accepts.
const FAIL_ACCEPTED: usize = 0;

/// (ok rules read, ok rules refused, fail rules refused, fail rules
/// accepted) over every file of the three directories.
fn run() -> (usize, usize, usize, usize) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/nft-py");
    let list = std::env::var_os("PODPATH_LIST_FAILS").is_some();
    let mut counts = (0, 0, 0, 0);
    for (dir, family) in [("any", "ip"), ("ip", "ip"), ("inet", "inet")] {
        let mut files: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "t"))
            .collect();
        files.sort();
        for p in files {
            let name = format!("{dir}/{}", p.file_name().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&p).unwrap();
            let mut chain_type: Option<String> = None;
            let mut sets = String::new();
            for line in text.lines() {
                let line = line.trim();
                // `- RULE` lines are disabled in nft-test.py
                if line.is_empty() || line.starts_with(['#', '*', '-']) {
                    continue;
                }
                if let Some(c) = line.strip_prefix(':') {
                    if chain_type.is_none() {
                        chain_type = c.split_once(';').map(|(_, t)| t.to_string());
                    }
                    continue;
                }
                if let Some(s) = line.strip_prefix('!') {
                    if let Some((decl, "ok")) = s.rsplit_once(';') {
                        if let Some((n, rest)) = decl.split_once(' ') {
                            // nft-test.py's set_add: `{ type T; flags F; timeout X; }`
                            let rest = rest
                                .replace(" flags ", "; flags ")
                                .replace(" timeout ", "; timeout ");
                            sets.push_str(&format!(" set {n} {{ {rest}; }}\n"));
                        }
                    }
                    continue;
                }
                if let Some(o) = line.strip_prefix('%') {
                    // `%NAME type KIND ARGS;ok`: a named object
                    if let Some((decl, "ok")) = o.rsplit_once(';') {
                        if let Some((n, rest)) = decl.split_once(" type ") {
                            let kinds = [
                                "ct helper",
                                "ct timeout",
                                "ct expectation",
                                "counter",
                                "quota",
                                "limit",
                                "synproxy",
                                "secmark",
                            ];
                            if let Some(k) = kinds.iter().find(|k| rest.starts_with(*k)) {
                                let args = rest[k.len()..].trim();
                                let body = if args.starts_with('{') {
                                    args.to_string()
                                } else {
                                    format!("{{ {args} }}")
                                };
                                sets.push_str(&format!(" {k} {n} {body}\n"));
                            }
                        }
                    }
                    continue;
                }
                if line.starts_with('?') || line.starts_with('@') {
                    continue;
                }
                let f: Vec<&str> = line.split(';').collect();
                if f.len() < 2 {
                    continue;
                }
                let (rule, ok) = (f[0], f[1].starts_with("ok"));
                let hook = chain_type
                    .as_deref()
                    .map(|t| format!("  {t};\n"))
                    .unwrap_or_default();
                let t =
                    format!("table {family} test {{\n{sets} chain c {{\n{hook}  {rule}\n }}\n}}\n");
                let got = Nft::parse(&t);
                match (ok, &got) {
                    (true, Ok(_)) => counts.0 += 1,
                    (true, Err(e)) => {
                        counts.1 += 1;
                        if list {
                            eprintln!("ok refused: {name}: {rule}: {}", e.message);
                        }
                    }
                    (false, Err(_)) => counts.2 += 1,
                    (false, Ok(_)) => {
                        counts.3 += 1;
                        if list {
                            eprintln!("fail accepted: {name}: {rule}");
                        }
                    }
                }
            }
        }
    }
    counts
}

#[test]
fn nft_py_rules_load_as_nft_loads_them() {
    let (ok_read, ok_refused, fail_refused, fail_accepted) = run();
    println!("ok read {ok_read}, ok refused {ok_refused}, fail refused {fail_refused}, fail accepted {fail_accepted}");
    assert!(ok_read > 1000, "{ok_read}");
    assert_eq!(
        ok_refused, OK_REFUSED,
        "{ok_refused} ok rules refused (was {OK_REFUSED})"
    );
    assert_eq!(
        fail_accepted, FAIL_ACCEPTED,
        "{fail_accepted} fail rules accepted (was {FAIL_ACCEPTED})"
    );
    assert_eq!((ok_read, fail_refused), (1178, 162));
}

/// The refusals added for the last `;fail` rules carry nft's words (the
/// ones nft 1.0.6 prints for the same rule checked by `nft -c` in a
/// network namespace, where it refuses it: the conflicting protocols,
/// intervals, negation and transport mapping ones).
#[test]
fn refusals_carry_nfts_words() {
    for (family, hook, rule, want) in [
        (
            "ip",
            "input",
            "ct ip saddr 1.2.3.4",
            "syntax error, unexpected ip",
        ),
        (
            "ip",
            "input",
            "ct original mark 42",
            "syntax error, unexpected mark",
        ),
        ("ip", "input", "ct expiration 1d-1h", "Range negative size"),
        (
            "inet",
            "input",
            "ct original saddr ::1",
            "cannot determine ip protocol version, use \"ip saddr\" or \"ip6 saddr\" instead",
        ),
        (
            "ip",
            "input",
            "meta nfproto ipv6 ct original ip saddr 1.2.3.4",
            "conflicting protocols specified: ip6 vs. ip",
        ),
        (
            "inet",
            "input",
            "ct original ip saddr ::1",
            "Could not resolve hostname",
        ),
        (
            "ip",
            "output",
            "ct original saddr . meta mark { 1.1.1.1 . 0x00000014 }",
            "specify either ip or ip6 for address matching",
        ),
        ("ip", "input", "last used foo", "wrong time format"),
        (
            "ip",
            "input",
            "icmp code != 1 icmp type 2 icmp mtu 5",
            "incompatible icmp match: rule has 2, need 3",
        ),
        (
            "ip",
            "input",
            "osf ttl nottl name \"Linux\"",
            "syntax error",
        ),
        (
            "ip",
            "input",
            "osf ttl skip version \"morethan:sixteenbytes\"",
            "String exceeds maximum length of 16",
        ),
        (
            "inet",
            "input",
            "vxlan vni 10",
            "conflicting protocols specified: ip vs. vxlan",
        ),
        (
            "inet",
            "input",
            "gre ether saddr 62:87:4d:d6:19:05",
            "syntax error, unexpected ether",
        ),
        (
            "inet",
            "input",
            "ether type ip vlan id 1",
            "conflicting protocols specified: ether vs. vlan",
        ),
        (
            "inet",
            "input",
            "meta nfproto ipv6 ip protocol icmp",
            "conflicting protocols specified: ip6 vs. ip",
        ),
        (
            "inet",
            "prerouting",
            "ip protocol { tcp, udp } tcp dport 20",
            "conflicting protocols specified: udp vs. tcp",
        ),
        (
            "inet",
            "input",
            "tcp flags & (fin | syn | rst | ack) ! syn",
            "cannot combine negation with binary expression",
        ),
        (
            "inet",
            "input",
            "ip saddr vmap { 10.0.1.0-10.0.1.255 : accept, 10.0.1.1-10.0.2.255 : drop }",
            "conflicting intervals specified",
        ),
        (
            "ip",
            "postrouting",
            "snat ip to ip saddr map { 10.141.11.4 : 192.168.2.3 . 80 }",
            "transport protocol mapping is only valid after transport protocol match",
        ),
        (
            "inet",
            "prerouting",
            "fib daddr . oif type local",
            "Could not process rule: Operation not supported",
        ),
        (
            "ip",
            "input",
            "tcp option @255,8,8 256",
            "Value 256 exceeds valid range 0-255",
        ),
    ] {
        let ty = if rule.starts_with("snat") {
            "nat"
        } else {
            "filter"
        };
        let t = format!(
            "table {family} t {{\n chain c {{\n  type {ty} hook {hook} priority 0;\n  {rule}\n }}\n}}\n"
        );
        let e = Nft::parse(&t).expect_err(rule);
        assert_eq!(e.line, 4, "{rule}: {}", e.message);
        assert!(e.message.contains(want), "{rule}: {}", e.message);
    }
    // what nft reads: a plain set's overlapping intervals merge, a map
    // key with its family, `th` after a protocol set
    for (family, rule) in [
        ("inet", "ip saddr { 10.0.0.0/8, 10.1.0.0/16 } accept"),
        (
            "ip",
            "meta mark set ct original ip daddr map { 1.1.1.1 : 0x00000011 }",
        ),
        ("inet", "ip protocol { tcp, udp } th dport 20 accept"),
        ("inet", "ether type vlan vlan id 2"),
        ("ip", "meta hour \"23:59:60\" drop"),
    ] {
        let t = format!(
            "table {family} t {{\n chain c {{\n  type filter hook input priority 0;\n  {rule}\n }}\n}}\n"
        );
        Nft::parse(&t).unwrap_or_else(|e| panic!("{rule}: {}", e.message));
    }
}
