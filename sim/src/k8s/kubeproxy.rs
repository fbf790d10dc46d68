//! kube-proxy, iptables mode: the `iptables-restore` payload kube-proxy
//! writes for a node, rule for rule.
//!
//! Follows `pkg/proxy/iptables/proxier.go` (`syncProxyRules`,
//! `writeServiceToEndpointRules`, the chain-name hashes) and
//! `pkg/proxy/topology.go` (`CategorizeEndpoints`) of Kubernetes 1.28, the
//! layout with KUBE-SVC/KUBE-SVL/KUBE-EXT/KUBE-FW/KUBE-SEP chains,
//! KUBE-PROXY-FIREWALL and the localhost-nodeport KUBE-FIREWALL rule.
//!
//! Simplifications (named in `podpath explain`):
//! - Services are written in the order of their service-port names; real
//!   kube-proxy walks a Go map, so its order differs from run to run (its own
//!   tests sort the output with [`sort_like_kube_proxy_tests`], as we do).
//! - Topology-aware hints are not applied (every ready endpoint is used).
//! - A partial sync never happens (every sync is a full one).
//!
//! Dual-stack: kube-proxy runs one proxier per family (metaproxier); the
//! IPv6 one ([`ProxierConfig::ipv6`]) writes the same layout through
//! `ip6tables-restore`, with the Service's IPv6 ClusterIP, its IPv6
//! endpoints (`[addr]:port`, `JoinHostPort`), no localhost NodePorts
//! (`! -d ::1/128` on the tail call) and no KUBE-FIREWALL localnet chain.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::objects::{Cluster, EndpointSlice, Service};

/// kube-proxy's flags and the node it runs on.
#[derive(Clone, Debug)]
pub struct ProxierConfig {
    /// `--hostname-override`: endpoints whose `nodeName` is this are local.
    pub node_name: String,
    /// The proxier's family: the IPv6 proxier of a dual-stack node
    /// (`ip6tables-restore`, `ip6 kube-proxy`).
    pub ipv6: bool,
    /// The node's addresses of the family (for `--nodeport-addresses`).
    pub node_ips: Vec<IpAddr>,
    /// `--cluster-cidr` of the family (the local-traffic detector); None:
    /// not configured.
    pub cluster_cidr: Option<IpNet>,
    /// `--masquerade-all`
    pub masquerade_all: bool,
    /// `--iptables-masquerade-bit` (default 14: mark 0x4000).
    pub masquerade_bit: u8,
    /// `--iptables-localhost-nodeports` (default true).
    pub localhost_nodeports: bool,
    /// `--nodeport-addresses`; empty: every local address.
    pub nodeport_addresses: Vec<IpNet>,
    /// Whether the iptables binary supports `--random-fully` (every iptables
    /// since 1.6.2 does; kube-proxy's fake in its unit tests does not).
    pub random_fully: bool,
    /// `--service-cluster-ip-range` (nftables mode drops traffic to
    /// unallocated ClusterIPs in it).
    pub service_cidrs: Vec<IpNet>,
}

impl ProxierConfig {
    pub fn new(node_name: &str) -> Self {
        ProxierConfig {
            node_name: node_name.to_string(),
            ipv6: false,
            node_ips: Vec::new(),
            cluster_cidr: None,
            masquerade_all: false,
            masquerade_bit: 14,
            localhost_nodeports: true,
            nodeport_addresses: Vec::new(),
            random_fully: true,
            service_cidrs: Vec::new(),
        }
    }

    fn mark(&self) -> String {
        format!("{:#06x}", 1u32 << self.masquerade_bit)
    }

    /// The loopback address of the family.
    pub(crate) fn loopback(&self) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
    }
}

/// `KUBE-SVC-`/`KUBE-SVL-`/`KUBE-EXT-`/`KUBE-FW-` suffix: the first 16
/// characters of base32(sha256(service port name + protocol)).
pub fn port_proto_hash(svc_port_name: &str, protocol: &str) -> String {
    let h = Sha256::digest(format!("{svc_port_name}{protocol}").as_bytes());
    data_encoding::BASE32.encode(&h)[..16].to_string()
}

/// `KUBE-SEP-` chain of one endpoint of a service port.
pub fn endpoint_chain(svc_port_name: &str, protocol: &str, endpoint: &str) -> String {
    let h = Sha256::digest(format!("{svc_port_name}{protocol}{endpoint}").as_bytes());
    format!("KUBE-SEP-{}", &data_encoding::BASE32.encode(&h)[..16])
}

/// One endpoint of a service port, as kube-proxy's endpoint cache has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    /// `ip:port` (`[ip]:port` for IPv6: net.JoinHostPort)
    pub endpoint: String,
    pub ip: IpAddr,
    pub is_local: bool,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    pub chain: String,
}

/// One port of one Service (kube-proxy's `servicePortInfo`).
#[derive(Clone, Debug)]
pub struct ServicePortInfo {
    /// `ns/name` or `ns/name:port-name`
    pub name: String,
    /// lower case: tcp, udp, sctp
    pub protocol: String,
    pub cluster_ip: IpAddr,
    pub port: u16,
    pub node_port: u16,
    pub external_ips: Vec<String>,
    pub lb_ips: Vec<String>,
    pub lb_source_ranges: Vec<String>,
    pub external_policy_local: bool,
    pub internal_policy_local: bool,
    pub health_check_node_port: u16,
    /// ClientIP affinity timeout, when sessionAffinity is ClientIP.
    pub sticky_seconds: Option<u32>,
    pub endpoints: Vec<EndpointInfo>,
}

impl ServicePortInfo {
    fn hash(&self) -> String {
        port_proto_hash(&self.name, &self.protocol)
    }
    pub fn cluster_chain(&self) -> String {
        format!("KUBE-SVC-{}", self.hash())
    }
    pub fn local_chain(&self) -> String {
        format!("KUBE-SVL-{}", self.hash())
    }
    pub fn external_chain(&self) -> String {
        format!("KUBE-EXT-{}", self.hash())
    }
    pub fn firewall_chain(&self) -> String {
        format!("KUBE-FW-{}", self.hash())
    }
    pub(crate) fn externally_accessible(&self) -> bool {
        self.node_port != 0 || !self.lb_ips.is_empty() || !self.external_ips.is_empty()
    }
    pub(crate) fn external_local(&self) -> bool {
        self.externally_accessible() && self.external_policy_local
    }
    pub(crate) fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local || (self.externally_accessible() && !self.external_local())
    }
    pub(crate) fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local || self.external_local()
    }
}

/// Builds kube-proxy's service-port map for `node` from the objects
/// (headless and ExternalName Services are skipped, as kube-proxy does),
/// for the IPv4 proxier.
pub fn service_ports(cluster: &Cluster, node: &str) -> Vec<ServicePortInfo> {
    service_ports_of(cluster, node, false)
}

/// [`service_ports`] for the proxier of a family: a Service without a
/// ClusterIP of the family is not in its map, and only the slices of the
/// family's address type feed it (pkg/proxy/servicechangetracker.go and
/// endpointschangetracker.go filter by `ipFamily`); externalIPs,
/// load-balancer IPs and source ranges of the other family are dropped
/// (`newBaseServiceInfo`: `proxyutil.MapIPsByIPFamily`,
/// `MapCIDRsByIPFamily`).
pub fn service_ports_of(cluster: &Cluster, node: &str, v6: bool) -> Vec<ServicePortInfo> {
    // slices by (namespace, service name), as the endpoint-slice cache keys them
    let mut slices: BTreeMap<(&str, &str), Vec<&EndpointSlice>> = BTreeMap::new();
    for sl in &cluster.slices {
        if let Some(svc) = sl.metadata.labels.get("kubernetes.io/service-name") {
            slices
                .entry((sl.metadata.ns(), svc.as_str()))
                .or_default()
                .push(sl);
        }
    }
    let mut out = Vec::new();
    for s in &cluster.services {
        let own = slices
            .get(&(s.metadata.ns(), s.metadata.name.as_str()))
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        out.extend(ports_of(own, s, node, v6));
    }
    out.sort_by(|a, b| (&a.name, &a.protocol).cmp(&(&b.name, &b.protocol)));
    out
}

fn ports_of(slices: &[&EndpointSlice], s: &Service, node: &str, v6: bool) -> Vec<ServicePortInfo> {
    let Some(cip) = s.cluster_ip_of(v6) else {
        return Vec::new();
    };
    let fam_ip = |a: &String| a.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6() == v6);
    let fam_net = |a: &String| {
        a.trim()
            .parse::<IpNet>()
            .is_ok_and(|n| matches!(n, IpNet::V6(_)) == v6)
    };
    let addr_type = if v6 { "IPv6" } else { "IPv4" };
    if s.spec.svc_type.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let ns = s.metadata.ns();
    let lb_ips: Vec<String> = s
        .status
        .load_balancer
        .ingress
        .iter()
        .filter_map(|i| i.ip.clone())
        .filter(fam_ip)
        .collect();
    let ext_type = matches!(
        s.spec.svc_type.as_deref(),
        Some("NodePort") | Some("LoadBalancer")
    ) || !s.spec.external_ips.is_empty();
    let etp_local = ext_type && s.spec.external_traffic_policy.as_deref() == Some("Local");
    let mut v = Vec::new();
    for p in &s.spec.ports {
        let name = if p.name.is_empty() {
            format!("{ns}/{}", s.metadata.name)
        } else {
            format!("{ns}/{}:{}", s.metadata.name, p.name)
        };
        let protocol = p.protocol.to_ascii_lowercase();
        // Endpoints from every slice of the Service, for the port of the
        // same name and protocol; deduplicated by ip:port and sorted as
        // kube-proxy's endpoint cache sorts them (by the string).
        let mut eps: BTreeMap<String, EndpointInfo> = BTreeMap::new();
        for sl in slices {
            if sl.address_type != addr_type {
                continue;
            }
            for ep_port in &sl.ports {
                if ep_port.name.as_deref().unwrap_or("") != p.name
                    || !ep_port.protocol.eq_ignore_ascii_case(&p.protocol)
                {
                    continue;
                }
                let Some(port) = ep_port.port else { continue };
                for ep in &sl.endpoints {
                    let Some(ip) = ep.addresses.first().and_then(|a| a.parse::<IpAddr>().ok())
                    else {
                        continue;
                    };
                    let endpoint = std::net::SocketAddr::new(ip, port).to_string();
                    let ready = ep.conditions.ready.unwrap_or(true);
                    let serving = ep.conditions.serving.unwrap_or(ready);
                    let terminating = ep.conditions.terminating.unwrap_or(false);
                    eps.entry(endpoint.clone()).or_insert_with(|| EndpointInfo {
                        chain: endpoint_chain(&name, &protocol, &endpoint),
                        endpoint,
                        ip,
                        is_local: ep.node_name.as_deref() == Some(node),
                        ready,
                        serving,
                        terminating,
                    });
                }
            }
        }
        let hc = if etp_local && s.spec.svc_type.as_deref() == Some("LoadBalancer") {
            s.spec.health_check_node_port.unwrap_or(0)
        } else {
            0
        };
        v.push(ServicePortInfo {
            name,
            protocol,
            cluster_ip: cip,
            port: p.port,
            node_port: p.node_port.unwrap_or(0),
            external_ips: s
                .spec
                .external_ips
                .iter()
                .filter(|a| fam_ip(a))
                .cloned()
                .collect(),
            lb_ips: lb_ips.clone(),
            lb_source_ranges: s
                .spec
                .load_balancer_source_ranges
                .iter()
                .filter(|r| fam_net(r))
                .map(|r| r.trim().to_string())
                .collect(),
            external_policy_local: etp_local,
            internal_policy_local: s.spec.internal_traffic_policy.as_deref() == Some("Local"),
            health_check_node_port: hc,
            sticky_seconds: (s.spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
                s.spec
                    .session_affinity_config
                    .as_ref()
                    .and_then(|c| c.client_ip.as_ref())
                    .and_then(|c| c.timeout_seconds)
                    .unwrap_or(10800)
            }),
            endpoints: eps.into_values().collect(),
        });
    }
    v
}

/// The endpoints of a service port by traffic policy
/// (`proxy.CategorizeEndpoints`, without topology hints).
pub struct Categorized<'a> {
    pub cluster: Vec<&'a EndpointInfo>,
    pub local: Vec<&'a EndpointInfo>,
    pub all_reachable: Vec<&'a EndpointInfo>,
    pub has_any: bool,
}

pub fn categorize(svc: &ServicePortInfo) -> Categorized<'_> {
    let eps = &svc.endpoints;
    let mut cluster = Vec::new();
    let mut has_any = false;
    if svc.uses_cluster_endpoints() {
        cluster = eps.iter().filter(|e| e.ready).collect();
        if cluster.is_empty() {
            // No ready endpoint anywhere: fall back to serving, terminating ones.
            cluster = eps.iter().filter(|e| e.serving && e.terminating).collect();
        }
        has_any = !cluster.is_empty();
    }
    if !svc.uses_local_endpoints() {
        return Categorized {
            all_reachable: cluster.clone(),
            cluster,
            local: Vec::new(),
            has_any,
        };
    }
    let mut local_ready = false;
    let mut local_serving_terminating = false;
    for e in eps {
        if e.ready {
            has_any = true;
            local_ready |= e.is_local;
        } else if e.serving && e.terminating {
            has_any = true;
            local_serving_terminating |= e.is_local;
        }
    }
    let local: Vec<&EndpointInfo> = if local_ready {
        eps.iter().filter(|e| e.is_local && e.ready).collect()
    } else if local_serving_terminating {
        eps.iter()
            .filter(|e| e.is_local && e.serving && e.terminating)
            .collect()
    } else {
        Vec::new()
    };
    if !svc.uses_cluster_endpoints() {
        return Categorized {
            all_reachable: local.clone(),
            cluster,
            local,
            has_any,
        };
    }
    let mut all: Vec<&EndpointInfo> = cluster.clone();
    for e in &local {
        if !all.iter().any(|a| a.endpoint == e.endpoint) {
            all.push(e);
        }
    }
    Categorized {
        cluster,
        local,
        all_reachable: all,
        has_any,
    }
}

/// A line buffer that joins words with spaces, as `proxyutil.LineBuffer`.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn w(&mut self, words: &[&str]) {
        self.0.push_str(&words.join(" "));
        self.0.push('\n');
    }
    fn chain(&mut self, name: &str) {
        let _ = writeln!(self.0, ":{name} - [0:0]");
    }
}

fn q(s: &str) -> String {
    format!("\"{s}\"")
}

/// kube-proxy's `iptables-restore` input for the node (tables filter, nat).
pub fn restore_input(cluster: &Cluster, cfg: &ProxierConfig) -> String {
    let svcs = service_ports_of(cluster, &cfg.node_name, cfg.ipv6);
    restore_input_for(&svcs, cfg)
}

/// kube-proxy's four line buffers (`proxier.filterChains`, `filterRules`,
/// `natChains`, `natRules`), joined into one `iptables-restore` payload.
#[derive(Default)]
struct Tables {
    filter_chains: Lines,
    filter_rules: Lines,
    nat_chains: Lines,
    nat_rules: Lines,
}

/// `syncProxyRules`: the whole `iptables-restore` payload for the service
/// ports, part by part as proxier.go writes it.
pub fn restore_input_for(svcs: &[ServicePortInfo], cfg: &ProxierConfig) -> String {
    let mark = cfg.mark();
    let mm = format!("{mark}/{mark}");
    let mut t = Tables::default();
    write_top_level_chains(&mut t);
    write_postrouting_rules(&mut t.nat_rules, cfg, &mark, &mm);
    let localhost_nodeports = localhost_nodeports(cfg);
    if localhost_nodeports {
        write_localnet_firewall(&mut t);
    }

    // Compute total number of endpoint chains across all services to get
    // a sense of how big the cluster is (`largeClusterMode`).
    let total_endpoints: usize = svcs.iter().map(|s| s.endpoints.len()).sum();
    let large = total_endpoints > 1000;
    let cidr = cfg.cluster_cidr.map(|c| c.to_string());

    // Build rules for each service-port.
    for svc in svcs {
        write_service_port(&mut t, svc, cfg, large, cidr.as_deref());
    }

    write_nodeports_tail_call(&mut t.nat_rules, cfg, localhost_nodeports);
    write_forward_rules(&mut t.filter_rules, &mm);
    format!(
        "*filter\n{}{}COMMIT\n*nat\n{}{}COMMIT\n",
        t.filter_chains.0, t.filter_rules.0, t.nat_chains.0, t.nat_rules.0
    )
}

/// "Write chain lines for all the "top-level" chains we'll be filling in":
/// KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-FORWARD, KUBE-NODEPORTS and
/// KUBE-PROXY-FIREWALL in filter; KUBE-SERVICES, KUBE-NODEPORTS,
/// KUBE-POSTROUTING and KUBE-MARK-MASQ in nat.
fn write_top_level_chains(t: &mut Tables) {
    for c in [
        "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-FORWARD",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-FIREWALL",
    ] {
        t.filter_chains.chain(c);
    }
    for c in [
        "KUBE-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-MARK-MASQ",
    ] {
        t.nat_chains.chain(c);
    }
}

/// "Install the kubernetes-specific postrouting rules" (KUBE-POSTROUTING:
/// return unmarked packets, clear the mark, masquerade) and "the
/// kubernetes-specific masquerade mark rule" (KUBE-MARK-MASQ).
fn write_postrouting_rules(nr: &mut Lines, cfg: &ProxierConfig, mark: &str, mm: &str) {
    nr.w(&[
        "-A",
        "KUBE-POSTROUTING",
        "-m",
        "mark",
        "!",
        "--mark",
        mm,
        "-j",
        "RETURN",
    ]);
    nr.w(&["-A", "KUBE-POSTROUTING", "-j", "MARK", "--xor-mark", mark]);
    let snat = q("kubernetes service traffic requiring SNAT");
    let mut masq = vec![
        "-A",
        "KUBE-POSTROUTING",
        "-m",
        "comment",
        "--comment",
        &snat,
        "-j",
        "MASQUERADE",
    ];
    if cfg.random_fully {
        masq.push("--random-fully");
    }
    nr.w(&masq);
    nr.w(&["-A", "KUBE-MARK-MASQ", "-j", "MARK", "--or-mark", mark]);
}

/// localhostNodePorts only holds when the nodeport addresses include
/// 127.0.0.1 (NewProxier turns it off otherwise: `ContainsIPv4Loopback`,
/// never true for the IPv6 proxier, where localhost NodePorts cannot work).
fn localhost_nodeports(cfg: &ProxierConfig) -> bool {
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    !cfg.ipv6
        && cfg.localhost_nodeports
        && (cfg.nodeport_addresses.is_empty()
            || cfg.nodeport_addresses.iter().any(|n| n.contains(&lo)))
}

/// The KUBE-FIREWALL chain that closes the hole `route_localnet` opens for
/// localhost NodePorts: drop non-loopback sources to 127.0.0.0/8 that are
/// not replies or DNATed.
fn write_localnet_firewall(t: &mut Tables) {
    t.filter_chains.chain("KUBE-FIREWALL");
    let c = q("block incoming localnet connections");
    t.filter_rules.w(&[
        "-A",
        "KUBE-FIREWALL",
        "-m",
        "comment",
        "--comment",
        &c,
        "-d",
        "127.0.0.0/8",
        "!",
        "-s",
        "127.0.0.0/8",
        "-m",
        "conntrack",
        "!",
        "--ctstate",
        "RELATED,ESTABLISHED,DNAT",
        "-j",
        "DROP",
    ]);
}

/// What `syncProxyRules` works out for one service port before writing
/// its rules: the endpoints by policy, the chain names (KUBE-SVC, KUBE-SVL,
/// KUBE-EXT, KUBE-FW) and which of them are in use, and the targets of the
/// filter rules for a service without (local) endpoints.
struct SvcChains<'a> {
    svc: &'a ServicePortInfo,
    spn: &'a str,
    proto: &'a str,
    cat: Categorized<'a>,
    cluster_chain: String,
    local_chain: String,
    uses_cluster_chain: bool,
    uses_local_chain: bool,
    has_endpoints: bool,
    internal_chain: String,
    has_internal: bool,
    external_policy_chain: String,
    has_external: bool,
    ext_chain: String,
    uses_ext_chain: bool,
    fw_chain: String,
    uses_fw: bool,
    int_target: &'static str,
    int_comment: String,
    ext_target: &'static str,
    ext_comment: String,
    port: String,
    cip: String,
}

impl<'a> SvcChains<'a> {
    /// The chains of `svc` and whether each is used (`internalPolicyChain`,
    /// `externalPolicyChain`, `usesClusterPolicyChain`, ...).
    fn new(svc: &'a ServicePortInfo) -> Self {
        let spn = svc.name.as_str();
        let cat = categorize(svc);
        let cluster_chain = svc.cluster_chain();
        let local_chain = svc.local_chain();
        let uses_cluster_chain = !cat.cluster.is_empty() && svc.uses_cluster_endpoints();
        let uses_local_chain = !cat.local.is_empty() && svc.uses_local_endpoints();
        let has_endpoints = cat.has_any;
        let (internal_chain, has_internal) = if svc.internal_policy_local {
            (local_chain.clone(), has_endpoints && !cat.local.is_empty())
        } else {
            (cluster_chain.clone(), has_endpoints)
        };
        let (external_policy_chain, has_external) = if svc.external_local() {
            (local_chain.clone(), has_endpoints && !cat.local.is_empty())
        } else {
            (cluster_chain.clone(), has_endpoints)
        };
        let uses_fw = has_endpoints && !svc.lb_ips.is_empty() && !svc.lb_source_ranges.is_empty();
        let (int_target, int_comment, ext_target, ext_comment) = if !has_endpoints {
            let c = q(&format!("{spn} has no endpoints"));
            ("REJECT", c.clone(), "REJECT", c)
        } else {
            let c = q(&format!("{spn} has no local endpoints"));
            ("DROP", c.clone(), "DROP", c)
        };
        SvcChains {
            svc,
            spn,
            proto: svc.protocol.as_str(),
            cat,
            cluster_chain,
            local_chain,
            uses_cluster_chain,
            uses_local_chain,
            has_endpoints,
            internal_chain,
            has_internal,
            external_policy_chain,
            has_external,
            ext_chain: svc.external_chain(),
            uses_ext_chain: has_endpoints && svc.externally_accessible(),
            fw_chain: svc.firewall_chain(),
            uses_fw,
            int_target,
            int_comment,
            ext_target,
            ext_comment,
            port: svc.port.to_string(),
            cip: svc.cluster_ip.to_string(),
        }
    }

    /// Where load-balancer traffic goes: KUBE-FW when source ranges apply,
    /// KUBE-EXT otherwise.
    fn lb_chain(&self) -> &str {
        if self.uses_fw {
            &self.fw_chain
        } else {
            &self.ext_chain
        }
    }
}

/// The loop body of `syncProxyRules` for one service port: the entries in
/// the top-level chains, then its KUBE-SVC/SVL/EXT/FW/SEP chains.
fn write_service_port(
    t: &mut Tables,
    svc: &ServicePortInfo,
    cfg: &ProxierConfig,
    large: bool,
    cidr: Option<&str>,
) {
    let sc = SvcChains::new(svc);
    write_cluster_ip_rule(t, &sc);
    write_external_ip_rules(t, &sc);
    write_load_balancer_rules(t, &sc);
    write_node_port_rules(t, &sc);
    write_health_check_rule(&mut t.filter_rules, &sc);
    if sc.has_internal {
        write_internal_traffic_rules(&mut t.nat_rules, &sc, cfg, cidr);
    }
    if sc.uses_ext_chain {
        write_external_chain(t, &sc, cidr);
    }
    if sc.uses_fw {
        write_firewall_chain(t, &sc, cfg);
    }
    // "If Cluster policy is in use, create the chain and create
    // workload-specific rules (if any)"; likewise for Local policy.
    if sc.uses_cluster_chain {
        t.nat_chains.chain(&sc.cluster_chain);
        service_to_endpoint_rules(
            &mut t.nat_rules,
            svc,
            &sc.cluster_chain,
            &sc.cat.cluster,
            large,
        );
    }
    if sc.uses_local_chain {
        t.nat_chains.chain(&sc.local_chain);
        service_to_endpoint_rules(&mut t.nat_rules, svc, &sc.local_chain, &sc.cat.local, large);
    }
    write_endpoint_chains(t, &sc, large);
}

/// "Capture the clusterIP.": KUBE-SERVICES jumps to the internal policy
/// chain, or (filter) rejects/drops when it has no endpoints.
fn write_cluster_ip_rule(t: &mut Tables, sc: &SvcChains<'_>) {
    let (spn, proto, cip, port) = (sc.spn, sc.proto, &sc.cip, &sc.port);
    if sc.has_internal {
        let c = q(&format!("{spn} cluster IP"));
        t.nat_rules.w(&[
            "-A",
            "KUBE-SERVICES",
            "-m",
            "comment",
            "--comment",
            &c,
            "-m",
            proto,
            "-p",
            proto,
            "-d",
            cip,
            "--dport",
            port,
            "-j",
            &sc.internal_chain,
        ]);
    } else {
        t.filter_rules.w(&[
            "-A",
            "KUBE-SERVICES",
            "-m",
            "comment",
            "--comment",
            &sc.int_comment,
            "-m",
            proto,
            "-p",
            proto,
            "-d",
            cip,
            "--dport",
            port,
            "-j",
            sc.int_target,
        ]);
    }
}

/// "Capture externalIPs.": KUBE-SERVICES jumps to KUBE-EXT, and
/// KUBE-EXTERNAL-SERVICES rejects/drops when there is no endpoint for the
/// external policy.
fn write_external_ip_rules(t: &mut Tables, sc: &SvcChains<'_>) {
    let (spn, proto, port) = (sc.spn, sc.proto, &sc.port);
    for eip in &sc.svc.external_ips {
        if sc.has_endpoints {
            let c = q(&format!("{spn} external IP"));
            t.nat_rules.w(&[
                "-A",
                "KUBE-SERVICES",
                "-m",
                "comment",
                "--comment",
                &c,
                "-m",
                proto,
                "-p",
                proto,
                "-d",
                eip,
                "--dport",
                port,
                "-j",
                &sc.ext_chain,
            ]);
        }
        if !sc.has_external {
            t.filter_rules.w(&[
                "-A",
                "KUBE-EXTERNAL-SERVICES",
                "-m",
                "comment",
                "--comment",
                &sc.ext_comment,
                "-m",
                proto,
                "-p",
                proto,
                "-d",
                eip,
                "--dport",
                port,
                "-j",
                sc.ext_target,
            ]);
        }
    }
}

/// "Capture load-balancer ingress.": KUBE-SERVICES jumps to KUBE-FW or
/// KUBE-EXT, KUBE-PROXY-FIREWALL drops what the source ranges did not
/// accept, and KUBE-EXTERNAL-SERVICES rejects/drops without endpoints.
fn write_load_balancer_rules(t: &mut Tables, sc: &SvcChains<'_>) {
    let (spn, proto, port) = (sc.spn, sc.proto, &sc.port);
    for lb in &sc.svc.lb_ips {
        if sc.has_endpoints {
            let c = q(&format!("{spn} loadbalancer IP"));
            t.nat_rules.w(&[
                "-A",
                "KUBE-SERVICES",
                "-m",
                "comment",
                "--comment",
                &c,
                "-m",
                proto,
                "-p",
                proto,
                "-d",
                lb,
                "--dport",
                port,
                "-j",
                sc.lb_chain(),
            ]);
        }
        if sc.uses_fw {
            let c = q(&format!("{spn} traffic not accepted by {}", sc.fw_chain));
            t.filter_rules.w(&[
                "-A",
                "KUBE-PROXY-FIREWALL",
                "-m",
                "comment",
                "--comment",
                &c,
                "-m",
                proto,
                "-p",
                proto,
                "-d",
                lb,
                "--dport",
                port,
                "-j",
                "DROP",
            ]);
        }
    }
    if !sc.has_external {
        for lb in &sc.svc.lb_ips {
            t.filter_rules.w(&[
                "-A",
                "KUBE-EXTERNAL-SERVICES",
                "-m",
                "comment",
                "--comment",
                &sc.ext_comment,
                "-m",
                proto,
                "-p",
                proto,
                "-d",
                lb,
                "--dport",
                port,
                "-j",
                sc.ext_target,
            ]);
        }
    }
}

/// "Capture nodeports.": KUBE-NODEPORTS jumps to KUBE-EXT, and
/// KUBE-EXTERNAL-SERVICES rejects/drops local-destination traffic to the
/// port without endpoints.
fn write_node_port_rules(t: &mut Tables, sc: &SvcChains<'_>) {
    if sc.svc.node_port == 0 {
        return;
    }
    let (spn, proto) = (sc.spn, sc.proto);
    let np = sc.svc.node_port.to_string();
    if sc.has_endpoints {
        t.nat_rules.w(&[
            "-A",
            "KUBE-NODEPORTS",
            "-m",
            "comment",
            "--comment",
            spn,
            "-m",
            proto,
            "-p",
            proto,
            "--dport",
            &np,
            "-j",
            &sc.ext_chain,
        ]);
    }
    if !sc.has_external {
        t.filter_rules.w(&[
            "-A",
            "KUBE-EXTERNAL-SERVICES",
            "-m",
            "comment",
            "--comment",
            &sc.ext_comment,
            "-m",
            "addrtype",
            "--dst-type",
            "LOCAL",
            "-m",
            proto,
            "-p",
            proto,
            "--dport",
            &np,
            "-j",
            sc.ext_target,
        ]);
    }
}

/// "Capture healthCheckNodePorts.": the filter KUBE-NODEPORTS chain accepts
/// the health check node port whether or not the node has local endpoints.
fn write_health_check_rule(fr: &mut Lines, sc: &SvcChains<'_>) {
    if sc.svc.health_check_node_port == 0 {
        return;
    }
    let c = q(&format!("{} health check node port", sc.spn));
    let hp = sc.svc.health_check_node_port.to_string();
    fr.w(&[
        "-A",
        "KUBE-NODEPORTS",
        "-m",
        "comment",
        "--comment",
        &c,
        "-m",
        "tcp",
        "-p",
        "tcp",
        "--dport",
        &hp,
        "-j",
        "ACCEPT",
    ]);
}

/// "Set up internal traffic handling.": the internal policy chain marks
/// off-cluster sources (or every source, with `--masquerade-all`) for
/// masquerade.
fn write_internal_traffic_rules(
    nr: &mut Lines,
    sc: &SvcChains<'_>,
    cfg: &ProxierConfig,
    cidr: Option<&str>,
) {
    let (proto, cip, port) = (sc.proto, &sc.cip, &sc.port);
    let c = q(&format!("{} cluster IP", sc.spn));
    let mut a = vec![
        "-A",
        sc.internal_chain.as_str(),
        "-m",
        "comment",
        "--comment",
        &c,
        "-m",
        proto,
        "-p",
        proto,
        "-d",
        cip,
        "--dport",
        port,
    ];
    if cfg.masquerade_all {
        a.extend(["-j", "KUBE-MARK-MASQ"]);
        nr.w(&a);
    } else if let Some(cidr) = cidr {
        a.extend(["!", "-s", cidr, "-j", "KUBE-MARK-MASQ"]);
        nr.w(&a);
    }
}

/// "Set up external traffic handling (if any "external" destinations are
/// enabled).": the KUBE-EXT chain masquerades (all traffic under Cluster
/// policy; under Local policy, pod traffic short-circuits to KUBE-SVC and
/// node-local sources are masqueraded and routed to KUBE-SVC), then jumps
/// to the external policy chain.
fn write_external_chain(t: &mut Tables, sc: &SvcChains<'_>, cidr: Option<&str>) {
    let (spn, ext_chain, cluster_chain) = (sc.spn, &sc.ext_chain, &sc.cluster_chain);
    let nr = &mut t.nat_rules;
    t.nat_chains.chain(ext_chain);
    if !sc.svc.external_local() {
        let c = q(&format!(
            "masquerade traffic for {spn} external destinations"
        ));
        nr.w(&[
            "-A",
            ext_chain,
            "-m",
            "comment",
            "--comment",
            &c,
            "-j",
            "KUBE-MARK-MASQ",
        ]);
    } else {
        if let Some(cidr) = cidr {
            let c = q(&format!("pod traffic for {spn} external destinations"));
            nr.w(&[
                "-A",
                ext_chain,
                "-m",
                "comment",
                "--comment",
                &c,
                "-s",
                cidr,
                "-j",
                cluster_chain,
            ]);
        }
        let c = q(&format!(
            "masquerade LOCAL traffic for {spn} external destinations"
        ));
        nr.w(&[
            "-A",
            ext_chain,
            "-m",
            "comment",
            "--comment",
            &c,
            "-m",
            "addrtype",
            "--src-type",
            "LOCAL",
            "-j",
            "KUBE-MARK-MASQ",
        ]);
        let c = q(&format!(
            "route LOCAL traffic for {spn} external destinations"
        ));
        nr.w(&[
            "-A",
            ext_chain,
            "-m",
            "comment",
            "--comment",
            &c,
            "-m",
            "addrtype",
            "--src-type",
            "LOCAL",
            "-j",
            cluster_chain,
        ]);
    }
    if sc.has_external {
        nr.w(&["-A", ext_chain, "-j", &sc.external_policy_chain]);
    }
}

/// "Set up firewall chain, if needed" (loadBalancerSourceRanges): KUBE-FW
/// sends the allowed sources (and the LB IPs themselves when the node is in
/// a range) to KUBE-EXT; the rest falls through to KUBE-PROXY-FIREWALL.
fn write_firewall_chain(t: &mut Tables, sc: &SvcChains<'_>, cfg: &ProxierConfig) {
    let (spn, fw_chain, ext_chain) = (sc.spn, &sc.fw_chain, &sc.ext_chain);
    let nr = &mut t.nat_rules;
    t.nat_chains.chain(fw_chain);
    let c = q(&format!("{spn} loadbalancer IP"));
    let mut allow_from_node = false;
    for src in &sc.svc.lb_source_ranges {
        nr.w(&[
            "-A",
            fw_chain,
            "-m",
            "comment",
            "--comment",
            &c,
            "-s",
            src,
            "-j",
            ext_chain,
        ]);
        if let Ok(n) = src.parse::<IpNet>() {
            if cfg.node_ips.first().is_some_and(|ip| n.contains(ip)) {
                allow_from_node = true;
            }
        }
    }
    if allow_from_node {
        for lb in &sc.svc.lb_ips {
            nr.w(&[
                "-A",
                fw_chain,
                "-m",
                "comment",
                "--comment",
                &c,
                "-s",
                lb,
                "-j",
                ext_chain,
            ]);
        }
    }
    let c = q(&format!(
        "other traffic to {spn} will be dropped by KUBE-PROXY-FIREWALL"
    ));
    nr.w(&["-A", fw_chain, "-m", "comment", "--comment", &c]);
}

/// "Generate the per-endpoint chains.": each KUBE-SEP chain marks hairpin
/// traffic (the endpoint talking to itself) for masquerade, records the
/// source for ClientIP affinity, and DNATs to the endpoint.
fn write_endpoint_chains(t: &mut Tables, sc: &SvcChains<'_>, large: bool) {
    let (spn, proto, svc) = (sc.spn, sc.proto, sc.svc);
    for ep in &sc.cat.all_reachable {
        t.nat_chains.chain(&ep.chain);
        let mut a: Vec<&str> = vec!["-A", &ep.chain];
        if !large {
            a.extend(["-m", "comment", "--comment", spn]);
        }
        let ip = ep.ip.to_string();
        let mut m = a.clone();
        m.extend(["-s", &ip, "-j", "KUBE-MARK-MASQ"]);
        t.nat_rules.w(&m);
        if svc.sticky_seconds.is_some() {
            a.extend(["-m", "recent", "--name", &ep.chain, "--set"]);
        }
        a.extend([
            "-m",
            proto,
            "-p",
            proto,
            "-j",
            "DNAT",
            "--to-destination",
            &ep.endpoint,
        ]);
        t.nat_rules.w(&a);
    }
}

/// "Finally, tail-call to the nodePorts chain.": the last rule of
/// KUBE-SERVICES, for local destinations or, with `--nodeport-addresses`,
/// for each node address in them.
fn write_nodeports_tail_call(nr: &mut Lines, cfg: &ProxierConfig, localhost_nodeports: bool) {
    let last = q("kubernetes service nodeports; NOTE: this must be the last rule in this chain");
    if cfg.nodeport_addresses.is_empty() {
        let mut a = vec![
            "-A",
            "KUBE-SERVICES",
            "-m",
            "comment",
            "--comment",
            &last,
            "-m",
            "addrtype",
            "--dst-type",
            "LOCAL",
        ];
        // "Block localhost nodePorts if they are not supported. (For IPv6
        // they never work, and for IPv4 they only work if we previously
        // set `route_localnet`.)"
        if cfg.ipv6 {
            a.extend(["!", "-d", "::1/128"]);
        } else if !localhost_nodeports {
            a.extend(["!", "-d", "127.0.0.0/8"]);
        }
        a.extend(["-j", "KUBE-NODEPORTS"]);
        nr.w(&a);
    } else {
        let mut ips: Vec<IpAddr> = Vec::new();
        let lo = cfg.loopback();
        for n in &cfg.nodeport_addresses {
            for ip in cfg.node_ips.iter().chain(std::iter::once(&lo)) {
                if n.contains(ip) && !ips.contains(ip) {
                    ips.push(*ip);
                }
            }
        }
        for ip in ips {
            // an IPv6 loopback NodePort address is ignored (it cannot
            // work), an IPv4 one without localhostNodePorts too
            if ip.is_loopback() && (cfg.ipv6 || !localhost_nodeports) {
                continue;
            }
            let s = ip.to_string();
            nr.w(&[
                "-A",
                "KUBE-SERVICES",
                "-m",
                "comment",
                "--comment",
                &last,
                "-d",
                &s,
                "-j",
                "KUBE-NODEPORTS",
            ]);
        }
    }
}

/// The KUBE-FORWARD chain: drop INVALID packets, accept what was marked for
/// masquerade, and accept the packets after the first of a connection.
fn write_forward_rules(fr: &mut Lines, mm: &str) {
    fr.w(&[
        "-A",
        "KUBE-FORWARD",
        "-m",
        "conntrack",
        "--ctstate",
        "INVALID",
        "-j",
        "DROP",
    ]);
    let c = q("kubernetes forwarding rules");
    fr.w(&[
        "-A",
        "KUBE-FORWARD",
        "-m",
        "comment",
        "--comment",
        &c,
        "-m",
        "mark",
        "--mark",
        mm,
        "-j",
        "ACCEPT",
    ]);
    let c = q("kubernetes forwarding conntrack rule");
    fr.w(&[
        "-A",
        "KUBE-FORWARD",
        "-m",
        "comment",
        "--comment",
        &c,
        "-m",
        "conntrack",
        "--ctstate",
        "RELATED,ESTABLISHED",
        "-j",
        "ACCEPT",
    ]);
}

fn service_to_endpoint_rules(
    nr: &mut Lines,
    svc: &ServicePortInfo,
    chain: &str,
    eps: &[&EndpointInfo],
    large: bool,
) {
    if let Some(secs) = svc.sticky_seconds {
        let secs = secs.to_string();
        for ep in eps {
            let c = q(&format!("{} -> {}", svc.name, ep.endpoint));
            let mut a = vec!["-A", chain];
            if !large {
                a.extend(["-m", "comment", "--comment", &c]);
            }
            a.extend([
                "-m",
                "recent",
                "--name",
                &ep.chain,
                "--rcheck",
                "--seconds",
                &secs,
                "--reap",
                "-j",
                &ep.chain,
            ]);
            nr.w(&a);
        }
    }
    let n = eps.len();
    for (i, ep) in eps.iter().enumerate() {
        let c = q(&format!("{} -> {}", svc.name, ep.endpoint));
        let mut a = vec!["-A", chain];
        if !large {
            a.extend(["-m", "comment", "--comment", &c]);
        }
        let p = format!("{:.10}", 1.0 / (n - i) as f64);
        if i < n - 1 {
            a.extend(["-m", "statistic", "--mode", "random", "--probability", &p]);
        }
        a.extend(["-j", &ep.chain]);
        nr.w(&a);
    }
}

/// The rules kube-proxy (and kubelet, for KUBE-FIREWALL) put in the built-in
/// chains outside its restore payload (`iptablesJumpChains`, each inserted at
/// the head of its chain; kubelet's KUBE-FIREWALL jumps exist before).
/// Returns (table, chain, rule text without `-A CHAIN`), in chain order.
/// kubelet's KUBE-FIREWALL exists in IPv4 only (pkg/kubelet/
/// kubelet_network_linux.go: the localnet rule guards route_localnet,
/// which IPv6 has not), so the IPv6 tables carry kube-proxy's jumps alone.
pub fn jump_rules(ipv6: bool) -> Vec<(&'static str, &'static str, String)> {
    // (table, dst, src, comment, extra args) as in proxier.go
    let jumps: [(&str, &str, &str, &str, &str); 12] = [
        (
            "filter",
            "KUBE-EXTERNAL-SERVICES",
            "INPUT",
            "kubernetes externally-visible service portals",
            "-m conntrack --ctstate NEW",
        ),
        (
            "filter",
            "KUBE-EXTERNAL-SERVICES",
            "FORWARD",
            "kubernetes externally-visible service portals",
            "-m conntrack --ctstate NEW",
        ),
        (
            "filter",
            "KUBE-NODEPORTS",
            "INPUT",
            "kubernetes health check service ports",
            "",
        ),
        (
            "filter",
            "KUBE-SERVICES",
            "FORWARD",
            "kubernetes service portals",
            "-m conntrack --ctstate NEW",
        ),
        (
            "filter",
            "KUBE-SERVICES",
            "OUTPUT",
            "kubernetes service portals",
            "-m conntrack --ctstate NEW",
        ),
        (
            "filter",
            "KUBE-FORWARD",
            "FORWARD",
            "kubernetes forwarding rules",
            "",
        ),
        (
            "filter",
            "KUBE-PROXY-FIREWALL",
            "INPUT",
            "kubernetes load balancer firewall",
            "-m conntrack --ctstate NEW",
        ),
        (
            "filter",
            "KUBE-PROXY-FIREWALL",
            "OUTPUT",
            "kubernetes load balancer firewall",
            "-m conntrack --ctstate NEW",
        ),
        (
            "filter",
            "KUBE-PROXY-FIREWALL",
            "FORWARD",
            "kubernetes load balancer firewall",
            "-m conntrack --ctstate NEW",
        ),
        (
            "nat",
            "KUBE-SERVICES",
            "OUTPUT",
            "kubernetes service portals",
            "",
        ),
        (
            "nat",
            "KUBE-SERVICES",
            "PREROUTING",
            "kubernetes service portals",
            "",
        ),
        (
            "nat",
            "KUBE-POSTROUTING",
            "POSTROUTING",
            "kubernetes postrouting rules",
            "",
        ),
    ];
    // kubelet's own jumps, appended before kube-proxy starts.
    let mut chains: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    if !ipv6 {
        for c in ["INPUT", "OUTPUT"] {
            chains
                .entry(("filter", c))
                .or_default()
                .push("-j KUBE-FIREWALL".into());
        }
    }
    for (table, dst, src, comment, extra) in jumps {
        let mut r = String::new();
        if !extra.is_empty() {
            r.push_str(extra);
            r.push(' ');
        }
        let _ = write!(r, "-m comment --comment \"{comment}\" -j {dst}");
        chains.entry((table, src)).or_default().insert(0, r);
    }
    let order = [
        ("filter", "INPUT"),
        ("filter", "FORWARD"),
        ("filter", "OUTPUT"),
        ("nat", "PREROUTING"),
        ("nat", "OUTPUT"),
        ("nat", "POSTROUTING"),
    ];
    let mut out = Vec::new();
    for (t, c) in order {
        for r in chains.remove(&(t, c)).unwrap_or_default() {
            out.push((t, c, r));
        }
    }
    out
}

/// Rules other components add to a node (a CNI plugin's masquerade and
/// forward rules): user chains to create, and rules appended to chains.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExtraRules {
    /// (table, chain)
    pub chains: Vec<(String, String)>,
    /// (table, chain, rule text after `-A CHAIN`)
    pub rules: Vec<(String, String, String)>,
}

/// A whole node's `iptables-save` as kube-proxy leaves it: built-in chains
/// (policy ACCEPT) with the jump rules, then kube-proxy's chains and rules,
/// then what other components appended.
pub fn node_iptables_save(cluster: &Cluster, cfg: &ProxierConfig, extra: &ExtraRules) -> String {
    let restore = restore_input(cluster, cfg);
    let mut tables: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut cur = "";
    for line in restore.lines() {
        if let Some(t) = line.strip_prefix('*') {
            cur = if t == "filter" { "filter" } else { "nat" };
        } else if line.starts_with(':') {
            tables.entry(cur).or_default().0.push(line.to_string());
        } else if line.starts_with("-A ") {
            tables.entry(cur).or_default().1.push(line.to_string());
        }
    }
    let builtins = |t: &str| -> &'static [&'static str] {
        match t {
            "filter" => &["INPUT", "FORWARD", "OUTPUT"],
            _ => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        }
    };
    let jumps = jump_rules(cfg.ipv6);
    let mut s = String::new();
    for t in ["filter", "nat"] {
        let (chains, rules) = tables.remove(t).unwrap_or_default();
        let _ = writeln!(s, "*{t}");
        for b in builtins(t) {
            let _ = writeln!(s, ":{b} ACCEPT [0:0]");
        }
        for c in &chains {
            let _ = writeln!(s, "{c}");
        }
        for (et, c) in &extra.chains {
            if et == t {
                let _ = writeln!(s, ":{c} - [0:0]");
            }
        }
        for b in builtins(t) {
            for (jt, jc, r) in &jumps {
                if *jt == t && jc == b {
                    let _ = writeln!(s, "-A {b} {r}");
                }
            }
            for (et, ec, r) in &extra.rules {
                if et == t && ec == b {
                    let _ = writeln!(s, "-A {b} {r}");
                }
            }
        }
        for r in &rules {
            let _ = writeln!(s, "{r}");
        }
        for (et, ec, r) in &extra.rules {
            if et == t && !builtins(t).contains(&ec.as_str()) {
                let _ = writeln!(s, "-A {ec} {r}");
            }
        }
        let _ = writeln!(s, "COMMIT");
    }
    s
}

/// A node's `iptables-save` when kube-proxy runs in nftables mode (it
/// writes no iptables rules): the built-in chains and what other components
/// (the CNI plugin) added.
pub fn node_iptables_save_others(extra: &ExtraRules) -> String {
    let mut s = String::new();
    for (t, builtins) in [
        ("filter", &["INPUT", "FORWARD", "OUTPUT"][..]),
        ("nat", &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"][..]),
    ] {
        let _ = writeln!(s, "*{t}");
        for b in builtins {
            let _ = writeln!(s, ":{b} ACCEPT [0:0]");
        }
        for (et, c) in &extra.chains {
            if et == t {
                let _ = writeln!(s, ":{c} - [0:0]");
            }
        }
        for (et, ec, r) in &extra.rules {
            if et == t {
                let _ = writeln!(s, "-A {ec} {r}");
            }
        }
        let _ = writeln!(s, "COMMIT");
    }
    s
}

/// kube-proxy's ipvs mode: the iptables rules it adds beside IPVS (after
/// `pkg/proxy/ipvs/proxier.go`; not checked line for line): the masquerade
/// mark for off-cluster sources to ClusterIPs and for NodePorts, the
/// hairpin masquerade (KUBE-LOOP-BACK), ACCEPT for ClusterIP traffic, the
/// forward rules, and the jumps from the built-in chains.
/// The IPv6 proxier's rules name its sets `KUBE-6-*` ([`ipvs_set_name`]).
pub fn node_iptables_save_ipvs(cfg: &ProxierConfig, extra: &ExtraRules) -> String {
    let set = |n: &str| ipvs_set_name(n, cfg.ipv6);
    let (cluster_ip, loop_back) = (set("KUBE-CLUSTER-IP"), set("KUBE-LOOP-BACK"));
    let (np_tcp, np_udp) = (set("KUBE-NODE-PORT-TCP"), set("KUBE-NODE-PORT-UDP"));
    let mark = cfg.mark();
    let mm = format!("{mark}/{mark}");
    let builtin =
        |c: &str| ["PREROUTING", "OUTPUT", "POSTROUTING", "INPUT", "FORWARD"].contains(&c);
    let mut nat = String::new();
    let mut filter = String::new();
    let _ = writeln!(
        nat,
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
    );
    let _ = writeln!(
        nat,
        "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
    );
    let _ = writeln!(
        nat,
        "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
    );
    for (t, c, r) in &extra.rules {
        if t == "nat" && builtin(c) {
            let _ = writeln!(nat, "-A {c} {r}");
        }
    }
    let _ = writeln!(nat, "-A KUBE-MARK-MASQ -j MARK --or-mark {mark}");
    let _ = writeln!(nat, "-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port for masquerade purpose\" -m set --match-set {np_tcp} dst -j KUBE-MARK-MASQ");
    let _ = writeln!(nat, "-A KUBE-NODE-PORT -p udp -m comment --comment \"Kubernetes nodeport UDP port for masquerade purpose\" -m set --match-set {np_udp} dst -j KUBE-MARK-MASQ");
    let _ = writeln!(nat, "-A KUBE-POSTROUTING -m comment --comment \"Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose\" -m set --match-set {loop_back} dst,dst,src -j MASQUERADE");
    let _ = writeln!(nat, "-A KUBE-POSTROUTING -m mark ! --mark {mm} -j RETURN");
    let _ = writeln!(nat, "-A KUBE-POSTROUTING -j MARK --xor-mark {mark}");
    let _ = writeln!(
        nat,
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE{}",
        if cfg.random_fully { " --random-fully" } else { "" }
    );
    if let Some(c) = cfg.cluster_cidr {
        let _ = writeln!(nat, "-A KUBE-SERVICES -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set {cluster_ip} dst,dst ! -s {c} -j KUBE-MARK-MASQ");
    }
    let _ = writeln!(
        nat,
        "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT"
    );
    let _ = writeln!(
        nat,
        "-A KUBE-SERVICES -m set --match-set {cluster_ip} dst,dst -j ACCEPT"
    );
    for (t, c, r) in &extra.rules {
        if t == "nat" && !builtin(c) {
            let _ = writeln!(nat, "-A {c} {r}");
        }
    }
    let _ = writeln!(
        filter,
        "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"
    );
    for (t, c, r) in &extra.rules {
        if t == "filter" && builtin(c) {
            let _ = writeln!(filter, "-A {c} {r}");
        }
    }
    let _ = writeln!(filter, "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {mm} -j ACCEPT");
    let _ = writeln!(filter, "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
    for (t, c, r) in &extra.rules {
        if t == "filter" && !builtin(c) {
            let _ = writeln!(filter, "-A {c} {r}");
        }
    }
    let mut s = String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-FORWARD - [0:0]\n");
    for (t, c) in &extra.chains {
        if t == "filter" {
            let _ = writeln!(s, ":{c} - [0:0]");
        }
    }
    s.push_str(&filter);
    s.push_str("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-NODE-PORT - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n");
    for (t, c) in &extra.chains {
        if t == "nat" {
            let _ = writeln!(s, ":{c} - [0:0]");
        }
    }
    s.push_str(&nat);
    s.push_str("COMMIT\n");
    s
}

/// kube-proxy's name of one of its IP sets for a proxier's family
/// (pkg/proxy/ipvs/ipset.go `NewIPSet`: for IPv6 `KUBE-` becomes
/// `KUBE-6-`, "to ensure unique names" in dual-stack, the result cut at
/// ipset's 31 characters; IPv4 names are left as they are).
pub fn ipvs_set_name(name: &str, v6: bool) -> String {
    match name.strip_prefix("KUBE-") {
        Some(rest) if v6 => {
            let mut n = format!("KUBE-6-{rest}");
            n.truncate(31);
            n
        }
        _ => name.to_string(),
    }
}

/// kube-proxy's unit-test normalisation (`sortIPTablesRules` in
/// proxier_test.go): tables by name; chains KUBE-NODEPORTS, KUBE-SERVICES,
/// then other KUBE-* alphabetically, then the rest; rules grouped by chain;
/// KUBE-NODEPORTS and KUBE-SERVICES rules stably sorted by the service name
/// in their comment (the "must be the last rule" rule kept last in nat).
pub fn sort_like_kube_proxy_tests(dump: &str) -> String {
    #[derive(Default)]
    struct Table {
        name: String,
        chains: Vec<String>,
        rules: BTreeMap<String, Vec<String>>,
    }
    let mut tables: Vec<Table> = Vec::new();
    for line in dump.lines() {
        let line = line.trim();
        if let Some(t) = line.strip_prefix('*') {
            tables.push(Table {
                name: t.to_string(),
                ..Default::default()
            });
        } else if let Some(c) = line.strip_prefix(':') {
            if let Some(t) = tables.last_mut() {
                let name = c.split_whitespace().next().unwrap_or("").to_string();
                t.chains.push(name);
            }
        } else if let Some(r) = line.strip_prefix("-A ") {
            if let Some(t) = tables.last_mut() {
                let chain = r.split_whitespace().next().unwrap_or("").to_string();
                t.rules.entry(chain).or_default().push(line.to_string());
            }
        }
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    fn rank(c: &str) -> (u8, &str) {
        match c {
            "KUBE-NODEPORTS" => (0, ""),
            "KUBE-SERVICES" => (1, ""),
            c if c.starts_with("KUBE-") => (2, c),
            c => (3, c),
        }
    }
    fn comment_svc(rule: &str) -> Option<String> {
        let i = rule.find("--comment ")? + "--comment ".len();
        let rest = &rule[i..];
        let v = if let Some(r) = rest.strip_prefix('"') {
            r.split('"').next().unwrap_or("")
        } else {
            rest.split_whitespace().next().unwrap_or("")
        };
        Some(v.split([' ', ':']).next().unwrap_or("").to_string())
    }
    let mut out = String::new();
    for t in &mut tables {
        t.chains.sort_by(|a, b| rank(a).cmp(&rank(b)));
        for name in ["KUBE-NODEPORTS", "KUBE-SERVICES"] {
            if let Some(rules) = t.rules.get_mut(name) {
                let is_nat_svc = t.name == "nat" && name == "KUBE-SERVICES";
                // stable sort; rules without a comment keep their place
                // relative to each other (Go's comparator returns false).
                rules.sort_by(|a, b| {
                    let last = |r: &str| is_nat_svc && r.contains("must be the last rule");
                    match (last(a), last(b)) {
                        (true, false) => return std::cmp::Ordering::Greater,
                        (false, true) => return std::cmp::Ordering::Less,
                        (true, true) => return std::cmp::Ordering::Equal,
                        _ => {}
                    }
                    match (comment_svc(a), comment_svc(b)) {
                        (Some(x), Some(y)) => x.cmp(&y),
                        _ => std::cmp::Ordering::Equal,
                    }
                });
            }
        }
        let _ = writeln!(out, "*{}", t.name);
        for c in &t.chains {
            let _ = writeln!(out, ":{c} - [0:0]");
        }
        for c in &t.chains {
            for r in t.rules.get(c).into_iter().flatten() {
                let _ = writeln!(out, "{r}");
            }
        }
        let _ = writeln!(out, "COMMIT");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hashes_match_kube_proxy() {
        // Names from kube-proxy's own test expectations.
        assert_eq!(port_proto_hash("ns1/svc1:p80", "tcp"), "XPGD46QRK7WJZT7O");
        assert_eq!(
            endpoint_chain("ns1/svc1:p80", "tcp", "10.180.0.1:80"),
            "KUBE-SEP-SXIVWICOYRO3J4NJ"
        );
    }

    #[test]
    fn probabilities_are_one_over_remaining() {
        let mut nr = Lines::default();
        let eps: Vec<EndpointInfo> = (1..=3)
            .map(|i| EndpointInfo {
                endpoint: format!("10.0.0.{i}:80"),
                ip: Ipv4Addr::new(10, 0, 0, i).into(),
                is_local: false,
                ready: true,
                serving: true,
                terminating: false,
                chain: format!("KUBE-SEP-{i}"),
            })
            .collect();
        let refs: Vec<&EndpointInfo> = eps.iter().collect();
        let svc = ServicePortInfo {
            name: "a/b".into(),
            protocol: "tcp".into(),
            cluster_ip: Ipv4Addr::new(10, 96, 0, 1).into(),
            port: 80,
            node_port: 0,
            external_ips: vec![],
            lb_ips: vec![],
            lb_source_ranges: vec![],
            external_policy_local: false,
            internal_policy_local: false,
            health_check_node_port: 0,
            sticky_seconds: None,
            endpoints: eps.clone(),
        };
        service_to_endpoint_rules(&mut nr, &svc, "KUBE-SVC-X", &refs, false);
        let l: Vec<&str> = nr.0.lines().collect();
        assert!(l[0].contains("--probability 0.3333333333 -j KUBE-SEP-1"));
        assert!(l[1].contains("--probability 0.5000000000 -j KUBE-SEP-2"));
        assert!(l[2].ends_with("-j KUBE-SEP-3") && !l[2].contains("statistic"));
    }
}
