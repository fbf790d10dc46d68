//! The Linux bridge: FDB learning, forwarding, flooding, hairpin mode, local
//! delivery to the bridge device, and br_netfilter (`bridge-nf-call-iptables`)
//! for bridged IPv4 frames.
//!
//! Simplifications (listed by `podpath explain`): no STP, VLAN filtering or
//! FDB ageing (entries learned stay for the run); br_netfilter runs the IP
//! hooks for frames bridged between ports (PREROUTING, FORWARD, POSTROUTING);
//! frames for the host itself take the IP layer's own PREROUTING once, which
//! is what `ip_sabotage_in` makes the kernel do.

use super::host::{Ctx, FdbEntry, Host, Meta, Output};
use super::ipv4::{BridgeCtx, CtInfo};
use super::netfilter::{ctbits, TableKind};
use crate::trace::Action;
use crate::wire::{summarize, Frame, Mac, L3};

impl Host {
    pub(crate) fn bridge_input(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        port: usize,
        f: Frame,
        meta: Meta,
    ) {
        let brn = self.devs[br].name.clone();
        let pn = self.devs[port].name.clone();
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
                    "bridge",
                    format!("{brn}: learned {} on port {pn}", f.src),
                    Action::Info,
                );
            }
        }
        let for_host = f.dst == self.devs[br].mac
            || self
                .devs
                .iter()
                .any(|d| d.master == Some(br) && d.mac == f.dst);
        if f.dst.is_broadcast() || f.dst.is_multicast() {
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
                "bridge",
                format!("{brn}: broadcast also delivered to the host"),
                Action::Info,
            );
            self.l2_input(ctx, br, f, meta);
            return;
        }
        if for_host {
            ctx.trace.step(
                "bridge",
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
            self.l2_input(ctx, br, f, meta);
            return;
        }
        self.bridge_forward(ctx, br, Some(port), f, meta);
    }

    fn bridge_forward(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        in_port: Option<usize>,
        mut f: Frame,
        meta: Meta,
    ) {
        let brn = self.devs[br].name.clone();
        let out = self.devs[br].fdb.get(&f.dst).map(|e| e.port);
        // br_netfilter: bridged IPv4 frames traverse the IP hooks.
        if let (Some(inp), true, L3::Ipv4(_)) =
            (in_port, self.sysctl.bridge_nf_call_iptables(), &f.payload)
        {
            match self.br_netfilter(ctx, br, inp, out, &mut f, meta) {
                BrNf::Continue => {}
                BrNf::Stolen => return,
            }
        }
        let out = self.devs[br].fdb.get(&f.dst).map(|e| e.port);
        match out {
            Some(p) if Some(p) == in_port && !self.devs[p].hairpin => {
                let pn = self.devs[p].name.clone();
                self.drop(
                    ctx,
                    "bridge",
                    format!("{brn}: {} is behind {pn}, the port the frame came in on, and hairpin mode is off", f.dst),
                    &CtInfo::default(),
                );
            }
            Some(p) => {
                let pn = self.devs[p].name.clone();
                ctx.trace.step(
                    "bridge",
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
                ctx.trace.set_out(&pn, summarize(&f));
                ctx.out.push(Output::Tx {
                    dev: p,
                    bytes: f.emit(),
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
            "bridge",
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
        for p in ports {
            ctx.out.push(Output::Tx {
                dev: p,
                bytes: bytes.to_vec(),
                meta,
                hop: ctx.trace.current_hop(),
            });
        }
        if let Some(n) = names.first() {
            ctx.trace.set_out(n, summarize(f));
        }
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
            Ok(f) => self.bridge_forward(ctx, br, None, f, meta),
            Err(e) => self.drop(
                ctx,
                "bridge",
                format!("malformed frame: {e}"),
                &CtInfo::default(),
            ),
        }
    }

    fn br_netfilter(
        &mut self,
        ctx: &mut Ctx,
        br: usize,
        inp: usize,
        out: Option<usize>,
        f: &mut Frame,
        meta: Meta,
    ) -> BrNf {
        let L3::Ipv4(ip) = &mut f.payload else {
            return BrNf::Continue;
        };
        let mut ip = ip.clone();
        let mut mark = 0u32;
        let none = CtInfo::default();
        let bctx = Some(BridgeCtx {
            physin: inp,
            physout: out,
        });
        let raw = self.nf_hook(
            ctx,
            TableKind::Raw,
            "PREROUTING",
            &ip,
            Some(br),
            None,
            &mut mark,
            &none,
            bctx,
        );
        if !self.verdict_ok(ctx, "raw/PREROUTING", &raw, &ip, &none, meta) {
            return BrNf::Stolen;
        }
        let ct = if raw.notrack {
            CtInfo {
                bits: ctbits::UNTRACKED,
                ..Default::default()
            }
        } else {
            match self.ct_in(ctx, &ip) {
                Ok(c) => c,
                Err(r) => {
                    self.drop(ctx, "conntrack", r, &none);
                    return BrNf::Stolen;
                }
            }
        };
        let mangle = self.nf_hook(
            ctx,
            TableKind::Mangle,
            "PREROUTING",
            &ip,
            Some(br),
            None,
            &mut mark,
            &ct,
            bctx,
        );
        if !self.verdict_ok(ctx, "mangle/PREROUTING", &mangle, &ip, &ct, meta) {
            return BrNf::Stolen;
        }
        let dst_before = ip.dst();
        if self.needs_nat(&ct, false) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                "PREROUTING",
                &ip,
                Some(br),
                None,
                &mut mark,
                &ct,
                bctx,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, false, Some(br), None) {
                self.drop(ctx, "nat/PREROUTING", e, &ct);
                return BrNf::Stolen;
            }
        }
        self.nat_manip(ctx, &mut ip, &ct, false);
        if ip.dst() != dst_before {
            // br_nf_pre_routing_finish: the destination changed, so route it.
            let key = super::fib::FlowKey {
                dst: Some(ip.dst()),
                src: Some(ip.src()),
                mark,
                iif: None,
                oif: None,
            };
            let via_bridge = matches!(self.fib.lookup(&key, None), Ok(l) if l.route.dev == Some(br) && l.route.rtype == super::fib::RouteType::Unicast);
            if !via_bridge {
                ctx.trace.step(
                    "br_netfilter",
                    format!(
                        "DNAT moved the destination off {}: handed to IP routing",
                        self.devs[br].name
                    ),
                    Action::Info,
                );
                self.prerouting_nat_and_route(ctx, br, &mut ip, meta, mark, ct, Some(()));
                return BrNf::Stolen;
            }
            // Bridged DNAT: find the new destination's MAC and keep bridging.
            match self.neigh.resolve(br, ip.dst(), ctx.now) {
                Some((m, _)) => {
                    ctx.trace.step(
                        "br_netfilter",
                        format!(
                            "bridged DNAT: destination MAC rewritten to {m} ({})",
                            ip.dst()
                        ),
                        Action::Info,
                    );
                    f.dst = m;
                }
                None => {
                    let nh = ip.dst();
                    self.neigh_output(ctx, br, nh, ip, meta);
                    return BrNf::Stolen;
                }
            }
        }
        let out = self.devs[br].fdb.get(&f.dst).map(|e| e.port);
        let bctx = Some(BridgeCtx {
            physin: inp,
            physout: out,
        });
        let fwd_m = self.nf_hook(
            ctx,
            TableKind::Mangle,
            "FORWARD",
            &ip,
            Some(br),
            Some(br),
            &mut mark,
            &ct,
            bctx,
        );
        if !self.verdict_ok(ctx, "mangle/FORWARD", &fwd_m, &ip, &ct, meta) {
            return BrNf::Stolen;
        }
        let fwd = self.nf_hook(
            ctx,
            TableKind::Filter,
            "FORWARD",
            &ip,
            Some(br),
            Some(br),
            &mut mark,
            &ct,
            bctx,
        );
        if !self.verdict_ok(ctx, "filter/FORWARD", &fwd, &ip, &ct, meta) {
            return BrNf::Stolen;
        }
        let post_m = self.nf_hook(
            ctx,
            TableKind::Mangle,
            "POSTROUTING",
            &ip,
            Some(br),
            Some(br),
            &mut mark,
            &ct,
            bctx,
        );
        if !self.verdict_ok(ctx, "mangle/POSTROUTING", &post_m, &ip, &ct, meta) {
            return BrNf::Stolen;
        }
        if self.needs_nat(&ct, true) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                "POSTROUTING",
                &ip,
                Some(br),
                Some(br),
                &mut mark,
                &ct,
                bctx,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, true, Some(br), Some(ip.dst())) {
                self.drop(ctx, "nat/POSTROUTING", e, &ct);
                return BrNf::Stolen;
            }
        }
        self.nat_manip(ctx, &mut ip, &ct, true);
        f.payload = L3::Ipv4(ip);
        let _ = Mac::ZERO;
        BrNf::Continue
    }
}

enum BrNf {
    Continue,
    Stolen,
}
