//! The IPv6 layer, one file per part of the walk, in the kernel's order
//! (net/ipv6/):
//!
//! ```text
//! ipv6_rcv (input): disable_ipv6, martians, hop-by-hop options
//!   -> route input (ip -6 route: local, main)
//!   local:   reassembly -> ICMPv6 (echo, errors, ND) / UDP / TCP
//!   forward: ip6_forward: forwarding, hop limit, scope, MTU (Packet Too
//!            Big: routers never fragment) -> neighbour
//! ip6_output (locally generated): route output, source address
//!   selection (RFC 6724), path MTU per destination, fragmentation by the
//!   source -> neighbour discovery (ndisc) -> device
//! ```
//!
//! Files: [`addrconf`] (addresses, link-local, states), [`addrsel`]
//! (source selection), [`route`] (tables), [`ndisc`] (neighbour
//! discovery), [`input`], [`forward`], [`output`], [`icmp`] (ICMPv6
//! errors and echo), [`frag`] (fragmentation and reassembly).
//!
//! Simplifications (listed by `podpath explain`): router advertisements
//! are parsed and shown, not acted on (no SLAAC, no default router from an
//! RA); ICMPv6 errors are rate limited per peer ([`crate::net::inetpeer`])
//! but not by the global limit (`icmp_global_allow`).

pub mod addrconf;
pub mod addrsel;
pub mod forward;
pub mod frag;
pub mod icmp;
pub mod input;
pub mod ndisc;
pub mod output;
pub mod route;
pub mod state;

pub use addrconf::Inet6Addr;
pub use route::{Fib6, Route6};
pub use state::{Ip6, Neigh6};
