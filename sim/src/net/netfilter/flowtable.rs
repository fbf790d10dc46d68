//! nftables flowtables: `flowtable ft { hook ingress priority 0; devices =
//! { eth0, eth1 } }` and the `flow add|offload @ft` statement.
//!
//! - Offload (net/netfilter/nft_flow_offload.c `nft_flow_offload_eval`,
//!   valid in forward chains only): the packet's connection goes into the
//!   flowtable when it has one, is TCP (neither FIN nor RST on this
//!   packet, and `nf_conntrack_tcp_established`: ESTABLISHED and ASSURED)
//!   or UDP, is confirmed (not this packet's new entry), and is not there
//!   already (`test_and_set_bit(IPS_OFFLOAD_BIT)`). `nft_flow_route`
//!   caches both directions' routes: this packet's (out device, gateway)
//!   and the way back to its sender (a lookup towards the sender, out of
//!   the device the packet came in); each direction's packets are expected
//!   on the device the other direction leaves by (`nft_default_forward_path`).
//!   The conntrack entry then lives for a day (nf_flow_table_core.c
//!   `nf_ct_offload_timeout`).
//! - Fast path (net/netfilter/nf_flow_table_ip.c `nf_flow_offload_ip_hook`,
//!   the flowtable's netdev ingress hook on its `devices`): a TCP/UDP packet
//!   whose tuple and ingress device match an offloaded direction, TTL above
//!   1 (`nf_flow_tuple_ip`), not over the cached MTU
//!   (`nf_flow_exceeds_mtu`), gets its NAT (`nf_flow_nat_ip`), TTL
//!   decremented, and goes straight to the cached next hop
//!   (`neigh_xmit`): no prerouting, routing, forward or postrouting hooks,
//!   no conntrack update. A TCP FIN or RST tears the flow down
//!   (`nf_flow_state_check` → `flow_offload_teardown`) and takes the
//!   classic path.
//!
//! Simplifications (named in `podpath explain`): no hardware offload
//! (`flags offload` is software here), no flowtable `counter`, no
//! encapsulation (VLAN/PPPoE), the flowtable's own GC timeout (30 s idle)
//! does not expire a flow during a run.

use std::net::Ipv4Addr;

use super::conntrack::{Dir, FlowPath, Offload, TcpCt, Tuple};
use super::ct_glue::CtInfo;
use super::FlowOffloadReq;
use crate::net::fib::{FlowKey, RouteType};
use crate::net::host::{Ctx, Host, Meta};
use crate::trace::{Action, Point};
use crate::wire::{Ipv4Repr, L4};

/// A day (`NF_CT_DAY`), an offloaded entry's conntrack timeout.
const CT_DAY_NS: u64 = 86_400 * 1_000_000_000;

fn idx(d: Dir) -> usize {
    match d {
        Dir::Original => 0,
        Dir::Reply => 1,
    }
}

impl Host {
    /// `nft_flow_offload_eval` for a packet the forward hook accepted with
    /// a `flow add @ft` on its way: `in_dev`, `out_dev` and `via` are the
    /// packet's devices and its route's gateway.
    pub(crate) fn flow_offload_add(
        &mut self,
        ctx: &mut Ctx,
        req: &FlowOffloadReq,
        ip: &Ipv4Repr,
        ct: &CtInfo,
        (in_dev, out_dev, via): (usize, usize, Option<Ipv4Addr>),
    ) {
        let no = |ctx: &mut Ctx, why: String| {
            ctx.trace.step(
                Point::Flowtable,
                format!("flow add @{}: not offloaded: {why}", req.name),
                Action::Info,
            );
        };
        let (Some(id), Some(dir)) = (ct.id, ct.dir) else {
            return no(ctx, "no conntrack entry".into());
        };
        let Some(c) = self.ct.get(id) else { return };
        let why = match &ip.l4 {
            L4::Tcp { hdr, .. } if hdr.fin || hdr.rst => Some("a FIN or RST".to_string()),
            L4::Tcp { .. } if !(c.tcp == TcpCt::Established && c.assured) => Some(format!(
                "TCP {} is not established in both directions (ESTABLISHED and ASSURED)",
                c.tcp.name()
            )),
            L4::Tcp { .. } | L4::Udp { .. } => None,
            _ => Some("only TCP and UDP flows are offloaded".into()),
        };
        if let Some(w) = why {
            return no(ctx, w);
        }
        if ct.created {
            return no(
                ctx,
                "the entry is not confirmed yet (its first packet)".into(),
            );
        }
        if c.offload.is_some() {
            return;
        }
        // nft_flow_route: the way back to this packet's sender, out of
        // the device it came in by
        let (sender, back_src) = match dir {
            Dir::Original => (c.orig.src4(), c.reply.src4()),
            Dir::Reply => (c.reply.src4(), c.orig.src4()),
        };
        let in_name = self.devs[in_dev].name.clone();
        let key = FlowKey {
            dst: Some(sender),
            src: Some(back_src),
            mark: 0,
            iif: None,
            oif: Some(&in_name),
        };
        let back = match self.fib.lookup(&key, None) {
            Ok(l) if l.route.rtype == RouteType::Unicast && l.route.dev.is_some() => l,
            _ => return no(ctx, format!("no route back to {sender} (nft_flow_route)")),
        };
        let back_dev = back.route.dev.unwrap_or(in_dev);
        let hooked = |i: usize| req.devices.iter().any(|d| *d == self.devs[i].name);
        let this = FlowPath {
            iif: back_dev,
            oif: out_dev,
            via,
            mtu: self.devs[out_dev].mtu,
            hooked: hooked(back_dev),
        };
        let other = FlowPath {
            iif: out_dev,
            oif: back_dev,
            via: back.route.via,
            mtu: self.devs[back_dev].mtu,
            hooked: hooked(out_dev),
        };
        let path = match dir {
            Dir::Original => [this, other],
            Dir::Reply => [other, this],
        };
        let on: Vec<&str> = path
            .iter()
            .filter(|p| p.hooked)
            .map(|p| self.devs[p.iif].name.as_str())
            .collect();
        let fast = if on.is_empty() {
            format!(
                "neither direction arrives on its devices ({}): no packet takes the fast path",
                req.devices.join(", ")
            )
        } else {
            format!("fast path at the ingress of {}", on.join(", "))
        };
        let text = format!(
            "flow add @{}: {} offloaded to flowtable {} ({fast})",
            req.name, c.orig, req.name
        );
        self.set_offload(
            id,
            Offload {
                table: req.table.clone(),
                flowtable: req.name.clone(),
                path,
            },
            ctx.now,
        );
        ctx.trace.step(Point::Flowtable, text, Action::Info);
    }

    fn set_offload(&mut self, id: u64, o: Offload, now: u64) {
        if let Some(c) = self.ct.get_mut(id) {
            c.offload = Some(o);
            // nf_ct_offload_timeout
            if c.expires_ns < now + CT_DAY_NS / 2 {
                c.expires_ns = now + CT_DAY_NS;
            }
            self.ct.offloaded.insert(id);
        }
    }

    /// `nf_flow_offload_ip_hook` at the ingress of `dev`: true when the
    /// packet took the fast path (sent on, or dropped), false when it goes
    /// on to the classic path.
    pub(crate) fn flow_offload_ingress(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        ip: &Ipv4Repr,
        meta: Meta,
    ) -> bool {
        if self.ct.offloaded.is_empty() || ip.hdr.time_to_live <= 1 {
            return false;
        }
        let Some((sport, dport)) = ip.ports() else {
            return false;
        };
        let t = Tuple {
            proto: ip.proto(),
            src: ip.src().into(),
            sport,
            dst: ip.dst().into(),
            dport,
        };
        let Some(&(id, dir)) = self.ct.index.get(&t) else {
            return false;
        };
        let Some(c) = self.ct.get(id) else {
            return false;
        };
        let Some(o) = &c.offload else { return false };
        let p = o.path[idx(dir)].clone();
        if p.iif != dev || !p.hooked {
            return false;
        }
        let ft = o.flowtable.clone();
        if ip.total_len() > p.mtu as usize {
            ctx.trace.step(
                Point::Flowtable,
                format!(
                    "flowtable {ft}: {} bytes exceed the flow's MTU {}: the classic path",
                    ip.total_len(),
                    p.mtu
                ),
                Action::Info,
            );
            return false;
        }
        if let L4::Tcp { hdr, .. } = &ip.l4 {
            if hdr.fin || hdr.rst {
                if let Some(c) = self.ct.get_mut(id) {
                    c.offload = None;
                }
                self.ct.offloaded.remove(&id);
                ctx.trace.step(
                    Point::Flowtable,
                    format!("flowtable {ft}: a FIN or RST tears the flow down (flow_offload_teardown): the classic path"),
                    Action::Info,
                );
                return false;
            }
        }
        let target = c.target(dir);
        let mut ip = ip.clone();
        let ci = CtInfo {
            id: Some(id),
            dir: Some(dir),
            ..Default::default()
        };
        ctx.trace.step(
            Point::Flowtable,
            format!(
                "flowtable {ft}: {} is offloaded: NAT, TTL-1 and out of {} (no netfilter hooks, no routing)",
                c.orig, self.devs[p.oif].name
            ),
            Action::Info,
        );
        self.nat_manip(ctx, &mut ip, &ci, false);
        self.nat_manip(ctx, &mut ip, &ci, true);
        ip.hdr.time_to_live -= 1;
        let nexthop = p.via.unwrap_or(target.dst4());
        self.neigh_output(ctx, p.oif, nexthop, ip, meta);
        true
    }

    /// The `[OFFLOAD]` entries of a loaded `conntrack -L` (their original
    /// tuples), put into a flowtable of this host's nft ruleset: the one
    /// whose devices take both directions, else the first. Each
    /// direction's route is what the FIB gives now (towards its
    /// post-NAT destination), each expected on the device the other
    /// leaves by. Without a flowtable (or a route) the entry stays an
    /// ordinary one: IPS_OFFLOAD is set only by nft_flow_offload_eval and
    /// is in IPS_UNCHANGEABLE_MASK (include/uapi/linux/netfilter/
    /// nf_conntrack_common.h), which ctnetlink_change_status will not
    /// change, so no entry is in a flowtable the ruleset lacks. Returns
    /// what to warn about.
    pub fn offload_loaded(&mut self, origs: &[Tuple], now: u64) -> Vec<String> {
        let mut fts: Vec<FlowOffloadReq> = Vec::new();
        for t in &self.nft.tables {
            for ((kind, name), o) in &t.objects {
                if kind == "flowtable" {
                    fts.push(FlowOffloadReq {
                        table: format!("{} {}", t.family, t.name),
                        name: name.clone(),
                        devices: o.flowtable_devices(),
                    });
                }
            }
        }
        let mut warn = Vec::new();
        for orig in origs {
            let Some(&(id, _)) = self.ct.index.get(orig) else {
                continue;
            };
            if fts.is_empty() {
                warn.push(format!("{orig} [OFFLOAD]: no flowtable in the nft ruleset: an ordinary entry (only nft_flow_offload sets IPS_OFFLOAD)"));
                self.ct.dumped_offload.insert(id);
                continue;
            }
            let Some(c) = self.ct.get(id) else { continue };
            let mut out = Vec::new();
            for d in [Dir::Original, Dir::Reply] {
                let t = c.target(d);
                let key = FlowKey {
                    dst: Some(t.dst4()),
                    src: Some(t.src4()),
                    ..Default::default()
                };
                match self.fib.lookup(&key, None) {
                    Ok(l) if l.route.rtype == RouteType::Unicast && l.route.dev.is_some() => {
                        out.push((l.route.dev.unwrap_or(0), l.route.via));
                    }
                    _ => break,
                }
            }
            let [(o0, v0), (o1, v1)] = out[..] else {
                warn.push(format!(
                    "{orig} [OFFLOAD]: no route for both directions: an ordinary entry"
                ));
                self.ct.dumped_offload.insert(id);
                continue;
            };
            let name = |i: usize| self.devs[i].name.clone();
            let ft = fts
                .iter()
                .find(|f| f.devices.contains(&name(o1)) && f.devices.contains(&name(o0)))
                .unwrap_or(&fts[0])
                .clone();
            let path = |iif: usize, oif: usize, via| FlowPath {
                iif,
                oif,
                via,
                mtu: self.devs[oif].mtu,
                hooked: ft.devices.contains(&name(iif)),
            };
            let o = Offload {
                table: ft.table.clone(),
                flowtable: ft.name.clone(),
                path: [path(o1, o0, v0), path(o0, o1, v1)],
            };
            self.set_offload(id, o, now);
        }
        warn
    }
}
