//! From Kubernetes objects to machines: the nodes, pods, veths, bridges,
//! overlay devices, routes, neighbours and iptables rules that kubelet, the
//! CNI plugin, flannel and kube-proxy would program, built as podpath
//! scenario hosts ([`expand`]'s `ExpansionDoc`; `podpath expand` prints
//! them). The rulesets and configuration files stay the text the real
//! components write.
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
//!   block is the node's podCIDR (calico carves /26 blocks); natOutgoing
//!   rules are not generated. felix's policy chains and IP sets for the
//!   cluster's NetworkPolicies come from [`super::calico`].
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
//! port 53 answering `<svc>.<ns>.svc.<domain>` with the Service's ClusterIP,
//! and a UDP echo server on each other UDP container port;
//! when a `kube-system/kube-dns` Service exists, every pod's resolv.conf is
//! kubelet's ClusterFirst one (that nameserver, search `<ns>.svc.<domain>
//! svc.<domain> <domain>`, `ndots:5`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;
use serde_saphyr::{Location, Spanned};

use super::kubeproxy::{self, ExtraRules, ProxierConfig};
use super::objects::{Cluster, K8sError};
use crate::scenario::schema::{
    AppDoc, DeviceDoc, ExpansionDoc, FdbDoc, HostDoc, IpvsDoc, LinkDoc, NeighDoc, ResolvDoc,
    ResponseDoc, RouteDoc, Scalar, SegmentDoc, Text, JSON_CONTENT_TYPE,
};
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
    /// A dual-stack cluster's IPv6 side (`clusterCIDR: v4,v6` as
    /// kubeadm's `--cluster-cidr` takes it), or an IPv6-only cluster's
    /// whole network; None: IPv4 only.
    pub v6: Option<NetConfig6>,
    /// False for an IPv6-only cluster (`clusterCIDR: fd00:10:244::/56`):
    /// then the IPv4 fields above are unused (the nodes, pods and
    /// Services have no IPv4 address, kube-proxy runs its IPv6 proxier
    /// alone, flannel its IPv6 network alone).
    pub ipv4: bool,
}

/// The IPv6 half of a dual-stack cluster's settings.
#[derive(Clone, Debug)]
pub struct NetConfig6 {
    /// The IPv6 pod network (flannel's `IPv6Network`).
    pub cluster_cidr: ipnet::Ipv6Net,
    /// The nodes' IPv6 network (kind's docker network fc00:f853:ccd:e793::/64).
    pub node_network: ipnet::Ipv6Net,
    /// The IPv6 service range (kind's fd00:10:96::/112 by default).
    pub service_cidr: ipnet::Ipv6Net,
    /// The nodes' IPv6 default gateway (the network's first address).
    pub node_gateway: std::net::Ipv6Addr,
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

use super::calico::cali_name;

struct NodeNet {
    name: String,
    ip: Ipv4Addr,
    pod_cidr: Ipv4Net,
    /// A dual-stack node's IPv6 InternalIP and pod subnet.
    v6: Option<NodeNet6>,
}

/// The IPv6 side of a dual-stack node.
struct NodeNet6 {
    ip: std::net::Ipv6Addr,
    pod_cidr: ipnet::Ipv6Net,
}

impl NodeNet6 {
    /// flannel-v6.1's address: the IPv6 subnet's network address, as a
    /// /128 (vxlan.go: `v6Dev.Configure(ip.IP6Net{IP: lease.IPv6Subnet.IP,
    /// PrefixLen: 128})`).
    fn vtep_ip(&self) -> std::net::Ipv6Addr {
        self.pod_cidr.network()
    }
    /// cni0's IPv6 address: the first host of the subnet.
    fn gw(&self) -> std::net::Ipv6Addr {
        std::net::Ipv6Addr::from(u128::from(self.pod_cidr.network()) + 1)
    }
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
    fn vtep_mac6(&self) -> Mac {
        Mac::derived(&format!("{}/flannel-v6.1", self.name))
    }
}

/// The flannel rules of a node (`masqRules` and `forwardRules`).
fn flannel_rules(cluster_cidr: &str, pod_cidr: &str) -> ExtraRules {
    flannel_rules_of(cluster_cidr, pod_cidr, "224.0.0.0/4")
}

/// flannel's IPv6 rules on a dual-stack node (pkg/trafficmngr/iptables
/// `MasqIP6Rules`, `forwardRules` for the IPv6 network): the IPv4 layout
/// with the IPv6 cluster CIDR and subnet, multicast being ff00::/8.
fn flannel_rules6(cluster_cidr: &str, pod_cidr: &str) -> ExtraRules {
    flannel_rules_of(cluster_cidr, pod_cidr, "ff00::/8")
}

fn flannel_rules_of(cluster_cidr: &str, pod_cidr: &str, multicast: &str) -> ExtraRules {
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
        format!("-s {cluster_cidr} ! -d {multicast} {c} -j MASQUERADE --random-fully"),
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
    ipvs_state_of(cluster, node, node_ip.into(), false)
}

/// [`ipvs_state`] for the proxier of a family: the IPv6 one's virtual
/// services are its Services' IPv6 addresses and node port on the node's
/// IPv6 address (`[ADDR]:PORT` as ipvsadm prints them), its real servers
/// the IPv6 endpoints, its sets `KUBE-6-*` of family inet6
/// ([`kubeproxy::ipvs_set_name`]; entries `ADDR,tcp:PORT` without
/// brackets, as ipset prints them).
pub fn ipvs_state_of(cluster: &Cluster, node: &str, node_ip: IpAddr, v6: bool) -> IpvsNode {
    // ipvsadm's `[ADDR6]` for a virtual address
    let vaddr = |a: &str| {
        if a.contains(':') {
            format!("[{a}]")
        } else {
            a.to_string()
        }
    };
    let set = |n: &str| kubeproxy::ipvs_set_name(n, v6);
    let family = if v6 { "inet6" } else { "inet" };
    let mut services = Vec::new();
    let mut cluster_ip_set = Vec::new();
    let mut loopback = Vec::new();
    let mut nodeports = Vec::new();
    for sp in kubeproxy::service_ports_of(cluster, node, v6) {
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
            vaddr(&sp.cluster_ip.to_string()),
            sp.port,
            reals(internal),
        ));
        for a in sp.external_ips.iter().chain(sp.lb_ips.iter()) {
            services.push((proto.clone(), vaddr(a), sp.port, reals(external)));
        }
        if sp.node_port != 0 {
            services.push((
                proto.clone(),
                vaddr(&node_ip.to_string()),
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
    let mut text = String::new();
    let (cip, lb) = (set("KUBE-CLUSTER-IP"), set("KUBE-LOOP-BACK"));
    let (tcp, udp) = (set("KUBE-NODE-PORT-TCP"), set("KUBE-NODE-PORT-UDP"));
    let _ = writeln!(
        text,
        "create {cip} hash:ip,port family {family} hashsize 1024 maxelem 65536"
    );
    for e in &cluster_ip_set {
        let _ = writeln!(text, "add {cip} {e}");
    }
    let _ = writeln!(
        text,
        "create {lb} hash:ip,port,ip family {family} hashsize 1024 maxelem 65536"
    );
    for e in &loopback {
        let _ = writeln!(text, "add {lb} {e}");
    }
    // bitmap:port sets have a range, no family
    let _ = writeln!(text, "create {tcp} bitmap:port range 0-65535");
    let _ = writeln!(text, "create {udp} bitmap:port range 0-65535");
    for (p, n) in &nodeports {
        let name = if p == "udp" { &udp } else { &tcp };
        let _ = writeln!(text, "add {name} {n}");
    }
    IpvsNode {
        services,
        ipsets: text,
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

/// The node's `ipvs` scenario key: kube-proxy's virtual services.
fn ipvs_docs(st: &IpvsNode) -> Vec<IpvsDoc> {
    st.services
        .iter()
        .map(|(proto, vip, port, reals)| IpvsDoc {
            service: sp(format!("{proto} {vip}:{port}")),
            scheduler: Some(sp("rr".to_string())),
            reals: reals.iter().map(|r| sp(r.clone())).collect(),
        })
        .collect()
}

/// kube-proxy's configuration on a node of this cluster.
pub fn proxier_config(net: &NetConfig, node: &str, ip: Ipv4Addr) -> ProxierConfig {
    let mut cfg = ProxierConfig::new(node);
    cfg.node_ips = vec![ip.into()];
    cfg.cluster_cidr = Some(net.cluster_cidr.into());
    cfg.service_cidrs = vec![net.service_cidr.into()];
    cfg
}

fn nodes(cluster: &Cluster, net: &NetConfig) -> Result<Vec<NodeNet>, K8sError> {
    let mut out = Vec::new();
    for n in &cluster.nodes {
        let o = format!("Node {}", n.metadata.name);
        if !net.ipv4 {
            // IPv6-only: the node's IPv6 InternalIP and podCIDR alone; its
            // IPv4 fields are never written out
            let Some(n6) = &net.v6 else { continue };
            let c = n.spec.pod_cidr.clone().unwrap_or_default();
            out.push(NodeNet {
                name: n.metadata.name.clone(),
                ip: Ipv4Addr::UNSPECIFIED,
                pod_cidr: Ipv4Net::default(),
                v6: Some(node_net6(n, n6, &o, &c)?),
            });
            continue;
        }
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
        let v6 = match &net.v6 {
            Some(n6) => Some(node_net6(n, n6, &o, c)?),
            None => None,
        };
        out.push(NodeNet {
            name: n.metadata.name.clone(),
            ip,
            pod_cidr: pod_cidr.trunc(),
            v6,
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

/// A dual-stack node's IPv6 InternalIP (in the IPv6 node network) and
/// IPv6 pod subnet (`spec.podCIDRs`, the first being `podCIDR`, inside the
/// IPv6 cluster CIDR).
fn node_net6(
    n: &super::objects::Node,
    n6: &NetConfig6,
    o: &str,
    pod_cidr: &str,
) -> Result<NodeNet6, K8sError> {
    let ip = n.internal_ip6().ok_or_else(|| {
        kerr(
            o.into(),
            "status.addresses",
            "no IPv6 InternalIP: a node of a dual-stack cluster has one per family (kubelet --node-ip=v4,v6)".into(),
        )
    })?;
    if !n6.node_network.contains(&ip) {
        return Err(kerr(
            o.into(),
            "status.addresses[InternalIP]",
            format!("{ip} is outside the IPv6 node network {}", n6.node_network),
        ));
    }
    if let Some(first) = n.spec.pod_cidrs.first() {
        if first != pod_cidr {
            return Err(kerr(
                o.into(),
                "spec.podCIDRs[0]",
                format!("'{first}' must be the same as podCIDR '{pod_cidr}'"),
            ));
        }
    }
    let c = n.pod_cidr6().ok_or_else(|| {
        kerr(
            o.into(),
            "spec.podCIDRs",
            "no IPv6 subnet: a node of a dual-stack cluster has one podCIDR per family".into(),
        )
    })?;
    if !n6.cluster_cidr.contains(&c) {
        return Err(kerr(
            o.into(),
            "spec.podCIDRs",
            format!("{c} is outside the IPv6 cluster CIDR {}", n6.cluster_cidr),
        ));
    }
    Ok(NodeNet6 {
        ip,
        pod_cidr: c.trunc(),
    })
}

/// A value the cluster makes: it has no place in the scenario's file.
fn sp<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Location::UNKNOWN, Location::UNKNOWN)
}

/// A number or flag as a scalar the scenario reads as text (MTUs,
/// sysctl values).
fn scalar(v: impl std::fmt::Display) -> Spanned<Scalar> {
    sp(Scalar(v.to_string()))
}

/// A file's text as the scenario carries it (iptables-save, ipset, nft,
/// application configs): every line ends in a newline and no empty lines
/// trail, as in a YAML `|` block.
fn file_text(text: &str) -> Spanned<String> {
    let clean = text.ends_with('\n') && !text.ends_with("\n\n") && !text.contains('\r');
    if clean || text.is_empty() {
        return sp(text.to_string());
    }
    let mut out: String = text.lines().map(|l| format!("{l}\n")).collect();
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out == "\n" {
        out.clear();
    }
    sp(out)
}

/// A dump's text (iptables-save, nft) as [`file_text`] makes it, shared.
fn dump_text(text: &str) -> Spanned<Text> {
    let t = file_text(text);
    Spanned::new(Text::from(t.value), t.referenced, t.defined)
}

/// A host of `kind` with nothing on it yet.
fn empty_host(kind: &str) -> HostDoc {
    HostDoc {
        kind: sp(kind.to_string()),
        namespace: None,
        devices: BTreeMap::new(),
        routes: Vec::new(),
        rules: Vec::new(),
        neighbors: Vec::new(),
        sysctl: BTreeMap::new(),
        iptables: None,
        ip6tables: None,
        apps: Vec::new(),
        resolv_conf: None,
        ipset: None,
        nftables: None,
        iptables_extra: Vec::new(),
        ipvs: Vec::new(),
        rule_notes: None,
    }
}

/// A device with these addresses and nothing else set (up, no hairpin).
fn device(addrs: Vec<String>) -> DeviceDoc {
    DeviceDoc {
        dev_type: None,
        addrs: addrs.into_iter().map(sp).collect(),
        mac: None,
        mtu: None,
        master: None,
        hairpin: false,
        up: true,
        vni: None,
        port: None,
        local: None,
        learning: None,
        dev: None,
        fdb: Vec::new(),
        wireguard: None,
    }
}

/// A unicast route `dst [via VIA] dev DEV` in the main table.
fn route(dst: impl ToString, via: Option<String>, dev: &str) -> RouteDoc {
    RouteDoc {
        dst: sp(dst.to_string()),
        via: via.map(sp),
        dev: Some(sp(dev.to_string())),
        src: None,
        table: None,
        route_type: None,
        metric: 0,
        onlink: false,
    }
}

/// An app of `kind` named `name` listening on `listen`, nothing else set.
fn app(kind: &str, name: Option<String>, listen: Option<String>) -> AppDoc {
    AppDoc {
        kind: sp(kind.to_string()),
        name,
        listen: listen.map(sp),
        config: None,
        routes: BTreeMap::new(),
        records: BTreeMap::new(),
        to: None,
        transparent: false,
    }
}

/// The scenario hosts, links and segments the cluster makes: a host per
/// Node and per scheduled Pod with an IP (not `hostNetwork`), a link per
/// pod veth, and the nodes' network as the segment `cluster-net`. The
/// rulesets kube-proxy and the CNI plugin write (iptables-save, ipset, nft)
/// and the apps' configuration files are text in it, as those components
/// produce them.
pub fn expand(cluster: &Cluster, net: &NetConfig) -> Result<ExpansionDoc, K8sError> {
    let cni = Cni::of(net)?;
    if net.v6.is_some() {
        let why = if cni.ipip {
            Some(
                "calico's IPIP mode has no IPv6 (IPv6 in IPv4 is not IPIP); use calico-bgp"
                    .to_string(),
            )
        } else {
            None
        };
        if let Some(why) = why {
            return Err(kerr("cluster".into(), "clusterCIDR", why));
        }
    }
    let nodes = nodes(cluster, net)?;
    let pod_names = pod_host_names(cluster);
    // kubelet's --cluster-dns: the kube-dns Service's ClusterIP.
    let cluster_dns = cluster
        .service("kube-system", "kube-dns")
        .and_then(|s| s.spec.cluster_ip.clone())
        .filter(|c| c.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6() != net.ipv4));
    let mut hosts = BTreeMap::new();
    let mut memo = ProxyMemo::new(cluster);
    for n in &nodes {
        hosts.insert(
            n.name.clone(),
            node_host(cluster, (net, &cni), &nodes, n, &mut memo),
        );
    }
    // Pods
    let mut pods = Vec::new();
    let mut links = Vec::new();
    for p in &cluster.pods {
        if p.spec.host_network {
            continue;
        }
        let Some(ip) = &p.status.pod_ip else { continue };
        let n = pod_node(p, &nodes)?;
        let host = &pod_names[&(p.metadata.ns().to_string(), p.metadata.name.clone())];
        let h = pod_host(cluster, net, &cni, p, ip, n, cluster_dns.as_deref());
        pods.push((p, host.clone(), h));
        let hostside = if cni.calico {
            cali_name(p.metadata.ns(), &p.metadata.name)
        } else {
            veth_name(p.metadata.ns(), &p.metadata.name)
        };
        links.push(LinkDoc {
            a: sp(format!("{host}/eth0")),
            b: sp(format!("{}/{hostside}", n.name)),
            latency: Some(sp("5us".to_string())),
        });
    }
    for (p, host, h) in pods {
        // one host per name: a Pod cannot share its host's name with a
        // Node (or with another Pod's `ns.name`)
        if hosts.contains_key(&host) {
            let by = if nodes.iter().any(|n| n.name == host) {
                format!("Node {host}")
            } else {
                "another Pod".to_string()
            };
            return Err(kerr(
                format!("Pod {}/{}", p.metadata.ns(), p.metadata.name),
                "metadata.name",
                format!("its host name '{host}' is taken by {by} (each host name may appear once)"),
            ));
        }
        hosts.insert(host, h);
    }
    let mut members: Vec<Spanned<String>> = nodes
        .iter()
        .map(|n| sp(format!("{}/eth0", n.name)))
        .collect();
    members.extend(net.attach.iter().cloned().map(sp));
    let segments = vec![SegmentDoc {
        name: sp("cluster-net".to_string()),
        members,
        latency: Some(sp("100us".to_string())),
    }];
    Ok(ExpansionDoc {
        hosts,
        links,
        segments,
    })
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
    cluster: &Cluster,
    (net, cni): (&NetConfig, &Cni),
    nodes: &[NodeNet],
    n: &NodeNet,
    memo: &mut ProxyMemo,
) -> HostDoc {
    let mut h = empty_host("node");
    h.devices = node_devices(cluster, net, cni, nodes, n);
    let others: Vec<&NodeNet> = nodes.iter().filter(|o| o.name != n.name).collect();
    let local_pods: Vec<(&super::objects::Pod, &String)> = cluster
        .pods
        .iter()
        .filter(|p| p.spec.node_name.as_deref() == Some(&n.name) && !p.spec.host_network)
        .filter_map(|p| p.status.pod_ip.as_ref().map(|ip| (p, ip)))
        .collect();
    h.routes = node_routes(net, cni, n, &others, &local_pods);
    if cni.vxlan {
        if net.ipv4 {
            h.neighbors = others
                .iter()
                .map(|o| NeighDoc {
                    ip: sp(o.vtep_ip().to_string()),
                    mac: sp(o.vtep_mac().to_string()),
                    dev: sp("flannel.1".to_string()),
                })
                .collect();
        }
        for o in &others {
            if let Some(o6) = &o.v6 {
                h.neighbors.push(NeighDoc {
                    ip: sp(o6.vtep_ip().to_string()),
                    mac: sp(o.vtep_mac6().to_string()),
                    dev: sp("flannel-v6.1".to_string()),
                });
            }
        }
    }
    h.sysctl = if net.ipv4 {
        node_sysctl(cni, &local_pods)
    } else {
        BTreeMap::new()
    };
    if n.v6.is_some() {
        h.sysctl
            .insert("net.ipv6.conf.all.forwarding".into(), scalar(1));
        if !cni.routed {
            // kubeadm's preflight asks for it on an IPv6 node with a bridge
            h.sysctl
                .insert("net.bridge.bridge-nf-call-ip6tables".into(), scalar(1));
        }
    }
    if net.proxy_mode == "ipvs" {
        // the IPv4 and IPv6 proxiers (metaproxier): their virtual services
        // in the one IPVS table, their sets side by side
        let mut states = Vec::new();
        if net.ipv4 {
            states.push(ipvs_state(cluster, &n.name, n.ip));
        }
        if let Some(v6) = &n.v6 {
            states.push(ipvs_state_of(cluster, &n.name, v6.ip.into(), true));
        }
        h.ipvs = states.iter().flat_map(ipvs_docs).collect();
        h.ipset = Some(file_text(
            &states.iter().map(|s| s.ipsets.as_str()).collect::<String>(),
        ));
    }
    node_packet_filter(&mut h, cluster, (net, cni), n, memo);
    h.apps = node_ingress_apps(cluster, n);
    h.apps.extend(service_health_servers(cluster, &n.name));
    if cni.kindnet && !cluster.network_policies.is_empty() {
        // kindnetd's policy evaluator on queue 101; its `config` (the API
        // objects its informers hold) is the cluster's manifests, given by
        // the scenario that holds them (`scenario::expand_cluster`)
        h.apps
            .push(app("kube-network-policies", Some("kindnetd".into()), None));
    }
    h
}

/// kube-proxy's service health servers (pkg/proxy/healthcheck/
/// service_health.go): for each Service with a healthCheckNodePort (type
/// LoadBalancer, externalTrafficPolicy Local; the API server allocates the
/// port, and releases it when the policy becomes Cluster), an HTTP server
/// on that port of every node, which cloud load balancers probe. hcHandler
/// answers 200 when the node has local ready endpoints, 503 when it has
/// none, with the body below (the endpoints counted per pod address:
/// LocalReadyEndpoints keys the count by Service, not port).
/// Simplifications: the handler answers every path, here `/` and
/// `/healthz` (what the clouds probe) answer and others get 404; its
/// `X-Load-Balancing-Endpoint-Weight` header is not sent.
fn service_health_servers(cluster: &Cluster, node: &str) -> Vec<AppDoc> {
    let mut by_svc: BTreeMap<String, (u16, std::collections::BTreeSet<IpAddr>)> = BTreeMap::new();
    for sp_ in kubeproxy::service_ports(cluster, node) {
        if sp_.health_check_node_port == 0 {
            continue;
        }
        let svc = sp_.name.split(':').next().unwrap_or(&sp_.name).to_string();
        let e = by_svc
            .entry(svc)
            .or_insert_with(|| (sp_.health_check_node_port, Default::default()));
        e.1.extend(
            sp_.endpoints
                .iter()
                .filter(|ep| ep.is_local && ep.ready)
                .map(|ep| ep.ip),
        );
    }
    let mut apps = Vec::new();
    for (svc, (port, local)) in by_svc {
        let (ns, name) = svc.split_once('/').unwrap_or(("default", &svc));
        let n = local.len();
        let body = format!(
            "{{\n\t\"service\": {{\n\t\t\"namespace\": \"{ns}\",\n\t\t\"name\": \"{name}\"\n\t}},\n\t\"localEndpoints\": {n},\n\t\"serviceProxyHealthy\": true\n}}"
        );
        let mut a = app(
            "http-server",
            Some(format!("kube-proxy health {svc}")),
            Some(format!("0.0.0.0:{port}")),
        );
        for path in ["/", "/healthz"] {
            a.routes.insert(
                path.to_string(),
                ResponseDoc {
                    status: if n > 0 { 200 } else { 503 },
                    content_type: JSON_CONTENT_TYPE.to_string(),
                    body: body.clone(),
                },
            );
        }
        apps.push(a);
    }
    apps
}

/// The node's devices: eth0, the bridge (cni0) or nothing for routed CNIs,
/// kube-ipvs0, the overlay device (flannel.1, tunl0), and the host end of
/// each local pod's veth.
fn node_devices(
    cluster: &Cluster,
    net: &NetConfig,
    cni: &Cni,
    nodes: &[NodeNet],
    n: &NodeNet,
) -> BTreeMap<String, DeviceDoc> {
    let mtu = cni.mtu;
    let mut devs = BTreeMap::new();
    let mut eth0 = Vec::new();
    if net.ipv4 {
        eth0.push(format!("{}/{}", n.ip, net.node_network.prefix_len()));
    }
    if let (Some(v6), Some(n6)) = (&n.v6, &net.v6) {
        eth0.push(format!("{}/{}", v6.ip, n6.node_network.prefix_len()));
    }
    devs.insert("eth0".to_string(), device(eth0));
    if !cni.routed {
        let mut addrs = Vec::new();
        if net.ipv4 {
            addrs.push(format!("{}/{}", n.gw(), n.pod_cidr.prefix_len()));
        }
        if let Some(v6) = &n.v6 {
            addrs.push(format!("{}/{}", v6.gw(), v6.pod_cidr.prefix_len()));
        }
        let mut d = device(addrs);
        d.dev_type = Some(sp("bridge".to_string()));
        d.mtu = Some(scalar(mtu));
        devs.insert("cni0".to_string(), d);
    }
    if net.proxy_mode == "ipvs" {
        devs.insert("kube-ipvs0".to_string(), ipvs_dummy_device(cluster, n));
    }
    if cni.vxlan && !net.ipv4 {
        // flannel's IPv6-only network (`EnableIPv4: false`): flannel-v6.1
        // alone
        if let Some(v6) = &n.v6 {
            devs.insert("flannel-v6.1".to_string(), flannel_v6_device(nodes, n, v6));
        }
    } else if cni.vxlan {
        let mut d = device(vec![format!("{}/32", n.vtep_ip())]);
        d.dev_type = Some(sp("vxlan".to_string()));
        d.vni = Some(1);
        d.port = Some(8472);
        d.local = Some(sp(n.ip.to_string()));
        d.learning = Some(false);
        d.dev = Some(sp("eth0".to_string()));
        d.mtu = Some(scalar(1450));
        d.mac = Some(sp(n.vtep_mac().to_string()));
        d.fdb = nodes
            .iter()
            .filter(|o| o.name != n.name)
            .map(|o| FdbDoc {
                mac: sp(o.vtep_mac().to_string()),
                dst: sp(o.ip.to_string()),
            })
            .collect();
        devs.insert("flannel.1".to_string(), d);
        if let Some(v6) = &n.v6 {
            devs.insert("flannel-v6.1".to_string(), flannel_v6_device(nodes, n, v6));
        }
    }
    if cni.ipip {
        // calico-node gives tunl0 an address of the node's block
        let mut d = device(vec![format!("{}/32", n.pod_cidr.network())]);
        d.dev_type = Some(sp("ipip".to_string()));
        d.mtu = Some(scalar(1480));
        devs.insert("tunl0".to_string(), d);
    }
    pod_host_side_devices(&mut devs, cluster, (net, cni), n);
    devs
}

/// flannel-v6.1, the dual-stack vxlan backend's IPv6 device (backend/vxlan/
/// vxlan.go `EnableIPv6`): same VNI and port as flannel.1, the node's IPv6
/// address as the local end (VXLAN over the IPv6 underlay), the subnet's
/// network address as a /128, and one FDB entry per remote node's IPv6
/// address. Its MTU is the kernel's default for an IPv6 underlay (vxlan.c
/// `vxlan_config_apply`: lower MTU - VXLAN6_HEADROOM, 1500 - 70).
fn flannel_v6_device(nodes: &[NodeNet], n: &NodeNet, v6: &NodeNet6) -> DeviceDoc {
    let mut d = device(vec![format!("{}/128", v6.vtep_ip())]);
    d.dev_type = Some(sp("vxlan".to_string()));
    d.vni = Some(1);
    d.port = Some(8472);
    d.local = Some(sp(v6.ip.to_string()));
    d.learning = Some(false);
    d.dev = Some(sp("eth0".to_string()));
    d.mtu = Some(scalar(1430));
    d.mac = Some(sp(n.vtep_mac6().to_string()));
    d.fdb = nodes
        .iter()
        .filter(|o| o.name != n.name)
        .filter_map(|o| {
            o.v6.as_ref().map(|o6| FdbDoc {
                mac: sp(o.vtep_mac6().to_string()),
                dst: sp(o6.ip.to_string()),
            })
        })
        .collect();
    d
}

/// kube-ipvs0: the dummy device kube-proxy (ipvs mode) binds every service
/// address to.
/// On a node with IPv6 the IPv6 proxier binds its addresses too, as /128
/// (kube-ipvs0 is NOARP: no DAD, so they are usable at once).
fn ipvs_dummy_device(cluster: &Cluster, n: &NodeNet) -> DeviceDoc {
    let mut vips: Vec<String> = Vec::new();
    let families: &[bool] = if n.v6.is_some() {
        &[false, true]
    } else {
        &[false]
    };
    for &v6 in families {
        for port in kubeproxy::service_ports_of(cluster, &n.name, v6) {
            for a in std::iter::once(port.cluster_ip.to_string())
                .chain(port.external_ips.iter().cloned())
                .chain(port.lb_ips.iter().cloned())
            {
                let a = format!("{a}/{}", if v6 { 128 } else { 32 });
                if !vips.contains(&a) {
                    vips.push(a);
                }
            }
        }
    }
    let mut d = device(vips);
    d.dev_type = Some(sp("dummy".to_string()));
    d
}

/// The host end of each local pod's veth, as the CNI plugin sets it up
/// (kindnet's ptp, calico's cali*, or a cni0 bridge port).
fn pod_host_side_devices(
    devs: &mut BTreeMap<String, DeviceDoc>,
    cluster: &Cluster,
    (net, cni): (&NetConfig, &Cni),
    n: &NodeNet,
) {
    let mtu = cni.mtu;
    for p in &cluster.pods {
        if p.spec.node_name.as_deref() == Some(&n.name)
            && !p.spec.host_network
            && p.status.pod_ip.is_some()
        {
            let (name, mut d) = if cni.kindnet {
                // kindnet's ptp plugin (plugins/main/ptp setupHostVeth):
                // the host side holds the pod gateway of each family, the
                // subnet's first address, as a /32 and a /128
                let mut addrs = Vec::new();
                if net.ipv4 {
                    addrs.push(format!("{}/32", n.gw()));
                }
                if let (Some(v6), true) = (&n.v6, p.ip6().is_some()) {
                    addrs.push(format!("{}/128", v6.gw()));
                }
                (veth_name(p.metadata.ns(), &p.metadata.name), device(addrs))
            } else if cni.calico {
                // calico's CNI plugin: host side unaddressed, MAC
                // ee:ee:ee:ee:ee:ee, proxy ARP answers for the pods'
                // gateway 169.254.1.1
                let mut d = device(Vec::new());
                d.mac = Some(sp("ee:ee:ee:ee:ee:ee".to_string()));
                (cali_name(p.metadata.ns(), &p.metadata.name), d)
            } else {
                let mut d = device(Vec::new());
                d.master = Some(sp("cni0".to_string()));
                d.hairpin = true;
                (veth_name(p.metadata.ns(), &p.metadata.name), d)
            };
            d.mtu = Some(scalar(mtu));
            devs.insert(name, d);
        }
    }
}

/// The node's routes: the default gateway, calico's blackhole for the
/// node's block, a /32 per local pod for routed CNIs, and the other nodes'
/// pod subnets (over flannel.1, tunl0 or eth0).
fn node_routes(
    net: &NetConfig,
    cni: &Cni,
    n: &NodeNet,
    others: &[&NodeNet],
    local_pods: &[(&super::objects::Pod, &String)],
) -> Vec<RouteDoc> {
    let mut routes = Vec::new();
    if net.ipv4 {
        routes.push(route("default", Some(net.node_gateway.to_string()), "eth0"));
    }
    if cni.calico && net.ipv4 {
        // BIRD's routes: a blackhole for the node's own block, one
        // /32 per local workload on its cali device, the other nodes'
        // blocks via their addresses.
        routes.push(RouteDoc {
            dev: None,
            route_type: Some(sp("blackhole".to_string())),
            ..route(n.pod_cidr, None, "")
        });
    }
    if cni.routed && net.ipv4 {
        for (p, _) in local_pods {
            let Some(ip) = p.ip4() else { continue };
            let dev = if cni.kindnet {
                veth_name(p.metadata.ns(), &p.metadata.name)
            } else {
                cali_name(p.metadata.ns(), &p.metadata.name)
            };
            routes.push(route(format!("{ip}/32"), None, &dev));
        }
    }
    if let Some(n6) = &net.v6 {
        routes.push(route("default", Some(n6.node_gateway.to_string()), "eth0"));
        if let (true, Some(_)) = (cni.kindnet, &n.v6) {
            // ptp's host route to each local pod's IPv6 address
            for (p, _) in local_pods {
                if let Some(ip) = p.ip6() {
                    let dev = veth_name(p.metadata.ns(), &p.metadata.name);
                    routes.push(route(format!("{ip}/128"), None, &dev));
                }
            }
        }
        if let (true, Some(v6)) = (cni.calico, &n.v6) {
            // calico's IPv6: the node's block blackholed, a /128 per
            // local workload on its cali device (the CNI plugin's
            // `ip -6 route add POD/128 dev caliX`), the other nodes'
            // blocks via their IPv6 addresses (BIRD)
            routes.push(RouteDoc {
                dev: None,
                route_type: Some(sp("blackhole".to_string())),
                ..route(v6.pod_cidr, None, "")
            });
            for (p, _) in local_pods {
                if let Some(ip) = p.ip6() {
                    let dev = cali_name(p.metadata.ns(), &p.metadata.name);
                    routes.push(route(format!("{ip}/128"), None, &dev));
                }
            }
        }
        // flannel's IPv6 leases: `ip -6 route replace SUBNET via VTEP dev
        // flannel-v6.1 onlink` (vxlan_network.go handleSubnetEvents), or
        // via the node's IPv6 address for host-gw
        for o in others {
            let Some(o6) = &o.v6 else { continue };
            if cni.vxlan {
                let mut r = route(o6.pod_cidr, Some(o6.vtep_ip().to_string()), "flannel-v6.1");
                r.onlink = true;
                routes.push(r);
            } else {
                routes.push(route(o6.pod_cidr, Some(o6.ip.to_string()), "eth0"));
            }
        }
    }
    for o in others.iter().filter(|_| net.ipv4) {
        if cni.vxlan {
            let mut r = route(o.pod_cidr, Some(o.vtep_ip().to_string()), "flannel.1");
            r.onlink = true;
            routes.push(r);
        } else if cni.ipip {
            let mut r = route(o.pod_cidr, Some(o.ip.to_string()), "tunl0");
            r.onlink = true;
            routes.push(r);
        } else {
            routes.push(route(o.pod_cidr, Some(o.ip.to_string()), "eth0"));
        }
    }
    routes
}

/// The node's sysctls: forwarding and route_localnet, plus proxy_arp on
/// calico's veths or bridge-nf-call-iptables for bridged CNIs.
fn node_sysctl(
    cni: &Cni,
    local_pods: &[(&super::objects::Pod, &String)],
) -> BTreeMap<String, Spanned<Scalar>> {
    let mut sc = BTreeMap::new();
    let mut on = |k: String| {
        sc.insert(k, scalar(1));
    };
    on("net.ipv4.ip_forward".into());
    on("net.ipv4.conf.all.route_localnet".into());
    if cni.calico {
        for (p, _) in local_pods {
            on(format!(
                "net.ipv4.conf.{}.proxy_arp",
                cali_name(p.metadata.ns(), &p.metadata.name)
            ));
        }
    } else if !cni.kindnet {
        on("net.bridge.bridge-nf-call-iptables".into());
    }
    sc
}

/// The nodes' iptables texts, written once per distinct input and shared.
///
/// kube-proxy's rules for 1,000 Services are the same text on every node
/// but for what depends on the node (`pkg/proxy/iptables/proxier.go`
/// `syncProxyRules`): the endpoints `proxy.CategorizeEndpoints` keeps as
/// local for a Service with an `internalTrafficPolicy` or
/// `externalTrafficPolicy` of `Local` (the KUBE-SVL-* chains and the
/// KUBE-EXT-* jumps), and the node's address where a rule names it (a
/// LoadBalancer's `loadBalancerSourceRanges` holding it, in
/// `writeFirewallChain`). Those make a node's [`NodeKey`]; the text is
/// generated once per key and the CNI plugin's rules, and the nodes of one
/// key share it (one `Text`, an `Arc<str>`), which the world's build then
/// parses once (`scenario::host::Parsed`): with no `Local` policy, every
/// node of a calico or kindnet cluster holds the same parsed tables. What
/// differs per node stays per node: flannel's FLANNEL-POSTRTG names the
/// node's podCIDR, so flannel nodes each have their own text (and parsed
/// copy); kube-proxy's nftables mode names the node's addresses in its
/// nodeport rules, so its `nftables` text is per node too.
pub struct ProxyMemo {
    /// Per Service with a `Local` traffic policy: its namespace and name.
    local_services: std::collections::BTreeSet<(String, String)>,
    /// Each Service's `loadBalancerSourceRanges` (where some are given):
    /// whether one holds the node's address changes its firewall chain.
    source_ranges: Vec<Vec<Ipv4Net>>,
    texts: BTreeMap<(NodeKey, ExtraRules, String), Text>,
    /// The nodes' addresses (felix's `cali40all-hosts-net`).
    pub node_ips: Vec<Ipv4Addr>,
}

/// What a node's kube-proxy rules depend on (see [`ProxyMemo`]): which
/// Services' source ranges hold its address, and the addresses of its
/// endpoints of `Local`-policy Services, by Service.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeKey {
    in_source_ranges: Vec<usize>,
    local: Vec<(String, String, Vec<String>)>,
}

impl ProxyMemo {
    pub fn new(cluster: &Cluster) -> Self {
        let mut local_services = std::collections::BTreeSet::new();
        let mut source_ranges = Vec::new();
        for s in &cluster.services {
            let ext_type = matches!(
                s.spec.svc_type.as_deref(),
                Some("NodePort") | Some("LoadBalancer")
            ) || !s.spec.external_ips.is_empty();
            let local = s.spec.internal_traffic_policy.as_deref() == Some("Local")
                || (ext_type && s.spec.external_traffic_policy.as_deref() == Some("Local"));
            if local {
                local_services.insert((s.metadata.ns().to_string(), s.metadata.name.clone()));
            }
            if !s.spec.load_balancer_source_ranges.is_empty() {
                // kube-proxy trims blanks around each range
                source_ranges.push(
                    s.spec
                        .load_balancer_source_ranges
                        .iter()
                        .filter_map(|r| r.trim().parse::<Ipv4Net>().ok())
                        .collect(),
                );
            }
        }
        ProxyMemo {
            local_services,
            source_ranges,
            texts: BTreeMap::new(),
            node_ips: cluster
                .nodes
                .iter()
                .filter_map(|n| n.internal_ip())
                .collect(),
        }
    }

    /// The key of node `name` (address `ip`) in `cluster`.
    pub fn key(&self, cluster: &Cluster, name: &str, ip: Ipv4Addr) -> NodeKey {
        let mut local = Vec::new();
        if !self.local_services.is_empty() {
            for sl in &cluster.slices {
                let Some(svc) = sl.metadata.labels.get("kubernetes.io/service-name") else {
                    continue;
                };
                let k = (sl.metadata.ns().to_string(), svc.clone());
                if !self.local_services.contains(&k) {
                    continue;
                }
                let mine: Vec<String> = sl
                    .endpoints
                    .iter()
                    .filter(|e| e.node_name.as_deref() == Some(name))
                    .flat_map(|e| e.addresses.iter().cloned())
                    .collect();
                if !mine.is_empty() {
                    local.push((k.0, k.1, mine));
                }
            }
        }
        let in_source_ranges = (self.source_ranges.iter().enumerate())
            .filter(|(_, rs)| rs.iter().any(|r| r.contains(&ip)))
            .map(|(i, _)| i)
            .collect();
        NodeKey {
            in_source_ranges,
            local,
        }
    }

    /// The node's iptables text: made by `make` for the first node of its
    /// key, these CNI rules and felix's program, shared with the next ones.
    fn text(
        &mut self,
        key: NodeKey,
        extra: &ExtraRules,
        felix: Option<&super::calico::FelixNode>,
        make: impl FnOnce() -> String,
    ) -> Text {
        let f = felix
            .map(|f| f.splice("*filter\nCOMMIT\n"))
            .unwrap_or_default();
        self.texts
            .entry((key, extra.clone(), f))
            .or_insert_with(|| dump_text(&make()).value)
            .clone()
    }
}

/// The node's `iptables` (kube-proxy's mode plus the CNI plugin's rules)
/// and, in nftables mode, its `nftables` ruleset.
fn node_packet_filter(
    h: &mut HostDoc,
    cluster: &Cluster,
    (net, cni): (&NetConfig, &Cni),
    n: &NodeNet,
    memo: &mut ProxyMemo,
) {
    let cc = net.cluster_cidr.to_string();
    let cfg = proxier_config(net, &n.name, n.ip);
    let extra = if cni.calico {
        ExtraRules::default()
    } else if cni.kindnet {
        kindnet_rules(&cc)
    } else {
        flannel_rules(&cc, &n.pod_cidr.to_string())
    };
    let key = memo.key(cluster, &n.name, n.ip);
    // felix's rules for the cluster's NetworkPolicies (k8s::calico)
    let felix = (cni.calico && !cluster.network_policies.is_empty())
        .then(|| {
            let ips: Vec<Ipv4Addr> = memo.node_ips.clone();
            super::calico::node_program(cluster, &n.name, &ips, cni.ipip, false)
        })
        .filter(|_| net.ipv4);
    let ipt = memo.text(key, &extra, felix.as_ref(), || {
        let t = match net.proxy_mode.as_str() {
            "ipvs" => kubeproxy::node_iptables_save_ipvs(&cfg, &extra),
            "nftables" => kubeproxy::node_iptables_save_others(&extra),
            _ => kubeproxy::node_iptables_save(cluster, &cfg, &extra),
        };
        match &felix {
            Some(f) => f.splice(&t),
            None => t,
        }
    });
    if net.ipv4 {
        h.iptables = Some(sp(ipt));
    }
    let mut cfg6 = None;
    let mut felix6 = None;
    if let (Some(n6), Some(v6)) = (&net.v6, &n.v6) {
        // the IPv6 proxier (metaproxier's second) and flannel's IPv6 rules
        let mut c6 = ProxierConfig::new(&n.name);
        c6.ipv6 = true;
        c6.node_ips = vec![v6.ip.into()];
        c6.cluster_cidr = Some(n6.cluster_cidr.into());
        c6.service_cidrs = vec![n6.service_cidr.into()];
        let extra6 = if cni.calico {
            ExtraRules::default()
        } else if cni.kindnet {
            kindnet_rules(&n6.cluster_cidr.to_string())
        } else {
            flannel_rules6(&n6.cluster_cidr.to_string(), &v6.pod_cidr.to_string())
        };
        let t6 = match net.proxy_mode.as_str() {
            "nftables" => kubeproxy::node_iptables_save_others(&extra6),
            "ipvs" => kubeproxy::node_iptables_save_ipvs(&c6, &extra6),
            _ => kubeproxy::node_iptables_save(cluster, &c6, &extra6),
        };
        // felix's IPv6 ruleset (ip6tables, the cali60 sets)
        felix6 = (cni.calico && !cluster.network_policies.is_empty())
            .then(|| super::calico::node_program(cluster, &n.name, &[], false, true));
        h.ip6tables = Some(dump_text(&match &felix6 {
            Some(f) => f.splice(&t6),
            None => t6,
        }));
        cfg6 = Some(c6);
    }
    if felix.is_some() || felix6.is_some() {
        let mut sets = h.ipset.take().map(|s| s.value).unwrap_or_default();
        let mut notes = crate::net::netfilter::notes::RuleNotes::new();
        for f in felix.into_iter().chain(felix6) {
            sets.push_str(&f.ipsets);
            notes.extend(f.notes);
        }
        h.ipset = Some(file_text(&sets));
        h.rule_notes = Some(std::sync::Arc::new(notes));
    }
    let mut nft = String::new();
    if net.proxy_mode == "nftables" {
        if net.ipv4 {
            nft = super::kubeproxy_nft::nft_rules(cluster, &cfg);
        }
        if let Some(c6) = &cfg6 {
            // the `ip6 kube-proxy` table of the IPv6 proxier
            nft.push_str(&super::kubeproxy_nft::nft_rules(cluster, c6));
        }
    }
    if let Some(t) = kindnet_policy_table(cluster, cni, &n.name) {
        nft.push_str(&t);
    }
    if !nft.is_empty() {
        h.nftables = Some(dump_text(&nft));
    }
}

/// kindnetd's kube-network-policies table on the node
/// ([`super::kindnet_policy::nft_text`]), when the cluster has policies.
/// Simplification (named in `podpath explain`): with no NetworkPolicy at
/// all the table kindnetd writes has empty sets and queues nothing, and
/// is left out.
fn kindnet_policy_table(cluster: &Cluster, cni: &Cni, node: &str) -> Option<String> {
    use super::kindnet_policy as kp;
    (cni.kindnet && !cluster.network_policies.is_empty())
        .then(|| kp::nft_text(&kp::Config::default(), &kp::managed_ips(cluster, node)))
}

/// The ingress-nginx controllers running on the node, as apps.
fn node_ingress_apps(cluster: &Cluster, n: &NodeNet) -> Vec<AppDoc> {
    let ctl = super::ingress::controllers_on(cluster, &n.name);
    if ctl.is_empty() {
        return Vec::new();
    }
    let conf = super::ingress::nginx_config(cluster, &n.name);
    ctl.into_iter()
        .map(|(pod, port)| {
            let mut a = app("ingress-nginx", Some(pod), Some(format!(":{port}")));
            a.config = Some(file_text(&conf));
            a
        })
        .collect()
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
fn pod_host(
    cluster: &Cluster,
    net: &NetConfig,
    cni: &Cni,
    p: &super::objects::Pod,
    ip: &str,
    n: &NodeNet,
    cluster_dns: Option<&str>,
) -> HostDoc {
    let mut h = empty_host("pod");
    h.namespace = Some(p.metadata.ns().to_string());
    let plen = if cni.routed {
        32
    } else {
        n.pod_cidr.prefix_len()
    };
    let mut addrs = Vec::new();
    if net.ipv4 {
        addrs.push(format!("{ip}/{plen}"));
    }
    let v6 = p.ip6().zip(n.v6.as_ref());
    if let Some((a6, n6)) = v6 {
        let plen6 = if cni.routed {
            128
        } else {
            n6.pod_cidr.prefix_len()
        };
        addrs.push(format!("{a6}/{plen6}"));
    }
    let mut eth0 = device(addrs);
    eth0.mtu = Some(scalar(cni.mtu));
    h.devices.insert("eth0".to_string(), eth0);
    if let Some(dns) = cluster_dns {
        // kubelet's ClusterFirst policy
        let ns = p.metadata.ns();
        let d = &net.domain;
        h.resolv_conf = Some(ResolvDoc {
            nameserver: sp(dns.to_string()),
            search: vec![format!("{ns}.svc.{d}"), format!("svc.{d}"), d.clone()],
            ndots: Some(5),
        });
    }
    h.routes = if net.ipv4 {
        pod_routes(net, cni, n)
    } else {
        Vec::new()
    };
    if let (Some((_, n6)), Some(c6)) = (v6, &net.v6) {
        if cni.kindnet {
            // ptp: the gateway on the link, the subnet and the rest via it
            let gw = Some(n6.gw().to_string());
            h.routes
                .push(route(format!("{}/128", n6.gw()), None, "eth0"));
            h.routes.push(route(n6.pod_cidr, gw.clone(), "eth0"));
            h.routes.push(route("default", gw, "eth0"));
        } else if cni.calico {
            // calico's CNI plugin: the default route via the host veth's
            // link-local address (EUI-64 of ee:ee:ee:ee:ee:ee)
            h.routes
                .push(route("default", Some(CALICO_GW6.to_string()), "eth0"));
        } else {
            // the bridge plugin's IPv6 range: the cluster network and the
            // default route via cni0's IPv6 address
            let gw = Some(n6.gw().to_string());
            h.routes.push(route(c6.cluster_cidr, gw.clone(), "eth0"));
            h.routes.push(route("default", gw, "eth0"));
        }
    }
    h.apps = pod_servers(cluster, net, p);
    if istio_injected(p) {
        // istio-init's rules and the Envoy sidecar with what istiod
        // would push to it
        h.iptables = Some(dump_text(crate::app::envoy::ISTIO_INIT_RULES));
        let mut envoy = app("envoy", None, None);
        envoy.config = Some(file_text(&envoy_config(cluster, net, p, &n.name)));
        h.apps.push(envoy);
    }
    h
}

/// The link-local address of a calico host veth (MAC ee:ee:ee:ee:ee:ee):
/// its IPv6 pods' gateway.
const CALICO_GW6: &str = "fe80::ecee:eeff:feee:eeee";

/// The pod's routes: calico's 169.254.1.1 gateway, kindnet's ptp gateway,
/// or the bridge's address (cni0) for the cluster network and default.
fn pod_routes(net: &NetConfig, cni: &Cni, n: &NodeNet) -> Vec<RouteDoc> {
    let gw = Some(n.gw().to_string());
    if cni.calico {
        vec![
            route("169.254.1.1", None, "eth0"),
            route("default", Some("169.254.1.1".to_string()), "eth0"),
        ]
    } else if cni.kindnet {
        // ptp: the gateway on the link, the subnet and the rest via it
        vec![
            route(n.gw(), None, "eth0"),
            route(n.pod_cidr, gw.clone(), "eth0"),
            route("default", gw, "eth0"),
        ]
    } else {
        vec![
            route(net.cluster_cidr, gw.clone(), "eth0"),
            route("default", gw, "eth0"),
        ]
    }
}

/// The pod's servers, one per container port: a DNS server on UDP 53
/// (CoreDNS-like, a record per Service with a ClusterIP), an HTTP server
/// answering JSON that names the pod on each TCP port, a UDP echo server
/// on each other UDP port, an SCTP echo server on each SCTP port.
fn pod_servers(cluster: &Cluster, net: &NetConfig, p: &super::objects::Pod) -> Vec<AppDoc> {
    let mut apps = Vec::new();
    // a dual-stack pod's servers listen on `[::]` (both families), as
    // CoreDNS and most servers do; an IPv4 pod's on 0.0.0.0
    let dual = net.v6.is_some() && p.ip6().is_some();
    let any = |port: u16| {
        if dual {
            format!("[::]:{port}")
        } else {
            format!(":{port}")
        }
    };
    for c in &p.spec.containers {
        for cp in &c.ports {
            match (cp.protocol.as_str(), cp.container_port) {
                ("UDP", 53) => {
                    let mut a = app("dns-server", Some(c.name.clone()), Some(any(53)));
                    for s in &cluster.services {
                        // CoreDNS's kubernetes plugin: an A record for the
                        // IPv4 ClusterIP, an AAAA for the IPv6 one
                        let ips: Vec<String> = [false, true]
                            .iter()
                            .filter_map(|&v6| s.cluster_ip_of(v6))
                            .map(|a| a.to_string())
                            .collect();
                        if !ips.is_empty() {
                            a.records.insert(
                                format!(
                                    "{}.{}.svc.{}",
                                    s.metadata.name,
                                    s.metadata.ns(),
                                    net.domain
                                ),
                                sp(ips.join(" ")),
                            );
                        }
                    }
                    apps.push(a);
                }
                ("UDP", port) => {
                    // any other UDP port: an echo server (RFC 862), so a
                    // datagram sent there is answered
                    apps.push(app(
                        "udp-echo-server",
                        Some(c.name.clone()),
                        Some(any(port)),
                    ));
                }
                ("SCTP", port) => {
                    // an SCTP port: an echo server, so an association is
                    // accepted and each message answered
                    // (SCTP over IPv6 is not modelled: IPv4 only)
                    apps.push(app(
                        "sctp-echo-server",
                        Some(c.name.clone()),
                        Some(format!(":{port}")),
                    ));
                }
                ("TCP", port) => {
                    let mut a = app("http-server", Some(c.name.clone()), Some(any(port)));
                    a.routes.insert(
                        "/".to_string(),
                        ResponseDoc {
                            status: 200,
                            content_type: JSON_CONTENT_TYPE.to_string(),
                            body: format!(
                                "{{\"pod\":\"{}\",\"namespace\":\"{}\",\"port\":{port}}}",
                                p.metadata.name,
                                p.metadata.ns()
                            ),
                        },
                    );
                    apps.push(a);
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
