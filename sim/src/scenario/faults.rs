//! The `faults` section: what goes wrong when (links down or up, a node
//! down, conntrack flushed, a program stopped, latency or loss on a link,
//! an endpoint removed and the control plane's resync that follows).

use serde_saphyr::Spanned;

use super::error::{Errs, ScenarioError};
use super::host::ipvs_services;
use super::schema::{FaultDoc, ResyncText, ScenarioDoc};
use super::value::duration;
use crate::app::App;
use crate::det::host_rng;
use crate::net::host::Host;
use crate::net::netfilter::Ruleset;
use crate::world::{Fault, FaultKind, Resync};

/// `faults`: each entry as one fault (latency and loss on one link as two,
/// loss first), in the file's order, and the resyncs the
/// `endpointRemoved`/`resync` faults apply.
pub(super) fn build_faults(
    doc: &ScenarioDoc,
    hosts: &[Host],
    all_apps: &[Vec<App>],
    seed: u64,
    file: &str,
    e: &Errs,
) -> Result<(Vec<Fault>, Vec<Resync>), ScenarioError> {
    let mut faults = Vec::new();
    let mut resyncs = Vec::new();
    for (fi, fd) in doc.faults.iter().enumerate() {
        let fk = format!("faults[{fi}]");
        let at_ns =
            duration(&fd.at.value).map_err(|m| e.at(&fd.at, format!("{fk}.at"), m.to_string()))?;
        let mut kinds = host_faults(fd, &fk, hosts, all_apps, e)?;
        if super::is_cluster_event(fd) || fd.resync.is_some() {
            let pos = doc
                .resyncs
                .iter()
                .position(|r| r.fault == fi)
                .ok_or_else(|| {
                    e.at(
                        &fd.at,
                        format!("{fk}.{}", event_key(fd)),
                        "needs a `cluster` (the objects it changes)".into(),
                    )
                })?;
            let before = pos.checked_sub(1).map(|p| &doc.resyncs[p]);
            let r = resync_of(&doc.resyncs[pos], before, doc, hosts, seed, file)?;
            kinds.push(FaultKind::Resync { idx: resyncs.len() });
            resyncs.push(r);
        }
        link_faults(fd, &fk, hosts, e, &mut kinds)?;
        // latency + loss on one link are one fault entry applied as two
        if kinds.len() == 2
            && matches!(kinds[0], FaultKind::Latency { .. })
            && matches!(kinds[1], FaultKind::Loss { .. })
        {
            let loss = kinds.pop().expect("two");
            faults.push(Fault { at_ns, kind: loss });
        }
        if kinds.len() != 1 {
            return Err(e.at(
                &fd.at,
                fk,
                "a fault needs exactly one of linkDown, linkUp, nodeDown, conntrackFlush, stop, endpointRemoved, policyApplied, policyDeleted, podLabelsChanged, namespaceLabelsChanged, link+latency/loss".into(),
            ));
        }
        faults.push(Fault {
            at_ns,
            kind: kinds.remove(0),
        });
    }
    Ok((faults, resyncs))
}

/// The key of a fault that changes the cluster's objects (for errors).
fn event_key(fd: &FaultDoc) -> &'static str {
    if fd.policy_applied.is_some() {
        "policyApplied"
    } else if fd.policy_deleted.is_some() {
        "policyDeleted"
    } else if fd.pod_labels_changed.is_some() {
        "podLabelsChanged"
    } else if fd.namespace_labels_changed.is_some() {
        "namespaceLabelsChanged"
    } else if fd.resync.is_some() {
        "resync"
    } else {
        "endpointRemoved"
    }
}

/// The host a fault names (`HOST` or `HOST/...`), under key `fk.key`.
fn fault_host(
    hosts: &[Host],
    v: &Spanned<String>,
    fk: &str,
    key: &str,
    e: &Errs,
) -> Result<usize, ScenarioError> {
    let h = v.value.split('/').next().unwrap_or("");
    hosts
        .iter()
        .position(|x| x.name == h)
        .ok_or_else(|| e.at(v, format!("{fk}.{key}"), format!("no host '{h}'")))
}

/// The device a fault names (`HOST/DEVICE`), under key `fk.key`.
fn fault_dev(
    hosts: &[Host],
    v: &Spanned<String>,
    fk: &str,
    key: &str,
    e: &Errs,
) -> Result<(usize, usize), ScenarioError> {
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
}

/// The faults of one host or device: linkDown, linkUp, nodeDown,
/// conntrackFlush, stop (each found, in that order).
fn host_faults(
    fd: &FaultDoc,
    fk: &str,
    hosts: &[Host],
    all_apps: &[Vec<App>],
    e: &Errs,
) -> Result<Vec<FaultKind>, ScenarioError> {
    let mut kinds = Vec::new();
    if let Some(v) = &fd.link_down {
        let (host, dev) = fault_dev(hosts, v, fk, "linkDown", e)?;
        kinds.push(FaultKind::LinkDown { host, dev });
    }
    if let Some(v) = &fd.link_up {
        let (host, dev) = fault_dev(hosts, v, fk, "linkUp", e)?;
        kinds.push(FaultKind::LinkUp { host, dev });
    }
    if let Some(v) = &fd.node_down {
        kinds.push(FaultKind::NodeDown {
            host: fault_host(hosts, v, fk, "nodeDown", e)?,
        });
    }
    if let Some(v) = &fd.conntrack_flush {
        kinds.push(FaultKind::ConntrackFlush {
            host: fault_host(hosts, v, fk, "conntrackFlush", e)?,
        });
    }
    if let Some(v) = &fd.stop {
        kinds.push(stopped_app(v, fk, hosts, all_apps, e)?);
    }
    Ok(kinds)
}

/// `stop: HOST/NAME`: the app of that name (or program) on the host.
fn stopped_app(
    v: &Spanned<String>,
    fk: &str,
    hosts: &[Host],
    all_apps: &[Vec<App>],
    e: &Errs,
) -> Result<FaultKind, ScenarioError> {
    let host = fault_host(hosts, v, fk, "stop", e)?;
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
    Ok(FaultKind::ProcessStop { host, app })
}

/// `link: HOST/DEV` with `latency` and/or `loss`: a new one-way delay or
/// drop share on that device's link.
fn link_faults(
    fd: &FaultDoc,
    fk: &str,
    hosts: &[Host],
    e: &Errs,
    kinds: &mut Vec<FaultKind>,
) -> Result<(), ScenarioError> {
    match (&fd.link, &fd.latency, &fd.loss) {
        (Some(l), lat, loss) if lat.is_some() || loss.is_some() => {
            let (host, dev) = fault_dev(hosts, l, fk, "link", e)?;
            if let Some(lat) = lat {
                let ns = duration(&lat.value)
                    .map_err(|m| e.at(lat, format!("{fk}.latency"), m.to_string()))?;
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
            return Err(e.at(
                v,
                fk.to_string(),
                "'link' goes with 'latency' and/or 'loss'".into(),
            ))
        }
        (None, Some(v), _) | (None, None, Some(v)) => {
            return Err(e.at(
                v,
                fk.to_string(),
                "'latency' and 'loss' need 'link: HOST/DEV'".into(),
            ))
        }
    }
    Ok(())
}

/// kindnet: the node's kube-network-policies after the change (the
/// queue its app listens on, kindnetd's 101 by default), judging with the
/// evaluator over the new objects.
fn queue_program(
    r: &ResyncText,
    nhd: &super::schema::HostDoc,
) -> Option<crate::world::NfqueueResync> {
    let ev = r.evaluator.clone()?;
    let ad = nhd
        .apps
        .iter()
        .find(|a| a.kind.value == "kube-network-policies")?;
    let queue = ad
        .listen
        .as_ref()
        .and_then(|l| l.value.trim().parse::<u16>().ok())
        .unwrap_or(crate::k8s::kindnet_policy::Config::default().queue);
    Some((queue, "kube-network-policies".to_string(), ev))
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
        key: format!("faults[{}].{}", r.fault, event_key(&doc.faults[r.fault])),
        message: m,
    };
    let old_hosts = before.map(|b| &b.hosts).unwrap_or(&doc.hosts);
    let e = Errs { file: &gen_file };
    let text_of = |o: &Option<Spanned<String>>| o.as_ref().map(|t| t.value.clone());
    let dump_of = |o: &Option<Spanned<super::Text>>| o.as_ref().map(|t| t.value.to_string());
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
            nfqueue: None,
            rule_notes: None,
        };
        let new_nft = dump_of(&nhd.nftables);
        if new_nft != ohd.and_then(|o| dump_of(&o.nftables)) {
            let t = new_nft.unwrap_or_default();
            let n = crate::net::netfilter::nftables::Nft::parse(&t)
                .map_err(|ne| gen_err(format!("nftables line {}: {}", ne.line, ne.message)))?;
            hr.nftables = Some((n, t));
        }
        let new_ipt = dump_of(&nhd.iptables);
        if new_ipt != ohd.and_then(|o| dump_of(&o.iptables)) {
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
            hr.rule_notes = Some(nhd.rule_notes.clone());
        }
        let new_sets = text_of(&nhd.ipset);
        if new_sets != ohd.and_then(|o| text_of(&o.ipset)) {
            hr.ipsets = Some(
                crate::net::netfilter::ipset::IpsetStore::parse(
                    &new_sets.unwrap_or_default(),
                    &gen_file,
                )
                .map_err(|m| gen_err(m.to_string()))?,
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
                        .map_err(|m| m.to_string())
                }
                "envoy" => {
                    let rng = host_rng(seed, &format!("{name}/envoy"));
                    crate::app::envoy::parse(name, &cfg, rng)
                        .map(|p| App::Envoy(Box::new(p)))
                        .map_err(|m| m.to_string())
                }
                _ => continue,
            }
            .map_err(gen_err)?;
            hr.apps.push((ai, app));
        }
        hr.nfqueue = queue_program(r, nhd);
        if hr.iptables.is_some()
            || hr.ipsets.is_some()
            || hr.ipvs.is_some()
            || hr.nftables.is_some()
            || !hr.apps.is_empty()
            || hr.nfqueue.is_some()
        {
            out.push(hr);
        }
    }
    let hosts_nft = out.iter().any(|h| h.nftables.is_some());
    Ok(crate::world::Resync {
        what: r.what.clone(),
        endpoint: r.endpoint,
        agent: r.agent.clone(),
        hosts: out,
        hosts_nft,
    })
}
