//! `podpath expand`: the scenario with its `cluster` expanded into the
//! hosts, links and segments the objects make; it runs as it is.

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
    match podpath_sim::scenario::expanded_scenario(&text, &file)? {
        Some(y) => out.write_all(y.as_bytes())?,
        None => bail!("{file}: this scenario has no 'cluster' (Kubernetes objects) to expand"),
    }
    Ok(ExitCode::SUCCESS)
}
