//! The scenarios shipped inside the binary.

pub struct Embedded {
    pub name: &'static str,
    pub text: &'static str,
}

pub const DEFAULT: &str = "browser-to-pod";

pub const ALL: &[Embedded] = &[
    Embedded {
        name: "browser-to-pod",
        text: include_str!("../../scenarios/browser-to-pod.yaml"),
    },
    Embedded {
        name: "minikube-service",
        text: include_str!("../../scenarios/minikube-service.yaml"),
    },
    Embedded {
        name: "minikube-tunnel",
        text: include_str!("../../scenarios/minikube-tunnel.yaml"),
    },
    Embedded {
        name: "nodeport-vxlan",
        text: include_str!("../../scenarios/nodeport-vxlan.yaml"),
    },
    Embedded {
        name: "flannel-cluster",
        text: include_str!("../../scenarios/flannel-cluster.yaml"),
    },
    Embedded {
        name: "nftables-endpoint-removed",
        text: include_str!("../../scenarios/nftables-endpoint-removed.yaml"),
    },
    Embedded {
        name: "headcni-host-mode",
        text: include_str!("../../scenarios/headcni-host-mode.yaml"),
    },
    Embedded {
        name: "headcni-daemon-mode",
        text: include_str!("../../scenarios/headcni-daemon-mode.yaml"),
    },
    Embedded {
        name: "keepalived-nodeport",
        text: include_str!("../../scenarios/keepalived-nodeport.yaml"),
    },
    Embedded {
        name: "cloud-lb-snat",
        text: include_str!("../../scenarios/cloud-lb-snat.yaml"),
    },
    Embedded {
        name: "cloud-lb-alb",
        text: include_str!("../../scenarios/cloud-lb-alb.yaml"),
    },
    Embedded {
        name: "clusterip-dns",
        text: include_str!("../../scenarios/clusterip-dns.yaml"),
    },
    Embedded {
        name: "traffic-policy-local",
        text: include_str!("../../scenarios/traffic-policy-local.yaml"),
    },
    Embedded {
        name: "pod-to-pod-vxlan",
        text: include_str!("../../scenarios/pod-to-pod-vxlan.yaml"),
    },
    Embedded {
        name: "pod-to-pod-bgp",
        text: include_str!("../../scenarios/pod-to-pod-bgp.yaml"),
    },
    Embedded {
        name: "troubleshoot-no-endpoints",
        text: include_str!("../../scenarios/troubleshoot-no-endpoints.yaml"),
    },
    Embedded {
        name: "troubleshoot-ingress-missing-service",
        text: include_str!("../../scenarios/troubleshoot-ingress-missing-service.yaml"),
    },
    Embedded {
        name: "troubleshoot-pod-no-default-route",
        text: include_str!("../../scenarios/troubleshoot-pod-no-default-route.yaml"),
    },
    Embedded {
        name: "ipv6-pmtu",
        text: include_str!("../../scenarios/ipv6-pmtu.yaml"),
    },
    Embedded {
        name: "dual-stack-cluster",
        text: include_str!("../../scenarios/dual-stack-cluster.yaml"),
    },
    Embedded {
        name: "ipv6-only-cluster",
        text: include_str!("../../scenarios/ipv6-only-cluster.yaml"),
    },
    Embedded {
        name: "troubleshoot-mtu-mismatch",
        text: include_str!("../../scenarios/troubleshoot-mtu-mismatch.yaml"),
    },
    Embedded {
        name: "troubleshoot-service-selector",
        text: include_str!("../../scenarios/troubleshoot-service-selector.yaml"),
    },
    Embedded {
        name: "troubleshoot-forward-drop",
        text: include_str!("../../scenarios/troubleshoot-forward-drop.yaml"),
    },
    Embedded {
        name: "troubleshoot-asymmetric-routing",
        text: include_str!("../../scenarios/troubleshoot-asymmetric-routing.yaml"),
    },
    Embedded {
        name: "istio-sidecar",
        text: include_str!("../../scenarios/istio-sidecar.yaml"),
    },
    Embedded {
        name: "netpol-kindnet",
        text: include_str!("../../scenarios/netpol-kindnet.yaml"),
    },
    Embedded {
        name: "netpol-default-deny",
        text: include_str!("../../scenarios/netpol-default-deny.yaml"),
    },
    Embedded {
        name: "netpol-calico",
        text: include_str!("../../scenarios/netpol-calico.yaml"),
    },
    Embedded {
        name: "netpol-flannel-ignored",
        text: include_str!("../../scenarios/netpol-flannel-ignored.yaml"),
    },
    Embedded {
        name: "sctp-diameter",
        text: include_str!("../../scenarios/sctp-diameter.yaml"),
    },
];

pub fn find(name: &str) -> Option<&'static Embedded> {
    ALL.iter().find(|e| e.name == name)
}

/// The one-line description from a scenario's metadata.
pub fn description(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("description:"))
        .map(|d| d.trim().trim_matches('"').to_string())
        .unwrap_or_default()
}
