//! The per-host Linux-equivalent stack, one module per kernel subsystem:
//! [`host`] (the namespace and its devices), [`ipv4`] (the packet walk and hook
//! order), [`bridge`], [`fib`] (routing tables, rules, LPM), [`neigh`] (ARP),
//! [`netfilter`] (iptables), [`overlay`] (VXLAN), [`conntrack`] (tracking and NAT bindings), [`tcp`],
//! [`sysctl`].

pub mod bridge;
pub mod conntrack;
pub mod fib;
pub mod host;
pub mod ipv4;
pub mod ipvs;
pub mod neigh;
pub mod netfilter;
pub mod nftables;
pub mod overlay;
pub mod sysctl;
pub mod tcp;
pub mod wireguard;
