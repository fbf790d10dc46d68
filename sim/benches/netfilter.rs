//! A synthetic kube-proxy dump for 10,000 Services x 3 endpoints (kube-proxy's
//! iptables-mode layout: KUBE-SERVICES -> KUBE-SVC -> statistic ladder ->
//! KUBE-SEP DNAT): how long it takes to parse, and how long one packet takes
//! through a host that carries it (nat PREROUTING walk with the destination
//! index, conntrack, routing, filter FORWARD, POSTROUTING, transmit).

use std::fmt::Write;
use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, Criterion};
use podpath_sim::det::host_rng;
use podpath_sim::net::host::{Ctx, DevKind, Device, Host, HostKind, Meta, Peer};
use podpath_sim::net::netfilter::Ruleset;
use podpath_sim::trace::TraceSink;
use podpath_sim::wire::{tcp_header, Frame, Ipv4Repr, Mac, L3, L4};

fn chain_hash(s: &str) -> String {
    // Not kube-proxy's sha256 (the bench needs distinct names, not real ones).
    format!("{:016X}", podpath_sim::det::stable_hash(s.as_bytes()))[..16].to_string()
}

pub fn synthetic_dump(services: u32, endpoints: u32) -> String {
    let mut decl = String::new();
    let mut rules = String::new();
    decl.push_str("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n");
    rules.push_str(
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n",
    );
    rules.push_str(
        "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n",
    );
    rules.push_str("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n");
    rules.push_str("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
    rules.push_str("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n");
    for s in 0..services {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 0)) + s + 1);
        let name = format!("ns{}/svc{}:http", s % 100, s);
        let svc = format!("KUBE-SVC-{}", chain_hash(&name));
        writeln!(decl, ":{svc} - [0:0]").unwrap();
        writeln!(rules, "-A KUBE-SERVICES -d {ip}/32 -p tcp -m comment --comment \"{name} cluster IP\" -m tcp --dport 80 -j {svc}").unwrap();
        writeln!(rules, "-A {svc} ! -s 10.244.0.0/16 -d {ip}/32 -p tcp -m comment --comment \"{name} cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ").unwrap();
        for e in 0..endpoints {
            let ep = Ipv4Addr::from(
                u32::from(Ipv4Addr::new(10, 244, 0, 0)) + (s * endpoints + e) % 65000 + 2,
            );
            let sep = format!("KUBE-SEP-{}", chain_hash(&format!("{name}{ep}")));
            writeln!(decl, ":{sep} - [0:0]").unwrap();
            let left = endpoints - e;
            if left > 1 {
                writeln!(rules, "-A {svc} -m comment --comment \"{name} -> {ep}:8080\" -m statistic --mode random --probability {:.11} -j {sep}", 1.0 / left as f64).unwrap();
            } else {
                writeln!(
                    rules,
                    "-A {svc} -m comment --comment \"{name} -> {ep}:8080\" -j {sep}"
                )
                .unwrap();
            }
            writeln!(
                rules,
                "-A {sep} -s {ep}/32 -m comment --comment \"{name}\" -j KUBE-MARK-MASQ"
            )
            .unwrap();
            writeln!(rules, "-A {sep} -p tcp -m comment --comment \"{name}\" -m tcp -j DNAT --to-destination {ep}:8080").unwrap();
        }
    }
    rules.push_str("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
    format!("{decl}{rules}COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
}

fn node(rules: Ruleset) -> Host {
    let mut h = Host::new(0, "node", HostKind::Node, host_rng(1, "node"));
    let mut eth0 = Device::new("eth0", DevKind::Veth, Mac::derived("node/eth0"));
    eth0.addrs.push("192.168.1.10/24".parse().unwrap());
    eth0.peer = Some(Peer {
        host: 1,
        dev: 1,
        latency_ns: 0,
        loss_ppm: 0,
    });
    let mut cni = Device::new("cni0", DevKind::Veth, Mac::derived("node/cni0"));
    cni.addrs.push("10.244.0.1/16".parse().unwrap());
    cni.peer = Some(Peer {
        host: 2,
        dev: 1,
        latency_ns: 0,
        loss_ppm: 0,
    });
    h.devs.push(eth0);
    h.devs.push(cni);
    h.install_address_routes();
    h.sysctl.set("net.ipv4.ip_forward", "1");
    // Every endpoint's MAC is known, so the packet leaves at once.
    for i in 0..65536u32 {
        let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 0, 0)) + i);
        h.neigh.add_permanent(2, a, Mac::derived("pod"));
    }
    h.nf = rules.into();
    h
}

fn syn(dst: Ipv4Addr, mac: Mac) -> Vec<u8> {
    let mut t = tcp_header(40000, 80, 1, None, 64240);
    t.syn = true;
    let ip = Ipv4Repr::new(
        Ipv4Addr::new(192, 168, 1, 2),
        dst,
        64,
        1,
        L4::Tcp {
            hdr: t,
            payload: vec![],
        },
    );
    Frame {
        src: Mac::derived("client"),
        dst: mac,
        payload: L3::Ipv4(ip),
    }
    .emit()
}

/// One SYN into the node, from a fresh conntrack table; it must leave
/// towards the pods.
fn syn_through(h: &mut Host, frame: &[u8]) {
    let mut sink = TraceSink::default();
    let mut next = 0u64;
    h.ct.flush();
    let mut ctx = Ctx {
        now: 0,
        trace: &mut sink,
        out: Vec::new(),
        next_pkt: &mut next,
        script: None,
        flow: None,
    };
    h.receive(
        &mut ctx,
        1,
        frame,
        Meta {
            pkt: 1,
            flow: 0,
            parent: None,
            hash: None,
            owner: None,
            lo_ct: None,
            sk: None,
            untracked: false,
        },
    );
    assert!(matches!(
        ctx.out.last(),
        Some(podpath_sim::net::host::Output::Tx { dev: 2, .. })
    ));
}

fn bench(c: &mut Criterion) {
    let text = synthetic_dump(10_000, 3);
    let mut g = c.benchmark_group("kube-proxy-10k-services");
    g.sample_size(10);
    g.bench_function("parse iptables-save (10k services x 3 endpoints)", |b| {
        b.iter(|| Ruleset::parse(&text, "synthetic").unwrap())
    });
    g.finish();
    let rules = Ruleset::parse(&text, "synthetic").unwrap();
    eprintln!(
        "synthetic dump: {} bytes, {} rules",
        text.len(),
        rules.rule_count()
    );
    let mut h = node(rules);
    let mac = h.devs[1].mac;
    // A Service in the middle of KUBE-SERVICES.
    let frame = syn(Ipv4Addr::new(10, 96, 19, 137), mac);
    let mut g = c.benchmark_group("kube-proxy-10k-services");
    g.bench_function(
        "one SYN through the node (DNAT, forward, masquerade)",
        |b| b.iter(|| syn_through(&mut h, &frame)),
    );
    g.finish();
}

/// kube-proxy's nftables mode for the same 10,000 Services x 3 endpoints
/// (the real generator): parse the transaction, and one SYN through a node
/// that carries it (the service-ips verdict map is a keyed lookup).
fn bench_nft(c: &mut Criterion) {
    use podpath_sim::k8s::kubeproxy::{EndpointInfo, ProxierConfig, ServicePortInfo};
    let svcs: Vec<ServicePortInfo> = (0..10_000u32)
        .map(|s| ServicePortInfo {
            name: format!("ns{}/svc{}:http", s % 100, s),
            protocol: "tcp".into(),
            cluster_ip: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 0)) + s + 1).into(),
            port: 80,
            node_port: 0,
            external_ips: vec![],
            lb_ips: vec![],
            lb_source_ranges: vec![],
            external_policy_local: false,
            internal_policy_local: false,
            health_check_node_port: 0,
            sticky_seconds: None,
            endpoints: (0..3u32)
                .map(|e| {
                    let ip = Ipv4Addr::from(
                        u32::from(Ipv4Addr::new(10, 244, 0, 0)) + (s * 3 + e) % 65000 + 2,
                    );
                    EndpointInfo {
                        endpoint: format!("{ip}:8080"),
                        ip: ip.into(),
                        is_local: false,
                        ready: true,
                        serving: true,
                        terminating: false,
                        chain: String::new(),
                    }
                })
                .collect(),
        })
        .collect();
    let mut cfg = ProxierConfig::new("node");
    cfg.node_ips = vec![Ipv4Addr::new(192, 168, 1, 10).into()];
    cfg.cluster_cidr = Some("10.244.0.0/16".parse().unwrap());
    cfg.service_cidrs = vec!["10.96.0.0/12".parse().unwrap()];
    let text = podpath_sim::k8s::kubeproxy_nft::nft_rules_for(&svcs, &cfg);
    let mut g = c.benchmark_group("kube-proxy-nft-10k-services");
    g.sample_size(10);
    g.bench_function(
        "parse nft -f transaction (10k services x 3 endpoints)",
        |b| b.iter(|| podpath_sim::net::netfilter::nftables::Nft::parse(&text).unwrap()),
    );
    let nft = podpath_sim::net::netfilter::nftables::Nft::parse(&text).unwrap();
    eprintln!(
        "nft transaction: {} bytes, {} lines",
        text.len(),
        text.lines().count()
    );
    let mut h = node(Ruleset::empty());
    h.nft = nft.into();
    let mac = h.devs[1].mac;
    let frame = syn(Ipv4Addr::new(10, 96, 19, 137), mac);
    g.bench_function("one SYN through the node (nft: vmap, numgen, DNAT)", |b| {
        b.iter(|| syn_through(&mut h, &frame))
    });
    g.finish();
}

criterion_group!(benches, bench, bench_nft);
criterion_main!(benches);
