//! The scenario format (`apiVersion: podpath/v1`, `kind: Scenario`): schema,
//! validation with file/line/column errors, and the build into a [`World`].
//!
//! Unknown keys are errors. Every name that refers to something else (a
//! device in a route, a host in a link, a bridge master) is checked and an
//! error points at the place in the file.

pub mod bundle;
pub mod schema;

pub use schema::*;

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_saphyr::Spanned;

use crate::app::{App, HttpResponseSpec, HttpServer};
use crate::det::host_rng;
use crate::net::fib::{self, IpRule, Route, RouteType, RuleAction};
use crate::net::host::{DevKind, Device, Host, HostKind, Peer};
use crate::net::netfilter::Ruleset;
use crate::net::sysctl::Sysctl;
use crate::wire::Mac;
use crate::world::{FlowSpec, Request, World};

/// An error in a scenario: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The key path, e.g. `hosts.minikube.routes[0].dev`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.message)
    }
}

/// (a end, b end, latency, key path for errors)
type LinkSpec = (
    Spanned<String>,
    Spanned<String>,
    Option<Spanned<String>>,
    String,
);

struct Errs<'a> {
    file: &'a str,
}

impl Errs<'_> {
    fn at<T>(&self, s: &Spanned<T>, key: String, message: String) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: s.referenced.line() as usize,
            column: s.referenced.column() as usize,
            key,
            message,
        }
    }
}

/// The longest duration a scenario may give: 2^62 ns (146 years). Sums of
/// two such (a time plus a latency) still fit the virtual clock's 64 bits.
pub const MAX_DURATION_NS: u64 = 1 << 62;

/// Parses a duration: `100us`, `1.5ms`, `2s`, `250ns`, `5m`, `1h`; the
/// error says what was expected, or that it overflows the virtual clock.
pub fn duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || {
        format!("bad duration '{s}': expected a number and a unit (ns, us, ms, s, m, h), e.g. 100us or 1.5s")
    };
    let (num, mul) = if let Some(n) = t.strip_suffix("ns") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("µs") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e9)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60e9)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600e9)
    } else {
        return Err(bad());
    };
    let v: f64 = num.trim().parse().map_err(|_| bad())?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(bad());
    }
    let ns = v * mul;
    if ns > MAX_DURATION_NS as f64 {
        return Err(format!(
            "duration '{s}' overflows the virtual clock: at most 2^62 ns (about 146 years)"
        ));
    }
    Ok(ns.round() as u64)
}

/// [`duration`] without the reason.
pub fn parse_duration(s: &str) -> Option<u64> {
    duration(s).ok()
}

fn parse_cidr(s: &str) -> Option<Ipv4Net> {
    let (a, p) = s.split_once('/')?;
    Ipv4Net::new(a.parse().ok()?, p.parse().ok()?).ok()
}

fn parse_dst(s: &str) -> Option<Ipv4Net> {
    if s == "default" {
        return Some(Ipv4Net::default());
    }
    if s.contains('/') {
        return parse_cidr(s).map(|n| n.trunc());
    }
    s.parse::<Ipv4Addr>()
        .ok()
        .map(|a| Ipv4Net::new(a, 32).expect("/32"))
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses scenario YAML. `file` names the input in errors.
pub fn parse(text: &str, file: &str) -> Result<ScenarioDoc, ScenarioError> {
    crate::yaml::from_str::<ScenarioDoc>(text).map_err(|e| ScenarioError {
        file: file.to_string(),
        line: e.line,
        column: e.column,
        key: e.key,
        message: e.message,
    })
}

/// Parses and builds a scenario into a world ready to run. `seed` overrides
/// the scenario's seed.
pub fn load(text: &str, file: &str, seed: Option<u64>) -> Result<World, ScenarioError> {
    let mut doc = parse(text, file)?;
    expand_cluster(&mut doc, file)?;
    given_resyncs(&mut doc, file)?;
    let world = build(&doc, text, file, seed)?;
    refuse_l2_loops(&doc, &world, file)?;
    Ok(world)
}

/// Refuses a world whose bridges and links make a layer-2 loop, naming the
/// link that closes it. podpath's bridges, like Linux's by default
/// (`stp_state 0`, net/bridge/br_stp.c not running), run no spanning tree:
/// a flooded frame would circle the loop forever (br_forward.c floods to
/// every port but the ingress one).
fn refuse_l2_loops(doc: &ScenarioDoc, world: &World, file: &str) -> Result<(), ScenarioError> {
    let Some(l) = crate::topo::l2_loops(world).into_iter().next() else {
        return Ok(());
    };
    let e = Errs { file };
    let (x, y) = (&l.closed_by.0, &l.closed_by.1);
    let message = format!(
        "this link closes a layer-2 loop ({}): podpath's bridges, like Linux's by default \
         (stp_state 0), run no spanning tree, so a flooded frame would circle it forever; \
         remove a link of the loop",
        l.describe()
    );
    let ends = |a: &str, b: &str| (a == x && b == y) || (a == y && b == x);
    if let Some((li, ld)) = doc
        .links
        .iter()
        .enumerate()
        .find(|(_, ld)| ends(&ld.a.value, &ld.b.value))
    {
        return Err(e.at(&ld.a, format!("links[{li}]"), message));
    }
    for (si, sd) in doc.segments.iter().enumerate() {
        if let Some((mi, m)) = sd
            .members
            .iter()
            .enumerate()
            .find(|(_, m)| &m.value == x || &m.value == y)
        {
            return Err(e.at(m, format!("segments[{si}].members[{mi}]"), message));
        }
    }
    Err(ScenarioError {
        file: file.to_string(),
        line: 1,
        column: 1,
        key: "links".into(),
        message,
    })
}

/// The `resync` faults a scenario writes out (`podpath expand`'s form of
/// `endpointRemoved`), in time order with the computed ones.
fn given_resyncs(doc: &mut ScenarioDoc, file: &str) -> Result<(), ScenarioError> {
    let e = Errs { file };
    for fi in 0..doc.faults.len() {
        let Some(r) = doc.faults[fi].resync.take() else {
            continue;
        };
        if doc.faults[fi].endpoint_removed.is_some() {
            return Err(e.at(
                &doc.faults[fi].at,
                format!("faults[{fi}]"),
                "give endpointRemoved or resync, not both".into(),
            ));
        }
        let endpoint = r.endpoint.value.parse::<Ipv4Addr>().map_err(|_| {
            e.at(
                &r.endpoint,
                format!("faults[{fi}].resync.endpoint"),
                format!("'{}': expected an IPv4 address", r.endpoint.value),
            )
        })?;
        doc.resyncs.push(ResyncText {
            fault: fi,
            endpoint,
            what: r.what.clone(),
            hosts: r.hosts,
        });
        // keep the fault marked as a resync
        doc.faults[fi].resync = Some(ResyncDoc {
            what: r.what,
            endpoint: r.endpoint,
            hosts: BTreeMap::new(),
        });
    }
    let at = |f: usize| parse_duration(&doc.faults[f].at.value).unwrap_or(0);
    let mut rs = std::mem::take(&mut doc.resyncs);
    rs.sort_by_key(|r| (at(r.fault), r.fault));
    doc.resyncs = rs;
    Ok(())
}

/// The whole scenario with its cluster expanded: the hosts, links and
/// segments the objects make (merged with the scenario's own), each
/// `endpointRemoved` written out as the `resync` it causes, and a host's
/// added iptables applied onto the generated ones; it loads and runs as it
/// is. `None` when the scenario has no cluster.
pub fn expanded_scenario(text: &str, file: &str) -> Result<Option<String>, ScenarioError> {
    let mut doc = parse(text, file)?;
    if doc.cluster.is_none() {
        return Ok(None);
    }
    expand_cluster(&mut doc, file)?;
    let e = Errs { file };
    for r in std::mem::take(&mut doc.resyncs) {
        let f = &mut doc.faults[r.fault];
        let at = f.at.clone();
        f.endpoint_removed = None;
        f.resync = Some(ResyncDoc {
            what: r.what,
            endpoint: Spanned {
                value: r.endpoint.to_string(),
                referenced: at.referenced,
                defined: at.defined,
            },
            hosts: r.hosts,
        });
    }
    for (name, h) in doc.hosts.iter_mut() {
        if h.iptables_extra.is_empty() {
            continue;
        }
        let base = h
            .iptables
            .as_ref()
            .map(|t| t.value.clone())
            .unwrap_or_default();
        let mut rs = Ruleset::parse(&base, file)
            .map_err(|pe| e.at(&h.kind, format!("hosts.{name}.iptables"), pe.to_string()))?;
        for x in std::mem::take(&mut h.iptables_extra) {
            rs.restore_noflush(&x.value, file)
                .map_err(|pe| e.at(&x, format!("hosts.{name}.iptables"), pe.to_string()))?;
        }
        let printed = rs.to_save_text();
        h.iptables = Some(match h.iptables.take() {
            Some(mut t) => {
                t.value = printed;
                t
            }
            None => Spanned {
                value: printed,
                referenced: h.kind.referenced,
                defined: h.kind.defined,
            },
        });
    }
    let body = serde_saphyr::to_string(&doc).map_err(|err| {
        e.at(
            &doc.kind,
            String::new(),
            format!("cannot write the expanded scenario: {err}"),
        )
    })?;
    Ok(Some(format!(
        "# {file} with its cluster expanded by `podpath expand` (runs as it is)\n{body}"
    )))
}

/// The cluster's objects and network settings, read from the `cluster` key.
pub fn cluster_of(
    c: &ClusterDoc,
    file: &str,
) -> Result<(crate::k8s::Cluster, crate::k8s::cluster::NetConfig), ScenarioError> {
    let e = Errs { file };
    let cidr = |s: &Spanned<String>, k: &str| {
        parse_cidr(&s.value)
            .map(|n| n.trunc())
            .ok_or_else(|| e.at(s, format!("cluster.{k}"), format!("bad CIDR '{}'", s.value)))
    };
    let cluster_cidr = cidr(&c.cluster_cidr, "clusterCIDR")?;
    let node_network = cidr(&c.node_network, "nodeNetwork")?;
    if let Some(m) = &c.proxy_mode {
        if !["iptables", "ipvs", "nftables"].contains(&m.value.as_str()) {
            return Err(e.at(
                m,
                "cluster.proxyMode".into(),
                format!(
                    "proxy mode '{}': expected iptables, ipvs or nftables",
                    m.value
                ),
            ));
        }
    }
    let service_cidr = match &c.service_cidr {
        Some(s) => cidr(s, "serviceCIDR")?,
        None => "10.96.0.0/12".parse().expect("literal"),
    };
    let objs =
        crate::k8s::Cluster::from_yaml(&c.manifests.value, &format!("{file} (cluster.manifests)"))
            .map_err(|k| {
                let mut se = e.at(&c.manifests, "cluster.manifests".into(), k.to_string());
                if k.line > 0 {
                    // the block's text starts on the line after `manifests: |`
                    se.line += k.line - 1;
                    se.column = 0;
                    se.message = format!("{}: {}: {}", k.object, k.field, k.message);
                }
                se
            })?;
    let range = match &c.service_node_port_range {
        Some(r) => r
            .value
            .split_once('-')
            .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)))
            .filter(|(a, b)| a <= b && *a > 0)
            .ok_or_else(|| {
                e.at(
                    r,
                    "cluster.serviceNodePortRange".into(),
                    format!("'{}': expected a port range like 30000-32767", r.value),
                )
            })?,
        None => (30000, 32767),
    };
    objs.validate_node_ports(range).map_err(|k| {
        let mut se = e.at(&c.manifests, "cluster.manifests".into(), k.to_string());
        if k.line > 0 {
            se.line += k.line - 1;
            se.column = 0;
        }
        se
    })?;
    let net = crate::k8s::cluster::NetConfig {
        cni: c.cni.value.clone(),
        cluster_cidr,
        node_network,
        domain: c.domain.clone().unwrap_or_else(|| "cluster.local".into()),
        attach: c.attach.clone(),
        proxy_mode: c
            .proxy_mode
            .as_ref()
            .map(|m| m.value.clone())
            .unwrap_or_else(|| "iptables".into()),
        node_gateway: match &c.node_gateway {
            Some(g) => g.value.parse::<Ipv4Addr>().map_err(|_| {
                e.at(
                    g,
                    "cluster.nodeGateway".into(),
                    format!("bad address '{}'", g.value),
                )
            })?,
            None => Ipv4Addr::from(u32::from(node_network.network()) + 1),
        },
        service_cidr,
    };
    Ok((objs, net))
}

/// What a scenario's cluster expands to: the hosts, links and segments
/// `k8s::cluster::expand` builds from its objects (`None` without a
/// `cluster`). Errors in the objects name the `cluster` key.
pub fn expansion(doc: &ScenarioDoc, file: &str) -> Result<Option<ExpansionDoc>, ScenarioError> {
    let Some(c) = &doc.cluster else {
        return Ok(None);
    };
    let (objs, net) = cluster_of(c, file)?;
    let e = Errs { file };
    crate::k8s::cluster::expand(&objs, &net)
        .map(Some)
        .map_err(|k| e.at(&c.manifests, "cluster".into(), k.to_string()))
}

/// Replaces the `cluster` key by the hosts, links and segments it expands
/// to ([`expansion`]): a host the scenario also lists is merged onto the
/// generated one ([`merge_host`]), links and segments are appended, and
/// each `endpointRemoved` fault gets the hosts as the cluster makes them
/// afterwards.
pub fn expand_cluster(doc: &mut ScenarioDoc, file: &str) -> Result<(), ScenarioError> {
    let Some(x) = expansion(doc, file)? else {
        return Ok(());
    };
    let (objs, _) = cluster_of(doc.cluster.as_ref().expect("cluster"), file)?;
    if objs.service("kube-system", "kube-dns").is_none() {
        for (name, h) in &x.hosts {
            if h.kind.value == "pod" {
                doc.pods_without_dns.insert(name.clone());
            }
        }
    }
    for (name, h) in x.hosts {
        match doc.hosts.remove(&name) {
            // the scenario adjusts a host the cluster makes
            Some(user) => {
                let merged = merge_host(h, user, &name, &Errs { file })?;
                doc.hosts.insert(name, merged);
            }
            None => {
                doc.hosts.insert(name, h);
            }
        }
    }
    doc.links.extend(x.links);
    doc.segments.extend(x.segments);
    let c = doc.cluster.take().expect("cluster");
    doc.resyncs = endpoint_resyncs(doc, &c, file)?;
    Ok(())
}

/// A scenario's `hosts.NAME` for a host the cluster makes (a Node or a
/// Pod): what it adds is merged onto the generated host. Devices, routes,
/// rules, neighbours, apps and IPVS services are added; sysctls set or
/// overridden; an existing device takes a new `mtu`, `mac`, `up: false` or
/// extra `addrs`; `iptables` is applied on top of the generated rules as
/// `iptables-restore --noflush` would (rules appended or inserted, new
/// chains), also after every control-plane resync; `resolvConf`,
/// `ipset` and `nftables` are set where the cluster gives none. The kind
/// must be the generated one.
fn merge_host(
    mut generated: HostDoc,
    user: HostDoc,
    name: &str,
    e: &Errs,
) -> Result<HostDoc, ScenarioError> {
    let kp = format!("hosts.{name}");
    if user.kind.value != generated.kind.value {
        return Err(e.at(
            &user.kind,
            format!("{kp}.kind"),
            format!(
                "'{name}' is a {} the cluster makes (a Node or Pod of that name): to adjust it, say kind: {}",
                generated.kind.value, generated.kind.value
            ),
        ));
    }
    for (dn, ud) in user.devices {
        let Some(gd) = generated.devices.get_mut(&dn) else {
            generated.devices.insert(dn, ud);
            continue;
        };
        let fixed = ud
            .dev_type
            .as_ref()
            .or(ud.master.as_ref())
            .or(ud.local.as_ref())
            .or(ud.dev.as_ref());
        if let Some(f) = fixed {
            return Err(e.at(
                f,
                format!("{kp}.devices.{dn}"),
                format!("device {dn} is made by the cluster: only its mtu, mac, addrs and up can be adjusted"),
            ));
        }
        if ud.mtu.is_some() {
            gd.mtu = ud.mtu;
        }
        if ud.mac.is_some() {
            gd.mac = ud.mac;
        }
        if !ud.up {
            gd.up = false;
        }
        gd.addrs.extend(ud.addrs);
    }
    generated.routes.extend(user.routes);
    generated.rules.extend(user.rules);
    generated.neighbors.extend(user.neighbors);
    generated.apps.extend(user.apps);
    generated.ipvs.extend(user.ipvs);
    generated.sysctl.extend(user.sysctl);
    generated.iptables_extra.extend(user.iptables);
    for (mine, theirs, key) in [
        (&mut generated.ipset, user.ipset, "ipset"),
        (&mut generated.nftables, user.nftables, "nftables"),
    ] {
        if let Some(t) = theirs {
            if mine.is_some() {
                return Err(e.at(
                    &t,
                    format!("{kp}.{key}"),
                    format!("the cluster already writes {name}'s {key}; podpath cannot merge a second one onto it"),
                ));
            }
            *mine = Some(t);
        }
    }
    if user.resolv_conf.is_some() {
        generated.resolv_conf = user.resolv_conf;
    }
    if user.namespace.is_some() {
        generated.namespace = user.namespace;
    }
    Ok(generated)
}

/// The cluster after each `endpointRemoved` fault, in time order (each
/// removal applies on top of the earlier ones).
fn endpoint_resyncs(
    doc: &ScenarioDoc,
    c: &ClusterDoc,
    file: &str,
) -> Result<Vec<ResyncText>, ScenarioError> {
    let e = Errs { file };
    let mut order: Vec<(u64, usize)> = doc
        .faults
        .iter()
        .enumerate()
        .filter(|(_, f)| f.endpoint_removed.is_some())
        .map(|(i, f)| (parse_duration(&f.at.value).unwrap_or(0), i))
        .collect();
    if order.is_empty() {
        return Ok(Vec::new());
    }
    order.sort();
    let (mut objs, net) = cluster_of(c, file)?;
    let mut out = Vec::new();
    for (_, fi) in order {
        let v = doc.faults[fi].endpoint_removed.as_ref().expect("filtered");
        let key = format!("faults[{fi}].endpointRemoved");
        let val = v.value.trim();
        let ip: Ipv4Addr = match val.split_once('/') {
            Some((ns, pod)) => {
                let p = objs
                    .pods
                    .iter()
                    .find(|p| p.metadata.ns() == ns && p.metadata.name == pod)
                    .ok_or_else(|| {
                        e.at(v, key.clone(), format!("no Pod {ns}/{pod} in the cluster"))
                    })?;
                p.status
                    .pod_ip
                    .as_deref()
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| {
                        e.at(
                            v,
                            key.clone(),
                            format!("Pod {ns}/{pod} has no status.podIP"),
                        )
                    })?
            }
            None => val.parse().map_err(|_| {
                e.at(
                    v,
                    key.clone(),
                    format!("'{val}': expected an endpoint address or NAMESPACE/POD"),
                )
            })?,
        };
        let addr = ip.to_string();
        let mut slices = Vec::new();
        for sl in objs.slices.iter_mut() {
            let before = sl.endpoints.len();
            sl.endpoints.retain(|ep| !ep.addresses.contains(&addr));
            if sl.endpoints.len() != before {
                slices.push(format!("{}/{}", sl.metadata.ns(), sl.metadata.name));
            }
        }
        if slices.is_empty() {
            return Err(e.at(v, key, format!("no EndpointSlice lists {addr} (by then)")));
        }
        let pod = objs
            .pods
            .iter()
            .find(|p| p.status.pod_ip.as_deref() == Some(addr.as_str()))
            .map(|p| format!(" (Pod {}/{})", p.metadata.ns(), p.metadata.name))
            .unwrap_or_default();
        let x = crate::k8s::cluster::expand(&objs, &net)
            .map_err(|k| e.at(v, key.clone(), k.to_string()))?;
        out.push(ResyncText {
            fault: fi,
            endpoint: ip,
            what: format!(
                "endpoint {addr}{pod} removed from EndpointSlice {}",
                slices.join(", ")
            ),
            hosts: x.hosts,
        });
    }
    Ok(out)
}

/// A host's `ipvs` list as IPVS virtual services.
fn ipvs_services(
    hd: &HostDoc,
    e: &Errs,
    kp: &str,
) -> Result<Vec<crate::net::ipvs::VirtualService>, ScenarioError> {
    let mut out = Vec::new();
    for (vi, v) in hd.ipvs.iter().enumerate() {
        let vk = format!("{kp}.ipvs[{vi}]");
        let addr_port = |s: &str| -> Option<(Ipv4Addr, u16)> {
            let (a, p) = s.rsplit_once(':')?;
            Some((a.parse().ok()?, p.parse().ok()?))
        };
        let (proto, vip) = match v.service.value.split_once(' ') {
            Some(("tcp", rest)) => (6u8, addr_port(rest.trim())),
            Some(("udp", rest)) => (17u8, addr_port(rest.trim())),
            _ => (0, None),
        };
        let Some((vip, vport)) = vip else {
            return Err(e.at(
                &v.service,
                format!("{vk}.service"),
                format!("'{}': expected 'tcp|udp ADDR:PORT'", v.service.value),
            ));
        };
        let sched = match &v.scheduler {
            Some(s) => crate::net::ipvs::Scheduler::from_name(&s.value).ok_or_else(|| {
                e.at(
                    s,
                    format!("{vk}.scheduler"),
                    format!("'{}': expected rr, wrr, lc or sh", s.value),
                )
            })?,
            None => crate::net::ipvs::Scheduler::Rr,
        };
        let mut reals = Vec::new();
        for (ri, r) in v.reals.iter().enumerate() {
            let mut w = r.value.split_whitespace();
            let ap = w.next().and_then(addr_port);
            let weight = match (w.next(), w.next()) {
                (Some("weight"), Some(n)) => n.parse::<u32>().ok(),
                (None, None) => Some(1),
                _ => None,
            };
            let (Some((ip, port)), Some(weight)) = (ap, weight) else {
                return Err(e.at(
                    r,
                    format!("{vk}.reals[{ri}]"),
                    format!("'{}': expected 'ADDR:PORT [weight N]'", r.value),
                ));
            };
            reals.push(crate::net::ipvs::RealServer {
                ip,
                port,
                weight,
                conns: 0,
            });
        }
        out.push(crate::net::ipvs::VirtualService::new(
            proto, vip, vport, sched, reals,
        ));
    }
    Ok(out)
}

/// Why a cluster's pod has no resolv.conf, when that is the reason.
fn no_dns_hint(doc: &ScenarioDoc, host: &str) -> &'static str {
    if doc.pods_without_dns.contains(host) {
        ": the cluster has no Service kube-system/kube-dns, so kubelet gives its pods no nameserver; add a kube-dns Service (with CoreDNS pods and their EndpointSlice) to the manifests"
    } else {
        ""
    }
}

/// At most this many flows run in one scenario: each keeps its whole trace
/// (every hop and step) in memory.
pub const MAX_FLOWS: u64 = 100_000;

/// Refuses flow counts past [`MAX_FLOWS`] and flows that would start after
/// the horizon (they would never run).
fn check_flow_counts(
    flows: &[FlowSpec],
    doc: &ScenarioDoc,
    horizon_ns: u64,
    e: &Errs,
) -> Result<(), ScenarioError> {
    let mut total: u64 = 0;
    for (i, (f, td)) in flows.iter().zip(&doc.traffic).enumerate() {
        let key = format!("traffic[{i}].count");
        total += u64::from(f.count);
        if total > MAX_FLOWS {
            return Err(e.at(
                &td.id,
                key,
                format!(
                    "count {}: podpath keeps every flow's trace in memory and runs at most {MAX_FLOWS} flows in one scenario ({total} asked for by here)",
                    f.count
                ),
            ));
        }
        let last = u64::from(f.count.saturating_sub(1))
            .checked_mul(f.interval_ns)
            .and_then(|x| x.checked_add(f.start_ns));
        if last.is_none_or(|t| t > horizon_ns) {
            // the first connection past the horizon (1-based)
            let past = if f.start_ns > horizon_ns {
                1
            } else {
                (horizon_ns - f.start_ns) / f.interval_ns.max(1) + 2
            };
            return Err(e.at(
                &td.id,
                key,
                format!(
                    "flows {past}-{} of '{}' would start after the horizon ({:.3} s) and never run: lower count or interval, or raise horizon",
                    f.count,
                    f.id,
                    horizon_ns as f64 / 1e9
                ),
            ));
        }
    }
    Ok(())
}

pub fn build(
    doc: &ScenarioDoc,
    text: &str,
    file: &str,
    seed_override: Option<u64>,
) -> Result<World, ScenarioError> {
    let e = Errs { file };
    if doc.api_version.value != "podpath/v1" {
        return Err(e.at(
            &doc.api_version,
            "apiVersion".into(),
            format!("expected 'podpath/v1', found '{}'", doc.api_version.value),
        ));
    }
    if doc.kind.value != "Scenario" {
        return Err(e.at(
            &doc.kind,
            "kind".into(),
            format!("expected 'Scenario', found '{}'", doc.kind.value),
        ));
    }
    let seed = seed_override.unwrap_or(doc.seed);
    let mut hosts: Vec<Host> = Vec::new();
    // the programs of each host, beside it (`World::apps`)
    let mut all_apps: Vec<Vec<App>> = Vec::new();
    let names: Vec<&String> = doc.hosts.keys().collect();
    for (hi, (hname, hd)) in doc.hosts.iter().enumerate() {
        let kp = format!("hosts.{hname}");
        let kind = HostKind::from_name(&hd.kind.value).ok_or_else(|| {
            e.at(
                &hd.kind,
                format!("{kp}.kind"),
                format!(
                    "unknown host kind '{}': expected client, router, lb, node, pod or external",
                    hd.kind.value
                ),
            )
        })?;
        let mut h = Host::new(hi, hname, kind, host_rng(seed, hname));
        let mut apps: Vec<App> = Vec::new();
        h.namespace = hd.namespace.clone();
        // devices
        for (dname, dd) in &hd.devices {
            let dk = format!("{kp}.devices.{dname}");
            if dname == "lo" {
                return Err(ScenarioError {
                    file: file.into(),
                    line: 0,
                    column: 0,
                    key: dk,
                    message: "'lo' exists on every host; do not declare it".into(),
                });
            }
            let kind = match dd.dev_type.as_ref().map(|t| t.value.as_str()) {
                None | Some("veth") | Some("ethernet") => DevKind::Veth,
                Some("bridge") => DevKind::Bridge,
                Some("dummy") => DevKind::Dummy,
                Some("vxlan") => DevKind::Vxlan,
                Some("tun") => DevKind::Tun,
                Some("ipip") => DevKind::Ipip,
                Some(other) => {
                    let t = dd.dev_type.as_ref().expect("some");
                    return Err(e.at(
                        t,
                        format!("{dk}.type"),
                        format!(
                            "unknown device type '{other}': expected veth, bridge, dummy, vxlan, tun or ipip"
                        ),
                    ));
                }
            };
            let mac = match &dd.mac {
                Some(m) => Mac::parse(&m.value).ok_or_else(|| {
                    e.at(
                        m,
                        format!("{dk}.mac"),
                        format!(
                            "bad MAC '{}': expected six hex bytes like 02:42:c0:a8:31:02",
                            m.value
                        ),
                    )
                })?,
                None => Mac::derived(&format!("{hname}/{dname}")),
            };
            let mut d = Device::new(dname, kind, mac);
            let mtu = match &dd.mtu {
                Some(m) => {
                    let (lo, hi) = kind.mtu_range();
                    let n = m.value.0.trim().parse::<i64>().ok();
                    match n {
                        Some(n) if (lo as i64..=hi as i64).contains(&n) => Some(n as u32),
                        _ => {
                            let why = match n {
                                Some(n) if n < lo as i64 => {
                                    " (the kernel: mtu less than device minimum)"
                                }
                                Some(_) => " (the kernel: mtu greater than device maximum)",
                                None => "",
                            };
                            return Err(e.at(
                                m,
                                format!("{dk}.mtu"),
                                format!(
                                    "'{}': expected an integer {lo}-{hi} for a {} device{why}",
                                    m.value.0,
                                    kind.name()
                                ),
                            ));
                        }
                    }
                }
                None => None,
            };
            if let Some(m) = mtu {
                d.mtu = m;
            }
            d.up = dd.up;
            d.hairpin = dd.hairpin;
            if kind == DevKind::Vxlan {
                d.mtu = mtu.unwrap_or(1450);
                let Some(vni) = dd.vni else {
                    return Err(ScenarioError {
                        file: file.into(),
                        line: 0,
                        column: 0,
                        key: format!("{dk}.vni"),
                        message: "a vxlan device needs 'vni'".into(),
                    });
                };
                let local = match &dd.local {
                    Some(l) => Some(l.value.parse::<Ipv4Addr>().map_err(|_| {
                        e.at(
                            l,
                            format!("{dk}.local"),
                            format!("bad address '{}'", l.value),
                        )
                    })?),
                    None => None,
                };
                let mut fdb: BTreeMap<Mac, Vec<Ipv4Addr>> = BTreeMap::new();
                for (fi, fd) in dd.fdb.iter().enumerate() {
                    let mac = Mac::parse(&fd.mac.value).ok_or_else(|| {
                        e.at(
                            &fd.mac,
                            format!("{dk}.fdb[{fi}].mac"),
                            format!("bad MAC '{}'", fd.mac.value),
                        )
                    })?;
                    let dst = fd.dst.value.parse::<Ipv4Addr>().map_err(|_| {
                        e.at(
                            &fd.dst,
                            format!("{dk}.fdb[{fi}].dst"),
                            format!("bad address '{}'", fd.dst.value),
                        )
                    })?;
                    fdb.entry(mac).or_default().push(dst);
                }
                d.vxlan = Some(crate::net::overlay::VxlanCfg {
                    vni,
                    port: dd.port.unwrap_or(crate::wire::vxlan::LINUX_DEFAULT_PORT),
                    local,
                    learning: dd.learning.unwrap_or(true),
                    dev: None,
                    fdb,
                });
            } else if dd.vni.is_some()
                || dd.port.is_some()
                || dd.local.is_some()
                || dd.learning.is_some()
                || dd.dev.is_some()
                || !dd.fdb.is_empty()
            {
                return Err(ScenarioError { file: file.into(), line: 0, column: 0, key: dk, message: "vni/port/local/learning/dev/fdb apply to vxlan devices only (add 'type: vxlan')".into() });
            }
            if let Some(w) = &dd.wireguard {
                if kind != DevKind::Tun {
                    return Err(ScenarioError {
                        file: file.into(),
                        line: 0,
                        column: 0,
                        key: format!("{dk}.wireguard"),
                        message: "'wireguard' belongs to a device of type tun".into(),
                    });
                }
                let mut peers = Vec::new();
                for (pi, p) in w.peers.iter().enumerate() {
                    let pk = format!("{dk}.wireguard.peers[{pi}]");
                    let mut allowed = Vec::new();
                    for a in &p.allowed_ips {
                        allowed.push(parse_dst(&a.value).ok_or_else(|| {
                            e.at(
                                a,
                                format!("{pk}.allowedIPs"),
                                format!("bad prefix '{}'", a.value),
                            )
                        })?);
                    }
                    let ep = p
                        .endpoint
                        .value
                        .rsplit_once(':')
                        .and_then(|(a, port)| {
                            Some((a.parse::<Ipv4Addr>().ok()?, port.parse::<u16>().ok()?))
                        })
                        .ok_or_else(|| {
                            e.at(
                                &p.endpoint,
                                format!("{pk}.endpoint"),
                                format!("bad endpoint '{}': expected ADDR:PORT", p.endpoint.value),
                            )
                        })?;
                    peers.push(crate::net::wireguard::WgPeer {
                        name: p.name.clone(),
                        allowed_ips: allowed,
                        endpoint: ep,
                        tx_counter: 0,
                    });
                }
                d.wg = Some(crate::net::wireguard::WgCfg {
                    me: w.name.clone().unwrap_or_else(|| format!("{hname}/{dname}")),
                    listen_port: w
                        .listen_port
                        .unwrap_or(crate::wire::wireguard::TAILSCALE_PORT),
                    peers,
                });
            }
            if matches!(kind, DevKind::Tun | DevKind::Ipip) {
                // TUN and IPIP devices carry no Ethernet header: no MAC
                d.mac = Mac::ZERO;
            }
            for a in &dd.addrs {
                let n = parse_cidr(&a.value).ok_or_else(|| {
                    e.at(
                        a,
                        format!("{dk}.addrs"),
                        format!("bad address '{}': expected A.B.C.D/LEN", a.value),
                    )
                })?;
                d.addrs.push(n);
            }
            h.devs.push(d);
        }
        for (dname, dd) in &hd.devices {
            if let Some(u) = &dd.dev {
                let ui = h.dev_index(&u.value).ok_or_else(|| {
                    e.at(
                        u,
                        format!("{kp}.devices.{dname}.dev"),
                        format!("no device '{}' on {hname}", u.value),
                    )
                })?;
                let di = h.dev_index(dname).expect("declared");
                // vxlan_config_apply: an explicit MTU fits in the lower
                // device's, less the 50-byte IPv4 headroom
                let max = h.devs[ui].mtu.saturating_sub(50);
                if let Some(m) = dd.mtu.as_ref().filter(|_| h.devs[di].mtu > max) {
                    return Err(e.at(
                        m,
                        format!("{kp}.devices.{dname}.mtu"),
                        format!(
                            "mtu {} of a vxlan device over {} (mtu {}) is more than {max}: the lower device's MTU less VXLAN's 50-byte headroom (the kernel: MTU out of range)",
                            h.devs[di].mtu, u.value, h.devs[ui].mtu
                        ),
                    ));
                }
                if let Some(c) = h.devs[di].vxlan.as_mut() {
                    c.dev = Some(ui);
                }
            }
            if let Some(m) = &dd.master {
                let bi = h.dev_index(&m.value).ok_or_else(|| {
                    e.at(
                        m,
                        format!("{kp}.devices.{dname}.master"),
                        format!("no device '{}' on {hname}", m.value),
                    )
                })?;
                if h.devs[bi].kind != DevKind::Bridge {
                    return Err(e.at(
                        m,
                        format!("{kp}.devices.{dname}.master"),
                        format!("'{}' is not a bridge", m.value),
                    ));
                }
                let di = h.dev_index(dname).expect("declared");
                h.devs[di].master = Some(bi);
            }
        }
        h.install_address_routes();
        // sysctls
        let mut sc = Sysctl::default();
        for (k, v) in &hd.sysctl {
            if !Sysctl::is_known(k) {
                return Err(e.at(
                    v,
                    format!("{kp}.sysctl.{k}"),
                    format!(
                        "podpath does not model sysctl '{k}' (known: {})",
                        crate::net::sysctl::KNOWN
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            Sysctl::validate(k, &v.value.0).map_err(|m| e.at(v, format!("{kp}.sysctl.{k}"), m))?;
            sc.set(k, &v.value.0);
        }
        h.ct.max = sc.int("net.netfilter.nf_conntrack_max").max(1) as usize;
        h.sysctl = sc;
        // routes
        for (ri, rd) in hd.routes.iter().enumerate() {
            let rk = format!("{kp}.routes[{ri}]");
            let dst = parse_dst(&rd.dst.value).ok_or_else(|| {
                e.at(
                    &rd.dst,
                    format!("{rk}.dst"),
                    format!(
                        "bad destination '{}': expected 'default', A.B.C.D or A.B.C.D/LEN",
                        rd.dst.value
                    ),
                )
            })?;
            let rtype = match &rd.route_type {
                Some(t) => RouteType::from_name(&t.value).ok_or_else(|| e.at(t, format!("{rk}.type"), format!("unknown route type '{}': expected unicast, local, blackhole, unreachable, prohibit or throw", t.value)))?,
                None => RouteType::Unicast,
            };
            let via = match &rd.via {
                Some(v) => Some(v.value.parse::<Ipv4Addr>().map_err(|_| {
                    e.at(
                        v,
                        format!("{rk}.via"),
                        format!("bad gateway '{}': expected A.B.C.D", v.value),
                    )
                })?),
                None => None,
            };
            let src = match &rd.src {
                Some(v) => Some(v.value.parse::<Ipv4Addr>().map_err(|_| {
                    e.at(
                        v,
                        format!("{rk}.src"),
                        format!("bad source '{}': expected A.B.C.D", v.value),
                    )
                })?),
                None => None,
            };
            let mut dev = match &rd.dev {
                Some(d) => Some(h.dev_index(&d.value).ok_or_else(|| {
                    e.at(
                        d,
                        format!("{rk}.dev"),
                        format!(
                            "no device '{}' on host {hname} (devices: {})",
                            d.value,
                            h.devs
                                .iter()
                                .map(|d| d.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?),
                None => None,
            };
            if dev.is_none() && rtype == RouteType::Unicast {
                // Like `ip route add ... via GW`: the device of the connected route to GW.
                let Some(gw) = via else {
                    return Err(e.at(&rd.dst, rk, "a unicast route needs 'dev' or 'via'".into()));
                };
                dev = h
                    .devs
                    .iter()
                    .position(|d| d.addrs.iter().any(|a| a.contains(&gw)));
                if dev.is_none() {
                    return Err(e.at(rd.via.as_ref().expect("via"), format!("{rk}.via"), format!("gateway {gw} is not on a connected subnet of {hname} (Nexthop has invalid gateway); add 'dev' and 'onlink: true'")));
                }
            }
            if let (Some(gw), Some(d), false) = (via, dev, rd.onlink) {
                // The kernel (fib_check_nh) accepts a gateway it can reach
                // through a link-scope route on that device, or a subnet.
                let linked = h.fib.tables.values().any(|t| {
                    t.iter().flat_map(|(_, rs)| rs.iter()).any(|r| {
                        r.dev == Some(d)
                            && r.via.is_none()
                            && r.rtype == RouteType::Unicast
                            && r.dst.contains(&gw)
                    })
                });
                if !linked && !h.devs[d].addrs.iter().any(|a| a.contains(&gw)) {
                    return Err(e.at(rd.via.as_ref().expect("via"), format!("{rk}.via"), format!("gateway {gw} is not on a subnet of {} (Nexthop has invalid gateway); use 'onlink: true' if it is reachable anyway", h.devs[d].name)));
                }
            }
            let table = match &rd.table {
                Some(t) => fib::table_id(&t.value.0).ok_or_else(|| {
                    e.at(
                        t,
                        format!("{rk}.table"),
                        format!(
                            "bad table '{}': expected main, local, default or a number",
                            t.value.0
                        ),
                    )
                })?,
                None => {
                    if rtype == RouteType::Local {
                        fib::TABLE_LOCAL
                    } else {
                        fib::TABLE_MAIN
                    }
                }
            };
            h.fib.add_route(
                table,
                Route {
                    dst,
                    rtype,
                    via,
                    dev,
                    src,
                    metric: rd.metric,
                    onlink: rd.onlink,
                    scope_link: via.is_none(),
                    proto: "static".into(),
                },
            );
        }
        for (ri, rd) in hd.rules.iter().enumerate() {
            let rk = format!("{kp}.rules[{ri}]");
            let net =
                |s: &Option<Spanned<String>>, k: &str| -> Result<Option<Ipv4Net>, ScenarioError> {
                    match s {
                        Some(v) if v.value == "all" => Ok(None),
                        Some(v) => parse_dst(&v.value).map(Some).ok_or_else(|| {
                            e.at(v, format!("{rk}.{k}"), format!("bad prefix '{}'", v.value))
                        }),
                        None => Ok(None),
                    }
                };
            let fwmark = match &rd.fwmark {
                Some(v) => {
                    let (a, m) = v
                        .value
                        .0
                        .split_once('/')
                        .unwrap_or((&v.value.0, "0xffffffff"));
                    match (parse_u32(a), parse_u32(m)) {
                        (Some(a), Some(m)) => Some((a, m)),
                        _ => {
                            return Err(e.at(
                                v,
                                format!("{rk}.fwmark"),
                                format!("bad fwmark '{}': expected VALUE[/MASK]", v.value.0),
                            ))
                        }
                    }
                }
                None => None,
            };
            let action = match (&rd.action, &rd.table) {
                (Some(a), None) => match a.value.as_str() {
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    o => return Err(e.at(a, format!("{rk}.action"), format!("unknown rule action '{o}': expected blackhole, unreachable or prohibit (or give 'table')"))),
                },
                (None, Some(t)) => RuleAction::Lookup(fib::table_id(&t.value.0).ok_or_else(|| e.at(t, format!("{rk}.table"), format!("bad table '{}'", t.value.0)))?),
                _ => return Err(ScenarioError { file: file.into(), line: 0, column: 0, key: rk, message: "a rule needs exactly one of 'table' or 'action'".into() }),
            };
            h.fib.add_rule(IpRule {
                priority: rd.priority,
                not: rd.not,
                from: net(&rd.from, "from")?,
                to: net(&rd.to, "to")?,
                fwmark,
                iif: rd.iif.clone(),
                oif: rd.oif.clone(),
                action,
            });
        }
        for (ni, nd) in hd.neighbors.iter().enumerate() {
            let nk = format!("{kp}.neighbors[{ni}]");
            let ip = nd.ip.value.parse::<Ipv4Addr>().map_err(|_| {
                e.at(
                    &nd.ip,
                    format!("{nk}.ip"),
                    format!("bad address '{}'", nd.ip.value),
                )
            })?;
            let mac = Mac::parse(&nd.mac.value).ok_or_else(|| {
                e.at(
                    &nd.mac,
                    format!("{nk}.mac"),
                    format!("bad MAC '{}'", nd.mac.value),
                )
            })?;
            let dev = h.dev_index(&nd.dev.value).ok_or_else(|| {
                e.at(
                    &nd.dev,
                    format!("{nk}.dev"),
                    format!("no device '{}' on {hname}", nd.dev.value),
                )
            })?;
            h.neigh.add_permanent(dev, ip, mac);
        }
        // The span points at the first line of the text; map the dump's
        // line and column back into the scenario file.
        let ipt_err = |ipt: &Spanned<String>, pe: crate::net::netfilter::ParseError| {
            let base = (ipt.referenced.line() as usize).max(1);
            let line = base + pe.line.saturating_sub(1);
            let indent = text
                .lines()
                .nth(line.saturating_sub(1))
                .map(|l| l.len() - l.trim_start().len())
                .unwrap_or(0);
            ScenarioError {
                file: file.into(),
                line,
                column: if pe.column > 0 { pe.column + indent } else { 0 },
                key: format!("{kp}.iptables"),
                message: format!(
                    "{}{}",
                    pe.message,
                    if pe.text.is_empty() {
                        String::new()
                    } else {
                        format!(" (in '{}')", pe.text)
                    }
                ),
            }
        };
        if let Some(ipt) = &hd.iptables {
            h.nf = Ruleset::parse(&ipt.value, file).map_err(|pe| ipt_err(ipt, pe))?;
        }
        for extra in &hd.iptables_extra {
            h.nf.restore_noflush(&extra.value, file)
                .map_err(|pe| ipt_err(extra, pe))?;
        }
        if let Some(t) = &hd.nftables {
            let base = (t.referenced.line() as usize).max(1);
            h.nft = crate::net::netfilter::nftables::Nft::parse(&t.value).map_err(|ne| {
                ScenarioError {
                    file: file.into(),
                    line: if ne.line > 0 {
                        base + ne.line - 1
                    } else {
                        base
                    },
                    column: 0,
                    key: format!("{kp}.nftables"),
                    message: ne.message,
                }
            })?;
            h.nft_text = t.value.clone();
        }
        if let Some(t) = &hd.ipset {
            h.nf_state.ipsets = crate::net::netfilter::ipset::IpsetStore::parse(
                &t.value,
                &format!("{file}: hosts.{hname}.ipset"),
            )
            .map_err(|m| e.at(t, format!("{kp}.ipset"), m))?;
        }
        h.ipvs.services = ipvs_services(hd, &e, &kp)?;
        if let Some(r) = &hd.resolv_conf {
            let nameserver = r.nameserver.value.parse::<Ipv4Addr>().map_err(|_| {
                e.at(
                    &r.nameserver,
                    format!("{kp}.resolvConf.nameserver"),
                    format!("bad address '{}'", r.nameserver.value),
                )
            })?;
            h.resolv = Some(crate::app::ResolvConf {
                nameserver,
                search: r.search.clone(),
                ndots: r.ndots.unwrap_or(1),
            });
        }
        for (ai, ad) in hd.apps.iter().enumerate() {
            let ak = format!("{kp}.apps[{ai}]");
            if matches!(
                ad.kind.value.as_str(),
                "haproxy" | "keepalived" | "ingress-nginx" | "envoy"
            ) {
                let Some(cfg) = &ad.config else {
                    return Err(e.at(
                        &ad.kind,
                        format!("{ak}.config"),
                        format!(
                            "{} needs 'config' (its configuration file's text)",
                            ad.kind.value
                        ),
                    ));
                };
                // "line N: ..." from the config parsers -> the scenario's line
                let base = (cfg.referenced.line() as usize).max(1);
                let cfg_err = |m: String| -> ScenarioError {
                    let (line, msg) = match m.strip_prefix("line ").and_then(|r| r.split_once(": "))
                    {
                        Some((n, rest)) => match n.parse::<usize>() {
                            Ok(n) => (base + n - 1, rest.to_string()),
                            Err(_) => (base, m.clone()),
                        },
                        None => (base, m.clone()),
                    };
                    ScenarioError {
                        file: file.into(),
                        line,
                        column: 0,
                        key: format!("{ak}.config"),
                        message: msg,
                    }
                };
                let idx = apps.len();
                if ad.kind.value == "envoy" {
                    let rng = host_rng(seed, &format!("{hname}/envoy"));
                    let en = crate::app::envoy::parse(hname, &cfg.value, rng).map_err(cfg_err)?;
                    for port in [
                        crate::app::envoy::OUTBOUND_PORT,
                        crate::app::envoy::INBOUND_PORT,
                    ] {
                        if h.tcp.listeners.insert(port, (None, idx)).is_some() {
                            return Err(e.at(
                                cfg,
                                format!("{ak}.config"),
                                format!("port {port} is already bound on {hname} (EADDRINUSE)"),
                            ));
                        }
                    }
                    crate::app::runtime::spawn(&mut h, &mut apps, App::Envoy(Box::new(en)));
                } else if ad.kind.value == "ingress-nginx" {
                    let port = match &ad.listen {
                        None => 80,
                        Some(l) => l
                            .value
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.parse::<u16>().ok())
                            .ok_or_else(|| {
                                e.at(
                                    l,
                                    format!("{ak}.listen"),
                                    format!(
                                        "bad listen address '{}': expected [ADDR]:PORT",
                                        l.value
                                    ),
                                )
                            })?,
                    };
                    let rng = host_rng(seed, &format!("{hname}/ingress-nginx"));
                    let p = crate::app::ingress_nginx::parse(hname, port, &cfg.value, rng)
                        .map_err(cfg_err)?;
                    if h.tcp.listeners.insert(port, (None, idx)).is_some() {
                        return Err(e.at(
                            cfg,
                            format!("{ak}.config"),
                            format!("port {port} is already bound on {hname} (EADDRINUSE)"),
                        ));
                    }
                    crate::app::runtime::spawn(&mut h, &mut apps, App::Proxy(Box::new(p)));
                } else if ad.kind.value == "haproxy" {
                    let rng = host_rng(seed, &format!("{hname}/haproxy"));
                    let p = crate::app::haproxy::parse(hname, &cfg.value, rng).map_err(cfg_err)?;
                    for f in &p.frontends {
                        for &(bind, port) in &f.binds {
                            if h.tcp.listeners.insert(port, (bind, idx)).is_some() {
                                return Err(e.at(
                                    cfg,
                                    format!("{ak}.config"),
                                    format!(
                                        "frontend {}: port {port} is already bound on {hname} (EADDRINUSE)",
                                        f.name
                                    ),
                                ));
                            }
                        }
                    }
                    crate::app::runtime::spawn(&mut h, &mut apps, App::Proxy(Box::new(p)));
                } else {
                    let mut k = crate::app::keepalived::Keepalived::parse(hname, &cfg.value)
                        .map_err(cfg_err)?;
                    for inst in &mut k.instances {
                        let Some(d) = h.dev_index(&inst.interface) else {
                            return Err(e.at(
                                cfg,
                                format!("{ak}.config"),
                                format!(
                                    "vrrp_instance {}: no interface '{}' on {hname}",
                                    inst.name, inst.interface
                                ),
                            ));
                        };
                        inst.primary =
                            h.devs[d].addrs.first().map(|a| a.addr()).ok_or_else(|| {
                                e.at(
                                    cfg,
                                    format!("{ak}.config"),
                                    format!(
                                        "vrrp_instance {}: {} has no address to send adverts from",
                                        inst.name, inst.interface
                                    ),
                                )
                            })?;
                    }
                    crate::app::runtime::spawn(&mut h, &mut apps, App::Keepalived(Box::new(k)));
                }
                continue;
            }
            if ad.kind.value == "tcp-forward" {
                // a user-space TCP forwarder (minikube's service tunnel,
                // kubectl port-forward): HAProxy's model in tcp mode with one
                // server
                let (Some(listen), Some(to)) = (&ad.listen, &ad.to) else {
                    return Err(e.at(
                        &ad.kind,
                        format!("{ak}.to"),
                        "tcp-forward needs 'listen: [ADDR]:PORT' and 'to: ADDR:PORT'".into(),
                    ));
                };
                let name = ad.name.clone().unwrap_or_else(|| "tcp-forward".into());
                let cfg = format!(
                    "frontend {name}\n  bind {}\n  mode tcp\n  default_backend to\nbackend to\n  mode tcp\n  server target {}\n",
                    if listen.value.starts_with(':') { format!("*{}", listen.value) } else { listen.value.clone() },
                    to.value
                );
                let rng = host_rng(seed, &format!("{hname}/{name}"));
                let mut p = crate::app::haproxy::parse(hname, &cfg, rng).map_err(|m| {
                    let m = m.split_once(": ").map(|x| x.1.to_string()).unwrap_or(m);
                    e.at(to, ak.clone(), m)
                })?;
                p.name = format!("{name} {hname}");
                p.program = name.clone();
                let idx = apps.len();
                let (bind, port) = p.frontends[0].binds[0];
                if h.tcp.listeners.insert(port, (bind, idx)).is_some() {
                    return Err(e.at(
                        listen,
                        format!("{ak}.listen"),
                        format!("port {port} is already bound on {hname} (EADDRINUSE)"),
                    ));
                }
                crate::app::runtime::spawn(&mut h, &mut apps, App::Proxy(Box::new(p)));
                continue;
            }
            let Some(listen) = &ad.listen else {
                return Err(e.at(
                    &ad.kind,
                    format!("{ak}.listen"),
                    format!("{} needs 'listen: [ADDR]:PORT'", ad.kind.value),
                ));
            };
            let port = listen
                .value
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| {
                    e.at(
                        listen,
                        format!("{ak}.listen"),
                        format!(
                            "bad listen address '{}': expected [ADDR]:PORT",
                            listen.value
                        ),
                    )
                })?;
            let bound = match listen.value.rsplit_once(':') {
                Some((a, _)) if !a.is_empty() && a != "0.0.0.0" && a != "*" => {
                    Some(a.parse::<Ipv4Addr>().map_err(|_| {
                        e.at(
                            listen,
                            format!("{ak}.listen"),
                            format!("bad listen address '{a}'"),
                        )
                    })?)
                }
                _ => None,
            };
            match ad.kind.value.as_str() {
                "http-server" => {
                    let routes = ad
                        .routes
                        .iter()
                        .map(|(p, r)| {
                            (
                                p.clone(),
                                HttpResponseSpec {
                                    status: r.status,
                                    content_type: r.content_type.clone(),
                                    body: r.body.clone(),
                                },
                            )
                        })
                        .collect();
                    let name = ad.name.clone().unwrap_or_else(|| format!("{hname}:{port}"));
                    let idx = apps.len();
                    crate::app::runtime::spawn(&mut h, &mut apps, App::HttpServer(HttpServer::new(&name, port, routes)));
                    if h.tcp.listeners.insert(port, (bound, idx)).is_some() {
                        return Err(e.at(
                            listen,
                            format!("{ak}.listen"),
                            format!("port {port} is already bound on {hname} (EADDRINUSE)"),
                        ));
                    }
                }
                "dns-server" => {
                    let mut records = BTreeMap::new();
                    for (n, a) in &ad.records {
                        let ip = a.value.parse::<Ipv4Addr>().map_err(|_| {
                            e.at(
                                a,
                                format!("{ak}.records.{n}"),
                                format!("bad address '{}'", a.value),
                            )
                        })?;
                        records.insert(n.trim_end_matches('.').to_ascii_lowercase(), ip);
                    }
                    let name = ad.name.clone().unwrap_or_else(|| format!("{hname}:{port}"));
                    let idx = apps.len();
                    crate::app::runtime::spawn(&mut h, &mut apps, App::DnsServer(crate::app::DnsServer {
                        name,
                        port,
                        records,
                    }));
                    if h.udp_listeners.insert(port, idx).is_some() {
                        return Err(e.at(
                            listen,
                            format!("{ak}.listen"),
                            format!("UDP port {port} is already bound on {hname} (EADDRINUSE)"),
                        ));
                    }
                }
                other => {
                    return Err(e.at(
                        &ad.kind,
                        format!("{ak}.kind"),
                        format!("unknown app kind '{other}': expected http-server, dns-server, haproxy, keepalived, ingress-nginx, envoy or tcp-forward"),
                    ))
                }
            }
        }
        hosts.push(h);
        all_apps.push(apps);
    }
    // segments: a switch host per segment
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    // (member, switch port, latency, key path)
    type SegLink = (Spanned<String>, String, Option<Spanned<String>>, String);
    let mut seg_links: Vec<SegLink> = Vec::new();
    for (si, sd) in doc.segments.iter().enumerate() {
        let sn = sd.name.value.clone();
        if names.contains(&sn) {
            return Err(e.at(
                &sd.name,
                format!("segments[{si}].name"),
                format!("'{sn}' is already a host name"),
            ));
        }
        let hi = hosts.len();
        let mut h = Host::new(hi, &sn, HostKind::Switch, host_rng(seed, &sn));
        let br = Device::new("br0", DevKind::Bridge, Mac::derived(&format!("{sn}/br0")));
        h.devs.push(br);
        for (mi, m) in sd.members.iter().enumerate() {
            let pn = format!("p{}", mi + 1);
            let mut d = Device::new(&pn, DevKind::Veth, Mac::derived(&format!("{sn}/{pn}")));
            d.master = Some(1);
            h.devs.push(d);
            seg_links.push((
                m.clone(),
                format!("{sn}/{pn}"),
                sd.latency.clone(),
                format!("segments[{si}].members[{mi}]"),
            ));
        }
        hosts.push(h);
        all_apps.push(Vec::new());
        names.push(sn);
    }
    let names: Vec<&String> = names.iter().collect();
    // links
    let resolve = |s: &Spanned<String>,
                   k: String,
                   hosts: &Vec<Host>|
     -> Result<(usize, usize), ScenarioError> {
        let (hn, dn) = s
            .value
            .split_once('/')
            .ok_or_else(|| e.at(s, k.clone(), format!("'{}': expected HOST/DEVICE", s.value)))?;
        let hi = names
            .iter()
            .position(|n| n.as_str() == hn)
            .ok_or_else(|| e.at(s, k.clone(), format!("no host '{hn}'")))?;
        let di = hosts[hi]
            .dev_index(dn)
            .ok_or_else(|| e.at(s, k.clone(), format!("no device '{dn}' on host {hn}")))?;
        if hosts[hi].devs[di].kind != DevKind::Veth {
            return Err(e.at(
                s,
                k,
                format!(
                    "{hn}/{dn} is a {}; links join veth/ethernet devices",
                    hosts[hi].devs[di].kind.name()
                ),
            ));
        }
        Ok((hi, di))
    };
    let mut all_links: Vec<LinkSpec> = doc
        .links
        .iter()
        .enumerate()
        .map(|(li, l)| {
            (
                l.a.clone(),
                l.b.clone(),
                l.latency.clone(),
                format!("links[{li}]"),
            )
        })
        .collect();
    for (m, port, lat, key) in seg_links {
        let b = Spanned {
            value: port,
            referenced: m.referenced,
            defined: m.defined,
        };
        all_links.push((m, b, lat, key));
    }
    for (a, b, lat, li) in &all_links {
        // a segment's member is its `a` end (the switch port is `b`)
        let ka = if li.starts_with("segments") {
            li.clone()
        } else {
            format!("{li}.a")
        };
        let (ah, ad) = resolve(a, ka, &hosts)?;
        let (bh, bd) = resolve(b, format!("{li}.b"), &hosts)?;
        let ld = LinkDoc {
            a: a.clone(),
            b: b.clone(),
            latency: lat.clone(),
        };
        let latency = match &ld.latency {
            Some(l) => duration(&l.value).map_err(|m| e.at(l, format!("{li}.latency"), m))?,
            None => 0,
        };
        for (h, d, k) in [(ah, ad, &ld.a), (bh, bd, &ld.b)] {
            if hosts[h].devs[d].peer.is_some() {
                return Err(e.at(k, li.clone(), format!("{} is already linked", k.value)));
            }
        }
        if (ah, ad) == (bh, bd) {
            return Err(e.at(
                &ld.b,
                format!("{li}.b"),
                "a device cannot be linked to itself".into(),
            ));
        }
        hosts[ah].devs[ad].peer = Some(Peer {
            host: bh,
            dev: bd,
            latency_ns: latency,
            loss_ppm: 0,
        });
        hosts[bh].devs[bd].peer = Some(Peer {
            host: ah,
            dev: ad,
            latency_ns: latency,
            loss_ppm: 0,
        });
    }
    // traffic
    let mut flows = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for (ti, td) in doc.traffic.iter().enumerate() {
        let tk = format!("traffic[{ti}]");
        if !ids.insert(td.id.value.clone()) {
            return Err(e.at(
                &td.id,
                format!("{tk}.id"),
                format!("duplicate traffic id '{}'", td.id.value),
            ));
        }
        let from = names
            .iter()
            .position(|n| n.as_str() == td.from.value)
            .ok_or_else(|| {
                e.at(
                    &td.from,
                    format!("{tk}.from"),
                    format!("no host '{}'", td.from.value),
                )
            })?;
        if td.ping.is_some() && (td.http.is_some() || td.dns.is_some()) {
            return Err(e.at(
                &td.id,
                tk,
                "a traffic entry needs exactly one of 'http', 'dns' or 'ping'".into(),
            ));
        }
        let request = match (&td.http, &td.dns) {
            (None, None) if td.ping.is_some() => {
                let p = td.ping.as_ref().expect("ping");
                let dst = p.dst.value.parse::<Ipv4Addr>().map_err(|_| {
                    e.at(
                        &p.dst,
                        format!("{tk}.ping.dst"),
                        format!("bad address '{}'", p.dst.value),
                    )
                })?;
                let size = p.size.unwrap_or(56);
                if size > 65507 {
                    return Err(e.at(
                        &p.dst,
                        format!("{tk}.ping.size"),
                        format!("size {size} is over 65507, the most an IPv4 echo can carry"),
                    ));
                }
                Request::Ping {
                    dst,
                    size,
                    df: p.df.unwrap_or(true),
                }
            }
            (Some(http), None) => {
                let url = &http.get;
                let rest = url.value.strip_prefix("http://").ok_or_else(|| {
                    e.at(
                        url,
                        format!("{tk}.http.get"),
                        format!("'{}': expected http://ADDR[:PORT]/PATH", url.value),
                    )
                })?;
                let (auth, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                // `user:password@` before the host: curl's Basic credentials
                let (user, auth) = match auth.rsplit_once('@') {
                    Some((u, a)) => (Some(u.to_string()), a),
                    None => (None, auth),
                };
                let (addr, port) = match auth.rsplit_once(':') {
                    Some((a, p)) => (
                        a,
                        p.parse::<u16>().map_err(|_| {
                            e.at(url, format!("{tk}.http.get"), format!("bad port '{p}'"))
                        })?,
                    ),
                    None => (auth, 80),
                };
                let host_header = http.host.clone().unwrap_or_else(|| auth.to_string());
                match addr.parse::<Ipv4Addr>() {
                    Ok(dst) => Request::HttpGet {
                        dst,
                        port,
                        host_header,
                        path: path.to_string(),
                        user,
                    },
                    Err(_) => {
                        let valid = !addr.is_empty()
                            && addr.split('.').all(|l| {
                                !l.is_empty()
                                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                            });
                        if !valid {
                            return Err(e.at(
                                url,
                                format!("{tk}.http.get"),
                                format!("'{addr}' is neither an IPv4 address nor a host name"),
                            ));
                        }
                        if doc
                            .hosts
                            .get(&td.from.value)
                            .is_some_and(|h| h.resolv_conf.is_none())
                        {
                            return Err(e.at(
                                url,
                                format!("{tk}.http.get"),
                                format!("'{addr}' is a name, and host '{}' has no resolvConf to resolve it with{}", td.from.value, no_dns_hint(doc, &td.from.value)),
                            ));
                        }
                        Request::Resolve {
                            name: addr.to_string(),
                            then: Some(crate::app::ThenHttp {
                                port,
                                host_header,
                                path: path.to_string(),
                                user,
                            }),
                        }
                    }
                }
            }
            (None, Some(dns)) => match &dns.server {
                Some(server) => Request::DnsA {
                    server: server.value.parse::<Ipv4Addr>().map_err(|_| {
                        e.at(
                            server,
                            format!("{tk}.dns.server"),
                            format!("bad address '{}'", server.value),
                        )
                    })?,
                    port: dns.port.unwrap_or(53),
                    name: dns.query.trim_end_matches('.').to_string(),
                },
                None => {
                    if doc
                        .hosts
                        .get(&td.from.value)
                        .is_some_and(|h| h.resolv_conf.is_none())
                    {
                        return Err(e.at(
                            &td.id,
                            format!("{tk}.dns"),
                            format!(
                                "no 'server', and host '{}' has no resolvConf{}",
                                td.from.value,
                                no_dns_hint(doc, &td.from.value)
                            ),
                        ));
                    }
                    Request::Resolve {
                        name: dns.query.clone(),
                        then: None,
                    }
                }
            },
            _ => {
                return Err(e.at(
                    &td.id,
                    tk,
                    "a traffic entry needs exactly one of 'http', 'dns' or 'ping'".into(),
                ))
            }
        };
        let dur = |s: &Option<Spanned<String>>, k: &str| -> Result<u64, ScenarioError> {
            match s {
                Some(v) => duration(&v.value).map_err(|m| e.at(v, format!("{tk}.{k}"), m)),
                None => Ok(0),
            }
        };
        flows.push(FlowSpec {
            id: td.id.value.clone(),
            from,
            request,
            start_ns: dur(&td.start, "start")?,
            count: td.count.max(1),
            interval_ns: match &td.interval {
                Some(_) => dur(&td.interval, "interval")?,
                None => 100_000_000,
            },
            expect: td
                .expect
                .as_ref()
                .map(|x| x.value.0.clone())
                .unwrap_or_default(),
        });
    }
    let horizon_ns = match &doc.horizon {
        Some(h) => duration(&h.value).map_err(|m| e.at(h, "horizon".into(), m))?,
        None => 300_000_000_000,
    };
    check_flow_counts(&flows, doc, horizon_ns, &e)?;
    let mut faults = Vec::new();
    let mut resyncs = Vec::new();
    for (fi, fd) in doc.faults.iter().enumerate() {
        let fk = format!("faults[{fi}]");
        let at_ns = duration(&fd.at.value).map_err(|m| e.at(&fd.at, format!("{fk}.at"), m))?;
        let host_of = |v: &Spanned<String>, key: &str| -> Result<usize, ScenarioError> {
            let h = v.value.split('/').next().unwrap_or("");
            hosts
                .iter()
                .position(|x| x.name == h)
                .ok_or_else(|| e.at(v, format!("{fk}.{key}"), format!("no host '{h}'")))
        };
        let dev_of = |v: &Spanned<String>, key: &str| -> Result<(usize, usize), ScenarioError> {
            let (h, d) = v.value.split_once('/').ok_or_else(|| {
                e.at(
                    v,
                    format!("{fk}.{key}"),
                    format!("'{}': expected HOST/DEVICE", v.value),
                )
            })?;
            let hi = hosts
                .iter()
                .position(|x| x.name == h)
                .ok_or_else(|| e.at(v, format!("{fk}.{key}"), format!("no host '{h}'")))?;
            let di = hosts[hi]
                .dev_index(d)
                .ok_or_else(|| e.at(v, format!("{fk}.{key}"), format!("no device '{d}' on {h}")))?;
            Ok((hi, di))
        };
        use crate::world::FaultKind;
        let mut kinds = Vec::new();
        if let Some(v) = &fd.link_down {
            let (host, dev) = dev_of(v, "linkDown")?;
            kinds.push(FaultKind::LinkDown { host, dev });
        }
        if let Some(v) = &fd.link_up {
            let (host, dev) = dev_of(v, "linkUp")?;
            kinds.push(FaultKind::LinkUp { host, dev });
        }
        if let Some(v) = &fd.node_down {
            kinds.push(FaultKind::NodeDown {
                host: host_of(v, "nodeDown")?,
            });
        }
        if let Some(v) = &fd.conntrack_flush {
            kinds.push(FaultKind::ConntrackFlush {
                host: host_of(v, "conntrackFlush")?,
            });
        }
        if let Some(v) = &fd.stop {
            let host = host_of(v, "stop")?;
            let name = v.value.split_once('/').map(|x| x.1).unwrap_or("");
            let app = all_apps[host]
                .iter()
                .position(|a| {
                    let n = a.name();
                    let mut w = n.split_whitespace();
                    let program = w.next();
                    // "http-server NAME", or the program ("haproxy", "keepalived")
                    w.next() == Some(name) || program == Some(name)
                })
                .ok_or_else(|| {
                    e.at(
                        v,
                        format!("{fk}.stop"),
                        format!("no app named '{name}' on {}", hosts[host].name),
                    )
                })?;
            kinds.push(FaultKind::ProcessStop { host, app });
        }
        if fd.endpoint_removed.is_some() || fd.resync.is_some() {
            let pos = doc
                .resyncs
                .iter()
                .position(|r| r.fault == fi)
                .ok_or_else(|| {
                    e.at(
                        &fd.at,
                        format!("{fk}.endpointRemoved"),
                        "needs a `cluster` (the objects the endpoint is removed from)".into(),
                    )
                })?;
            let before = pos.checked_sub(1).map(|p| &doc.resyncs[p]);
            let r = resync_of(&doc.resyncs[pos], before, doc, &hosts, seed, file)?;
            kinds.push(FaultKind::Resync { idx: resyncs.len() });
            resyncs.push(r);
        }
        match (&fd.link, &fd.latency, &fd.loss) {
            (Some(l), lat, loss) if lat.is_some() || loss.is_some() => {
                let (host, dev) = dev_of(l, "link")?;
                if let Some(lat) = lat {
                    let ns =
                        duration(&lat.value).map_err(|m| e.at(lat, format!("{fk}.latency"), m))?;
                    kinds.push(FaultKind::Latency { host, dev, ns });
                }
                if let Some(lo) = loss {
                    let v = lo.value.trim();
                    let share = match v.strip_suffix('%') {
                        Some(p) => p.trim().parse::<f64>().ok().map(|x| x / 100.0),
                        None => v.parse::<f64>().ok(),
                    }
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        e.at(
                            lo,
                            format!("{fk}.loss"),
                            format!("bad loss '{v}': expected a share like 30% or 0.3"),
                        )
                    })?;
                    let ppm = (share * 1_000_000.0).round() as u32;
                    kinds.push(FaultKind::Loss { host, dev, ppm });
                }
            }
            (None, None, None) => {}
            (Some(v), _, _) => {
                return Err(e.at(v, fk, "'link' goes with 'latency' and/or 'loss'".into()))
            }
            (None, Some(v), _) | (None, None, Some(v)) => {
                return Err(e.at(v, fk, "'latency' and 'loss' need 'link: HOST/DEV'".into()))
            }
        }
        // latency + loss on one link are one fault entry applied as two
        if kinds.len() == 2
            && matches!(kinds[0], FaultKind::Latency { .. })
            && matches!(kinds[1], FaultKind::Loss { .. })
        {
            let loss = kinds.pop().expect("two");
            faults.push(crate::world::Fault { at_ns, kind: loss });
        }
        if kinds.len() != 1 {
            return Err(e.at(
                &fd.at,
                fk,
                "a fault needs exactly one of linkDown, linkUp, nodeDown, conntrackFlush, stop, endpointRemoved, link+latency/loss".into(),
            ));
        }
        faults.push(crate::world::Fault {
            at_ns,
            kind: kinds.remove(0),
        });
    }
    Ok(World {
        scenario: doc.metadata.name.clone(),
        seed,
        hosts,
        apps: all_apps,
        flows,
        faults,
        horizon_ns,
        resyncs,
    })
}

/// What changes on each host when the cluster goes from `before` (the
/// scenario's own expansion when None) to `r`.
fn resync_of(
    r: &ResyncText,
    before: Option<&ResyncText>,
    doc: &ScenarioDoc,
    hosts: &[Host],
    seed: u64,
    file: &str,
) -> Result<crate::world::Resync, ScenarioError> {
    let gen_file = format!("{file} (cluster after faults[{}])", r.fault);
    let gen_err = |m: String| ScenarioError {
        file: gen_file.clone(),
        line: 0,
        column: 0,
        key: format!("faults[{}].endpointRemoved", r.fault),
        message: m,
    };
    let old_hosts = before.map(|b| &b.hosts).unwrap_or(&doc.hosts);
    let e = Errs { file: &gen_file };
    let text_of = |o: &Option<Spanned<String>>| o.as_ref().map(|t| t.value.clone());
    let mut out = Vec::new();
    for (name, nhd) in &r.hosts {
        let Some(hi) = hosts.iter().position(|h| h.name == *name) else {
            continue;
        };
        let ohd = old_hosts.get(name);
        let mut hr = crate::world::HostResync {
            host: hi,
            iptables: None,
            ipsets: None,
            ipvs: None,
            nftables: None,
            apps: Vec::new(),
        };
        let new_nft = text_of(&nhd.nftables);
        if new_nft != ohd.and_then(|o| text_of(&o.nftables)) {
            let t = new_nft.unwrap_or_default();
            let n = crate::net::netfilter::nftables::Nft::parse(&t)
                .map_err(|ne| gen_err(format!("nftables line {}: {}", ne.line, ne.message)))?;
            hr.nftables = Some((n, t));
        }
        let new_ipt = text_of(&nhd.iptables);
        if new_ipt != ohd.and_then(|o| text_of(&o.iptables)) {
            let t = new_ipt.unwrap_or_default();
            let mut nf = Ruleset::parse(&t, &gen_file)
                .map_err(|pe| gen_err(format!("line {}: {}", pe.line, pe.message)))?;
            // the scenario's own rules for this host go on top again
            for extra in doc
                .hosts
                .get(name)
                .map(|h| &h.iptables_extra)
                .into_iter()
                .flatten()
            {
                nf.restore_noflush(&extra.value, file)
                    .map_err(|pe| gen_err(format!("line {}: {}", pe.line, pe.message)))?;
            }
            hr.iptables = Some(nf);
        }
        let new_sets = text_of(&nhd.ipset);
        if new_sets != ohd.and_then(|o| text_of(&o.ipset)) {
            hr.ipsets = Some(
                crate::net::netfilter::ipset::IpsetStore::parse(
                    &new_sets.unwrap_or_default(),
                    &gen_file,
                )
                .map_err(gen_err)?,
            );
        }
        let kp = format!("hosts.{name}");
        let new_vs = ipvs_services(nhd, &e, &kp)?;
        let old_vs = match ohd {
            Some(o) => ipvs_services(o, &e, &kp)?,
            None => Vec::new(),
        };
        if new_vs != old_vs {
            hr.ipvs = Some(new_vs);
        }
        for (ai, ad) in nhd.apps.iter().enumerate() {
            let cfg = text_of(&ad.config);
            let old_cfg = ohd
                .and_then(|o| o.apps.get(ai))
                .and_then(|a| text_of(&a.config));
            let Some(cfg) = cfg.filter(|c| Some(c) != old_cfg.as_ref()) else {
                continue;
            };
            let app = match ad.kind.value.as_str() {
                "ingress-nginx" => {
                    let port = ad
                        .listen
                        .as_ref()
                        .and_then(|l| l.value.rsplit(':').next())
                        .and_then(|p| p.parse::<u16>().ok())
                        .unwrap_or(80);
                    let rng = host_rng(seed, &format!("{name}/ingress-nginx"));
                    crate::app::ingress_nginx::parse(name, port, &cfg, rng)
                        .map(|p| App::Proxy(Box::new(p)))
                }
                "envoy" => {
                    let rng = host_rng(seed, &format!("{name}/envoy"));
                    crate::app::envoy::parse(name, &cfg, rng).map(|p| App::Envoy(Box::new(p)))
                }
                _ => continue,
            }
            .map_err(gen_err)?;
            hr.apps.push((ai, app));
        }
        if hr.iptables.is_some()
            || hr.ipsets.is_some()
            || hr.ipvs.is_some()
            || hr.nftables.is_some()
            || !hr.apps.is_empty()
        {
            out.push(hr);
        }
    }
    let hosts_nft = out.iter().any(|h| h.nftables.is_some());
    Ok(crate::world::Resync {
        what: r.what.clone(),
        endpoint: r.endpoint,
        hosts: out,
        hosts_nft,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100us"), Some(100_000));
        assert_eq!(parse_duration("1.5ms"), Some(1_500_000));
        assert_eq!(parse_duration("2s"), Some(2_000_000_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
