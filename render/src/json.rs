//! The trace as JSON: serde, keys in declaration order, two-space indent.

use podpath_sim::trace::Trace;

pub fn render(trace: &Trace) -> String {
    let mut s = serde_json::to_string_pretty(trace).expect("a trace always serializes");
    s.push('\n');
    s
}
