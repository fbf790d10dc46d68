//! Which namespace holds each veth's peer.
//!
//! `ip -j -d link` gives, for a veth whose peer lives in another namespace,
//! the peer's ifindex (`link_index`) and the id that namespace has in this
//! one (`link_netnsid`, an nsid local to this namespace: the kernel's
//! `rtnl_fill_link_netnsid`, net/core/rtnetlink.c, via veth's
//! `veth_get_link_net`). `ip -j netns list-id` names an nsid when it is a
//! namespace under /run/netns (iproute2's `print_nsid`, ip/ipnetns.c: it
//! compares the nsid of each /run/netns entry) and says nothing for the
//! others (the root namespace, those held only by processes). So a peer is
//! found by name when the nsid has one, and otherwise by the mutual
//! indexes of the two ends (the peer's `link_index` is this end's
//! `ifindex`), checked on every veth that names the same nsid: all of them
//! lead to one namespace.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

/// One namespace as read for pairing.
pub struct NsView {
    pub host: String,
    /// Its name under /run/netns, if it has one.
    pub netns_name: Option<String>,
    /// Its `ip -j -d link show`.
    pub links: Value,
    /// Its `ip -j netns list-id`: the names of the nsids that have one.
    pub nsid_names: BTreeMap<i64, String>,
}

/// `ip -j netns list-id` as nsid → name (entries without a name left out).
pub fn nsid_names(list_id: &Value) -> BTreeMap<i64, String> {
    list_id
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["nsid"].as_i64()?, e["name"].as_str()?.to_string())))
        .collect()
}

struct End {
    ns: usize,
    name: String,
    ifindex: i64,
    peer: i64,
    nsid: Option<i64>,
}

fn ends(views: &[NsView]) -> Vec<End> {
    let mut out = Vec::new();
    for (i, v) in views.iter().enumerate() {
        for d in v.links.as_array().into_iter().flatten() {
            if d["linkinfo"]["info_kind"].as_str() != Some("veth") {
                continue;
            }
            if let (Some(n), Some(x), Some(p)) = (
                d["ifname"].as_str(),
                d["ifindex"].as_i64(),
                d["link_index"].as_i64(),
            ) {
                out.push(End {
                    ns: i,
                    name: n.to_string(),
                    ifindex: x,
                    peer: p,
                    nsid: d["link_netnsid"].as_i64(),
                });
            }
        }
    }
    out
}

/// Whether every veth of namespace `ns` naming `nsid` has its mirror in
/// namespace `j`: an end whose ifindex is its `link_index` and whose
/// `link_index` is its ifindex, itself pointing to another namespace.
fn mirrors(all: &[End], ns: usize, nsid: i64, j: usize) -> bool {
    all.iter()
        .filter(|e| e.ns == ns && e.nsid == Some(nsid))
        .all(|e| {
            all.iter().any(|f| {
                f.ns == j && f.nsid.is_some() && f.ifindex == e.peer && f.peer == e.ifindex
            })
        })
}

/// The namespace the nsid `nsid` of namespace `ns` is, or why not.
fn peer_ns(views: &[NsView], all: &[End], ns: usize, nsid: i64) -> Result<usize, &'static str> {
    if let Some(name) = views[ns].nsid_names.get(&nsid) {
        return views
            .iter()
            .position(|v| v.netns_name.as_deref() == Some(name.as_str()))
            .ok_or("veth peer in a namespace outside the snapshot");
    }
    let cands: Vec<usize> = (0..views.len())
        .filter(|&j| j != ns && mirrors(all, ns, nsid, j))
        .filter(|&j| {
            // and back: every nsid of j's mirroring ends leads to ns
            all.iter()
                .filter(|f| {
                    f.ns == j
                        && all.iter().any(|e| {
                            e.ns == ns
                                && e.nsid == Some(nsid)
                                && f.ifindex == e.peer
                                && f.peer == e.ifindex
                        })
                })
                .filter_map(|f| f.nsid)
                .all(|m| match views[j].nsid_names.get(&m) {
                    Some(name) => views[ns].netns_name.as_deref() == Some(name.as_str()),
                    None => mirrors(all, j, m, ns),
                })
        })
        .collect();
    match cands.as_slice() {
        [j] => Ok(*j),
        [] => Err("veth peer in a namespace outside the snapshot"),
        _ => Err("veth peer ambiguous: several namespaces have an end with its indexes"),
    }
}

/// The veth links between the namespaces (`{"a": "HOST/IF", "b": ...}`,
/// each once, `a` < `b`) and a warning per end whose peer is not found.
pub fn veth_links(views: &[NsView]) -> (Vec<Value>, Vec<String>) {
    let all = ends(views);
    let mut cache: BTreeMap<(usize, i64), Result<usize, &'static str>> = BTreeMap::new();
    let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
    let mut warnings = Vec::new();
    for e in &all {
        let j = match e.nsid {
            None => Ok(e.ns),
            Some(n) => *cache
                .entry((e.ns, n))
                .or_insert_with(|| peer_ns(views, &all, e.ns, n)),
        };
        let here = format!("{}/{}", views[e.ns].host, e.name);
        let j = match j {
            Ok(j) => j,
            Err(why) => {
                warnings.push(format!("{here}: {why}"));
                continue;
            }
        };
        let Some(p) = all.iter().find(|f| f.ns == j && f.ifindex == e.peer) else {
            warnings.push(format!(
                "{here}: no veth of ifindex {} on {}",
                e.peer, views[j].host
            ));
            continue;
        };
        let there = format!("{}/{}", views[j].host, p.name);
        if here != there {
            pairs.insert(if here < there {
                (here, there)
            } else {
                (there, here)
            });
        }
    }
    let links = pairs
        .into_iter()
        .map(|(a, b)| json!({"a": a, "b": b}))
        .collect();
    (links, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn veth(name: &str, ifindex: i64, peer: i64, nsid: Option<i64>) -> Value {
        let mut v = json!({"ifname": name, "ifindex": ifindex, "link_index": peer,
            "linkinfo": {"info_kind": "veth"}});
        if let Some(n) = nsid {
            v["link_netnsid"] = json!(n);
        }
        v
    }

    fn view(host: &str, name: Option<&str>, links: Vec<Value>, ids: &[(i64, &str)]) -> NsView {
        NsView {
            host: host.into(),
            netns_name: name.map(str::to_string),
            links: Value::Array(links),
            nsid_names: ids.iter().map(|(i, n)| (*i, n.to_string())).collect(),
        }
    }

    /// Two named namespaces (a, b), one held by a process (p), and the
    /// root: a/a0 - b/b0 (by name), b/b1 - p/p0 (unnamed: by indexes; an
    /// ifindex 2 on every side), root/veth-r - p/p1 (root unnamed), and a
    /// veth pair inside the root namespace.
    #[test]
    fn peers_by_name_then_by_mutual_indexes() {
        let views = vec![
            view(
                "node",
                None,
                vec![
                    veth("veth-r", 7, 3, Some(1)),
                    veth("x0", 8, 9, None),
                    veth("x1", 9, 8, None),
                ],
                &[(0, "a")],
            ),
            view("a", Some("a"), vec![veth("a0", 2, 2, Some(0))], &[(0, "b")]),
            view(
                "b",
                Some("b"),
                vec![veth("b0", 2, 2, Some(0)), veth("b1", 3, 2, Some(1))],
                &[(0, "a")],
            ),
            view(
                "pid-9-sleep",
                None,
                vec![veth("p0", 2, 3, Some(0)), veth("p1", 3, 7, Some(1))],
                &[(0, "b")],
            ),
        ];
        let (links, warnings) = veth_links(&views);
        let got: Vec<String> = links
            .iter()
            .map(|l| format!("{} {}", l["a"].as_str().unwrap(), l["b"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                "a/a0 b/b0",
                "b/b1 pid-9-sleep/p0",
                "node/veth-r pid-9-sleep/p1",
                "node/x0 node/x1"
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_peer_outside_or_ambiguous_is_said() {
        // c's veth names nsid 0 with no name; both d and e have a mutual end.
        let views = vec![
            view("c", None, vec![veth("c0", 2, 2, Some(0))], &[]),
            view("d", None, vec![veth("d0", 2, 2, Some(0))], &[]),
            view("e", None, vec![veth("e0", 2, 2, Some(0))], &[]),
            view("f", None, vec![veth("f0", 5, 6, Some(3))], &[(3, "gone")]),
        ];
        let (links, warnings) = veth_links(&views);
        assert!(links.is_empty(), "{links:?}");
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("c/c0: veth peer ambiguous"));
        assert!(warnings[3].starts_with("f/f0: veth peer in a namespace outside"));
    }

    /// x's peer is in a namespace left out of the snapshot (`--only-ns`);
    /// y and w have an end with the mirrored indexes, but y's end names a
    /// namespace called z, and w's nsid leads to v (where both its veths
    /// have their mirrors), not to x: no link is made up for x.
    #[test]
    fn mirrored_indexes_must_lead_back() {
        let views = vec![
            view("x", None, vec![veth("x0", 4, 9, Some(0))], &[]),
            view("y", None, vec![veth("y0", 9, 4, Some(2))], &[(2, "z")]),
            view(
                "w",
                None,
                vec![veth("w0", 9, 4, Some(1)), veth("w1", 10, 3, Some(1))],
                &[],
            ),
            view(
                "v",
                None,
                vec![veth("v0", 3, 10, Some(5)), veth("v1", 4, 9, Some(5))],
                &[],
            ),
        ];
        let (links, warnings) = veth_links(&views);
        let got: Vec<String> = links
            .iter()
            .map(|l| format!("{} {}", l["a"].as_str().unwrap(), l["b"].as_str().unwrap()))
            .collect();
        assert_eq!(got, ["v/v0 w/w1", "v/v1 w/w0"], "{warnings:?}");
        assert_eq!(
            warnings,
            [
                "x/x0: veth peer in a namespace outside the snapshot",
                "y/y0: veth peer in a namespace outside the snapshot"
            ]
        );
    }
}
