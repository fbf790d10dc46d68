//! `podpath diff A B` / `podpath diff A --patch FILE`: what changed for
//! traffic between two worlds. Both run; each flow is matched with its
//! counterpart by id and its fate compared semantically
//! ([`crate::delta`]: random choices renamed), with the first step where the
//! runs part; with `--reach`, every cell of the reachability matrix that
//! flipped. Exit 1 when anything changed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use podpath_sim::engine::Engine;
use podpath_sim::k8s::reach::{self, model::EngineKind, select};
use podpath_sim::trace::Trace;
use podpath_sim::world::World;
use serde_json::{json, Value};

use crate::delta::{self, FlowDelta};

#[derive(Args)]
pub struct DiffArgs {
    /// A: a scenario (a file or an embedded name) or a snapshot bundle
    /// directory.
    pub a: String,
    /// B: another scenario or bundle (or give --patch to change A).
    pub b: Option<String>,
    /// B is A with this patch applied (repeatable, in order): a podpath/v1
    /// Scenario merge, Kubernetes objects merged into the cluster's
    /// manifests (`$patch: delete` removes one), or podpath/v1 Commands
    /// (`iptables`, `nft`, `sysctl`, `ip route`, `ip link set`, `ip neigh`
    /// per host; the only kind a bundle takes).
    #[arg(long, value_name = "FILE", conflicts_with = "b")]
    pub patch: Vec<PathBuf>,
    /// Also run the reachability matrix on both and list every cell that
    /// flipped (the same selectors as `reach`).
    #[arg(long)]
    pub reach: bool,
    #[arg(long = "from", value_name = "SEL", requires = "reach")]
    pub from: Vec<String>,
    #[arg(long = "to", value_name = "SEL", requires = "reach")]
    pub to: Vec<String>,
    #[arg(long = "port", value_name = "PORT/PROTO", requires = "reach")]
    pub port: Vec<String>,
    /// text (default) or json (`{"changed", "flows", "reach"}`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the patched scenario (B) to FILE.
    #[arg(long, value_name = "FILE", requires = "patch")]
    pub write_patched: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// One side: what it is called, its scenario text (none for a bundle) and
/// its world.
struct Side {
    label: String,
    text: Option<(String, String)>,
    /// The bundle's directory (a bundle side).
    dir: Option<PathBuf>,
    world: World,
}

fn side(arg: &str, seed: Option<u64>) -> Result<Side> {
    let p = Path::new(arg);
    if p.is_dir() {
        return Ok(Side {
            label: format!("bundle {arg}"),
            text: None,
            dir: Some(p.to_path_buf()),
            world: super::load_bundle(p, seed)?,
        });
    }
    let (text, file) = super::scenario_text(Some(arg))?;
    let world = load_text(&text, &file, seed)?;
    Ok(Side {
        label: file.clone(),
        text: Some((text, file)),
        dir: None,
        world,
    })
}

fn load_text(text: &str, file: &str, seed: Option<u64>) -> Result<World> {
    let (world, warnings) = podpath_sim::scenario::load_reporting(text, file, seed)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(world)
}

/// B: A's bundle with the patches (Commands) applied to a copy of its dumps.
fn patched_bundle(a: &Side, dir: &Path, patches: &[PathBuf], seed: Option<u64>) -> Result<Side> {
    let mut ptext = String::new();
    let mut names = Vec::new();
    for p in patches {
        let t =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        ptext.push_str(&t);
        if !t.ends_with('\n') {
            ptext.push('\n');
        }
        ptext.push_str("---\n");
        names.push(p.display().to_string());
    }
    let copy = crate::patch::bundle::apply(dir, &ptext, &names.join(" + "))?;
    Ok(Side {
        label: format!("{} + {}", a.label, names.join(" + ")),
        text: None,
        dir: None,
        world: super::load_bundle(&copy.dir, seed)?,
    })
}

/// B: A's scenario with the patches applied.
fn patched(a: &Side, patches: &[PathBuf], seed: Option<u64>) -> Result<Side> {
    let Some((mut text, file)) = a.text.clone() else {
        let dir = a.dir.clone().expect("a side is a scenario or a bundle");
        return patched_bundle(a, &dir, patches, seed);
    };
    let kind_of = |h: &str| {
        a.world
            .hosts
            .iter()
            .find(|x| x.name == h)
            .map(|x| x.kind.name().to_string())
    };
    let mut names = Vec::new();
    for p in patches {
        let ptext =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        let pf = p.display().to_string();
        text = crate::patch::apply(&text, &file, &ptext, &pf, &kind_of)?;
        names.push(pf);
    }
    let label = format!("{file} + {}", names.join(" + "));
    let world = load_text(&text, &label, seed)?;
    Ok(Side {
        label,
        text: Some((text, file)),
        dir: None,
        world,
    })
}

/// A reach cell that flipped.
struct Flip {
    from: String,
    to: String,
    port: u16,
    protocol: String,
    family: reach::model::Family,
    a: String,
    b: String,
}

fn reach_of(s: &Side, opts: &reach::Options, seed: Option<u64>) -> Result<reach::model::Report> {
    let Some((text, file)) = &s.text else {
        bail!(
            "--reach needs the cluster's objects: {} is a snapshot bundle",
            s.label
        );
    };
    let doc = podpath_sim::scenario::parse(text, file)?;
    let Some(c) = &doc.cluster else {
        bail!("--reach: {} has no cluster (Kubernetes objects)", s.label);
    };
    let (cluster, net) = podpath_sim::scenario::cluster_of(c, file)?;
    let world = load_text(text, file, seed)?;
    let setup = reach::Setup::new(&cluster, &net, Some(world));
    Ok(reach::run(&setup, opts, EngineKind::Sim)?)
}

fn flips(a: &reach::model::Report, b: &reach::model::Report) -> Vec<Flip> {
    let key = |p: &reach::model::ProbeResult| {
        (
            p.from.clone(),
            p.to.clone(),
            p.port,
            format!("{:?}", p.protocol),
            p.family,
        )
    };
    let verdict = |v: Option<reach::model::Verdict>| match v {
        Some(reach::model::Verdict::Allowed) => "allowed",
        Some(reach::model::Verdict::Denied) => "denied",
        None => "absent",
    };
    let bm: std::collections::BTreeMap<_, _> =
        b.probes.iter().map(|p| (key(p), p.verdict)).collect();
    let am: std::collections::BTreeMap<_, _> =
        a.probes.iter().map(|p| (key(p), p.verdict)).collect();
    let mut keys: Vec<_> = am.keys().chain(bm.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (va, vb) = (am.get(&k).copied(), bm.get(&k).copied());
            (va != vb).then(|| Flip {
                from: k.0.clone(),
                to: k.1.clone(),
                port: k.2,
                protocol: k.3.to_uppercase(),
                family: k.4,
                a: verdict(va).into(),
                b: verdict(vb).into(),
            })
        })
        .collect()
}

pub fn run(a: DiffArgs, out: &mut impl Write) -> Result<ExitCode> {
    let sa = side(&a.a, a.seed)?;
    let sb = match (&a.b, a.patch.is_empty()) {
        (Some(b), _) => side(b, a.seed)?,
        (None, false) => patched(&sa, &a.patch, a.seed)?,
        (None, true) => bail!("give B (a scenario or bundle) or --patch FILE"),
    };
    if let (Some(f), Some((text, _))) = (&a.write_patched, &sb.text) {
        std::fs::write(f, text).with_context(|| format!("cannot write {}", f.display()))?;
        eprintln!("wrote {}", f.display());
    }
    let flips = if a.reach {
        let opts = reach::Options {
            from: a
                .from
                .iter()
                .map(|s| select::parse_selector(s))
                .collect::<Result<_, _>>()?,
            to: a
                .to
                .iter()
                .map(|s| select::parse_selector(s))
                .collect::<Result<_, _>>()?,
            ports: a
                .port
                .iter()
                .map(|s| select::parse_port(s))
                .collect::<Result<_, _>>()?,
            families: Vec::new(),
            shard: None,
        };
        Some(flips(
            &reach_of(&sa, &opts, a.seed)?,
            &reach_of(&sb, &opts, a.seed)?,
        ))
    } else {
        None
    };
    let (la, lb) = (sa.label.clone(), sb.label.clone());
    let (ta, tb) = rayon::join(
        || Engine::new(sa.world).run(),
        || Engine::new(sb.world).run(),
    );
    let flows = delta::compare(&ta, &tb);
    let changed = flows.iter().filter(|f| f.changed).count() + flips.as_ref().map_or(0, Vec::len);
    match a.format {
        Format::Json => {
            let v = to_json(&flows, flips.as_deref(), changed);
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        Format::Text => text(out, (&la, &ta), (&lb, &tb), &flows, flips.as_deref())?,
    }
    Ok(if changed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn divergence_json(d: &delta::Divergence) -> Value {
    json!({"hop": d.hop, "host": d.host, "point": d.point, "a": d.a, "b": d.b})
}

fn to_json(flows: &[FlowDelta], flips: Option<&[Flip]>, changed: usize) -> Value {
    json!({
        "changed": changed,
        "flows": flows.iter().map(|f| json!({
            "id": f.id,
            "changed": f.changed,
            "a": f.a.as_ref().map(delta::FateView::json),
            "b": f.b.as_ref().map(delta::FateView::json),
            "first_divergence": f.first_divergence.as_ref().map(divergence_json),
        })).collect::<Vec<_>>(),
        "reach": flips.unwrap_or(&[]).iter().map(|x| json!({
            "from": x.from, "to": x.to, "port": x.port, "protocol": x.protocol, "family": x.family, "a": x.a, "b": x.b,
        })).collect::<Vec<_>>(),
    })
}

fn text(
    out: &mut impl Write,
    (la, ta): (&str, &Trace),
    (lb, tb): (&str, &Trace),
    flows: &[FlowDelta],
    flips: Option<&[Flip]>,
) -> Result<()> {
    writeln!(out, "podpath diff")?;
    writeln!(
        out,
        "  a  {la} (scenario {}, seed {})",
        ta.scenario, ta.seed
    )?;
    writeln!(
        out,
        "  b  {lb} (scenario {}, seed {})",
        tb.scenario, tb.seed
    )?;
    writeln!(out)?;
    let show = |v: &Option<delta::FateView>| match v {
        Some(v) => {
            let mut s = v.line();
            if !v.path.is_empty() {
                s.push_str(&format!("\n               path {}", v.path.join(" → ")));
            }
            for n in &v.nat {
                s.push_str(&format!(
                    "\n               nat  {} {} {}: {} → {}",
                    n.host, n.point, n.kind, n.from, n.to
                ));
            }
            s
        }
        None => "(no such flow)".to_string(),
    };
    let mut same_fate_other_steps = Vec::new();
    for f in flows {
        if !f.changed {
            if f.first_divergence.is_some() {
                same_fate_other_steps.push(f);
            } else {
                writeln!(out, "same     {}", f.id)?;
            }
            continue;
        }
        writeln!(out, "CHANGED  {}  {}", f.id, f.description)?;
        writeln!(out, "  a      {}", show(&f.a))?;
        writeln!(out, "  b      {}", show(&f.b))?;
        if let Some(d) = &f.first_divergence {
            writeln!(out, "  parts  at hop {} on {}, {}:", d.hop, d.host, d.point)?;
            writeln!(out, "           a: {}", d.a)?;
            writeln!(out, "           b: {}", d.b)?;
        }
    }
    for f in &same_fate_other_steps {
        let d = f.first_divergence.as_ref().expect("kept for it");
        writeln!(
            out,
            "same     {} (same fate; its steps part at hop {} on {}, {})",
            f.id, d.hop, d.host, d.point
        )?;
        writeln!(out, "           a: {}", d.a)?;
        writeln!(out, "           b: {}", d.b)?;
    }
    let n = flows.iter().filter(|f| f.changed).count();
    writeln!(out)?;
    writeln!(out, "{n} of {} flow(s) changed their fate", flows.len())?;
    if let Some(fl) = flips {
        for x in fl {
            writeln!(
                out,
                "FLIPPED  {} → {} {}/{}{}: {} → {}",
                x.from,
                x.to,
                x.port,
                x.protocol,
                match x.family {
                    reach::model::Family::IPv4 => "",
                    reach::model::Family::IPv6 => " over IPv6",
                },
                x.a,
                x.b
            )?;
        }
        writeln!(out, "{} reach cell(s) flipped", fl.len())?;
    }
    Ok(())
}
