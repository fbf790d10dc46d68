//! Where netfilter runs: the five hooks of the IPv4 stack (`enum
//! nf_inet_hooks`, include/uapi/linux/netfilter.h) and the tables iptables
//! registers at them (net/ipv4/netfilter/iptable_*.c), with the kernel's
//! names. A data module the trace's step points are made of; it imports
//! nothing of podpath.

use std::fmt;

/// The five netfilter hooks of the IPv4 stack (`enum nf_inet_hooks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    /// The built-in chain's name (`PREROUTING`, ...).
    pub fn chain(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    pub fn from_chain(s: &str) -> Option<Hook> {
        Some(match s {
            "PREROUTING" => Hook::Prerouting,
            "INPUT" => Hook::Input,
            "FORWARD" => Hook::Forward,
            "OUTPUT" => Hook::Output,
            "POSTROUTING" => Hook::Postrouting,
            _ => return None,
        })
    }

    /// nft's name of the hook (`prerouting`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }

    /// From nft's name of the hook.
    pub fn from_name(s: &str) -> Option<Hook> {
        Some(match s {
            "prerouting" => Hook::Prerouting,
            "input" => Hook::Input,
            "forward" => Hook::Forward,
            "output" => Hook::Output,
            "postrouting" => Hook::Postrouting,
            _ => return None,
        })
    }

    /// From the iptables built-in chain's name (`PREROUTING`).
    pub fn from_iptables(s: &str) -> Option<Hook> {
        Hook::from_chain(s)
    }

    /// Whether the hook runs for a packet the host itself sends (the
    /// socket's owner is known there).
    pub fn local_out(self) -> bool {
        matches!(self, Hook::Output | Hook::Postrouting)
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chain())
    }
}

/// The five IPv4 tables, in the order the kernel registers their hooks at
/// equal points (raw before mangle before nat/filter, security last:
/// net/ipv4/netfilter/iptable_security.c registers INPUT, FORWARD and OUTPUT
/// at NF_IP_PRI_SECURITY = 50, after filter's 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableKind {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

impl TableKind {
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Raw => "raw",
            TableKind::Mangle => "mangle",
            TableKind::Nat => "nat",
            TableKind::Filter => "filter",
            TableKind::Security => "security",
        }
    }
    pub fn from_name(s: &str) -> Option<TableKind> {
        Some(match s {
            "raw" => TableKind::Raw,
            "mangle" => TableKind::Mangle,
            "nat" => TableKind::Nat,
            "filter" => TableKind::Filter,
            "security" => TableKind::Security,
            _ => return None,
        })
    }
    /// The built-in chains of the table, as the kernel registers them.
    pub fn builtin_chains(self) -> &'static [&'static str] {
        match self {
            TableKind::Raw => &["PREROUTING", "OUTPUT"],
            TableKind::Mangle => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            TableKind::Nat => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
            TableKind::Filter | TableKind::Security => &["INPUT", "FORWARD", "OUTPUT"],
        }
    }
    pub const ALL: [TableKind; 5] = [
        TableKind::Raw,
        TableKind::Mangle,
        TableKind::Nat,
        TableKind::Filter,
        TableKind::Security,
    ];
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The hooks of the families that see frames rather than IPv4 packets,
/// where nftables base chains of `netdev`, `bridge` and `arp` tables (and
/// `inet` chains at `ingress`) run:
///
/// - `Ingress`/`Egress`: NF_NETDEV_INGRESS (net/core/dev.c
///   `nf_hook_ingress` in `__netif_receive_skb_core`, before the bridge's
///   rx_handler and the protocol handlers) and NF_NETDEV_EGRESS
///   (`nf_hook_egress` in `__dev_queue_xmit`), per device;
/// - `Br*`: the bridge family's NF_BR_PRE_ROUTING (br_input.c
///   `br_handle_frame` → `nf_hook_bridge_pre`), NF_BR_LOCAL_IN
///   (`br_pass_frame_up`), NF_BR_FORWARD (br_forward.c `__br_forward`),
///   NF_BR_LOCAL_OUT (`__br_forward` with `local_orig`, from
///   `br_dev_xmit`) and NF_BR_POST_ROUTING (`br_forward_finish`);
/// - `Arp*`: NF_ARP_IN (net/ipv4/arp.c `arp_rcv`) and NF_ARP_OUT
///   (`arp_xmit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum L2Hook {
    Ingress,
    Egress,
    BrPrerouting,
    BrInput,
    BrForward,
    BrOutput,
    BrPostrouting,
    ArpIn,
    ArpOut,
}

impl L2Hook {
    /// From a family and nft's name of the hook.
    pub fn from_family(family: &str, hook: &str) -> Option<L2Hook> {
        Some(match (family, hook) {
            ("netdev" | "inet", "ingress") => L2Hook::Ingress,
            ("netdev", "egress") => L2Hook::Egress,
            ("bridge", "prerouting") => L2Hook::BrPrerouting,
            ("bridge", "input") => L2Hook::BrInput,
            ("bridge", "forward") => L2Hook::BrForward,
            ("bridge", "output") => L2Hook::BrOutput,
            ("bridge", "postrouting") => L2Hook::BrPostrouting,
            ("arp", "input") => L2Hook::ArpIn,
            ("arp", "output") => L2Hook::ArpOut,
            _ => return None,
        })
    }

    /// The trace's name of the point (`netdev-ingress`, `bridge-forward`).
    pub fn name(self) -> &'static str {
        match self {
            L2Hook::Ingress => "netdev-ingress",
            L2Hook::Egress => "netdev-egress",
            L2Hook::BrPrerouting => "bridge-prerouting",
            L2Hook::BrInput => "bridge-input",
            L2Hook::BrForward => "bridge-forward",
            L2Hook::BrOutput => "bridge-output",
            L2Hook::BrPostrouting => "bridge-postrouting",
            L2Hook::ArpIn => "arp-input",
            L2Hook::ArpOut => "arp-output",
        }
    }
}
