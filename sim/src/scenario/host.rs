//! One host of the `hosts` section, as far as the stack goes: its kind,
//! devices, sysctls, routes and rules (`ip route`, `ip rule`), permanent
//! neighbours, netfilter (iptables, nftables, ipsets), IPVS services and
//! resolv.conf. Its programs (`apps`) are started by `apps.rs`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use serde_saphyr::Spanned;

use super::device;
use super::error::{Errs, ScenarioError};
use super::schema::{HostDoc, ResolvDoc, RouteDoc, RuleDoc, Text};
use super::value::{parse_dst, parse_u32};
use crate::det::host_rng;
use crate::net::fib::{self, IpRule, Route, RouteType, RuleAction};
use crate::net::host::{Host, HostKind};
use crate::net::netfilter::Ruleset;
use crate::net::sysctl::Sysctl;
use crate::wire::Mac;

/// `hosts.NAME` as host number `hi`, everything but its apps, in the
/// order the kernel would be set up: devices and their address routes,
/// sysctls, routes, rules, neighbours, netfilter, IPVS, resolv.conf.
/// `text` is the scenario's text (to place iptables errors in it).
#[allow(clippy::too_many_arguments)]
pub(super) fn build_host(
    hi: usize,
    hname: &str,
    hd: &HostDoc,
    text: &str,
    file: &str,
    seed: u64,
    parsed: &mut Parsed,
    e: &Errs,
) -> Result<Host, ScenarioError> {
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
    h.namespace = hd.namespace.clone();
    device::build_devices(&mut h, hd, &kp, hname, file, e)?;
    h.install_address_routes();
    let sc = host_sysctl(hd, &kp, e)?;
    h.ct.max = sc.int("net.netfilter.nf_conntrack_max").max(1) as usize;
    h.sysctl = sc;
    h.install_ipv6();
    for (ri, rd) in hd.routes.iter().enumerate() {
        add_route(&mut h, rd, format!("{kp}.routes[{ri}]"), hname, e)?;
    }
    for (ri, rd) in hd.rules.iter().enumerate() {
        add_rule(&mut h, rd, format!("{kp}.rules[{ri}]"), file, e)?;
    }
    add_neighbors(&mut h, hd, &kp, hname, e)?;
    load_netfilter(&mut h, hd, (&kp, hname), text, file, parsed, e)?;
    h.ipvs.services = ipvs_services(hd, e, &kp)?;
    if let Some(r) = &hd.resolv_conf {
        h.resolv = Some(resolv_conf(r, &kp, e)?);
    }
    Ok(h)
}

/// `sysctl`: only the keys podpath models, each value checked.
fn host_sysctl(hd: &HostDoc, kp: &str, e: &Errs) -> Result<Sysctl, ScenarioError> {
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
        Sysctl::validate(k, &v.value.0)
            .map_err(|m| e.at(v, format!("{kp}.sysctl.{k}"), m.to_string()))?;
        sc.set(k, &v.value.0);
    }
    Ok(sc)
}

/// One `routes[i]` entry (key path `rk`) added as `ip route add` would:
/// destination, type, gateway, source, device, table.
fn add_route(
    h: &mut Host,
    rd: &RouteDoc,
    rk: String,
    hname: &str,
    e: &Errs,
) -> Result<(), ScenarioError> {
    if super::route6::is_v6(rd) {
        return super::route6::add_route6(h, rd, rk, hname, e);
    }
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
        Some(t) => RouteType::from_name(&t.value).ok_or_else(|| e.at(t, format!("{rk}.type"), format!("unknown route type '{}': expected unicast, local, broadcast, blackhole, unreachable, prohibit or throw", t.value)))?,
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
    let dev = nexthop_dev(h, rd, &rk, hname, rtype, via, e)?;
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
            // iproute2 ip/iproute.c iproute_modify: local and broadcast
            // routes go to table local when none is given
            if matches!(rtype, RouteType::Local | RouteType::Broadcast) {
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
    Ok(())
}

/// The device a route leaves by: its `dev`, or for a unicast route with
/// only `via` the device on whose subnet the gateway is (as `ip route add
/// ... via GW` finds it); a gateway is then checked as `fib_check_nh` does.
fn nexthop_dev(
    h: &Host,
    rd: &RouteDoc,
    rk: &str,
    hname: &str,
    rtype: RouteType,
    via: Option<Ipv4Addr>,
    e: &Errs,
) -> Result<Option<usize>, ScenarioError> {
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
            return Err(e.at(
                &rd.dst,
                rk.to_string(),
                "a unicast route needs 'dev' or 'via'".into(),
            ));
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
        // the device's own subnets first: the scan of every route is for
        // the rare gateway reached by a link route (and would make a node
        // with a route per other node quadratic)
        let linked = || {
            h.fib.tables.values().any(|t| {
                t.iter().flat_map(|(_, rs)| rs.iter()).any(|r| {
                    r.dev == Some(d)
                        && r.via.is_none()
                        && r.rtype == RouteType::Unicast
                        && r.dst.contains(&gw)
                })
            })
        };
        if !h.devs[d].addrs.iter().any(|a| a.contains(&gw)) && !linked() {
            return Err(e.at(rd.via.as_ref().expect("via"), format!("{rk}.via"), format!("gateway {gw} is not on a subnet of {} (Nexthop has invalid gateway); use 'onlink: true' if it is reachable anyway", h.devs[d].name)));
        }
    }
    Ok(dev)
}

/// One `rules[i]` entry (key path `rk`) added as `ip rule add` would:
/// selectors (from, to, fwmark, iif, oif) and a table or an action. An
/// IPv6 prefix, or `family: inet6`, makes it an `ip -6 rule` (iproute2
/// takes the family from the addresses; one of each is refused as
/// iproute2 refuses it).
fn add_rule(
    h: &mut Host,
    rd: &RuleDoc,
    rk: String,
    file: &str,
    e: &Errs,
) -> Result<(), ScenarioError> {
    let net = |s: &Option<Spanned<String>>,
               k: &str|
     -> Result<Option<ipnet::IpNet>, ScenarioError> {
        match s {
            Some(v) if v.value == "all" => Ok(None),
            Some(v) => parse_dst(&v.value)
                .map(ipnet::IpNet::V4)
                .or_else(|| {
                    v.value
                        .parse::<ipnet::Ipv6Net>()
                        .ok()
                        .map(|n| ipnet::IpNet::V6(n.trunc()))
                })
                .or_else(|| {
                    v.value
                        .parse::<std::net::Ipv6Addr>()
                        .ok()
                        .map(|a| ipnet::IpNet::V6(ipnet::Ipv6Net::from(a)))
                })
                .map(Some)
                .ok_or_else(|| e.at(v, format!("{rk}.{k}"), format!("bad prefix '{}'", v.value))),
            None => Ok(None),
        }
    };
    let (from, to) = (net(&rd.from, "from")?, net(&rd.to, "to")?);
    let v6_addr = [from, to]
        .iter()
        .flatten()
        .any(|n| matches!(n, ipnet::IpNet::V6(_)));
    let v4_addr = [from, to]
        .iter()
        .flatten()
        .any(|n| matches!(n, ipnet::IpNet::V4(_)));
    let v6 = match &rd.family {
        None => v6_addr,
        Some(f) if f.value == "inet6" => true,
        Some(f) if f.value == "inet" => false,
        Some(f) => {
            return Err(e.at(
                f,
                format!("{rk}.family"),
                format!("'{}': expected inet or inet6", f.value),
            ))
        }
    };
    if (v6 && v4_addr) || (!v6 && v6_addr) {
        return Err(ScenarioError {
            file: file.into(),
            line: 0,
            column: 0,
            key: rk,
            message: "a rule's from and to are of one family, the rule's (iproute2: \"Error: Invalid prefix for given prefix family\")".into(),
        });
    }
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
    let six = |n: Option<ipnet::IpNet>| match n {
        Some(ipnet::IpNet::V6(n)) => Some(n),
        _ => None,
    };
    let four = |n: Option<ipnet::IpNet>| match n {
        Some(ipnet::IpNet::V4(n)) => Some(n),
        _ => None,
    };
    if v6 {
        h.ip6.fib.add_rule(IpRule {
            priority: rd.priority,
            not: rd.not,
            from: six(from),
            to: six(to),
            fwmark,
            iif: rd.iif.clone(),
            oif: rd.oif.clone(),
            action,
        });
    } else {
        h.fib.add_rule(IpRule {
            priority: rd.priority,
            not: rd.not,
            from: four(from),
            to: four(to),
            fwmark,
            iif: rd.iif.clone(),
            oif: rd.oif.clone(),
            action,
        });
    }
    Ok(())
}

/// `neighbors`: permanent entries (`ip neigh add ... nud permanent`).
fn add_neighbors(
    h: &mut Host,
    hd: &HostDoc,
    kp: &str,
    hname: &str,
    e: &Errs,
) -> Result<(), ScenarioError> {
    for (ni, nd) in hd.neighbors.iter().enumerate() {
        let nk = format!("{kp}.neighbors[{ni}]");
        let ip: std::net::IpAddr = nd.ip.value.parse().map_err(|_| {
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
        match ip {
            std::net::IpAddr::V4(ip) => h.neigh.add_permanent(dev, ip, mac),
            // `ip -6 neigh add ADDR lladdr MAC dev D nud permanent`
            std::net::IpAddr::V6(ip) => {
                h.ip6.neigh.insert(
                    (dev, ip),
                    crate::net::ip6::Neigh6 {
                        mac: Some(mac),
                        state: crate::net::neigh::table::Nud::Permanent,
                        updated_ns: 0,
                        probes: 0,
                        router: false,
                        queue: vec![],
                        last_use: None,
                    },
                );
            }
        }
    }
    Ok(())
}

/// The rule sets parsed while a world is built, by their text: hosts
/// given the same text hold one parsed copy (`Host::nf`, `Host::nft`).
///
/// Why sharing is by whole text: a cluster's expansion
/// (`k8s::cluster::expand`) writes kube-proxy's rules once per distinct
/// node-dependent input (the local endpoints of `Local`-policy Services,
/// the node's address where a rule names it), so the nodes whose rules
/// are the same text get the same `Text` (one `Arc<str>`), found here by
/// pointer first and by content otherwise, and parsed once. A host that
/// then changes its own rules (a scenario's `iptables` on a node the
/// cluster makes, a resync) gets its own copy through `Arc::make_mut`.
/// Simplification: a node whose text differs in any rule (flannel's
/// FLANNEL-POSTRTG names the node's podCIDR) holds its own parsed copy;
/// sharing chain by chain would need copy-on-write inside `Ruleset`.
#[derive(Default)]
pub(super) struct Parsed {
    ipt: BTreeMap<Text, Arc<Ruleset>>,
    nft: BTreeMap<Text, Arc<crate::net::netfilter::nftables::Nft>>,
}

/// The value `text` was parsed to before (the same `Arc` first, then the
/// same content), or `None`.
fn parsed_before<T>(m: &BTreeMap<Text, Arc<T>>, text: &Text) -> Option<Arc<T>> {
    m.iter()
        .find(|(k, _)| Arc::ptr_eq(k, text))
        .map(|(_, v)| v.clone())
        .or_else(|| m.get(&**text).cloned())
}

/// `iptables` (an `iptables-save` dump) with the rules added on top of it
/// (`iptables-restore --noflush`), `nftables` (an `nft -f` file) and
/// `ipset` (an `ipset save` dump).
fn load_netfilter(
    h: &mut Host,
    hd: &HostDoc,
    (kp, hname): (&str, &str),
    text: &str,
    file: &str,
    parsed: &mut Parsed,
    e: &Errs,
) -> Result<(), ScenarioError> {
    // The span points at the first line of the text; map the dump's
    // line and column back into the scenario file.
    let ipt_err = |ipt: &Spanned<Text>, pe: crate::net::netfilter::ParseError| {
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
        h.nf = match parsed_before(&parsed.ipt, &ipt.value) {
            Some(nf) => nf,
            None => {
                let nf = Arc::new(Ruleset::parse(&ipt.value, file).map_err(|pe| ipt_err(ipt, pe))?);
                parsed.ipt.insert(ipt.value.clone(), nf.clone());
                nf
            }
        };
    }
    if let Some(ipt) = &hd.ip6tables {
        h.nf6 = Arc::new(
            Ruleset::parse_v6(&ipt.value, file).map_err(|pe| ScenarioError {
                key: format!("{kp}.ip6tables"),
                ..ipt_err(ipt, pe)
            })?,
        );
    }
    h.rule_notes = hd.rule_notes.clone();
    for extra in &hd.iptables_extra {
        Arc::make_mut(&mut h.nf)
            .restore_noflush(&extra.value, file)
            .map_err(|pe| ipt_err(extra, pe))?;
    }
    if let Some(t) = &hd.nftables {
        let base = (t.referenced.line() as usize).max(1);
        h.nft = match parsed_before(&parsed.nft, &t.value) {
            Some(nft) => nft,
            None => {
                let nft = Arc::new(
                    crate::net::netfilter::nftables::Nft::parse(&t.value).map_err(|ne| {
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
                    })?,
                );
                parsed.nft.insert(t.value.clone(), nft.clone());
                nft
            }
        };
        h.nft_text = t.value.clone();
    }
    if let Some(t) = &hd.ipset {
        h.nf_state.ipsets = std::sync::Arc::new(
            crate::net::netfilter::ipset::IpsetStore::parse(
                &t.value,
                &format!("{file}: hosts.{hname}.ipset"),
            )
            .map_err(|m| e.at(t, format!("{kp}.ipset"), m.to_string()))?,
        );
        h.ipset_text = Arc::from(t.value.as_str());
    }
    Ok(())
}

/// `resolvConf`: the nameserver, search list and ndots.
fn resolv_conf(r: &ResolvDoc, kp: &str, e: &Errs) -> Result<crate::app::ResolvConf, ScenarioError> {
    let nameserver = r
        .nameserver
        .value
        .parse::<std::net::IpAddr>()
        .map_err(|_| {
            e.at(
                &r.nameserver,
                format!("{kp}.resolvConf.nameserver"),
                format!("bad address '{}'", r.nameserver.value),
            )
        })?;
    Ok(crate::app::ResolvConf {
        nameserver,
        search: r.search.clone(),
        ndots: r.ndots.unwrap_or(1),
    })
}

/// A host's `ipvs` list as IPVS virtual services.
pub(super) fn ipvs_services(
    hd: &HostDoc,
    e: &Errs,
    kp: &str,
) -> Result<Vec<crate::net::ipvs::VirtualService>, ScenarioError> {
    let mut out = Vec::new();
    for (vi, v) in hd.ipvs.iter().enumerate() {
        let vk = format!("{kp}.ipvs[{vi}]");
        // `ADDR:PORT` or `[ADDR6]:PORT`
        let addr_port = |s: &str| -> Option<(std::net::IpAddr, u16)> {
            let (a, p) = s.rsplit_once(':')?;
            let a = match a.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                Some(v6) => std::net::IpAddr::V6(v6.parse().ok()?),
                None => std::net::IpAddr::V4(a.parse().ok()?),
            };
            Some((a, p.parse().ok()?))
        };
        let (proto, vip) = match v.service.value.split_once(' ') {
            Some(("tcp", rest)) => (6u8, addr_port(rest.trim())),
            Some(("udp", rest)) => (17u8, addr_port(rest.trim())),
            Some(("sctp", rest)) => (132u8, addr_port(rest.trim())),
            _ => (0, None),
        };
        let Some((vip, vport)) = vip else {
            return Err(e.at(
                &v.service,
                format!("{vk}.service"),
                format!(
                    "'{}': expected 'tcp|udp|sctp ADDR:PORT' ([ADDR6]:PORT for IPv6)",
                    v.service.value
                ),
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
                    format!(
                        "'{}': expected 'ADDR:PORT [weight N]' ([ADDR6]:PORT for IPv6)",
                        r.value
                    ),
                ));
            };
            if ip.is_ipv6() != vip.is_ipv6() {
                return Err(e.at(
                    r,
                    format!("{vk}.reals[{ri}]"),
                    format!(
                        "'{}': a real server of the other family than the virtual address {vip} (ipvsadm: \"Invalid argument\": a service forwards within its family)",
                        r.value
                    ),
                ));
            }
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
