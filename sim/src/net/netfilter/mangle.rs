//! Header rewrites of the mangle targets (TTL, TOS, DSCP, ECN) and of
//! nft's payload statements on the same bytes: the rules change the
//! packet's view ([`super::NfPacket`]'s `ttl`, `tos`, `tcp_flags`), so
//! later rules see the new values as they do in the kernel (which writes
//! the skb in place), and [`write_back`] puts them into the real header
//! at the end of the hook, the checksums updated incrementally as the
//! kernel updates them.

use etherparse::{IpDscp, IpEcn};

use crate::wire::{Ipv4Repr, L4};

/// include/net/checksum.h `csum_replace2`: the 16-bit word `old` of a
/// checksummed header became `new`; the checksum `check` is updated
/// without summing the header again (RFC 1624 eqn. 3: HC' = ~(~HC + ~m +
/// m')).
pub fn csum_replace2(check: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!check) + u32::from(!old) + u32::from(new);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// What [`write_back`] changed, for the trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rewrite {
    pub ttl: Option<(u8, u8)>,
    pub tos: Option<(u8, u8)>,
    pub tcp_flags: Option<(u8, u8)>,
}

impl Rewrite {
    pub fn is_empty(&self) -> bool {
        self.ttl.is_none() && self.tos.is_none() && self.tcp_flags.is_none()
    }
}

/// Writes the TTL, the TOS byte (DSCP << 2 | ECN) and the TCP ECE/CWR
/// bits the rules set into the packet. The IPv4 header checksum is
/// updated as net/ipv4/netfilter/ipt_TTL (xt_HL.c `ttl_tg`:
/// `csum_replace2(&iph->check, htons(iph->ttl << 8), htons(new_ttl <<
/// 8))`), xt_DSCP.c (`ipv4_change_dsfield`) and ipt_ECN.c (`set_ect_ip`,
/// and `set_ect_tcp`'s `inet_proto_csum_replace2` on the TCP word 6)
/// update it, when the checksum it carries is valid (a packet podpath
/// built itself gets its checksums when it is emitted, which sums them
/// whole).
pub fn write_back(ip: &mut Ipv4Repr, ttl: u8, tos: u8, tcp_flags: Option<u8>) -> Rewrite {
    write_back_all(ip, None, ttl, tos, tcp_flags)
}

/// [`write_back`], and the addresses nft's `ip saddr|daddr set` wrote
/// (nft_payload.c nft_payload_set_eval: the IPv4 checksum
/// (NFT_PAYLOAD_CSUM_INET) and, for an address, the TCP/UDP checksum
/// over the pseudo header (NFT_PAYLOAD_L4CSUM_PSEUDOHDR,
/// nft_payload_l4csum_update: inet_proto_csum_replace4; a UDP datagram
/// without a checksum keeps none).
pub fn write_back_all(
    ip: &mut Ipv4Repr,
    addrs: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>,
    ttl: u8,
    tos: u8,
    tcp_flags: Option<u8>,
) -> Rewrite {
    let mut rw = Rewrite::default();
    if let Some((src, dst)) = addrs {
        set_addr(ip, true, src);
        set_addr(ip, false, dst);
    }
    let old_tos = (ip.hdr.dscp.value() << 2) | ip.hdr.ecn.value();
    let valid = ip.hdr.header_checksum == ip.hdr.calc_header_checksum();
    let word0 = |tos: u8, h: &etherparse::Ipv4Header| u16::from_be_bytes([0x40 | h.ihl(), tos]);
    let word4 = |ttl: u8, h: &etherparse::Ipv4Header| u16::from_be_bytes([ttl, h.protocol.0]);
    if ttl != ip.hdr.time_to_live {
        rw.ttl = Some((ip.hdr.time_to_live, ttl));
        let (old, new) = (word4(ip.hdr.time_to_live, &ip.hdr), word4(ttl, &ip.hdr));
        ip.hdr.time_to_live = ttl;
        if valid {
            ip.hdr.header_checksum = csum_replace2(ip.hdr.header_checksum, old, new);
        }
    }
    if tos != old_tos {
        rw.tos = Some((old_tos, tos));
        let (old, new) = (word0(old_tos, &ip.hdr), word0(tos, &ip.hdr));
        ip.hdr.dscp = IpDscp::try_new(tos >> 2).unwrap_or(IpDscp::ZERO);
        ip.hdr.ecn = IpEcn::try_new(tos & 3).unwrap_or(IpEcn::ZERO);
        if valid {
            ip.hdr.header_checksum = csum_replace2(ip.hdr.header_checksum, old, new);
        }
    }
    if let (Some(f), L4::Tcp { hdr, payload }) = (tcp_flags, &mut ip.l4) {
        let old_f = crate::wire::tcp_flag_bits(hdr);
        if f & 0xc0 != old_f & 0xc0 {
            rw.tcp_flags = Some((old_f, f));
            let tcp_valid = hdr
                .calc_checksum_ipv4_raw(ip.hdr.source, ip.hdr.destination, payload)
                .is_ok_and(|c| c == hdr.checksum);
            let word6 = |h: &etherparse::TcpHeader| {
                u16::from_be_bytes([
                    h.data_offset() << 4 | u8::from(h.ns),
                    crate::wire::tcp_flag_bits(h),
                ])
            };
            let old = word6(hdr);
            // only ECE and CWR are rewritten (ipt_ECN.c set_ect_tcp)
            hdr.ece = f & 0x40 != 0;
            hdr.cwr = f & 0x80 != 0;
            if tcp_valid {
                hdr.checksum = csum_replace2(hdr.checksum, old, word6(hdr));
            }
        }
    }
    rw
}

/// Sets the value of the TCP header's MSS option (kind 2) to `mss`, the
/// TCP checksum updated as xt_TCPMSS.c tcpmss_mangle_packet updates it
/// (`inet_proto_csum_replace2` of the old and new value) when it is
/// valid; returns the old and new value when it changed. A header
/// without the option is left as it is.
pub fn set_mss(ip: &mut Ipv4Repr, mss: u16) -> Option<(u16, u16)> {
    let (s, d) = (ip.hdr.source, ip.hdr.destination);
    let L4::Tcp { hdr, payload } = &mut ip.l4 else {
        return None;
    };
    let mut opts = hdr.options.as_slice().to_vec();
    let mut i = 0;
    let at = loop {
        match opts.get(i).copied() {
            None | Some(0) => return None,
            Some(1) => i += 1,
            Some(2) if opts.get(i + 1) == Some(&4) && i + 4 <= opts.len() => break i + 2,
            Some(_) => match opts.get(i + 1).copied() {
                Some(l) if l >= 2 => i += usize::from(l),
                _ => return None,
            },
        }
    };
    let old = u16::from_be_bytes([opts[at], opts[at + 1]]);
    if old == mss {
        return None;
    }
    let valid = hdr
        .calc_checksum_ipv4_raw(s, d, payload)
        .is_ok_and(|c| c == hdr.checksum);
    opts[at..at + 2].copy_from_slice(&mss.to_be_bytes());
    hdr.set_options_raw(&opts).ok()?;
    if valid {
        // the value's offset in the header (20 + at) is even for a word
        // of the sum; an odd one is summed whole
        hdr.checksum = if at % 2 == 0 {
            csum_replace2(hdr.checksum, old, mss)
        } else {
            hdr.calc_checksum_ipv4_raw(s, d, payload).ok()?
        };
    }
    Some((old, mss))
}

/// Rewrites the source (`src`) or destination address, the IPv4 and the
/// TCP/UDP checksums updated word by word where they are valid.
fn set_addr(ip: &mut Ipv4Repr, src: bool, new: std::net::Ipv4Addr) {
    let old = if src {
        ip.hdr.source
    } else {
        ip.hdr.destination
    };
    let new = new.octets();
    if old == new {
        return;
    }
    let words = |a: [u8; 4]| {
        [
            u16::from_be_bytes([a[0], a[1]]),
            u16::from_be_bytes([a[2], a[3]]),
        ]
    };
    let (ow, nw) = (words(old), words(new));
    let replace = |c: u16| csum_replace2(csum_replace2(c, ow[0], nw[0]), ow[1], nw[1]);
    let valid = ip.hdr.header_checksum == ip.hdr.calc_header_checksum();
    let (s, d) = (ip.hdr.source, ip.hdr.destination);
    match &mut ip.l4 {
        L4::Tcp { hdr, payload }
            if hdr
                .calc_checksum_ipv4_raw(s, d, payload)
                .is_ok_and(|c| c == hdr.checksum) =>
        {
            hdr.checksum = replace(hdr.checksum);
        }
        L4::Udp { hdr, payload }
            if hdr.checksum != 0
                && hdr
                    .calc_checksum_ipv4_raw(s, d, payload)
                    .is_ok_and(|c| c == hdr.checksum) =>
        {
            hdr.checksum = replace(hdr.checksum);
        }
        _ => {}
    }
    if src {
        ip.hdr.source = new;
    } else {
        ip.hdr.destination = new;
    }
    if valid {
        ip.hdr.header_checksum = replace(ip.hdr.header_checksum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_packet() -> Ipv4Repr {
        let tcp = etherparse::TcpHeader::new(1234, 80, 7, 4096);
        let mut ip = Ipv4Repr {
            hdr: etherparse::Ipv4Header::new(
                25,
                64,
                etherparse::IpNumber::TCP,
                [10, 0, 0, 1],
                [10, 0, 0, 2],
            )
            .unwrap(),
            l4: L4::Tcp {
                hdr: tcp,
                payload: b"hello".to_vec(),
            },
        };
        ip.hdr.header_checksum = ip.hdr.calc_header_checksum();
        if let L4::Tcp { hdr, payload } = &mut ip.l4 {
            hdr.ece = true;
            hdr.cwr = true;
            hdr.checksum = hdr
                .calc_checksum_ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], payload)
                .unwrap();
        }
        ip
    }

    #[test]
    fn incremental_checksums_equal_the_full_sums() {
        let mut ip = tcp_packet();
        let rw = write_back(&mut ip, 5, 0xb8 | 1, Some(0x10));
        assert_eq!(rw.ttl, Some((64, 5)));
        assert_eq!(rw.tos, Some((0, 0xb9)));
        assert_eq!(rw.tcp_flags, Some((0xc0, 0x10)));
        assert_eq!(ip.hdr.time_to_live, 5);
        assert_eq!(ip.hdr.dscp.value(), 0x2e);
        assert_eq!(ip.hdr.ecn.value(), 1);
        assert_eq!(ip.hdr.header_checksum, ip.hdr.calc_header_checksum());
        let L4::Tcp { hdr, payload } = &ip.l4 else {
            panic!()
        };
        assert!(!hdr.ece && !hdr.cwr);
        let full = hdr
            .calc_checksum_ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], payload)
            .unwrap();
        assert_eq!(hdr.checksum, full);
        // the bytes on the wire verify
        let mut bytes = ip.hdr.to_bytes().to_vec();
        bytes.extend(hdr.to_bytes());
        bytes.extend(payload);
        assert_eq!(crate::wire::internet_checksum(&bytes[..20]), 0);
    }

    #[test]
    fn an_address_rewrite_keeps_both_checksums_valid() {
        let mut ip = tcp_packet();
        write_back_all(
            &mut ip,
            Some(([10, 0, 0, 1].into(), [192, 168, 1, 100].into())),
            64,
            0,
            None,
        );
        assert_eq!(ip.hdr.destination, [192, 168, 1, 100]);
        assert_eq!(ip.hdr.header_checksum, ip.hdr.calc_header_checksum());
        let L4::Tcp { hdr, payload } = &ip.l4 else {
            panic!()
        };
        let full = hdr
            .calc_checksum_ipv4_raw([10, 0, 0, 1], [192, 168, 1, 100], payload)
            .unwrap();
        assert_eq!(hdr.checksum, full);
    }

    #[test]
    fn csum_replace2_matches_rfc1624() {
        // RFC 1624 section 4's example: HC 0xdd2f, m 0x5555 -> 0x3285
        assert_eq!(csum_replace2(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn nothing_changed_leaves_the_packet_alone() {
        let mut ip = tcp_packet();
        let before = ip.clone();
        let rw = write_back(&mut ip, 64, 0, Some(0xc0));
        assert!(rw.is_empty());
        assert_eq!(ip, before);
    }

    #[test]
    fn tcpmss_lowers_the_mss_option_and_keeps_the_checksum_valid() {
        for lead in [&[][..], &[1u8][..]] {
            // the option first (an even offset) and after a NOP (odd)
            let mut ip = tcp_packet();
            if let L4::Tcp { hdr, payload } = &mut ip.l4 {
                let mut o = lead.to_vec();
                o.extend([2, 4, 0x05, 0xb4]); // MSS 1460
                while o.len() % 4 != 0 {
                    o.push(1);
                }
                hdr.set_options_raw(&o).unwrap();
                hdr.checksum = hdr
                    .calc_checksum_ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], payload)
                    .unwrap();
            }
            assert_eq!(set_mss(&mut ip, 1410), Some((1460, 1410)));
            assert_eq!(set_mss(&mut ip, 1410), None);
            let L4::Tcp { hdr, payload } = &ip.l4 else {
                unreachable!()
            };
            let mss = hdr.options_iterator().find_map(|o| match o {
                Ok(etherparse::TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                _ => None,
            });
            assert_eq!(mss, Some(1410));
            assert_eq!(
                hdr.calc_checksum_ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], payload)
                    .unwrap(),
                hdr.checksum
            );
        }
        // no option: nothing to rewrite
        let mut ip = tcp_packet();
        assert_eq!(set_mss(&mut ip, 536), None);
    }
}
