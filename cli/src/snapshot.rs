//! `podpath snapshot --netns PREFIX -o DIR`: a `podpath-snapshot/1` bundle
//! collected from this machine's network namespaces whose names start with
//! PREFIX (each becomes a host named without the prefix).
//!
//! Per host: `ip -j -d link show`, `ip -j addr show`, `ip -j route show table
//! all`, `ip -j rule show`, `ip -j neigh show`, `bridge -j fdb show`,
//! `iptables-save`, `sysctl -a` (its `net.*` lines). `bundle.json` lists the hosts, the veth links
//! between them (from each veth's peer namespace and index), the listening
//! sockets as apps, and the flows to replay.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::live::run;

/// What to write beside the kernel state.
#[derive(Default)]
pub struct Extras {
    /// Apps as bundle entries (`{"host","kind","listen",...}`); when empty,
    /// the listening TCP sockets become http-server apps without routes.
    pub apps: Vec<Value>,
    pub flows: Vec<Value>,
}

pub fn snapshot_netns(prefix: &str, out: &Path, extras: Extras) -> Result<Vec<String>> {
    let list: Value = serde_json::from_str(&run(&["ip", "-j", "netns", "list"], None, 10)?)
        .context("parsing `ip -j netns list`")?;
    let mut names: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n["name"].as_str())
                .filter(|n| n.starts_with(prefix))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        bail!("no network namespace starts with '{prefix}'");
    }
    std::fs::create_dir_all(out)?;
    let host_of = |ns: &str| ns[prefix.len()..].to_string();
    let mut links_json: BTreeMap<String, Value> = BTreeMap::new();
    let mut apps = extras.apps.clone();
    let mut warnings = Vec::new();
    for ns in &names {
        let host = host_of(ns);
        let dir = out.join(&host);
        std::fs::create_dir_all(&dir)?;
        let ip = |args: &[&str]| -> Result<String> {
            let mut a = vec!["ip", "-n", ns.as_str(), "-j"];
            a.extend_from_slice(args);
            run(&a, None, 20)
        };
        let link = ip(&["-d", "link", "show"])?;
        std::fs::write(dir.join("ip-link.json"), &link)?;
        std::fs::write(dir.join("ip-addr.json"), ip(&["addr", "show"])?)?;
        std::fs::write(
            dir.join("ip-route.json"),
            ip(&["route", "show", "table", "all"])?,
        )?;
        std::fs::write(dir.join("ip-rule.json"), ip(&["rule", "show"])?)?;
        std::fs::write(dir.join("ip-neigh.json"), ip(&["neigh", "show"])?)?;
        std::fs::write(
            dir.join("bridge-fdb.json"),
            run(&["bridge", "-n", ns, "-j", "fdb", "show"], None, 20)?,
        )?;
        std::fs::write(
            dir.join("iptables-save.txt"),
            run(&["ip", "netns", "exec", ns, "iptables-save"], None, 20)?,
        )?;
        let sysctl = run(
            &[
                "ip",
                "netns",
                "exec",
                ns,
                "sh",
                "-c",
                "sysctl -a 2>/dev/null; true",
            ],
            None,
            30,
        )?;
        // Only the network sysctls: the rest of `sysctl -a` (host name, boot
        // id, ...) says nothing about packets and should not leave the machine.
        let net: String = sysctl
            .lines()
            .filter(|l| l.starts_with("net."))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join("sysctl.txt"), net)?;
        // `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over
        // /etc/resolv.conf: that is the namespace's resolver configuration.
        let rc = Path::new("/etc/netns").join(ns).join("resolv.conf");
        if let Ok(t) = std::fs::read_to_string(&rc) {
            std::fs::write(dir.join("resolv.conf"), t)?;
        }
        links_json.insert(
            host.clone(),
            serde_json::from_str(&link).context("parsing ip-link.json")?,
        );
        if extras.apps.is_empty() {
            let ss = run(&["ip", "netns", "exec", ns, "ss", "-Hltn"], None, 10)?;
            for l in ss.lines() {
                if let Some(local) = l.split_whitespace().nth(3) {
                    apps.push(json!({"host": host, "kind": "http-server", "listen": local}));
                }
            }
            if !ss.trim().is_empty() {
                warnings.push(format!("{host}: listening sockets recorded as http-server apps without routes (they answer 404)"));
            }
        }
    }
    // veth links: each veth names its peer's namespace id and ifindex.
    let mut nsid: BTreeMap<(String, i64), String> = BTreeMap::new();
    for ns in &names {
        let ids: Value =
            serde_json::from_str(&run(&["ip", "-n", ns, "-j", "netns", "list-id"], None, 10)?)
                .unwrap_or(Value::Null);
        for e in ids.as_array().into_iter().flatten() {
            if let (Some(id), Some(n)) = (e["nsid"].as_i64(), e["name"].as_str()) {
                if n.starts_with(prefix) {
                    nsid.insert((host_of(ns), id), host_of(n));
                }
            }
        }
    }
    let mut links = Vec::new();
    for (host, devs) in &links_json {
        for d in devs.as_array().into_iter().flatten() {
            if d["linkinfo"]["info_kind"].as_str() != Some("veth") {
                continue;
            }
            let (Some(name), Some(peer_idx)) = (d["ifname"].as_str(), d["link_index"].as_i64())
            else {
                continue;
            };
            let peer_host = match d["link_netnsid"].as_i64() {
                Some(id) => match nsid.get(&(host.clone(), id)) {
                    Some(h) => h.clone(),
                    None => {
                        warnings.push(format!(
                            "{host}/{name}: veth peer in a namespace outside the snapshot"
                        ));
                        continue;
                    }
                },
                None => host.clone(),
            };
            let peer_name = links_json[&peer_host]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["ifindex"].as_i64() == Some(peer_idx))
                .and_then(|x| x["ifname"].as_str())
                .unwrap_or_default()
                .to_string();
            let a = format!("{host}/{name}");
            let b = format!("{peer_host}/{peer_name}");
            if a < b {
                links.push(json!({"a": a, "b": b}));
            }
        }
    }
    let bundle = json!({
        "format": "podpath-snapshot/1",
        "hosts": names.iter().map(|n| host_of(n)).collect::<Vec<_>>(),
        "links": links,
        "segments": [],
        "flows": extras.flows,
        "apps": apps,
    });
    std::fs::write(
        out.join("bundle.json"),
        serde_json::to_string_pretty(&bundle)? + "\n",
    )?;
    Ok(warnings)
}
