//! `podpath check`: compare scenarios' traces with golden traces kept in a
//! directory (one `NAME/trace.json` per scenario, with `trace.txt` beside it
//! for people), for CI: exit 0 when every trace matches, 1 with a per-hop
//! diff when one does not; `--bless` writes the current traces instead.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

/// The text of one hop as the comparison shows it.
fn hop_lines(h: &Value) -> String {
    let s = |k: &str| h[k].as_str().unwrap_or("").to_string();
    let mut out = format!(
        "hop on {}: {} -> {}\n",
        s("host"),
        h["in_dev"].as_str().unwrap_or("(local)"),
        h["out_dev"].as_str().unwrap_or("(stays)")
    );
    let _ = writeln!(out, "  in   {}", s("before"));
    for st in h["steps"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<18} {}",
            st["point"].as_str().unwrap_or(""),
            st["what"].as_str().unwrap_or("")
        );
    }
    if let Some(a) = h["after"].as_str() {
        let _ = writeln!(out, "  out  {a}");
    }
    out
}

fn flows(t: &Value) -> Vec<&Value> {
    t["flows"]
        .as_array()
        .map(|v| v.iter().collect())
        .unwrap_or_default()
}

/// A readable report of how `got` differs from `want` (both trace JSON);
/// empty when they are equal. At most `max_hops` hops are shown per flow.
pub fn diff_traces(want: &Value, got: &Value, max_hops: usize) -> String {
    let mut r = String::new();
    for k in ["scenario", "seed"] {
        if want[k] != got[k] {
            let _ = writeln!(r, "  {k}: golden {} , now {}", want[k], got[k]);
        }
    }
    let (wf, gf) = (flows(want), flows(got));
    let id = |f: &Value| f["id"].as_str().unwrap_or("").to_string();
    let mut differing = 0;
    for w in &wf {
        let Some(g) = gf.iter().find(|g| id(g) == id(w)) else {
            let _ = writeln!(r, "  flow {}: in the golden trace only", id(w));
            differing += 1;
            continue;
        };
        let mut fr = String::new();
        if w["outcome"] != g["outcome"] {
            let _ = writeln!(fr, "    outcome");
            let _ = writeln!(fr, "    - {}", w["outcome"].as_str().unwrap_or(""));
            let _ = writeln!(fr, "    + {}", g["outcome"].as_str().unwrap_or(""));
        }
        let (wh, gh) = (
            w["hops"].as_array().cloned().unwrap_or_default(),
            g["hops"].as_array().cloned().unwrap_or_default(),
        );
        let mut shown = 0;
        for i in 0..wh.len().max(gh.len()) {
            let a = wh.get(i).map(hop_lines).unwrap_or_default();
            let b = gh.get(i).map(hop_lines).unwrap_or_default();
            if a == b {
                continue;
            }
            if shown == max_hops {
                let _ = writeln!(fr, "    (more hops differ)");
                break;
            }
            shown += 1;
            let _ = writeln!(fr, "    hop {} of the flow:", i + 1);
            for c in TextDiff::from_lines(&a, &b).iter_all_changes() {
                let sign = match c.tag() {
                    ChangeTag::Delete => "-",
                    ChangeTag::Insert => "+",
                    ChangeTag::Equal => " ",
                };
                let _ = write!(fr, "    {sign} {}", c.value());
                if c.missing_newline() {
                    fr.push('\n');
                }
            }
        }
        if wh.len() != gh.len() {
            let _ = writeln!(fr, "    hops: golden {}, now {}", wh.len(), gh.len());
        }
        if !fr.is_empty() {
            differing += 1;
            let _ = writeln!(r, "  flow {}:", id(w));
            r.push_str(&fr);
        }
    }
    for g in &gf {
        if !wf.iter().any(|w| id(w) == id(g)) {
            let _ = writeln!(r, "  flow {}: new (not in the golden trace)", id(g));
            differing += 1;
        }
    }
    if differing > 0 {
        let _ = writeln!(
            r,
            "  {differing} of {} flow(s) differ",
            wf.len().max(gf.len())
        );
    }
    r
}

pub enum Verdict {
    Same,
    Blessed,
    Differs(String),
    Missing,
}

/// Checks (or blesses) one scenario's trace against `DIR/NAME/`; the
/// capture (`capture.pcapng`) is compared byte for byte when the golden
/// directory has one.
pub fn check_one(
    name: &str,
    json: &str,
    text: &str,
    pcap: &[u8],
    dir: &Path,
    bless: bool,
) -> Result<Verdict> {
    let d = dir.join(name);
    let f = d.join("trace.json");
    if bless {
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
        std::fs::write(&f, json).with_context(|| format!("cannot write {}", f.display()))?;
        std::fs::write(d.join("trace.txt"), text)?;
        std::fs::write(d.join("capture.pcapng"), pcap)?;
        return Ok(Verdict::Blessed);
    }
    let Ok(want) = std::fs::read_to_string(&f) else {
        return Ok(Verdict::Missing);
    };
    if want == json {
        return Ok(match std::fs::read(d.join("capture.pcapng")) {
            Ok(p) if p != pcap => Verdict::Differs(format!(
                "  the traces are equal but {} differs ({} bytes golden, {} now)\n",
                d.join("capture.pcapng").display(),
                p.len(),
                pcap.len()
            )),
            _ => Verdict::Same,
        });
    }
    let w: Value = serde_json::from_str(&want)
        .with_context(|| format!("{}: not a podpath trace (JSON)", f.display()))?;
    let g: Value = serde_json::from_str(json).expect("our own JSON");
    let report = diff_traces(&w, &g, 3);
    Ok(if report.is_empty() {
        // Same content, different bytes (formatting): say so.
        Verdict::Differs(
            "  the traces are equal but the file's formatting differs; bless it\n".into(),
        )
    } else {
        Verdict::Differs(report)
    })
}
