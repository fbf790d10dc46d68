//! `why`'s Service candidates: a Service whose selector selects no pod,
//! or whose targetPort the pods behind it do not serve, fixed in the
//! Service (what `kubectl patch service` changes); the EndpointSlice
//! controller ([`podpath_sim::k8s::endpointslice`]) then writes its slices
//! from the pods, and the re-run proves it.
//!
//! A Service without a selector and without a ready endpoint gets an
//! EndpointSlice listing a pod of its namespace that declares the port.
//!
//! Two failures lead here:
//! - the packet was rejected or dropped at a Service's address and port
//!   (kube-proxy's "has no endpoints" REJECT, or nft mode's
//!   `no-endpoint-services` verdict) and the Service has no ready endpoint
//!   for that port: its selector selects no pod (then a selector matching
//!   the pods of its namespace that serve the port is proposed), or the
//!   pods it selects have no port its named targetPort names (then a
//!   targetPort they serve);
//! - the pod behind the Service answered RST (or ICMP port unreachable)
//!   at an endpoint port it does not declare: the targetPort set to a
//!   port it declares.
//!
//! Where the manifests give the Service's EndpointSlices (a real cluster's
//! `kubectl get -o yaml`), the patch deletes them too, so that the
//! controller writes them anew from the pods, as the real one does after
//! the change.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use podpath_sim::k8s::endpointslice::{find_port, selects, SERVICE_NAME_LABEL};
use podpath_sim::k8s::objects::{IntOrString, Pod, Service, ServicePort};
use podpath_sim::k8s::Cluster;
use podpath_sim::trace::PktInfo;
use serde_json::{json, Map, Value};

use super::Candidate;

/// At most this many selectors or targetPorts proposed per failure.
const MAX: usize = 3;

/// The cluster of the scenario `text` (None: it has none, or its
/// manifests do not load).
fn cluster_of(text: &str) -> Option<Cluster> {
    let doc: Value = serde_saphyr::from_str(text).ok()?;
    let m = doc["cluster"]["manifests"].as_str()?;
    Cluster::from_text(m, "cluster.manifests").ok()
}

/// The Service and port whose frontend `ip:port` (ClusterIP, external
/// IP, load balancer IP, or a node's address at the nodePort) is.
fn frontend<'c>(
    c: &'c Cluster,
    ip: Ipv4Addr,
    port: u16,
    proto: &str,
) -> Option<(&'c Service, &'c ServicePort)> {
    let ip_s = ip.to_string();
    let node_ip = c.nodes.iter().any(|n| n.internal_ip() == Some(ip));
    c.services.iter().find_map(|s| {
        let vips = s.spec.cluster_ip.iter().chain(&s.spec.external_ips).chain(
            s.status
                .load_balancer
                .ingress
                .iter()
                .filter_map(|i| i.ip.as_ref()),
        );
        let at_vip = vips.into_iter().any(|a| *a == ip_s);
        s.spec
            .ports
            .iter()
            .find(|sp| {
                sp.protocol.eq_ignore_ascii_case(proto)
                    && ((at_vip && sp.port == port) || (node_ip && sp.node_port == Some(port)))
            })
            .map(|sp| (s, sp))
    })
}

/// The Service and port whose EndpointSlices list `ip:port`.
fn backend<'c>(
    c: &'c Cluster,
    ip: Ipv4Addr,
    port: u16,
    proto: &str,
) -> Option<(&'c Service, &'c ServicePort)> {
    let ip_s = ip.to_string();
    c.slices.iter().find_map(|sl| {
        if !sl.endpoints.iter().any(|e| e.addresses.contains(&ip_s)) {
            return None;
        }
        let ep = sl
            .ports
            .iter()
            .find(|p| p.port == Some(port) && p.protocol.eq_ignore_ascii_case(proto))?;
        let svc = sl.metadata.labels.get(SERVICE_NAME_LABEL)?;
        let s = c.service(sl.metadata.ns(), svc)?;
        let sp = s.spec.ports.iter().find(|sp| {
            Some(&sp.name) == ep.name.as_ref() || (ep.name.is_none() && sp.name.is_empty())
        })?;
        Some((s, sp))
    })
}

/// Whether EndpointSlice `sl` is one of Service `s`'s (its namespace and
/// its `kubernetes.io/service-name` label).
fn of_service(sl: &podpath_sim::k8s::objects::EndpointSlice, s: &Service) -> bool {
    sl.metadata.ns() == s.metadata.ns()
        && sl.metadata.labels.get(SERVICE_NAME_LABEL) == Some(&s.metadata.name)
}

/// Whether Service `s` has a ready endpoint for its port `sp`.
fn has_ready_endpoint(c: &Cluster, s: &Service, sp: &ServicePort) -> bool {
    c.slices.iter().filter(|sl| of_service(sl, s)).any(|sl| {
        sl.ports
            .iter()
            .any(|p| p.name.as_deref().unwrap_or("") == sp.name)
            && sl
                .endpoints
                .iter()
                .any(|e| e.conditions.ready.unwrap_or(true))
    })
}

/// Whether pod `p` declares port `n` of the protocol.
fn declares(p: &Pod, n: u16, proto: &str) -> bool {
    p.spec
        .containers
        .iter()
        .flat_map(|c| &c.ports)
        .any(|cp| cp.container_port == n && cp.protocol.eq_ignore_ascii_case(proto))
}

/// `key=value,...` of a selector.
fn show(sel: &BTreeMap<String, String>) -> String {
    sel.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The patch documents for a change of Service `s` (`spec`, merged onto
/// it): the Service's, and where the manifests give its EndpointSlices, a
/// deletion of each (the controller writes them anew).
fn patch(c: &Cluster, s: &Service, spec: Value) -> String {
    let (ns, name) = (s.metadata.ns(), s.metadata.name.as_str());
    let mut docs = vec![json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })];
    if !c
        .controller_services
        .contains(&(ns.to_string(), name.to_string()))
    {
        for sl in c.slices.iter().filter(|sl| of_service(sl, s)) {
            docs.push(json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {"name": sl.metadata.name, "namespace": ns},
                "$patch": "delete",
            }));
        }
    }
    docs.iter()
        .map(|d| serde_saphyr::to_string(d).expect("JSON values are YAML"))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Selectors for Service `s` (which selects no pod): for each pod of its
/// namespace that serves port `sp`, the selector's keys with that pod's
/// values (a typo fixed), or the pod's labels where it has none of the
/// keys.
fn selector_candidates(c: &Cluster, s: &Service, sp: &ServicePort, out: &mut Vec<Candidate>) {
    let (ns, name) = (s.metadata.ns(), s.metadata.name.as_str());
    let mut sels: Vec<(BTreeMap<String, String>, u16)> = Vec::new();
    for p in c
        .pods
        .iter()
        .filter(|p| p.metadata.ns() == ns && p.status.pod_ip.is_some())
    {
        let Some(n) = find_port(p, sp) else { continue };
        if !declares(p, n, &sp.protocol) {
            continue;
        }
        let mut sel: BTreeMap<String, String> = s
            .spec
            .selector
            .keys()
            .filter_map(|k| Some((k.clone(), p.metadata.labels.get(k)?.clone())))
            .collect();
        if sel.is_empty() {
            sel = p.metadata.labels.clone();
        }
        if !sel.is_empty() && !sels.iter().any(|(x, _)| *x == sel) {
            sels.push((sel, n));
        }
    }
    // the closest to the selector first (a typo's fix before another app)
    let was = show(&s.spec.selector);
    sels.sort_by_key(|(sel, _)| strsim::levenshtein(&was, &show(sel)));
    for (sel, n) in sels.into_iter().take(MAX) {
        // a merge patch: keys no longer selected are removed (null)
        let mut m = Map::new();
        for k in s.spec.selector.keys().filter(|k| !sel.contains_key(*k)) {
            m.insert(k.clone(), Value::Null);
        }
        for (k, v) in &sel {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        let spec = json!({"selector": Value::Object(m)});
        let picked: Vec<String> = c
            .pods
            .iter()
            .filter(|q| {
                q.metadata.ns() == ns
                    && sel.iter().all(|(k, v)| q.metadata.labels.get(k) == Some(v))
            })
            .map(|q| q.metadata.name.clone())
            .collect();
        out.push(Candidate {
            change: format!(
                "Service {ns}/{name} selects {} (was {}, which no pod of {ns} has): the EndpointSlice controller then lists {} at port {n}",
                show(&sel),
                show(&s.spec.selector),
                picked.join(", ")
            ),
            command: format!(
                "kubectl patch service -n {ns} {name} --type merge -p '{}'",
                json!({"spec": spec})
            ),
            patch: patch(c, s, spec),
        });
    }
}

/// targetPorts for port `sp` of Service `s` that pods `pods` serve: each
/// declared port of the protocol, by its name where it has one and by its
/// number.
fn target_port_candidates(
    c: &Cluster,
    s: &Service,
    sp: &ServicePort,
    pods: &[&Pod],
    why: &str,
    out: &mut Vec<Candidate>,
) {
    let (ns, name) = (s.metadata.ns(), s.metadata.name.as_str());
    let Some(i) = s.spec.ports.iter().position(|p| p == sp) else {
        return;
    };
    let mut seen: Vec<Value> = Vec::new();
    for p in pods {
        for cp in p
            .spec
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .filter(|cp| cp.protocol.eq_ignore_ascii_case(&sp.protocol))
        {
            let values = cp
                .name
                .iter()
                .map(|n| Value::String(n.clone()))
                .chain([json!(cp.container_port)]);
            for v in values {
                let same = match (&sp.target_port, &v) {
                    (Some(IntOrString::Str(a)), Value::String(b)) => a == b,
                    (Some(IntOrString::Int(a)), Value::Number(b)) => {
                        b.as_u64() == Some(u64::from(*a))
                    }
                    (None, Value::Number(b)) => b.as_u64() == Some(u64::from(sp.port)),
                    _ => false,
                };
                if same || seen.contains(&v) || seen.len() >= MAX {
                    continue;
                }
                seen.push(v.clone());
                // a list is replaced whole by a merge patch
                let ports: Vec<Value> = s
                    .spec
                    .ports
                    .iter()
                    .enumerate()
                    .map(|(j, q)| {
                        let mut o = json!({"name": q.name, "protocol": q.protocol, "port": q.port});
                        let tp = match &q.target_port {
                            Some(IntOrString::Int(n)) => json!(n),
                            Some(IntOrString::Str(n)) => json!(n),
                            None => json!(q.port),
                        };
                        o["targetPort"] = if j == i { v.clone() } else { tp };
                        if let Some(np) = q.node_port {
                            o["nodePort"] = json!(np);
                        }
                        o
                    })
                    .collect();
                let was = match &sp.target_port {
                    Some(IntOrString::Int(n)) => n.to_string(),
                    Some(IntOrString::Str(n)) => n.clone(),
                    None => sp.port.to_string(),
                };
                let shown = match &v {
                    Value::String(n) => n.clone(),
                    other => other.to_string(),
                };
                out.push(Candidate {
                    change: format!(
                        "Service {ns}/{name} port {} targetPort {shown} (was {was}: {why}): pod {}'s containerPort {}{}",
                        sp.port,
                        p.metadata.name,
                        cp.container_port,
                        cp.name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
                    ),
                    command: format!(
                        "kubectl patch service -n {ns} {name} --type json -p '[{{\"op\":\"replace\",\"path\":\"/spec/ports/{i}/targetPort\",\"value\":{v}}}]'"
                    ),
                    patch: patch(c, s, json!({"ports": ports})),
                });
            }
        }
    }
}

/// Endpoints for Service `s` without a selector (its EndpointSlices are
/// written by hand or by another controller, and list none ready for port
/// `sp`): an EndpointSlice listing a pod of its namespace that declares
/// the port (a numeric targetPort, or the port), the given slice of the
/// Service rewritten where there is one.
fn endpoint_candidates(c: &Cluster, s: &Service, sp: &ServicePort, out: &mut Vec<Candidate>) {
    let (ns, name) = (s.metadata.ns(), s.metadata.name.as_str());
    let port = match &sp.target_port {
        Some(IntOrString::Int(n)) => *n,
        None => sp.port,
        // a name resolves in a pod's ports only through a selector
        Some(IntOrString::Str(_)) => return,
    };
    let given = c.slices.iter().find(|sl| of_service(sl, s));
    let slice = given.map_or_else(|| format!("{name}-1"), |sl| sl.metadata.name.clone());
    let mut pods: Vec<&Pod> = c
        .pods
        .iter()
        .filter(|p| p.metadata.ns() == ns && declares(p, port, &sp.protocol))
        .collect();
    // the pods named most like the Service first
    pods.sort_by_key(|p| strsim::levenshtein(name, &p.metadata.name));
    for p in pods.into_iter().take(MAX) {
        let Some(ip) = p.status.pod_ip.as_deref() else {
            continue;
        };
        let doc = json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": slice, "namespace": ns, "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": true}, "nodeName": p.spec.node_name}],
            "ports": [{"name": sp.name, "port": port, "protocol": sp.protocol}],
        });
        let patch = serde_saphyr::to_string(&doc).expect("JSON values are YAML");
        out.push(Candidate {
            change: format!(
                "an endpoint for Service {ns}/{name} (it has no selector, and its EndpointSlices list none ready at port {}): pod {} at {ip}:{port}",
                sp.port, p.metadata.name
            ),
            command: format!("kubectl apply -f - <<'EOF'\n{patch}EOF"),
            patch,
        });
    }
}

/// The candidates for a failure whose packet, at the deciding step, is
/// `pkt`: rejected at a Service's frontend without endpoints, or refused
/// by the pod behind one (`refused`: the pod's kernel answered RST or
/// port unreachable).
pub fn candidates(text: &str, pkt: &PktInfo, proto: &str, refused: bool, out: &mut Vec<Candidate>) {
    let Some(std::net::IpAddr::V4(dst)) = pkt.dst else {
        return;
    };
    let Some(c) = cluster_of(text) else { return };
    if let Some((s, sp)) = frontend(&c, dst, pkt.dport, proto) {
        if has_ready_endpoint(&c, s, sp) {
            return;
        }
        let selected: Vec<&Pod> = c.pods.iter().filter(|p| selects(s, p)).collect();
        if s.spec.selector.is_empty() {
            endpoint_candidates(&c, s, sp, out);
            return;
        }
        if selected.is_empty() {
            selector_candidates(&c, s, sp, out);
        } else if selected.iter().all(|p| find_port(p, sp).is_none()) {
            let why = "no pod it selects has a port of that name";
            target_port_candidates(&c, s, sp, &selected, why, out);
        }
        return;
    }
    if !refused {
        return;
    }
    let Some((s, sp)) = backend(&c, dst, pkt.dport, proto) else {
        return;
    };
    let dst_s = dst.to_string();
    let Some(pod) = c
        .pods
        .iter()
        .find(|p| p.status.pod_ip.as_deref() == Some(dst_s.as_str()) && selects(s, p))
    else {
        return;
    };
    if declares(pod, pkt.dport, proto) {
        return;
    }
    let why = format!("pod {} serves no port {}", pod.metadata.name, pkt.dport);
    target_port_candidates(&c, s, sp, &[pod], &why, out);
}
