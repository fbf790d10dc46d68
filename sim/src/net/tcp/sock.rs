//! TCP's socket table: connection keys, control blocks and their states,
//! listening sockets, and the constants Linux runs them with.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// (local address, local port, remote address, remote port)
pub type ConnKey = (IpAddr, u16, IpAddr, u16);

pub const WINDOW: u16 = 64240;
/// TCP_ATO_MIN and TCP_DELACK_MIN: 40 ms.
pub const ATO_MIN_NS: u64 = 40_000_000;
/// TCP_MAX_QUICKACKS.
pub const MAX_QUICKACKS: u32 = 16;
pub const INITIAL_RTO_NS: u64 = 1_000_000_000;
/// TCP_RTO_MIN and TCP_RTO_MAX.
pub const RTO_MIN_NS: u64 = 200_000_000;
pub const RTO_MAX_NS: u64 = 120_000_000_000;
/// TCP_TIMEOUT_FALLBACK: the RTO after a handshake that gave no RTT sample.
pub const TIMEOUT_FALLBACK_NS: u64 = 3_000_000_000;

/// A segment sent and not yet acknowledged (the retransmit queue).
#[derive(Clone, Debug)]
pub struct Unacked {
    pub seq: u32,
    pub payload: Vec<u8>,
    pub fin: bool,
    pub psh: bool,
    pub sent_ns: u64,
    /// Karn's rule: no RTT sample from a retransmitted segment.
    pub retransmitted: bool,
}

impl Unacked {
    pub(crate) fn end(&self) -> u32 {
        self.seq
            .wrapping_add(self.payload.len() as u32)
            .wrapping_add(self.fin as u32)
    }
}

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
    /// When the SYN (client) or SYN-ACK (server) went, for the first RTT
    /// sample.
    pub syn_sent_ns: u64,
    /// RTT estimate (0 = no sample yet) and its variance.
    pub srtt_ns: u64,
    pub rttvar_ns: u64,
    /// Data and FIN not yet acknowledged, oldest first.
    pub rtx: std::collections::VecDeque<Unacked>,
    /// RTO expiries in a row (`icsk_retransmits`), and the Loss state.
    pub rtx_tries: u32,
    pub in_loss: bool,
    /// shutdown(SHUT_WR): the FIN went but the socket still reads, so the
    /// peer's FIN is an EOF to the application (after close() nothing
    /// reads it).
    pub shut_wr: bool,
    /// TCP_QUICKACK off before connect(): the handshake's ACK is delayed
    /// (tcp_rcv_synsent_state_process in pingpong mode).
    pub quickack_off: bool,
    /// IP_TRANSPARENT, inherited from the listener that accepted it.
    pub transparent: bool,
    /// The SYN options: offered (SYN-SENT), then as negotiated (RFC 7323
    /// timestamps, RFC 2018 SACK-permitted, RFC 7323 window scale).
    pub opts: SynOpts,
    /// `tsoffset` (secure_tcp_ts_off) added to the millisecond clock, and
    /// `ts_recent`, the peer's last timestamp (what TSecr echoes).
    pub ts_off: u32,
    pub ts_recent: u32,
    /// The window scale this end offers (`rcv_wscale`; 7 with the
    /// default tcp_rmem).
    pub rcv_wscale: u8,
    /// The out-of-order queue (`out_of_order_queue`): data past a hole,
    /// with the order it came in (SACK blocks list the newest first).
    pub ofo: Vec<OfoSeg>,
    pub ofo_rx: u64,
    /// A D-SACK block owed (RFC 2883, `tcp_dsack_set`): data that came
    /// twice, reported once in the next ACK.
    pub dsack: Option<(u32, u32)>,
}

/// A segment held past a hole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfoSeg {
    pub seq: u32,
    pub data: Vec<u8>,
    pub rx: u64,
}

/// Whether sequence number `a` is before `b` (`before()`, modulo 2^32).
pub fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The options a SYN offers or a handshake agreed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynOpts {
    pub ts: bool,
    pub sack: bool,
    pub wscale: bool,
}

/// The bytes of options on every segment after the handshake: NOP, NOP,
/// TS (12) with timestamps, none without (`tcp_established_options`).
pub fn opt_len(o: &SynOpts) -> u16 {
    if o.ts {
        12
    } else {
        0
    }
}

impl Tcb {
    pub(crate) fn new(
        state: TcpState,
        iss: u32,
        app: usize,
        flow: u32,
        mss: u16,
        txhash: u32,
    ) -> Tcb {
        Tcb {
            state,
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
            shut_wr: false,
            quickack_off: false,
            transparent: false,
            ato_ns: 0,
            quick: 0,
            pingpong: false,
            lrcv_ns: 0,
            delack_gen: 0,
            txhash,
            last_pkt: 0,
            syn_sent_ns: 0,
            srtt_ns: 0,
            rttvar_ns: 0,
            rtx: Default::default(),
            rtx_tries: 0,
            in_loss: false,
            opts: SynOpts::default(),
            ts_off: 0,
            ts_recent: 0,
            rcv_wscale: 7,
            ofo: Vec::new(),
            ofo_rx: 0,
            dsack: None,
        }
    }

    /// The SACK blocks an ACK carries (RFC 2018 as `tcp_options_write`
    /// writes them): a D-SACK block first when one is owed, then the
    /// out-of-order data as contiguous blocks, the one that grew last
    /// first (`tcp_sack_new_ofo_skb`); as many as fit beside the
    /// timestamps (3, else 4).
    pub(crate) fn sack_blocks(&self) -> Vec<(u32, u32)> {
        if !self.opts.sack {
            return vec![];
        }
        let mut segs: Vec<&OfoSeg> = self.ofo.iter().collect();
        segs.sort_by_key(|s| s.seq.wrapping_sub(self.rcv_nxt));
        // (start, end, newest arrival)
        let mut blocks: Vec<(u32, u32, u64)> = Vec::new();
        for s in segs {
            let end = s.seq.wrapping_add(s.data.len() as u32);
            match blocks.last_mut() {
                Some(b) if !seq_before(b.1, s.seq) => {
                    if seq_before(b.1, end) {
                        b.1 = end;
                    }
                    b.2 = b.2.max(s.rx);
                }
                _ => blocks.push((s.seq, end, s.rx)),
            }
        }
        blocks.sort_by_key(|b| std::cmp::Reverse(b.2));
        let room = if self.opts.ts { 3 } else { 4 };
        self.dsack
            .into_iter()
            .chain(blocks.into_iter().map(|b| (b.0, b.1)))
            .take(room)
            .collect()
    }

    /// `tcp_rtt_estimator` + `tcp_set_rto` (RFC 6298 with Linux's floor).
    pub(crate) fn rtt_sample(&mut self, m: u64) {
        if self.srtt_ns == 0 {
            self.srtt_ns = m.max(1);
            self.rttvar_ns = m / 2;
        } else {
            let diff = self.srtt_ns.abs_diff(m);
            self.rttvar_ns = (3 * self.rttvar_ns + diff) / 4;
            self.srtt_ns = ((7 * self.srtt_ns + m) / 8).max(1);
        }
        self.rto_ns = (self.srtt_ns + (4 * self.rttvar_ns).max(RTO_MIN_NS)).min(RTO_MAX_NS);
    }
}

#[derive(Clone, Debug, Default)]
pub struct TcpStack {
    /// port -> (bound address, app): None is 0.0.0.0 (IPv4 only), `::`
    /// a dual-stack wildcard (`bindv6only` 0: IPv4 as v4-mapped too)
    pub listeners: BTreeMap<u16, (Option<IpAddr>, usize)>,
    pub conns: BTreeMap<ConnKey, Tcb>,
}

pub(crate) fn key_str(k: &ConnKey) -> String {
    use crate::wire::endpoint;
    format!("{} <-> {}", endpoint(k.0, k.1), endpoint(k.2, k.3))
}

/// Whether a listener bound to `bound` takes a SYN to `dst`
/// (`inet_lookup_listener`, `compute_score`): an IPv4 wildcard takes IPv4,
/// `::` takes both families (`ipv6_only` off), an address only itself.
pub fn listener_takes(bound: Option<IpAddr>, dst: IpAddr) -> bool {
    match bound {
        None => dst.is_ipv4(),
        Some(IpAddr::V6(a)) if a.is_unspecified() => true,
        Some(b) => b == dst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcb(ts: bool) -> Tcb {
        let mut t = Tcb::new(TcpState::Established, 1000, 0, 0, 1448, 0);
        t.opts = SynOpts {
            ts,
            sack: true,
            wscale: true,
        };
        t.rcv_nxt = 5000;
        t
    }

    fn hold(t: &mut Tcb, seq: u32, len: usize) {
        t.ofo_rx += 1;
        t.ofo.push(OfoSeg {
            seq,
            data: vec![0; len],
            rx: t.ofo_rx,
        });
    }

    /// RFC 2018 §4: the block holding the newest segment first,
    /// contiguous segments merged; a D-SACK block ahead of them; three
    /// blocks beside timestamps, four without.
    #[test]
    fn sack_blocks_newest_first_merged_and_capped() {
        let mut t = tcb(true);
        hold(&mut t, 6000, 100);
        hold(&mut t, 8000, 100);
        hold(&mut t, 6100, 100);
        assert_eq!(t.sack_blocks(), vec![(6000, 6200), (8000, 8100)]);
        hold(&mut t, 9000, 10);
        hold(&mut t, 9500, 10);
        assert_eq!(
            t.sack_blocks(),
            vec![(9500, 9510), (9000, 9010), (6000, 6200)],
            "three blocks fit beside the timestamps"
        );
        t.dsack = Some((4000, 4100));
        assert_eq!(t.sack_blocks()[0], (4000, 4100));
        assert_eq!(t.sack_blocks().len(), 3);
        let mut t = tcb(false);
        for s in [6000, 7000, 8000, 9000, 10000] {
            hold(&mut t, s, 10);
        }
        assert_eq!(t.sack_blocks().len(), 4);
        // a sequence space that wraps: blocks still merge in order
        let mut t = tcb(true);
        t.rcv_nxt = u32::MAX - 50;
        hold(&mut t, u32::MAX - 10, 20);
        hold(&mut t, 9, 5);
        assert_eq!(t.sack_blocks(), vec![(u32::MAX - 10, 14)]);
        // no SACK agreed: none
        let mut t = tcb(true);
        t.opts.sack = false;
        hold(&mut t, 6000, 10);
        assert!(t.sack_blocks().is_empty());
    }
}
