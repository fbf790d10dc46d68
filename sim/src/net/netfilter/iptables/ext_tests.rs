//! Evaluation of the matches and targets of [`super::matches`] and
//! [`super::targets`], rule by rule, at virtual times (cases from the
//! kernel's xt_*.c semantics; parse cases from iptables' own
//! extensions/*.t run in tests/iptables_extension_tests.rs).

use std::net::Ipv4Addr;

use super::matches::CtView;
use super::*;
use crate::net::netfilter::*;

/// A host view: 10.0.0.0/8 routes through eth0, 192.168.0.0/16 through
/// eth1, 172.16.0.0/12 through eth1 for mark 7 only; 10.9.9.9 is local on
/// eth0 and 127.0.0.0/8 on lo; 5 connections from 10.0.0.0/24.
struct View;
impl AddrClass for View {
    fn addr_type(&self, a: Ipv4Addr, _: Option<&str>) -> u16 {
        if a == Ipv4Addr::new(10, 255, 255, 255) {
            addrtype::BROADCAST
        } else {
            addrtype::UNICAST
        }
    }
    fn reverse_route(
        &self,
        src: Ipv4Addr,
        _: Option<Ipv4Addr>,
        mark: u32,
    ) -> Option<(bool, bool, Option<String>)> {
        let o = src.octets();
        if o == [10, 9, 9, 9] {
            // a local address on eth0 (its local route's device)
            return Some((false, true, Some("eth0".into())));
        }
        match (o[0], o[1], mark) {
            (127, _, _) => Some((false, true, Some("lo".into()))),
            (10, _, _) => Some((true, false, Some("eth0".into()))),
            (192, 168, _) => Some((true, false, Some("eth1".into()))),
            // a route only for marked packets
            (172, _, 7) => Some((true, false, Some("eth1".into()))),
            _ => None,
        }
    }
    fn conn_count(&self, a: Ipv4Addr, mask: u8, _: bool) -> u32 {
        let in24 = a.octets()[..3] == [10, 0, 0];
        if in24 || (mask <= 8 && a.octets()[0] == 10) {
            5
        } else {
            0
        }
    }
}

fn rs(text: &str) -> Ruleset {
    Ruleset::parse(text, "t").unwrap_or_else(|e| panic!("{e}"))
}

fn filter(rules: &str) -> Ruleset {
    rs(&format!(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n"
    ))
}

fn run(
    r: &Ruleset,
    pkt: NfPacket,
    st: &mut NfState,
    now: u64,
    assume: Assume,
) -> (Verdict, Vec<NfStep>) {
    let mut ch = ScriptChooser::default();
    let mut env = EvalEnv {
        addr: &View,
        chooser: &mut ch,
        state: st,
        now_ns: now,
        assume,
    };
    let mut pkt = pkt;
    let o = r.run_hook(TableKind::Filter, "INPUT", &mut pkt, &mut env);
    (o.verdict, o.steps)
}

/// A raw table whose PREROUTING drops what `rules` do not accept.
fn raw_pre(rules: &str) -> Ruleset {
    rs(&format!(
        "*raw\n:PREROUTING DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n"
    ))
}

/// Whether raw PREROUTING accepts `pkt`.
fn pre_accepts(r: &Ruleset, mut pkt: NfPacket) -> bool {
    let mut ch = ScriptChooser::default();
    let mut st = NfState::default();
    let mut env = EvalEnv {
        addr: &View,
        chooser: &mut ch,
        state: &mut st,
        now_ns: 0,
        assume: Assume::NoMatch,
    };
    r.run_hook(TableKind::Raw, "PREROUTING", &mut pkt, &mut env)
        .verdict
        == Verdict::Accept
}

fn accepts(r: &Ruleset, pkt: NfPacket) -> bool {
    run(r, pkt, &mut NfState::default(), 0, Assume::NoMatch).0 == Verdict::Accept
}

fn tcp(src: [u8; 4], in_if: &str) -> NfPacket {
    NfPacket {
        src: Ipv4Addr::from(src),
        dst: Ipv4Addr::new(10, 9, 9, 9),
        proto: 6,
        sport: Some(40000),
        dport: Some(80),
        in_if: Some(in_if.into()),
        ..Default::default()
    }
}

/// ipt_ttl.c ttl_mt: eq, ne (`! --ttl-eq`), lt, gt.
#[test]
fn ttl_compares_the_header_ttl() {
    let r = filter("-A INPUT -m ttl --ttl-eq 1 -j ACCEPT\n");
    let p = |ttl| NfPacket {
        ttl,
        ..tcp([1, 1, 1, 1], "eth0")
    };
    assert!(accepts(&r, p(1)));
    assert!(!accepts(&r, p(2)));
    let r = filter("-A INPUT -m ttl ! --ttl-eq 64 -j ACCEPT\n");
    assert!(!accepts(&r, p(64)) && accepts(&r, p(63)));
    let r = filter("-A INPUT -m ttl --ttl-lt 10 -j ACCEPT\n");
    assert!(accepts(&r, p(9)) && !accepts(&r, p(10)));
    let r = filter("-A INPUT -m ttl --ttl-gt 10 -j ACCEPT\n");
    assert!(accepts(&r, p(11)) && !accepts(&r, p(10)));
    let e = Ruleset::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m ttl ! --ttl-lt 3 -j ACCEPT\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("cannot be inverted"), "{e}");
}

/// xt_time.c time_mt on the virtual clock (0 = 1970-01-01T00:00Z, a
/// Thursday): a working-hours window, a window across midnight with and
/// without --contiguous, weekdays, monthdays and the date window.
#[test]
fn time_reads_the_virtual_clock() {
    let at = |day: u64, h: u64, m: u64| ((day * 86_400) + h * 3600 + m * 60) * 1_000_000_000;
    let go = |r: &Ruleset, t: u64| {
        run(
            r,
            tcp([1, 1, 1, 1], "eth0"),
            &mut NfState::default(),
            t,
            Assume::NoMatch,
        )
        .0 == Verdict::Accept
    };
    let r = filter(
        "-A INPUT -m time --timestart 09:00 --timestop 17:00 --weekdays Mon,Tue,Wed,Thu,Fri --kerneltz -j ACCEPT\n",
    );
    // day 4 = Monday 1970-01-05
    assert!(go(&r, at(4, 10, 0)));
    assert!(go(&r, at(4, 17, 0)), "the stop second is inside");
    assert!(!go(&r, at(4, 17, 1) + 1_000_000_000 * 59));
    assert!(!go(&r, at(4, 8, 59)));
    assert!(!go(&r, at(9, 10, 0)), "Saturday");
    assert!(go(&r, at(0, 12, 0)), "Thursday 1970-01-01");
    let r = filter("-A INPUT -m time --timestart 22:00 --timestop 02:00 -j ACCEPT\n");
    assert!(go(&r, at(1, 23, 0)) && go(&r, at(1, 1, 0)) && !go(&r, at(1, 3, 0)));
    // --contiguous: the small hours belong to the day the window began
    let r = filter(
        "-A INPUT -m time --timestart 22:00 --timestop 02:00 --weekdays Fri --contiguous -j ACCEPT\n",
    );
    // day 1 = Friday: 23:00 Friday and 01:00 Saturday match, 01:00 Friday not
    assert!(go(&r, at(1, 23, 0)));
    assert!(go(&r, at(2, 1, 0)));
    assert!(!go(&r, at(1, 1, 0)));
    let r = filter("-A INPUT -m time --monthdays 2,31 -j ACCEPT\n");
    assert!(go(&r, at(1, 5, 0)) && !go(&r, at(2, 5, 0)) && go(&r, at(30, 5, 0)));
    let r = filter("-A INPUT -m time ! --weekdays Thu -j ACCEPT\n");
    assert!(!go(&r, at(0, 5, 0)) && go(&r, at(1, 5, 0)));
    let r = filter(
        "-A INPUT -m time --datestart 1970-01-02T00:00:00 --datestop 1970-01-03 -j ACCEPT\n",
    );
    assert!(!go(&r, at(0, 23, 0)) && go(&r, at(1, 12, 0)) && !go(&r, at(2, 0, 1)));
}

/// xt_hashlimit.c: one token bucket per key of the mode (here the source
/// address), shared by name; --hashlimit-above matches what is over.
#[test]
fn hashlimit_buckets_per_source() {
    let r = filter("-A INPUT -m hashlimit --hashlimit-upto 2/sec --hashlimit-burst 3 --hashlimit-mode srcip --hashlimit-name t -j ACCEPT\n");
    let mut st = NfState::default();
    let mut go = |src: [u8; 4], t: u64| {
        run(&r, tcp(src, "eth0"), &mut st, t, Assume::NoMatch).0 == Verdict::Accept
    };
    let a: Vec<bool> = (0..4).map(|_| go([1, 1, 1, 1], 0)).collect();
    assert_eq!(a, [true, true, true, false]);
    assert!(go([2, 2, 2, 2], 0), "another source has its own bucket");
    assert!(!go([1, 1, 1, 1], 400_000_000));
    assert!(go([1, 1, 1, 1], 500_000_000), "one token per 0.5 s");
    let r = filter("-A INPUT -m hashlimit --hashlimit-above 1/min --hashlimit-name a -j ACCEPT\n");
    let mut st = NfState::default();
    let v: Vec<bool> = (0..7)
        .map(|_| {
            run(&r, tcp([1, 1, 1, 1], "eth0"), &mut st, 0, Assume::NoMatch).0 == Verdict::Accept
        })
        .collect();
    // the default burst of 5 passes under the limit; the rest is above it
    assert_eq!(v, [false, false, false, false, false, true, true]);
    let e = Ruleset::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m hashlimit --hashlimit-upto 1/s -j ACCEPT\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("--hashlimit-name"), "{e}");
}

fn with_ct(mut p: NfPacket, orig: (u8, [u8; 4], u16, [u8; 4], u16), status: u32) -> NfPacket {
    let o = (
        orig.0,
        Ipv4Addr::from(orig.1),
        orig.2,
        Ipv4Addr::from(orig.3),
        orig.4,
    );
    p.ct = Some(CtView {
        orig: o,
        reply: (o.0, o.3, o.4, o.1, o.2),
        status,
        expires_s: 100,
        reply_dir: false,
        acct: None,
    });
    p.ct_state = ctbits::NEW;
    p
}

/// xt_conntrack.c conntrack_mt: the original tuple's protocol, addresses
/// and ports, the status bits, the expiry; a packet without a connection
/// matches only as the --ctstate test of the same match says.
#[test]
fn conntrack_tests_the_connection() {
    let r =
        filter("-A INPUT -m conntrack --ctstate NEW --ctproto 17 --ctorigdstport 53 -j ACCEPT\n");
    let dns = with_ct(
        tcp([1, 1, 1, 1], "eth0"),
        (17, [1, 1, 1, 1], 5000, [10, 9, 9, 9], 53),
        8,
    );
    assert!(accepts(&r, dns.clone()));
    let http = with_ct(
        tcp([1, 1, 1, 1], "eth0"),
        (6, [1, 1, 1, 1], 5000, [10, 9, 9, 9], 80),
        8,
    );
    assert!(!accepts(&r, http.clone()));
    let r = filter("-A INPUT -m conntrack --ctorigsrc 1.1.1.0/24 --ctstatus ASSURED -j ACCEPT\n");
    assert!(!accepts(&r, dns.clone()));
    let mut assured = dns.clone();
    if let Some(c) = assured.ct.as_mut() {
        c.status |= 4;
    }
    assert!(accepts(&r, assured));
    let r = filter("-A INPUT -m conntrack --ctexpire 50:150 --ctdir ORIGINAL -j ACCEPT\n");
    assert!(accepts(&r, dns.clone()));
    // no connection: `! --ctproto` does not match either (no state test)
    let r = filter("-A INPUT -m conntrack ! --ctproto 6 -j ACCEPT\n");
    assert!(!accepts(&r, tcp([1, 1, 1, 1], "eth0")));
    assert!(accepts(&r, dns));
    assert!(!accepts(&r, http));
    // ... but with a state test that held, it does
    let r = filter("-A INPUT -m conntrack --ctstate UNTRACKED --ctproto 6 -j ACCEPT\n");
    let untracked = NfPacket {
        ct_state: ctbits::UNTRACKED,
        ..tcp([1, 1, 1, 1], "eth0")
    };
    assert!(accepts(&r, untracked));
}

/// ipt_rpfilter.c: the route back to the source leaves through the
/// incoming interface (strict), or exists at all (--loose); --validmark
/// looks up with the packet's mark; --accept-local; --invert.
#[test]
fn rpfilter_looks_up_the_route_back() {
    // xt_rpfilter.c: raw or mangle, PREROUTING only
    let r = raw_pre("-A PREROUTING -m rpfilter -j ACCEPT\n");
    assert!(pre_accepts(&r, tcp([10, 1, 1, 1], "eth0")));
    assert!(
        !pre_accepts(&r, tcp([10, 1, 1, 1], "eth1")),
        "strict: wrong interface"
    );
    assert!(!pre_accepts(&r, tcp([8, 8, 8, 8], "eth0")), "no route back");
    assert!(
        pre_accepts(&r, tcp([8, 8, 8, 8], "lo")),
        "loopback always passes"
    );
    let r = raw_pre("-A PREROUTING -m rpfilter --loose -j ACCEPT\n");
    assert!(pre_accepts(&r, tcp([10, 1, 1, 1], "eth1")));
    let r = raw_pre("-A PREROUTING -m rpfilter --validmark -j ACCEPT\n");
    let marked = NfPacket {
        mark: 7,
        ..tcp([172, 16, 0, 1], "eth1")
    };
    assert!(pre_accepts(&r, marked.clone()));
    let r2 = raw_pre("-A PREROUTING -m rpfilter -j ACCEPT\n");
    assert!(!pre_accepts(&r2, marked));
    let r = raw_pre("-A PREROUTING -m rpfilter --accept-local -j ACCEPT\n");
    assert!(pre_accepts(&r, tcp([10, 9, 9, 9], "eth0")));
    assert!(!pre_accepts(&r2, tcp([10, 9, 9, 9], "eth0")));
    // 127.0.0.1's local route is on lo, not the incoming eth0
    assert!(!pre_accepts(&r, tcp([127, 0, 0, 1], "eth0")));
    // Calico's form: drop what fails the check
    let r = rs("*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m rpfilter --validmark --invert -j DROP\nCOMMIT\n");
    let mut st = NfState::default();
    let mut go = |p: NfPacket| {
        let mut ch = ScriptChooser::default();
        let mut env = EvalEnv {
            addr: &View,
            chooser: &mut ch,
            state: &mut st,
            now_ns: 0,
            assume: Assume::NoMatch,
        };
        let mut p = p;
        r.run_hook(TableKind::Raw, "PREROUTING", &mut p, &mut env)
            .verdict
    };
    assert_eq!(go(tcp([10, 1, 1, 1], "eth0")), Verdict::Accept);
    assert_eq!(go(tcp([10, 1, 1, 1], "eth1")), Verdict::Drop);
}

/// pkttype, length, mac, tos/dscp, connlimit, policy, helper.
#[test]
fn packet_field_matches() {
    let r = filter("-A INPUT -m pkttype --pkt-type multicast -j ACCEPT\n");
    let mc = NfPacket {
        dst: Ipv4Addr::new(224, 0, 0, 251),
        ..tcp([1, 1, 1, 1], "eth0")
    };
    assert!(accepts(&r, mc) && !accepts(&r, tcp([1, 1, 1, 1], "eth0")));
    let r = filter("-A INPUT -m pkttype --pkt-type broadcast -j ACCEPT\n");
    let bc = NfPacket {
        dst: Ipv4Addr::new(10, 255, 255, 255),
        ..tcp([1, 1, 1, 1], "eth0")
    };
    assert!(accepts(&r, bc));
    let r = filter("-A INPUT -m length --length 100:200 -j ACCEPT\n");
    let l = |len| NfPacket {
        len,
        ..tcp([1, 1, 1, 1], "eth0")
    };
    assert!(accepts(&r, l(100)) && accepts(&r, l(200)) && !accepts(&r, l(201)));
    let r = filter("-A INPUT -m mac --mac-source 00:60:08:76:35:51 -j ACCEPT\n");
    let m = |mac| NfPacket {
        src_mac: mac,
        ..tcp([1, 1, 1, 1], "eth0")
    };
    assert!(accepts(&r, m(Some([0, 0x60, 8, 0x76, 0x35, 0x51]))));
    assert!(!accepts(&r, m(Some([0, 0x60, 8, 0x76, 0x35, 0x52]))) && !accepts(&r, m(None)));
    let r = filter(
        "-A INPUT -m dscp --dscp-class EF -j ACCEPT\n-A INPUT -m tos --tos 0x10/0x3f -j ACCEPT\n",
    );
    let t = |tos| NfPacket {
        tos,
        ..tcp([1, 1, 1, 1], "eth0")
    };
    assert!(accepts(&r, t(0x2e << 2)) && accepts(&r, t(0x10)) && !accepts(&r, t(0)));
    let r = filter(
        "-A INPUT -p tcp --syn -m connlimit --connlimit-above 3 -j DROP\n-A INPUT -j ACCEPT\n",
    );
    let syn = |src| NfPacket {
        tcp_flags: Some(0x02),
        ..tcp(src, "eth0")
    };
    assert!(!accepts(&r, syn([10, 0, 0, 7])), "5 connections > 3");
    assert!(accepts(&r, syn([10, 0, 1, 7])));
    let r = filter("-A INPUT -m connlimit --connlimit-upto 5 --connlimit-mask 8 -j ACCEPT\n");
    assert!(accepts(&r, tcp([10, 3, 0, 7], "eth0")));
    let r = filter("-A INPUT -m policy --dir in --pol none -j ACCEPT\n");
    assert!(accepts(&r, tcp([1, 1, 1, 1], "eth0")));
    let r = filter("-A INPUT -m policy --dir in --pol ipsec --proto esp -j ACCEPT\n");
    assert!(
        !accepts(&r, tcp([1, 1, 1, 1], "eth0")),
        "no IPsec in podpath"
    );
    let r = filter("-A INPUT -m helper --helper ftp -j ACCEPT\n");
    assert!(!accepts(&r, tcp([1, 1, 1, 1], "eth0")));
    let r = filter("-A INPUT -m helper ! --helper ftp -j ACCEPT\n");
    assert!(accepts(&r, tcp([1, 1, 1, 1], "eth0")));
}

/// A match libxtables knows and podpath does not model: kept, listed at
/// parse, and at evaluation it holds as `assume` says, the trace saying so.
#[test]
fn unmodelled_match_follows_the_assumption() {
    let r = filter("-A INPUT -p tcp -m string --string \"GET /\" --algo bm -j ACCEPT\n");
    assert_eq!(r.unmodelled.len(), 1);
    assert_eq!(
        r.unmodelled[0].to_string(),
        "line 5: -m string is not modelled: treated as not matching"
    );
    let p = tcp([1, 1, 1, 1], "eth0");
    let (v, steps) = run(&r, p.clone(), &mut NfState::default(), 0, Assume::NoMatch);
    assert_eq!(v, Verdict::Drop);
    assert_eq!(
        steps[0].effect,
        "-m string is not modelled: treated as not matching"
    );
    assert_eq!((steps[0].rule, steps[0].line), (1, 5));
    let (v, steps) = run(&r, p, &mut NfState::default(), 0, Assume::Match);
    assert_eq!(v, Verdict::Accept);
    assert_eq!(
        steps[0].effect,
        "-m string is not modelled: treated as matching; ACCEPT"
    );
    // an option of a modelled match that podpath does not model
    let r = filter("-A INPUT -p tcp -m tcp --tcp-option 2 -j ACCEPT\n");
    assert_eq!(r.unmodelled[0].construct, "-m tcp --tcp-option");
    // a name libxtables does not know is refused as iptables-restore does
    let e = Ruleset::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m frobnicate -j ACCEPT\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("Couldn't load match `frobnicate':No such file or directory"),
        "{e}"
    );
    // an unmodelled target is passed over
    let r = filter("-A INPUT -j LED --led-trigger-id x\n-A INPUT -j ACCEPT\n");
    assert_eq!(r.unmodelled[0].construct, "-j LED");
    assert_eq!(r.unmodelled[0].effect, "passed over");
    let (v, steps) = run(
        &r,
        tcp([1, 1, 1, 1], "eth0"),
        &mut NfState::default(),
        0,
        Assume::NoMatch,
    );
    assert_eq!(v, Verdict::Accept);
    assert_eq!(steps[0].effect, "-j LED is not modelled: passed over");
}

/// NFQUEUE with nobody listening: dropped, or with --queue-bypass
/// accepted by this table (the rules after it do not run); NFLOG, TCPMSS,
/// CHECKSUM, CT and CLASSIFY record a step and go on.
#[test]
fn targets_without_a_listener_or_an_effect() {
    let r = filter("-A INPUT -j NFQUEUE --queue-num 3\n-A INPUT -j ACCEPT\n");
    let (v, steps) = run(
        &r,
        tcp([1, 1, 1, 1], "eth0"),
        &mut NfState::default(),
        0,
        Assume::NoMatch,
    );
    assert_eq!(v, Verdict::Drop);
    assert_eq!(steps[0].effect, "NFQUEUE 3: no program listens: dropped");
    let r = rs("*filter\n:INPUT DROP [0:0]\n-A INPUT -j NFQUEUE --queue-bypass\n-A INPUT -j DROP\nCOMMIT\n");
    let (v, _) = run(
        &r,
        tcp([1, 1, 1, 1], "eth0"),
        &mut NfState::default(),
        0,
        Assume::NoMatch,
    );
    assert_eq!(v, Verdict::Accept);
    let r = rs("*mangle\n:FORWARD ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n-A POSTROUTING -p udp -j CHECKSUM --checksum-fill\n-A FORWARD -j NFLOG --nflog-prefix x --nflog-group 2\n-A FORWARD -j CLASSIFY --set-class 1:10\nCOMMIT\n*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CT --zone 4\nCOMMIT\n");
    assert_eq!(r.unmodelled, vec![]);
    let mut st = NfState::default();
    let mut ch = ScriptChooser::default();
    let mut env = EvalEnv {
        addr: &View,
        chooser: &mut ch,
        state: &mut st,
        now_ns: 0,
        assume: Assume::NoMatch,
    };
    let mut p = NfPacket {
        tcp_flags: Some(0x02),
        tcp_mss: Some(1460),
        path_mtu: Some(1450),
        ..tcp([1, 1, 1, 1], "eth0")
    };
    let o = r.run_hook(TableKind::Mangle, "FORWARD", &mut p, &mut env);
    assert_eq!(p.tcp_mss, Some(1410));
    let effects: Vec<&str> = o.steps.iter().map(|s| s.effect.as_str()).collect();
    assert_eq!(
        effects,
        [
            "TCPMSS clamp MSS to path MTU - 40 = 1410: MSS 1460 -> 1410",
            "NFLOG group 2 \"x\"",
            "CLASSIFY 1:10",
            "policy ACCEPT"
        ]
    );
    let o = r.run_hook(TableKind::Raw, "PREROUTING", &mut p, &mut env);
    assert!(
        o.steps[0].effect.starts_with("CT --zone 4"),
        "{:?}",
        o.steps
    );
    let e = Ruleset::parse(
        "*mangle\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j TCPMSS\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("TCPMSS"), "{e}");
}

/// `*security` (iptable_security.c): INPUT, FORWARD and OUTPUT.
#[test]
fn security_table_loads_and_runs() {
    let r = rs("*security\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 80 -j DROP\nCOMMIT\n");
    let mut st = NfState::default();
    let mut ch = ScriptChooser::default();
    let mut env = EvalEnv {
        addr: &View,
        chooser: &mut ch,
        state: &mut st,
        now_ns: 0,
        assume: Assume::NoMatch,
    };
    let mut p = tcp([1, 1, 1, 1], "eth0");
    let o = r.run_hook(TableKind::Security, "INPUT", &mut p, &mut env);
    assert_eq!(o.verdict, Verdict::Drop);
    assert!(r.to_save_text().contains("*security\n"));
    assert!(!Ruleset::empty().to_save_text().contains("*security"));
    let e = Ruleset::parse("*security\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", "t").unwrap_err();
    assert!(e.to_string().contains("policy"), "{e}");
}

/// ip6tables-save: v6 addresses, ipv6-icmp and its types, hl, REJECT with
/// icmp6 types and NAT to [v6]:port, kept typed and not evaluated.
#[test]
fn ip6tables_is_parsed_and_kept() {
    let t = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -m hl --hl-eq 255 -j ACCEPT\n-A INPUT -p tcp -j REJECT --reject-with icmp6-adm-prohibited\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -d ::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80\nCOMMIT\n";
    let r = Ruleset::parse_v6(t, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.family, Family::V6);
    let rules = &r.table(TableKind::Filter).chain("INPUT").unwrap().rules;
    assert!(rules[0]
        .conds
        .iter()
        .any(|c| c.kind == CondKind::Src6("fe80::/10".parse().unwrap())));
    assert!(rules[0].conds.iter().any(|c| c.kind
        == CondKind::Icmp6Type {
            ty: 135,
            code: None
        }));
    assert!(rules[0].conds.iter().any(|c| matches!(
        c.kind,
        CondKind::Ttl {
            v6: true,
            value: 255,
            ..
        }
    )));
    assert!(matches!(
        &rules[1].target,
        Some(Target::Reject(crate::net::netfilter::RejectWith::Icmp6(1)))
    ));
    assert!(Ruleset::parse(t, "t").is_err(), "v6 addresses are not IPv4");
    let e = Ruleset::parse_v6(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m icmp -j ACCEPT\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("Couldn't load match `icmp'"), "{e}");
}

/// A view with one transparent listener on 0.0.0.0:15001 and one
/// established (accepted, transparent) connection 10.0.0.1:40000 ->
/// 10.96.0.10:80 (sk lookups as nf_tproxy_get_sock_v4 answers them).
struct Socks;
impl AddrClass for Socks {
    fn addr_type(&self, _: Ipv4Addr, _: Option<&str>) -> u16 {
        addrtype::UNICAST
    }
    fn sk_lookup(
        &self,
        q: &crate::net::netfilter::sk::SkQuery,
        how: crate::net::netfilter::sk::SkLookup,
    ) -> Option<crate::net::netfilter::sk::SkInfo> {
        use crate::net::netfilter::sk::{SkInfo, SkLookup};
        let est = q.sport == 40000 && q.dport == 80;
        let lis = q.dport == 15001;
        let sk = |listener| SkInfo {
            proto: 6,
            listener,
            time_wait: false,
            transparent: true,
            wildcard: listener,
            mark: 0,
            port: q.dport,
        };
        match how {
            SkLookup::Established if est => Some(sk(false)),
            SkLookup::Listener if lis => Some(sk(true)),
            SkLookup::Any if est => Some(sk(false)),
            SkLookup::Any if lis => Some(sk(true)),
            _ => None,
        }
    }
    fn primary_addr(&self, dev: &str) -> Option<Ipv4Addr> {
        (dev == "eth0").then_some(Ipv4Addr::new(10, 0, 0, 2))
    }
}

/// xt_TPROXY.c tproxy_tg4: a listener on the redirect port takes a new
/// connection (mark set, ACCEPT); a packet of an accepted connection
/// finds its own socket; no socket: NF_DROP. xt_socket.c: the
/// established socket matches, the wildcard listener only with
/// --nowildcard.
#[test]
fn tproxy_target_and_socket_match() {
    let r = rs("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m socket --transparent -j MARK --set-xmark 0x2/0xffffffff\n-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 15001 --tproxy-mark 0x1/0x1\n-A PREROUTING -p tcp -m tcp --dport 81 -j TPROXY --on-port 15002\nCOMMIT\n");
    let run = |sport: u16, dport: u16, flags: u8| {
        let mut st = NfState::default();
        let mut ch = ScriptChooser::default();
        let mut env = EvalEnv {
            addr: &Socks,
            chooser: &mut ch,
            state: &mut st,
            now_ns: 0,
            assume: Default::default(),
        };
        let mut p = NfPacket {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 96, 0, 10),
            proto: 6,
            sport: Some(sport),
            dport: Some(dport),
            tcp_flags: Some(flags),
            in_if: Some("eth0".into()),
            ..Default::default()
        };
        let o = r.run_hook(TableKind::Mangle, "PREROUTING", &mut p, &mut env);
        (o, p)
    };
    // a new connection: no socket of its own, the listener takes it
    let (o, p) = run(40001, 80, 0x02);
    assert_eq!(o.verdict, Verdict::Accept);
    assert_eq!(p.mark, 1);
    assert_eq!(p.sk.map(|s| (s.port, s.listener)), Some((15001, true)));
    assert!(
        o.steps[0].effect.starts_with("TPROXY to 10.0.0.2:15001"),
        "{:?}",
        o.steps
    );
    // the accepted connection's packets: -m socket --transparent matches,
    // and TPROXY finds the established socket of the tuple itself
    let (o, p) = run(40000, 80, 0x10);
    assert_eq!(p.mark, 3, "{:?}", o.steps);
    assert!(o.steps[0].effect.starts_with("MARK 0x0 -> 0x2"));
    assert!(o.steps[1]
        .effect
        .contains("tcp established socket :80 (IP_TRANSPARENT)"));
    assert_eq!(p.sk.map(|s| s.listener), Some(false));
    // nothing listens on 15002: dropped
    let (o, _) = run(40001, 81, 0x02);
    assert_eq!(o.verdict, Verdict::Drop, "{:?}", o.steps);
    // the kernel refuses TPROXY outside mangle PREROUTING, or without
    // -p tcp|udp (tproxy_tg4_check)
    for bad in [
        "*mangle\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j TPROXY --on-port 1\nCOMMIT\n",
        "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j TPROXY --on-port 1\nCOMMIT\n",
    ] {
        let e = Ruleset::parse(bad, "t").unwrap_err();
        assert!(e.to_string().contains("TPROXY"), "{e}");
    }
}

/// xt_SYNPROXY.c synproxy_tg4: a SYN or an ACK is taken (the answer
/// leaves after the walk), anything else goes on; libxt_SYNPROXY's
/// options become the info's flags; the kernel wants -p tcp.
#[test]
fn synproxy_target_takes_syn_and_ack() {
    use crate::net::netfilter::synproxy::SynproxyAct;
    use crate::net::netfilter::synproxy::{
        SynproxyInfo, OPT_MSS, OPT_SACK_PERM, OPT_TIMESTAMP, OPT_WSCALE,
    };
    let r = rs("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\n-A INPUT -p tcp -j DROP\nCOMMIT\n");
    let info = SynproxyInfo {
        options: OPT_MSS | OPT_SACK_PERM | OPT_TIMESTAMP | OPT_WSCALE,
        wscale: 7,
        mss: 1460,
    };
    let run = |flags: u8| {
        let mut st = NfState::default();
        let mut ch = ScriptChooser::default();
        let mut env = EvalEnv {
            addr: &View,
            chooser: &mut ch,
            state: &mut st,
            now_ns: 0,
            assume: Default::default(),
        };
        let mut p = NfPacket {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            proto: 6,
            sport: Some(40000),
            dport: Some(80),
            tcp_flags: Some(flags),
            ct_state: ctbits::UNTRACKED,
            ..Default::default()
        };
        let o = r.run_hook(TableKind::Filter, "INPUT", &mut p, &mut env);
        (o, p.synproxy)
    };
    assert_eq!(run(0x02).1, Some(SynproxyAct::Syn(info)));
    assert_eq!(run(0x10).1, Some(SynproxyAct::Ack));
    // FIN|ACK: XT_CONTINUE, the next rule drops it
    let (o, sp) = run(0x11);
    assert_eq!(sp, None);
    assert_eq!(o.steps.len(), 2, "{:?}", o.steps);
    let e = Ruleset::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -j SYNPROXY --mss 1460\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("SYNPROXY target: only valid for protocol 6"),
        "{e}"
    );
}

/// Runs mangle PREROUTING over `pkt`; the packet after it and the steps.
fn mangle_pre(rules: &str, pkt: NfPacket) -> (NfPacket, Vec<NfStep>) {
    let r = rs(&format!(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{rules}COMMIT\n"
    ));
    assert!(r.unmodelled.is_empty(), "{:?}", r.unmodelled);
    let mut ch = ScriptChooser::default();
    let mut st = NfState::default();
    let mut env = EvalEnv {
        addr: &View,
        chooser: &mut ch,
        state: &mut st,
        now_ns: 0,
        assume: Assume::NoMatch,
    };
    let mut pkt = pkt;
    let o = r.run_hook(TableKind::Mangle, "PREROUTING", &mut pkt, &mut env);
    assert_eq!(o.verdict, Verdict::Accept);
    (pkt, o.steps)
}

/// xt_HL.c ttl_tg: set, inc (255 at most), dec (0 at least), XT_CONTINUE
/// (the rule after it sees the new TTL).
#[test]
fn ttl_target_rewrites_the_ttl_and_continues() {
    let p = |ttl| NfPacket {
        ttl,
        ..tcp([1, 1, 1, 1], "eth0")
    };
    let (q, steps) = mangle_pre(
        "-A PREROUTING -j TTL --ttl-set 5\n-A PREROUTING -m ttl --ttl-eq 5 -j MARK --set-mark 1\n",
        p(64),
    );
    assert_eq!((q.ttl, q.mark), (5, 1));
    assert_eq!(steps[0].effect, "TTL 64 -> 5");
    assert_eq!(
        mangle_pre("-A PREROUTING -j TTL --ttl-inc 10\n", p(250))
            .0
            .ttl,
        255
    );
    assert_eq!(
        mangle_pre("-A PREROUTING -j TTL --ttl-dec 10\n", p(3))
            .0
            .ttl,
        0
    );
    assert_eq!(
        mangle_pre("-A PREROUTING -j TTL --ttl-dec 1\n", p(3)).0.ttl,
        2
    );
    // .table = "mangle" (xt_HL.c)
    let e = Ruleset::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j TTL --ttl-set 1\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("mangle"), "{e}");
}

/// xt_DSCP.c tos_tg and dscp_tg; ipt_ECN.c ecn_tg.
#[test]
fn tos_dscp_and_ecn_targets_rewrite_the_tos_byte_and_tcp_bits() {
    let p = |tos| NfPacket {
        tos,
        tcp_flags: Some(0xc2),
        ..tcp([1, 1, 1, 1], "eth0")
    };
    // --set-tos 0x10/0x3f keeps the two upper bits: (0xc3 & ~0x3f) ^ 0x10
    let (q, _) = mangle_pre("-A PREROUTING -j TOS --set-tos Minimize-Delay\n", p(0xc3));
    assert_eq!(q.tos, 0xd0);
    assert_eq!(
        mangle_pre("-A PREROUTING -j TOS --and-tos 0x0f\n", p(0xc3))
            .0
            .tos,
        0x03
    );
    assert_eq!(
        mangle_pre("-A PREROUTING -j TOS --or-tos 0x10\n", p(0x03))
            .0
            .tos,
        0x13
    );
    assert_eq!(
        mangle_pre("-A PREROUTING -j TOS --xor-tos 0x01\n", p(0x03))
            .0
            .tos,
        0x02
    );
    // DSCP keeps the ECN bits
    let (q, steps) = mangle_pre(
        "-A PREROUTING -j DSCP --set-dscp-class EF\n-A PREROUTING -m dscp --dscp 0x2e -j MARK --set-mark 2\n",
        p(0x01),
    );
    assert_eq!((q.tos, q.mark), (0xb9, 2));
    assert_eq!(steps[0].effect, "DSCP 0x00 -> 0x2e");
    // ECN: the IP field, and CWR/ECE cleared on TCP
    let (q, _) = mangle_pre(
        "-A PREROUTING -p tcp -j ECN --ecn-tcp-remove --ecn-ip-ect 2\n",
        p(0x03),
    );
    assert_eq!((q.tos, q.tcp_flags), (0x02, Some(0x02)));
    let e = Ruleset::parse(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p udp -j ECN --ecn-tcp-remove\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("non-tcp"), "{e}");
}

/// xt_connbytes.c connbytes_mt: counters by direction and mode; no
/// counters (accounting off, or no connection) never match, `!` included
/// (libxt_connbytes.c swaps from and to); loading the rule forces
/// accounting on (connbytes_mt_check).
#[test]
fn connbytes_reads_the_connection_counters() {
    let r = filter(
        "-A INPUT -m connbytes --connbytes 3:5 --connbytes-dir original --connbytes-mode packets -j ACCEPT\n",
    );
    assert!(r.ct_acct && r.unmodelled.is_empty());
    let p = |acct: Option<[(u64, u64); 2]>| {
        let mut p = with_ct(
            tcp([1, 1, 1, 1], "eth0"),
            (6, [1, 1, 1, 1], 40000, [10, 9, 9, 9], 80),
            8,
        );
        if let Some(c) = p.ct.as_mut() {
            c.acct = acct;
        }
        p
    };
    assert!(accepts(&r, p(Some([(3, 180), (9, 9000)]))));
    assert!(!accepts(&r, p(Some([(2, 120), (9, 9000)]))));
    assert!(!accepts(&r, p(Some([(6, 360), (0, 0)]))));
    assert!(!accepts(&r, p(None)));
    assert!(!accepts(&r, tcp([1, 1, 1, 1], "eth0")));
    let r = filter(
        "-A INPUT -m connbytes ! --connbytes 3:5 --connbytes-dir both --connbytes-mode packets -j ACCEPT\n",
    );
    assert!(accepts(&r, p(Some([(1, 60), (1, 60)]))));
    assert!(!accepts(&r, p(Some([(2, 60), (2, 60)]))));
    assert!(!accepts(&r, p(None)));
    // avgpkt: bytes / packets of the reply direction; an open range
    let r = filter(
        "-A INPUT -m connbytes --connbytes 1000 --connbytes-dir reply --connbytes-mode avgpkt -j ACCEPT\n",
    );
    assert!(accepts(&r, p(Some([(1, 60), (2, 3000)]))));
    assert!(!accepts(&r, p(Some([(1, 60), (4, 3000)]))));
    assert!(!accepts(&r, p(Some([(1, 60), (0, 0)]))));
}

/// xt_set.c set_target_v3: `--add-set` puts the packet's element into the
/// set at once (the next rule's `-m set` sees it), with the set's or the
/// given timeout on the virtual clock; an element already there is
/// refreshed only with `--exist`; `--del-set` takes it out; `--map-set
/// --map-mark` applies the member's skbmark.
#[test]
fn set_target_changes_the_ipsets() {
    let mut st = NfState {
        ipsets: crate::net::netfilter::ipset::IpsetStore::parse(
            "create seen hash:ip,port timeout 60\ncreate plain hash:ip\ncreate marks hash:ip skbinfo\nadd marks 1.1.1.1 skbmark 0x10/0xf0\n",
            "t",
        )
        .unwrap()
        .into(),
        ..NfState::default()
    };
    let r = filter(
        "-A INPUT -p tcp -j SET --add-set seen src,dst --timeout 5\n-A INPUT -p tcp -m set --match-set seen src,dst -j ACCEPT\n",
    );
    assert!(r.unmodelled.is_empty(), "{:?}", r.unmodelled);
    let p = tcp([1, 1, 1, 1], "eth0");
    let (v, steps) = run(&r, p.clone(), &mut st, 0, Assume::NoMatch);
    assert_eq!(v, Verdict::Accept);
    assert_eq!(steps[0].effect, "SET add 1.1.1.1,6:80 to seen timeout 5");
    // without --exist the element is not refreshed: gone after 5 s
    let (_, steps) = run(&r, p.clone(), &mut st, 3_000_000_000, Assume::NoMatch);
    assert_eq!(
        steps[0].effect,
        "SET add 1.1.1.1,6:80 to seen: already added"
    );
    let only_match = filter("-A INPUT -p tcp -m set --match-set seen src,dst -j ACCEPT\n");
    assert_eq!(
        run(
            &only_match,
            p.clone(),
            &mut st,
            4_999_999_999,
            Assume::NoMatch
        )
        .0,
        Verdict::Accept
    );
    assert_eq!(
        run(
            &only_match,
            p.clone(),
            &mut st,
            5_000_000_000,
            Assume::NoMatch
        )
        .0,
        Verdict::Drop
    );
    // --exist refreshes; a set without timeouts keeps the element; --del-set
    let r = filter("-A INPUT -j SET --add-set plain src --exist --timeout 5\n");
    run(&r, p.clone(), &mut st, 0, Assume::NoMatch);
    let m = filter("-A INPUT -m set --match-set plain src -j ACCEPT\n");
    assert_eq!(
        run(&m, p.clone(), &mut st, 999_000_000_000, Assume::NoMatch).0,
        Verdict::Accept
    );
    let d = filter("-A INPUT -j SET --del-set plain src\n");
    run(&d, p.clone(), &mut st, 0, Assume::NoMatch);
    assert_eq!(
        run(&m, p.clone(), &mut st, 0, Assume::NoMatch).0,
        Verdict::Drop
    );
    // --map-set --map-mark (mangle only)
    let r = rs("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j SET --map-set marks src --map-mark\nCOMMIT\n");
    let mut ch = ScriptChooser::default();
    let mut env = EvalEnv {
        addr: &View,
        chooser: &mut ch,
        state: &mut st,
        now_ns: 0,
        assume: Assume::NoMatch,
    };
    let mut q = NfPacket { mark: 0x1ff, ..p };
    r.run_hook(TableKind::Mangle, "PREROUTING", &mut q, &mut env);
    assert_eq!(q.mark, 0x11f);
    let e = Ruleset::parse(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j SET --timeout 5\nCOMMIT\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("--add-set"), "{e}");
}

fn sctp_pkt(chunks: &[(u8, u8)]) -> NfPacket {
    NfPacket {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 9, 9, 9),
        proto: 132,
        sport: Some(40000),
        dport: Some(3868),
        sctp_chunks: chunks
            .iter()
            .map(|&(ty, flags)| crate::wire::sctp::Chunk {
                ty,
                flags,
                value: vec![0; 4],
            })
            .collect(),
        ..Default::default()
    }
}

/// xt_sctp.c: `--chunk-types any` (one listed chunk), `all` (every listed
/// type present), `only` (nothing unlisted), with flags (upper case set,
/// lower case clear) and `!`; libxt_sctp's refusals.
#[test]
fn sctp_chunk_types() {
    let r = |m: &str| filter(&format!("-A INPUT -p sctp -m sctp {m} -j ACCEPT\n"));
    let init = sctp_pkt(&[(1, 0)]);
    let sack_data = sctp_pkt(&[(3, 0), (0, 0x03)]);
    let data_u = sctp_pkt(&[(0, 0x07)]);
    let abort_t = sctp_pkt(&[(6, 0x01)]);
    let any = r("--chunk-types any INIT,COOKIE_ECHO");
    assert!(accepts(&any, init.clone()));
    assert!(!accepts(&any, sack_data.clone()));
    let all = r("--chunk-types all SACK,DATA");
    assert!(accepts(&all, sack_data.clone()));
    assert!(!accepts(&all, data_u.clone()));
    let only = r("--chunk-types only DATA");
    assert!(accepts(&only, data_u.clone()));
    assert!(!accepts(&only, sack_data.clone()));
    // DATA with the U flag set (and I clear), names case-insensitive
    let flags = r("--chunk-types any data:Ui");
    assert!(accepts(&flags, data_u.clone()));
    assert!(!accepts(&flags, sack_data.clone()));
    let t = r("--chunk-types any ABORT:T");
    assert!(accepts(&t, abort_t.clone()));
    assert!(!accepts(&r("--chunk-types any ABORT:t"), abort_t));
    let not = r("! --chunk-types any INIT");
    assert!(!accepts(&not, init.clone()));
    assert!(accepts(&not, sack_data));
    // ports with chunk types
    assert!(accepts(
        &r("--dport 3868 --chunk-types any INIT"),
        init.clone()
    ));
    assert!(!accepts(&r("--dport 3869 --chunk-types any INIT"), init));
    for (bad, why) in [
        ("--chunk-types some INIT", "Invalid chunk match type"),
        ("--chunk-types any NOPE", "Unknown chunk type"),
        ("--chunk-types any INIT:T", "Invalid flags"),
    ] {
        let e = Ruleset::parse(
            &format!(
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -p sctp -m sctp {bad} -j ACCEPT\nCOMMIT\n"
            ),
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
}
