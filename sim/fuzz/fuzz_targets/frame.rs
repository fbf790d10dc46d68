//! `cargo fuzz run frame`: any bytes parse to a frame or an error; a parsed
//! frame re-emits with valid checksums.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = podpath_sim::wire::Frame::parse(data) {
        let bytes = f.emit();
        podpath_sim::wire::verify_checksums(&bytes).unwrap();
    }
});
