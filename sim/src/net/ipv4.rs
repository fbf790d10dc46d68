//! The IPv4 packet walk, in the kernel's order:
//!
//! ```text
//! ip_rcv: martian checks -> raw PREROUTING -> conntrack -> mangle PREROUTING
//!   -> nat PREROUTING (first packet only) -> DNAT applied -> route input
//!   (ip rules, tables, LPM, rp_filter)
//!   local:   mangle/filter INPUT -> nat INPUT -> socket
//!   forward: ip_forward, TTL, MTU -> mangle/filter FORWARD -> POSTROUTING
//! ip_output (locally generated): route output -> raw OUTPUT -> conntrack
//!   -> mangle/nat/filter OUTPUT (re-route after DNAT) -> POSTROUTING
//! POSTROUTING: mangle -> nat (first packet only) -> SNAT/MASQUERADE applied
//!   -> neighbour resolution (ARP on the wire) -> device
//! ```
//!
//! Simplifications (listed by `podpath explain`): no IP fragmentation (a
//! packet larger than the MTU without DF is dropped with a reason); no IP
//! options processing; `accept_local`, `arp_ignore`, `arp_announce` and
//! `icmp_errors_use_inbound_ifaddr` are at their defaults.

use std::net::Ipv4Addr;

use super::conntrack::{Dir, Tuple};
use super::fib::{table_name, FlowKey, Lookup, RouteType};
use super::host::{Ctx, DevKind, Host, HostAddrs, Meta, Output};
use super::netfilter::{
    ctbits, EvalEnv, HookOutcome, NfPacket, RejectWith, RngChooser, TableKind, Target, Verdict,
};
use crate::trace::Action;
use crate::wire::arp::{self, ArpRepr};
use crate::wire::icmp::{self, IcmpRepr};
use crate::wire::{summarize, summarize_ip, Frame, Ipv4Repr, Mac, L3, L4};

/// The packet's conntrack view at a hook.
#[derive(Clone, Copy, Debug, Default)]
pub struct CtInfo {
    pub id: Option<u64>,
    pub dir: Option<Dir>,
    pub bits: u8,
    /// Created by this packet (removed again if the packet dies).
    pub created: bool,
    pub related: bool,
}

/// Bridge context for br_netfilter hooks.
#[derive(Clone, Copy, Debug)]
pub struct BridgeCtx {
    pub physin: usize,
    pub physout: Option<usize>,
}

impl Host {
    // ------------------------------------------------------------------ entry

    /// A frame arrives on device `dev`. Opens and closes the hop.
    pub fn receive(&mut self, ctx: &mut Ctx, dev: usize, bytes: Vec<u8>, meta: Meta) {
        if matches!(self.devs[dev].kind, DevKind::Tun | DevKind::Ipip) {
            return self.tun_receive(ctx, dev, bytes, meta);
        }
        let frame = Frame::parse(&bytes);
        let before = match &frame {
            Ok(f) => crate::wire::describe(f),
            Err(e) => (format!("malformed frame ({e})"), Default::default()),
        };
        let dn = self.devs[dev].name.clone();
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            Some(&dn),
            before,
        );
        match frame {
            Err(e) => self.drop(
                ctx,
                "wire",
                format!("malformed frame: {e}"),
                &CtInfo::default(),
            ),
            Ok(_) if !self.devs[dev].up => {
                self.drop(ctx, "link", format!("{dn} is down"), &CtInfo::default())
            }
            Ok(f) => match self.devs[dev].master {
                Some(br) => self.bridge_input(ctx, br, dev, f, meta),
                None => self.l2_input(ctx, dev, f, meta),
            },
        }
        ctx.trace.end_hop();
    }

    /// A raw IP packet written into a TUN device by its process.
    fn tun_receive(&mut self, ctx: &mut Ctx, dev: usize, bytes: Vec<u8>, meta: Meta) {
        let ip = Ipv4Repr::parse(&bytes);
        let before = match &ip {
            Ok(i) => crate::wire::describe_ip(i),
            Err(e) => (format!("malformed packet ({e})"), Default::default()),
        };
        let dn = self.devs[dev].name.clone();
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            Some(&dn),
            before,
        );
        match ip {
            Err(e) => self.drop(
                ctx,
                "wire",
                format!("malformed packet: {e}"),
                &CtInfo::default(),
            ),
            Ok(_) if !self.devs[dev].up => {
                self.drop(ctx, "link", format!("{dn} is down"), &CtInfo::default())
            }
            Ok(ip) => self.ip_rcv(ctx, dev, ip, meta),
        }
        ctx.trace.end_hop();
    }

    /// A locally generated IP packet, in its own hop.
    pub fn send_local(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta, note: Option<String>) {
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            None,
            crate::wire::describe_ip(&ip),
        );
        if let Some(n) = note {
            ctx.trace.step("app", n.clone(), Action::App { app: n });
        }
        // the sending socket's owner, for -m owner in OUTPUT/POSTROUTING
        self.sk_owner = meta.owner;
        self.ip_output_local(ctx, ip, meta);
        self.sk_owner = None;
        ctx.trace.end_hop();
    }

    /// A raw socket's datagram out of one device, as keepalived sends VRRP
    /// adverts (IP_MULTICAST_IF: no route lookup; multicast MAC from the
    /// group, no ARP).
    ///
    /// Simplification: raw output skips the netfilter OUTPUT and
    /// POSTROUTING hooks and conntrack.
    pub fn send_raw(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv4Repr, meta: Meta, note: String) {
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            None,
            crate::wire::describe_ip(&ip),
        );
        ctx.trace
            .step("app", note.clone(), Action::App { app: note });
        let dn = self.devs[dev].name.clone();
        ctx.trace.step(
            "routing",
            format!(
                "{}: out of {dn} as the socket asks (IP_MULTICAST_IF), no route lookup",
                ip.dst()
            ),
            Action::Info,
        );
        if !self.devs[dev].up {
            self.drop(
                ctx,
                "dev_queue_xmit",
                format!("{dn} is down"),
                &CtInfo::default(),
            );
        } else {
            let dst = ip.dst();
            self.neigh_output(ctx, dev, dst, ip, meta);
        }
        ctx.trace.end_hop();
    }

    /// A gratuitous ARP (a request for our own address, target = sender) out
    /// of `dev`, as keepalived sends when it takes a VIP: hosts that know
    /// the address update its MAC.
    pub fn send_garp(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        addr: Ipv4Addr,
        meta: Meta,
        note: String,
    ) {
        let mac = self.devs[dev].mac;
        let a = ArpRepr {
            op: arp::OP_REQUEST,
            sender_mac: mac,
            sender_ip: addr,
            target_mac: Mac::ZERO,
            target_ip: addr,
        };
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            meta.pkt,
            meta.parent,
            None,
            (
                a.to_string(),
                crate::wire::PktInfo {
                    kind: crate::wire::PktKind::Arp,
                    ..Default::default()
                },
            ),
        );
        ctx.trace
            .step("app", note.clone(), Action::App { app: note });
        let dn = self.devs[dev].name.clone();
        if self.devs[dev].up {
            let f = Frame {
                src: mac,
                dst: Mac::BROADCAST,
                payload: L3::Arp(a.clone()),
            };
            ctx.trace.set_out(&dn, a.to_string());
            self.dev_xmit(ctx, dev, f.emit(), meta);
        } else {
            self.drop(
                ctx,
                "dev_queue_xmit",
                format!("{dn} is down"),
                &CtInfo::default(),
            );
        }
        ctx.trace.end_hop();
    }

    pub(crate) fn drop(&mut self, ctx: &mut Ctx, point: &str, reason: String, ct: &CtInfo) {
        if ct.created {
            if let Some(id) = ct.id {
                self.ct.remove(id);
            }
        }
        ctx.trace
            .step(point, format!("DROP: {reason}"), Action::Drop { reason });
    }

    // ------------------------------------------------------------------ layer 2

    pub(crate) fn l2_input(&mut self, ctx: &mut Ctx, dev: usize, f: Frame, meta: Meta) {
        let d = &self.devs[dev];
        if d.kind != DevKind::Loopback
            && f.dst != d.mac
            && !f.dst.is_broadcast()
            && !f.dst.is_multicast()
        {
            let reason = format!(
                "frame to {} is not for {} ({}): PACKET_OTHERHOST, discarded",
                f.dst, d.name, d.mac
            );
            self.drop(ctx, "l2", reason, &CtInfo::default());
            return;
        }
        match f.payload {
            L3::Arp(a) => self.arp_input(ctx, dev, a, meta),
            L3::Ipv4(ip) => self.ip_rcv(ctx, dev, ip, meta),
            L3::Other { ethertype, .. } => self.drop(
                ctx,
                "l2",
                format!("no protocol handler for ethertype 0x{ethertype:04x}"),
                &CtInfo::default(),
            ),
        }
    }

    /// Proxy ARP (`arp_process` with `arp_fwd_proxy`): with proxy_arp on
    /// the device (or conf.all) and forwarding on, a request for an address
    /// whose input route leads out of another device is answered with this
    /// device's MAC. Returns that other device's name. The reply is sent at
    /// once, as with `neigh.DEV.proxy_delay=0` (calico sets it; the kernel's
    /// default delays broadcast requests by a random part of 0.8 s).
    fn proxy_arp_route(&self, dev: usize, sip: Ipv4Addr, tip: Ipv4Addr) -> Option<String> {
        let dn = &self.devs[dev].name;
        let on = self.sysctl.int("net.ipv4.conf.all.proxy_arp") == 1
            || self.sysctl.int(&format!("net.ipv4.conf.{dn}.proxy_arp")) == 1;
        if !on || self.sysctl.int("net.ipv4.ip_forward") != 1 || tip.is_loopback() {
            return None;
        }
        let k = self.route_key(tip, Some(sip), 0, Some(dn));
        let l = self.fib.lookup(&k, None).ok()?;
        if l.route.rtype != crate::net::fib::RouteType::Unicast {
            return None;
        }
        let out = l.route.dev?;
        (out != dev).then(|| self.devs[out].name.clone())
    }

    fn arp_input(&mut self, ctx: &mut Ctx, dev: usize, a: ArpRepr, meta: Meta) {
        let dn = self.devs[dev].name.clone();
        match a.op {
            arp::OP_REQUEST => {
                // arp_ignore=0: answer for any local address, on any device.
                let ours = self.is_local(a.target_ip) && !a.target_ip.is_loopback();
                let proxied = if ours {
                    None
                } else {
                    self.proxy_arp_route(dev, a.sender_ip, a.target_ip)
                };
                // A request we answer creates the sender's entry
                // (neigh_event_ns); others only refresh an existing one.
                let pend = self.neigh.update(
                    dev,
                    a.sender_ip,
                    a.sender_mac,
                    ctx.now,
                    ours || proxied.is_some(),
                    false,
                );
                self.flush_pending(ctx, dev, pend);
                if !ours && proxied.is_none() {
                    ctx.trace.step(
                        "arp",
                        format!("{} is not a local address: no reply", a.target_ip),
                        Action::Info,
                    );
                    return;
                }
                if let Some(via) = &proxied {
                    ctx.trace.step(
                        "arp",
                        format!(
                            "proxy_arp on {dn}: {} is routed via {via}, not {dn}: answer with {dn}'s address",
                            a.target_ip
                        ),
                        Action::Info,
                    );
                }
                let reply = ArpRepr {
                    op: arp::OP_REPLY,
                    sender_mac: self.devs[dev].mac,
                    sender_ip: a.target_ip,
                    target_mac: a.sender_mac,
                    target_ip: a.sender_ip,
                };
                let f = Frame {
                    src: self.devs[dev].mac,
                    dst: a.sender_mac,
                    payload: L3::Arp(reply.clone()),
                };
                ctx.trace.step(
                    "arp",
                    format!(
                        "{} is ours: reply {} is-at {}",
                        a.target_ip, a.target_ip, self.devs[dev].mac
                    ),
                    Action::Neigh {
                        ip: a.sender_ip.to_string(),
                        mac: Some(a.sender_mac.to_string()),
                        state: "learned from request".into(),
                    },
                );
                ctx.trace.set_out(&dn, reply.to_string());
                let m = ctx.new_meta(meta.flow, Some(meta.pkt));
                self.dev_xmit(ctx, dev, f.emit(), m);
            }
            arp::OP_REPLY => {
                let pend = self
                    .neigh
                    .learn(dev, a.sender_ip, a.sender_mac, ctx.now, false);
                ctx.trace.step(
                    "neigh",
                    format!(
                        "{} lladdr {} REACHABLE on {dn}; {} queued packet(s) released",
                        a.sender_ip,
                        a.sender_mac,
                        pend.len()
                    ),
                    Action::Neigh {
                        ip: a.sender_ip.to_string(),
                        mac: Some(a.sender_mac.to_string()),
                        state: "REACHABLE".into(),
                    },
                );
                self.flush_pending(ctx, dev, pend);
            }
            op => self.drop(
                ctx,
                "arp",
                format!("ARP op {op} not handled"),
                &CtInfo::default(),
            ),
        }
    }

    fn flush_pending(&mut self, ctx: &mut Ctx, dev: usize, pend: Vec<super::neigh::Pending>) {
        for p in pend {
            ctx.out.push(Output::SendLocal {
                ip: p.ip,
                meta: p.meta,
                note: Some(format!(
                    "resume: neighbour on {} resolved",
                    self.devs[dev].name
                )),
            });
            // Mark the resumed packet so ip_output_local transmits it as is.
            self.resume.push((p.meta.pkt, dev, p.bridged));
        }
    }

    // ------------------------------------------------------------------ netfilter glue

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nf_hook(
        &mut self,
        ctx: &mut Ctx,
        table: TableKind,
        hook: &str,
        ip: &Ipv4Repr,
        in_dev: Option<usize>,
        out_dev: Option<usize>,
        mark: &mut u32,
        ct: &CtInfo,
        br: Option<BridgeCtx>,
    ) -> HookOutcome {
        let chain_empty = self
            .nf
            .table(table)
            .chain(hook)
            .is_none_or(|c| c.rules.is_empty());
        let ctmark = ct
            .id
            .and_then(|id| self.ct.get(id))
            .map(|c| c.mark)
            .unwrap_or(0);
        let (sport, dport) = l4_ports(ip);
        let mut pkt = NfPacket {
            src: ip.src(),
            dst: ip.dst(),
            proto: ip.proto(),
            sport,
            dport,
            tcp_flags: ip.tcp_flags(),
            icmp: match &ip.l4 {
                L4::Icmp(i) => Some((i.icmp_type, i.code)),
                _ => None,
            },
            fragment: ip.hdr.fragment_offset.value() != 0,
            in_if: in_dev.map(|i| self.devs[i].name.clone()),
            out_if: out_dev.map(|i| self.devs[i].name.clone()),
            physdev_in: br.map(|b| self.devs[b.physin].name.clone()),
            physdev_out: br
                .and_then(|b| b.physout)
                .map(|i| self.devs[i].name.clone()),
            bridged: br.is_some_and(|b| b.physout.is_some()),
            mark: *mark,
            ct_state: if ct.id.is_none() && ct.bits == 0 {
                ctbits::UNTRACKED
            } else {
                ct.bits
            },
            ctmark,
            owner: if hook == "OUTPUT" || hook == "POSTROUTING" {
                self.sk_owner
            } else {
                None
            },
        };
        let (nft_before, nft_after) = match super::nftables::Hook::from_iptables(hook) {
            Some(h) if !self.nft.is_empty() => self.nft.chains_at(table, h),
            _ => (Vec::new(), Vec::new()),
        };
        let addrs = HostAddrs {
            fib: &self.fib,
            devs: &self.devs,
        };
        let mut chooser = RngChooser(&mut self.rng);
        let chooser: &mut dyn super::netfilter::eval::Chooser = match ctx.script.as_deref_mut() {
            Some(s) => s,
            None => &mut chooser,
        };
        let mut env = EvalEnv {
            addr: &addrs,
            chooser,
            state: &mut self.nf_state,
            now_ns: ctx.now,
        };
        // nftables base chains that come before this iptables table
        let mut nft_steps = Vec::new();
        let before = (!nft_before.is_empty()).then(|| {
            self.nft
                .run(&nft_before, &mut pkt, &mut env, &mut self.nft_dyn)
        });
        let before_done = before
            .as_ref()
            .is_some_and(|b| b.verdict != Verdict::Accept || b.nat.is_some());
        let mut out = if before_done {
            HookOutcome {
                verdict: Verdict::Accept,
                nat: None,
                notrack: false,
                steps: vec![],
                rules_tested: 0,
            }
        } else if chain_empty {
            let pol = self.nf.table(table).chain(hook).and_then(|c| c.policy);
            HookOutcome {
                verdict: match pol {
                    Some(super::netfilter::Policy::Drop) => Verdict::Drop,
                    _ => Verdict::Accept,
                },
                nat: None,
                notrack: false,
                steps: if pol == Some(super::netfilter::Policy::Drop) {
                    vec![super::netfilter::NfStep {
                        table,
                        chain: hook.into(),
                        rule: 0,
                        line: 0,
                        text: String::new(),
                        effect: "policy DROP".into(),
                    }]
                } else {
                    vec![]
                },
                rules_tested: 0,
            }
        } else {
            self.nf.run_hook(table, hook, &mut pkt, &mut env)
        };
        if let Some(b) = before {
            nft_steps.extend(b.steps);
            if b.verdict != Verdict::Accept {
                out.verdict = b.verdict;
            }
            if out.nat.is_none() {
                out.nat = b.nat;
            }
            out.notrack |= b.notrack;
        }
        // ... and those after it (a NAT binding is made once: nat chains
        // after a NAT decision do not run)
        let nat_done = table == TableKind::Nat && out.nat.is_some();
        if !nft_after.is_empty() && !before_done && out.verdict == Verdict::Accept && !nat_done {
            let a = self
                .nft
                .run(&nft_after, &mut pkt, &mut env, &mut self.nft_dyn);
            nft_steps.extend(a.steps);
            out.verdict = a.verdict;
            if out.nat.is_none() {
                out.nat = a.nat;
            }
            out.notrack |= a.notrack;
        }
        *mark = pkt.mark;
        if let Some(id) = ct.id {
            if let Some(c) = self.ct.get_mut(id) {
                c.mark = pkt.ctmark;
            }
        }
        let point = format!("{}/{}", table.name(), hook);
        let only_policy_accept =
            out.steps.len() == 1 && out.steps[0].rule == 0 && out.verdict == Verdict::Accept;
        if !only_policy_accept {
            for s in &out.steps {
                let what = if s.rule == 0 {
                    format!("{}: {}", s.chain, s.effect)
                } else {
                    format!("{} #{}: {} => {}", s.chain, s.rule, s.text, s.effect)
                };
                ctx.trace.step(
                    &point,
                    what,
                    Action::Rule {
                        table: table.name().into(),
                        chain: s.chain.clone(),
                        rule: s.rule,
                        line: s.line,
                    },
                );
            }
        }
        let npoint = format!("nft/{}", hook.to_ascii_lowercase());
        for s in nft_steps {
            let what = if s.rule == 0 {
                format!("{} {}: {}", s.table, s.chain, s.effect)
            } else {
                format!(
                    "{} {} #{}: {} => {}",
                    s.table, s.chain, s.rule, s.text, s.effect
                )
            };
            ctx.trace.step(
                &npoint,
                what,
                Action::Rule {
                    table: format!("nft {}", s.table),
                    chain: s.chain.clone(),
                    rule: s.rule,
                    line: s.line,
                },
            );
            // the last step names what decided a drop or reject
            out.steps.push(super::netfilter::NfStep {
                table,
                chain: format!("{} {}", s.table, s.chain),
                rule: s.rule,
                line: s.line,
                text: s.text,
                effect: s.effect,
            });
        }
        out
    }

    /// Applies a filter verdict; returns false when the packet is gone.
    pub(crate) fn verdict_ok(
        &mut self,
        ctx: &mut Ctx,
        point: &str,
        out: &HookOutcome,
        ip: &Ipv4Repr,
        ct: &CtInfo,
        meta: Meta,
    ) -> bool {
        match out.verdict {
            Verdict::Accept => true,
            Verdict::Drop => {
                let by = out
                    .steps
                    .last()
                    .map(|s| {
                        if s.rule == 0 {
                            format!("{} policy DROP", s.chain)
                        } else {
                            format!("{} rule {} ({})", s.chain, s.rule, s.text)
                        }
                    })
                    .unwrap_or_default();
                self.drop(ctx, point, format!("dropped by {point} {by}"), ct);
                false
            }
            Verdict::Reject(w) => {
                let by = out
                    .steps
                    .last()
                    .map(|s| format!("{} rule {} ({})", s.chain, s.rule, s.text))
                    .unwrap_or_default();
                ctx.trace.step(
                    point,
                    format!("REJECT with {} by {by}", w.name()),
                    Action::Reject {
                        with: w.name().into(),
                    },
                );
                self.send_reject(ctx, ip, w, meta);
                if ct.created {
                    if let Some(id) = ct.id {
                        self.ct.remove(id);
                    }
                }
                false
            }
        }
    }

    fn send_reject(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr, w: RejectWith, meta: Meta) {
        if w == RejectWith::TcpReset {
            if let L4::Tcp { hdr, payload } = &ip.l4 {
                if hdr.rst {
                    return;
                }
                let (seq, ack) = if hdr.ack {
                    (hdr.acknowledgment_number, None)
                } else {
                    (
                        0,
                        Some(
                            hdr.sequence_number
                                .wrapping_add(payload.len() as u32)
                                .wrapping_add(hdr.syn as u32)
                                .wrapping_add(hdr.fin as u32),
                        ),
                    )
                };
                let mut t =
                    crate::wire::tcp_header(hdr.destination_port, hdr.source_port, seq, ack, 0);
                t.rst = true;
                let id = self.next_ip_id();
                let r = Ipv4Repr::new(
                    ip.dst(),
                    ip.src(),
                    64,
                    id,
                    L4::Tcp {
                        hdr: t,
                        payload: vec![],
                    },
                );
                let m = ctx.new_meta(meta.flow, Some(meta.pkt));
                ctx.out.push(Output::SendLocal {
                    ip: r,
                    meta: m,
                    note: Some("REJECT --reject-with tcp-reset".into()),
                });
                return;
            }
        }
        let code = match w {
            RejectWith::IcmpNetUnreachable => icmp::CODE_NET_UNREACH,
            RejectWith::IcmpHostUnreachable => icmp::CODE_HOST_UNREACH,
            RejectWith::IcmpProtoUnreachable => 2,
            RejectWith::IcmpNetProhibited => icmp::CODE_NET_PROHIBITED,
            RejectWith::IcmpHostProhibited => icmp::CODE_HOST_PROHIBITED,
            RejectWith::IcmpAdminProhibited => icmp::CODE_ADMIN_PROHIBITED,
            _ => icmp::CODE_PORT_UNREACH,
        };
        self.send_icmp_error(ctx, ip, icmp::DEST_UNREACH, code, [0; 4], meta, "REJECT");
    }

    /// `icmp_send`: an error about `ip` back to its source, as a locally
    /// generated packet (source chosen by the route back).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_icmp_error(
        &mut self,
        ctx: &mut Ctx,
        ip: &Ipv4Repr,
        ty: u8,
        code: u8,
        rest: [u8; 4],
        meta: Meta,
        why: &str,
    ) {
        // Never an error about an ICMP error, a broadcast, or a non-first fragment.
        if let L4::Icmp(i) = &ip.l4 {
            if i.is_error() {
                return;
            }
        }
        if ip.dst().is_broadcast() || ip.dst().is_multicast() || ip.hdr.fragment_offset.value() != 0
        {
            return;
        }
        let quoted = ip.emit();
        let err = IcmpRepr::error(ty, code, rest, &quoted);
        let id = self.next_ip_id();
        let mut r = Ipv4Repr::new(
            Ipv4Addr::UNSPECIFIED,
            ip.src(),
            64,
            id,
            L4::Icmp(err.clone()),
        );
        r.hdr.dont_fragment = false;
        r.hdr.dscp = etherparse::IpDscp::try_new(0x30).expect("valid dscp");
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.out.push(Output::SendLocal {
            ip: r,
            meta: m,
            note: Some(format!("{why}: ICMP {err} to {}", ip.src())),
        });
    }

    // ------------------------------------------------------------------ conntrack glue

    /// `nf_conntrack_in`: finds or creates the connection of a packet.
    pub(crate) fn ct_in(&mut self, ctx: &mut Ctx, ip: &Ipv4Repr) -> Result<CtInfo, String> {
        let now = ctx.now;
        // ICMP errors belong to the connection they quote (RELATED).
        if let L4::Icmp(i) = &ip.l4 {
            if i.is_error() {
                if let Some(inner) = quoted_tuple(&i.payload) {
                    let found = self
                        .ct
                        .lookup(&inner.invert(), now)
                        .or_else(|| self.ct.lookup(&inner, now).map(|(id, d)| (id, flip(d))));
                    if let Some((id, dir)) = found {
                        let c = self.ct.get(id).expect("live");
                        let bits = ctbits::RELATED
                            | (if c.dnat() { ctbits::DNAT } else { 0 })
                            | (if c.snat() { ctbits::SNAT } else { 0 });
                        ctx.trace.step(
                            "conntrack",
                            format!("RELATED to {} ({})", c.orig, dir_name(dir)),
                            Action::Conntrack {
                                state: "RELATED".into(),
                                tuple: c.orig.to_string(),
                            },
                        );
                        return Ok(CtInfo {
                            id: Some(id),
                            dir: Some(dir),
                            bits,
                            created: false,
                            related: true,
                        });
                    }
                }
                ctx.trace.step(
                    "conntrack",
                    "ICMP error for no known connection: INVALID".into(),
                    Action::Conntrack {
                        state: "INVALID".into(),
                        tuple: String::new(),
                    },
                );
                return Ok(CtInfo {
                    bits: ctbits::INVALID,
                    ..Default::default()
                });
            }
        }
        let t = packet_tuple(ip);
        let flags = ip.tcp_flags();
        if let Some((id, dir)) = self.ct.lookup(&t, now) {
            self.ct.update(id, dir, flags, now);
            let c = self.ct.get(id).expect("live");
            let bits = c.ctstate(dir);
            ctx.trace.step(
                "conntrack",
                format!(
                    "{} {} ({}), {}",
                    if bits & ctbits::ESTABLISHED != 0 {
                        "ESTABLISHED"
                    } else {
                        "NEW"
                    },
                    c.orig,
                    dir_name(dir),
                    c.state_name()
                ),
                Action::Conntrack {
                    state: c.state_name(),
                    tuple: c.orig.to_string(),
                },
            );
            return Ok(CtInfo {
                id: Some(id),
                dir: Some(dir),
                bits,
                created: false,
                related: false,
            });
        }
        // No entry: only some packets may start a connection.
        let invalid = match (ip.proto(), flags) {
            (6, Some(f)) => {
                let syn = f & 0x02 != 0;
                let ack = f & 0x10 != 0;
                let rst = f & 0x04 != 0;
                let fin = f & 0x01 != 0;
                // tcp_new(): SYN starts; with nf_conntrack_tcp_loose a bare ACK
                // picks up a connection mid-stream; SYN/ACK, RST, FIN do not.
                rst || fin || (syn && ack) || (!syn && !ack)
            }
            (1, _) => matches!(&ip.l4, L4::Icmp(i) if i.icmp_type != icmp::ECHO_REQUEST),
            _ => false,
        };
        if invalid {
            ctx.trace.step(
                "conntrack",
                format!("no connection for {t}: INVALID"),
                Action::Conntrack {
                    state: "INVALID".into(),
                    tuple: t.to_string(),
                },
            );
            return Ok(CtInfo {
                bits: ctbits::INVALID,
                ..Default::default()
            });
        }
        let Some(id) = self.ct.create(t, now) else {
            return Err(format!(
                "nf_conntrack: table full ({} entries), dropping packet",
                self.ct.max
            ));
        };
        self.ct.update(id, Dir::Original, flags, now);
        ctx.trace.step(
            "conntrack",
            format!("NEW {t}"),
            Action::Conntrack {
                state: "NEW".into(),
                tuple: t.to_string(),
            },
        );
        Ok(CtInfo {
            id: Some(id),
            dir: Some(Dir::Original),
            bits: ctbits::NEW,
            created: true,
            related: false,
        })
    }

    /// Takes the NAT decision of one manip type for a new connection
    /// (`nf_nat_setup_info`), from the nat table's outcome.
    pub(crate) fn nat_setup(
        &mut self,
        ctx: &mut Ctx,
        ct: &CtInfo,
        out: &HookOutcome,
        src_manip: bool,
        dev: Option<usize>,
        nexthop: Option<Ipv4Addr>,
    ) -> Result<(), String> {
        let Some(id) = ct.id else { return Ok(()) };
        let c = self.ct.get(id).expect("live").clone();
        let mut reply = c.reply;
        match (&out.nat, src_manip) {
            (Some(Target::Dnat { to, random, .. }), false) => {
                let addr = pick_addr(to.addr_lo, to.addr_hi, *random, &mut self.rng, &c.orig)
                    .unwrap_or(c.orig.dst);
                reply.src = addr;
                if let Some((lo, hi)) = to.ports {
                    reply.sport = if lo == hi {
                        lo
                    } else {
                        lo + (crate::det::stable_hash(&c.orig.sport.to_be_bytes())
                            % (hi - lo + 1) as u64) as u16
                    };
                }
            }
            (Some(Target::Redirect { ports }), false) => {
                // REDIRECT: to the primary address of the incoming device, or
                // 127.0.0.1 for locally generated packets.
                let addr = match dev {
                    Some(d) => self.devs[d].addrs.first().map(|a| a.addr()),
                    None => Some(Ipv4Addr::LOCALHOST),
                };
                let Some(addr) = addr else {
                    return Err("REDIRECT: incoming device has no address".into());
                };
                reply.src = addr;
                if let Some((lo, _)) = ports {
                    reply.sport = *lo;
                }
            }
            (
                Some(Target::Snat {
                    to,
                    random,
                    random_fully,
                    ..
                }),
                true,
            ) => {
                let addr = pick_addr(to.addr_lo, to.addr_hi, *random, &mut self.rng, &c.orig)
                    .unwrap_or(c.orig.src);
                reply.dst = addr;
                reply.dport =
                    self.nat_unique_port(&c.orig, reply, to.ports, *random_fully, ctx.now);
            }
            (
                Some(Target::Masquerade {
                    ports,
                    random_fully,
                    ..
                }),
                true,
            ) => {
                let d = dev.expect("POSTROUTING has an output device");
                let Some(addr) = self.select_src(d, nexthop.unwrap_or(c.orig.dst)) else {
                    return Err(format!(
                        "MASQUERADE: {} has no address to masquerade as",
                        self.devs[d].name
                    ));
                };
                reply.dst = addr;
                reply.dport = self.nat_unique_port(&c.orig, reply, *ports, *random_fully, ctx.now);
            }
            _ => {}
        }
        let changed = reply != c.reply;
        if changed {
            self.ct.set_reply(id, reply);
        }
        if let Some(c) = self.ct.get_mut(id) {
            if src_manip {
                c.src_nat_done = true;
            } else {
                c.dst_nat_done = true;
            }
            if changed {
                c.nat_by[usize::from(!src_manip)] = out.steps.last().map(|s| {
                    if s.rule == 0 {
                        s.chain.clone()
                    } else {
                        format!("{} #{}: {}", s.chain, s.rule, s.text)
                    }
                });
            }
        }
        Ok(())
    }

    /// `nf_nat_l4proto_unique_tuple`: keep the source port when the resulting
    /// reply tuple is free (and no range or --random-fully forces a choice);
    /// otherwise search the range from an offset (a hash of the tuple, or a
    /// seeded random draw with --random-fully).
    fn nat_unique_port(
        &mut self,
        orig: &Tuple,
        mut reply: Tuple,
        range: Option<(u16, u16)>,
        random_fully: bool,
        now: u64,
    ) -> u16 {
        if orig.proto != 6 && orig.proto != 17 && orig.proto != 132 {
            return reply.dport;
        }
        let sport = orig.sport;
        let in_range = range.is_none_or(|(lo, hi)| (lo..=hi).contains(&sport));
        reply.dport = sport;
        if in_range && !random_fully && !self.ct.tuple_taken(&reply, now) {
            return sport;
        }
        let (lo, hi) = range.unwrap_or(if sport < 512 {
            (1, 511)
        } else if sport < 1024 {
            (600, 1023)
        } else {
            (1024, 65535)
        });
        let size = (hi - lo) as u32 + 1;
        let off = if random_fully {
            rand_core::Rng::next_u32(&mut self.rng)
        } else {
            let mut b = Vec::new();
            b.extend_from_slice(&orig.src.octets());
            b.extend_from_slice(&orig.dst.octets());
            b.extend_from_slice(&orig.dport.to_be_bytes());
            b.extend_from_slice(&reply.dst.octets());
            crate::det::stable_hash(&b) as u32
        };
        for i in 0..size {
            let p = lo + ((off.wrapping_add(i)) % size) as u16;
            reply.dport = p;
            if !self.ct.tuple_taken(&reply, now) {
                return p;
            }
        }
        sport
    }

    /// Rewrites the packet to its connection's NAT target (`nf_nat_manip_pkt`)
    /// for one manip type, and for a RELATED ICMP error the quoted packet too.
    pub(crate) fn nat_manip(
        &mut self,
        ctx: &mut Ctx,
        ip: &mut Ipv4Repr,
        ct: &CtInfo,
        src_manip: bool,
    ) {
        let (Some(id), Some(dir)) = (ct.id, ct.dir) else {
            return;
        };
        let Some(c) = self.ct.get(id) else { return };
        let t = c.target(dir);
        let before = ip_endpoint(ip, src_manip);
        if ct.related {
            // nf_nat_icmp_reply_translation: only when the connection has
            // the NAT this hook does (source manip: SNAT, inverted for the
            // reply direction).
            let want_snat = src_manip == (dir == Dir::Original);
            let has = if want_snat { c.snat() } else { c.dnat() };
            if !has {
                return;
            }
            // Outer header: like the reply to an incoming packet.
            if src_manip {
                ip.set_src(t.src);
            } else {
                ip.set_dst(t.dst);
            }
            // Quoted packet travels the other way: undo its NAT too.
            if let L4::Icmp(i) = &mut ip.l4 {
                let qt = c.target(flip(dir));
                rewrite_quoted(&mut i.payload, &qt, src_manip);
            }
        } else if src_manip {
            ip.set_src(t.src);
            set_l4_port(ip, true, t.sport);
        } else {
            ip.set_dst(t.dst);
            set_l4_port(ip, false, t.dport);
        }
        let after = ip_endpoint(ip, src_manip);
        if before != after {
            // the packet that made the binding names what made it
            let by = if ct.created && dir == Dir::Original {
                c.nat_by[usize::from(!src_manip)].clone()
            } else {
                None
            };
            let (point, action) = if src_manip {
                (
                    "nat",
                    Action::Snat {
                        from: before.clone(),
                        to: after.clone(),
                        reply: dir == Dir::Reply,
                        by,
                    },
                )
            } else {
                (
                    "nat",
                    Action::Dnat {
                        from: before.clone(),
                        to: after.clone(),
                        reply: dir == Dir::Reply,
                        by,
                    },
                )
            };
            let kind = match (src_manip, dir) {
                (true, Dir::Original) => "SNAT",
                (false, Dir::Original) => "DNAT",
                (true, Dir::Reply) => "reverse DNAT (reply source restored)",
                (false, Dir::Reply) => "reverse SNAT (reply destination restored)",
            };
            ctx.trace
                .step(point, format!("{kind}: {before} -> {after}"), action);
        }
    }

    // ------------------------------------------------------------------ input

    pub(crate) fn ip_rcv(&mut self, ctx: &mut Ctx, dev: usize, mut ip: Ipv4Repr, meta: Meta) {
        let dn = self.devs[dev].name.clone();
        let lo = self.devs[dev].kind == DevKind::Loopback;
        let none = CtInfo::default();
        if !lo && !self.sysctl.route_localnet(&dn) {
            if ip.src().is_loopback() {
                self.drop(
                    ctx,
                    "ip_rcv",
                    format!("martian source {} on {dn}", ip.src()),
                    &none,
                );
                return;
            }
            if ip.dst().is_loopback() {
                self.drop(
                    ctx,
                    "ip_rcv",
                    format!(
                        "martian destination {} on {dn} (route_localnet=0)",
                        ip.dst()
                    ),
                    &none,
                );
                return;
            }
        }
        if ip.src().is_multicast() || ip.src().is_broadcast() {
            self.drop(ctx, "ip_rcv", format!("martian source {}", ip.src()), &none);
            return;
        }
        let mut mark = 0u32;
        let raw = self.nf_hook(
            ctx,
            TableKind::Raw,
            "PREROUTING",
            &ip,
            Some(dev),
            None,
            &mut mark,
            &none,
            None,
        );
        if !self.verdict_ok(ctx, "raw/PREROUTING", &raw, &ip, &none, meta) {
            return;
        }
        let lo_ct = meta
            .lo_ct
            .filter(|_| self.devs[dev].kind == DevKind::Loopback)
            .and_then(|(id, dir)| {
                self.ct
                    .get(id)
                    .map(|c| (id, dir, c.ctstate(dir), c.orig.to_string()))
            });
        let ct = if let Some((id, dir, bits, orig)) = lo_ct {
            // nf_conntrack_in: "previously seen (loopback)": the entry
            // attached in OUTPUT is kept, NAT already decided
            ctx.trace.step(
                "conntrack",
                format!(
                    "{orig} ({}): came through loopback with its entry",
                    dir_name(dir)
                ),
                Action::Info,
            );
            CtInfo {
                id: Some(id),
                dir: Some(dir),
                bits,
                created: false,
                related: false,
            }
        } else if raw.notrack {
            CtInfo {
                bits: ctbits::UNTRACKED,
                ..Default::default()
            }
        } else {
            match self.ct_in(ctx, &ip) {
                Ok(c) => c,
                Err(reason) => {
                    self.drop(ctx, "conntrack", reason, &none);
                    return;
                }
            }
        };
        self.prerouting_nat_and_route(ctx, dev, &mut ip, meta, mark, ct, None);
    }

    /// mangle/nat PREROUTING, DNAT, and the input route decision. Shared by
    /// ip_rcv and br_netfilter's routed path.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn prerouting_nat_and_route(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &mut Ipv4Repr,
        meta: Meta,
        mut mark: u32,
        ct: CtInfo,
        skip_hooks: Option<()>,
    ) {
        if skip_hooks.is_none() {
            let mangle = self.nf_hook(
                ctx,
                TableKind::Mangle,
                "PREROUTING",
                ip,
                Some(dev),
                None,
                &mut mark,
                &ct,
                None,
            );
            if !self.verdict_ok(ctx, "mangle/PREROUTING", &mangle, ip, &ct, meta) {
                return;
            }
            if self.needs_nat(&ct, false) {
                let nat = self.nf_hook(
                    ctx,
                    TableKind::Nat,
                    "PREROUTING",
                    ip,
                    Some(dev),
                    None,
                    &mut mark,
                    &ct,
                    None,
                );
                if let Err(e) = self.nat_setup(ctx, &ct, &nat, false, Some(dev), None) {
                    self.drop(ctx, "nat/PREROUTING", e, &ct);
                    return;
                }
            }
            self.nat_manip(ctx, ip, &ct, false);
        }
        self.route_input(ctx, dev, ip.clone(), meta, mark, ct);
    }

    pub(crate) fn needs_nat(&self, ct: &CtInfo, src_manip: bool) -> bool {
        match (ct.id, ct.related) {
            (Some(id), false) => self.ct.get(id).is_some_and(|c| {
                if src_manip {
                    !c.src_nat_done
                } else {
                    !c.dst_nat_done
                }
            }),
            _ => false,
        }
    }

    fn route_input(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv4Repr,
        meta: Meta,
        mark: u32,
        ct: CtInfo,
    ) {
        let dn = self.devs[dev].name.clone();
        if ip.dst().is_multicast() {
            // ip_route_input_mc: local delivery when a socket joined the
            // group on this device; no multicast forwarding (no mroute).
            if self.mc_groups.contains(&(dev, ip.dst())) {
                ctx.trace.step(
                    "routing",
                    format!(
                        "{}: multicast group joined on {dn}: local delivery",
                        ip.dst()
                    ),
                    Action::Info,
                );
                self.ip_local_deliver(ctx, dev, ip, meta, mark, ct);
            } else {
                self.drop(
                    ctx,
                    "routing",
                    format!(
                        "{}: multicast group not joined on {dn} (and no multicast routing): discarded",
                        ip.dst()
                    ),
                    &ct,
                );
            }
            return;
        }
        let key = FlowKey {
            dst: Some(ip.dst()),
            src: Some(ip.src()),
            mark,
            iif: Some(&dn),
            oif: None,
        };
        let res = self.fib.lookup(&key, None);
        let l = match res {
            Ok(l) => l,
            Err(_) => {
                self.drop(
                    ctx,
                    "routing",
                    format!("no route to {} in any table the rules select", ip.dst()),
                    &ct,
                );
                if self.sysctl.ip_forward() {
                    self.send_icmp_error(
                        ctx,
                        &ip,
                        icmp::DEST_UNREACH,
                        icmp::CODE_NET_UNREACH,
                        [0; 4],
                        meta,
                        "no route",
                    );
                }
                return;
            }
        };
        self.route_step(ctx, &l, ip.dst());
        match l.route.rtype {
            RouteType::Local => {
                if !self.rp_filter_ok(ctx, dev, &ip, mark, &ct) {
                    return;
                }
                self.ip_local_deliver(ctx, dev, ip, meta, mark, ct);
            }
            RouteType::Unicast => {
                if !self.sysctl.ip_forward() {
                    self.drop(
                        ctx,
                        "routing",
                        format!(
                            "{} is not a local address and net.ipv4.ip_forward=0: not forwarding",
                            ip.dst()
                        ),
                        &ct,
                    );
                    return;
                }
                if self.is_local(ip.src()) {
                    self.drop(
                        ctx,
                        "routing",
                        format!(
                            "martian source {}: one of our own addresses arriving on {dn}",
                            ip.src()
                        ),
                        &ct,
                    );
                    return;
                }
                if !self.rp_filter_ok(ctx, dev, &ip, mark, &ct) {
                    return;
                }
                self.ip_forward(ctx, dev, ip, meta, mark, ct, &l);
            }
            RouteType::Blackhole => {
                self.drop(
                    ctx,
                    "routing",
                    format!(
                        "blackhole route {} in table {}",
                        l.route.dst,
                        table_name(l.table)
                    ),
                    &ct,
                );
            }
            RouteType::Unreachable | RouteType::Prohibit | RouteType::Throw => {
                let (code, w) = if l.route.rtype == RouteType::Prohibit {
                    (icmp::CODE_ADMIN_PROHIBITED, "prohibit")
                } else {
                    (icmp::CODE_HOST_UNREACH, "unreachable")
                };
                self.drop(
                    ctx,
                    "routing",
                    format!("{w} route {} in table {}", l.route.dst, table_name(l.table)),
                    &ct,
                );
                self.send_icmp_error(ctx, &ip, icmp::DEST_UNREACH, code, [0; 4], meta, w);
            }
        }
    }

    fn route_step(&self, ctx: &mut Ctx, l: &Lookup, dst: Ipv4Addr) {
        let r = &l.route;
        let dev = r.dev.map(|i| self.devs[i].name.clone());
        let mut what = format!("{dst}: ");
        if l.rule_priority != 0 || l.table != super::fib::TABLE_LOCAL {
            what.push_str(&format!("rule {} -> ", l.rule_priority));
        }
        what.push_str(&format!("table {}: ", table_name(l.table)));
        if r.rtype != RouteType::Unicast {
            what.push_str(r.rtype.name());
            what.push(' ');
        }
        what.push_str(&r.dst.to_string());
        if let Some(v) = r.via {
            what.push_str(&format!(" via {v}"));
        }
        if let Some(d) = &dev {
            what.push_str(&format!(" dev {d}"));
        }
        if let Some(s) = r.src {
            what.push_str(&format!(" src {s}"));
        }
        ctx.trace.step(
            "routing",
            what,
            Action::Route {
                table: table_name(l.table),
                prefix: r.dst.to_string(),
                via: r.via.map(|v| v.to_string()),
                dev,
                src: r.src.map(|s| s.to_string()),
                rtype: r.rtype.name().into(),
            },
        );
    }

    /// `fib_validate_source`: reverse-path filtering.
    fn rp_filter_ok(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv4Repr,
        mark: u32,
        ct: &CtInfo,
    ) -> bool {
        let dn = self.devs[dev].name.clone();
        let mode = self.sysctl.rp_filter(&dn);
        if mode == 0 || self.devs[dev].kind == DevKind::Loopback || ip.src().is_unspecified() {
            return true;
        }
        let key = FlowKey {
            dst: Some(ip.src()),
            src: Some(ip.dst()),
            mark,
            iif: None,
            oif: None,
        };
        let back = self.fib.lookup(&key, None);
        let ok = match (&back, mode) {
            (Ok(l), 1) => l.route.dev == Some(dev) && l.route.rtype == RouteType::Unicast,
            (Ok(l), _) => matches!(l.route.rtype, RouteType::Unicast | RouteType::Local),
            (Err(_), _) => false,
        };
        if !ok {
            let via = match &back {
                Ok(l) => l
                    .route
                    .dev
                    .map(|d| {
                        format!(
                            "a reply to {} would leave via {}",
                            ip.src(),
                            self.devs[d].name
                        )
                    })
                    .unwrap_or_else(|| {
                        format!("the route back to {} is {}", ip.src(), l.route.rtype.name())
                    }),
                Err(_) => format!("there is no route back to {}", ip.src()),
            };
            let m = if mode == 1 { "strict" } else { "loose" };
            self.drop(
                ctx,
                "rp_filter",
                format!("rp_filter={mode} ({m}) on {dn}: {via}, not {dn}"),
                ct,
            );
            return false;
        }
        true
    }

    fn ip_local_deliver(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        mut ip: Ipv4Repr,
        meta: Meta,
        mut mark: u32,
        ct: CtInfo,
    ) {
        let mangle = self.nf_hook(
            ctx,
            TableKind::Mangle,
            "INPUT",
            &ip,
            Some(dev),
            None,
            &mut mark,
            &ct,
            None,
        );
        if !self.verdict_ok(ctx, "mangle/INPUT", &mangle, &ip, &ct, meta) {
            return;
        }
        let filter = self.nf_hook(
            ctx,
            TableKind::Filter,
            "INPUT",
            &ip,
            Some(dev),
            None,
            &mut mark,
            &ct,
            None,
        );
        if !self.verdict_ok(ctx, "filter/INPUT", &filter, &ip, &ct, meta) {
            return;
        }
        if self.ipvs_in(ctx, dev, &ip, meta, mark, &ct) {
            return;
        }
        if self.needs_nat(&ct, true) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                "INPUT",
                &ip,
                Some(dev),
                None,
                &mut mark,
                &ct,
                None,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, true, Some(dev), None) {
                self.drop(ctx, "nat/INPUT", e, &ct);
                return;
            }
        }
        self.nat_manip(ctx, &mut ip, &ct, true);
        match ip.proto() {
            6 => self.tcp_rcv(ctx, ip, meta),
            17 => self.udp_rcv(ctx, ip, meta),
            1 => self.icmp_rcv(ctx, ip, meta),
            4 if self.devs.iter().any(|d| d.kind == DevKind::Ipip && d.up) => {
                self.ipip_rcv(ctx, &ip, meta)
            }
            p if self.raw_listeners.contains_key(&p) => {
                let app = self.raw_listeners[&p];
                ctx.trace.step(
                    "raw",
                    format!(
                        "IP protocol {p}: to the raw socket of {}",
                        self.apps[app].name()
                    ),
                    Action::Info,
                );
                let data = match &ip.l4 {
                    L4::Raw(d) => d.clone(),
                    _ => Vec::new(),
                };
                ctx.out.push(Output::AppEvent {
                    app,
                    ev: crate::app::AppEvent::Raw {
                        dev,
                        src: ip.src(),
                        dst: ip.dst(),
                        ttl: ip.hdr.time_to_live,
                        proto: p,
                        data,
                        pkt: meta.pkt,
                    },
                });
            }
            p => {
                self.drop(
                    ctx,
                    "ip_local_deliver",
                    format!("no handler for IP protocol {p}"),
                    &ct,
                );
                self.send_icmp_error(
                    ctx,
                    &ip,
                    icmp::DEST_UNREACH,
                    2,
                    [0; 4],
                    meta,
                    "protocol unreachable",
                );
            }
        }
    }

    /// IPVS at LOCAL_IN: a new connection to a virtual service is given a
    /// real server, DNATed (conntrack altered) and sent on (see net/ipvs).
    /// Returns true when IPVS took the packet.
    fn ipvs_in(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv4Repr,
        meta: Meta,
        mark: u32,
        ct: &CtInfo,
    ) -> bool {
        if self.ipvs.services.is_empty() {
            return false;
        }
        let Some((_, dport)) = ip.ports() else {
            return false;
        };
        let Some(vi) = self.ipvs.find(ip.proto(), ip.dst(), dport) else {
            return false;
        };
        // Packets of a connection already scheduled follow conntrack.
        let Some(id) = ct.id else { return false };
        let Some(c) = self.ct.get(id) else {
            return false;
        };
        if c.dnat() || ct.dir != Some(super::conntrack::Dir::Original) {
            return false;
        }
        let vs_text = format!("{}:{}", ip.dst(), dport);
        let sched = self.ipvs.services[vi].scheduler;
        let Some(ri) = self.ipvs.services[vi].schedule(ip.src()) else {
            // ip_vs_schedule finds no destination: ip_vs_leave answers ICMP
            // port unreachable and drops
            self.drop(
                ctx,
                "ipvs",
                format!(
                    "virtual service {vs_text} has no real server with weight > 0: ICMP port unreachable"
                ),
                ct,
            );
            self.send_icmp_error(
                ctx,
                ip,
                icmp::DEST_UNREACH,
                icmp::CODE_PORT_UNREACH,
                [0; 4],
                meta,
                "IPVS: no destination available",
            );
            return true;
        };
        let rs = self.ipvs.services[vi].reals[ri].clone();
        let n = self.ipvs.services[vi].reals.len();
        ctx.trace.step(
            "ipvs",
            format!(
                "virtual service {vs_text} ({}): real server {}:{} ({} of {n}), masquerading forward",
                sched.name(),
                rs.ip,
                rs.port,
                ri + 1
            ),
            Action::Info,
        );
        let out = super::netfilter::HookOutcome {
            verdict: Verdict::Accept,
            nat: Some(super::netfilter::Target::Dnat {
                to: super::netfilter::NatRange {
                    addr_lo: Some(rs.ip),
                    addr_hi: Some(rs.ip),
                    ports: Some((rs.port, rs.port)),
                },
                random: false,
                persistent: false,
            }),
            notrack: false,
            // what made the binding, for the trace's NAT step
            steps: vec![super::netfilter::NfStep {
                table: TableKind::Nat,
                chain: format!("IPVS virtual service {vs_text}"),
                rule: 0,
                line: 0,
                text: String::new(),
                effect: String::new(),
            }],
            rules_tested: 0,
        };
        if let Err(e) = self.nat_setup(ctx, ct, &out, false, None, None) {
            self.drop(ctx, "ipvs", e, ct);
            return true;
        }
        let mut ip = ip.clone();
        self.nat_manip(ctx, &mut ip, ct, false);
        // ip_vs_nat_xmit: routed to the real server, then POSTROUTING.
        let key = self.route_key(ip.dst(), None, mark, None);
        let l = match self.fib.lookup(&key, None) {
            Ok(l) => l,
            Err(_) => {
                self.drop(
                    ctx,
                    "ipvs",
                    format!("no route to real server {}", rs.ip),
                    ct,
                );
                return true;
            }
        };
        self.route_step(ctx, &l, ip.dst());
        let Some(out_dev) = l.route.dev else {
            self.drop(ctx, "ipvs", "route has no device".into(), ct);
            return true;
        };
        let nexthop = l.route.via.unwrap_or(ip.dst());
        self.postrouting(ctx, ip, Some(dev), out_dev, nexthop, meta, mark, *ct);
        true
    }

    fn udp_rcv(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta) {
        if self.vxlan_rcv(ctx, &ip, meta) || self.wg_rcv(ctx, &ip, meta) {
            return;
        }
        let L4::Udp { hdr, payload } = &ip.l4 else {
            return;
        };
        match self.udp_listeners.get(&hdr.destination_port).copied() {
            Some(app) => {
                ctx.trace.step(
                    "udp",
                    format!(
                        "deliver {} bytes to socket *:{}",
                        payload.len(),
                        hdr.destination_port
                    ),
                    Action::Deliver {
                        socket: format!("udp *:{}", hdr.destination_port),
                    },
                );
                ctx.out.push(Output::AppEvent {
                    app,
                    ev: crate::app::AppEvent::Datagram {
                        from: (ip.src(), hdr.source_port),
                        to: (ip.dst(), hdr.destination_port),
                        data: payload.clone(),
                        flow: meta.flow,
                        pkt: meta.pkt,
                    },
                });
            }
            None => {
                self.drop(
                    ctx,
                    "udp",
                    format!("no socket on UDP port {}", hdr.destination_port),
                    &CtInfo::default(),
                );
                self.send_icmp_error(
                    ctx,
                    &ip,
                    icmp::DEST_UNREACH,
                    icmp::CODE_PORT_UNREACH,
                    [0; 4],
                    meta,
                    "closed UDP port",
                );
            }
        }
    }

    fn icmp_rcv(&mut self, ctx: &mut Ctx, ip: Ipv4Repr, meta: Meta) {
        let L4::Icmp(i) = &ip.l4 else { return };
        match i.icmp_type {
            icmp::ECHO_REQUEST => {
                ctx.trace
                    .step("icmp", "echo request: answering".into(), Action::Info);
                let mut reply = i.clone();
                reply.icmp_type = icmp::ECHO_REPLY;
                let id = self.next_ip_id();
                let mut r = Ipv4Repr::new(ip.dst(), ip.src(), 64, id, L4::Icmp(reply));
                r.hdr.dont_fragment = false;
                let m = ctx.new_meta(meta.flow, Some(meta.pkt));
                ctx.out.push(Output::Served {
                    flow: meta.flow,
                    app: "kernel (ICMP echo)".into(),
                });
                ctx.out.push(Output::SendLocal {
                    ip: r,
                    meta: m,
                    note: Some("icmp echo reply".into()),
                });
            }
            icmp::ECHO_REPLY => {
                let id = i.echo_id();
                let app = self
                    .apps
                    .iter()
                    .position(|a| matches!(a, crate::app::App::Ping(p) if p.id == id && !p.done));
                let Some(app) = app else {
                    ctx.trace.step(
                        "icmp",
                        "echo reply: no ping socket waits for it".into(),
                        Action::Info,
                    );
                    return;
                };
                ctx.trace.step(
                    "icmp",
                    format!("echo reply id {id}: to the ping socket"),
                    Action::Deliver {
                        socket: "ping".into(),
                    },
                );
                let ev = crate::app::AppEvent::Icmp {
                    from: ip.src(),
                    msg: i.clone(),
                    ttl: ip.hdr.time_to_live,
                };
                self.app_event(ctx, app, ev);
            }
            _ => {
                // Errors go to the socket of the quoted connection.
                let what = format!("ICMP {i} received");
                ctx.trace.step(
                    "icmp",
                    what.clone(),
                    Action::Deliver {
                        socket: "icmp".into(),
                    },
                );
                if i.is_error() {
                    if let Some(t) = quoted_tuple(&i.payload) {
                        if t.proto == 1 {
                            let app = self.apps.iter().position(|a| {
                                matches!(a, crate::app::App::Ping(p) if p.id == t.sport && !p.done)
                            });
                            if let Some(app) = app {
                                let ev = crate::app::AppEvent::Icmp {
                                    from: ip.src(),
                                    msg: i.clone(),
                                    ttl: ip.hdr.time_to_live,
                                };
                                self.app_event(ctx, app, ev);
                            }
                        } else {
                            self.tcp_icmp_error(ctx, &t, i, meta);
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ forward

    #[allow(clippy::too_many_arguments)]
    fn ip_forward(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        mut ip: Ipv4Repr,
        meta: Meta,
        mut mark: u32,
        ct: CtInfo,
        l: &Lookup,
    ) {
        let Some(out) = l.route.dev else {
            self.drop(ctx, "ip_forward", "route has no device".into(), &ct);
            return;
        };
        if ip.hdr.time_to_live <= 1 {
            self.drop(
                ctx,
                "ip_forward",
                format!("TTL {} expired in transit", ip.hdr.time_to_live),
                &ct,
            );
            self.send_icmp_error(
                ctx,
                &ip,
                icmp::TIME_EXCEEDED,
                0,
                [0; 4],
                meta,
                "TTL exceeded",
            );
            return;
        }
        let mtu = self.devs[out].mtu as usize;
        if ip.total_len() > mtu && ip.hdr.dont_fragment {
            self.drop(
                ctx,
                "ip_forward",
                format!(
                    "{} bytes exceed the MTU {} of {} and DF is set",
                    ip.total_len(),
                    mtu,
                    self.devs[out].name
                ),
                &ct,
            );
            let m = (mtu as u16).to_be_bytes();
            self.send_icmp_error(
                ctx,
                &ip,
                icmp::DEST_UNREACH,
                icmp::CODE_FRAG_NEEDED,
                [0, 0, m[0], m[1]],
                meta,
                "PMTU",
            );
            return;
        }
        ip.hdr.time_to_live -= 1;
        let mangle = self.nf_hook(
            ctx,
            TableKind::Mangle,
            "FORWARD",
            &ip,
            Some(dev),
            Some(out),
            &mut mark,
            &ct,
            None,
        );
        if !self.verdict_ok(ctx, "mangle/FORWARD", &mangle, &ip, &ct, meta) {
            return;
        }
        let filter = self.nf_hook(
            ctx,
            TableKind::Filter,
            "FORWARD",
            &ip,
            Some(dev),
            Some(out),
            &mut mark,
            &ct,
            None,
        );
        if !self.verdict_ok(ctx, "filter/FORWARD", &filter, &ip, &ct, meta) {
            return;
        }
        let nexthop = l.route.via.unwrap_or(ip.dst());
        self.postrouting(ctx, ip, Some(dev), out, nexthop, meta, mark, ct);
    }

    // ------------------------------------------------------------------ output

    /// `ip_queue_xmit` / `ip_local_out` for a locally generated packet. A zero
    /// source address is filled in from the route, as for an unbound socket.
    pub(crate) fn ip_output_local(&mut self, ctx: &mut Ctx, mut ip: Ipv4Repr, meta: Meta) {
        // A packet released from the ARP queue already went through the hooks.
        if let Some(pos) = self.resume.iter().position(|(p, _, _)| *p == meta.pkt) {
            let (_, dev, bridged) = self.resume.remove(pos);
            let nexthop = self.pending_nexthop(dev, &ip);
            match bridged {
                Some(b) => self.bridged_dnat_resume(ctx, dev, nexthop, ip, meta, b),
                None => self.neigh_output(ctx, dev, nexthop, ip, meta),
            }
            return;
        }
        let mut mark = 0u32;
        let src = (!ip.src().is_unspecified()).then_some(ip.src());
        let key = FlowKey {
            dst: Some(ip.dst()),
            src,
            mark,
            iif: None,
            oif: None,
        };
        let l = match self.fib.lookup(&key, None) {
            Ok(l) => l,
            Err(_) => {
                self.drop(
                    ctx,
                    "routing",
                    format!("no route to {} (ENETUNREACH)", ip.dst()),
                    &CtInfo::default(),
                );
                return;
            }
        };
        self.route_step(ctx, &l, ip.dst());
        let (out, nexthop) = match l.route.rtype {
            RouteType::Local => (0usize, ip.dst()),
            RouteType::Unicast => match l.route.dev {
                Some(d) => (d, l.route.via.unwrap_or(ip.dst())),
                None => {
                    self.drop(
                        ctx,
                        "routing",
                        "route has no device".into(),
                        &CtInfo::default(),
                    );
                    return;
                }
            },
            t => {
                self.drop(
                    ctx,
                    "routing",
                    format!("{} route to {}", t.name(), ip.dst()),
                    &CtInfo::default(),
                );
                return;
            }
        };
        if src.is_none() {
            let s = l.route.src.or_else(|| self.select_src(out, nexthop));
            match s {
                Some(s) => ip.set_src(s),
                None => {
                    self.drop(
                        ctx,
                        "routing",
                        "no source address available (EADDRNOTAVAIL)".into(),
                        &CtInfo::default(),
                    );
                    return;
                }
            }
        }
        let none = CtInfo::default();
        let raw = self.nf_hook(
            ctx,
            TableKind::Raw,
            "OUTPUT",
            &ip,
            None,
            Some(out),
            &mut mark,
            &none,
            None,
        );
        if !self.verdict_ok(ctx, "raw/OUTPUT", &raw, &ip, &none, meta) {
            return;
        }
        let ct = if raw.notrack {
            CtInfo {
                bits: ctbits::UNTRACKED,
                ..Default::default()
            }
        } else {
            match self.ct_in(ctx, &ip) {
                Ok(c) => c,
                Err(reason) => {
                    self.drop(ctx, "conntrack", reason, &none);
                    return;
                }
            }
        };
        let mangle = self.nf_hook(
            ctx,
            TableKind::Mangle,
            "OUTPUT",
            &ip,
            None,
            Some(out),
            &mut mark,
            &ct,
            None,
        );
        if !self.verdict_ok(ctx, "mangle/OUTPUT", &mangle, &ip, &ct, meta) {
            return;
        }
        if self.needs_nat(&ct, false) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                "OUTPUT",
                &ip,
                None,
                Some(out),
                &mut mark,
                &ct,
                None,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, false, None, None) {
                self.drop(ctx, "nat/OUTPUT", e, &ct);
                return;
            }
        }
        let dst_before = ip.dst();
        self.nat_manip(ctx, &mut ip, &ct, false);
        let (mut out, mut nexthop) = (out, nexthop);
        if ip.dst() != dst_before || mark != 0 {
            // ip_route_me_harder: the destination (or mark) changed; route again.
            let key = FlowKey {
                dst: Some(ip.dst()),
                src: Some(ip.src()),
                mark,
                iif: None,
                oif: None,
            };
            match self.fib.lookup(&key, None) {
                Ok(l2) => {
                    if ip.dst() != dst_before {
                        self.route_step(ctx, &l2, ip.dst());
                    }
                    match (l2.route.rtype, l2.route.dev) {
                        (RouteType::Local, _) => {
                            out = 0;
                            nexthop = ip.dst();
                        }
                        (RouteType::Unicast, Some(d)) => {
                            out = d;
                            nexthop = l2.route.via.unwrap_or(ip.dst());
                        }
                        (t, _) => {
                            self.drop(
                                ctx,
                                "routing",
                                format!("{} route to {} after NAT", t.name(), ip.dst()),
                                &ct,
                            );
                            return;
                        }
                    }
                }
                Err(_) => {
                    self.drop(
                        ctx,
                        "routing",
                        format!("no route to {} after NAT", ip.dst()),
                        &ct,
                    );
                    return;
                }
            }
        }
        let filter = self.nf_hook(
            ctx,
            TableKind::Filter,
            "OUTPUT",
            &ip,
            None,
            Some(out),
            &mut mark,
            &ct,
            None,
        );
        if !self.verdict_ok(ctx, "filter/OUTPUT", &filter, &ip, &ct, meta) {
            return;
        }
        self.postrouting(ctx, ip, None, out, nexthop, meta, mark, ct);
    }

    #[allow(clippy::too_many_arguments)]
    fn postrouting(
        &mut self,
        ctx: &mut Ctx,
        mut ip: Ipv4Repr,
        in_dev: Option<usize>,
        out: usize,
        nexthop: Ipv4Addr,
        meta: Meta,
        mut mark: u32,
        ct: CtInfo,
    ) {
        let mangle = self.nf_hook(
            ctx,
            TableKind::Mangle,
            "POSTROUTING",
            &ip,
            in_dev,
            Some(out),
            &mut mark,
            &ct,
            None,
        );
        if !self.verdict_ok(ctx, "mangle/POSTROUTING", &mangle, &ip, &ct, meta) {
            return;
        }
        if self.needs_nat(&ct, true) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                "POSTROUTING",
                &ip,
                in_dev,
                Some(out),
                &mut mark,
                &ct,
                None,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, true, Some(out), Some(nexthop)) {
                self.drop(ctx, "nat/POSTROUTING", e, &ct);
                return;
            }
        }
        self.nat_manip(ctx, &mut ip, &ct, true);
        let mut meta = meta;
        if self.devs[out].kind == DevKind::Loopback {
            meta.lo_ct = ct.id.zip(ct.dir);
        }
        let mtu = self.devs[out].mtu as usize;
        if ip.total_len() > mtu {
            let reason = if ip.hdr.dont_fragment {
                format!(
                    "{} bytes exceed the MTU {} of {} (EMSGSIZE)",
                    ip.total_len(),
                    mtu,
                    self.devs[out].name
                )
            } else {
                format!(
                    "{} bytes exceed the MTU {} of {}; IP fragmentation is not modelled",
                    ip.total_len(),
                    mtu,
                    self.devs[out].name
                )
            };
            self.drop(ctx, "ip_finish_output", reason, &ct);
            return;
        }
        self.neigh_output(ctx, out, nexthop, ip, meta);
    }

    /// The next hop of a queued packet: recomputed from the route, since the
    /// queue keeps only the packet.
    fn pending_nexthop(&self, dev: usize, ip: &Ipv4Repr) -> Ipv4Addr {
        let key = FlowKey {
            dst: Some(ip.dst()),
            src: Some(ip.src()),
            mark: 0,
            iif: None,
            oif: None,
        };
        match self.fib.lookup(&key, Some(dev)) {
            Ok(l) if l.route.dev == Some(dev) => l.route.via.unwrap_or(ip.dst()),
            _ => ip.dst(),
        }
    }

    /// `neigh_output`: find the next hop's MAC (ARP if needed) and transmit.
    pub(crate) fn neigh_output(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
    ) {
        self.neigh_output_ex(ctx, dev, nexthop, ip, meta, None)
    }

    /// `neigh_output`, remembering a bridged DNAT for when the queue drains.
    pub(crate) fn neigh_output_ex(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
        bridged: Option<super::neigh::BridgedDnat>,
    ) {
        let d = &self.devs[dev];
        let dn = d.name.clone();
        let src_mac = d.mac;
        match d.kind {
            DevKind::Ipip => {
                ctx.trace.set_out(&dn, summarize_ip(&ip));
                self.ipip_xmit(ctx, dev, nexthop, ip, meta);
                return;
            }
            DevKind::Tun => {
                // point-to-point, IFF_NOARP: the packet goes as it is
                ctx.trace.set_out(&dn, summarize_ip(&ip));
                self.dev_xmit(ctx, dev, ip.emit(), meta);
                return;
            }
            DevKind::Loopback => {
                let f = Frame {
                    src: Mac::ZERO,
                    dst: Mac::ZERO,
                    payload: L3::Ipv4(ip),
                };
                ctx.trace.set_out(&dn, summarize(&f));
                self.dev_xmit(ctx, dev, f.emit(), meta);
                return;
            }
            DevKind::Dummy => {
                self.drop(
                    ctx,
                    "dev_queue_xmit",
                    format!("{dn} is a dummy device: frames are discarded"),
                    &CtInfo::default(),
                );
                return;
            }
            _ => {}
        }
        let dst_mac = if ip.dst().is_broadcast() {
            Some(Mac::BROADCAST)
        } else if ip.dst().is_multicast() {
            // arp_mc_map / ip_eth_mc_map: 01:00:5e + the group's low 23 bits
            let o = ip.dst().octets();
            Some(Mac([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]))
        } else {
            self.neigh_use(ctx, dev, nexthop, meta).map(|(m, st)| {
                let state = if st == super::neigh::Nud::Stale {
                    "STALE -> DELAY (probe in 5 s unless confirmed)".to_string()
                } else {
                    st.name().to_string()
                };
                ctx.trace.step(
                    "neigh",
                    format!("{nexthop} lladdr {m} {state} on {dn}"),
                    Action::Neigh {
                        ip: nexthop.to_string(),
                        mac: Some(m.to_string()),
                        state: st.name().into(),
                    },
                );
                m
            })
        };
        match dst_mac {
            Some(m) => {
                let f = Frame {
                    src: src_mac,
                    dst: m,
                    payload: L3::Ipv4(ip),
                };
                ctx.trace.set_out(&dn, summarize(&f));
                self.dev_xmit(ctx, dev, f.emit(), meta);
            }
            None => self.neigh_queue(ctx, dev, nexthop, ip, meta, bridged),
        }
    }

    /// Looks up the next hop's MAC for sending; a STALE entry goes to DELAY
    /// with the first-probe timer armed (`neigh_event_send`).
    pub(crate) fn neigh_use(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: Ipv4Addr,
        meta: Meta,
    ) -> Option<(Mac, super::neigh::Nud)> {
        use super::neigh::{Nud, DELAY_FIRST_PROBE_NS};
        let (mac, st) = self.neigh.resolve(dev, ip, ctx.now)?;
        let e = self.neigh.entries.get_mut(&(dev, ip))?;
        e.last_use = Some(meta);
        if st == Nud::Stale {
            e.state = Nud::Delay;
            e.probes = 0;
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + DELAY_FIRST_PROBE_NS,
                timer: super::host::HostTimer::Neigh { dev, ip },
            });
        } else if e.state == Nud::Reachable && st == Nud::Stale {
            e.state = Nud::Stale;
        }
        Some((mac, st))
    }

    fn neigh_queue(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        nexthop: Ipv4Addr,
        ip: Ipv4Repr,
        meta: Meta,
        bridged: Option<super::neigh::BridgedDnat>,
    ) {
        use super::neigh::{NeighEntry, Nud, Pending, UNRES_QLEN};
        let dn = self.devs[dev].name.clone();
        let src_ip = if self.is_local(ip.src()) {
            Some(ip.src())
        } else {
            self.select_src(dev, nexthop)
        };
        let e = self
            .neigh
            .entries
            .entry((dev, nexthop))
            .or_insert(NeighEntry {
                mac: None,
                state: Nud::Incomplete,
                updated_ns: ctx.now,
                probes: 0,
                queue: Vec::new(),
                last_use: None,
            });
        let fresh = e.state != Nud::Incomplete || e.queue.is_empty() && e.probes == 0;
        if e.state == Nud::Failed || e.state == Nud::Stale {
            e.state = Nud::Incomplete;
            e.probes = 0;
        }
        if e.queue.len() >= UNRES_QLEN {
            e.queue.remove(0);
        }
        e.queue.push(Pending { ip, meta, bridged });
        e.last_use = Some(meta);
        let qlen = e.queue.len();
        ctx.trace.step(
            "neigh",
            format!("{nexthop} on {dn} is INCOMPLETE: packet queued ({qlen} waiting), ARP who-has {nexthop}"),
            Action::Neigh { ip: nexthop.to_string(), mac: None, state: "INCOMPLETE".into() },
        );
        if fresh {
            self.send_arp_request(ctx, dev, nexthop, src_ip, meta);
            ctx.out.push(Output::Timer {
                at_ns: ctx.now + super::neigh::RETRANS_NS,
                timer: super::host::HostTimer::Neigh { dev, ip: nexthop },
            });
        }
    }

    /// DELAY expired or a PROBE went unanswered: probe the cached MAC with a
    /// unicast ARP request, or give up after `ucast_solicit` probes.
    fn neigh_probe(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv4Addr) {
        use super::neigh::{Nud, UCAST_SOLICIT};
        let dn = self.devs[dev].name.clone();
        let Some(e) = self.neigh.entries.get_mut(&(dev, ip)) else {
            return;
        };
        if e.state == Nud::Probe {
            e.probes += 1;
        } else {
            e.state = Nud::Probe;
            e.probes = 0;
        }
        let meta = e.last_use.unwrap_or(Meta {
            pkt: 0,
            flow: 0,
            parent: None,
            hash: None,
            owner: None,
            lo_ct: None,
        });
        if e.probes >= UCAST_SOLICIT {
            e.state = Nud::Failed;
            ctx.trace.begin_hop(
                meta.flow,
                ctx.now,
                &self.name,
                meta.pkt,
                None,
                None,
                (format!("neighbour {ip} on {dn}"), Default::default()),
            );
            ctx.trace.step(
                "neigh",
                format!("{ip} on {dn}: no answer to {UCAST_SOLICIT} unicast probes: FAILED"),
                Action::Neigh {
                    ip: ip.to_string(),
                    mac: None,
                    state: "FAILED".into(),
                },
            );
            ctx.trace.end_hop();
            return;
        }
        let Some(mac) = e.mac else { return };
        let src = self.select_src(dev, ip).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let a = ArpRepr {
            op: arp::OP_REQUEST,
            sender_mac: self.devs[dev].mac,
            sender_ip: src,
            target_mac: Mac::ZERO,
            target_ip: ip,
        };
        let f = Frame {
            src: self.devs[dev].mac,
            dst: mac,
            payload: L3::Arp(a),
        };
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        ctx.trace.begin_hop(
            meta.flow,
            ctx.now,
            &self.name,
            m.pkt,
            m.parent,
            None,
            crate::wire::describe(&f),
        );
        ctx.trace.step(
            "neigh",
            format!("{ip} on {dn} unconfirmed since it went STALE: PROBE with a unicast ARP request to {mac}"),
            Action::Neigh { ip: ip.to_string(), mac: Some(mac.to_string()), state: "PROBE".into() },
        );
        ctx.trace.set_out(&dn, summarize(&f));
        self.dev_xmit(ctx, dev, f.emit(), m);
        ctx.trace.end_hop();
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + super::neigh::RETRANS_NS,
            timer: super::host::HostTimer::Neigh { dev, ip },
        });
    }

    fn send_arp_request(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        target: Ipv4Addr,
        src_ip: Option<Ipv4Addr>,
        meta: Meta,
    ) {
        let a = ArpRepr {
            op: arp::OP_REQUEST,
            sender_mac: self.devs[dev].mac,
            sender_ip: src_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            target_mac: Mac::ZERO,
            target_ip: target,
        };
        let f = Frame {
            src: self.devs[dev].mac,
            dst: Mac::BROADCAST,
            payload: L3::Arp(a),
        };
        let m = ctx.new_meta(meta.flow, Some(meta.pkt));
        let dn = self.devs[dev].name.clone();
        ctx.trace.set_out(&dn, summarize(&f));
        self.dev_xmit(ctx, dev, f.emit(), m);
    }

    /// ARP retransmission timer: ask again, or give up after `mcast_solicit`
    /// probes and drop what waited (with host unreachable to local senders'
    /// peers for forwarded packets).
    pub fn neigh_timer(&mut self, ctx: &mut Ctx, dev: usize, ip: Ipv4Addr) {
        use super::neigh::{Nud, MCAST_SOLICIT};
        let Some(e) = self.neigh.entries.get_mut(&(dev, ip)) else {
            return;
        };
        if matches!(e.state, Nud::Delay | Nud::Probe) {
            self.neigh_probe(ctx, dev, ip);
            return;
        }
        if e.state != Nud::Incomplete {
            return;
        }
        e.probes += 1;
        let Some(first) = e.queue.first().map(|p| p.meta) else {
            return;
        };
        if e.probes >= MCAST_SOLICIT {
            e.state = Nud::Failed;
            let dropped = std::mem::take(&mut e.queue);
            let dn = self.devs[dev].name.clone();
            for p in dropped {
                ctx.trace.begin_hop(
                    p.meta.flow,
                    ctx.now,
                    &self.name,
                    p.meta.pkt,
                    p.meta.parent,
                    None,
                    crate::wire::describe_ip(&p.ip),
                );
                self.drop(
                    ctx,
                    "neigh",
                    format!("no ARP reply for {ip} on {dn} after {MCAST_SOLICIT} requests: neighbour FAILED"),
                    &CtInfo::default(),
                );
                if !self.is_local(p.ip.src()) {
                    self.send_icmp_error(
                        ctx,
                        &p.ip,
                        icmp::DEST_UNREACH,
                        icmp::CODE_HOST_UNREACH,
                        [0; 4],
                        p.meta,
                        "neighbour failed",
                    );
                }
                ctx.trace.end_hop();
            }
            return;
        }
        let src = e
            .queue
            .first()
            .map(|p| p.ip.src())
            .filter(|s| self.is_local(*s))
            .or_else(|| self.select_src(dev, ip));
        ctx.trace.begin_hop(
            first.flow,
            ctx.now,
            &self.name,
            first.pkt,
            first.parent,
            None,
            (
                format!("ARP retransmit for {ip}"),
                crate::wire::PktInfo {
                    kind: crate::wire::PktKind::Arp,
                    ..Default::default()
                },
            ),
        );
        self.send_arp_request(ctx, dev, ip, src, first);
        ctx.trace.end_hop();
        ctx.out.push(Output::Timer {
            at_ns: ctx.now + super::neigh::RETRANS_NS,
            timer: super::host::HostTimer::Neigh { dev, ip },
        });
    }

    /// `dev_queue_xmit`: a frame leaves through `dev` (a bridge hands it to
    /// its ports).
    pub(crate) fn dev_xmit(&mut self, ctx: &mut Ctx, dev: usize, bytes: Vec<u8>, meta: Meta) {
        match self.devs[dev].kind {
            DevKind::Bridge => self.bridge_xmit(ctx, dev, bytes, meta),
            DevKind::Vxlan => self.vxlan_xmit(ctx, dev, bytes, meta),
            DevKind::Tun => self.wg_xmit(ctx, dev, bytes, meta),
            DevKind::Loopback => ctx.out.push(Output::Tx {
                dev,
                bytes,
                meta,
                hop: ctx.trace.current_hop(),
            }),
            _ => {
                if !self.devs[dev].up {
                    self.drop(
                        ctx,
                        "dev_queue_xmit",
                        format!("{} is down", self.devs[dev].name),
                        &CtInfo::default(),
                    );
                    return;
                }
                if self.devs[dev].peer.is_none() {
                    let dn = self.devs[dev].name.clone();
                    self.drop(
                        ctx,
                        "dev_queue_xmit",
                        format!("{dn} has no link (NO-CARRIER)"),
                        &CtInfo::default(),
                    );
                    return;
                }
                ctx.out.push(Output::Tx {
                    dev,
                    bytes,
                    meta,
                    hop: ctx.trace.current_hop(),
                })
            }
        }
    }
}

fn flip(d: Dir) -> Dir {
    match d {
        Dir::Original => Dir::Reply,
        Dir::Reply => Dir::Original,
    }
}

fn dir_name(d: Dir) -> &'static str {
    match d {
        Dir::Original => "original direction",
        Dir::Reply => "reply direction",
    }
}

pub(crate) fn l4_ports(ip: &Ipv4Repr) -> (Option<u16>, Option<u16>) {
    match ip.ports() {
        Some((s, d)) => (Some(s), Some(d)),
        None => (None, None),
    }
}

/// The conntrack tuple of a packet.
pub fn packet_tuple(ip: &Ipv4Repr) -> Tuple {
    let (sport, dport) = match &ip.l4 {
        L4::Tcp { hdr, .. } => (hdr.source_port, hdr.destination_port),
        L4::Udp { hdr, .. } => (hdr.source_port, hdr.destination_port),
        L4::Icmp(i) => (i.echo_id(), i.echo_id()),
        L4::Raw(_) => (0, 0),
    };
    Tuple {
        proto: ip.proto(),
        src: ip.src(),
        sport,
        dst: ip.dst(),
        dport,
    }
}

/// The tuple of the packet quoted in an ICMP error (header + 8 bytes).
pub fn quoted_tuple(q: &[u8]) -> Option<Tuple> {
    if q.len() < 20 {
        return None;
    }
    let ihl = ((q[0] & 0x0f) as usize) * 4;
    if q.len() < ihl + 4 {
        return None;
    }
    let proto = q[9];
    let src = Ipv4Addr::new(q[12], q[13], q[14], q[15]);
    let dst = Ipv4Addr::new(q[16], q[17], q[18], q[19]);
    let (sport, dport) = match proto {
        6 | 17 | 132 => (
            u16::from_be_bytes([q[ihl], q[ihl + 1]]),
            u16::from_be_bytes([q[ihl + 2], q[ihl + 3]]),
        ),
        1 if q.len() >= ihl + 6 => {
            let id = u16::from_be_bytes([q[ihl + 4], q[ihl + 5]]);
            (id, id)
        }
        _ => (0, 0),
    };
    Some(Tuple {
        proto,
        src,
        sport,
        dst,
        dport,
    })
}

/// Rewrites the quoted packet of an ICMP error to `t` (its header checksum is
/// recomputed; the quoted transport checksum is left, as only 8 bytes are
/// quoted and the kernel adjusts it incrementally).
fn rewrite_quoted(q: &mut [u8], t: &Tuple, src_manip: bool) {
    if q.len() < 20 {
        return;
    }
    let ihl = ((q[0] & 0x0f) as usize) * 4;
    // The quoted packet travelled the other way: SRC manip of the error is DST
    // manip of the quoted packet, and vice versa.
    if src_manip {
        q[16..20].copy_from_slice(&t.dst.octets());
        if q.len() >= ihl + 4 && matches!(q[9], 6 | 17) {
            q[ihl + 2..ihl + 4].copy_from_slice(&t.dport.to_be_bytes());
        }
    } else {
        q[12..16].copy_from_slice(&t.src.octets());
        if q.len() >= ihl + 4 && matches!(q[9], 6 | 17) {
            q[ihl..ihl + 2].copy_from_slice(&t.sport.to_be_bytes());
        }
    }
    q[10] = 0;
    q[11] = 0;
    let c = crate::wire::internet_checksum(&q[..ihl.min(q.len())]);
    q[10..12].copy_from_slice(&c.to_be_bytes());
}

fn set_l4_port(ip: &mut Ipv4Repr, src: bool, p: u16) {
    match &mut ip.l4 {
        L4::Tcp { .. } | L4::Udp { .. } => {
            if src {
                ip.set_sport(p)
            } else {
                ip.set_dport(p)
            }
        }
        L4::Icmp(i) if matches!(i.icmp_type, icmp::ECHO_REQUEST | icmp::ECHO_REPLY) => {
            i.rest[0..2].copy_from_slice(&p.to_be_bytes());
        }
        _ => {}
    }
}

fn ip_endpoint(ip: &Ipv4Repr, src: bool) -> String {
    let (a, p) = if src {
        (ip.src(), ip.ports().map(|p| p.0))
    } else {
        (ip.dst(), ip.ports().map(|p| p.1))
    };
    match p {
        Some(p) => format!("{a}:{p}"),
        None => a.to_string(),
    }
}

fn pick_addr(
    lo: Option<Ipv4Addr>,
    hi: Option<Ipv4Addr>,
    random: bool,
    rng: &mut rand_chacha::ChaCha8Rng,
    orig: &Tuple,
) -> Option<Ipv4Addr> {
    let lo = lo?;
    let hi = hi.unwrap_or(lo);
    let (a, b) = (u32::from(lo), u32::from(hi));
    if b <= a {
        return Some(lo);
    }
    let span = (b - a) as u64 + 1;
    let off = if random {
        rand_core::Rng::next_u32(rng) as u64
    } else {
        // find_best_ips_proto: a hash of the source (and destination unless
        // persistent) picks the address, so a client keeps its address.
        let mut k = orig.src.octets().to_vec();
        k.extend_from_slice(&orig.dst.octets());
        crate::det::stable_hash(&k)
    };
    Some(Ipv4Addr::from(a + (off % span) as u32))
}
