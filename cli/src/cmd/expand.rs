//! `podpath expand`: what a scenario's `cluster` expands to.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

#[derive(Args)]
pub struct ExpandArgs {
    pub scenario: Option<String>,
}

pub fn run(a: ExpandArgs, out: &mut impl Write) -> Result<ExitCode> {
    let (text, file) = super::scenario_text(a.scenario.as_deref())?;
    let doc = podpath_sim::scenario::parse(&text, &file)?;
    match podpath_sim::scenario::expansion_text(&doc, &file)? {
        Some(y) => out.write_all(y.as_bytes())?,
        None => bail!("{file}: this scenario has no 'cluster' (Kubernetes objects) to expand"),
    }
    Ok(ExitCode::SUCCESS)
}
