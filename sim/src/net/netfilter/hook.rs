//! The walk of one netfilter hook for one table (`nf_hook_slow`): the
//! iptables chain and the nftables base chains slotted around it by
//! priority, the verdict applied and the steps recorded.

use crate::net::host::{Ctx, Host, Meta};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::{
    ctbits, Hook, HookOutcome, NfPacket, NfStep, Policy, StepTable, TableKind, Verdict,
};
use crate::trace::{Action, Point};
use crate::wire::{Ipv4Repr, L4};

/// Bridge context for br_netfilter hooks.
#[derive(Clone, Copy, Debug)]
pub struct BridgeCtx {
    pub physin: usize,
    pub physout: Option<usize>,
}

/// Binds `$env`, the [`EvalEnv`] a host's rules run with: its routes,
/// devices, conntrack and sockets as the matches see them, its seeded
/// chooser (or the run's script), its netfilter state and clock. A macro,
/// not a method: the env borrows some of the host's fields immutably and
/// others mutably, which a `&self` method cannot split.
macro_rules! nf_eval_env {
    ($host:expr, $ctx:expr, $env:ident) => {
        let addrs = crate::net::host::HostAddrs {
            fib: &$host.fib,
            devs: &$host.devs,
            ct: Some(&$host.ct),
            socks: Some(crate::net::host::Sockets {
                tcp: &$host.tcp,
                udp: &$host.udp_listeners,
                transparent: &$host.transparent,
            }),
            ip6: Some(&$host.ip6),
        };
        let mut chooser = crate::net::netfilter::RngChooser(crate::net::host::stream_of(
            (&mut $host.flow_rngs, &mut $host.rng, $host.flow_seed),
            $ctx.trace,
            $ctx.flow,
        ));
        let chooser: &mut dyn crate::net::netfilter::Chooser = match $ctx.script.as_deref_mut() {
            Some(s) => s,
            None => &mut chooser,
        };
        #[allow(unused_mut)]
        let mut $env = crate::net::netfilter::EvalEnv {
            addr: &addrs,
            chooser,
            state: &mut $host.nf_state,
            now_ns: $ctx.now,
            assume: $host.assume_unmodelled,
        };
    };
}
pub(crate) use nf_eval_env;

impl Host {
    /// Runs `hook` of iptables table `table` over the packet, with the
    /// nftables base chains slotted before and after it by priority; writes
    /// back the mark and the connection's mark and records the steps.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nf_hook(
        &mut self,
        ctx: &mut Ctx,
        table: TableKind,
        hook: Hook,
        ip: &mut Ipv4Repr,
        in_dev: Option<usize>,
        out_dev: Option<usize>,
        mark: &mut u32,
        ct: &CtInfo,
        br: Option<BridgeCtx>,
    ) -> HookOutcome {
        let chain_empty = self
            .nf
            .table(table)
            .chain(hook.chain())
            .is_none_or(|c| c.rules.is_empty());
        let mut pkt = self.nf_packet(hook, ip, in_dev, out_dev, *mark, ct, br);
        pkt.ct = self.ct_view(ct, ctx.now);
        pkt.ct_helper = ct
            .id
            .and_then(|id| self.ct.get(id))
            .and_then(|c| c.helper.clone());
        pkt.ct_labels = ct.id.and_then(|id| self.ct.get(id)).map_or(0, |c| c.labels);
        let (nft_before, nft_after) = if self.nft.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.nft.chains_at(table, hook)
        };
        crate::net::netfilter::hook::nf_eval_env!(self, ctx, env);
        // nftables base chains that come before this iptables table
        let mut nft_steps = Vec::new();
        let payload = || ip.emit();
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
        } else if chain_empty {
            empty_chain(&self.nf, table, hook)
        } else {
            let mut o = self.nf.run_hook(table, hook.chain(), &mut pkt, &mut env);
            crate::net::netfilter::nfqueue::table_queued(
                &mut o, &mut env, hook, &mut pkt, &payload,
            );
            o
        };
        let table_queue = std::mem::take(&mut out.queue.steps);
        if let Some(b) = before {
            fold_nft(&mut out, b, false, &mut nft_steps);
        }
        // ... and those after it (a NAT binding is made once: nat chains
        // after a NAT decision do not run)
        let nat_done = table == TableKind::Nat && out.nat.is_some();
        if !nft_after.is_empty() && !before_done && out.verdict == Verdict::Accept && !nat_done {
            let a = self.nft.run_queued(
                &nft_after,
                &mut pkt,
                &mut env,
                &mut self.nft_dyn,
                (hook, &payload),
            );
            fold_nft(&mut out, a, true, &mut nft_steps);
        }
        *mark = pkt.mark;
        if pkt.sk.is_some() {
            // TPROXY assigned the packet a socket (skb->sk)
            self.skb_sk = pkt.sk;
        }
        if pkt.synproxy.is_some() {
            self.synproxy.pending = pkt.synproxy.take();
        }
        // TCPMSS rewrote the MSS option
        if let Some(m) = pkt.tcp_mss {
            crate::net::netfilter::mangle::set_mss(ip, m);
        }
        // TTL, TOS, DSCP, ECN (and nft's payload statements on them)
        // changed the packet's view: into the header they go
        let _ = crate::net::netfilter::mangle::write_back_all(
            ip,
            Some((pkt.src, pkt.dst)),
            pkt.ttl,
            pkt.tos,
            pkt.tcp_flags,
        );
        let dups = std::mem::take(&mut pkt.dups);
        if !self.dup_active {
            for (gw, oif) in dups {
                self.nf_dup(ctx, ip, (table, hook), gw, oif.as_deref());
            }
        }
        if let Some(id) = ct.id {
            if let Some(c) = self.ct.get_mut(id) {
                c.mark = pkt.ctmark;
                c.helper = pkt.ct_helper.take();
                c.labels = pkt.ct_labels;
            }
        }
        trace_hook(
            ctx,
            (table, hook),
            &mut out,
            (table_queue, nft_steps),
            (self.rule_notes.as_deref(), false),
        );
        out
    }

    /// The packet as the rules see it (the kernel's `nft_pktinfo` /
    /// `xt_action_param`): addresses, ports, flags, devices, marks, the
    /// conntrack state and the sending process.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nf_packet(
        &self,
        hook: Hook,
        ip: &Ipv4Repr,
        in_dev: Option<usize>,
        out_dev: Option<usize>,
        mark: u32,
        ct: &CtInfo,
        br: Option<BridgeCtx>,
    ) -> NfPacket {
        let ctmark = ct
            .id
            .and_then(|id| self.ct.get(id))
            .map(|c| c.mark)
            .unwrap_or(0);
        let (sport, dport) = l4_ports(ip);
        NfPacket {
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
            mark,
            ct_state: if ct.id.is_none() && ct.bits == 0 {
                ctbits::UNTRACKED
            } else {
                ct.bits
            },
            ctmark,
            owner: if hook.local_out() {
                self.sk_owner
            } else {
                None
            },
            ttl: ip.hdr.time_to_live,
            tos: (ip.hdr.dscp.value() << 2) | ip.hdr.ecn.value(),
            len: ip.total_len().min(0xffff) as u16,
            // xt_mac: valid in PREROUTING, INPUT and FORWARD only
            src_mac: if hook.local_out() {
                None
            } else {
                self.rx_src_mac
            },
            ct: None,
            tcp_mss: match &ip.l4 {
                L4::Tcp { hdr, .. } => hdr.options_iterator().find_map(|o| match o {
                    Ok(etherparse::TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                    _ => None,
                }),
                _ => None,
            },
            path_mtu: out_dev.map(|o| {
                // tcpmss_reverse_mtu: a route lookup towards the source
                let back = self
                    .fib
                    .lookup(
                        &crate::net::fib::FlowKey {
                            dst: Some(ip.src()),
                            ..Default::default()
                        },
                        None,
                    )
                    .ok()
                    .and_then(|l| l.route.dev)
                    .map_or(u32::MAX, |d| self.devs[d].mtu);
                self.devs[o].mtu.min(back)
            }),
            ct_helper: None,
            dups: Vec::new(),
            sk: None,
            synproxy: None,
            sctp_chunks: ip.sctp().map(|p| p.chunks).unwrap_or_default(),
            ..Default::default()
        }
    }

    /// The packet's connection as `-m conntrack` reads it: the tuples, the
    /// IPS_* status bits (EXPECTED 1, SEEN_REPLY 2, ASSURED 4, CONFIRMED 8,
    /// SRC_NAT 16, DST_NAT 32) and the seconds left.
    pub(crate) fn ct_view(
        &self,
        ct: &CtInfo,
        now: u64,
    ) -> Option<crate::net::netfilter::iptables::matches::CtView> {
        let c = self.ct.get(ct.id?)?;
        let t = |x: &crate::net::netfilter::conntrack::Tuple| {
            (x.proto, x.src4(), x.sport, x.dst4(), x.dport)
        };
        let status = u32::from(ct.related)
            | (u32::from(c.seen_reply) << 1)
            | (u32::from(c.assured) << 2)
            | (u32::from(!ct.created) << 3)
            | (u32::from(c.snat()) << 4)
            | (u32::from(c.dnat()) << 5);
        Some(crate::net::netfilter::iptables::matches::CtView {
            orig: t(&c.orig),
            reply: t(&c.reply),
            status,
            expires_s: (c.expires_ns.saturating_sub(now) / 1_000_000_000) as u32,
            reply_dir: ct.dir == Some(crate::net::netfilter::conntrack::Dir::Reply),
            acct: self.ct_acct_on().then_some(c.acct),
        })
    }

    /// nf_dup_ipv4.c nf_dup_ipv4: a copy of the packet without its
    /// connection (nf_reset_ct, IP_CT_UNTRACKED), DF set when cloned at
    /// PREROUTING or INPUT, routed to the gateway (nf_dup_ipv4_route:
    /// FLOWI_FLAG_KNOWN_NH, so the gateway is the next hop) and sent
    /// (ip_local_out). Simplification: the clone goes straight to
    /// POSTROUTING, without the OUTPUT hooks ip_local_out runs.
    fn nf_dup(
        &mut self,
        ctx: &mut Ctx,
        ip: &Ipv4Repr,
        (table, hook): (TableKind, Hook),
        gw: std::net::Ipv4Addr,
        oif: Option<&str>,
    ) {
        let mut clone = ip.clone();
        if matches!(hook, Hook::Prerouting | Hook::Input) {
            clone.hdr.dont_fragment = true;
        }
        let key = crate::net::fib::FlowKey {
            dst: Some(gw),
            src: None,
            mark: 0,
            iif: None,
            oif,
        };
        let dev = match self.fib.lookup(&key, None) {
            Ok(l) if l.route.rtype == crate::net::fib::RouteType::Unicast => l.route.dev,
            _ => None,
        };
        let Some(out) = dev.filter(|d| oif.is_none_or(|o| self.devs[*d].name == o)) else {
            ctx.trace.step(
                Point::Table(table, hook),
                format!("TEE: no route to {gw}: no clone"),
                Action::Info,
            );
            return;
        };
        let meta = ctx.new_meta(0, None);
        ctx.trace.step(
            Point::Table(table, hook),
            format!(
                "TEE: clone packet {} to {gw} on {} (untracked)",
                meta.pkt, self.devs[out].name
            ),
            Action::Info,
        );
        let untracked = CtInfo {
            bits: ctbits::UNTRACKED,
            ..Default::default()
        };
        self.dup_active = true;
        self.postrouting(ctx, clone, None, out, gw, meta, 0, untracked);
        self.dup_active = false;
    }

    /// Whether conntrack accounting is on: `net.netfilter.nf_conntrack_acct`
    /// (nf_conntrack_standalone.c, default 0), or forced on by a `-m
    /// connbytes` rule (xt_connbytes.c connbytes_mt_check: "Forcing CT
    /// accounting to be enabled"). Simplification: the rules are loaded
    /// before the first packet, so every connection has the counters
    /// (the kernel adds them only to connections made after the switch).
    pub(crate) fn ct_acct_on(&self) -> bool {
        self.sysctl.int("net.netfilter.nf_conntrack_acct") != 0 || self.nf.ct_acct
    }

    /// One table's hook run as `NF_HOOK` runs it: the walk, then its
    /// verdict applied (a drop or reject recorded and carried out). The
    /// outcome when the packet goes on, None when it is gone. `devs`: the
    /// incoming and outgoing devices and the bridge context.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nf_filter(
        &mut self,
        ctx: &mut Ctx,
        (table, hook): (TableKind, Hook),
        ip: &mut Ipv4Repr,
        devs: (Option<usize>, Option<usize>, Option<BridgeCtx>),
        mark: &mut u32,
        ct: &CtInfo,
        meta: Meta,
    ) -> Option<HookOutcome> {
        self.synproxy.pending = None;
        let out = self.nf_hook(ctx, table, hook, ip, devs.0, devs.1, mark, ct, devs.2);
        if let Some(act) = self.synproxy.pending.take() {
            // SYNPROXY took the packet (NF_STOLEN): its answer leaves now
            self.synproxy_target(ctx, Point::Table(table, hook), ip, act, meta, ct);
            return None;
        }
        if !self.verdict_ok(ctx, Point::Table(table, hook), &out, ip, ct, meta) {
            return None;
        }
        // the security table's hook (iptable_security.c: INPUT, FORWARD,
        // OUTPUT at priority 50) comes right after filter's (priority 0).
        // Simplification: nftables base chains of priority above 50 run in
        // filter's slot, before it (named in `podpath explain`).
        let sec = TableKind::Security;
        if table == TableKind::Filter
            && self
                .nf
                .table(sec)
                .chain(hook.chain())
                .is_some_and(|c| !c.rules.is_empty() || c.policy == Some(Policy::Drop))
        {
            let s = self.nf_hook(ctx, sec, hook, ip, devs.0, devs.1, mark, ct, devs.2);
            if !self.verdict_ok(ctx, Point::Table(sec, hook), &s, ip, ct, meta) {
                return None;
            }
        }
        Some(out)
    }

    /// The NetworkPolicy verdict the dropping rule carries out, when the
    /// component that generated it noted one (felix's end-of-tier DROP,
    /// `netfilter::notes`): `: NetworkPolicy egress: no rule of NS/NAME
    /// admits the packet`, so the drop step names the policy beside the
    /// generated chain and rule.
    pub(super) fn policy_of_drop(
        &self,
        point: Point,
        out: &HookOutcome,
        v6: bool,
    ) -> Option<String> {
        use crate::net::netfilter::notes::{table_key, RuleNote};
        let Point::Table(table, _) = point else {
            return None;
        };
        let s = out.steps.last()?;
        let notes = self.rule_notes.as_deref()?;
        match notes.get(&(table_key(table.name(), v6), s.chain.clone(), s.rule))? {
            RuleNote::Deny {
                direction,
                policies,
            } => Some(format!(
                ": NetworkPolicy {direction}: selected by {}, no rule of them admits the packet",
                policies.join(", ")
            )),
            RuleNote::Allow { .. } => None,
        }
    }

    /// Applies a filter verdict; returns false when the packet is gone.
    pub(crate) fn verdict_ok(
        &mut self,
        ctx: &mut Ctx,
        point: Point,
        out: &HookOutcome,
        ip: &Ipv4Repr,
        ct: &CtInfo,
        meta: Meta,
    ) -> bool {
        match out.verdict {
            Verdict::Accept => true,
            Verdict::Drop => {
                if let Some((point, words)) = queue_drop(point, out) {
                    self.drop(ctx, point, words, ct);
                    return false;
                }
                let by = dropped_by(out);
                let policy = self.policy_of_drop(point, out, false).unwrap_or_default();
                self.drop(ctx, point, format!("dropped by {point} {by}{policy}"), ct);
                false
            }
            Verdict::Reject(w) => {
                let by = out
                    .steps
                    .last()
                    .map(|s| format!("{} rule {} ({})", s.chain_label(), s.rule, s.text))
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
}

/// The rule (or the policy) whose verdict ended a walk, for the trace:
/// `FORWARD policy DROP`, `KUBE-SVC-X rule 3 (-j DROP)`.
pub(crate) fn dropped_by(out: &HookOutcome) -> String {
    out.steps
        .last()
        .map(|s| {
            if s.rule == 0 {
                format!("{} policy DROP", s.chain_label())
            } else {
                format!("{} rule {} ({})", s.chain_label(), s.rule, s.text)
            }
        })
        .unwrap_or_default()
}

/// A built-in chain with no rules: its policy, without a walk.
pub(crate) fn empty_chain(
    nf: &crate::net::netfilter::Ruleset,
    table: TableKind,
    hook: Hook,
) -> HookOutcome {
    let pol = nf.table(table).chain(hook.chain()).and_then(|c| c.policy);
    HookOutcome {
        verdict: match pol {
            Some(crate::net::netfilter::Policy::Drop) => Verdict::Drop,
            _ => Verdict::Accept,
        },
        nat: None,
        notrack: false,
        flow_offload: None,
        steps: if pol == Some(crate::net::netfilter::Policy::Drop) {
            vec![crate::net::netfilter::NfStep {
                table: StepTable::Iptables(table),
                chain: hook.chain().into(),
                rule: 0,
                line: 0,
                text: String::new(),
                effect: "policy DROP".into(),
            }]
        } else {
            vec![]
        },
        rules_tested: 0,
        queued: None,
        queue: Default::default(),
    }
}

/// Records the iptables table's steps in the trace (a lone ACCEPT policy is
/// left out), each rule a note names followed by its policy verdict.
pub(crate) fn trace_table_steps(
    ctx: &mut Ctx,
    (table, hook): (TableKind, Hook),
    out: &HookOutcome,
    (notes, v6): (Option<&crate::net::netfilter::notes::RuleNotes>, bool),
) {
    let point = Point::Table(table, hook);
    let only_policy_accept =
        out.steps.len() == 1 && out.steps[0].rule == 0 && out.verdict == Verdict::Accept;
    if !only_policy_accept {
        let last = out.steps.len().saturating_sub(1);
        for (i, s) in out.steps.iter().enumerate() {
            let key = crate::net::netfilter::notes::table_key(table.name(), v6);
            let note = notes.and_then(|n| n.get(&(key, s.chain.clone(), s.rule)));
            if ctx.trace.lean && i != last && note.is_none() {
                continue;
            }
            let what = if s.rule == 0 {
                format!("{}: {}", s.chain, s.effect)
            } else {
                format!("{} #{}: {} => {}", s.chain, s.rule, s.text, s.effect)
            };
            ctx.trace.step(
                point,
                what,
                Action::Rule {
                    table: table.name().into(),
                    chain: s.chain.clone(),
                    rule: s.rule,
                    line: s.line,
                },
            );
            if let Some(n) = note {
                trace_policy_note(ctx, point, n);
            }
        }
    }
}

/// The policy verdict a noted rule carries out, as a trace step.
fn trace_policy_note(ctx: &mut Ctx, point: Point, n: &crate::net::netfilter::notes::RuleNote) {
    use crate::net::netfilter::notes::RuleNote;
    let (what, action) = match n {
        RuleNote::Allow {
            direction,
            policy,
            rule,
        } => (
            format!("NetworkPolicy {policy} allows ({direction} rule {rule})"),
            Action::Policy {
                verdict: "allowed".into(),
                direction: direction.clone(),
                policies: vec![policy.clone()],
                rule: Some(format!("{policy} {direction}[{rule}]")),
            },
        ),
        RuleNote::Deny {
            direction,
            policies,
        } => (
            format!(
                "NetworkPolicy {direction}: no rule of {} admits the packet",
                policies.join(", ")
            ),
            Action::Policy {
                verdict: "denied".into(),
                direction: direction.clone(),
                policies: policies.clone(),
                rule: None,
            },
        ),
    };
    ctx.trace.step(point, what, action);
}

/// Records the nftables base chains' steps in the trace, and appends them to
/// the outcome's steps.
pub(crate) fn trace_nft_steps(
    ctx: &mut Ctx,
    hook: Hook,
    nft_steps: Vec<NfStep>,
    out: &mut HookOutcome,
) {
    let npoint = Point::Nft(hook);
    for s in nft_steps {
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
            npoint,
            what,
            Action::Rule {
                table,
                chain: s.chain.clone(),
                rule: s.rule,
                line: s.line,
            },
        );
        // the last step names what decided a drop or reject
        out.steps.push(s);
    }
}

/// Folds the outcome of the nftables base chains that run before
/// (`after` false) or after an iptables table at a hook into the hook's:
/// a verdict of the chains before stands unless it is accept, the chains
/// after have the last word; the first NAT binding, notrack and flow
/// offload request made stand; the queue listener's steps and drop
/// reason are kept for the trace.
pub(super) fn fold_nft(
    out: &mut HookOutcome,
    o: HookOutcome,
    after: bool,
    nft_steps: &mut Vec<super::NfStep>,
) {
    nft_steps.extend(o.steps);
    out.queue.steps.extend(o.queue.steps);
    if after {
        if o.queue.drop_why.is_some() {
            out.queue.drop_why = o.queue.drop_why;
            out.queue.by_nft = true;
        }
        out.verdict = o.verdict;
    } else {
        if out.queue.drop_why.is_none() {
            out.queue.drop_why = o.queue.drop_why;
            out.queue.by_nft |= o.queue.by_nft;
        }
        if o.verdict != Verdict::Accept {
            out.verdict = o.verdict;
        }
    }
    if out.nat.is_none() {
        out.nat = o.nat;
    }
    out.notrack |= o.notrack;
    if out.flow_offload.is_none() {
        out.flow_offload = o.flow_offload;
    }
}

/// A hook's steps into the trace: the iptables table's, the steps of the
/// program its NFQUEUE target handed the packet to (`table_queue`), the
/// nftables base chains', then the steps of the program an nft `queue`
/// statement handed it to.
pub(super) fn trace_hook(
    ctx: &mut Ctx,
    (table, hook): (TableKind, Hook),
    out: &mut HookOutcome,
    (table_queue, nft_steps): (Vec<(String, Action)>, Vec<super::NfStep>),
    notes: (Option<&super::notes::RuleNotes>, bool),
) {
    trace_table_steps(ctx, (table, hook), out, notes);
    for (what, action) in table_queue {
        ctx.trace.step(Point::Table(table, hook), what, action);
    }
    trace_nft_steps(ctx, hook, nft_steps, out);
    for (what, action) in &out.queue.steps {
        ctx.trace
            .step(Point::Nft(hook), what.clone(), action.clone());
    }
}

/// A drop a queue's listener decided: the point it is told at (the nft
/// hook when an nft `queue` statement queued it) and its words, naming
/// the generated rule that handed the packet to the program
/// (kube-network-policies' `queue ... to 101`). None for any other drop.
pub(super) fn queue_drop(point: Point, out: &HookOutcome) -> Option<(Point, String)> {
    let why = out.queue.drop_why.as_ref()?;
    let point = match point {
        Point::Table(_, h) if out.queue.by_nft => Point::Nft(h),
        p => p,
    };
    let by = out
        .steps
        .iter()
        .rev()
        .find(|s| s.effect.starts_with("queue"))
        .map(|s| {
            format!(
                " (queued by {} rule {}: {})",
                s.chain_label(),
                s.rule,
                s.text
            )
        })
        .unwrap_or_default();
    Some((point, format!("dropped by {point}: {why}{by}")))
}
