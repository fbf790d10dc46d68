//! `podpath reach`: the reachability matrix of a scenario's cluster (the
//! probes and engines are `podpath_sim::k8s::reach`'s).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use podpath_sim::k8s::reach::{self, model::EngineKind, output, select};

#[derive(Args)]
pub struct ReachArgs {
    /// A scenario with a `cluster` (a file or an embedded name).
    pub scenario: Option<String>,
    /// A snapshot bundle: refused (it holds machines, not the Kubernetes
    /// objects reach selects and evaluates).
    #[arg(long, value_name = "DIR", conflicts_with = "scenario")]
    pub bundle: Option<PathBuf>,
    /// Sources: NS/POD, NS/* or a label selector (kubectl's syntax:
    /// `app=web,tier in (a,b)`); repeatable; default every pod.
    #[arg(long = "from", value_name = "SEL")]
    pub from: Vec<String>,
    /// Destinations: NS/POD, NS/*, svc/NS/NAME, svc/NS/* or a label
    /// selector (pods); repeatable; default every pod and Service.
    #[arg(long = "to", value_name = "SEL")]
    pub to: Vec<String>,
    /// Only these ports: PORT/PROTO (80/TCP, 53/UDP); repeatable; default
    /// every containerPort a destination pod declares and every Service
    /// port.
    #[arg(long = "port", value_name = "PORT/PROTO")]
    pub port: Vec<String>,
    /// Only probes over this family: ipv4 or ipv6; default both (a
    /// dual-stack destination is probed over each, from the source's
    /// address of the same family).
    #[arg(long, value_name = "ipv4|ipv6")]
    pub family: Option<String>,
    /// table (the e2e suite's truth tables, one per port/protocol; a
    /// destination probed over IPv6 has its `NAME (IPv6)` column) or json
    /// (`{"engine", "warnings", "probes": [{"from", "to", "port",
    /// "protocol", "family", "verdict", "decided_by"}]}`).
    #[arg(long, value_enum, default_value = "table")]
    pub format: ReachFormat,
    /// sim (default): a simulated connection per probe through the whole
    /// stack; spec: the NetworkPolicy API semantics alone.
    #[arg(long, value_enum, default_value = "sim")]
    pub engine: EngineArg,
    /// Run both engines and list every probe where they disagree; exit 1
    /// when one does.
    #[arg(long, conflicts_with_all = ["engine", "merge"])]
    pub compare: bool,
    /// Only the I-th of N slices of the fixed probe order (JSON carries
    /// the slice, for --merge).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Join the JSON outputs of --shard 1/N .. N/N into the unsharded
    /// output (in --format).
    #[arg(long, num_args = 1.., value_name = "FILES", conflicts_with_all = ["scenario", "bundle", "shard"])]
    pub merge: Vec<PathBuf>,
    /// For each denied probe from a pod to a pod: the NetworkPolicies that
    /// would admit it, each proven by re-running the probe with it, and the
    /// other cells it flips (the same selection re-run).
    #[arg(long, conflicts_with_all = ["compare", "merge", "shard"])]
    pub why: bool,
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReachFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    Sim,
    Spec,
}

/// Exit status: 0 done; 1 `--compare` found disagreements; 2 an error.
pub fn run(a: ReachArgs, stdout: &mut impl Write) -> Result<ExitCode> {
    if !a.merge.is_empty() {
        let mut parts = Vec::new();
        for f in &a.merge {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            parts.push(
                serde_json::from_str(&text).with_context(|| {
                    format!("{}: not a reach --format json output", f.display())
                })?,
            );
        }
        let r = output::merge(parts)?;
        return print(&r, a.format, stdout);
    }
    if a.bundle.is_some() {
        bail!("reach needs the cluster's objects (pods, labels, Services, NetworkPolicies): a snapshot bundle holds machines only; give a scenario with a `cluster`");
    }
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
        families: a
            .family
            .iter()
            .map(|f| {
                reach::model::Family::parse(f)
                    .ok_or_else(|| reach::model::ReachError::Family(f.clone()))
            })
            .collect::<Result<_, _>>()?,
        shard: a.shard.as_deref().map(output::parse_shard).transpose()?,
    };
    let (cluster, net) = super::cluster_of(a.scenario.as_deref())?;
    // the spec engine alone needs no world (building one is most of the
    // time on a large cluster)
    let world = if a.compare || a.engine == EngineArg::Sim {
        Some(super::load(a.scenario.as_deref(), a.seed)?)
    } else {
        None
    };
    let setup = reach::Setup::new(&cluster, &net, world);
    if a.compare {
        let c = reach::compare(&setup, &opts)?;
        for w in &c.warnings {
            eprintln!("warning: {w}");
        }
        match a.format {
            ReachFormat::Json => stdout.write_all(output::comparison_json(&c).as_bytes())?,
            ReachFormat::Table => stdout.write_all(output::comparison_text(&c).as_bytes())?,
        }
        return Ok(if c.disagreements.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let engine = match a.engine {
        EngineArg::Sim => EngineKind::Sim,
        EngineArg::Spec => EngineKind::Spec,
    };
    let r = reach::run(&setup, &opts, engine)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    if a.why {
        let text = super::scenario_text(a.scenario.as_deref())?;
        let fixes = super::reach_why::fixes(&text, &r, &opts, a.seed)?;
        match a.format {
            ReachFormat::Json => {
                let mut v: serde_json::Value = serde_json::from_str(&output::json(&r))?;
                v["why"] = serde_json::Value::Array(fixes);
                writeln!(stdout, "{}", serde_json::to_string_pretty(&v)?)?;
            }
            ReachFormat::Table => {
                stdout.write_all(output::table(&r).as_bytes())?;
                stdout.write_all(super::reach_why::text(&fixes).as_bytes())?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    print(&r, a.format, stdout)
}

fn print(r: &reach::model::Report, f: ReachFormat, stdout: &mut impl Write) -> Result<ExitCode> {
    match f {
        ReachFormat::Json => stdout.write_all(output::json(r).as_bytes())?,
        ReachFormat::Table => stdout.write_all(output::table(r).as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
