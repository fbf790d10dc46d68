//! `podpath run`: run a scenario (or replay a bundle) and print what
//! happened: by default the summary (the answer first), with `--format
//! trace` every hop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use podpath_sim::engine::Engine;
use podpath_sim::trace::Trace;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Per flow: outcome, path of hosts, who answered, NAT rewrites, first
    /// drop, expectations; daemons one line each (the default).
    Summary,
    /// Every hop and step of every flow (the canonical dump the goldens
    /// keep; `text` is the same).
    #[value(alias = "text")]
    Trace,
    /// The trace as JSON.
    Json,
    /// The sequence diagram drawn with text characters.
    Seq,
}

#[derive(Args)]
pub struct RunArgs {
    /// A scenario file or embedded name (default: the embedded default).
    pub scenario: Option<String>,
    /// Replay a podpath-snapshot/1 bundle instead of a scenario.
    #[arg(long, value_name = "DIR", conflicts_with = "scenario")]
    pub bundle: Option<PathBuf>,
    /// Only this flow (its id, e.g. `health#2`, or the traffic id for all its connections).
    #[arg(long)]
    pub flow: Option<String>,
    /// What to print (default: summary, or nothing but "wrote FILE" when
    /// only files are asked for).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Every hop: the same as `--format trace`.
    #[arg(short, long, conflicts_with = "format")]
    pub verbose: bool,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// What a match podpath keeps without a model is taken to do
    /// (default: nomatch); the run lists each host's unmodelled
    /// constructs once on stderr.
    #[arg(long, value_enum, value_name = "match|nomatch")]
    pub assume_unmodelled: Option<super::AssumeArg>,
    /// Write every packet seen on every device as pcapng (Wireshark, tshark).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Write a Mermaid sequence diagram.
    #[arg(long, value_name = "FILE")]
    pub mermaid: Option<PathBuf>,
    /// Write a PlantUML sequence diagram.
    #[arg(long, value_name = "FILE")]
    pub plantuml: Option<PathBuf>,
    /// Write the sequence diagram as SVG (drawn in-process).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Write a self-contained HTML report (topology, sequence diagrams,
    /// hop tables, the pcapng to download).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

fn write_file(p: &Path, bytes: &[u8], out: &mut impl Write) -> Result<()> {
    std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
    writeln!(out, "wrote {}", p.display())?;
    Ok(())
}

/// Keeps the flows `sel` selects (and their captures); an error when none.
pub fn select_flow(trace: &mut Trace, sel: &str) -> Result<()> {
    trace.flows.retain(|x| super::flow_selected(sel, &x.id));
    if trace.flows.is_empty() {
        bail!("no flow '{sel}' in this scenario");
    }
    let keep: Vec<String> = trace.flows.iter().map(|x| x.id.clone()).collect();
    trace.captures.retain(|c| keep.iter().any(|k| *k == c.flow));
    Ok(())
}

/// Exit status of a run: 1 when an `expect:` of the scenario was not met
/// (each named on stderr).
pub fn expectations_status(trace: &Trace) -> ExitCode {
    let unmet = trace.unmet();
    for u in &unmet {
        eprintln!("expectation not met: {u}");
    }
    if unmet.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub fn run(a: RunArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut world = match &a.bundle {
        Some(dir) => super::load_bundle(dir, a.seed)?,
        None => super::load(a.scenario.as_deref(), a.seed)?,
    };
    super::prepare(&mut world, a.assume_unmodelled);
    let mut trace = Engine::new(world).run();
    if let Some(f) = &a.flow {
        select_flow(&mut trace, f)?;
    }
    // Files first, each announced; the printed output after.
    let mut wrote = Vec::new();
    if let Some(p) = &a.mermaid {
        write_file(
            p,
            podpath_render::seq::mermaid(&trace).as_bytes(),
            &mut wrote,
        )?;
    }
    if let Some(p) = &a.plantuml {
        write_file(
            p,
            podpath_render::seq::plantuml(&trace).as_bytes(),
            &mut wrote,
        )?;
    }
    if let Some(p) = &a.svg {
        let s = podpath_render::seq::svg(&trace)?;
        write_file(p, s.as_bytes(), &mut wrote)?;
    }
    if let Some(p) = &a.html {
        let pcap = podpath_render::pcapng::render(&trace);
        let page = podpath_render::html::render(&trace, &pcap)?;
        write_file(p, page.as_bytes(), &mut wrote)?;
    }
    if let Some(p) = &a.pcap {
        write_file(p, &podpath_render::pcapng::render(&trace), &mut wrote)?;
    }
    let format = match (a.format, a.verbose) {
        (_, true) => Some(Format::Trace),
        (Some(f), _) => Some(f),
        (None, false) if wrote.is_empty() => Some(Format::Summary),
        (None, false) => None,
    };
    // "wrote FILE" is the output when nothing else is asked for; beside
    // another output it goes to stderr
    if format.is_none() {
        out.write_all(&wrote)?;
    } else {
        std::io::stderr().write_all(&wrote)?;
    }
    let text = match format {
        None => String::new(),
        Some(Format::Summary) => podpath_render::summary::render(&trace),
        Some(Format::Trace) => podpath_render::text::render(&trace),
        Some(Format::Json) => podpath_render::json::render(&trace),
        Some(Format::Seq) => {
            let s = podpath_render::seq::ascii(&trace)?;
            fit_terminal(&s)
        }
    };
    out.write_all(text.as_bytes())?;
    Ok(expectations_status(&trace))
}

/// On a terminal, lines wider than it are cut (with `…`) so the diagram
/// does not wrap into noise; piped output is left whole.
fn fit_terminal(s: &str) -> String {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return s.to_string();
    }
    let Some((w, _)) = crossterm_size() else {
        return s.to_string();
    };
    let w = w as usize;
    s.lines()
        .map(|l| {
            if l.chars().count() > w {
                let mut t: String = l.chars().take(w.saturating_sub(1)).collect();
                t.push('…');
                t
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn crossterm_size() -> Option<(u16, u16)> {
    ratatui::crossterm::terminal::size().ok()
}
