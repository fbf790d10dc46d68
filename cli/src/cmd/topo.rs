//! `podpath topo`: the scenario's topology as SVG.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use podpath_sim::engine::Engine;

#[derive(Args)]
pub struct TopoArgs {
    pub scenario: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub svg: PathBuf,
}

pub fn run(a: TopoArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut world = super::load(a.scenario.as_deref(), None)?;
    world.flows.clear();
    let trace = Engine::new(world).run();
    let s = podpath_render::topo::svg(&trace)?;
    std::fs::write(&a.svg, s).with_context(|| format!("cannot write {}", a.svg.display()))?;
    writeln!(out, "wrote {}", a.svg.display())?;
    Ok(ExitCode::SUCCESS)
}
