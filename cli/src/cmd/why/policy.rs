//! `why`'s NetworkPolicy candidates: for a connection a policy denied, the
//! rule that admits it, on the side that denied it (egress at the source,
//! ingress at the destination, or both).
//!
//! Where a policy already isolates the pod for that direction, the rule is
//! added to it: the policy's YAML with one more rule whose peer is the
//! other pod (its namespace's `kubernetes.io/metadata.name` and its
//! labels) and whose port is the connection's, what a user edits. Of
//! several such policies, the one that selects the fewest pods of the
//! namespace (then the first by name), so that the rule opens as little
//! else as can be; the re-run lists every other flow or cell it opens.
//! Where none does (a policy the manifests do not hold: one the fault
//! timeline applies), a new policy holds the rule.

use podpath_sim::k8s::netpol::{Direction, NetworkPolicy};
use podpath_sim::k8s::objects::Pod;
use podpath_sim::k8s::Cluster;
use serde_json::{json, Value};

use super::Candidate;

fn ns(p: &Pod) -> &str {
    p.metadata.ns()
}

/// The peer that is pod `p`.
fn peer(p: &Pod) -> Value {
    json!({
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns(p)}},
        "podSelector": {"matchLabels": p.metadata.labels},
    })
}

/// The policy of the manifests `objs` that isolates `pod` for `d` and
/// selects the fewest pods, and its object.
fn isolating<'c>(
    cluster: &'c Cluster,
    objs: &[Value],
    pod: &Pod,
    d: Direction,
) -> Option<(&'c NetworkPolicy, Value)> {
    let selected = |np: &NetworkPolicy| {
        cluster
            .pods
            .iter()
            .filter(|q| {
                ns(q) == np.metadata.ns() && np.spec.pod_selector.matches(&q.metadata.labels)
            })
            .count()
    };
    let mut cands: Vec<&NetworkPolicy> = cluster
        .network_policies
        .iter()
        .filter(|np| {
            np.metadata.ns() == ns(pod)
                && np.policy_types().contains(&d)
                && np.spec.pod_selector.matches(&pod.metadata.labels)
        })
        .collect();
    cands.sort_by_key(|np| (selected(np), np.metadata.name.clone()));
    cands.into_iter().find_map(|np| {
        let o = objs.iter().find(|o| {
            crate::patch::ident(o)
                == (
                    "NetworkPolicy".to_string(),
                    np.metadata.ns().to_string(),
                    np.metadata.name.clone(),
                )
        })?;
        Some((np, o.clone()))
    })
}

/// One side's change on the manifests `objs`: the isolating policy with
/// the rule added, or a new policy. Returns what it is and the document.
fn side(
    (objs, cluster): (&[Value], &Cluster),
    (pod, other): (&Pod, &Pod),
    d: Direction,
    (port, proto): (u16, &str),
    name: &str,
) -> (String, Value) {
    let ports = json!([{"protocol": proto, "port": port}]);
    let (key, peers) = match d {
        Direction::Ingress => ("ingress", "from"),
        Direction::Egress => ("egress", "to"),
    };
    let rule = json!({peers: [peer(other)], "ports": ports});
    let who = |p: &Pod| format!("{}/{}", ns(p), p.metadata.name);
    if let Some((np, mut o)) = isolating(cluster, objs, pod, d) {
        let mut rules = o["spec"][key].as_array().cloned().unwrap_or_default();
        rules.push(rule);
        o["spec"][key] = Value::Array(rules);
        let doc = json!({
            "apiVersion": o["apiVersion"],
            "kind": "NetworkPolicy",
            "metadata": {"name": np.metadata.name, "namespace": np.metadata.ns()},
            "spec": o["spec"],
        });
        let what = format!(
            "an {key} rule {} {} on {port}/{proto} added to NetworkPolicy {}/{} (which isolates {} for {key})",
            if d == Direction::Ingress { "from" } else { "to" },
            who(other),
            np.metadata.ns(),
            np.metadata.name,
            who(pod),
        );
        return (what, doc);
    }
    let kind = match d {
        Direction::Ingress => "Ingress",
        Direction::Egress => "Egress",
    };
    let doc = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": format!("{name}-{key}"), "namespace": ns(pod)},
        "spec": {
            "podSelector": {"matchLabels": pod.metadata.labels},
            "policyTypes": [kind],
            key: [rule],
        },
    });
    let what = match d {
        Direction::Ingress => format!(
            "a NetworkPolicy letting {} accept {} on {port}/{proto}",
            who(pod),
            who(other)
        ),
        Direction::Egress => format!(
            "a NetworkPolicy letting {} send to {} on {port}/{proto}",
            who(pod),
            who(other)
        ),
    };
    (what, doc)
}

fn yaml(v: &Value) -> String {
    serde_saphyr::to_string(v).expect("JSON values are YAML")
}

/// The policy changes admitting `src` to `dst` on `port`/`proto`: egress
/// at the source, ingress at the destination, and both. A new policy is
/// named after `hint`, the destination and the port, so that the policies
/// of a fix of several steps do not replace one another.
pub fn policy_fixes(
    ctx: (&str, &Cluster),
    (src, dst): (&Pod, &Pod),
    (port, proto): (u16, &str),
    hint: &str,
) -> Vec<Candidate> {
    let name = format!("podpath-why-{}-{}-{}", hint, dst.metadata.name, port)
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        .to_lowercase();
    let (text, cluster) = ctx;
    let objs = crate::patch::manifests(text).unwrap_or_default();
    let at = (src, dst);
    let (ew, egress) = side(
        (&objs, cluster),
        at,
        Direction::Egress,
        (port, proto),
        &name,
    );
    let (iw, ingress) = side(
        (&objs, cluster),
        (dst, src),
        Direction::Ingress,
        (port, proto),
        &name,
    );
    // both: the ingress rule added on top of the egress change (one policy
    // may isolate both pods for both directions)
    let mut after = objs.clone();
    match after
        .iter_mut()
        .find(|o| crate::patch::ident(o) == crate::patch::ident(&egress))
    {
        Some(o) => crate::patch::merge(o, &egress),
        None => after.push(egress.clone()),
    }
    let (_, ingress2) = side(
        (&after, cluster),
        (dst, src),
        Direction::Ingress,
        (port, proto),
        &name,
    );
    let both = if crate::patch::ident(&ingress2) == crate::patch::ident(&egress) {
        yaml(&ingress2)
    } else {
        format!("{}---\n{}", yaml(&egress), yaml(&ingress2))
    };
    [
        (ew.clone(), yaml(&egress)),
        (iw.clone(), yaml(&ingress)),
        (format!("{ew}; and {iw}"), both),
    ]
    .into_iter()
    .map(|(change, patch)| Candidate {
        change,
        command: format!("kubectl apply -f - <<'EOF'\n{patch}EOF"),
        patch,
    })
    .collect()
}
