//! ipset's own test suite (tests/*.t of netfilter ipset, via the fork
//! Olipro/ipset at 9f145b4): each `N ipset ARGS` line run as a restore line,
//! its exit status (0: accepted, 1: refused) compared.

use super::super::IpsetStore;

/// The restore files of the suite a `.t` reads.
const FILES: &[(&str, &str)] = &[
    (
        "setlist.t.restore",
        include_str!("../../../../../tests/data/ipset-t/setlist.t.restore"),
    ),
    (
        "setlist.t.before",
        include_str!("../../../../../tests/data/ipset-t/setlist.t.before"),
    ),
];

/// Runs the `ipset` lines of a `.t` file; returns the lines whose outcome
/// differs from ipset's.
fn run_t(text: &str) -> (usize, Vec<String>) {
    let mut st = IpsetStore::default();
    let mut ran = 0;
    let mut bad = Vec::new();
    let mut expired = false;
    for (n, line) in text.lines().enumerate() {
        let Some((code, rest)) = line.split_once(' ') else {
            continue;
        };
        if let Some(f) = rest
            .strip_prefix("ipset -R < ")
            .or_else(|| rest.strip_prefix("ipset restore < "))
        {
            if let Some((_, t)) = FILES.iter().find(|(n, _)| *n == f.trim()) {
                ran += 1;
                if st.restore(t, f, false).is_ok() != (code == "0") {
                    bad.push(format!("line {}: {line}", n + 1));
                }
                continue;
            }
        }
        if rest.contains("sleep")
            || rest.contains("ipset -R")
            || rest.contains("ipset restore")
            || rest.contains("| ipset")
            || rest.contains(".sh")
        {
            // entries time out in the kernel, never here; sets restored
            // from files the test wrote: what follows depends on them
            expired = true;
            continue;
        }
        let Some(args) = rest.strip_prefix("ipset ") else {
            continue;
        };
        if args.contains(['|', '>', '<', ';', '`', '&']) || args.contains(" -f ") {
            continue;
        }
        let w: Vec<&str> = args.split_whitespace().collect();
        let cmd = w
            .iter()
            .find(|a| !a.starts_with("-!") && **a != "-exist")
            .copied();
        let Some(cmd) = cmd else { continue };
        if matches!(
            cmd,
            "-L" | "list" | "-S" | "save" | "-R" | "restore" | "-V" | "-v" | "help" | "-H"
        ) {
            continue;
        }
        if expired {
            // state unknown: flush, destroy and create set it again
            if matches!(cmd, "-X" | "destroy" | "x" | "-F" | "flush") {
                expired = st.restore(args, "t", false).is_err();
            } else if matches!(cmd, "-N" | "create" | "n" | "new") {
                expired = false;
                if st.restore(args, "t", false).is_err() {
                    st = IpsetStore::default();
                    let _ = st.restore(args, "t", false);
                }
            }
            continue;
        }
        ran += 1;
        let got = st.restore(args, "t", false);
        let want_ok = code == "0";
        if got.is_ok() != want_ok {
            bad.push(format!("line {}: {line} -> {got:?}", n + 1));
        }
    }
    (ran, bad)
}

macro_rules! t_file {
    ($name:ident, $file:literal, $min:expr) => {
        #[test]
        fn $name() {
            let (ran, bad) = run_t(include_str!(concat!(
                "../../../../../tests/data/ipset-t/",
                $file
            )));
            assert!(
                bad.is_empty(),
                "{} of {ran} differ:\n{}",
                bad.len(),
                bad.join("\n")
            );
            assert!(ran >= $min, "only {ran} lines ran");
        }
    };
}

t_file!(t_hash_ip, "hash_ip.t", 20);
t_file!(t_hash_net, "hash_net.t", 20);
t_file!(t_hash_ip_port, "hash_ip_port.t", 20);
t_file!(t_hash_net_port, "hash_net_port.t", 20);
t_file!(t_hash_ip_port_ip, "hash_ip_port_ip.t", 20);
t_file!(t_hash_ip_port_net, "hash_ip_port_net.t", 20);
t_file!(t_hash_net_port_net, "hash_net_port_net.t", 10);
t_file!(t_hash_net_iface, "hash_net_iface.t", 20);
t_file!(t_hash_net_net, "hash_net_net.t", 20);
t_file!(t_hash_ip_mark, "hash_ip_mark.t", 10);
t_file!(t_hash_mac, "hash_mac.t", 10);
t_file!(t_bitmap_ip, "bitmap_ip.t", 20);
t_file!(t_hash_ip6, "hash_ip6.t", 10);
t_file!(t_hash_net6, "hash_net6.t", 10);
t_file!(t_hash_ip6_port, "hash_ip6_port.t", 10);
t_file!(t_portmap, "portmap.t", 10);
t_file!(t_macipmap, "macipmap.t", 10);
t_file!(t_setlist, "setlist.t", 10);
t_file!(t_iphash, "iphash.t", 10);
t_file!(t_nethash, "nethash.t", 10);
t_file!(t_ipporthash, "ipporthash.t", 10);
t_file!(t_ipportiphash, "ipportiphash.t", 10);
t_file!(t_ipportnethash, "ipportnethash.t", 10);
t_file!(t_ipmap, "ipmap.t", 10);
