//! The neighbour subsystem: the table with the kernel's NUD states
//! ([`table`]) and ARP on it ([`arp`]); NDP joins them for IPv6.

pub mod arp;
pub mod table;

pub use table::*;
