//! Snapshot bundles (`podpath-snapshot/1`): the state of real machines,
//! imported as a world to replay.
//!
//! A bundle is a directory: `bundle.json` (hosts, veth links, segments,
//! apps, flows) and,
//! per host, the JSON of `ip -j -d link show`, `ip -j addr show`, `ip -j route
//! show table all`, `ip -j rule show`, `ip -j neigh show`, `bridge -j fdb
//! show`, plus `iptables-save.txt` and `sysctl.txt` (a file `bundle.json`
//! lists under `missing`, a tool not installed where the snapshot ran,
//! reads as empty, with a warning). Everything the stack uses
//! is honoured as found: MACs, MTUs, bridge membership and hairpin flags,
//! vxlan settings and FDB, every route of every table (the kernel's own local
//! and connected routes included), every rule, neighbour entries with their
//! states, the ruleset, the sysctls podpath reads. What podpath does not model
//! is reported as a warning naming the host and the file, never dropped
//! silently.
//!
//! Optional per host: `nft-ruleset.txt`, `ipset-save.txt` (loaded before
//! the iptables that name its sets), `resolv.conf`, and the configuration
//! files the `apps` name (HAProxy, keepalived, ingress-nginx, Envoy run
//! from them). Segments become switch hosts; flows run in order, each
//! when the one before has ended, unless they give `start`
//! ([`super::bundle_flows`] reads them).
//!
//! The loader reads through the closure it is handed (this crate does no I/O).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::{bundle_flows, ScenarioError};
use crate::app::launch::{self, StartError};
use crate::app::{App, HttpResponseSpec};
use crate::det::host_rng;
use crate::net::fib::{self, IpRule, Route, RouteType, RuleAction};
use crate::net::host::{DevKind, Device, FdbEntry, Host, HostKind, Peer};
use crate::net::neigh::NeighEntry;
use crate::net::netfilter::Ruleset;
use crate::net::overlay::VxlanCfg;
use crate::net::sysctl::Sysctl;
use crate::wire::Mac;
use crate::world::World;

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
    segments: Vec<SegmentDoc>,
    #[serde(default)]
    flows: Vec<bundle_flows::FlowDoc>,
    #[serde(default)]
    apps: Vec<AppDoc>,
    /// Files a snapshot could not write (a tool not installed there).
    #[serde(default)]
    missing: Vec<MissingDoc>,
}

/// `missing[]`: `HOST/FILE` is absent because of `why`; it reads as empty.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MissingDoc {
    host: String,
    file: String,
    why: String,
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

/// A shared L2 segment: the switch (a bridge) its members' interfaces
/// are plugged into.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentDoc {
    name: String,
    /// The switch's bridge device (`br0` when not given).
    #[serde(default)]
    bridge: Option<String>,
    /// `HOST/IF` of each member.
    members: Vec<String>,
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
    /// An http-server's exact answer to every request (then it closes).
    #[serde(default)]
    response: Option<String>,
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
    // A file the bundle says is missing reads as empty (JSON: `[]`).
    let absent: Vec<String> = b
        .missing
        .iter()
        .map(|m| {
            warnings.push(format!(
                "{}/{}: not in the snapshot ({}); read as empty",
                m.host, m.file, m.why
            ));
            format!("{}/{}", m.host, m.file)
        })
        .collect();
    let with_absent = |p: &str| -> Result<String, ReadError> {
        match read(p) {
            Err(_) if absent.iter().any(|a| a == p) => {
                Ok(if p.ends_with(".json") { "[]" } else { "" }.to_string())
            }
            r => r,
        }
    };
    let read: Reader = &with_absent;
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
    load_ipvsadm(read, &mut hosts, &mut warnings)?;
    let mut host_names = host_names;
    let seg_links = add_segments(&b.segments, seed, &mut host_names, &mut hosts, &mut apps)?;
    let mut links: Vec<(String, String, String)> = b
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| (l.a.clone(), l.b.clone(), format!("links[{i}]")))
        .collect();
    links.extend(seg_links);
    link_hosts(&links, &host_names, &mut hosts)?;
    start_apps(
        read,
        &b.apps,
        &host_names,
        &mut hosts,
        &mut apps,
        seed,
        &mut warnings,
    )?;
    let mut flows = Vec::new();
    for (fi, f) in b.flows.iter().enumerate() {
        flows.push(bundle_flows::flow_of(fi, f, &host_names, &mut warnings)?);
    }
    Ok((
        World {
            faults: Vec::new(),
            scenario: name.to_string(),
            seed,
            hosts: hosts.into(),
            apps: apps.into(),
            flows,
            horizon_ns: 300_000_000_000,
            resyncs: Vec::new(),
        },
        warnings,
    ))
}

/// `segments`: a switch host per segment (after the bundle's hosts), its
/// bridge with a port `pN` per member, as a scenario's segments are; the
/// links from the members to those ports, `(member, port, key)`.
fn add_segments(
    segs: &[SegmentDoc],
    seed: u64,
    host_names: &mut Vec<String>,
    hosts: &mut Vec<Host>,
    apps: &mut Vec<Vec<App>>,
) -> Result<Vec<(String, String, String)>, ScenarioError> {
    let mut links = Vec::new();
    for (si, sd) in segs.iter().enumerate() {
        let sn = sd.name.clone();
        if host_names.contains(&sn) || sn.contains('/') {
            return Err(err(
                "bundle.json",
                format!("segments[{si}].name: '{sn}' is already a host name (or has a '/')"),
            ));
        }
        let hi = hosts.len();
        let mut h = Host::new(hi, &sn, HostKind::Switch, host_rng(seed, &sn));
        let bn = sd.bridge.clone().unwrap_or_else(|| "br0".into());
        h.devs.push(Device::new(
            &bn,
            DevKind::Bridge,
            Mac::derived(&format!("{sn}/{bn}")),
        ));
        for (mi, m) in sd.members.iter().enumerate() {
            let pn = format!("p{}", mi + 1);
            let mut d = Device::new(&pn, DevKind::Veth, Mac::derived(&format!("{sn}/{pn}")));
            d.master = Some(1);
            h.devs.push(d);
            links.push((
                m.clone(),
                format!("{sn}/{pn}"),
                format!("segments[{si}].members[{mi}]"),
            ));
        }
        hosts.push(h);
        apps.push(Vec::new());
        host_names.push(sn);
    }
    Ok(links)
}

/// `links` (and the segments' member links): each joins two interfaces,
/// `HOST/IF`, with no latency; `(a, b, key)`.
fn link_hosts(
    links: &[(String, String, String)],
    host_names: &[String],
    hosts: &mut [Host],
) -> Result<(), ScenarioError> {
    for (la, lb, key) in links {
        let end = |k: &str| -> Result<(usize, usize), ScenarioError> {
            let s = if k == "a" { la } else { lb };
            let at = if key.starts_with("segments") {
                key.clone()
            } else {
                format!("{key}.{k}")
            };
            let (hn, dn) = s
                .split_once('/')
                .ok_or_else(|| err("bundle.json", format!("{at}: '{s}' is not HOST/IF")))?;
            let hi = host_names
                .iter()
                .position(|x| x == hn)
                .ok_or_else(|| err("bundle.json", format!("{at}: no host '{hn}'")))?;
            let di = hosts[hi]
                .dev_index(dn)
                .ok_or_else(|| err("bundle.json", format!("{at}: no interface '{dn}' on {hn}")))?;
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

/// `apps`: the programs started on their hosts, in the bundle's order:
/// http-servers, dns-servers, udp-echo-servers and sctp-echo-servers from their keys, HAProxy, keepalived,
/// ingress-nginx and Envoy from their `config` file in the bundle; other
/// kinds are skipped with a warning.
fn start_apps(
    read: Reader,
    list: &[AppDoc],
    host_names: &[String],
    hosts: &mut [Host],
    apps: &mut [Vec<App>],
    seed: u64,
    warnings: &mut Vec<String>,
) -> Result<(), ScenarioError> {
    for (ai, a) in list.iter().enumerate() {
        let hn = a.host.as_str();
        let Some(hi) = host_names.iter().position(|x| x == hn) else {
            return Err(err("bundle.json", format!("apps[{ai}]: no host '{hn}'")));
        };
        let (h, apps) = (&mut hosts[hi], &mut apps[hi]);
        match a.kind.as_str() {
            "http-server" => {
                let port = listen_port(ai, a)?;
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
                // two dumped listeners of one port: the first one holds it
                let bound = listen_bind(a.listen.as_deref().unwrap_or(""));
                let idx =
                    launch::http_server(h, apps, &format!("{hn}:{port}"), port, bound, routes);
                if let (Ok(i), Some(r)) = (idx, &a.response) {
                    if let App::HttpServer(s) = &mut apps[i] {
                        s.raw = Some(r.as_bytes().to_vec());
                    }
                }
            }
            "dns-server" => {
                let port = listen_port(ai, a)?;
                // a name's A and AAAA addresses, space-separated
                let mut records = BTreeMap::new();
                let mut records6 = BTreeMap::new();
                for (n, v) in &a.records {
                    let key = n.trim_end_matches('.').to_ascii_lowercase();
                    for w in v.split_whitespace() {
                        match w.parse::<std::net::IpAddr>() {
                            Ok(std::net::IpAddr::V4(ip)) => {
                                records.entry(key.clone()).or_insert(ip);
                            }
                            Ok(std::net::IpAddr::V6(ip)) => {
                                records6.entry(key.clone()).or_insert(ip);
                            }
                            Err(_) => {
                                return Err(err(
                                    "bundle.json",
                                    format!("apps[{ai}].records.{n}: '{w}' is not an IP address"),
                                ))
                            }
                        }
                    }
                }
                let _ =
                    launch::dns_server(h, apps, &format!("{hn}:{port}"), port, (records, records6));
            }
            "udp-echo-server" => {
                let port = listen_port(ai, a)?;
                let _ = launch::udp_echo_server(h, apps, &format!("{hn}:{port}"), port, false);
            }
            "sctp-echo-server" => {
                let port = listen_port(ai, a)?;
                let _ = launch::sctp_echo_server(h, apps, &format!("{hn}:{port}"), port, false);
            }
            "sctp-listener" => {
                // an SCTP socket `snapshot --host` found (ss -lS): its
                // program is unknown, so it takes associations and
                // messages and answers none
                let port = listen_port(ai, a)?;
                warnings.push(format!(
                    "bundle.json: apps[{ai}] on {hn}: sctp-listener {port} runs as a sink: it accepts associations and answers no message (simplified: the real application is unknown)"
                ));
                let _ = launch::sctp_echo_server(h, apps, &format!("{hn}:{port}"), port, true);
            }
            "udp-listener" => {
                // a UDP socket `snapshot --host` found (ss -lu): the program
                // behind it is unknown, so it receives and answers nothing
                let port = listen_port(ai, a)?;
                warnings.push(format!(
                    "bundle.json: apps[{ai}] on {hn}: udp-listener {port} runs as a sink: it receives datagrams and answers none (simplified: the real application is unknown)"
                ));
                let _ = launch::udp_echo_server(h, apps, &format!("{hn}:{port}"), port, true);
            }
            kind @ ("haproxy" | "keepalived" | "ingress-nginx" | "envoy") => {
                let Some(path) = a.config.as_deref() else {
                    return Err(err(
                        "bundle.json",
                        format!("apps[{ai}]: {kind} needs 'config' (the path of its configuration file in the bundle)"),
                    ));
                };
                let text = read(path)
                    .map_err(|e| err("bundle.json", format!("apps[{ai}].config: {e}")))?;
                let started = match kind {
                    "haproxy" => launch::haproxy(h, apps, seed, &text),
                    "keepalived" => launch::keepalived(h, apps, &text),
                    "envoy" => launch::envoy(h, apps, seed, &text),
                    _ => {
                        let port = if a.listen.is_some() {
                            listen_port(ai, a)?
                        } else {
                            80
                        };
                        launch::ingress_nginx(h, apps, seed, port, &text)
                    }
                };
                started.map_err(|e| config_error(path, e))?;
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

/// The address a dumped TCP listener holds, as `ss` writes it: `*:PORT`
/// is an AF_INET6 wildcard taking both families (`bindv6only` 0),
/// `[::]:PORT` one with IPV6_V6ONLY (simplification: taken as the
/// dual-stack wildcard too), `[ADDR]:PORT` one IPv6 address. An IPv4
/// address is read as every IPv4 address, as bundles always were.
pub fn listen_bind(listen: &str) -> Option<std::net::IpAddr> {
    let (a, _) = listen.rsplit_once(':')?;
    if a == "*" {
        return Some(std::net::Ipv6Addr::UNSPECIFIED.into());
    }
    let a = a.strip_prefix('[')?.strip_suffix(']')?;
    let a = a.split('%').next().unwrap_or(a);
    a.parse::<std::net::Ipv6Addr>().ok().map(Into::into)
}

/// A listener's `listen` text, as [`listen_bind`] reads it back.
pub fn listen_text(bound: Option<std::net::IpAddr>, port: u16) -> String {
    match bound {
        None => format!("0.0.0.0:{port}"),
        Some(std::net::IpAddr::V6(a)) if a.is_unspecified() => format!("*:{port}"),
        Some(a) => crate::wire::endpoint(a, port),
    }
}

/// `apps[i].listen`'s port (`ADDR:PORT`).
fn listen_port(ai: usize, a: &AppDoc) -> Result<u16, ScenarioError> {
    let listen = a.listen.as_deref().unwrap_or("");
    listen
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| {
            err(
                "bundle.json",
                format!("apps[{ai}].listen: '{listen}' is not ADDR:PORT"),
            )
        })
}

/// A program's refusal placed in its configuration file: a parser's
/// `line N: ...` at that line of `path`.
fn config_error(path: &str, e: StartError) -> ScenarioError {
    let m = e.to_string();
    let (line, message) = match m
        .strip_prefix("line ")
        .and_then(|r| r.split_once(": "))
        .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest.to_string())))
    {
        Some((n, rest)) if matches!(e, StartError::Config(_)) => (n, rest),
        _ => (0, m),
    };
    ScenarioError {
        file: path.to_string(),
        line,
        column: 0,
        key: String::new(),
        message,
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
    if arr(links)
        .iter()
        .any(|l| l["link_type"].is_null() && l["linkinfo"].is_null())
    {
        warnings.push(format!("{f_link}: {}", super::dumps::BRIEF_SIMPLIFIED));
    }
    for l in arr(links) {
        let name = l["ifname"].as_str().unwrap_or("").to_string();
        let ifindex = l["ifindex"].as_i64().unwrap_or(-1);
        let kind_s = l["linkinfo"]["info_kind"].as_str().unwrap_or("");
        let mac = l["address"]
            .as_str()
            .and_then(Mac::parse)
            .unwrap_or(Mac::ZERO);
        let kind = match (super::dumps::link_kind(l), kind_s, l["link_type"].as_str()) {
            (Some(k), _, _) => k,
            (None, k, t) => {
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
                // `ip -d -j link` names an IPv6 underlay's source local6
                local: i["local"]
                    .as_str()
                    .or(i["local6"].as_str())
                    .and_then(|s| s.parse().ok()),
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

/// `ip -j addr show`: the IPv4 and IPv6 addresses of the modelled
/// devices, IPv6 ones with their flags (nodad, tentative, dadfailed,
/// noprefixroute); a link- or host-scope one counts as the kernel's own.
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
            if a["family"].as_str() == Some("inet6") {
                load_addr6(h, di, a);
                continue;
            }
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

/// A dumped route's table and device (either family), or None with a
/// warning when the table is unknown or the device is not modelled.
fn route_table_dev(
    h: &Host,
    r: &Value,
    f_route: &str,
    dst_s: &str,
    warnings: &mut Vec<String>,
) -> Option<(u32, Option<usize>)> {
    let table = match &r["table"] {
        Value::String(s) => fib::table_id(s),
        Value::Number(n) => n.as_u64().map(|x| x as u32),
        _ => Some(fib::TABLE_MAIN),
    };
    let Some(table) = table else {
        warnings.push(format!(
            "{f_route}: route to {dst_s} in an unknown table; left out"
        ));
        return None;
    };
    let dev = r["dev"].as_str().and_then(|d| h.dev_index(d));
    if r["dev"].is_string() && dev.is_none() {
        warnings.push(format!(
            "{f_route}: route to {dst_s} via device {} that is not modelled; left out",
            r["dev"]
        ));
        return None;
    }
    Some((table, dev))
}

/// One `inet6` entry of `ip -j addr show`.
fn load_addr6(h: &mut Host, di: usize, a: &Value) {
    let (Some(ip), Some(len)) = (
        a["local"]
            .as_str()
            .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok()),
        a["prefixlen"].as_u64(),
    ) else {
        return;
    };
    let Ok(net) = ipnet::Ipv6Net::new(ip, len as u8) else {
        return;
    };
    let flag = |k: &str| a[k].as_bool().unwrap_or(false);
    let mut x = crate::net::ip6::Inet6Addr::new(net);
    x.nodad = flag("nodad");
    x.tentative = flag("tentative");
    x.dadfailed = flag("dadfailed");
    x.noprefixroute = flag("noprefixroute");
    x.auto = matches!(a["scope"].as_str(), Some("link") | Some("host"));
    let v = h.ip6.addrs.entry(di).or_default();
    if !v.iter().any(|y| y.addr() == ip) {
        v.push(x);
    }
}

/// One IPv6 route of `ip -j route show table all` (they come with a
/// `pref`, or an address with a colon): into the IPv6 tables. Multicast
/// and anycast routes are counted in `skipped`.
fn load_route6(
    h: &mut Host,
    r: &Value,
    f_route: &str,
    skipped: &mut BTreeMap<String, usize>,
    warnings: &mut Vec<String>,
) {
    use crate::net::ip6::Route6;
    let t = r["type"].as_str().unwrap_or("unicast");
    let Some(rtype) = RouteType::from_name(t).filter(|t| *t != RouteType::Broadcast) else {
        *skipped.entry(t.to_string()).or_default() += 1;
        return;
    };
    let dst_s = r["dst"].as_str().unwrap_or("");
    let dst = match dst_s {
        "default" => "::/0".parse().ok(),
        s if s.contains('/') => s.parse::<ipnet::Ipv6Net>().ok(),
        s => s
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .and_then(|a| ipnet::Ipv6Net::new(a, 128).ok()),
    };
    let Some(dst) = dst else {
        warnings.push(format!(
            "{f_route}: IPv6 route to '{dst_s}' not understood; left out"
        ));
        return;
    };
    let Some((table, dev)) = route_table_dev(h, r, f_route, dst_s, warnings) else {
        return;
    };
    // a blackhole/unreachable/prohibit route shows `dev lo`: no device
    let dev = dev.filter(|_| matches!(rtype, RouteType::Unicast | RouteType::Local));
    let mtu = arr(&r["metrics"])
        .iter()
        .find_map(|m| m["mtu"].as_u64())
        .map(|m| m as u32);
    let route = Route6 {
        dst,
        rtype,
        via: r["gateway"].as_str().and_then(|g| g.parse().ok()),
        dev,
        src: r["prefsrc"].as_str().and_then(|s| s.parse().ok()),
        metric: r["metric"].as_u64().unwrap_or(0) as u32,
        kernel: r["protocol"].as_str() == Some("kernel"),
        mtu,
        onlink: arr(&r["flags"]).iter().any(|f| f == "onlink"),
    };
    if let Err(e) = h.ip6.fib.add(table, route) {
        warnings.push(format!("{f_route}: {e}; left out"));
    }
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
        let v6 = !r["pref"].is_null()
            || r["dst"].as_str().is_some_and(|d| d.contains(':'))
            || r["gateway"].as_str().is_some_and(|g| g.contains(':'));
        if v6 {
            load_route6(h, r, &f_route, &mut skipped, warnings);
            continue;
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
        let Some((table, dev)) = route_table_dev(h, r, &f_route, dst_s, warnings) else {
            continue;
        };
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

/// `ip -j rule show` (`ip-rule.json`) and, when the bundle has it, `ip -6
/// -j rule show` (`ip6-rule.json`): a family's rules replace its default
/// ones when there are any; actions and tables podpath does not know are
/// left out with a warning.
fn load_rules(read: Reader, h: &mut Host, warnings: &mut Vec<String>) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_rule = format!("{hn}/ip-rule.json");
    let rules = rules_json(&json(read, &f_rule)?, &f_rule, warnings, |s, l| {
        parse_prefix(s, l).filter(|n| n.prefix_len() > 0)
    });
    if !rules.is_empty() {
        h.fib.rules.clear();
    }
    for r in rules {
        h.fib.add_rule(r);
    }
    // optional: a bundle made before IPv6 rules were collected has none
    let f_rule6 = format!("{hn}/ip6-rule.json");
    if read(&f_rule6).is_ok() {
        let rules = rules_json(&json(read, &f_rule6)?, &f_rule6, warnings, |s, l| {
            parse_prefix6(s, l).filter(|n| n.prefix_len() > 0)
        });
        if !rules.is_empty() {
            h.ip6.fib.rules.clear();
        }
        for r in rules {
            h.ip6.fib.add_rule(r);
        }
    }
    Ok(())
}

/// An IPv6 prefix of `ip -j`: `all`/`default`, `ADDR/LEN`, or `ADDR`
/// with its length apart (`srclen`).
fn parse_prefix6(s: &str, len: Option<u64>) -> Option<ipnet::Ipv6Net> {
    if s == "default" || s == "all" {
        return Some(ipnet::Ipv6Net::default());
    }
    if let Some((a, p)) = s.split_once('/') {
        return ipnet::Ipv6Net::new(a.parse().ok()?, p.parse().ok()?)
            .ok()
            .map(|n| n.trunc());
    }
    let a: std::net::Ipv6Addr = s.parse().ok()?;
    ipnet::Ipv6Net::new(a, len.unwrap_or(128) as u8)
        .ok()
        .map(|n| n.trunc())
}

/// The rules of an `ip -j rule show` array, prefixes read by `prefix`
/// (None for `all` or a /0: no selector).
fn rules_json<N>(
    rules: &Value,
    f_rule: &str,
    warnings: &mut Vec<String>,
    prefix: impl Fn(&str, Option<u64>) -> Option<N>,
) -> Vec<IpRule<N>> {
    let mut out = Vec::new();
    for r in arr(rules) {
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
            .and_then(|s| prefix(s, r["srclen"].as_u64()));
        let dst = r["dst"]
            .as_str()
            .and_then(|s| prefix(s, r["dstlen"].as_u64()));
        let fwmark = r.get("fwmark").and_then(hex_or_dec).map(|v| {
            (
                v,
                r.get("fwmask").and_then(hex_or_dec).unwrap_or(0xffff_ffff),
            )
        });
        out.push(IpRule {
            priority: r["priority"].as_u64().unwrap_or(0) as u32,
            not: r.get("not").is_some(),
            from: src,
            to: dst,
            fwmark,
            iif: r["iif"].as_str().map(str::to_string),
            oif: r["oif"].as_str().map(str::to_string),
            action,
        });
    }
    out
}

/// `ip -j neigh show`: entries with an address, a MAC and a NUD state
/// podpath models (PERMANENT, REACHABLE, or STALE for STALE/DELAY/PROBE).
fn load_neigh(read: Reader, h: &mut Host) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_neigh = format!("{hn}/ip-neigh.json");
    for n in arr(&json(read, &f_neigh)?) {
        let (Some(ip), Some(dev)) = (
            n["dst"]
                .as_str()
                .and_then(|s| s.parse::<std::net::IpAddr>().ok()),
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
        let Some(state) = super::dumps::neigh_state(st) else {
            continue;
        };
        let ip = match ip {
            std::net::IpAddr::V4(ip) => ip,
            std::net::IpAddr::V6(ip) => {
                h.ip6.neigh.insert(
                    (dev, ip),
                    crate::net::ip6::Neigh6 {
                        mac: Some(mac),
                        state,
                        updated_ns: 0,
                        probes: 0,
                        router: arr(&n["flags"]).iter().any(|f| f == "router")
                            || !n["router"].is_null(),
                        queue: vec![],
                        last_use: None,
                    },
                );
                continue;
            }
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
        if let Some(dst) = e["dst"]
            .as_str()
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
        {
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
    load_ipsets(read, h)?;
    let f_ipt = format!("{hn}/iptables-save.txt");
    let ipt = read(&f_ipt).map_err(|e| err(&f_ipt, e.to_string()))?;
    // the machine's name databases (etc/passwd, etc/group), for the names
    // iptables-restore and nft -f resolve when they load (libxt_owner.c,
    // nftables src/meta.c; crate::net::names). One etc/ serves every host
    // of the bundle (simplified: a container's own /etc is not read).
    let etc = crate::net::names::Etc::read(&|f: &str| read(f).ok(), "etc/");
    let rs = Ruleset::parse(&ipt, &f_ipt)
        .and_then(|mut rs| rs.resolve_names(&etc, &f_ipt).map(|()| rs))
        .map_err(|pe| ScenarioError {
            file: f_ipt.clone(),
            line: pe.line,
            column: pe.column,
            key: String::new(),
            message: pe.message,
        })?;
    for u in rs.unresolved() {
        warnings.push(format!(
            "{f_ipt}: line {}: {}: {}",
            u.line, u.construct, u.effect
        ));
    }
    h.nf = std::sync::Arc::new(rs);
    for w in &h.nf.warnings {
        warnings.push(w.clone());
    }
    // ip6tables-save (optional: a bundle of a host without it has none)
    let f_ip6t = format!("{hn}/ip6tables-save.txt");
    if let Ok(t) = read(&f_ip6t) {
        let rs = Ruleset::parse_v6(&t, &f_ip6t)
            .and_then(|mut rs| rs.resolve_names(&etc, &f_ip6t).map(|()| rs))
            .map_err(|pe| ScenarioError {
                file: f_ip6t.clone(),
                line: pe.line,
                column: pe.column,
                key: String::new(),
                message: pe.message,
            })?;
        for w in &rs.warnings {
            warnings.push(w.clone());
        }
        h.nf6 = std::sync::Arc::new(rs);
    }
    sets_exist(h, &f_ipt)?;
    let f_nft = format!("{hn}/nft-ruleset.txt");
    if let Ok(t) = read(&f_nft) {
        if !t.trim().is_empty() {
            let nft = crate::net::netfilter::nftables::Nft::parse_listing(&t)
                .and_then(|mut n| n.resolve_names(&etc).map(|()| n))
                .map_err(|ne| ScenarioError {
                    file: f_nft.clone(),
                    line: ne.line,
                    column: 0,
                    key: String::new(),
                    message: ne.message,
                })?;
            for u in nft.unresolved() {
                warnings.push(format!(
                    "{f_nft}: line {}: {}: {}",
                    u.line, u.construct, u.effect
                ));
            }
            h.nft = std::sync::Arc::new(nft);
            h.nft_text = t.into();
        }
    }
    // after nft: an [OFFLOAD] entry goes into one of its flowtables
    load_conntrack(read, h, warnings)?;
    Ok(())
}

/// `HOST/ipvsadm-save.txt` (optional: `ipvsadm -S -n`) into each host's
/// IPVS table, once every host is loaded: a host name a dump without `-n`
/// holds is resolved as `ipvsadm -R` on the machine would resolve it,
/// from the bundle's `etc/hosts` (the machine's /etc/hosts, which
/// `snapshot --host` copies; glibc's `files` backend comes first), else
/// from the bundle's own host names (a host's first address: named as a
/// simplification), else it stays unresolved (a warning, as what podpath
/// keeps without a model).
fn load_ipvsadm(
    read: Reader,
    hosts: &mut [Host],
    warnings: &mut Vec<String>,
) -> Result<(), ScenarioError> {
    let mut names = read("etc/hosts")
        .map(|t| crate::net::ipvsadm::parse_hosts(&t))
        .unwrap_or_default();
    let from_file = names.clone();
    for h in hosts.iter() {
        let first = h
            .devs
            .iter()
            .filter(|d| d.kind != DevKind::Loopback)
            .flat_map(|d| d.addrs.first())
            .next();
        if let Some(a) = first {
            names.entry(h.name.to_ascii_lowercase()).or_insert(a.addr());
        }
    }
    for h in hosts.iter_mut() {
        let f = format!("{}/ipvsadm-save.txt", h.name);
        let Ok(t) = read(&f) else {
            continue;
        };
        let mut d = crate::net::ipvsadm::parse(&t, &f).map_err(|e| ScenarioError {
            file: f.clone(),
            line: e.line,
            column: 0,
            key: String::new(),
            message: e.message,
        })?;
        for (n, a) in d.resolve(&names) {
            let how = if from_file.contains_key(&n.to_ascii_lowercase()) {
                "etc/hosts".to_string()
            } else {
                format!("the bundle's host {n} (its first address; simplified: the machine's own resolver is not known)")
            };
            warnings.push(format!("{f}: host name '{n}' resolved to {a} from {how}"));
        }
        for u in &d.unmodelled {
            warnings.push(format!("{f}: {u}"));
        }
        for u in &d.unresolved {
            warnings.push(format!(
                "{f}: line {}: {}: {}",
                u.line, u.construct, u.effect
            ));
        }
        h.ipvs = d.to_ipvs();
    }
    Ok(())
}

/// `conntrack.txt` (optional: `conntrack -L`): the connections the machine
/// had, so a replay can start in the middle of an established, NATed
/// connection. What podpath keeps without a model is a warning.
fn load_conntrack(
    read: Reader,
    h: &mut Host,
    warnings: &mut Vec<String>,
) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f = format!("{hn}/conntrack.txt");
    if let Ok(t) = read(&f) {
        let list = crate::net::netfilter::ct_list::parse(&t).map_err(|e| ScenarioError {
            file: f.clone(),
            line: e.line,
            column: 0,
            key: String::new(),
            message: e.message,
        })?;
        for u in &list.unmodelled {
            warnings.push(format!("{f}: {u}"));
        }
        let n = crate::net::netfilter::ct_list::insert(&mut h.ct, &list, 0);
        let off = crate::net::netfilter::ct_list::offloaded_tuples(&list);
        for w in h.offload_loaded(&off, 0) {
            warnings.push(format!("{f}: {w}"));
        }
        if n < list.entries.len() {
            warnings.push(format!(
                "{f}: {} of {} entries loaded (IPv6, other protocols, taken tuples and a full table are left out)",
                n,
                list.entries.len()
            ));
        }
    }
    Ok(())
}

/// `ipset-save.txt` (optional: `ipset save` output), loaded before the
/// iptables that reference its sets, as iptables-restore needs them.
fn load_ipsets(read: Reader, h: &mut Host) -> Result<(), ScenarioError> {
    let f = format!("{}/ipset-save.txt", h.name);
    let Ok(t) = read(&f) else {
        return Ok(());
    };
    let sets = crate::net::netfilter::ipset::IpsetStore::parse(&t, &f).map_err(|e| {
        let m = e.to_string();
        // "FILE:LINE: message"
        let rest = m.strip_prefix(&format!("{f}:")).unwrap_or(&m);
        let (line, msg) = rest
            .split_once(": ")
            .and_then(|(n, r)| Some((n.parse::<usize>().ok()?, r.to_string())))
            .unwrap_or((0, m.clone()));
        ScenarioError {
            file: f.clone(),
            line,
            column: 0,
            key: String::new(),
            message: msg,
        }
    })?;
    h.replace_ipsets(sets);
    Ok(())
}

/// What iptables-restore looks up on the host when it loads the dump
/// ([crate::net::netfilter::iptables::Machine]): every set a `-m set` or
/// `-j SET` names is one of `ipset-save.txt` (libxt_set.c get_set_byname:
/// "Set NAME doesn't exist"). A bundle carries no `nfacct list` and no
/// connlabel.conf, so those names are not checked.
fn sets_exist(h: &Host, f_ipt: &str) -> Result<(), ScenarioError> {
    let machine = crate::net::netfilter::iptables::Machine {
        ipsets: Some(h.nf_state.ipsets.sets.keys().cloned().collect()),
        ..Default::default()
    };
    h.nf.check_machine(&machine, f_ipt)
        .map_err(|pe| ScenarioError {
            file: f_ipt.to_string(),
            line: pe.line,
            column: 0,
            key: String::new(),
            message: if pe.message.starts_with("Set ") {
                format!(
                    "{} (iptables-restore needs the host's ipset-save.txt first)",
                    pe.message.trim_end_matches('.')
                )
            } else {
                pe.message
            },
        })
}

/// `sysctl.txt` (`key = value` lines): the keys podpath models (others
/// are ignored).
fn load_sysctl(read: Reader, h: &mut Host) -> Result<(), ScenarioError> {
    let hn = h.name.clone();
    let f_sys = format!("{hn}/sysctl.txt");
    let sys = read(&f_sys).map_err(|e| err(&f_sys, e.to_string()))?;
    let mut sc = Sysctl::default();
    for (k, v) in super::dumps::sysctl_pairs(&sys) {
        if Sysctl::is_known(k) {
            sc.set(k, v);
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
