//! `cargo fuzz run nftables`: any text gives an nftables ruleset or an error
//! with a line, never a panic; a ruleset prints and parses again.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(n) = podpath_sim::net::netfilter::nftables::Nft::parse(s) {
            let again = podpath_sim::net::netfilter::nftables::Nft::parse(&n.to_text());
            assert!(again.is_ok(), "{:?}\n{}", again.err(), n.to_text());
        }
        let _ = podpath_sim::net::netfilter::nftables::Nft::parse_listing(s);
    }
});
