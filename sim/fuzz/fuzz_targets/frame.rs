//! `cargo fuzz run frame`: any bytes parse to a frame (IPv4 or IPv6, with
//! extension headers, ICMPv6 and Neighbor Discovery) or an error; a parsed
//! frame re-emits with valid checksums; an SCTP payload's view (chunks,
//! INIT and DATA fields) and conntrack's SCTP tracker never panic, and a
//! parsed SCTP packet re-emits to bytes that parse back to it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = podpath_sim::wire::Frame::parse(data) {
        let bytes = f.emit();
        podpath_sim::wire::verify_checksums(&bytes).unwrap();
    }
    if let Some(p) = podpath_sim::wire::sctp::SctpRepr::parse(data) {
        for c in &p.chunks {
            let _ = (c.as_init().map(|i| i.cookie().map(<[u8]>::len)), c.as_data());
        }
        assert_eq!(
            podpath_sim::wire::sctp::SctpRepr::parse(&p.emit()).as_ref(),
            Some(&p)
        );
        if let Ok(mut ct) = podpath_sim::net::netfilter::ct_sctp::SctpCt::new(&p) {
            let _ = ct.packet(0, &p, false);
            let _ = ct.packet(1, &p, true);
        }
    }
});
