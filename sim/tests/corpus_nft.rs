//! Every `nft list ruleset` output and `nft -f` script of the corpus
//! (sim/tests/data/corpus/nft, sources in SOURCES.md) loads, with the
//! number of constructs podpath keeps unmodelled per file.

use podpath_sim::net::netfilter::nftables::Nft;

mod common;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus/nft");

/// The include reader of the corpus: `./NAME.nft` of nftables'
/// files/nftables/ examples is the corpus file of that example when the
/// corpus has it; the other files of that directory are not in the corpus
/// and read as empty; wildcard includes (`/etc/nftables.d/*.nft`) match
/// nothing.
fn reader(pattern: &str) -> Result<Vec<(String, String)>, String> {
    if pattern.contains('*') {
        return Ok(Vec::new());
    }
    let Some(name) = pattern
        .strip_prefix("./")
        .and_then(|p| p.strip_suffix(".nft"))
    else {
        return Ok(Vec::new());
    };
    let path = format!("{ROOT}/nftables-example-{name}-script.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    Ok(vec![(pattern.to_string(), text)])
}

fn load(name: &str) -> Nft {
    let text = std::fs::read_to_string(format!("{ROOT}/{name}")).expect("corpus file");
    Nft::parse_with(&text, &reader).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (file, unmodelled constructs podpath keeps).
const EXPECTED: &[(&str, usize)] = &[
    ("calico-fv-cali-nftables-dump.txt", 0),
    ("calico-fv-foreign-nft-script.txt", 0),
    ("cni-plugins-ipmasq-nftables-script.txt", 0),
    ("google-nftables-integration-flowtable.txt", 0),
    ("iptables-tests-nft-native-equivalent.txt", 0),
    ("istio-ambient-default-script.txt", 0),
    ("istio-sidecar-ipv6-dns-owner-script.txt", 1),
    ("istio-sidecar-tproxy-script.txt", 1),
    ("knftables-kube-proxy-nftables-mode-script.txt", 0),
    ("moby-bridge-internal-ip.txt", 0),
    ("moby-bridge-nat-ip.txt", 0),
    ("moby-bridge-nat-unprotected-ip6.txt", 3),
    ("moby-nftables-netdev-chain.txt", 1),
    ("moby-nftables-typeof-numgen-map.txt", 0),
    ("moby-nftables-vmap-dynamic-timeout.txt", 0),
    ("multi-networkpolicy-nftables-comprehensive.txt", 0),
    ("multi-networkpolicy-nftables-lifecycle-stacked.txt", 0),
    ("nftables-example-all-in-one-include-script.txt", 6),
    ("nftables-example-arp-filter-script.txt", 2),
    ("nftables-example-bridge-filter-script.txt", 3),
    ("nftables-example-ct-helpers-script.txt", 0),
    ("nftables-example-load-balancing-script.txt", 7),
    ("nftables-example-netdev-ingress-script.txt", 1),
    ("nftables-example-sets-and-maps-script.txt", 0),
    ("nftables-rs-nftables-init-script.txt", 0),
    ("nftables-rs-setmap-script.txt", 0),
    ("nftables-rs-synproxy-script.txt", 1),
    ("nftables-rs-tproxy-script.txt", 4),
    ("nftables-shell-chain-ingress.txt", 1),
    ("nftables-shell-concatenated-ranges.txt", 0),
    ("nftables-shell-ct-expectation-obj.txt", 0),
    ("nftables-shell-ct-timeout-obj.txt", 0),
    ("nftables-shell-flowtable.txt", 0),
    ("nftables-shell-listing-objects.txt", 0),
    ("nftables-shell-meter-list.txt", 0),
    ("nftables-shell-named-ct-objects.txt", 0),
    ("nftables-shell-named-limits.txt", 0),
    ("nftables-shell-nat-addr-port.txt", 12),
    ("nftables-shell-netmap.txt", 1),
    ("nftables-shell-pknock.txt", 0),
    ("nftables-shell-ruleset-arp.txt", 0),
    ("nftables-shell-ruleset-bridge.txt", 0),
    ("nftables-shell-sample-ruleset.txt", 0),
    ("nftables-shell-set-connlimit.txt", 0),
    ("nftables-shell-stacked-l2-headers.txt", 7),
    ("nftables-shell-synproxy.txt", 0),
    ("nftables-shell-typeof-maps.txt", 1),
    ("nftables-shell-typeof-sets.txt", 2),
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
    let mut names: Vec<String> = std::fs::read_dir(ROOT)
        .expect("corpus dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 61, "{}", names.len());
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for n in &names {
        let text = std::fs::read_to_string(format!("{ROOT}/{n}")).expect("corpus file");
        match Nft::parse_with(&text, &reader) {
            Ok(nft) => {
                let printed = nft.to_text();
                if let Err(e) = Nft::parse(&printed) {
                    failed.push(format!("{n}: its own print does not parse: {e}\n{printed}"));
                }
                report.push((n.clone(), nft.unmodelled.len()));
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
    let _ = load;
}

/// Mutations of every corpus file (byte flips, cuts, dropped and
/// duplicated lines) give a ruleset or an error naming a line, never a
/// panic; a ruleset that parses prints text that parses again.
#[test]
fn mutated_corpus_files_never_panic() {
    let mut names: Vec<String> = std::fs::read_dir(ROOT)
        .expect("corpus dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for (k, n) in names.iter().enumerate() {
        let base = std::fs::read_to_string(format!("{ROOT}/{n}")).expect("corpus file");
        for (text, lines) in common::mutations(&base, k as u64, 60, b" :.@{},;\"-x0/9$*") {
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
