//! Path enumeration (`podpath paths`): every branch a flow can take through
//! random rule matches (`-m statistic --mode random`), with its
//! probability. Each branch is a full run of the scenario with the
//! decisions forced; the decisions a run meets that were not forced open new
//! branches (depth first), so every combination that can happen is run once.

use super::{Engine, World};
use crate::trace::{Action, Trace};

/// Why the paths of a flow cannot be enumerated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathsError {
    /// More paths than the limit given (the limit): the enumeration stopped.
    #[error("more than {0} paths; stopped")]
    TooMany(usize),
    /// The scenario has no traffic entry of this id.
    #[error("no traffic entry '{0}' in this scenario")]
    NoFlow(String),
}

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

/// A function making a fresh copy of the scenario, callable from the
/// threads that run branches in parallel.
pub type MakeWorld<'a> = &'a (dyn Fn() -> World + Sync);

/// The paths of one traffic entry (its first connection only). `world` makes
/// a fresh copy of the scenario for each run.
pub fn enumerate(world: MakeWorld, flow: &str, max_paths: usize) -> Result<Vec<Path>, PathsError> {
    enumerate_with(world, flow, max_paths, &mut |_, _| {})
}

/// One run of the scenario with some decisions forced: the path it took and
/// the scripts of the branches it opened.
struct Branch {
    path: Path,
    children: Vec<Vec<bool>>,
}

/// As [`enumerate`], reporting (runs done, branches still to run) after
/// each wave of runs.
///
/// Branches are independent runs, so each wave (every branch known so far)
/// runs in parallel (rayon); the tree of branches is then walked depth
/// first, a branch's children in the order of the decision they flip, so
/// the paths come out in the same order whatever the thread count.
pub fn enumerate_with(
    world: MakeWorld,
    flow: &str,
    max_paths: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Path>, PathsError> {
    use rayon::prelude::*;
    // the runs, in the order they were made; `tree[i]`: the runs of run i's children
    let mut runs: Vec<Branch> = Vec::new();
    let mut tree: Vec<Vec<usize>> = Vec::new();
    let mut wave: Vec<(Option<usize>, Vec<bool>)> = vec![(None, Vec::new())];
    let mut found = 0;
    while !wave.is_empty() {
        let done: Vec<Result<Branch, PathsError>> = wave
            .par_iter()
            .map(|(_, script)| run_branch(world, flow, script.clone()))
            .collect();
        let mut next = Vec::new();
        for ((parent, _), b) in wave.into_iter().zip(done) {
            let b = b?;
            let i = runs.len();
            if let Some(p) = parent {
                tree[p].push(i);
            }
            tree.push(Vec::new());
            if b.path.probability > 0.0 {
                found += 1;
            }
            next.extend(b.children.iter().map(|c| (Some(i), c.clone())));
            runs.push(b);
        }
        if found > max_paths {
            return Err(PathsError::TooMany(max_paths));
        }
        progress(runs.len(), next.len());
        wave = next;
    }
    // depth first from the first run
    let mut out = Vec::new();
    let mut stack = vec![0];
    while let Some(i) = stack.pop() {
        stack.extend(tree[i].iter().rev());
        if runs[i].path.probability > 0.0 {
            out.push(runs[i].path.clone());
        }
    }
    Ok(out)
}

/// Runs the flow once with the decisions of `script` forced.
fn run_branch(world: MakeWorld, flow: &str, script: Vec<bool>) -> Result<Branch, PathsError> {
    let mut w = world();
    w.flows.retain(|f| f.id == flow);
    if w.flows.is_empty() {
        return Err(PathsError::NoFlow(flow.to_string()));
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
    // Alternatives for the decisions this run made on its own, in the
    // order of the decision they flip.
    let children = (forced..chooser.taken.len())
        .map(|i| {
            let mut alt: Vec<bool> = chooser.taken[..i].iter().map(|d| d.2).collect();
            alt.push(!chooser.taken[i].2);
            alt
        })
        .collect();
    let path = Path {
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
    };
    Ok(Branch { path, children })
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
                // a binding's rewrite, not its reversal on a reply
                if matches!(
                    s.action,
                    Action::Dnat { reply: false, .. } | Action::Snat { reply: false, .. }
                ) {
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
