//! Inputs that broke a parser when fuzzed (sim/tests/data/fuzz-findings/),
//! each with what the real tool does with it: refused with a line, or, if
//! accepted, printed in a form that parses back to the same thing.

use podpath_sim::net::netfilter::nftables::Nft;

/// `nft -f` refuses this (it starts `destroy test-tset actable ip6 test {`);
/// podpath accepted it and printed `table actable ip6 {`, which it then
/// refused itself.
#[test]
fn nftables_roundtrip_1_is_refused_as_nft_refuses_it() {
    let text = include_str!("data/fuzz-findings/nftables-roundtrip-1.txt");
    match Nft::parse(text) {
        Err(e) => {
            assert_eq!(e.line, 1, "{e}");
            assert!(e.message.contains("destroy"), "{e}");
        }
        Ok(n) => {
            let printed = n.to_text();
            let again = Nft::parse(&printed).unwrap_or_else(|e| {
                panic!("accepted, but its own print does not parse: {e}\n{printed}")
            });
            assert_eq!(again.to_text(), printed);
        }
    }
}
