//! Every `nft list ruleset` output and `nft -f` script of the corpus
//! (sim/tests/data/corpus/nft, sources in SOURCES.md) loads, with the
//! number of constructs podpath keeps unmodelled per file.

use podpath_sim::net::netfilter::nftables::Nft;

mod common;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus/nft");

/// The files of the corpus folder, subfolders included: (name, text).
fn corpus_files() -> Vec<(String, String)> {
    common::files_under(std::path::Path::new(ROOT))
        .into_iter()
        .map(|(n, p)| (n, std::fs::read_to_string(p).expect("corpus file")))
        .collect()
}

/// The include reader of corpus file `name`: files beside it.
fn reader_for(name: &str) -> impl Fn(&str) -> Result<Vec<(String, String)>, String> {
    let p = std::path::Path::new(ROOT).join(name);
    common::include_reader_in(p.parent().expect("a folder").to_path_buf())
}

fn load(name: &str) -> Nft {
    let text = std::fs::read_to_string(format!("{ROOT}/{name}")).expect("corpus file");
    Nft::parse_with(&text, &reader_for(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (file, unmodelled constructs podpath keeps).
const EXPECTED: &[(&str, usize)] = &[
    ("calico-fv-cali-nftables-dump.txt", 0),
    ("calico-fv-foreign-nft-script.txt", 0),
    ("cni-plugins-ipmasq-nftables-script.txt", 0),
    ("google-nftables-integration-flowtable.txt", 0),
    ("iptables-tests-nft-native-equivalent.txt", 0),
    ("istio-ambient-default-script.txt", 0),
    ("istio-sidecar-ipv6-dns-owner-script.txt", 0),
    ("istio-sidecar-tproxy-script.txt", 0),
    ("knftables-kube-proxy-nftables-mode-script.txt", 0),
    ("moby-bridge-internal-ip.txt", 0),
    ("moby-bridge-nat-ip.txt", 0),
    ("moby-bridge-nat-unprotected-ip6.txt", 0),
    ("moby-nftables-netdev-chain.txt", 0),
    ("moby-nftables-typeof-numgen-map.txt", 0),
    ("moby-nftables-vmap-dynamic-timeout.txt", 0),
    ("multi-networkpolicy-nftables-comprehensive.txt", 0),
    ("multi-networkpolicy-nftables-lifecycle-stacked.txt", 0),
    ("nftables-files/all-in-one.nft", 0),
    ("nftables-files/inet-filter.nft", 0),
    ("nftables-files/inet-nat.nft", 0),
    ("nftables-files/ipv4-filter.nft", 0),
    ("nftables-files/ipv4-mangle.nft", 0),
    ("nftables-files/ipv4-nat.nft", 0),
    ("nftables-files/ipv4-raw.nft", 0),
    ("nftables-files/ipv6-filter.nft", 0),
    ("nftables-files/ipv6-mangle.nft", 0),
    ("nftables-files/ipv6-nat.nft", 0),
    ("nftables-files/ipv6-raw.nft", 0),
    ("nftables-files/arp-filter.nft", 0),
    ("nftables-files/bridge-filter.nft", 0),
    ("nftables-example-ct-helpers-script.txt", 0),
    ("nftables-example-load-balancing-script.txt", 0),
    ("nftables-files/netdev-ingress.nft", 0),
    ("nftables-example-sets-and-maps-script.txt", 0),
    ("nftables-rs-nftables-init-script.txt", 0),
    ("nftables-rs-setmap-script.txt", 0),
    ("nftables-rs-synproxy-script.txt", 0),
    ("nftables-rs-tproxy-script.txt", 0),
    ("nftables-shell-chain-ingress.txt", 0),
    ("nftables-shell-concatenated-ranges.txt", 0),
    ("nftables-shell-ct-expectation-obj.txt", 0),
    ("nftables-shell-ct-timeout-obj.txt", 0),
    ("nftables-shell-flowtable.txt", 0),
    ("nftables-shell-listing-objects.txt", 0),
    ("nftables-shell-meter-list.txt", 0),
    ("nftables-shell-named-ct-objects.txt", 0),
    ("nftables-shell-named-limits.txt", 0),
    ("nftables-shell-nat-addr-port.txt", 0),
    ("nftables-shell-netmap.txt", 0),
    ("nftables-shell-pknock.txt", 0),
    ("nftables-shell-ruleset-arp.txt", 0),
    ("nftables-shell-ruleset-bridge.txt", 0),
    ("nftables-shell-sample-ruleset.txt", 0),
    ("nftables-shell-set-connlimit.txt", 0),
    ("nftables-shell-stacked-l2-headers.txt", 0),
    ("nftables-shell-synproxy.txt", 0),
    ("nftables-shell-typeof-maps.txt", 0),
    ("nftables-shell-typeof-sets.txt", 0),
    ("nixos-nftables-firewall-common-ruleset.txt", 0),
    ("nixos-nftables-firewall-nat-ruleset.txt", 0),
    ("nixos-nftables-firewall-portRules-ruleset.txt", 0),
    ("nixos-nftables-firewall-zoneExpressions-ruleset.txt", 0),
    ("openstack-edpm-iptables-layout-script.txt", 0),
    ("openwrt-fw4-default-ruleset.txt", 0),
    ("openwrt-fw4-ipsets-declaration.txt", 0),
    ("openwrt-fw4-rules-mark.txt", 0),
    ("openwrt-fw4-rules-time.txt", 0),
    ("openwrt-fw4-zones-helpers.txt", 0),
    ("qubes-ipv4-script.txt", 0),
    ("qubes-ipv6-script.txt", 0),
    ("yunohost-nftables-conf-script.txt", 0),
];

#[test]
fn every_corpus_file_loads() {
    let files = corpus_files();
    assert!(files.len() >= 61, "{}", files.len());
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for (n, text) in &files {
        match Nft::parse_with(text, &reader_for(n)) {
            Ok(nft) => {
                let printed = nft.to_text();
                if let Err(e) = Nft::parse(&printed) {
                    failed.push(format!("{n}: its own print does not parse: {e}\n{printed}"));
                }
                report.push((n.clone(), nft.unmodelled.len()));
                // the one name only the dumped machine resolves
                // (`skgid != java`, nft's getgrnam at load)
                let unresolved = nft.unresolved();
                let want = usize::from(n == "istio-sidecar-ipv6-dns-owner-script.txt");
                if unresolved.len() != want {
                    failed.push(format!("{n}: unresolved {unresolved:?}"));
                }
                for u in &nft.unmodelled {
                    println!("{n}: {u}");
                }
            }
            Err(e) => failed.push(format!("{n}: {e}")),
        }
    }
    for (n, c) in &report {
        println!("(\"{n}\", {c}),");
    }
    assert!(failed.is_empty(), "{failed:#?}");
    for (n, c) in EXPECTED {
        let got = report.iter().find(|(r, _)| r == n).map(|(_, c)| *c);
        assert_eq!(got, Some(*c), "{n}");
    }
    for (n, _) in &report {
        assert!(
            EXPECTED.iter().any(|(e, _)| e == n),
            "{n} is not in EXPECTED"
        );
    }
    let _ = load;
}

/// Mutations of every corpus file (byte flips, cuts, dropped and
/// duplicated lines) give a ruleset or an error naming a line, never a
/// panic; a ruleset that parses prints text that parses again.
#[test]
fn mutated_corpus_files_never_panic() {
    for (k, (n, base)) in corpus_files().iter().enumerate() {
        let reader = reader_for(n);
        for (text, lines) in common::mutations(base, k as u64, 60, b" :.@{},;\"-x0/9$*") {
            let r = std::panic::catch_unwind(|| Nft::parse_with(&text, &reader))
                .unwrap_or_else(|_| panic!("{n}: parser panicked on\n{text}"));
            match r {
                Ok(nft) => {
                    let printed = nft.to_text();
                    if let Err(e) = Nft::parse(&printed) {
                        panic!("{n}: its own print does not parse: {e}\n{printed}");
                    }
                }
                Err(e) => assert!(e.line <= lines + 1, "{n}: {e}"),
            }
        }
    }
}
