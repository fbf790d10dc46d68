//! Real vs simulated, interface by interface.
//!
//! Each frame is reduced to what both sides must agree on: MAC addresses,
//! ethertype, ARP operation and addresses, IP addresses, protocol, TTL, DF,
//! total length, TCP flags and payload length, UDP ports and payload length,
//! ICMP type/code, and for VXLAN the VNI and the inner frame, recursively.
//! Ports are compared up to one consistent renaming for the whole run (the
//! kernel's ephemeral, random-fully and VXLAN source ports are its own
//! choices): a simulated port is paired with the real port seen in the same
//! place the first time, and must stay paired. Sequence numbers, IP IDs,
//! windows and checksums are not compared (checksums are verified separately).
//!
//! Simplification (named in `podpath explain`): frames a daemon sends on
//! its own clock (keepalived's VRRP adverts and gratuitous ARPs, see
//! [`periodic_kind`]) are compared as a class of their own, not in the
//! interface's frame order: the real daemon starts at some wall-clock
//! instant after the captures and the simulated one at virtual time 0, so
//! where an advert falls among the flows' frames is not something the two
//! runs can agree on. Per interface direction the class must hold the same
//! distinct frames (all compared fields) on both sides, gratuitous ARPs the
//! same number of each, VRRP adverts the same number up to one more or
//! fewer (the run's first and last second cut the advert train at
//! different points); the flows' frames are still compared in order,
//! frame by frame.

use std::collections::{BTreeMap, BTreeSet};

use podpath_sim::wire::vxlan::VxlanRepr;
use podpath_sim::wire::{tcp_flags_str, Frame, Mac, L3, L4};

/// A bijection between simulated and real ports.
#[derive(Default, Debug, Clone)]
pub struct PortMap {
    fwd: BTreeMap<u16, u16>,
    back: BTreeMap<u16, u16>,
}

impl PortMap {
    fn pair(&mut self, sim: u16, real: u16) -> bool {
        match (self.fwd.get(&sim), self.back.get(&real)) {
            (Some(r), _) => *r == real,
            (None, Some(_)) => false,
            (None, None) => {
                self.fwd.insert(sim, real);
                self.back.insert(real, sim);
                true
            }
        }
    }
    pub fn renamed(&self) -> usize {
        self.fwd.iter().filter(|(a, b)| a != b).count()
    }
}

/// The fields of a frame that are compared, with ports kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Norm {
    pub text: String,
    pub ports: Vec<u16>,
    /// The exchange the frame belongs to: the unordered pair of
    /// address:port ends of a TCP or UDP packet (ports as on its own side),
    /// `arp IP for ASKER` for an ARP request and its reply, else the
    /// frame's text.
    pub conn: String,
    /// An ARP frame (request or reply), whose exchange is [`Norm::conn`].
    pub arp: bool,
    /// A unicast ARP request: a neighbour entry's probe (NUD_PROBE sends
    /// to the cached MAC), not a broadcast resolution.
    pub unicast_probe: bool,
}

pub fn normalize(bytes: &[u8]) -> Norm {
    let mut ports = Vec::new();
    let (text, conn, arp, unicast_probe) = match Frame::parse(bytes) {
        Err(e) => (format!("unparsed ({e})"), String::new(), false, false),
        Ok(f) => {
            let (arp, probe) = match &f.payload {
                L3::Arp(a) => (true, a.op == 1 && f.dst != Mac::BROADCAST),
                _ => (false, false),
            };
            (norm_frame(&f, &mut ports), conn_of(&f), arp, probe)
        }
    };
    let conn = if conn.is_empty() { text.clone() } else { conn };
    Norm {
        text,
        ports,
        conn,
        arp,
        unicast_probe,
    }
}

/// [`Norm::conn`] of a parsed frame ("" when it is its own).
fn conn_of(f: &Frame) -> String {
    match &f.payload {
        L3::Arp(a) => {
            // a request and its reply: the requested address and who asked
            let (about, asker) = if a.op == 1 {
                (a.target_ip, a.sender_ip)
            } else {
                (a.sender_ip, a.target_ip)
            };
            format!("arp {about} for {asker}")
        }
        L3::Ipv4(ip) => {
            let ports = match &ip.l4 {
                L4::Tcp { hdr, .. } => Some((hdr.source_port, hdr.destination_port)),
                L4::Udp { hdr, .. } => Some((hdr.source_port, hdr.destination_port)),
                _ => None,
            };
            match ports {
                Some((sp, dp)) => {
                    let mut ends = [format!("{}:{sp}", ip.src()), format!("{}:{dp}", ip.dst())];
                    ends.sort();
                    format!("{} {}", ends[0], ends[1])
                }
                None => String::new(),
            }
        }
        L3::Ipv6(ip) => match ip.ports() {
            Some((sp, dp)) => {
                let mut ends = [
                    podpath_sim::wire::ipv6::with_port(ip.src, sp),
                    podpath_sim::wire::ipv6::with_port(ip.dst, dp),
                ];
                ends.sort();
                format!("{} {}", ends[0], ends[1])
            }
            None => String::new(),
        },
        L3::Other { .. } => String::new(),
    }
}

fn norm_frame(f: &Frame, ports: &mut Vec<u16>) -> String {
    let l3 = match &f.payload {
        L3::Arp(a) => format!(
            "arp op {} {} {} -> {} {}",
            a.op, a.sender_mac, a.sender_ip, a.target_mac, a.target_ip
        ),
        L3::Other { ethertype, .. } => format!("ethertype 0x{ethertype:04x}"),
        L3::Ipv6(ip) => norm_ip6(ip, ports),
        L3::Ipv4(ip) => {
            let l4 = match &ip.l4 {
                L4::Tcp { .. } | L4::Udp { .. } => norm_transport(&ip.l4, ports),
                L4::Icmp(i) => format!("icmp {} {}", i.icmp_type, i.code),
                L4::Icmp6(i) => format!("icmp6 {} {}", i.kind().0, i.kind().1),
                L4::Raw(b) if ip.proto() == podpath_sim::app::keepalived::PROTO_VRRP => {
                    // VRRP adverts by content: who claims the VIPs, how
                    match podpath_sim::app::keepalived::VrrpAdvert::parse(b) {
                        Ok(a) => format!(
                            "vrrp vrid {} priority {} advert_int {} auth {:?} addrs {:?}",
                            a.vrid, a.priority, a.advert_int, a.auth, a.addrs
                        ),
                        Err(e) => format!("proto 112 len {} ({e})", b.len()),
                    }
                }
                L4::Raw(b) => format!("proto {} len {}", ip.proto(), b.len()),
            };
            format!(
                "ip {} > {} ttl {}{} len {} {l4}",
                ip.src(),
                ip.dst(),
                ip.hdr.time_to_live,
                if ip.hdr.dont_fragment { " DF" } else { "" },
                ip.total_len()
            )
        }
    };
    format!("{} > {} {l3}", f.src, f.dst)
}

/// TCP (flags, options, length) and UDP (VXLAN's inner frame, or the
/// length) as compared, for either family; their ports go to `ports`.
fn norm_transport(l4: &L4, ports: &mut Vec<u16>) -> String {
    match l4 {
        L4::Tcp { hdr, payload } => {
            ports.push(hdr.source_port);
            ports.push(hdr.destination_port);
            format!(
                "tcp [{}]{} len {}",
                tcp_flags_str(hdr),
                tcp_opts(hdr),
                payload.len()
            )
        }
        L4::Udp { hdr, payload } => {
            ports.push(hdr.source_port);
            ports.push(hdr.destination_port);
            match VxlanRepr::parse_udp(hdr.destination_port, payload) {
                Some(v) => {
                    let inner = match Frame::parse(&v.inner) {
                        Ok(i) => norm_frame(&i, ports),
                        Err(e) => format!("unparsed ({e})"),
                    };
                    format!("udp vxlan vni {} [{inner}]", v.vni)
                }
                None => format!("udp len {}", payload.len()),
            }
        }
        _ => String::new(),
    }
}

/// An IPv6 packet as compared: header fields and extension headers, the
/// transport as for IPv4 (ports renamed, echo identifiers left out: the
/// kernel picks them), Neighbor Discovery by its addresses and flags. A
/// fragment header is compared by offset and M flag: its identification
/// is the kernel's hashed random (`ipv6_select_ident`).
fn norm_ip6(ip: &podpath_sim::wire::Ipv6Repr, ports: &mut Vec<u16>) -> String {
    use podpath_sim::wire::{Icmpv6Repr, Ipv6Ext};
    let exts: Vec<String> = ip
        .exts
        .iter()
        .map(|e| match e {
            Ipv6Ext::Fragment { offset, more, .. } => {
                format!(
                    "frag offset {}{}",
                    *offset as usize * 8,
                    if *more { " M" } else { "" }
                )
            }
            e => e.to_string(),
        })
        .collect();
    let l4 = match &ip.l4 {
        L4::Tcp { .. } | L4::Udp { .. } => norm_transport(&ip.l4, ports),
        L4::Icmp6(m) => match m {
            Icmpv6Repr::EchoRequest { seq, data, .. } | Icmpv6Repr::EchoReply { seq, data, .. } => {
                format!("icmp6 {} seq {seq} len {}", m.kind().0, data.len())
            }
            // a redirected header quotes the packet (its echo id and flow
            // label are the kernel's random): compared by its length
            m if m.is_ndp() => {
                let opts: Vec<String> = m
                    .nd_opts()
                    .iter()
                    .map(|o| match o {
                        podpath_sim::wire::NdOpt::Redirected(p) => {
                            format!("redirected {}", p.len())
                        }
                        o => format!("{o}"),
                    })
                    .collect();
                format!("icmp6 {m} opts [{}]", opts.join(", "))
            }
            m => format!("icmp6 {m}"),
        },
        L4::Icmp(_) | L4::Raw(_) => format!("proto {} len {}", ip.proto, ip.l4_bytes().len()),
    };
    // the flow label is the kernel's keyed hash: zero or not is compared
    format!(
        "ip6 {} > {}{} hlim {} len {}{} {l4}",
        ip.src,
        ip.dst,
        if ip.flow_label != 0 { " flowlabel" } else { "" },
        ip.hop_limit,
        ip.total_len(),
        if exts.is_empty() {
            String::new()
        } else {
            format!(" ({})", exts.join(", "))
        }
    )
}

/// A TCP header's options as compared: kinds in order, MSS and window
/// scale values (timestamps are the kernel's clock plus a random offset:
/// only their place is compared).
fn tcp_opts(h: &podpath_sim::wire::TcpHeader) -> String {
    let v = podpath_sim::wire::tcp_option_kinds(h);
    if v.is_empty() {
        String::new()
    } else {
        format!(" [{}]", v.join(","))
    }
}

/// Whether a real frame is kernel housekeeping the simulator does not model
/// (IGMP membership reports when devices come up, and IPv6's: MLD reports
/// for the groups a device joins, router solicitations); such frames are
/// left out of the comparison and counted.
pub fn is_housekeeping(bytes: &[u8]) -> bool {
    match Frame::parse(bytes) {
        Ok(f) => match &f.payload {
            L3::Ipv4(ip) => ip.proto() == 2,
            L3::Ipv6(ip) => ip
                .icmp6()
                .is_some_and(|m| matches!(m.kind().0, 130 | 131 | 132 | 133 | 143)),
            _ => false,
        },
        Err(_) => false,
    }
}

/// What a frame is when a daemon sends it on its own clock: a VRRP advert
/// (IP protocol 112) or a gratuitous ARP (a request whose sender and target
/// address are the same, as keepalived's vrrp_arp.c
/// `send_gratuitous_arp_immediate` builds it). Such frames are compared as
/// their own class (see the module's note).
pub fn periodic_kind(bytes: &[u8]) -> Option<&'static str> {
    match Frame::parse(bytes).ok()?.payload {
        L3::Ipv4(ip) if ip.proto() == 112 => Some("VRRP advert"),
        L3::Arp(a) if a.op == 1 && a.sender_ip == a.target_ip => Some("gratuitous ARP"),
        _ => None,
    }
}

/// How many more or fewer VRRP adverts one side may hold than the other.
const ADVERT_TOLERANCE: usize = 1;

/// Compares the periodic frames of one interface direction as a class:
/// the same distinct frames on both sides, as many of each (VRRP adverts:
/// up to [`ADVERT_TOLERANCE`] apart). Returns the count difference
/// tolerated, or the first difference.
fn compare_periodic(sim: &[Vec<u8>], real: &[Vec<u8>]) -> Result<usize, String> {
    let mut counts: BTreeMap<(String, &'static str), (usize, usize)> = BTreeMap::new();
    for (side, frames) in [(0, sim), (1, real)] {
        for b in frames {
            let kind = periodic_kind(b).unwrap_or("periodic frame");
            let e = counts.entry((normalize(b).text, kind)).or_default();
            if side == 0 {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    let mut tolerated = 0;
    for ((text, kind), (s, r)) in counts {
        let d = s.abs_diff(r);
        let ok = s > 0 && r > 0 && (d == 0 || (kind == "VRRP advert" && d <= ADVERT_TOLERANCE));
        if !ok {
            return Err(format!(
                "{kind}s (compared as a class): sim {s} x, real {r} x {text}"
            ));
        }
        tolerated += d;
    }
    Ok(tolerated)
}

/// One interface's comparison, in one direction.
#[derive(Debug)]
pub struct IfaceDiff {
    pub host: String,
    pub dev: String,
    pub dir: String,
    pub sim: usize,
    pub real: usize,
    /// The first difference, if any.
    pub first: Option<String>,
    /// Frames of the simulation matched before the first difference (all
    /// of them when there is none).
    pub agreed: usize,
    /// Pure ACKs sent alone on one side and folded into (or swapped with)
    /// the adjacent data segment on the other: tolerated, counted.
    pub ack_races: usize,
    /// Frames of one connection found up to [`REORDER_WINDOW`] places away
    /// among frames of other connections (see [`independent_reorder`]):
    /// tolerated, counted.
    pub reorders: usize,
    /// Neighbour probes (unicast ARP requests and their replies) on one
    /// side only (see [`probed`]): tolerated, counted.
    pub probe_races: usize,
    /// Daemon frames (VRRP adverts, gratuitous ARPs) compared as a class,
    /// on the simulated side.
    pub periodic: usize,
    /// By how many VRRP adverts the two sides' counts differ (tolerated).
    pub periodic_tolerated: usize,
}

/// The ARP exchanges ([`Norm::conn`]) in which one side's captures hold a
/// neighbour probe: a unicast request to the cached MAC.
///
/// Simplification (named in `podpath explain`): whether the kernel probes
/// a DELAY entry is a race between its timer and the programs. The entry
/// goes DELAY when a STALE one is used; when its timer fires,
/// `neigh_timer_handler` (net/core/neighbour.c) makes it REACHABLE if
/// `neigh->confirmed` is within `delay_first_probe_time` (5 s) of now, and
/// probes otherwise. TCP confirms through `sk_dst_confirm` on an ACK that
/// makes forward progress (tcp_ack, net/ipv4/tcp_input.c), applied by the
/// socket's next transmission (`sock_confirm_neigh`, include/net/sock.h).
/// The timer fires some milliseconds late (jiffies, timer slack), so a
/// server that answers within that lateness leaves a confirmation just
/// over 5 s old and is probed, and one the scheduler delays longer is not.
/// The simulator (its programs answer at once, upper layers do not
/// confirm) always probes; a probe exchange found on one side only is
/// tolerated and counted, every other frame still compared in order.
fn probed(captures: &BTreeMap<(String, String, String), Vec<Vec<u8>>>) -> BTreeSet<String> {
    captures
        .values()
        .flatten()
        .map(|b| normalize(b))
        .filter(|n| n.unicast_probe)
        .map(|n| n.conn)
        .collect()
}

fn is_pure_ack(n: &Norm) -> bool {
    // `tcp [.] len 0`, or with options: `tcp [.] [nop,nop,TS] len 0`
    let end = innermost(n);
    let tcp = end.rfind(" tcp [").map(|at| &end[at..]);
    tcp.is_some_and(|t| t.starts_with(" tcp [.]") && t.ends_with(" len 0"))
}

/// The text of the innermost packet's end: an encapsulated frame (VXLAN,
/// IPIP) ends with the brackets that close its inner packets.
fn innermost(n: &Norm) -> &str {
    n.text.trim_end_matches(']')
}

/// A segment an ACK can ride on: one with data, or a FIN (close() right
/// after the last read carries the ACK the socket still owed).
fn is_data(n: &Norm) -> bool {
    let end = innermost(n);
    let tcp = end.rfind(" tcp [").map(|at| &end[at..]);
    tcp.is_some_and(|t| !t.ends_with(" len 0") || t.starts_with(" tcp [F"))
}

impl IfaceDiff {
    pub fn matches(&self) -> bool {
        self.first.is_none()
    }
}

/// Frames per (host, device, direction) of a simulated run, for the hosts
/// `keep` accepts.
pub fn sim_captures(
    t: &podpath_sim::trace::Trace,
    keep: &dyn Fn(&str) -> bool,
) -> BTreeMap<(String, String, String), Vec<Vec<u8>>> {
    let mut sim = BTreeMap::new();
    for c in &t.captures {
        if !keep(&c.host) {
            continue;
        }
        // libpcap on Linux (pcap-linux.c) rejects an outgoing packet of
        // the loopback device ("we'll see the packet as an incoming
        // packet as well"): `tcpdump -Q out -i lo` shows nothing
        if c.dir == podpath_sim::trace::Direction::Out && c.dev == "lo" {
            continue;
        }
        let dir = if c.dir == podpath_sim::trace::Direction::Out {
            "out"
        } else {
            "in"
        };
        sim.entry((c.host.to_string(), c.dev.to_string(), dir.to_string()))
            .or_insert_with(Vec::new)
            .push(c.bytes.to_vec());
    }
    sim
}

/// The comparison of a simulated and a real run, as printed lines and counts.
pub struct Report {
    pub text: String,
    /// Frames matched before each interface's first difference, summed.
    pub agreed: usize,
    pub matched: usize,
    pub total: usize,
    pub renamed: usize,
    /// Pure-ACK races tolerated.
    pub races: usize,
    /// Real IGMP frames left out.
    pub housekeeping: usize,
    /// Frames of independent connections interleaved differently, tolerated.
    pub reorders: usize,
    /// Daemon frames (VRRP adverts, gratuitous ARPs) of the simulation
    /// compared as a class, not in order.
    pub periodic: usize,
    /// VRRP adverts more or fewer on one side, tolerated.
    pub periodic_tolerated: usize,
    /// Neighbour probe frames found on one side only, tolerated.
    pub probe_races: usize,
}

/// Leaves out the real kernel's housekeeping frames, compares, and writes
/// one line per interface direction.
/// How many frames the two sides have in common, interface by interface,
/// whatever their order (each frame's text without its ports: what a
/// connection's random choices leave alike). The real side's housekeeping
/// frames (IGMP) are left out, as [`report`] leaves them out.
pub fn overlap(
    sim: &BTreeMap<(String, String, String), Vec<Vec<u8>>>,
    real: &BTreeMap<(String, String, String), Vec<Vec<u8>>>,
) -> usize {
    let mut n = 0;
    for (k, frames) in sim {
        let Some(theirs) = real.get(k) else { continue };
        let mut pool: BTreeMap<String, usize> = BTreeMap::new();
        for b in theirs.iter().filter(|b| !is_housekeeping(b)) {
            *pool.entry(normalize(b).text).or_default() += 1;
        }
        for b in frames {
            if let Some(c) = pool.get_mut(&normalize(b).text) {
                if *c > 0 {
                    *c -= 1;
                    n += 1;
                }
            }
        }
    }
    n
}

pub fn report(
    sim: &BTreeMap<(String, String, String), Vec<Vec<u8>>>,
    mut real: BTreeMap<(String, String, String), Vec<Vec<u8>>>,
) -> Report {
    let mut housekeeping = 0;
    for frames in real.values_mut() {
        let before = frames.len();
        frames.retain(|b| !is_housekeeping(b));
        housekeeping += before - frames.len();
    }
    let (ifaces, ports) = compare(sim, &real);
    let mut text = String::new();
    for i in &ifaces {
        match &i.first {
            None => text.push_str(&format!(
                "match  {}/{} {}: {} frames\n",
                i.host, i.dev, i.dir, i.sim
            )),
            Some(w) => text.push_str(&format!(
                "DIFFER {}/{} {}: sim {} frames, real {} frames; first difference at {w}\n",
                i.host, i.dev, i.dir, i.sim, i.real
            )),
        }
    }
    Report {
        text,
        matched: ifaces.iter().filter(|i| i.matches()).count(),
        total: ifaces.len(),
        renamed: ports.renamed(),
        races: ifaces.iter().map(|i| i.ack_races).sum(),
        housekeeping,
        reorders: ifaces.iter().map(|i| i.reorders).sum(),
        periodic: ifaces.iter().map(|i| i.periodic).sum(),
        periodic_tolerated: ifaces.iter().map(|i| i.periodic_tolerated).sum(),
        probe_races: ifaces.iter().map(|i| i.probe_races).sum(),
        agreed: ifaces.iter().map(|i| i.agreed).sum(),
    }
}

/// Whether two normalized frames are the same, their ports pairing up
/// consistently with `map` (extended only when they do).
fn same(x: &Norm, y: &Norm, map: &mut PortMap) -> bool {
    let mut t = map.clone();
    let ok = x.text == y.text
        && x.ports.len() == y.ports.len()
        && x.ports.iter().zip(&y.ports).all(|(p, q)| t.pair(*p, *q));
    if ok {
        *map = t;
    }
    ok
}

/// How far a frame may be found from its place among frames of other
/// connections.
const REORDER_WINDOW: usize = 4;

/// Simplification (named in `podpath explain`): two programs' independent
/// actions race on the real machine. A proxy connects to its server when it
/// accepts a client (HAProxy in mode tcp), while the client sends its
/// request when its connect() returns: on the wire the proxy's ARP and SYN
/// come before or after the client's request depending on which process
/// the scheduler runs first, and the simulator has one order. So a frame
/// may be found up to [`REORDER_WINDOW`] places later on the other side
/// when the frames it is moved past all belong to other connections (other
/// address and port pairs, or ARP for another exchange) and match one for
/// one; every frame is still compared, only its place among frames of
/// other connections is not. Returns how many frames it moved past.
/// A pure ACK of the simulation where the real run has a data segment or
/// FIN: the kernel's race between its ACK and the application, tolerated:
/// the ACK sent after the segment instead of before, or folded into it.
/// [`sim_ack_runs`] takes runs of them: several ACKs overtaken by the
/// segment (sent on another CPU of the real machine), or folded into it
/// (Linux 6.6+ defers the regular ACKs of segments it processes from a
/// socket's backlog to one in tcp_release_cb; acknowledgment numbers are
/// not compared). Returns the simulation's and the real run's
/// frames consumed, and the races counted.
fn sim_ack_race(
    sn: &[Norm],
    rn: &[Norm],
    (i, j): (usize, usize),
    map: &mut PortMap,
) -> Option<(usize, usize, usize)> {
    let (a, b) = (sn.get(i)?, rn.get(j)?);
    if !(is_pure_ack(a) && is_data(b)) {
        return None;
    }
    let (an, bn) = (sn.get(i + 1), rn.get(j + 1));
    if let (Some(an), Some(bn)) = (an, bn) {
        if same(an, b, map) && same(a, bn, map) {
            return Some((2, 2, 1));
        }
    }
    if an.is_some_and(|an| same(an, b, map)) {
        return Some((1, 0, 1));
    }
    None
}

/// Runs of the simulation's pure ACKs the real kernel sent later than the
/// segment after them, or folded into it ([`sim_ack_race`]'s cases for 2
/// to 8 ACKs); tried after the reorder of independent connections.
fn sim_ack_runs(
    sn: &[Norm],
    rn: &[Norm],
    (i, j): (usize, usize),
    map: &mut PortMap,
) -> Option<(usize, usize, usize)> {
    let (a, b) = (sn.get(i)?, rn.get(j)?);
    if !(is_pure_ack(a) && is_data(b)) {
        return None;
    }
    let acks = |k: usize| sn.get(i..i + k).is_some_and(|r| r.iter().all(is_pure_ack));
    for k in 2..=8 {
        if !acks(k) || !sn.get(i + k).is_some_and(|x| same(x, b, map)) {
            continue;
        }
        let rotated = rn
            .get(j + 1..j + 1 + k)
            .is_some_and(|r| r.iter().zip(&sn[i..i + k]).all(|(x, y)| same(y, x, map)));
        return Some(if rotated {
            (k + 1, k + 1, k)
        } else {
            (k, 0, k)
        });
    }
    None
}

fn independent_reorder(
    sn: &[Norm],
    rn: &[Norm],
    (i, j): (usize, usize),
    map: &mut PortMap,
) -> Option<usize> {
    for k in 1..=REORDER_WINDOW {
        // sn[i] moved past k frames (sim earlier than real), or rn[j] (real
        // earlier than sim)
        for (a, b, ai, bi, sim_moved) in [(sn, rn, i, j, true), (rn, sn, j, i, false)] {
            let (Some(moved), Some(at)) = (a.get(ai), b.get(bi + k)) else {
                continue;
            };
            let mut t = map.clone();
            let pair = |x: &Norm, y: &Norm, t: &mut PortMap| {
                if sim_moved {
                    same(x, y, t)
                } else {
                    same(y, x, t)
                }
            };
            if !pair(moved, at, &mut t) {
                continue;
            }
            let rest = (0..k).all(|m| match (a.get(ai + 1 + m), b.get(bi + m)) {
                (Some(x), Some(y)) => x.conn != moved.conn && pair(x, y, &mut t),
                _ => false,
            });
            if rest {
                *map = t;
                return Some(k);
            }
        }
    }
    None
}

/// Compares every interface present on either side.
pub fn compare(
    sim: &BTreeMap<(String, String, String), Vec<Vec<u8>>>,
    real: &BTreeMap<(String, String, String), Vec<Vec<u8>>>,
) -> (Vec<IfaceDiff>, PortMap) {
    let mut map = PortMap::default();
    let mut keys: Vec<&(String, String, String)> = sim.keys().chain(real.keys()).collect();
    keys.sort();
    keys.dedup();
    let empty = Vec::new();
    let (sim_probes, real_probes) = (probed(sim), probed(real));
    let mut out = Vec::new();
    for k in keys {
        let (s_all, r_all) = (sim.get(k).unwrap_or(&empty), real.get(k).unwrap_or(&empty));
        // the daemons' own frames apart, compared as a class
        let split = |frames: &[Vec<u8>]| -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
            frames
                .iter()
                .cloned()
                .partition(|b| periodic_kind(b).is_some())
        };
        let ((s_per, s), (r_per, r)) = (split(s_all), split(r_all));
        let periodic = compare_periodic(&s_per, &r_per);
        let mut first = None;
        let mut races = 0;
        let mut reorders = 0;
        let mut probes = 0;
        let (sn, rn): (Vec<Norm>, Vec<Norm>) = (
            s.iter().map(|x| normalize(x)).collect(),
            r.iter().map(|x| normalize(x)).collect(),
        );
        let (mut i, mut j) = (0, 0);
        while i < sn.len() || j < rn.len() {
            let (a, b) = (sn.get(i), rn.get(j));
            // A pairing is kept only when the whole frame matches.
            if let (Some(a), Some(b)) = (a, b) {
                if same(a, b, &mut map) {
                    i += 1;
                    j += 1;
                    continue;
                }
                // A pure ACK sent alone, folded into the next data or FIN
                // segment or sent after it: a race in the kernel between
                // the quick/delayed ACK and the application's reply or
                // close().
                let (an, bn) = (sn.get(i + 1), rn.get(j + 1));
                if let Some((di, dj, n)) = sim_ack_race(&sn, &rn, (i, j), &mut map) {
                    races += n;
                    i += di;
                    j += dj;
                    continue;
                }
                if let Some(k) = independent_reorder(&sn, &rn, (i, j), &mut map) {
                    reorders += 1;
                    i += k + 1;
                    j += k + 1;
                    continue;
                }
                if let Some((di, dj, n)) = sim_ack_runs(&sn, &rn, (i, j), &mut map) {
                    races += n;
                    i += di;
                    j += dj;
                    continue;
                }
                if is_pure_ack(b) && is_data(a) {
                    if let (Some(an), Some(bn)) = (an, bn) {
                        if same(a, bn, &mut map) && same(an, b, &mut map) {
                            races += 1;
                            i += 2;
                            j += 2;
                            continue;
                        }
                    }
                    if bn.is_some_and(|bn| same(a, bn, &mut map)) {
                        races += 1;
                        j += 1;
                        continue;
                    }
                }
            }
            // The capture's last one or two pure ACKs of the simulation,
            // the real kernel having folded them into its earlier
            // segments (ACKs deferred from a socket's backlog, Linux
            // 6.6+; acknowledgment numbers are not compared, so a fold
            // anywhere shows at the end): tolerated.
            if b.is_none() && sn.len() - i <= 2 && sn[i..].iter().all(is_pure_ack) {
                races += sn.len() - i;
                i = sn.len();
                continue;
            }
            // A neighbour probe (and its answer) on one side only: the
            // DELAY entry's timer race (see [`probed`]).
            if a.is_some_and(|a| a.arp && sim_probes.contains(&a.conn)) {
                probes += 1;
                i += 1;
                continue;
            }
            if b.is_some_and(|b| b.arp && real_probes.contains(&b.conn)) {
                probes += 1;
                j += 1;
                continue;
            }
            let why = match (a, b) {
                (Some(a), Some(b)) => {
                    if a.text != b.text {
                        format!(
                            "frame {}:\n    sim:  {}\n    real: {}",
                            i + 1,
                            a.text,
                            b.text
                        )
                    } else {
                        format!(
                            "frame {}: ports {:?} (sim) do not map consistently to {:?} (real)\n    {}",
                            i + 1,
                            a.ports,
                            b.ports,
                            a.text
                        )
                    }
                }
                (Some(a), None) => format!("frame {}: only in the simulation: {}", i + 1, a.text),
                (None, Some(b)) => format!("frame {}: only on the real kernel: {}", j + 1, b.text),
                (None, None) => break,
            };
            first = Some(why);
            break;
        }
        if first.is_none() {
            first = periodic.clone().err();
        }
        out.push(IfaceDiff {
            host: k.0.clone(),
            dev: k.1.clone(),
            dir: k.2.clone(),
            sim: s_all.len(),
            real: r_all.len(),
            first,
            agreed: i,
            ack_races: races,
            reorders,
            probe_races: probes,
            periodic: s_per.len(),
            periodic_tolerated: periodic.unwrap_or(0),
        });
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_must_map_one_to_one() {
        let mut m = PortMap::default();
        assert!(m.pair(40000, 51000));
        assert!(m.pair(40000, 51000));
        assert!(!m.pair(40000, 51001));
        assert!(!m.pair(40001, 51000));
        assert!(m.pair(80, 80));
        assert_eq!(m.renamed(), 1);
    }

    fn tcp(len: usize) -> Vec<u8> {
        tcp_fin(len, false)
    }

    fn tcp_fin(len: usize, fin: bool) -> Vec<u8> {
        use podpath_sim::wire::{tcp_header, Ipv4Repr, Mac};
        let mut hdr = tcp_header(8080, 40000, 1, Some(1), 64240);
        hdr.fin = fin;
        // timestamps on every segment, as Linux sends them by default
        use podpath_sim::wire::TcpOptionElement as O;
        hdr.set_options(&[O::Noop, O::Noop, O::Timestamp(7, 9)])
            .unwrap();
        let ip = Ipv4Repr::new(
            "10.0.0.2".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            64,
            1,
            L4::Tcp {
                hdr,
                payload: vec![b'x'; len],
            },
        );
        Frame {
            src: Mac([2, 0, 0, 0, 0, 2]),
            dst: Mac([2, 0, 0, 0, 0, 1]),
            payload: L3::Ipv4(ip),
        }
        .emit()
    }

    /// `inner` in VXLAN (VNI 1) between two nodes, as flannel sends it.
    fn vxlan(inner: Vec<u8>) -> Vec<u8> {
        use podpath_sim::wire::{udp_header, vxlan::VxlanRepr, Ipv4Repr, Mac};
        let ip = Ipv4Repr::new(
            "172.18.0.2".parse().unwrap(),
            "172.18.0.3".parse().unwrap(),
            64,
            1,
            L4::Udp {
                hdr: udp_header(41000, 8472),
                payload: VxlanRepr { vni: 1, inner }.emit(),
            },
        );
        Frame {
            src: Mac([2, 0, 0, 0, 1, 2]),
            dst: Mac([2, 0, 0, 0, 1, 3]),
            payload: L3::Ipv4(ip),
        }
        .emit()
    }

    fn cmp(sim: Vec<Vec<u8>>, real: Vec<Vec<u8>>) -> IfaceDiff {
        let k = ("h".to_string(), "eth0".to_string(), "in".to_string());
        let (s, r) = (
            BTreeMap::from([(k.clone(), sim)]),
            BTreeMap::from([(k, real)]),
        );
        compare(&s, &r).0.remove(0)
    }

    /// A TCP segment from 10.0.0.2:`sport` to 10.0.0.1:`dport` with `len`
    /// bytes.
    fn seg(sport: u16, dport: u16, len: usize) -> Vec<u8> {
        use podpath_sim::wire::{tcp_header, Ipv4Repr, Mac};
        let hdr = tcp_header(sport, dport, 1, Some(1), 64240);
        let ip = Ipv4Repr::new(
            "10.0.0.2".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
            64,
            1,
            L4::Tcp {
                hdr,
                payload: vec![b'x'; len],
            },
        );
        Frame {
            src: Mac([2, 0, 0, 0, 0, 2]),
            dst: Mac([2, 0, 0, 0, 0, 1]),
            payload: L3::Ipv4(ip),
        }
        .emit()
    }

    fn garp() -> Vec<u8> {
        use podpath_sim::wire::{ArpRepr, Mac};
        let vip = "10.1.1.200".parse().unwrap();
        Frame {
            src: Mac([2, 0, 0, 0, 0, 2]),
            dst: Mac::BROADCAST,
            payload: L3::Arp(ArpRepr {
                op: 1,
                sender_mac: Mac([2, 0, 0, 0, 0, 2]),
                sender_ip: vip,
                target_mac: Mac::BROADCAST,
                target_ip: vip,
            }),
        }
        .emit()
    }

    fn vrrp(priority: u8) -> Vec<u8> {
        use podpath_sim::app::keepalived::VrrpAdvert;
        use podpath_sim::wire::{Ipv4Repr, Mac};
        let a = VrrpAdvert {
            vrid: 51,
            priority,
            advert_int: 1,
            auth: None,
            addrs: vec!["10.1.1.200".parse().unwrap()],
        };
        let mut ip = Ipv4Repr::new(
            "10.1.1.101".parse().unwrap(),
            "224.0.0.18".parse().unwrap(),
            255,
            1,
            L4::Raw(a.emit()),
        );
        ip.hdr.protocol.0 = 112;
        Frame {
            src: Mac([2, 0, 0, 0, 0, 2]),
            dst: Mac([1, 0, 0x5e, 0, 0, 0x12]),
            payload: L3::Ipv4(ip),
        }
        .emit()
    }

    #[test]
    fn daemon_frames_are_a_class_compared_by_content_and_count() {
        let data = seg(8080, 40000, 10);
        let g = || std::iter::repeat_with(garp).take(5);
        // the simulated daemon starts at 0, the real one later: the adverts
        // fall elsewhere among the flow's frames, one fewer at the end
        let sim: Vec<Vec<u8>> = g().chain([vrrp(255), data.clone(), vrrp(255)]).collect();
        let real: Vec<Vec<u8>> = [data.clone(), vrrp(255)].into_iter().chain(g()).collect();
        let d = cmp(sim.clone(), real.clone());
        assert!(d.matches(), "{d:?}");
        assert_eq!((d.periodic, d.periodic_tolerated), (7, 1));
        // two adverts fewer is a difference
        let fewer: Vec<Vec<u8>> = [data.clone()].into_iter().chain(g()).collect();
        let d = cmp(
            sim.iter().cloned().chain([vrrp(255)]).collect(),
            fewer.clone(),
        );
        assert!(!d.matches(), "{d:?}");
        // so is a missing gratuitous ARP, and an advert with another priority
        let d = cmp(sim.clone(), real[..real.len() - 1].to_vec());
        assert!(!d.matches(), "{d:?}");
        let other: Vec<Vec<u8>> = [data.clone(), vrrp(100)].into_iter().chain(g()).collect();
        let d = cmp(sim, other);
        assert!(
            !d.matches() && d.first.as_deref().unwrap_or("").contains("priority"),
            "{d:?}"
        );
    }

    #[test]
    fn frames_of_independent_connections_may_interleave_differently() {
        let (a, b1, b2) = (
            seg(30000, 40000, 10),
            seg(30000, 50000, 3),
            seg(30000, 50000, 5),
        );
        // the client's segment before the proxy's connect in the
        // simulation, after it for real
        let d = cmp(
            vec![a.clone(), b1.clone(), b2.clone()],
            vec![b1.clone(), b2.clone(), a.clone()],
        );
        assert!(d.matches() && d.reorders == 1, "{d:?}");
        // the other way round
        let d = cmp(
            vec![b1.clone(), b2.clone(), a.clone()],
            vec![a.clone(), b1.clone(), b2.clone()],
        );
        assert!(d.matches() && d.reorders == 1, "{d:?}");
        // but not within one connection
        let d = cmp(vec![b1.clone(), b2.clone()], vec![b2.clone(), b1.clone()]);
        assert!(!d.matches(), "{d:?}");
        // nor further than the window
        let far: Vec<Vec<u8>> = std::iter::repeat_n(b1.clone(), REORDER_WINDOW + 1).collect();
        let mut sim = vec![a.clone()];
        sim.extend(far.clone());
        let mut real = far;
        real.push(a);
        assert!(!cmp(sim, real).matches());
    }

    #[test]
    fn ack_reply_races_are_tolerated_and_counted() {
        let (ack, data) = (tcp(0), tcp(100));
        // sent alone in the simulation, folded into the data for real
        let d = cmp(vec![ack.clone(), data.clone()], vec![data.clone()]);
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        // the other way round
        let d = cmp(vec![data.clone()], vec![ack.clone(), data.clone()]);
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        // sent after the data instead of before
        let d = cmp(
            vec![ack.clone(), data.clone()],
            vec![data.clone(), ack.clone()],
        );
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        // the ACK folded into, or sent after, the FIN of close()
        let fin = tcp_fin(0, true);
        let d = cmp(vec![ack.clone(), fin.clone()], vec![fin.clone()]);
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        let d = cmp(
            vec![ack.clone(), fin.clone(), ack.clone()],
            vec![fin.clone(), ack.clone(), ack.clone()],
        );
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        // the same races of segments carried in VXLAN between two nodes
        let (vack, vfin, vdata) = (vxlan(ack.clone()), vxlan(fin.clone()), vxlan(data.clone()));
        let d = cmp(
            vec![vack.clone(), vfin.clone(), vack.clone()],
            vec![vfin.clone(), vack.clone(), vack.clone()],
        );
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        let d = cmp(vec![vack.clone(), vdata.clone()], vec![vdata.clone()]);
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        let d = cmp(vec![vack.clone(), vack.clone()], vec![vfin, vack]);
        assert!(!d.matches(), "{d:?}");
        // but a missing FIN is a difference
        let d = cmp(vec![ack.clone(), ack.clone()], vec![fin, ack.clone()]);
        assert!(!d.matches(), "{d:?}");
        // and a missing data segment is one too
        let d = cmp(vec![ack.clone()], vec![data.clone()]);
        assert!(!d.matches(), "{d:?}");
        let d = cmp(vec![data.clone(), data.clone()], vec![data.clone()]);
        assert!(!d.matches() && d.first.unwrap().contains("only in the simulation"));
        // several ACKs deferred from the backlog and folded into the FIN
        // (tcp_release_cb's one ACK, Linux 6.6+)
        let fin = tcp_fin(0, true);
        let d = cmp(
            vec![ack.clone(), ack.clone(), ack.clone(), fin.clone()],
            vec![fin.clone()],
        );
        assert!(d.matches() && d.ack_races == 3, "{d:?}");
        // or into one ACK at the end of the capture
        let d = cmp(
            vec![fin.clone(), ack.clone(), ack.clone()],
            vec![fin.clone(), ack.clone()],
        );
        assert!(d.matches() && d.ack_races == 1, "{d:?}");
        // or overtaken by the FIN on the real machine's other CPU
        let d = cmp(
            vec![ack.clone(), ack.clone(), fin.clone()],
            vec![fin.clone(), ack.clone(), ack.clone()],
        );
        assert!(d.matches() && d.ack_races == 2, "{d:?}");
        // but never a data segment among them
        let d = cmp(vec![ack.clone(), data, ack.clone(), fin.clone()], vec![fin]);
        assert!(!d.matches(), "{d:?}");
    }
}

#[cfg(test)]
mod probe_tests {
    use super::*;
    use podpath_sim::wire::ArpRepr;

    /// An ARP frame between 10.0.0.2 (02:..:02) and 10.0.0.4 (02:..:04):
    /// a request to `dst` (unicast: a probe) or, with `reply`, the answer.
    fn arp(reply: bool, dst: Mac) -> Vec<u8> {
        let (m2, m4) = (Mac([2, 0, 0, 0, 0, 2]), Mac([2, 0, 0, 0, 0, 4]));
        let (a, b) = ("10.0.0.2".parse().unwrap(), "10.0.0.4".parse().unwrap());
        let (src, dst, arp) = if reply {
            (
                m4,
                m2,
                ArpRepr {
                    op: 2,
                    sender_mac: m4,
                    sender_ip: b,
                    target_mac: m2,
                    target_ip: a,
                },
            )
        } else {
            let zero = Mac([0; 6]);
            (
                m2,
                dst,
                ArpRepr {
                    op: 1,
                    sender_mac: m2,
                    sender_ip: a,
                    target_mac: zero,
                    target_ip: b,
                },
            )
        };
        Frame {
            src,
            dst,
            payload: L3::Arp(arp),
        }
        .emit()
    }

    fn one(sim: Vec<Vec<u8>>, real: Vec<Vec<u8>>) -> (Vec<IfaceDiff>, usize) {
        let out = ("h".to_string(), "eth0".to_string(), "out".to_string());
        let inn = ("h".to_string(), "eth0".to_string(), "in".to_string());
        // the request goes out, the reply comes in
        let split = |v: Vec<Vec<u8>>| {
            let (o, i): (Vec<_>, Vec<_>) = v
                .into_iter()
                .partition(|b| normalize(b).text.contains("arp op 1"));
            BTreeMap::from([(out.clone(), o), (inn.clone(), i)])
        };
        let (d, _) = compare(&split(sim), &split(real));
        let n = d.iter().map(|i| i.probe_races).sum();
        (d, n)
    }

    #[test]
    fn a_probe_on_one_side_only_is_tolerated_and_counted() {
        let probe = arp(false, Mac([2, 0, 0, 0, 0, 4]));
        let (d, n) = one(vec![probe, arp(true, Mac::BROADCAST)], vec![]);
        assert!(d.iter().all(|i| i.matches()), "{d:?}");
        assert_eq!(n, 2);
        // the same on the real side
        let probe = arp(false, Mac([2, 0, 0, 0, 0, 4]));
        let (d, n) = one(vec![], vec![probe, arp(true, Mac::BROADCAST)]);
        assert!(d.iter().all(|i| i.matches()), "{d:?}");
        assert_eq!(n, 2);
    }

    #[test]
    fn a_broadcast_resolution_on_one_side_only_still_differs() {
        let (d, n) = one(
            vec![arp(false, Mac::BROADCAST), arp(true, Mac::BROADCAST)],
            vec![],
        );
        assert_eq!(d.iter().filter(|i| !i.matches()).count(), 2, "{d:?}");
        assert_eq!(n, 0);
    }
}
