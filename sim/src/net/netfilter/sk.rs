//! The socket lookups netfilter makes itself: TPROXY's (xt_TPROXY.c
//! `tproxy_tg4`, nft_tproxy.c `nft_tproxy_eval_v4`, both through
//! net/ipv4/netfilter/nf_tproxy_ipv4.c `nf_tproxy_get_sock_v4`) and the
//! socket match's (xt_socket.c `socket_match`, nft_socket.c
//! `nft_socket_eval`, both through net/ipv4/netfilter/nf_socket_ipv4.c
//! `nf_sk_lookup_slow_v4`), and the socket a packet is assigned to
//! (`skb->sk`, `nf_tproxy_assign_sock`) on its way to local delivery.
//!
//! The host answers the lookups ([`super::AddrClass::sk_lookup`]) from its
//! socket tables; here are the query, the answer and the assignment.

use std::net::Ipv4Addr;

/// Which sockets a lookup considers (nf_tproxy.h `nf_tproxy_lookup_t`;
/// `Any` is nf_socket_ipv4.c's `inet_lookup`: established first, then
/// the listeners).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkLookup {
    Established,
    Listener,
    Any,
}

/// A lookup's tuple, as the packet carries it (source = the remote end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkQuery {
    pub proto: u8,
    pub saddr: Ipv4Addr,
    pub sport: u16,
    pub daddr: Ipv4Addr,
    pub dport: u16,
}

/// The socket a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkInfo {
    pub proto: u8,
    /// A listening socket (TCP LISTEN, or an unconnected UDP socket).
    pub listener: bool,
    /// A TCP socket in TIME-WAIT (`tw_transparent` is read for it).
    pub time_wait: bool,
    /// IP_TRANSPARENT (`inet_sk_transparent`); an accepted socket inherits
    /// it from its listener (inet_csk_clone_lock copies `transparent`).
    pub transparent: bool,
    /// Bound to 0.0.0.0 (`inet_rcv_saddr == 0`): an established socket
    /// never is.
    pub wildcard: bool,
    /// SO_MARK (`sk_mark`): podpath's programs never set it, so 0.
    pub mark: u32,
    /// The socket's local port.
    pub port: u16,
}

/// The socket a packet was assigned to in PREROUTING (`skb->sk` after
/// `nf_tproxy_assign_sock`): local delivery hands the packet to it, not
/// to the socket its own destination would find (tcp_v4_rcv and
/// udp_rcv's `skb_steal_sock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkAssigned {
    pub proto: u8,
    /// The socket's local port (a listener's, or an established socket's).
    pub port: u16,
    pub listener: bool,
}

impl SkInfo {
    pub fn assigned(&self) -> SkAssigned {
        SkAssigned {
            proto: self.proto,
            port: self.port,
            listener: self.listener,
        }
    }

    /// How the trace names it: `tcp listener :15001 (transparent)`.
    pub fn describe(&self) -> String {
        let p = if self.proto == 6 { "tcp" } else { "udp" };
        let what = if self.listener {
            "listener"
        } else if self.time_wait {
            "TIME-WAIT socket"
        } else {
            "established socket"
        };
        format!(
            "{p} {what} :{}{}",
            self.port,
            if self.transparent {
                " (IP_TRANSPARENT)"
            } else {
                " (not transparent)"
            }
        )
    }
}

/// The socket TPROXY gives the packet (xt_TPROXY.c `tproxy_tg4`,
/// nft_tproxy.c `nft_tproxy_eval_v4`): an established socket of the
/// packet's own tuple first (the redirect already happened for its
/// connection); a TIME-WAIT one gives way to a listener on the redirect
/// address for a new SYN (`nf_tproxy_handle_time_wait4`); else a listener
/// on `laddr:lport`, bound to 0.0.0.0 or not. Only a transparent socket
/// counts (`nf_tproxy_sk_is_transparent`). `syn`: a SYN without ACK, RST
/// or FIN.
pub fn tproxy_v4(
    q: &SkQuery,
    syn: bool,
    laddr: Ipv4Addr,
    lport: u16,
    lookup: &dyn Fn(&SkQuery, SkLookup) -> Option<SkInfo>,
) -> Option<SkInfo> {
    let redirected = SkQuery {
        daddr: laddr,
        dport: lport,
        ..*q
    };
    let sk = match lookup(q, SkLookup::Established) {
        Some(tw) if tw.time_wait && syn => lookup(&redirected, SkLookup::Listener).or(Some(tw)),
        Some(s) => Some(s),
        None => lookup(&redirected, SkLookup::Listener),
    };
    sk.filter(|s| s.transparent)
}

/// The address TPROXY looks the listener up on (nf_tproxy_laddr4): the
/// rule's own, else the first primary address of the device the packet
/// came in on, else the packet's destination.
pub fn tproxy_laddr4(
    user: Option<Ipv4Addr>,
    indev_primary: Option<Ipv4Addr>,
    daddr: Ipv4Addr,
) -> Ipv4Addr {
    user.filter(|a| !a.is_unspecified())
        .or(indev_primary)
        .unwrap_or(daddr)
}

/// `socket_match` (xt_socket.c) on what the lookup found: a socket bound
/// to 0.0.0.0 does not count unless `--nowildcard`, nor a socket without
/// IP_TRANSPARENT under `--transparent`; `--restore-skmark` copies the
/// socket's mark to the packet when it counts. Returns (matched, the mark
/// to restore).
pub fn xt_socket_match(
    sk: Option<SkInfo>,
    transparent: bool,
    nowildcard: bool,
    restore_skmark: bool,
) -> (bool, Option<u32>) {
    let Some(sk) = sk else {
        return (false, None);
    };
    // sk_fullsock: TIME-WAIT sockets are not full sockets
    let wildcard = !nowildcard && !sk.time_wait && sk.wildcard;
    let transp = !transparent || sk.transparent;
    let mark = (restore_skmark && !wildcard && transp && !sk.time_wait).then_some(sk.mark);
    (!wildcard && transp, mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sk(listener: bool, transparent: bool, wildcard: bool) -> SkInfo {
        SkInfo {
            proto: 6,
            listener,
            time_wait: false,
            transparent,
            wildcard,
            mark: 0,
            port: 80,
        }
    }

    #[test]
    fn tproxy_prefers_established_then_a_transparent_listener() {
        let q = SkQuery {
            proto: 6,
            saddr: Ipv4Addr::new(10, 0, 0, 1),
            sport: 40000,
            daddr: Ipv4Addr::new(10, 96, 0, 10),
            dport: 80,
        };
        let l = Ipv4Addr::new(10, 0, 0, 2);
        // a transparent listener on the redirect port
        let lis = |x: &SkQuery, how: SkLookup| {
            (how == SkLookup::Listener && x.dport == 15001 && x.daddr == l)
                .then_some(sk(true, true, true))
        };
        assert_eq!(
            tproxy_v4(&q, true, l, 15001, &lis).map(|s| s.port),
            Some(80) // (the helper's port)
        );
        // no socket on the port, or one without IP_TRANSPARENT: none
        assert_eq!(tproxy_v4(&q, true, l, 15002, &lis), None);
        let opaque = |_: &SkQuery, how: SkLookup| {
            (how == SkLookup::Listener).then_some(sk(true, false, true))
        };
        assert_eq!(tproxy_v4(&q, true, l, 15001, &opaque), None);
        // an established socket of the tuple wins over the listener
        let est = |x: &SkQuery, how: SkLookup| match how {
            SkLookup::Established if x.dport == 80 => Some(sk(false, true, false)),
            _ => lis(x, how),
        };
        assert_eq!(
            tproxy_v4(&q, false, l, 15001, &est).map(|s| s.listener),
            Some(false)
        );
        // the lookup address: the rule's, else the device's, else daddr
        let d = q.daddr;
        assert_eq!(tproxy_laddr4(Some(l), None, d), l);
        assert_eq!(tproxy_laddr4(Some(Ipv4Addr::UNSPECIFIED), Some(l), d), l);
        assert_eq!(tproxy_laddr4(None, None, d), d);
    }

    #[test]
    fn socket_match_flags_as_xt_socket_reads_them() {
        // no socket: no match
        assert_eq!(xt_socket_match(None, false, false, false), (false, None));
        // an established socket matches with any flags but --transparent
        let est = sk(false, false, false);
        assert!(xt_socket_match(Some(est), false, false, false).0);
        assert!(!xt_socket_match(Some(est), true, false, false).0);
        // a wildcard listener only with --nowildcard
        let any = sk(true, true, true);
        assert!(!xt_socket_match(Some(any), false, false, false).0);
        assert!(xt_socket_match(Some(any), true, true, false).0);
        // --restore-skmark gives the socket's mark when it counts
        assert_eq!(
            xt_socket_match(Some(sk(false, true, false)), true, false, true),
            (true, Some(0))
        );
        assert_eq!(
            xt_socket_match(Some(any), false, false, true),
            (false, None)
        );
    }
}
