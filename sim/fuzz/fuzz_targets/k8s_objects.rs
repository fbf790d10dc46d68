//! `cargo fuzz run k8s_objects`: any manifests text gives objects (then
//! kube-proxy rules and a cluster expansion) or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = podpath_sim::k8s::Cluster::from_yaml(s, "fuzz.yaml") {
            for n in &c.nodes {
                let cfg = podpath_sim::k8s::kubeproxy::ProxierConfig::new(&n.metadata.name);
                let _ = podpath_sim::k8s::kubeproxy::restore_input(&c, &cfg);
            }
            let net = podpath_sim::k8s::cluster::NetConfig {
                v6: None,
                ipv4: true,
                cni: "flannel-vxlan".into(),
                cluster_cidr: "10.244.0.0/16".parse().unwrap(),
                node_network: "172.18.0.0/16".parse().unwrap(),
                domain: "cluster.local".into(),
                attach: vec![],
                node_gateway: "172.18.0.1".parse().unwrap(),
                proxy_mode: "iptables".into(),
                service_cidr: "10.96.0.0/12".parse().unwrap(),
            };
            let _ = podpath_sim::k8s::cluster::expand(&c, &net);
        }
        let _ = podpath_sim::app::ResolvConf::parse(s);
    }
    let _ = podpath_sim::wire::wireguard::WgData::parse(data);
});
