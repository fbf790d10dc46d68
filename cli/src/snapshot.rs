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
    /// Files the apps name (`config`), as (path in the bundle, text).
    pub files: Vec<(String, String)>,
}

/// Writes `bundle.json`.
fn write_bundle(
    out: &Path,
    hosts: &[String],
    links: Vec<Value>,
    extras: &Extras,
    apps: Vec<Value>,
) -> Result<()> {
    let bundle = json!({
        "format": "podpath-snapshot/1",
        "hosts": hosts,
        "links": links,
        "segments": [],
        "flows": extras.flows,
        "apps": apps,
    });
    std::fs::write(
        out.join("bundle.json"),
        serde_json::to_string_pretty(&bundle)? + "\n",
    )?;
    for (path, text) in &extras.files {
        let p = out.join(path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

/// Runs a command on one host (in its network namespace) and returns stdout.
pub type Exec = Box<dyn Fn(&[&str]) -> Result<String>>;

/// Collects one host's network state into `dir`; returns its `ip -j -d
/// link` JSON (for pairing veths).
fn collect_host(
    exec: &dyn Fn(&[&str]) -> Result<String>,
    dir: &Path,
    host: &str,
    extras: &Extras,
    apps: &mut Vec<Value>,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    std::fs::create_dir_all(dir)?;
    let link = exec(&["ip", "-j", "-d", "link", "show"])?;
    std::fs::write(dir.join("ip-link.json"), &link)?;
    std::fs::write(
        dir.join("ip-addr.json"),
        exec(&["ip", "-j", "addr", "show"])?,
    )?;
    std::fs::write(
        dir.join("ip-route.json"),
        exec(&["ip", "-j", "route", "show", "table", "all"])?,
    )?;
    std::fs::write(
        dir.join("ip-rule.json"),
        exec(&["ip", "-j", "rule", "show"])?,
    )?;
    std::fs::write(
        dir.join("ip-neigh.json"),
        exec(&["ip", "-j", "neigh", "show"])?,
    )?;
    std::fs::write(
        dir.join("bridge-fdb.json"),
        exec(&["bridge", "-j", "fdb", "show"])?,
    )?;
    std::fs::write(dir.join("iptables-save.txt"), exec(&["iptables-save"])?)?;
    // nftables tables (kube-proxy nftables mode); absent without nft
    if let Ok(t) = exec(&["nft", "list", "ruleset"]) {
        std::fs::write(dir.join("nft-ruleset.txt"), t)?;
    }
    let sysctl = exec(&["sh", "-c", "sysctl -a 2>/dev/null; true"])?;
    // Only the network sysctls: the rest of `sysctl -a` (host name, boot
    // id, ...) says nothing about packets and should not leave the machine.
    let net: String = sysctl
        .lines()
        .filter(|l| l.starts_with("net."))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("sysctl.txt"), net)?;
    if extras.apps.is_empty() {
        let ss = exec(&["ss", "-Hltn"])?;
        for l in ss.lines() {
            if let Some(local) = l.split_whitespace().nth(3) {
                apps.push(json!({"host": host, "kind": "http-server", "listen": local}));
            }
        }
        if !ss.trim().is_empty() {
            warnings.push(format!("{host}: listening sockets recorded as http-server apps without routes (they answer 404)"));
        }
    }
    serde_json::from_str(&link).context("parsing ip-link.json")
}

/// A bundle from hosts reached through `exec` (the nodes of a kind cluster
/// through `docker exec`). Veths are paired by their mutual peer indexes
/// (`link_index` of each end is the other's `ifindex`).
pub fn snapshot_via(hosts: &[(String, Exec)], out: &Path, extras: Extras) -> Result<Vec<String>> {
    std::fs::create_dir_all(out)?;
    let mut apps = extras.apps.clone();
    let mut warnings = Vec::new();
    let mut links_json: BTreeMap<String, Value> = BTreeMap::new();
    for (host, exec) in hosts {
        let v = collect_host(
            exec.as_ref(),
            &out.join(host),
            host,
            &extras,
            &mut apps,
            &mut warnings,
        )?;
        links_json.insert(host.clone(), v);
    }
    let mut ends: Vec<(String, String, i64, i64)> = Vec::new(); // host, dev, ifindex, peer index
    for (h, devs) in &links_json {
        for d in devs.as_array().into_iter().flatten() {
            if d["linkinfo"]["info_kind"].as_str() == Some("veth") {
                if let (Some(n), Some(i), Some(p)) = (
                    d["ifname"].as_str(),
                    d["ifindex"].as_i64(),
                    d["link_index"].as_i64(),
                ) {
                    ends.push((h.clone(), n.to_string(), i, p));
                }
            }
        }
    }
    let mut links = Vec::new();
    for a in &ends {
        let peers: Vec<&(String, String, i64, i64)> = ends
            .iter()
            .filter(|b| b.0 != a.0 && b.2 == a.3 && b.3 == a.2)
            .collect();
        match peers.as_slice() {
            [b] => {
                let (x, y) = (format!("{}/{}", a.0, a.1), format!("{}/{}", b.0, b.1));
                if x < y {
                    links.push(json!({"a": x, "b": y}));
                }
            }
            [] => warnings.push(format!("{}/{}: veth peer outside the snapshot", a.0, a.1)),
            _ => warnings.push(format!("{}/{}: veth peer ambiguous by index", a.0, a.1)),
        }
    }
    let names: Vec<String> = hosts.iter().map(|(h, _)| h.clone()).collect();
    write_bundle(out, &names, links, &extras, apps)?;
    Ok(warnings)
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
        let ns2 = ns.clone();
        let exec = move |args: &[&str]| -> Result<String> {
            let mut a = vec!["ip", "netns", "exec", ns2.as_str()];
            a.extend_from_slice(args);
            run(&a, None, 30)
        };
        let link = collect_host(&exec, &dir, &host, &extras, &mut apps, &mut warnings)?;
        // `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over
        // /etc/resolv.conf: that is the namespace's resolver configuration.
        let rc = Path::new("/etc/netns").join(ns).join("resolv.conf");
        if let Ok(t) = std::fs::read_to_string(&rc) {
            std::fs::write(dir.join("resolv.conf"), t)?;
        }
        links_json.insert(host.clone(), link);
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
    let hosts: Vec<String> = names.iter().map(|n| host_of(n)).collect();
    write_bundle(out, &hosts, links, &extras, apps)?;
    Ok(warnings)
}

/// The apps and flows a snapshot bundle records beside the kernel state,
/// so that its replay runs the same servers and requests.
pub fn live_extras(world: &podpath_sim::world::World) -> Extras {
    let (daemons, files) = daemon_apps(world);
    let mut x = server_extras(world);
    x.apps.extend(daemons);
    x.files = files;
    x
}

/// The HAProxy and keepalived programs of the world as bundle apps, each
/// with its configuration file beside its host's other files
/// (`HOST/haproxy.cfg`, `HOST/keepalived.conf`; `-2`, `-3`... for a second
/// one on a host): the apps and the files.
fn daemon_apps(world: &podpath_sim::world::World) -> (Vec<Value>, Vec<(String, String)>) {
    let mut apps = Vec::new();
    let mut files: Vec<(String, String)> = Vec::new();
    for (h, list) in world.hosts.iter().zip(&world.apps) {
        for a in list {
            let (kind, base, ext, text) = match a {
                podpath_sim::app::App::Proxy(p) if p.program == "haproxy" => {
                    ("haproxy", "haproxy", "cfg", &p.config_text)
                }
                podpath_sim::app::App::Keepalived(k) => {
                    ("keepalived", "keepalived", "conf", &k.config_text)
                }
                _ => continue,
            };
            let mut n = 1;
            let mut path = format!("{}/{base}.{ext}", h.name);
            while files.iter().any(|(p, _)| *p == path) {
                n += 1;
                path = format!("{}/{base}-{n}.{ext}", h.name);
            }
            apps.push(json!({"host": h.name, "kind": kind, "config": path}));
            files.push((path, text.clone()));
        }
    }
    (apps, files)
}

/// The http-server and dns-server apps and the flows of the world.
fn server_extras(world: &podpath_sim::world::World) -> Extras {
    Extras {
        files: Vec::new(),
        apps: world
            .hosts
            .iter()
            .zip(&world.apps)
            .flat_map(|(h, apps)| {
                h.tcp.listeners.iter().filter_map(move |(port, (_, app))| match &apps[*app] {
                    podpath_sim::app::App::HttpServer(s) => Some(serde_json::json!({
                        "host": h.name, "kind": "http-server", "listen": format!("0.0.0.0:{port}"),
                        "routes": s.routes.iter().map(|(p, r)| (p.clone(), serde_json::json!({"status": r.status, "content_type": r.content_type, "body": r.body}))).collect::<serde_json::Map<_, _>>(),
                    })),
                    _ => None,
                }).chain(h.udp_listeners.iter().filter_map(move |(port, app)| match &apps[*app] {
                    podpath_sim::app::App::DnsServer(d) => Some(serde_json::json!({
                        "host": h.name, "kind": "dns-server", "listen": format!("0.0.0.0:{port}"),
                        "records": d.records.iter().map(|(n, a)| (n.clone(), serde_json::json!(a.to_string()))).collect::<serde_json::Map<_, _>>(),
                    })),
                    _ => None,
                }))
            })
            .collect(),
        flows: world
            .flows
            .iter()
            .flat_map(|f| {
                let (dst, request) = match &f.request {
                    podpath_sim::world::Request::HttpGet { dst, port, host_header, path, .. } => {
                        (format!("{dst}:{port}"), format!("HTTP GET {path} Host: {host_header}"))
                    }
                    podpath_sim::world::Request::DnsA { server, port, name } => (format!("{server}:{port}"), format!("DNS A {name}")),
                    podpath_sim::world::Request::Ping { dst, size, df } => (format!("{dst}:0"), format!("PING size {size} df {df}")),
                    podpath_sim::world::Request::Resolve { name, then: None } => ("0.0.0.0:0".to_string(), format!("RESOLVE {name}")),
                    podpath_sim::world::Request::Resolve { name, then: Some(t) } => (format!("0.0.0.0:{}", t.port), format!("RESOLVE {name} HTTP GET {} Host: {}", t.path, t.host_header)),
                };
                let from = world.hosts[f.from].name.clone();
                (0..f.count).map(move |k| {
                    let mut flow = serde_json::json!({
                        "id": if f.count > 1 { format!("{}#{}", f.id, k + 1) } else { f.id.clone() },
                        "from": from, "proto": if request.starts_with("DNS") || (request.starts_with("RESOLVE") && !request.contains(" HTTP GET ")) { "udp" } else if request.starts_with("PING") { "icmp" } else { "tcp" }, "dst": dst,
                        "request": request,
                    });
                    // The live run sends each flow at its time, or right
                    // after the one before when that is later: a flow at 0
                    // runs after the previous one (no `start`).
                    let at = f.start_ns + k as u64 * f.interval_ns;
                    if at > 0 && !f.after_previous {
                        flow["start"] = serde_json::json!(at as f64 / 1e9);
                    }
                    flow
                })
            })
            .collect(),
    }
}

#[cfg(test)]
mod live_extras_tests {
    #[test]
    fn haproxy_and_keepalived_go_into_the_bundle_with_their_config_files() {
        let e = crate::scenarios::find("keepalived-nodeport").expect("embedded scenario");
        let w = podpath_sim::scenario::load(e.text, "keepalived-nodeport", None).expect("loads");
        let x = super::live_extras(&w);
        let daemons: Vec<String> = x
            .apps
            .iter()
            .filter(|a| a["config"].is_string())
            .map(|a| format!("{} {} {}", a["host"], a["kind"], a["config"]))
            .collect();
        assert_eq!(
            daemons,
            [
                r#""lb1" "keepalived" "lb1/keepalived.conf""#,
                r#""lb1" "haproxy" "lb1/haproxy.cfg""#,
                r#""lb2" "keepalived" "lb2/keepalived.conf""#,
                r#""lb2" "haproxy" "lb2/haproxy.cfg""#,
            ]
        );
        let paths: Vec<&str> = x.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "lb1/keepalived.conf",
                "lb1/haproxy.cfg",
                "lb2/keepalived.conf",
                "lb2/haproxy.cfg"
            ]
        );
        // the text as the scenario gave it
        let (_, ka) = &x.files[0];
        assert!(
            ka.contains("state MASTER") && ka.contains("10.1.1.200/24"),
            "{ka}"
        );
        let (_, ha) = &x.files[3];
        assert!(ha.contains("bind 10.1.1.200:30000"), "{ha}");
    }
}
