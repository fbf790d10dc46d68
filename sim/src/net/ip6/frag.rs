//! IPv6 fragmentation by the source and reassembly at the destination
//! (net/ipv6/ip6_output.c `ip6_fragment`, reassembly.c). Routers never
//! fragment IPv6 (RFC 8200 §5): they send Packet Too Big (see `forward`).
//!
//! `ip6_fragment` keeps the unfragmentable part (the headers up to the
//! routing header: hop-by-hop, routing) in every fragment, adds an 8-byte
//! fragment header, and cuts the rest in pieces of
//! `(mtu - unfragmentable - 8) & ~7` bytes. Reassembly (`ip6_frag_queue`,
//! `ip6_frag_reasm`) keys fragments by source, destination and
//! identification, and hands the whole packet up once the last fragment
//! and every byte before it are there.
//!
//! Simplifications (named in `podpath explain`): the 60 s reassembly
//! timeout (`ip6frag_time`) and its Time Exceeded (code 1) are not
//! modelled; overlapping fragments (RFC 5722: the whole datagram is
//! dropped) are dropped as such.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use crate::wire::ipv6::{Ipv6Ext, Ipv6Repr, NEXTHDR_FRAGMENT};
use crate::wire::L4;

/// The fragments of `ip` to fit `mtu`, with identification `id`; the
/// packet itself when it fits.
pub fn fragment(ip: &Ipv6Repr, mtu: usize, id: u32) -> Vec<Ipv6Repr> {
    if ip.total_len() <= mtu {
        return vec![ip.clone()];
    }
    // ip6_find_1stfragopt: hop-by-hop and routing (and destination
    // options before a routing header) stay unfragmented
    let split = ip
        .exts
        .iter()
        .rposition(|e| matches!(e, Ipv6Ext::HopByHop(_) | Ipv6Ext::Routing { .. }))
        .map_or(0, |i| i + 1);
    let unfrag: Vec<Ipv6Ext> = ip.exts[..split].to_vec();
    let mut probe = ip.clone();
    probe.exts = unfrag.clone();
    probe.l4 = L4::Raw(vec![]);
    let unfrag_len = probe.ext_len();
    // the fragmentable part: the later extension headers and the payload
    let mut rest = ip.clone();
    rest.exts = ip.exts[split..].to_vec();
    let whole = rest.emit();
    let body = &whole[40..];
    // the fragmentable part begins after the fixed header of `rest`
    // (it has no unfragmentable headers)
    let first_next = rest.exts.first().map_or(ip.proto, Ipv6Ext::number);
    let piece = (mtu - 40 - unfrag_len - 8) & !7;
    let mut out = Vec::new();
    let mut off = 0;
    while off < body.len() {
        let end = (off + piece).min(body.len());
        let mut f = ip.clone();
        f.exts = unfrag.clone();
        f.exts.push(Ipv6Ext::Fragment {
            offset: (off / 8) as u16,
            more: end < body.len(),
            id,
        });
        f.proto = first_next;
        f.l4 = L4::Raw(body[off..end].to_vec());
        out.push(f);
        off = end;
    }
    out
}

/// One datagram being put back together.
#[derive(Clone, Debug, Default)]
pub struct Queue {
    /// offset -> bytes
    pub parts: BTreeMap<usize, Vec<u8>>,
    /// The length, once the last fragment came.
    pub total: Option<usize>,
    /// The first fragment's unfragmentable headers and Next Header.
    pub head: Option<(Vec<Ipv6Ext>, u8)>,
    pub first_ns: u64,
}

/// Reassembly queues by (source, destination, identification).
#[derive(Clone, Debug, Default)]
pub struct Reassembly {
    pub queues: BTreeMap<(Ipv6Addr, Ipv6Addr, u32), Queue>,
}

/// What a fragment did to its queue.
#[derive(Debug)]
pub enum Reasm {
    /// Kept; `have` bytes of the datagram so far.
    Waiting { have: usize },
    /// The datagram, whole.
    Done(Box<Ipv6Repr>),
    /// It overlaps one received (RFC 5722): the datagram is dropped.
    Overlap,
}

impl Reassembly {
    /// Adds a fragment (a packet with a fragment header).
    pub fn add(&mut self, ip: &Ipv6Repr, now: u64) -> Reasm {
        let Some((off, more, id)) = ip.fragment() else {
            return Reasm::Done(Box::new(ip.clone()));
        };
        let bytes = match &ip.l4 {
            L4::Raw(b) => b.clone(),
            // an atomic fragment's payload was parsed: its bytes
            _ => ip.l4_bytes(),
        };
        let key = (ip.src, ip.dst, id);
        let q = self.queues.entry(key).or_insert_with(|| Queue {
            first_ns: now,
            ..Default::default()
        });
        let end = off + bytes.len();
        if q.parts.iter().any(|(o, b)| off < o + b.len() && *o < end) {
            self.queues.remove(&key);
            return Reasm::Overlap;
        }
        if !more {
            q.total = Some(end);
        }
        if off == 0 {
            let pos = ip
                .exts
                .iter()
                .position(|e| matches!(e, Ipv6Ext::Fragment { .. }))
                .unwrap_or(0);
            q.head = Some((ip.exts[..pos].to_vec(), ip.proto));
        }
        q.parts.insert(off, bytes);
        let have: usize = q.parts.values().map(Vec::len).sum();
        match (q.total, &q.head) {
            (Some(t), Some(_)) if have == t => {
                let q = self.queues.remove(&key).expect("present");
                let (exts, proto) = q.head.expect("first fragment");
                let body: Vec<u8> = q.parts.into_values().flatten().collect();
                let mut whole = ip.clone();
                whole.exts = exts;
                whole.proto = proto;
                whole.l4 = L4::Raw(body);
                // parse the whole packet's bytes: its transport header
                match Ipv6Repr::parse(&whole.emit()) {
                    Ok(p) => Reasm::Done(Box::new(p)),
                    Err(_) => Reasm::Overlap,
                }
            }
            _ => Reasm::Waiting { have },
        }
    }
}

/// Whether a Next Header value is the fragment header's.
pub fn is_fragment(n: u8) -> bool {
    n == NEXTHDR_FRAGMENT
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::icmpv6::Icmpv6Repr;

    fn echo(n: usize) -> Ipv6Repr {
        Ipv6Repr::new(
            "fd00::1".parse().unwrap(),
            "fd00::2".parse().unwrap(),
            64,
            0,
            L4::Icmp6(Icmpv6Repr::EchoRequest {
                id: 1,
                seq: 1,
                data: (0..n).map(|i| i as u8).collect(),
            }),
        )
    }

    #[test]
    fn fragments_fit_the_mtu_and_reassemble() {
        // 1452 data + 8 ICMPv6 + 40 = 1500 bytes over a 1400 MTU
        let ip = echo(1452);
        assert_eq!(ip.total_len(), 1500);
        let fr = fragment(&ip, 1400, 7);
        assert_eq!(fr.len(), 2);
        // (1400 - 40 - 8) & !7 = 1352 bytes in the first
        assert_eq!(fr[0].total_len(), 40 + 8 + 1352);
        assert_eq!(fr[1].total_len(), 40 + 8 + (1460 - 1352));
        assert_eq!(fr[0].fragment(), Some((0, true, 7)));
        assert_eq!(fr[1].fragment(), Some((1352, false, 7)));
        assert!(fr.iter().all(|f| f.total_len() <= 1400));
        // they go on the wire and come back as fragments
        let wire: Vec<Ipv6Repr> = fr
            .iter()
            .map(|f| Ipv6Repr::parse(&f.emit()).unwrap())
            .collect();
        let mut r = Reassembly::default();
        // out of order
        assert!(matches!(r.add(&wire[1], 0), Reasm::Waiting { have: 108 }));
        let Reasm::Done(p) = r.add(&wire[0], 1) else {
            panic!("not reassembled")
        };
        assert_eq!(p.emit(), ip.emit());
        assert!(r.queues.is_empty());
        assert_eq!(fragment(&echo(10), 1280, 1).len(), 1);
    }

    #[test]
    fn an_overlap_drops_the_datagram() {
        let fr = fragment(&echo(3000), 1280, 9);
        let wire: Vec<Ipv6Repr> = fr
            .iter()
            .map(|f| Ipv6Repr::parse(&f.emit()).unwrap())
            .collect();
        let mut r = Reassembly::default();
        r.add(&wire[0], 0);
        let mut bad = wire[1].clone();
        bad.exts = vec![Ipv6Ext::Fragment {
            offset: 8,
            more: true,
            id: 9,
        }];
        assert!(matches!(r.add(&bad, 0), Reasm::Overlap));
        assert!(r.queues.is_empty());
    }
}
