//! Evaluation of nftables base chains at the netfilter hooks, by priority
//! among the iptables tables.

use super::*;
use crate::net::netfilter::{
    addrtype, EvalEnv, HookOutcome, NfPacket, NfStep, RejectWith, RuleRef, StepTable, TableKind,
    Verdict,
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
        let mut before = Vec::new();
        let mut after = Vec::new();
        for &(prio, ti, ci) in self.bases.get(&hook).map(|v| v.as_slice()).unwrap_or(&[]) {
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
            steps: Vec::new(),
            rules_tested: 0,
        };
        for &(ti, ci) in chains {
            let v = self.run_base(ti, ci, pkt, env, dyn_sets, &mut out);
            if v != Verdict::Accept {
                out.verdict = v;
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
                RuleEnd::Nat => return Verdict::Accept,
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
                NVerdict::Reject => {
                    step("reject".into(), out);
                    // nft's plain `reject` answers ICMP port unreachable
                    return Verdict::Reject(RejectWith::IcmpPortUnreachable);
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
    for e in &rule.exprs {
        if let Some(end) = eval_expr(r, e, pkt, env, dyn_sets, out) {
            return end;
        }
    }
    RuleEnd::Next
}

/// One expression's `eval` (nft_cmp, nft_lookup, nft_numgen, nft_meta_set,
/// nft_dynset, nft_immediate, nft_nat, nft_masq, nft_ct notrack); `None`
/// goes on to the next expression.
fn eval_expr(
    r: &RuleAt,
    e: &Expr,
    pkt: &mut NfPacket,
    env: &mut EvalEnv,
    dyn_sets: &mut DynSets,
    out: &mut HookOutcome,
) -> Option<RuleEnd> {
    let (t, tlabel, step) = (r.t, r.tlabel, r.step);
    match e {
        Expr::Cmp { sel, ne, rhs } => {
            if cmp(t, sel, *ne, rhs, pkt, env, dyn_sets) {
                return None;
            }
            Some(RuleEnd::Break)
        }
        Expr::Vmap { sel, map } => {
            let key = keys(sel, pkt, env);
            let found = match map {
                MapRef::Named(m) => t
                    .sets
                    .get(m)
                    .and_then(|s| s.lookup(&key))
                    .and_then(|(_, v)| v.clone()),
                MapRef::Anon(els) => els
                    .iter()
                    .find(|(k, _)| key_matches(k, &key))
                    .map(|(_, v)| v.clone()),
            };
            match found {
                Some(v) => Some(RuleEnd::Verdict(v)),
                None => Some(RuleEnd::Break),
            }
        }
        Expr::Numgen { modulus, map } => Some(numgen(r, *modulus, map, env, out)),
        Expr::MarkSet { op, value } => {
            let before = pkt.mark;
            pkt.mark = match op {
                'o' => pkt.mark | value,
                'x' => pkt.mark ^ value,
                'a' => pkt.mark & value,
                _ => *value,
            };
            step(format!("mark {before:#x} -> {:#x}", pkt.mark), out);
            None
        }
        Expr::Update { set } => {
            let timeout = t
                .sets
                .get(set)
                .and_then(|s| s.timeout_ns)
                .unwrap_or(u64::MAX / 4);
            dyn_sets
                .entry((tlabel.to_string(), set.clone()))
                .or_default()
                .insert(pkt.src, env.now_ns.saturating_add(timeout));
            step(format!("update @{set} {{ {} }}", pkt.src), out);
            None
        }
        Expr::Verdict(v) => Some(RuleEnd::Verdict(v.clone())),
        Expr::Dnat { .. } | Expr::Snat { .. } | Expr::Masquerade { .. } => {
            nat(e, step, out);
            Some(RuleEnd::Nat)
        }
        Expr::Notrack => {
            out.notrack = true;
            None
        }
        Expr::Nop(_) => None,
    }
}

/// `numgen random mod N vmap { ... }`: draws the number and looks up its
/// verdict.
fn numgen(
    r: &RuleAt,
    modulus: u32,
    map: &[(u32, NVerdict)],
    env: &mut EvalEnv,
    out: &mut HookOutcome,
) -> RuleEnd {
    // the kernel draws one value in [0, mod); here a
    // cascade of 1/(n-i) decisions (same distribution)
    let n = modulus;
    let mut pick = n - 1;
    for i in 0..n.saturating_sub(1) {
        let p = 1.0 / f64::from(n - i);
        let thr = (p * 2_147_483_648.0) as u32;
        if env.chooser.statistic_random(&r.at, p, thr) {
            pick = i;
            break;
        }
    }
    match map.iter().find(|(k, _)| *k == pick) {
        Some((_, v)) => {
            (r.step)(format!("numgen random mod {n} = {pick}"), out);
            RuleEnd::Verdict(v.clone())
        }
        None => RuleEnd::Break,
    }
}

/// `dnat to`, `snat to`, `masquerade`: the NAT binding to make and its step.
fn nat(e: &Expr, step: &dyn Fn(String, &mut HookOutcome), out: &mut HookOutcome) {
    match e {
        Expr::Dnat { addr, port } => {
            out.nat = Some(Target::Dnat {
                to: NatRange {
                    addr_lo: Some(*addr),
                    addr_hi: Some(*addr),
                    ports: port.map(|p| (p, p)),
                },
                random: false,
                persistent: false,
            });
            step(
                format!(
                    "DNAT to {addr}{}",
                    port.map(|p| format!(":{p}")).unwrap_or_default()
                ),
                out,
            );
        }
        Expr::Snat { addr } => {
            out.nat = Some(Target::Snat {
                to: NatRange {
                    addr_lo: Some(*addr),
                    addr_hi: Some(*addr),
                    ports: None,
                },
                random: false,
                random_fully: false,
                persistent: false,
            });
            step(format!("SNAT to {addr}"), out);
        }
        Expr::Masquerade {
            fully_random,
            random,
        } => {
            out.nat = Some(Target::Masquerade {
                ports: None,
                random: *random,
                random_fully: *fully_random,
            });
            step(
                format!(
                    "MASQUERADE{}",
                    if *fully_random { " (fully-random)" } else { "" }
                ),
                out,
            );
        }
        _ => {}
    }
}

pub(crate) fn key_matches(k: &[Val], key: &[Option<u32>]) -> bool {
    k.len() == key.len()
        && k.iter()
            .zip(key)
            .all(|(v, x)| x.is_some_and(|x| v.matches(x)))
}

fn sel_value(s: Sel, pkt: &NfPacket, env: &EvalEnv) -> Option<u32> {
    Some(match s {
        Sel::Saddr => u32::from(pkt.src),
        Sel::Daddr => u32::from(pkt.dst),
        Sel::L4proto => u32::from(pkt.proto),
        Sel::Sport => u32::from(pkt.sport?),
        Sel::Dport => u32::from(pkt.dport?),
        Sel::Mark => pkt.mark,
        Sel::MarkAnd(m) => pkt.mark & m,
        Sel::CtState => u32::from(pkt.ct_state),
        Sel::CtMark => pkt.ctmark,
        Sel::FibSaddrLocal => u32::from(env.addr.addr_type(pkt.src, None) & addrtype::LOCAL != 0),
        Sel::FibDaddrLocal => u32::from(env.addr.addr_type(pkt.dst, None) & addrtype::LOCAL != 0),
        Sel::Iif | Sel::Oif => return None,
    })
}

fn keys(sel: &[Sel], pkt: &NfPacket, env: &EvalEnv) -> Vec<Option<u32>> {
    sel.iter().map(|s| sel_value(*s, pkt, env)).collect()
}

fn cmp(
    t: &NftTable,
    sel: &[Sel],
    ne: bool,
    rhs: &Rhs,
    pkt: &NfPacket,
    env: &EvalEnv,
    dyn_sets: &DynSets,
) -> bool {
    let hit = match rhs {
        Rhs::Name(n) => {
            let dev = match sel.first() {
                Some(Sel::Iif) => pkt.in_if.as_deref(),
                _ => pkt.out_if.as_deref(),
            };
            match (dev, n.strip_suffix('*')) {
                (Some(d), Some(prefix)) => d.starts_with(prefix),
                (Some(d), None) => d == n,
                (None, _) => false,
            }
        }
        Rhs::Vals(v) => {
            let key = keys(sel, pkt, env);
            if sel == [Sel::CtState] {
                // ct state new,established: any of the bits
                match (v.first(), key.first()) {
                    (Some(Val::Int(bits)), Some(Some(s))) => bits & s != 0,
                    _ => false,
                }
            } else {
                key_matches(v, &key)
            }
        }
        Rhs::Anon(els) => {
            let key = keys(sel, pkt, env);
            els.iter().any(|k| key_matches(k, &key))
        }
        Rhs::Named(name) => {
            let key = keys(sel, pkt, env);
            let tlabel = format!("{} {}", t.family, t.name);
            let dynamic = dyn_sets.get(&(tlabel, name.clone())).is_some_and(|m| {
                sel == [Sel::Saddr] && m.get(&pkt.src).is_some_and(|exp| *exp > env.now_ns)
            });
            dynamic || t.sets.get(name).is_some_and(|s| s.lookup(&key).is_some())
        }
    };
    hit != ne
}
