//! `podpath`: a thin command line over podpath-sim and podpath-render.

mod explain;
mod scenarios;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use podpath_sim::engine::Engine;

#[derive(Parser)]
#[command(
    name = "podpath",
    version,
    about = "A deterministic packet-level simulator of Kubernetes traffic paths"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario (a YAML file or an embedded name; default: the embedded default) and print its trace.
    Run {
        scenario: Option<String>,
        /// Only this flow (its id, e.g. `health#2`, or the traffic id for all its connections).
        #[arg(long)]
        flow: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Write every packet seen on every device as pcapng (Wireshark, tshark).
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
    },
    /// List the embedded scenarios.
    List,
    /// What podpath models, and what it simplifies.
    Explain,
}

fn load(scenario: Option<&str>, seed: Option<u64>) -> Result<podpath_sim::engine::World> {
    let (text, file) = match scenario {
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
    };
    Ok(podpath_sim::scenario::load(&text, &file, seed)?)
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    match cli.cmd {
        Cmd::Run {
            scenario,
            flow,
            format,
            seed,
            pcap,
        } => {
            let world = load(scenario.as_deref(), seed)?;
            let mut trace = Engine::new(world).run();
            if let Some(f) = &flow {
                trace
                    .flows
                    .retain(|x| &x.id == f || x.id.split('#').next() == Some(f.as_str()));
                if trace.flows.is_empty() {
                    bail!("no flow '{f}' in this scenario");
                }
            }
            if let Some(p) = &pcap {
                if let Some(f) = &flow {
                    let keep: Vec<String> = trace.flows.iter().map(|x| x.id.clone()).collect();
                    let _ = f;
                    trace.captures.retain(|c| keep.contains(&c.flow));
                }
                std::fs::write(p, podpath_render::pcapng::render(&trace))
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            let out = match format {
                Format::Text => podpath_render::text::render(&trace),
                Format::Json => podpath_render::json::render(&trace),
            };
            stdout.write_all(out.as_bytes())?;
        }
        Cmd::List => {
            for e in scenarios::ALL {
                let d = scenarios::description(e.text);
                let mark = if e.name == scenarios::DEFAULT {
                    " (default)"
                } else {
                    ""
                };
                writeln!(stdout, "{:<24} {d}{mark}", e.name)?;
            }
        }
        Cmd::Explain => stdout.write_all(explain::TEXT.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(c) => c,
        Err(e) => {
            // Broken pipes (podpath run | head) end quietly.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
