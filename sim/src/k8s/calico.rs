//! Calico's felix, as it programs a node's iptables and IP sets for the
//! cluster's Kubernetes NetworkPolicies (both calico CNIs).
//!
//! Followed: projectcalico/calico **v3.32.1** (commit
//! 0ca9d1b93644778cafdf1812f3dda02ac0c361e8), felix in iptables mode with
//! its defaults (`IptablesMarkMask` 0xffff0000, `ChainInsertMode` insert,
//! `IptablesFilterAllowAction` ACCEPT, `IptablesFilterDenyAction` DROP,
//! flow logs off, `DefaultEndpointToHostAction` ACCEPT as calico's
//! manifests set it, no host endpoints, kube-proxy support for IPVS off).
//! The pieces:
//! - [`conv`]: the NetworkPolicy as a Calico policy (libcalico-go's
//!   conversion and syncer), its selectors and IP set ids;
//! - [`selector`]: Calico selectors (canonical text, id, evaluation);
//! - [`render`]: felix's `rules/` renderer (policy, profile, endpoint and
//!   dispatch chains);
//! - [`rule`]: the rule values and their texts (felix's, hashed into the
//!   `cali:` ids, and iptables-save's);
//! - here: the node's program ([`node_program`]): the static chains
//!   (`felix/rules/static.go`: `cali-FORWARD` from `StaticFilterForwardChains`
//!   and the two rules `StaticFilterForwardAppendRules` appends to FORWARD;
//!   `cali-INPUT` from `filterInputChain`, with the IPIP rules in IPIP mode,
//!   and `cali-wl-to-host` from `filterWorkloadToHostChain`), the dispatch
//!   chains over the node's `cali*` interfaces, an endpoint chain pair per
//!   local pod (its policies in tier `default`, then its profiles
//!   `kns.NS` and `ksa.NS.SA`), the chains of the policies and profiles
//!   those use, the `cali40s:`/`cali40n:` sets with their members (and
//!   `cali40all-hosts-net` in IPIP mode), and the [`RuleNotes`] that name
//!   the policy behind each accepting or end-of-tier rule; on a cluster
//!   with IPv6, the same for the IPv6 ruleset (ip6tables, `cali60` sets
//!   of family inet6, each rule filtered to the version by
//!   `FilterRuleToIPVersion`, `cali-wl-to-host` led by `ICMPv6Filter`).
//!
//! Simplifications (named in `podpath explain`): felix's chains are
//! written only when the cluster has NetworkPolicies (a cluster without
//! any runs as before, felix's chains then accepting everything anyway);
//! policies sharing a selector are not grouped into `cali-gi-`/`cali-go-`
//! chains (felix groups runs of two or more; the verdicts are the same);
//! the OUTPUT chain (`cali-OUTPUT`), the raw and mangle chains and the NAT
//! chains (natOutgoing) are not written (host-originated traffic to a
//! workload is not policed by felix's OUTPUT either: `-o cali+ -j RETURN`).

mod conv;
mod render;
mod rule;
mod selector;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

pub use conv::{calico_rules, CRule, IpSetDef, PRule};
pub use render::{Marks, DEFAULT_MARKS};
pub use rule::{rule_hashes, Chain, Rule, A, M};
pub use selector::Sel;

use super::netpol::Direction;
use super::objects::{Cluster, Pod};
use crate::net::netfilter::notes::{table_key, RuleNote, RuleNotes};

/// calico's host-side veth name: `cali` + 11 hex digits of a hash of the
/// workload (calico uses sha1 of the workload's name).
pub fn cali_name(ns: &str, name: &str) -> String {
    let h = crate::det::stable_hash(format!("cali/{ns}/{name}").as_bytes());
    format!("cali{:011x}", h & 0xfff_ffff_ffff)
}

/// A workload endpoint as felix knows it.
struct Wep<'a> {
    pod: &'a Pod,
    iface: String,
    /// Its address of the ruleset's version (None: it has none of it; its
    /// interface still has its chains).
    ip: Option<IpAddr>,
    /// Its labels with the profiles' (`projectcalico.org/namespace`,
    /// `projectcalico.org/orchestrator`, `projectcalico.org/serviceaccount`,
    /// `pcns.*`, `pcsa.*`).
    labels: BTreeMap<String, String>,
}

fn service_account(p: &Pod) -> String {
    p.spec
        .service_account_name
        .clone()
        .unwrap_or_else(|| "default".into())
}

/// The cluster's workload endpoints (pods with an address, not on the
/// host network), with felix's labels (`conversion/workload_endpoint_default.go`
/// and the profiles' `LabelsToApply`, `NamespaceToProfile`) and their
/// address of the version (`v6`).
fn endpoints(cluster: &Cluster, v6: bool) -> Vec<Wep<'_>> {
    let mut out = Vec::new();
    for p in &cluster.pods {
        if p.spec.host_network {
            continue;
        }
        if p.ip4().is_none() && p.ip6().is_none() {
            continue;
        }
        let ip = if v6 {
            p.ip6().map(IpAddr::V6)
        } else {
            p.ip4().map(IpAddr::V4)
        };
        let ns = p.metadata.ns();
        let sa = service_account(p);
        let mut labels = p.metadata.labels.clone();
        labels.insert("projectcalico.org/namespace".into(), ns.into());
        labels.insert("projectcalico.org/orchestrator".into(), "k8s".into());
        labels.insert("projectcalico.org/serviceaccount".into(), sa.clone());
        for (k, v) in cluster.namespace_labels(ns) {
            labels.insert(format!("pcns.{k}"), v);
        }
        labels.insert("pcns.projectcalico.org/name".into(), ns.into());
        labels.insert("pcsa.projectcalico.org/name".into(), sa);
        out.push(Wep {
            pod: p,
            iface: cali_name(ns, &p.metadata.name),
            ip,
            labels,
        });
    }
    out
}

/// What felix programs on one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FelixNode {
    /// felix's chains in the filter table, by name.
    pub chains: Vec<Chain>,
    /// Rules felix inserts at the top of a built-in chain.
    pub inserts: Vec<(String, Rule)>,
    /// Rules felix appends to a built-in chain.
    pub appends: Vec<(String, Rule)>,
    /// `ipset save` text of its sets.
    pub ipsets: String,
    /// The policy behind rules of its chains.
    pub notes: RuleNotes,
}

fn pol_id(p: &super::netpol::NetworkPolicy) -> String {
    format!("{}/{}", p.metadata.ns(), p.metadata.name)
}

/// The policies selecting `pod` for `d`, in felix's order (all at order
/// 1000: by name).
fn policies_for<'a>(
    cluster: &'a Cluster,
    pod: &Pod,
    d: Direction,
) -> Vec<&'a super::netpol::NetworkPolicy> {
    let mut v: Vec<_> = cluster
        .network_policies
        .iter()
        .filter(|pol| {
            pol.metadata.ns() == pod.metadata.ns()
                && pol.policy_types().contains(&d)
                && pol.spec.pod_selector.matches(&pod.metadata.labels)
        })
        .collect();
    v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    v
}

/// The chains of one active policy (`PolicyToIptablesChains`) for the
/// IPv4 or IPv6 (`v6`) ruleset (its rules filtered to the version:
/// [`CRule::for_version`]), the IP sets its rules use, and the notes of
/// its accepting rules.
fn policy_chains(
    pol: &super::netpol::NetworkPolicy,
    (marks, v6): (Marks, bool),
    sets: &mut BTreeSet<IpSetDef>,
    notes: &mut RuleNotes,
) -> Vec<Chain> {
    let ns = pol.metadata.ns();
    let name = &pol.metadata.name;
    let mut out = Vec::new();
    for (ingress, pfx, dir) in [(true, "cali-pi-", "ingress"), (false, "cali-po-", "egress")] {
        let crules: Vec<CRule> = calico_rules(pol, ingress)
            .iter()
            .filter_map(|r| r.for_version(v6))
            .collect();
        let prules: Vec<PRule> = crules.iter().map(CRule::parsed).collect();
        for p in &prules {
            for s in p
                .src_ipsets
                .iter()
                .chain(&p.dst_ipsets)
                .chain(&p.src_named)
                .chain(&p.dst_named)
            {
                sets.insert(s.clone());
            }
        }
        let comment = format!("KubernetesNetworkPolicy {ns}/{name} {dir}");
        let (rules, at) = render::rules_chain(&prules, marks, &comment, v6);
        let chain = render::policy_chain_name(pfx, ns, name);
        for (c, i) in crules.iter().zip(at) {
            notes.insert(
                (table_key("filter", v6), chain.clone(), i + 1),
                RuleNote::Allow {
                    direction: dir.into(),
                    policy: pol_id(pol),
                    rule: c.k8s_rule,
                },
            );
        }
        out.push(Chain { name: chain, rules });
    }
    out
}

/// The node's two endpoint chains for one workload, the profiles and
/// policies it uses (added to `active`), and the end-of-tier notes.
fn endpoint_chains(
    cluster: &Cluster,
    w: &Wep,
    (marks, v6): (Marks, bool),
    active: &mut BTreeMap<String, &'static str>,
    notes: &mut RuleNotes,
) -> Vec<Chain> {
    let ns = w.pod.metadata.ns();
    let sa = service_account(w.pod);
    let profiles = [format!("kns.{ns}"), format!("ksa.{ns}.{sa}")];
    let mut out = Vec::new();
    for (d, pfx, ppfx, prof_pfx, from, dir) in [
        (
            Direction::Ingress,
            "cali-tw-",
            "cali-pi-",
            "cali-pri-",
            false,
            "ingress",
        ),
        (
            Direction::Egress,
            "cali-fw-",
            "cali-po-",
            "cali-pro-",
            true,
            "egress",
        ),
    ] {
        let pols = policies_for(cluster, w.pod, d);
        let names: Vec<String> = pols
            .iter()
            .map(|p| render::policy_chain_name(ppfx, p.metadata.ns(), &p.metadata.name))
            .collect();
        for p in &pols {
            active.insert(pol_id(p), "");
        }
        let profs: Vec<String> = profiles
            .iter()
            .map(|p| rule::length_limited_id(prof_pfx, p, rule::MAX_CHAIN_NAME))
            .collect();
        let cname = rule::length_limited_id(pfx, &w.iface, rule::MAX_CHAIN_NAME);
        let (chain, end) = render::endpoint_chain(cname, &names, &profs, from, marks);
        if let Some(i) = end {
            notes.insert(
                (table_key("filter", v6), chain.name.clone(), i + 1),
                RuleNote::Deny {
                    direction: dir.into(),
                    policies: pols.iter().map(|p| pol_id(p)).collect(),
                },
            );
        }
        out.push(chain);
    }
    out
}

/// The static filter chains felix writes (as far as pod traffic needs
/// them) for the IPv4 or IPv6 (`v6`) ruleset, and its inserted and
/// appended rules. They differ by version only in `cali-wl-to-host`
/// (`filterWorkloadToHostChain`): IPv6's starts with `ICMPv6Filter`,
/// accepting MLD (130-132), router solicitation (133) and neighbour
/// solicitation and advertisement (135, 136) from workloads; and in the
/// IPIP rules of cali-INPUT (IPv4 only: IPIP has no IPv6).
#[allow(clippy::type_complexity)]
fn static_chains(
    marks: Marks,
    ipip: bool,
    v6: bool,
) -> (Vec<Chain>, Vec<(String, Rule)>, Vec<(String, Rule)>) {
    let j = |c: &str| A::Jump(c.into());
    let forward = Chain {
        name: "cali-FORWARD".into(),
        rules: vec![
            Rule::new(vec![], A::ClearMark(marks.all() & !marks.accept)),
            Rule::new(vec![M::MarkClear(marks.accept)], j("cali-from-hep-forward")),
            Rule::new(vec![M::InIf("cali+".into())], j("cali-from-wl-dispatch")),
            Rule::new(vec![M::OutIf("cali+".into())], j("cali-to-wl-dispatch")),
            Rule::new(vec![], j("cali-to-hep-forward")),
            Rule::new(vec![], j("cali-cidr-block")),
        ],
    };
    let mut input = Vec::new();
    if ipip && !v6 {
        input.push(
            Rule::new(
                vec![
                    M::Proto("4".into(), false),
                    M::Set {
                        name: "cali40all-hosts-net".into(),
                        flags: "src",
                        neg: false,
                    },
                    M::DstLocal,
                ],
                A::Accept,
            )
            .with_comment("Allow IPIP packets from Calico hosts"),
        );
        input.push(
            Rule::new(vec![M::Proto("4".into(), false)], A::Drop)
                .with_comment("Drop IPIP packets from non-Calico hosts"),
        );
    }
    input.push(Rule::new(
        vec![M::InIf("cali+".into())],
        A::Goto("cali-wl-to-host".into()),
    ));
    input.push(Rule::new(vec![M::MarkSet(marks.accept)], A::Accept));
    input.push(Rule::new(vec![], A::ClearMark(marks.all())));
    input.push(Rule::new(vec![], j("cali-from-host-endpoint")));
    input.push(
        Rule::new(vec![M::MarkSet(marks.accept)], A::Accept)
            .with_comment("Host endpoint policy accepted packet."),
    );
    let icmp6 = [130u8, 131, 132, 133, 135, 136].map(|t| {
        Rule::new(
            vec![M::Proto("58".into(), false), M::Icmp6Type(t)],
            A::Accept,
        )
    });
    let mut wl_rules: Vec<Rule> = if v6 { icmp6.to_vec() } else { Vec::new() };
    wl_rules.push(Rule::new(vec![], j("cali-from-wl-dispatch")));
    wl_rules
        .push(Rule::new(vec![], A::Accept).with_comment("Configured DefaultEndpointToHostAction"));
    let wl_to_host = Chain {
        name: "cali-wl-to-host".into(),
        rules: wl_rules,
    };
    let empty = |n: &str| Chain {
        name: n.into(),
        rules: Vec::new(),
    };
    let chains = vec![
        forward,
        Chain {
            name: "cali-INPUT".into(),
            rules: input,
        },
        wl_to_host,
        empty("cali-from-hep-forward"),
        empty("cali-to-hep-forward"),
        empty("cali-cidr-block"),
        empty("cali-from-host-endpoint"),
    ];
    let inserts = vec![
        ("INPUT".to_string(), Rule::new(vec![], j("cali-INPUT"))),
        ("FORWARD".to_string(), Rule::new(vec![], j("cali-FORWARD"))),
    ];
    let appends = vec![
        (
            "FORWARD".to_string(),
            Rule::new(vec![M::MarkSet(marks.accept)], A::Accept)
                .with_comment("Policy explicitly accepted packet."),
        ),
        (
            "FORWARD".to_string(),
            Rule::new(vec![], A::SetMark(marks.accept)),
        ),
    ];
    (chains, inserts, appends)
}

/// `ipset save` of felix's sets: a selector's set (`hash:net`) holds the
/// matching endpoints' addresses, a named port's (`hash:ip,port`) their
/// `IP,proto:port` for that port name (`felix/labelindex/named_port_index.go`).
fn ipset_text(
    sets: &BTreeSet<IpSetDef>,
    weps: &[Wep],
    hosts: Option<&[Ipv4Addr]>,
    v6: bool,
) -> String {
    let family = if v6 { "inet6" } else { "inet" };
    let mut s = String::new();
    if let Some(h) = hosts {
        let _ = writeln!(
            s,
            "create cali40all-hosts-net hash:net family inet hashsize 1024 maxelem 1048576"
        );
        for ip in h {
            let _ = writeln!(s, "add cali40all-hosts-net {ip}");
        }
    }
    for set in sets {
        let name = set.name_for(v6);
        match set {
            IpSetDef::Selector(sel) => {
                let _ = writeln!(
                    s,
                    "create {name} hash:net family {family} hashsize 1024 maxelem 1048576"
                );
                for w in weps.iter().filter(|w| sel.matches(&w.labels)) {
                    if let Some(ip) = w.ip {
                        let _ = writeln!(s, "add {name} {ip}");
                    }
                }
            }
            IpSetDef::NamedPort {
                sel,
                proto,
                name: port,
            } => {
                let _ = writeln!(
                    s,
                    "create {name} hash:ip,port family {family} hashsize 1024 maxelem 1048576"
                );
                let mut members = BTreeSet::new();
                for (w, ip) in weps
                    .iter()
                    .filter(|w| sel.matches(&w.labels))
                    .filter_map(|w| w.ip.map(|ip| (w, ip)))
                {
                    for c in &w.pod.spec.containers {
                        for cp in &c.ports {
                            let pr = cp.protocol.to_lowercase();
                            if cp.name.as_deref() == Some(port) && (proto == "any" || *proto == pr)
                            {
                                members.insert(format!("{ip},{pr}:{}", cp.container_port));
                            }
                        }
                    }
                }
                for m in members {
                    let _ = writeln!(s, "add {name} {m}");
                }
            }
        }
    }
    s
}

/// What felix programs on `node` (the node addresses: for the IPIP mode's
/// `cali40all-hosts-net`) in its IPv4 ruleset, or its IPv6 one (`v6`:
/// felix's second `InternalDataplane` table set, ip6tables and the
/// `cali60` IP sets, `family inet6`).
pub fn node_program(
    cluster: &Cluster,
    node: &str,
    node_ips: &[Ipv4Addr],
    ipip: bool,
    v6: bool,
) -> FelixNode {
    node_program_with(cluster, node, node_ips, ipip, (DEFAULT_MARKS, v6))
}

/// [`node_program`] with these mark bits.
pub fn node_program_with(
    cluster: &Cluster,
    node: &str,
    node_ips: &[Ipv4Addr],
    ipip: bool,
    (marks, v6): (Marks, bool),
) -> FelixNode {
    let weps = endpoints(cluster, v6);
    let local: Vec<&Wep> = weps
        .iter()
        .filter(|w| w.pod.spec.node_name.as_deref() == Some(node))
        .collect();
    let mut notes = RuleNotes::new();
    let (mut chains, inserts, appends) = static_chains(marks, ipip, v6);
    let ifaces: Vec<String> = local.iter().map(|w| w.iface.clone()).collect();
    chains.extend(render::dispatch_chains(
        "cali-from-wl-dispatch",
        &ifaces,
        "cali-fw-",
        true,
    ));
    chains.extend(render::dispatch_chains(
        "cali-to-wl-dispatch",
        &ifaces,
        "cali-tw-",
        false,
    ));
    let mut active = BTreeMap::new();
    let mut profiles = BTreeSet::new();
    for w in &local {
        chains.extend(endpoint_chains(
            cluster,
            w,
            (marks, v6),
            &mut active,
            &mut notes,
        ));
        let ns = w.pod.metadata.ns();
        profiles.insert((format!("kns.{ns}"), true));
        profiles.insert((format!("ksa.{ns}.{}", service_account(w.pod)), false));
    }
    let mut sets = BTreeSet::new();
    for pol in &cluster.network_policies {
        if active.contains_key(&pol_id(pol)) {
            chains.extend(policy_chains(pol, (marks, v6), &mut sets, &mut notes));
        }
    }
    for (p, allow) in &profiles {
        chains.push(render::profile_chain(
            "cali-pri-",
            p,
            *allow,
            "ingress",
            marks,
        ));
        chains.push(render::profile_chain(
            "cali-pro-",
            p,
            *allow,
            "egress",
            marks,
        ));
    }
    chains.sort_by(|a, b| a.name.cmp(&b.name));
    chains.dedup_by(|a, b| a.name == b.name);
    let ipsets = ipset_text(&sets, &weps, (ipip && !v6).then_some(node_ips), v6);
    FelixNode {
        chains,
        inserts,
        appends,
        ipsets,
        notes,
    }
}

impl FelixNode {
    /// The filter table's felix lines as iptables-save prints them: the
    /// chain declarations, the inserted rules (for the top of their
    /// built-in chain), the appended rules, and felix's chains' rules.
    fn lines(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let decls = self
            .chains
            .iter()
            .map(|c| format!(":{} - [0:0]", c.name))
            .collect();
        // `Table.calculateHashes` (felix/iptables/table.go): inserted
        // rules hash from the chain's name, appended ones from
        // `CHAIN*appends*`
        let by_chain = |v: &[(String, Rule)], salt: &str| -> Vec<String> {
            let mut out = Vec::new();
            let mut chains: Vec<&str> = v.iter().map(|x| x.0.as_str()).collect();
            chains.dedup();
            for c in chains {
                let rules: Vec<Rule> = v.iter().filter(|x| x.0 == c).map(|x| x.1.clone()).collect();
                for (r, h) in rules.iter().zip(rule_hashes(&format!("{c}{salt}"), &rules)) {
                    out.push(format!("-A {c} {}", r.save(&h)));
                }
            }
            out
        };
        let mut rules = by_chain(&self.appends, "*appends*");
        for c in &self.chains {
            for (r, h) in c.rules.iter().zip(rule_hashes(&c.name, &c.rules)) {
                rules.push(format!("-A {} {}", c.name, r.save(&h)));
            }
        }
        (decls, by_chain(&self.inserts, ""), rules)
    }

    /// `ipt` (an iptables-save text with a `*filter` table) with felix's
    /// rules in it: its chains declared, its inserted rules before the
    /// first rule of their chain, its appended rules and chains at the end
    /// of the table.
    pub fn splice(&self, ipt: &str) -> String {
        let (decls, inserts, rules) = self.lines();
        let mut out = String::new();
        let mut in_filter = false;
        let mut declared = false;
        let mut inserted: BTreeSet<String> = BTreeSet::new();
        for line in ipt.lines() {
            if line.starts_with('*') {
                in_filter = line == "*filter";
            } else if in_filter && !line.starts_with(':') && !declared {
                for d in &decls {
                    let _ = writeln!(out, "{d}");
                }
                declared = true;
            }
            if in_filter && line.starts_with("-A ") {
                let chain = line[3..].split(' ').next().unwrap_or("");
                if inserted.insert(chain.to_string()) {
                    for r in inserts
                        .iter()
                        .filter(|r| r[3..].starts_with(&format!("{chain} ")))
                    {
                        let _ = writeln!(out, "{r}");
                    }
                }
            }
            if in_filter && line == "COMMIT" {
                for r in inserts.iter() {
                    let chain = r[3..].split(' ').next().unwrap_or("");
                    if !inserted.contains(chain) {
                        let _ = writeln!(out, "{r}");
                    }
                }
                for r in &rules {
                    let _ = writeln!(out, "{r}");
                }
                in_filter = false;
            }
            let _ = writeln!(out, "{line}");
        }
        out
    }
}

#[cfg(test)]
mod tests;
