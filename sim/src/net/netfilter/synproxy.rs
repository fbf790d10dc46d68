//! SYNPROXY's arithmetic: the TCP options it reads and writes
//! (net/netfilter/nf_synproxy_core.c `synproxy_parse_options`,
//! `synproxy_options_size`, `synproxy_build_options`, the timestamp
//! cookie of `synproxy_init_timestamp_cookie` and
//! `synproxy_check_timestamp_cookie`) and the SYN cookie
//! (net/ipv4/syncookies.c `__cookie_v4_init_sequence`,
//! `__cookie_v4_check`, `secure_tcp_syn_cookie`, `check_tcp_syn_cookie`,
//! `cookie_hash`: SipHash-2-4 keyed by a secret drawn once, here from the
//! host's seeded stream, so a run's cookies are the same every time).
//!
//! The walk of the handshake through the hooks is in
//! [`crate::net::netfilter::synproxy_glue`].

use std::collections::BTreeSet;
use std::hash::Hasher;
use std::net::Ipv4Addr;

use super::conntrack::Tuple;

/// `NF_SYNPROXY_OPT_*` (include/uapi/linux/netfilter/nf_synproxy.h).
pub const OPT_MSS: u8 = 0x01;
pub const OPT_WSCALE: u8 = 0x02;
pub const OPT_SACK_PERM: u8 = 0x04;
pub const OPT_TIMESTAMP: u8 = 0x08;
pub const OPT_ECN: u8 = 0x10;

/// A SYNPROXY rule's settings (`struct nf_synproxy_info`): iptables'
/// `--mss M --wscale W --sack-perm --timestamp --ecn` (libxt_SYNPROXY.c),
/// nft's `synproxy mss M wscale W timestamp sack-perm` and named
/// `synproxy` objects (nft_synproxy.c).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynproxyInfo {
    pub options: u8,
    pub wscale: u8,
    pub mss: u16,
}

impl SynproxyInfo {
    /// As iptables-save writes it.
    pub fn describe(&self) -> String {
        let mut s = Vec::new();
        if self.options & OPT_SACK_PERM != 0 {
            s.push("--sack-perm".to_string());
        }
        if self.options & OPT_TIMESTAMP != 0 {
            s.push("--timestamp".to_string());
        }
        if self.options & OPT_WSCALE != 0 {
            s.push(format!("--wscale {}", self.wscale));
        }
        if self.options & OPT_MSS != 0 {
            s.push(format!("--mss {}", self.mss));
        }
        if self.options & OPT_ECN != 0 {
            s.push("--ecn".to_string());
        }
        s.join(" ")
    }
}

/// `struct synproxy_options`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Opts {
    pub options: u8,
    pub wscale: u8,
    pub mss_option: u16,
    pub mss_encode: u16,
    pub tsval: u32,
    pub tsecr: u32,
}

/// What a SYNPROXY rule decided about a packet, done once the hook's walk
/// is over (the target's packets leave from there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SynproxyAct {
    /// A client's SYN: answer the cookie SYN-ACK.
    Syn(SynproxyInfo),
    /// A client's ACK: check the cookie, open the server connection.
    Ack,
}

/// A host's SYNPROXY state.
#[derive(Clone, Debug, Default)]
pub struct SynproxyState {
    /// `syncookie_secret`, drawn from the host's stream on first use.
    pub secret: Option<CookieSecret>,
    /// The server SYNs in flight with the synproxy template
    /// (`snet->tmpl`): the entry conntrack makes for them gets the
    /// extension.
    pub tmpl: BTreeSet<Tuple>,
    /// The decision of the rule that just ran.
    pub pending: Option<SynproxyAct>,
    /// The ACKs to servers in flight (by packet id): the kernel sends them
    /// before the translation starts (synproxy_send_server_ack runs
    /// before nf_ct_seqadj_init), so they are not translated.
    pub unadjusted: BTreeSet<u64>,
}

/// `synproxy_parse_options` over a TCP header's option bytes.
pub fn parse_options(raw: &[u8]) -> Opts {
    let mut o = Opts::default();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&size) = raw.get(i + 1) else { break };
                let size = size as usize;
                if size < 2 || i + size > raw.len() {
                    break;
                }
                let v = &raw[i + 2..i + size];
                match (kind, size) {
                    (2, 4) => {
                        o.mss_option = u16::from_be_bytes([v[0], v[1]]);
                        o.options |= OPT_MSS;
                    }
                    (3, 3) => {
                        // TCP_MAX_WSCALE
                        o.wscale = v[0].min(14);
                        o.options |= OPT_WSCALE;
                    }
                    (8, 10) => {
                        o.tsval = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                        o.tsecr = u32::from_be_bytes([v[4], v[5], v[6], v[7]]);
                        o.options |= OPT_TIMESTAMP;
                    }
                    (4, 2) => o.options |= OPT_SACK_PERM,
                    _ => {}
                }
                i += size;
            }
        }
    }
    o
}

/// `synproxy_build_options`: MSS, then SACK-permitted and the timestamp
/// (or NOP NOP before either alone), then NOP + window scale: whole
/// 32-bit words, as `synproxy_options_size` counts them.
pub fn build_options(o: &Opts) -> Vec<u8> {
    let mut b = Vec::new();
    if o.options & OPT_MSS != 0 {
        b.extend_from_slice(&[2, 4]);
        b.extend_from_slice(&o.mss_option.to_be_bytes());
    }
    if o.options & OPT_TIMESTAMP != 0 {
        if o.options & OPT_SACK_PERM != 0 {
            b.extend_from_slice(&[4, 2, 8, 10]);
        } else {
            b.extend_from_slice(&[1, 1, 8, 10]);
        }
        b.extend_from_slice(&o.tsval.to_be_bytes());
        b.extend_from_slice(&o.tsecr.to_be_bytes());
    } else if o.options & OPT_SACK_PERM != 0 {
        b.extend_from_slice(&[1, 1, 4, 2]);
    }
    if o.options & OPT_WSCALE != 0 {
        b.extend_from_slice(&[1, 3, 3, o.wscale]);
    }
    b
}

/// `synproxy_tg4`'s / `nft_synproxy_tcp_options`' answer to a client's
/// SYN: the options both sides support, the MSS to encode (the
/// client's) and to announce (the rule's), and the timestamp cookie
/// (`synproxy_init_timestamp_cookie`: the low 6 bits of our tsval carry
/// the client's wscale, SACK-permitted and ECN); without timestamps
/// there is nowhere to keep wscale and SACK, so they are not offered.
/// `ece_cwr`: the SYN has ECE and CWR; `now_ms`: `tcp_time_stamp_raw`.
pub fn syn_options(client: &Opts, info: &SynproxyInfo, ece_cwr: bool, now_ms: u32) -> Opts {
    let mut o = *client;
    if ece_cwr {
        o.options |= OPT_ECN;
    }
    o.options &= info.options;
    o.mss_encode = o.mss_option;
    o.mss_option = info.mss;
    if o.options & OPT_TIMESTAMP != 0 {
        o.tsecr = o.tsval;
        o.tsval = now_ms & !0x3f;
        if o.options & OPT_WSCALE != 0 {
            o.tsval |= u32::from(o.wscale);
            o.wscale = info.wscale;
        } else {
            o.tsval |= 0xf;
        }
        if o.options & OPT_SACK_PERM != 0 {
            o.tsval |= 1 << 4;
        }
        if o.options & OPT_ECN != 0 {
            o.tsval |= 1 << 5;
        }
    } else {
        o.options &= !(OPT_WSCALE | OPT_SACK_PERM | OPT_ECN);
    }
    o
}

/// `synproxy_check_timestamp_cookie`: the options the client offered,
/// back from the echo of our timestamp.
pub fn check_timestamp_cookie(o: &mut Opts) {
    o.wscale = (o.tsecr & 0xf) as u8;
    if o.wscale != 0xf {
        o.options |= OPT_WSCALE;
    }
    if o.tsecr & (1 << 4) != 0 {
        o.options |= OPT_SACK_PERM;
    }
    if o.tsecr & (1 << 5) != 0 {
        o.options |= OPT_ECN;
    }
}

/// syncookies.c `msstab`.
const MSSTAB: [u16; 4] = [536, 1300, 1440, 1460];
const COOKIEBITS: u32 = 24;
const COOKIEMASK: u32 = (1 << COOKIEBITS) - 1;
/// MAX_SYNCOOKIE_AGE: a cookie lives two minutes.
const MAX_SYNCOOKIE_AGE: u32 = 2;

/// `syncookie_secret[2]` (net_get_random_once): two SipHash keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieSecret(pub [[u64; 2]; 2]);

/// The connection a cookie is for, as the SYN carries it (client first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieTuple {
    pub saddr: Ipv4Addr,
    pub daddr: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

/// `cookie_hash`: `siphash_4u32(saddr, daddr, sport << 16 | dport,
/// count, &syncookie_secret[c])`, the addresses and ports as the
/// network-order words the kernel hands siphash (on a little-endian
/// machine), truncated to 32 bits.
fn cookie_hash(s: &CookieSecret, t: &CookieTuple, count: u32, c: usize) -> u32 {
    let be16 = |p: u16| u32::from(u16::from_ne_bytes(p.to_be_bytes()));
    let words = [
        u32::from_ne_bytes(t.saddr.octets()),
        u32::from_ne_bytes(t.daddr.octets()),
        be16(t.sport) << 16 | be16(t.dport),
        count,
    ];
    let mut h = siphasher::sip::SipHasher24::new_with_keys(s.0[c][0], s.0[c][1]);
    for w in words {
        h.write(&w.to_le_bytes());
    }
    h.finish() as u32
}

/// `__cookie_v4_init_sequence` + `secure_tcp_syn_cookie`: the ISN of the
/// SYN-ACK for a SYN with sequence `sseq` and MSS `mss` at minute
/// `count` (`tcp_cookie_time`), and the MSS the cookie encodes (the
/// largest of `msstab` not above the client's).
pub fn cookie_init(
    s: &CookieSecret,
    t: &CookieTuple,
    sseq: u32,
    mss: u16,
    count: u32,
) -> (u32, u16) {
    let mssind = (1..MSSTAB.len())
        .rev()
        .find(|&i| mss >= MSSTAB[i])
        .unwrap_or(0);
    let cookie = cookie_hash(s, t, 0, 0)
        .wrapping_add(sseq)
        .wrapping_add(count << COOKIEBITS)
        .wrapping_add(cookie_hash(s, t, count, 1).wrapping_add(mssind as u32) & COOKIEMASK);
    (cookie, MSSTAB[mssind])
}

/// `__cookie_v4_check` + `check_tcp_syn_cookie`: the MSS a returning
/// ACK's cookie (`ack_seq - 1`) encodes, or None when it is not one of
/// ours or older than two minutes. `sseq`: the client's ISN (`seq - 1`).
pub fn cookie_check(
    s: &CookieSecret,
    t: &CookieTuple,
    sseq: u32,
    cookie: u32,
    count: u32,
) -> Option<u16> {
    let c = cookie.wrapping_sub(cookie_hash(s, t, 0, 0).wrapping_add(sseq));
    let diff = count.wrapping_sub(c >> COOKIEBITS) & (u32::MAX >> COOKIEBITS);
    if diff >= MAX_SYNCOOKIE_AGE {
        return None;
    }
    let mssind = c.wrapping_sub(cookie_hash(s, t, count - diff, 1)) & COOKIEMASK;
    MSSTAB.get(mssind as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple() -> CookieTuple {
        CookieTuple {
            saddr: Ipv4Addr::new(192, 168, 1, 10),
            daddr: Ipv4Addr::new(192, 168, 1, 1),
            sport: 43588,
            dport: 80,
        }
    }

    #[test]
    fn cookie_round_trip_encodes_the_mss_and_expires() {
        let s = CookieSecret([[1, 2], [3, 4]]);
        let t = tuple();
        for (mss, want) in [
            (1460, 1460),
            (1450, 1440),
            (1400, 1300),
            (600, 536),
            (0, 536),
        ] {
            let (c, m) = cookie_init(&s, &t, 1000, mss, 7);
            assert_eq!(m, want);
            assert_eq!(cookie_check(&s, &t, 1000, c, 7), Some(want));
            // a minute later still valid, two minutes later not
            assert_eq!(cookie_check(&s, &t, 1000, c, 8), Some(want));
            assert_eq!(cookie_check(&s, &t, 1000, c, 9), None);
            // another client ISN or port: not ours (as in the kernel, an
            // ISN off by a few only shifts the MSS index: a cookie is
            // checked by its age and index range, not a MAC)
            assert_eq!(cookie_check(&s, &t, 1_001_000, c, 7), None);
            let mut t2 = t;
            t2.sport += 1;
            assert_eq!(cookie_check(&s, &t2, 1000, c, 7), None);
        }
    }

    /// A capture of the real kernel (6.18, iptables 1.8.9, the recipe of
    /// tests/data/tproxy/synproxy-iptables.yaml, curl as the client):
    /// client SYN `[mss 1460,sackOK,TS val 367137429 ecr 0,nop,wscale 10]`;
    /// SYNPROXY's SYN-ACK `win 0 [mss 1460,sackOK,TS val 34486874 ecr
    /// 367137429,nop,wscale 7]` (34486874 & 0x3f = 0x1a: wscale 10 and
    /// SACK in the timestamp cookie); client ACK `[nop,nop,TS val
    /// 367137430 ecr 34486874]`; the SYN to the server on lo `win 63 [mss
    /// 1460,sackOK,TS val 367137430 ecr 34486874,nop,wscale 10]`.
    #[test]
    fn options_match_a_real_kernel_capture() {
        let ts = |v: u32, e: u32| {
            let mut b = vec![8, 10];
            b.extend_from_slice(&v.to_be_bytes());
            b.extend_from_slice(&e.to_be_bytes());
            b
        };
        let mut syn = vec![2, 4, 0x05, 0xb4, 4, 2];
        syn.extend(ts(367137429, 0));
        syn.extend([1, 3, 3, 10]);
        let info = SynproxyInfo {
            options: OPT_MSS | OPT_SACK_PERM | OPT_TIMESTAMP | OPT_WSCALE,
            wscale: 7,
            mss: 1460,
        };
        // the kernel's clock gave 34486874 & !0x3f
        let o = syn_options(&parse_options(&syn), &info, false, 34486874);
        assert_eq!(o.tsval, 34486874);
        let mut want = vec![2, 4, 0x05, 0xb4, 4, 2];
        want.extend(ts(34486874, 367137429));
        want.extend([1, 3, 3, 7]);
        assert_eq!(build_options(&o), want);
        // the client's ACK brings the options back for the server SYN
        let mut ack = vec![1, 1];
        ack.extend(ts(367137430, 34486874));
        let mut a = parse_options(&ack);
        a.mss_option = 1460;
        a.options |= OPT_MSS;
        check_timestamp_cookie(&mut a);
        let mut want = vec![2, 4, 0x05, 0xb4, 4, 2];
        want.extend(ts(367137430, 34486874));
        want.extend([1, 3, 3, 10]);
        assert_eq!(build_options(&a), want);
    }

    #[test]
    fn siphash_is_the_reference_one() {
        // SipHash-2-4 test vector of the reference implementation
        // (Aumasson and Bernstein, appendix A): key 00..0f, message 00..0e
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let mut h = siphasher::sip::SipHasher24::new_with_keys(k0, k1);
        h.write(&(0u8..15).collect::<Vec<u8>>());
        assert_eq!(h.finish(), 0xa129ca6149be45e5);
    }

    #[test]
    fn options_as_the_kernel_writes_them() {
        // the client offered MSS 1460, SACK, timestamp 1234, wscale 7
        let raw = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 4, 0xd2, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let c = parse_options(&raw);
        assert_eq!(
            c.options,
            OPT_MSS | OPT_SACK_PERM | OPT_TIMESTAMP | OPT_WSCALE
        );
        assert_eq!((c.mss_option, c.wscale, c.tsval), (1460, 7, 1234));
        let info = SynproxyInfo {
            options: OPT_MSS | OPT_SACK_PERM | OPT_TIMESTAMP | OPT_WSCALE,
            wscale: 9,
            mss: 1400,
        };
        let o = syn_options(&c, &info, false, 0x1000);
        // the timestamp cookie: wscale 7 and SACK in the low bits
        assert_eq!(o.tsval, 0x1000 | 7 | 1 << 4);
        assert_eq!(
            (o.tsecr, o.wscale, o.mss_option, o.mss_encode),
            (1234, 9, 1400, 1460)
        );
        let b = build_options(&o);
        assert_eq!(b.len(), 20);
        assert_eq!(&b[..8], &[2, 4, 0x05, 0x78, 4, 2, 8, 10]);
        assert_eq!(&b[16..], &[1, 3, 3, 9]);
        // the ACK echoes it: the client's wscale and SACK come back
        let mut back = Opts {
            tsecr: o.tsval,
            options: OPT_TIMESTAMP,
            ..Default::default()
        };
        check_timestamp_cookie(&mut back);
        assert_eq!(back.wscale, 7);
        assert_eq!(back.options, OPT_TIMESTAMP | OPT_WSCALE | OPT_SACK_PERM);
        // a client with only an MSS: no timestamp, so no wscale/SACK
        let only = syn_options(&parse_options(&[2, 4, 5, 0xb4]), &info, false, 0);
        assert_eq!(only.options, OPT_MSS);
        assert_eq!(build_options(&only), vec![2, 4, 0x05, 0x78]);
    }
}
