//! `reach`'s outputs: the JSON report, the truth tables, the comparison,
//! and the merge of shards.
//!
//! The table is the Kubernetes e2e NetworkPolicy suite's
//! (test/e2e/network/netpol/truthtable.go `TruthTable.PrettyPrint`): a
//! header `-\t` then the destinations, tab-separated; a row per source,
//! its name then a mark per destination, each mark followed by a tab:
//! `.` allowed, `X` denied, `?` not probed. One matrix per port/protocol,
//! under a line `PORT/PROTO`, in port order. A destination probed over
//! IPv6 has a column of its own, `NAME (IPv6)`, beside its IPv4 one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::model::{Comparison, Family, PortProto, ReachError, Report, Verdict};

/// A destination's column: its name, with ` (IPv6)` over IPv6.
fn column(to: &str, f: Family) -> String {
    match f {
        Family::IPv4 => to.to_string(),
        Family::IPv6 => format!("{to} (IPv6)"),
    }
}

/// The report as JSON (pretty, a newline at the end).
pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
    s.push('\n');
    s
}

/// The comparison as JSON (pretty, a newline at the end).
pub fn comparison_json(c: &Comparison) -> String {
    let mut s = serde_json::to_string_pretty(c).unwrap_or_default();
    s.push('\n');
    s
}

/// The truth tables of a report.
pub fn table(r: &Report) -> String {
    let mut groups: BTreeMap<PortProto, Vec<usize>> = BTreeMap::new();
    for (i, p) in r.probes.iter().enumerate() {
        groups
            .entry(PortProto {
                port: p.port,
                proto: p.protocol,
            })
            .or_default()
            .push(i);
    }
    let mut out = String::new();
    for (pp, idx) in &groups {
        // rows and columns in the order the probes met them (the fixed order)
        let mut froms: Vec<&str> = Vec::new();
        let mut tos: Vec<String> = Vec::new();
        let mut marks: BTreeMap<(&str, String), Verdict> = BTreeMap::new();
        for &i in idx {
            let p = &r.probes[i];
            if !froms.contains(&p.from.as_str()) {
                froms.push(&p.from);
            }
            let col = column(&p.to, p.family);
            if !tos.contains(&col) {
                tos.push(col.clone());
            }
            marks.insert((&p.from, col), p.verdict);
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{pp}");
        let mut header = vec!["-\t"];
        header.extend(tos.iter().map(String::as_str));
        let _ = writeln!(out, "{}", header.join("\t"));
        for f in &froms {
            let mut line = vec![f.to_string()];
            for t in &tos {
                let m = match marks.get(&(*f, t.clone())) {
                    None => "?",
                    Some(Verdict::Allowed) => ".",
                    Some(Verdict::Denied) => "X",
                };
                line.push(format!("{m}\t"));
            }
            let _ = writeln!(out, "{}", line.join("\t"));
        }
    }
    out
}

/// The comparison in words: one block per disagreement.
pub fn comparison_text(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} probe(s) compared, {} disagreement(s) between the sim engine (the CNI's programming, simulated) and the spec engine (the API semantics)",
        c.compared,
        c.disagreements.len()
    );
    for d in &c.disagreements {
        let word = |v: Verdict| match v {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
        };
        let _ = writeln!(
            out,
            "\n{} -> {} : {}/{}{}",
            d.from,
            d.to,
            d.port,
            d.protocol.name(),
            match d.family {
                Family::IPv4 => "",
                Family::IPv6 => " over IPv6",
            }
        );
        for (name, s) in [("sim", &d.sim), ("spec", &d.spec)] {
            let b = &s.decided_by;
            let mut at = Vec::new();
            if let Some(h) = &b.host {
                at.push(format!("on {h}"));
            }
            if let Some(p) = &b.point {
                at.push(format!("at {p}"));
            }
            if let Some(p) = &b.policy {
                at.push(format!("policy {p}"));
            }
            if let Some(r) = &b.rule {
                at.push(format!("rule {r}"));
            }
            if let Some(e) = &b.endpoint {
                at.push(format!("endpoint {e}"));
            }
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" [{}]", at.join(", "))
            };
            let _ = writeln!(out, "  {name:<4} {}{at}: {}", word(s.verdict), b.reason);
        }
    }
    out
}

/// Joins the reports of `--shard 1/N` .. `N/N` (in any order) into the
/// report of the unsharded run.
pub fn merge(mut parts: Vec<Report>) -> Result<Report, ReachError> {
    let bad = |m: String| Err(ReachError::Merge(m));
    let Some(first) = parts.first() else {
        return bad("reach --merge: no file given".into());
    };
    let Some(s0) = first.shard else {
        return bad("reach --merge: the first file is not a shard (no \"shard\" field: made without --shard)".into());
    };
    let (engine, warnings) = (first.engine, first.warnings.clone());
    for p in &parts {
        let Some(s) = p.shard else {
            return bad("reach --merge: a file is not a shard (no \"shard\" field)".into());
        };
        if s.count != s0.count || s.total != s0.total || p.engine != engine {
            return bad(format!(
                "reach --merge: shard {}/{} is not of the same run as shard {}/{} (shard count, probe total or engine differ)",
                s.index, s.count, s0.index, s0.count
            ));
        }
    }
    parts.sort_by_key(|p| p.shard.map_or(0, |s| s.index));
    let have: Vec<usize> = parts
        .iter()
        .filter_map(|p| p.shard.map(|s| s.index))
        .collect();
    let want: Vec<usize> = (1..=s0.count).collect();
    if have != want {
        return bad(format!(
            "reach --merge: shards {have:?} given, {want:?} needed (each of 1..{} once)",
            s0.count
        ));
    }
    let probes: Vec<_> = parts.into_iter().flat_map(|p| p.probes).collect();
    if probes.len() != s0.total {
        return bad(format!(
            "reach --merge: {} probes in the shards, the run has {}",
            probes.len(),
            s0.total
        ));
    }
    Ok(Report {
        engine,
        warnings,
        shard: None,
        probes,
    })
}

/// The probes of shard `index` (1-based) of `count` among `total`: the
/// `index`-th of `count` contiguous slices of the fixed order, sizes
/// differing by at most one.
pub fn shard_range(index: usize, count: usize, total: usize) -> std::ops::Range<usize> {
    let at = |i: usize| i * total / count;
    at(index - 1)..at(index)
}

/// `I/N`, 1 <= I <= N.
pub fn parse_shard(s: &str) -> Result<(usize, usize), ReachError> {
    let e = || ReachError::ShardSpec(s.to_string());
    let (i, n) = s.split_once('/').ok_or_else(e)?;
    let (i, n) = (
        i.parse::<usize>().map_err(|_| e())?,
        n.parse::<usize>().map_err(|_| e())?,
    );
    if i == 0 || i > n {
        return Err(e());
    }
    Ok((i, n))
}
