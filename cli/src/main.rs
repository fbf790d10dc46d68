//! `podpath`: a thin command line over podpath-sim and podpath-render.

mod diff;
mod explain;
mod live;
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
    /// Build the scenario out of network namespaces on this machine (root),
    /// send its flows through the real kernel, capture every device; with
    /// --diff, compare with the simulation interface by interface.
    Live {
        scenario: Option<String>,
        /// Use network namespaces (the only live backend on this machine).
        #[arg(long)]
        netns: bool,
        /// Compare real and simulated captures; exit 1 on a difference.
        #[arg(long)]
        diff: bool,
        /// Write the real captures as pcapng (same layout as `run --pcap`).
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
        /// Prefix of the namespaces this run creates.
        #[arg(long, default_value = "pp-")]
        prefix: String,
        #[arg(long)]
        seed: Option<u64>,
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
        Cmd::Live {
            scenario,
            netns,
            diff,
            pcap,
            prefix,
            seed,
        } => {
            if !netns {
                bail!(
                    "choose a backend: --netns (the kind backend is not available on this machine)"
                );
            }
            return live_netns(
                scenario.as_deref(),
                seed,
                &prefix,
                diff,
                pcap.as_deref(),
                &mut stdout,
            );
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

fn live_netns(
    scenario: Option<&str>,
    seed: Option<u64>,
    prefix: &str,
    do_diff: bool,
    pcap: Option<&std::path::Path>,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let world = load(scenario, seed)?;
    if let Err(why) = live::netns_available(prefix) {
        bail!("live --netns is not possible here: {why}");
    }
    let dir = std::env::temp_dir().join(format!("{prefix}live-{}", std::process::id()));
    let mut lab = live::Lab::new(prefix, &dir)?;
    lab.build(&world)?;
    lab.start_captures(&world)?;
    let (flows, lab_elapsed_ns) = lab.run_flows(&world)?;
    let (real, times) = lab.collect()?;
    let t0 = times.values().flatten().min().copied().unwrap_or(0);
    lab.teardown();
    drop(lab);
    for f in &flows {
        writeln!(out, "live {}: {}", f.id, f.outcome)?;
    }
    // The simulation covers the same stretch of time the captures did.
    let mut sim_world = load(scenario, seed)?;
    sim_world.horizon_ns = lab_elapsed_ns;
    let trace = Engine::new(sim_world).run();
    if let Some(p) = pcap {
        let mut t = trace.clone();
        t.captures = real
            .iter()
            .flat_map(|((h, d, dir), frames)| {
                let ts = times
                    .get(&(h.clone(), d.clone(), dir.clone()))
                    .cloned()
                    .unwrap_or_default();
                frames
                    .iter()
                    .enumerate()
                    .map(move |(i, b)| podpath_sim::trace::Capture {
                        time_ns: ts.get(i).map(|t| t - t0).unwrap_or(0),
                        host: h.clone(),
                        dev: d.clone(),
                        dir: if dir == "out" {
                            podpath_sim::trace::Direction::Out
                        } else {
                            podpath_sim::trace::Direction::In
                        },
                        packet: 0,
                        flow: String::new(),
                        hop: None,
                        comment: format!("real capture on {h}/{d}"),
                        bytes: b.clone(),
                    })
            })
            .collect();
        t.captures.sort_by_key(|c| c.time_ns);
        std::fs::write(p, podpath_render::pcapng::render(&t))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !do_diff {
        return Ok(ExitCode::SUCCESS);
    }
    let mut sim: live::RealCaptures = std::collections::BTreeMap::new();
    for c in &trace.captures {
        let dir = if c.dir == podpath_sim::trace::Direction::Out {
            "out"
        } else {
            "in"
        };
        sim.entry((c.host.clone(), c.dev.clone(), dir.to_string()))
            .or_default()
            .push(c.bytes.clone());
    }
    for f in &trace.flows {
        writeln!(out, "sim  {}: {}", f.id, f.outcome)?;
    }
    let mut real = real;
    let mut housekeeping = 0;
    for frames in real.values_mut() {
        let before = frames.len();
        frames.retain(|b| !diff::is_housekeeping(b));
        housekeeping += before - frames.len();
    }
    let (ifaces, ports) = diff::compare(&sim, &real);
    let matched = ifaces.iter().filter(|i| i.matches()).count();
    for i in &ifaces {
        match &i.first {
            None => writeln!(
                out,
                "match  {}/{} {}: {} frames",
                i.host, i.dev, i.dir, i.sim
            )?,
            Some(w) => writeln!(
                out,
                "DIFFER {}/{} {}: sim {} frames, real {} frames; first difference at {w}",
                i.host, i.dev, i.dir, i.sim, i.real
            )?,
        }
    }
    writeln!(
        out,
        "{matched} of {} interface directions match; {} ports renamed (ephemeral/random choices); {housekeeping} IGMP frames of the real kernel left out",
        ifaces.len(),
        ports.renamed()
    )?;
    Ok(if matched == ifaces.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
