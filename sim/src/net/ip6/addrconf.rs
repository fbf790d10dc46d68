//! IPv6 addresses on devices (net/ipv6/addrconf.c): the link-local address
//! each device gets, the addresses given, their flags and states, and the
//! routes the kernel adds for them.
//!
//! - A device that is up and not `disable_ipv6` gets `fe80::/64` plus an
//!   interface identifier by `addr_gen_mode` (`addrconf_addr_gen`): 0
//!   EUI-64 of its MAC (`addrconf_ifid_eui48`), 1 none, 2 and 3 a stable
//!   identifier derived from its name (podpath's stand-in for the
//!   stable-privacy hash and the random one: deterministic by design). A
//!   TUN device (ARPHRD_NONE) has no MAC: the kernel switches it to random
//!   (`addrconf_dev_config`), so it gets the derived identifier too. The
//!   loopback gets `::1/128`; IPIP (`tunl0`, ARPHRD_TUNNEL) gets no IPv6
//!   (`addrconf_dev_config` skips the type).
//! - `addrconf_prefix_route` adds `PREFIX dev D proto kernel metric 256`
//!   for an address with a prefix shorter than 128 (not for `noprefixroute`),
//!   `fe80::/64` for the link-local; `ff00::/8 dev D table local` for
//!   every IPv6 device; and a `local ADDR` route in table local for each
//!   address (`addrconf_f6i_alloc`).
//! - States: an address given at start has finished DAD (podpath's world
//!   starts as a running machine, named in `podpath explain`); an address
//!   added while the run goes is `tentative` for DAD (RFC 4862 §5.4: one
//!   NS from `::`, `dad_transmits` 1, RetransTimer 1 s) unless `nodad` or
//!   `accept_dad` 0, and a tentative address is neither a source
//!   (`ipv6_dev_get_saddr` skips IFA_F_TENTATIVE) nor answers NS.

use std::fmt;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use crate::net::device::DevKind;
use crate::wire::ipv6::addr;
use crate::wire::Mac;

/// One address of a device, as `ip -6 addr` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inet6Addr {
    pub net: Ipv6Net,
    /// IFA_F_NODAD: no duplicate address detection.
    pub nodad: bool,
    /// IFA_F_TENTATIVE: DAD has not finished.
    pub tentative: bool,
    /// IFA_F_DADFAILED: another node holds it.
    pub dadfailed: bool,
    /// IFA_F_NOPREFIXROUTE.
    pub noprefixroute: bool,
    /// Made by the kernel (the link-local), not given (IFA_F_PERMANENT
    /// is the other case).
    pub auto: bool,
}

impl Inet6Addr {
    pub fn new(net: Ipv6Net) -> Inet6Addr {
        Inet6Addr {
            net,
            nodad: false,
            tentative: false,
            dadfailed: false,
            noprefixroute: false,
            auto: false,
        }
    }
    pub fn addr(&self) -> Ipv6Addr {
        self.net.addr()
    }
    /// A source or an NS target this host answers for.
    pub fn usable(&self) -> bool {
        !self.tentative && !self.dadfailed
    }
    /// RFC 4291 scope: 0x02 link, 0x0e global (`ipv6_addr_scope`).
    pub fn scope(&self) -> u8 {
        addr::scope(self.addr())
    }
}

impl fmt::Display for Inet6Addr {
    /// `ip -6 addr`'s line: `inet6 fd00::1/64 scope global nodad`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match self.scope() {
            0x02 if self.addr().is_loopback() => "host",
            0x02 => "link",
            _ => "global",
        };
        write!(f, "inet6 {} scope {scope}", self.net)?;
        for (on, name) in [
            (self.tentative, "tentative"),
            (self.dadfailed, "dadfailed"),
            (self.nodad, "nodad"),
            (self.noprefixroute, "noprefixroute"),
        ] {
            if on {
                write!(f, " {name}")?;
            }
        }
        Ok(())
    }
}

/// `ip -6 addr add`'s `ADDR/LEN [nodad] [noprefixroute]`.
pub fn parse_addr(s: &str) -> Result<Inet6Addr, String> {
    let mut w = s.split_whitespace();
    let a = w.next().ok_or("empty address")?;
    let net = if a.contains('/') {
        a.parse::<Ipv6Net>().map_err(|_| {
            format!("bad IPv6 address '{a}': expected ADDR/LEN, e.g. fd00:10:244::5/64")
        })?
    } else {
        // iproute2: an IPv6 address without a length is a /128
        let ip: Ipv6Addr = a
            .parse()
            .map_err(|_| format!("bad IPv6 address '{a}': expected ADDR/LEN"))?;
        Ipv6Net::new(ip, 128).expect("128 fits")
    };
    if net.addr().is_multicast() || net.addr().is_unspecified() {
        // inet6_addr_add: ipv6_addr_type multicast or any: -EINVAL
        return Err(format!(
            "'{a}' cannot be a device's address (multicast or unspecified: RTNETLINK answers: Invalid argument)"
        ));
    }
    let mut x = Inet6Addr::new(net);
    for flag in w {
        match flag {
            "nodad" => x.nodad = true,
            "noprefixroute" => x.noprefixroute = true,
            other => {
                return Err(format!(
                    "unknown flag '{other}' after '{a}': expected nodad or noprefixroute"
                ))
            }
        }
    }
    Ok(x)
}

/// The link-local address `addrconf_addr_gen` gives a device, or none.
pub fn link_local(name: &str, kind: DevKind, mac: Mac, gen_mode: i64) -> Option<Ipv6Addr> {
    match kind {
        DevKind::Loopback | DevKind::Ipip => None,
        _ if gen_mode == 1 => None,
        DevKind::Tun => Some(derived(name)),
        _ if gen_mode == 0 && mac != Mac::ZERO => Some(addr::link_local(mac)),
        _ => Some(derived(name)),
    }
}

/// fe80::/64 with an identifier hashed from the device name (podpath's
/// deterministic stand-in for stable-privacy and random identifiers).
fn derived(name: &str) -> Ipv6Addr {
    let h = crate::det::stable_hash(format!("ipv6-iid/{name}").as_bytes());
    let mut o = [0u8; 16];
    o[0] = 0xfe;
    o[1] = 0x80;
    o[8..].copy_from_slice(&h.to_be_bytes());
    // RFC 7136: the u/g bits carry no meaning; keep the identifier local
    o[8] &= !0x02;
    Ipv6Addr::from(o)
}

impl crate::net::host::Host {
    /// addrconf at boot, after the sysctls: `::1` on the loopback, a
    /// link-local on every device that is up and has IPv6, the given
    /// addresses (already in `ip6.addrs`) kept where IPv6 is on, and the
    /// routes the kernel adds for them. A device with `disable_ipv6` keeps
    /// none (addrconf_ifdown), as does every device with conf.all's.
    pub fn install_ipv6(&mut self) {
        use super::route::{Route6, METRIC_KERNEL};
        use crate::net::fib::{RouteType, TABLE_LOCAL, TABLE_MAIN};
        let mut addrs = std::mem::take(&mut self.ip6.addrs);
        for (i, d) in self.devs.iter().enumerate() {
            let v = addrs.entry(i).or_default();
            // addrconf_notify: a device under the minimum MTU loses IPv6
            // (addrconf_ifdown), the loopback excepted
            let small =
                d.kind != DevKind::Loopback && (d.mtu as usize) < crate::wire::ipv6::IPV6_MIN_MTU;
            if self.sysctl.ipv6_disabled(&d.name) || d.kind == DevKind::Ipip || small {
                v.clear();
                continue;
            }
            if d.kind == DevKind::Loopback {
                let mut lo = Inet6Addr::new(Ipv6Net::new(Ipv6Addr::LOCALHOST, 128).expect("128"));
                lo.auto = true;
                v.insert(0, lo);
                continue;
            }
            if !d.up {
                continue;
            }
            let mode = self.sysctl.conf6(&d.name, "addr_gen_mode");
            if let Some(ll) = link_local(&d.name, d.kind, d.mac, mode) {
                if !v.iter().any(|a| a.addr() == ll) {
                    let mut a = Inet6Addr::new(Ipv6Net::new(ll, 64).expect("64"));
                    a.auto = true;
                    v.push(a);
                }
            }
        }
        addrs.retain(|_, v| !v.is_empty());
        self.ip6.addrs = addrs;
        let mut fib = super::route::Fib6::default();
        for (i, v) in &self.ip6.addrs {
            let route = |dst: Ipv6Net, rtype: RouteType, metric: u32| Route6 {
                dst,
                rtype,
                via: None,
                dev: Some(*i),
                src: None,
                metric,
                kernel: true,
                mtu: None,
                onlink: false,
            };
            for a in v {
                let host = Ipv6Net::new(a.addr(), 128).expect("128");
                let _ = fib.add(TABLE_LOCAL, route(host, RouteType::Local, 0));
                if a.net.prefix_len() < 128 && !a.noprefixroute && !a.addr().is_loopback() {
                    let _ = fib.add(
                        TABLE_MAIN,
                        route(a.net.trunc(), RouteType::Unicast, METRIC_KERNEL),
                    );
                }
            }
            if self.devs[*i].kind != DevKind::Loopback {
                let mc: Ipv6Net = "ff00::/8".parse().expect("valid");
                let _ = fib.add(TABLE_LOCAL, route(mc, RouteType::Unicast, METRIC_KERNEL));
            }
        }
        // the routes given (ip -6 route add) stay
        for (t, rs) in std::mem::take(&mut self.ip6.fib.tables) {
            for r in rs {
                let _ = fib.add(t, r);
            }
        }
        self.ip6.fib = fib;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_show_as_ip_does() {
        let a = parse_addr("fd00:10:244::5/64 nodad").unwrap();
        assert!(a.nodad);
        assert_eq!(a.to_string(), "inet6 fd00:10:244::5/64 scope global nodad");
        assert_eq!(parse_addr("fd00::1").unwrap().net.prefix_len(), 128);
        assert!(parse_addr("ff02::1/64").is_err());
        assert!(parse_addr("10.0.0.1/24").is_err());
        let e = parse_addr("fd00::1/64 optimistic").unwrap_err();
        assert!(e.contains("unknown flag 'optimistic'"), "{e}");
        let ll = Inet6Addr::new("fe80::1/64".parse().unwrap());
        assert_eq!(ll.to_string(), "inet6 fe80::1/64 scope link");
    }

    #[test]
    fn link_local_by_device_kind_and_mode() {
        let mac = Mac::parse("02:42:ac:11:00:02").unwrap();
        let eui: Ipv6Addr = "fe80::42:acff:fe11:2".parse().unwrap();
        assert_eq!(link_local("eth0", DevKind::Veth, mac, 0), Some(eui));
        assert_eq!(link_local("cni0", DevKind::Bridge, mac, 0), Some(eui));
        assert_eq!(link_local("eth0", DevKind::Veth, mac, 1), None);
        assert_eq!(link_local("lo", DevKind::Loopback, Mac::ZERO, 0), None);
        assert_eq!(link_local("tunl0", DevKind::Ipip, Mac::ZERO, 0), None);
        let tun = link_local("wg0", DevKind::Tun, Mac::ZERO, 0).unwrap();
        assert_eq!(tun.segments()[0], 0xfe80);
        assert_ne!(tun, link_local("wg1", DevKind::Tun, Mac::ZERO, 0).unwrap());
        let stable = link_local("eth0", DevKind::Veth, mac, 2).unwrap();
        assert_ne!(stable, eui);
        assert_eq!(stable, link_local("eth0", DevKind::Veth, mac, 2).unwrap());
    }
}
