//! `podpath inspect PATH...`: what podpath makes of real machines' dumps
//! (each file's format detected) and of bundle directories: counts of what
//! it loads, what it models with a named simplification, every construct it
//! keeps without evaluating (with its line), what a bundle lacks. Exit 0
//! when everything parsed; 2, with FILE:LINE on stderr, when something
//! would be refused by the real tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use podpath_sim::net::names::Etc;
use podpath_sim::scenario::bundle::ReadError;
use podpath_sim::scenario::dumps::{self, Report};
use podpath_sim::scenario::inspect::BundleReport;
use serde_json::{json, Value};

#[derive(Args)]
pub struct InspectArgs {
    /// Dump files (iptables-save, nft, ipset save, ipvsadm -S, ip -j,
    /// bridge -j, sysctl -a, conntrack -L), bundle directories, or
    /// directories of dumps (each file in them).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// text or json (keys format, objects, unmodelled, unresolved, items).
    #[arg(long, default_value = "text")]
    pub format: String,
    /// The dumped machine's name databases for lone files: DIR/passwd,
    /// DIR/group, DIR/hosts (each optional; `--etc /etc` on the machine
    /// itself). Names a dump holds (`meta skgid NAME`, `-m owner
    /// --uid-owner NAME`, an `ipvsadm -S` host name) resolve through them
    /// as the loading tool would; without them such a name is reported
    /// as unresolved. A bundle uses its own `etc/`.
    #[arg(long, value_name = "DIR")]
    pub etc: Option<PathBuf>,
}

/// One path's report, as the JSON form has it: `format`, `objects`,
/// `unmodelled` (a count), `items`; errors for stderr.
struct Node {
    json: Value,
    errors: Vec<String>,
}

/// `FILE:LINE: message`, or `FILE: message` when no line applies.
fn at(path: &str, line: usize, msg: &str) -> String {
    if line == 0 {
        format!("{path}: {msg}")
    } else {
        format!("{path}:{line}: {msg}")
    }
}

fn items_of(r: &Report, path: &str) -> (Vec<Value>, Vec<String>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    if let Some((line, msg)) = &r.error {
        items.push(json!({"kind": "error", "line": line, "text": msg}));
        errors.push(at(path, *line, msg));
    }
    for s in &r.simplified {
        items.push(json!({"kind": "simplified", "text": s}));
    }
    for u in &r.unmodelled {
        items.push(json!({"kind": "unmodelled", "line": u.line, "construct": u.construct, "effect": u.effect}));
    }
    for u in &r.unresolved {
        items.push(json!({"kind": "unresolved", "line": u.line, "construct": u.construct, "effect": u.effect}));
    }
    for u in &r.ipv6_kept {
        items.push(
            json!({"kind": "ipv6", "line": u.line, "construct": u.construct, "effect": u.effect}),
        );
    }
    for w in &r.warnings {
        items.push(json!({"kind": "warning", "text": w}));
    }
    (items, errors)
}

fn file_node(path: &str, r: &Report) -> Node {
    let (items, errors) = items_of(r, path);
    Node {
        json: json!({
            "path": path,
            "format": r.format.map_or("unknown", |f| f.name()),
            "objects": r.objects,
            "unmodelled": r.unmodelled.len(),
            "unresolved": r.unresolved.len(),
            "items": items,
        }),
        errors,
    }
}

fn bundle_node(dir: &Path, b: &BundleReport) -> Node {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut unmodelled = 0;
    if let Some((f, line, msg)) = &b.error {
        items.push(json!({"kind": "error", "file": f, "line": line, "text": msg}));
        errors.push(at(&dir.join(f).display().to_string(), *line, msg));
    }
    for m in &b.missing {
        items.push(json!({"kind": "missing", "text": m}));
    }
    for w in &b.warnings {
        items.push(json!({"kind": "warning", "text": w}));
    }
    let mut unresolved = 0;
    for (f, r) in &b.files {
        let n = file_node(&dir.join(f).display().to_string(), r);
        unmodelled += r.unmodelled.len();
        unresolved += r.unresolved.len();
        errors.extend(n.errors);
        let mut j = n.json;
        j["kind"] = json!("file");
        items.push(j);
    }
    Node {
        json: json!({
            "path": dir.display().to_string(),
            "format": "bundle",
            "objects": b.objects,
            "unmodelled": unmodelled,
            "unresolved": unresolved,
            "items": items,
        }),
        errors,
    }
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn inspect_path(p: &Path, etc: &Etc) -> Result<Node> {
    if p.is_dir() && !p.join("bundle.json").is_file() {
        // a directory of dumps (not a bundle): each file in it
        let mut items = Vec::new();
        let mut errors = Vec::new();
        let mut unmodelled = 0;
        let mut unresolved = 0;
        let files = files_under(p)?;
        for f in &files {
            let n = inspect_path(&p.join(f), etc)?;
            if n.json["format"] == "unknown" {
                // not a dump (a README...): named, not refused
                items.push(json!({"kind": "skipped", "text": format!("{}: format not recognised", p.join(f).display())}));
                continue;
            }
            unmodelled += n.json["unmodelled"].as_u64().unwrap_or(0);
            unresolved += n.json["unresolved"].as_u64().unwrap_or(0);
            errors.extend(n.errors);
            let mut j = n.json;
            j["kind"] = json!("file");
            items.push(j);
        }
        return Ok(Node {
            json: json!({
                "path": p.display().to_string(),
                "format": "directory",
                "objects": {"files": files.len()},
                "unmodelled": unmodelled,
                "unresolved": unresolved,
                "items": items,
            }),
            errors,
        });
    }
    if p.is_dir() {
        let read = |f: &str| -> std::result::Result<String, ReadError> {
            let full = p.join(f);
            if !full.exists() {
                return Err(ReadError::NotFound(f.to_string()));
            }
            std::fs::read_to_string(&full).map_err(|e| ReadError::Io {
                path: full.display().to_string(),
                source: e,
            })
        };
        let files = files_under(p)?;
        return Ok(bundle_node(
            p,
            &podpath_sim::scenario::inspect::inspect_bundle(&read, &files),
        ));
    }
    let text = std::fs::read_to_string(p)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
    let name = p.display().to_string();
    let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
    let read = |pattern: &str| include_files(&dir, pattern);
    Ok(file_node(
        &name,
        &dumps::inspect_etc(&name, &text, &read, etc),
    ))
}

/// An `nft -f` script's `include`: a relative name is read from the
/// script's directory (as `nft -f` run in that directory reads it), an
/// absolute one from this machine; wildcards match as nft's glob(3) does,
/// in alphabetical order (nftables src/scanner.l `include_glob`).
fn include_files(dir: &Path, pattern: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        dir.join(pattern)
    };
    let spec = full.display().to_string();
    let mut paths: Vec<PathBuf> = if pattern.contains(['*', '?', '[']) {
        glob::glob(&spec)
            .map_err(|e| format!("{pattern}: {e}"))?
            .filter_map(std::result::Result::ok)
            .filter(|p| p.is_file())
            .collect()
    } else if full.is_file() {
        vec![full]
    } else {
        Vec::new()
    };
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            std::fs::read_to_string(&p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
}

fn write_text(out: &mut impl Write, j: &Value, indent: usize) -> Result<()> {
    let pad = " ".repeat(indent);
    writeln!(
        out,
        "{pad}{}: {}",
        j["path"].as_str().unwrap_or(""),
        j["format"].as_str().unwrap_or("")
    )?;
    let objects: Vec<String> = j["objects"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !objects.is_empty() {
        writeln!(out, "{pad}  understood: {}", objects.join(", "))?;
    }
    writeln!(out, "{pad}  unmodelled: {}", j["unmodelled"])?;
    if j["unresolved"].as_u64().is_some_and(|n| n > 0) {
        writeln!(out, "{pad}  unresolved: {}", j["unresolved"])?;
    }
    for it in j["items"].as_array().into_iter().flatten() {
        let text = it["text"].as_str().unwrap_or("");
        match it["kind"].as_str().unwrap_or("") {
            "file" => write_text(out, it, indent + 2)?,
            "unmodelled" => writeln!(
                out,
                "{pad}  - line {}: {} is not modelled: {}",
                it["line"],
                it["construct"].as_str().unwrap_or(""),
                it["effect"].as_str().unwrap_or("")
            )?,
            "unresolved" => writeln!(
                out,
                "{pad}  - line {}: {}: {}",
                it["line"],
                it["construct"].as_str().unwrap_or(""),
                it["effect"].as_str().unwrap_or("")
            )?,
            "ipv6" => writeln!(
                out,
                "{pad}  ipv6: line {}: {}: {}",
                it["line"],
                it["construct"].as_str().unwrap_or(""),
                it["effect"].as_str().unwrap_or("")
            )?,
            "error" => match it["line"].as_u64() {
                Some(l) if l > 0 => writeln!(out, "{pad}  error: line {l}: {text}")?,
                _ => writeln!(out, "{pad}  error: {text}")?,
            },
            k => writeln!(out, "{pad}  {k}: {text}")?,
        }
    }
    Ok(())
}

pub fn run(a: InspectArgs, out: &mut impl Write) -> Result<ExitCode> {
    if a.format != "text" && a.format != "json" {
        bail!("--format must be text or json, not '{}'", a.format);
    }
    // the databases for lone files (`--etc DIR`)
    let etc = match &a.etc {
        Some(d) => {
            if !d.is_dir() {
                bail!("--etc {}: not a directory", d.display());
            }
            Etc::read(&|f: &str| std::fs::read_to_string(d.join(f)).ok(), "")
        }
        None => Etc::default(),
    };
    let mut nodes = Vec::new();
    for p in &a.paths {
        nodes.push(inspect_path(p, &etc)?);
    }
    let errors: Vec<&String> = nodes.iter().flat_map(|n| &n.errors).collect();
    if a.format == "json" {
        let v = if nodes.len() == 1 {
            nodes[0].json.clone()
        } else {
            let total: u64 = nodes
                .iter()
                .map(|n| n.json["unmodelled"].as_u64().unwrap_or(0))
                .sum();
            let unresolved: u64 = nodes
                .iter()
                .map(|n| n.json["unresolved"].as_u64().unwrap_or(0))
                .sum();
            json!({
                "format": "paths",
                "objects": {"paths": nodes.len()},
                "unmodelled": total,
                "unresolved": unresolved,
                "items": nodes.iter().map(|n| {
                    let mut j = n.json.clone();
                    j["kind"] = json!("file");
                    j
                }).collect::<Vec<_>>(),
            })
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for n in &nodes {
            write_text(out, &n.json, 0)?;
        }
    }
    out.flush()?;
    for e in &errors {
        eprintln!("{e}");
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
