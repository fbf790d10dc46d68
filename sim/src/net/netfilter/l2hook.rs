//! The frame hooks: nftables base chains of the `netdev`, `bridge` and
//! `arp` families (and `inet` chains at `ingress`) run over a frame where
//! the kernel runs them (see [`L2Hook`]), with their verdicts: `drop` ends
//! the frame, `accept` passes it to the next chain and on, `fwd to DEV`
//! steals it (it leaves out of DEV), `dup to DEV` sends a copy, and
//! `ether saddr|daddr set` rewrites the frame.
//!
//! Simplifications (listed by `podpath explain`): a frame hook sees no
//! connection (`ct state` reads `invalid`, as the kernel's nft_ct_get_eval
//! does for a packet conntrack has not seen yet) and the packet mark 0
//! (`meta mark set` there is not carried into the IP stack); a frame has
//! no 802.1Q tag (`vlan` never matches). `reject` answers as the kernel
//! does at these hooks and `fwd ip to ADDR device DEV` forwards to a
//! neighbour ([`super::l2reject`]).

use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::ct_glue::CtInfo;
use crate::net::netfilter::{ctbits, ArpView, Hook, L2Hook, L2View, NfPacket, StepTable, Verdict};
use crate::trace::{Action, Point};
use crate::wire::{Frame, L3};

/// The priorities a frame hook's chains are run with: all, or those
/// below / from a threshold (around br_netfilter's own hook functions).
#[derive(Clone, Copy, Debug)]
pub enum Prio {
    All,
    Below(i32),
    From(i32),
}

impl Prio {
    fn admits(self, p: i32) -> bool {
        match self {
            Prio::All => true,
            Prio::Below(t) => p < t,
            Prio::From(t) => p >= t,
        }
    }
}

impl Host {
    /// Whether any nftables base chain runs at `hook` (cheap: no frame
    /// parsed when none does).
    pub(crate) fn has_l2_chains(&self, hook: L2Hook) -> bool {
        !self.nft.is_empty() && self.nft.has_l2(hook)
    }

    /// Runs the base chains of frame hook `hook` over `f` (`in_dev`,
    /// `out_dev`: the devices `meta iifname`/`oifname` read; the chain's
    /// device is `in_dev` at ingress, `out_dev` at egress). Rewrites the
    /// frame's addresses, sends `dup` copies; true when the frame goes on,
    /// false when it is gone (dropped, or stolen by `fwd`, which sent it).
    pub(crate) fn nft_l2_hook(
        &mut self,
        ctx: &mut Ctx,
        hp: (L2Hook, Prio),
        f: &mut Frame,
        devs: (Option<usize>, Option<usize>),
        meta: Meta,
    ) -> bool {
        self.nft_l2_hook_ct(ctx, hp, f, devs, meta, &CtInfo::default())
    }

    /// [`Host::nft_l2_hook`] for a frame whose packet br_netfilter's
    /// PREROUTING already tracked: a drop frees the connection it created
    /// (an unconfirmed entry dies with its skb).
    pub(crate) fn nft_l2_hook_ct(
        &mut self,
        ctx: &mut Ctx,
        hp: (L2Hook, Prio),
        f: &mut Frame,
        devs: (Option<usize>, Option<usize>),
        meta: Meta,
        ct: &CtInfo,
    ) -> bool {
        match self.nft_l2_run(ctx, hp, f, devs, meta) {
            None => true,
            Some(None) => false,
            Some(Some(why)) => {
                self.drop(ctx, Point::NftL2(hp.0), why, ct);
                false
            }
        }
    }

    /// [`Host::nft_l2_hook`] without recording a drop: None when the
    /// frame goes on, Some(None) when `fwd` took it, Some(Some(why))
    /// when a verdict dropped it.
    pub(crate) fn nft_l2_run(
        &mut self,
        ctx: &mut Ctx,
        (hook, prio): (L2Hook, Prio),
        f: &mut Frame,
        (in_dev, out_dev): (Option<usize>, Option<usize>),
        meta: Meta,
    ) -> Option<Option<String>> {
        if !self.has_l2_chains(hook) {
            return None;
        }
        let chain_dev = match hook {
            L2Hook::Egress => out_dev,
            _ => in_dev,
        };
        let dname = chain_dev
            .map(|d| self.devs[d].name.clone())
            .unwrap_or_default();
        let ip_frame = matches!(f.payload, L3::Ipv4(_));
        let chains = self
            .nft
            .l2_chains(hook, &dname, ip_frame, |p| prio.admits(p));
        if chains.is_empty() {
            return None;
        }
        let mut pkt = self.frame_packet(hook, f, in_dev, out_dev);
        crate::net::netfilter::hook::nf_eval_env!(self, ctx, env);
        let out = self.nft.run(&chains, &mut pkt, &mut env, &mut self.nft_dyn);
        let point = Point::NftL2(hook);
        for s in &out.steps {
            let chain = s.chain_label();
            let what = if s.rule == 0 {
                format!("{chain}: {}", s.effect)
            } else {
                format!("{chain} #{}: {} => {}", s.rule, s.text, s.effect)
            };
            let table = match &s.table {
                StepTable::Nft(t) => format!("nft {t}"),
                other => format!("{other:?}"),
            };
            ctx.trace.step(
                point,
                what,
                Action::Rule {
                    table,
                    chain: s.chain.clone(),
                    rule: s.rule,
                    line: s.line,
                },
            );
        }
        if out.verdict != Verdict::Accept {
            let by = out
                .steps
                .last()
                .map(|s| {
                    if s.rule == 0 {
                        format!("{} policy drop", s.chain_label())
                    } else {
                        format!("{} rule {} ({})", s.chain_label(), s.rule, s.text)
                    }
                })
                .unwrap_or_default();
            let what = match out.verdict {
                Verdict::Reject(w) if self.l2_reject(ctx, hook, f, w, in_dev, meta) => {
                    "rejected (the answer sent back)"
                }
                Verdict::Reject(_) => "rejected (no answer: none is due for this frame)",
                _ => "dropped",
            };
            return Some(Some(format!("{what} by {point} {by}")));
        }
        if let Some(l2) = &pkt.l2 {
            f.src = crate::wire::Mac(l2.src);
            f.dst = crate::wire::Mac(l2.dst);
        }
        for d in std::mem::take(&mut pkt.dup) {
            match self.dev_index(&d) {
                Some(i) => self.dev_xmit_raw(ctx, i, f.emit(), meta),
                None => ctx.trace.step(
                    point,
                    format!("dup to {d}: no such device, no copy"),
                    Action::Info,
                ),
            }
        }
        if let Some((addr, dev)) = pkt.fwd_neigh.take() {
            return Some(self.l2_fwd_neigh(ctx, f, (addr, &dev), meta));
        }
        let d = pkt.fwd.take()?;
        match self.dev_index(&d) {
            Some(i) => {
                ctx.trace.set_out(&d, crate::wire::summarize(f));
                // nf_do_netdev_egress: nf_skip_egress, then dev_queue_xmit
                self.dev_xmit_raw(ctx, i, f.emit(), meta);
            }
            // nft_fwd_netdev_eval: no device by that index, the frame is freed
            None => return Some(Some(format!("fwd to {d}: no such device"))),
        }
        Some(None)
    }

    /// The frame as the rules see it: its IPv4 packet's fields where it
    /// carries one, the link-layer header and ARP body, no connection.
    fn frame_packet(
        &self,
        hook: L2Hook,
        f: &Frame,
        in_dev: Option<usize>,
        out_dev: Option<usize>,
    ) -> NfPacket {
        let local_out = matches!(hook, L2Hook::Egress | L2Hook::BrOutput | L2Hook::ArpOut);
        let ip_hook = if local_out {
            Hook::Output
        } else {
            Hook::Prerouting
        };
        let (ethertype, arp) = match &f.payload {
            L3::Ipv4(_) => (0x0800, None),
            L3::Ipv6(_) => (0x86dd, None),
            L3::Arp(a) => (
                0x0806,
                Some(ArpView {
                    op: a.op,
                    sha: a.sender_mac.0,
                    sip: a.sender_ip,
                    tha: a.target_mac.0,
                    tip: a.target_ip,
                }),
            ),
            L3::Other { ethertype, .. } => (*ethertype, None),
        };
        let mut pkt = match &f.payload {
            L3::Ipv4(ip) => {
                self.nf_packet(ip_hook, ip, in_dev, out_dev, 0, &CtInfo::default(), None)
            }
            _ => NfPacket {
                in_if: in_dev.map(|i| self.devs[i].name.clone()),
                out_if: out_dev.map(|i| self.devs[i].name.clone()),
                not_ip: true,
                ..Default::default()
            },
        };
        // nft_ct_get_eval with no conntrack entry: `invalid`
        pkt.ct_state = ctbits::INVALID;
        pkt.src_mac = (!local_out).then_some(f.src.0);
        pkt.l2 = Some(L2View {
            src: f.src.0,
            dst: f.dst.0,
            ethertype,
            arp,
        });
        pkt
    }

    /// NF_NETDEV_EGRESS (`nf_hook_egress` in `__dev_queue_xmit`) and, for
    /// an ARP frame the host sends, NF_ARP_OUT before it (`arp_xmit`):
    /// the frame to transmit, or None when it is gone.
    pub(crate) fn l2_egress(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        bytes: Vec<u8>,
        meta: Meta,
        arp_out: bool,
    ) -> Option<Vec<u8>> {
        let arp_hook = arp_out && self.has_l2_chains(L2Hook::ArpOut);
        if !arp_hook && !self.has_l2_chains(L2Hook::Egress) {
            return Some(bytes);
        }
        let Ok(mut f) = Frame::parse(&bytes) else {
            return Some(bytes);
        };
        if arp_hook
            && matches!(f.payload, L3::Arp(_))
            && !self.nft_l2_hook(
                ctx,
                (L2Hook::ArpOut, Prio::All),
                &mut f,
                (None, Some(dev)),
                meta,
            )
        {
            return None;
        }
        if !self.nft_l2_hook(
            ctx,
            (L2Hook::Egress, Prio::All),
            &mut f,
            (None, Some(dev)),
            meta,
        ) {
            return None;
        }
        Some(f.emit())
    }
}
