//! The fault timeline's changes to a cluster's objects other than an
//! endpoint's removal: a NetworkPolicy applied or deleted, a pod's or a
//! namespace's labels replaced. Each one changes the objects the way the
//! API server would (`kubectl apply`, `kubectl delete`, `kubectl label
//! --overwrite` of every key); the caller re-expands the cluster, and the
//! CNI's policy agent reprograms the nodes at that instant.
//!
//! A pod's labels changing also changes the EndpointSlices podpath's
//! EndpointSlice controller wrote (a Service with a selector and no slice
//! in the manifests: [`crate::k8s::endpointslice`]), as the real controller
//! adds or removes the pod where the selector now matches differently.
//! Simplification (named in `podpath explain`): EndpointSlices the
//! scenario gives are taken as they are and do not follow the labels.

use serde_saphyr::Spanned;

use super::error::Errs;
use super::schema::{FaultDoc, LabelsChangeDoc};
use super::ScenarioError;
use crate::k8s::netpol::Namespace;
use crate::k8s::Cluster;

/// Applies fault `fi`'s change to `objs`. Returns what changed (for the
/// timeline), the fault's key, and the value errors of the re-expansion
/// point at.
pub(super) fn apply<'f>(
    objs: &mut Cluster,
    f: &'f FaultDoc,
    fi: usize,
    file: &str,
) -> Result<(String, String, &'f Spanned<String>), ScenarioError> {
    let e = Errs { file };
    let (what, key, at) = if let Some(v) = &f.policy_applied {
        let key = format!("faults[{fi}].policyApplied");
        (policy_applied(objs, v, &key, &e)?, key, v)
    } else if let Some(v) = &f.policy_deleted {
        let key = format!("faults[{fi}].policyDeleted");
        (policy_deleted(objs, v, &key, &e)?, key, v)
    } else if let Some(c) = &f.pod_labels_changed {
        let key = format!("faults[{fi}].podLabelsChanged");
        let (what, at) = pod_labels(objs, c, &f.at, &key, &e)?;
        (what, key, at)
    } else if let Some(c) = &f.namespace_labels_changed {
        let key = format!("faults[{fi}].namespaceLabelsChanged");
        let (what, at) = namespace_labels(objs, c, &f.at, &key, &e)?;
        (what, key, at)
    } else {
        return Err(e.at(
            &f.at,
            format!("faults[{fi}]"),
            "not a cluster change".into(),
        ));
    };
    objs.sort();
    objs.reconcile_endpoint_slices();
    objs.validate()
        .map_err(|k| e.at(at, key.clone(), k.to_string()))?;
    Ok((what, key, at))
}

/// `kubectl apply` of NetworkPolicy documents: each one created, or
/// replacing the policy of the same namespace and name.
fn policy_applied(
    objs: &mut Cluster,
    v: &Spanned<String>,
    key: &str,
    e: &Errs,
) -> Result<String, ScenarioError> {
    let got = Cluster::from_text(&v.value, key).map_err(|k| e.at(v, key.into(), k.to_string()))?;
    let others = got.services.len()
        + got.slices.len()
        + got.pods.len()
        + got.nodes.len()
        + got.ingresses.len()
        + got.namespaces.len()
        + got.skipped.values().sum::<usize>();
    if others > 0 || got.network_policies.is_empty() {
        return Err(e.at(
            v,
            key.into(),
            "expected one or more documents of kind NetworkPolicy (apiVersion networking.k8s.io/v1) and nothing else".into(),
        ));
    }
    let mut done = Vec::new();
    for p in got.network_policies {
        let id = format!("{}/{}", p.metadata.ns(), p.metadata.name);
        match objs
            .network_policies
            .iter_mut()
            .find(|q| q.metadata.ns() == p.metadata.ns() && q.metadata.name == p.metadata.name)
        {
            Some(q) if *q == p => done.push(format!("NetworkPolicy {id} unchanged")),
            Some(q) => {
                *q = p;
                done.push(format!("NetworkPolicy {id} configured"));
            }
            None => {
                objs.network_policies.push(p);
                done.push(format!("NetworkPolicy {id} created"));
            }
        }
    }
    Ok(done.join(", "))
}

/// `kubectl delete networkpolicy -n NS NAME`.
fn policy_deleted(
    objs: &mut Cluster,
    v: &Spanned<String>,
    key: &str,
    e: &Errs,
) -> Result<String, ScenarioError> {
    let (ns, name) = split_ns_name(v, key, e)?;
    let before = objs.network_policies.len();
    objs.network_policies
        .retain(|p| !(p.metadata.ns() == ns && p.metadata.name == name));
    if objs.network_policies.len() == before {
        // kubectl's words (the API server's NotFound status)
        return Err(e.at(
            v,
            key.into(),
            format!("networkpolicies.networking.k8s.io \"{name}\" not found (in namespace {ns})"),
        ));
    }
    Ok(format!("NetworkPolicy {ns}/{name} deleted"))
}

fn split_ns_name<'a>(
    v: &'a Spanned<String>,
    key: &str,
    e: &Errs,
) -> Result<(&'a str, &'a str), ScenarioError> {
    v.value
        .trim()
        .split_once('/')
        .filter(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| {
            e.at(
                v,
                key.into(),
                format!("'{}': expected NAMESPACE/NAME", v.value),
            )
        })
}

fn show_labels(l: &std::collections::BTreeMap<String, String>) -> String {
    if l.is_empty() {
        return "(none)".into();
    }
    l.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A pod's labels replaced by `c.labels`.
fn pod_labels<'f>(
    objs: &mut Cluster,
    c: &'f LabelsChangeDoc,
    at: &'f Spanned<String>,
    key: &str,
    e: &Errs,
) -> Result<(String, &'f Spanned<String>), ScenarioError> {
    let Some(v) = &c.pod else {
        return Err(e.at(
            at,
            key.into(),
            "expected `pod: NAMESPACE/NAME` and `labels`".into(),
        ));
    };
    if c.namespace.is_some() {
        return Err(e.at(v, key.into(), "give `pod`, not `namespace`".into()));
    }
    let (ns, name) = split_ns_name(v, &format!("{key}.pod"), e)?;
    let p = objs
        .pods
        .iter_mut()
        .find(|p| p.metadata.ns() == ns && p.metadata.name == name)
        .ok_or_else(|| {
            e.at(
                v,
                format!("{key}.pod"),
                format!("pods \"{name}\" not found (in namespace {ns})"),
            )
        })?;
    let old = std::mem::replace(&mut p.metadata.labels, c.labels.clone());
    Ok((
        format!(
            "Pod {ns}/{name} labels {} -> {}",
            show_labels(&old),
            show_labels(&c.labels)
        ),
        v,
    ))
}

/// A namespace's labels replaced by `c.labels` (a namespace the manifests
/// do not declare gets its object, as it exists in the API server).
fn namespace_labels<'f>(
    objs: &mut Cluster,
    c: &'f LabelsChangeDoc,
    at: &'f Spanned<String>,
    key: &str,
    e: &Errs,
) -> Result<(String, &'f Spanned<String>), ScenarioError> {
    let Some(v) = &c.namespace else {
        return Err(e.at(
            at,
            key.into(),
            "expected `namespace: NAME` and `labels`".into(),
        ));
    };
    if c.pod.is_some() {
        return Err(e.at(v, key.into(), "give `namespace`, not `pod`".into()));
    }
    let ns = v.value.trim();
    let used = objs.pods.iter().any(|p| p.metadata.ns() == ns)
        || objs.namespaces.iter().any(|n| n.metadata.name == ns);
    if !used {
        return Err(e.at(
            v,
            format!("{key}.namespace"),
            format!("namespaces \"{ns}\" not found"),
        ));
    }
    let old = objs.namespace_labels(ns);
    let n = match objs
        .namespaces
        .iter_mut()
        .position(|n| n.metadata.name == ns)
    {
        Some(i) => &mut objs.namespaces[i],
        None => {
            let mut n = Namespace::default();
            n.metadata.name = ns.to_string();
            objs.namespaces.push(n);
            objs.namespaces.last_mut().expect("pushed")
        }
    };
    n.metadata.labels = c.labels.clone();
    let new = n.labels();
    Ok((
        format!(
            "Namespace {ns} labels {} -> {}",
            show_labels(&old),
            show_labels(&new)
        ),
        v,
    ))
}
