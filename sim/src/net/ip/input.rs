//! IP input (net/ipv4/ip_input.c): martian checks, PREROUTING, the routing
//! decision, and local delivery through INPUT.

use crate::net::host::{Ctx, DevKind, Host, Meta, Output};
use crate::net::netfilter::ct_glue::*;
use crate::net::netfilter::Hook;
use crate::net::netfilter::{ctbits, TableKind};
use crate::trace::Action;
use crate::trace::Point;
use crate::wire::icmp::{self};
use crate::wire::{Ipv4Repr, L4};

impl Host {
    pub(crate) fn ip_rcv(&mut self, ctx: &mut Ctx, dev: usize, mut ip: Ipv4Repr, meta: Meta) {
        let dn = self.devs[dev].name.clone();
        let lo = self.devs[dev].kind == DevKind::Loopback;
        // a flowtable's netdev ingress hook comes first (nf_flow_table_ip.c)
        if !lo && self.flow_offload_ingress(ctx, dev, &ip, meta) {
            return;
        }
        let none = CtInfo::default();
        if !lo && !self.sysctl.route_localnet(&dn) {
            if ip.src().is_loopback() {
                self.drop(
                    ctx,
                    Point::IpRcv,
                    format!("martian source {} on {dn}", ip.src()),
                    &none,
                );
                return;
            }
            if ip.dst().is_loopback() {
                self.drop(
                    ctx,
                    Point::IpRcv,
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
            self.drop(
                ctx,
                Point::IpRcv,
                format!("martian source {}", ip.src()),
                &none,
            );
            return;
        }
        let mut mark = 0u32;
        self.skb_sk = None;
        let Some(raw) = self.nf_filter(
            ctx,
            (TableKind::Raw, Hook::Prerouting),
            &mut ip,
            (Some(dev), None, None),
            &mut mark,
            &none,
            meta,
        ) else {
            return;
        };
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
                Point::Conntrack,
                format!(
                    "{orig} ({}): came through loopback with its entry",
                    dir_name(dir)
                ),
                Action::Info,
            );
            // an ICMP error carries its connection as RELATED (the skb's
            // ctinfo IP_CT_RELATED[_REPLY] set in OUTPUT), so NAT only
            // translates it as nf_nat_icmp_reply_translation does
            let related = matches!(&ip.l4, L4::Icmp(i) if i.is_error());
            CtInfo {
                id: Some(id),
                dir: Some(dir),
                bits: if related {
                    ctbits::RELATED | (bits & (ctbits::DNAT | ctbits::SNAT))
                } else {
                    bits
                },
                created: false,
                related,
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
                    self.drop(ctx, Point::Conntrack, reason.to_string(), &none);
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
        mut meta: Meta,
        mut mark: u32,
        ct: CtInfo,
        skip_hooks: Option<()>,
    ) {
        if skip_hooks.is_none() {
            let Some(_) = self.nf_filter(
                ctx,
                (TableKind::Mangle, Hook::Prerouting),
                ip,
                (Some(dev), None, None),
                &mut mark,
                &ct,
                meta,
            ) else {
                return;
            };
            if self.needs_nat(&ct, false) {
                let nat = self.nf_hook(
                    ctx,
                    TableKind::Nat,
                    Hook::Prerouting,
                    ip,
                    Some(dev),
                    None,
                    &mut mark,
                    &ct,
                    None,
                );
                if let Err(e) = self.nat_setup(ctx, &ct, &nat, false, Some(dev), None) {
                    self.drop(
                        ctx,
                        Point::Table(TableKind::Nat, Hook::Prerouting),
                        e.to_string(),
                        &ct,
                    );
                    return;
                }
            }
            self.nat_manip(ctx, ip, &ct, false);
            // nftables base chains of PREROUTING after dstnat (priority
            // above -100, kube-network-policies' `dstnat + 5`): they see
            // the packet after DNAT
            if !self.nft.is_empty()
                && !self
                    .nft
                    .chains_at(TableKind::Filter, Hook::Prerouting)
                    .1
                    .is_empty()
            {
                let Some(_) = self.nf_filter(
                    ctx,
                    (TableKind::Filter, Hook::Prerouting),
                    ip,
                    (Some(dev), None, None),
                    &mut mark,
                    &ct,
                    meta,
                ) else {
                    return;
                };
            }
            // the socket TPROXY assigned in a PREROUTING hook (skb->sk)
            meta.sk = meta.sk.or(self.skb_sk.take());
        }
        self.route_input(ctx, dev, ip.clone(), meta, mark, ct);
    }

    pub(crate) fn ip_local_deliver(
        &mut self,
        ctx: &mut Ctx,
        dev: usize,
        mut ip: Ipv4Repr,
        meta: Meta,
        mut mark: u32,
        ct: CtInfo,
    ) {
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Mangle, Hook::Input),
            &mut ip,
            (Some(dev), None, None),
            &mut mark,
            &ct,
            meta,
        ) else {
            return;
        };
        let Some(_) = self.nf_filter(
            ctx,
            (TableKind::Filter, Hook::Input),
            &mut ip,
            (Some(dev), None, None),
            &mut mark,
            &ct,
            meta,
        ) else {
            return;
        };
        if self.ipvs_in(ctx, dev, &ip, meta, mark, &ct) {
            return;
        }
        if self.needs_nat(&ct, true) {
            let nat = self.nf_hook(
                ctx,
                TableKind::Nat,
                Hook::Input,
                &mut ip,
                Some(dev),
                None,
                &mut mark,
                &ct,
                None,
            );
            if let Err(e) = self.nat_setup(ctx, &ct, &nat, true, Some(dev), None) {
                self.drop(
                    ctx,
                    Point::Table(TableKind::Nat, Hook::Input),
                    e.to_string(),
                    &ct,
                );
                return;
            }
        }
        self.nat_manip(ctx, &mut ip, &ct, true);
        // ipv4_synproxy_hook at LOCAL_IN (NF_IP_PRI_CONNTRACK_CONFIRM - 1)
        if !self.synproxy_hook(ctx, &mut ip, &ct, Some(dev), meta) {
            return;
        }
        match ip.proto() {
            6 => self.tcp_rcv(ctx, crate::wire::IpRepr::V4(ip), meta),
            17 => self.udp_rcv(ctx, ip, meta),
            crate::wire::sctp::PROTO_SCTP => self.sctp_rcv(ctx, ip, meta),
            1 => self.icmp_rcv(ctx, ip, meta),
            4 if self.devs.iter().any(|d| d.kind == DevKind::Ipip && d.up) => {
                self.ipip_rcv(ctx, &ip, meta)
            }
            p if self.raw_listeners.contains_key(&p) => {
                let app = self.raw_listeners[&p];
                ctx.trace.step(
                    Point::RawSocket,
                    format!(
                        "IP protocol {p}: to the raw socket of {}",
                        self.owner_name(app)
                    ),
                    Action::Info,
                );
                let data = match &ip.l4 {
                    L4::Raw(d) => d.clone(),
                    _ => Vec::new(),
                };
                ctx.out.push(Output::Socket {
                    owner: app,
                    ev: crate::net::socket::SocketEvent::Raw {
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
                    Point::IpLocalDeliver,
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
}
