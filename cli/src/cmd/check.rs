//! `podpath check`: compare scenarios' runs with golden ones kept in a
//! directory (per scenario `NAME/trace.json`, the golden form of
//! [`crate::golden`], and `NAME/capture.pcapng`), for CI: exit 0 when every
//! flow matches and every `expect:` of the scenarios is met, 1 with the
//! flows that differ (or the unmet expectation) when not; `--bless` writes
//! the current runs instead. The comparison is semantic, per flow: random
//! choices renamed, times left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use podpath_sim::engine::Engine;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::scenarios;

#[derive(Args)]
pub struct CheckArgs {
    /// Scenario files or embedded names (default: every embedded scenario
    /// that has a golden trace in DIR).
    pub scenarios: Vec<String>,
    #[arg(long, value_name = "DIR")]
    pub golden: PathBuf,
    /// Write the current traces as the new golden ones.
    #[arg(long)]
    pub bless: bool,
    /// What a match podpath keeps without a model is taken to do
    /// (default: nomatch); the run lists each host's unmodelled
    /// constructs once on stderr.
    #[arg(long, value_enum, value_name = "match|nomatch")]
    pub assume_unmodelled: Option<super::AssumeArg>,
    /// Also keep `podpath why`'s report for each flow that failed
    /// (`NAME/why.txt`: the deciding point and the proven fixes): written
    /// with --bless, compared otherwise. A golden directory that holds a
    /// why.txt is compared with or without this flag.
    #[arg(long)]
    pub why: bool,
}

/// The scenarios to check: those named, or the embedded ones with a golden
/// trace in `dir`; an error when there is nothing to check.
fn to_check(a: &CheckArgs) -> Result<Vec<String>> {
    if !a.scenarios.is_empty() {
        return Ok(a.scenarios.clone());
    }
    let found: Vec<String> = scenarios::ALL
        .iter()
        .filter(|e| a.golden.join(e.name).join("trace.json").is_file())
        .map(|e| e.name.to_string())
        .collect();
    if found.is_empty() {
        bail!(
            "nothing to check: {} holds no NAME/trace.json of an embedded scenario; name the scenarios to check (podpath check SCENARIO... --golden {}{})",
            a.golden.display(),
            a.golden.display(),
            if a.bless { " --bless" } else { "" }
        );
    }
    Ok(found)
}

pub fn run(a: CheckArgs, out: &mut impl Write) -> Result<ExitCode> {
    let list = to_check(&a)?;
    // load every world first: two scenarios of one name would share (and
    // overwrite) one golden directory
    let mut worlds = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for s in &list {
        let mut world = super::load(Some(s), None)?;
        super::prepare(&mut world, a.assume_unmodelled);
        let text = super::scenario_text(Some(s))?;
        if let Some(first) = names.insert(world.scenario.clone(), s.clone()) {
            bail!(
                "{s} and {first} are both named '{}' (metadata.name): their golden traces would be one file; rename one",
                world.scenario
            );
        }
        worlds.push((s, world, text));
    }
    let mut bad = 0;
    let bar = indicatif::ProgressBar::new(worlds.len() as u64);
    // the scenarios are independent runs: run and render them in parallel
    // (rayon), then compare and report in the order given
    let runs: Vec<_> = {
        use rayon::prelude::*;
        worlds
            .into_par_iter()
            .map(|(shown, world, src)| {
                let name = world.scenario.clone();
                let keep_why = a.why || a.golden.join(&name).join("why.txt").is_file();
                let trace = Engine::new(world.clone()).run();
                let why = keep_why.then(|| why_text(&src, &world, &trace));
                let json = crate::golden::render(&trace);
                let pcap = podpath_render::pcapng::render(&trace);
                bar.inc(1);
                (shown, name, trace, json, (pcap, why))
            })
            .collect()
    };
    for (shown, name, trace, json, (pcap, why)) in runs {
        let golden = a.golden.join(&name).join("trace.json");
        let verdict = match check_one(&name, (&json, &trace), &pcap, &a.golden, a.bless)? {
            Verdict::Same | Verdict::Blessed if why.is_some() => {
                check_why(&name, why.as_deref().unwrap_or(""), &a.golden, a.bless)?
            }
            v => v,
        };
        match verdict {
            Verdict::Same => writeln!(out, "ok       {shown}")?,
            Verdict::Blessed => writeln!(out, "blessed  {shown} -> {}", golden.display())?,
            Verdict::Missing => {
                bad += 1;
                writeln!(
                    out,
                    "MISSING  {shown}: no {} (run with --bless to create it)",
                    golden.display()
                )?
            }
            Verdict::Differs(report) => {
                bad += 1;
                writeln!(out, "DIFFERS  {shown} (golden {}):", golden.display())?;
                out.write_all(report.as_bytes())?;
            }
        }
        let unmet = trace.unmet();
        if !unmet.is_empty() {
            bad += 1;
            writeln!(
                out,
                "UNMET    {shown}: {} expectation(s) not met",
                unmet.len()
            )?;
            for u in unmet {
                writeln!(out, "  {u}")?;
            }
        }
    }
    bar.finish_and_clear();
    if bad > 0 {
        writeln!(
            out,
            "{bad} problem(s) in {} scenario(s): traces that differ from the golden ones, or expectations not met",
            list.len()
        )?;
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `podpath why`'s report of every flow of `trace` that failed, one after
/// the other ("" when none did).
fn why_text(
    src: &(String, String),
    world: &podpath_sim::world::World,
    trace: &podpath_sim::trace::Trace,
) -> String {
    let why_src = super::why::Src::Scenario(src.0.clone(), src.1.clone());
    trace
        .flows
        .iter()
        .filter(|f| !f.daemon)
        .filter_map(|f| super::why::analyse(&why_src, world.clone(), (trace, f), None))
        .map(|r| r.text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compares (or writes, blessing) `DIR/NAME/why.txt`.
fn check_why(name: &str, why: &str, dir: &Path, bless: bool) -> Result<Verdict> {
    let f = dir.join(name).join("why.txt");
    if bless {
        // no failed flow: no file
        if why.is_empty() {
            let _ = std::fs::remove_file(&f);
        } else {
            std::fs::write(&f, why).with_context(|| format!("cannot write {}", f.display()))?;
        }
        return Ok(Verdict::Blessed);
    }
    let want = std::fs::read_to_string(&f).unwrap_or_default();
    if want == why {
        return Ok(Verdict::Same);
    }
    let mut r = format!("  {} differs from why's report now:\n", f.display());
    for c in TextDiff::from_lines(want.as_str(), why).iter_all_changes() {
        let sign = match c.tag() {
            ChangeTag::Delete => "-",
            ChangeTag::Insert => "+",
            ChangeTag::Equal => continue,
        };
        let _ = write!(r, "    {sign} {}", c.value());
        if c.missing_newline() {
            r.push('\n');
        }
    }
    Ok(Verdict::Differs(r))
}

pub enum Verdict {
    Same,
    Blessed,
    Differs(String),
    Missing,
}

/// Checks (or blesses) one scenario's run against `DIR/NAME/`: its golden
/// form ([`crate::golden`]) flow by flow, and its capture
/// (`capture.pcapng`, when the directory has one) interface by interface,
/// random choices renamed on both.
pub fn check_one(
    name: &str,
    (json, trace): (&str, &podpath_sim::trace::Trace),
    pcap: &[u8],
    dir: &Path,
    bless: bool,
) -> Result<Verdict> {
    let d = dir.join(name);
    let f = d.join("trace.json");
    if bless {
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
        std::fs::write(&f, json).with_context(|| format!("cannot write {}", f.display()))?;
        std::fs::write(d.join("capture.pcapng"), pcap)?;
        // the text dump of earlier goldens: `podpath run --format trace`
        let _ = std::fs::remove_file(d.join("trace.txt"));
        return Ok(Verdict::Blessed);
    }
    let Ok(want) = std::fs::read_to_string(&f) else {
        return Ok(Verdict::Missing);
    };
    let capture = match std::fs::read(d.join("capture.pcapng")) {
        Ok(p) if p != pcap => crate::golden::compare_capture(&p, trace),
        _ => String::new(),
    };
    if want == json {
        return Ok(if capture.is_empty() {
            Verdict::Same
        } else {
            Verdict::Differs(capture)
        });
    }
    let w: Value = serde_json::from_str(&want)
        .with_context(|| format!("{}: not a podpath golden trace (JSON)", f.display()))?;
    if w["format"] != crate::golden::FORMAT {
        bail!(
            "{}: not a {} golden (an older podpath's trace?): bless it again with --bless",
            f.display(),
            crate::golden::FORMAT
        );
    }
    let g: Value = serde_json::from_str(json).expect("our own JSON");
    let report = crate::golden::compare(&w, &g) + &capture;
    Ok(if report.is_empty() {
        Verdict::Differs(
            "  the traces are equal but the file's formatting differs; bless it\n".into(),
        )
    } else {
        Verdict::Differs(report)
    })
}
