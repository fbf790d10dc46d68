//! kube-proxy's nftables mode: the `ip kube-proxy` table it writes
//! (`pkg/proxy/nftables/proxier.go`), as the `nft -f` transaction text
//! `knftables` sends: the base chains (`filter-prerouting-pre-dnat`,
//! `nat-prerouting`, ...), the dispatch maps (`service-ips`,
//! `service-nodeports`, `no-endpoint-services`, `firewall-ips`), and per
//! service port the `service-`/`local-`/`external-`/`firewall-` chains, the
//! `endpoint-` chains with their DNAT, and ClientIP affinity sets.
//!
//! Chain names are `PREFIX-HASH-ns/name/proto/port` where HASH is the first
//! 8 characters of base32(sha256(name)) (kube-proxy's `hashAndTruncate`).

use sha2::{Digest, Sha256};

use super::kubeproxy::{categorize, Categorized, EndpointInfo, ProxierConfig, ServicePortInfo};
use super::objects::Cluster;

const T: &str = "ip kube-proxy";

/// `hashAndTruncate`: `HASH-name`, cut to 240 characters.
pub fn hash_and_truncate(name: &str) -> String {
    let h = Sha256::digest(name.as_bytes());
    let mut s = format!("{}-{name}", &data_encoding::BASE32.encode(&h)[..8]);
    if s.len() > 240 {
        s.truncate(237);
        s.push_str("...");
    }
    s
}

/// `ns/name/proto/port` of a service port (`ns/name:port` in `name`).
fn base(svc: &ServicePortInfo) -> String {
    let (nsname, port) = svc.name.split_once(':').unwrap_or((&svc.name, ""));
    format!("{nsname}/{}/{port}", svc.protocol)
}

fn chain_base(svc: &ServicePortInfo) -> String {
    hash_and_truncate(&base(svc))
}

fn endpoint_base(svc: &ServicePortInfo, ep: &EndpointInfo) -> String {
    endpoint_chain_base(&base(svc), &ep.endpoint)
}

/// `servicePortEndpointChainNameBase`: the endpoint's host and port
/// (`net.SplitHostPort`), an IPv6 address's colons made periods (nft
/// chain names take no colons), hashed and truncated.
fn endpoint_chain_base(base: &str, endpoint: &str) -> String {
    let (ip, port) = endpoint.rsplit_once(':').unwrap_or((endpoint, "0"));
    let ip = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .replace(':', ".");
    hash_and_truncate(&format!("{base}__{ip}/{port}"))
}

/// The node's addresses that accept NodePorts (`--nodeport-addresses`;
/// nftables mode's default is `primary`: the node IP).
fn nodeport_ips(cfg: &ProxierConfig) -> Vec<std::net::IpAddr> {
    if cfg.nodeport_addresses.is_empty() {
        cfg.node_ips.iter().take(1).copied().collect()
    } else {
        cfg.node_ips
            .iter()
            .filter(|ip| cfg.nodeport_addresses.iter().any(|n| n.contains(*ip)))
            .copied()
            .collect()
    }
}

/// The transaction for every service port of `cluster` on the node.
pub fn nft_rules(cluster: &Cluster, cfg: &ProxierConfig) -> String {
    let svcs = super::kubeproxy::service_ports_of(cluster, &cfg.node_name, cfg.ipv6);
    nft_rules_for(&svcs, cfg)
}

/// The IPv6 proxier's text: pkg/proxy/nftables/proxier.go writes every
/// rule through `ipX` ("ip" or "ip6") and `ipvX_addr` ("ipv4_addr" or
/// "ipv6_addr") in an `ip6 kube-proxy` table (`nftablesFamily`), with the
/// IPv6 service ports' addresses; the rest of the text is the same.
fn ip6_family(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.lines() {
        let l = format!(" {line} ")
            .replace(" ip kube-proxy ", " ip6 kube-proxy ")
            .replace(" ip daddr ", " ip6 daddr ")
            .replace(" ip saddr ", " ip6 saddr ")
            .replace("ipv4_addr", "ipv6_addr");
        out.push_str(&l[1..l.len() - 1]);
        out.push('\n');
    }
    out
}

/// `syncProxyRules`: the whole transaction for the service ports, the
/// static objects and rules (`setupNFTables`) first, then each service
/// port's chains, rules and map elements.
pub fn nft_rules_for(svcs: &[ServicePortInfo], cfg: &ProxierConfig) -> String {
    let mut o = String::new();
    declare_static_objects(&mut o);
    add_static_rules(&mut o, cfg);
    for svc in svcs {
        service(&mut o, svc, cfg);
    }
    if cfg.ipv6 {
        return ip6_family(&o);
    }
    o
}

/// `setupNFTables`' declarations: the kube-proxy table, its sets
/// (cluster-ips, nodeport-ips), its verdict maps and its chains (the base
/// chains with their hooks and priorities, then the regular ones).
fn declare_static_objects(o: &mut String) {
    let mut add = |s: &str| {
        o.push_str(s);
        o.push('\n');
    };
    add(&format!(
        "add table {T} {{ comment \"rules for kube-proxy\" ; }}"
    ));
    add(&format!(
        "add set {T} cluster-ips {{ type ipv4_addr ; comment \"Active ClusterIPs\" ; }}"
    ));
    add(&format!(
        "add set {T} nodeport-ips {{ type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }}"
    ));
    let vmap3 = "type ipv4_addr . inet_proto . inet_service : verdict";
    let vmap2 = "type inet_proto . inet_service : verdict";
    add(&format!("add map {T} firewall-ips {{ {vmap3} ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }}"));
    add(&format!("add map {T} no-endpoint-nodeports {{ {vmap2} ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }}"));
    add(&format!("add map {T} no-endpoint-services {{ {vmap3} ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }}"));
    add(&format!("add map {T} service-ips {{ {vmap3} ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }}"));
    add(&format!(
        "add map {T} service-nodeports {{ {vmap2} ; comment \"NodePort traffic\" ; }}"
    ));
    for (name, spec) in [
        ("cluster-ips-check", ""),
        (
            "filter-prerouting-pre-dnat",
            "type filter hook prerouting priority -110",
        ),
        (
            "filter-output-pre-dnat",
            "type filter hook output priority -110",
        ),
        ("filter-forward", "type filter hook forward priority 0"),
        ("filter-input", "type filter hook input priority 0"),
        ("filter-output", "type filter hook output priority 0"),
        ("firewall-check", ""),
        ("mark-for-masquerade", ""),
        ("masquerading", ""),
        ("nat-output", "type nat hook output priority -100"),
        ("nat-postrouting", "type nat hook postrouting priority 100"),
        ("nat-prerouting", "type nat hook prerouting priority -100"),
        ("nodeport-endpoints-check", ""),
        (
            "reject-chain",
            "comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\"",
        ),
        ("services", ""),
        ("service-endpoints-check", ""),
    ] {
        if spec.is_empty() {
            add(&format!("add chain {T} {name}"));
        } else {
            add(&format!("add chain {T} {name} {{ {spec} ; }}"));
        }
    }
}

/// `setupNFTables`' rules: the cluster-ips check (reject invalid ports,
/// drop unallocated ClusterIPs), the jumps from the base chains, the
/// masquerade mark and masquerading chains, the services dispatch; and the
/// nodeport-ips elements.
fn add_static_rules(o: &mut String, cfg: &ProxierConfig) {
    let mark = format!("{:#x}", 1u32 << cfg.masquerade_bit);
    let mut add = |s: &str| {
        o.push_str(s);
        o.push('\n');
    };
    let r = |chain: &str, rule: &str| format!("add rule {T} {chain} {rule}");
    add(&r(
        "cluster-ips-check",
        "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"",
    ));
    if !cfg.service_cidrs.is_empty() {
        let cidrs: Vec<String> = cfg.service_cidrs.iter().map(|c| c.to_string()).collect();
        add(&r(
            "cluster-ips-check",
            &format!(
                "ip daddr {{ {} }} drop comment \"Drop traffic to unallocated ClusterIPs\"",
                cidrs.join(", ")
            ),
        ));
    }
    for (c, rule) in [
        (
            "filter-prerouting-pre-dnat",
            "ct state new jump firewall-check",
        ),
        (
            "filter-forward",
            "ct state new jump service-endpoints-check",
        ),
        ("filter-forward", "ct state new jump cluster-ips-check"),
        ("filter-input", "ct state new jump nodeport-endpoints-check"),
        ("filter-input", "ct state new jump service-endpoints-check"),
        ("filter-output", "ct state new jump service-endpoints-check"),
        ("filter-output-pre-dnat", "ct state new jump firewall-check"),
        ("filter-output", "ct state new jump cluster-ips-check"),
        (
            "firewall-check",
            "ip daddr . meta l4proto . th dport vmap @firewall-ips",
        ),
    ] {
        add(&r(c, rule));
    }
    add(&r(
        "mark-for-masquerade",
        &format!("mark set mark or {mark}"),
    ));
    add(&r("masquerading", &format!("mark and {mark} == 0 return")));
    add(&r("masquerading", &format!("mark set mark xor {mark}")));
    add(&r("masquerading", "masquerade fully-random"));
    add(&r("nat-output", "jump services"));
    add(&r("nat-postrouting", "jump masquerading"));
    add(&r("nat-prerouting", "jump services"));
    add(&r(
        "nodeport-endpoints-check",
        "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
    ));
    add(&r("reject-chain", "reject"));
    add(&r(
        "services",
        "ip daddr . meta l4proto . th dport vmap @service-ips",
    ));
    add(&r(
        "services",
        "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
    ));
    for ip in nodeport_ips(cfg) {
        add(&format!("add element {T} nodeport-ips {{ {ip} }}"));
    }
    add(&r(
        "service-endpoints-check",
        "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
    ));
}

/// A line sink appending to the transaction text (knftables' `tx.Add`).
fn line_writer(o: &mut String) -> impl FnMut(String) + '_ {
    |s: String| {
        o.push_str(&s);
        o.push('\n');
    }
}

/// What `syncProxyRules` works out for one service port before writing
/// it: the endpoints by policy, the `service-`/`local-`/`external-`/
/// `firewall-` chain names, which are in use, and the verdicts for
/// destinations without (local) endpoints.
struct NftSvc<'a> {
    svc: &'a ServicePortInfo,
    cat: Categorized<'a>,
    cluster_chain: String,
    local_chain: String,
    external_chain: String,
    fw_chain: String,
    has_endpoints: bool,
    uses_cluster: bool,
    uses_local: bool,
    internal_chain: String,
    has_internal: bool,
    external_policy_chain: String,
    has_external: bool,
    uses_external: bool,
    int_verdict: &'static str,
    ext_verdict: &'static str,
    uses_fw: bool,
}

impl<'a> NftSvc<'a> {
    /// The chains of `svc` and whether each is used.
    fn new(svc: &'a ServicePortInfo) -> Self {
        let cat = categorize(svc);
        let cb = chain_base(svc);
        let cluster_chain = format!("service-{cb}");
        let local_chain = format!("local-{cb}");
        let external_chain = format!("external-{cb}");
        let fw_chain = format!("firewall-{cb}");
        let has_endpoints = cat.has_any;
        let uses_cluster = !cat.cluster.is_empty() && svc.uses_cluster_endpoints();
        let uses_local = !cat.local.is_empty() && svc.uses_local_endpoints();
        let (internal_chain, has_internal) = if svc.internal_policy_local {
            (&local_chain, has_endpoints && !cat.local.is_empty())
        } else {
            (&cluster_chain, has_endpoints)
        };
        let (external_policy_chain, has_external) = if svc.external_policy_local {
            (&local_chain, has_endpoints && !cat.local.is_empty())
        } else {
            (&cluster_chain, has_endpoints)
        };
        let uses_external = has_endpoints && svc.externally_accessible();
        let (int_verdict, ext_verdict) = if !has_endpoints {
            ("goto reject-chain", "goto reject-chain")
        } else {
            (
                if has_internal { "" } else { "drop" },
                if has_external { "" } else { "drop" },
            )
        };
        let uses_fw = !svc.lb_ips.is_empty() && !svc.lb_source_ranges.is_empty();
        NftSvc {
            svc,
            internal_chain: internal_chain.clone(),
            external_policy_chain: external_policy_chain.clone(),
            cat,
            cluster_chain,
            local_chain,
            external_chain,
            fw_chain,
            has_endpoints,
            uses_cluster,
            uses_local,
            has_internal,
            has_external,
            uses_external,
            int_verdict,
            ext_verdict,
            uses_fw,
        }
    }
}

/// The loop body of `syncProxyRules` for one service port: its chains and
/// affinity sets, its elements in the dispatch maps, then the rules of its
/// chains, in proxier.go's order.
fn service(o: &mut String, svc: &ServicePortInfo, cfg: &ProxierConfig) {
    let s = NftSvc::new(svc);
    add_service_chains(o, &s);
    add_service_elements(o, &s);
    add_internal_traffic_rules(o, &s, cfg);
    if s.uses_external {
        add_external_chain_rules(o, &s, cfg);
    }
    if s.uses_fw {
        add_firewall_chain_rule(o, &s, cfg);
    }
    // "If Cluster policy is in use, create the chain and create
    // workload-specific rules (if any)"; likewise for Local policy.
    {
        let mut w = line_writer(o);
        if s.uses_cluster {
            service_to_endpoint_rules(&mut w, svc, &s.cluster_chain, &s.cat.cluster);
        }
        if s.uses_local {
            service_to_endpoint_rules(&mut w, svc, &s.local_chain, &s.cat.local);
        }
    }
    add_endpoint_chain_rules(o, &s);
}

/// The service port's objects: an affinity set per endpoint (ClientIP
/// affinity), the `service-`/`local-`/`external-`/`firewall-` chains in
/// use, and an `endpoint-` chain per reachable endpoint.
fn add_service_chains(o: &mut String, s: &NftSvc<'_>) {
    let (svc, eps) = (s.svc, &s.cat.all_reachable);
    let mut w = line_writer(o);
    if let Some(secs) = svc.sticky_seconds {
        for ep in eps {
            w(format!(
                "add set {T} affinity-{} {{ type ipv4_addr ; flags dynamic,timeout ; timeout {secs}s ; }}",
                endpoint_base(svc, ep)
            ));
        }
    }
    if s.uses_cluster {
        w(format!("add chain {T} {}", s.cluster_chain));
    }
    if s.uses_local {
        w(format!("add chain {T} {}", s.local_chain));
    }
    if s.uses_external {
        w(format!("add chain {T} {}", s.external_chain));
    }
    if s.uses_fw {
        w(format!("add chain {T} {}", s.fw_chain));
    }
    for ep in eps {
        w(format!("add chain {T} endpoint-{}", endpoint_base(svc, ep)));
    }
}

/// "Capture the clusterIP.", "Capture externalIPs.", "Capture
/// load-balancer ingress.", "Capture nodeports.": the service port's
/// elements in `cluster-ips`, `service-ips`, `firewall-ips`,
/// `service-nodeports` and the `no-endpoint-*` maps.
fn add_service_elements(o: &mut String, s: &NftSvc<'_>) {
    let svc = s.svc;
    let proto = &svc.protocol;
    let name = &svc.name;
    let (internal_chain, external_chain, fw_chain) =
        (&s.internal_chain, &s.external_chain, &s.fw_chain);
    let (int_verdict, ext_verdict) = (s.int_verdict, s.ext_verdict);
    let mut w = line_writer(o);
    w(format!(
        "add element {T} cluster-ips {{ {} }}",
        svc.cluster_ip
    ));
    let key = |a: &str| format!("{a} . {proto} . {}", svc.port);
    if s.has_internal {
        w(format!(
            "add element {T} service-ips {{ {} : goto {internal_chain} }}",
            key(&svc.cluster_ip.to_string())
        ));
    } else {
        w(format!(
            "add element {T} no-endpoint-services {{ {} comment \"{name}\" : {int_verdict} }}",
            key(&svc.cluster_ip.to_string())
        ));
    }
    for eip in &svc.external_ips {
        if s.has_endpoints {
            w(format!(
                "add element {T} service-ips {{ {} : goto {external_chain} }}",
                key(eip)
            ));
        }
        if !s.has_external {
            w(format!(
                "add element {T} no-endpoint-services {{ {} comment \"{name}\" : {ext_verdict} }}",
                key(eip)
            ));
        }
    }
    for lb in &svc.lb_ips {
        if s.has_endpoints {
            w(format!(
                "add element {T} service-ips {{ {} : goto {external_chain} }}",
                key(lb)
            ));
        }
        if s.uses_fw {
            w(format!(
                "add element {T} firewall-ips {{ {} : goto {fw_chain} }}",
                key(lb)
            ));
        }
    }
    if !s.has_external {
        for lb in &svc.lb_ips {
            w(format!(
                "add element {T} no-endpoint-services {{ {} comment \"{name}\" : {ext_verdict} }}",
                key(lb)
            ));
        }
    }
    if svc.node_port != 0 {
        if s.has_endpoints {
            w(format!(
                "add element {T} service-nodeports {{ {proto} . {} : goto {external_chain} }}",
                svc.node_port
            ));
        }
        if !s.has_external {
            w(format!(
                "add element {T} no-endpoint-nodeports {{ {proto} . {} comment \"{name}\" : {ext_verdict} }}",
                svc.node_port
            ));
        }
    }
}

/// "Set up internal traffic handling.": the internal policy chain marks
/// off-cluster sources (or all, with `--masquerade-all`) for masquerade.
fn add_internal_traffic_rules(o: &mut String, s: &NftSvc<'_>, cfg: &ProxierConfig) {
    let (svc, internal_chain) = (s.svc, &s.internal_chain);
    let mut w = line_writer(o);
    if s.has_internal {
        if cfg.masquerade_all {
            w(format!(
                "add rule {T} {internal_chain} ip daddr {} jump mark-for-masquerade",
                svc.cluster_ip
            ));
        } else if let Some(cidr) = cfg.cluster_cidr {
            w(format!(
                "add rule {T} {internal_chain} ip daddr {} ip saddr != {cidr} jump mark-for-masquerade",
                svc.cluster_ip
            ));
        }
    }
}

/// "Set up external traffic handling (if any "external" destinations are
/// enabled).": the `external-` chain masquerades (everything under Cluster
/// policy; under Local, pod and node-local traffic short-circuits to the
/// `service-` chain), then goes to the external policy chain.
fn add_external_chain_rules(o: &mut String, s: &NftSvc<'_>, cfg: &ProxierConfig) {
    let (external_chain, cluster_chain, external_policy_chain) = (
        &s.external_chain,
        &s.cluster_chain,
        &s.external_policy_chain,
    );
    let mut w = line_writer(o);
    if !s.svc.external_policy_local {
        w(format!(
            "add rule {T} {external_chain} jump mark-for-masquerade"
        ));
    } else {
        if s.uses_cluster {
            if let Some(cidr) = cfg.cluster_cidr {
                w(format!("add rule {T} {external_chain} ip saddr {cidr} goto {cluster_chain} comment \"short-circuit pod traffic\""));
            }
        }
        w(format!("add rule {T} {external_chain} fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\""));
        if s.uses_cluster {
            w(format!("add rule {T} {external_chain} fib saddr type local goto {cluster_chain} comment \"short-circuit local traffic\""));
        }
    }
    if s.has_external {
        w(format!(
            "add rule {T} {external_chain} goto {external_policy_chain}"
        ));
    }
}

/// "Set up firewall chain, if needed" (loadBalancerSourceRanges): the
/// `firewall-` chain drops sources outside the ranges (the LB IPs allowed
/// too when the node is in a range).
fn add_firewall_chain_rule(o: &mut String, s: &NftSvc<'_>, cfg: &ProxierConfig) {
    let svc = s.svc;
    let mut w = line_writer(o);
    let mut sources: Vec<String> = svc
        .lb_source_ranges
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    let node_allowed = svc.lb_source_ranges.iter().any(|c| {
        c.trim()
            .parse::<ipnet::IpNet>()
            .is_ok_and(|n| cfg.node_ips.first().is_some_and(|ip| n.contains(ip)))
    });
    if node_allowed {
        sources.extend(svc.lb_ips.iter().cloned());
    }
    w(format!(
        "add rule {T} {} ip saddr != {{ {} }} drop",
        s.fw_chain,
        sources.join(" , ")
    ));
}

/// `writeServiceToEndpointRules`: affinity lookups first, then a random
/// `numgen` vmap over the endpoints.
fn service_to_endpoint_rules(
    w: &mut dyn FnMut(String),
    svc: &ServicePortInfo,
    chain: &str,
    list: &[&EndpointInfo],
) {
    if svc.sticky_seconds.is_some() {
        for ep in list {
            let b = endpoint_base(svc, ep);
            w(format!(
                "add rule {T} {chain} ip saddr @affinity-{b} goto endpoint-{b}"
            ));
        }
    }
    let els: Vec<String> = list
        .iter()
        .enumerate()
        .map(|(i, ep)| format!("{i} : goto endpoint-{}", endpoint_base(svc, ep)))
        .collect();
    w(format!(
        "add rule {T} {chain} numgen random mod {} vmap {{ {} }}",
        list.len(),
        els.join(" , ")
    ));
}

/// "Generate the per-endpoint chains.": each `endpoint-` chain marks
/// hairpin traffic for masquerade, records the source in the affinity set,
/// and DNATs to the endpoint.
fn add_endpoint_chain_rules(o: &mut String, s: &NftSvc<'_>) {
    let svc = s.svc;
    let proto = &svc.protocol;
    let mut w = line_writer(o);
    for ep in &s.cat.all_reachable {
        let b = endpoint_base(svc, ep);
        w(format!(
            "add rule {T} endpoint-{b} ip saddr {} jump mark-for-masquerade",
            ep.ip
        ));
        if svc.sticky_seconds.is_some() {
            w(format!(
                "add rule {T} endpoint-{b} update @affinity-{b} {{ ip saddr }}"
            ));
        }
        w(format!(
            "add rule {T} endpoint-{b} meta l4proto {proto} dnat to {}",
            ep.endpoint
        ));
    }
}

/// The lines of a transaction, normalised for comparison: comments and
/// blank lines dropped, whitespace collapsed, `add element` lines sorted
/// per set, everything else in order within its chain.
pub fn normalise(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // chains and sets may be declared in any order; rules keep their order
    // within a chain (a stable sort by chain name keeps it)
    v.sort_by(|a, b| {
        let k = |l: &str| -> (u8, String) {
            let w: Vec<&str> = l.split(' ').collect();
            let kind = match w.get(1).copied() {
                Some("table") => 0,
                Some("set") | Some("map") => 1,
                Some("chain") => 2,
                Some("rule") => 3,
                _ => 4,
            };
            let name = w.get(4).copied().unwrap_or("").to_string();
            if kind == 3 || kind == 4 {
                (kind, name)
            } else {
                (kind, l.to_string())
            }
        };
        k(a).cmp(&k(b))
    });
    // elements: order-free
    let (mut els, rest): (Vec<String>, Vec<String>) =
        v.into_iter().partition(|l| l.starts_with("add element"));
    els.sort();
    let mut out = rest;
    out.extend(els);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kube-proxy's `Test_servicePortEndpointChainNameBase` (kubernetes
    /// 030880a5 pkg/proxy/nftables/proxier_test.go; see
    /// tests/data/kube-proxy/ipv6/fragments.md): the IPv6 endpoint's
    /// brackets gone, its colons periods, the hash over that text.
    #[test]
    fn endpoint_chain_names_match_kube_proxy() {
        assert_eq!(
            endpoint_chain_base("testing/service/tcp/http", "10.180.0.1:80"),
            "JO2XBXZR-testing/service/tcp/http__10.180.0.1/80"
        );
        assert_eq!(
            endpoint_chain_base(
                "testing/service/tcp/http",
                "[fd80:abcd:12::a1b2:c3d4:e5f6:9999]:80"
            ),
            "U7E2ET36-testing/service/tcp/http__fd80.abcd.12..a1b2.c3d4.e5f6.9999/80"
        );
    }

    #[test]
    fn ipv6_proxier_writes_the_ip6_family() {
        let t = ip6_family(
            "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\nadd set ip kube-proxy cluster-ips { type ipv4_addr ; }\nadd rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\nadd rule ip kube-proxy endpoint-X update @affinity-X { ip saddr }\n",
        );
        assert_eq!(
            t,
            "add table ip6 kube-proxy { comment \"rules for kube-proxy\" ; }\nadd set ip6 kube-proxy cluster-ips { type ipv6_addr ; }\nadd rule ip6 kube-proxy services ip6 daddr . meta l4proto . th dport vmap @service-ips\nadd rule ip6 kube-proxy endpoint-X update @affinity-X { ip6 saddr }\n"
        );
    }
}
