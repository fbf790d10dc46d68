//! Every IPv6 wire format podpath emits (the header, hop-by-hop, routing
//! type 4, fragment and destination options headers, ICMPv6 errors and
//! echo, Neighbor Discovery with its options, TCP/UDP over the IPv6
//! pseudo-header, VXLAN carrying IPv6 and VXLAN over an IPv6 underlay)
//! written into a pcapng and decoded by the real tshark: each frame as the
//! protocol podpath meant, every checksum "Good", no expert warning and no
//! malformed packet.

mod common;

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use podpath_sim::wire::icmpv6::{self, Icmpv6Repr, NdOpt};
use podpath_sim::wire::ipv6::{addr, Ipv6Ext, Ipv6Repr};
use podpath_sim::wire::vxlan::VxlanRepr;
use podpath_sim::wire::{tcp_header, udp_header, Frame, Ipv4Repr, Mac, L3, L4};

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn eth(ip: Ipv6Repr) -> Frame {
    let dst = if ip.dst.is_multicast() {
        addr::multicast_mac(ip.dst)
    } else {
        Mac::derived("b")
    };
    Frame {
        src: Mac::derived("a"),
        dst,
        payload: L3::Ipv6(ip),
    }
}

fn icmp(src: &str, dst: &str, hlim: u8, m: Icmpv6Repr) -> Frame {
    eth(Ipv6Repr::new(a(src), a(dst), hlim, 0, L4::Icmp6(m)))
}

/// The frames, each with a protocol tshark must name in `frame.protocols`
/// and the ICMPv6 type (0 for none).
fn frames() -> Vec<(Frame, &'static str, u8)> {
    let mut syn = tcp_header(40000, 80, 1000, None, 64800);
    syn.syn = true;
    let tcp = eth(Ipv6Repr::new(
        a("fd00:10:244::5"),
        a("fd00:10:96::a"),
        64,
        0x4_2f1c,
        L4::Tcp {
            hdr: syn,
            payload: vec![],
        },
    ));
    let offending = tcp.ipv6().unwrap().emit();
    let udp = |id: u8, exts: Vec<Ipv6Ext>| {
        let mut ip = Ipv6Repr::new(
            a("fd00::9"),
            a("fd00::1"),
            64,
            7,
            L4::Udp {
                hdr: udp_header(40001, 53),
                payload: [
                    &[0x12, id][..],
                    b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03web\x00\x00\x1c\x00\x01",
                ]
                .concat(),
            },
        );
        ip.exts = exts;
        eth(ip)
    };
    let mut srh = vec![1, 0, 0, 0];
    srh.extend_from_slice(&a("fd00::1").octets());
    srh.extend_from_slice(&a("fd00::2").octets());
    let routed = {
        let mut f = udp(
            3,
            vec![Ipv6Ext::Routing {
                kind: 4,
                segments_left: 1,
                data: srh,
            }],
        );
        // the header's destination is the next segment
        f.ipv6_mut().unwrap().dst = a("fd00::2");
        f
    };
    let mut first = Ipv6Repr::new(
        a("fd00::1"),
        a("fd00::2"),
        64,
        0,
        L4::Raw({
            let u = Ipv6Repr::new(
                a("fd00::1"),
                a("fd00::2"),
                64,
                0,
                L4::Udp {
                    hdr: udp_header(40002, 9000),
                    payload: vec![0x5a; 1500],
                },
            );
            u.emit()[40..40 + 1448].to_vec()
        }),
    );
    first.proto = 17;
    first.exts = vec![Ipv6Ext::Fragment {
        offset: 0,
        more: true,
        id: 0x1234_5678,
    }];
    let mut rest = first.clone();
    rest.exts = vec![Ipv6Ext::Fragment {
        offset: 1448 / 8,
        more: false,
        id: 0x1234_5678,
    }];
    rest.l4 = L4::Raw(vec![0x5a; 1508 - 1448]);
    let inner = eth(Ipv6Repr::new(
        a("fd00:10:244:1::5"),
        a("fd00:10:244:2::7"),
        63,
        1,
        L4::Icmp6(Icmpv6Repr::EchoRequest {
            id: 9,
            seq: 1,
            data: vec![0; 56],
        }),
    ));
    let vxlan = |outer_v6: bool| {
        let v = VxlanRepr {
            vni: 1,
            inner: inner.emit(),
        };
        let l4 = L4::Udp {
            hdr: udp_header(53211, 8472),
            payload: v.emit(),
        };
        if outer_v6 {
            eth(Ipv6Repr::new(a("fd00:ff::1"), a("fd00:ff::2"), 64, 3, l4))
        } else {
            Frame {
                src: Mac::derived("a"),
                dst: Mac::derived("b"),
                payload: L3::Ipv4(Ipv4Repr::new(
                    Ipv4Addr::new(172, 18, 0, 2),
                    Ipv4Addr::new(172, 18, 0, 3),
                    64,
                    1,
                    l4,
                )),
            }
        }
    };
    let q = Icmpv6Repr::quote(&offending);
    vec![
        (tcp, "tcp", 0),
        (udp(1, vec![]), "dns", 0),
        (
            udp(
                2,
                vec![
                    Ipv6Ext::HopByHop(vec![5, 2, 0, 0]),
                    Ipv6Ext::DestOpts(vec![]),
                ],
            ),
            "dns",
            0,
        ),
        (routed, "dns", 0),
        (eth(first), "data", 0),
        // tshark reassembles the datagram here and checks its UDP checksum
        (eth(rest), "data", 0),
        (vxlan(true), "icmpv6", 128),
        (vxlan(false), "icmpv6", 128),
    ]
    .into_iter()
    .chain(icmp_frames(q))
    .collect()
}

/// Echo and the four errors, quoting `q`.
fn icmp_frames(q: Vec<u8>) -> Vec<(Frame, &'static str, u8)> {
    let mut v = vec![
        (
            icmp(
                "fd00::1",
                "fd00::2",
                64,
                Icmpv6Repr::EchoRequest {
                    id: 7,
                    seq: 1,
                    data: b"0123456789abcdef".to_vec(),
                },
            ),
            "icmpv6",
            128,
        ),
        (
            icmp(
                "fd00::2",
                "fd00::1",
                64,
                Icmpv6Repr::EchoReply {
                    id: 7,
                    seq: 1,
                    data: b"0123456789abcdef".to_vec(),
                },
            ),
            "icmpv6",
            129,
        ),
        (
            icmp(
                "fd00:10:96::a",
                "fd00:10:244::5",
                64,
                Icmpv6Repr::DstUnreach {
                    code: icmpv6::CODE_PORT_UNREACH,
                    quoted: q.clone(),
                },
            ),
            "tcp",
            1,
        ),
        (
            icmp(
                "fd00::fe",
                "fd00:10:244::5",
                64,
                Icmpv6Repr::PacketTooBig {
                    mtu: 1450,
                    quoted: q.clone(),
                },
            ),
            "tcp",
            2,
        ),
        (
            icmp(
                "fd00::fe",
                "fd00:10:244::5",
                64,
                Icmpv6Repr::TimeExceeded {
                    code: 0,
                    quoted: q.clone(),
                },
            ),
            "tcp",
            3,
        ),
        (
            icmp(
                "fd00::fe",
                "fd00:10:244::5",
                64,
                Icmpv6Repr::ParamProblem {
                    code: icmpv6::CODE_HDR_FIELD,
                    pointer: 7,
                    quoted: q.clone(),
                },
            ),
            "tcp",
            4,
        ),
    ];
    v.extend(nd_frames());
    v
}

/// Neighbor Discovery: RS, RA, NS, DAD's NS, NA, redirect.
fn nd_frames() -> Vec<(Frame, &'static str, u8)> {
    let mac = Mac::parse("02:42:ac:11:00:02").unwrap();
    vec![
        (
            icmp(
                "fe80::42:acff:fe11:2",
                "ff02::2",
                255,
                Icmpv6Repr::RouterSolicit {
                    opts: vec![NdOpt::SourceLla(mac)],
                },
            ),
            "icmpv6",
            133,
        ),
        (
            icmp(
                "fe80::1",
                "ff02::1",
                255,
                Icmpv6Repr::RouterAdvert {
                    cur_hop_limit: 64,
                    managed: false,
                    other: false,
                    router_lifetime: 1800,
                    reachable_time: 0,
                    retrans_timer: 0,
                    opts: vec![
                        NdOpt::SourceLla(mac),
                        NdOpt::Mtu(1500),
                        NdOpt::Prefix {
                            prefix_len: 64,
                            on_link: true,
                            autonomous: true,
                            valid: 2_592_000,
                            preferred: 604_800,
                            prefix: a("2001:db8:1::"),
                        },
                    ],
                },
            ),
            "icmpv6",
            134,
        ),
        (
            icmp(
                "fd00::1",
                &addr::solicited_node(a("fd00::2")).to_string(),
                255,
                Icmpv6Repr::NeighborSolicit {
                    target: a("fd00::2"),
                    opts: vec![NdOpt::SourceLla(mac)],
                },
            ),
            "icmpv6",
            135,
        ),
        // duplicate address detection: from ::, no link-layer option
        (
            icmp(
                "::",
                &addr::solicited_node(a("fe80::42:acff:fe11:2")).to_string(),
                255,
                Icmpv6Repr::NeighborSolicit {
                    target: a("fe80::42:acff:fe11:2"),
                    opts: vec![],
                },
            ),
            "icmpv6",
            135,
        ),
        (
            icmp(
                "fd00::2",
                "fd00::1",
                255,
                Icmpv6Repr::NeighborAdvert {
                    router: false,
                    solicited: true,
                    override_: true,
                    target: a("fd00::2"),
                    opts: vec![NdOpt::TargetLla(mac)],
                },
            ),
            "icmpv6",
            136,
        ),
        (
            icmp(
                "fe80::1",
                "fe80::42:acff:fe11:2",
                255,
                Icmpv6Repr::Redirect {
                    target: a("fe80::9"),
                    dst: a("fd00:1::5"),
                    opts: vec![NdOpt::TargetLla(mac)],
                },
            ),
            "icmpv6",
            137,
        ),
    ]
}

#[test]
fn tshark_decodes_every_ipv6_format_with_good_checksums() {
    let test = "wire_ipv6_tshark::tshark_decodes_every_ipv6_format_with_good_checksums";
    if !common::have("tshark") {
        common::skip(
            test,
            "tshark is not installed (scripts/test installs it as root: apt-get install tshark)",
        );
        return;
    }
    let frames = frames();
    let dir = std::env::temp_dir().join(format!("podpath-wire6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v6.pcapng");
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 262_144,
        options: vec![],
    })
    .unwrap();
    for (i, (f, _, _)) in frames.iter().enumerate() {
        let b = f.emit();
        podpath_sim::wire::verify_checksums(&b).unwrap();
        // every frame parses back to the same bytes
        assert_eq!(Frame::parse(&b).unwrap().emit(), b, "frame {}", i + 1);
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_micros(i as u64),
            original_len: b.len() as u32,
            data: Cow::Owned(b),
            options: vec![],
        })
        .unwrap();
    }
    std::fs::write(&path, w.into_inner()).unwrap();
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap()])
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        // VXLAN on Linux's default port, as flannel and calico use it
        .args(["-d", "udp.port==8472,vxlan"])
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"])
        .args([
            "-e",
            "frame.protocols",
            "-e",
            "icmpv6.type",
            "-e",
            "icmpv6.checksum.status",
            "-e",
            "tcp.checksum.status",
            "-e",
            "udp.checksum.status",
            "-e",
            "_ws.expert.severity",
            "-e",
            "_ws.malformed",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), frames.len(), "{text}");
    for (i, (line, (_, proto, icmp_type))) in lines.iter().zip(&frames).enumerate() {
        let n = i + 1;
        let c: Vec<&str> = line.split('|').collect();
        let protos: Vec<&str> = c[0].split(':').collect();
        assert!(protos.contains(proto), "frame {n}: {proto}: {line}");
        assert!(protos.contains(&"ipv6"), "frame {n}: {line}");
        if *icmp_type != 0 {
            // the last ICMPv6 type (VXLAN: the inner packet's)
            assert_eq!(
                c[1].split(',').next_back(),
                Some(icmp_type.to_string().as_str()),
                "frame {n}: {line}"
            );
        }
        // 1 = Good; errors quote a TCP header whose checksum tshark
        // checks too (every value must be Good)
        for (field, name) in [(2, "icmpv6"), (3, "tcp"), (4, "udp")] {
            for v in c[field].split(',').filter(|v| !v.is_empty()) {
                assert_eq!(v, "1", "frame {n}: {name} checksum status {v}: {line}");
            }
        }
        // expert severities: chat is fine (a SYN, a fragment), note and
        // above are not (0x00200000 chat, 0x00400000 note, ... warn, error)
        for v in c[5].split(',').filter(|v| !v.is_empty()) {
            let sev: u32 = v.parse().unwrap();
            assert!(sev <= 0x0020_0000, "frame {n}: expert severity {v}: {line}");
        }
        assert!(c[6].is_empty(), "frame {n}: malformed: {line}");
    }
}

/// The `ipv6-pmtu` run's own capture: Neighbor Discovery, echo, Packet
/// Too Big, fragments carried in VXLAN over IPv4; tshark decodes every
/// frame with good checksums, reassembles the fragmented echo request and
/// reply, and finds nothing to warn about.
#[test]
fn tshark_decodes_the_ipv6_pmtu_capture() {
    let test = "wire_ipv6_tshark::tshark_decodes_the_ipv6_pmtu_capture";
    if !common::have("tshark") {
        common::skip(test, "tshark is not installed (scripts/test installs it)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("podpath-wire6-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("run.pcapng");
    let o = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .args(["run", "ipv6-pmtu", "--pcap", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ts = |extra: &[&str]| {
        let out = Command::new("tshark")
            .args(["-r", f.to_str().unwrap()])
            .args([
                "-o",
                "udp.check_checksum:TRUE",
                "-d",
                "udp.port==8472,vxlan",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let expert = ts(&["-q", "-z", "expert"]);
    for level in ["Errors", "Warns", "Notes"] {
        assert!(!expert.contains(level), "{expert}");
    }
    let fields = ts(&[
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-e",
        "icmpv6.type",
        "-e",
        "icmpv6.checksum.status",
        "-e",
        "udp.checksum.status",
        "-e",
        "ipv6.reassembled.length",
    ]);
    let mut types = std::collections::BTreeMap::new();
    let mut reassembled = 0;
    for line in fields.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        for t in c[0].split(',').filter(|t| !t.is_empty()) {
            *types.entry(t.to_string()).or_insert(0) += 1;
        }
        // 0 bad, 1 good, 2 unverified (a quote cut short): the outer
        // message's is good, none is bad
        for col in [c[1], c[2]] {
            let v: Vec<&str> = col.split(',').filter(|s| !s.is_empty()).collect();
            assert!(v.first().is_none_or(|s| *s == "1"), "{line}");
            assert!(!v.contains(&"0"), "a checksum tshark finds bad: {line}");
        }
        if c.get(3).is_some_and(|l| !l.is_empty()) {
            reassembled += 1;
            assert!(c[3].split(',').all(|l| l == "1460"), "{line}");
        }
    }
    // NS, NA, echo request and reply, Packet Too Big
    for t in ["135", "136", "128", "129", "2"] {
        assert!(types.contains_key(t), "no ICMPv6 type {t}: {types:?}");
    }
    // the second request and its reply, each reassembled from two
    // fragments, at every device that captured their last fragment
    assert!(reassembled >= 2, "{fields}");
}
