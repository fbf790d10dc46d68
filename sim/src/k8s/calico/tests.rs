//! felix's own expectations (projectcalico/calico v3.32.1), ported: the
//! strings its unit tests and its FV dump hold, compared with this
//! renderer's output for the same input.

use super::conv::{CRule, IpSetDef, PRule};
use super::render::{self, Marks};
use super::rule::{length_limited_id, rule_hashes, Rule, A, M};
use super::selector::Sel;

/// `policy_test.go`'s `rrConfigNormal` marks.
const TEST_MARKS: Marks = Marks {
    accept: 0x80,
    pass: 0x100,
    scratch0: 0x200,
    scratch1: 0x400,
};

/// A set with a given id (felix's tests name sets by raw ids).
fn felix_rendered(r: &PRule) -> Vec<String> {
    let (rules, _) = render::proto_rule(r, TEST_MARKS, false);
    rules.iter().map(|x| x.felix("test", "")).collect()
}

const CLEAR_BOTH: &str = "-A test --jump MARK --set-mark 0x0/0x600";
const PRESET_ALL: &str = "-A test --jump MARK --set-mark 0x200/0x600";
const ALLOW_IF_ALL: &str = "-A test -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80";
const RETURN: &str = "-A test -m mark --mark 0x80/0x80 --jump RETURN";

fn nets(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// policy_test.go "CIDR split tests" (`ProtoRuleToIptablesRules` rendered
/// with `RenderAppend(rule, "test", "")`).
#[test]
fn cidr_split_tests_match_felix() {
    let src = ["10.0.0.0/24", "10.0.1.0/24"];
    let nsrc = ["11.0.0.0/24", "11.0.1.0/24"];
    let dst = ["12.0.0.0/24", "12.0.1.0/24"];
    let ndst = ["13.0.0.0/24", "13.0.1.0/24"];
    let rule = |a: usize, b: usize, c: usize, d: usize| PRule {
        src_nets: nets(&src[..a]),
        not_src_nets: nets(&nsrc[..b]),
        dst_nets: nets(&dst[..c]),
        not_dst_nets: nets(&ndst[..d]),
        ..Default::default()
    };
    type Case<'a> = ((usize, usize, usize, usize), Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            (2, 0, 0, 0),
            vec![
                CLEAR_BOTH,
                "-A test --source 10.0.0.0/24 --jump MARK --set-mark 0x200/0x200",
                "-A test --source 10.0.1.0/24 --jump MARK --set-mark 0x200/0x200",
                ALLOW_IF_ALL,
                RETURN,
            ],
        ),
        (
            (0, 2, 0, 0),
            vec![
                PRESET_ALL,
                "-A test --source 11.0.0.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --source 11.0.1.0/24 --jump MARK --set-mark 0/0x200",
                ALLOW_IF_ALL,
                RETURN,
            ],
        ),
        (
            (1, 1, 0, 0),
            vec![
                PRESET_ALL,
                "-A test --source 11.0.0.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --source 10.0.0.0/24 -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80",
                RETURN,
            ],
        ),
        (
            (2, 1, 0, 0),
            vec![
                CLEAR_BOTH,
                "-A test --source 10.0.0.0/24 --jump MARK --set-mark 0x200/0x200",
                "-A test --source 10.0.1.0/24 --jump MARK --set-mark 0x200/0x200",
                "-A test ! --source 11.0.0.0/24 -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80",
                RETURN,
            ],
        ),
        (
            (0, 0, 1, 1),
            vec![
                PRESET_ALL,
                "-A test --destination 13.0.0.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --destination 12.0.0.0/24 -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80",
                RETURN,
            ],
        ),
        (
            (1, 1, 1, 1),
            vec![
                PRESET_ALL,
                "-A test --source 11.0.0.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --destination 13.0.0.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --source 10.0.0.0/24 --destination 12.0.0.0/24 -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80",
                RETURN,
            ],
        ),
        (
            (2, 2, 2, 2),
            vec![
                CLEAR_BOTH,
                "-A test --source 10.0.0.0/24 --jump MARK --set-mark 0x200/0x200",
                "-A test --source 10.0.1.0/24 --jump MARK --set-mark 0x200/0x200",
                "-A test --destination 12.0.0.0/24 --jump MARK --set-mark 0x400/0x400",
                "-A test --destination 12.0.1.0/24 --jump MARK --set-mark 0x400/0x400",
                "-A test -m mark --mark 0/0x400 --jump MARK --set-mark 0/0x200",
                "-A test --source 11.0.0.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --source 11.0.1.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --destination 13.0.0.0/24 --jump MARK --set-mark 0/0x200",
                "-A test --destination 13.0.1.0/24 --jump MARK --set-mark 0/0x200",
                ALLOW_IF_ALL,
                RETURN,
            ],
        ),
    ];
    for ((a, b, c, d), want) in cases {
        assert_eq!(felix_rendered(&rule(a, b, c, d)), want, "{a} {b} {c} {d}");
    }
}

/// A named-port set whose main name is `cali40` + `id` (felix's tests
/// give raw ids such as `ipset-1`): rendered through a stand-in.
fn raw_named(r: &PRule, ids: &[&str], dst: bool) -> Vec<String> {
    // render with placeholder sets, then put the raw names in
    let mut r = r.clone();
    let defs: Vec<IpSetDef> = ids
        .iter()
        .map(|i| IpSetDef::NamedPort {
            sel: Sel::Has((*i).into()),
            proto: "tcp".into(),
            name: (*i).into(),
        })
        .collect();
    if dst {
        r.dst_named = defs.clone();
    } else {
        r.src_named = defs.clone();
    }
    felix_rendered(&r)
        .into_iter()
        .map(|mut s| {
            for (d, i) in defs.iter().zip(ids) {
                s = s.replace(&d.name(), &format!("cali40{i}"));
            }
            s
        })
        .collect()
}

/// policy_test.go "Named port tests" (positive source matches).
#[test]
fn named_port_tests_match_felix() {
    let tcp = Some("tcp".to_string());
    let r = PRule {
        proto: tcp.clone(),
        ..Default::default()
    };
    assert_eq!(
        raw_named(&r, &["ipset-1"], false),
        vec![
            "-A test -p tcp -m set --match-set cali40ipset-1 src,src --jump MARK --set-mark 0x80/0x80",
            RETURN
        ]
    );
    let udp = PRule {
        proto: Some("udp".into()),
        ..Default::default()
    };
    assert_eq!(
        raw_named(&udp, &["ipset-1", "ipset-2"], false),
        vec![
            CLEAR_BOTH,
            "-A test -m set --match-set cali40ipset-1 src,src --jump MARK --set-mark 0x200/0x200",
            "-A test -m set --match-set cali40ipset-2 src,src --jump MARK --set-mark 0x200/0x200",
            "-A test -p udp -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80",
            RETURN,
        ]
    );
    let many = PRule {
        proto: tcp.clone(),
        src_ports: (0..8).map(|i| (2 * i + 1, 2 * i + 2)).collect(),
        ..Default::default()
    };
    assert_eq!(
        raw_named(&many, &["ipset-1", "ipset-2", "ipset-3"], false),
        vec![
            CLEAR_BOTH,
            "-A test -p tcp -m multiport --source-ports 1:2,3:4,5:6,7:8,9:10,11:12,13:14 --jump MARK --set-mark 0x200/0x200",
            "-A test -p tcp -m multiport --source-ports 15:16 --jump MARK --set-mark 0x200/0x200",
            "-A test -m set --match-set cali40ipset-1 src,src --jump MARK --set-mark 0x200/0x200",
            "-A test -m set --match-set cali40ipset-2 src,src --jump MARK --set-mark 0x200/0x200",
            "-A test -m set --match-set cali40ipset-3 src,src --jump MARK --set-mark 0x200/0x200",
            "-A test -p tcp -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80",
            RETURN,
        ]
    );
    let mixed = PRule {
        proto: tcp,
        src_ports: vec![(1, 2)],
        ..Default::default()
    };
    assert_eq!(
        raw_named(&mixed, &["ipset-1"], false),
        vec![
            CLEAR_BOTH,
            "-A test -p tcp -m multiport --source-ports 1:2 --jump MARK --set-mark 0x200/0x200",
            "-A test -m set --match-set cali40ipset-1 src,src --jump MARK --set-mark 0x200/0x200",
            "-A test -p tcp -m mark --mark 0x200/0x200 --jump MARK --set-mark 0x80/0x80",
            RETURN,
        ]
    );
}

/// policy_test.go `ruleTestData` (the match of a lone allow rule).
#[test]
fn rule_matches_match_felix() {
    let one = |r: PRule| {
        let (rules, at) = render::proto_rule(&r, TEST_MARKS, false);
        rules[at].match_text()
    };
    assert_eq!(
        one(PRule {
            proto: Some("tcp".into()),
            ..Default::default()
        }),
        "-p tcp"
    );
    assert_eq!(
        one(PRule {
            src_nets: nets(&["10.0.0.0/16"]),
            ..Default::default()
        }),
        "--source 10.0.0.0/16"
    );
    assert_eq!(
        one(PRule {
            dst_ports: vec![(10, 12), (20, 30), (8080, 8080)],
            ..Default::default()
        }),
        "-m multiport --destination-ports 10:12,20:30,8080"
    );
    assert_eq!(
        one(PRule {
            not_src_nets: nets(&["10.0.0.0/16"]),
            ..Default::default()
        }),
        "! --source 10.0.0.0/16"
    );
    // "Dest ports (>15) should be broken into blocks"
    let (rules, _) = render::proto_rule(
        &PRule {
            dst_ports: (1..=16).map(|p| (p, p)).collect(),
            ..Default::default()
        },
        TEST_MARKS,
        false,
    );
    let t: Vec<String> = rules.iter().map(|r| r.felix("test", "")).collect();
    assert_eq!(
        t,
        vec![
            CLEAR_BOTH.to_string(),
            "-A test -m multiport --destination-ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 --jump MARK --set-mark 0x200/0x200".into(),
            "-A test -m multiport --destination-ports 16 --jump MARK --set-mark 0x200/0x200".into(),
            ALLOW_IF_ALL.into(),
            RETURN.into(),
        ]
    );
}

/// felix's rule hashes and rules against a real node's iptables-save:
/// `felix/fv/cali-iptables-dump.txt` (iptables-save v1.8.4 of a felix with
/// the default marks, no workloads; its cali-INPUT starts with VXLAN rules
/// this IPIP/BGP renderer does not write, so that chain is left out) and
/// `felix/iptables/rules_test.go` (`wUHhoiAYhphO9Mso`).
#[test]
fn static_chains_match_felix_dump() {
    let dump = [
        "-A INPUT -m comment --comment \"cali:Cz_u1IQiXIMmKD4c\" -j cali-INPUT",
        "-A FORWARD -m comment --comment \"cali:wUHhoiAYhphO9Mso\" -j cali-FORWARD",
        "-A FORWARD -m comment --comment \"cali:S93hcgKJrXEqnTfs\" -m comment --comment \"Policy explicitly accepted packet.\" -m mark --mark 0x10000/0x10000 -j ACCEPT",
        "-A FORWARD -m comment --comment \"cali:mp77cMpurHhyjLrM\" -j MARK --set-xmark 0x10000/0x10000",
        "-A cali-FORWARD -m comment --comment \"cali:W_vvds1Nw3n9QE2f\" -j MARK --set-xmark 0x0/0x1a0000",
        "-A cali-FORWARD -m comment --comment \"cali:ZfgmjuiLaA8Pg0kp\" -m mark --mark 0x0/0x10000 -j cali-from-hep-forward",
        "-A cali-FORWARD -i cali+ -m comment --comment \"cali:tAzwBLPaV-j53OOZ\" -j cali-from-wl-dispatch",
        "-A cali-FORWARD -o cali+ -m comment --comment \"cali:4Z0Pf0byo05NFe-P\" -j cali-to-wl-dispatch",
        "-A cali-FORWARD -m comment --comment \"cali:hQ7Oc16wmUtLuneJ\" -j cali-to-hep-forward",
        "-A cali-FORWARD -m comment --comment \"cali:rnKNH2WxGcRQcIlD\" -j cali-cidr-block",
        "-A cali-from-wl-dispatch -m comment --comment \"cali:zTj6P0TIgYvgz-md\" -m comment --comment \"Unknown interface\" -j DROP",
        "-A cali-to-wl-dispatch -m comment --comment \"cali:7KNphB1nNHw80nIO\" -m comment --comment \"Unknown interface\" -j DROP",
        "-A cali-wl-to-host -m comment --comment \"cali:Ee9Sbo10IpVujdIY\" -j cali-from-wl-dispatch",
        "-A cali-wl-to-host -m comment --comment \"cali:nSZbcOoG1xPONxb8\" -m comment --comment \"Configured DefaultEndpointToHostAction\" -j ACCEPT",
    ];
    let f = super::node_program(&crate::k8s::Cluster::default(), "n", &[], false, false);
    let text = f.splice("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
    let ours: Vec<&str> = text.lines().collect();
    for want in dump {
        assert!(ours.contains(&want), "missing {want}\nin:\n{text}");
    }
    let fwd = Rule::new(vec![], A::Jump("cali-FORWARD".into()));
    assert_eq!(rule_hashes("FORWARD", &[fwd]), vec!["wUHhoiAYhphO9Mso"]);
}

/// libcalico-go `hash/unique_id_test.go` (`GetLengthLimitedID`) and
/// policy_test.go's hashed chain name; `selector/parser/parser_test.go`'s
/// canonical form and id of `all()`.
#[test]
fn ids_match_libcalico() {
    assert_eq!(length_limited_id("felix", "1234", 10), "felix1234");
    assert_eq!(length_limited_id("felix", "123456", 11), "felix123456");
    assert_eq!(length_limited_id("felix", "_2345", 10), "felix_kMQI");
    assert_eq!(
        length_limited_id("felix", "12345678910", 13),
        "felix_Y2QCZIS"
    );
    assert_eq!(length_limited_id("felix", "", 10), "felix_");
    assert_eq!(
        length_limited_id("cali-pi-", "gnp/long-policy-name-that-gets-hashed", 28),
        "cali-pi-_PymyFHQQg3808jiz1OJ"
    );
    assert_eq!(
        Sel::All.unique_id(),
        "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"
    );
    let set = Sel::In(
        "a".into(),
        super::selector::string_set(&nets(&["d", "a", "b"])),
    );
    assert_eq!(set.text(), "a in {\"a\", \"b\", \"d\"}");
}

/// The save form of felix's own rules, as iptables-save prints them on a
/// node (`-p` first, `--set-xmark`, `0x0/` masks, `--dports`).
#[test]
fn save_form() {
    let r = Rule::new(
        vec![
            M::Proto("tcp".into(), false),
            M::Set {
                name: "cali40s:x".into(),
                flags: "src",
                neg: false,
            },
            M::Ports {
                dst: true,
                ranges: vec![(80, 80), (8000, 8080)],
            },
        ],
        A::SetMark(0x10000),
    );
    assert_eq!(
        r.save("h"),
        "-p tcp -m comment --comment \"cali:h\" -m set --match-set cali40s:x src -m multiport --dports 80,8000:8080 -j MARK --set-xmark 0x10000/0x10000"
    );
    let c = Rule::new(vec![M::MarkClear(0x20000)], A::ClearMark(0x1a0000));
    assert_eq!(
        c.save("h"),
        "-m comment --comment \"cali:h\" -m mark --mark 0x0/0x20000 -j MARK --set-xmark 0x0/0x1a0000"
    );
}

fn goto_rule(inbound: bool, iface: &str, target: &str) -> Rule {
    let m = if inbound {
        M::InIf(iface.into())
    } else {
        M::OutIf(iface.into())
    };
    Rule::new(vec![m], A::Goto(target.into()))
}

fn drop_unknown() -> Rule {
    Rule::new(vec![], A::Drop).with_comment("Unknown interface")
}

/// dispatch_test.go "Dispatch chains" (kube-proxy IPVS support off):
/// "single interface", "interfaces sharing prefix", "Multiple interfaces
/// sharing multiple prefixes".
#[test]
fn dispatch_chains_match_felix() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let one = render::dispatch_chains(
        "cali-from-wl-dispatch",
        &names(&["cali1234"]),
        "cali-fw-",
        true,
    );
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].rules,
        vec![
            goto_rule(true, "cali1234", "cali-fw-cali1234"),
            drop_unknown()
        ]
    );
    let shared = render::dispatch_chains(
        "cali-to-wl-dispatch",
        &names(&["cali2444", "cali1234", "cali2333"]),
        "cali-tw-",
        false,
    );
    let got: Vec<(String, Vec<Rule>)> = shared.into_iter().map(|c| (c.name, c.rules)).collect();
    assert_eq!(
        got,
        vec![
            (
                "cali-to-wl-dispatch-2".to_string(),
                vec![
                    goto_rule(false, "cali2333", "cali-tw-cali2333"),
                    goto_rule(false, "cali2444", "cali-tw-cali2444"),
                    drop_unknown()
                ]
            ),
            (
                "cali-to-wl-dispatch".to_string(),
                vec![
                    goto_rule(false, "cali1234", "cali-tw-cali1234"),
                    goto_rule(false, "cali2+", "cali-to-wl-dispatch-2"),
                    drop_unknown()
                ]
            ),
        ]
    );
    let multi = render::dispatch_chains(
        "cali-from-wl-dispatch",
        &names(&["cali11", "cali12", "cali13", "cali21", "cali22"]),
        "cali-fw-",
        true,
    );
    let got: Vec<(String, Vec<Rule>)> = multi.into_iter().map(|c| (c.name, c.rules)).collect();
    assert_eq!(
        got,
        vec![
            (
                "cali-from-wl-dispatch-1".to_string(),
                vec![
                    goto_rule(true, "cali11", "cali-fw-cali11"),
                    goto_rule(true, "cali12", "cali-fw-cali12"),
                    goto_rule(true, "cali13", "cali-fw-cali13"),
                    drop_unknown()
                ]
            ),
            (
                "cali-from-wl-dispatch-2".to_string(),
                vec![
                    goto_rule(true, "cali21", "cali-fw-cali21"),
                    goto_rule(true, "cali22", "cali-fw-cali22"),
                    drop_unknown()
                ]
            ),
            (
                "cali-from-wl-dispatch".to_string(),
                vec![
                    goto_rule(true, "cali1+", "cali-from-wl-dispatch-1"),
                    goto_rule(true, "cali2+", "cali-from-wl-dispatch-2"),
                    drop_unknown()
                ]
            ),
        ]
    );
}

/// policy_test.go "should include a chain name comment with a policy" (an
/// inbound allow-all rule; an outbound chain with no rules keeps one empty
/// rule carrying the comment), with the test's marks.
#[test]
fn policy_chain_comment_matches_felix() {
    let (rules, _) = render::rules_chain(
        &[PRule::default()],
        TEST_MARKS,
        "GlobalNetworkPolicy long-policy-name-that-gets-hashed ingress",
        false,
    );
    assert_eq!(
        rules,
        vec![Rule::new(vec![], A::SetMark(0x80))
            .with_comment("GlobalNetworkPolicy long-policy-name-that-gets-hashed ingress")]
    );
    let (rules, _) = render::rules_chain(
        &[],
        TEST_MARKS,
        "GlobalNetworkPolicy long-policy-name-that-gets-hashed egress",
        false,
    );
    assert_eq!(
        rules,
        vec![Rule::default()
            .with_comment("GlobalNetworkPolicy long-policy-name-that-gets-hashed egress")]
    );
}

/// felix's IPv6 ruleset: `cali-wl-to-host` starts with `ICMPv6Filter`
/// (static_test.go `expWlToHostV6`: ICMPv6 types 130, 131, 132, 133, 135,
/// 136 accepted, then the dispatch jump and the
/// DefaultEndpointToHostAction); IP sets named `cali60` (ipset_defs.go).
#[test]
fn the_ipv6_ruleset_accepts_neighbour_discovery_from_workloads() {
    let f = super::node_program(&crate::k8s::Cluster::default(), "n", &[], false, true);
    let wl = f
        .chains
        .iter()
        .find(|c| c.name == "cali-wl-to-host")
        .unwrap();
    let want: Vec<Rule> = [130u8, 131, 132, 133, 135, 136]
        .map(|t| {
            Rule::new(
                vec![M::Proto("58".into(), false), M::Icmp6Type(t)],
                A::Accept,
            )
        })
        .into_iter()
        .chain([
            Rule::new(vec![], A::Jump("cali-from-wl-dispatch".into())),
            Rule::new(vec![], A::Accept).with_comment("Configured DefaultEndpointToHostAction"),
        ])
        .collect();
    assert_eq!(wl.rules, want);
    // felix's text of the first: `-p 58 -m icmp6 --icmpv6-type 130`
    assert!(wl.rules[0]
        .felix("cali-wl-to-host", "h")
        .contains("-p 58 -m icmp6 --icmpv6-type 130 --jump ACCEPT"));
    let v4 = super::node_program(&crate::k8s::Cluster::default(), "n", &[], false, false);
    let wl4 = v4
        .chains
        .iter()
        .find(|c| c.name == "cali-wl-to-host")
        .unwrap();
    assert_eq!(wl4.rules[..], want[6..]);
    let set = IpSetDef::Selector(Sel::All);
    assert_eq!(
        set.name_for(true),
        set.name().replacen("cali40", "cali60", 1)
    );
}

/// `FilterRuleToIPVersion` (policy_test.go: "should skip with mixed
/// source CIDR matches" and its siblings): a rule keeps its CIDRs of the
/// version; a list left empty by the filter drops the rule; a negated
/// catch-all drops it too.
#[test]
fn rules_are_filtered_to_the_ip_version() {
    let r = |src: &[&str], not_src: &[&str]| CRule {
        k8s_rule: 0,
        proto: None,
        src_sel: None,
        dst_sel: None,
        src_nets: nets(src),
        not_src_nets: nets(not_src),
        dst_nets: Vec::new(),
        not_dst_nets: Vec::new(),
        dst_ports: Vec::new(),
        dst_named: Vec::new(),
    };
    let mixed = r(&["10.0.0.0/8", "fd00::/8"], &[]);
    assert_eq!(
        mixed.for_version(false).unwrap().src_nets,
        nets(&["10.0.0.0/8"])
    );
    assert_eq!(
        mixed.for_version(true).unwrap().src_nets,
        nets(&["fd00::/8"])
    );
    assert_eq!(r(&["10.0.0.0/8"], &[]).for_version(true), None);
    assert_eq!(r(&["fd00::/8"], &[]).for_version(false), None);
    // no CIDR at all: kept in both
    assert!(r(&[], &[]).for_version(true).is_some());
    // an except of the other version only: dropped
    assert_eq!(r(&[], &["10.1.0.0/16"]).for_version(true), None);
    // a negated catch-all: dropped ("Ignoring rule with negated catch-all CIDR")
    assert_eq!(r(&[], &["::/0"]).for_version(true), None);
    assert_eq!(r(&[], &["0.0.0.0/0"]).for_version(false), None);
}
