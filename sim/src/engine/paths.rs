//! Path enumeration (`podpath paths`): every branch a flow can take through
//! random rule matches (`-m statistic --mode random`), with its
//! probability. Each branch is a full run of the scenario with the
//! decisions forced; the decisions a run meets that were not forced open new
//! branches (depth first), so every combination that can happen is run once.

use super::{Engine, World};
use crate::trace::{Action, Trace};

/// One way the flow can go.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    /// Product of the probabilities of the decisions on the way.
    pub probability: f64,
    /// The random decisions: (where and what, probability, matched).
    pub decisions: Vec<(String, f64, bool)>,
    /// The address translations on the way (host: step text).
    pub rewrites: Vec<String>,
    /// How the flow ended.
    pub outcome: String,
}

/// The paths of one traffic entry (its first connection only). `world` makes
/// a fresh copy of the scenario for each run.
pub fn enumerate(
    world: &dyn Fn() -> World,
    flow: &str,
    max_paths: usize,
) -> Result<Vec<Path>, String> {
    enumerate_with(world, flow, max_paths, &mut |_, _| {})
}

/// As [`enumerate`], reporting (runs done, branches still to run) after
/// each run.
pub fn enumerate_with(
    world: &dyn Fn() -> World,
    flow: &str,
    max_paths: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Path>, String> {
    let mut out = Vec::new();
    let mut runs = 0;
    let mut stack: Vec<Vec<bool>> = vec![Vec::new()];
    while let Some(script) = stack.pop() {
        if out.len() >= max_paths {
            return Err(format!("more than {max_paths} paths; stopped"));
        }
        let mut w = world();
        w.flows.retain(|f| f.id == flow);
        if w.flows.is_empty() {
            return Err(format!("no traffic entry '{flow}' in this scenario"));
        }
        for f in &mut w.flows {
            f.count = 1;
        }
        let forced = script.len();
        let (trace, chooser) = Engine::new(w).run_scripted(script);
        let mut p = 1.0;
        for (_, prob, taken) in &chooser.taken {
            p *= if *taken { *prob } else { 1.0 - *prob };
        }
        // Alternatives for the decisions this run made on its own.
        for i in (forced..chooser.taken.len()).rev() {
            let mut alt: Vec<bool> = chooser.taken[..i].iter().map(|d| d.2).collect();
            alt.push(!chooser.taken[i].2);
            stack.push(alt);
        }
        runs += 1;
        progress(runs, stack.len());
        if p <= 0.0 {
            continue;
        }
        out.push(Path {
            probability: p,
            decisions: chooser
                .taken
                .iter()
                .map(|(r, prob, t)| {
                    (
                        if let Some(label) = r.chain.strip_prefix("app:") {
                            // a program's random choice (HAProxy's balance random)
                            format!("{label}:")
                        } else if let Some(label) = r.chain.strip_prefix("nft:") {
                            // nftables' numgen random, as a cascade of choices
                            format!("{label} #{}: numgen", r.rule)
                        } else {
                            format!("{}/{} #{}: statistic", r.table.name(), r.chain, r.rule)
                        },
                        *prob,
                        *t,
                    )
                })
                .collect(),
            rewrites: rewrites(&trace, flow),
            // the entry's own flow (daemons have flows of their own)
            outcome: trace
                .flows
                .iter()
                .find(|f| f.id == flow || f.id.starts_with(&format!("{flow}#")))
                .map(|f| f.outcome.clone())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

fn rewrites(t: &Trace, flow: &str) -> Vec<String> {
    let mut v = Vec::new();
    for f in t
        .flows
        .iter()
        .filter(|f| f.id == flow || f.id.starts_with(&format!("{flow}#")))
    {
        for h in &f.hops {
            for s in &h.steps {
                if matches!(s.action, Action::Dnat { .. } | Action::Snat { .. })
                    && !s.what.starts_with("reverse")
                {
                    let line = format!("{}: {}", h.host, s.what);
                    if !v.contains(&line) {
                        v.push(line);
                    }
                }
            }
        }
    }
    v
}
