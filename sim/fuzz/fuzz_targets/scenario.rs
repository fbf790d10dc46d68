//! `cargo fuzz run scenario`: any text gives a world or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(world) = podpath_sim::scenario::load(s, "fuzz.yaml", None) {
            let mut w = world;
            w.horizon_ns = w.horizon_ns.min(5_000_000_000);
            let _ = podpath_sim::engine::Engine::new(w).run();
        }
    }
});
