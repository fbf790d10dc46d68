//! TCP (RFC 793/9293 as Linux runs it): listening sockets, the three-way
//! handshake with MSS, data with real sequence numbers, FIN/RST, SYN
//! retransmission (`tcp_syn_retries`; the first `tcp_syn_linear_timeouts`
//! retransmissions 1 s apart, as Linux 6.5+ does, then exponential), RST for
//! segments to closed ports, ICMP errors aborting a connect.
//!
//! Data and FIN are kept until ACKed and retransmitted on the retransmission
//! timer (`tcp_retransmit_timer`): the RTO comes from the RTT samples as RFC
//! 6298 computes it, with Linux's floor (`TCP_RTO_MIN`, 200 ms) on the
//! variance term, so the first RTO after a handshake of RTT R is
//! R + max(2R, 200 ms), exactly Linux's first estimate; it doubles on each
//! expiry up to `TCP_RTO_MAX` (120 s), and after `tcp_retries2` expiries the
//! connection is aborted (ETIMEDOUT). After an expiry the socket is in the
//! Loss state: each ACK that advances releases the next lost segment
//! (go-back-N).
//!
//! ACKs follow Linux's delayed-ACK logic (`icsk_ack`): the handshake's ACK
//! goes at once; the first data segments of a connection are ACKed at once
//! (quick-ACK mode, up to 16); once a socket answers within `ato` (40 ms) of
//! receiving, it is interactive (pingpong) and its ACKs wait up to 40 ms for
//! data to ride on; FIN in FIN-WAIT is ACKed at once.
//!
//! Simplifications (listed by `podpath explain`): ato stays at its minimum
//! (no RTT-driven growth); a fixed receive window of 64240 bytes
//! without window scaling, SACK or timestamps; no congestion window (all
//! data goes at once), no fast retransmit on duplicate ACKs and no
//! out-of-order queue at the receiver (a segment past a hole is dropped and
//! ACKed with the hole, so it comes again with the go-back-N retransmission);
//! no TCP timestamps, so Karn's rule leaves a handshake with a
//! retransmitted SYN without an RTT sample (RTO 3 s, `TCP_TIMEOUT_FALLBACK`);
//! later RTT samples use RFC 6298's gains rather than Linux's mdev_max
//! tracking; no SYN-ACK timer (a lost SYN-ACK is resent when the SYN comes
//! again); TIME_WAIT sockets stay until the end of the run.

use std::net::{IpAddr, Ipv4Addr};

use etherparse::TcpOptionElement;

pub mod sock;

pub use sock::*;

use super::fib::{FlowKey, RouteType};
use super::host::{Ctx, Host, HostTimer, Meta, Output};
use super::netfilter::conntrack::Tuple;
use super::netfilter::ct_glue::CtInfo;
use super::socket::SocketEvent as AppEvent;
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self, IcmpRepr};
use crate::wire::{endpoint, tcp_header, IpRepr, Ipv4Repr, Ipv6Repr, L4};

/// Why `connect()` fails before a SYN leaves: the errno and what caused it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// No route to the destination (ENETUNREACH).
    #[error("connect to {}: no route to {dst} (ENETUNREACH)", endpoint(*dst, *dport))]
    NoRoute { dst: IpAddr, dport: u16 },
    /// The route's device has no address to send from (EADDRNOTAVAIL).
    #[error("connect to {}: no source address (EADDRNOTAVAIL)", endpoint(*dst, *dport))]
    NoSource { dst: IpAddr, dport: u16 },
    /// The route is of a type that sends nothing (`blackhole`,
    /// `unreachable`, `prohibit`, ...; EHOSTUNREACH).
    #[error("connect to {}: {rtype} route (EHOSTUNREACH)", endpoint(*dst, *dport))]
    Unreachable {
        dst: IpAddr,
        dport: u16,
        /// The route type's name, as `ip route` writes it.
        rtype: &'static str,
    },
    /// Every port of `ip_local_port_range` is taken (EADDRNOTAVAIL).
    #[error("no free ephemeral port (EADDRNOTAVAIL)")]
    NoFreePort,
    /// bind() to an address the host does not have (EADDRNOTAVAIL:
    /// inet_bind without ip_nonlocal_bind/IP_FREEBIND).
    #[error("bind to {addr}: Cannot assign requested address (EADDRNOTAVAIL)")]
    BindNotLocal { addr: IpAddr },
    /// bind() to an address of the other family than the destination's
    /// (an AF_INET socket cannot reach an IPv6 address: EAFNOSUPPORT).
    #[error("connect to {}: bound to {addr}, an address of the other family (EAFNOSUPPORT)", endpoint(*dst, *dport))]
    FamilyMismatch {
        addr: IpAddr,
        dst: IpAddr,
        dport: u16,
    },
    /// bind() to a port a socket of the same address holds (EADDRINUSE).
    #[error("bind to port {port}: Address already in use (EADDRINUSE)")]
    BindInUse { port: u16 },
}

/// One received segment, as the receive path's helpers see it.
struct Seg<'a> {
    ip: &'a IpRepr,
    hdr: &'a etherparse::TcpHeader,
    payload: &'a [u8],
    key: ConnKey,
    meta: Meta,
}

/// What processing one segment leaves to do once the state is updated: the
/// ACK to send at once, the lost segment to release, the application's
/// events.
#[derive(Default)]
struct RcvWork {
    events: Vec<AppEvent>,
    ack_now: bool,
    release_next: bool,
}

/// What a SYN or SYN-ACK offers, and its TSval (0 without).
fn peer_opts(hdr: &etherparse::TcpHeader) -> (SynOpts, u32) {
    let mut o = SynOpts::default();
    let mut tsval = 0;
    for x in hdr.options_iterator().flatten() {
        match x {
            TcpOptionElement::Timestamp(v, _) => {
                o.ts = true;
                tsval = v;
            }
            TcpOptionElement::SelectiveAcknowledgementPermitted => o.sack = true,
            TcpOptionElement::WindowScale(_) => o.wscale = true,
            _ => {}
        }
    }
    (o, tsval)
}

impl Host {
    /// The options this host's SYNs offer: net.ipv4.tcp_timestamps,
    /// tcp_sack and tcp_window_scaling (each 1 by default).
    fn tcp_syn_opts(&self) -> SynOpts {
        SynOpts {
            ts: self.sysctl.int("net.ipv4.tcp_timestamps") != 0,
            sack: self.sysctl.int("net.ipv4.tcp_sack") != 0,
            wscale: self.sysctl.int("net.ipv4.tcp_window_scaling") != 0,
        }
    }

    /// `secure_tcp_ts_off`: the kernel adds a keyed hash of the address
    /// pair to its millisecond clock (tcp_timestamps 1); podpath's hash is
    /// keyed by the host's seed, so a run's values are its own.
    fn tcp_ts_off(&self, src: IpAddr, dst: IpAddr) -> u32 {
        if self.sysctl.int("net.ipv4.tcp_timestamps") == 2 {
            return 0;
        }
        let mut k = self.flow_seed.to_be_bytes().to_vec();
        for a in [src, dst] {
            match a {
                IpAddr::V4(a) => k.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => k.extend_from_slice(&a.octets()),
            }
        }
        crate::det::stable_hash(&k) as u32
    }

    /// `getsockopt(SO_ORIGINAL_DST)` of an accepted connection: the
    /// destination before NAT, from its conntrack entry (found by the reply
    /// tuple, which is the socket's own view).
    pub fn original_dst(&self, key: ConnKey, now: u64) -> Option<(Ipv4Addr, u16)> {
        // Simplification: conntrack tracks IPv4 only, so an IPv6
        // connection has no original destination to report
        let (IpAddr::V4(_), IpAddr::V4(_)) = (key.0, key.2) else {
            return None;
        };
        let t = crate::net::netfilter::conntrack::Tuple {
            proto: 6,
            src: key.0,
            sport: key.1,
            dst: key.2,
            dport: key.3,
        };
        self.ct
            .peek(&t, now)
            .and_then(|id| self.ct.get(id))
            .map(|c| (c.orig.dst4(), c.orig.dport))
    }

    /// A segment of connection `key`. A connection's segments carry the
    /// options `tcp_options_write` writes (net/ipv4/tcp_output.c): a SYN
    /// or SYN-ACK MSS, then SACK-permitted and TS (or NOP, NOP, TS), then
    /// NOP, NOP, SACK-permitted without TS, then NOP and the window scale;
    /// every later segment NOP, NOP, TS when timestamps were agreed. With
    /// window scaling agreed, the window field after the handshake is the
    /// window shifted by 7 (the SYN's never is). A segment of no
    /// connection (`tcp_v4_send_reset`) has none.
    #[allow(clippy::too_many_arguments)]
    fn tcp_seg(
        &mut self,
        key: &ConnKey,
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        payload: Vec<u8>,
        mss: Option<u16>,
        now: u64,
    ) -> IpRepr {
        let syn = flags.contains('S');
        let t = self.tcp.conns.get(key);
        let o = t.map(|t| t.opts).unwrap_or_default();
        let ws = t.map_or(7, |t| t.rcv_wscale);
        let window = if o.wscale && !syn {
            WINDOW.div_ceil(1 << ws)
        } else {
            WINDOW
        };
        let mut h = tcp_header(key.1, key.3, seq, ack, window);
        h.syn = syn;
        h.fin = flags.contains('F');
        h.rst = flags.contains('R');
        h.psh = flags.contains('P');
        let tsval = t.map_or(0, |t| ((now / 1_000_000) as u32).wrapping_add(t.ts_off));
        // the SYN's TSecr is 0; a SYN-ACK echoes the SYN's TSval
        let tsecr = t.map_or(0, |t| t.ts_recent);
        let ts = TcpOptionElement::Timestamp(tsval, tsecr);
        let mut opts = Vec::new();
        if let Some(m) = mss {
            opts.push(TcpOptionElement::MaximumSegmentSize(m));
        }
        if syn {
            use TcpOptionElement::{Noop, SelectiveAcknowledgementPermitted as SackOk};
            match (o.ts, o.sack) {
                (true, true) => opts.extend([SackOk, ts]),
                (true, false) => opts.extend([Noop, Noop, ts]),
                (false, true) => opts.extend([Noop, Noop, SackOk]),
                (false, false) => {}
            }
            if o.wscale {
                opts.extend([Noop, TcpOptionElement::WindowScale(ws)]);
            }
        } else if t.is_some() {
            if o.ts {
                opts.extend([TcpOptionElement::Noop, TcpOptionElement::Noop, ts]);
            }
            let blocks = t.map(|t| t.sack_blocks()).unwrap_or_default();
            // tcp_established_options: the SACK blocks after the TS
            if !blocks.is_empty() {
                let mut b = [(0u32, 0u32); 4];
                b[..blocks.len()].copy_from_slice(&blocks);
                opts.extend([
                    TcpOptionElement::Noop,
                    TcpOptionElement::Noop,
                    TcpOptionElement::SelectiveAcknowledgement(
                        b[0],
                        [
                            (blocks.len() > 1).then_some(b[1]),
                            (blocks.len() > 2).then_some(b[2]),
                            (blocks.len() > 3).then_some(b[3]),
                        ],
                    ),
                ]);
                // tcp_options_write: a D-SACK is reported once
                if let Some(t) = self.tcp.conns.get_mut(key) {
                    t.dsack = None;
                }
            }
        }
        if !opts.is_empty() {
            let _ = h.set_options(&opts);
        }
        let l4 = L4::Tcp { hdr: h, payload };
        match (key.0, key.2) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let id = self.next_ip_id();
                let ttl = self.sysctl.int("net.ipv4.ip_default_ttl") as u8;
                IpRepr::V4(Ipv4Repr::new(s, d, ttl, id, l4))
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                // the flow label is ip6_make_flowlabel's, set on output
                let hl = self.ip6_hop_limit(d);
                IpRepr::V6(Ipv6Repr::new(s, d, hl, 0, l4))
            }
            _ => unreachable!("a connection's addresses are of one family"),
        }
    }

    fn tcp_out(&mut self, ctx: &mut Ctx, key: &ConnKey, ip: IpRepr, note: String) {
        let (flow, parent, txhash, app) = match self.tcp.conns.get(key) {
            // a connection that has carried no packet yet (a connect's SYN)
            // has no parent to give: packet ids start at 1
            Some(t) => (
                t.flow,
                (t.last_pkt != 0).then_some(t.last_pkt),
                Some(t.txhash),
                Some(t.app),
            ),
            None => (0, None, None, None),
        };
        let mut m = ctx.new_meta(flow, parent);
        m.hash = txhash;
        m.owner = app.map(|a| self.owner_uid(a));
        ctx.out.push(Output::send_local(ip, m, Some(note)));
    }

    /// `skb_still_in_host_queue` (net/ipv4/tcp_output.c, called by
    /// `__tcp_retransmit_skb`): the last copy of the segment at `seq` still
    /// waits below TCP (here: in a neighbour's ARP queue, the fclone held),
    /// so a retransmission is skipped (-EBUSY) while the timer backs off as
    /// after a send. Simplification: the queued copy is recognised by its
    /// source port, sequence number and SYN flag (a source NAT of a local
    /// port would hide it). Returns the neighbour it waits for.
    fn still_in_host_queue(&self, key: &ConnKey, seq: u32, syn: bool) -> Option<String> {
        self.neigh.entries.iter().find_map(|((dev, nh), e)| {
            e.queue
                .iter()
                .any(|p| match &p.ip.l4 {
                    L4::Tcp { hdr, .. } => {
                        hdr.source_port == key.1
                            && hdr.sequence_number == seq
                            && hdr.syn == syn
                            && self.is_local(p.ip.src())
                            && IpAddr::V4(p.ip.src()) == key.0
                    }
                    _ => false,
                })
                .then(|| format!("{nh} on {}", self.devs[*dev].name))
        })
    }

    /// A skipped retransmission, on the run's timeline (no packet carries it).
    fn retransmit_skipped(&self, ctx: &mut Ctx, key: &ConnKey, what: &str, nh: &str) {
        ctx.out.push(Output::Event {
            what: format!(
                "{}: tcp {}: {what} not sent: the previous copy still waits for the neighbour {nh} (skb_still_in_host_queue)",
                self.name,
                key_str(key)
            ),
        });
    }

    /// The route side of `connect()` (ip_route_connect, ip6_dst_lookup
    /// for IPv6): a bound source must be the host's own (EADDRNOTAVAIL
    /// unless `net.ipv4.ip_nonlocal_bind`), the route gives the source
    /// address (the bound one, the route's `src`, else the device's as
    /// `inet_select_addr` or `ipv6_dev_get_saddr` picks it) and the MSS
    /// its device allows (`tcp_mss_to_mtu`: the MTU less 40 bytes of IPv4
    /// and TCP headers, 60 with IPv6's). TCP and SCTP connect the same way.
    pub(crate) fn connect_route(
        &self,
        dst: IpAddr,
        dport: u16,
        bind: Option<IpAddr>,
    ) -> Result<(IpAddr, u16), ConnectError> {
        if let Some(a) = bind {
            if a.is_ipv4() != dst.is_ipv4() {
                return Err(ConnectError::FamilyMismatch {
                    addr: a,
                    dst,
                    dport,
                });
            }
            if !self.is_local_ip(a) && self.sysctl.int("net.ipv4.ip_nonlocal_bind") == 0 {
                return Err(ConnectError::BindNotLocal { addr: a });
            }
        }
        let (rtype, dev, via, rsrc) = match dst {
            IpAddr::V4(d) => {
                let key = FlowKey {
                    dst: Some(d),
                    src: bind.and_then(|b| match b {
                        IpAddr::V4(b) => Some(b),
                        IpAddr::V6(_) => None,
                    }),
                    ..Default::default()
                };
                let l = self
                    .fib
                    .lookup(&key, None)
                    .map_err(|_| ConnectError::NoRoute { dst, dport })?;
                let r = l.route;
                (r.rtype, r.dev, r.via.map(IpAddr::V4), r.src.map(IpAddr::V4))
            }
            IpAddr::V6(d) => {
                let f = self
                    .ip6
                    .fib
                    .lookup(d)
                    .ok_or(ConnectError::NoRoute { dst, dport })?;
                let r = f.route;
                (r.rtype, r.dev, r.via.map(IpAddr::V6), None)
            }
        };
        let hdrs = if dst.is_ipv4() { 40 } else { 60 };
        Ok(match (rtype, dev) {
            // lo: 65535 (IP_MAX_MTU) less 40; IPv6's 65536 less 60
            (RouteType::Local, _) => (
                bind.unwrap_or(dst),
                if dst.is_ipv4() { 65495 } else { 65476 },
            ),
            (RouteType::Unicast, Some(d)) => {
                let nh = via.unwrap_or(dst);
                let s = bind
                    .or(rsrc)
                    .or_else(|| match (nh, dst) {
                        (IpAddr::V4(nh), _) => self.select_src(d, nh).map(IpAddr::V4),
                        (_, IpAddr::V6(dst)) => self.ip6_saddr(dst, Some(d)).map(IpAddr::V6),
                        _ => None,
                    })
                    .ok_or(ConnectError::NoSource { dst, dport })?;
                (
                    s,
                    self.devs[d].mtu.saturating_sub(hdrs as u32).min(65495) as u16,
                )
            }
            (t, _) => {
                return Err(ConnectError::Unreachable {
                    dst,
                    dport,
                    rtype: t.name(),
                })
            }
        })
    }

    /// The MSS a listener offers a peer at `peer` (`tcp_mss_clamp` of the
    /// route's `advmss`: the device MTU less the headers), 1460 without a
    /// route.
    fn route_mss(&self, peer: IpAddr) -> u16 {
        let dev = match peer {
            IpAddr::V4(p) => self
                .fib
                .lookup(
                    &FlowKey {
                        dst: Some(p),
                        ..Default::default()
                    },
                    None,
                )
                .ok()
                .and_then(|l| l.route.dev),
            IpAddr::V6(p) => self.ip6.fib.lookup(p).and_then(|f| f.route.dev),
        };
        let hdrs = if peer.is_ipv4() { 40 } else { 60 };
        dev.map(|d| self.devs[d].mtu.saturating_sub(hdrs).min(65495) as u16)
            .unwrap_or(1460)
    }

    /// `connect()`: picks the source address from the route and an ephemeral
    /// port from `ip_local_port_range`, sends the SYN.
    pub fn tcp_connect(
        &mut self,
        ctx: &mut Ctx,
        app: usize,
        flow: u32,
        dst: IpAddr,
        dport: u16,
    ) -> Result<ConnKey, ConnectError> {
        self.tcp_connect_from(ctx, app, flow, dst, dport, None, None)
    }

    /// `bind(src, sport)` then `connect(dst, dport)`: a bound source
    /// address must be the host's own (inet_bind: EADDRNOTAVAIL unless
    /// `net.ipv4.ip_nonlocal_bind`) and takes part in the route lookup
    /// (ip_route_connect with the bound saddr, so `ip rule from` applies);
    /// a bound port must be free (EADDRINUSE), else an ephemeral port is
    /// drawn.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp_connect_from(
        &mut self,
        ctx: &mut Ctx,
        app: usize,
        flow: u32,
        dst: IpAddr,
        dport: u16,
        bind: Option<IpAddr>,
        sport: Option<u16>,
    ) -> Result<ConnKey, ConnectError> {
        let (src, mss) = self.connect_route(dst, dport, bind)?;
        if let Some(p) = sport {
            if self.tcp.listeners.contains_key(&p)
                || self.tcp.conns.keys().any(|k| k.1 == p && k.0 == src)
            {
                return Err(ConnectError::BindInUse { port: p });
            }
        }
        let (lo, hi) = self.sysctl.port_range();
        let span = (hi - lo) as u32 + 1;
        let start = if sport.is_some() {
            0
        } else {
            self.draw(ctx.trace, Some(flow)) % span
        };
        let mut port = sport;
        for i in 0..span {
            if port.is_some() {
                break;
            }
            let p = lo + ((start + i) % span) as u16;
            if !self.tcp.conns.contains_key(&(src, p, dst, dport))
                && !self.tcp.listeners.contains_key(&p)
            {
                port = Some(p);
                break;
            }
        }
        let sport = port.ok_or(ConnectError::NoFreePort)?;
        let k = (src, sport, dst, dport);
        let iss = self.draw(ctx.trace, Some(flow));
        let txhash = self.draw(ctx.trace, Some(flow));
        let mut tcb = Tcb::new(TcpState::SynSent, iss, app, flow, mss, txhash);
        tcb.syn_sent_ns = ctx.now;
        tcb.opts = self.tcp_syn_opts();
        tcb.ts_off = self.tcp_ts_off(src, dst);
        tcb.rcv_wscale = self.sysctl.tcp_rcv_wscale();
        self.tcp.conns.insert(k, tcb);
        let syn = self.tcp_seg(&k, iss, None, "S", vec![], Some(mss), ctx.now);
        self.tcp_out(
            ctx,
            &k,
            syn,
            format!(
                "connect() from {} to {}: SYN",
                endpoint(src, sport),
                endpoint(dst, dport)
            ),
        );
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + INITIAL_RTO_NS,
            timer: HostTimer::Tcp { key: k, gen: 0 },
        });
        Ok(k)
    }

    /// The retransmission timer: the SYN in SYN-SENT, else the oldest
    /// unacknowledged segment.
    pub fn tcp_timer(&mut self, ctx: &mut Ctx, key: ConnKey, gen: u64) {
        let retries = self.sysctl.int("net.ipv4.tcp_syn_retries").max(0) as u32;
        let linear = self.sysctl.int("net.ipv4.tcp_syn_linear_timeouts").max(0) as u32;
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        if t.gen != gen {
            return;
        }
        if t.state != TcpState::SynSent {
            if t.rtx.is_empty() {
                return;
            }
            let retries2 = self.sysctl.int("net.ipv4.tcp_retries2").max(0) as u32;
            let t = self.tcp.conns.get_mut(&key).expect("present");
            t.rtx_tries += 1;
            if t.rtx_tries > retries2 {
                let (app, tries) = (t.app, t.rtx_tries);
                self.tcp.conns.remove(&key);
                // no packet carries this: it goes on the run's timeline
                ctx.out.push(Output::Event {
                    what: format!(
                        "{}: tcp {}: {} retransmissions unanswered (tcp_retries2 {retries2}): connection aborted (ETIMEDOUT)",
                        self.name,
                        key_str(&key),
                        tries - 1
                    ),
                });
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: AppEvent::TimedOut {
                        key,
                        tries,
                        data: true,
                    },
                });
                return;
            }
            // tcp_retransmit_timer: back off, enter Loss, resend the head
            t.rto_ns = (t.rto_ns * 2).min(RTO_MAX_NS);
            t.in_loss = true;
            t.gen += 1;
            let (g, rto, n) = (t.gen, t.rto_ns, t.rtx_tries);
            self.tcp_retransmit_head(
                ctx,
                key,
                format!(
                    "RTO expired: retransmission #{n} (RTO now {} ms)",
                    rto / 1_000_000
                ),
            );
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + rto,
                timer: HostTimer::Tcp { key, gen: g },
            });
            return;
        }
        t.syn_tries += 1;
        if t.syn_tries > retries {
            let app = t.app;
            let tries = t.syn_tries;
            self.tcp.conns.remove(&key);
            ctx.out.push(Output::Socket {
                owner: app,
                ev: AppEvent::TimedOut {
                    key,
                    tries,
                    data: false,
                },
            });
            return;
        }
        // tcp_retransmit_timer: the first `tcp_syn_linear_timeouts` SYN
        // retransmissions keep the initial RTO; after that it doubles.
        if t.syn_tries > linear {
            t.rto_ns *= 2;
        }
        t.gen += 1;
        let (iss, rto, g, n) = (t.iss, t.rto_ns, t.gen, t.syn_tries);
        let mss = t.mss;
        if let Some(nh) = self.still_in_host_queue(&key, iss, true) {
            self.retransmit_skipped(ctx, &key, &format!("SYN retransmission #{n}"), &nh);
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + rto,
                timer: HostTimer::Tcp { key, gen: g },
            });
            return;
        }
        let syn = self.tcp_seg(&key, iss, None, "S", vec![], Some(mss), ctx.now);
        self.tcp_out(
            ctx,
            &key,
            syn,
            format!(
                "SYN retransmission #{n} (no answer; RTO now {} s)",
                rto / 1_000_000_000
            ),
        );
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + rto,
            timer: HostTimer::Tcp { key, gen: g },
        });
    }

    pub fn tcp_send(&mut self, ctx: &mut Ctx, key: ConnKey, data: &[u8]) {
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        // tcp_event_data_sent: a reply within ato of the last data received
        // makes the connection interactive (pingpong): ACKs are delayed.
        if t.ato_ns > 0 && ctx.now.saturating_sub(t.lrcv_ns) < t.ato_ns {
            t.pingpong = true;
        }
        // tcp_current_mss: the MSS less the options every segment carries
        let mss = t.mss.saturating_sub(sock::opt_len(&t.opts)).max(1) as usize;
        let chunks: Vec<Vec<u8>> = data.chunks(mss).map(|c| c.to_vec()).collect();
        let n = chunks.len();
        for (i, c) in chunks.into_iter().enumerate() {
            let t = self.tcp.conns.get_mut(&key).expect("present");
            let seq = t.snd_nxt;
            let ack = t.rcv_nxt;
            t.snd_nxt = t.snd_nxt.wrapping_add(c.len() as u32);
            t.ack_pending = false;
            let len = c.len();
            self.tcp_queue(
                ctx,
                key,
                Unacked {
                    seq,
                    payload: c.clone(),
                    fin: false,
                    psh: i + 1 == n,
                    sent_ns: ctx.now,
                    retransmitted: false,
                },
            );
            let seg = self.tcp_seg(
                &key,
                seq,
                Some(ack),
                if i + 1 == n { "P" } else { "" },
                c,
                None,
                ctx.now,
            );
            self.tcp_out(
                ctx,
                &key,
                seg,
                format!("send {len} bytes on {}", key_str(&key)),
            );
        }
    }

    /// close() by a client that gives up (`curl -m`): in SYN-SENT the
    /// socket goes and nothing is sent (tcp_close: tcp_set_state
    /// TCP_CLOSE), else as [`Self::tcp_close`].
    pub fn tcp_give_up(&mut self, ctx: &mut Ctx, key: ConnKey) {
        if self
            .tcp
            .conns
            .get(&key)
            .is_some_and(|t| t.state == TcpState::SynSent)
        {
            self.tcp.conns.remove(&key);
            return;
        }
        self.tcp_close(ctx, key)
    }

    pub fn tcp_close(&mut self, ctx: &mut Ctx, key: ConnKey) {
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        let next = match t.state {
            TcpState::Established | TcpState::SynRecv => TcpState::FinWait1,
            TcpState::CloseWait => TcpState::LastAck,
            _ => return,
        };
        t.state = next;
        let seq = t.snd_nxt;
        let ack = t.rcv_nxt;
        t.snd_nxt = t.snd_nxt.wrapping_add(1);
        t.ack_pending = false;
        self.tcp_queue(
            ctx,
            key,
            Unacked {
                seq,
                payload: vec![],
                fin: true,
                psh: false,
                sent_ns: ctx.now,
                retransmitted: false,
            },
        );
        let fin = self.tcp_seg(&key, seq, Some(ack), "F", vec![], None, ctx.now);
        self.tcp_out(ctx, &key, fin, format!("close(): FIN, {}", next.name()));
    }

    /// shutdown(SHUT_WR) (`tcp_shutdown`): the FIN of close(), the socket
    /// still open for reading: the peer's FIN in FIN-WAIT is an EOF to
    /// the application.
    pub fn tcp_shutdown(&mut self, ctx: &mut Ctx, key: ConnKey) {
        if let Some(t) = self.tcp.conns.get_mut(&key) {
            t.shut_wr = true;
        }
        self.tcp_close(ctx, key);
    }

    /// close() with SO_LINGER {1, 0} (`tcp_disconnect` ->
    /// `tcp_send_active_reset`): an RST carrying ACK, from SND.NXT, and the
    /// connection is gone.
    pub fn tcp_abort(&mut self, ctx: &mut Ctx, key: ConnKey) {
        let Some(t) = self.tcp.conns.get(&key) else {
            return;
        };
        // tcp_need_reset(): only these states answer with an RST
        let reset = matches!(
            t.state,
            TcpState::Established
                | TcpState::CloseWait
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::SynRecv
        );
        if !reset {
            self.tcp.conns.remove(&key);
            return;
        }
        let (seq, ack) = (t.snd_nxt, t.rcv_nxt);
        let rst = self.tcp_seg(&key, seq, Some(ack), "R", vec![], None, ctx.now);
        self.tcp_out(ctx, &key, rst, "close() without lingering: RST".into());
        self.tcp.conns.remove(&key);
    }

    /// Puts a segment on the retransmit queue; the first one arms the timer
    /// (`tcp_event_new_data_sent` -> `tcp_rearm_rto`).
    fn tcp_queue(&mut self, ctx: &mut Ctx, key: ConnKey, u: Unacked) {
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        let was_empty = t.rtx.is_empty();
        t.rtx.push_back(u);
        if was_empty {
            t.gen += 1;
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + t.rto_ns,
                timer: HostTimer::Tcp { key, gen: t.gen },
            });
        }
    }

    /// Sends the oldest unacknowledged segment again (`tcp_retransmit_skb`).
    fn tcp_retransmit_head(&mut self, ctx: &mut Ctx, key: ConnKey, note: String) {
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        let ack = t.rcv_nxt;
        let Some(u) = t.rtx.front() else {
            return;
        };
        let seq = u.seq;
        if let Some(nh) = self.still_in_host_queue(&key, seq, false) {
            self.retransmit_skipped(ctx, &key, &note, &nh);
            return;
        }
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        let Some(u) = t.rtx.front_mut() else {
            return;
        };
        u.retransmitted = true;
        u.sent_ns = ctx.now;
        let (seq, payload, fin, psh) = (u.seq, u.payload.clone(), u.fin, u.psh);
        t.ack_pending = false;
        let flags = match (fin, psh) {
            (true, _) => "F",
            (false, true) => "P",
            _ => "",
        };
        let what = if fin {
            "FIN".to_string()
        } else {
            format!("{} bytes at seq {}", payload.len(), seq.wrapping_sub(t.iss))
        };
        let seg = self.tcp_seg(&key, seq, Some(ack), flags, payload, None, ctx.now);
        self.tcp_out(ctx, &key, seg, format!("{note}: {what}"));
    }

    /// The delayed-ACK timer (`tcp_delack_timer`).
    pub fn tcp_delack(&mut self, ctx: &mut Ctx, key: ConnKey, gen: u64) {
        let Some(t) = self.tcp.conns.get(&key) else {
            return;
        };
        if t.delack_gen == gen && t.ack_pending {
            self.tcp_ack_if_pending(ctx, key);
        }
    }

    /// Sends the ACK the socket owes, now.
    pub fn tcp_ack_if_pending(&mut self, ctx: &mut Ctx, key: ConnKey) {
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        if !t.ack_pending {
            return;
        }
        t.ack_pending = false;
        let (seq, ack) = (t.snd_nxt, t.rcv_nxt);
        let a = self.tcp_seg(&key, seq, Some(ack), "", vec![], None, ctx.now);
        self.tcp_out(ctx, &key, a, "ACK".into());
    }

    /// `tcp_v4_rcv` and `tcp_v6_rcv`: a segment for this host.
    pub(crate) fn tcp_rcv(&mut self, ctx: &mut Ctx, ip: IpRepr, meta: Meta) {
        let L4::Tcp { hdr, payload } = ip.l4() else {
            return;
        };
        if let IpAddr::V4(d) = ip.dst() {
            if self.is_broadcast_dst(d) {
                // tcp_v4_rcv: a segment not addressed to this host alone
                // (pkt_type != PACKET_HOST) goes to discard_it: no socket, no
                // RST (tcp_v4_send_reset answers only RTN_LOCAL).
                self.drop(
                    ctx,
                    Point::Tcp,
                    format!("TCP segment to the broadcast address {d}: discarded (tcp_v4_rcv)"),
                    &crate::net::netfilter::ct_glue::CtInfo::default(),
                );
                return;
            }
        }
        let key: ConnKey = (ip.dst(), hdr.destination_port, ip.src(), hdr.source_port);
        let s = Seg {
            ip: &ip,
            hdr,
            payload,
            key,
            meta,
        };
        if !self.tcp.conns.contains_key(&key) {
            // a listener TPROXY assigned (skb_steal_sock): the packet goes
            // to it whatever its own destination is
            let stolen = meta.sk.filter(|k| k.proto == 6 && k.listener);
            let lport = stolen.map_or(hdr.destination_port, |k| k.port);
            let listener = self.tcp.listeners.get(&lport).copied();
            match listener {
                Some((_, app)) if hdr.syn && !hdr.ack && stolen.is_some() => {
                    self.tcp_conn_request(ctx, &s, app, lport)
                }
                Some((bound, app))
                    if hdr.syn && !hdr.ack && sock::listener_takes(bound, ip.dst()) =>
                {
                    self.tcp_conn_request(ctx, &s, app, lport)
                }
                _ => self.tcp_v4_send_reset(ctx, &s),
            }
            return;
        }
        let t = self.tcp.conns.get_mut(&key).expect("checked");
        t.last_pkt = meta.pkt;
        // tcp_store_ts_recent (RFC 7323 §4.3): the TSval of a segment that
        // starts at or before the next expected byte
        if t.opts.ts && t.state != TcpState::SynSent {
            let (_, v) = peer_opts(hdr);
            let inwin = hdr.sequence_number.wrapping_sub(t.rcv_nxt) as i32 <= 0;
            if inwin && peer_opts(hdr).0.ts {
                t.ts_recent = v;
            }
        }
        let app = t.app;
        let before = t.state;
        let sock = format!("tcp {}", key_str(&key));
        if hdr.rst {
            self.tcp_reset(ctx, key, sock, app);
            return;
        }
        let mut w = RcvWork::default();
        let go_on = if t.state == TcpState::SynSent {
            self.tcp_rcv_synsent_state_process(ctx, &s, &mut w)
        } else {
            self.tcp_rcv_state_process(ctx, &s, &sock, app, &mut w)
        };
        if !go_on {
            return;
        }
        self.tcp_rcv_trace(ctx, key, before, payload.len(), sock);
        self.tcp_ack_snd_check(ctx, key, w.ack_now);
        if w.release_next {
            self.tcp_retransmit_head(
                ctx,
                key,
                "Loss state: ACK advanced, next lost segment".into(),
            );
        }
        for ev in w.events {
            ctx.out.push(Output::Socket { owner: app, ev });
        }
    }

    /// `tcp_v4_conn_request`: a SYN to a listening socket makes a SYN-RECV
    /// socket (MSS the smaller of the peer's and the route's) and answers
    /// SYN-ACK.
    fn tcp_conn_request(&mut self, ctx: &mut Ctx, s: &Seg, app: usize, lport: u16) {
        let (ip, hdr, key, meta) = (s.ip, s.hdr, s.key, s.meta);
        let seq = hdr.sequence_number;
        let mss_peer = hdr.options_iterator().find_map(|o| match o {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
            _ => None,
        });
        let our_mss = self.route_mss(ip.src());
        let iss = self.draw(ctx.trace, Some(meta.flow));
        let txhash = self.draw(ctx.trace, Some(meta.flow));
        let mut tcb = Tcb::new(
            TcpState::SynRecv,
            iss,
            app,
            meta.flow,
            mss_peer.unwrap_or(536).min(our_mss),
            txhash,
        );
        tcb.rcv_nxt = seq.wrapping_add(1);
        tcb.lrcv_ns = ctx.now;
        tcb.last_pkt = meta.pkt;
        tcb.syn_sent_ns = ctx.now;
        // tcp_openreq_init / tcp_parse_options: what the SYN offers and
        // this host's sysctls allow
        let (peer, ts_peer) = peer_opts(hdr);
        let mine = self.tcp_syn_opts();
        tcb.opts = SynOpts {
            ts: mine.ts && peer.ts,
            sack: mine.sack && peer.sack,
            wscale: mine.wscale && peer.wscale,
        };
        tcb.ts_recent = ts_peer;
        tcb.ts_off = self.tcp_ts_off(ip.dst(), ip.src());
        tcb.rcv_wscale = self.sysctl.tcp_rcv_wscale();
        // inet_csk_clone_lock: the child inherits IP_TRANSPARENT
        tcb.transparent = self.transparent.contains(&(6, lport));
        self.tcp.conns.insert(key, tcb);
        let what = if lport != hdr.destination_port {
            format!(
                "SYN assigned by TPROXY to the transparent listener *:{lport} ({}): SYN-RECV with local address {}:{} (the original destination), answering SYN-ACK",
                self.owner_name(app),
                ip.dst(),
                hdr.destination_port
            )
        } else {
            format!(
                "SYN to listening socket *:{} ({}): SYN-RECV, answering SYN-ACK",
                hdr.destination_port,
                self.owner_name(app)
            )
        };
        ctx.trace.step(
            Point::Tcp,
            what,
            Action::Deliver {
                socket: format!("tcp *:{lport} LISTEN"),
            },
        );
        let synack = self.tcp_seg(
            &key,
            iss,
            Some(seq.wrapping_add(1)),
            "S",
            vec![],
            Some(our_mss),
            ctx.now,
        );
        self.tcp_out(ctx, &key, synack, "SYN-ACK".into());
    }

    /// `tcp_v4_send_reset` and `tcp_v6_send_reset`: no socket for the
    /// segment: answer RST (an RST itself is ignored).
    fn tcp_v4_send_reset(&mut self, ctx: &mut Ctx, s: &Seg) {
        let (hdr, payload, key, meta) = (s.hdr, s.payload, s.key, s.meta);
        let seq = hdr.sequence_number;
        if hdr.rst {
            ctx.trace.step(
                Point::Tcp,
                "RST for no socket: ignored".into(),
                Action::Info,
            );
            return;
        }
        ctx.trace.step(
            Point::Tcp,
            format!("no socket for {}: answering RST", key_str(&key)),
            Action::Reject {
                with: "tcp-reset".into(),
            },
        );
        let (rseq, rack, flags) = if hdr.ack {
            (hdr.acknowledgment_number, None, "R")
        } else {
            let l = payload.len() as u32 + hdr.syn as u32 + hdr.fin as u32;
            (0, Some(seq.wrapping_add(l)), "R")
        };
        let rst = self.tcp_seg(&key, rseq, rack, flags, vec![], None, ctx.now);
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::send_local(
            rst,
            m,
            Some("RST: connection refused".into()),
        ));
    }

    /// `tcp_reset`: an RST received: the socket goes, the application
    /// hears refused (in SYN-SENT) or reset.
    fn tcp_reset(&mut self, ctx: &mut Ctx, key: ConnKey, sock: String, app: usize) {
        let st = self.tcp.conns.get(&key).expect("checked").state;
        self.tcp.conns.remove(&key);
        ctx.trace.step(
            Point::Tcp,
            format!("RST received in {}: connection reset", st.name()),
            Action::Deliver { socket: sock },
        );
        let ev = if st == TcpState::SynSent {
            AppEvent::Refused {
                key,
                why: "connection refused (RST)".into(),
            }
        } else {
            AppEvent::Reset { key }
        };
        ctx.out.push(Output::Socket { owner: app, ev });
    }

    /// `tcp_rcv_synsent_state_process`: the SYN-ACK of our SYN establishes
    /// the connection (RTT sample, the peer's MSS, the ACK at once);
    /// anything else is ignored (false: nothing more to do).
    fn tcp_rcv_synsent_state_process(&mut self, ctx: &mut Ctx, s: &Seg, w: &mut RcvWork) -> bool {
        let (hdr, key) = (s.hdr, s.key);
        let seq = hdr.sequence_number;
        let t = self.tcp.conns.get_mut(&key).expect("checked");
        if hdr.syn && hdr.ack && hdr.acknowledgment_number == t.iss.wrapping_add(1) {
            t.rcv_nxt = seq.wrapping_add(1);
            t.snd_una = hdr.acknowledgment_number;
            t.state = TcpState::Established;
            t.gen += 1;
            if t.syn_tries == 0 {
                // tcp_synack_rtt_meas; Karn: not after a retransmitted SYN
                t.rtt_sample(ctx.now - t.syn_sent_ns);
            } else {
                // tcp_init_metrics: no sample from the handshake (RFC
                // 6298 5.7): RTO 3 s
                t.rto_ns = TIMEOUT_FALLBACK_NS;
            }
            if let Some(m) = hdr.options_iterator().find_map(|o| match o {
                Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                _ => None,
            }) {
                t.mss = t.mss.min(m);
            }
            // tcp_rcv_synsent_state_process: an option holds when the
            // SYN-ACK carries it back
            let (peer, ts_peer) = peer_opts(hdr);
            t.opts = SynOpts {
                ts: t.opts.ts && peer.ts,
                sack: t.opts.sack && peer.sack,
                wscale: t.opts.wscale && peer.wscale,
            };
            t.ts_recent = ts_peer;
            // tcp_rcv_synsent_state_process: the handshake's ACK goes at
            // once, unless TCP_QUICKACK was turned off (pingpong mode): then
            // it waits for the delayed-ACK timer (the kernel's is
            // TCP_DELACK_MAX there; podpath arms its usual ATO_MIN)
            t.ack_pending = true;
            w.ack_now = !t.quickack_off;
            w.events.push(AppEvent::Connected { key });
            true
        } else {
            ctx.trace.step(
                Point::Tcp,
                "unexpected segment in SYN-SENT: ignored".into(),
                Action::Info,
            );
            false
        }
    }

    /// `tcp_rcv_state_process` past SYN-SENT: the peer's SYN again in
    /// SYN-RECV, then the ACK (`tcp_ack`), the state changes it makes, the
    /// data (`tcp_data_queue`) and the FIN (`tcp_fin`). False when nothing
    /// more is to be done (the SYN-ACK was resent, or the socket closed).
    fn tcp_rcv_state_process(
        &mut self,
        ctx: &mut Ctx,
        s: &Seg,
        sock: &str,
        app: usize,
        w: &mut RcvWork,
    ) -> bool {
        let (hdr, key) = (s.hdr, s.key);
        let t = self.tcp.conns.get_mut(&key).expect("checked");
        if t.state == TcpState::SynRecv && hdr.syn && !hdr.ack {
            self.tcp_check_req_syn_again(ctx, s);
            return false;
        }
        if hdr.syn {
            // A retransmitted SYN or SYN-ACK: answer with the current ACK.
            t.ack_pending = true;
            w.ack_now = true;
        }
        if hdr.ack && hdr.acknowledgment_number.wrapping_sub(t.snd_una) as i32 > 0 {
            self.tcp_ack(ctx, s, w);
        }
        let t = self.tcp.conns.get_mut(&key).expect("present");
        let fin_acked = hdr.ack && hdr.acknowledgment_number == t.snd_nxt;
        if !self.tcp_ack_state(ctx, s, fin_acked, sock, app, w) {
            return false;
        }
        self.tcp_data_queue(ctx, s, w);
        self.tcp_fin(s, fin_acked, w);
        true
    }

    /// `tcp_check_req`: the peer's SYN again (our SYN-ACK was lost): send
    /// the SYN-ACK again (`inet_rtx_syn_ack`).
    fn tcp_check_req_syn_again(&mut self, ctx: &mut Ctx, s: &Seg) {
        let (key, meta) = (s.key, s.meta);
        let t = self.tcp.conns.get_mut(&key).expect("checked");
        // tcp_check_req: the peer's SYN again (our SYN-ACK was
        // lost): send the SYN-ACK again (inet_rtx_syn_ack)
        let (iss, rcv, mss) = (t.iss, t.rcv_nxt, t.mss);
        t.last_pkt = meta.pkt;
        ctx.trace.step(
            Point::Tcp,
            "retransmitted SYN in SYN-RECV: SYN-ACK again".into(),
            Action::Info,
        );
        // Karn: the handshake gives no RTT sample now
        t.syn_tries += 1;
        let synack = self.tcp_seg(&key, iss, Some(rcv), "S", vec![], Some(mss), ctx.now);
        self.tcp_out(ctx, &key, synack, "SYN-ACK (retransmitted)".into());
    }

    /// `tcp_ack` for an ACK that advances `snd_una`: the handshake's RTT
    /// sample in SYN-RECV, `tcp_clean_rtx_queue`, and the retransmission
    /// timer re-armed (in Loss, the next lost segment is released).
    fn tcp_ack(&mut self, ctx: &mut Ctx, s: &Seg, w: &mut RcvWork) {
        let (hdr, key) = (s.hdr, s.key);
        let t = self.tcp.conns.get_mut(&key).expect("checked");
        t.snd_una = hdr.acknowledgment_number;
        if t.state == TcpState::SynRecv
            && t.srtt_ns == 0
            && hdr.acknowledgment_number == t.iss.wrapping_add(1)
        {
            if t.syn_tries == 0 {
                t.rtt_sample(ctx.now - t.syn_sent_ns);
            } else {
                t.rto_ns = TIMEOUT_FALLBACK_NS;
            }
        }
        // tcp_clean_rtx_queue: drop what is acknowledged; one RTT
        // sample from the newest segment sent only once
        let mut sample = None;
        while let Some(u) = t.rtx.front() {
            if u.end().wrapping_sub(t.snd_una) as i32 > 0 {
                break;
            }
            if !u.retransmitted {
                sample = Some(ctx.now - u.sent_ns);
            }
            t.rtx.pop_front();
        }
        if let Some(m) = sample {
            t.rtt_sample(m);
        }
        t.rtx_tries = 0;
        t.gen += 1;
        if t.rtx.is_empty() {
            t.in_loss = false;
        } else {
            // tcp_rearm_rto; in Loss the next lost segment goes now
            let (g, rto) = (t.gen, t.rto_ns);
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + rto,
                timer: HostTimer::Tcp { key, gen: g },
            });
            w.release_next = t.in_loss && t.rtx.front().is_some_and(|u| !u.retransmitted);
        }
    }

    /// The state changes an ACK makes in `tcp_rcv_state_process`: SYN-RECV
    /// to ESTABLISHED (the connection is accepted), FIN-WAIT-1 to
    /// FIN-WAIT-2, CLOSING to TIME-WAIT, LAST-ACK closes the socket (false).
    fn tcp_ack_state(
        &mut self,
        ctx: &mut Ctx,
        s: &Seg,
        fin_acked: bool,
        sock: &str,
        app: usize,
        w: &mut RcvWork,
    ) -> bool {
        let (hdr, key) = (s.hdr, s.key);
        let t = self.tcp.conns.get_mut(&key).expect("present");
        match t.state {
            TcpState::SynRecv if hdr.ack && hdr.acknowledgment_number == t.snd_nxt => {
                t.state = TcpState::Established;
                let flow = t.flow;
                let orig_dst = self.original_dst(key, ctx.now);
                w.events.push(AppEvent::Accepted {
                    key,
                    orig_dst,
                    flow,
                });
            }
            TcpState::FinWait1 if fin_acked => t.state = TcpState::FinWait2,
            TcpState::Closing if fin_acked => t.state = TcpState::TimeWait,
            TcpState::LastAck if fin_acked => {
                self.tcp.conns.remove(&key);
                ctx.trace.step(
                    Point::Tcp,
                    "ACK of our FIN in LAST-ACK: socket closed".into(),
                    Action::Deliver {
                        socket: sock.to_string(),
                    },
                );
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: AppEvent::Closed { key },
                });
                return false;
            }
            _ => {}
        }
        true
    }

    /// `tcp_data_queue`: in-order data goes to the application (the first
    /// data starts quick-ACK mode); anything else is ACKed at once.
    fn tcp_data_queue(&mut self, ctx: &mut Ctx, s: &Seg, w: &mut RcvWork) {
        let (hdr, payload, key) = (s.hdr, s.payload, s.key);
        let seq = hdr.sequence_number;
        let t = self.tcp.conns.get_mut(&key).expect("present");
        let end = seq.wrapping_add(payload.len() as u32);
        // tcp_data_queue: a segment that starts before RCV.NXT and ends
        // past it holds new data after the copy: D-SACK the copy, keep the
        // rest
        let (seq, payload) =
            if !payload.is_empty() && seq_before(seq, t.rcv_nxt) && seq_before(t.rcv_nxt, end) {
                if t.opts.sack {
                    t.dsack = Some((seq, t.rcv_nxt));
                }
                let skip = t.rcv_nxt.wrapping_sub(seq) as usize;
                (t.rcv_nxt, &payload[skip..])
            } else {
                (seq, payload)
            };
        if !payload.is_empty() {
            if seq == t.rcv_nxt {
                t.rcv_nxt = t.rcv_nxt.wrapping_add(payload.len() as u32);
                t.ack_pending = true;
                // tcp_event_data_recv: the first data starts quick-ACK mode.
                if t.ato_ns == 0 {
                    t.ato_ns = ATO_MIN_NS;
                    t.quick = MAX_QUICKACKS;
                }
                t.lrcv_ns = ctx.now;
                if t.quick > 0 && !t.pingpong {
                    t.quick -= 1;
                    w.ack_now = true;
                }
                let mut data = payload.to_vec();
                // tcp_ofo_queue: the hole is filled, what waited past it
                // follows; RFC 5681 4.2: an ACK at once when the gap closes
                // or data still waits (__tcp_ack_snd_check)
                if !t.ofo.is_empty() {
                    w.ack_now = true;
                    let mut segs = std::mem::take(&mut t.ofo);
                    segs.sort_by_key(|s| s.seq.wrapping_sub(t.rcv_nxt));
                    for s in segs {
                        let send = s.seq.wrapping_add(s.data.len() as u32);
                        if seq_before(t.rcv_nxt, s.seq) {
                            t.ofo.push(s);
                        } else if seq_before(t.rcv_nxt, send) {
                            let skip = t.rcv_nxt.wrapping_sub(s.seq) as usize;
                            data.extend_from_slice(&s.data[skip..]);
                            t.rcv_nxt = send;
                        }
                    }
                }
                w.events.push(AppEvent::Data { key, data });
            } else if seq_before(t.rcv_nxt, seq) {
                // tcp_data_queue_ofo: past a hole: held, and ACKed at
                // once with its SACK block. Simplification: a FIN on
                // such a segment is not held (it comes again).
                t.ofo_rx += 1;
                let rx = t.ofo_rx;
                if !t
                    .ofo
                    .iter()
                    .any(|o| o.seq == seq && o.data.len() >= payload.len())
                {
                    t.ofo.retain(|o| o.seq != seq);
                    t.ofo.push(OfoSeg {
                        seq,
                        data: payload.to_vec(),
                        rx,
                    });
                } else if t.opts.sack {
                    t.dsack = Some((seq, seq.wrapping_add(payload.len() as u32)));
                }
                t.ack_pending = true;
                w.ack_now = true;
            } else {
                // a copy of data already received (a retransmission):
                // D-SACK it (tcp_dsack_set) and ACK at once
                if t.opts.sack {
                    t.dsack = Some((seq, seq.wrapping_add(payload.len() as u32)));
                }
                t.ack_pending = true;
                w.ack_now = true;
            }
        }
    }

    /// `tcp_fin`: the peer's FIN in sequence moves the state (CLOSE-WAIT
    /// with EOF to the application, CLOSING or TIME-WAIT); a FIN again or
    /// past a hole is ACKed at once.
    fn tcp_fin(&mut self, s: &Seg, fin_acked: bool, w: &mut RcvWork) {
        let (hdr, payload, key) = (s.hdr, s.payload, s.key);
        let seq = hdr.sequence_number;
        let t = self.tcp.conns.get_mut(&key).expect("present");
        if hdr.fin && seq.wrapping_add(payload.len() as u32) != t.rcv_nxt {
            // a FIN again (our ACK was lost) or past a hole: ACK what we
            // have at once (tcp_send_dupack; TIME-WAIT re-ACKs the FIN)
            t.ack_pending = true;
            w.ack_now = true;
        } else if hdr.fin {
            t.rcv_nxt = t.rcv_nxt.wrapping_add(1);
            t.ack_pending = true;
            if t.state != TcpState::Established && t.state != TcpState::SynRecv {
                // tcp_fin in FIN-WAIT: ACK and go to TIME-WAIT/CLOSING now.
                w.ack_now = true;
            } else if t.quick > 0 && !t.pingpong {
                t.quick -= 1;
                w.ack_now = true;
            }
            t.state = match t.state {
                TcpState::Established | TcpState::SynRecv => {
                    w.events.push(AppEvent::Eof { key });
                    TcpState::CloseWait
                }
                TcpState::FinWait1 | TcpState::FinWait2 if t.shut_wr => {
                    // shut for writing only: the application reads the EOF
                    w.events.push(AppEvent::Eof { key });
                    if t.state == TcpState::FinWait2 || fin_acked {
                        TcpState::TimeWait
                    } else {
                        TcpState::Closing
                    }
                }
                TcpState::FinWait1 => {
                    if fin_acked {
                        TcpState::TimeWait
                    } else {
                        TcpState::Closing
                    }
                }
                TcpState::FinWait2 => TcpState::TimeWait,
                s => s,
            };
        }
    }

    /// The segment's step in the trace: the state change and the bytes
    /// handed to the application.
    fn tcp_rcv_trace(
        &mut self,
        ctx: &mut Ctx,
        key: ConnKey,
        before: TcpState,
        payload_len: usize,
        sock: String,
    ) {
        let t = self.tcp.conns.get(&key).expect("present");
        let after = t.state;
        let what = if before != after {
            format!(
                "{} -> {}{}",
                before.name(),
                after.name(),
                if payload_len == 0 {
                    String::new()
                } else {
                    format!(", {} bytes to the application", payload_len)
                }
            )
        } else if payload_len != 0 {
            format!("{}: {} bytes to the application", after.name(), payload_len)
        } else {
            format!("{}: ACK", after.name())
        };
        ctx.trace
            .step(Point::Tcp, what, Action::Deliver { socket: sock });
    }

    /// `__tcp_ack_snd_check`: the ACK now, or the delayed-ACK timer.
    fn tcp_ack_snd_check(&mut self, ctx: &mut Ctx, key: ConnKey, ack_now: bool) {
        if ack_now {
            self.tcp_ack_if_pending(ctx, key);
        } else if let Some(t) = self.tcp.conns.get_mut(&key) {
            if t.ack_pending {
                // Delayed ACK: the application may answer first and carry it.
                t.delack_gen += 1;
                let g = t.delack_gen;
                ctx.out.push(Output::Timer {
                    at_ns: ctx.now + ATO_MIN_NS,
                    timer: HostTimer::TcpDelack { key, gen: g },
                });
            }
        }
    }

    /// An ICMP error quoting one of our segments (`tcp_v4_err`).
    pub(crate) fn tcp_icmp_error(&mut self, ctx: &mut Ctx, t: &Tuple, i: &IcmpRepr, _meta: Meta) {
        if t.proto != 6 {
            return;
        }
        let key: ConnKey = (t.src, t.sport, t.dst, t.dport);
        let Some(tcb) = self.tcp.conns.get(&key) else {
            return;
        };
        let hard = i.icmp_type == icmp::DEST_UNREACH
            && matches!(
                i.code,
                icmp::CODE_PORT_UNREACH
                    | 2
                    | icmp::CODE_ADMIN_PROHIBITED
                    | icmp::CODE_HOST_PROHIBITED
                    | icmp::CODE_NET_PROHIBITED
            );
        // tcp_v4_err (net/ipv4/tcp_ipv4.c): a SYN-SENT socket takes any
        // destination unreachable (code <= NR_ICMP_UNREACH, fragmentation
        // needed aside) as its error: sk_err = icmp_err_convert[code].errno
        // (EHOSTUNREACH for host unreachable), tcp_done.
        let syn_sent_err =
            i.icmp_type == icmp::DEST_UNREACH && i.code <= 15 && i.code != icmp::CODE_FRAG_NEEDED;
        if tcb.state == TcpState::SynSent && (hard || syn_sent_err) {
            let app = tcb.app;
            self.tcp.conns.remove(&key);
            ctx.trace.step(
                Point::Tcp,
                format!("connect aborted by ICMP {i}"),
                Action::Info,
            );
            ctx.out.push(Output::Socket {
                owner: app,
                ev: AppEvent::Refused {
                    key,
                    // icmp_err_convert: net and host unreachable are
                    // ENETUNREACH and EHOSTUNREACH
                    why: match i.code {
                        icmp::CODE_NET_UNREACH if !hard => format!("ICMP {i} (ENETUNREACH)"),
                        icmp::CODE_HOST_UNREACH if !hard => format!("ICMP {i} (EHOSTUNREACH)"),
                        _ => format!("ICMP {i}"),
                    },
                },
            });
        } else {
            ctx.trace.step(
                Point::Tcp,
                format!("soft error ICMP {i}: the socket keeps retrying"),
                Action::Info,
            );
        }
        let _ = CtInfo::default();
    }

    /// `tcp_v6_err` (net/ipv6/tcp_ipv6.c): an ICMPv6 error quoting one of
    /// our segments. Packet Too Big runs `tcp_v6_mtu_reduced`: when the
    /// new path MTU's MSS is below the current one, `tcp_sync_mss` lowers
    /// it and `tcp_simple_retransmit` sends again, cut to the new MSS
    /// (`tcp_fragment`: the PSH stays on the last piece), every
    /// unacknowledged segment that no longer fits. Another error
    /// (`icmpv6_err_convert`) aborts a connect in SYN-SENT, drops a
    /// request socket when fatal (`tcp_req_err`), and is soft otherwise.
    /// Simplification: no congestion window, so every piece goes at once
    /// (Linux sends them while in flight stays under cwnd, 10 at first).
    pub(crate) fn tcp_v6_err(&mut self, ctx: &mut Ctx, key: ConnKey, m: &crate::wire::Icmpv6Repr) {
        use crate::wire::Icmpv6Repr as M;
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            ctx.trace.step(
                Point::Tcp,
                format!("ICMPv6 {m}: no TCP socket {}", key_str(&key)),
                Action::Info,
            );
            return;
        };
        if let M::PacketTooBig { mtu, .. } = m {
            let mss = ((*mtu).max(crate::wire::ipv6::IPV6_MIN_MTU as u32) - 60) as u16;
            if mss >= t.mss || t.state == TcpState::SynSent {
                ctx.trace.step(
                    Point::Tcp,
                    format!("packet too big (mtu {mtu}): MSS {} already fits", t.mss),
                    Action::Info,
                );
                return;
            }
            let was = t.mss;
            t.mss = mss;
            let room = mss.saturating_sub(sock::opt_len(&t.opts)).max(1) as usize;
            let mut queue = std::collections::VecDeque::new();
            let mut resend = Vec::new();
            for u in t.rtx.drain(..) {
                if u.payload.len() <= room {
                    queue.push_back(u);
                    continue;
                }
                let n = u.payload.len().div_ceil(room);
                for (i, c) in u.payload.chunks(room).enumerate() {
                    let last = i + 1 == n;
                    let off = (i * room) as u32;
                    let piece = Unacked {
                        seq: u.seq.wrapping_add(off),
                        payload: c.to_vec(),
                        fin: u.fin && last,
                        psh: u.psh && last,
                        sent_ns: ctx.now,
                        retransmitted: true,
                    };
                    resend.push(piece.clone());
                    queue.push_back(piece);
                }
            }
            t.rtx = queue;
            ctx.trace.step(
                Point::Tcp,
                format!(
                    "packet too big (mtu {mtu}): MSS {was} -> {mss}, {} segment(s) sent again cut to {room} bytes (tcp_v6_mtu_reduced, tcp_simple_retransmit)",
                    resend.len()
                ),
                Action::Info,
            );
            if resend.is_empty() {
                return;
            }
            t.gen += 1;
            let (ack, gen, rto) = (t.rcv_nxt, t.gen, t.rto_ns);
            t.ack_pending = false;
            for u in resend {
                let flags = match (u.fin, u.psh) {
                    (true, _) => "F",
                    (false, true) => "P",
                    _ => "",
                };
                let len = u.payload.len();
                let seg = self.tcp_seg(&key, u.seq, Some(ack), flags, u.payload, None, ctx.now);
                self.tcp_out(
                    ctx,
                    &key,
                    seg,
                    format!("path MTU lowered: {len} bytes again"),
                );
            }
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + rto,
                timer: HostTimer::Tcp { key, gen },
            });
            return;
        }
        // icmpv6_err_convert (net/ipv6/icmp.c): the errno, and whether fatal
        let (errno, fatal) = match m {
            M::DstUnreach { code, .. } => match *code {
                0 => ("ENETUNREACH", false),
                1 | 5 | 6 => ("EACCES", true),
                4 => ("ECONNREFUSED", true),
                _ => ("EHOSTUNREACH", false),
            },
            M::TimeExceeded { .. } => ("EHOSTUNREACH", false),
            M::ParamProblem { .. } => ("EPROTO", true),
            _ => return,
        };
        let (state, app) = (t.state, t.app);
        match state {
            TcpState::SynSent => {
                self.tcp.conns.remove(&key);
                ctx.trace.step(
                    Point::Tcp,
                    format!("connect aborted by ICMPv6 {m} ({errno})"),
                    Action::Info,
                );
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: AppEvent::Refused {
                        key,
                        why: format!("ICMPv6 {m} ({errno})"),
                    },
                });
            }
            TcpState::SynRecv if fatal => {
                self.tcp.conns.remove(&key);
                ctx.trace.step(
                    Point::Tcp,
                    format!("ICMPv6 {m} ({errno}): request socket dropped (tcp_req_err)"),
                    Action::Info,
                );
            }
            _ => ctx.trace.step(
                Point::Tcp,
                format!("soft error ICMPv6 {m} ({errno}): the socket keeps retrying"),
                Action::Info,
            ),
        }
    }
}
