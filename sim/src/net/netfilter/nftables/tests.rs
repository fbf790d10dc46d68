//! Unit tests of the nftables reader and evaluator.
use super::expr::parse_nft_time;
use super::script::priority;
use super::*;

#[test]
fn priorities_and_times() {
    assert_eq!(priority(&["dstnat".into()]), Some(-100));
    assert_eq!(
        priority(&["dstnat".into(), "-".into(), "10".into()]),
        Some(-110)
    );
    assert_eq!(priority(&["-110".into()]), Some(-110));
    assert_eq!(priority(&["srcnat".into()]), Some(100));
    assert_eq!(parse_nft_time("10800s"), Some(10_800_000_000_000));
    assert_eq!(parse_nft_time("3h"), Some(10_800_000_000_000));
    assert_eq!(parse_nft_time("1h30m"), Some(5_400_000_000_000));
    assert_eq!(parse_nft_time("x"), None);
}

#[test]
fn both_syntaxes_read_the_same_rules() {
    let cmds = "add table ip t\nadd chain ip t pre { type nat hook prerouting priority dstnat ; }\nadd chain ip t svc\nadd map ip t m { type ipv4_addr . inet_proto . inet_service : verdict ; }\nadd rule ip t pre ip daddr . meta l4proto . th dport vmap @m\nadd rule ip t svc meta l4proto tcp dnat to 10.0.0.1:80\nadd element ip t m { 10.96.0.1 . tcp . 80 : goto svc }\n";
    let block = "table ip t {\n\tmap m {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { 10.96.0.1 . tcp . 80 : goto svc }\n\t}\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\tip daddr . meta l4proto . th dport vmap @m\n\t}\n\tchain svc {\n\t\tmeta l4proto tcp dnat to 10.0.0.1:80\n\t}\n}\n";
    let a = Nft::parse(cmds).unwrap();
    let b = Nft::parse(block).unwrap();
    for n in [&a, &b] {
        let t = &n.tables[0];
        assert_eq!(t.sets["m"].elements.len(), 1);
        let pre = &t.chains[t.chain("pre").unwrap()];
        assert_eq!(pre.base.as_ref().unwrap().priority, -100);
        assert_eq!(pre.rules.len(), 1);
    }
    assert_eq!(a.to_text(), b.to_text());
}

#[test]
fn iptables_nft_tables_are_left_to_iptables_save() {
    let listing = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tct status dnat counter packets 0 bytes 0 drop\n\t}\n}\n# Warning: table ip nat is managed by iptables-nft, do not touch!\ntable ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\txt target \"MASQUERADE\"\n\t}\n}\ntable ip kube-proxy {\n\tchain c {\n\t\tdrop\n\t}\n}\n";
    let n = Nft::parse_listing(listing).unwrap();
    assert_eq!(n.tables.len(), 1);
    assert_eq!(n.tables[0].name, "kube-proxy");
    assert_eq!(n.tables[0].chains[0].rules[0].line, 16);
}

#[test]
fn errors_name_the_line() {
    let e =
        Nft::parse("add table ip t\nadd chain ip t c\nadd rule ip t c jump nowhere\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("chain 'nowhere'"), "{e}");
    let e =
        Nft::parse("add table ip t\nadd chain ip t c\nadd rule ip t c frobnicate 3\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        e.message.contains("syntax error, unexpected frobnicate"),
        "{e}"
    );
    assert!(Nft::parse("add table ip6 t\n").is_ok());
    let e = Nft::parse("table ip t {\n chain c {\n").unwrap_err();
    assert!(e.message.contains("expecting '}'"), "{e}");
}

mod eval_tests {
    use std::net::Ipv4Addr;

    use super::super::*;
    use crate::net::netfilter::{
        addrtype, ctbits, AddrClass, EvalEnv, NfPacket, NfState, RngChooser, TableKind, Target,
        Verdict,
    };
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    struct Local;
    impl AddrClass for Local {
        fn addr_type(&self, a: Ipv4Addr, _dev: Option<&str>) -> u16 {
            if a == Ipv4Addr::new(10, 0, 0, 1) {
                addrtype::LOCAL
            } else {
                addrtype::UNICAST
            }
        }
    }

    fn pkt(src: &str, dst: &str, dport: u16) -> NfPacket {
        NfPacket {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: 6,
            sport: Some(40000),
            dport: Some(dport),
            tcp_flags: Some(2),
            in_if: Some("eth1".into()),
            ct_state: ctbits::NEW,
            ..Default::default()
        }
    }

    /// Runs every base chain of `hook` (all slots) at time `now`.
    fn run(nft: &Nft, hook: Hook, p: &mut NfPacket, now: u64, d: &mut DynSets) -> HookOutcome {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut chooser = RngChooser(&mut rng);
        let mut state = NfState::default();
        let mut env = EvalEnv {
            addr: &Local,
            chooser: &mut chooser,
            state: &mut state,
            now_ns: now,
            assume: Default::default(),
        };
        let mut all = Vec::new();
        for t in [
            TableKind::Raw,
            TableKind::Mangle,
            TableKind::Nat,
            TableKind::Filter,
        ] {
            let (a, b) = nft.chains_at(t, hook);
            all.extend(a);
            all.extend(b);
        }
        nft.run(&all, p, &mut env, d)
    }
    use crate::net::netfilter::HookOutcome;

    /// Istio's `redirect to :15001` (istio-sidecar golden): REDIRECT to
    /// the port.
    #[test]
    fn redirect_to_a_port() {
        let n = Nft::parse("table inet t {\n chain out {\n  type nat hook output priority dstnat; policy accept;\n  meta l4proto tcp ip daddr != 127.0.0.1/32 counter redirect to :15001\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let o = run(
            &n,
            Hook::Output,
            &mut pkt("10.0.0.1", "10.96.0.1", 80),
            0,
            &mut DynSets::default(),
        );
        assert_eq!(
            o.nat,
            Some(Target::Redirect {
                ports: Some((15001, 15001))
            })
        );
        let o = run(
            &n,
            Hook::Output,
            &mut pkt("10.0.0.1", "127.0.0.1", 80),
            0,
            &mut DynSets::default(),
        );
        assert_eq!(o.nat, None);
    }

    /// An IPv6 NAT in an inet table does nothing to an IPv4 packet
    /// (nft_nat.c nft_nat_inet_eval: not the packet's family) and the
    /// IPv4 one of the same chain still applies; on an IPv6 packet the
    /// first IPv6 one applies.
    #[test]
    fn nat_runs_on_packets_of_its_family() {
        let n = Nft::parse("table inet t {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 80 dnat ip6 to [fd00::1]:8080\n  tcp dport 80 dnat ip6 to feed::1\n  tcp dport 80 dnat ip to 10.0.0.9:8080\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        assert!(n.ipv6_kept.is_empty(), "{:?}", n.ipv6_kept);
        let o = run(
            &n,
            Hook::Prerouting,
            &mut pkt("10.0.0.1", "10.96.0.1", 80),
            0,
            &mut DynSets::default(),
        );
        assert!(matches!(o.nat, Some(Target::Dnat { .. })), "{:?}", o.nat);
        assert!(format!("{:?}", o.nat).contains("10.0.0.9"), "{:?}", o.nat);
        let mut p6 = pkt("0.0.0.0", "0.0.0.0", 80);
        p6.ip6 = Some(("fd00::9".parse().unwrap(), "fd00:96::1".parse().unwrap()));
        let o = run6(&n, Hook::Prerouting, &mut p6);
        let shown = format!("{:?}", o.nat);
        assert!(
            shown.contains("fd00::1") && shown.contains("8080"),
            "{shown}"
        );
    }

    /// IPv6 packets run the ip6 and inet tables' chains, not the ip ones;
    /// `ip6 saddr|daddr`, sets and concatenated maps of `ipv6_addr`,
    /// `icmpv6 type`, `meta nfproto` and `fib daddr type` read the IPv6
    /// packet; an `ip daddr` match fails on it (its `meta nfproto ipv4`
    /// dependency), an `ip6 daddr` one on an IPv4 packet.
    #[test]
    fn ipv6_packets_run_ip6_and_inet_chains() {
        let n = Nft::parse(concat!(
            "table ip v4 {\n chain c {\n  type filter hook input priority 0; policy accept;\n  meta mark set mark or 1\n }\n}\n",
            "table ip6 v6 {\n set s { type ipv6_addr ; flags interval ; elements = { fd00:10::/64 } }\n",
            " map m { type ipv6_addr . inet_proto . inet_service : verdict ; elements = { fd00:96::1 . tcp . 80 : jump svc } }\n",
            " chain c {\n  type filter hook input priority 0; policy accept;\n  meta mark set mark or 2\n  ip6 saddr @s meta mark set mark or 4\n  ip6 daddr . meta l4proto . th dport vmap @m\n }\n",
            " chain svc {\n  meta mark set mark or 8\n }\n}\n",
            "table inet both {\n chain c {\n  type filter hook input priority 10; policy accept;\n  ip daddr 10.0.0.0/8 meta mark set mark or 16\n  ip6 daddr fd00:96::/64 meta mark set mark or 32\n  meta nfproto ipv6 meta mark set mark or 64\n  icmpv6 type echo-request meta mark set mark or 128\n }\n}\n",
        ))
        .unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut p6 = pkt("0.0.0.0", "0.0.0.0", 80);
        p6.ip6 = Some(("fd00:10::5".parse().unwrap(), "fd00:96::1".parse().unwrap()));
        run6(&n, Hook::Input, &mut p6);
        assert_eq!(p6.mark, 2 | 4 | 8 | 32 | 64);
        let mut p4 = pkt("10.0.0.1", "10.0.0.2", 80);
        run(&n, Hook::Input, &mut p4, 0, &mut DynSets::default());
        assert_eq!(p4.mark, 1 | 16);
    }

    fn run6(nft: &Nft, hook: Hook, p: &mut NfPacket) -> HookOutcome {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut chooser = RngChooser(&mut rng);
        let mut state = NfState::default();
        let mut env = EvalEnv {
            addr: &Local,
            chooser: &mut chooser,
            state: &mut state,
            now_ns: 0,
            assume: Default::default(),
        };
        let mut all = Vec::new();
        for t in [
            TableKind::Raw,
            TableKind::Mangle,
            TableKind::Nat,
            TableKind::Filter,
        ] {
            let (a, b) = nft.chains_at6(t, hook);
            all.extend(a);
            all.extend(b);
        }
        nft.run(&all, p, &mut env, &mut DynSets::default())
    }

    /// What has one value on every packet podpath sends: no secpath
    /// (`ipsec ...` breaks, nft_xfrm.c; `meta ipsec` is false), no IP
    /// options (nft_exthdr_ipv4_eval), no SCTP chunk on a TCP packet
    /// (nft_exthdr_sctp_eval), no OS fingerprints (nft_osf.c: a SYN reads "unknown"); `ct packets`
    /// reads the connection's counters (nft_ct.c).
    #[test]
    fn matches_whose_value_is_known() {
        let n = Nft::parse("table ip t {\n chain c {\n  type filter hook prerouting priority 0; policy accept;\n  ipsec in reqid 1 meta mark set 1\n  ipsec in reqid != 1 meta mark set 2\n  meta ipsec missing meta mark set mark or 4\n  ip option ra value 1 meta mark set mark or 8\n  ip option ra missing meta mark set mark or 16\n  sctp chunk init num-inbound-streams 1 meta mark set mark or 32\n  osf name \"unknown\" meta mark set mark or 64\n  osf name \"Linux\" meta mark set mark or 128\n  ct packets > 2 meta mark set mark or 256\n  ct original bytes 100 meta mark set mark or 512\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut p = pkt("1.1.1.1", "10.0.0.1", 80);
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!(p.mark, 4 | 16 | 64);
        // not a SYN: osf breaks
        let mut p = pkt("1.1.1.1", "10.0.0.1", 80);
        p.tcp_flags = Some(0x10);
        p.ct = Some(crate::net::netfilter::iptables::matches::CtView {
            orig: (6, p.src, 40000, p.dst, 80),
            reply: (6, p.dst, 80, p.src, 40000),
            status: 8,
            expires_s: 100,
            reply_dir: false,
            acct: Some([(2, 100), (1, 60)]),
        });
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!(p.mark, 4 | 16 | 256 | 512);
        // accounting off: the counters read 0
        if let Some(c) = p.ct.as_mut() {
            c.acct = None;
        }
        p.mark = 0;
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!(p.mark, 4 | 16);
    }

    /// nft_exthdr.c nft_exthdr_sctp_eval on SCTP packets: the presence
    /// test, a field of the first chunk of the type (offsets of nftables'
    /// src/sctp_chunk.c), a missing chunk breaking a field's rule.
    #[test]
    fn sctp_chunk_fields() {
        use crate::wire::sctp::{Chunk, Init};
        let n = Nft::parse("table inet t {\n chain c {\n  type filter hook prerouting priority 0; policy accept;\n  sctp chunk init exists meta mark set mark or 1\n  sctp chunk init init-tag 0x11223344 meta mark set mark or 2\n  sctp chunk init num-inbound-streams 65535 meta mark set mark or 4\n  sctp chunk data missing meta mark set mark or 8\n  sctp chunk data tsn 7 meta mark set mark or 16\n  sctp chunk init flags 0 meta mark set mark or 32\n  sctp chunk init length 20 meta mark set mark or 64\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let init = Chunk::init(&Init {
            init_tag: 0x1122_3344,
            a_rwnd: 106_496,
            out_streams: 10,
            in_streams: 65535,
            init_tsn: 1,
            params: vec![],
        });
        let mut p = pkt("1.1.1.1", "10.0.0.1", 3868);
        p.proto = 132;
        p.tcp_flags = None;
        p.sctp_chunks = vec![init];
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!(p.mark, 1 | 2 | 4 | 8 | 32 | 64);
        let mut p = pkt("1.1.1.1", "10.0.0.1", 3868);
        p.proto = 132;
        p.tcp_flags = None;
        p.sctp_chunks = vec![Chunk::data(&crate::wire::sctp::Data {
            tsn: 7,
            stream: 0,
            ssn: 0,
            ppid: 0,
            payload: b"x".to_vec(),
        })];
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!(p.mark, 16);
        assert!(
            Nft::parse("table ip t {\n chain c {\n  sctp chunk nope exists accept\n }\n}\n")
                .is_err()
        );
    }

    /// nftables' files/examples load-balancing forms: `dnat to A : numgen
    /// inc mod 2 map { 0 : P, 1 : Q }` (the port round robin), `dnat to
    /// jhash ip saddr . tcp dport mod 2 map { ... }` (nft_jhash_eval:
    /// reciprocal_scale(jhash(saddr . dport, 8, seed), 2)), `ip daddr set
    /// numgen inc mod 2 map { ... }` (a stateless rewrite) and `ip ttl
    /// set`.
    #[test]
    fn numgen_and_jhash_choose_nat_and_payload_values() {
        let n = Nft::parse("table ip t {\n chain c {\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 80 dnat to 192.168.1.100 : numgen inc mod 2 map { 0 : 4040, 1 : 4050 }\n  tcp dport 81 dnat to jhash ip saddr . tcp dport mod 2 map { 0 : 192.168.20.100, 1 : 192.168.30.100 }\n }\n chain f {\n  type filter hook prerouting priority 0; policy accept;\n  tcp dport 82 ip daddr set numgen inc mod 2 map { 0 : 192.168.1.100, 1 : 192.168.1.101 } ip ttl set 9\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut d = DynSets::default();
        let mut ports = Vec::new();
        for _ in 0..3 {
            let o = run(
                &n,
                Hook::Prerouting,
                &mut pkt("1.1.1.1", "10.0.0.1", 80),
                0,
                &mut d,
            );
            match o.nat {
                Some(Target::Dnat { to, .. }) => {
                    assert_eq!(to.addr_lo, Some(Ipv4Addr::new(192, 168, 1, 100).into()));
                    ports.push(to.ports.unwrap().0);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(ports, [4040, 4050, 4040]);
        // the hash of the register bytes 01 01 01 01 00 51 00 00 with seed 0
        let data = [1, 1, 1, 1, 0, 81, 0, 0];
        let want = expr::reciprocal_scale(expr::jhash(&data, 0), 2);
        let o = run(
            &n,
            Hook::Prerouting,
            &mut pkt("1.1.1.1", "10.0.0.1", 81),
            0,
            &mut d,
        );
        match o.nat {
            Some(Target::Dnat { to, .. }) => assert_eq!(
                to.addr_lo,
                Some(if want == 0 {
                    Ipv4Addr::new(192, 168, 20, 100).into()
                } else {
                    Ipv4Addr::new(192, 168, 30, 100).into()
                })
            ),
            other => panic!("{other:?}"),
        }
        let mut p = pkt("1.1.1.1", "10.0.0.1", 82);
        run(&n, Hook::Prerouting, &mut p, 0, &mut d);
        assert_eq!((p.dst, p.ttl), (Ipv4Addr::new(192, 168, 1, 100), 9));
        let mut p = pkt("1.1.1.1", "10.0.0.1", 82);
        run(&n, Hook::Prerouting, &mut p, 0, &mut d);
        assert_eq!(p.dst, Ipv4Addr::new(192, 168, 1, 101));
    }

    /// nft_ct.c: `ct helper set "obj"` gives an unconfirmed connection of
    /// the object's protocol its helper (nft_ct_helper_obj_eval), `ct
    /// helper` reads the helper's name (not the object's); no helper
    /// breaks the rule.
    #[test]
    fn ct_helper_objects_assign_and_match() {
        let n = Nft::parse("table ip t {\n ct helper myftp {\n  type \"ftp\" protocol tcp\n }\n set helpname {\n  typeof ct helper\n  elements = { \"sip\", \"ftp\" }\n }\n chain c {\n  type filter hook prerouting priority 0; policy accept;\n  ct helper @helpname meta mark set 1\n  tcp dport 21 ct helper set \"myftp\"\n  ct helper \"ftp\" meta mark set mark or 2\n  ct helper @helpname meta mark set mark or 4\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let ct = |status| crate::net::netfilter::iptables::matches::CtView {
            orig: (
                6,
                Ipv4Addr::new(1, 1, 1, 1),
                40000,
                Ipv4Addr::new(10, 0, 0, 1),
                21,
            ),
            reply: (
                6,
                Ipv4Addr::new(10, 0, 0, 1),
                21,
                Ipv4Addr::new(1, 1, 1, 1),
                40000,
            ),
            status,
            expires_s: 100,
            reply_dir: false,
            acct: None,
        };
        let mut p = pkt("1.1.1.1", "10.0.0.1", 21);
        p.ct = Some(ct(0));
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!((p.mark, p.ct_helper.as_deref()), (2 | 4, Some("ftp")));
        // a confirmed connection is not given one
        let mut p = pkt("1.1.1.1", "10.0.0.1", 21);
        p.ct = Some(ct(8));
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!((p.mark, p.ct_helper), (0, None));
    }

    /// nft_dup_ipv4.c: `dup to ADDR [device DEV]` asks for a clone (the
    /// hook sends it, as TEE's).
    #[test]
    fn dup_asks_for_a_clone() {
        let n = Nft::parse("table ip t {\n chain c {\n  type filter hook prerouting priority 0; policy accept;\n  tcp dport 80 dup to 10.0.0.9 device eth1 counter\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut p = pkt("1.1.1.1", "10.0.0.1", 80);
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!(
            p.dups,
            vec![(Ipv4Addr::new(10, 0, 0, 9), Some("eth1".to_string()))]
        );
    }

    /// nftables tests/shell maps/nat_addr_port: `dnat ip to ip saddr . tcp
    /// dport map @z` with `192.168.7.2 . 42 : 10.1.1.1 . 4242`, and a
    /// numgen inc map (round robin).
    #[test]
    fn dnat_through_maps() {
        let n = Nft::parse("table ip t {\n map z {\n  type ipv4_addr . inet_service : ipv4_addr . inet_service\n  elements = { 192.168.7.2 . 42 : 10.1.1.1 . 4242 }\n }\n chain c {\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 42 dnat ip to ip saddr . tcp dport map @z\n  tcp dport 80 dnat to numgen inc mod 2 map { 0 : 10.2.0.1, 1 : 10.2.0.2 }\n }\n}\n").unwrap();
        let mut d = DynSets::default();
        let o = run(
            &n,
            Hook::Prerouting,
            &mut pkt("192.168.7.2", "10.0.0.1", 42),
            0,
            &mut d,
        );
        match o.nat {
            Some(Target::Dnat { to, .. }) => {
                assert_eq!(to.addr_lo, Some(Ipv4Addr::new(10, 1, 1, 1).into()));
                assert_eq!(to.ports, Some((4242, 4242)));
            }
            other => panic!("{other:?}"),
        }
        // no element for this source: the rule breaks, no NAT
        let o = run(
            &n,
            Hook::Prerouting,
            &mut pkt("192.168.7.3", "10.0.0.1", 42),
            0,
            &mut d,
        );
        assert_eq!(o.nat, None);
        let mut picks = Vec::new();
        for _ in 0..3 {
            let o = run(
                &n,
                Hook::Prerouting,
                &mut pkt("1.1.1.1", "10.0.0.1", 80),
                0,
                &mut d,
            );
            match o.nat {
                Some(Target::Dnat { to, .. }) => picks
                    .push(crate::net::netfilter::conntrack::v4(to.addr_lo.unwrap()).octets()[3]),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(picks, [1, 2, 1]);
    }

    /// `limit rate 2/second burst 2 packets` on the virtual clock: two
    /// pass, the third in the same instant does not, one more after
    /// half a second.
    #[test]
    fn limit_is_a_token_bucket() {
        let n = Nft::parse("table inet t {\n chain i {\n  type filter hook input priority 0; policy drop;\n  limit rate 2/second burst 2 packets accept\n }\n}\n").unwrap();
        let mut d = DynSets::default();
        let v: Vec<Verdict> = [0u64, 0, 0, 500_000_000]
            .iter()
            .map(|t| {
                run(
                    &n,
                    Hook::Input,
                    &mut pkt("1.1.1.1", "10.0.0.1", 22),
                    *t,
                    &mut d,
                )
                .verdict
            })
            .collect();
        assert_eq!(
            v,
            [
                Verdict::Accept,
                Verdict::Accept,
                Verdict::Drop,
                Verdict::Accept
            ]
        );
    }

    /// A named quota whose dump says it is used up (tests/shell
    /// listing/0013objects): `quota name` no longer matches; `over` does.
    #[test]
    fn quota_objects() {
        let n = Nft::parse("table ip t {\n quota q { 25 mbytes used 25 mbytes }\n quota r { 25 mbytes }\n chain i {\n  type filter hook input priority 0; policy accept;\n  tcp dport 1 quota name \"q\" drop\n  tcp dport 2 quota name \"r\" drop\n  tcp dport 3 quota over 10 bytes used 20 bytes drop\n }\n}\n").unwrap();
        let mut d = DynSets::default();
        let v = |port, d: &mut DynSets| {
            run(&n, Hook::Input, &mut pkt("1.1.1.1", "10.0.0.1", port), 0, d).verdict
        };
        assert_eq!(v(1, &mut d), Verdict::Accept);
        assert_eq!(v(2, &mut d), Verdict::Drop);
        assert_eq!(v(3, &mut d), Verdict::Drop);
    }

    /// Interval sets (nixos portRules `42000-42004`), interface-name sets
    /// (moby `br-dummy`, wildcards), ct state lists, tcp flags.
    #[test]
    fn interval_and_ifname_sets() {
        let n = Nft::parse("table inet t {\n set ports {\n  type inet_service\n  flags interval\n  elements = { 22, 42000-42004 }\n }\n set ifs {\n  type ifname\n  elements = { \"br-dummy\", \"eth*\" }\n }\n chain i {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iifname @ifs tcp flags syn tcp dport @ports accept\n  iifname { \"lo\" } accept\n }\n}\n").unwrap();
        let mut d = DynSets::default();
        let v = |p: &mut NfPacket, d: &mut DynSets| run(&n, Hook::Input, p, 0, d).verdict;
        assert_eq!(
            v(&mut pkt("1.1.1.1", "10.0.0.1", 42003), &mut d),
            Verdict::Accept
        );
        assert_eq!(
            v(&mut pkt("1.1.1.1", "10.0.0.1", 42005), &mut d),
            Verdict::Drop
        );
        let mut p = pkt("1.1.1.1", "10.0.0.1", 22);
        p.in_if = Some("br-dummy".into());
        assert_eq!(v(&mut p, &mut d), Verdict::Accept);
        p.in_if = Some("wlan0".into());
        assert_eq!(v(&mut p, &mut d), Verdict::Drop);
        p.ct_state = ctbits::ESTABLISHED;
        assert_eq!(v(&mut p, &mut d), Verdict::Accept);
    }

    /// A name only the dumped machine resolves (`meta skgid java`: nft's
    /// gid_type_parse asks getgrnam when it loads the script) obeys
    /// `assume` and says what would resolve it; `ip6 saddr` never holds
    /// for IPv4 (its nfproto dependency fails), even with `!=`.
    #[test]
    fn unresolved_names_follow_assume() {
        let text = "table inet t {\n chain i {\n  type filter hook input priority 0; policy accept;\n  ip6 saddr != ::1 drop\n  meta skgid java drop\n  skuid { root, 7 } drop\n }\n}\n";
        let n = Nft::parse(text).unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let u = n.unresolved();
        assert_eq!(u.iter().map(|u| u.line).collect::<Vec<_>>(), [5, 6]);
        assert!(u[0].effect.contains("/etc/group"), "{}", u[0].effect);
        assert!(u[1].effect.contains("/etc/passwd"), "{}", u[1].effect);
        let o = run(
            &n,
            Hook::Input,
            &mut pkt("1.1.1.1", "10.0.0.1", 1),
            0,
            &mut DynSets::default(),
        );
        assert_eq!(o.verdict, Verdict::Accept);
        assert!(o.steps.iter().any(
            |s| s.effect.contains("etc/group") && s.effect.contains("treated as not matching")
        ));
    }

    /// With the machine's files the names are ids (src/meta.c
    /// gid_type_parse: getgrnam; uid_type_parse: getpwnam), the rule text
    /// says them as `nft list` does (names only with `-u`); a name a given
    /// file lacks is nft's error.
    #[test]
    fn owner_names_resolve_through_the_machines_files() {
        use crate::net::names::{parse_ids, Etc};
        let text = "table inet t {\n chain o {\n  type filter hook output priority 0; policy accept;\n  meta skgid java drop\n  skuid { root, 7 } drop\n }\n}\n";
        let etc = Etc {
            passwd: Some(parse_ids("root:x:0:0::/:\n")),
            group: Some(parse_ids("java:x:1337:\n")),
            hosts: None,
        };
        let mut n = Nft::parse(text).unwrap();
        n.resolve_names(&etc).unwrap();
        assert!(n.unresolved().is_empty());
        let printed = n.to_text();
        assert!(printed.contains("meta skgid 1337 drop"), "{printed}");
        assert!(printed.contains("skuid { 0, 7 } drop"), "{printed}");
        let verdict = |owner| {
            let mut p = pkt("10.0.0.1", "1.1.1.1", 1);
            p.owner = owner;
            run(&n, Hook::Output, &mut p, 0, &mut DynSets::default()).verdict
        };
        assert_eq!(verdict(Some(1337)), Verdict::Drop);
        assert_eq!(verdict(Some(0)), Verdict::Drop);
        assert_eq!(verdict(Some(8)), Verdict::Accept);
        let mut n = Nft::parse(text).unwrap();
        let e = n
            .resolve_names(&Etc {
                group: Some(parse_ids("wheel:x:10:\n")),
                ..etc.clone()
            })
            .unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (4, "Error: Group does not exist")
        );
    }

    /// A binding chain (tests/shell sample-ruleset: `tcp flags syn jump {
    /// ... }`) runs as the chain it is.
    #[test]
    fn binding_chains_run() {
        let n = Nft::parse("table inet t {\n chain i {\n  type filter hook input priority 0; policy accept;\n  tcp flags syn jump {\n   tcp dport 22 drop\n   tcp dport 23 drop\n  }\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut d = DynSets::default();
        let v = |port, d: &mut DynSets| {
            run(&n, Hook::Input, &mut pkt("1.1.1.1", "10.0.0.1", port), 0, d).verdict
        };
        assert_eq!(v(23, &mut d), Verdict::Drop);
        assert_eq!(v(24, &mut d), Verdict::Accept);
    }

    /// tests/shell sets/0046netmap: `snat ip prefix to ip saddr map {
    /// 10.141.11.0/24 : 192.168.2.0/24 }` keeps the host bits.
    #[test]
    fn netmap_keeps_host_bits() {
        let n = Nft::parse("table ip t {\n chain p {\n  type nat hook postrouting priority srcnat; policy accept;\n  snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }\n }\n}\n").unwrap();
        let o = run(
            &n,
            Hook::Postrouting,
            &mut pkt("10.141.11.7", "1.1.1.1", 80),
            0,
            &mut DynSets::default(),
        );
        match o.nat {
            Some(Target::Snat { to, .. }) => {
                assert_eq!(to.addr_lo, Some(Ipv4Addr::new(192, 168, 2, 7).into()))
            }
            other => panic!("{other:?}"),
        }
    }

    /// tests/shell maps/named_limits and sets/0038meter_list: a limit
    /// object chosen by a map, and a per-source limit of a dynamic set.
    #[test]
    fn object_maps_and_meters() {
        let n = Nft::parse("table inet t {\n limit one { rate 1/second burst 1 packets }\n map lim {\n  typeof ip saddr : limit\n  elements = { 1.1.1.1 : \"one\" }\n }\n set m {\n  type ipv4_addr\n  flags dynamic\n }\n chain i {\n  type filter hook input priority 0; policy accept;\n  tcp dport 1 limit name ip saddr map @lim drop\n  tcp dport 2 add @m { ip saddr limit rate over 1/second burst 1 packets } drop\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut d = DynSets::default();
        let v = |src, port, d: &mut DynSets| {
            run(&n, Hook::Input, &mut pkt(src, "10.0.0.1", port), 0, d).verdict
        };
        // the object's one token: the first packet matches (drop), the
        // second does not; another source has no element (no match)
        assert_eq!(v("1.1.1.1", 1, &mut d), Verdict::Drop);
        assert_eq!(v("1.1.1.1", 1, &mut d), Verdict::Accept);
        assert_eq!(v("2.2.2.2", 1, &mut d), Verdict::Accept);
        // over 1/second per source: the second packet of a source is over
        assert_eq!(v("3.3.3.3", 2, &mut d), Verdict::Accept);
        assert_eq!(v("3.3.3.3", 2, &mut d), Verdict::Drop);
        assert_eq!(v("4.4.4.4", 2, &mut d), Verdict::Accept);
    }

    /// An `nft -f` script adding to iptables-nft's chains (calico's foreign
    /// script) runs them where iptables-nft registers them.
    #[test]
    fn iptables_nft_builtin_chains() {
        let n = Nft::parse("add chain ip filter x\nadd rule ip filter INPUT tcp dport 9 drop\n")
            .unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let v = run(
            &n,
            Hook::Input,
            &mut pkt("1.1.1.1", "10.0.0.1", 9),
            0,
            &mut DynSets::default(),
        )
        .verdict;
        assert_eq!(v, Verdict::Drop);
    }

    /// Marks: `meta mark set mark and 0xffff00ff xor 0xad` (fw4), `ct mark
    /// set ct mark & 0xfffff000 | 0x111` (istio).
    #[test]
    fn mark_bit_operations() {
        let n = Nft::parse("table inet t {\n chain p {\n  type filter hook prerouting priority mangle; policy accept;\n  meta mark set mark and 0xffff00ff xor 0xad\n  ct mark set ct mark & 0xfffff000 | 0x111\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut p = pkt("1.1.1.1", "10.0.0.1", 1);
        p.mark = 0x1234_5678;
        p.ctmark = 0xabcd_e123;
        run(&n, Hook::Prerouting, &mut p, 0, &mut DynSets::default());
        assert_eq!(p.mark, (0x1234_5678 & 0xffff_00ff) ^ 0xad);
        assert_eq!(p.ctmark, (0xabcd_e123 & 0xffff_f000) | 0x111);
    }
}

/// Expressions of nftables' tests/py (*.t: "rule;ok" lines) read.
#[test]
fn tests_py_expressions_parse() {
    for r in [
        "tcp dport 22-25",                       // any/tcp.t
        "tcp dport != { 22-25, 80 }",            // any/tcp.t
        "tcp flags & (syn|fin) == syn|fin",      // inet/tcp.t
        "tcp flags syn / syn,ack",               // inet/tcp.t
        "meta pkttype broadcast",                // any/meta.t
        "meta nfproto ipv4",                     // any/meta.t
        "ct status dnat,snat",                   // any/ct.t
        "ct mark set 0x11 counter",              // any/ct.t
        "ip saddr 192.168.3.1-192.168.3.250",    // ip/ip.t
        "icmp type echo-request",                // ip/icmp.t
        "fib daddr type local",                  // inet/fib.t
        "meta l4proto { tcp, udp } th dport 53", // inet/meta.t
        "reject with icmp host-unreachable",     // ip/reject.t
        "reject with icmpx admin-prohibited",    // inet/reject.t
        "queue num 1 bypass",                    // any/queue.t
        "limit rate 400/minute burst 5 packets", // any/limit.t
        "limit rate over 10 mbytes/second",      // any/limit.t
        "quota over 2 gbytes",
    ] {
        let text = format!("table inet t {{\n chain c {{\n  {r}\n }}\n}}\n");
        match Nft::parse(&text) {
            Ok(n) => assert!(n.unmodelled.is_empty(), "{r}: {:?}", n.unmodelled),
            Err(e) => assert!(
                r.contains("gbytes") && e.message.contains("bytes unit"),
                "{r}: {e}"
            ),
        }
    }
}

/// `include` as scanner.l resolves it: `./` and absolute paths as given,
/// other names in the include directory; a missing file without wildcards
/// is an error, a wildcard matching nothing is not; nesting is bounded.
#[test]
fn includes_resolve_as_nft_does() {
    let read = |p: &str| -> Result<Vec<(String, String)>, String> {
        Ok(match p {
            "./a.nft" => vec![(
                p.into(),
                "define P = 22\ntable ip t {\n chain c {\n  tcp dport $P drop\n }\n}\n".into(),
            )],
            "/etc/b.nft" => vec![(p.into(), "add rule ip t c tcp dport 23 drop\n".into())],
            "/etc/loop.nft" => vec![(p.into(), "include \"loop.nft\"\n".into())],
            _ => Vec::new(),
        })
    };
    let n = Nft::parse_with(
        "include \"./a.nft\"\ninclude \"b.nft\"\ninclude \"/etc/nftables.d/*.nft\"\n",
        &read,
    )
    .unwrap();
    assert_eq!(n.tables[0].chains[0].rules.len(), 2);
    let e = Nft::parse_with("include \"./missing.nft\"\n", &read).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.contains("File not found: ./missing.nft"), "{e}");
    let e = Nft::parse_with("include \"loop.nft\"\n", &read).unwrap_err();
    assert!(e.message.contains("Include nested too deeply"), "{e}");
    let e = Nft::parse("table ip t {\n chain c {\n  tcp dport $X drop\n }\n}\n").unwrap_err();
    assert_eq!(
        (e.line, e.message.as_str()),
        (3, "Error: unknown identifier 'X'")
    );
}

/// `nft -a` handles, element comments and timeouts, the iptables-nft
/// warning line, a table given as `table inet fw4` then `flush table`
/// (fw4), and nft's refusals.
#[test]
fn listing_details_and_refusals() {
    let text = "table inet fw4\nflush table inet fw4\n# Warning: table ip nat is managed by iptables-nft, do not touch!\ntable inet fw4 { # handle 7\n set s { # handle 2\n  type ipv4_addr . inet_service\n  flags interval,timeout\n  elements = { 10.0.0.0/8 . 80-90 timeout 1h expires 59m comment \"web\", 192.168.0.1 . 22 comment \"ssh\" }\n }\n chain c { # handle 1\n  type filter hook input priority filter; policy drop;\n  ip saddr . tcp dport @s accept # handle 4\n }\n}\n";
    let n = Nft::parse(text).unwrap();
    let s = &n.tables[0].sets["s"];
    assert_eq!(s.elements.len(), 2);
    assert_eq!(s.elements[0].0[1], Val::Range(80, 90));
    for (bad, want) in [
        (
            "table ip t {\n chain c {\n  frobnicate\n }\n}\n",
            "syntax error, unexpected frobnicate",
        ),
        (
            "table ip t {\n chain c {\n  tcp dport\n }\n}\n",
            "syntax error, unexpected end of file",
        ),
        (
            "table ip t {\n chain c {\n  ip saddr 300.1.1.1 drop\n }\n}\n",
            "Could not parse IPv4 address",
        ),
        (
            "table ip t {\n chain c {\n  limit rate 1/fortnight\n }\n}\n",
            "syntax error, unexpected fortnight",
        ),
        (
            "table ip t {\n chain c {\n  type filter hook sideways priority 0;\n }\n}\n",
            "unknown chain hook sideways",
        ),
    ] {
        let e = Nft::parse(bad).unwrap_err();
        assert_eq!(e.line, 3, "{bad}: {e}");
        assert!(e.message.contains(want), "{bad}: {e}");
    }
}

/// `meter NAME size N { KEY limit ... }` (the wiki's flood meter): a
/// dynamic set of its own, a bucket per source.
#[test]
fn meters_limit_per_key() {
    use eval_tests_support::verdicts;
    let n = Nft::parse("table ip t {\n chain i {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 meter flood size 128 { ip saddr limit rate over 1/second burst 1 packets } drop\n }\n}\n").unwrap();
    assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
    assert!(n.tables[0].sets.contains_key("flood"));
    assert_eq!(
        verdicts(&n, &["1.1.1.1", "1.1.1.1", "2.2.2.2"]),
        ["accept", "drop", "accept"]
    );
}

mod eval_tests_support {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::net::netfilter::{
        AddrClass, EvalEnv, NfPacket, NfState, RngChooser, TableKind, Verdict,
    };
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    struct NoLocal;
    impl AddrClass for NoLocal {
        fn addr_type(&self, _a: Ipv4Addr, _dev: Option<&str>) -> u16 {
            0
        }
    }

    /// The input verdicts of TCP packets to port 22 from `srcs`, in order
    /// at time 0.
    pub fn verdicts(n: &Nft, srcs: &[&str]) -> Vec<&'static str> {
        let mut d = DynSets::default();
        let mut out = Vec::new();
        for s in srcs {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut chooser = RngChooser(&mut rng);
            let mut state = NfState::default();
            let mut env = EvalEnv {
                addr: &NoLocal,
                chooser: &mut chooser,
                state: &mut state,
                now_ns: 0,
                assume: Default::default(),
            };
            let mut p = NfPacket {
                src: s.parse().unwrap(),
                dst: Ipv4Addr::new(10, 0, 0, 1),
                proto: 6,
                sport: Some(4000),
                dport: Some(22),
                ..Default::default()
            };
            let (_, all) = n.chains_at(TableKind::Filter, Hook::Input);
            let v = n.run(&all, &mut p, &mut env, &mut d).verdict;
            out.push(if v == Verdict::Accept {
                "accept"
            } else {
                "drop"
            });
        }
        out
    }
}

/// Unbalanced groups, huge numbers and cut statements are refused or
/// read, never a panic.
#[test]
fn odd_inputs_never_panic() {
    for r in [
        "jump {",
        "goto { tcp dport 1 drop",
        "add @s {",
        "update @s { ip saddr",
        "meter m {",
        "meter",
        "limit rate 18446744073709551615 mbytes/second burst 18446744073709551615 mbytes",
        "quota 18446744073709551615 mbytes used 18446744073709551615 mbytes",
        "numgen inc mod 4294967295 offset 4294967295 vmap { 0 : drop }",
        "dnat to",
        "dnat to :",
        "snat ip prefix to",
        "redirect to :99999",
        "ct helper set",
        "limit name ip saddr map {",
        "tcp flags & (syn",
        "ip saddr . tcp dport { 1.2.3.4 . ",
        "meta mark set mark and",
        "reject with icmp type",
        "log prefix",
        "ip saddr {",
        "}",
        "{ }",
    ] {
        let text = format!("table ip t {{\n set s {{ type ipv4_addr; flags dynamic; }}\n chain c {{\n  {r}\n }}\n}}\n");
        let _ = Nft::parse(&text);
        let _ = Nft::parse(&format!(
            "add table ip t\nadd chain ip t c\nadd rule ip t c {r}\n"
        ));
    }
}

/// Lines of nftables' tests/py that nft accepts (";ok"), read whether or
/// not podpath evaluates them (tunnel inner headers, raw payloads, ipsec
/// and the like are kept unmodelled).
#[test]
fn tests_py_lines_nft_accepts_are_read() {
    for r in [
        "tcp dport vmap { 25:accept, 28:drop }", // inet/tcp.t
        "tcp flags { syn, syn | ack }",          // inet/tcp.t
        "tcp flags ! fin,rst",                   // inet/tcp.t
        "ct status ! dnat",                      // any/ct.t
        "ct count over 3",                       // any/ct.t
        "ct mark set ct mark and 0xffff0000 or meta mark and 0xffff", // any/ct.t
        "limit rate over 1025bytes/second burst 512bytes", // any/limit.t
        "limit rate over 1025 bytes / second burst 512bytes", // any/limit.t
        "meta mark 0xffffff00/24",               // any/meta.t
        "meta protocol != {ip, arp, ip6, 8021q}", // any/meta.t
        "time < \"2022-07-01 11:00:00\" accept", // any/meta.t
        "queue to symhash mod 65536",            // any/queue.t
        "queue flags bypass to oifname map { \"eth0\" : 0, \"ppp0\" : 2 }", // any/queue.t
        "reset tcp option mptcp",                // any/tcpopt.t
        "fib daddr check missing",               // inet/fib.t
        "ipsec in spnum 0 reqid 1",              // inet/ipsec.t
        "meta nfproto ipv4 rt nexthop 192.168.0.1", // inet/rt.t (rt ip6 in an ip table: "ip6 nexthop will not match")
        "udp dport 4789 vxlan ip saddr 10.141.11.0/24", // inet/vxlan.t
        "gretap ether saddr 62:87:4d:d6:19:05",     // inet/gretap.t
        "ip saddr . @ih,32,32 { 1.1.1.1 . 0x14, 2.2.2.2 . 0x1e }", // inet/vmap.t
        "ip saddr & 0xff == 1",                     // ip/ip.t
        "dup to ip saddr map { 192.168.2.120 : 192.168.2.1 } device \"lo\"", // ip/dup.t
        "dnat to numgen inc mod 7 offset 167772161", // ip/numgen.t
        "redirect to :tcp dport map { 22 : 8000, 80 : 8080}", // ip/redirect.t
        "ip saddr vmap { 1.1.1.1 : drop, * : accept }", // ip/sets.t
    ] {
        let text = format!("table ip t {{\n chain c {{\n  {r}\n }}\n}}\n");
        if let Err(e) = Nft::parse(&text) {
            panic!("{r}: {e}");
        }
    }
}

/// Lines of nftables' tests/shell dumps (all 432 of that suite read):
/// bitwise/0040mark_binop, sets/type_set_symbol, packetpath/set_lookups,
/// optionals/comments_objects, sets/0075tunnel.
#[test]
fn tests_shell_dump_lines_are_read() {
    let n = Nft::parse("table ip t {\n quota foo1 {\n  comment \"test1\"\n  25 mbytes\n }\n tunnel geneve-t {\n  id 10\n }\n set s1 {\n  type ipv4_addr . ipv4_addr . inet_service\n  elements = { 1.1.1.1 . 1.2.3.4 . 80 }\n }\n chain c1 {\n }\n chain c {\n  type filter hook input priority 0; policy accept;\n  ct mark set ct mark & 0xffff0000 | meta mark & 0x0000ffff\n  ip saddr . 1.2.3.4 . 80 @s1 goto c1\n }\n}\n").unwrap();
    let t = &n.tables[0];
    assert!(t
        .objects
        .contains_key(&("quota".to_string(), "foo1".to_string())));
    assert!(t
        .objects
        .contains_key(&("tunnel".to_string(), "geneve-t".to_string())));
    let rules = &t.chains[t.chain("c").unwrap()].rules;
    // a mark from two selectors and the constant concatenation are
    // evaluated
    assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
    assert!(
        matches!(&rules[0].exprs[0], Expr::Set { value, .. } if value.or_src == Some((Sel::Mark, vec![0xffff])))
    );
    assert!(matches!(&rules[1].exprs[0], Expr::Cmp { sel, .. } if sel.len() == 3));
}

/// nft_meta_store_ifname: at prerouting there is no output device, which
/// reads as "": `oifname != "lo"` holds, `oifname "lo"` does not.
#[test]
fn absent_devices_read_as_empty_names() {
    use eval_tests_support::verdicts;
    let n = Nft::parse("table ip t {\n chain i {\n  type filter hook input priority 0; policy accept;\n  oifname != \"lo\" drop\n }\n}\n").unwrap();
    assert_eq!(verdicts(&n, &["1.1.1.1"]), ["drop"]);
    let n = Nft::parse("table ip t {\n chain i {\n  type filter hook input priority 0; policy accept;\n  oifname \"lo\" drop\n }\n}\n").unwrap();
    assert_eq!(verdicts(&n, &["1.1.1.1"]), ["accept"]);
}

/// Flag comparisons as evaluate.c and netlink_linearize.c make them:
/// implicit = any of the bits, `!` = none of them, a singleton set of tcp
/// flags = equality; `!` on a non-flag type is refused.
#[test]
fn flag_comparisons() {
    use eval_tests_support::verdicts;
    // verdicts() sends TCP with no flags set: tcp_flags None, so use ct
    // state (NEW is 0 here: no conntrack state bits) via ct status
    let drop_if = |m: &str| {
        let n = Nft::parse(&format!("table ip t {{\n chain i {{\n  type filter hook input priority 0; policy accept;\n  {m} drop\n }}\n}}\n")).unwrap();
        verdicts(&n, &["1.1.1.1"])[0]
    };
    assert_eq!(drop_if("ct status ! dnat"), "drop");
    assert_eq!(drop_if("ct status dnat"), "accept");
    assert_eq!(drop_if("ct status != dnat"), "drop");
    let e = Nft::parse("table ip t {\n chain i {\n  tcp dport ! 22 drop\n }\n}\n").unwrap_err();
    assert!(e.message.contains("negation can only be used"), "{e}");
    let n = Nft::parse("table ip t {\n chain i {\n  tcp flags { syn } drop\n }\n}\n").unwrap();
    assert!(matches!(
        &n.tables[0].chains[0].rules[0].exprs[0],
        Expr::Cmp { op: Op::Eq, .. }
    ));
}

/// Evaluation of the selectors and statements modelled for issue 14:
/// lines from nftables' tests/py (ip/ip.t `ip ttl`, any/meta.t `meta
/// skgid`, `iifgroup`, `meta time|hour|day`, inet/fib.t `fib saddr . iif
/// oif`, any/tcpopt.t `tcp option maxseg size set`, any/ct.t `ct zone
/// set`) and the corpus.
mod issue14 {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::net::netfilter::{AddrClass, EvalEnv, NfPacket, NfState, RngChooser, TableKind};
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    /// Routes: 192.168.1.0/24 back through eth1, 10.0.0.1 local, a
    /// route through eth2 only with mark 7; device eth1 in group 2.
    struct Fib;
    impl AddrClass for Fib {
        fn addr_type(&self, _a: Ipv4Addr, _dev: Option<&str>) -> u16 {
            0
        }
        fn reverse_route(
            &self,
            src: Ipv4Addr,
            _saddr: Option<Ipv4Addr>,
            mark: u32,
        ) -> Option<(bool, bool, Option<String>)> {
            let o = src.octets();
            if src == Ipv4Addr::new(10, 0, 0, 1) {
                Some((false, true, Some("lo".into())))
            } else if mark == 7 {
                Some((true, false, Some("eth2".into())))
            } else if o[..3] == [192, 168, 1] {
                Some((true, false, Some("eth1".into())))
            } else {
                None
            }
        }
        fn dev_group(&self, dev: &str) -> u32 {
            if dev == "eth1" {
                2
            } else {
                0
            }
        }
    }

    /// The input verdict and trace of `p` through `rule` at `now_ns`.
    fn input(rule: &str, p: &NfPacket, now_ns: u64) -> (bool, Vec<String>) {
        let n = Nft::parse(&format!("table ip t {{\n chain i {{\n  type filter hook input priority 0; policy accept;\n  {rule} drop\n }}\n}}\n")).unwrap();
        assert!(n.unmodelled.is_empty(), "{rule}: {:?}", n.unmodelled);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut chooser = RngChooser(&mut rng);
        let mut state = NfState::default();
        let mut env = EvalEnv {
            addr: &Fib,
            chooser: &mut chooser,
            state: &mut state,
            now_ns,
            assume: Default::default(),
        };
        let (a, b) = n.chains_at(TableKind::Filter, Hook::Input);
        let all: Vec<_> = a.into_iter().chain(b).collect();
        let o = n.run(&all, &mut p.clone(), &mut env, &mut DynSets::default());
        let steps = o.steps.iter().map(|s| s.effect.clone()).collect();
        (o.verdict == crate::net::netfilter::Verdict::Drop, steps)
    }

    fn pkt(src: &str) -> NfPacket {
        NfPacket {
            src: src.parse().unwrap(),
            dst: Ipv4Addr::new(10, 0, 0, 1),
            proto: 6,
            sport: Some(4000),
            dport: Some(22),
            in_if: Some("eth1".into()),
            ttl: 64,
            ..Default::default()
        }
    }

    fn drops(rule: &str, p: &NfPacket) -> bool {
        input(rule, p, 0).0
    }

    /// ip/ip.t: `ip ttl 0 drop`, `ip ttl 233`, `ip ttl 33-55`, `ip ttl !=
    /// 45-50`, `ip ttl {43, 53, 45 }`.
    #[test]
    fn ip_ttl_reads_the_header() {
        let p = pkt("192.168.1.5");
        assert!(drops("ip ttl 64", &p));
        assert!(!drops("ip ttl 233", &p));
        assert!(drops("ip ttl 33-65", &p));
        assert!(!drops("ip ttl != 45-70", &p));
        assert!(drops("ip ttl { 43, 64, 45 }", &p));
        assert!(drops("ip ttl > 2", &p));
        assert!(!drops("ip ttl 1", &p));
    }

    /// any/meta.t `meta skgid 1000`, `skgid {2001-2005}`: the sending
    /// socket's gid (= its uid here); no socket breaks the rule either way.
    #[test]
    fn skgid_is_the_socket_owners_gid() {
        let mut p = pkt("192.168.1.5");
        assert!(!drops("meta skgid 1337", &p));
        assert!(!drops("meta skgid != 1337", &p));
        p.owner = Some(1337);
        assert!(drops("meta skgid 1337", &p));
        assert!(drops("skgid { 1000-1400 }", &p));
        assert!(!drops("skgid != 1337", &p));
    }

    /// ip/hash.t `ct mark set symhash mod 2 offset 100`, `symhash mod 2
    /// vmap`: nft_symhash_eval scales the flow's symmetric hash; both
    /// directions of a flow and every packet of it get the same bucket
    /// (__flow_hash_consistentify), and flows spread over the buckets.
    #[test]
    fn symhash_is_the_same_both_ways_and_spreads() {
        let rule = "symhash mod 2 vmap { 0 : accept, 1 : drop }";
        let mut seen = [0; 2];
        for k in 0..64u16 {
            let mut p = pkt("192.168.1.5");
            p.sport = Some(30000 + k);
            let there = drops(rule, &p);
            let mut back = p.clone();
            std::mem::swap(&mut back.src, &mut back.dst);
            std::mem::swap(&mut back.sport, &mut back.dport);
            assert_eq!(drops(rule, &back), there, "flow {k}");
            assert_eq!(drops(rule, &p), there, "flow {k} again");
            seen[usize::from(there)] += 1;
        }
        assert!(seen[0] > 10 && seen[1] > 10, "{seen:?}");
        // `offset`: the bucket is 100 or 101
        let p = pkt("192.168.1.5");
        assert!(drops("symhash mod 2 offset 100 { 100, 101 }", &p));
        assert!(!drops("symhash mod 2 offset 100 { 0, 1 }", &p));
        let n = Nft::parse("table ip t {\n chain o {\n  type filter hook output priority 0;\n  ct mark set symhash mod 2 offset 100\n  queue to symhash mod 65536\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
    }

    /// `socket cgroupv2 level N "PATH"` (nft_socket.c
    /// nft_sock_get_eval_cgroupv2): podpath's programs live in the root
    /// cgroup only, so a socket has no ancestor at level 1 or deeper and
    /// the rule breaks, with `!=` too; no socket breaks it as well.
    #[test]
    fn socket_cgroupv2_has_no_ancestor_below_the_root() {
        let mut p = pkt("192.168.1.5");
        assert!(!drops("socket cgroupv2 level 1 \"user.slice\"", &p));
        p.owner = Some(1000);
        assert!(!drops("socket cgroupv2 level 1 \"user.slice\"", &p));
        assert!(!drops("socket cgroupv2 level 2 != \"user.slice/a\"", &p));
        assert!(drops("socket cgroupv2 level 0 \"/\"", &p));
    }

    /// any/meta.t `meta iifgroup 0`, `iifgroup {11,33}`, `oifgroup 0`:
    /// the device's group (AddrClass::dev_group; no device breaks).
    #[test]
    fn device_groups() {
        let p = pkt("192.168.1.5");
        assert!(drops("iifgroup 2", &p));
        assert!(!drops("iifgroup 0", &p));
        assert!(drops("meta iifgroup { 11, 2 }", &p));
        // input: no output device: the rule breaks
        assert!(!drops("oifgroup 0", &p));
        assert!(!drops("oifgroup != 2", &p));
    }

    /// any/meta.t `meta time "1970-05-23 21:07:14" drop`, `meta hour
    /// "17:00" drop`, `meta day "Saturday" drop`; openwrt-fw4-rules-time
    /// (corpus) ranges. 2022-05-30 was a Monday.
    #[test]
    fn time_hour_and_day_read_the_virtual_clock() {
        let p = pkt("192.168.1.5");
        // 2022-05-30 21:51:23 UTC
        let t = 1_653_947_483u64 * 1_000_000_000;
        let at = |r: &str, now| input(r, &p, now).0;
        assert!(at("meta time >= \"2022-05-30 21:51:23\"", t));
        assert!(!at("meta time >= \"2022-05-30 21:51:24\"", t));
        assert!(at("meta time >= \"2022-05-30\"", t));
        assert!(at(
            "meta time \"2022-05-30 21:51:23\" - \"2022-06-01 23:51:23\"",
            t
        ));
        assert!(!at(
            "meta time \"2022-05-30 21:51:23\" - \"2022-06-01 23:51:23\"",
            t - 1_000_000_000
        ));
        assert!(at("meta hour >= \"21:51:23\"", t));
        assert!(!at("meta hour < \"21:00\"", t));
        assert!(at("meta hour \"21:51:23\" - \"23:51:23\"", t));
        assert!(at("meta day \"Monday\"", t));
        assert!(!at("meta day \"Sunday\"", t));
        assert!(at(
            "meta day { \"Monday\", \"Tuesday\", \"Wednesday\", \"Sunday\", \"Thursday\" }",
            t
        ));
        // a range across midnight is kept unmodelled
        let n =
            Nft::parse("table ip t {\n chain i {\n  meta hour \"22:00\" - \"02:00\" drop\n }\n}\n")
                .unwrap();
        assert_eq!(n.unmodelled.len(), 1, "{:?}", n.unmodelled);
        // 1970-01-01 00:00 was a Thursday (4)
        assert!(at("meta day 4", 0));
        assert!(at("day \"Thu\"", 0));
    }

    /// inet/fib.t `fib saddr . iif oif 0 drop` (rpfilter), calico's
    /// `fib saddr . mark . iif oif 0`, `fib daddr oif "eth1"` style
    /// results (nft_fib4_eval).
    #[test]
    fn fib_oif_is_the_route_back() {
        // the route back to 192.168.1.5 leaves through eth1 = iif: passes
        assert!(!drops("fib saddr . iif oif 0", &pkt("192.168.1.5")));
        assert!(drops("fib saddr . iif oif != 0", &pkt("192.168.1.5")));
        // no route back: 0
        assert!(drops("fib saddr . iif oif 0", &pkt("172.16.0.9")));
        // the route back leaves through another device than iif: 0
        let mut p = pkt("192.168.1.5");
        p.in_if = Some("eth3".into());
        assert!(drops("fib saddr . iif oif 0", &p));
        assert!(drops("fib saddr oif \"eth1\"", &p));
        // with the mark: the marked route (eth2), not iif eth1
        let mut p = pkt("192.168.1.5");
        p.mark = 7;
        assert!(drops("fib saddr . mark . iif oif 0", &p));
        assert!(!drops("fib saddr . iif oif 0", &p));
        assert!(drops("fib saddr . mark oifname \"eth2\"", &p));
        // a local route reads as 0; oifname reads ""
        assert!(drops("fib daddr oif 0", &pkt("192.168.1.5")));
        assert!(drops("fib daddr oifname \"\"", &pkt("192.168.1.5")));
    }

    /// any/tcpopt.t `tcp option maxseg size set 1360`, openwrt's `tcp
    /// option maxseg size set rt mtu`, any/ct.t `ct zone set 1`: trace
    /// steps that do not change the path.
    #[test]
    fn mss_and_zone_statements_are_trace_steps() {
        let p = pkt("192.168.1.5");
        let (d, steps) = input("tcp flags syn tcp option maxseg size set rt mtu", &p, 0);
        assert!(!d, "tcp flags are not set on this packet");
        assert!(steps.is_empty(), "{steps:?}");
        let (d, steps) = input("tcp option maxseg size set 1360", &p, 0);
        assert!(d);
        assert!(
            steps
                .iter()
                .any(|s| s.contains("maxseg size set 1360 (the option is not rewritten")),
            "{steps:?}"
        );
        let (d, steps) = input("ct zone set 1", &p, 0);
        assert!(d);
        assert!(
            steps
                .iter()
                .any(|s| s.contains("ct zone set 1 (zones do not separate")),
            "{steps:?}"
        );
    }

    /// tests/shell bitwise (`ct mark set ct mark & 0xffff0000 | meta mark
    /// & 0x0000ffff`) and typeof-maps (`meta mark set ip saddr . ip daddr
    /// map @m3`): marks computed from two selectors.
    #[test]
    fn marks_from_two_selectors() {
        let mut p = pkt("1.2.3.4");
        p.mark = 0x1234_5678;
        p.ctmark = 0xabcd_ef01;
        let n = Nft::parse("table ip t {\n chain i {\n  type filter hook input priority 0; policy accept;\n  ct mark set ct mark & 0xffff0000 | meta mark & 0x0000ffff\n  meta mark set ct mark\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let (_, steps) = run_nft(&n, &p);
        assert!(
            steps
                .iter()
                .any(|s| s == "ct mark 0xabcdef01 -> 0xabcd5678"),
            "{steps:?}"
        );
        let n = Nft::parse("table ip t {\n map m3 {\n  typeof ip saddr . ip daddr : meta mark\n  elements = { 1.2.3.4 . 10.0.0.1 : 0x00000001, 2.3.4.5 . 6.7.8.9 : 0x00000002 }\n }\n chain i {\n  type filter hook input priority 0; policy accept;\n  meta mark set ip saddr . ip daddr map @m3\n  meta mark 1 drop\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let (d, steps) = run_nft(&n, &p);
        assert!(d, "{steps:?}");
        // no element: the rule breaks, the mark stays
        let (d, steps) = run_nft(&n, &pkt("9.9.9.9"));
        assert!(!d, "{steps:?}");
    }

    /// ip/ip.t `ip version 4`, `ip hdrlength 15`: podpath's IPv4 packets
    /// carry no options.
    #[test]
    fn ip_version_and_header_length() {
        let p = pkt("192.168.1.5");
        assert!(drops("ip version 4", &p));
        assert!(!drops("ip version != 4", &p));
        assert!(drops("ip hdrlength 5", &p));
        assert!(!drops("ip hdrlength 15", &p));
    }

    /// any/tcpopt.t `tcp option maxseg size 1-500`, sample-ruleset's
    /// `tcp option maxseg size 1-500 counter drop`: the SYN's MSS option;
    /// a segment without the option breaks the rule.
    #[test]
    fn tcp_mss_option_is_read() {
        let mut p = pkt("192.168.1.5");
        assert!(!drops("tcp option maxseg size 1-500", &p));
        assert!(!drops("tcp option maxseg size != 1-500", &p));
        p.tcp_mss = Some(536);
        assert!(!drops("tcp option maxseg size 1-500", &p));
        assert!(drops("tcp option maxseg size != 1-500", &p));
        p.tcp_mss = Some(400);
        assert!(drops("tcp option maxseg size 1-500", &p));
        assert!(drops("tcp option maxseg size < 536", &p));
    }

    fn run_nft(n: &Nft, p: &NfPacket) -> (bool, Vec<String>) {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut chooser = RngChooser(&mut rng);
        let mut state = NfState::default();
        let mut env = EvalEnv {
            addr: &Fib,
            chooser: &mut chooser,
            state: &mut state,
            now_ns: 0,
            assume: Default::default(),
        };
        let (a, b) = n.chains_at(TableKind::Filter, Hook::Input);
        let all: Vec<_> = a.into_iter().chain(b).collect();
        let o = n.run(&all, &mut p.clone(), &mut env, &mut DynSets::default());
        let steps = o.steps.iter().map(|s| s.effect.clone()).collect();
        (o.verdict == crate::net::netfilter::Verdict::Drop, steps)
    }
}

/// The frame hooks (netdev, bridge, arp, inet ingress) and the link-layer
/// matches and statements, on rulesets of the corpus
/// (sim/tests/data/corpus/nft, sources in its SOURCES.md).
mod l2_tests {
    use std::net::Ipv4Addr;

    use super::super::*;
    use crate::net::netfilter::{
        AddrClass, ArpView, EvalEnv, HookOutcome, L2View, NfPacket, NfState, RngChooser, Verdict,
    };
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    struct NoAddrs;
    impl AddrClass for NoAddrs {
        fn addr_type(&self, _a: Ipv4Addr, _dev: Option<&str>) -> u16 {
            crate::net::netfilter::addrtype::UNICAST
        }
    }

    fn corpus(name: &str) -> Nft {
        let p = format!(
            "{}/tests/data/corpus/nft/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        Nft::parse(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    const MAC_A: [u8; 6] = [0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];
    const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

    /// An IPv4 UDP or TCP frame from 10.0.0.5 on `dev`.
    fn ip_frame(dev: &str, proto: u8, sport: u16, dport: u16) -> NfPacket {
        NfPacket {
            src: Ipv4Addr::new(10, 0, 0, 5),
            dst: Ipv4Addr::new(10, 0, 0, 1),
            proto,
            sport: Some(sport),
            dport: Some(dport),
            in_if: Some(dev.into()),
            l2: Some(L2View {
                src: MAC_A,
                dst: MAC_B,
                ethertype: 0x0800,
                arp: None,
            }),
            ..Default::default()
        }
    }

    /// An ARP request who-has 10.0.0.1 tell 10.0.0.5.
    fn arp_frame(dev: &str) -> NfPacket {
        NfPacket {
            in_if: Some(dev.into()),
            not_ip: true,
            l2: Some(L2View {
                src: MAC_A,
                dst: [0xff; 6],
                ethertype: 0x0806,
                arp: Some(ArpView {
                    op: 1,
                    sha: MAC_A,
                    sip: Ipv4Addr::new(10, 0, 0, 5),
                    tha: [0; 6],
                    tip: Ipv4Addr::new(10, 0, 0, 1),
                }),
            }),
            ..Default::default()
        }
    }

    fn run_l2(n: &Nft, hook: L2Hook, dev: &str, p: &mut NfPacket, d: &mut DynSets) -> HookOutcome {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut chooser = RngChooser(&mut rng);
        let mut state = NfState::default();
        let mut env = EvalEnv {
            addr: &NoAddrs,
            chooser: &mut chooser,
            state: &mut state,
            now_ns: 0,
            assume: Default::default(),
        };
        let ip = !p.not_ip;
        let chains = n.l2_chains(hook, dev, ip, |_| true);
        n.run(&chains, p, &mut env, d)
    }

    /// Every base chain of the netdev, bridge, arp and inet-ingress
    /// corpus files now runs: none is left unmodelled.
    #[test]
    fn frame_hook_chains_run() {
        for f in [
            "moby-nftables-netdev-chain.txt",
            "nftables-files/netdev-ingress.nft",
            "nftables-shell-chain-ingress.txt",
            "nftables-files/arp-filter.nft",
            "nftables-files/bridge-filter.nft",
            "nftables-shell-stacked-l2-headers.txt",
        ] {
            let n = corpus(f);
            assert!(n.unmodelled.is_empty(), "{f}: {:?}", n.unmodelled);
        }
        // the netdev chain is registered on "lo" only
        let n = corpus("moby-nftables-netdev-chain.txt");
        assert_eq!(n.l2_chains(L2Hook::Ingress, "lo", true, |_| true).len(), 1);
        assert!(n
            .l2_chains(L2Hook::Ingress, "eth0", true, |_| true)
            .is_empty());
        let b = &n.tables[0].chains[0].base;
        assert_eq!(b.as_ref().map(|b| b.priority), Some(-123));
        // inet ingress: IPv4/IPv6 frames only
        let n = corpus("nftables-shell-chain-ingress.txt");
        assert_eq!(n.l2_chains(L2Hook::Ingress, "lo", true, |_| true).len(), 1);
        assert!(n
            .l2_chains(L2Hook::Ingress, "lo", false, |_| true)
            .is_empty());
        // the bridge family's priority names (src/rule.c bridge_std_prios)
        let n = corpus("nftables-files/bridge-filter.nft");
        let prios: Vec<i32> = n.tables[0]
            .chains
            .iter()
            .filter_map(|c| c.base.as_ref().map(|b| b.priority))
            .collect();
        assert_eq!(prios, vec![-200, -200, 200]);
        let n = Nft::parse("table bridge t {\n chain f {\n  type filter hook forward priority filter + 10; policy drop;\n }\n}\n").unwrap();
        let b = n.tables[0].chains[0].base.as_ref().unwrap();
        assert_eq!((b.priority, b.l2), (-190, Some(L2Hook::BrForward)));
        let o = run_l2(
            &n,
            L2Hook::BrForward,
            "",
            &mut ip_frame("p1", 6, 1, 2),
            &mut DynSets::default(),
        );
        assert_eq!(o.verdict, Verdict::Drop);
    }

    /// tests/shell stacked-l2-headers: `vlan ...` never matches an
    /// untagged frame (its `ether type 8021q` dependency fails), a set
    /// update keyed by `vlan id` adds nothing, `ether saddr` compares the
    /// frame's source.
    #[test]
    fn vlan_never_matches_an_untagged_frame() {
        let text = corpus_text("nftables-shell-stacked-l2-headers.txt").replace(
            "chain nc {",
            "chain nc {\n\t\ttype filter hook ingress device \"eth0\" priority 0;",
        );
        let text = text
            .replace("vlan pcp 1", "vlan pcp 1 drop")
            .replace("vlan id 42", "vlan id 42 drop")
            .replace(
                "ether saddr . vlan id @macset",
                "ether saddr . vlan id @macset drop",
            );
        let n = Nft::parse(&text).unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut d = DynSets::default();
        let o = run_l2(
            &n,
            L2Hook::Ingress,
            "eth0",
            &mut ip_frame("eth0", 17, 5, 53),
            &mut d,
        );
        assert_eq!(o.verdict, Verdict::Accept, "{:?}", o.steps);
        assert!(d.sets.is_empty(), "{:?}", d.sets);
        // an untagged match on the source MAC alone holds
        let n = Nft::parse("table netdev t {\n chain c {\n  type filter hook ingress device eth0 priority 0;\n  ether saddr 0a:0b:0c:0d:0e:0f ether type ip update @s { ether saddr timeout 5s } drop\n }\n set s {\n  typeof ether saddr\n  flags dynamic,timeout\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let o = run_l2(
            &n,
            L2Hook::Ingress,
            "eth0",
            &mut ip_frame("eth0", 17, 5, 53),
            &mut d,
        );
        assert_eq!(o.verdict, Verdict::Drop);
        let key = vec![Kv::M(MAC_A)];
        assert!(
            d.sets.values().any(|s| s.contains_key(&key)),
            "{:?}",
            d.sets
        );
        // ... and an ARP frame's type is arp
        let o = run_l2(&n, L2Hook::Ingress, "eth0", &mut arp_frame("eth0"), &mut d);
        assert_eq!(o.verdict, Verdict::Accept);
        // typeof-sets / typeof-maps: `vlan id @s2`, `meta mark set vlan id map @m2`
        for f in [
            "nftables-shell-typeof-sets.txt",
            "nftables-shell-typeof-maps.txt",
        ] {
            let n = corpus(f);
            assert!(
                !n.unmodelled.iter().any(|u| u.construct.contains("vlan")),
                "{f}: {:?}",
                n.unmodelled
            );
        }
    }

    fn corpus_text(name: &str) -> String {
        let p = format!(
            "{}/tests/data/corpus/nft/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(p).unwrap()
    }

    /// The load-balancing example (wiki "Load balancing", DSR): `ether
    /// daddr set numgen inc mod 2 map { ... }` alternates the two MACs,
    /// `jhash ip saddr . tcp sport mod 2 map` keeps one per flow, `fwd
    /// to eth1` steals the frame.
    #[test]
    fn ether_set_and_fwd() {
        let n = corpus("nftables-example-load-balancing-script.txt");
        let l2: Vec<_> = n
            .unmodelled
            .iter()
            .filter(|u| {
                u.construct.contains("ether")
                    || u.construct.contains("fwd")
                    || u.construct.contains("netdev")
            })
            .collect();
        assert!(l2.is_empty(), "{l2:?}");
        let mut d = DynSets::default();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let mut p = ip_frame("eth0", 17, 4000, 53);
            let o = run_l2(&n, L2Hook::Ingress, "eth0", &mut p, &mut d);
            assert_eq!(o.verdict, Verdict::Accept);
            assert_eq!(p.fwd.as_deref(), Some("eth1"));
            let l = p.l2.unwrap();
            assert_eq!(l.src, [0xaa, 0xbb, 0xcc, 0xdd, 0xff, 0xee]);
            seen.push(l.dst[0]);
        }
        assert_eq!(seen, vec![0xaa, 0xbb, 0xaa]);
        // jhash: the same flow, the same MAC; the other's by the hash
        let pick = |sport: u16, d: &mut DynSets| {
            let mut p = ip_frame("eth0", 6, sport, 80);
            run_l2(&n, L2Hook::Ingress, "eth0", &mut p, d);
            assert_eq!(p.fwd.as_deref(), Some("eth1"));
            p.l2.unwrap().dst[0]
        };
        let a = pick(40000, &mut d);
        assert_eq!(pick(40000, &mut d), a);
        // jhash of 10.0.0.5 . 40000 (8 bytes: 0a000005 9c40 0000), seed 0
        let data = [10, 0, 0, 5, 0x9c, 0x40, 0, 0];
        let h = super::super::expr::jhash(&data, 0);
        let want = if (u64::from(h) * 2) >> 32 == 0 {
            0xaa
        } else {
            0xbb
        };
        assert_eq!(a, want);
        // no udp/tcp match: the frame goes on, unchanged
        let mut p = ip_frame("eth0", 17, 4000, 54);
        run_l2(&n, L2Hook::Ingress, "eth0", &mut p, &mut d);
        assert_eq!((p.fwd, p.l2.map(|l| l.dst)), (None, Some(MAC_B)));
    }

    /// `meta ibrname|obrname` (nft_meta_bridge.c): the bridge the in or
    /// out port is enslaved to; a device that is no bridge port (or no
    /// device) breaks the rule.
    #[test]
    fn bridge_names_are_the_ports_masters() {
        struct Bridged;
        impl AddrClass for Bridged {
            fn addr_type(&self, _a: Ipv4Addr, _dev: Option<&str>) -> u16 {
                crate::net::netfilter::addrtype::UNICAST
            }
            fn dev_master(&self, dev: &str) -> Option<String> {
                (dev == "veth1").then(|| "br0".to_string())
            }
        }
        let n = Nft::parse("table bridge f {\n chain pre {\n  type filter hook prerouting priority 0; policy accept;\n  meta obrname \"br0\" drop\n  meta ibrname != \"br0\" counter\n  meta ibrname \"br0\" drop\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let go = |dev: &str| {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut chooser = RngChooser(&mut rng);
            let mut state = NfState::default();
            let mut env = EvalEnv {
                addr: &Bridged,
                chooser: &mut chooser,
                state: &mut state,
                now_ns: 0,
                assume: Default::default(),
            };
            let mut p = ip_frame(dev, 6, 1000, 80);
            let chains = n.l2_chains(L2Hook::BrPrerouting, dev, true, |_| true);
            let o = n.run(&chains, &mut p, &mut env, &mut DynSets::default());
            (o.verdict, o.steps.len())
        };
        // veth1 is a port of br0: no out port yet (rule 1 breaks), rule 3 drops
        assert_eq!(go("veth1").0, Verdict::Drop);
        // eth9 is no bridge port: every rule breaks, `!=` included
        assert_eq!(go("eth9"), (Verdict::Accept, 0));
    }

    /// `fwd ip to ADDR device DEV` (nft_fwd_neigh_eval): an IPv4 frame
    /// is stolen for neighbour ADDR on DEV; an ARP frame breaks the rule.
    #[test]
    fn fwd_to_a_neighbour() {
        let n = Nft::parse("table netdev t {\n chain i {\n  type filter hook ingress device eth0 priority 0; policy accept;\n  fwd ip to 192.168.1.2 device \"eth1\"\n  drop\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut d = DynSets::default();
        let mut p = ip_frame("eth0", 6, 1000, 80);
        let o = run_l2(&n, L2Hook::Ingress, "eth0", &mut p, &mut d);
        assert_eq!(o.verdict, Verdict::Accept);
        assert_eq!(
            p.fwd_neigh,
            Some((Ipv4Addr::new(192, 168, 1, 2), "eth1".to_string()))
        );
        let mut a = arp_frame("eth0");
        let o = run_l2(&n, L2Hook::Ingress, "eth0", &mut a, &mut d);
        assert_eq!((o.verdict, a.fwd_neigh), (Verdict::Drop, None));
    }

    /// include/linux/jhash.h is lookup3's hashlittle: Bob Jenkins'
    /// published check values ("Four score and seven years ago").
    #[test]
    fn jhash_is_lookup3() {
        let s = b"Four score and seven years ago";
        assert_eq!(super::super::expr::jhash(b"", 0), 0xdeadbeef);
        assert_eq!(super::super::expr::jhash(s, 0), 0x17770551);
        assert_eq!(super::super::expr::jhash(s, 1), 0xcd628161);
    }

    /// The arp family (wiki "Nftables families"): `arp operation`, `arp
    /// saddr ip`, `arp saddr ether` read the ARP header; an IPv4 match
    /// never holds on an ARP frame.
    #[test]
    fn arp_header_matches() {
        let n = Nft::parse("table arp filter {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr 10.0.0.5 drop\n  arp operation reply drop\n  arp operation request arp saddr ip 10.0.0.5 arp saddr ether 0a:0b:0c:0d:0e:0f arp daddr ip 10.0.0.1 counter drop\n }\n}\n").unwrap();
        assert!(n.unmodelled.is_empty(), "{:?}", n.unmodelled);
        let mut d = DynSets::default();
        let o = run_l2(&n, L2Hook::ArpIn, "eth0", &mut arp_frame("eth0"), &mut d);
        assert_eq!(o.verdict, Verdict::Drop);
        assert_eq!(o.steps.last().map(|s| s.rule), Some(3));
        let mut p = arp_frame("eth0");
        if let Some(a) = p.l2.as_mut().and_then(|l| l.arp.as_mut()) {
            a.sip = Ipv4Addr::new(10, 0, 0, 6);
        }
        let o = run_l2(&n, L2Hook::ArpIn, "eth0", &mut p, &mut d);
        assert_eq!(o.verdict, Verdict::Accept);
    }
}

/// `flow add @ft` as the kernel takes it (nft_flow_offload.c): the
/// flowtable's devices are read; a missing flowtable is ENOENT, a chain
/// not at the forward hook EOPNOTSUPP.
#[test]
fn flowtables_and_flow_offload_checks() {
    let ok = "table inet f {\n flowtable ft {\n  hook ingress priority 0;\n  devices = { \"eth0\", eth1 };\n }\n chain fw {\n  type filter hook forward priority 0; policy accept;\n  meta l4proto { tcp, udp } flow add @ft\n }\n}\n";
    let n = Nft::parse_listing(ok).unwrap();
    let o = &n.tables[0].objects[&("flowtable".to_string(), "ft".to_string())];
    assert_eq!(o.flowtable_devices(), vec!["eth0", "eth1"]);
    assert!(n.tables[0].chains[0].rules[0]
        .exprs
        .iter()
        .any(|e| matches!(e, Expr::FlowOffload { flowtable } if flowtable == "ft")));
    let missing = ok.replace("flow add @ft", "flow add @nope");
    let e = Nft::parse_listing(&missing).unwrap_err();
    assert!(
        e.message
            .contains("No such file or directory: flowtable 'nope'"),
        "{e}"
    );
    assert_eq!(e.line, 8);
    let input = ok.replace("hook forward", "hook input");
    let e = Nft::parse_listing(&input).unwrap_err();
    assert!(e.message.contains("Operation not supported"), "{e}");
    let single = ok.replace("devices = { \"eth0\", eth1 };", "devices = eth0;");
    let n = Nft::parse_listing(&single).unwrap();
    let o = &n.tables[0].objects[&("flowtable".to_string(), "ft".to_string())];
    assert_eq!(o.flowtable_devices(), vec!["eth0"]);
}
