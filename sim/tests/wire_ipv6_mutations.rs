//! The IPv6 parsers under mutation, deterministically (a seeded stream, the
//! same cases on every machine): frames of every IPv6 format podpath emits,
//! with bytes flipped, cut short or extended. No input panics; whatever
//! parses re-emits with valid checksums and parses back to the same bytes.
//! (`sim/fuzz`'s `frame` target runs the same property unbounded.)

use std::net::Ipv6Addr;

use podpath_sim::wire::icmpv6::{Icmpv6Repr, NdOpt};
use podpath_sim::wire::ipv6::{Ipv6Ext, Ipv6Repr};
use podpath_sim::wire::vxlan::VxlanRepr;
use podpath_sim::wire::{tcp_header, udp_header, verify_checksums, Frame, Mac, L3, L4};
use rand_chacha::rand_core::{Rng, SeedableRng};

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn frame(ip: Ipv6Repr) -> Vec<u8> {
    Frame {
        src: Mac::derived("a"),
        dst: Mac::derived("b"),
        payload: L3::Ipv6(ip),
    }
    .emit()
}

fn seeds() -> Vec<Vec<u8>> {
    let mac = Mac::derived("x");
    let ip = |l4| Ipv6Repr::new(a("fd00::1"), a("fd00::2"), 64, 5, l4);
    let mut syn = tcp_header(1, 2, 3, None, 4);
    syn.syn = true;
    let mut out = vec![
        frame(ip(L4::Tcp {
            hdr: syn,
            payload: b"x".to_vec(),
        })),
        frame(ip(L4::Udp {
            hdr: udp_header(5, 53),
            payload: b"q".to_vec(),
        })),
    ];
    let mut e = ip(L4::Udp {
        hdr: udp_header(5, 6),
        payload: vec![1; 9],
    });
    let mut srh = vec![1, 0, 0, 0];
    srh.extend_from_slice(&a("fd00::3").octets());
    srh.extend_from_slice(&a("fd00::2").octets());
    e.exts = vec![
        Ipv6Ext::HopByHop(vec![5, 2, 0, 0]),
        Ipv6Ext::Routing {
            kind: 4,
            segments_left: 1,
            data: srh,
        },
        Ipv6Ext::DestOpts(vec![0x1e, 0]),
    ];
    out.push(frame(e));
    let mut f = ip(L4::Raw(vec![7; 24]));
    f.proto = 17;
    f.exts = vec![Ipv6Ext::Fragment {
        offset: 0,
        more: true,
        id: 9,
    }];
    out.push(frame(f));
    for m in [
        Icmpv6Repr::EchoRequest {
            id: 1,
            seq: 2,
            data: vec![3; 8],
        },
        Icmpv6Repr::PacketTooBig {
            mtu: 1280,
            quoted: vec![0x60, 0, 0, 0, 0, 0, 58, 64],
        },
        Icmpv6Repr::RouterAdvert {
            cur_hop_limit: 64,
            managed: true,
            other: false,
            router_lifetime: 9,
            reachable_time: 1,
            retrans_timer: 2,
            opts: vec![
                NdOpt::SourceLla(mac),
                NdOpt::Mtu(1500),
                NdOpt::Prefix {
                    prefix_len: 64,
                    on_link: true,
                    autonomous: false,
                    valid: 1,
                    preferred: 1,
                    prefix: a("2001:db8::"),
                },
            ],
        },
        Icmpv6Repr::NeighborSolicit {
            target: a("fd00::2"),
            opts: vec![NdOpt::SourceLla(mac)],
        },
        Icmpv6Repr::NeighborAdvert {
            router: true,
            solicited: true,
            override_: true,
            target: a("fd00::2"),
            opts: vec![NdOpt::TargetLla(mac)],
        },
        Icmpv6Repr::Redirect {
            target: a("fe80::1"),
            dst: a("fd00::9"),
            opts: vec![NdOpt::TargetLla(mac), NdOpt::Redirected(vec![0; 16])],
        },
    ] {
        out.push(frame(Ipv6Repr::new(
            a("fe80::1"),
            a("ff02::1"),
            255,
            0,
            L4::Icmp6(m),
        )));
    }
    let inner = out[0].clone();
    out.push(frame(ip(L4::Udp {
        hdr: udp_header(40000, 8472),
        payload: VxlanRepr { vni: 1, inner }.emit(),
    })));
    out
}

#[test]
fn mutated_ipv6_frames_never_panic_and_what_parses_re_emits_valid() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x1f6);
    let seeds = seeds();
    let (mut parsed, mut total) = (0, 0);
    for s in &seeds {
        // every seed is valid as emitted
        verify_checksums(s).unwrap();
        Frame::parse(s).unwrap();
    }
    for _ in 0..40_000 {
        let mut b = seeds[(rng.next_u32() as usize) % seeds.len()].clone();
        match rng.next_u32() % 4 {
            0 => {
                let n = (rng.next_u32() as usize) % b.len();
                b.truncate(n);
            }
            1 => b.extend((0..rng.next_u32() % 64).map(|_| rng.next_u32() as u8)),
            _ => {
                for _ in 0..1 + rng.next_u32() % 4 {
                    // past the Ethernet header, where the IPv6 parsers read
                    let i = 14 + (rng.next_u32() as usize) % (b.len() - 14);
                    b[i] ^= 1 << (rng.next_u32() % 8);
                }
            }
        }
        total += 1;
        let Ok(f) = Frame::parse(&b) else { continue };
        parsed += 1;
        let out = f.emit();
        verify_checksums(&out).unwrap_or_else(|e| panic!("{e}: {b:02x?}"));
        let again = Frame::parse(&out).unwrap_or_else(|e| panic!("{e}: {b:02x?}"));
        assert_eq!(again.emit(), out, "{b:02x?}");
    }
    // the mutations reach both outcomes
    assert!(parsed > total / 10 && parsed < total, "{parsed} of {total}");
}
