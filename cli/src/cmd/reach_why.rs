//! `podpath reach --why`: for each denied probe, the changes that would
//! admit it, each proven by re-running that probe on the scenario with
//! the change applied, with the other cells of the matrix it flips (the
//! same selection re-run). A probe a NetworkPolicy denied gets the
//! policies that admit it ([`super::why::policy_fixes`]; a Service's
//! cell points to its pods' cells); any other denial (a rule, a route, a
//! Service without endpoints, a missing neighbour, a sysctl) gets the
//! changes `podpath why` tries for the probe's run
//! ([`super::why::candidates`]).

use anyhow::Result;
use podpath_sim::k8s::reach::{
    self,
    model::{EngineKind, Family, ProbeResult, Report, Verdict},
    select,
};
use serde_json::{json, Value};

/// The scenario's text and the name errors give it.
pub type Source = (String, String);

/// The matrix of `opts` on the scenario `text`.
fn matrix(text: &Source, opts: &reach::Options, seed: Option<u64>) -> Result<Report> {
    let doc = podpath_sim::scenario::parse(&text.0, &text.1)?;
    let Some(c) = &doc.cluster else {
        anyhow::bail!("{}: no cluster", text.1);
    };
    let (cluster, net) = podpath_sim::scenario::cluster_of(c, &text.1)?;
    let (world, _) = podpath_sim::scenario::load_reporting(&text.0, &text.1, seed)?;
    let setup = reach::Setup::new(&cluster, &net, Some(world));
    Ok(reach::run(&setup, opts, EngineKind::Sim)?)
}

fn key(p: &ProbeResult) -> (String, String, u16, &'static str, Family) {
    (
        p.from.clone(),
        p.to.clone(),
        p.port,
        p.protocol.name(),
        p.family,
    )
}

/// The fixes of every denied pod-to-pod probe of `r` (the run of `opts`
/// on `text`), as JSON: `[{"from", "to", "port", "protocol", "fixes":
/// [{"change", "command", "patch", "proven", "other_cells_changed"}],
/// "note"}]`.
pub fn fixes(
    text: &Source,
    r: &Report,
    opts: &reach::Options,
    seed: Option<u64>,
) -> Result<Vec<Value>> {
    let doc = podpath_sim::scenario::parse(&text.0, &text.1)?;
    let Some(c) = &doc.cluster else {
        return Ok(Vec::new());
    };
    let (cluster, net) = podpath_sim::scenario::cluster_of(c, &text.1)?;
    let (world, _) = podpath_sim::scenario::load_reporting(&text.0, &text.1, seed)?;
    let kinds: Vec<(String, String)> = world
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.kind.name().to_string()))
        .collect();
    let kind_of = |h: &str| kinds.iter().find(|k| k.0 == h).map(|k| k.1.clone());
    let setup = reach::Setup::new(&cluster, &net, Some(world.clone()));
    let pod = |sel: &str| {
        let (ns, name) = sel.split_once('/')?;
        cluster.pods.iter().find(|p| {
            p.metadata.name == name && p.metadata.namespace.as_deref().unwrap_or("default") == ns
        })
    };
    let denied: Vec<&ProbeResult> = r
        .probes
        .iter()
        .filter(|p| p.verdict == Verdict::Denied)
        .collect();
    let per_probe = |p: &ProbeResult| -> Result<Value> {
        let head = json!({"from": p.from, "to": p.to, "port": p.port, "protocol": p.protocol.name(), "family": p.family});
        let by_policy = p.decided_by.policy.is_some();
        let pods = (pod(&p.from), pod(&p.to));
        if by_policy && pods.1.is_none() {
            let mut v = head;
            v["fixes"] = json!([]);
            v["note"] = json!("a Service's cell: the fixes are those of the cells of its pods");
            return Ok(v);
        }
        let one = reach::Options {
            from: vec![select::parse_selector(&p.from)?],
            to: vec![select::parse_selector(&p.to)?],
            ports: vec![select::parse_port(&format!(
                "{}/{}",
                p.port,
                p.protocol.name()
            ))?],
            families: vec![p.family],
            shard: None,
        };
        // a policy's denial: the policies that admit the cell; any other
        // (a route, a rule, a Service without endpoints, a neighbour):
        // the changes `why` tries for the probe's run
        let cands = match pods {
            (Some(src), Some(dst)) if by_policy => super::why::policy_fixes(
                (&text.0, &cluster),
                (src, dst),
                (p.port, p.protocol.name()),
                "reach",
            ),
            _ => reach::trace_of(&setup, &one)?
                .and_then(|t| {
                    let f = t.flows.iter().find(|f| f.id == "reach")?.clone();
                    Some(super::why::candidates(text, &world, &f))
                })
                .unwrap_or_default(),
        };
        let mut found = Vec::new();
        for c in cands {
            let Ok(t) = crate::patch::apply(&text.0, &text.1, &c.patch, "fix", &kind_of) else {
                continue;
            };
            let t = (t, text.1.clone());
            let after = matrix(&t, &one, seed)?;
            if !after.probes.iter().all(|q| q.verdict == Verdict::Allowed) {
                continue;
            }
            let all = matrix(&t, opts, seed)?;
            let before: std::collections::BTreeMap<_, _> =
                r.probes.iter().map(|q| (key(q), q.verdict)).collect();
            let others: Vec<Value> = all
                .probes
                .iter()
                .filter(|q| key(q) != key(p) && before.get(&key(q)) != Some(&q.verdict))
                .map(|q| json!({"from": q.from, "to": q.to, "port": q.port, "protocol": q.protocol.name(), "family": q.family, "b": q.verdict}))
                .collect();
            found.push(json!({"change": c.change, "command": c.command, "patch": c.patch, "proven": true, "other_cells_changed": others}));
        }
        // the smallest: a fix that makes every change of another and more
        // is left out
        let docs = |v: &Value| -> Vec<String> {
            v["patch"]
                .as_str()
                .unwrap_or("")
                .split("---\n")
                .map(str::to_string)
                .collect()
        };
        let all: Vec<Vec<String>> = found.iter().map(docs).collect();
        let kept: Vec<Value> = found
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                !all.iter().enumerate().any(|(j, o)| {
                    j != *i && o.len() < all[*i].len() && o.iter().all(|d| all[*i].contains(d))
                })
            })
            .map(|(_, v)| v.clone())
            .collect();
        let mut v = head;
        v["fixes"] = Value::Array(kept);
        Ok(v)
    };
    // each denied probe's fixes are independent runs
    use rayon::prelude::*;
    denied.into_par_iter().map(per_probe).collect()
}

/// The fixes as text, after the table.
pub fn text(fixes: &[Value]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\nwhy (denied probes):\n");
    for p in fixes {
        let _ = writeln!(
            out,
            "{} -> {} {}/{}:",
            p["from"].as_str().unwrap_or(""),
            p["to"].as_str().unwrap_or(""),
            p["port"],
            p["protocol"].as_str().unwrap_or("")
        );
        if let Some(n) = p["note"].as_str() {
            let _ = writeln!(out, "  ({n})");
        }
        let fs = p["fixes"].as_array().cloned().unwrap_or_default();
        if fs.is_empty() && p["note"].is_null() {
            let _ = writeln!(out, "  no fix proven");
        }
        for (i, f) in fs.iter().enumerate() {
            let _ = writeln!(
                out,
                "  fix {}: {}",
                i + 1,
                f["change"].as_str().unwrap_or("")
            );
            let others = f["other_cells_changed"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if others.is_empty() {
                let _ = writeln!(out, "    proven; no other cell flips");
            } else {
                let cells: Vec<String> = others
                    .iter()
                    .map(|c| {
                        format!(
                            "{} -> {} {}/{} ({})",
                            c["from"].as_str().unwrap_or(""),
                            c["to"].as_str().unwrap_or(""),
                            c["port"],
                            c["protocol"].as_str().unwrap_or(""),
                            c["b"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                let _ = writeln!(out, "    proven; it also flips {}", cells.join(", "));
            }
        }
    }
    out
}
