//! Every embedded scenario's trace satisfies the trace's invariants
//! (`Trace::violations`, batfish's validateHops), and the check sees a
//! broken trace.

use podpath_sim::engine::Engine;
use podpath_sim::scenario;
use podpath_sim::trace::{Action, Point, Step};

fn traces() -> Vec<(String, podpath_sim::trace::Trace)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).expect("read");
            let name = f.display().to_string();
            let w = scenario::load(&text, &name, None).unwrap_or_else(|e| panic!("{e}"));
            (name, Engine::new(w).run())
        })
        .collect()
}

#[test]
fn every_embedded_trace_is_sound() {
    let all = traces();
    assert!(all.len() > 15);
    for (name, t) in &all {
        let v = t.violations();
        assert!(v.is_empty(), "{name}: {v:#?}");
    }
}

#[test]
fn the_check_sees_broken_traces() {
    let (_, t) = traces().into_iter().next().expect("a scenario");
    // a packet routed after it was dropped
    let mut bad = t.clone();
    let h = &mut bad.flows[0].hops[0];
    h.steps.push(Step {
        point: Point::IpRcv,
        what: "DROP: test".into(),
        action: Action::Drop {
            reason: "test".into(),
        },
    });
    h.steps.push(Step {
        point: Point::DevQueueXmit,
        what: "sent".into(),
        action: Action::Transmit { dev: "eth0".into() },
    });
    let v = bad.violations();
    assert!(
        v.iter()
            .any(|x| x.contains("'sent' at dev_queue_xmit after the packet was dropped")),
        "{v:?}"
    );
    // a rule step outside netfilter
    let mut bad = t.clone();
    bad.flows[0].hops[0].steps.push(Step {
        point: Point::Tcp,
        what: "x".into(),
        action: Action::Rule {
            table: "nat".into(),
            chain: "X".into(),
            rule: 1,
            line: 1,
        },
    });
    assert!(bad.violations().iter().any(|x| x.contains("step at tcp")));
    // a hop on a host the run does not have, and a device it does not have
    let mut bad = t.clone();
    bad.flows[0].hops[0].host = "nowhere".into();
    assert!(bad.violations().iter().any(|x| x.contains("no such host")));
    let mut bad = t;
    bad.flows[0].hops[0].in_dev = Some("eth99".into());
    assert!(bad
        .violations()
        .iter()
        .any(|x| x.contains("no device eth99")));
}
