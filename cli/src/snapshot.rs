//! `podpath snapshot`: a `podpath-snapshot/1` bundle of network namespaces
//! on this machine.
//!
//! - `--netns PREFIX`: the namespaces under /run/netns whose names start
//!   with PREFIX (each becomes a host named without the prefix);
//! - `--host`: the machine itself: the root namespace and every other one,
//!   named or held only by processes ([`scan`]), each entered to read it;
//! - `--kind`: the nodes of a kind cluster, through `docker exec`
//!   ([`snapshot_via`]).
//!
//! Per host: `ip -j -d link show`, `ip -j addr show`, `ip -j route show table
//! all`, `ip -j rule show`, `ip -j neigh show`, `bridge -j fdb show`,
//! `iptables-save`, `nft list ruleset` (when nft is installed), `sysctl -a`
//! (its `net.*` lines); with `--host`, the machine's /etc/hosts as
//! `etc/hosts`, and the names and ids of /etc/passwd and /etc/group as
//! `etc/passwd` and `etc/group` ([`name_id_lines`]). `bundle.json` lists the hosts, the veth links
//! between them ([`links`]), the listening sockets as apps, the flows to
//! replay, and the files a missing tool left out. A snapshot only reads:
//! every command it runs is a dump.

mod links;
pub mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::live::run;

/// What to write beside the kernel state.
#[derive(Default)]
pub struct Extras {
    /// Apps as bundle entries (`{"host","kind","listen",...}`); when empty,
    /// the listening sockets become apps (TCP: http-server without routes).
    pub apps: Vec<Value>,
    pub flows: Vec<Value>,
    /// Files the apps name (`config`), as (path in the bundle, text).
    pub files: Vec<(String, String)>,
}

/// Whether `tool` is a file in one of $PATH's directories.
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// The optional tools a snapshot runs, and the ones not installed. (The
/// namespaces are entered with their network namespace only: the tools
/// are this machine's, found on this process's PATH.)
pub struct Tools {
    missing: BTreeSet<&'static str>,
}

impl Tools {
    pub fn probe() -> Tools {
        Tools {
            missing: [
                "bridge",
                "iptables-save",
                "ip6tables-save",
                "nft",
                "sysctl",
                "ss",
                "ipset",
                "ipvsadm",
                "conntrack",
            ]
            .into_iter()
            .filter(|t| !on_path(t))
            .collect(),
        }
    }
    /// Every tool taken as installed (the commands run elsewhere, as on a
    /// kind node through `docker exec`).
    pub fn all() -> Tools {
        Tools {
            missing: BTreeSet::new(),
        }
    }
    fn has(&self, t: &str) -> bool {
        !self.missing.contains(t)
    }
    /// One warning line per missing tool.
    pub fn warnings(&self) -> Vec<String> {
        self.missing
            .iter()
            .map(|t| {
                let what = match *t {
                    "bridge" => "bridge-fdb.json (the bridges' forwarding entries)",
                    "iptables-save" => "iptables-save.txt (the iptables rules)",
                    "ip6tables-save" => "ip6tables-save.txt (the ip6tables rules)",
                    "nft" => "nft-ruleset.txt (the nftables rules)",
                    "sysctl" => "sysctl.txt (the kernel's network settings: defaults assumed)",
                    "ipset" => "ipset-save.txt (a ruleset's -m set needs it)",
                    "ipvsadm" => "ipvsadm-save.txt (the IPVS table, for kube-proxy's ipvs mode)",
                    "conntrack" => {
                        "conntrack.txt (the connections tracked: the replay starts with none)"
                    }
                    _ => "the listening sockets (no apps recorded)",
                };
                format!("{t} is not installed: no {what}")
            })
            .collect()
    }
}

/// Writes `bundle.json`.
fn write_bundle(
    out: &Path,
    hosts: Vec<Value>,
    links: Vec<Value>,
    extras: &Extras,
    apps: Vec<Value>,
    missing: Vec<Value>,
) -> Result<()> {
    let mut bundle = json!({
        "format": "podpath-snapshot/1",
        "hosts": hosts,
        "links": links,
        "segments": [],
        "flows": extras.flows,
        "apps": apps,
    });
    if !missing.is_empty() {
        bundle["missing"] = Value::Array(missing);
    }
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

/// [`Exec`] borrowing what it runs with.
pub type ExecRef<'a> = Box<dyn Fn(&[&str]) -> Result<String> + 'a>;

/// What collecting hosts accumulates: apps, warnings, absent files.
struct Acc<'a> {
    extras: &'a Extras,
    tools: &'a Tools,
    apps: Vec<Value>,
    warnings: Vec<String>,
    missing: Vec<Value>,
}

/// The listening sockets of `ss -Hlntu` (and `ss -HlnS`) as apps: TCP
/// listeners become http-servers without routes (they answer 404), UDP
/// sockets `udp-listener`s and SCTP ones `sctp-listener`s (the replay runs
/// them as sinks: it says so). One app per protocol and port (an IPv4 and
/// an IPv6 socket of one port are one).
fn listeners(ss: &str, host: &str) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    let mut apps = Vec::new();
    for l in ss.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        // Netid State Recv-Q Send-Q Local:Port Peer:Port
        let (Some(netid), Some(local)) = (f.first(), f.get(4)) else {
            continue;
        };
        let port = local.rsplit(':').next().unwrap_or("");
        if !seen.insert((netid.to_string(), port.to_string())) {
            continue;
        }
        match *netid {
            "tcp" => apps.push(json!({"host": host, "kind": "http-server", "listen": local})),
            "udp" => apps.push(json!({"host": host, "kind": "udp-listener", "listen": local})),
            "sctp" => apps.push(json!({"host": host, "kind": "sctp-listener", "listen": local})),
            _ => {}
        }
    }
    apps
}

/// Writes one file of a host from a tool's output, or records it as
/// missing when the tool is not installed.
fn dump(
    exec: &dyn Fn(&[&str]) -> Result<String>,
    acc: &mut Acc,
    dir: &Path,
    host: &str,
    file: &str,
    argv: &[&str],
) -> Result<()> {
    if !acc.tools.has(argv[0]) {
        acc.missing.push(
            json!({"host": host, "file": file, "why": format!("{} is not installed", argv[0])}),
        );
        return Ok(());
    }
    std::fs::write(dir.join(file), exec(argv)?)?;
    Ok(())
}

/// Collects one host's network state into `dir`; returns its `ip -j -d
/// link` JSON (for pairing veths).
fn collect_host(
    exec: &dyn Fn(&[&str]) -> Result<String>,
    dir: &Path,
    host: &str,
    acc: &mut Acc,
) -> Result<Value> {
    std::fs::create_dir_all(dir)?;
    let link = exec(&["ip", "-j", "-d", "link", "show"])?;
    std::fs::write(dir.join("ip-link.json"), &link)?;
    for (file, argv) in [
        ("ip-addr.json", &["ip", "-j", "addr", "show"][..]),
        (
            "ip-route.json",
            &["ip", "-j", "route", "show", "table", "all"],
        ),
        ("ip-rule.json", &["ip", "-j", "rule", "show"]),
        ("ip-neigh.json", &["ip", "-j", "neigh", "show"]),
        ("bridge-fdb.json", &["bridge", "-j", "fdb", "show"]),
        ("iptables-save.txt", &["iptables-save"]),
    ] {
        dump(exec, acc, dir, host, file, argv)?;
    }
    // `ip rule` lists IPv4's rules alone (`ip route show table all` has
    // both families' routes); optional in a bundle (a kernel without IPv6
    // has none)
    match exec(&["ip", "-6", "-j", "rule", "show"]) {
        Ok(t) => std::fs::write(dir.join("ip6-rule.json"), t)?,
        Err(e) => acc.warnings.push(format!("{host}: ip -6 rule: {e:#}")),
    }
    // ip6tables (IPv6 packets' rules); optional in a bundle
    if acc.tools.has("ip6tables-save") {
        match exec(&["ip6tables-save"]) {
            Ok(t) => std::fs::write(dir.join("ip6tables-save.txt"), t)?,
            Err(e) => acc.warnings.push(format!("{host}: ip6tables-save: {e:#}")),
        }
    }
    // nftables tables (kube-proxy nftables mode); optional in a bundle
    if acc.tools.has("nft") {
        match exec(&["nft", "list", "ruleset"]) {
            Ok(t) => std::fs::write(dir.join("nft-ruleset.txt"), t)?,
            Err(e) => acc
                .warnings
                .push(format!("{host}: nft list ruleset: {e:#}")),
        }
    } else {
        acc.missing
            .push(json!({"host": host, "file": "nft-ruleset.txt", "why": "nft is not installed"}));
    }
    // ipsets, loaded before iptables by the replay; optional in a bundle
    if acc.tools.has("ipset") {
        match exec(&["ipset", "save"]) {
            Ok(t) => std::fs::write(dir.join("ipset-save.txt"), t)?,
            Err(e) => acc.warnings.push(format!("{host}: ipset save: {e:#}")),
        }
    }
    // the IPVS table and the tracked connections; optional in a bundle
    for (tool, file, argv) in [
        ("ipvsadm", "ipvsadm-save.txt", &["ipvsadm", "-S", "-n"][..]),
        (
            "conntrack",
            "conntrack.txt",
            &["sh", "-c", "conntrack -L 2>/dev/null; true"],
        ),
    ] {
        if acc.tools.has(tool) {
            match exec(argv) {
                Ok(t) => std::fs::write(dir.join(file), t)?,
                Err(e) => acc.warnings.push(format!("{host}: {tool}: {e:#}")),
            }
        }
    }
    if acc.tools.has("sysctl") {
        let sysctl = exec(&["sh", "-c", "sysctl -a 2>/dev/null; true"])?;
        // Only the network sysctls: the rest of `sysctl -a` (host name, boot
        // id, ...) says nothing about packets and should not leave the machine.
        let net: String = sysctl
            .lines()
            .filter(|l| l.starts_with("net."))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.join("sysctl.txt"), net)?;
    } else {
        acc.missing
            .push(json!({"host": host, "file": "sysctl.txt", "why": "sysctl is not installed"}));
    }
    if acc.extras.apps.is_empty() && acc.tools.has("ss") {
        let mut ss = exec(&["ss", "-Hlntu"])?;
        // SCTP sockets: `ss -S` needs the kernel's sctp_diag; on a kernel
        // without SCTP it fails or lists nothing, and there are none
        if let Ok(s) = exec(&["ss", "-HlnS"]) {
            ss.push_str(&s);
        }
        // the kernel's own VXLAN sockets (one per vxlan device's port,
        // IPv4 and IPv6) are no program's
        let vxlan_ports: BTreeSet<String> = serde_json::from_str::<Value>(&link)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|l| l["linkinfo"]["info_kind"] == "vxlan")
            .filter_map(|l| l["linkinfo"]["info_data"]["port"].as_u64())
            .map(|p| p.to_string())
            .collect();
        let found: Vec<Value> = listeners(&ss, host)
            .into_iter()
            .filter(|a| {
                let port = a["listen"].as_str().and_then(|l| l.rsplit(':').next());
                !(a["kind"] == "udp-listener" && port.is_some_and(|p| vxlan_ports.contains(p)))
            })
            .collect();
        if !found.is_empty() {
            acc.warnings.push(format!("{host}: listening sockets recorded as apps: TCP as http-server without routes (they answer 404), UDP as udp-listener and SCTP as sctp-listener (sinks in the replay: they receive and answer nothing)"));
        }
        acc.apps.extend(found);
    }
    serde_json::from_str(&link).context("parsing ip-link.json")
}

/// A bundle from hosts reached through `exec` (the nodes of a kind cluster
/// through `docker exec`). Veths are paired by their mutual peer indexes
/// (`link_index` of each end is the other's `ifindex`).
pub fn snapshot_via(hosts: &[(String, Exec)], out: &Path, extras: Extras) -> Result<Vec<String>> {
    let targets: Vec<Target> = hosts
        .iter()
        .map(|(h, e)| Target {
            host: h.clone(),
            exec: Box::new(move |a: &[&str]| e(a)),
            netns_name: None,
            resolv: None,
            about: None,
            required: true,
        })
        .collect();
    snapshot_targets(targets, out, &extras, &Tools::all(), false)
}

/// One namespace to read.
pub struct Target<'a> {
    /// Its host in the bundle.
    pub host: String,
    /// Runs a command in it.
    pub exec: ExecRef<'a>,
    /// Its name under /run/netns (for the nsids `ip netns list-id` names).
    pub netns_name: Option<String>,
    /// Its resolver configuration (`/etc/netns/NAME/resolv.conf`).
    pub resolv: Option<PathBuf>,
    /// Where it was found (`HOST/netns.json`), for `--host`.
    pub about: Option<Value>,
    /// Whether failing to read it fails the snapshot; when not, it is left
    /// out with a warning (a pod's namespace that went away meanwhile).
    pub required: bool,
}

/// Reads every target into `out` and writes `bundle.json`; returns the
/// warnings. With `nsids`, each namespace's `ip -j netns list-id` names the
/// peers' namespaces where it can.
fn snapshot_targets(
    targets: Vec<Target>,
    out: &Path,
    extras: &Extras,
    tools: &Tools,
    nsids: bool,
) -> Result<Vec<String>> {
    std::fs::create_dir_all(out)?;
    let mut acc = Acc {
        extras,
        tools,
        apps: extras.apps.clone(),
        warnings: tools.warnings(),
        missing: Vec::new(),
    };
    let mut views = Vec::new();
    let mut hosts = Vec::new();
    for t in &targets {
        let dir = out.join(&t.host);
        let link = match collect_host(t.exec.as_ref(), &dir, &t.host, &mut acc) {
            Ok(l) => l,
            Err(e) if !t.required => {
                acc.warnings
                    .push(format!("{}: not read, left out: {e:#}", t.host));
                let _ = std::fs::remove_dir_all(&dir);
                acc.apps
                    .retain(|a| a["host"].as_str() != Some(t.host.as_str()));
                acc.missing
                    .retain(|a| a["host"].as_str() != Some(t.host.as_str()));
                continue;
            }
            Err(e) => return Err(e.context(format!("reading namespace {}", t.host))),
        };
        if let Some(rc) = &t.resolv {
            if let Ok(text) = std::fs::read_to_string(rc) {
                std::fs::write(dir.join("resolv.conf"), text)?;
            }
        }
        if let Some(a) = &t.about {
            std::fs::write(
                dir.join("netns.json"),
                serde_json::to_string_pretty(a)? + "\n",
            )?;
        }
        let ids = if nsids {
            (t.exec)(&["ip", "-j", "netns", "list-id"])
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .map(|v| links::nsid_names(&v))
                .unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        views.push(links::NsView {
            host: t.host.clone(),
            netns_name: t.netns_name.clone(),
            links: link,
            nsid_names: ids,
        });
        hosts.push(json!(t.host));
    }
    let (links, w) = links::veth_links(&views);
    acc.warnings.extend(w);
    write_bundle(out, hosts, links, extras, acc.apps, acc.missing)?;
    Ok(acc.warnings)
}

/// `ip netns exec NAME ARGS...`: a command in a namespace under /run/netns
/// (it also bind-mounts /etc/netns/NAME/* over /etc, in a mount namespace
/// of its own: ip/ipnetns.c, `netns_exec` and `bind_etc`).
fn in_named(ns: &str) -> impl Fn(&[&str]) -> Result<String> + '_ {
    move |args: &[&str]| {
        let mut a = vec!["ip", "netns", "exec", ns];
        a.extend_from_slice(args);
        run(&a, None, 30)
    }
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
    let targets: Vec<Target> = names
        .iter()
        .map(|ns| Target {
            host: ns[prefix.len()..].to_string(),
            exec: Box::new(in_named(ns)),
            netns_name: Some(ns.clone()),
            // `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over
            // /etc/resolv.conf: that is the namespace's resolver configuration.
            resolv: Some(Path::new("/etc/netns").join(ns).join("resolv.conf")),
            about: None,
            required: true,
        })
        .collect();
    snapshot_targets(targets, out, &extras, &Tools::probe(), true)
}

/// `podpath snapshot --host`: the machine's root namespace and every other
/// network namespace on it ([`scan::scan`]), or those `only` selects
/// (`root`, a /run/netns name, `pid:PID`, a host name). Namespaces held
/// only by processes are entered with `nsenter --net=/proc/PID/ns/net`
/// (util-linux).
pub fn snapshot_host(only: &[String], out: &Path, extras: Extras) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut m = scan::read_machine(&mut warnings);
    // Pod names: from the CRI (crictl), else from containerd's task
    // bundles where it runs.
    m.pods = if on_path("crictl") {
        scan::cri_pods(&mut warnings)
    } else {
        scan::containerd_pods(Path::new(scan::CONTAINERD_TASKS), &|p: &str| {
            scan::ns_key(Path::new(p))
        })
    };
    let found = scan::scan(&m);
    for sel in only {
        if !found.iter().any(|f| f.selected_by(sel, &m.procs)) {
            bail!("--only-ns {sel}: no such network namespace on this machine (give root, a name under /run/netns, pid:PID or a host name)");
        }
    }
    let found: Vec<scan::Found> = found
        .into_iter()
        .filter(|f| only.is_empty() || only.iter().any(|s| f.selected_by(s, &m.procs)))
        .collect();
    let nsenter = on_path("nsenter");
    let mut targets = Vec::new();
    for f in &found {
        let exec: ExecRef = match &f.enter {
            scan::Enter::Here => Box::new(|a: &[&str]| run(a, None, 30)),
            scan::Enter::Named(n) => Box::new(in_named(n)),
            scan::Enter::Pid(_) if !nsenter => {
                warnings.push(format!("{}: not read: entering a namespace held by a process needs nsenter (util-linux), which is not installed", f.host));
                continue;
            }
            scan::Enter::Pid(pid) => {
                let net = format!("--net=/proc/{pid}/ns/net");
                Box::new(move |a: &[&str]| {
                    let mut v = vec!["nsenter", net.as_str()];
                    v.extend_from_slice(a);
                    run(&v, None, 30)
                })
            }
        };
        let netns_name = match &f.origin {
            scan::Origin::Named(n) => Some(n.clone()),
            _ => None,
        };
        targets.push(Target {
            host: f.host.clone(),
            exec,
            resolv: netns_name
                .as_ref()
                .map(|n| Path::new("/etc/netns").join(n).join("resolv.conf")),
            netns_name,
            about: Some(f.about()),
            // the machine's own namespace, and those asked for by name
            required: f.origin == scan::Origin::Root || !only.is_empty(),
        });
    }
    if targets.is_empty() {
        bail!("no network namespace could be read");
    }
    warnings.extend(snapshot_targets(
        targets,
        out,
        &extras,
        &Tools::probe(),
        true,
    )?);
    // The machine's /etc/hosts, as `etc/hosts`: what its resolver reads
    // first (nsswitch `hosts: files ...`), so a host name in a dump
    // written without -n (ipvsadm -S) resolves on replay as it did here.
    match std::fs::read_to_string("/etc/hosts") {
        Ok(t) => {
            std::fs::create_dir_all(out.join("etc"))?;
            std::fs::write(out.join("etc/hosts"), t)?;
        }
        Err(e) => warnings.push(format!("/etc/hosts: not read ({e}); etc/hosts left out")),
    }
    // /etc/passwd and /etc/group, as `etc/passwd` and `etc/group`: the
    // names `nft -f` (skuid/skgid) and iptables-restore (-m owner) resolve
    // when they load rules (podpath_sim::net::names). Only each entry's
    // name and id are written (`NAME:x:UID:GID:::`, `NAME:x:GID:`): the
    // password field, GECOS, home, shell and group members stay behind;
    // each is still a file glibc's files backend reads.
    for (src, dst, passwd) in [
        ("/etc/passwd", "etc/passwd", true),
        ("/etc/group", "etc/group", false),
    ] {
        match std::fs::read_to_string(src) {
            Ok(t) => {
                std::fs::create_dir_all(out.join("etc"))?;
                std::fs::write(out.join(dst), name_id_lines(&t, passwd))?;
            }
            Err(e) => warnings.push(format!("{src}: not read ({e}); {dst} left out")),
        }
    }
    Ok(warnings)
}

/// The name and id fields of a passwd (`NAME:x:UID:GID:::`) or group
/// (`NAME:x:GID:`) file, in its order; comment and NIS compat lines and
/// lines without a numeric id are left out.
pub fn name_id_lines(text: &str, passwd: bool) -> String {
    let mut out = String::new();
    for l in text.lines() {
        if l.starts_with(['#', '+', '-']) {
            continue;
        }
        let f: Vec<&str> = l.split(':').collect();
        let (Some(name), Some(id)) = (f.first(), f.get(2)) else {
            continue;
        };
        if name.is_empty() || id.parse::<u32>().is_err() {
            continue;
        }
        if passwd {
            let gid = f.get(3).filter(|g| g.parse::<u32>().is_ok()).unwrap_or(id);
            out.push_str(&format!("{name}:x:{id}:{gid}:::\n"));
        } else {
            out.push_str(&format!("{name}:x:{id}:\n"));
        }
    }
    out
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
                h.tcp.listeners.iter().filter_map(move |(port, (bound, app))| match &apps[*app] {
                    podpath_sim::app::App::HttpServer(s) => Some(serde_json::json!({
                        "host": h.name, "kind": "http-server", "listen": podpath_sim::scenario::bundle::listen_text(*bound, *port),
                        "routes": s.routes.iter().map(|(p, r)| (p.clone(), serde_json::json!({"status": r.status, "content_type": r.content_type, "body": r.body}))).collect::<serde_json::Map<_, _>>(),
                    })),
                    _ => None,
                }).chain(h.udp_listeners.iter().filter_map(move |(port, app)| match &apps[*app] {
                    podpath_sim::app::App::DnsServer(d) => Some(serde_json::json!({
                        "host": h.name, "kind": "dns-server", "listen": format!("0.0.0.0:{port}"),
                        // a name's A and AAAA addresses, space-separated
                        "records": d.records.keys().chain(d.records6.keys()).collect::<std::collections::BTreeSet<_>>().into_iter().map(|n| {
                            let v: Vec<String> = d.records.get(n).map(|a| a.to_string()).into_iter().chain(d.records6.get(n).map(|a| a.to_string())).collect();
                            (n.clone(), serde_json::json!(v.join(" ")))
                        }).collect::<serde_json::Map<_, _>>(),
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
                        (podpath_sim::wire::endpoint(*dst, *port), format!("HTTP GET {path} Host: {host_header}"))
                    }
                    podpath_sim::world::Request::DnsA { server, port, name, qtype } => (podpath_sim::wire::endpoint(*server, *port), format!("DNS {} {name}", podpath_sim::wire::dns::qtype_name(*qtype))),
                    podpath_sim::world::Request::Udp { dst, port, payload } => (podpath_sim::wire::endpoint(*dst, *port), format!("UDP {}", String::from_utf8_lossy(payload))),
                    podpath_sim::world::Request::Sctp { dst, port, payload } => (format!("{dst}:{port}"), match payload { Some(p) => format!("SCTP {}", String::from_utf8_lossy(p)), None => "SCTP".into() }),
                    podpath_sim::world::Request::Ping { dst, size, df, .. } => (format!("{dst}:0"), format!("PING size {size} df {df}")),
                    podpath_sim::world::Request::Ping6 { dst, size, count, hlim } => (dst.to_string(), format!("PING6 size {size} count {count}{}", hlim.map(|h| format!(" hlim {h}")).unwrap_or_default())),
                    podpath_sim::world::Request::Resolve { name, then: None } => ("0.0.0.0:0".to_string(), format!("RESOLVE {name}")),
                    podpath_sim::world::Request::Resolve { name, then: Some(t) } => (format!("0.0.0.0:{}", t.port), format!("RESOLVE {}{name} HTTP GET {} Host: {}", match t.family { podpath_sim::app::IpResolve::V6 => "-6 ", podpath_sim::app::IpResolve::V4 => "-4 ", podpath_sim::app::IpResolve::Whatever => "" }, t.path, t.host_header)),
                };
                let from = world.hosts[f.from].name.clone();
                (0..f.count).map(move |k| {
                    let mut flow = serde_json::json!({
                        "id": if f.count > 1 { format!("{}#{}", f.id, k + 1) } else { f.id.clone() },
                        "from": from, "proto": if request.starts_with("DNS") || request.starts_with("UDP") || (request.starts_with("RESOLVE") && !request.contains(" HTTP GET ")) { "udp" } else if request.starts_with("PING") { "icmp" } else { "tcp" }, "dst": dst,
                        "request": request,
                    });
                    // The live run sends each flow at its time, or right
                    // after the one before when that is later: a flow at 0
                    // runs after the previous one (no `start`).
                    let at = f.start_ns + k as u64 * f.interval_ns;
                    if at > 0 && !f.after_previous {
                        flow["start"] = serde_json::json!(at as f64 / 1e9);
                    }
                    if let Some(t) = f.client.timeout_ns {
                        flow["timeout_s"] = serde_json::json!(t as f64 / 1e9);
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

#[cfg(test)]
mod etc_tests {
    /// A real /etc/passwd and /etc/group shape: only names and ids go
    /// into the bundle, and what podpath reads back from them is what it
    /// reads from the originals.
    #[test]
    fn passwd_and_group_keep_names_and_ids_only() {
        use podpath_sim::net::names::parse_ids;
        let pw = "root:x:0:0:root:/root:/bin/bash\n#c\n+@nis\njava:$6$secret:2001:2001:Java,,,:/home/java:/bin/sh\n";
        let out = super::name_id_lines(pw, true);
        assert_eq!(out, "root:x:0:0:::\njava:x:2001:2001:::\n");
        assert!(!out.contains("secret") && !out.contains("/home"));
        assert_eq!(parse_ids(&out), parse_ids(pw));
        let gr = "wheel:x:10:root,java\njava:x:2001:\n";
        let out = super::name_id_lines(gr, false);
        assert_eq!(out, "wheel:x:10:\njava:x:2001:\n");
        assert_eq!(parse_ids(&out), parse_ids(gr));
    }
}

#[cfg(test)]
mod listeners_tests {
    /// `ss -Hlntu` and `ss -HlnS` lines (iproute2's columns: Netid State
    /// Recv-Q Send-Q Local:Port Peer:Port): one app per protocol and port.
    #[test]
    fn tcp_udp_and_sctp_sockets_become_apps() {
        let ss = "tcp   LISTEN 0 4096  0.0.0.0:22      0.0.0.0:*\n\
                  tcp   LISTEN 0 4096     [::]:22         [::]:*\n\
                  udp   UNCONN 0 0     0.0.0.0:53      0.0.0.0:*\n\
                  sctp  LISTEN 0 128   0.0.0.0:3868    *:*\n";
        let apps = super::listeners(ss, "n1");
        let kinds: Vec<String> = apps
            .iter()
            .map(|a| {
                format!(
                    "{} {}",
                    a["kind"].as_str().unwrap(),
                    a["listen"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "http-server 0.0.0.0:22",
                "udp-listener 0.0.0.0:53",
                "sctp-listener 0.0.0.0:3868"
            ]
        );
    }
}
