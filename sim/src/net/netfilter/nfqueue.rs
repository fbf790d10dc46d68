//! nfnetlink_queue: a packet given to a user-space program and put back.
//!
//! An nft `queue` statement or an iptables `-j NFQUEUE` ends its hook
//! entry with NF_QUEUE (`NF_QUEUE_NR(num)`, with the bypass flag). The
//! kernel (net/netfilter/nf_queue.c `nf_queue` / `__nf_queue`) keeps the
//! packet with the netfilter state it needs to go on (`struct
//! nf_queue_entry`: the skb, `nf_hook_state` with the hook and the index of
//! the hook entry that queued it) and hands it to the queue's listener
//! (nfnetlink_queue.c `nfqnl_enqueue_packet`: NFQA_PACKET_HDR with the
//! packet id, NFQA_PAYLOAD cut at the copy range, the devices, the mark,
//! NFQA_CT with the conntrack state). No listener: -ESRCH, so the packet is
//! dropped, or with the bypass flag goes on to the next hook entry
//! (`nf_hook_slow`). The listener's verdict comes back through
//! `nfqnl_recv_verdict` (NFQA_CT: `nfqnl_ct_parse` sets the connection's
//! labels, CTA_LABELS) and `nf_reinject`: NF_ACCEPT re-enters the hook at
//! the entry after the one that queued (`nf_iterate` from `hook_index +
//! 1`), NF_DROP frees the packet.
//!
//! podpath: a program binds a queue number on a host
//! ([`NfState::nfqueue`], as `nfqnl_recv_config` NFQNL_CFG_CMD_BIND does);
//! it is a [`QueueListener`], called when a packet is queued. The walk of
//! the hook keeps its own frame while the program runs, and resumes at the
//! next base chain (nftables) or the next table (iptables) on NF_ACCEPT.
//! Simplification (named in `podpath explain`): user space answers at
//! once, in the same instant (no queueing delay, no queue overflow: the
//! queue's `MaxQueueLen` is never reached).

use std::fmt;
use std::sync::Arc;

use super::nftables::{ChainList, DynSets, Nft};
use super::{ctbits, EvalEnv, Hook, HookOutcome, NfPacket, Verdict};
use crate::trace::Action;

/// The packet as the listener reads it from the netlink message.
#[derive(Clone, Debug)]
pub struct QueuedPacket<'a> {
    pub queue: u16,
    /// NFQA_PACKET_HDR `packet_id` (the queue's `id_sequence`, from 1).
    pub id: u32,
    pub hook: Hook,
    /// NFQA_PAYLOAD: the packet from its IP header, at most the copy range.
    pub payload: &'a [u8],
    pub indev: Option<&'a str>,
    pub outdev: Option<&'a str>,
    pub mark: u32,
    /// NFQA_CT's state (`ctbits`).
    pub ct_state: u8,
}

/// The verdict a listener sends (NF_ACCEPT or NF_DROP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueVerdict {
    Accept,
    Drop,
}

/// What the listener answers.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueAnswer {
    pub verdict: QueueVerdict,
    /// NFQA_CT with CTA_LABELS: label bits set on the packet's connection.
    pub ct_labels: u128,
    /// What the program did, for the trace (its decision steps).
    pub steps: Vec<(String, Action)>,
    /// Why it dropped, for the drop step.
    pub why: String,
}

/// A program bound to a queue.
pub trait QueueListener: fmt::Debug + Send + Sync {
    /// Reads one queued packet and answers its verdict.
    fn on_packet(&self, p: &QueuedPacket) -> QueueAnswer;
}

/// A queue number bound by a program (`nfqueue.Open` with `NfQueue: N`).
#[derive(Clone, Debug)]
pub struct QueueBinding {
    /// The program's name, for the trace.
    pub program: String,
    /// NFQNL_COPY_PACKET's range (kube-network-policies: `MaxPacketLen:
    /// 128`).
    pub copy_range: usize,
    pub listener: Arc<dyn QueueListener>,
    /// The last packet id given (`id_sequence`).
    pub last_id: u32,
}

/// A queueing verdict that met a bound queue: the walk stopped there and
/// waits for the listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueReq {
    pub num: u16,
    pub bypass: bool,
    /// The base chain (its index in the list run) that queued.
    pub chain: usize,
}

/// What queueing left for the trace: the listener's steps and, when it
/// dropped, why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueTrace {
    pub steps: Vec<(String, Action)>,
    pub drop_why: Option<String>,
    /// The queueing rule was an nftables one (the drop is named at
    /// `nft/HOOK`), not an iptables table's.
    pub by_nft: bool,
}

/// Whether queue `num` has a listener on this host.
pub fn bound(env: &EvalEnv, num: u16) -> Option<String> {
    env.state.nfqueue.get(&num).map(|b| b.program.clone())
}

/// Hands the packet to queue `num`'s listener and applies what it answers
/// to the packet's view (the connection's labels); None when no program
/// holds the queue.
pub fn deliver(
    env: &mut EvalEnv,
    num: u16,
    hook: Hook,
    pkt: &mut NfPacket,
    payload: &[u8],
) -> Option<QueueAnswer> {
    let b = env.state.nfqueue.get_mut(&num)?;
    b.last_id = b.last_id.wrapping_add(1);
    let qp = QueuedPacket {
        queue: num,
        id: b.last_id,
        hook,
        payload: &payload[..payload.len().min(b.copy_range)],
        indev: pkt.in_if.as_deref(),
        outdev: pkt.out_if.as_deref(),
        mark: pkt.mark,
        ct_state: pkt.ct_state,
    };
    let ans = b.listener.on_packet(&qp);
    // nfqnl_ct_parse: labels on the packet's connection, if it has one
    if pkt.ct_state & (ctbits::UNTRACKED | ctbits::INVALID) == 0 && pkt.ct_state != 0 {
        pkt.ct_labels |= ans.ct_labels;
    }
    Some(ans)
}

/// Applies a listener's answer to the outcome of the entry that queued:
/// its steps kept for the trace; NF_DROP ends the hook.
pub fn answer_into(out: &mut HookOutcome, ans: QueueAnswer, by_nft: bool) -> bool {
    out.queue.steps.extend(ans.steps);
    match ans.verdict {
        QueueVerdict::Accept => true,
        QueueVerdict::Drop => {
            out.verdict = Verdict::Drop;
            out.queue.drop_why = Some(ans.why);
            out.queue.by_nft = by_nft;
            false
        }
    }
}

impl Nft {
    /// Runs the base chains `chains` as `nf_hook_slow` runs hook entries,
    /// a queued packet handed to its listener and, on NF_ACCEPT,
    /// reinjected at the next base chain (`nf_reinject`).
    pub fn run_queued(
        &self,
        chains: &ChainList,
        pkt: &mut NfPacket,
        env: &mut EvalEnv,
        dyn_sets: &mut DynSets,
        (hook, payload): (Hook, &dyn Fn() -> Vec<u8>),
    ) -> HookOutcome {
        let mut start = 0;
        let mut all = HookOutcome::accept();
        loop {
            let mut o = self.run(&chains[start..], pkt, env, dyn_sets);
            all.steps.append(&mut o.steps);
            all.rules_tested += o.rules_tested;
            all.notrack |= o.notrack;
            if all.flow_offload.is_none() {
                all.flow_offload = o.flow_offload.take();
            }
            let Some(q) = o.queued.take() else {
                all.verdict = o.verdict;
                all.nat = o.nat;
                return all;
            };
            let Some(ans) = deliver(env, q.num, hook, pkt, &payload()) else {
                return all;
            };
            if !answer_into(&mut all, ans, true) {
                return all;
            }
            start += q.chain + 1;
            if start >= chains.len() {
                return all;
            }
        }
    }
}

/// An iptables table whose walk stopped at `-j NFQUEUE` with a listener:
/// the packet goes to it; NF_ACCEPT lets the hook go on to the next entry
/// (the next table, the nftables base chains after it), NF_DROP ends it.
pub fn table_queued(
    o: &mut HookOutcome,
    env: &mut EvalEnv,
    hook: Hook,
    pkt: &mut NfPacket,
    payload: &dyn Fn() -> Vec<u8>,
) {
    let Some(q) = o.queued.take() else {
        return;
    };
    if let Some(ans) = deliver(env, q.num, hook, pkt, &payload()) {
        answer_into(o, ans, false);
    }
}
