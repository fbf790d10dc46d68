//! `podpath paths` runs a flow's branches in parallel waves (rayon) and
//! walks the tree of branches afterwards: the paths must come out exactly as
//! the plain depth-first exploration gives them, one run at a time.

use podpath_sim::engine::{paths, Engine};
use podpath_sim::scenario;

/// The plain depth-first exploration: pop a script, run it, push the
/// alternatives of the decisions it made on its own (the last first).
fn sequential(make: &dyn Fn() -> podpath_sim::world::World, flow: &str) -> Vec<(f64, Vec<bool>)> {
    let mut out = Vec::new();
    let mut stack: Vec<Vec<bool>> = vec![Vec::new()];
    while let Some(script) = stack.pop() {
        let mut w = make();
        w.flows.retain(|f| f.id == flow);
        for f in &mut w.flows {
            f.count = 1;
        }
        let forced = script.len();
        let (_, chooser) = Engine::new(w).run_scripted(script);
        let mut p = 1.0;
        for (_, prob, taken) in &chooser.taken {
            p *= if *taken { *prob } else { 1.0 - *prob };
        }
        for i in (forced..chooser.taken.len()).rev() {
            let mut alt: Vec<bool> = chooser.taken[..i].iter().map(|d| d.2).collect();
            alt.push(!chooser.taken[i].2);
            stack.push(alt);
        }
        if p > 0.0 {
            out.push((p, chooser.taken.iter().map(|d| d.2).collect()));
        }
    }
    out
}

#[test]
fn parallel_paths_come_in_depth_first_order() {
    let mut branched = 0;
    for name in [
        "browser-to-pod",
        "flannel-cluster",
        "minikube-service",
        "keepalived-nodeport",
    ] {
        let file = format!("{}/../scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&file).expect("scenario");
        let make = || scenario::load(&text, &file, None).expect("loads");
        let ids: Vec<String> = make().flows.iter().map(|f| f.id.clone()).collect();
        for id in ids {
            let got = paths::enumerate(&make, &id, 4096).expect("paths");
            let want = sequential(&make, &id);
            let got: Vec<(f64, Vec<bool>)> = got
                .iter()
                .map(|p| (p.probability, p.decisions.iter().map(|d| d.2).collect()))
                .collect();
            assert_eq!(got, want, "{name} {id}");
            if want.len() > 1 {
                branched += 1;
            }
        }
    }
    // the comparison saw flows with real trees of branches
    assert!(branched >= 4, "{branched}");
}
