//! ingress-nginx from Ingress objects: what the controller on a node routes
//! (nginx server blocks by host, locations by path, upstreams of endpoints),
//! in the config text `app/ingress_nginx.rs` runs.
//!
//! As the controller does: Ingresses of class `nginx` (or without a class);
//! rules grouped by host (no host: the default server `_`); paths of every
//! Ingress of a host merged; the upstream of a backend is the Service's
//! ready endpoints for that port (named `NS-SVC-PORT`), or the ClusterIP with
//! `nginx.ingress.kubernetes.io/service-upstream: "true"`;
//! `nginx.ingress.kubernetes.io/rewrite-target` rewrites the URI. A backend
//! Service that does not exist gives an upstream without endpoints (503),
//! as ingress-nginx serves it, not an error.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::kubeproxy;
use super::objects::{Cluster, IngressBackend};

/// The controller pods (hostNetwork, `app.kubernetes.io/name:
/// ingress-nginx`) on `node`: (pod name, port).
pub fn controllers_on(cluster: &Cluster, node: &str) -> Vec<(String, u16)> {
    cluster
        .pods
        .iter()
        .filter(|p| {
            p.spec.host_network
                && p.spec.node_name.as_deref() == Some(node)
                && p.metadata
                    .labels
                    .get("app.kubernetes.io/name")
                    .map(|s| s.as_str())
                    == Some("ingress-nginx")
        })
        .map(|p| {
            let port = p
                .spec
                .containers
                .iter()
                .flat_map(|c| c.ports.iter())
                .find(|cp| cp.name.as_deref() == Some("http"))
                .or_else(|| p.spec.containers.iter().flat_map(|c| c.ports.iter()).next())
                .map(|cp| cp.container_port)
                .unwrap_or(80);
            (p.metadata.name.clone(), port)
        })
        .collect()
}

/// The routes of every Ingress, for a controller on `node`.
pub fn nginx_config(cluster: &Cluster, node: &str) -> String {
    let ports = kubeproxy::service_ports(cluster, node);
    let mut servers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut upstreams: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut upstream = |ns: &str, b: &IngressBackend, service_upstream: bool| -> Option<String> {
        let s = b.service.as_ref()?;
        let port_key = match (&s.port.number, &s.port.name) {
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => n.clone(),
            (None, None) => "0".into(),
        };
        let name = format!("{ns}-{}-{port_key}", s.name);
        let svc = cluster.service(ns, &s.name);
        let mut eps = Vec::new();
        if let Some(svc) = svc {
            let sp = svc
                .spec
                .ports
                .iter()
                .find(|p| match (&s.port.number, &s.port.name) {
                    (Some(n), _) => p.port == *n,
                    (None, Some(n)) => p.name == *n,
                    _ => false,
                });
            if let Some(sp) = sp {
                let pname = if sp.name.is_empty() {
                    format!("{ns}/{}", s.name)
                } else {
                    format!("{ns}/{}:{}", s.name, sp.name)
                };
                if let Some(info) = ports.iter().find(|i| i.name == pname) {
                    if service_upstream {
                        eps.push(format!("{}:{}", info.cluster_ip, info.port));
                    } else {
                        eps.extend(
                            info.endpoints
                                .iter()
                                .filter(|e| e.ready)
                                .map(|e| e.endpoint.clone()),
                        );
                    }
                }
            }
        }
        upstreams.insert(name.clone(), eps);
        Some(name)
    };
    for ing in &cluster.ingresses {
        if !matches!(ing.spec.ingress_class_name.as_deref(), None | Some("nginx")) {
            continue;
        }
        let ns = ing.metadata.ns();
        let a = &ing.metadata.annotations;
        let su = a
            .get("nginx.ingress.kubernetes.io/service-upstream")
            .map(|v| v == "true")
            .unwrap_or(false);
        let rewrite = a.get("nginx.ingress.kubernetes.io/rewrite-target");
        let iname = format!("{ns}/{}", ing.metadata.name);
        let loc = |pt: &str, path: &str, up: &str| {
            let mut l = format!("  location {pt} {path} upstream {up}");
            if let Some(r) = rewrite {
                let _ = write!(l, " rewrite {r}");
            }
            let _ = write!(l, " ingress {iname}");
            l
        };
        if let Some(b) = &ing.spec.default_backend {
            if let Some(up) = upstream(ns, b, su) {
                servers
                    .entry("_".into())
                    .or_default()
                    .push(loc("Prefix", "/", &up));
            }
        }
        for r in &ing.spec.rules {
            let host = r
                .host
                .clone()
                .unwrap_or_else(|| "_".into())
                .to_ascii_lowercase();
            let Some(http) = &r.http else { continue };
            for p in &http.paths {
                let Some(up) = upstream(ns, &p.backend, su) else {
                    continue;
                };
                let pt = p.path_type.as_deref().unwrap_or("ImplementationSpecific");
                let path = p.path.as_deref().unwrap_or("/");
                servers
                    .entry(host.clone())
                    .or_default()
                    .push(loc(pt, path, &up));
            }
        }
    }
    let mut out = String::new();
    for (h, locs) in &servers {
        let _ = writeln!(out, "server {h}");
        for l in locs {
            let _ = writeln!(out, "{l}");
        }
    }
    for (n, eps) in &upstreams {
        let _ = writeln!(out, "upstream {n} {}", eps.join(" "));
    }
    out
}
