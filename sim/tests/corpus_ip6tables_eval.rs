//! Every ip6tables-save dump of the corpus evaluated, not only parsed:
//! IPv6 probe packets (new and established TCP, UDP, ICMPv6 echo and
//! Neighbor Discovery, INVALID segments, from global and link-local
//! sources, on every interface a dump names) walk every built-in chain
//! of every table. No walk may leave a rule to the unmodelled
//! assumption, walks are deterministic, and the verdicts a reading of
//! each dump's rules gives are the ones podpath reaches (each expectation
//! cites the rule that decides it).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use podpath_sim::net::netfilter::{
    addrtype, ctbits, AddrClass, EvalEnv, HookOutcome, NfPacket, NfState, RejectWith, Ruleset,
    ScriptChooser, TableKind, Target, Verdict,
};

/// The dumped machine's addresses as `-m addrtype` sees them: `::1` and
/// the addresses a dump's SNAT rules name are its own.
struct Machine {
    local: Vec<Ipv6Addr>,
}

impl AddrClass for Machine {
    fn addr_type(&self, _a: Ipv4Addr, _dev: Option<&str>) -> u16 {
        addrtype::UNSPEC
    }
    fn addr_type6(&self, a: Ipv6Addr, _dev: Option<&str>) -> u16 {
        if a.is_multicast() {
            addrtype::MULTICAST
        } else if self.local.contains(&a) {
            addrtype::LOCAL | addrtype::UNICAST
        } else {
            addrtype::UNICAST
        }
    }
}

fn dump(name: &str) -> Ruleset {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus/ip6tables")
        .join(name);
    let t = std::fs::read_to_string(&p).unwrap();
    Ruleset::parse_v6(&t, name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[derive(Clone)]
struct Probe {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    proto: u8,
    dport: Option<u16>,
    flags: Option<u8>,
    icmp: Option<(u8, u8)>,
    ct: u8,
    in_if: Option<&'static str>,
    out_if: Option<&'static str>,
}

fn tcp(src: &str, dst: &str, dport: u16, flags: u8, ct: u8) -> Probe {
    Probe {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: 6,
        dport: Some(dport),
        flags: Some(flags),
        icmp: None,
        ct,
        in_if: None,
        out_if: None,
    }
}

fn icmp6(src: &str, dst: &str, ty: u8, ct: u8) -> Probe {
    Probe {
        proto: 58,
        dport: None,
        flags: None,
        icmp: Some((ty, 0)),
        ..tcp(src, dst, 0, 0, ct)
    }
}

impl Probe {
    fn on(mut self, i: Option<&'static str>, o: Option<&'static str>) -> Probe {
        self.in_if = i;
        self.out_if = o;
        self
    }
    fn packet(&self) -> NfPacket {
        NfPacket {
            proto: self.proto,
            sport: self.dport.map(|_| 43210),
            dport: self.dport,
            tcp_flags: self.flags,
            icmp: self.icmp,
            ct_state: self.ct,
            in_if: self.in_if.map(String::from),
            out_if: self.out_if.map(String::from),
            ttl: 64,
            len: 80,
            ip6: Some((self.src, self.dst)),
            ..Default::default()
        }
    }
}

fn walk(rs: &Ruleset, m: &Machine, table: TableKind, chain: &str, p: &Probe) -> HookOutcome {
    let mut pkt = p.packet();
    let mut chooser = ScriptChooser::default();
    let mut state = NfState::default();
    let mut env = EvalEnv {
        addr: m,
        chooser: &mut chooser,
        state: &mut state,
        now_ns: 1_000_000_000,
        assume: Default::default(),
    };
    rs.run_hook(table, chain, &mut pkt, &mut env)
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// The probes every dump meets, on each interface it names.
fn probes(ifaces: &[&'static str]) -> Vec<Probe> {
    let base = [
        tcp("2001:db8::5", "2001:db8::1", 22, SYN, ctbits::NEW),
        tcp("2001:db8::5", "2001:db8::1", 80, SYN, ctbits::NEW),
        tcp("2001:db8::5", "2001:db8::1", 23, SYN, ctbits::NEW),
        tcp("2001:db8::5", "2001:db8::1", 22, ACK, ctbits::ESTABLISHED),
        tcp("2001:db8::5", "2001:db8::1", 22, ACK, ctbits::INVALID),
        icmp6("2001:db8::5", "2001:db8::1", 128, ctbits::NEW),
        icmp6("fe80::5", "ff02::1:ff00:1", 135, ctbits::INVALID),
        icmp6("fe80::5", "fe80::1", 136, ctbits::INVALID),
        Probe {
            proto: 17,
            flags: None,
            ..tcp("fe80::5", "ff02::fb", 5353, 0, ctbits::NEW)
        },
    ];
    let mut v = Vec::new();
    for p in base {
        v.push(p.clone().on(None, None));
        for i in ifaces {
            v.push(p.clone().on(Some(i), None));
            v.push(p.clone().on(None, Some(i)));
        }
    }
    v
}

const CORPUS: &[(&str, &[&str])] = &[
    ("firehol-basics-interface6.txt", &["eth0", "lo"]),
    ("firehol-basics-router46-6.txt", &["eth0", "eth1", "lo"]),
    ("iptables-tests-fedora27-ip6.txt", &["wlp58s0", "lo"]),
    ("iptables-tests-restore-dump6.txt", &["eth0", "lo"]),
    ("iptsem-parser-test6.txt", &["eth0"]),
    ("iptsem-synology-ds414.txt", &["eth0", "eth1", "lo"]),
    ("moby-bridge-cleaned6.txt", &["br-dummy", "eth0"]),
    ("moby-bridge-internal6.txt", &["br-dummy", "eth0"]),
    ("moby-bridge-nat-hairpin.txt", &["br-dummy", "eth0"]),
    ("moby-bridge-routed.txt", &["br-dummy", "eth0"]),
];

#[test]
fn every_ip6tables_dump_walks_every_chain_with_nothing_assumed() {
    let m = Machine {
        local: vec![Ipv6Addr::LOCALHOST],
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus/ip6tables");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        on_disk,
        CORPUS.len(),
        "every dump of the corpus is listed here"
    );
    let mut walks = 0;
    let mut decided = 0;
    for (name, ifaces) in CORPUS {
        let rs = dump(name);
        for (&table, t) in &rs.tables {
            // the built-in chains with rules (an empty one is its policy)
            for c in t
                .chains
                .iter()
                .filter(|c| c.policy.is_some() && !c.rules.is_empty())
            {
                for p in probes(ifaces) {
                    let a = walk(&rs, &m, table, &c.name, &p);
                    let b = walk(&rs, &m, table, &c.name, &p);
                    assert_eq!(
                        (a.verdict, &a.nat, a.steps.len()),
                        (b.verdict, &b.nat, b.steps.len()),
                        "{name} {table:?} {}: the same walk twice",
                        c.name
                    );
                    for s in &a.steps {
                        assert!(
                            !s.effect.contains("not modelled"),
                            "{name} {table:?} {} #{}: {}",
                            c.name,
                            s.rule,
                            s.effect
                        );
                    }
                    walks += 1;
                    decided += usize::from(a.steps.iter().any(|s| s.rule > 0));
                }
            }
        }
    }
    println!("{walks} walks, {decided} met a matching rule");
    assert!(walks > 1000, "{walks} walks");
    // most walks meet a rule that matches (not only a policy)
    assert!(decided * 2 > walks, "{decided} of {walks} walks met a rule");
}

fn verdict(name: &str, table: TableKind, chain: &str, p: Probe) -> HookOutcome {
    let m = Machine {
        local: vec![Ipv6Addr::LOCALHOST],
    };
    walk(&dump(name), &m, table, chain, &p)
}

#[test]
fn fedora27_firewalld_zone_verdicts() {
    let f = "iptables-tests-fedora27-ip6.txt";
    let w = Some("wlp58s0");
    // IN_FedoraWorkstation_allow: -p tcp --dport 22 --ctstate NEW -j ACCEPT
    let o = verdict(
        f,
        TableKind::Filter,
        "INPUT",
        tcp("2001:db8::5", "2001:db8::1", 22, SYN, ctbits::NEW).on(w, None),
    );
    assert_eq!(o.verdict, Verdict::Accept);
    assert_eq!(o.steps.last().unwrap().chain, "IN_FedoraWorkstation_allow");
    // nothing allows telnet: INPUT's last rule, -j REJECT --reject-with icmp6-adm-prohibited
    let o = verdict(
        f,
        TableKind::Filter,
        "INPUT",
        tcp("2001:db8::5", "2001:db8::1", 23, SYN, ctbits::NEW).on(w, None),
    );
    assert_eq!(o.verdict, Verdict::Reject(RejectWith::Icmp6(1)));
    // IN_FedoraWorkstation: -p ipv6-icmp -j ACCEPT (Neighbor Discovery too)
    let o = verdict(
        f,
        TableKind::Filter,
        "INPUT",
        icmp6("fe80::5", "ff02::1:ff00:1", 135, ctbits::INVALID).on(w, None),
    );
    assert_eq!(o.verdict, Verdict::Accept);
    // an INVALID segment to port 22: -m conntrack --ctstate INVALID -j DROP
    let o = verdict(
        f,
        TableKind::Filter,
        "INPUT",
        tcp("2001:db8::5", "2001:db8::1", 22, ACK, ctbits::INVALID).on(w, None),
    );
    assert_eq!(o.verdict, Verdict::Drop);
    // the first rule: --ctstate RELATED,ESTABLISHED -j ACCEPT
    let o = verdict(
        f,
        TableKind::Filter,
        "INPUT",
        tcp("2001:db8::5", "2001:db8::1", 23, ACK, ctbits::ESTABLISHED).on(w, None),
    );
    assert_eq!(
        (o.verdict, o.steps.last().unwrap().rule),
        (Verdict::Accept, 1)
    );
}

#[test]
fn moby_ipv6_bridge_verdicts_and_nat() {
    let h = "moby-bridge-nat-hairpin.txt";
    let c = "fd49:efd7:54aa::1";
    // raw PREROUTING: -d fd49:efd7:54aa::1/128 ! -i br-dummy -j DROP
    let o = verdict(
        h,
        TableKind::Raw,
        "PREROUTING",
        tcp("2001:db8::5", c, 80, SYN, ctbits::NEW).on(Some("eth0"), None),
    );
    assert_eq!(o.verdict, Verdict::Drop);
    let o = verdict(
        h,
        TableKind::Raw,
        "PREROUTING",
        tcp("fd49:efd7:54aa::2", c, 80, SYN, ctbits::NEW).on(Some("br-dummy"), None),
    );
    assert_eq!(o.verdict, Verdict::Accept);
    // DOCKER: the published port 80 in, anything else to the bridge dropped
    let o = verdict(
        h,
        TableKind::Filter,
        "FORWARD",
        tcp("2001:db8::5", c, 80, SYN, ctbits::NEW).on(Some("eth0"), Some("br-dummy")),
    );
    assert_eq!(o.verdict, Verdict::Accept);
    let o = verdict(
        h,
        TableKind::Filter,
        "FORWARD",
        tcp("2001:db8::5", c, 81, SYN, ctbits::NEW).on(Some("eth0"), Some("br-dummy")),
    );
    assert_eq!(o.verdict, Verdict::Drop);
    // nat OUTPUT: -m addrtype --dst-type LOCAL -j DOCKER, then
    // ! -s fe80::/10 -d ::1/128 -p tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80
    let o = verdict(
        h,
        TableKind::Nat,
        "OUTPUT",
        tcp("::1", "::1", 8080, SYN, ctbits::NEW),
    );
    match o.nat {
        Some(Target::Dnat { to, .. }) => {
            assert_eq!(to.addr_lo, Some(c.parse::<Ipv6Addr>().unwrap().into()));
            assert_eq!(to.ports, Some((80, 80)));
        }
        other => panic!("{other:?}"),
    }
    // from a link-local source: no DNAT
    let o = verdict(
        h,
        TableKind::Nat,
        "OUTPUT",
        tcp("fe80::1", "::1", 8080, SYN, ctbits::NEW),
    );
    assert!(o.nat.is_none());
    // POSTROUTING: -s fd49:efd7:54aa::/64 ! -o br-dummy -j SNAT --to-source fd34:d0d4:672f::123
    let o = verdict(
        h,
        TableKind::Nat,
        "POSTROUTING",
        tcp("fd49:efd7:54aa::2", "2001:db8::5", 443, SYN, ctbits::NEW).on(None, Some("eth0")),
    );
    match o.nat {
        Some(Target::Snat { to, .. }) => {
            assert_eq!(
                to.addr_lo,
                Some("fd34:d0d4:672f::123".parse::<Ipv6Addr>().unwrap().into())
            )
        }
        other => panic!("{other:?}"),
    }
    // routed mode: DOCKER -o br-dummy -p ipv6-icmp -j ACCEPT
    let o = verdict(
        "moby-bridge-routed.txt",
        TableKind::Filter,
        "FORWARD",
        icmp6("2001:db8::5", c, 128, ctbits::NEW).on(Some("eth0"), Some("br-dummy")),
    );
    assert_eq!(o.verdict, Verdict::Accept);
}

#[test]
fn synology_and_firehol_verdicts() {
    let s = "iptsem-synology-ds414.txt";
    // INPUT_FIREWALL: -s fe80::/10 -p icmpv6 --icmpv6-type 135 -j ACCEPT
    let o = verdict(
        s,
        TableKind::Filter,
        "INPUT",
        icmp6("fe80::5", "ff02::1:ff00:1", 135, ctbits::INVALID).on(Some("eth0"), None),
    );
    assert_eq!(o.verdict, Verdict::Accept);
    // FORWARD_FIREWALL: -p tcp -m multiport --dports 548,443,80,3493,3306,22,23 -j DROP
    let o = verdict(
        s,
        TableKind::Filter,
        "FORWARD",
        tcp("2001:db8::5", "2001:db8::9", 22, SYN, ctbits::NEW).on(Some("eth0"), Some("eth1")),
    );
    assert_eq!(o.verdict, Verdict::Drop);
    let f = "firehol-basics-router46-6.txt";
    // a NEW segment with ACK alone: --tcp-flags ACK ACK --ctstate INVALID,NEW -j DROP
    let o = verdict(
        f,
        TableKind::Filter,
        "INPUT",
        tcp("2001:db8::5", "2001:db8::1", 22, ACK, ctbits::NEW).on(Some("eth0"), None),
    );
    assert_eq!(
        (o.verdict, o.steps.last().unwrap().rule),
        (Verdict::Drop, 4)
    );
    // OUTPUT -o lo -j ACCEPT
    let o = verdict(
        f,
        TableKind::Filter,
        "OUTPUT",
        tcp("::1", "::1", 22, SYN, ctbits::NEW).on(None, Some("lo")),
    );
    assert_eq!(
        (o.verdict, o.steps.last().unwrap().rule),
        (Verdict::Accept, 1)
    );
}
