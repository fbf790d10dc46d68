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

use std::net::Ipv4Addr;

use sha2::{Digest, Sha256};

use super::kubeproxy::{categorize, EndpointInfo, ProxierConfig, ServicePortInfo};
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
    let (ip, port) = ep.endpoint.rsplit_once(':').unwrap_or((&ep.endpoint, "0"));
    hash_and_truncate(&format!("{}__{ip}/{port}", base(svc)))
}

/// The node's addresses that accept NodePorts (`--nodeport-addresses`;
/// nftables mode's default is `primary`: the node IP).
fn nodeport_ips(cfg: &ProxierConfig) -> Vec<Ipv4Addr> {
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
    let svcs = super::kubeproxy::service_ports(cluster, &cfg.node_name);
    nft_rules_for(&svcs, cfg)
}

pub fn nft_rules_for(svcs: &[ServicePortInfo], cfg: &ProxierConfig) -> String {
    let mark = format!("{:#x}", 1u32 << cfg.masquerade_bit);
    let mut o = String::new();
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
    for svc in svcs {
        service(&mut o, svc, cfg);
    }
    o
}

fn service(o: &mut String, svc: &ServicePortInfo, cfg: &ProxierConfig) {
    let cat = categorize(svc);
    let proto = &svc.protocol;
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
    let mut w = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    let name = &svc.name;
    let eps = &cat.all_reachable;
    let sticky = svc.sticky_seconds;
    // chains
    if let Some(secs) = sticky {
        for ep in eps {
            w(format!(
                "add set {T} affinity-{} {{ type ipv4_addr ; flags dynamic,timeout ; timeout {secs}s ; }}",
                endpoint_base(svc, ep)
            ));
        }
    }
    if uses_cluster {
        w(format!("add chain {T} {cluster_chain}"));
    }
    if uses_local {
        w(format!("add chain {T} {local_chain}"));
    }
    if uses_external {
        w(format!("add chain {T} {external_chain}"));
    }
    let uses_fw = !svc.lb_ips.is_empty() && !svc.lb_source_ranges.is_empty();
    if uses_fw {
        w(format!("add chain {T} {fw_chain}"));
    }
    for ep in eps {
        w(format!("add chain {T} endpoint-{}", endpoint_base(svc, ep)));
    }
    // elements
    w(format!(
        "add element {T} cluster-ips {{ {} }}",
        svc.cluster_ip
    ));
    let key = |a: &str| format!("{a} . {proto} . {}", svc.port);
    if has_internal {
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
        if has_endpoints {
            w(format!(
                "add element {T} service-ips {{ {} : goto {external_chain} }}",
                key(eip)
            ));
        }
        if !has_external {
            w(format!(
                "add element {T} no-endpoint-services {{ {} comment \"{name}\" : {ext_verdict} }}",
                key(eip)
            ));
        }
    }
    for lb in &svc.lb_ips {
        if has_endpoints {
            w(format!(
                "add element {T} service-ips {{ {} : goto {external_chain} }}",
                key(lb)
            ));
        }
        if uses_fw {
            w(format!(
                "add element {T} firewall-ips {{ {} : goto {fw_chain} }}",
                key(lb)
            ));
        }
    }
    if !has_external {
        for lb in &svc.lb_ips {
            w(format!(
                "add element {T} no-endpoint-services {{ {} comment \"{name}\" : {ext_verdict} }}",
                key(lb)
            ));
        }
    }
    if svc.node_port != 0 {
        if has_endpoints {
            w(format!(
                "add element {T} service-nodeports {{ {proto} . {} : goto {external_chain} }}",
                svc.node_port
            ));
        }
        if !has_external {
            w(format!(
                "add element {T} no-endpoint-nodeports {{ {proto} . {} comment \"{name}\" : {ext_verdict} }}",
                svc.node_port
            ));
        }
    }
    // internal traffic: masquerade off-cluster sources
    if has_internal {
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
    if uses_external {
        if !svc.external_policy_local {
            w(format!(
                "add rule {T} {external_chain} jump mark-for-masquerade"
            ));
        } else {
            if uses_cluster {
                if let Some(cidr) = cfg.cluster_cidr {
                    w(format!("add rule {T} {external_chain} ip saddr {cidr} goto {cluster_chain} comment \"short-circuit pod traffic\""));
                }
            }
            w(format!("add rule {T} {external_chain} fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\""));
            if uses_cluster {
                w(format!("add rule {T} {external_chain} fib saddr type local goto {cluster_chain} comment \"short-circuit local traffic\""));
            }
        }
        if has_external {
            w(format!(
                "add rule {T} {external_chain} goto {external_policy_chain}"
            ));
        }
    }
    if uses_fw {
        let mut sources: Vec<String> = svc
            .lb_source_ranges
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
        let node_allowed = svc.lb_source_ranges.iter().any(|c| {
            c.trim()
                .parse::<ipnet::Ipv4Net>()
                .is_ok_and(|n| cfg.node_ips.first().is_some_and(|ip| n.contains(ip)))
        });
        if node_allowed {
            sources.extend(svc.lb_ips.iter().cloned());
        }
        w(format!(
            "add rule {T} {fw_chain} ip saddr != {{ {} }} drop",
            sources.join(" , ")
        ));
    }
    let to_endpoints = |w: &mut dyn FnMut(String), chain: &str, list: &[&EndpointInfo]| {
        if sticky.is_some() {
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
    };
    if uses_cluster {
        to_endpoints(&mut w, &cluster_chain, &cat.cluster);
    }
    if uses_local {
        to_endpoints(&mut w, &local_chain, &cat.local);
    }
    for ep in eps {
        let b = endpoint_base(svc, ep);
        w(format!(
            "add rule {T} endpoint-{b} ip saddr {} jump mark-for-masquerade",
            ep.ip
        ));
        if sticky.is_some() {
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
