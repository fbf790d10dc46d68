//! `podpath paths`: every branch each flow can take through random
//! choices, with its probability.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

#[derive(Args)]
pub struct PathsArgs {
    pub scenario: Option<String>,
    /// Only this traffic entry.
    #[arg(long)]
    pub flow: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// What a match podpath keeps without a model is taken to do
    /// (default: nomatch); the run lists each host's unmodelled
    /// constructs once on stderr.
    #[arg(long, value_enum, value_name = "match|nomatch")]
    pub assume_unmodelled: Option<super::AssumeArg>,
    /// Give up beyond this many paths per flow.
    #[arg(long, default_value_t = 4096)]
    pub max: usize,
    /// text (default) or json: `{"flows": [{"id", "from", "paths":
    /// [{"probability", "decisions": [{"at", "probability", "matched"}],
    /// "rewrites", "outcome"}], "sum"}]}`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: PathsFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PathsFormat {
    Text,
    Json,
}

pub fn run(a: PathsArgs, stdout: &mut impl Write) -> Result<ExitCode> {
    let PathsArgs {
        scenario,
        flow,
        seed,
        max,
        format,
        assume_unmodelled,
    } = a;
    let mut json_flows = Vec::new();
    let mut w = super::load(scenario.as_deref(), seed)?;
    super::prepare(&mut w, assume_unmodelled);
    let ids: Vec<(String, String)> = w
        .flows
        .iter()
        .filter(|f| flow.as_ref().is_none_or(|x| *x == f.id))
        .map(|f| (f.id.clone(), w.hosts[f.from].name.clone()))
        .collect();
    if ids.is_empty() {
        bail!(
            "no traffic entry '{}' in this scenario",
            flow.unwrap_or_default()
        );
    }
    let make = || {
        let mut w = super::load(scenario.as_deref(), seed).expect("loaded once already");
        super::set_assume(&mut w, assume_unmodelled);
        w
    };
    for (id, from) in ids {
        // progress on a terminal only (indicatif hides it when piped)
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("flow {id}: exploring branches"));
        let paths =
            podpath_sim::engine::paths::enumerate_with(&make, &id, max, &mut |runs, pending| {
                bar.set_message(format!(
                    "flow {id}: {runs} run(s), {pending} branch(es) to go"
                ));
                bar.tick();
            })
            .map_err(|e| anyhow::anyhow!("flow {id}: {e}"))?;
        bar.finish_and_clear();
        if format == PathsFormat::Json {
            json_flows.push(serde_json::json!({
                "id": id,
                "from": from,
                "paths": paths.iter().map(|p| serde_json::json!({
                    "probability": p.probability,
                    "decisions": p.decisions.iter().map(|(at, prob, taken)| serde_json::json!({
                        "at": at, "probability": prob, "matched": taken,
                    })).collect::<Vec<_>>(),
                    "rewrites": p.rewrites,
                    "outcome": p.outcome,
                })).collect::<Vec<_>>(),
                "sum": paths.iter().map(|p| p.probability).sum::<f64>(),
            }));
            continue;
        }
        writeln!(stdout, "flow {id} (from {from}): {} path(s)", paths.len())?;
        let mut sum = 0.0;
        for (i, p) in paths.iter().enumerate() {
            sum += p.probability;
            writeln!(stdout, "  path {}  p = {:.6}", i + 1, p.probability)?;
            for (at, prob, taken) in &p.decisions {
                writeln!(
                    stdout,
                    "    {at} p={prob} -> {}",
                    if *taken { "matched" } else { "not matched" }
                )?;
            }
            for r in &p.rewrites {
                writeln!(stdout, "    {r}")?;
            }
            writeln!(stdout, "    => {}", p.outcome)?;
        }
        writeln!(stdout, "  sum of probabilities: {sum:.6}")?;
    }
    if format == PathsFormat::Json {
        let v = serde_json::json!({ "flows": json_flows });
        writeln!(stdout, "{}", serde_json::to_string_pretty(&v)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
