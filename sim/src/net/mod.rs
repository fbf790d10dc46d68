//! The per-host Linux-equivalent stack, one module per kernel subsystem:
//! [`host`] (the namespace and its devices), [`ipv4`] (the packet walk and hook
//! order), [`bridge`], [`fib`] (routing tables, rules, LPM), [`neigh`] (ARP),
//! [`netfilter`] (hooks, iptables, nftables, conntrack, NAT), [`overlay`] (VXLAN), [`tcp`],
//! [`sysctl`].

pub mod bridge;
pub mod bridge_nf6;
pub mod device;
pub mod fib;
pub mod host;
pub mod inetpeer;
pub mod ip;
pub mod ip6;
pub mod ipvs;
pub mod ipvs_in;
pub mod ipvsadm;
pub mod link;
pub mod names;
pub mod neigh;
pub mod netfilter;
pub mod overlay;
pub mod resolv;
pub mod sctp;
pub mod socket;
pub mod sysctl;
pub mod tcp;
pub mod wireguard;
