//! `podpath step`: the terminal step-through (the TUI is in `crate::step`).

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use podpath_sim::engine::Engine;

#[derive(Args)]
pub struct StepArgs {
    pub scenario: Option<String>,
    /// Start at this flow (default: the first flow of the scenario's
    /// traffic, not a daemon's).
    #[arg(long)]
    pub flow: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// What a match podpath keeps without a model is taken to do
    /// (default: nomatch); the run lists each host's unmodelled
    /// constructs once on stderr.
    #[arg(long, value_enum, value_name = "match|nomatch")]
    pub assume_unmodelled: Option<super::AssumeArg>,
}

pub fn run(a: StepArgs) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        bail!("podpath step needs a terminal; use `podpath run` for text output");
    }
    let mut world = super::load(a.scenario.as_deref(), a.seed)?;
    super::prepare(&mut world, a.assume_unmodelled);
    let trace = Engine::new(world).run();
    let mut app = crate::step::App::new(&trace);
    if let Some(f) = &a.flow {
        app.flow = trace
            .flows
            .iter()
            .position(|x| super::flow_selected(f, &x.id))
            .with_context(|| format!("no flow '{f}' in this scenario"))?;
    }
    crate::step::run_app(app)?;
    Ok(ExitCode::SUCCESS)
}
