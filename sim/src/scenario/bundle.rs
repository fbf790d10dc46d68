//! Snapshot bundles (`podpath-snapshot/1`): the state of real machines,
//! imported as a world to replay.
//!
//! A bundle is a directory: `bundle.json` (hosts, veth links, apps, flows) and,
//! per host, the JSON of `ip -j -d link show`, `ip -j addr show`, `ip -j route
//! show table all`, `ip -j rule show`, `ip -j neigh show`, `bridge -j fdb
//! show`, plus `iptables-save.txt` and `sysctl.txt`. Everything the stack uses
//! is honoured as found: MACs, MTUs, bridge membership and hairpin flags,
//! vxlan settings and FDB, every route of every table (the kernel's own local
//! and connected routes included), every rule, neighbour entries with their
//! states, the ruleset, the sysctls podpath reads. What podpath does not model
//! is reported as a warning naming the host and the file, never dropped
//! silently.
//!
//! The loader reads through the closure it is handed (this crate does no I/O).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::ScenarioError;
use crate::app::{App, HttpResponseSpec, HttpServer};
use crate::det::host_rng;
use crate::net::fib::{self, IpRule, Route, RouteType, RuleAction};
use crate::net::host::{DevKind, Device, FdbEntry, Host, HostKind, Peer};
use crate::net::neigh::{NeighEntry, Nud};
use crate::net::netfilter::Ruleset;
use crate::net::overlay::VxlanCfg;
use crate::net::sysctl::Sysctl;
use crate::wire::Mac;
use crate::world::{FlowSpec, Request, World};

pub const FORMAT: &str = "podpath-snapshot/1";

/// Reads a file of the bundle by its path relative to the bundle directory.
pub type Reader<'a> = &'a dyn Fn(&str) -> Result<String, ReadError>;

/// Why a [`Reader`] cannot give a file of the bundle.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file is not in the bundle (its path).
    #[error("no such file: {0}")]
    NotFound(String),
    /// Reading the file at `path` failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn err(file: &str, msg: String) -> ScenarioError {
    ScenarioError {
        file: file.to_string(),
        line: 0,
        column: 0,
        key: String::new(),
        message: msg,
    }
}

fn json(read: Reader, file: &str) -> Result<Value, ScenarioError> {
    let text = read(file).map_err(|e| err(file, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| ScenarioError {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        key: String::new(),
        message: e.to_string(),
    })
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(|a| a.as_slice()).unwrap_or(&[])
}

fn parse_prefix(s: &str, len: Option<u64>) -> Option<Ipv4Net> {
    if s == "default" || s == "all" {
        return Some(Ipv4Net::default());
    }
    if let Some((a, p)) = s.split_once('/') {
        return Ipv4Net::new(a.parse().ok()?, p.parse().ok()?)
            .ok()
            .map(|n| n.trunc());
    }
    let a: Ipv4Addr = s.parse().ok()?;
    Ipv4Net::new(a, len.unwrap_or(32) as u8)
        .ok()
        .map(|n| n.trunc())
}

fn hex_or_dec(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().map(|x| x as u32),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

/// `bundle.json`: every key is read, or refused by name.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleDoc {
    format: String,
    hosts: Vec<HostRef>,
    #[serde(default)]
    links: Vec<LinkDoc>,
    #[serde(default)]
    segments: Vec<Value>,
    #[serde(default)]
    flows: Vec<FlowDoc>,
    #[serde(default)]
    apps: Vec<AppDoc>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum HostRef {
    Name(String),
    Entry { name: String },
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkDoc {
    a: String,
    b: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowDoc {
    #[serde(default)]
    id: Option<String>,
    from: String,
    #[serde(default)]
    proto: Option<String>,
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    request: Option<String>,
    #[serde(default)]
    src_port_hint: Option<u16>,
    /// When the flow starts (podpath's own snapshots write it).
    #[serde(default)]
    start_ns: Option<u64>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AppDoc {
    host: String,
    kind: String,
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    routes: BTreeMap<String, RouteSpecDoc>,
    #[serde(default)]
    records: BTreeMap<String, String>,
    #[serde(default)]
    config: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpecDoc {
    #[serde(default = "ok200")]
    status: u16,
    #[serde(default = "text_plain")]
    content_type: String,
    #[serde(default)]
    body: String,
}

fn ok200() -> u16 {
    200
}
fn text_plain() -> String {
    "text/plain".into()
}

/// Reads `bundle.json` into its typed form; an unknown key or a value of
/// the wrong type is an error naming the key's path, line and column.
fn bundle_doc(read: Reader) -> Result<BundleDoc, ScenarioError> {
    let file = "bundle.json";
    let text = read(file).map_err(|e| err(file, e.to_string()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ScenarioError {
            file: file.to_string(),
            line: inner.line(),
            column: inner.column(),
            key: if path == "." { String::new() } else { path },
            message: inner
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string(),
        }
    })
}

/// Loads a bundle. Returns the world and the warnings.
pub fn load(read: Reader, name: &str, seed: u64) -> Result<(World, Vec<String>), ScenarioError> {
    let b = bundle_doc(read)?;
    if b.format != FORMAT {
        return Err(err(
            "bundle.json",
            format!("format must be \"{FORMAT}\", found \"{}\"", b.format),
        ));
    }
    let mut warnings = Vec::new();
    let host_names: Vec<String> = b
        .hosts
        .iter()
        .map(|h| match h {
            HostRef::Name(n) | HostRef::Entry { name: n } => n.clone(),
        })
        .collect();
    if host_names.is_empty() {
        return Err(err("bundle.json", "no hosts".into()));
    }
    let mut hosts = Vec::new();
    let mut apps: Vec<Vec<App>> = Vec::new();
    for (hi, hn) in host_names.iter().enumerate() {
        let mut h = Host::new(hi, hn, HostKind::Node, host_rng(seed, hn));
        load_host(read, &mut h, &mut warnings)?;
        hosts.push(h);
        apps.push(Vec::new());
    }
    link_hosts(&b.links, &host_names, &mut hosts)?;
    if !b.segments.is_empty() {
        warnings
            .push("bundle.json: segments are not imported yet; give their bridges as hosts".into());
    }
    start_apps(&b.apps, &host_names, &mut hosts, &mut apps, &mut warnings)?;
    let mut flows = Vec::new();
    for (fi, f) in b.flows.iter().enumerate() {
        flows.push(flow_of(fi, f, &host_names, &mut warnings)?);
    }
    Ok((
        World {
            faults: Vec::new(),
            scenario: name.to_string(),
            seed,
            hosts,
            apps,
            flows,
            horizon_ns: 300_000_000_000,
            resyncs: Vec::new(),
        },
        warnings,
    ))
}

/// `links`: each joins two interfaces, `HOST/IF`, with no latency.
fn link_hosts(
    links: &[LinkDoc],
    host_names: &[String],
    hosts: &mut [Host],
) -> Result<(), ScenarioError> {
    for (li, l) in links.iter().enumerate() {
        let end = |k: &str| -> Result<(usize, usize), ScenarioError> {
            let s = if k == "a" { &l.a } else { &l.b };
            let (hn, dn) = s.split_once('/').ok_or_else(|| {
                err(
                    "bundle.json",
                    format!("links[{li}].{k}: '{s}' is not HOST/IF"),
                )
            })?;
            let hi = host_names
                .iter()
                .position(|x| x == hn)
                .ok_or_else(|| err("bundle.json", format!("links[{li}].{k}: no host '{hn}'")))?;
            let di = hosts[hi].dev_index(dn).ok_or_else(|| {
                err(
                    "bundle.json",
                    format!("links[{li}].{k}: no interface '{dn}' on {hn}"),
                )
            })?;
            Ok((hi, di))
        };
        let (ah, ad) = end("a")?;
        let (bh, bd) = end("b")?;
        hosts[ah].devs[ad].peer = Some(Peer {
            host: bh,
            dev: bd,
            latency_ns: 0,
            loss_ppm: 0,
        });
        hosts[bh].devs[bd].peer = Some(Peer {
            host: ah,
            dev: ad,
            latency_ns: 0,
            loss_ppm: 0,
        });
    }
    Ok(())
}

/// `apps`: the http-servers and dns-servers started on their hosts; other
/// kinds are skipped with a warning.
fn start_apps(
    list: &[AppDoc],
    host_names: &[String],
    hosts: &mut [Host],
    apps: &mut [Vec<App>],
    warnings: &mut Vec<String>,
) -> Result<(), ScenarioError> {
    for (ai, a) in list.iter().enumerate() {
        let hn = a.host.as_str();
        let Some(hi) = host_names.iter().position(|x| x == hn) else {
            return Err(err("bundle.json", format!("apps[{ai}]: no host '{hn}'")));
        };
        match a.kind.as_str() {
            "http-server" => {
                let listen = a.listen.as_deref().unwrap_or("");
                let port = listen
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or_else(|| {
                        err(
                            "bundle.json",
                            format!("apps[{ai}].listen: '{listen}' is not ADDR:PORT"),
                        )
                    })?;
                let routes = a
                    .routes
                    .iter()
                    .map(|(p, spec)| {
                        (
                            p.clone(),
                            HttpResponseSpec {
                                status: spec.status,
                                content_type: spec.content_type.clone(),
                                body: spec.body.clone(),
                            },
                        )
                    })
                    .collect();
                let h = &mut hosts[hi];
                let idx = apps[hi].len();
                crate::app::runtime::spawn(
                    h,
                    &mut apps[hi],
                    App::HttpServer(HttpServer::new(&format!("{hn}:{port}"), port, routes)),
                );
                // two dumped listeners of one port: the last one holds it
                let _ = h.listen_tcp(port, None, idx);
            }
            "dns-server" => {
                let listen = a.listen.as_deref().unwrap_or("");
                let port = listen
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or_else(|| {
                        err(
                            "bundle.json",
                            format!("apps[{ai}].listen: '{listen}' is not ADDR:PORT"),
                        )
                    })?;
                let mut records = BTreeMap::new();
                for (n, v) in &a.records {
                    let ip = v.parse::<Ipv4Addr>().ok().ok_or_else(|| {
                        err(
                            "bundle.json",
                            format!("apps[{ai}].records.{n}: not an IPv4 address"),
                        )
                    })?;
                    records.insert(n.trim_end_matches('.').to_ascii_lowercase(), ip);
                }
                let h = &mut hosts[hi];
                let idx = apps[hi].len();
                crate::app::runtime::spawn(
                    h,
                    &mut apps[hi],
                    App::DnsServer(crate::app::DnsServer {
                        name: format!("{hn}:{port}"),
                        port,
                        records,
                    }),
                );
                let _ = h.bind_udp(port, idx);
            }
            other => warnings.push(format!(
                "bundle.json: apps[{ai}] on {hn}: kind {other} is not modelled yet; skipped{}",
                if a.config.is_some() {
                    " (its config too)"
                } else {
                    ""
                }
            )),
        }
    }
    Ok(())
}

/// One `flows[i]` entry: its client, its request (which must go over the
/// `proto` it names) and its start.
fn flow_of(
    fi: usize,
    f: &FlowDoc,
    host_names: &[String],
    warnings: &mut Vec<String>,
) -> Result<FlowSpec, ScenarioError> {
    let from = f.from.as_str();
    let Some(hi) = host_names.iter().position(|x| x == from) else {
        return Err(err(
            "bundle.json",
            format!("flows[{fi}].from: no host '{from}'"),
        ));
    };
    let req = f.request.as_deref().unwrap_or("");
    if let Some(p) = f.src_port_hint {
        return Err(err(
            "bundle.json",
            format!("flows[{fi}].src_port_hint: {p}: podpath does not pin a client's source port yet; give null (an ephemeral port)"),
        ));
    }
    let want = if req.starts_with("DNS ")
        || (req.starts_with("RESOLVE ") && !req.contains(" HTTP GET "))
    {
        "udp"
    } else if req.starts_with("PING ") {
        "icmp"
    } else {
        "tcp"
    };
    if let Some(p) = f.proto.as_deref().filter(|p| *p != want) {
        return Err(err(
            "bundle.json",
            format!("flows[{fi}].proto: '{p}', but request '{req}' is sent over {want}"),
        ));
    }
    let id = f.id.clone().unwrap_or_else(|| format!("flow{}", fi + 1));
    let start_ns = f.start_ns.unwrap_or(0);
    let dst_s = f.dst.as_deref().unwrap_or("");
    let request = flow_request(fi, req, dst_s, warnings)?;
    Ok(FlowSpec {
        expect: Vec::new(),
        id,
        from: hi,
        request,
        start_ns,
        count: 1,
        interval_ns: 0,
    })
}

/// A flow's `request` line with its `dst`, as podpath's snapshots write
/// them: `PING size N df B`, `RESOLVE NAME [HTTP GET PATH Host: H]`,
/// `DNS A NAME`, `HTTP GET PATH Host: H` (anything else is sent as
/// `HTTP GET /`, with a warning).
fn flow_request(
    fi: usize,
    req: &str,
    dst_s: &str,
    warnings: &mut Vec<String>,
) -> Result<Request, ScenarioError> {
    if let Some(rest) = req.strip_prefix("PING size ") {
        return ping_request(fi, rest, dst_s);
    }
    if let Some(rest) = req.strip_prefix("RESOLVE ") {
        return Ok(resolve_request(rest, dst_s));
    }
    let dst = dst_s;
    let (a, p) = dst.rsplit_once(':').ok_or_else(|| {
        err(
            "bundle.json",
            format!("flows[{fi}].dst: '{dst}' is not IP:PORT"),
        )
    })?;
    let addr: Ipv4Addr = a
        .parse()
        .map_err(|_| err("bundle.json", format!("flows[{fi}].dst: bad address '{a}'")))?;
    let port: u16 = p
        .parse()
        .map_err(|_| err("bundle.json", format!("flows[{fi}].dst: bad port '{p}'")))?;
    if let Some(name) = req.strip_prefix("DNS A ") {
        return Ok(Request::DnsA {
            server: addr,
            port,
            name: name.trim().to_string(),
        });
    }
    let (path, host_header) = match req.strip_prefix("HTTP GET ") {
        Some(rest) => {
            let (path, hh) = rest.split_once(" Host: ").unwrap_or((rest, dst));
            (path.to_string(), hh.to_string())
        }
        None => {
            warnings.push(format!(
                "bundle.json: flows[{fi}]: request '{req}' is not modelled yet; sent as HTTP GET /"
            ));
            ("/".to_string(), dst.to_string())
        }
    };
    Ok(Request::HttpGet {
        dst: addr,
        port,
        host_header,
        path,
        user: None,
    })
}

/// `PING size N df true|false` to `dst` ADDR:0.
fn ping_request(fi: usize, rest: &str, dst_s: &str) -> Result<Request, ScenarioError> {
    let mut w = rest.split_whitespace();
    let size = w.next().and_then(|n| n.parse().ok()).unwrap_or(56);
    let df = w.nth(1) != Some("false");
    let dst = dst_s
        .rsplit_once(':')
        .and_then(|(a, _)| a.parse().ok())
        .ok_or_else(|| err("bundle.json", format!("flows[{fi}].dst: bad address")))?;
    Ok(Request::Ping { dst, size, df })
}

/// `RESOLVE name` or `RESOLVE name HTTP GET path Host: h` (`dst` gives the
/// HTTP port as `:port`, 80 when absent).
fn resolve_request(rest: &str, dst_s: &str) -> Request {
    let (name, http) = match rest.split_once(" HTTP GET ") {
        Some((n, h)) => (n.trim(), Some(h)),
        None => (rest.trim(), None),
    };
    let then = match http {
        Some(h) => {
            let (path, hh) = h.split_once(" Host: ").unwrap_or((h, name));
            let port = dst_s
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok())
                .unwrap_or(80);
            Some(crate::app::ThenHttp {
                port,
                host_header: hh.to_string(),
                path: path.to_string(),
                user: None,
            })
        }
        None => None,
    };
    Request::Resolve {
        name: name.to_string(),
        then,
    }
}

/// One host's snapshot files, read in this order: devices, addresses,
/// routes, rules, neighbours, FDB, netfilter, sysctls, resolv.conf. What
/// podpath does not model becomes a warning.
fn load_host(read: Reader, h: &mut Host, warnings: &mut Vec<String>) -> Result<(), ScenarioError> {
    let by_ifindex = load_links(read, h, warnings)?;
    load_addrs(read, h, &by_ifindex)?;
    load_routes(read, h, warnings)?;
    load_rules(read, h, warnings)?;
    load_neigh(read, h)?;
    load_fdb(read, h)?;
    load_netfilter(read, h, warnings)?;
    load_sysctl(read, h)?;
    load_resolv(read, h, warnings);
    Ok(())
}

/// `ip -j -d link show`: the devices podpath models (others left out with
/// a warning), then bridge masters and vxlan lower devices; the device
/// index of each ifindex.
fn load_links(
    read: Reader,
    h: &mut Host,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<i64, usize>, ScenarioError> {
    let hn = h.name.clone();
    let f_link = format!("{hn}/ip-link.json");
    let links = json(read, &f_link)?;
    let mut by_ifindex: BTreeMap<i64, usize> = BTreeMap::new();
    add_devices(h, &links, &f_link, &mut by_ifindex, warnings);
    attach_devices(h, &links, &f_link, &by_ifindex, warnings);
    Ok(by_ifindex)
}

/// Each link of the dump as a device: kind, MAC, MTU, flags, vxlan info
/// (the loopback is the host's own `lo`).
fn add_devices(
    h: &mut Host,
    links: &Value,
    f_link: &str,
    by_ifindex: &mut BTreeMap<i64, usize>,
    warnings: &mut Vec<String>,
) {
    for l in arr(links) {
        let name = l["ifname"].as_str().unwrap_or("").to_string();
        let ifindex = l["ifindex"].as_i64().unwrap_or(-1);
        let kind_s = l["linkinfo"]["info_kind"].as_str().unwrap_or("");
        let mac = l["address"]
            .as_str()
            .and_then(Mac::parse)
            .unwrap_or(Mac::ZERO);
        let kind = match (kind_s, l["link_type"].as_str()) {
            (_, Some("loopback")) => DevKind::Loopback,
            ("veth", _) => DevKind::Veth,
            ("bridge", _) => DevKind::Bridge,
            ("vxlan", _) => DevKind::Vxlan,
            ("dummy", _) => DevKind::Dummy,
            ("", Some("ether")) => DevKind::Veth,
            (k, t) => {
                warnings.push(format!(
                    "{f_link}: {name}: device kind '{k}' (link type {}) is not modelled; left out",
                    t.unwrap_or("?")
                ));
                continue;
            }
        };
        let di = if kind == DevKind::Loopback {
            0
        } else {
            h.devs.push(Device::new(&name, kind, mac));
            h.devs.len() - 1
        };
        by_ifindex.insert(ifindex, di);
        let d = &mut h.devs[di];
        d.mtu = l["mtu"].as_u64().unwrap_or(1500) as u32;
        d.up = arr(&l["flags"]).iter().any(|f| f == "UP");
        d.hairpin = l["linkinfo"]["info_slave_data"]["hairpin"]
            .as_bool()
            .unwrap_or(false);
        if kind == DevKind::Loopback {
            d.addrs.clear();
        }
        if kind == DevKind::Vxlan {
            let i = &l["linkinfo"]["info_data"];
            d.vxlan = Some(VxlanCfg {
                vni: i["id"].as_u64().unwrap_or(0) as u32,
                port: i["port"].as_u64().unwrap_or(8472) as u16,
                local: i["local"].as_str().and_then(|s| s.parse().ok()),
                learning: i["learning"].as_bool().unwrap_or(true),
                dev: None,
                fdb: BTreeMap::new(),
            });
        }
    }
}

/// A port's bridge (`master`) and a vxlan device's lower device (`link`).
fn attach_devices(
    h: &mut Host,
    links: &Value,
    f_link: &str,
    by_ifindex: &BTreeMap<i64, usize>,
    warnings: &mut Vec<String>,
) {
    for l in arr(links) {
        let Some(&di) = by_ifindex.get(&l["ifindex"].as_i64().unwrap_or(-1)) else {
            continue;
        };
        if let Some(m) = l["master"].as_str() {
            match h.dev_index(m) {
                Some(bi) if h.devs[bi].kind == DevKind::Bridge => h.devs[di].master = Some(bi),
                _ => warnings.push(format!(
                    "{f_link}: {}: master {m} is not a bridge podpath knows",
                    h.devs[di].name
                )),
            }
        }
        if let Some(u) = l["linkinfo"]["info_data"]["link"].as_i64() {
            if let (Some(&ui), Some(c)) = (by_ifindex.get(&u), h.devs[di].vxlan.as_mut()) {
                c.dev = Some(ui);
            }
        }
    }
}

/// `ip -j addr show`: the IPv4 addresses of the modelled devices.
fn load_addrs(
    read: Reader,
    h: &mut Host,
    by_ifindex: &BTreeMap<i64, usize>,
) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_addr = format!("{hn}/ip-addr.json");
    for l in arr(&json(read, &f_addr)?) {
        let Some(&di) = by_ifindex.get(&l["ifindex"].as_i64().unwrap_or(-1)) else {
            continue;
        };
        for a in arr(&l["addr_info"]) {
            if a["family"].as_str() != Some("inet") {
                continue;
            }
            let (Some(ip), Some(len)) = (
                a["local"].as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()),
                a["prefixlen"].as_u64(),
            ) else {
                continue;
            };
            if let Ok(n) = Ipv4Net::new(ip, len as u8) {
                if !h.devs[di].addrs.contains(&n) {
                    h.devs[di].addrs.push(n);
                }
            }
        }
    }
    Ok(())
}

/// `ip -j route show table all`: exactly what the kernel has, local and
/// connected routes included; types and devices podpath does not model
/// are left out with a warning.
fn load_routes(
    read: Reader,
    h: &mut Host,
    warnings: &mut Vec<String>,
) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_route = format!("{hn}/ip-route.json");
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let routes = json(read, &f_route)?;
    if !routes.is_array() {
        return Err(err(
            &f_route,
            "expected a JSON array of routes, as `ip -j route show table all` prints".into(),
        ));
    }
    for (ri, r) in arr(&routes).iter().enumerate() {
        for k in [
            "dst", "dev", "gateway", "prefsrc", "type", "protocol", "scope",
        ] {
            if !r[k].is_null() && !r[k].is_string() {
                return Err(ScenarioError {
                    key: format!("[{ri}].{k}"),
                    ..err(
                        &f_route,
                        format!(
                            "{} is not a string: `ip -j route` prints \"{k}\" as a string",
                            r[k]
                        ),
                    )
                });
            }
        }
        let t = r["type"].as_str().unwrap_or("unicast");
        let Some(rtype) = RouteType::from_name(t) else {
            *skipped.entry(t.to_string()).or_default() += 1;
            continue;
        };
        let dst_s = r["dst"].as_str().unwrap_or("");
        let Some(dst) = parse_prefix(dst_s, None) else {
            warnings.push(format!(
                "{f_route}: route to '{dst_s}' not understood; left out"
            ));
            continue;
        };
        let table = match &r["table"] {
            Value::String(s) => fib::table_id(s),
            Value::Number(n) => n.as_u64().map(|x| x as u32),
            _ => Some(fib::TABLE_MAIN),
        };
        let Some(table) = table else {
            warnings.push(format!(
                "{f_route}: route to {dst_s} in an unknown table; left out"
            ));
            continue;
        };
        let dev = r["dev"].as_str().and_then(|d| h.dev_index(d));
        if r["dev"].is_string() && dev.is_none() {
            warnings.push(format!(
                "{f_route}: route to {dst_s} via device {} that is not modelled; left out",
                r["dev"]
            ));
            continue;
        }
        let via = r["gateway"].as_str().and_then(|g| g.parse().ok());
        h.fib.add_route(
            table,
            Route {
                dst,
                rtype,
                via,
                dev,
                src: r["prefsrc"].as_str().and_then(|s| s.parse().ok()),
                metric: r["metric"].as_u64().unwrap_or(0) as u32,
                onlink: arr(&r["flags"]).iter().any(|f| f == "onlink"),
                scope_link: r["scope"].as_str() == Some("link")
                    || (via.is_none() && rtype == RouteType::Unicast),
                proto: r["protocol"].as_str().unwrap_or("boot").to_string(),
            },
        );
    }
    for (t, n) in skipped {
        warnings.push(format!(
            "{f_route}: {n} {t} route(s) not modelled; left out"
        ));
    }
    let has_local = h
        .fib
        .tables
        .get(&fib::TABLE_LOCAL)
        .is_some_and(|t| t.iter().next().is_some());
    if !has_local && h.devs.iter().any(|d| !d.addrs.is_empty()) {
        warnings.push(format!(
            "{f_route}: no route of table local: this is `ip -j route show` (the main table only), so no address of {hn} is local and every connection to it fails; write it with `ip -j route show table all`"
        ));
    }
    Ok(())
}

/// `ip -j rule show`: the rules replace the default ones when there are
/// any; actions and tables podpath does not know are left out with a
/// warning.
fn load_rules(read: Reader, h: &mut Host, warnings: &mut Vec<String>) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_rule = format!("{hn}/ip-rule.json");
    let rules = json(read, &f_rule)?;
    if !arr(&rules).is_empty() {
        h.fib.rules.clear();
    }
    for r in arr(&rules) {
        let action = match r["action"].as_str() {
            Some("blackhole") => RuleAction::Blackhole,
            Some("unreachable") => RuleAction::Unreachable,
            Some("prohibit") => RuleAction::Prohibit,
            Some(a) if a != "to_tbl" => {
                warnings.push(format!(
                    "{f_rule}: rule action '{a}' is not modelled; rule left out"
                ));
                continue;
            }
            _ => match &r["table"] {
                Value::String(s) => match fib::table_id(s) {
                    Some(t) => RuleAction::Lookup(t),
                    None => {
                        warnings.push(format!("{f_rule}: table '{s}' unknown; rule left out"));
                        continue;
                    }
                },
                Value::Number(n) => RuleAction::Lookup(n.as_u64().unwrap_or(254) as u32),
                _ => {
                    warnings.push(format!("{f_rule}: rule without table or action; left out"));
                    continue;
                }
            },
        };
        let src = r["src"]
            .as_str()
            .and_then(|s| parse_prefix(s, r["srclen"].as_u64()));
        let dst = r["dst"]
            .as_str()
            .and_then(|s| parse_prefix(s, r["dstlen"].as_u64()));
        let fwmark = r.get("fwmark").and_then(hex_or_dec).map(|v| {
            (
                v,
                r.get("fwmask").and_then(hex_or_dec).unwrap_or(0xffff_ffff),
            )
        });
        h.fib.add_rule(IpRule {
            priority: r["priority"].as_u64().unwrap_or(0) as u32,
            not: r.get("not").is_some(),
            from: src.filter(|n| n.prefix_len() > 0),
            to: dst.filter(|n| n.prefix_len() > 0),
            fwmark,
            iif: r["iif"].as_str().map(str::to_string),
            oif: r["oif"].as_str().map(str::to_string),
            action,
        });
    }
    Ok(())
}

/// `ip -j neigh show`: entries with an address, a MAC and a NUD state
/// podpath models (PERMANENT, REACHABLE, or STALE for STALE/DELAY/PROBE).
fn load_neigh(read: Reader, h: &mut Host) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_neigh = format!("{hn}/ip-neigh.json");
    for n in arr(&json(read, &f_neigh)?) {
        let (Some(ip), Some(dev)) = (
            n["dst"].as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()),
            n["dev"].as_str().and_then(|d| h.dev_index(d)),
        ) else {
            continue;
        };
        let Some(mac) = n["lladdr"].as_str().and_then(Mac::parse) else {
            continue;
        };
        let st = arr(&n["state"])
            .first()
            .and_then(|s| s.as_str())
            .unwrap_or("");
        let state = match st {
            "PERMANENT" => Nud::Permanent,
            "REACHABLE" => Nud::Reachable,
            "STALE" | "DELAY" | "PROBE" => Nud::Stale,
            _ => continue,
        };
        h.neigh.entries.insert(
            (dev, ip),
            NeighEntry {
                mac: Some(mac),
                state,
                updated_ns: 0,
                probes: 0,
                queue: Vec::new(),
                last_use: None,
            },
        );
    }
    Ok(())
}

/// `bridge -j fdb show`: vxlan remotes, and learned and static bridge
/// entries.
fn load_fdb(read: Reader, h: &mut Host) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_fdb = format!("{hn}/bridge-fdb.json");
    for e in arr(&json(read, &f_fdb)?) {
        let (Some(mac), Some(dev)) = (
            e["mac"].as_str().and_then(Mac::parse),
            e["ifname"].as_str().and_then(|d| h.dev_index(d)),
        ) else {
            continue;
        };
        if let Some(dst) = e["dst"].as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) {
            if let Some(c) = h.devs[dev].vxlan.as_mut() {
                c.fdb.entry(mac).or_default().push(dst);
            }
            continue;
        }
        if mac.is_multicast() || arr(&e["flags"]).iter().any(|f| f == "self") {
            continue;
        }
        let Some(br) = h.devs[dev].master else {
            continue;
        };
        match e["state"].as_str() {
            Some("permanent") => {} // the port's own address: delivered to the host
            Some("static") => {
                h.devs[br].fdb.insert(
                    mac,
                    FdbEntry {
                        port: dev,
                        is_static: true,
                        updated_ns: 0,
                    },
                );
            }
            _ => {
                h.devs[br].fdb.insert(
                    mac,
                    FdbEntry {
                        port: dev,
                        is_static: false,
                        updated_ns: 0,
                    },
                );
            }
        }
    }
    Ok(())
}

/// `iptables-save`, and `nft list ruleset` when the snapshot has one
/// (absent when nft is not there).
fn load_netfilter(
    read: Reader,
    h: &mut Host,
    warnings: &mut Vec<String>,
) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_ipt = format!("{hn}/iptables-save.txt");
    let ipt = read(&f_ipt).map_err(|e| err(&f_ipt, e.to_string()))?;
    h.nf = std::sync::Arc::new(Ruleset::parse(&ipt, &f_ipt).map_err(|pe| ScenarioError {
        file: f_ipt.clone(),
        line: pe.line,
        column: pe.column,
        key: String::new(),
        message: pe.message,
    })?);
    for w in &h.nf.warnings {
        warnings.push(w.clone());
    }
    let f_nft = format!("{hn}/nft-ruleset.txt");
    if let Ok(t) = read(&f_nft) {
        if !t.trim().is_empty() {
            h.nft = std::sync::Arc::new(
                crate::net::netfilter::nftables::Nft::parse_listing(&t).map_err(|ne| {
                    ScenarioError {
                        file: f_nft.clone(),
                        line: ne.line,
                        column: 0,
                        key: String::new(),
                        message: ne.message,
                    }
                })?,
            );
            h.nft_text = t.into();
        }
    }
    Ok(())
}

/// `sysctl.txt` (`key = value` lines): the keys podpath models (others
/// are ignored).
fn load_sysctl(read: Reader, h: &mut Host) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_sys = format!("{hn}/sysctl.txt");
    let sys = read(&f_sys).map_err(|e| err(&f_sys, e.to_string()))?;
    let mut sc = Sysctl::default();
    for line in sys.lines() {
        let Some((k, v)) = line.split_once(" = ").or_else(|| line.split_once('=')) else {
            continue;
        };
        let k = k.trim();
        if Sysctl::is_known(k) {
            sc.set(k, v.trim());
        }
    }
    h.ct.max = sc.int("net.netfilter.nf_conntrack_max").max(1) as usize;
    h.sysctl = sc;
    Ok(())
}

/// resolv.conf (optional: /etc/netns/NAME/resolv.conf of a namespace).
fn load_resolv(read: Reader, h: &mut Host, warnings: &mut Vec<String>) {
    let hn = h.name.clone();
    let f_rc = format!("{hn}/resolv.conf");
    if let Ok(t) = read(&f_rc) {
        h.resolv = crate::app::ResolvConf::parse(&t);
        if h.resolv.is_none() {
            warnings.push(format!("{f_rc}: no nameserver line; ignored"));
        }
    }
}
