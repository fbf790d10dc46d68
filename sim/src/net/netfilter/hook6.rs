//! The IPv6 hooks (net/ipv6/netfilter/: ip6_tables.c, ip6table_raw.c,
//! ip6table_mangle.c, ip6table_filter.c, ip6table_nat.c with
//! nf_nat_masquerade.c's `nf_nat_masquerade_ipv6`, nf_reject_ipv6.c):
//! an IPv6 packet walks the host's `ip6tables` ruleset at PREROUTING,
//! INPUT, FORWARD, OUTPUT and POSTROUTING, tracked by conntrack
//! ([`Host::ct_in6`]), NATed as the IPv4 NAT does (the binding of a new
//! connection by `nat_setup`, every packet rewritten from its entry).
//!
//! Simplifications (listed by `podpath explain`): nftables `ip6` and
//! `inet` chains do not run on IPv6 packets; ip6tables' mangle targets
//! (HL, TCPMSS, TOS), NFQUEUE, TEE, TPROXY and SYNPROXY are not applied to
//! them; a fragment is left untracked (no nf_defrag_ipv6); Neighbor
//! Discovery that the host sends does not pass OUTPUT (what it receives
//! passes INPUT).

use std::net::{IpAddr, Ipv6Addr};

use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::conntrack::{Dir, Tuple};
use crate::net::netfilter::ct_glue::CtInfo;
use crate::net::netfilter::{ctbits, Hook, HookOutcome, NfPacket, TableKind, Verdict};
use crate::trace::{Action, Point};
use crate::wire::{Icmpv6Repr, Ipv6Repr, L4};

impl Host {
    /// The IPv6 packet as ip6tables' matches see it.
    fn nf_packet6(
        &self,
        hook: Hook,
        ip: &Ipv6Repr,
        devs: (Option<usize>, Option<usize>),
        mark: u32,
        ct: &CtInfo,
    ) -> NfPacket {
        let ports = match &ip.l4 {
            L4::Tcp { .. } | L4::Udp { .. } => ip.ports(),
            _ => None,
        };
        NfPacket {
            proto: ip.proto,
            sport: ports.map(|p| p.0),
            dport: ports.map(|p| p.1),
            tcp_flags: match &ip.l4 {
                L4::Tcp { hdr, .. } => Some(crate::wire::tcp_flag_bits(hdr)),
                _ => None,
            },
            icmp: match &ip.l4 {
                L4::Icmp6(m) => Some(m.kind()),
                _ => None,
            },
            fragment: ip.fragment().is_some_and(|(off, _, _)| off != 0),
            in_if: devs.0.map(|i| self.devs[i].name.clone()),
            out_if: devs.1.map(|i| self.devs[i].name.clone()),
            mark,
            ct_state: if ct.id.is_none() && ct.bits == 0 {
                ctbits::UNTRACKED
            } else {
                ct.bits
            },
            ctmark: ct.id.and_then(|id| self.ct.get(id)).map_or(0, |c| c.mark),
            owner: hook.local_out().then_some(self.sk_owner).flatten(),
            ttl: ip.hop_limit,
            tos: ip.traffic_class,
            len: ip.total_len().min(0xffff) as u16,
            src_mac: (!hook.local_out()).then_some(self.rx_src_mac).flatten(),
            ip6: Some((ip.src, ip.final_dst())),
            ..Default::default()
        }
    }

    /// One table of ip6tables at one hook (`ip6t_do_table`); the mark and
    /// the connection's mark written back, the steps traced.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nf_hook6(
        &mut self,
        ctx: &mut Ctx,
        table: TableKind,
        hook: Hook,
        ip: &Ipv6Repr,
        devs: (Option<usize>, Option<usize>),
        mark: &mut u32,
        ct: &CtInfo,
    ) -> HookOutcome {
        let nf = self.nf6.clone();
        let empty = nf
            .table(table)
            .chain(hook.chain())
            .is_none_or(|c| c.rules.is_empty());
        // the ip6 and inet tables' base chains slotted around the ip6tables
        // table by priority, as for IPv4 ([`Host::nf_hook`])
        let (nft_before, nft_after) = if self.nft.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.nft.chains_at6(table, hook)
        };
        if empty && nft_before.is_empty() && nft_after.is_empty() {
            return super::hook::empty_chain(&nf, table, hook);
        }
        let mut pkt = self.nf_packet6(hook, ip, devs, *mark, ct);
        pkt.ct = self.ct_view(ct, ctx.now);
        pkt.ct_labels = ct.id.and_then(|id| self.ct.get(id)).map_or(0, |c| c.labels);
        crate::net::netfilter::hook::nf_eval_env!(self, ctx, env);
        let payload = || ip.emit();
        let mut nft_steps = Vec::new();
        let before = (!nft_before.is_empty()).then(|| {
            self.nft.run_queued(
                &nft_before,
                &mut pkt,
                &mut env,
                &mut self.nft_dyn,
                (hook, &payload),
            )
        });
        let before_done = before
            .as_ref()
            .is_some_and(|b| b.verdict != Verdict::Accept || b.nat.is_some());
        let mut out = if before_done {
            HookOutcome::accept()
        } else if empty {
            super::hook::empty_chain(&nf, table, hook)
        } else {
            let mut o = nf.run_hook(table, hook.chain(), &mut pkt, &mut env);
            crate::net::netfilter::nfqueue::table_queued(
                &mut o, &mut env, hook, &mut pkt, &payload,
            );
            o
        };
        let table_queue = std::mem::take(&mut out.queue.steps);
        if let Some(b) = before {
            super::hook::fold_nft(&mut out, b, false, &mut nft_steps);
        }
        // a NAT binding is made once: nat chains after a NAT decision do
        // not run
        let nat_done = table == TableKind::Nat && out.nat.is_some();
        if !nft_after.is_empty() && !before_done && out.verdict == Verdict::Accept && !nat_done {
            let a = self.nft.run_queued(
                &nft_after,
                &mut pkt,
                &mut env,
                &mut self.nft_dyn,
                (hook, &payload),
            );
            super::hook::fold_nft(&mut out, a, true, &mut nft_steps);
        }
        *mark = pkt.mark;
        if let Some(c) = ct.id.and_then(|id| self.ct.get_mut(id)) {
            c.mark = pkt.ctmark;
            c.labels = pkt.ct_labels;
        }
        super::hook::trace_hook(
            ctx,
            (table, hook),
            &mut out,
            (table_queue, nft_steps),
            (self.rule_notes.as_deref(), true),
        );
        out
    }

    /// The raw, mangle and filter tables (those that apply at `hook`) and
    /// their verdicts; false when the packet is gone (dropped, or
    /// rejected with an answer).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nf_filter6(
        &mut self,
        ctx: &mut Ctx,
        hook: Hook,
        ip: &Ipv6Repr,
        devs: (Option<usize>, Option<usize>),
        mark: &mut u32,
        ct: &CtInfo,
        meta: Meta,
    ) -> bool {
        let tables: &[TableKind] = match hook {
            Hook::Prerouting => &[TableKind::Mangle],
            Hook::Input | Hook::Forward | Hook::Output => &[TableKind::Mangle, TableKind::Filter],
            Hook::Postrouting => &[TableKind::Mangle],
        };
        for &t in tables {
            let out = self.nf_hook6(ctx, t, hook, ip, devs, mark, ct);
            if !self.verdict_ok6(ctx, Point::Table(t, hook), &out, ip, ct, meta) {
                return false;
            }
        }
        true
    }

    /// A verdict applied (DROP, REJECT with its ICMPv6 answer or TCP
    /// reset); false when the packet is gone.
    fn verdict_ok6(
        &mut self,
        ctx: &mut Ctx,
        point: Point,
        out: &HookOutcome,
        ip: &Ipv6Repr,
        ct: &CtInfo,
        meta: Meta,
    ) -> bool {
        let by = super::hook::dropped_by(out);
        match out.verdict {
            Verdict::Accept => return true,
            Verdict::Drop => match super::hook::queue_drop(point, out) {
                Some((point, words)) => self.drop(ctx, point, words, ct),
                None => {
                    let policy = self.policy_of_drop(point, out, true).unwrap_or_default();
                    self.drop(ctx, point, format!("dropped by {point} {by}{policy}"), ct)
                }
            },
            Verdict::Reject(w) => {
                ctx.trace.step(
                    point,
                    format!("REJECT with {} by {by}", w.name()),
                    Action::Reject {
                        with: w.name().into(),
                    },
                );
                self.nf_reject6(ctx, ip, w, meta);
            }
        }
        if ct.created {
            if let Some(id) = ct.id {
                self.ct.remove(id);
            }
        }
        false
    }

    /// `nf_send_unreach6` / `nf_send_reset6`: REJECT's answer. A TCP
    /// reset goes to a TCP segment that is not itself a reset (from its
    /// destination, seq/ack as `nf_reject_ip6_tcphdr_put` sets them); else
    /// Destination Unreachable with the answer's code, by `icmp6_send`'s
    /// rules.
    fn nf_reject6(
        &mut self,
        ctx: &mut Ctx,
        ip: &Ipv6Repr,
        w: crate::net::netfilter::RejectWith,
        meta: Meta,
    ) {
        if w == crate::net::netfilter::RejectWith::TcpReset {
            let L4::Tcp { hdr, payload } = &ip.l4 else {
                return;
            };
            if hdr.rst {
                return;
            }
            let mut t = crate::wire::tcp_header(hdr.destination_port, hdr.source_port, 0, None, 0);
            t.rst = true;
            if hdr.ack {
                t.sequence_number = hdr.acknowledgment_number;
            } else {
                t.ack = true;
                t.acknowledgment_number = hdr
                    .sequence_number
                    .wrapping_add(payload.len() as u32 + hdr.syn as u32 + hdr.fin as u32);
            }
            let hl = self.ip6_hop_limit(ip.src);
            let r = Ipv6Repr::new(
                ip.final_dst(),
                ip.src,
                hl,
                0,
                L4::Tcp {
                    hdr: t,
                    payload: vec![],
                },
            );
            let m = ctx.new_meta(meta.flow, Some(meta.pkt));
            self.ip6.raw_out.insert(m.pkt);
            ctx.out.push(crate::net::host::Output::SendLocal6 {
                ip: r,
                meta: m,
                note: Some("REJECT --reject-with tcp-reset".into()),
            });
            return;
        }
        self.icmp6_error(
            ctx,
            ip,
            Icmpv6Repr::DstUnreach {
                code: w.icmp6_code(),
                quoted: vec![],
            },
            meta,
        );
    }

    /// The nat table at `hook` for a connection's first packet
    /// (`nf_nat_ipv6_fn` -> `nf_nat_setup_info`), then the rewrite of
    /// this packet from its entry (`nf_nat_ipv6_manip_pkt`). False when
    /// the packet is dropped (MASQUERADE with no address to use).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nf_nat6(
        &mut self,
        ctx: &mut Ctx,
        hook: Hook,
        ip: &mut Ipv6Repr,
        devs: (Option<usize>, Option<usize>),
        mark: &mut u32,
        ct: &CtInfo,
    ) -> bool {
        let src_manip = matches!(hook, Hook::Postrouting | Hook::Input);
        if self.needs_nat(ct, src_manip) {
            let out = self.nf_hook6(ctx, TableKind::Nat, hook, ip, devs, mark, ct);
            let dev = if src_manip { devs.1 } else { devs.0 };
            if let Err(e) = self.nat_setup(ctx, ct, &out, src_manip, dev, None) {
                self.drop(ctx, Point::Table(TableKind::Nat, hook), e.to_string(), ct);
                return false;
            }
        }
        self.nat_manip6(ctx, ip, ct, src_manip);
        true
    }

    /// `nf_nat_ipv6_manip_pkt` for one manip type; for a RELATED ICMPv6
    /// error the quoted packet too (`nf_nat_icmpv6_reply_translation`),
    /// its transport checksum adjusted for the change.
    pub(crate) fn nat_manip6(
        &mut self,
        ctx: &mut Ctx,
        ip: &mut Ipv6Repr,
        ct: &CtInfo,
        src_manip: bool,
    ) {
        let (Some(id), Some(dir)) = (ct.id, ct.dir) else {
            return;
        };
        let Some(c) = self.ct.get(id) else { return };
        let t = c.target(dir);
        let six = |a: IpAddr| match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        };
        let (Some(tsrc), Some(tdst)) = (six(t.src), six(t.dst)) else {
            return;
        };
        let ep = |ip: &Ipv6Repr| {
            let p = match &ip.l4 {
                L4::Tcp { .. } | L4::Udp { .. } => ip.ports(),
                _ => None,
            };
            if src_manip {
                (ip.src, p.map(|p| p.0))
            } else {
                (ip.dst, p.map(|p| p.1))
            }
        };
        let before = ep(ip);
        if ct.related {
            let want_snat = src_manip == (dir == Dir::Original);
            if !(if want_snat { c.snat() } else { c.dnat() }) {
                return;
            }
            // nf_nat_icmpv6_reply_translation: the quoted packet takes
            // the other manip with the other direction's tuple
            // (tuplehash[!dir])
            let qt = c.target(dir).invert();
            if src_manip {
                ip.src = tsrc;
            } else {
                ip.dst = tdst;
            }
            if let L4::Icmp6(m) = &mut ip.l4 {
                if let Some(q) = m.quoted_mut() {
                    rewrite_quoted6(q, &qt, src_manip);
                }
            }
        } else {
            if src_manip {
                ip.src = tsrc;
            } else {
                ip.dst = tdst;
            }
            let port = if src_manip { t.sport } else { t.dport };
            match &mut ip.l4 {
                L4::Tcp { hdr, .. } if src_manip => hdr.source_port = port,
                L4::Tcp { hdr, .. } => hdr.destination_port = port,
                L4::Udp { hdr, .. } if src_manip => hdr.source_port = port,
                L4::Udp { hdr, .. } => hdr.destination_port = port,
                L4::Icmp6(
                    Icmpv6Repr::EchoRequest { id, .. } | Icmpv6Repr::EchoReply { id, .. },
                ) => *id = port,
                _ => {}
            }
        }
        let after = ep(ip);
        if before == after {
            return;
        }
        let show = |(a, p): (Ipv6Addr, Option<u16>)| match p {
            Some(p) => crate::wire::endpoint(a.into(), p),
            None => a.to_string(),
        };
        let (from, to) = (show(before), show(after));
        let by = (ct.created && dir == Dir::Original)
            .then(|| c.nat_by[usize::from(!src_manip)].clone())
            .flatten();
        let reply = dir == Dir::Reply;
        let kind = match (src_manip, dir) {
            (true, Dir::Original) => "SNAT",
            (false, Dir::Original) => "DNAT",
            (true, Dir::Reply) => "reverse DNAT (reply source restored)",
            (false, Dir::Reply) => "reverse SNAT (reply destination restored)",
        };
        let action = if src_manip {
            Action::Snat {
                from: from.clone(),
                to: to.clone(),
                reply,
                by,
            }
        } else {
            Action::Dnat {
                from: from.clone(),
                to: to.clone(),
                reply,
                by,
            }
        };
        ctx.trace
            .step(Point::Nat, format!("{kind}: {from} -> {to}"), action);
    }
}

/// The quoted IPv6 packet of an ICMPv6 error rewritten to `t` (it went
/// the other way: the error's source manip is its destination manip),
/// its TCP or UDP checksum adjusted for the changed address and port
/// (RFC 1624, as `inet_proto_csum_replace16` does), when the quote holds
/// it.
pub(crate) fn rewrite_quoted6(q: &mut [u8], t: &Tuple, src_manip: bool) {
    if q.len() < 44 || q[0] >> 4 != 6 {
        return;
    }
    let (IpAddr::V6(ts), IpAddr::V6(td)) = (t.src, t.dst) else {
        return;
    };
    let proto = q[6];
    let (aoff, poff, a, p) = if src_manip {
        (24, 42, td, t.dport)
    } else {
        (8, 40, ts, t.sport)
    };
    let old: Vec<u8> = [&q[aoff..aoff + 16], &q[poff..poff + 2]].concat();
    q[aoff..aoff + 16].copy_from_slice(&a.octets());
    let ports = matches!(proto, 6 | 17);
    if ports {
        q[poff..poff + 2].copy_from_slice(&p.to_be_bytes());
    }
    let new: Vec<u8> = [&q[aoff..aoff + 16], &q[poff..poff + 2]].concat();
    let csum_at = match proto {
        6 => 40 + 16,
        17 => 40 + 6,
        _ => return,
    };
    if q.len() < csum_at + 2 {
        return;
    }
    let sum = |b: &[u8]| -> u32 {
        b.chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
            .sum()
    };
    let hc = u16::from_be_bytes([q[csum_at], q[csum_at + 1]]);
    // HC' = ~(~HC + ~m + m') (RFC 1624 eq. 3), over the changed words
    let mut acc = u32::from(!hc)
        + sum(&new)
        + old
            .chunks(2)
            .map(|w| u32::from(!u16::from_be_bytes([w[0], w[1]])))
            .sum::<u32>();
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    let nc = !(acc as u16);
    q[csum_at..csum_at + 2].copy_from_slice(&nc.to_be_bytes());
}

/// What the IPv6 hooks carry from one to the next: the packet's
/// connection and its mark.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nf6 {
    pub ct: CtInfo,
    pub mark: u32,
    /// br_netfilter routed the packet at the bridge (its destination
    /// changed there): the route's device, which `ip6_rcv_core` takes as
    /// the input interface (see `net::bridge_nf6`).
    pub brnf_iif: Option<usize>,
}

impl Host {
    /// Whether IPv6 netfilter runs at all: an ip6tables ruleset with a
    /// rule or a DROP policy (the kernel registers ip6tables' hooks and
    /// IPv6 conntrack once a table is in use; an empty ruleset changes
    /// nothing, and podpath leaves such packets untracked).
    pub fn nf6_active(&self) -> bool {
        self.nft.has_v6()
            || self.nf6.tables.values().any(|t| {
                t.chains.iter().any(|c| {
                    !c.rules.is_empty() || c.policy == Some(crate::net::netfilter::Policy::Drop)
                })
            })
    }

    /// raw (NOTRACK), conntrack, then the hook's other tables: the start
    /// of PREROUTING and of OUTPUT. None when the packet is gone.
    fn nf6_track(
        &mut self,
        ctx: &mut Ctx,
        hook: Hook,
        ip: &Ipv6Repr,
        devs: (Option<usize>, Option<usize>),
        meta: Meta,
    ) -> Option<Nf6> {
        let mut nf = Nf6::default();
        let raw = self.nf_hook6(ctx, TableKind::Raw, hook, ip, devs, &mut nf.mark, &nf.ct);
        if !self.verdict_ok6(
            ctx,
            Point::Table(TableKind::Raw, hook),
            &raw,
            ip,
            &nf.ct,
            meta,
        ) {
            return None;
        }
        if raw.notrack {
            nf.ct.bits = ctbits::UNTRACKED;
            return Some(nf);
        }
        if ip.fragment().is_some() {
            // Simplification: nf_defrag_ipv6 reassembles before conntrack;
            // podpath leaves a fragment untracked
            ctx.trace.step(
                Point::Conntrack,
                "IPv6 fragment: not reassembled before conntrack (podpath leaves it untracked)"
                    .into(),
                Action::Info,
            );
            nf.ct.bits = ctbits::UNTRACKED;
            return Some(nf);
        }
        if let L4::Icmp6(m) = &ip.l4 {
            // nf_conntrack_icmpv6_error: Neighbor Discovery, MLD and
            // multicast router discovery are never tracked
            // (`noct_valid_new`: nf_ct_set(skb, NULL, IP_CT_UNTRACKED))
            let t = m.kind().0;
            if matches!(t, 130..=136 | 143 | 151 | 152) {
                ctx.trace.step(
                    Point::Conntrack,
                    format!("ICMPv6 type {t} (neighbour discovery, MLD): untracked"),
                    Action::Info,
                );
                nf.ct.bits = ctbits::UNTRACKED;
                return Some(nf);
            }
        }
        match self.ct_in6(ctx, ip) {
            Ok(c) => nf.ct = c,
            Err(e) => {
                self.drop(ctx, Point::Conntrack, e.to_string(), &CtInfo::default());
                return None;
            }
        }
        Some(nf)
    }

    /// PREROUTING (`ipv6_rcv`'s NF_HOOK): raw, conntrack, mangle, nat
    /// (DNAT), before the route is looked up.
    pub(crate) fn nf6_prerouting(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &mut Ipv6Repr,
        meta: Meta,
    ) -> Option<Nf6> {
        if !self.nf6_active() {
            return Some(Nf6::default());
        }
        let devs = (Some(dev), None);
        let mut nf = self.nf6_track(ctx, Hook::Prerouting, ip, devs, meta)?;
        if !self.nf_filter6(ctx, Hook::Prerouting, ip, devs, &mut nf.mark, &nf.ct, meta) {
            return None;
        }
        self.nf_nat6(ctx, Hook::Prerouting, ip, devs, &mut nf.mark, &nf.ct)
            .then_some(nf)
    }

    /// LOCAL_IN (`ip6_input`'s NF_HOOK): mangle, filter, IPVS (which
    /// takes a packet to a virtual service: false then, the packet sent
    /// on), nat (SNAT).
    pub(crate) fn nf6_input(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &mut Ipv6Repr,
        meta: Meta,
        nf: &mut Nf6,
    ) -> bool {
        if !self.nf6_active() {
            return true;
        }
        let devs = (Some(dev), None);
        if !self.nf_filter6(ctx, Hook::Input, ip, devs, &mut nf.mark, &nf.ct, meta) {
            return false;
        }
        if self.ipvs_in6(ctx, dev, ip, meta, nf) {
            return false;
        }
        self.nf_nat6(ctx, Hook::Input, ip, devs, &mut nf.mark, &nf.ct)
    }

    /// FORWARD (`ip6_forward`'s NF_HOOK: mangle, filter), then
    /// POSTROUTING.
    pub(crate) fn nf6_forward(
        &mut self,
        ctx: &mut Ctx,
        (in_dev, out_dev): (usize, usize),
        ip: &mut Ipv6Repr,
        meta: Meta,
        nf: &mut Nf6,
    ) -> bool {
        if !self.nf6_active() {
            return true;
        }
        let devs = (Some(in_dev), Some(out_dev));
        self.nf_filter6(ctx, Hook::Forward, ip, devs, &mut nf.mark, &nf.ct, meta)
            && self.nf6_postrouting(ctx, (Some(in_dev), out_dev), ip, meta, nf)
    }

    /// POSTROUTING (`ip6_output`'s NF_HOOK): mangle, nat (SNAT,
    /// MASQUERADE).
    pub(crate) fn nf6_postrouting(
        &mut self,
        ctx: &mut Ctx,
        (in_dev, out_dev): (Option<usize>, usize),
        ip: &mut Ipv6Repr,
        meta: Meta,
        nf: &mut Nf6,
    ) -> bool {
        if !self.nf6_active() {
            return true;
        }
        let devs = (in_dev, Some(out_dev));
        self.nf_filter6(ctx, Hook::Postrouting, ip, devs, &mut nf.mark, &nf.ct, meta)
            && self.nf_nat6(ctx, Hook::Postrouting, ip, devs, &mut nf.mark, &nf.ct)
    }

    /// LOCAL_OUT (`ip6_local_out`'s NF_HOOK): raw, conntrack, mangle, nat
    /// (DNAT), filter; the route is looked up after it (as
    /// `ip6_route_me_harder` does after a DNAT).
    pub(crate) fn nf6_output(
        &mut self,
        ctx: &mut Ctx,
        ip: &mut Ipv6Repr,
        meta: Meta,
    ) -> Option<Nf6> {
        if !self.nf6_active() {
            return Some(Nf6::default());
        }
        let devs = (None, None);
        let mut nf = self.nf6_track(ctx, Hook::Output, ip, devs, meta)?;
        let out = self.nf_hook6(
            ctx,
            TableKind::Mangle,
            Hook::Output,
            ip,
            devs,
            &mut nf.mark,
            &nf.ct,
        );
        if !self.verdict_ok6(
            ctx,
            Point::Table(TableKind::Mangle, Hook::Output),
            &out,
            ip,
            &nf.ct,
            meta,
        ) {
            return None;
        }
        if !self.nf_nat6(ctx, Hook::Output, ip, devs, &mut nf.mark, &nf.ct) {
            return None;
        }
        let out = self.nf_hook6(
            ctx,
            TableKind::Filter,
            Hook::Output,
            ip,
            devs,
            &mut nf.mark,
            &nf.ct,
        );
        self.verdict_ok6(
            ctx,
            Point::Table(TableKind::Filter, Hook::Output),
            &out,
            ip,
            &nf.ct,
            meta,
        )
        .then_some(nf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted segment's checksum after the rewrite is the one a full
    /// computation over the rewritten segment gives.
    #[test]
    fn a_quoted_segment_keeps_a_valid_checksum_after_nat() {
        let (client, masq, server): (Ipv6Addr, Ipv6Addr, Ipv6Addr) = (
            "fd00:1::2".parse().unwrap(),
            "fd00:2::1".parse().unwrap(),
            "fd00:2::2".parse().unwrap(),
        );
        let mut h = crate::wire::tcp_header(80, 52100, 7, Some(9), 500);
        h.psh = true;
        let seg = Ipv6Repr::new(
            server,
            client,
            63,
            0,
            L4::Tcp {
                hdr: h,
                payload: b"hello".to_vec(),
            },
        );
        let mut q = seg.emit();
        // the reply tuple: server:80 -> masq:52100
        let reply = Tuple {
            proto: 6,
            src: server.into(),
            sport: 80,
            dst: masq.into(),
            dport: 52100,
        };
        rewrite_quoted6(&mut q, &reply, true);
        let back = Ipv6Repr::parse(&q).expect("the rewritten quote parses");
        assert_eq!(back.dst, masq);
        let want = {
            let mut fixed = back.clone();
            fixed.dst = masq;
            fixed.emit()
        };
        assert_eq!(
            q, want,
            "the incrementally adjusted checksum is the full one"
        );
        // and the ports: an SNAT of the source port shows in the quote
        let mut q2 = seg.emit();
        let snat = Tuple {
            dport: 40000,
            ..reply
        };
        rewrite_quoted6(&mut q2, &snat, true);
        let back = Ipv6Repr::parse(&q2).unwrap();
        assert_eq!(back.ports(), Some((80, 40000)));
        assert_eq!(q2, back.emit());
    }
}
