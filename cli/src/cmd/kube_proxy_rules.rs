//! `podpath kube-proxy-rules`: what kube-proxy writes on a node of the
//! scenario's cluster.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args)]
pub struct KubeProxyRulesArgs {
    pub scenario: Option<String>,
    #[arg(long)]
    pub node: String,
    #[arg(long)]
    pub full: bool,
}

pub fn run(a: KubeProxyRulesArgs, stdout: &mut impl Write) -> Result<ExitCode> {
    let (node, full) = (a.node, a.full);
    let (objs, net) = super::cluster_of(a.scenario.as_deref())?;
    let n = super::node_of(&objs, &node)?;
    let ip = n
        .internal_ip()
        .with_context(|| format!("Node {node} has no InternalIP"))?;
    let cfg = podpath_sim::k8s::cluster::proxier_config(&net, &node, ip);
    let out = if net.proxy_mode == "ipvs" {
        // ipvs mode: the iptables rules ipvs mode writes, then the
        // state in the kernel's other two places
        let extra = if full {
            podpath_sim::k8s::cluster::cni_rules(&net, n)?
        } else {
            Default::default()
        };
        let st = podpath_sim::k8s::cluster::ipvs_state(&objs, &node, ip);
        let (ipt, sets) = felix(
            &objs,
            &net,
            &node,
            full,
            podpath_sim::k8s::kubeproxy::node_iptables_save_ipvs(&cfg, &extra),
        );
        format!(
            "{ipt}# ipset save\n{}{sets}# ipvsadm -Sn\n{}",
            st.ipsets,
            st.ipvsadm_save()
        )
    } else if net.proxy_mode == "nftables" {
        // nftables mode: the `nft -f` transaction kube-proxy sends;
        // --full adds the node's iptables-save (the CNI's rules)
        let nft = podpath_sim::k8s::kubeproxy_nft::nft_rules(&objs, &cfg);
        if full {
            let extra = podpath_sim::k8s::cluster::cni_rules(&net, n)?;
            let (ipt, sets) = felix(
                &objs,
                &net,
                &node,
                true,
                podpath_sim::k8s::kubeproxy::node_iptables_save_others(&extra),
            );
            let sets = if sets.is_empty() {
                sets
            } else {
                format!("# ipset save\n{sets}")
            };
            format!("# iptables-save\n{ipt}{sets}# nft -f\n{nft}")
        } else {
            nft
        }
    } else if full {
        let extra = podpath_sim::k8s::cluster::cni_rules(&net, n)?;
        let (ipt, sets) = felix(
            &objs,
            &net,
            &node,
            true,
            podpath_sim::k8s::kubeproxy::node_iptables_save(&objs, &cfg, &extra),
        );
        if sets.is_empty() {
            ipt
        } else {
            format!("{ipt}# ipset save\n{sets}")
        }
    } else {
        podpath_sim::k8s::kubeproxy::restore_input(&objs, &cfg)
    };
    stdout.write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// With `--full` on a calico cluster with NetworkPolicies: felix's rules
/// spliced into the node's iptables-save, and its `ipset save` text.
fn felix(
    objs: &podpath_sim::k8s::Cluster,
    net: &podpath_sim::k8s::cluster::NetConfig,
    node: &str,
    full: bool,
    ipt: String,
) -> (String, String) {
    if !full || !net.cni.starts_with("calico") || objs.network_policies.is_empty() {
        return (ipt, String::new());
    }
    let ips: Vec<std::net::Ipv4Addr> = objs.nodes.iter().filter_map(|n| n.internal_ip()).collect();
    let f =
        podpath_sim::k8s::calico::node_program(objs, node, &ips, net.cni == "calico-ipip", false);
    (f.splice(&ipt), f.ipsets)
}
