//! Every nftables ruleset of the corpus evaluated on IPv6 packets, not
//! only parsed: IPv6 probes (new and established TCP, UDP, ICMPv6 echo
//! and Neighbor Discovery, on lo and eth0) run the base chains of every
//! `ip6` and `inet` table at each hook, as the kernel's IPv6 hooks do
//! (an `ip` table's chains never see them). Walks are deterministic, and
//! the verdicts and NAT a reading of the rules gives are podpath's (each
//! expectation cites the rule that decides it).

use std::net::{Ipv4Addr, Ipv6Addr};

use podpath_sim::net::netfilter::nftables::{DynSets, Nft};
use podpath_sim::net::netfilter::{
    addrtype, ctbits, AddrClass, EvalEnv, Hook, HookOutcome, NfPacket, NfState, ScriptChooser,
    TableKind, Target,
};

mod common;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus/nft");

/// The machine's own IPv6 addresses as `fib daddr type` sees them.
struct Machine;

impl AddrClass for Machine {
    fn addr_type(&self, _a: Ipv4Addr, _dev: Option<&str>) -> u16 {
        addrtype::UNICAST
    }
    fn addr_type6(&self, a: Ipv6Addr, _dev: Option<&str>) -> u16 {
        if a.is_multicast() {
            addrtype::MULTICAST
        } else if a == Ipv6Addr::LOCALHOST || a == "2001:db8::1".parse::<Ipv6Addr>().unwrap() {
            addrtype::LOCAL
        } else {
            addrtype::UNICAST
        }
    }
}

fn load(name: &str) -> Nft {
    let p = std::path::Path::new(ROOT).join(name);
    let text = std::fs::read_to_string(&p).expect("corpus file");
    let reader = common::include_reader_in(p.parent().expect("a folder").to_path_buf());
    Nft::parse_with(&text, &reader).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn packet(src: &str, dst: &str, proto: u8, dport: Option<u16>, ct: u8) -> NfPacket {
    NfPacket {
        proto,
        sport: dport.map(|_| 43210),
        dport,
        tcp_flags: (proto == 6).then_some(if ct == ctbits::NEW { 0x02 } else { 0x10 }),
        icmp: match (proto, dport) {
            (58, Some(t)) => Some((t as u8, 0)),
            _ => None,
        },
        ct_state: ct,
        ttl: 64,
        len: 80,
        ip6: Some((src.parse().unwrap(), dst.parse().unwrap())),
        ..Default::default()
    }
}

fn probes() -> Vec<NfPacket> {
    let base = [
        packet("2001:db8::5", "2001:db8::1", 6, Some(22), ctbits::NEW),
        packet("2001:db8::5", "2001:db8::1", 6, Some(80), ctbits::NEW),
        packet("2001:db8::5", "2001:db8::9", 6, Some(443), ctbits::NEW),
        packet(
            "2001:db8::5",
            "2001:db8::1",
            6,
            Some(22),
            ctbits::ESTABLISHED,
        ),
        packet("fd00::5", "::1", 6, Some(8080), ctbits::NEW),
        packet("2001:db8::5", "2001:db8::1", 17, Some(53), ctbits::NEW),
        packet("2001:db8::5", "2001:db8::1", 58, Some(128), ctbits::NEW),
        packet("fe80::5", "ff02::1:ff00:1", 58, Some(135), ctbits::INVALID),
    ];
    let mut v = Vec::new();
    for p in base {
        for (i, o) in [
            (None, None),
            (Some("eth0"), None),
            (None, Some("eth0")),
            (Some("lo"), Some("lo")),
        ] {
            let mut q = p.clone();
            q.in_if = i.map(String::from);
            q.out_if = o.map(String::from);
            v.push(q);
        }
    }
    v
}

const HOOKS: [Hook; 5] = [
    Hook::Prerouting,
    Hook::Input,
    Hook::Forward,
    Hook::Output,
    Hook::Postrouting,
];
const SLOTS: [TableKind; 4] = [
    TableKind::Raw,
    TableKind::Mangle,
    TableKind::Nat,
    TableKind::Filter,
];

fn walk(n: &Nft, hook: Hook, slot: TableKind, p: &NfPacket) -> (HookOutcome, NfPacket) {
    let (a, b) = n.chains_at6(slot, hook);
    let all: Vec<_> = a.into_iter().chain(b).collect();
    let mut pkt = p.clone();
    let mut chooser = ScriptChooser::default();
    let mut state = NfState::default();
    let mut env = EvalEnv {
        addr: &Machine,
        chooser: &mut chooser,
        state: &mut state,
        now_ns: 1_000_000_000,
        assume: Default::default(),
    };
    let o = n.run(&all, &mut pkt, &mut env, &mut DynSets::default());
    (o, pkt)
}

#[test]
fn every_nft_ruleset_runs_ipv6_packets() {
    let mut files = 0;
    let mut with_v6 = 0;
    let mut walks = 0;
    let mut decided = 0;
    for (name, _) in common::files_under(std::path::Path::new(ROOT)) {
        let n = load(&name);
        files += 1;
        if !n.has_v6() {
            continue;
        }
        with_v6 += 1;
        for hook in HOOKS {
            for slot in SLOTS {
                if n.chains_at6(slot, hook) == (Vec::new(), Vec::new()) {
                    continue;
                }
                for p in probes() {
                    let (a, pa) = walk(&n, hook, slot, &p);
                    let (b, pb) = walk(&n, hook, slot, &p);
                    assert_eq!(
                        (a.verdict, &a.nat, a.steps.len(), pa.mark),
                        (b.verdict, &b.nat, b.steps.len(), pb.mark),
                        "{name} {hook:?} {slot:?}: the same walk twice"
                    );
                    walks += 1;
                    if a.steps.iter().any(|s| s.rule > 0) || a.nat.is_some() {
                        decided += 1;
                    }
                }
            }
        }
    }
    println!("{files} files, {with_v6} with IPv6 chains; {walks} walks, {decided} met a rule");
    assert!(files >= 50, "{files}");
    assert!(with_v6 >= 30, "{with_v6}");
    assert!(walks >= 3000, "{walks}");
    assert!(decided >= 1000, "{decided}");
}

/// moby's ip6 docker-bridges table (moby-bridge-nat-unprotected-ip6.txt):
/// nat-OUTPUT's `fib daddr type local ... jump nat-prerouting-and-output`,
/// whose `ip6 saddr != fe80::/10 ip6 daddr ::1 tcp dport 8080 ... dnat to
/// [fd49:efd7:54aa::1]:80` maps the published port; filter-FORWARD's
/// `oifname vmap @filter-forward-in-jumps` to br-dummy reaches
/// `iifname "br-dummy" ... drop comment "ICC"` for a container's own
/// bridge and `accept comment "UNPROTECTED"` from outside; the ip table
/// of moby-bridge-nat-ip.txt never sees an IPv6 packet.
#[test]
fn moby_ip6_table_maps_and_forwards_ipv6() {
    let n = load("moby-bridge-nat-unprotected-ip6.txt");
    let p = packet("fd00::5", "::1", 6, Some(8080), ctbits::NEW);
    let (o, _) = walk(&n, Hook::Output, TableKind::Nat, &p);
    match &o.nat {
        Some(Target::Dnat { to, .. }) => {
            let s = format!("{to}");
            assert!(s.contains("fd49:efd7:54aa::1") && s.contains("80"), "{s}");
        }
        other => panic!("expected the DNAT, got {other:?}"),
    }
    let mut p = packet("2001:db8::5", "fd49:efd7:54aa::2", 6, Some(80), ctbits::NEW);
    p.in_if = Some("eth0".into());
    p.out_if = Some("br-dummy".into());
    let (o, _) = walk(&n, Hook::Forward, TableKind::Filter, &p);
    assert_eq!(o.verdict, podpath_sim::net::netfilter::Verdict::Accept);
    p.in_if = Some("br-dummy".into());
    let (o, _) = walk(&n, Hook::Forward, TableKind::Filter, &p);
    assert_eq!(
        o.verdict,
        podpath_sim::net::netfilter::Verdict::Drop,
        "{:?}",
        o.steps
    );
    let n4 = load("moby-bridge-nat-ip.txt");
    assert!(!n4.has_v6());
}
