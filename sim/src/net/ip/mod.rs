//! The IP layer, one file per part of the walk ([`input`], [`route`],
//! [`forward`], [`output`], [`icmp`], [`udp`]), in the kernel's order:
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

pub mod forward;
pub mod icmp;
pub mod input;
pub mod output;
pub mod route;
pub mod udp;

use crate::net::host::{Ctx, Host};
use crate::net::netfilter::ct_glue::*;
use crate::trace::{Action, Point};

impl Host {
    pub(crate) fn drop(&mut self, ctx: &mut Ctx, point: Point, reason: String, ct: &CtInfo) {
        if ct.created {
            if let Some(id) = ct.id {
                self.ct.remove(id);
            }
        }
        ctx.trace
            .step(point, format!("DROP: {reason}"), Action::Drop { reason });
    }
}
