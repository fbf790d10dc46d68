//! SYNPROXY through the hooks (net/netfilter/nf_synproxy_core.c,
//! xt_SYNPROXY.c `synproxy_tg4`, nft_synproxy.c `nft_synproxy_eval_v4`):
//!
//! 1. the client's SYN (untracked: `-t raw ... -j CT --notrack`) meets the
//!    target in INPUT or FORWARD: the host answers a SYN-ACK whose ISN is
//!    a SYN cookie (`synproxy_send_client_synack`) and the SYN is consumed;
//! 2. the client's ACK (INVALID: no entry, `nf_conntrack_tcp_loose=0`)
//!    meets the target: its cookie checked (`synproxy_recv_client_ack`),
//!    the host opens the real connection with a SYN to the server carrying
//!    the client's ISN and options (`synproxy_send_server_syn`; its ACK
//!    field relays the cookie), from a conntrack template with the
//!    synproxy extension;
//! 3. at POSTROUTING and LOCAL_IN (`ipv4_synproxy_hook`, just before
//!    conntrack confirms): the server SYN's entry learns our ISN; the
//!    server's SYN-ACK is consumed, the server gets the ACK
//!    (`synproxy_send_server_ack`), the client a window update
//!    (`synproxy_send_client_ack`), and the connection's sequence numbers
//!    are translated from then on (the seqadj extension: server -> client
//!    `seq += off`, client -> server `ack -= off`, off = cookie - server
//!    ISN), with the timestamps (`synproxy_tstamp_adjust`).
//!
//! Simplifications (named in `podpath explain`): the seqadj translation
//! is applied in this hook (the kernel applies it at conntrack confirm,
//! the next step at the same hooks); the server ACK's window is the
//! client's last window (the kernel's `td_maxwin`, which podpath's
//! conntrack does not track); SACK blocks are not translated (podpath's
//! TCP sends none); a reopened connection (CLOSE then SYN) is not reset.

use std::net::Ipv4Addr;

use etherparse::TcpHeader;
use rand_core::Rng;

use crate::net::host::{Ctx, DevKind, Host, Meta, Output};
use crate::net::netfilter::conntrack::{Dir, SynproxyCt, TcpCt, Tuple};
use crate::net::netfilter::ct_glue::CtInfo;
use crate::net::netfilter::synproxy::{
    build_options, check_timestamp_cookie, cookie_check, cookie_init, parse_options, syn_options,
    CookieSecret, CookieTuple, Opts, SynproxyAct, OPT_ECN, OPT_MSS, OPT_SACK_PERM, OPT_TIMESTAMP,
    OPT_WSCALE,
};
use crate::trace::{Action, Point};
use crate::wire::{Ipv4Repr, L4};

/// `tcp_cookie_time`: minutes of the virtual clock.
fn minute(now_ns: u64) -> u32 {
    (now_ns / 60_000_000_000) as u32
}

/// A segment SYNPROXY builds (`synproxy_build_ip`: TOS 0, ID 0, DF, the
/// default TTL; the TCP header and its options; the checksum is filled in
/// when the packet is written).
#[allow(clippy::too_many_arguments)]
fn segment(
    (src, sport): (Ipv4Addr, u16),
    (dst, dport): (Ipv4Addr, u16),
    seq: u32,
    ack_seq: u32,
    flags: &str,
    window: u16,
    opts: &Opts,
    ttl: u8,
) -> Ipv4Repr {
    let mut h = TcpHeader::new(sport, dport, seq, window);
    h.acknowledgment_number = ack_seq;
    h.syn = flags.contains('S');
    h.ack = flags.contains('A');
    h.ece = flags.contains('E');
    h.cwr = flags.contains('C');
    let _ = h.set_options_raw(&build_options(opts));
    Ipv4Repr::new(
        src,
        dst,
        ttl,
        0,
        L4::Tcp {
            hdr: h,
            payload: vec![],
        },
    )
}

fn tcp_of(ip: &Ipv4Repr) -> Option<&TcpHeader> {
    match &ip.l4 {
        L4::Tcp { hdr, .. } => Some(hdr),
        _ => None,
    }
}

impl Host {
    fn synproxy_secret(&mut self) -> CookieSecret {
        if let Some(s) = self.synproxy.secret {
            return s;
        }
        let mut k = [[0u64; 2]; 2];
        for w in k.iter_mut().flatten() {
            *w = self.rng.next_u64();
        }
        let s = CookieSecret(k);
        self.synproxy.secret = Some(s);
        s
    }

    /// Carries out a SYNPROXY rule's decision on `ip` (the packet is gone
    /// afterwards: NF_STOLEN, or NF_DROP for a bad cookie).
    pub(crate) fn synproxy_target(
        &mut self,
        ctx: &mut Ctx,
        point: Point,
        ip: &Ipv4Repr,
        act: SynproxyAct,
        meta: Meta,
        ct: &CtInfo,
    ) {
        let Some(th) = tcp_of(ip) else { return };
        let opts = parse_options(th.options.as_slice());
        match act {
            SynproxyAct::Syn(info) => {
                let now_ms = (ctx.now / 1_000_000) as u32;
                let o = syn_options(&opts, &info, th.ece && th.cwr, now_ms);
                self.synproxy_send_client_synack(ctx, point, ip, th, &o, meta);
            }
            SynproxyAct::Ack => {
                if !self.synproxy_recv_client_ack(ctx, point, ip, opts, th.sequence_number, meta) {
                    self.drop(
                        ctx,
                        point,
                        "SYNPROXY: the ACK carries no valid SYN cookie (cookie_invalid)".into(),
                        ct,
                    );
                }
            }
        }
    }

    /// `synproxy_send_client_synack`: SYN-ACK, ISN the cookie (encoding
    /// the client's MSS), window 0, the negotiated options; it leaves with
    /// the SYN's (untracked) conntrack.
    fn synproxy_send_client_synack(
        &mut self,
        ctx: &mut Ctx,
        point: Point,
        ip: &Ipv4Repr,
        th: &TcpHeader,
        o: &Opts,
        meta: Meta,
    ) {
        let secret = self.synproxy_secret();
        let t = CookieTuple {
            saddr: ip.src(),
            daddr: ip.dst(),
            sport: th.source_port,
            dport: th.destination_port,
        };
        let (cookie, mss) = cookie_init(
            &secret,
            &t,
            th.sequence_number,
            o.mss_encode,
            minute(ctx.now),
        );
        let flags = if o.options & OPT_ECN != 0 {
            "SAE"
        } else {
            "SA"
        };
        let ttl = self.sysctl.int("net.ipv4.ip_default_ttl") as u8;
        let synack = segment(
            (ip.dst(), th.destination_port),
            (ip.src(), th.source_port),
            cookie,
            th.sequence_number.wrapping_add(1),
            flags,
            0,
            o,
            ttl,
        );
        ctx.trace.step(
            point,
            format!(
                "SYNPROXY: SYN from {}:{} consumed; answering SYN-ACK with SYN cookie {cookie} (MSS {mss} encoded{})",
                ip.src(),
                th.source_port,
                opts_text(o)
            ),
            Action::Info,
        );
        let mut m = ctx.new_meta(meta.flow, Some(meta.pkt));
        m.untracked = true;
        ctx.out.push(Output::SendLocal {
            ip: synack,
            meta: m,
            note: Some("SYNPROXY SYN-ACK (SYN cookie)".into()),
        });
    }

    /// `synproxy_recv_client_ack`: the cookie of `ack_seq - 1` checked
    /// against the client's ISN (`seq - 1`); valid, the server SYN goes
    /// (`synproxy_send_server_syn`, sequence `recv_seq - 1`).
    fn synproxy_recv_client_ack(
        &mut self,
        ctx: &mut Ctx,
        point: Point,
        ip: &Ipv4Repr,
        mut opts: Opts,
        recv_seq: u32,
        meta: Meta,
    ) -> bool {
        let Some(th) = tcp_of(ip) else { return false };
        let secret = self.synproxy_secret();
        let t = CookieTuple {
            saddr: ip.src(),
            daddr: ip.dst(),
            sport: th.source_port,
            dport: th.destination_port,
        };
        let cookie = th.acknowledgment_number.wrapping_sub(1);
        let Some(mss) = cookie_check(
            &secret,
            &t,
            th.sequence_number.wrapping_sub(1),
            cookie,
            minute(ctx.now),
        ) else {
            return false;
        };
        opts.mss_option = mss;
        opts.options |= OPT_MSS;
        if opts.options & OPT_TIMESTAMP != 0 {
            check_timestamp_cookie(&mut opts);
        }
        let flags = if opts.options & OPT_ECN != 0 {
            "SEC"
        } else {
            "S"
        };
        let ttl = self.sysctl.int("net.ipv4.ip_default_ttl") as u8;
        let syn = segment(
            (ip.src(), th.source_port),
            (ip.dst(), th.destination_port),
            recv_seq.wrapping_sub(1),
            cookie,
            flags,
            th.window_size,
            &opts,
            ttl,
        );
        self.synproxy.tmpl.insert(Tuple {
            proto: 6,
            src: ip.src().into(),
            sport: th.source_port,
            dst: ip.dst().into(),
            dport: th.destination_port,
        });
        ctx.trace.step(
            point,
            format!(
                "SYNPROXY: ACK from {}:{} carries a valid SYN cookie (MSS {mss}): consumed; opening the connection to the server {}:{} with a SYN{}",
                ip.src(),
                th.source_port,
                ip.dst(),
                th.destination_port,
                opts_text(&opts)
            ),
            Action::Info,
        );
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::SendLocal {
            ip: syn,
            meta: m,
            note: Some("SYNPROXY SYN to the server".into()),
        });
        true
    }

    /// `ipv4_synproxy_hook` at LOCAL_IN (`dev`: the device it came in
    /// on) and POST_ROUTING (`dev` None): false when the packet was
    /// consumed or dropped here.
    pub(crate) fn synproxy_hook(
        &mut self,
        ctx: &mut Ctx,
        ip: &mut Ipv4Repr,
        ct: &CtInfo,
        in_dev: Option<usize>,
        meta: Meta,
    ) -> bool {
        let (Some(id), Some(dir)) = (ct.id, ct.dir) else {
            return true;
        };
        let Some((sp, state)) = self.ct.get(id).and_then(|c| c.synproxy.map(|s| (s, c.tcp))) else {
            return true;
        };
        // nf_is_loopback_packet: received on a loopback device
        if in_dev.is_some_and(|d| self.devs[d].kind == DevKind::Loopback) {
            return true;
        }
        let Some(th) = tcp_of(ip).cloned() else {
            return true;
        };
        let point = Point::Conntrack;
        let opts = parse_options(th.options.as_slice());
        match state {
            TcpCt::SynSent => {
                if !th.syn && th.ack && dir == Dir::Original {
                    // the client's ACK again (or data) before the server
                    // answered: the server SYN again (cookie_retrans)
                    let seq = th.sequence_number.wrapping_add(1);
                    if !self.synproxy_recv_client_ack(ctx, point, ip, opts, seq, meta) {
                        self.drop(ctx, point, "SYNPROXY: no valid SYN cookie".into(), ct);
                    }
                    return false;
                }
                if let Some(c) = self.ct.get_mut(id) {
                    let s = c.synproxy.get_or_insert_with(SynproxyCt::default);
                    s.isn = th.acknowledgment_number;
                    if opts.options & OPT_TIMESTAMP != 0 {
                        s.its = opts.tsecr;
                    }
                }
            }
            TcpCt::SynRecv if th.syn && th.ack => {
                self.synproxy_server_synack(ctx, ip, &th, (opts, sp), id, meta);
                return false;
            }
            _ => {}
        }
        if !self.synproxy.unadjusted.remove(&meta.pkt) {
            self.synproxy_adjust(ctx, ip, id, dir);
        }
        true
    }

    /// The server's SYN-ACK (`ipv4_synproxy_hook`, SYN_RECV): the server
    /// gets its ACK, the sequence translation starts, the client gets a
    /// window update; the SYN-ACK itself is consumed.
    fn synproxy_server_synack(
        &mut self,
        ctx: &mut Ctx,
        ip: &Ipv4Repr,
        th: &TcpHeader,
        (mut opts, sp): (Opts, SynproxyCt),
        id: u64,
        meta: Meta,
    ) {
        let mut tsoff = sp.tsoff;
        if opts.options & OPT_TIMESTAMP != 0 {
            tsoff = opts.tsval.wrapping_sub(sp.its);
        }
        opts.options &= !(OPT_MSS | OPT_WSCALE | OPT_SACK_PERM);
        let ttl = self.sysctl.int("net.ipv4.ip_default_ttl") as u8;
        // synproxy_send_server_ack: the timestamps swapped
        let mut so = opts;
        std::mem::swap(&mut so.tsval, &mut so.tsecr);
        let win = self.synproxy_client_window(id);
        let server_ack = segment(
            (ip.dst(), th.destination_port),
            (ip.src(), th.source_port),
            th.acknowledgment_number,
            th.sequence_number.wrapping_add(1),
            "A",
            win,
            &so,
            ttl,
        );
        let off = sp.isn.wrapping_sub(th.sequence_number);
        if let Some(c) = self.ct.get_mut(id) {
            let s = c.synproxy.get_or_insert_with(SynproxyCt::default);
            s.tsoff = tsoff;
            s.seqadj = Some(off);
        }
        // synproxy_send_client_ack: seq is the server's, translated on
        // its way out
        let client_ack = segment(
            (ip.src(), th.source_port),
            (ip.dst(), th.destination_port),
            th.sequence_number.wrapping_add(1),
            th.acknowledgment_number,
            "A",
            th.window_size >> opts.wscale.min(14),
            &opts,
            ttl,
        );
        ctx.trace.step(
            Point::Conntrack,
            format!(
                "SYNPROXY: the server's SYN-ACK (ISN {}) consumed: ACK to the server, window update to the client; sequence numbers translated by {off} from now on (seqadj: our ISN {} - the server's)",
                th.sequence_number, sp.isn
            ),
            Action::Info,
        );
        for (i, (p, note)) in [
            (server_ack, "SYNPROXY ACK to the server"),
            (client_ack, "SYNPROXY window update to the client"),
        ]
        .into_iter()
        .enumerate()
        {
            let m = ctx.new_meta(meta.flow, Some(meta.pkt));
            if i == 0 {
                self.synproxy.unadjusted.insert(m.pkt);
            }
            ctx.out.push(Output::SendLocal {
                ip: p,
                meta: m,
                note: Some(note.into()),
            });
        }
    }

    /// The window the client last announced (the server SYN's, which is
    /// the client's ACK's): podpath's stand-in for `td_maxwin`.
    fn synproxy_client_window(&self, _id: u64) -> u16 {
        crate::net::tcp::sock::WINDOW
    }

    /// The seqadj and timestamp translation of a packet of a proxied
    /// connection (nf_ct_seq_adjust, synproxy_tstamp_adjust).
    fn synproxy_adjust(&mut self, ctx: &mut Ctx, ip: &mut Ipv4Repr, id: u64, dir: Dir) {
        let Some(sp) = self.ct.get(id).and_then(|c| c.synproxy) else {
            return;
        };
        let L4::Tcp { hdr, .. } = &mut ip.l4 else {
            return;
        };
        if let Some(off) = sp.seqadj {
            let what = if dir == Dir::Reply {
                let s = hdr.sequence_number;
                hdr.sequence_number = s.wrapping_add(off);
                format!("seq {s} -> {}", hdr.sequence_number)
            } else if hdr.ack {
                let a = hdr.acknowledgment_number;
                hdr.acknowledgment_number = a.wrapping_sub(off);
                format!("ack {a} -> {}", hdr.acknowledgment_number)
            } else {
                String::new()
            };
            if !what.is_empty() {
                ctx.trace.step(
                    Point::Conntrack,
                    format!("SYNPROXY seqadj: {what}"),
                    Action::Info,
                );
            }
        }
        if sp.tsoff != 0 {
            let mut raw = hdr.options.as_slice().to_vec();
            let mut i = 0;
            while i + 1 < raw.len() {
                match raw[i] {
                    0 => break,
                    1 => i += 1,
                    8 if raw[i + 1] == 10 && i + 10 <= raw.len() => {
                        // reply: tsval - tsoff; original: tsecr + tsoff
                        let at = if dir == Dir::Reply { i + 2 } else { i + 6 };
                        let v =
                            u32::from_be_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
                        let v = if dir == Dir::Reply {
                            v.wrapping_sub(sp.tsoff)
                        } else {
                            v.wrapping_add(sp.tsoff)
                        };
                        raw[at..at + 4].copy_from_slice(&v.to_be_bytes());
                        break;
                    }
                    _ => i += raw[i + 1].max(2) as usize,
                }
            }
            let _ = hdr.set_options_raw(&raw);
        }
    }
}

/// The options a SYNPROXY segment carries, for the trace.
fn opts_text(o: &Opts) -> String {
    let mut s = Vec::new();
    if o.options & OPT_MSS != 0 {
        s.push(format!("mss {}", o.mss_option));
    }
    if o.options & OPT_SACK_PERM != 0 {
        s.push("sackOK".to_string());
    }
    if o.options & OPT_TIMESTAMP != 0 {
        s.push(format!("TS val {} ecr {}", o.tsval, o.tsecr));
    }
    if o.options & OPT_WSCALE != 0 {
        s.push(format!("wscale {}", o.wscale));
    }
    if s.is_empty() {
        String::new()
    } else {
        format!("; options [{}]", s.join(", "))
    }
}
