//! The scenario format (`apiVersion: podpath/v1`, `kind: Scenario`): schema,
//! validation with file/line/column errors, and the build into a [`World`].
//!
//! Unknown keys are errors. Every name that refers to something else (a
//! device in a route, a host in a link, a bridge master) is checked and an
//! error points at the place in the file.

mod apps;
pub mod bundle;
pub mod bundle_flows;
mod device;
pub mod dumps;
mod error;
mod events;
mod faults;
mod host;
pub mod inspect;
mod links;
mod route6;
pub mod schema;
mod traffic;
mod value;

pub use error::ScenarioError;
pub use schema::*;
pub use traffic::MAX_FLOWS;
pub use value::{duration, parse_duration, MAX_DURATION_NS};

use error::Errs;
use value::parse_cidr;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_saphyr::Spanned;

use crate::app::App;
use crate::net::host::Host;
use crate::net::netfilter::Ruleset;
use crate::world::World;

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
    load_reporting(text, file, seed).map(|(w, _)| w)
}

/// [`load`], with the warnings loading gave (a line each: the objects of
/// kinds podpath does not use that the cluster's manifests skipped).
pub fn load_reporting(
    text: &str,
    file: &str,
    seed: Option<u64>,
) -> Result<(World, Vec<String>), ScenarioError> {
    let mut doc = parse(text, file)?;
    let warnings = expand_cluster(&mut doc, file)?;
    given_resyncs(&mut doc, file)?;
    let world = build(&doc, text, file, seed)?;
    refuse_l2_loops(&doc, &world, file)?;
    Ok((world, warnings))
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
        if is_cluster_event(&doc.faults[fi]) {
            return Err(e.at(
                &doc.faults[fi].at,
                format!("faults[{fi}]"),
                "give a cluster change (endpointRemoved, policyApplied, policyDeleted, podLabelsChanged, namespaceLabelsChanged) or resync, not both".into(),
            ));
        }
        let endpoint = match &r.endpoint {
            Some(ep) => Some(ep.value.parse::<Ipv4Addr>().map_err(|_| {
                e.at(
                    ep,
                    format!("faults[{fi}].resync.endpoint"),
                    format!("'{}': expected an IPv4 address", ep.value),
                )
            })?),
            None => None,
        };
        doc.resyncs.push(ResyncText {
            fault: fi,
            endpoint,
            agent: r.agent.clone().unwrap_or_else(|| "kube-proxy".into()),
            what: r.what.clone(),
            hosts: r.hosts,
            // simplified: a written resync carries the nodes, not the
            // objects, so kube-network-policies keeps its judgement (an
            // expanded kindnet scenario's policy events change only the
            // nftables sets)
            evaluator: None,
        });
        // keep the fault marked as a resync
        doc.faults[fi].resync = Some(ResyncDoc {
            what: r.what,
            endpoint: r.endpoint,
            agent: r.agent,
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
        f.policy_applied = None;
        f.policy_deleted = None;
        f.pod_labels_changed = None;
        f.namespace_labels_changed = None;
        f.resync = Some(ResyncDoc {
            what: r.what,
            endpoint: r.endpoint.map(|ip| Spanned {
                value: ip.to_string(),
                referenced: at.referenced,
                defined: at.defined,
            }),
            agent: (r.agent != "kube-proxy").then_some(r.agent),
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
                t.value = printed.into();
                t
            }
            None => Spanned {
                value: printed.into(),
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

/// `v4` or `v4,v6` (kubeadm's dual-stack `--cluster-cidr` form): the
/// first and the second.
fn split_families(s: &Spanned<String>) -> (Spanned<String>, Option<Spanned<String>>) {
    match s.value.split_once(',') {
        Some((a, b)) => (
            Spanned::new(a.trim().to_string(), s.referenced, s.defined),
            Some(Spanned::new(b.trim().to_string(), s.referenced, s.defined)),
        ),
        None => (s.clone(), None),
    }
}

/// The cluster's IPv6 network: None for an IPv4 cluster; (true, net) for
/// an IPv6-only one (`clusterCIDR` IPv6 alone); (false, net) for a
/// dual-stack one (`clusterCIDR` and `nodeNetwork` both `v4,v6`).
fn net6_of(
    c: &ClusterDoc,
    file: &str,
) -> Result<Option<(bool, crate::k8s::cluster::NetConfig6)>, ScenarioError> {
    let e = Errs { file };
    let cidr6 = |s: &Spanned<String>, k: &str| {
        s.value
            .parse::<ipnet::Ipv6Net>()
            .map(|n| n.trunc())
            .map_err(|_| {
                e.at(
                    s,
                    format!("cluster.{k}"),
                    format!("bad IPv6 CIDR '{}' (the second of `v4,v6`)", s.value),
                )
            })
    };
    let (cc4, cc6) = split_families(&c.cluster_cidr);
    let (_, nn6) = split_families(&c.node_network);
    if cc4.value.contains(':') && cc6.is_none() {
        return Ok(Some((true, ipv6_only_net(c, file)?)));
    }
    match (&cc6, &nn6) {
        (None, None) => Ok(None),
        (Some(cc), Some(nn)) => {
            let node_network6 = cidr6(nn, "nodeNetwork")?;
            let service6 = match c.service_cidr.as_ref().and_then(|s| split_families(s).1) {
                Some(s) => cidr6(&s, "serviceCIDR")?,
                None => "fd00:10:96::/112".parse().expect("literal"),
            };
            Ok(Some((
                false,
                crate::k8s::cluster::NetConfig6 {
                    cluster_cidr: cidr6(cc, "clusterCIDR")?,
                    node_network: node_network6,
                    service_cidr: service6,
                    node_gateway: std::net::Ipv6Addr::from(u128::from(node_network6.network()) + 1),
                },
            )))
        }
        (Some(_), None) | (None, Some(_)) => {
            let (k, s) = if cc6.is_none() {
                ("clusterCIDR", &c.cluster_cidr)
            } else {
                ("nodeNetwork", &c.node_network)
            };
            Err(e.at(
                s,
                format!("cluster.{k}"),
                format!(
                    "'{}' has one family, but the other of clusterCIDR and nodeNetwork has two: a dual-stack cluster gives both as `v4,v6`",
                    s.value
                ),
            ))
        }
    }
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
    let (cc4, _) = split_families(&c.cluster_cidr);
    let (nn4, _) = split_families(&c.node_network);
    let v6 = net6_of(c, file)?;
    let v6only = v6.as_ref().is_some_and(|(only, _)| *only);
    let v6 = v6.map(|(_, n)| n);
    // an IPv6-only cluster's IPv4 fields are unused (ipv4: false)
    let (cluster_cidr, node_network) = if v6only {
        (ipnet::Ipv4Net::default(), ipnet::Ipv4Net::default())
    } else {
        (cidr(&cc4, "clusterCIDR")?, cidr(&nn4, "nodeNetwork")?)
    };
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
        _ if v6only => ipnet::Ipv4Net::default(),
        Some(s) => cidr(&split_families(s).0, "serviceCIDR")?,
        None => "10.96.0.0/12".parse().expect("literal"),
    };
    let mut objs =
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
            _ if v6only => Ipv4Addr::UNSPECIFIED,
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
        v6,
        ipv4: !v6only,
    };
    // the API server's allocation of the ClusterIPs the manifests leave
    // out, from the service ranges (the one written first is the primary
    // family), then the controller's slices for the families they got
    let v6_first = c
        .service_cidr
        .as_ref()
        .is_some_and(|s| s.value.split(',').next().is_some_and(|f| f.contains(':')));
    let mut ranges: Vec<ipnet::IpNet> = Vec::new();
    if net.ipv4 {
        ranges.push(net.service_cidr.into());
    }
    if let Some(n6) = &net.v6 {
        if v6_first {
            ranges.insert(0, n6.service_cidr.into());
        } else {
            ranges.push(n6.service_cidr.into());
        }
    }
    objs.allocate_cluster_ips(&crate::k8s::ipalloc::ServiceRanges { ranges })
        .map_err(|k| {
            let mut se = e.at(&c.manifests, "cluster.manifests".into(), k.to_string());
            if k.line > 0 {
                se.line += k.line - 1;
                se.column = 0;
            }
            se
        })?;
    objs.reconcile_endpoint_slices();
    Ok((objs, net))
}

/// An IPv6-only cluster (`clusterCIDR: fd00:10:244::/56`, the node
/// network and service range IPv6 as well): the network's IPv6 side
/// alone ([`crate::k8s::cluster::NetConfig::ipv4`] false; its IPv4 fields
/// unused).
fn ipv6_only_net(
    c: &ClusterDoc,
    file: &str,
) -> Result<crate::k8s::cluster::NetConfig6, ScenarioError> {
    let e = Errs { file };
    let cidr6 = |s: &Spanned<String>, k: &str| {
        s.value
            .trim()
            .parse::<ipnet::Ipv6Net>()
            .map(|n| n.trunc())
            .map_err(|_| {
                e.at(
                    s,
                    format!("cluster.{k}"),
                    format!(
                        "bad IPv6 CIDR '{}' (an IPv6-only cluster's networks are all IPv6)",
                        s.value
                    ),
                )
            })
    };
    let node_network = cidr6(&c.node_network, "nodeNetwork")?;
    let v6 = crate::k8s::cluster::NetConfig6 {
        cluster_cidr: cidr6(&c.cluster_cidr, "clusterCIDR")?,
        node_network,
        service_cidr: match &c.service_cidr {
            Some(s) => cidr6(s, "serviceCIDR")?,
            None => "fd00:10:96::/112".parse().expect("literal"),
        },
        node_gateway: match &c.node_gateway {
            Some(g) => g.value.parse::<std::net::Ipv6Addr>().map_err(|_| {
                e.at(
                    g,
                    "cluster.nodeGateway".into(),
                    format!("bad IPv6 address '{}'", g.value),
                )
            })?,
            None => std::net::Ipv6Addr::from(u128::from(node_network.network()) + 1),
        },
    };
    Ok(v6)
}

/// What a scenario's cluster expands to: the hosts, links and segments
/// `k8s::cluster::expand` builds from its objects (`None` without a
/// `cluster`). Errors in the objects name the `cluster` key.
pub fn expansion(doc: &ScenarioDoc, file: &str) -> Result<Option<ExpansionDoc>, ScenarioError> {
    let Some(c) = &doc.cluster else {
        return Ok(None);
    };
    let (objs, net) = cluster_of(c, file)?;
    expansion_of(c, &objs, &net, file).map(Some)
}

/// [`expansion`] of objects already read.
fn expansion_of(
    c: &ClusterDoc,
    objs: &crate::k8s::Cluster,
    net: &crate::k8s::cluster::NetConfig,
    file: &str,
) -> Result<ExpansionDoc, ScenarioError> {
    let e = Errs { file };
    crate::k8s::cluster::expand(objs, net)
        .map_err(|k| e.at(&c.manifests, "cluster".into(), k.to_string()))
}

/// Replaces the `cluster` key by the hosts, links and segments it expands
/// to ([`expansion`]): a host the scenario also lists is merged onto the
/// generated one ([`merge_host`]), links and segments are appended, and
/// each `endpointRemoved` fault gets the hosts as the cluster makes them
/// afterwards. Returns the warnings (the skipped kinds' counts).
pub fn expand_cluster(doc: &mut ScenarioDoc, file: &str) -> Result<Vec<String>, ScenarioError> {
    let Some(c) = &doc.cluster else {
        return Ok(Vec::new());
    };
    let (objs, net) = cluster_of(c, file)?;
    let x = expansion_of(c, &objs, &net, file)?;
    let warnings: Vec<String> = objs
        .skipped_warning()
        .into_iter()
        // felix enforces them on the calico CNIs (k8s::calico), and
        // kube-network-policies on kindnet (k8s::kindnet_policy)
        .chain(objs.policy_warning(&net.cni).filter(|_| {
            !net.cni.starts_with("calico") && !crate::k8s::kindnet_policy::enforces(&net.cni)
        }))
        .map(|w| format!("{file}: cluster.manifests: {w}"))
        .collect();
    if objs.service("kube-system", "kube-dns").is_none() {
        for (name, h) in &x.hosts {
            if h.kind.value == "pod" {
                doc.pods_without_dns.insert(name.clone());
            }
        }
    }
    for (name, mut h) in x.hosts {
        for a in &mut h.apps {
            // kube-network-policies reads the API objects: the manifests
            if a.kind.value == "kube-network-policies" && a.config.is_none() {
                a.config = Some(c.manifests.clone());
            }
        }
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
    doc.cluster = None;
    doc.resyncs = endpoint_resyncs(doc, objs, net, file)?;
    Ok(warnings)
}

/// A scenario's `hosts.NAME` for a host the cluster makes (a Node or a
/// Pod): what it adds is merged onto the generated host. Devices, routes,
/// rules, neighbours, apps and IPVS services are added (a pod's app
/// replaces the server its containerPort made on that port); sysctls set or
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
    // an app the scenario gives a pod replaces the server its
    // containerPort made on the same port (one socket per port)
    let port = |a: &AppDoc| {
        a.listen
            .as_ref()
            .and_then(|l| l.value.rsplit(':').next().map(str::to_string))
    };
    let taken: Vec<String> = user.apps.iter().filter_map(port).collect();
    if generated.kind.value == "pod" {
        generated
            .apps
            .retain(|a| port(a).is_none_or(|p| !taken.contains(&p)));
    }
    generated.apps.extend(user.apps);
    generated.ipvs.extend(user.ipvs);
    generated.sysctl.extend(user.sysctl);
    generated.iptables_extra.extend(user.iptables);
    // a text the cluster does not write is taken; a second one is refused
    fn once<T>(
        mine: &mut Option<Spanned<T>>,
        theirs: Option<Spanned<T>>,
        (kp, key, name): (&str, &str, &str),
        e: &Errs,
    ) -> Result<(), ScenarioError> {
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
        Ok(())
    }
    once(&mut generated.ipset, user.ipset, (&kp, "ipset", name), e)?;
    once(
        &mut generated.nftables,
        user.nftables,
        (&kp, "nftables", name),
        e,
    )?;
    if user.resolv_conf.is_some() {
        generated.resolv_conf = user.resolv_conf;
    }
    if user.namespace.is_some() {
        generated.namespace = user.namespace;
    }
    Ok(generated)
}

/// Whether a fault changes the cluster's objects (and so makes a resync).
pub(super) fn is_cluster_event(f: &schema::FaultDoc) -> bool {
    f.endpoint_removed.is_some()
        || f.policy_applied.is_some()
        || f.policy_deleted.is_some()
        || f.pod_labels_changed.is_some()
        || f.namespace_labels_changed.is_some()
}

/// Who reprograms the nodes when a policy or a label changes: felix on a
/// calico cluster, kube-network-policies (in kindnetd) on kindnet, nobody
/// on flannel (which enforces no NetworkPolicy).
fn policy_agent(net: &crate::k8s::cluster::NetConfig) -> &'static str {
    match net.cni.as_str() {
        "calico-bgp" | "calico-ipip" => "felix",
        "kindnet" => "kube-network-policies",
        _ => "none",
    }
}

/// The cluster after each fault that changes its objects, in time order
/// (each change applies on top of the earlier ones): the hosts as the
/// cluster makes them afterwards, what changed, and who reprograms them.
fn endpoint_resyncs(
    doc: &ScenarioDoc,
    mut objs: crate::k8s::Cluster,
    net: crate::k8s::cluster::NetConfig,
    file: &str,
) -> Result<Vec<ResyncText>, ScenarioError> {
    let e = Errs { file };
    let mut order: Vec<(u64, usize)> = doc
        .faults
        .iter()
        .enumerate()
        .filter(|(_, f)| is_cluster_event(f))
        .map(|(i, f)| (parse_duration(&f.at.value).unwrap_or(0), i))
        .collect();
    if order.is_empty() {
        return Ok(Vec::new());
    }
    order.sort();
    let mut out = Vec::new();
    for (_, fi) in order {
        let f = &doc.faults[fi];
        let (what, endpoint, agent, key, at) = if let Some(v) = &f.endpoint_removed {
            let key = format!("faults[{fi}].endpointRemoved");
            let (what, ip) = remove_endpoint(&mut objs, v, &key, &e)?;
            (what, Some(ip), "kube-proxy", key, v)
        } else {
            let (what, key, at) = events::apply(&mut objs, f, fi, file)?;
            (what, None, policy_agent(&net), key, at)
        };
        // kube-network-policies' informers see the objects as they are
        // now (its controller re-reads them on every watch event:
        // pkg/networkpolicy/controller.go); a connection already judged
        // keeps its ct label, so only new connections meet the change
        let evaluator = (endpoint.is_none() && crate::k8s::kindnet_policy::enforces(&net.cni))
            .then(|| {
                std::sync::Arc::new(crate::k8s::kindnet_policy::Evaluator::new(
                    &objs,
                    crate::k8s::kindnet_policy::Config::default(),
                ))
            });
        let x = crate::k8s::cluster::expand(&objs, &net)
            .map_err(|k| e.at(at, key.clone(), k.to_string()))?;
        out.push(ResyncText {
            fault: fi,
            endpoint,
            agent: agent.to_string(),
            what,
            hosts: x.hosts,
            evaluator,
        });
    }
    Ok(out)
}

/// `endpointRemoved`: the endpoint leaves every EndpointSlice that lists
/// it. Returns what happened and the endpoint's address.
fn remove_endpoint(
    objs: &mut crate::k8s::Cluster,
    v: &Spanned<String>,
    key: &str,
    e: &Errs,
) -> Result<(String, Ipv4Addr), ScenarioError> {
    let val = v.value.trim();
    let ip: Ipv4Addr = match val.split_once('/') {
        Some((ns, pod)) => {
            let p = objs
                .pods
                .iter()
                .find(|p| p.metadata.ns() == ns && p.metadata.name == pod)
                .ok_or_else(|| e.at(v, key.into(), format!("no Pod {ns}/{pod} in the cluster")))?;
            p.status
                .pod_ip
                .as_deref()
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| e.at(v, key.into(), format!("Pod {ns}/{pod} has no status.podIP")))?
        }
        None => val.parse().map_err(|_| {
            e.at(
                v,
                key.into(),
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
        return Err(e.at(
            v,
            key.into(),
            format!("no EndpointSlice lists {addr} (by then)"),
        ));
    }
    let pod = objs
        .pods
        .iter()
        .find(|p| p.status.pod_ip.as_deref() == Some(addr.as_str()))
        .map(|p| format!(" (Pod {}/{})", p.metadata.ns(), p.metadata.name))
        .unwrap_or_default();
    Ok((
        format!(
            "endpoint {addr}{pod} removed from EndpointSlice {}",
            slices.join(", ")
        ),
        ip,
    ))
}

/// `apiVersion: podpath/v1` and `kind: Scenario`.
fn check_header(doc: &ScenarioDoc, e: &Errs) -> Result<(), ScenarioError> {
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
    Ok(())
}

/// Builds a parsed scenario (its cluster already expanded) into a world,
/// section by section: hosts and their apps, segments, links, traffic,
/// horizon, faults. `text` is the scenario's text (for the places of
/// errors inside embedded dumps); `seed_override` replaces its seed.
pub fn build(
    doc: &ScenarioDoc,
    text: &str,
    file: &str,
    seed_override: Option<u64>,
) -> Result<World, ScenarioError> {
    let e = Errs { file };
    check_header(doc, &e)?;
    let seed = seed_override.unwrap_or(doc.seed);
    let mut hosts: Vec<Host> = Vec::new();
    // the programs of each host, beside it (`World::apps`)
    let mut all_apps: Vec<Vec<App>> = Vec::new();
    // hosts given the same rule-set text share one parsed copy
    let mut parsed = host::Parsed::default();
    for (hi, (hname, hd)) in doc.hosts.iter().enumerate() {
        let mut h = host::build_host(hi, hname, hd, text, file, seed, &mut parsed, &e)?;
        let apps = apps::build_apps(&mut h, hd, hname, seed, file, &e)?;
        hosts.push(h);
        all_apps.push(apps);
    }
    let mut names: Vec<String> = doc.hosts.keys().cloned().collect();
    let seg_links = links::build_segments(doc, &mut hosts, &mut all_apps, &mut names, seed, &e)?;
    let names: Vec<&String> = names.iter().collect();
    links::build_links(doc, seg_links, &mut hosts, &names, &e)?;
    let flows = traffic::build_traffic(doc, &names, &e)?;
    let horizon_ns = match &doc.horizon {
        Some(h) => duration(&h.value).map_err(|m| e.at(h, "horizon".into(), m.to_string()))?,
        None => 300_000_000_000,
    };
    traffic::check_flow_counts(&flows, doc, horizon_ns, &e)?;
    let (faults, resyncs) = faults::build_faults(doc, &hosts, &all_apps, seed, file, &e)?;
    Ok(World {
        scenario: doc.metadata.name.clone(),
        seed,
        hosts: hosts.into(),
        apps: all_apps.into(),
        flows,
        faults,
        horizon_ns,
        resyncs,
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
