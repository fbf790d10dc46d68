//! SCTP associations (RFC 9260, as Linux's net/sctp/ runs them): the
//! four-way handshake (INIT, INIT ACK with a State Cookie, COOKIE ECHO,
//! COOKIE ACK), DATA and SACK with delayed acknowledgement, the graceful
//! SHUTDOWN / SHUTDOWN ACK / SHUTDOWN COMPLETE, ABORT, HEARTBEAT answers,
//! the out-of-the-blue rules of §8.4, the verification-tag rules of §8.5,
//! and the retransmission timers (T1-init, T1-cookie, T2-shutdown, T3-rtx).
//!
//! The kernel's defaults (net/sctp/protocol.c `sctp_defaults_init`,
//! sysctls `net.sctp.*`): rto_initial 3 s, rto_min 1 s, rto_max 60 s,
//! max_init_retransmits 8, association_max_retrans 10, sack_timeout 200 ms,
//! valid_cookie_life 60 s; an INIT offers 10 outbound and 65535 inbound
//! streams and an a_rwnd of 106496 (half of the default 212992-byte
//! receive buffer), and carries the Supported Address Types (IPv4), ECN
//! capable and Forward-TSN-supported parameters and the Supported
//! Extensions parameter naming FORWARD TSN (sm_make_chunk.c
//! `sctp_make_init`, with `net.sctp.prsctp_enable`=1, `ecn_enable`=1,
//! `addip_enable`=0, `auth_enable`=0).
//!
//! What a socket sees: one-to-one style (`SOCK_STREAM`) sockets, the way
//! `ncat --sctp`, agnhost's `connect --protocol=sctp` and Go's
//! ishidawataru/sctp use them: `connect()` returns once the COOKIE ACK
//! came (SCTP_COMM_UP), `close()` starts the SHUTDOWN, a message is one
//! DATA chunk (stream 0, PPID 0, unfragmented).
//!
//! Simplifications (listed by `podpath explain`): single-homed (the INIT
//! lists no address parameters, as for a socket bound to one address with
//! the peer's source address its only path, so no multihoming and no
//! heartbeats on idle paths); the State Cookie's layout is podpath's own
//! and its signature a keyed CRC32c (Linux signs with HMAC-SHA1,
//! `net.sctp.cookie_hmac_alg`); no INIT collision or association restart
//! (§5.2: an INIT for a live association is discarded); DATA out of order
//! is discarded (no gap-ack blocks: the peer's T3 retransmits it); no
//! fragmentation of messages above the path MTU, no PR-SCTP, no stream
//! reconfiguration; every host's kernel has the sctp module loaded (one
//! without it answers an INIT with ICMP protocol unreachable).

use std::net::{IpAddr, Ipv4Addr};

use rand_core::Rng;

use super::host::{Ctx, Host, HostTimer, Meta, Output};
use super::netfilter::conntrack::Tuple;
use super::netfilter::ct_glue::CtInfo;
use super::socket::{Owner, SocketEvent};
use super::tcp::{ConnKey, ConnectError};
use crate::trace::{Action, Point};
use crate::wire::icmp::IcmpRepr;
use crate::wire::sctp::{
    self, checksum_ok, Chunk, Data, Init, SctpRepr, FLAG_T, PARAM_STATE_COOKIE, PROTO_SCTP,
};
use crate::wire::{Ipv4Repr, L4};

pub mod sock;

pub use sock::*;

/// INIT parameters Linux adds (RFC 9260 §3.3.2.1, RFC 3758, RFC 5061).
const PARAM_SUPPORTED_ADDR_TYPES: u16 = 12;
const PARAM_ECN_CAPABLE: u16 = 0x8000;
const PARAM_SUPPORTED_EXT: u16 = 0x8008;
const PARAM_FWD_TSN_SUPPORTED: u16 = 0xc000;
/// The FORWARD TSN chunk type (named in the Supported Extensions).
const CHUNK_FWD_TSN: u8 = 0xc0;
/// Error cause "Protocol Violation" (RFC 9260 §3.3.10.13).
const CAUSE_PROTOCOL_VIOLATION: u16 = 13;

/// What one chunk did to its association.
enum ChunkDone {
    Next,
    /// A DATA chunk (a duplicate: to be acknowledged at once).
    Data {
        dup: bool,
    },
    /// The association is gone (closed or aborted).
    Gone,
}

/// TSN comparison in serial-number arithmetic (RFC 1982; `TSN_lte`).
fn tsn_lte(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) < (1 << 31)
}

/// A (type, value) parameter's bytes: TLV padded to 4.
fn param(ty: u16, v: &[u8]) -> (u16, Vec<u8>) {
    (ty, v.to_vec())
}

/// The parameters Linux puts after an INIT's fixed part (`sctp_make_init`).
fn init_params() -> Vec<(u16, Vec<u8>)> {
    vec![
        param(PARAM_SUPPORTED_ADDR_TYPES, &sctp::PARAM_IPV4.to_be_bytes()),
        param(PARAM_ECN_CAPABLE, &[]),
        param(PARAM_SUPPORTED_EXT, &[CHUNK_FWD_TSN]),
        param(PARAM_FWD_TSN_SUPPORTED, &[]),
    ]
}

/// What a State Cookie holds (our layout: see the module's note).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CookieBody {
    my_vtag: u32,
    peer_vtag: u32,
    my_tsn: u32,
    peer_tsn: u32,
    peer_rwnd: u32,
    expires_ns: u64,
}

impl CookieBody {
    const LEN: usize = 28;
    fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(Self::LEN);
        for v in [
            self.my_vtag,
            self.peer_vtag,
            self.my_tsn,
            self.peer_tsn,
            self.peer_rwnd,
        ] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&self.expires_ns.to_be_bytes());
        b
    }
    fn parse(b: &[u8]) -> Option<CookieBody> {
        if b.len() < Self::LEN {
            return None;
        }
        let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut e = [0u8; 8];
        e.copy_from_slice(&b[20..28]);
        Some(CookieBody {
            my_vtag: w(0),
            peer_vtag: w(4),
            my_tsn: w(8),
            peer_tsn: w(12),
            peer_rwnd: w(16),
            expires_ns: u64::from_be_bytes(e),
        })
    }
}

/// The cookie's 32-byte signature (Linux: SCTP_SECRET_SIZE bytes of
/// HMAC): eight keyed CRC32c over the body and the addresses and ports
/// the cookie was made for.
/// An association's addresses. Simplification: SCTP is modelled over
/// IPv4 only (no `sctp_v6_*`), so every key the SCTP code makes holds two
/// IPv4 addresses.
fn addrs4(key: &ConnKey) -> (Ipv4Addr, Ipv4Addr) {
    match (key.0, key.2) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (a, b),
        _ => unreachable!("SCTP associations are IPv4 (sctp_v4_* only)"),
    }
}

fn signature(secret: u32, body: &[u8], key: &ConnKey) -> Vec<u8> {
    let mut msg = body.to_vec();
    let (a, b) = addrs4(key);
    msg.extend_from_slice(&a.octets());
    msg.extend_from_slice(&key.1.to_be_bytes());
    msg.extend_from_slice(&b.octets());
    msg.extend_from_slice(&key.3.to_be_bytes());
    (0u32..8)
        .flat_map(|i| {
            let mut m = secret.wrapping_add(i).to_be_bytes().to_vec();
            m.extend_from_slice(&msg);
            sctp::crc32c(&m).to_be_bytes()
        })
        .collect()
}

impl Host {
    /// `listen()` on SCTP `port` (EADDRINUSE: the program holding it).
    pub fn listen_sctp(&mut self, port: u16, owner: Owner) -> Result<(), Owner> {
        match self.sctp.listeners.get(&port) {
            Some(was) => Err(*was),
            None => {
                self.sctp.listeners.insert(port, owner);
                Ok(())
            }
        }
    }

    fn sctp_rto_bounds(&self) -> (u64, u64, u64) {
        let ms = |k: &str, d: u64| match self.sysctl.int(k) {
            v if v > 0 => v as u64 * 1_000_000,
            _ => d,
        };
        (
            ms("net.sctp.rto_initial", RTO_INITIAL_NS),
            ms("net.sctp.rto_min", RTO_MIN_NS),
            ms("net.sctp.rto_max", RTO_MAX_NS),
        )
    }

    /// A nonzero random tag (`sctp_generate_tag`).
    fn sctp_tag(&mut self, trace: &crate::trace::TraceSink, flow: u32) -> u32 {
        loop {
            let t = self.draw(trace, Some(flow));
            if t != 0 {
                return t;
            }
        }
    }

    /// `connect()` on a one-to-one SCTP socket: the route gives the source
    /// address (as for TCP), an ephemeral port is drawn from
    /// `ip_local_port_range` (sctp_get_port_local), the INIT goes out and
    /// T1-init runs. The socket hears `Connected` at the COOKIE ACK.
    #[allow(clippy::too_many_arguments)]
    pub fn sctp_connect(
        &mut self,
        ctx: &mut Ctx,
        app: Owner,
        flow: u32,
        dst: Ipv4Addr,
        dport: u16,
        bind: Option<Ipv4Addr>,
        sport: Option<u16>,
    ) -> Result<ConnKey, ConnectError> {
        let (src, _) = self.connect_route(dst.into(), dport, bind.map(IpAddr::V4))?;
        let taken = |s: &SctpStack, p: u16| {
            s.listeners.contains_key(&p) || s.assocs.keys().any(|k| k.1 == p && k.0 == src)
        };
        let sport = match sport {
            Some(p) if taken(&self.sctp, p) => return Err(ConnectError::BindInUse { port: p }),
            Some(p) => p,
            None => {
                let (lo, hi) = self.sysctl.port_range();
                let span = (hi - lo) as u32 + 1;
                let start = self.draw(ctx.trace, Some(flow)) % span;
                (0..span)
                    .map(|i| lo + ((start + i) % span) as u16)
                    .find(|p| !taken(&self.sctp, *p))
                    .ok_or(ConnectError::NoFreePort)?
            }
        };
        let key = (src, sport, IpAddr::V4(dst), dport);
        let my_vtag = self.sctp_tag(ctx.trace, flow);
        let tsn = self.draw(ctx.trace, Some(flow));
        let txhash = self.draw(ctx.trace, Some(flow));
        let init = Init {
            init_tag: my_vtag,
            a_rwnd: A_RWND,
            out_streams: OUT_STREAMS,
            in_streams: IN_STREAMS,
            init_tsn: tsn,
            params: init_params(),
        };
        let (rto, _, _) = self.sctp_rto_bounds();
        self.sctp.assocs.insert(
            key,
            Assoc {
                state: AssocState::CookieWait,
                app,
                flow,
                txhash,
                my_vtag,
                next_tsn: tsn,
                rto_ns: rto,
                init: Some(init.clone()),
                ..Default::default()
            },
        );
        self.sctp_out(
            ctx,
            &key,
            vec![Chunk::init(&init)],
            format!("connect() from {src}:{sport} to {dst}:{dport}: INIT, tag {my_vtag:#010x}"),
        );
        self.sctp_arm(ctx, &key);
        Ok(key)
    }

    /// Sends one message as a DATA chunk (`sendmsg`), with a SACK owed
    /// bundled before it (sctp_packet_bundle_sack); T3-rtx starts when
    /// nothing was outstanding.
    pub fn sctp_send(&mut self, ctx: &mut Ctx, key: ConnKey, data: &[u8], note: String) {
        let now = ctx.now;
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return;
        };
        if !matches!(
            a.state,
            AssocState::Established | AssocState::ShutdownReceived
        ) {
            return;
        }
        let d = Data {
            tsn: a.next_tsn,
            stream: 0,
            ssn: a.ssn,
            ppid: 0,
            payload: data.to_vec(),
        };
        a.next_tsn = a.next_tsn.wrapping_add(1);
        a.ssn = a.ssn.wrapping_add(1);
        let idle = a.unacked.is_empty();
        a.unacked.push(Unacked {
            data: d.clone(),
            sent_ns: now,
            retransmitted: false,
        });
        let mut chunks = Vec::new();
        if a.sack_owed > 0 {
            chunks.push(Chunk::sack(a.cum_tsn, A_RWND));
            a.sack_owed = 0;
            a.sack_gen += 1;
        }
        chunks.push(Chunk::data(&d));
        let tsn = d.tsn;
        self.sctp_out(
            ctx,
            &key,
            chunks,
            format!("{note} (DATA TSN {tsn}, {} bytes)", data.len()),
        );
        if idle {
            self.sctp_arm(ctx, &key);
        }
    }

    /// `close()`: the graceful shutdown (sctp_close →
    /// SCTP_PRIMITIVE_SHUTDOWN). In COOKIE-WAIT and COOKIE-ECHOED the
    /// association is deleted without a packet
    /// (sm_statefuns.c `sctp_sf_cookie_wait_prm_shutdown`); established,
    /// the SHUTDOWN goes once all DATA is acknowledged.
    pub fn sctp_close(&mut self, ctx: &mut Ctx, key: ConnKey) {
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return;
        };
        match a.state {
            AssocState::CookieWait | AssocState::CookieEchoed => {
                self.sctp.assocs.remove(&key);
            }
            AssocState::Established => {
                a.state = AssocState::ShutdownPending;
                if a.unacked.is_empty() {
                    self.sctp_shutdown_now(ctx, &key);
                }
            }
            _ => {}
        }
    }

    /// `close()` with SO_LINGER {1, 0} (or a client giving up): an ABORT,
    /// the association gone; in COOKIE-WAIT, as `close()`.
    pub fn sctp_abort(&mut self, ctx: &mut Ctx, key: ConnKey) {
        let Some(a) = self.sctp.assocs.get(&key) else {
            return;
        };
        if a.state == AssocState::CookieWait {
            self.sctp.assocs.remove(&key);
            return;
        }
        self.sctp_out(
            ctx,
            &key,
            vec![Chunk::abort(false)],
            "close() with SO_LINGER 0: ABORT".into(),
        );
        self.sctp.assocs.remove(&key);
    }

    /// Sends the SHUTDOWN (its Cumulative TSN Ack stands for the SACK
    /// owed, whose timer stops: sctp_sf_do_9_2_start_shutdown) and starts
    /// T2-shutdown.
    fn sctp_shutdown_now(&mut self, ctx: &mut Ctx, key: &ConnKey) {
        let Some(a) = self.sctp.assocs.get_mut(key) else {
            return;
        };
        a.state = AssocState::ShutdownSent;
        a.sack_owed = 0;
        a.sack_gen += 1;
        a.tries = 0;
        let cum = a.cum_tsn;
        self.sctp_out(
            ctx,
            key,
            vec![Chunk::shutdown(cum)],
            format!("close(): SHUTDOWN, cumulative TSN ack {cum}"),
        );
        self.sctp_arm(ctx, key);
    }

    /// One packet of association `key`, with the peer's tag as its
    /// verification tag (0 until the INIT ACK gave one: the INIT's).
    fn sctp_out(&mut self, ctx: &mut Ctx, key: &ConnKey, chunks: Vec<Chunk>, note: String) {
        let vtag = self.sctp.assocs.get(key).map_or(0, |a| a.peer_vtag);
        self.sctp_out_meta(ctx, key, vtag, chunks, note, None)
    }

    /// `sctp_out`, or (`key` unknown) an answer to an out-of-the-blue
    /// packet with the flow of `answer`, with the verification tag given.
    fn sctp_out_meta(
        &mut self,
        ctx: &mut Ctx,
        key: &ConnKey,
        vtag: u32,
        chunks: Vec<Chunk>,
        note: String,
        answer: Option<Meta>,
    ) {
        let p = SctpRepr {
            sport: key.1,
            dport: key.3,
            vtag,
            chunks,
        };
        let id = self.next_ip_id();
        // sctp_v4_xmit: DF set while path MTU discovery is on (its default)
        let (src, dst) = addrs4(key);
        let mut ip = Ipv4Repr::new(src, dst, 64, id, L4::Raw(p.emit())).with_protocol(PROTO_SCTP);
        ip.hdr.dont_fragment = true;
        let (flow, parent, txhash, owner) = match (self.sctp.assocs.get(key), answer) {
            (Some(a), _) => (
                a.flow,
                (a.last_pkt != 0).then_some(a.last_pkt),
                Some(a.txhash),
                Some(self.owner_uid(a.app)),
            ),
            (None, Some(m)) => (m.flow, Some(m.pkt), None, None),
            (None, None) => (0, None, None, None),
        };
        let mut m = ctx.new_meta(flow, parent);
        m.hash = txhash;
        m.owner = owner;
        if let Some(a) = self.sctp.assocs.get_mut(key) {
            a.last_pkt = m.pkt;
        }
        ctx.out.push(Output::SendLocal {
            ip,
            meta: m,
            note: Some(note),
        });
    }

    /// Starts the association's T1/T2/T3 timer at its RTO (a new
    /// generation: the one running is stale).
    fn sctp_arm(&mut self, ctx: &mut Ctx, key: &ConnKey) {
        let Some(a) = self.sctp.assocs.get_mut(key) else {
            return;
        };
        a.gen += 1;
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + a.rto_ns,
            timer: HostTimer::Sctp {
                key: *key,
                gen: a.gen,
            },
        });
    }

    /// SCTP input (net/sctp/input.c `sctp_rcv`): the CRC32c checked, the
    /// packet to its association, to a listening endpoint, or handled as
    /// out of the blue.
    pub(crate) fn sctp_rcv(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta) {
        let L4::Raw(b) = &ip.l4 else { return };
        if !checksum_ok(b) {
            self.drop(
                ctx,
                Point::Sctp,
                "bad CRC32c checksum: discarded (sctp_rcv_checksum)".into(),
                &CtInfo::default(),
            );
            return;
        }
        let Some(p) = ip.sctp().filter(|p| !p.chunks.is_empty()) else {
            self.drop(
                ctx,
                Point::Sctp,
                "malformed SCTP packet (a chunk length past its end, or no chunk): discarded"
                    .into(),
                &CtInfo::default(),
            );
            return;
        };
        let key = (ip.dst().into(), p.dport, ip.src().into(), p.sport);
        if self.sctp.assocs.contains_key(&key) {
            self.sctp_assoc_rcv(ctx, key, &p, meta);
        } else if let Some(&app) = self.sctp.listeners.get(&p.dport) {
            self.sctp_listen_rcv(ctx, key, &p, meta, app);
        } else {
            self.sctp_ootb(ctx, key, &p, meta, "no socket on SCTP port");
        }
    }

    /// An out-of-the-blue packet (RFC 9260 §8.4; Linux's control socket,
    /// sm_statefuns.c `sctp_sf_ootb`, `sctp_sf_tabort_8_4_8`,
    /// `sctp_sf_shut_8_4_5`): ABORT, SHUTDOWN COMPLETE and COOKIE ACK are
    /// discarded; a SHUTDOWN ACK is answered by a SHUTDOWN COMPLETE with
    /// the T bit; an INIT by an ABORT with the INIT's Initiate Tag and no
    /// T bit (sm_make_chunk.c `sctp_make_abort`, `sctp_ootb_pkt_new`);
    /// anything else by an ABORT with the T bit, the packet's vtag
    /// reflected.
    fn sctp_ootb(&mut self, ctx: &mut Ctx, key: ConnKey, p: &SctpRepr, meta: Meta, why: &str) {
        let first = p.chunks[0].ty;
        let (answer, vtag, what) = match first {
            sctp::ABORT | sctp::SHUTDOWN_COMPLETE | sctp::COOKIE_ACK => (None, 0, "discarded"),
            sctp::SHUTDOWN_ACK => (
                Some(Chunk::shutdown_complete(true)),
                p.vtag,
                "answered by SHUTDOWN COMPLETE (T bit)",
            ),
            sctp::INIT => {
                let tag = p.chunks[0].as_init().map_or(0, |i| i.init_tag);
                (
                    Some(Chunk::abort(false)),
                    tag,
                    "answered by ABORT (the INIT's tag)",
                )
            }
            _ => (
                Some(Chunk::abort(true)),
                p.vtag,
                "answered by ABORT (T bit)",
            ),
        };
        let port = key.1;
        let text = format!(
            "{why} {port}: out of the blue {} {what} (RFC 9260 §8.4)",
            p.chunks[0].name().to_uppercase()
        );
        match answer {
            None => self.drop(ctx, Point::Sctp, text, &CtInfo::default()),
            Some(c) => {
                ctx.trace.step(Point::Sctp, text, Action::Info);
                self.sctp_out_meta(
                    ctx,
                    &key,
                    vtag,
                    vec![c],
                    format!("out of the blue {}", p.chunks[0].name().to_uppercase()),
                    Some(meta),
                );
            }
        }
    }

    /// A packet for a listening endpoint with no association: an INIT is
    /// answered by an INIT ACK carrying the State Cookie (no state kept:
    /// sctp_sf_do_5_1B_init); a valid COOKIE ECHO makes the association
    /// (sctp_sf_do_5_1D_ce), answered by a COOKIE ACK, the listener
    /// hearing `Accepted`; anything else is out of the blue.
    fn sctp_listen_rcv(
        &mut self,
        ctx: &mut Ctx,
        key: ConnKey,
        p: &SctpRepr,
        meta: Meta,
        app: Owner,
    ) {
        match p.chunks[0].ty {
            sctp::INIT => self.sctp_answer_init(ctx, key, p, meta),
            sctp::COOKIE_ECHO => self.sctp_cookie_echo(ctx, key, p, meta, app),
            _ => self.sctp_ootb(ctx, key, p, meta, "no association on SCTP port"),
        }
    }

    /// An INIT for a listening endpoint: the INIT ACK with the State
    /// Cookie (sm_statefuns.c `sctp_sf_do_5_1B_init`; no state is kept).
    fn sctp_answer_init(&mut self, ctx: &mut Ctx, key: ConnKey, p: &SctpRepr, meta: Meta) {
        let Some(init) = p.chunks[0].as_init() else {
            self.drop(
                ctx,
                Point::Sctp,
                "INIT too short: discarded".into(),
                &CtInfo::default(),
            );
            return;
        };
        if p.vtag != 0 || init.init_tag == 0 || p.chunks.len() > 1 {
            // §8.5.1 (A): an INIT's vtag is 0; §3.3.2 a zero
            // Initiate Tag, and an INIT bundled with other chunks,
            // are discarded
            self.drop(
                ctx,
                Point::Sctp,
                "INIT with a nonzero verification tag, a zero Initiate Tag or bundled chunks: discarded (RFC 9260 §8.5.1, §3.3.2)".into(),
                &CtInfo::default(),
            );
            return;
        }
        let secret = match self.sctp.secret {
            Some(s) => s,
            None => {
                let s = self.rng.next_u32();
                self.sctp.secret = Some(s);
                s
            }
        };
        let my_vtag = self.sctp_tag(ctx.trace, meta.flow);
        let my_tsn = self.draw(ctx.trace, Some(meta.flow));
        let body = CookieBody {
            my_vtag,
            peer_vtag: init.init_tag,
            my_tsn,
            peer_tsn: init.init_tsn,
            peer_rwnd: init.a_rwnd,
            expires_ns: ctx.now + COOKIE_LIFE_NS,
        }
        .bytes();
        // signature, then the body, then (as Linux's cookie holds
        // the peer's INIT) the INIT chunk
        let mut cookie = signature(secret, &body, &key);
        cookie.extend_from_slice(&body);
        cookie.extend_from_slice(&p.chunks[0].value);
        let mut params = vec![(PARAM_STATE_COOKIE, cookie)];
        params.extend(
            init_params()
                .into_iter()
                .filter(|(t, _)| *t != PARAM_SUPPORTED_ADDR_TYPES),
        );
        let ack = Init {
            init_tag: my_vtag,
            a_rwnd: A_RWND,
            out_streams: OUT_STREAMS.min(init.in_streams),
            in_streams: IN_STREAMS,
            init_tsn: my_tsn,
            params,
        };
        ctx.trace.step(
            Point::Sctp,
            format!(
                "INIT for the listening socket *:{}: INIT ACK with a State Cookie (no association kept until the COOKIE ECHO)",
                key.1
            ),
            Action::Info,
        );
        self.sctp_out_meta(
            ctx,
            &key,
            init.init_tag,
            vec![Chunk::init_ack(&ack)],
            format!("INIT ACK, tag {my_vtag:#010x}"),
            Some(meta),
        );
    }

    /// A COOKIE ECHO for a listening endpoint (`sctp_sf_do_5_1D_ce`): a
    /// cookie it signed, for this association, not stale, makes the
    /// association; the COOKIE ACK answers, the listener hears `Accepted`.
    fn sctp_cookie_echo(
        &mut self,
        ctx: &mut Ctx,
        key: ConnKey,
        p: &SctpRepr,
        meta: Meta,
        app: Owner,
    ) {
        let c = &p.chunks[0].value;
        let ok = self.sctp.secret.and_then(|s| {
            let body = c.get(32..32 + CookieBody::LEN)?;
            (signature(s, body, &key) == c[..32]).then_some(())?;
            CookieBody::parse(body)
        });
        let Some(b) = ok else {
            self.drop(
                ctx,
                Point::Sctp,
                "COOKIE ECHO with a cookie this endpoint did not sign: discarded (sctp_unpack_cookie)".into(),
                &CtInfo::default(),
            );
            return;
        };
        if p.vtag != b.my_vtag {
            self.drop(
                ctx,
                Point::Sctp,
                "COOKIE ECHO whose verification tag is not the cookie's: discarded (RFC 9260 §5.1.5)".into(),
                &CtInfo::default(),
            );
            return;
        }
        if b.expires_ns < ctx.now {
            // §5.1.5 3): a stale cookie is answered by an ERROR
            // (Stale Cookie); Linux: sctp_sf_do_5_2_6_stale
            ctx.trace.step(
                Point::Sctp,
                "COOKIE ECHO with a stale cookie (valid_cookie_life passed): ERROR Stale Cookie"
                    .into(),
                Action::Info,
            );
            let mut v = 3u16.to_be_bytes().to_vec();
            v.extend_from_slice(&8u16.to_be_bytes());
            v.extend_from_slice(
                &((ctx.now - b.expires_ns) / 1000)
                    .min(u32::MAX as u64)
                    .to_be_bytes()[4..],
            );
            self.sctp_out_meta(
                ctx,
                &key,
                b.peer_vtag,
                vec![Chunk {
                    ty: sctp::ERROR,
                    flags: 0,
                    value: v,
                }],
                "ERROR (stale cookie)".into(),
                Some(meta),
            );
            return;
        }
        let (rto, _, _) = self.sctp_rto_bounds();
        let txhash = self.draw(ctx.trace, Some(meta.flow));
        self.sctp.assocs.insert(
            key,
            Assoc {
                state: AssocState::Established,
                app,
                flow: meta.flow,
                last_pkt: meta.pkt,
                txhash,
                my_vtag: b.my_vtag,
                peer_vtag: b.peer_vtag,
                next_tsn: b.my_tsn,
                cum_tsn: b.peer_tsn.wrapping_sub(1),
                rto_ns: rto,
                peer_rwnd: b.peer_rwnd,
                ..Default::default()
            },
        );
        ctx.trace.step(
            Point::Sctp,
            format!(
                "COOKIE ECHO with a valid cookie: association {}:{} <- {}:{} ESTABLISHED, COOKIE ACK",
                key.0, key.1, key.2, key.3
            ),
            Action::Deliver {
                socket: format!("sctp *:{}", key.1),
            },
        );
        self.sctp_out(ctx, &key, vec![Chunk::cookie_ack()], "COOKIE ACK".into());
        ctx.out.push(Output::Socket {
            owner: app,
            ev: SocketEvent::Accepted {
                key,
                orig_dst: None,
                flow: meta.flow,
            },
        });
        // chunks bundled after the COOKIE ECHO (DATA)
        let rest = SctpRepr {
            chunks: p.chunks[1..].to_vec(),
            ..p.clone()
        };
        if !rest.chunks.is_empty() {
            self.sctp_chunks(ctx, key, &rest);
        }
    }

    /// A packet of a live association: the verification tag checked
    /// (§8.5, §8.5.1), then its chunks in order.
    fn sctp_assoc_rcv(&mut self, ctx: &mut Ctx, key: ConnKey, p: &SctpRepr, meta: Meta) {
        let a = &self.sctp.assocs[&key];
        let c = &p.chunks[0];
        let t = c.flags & FLAG_T != 0;
        let ok = match c.ty {
            sctp::INIT => false,
            sctp::ABORT | sctp::SHUTDOWN_COMPLETE if t => p.vtag == a.peer_vtag,
            _ => p.vtag == a.my_vtag,
        };
        if !ok {
            let why = if c.ty == sctp::INIT {
                "INIT for a live association (collision or restart, RFC 9260 §5.2: not modelled): discarded".to_string()
            } else {
                format!(
                    "verification tag {:#010x} is not the association's {:#010x}: discarded (RFC 9260 §8.5)",
                    p.vtag,
                    if t { a.peer_vtag } else { a.my_vtag }
                )
            };
            self.drop(ctx, Point::Sctp, why, &CtInfo::default());
            return;
        }
        if let Some(a) = self.sctp.assocs.get_mut(&key) {
            a.last_pkt = meta.pkt;
        }
        self.sctp_chunks(ctx, key, p);
    }

    /// The chunks of a packet for association `key`, then the SACK: at
    /// once for every second DATA packet (and for a duplicate), else when
    /// the delayed-SACK timer fires (`net.sctp.sack_timeout`).
    fn sctp_chunks(&mut self, ctx: &mut Ctx, key: ConnKey, p: &SctpRepr) {
        let (mut got_data, mut dup) = (false, false);
        for c in &p.chunks {
            match self.sctp_chunk(ctx, key, c) {
                ChunkDone::Next => {}
                ChunkDone::Data { dup: d } => {
                    got_data = true;
                    dup |= d;
                }
                ChunkDone::Gone => return,
            }
        }
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return;
        };
        if !got_data {
            return;
        }
        a.sack_owed += 1;
        if a.sack_owed >= 2 || dup {
            self.sctp_sack_now(ctx, &key);
        } else {
            a.sack_gen += 1;
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + SACK_TIMEOUT_NS,
                timer: HostTimer::SctpSack {
                    key,
                    gen: a.sack_gen,
                },
            });
        }
    }

    /// One chunk of a live association.
    fn sctp_chunk(&mut self, ctx: &mut Ctx, key: ConnKey, c: &Chunk) -> ChunkDone {
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return ChunkDone::Gone;
        };
        let state = a.state;
        match c.ty {
            sctp::INIT_ACK | sctp::COOKIE_ACK | sctp::COOKIE_ECHO => {
                self.sctp_handshake_chunk(ctx, key, c)
            }
            sctp::DATA => self.sctp_data_chunk(ctx, key, c),
            sctp::SHUTDOWN | sctp::SHUTDOWN_ACK | sctp::SHUTDOWN_COMPLETE | sctp::ABORT => {
                self.sctp_end_chunk(ctx, key, c)
            }
            sctp::SACK => {
                if c.value.len() >= 4 {
                    let cum = u32::from_be_bytes([c.value[0], c.value[1], c.value[2], c.value[3]]);
                    self.sctp_acked(ctx, &key, cum);
                }
                ChunkDone::Next
            }
            sctp::HEARTBEAT => {
                // the HEARTBEAT ACK returns the Heartbeat Info as sent
                let info = c.value.get(4..).unwrap_or(&[]).to_vec();
                let len = c
                    .value
                    .get(2..4)
                    .map_or(0, |l| u16::from_be_bytes([l[0], l[1]]) as usize);
                let info = info[..len.saturating_sub(4).min(info.len())].to_vec();
                self.sctp_out(
                    ctx,
                    &key,
                    vec![Chunk::heartbeat(true, &info)],
                    "HEARTBEAT ACK".into(),
                );
                ChunkDone::Next
            }
            _ => {
                self.sctp_ignored(ctx, c, state);
                ChunkDone::Next
            }
        }
    }

    /// A chunk with no meaning in the association's state.
    fn sctp_ignored(&self, ctx: &mut Ctx, c: &Chunk, state: AssocState) {
        ctx.trace.step(
            Point::Sctp,
            format!(
                "{} chunk in {}: ignored",
                sctp::chunk_name(c.ty).to_uppercase(),
                state.name()
            ),
            Action::Info,
        );
    }

    /// INIT ACK (COOKIE-WAIT), COOKIE ACK (COOKIE-ECHOED), a COOKIE ECHO
    /// again (established).
    fn sctp_handshake_chunk(&mut self, ctx: &mut Ctx, key: ConnKey, c: &Chunk) -> ChunkDone {
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return ChunkDone::Gone;
        };
        let (app, state) = (a.app, a.state);
        match c.ty {
            sctp::INIT_ACK if state == AssocState::CookieWait => {
                let Some(i) = c.as_init() else {
                    return ChunkDone::Next;
                };
                let Some(cookie) = i.cookie().map(<[u8]>::to_vec) else {
                    ctx.trace.step(
                        Point::Sctp,
                        "INIT ACK without a State Cookie: discarded".into(),
                        Action::Info,
                    );
                    return ChunkDone::Next;
                };
                a.peer_vtag = i.init_tag;
                a.cum_tsn = i.init_tsn.wrapping_sub(1);
                a.peer_rwnd = i.a_rwnd;
                a.state = AssocState::CookieEchoed;
                a.init = None;
                a.cookie = cookie.clone();
                a.tries = 0;
                ctx.trace.step(
                    Point::Sctp,
                    format!(
                        "INIT ACK, peer tag {:#010x}: COOKIE-ECHOED, COOKIE ECHO",
                        i.init_tag
                    ),
                    Action::Info,
                );
                self.sctp_out(
                    ctx,
                    &key,
                    vec![Chunk::cookie_echo(&cookie)],
                    "COOKIE ECHO".into(),
                );
                self.sctp_arm(ctx, &key);
            }
            sctp::COOKIE_ACK if state == AssocState::CookieEchoed => {
                a.state = AssocState::Established;
                a.cookie.clear();
                a.gen += 1;
                ctx.trace.step(
                    Point::Sctp,
                    "COOKIE ACK: association ESTABLISHED (connect() returns)".into(),
                    Action::Deliver {
                        socket: format!("sctp {}:{}", key.0, key.1),
                    },
                );
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: SocketEvent::Connected { key },
                });
            }
            sctp::COOKIE_ECHO => {
                // our COOKIE ACK was lost: sent again
                // (sctp_sf_do_5_2_4_dupcook, case D)
                self.sctp_out(
                    ctx,
                    &key,
                    vec![Chunk::cookie_ack()],
                    "COOKIE ACK (again)".into(),
                );
            }
            _ => self.sctp_ignored(ctx, c, state),
        }
        ChunkDone::Next
    }

    /// DATA: in sequence to the socket; a duplicate acknowledged at once.
    fn sctp_data_chunk(&mut self, ctx: &mut Ctx, key: ConnKey, c: &Chunk) -> ChunkDone {
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return ChunkDone::Gone;
        };
        let Some(d) = c.as_data() else {
            return ChunkDone::Next;
        };
        if !matches!(
            a.state,
            AssocState::Established | AssocState::ShutdownPending | AssocState::ShutdownSent
        ) {
            return ChunkDone::Next;
        }
        let next = a.cum_tsn.wrapping_add(1);
        if d.tsn == next {
            a.cum_tsn = d.tsn;
            ctx.trace.step(
                Point::Sctp,
                format!(
                    "DATA TSN {}: {} bytes to the socket",
                    d.tsn,
                    d.payload.len()
                ),
                Action::Deliver {
                    socket: format!("sctp {}:{}", key.0, key.1),
                },
            );
            ctx.out.push(Output::Socket {
                owner: a.app,
                ev: SocketEvent::Data {
                    key,
                    data: d.payload,
                },
            });
            ChunkDone::Data { dup: false }
        } else if tsn_lte(d.tsn, a.cum_tsn) {
            ctx.trace.step(
                Point::Sctp,
                format!(
                    "DATA TSN {}: a duplicate (cumulative TSN {}), acknowledged at once",
                    d.tsn, a.cum_tsn
                ),
                Action::Info,
            );
            ChunkDone::Data { dup: true }
        } else {
            ctx.trace.step(
                Point::Sctp,
                format!(
                    "DATA TSN {} out of order (expected {next}): discarded (podpath keeps no gap blocks)",
                    d.tsn
                ),
                Action::Info,
            );
            ChunkDone::Data { dup: false }
        }
    }

    /// SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE, ABORT.
    fn sctp_end_chunk(&mut self, ctx: &mut Ctx, key: ConnKey, c: &Chunk) -> ChunkDone {
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return ChunkDone::Gone;
        };
        let (app, state) = (a.app, a.state);
        match c.ty {
            sctp::SHUTDOWN if c.value.len() >= 4 => {
                let cum = u32::from_be_bytes([c.value[0], c.value[1], c.value[2], c.value[3]]);
                self.sctp_acked(ctx, &key, cum);
                let Some(a) = self.sctp.assocs.get_mut(&key) else {
                    return ChunkDone::Gone;
                };
                let was = a.state;
                if matches!(
                    was,
                    AssocState::Established
                        | AssocState::ShutdownPending
                        | AssocState::ShutdownSent
                ) {
                    a.state = AssocState::ShutdownReceived;
                    a.sack_owed = 0;
                    a.sack_gen += 1;
                    ctx.trace.step(
                        Point::Sctp,
                        format!("SHUTDOWN, cumulative TSN ack {cum}: SHUTDOWN-RECEIVED"),
                        Action::Info,
                    );
                    if was != AssocState::ShutdownSent {
                        ctx.out.push(Output::Socket {
                            owner: app,
                            ev: SocketEvent::Eof { key },
                        });
                    }
                    self.sctp_shutdown_ack_if_done(ctx, &key);
                }
            }
            sctp::SHUTDOWN_ACK
                if matches!(
                    state,
                    AssocState::ShutdownSent | AssocState::ShutdownAckSent
                ) =>
            {
                ctx.trace.step(
                    Point::Sctp,
                    "SHUTDOWN ACK: SHUTDOWN COMPLETE, the association closed".into(),
                    Action::Info,
                );
                self.sctp_out(
                    ctx,
                    &key,
                    vec![Chunk::shutdown_complete(false)],
                    "SHUTDOWN COMPLETE".into(),
                );
                self.sctp.assocs.remove(&key);
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: SocketEvent::Closed { key },
                });
                return ChunkDone::Gone;
            }
            sctp::SHUTDOWN_COMPLETE if state == AssocState::ShutdownAckSent => {
                ctx.trace.step(
                    Point::Sctp,
                    "SHUTDOWN COMPLETE: the association closed".into(),
                    Action::Info,
                );
                self.sctp.assocs.remove(&key);
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: SocketEvent::Closed { key },
                });
                return ChunkDone::Gone;
            }
            sctp::ABORT => {
                self.sctp.assocs.remove(&key);
                let opening = matches!(state, AssocState::CookieWait | AssocState::CookieEchoed);
                ctx.trace.step(
                    Point::Sctp,
                    format!(
                        "ABORT in {}: the association is gone{}",
                        state.name(),
                        if opening {
                            " (connect(): ECONNREFUSED)"
                        } else {
                            " (ECONNRESET)"
                        }
                    ),
                    Action::Info,
                );
                let ev = if opening {
                    SocketEvent::Refused {
                        key,
                        why: "ABORT received (ECONNREFUSED)".into(),
                    }
                } else {
                    SocketEvent::Reset { key }
                };
                ctx.out.push(Output::Socket { owner: app, ev });
                return ChunkDone::Gone;
            }
            _ => self.sctp_ignored(ctx, c, state),
        }
        ChunkDone::Next
    }

    fn sctp_sack_now(&mut self, ctx: &mut Ctx, key: &ConnKey) {
        let Some(a) = self.sctp.assocs.get_mut(key) else {
            return;
        };
        a.sack_owed = 0;
        a.sack_gen += 1;
        let cum = a.cum_tsn;
        self.sctp_out(
            ctx,
            key,
            vec![Chunk::sack(cum, A_RWND)],
            format!("SACK, cumulative TSN {cum}"),
        );
    }

    /// The delayed-SACK timer.
    pub fn sctp_sack_timer(&mut self, ctx: &mut Ctx, key: ConnKey, gen: u64) {
        if self
            .sctp
            .assocs
            .get(&key)
            .is_some_and(|a| a.sack_gen == gen && a.sack_owed > 0)
        {
            self.sctp_sack_now(ctx, &key);
        }
    }

    /// A cumulative TSN ack (SACK or SHUTDOWN): chunks up to it leave the
    /// retransmit queue, with an RTT sample (RFC 9260 §6.3.1, Karn's
    /// rule); T3 stops when none is left, and a shutdown waiting for that
    /// goes on.
    fn sctp_acked(&mut self, ctx: &mut Ctx, key: &ConnKey, cum: u32) {
        let (_, lo, hi) = self.sctp_rto_bounds();
        let now = ctx.now;
        let Some(a) = self.sctp.assocs.get_mut(key) else {
            return;
        };
        let before = a.unacked.len();
        let mut sample = None;
        a.unacked.retain(|u| {
            let acked = tsn_lte(u.data.tsn, cum);
            if acked && !u.retransmitted && sample.is_none() {
                sample = Some(now - u.sent_ns);
            }
            !acked
        });
        if let Some(r) = sample {
            // §6.3.1 C2/C3 (RTO.Alpha 1/8, RTO.Beta 1/4)
            let (srtt, var) = match a.srtt_ns {
                None => (r, r / 2),
                Some((s, v)) => ((7 * s + r) / 8, (3 * v + s.abs_diff(r)) / 4),
            };
            a.srtt_ns = Some((srtt, var));
            a.rto_ns = (srtt + 4 * var).clamp(lo, hi);
        }
        if a.unacked.len() == before {
            return;
        }
        a.tries = 0;
        if a.unacked.is_empty() {
            a.gen += 1;
            match a.state {
                AssocState::ShutdownPending => self.sctp_shutdown_now(ctx, key),
                AssocState::ShutdownReceived => self.sctp_shutdown_ack_if_done(ctx, key),
                _ => {}
            }
        } else {
            self.sctp_arm(ctx, key);
        }
    }

    /// SHUTDOWN-RECEIVED with nothing outstanding: the SHUTDOWN ACK, and
    /// T2-shutdown.
    fn sctp_shutdown_ack_if_done(&mut self, ctx: &mut Ctx, key: &ConnKey) {
        let Some(a) = self.sctp.assocs.get_mut(key) else {
            return;
        };
        if a.state != AssocState::ShutdownReceived || !a.unacked.is_empty() {
            return;
        }
        a.state = AssocState::ShutdownAckSent;
        a.tries = 0;
        self.sctp_out(ctx, key, vec![Chunk::shutdown_ack()], "SHUTDOWN ACK".into());
        self.sctp_arm(ctx, key);
    }

    /// T1-init (the INIT again), T1-cookie (the COOKIE ECHO again),
    /// T2-shutdown (SHUTDOWN or SHUTDOWN ACK again), T3-rtx (the oldest
    /// DATA again), each time with the RTO doubled up to `rto_max`
    /// (§6.3.3). Past `max_init_retransmits` the connect fails
    /// (ETIMEDOUT); past `association_max_retrans` the association is
    /// aborted (sm_sideeffect.c `sctp_cmd_assoc_failed`: an ABORT with a
    /// Protocol Violation cause).
    pub fn sctp_timer(&mut self, ctx: &mut Ctx, key: ConnKey, gen: u64) {
        let (_, _, hi) = self.sctp_rto_bounds();
        let max_init = match self.sysctl.int("net.sctp.max_init_retransmits") {
            v if v > 0 => v as u32,
            _ => MAX_INIT_RETRANSMITS,
        };
        let max_assoc = match self.sysctl.int("net.sctp.association_max_retrans") {
            v if v > 0 => v as u32,
            _ => ASSOC_MAX_RETRANS,
        };
        let Some(a) = self.sctp.assocs.get_mut(&key) else {
            return;
        };
        if a.gen != gen {
            return;
        }
        let opening = matches!(a.state, AssocState::CookieWait | AssocState::CookieEchoed);
        let limit = if opening { max_init } else { max_assoc };
        let app = a.app;
        if a.tries >= limit {
            let tries = a.tries + 1;
            let state = a.state;
            ctx.trace.step(
                Point::Sctp,
                format!(
                    "{} retransmissions unanswered in {}: the association fails (ETIMEDOUT)",
                    a.tries,
                    state.name()
                ),
                Action::Info,
            );
            if !opening {
                let mut cause = CAUSE_PROTOCOL_VIOLATION.to_be_bytes().to_vec();
                let text = b"Association exceeded its max_retrans count";
                cause.extend_from_slice(&((4 + text.len()) as u16).to_be_bytes());
                cause.extend_from_slice(text);
                self.sctp_out(
                    ctx,
                    &key,
                    vec![Chunk {
                        ty: sctp::ABORT,
                        flags: 0,
                        value: cause,
                    }],
                    "ABORT (max_retrans exceeded)".into(),
                );
            }
            self.sctp.assocs.remove(&key);
            ctx.out.push(Output::Socket {
                owner: app,
                ev: SocketEvent::TimedOut {
                    key,
                    tries,
                    data: !opening,
                },
            });
            return;
        }
        a.tries += 1;
        a.rto_ns = (a.rto_ns * 2).min(hi);
        let tries = a.tries;
        let (chunks, what) = match a.state {
            AssocState::CookieWait => match &a.init {
                Some(i) => (vec![Chunk::init(i)], "T1-init: INIT again"),
                None => return,
            },
            AssocState::CookieEchoed => (
                vec![Chunk::cookie_echo(&a.cookie)],
                "T1-cookie: COOKIE ECHO again",
            ),
            AssocState::ShutdownSent => (
                vec![Chunk::shutdown(a.cum_tsn)],
                "T2-shutdown: SHUTDOWN again",
            ),
            AssocState::ShutdownAckSent => (
                vec![Chunk::shutdown_ack()],
                "T2-shutdown: SHUTDOWN ACK again",
            ),
            _ => match a.unacked.first_mut() {
                Some(u) => {
                    u.retransmitted = true;
                    (vec![Chunk::data(&u.data)], "T3-rtx: DATA again")
                }
                None => return,
            },
        };
        self.sctp_out(
            ctx,
            &key,
            chunks,
            format!("{what} (retransmission {tries})"),
        );
        self.sctp_arm(ctx, &key);
    }

    /// An ICMP error quoting one of our SCTP packets (input.c
    /// `sctp_v4_err`): protocol unreachable in COOKIE-WAIT ends the
    /// connect (`sctp_icmp_proto_unreachable` → ECONNREFUSED); other
    /// errors are soft (`sk_err_soft`): the timers keep retransmitting.
    pub(crate) fn sctp_icmp_error(&mut self, ctx: &mut Ctx, t: &Tuple, i: &IcmpRepr) {
        let key = (t.src, t.sport, t.dst, t.dport);
        let Some(a) = self.sctp.assocs.get(&key) else {
            return;
        };
        let proto_unreach = i.icmp_type == crate::wire::icmp::DEST_UNREACH && i.code == 2;
        if proto_unreach && a.state == AssocState::CookieWait {
            let app = a.app;
            self.sctp.assocs.remove(&key);
            ctx.trace.step(
                Point::Sctp,
                "protocol unreachable in COOKIE-WAIT: connect() fails (ECONNREFUSED)".into(),
                Action::Info,
            );
            ctx.out.push(Output::Socket {
                owner: app,
                ev: SocketEvent::Refused {
                    key,
                    why: "ICMP protocol unreachable (ECONNREFUSED)".into(),
                },
            });
        } else {
            ctx.trace.step(
                Point::Sctp,
                format!(
                    "a soft error for the association in {} (sk_err_soft): it keeps retransmitting",
                    a.state.name()
                ),
                Action::Info,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsn_serial_arithmetic() {
        assert!(tsn_lte(5, 5));
        assert!(tsn_lte(u32::MAX, 0));
        assert!(!tsn_lte(0, u32::MAX));
        assert!(tsn_lte(1, 2));
    }

    #[test]
    fn cookie_signature_binds_body_and_addresses() {
        let k: ConnKey = ([10, 0, 0, 2].into(), 80, [10, 0, 0, 1].into(), 40000);
        let b = CookieBody {
            my_vtag: 1,
            peer_vtag: 2,
            my_tsn: 3,
            peer_tsn: 4,
            peer_rwnd: 5,
            expires_ns: 6,
        };
        let bytes = b.bytes();
        assert_eq!(CookieBody::parse(&bytes), Some(b));
        let s = signature(7, &bytes, &k);
        assert_eq!(s.len(), 32);
        assert_ne!(s, signature(8, &bytes, &k));
        let other: ConnKey = (k.0, k.1, [10, 0, 0, 9].into(), k.3);
        assert_ne!(s, signature(7, &bytes, &other));
    }
}
