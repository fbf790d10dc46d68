//! `podpath inspect` of a bundle directory: each file as [`super::dumps`]
//! reads it, what `bundle.json` names that is absent, and what the loaded
//! world lacks for a faithful replay (a host without its local routes, a
//! device no link joins, a flow whose source host has no address).

use std::collections::BTreeMap;

use serde_json::Value;

use super::dumps::Report;
use crate::net::host::DevKind;

/// The files the bundle loader reads for each host (`bundle::load_host`);
/// `nft-ruleset.txt` and `resolv.conf` are optional.
pub const HOST_FILES: &[&str] = &[
    "ip-link.json",
    "ip-addr.json",
    "ip-route.json",
    "ip-rule.json",
    "ip-neigh.json",
    "bridge-fdb.json",
    "iptables-save.txt",
    "sysctl.txt",
];
const OPTIONAL_HOST_FILES: &[&str] = &[
    "ip6-rule.json",
    "nft-ruleset.txt",
    "resolv.conf",
    "ipset-save.txt",
    "ipvsadm-save.txt",
    "conntrack.txt",
];

/// The machine's files the loader reads (optional): the name databases
/// ([`crate::net::names`]).
pub const ETC_FILES: &[&str] = &["etc/passwd", "etc/group", "etc/hosts"];

/// What `inspect` makes of a bundle directory.
#[derive(Debug, Default)]
pub struct BundleReport {
    /// hosts, links, flows, apps, files.
    pub objects: BTreeMap<String, usize>,
    /// Every file of the bundle but bundle.json, by path, with its report.
    pub files: Vec<(String, Report)>,
    /// What the bundle lacks for a faithful replay.
    pub missing: Vec<String>,
    /// The loader's warnings and files it does not read.
    pub warnings: Vec<String>,
    /// Why the loader refuses it: file, line and message.
    pub error: Option<(String, usize, String)>,
}

/// Inspects a bundle: each file in `files` (paths relative to the bundle,
/// `bundle.json` among them), what bundle.json names that is absent, what
/// the loaded world lacks.
pub fn inspect_bundle(read: super::bundle::Reader, files: &[String]) -> BundleReport {
    let mut r = BundleReport::default();
    let doc = match read("bundle.json")
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(e) => {
            r.error = Some(("bundle.json".into(), 0, e));
            return r;
        }
    };
    let hosts: Vec<String> = doc["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| {
            h.as_str()
                .or_else(|| h["name"].as_str())
                .map(str::to_string)
        })
        .collect();
    r.objects.insert("hosts".into(), hosts.len());
    for k in ["links", "flows", "apps", "segments"] {
        r.objects
            .insert(k.into(), doc[k].as_array().map_or(0, Vec::len));
    }
    r.objects.insert("files".into(), files.len());
    for h in &hosts {
        for f in HOST_FILES {
            let p = format!("{h}/{f}");
            if !files.contains(&p) {
                r.missing.push(format!(
                    "{p}: bundle.json names host '{h}', but its {f} is absent (the loader requires it)"
                ));
            }
        }
    }
    let mut configs: Vec<&str> = Vec::new();
    for (ai, a) in doc["apps"].as_array().into_iter().flatten().enumerate() {
        if let Some(c) = a["config"].as_str().filter(|c| !c.contains('\n')) {
            configs.push(c);
            if !files.iter().any(|f| f == c) {
                r.missing.push(format!(
                    "apps[{ai}].config: names '{c}', which is not in the bundle"
                ));
            }
        }
    }
    // the programs' configuration files are read by the programs as the
    // loader starts them (a refusal is the loader's error below)
    r.objects.insert(
        "app configs".into(),
        files
            .iter()
            .filter(|f| configs.contains(&f.as_str()))
            .count(),
    );
    // the machine's name databases: the names its dumps hold resolve
    // through them ([`crate::net::names`])
    let etc = crate::net::names::Etc::read(&|f: &str| read(f).ok(), "etc/");
    for f in files
        .iter()
        .filter(|f| *f != "bundle.json" && !configs.contains(&f.as_str()))
    {
        let text = match read(f) {
            Ok(t) => t,
            Err(e) => {
                r.warnings.push(format!("{f}: {e}"));
                continue;
            }
        };
        let rep = super::dumps::inspect_etc(f, &text, &|_| Ok(Vec::new()), &etc);
        let known = ETC_FILES.contains(&f.as_str())
            || f.split_once('/').is_some_and(|(h, n)| {
                hosts.iter().any(|x| x == h)
                    && (HOST_FILES.contains(&n) || OPTIONAL_HOST_FILES.contains(&n))
            });
        if !known {
            r.warnings.push(format!(
                "{f}: not read by the bundle loader (inspected only)"
            ));
        }
        r.files.push((f.clone(), rep));
    }
    match super::bundle::load(read, "bundle", 0) {
        Ok((world, warnings)) => {
            r.warnings.extend(warnings);
            world_gaps(&world, &mut r.missing);
        }
        Err(e) => r.error = Some((e.file.clone(), e.line, e.message.clone())),
    }
    r
}

/// What a loaded bundle lacks: local routes, a flow's source address,
/// veth peers.
fn world_gaps(world: &crate::world::World, missing: &mut Vec<String>) {
    for h in &world.hosts {
        let has_addr = h.devs.iter().any(|d| !d.addrs.is_empty());
        let has_local = h
            .fib
            .tables
            .get(&crate::net::fib::TABLE_LOCAL)
            .is_some_and(|t| t.iter().next().is_some());
        if has_addr && !has_local {
            missing.push(format!(
                "{}: its route table has no local entries (ip-route.json is `ip -j route show`, not `show table all`): no address of it is local",
                h.name
            ));
        }
        for d in &h.devs {
            if d.kind == DevKind::Veth && d.peer.is_none() {
                missing.push(format!(
                    "{}/{}: no link of bundle.json joins it to another host (what it sends is lost)",
                    h.name, d.name
                ));
            }
        }
    }
    for f in &world.flows {
        let Some(h) = world.hosts.get(f.from) else {
            continue;
        };
        if !h
            .devs
            .iter()
            .any(|d| d.kind != DevKind::Loopback && !d.addrs.is_empty())
        {
            missing.push(format!(
                "flow {}: its source host {} has no address on any device",
                f.id, h.name
            ));
        }
    }
}
