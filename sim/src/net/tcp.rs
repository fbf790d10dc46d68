//! TCP (RFC 793/9293 as Linux runs it): listening sockets, the three-way
//! handshake with MSS, data with real sequence numbers, FIN/RST, SYN
//! retransmission (`tcp_syn_retries`; the first `tcp_syn_linear_timeouts`
//! retransmissions 1 s apart, as Linux 6.5+ does, then exponential), RST for
//! segments to closed ports, ICMP errors aborting a connect.
//!
//! ACKs follow Linux's delayed-ACK logic (`icsk_ack`): the handshake's ACK
//! goes at once; the first data segments of a connection are ACKed at once
//! (quick-ACK mode, up to 16); once a socket answers within `ato` (40 ms) of
//! receiving, it is interactive (pingpong) and its ACKs wait up to 40 ms for
//! data to ride on; FIN in FIN-WAIT is ACKed at once.
//!
//! Simplifications (listed by `podpath explain`): ato stays at its minimum
//! (no RTT-driven growth); a fixed receive window of 64240 bytes
//! without window scaling, SACK or timestamps; data segments are not
//! retransmitted (no loss outside fault scenarios); TIME_WAIT sockets stay
//! until the end of the run.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use etherparse::TcpOptionElement;
use rand_core::Rng;

use super::conntrack::Tuple;
use super::fib::{FlowKey, RouteType};
use super::host::{Ctx, Host, HostTimer, Meta, Output};
use super::ipv4::CtInfo;
use crate::app::AppEvent;
use crate::trace::Action;
use crate::wire::icmp::{self, IcmpRepr};
use crate::wire::{tcp_header, Ipv4Repr, L4};

/// (local address, local port, remote address, remote port)
pub type ConnKey = (Ipv4Addr, u16, Ipv4Addr, u16);

pub const WINDOW: u16 = 64240;
/// TCP_ATO_MIN and TCP_DELACK_MIN: 40 ms.
pub const ATO_MIN_NS: u64 = 40_000_000;
/// TCP_MAX_QUICKACKS.
pub const MAX_QUICKACKS: u32 = 16;
pub const INITIAL_RTO_NS: u64 = 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynRecv => "SYN-RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Tcb {
    pub state: TcpState,
    pub iss: u32,
    pub snd_una: u32,
    pub snd_nxt: u32,
    pub rcv_nxt: u32,
    pub mss: u16,
    pub app: usize,
    pub flow: u32,
    pub syn_tries: u32,
    pub rto_ns: u64,
    pub gen: u64,
    pub ack_pending: bool,
    /// Delayed-ACK state (`icsk_ack`): ato, quick-ACK budget, interactive
    /// (pingpong) mode, time of the last data received, timer generation.
    pub ato_ns: u64,
    pub quick: u32,
    pub pingpong: bool,
    pub lrcv_ns: u64,
    pub delack_gen: u64,
    /// `sk_txhash`: a random per-connection hash stamped on every packet.
    pub txhash: u32,
    /// The packet that last touched the socket (parent of what it sends).
    pub last_pkt: u64,
}

#[derive(Clone, Debug, Default)]
pub struct TcpStack {
    /// port -> (bound address or None for 0.0.0.0, app)
    pub listeners: BTreeMap<u16, (Option<Ipv4Addr>, usize)>,
    pub conns: BTreeMap<ConnKey, Tcb>,
}

fn key_str(k: &ConnKey) -> String {
    format!("{}:{} <-> {}:{}", k.0, k.1, k.2, k.3)
}

impl Host {
    fn tcp_seg(
        &mut self,
        key: &ConnKey,
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        payload: Vec<u8>,
        mss: Option<u16>,
    ) -> Ipv4Repr {
        let mut h = tcp_header(key.1, key.3, seq, ack, WINDOW);
        h.syn = flags.contains('S');
        h.fin = flags.contains('F');
        h.rst = flags.contains('R');
        h.psh = flags.contains('P');
        if let Some(m) = mss {
            let _ = h.set_options(&[TcpOptionElement::MaximumSegmentSize(m)]);
        }
        let id = self.next_ip_id();
        Ipv4Repr::new(
            key.0,
            key.2,
            self.sysctl.int("net.ipv4.ip_default_ttl") as u8,
            id,
            L4::Tcp { hdr: h, payload },
        )
    }

    fn tcp_out(&mut self, ctx: &mut Ctx, key: &ConnKey, ip: Ipv4Repr, note: String) {
        let (flow, parent, txhash, app) = match self.tcp.conns.get(key) {
            Some(t) => (t.flow, Some(t.last_pkt), Some(t.txhash), Some(t.app)),
            None => (0, None, None, None),
        };
        let mut m = ctx.new_meta(flow, parent);
        m.hash = txhash;
        m.owner = app.and_then(|a| self.apps.get(a)).map(|a| a.uid());
        ctx.out.push(Output::SendLocal {
            ip,
            meta: m,
            note: Some(note),
        });
    }

    /// `connect()`: picks the source address from the route and an ephemeral
    /// port from `ip_local_port_range`, sends the SYN.
    pub fn tcp_connect(
        &mut self,
        ctx: &mut Ctx,
        app: usize,
        flow: u32,
        dst: Ipv4Addr,
        dport: u16,
    ) -> Result<ConnKey, String> {
        let key = FlowKey {
            dst: Some(dst),
            ..Default::default()
        };
        let l = self
            .fib
            .lookup(&key, None)
            .map_err(|_| format!("connect to {dst}:{dport}: no route to {dst} (ENETUNREACH)"))?;
        let (src, mss) = match (l.route.rtype, l.route.dev) {
            (RouteType::Local, _) => (dst, 65495),
            (RouteType::Unicast, Some(d)) => {
                let nh = l.route.via.unwrap_or(dst);
                let s = l
                    .route
                    .src
                    .or_else(|| self.select_src(d, nh))
                    .ok_or_else(|| {
                        format!("connect to {dst}:{dport}: no source address (EADDRNOTAVAIL)")
                    })?;
                (s, (self.devs[d].mtu.saturating_sub(40)).min(65495) as u16)
            }
            (t, _) => {
                return Err(format!(
                    "connect to {dst}:{dport}: {} route (EHOSTUNREACH)",
                    t.name()
                ))
            }
        };
        let (lo, hi) = self.sysctl.port_range();
        let span = (hi - lo) as u32 + 1;
        let start = self.rng.next_u32() % span;
        let mut port = None;
        for i in 0..span {
            let p = lo + ((start + i) % span) as u16;
            if !self.tcp.conns.contains_key(&(src, p, dst, dport))
                && !self.tcp.listeners.contains_key(&p)
            {
                port = Some(p);
                break;
            }
        }
        let sport = port.ok_or_else(|| "no free ephemeral port (EADDRNOTAVAIL)".to_string())?;
        let k = (src, sport, dst, dport);
        let iss = self.rng.next_u32();
        let txhash = self.rng.next_u32();
        self.tcp.conns.insert(
            k,
            Tcb {
                state: TcpState::SynSent,
                iss,
                snd_una: iss,
                snd_nxt: iss.wrapping_add(1),
                rcv_nxt: 0,
                mss,
                app,
                flow,
                syn_tries: 0,
                rto_ns: INITIAL_RTO_NS,
                gen: 0,
                ack_pending: false,
                ato_ns: 0,
                quick: 0,
                pingpong: false,
                lrcv_ns: 0,
                delack_gen: 0,
                txhash,
                last_pkt: 0,
            },
        );
        let syn = self.tcp_seg(&k, iss, None, "S", vec![], Some(mss));
        self.tcp_out(
            ctx,
            &k,
            syn,
            format!("connect() from {src}:{sport} to {dst}:{dport}: SYN"),
        );
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + INITIAL_RTO_NS,
            timer: HostTimer::Tcp { key: k, gen: 0 },
        });
        Ok(k)
    }

    /// SYN retransmission timer.
    pub fn tcp_timer(&mut self, ctx: &mut Ctx, key: ConnKey, gen: u64) {
        let retries = self.sysctl.int("net.ipv4.tcp_syn_retries").max(0) as u32;
        let linear = self.sysctl.int("net.ipv4.tcp_syn_linear_timeouts").max(0) as u32;
        let Some(t) = self.tcp.conns.get_mut(&key) else {
            return;
        };
        if t.gen != gen || t.state != TcpState::SynSent {
            return;
        }
        t.syn_tries += 1;
        if t.syn_tries > retries {
            let app = t.app;
            let tries = t.syn_tries;
            self.tcp.conns.remove(&key);
            ctx.out.push(Output::AppEvent {
                app,
                ev: AppEvent::TimedOut { key, tries },
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
        let syn = self.tcp_seg(&key, iss, None, "S", vec![], Some(mss));
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
        let mss = t.mss.max(1) as usize;
        let chunks: Vec<Vec<u8>> = data.chunks(mss).map(|c| c.to_vec()).collect();
        let n = chunks.len();
        for (i, c) in chunks.into_iter().enumerate() {
            let t = self.tcp.conns.get_mut(&key).expect("present");
            let seq = t.snd_nxt;
            let ack = t.rcv_nxt;
            t.snd_nxt = t.snd_nxt.wrapping_add(c.len() as u32);
            t.ack_pending = false;
            let len = c.len();
            let seg = self.tcp_seg(
                &key,
                seq,
                Some(ack),
                if i + 1 == n { "P" } else { "" },
                c,
                None,
            );
            self.tcp_out(
                ctx,
                &key,
                seg,
                format!("send {len} bytes on {}", key_str(&key)),
            );
        }
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
        let fin = self.tcp_seg(&key, seq, Some(ack), "F", vec![], None);
        self.tcp_out(ctx, &key, fin, format!("close(): FIN, {}", next.name()));
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
        let a = self.tcp_seg(&key, seq, Some(ack), "", vec![], None);
        self.tcp_out(ctx, &key, a, "ACK".into());
    }

    /// `tcp_v4_rcv`: a segment for this host.
    pub(crate) fn tcp_rcv(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta) {
        let L4::Tcp { hdr, payload } = &ip.l4 else {
            return;
        };
        let key: ConnKey = (ip.dst(), hdr.destination_port, ip.src(), hdr.source_port);
        let seq = hdr.sequence_number;
        if !self.tcp.conns.contains_key(&key) {
            let listener = self.tcp.listeners.get(&hdr.destination_port).copied();
            match listener {
                Some((bound, app))
                    if hdr.syn && !hdr.ack && bound.is_none_or(|b| b == ip.dst()) =>
                {
                    let mss_peer = hdr.options_iterator().find_map(|o| match o {
                        Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                        _ => None,
                    });
                    let our_mss = self
                        .fib
                        .lookup(
                            &FlowKey {
                                dst: Some(ip.src()),
                                ..Default::default()
                            },
                            None,
                        )
                        .ok()
                        .and_then(|l| l.route.dev)
                        .map(|d| self.devs[d].mtu.saturating_sub(40).min(65495) as u16)
                        .unwrap_or(1460);
                    let iss = self.rng.next_u32();
                    let txhash = self.rng.next_u32();
                    self.tcp.conns.insert(
                        key,
                        Tcb {
                            state: TcpState::SynRecv,
                            iss,
                            snd_una: iss,
                            snd_nxt: iss.wrapping_add(1),
                            rcv_nxt: seq.wrapping_add(1),
                            mss: mss_peer.unwrap_or(536).min(our_mss),
                            app,
                            flow: meta.flow,
                            syn_tries: 0,
                            rto_ns: INITIAL_RTO_NS,
                            gen: 0,
                            ack_pending: false,
                            ato_ns: 0,
                            quick: 0,
                            pingpong: false,
                            lrcv_ns: ctx.now,
                            delack_gen: 0,
                            txhash,
                            last_pkt: meta.pkt,
                        },
                    );
                    ctx.trace.step(
                        "tcp",
                        format!(
                            "SYN to listening socket *:{} ({}): SYN-RECV, answering SYN-ACK",
                            hdr.destination_port,
                            self.apps[app].name()
                        ),
                        Action::Deliver {
                            socket: format!("tcp *:{} LISTEN", hdr.destination_port),
                        },
                    );
                    let synack = self.tcp_seg(
                        &key,
                        iss,
                        Some(seq.wrapping_add(1)),
                        "S",
                        vec![],
                        Some(our_mss),
                    );
                    self.tcp_out(ctx, &key, synack, "SYN-ACK".into());
                }
                _ => {
                    if hdr.rst {
                        ctx.trace
                            .step("tcp", "RST for no socket: ignored".into(), Action::Info);
                        return;
                    }
                    ctx.trace.step(
                        "tcp",
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
                    let rst = self.tcp_seg(&key, rseq, rack, flags, vec![], None);
                    let m = ctx.new_meta(meta.flow, Some(meta.pkt));
                    ctx.out.push(Output::SendLocal {
                        ip: rst,
                        meta: m,
                        note: Some("RST: connection refused".into()),
                    });
                }
            }
            return;
        }
        let t = self.tcp.conns.get_mut(&key).expect("checked");
        t.last_pkt = meta.pkt;
        let app = t.app;
        let before = t.state;
        let sock = format!("tcp {}", key_str(&key));
        if hdr.rst {
            let st = t.state;
            self.tcp.conns.remove(&key);
            ctx.trace.step(
                "tcp",
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
            ctx.out.push(Output::AppEvent { app, ev });
            return;
        }
        let mut events = Vec::new();
        let mut ack_now = false;
        if t.state == TcpState::SynSent {
            if hdr.syn && hdr.ack && hdr.acknowledgment_number == t.iss.wrapping_add(1) {
                t.rcv_nxt = seq.wrapping_add(1);
                t.snd_una = hdr.acknowledgment_number;
                t.state = TcpState::Established;
                t.gen += 1;
                if let Some(m) = hdr.options_iterator().find_map(|o| match o {
                    Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                    _ => None,
                }) {
                    t.mss = t.mss.min(m);
                }
                // tcp_rcv_synsent_state_process: the handshake's ACK goes at once.
                t.ack_pending = true;
                ack_now = true;
                events.push(AppEvent::Connected { key });
            } else {
                ctx.trace.step(
                    "tcp",
                    "unexpected segment in SYN-SENT: ignored".into(),
                    Action::Info,
                );
                return;
            }
        } else {
            if t.state == TcpState::SynRecv && hdr.syn && !hdr.ack {
                // tcp_check_req: the peer's SYN again (our SYN-ACK was
                // lost): send the SYN-ACK again (inet_rtx_syn_ack)
                let (iss, rcv, mss) = (t.iss, t.rcv_nxt, t.mss);
                t.last_pkt = meta.pkt;
                ctx.trace.step(
                    "tcp",
                    "retransmitted SYN in SYN-RECV: SYN-ACK again".into(),
                    Action::Info,
                );
                let synack = self.tcp_seg(&key, iss, Some(rcv), "S", vec![], Some(mss));
                self.tcp_out(ctx, &key, synack, "SYN-ACK (retransmitted)".into());
                return;
            }
            if hdr.syn {
                // A retransmitted SYN or SYN-ACK: answer with the current ACK.
                t.ack_pending = true;
                ack_now = true;
            }
            if hdr.ack && hdr.acknowledgment_number.wrapping_sub(t.snd_una) as i32 > 0 {
                t.snd_una = hdr.acknowledgment_number;
            }
            let fin_acked = hdr.ack && hdr.acknowledgment_number == t.snd_nxt;
            match t.state {
                TcpState::SynRecv if hdr.ack && hdr.acknowledgment_number == t.snd_nxt => {
                    t.state = TcpState::Established;
                    events.push(AppEvent::Accepted { key });
                }
                TcpState::FinWait1 if fin_acked => t.state = TcpState::FinWait2,
                TcpState::Closing if fin_acked => t.state = TcpState::TimeWait,
                TcpState::LastAck if fin_acked => {
                    self.tcp.conns.remove(&key);
                    ctx.trace.step(
                        "tcp",
                        "ACK of our FIN in LAST-ACK: socket closed".into(),
                        Action::Deliver { socket: sock },
                    );
                    ctx.out.push(Output::AppEvent {
                        app,
                        ev: AppEvent::Closed { key },
                    });
                    return;
                }
                _ => {}
            }
            let t = self.tcp.conns.get_mut(&key).expect("present");
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
                        ack_now = true;
                    }
                    events.push(AppEvent::Data {
                        key,
                        data: payload.clone(),
                    });
                } else {
                    // Out of order or duplicate: ACK what we have, at once.
                    t.ack_pending = true;
                    ack_now = true;
                }
            }
            if hdr.fin && seq.wrapping_add(payload.len() as u32) == t.rcv_nxt {
                t.rcv_nxt = t.rcv_nxt.wrapping_add(1);
                t.ack_pending = true;
                if t.state != TcpState::Established && t.state != TcpState::SynRecv {
                    // tcp_fin in FIN-WAIT: ACK and go to TIME-WAIT/CLOSING now.
                    ack_now = true;
                } else if t.quick > 0 && !t.pingpong {
                    t.quick -= 1;
                    ack_now = true;
                }
                t.state = match t.state {
                    TcpState::Established | TcpState::SynRecv => {
                        events.push(AppEvent::Eof { key });
                        TcpState::CloseWait
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
        let t = self.tcp.conns.get(&key).expect("present");
        let after = t.state;
        let what = if before != after {
            format!(
                "{} -> {}{}",
                before.name(),
                after.name(),
                if payload.is_empty() {
                    String::new()
                } else {
                    format!(", {} bytes to the application", payload.len())
                }
            )
        } else if !payload.is_empty() {
            format!(
                "{}: {} bytes to the application",
                after.name(),
                payload.len()
            )
        } else {
            format!("{}: ACK", after.name())
        };
        ctx.trace
            .step("tcp", what, Action::Deliver { socket: sock });
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
        if events.is_empty() {
        } else {
            for ev in events {
                ctx.out.push(Output::AppEvent { app, ev });
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
        if tcb.state == TcpState::SynSent && hard {
            let app = tcb.app;
            self.tcp.conns.remove(&key);
            ctx.trace
                .step("tcp", format!("connect aborted by ICMP {i}"), Action::Info);
            ctx.out.push(Output::AppEvent {
                app,
                ev: AppEvent::Refused {
                    key,
                    why: format!("ICMP {i}"),
                },
            });
        } else {
            ctx.trace.step(
                "tcp",
                format!("soft error ICMP {i}: the socket keeps retrying"),
                Action::Info,
            );
        }
        let _ = CtInfo::default();
    }
}
