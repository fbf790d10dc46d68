//! Devices: their kinds, addresses and links, and the settings of the
//! tunnel devices (VXLAN, WireGuard on a TUN). Data only: what the devices
//! do is in `link`, `bridge`, `overlay` and `wireguard`.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use crate::wire::Mac;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevKind {
    Loopback,
    /// One end of a veth pair (or a NIC on a wire: the same thing to the stack).
    Veth,
    Bridge,
    Dummy,
    /// A VXLAN tunnel endpoint (see `overlay`).
    Vxlan,
    /// A TUN device: raw IP packets, no Ethernet header, no ARP; served by
    /// a userspace process (see `wireguard`).
    Tun,
    /// An IP-in-IP tunnel (`tunl0`, calico's IPIP mode; see `overlay`).
    Ipip,
}

impl DevKind {
    pub fn name(self) -> &'static str {
        match self {
            DevKind::Loopback => "loopback",
            DevKind::Veth => "veth",
            DevKind::Bridge => "bridge",
            DevKind::Dummy => "dummy",
            DevKind::Vxlan => "vxlan",
            DevKind::Tun => "tun",
            DevKind::Ipip => "ipip",
        }
    }

    /// The MTUs the kernel accepts for a device of this kind (`min_mtu`,
    /// `max_mtu` as the drivers set them; `dev_validate_mtu` refuses the
    /// rest): veth and bridges ETH_MIN_MTU 68 to ETH_MAX_MTU 65535
    /// (veth_setup, br_dev_setup), tun 68-65535 (tun_net_init), vxlan up to
    /// 65535 less its IPv4 headroom of 50 bytes (vxlan_setup,
    /// vxlan_change_mtu), ipip up to IP_MAX_MTU 65520 less its 20-byte
    /// header (ip_tunnel_init), dummy any (min_mtu and max_mtu 0).
    pub fn mtu_range(self) -> (u32, u32) {
        match self {
            DevKind::Loopback => (68, u32::MAX),
            DevKind::Veth | DevKind::Bridge | DevKind::Tun => (68, 65535),
            DevKind::Vxlan => (68, 65535 - 50),
            DevKind::Ipip => (68, 65520 - 20),
            DevKind::Dummy => (0, i32::MAX as u32),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbEntry {
    pub port: usize,
    pub is_static: bool,
    pub updated_ns: u64,
}

/// The other end of a device's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub host: usize,
    pub dev: usize,
    pub latency_ns: u64,
    /// Frames the link loses, in parts per million (a fault; 0 by default).
    pub loss_ppm: u32,
}

#[derive(Clone, Debug)]
pub struct Device {
    pub name: String,
    pub kind: DevKind,
    pub mac: Mac,
    pub mtu: u32,
    /// Addresses with their prefix length, primary first.
    pub addrs: Vec<Ipv4Net>,
    /// The bridge this device is a port of.
    pub master: Option<usize>,
    pub up: bool,
    /// Bridge port flag: frames may leave through the port they came in on.
    pub hairpin: bool,
    /// Bridge forwarding database (bridges only).
    pub fdb: BTreeMap<Mac, FdbEntry>,
    pub peer: Option<Peer>,
    /// VXLAN settings (vxlan devices only).
    pub vxlan: Option<VxlanCfg>,
    /// The userspace WireGuard serving a TUN device.
    pub wg: Option<WgCfg>,
}

impl Device {
    pub fn new(name: &str, kind: DevKind, mac: Mac) -> Device {
        Device {
            name: name.to_string(),
            kind,
            mac,
            mtu: if kind == DevKind::Loopback {
                65536
            } else {
                1500
            },
            addrs: Vec::new(),
            master: None,
            up: true,
            hairpin: false,
            fdb: BTreeMap::new(),
            peer: None,
            vxlan: None,
            wg: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VxlanCfg {
    pub vni: u32,
    pub port: u16,
    /// The underlay source: IPv4, or IPv6 (a VXLAN over an IPv6 network).
    pub local: Option<std::net::IpAddr>,
    pub learning: bool,
    /// The underlay device (`dev eth0`), if pinned.
    pub dev: Option<usize>,
    /// FDB: inner MAC -> remote VTEP addresses (`00:00:00:00:00:00` = default).
    pub fdb: BTreeMap<Mac, Vec<std::net::IpAddr>>,
}

impl VxlanCfg {
    /// Whether the device runs over IPv6 (vxlan.c: its socket is the
    /// AF_INET6 one): a local IPv6 address, or, without a local, remotes
    /// that are all IPv6.
    pub fn is_v6(&self) -> bool {
        match self.local {
            Some(a) => a.is_ipv6(),
            None => {
                let mut r = self.fdb.values().flatten();
                r.next().is_some_and(|a| a.is_ipv6()) && r.all(|a| a.is_ipv6())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgPeer {
    /// The peer's name (stands for its public key).
    pub name: String,
    pub allowed_ips: Vec<Ipv4Net>,
    /// The peer's endpoint: an IPv4 or IPv6 address and its port
    /// (WireGuard runs over either family).
    pub endpoint: (std::net::IpAddr, u16),
    /// The next counter of messages sent to this peer.
    pub tx_counter: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgCfg {
    /// This end's name (its public key).
    pub me: String,
    pub listen_port: u16,
    pub peers: Vec<WgPeer>,
}
