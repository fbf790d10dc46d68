//! The Linux bridge: FDB learning, forwarding, flooding, hairpin mode, local
//! delivery to the bridge device, and br_netfilter (`bridge-nf-call-iptables`).
//!
//! With br_netfilter on, every unicast IPv4 frame entering a port runs the IP
//! PREROUTING hooks first (`br_nf_pre_routing`: raw, conntrack, mangle, nat),
//! before the bridge decides between the host and another port, as the
//! kernel's NF_BR_PRE_ROUTING hook does. When DNAT changed the destination,
//! the packet is routed (`br_nf_pre_routing_finish`): a destination behind the
//! same bridge is "bridged DNAT" (the destination MAC is rewritten and the
//! frame is bridged on, which needs hairpin mode to leave through the port it
//! came in on); any other destination goes up to the IP layer. Frames bridged
//! between ports then run FORWARD and POSTROUTING; frames for the host skip
//! the IP layer's PREROUTING (`ip_sabotage_in`).
//!
//! The nftables bridge family's base chains run where br_input.c and
//! br_forward.c call NF_BR_* (see [`super::netfilter::L2Hook`]):
//! prerouting as the frame enters a port (below priority 0 before
//! br_netfilter's PREROUTING, the others after it), input before the host
//! takes the frame (`br_pass_frame_up`), forward (or output for the host's
//! own frames) and postrouting for each port a frame leaves by, the netdev
//! egress chains of that port last.
//!
//! Simplifications (listed by `podpath explain`): no STP, VLAN filtering or
//! FDB ageing (entries learned stay for the run); broadcast frames are not
//! passed through br_netfilter.

use super::host::{Ctx, FdbEntry, Host, Meta, Output};
use super::netfilter::ct_glue::CtInfo;
use super::netfilter::hook::BridgeCtx;
use super::netfilter::l2hook::Prio;
use super::netfilter::{ctbits, Hook, L2Hook, TableKind};
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::{summarize, Frame, Ipv4Repr, L3};

/// What bridge PREROUTING left to do.
enum BrPre {
    /// The packet is gone (dropped, or handed to the IP layer).
    Done,
    /// Continue with the (possibly rewritten) frame.
    Continue {
        ip: Ipv4Repr,
        mark: u32,
        ct: CtInfo,
        /// The bridge prerouting chains from priority 0 on already ran
        /// (br_nf_pre_routing_finish's br_nf_hook_thresh).
        hi_done: bool,
    },
}

impl Host {
    pub(crate) fn bridge_input(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        port: usize,
        mut f: Frame,
        meta: Meta,
    ) {
        let brn = self.devs[br].name.clone();
        let pn = self.devs[port].name.clone();
        // br_handle_frame → nf_hook_bridge_pre: the bridge family's
        // prerouting chains below br_netfilter's own (NF_BR_PRI_BRNF 0)
        let from_port = (Some(port), None);
        let pre_lo = (L2Hook::BrPrerouting, Prio::Below(0));
        if !self.nft_l2_hook(ctx, pre_lo, &mut f, from_port, meta) {
            return;
        }
        let pre_hi = (L2Hook::BrPrerouting, Prio::From(0));
        if !f.src.is_multicast() {
            let e = self.devs[br].fdb.get(&f.src).cloned();
            if e.as_ref().is_none_or(|e| !e.is_static && e.port != port) {
                self.devs[br].fdb.insert(
                    f.src,
                    FdbEntry {
                        port,
                        is_static: false,
                        updated_ns: ctx.now,
                    },
                );
                ctx.trace.step(
                    Point::Bridge,
                    format!("{brn}: learned {} on port {pn}", f.src),
                    Action::Info,
                );
            }
        }
        if f.dst.is_broadcast() || f.dst.is_multicast() {
            if !self.nft_l2_hook(ctx, pre_hi, &mut f, from_port, meta) {
                return;
            }
            let bytes = f.emit();
            self.bridge_flood(ctx, br, Some(port), &bytes, meta, &f);
            ctx.out.push(Output::Capture {
                dev: br,
                out: false,
                bytes,
                meta,
                hop: ctx.trace.current_hop(),
            });
            ctx.trace.step(
                Point::Bridge,
                format!("{brn}: broadcast also delivered to the host"),
                Action::Info,
            );
            // br_pass_frame_up: NF_BR_LOCAL_IN
            let local_in = (L2Hook::BrInput, Prio::All);
            if self.nft_l2_hook(ctx, local_in, &mut f, from_port, meta) {
                self.l2_input(ctx, br, f, meta);
            }
            return;
        }
        let nf = self.sysctl.bridge_nf_call_iptables();
        let Some(pre6) = self.br_nf_ipv6_in(ctx, br, port, &mut f, meta) else {
            return;
        };
        let mut pre: Option<(u32, CtInfo)> = None;
        let mut hi_done = false;
        if let (true, L3::Ipv4(ip)) = (nf, &f.payload) {
            let ip = ip.clone();
            match self.br_nf_pre_routing(ctx, br, port, &mut f, ip, meta) {
                BrPre::Done => return,
                BrPre::Continue {
                    ip,
                    mark,
                    ct,
                    hi_done: h,
                } => {
                    f.payload = L3::Ipv4(ip);
                    pre = Some((mark, ct));
                    hi_done = h;
                }
            }
        }
        // the prerouting chains from br_netfilter's priority on
        // (br_nf_pre_routing_finish's br_nf_hook_thresh)
        let pre_ct = pre.as_ref().map(|p| p.1).unwrap_or_default();
        if !hi_done && !self.nft_l2_hook_ct(ctx, pre_hi, &mut f, from_port, meta, &pre_ct) {
            return;
        }
        let for_host = f.dst == self.devs[br].mac
            || self
                .devs
                .iter()
                .any(|d| d.master == Some(br) && d.mac == f.dst);
        if for_host {
            // br_pass_frame_up: NF_BR_LOCAL_IN (iif the port)
            let local_in = (L2Hook::BrInput, Prio::All);
            if !self.nft_l2_hook_ct(ctx, local_in, &mut f, from_port, meta, &pre_ct) {
                return;
            }
            ctx.trace.step(
                Point::Bridge,
                format!(
                    "{brn}: {} is the bridge's own address: up to the IP stack on {brn}",
                    f.dst
                ),
                Action::Bridge {
                    bridge: brn.clone(),
                    port: "(host)".into(),
                },
            );
            ctx.out.push(Output::Capture {
                dev: br,
                out: false,
                bytes: f.emit(),
                meta,
                hop: ctx.trace.current_hop(),
            });
            self.br_pass_up(ctx, br, f, (pre, pre6), meta);
            return;
        }
        let mut lo_done = false;
        if let (Some((mut mark, ct)), L3::Ipv4(ip)) = (pre, &f.payload) {
            let mut ip = ip.clone();
            let out = self.devs[br].fdb.get(&f.dst).map(|e| e.port);
            if !self.br_fwd_before_brnf(ctx, port, out, &mut f, meta, &ct) {
                return;
            }
            lo_done = out.is_some();
            if !self.br_nf_forward(ctx, br, port, out, &mut ip, &mut mark, &ct, meta) {
                return;
            }
            f.payload = L3::Ipv4(ip);
        }
        if let (Some(mut n), L3::Ipv6(ip)) = (pre6, &f.payload) {
            let mut ip = ip.clone();
            if !self.br_nf_forward6(ctx, br, &mut ip, meta, &mut n) {
                return;
            }
            f.payload = L3::Ipv6(ip);
        }
        self.bridge_forward(ctx, br, Some(port), f, meta, lo_done);
    }

    /// A frame for the bridge itself, up to the IP stack on the bridge
    /// device: past PREROUTING when br_netfilter ran it (ip_sabotage_in).
    fn br_pass_up(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        f: Frame,
        (pre, pre6): (Option<(u32, CtInfo)>, Option<super::netfilter::hook6::Nf6>),
        meta: Meta,
    ) {
        match (pre, pre6, f.payload) {
            (Some((mark, ct)), _, L3::Ipv4(mut ip)) => {
                self.prerouting_nat_and_route(ctx, br, &mut ip, meta, mark, ct, Some(()));
            }
            (_, Some(n), L3::Ipv6(ip)) => self.br_nf_local6(ctx, br, ip, meta, n),
            (_, _, payload) => {
                let f2 = Frame {
                    src: f.src,
                    dst: f.dst,
                    payload,
                };
                self.l2_input(ctx, br, f2, meta);
            }
        }
    }

    /// The bridge forward chains below br_netfilter's FORWARD
    /// (br_nf_forward_ip at NF_BR_PRI_BRNF - 1) for a frame to a known
    /// port, before it; false when they dropped it (the connection
    /// br_netfilter created dies with it).
    fn br_fwd_before_brnf(
        &mut self,
        ctx: &mut Ctx,
        port: usize,
        out: Option<usize>,
        f: &mut Frame,
        meta: Meta,
        ct: &CtInfo,
    ) -> bool {
        let Some(p) = out.filter(|&p| p != port || self.devs[p].hairpin) else {
            return true;
        };
        let lo = (L2Hook::BrForward, Prio::Below(-1));
        self.nft_l2_hook_ct(ctx, lo, f, (Some(port), Some(p)), meta, ct)
    }

    pub(crate) fn bridge_forward(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        in_port: Option<usize>,
        mut f: Frame,
        meta: Meta,
        lo_done: bool,
    ) {
        let brn = self.devs[br].name.clone();
        let out = self.devs[br].fdb.get(&f.dst).map(|e| e.port);
        match out {
            Some(p) if Some(p) == in_port && !self.devs[p].hairpin => {
                let pn = self.devs[p].name.clone();
                self.drop(
                    ctx,
                    Point::Bridge,
                    format!("{brn}: {} is behind {pn}, the port the frame came in on, and hairpin mode is off on {pn}", f.dst),
                    &CtInfo::default(),
                );
            }
            Some(p) => {
                let pn = self.devs[p].name.clone();
                ctx.trace.step(
                    Point::Bridge,
                    format!(
                        "{brn}: fdb {} -> port {pn}{}",
                        f.dst,
                        if Some(p) == in_port { " (hairpin)" } else { "" }
                    ),
                    Action::Bridge {
                        bridge: brn.clone(),
                        port: pn.clone(),
                    },
                );
                if let Some((h, why)) = self.br_nft_out(ctx, (in_port, p), &mut f, meta, lo_done) {
                    if let Some(why) = why {
                        self.drop(ctx, Point::NftL2(h), why, &CtInfo::default());
                    }
                    return;
                }
                let Some(bytes) = self.l2_egress(ctx, p, f.emit(), meta, false) else {
                    return;
                };
                ctx.trace.set_out(&pn, summarize(&f));
                ctx.out.push(Output::Tx {
                    dev: p,
                    bytes: bytes.into(),
                    meta,
                    hop: ctx.trace.current_hop(),
                });
            }
            None => {
                let bytes = f.emit();
                self.bridge_flood(ctx, br, in_port, &bytes, meta, &f);
            }
        }
    }

    fn bridge_flood(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        in_port: Option<usize>,
        bytes: &[u8],
        meta: Meta,
        f: &Frame,
    ) {
        let brn = self.devs[br].name.clone();
        let ports: Vec<usize> = (0..self.devs.len())
            .filter(|&i| self.devs[i].master == Some(br) && self.devs[i].up)
            .filter(|&i| Some(i) != in_port || self.devs[i].hairpin)
            .collect();
        let names: Vec<String> = ports.iter().map(|&i| self.devs[i].name.clone()).collect();
        ctx.trace.step(
            Point::Bridge,
            format!(
                "{brn}: {} unknown or broadcast: flood to [{}]",
                f.dst,
                names.join(", ")
            ),
            Action::Bridge {
                bridge: brn.clone(),
                port: names.join(","),
            },
        );
        let hooked = [L2Hook::BrForward, L2Hook::BrOutput, L2Hook::BrPostrouting]
            .iter()
            .any(|h| self.has_l2_chains(*h))
            || self.has_l2_chains(L2Hook::Egress);
        // one frame for every port that takes it as it is
        let shared = crate::trace::SharedBytes::from(bytes);
        for p in ports {
            let mut bytes = shared.clone();
            if hooked {
                // br_flood → __br_forward: each port's copy runs the hooks
                let mut g = f.clone();
                if let Some((h, why)) = self.br_nft_out(ctx, (in_port, p), &mut g, meta, false) {
                    let pn = self.devs[p].name.clone();
                    let what = why.unwrap_or_else(|| "taken by fwd".into());
                    ctx.trace.step(
                        Point::NftL2(h),
                        format!("the copy to {pn}: {what}"),
                        Action::Info,
                    );
                    continue;
                }
                match self.l2_egress(ctx, p, g.emit(), meta, false) {
                    Some(b) => bytes = b.into(),
                    None => continue,
                }
            }
            ctx.out.push(Output::Tx {
                dev: p,
                bytes,
                meta,
                hop: ctx.trace.current_hop(),
            });
        }
        if let Some(n) = names.first() {
            ctx.trace.set_out(n, summarize(f));
        }
    }

    /// The bridge family's chains for a frame leaving through port `to`
    /// (br_forward.c `__br_forward`: NF_BR_FORWARD, or NF_BR_LOCAL_OUT for
    /// a frame the host sends (`in_port` None); then `br_forward_finish`:
    /// NF_BR_POST_ROUTING). None when it goes on; see
    /// [`Host::nft_l2_run`].
    ///
    /// `lo_done`: the forward chains below -1 already ran, before
    /// br_netfilter's FORWARD. Simplification (named in explain): the
    /// postrouting chains run after br_netfilter's iptables POSTROUTING
    /// (the kernel: before it, at NF_BR_PRI_LAST), and a flooded frame's
    /// forward chains all after its FORWARD.
    fn br_nft_out(
        &mut self,
        ctx: &mut Ctx,
        (in_port, to): (Option<usize>, usize),
        f: &mut Frame,
        meta: Meta,
        lo_done: bool,
    ) -> Option<(L2Hook, Option<String>)> {
        let h = if in_port.is_some() {
            L2Hook::BrForward
        } else {
            L2Hook::BrOutput
        };
        let devs = (in_port, Some(to));
        let prio = if lo_done { Prio::From(-1) } else { Prio::All };
        if let Some(x) = self.nft_l2_run(ctx, (h, prio), f, devs, meta) {
            return Some((h, x));
        }
        let post = L2Hook::BrPostrouting;
        self.nft_l2_run(ctx, (post, Prio::All), f, devs, meta)
            .map(|x| (post, x))
    }

    /// The host sends through the bridge device (`br_dev_xmit`).
    pub(crate) fn bridge_xmit(&mut self, ctx: &mut Ctx, br: usize, bytes: Vec<u8>, meta: Meta) {
        ctx.out.push(Output::Capture {
            dev: br,
            out: true,
            bytes: bytes.clone(),
            meta,
            hop: ctx.trace.current_hop(),
        });
        match Frame::parse(&bytes) {
            Ok(f) => self.bridge_forward(ctx, br, None, f, meta, false),
            Err(e) => self.drop(
                ctx,
                Point::Bridge,
                format!("malformed frame: {e}"),
                &CtInfo::default(),
            ),
        }
    }

    /// `br_nf_pre_routing` and `br_nf_pre_routing_finish`.
    fn br_nf_pre_routing(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        inp: usize,
        f: &mut Frame,
        mut ip: Ipv4Repr,
        meta: Meta,
    ) -> BrPre {
        let mut mark = 0u32;
        let none = CtInfo::default();
        let bctx = Some(BridgeCtx {
            physin: inp,
            physout: None,
        });
        let Some(raw) = self.nf_filter(
            ctx,
            (TableKind::Raw, Hook::Prerouting),
            &mut ip,
            (Some(br), None, bctx),
            &mut mark,
            &none,
            meta,
        ) else {
            return BrPre::Done;
        };
        let ct = if raw.notrack {
            CtInfo {
                bits: ctbits::UNTRACKED,
                ..Default::default()
            }
        } else {
            match self.ct_in(ctx, &ip) {
                Ok(c) => c,
                Err(r) => {
                    self.drop(ctx, Point::Conntrack, r.to_string(), &none);
                    return BrPre::Done;
                }
            }
        };
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Mangle, Hook::Prerouting),
            &mut ip,
            (Some(br), None, bctx),
            &mut mark,
            &ct,
            meta,
        ) else {
            return BrPre::Done;
        };
        let dst_before = ip.dst();
        if self.needs_nat(&ct, false) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                Hook::Prerouting,
                &mut ip,
                Some(br),
                None,
                &mut mark,
                &ct,
                bctx,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, false, Some(br), None) {
                self.drop(
                    ctx,
                    Point::Table(TableKind::Nat, Hook::Prerouting),
                    e.to_string(),
                    &ct,
                );
                return BrPre::Done;
            }
        }
        self.nat_manip(ctx, &mut ip, &ct, false);
        if ip.dst() == dst_before {
            return BrPre::Continue {
                ip,
                mark,
                ct,
                hi_done: false,
            };
        }
        self.br_nf_pre_routing_finish(ctx, br, inp, f, ip, meta, mark, ct)
    }

    /// `br_nf_pre_routing_finish`: DNAT changed the destination, so route
    /// it: up to IP routing when it leaves the bridge, else bridged DNAT
    /// (the destination MAC set from the neighbour, or resolved first).
    #[allow(clippy::too_many_arguments)]
    fn br_nf_pre_routing_finish(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        inp: usize,
        f: &mut Frame,
        mut ip: Ipv4Repr,
        meta: Meta,
        mark: u32,
        ct: CtInfo,
    ) -> BrPre {
        let key = super::fib::FlowKey {
            dst: Some(ip.dst()),
            src: Some(ip.src()),
            mark,
            iif: None,
            oif: None,
        };
        let via_bridge = matches!(self.fib.lookup(&key, None),
            Ok(l) if l.route.dev == Some(br) && l.route.rtype == super::fib::RouteType::Unicast);
        // br_nf_hook_thresh: the bridge prerouting chains from priority 0
        // on, over the rewritten packet (to the IP layer the frame's
        // destination is the bridge's own address, then NF_BR_LOCAL_IN of
        // br_pass_frame_up)
        let mut g = Frame {
            src: f.src,
            dst: if via_bridge { f.dst } else { self.devs[br].mac },
            payload: L3::Ipv4(ip.clone()),
        };
        let from_port = (Some(inp), None);
        let pre_hi = (L2Hook::BrPrerouting, Prio::From(0));
        if !self.nft_l2_hook_ct(ctx, pre_hi, &mut g, from_port, meta, &ct) {
            return BrPre::Done;
        }
        if !via_bridge {
            let local_in = (L2Hook::BrInput, Prio::All);
            if !self.nft_l2_hook_ct(ctx, local_in, &mut g, from_port, meta, &ct) {
                return BrPre::Done;
            }
        }
        f.src = g.src;
        if via_bridge {
            f.dst = g.dst;
        }
        if !via_bridge {
            ctx.trace.step(
                Point::BrNetfilter,
                format!(
                    "DNAT moved the destination off {}: up to IP routing",
                    self.devs[br].name
                ),
                Action::Info,
            );
            // The frame is passed up the bridge device (br_pass_frame_up):
            // tcpdump on the bridge sees it, already rewritten.
            let up = Frame {
                src: f.src,
                dst: f.dst,
                payload: L3::Ipv4(ip.clone()),
            };
            ctx.out.push(Output::Capture {
                dev: br,
                out: false,
                bytes: up.emit(),
                meta,
                hop: ctx.trace.current_hop(),
            });
            self.prerouting_nat_and_route(ctx, br, &mut ip, meta, mark, ct, Some(()));
            return BrPre::Done;
        }
        match self.neigh.resolve(br, ip.dst(), ctx.now) {
            Some((_, st))
                if !matches!(
                    st,
                    super::neigh::Nud::Reachable | super::neigh::Nud::Permanent
                ) =>
            {
                // Not NUD_CONNECTED: the slow path through the neighbour's
                // output on the bridge device (br_dev_xmit, bridged_dnat).
                let b = super::neigh::BridgedDnat {
                    physin: inp,
                    src_mac: f.src,
                    mark,
                };
                let nh = ip.dst();
                if let Some((mac, _)) = self.neigh_use(ctx, br, nh, meta) {
                    self.bridged_dnat_continue(ctx, br, mac, ip, meta, b, ct);
                }
                BrPre::Done
            }
            Some((m, _)) => {
                ctx.trace.step(
                    Point::BrNetfilter,
                    format!(
                        "bridged DNAT: {} is behind {}; destination MAC set to {m}",
                        ip.dst(),
                        self.devs[br].name
                    ),
                    Action::Info,
                );
                f.dst = m;
                BrPre::Continue {
                    ip,
                    mark,
                    ct,
                    hi_done: true,
                }
            }
            None => {
                // The neighbour must be resolved first: ARP from the bridge,
                // the packet waits in the queue.
                let nh = ip.dst();
                let b = super::neigh::BridgedDnat {
                    physin: inp,
                    src_mac: f.src,
                    mark,
                };
                self.neigh_output_ex(ctx, br, nh, ip, meta, Some(b));
                BrPre::Done
            }
        }
    }

    /// A bridged-DNAT packet whose neighbour is now known: it continues as
    /// if it had arrived on its original port (`br_nf_pre_routing_finish_bridge_slow`).
    pub(crate) fn bridged_dnat_resume(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        nexthop: std::net::Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
        b: super::neigh::BridgedDnat,
    ) {
        let Some((mac, _)) = self.neigh.resolve(br, nexthop, ctx.now) else {
            self.drop(
                ctx,
                Point::BrNetfilter,
                format!("neighbour {nexthop} vanished"),
                &CtInfo::default(),
            );
            return;
        };
        // The packet carries its NAT already: the inverse of its tuple is the
        // other direction's tuple.
        let ct = match self.ct.lookup(
            &super::netfilter::ct_glue::packet_tuple(&ip).invert(),
            ctx.now,
        ) {
            Some((id, other)) => {
                let dir = match other {
                    super::netfilter::conntrack::Dir::Reply => {
                        super::netfilter::conntrack::Dir::Original
                    }
                    super::netfilter::conntrack::Dir::Original => {
                        super::netfilter::conntrack::Dir::Reply
                    }
                };
                let c = self.ct.get(id).expect("live");
                CtInfo {
                    id: Some(id),
                    dir: Some(dir),
                    bits: c.ctstate(dir),
                    created: false,
                    related: false,
                }
            }
            None => CtInfo::default(),
        };
        self.bridged_dnat_continue(ctx, br, mac, ip, meta, b, ct);
    }

    /// Bridged DNAT after the neighbour output: the frame continues as if
    /// it had arrived on its original port, through FORWARD and POSTROUTING.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn bridged_dnat_continue(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        mac: crate::wire::Mac,
        mut ip: Ipv4Repr,
        meta: Meta,
        b: super::neigh::BridgedDnat,
        ct: CtInfo,
    ) {
        let mut mark = b.mark;
        // The neighbour output went through the bridge device (tcpdump on it
        // sees the frame with the bridge's source MAC); br_dev_xmit then
        // restores the original source and bridges on (`bridged_dnat`).
        let via_br = Frame {
            src: self.devs[br].mac,
            dst: mac,
            payload: L3::Ipv4(ip.clone()),
        };
        ctx.out.push(Output::Capture {
            dev: br,
            out: true,
            bytes: via_br.emit(),
            meta,
            hop: ctx.trace.current_hop(),
        });
        let mut f = Frame {
            src: b.src_mac,
            dst: mac,
            payload: L3::Ipv4(ip.clone()),
        };
        ctx.trace.step(
            Point::BrNetfilter,
            format!(
                "bridged DNAT resumes as if from {}: destination MAC {mac}",
                self.devs[b.physin].name
            ),
            Action::Info,
        );
        let out = self.devs[br].fdb.get(&mac).map(|e| e.port);
        if !self.br_fwd_before_brnf(ctx, b.physin, out, &mut f, meta, &ct) {
            return;
        }
        if !self.br_nf_forward(ctx, br, b.physin, out, &mut ip, &mut mark, &ct, meta) {
            return;
        }
        f.payload = L3::Ipv4(ip);
        self.bridge_forward(ctx, br, Some(b.physin), f, meta, out.is_some());
    }

    /// br_netfilter's FORWARD and POSTROUTING for a frame bridged between ports.
    #[allow(clippy::too_many_arguments)]
    fn br_nf_forward(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        inp: usize,
        out: Option<usize>,
        ip: &mut Ipv4Repr,
        mark: &mut u32,
        ct: &CtInfo,
        meta: Meta,
    ) -> bool {
        let bctx = Some(BridgeCtx {
            physin: inp,
            physout: out,
        });
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Mangle, Hook::Forward),
            ip,
            (Some(br), Some(br), bctx),
            mark,
            ct,
            meta,
        ) else {
            return false;
        };
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Filter, Hook::Forward),
            ip,
            (Some(br), Some(br), bctx),
            mark,
            ct,
            meta,
        ) else {
            return false;
        };
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Mangle, Hook::Postrouting),
            ip,
            (Some(br), Some(br), bctx),
            mark,
            ct,
            meta,
        ) else {
            return false;
        };
        if self.needs_nat(ct, true) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                Hook::Postrouting,
                ip,
                Some(br),
                Some(br),
                mark,
                ct,
                bctx,
            );
            let dst = ip.dst();
            if let Err(e) = self.nat_setup(ctx, ct, &nat, true, Some(br), Some(dst)) {
                self.drop(
                    ctx,
                    Point::Table(TableKind::Nat, Hook::Postrouting),
                    e.to_string(),
                    ct,
                );
                return false;
            }
        }
        self.nat_manip(ctx, ip, ct, true);
        true
    }
}
