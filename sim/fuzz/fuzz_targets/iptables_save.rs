//! `cargo fuzz run iptables_save`: any text gives a ruleset or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(rs) = podpath_sim::net::netfilter::Ruleset::parse(s, "fuzz") {
            // What parses must print and parse again.
            let again = podpath_sim::net::netfilter::Ruleset::parse(&rs.to_save_text(), "again");
            assert!(again.is_ok(), "{:?}", again.err());
        }
    }
});
