//! One file per command; this module holds what several share: reading a
//! scenario (a file or an embedded name) or a bundle into a world.

pub mod check;
pub mod diff;
pub mod expand;
pub mod inspect;
pub mod kube_proxy_rules;
pub mod list;
pub mod live;
pub mod paths;
pub mod policy_rules;
pub mod reach;
pub mod reach_why;
pub mod run;
pub mod snapshot;
pub mod step;
pub mod topo;
pub mod why;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use podpath_sim::world::World;

use crate::scenarios;

/// The scenario's text and the name errors give it: a file, or an embedded
/// scenario (a file of that name wins), or the embedded default.
pub fn scenario_text(scenario: Option<&str>) -> Result<(String, String)> {
    Ok(match scenario {
        None => {
            let e = scenarios::find(scenarios::DEFAULT).expect("default is embedded");
            (e.text.to_string(), format!("<embedded {}>", e.name))
        }
        Some(s) => match scenarios::find(s) {
            Some(e) if !PathBuf::from(s).exists() => {
                (e.text.to_string(), format!("<embedded {}>", e.name))
            }
            _ => {
                let t = std::fs::read_to_string(s).with_context(|| {
                    format!("cannot read scenario '{s}' (not a file, and not an embedded scenario: try `podpath list`)")
                })?;
                (t, s.to_string())
            }
        },
    })
}

/// `--assume-unmodelled`: what a match podpath keeps without a model is
/// taken to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AssumeArg {
    /// The match holds.
    Match,
    /// The match does not hold (the default).
    Nomatch,
}

/// Sets what unmodelled matches are taken to do on every host of `world`
/// (`Host.assume_unmodelled`, read by every hook's `EvalEnv.assume`).
pub fn set_assume(world: &mut World, a: Option<AssumeArg>) {
    let assume = match a {
        Some(AssumeArg::Match) => podpath_sim::net::netfilter::Assume::Match,
        _ => podpath_sim::net::netfilter::Assume::NoMatch,
    };
    for h in &mut world.hosts {
        h.assume_unmodelled = assume;
    }
}

/// The warning lines of a world: each host's unmodelled constructs
/// (iptables, nftables, ipset), once each, with what is assumed.
pub fn unmodelled_warnings(world: &World) -> Vec<String> {
    let mut out = Vec::new();
    for h in &world.hosts {
        let lists = [
            ("iptables", &h.nf.unmodelled),
            ("nftables", &h.nft.unmodelled),
            ("ipset", &h.nf_state.ipsets.unmodelled),
        ];
        for (what, list) in lists {
            let mut seen = std::collections::BTreeSet::new();
            for u in list {
                if !seen.insert((u.line, u.construct.clone())) {
                    continue;
                }
                let effect = if u.effect == "passed over" {
                    u.effect.clone()
                } else {
                    h.assume_unmodelled.effect().to_string()
                };
                out.push(format!(
                    "warning: {}: {what} line {}: {} is not modelled: {effect}",
                    h.name, u.line, u.construct
                ));
            }
        }
    }
    out
}

/// [`set_assume`], then the warnings printed once on stderr.
pub fn prepare(world: &mut World, a: Option<AssumeArg>) {
    set_assume(world, a);
    for w in unmodelled_warnings(world) {
        eprintln!("{w}");
    }
}

/// Loads a scenario into a world; `seed` overrides the scenario's.
pub fn load(scenario: Option<&str>, seed: Option<u64>) -> Result<World> {
    let (text, file) = scenario_text(scenario)?;
    let (world, warnings) = podpath_sim::scenario::load_reporting(&text, &file, seed)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(world)
}

/// The scenario's cluster objects and network settings.
pub fn cluster_of(
    scenario: Option<&str>,
) -> Result<(
    podpath_sim::k8s::Cluster,
    podpath_sim::k8s::cluster::NetConfig,
)> {
    let (text, file) = scenario_text(scenario)?;
    let doc = podpath_sim::scenario::parse(&text, &file)?;
    let Some(c) = &doc.cluster else {
        bail!("{file}: this scenario has no 'cluster' (Kubernetes objects) to expand");
    };
    Ok(podpath_sim::scenario::cluster_of(c, &file)?)
}

/// The cluster's Node `name`, or an error listing the nodes it has.
pub fn node_of<'a>(
    objs: &'a podpath_sim::k8s::Cluster,
    name: &str,
) -> Result<&'a podpath_sim::k8s::objects::Node> {
    objs.node(name).with_context(|| {
        let names: Vec<&str> = objs
            .nodes
            .iter()
            .map(|n| n.metadata.name.as_str())
            .collect();
        format!(
            "no Node '{name}' in the cluster (nodes: {})",
            names.join(", ")
        )
    })
}

/// Loads a snapshot bundle; warnings go to stderr.
pub fn load_bundle(dir: &Path, seed: Option<u64>) -> Result<World> {
    let (world, warnings) = load_bundle_quiet(dir, seed)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(world)
}

/// A bundle's world and its load warnings (not printed).
pub fn load_bundle_quiet(dir: &Path, seed: Option<u64>) -> Result<(World, Vec<String>)> {
    let read = |p: &str| -> std::result::Result<String, podpath_sim::scenario::bundle::ReadError> {
        std::fs::read_to_string(dir.join(p)).map_err(|e| {
            podpath_sim::scenario::bundle::ReadError::Io {
                path: dir.join(p).display().to_string(),
                source: e,
            }
        })
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "bundle".into());
    let (world, warnings) = podpath_sim::scenario::bundle::load(&read, &name, seed.unwrap_or(0))
        .map_err(|mut e| {
            e.file = dir.join(&e.file).display().to_string();
            e
        })?;
    Ok((world, warnings))
}

/// Whether a flow id selects a flow: its whole id (`health#2`) or its
/// traffic entry's id (`health`, all its connections).
pub fn flow_selected(sel: &str, id: &str) -> bool {
    id == sel || id.split('#').next() == Some(sel)
}
