//! Evaluation of nftables base chains at the netfilter hooks, by priority
//! among the iptables tables.

use std::net::Ipv4Addr;

use super::*;
use crate::net::netfilter::{
    addrtype, ctbits, EvalEnv, HookOutcome, NatRange, NfPacket, NfStep, RuleRef, StepTable,
    TableKind, Target, Verdict,
};

// ------------------------------------------------------------------ evaluation

/// Which iptables table's slot a base chain runs in, and whether before it.
fn slot_of(b: &BaseChain) -> (TableKind, bool) {
    let slots: &[(TableKind, i32)] = match b.hook {
        Hook::Prerouting => &[(TableKind::Raw, -300), (TableKind::Mangle, -150)],
        Hook::Input | Hook::Forward => &[(TableKind::Mangle, -150), (TableKind::Filter, 0)],
        Hook::Output => &[
            (TableKind::Raw, -300),
            (TableKind::Mangle, -150),
            (TableKind::Filter, 0),
        ],
        Hook::Postrouting => &[(TableKind::Mangle, -150)],
    };
    if b.hook == Hook::Prerouting && b.ty != ChainType::Nat && b.priority > -100 {
        // after iptables' nat PREROUTING (NF_IP_PRI_NAT_DST) and its
        // DNAT: in the slot ip_rcv's path runs after the NAT manip
        // (`prerouting_nat_and_route`), named (Filter, PREROUTING)
        return (TableKind::Filter, false);
    }
    if b.ty == ChainType::Nat {
        let nat_prio = match b.hook {
            Hook::Prerouting | Hook::Output => -100,
            _ => 100,
        };
        return (TableKind::Nat, b.priority < nat_prio);
    }
    match slots.iter().rev().find(|(_, p)| *p <= b.priority) {
        Some((t, _)) => (*t, false),
        None => (slots[0].0, true),
    }
}

impl Nft {
    /// The base chains that run in the slot of iptables table `table` at
    /// `hook`: (before the table, after it), each in priority order.
    pub fn chains_at(&self, table: TableKind, hook: Hook) -> (ChainList, ChainList) {
        self.chains_in(&self.bases, table, hook)
    }

    /// [`Nft::chains_at`] for IPv6 packets: the chains of ip6 and inet
    /// tables.
    pub fn chains_at6(&self, table: TableKind, hook: Hook) -> (ChainList, ChainList) {
        self.chains_in(&self.bases6, table, hook)
    }

    /// Whether any base chain runs IPv6 packets.
    pub fn has_v6(&self) -> bool {
        !self.bases6.is_empty()
    }

    fn chains_in(
        &self,
        bases: &BTreeMap<Hook, Vec<(i32, usize, usize)>>,
        table: TableKind,
        hook: Hook,
    ) -> (ChainList, ChainList) {
        let mut before = Vec::new();
        let mut after = Vec::new();
        for &(prio, ti, ci) in bases.get(&hook).map(|v| v.as_slice()).unwrap_or(&[]) {
            let Some(b) = &self.tables[ti].chains[ci].base else {
                continue;
            };
            let (slot, first) = slot_of(b);
            if slot != table {
                continue;
            }
            if first {
                before.push((prio, ti, ci));
            } else {
                after.push((prio, ti, ci));
            }
        }
        before.sort();
        after.sort();
        (
            before.into_iter().map(|x| (x.1, x.2)).collect(),
            after.into_iter().map(|x| (x.1, x.2)).collect(),
        )
    }

    /// The base chains at frame hook `hook` for a frame on device `dev`,
    /// in priority order, those whose priority `prio` admits. A netdev
    /// (and inet) ingress or egress chain runs only on the devices it
    /// names (nf_tables_api.c registers it per device); an inet ingress
    /// chain only sees IPv4 and IPv6 frames (nft_chain_filter.c
    /// nft_do_chain_inet_ingress: others are accepted past it).
    pub fn l2_chains(
        &self,
        hook: L2Hook,
        dev: &str,
        ip_frame: bool,
        prio: impl Fn(i32) -> bool,
    ) -> ChainList {
        let mut v: Vec<(i32, usize, usize)> = self
            .l2bases
            .get(&hook)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .copied()
            .filter(|&(p, ti, ci)| {
                let t = &self.tables[ti];
                let Some(b) = &t.chains[ci].base else {
                    return false;
                };
                let per_dev = matches!(hook, L2Hook::Ingress | L2Hook::Egress);
                prio(p)
                    && (!per_dev || b.devices.iter().any(|d| d == dev))
                    && (t.family != "inet" || ip_frame)
            })
            .collect();
        v.sort();
        v.into_iter().map(|x| (x.1, x.2)).collect()
    }

    /// What `inspect` names as simplified about the frame hooks this
    /// ruleset uses (see [`super::super::l2hook`]).
    pub fn frame_notes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.l2bases.values().any(|v| !v.is_empty()) {
            out.push("netdev/bridge/arp (and inet ingress) base chains run on frames: they see no connection (ct state invalid) and mark 0");
        }
        let rules = || {
            self.tables
                .iter()
                .flat_map(|t| &t.chains)
                .flat_map(|c| &c.rules)
        };
        let vlan = |e: &Expr| match e {
            Expr::Cmp { sel, .. } | Expr::Vmap { sel, .. } => sel.contains(&Sel::Vlan),
            Expr::Update { key, .. } | Expr::SetMap { key, .. } => key.contains(&Sel::Vlan),
            _ => false,
        };
        if rules().flat_map(|r| &r.exprs).any(vlan) {
            out.push("vlan matches never hold: podpath's frames carry no 802.1Q tag (the implicit ether type 8021q fails, as the kernel on an untagged frame)");
        }
        let seedless = |e: &Expr| {
            matches!(
                e,
                Expr::EtherSet {
                    value: MacVal::Map(super::expr::NumExpr::Jhash { seed: 0, .. }, _),
                    ..
                }
            )
        };
        if rules().flat_map(|r| &r.exprs).any(seedless) {
            out.push("jhash without a seed uses seed 0 (the kernel draws a random one at load)");
        }
        out
    }

    /// Whether any base chain runs at frame hook `hook`.
    pub fn has_l2(&self, hook: L2Hook) -> bool {
        self.l2bases.get(&hook).is_some_and(|v| !v.is_empty())
    }

    /// Runs the base chains `chains` in order over `pkt`.
    pub fn run(
        &self,
        chains: &[(usize, usize)],
        pkt: &mut NfPacket,
        env: &mut EvalEnv,
        dyn_sets: &mut DynSets,
    ) -> HookOutcome {
        let mut out = HookOutcome {
            verdict: Verdict::Accept,
            nat: None,
            notrack: false,
            flow_offload: None,
            steps: Vec::new(),
            rules_tested: 0,
            queued: None,
            queue: Default::default(),
        };
        for (k, &(ti, ci)) in chains.iter().enumerate() {
            let v = self.run_base(ti, ci, pkt, env, dyn_sets, &mut out);
            if let Some(q) = &mut out.queued {
                // NF_QUEUE: this hook entry ends; the listener decides
                q.chain = k;
                return out;
            }
            if v != Verdict::Accept {
                out.verdict = v;
                return out;
            }
            if pkt.fwd.is_some() || pkt.fwd_neigh.is_some() {
                // `fwd to`: NF_STOLEN, the later base chains do not run
                return out;
            }
            if out.nat.is_some() {
                // a NAT statement accepts; the binding is made once
                return out;
            }
        }
        out
    }

    /// Runs one base chain and the chains it jumps to (the kernel's
    /// `nft_do_chain`): each rule's expressions, then its verdict.
    fn run_base(
        &self,
        ti: usize,
        start: usize,
        pkt: &mut NfPacket,
        env: &mut EvalEnv,
        dyn_sets: &mut DynSets,
        out: &mut HookOutcome,
    ) -> Verdict {
        let t = &self.tables[ti];
        let tlabel = format!("{} {}", t.family, t.name);
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let (mut ci, mut pos) = (start, 0usize);
        let mut budget = 1_000_000usize;
        loop {
            budget -= 1;
            if budget == 0 {
                return Verdict::Drop;
            }
            let chain = &t.chains[ci];
            let Some(rule) = chain.rules.get(pos) else {
                match stack.pop() {
                    Some((c, p)) => {
                        ci = c;
                        pos = p;
                        continue;
                    }
                    None => {
                        let drop = t.chains[start].base.as_ref().is_some_and(|b| b.policy_drop);
                        if drop {
                            out.steps.push(NfStep {
                                table: StepTable::Nft(tlabel.clone()),
                                chain: t.chains[start].name.clone(),
                                rule: 0,
                                line: 0,
                                text: String::new(),
                                effect: "policy drop".into(),
                            });
                            return Verdict::Drop;
                        }
                        return Verdict::Accept;
                    }
                }
            };
            let ri = pos;
            pos += 1;
            let at = RuleRef {
                table: TableKind::Filter,
                chain: format!("nft:{tlabel} {}", chain.name),
                rule: ri + 1,
            };
            let step = |effect: String, out: &mut HookOutcome| {
                out.steps.push(NfStep {
                    table: StepTable::Nft(tlabel.clone()),
                    chain: chain.name.clone(),
                    rule: ri + 1,
                    line: rule.line,
                    text: rule.text.clone(),
                    effect,
                })
            };
            let r = RuleAt {
                t,
                tlabel: &tlabel,
                at,
                step: &step,
            };
            let v = match eval_rule(&r, rule, pkt, env, dyn_sets, out) {
                RuleEnd::Break | RuleEnd::Next => continue,
                RuleEnd::Nat | RuleEnd::Stolen => return Verdict::Accept,
                RuleEnd::Verdict(v) => v,
            };
            let jump = matches!(v, NVerdict::Jump(_));
            match v {
                NVerdict::Accept => {
                    step("accept".into(), out);
                    return Verdict::Accept;
                }
                NVerdict::Drop => {
                    step("drop".into(), out);
                    return Verdict::Drop;
                }
                NVerdict::Reject(with) => {
                    step(NVerdict::Reject(with).to_string(), out);
                    // nft's plain `reject` answers ICMP port unreachable
                    return Verdict::Reject(with);
                }
                NVerdict::Queue { bypass, num } => {
                    if let Some(prog) =
                        num.and_then(|n| crate::net::netfilter::nfqueue::bound(env, n))
                    {
                        // nf_queue: the packet goes to the listener; the
                        // hook resumes after its verdict (nf_reinject)
                        let n = num.unwrap_or(0);
                        step(format!("queue to {n}: to {prog} (nfnetlink_queue)"), out);
                        out.queued = Some(crate::net::netfilter::nfqueue::QueueReq {
                            num: n,
                            bypass,
                            chain: 0,
                        });
                        return Verdict::Accept;
                    }
                    // nf_queue with no listener: NF_DROP, or the next
                    // hook function with the bypass flag
                    if bypass {
                        step("queue bypass: no listener, accepted".into(), out);
                        return Verdict::Accept;
                    }
                    step("queue: no listener, dropped".into(), out);
                    return Verdict::Drop;
                }
                NVerdict::Continue => {}
                NVerdict::Return => {
                    step("return".into(), out);
                    match stack.pop() {
                        Some((c, p)) => {
                            ci = c;
                            pos = p;
                        }
                        None => return Verdict::Accept,
                    }
                }
                NVerdict::Jump(c) | NVerdict::Goto(c) => {
                    let Some(target) = t.chain(&c) else {
                        return Verdict::Drop;
                    };
                    step(format!("{} {c}", if jump { "jump" } else { "goto" }), out);
                    if jump {
                        stack.push((ci, pos));
                    } else {
                        // goto: a return from the target goes back past us
                    }
                    ci = target;
                    pos = 0;
                }
            }
        }
    }
}

/// `ct label N` and `ct label set N` on the packet's connection (none:
/// NFT_BREAK for the match, nothing for the statement, as nft_ct.c's
/// `ct == NULL` paths).
fn ct_label(e: &Expr, pkt: &mut NfPacket) -> Option<RuleEnd> {
    let tracked = pkt.ct_state != 0 && pkt.ct_state & (ctbits::UNTRACKED | ctbits::INVALID) == 0;
    match e {
        Expr::CtLabel(bit) if tracked && pkt.ct_labels & (1u128 << bit) != 0 => None,
        Expr::CtLabel(_) => Some(RuleEnd::Break),
        Expr::CtLabelSet(bit) if tracked => {
            pkt.ct_labels |= 1u128 << bit;
            None
        }
        _ => None,
    }
}

/// The rule being evaluated: its table (for named sets and maps), the
/// table's label, its place (for the chooser's draws) and how to record a
/// step.
struct RuleAt<'a> {
    t: &'a NftTable,
    tlabel: &'a str,
    at: RuleRef,
    step: &'a dyn Fn(String, &mut HookOutcome),
}

/// How a rule's expressions ended (`nft_do_chain`'s `regs.verdict`).
enum RuleEnd {
    /// `NFT_BREAK`: an expression did not match; on to the next rule.
    Break,
    /// Every expression ran and none gave a verdict (`NFT_CONTINUE`).
    Next,
    /// A NAT statement: it accepts, the hook ends.
    Nat,
    /// `fwd to`: NF_STOLEN, the hook ends and the frame is gone from it.
    Stolen,
    /// A verdict, by a verdict statement or a verdict map.
    Verdict(NVerdict),
}

/// Evaluates a rule's expressions in order until one ends it.
fn eval_rule(
    r: &RuleAt,
    rule: &NftRule,
    pkt: &mut NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> RuleEnd {
    for (k, e) in rule.exprs.iter().enumerate() {
        if let Some(end) = eval_expr(r, (rule, k), e, pkt, env, dyn_sets, out) {
            return end;
        }
    }
    RuleEnd::Next
}

/// One expression's `eval` (nft_cmp, nft_lookup, nft_numgen, nft_meta_set,
/// nft_dynset, nft_immediate, nft_nat, nft_masq, nft_redir, nft_limit,
/// nft_quota, nft_counter, nft_log, nft_ct notrack); `None` goes on to the
/// next expression.
fn eval_expr(
    r: &RuleAt,
    at: (&NftRule, usize),
    e: &Expr,
    pkt: &mut NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let (t, tlabel, step) = (r.t, r.tlabel, r.step);
    let here = format!("{tlabel}:{}:{}", at.0.line, at.1);
    match e {
        Expr::Cmp { sel, mask, op, rhs } => {
            if cmp(t, tlabel, sel, *mask, *op, rhs, pkt, env, dyn_sets) {
                return None;
            }
            Some(RuleEnd::Break)
        }
        Expr::Vmap { sel, map } => {
            let key = keys(sel, pkt, env);
            match map_lookup(t, map, &key) {
                Some(Data::Verdict(v)) => Some(RuleEnd::Verdict(v)),
                _ => Some(RuleEnd::Break),
            }
        }
        Expr::Numgen {
            modulus,
            offset,
            random,
            map,
        } => Some(numgen(
            r,
            &here,
            (*modulus, *offset, *random),
            map,
            env,
            dyn_sets,
            out,
        )),
        Expr::Set { target, value } => {
            set_stmt(*target, value, pkt, step, out);
            None
        }
        Expr::Dup { gateway, dev } => {
            pkt.dups.push((*gateway, dev.clone()));
            step(format!("dup to {gateway}"), out);
            None
        }
        Expr::PayloadSet { field, value } => {
            payload_stmt(r, &here, (*field, value), pkt, env, dyn_sets, out)
        }
        Expr::SetMap { target, key, map } => {
            let k = keys(key, pkt, env);
            let Some(Data::Vals(v)) = map_lookup(t, map, &k) else {
                return Some(RuleEnd::Break);
            };
            let Some(Val::Int(x)) = v.first() else {
                return Some(RuleEnd::Break);
            };
            let value = SetVal {
                src: None,
                value: *x,
                ops: Vec::new(),
                or_src: None,
            };
            set_stmt(*target, &value, pkt, step, out);
            None
        }
        Expr::Update {
            set,
            key,
            timeout_ns,
            limit: lim,
        } => update(
            r,
            &here,
            (set, key, *timeout_ns, lim.as_deref()),
            pkt,
            env,
            dyn_sets,
            out,
        ),
        Expr::ObjMap { kind, key, map } => {
            let k = keys(key, pkt, env);
            match map_lookup(t, map, &k) {
                Some(Data::Obj(name)) => objref(r, (kind, &name), pkt, env, dyn_sets, out),
                _ => Some(RuleEnd::Break),
            }
        }
        Expr::Verdict(v) => Some(RuleEnd::Verdict(v.clone())),
        Expr::Nat { .. } => nat(r, &here, e, pkt, env, dyn_sets, out),
        Expr::Notrack => {
            out.notrack = true;
            None
        }
        Expr::FlowOffload { flowtable } => flow_offload(r, flowtable, out),
        Expr::Tproxy { addr, port } => tproxy(*addr, *port, pkt, env, step, out),
        Expr::Synproxy(info) => synproxy(info, pkt, step, out),
        Expr::Limit { .. } => limit(e, &format!("limit#{here}"), env, dyn_sets, step, out),
        Expr::Quota { .. } => quota(e, &format!("quota#{here}"), dyn_sets, step, out),
        Expr::ObjRef { kind, name } => objref(r, (kind, name), pkt, env, dyn_sets, out),
        Expr::Counter => {
            let c = dyn_sets
                .counters
                .entry(format!("counter#{here}"))
                .or_default();
            c.0 += 1;
            None
        }
        Expr::Log { prefix } => {
            step(format!("log prefix \"{prefix}\""), out);
            None
        }
        Expr::Unmodelled {
            construct,
            is_match,
        } => unmodelled(construct, *is_match, env, step, out),
        Expr::Unresolved { .. } => unresolved(e, env, step, out),
        Expr::Step(text) => {
            step(text.clone(), out);
            None
        }
        Expr::Nop(_) => None,
        Expr::CtLabel(_) | Expr::CtLabelSet(_) => ct_label(e, pkt),
        Expr::Ipv6Break(text) => {
            step(
                format!("{text}: IPv6 only, an IPv4 packet stops the rule (NFT_BREAK)"),
                out,
            );
            Some(RuleEnd::Break)
        }
        Expr::EtherSet { daddr, value } => {
            ether_set(r, &here, *daddr, value, pkt, env, dyn_sets, out)
        }
        Expr::Fwd(dev) => fwd_dup(dev, true, pkt, step, out),
        Expr::FwdNeigh { addr, dev } => fwd_neigh(*addr, dev, pkt, step, out),
        Expr::DupDev(dev) => fwd_dup(dev, false, pkt, step, out),
    }
}

/// `fwd ip to ADDR device DEV` (nft_fwd_netdev.c nft_fwd_neigh_eval).
fn fwd_neigh(
    addr: Ipv4Addr,
    dev: &str,
    pkt: &mut NfPacket,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    if pkt.l2.is_none() {
        step(
            format!("fwd ip to {addr} device {dev}: no frame at this hook, passed over"),
            out,
        );
        return None;
    }
    if pkt.not_ip {
        // nft_fwd_neigh_eval: skb->protocol is not ETH_P_IP
        step(
            format!("fwd ip to {addr} device {dev}: not IPv4, the rule breaks"),
            out,
        );
        return Some(RuleEnd::Break);
    }
    step(
        format!("fwd ip to {addr} device {dev}: TTL decreased, sent to neighbour {addr} on {dev} (stolen)"),
        out,
    );
    pkt.fwd_neigh = Some((addr, dev.to_string()));
    Some(RuleEnd::Stolen)
}

/// `add|update @set { KEY [timeout T] [limit ...] }` (nft_dynset.c): the
/// element added or refreshed, then its own limit if it has one.
fn update(
    r: &RuleAt,
    here: &str,
    (set, key, timeout_ns, lim): (&str, &[Sel], Option<u64>, Option<&Expr>),
    pkt: &NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let k: Option<Vec<Kv>> = keys(key, pkt, env).into_iter().collect();
    let Some(k) = k else {
        return Some(RuleEnd::Break);
    };
    let timeout = timeout_ns
        .or_else(|| r.t.sets.get(set).and_then(|s| s.timeout_ns))
        .unwrap_or(u64::MAX / 4);
    let shown: Vec<String> = k.iter().map(kv_text).collect();
    dyn_sets
        .sets
        .entry((r.tlabel.to_string(), set.to_string()))
        .or_default()
        .insert(k, env.now_ns.saturating_add(timeout));
    (r.step)(format!("update @{set} {{ {} }}", shown.join(" . ")), out);
    // the element's own limit (nft_dynset with an expression)
    limit(
        lim?,
        &format!("meter#{here}#{}", shown.join(".")),
        env,
        dyn_sets,
        r.step,
        out,
    )
}

/// A name the machine's databases did not resolve (a user or group
/// nft -f looked up with getpwnam/getgrnam): said, and taken as
/// `--assume-unmodelled` says.
fn unresolved(
    e: &Expr,
    env: &EvalEnv,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let Expr::Unresolved {
        db,
        names,
        construct,
        ..
    } = e
    else {
        return None;
    };
    let name = names.first().map_or("", String::as_str);
    step(
        format!("{construct}: {}: {}", db.needs(name), env.assume.effect()),
        out,
    );
    (!env.assume.holds()).then_some(RuleEnd::Break)
}

/// A construct podpath keeps but does not evaluate: a match holds as
/// `--assume-unmodelled` says, a statement is passed over; the trace says
/// which.
fn unmodelled(
    construct: &str,
    is_match: bool,
    env: &EvalEnv,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    if is_match {
        let holds = env.assume.holds();
        step(
            format!("{construct} is not modelled: {}", env.assume.effect()),
            out,
        );
        return (!holds).then_some(RuleEnd::Break);
    }
    step(format!("{construct} is not modelled: passed over"), out);
    None
}

/// `flow add @FT`: the request the host checks after the hook
/// (nft_flow_offload_eval's conditions, [`crate::net::netfilter::FlowOffloadReq`]).
fn flow_offload(r: &RuleAt, flowtable: &str, out: &mut HookOutcome) -> Option<RuleEnd> {
    let devices =
        r.t.objects
            .get(&("flowtable".to_string(), flowtable.to_string()))
            .map(|o| o.flowtable_devices())
            .unwrap_or_default();
    (r.step)(format!("flow add @{flowtable}"), out);
    out.flow_offload = Some(crate::net::netfilter::FlowOffloadReq {
        table: r.tlabel.to_string(),
        name: flowtable.to_string(),
        devices,
    });
    None
}

/// `fwd to DEV` (nft_fwd_netdev_eval: NF_STOLEN, the frame sent out of
/// DEV) and `dup to DEV` (nft_dup_netdev_eval: a copy sent).
fn fwd_dup(
    dev: &str,
    fwd: bool,
    pkt: &mut NfPacket,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let what = if fwd { "fwd" } else { "dup" };
    if pkt.l2.is_none() {
        // (nft accepts fwd/dup in the netdev family only)
        step(
            format!("{what} to {dev}: no frame at this hook, passed over"),
            out,
        );
        return None;
    }
    if !fwd {
        step(format!("dup to {dev}: a copy leaves out of {dev}"), out);
        pkt.dup.push(dev.to_string());
        return None;
    }
    step(
        format!("fwd to {dev}: the frame leaves out of {dev} (stolen)"),
        out,
    );
    pkt.fwd = Some(dev.to_string());
    Some(RuleEnd::Stolen)
}

/// `ether saddr|daddr set VALUE` (nft_payload_set_eval at the link-layer
/// base): the frame's address rewritten; the value a constant or looked
/// up by `numgen`/`jhash` in a map (no element: the rule breaks).
#[allow(clippy::too_many_arguments)]
fn ether_set(
    r: &RuleAt,
    here: &str,
    daddr: bool,
    value: &MacVal,
    pkt: &mut NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let mac = match value {
        MacVal::Const(m) => *m,
        MacVal::Map(src, map) => {
            let Some(n) = num_value(r, here, src, pkt, env, dyn_sets) else {
                return Some(RuleEnd::Break);
            };
            match map_lookup(r.t, map, &[Some(Kv::N(n))]) {
                Some(Data::Vals(v)) => match v.first() {
                    Some(Val::Mac(m)) => *m,
                    _ => return Some(RuleEnd::Break),
                },
                _ => return Some(RuleEnd::Break),
            }
        }
    };
    let which = if daddr { "daddr" } else { "saddr" };
    let Some(l2) = pkt.l2.as_mut() else {
        // an IPv4 hook: podpath does not rewrite the frame there
        (r.step)(
            format!(
                "ether {which} set {}: no frame at this hook, passed over",
                mac_text(&mac)
            ),
            out,
        );
        return None;
    };
    let slot = if daddr { &mut l2.dst } else { &mut l2.src };
    let before = *slot;
    *slot = mac;
    (r.step)(
        format!("ether {which} {} -> {}", mac_text(&before), mac_text(&mac)),
        out,
    );
    None
}

/// The registers a hash reads (nft_payload_eval / nft_meta_get_eval
/// stores): addresses and ports in network order, marks in host order
/// (little-endian, x86), each part padded to 4 bytes in a concatenation
/// (evaluate.c expr_evaluate_concat: `netlink_padded_len`), one part
/// alone at its own length.
pub(crate) fn hash_data(key: &[Sel], pkt: &NfPacket, env: &EvalEnv) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    for s in key {
        let v = sel_value(*s, pkt, env)?;
        let mut b = match (s, v) {
            (Sel::Sport | Sel::Dport, Kv::N(n)) => (n as u16).to_be_bytes().to_vec(),
            (Sel::L4proto, Kv::N(n)) => vec![n as u8],
            (Sel::Mark | Sel::CtMark, Kv::N(n)) => n.to_le_bytes().to_vec(),
            (_, Kv::N(n)) => n.to_be_bytes().to_vec(),
            (_, Kv::M(m)) => m.to_vec(),
            (_, Kv::A6(a)) => a.to_be_bytes().to_vec(),
            (_, Kv::S(name)) => {
                // an interface name: IFNAMSIZ bytes
                let mut b = name.into_bytes();
                b.resize(16, 0);
                b
            }
        };
        if key.len() > 1 {
            b.resize(b.len().div_ceil(4) * 4, 0);
        }
        data.extend(b);
    }
    Some(data)
}

fn kv_text(k: &Kv) -> String {
    match k {
        Kv::N(n) if *n > 0xffff => Ipv4Addr::from(*n).to_string(),
        Kv::N(n) => n.to_string(),
        Kv::S(s) => format!("\"{s}\""),
        Kv::M(m) => mac_text(m),
        Kv::A6(a) => std::net::Ipv6Addr::from(*a).to_string(),
    }
}

/// The data a map gives for `key` (nft_lookup with a map).
fn map_lookup(t: &NftTable, map: &MapRef, key: &[Option<Kv>]) -> Option<Data> {
    match map {
        MapRef::Named(m) => t
            .sets
            .get(m)
            .and_then(|s| s.lookup(key))
            .and_then(|(_, d)| d.clone()),
        MapRef::Anon(els) => els
            .iter()
            .find(|(k, _)| key_matches(k, key))
            .and_then(|(_, d)| d.clone()),
    }
}

/// `ip FIELD set VALUE|NUM map {...}`: the value, then [`payload_set`].
fn payload_stmt(
    r: &RuleAt,
    here: &str,
    (field, value): (PayloadField, &PayloadVal),
    pkt: &mut NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let v = match value {
        PayloadVal::Const(v) => *v,
        PayloadVal::Map { num, map } => {
            let Some(pick) = num_value(r, here, num, pkt, env, dyn_sets) else {
                return Some(RuleEnd::Break);
            };
            match map_lookup(r.t, map, &[Some(Kv::N(pick))]) {
                Some(Data::Vals(v)) => match v.first() {
                    Some(Val::Int(x)) => *x,
                    Some(Val::Net(n)) if n.prefix_len() == 32 => u32::from(n.addr()),
                    _ => return Some(RuleEnd::Break),
                },
                _ => return Some(RuleEnd::Break),
            }
        }
    };
    payload_set(field, v, pkt, r.step, out);
    None
}

/// nft_payload_set_eval on the packet's view (the header bytes are
/// written at the end of the hook, [`crate::net::netfilter::mangle`]).
fn payload_set(
    field: PayloadField,
    v: u32,
    pkt: &mut NfPacket,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) {
    let what = match field {
        PayloadField::Saddr => {
            let (old, new) = (pkt.src, Ipv4Addr::from(v));
            pkt.src = new;
            format!("ip saddr {old} -> {new}")
        }
        PayloadField::Daddr => {
            let (old, new) = (pkt.dst, Ipv4Addr::from(v));
            pkt.dst = new;
            format!("ip daddr {old} -> {new}")
        }
        PayloadField::Ttl => {
            let old = pkt.ttl;
            pkt.ttl = v as u8;
            format!("ip ttl {old} -> {}", pkt.ttl)
        }
        PayloadField::Dscp => {
            let old = pkt.tos >> 2;
            pkt.tos = (pkt.tos & 3) | ((v as u8 & 0x3f) << 2);
            format!("ip dscp 0x{old:02x} -> 0x{:02x}", pkt.tos >> 2)
        }
        PayloadField::Ecn => {
            let old = pkt.tos & 3;
            pkt.tos = (pkt.tos & !3) | (v as u8 & 3);
            format!("ip ecn {old} -> {}", pkt.tos & 3)
        }
    };
    step(what, out);
}

/// `meta mark set ...`, `ct mark set ...` (nft_meta_set_eval,
/// nft_ct_set_eval; the value computed as nft_bitwise does).
fn set_stmt(
    target: SetTarget,
    v: &SetVal,
    pkt: &mut NfPacket,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) {
    let src = match v.src {
        Some(Sel::Mark) => pkt.mark,
        Some(Sel::CtMark) => pkt.ctmark,
        // `ct|meta mark set symhash mod N [offset O]`
        Some(Sel::Symhash(m, o)) => symhash(pkt, m, o),
        _ => v.value,
    };
    let mut x = v.ops.iter().fold(src, |x, (op, m)| match op {
        'o' => x | m,
        'x' => x ^ m,
        _ => x & m,
    });
    if let Some((s2, masks)) = &v.or_src {
        let y = if *s2 == Sel::CtMark {
            pkt.ctmark
        } else {
            pkt.mark
        };
        x |= masks.iter().fold(y, |y, m| y & m);
    }
    match target {
        SetTarget::Mark => {
            let before = pkt.mark;
            pkt.mark = x;
            step(format!("mark {before:#x} -> {x:#x}"), out);
        }
        SetTarget::CtMark => {
            let before = pkt.ctmark;
            pkt.ctmark = x;
            step(format!("ct mark {before:#x} -> {x:#x}"), out);
        }
    }
}

/// The number `numgen` gives: `random` draws (a cascade of 1/(n-i)
/// decisions, the distribution of the kernel's one draw), `inc` counts
/// (nft_ng_inc_gen: a per-rule counter, round robin), plus the offset.
fn numgen_pick(
    r: &RuleAt,
    here: &str,
    (n, offset, random): (u32, u32, bool),
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
) -> u32 {
    if !random {
        let c = dyn_sets
            .counters
            .entry(format!("numgen#{here}"))
            .or_default();
        let pick = (c.0 % u64::from(n)) as u32;
        c.0 += 1;
        return pick.wrapping_add(offset);
    }
    let mut pick = n - 1;
    for i in 0..n.saturating_sub(1) {
        let p = 1.0 / f64::from(n - i);
        let thr = (p * 2_147_483_648.0) as u32;
        if env.chooser.statistic_random(&r.at, p, thr) {
            pick = i;
            break;
        }
    }
    pick.wrapping_add(offset)
}

/// `symhash mod N offset O` (nft_hash.c nft_symhash_eval:
/// `reciprocal_scale(__skb_get_hash_symmetric(skb), N) + O`). The kernel's
/// hash (net/core/flow_dissector.c __skb_get_hash_symmetric →
/// __flow_hash_consistentify → __flow_hash_from_keys) runs over the
/// flow keys (protocol, ports, addresses) with `hashrnd`, a key drawn at
/// random once per boot (net_get_random_once): which bucket a flow gets
/// on a given machine cannot be known offline, so it is not reproduced
/// byte-exactly. podpath keeps what holds on every machine: the keys are
/// made consistent as the kernel does (the lower address first, compared
/// as the raw u32 the kernel compares on x86, and the lower port first),
/// so both directions of a flow and every packet of it get the same
/// bucket; they are hashed with jhash and key 0 (an all-zero result is 1,
/// as in the kernel) and scaled to `mod N` as the kernel scales them.
/// Ports are 0 for what the dissector gives none (ICMP, a non-first
/// fragment).
fn symhash(pkt: &NfPacket, modulus: u32, offset: u32) -> u32 {
    let raw = |a: Ipv4Addr| u32::from_le_bytes(a.octets());
    let (mut s, mut d) = (pkt.src, pkt.dst);
    if raw(d) < raw(s) {
        std::mem::swap(&mut s, &mut d);
    }
    let port = |p: Option<u16>| if pkt.fragment { 0 } else { p.unwrap_or(0) };
    let (mut sp, mut dp) = (port(pkt.sport), port(pkt.dport));
    // (__force u16) of the big-endian ports, as x86 reads them
    let rawp = |p: u16| u16::from_le_bytes(p.to_be_bytes());
    if rawp(dp) < rawp(sp) {
        std::mem::swap(&mut sp, &mut dp);
    }
    let mut data = Vec::with_capacity(16);
    data.extend_from_slice(&0x0800u16.to_be_bytes());
    data.push(pkt.proto);
    data.push(0);
    data.extend_from_slice(&sp.to_be_bytes());
    data.extend_from_slice(&dp.to_be_bytes());
    data.extend_from_slice(&s.octets());
    data.extend_from_slice(&d.octets());
    let h = match super::expr::jhash(&data, 0) {
        0 => 1,
        h => h,
    };
    super::expr::reciprocal_scale(h, modulus).wrapping_add(offset)
}

/// A [`super::expr::NumExpr`]'s number: numgen as [`numgen_pick`],
/// jhash as nft_jhash_eval (`reciprocal_scale(jhash(data, len, seed),
/// modulus) + offset`). None: a key has no value (the rule breaks).
fn num_value(
    r: &RuleAt,
    here: &str,
    num: &super::expr::NumExpr,
    pkt: &NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
) -> Option<u32> {
    use super::expr::NumExpr;
    Some(match num {
        NumExpr::Numgen {
            modulus,
            offset,
            random,
        } => numgen_pick(r, here, (*modulus, *offset, *random), env, dyn_sets),
        NumExpr::Symhash { modulus, offset } => symhash(pkt, *modulus, *offset),
        NumExpr::Jhash {
            keys,
            modulus,
            seed,
            offset,
        } => {
            let data = hash_data(keys, pkt, env)?;
            super::expr::reciprocal_scale(super::expr::jhash(&data, *seed), *modulus)
                .wrapping_add(*offset)
        }
    })
}

/// `numgen random|inc mod N vmap { ... }`: the number and its verdict.
fn numgen(
    r: &RuleAt,
    here: &str,
    ng: (u32, u32, bool),
    map: &[(Val, NVerdict)],
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> RuleEnd {
    let pick = numgen_pick(r, here, ng, env, dyn_sets);
    match map.iter().find(|(k, _)| k.matches(&Kv::N(pick))) {
        Some((_, v)) => {
            let kind = if ng.2 { "random" } else { "inc" };
            (r.step)(format!("numgen {kind} mod {} = {pick}", ng.0), out);
            RuleEnd::Verdict(v.clone())
        }
        None => RuleEnd::Break,
    }
}

const NO_RANGE: NatRange = NatRange {
    addr_lo: None,
    addr_hi: None,
    ports: None,
};

/// NAT data `addr [. port]` as a range (nft_nat_eval's registers).
fn nat_data(d: &Data) -> Option<NatRange> {
    let Data::Vals(v) = d else { return None };
    let (lo, hi): (std::net::IpAddr, std::net::IpAddr) = match v.first()? {
        Val::Net(n) => (n.network().into(), n.broadcast().into()),
        Val::Range(a, b) => (Ipv4Addr::from(*a).into(), Ipv4Addr::from(*b).into()),
        Val::V6(n) => (n.network().into(), n.broadcast().into()),
        Val::V6Range(a, b) => ((*a).into(), (*b).into()),
        _ => return None,
    };
    let ports = match v.get(1) {
        Some(Val::Int(p)) => Some((*p as u16, *p as u16)),
        Some(Val::Range(a, b)) => Some((*a as u16, *b as u16)),
        _ => None,
    };
    Some(NatRange {
        addr_lo: Some(lo),
        addr_hi: Some(hi),
        ports,
    })
}

/// `dnat`, `snat`, `masquerade`, `redirect`: the NAT binding to make and
/// its step; a map without the key's element ends the rule (NFT_BREAK).
fn nat(
    r: &RuleAt,
    here: &str,
    e: &Expr,
    pkt: &NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let Expr::Nat {
        kind,
        to,
        random,
        fully_random,
        persistent,
        v6,
    } = e
    else {
        return None;
    };
    if v6.is_some_and(|v6| v6 != pkt.ip6.is_some()) {
        // nft_nat_inet_eval: not the packet's family, nothing done
        return None;
    }
    let range = match to {
        NatTo::None => None,
        NatTo::Range { lo, hi, ports } => Some(NatRange {
            addr_lo: Some(*lo),
            addr_hi: Some(*hi),
            ports: *ports,
        }),
        NatTo::Ports(a, b) => Some(NatRange {
            addr_lo: None,
            addr_hi: None,
            ports: Some((*a, *b)),
        }),
        NatTo::Map { key, map } => {
            let k = keys(key, pkt, env);
            let d = map_lookup(r.t, map, &k)?;
            match nat_data(&d) {
                Some(x) => Some(x),
                None => return Some(RuleEnd::Break),
            }
        }
        NatTo::PrefixMap { key, map } => {
            let k = keys(key, pkt, env);
            let Some(Data::Vals(v)) = map_lookup(r.t, map, &k) else {
                return Some(RuleEnd::Break);
            };
            let Some(Val::Net(n)) = v.first() else {
                return Some(RuleEnd::Break);
            };
            // netmap: the prefix's bits, the original address's host bits
            let orig = u32::from(if *kind == NatKind::Snat {
                pkt.src
            } else {
                pkt.dst
            });
            let m = u32::from(n.netmask());
            let a = Ipv4Addr::from((u32::from(n.network()) & m) | (orig & !m));
            Some(NatRange {
                addr_lo: Some((a).into()),
                addr_hi: Some((a).into()),
                ports: None,
            })
        }
        NatTo::NumMap { num, map } => {
            let Some(pick) = num_value(r, here, num, pkt, env, dyn_sets) else {
                return Some(RuleEnd::Break);
            };
            let Some(d) = map_lookup(r.t, map, &[Some(Kv::N(pick))]) else {
                return Some(RuleEnd::Break);
            };
            match nat_data(&d) {
                Some(x) => Some(x),
                None => return Some(RuleEnd::Break),
            }
        }
        NatTo::AddrPortMap { addr, num, map } => {
            let Some(pick) = num_value(r, here, num, pkt, env, dyn_sets) else {
                return Some(RuleEnd::Break);
            };
            let Some(Data::Vals(v)) = map_lookup(r.t, map, &[Some(Kv::N(pick))]) else {
                return Some(RuleEnd::Break);
            };
            let ports = match v.first() {
                Some(Val::Int(p)) => (*p as u16, *p as u16),
                Some(Val::Range(a, b)) => (*a as u16, *b as u16),
                _ => return Some(RuleEnd::Break),
            };
            Some(NatRange {
                addr_lo: Some((*addr).into()),
                addr_hi: Some((*addr).into()),
                ports: Some(ports),
            })
        }
        NatTo::NumgenMap {
            modulus,
            offset,
            random,
            map,
        } => {
            let pick = numgen_pick(r, here, (*modulus, *offset, *random), env, dyn_sets);
            let Some(d) = map_lookup(r.t, map, &[Some(Kv::N(pick))]) else {
                return Some(RuleEnd::Break);
            };
            match nat_data(&d) {
                Some(x) => Some(x),
                None => return Some(RuleEnd::Break),
            }
        }
    };
    let ports = range.as_ref().and_then(|x| x.ports);
    let shown = range
        .as_ref()
        .map(|x| format!(" to {x}"))
        .unwrap_or_default();
    let target = match kind {
        NatKind::Dnat => Target::Dnat {
            to: range.clone().unwrap_or(NO_RANGE),
            random: *random,
            persistent: *persistent,
        },
        NatKind::Snat => Target::Snat {
            to: range.clone().unwrap_or(NO_RANGE),
            random: *random,
            random_fully: *fully_random,
            persistent: *persistent,
        },
        NatKind::Masquerade => Target::Masquerade {
            ports,
            random: *random,
            random_fully: *fully_random,
        },
        NatKind::Redirect => Target::Redirect { ports },
    };
    let name = match kind {
        NatKind::Dnat => "DNAT",
        NatKind::Snat => "SNAT",
        NatKind::Masquerade => "MASQUERADE",
        NatKind::Redirect => "REDIRECT",
    };
    let fr = if *fully_random { " (fully-random)" } else { "" };
    (r.step)(format!("{name}{shown}{fr}"), out);
    out.nat = Some(target);
    Some(RuleEnd::Nat)
}

/// nft_limit_eval: a token bucket on the virtual clock. Tokens are
/// nanoseconds: a packet costs `per_ns / rate`, the bucket holds `burst`
/// packets' worth and starts full; over the limit the rule breaks
/// (inverted by `over`). Byte limits: packet lengths are not counted
/// (a simplification named in explain), so they never run out.
fn limit(
    e: &Expr,
    key: &str,
    env: &EvalEnv,
    dyn_sets: &mut DynSets,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let Expr::Limit {
        over,
        rate,
        per_ns,
        burst,
        bytes,
        ..
    } = e
    else {
        return None;
    };
    let within = if *bytes {
        true
    } else {
        let cost = per_ns / rate.max(&1);
        let max = cost.saturating_mul((*burst).max(1));
        let now = env.now_ns;
        let b = dyn_sets.limits.entry(key.to_string()).or_insert((max, now));
        let tokens = b.0.saturating_add(now.saturating_sub(b.1)).min(max);
        if tokens >= cost {
            *b = (tokens - cost, now);
            true
        } else {
            *b = (tokens, now);
            false
        }
    };
    let hit = within != *over;
    if !hit {
        step(
            format!(
                "limit {}: no match",
                if *over { "not exceeded" } else { "exceeded" }
            ),
            out,
        );
        return Some(RuleEnd::Break);
    }
    None
}

/// nft_quota: matches while the bytes used stay below the quota
/// (inverted by `over`). Packet lengths are not counted (named in
/// explain): a quota is exhausted when its `used` already reaches it.
fn quota(
    e: &Expr,
    key: &str,
    dyn_sets: &mut DynSets,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let Expr::Quota {
        over, bytes, used, ..
    } = e
    else {
        return None;
    };
    let consumed = *dyn_sets.quotas.entry(key.to_string()).or_insert(*used);
    let overquota = consumed >= *bytes;
    if overquota != *over {
        step(format!("quota {consumed}/{bytes} bytes: no match"), out);
        return Some(RuleEnd::Break);
    }
    None
}

/// A named object used by a rule (nft_objref): limits and quotas run
/// their statement, counters count, `ct helper set` is recorded.
fn objref(
    r: &RuleAt,
    (kind, name): (&str, &str),
    pkt: &mut NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let key = format!("{}:{kind} {name}", r.tlabel);
    let obj = r.t.objects.get(&(kind.to_string(), name.to_string()));
    match (kind, obj.and_then(|o| o.stmt.as_ref())) {
        ("limit", Some(e)) => limit(e, &key, env, dyn_sets, r.step, out),
        ("quota", Some(e)) => quota(e, &key, dyn_sets, r.step, out),
        ("counter", _) => {
            dyn_sets.counters.entry(key).or_default().0 += 1;
            None
        }
        ("synproxy", Some(Expr::Synproxy(info))) => synproxy(info, pkt, r.step, out),
        ("ct helper", _) => {
            let what = ct_helper_assign(obj.map(|o| o.body.as_str()), pkt);
            (r.step)(format!("ct helper set \"{name}\": {what}"), out);
            None
        }
        _ => {
            (r.step)(
                format!("{kind} set \"{name}\" (recorded; no effect podpath models)"),
                out,
            );
            None
        }
    }
}

/// nft_ct.c nft_ct_helper_obj_eval: the object's helper (`type "ftp"
/// protocol tcp`) is given to a connection on its first packet (not yet
/// confirmed), when the protocol is the object's and the connection has
/// none. Simplification: the helper does not run (no expectations).
fn ct_helper_assign(body: Option<&str>, pkt: &mut NfPacket) -> String {
    let Some(body) = body else {
        return "no such object".into();
    };
    let words: Vec<&str> = body
        .split(|c: char| c.is_whitespace() || c == ';' || c == '{' || c == '}')
        .filter(|w| !w.is_empty())
        .collect();
    let after = |k: &str| {
        words
            .iter()
            .position(|w| *w == k)
            .and_then(|i| words.get(i + 1))
            .map(|w| w.trim_matches('"'))
    };
    let Some(helper) = after("type") else {
        return "no helper type".into();
    };
    let proto = match after("protocol") {
        Some("udp") => 17,
        _ => 6,
    };
    let Some(ct) = pkt.ct.as_ref() else {
        return "no connection".into();
    };
    if ct.status & 8 != 0 || pkt.proto != proto || pkt.ct_helper.is_some() {
        return "connection already confirmed, of another protocol or with a helper: unchanged"
            .into();
    }
    pkt.ct_helper = Some(helper.to_string());
    format!("helper {helper} (it does not run in podpath)")
}

pub(crate) fn key_matches(k: &[Val], key: &[Option<Kv>]) -> bool {
    k.len() == key.len()
        && k.iter()
            .zip(key)
            .all(|(v, x)| x.as_ref().is_some_and(|x| v.matches(x)))
}

/// The route type number of an address (RTN_*, as `fib ... type` gives).
fn rtn(bits: u16) -> u32 {
    for (b, n) in [
        (addrtype::LOCAL, 2),
        (addrtype::BROADCAST, 3),
        (addrtype::MULTICAST, 5),
        (addrtype::BLACKHOLE, 6),
        (addrtype::UNREACHABLE, 7),
        (addrtype::PROHIBIT, 8),
        (addrtype::ANYCAST, 4),
        (addrtype::UNICAST, 1),
    ] {
        if bits & b != 0 {
            return n;
        }
    }
    0
}

/// The selectors that read the IPv4 packet (or need one: fib, the
/// packet type from the address): on a frame without one (ARP at a frame
/// hook) their dependency fails.
fn needs_ip(s: Sel) -> bool {
    matches!(
        s,
        Sel::Saddr
            | Sel::Daddr
            | Sel::L4proto
            | Sel::Sport
            | Sel::Dport
            | Sel::TcpFlags
            | Sel::IcmpType
            | Sel::IcmpCode
            | Sel::FibSaddrType(_)
            | Sel::FibDaddrType(_)
            | Sel::FibOif(..)
            | Sel::Ttl
            | Sel::TcpMss
    )
}

/// The link-layer selectors: `ether` (at the IPv4 hooks the source is the
/// received frame's, the destination unknown: the rule breaks), `meta
/// protocol`, `vlan` (no 802.1Q tags on podpath's wire: never a value),
/// `arp`; `meta pkttype` of a frame from its destination address.
fn l2_value(s: Sel, pkt: &NfPacket) -> Option<Option<Kv>> {
    let l2 = pkt.l2.as_ref();
    Some(match s {
        Sel::EtherSaddr => l2.map(|l| l.src).or(pkt.src_mac).map(Kv::M),
        Sel::EtherDaddr => l2.map(|l| Kv::M(l.dst)),
        Sel::EtherType => Some(Kv::N(u32::from(l2.map_or(0x0800, |l| l.ethertype)))),
        // the implicit `ether type 8021q` of an untagged frame fails
        Sel::Vlan => None,
        Sel::Arp(f) => {
            let a = l2.and_then(|l| l.arp.as_ref());
            a.map(|a| match f {
                ArpField::Htype => Kv::N(1),
                ArpField::Ptype => Kv::N(0x0800),
                ArpField::Hlen => Kv::N(6),
                ArpField::Plen => Kv::N(4),
                ArpField::Op => Kv::N(u32::from(a.op)),
                ArpField::SaddrIp => Kv::N(u32::from(a.sip)),
                ArpField::DaddrIp => Kv::N(u32::from(a.tip)),
                ArpField::SaddrEther => Kv::M(a.sha),
                ArpField::DaddrEther => Kv::M(a.tha),
            })
        }
        Sel::PktType if pkt.not_ip => {
            let d = l2.map(|l| l.dst).unwrap_or_default();
            Some(Kv::N(if d == [0xff; 6] {
                1
            } else if d[0] & 1 != 0 {
                2
            } else {
                0
            }))
        }
        _ => return None,
    })
}

/// The selectors of the IPv4 header: on an IPv6 packet their dependency
/// (`meta nfproto ipv4`, implied in an inet table) fails.
fn v4_only(s: Sel) -> bool {
    matches!(
        s,
        Sel::Saddr | Sel::Daddr | Sel::Ttl | Sel::IcmpType | Sel::IcmpCode | Sel::Const(_)
    )
}

/// The selectors of the IPv6 header and ICMPv6: on an IPv4 packet their
/// dependency (`meta nfproto ipv6`) fails.
fn v6_only(s: Sel) -> bool {
    matches!(
        s,
        Sel::V6
            | Sel::Saddr6
            | Sel::Daddr6
            | Sel::Nexthdr6
            | Sel::Hoplimit6
            | Sel::Icmp6Type
            | Sel::Icmp6Code
    )
}

/// `ct status` bits (IPS_EXPECTED 1, SEEN_REPLY 2, ASSURED 4, CONFIRMED
/// 8, SRC_NAT 16, DST_NAT 32) from the packet's conntrack state.
fn ct_status(st: u8) -> u32 {
    let mut v = 0;
    if st & ctbits::SNAT != 0 {
        v |= 16;
    }
    if st & ctbits::DNAT != 0 {
        v |= 32;
    }
    if st & ctbits::ESTABLISHED != 0 {
        v |= 2 | 4 | 8;
    }
    if st & ctbits::RELATED != 0 {
        v |= 1 | 8;
    }
    v
}

/// The value of a selector that depends on the packet's family: None
/// when the selector reads the other family (its dependency fails) or
/// reads nothing podpath models; Some(v) for an IPv6 header field.
fn family_value(s: Sel, pkt: &NfPacket) -> Option<Option<Kv>> {
    let Some((src, dst)) = pkt.ip6 else {
        return v6_only(s).then_some(None);
    };
    Some(match s {
        _ if v4_only(s) => None,
        Sel::Saddr6 => Some(Kv::A6(u128::from(src))),
        Sel::Daddr6 => Some(Kv::A6(u128::from(dst))),
        Sel::Nexthdr6 => Some(Kv::N(u32::from(pkt.proto))),
        Sel::Hoplimit6 => Some(Kv::N(u32::from(pkt.ttl))),
        Sel::Icmp6Type => pkt.icmp.map(|(t, _)| Kv::N(u32::from(t))),
        Sel::Icmp6Code => pkt.icmp.map(|(_, c)| Kv::N(u32::from(c))),
        Sel::V6 => None,
        _ => return None,
    })
}

fn sel_value(s: Sel, pkt: &NfPacket, env: &EvalEnv) -> Option<Kv> {
    if pkt.not_ip && (needs_ip(s) || v6_only(s)) {
        return None;
    }
    if let Some(v) = family_value(s, pkt) {
        return v;
    }
    if let Some(v) = l2_value(s, pkt) {
        return v;
    }
    let dev = |d: u8| match d {
        1 => pkt.in_if.as_deref(),
        2 => pkt.out_if.as_deref(),
        _ => None,
    };
    Some(Kv::N(match s {
        Sel::Saddr => u32::from(pkt.src),
        Sel::Daddr => u32::from(pkt.dst),
        Sel::L4proto => u32::from(pkt.proto),
        Sel::Sport => u32::from(pkt.sport?),
        Sel::Dport => u32::from(pkt.dport?),
        Sel::Mark => pkt.mark,
        Sel::CtState => u32::from(pkt.ct_state),
        Sel::CtStatus => ct_status(pkt.ct_state),
        Sel::CtMark => pkt.ctmark,
        Sel::CtDirection
        | Sel::V6
        | Sel::Absent
        | Sel::Saddr6
        | Sel::Daddr6
        | Sel::Nexthdr6
        | Sel::Hoplimit6
        | Sel::Icmp6Type
        | Sel::Icmp6Code => return None,
        Sel::CtAcct(dir, what) => {
            // nft_ct_get_eval: no connection (or untracked) breaks
            let ct = pkt.ct.as_ref()?;
            let c = ct.acct.unwrap_or([(0, 0); 2]);
            let pick = |f: fn(&(u64, u64)) -> u64| match dir {
                0 => f(&c[0]),
                1 => f(&c[1]),
                _ => f(&c[0]).saturating_add(f(&c[1])),
            };
            let v = match what {
                0 => pick(|x| x.0),
                1 => pick(|x| x.1),
                _ => pick(|x| x.1).checked_div(pick(|x| x.0)).unwrap_or(0),
            };
            u32::try_from(v).unwrap_or(u32::MAX)
        }
        Sel::CtHelper => {
            pkt.ct.as_ref()?;
            return pkt.ct_helper.clone().map(Kv::S);
        }
        Sel::OsfName => {
            return (pkt.proto == 6 && !pkt.fragment && pkt.tcp_flags? & 0x02 != 0)
                .then(|| Kv::S("unknown".into()))
        }
        // nft_meta_store_ifname: no device reads as "" (no break)
        Sel::Iif => return Some(Kv::S(pkt.in_if.clone().unwrap_or_default())),
        Sel::Oif => return Some(Kv::S(pkt.out_if.clone().unwrap_or_default())),
        Sel::TcpFlags => u32::from(pkt.tcp_flags?),
        Sel::IcmpType => u32::from(pkt.icmp?.0),
        Sel::IcmpCode => u32::from(pkt.icmp?.1),
        Sel::PktType => {
            if pkt.dst.is_multicast() {
                2
            } else if pkt.dst.is_broadcast()
                || env.addr.addr_type(pkt.dst, None) & addrtype::BROADCAST != 0
            {
                1
            } else {
                0
            }
        }
        Sel::Nfproto => {
            if pkt.ip6.is_some() {
                10
            } else {
                2
            }
        }
        Sel::FibSaddrType(d) => rtn(match pkt.ip6 {
            Some((a, _)) => env.addr.addr_type6(a, dev(d)),
            None => env.addr.addr_type(pkt.src, dev(d)),
        }),
        Sel::FibDaddrType(d) => rtn(match pkt.ip6 {
            Some((_, a)) => env.addr.addr_type6(a, dev(d)),
            None => env.addr.addr_type(pkt.dst, dev(d)),
        }),
        Sel::Skuid => pkt.owner?,
        // (uid = gid: see Sel::Skgid)
        Sel::Skgid => pkt.owner?,
        Sel::Ttl => u32::from(pkt.ttl),
        Sel::TcpMss => u32::from(pkt.tcp_mss?),
        // nft_socket_eval: no in-device or no socket breaks the rule;
        // (sk_fullsock: a TIME-WAIT socket has no mark nor wildcard)
        Sel::SocketTransparent | Sel::SocketMark | Sel::SocketWildcard => {
            pkt.in_if.as_ref()?;
            let sk = crate::net::netfilter::iptables::matches::socket_lookup(pkt, env.addr)?;
            match s {
                Sel::SocketTransparent => u32::from(sk.transparent),
                _ if sk.time_wait => return None,
                Sel::SocketMark => sk.mark,
                _ => u32::from(sk.wildcard),
            }
        }
        // nft_meta_get_eval_ifgroup: no device breaks the rule
        Sel::IifGroup => env.addr.dev_group(pkt.in_if.as_deref()?),
        Sel::OifGroup => env.addr.dev_group(pkt.out_if.as_deref()?),
        // nft_meta_get_eval_time: the virtual clock, UTC
        Sel::MetaTime => u32::try_from(env.now_ns / 1_000_000_000).unwrap_or(u32::MAX),
        Sel::MetaHour => ((env.now_ns / 1_000_000_000) % 86_400) as u32,
        // nft_meta_weekday: 1970-01-01 was a Thursday (4)
        Sel::MetaDay => ((env.now_ns / 1_000_000_000 / 86_400 + 4) % 7) as u32,
        Sel::FibOif(daddr, mark, d, name) => {
            return Some(match fib_oif(pkt, env, daddr, mark, dev(d)) {
                Kv::N(_) if name => Kv::S(String::new()),
                k => k,
            })
        }
        Sel::Const(c) => c,
        Sel::SctpChunk { ty, off, len } => sctp_chunk_value(pkt, ty, off, len)?,
        Sel::Symhash(m, o) => symhash(pkt, m, o),
        // nft_meta_get_bridge: a bridge port's master; else NFT_BREAK
        Sel::BrName(input) => {
            let dev = if input {
                pkt.in_if.as_deref()
            } else {
                pkt.out_if.as_deref()
            };
            return env.addr.dev_master(dev?).map(Kv::S);
        }
        Sel::SocketCgroupv2(level) => {
            // nft_socket_eval: skb->sk (a local sender), else the lookup;
            // no socket breaks the rule
            if pkt.owner.is_none() {
                pkt.in_if.as_ref()?;
                crate::net::netfilter::iptables::matches::socket_lookup(pkt, env.addr)?;
            }
            // the root cgroup, podpath's programs' only one (see
            // Sel::SocketCgroupv2)
            return (level == 0).then(|| Kv::S("/".into()));
        }
        Sel::EtherSaddr | Sel::EtherDaddr | Sel::EtherType | Sel::Vlan | Sel::Arp(_) => {
            return None
        }
    }))
}

/// net/ipv4/netfilter/nft_fib_ipv4.c nft_fib4_eval for the `oif` and
/// `oifname` results: the route to the source (`saddr`) or destination
/// (`daddr`), with the mark when `mark` is given; with `iif`/`oif` the
/// route must use that device. The device's name, or 0 (no route, a
/// local route, another device). The reverse lookup is
/// [`super::super::AddrClass::reverse_route`], as `-m rpfilter` uses it;
/// a `daddr` lookup uses it from the destination.
fn fib_oif(pkt: &NfPacket, env: &EvalEnv, daddr: bool, mark: bool, restrict: Option<&str>) -> Kv {
    // nft_fib_is_loopback at prerouting: the input device
    if pkt.in_if.as_deref() == Some("lo") {
        return Kv::S("lo".into());
    }
    // a zero source to broadcast or local multicast: skb->dev
    let d = pkt.dst.octets();
    if pkt.src.is_unspecified()
        && (pkt.dst.is_broadcast() || (d[0] == 224 && d[1] == 0 && d[2] == 0))
    {
        return pkt.in_if.clone().map_or(Kv::N(0), Kv::S);
    }
    // get_saddr: 0 for multicast, broadcast and zero addresses
    let get_saddr =
        |a: Ipv4Addr| (!(a.is_multicast() || a.is_broadcast() || a.is_unspecified())).then_some(a);
    let (to, from) = if daddr {
        (pkt.dst, get_saddr(pkt.src))
    } else {
        (pkt.src, get_saddr(pkt.dst))
    };
    let m = if mark { pkt.mark } else { 0 };
    match env.addr.reverse_route(to, from, m) {
        // RTN_LOCAL: "should not see RTN_LOCAL here": 0
        Some((_, true, _)) | None => Kv::N(0),
        Some((_, false, Some(dev))) if restrict.is_none_or(|r| r == dev) => Kv::S(dev),
        Some(_) => Kv::N(0),
    }
}

fn keys(sel: &[Sel], pkt: &NfPacket, env: &EvalEnv) -> Vec<Option<Kv>> {
    sel.iter().map(|s| sel_value(*s, pkt, env)).collect()
}

/// A comparison or lookup (nft_cmp, nft_range, nft_lookup, with
/// nft_bitwise for `& MASK`). A selector without a value (no port on an
/// ICMP packet, no socket owner, IPv6 fields of an IPv4 packet) fails its
/// dependency: the rule breaks whatever the operator. (An absent device
/// reads as the empty name, as nft_meta_store_ifname does.)
#[allow(clippy::too_many_arguments)]
fn cmp(
    t: &NftTable,
    tlabel: &str,
    sel: &[Sel],
    mask: Option<u32>,
    op: Op,
    rhs: &Rhs,
    pkt: &NfPacket,
    env: &EvalEnv,
    dyn_sets: &DynSets,
) -> bool {
    let mut key = keys(sel, pkt, env);
    if key.iter().any(|k| k.is_none()) {
        return false;
    }
    if let (Some(m), Some(Some(Kv::N(x)))) = (mask, key.first_mut()) {
        *x &= m;
    }
    let flags = matches!(sel, [Sel::CtState | Sel::CtStatus | Sel::TcpFlags]);
    let first = match key.first() {
        Some(Some(Kv::N(x))) => Some(*x),
        _ => None,
    };
    let hit = match rhs {
        Rhs::Vals(v) if op == Op::Implicit && flags => match (v.first(), first) {
            (Some(Val::Int(bits)), Some(s)) => bits & s != 0,
            _ => false,
        },
        // netlink_gen_flagcmp with OP_NEG: none of the bits
        Rhs::Vals(v) if op == Op::Neg => {
            return matches!((v.first(), first), (Some(Val::Int(bits)), Some(s)) if bits & s == 0)
        }
        Rhs::Vals(v) if matches!(op, Op::Lt | Op::Gt | Op::Le | Op::Ge) => {
            let (Some(Val::Int(b)), Some(a)) = (v.first(), first) else {
                return false;
            };
            return match op {
                Op::Lt => a < *b,
                Op::Gt => a > *b,
                Op::Le => a <= *b,
                _ => a >= *b,
            };
        }
        Rhs::Vals(v) => key_matches(v, &key),
        Rhs::Masked(v, m) => first.is_some_and(|x| x & m == *v),
        Rhs::Anon(els) => els.iter().any(|k| key_matches(k, &key)),
        Rhs::Named(name) => {
            let exact: Option<Vec<Kv>> = key.iter().cloned().collect();
            let dynamic = dyn_sets
                .sets
                .get(&(tlabel.to_string(), name.clone()))
                .zip(exact.as_ref())
                .is_some_and(|(m, k)| m.get(k).is_some_and(|exp| *exp > env.now_ns));
            dynamic || t.sets.get(name).is_some_and(|s| s.lookup(&key).is_some())
        }
    };
    hit != (op == Op::Ne)
}

/// nft_tproxy.c `nft_tproxy_eval_v4`: as xt_TPROXY's lookup
/// ([`crate::net::netfilter::sk::tproxy_v4`]), but a socket found only
/// assigns it (no mark: `meta mark set` does that) and none found breaks
/// the rule (NFT_BREAK) instead of dropping.
fn tproxy(
    addr: Option<Ipv4Addr>,
    port: Option<u16>,
    pkt: &mut NfPacket,
    env: &EvalEnv,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    use crate::net::netfilter::sk::{tproxy_laddr4, tproxy_v4, SkQuery};
    let (Some(sport), Some(dport)) = (pkt.sport, pkt.dport) else {
        return Some(RuleEnd::Break);
    };
    let q = SkQuery {
        proto: pkt.proto,
        saddr: pkt.src,
        sport,
        daddr: pkt.dst,
        dport,
    };
    let primary = pkt.in_if.as_deref().and_then(|d| env.addr.primary_addr(d));
    let laddr = tproxy_laddr4(addr, primary, pkt.dst);
    let lport = port.filter(|p| *p != 0).unwrap_or(dport);
    let syn = pkt.tcp_flags.is_some_and(|f| f & 0x17 == 0x02);
    match tproxy_v4(&q, syn, laddr, lport, &|q, how| env.addr.sk_lookup(q, how)) {
        Some(sk) => {
            pkt.sk = Some(sk.assigned());
            step(
                format!(
                    "tproxy to {laddr}:{lport}: {}; the packet keeps its destination {}:{dport}",
                    sk.describe(),
                    pkt.dst
                ),
                out,
            );
            None
        }
        None => {
            step(
                format!(
                    "tproxy to {laddr}:{lport}: no transparent socket: the rule stops (NFT_BREAK)"
                ),
                out,
            );
            Some(RuleEnd::Break)
        }
    }
}

/// nft_synproxy.c `nft_synproxy_do_eval`: a TCP SYN is answered with a
/// cookie SYN-ACK, an ACK's cookie opens the server connection (the
/// packet is taken either way: NF_STOLEN, or NF_DROP for a bad cookie,
/// which [crate::net::netfilter::synproxy_glue] decides); other TCP
/// segments go on; a non-TCP packet breaks the rule.
fn synproxy(
    info: &crate::net::netfilter::synproxy::SynproxyInfo,
    pkt: &mut NfPacket,
    step: &dyn Fn(String, &mut HookOutcome),
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    use crate::net::netfilter::synproxy::SynproxyAct;
    let f = pkt.tcp_flags?;
    if pkt.proto != 6 {
        return Some(RuleEnd::Break);
    }
    let act = if f & 0x02 != 0 {
        SynproxyAct::Syn(info.clone())
    } else if f & 0x10 != 0 {
        SynproxyAct::Ack
    } else {
        return None;
    };
    step(format!("synproxy {}", info.describe()), out);
    pkt.synproxy = Some(act);
    out.verdict = Verdict::Drop;
    Some(RuleEnd::Verdict(NVerdict::Drop))
}

/// nft_exthdr.c nft_exthdr_sctp_eval: the first chunk of type `ty`;
/// `len` 0 is the presence test (1 or 0), else the `len`-byte field at
/// `off` from the chunk's start (None, breaking the rule, when there is
/// no such chunk or it is too short).
fn sctp_chunk_value(pkt: &NfPacket, ty: u8, off: u8, len: u8) -> Option<u32> {
    let c = pkt.sctp_chunks.iter().find(|c| c.ty == ty);
    match (c, len) {
        (c, 0) => Some(u32::from(c.is_some() && !pkt.fragment)),
        (None, _) => None,
        (Some(c), _) => {
            let mut bytes = vec![c.ty, c.flags];
            bytes.extend_from_slice(&((4 + c.value.len()) as u16).to_be_bytes());
            bytes.extend_from_slice(&c.value);
            let f = bytes.get(off as usize..off as usize + len as usize)?;
            Some(f.iter().fold(0u32, |v, b| v << 8 | u32::from(*b)))
        }
    }
}
