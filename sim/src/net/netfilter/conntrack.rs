//! Connection tracking (`nf_conntrack`): tuples in both directions, states,
//! TCP state tracking for timeouts, expiry on the virtual clock, table-full
//! drops, and the lookup of ICMP errors to the connection they belong to.
//!
//! Simplifications (listed by `podpath explain`): TCP tracking follows flags
//! only (no window/sequence validation, so no INVALID from out-of-window
//! segments); `nf_conntrack_tcp_loose` is on by default (a mid-stream ACK
//! creates an entry; 0 makes it INVALID); helpers (FTP, SIP) and expectations are not modelled; an entry is
//! inserted when created and removed again if the packet is dropped, which is
//! what confirmation at the last hook amounts to for a single-threaded walk.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use super::ctbits;

/// A conntrack tuple. For ICMP echo both ports hold the echo identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tuple {
    pub proto: u8,
    pub src: std::net::IpAddr,
    pub sport: u16,
    pub dst: std::net::IpAddr,
    pub dport: u16,
}

/// An address of a tuple as the IPv4-only code reads it (NAT's address
/// arithmetic, the IPv4 header rewrite): an IPv6 address reads as
/// 0.0.0.0, which that code never meets (it runs on IPv4 connections).
pub fn v4(a: std::net::IpAddr) -> Ipv4Addr {
    match a {
        std::net::IpAddr::V4(a) => a,
        std::net::IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

impl Tuple {
    pub fn src4(&self) -> Ipv4Addr {
        v4(self.src)
    }
    pub fn dst4(&self) -> Ipv4Addr {
        v4(self.dst)
    }
    pub fn invert(&self) -> Tuple {
        Tuple {
            proto: self.proto,
            src: self.dst,
            sport: self.dport,
            dst: self.src,
            dport: self.sport,
        }
    }
}

impl fmt::Display for Tuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = match self.proto {
            6 => "tcp",
            17 => "udp",
            1 => "icmp",
            58 => "icmpv6",
            132 => "sctp",
            _ => "ip",
        };
        if self.proto == 1 || self.proto == 58 {
            write!(f, "{p} src={} dst={} id={}", self.src, self.dst, self.sport)
        } else {
            write!(
                f,
                "{p} src={} dst={} sport={} dport={}",
                self.src, self.dst, self.sport, self.dport
            )
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Original,
    Reply,
}

/// TCP conntrack states (`tcp_conntrack_names`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpCt {
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
}

impl TcpCt {
    pub fn name(self) -> &'static str {
        match self {
            TcpCt::None => "NONE",
            TcpCt::SynSent => "SYN_SENT",
            TcpCt::SynRecv => "SYN_RECV",
            TcpCt::Established => "ESTABLISHED",
            TcpCt::FinWait => "FIN_WAIT",
            TcpCt::CloseWait => "CLOSE_WAIT",
            TcpCt::LastAck => "LAST_ACK",
            TcpCt::TimeWait => "TIME_WAIT",
            TcpCt::Close => "CLOSE",
        }
    }
    /// The kernel's default timeout for the state, in seconds.
    pub fn timeout_s(self) -> u64 {
        match self {
            TcpCt::None => 120,
            TcpCt::SynSent => 120,
            TcpCt::SynRecv => 60,
            TcpCt::Established => 432_000,
            TcpCt::FinWait => 120,
            TcpCt::CloseWait => 60,
            TcpCt::LastAck => 30,
            TcpCt::TimeWait => 120,
            TcpCt::Close => 10,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Conn {
    pub id: u64,
    pub orig: Tuple,
    /// The reply tuple; NAT rewrites it (`nf_nat_setup_info`).
    pub reply: Tuple,
    pub tcp: TcpCt,
    pub seen_reply: bool,
    pub assured: bool,
    pub expires_ns: u64,
    pub mark: u32,
    /// The destination NAT decision was taken (possibly a null binding).
    pub dst_nat_done: bool,
    /// The source NAT decision was taken.
    pub src_nat_done: bool,
    /// FIN seen in the original / reply direction.
    pub fin: [bool; 2],
    /// What made the source (`[0]`) and destination (`[1]`) NAT binding:
    /// the rule (or IPVS service) whose target chose it, for the trace.
    pub nat_by: [Option<String>; 2],
    /// (packets, bytes) in the original (`[0]`) and reply (`[1]`)
    /// direction, as nf_conntrack_acct.c's `nf_conn_acct` counts them
    /// (`nf_ct_acct_update` from `__nf_ct_refresh_acct`: the IP total
    /// length of every packet the protocol tracker accepts). podpath
    /// always counts; whether a rule sees the counters is the
    /// accounting switch ([`crate::net::host::Host::ct_acct_on`]).
    pub acct: [(u64, u64); 2],
    /// The helper assigned to the connection (nft_ct.c
    /// nft_ct_helper_obj_eval: `ct helper set` on its first packet).
    /// Simplification: no helper runs (no expectations are made).
    pub helper: Option<String>,
    /// The connection's labels (nf_conn_labels, 128 bits: `ct label`,
    /// NFQA_CT's CTA_LABELS).
    pub labels: u128,
    /// SCTP: the tracker's state and verification tags.
    pub sctp: super::ct_sctp::SctpCt,
    /// In a flowtable (IPS_OFFLOAD): see [`super::flowtable`].
    pub offload: Option<Offload>,
    /// The synproxy and seqadj extensions (`nf_conn_synproxy`,
    /// `nf_conn_seqadj`) of a connection SYNPROXY opened.
    pub synproxy: Option<SynproxyCt>,
}

/// One direction of an offloaded flow (nf_flow_table.h
/// `flow_offload_tuple`: `iifidx`, the cached route `dst_cache` with its
/// device and gateway, `mtu`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowPath {
    /// The device its packets arrive on (the tuple's iifidx).
    pub iif: usize,
    /// The device they leave by, and the route's gateway.
    pub oif: usize,
    pub via: Option<Ipv4Addr>,
    pub mtu: u32,
    /// Whether the flowtable's ingress hook is on `iif` (its `devices`):
    /// only then does this direction take the fast path.
    pub hooked: bool,
}

/// A connection in a flowtable (nf_flow_table_core.c `flow_offload`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offload {
    /// The nft table (`ip filter`) and the flowtable's name.
    pub table: String,
    pub flowtable: String,
    /// Original, reply.
    pub path: [FlowPath; 2],
}

/// `struct nf_conn_synproxy` with the seqadj offset: our ISN (the
/// cookie), our timestamp, the timestamp offset, and once the server
/// answered the offset its sequence numbers are moved by towards the
/// client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynproxyCt {
    pub isn: u32,
    pub its: u32,
    pub tsoff: u32,
    pub seqadj: Option<u32>,
}

impl Conn {
    pub fn dnat(&self) -> bool {
        self.reply.src != self.orig.dst || self.reply.sport != self.orig.dport
    }
    pub fn snat(&self) -> bool {
        self.reply.dst != self.orig.src || self.reply.dport != self.orig.sport
    }
    /// The `ctstate` bits a packet of this connection in `dir` carries.
    pub fn ctstate(&self, dir: Dir) -> u8 {
        let mut b = if self.seen_reply || dir == Dir::Reply {
            ctbits::ESTABLISHED
        } else {
            ctbits::NEW
        };
        if self.dnat() {
            b |= ctbits::DNAT;
        }
        if self.snat() {
            b |= ctbits::SNAT;
        }
        b
    }
    /// The tuple a packet travelling in `dir` has after all NAT: the inverse of
    /// the other direction's tuple.
    pub fn target(&self, dir: Dir) -> Tuple {
        match dir {
            Dir::Original => self.reply.invert(),
            Dir::Reply => self.orig.invert(),
        }
    }
    pub fn state_name(&self) -> String {
        let mut s = String::new();
        if self.orig.proto == 6 {
            s.push_str(self.tcp.name());
        } else if self.orig.proto == 132 {
            s.push_str(self.sctp.state.name());
        } else if self.seen_reply {
            s.push_str("ESTABLISHED");
        } else {
            s.push_str("NEW");
        }
        if self.assured {
            s.push_str(" [ASSURED]");
        }
        s
    }
}

#[derive(Clone, Debug)]
pub struct Conntrack {
    pub conns: BTreeMap<u64, Conn>,
    pub index: BTreeMap<Tuple, (u64, Dir)>,
    /// The connections in a flowtable (so that a packet's ingress finds
    /// none without a lookup when there are none).
    pub offloaded: std::collections::BTreeSet<u64>,
    /// Entries a `conntrack -L` dump showed as [OFFLOAD] that stayed
    /// ordinary (no flowtable): the trace says so at their first packet.
    pub dumped_offload: std::collections::BTreeSet<u64>,
    next_id: u64,
    pub max: usize,
}

impl Default for Conntrack {
    fn default() -> Self {
        Conntrack {
            conns: BTreeMap::new(),
            index: BTreeMap::new(),
            offloaded: std::collections::BTreeSet::new(),
            dumped_offload: std::collections::BTreeSet::new(),
            next_id: 1,
            max: 262_144,
        }
    }
}

/// UDP: 30 s unreplied, 120 s once a reply was seen ("stream"); ICMP 30 s.
fn other_timeout_s(proto: u8, seen_reply: bool) -> u64 {
    match (proto, seen_reply) {
        (17, false) => 30,
        (17, true) => 120,
        // nf_ct_icmp_timeout, nf_ct_icmpv6_timeout: 30 s
        (1 | 58, _) => 30,
        (_, false) => 600,
        (_, true) => 600,
    }
}

impl Conntrack {
    /// Finds the live entry for a tuple, dropping it first if it expired.
    pub fn lookup(&mut self, t: &Tuple, now: u64) -> Option<(u64, Dir)> {
        let (id, dir) = *self.index.get(t)?;
        let expired = self.conns.get(&id).is_none_or(|c| c.expires_ns <= now);
        if expired {
            self.remove(id);
            return None;
        }
        Some((id, dir))
    }

    /// The live connection a tuple belongs to, without removing an expired
    /// one (what a socket option reads).
    pub fn peek(&self, t: &Tuple, now: u64) -> Option<u64> {
        let (id, _) = *self.index.get(t)?;
        self.conns
            .get(&id)
            .filter(|c| c.expires_ns > now)
            .map(|_| id)
    }

    pub fn get(&self, id: u64) -> Option<&Conn> {
        self.conns.get(&id)
    }
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Conn> {
        self.conns.get_mut(&id)
    }

    /// Whether a tuple is in use as some connection's reply tuple or original
    /// tuple (`nf_nat_used_tuple`).
    pub fn tuple_taken(&self, t: &Tuple, now: u64) -> bool {
        match self.index.get(t) {
            Some((id, _)) => self.conns.get(id).is_some_and(|c| c.expires_ns > now),
            None => false,
        }
    }

    /// Creates an entry for a new connection. Returns None when the table is
    /// full (`nf_conntrack: table full, dropping packet`).
    pub fn create(&mut self, t: Tuple, now: u64) -> Option<u64> {
        self.expire(now);
        if self.conns.len() >= self.max {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let c = Conn {
            id,
            orig: t,
            reply: t.invert(),
            tcp: TcpCt::None,
            seen_reply: false,
            assured: false,
            expires_ns: now + other_timeout_s(t.proto, false) * 1_000_000_000,
            mark: 0,
            dst_nat_done: false,
            src_nat_done: false,
            nat_by: [None, None],
            fin: [false; 2],
            offload: None,
            synproxy: None,
            acct: [(0, 0); 2],
            helper: None,
            labels: 0,
            sctp: Default::default(),
        };
        self.index.insert(c.orig, (id, Dir::Original));
        self.index.insert(c.reply, (id, Dir::Reply));
        self.conns.insert(id, c);
        Some(id)
    }

    /// Replaces the reply tuple after a NAT decision.
    pub fn set_reply(&mut self, id: u64, reply: Tuple) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        self.index.remove(&c.reply);
        c.reply = reply;
        self.index.insert(reply, (id, Dir::Reply));
    }

    pub fn remove(&mut self, id: u64) {
        self.offloaded.remove(&id);
        self.dumped_offload.remove(&id);
        if let Some(c) = self.conns.remove(&id) {
            self.index.remove(&c.orig);
            self.index.remove(&c.reply);
        }
    }

    /// Number of tracked connections.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// `conntrack -D -p udp --dst-nat ADDR`: the UDP entries DNATed to an
    /// endpoint (kube-proxy clears them when the endpoint goes, so a UDP
    /// client's next datagram picks a live one). Returns how many went.
    pub fn delete_udp_dnat_to(&mut self, addr: Ipv4Addr) -> usize {
        let dead: Vec<u64> = self
            .conns
            .values()
            .filter(|c| c.orig.proto == 17 && c.reply.src == addr && c.orig.dst != addr)
            .map(|c| c.id)
            .collect();
        for id in &dead {
            self.remove(*id);
        }
        dead.len()
    }

    /// Removes every entry (`conntrack -F`).
    pub fn flush(&mut self) {
        self.conns.clear();
        self.index.clear();
        self.offloaded.clear();
        self.dumped_offload.clear();
    }

    fn expire(&mut self, now: u64) {
        let dead: Vec<u64> = self
            .conns
            .values()
            .filter(|c| c.expires_ns <= now)
            .map(|c| c.id)
            .collect();
        for id in dead {
            self.remove(id);
        }
    }

    /// Updates state and timeout for a packet of `id` in `dir`.
    /// Counts one packet of `bytes` in `dir` (nf_ct_acct_update).
    pub fn acct(&mut self, id: u64, dir: Dir, bytes: usize) {
        if let Some(c) = self.conns.get_mut(&id) {
            let d = usize::from(dir == Dir::Reply);
            c.acct[d].0 += 1;
            c.acct[d].1 += bytes as u64;
        }
    }

    pub fn update(&mut self, id: u64, dir: Dir, tcp_flags: Option<u8>, now: u64) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if dir == Dir::Reply && !c.seen_reply {
            c.seen_reply = true;
        }
        if let Some(f) = tcp_flags {
            let syn = f & 0x02 != 0;
            let ack = f & 0x10 != 0;
            let fin = f & 0x01 != 0;
            let rst = f & 0x04 != 0;
            let d = if dir == Dir::Original { 0 } else { 1 };
            c.tcp = if rst {
                TcpCt::Close
            } else if syn && !ack && dir == Dir::Original {
                if c.tcp == TcpCt::None || c.tcp == TcpCt::SynSent {
                    TcpCt::SynSent
                } else {
                    c.tcp
                }
            } else if syn && ack && dir == Dir::Reply && c.tcp == TcpCt::SynSent {
                TcpCt::SynRecv
            } else if fin {
                c.fin[d] = true;
                if c.fin[1 - d] {
                    TcpCt::LastAck
                } else if dir == Dir::Original {
                    TcpCt::FinWait
                } else {
                    TcpCt::CloseWait
                }
            } else if ack {
                match c.tcp {
                    TcpCt::SynRecv if dir == Dir::Original => {
                        c.assured = true;
                        TcpCt::Established
                    }
                    TcpCt::None => TcpCt::Established,
                    TcpCt::LastAck if c.fin[0] && c.fin[1] => TcpCt::TimeWait,
                    s => s,
                }
            } else {
                c.tcp
            };
            c.expires_ns = now + c.tcp.timeout_s() * 1_000_000_000;
        } else {
            if c.seen_reply && c.orig.proto == 17 {
                c.assured = true;
            }
            c.expires_ns = now + other_timeout_s(c.orig.proto, c.seen_reply) * 1_000_000_000;
        }
    }

    /// An SCTP packet of `id` in `dir` through the SCTP tracker
    /// ([`super::ct_sctp`]): the state, the timeout of the new state
    /// (unless the tracker leaves it), ASSURED once ESTABLISHED. `Err`:
    /// the packet is INVALID, with why.
    pub fn update_sctp(
        &mut self,
        id: u64,
        dir: Dir,
        p: &crate::wire::sctp::SctpRepr,
        confirmed: bool,
        now: u64,
    ) -> Result<(), &'static str> {
        let Some(c) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        let d = usize::from(dir == Dir::Reply);
        let v = c.sctp.packet(d, p, confirmed)?;
        if dir == Dir::Reply {
            c.seen_reply = true;
        }
        if v.state == super::ct_sctp::SctpState::Established {
            c.assured = true;
        }
        if !v.no_refresh {
            c.expires_ns = now + v.state.timeout_s() * 1_000_000_000;
        }
        Ok(())
    }

    /// Entries in `conntrack -L` form, oldest first.
    pub fn list(&self) -> Vec<String> {
        self.conns
            .values()
            .map(|c| {
                let off = if c.offload.is_some() {
                    " [OFFLOAD]"
                } else {
                    ""
                };
                format!("{} {} {}{off}", c.orig, c.reply, c.state_name())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Tuple {
        Tuple {
            proto: 6,
            src: Ipv4Addr::new(1, 2, 3, 4).into(),
            sport: 40000,
            dst: Ipv4Addr::new(10, 96, 0, 10).into(),
            dport: 80,
        }
    }

    #[test]
    fn nat_reply_tuple_and_lookup_both_ways() {
        let mut ct = Conntrack::default();
        let id = ct.create(t(), 0).unwrap();
        let mut r = t().invert();
        r.src = Ipv4Addr::new(10, 244, 0, 5).into();
        r.sport = 8080;
        ct.set_reply(id, r);
        let c = ct.get(id).unwrap();
        assert!(c.dnat() && !c.snat());
        assert_eq!(c.target(Dir::Original).dst, Ipv4Addr::new(10, 244, 0, 5));
        assert_eq!(c.target(Dir::Reply).src, Ipv4Addr::new(10, 96, 0, 10));
        assert_eq!(ct.lookup(&r, 1), Some((id, Dir::Reply)));
        assert_eq!(ct.lookup(&t().invert(), 1), None);
    }

    #[test]
    fn tcp_states_and_expiry() {
        let mut ct = Conntrack::default();
        let id = ct.create(t(), 0).unwrap();
        ct.update(id, Dir::Original, Some(0x02), 0);
        assert_eq!(
            ct.get(id).unwrap().ctstate(Dir::Original) & ctbits::NEW,
            ctbits::NEW
        );
        ct.update(id, Dir::Reply, Some(0x12), 1);
        ct.update(id, Dir::Original, Some(0x10), 2);
        let c = ct.get(id).unwrap();
        assert_eq!(c.tcp, TcpCt::Established);
        assert!(c.assured);
        assert_eq!(
            c.ctstate(Dir::Original) & ctbits::ESTABLISHED,
            ctbits::ESTABLISHED
        );
        ct.update(id, Dir::Original, Some(0x04), 3);
        assert_eq!(ct.lookup(&t(), 3 + 10_000_000_000), None);
    }

    #[test]
    fn table_full_refuses() {
        let mut ct = Conntrack {
            max: 1,
            ..Default::default()
        };
        assert!(ct.create(t(), 0).is_some());
        let mut t2 = t();
        t2.sport = 1;
        assert!(ct.create(t2, 0).is_none());
    }
}
