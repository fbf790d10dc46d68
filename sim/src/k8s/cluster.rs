//! From Kubernetes objects to machines: the nodes, pods, veths, bridges,
//! overlay devices, routes, neighbours and iptables rules that kubelet, the
//! CNI plugin, flannel and kube-proxy would program, written out as podpath
//! scenario hosts (`podpath expand` prints them).
//!
//! CNI plugins modelled:
//! - `flannel-vxlan`: flannel's vxlan backend (flannel.1, VNI 1, UDP 8472,
//!   nolearning, MTU 1450; per remote node a route `podCIDR via X.0 dev
//!   flannel.1 onlink`, a permanent neighbour and an FDB entry), the `bridge`
//!   CNI plugin's cni0 with hairpin ports, and flannel's FLANNEL-POSTRTG /
//!   FLANNEL-FWD rules (`pkg/trafficmngr/iptables`).
//! - `flannel-host-gw`: the same without the overlay: `podCIDR via nodeIP
//!   dev eth0` per remote node, MTU 1500.
//! - `calico-bgp`: calico's routed mode without encapsulation: no bridge; a
//!   `cali*` veth per pod (host side MAC ee:ee:ee:ee:ee:ee, proxy_arp on),
//!   pods with a /32 and `default via 169.254.1.1`, a /32 route per local
//!   pod, a blackhole for the node's block and the other nodes' blocks via
//!   their addresses (what BIRD learns over BGP). Simplifications: the IPAM
//!   block is the node's podCIDR (calico carves /26 blocks); felix's policy
//!   chains and natOutgoing rules are not generated (no NetworkPolicy).
//! - `calico-ipip`: the same with `ipipMode: Always`: tunl0 (type ipip, MTU
//!   1480, an address of the node's block) and the other nodes' blocks `via
//!   NODE dev tunl0 onlink`, so pod traffic between nodes crosses the node
//!   network in IP-in-IP; pods' MTU 1480.
//! - `kindnet`: kind's default CNI: the ptp plugin's veth per pod (host side
//!   holding the gateway, the subnet's first address, as a /32; a /32 route
//!   per pod), routes to the other nodes' podCIDRs via their addresses, and
//!   the KIND-MASQ-AGENT masquerade rules. Simplification: the pod's address
//!   is a /32 with the subnet routed via the gateway (ptp gives a /24 and
//!   replaces its connected route by the same route via the gateway).
//!
//! Every node runs kube-proxy in iptables mode ([`super::kubeproxy`]) with
//! `--cluster-cidr` set. Pods get one HTTP server per TCP container port
//! answering JSON that names the pod, and a CoreDNS-like DNS server on UDP
//! port 53 answering `<svc>.<ns>.svc.<domain>` with the Service's ClusterIP;
//! when a `kube-system/kube-dns` Service exists, every pod's resolv.conf is
//! kubelet's ClusterFirst one (that nameserver, search `<ns>.svc.<domain>
//! svc.<domain> <domain>`, `ndots:5`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::kubeproxy::{self, ExtraRules, ProxierConfig};
use super::objects::{Cluster, K8sError};
use crate::wire::Mac;

/// How the cluster's network is built.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// `flannel-vxlan` or `flannel-host-gw`
    pub cni: String,
    /// The pod network (`--cluster-cidr`, flannel's `Network`).
    pub cluster_cidr: Ipv4Net,
    /// The nodes' network (their eth0 prefix).
    pub node_network: Ipv4Net,
    /// The cluster DNS domain.
    pub domain: String,
    /// Other hosts' devices to put on the nodes' network (`client/eth0`).
    pub attach: Vec<String>,
    /// The nodes' default gateway (kind: the docker bridge, the network's
    /// first address).
    pub node_gateway: Ipv4Addr,
    /// kube-proxy's mode: `iptables`, `ipvs` or `nftables`.
    pub proxy_mode: String,
    /// `--service-cluster-ip-range` (kubeadm's and kind's 10.96.0.0/12 by
    /// default).
    pub service_cidr: Ipv4Net,
}

fn kerr(object: String, field: &str, message: String) -> K8sError {
    K8sError {
        object,
        field: field.into(),
        message,
        line: 0,
    }
}

/// A pod's host name in the scenario: its name, or `ns.name` when the name
/// is taken in another namespace.
pub fn pod_host_names(cluster: &Cluster) -> BTreeMap<(String, String), String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &cluster.pods {
        *count.entry(&p.metadata.name).or_default() += 1;
    }
    cluster
        .pods
        .iter()
        .map(|p| {
            let key = (p.metadata.ns().to_string(), p.metadata.name.clone());
            let name = if count[p.metadata.name.as_str()] > 1 {
                format!("{}.{}", p.metadata.ns(), p.metadata.name)
            } else {
                p.metadata.name.clone()
            };
            (key, name)
        })
        .collect()
}

/// The veth name the bridge plugin gives a pod's host end (`veth` + 8 hex).
fn veth_name(ns: &str, name: &str) -> String {
    let h = crate::det::stable_hash(format!("{ns}/{name}").as_bytes());
    format!("veth{:08x}", (h & 0xffff_ffff) as u32)
}

/// calico's host-side veth name: `cali` + 11 hex digits of a hash of the
/// workload (calico uses sha1 of the workload's name).
fn cali_name(ns: &str, name: &str) -> String {
    let h = crate::det::stable_hash(format!("cali/{ns}/{name}").as_bytes());
    format!("cali{:011x}", h & 0xfff_ffff_ffff)
}

struct NodeNet {
    name: String,
    ip: Ipv4Addr,
    pod_cidr: Ipv4Net,
}

impl NodeNet {
    /// flannel.1's address: the subnet's network address, as a /32.
    fn vtep_ip(&self) -> Ipv4Addr {
        self.pod_cidr.network()
    }
    /// cni0's address: the first host of the subnet.
    fn gw(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.pod_cidr.network()) + 1)
    }
    fn vtep_mac(&self) -> Mac {
        Mac::derived(&format!("{}/flannel.1", self.name))
    }
}

/// The flannel rules of a node (`masqRules` and `forwardRules`).
fn flannel_rules(cluster_cidr: &str, pod_cidr: &str) -> ExtraRules {
    let c = "-m comment --comment \"flanneld masq\"";
    let f = "-m comment --comment \"flanneld forward\"";
    let mut x = ExtraRules::default();
    x.chains.push(("filter".into(), "FLANNEL-FWD".into()));
    x.chains.push(("nat".into(), "FLANNEL-POSTRTG".into()));
    let mut r = |t: &str, ch: &str, s: String| x.rules.push((t.into(), ch.into(), s));
    r("filter", "FORWARD", format!("{f} -j FLANNEL-FWD"));
    r(
        "filter",
        "FLANNEL-FWD",
        format!("-s {cluster_cidr} {f} -j ACCEPT"),
    );
    r(
        "filter",
        "FLANNEL-FWD",
        format!("-d {cluster_cidr} {f} -j ACCEPT"),
    );
    r("nat", "POSTROUTING", format!("{c} -j FLANNEL-POSTRTG"));
    r(
        "nat",
        "FLANNEL-POSTRTG",
        format!("-m mark --mark 0x4000/0x4000 {c} -j RETURN"),
    );
    r(
        "nat",
        "FLANNEL-POSTRTG",
        format!("-s {pod_cidr} -d {cluster_cidr} {c} -j RETURN"),
    );
    r(
        "nat",
        "FLANNEL-POSTRTG",
        format!("-s {cluster_cidr} -d {pod_cidr} {c} -j RETURN"),
    );
    r(
        "nat",
        "FLANNEL-POSTRTG",
        format!("! -s {cluster_cidr} -d {pod_cidr} {c} -j RETURN"),
    );
    r(
        "nat",
        "FLANNEL-POSTRTG",
        format!("-s {cluster_cidr} ! -d 224.0.0.0/4 {c} -j MASQUERADE --random-fully"),
    );
    r(
        "nat",
        "FLANNEL-POSTRTG",
        format!("! -s {cluster_cidr} -d {cluster_cidr} {c} -j MASQUERADE --random-fully"),
    );
    x
}

/// The iptables rules the CNI plugin adds on a node.
pub fn cni_rules(net: &NetConfig, node: &super::objects::Node) -> Result<ExtraRules, K8sError> {
    let c = node.spec.pod_cidr.as_deref().unwrap_or("");
    let pod: Ipv4Net = c.parse().map_err(|_| {
        kerr(
            format!("Node {}", node.metadata.name),
            "spec.podCIDR",
            format!("'{c}' is not a CIDR"),
        )
    })?;
    Ok(match net.cni.as_str() {
        "calico-bgp" | "calico-ipip" => ExtraRules::default(),
        "kindnet" => kindnet_rules(&net.cluster_cidr.to_string()),
        _ => flannel_rules(&net.cluster_cidr.to_string(), &pod.trunc().to_string()),
    })
}

/// kindnet's masquerade agent (`KIND-MASQ-AGENT`): traffic leaving the pod
/// network for non-local destinations is masqueraded.
fn kindnet_rules(cluster_cidr: &str) -> ExtraRules {
    let mut x = ExtraRules::default();
    x.chains.push(("nat".into(), "KIND-MASQ-AGENT".into()));
    x.rules.push((
        "nat".into(),
        "POSTROUTING".into(),
        "-m addrtype ! --dst-type LOCAL -m comment --comment \"kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain\" -j KIND-MASQ-AGENT".into(),
    ));
    x.rules.push((
        "nat".into(),
        "KIND-MASQ-AGENT".into(),
        format!("-d {cluster_cidr} -m comment --comment \"kind-masq-agent: local traffic is not subject to MASQUERADE\" -j RETURN"),
    ));
    x.rules.push((
        "nat".into(),
        "KIND-MASQ-AGENT".into(),
        "-m comment --comment \"kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)\" -j MASQUERADE".into(),
    ));
    x
}

/// kube-proxy ipvs mode on a node: its virtual services (protocol, address,
/// port, real servers "ip:port") and the `ipset save` text of its sets.
pub struct IpvsNode {
    pub services: Vec<(String, String, u16, Vec<String>)>,
    pub ipsets: String,
}

/// What kube-proxy in ipvs mode programs on `node`: a virtual service per
/// ClusterIP, external/LB IP and node port (scheduler rr, kube-proxy's
/// default), and the KUBE-CLUSTER-IP, KUBE-LOOP-BACK and KUBE-NODE-PORT-*
/// ipsets its iptables rules match.
pub fn ipvs_state(cluster: &Cluster, node: &str, node_ip: Ipv4Addr) -> IpvsNode {
    let mut services = Vec::new();
    let mut cluster_ip_set = Vec::new();
    let mut loopback = Vec::new();
    let mut nodeports = Vec::new();
    for sp in kubeproxy::service_ports(cluster, node) {
        let cat = kubeproxy::categorize(&sp);
        let proto = &sp.protocol;
        let internal = if sp.internal_policy_local {
            &cat.local
        } else {
            &cat.cluster
        };
        let external = if sp.external_policy_local {
            &cat.local
        } else {
            &cat.cluster
        };
        let reals = |eps: &[&kubeproxy::EndpointInfo]| -> Vec<String> {
            eps.iter().map(|e| e.endpoint.clone()).collect()
        };
        services.push((
            proto.clone(),
            sp.cluster_ip.to_string(),
            sp.port,
            reals(internal),
        ));
        for a in sp.external_ips.iter().chain(sp.lb_ips.iter()) {
            services.push((proto.clone(), a.clone(), sp.port, reals(external)));
        }
        if sp.node_port != 0 {
            services.push((
                proto.clone(),
                node_ip.to_string(),
                sp.node_port,
                reals(external),
            ));
            nodeports.push((proto.clone(), sp.node_port));
        }
        cluster_ip_set.push(format!("{},{proto}:{}", sp.cluster_ip, sp.port));
        // proxier.go: only this node's endpoints (`if !ep.IsLocal() { continue }`)
        for e in cat.all_reachable.iter().filter(|e| e.is_local) {
            let port = e.endpoint.rsplit_once(':').map(|x| x.1).unwrap_or("0");
            loopback.push(format!("{},{proto}:{port},{}", e.ip, e.ip));
        }
    }
    let mut set = String::new();
    let _ = writeln!(
        set,
        "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536"
    );
    for e in &cluster_ip_set {
        let _ = writeln!(set, "add KUBE-CLUSTER-IP {e}");
    }
    let _ = writeln!(
        set,
        "create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536"
    );
    for e in &loopback {
        let _ = writeln!(set, "add KUBE-LOOP-BACK {e}");
    }
    let _ = writeln!(set, "create KUBE-NODE-PORT-TCP bitmap:port range 0-65535");
    let _ = writeln!(set, "create KUBE-NODE-PORT-UDP bitmap:port range 0-65535");
    for (p, n) in &nodeports {
        let name = if p == "udp" {
            "KUBE-NODE-PORT-UDP"
        } else {
            "KUBE-NODE-PORT-TCP"
        };
        let _ = writeln!(set, "add {name} {n}");
    }
    IpvsNode {
        services,
        ipsets: set,
    }
}

impl IpvsNode {
    /// The virtual services as `ipvsadm -Sn` prints them (masquerading
    /// forward, weight 1, as kube-proxy adds real servers).
    pub fn ipvsadm_save(&self) -> String {
        let mut out = String::new();
        for (proto, vip, port, reals) in &self.services {
            let flag = if proto == "udp" { "-u" } else { "-t" };
            let _ = writeln!(out, "-A {flag} {vip}:{port} -s rr");
            for r in reals {
                let _ = writeln!(out, "-a {flag} {vip}:{port} -r {r} -m -w 1");
            }
        }
        out
    }
}

/// The node's `ipvs` and `ipset` scenario keys.
fn ipvs_node(cluster: &Cluster, node: &str, node_ip: Ipv4Addr) -> String {
    let st = ipvs_state(cluster, node, node_ip);
    let mut y = String::from("    ipvs:\n");
    for (proto, vip, port, reals) in &st.services {
        let r: Vec<String> = reals.iter().map(|r| format!("\"{r}\"")).collect();
        let _ = writeln!(
            y,
            "      - {{service: \"{proto} {vip}:{port}\", scheduler: rr, reals: [{}]}}",
            r.join(", ")
        );
    }
    y.push_str("    ipset: |\n");
    y.push_str(&indent(&st.ipsets, 6));
    y
}

/// kube-proxy's configuration on a node of this cluster.
pub fn proxier_config(net: &NetConfig, node: &str, ip: Ipv4Addr) -> ProxierConfig {
    let mut cfg = ProxierConfig::new(node);
    cfg.node_ips = vec![ip];
    cfg.cluster_cidr = Some(net.cluster_cidr);
    cfg.service_cidrs = vec![net.service_cidr];
    cfg
}

fn nodes(cluster: &Cluster, net: &NetConfig) -> Result<Vec<NodeNet>, K8sError> {
    let mut out = Vec::new();
    for n in &cluster.nodes {
        let o = format!("Node {}", n.metadata.name);
        let ip = n.internal_ip().ok_or_else(|| {
            kerr(
                o.clone(),
                "status.addresses",
                "no InternalIP address (the node's eth0 address)".into(),
            )
        })?;
        if !net.node_network.contains(&ip) {
            return Err(kerr(
                o,
                "status.addresses[InternalIP]",
                format!("{ip} is outside the node network {}", net.node_network),
            ));
        }
        let Some(c) = &n.spec.pod_cidr else {
            return Err(kerr(
                o,
                "spec.podCIDR",
                "missing: flannel needs the node's pod subnet".into(),
            ));
        };
        let pod_cidr: Ipv4Net = c
            .parse()
            .map_err(|_| kerr(o.clone(), "spec.podCIDR", format!("'{c}' is not a CIDR")))?;
        if !net.cluster_cidr.contains(&pod_cidr) {
            return Err(kerr(
                o,
                "spec.podCIDR",
                format!(
                    "{pod_cidr} is outside the cluster CIDR {}",
                    net.cluster_cidr
                ),
            ));
        }
        out.push(NodeNet {
            name: n.metadata.name.clone(),
            ip,
            pod_cidr: pod_cidr.trunc(),
        });
    }
    if out.is_empty() {
        return Err(kerr(
            "cluster".into(),
            "manifests",
            "no Node objects: a cluster needs at least one Node".into(),
        ));
    }
    Ok(out)
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// The scenario hosts, links and segments of the cluster, as YAML (keys
/// `hosts`, `links`, `segments`).
pub fn expand(cluster: &Cluster, net: &NetConfig) -> Result<String, K8sError> {
    let cni = Cni::of(net)?;
    let nodes = nodes(cluster, net)?;
    let pod_names = pod_host_names(cluster);
    // kubelet's --cluster-dns: the kube-dns Service's ClusterIP.
    let cluster_dns = cluster
        .service("kube-system", "kube-dns")
        .and_then(|s| s.spec.cluster_ip.clone())
        .filter(|c| c.parse::<Ipv4Addr>().is_ok());
    let mut y = String::from("hosts:\n");
    let mut links = String::new();
    for n in &nodes {
        node_host(&mut y, cluster, net, &cni, &nodes, n);
    }
    // Pods
    for p in &cluster.pods {
        if p.spec.host_network {
            continue;
        }
        let Some(ip) = &p.status.pod_ip else { continue };
        let n = pod_node(p, &nodes)?;
        let host = &pod_names[&(p.metadata.ns().to_string(), p.metadata.name.clone())];
        pod_host(
            &mut y,
            cluster,
            net,
            &cni,
            p,
            ip,
            n,
            host,
            cluster_dns.as_deref(),
        );
        let hostside = if cni.calico {
            cali_name(p.metadata.ns(), &p.metadata.name)
        } else {
            veth_name(p.metadata.ns(), &p.metadata.name)
        };
        let _ = writeln!(
            links,
            "  - {{a: {host}/eth0, b: {}/{hostside}, latency: 5us}}",
            n.name
        );
    }
    if !links.is_empty() {
        y.push_str("links:\n");
        y.push_str(&links);
    }
    y.push_str("segments:\n");
    let mut members: Vec<String> = nodes.iter().map(|n| format!("{}/eth0", n.name)).collect();
    members.extend(net.attach.iter().cloned());
    let _ = writeln!(
        y,
        "  - {{name: cluster-net, members: [{}], latency: 100us}}",
        members.join(", ")
    );
    Ok(y)
}

/// The CNI plugin's layout: overlay or not, bridge or routed veths, MTU.
struct Cni {
    /// flannel's vxlan backend (flannel.1)
    vxlan: bool,
    /// calico (either mode): cali* veths, BIRD's routes
    calico: bool,
    /// kind's kindnet (ptp veths)
    kindnet: bool,
    /// routed CNIs: no bridge, one veth per pod with a /32 route
    routed: bool,
    /// calico's IPIP mode: tunl0, the other nodes' blocks through it
    ipip: bool,
    /// the pods' (and cni0's) MTU
    mtu: u32,
}

impl Cni {
    /// The layout of `net.cni`, or an error naming the known plugins.
    fn of(net: &NetConfig) -> Result<Self, K8sError> {
        let (vxlan, calico, kindnet) = match net.cni.as_str() {
            "flannel-vxlan" => (true, false, false),
            "flannel-host-gw" => (false, false, false),
            "calico-bgp" | "calico-ipip" => (false, true, false),
            "kindnet" => (false, false, true),
            other => {
                return Err(kerr(
                    "cluster".into(),
                    "cni",
                    format!(
                        "unknown CNI '{other}': expected flannel-vxlan, flannel-host-gw, calico-bgp, calico-ipip or kindnet"
                    ),
                ))
            }
        };
        let routed = calico || kindnet;
        let ipip = net.cni == "calico-ipip";
        let mtu = if vxlan {
            1450
        } else if ipip {
            1480
        } else {
            1500
        };
        Ok(Cni {
            vxlan,
            calico,
            kindnet,
            routed,
            ipip,
            mtu,
        })
    }
}

/// One node's scenario host: devices, routes, neighbours, sysctls,
/// kube-proxy's (and the CNI plugin's) rules, and ingress controllers.
fn node_host(
    y: &mut String,
    cluster: &Cluster,
    net: &NetConfig,
    cni: &Cni,
    nodes: &[NodeNet],
    n: &NodeNet,
) {
    let _ = writeln!(y, "  {}:", n.name);
    let _ = writeln!(y, "    kind: node");
    node_devices(y, cluster, net, cni, nodes, n);
    let others: Vec<&NodeNet> = nodes.iter().filter(|o| o.name != n.name).collect();
    let local_pods: Vec<(&super::objects::Pod, &String)> = cluster
        .pods
        .iter()
        .filter(|p| p.spec.node_name.as_deref() == Some(&n.name) && !p.spec.host_network)
        .filter_map(|p| p.status.pod_ip.as_ref().map(|ip| (p, ip)))
        .collect();
    node_routes(y, net, cni, n, &others, &local_pods);
    if cni.vxlan && !others.is_empty() {
        let _ = writeln!(y, "    neighbors:");
        for o in &others {
            let _ = writeln!(
                y,
                "      - {{ip: {}, mac: \"{}\", dev: flannel.1}}",
                o.vtep_ip(),
                o.vtep_mac()
            );
        }
    }
    node_sysctl(y, cni, &local_pods);
    if net.proxy_mode == "ipvs" {
        let _ = write!(y, "{}", ipvs_node(cluster, &n.name, n.ip));
    }
    node_packet_filter(y, cluster, net, cni, n);
    node_ingress_apps(y, cluster, n);
}

/// The node's devices: eth0, the bridge (cni0) or nothing for routed CNIs,
/// kube-ipvs0, the overlay device (flannel.1, tunl0), and the host end of
/// each local pod's veth.
fn node_devices(
    y: &mut String,
    cluster: &Cluster,
    net: &NetConfig,
    cni: &Cni,
    nodes: &[NodeNet],
    n: &NodeNet,
) {
    let mtu = cni.mtu;
    let _ = writeln!(y, "    devices:");
    let _ = writeln!(
        y,
        "      eth0: {{addrs: [{}/{}]}}",
        n.ip,
        net.node_network.prefix_len()
    );
    if !cni.routed {
        let _ = writeln!(
            y,
            "      cni0: {{type: bridge, mtu: {mtu}, addrs: [{}/{}]}}",
            n.gw(),
            n.pod_cidr.prefix_len()
        );
    }
    if net.proxy_mode == "ipvs" {
        ipvs_dummy_device(y, cluster, n);
    }
    if cni.vxlan {
        let fdb: Vec<String> = nodes
            .iter()
            .filter(|o| o.name != n.name)
            .map(|o| format!("{{mac: \"{}\", dst: {}}}", o.vtep_mac(), o.ip))
            .collect();
        let _ = writeln!(
            y,
            "      flannel.1: {{type: vxlan, vni: 1, port: 8472, local: {}, learning: false, dev: eth0, mtu: 1450, addrs: [{}/32], mac: \"{}\", fdb: [{}]}}",
            n.ip,
            n.vtep_ip(),
            n.vtep_mac(),
            fdb.join(", ")
        );
    }
    if cni.ipip {
        // calico-node gives tunl0 an address of the node's block
        let _ = writeln!(
            y,
            "      tunl0: {{type: ipip, mtu: 1480, addrs: [{}/32]}}",
            n.pod_cidr.network()
        );
    }
    pod_host_side_devices(y, cluster, cni, n);
}

/// kube-ipvs0: the dummy device kube-proxy (ipvs mode) binds every service
/// address to.
fn ipvs_dummy_device(y: &mut String, cluster: &Cluster, n: &NodeNet) {
    let mut vips: Vec<String> = Vec::new();
    for sp in kubeproxy::service_ports(cluster, &n.name) {
        for a in std::iter::once(sp.cluster_ip.to_string())
            .chain(sp.external_ips.iter().cloned())
            .chain(sp.lb_ips.iter().cloned())
        {
            let a = format!("{a}/32");
            if !vips.contains(&a) {
                vips.push(a);
            }
        }
    }
    let _ = writeln!(
        y,
        "      kube-ipvs0: {{type: dummy, addrs: [{}]}}",
        vips.join(", ")
    );
}

/// The host end of each local pod's veth, as the CNI plugin sets it up
/// (kindnet's ptp, calico's cali*, or a cni0 bridge port).
fn pod_host_side_devices(y: &mut String, cluster: &Cluster, cni: &Cni, n: &NodeNet) {
    let mtu = cni.mtu;
    for p in &cluster.pods {
        if p.spec.node_name.as_deref() == Some(&n.name)
            && !p.spec.host_network
            && p.status.pod_ip.is_some()
        {
            if cni.kindnet {
                // kindnet's ptp plugin: the host side holds the pod
                // gateway, the subnet's first address, as a /32
                let _ = writeln!(
                    y,
                    "      {}: {{mtu: {mtu}, addrs: [{}/32]}}",
                    veth_name(p.metadata.ns(), &p.metadata.name),
                    n.gw()
                );
            } else if cni.calico {
                // calico's CNI plugin: host side unaddressed, MAC
                // ee:ee:ee:ee:ee:ee, proxy ARP answers for the pods'
                // gateway 169.254.1.1
                let _ = writeln!(
                    y,
                    "      {}: {{mac: \"ee:ee:ee:ee:ee:ee\", mtu: {mtu}}}",
                    cali_name(p.metadata.ns(), &p.metadata.name)
                );
            } else {
                let _ = writeln!(
                    y,
                    "      {}: {{master: cni0, hairpin: true, mtu: {mtu}}}",
                    veth_name(p.metadata.ns(), &p.metadata.name)
                );
            }
        }
    }
}

/// The node's routes: the default gateway, calico's blackhole for the
/// node's block, a /32 per local pod for routed CNIs, and the other nodes'
/// pod subnets (over flannel.1, tunl0 or eth0).
fn node_routes(
    y: &mut String,
    net: &NetConfig,
    cni: &Cni,
    n: &NodeNet,
    others: &[&NodeNet],
    local_pods: &[(&super::objects::Pod, &String)],
) {
    let _ = writeln!(y, "    routes:");
    let _ = writeln!(
        y,
        "      - {{dst: default, via: {}, dev: eth0}}",
        net.node_gateway
    );
    if cni.calico {
        // BIRD's routes: a blackhole for the node's own block, one
        // /32 per local workload on its cali device, the other nodes'
        // blocks via their addresses.
        let _ = writeln!(y, "      - {{dst: {}, type: blackhole}}", n.pod_cidr);
    }
    if cni.routed {
        for (p, ip) in local_pods {
            let dev = if cni.kindnet {
                veth_name(p.metadata.ns(), &p.metadata.name)
            } else {
                cali_name(p.metadata.ns(), &p.metadata.name)
            };
            let _ = writeln!(y, "      - {{dst: {ip}/32, dev: {dev}}}");
        }
    }
    for o in others {
        if cni.vxlan {
            let _ = writeln!(
                y,
                "      - {{dst: {}, via: {}, dev: flannel.1, onlink: true}}",
                o.pod_cidr,
                o.vtep_ip()
            );
        } else if cni.ipip {
            let _ = writeln!(
                y,
                "      - {{dst: {}, via: {}, dev: tunl0, onlink: true}}",
                o.pod_cidr, o.ip
            );
        } else {
            let _ = writeln!(
                y,
                "      - {{dst: {}, via: {}, dev: eth0}}",
                o.pod_cidr, o.ip
            );
        }
    }
}

/// The node's sysctls: forwarding and route_localnet, plus proxy_arp on
/// calico's veths or bridge-nf-call-iptables for bridged CNIs.
fn node_sysctl(y: &mut String, cni: &Cni, local_pods: &[(&super::objects::Pod, &String)]) {
    if cni.calico {
        let mut sc = String::from("net.ipv4.ip_forward: 1, net.ipv4.conf.all.route_localnet: 1");
        for (p, _) in local_pods {
            let _ = write!(
                sc,
                ", net.ipv4.conf.{}.proxy_arp: 1",
                cali_name(p.metadata.ns(), &p.metadata.name)
            );
        }
        let _ = writeln!(y, "    sysctl: {{{sc}}}");
    } else if cni.kindnet {
        let _ = writeln!(
            y,
            "    sysctl: {{net.ipv4.ip_forward: 1, net.ipv4.conf.all.route_localnet: 1}}"
        );
    } else {
        let _ = writeln!(
            y,
            "    sysctl: {{net.ipv4.ip_forward: 1, net.bridge.bridge-nf-call-iptables: 1, net.ipv4.conf.all.route_localnet: 1}}"
        );
    }
}

/// The node's `iptables` (kube-proxy's mode plus the CNI plugin's rules)
/// and, in nftables mode, its `nftables` key.
fn node_packet_filter(y: &mut String, cluster: &Cluster, net: &NetConfig, cni: &Cni, n: &NodeNet) {
    let cc = net.cluster_cidr.to_string();
    let cfg = proxier_config(net, &n.name, n.ip);
    let extra = if cni.calico {
        ExtraRules::default()
    } else if cni.kindnet {
        kindnet_rules(&cc)
    } else {
        flannel_rules(&cc, &n.pod_cidr.to_string())
    };
    let ipt = match net.proxy_mode.as_str() {
        "ipvs" => kubeproxy::node_iptables_save_ipvs(&cfg, &extra),
        "nftables" => kubeproxy::node_iptables_save_others(&extra),
        _ => kubeproxy::node_iptables_save(cluster, &cfg, &extra),
    };
    let _ = writeln!(y, "    iptables: |");
    y.push_str(&indent(&ipt, 6));
    if net.proxy_mode == "nftables" {
        let _ = writeln!(y, "    nftables: |");
        y.push_str(&indent(&super::kubeproxy_nft::nft_rules(cluster, &cfg), 6));
    }
}

/// The ingress-nginx controllers running on the node, as `apps`.
fn node_ingress_apps(y: &mut String, cluster: &Cluster, n: &NodeNet) {
    let ctl = super::ingress::controllers_on(cluster, &n.name);
    if !ctl.is_empty() {
        let conf = super::ingress::nginx_config(cluster, &n.name);
        let _ = writeln!(y, "    apps:");
        for (pod, port) in ctl {
            let _ = writeln!(y, "      - kind: ingress-nginx");
            let _ = writeln!(y, "        name: {pod}");
            let _ = writeln!(y, "        listen: \":{port}\"");
            let _ = writeln!(y, "        config: |");
            y.push_str(&indent(&conf, 10));
        }
    }
}

/// The node a (scheduled) pod runs on, or the error naming its nodeName.
fn pod_node<'a>(p: &super::objects::Pod, nodes: &'a [NodeNet]) -> Result<&'a NodeNet, K8sError> {
    let o = format!("Pod {}/{}", p.metadata.ns(), p.metadata.name);
    let Some(node) = p.spec.node_name.as_deref() else {
        return Err(kerr(
            o,
            "spec.nodeName",
            "missing: the pod is not scheduled".into(),
        ));
    };
    let Some(n) = nodes.iter().find(|x| x.name == node) else {
        return Err(kerr(
            o,
            "spec.nodeName",
            format!("Node '{node}' does not exist"),
        ));
    };
    Ok(n)
}

/// One pod's scenario host: eth0, kubelet's resolv.conf, the routes the
/// CNI plugin gives it, its servers and (Istio) its sidecar.
#[allow(clippy::too_many_arguments)]
fn pod_host(
    y: &mut String,
    cluster: &Cluster,
    net: &NetConfig,
    cni: &Cni,
    p: &super::objects::Pod,
    ip: &str,
    n: &NodeNet,
    host: &str,
    cluster_dns: Option<&str>,
) {
    let mtu = cni.mtu;
    let _ = writeln!(y, "  {host}:");
    let _ = writeln!(y, "    kind: pod");
    let _ = writeln!(y, "    namespace: {}", p.metadata.ns());
    let _ = writeln!(y, "    devices:");
    let plen = if cni.routed {
        32
    } else {
        n.pod_cidr.prefix_len()
    };
    let _ = writeln!(y, "      eth0: {{mtu: {mtu}, addrs: [{ip}/{plen}]}}");
    if let Some(dns) = cluster_dns {
        // kubelet's ClusterFirst policy
        let ns = p.metadata.ns();
        let d = &net.domain;
        let _ = writeln!(
            y,
            "    resolvConf: {{nameserver: {dns}, search: [{ns}.svc.{d}, svc.{d}, {d}], ndots: 5}}"
        );
    }
    pod_routes(y, net, cni, n);
    let mut apps = pod_servers(cluster, net, p);
    if istio_injected(p) {
        // istio-init's rules and the Envoy sidecar with what istiod
        // would push to it
        let _ = writeln!(y, "    iptables: |");
        y.push_str(&indent(crate::app::envoy::ISTIO_INIT_RULES, 6));
        let _ = writeln!(apps, "      - kind: envoy");
        let _ = writeln!(apps, "        config: |");
        let conf = envoy_config(cluster, net, p, &n.name);
        apps.push_str(&indent(&conf, 10));
    }
    if !apps.is_empty() {
        let _ = writeln!(y, "    apps:");
        y.push_str(&apps);
    }
}

/// The pod's routes: calico's 169.254.1.1 gateway, kindnet's ptp gateway,
/// or the bridge's address (cni0) for the cluster network and default.
fn pod_routes(y: &mut String, net: &NetConfig, cni: &Cni, n: &NodeNet) {
    let cc = net.cluster_cidr.to_string();
    let _ = writeln!(y, "    routes:");
    if cni.calico {
        let _ = writeln!(y, "      - {{dst: 169.254.1.1, dev: eth0}}");
        let _ = writeln!(y, "      - {{dst: default, via: 169.254.1.1, dev: eth0}}");
    } else if cni.kindnet {
        // ptp: the gateway on the link, the subnet and the rest via it
        let _ = writeln!(y, "      - {{dst: {}, dev: eth0}}", n.gw());
        let _ = writeln!(
            y,
            "      - {{dst: {}, via: {}, dev: eth0}}",
            n.pod_cidr,
            n.gw()
        );
        let _ = writeln!(y, "      - {{dst: default, via: {}, dev: eth0}}", n.gw());
    } else {
        let _ = writeln!(y, "      - {{dst: {cc}, via: {}, dev: eth0}}", n.gw());
        let _ = writeln!(y, "      - {{dst: default, via: {}, dev: eth0}}", n.gw());
    }
}

/// The pod's servers, one per container port: a DNS server on UDP 53
/// (CoreDNS-like, a record per Service with a ClusterIP), an HTTP server
/// answering JSON that names the pod on each TCP port.
fn pod_servers(cluster: &Cluster, net: &NetConfig, p: &super::objects::Pod) -> String {
    let mut apps = String::new();
    for c in &p.spec.containers {
        for cp in &c.ports {
            match (cp.protocol.as_str(), cp.container_port) {
                ("UDP", 53) => {
                    let _ = writeln!(apps, "      - kind: dns-server");
                    let _ = writeln!(apps, "        name: {}", c.name);
                    let _ = writeln!(apps, "        listen: \":53\"");
                    let _ = writeln!(apps, "        records:");
                    for s in &cluster.services {
                        if let Some(ip) = s
                            .spec
                            .cluster_ip
                            .as_deref()
                            .filter(|c| c.parse::<Ipv4Addr>().is_ok())
                        {
                            let _ = writeln!(
                                apps,
                                "          {}.{}.svc.{}: {ip}",
                                s.metadata.name,
                                s.metadata.ns(),
                                net.domain
                            );
                        }
                    }
                }
                ("TCP", port) => {
                    let _ = writeln!(apps, "      - kind: http-server");
                    let _ = writeln!(apps, "        name: {}", c.name);
                    let _ = writeln!(apps, "        listen: \":{port}\"");
                    let _ = writeln!(apps, "        routes:");
                    let _ = writeln!(
                        apps,
                        "          /: {{body: '{{\"pod\":\"{}\",\"namespace\":\"{}\",\"port\":{port}}}'}}",
                        p.metadata.name,
                        p.metadata.ns()
                    );
                }
                _ => {}
            }
        }
    }
    apps
}

/// A pod gets Istio's sidecar when labelled `sidecar.istio.io/inject: "true"`.
fn istio_injected(p: &super::objects::Pod) -> bool {
    p.metadata
        .labels
        .get("sidecar.istio.io/inject")
        .map(|v| v.as_str())
        == Some("true")
}

fn spiffe(p: &super::objects::Pod, domain: &str) -> String {
    format!(
        "spiffe://{domain}/ns/{}/sa/{}",
        p.metadata.ns(),
        p.spec.service_account_name.as_deref().unwrap_or("default")
    )
}

/// The sidecar's view (istiod's xDS, in app/envoy.rs's line format): its
/// identity, one outbound cluster per Service port with the ready
/// endpoints, and the meshed pods it talks mTLS to.
fn envoy_config(cluster: &Cluster, net: &NetConfig, p: &super::objects::Pod, node: &str) -> String {
    let domain = &net.domain;
    let mut out = String::new();
    let _ = writeln!(out, "identity {}", spiffe(p, domain));
    for sp in kubeproxy::service_ports(cluster, node) {
        if sp.protocol != "tcp" {
            continue;
        }
        let (ns, name) = sp
            .name
            .split(':')
            .next()
            .and_then(|n| n.split_once('/'))
            .unwrap_or(("default", sp.name.as_str()));
        let eps: Vec<String> = sp
            .endpoints
            .iter()
            .filter(|e| e.ready)
            .map(|e| e.endpoint.clone())
            .collect();
        let _ = writeln!(
            out,
            "cluster {}:{} outbound|{}||{name}.{ns}.svc.{domain} {}",
            sp.cluster_ip,
            sp.port,
            sp.port,
            eps.join(" ")
        );
    }
    for q in &cluster.pods {
        if istio_injected(q) && !q.spec.host_network {
            if let Some(ip) = &q.status.pod_ip {
                let _ = writeln!(out, "peer {ip} {}", spiffe(q, domain));
            }
        }
    }
    out
}
