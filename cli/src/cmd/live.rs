//! `podpath live`: the scenario built out of network namespaces (or on a
//! kind cluster), its flows sent through the real kernel, and with `--diff`
//! compared with the simulation interface by interface.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use podpath_sim::engine::Engine;

#[derive(Args)]
pub struct LiveArgs {
    pub scenario: Option<String>,
    /// Use network namespaces (the only live backend on this machine).
    #[arg(long)]
    pub netns: bool,
    /// Run on a kind cluster (kubectl and docker; only contexts named
    /// kind-*): apply the scenario's objects, send its flows from its
    /// pods, capture on the nodes, replay their snapshot, diff.
    #[arg(long, conflicts_with = "netns")]
    pub kind: bool,
    /// With --kind: a kind-like cluster built in network namespaces on
    /// this machine instead of a real one.
    #[arg(long, requires = "kind")]
    pub fake_netns: bool,
    /// With --kind: the kube context (default: the current one).
    #[arg(long, requires = "kind")]
    pub context: Option<String>,
    /// Compare real and simulated captures; exit 1 on a difference.
    #[arg(long)]
    pub diff: bool,
    /// Write the real captures as pcapng (same layout as `run --pcap`).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Prefix of the namespaces this run creates.
    #[arg(long, default_value = "pp-")]
    pub prefix: String,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep the snapshot bundle taken before the flows in DIR.
    #[arg(long, value_name = "DIR")]
    pub bundle_out: Option<PathBuf>,
}

pub fn run(a: LiveArgs, out: &mut impl Write) -> Result<ExitCode> {
    if a.kind {
        return live_kind(
            a.scenario.as_deref(),
            a.seed,
            &a.prefix,
            a.fake_netns,
            a.context.as_deref(),
            a.diff,
            out,
        );
    }
    if !a.netns {
        bail!("choose a backend: --netns (network namespaces on this machine) or --kind (a kind cluster)");
    }
    live_netns(
        a.scenario.as_deref(),
        a.seed,
        &a.prefix,
        a.diff,
        a.pcap.as_deref(),
        a.bundle_out.as_deref(),
        out,
    )
}

/// Wall-clock time of a closure: live mode reports it; the simulator itself
/// never reads a clock.
#[allow(clippy::disallowed_methods)]
fn timed<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let t0 = std::time::Instant::now();
    let v = f();
    (v, t0.elapsed().as_nanos() as u64)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &t)?;
        } else {
            std::fs::copy(e.path(), t)?;
        }
    }
    Ok(())
}

/// `podpath live --kind`: see kind.rs.
pub fn live_kind(
    scenario: Option<&str>,
    seed: Option<u64>,
    prefix: &str,
    fake_netns: bool,
    context: Option<&str>,
    do_diff: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let (text, file) = super::scenario_text(scenario)?;
    let doc = podpath_sim::scenario::parse(&text, &file)?;
    let Some(c) = &doc.cluster else {
        bail!("{file}: live --kind needs a scenario with a 'cluster' (Kubernetes objects)");
    };
    let manifests = c.manifests.value.clone();
    let (objs, _) = podpath_sim::scenario::cluster_of(c, &file)?;
    let node_names: Vec<String> = objs.nodes.iter().map(|n| n.metadata.name.clone()).collect();
    let world = super::load(scenario, seed)?;
    let mut backend: Box<dyn crate::kind::KindBackend> = if fake_netns {
        Box::new(crate::kind::NetnsKind::new(prefix, &world, context)?)
    } else {
        Box::new(crate::kind::Kubectl::new(context)?)
    };
    let dir = std::env::temp_dir().join(format!("{prefix}kind-bundle-{}", std::process::id()));
    let (flows, real, elapsed, warnings) =
        crate::kind::run(backend.as_mut(), &world, &manifests, &node_names, &dir, out)?;
    drop(backend);
    for w in warnings {
        eprintln!("warning: snapshot: {w}");
    }
    for f in &flows {
        writeln!(out, "live {}: {}", f.id, f.outcome)?;
    }
    // The simulation of the cluster as the snapshot found it.
    let mut bw = super::load_bundle(&dir, seed)?;
    if elapsed > 0 {
        bw.horizon_ns = elapsed;
    }
    let trace = Engine::new(bw).run();
    let _ = std::fs::remove_dir_all(&dir);
    for f in &trace.flows {
        writeln!(out, "sim  {}: {}", f.id, f.outcome)?;
    }
    if !do_diff {
        return Ok(ExitCode::SUCCESS);
    }
    let sim = crate::diff::sim_captures(&trace, &|h: &str| node_names.iter().any(|n| n == h));
    let r = crate::diff::report(&sim, real);
    out.write_all(r.text.as_bytes())?;
    writeln!(
        out,
        "kind: {} of {} node interface directions match (snapshot replay); {} ports renamed; {} ACK/reply races tolerated",
        r.matched, r.total, r.renamed, r.races
    )?;
    let matched = r.matched;
    let ifaces_len = r.total;
    Ok(if matched == ifaces_len {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The daemons' frames compared as a class (see diff.rs), when there are.
/// and the frames of independent connections found a few places away.
/// How many connections were re-run with the real run's random choices.
fn aligned_note(aligned: &[String]) -> String {
    if aligned.is_empty() {
        "random choices aligned: 0 (the simulation's choices are the real run's, or no other choice agrees better)".into()
    } else {
        format!(
            "random choices aligned: {} connection(s) re-run with the real run's choices (random stream: {})",
            aligned.len(),
            aligned.join(", ")
        )
    }
}

fn periodic_note(r: &crate::diff::Report) -> String {
    let mut s = String::new();
    if r.reorders > 0 {
        s.push_str(&format!(
            "; {} frames found among other connections' frames (independent programs' race) tolerated",
            r.reorders
        ));
    }
    if r.probe_races > 0 {
        s.push_str(&format!(
            "; {} neighbour probe frames on one side only (the DELAY timer's race with the programs) tolerated",
            r.probe_races
        ));
    }
    if r.periodic > 0 {
        s.push_str(&format!(
            "; {} daemon frames (VRRP adverts, gratuitous ARPs) compared as a class, {} VRRP adverts of count difference tolerated",
            r.periodic, r.periodic_tolerated
        ));
    }
    s
}

pub fn live_netns(
    scenario: Option<&str>,
    seed: Option<u64>,
    prefix: &str,
    do_diff: bool,
    pcap: Option<&std::path::Path>,
    bundle_out: Option<&std::path::Path>,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let world = super::load(scenario, seed)?;
    if let Err(why) = crate::live::netns_available(prefix) {
        bail!("live --netns is not possible here: {why}");
    }
    let dir = std::env::temp_dir().join(format!("{prefix}live-{}", std::process::id()));
    let mut lab = crate::live::Lab::new(prefix, &dir)?;
    lab.build(&world)?;
    // Snapshot the namespaces before any traffic, to replay the bundle too.
    let bundle_dir = dir.join("bundle");
    let extras = crate::snapshot::live_extras(&world);
    let snap = crate::snapshot::snapshot_netns(prefix, &bundle_dir, extras);
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
    let mut sim_world = super::load(scenario, seed)?;
    sim_world.horizon_ns = lab_elapsed_ns;
    let (trace, sim_ns) = timed(|| Engine::new(sim_world).run());
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
                        host: h.into(),
                        dev: d.into(),
                        dir: if dir == "out" {
                            podpath_sim::trace::Direction::Out
                        } else {
                            podpath_sim::trace::Direction::In
                        },
                        packet: 0,
                        flow: Default::default(),
                        hop: None,
                        comment: format!("real capture on {h}/{d}"),
                        bytes: b.as_slice().into(),
                    })
            })
            .collect();
        t.captures.sort_by_key(|c| c.time_ns);
        std::fs::write(p, podpath_render::pcapng::render(&t))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let bundle_world = match snap {
        Ok(w) => {
            for x in w {
                eprintln!("warning: snapshot: {x}");
            }
            Some(super::load_bundle(&bundle_dir, seed))
        }
        Err(e) => {
            eprintln!("warning: snapshot failed: {e:#}");
            None
        }
    };
    if let Some(keep) = bundle_out {
        copy_dir(&bundle_dir, keep)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !do_diff {
        return Ok(ExitCode::SUCCESS);
    }
    // the real kernel's random choices, where they differ, given to the
    // simulation (crate::align)
    let mut aligned_world = super::load(scenario, seed)?;
    aligned_world.horizon_ns = lab_elapsed_ns;
    let (_, trace, aligned) = crate::align::align(aligned_world, (&real, &times));
    let sim = crate::diff::sim_captures(&trace, &|_| true);
    for f in &trace.flows {
        writeln!(out, "sim  {}: {}", f.id, f.outcome)?;
    }
    writeln!(out, "{}", aligned_note(&aligned))?;
    writeln!(
        out,
        "time: real run {:.3} s (flows and captures), simulation {:.3} ms (wall clock)",
        lab_elapsed_ns as f64 / 1e9,
        sim_ns as f64 / 1e6
    )?;
    let r = crate::diff::report(&sim, real.clone());
    out.write_all(r.text.as_bytes())?;
    writeln!(
        out,
        "{} of {} interface directions match; {} ports renamed (ephemeral/random choices); {} IGMP frames of the real kernel left out; {} ACK/reply races tolerated{}",
        r.matched, r.total, r.renamed, r.housekeeping, r.races, periodic_note(&r)
    )?;
    // The same flows replayed from the snapshot of the real namespaces.
    let mut bundle_ok = true;
    if let Some(bw) = bundle_world {
        let mut bw = bw?;
        bw.horizon_ns = lab_elapsed_ns;
        let (_, bt, b_aligned) = crate::align::align(bw, (&real, &times));
        writeln!(out, "bundle {}", aligned_note(&b_aligned))?;
        let b = crate::diff::report(&crate::diff::sim_captures(&bt, &|_| true), real);
        for l in b.text.lines().filter(|l| l.starts_with("DIFFER")) {
            writeln!(out, "bundle {l}")?;
        }
        writeln!(
            out,
            "bundle replay: {} of {} interface directions match; {} ports renamed{}",
            b.matched,
            b.total,
            b.renamed,
            periodic_note(&b)
        )?;
        bundle_ok = b.matched == b.total;
    }
    Ok(if r.matched == r.total && bundle_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
