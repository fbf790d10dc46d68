//! `podpath policy-rules`: what the cluster's CNI programs on a node for
//! its NetworkPolicies: felix's filter-table chains and IP sets on the
//! calico CNIs, kube-network-policies' nftables table and the policies its
//! evaluator holds on kindnet, and nothing (said so) on the CNIs that
//! enforce none.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct PolicyRulesArgs {
    pub scenario: Option<String>,
    #[arg(long)]
    pub node: String,
}

pub fn run(a: PolicyRulesArgs, stdout: &mut impl Write) -> Result<ExitCode> {
    let node = a.node;
    let (objs, net) = super::cluster_of(a.scenario.as_deref())?;
    let n = super::node_of(&objs, &node)?;
    let count = objs.network_policies.len();
    let out = if net.cni.starts_with("calico") {
        calico(&objs, &net, n, &node)?
    } else if podpath_sim::k8s::kindnet_policy::enforces(&net.cni) {
        kindnet(&objs, &node)
    } else {
        format!(
            "# {}: the CNI programs no NetworkPolicy: the cluster's {count} NetworkPolicies have no effect on {node}\n",
            net.cni
        )
    };
    stdout.write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// felix's chains (and the built-in chains' jumps to them) of the node's
/// iptables-save, table by table, then its `ipset save`.
fn calico(
    objs: &podpath_sim::k8s::Cluster,
    net: &podpath_sim::k8s::cluster::NetConfig,
    n: &podpath_sim::k8s::objects::Node,
    node: &str,
) -> Result<String> {
    let mut out = format!(
        "# {}: felix's rules for {} NetworkPolicies on {node}\n",
        net.cni,
        objs.network_policies.len()
    );
    if objs.network_policies.is_empty() {
        out.push_str("# no NetworkPolicy: felix programs no policy chain\n");
        return Ok(out);
    }
    let ips: Vec<std::net::Ipv4Addr> = objs.nodes.iter().filter_map(|n| n.internal_ip()).collect();
    let extra = podpath_sim::k8s::cluster::cni_rules(net, n)?;
    let base = podpath_sim::k8s::kubeproxy::node_iptables_save_others(&extra);
    // the IPv4 ruleset (iptables, cali40 sets) when the cluster has IPv4,
    // the IPv6 one (ip6tables, cali60 sets) when it has IPv6
    let versions = [(false, net.ipv4), (true, net.v6.is_some())];
    for (v6, _) in versions.into_iter().filter(|v| v.1) {
        let f =
            podpath_sim::k8s::calico::node_program(objs, node, &ips, net.cni == "calico-ipip", v6);
        if v6 {
            out.push_str("# ip6tables (felix's IPv6 ruleset)\n");
        }
        out.push_str(&felix_lines(&f.splice(&base)));
        out.push_str(if v6 {
            "# ipset save (IPv6 sets)\n"
        } else {
            "# ipset save\n"
        });
        out.push_str(&f.ipsets);
    }
    Ok(out)
}

/// The felix lines of each table of an iptables-save text: its chains'
/// declarations and rules, and the built-in chains' rules that jump to
/// them.
fn felix_lines(full: &str) -> String {
    let mut out = String::new();
    let mut table: Option<(String, Vec<String>)> = None;
    for l in full.lines() {
        if let Some(name) = l.strip_prefix('*') {
            table = Some((name.to_string(), Vec::new()));
        } else if l == "COMMIT" {
            if let Some((name, lines)) = table.take() {
                if !lines.is_empty() {
                    out.push_str(&format!("*{name}\n{}\nCOMMIT\n", lines.join("\n")));
                }
            }
        } else if l.starts_with(":cali-") || (l.starts_with("-A ") && l.contains("cali-")) {
            if let Some((_, lines)) = table.as_mut() {
                lines.push(l.to_string());
            }
        }
    }
    out
}

/// kube-network-policies' table on the node (the pods its policies
/// select there) and the policies its evaluator judges by.
fn kindnet(objs: &podpath_sim::k8s::Cluster, node: &str) -> String {
    use podpath_sim::k8s::kindnet_policy::{managed_ips, nft_text, Config};
    let mut out = format!(
        "# kindnet: kube-network-policies on {node}: {} NetworkPolicies\n",
        objs.network_policies.len()
    );
    if objs.network_policies.is_empty() {
        out.push_str("# no NetworkPolicy: kindnetd writes no table and queues nothing\n");
        return out;
    }
    let cfg = Config::default();
    out.push_str(&format!(
        "# the evaluator on nfqueue {} judges the first packet of a connection by:\n",
        cfg.queue
    ));
    for p in &objs.network_policies {
        let types: Vec<String> = p.policy_types().iter().map(|d| format!("{d:?}")).collect();
        out.push_str(&format!(
            "#   {}/{} ({})\n",
            p.metadata.ns(),
            p.metadata.name,
            types.join(", ")
        ));
    }
    out.push_str("# nft list table inet kindnet-network-policies\n");
    out.push_str(&nft_text(&cfg, &managed_ips(objs, node)));
    out
}
