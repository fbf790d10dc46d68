//! Rule evaluation in the kernel's order (`ipt_do_table`).
//!
//! For each rule the IP-header part (`-s -d -p -i -o -f`) is checked first, then
//! each match module in the order written; a failed condition stops the rule, so
//! a later `statistic` or `recent` match has no side effect (as in the kernel,
//! where the random draw happens only when earlier matches held). A matching
//! rule's target either ends the hook (ACCEPT, DROP, REJECT, DNAT, SNAT,
//! MASQUERADE, REDIRECT), continues with the next rule (MARK, CONNMARK, LOG,
//! NOTRACK), enters a chain (`-j`, `-g`) or returns. A built-in chain that runs
//! off its end applies its policy.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::super::*;
use super::*;

/// Destination index of a long chain: rules that require one exact destination
/// address, by that address, and the rules that do not. Walking the union of
/// the packet's list and the wildcard list in rule order visits exactly the
/// rules that could match, so first-match semantics are unchanged.
#[derive(Clone, Debug)]
pub(crate) struct DstIndex {
    keyed: BTreeMap<u32, Vec<u32>>,
    wildcard: Vec<u32>,
}

const INDEX_MIN_RULES: usize = 16;

impl DstIndex {
    pub(crate) fn build(rules: &[Rule]) -> Option<DstIndex> {
        if rules.len() < INDEX_MIN_RULES {
            return None;
        }
        let mut keyed: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut wildcard = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let key = r.conds.iter().find_map(|c| match &c.kind {
                CondKind::Dst(n) if !c.neg && n.prefix_len() == 32 => Some(u32::from(n.addr())),
                _ => None,
            });
            match key {
                Some(k) => keyed.entry(k).or_default().push(i as u32),
                None => wildcard.push(i as u32),
            }
        }
        if wildcard.len() * 2 > rules.len() {
            return None;
        }
        Some(DstIndex { keyed, wildcard })
    }

    fn next(&self, dst: Ipv4Addr, from: usize) -> Option<usize> {
        let from = from as u32;
        let w = self
            .wildcard
            .get(self.wildcard.partition_point(|&x| x < from))
            .copied();
        let k = self
            .keyed
            .get(&u32::from(dst))
            .and_then(|v| v.get(v.partition_point(|&x| x < from)).copied());
        match (w, k) {
            (Some(a), Some(b)) => Some(a.min(b) as usize),
            (a, b) => a.or(b).map(|x| x as usize),
        }
    }
}

fn next_rule(chain: &Chain, dst: Ipv4Addr, from: usize) -> Option<usize> {
    match &chain.index {
        Some(ix) => ix.next(dst, from),
        None => (from < chain.rules.len()).then_some(from),
    }
}

fn is_header_cond(k: &CondKind) -> bool {
    matches!(
        k,
        CondKind::Proto(_)
            | CondKind::Src(_)
            | CondKind::Dst(_)
            | CondKind::InIf(_)
            | CondKind::OutIf(_)
            | CondKind::Fragment
            | CondKind::SrcMask(..)
            | CondKind::DstMask(..)
    )
}

fn cond_holds(
    c: &Cond,
    pkt: &NfPacket,
    env: &mut EvalEnv,
    at: &dyn Fn() -> RuleRef,
    nth_key: (TableKind, usize, usize),
) -> bool {
    if let Some(m) = super::matches::holds(c, pkt, env) {
        return m;
    }
    let m = match &c.kind {
        CondKind::Proto(p) => *p == 0 || pkt.proto == *p,
        CondKind::Src(n) => n.contains(&pkt.src),
        CondKind::Dst(n) => n.contains(&pkt.dst),
        CondKind::SrcRange(lo, hi) => (*lo..=*hi).contains(&pkt.src),
        CondKind::DstRange(lo, hi) => (*lo..=*hi).contains(&pkt.dst),
        CondKind::InIf(p) => pkt.in_if.as_deref().is_some_and(|d| p.matches(d)),
        CondKind::OutIf(p) => pkt.out_if.as_deref().is_some_and(|d| p.matches(d)),
        CondKind::Fragment => pkt.fragment,
        CondKind::Port { dir, ranges } => {
            if pkt.fragment {
                false
            } else {
                let inr = |p: Option<u16>| {
                    p.is_some_and(|p| ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&p)))
                };
                match dir {
                    PortDir::Src => inr(pkt.sport),
                    PortDir::Dst => inr(pkt.dport),
                    PortDir::Either => inr(pkt.sport) || inr(pkt.dport),
                }
            }
        }
        CondKind::TcpFlags { mask, comp } => pkt.tcp_flags.is_some_and(|f| f & mask == *comp),
        CondKind::SctpChunks { mode, map, flags } => {
            !pkt.fragment && super::matches::sctp_chunks(&pkt.sctp_chunks, *mode, map, flags)
        }
        CondKind::IcmpType { ty, code } => match pkt.icmp {
            Some((t, cd)) => *ty == 255 || (t == *ty && code.is_none_or(|c| c == cd)),
            None => false,
        },
        CondKind::Mark { value, mask } => pkt.mark & mask == *value,
        CondKind::ConnMark { value, mask } => pkt.ctmark & mask == *value,
        CondKind::CtState(bits) => pkt.ct_state & bits != 0,
        CondKind::AddrType {
            src,
            dst,
            limit_in,
            limit_out,
        } => {
            let dev = if *limit_in {
                pkt.in_if.as_deref()
            } else if *limit_out {
                pkt.out_if.as_deref()
            } else {
                None
            };
            let ty = |v4: std::net::Ipv4Addr, v6: Option<std::net::Ipv6Addr>| match v6 {
                Some(a) => env.addr.addr_type6(a, dev),
                None => env.addr.addr_type(v4, dev),
            };
            let s_ok = src.is_none_or(|b| ty(pkt.src, pkt.ip6.map(|x| x.0)) & b != 0);
            let d_ok = dst.is_none_or(|b| ty(pkt.dst, pkt.ip6.map(|x| x.1)) & b != 0);
            s_ok && d_ok
        }
        CondKind::StatRandom {
            probability,
            threshold,
        } => env
            .chooser
            .statistic_random(&at(), *probability, *threshold),
        CondKind::Limit { .. } | CondKind::StatNth { .. } | CondKind::Recent { .. } => {
            stateful_holds(&c.kind, pkt, env, nth_key)
        }
        CondKind::Set { name, flags } => env
            .state
            .ipsets
            .test_at(name, flags, pkt, env.assume, env.now_ns),
        CondKind::PhysdevIn(p) => pkt.physdev_in.as_deref().is_some_and(|d| p.matches(d)),
        CondKind::PhysdevOut(p) => pkt.physdev_out.as_deref().is_some_and(|d| p.matches(d)),
        CondKind::PhysdevIsBridged => pkt.bridged,
        CondKind::Always(_) => true,
        // uid and gid are the same here (a process runs as uid = gid)
        CondKind::Owner { id, hi, .. } => pkt.owner.is_some_and(|o| (*id..=*hi).contains(&o)),
        CondKind::SrcMask(a, m) => u32::from(pkt.src) & u32::from(*m) == u32::from(*a),
        CondKind::DstMask(a, m) => u32::from(pkt.dst) & u32::from(*m) == u32::from(*a),
        // ip6tables' conditions, on an IPv6 packet (ip6_packet_match)
        CondKind::Src6(n) => pkt.ip6.is_some_and(|(s, _)| n.contains(&s)),
        CondKind::Dst6(n) => pkt.ip6.is_some_and(|(_, d)| n.contains(&d)),
        CondKind::Icmp6Type { ty, code } => match (pkt.ip6, pkt.icmp) {
            (Some(_), Some((t, cd))) => *ty == 255 || (t == *ty && code.is_none_or(|c| c == cd)),
            _ => false,
        },
        // the conditions of [`super::matches`], answered above
        _ => false,
    };
    m != c.neg
}

/// The matches that keep state between packets (per rule, on the virtual
/// clock): `-m limit`'s bucket, `-m statistic --mode nth`'s counter and
/// `-m recent`'s lists.
fn stateful_holds(
    kind: &CondKind,
    pkt: &NfPacket,
    env: &mut EvalEnv,
    nth_key: (TableKind, usize, usize),
) -> bool {
    match kind {
        CondKind::Limit { avg, burst } => {
            // limit_mt(): credit grows with the time since the last packet,
            // up to credit_cap (avg * burst); a packet that finds `cost`
            // (avg) takes it and matches. The bucket starts full (the
            // rule's load). Simplification: credits in ns of virtual time,
            // not jiffies.
            let cost = u64::from(*avg) * 100_000;
            let cap = cost * u64::from(*burst);
            let now = env.now_ns;
            let b = env.state.limit.entry(nth_key).or_insert((cap, now));
            b.0 = (b.0 + now.saturating_sub(b.1)).min(cap);
            b.1 = now;
            if b.0 >= cost {
                b.0 -= cost;
                true
            } else {
                false
            }
        }
        CondKind::StatNth { every, packet } => {
            // xt_statistic: count starts at every-1-packet; the packet that
            // wraps the counter to 0 matches.
            let ev = every - 1;
            let cnt = env.state.nth.entry(nth_key).or_insert(ev - packet);
            let nval = if *cnt == ev { 0 } else { *cnt + 1 };
            *cnt = nval;
            nval == 0
        }
        CondKind::Recent {
            name,
            cmd,
            seconds,
            hitcount,
            reap,
            rdest,
            mask,
        } => {
            let a = if *rdest { pkt.dst } else { pkt.src };
            let a = Ipv4Addr::from(u32::from(a) & u32::from(*mask));
            let now = env.now_ns;
            let list = env.state.recent.entry(name.clone()).or_default();
            match cmd {
                RecentCmd::Set => {
                    list.entry(a).or_default().push(now);
                    true
                }
                RecentCmd::Remove => list.remove(&a).is_some(),
                RecentCmd::Rcheck | RecentCmd::Update => {
                    let window = seconds.map(|s| s as u64 * 1_000_000_000);
                    let hit = match list.get_mut(&a) {
                        None => false,
                        Some(times) => {
                            if let (Some(w), true) = (window, *reap) {
                                times.retain(|t| now.saturating_sub(*t) <= w);
                            }
                            let n = times
                                .iter()
                                .filter(|t| window.is_none_or(|w| now.saturating_sub(**t) <= w))
                                .count() as u32;
                            n >= hitcount.unwrap_or(1)
                        }
                    };
                    if hit && *cmd == RecentCmd::Update {
                        list.entry(a).or_default().push(now);
                    }
                    hit
                }
            }
        }
        _ => false,
    }
}

/// The name of a condition podpath keeps without a model (its result is
/// `EvalEnv.assume`'s).
/// (The words the trace opens with: "-m string is not modelled", or for a
/// name only the dumped machine's database resolves, what it needs.)
fn unmodelled_name(k: &CondKind) -> Option<String> {
    match k {
        CondKind::Unmodelled(c) => Some(format!("{c} is not modelled")),
        CondKind::V6Kept(c) => Some(format!("{c} (an IPv6 value) is not modelled")),
        CondKind::OwnerName { uid, name } => {
            let db = if *uid {
                crate::net::names::Db::Passwd
            } else {
                crate::net::names::Db::Group
            };
            Some(format!(
                "-m owner --{}-owner {name}: {}",
                if *uid { "uid" } else { "gid" },
                db.needs(name)
            ))
        }
        _ => None,
    }
}

/// Whether a rule matched, and what unmodelled condition decided or was
/// assumed on the way.
enum RuleMatch {
    /// It matched; the unmodelled condition assumed to hold, if any.
    Yes(Option<String>),
    No,
    /// An unmodelled condition was assumed not to hold.
    NoAt(String),
}

fn rule_matches(
    rule: &Rule,
    pkt: &mut NfPacket,
    env: &mut EvalEnv,
    at: &dyn Fn() -> RuleRef,
    nth_key: (TableKind, usize, usize),
) -> RuleMatch {
    let mut note = None;
    let header = rule.conds.iter().filter(|c| is_header_cond(&c.kind));
    let others = rule.conds.iter().filter(|c| !is_header_cond(&c.kind));
    for c in header.chain(others) {
        let held = cond_holds(c, pkt, env, at, nth_key);
        if let CondKind::Socket {
            transparent,
            nowildcard,
            restore_skmark: true,
        } = c.kind
        {
            // socket_match sets the packet's mark while it matches
            // (pskb->mark = sk->sk_mark), whatever the rule's later
            // conditions say
            let sk = super::matches::socket_lookup(pkt, env.addr);
            if let (_, Some(m)) =
                crate::net::netfilter::sk::xt_socket_match(sk, transparent, nowildcard, true)
            {
                pkt.mark = m;
            }
        }
        match unmodelled_name(&c.kind) {
            Some(n) if !held => return RuleMatch::NoAt(n),
            Some(n) => note = Some(n),
            None if !held => return RuleMatch::No,
            None => {}
        }
    }
    RuleMatch::Yes(note)
}

/// Upper bound on rules tested in one hook: a safety net against a bug, not a
/// kernel limit (loops are refused when the ruleset is loaded).
const MAX_TESTS: usize = 10_000_000;

impl Ruleset {
    /// Runs the built-in chain `hook` of `table` over `pkt` (whose mark and
    /// ctmark may change).
    pub fn run_hook(
        &self,
        table: TableKind,
        hook: &str,
        pkt: &mut NfPacket,
        env: &mut EvalEnv,
    ) -> HookOutcome {
        let t = self.table(table);
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
        let Some(&start) = t.by_name.get(hook) else {
            return out;
        };
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let mut ci = start;
        let mut pos = 0usize;
        loop {
            let chain = &t.chains[ci];
            let Some(ri) = next_rule(chain, pkt.dst, pos) else {
                // End of chain: implicit RETURN, or the policy of a built-in.
                match stack.pop() {
                    Some((c, p)) => {
                        ci = c;
                        pos = p;
                        continue;
                    }
                    None => {
                        chain_policy(&mut out, t, start, table, hook);
                        return out;
                    }
                }
            };
            pos = ri + 1;
            out.rules_tested += 1;
            if out.rules_tested > MAX_TESTS {
                panic!("netfilter walk exceeded {MAX_TESTS} rule tests: a loop the loader missed");
            }
            let rule = &chain.rules[ri];
            let at = || RuleRef {
                table,
                chain: chain.name.clone(),
                rule: ri + 1,
            };
            let note = match rule_matches(rule, pkt, env, &at, (table, ci, ri)) {
                RuleMatch::No => continue,
                RuleMatch::NoAt(n) => {
                    // the trace says what was assumed
                    out.steps.push(NfStep {
                        table: StepTable::Iptables(table),
                        chain: chain.name.clone(),
                        rule: ri + 1,
                        line: rule.line,
                        text: rule.text.clone(),
                        effect: format!("{n}: {}", env.assume.effect()),
                    });
                    continue;
                }
                RuleMatch::Yes(n) => n
                    .map(|n| format!("{n}: {}; ", env.assume.effect()))
                    .unwrap_or_default(),
            };
            let step = |effect: String| NfStep {
                table: StepTable::Iptables(table),
                chain: chain.name.clone(),
                rule: ri + 1,
                line: rule.line,
                text: rule.text.clone(),
                effect: format!("{note}{effect}"),
            };
            let Some(target) = &rule.target else {
                continue;
            };
            if let Target::Ext(x) = target {
                if let super::targets::ExtTarget::Set(st) = &**x {
                    // xt_set.c set_target_v3: the ipsets change, XT_CONTINUE
                    let effect = super::targets::run_set_target(st, pkt, env);
                    out.steps.push(step(effect));
                    continue;
                }
                if let super::targets::ExtTarget::Nfqueue { num, bypass } = &**x {
                    if let Some(prog) = crate::net::netfilter::nfqueue::bound(env, *num) {
                        // NF_QUEUE to a bound queue: the table's walk ends
                        // here, the listener's verdict decides (nf_reinject)
                        out.steps
                            .push(step(format!("NFQUEUE {num}: to {prog} (nfnetlink_queue)")));
                        out.queued = Some(crate::net::netfilter::nfqueue::QueueReq {
                            num: *num,
                            bypass: *bypass,
                            chain: 0,
                        });
                        return out;
                    }
                }
            }
            match apply_target(target, pkt, env.addr, &mut out, &step) {
                Next::Stop => return out,
                Next::Continue => {}
                Next::Return => match stack.pop() {
                    Some((c, p)) => {
                        ci = c;
                        pos = p;
                    }
                    None => {
                        // RETURN from a built-in chain applies its policy.
                        chain_policy(&mut out, t, start, table, hook);
                        return out;
                    }
                },
                Next::Jump(idx) => {
                    stack.push((ci, pos));
                    ci = idx;
                    pos = 0;
                }
                Next::Goto(idx) => {
                    ci = idx;
                    pos = 0;
                }
            }
        }
    }
}

/// What a rule's target tells the walk (the verdicts of `ipt_do_table`).
enum Next {
    /// A terminal verdict or NAT: the hook ends here.
    Stop,
    /// `XT_CONTINUE`: a non-terminal target, on to the next rule.
    Continue,
    /// `XT_RETURN`: back to the calling chain.
    Return,
    /// Into a user chain, to come back after it.
    Jump(usize),
    /// Into a user chain, not to come back.
    Goto(usize),
}

/// The built-in chain's policy ends the walk: its verdict and its step.
fn chain_policy(out: &mut HookOutcome, t: &Table, start: usize, table: TableKind, hook: &str) {
    let pol = t.chains[start].policy.unwrap_or(Policy::Accept);
    out.verdict = match pol {
        Policy::Accept => Verdict::Accept,
        Policy::Drop => Verdict::Drop,
    };
    out.steps.push(NfStep {
        table: StepTable::Iptables(table),
        chain: hook.to_string(),
        rule: 0,
        line: 0,
        text: String::new(),
        effect: format!(
            "policy {}",
            if pol == Policy::Accept {
                "ACCEPT"
            } else {
                "DROP"
            }
        ),
    });
}

/// Runs a matching rule's target on `pkt`, records its step, and says
/// where the walk goes next.
fn apply_target(
    target: &Target,
    pkt: &mut NfPacket,
    addr: &dyn AddrClass,
    out: &mut HookOutcome,
    step: &dyn Fn(String) -> NfStep,
) -> Next {
    match target {
        Target::Accept => {
            out.steps.push(step("ACCEPT".into()));
            out.verdict = Verdict::Accept;
            Next::Stop
        }
        Target::Drop => {
            out.steps.push(step("DROP".into()));
            out.verdict = Verdict::Drop;
            Next::Stop
        }
        Target::Reject(w) => {
            out.steps.push(step(format!("REJECT with {}", w.name())));
            out.verdict = Verdict::Reject(*w);
            Next::Stop
        }
        Target::Dnat { to, .. } => {
            out.steps.push(step(format!("DNAT to {to}")));
            out.nat = Some(target.clone());
            Next::Stop
        }
        Target::Snat { to, .. } => {
            out.steps.push(step(format!("SNAT to {to}")));
            out.nat = Some(target.clone());
            Next::Stop
        }
        Target::Masquerade { .. } => {
            out.steps.push(step("MASQUERADE".into()));
            out.nat = Some(target.clone());
            Next::Stop
        }
        Target::Redirect { ports } => {
            out.steps.push(step(match ports {
                Some((a, _)) => format!("REDIRECT to port {a}"),
                None => "REDIRECT".into(),
            }));
            out.nat = Some(target.clone());
            Next::Stop
        }
        Target::Mark(op) => {
            let before = pkt.mark;
            pkt.mark = op.apply(pkt.mark);
            out.steps
                .push(step(format!("MARK 0x{before:x} -> 0x{:x}", pkt.mark)));
            Next::Continue
        }
        Target::Connmark(op) => {
            let before = (pkt.mark, pkt.ctmark);
            match op {
                ConnmarkOp::Set(m) => pkt.ctmark = m.apply(pkt.ctmark),
                ConnmarkOp::Save { nfmask, ctmask } => {
                    pkt.ctmark = (pkt.ctmark & !ctmask) ^ (pkt.mark & nfmask)
                }
                ConnmarkOp::Restore { nfmask, ctmask } => {
                    pkt.mark = (pkt.mark & !nfmask) ^ (pkt.ctmark & ctmask)
                }
            }
            out.steps.push(step(format!(
                "CONNMARK mark 0x{:x} -> 0x{:x}, ctmark 0x{:x} -> 0x{:x}",
                before.0, pkt.mark, before.1, pkt.ctmark
            )));
            Next::Continue
        }
        Target::Log { prefix } => {
            out.steps.push(step(format!("LOG \"{prefix}\"")));
            Next::Continue
        }
        Target::Notrack => {
            out.notrack = true;
            out.steps.push(step("NOTRACK".into()));
            Next::Continue
        }
        Target::Ext(x) => {
            if super::targets::apply(x, pkt, addr, out, step, "") {
                Next::Stop
            } else {
                Next::Continue
            }
        }
        Target::Return => {
            out.steps.push(step("RETURN".into()));
            Next::Return
        }
        Target::Jump { chain: name, idx } => {
            out.steps.push(step(format!("jump {name}")));
            Next::Jump(*idx)
        }
        Target::Goto { chain: name, idx } => {
            out.steps.push(step(format!("goto {name}")));
            Next::Goto(*idx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoLocal;
    impl AddrClass for NoLocal {
        fn addr_type(&self, _: Ipv4Addr, _: Option<&str>) -> u16 {
            addrtype::UNICAST
        }
    }

    /// Runs `hook` of `table` over `pkt` at virtual time `now`, with the
    /// host's netfilter state `st` kept between calls.
    fn run_at(
        rs: &Ruleset,
        (table, hook): (TableKind, &str),
        mut pkt: NfPacket,
        st: &mut NfState,
        now: u64,
    ) -> HookOutcome {
        let mut ch = ScriptChooser::default();
        let mut env = EvalEnv {
            addr: &NoLocal,
            chooser: &mut ch,
            state: st,
            now_ns: now,
            assume: Default::default(),
        };
        rs.run_hook(table, hook, &mut pkt, &mut env)
    }

    fn walk(rs: &Ruleset, dst: Ipv4Addr, dport: u16) -> (Vec<NfStep>, Option<Target>) {
        let mut pkt = NfPacket {
            src: Ipv4Addr::new(1, 1, 1, 1),
            dst,
            proto: 6,
            sport: Some(1000),
            dport: Some(dport),
            ..Default::default()
        };
        let mut ch = ScriptChooser::default();
        let mut st = NfState::default();
        let mut env = EvalEnv {
            addr: &NoLocal,
            chooser: &mut ch,
            state: &mut st,
            now_ns: 0,
            assume: Default::default(),
        };
        let o = rs.run_hook(TableKind::Nat, "PREROUTING", &mut pkt, &mut env);
        (o.steps, o.nat)
    }

    /// The destination index must visit exactly the rules a linear walk would
    /// match, in the same order, including wildcard rules between keyed ones
    /// and duplicate destinations with different ports.
    #[test]
    fn dst_index_keeps_first_match_semantics() {
        let mut t = String::from("*nat\n:PREROUTING ACCEPT [0:0]\n:S - [0:0]\n:M - [0:0]\n-A PREROUTING -j S\n-A M -j MARK --or-mark 0x1\n");
        for i in 0..40u32 {
            let ip = Ipv4Addr::new(10, 96, 0, (i % 20) as u8);
            t.push_str(&format!(
                "-A S -d {ip}/32 -p tcp --dport {} -j DNAT --to-destination 10.0.{i}.1:80\n",
                80 + i / 20
            ));
            if i % 7 == 0 {
                t.push_str(&format!("-A S -p tcp --dport {} -j M\n", 80 + i));
            }
            if i == 25 {
                t.push_str("-A S -d 10.96.0.3/32 ! -p udp -j M\n-A S -s 1.1.1.1/32 -p tcp --dport 81 -j DNAT --to-destination 9.9.9.9:1\n");
            }
        }
        t.push_str("COMMIT\n");
        let indexed = Ruleset::parse(&t, "t").unwrap();
        assert!(indexed
            .table(TableKind::Nat)
            .chain("S")
            .unwrap()
            .index
            .is_some());
        let mut linear = indexed.clone();
        for c in &mut linear.tables.get_mut(&TableKind::Nat).unwrap().chains {
            c.index = None;
        }
        for last in 0..22u8 {
            for port in [80u16, 81, 87, 94] {
                let d = Ipv4Addr::new(10, 96, 0, last);
                assert_eq!(
                    walk(&indexed, d, port),
                    walk(&linear, d, port),
                    "dst {d} port {port}"
                );
            }
        }
        // and the walk really found something
        let (_, nat) = walk(&indexed, Ipv4Addr::new(10, 96, 0, 3), 81);
        assert!(matches!(nat, Some(Target::Dnat { .. })));
    }

    #[test]
    fn statistic_nth_matches_every_nth_packet() {
        let rs = Ruleset::parse(
            "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m statistic --mode nth --every 3 --packet 0 -j DNAT --to-destination 1.1.1.1\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let mut st = NfState::default();
        let mut hits = vec![];
        for _ in 0..6 {
            let mut pkt = NfPacket {
                proto: 6,
                ..Default::default()
            };
            let mut ch = ScriptChooser::default();
            let mut env = EvalEnv {
                addr: &NoLocal,
                chooser: &mut ch,
                state: &mut st,
                now_ns: 0,
                assume: Default::default(),
            };
            hits.push(
                rs.run_hook(TableKind::Nat, "PREROUTING", &mut pkt, &mut env)
                    .nat
                    .is_some(),
            );
        }
        assert_eq!(hits, vec![true, false, false, true, false, false]);
    }

    /// xt_owner: the socket's uid; a packet without a local socket never
    /// matches `--uid-owner`, so `! --uid-owner` matches it.
    #[test]
    fn owner_match_by_socket_uid() {
        let rs = Ruleset::parse(
            "*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --uid-owner 1337 -j RETURN\n-A OUTPUT -p tcp -m owner ! --uid-owner 0 -j REDIRECT --to-ports 1\n-A OUTPUT -p tcp -j REDIRECT --to-ports 2\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let mut st = NfState::default();
        let mut run = |owner: Option<u32>| {
            let mut pkt = NfPacket {
                proto: 6,
                owner,
                ..Default::default()
            };
            let mut ch = ScriptChooser::default();
            let mut env = EvalEnv {
                addr: &NoLocal,
                chooser: &mut ch,
                state: &mut st,
                now_ns: 0,
                assume: Default::default(),
            };
            match rs
                .run_hook(TableKind::Nat, "OUTPUT", &mut pkt, &mut env)
                .nat
            {
                Some(Target::Redirect { ports }) => ports.map(|p| p.0).unwrap_or(0),
                _ => 0,
            }
        };
        assert_eq!(run(Some(1337)), 0, "uid 1337 returns");
        assert_eq!(run(Some(0)), 2, "root: no match for ! --uid-owner 0");
        assert_eq!(run(None), 1, "no socket: ! --uid-owner matches");
    }

    /// libxt_owner.c owner_mt_parse: a user name is the loading machine's
    /// (getpwnam). Without its passwd file the rule is kept, unresolved,
    /// and never matches unless assumed; with it the name is the id (the
    /// rule's text then says the id, as iptables-save prints it); a name
    /// the file lacks is iptables' "Bad value"; ranges take `-` or `:`.
    #[test]
    fn owner_names_resolve_through_the_machines_passwd() {
        use crate::net::names::{parse_ids, Etc};
        let text = "*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --uid-owner istio -j RETURN\n-A OUTPUT -m owner ! --gid-owner 0x10:20 -j RETURN\n-A OUTPUT -p tcp -j REDIRECT --to-ports 2\nCOMMIT\n";
        let mut rs = Ruleset::parse(text, "t").unwrap();
        let u = rs.unresolved();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].line, 3);
        assert!(u[0].effect.contains("/etc/passwd"), "{}", u[0].effect);
        let mut st = NfState::default();
        let mut run = |rs: &Ruleset, owner: Option<u32>, assume| {
            let mut pkt = NfPacket {
                proto: 6,
                owner,
                ..Default::default()
            };
            let mut ch = ScriptChooser::default();
            let mut env = EvalEnv {
                addr: &NoLocal,
                chooser: &mut ch,
                state: &mut st,
                now_ns: 0,
                assume,
            };
            let o = rs.run_hook(TableKind::Nat, "OUTPUT", &mut pkt, &mut env);
            let said = o
                .steps
                .iter()
                .any(|s| s.effect.contains("needs the dumped machine's /etc/passwd"));
            (o.nat.is_some(), said)
        };
        // unresolved: not matching (the trace says why), or as assumed
        assert_eq!(run(&rs, Some(18), Assume::NoMatch), (true, true));
        assert_eq!(run(&rs, Some(18), Assume::Match), (false, true));
        let etc = Etc {
            passwd: Some(parse_ids("root:x:0:0::/:\nistio:x:1337:1337::/:\n")),
            ..Etc::default()
        };
        rs.resolve_names(&etc, "t").unwrap();
        assert!(rs.unresolved().is_empty());
        let r = &rs.table(TableKind::Nat).chain("OUTPUT").unwrap().rules[0];
        assert_eq!(r.text, "-m owner --uid-owner 1337 -j RETURN");
        assert_eq!(run(&rs, Some(1337), Assume::NoMatch), (false, false));
        // gid 0x10:20 is 16..=20, negated; the uid is not in it
        assert_eq!(run(&rs, Some(7), Assume::NoMatch), (false, false));
        assert_eq!(run(&rs, Some(18), Assume::NoMatch), (true, false));
        let mut rs = Ruleset::parse(text, "t").unwrap();
        let etc = Etc {
            passwd: Some(parse_ids("root:x:0:0::/:\n")),
            ..Etc::default()
        };
        let e = rs.resolve_names(&etc, "t").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(
            e.message,
            "owner: Bad value for \"--uid-owner\" option: \"istio\""
        );
        assert_eq!(super::super::parse::owner_range("0x10:20"), Some((16, 20)));
        assert_eq!(super::super::parse::owner_range("4294967295"), None);
        assert_eq!(super::super::parse::owner_range("010"), Some((8, 8)));
    }

    #[test]
    fn recent_set_then_rcheck_within_seconds() {
        let rs = Ruleset::parse(
            "*nat\n:PREROUTING ACCEPT [0:0]\n:SEP - [0:0]\n-A PREROUTING -m recent --name SEP --rcheck --seconds 10 --reap -j DNAT --to-destination 2.2.2.2\n-A PREROUTING -j SEP\n-A SEP -m recent --name SEP --set -j DNAT --to-destination 1.1.1.1\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let mut st = NfState::default();
        let mut go = |now: u64| {
            let pkt = NfPacket {
                proto: 6,
                src: Ipv4Addr::new(5, 5, 5, 5),
                ..Default::default()
            };
            match run_at(&rs, (TableKind::Nat, "PREROUTING"), pkt, &mut st, now).nat {
                Some(Target::Dnat { to, .. }) => to.addr_lo.unwrap().to_string(),
                _ => String::new(),
            }
        };
        assert_eq!(go(0), "1.1.1.1");
        assert_eq!(go(5_000_000_000), "2.2.2.2");
        assert_eq!(go(30_000_000_000), "1.1.1.1");
    }

    /// xt_limit's token bucket on the virtual clock: 2/second with a burst
    /// of 3 lets 3 packets through at once, then one per 0.5 s.
    #[test]
    fn limit_is_a_token_bucket_on_the_virtual_clock() {
        let rs = Ruleset::parse(
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -p icmp -m limit --limit 2/sec --limit-burst 3 -j ACCEPT\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let mut st = NfState::default();
        let mut go = |now: u64| {
            let pkt = NfPacket {
                proto: 1,
                ..Default::default()
            };
            run_at(&rs, (TableKind::Filter, "INPUT"), pkt, &mut st, now).verdict == Verdict::Accept
        };
        let burst: Vec<bool> = (0..5).map(|_| go(0)).collect();
        assert_eq!(burst, [true, true, true, false, false]);
        assert!(!go(400_000_000), "0.4 s: not yet a token");
        assert!(go(500_000_000), "0.5 s: one token");
        assert!(!go(500_000_000));
        // ten seconds idle: the bucket holds 3 again, not 20
        let later: Vec<bool> = (0..4).map(|_| go(10_500_000_000)).collect();
        assert_eq!(later, [true, true, true, false]);
    }

    /// libxt_limit's rate syntax and its refusals.
    #[test]
    fn limit_rates_parse_as_iptables_does() {
        assert_eq!(
            super::super::parse::parse_rate_for_tests("5/min"),
            Ok(120_000)
        );
        assert_eq!(
            super::super::parse::parse_rate_for_tests("3/hour"),
            Ok(12_000_000)
        );
        assert_eq!(super::super::parse::parse_rate_for_tests("10"), Ok(1_000));
        assert_eq!(
            super::super::parse::parse_rate_for_tests("1/d"),
            Ok(864_000_000)
        );
        for bad in ["5/fortnight", "0/s", "x", "5/"] {
            let e = super::super::parse::parse_rate_for_tests(bad).unwrap_err();
            assert_eq!(e, format!("bad rate \"{bad}\"'"));
        }
        assert_eq!(
            super::super::parse::parse_rate_for_tests("20000/s").unwrap_err(),
            "Rate too fast \"20000/s\""
        );
        let e = Ruleset::parse(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m limit --limit-burst 20000 -j ACCEPT\nCOMMIT\n",
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("from 0 to 10000"), "{e}");
        // the default: 3/hour, burst 5
        let rs = Ruleset::parse(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m limit -j ACCEPT\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let r = &rs.table(TableKind::Filter).chain("INPUT").unwrap().rules[0];
        assert!(r.conds.iter().any(|c| c.kind
            == CondKind::Limit {
                avg: 12_000_000,
                burst: 5
            }));
    }

    /// `-m iprange`: inclusive ranges, negation, a single address.
    #[test]
    fn iprange_matches_inclusive_ranges() {
        let rs = Ruleset::parse(
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -m iprange --src-range 10.0.0.5-10.0.0.9 ! --dst-range 192.168.1.1 -j ACCEPT\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let mut st = NfState::default();
        let mut go = |src: [u8; 4], dst: [u8; 4]| {
            let pkt = NfPacket {
                proto: 6,
                src: Ipv4Addr::from(src),
                dst: Ipv4Addr::from(dst),
                ..Default::default()
            };
            run_at(&rs, (TableKind::Filter, "INPUT"), pkt, &mut st, 0).verdict == Verdict::Accept
        };
        assert!(go([10, 0, 0, 5], [1, 1, 1, 1]));
        assert!(go([10, 0, 0, 9], [1, 1, 1, 1]));
        assert!(!go([10, 0, 0, 10], [1, 1, 1, 1]));
        assert!(!go([10, 0, 0, 4], [1, 1, 1, 1]));
        assert!(!go([10, 0, 0, 7], [192, 168, 1, 1]));
        let e = Ruleset::parse(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m iprange --src-range 10.0.0.x -j ACCEPT\nCOMMIT\n",
            "t",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("iprange match: Bad IP address \"10.0.0.x\""),
            "{e}"
        );
    }
}
