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
