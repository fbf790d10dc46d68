//! IPv6 routing tables (net/ipv6/route.c, ip6_fib.c): `ip -6 route` in
//! tables local and main, looked up as `fib6_rule_lookup` does with the
//! default rules (`ip -6 rule`: 0 local, 32766 main).
//!
//! A lookup takes the longest matching prefix, and of its routes the
//! lowest metric (`fib6_node` leaves are metric-ordered, `rt6_select`
//! takes the first). Where no route matches, the lookup ends at
//! `ip6_null_entry`: unreachable, -ENETUNREACH.
//!
//! Simplifications (named in `podpath explain`): only the default rules;
//! `rt6_select`'s round robin over routes of equal metric and its
//! neighbour reachability scoring (`rt6_check_neigh`) are not modelled (the
//! first route given wins); no ECMP multipath.

use std::fmt;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use crate::net::fib::{table_name, RouteType, TABLE_LOCAL, TABLE_MAIN};

/// The metric of a route the kernel adds for an address
/// (IP6_RT_PRIO_ADDRCONF) and of one a user adds without one
/// (IP6_RT_PRIO_USER; iproute2 sends none, the kernel fills 1024).
pub const METRIC_KERNEL: u32 = 256;
pub const METRIC_USER: u32 = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route6 {
    pub dst: Ipv6Net,
    pub rtype: RouteType,
    pub via: Option<Ipv6Addr>,
    pub dev: Option<usize>,
    /// The preferred source (`src`).
    pub src: Option<Ipv6Addr>,
    pub metric: u32,
    /// `proto kernel` for the routes addrconf adds.
    pub kernel: bool,
    /// A route's own MTU (`mtu N`).
    pub mtu: Option<u32>,
    /// `onlink`: the gateway is on the device whatever its prefixes.
    pub onlink: bool,
}

/// A route found, with its table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found6 {
    pub table: u32,
    pub route: Route6,
}

#[derive(Clone, Debug, Default)]
pub struct Fib6 {
    /// Table id -> routes in the order given.
    pub tables: std::collections::BTreeMap<u32, Vec<Route6>>,
}

impl Fib6 {
    /// `ip -6 route add`: refused when a route to the same destination
    /// with the same metric and next hop is there already
    /// (`fib6_add_rt2node`: -EEXIST, "File exists"); the same prefix on
    /// another device (`fe80::/64` on each) is another route.
    pub fn add(&mut self, table: u32, r: Route6) -> Result<(), String> {
        let t = self.tables.entry(table).or_default();
        if t.iter().any(|x| {
            x.dst == r.dst
                && x.metric == r.metric
                && x.rtype == r.rtype
                && x.dev == r.dev
                && x.via == r.via
        }) {
            return Err(format!(
                "{} metric {}: RTNETLINK answers: File exists",
                r.dst, r.metric
            ));
        }
        t.push(r);
        Ok(())
    }

    /// Removes the routes of a device (it went down, or lost IPv6).
    pub fn flush_dev(&mut self, dev: usize) {
        for t in self.tables.values_mut() {
            t.retain(|r| r.dev != Some(dev));
        }
    }

    /// The route of one table for `dst`: longest prefix, then lowest
    /// metric, then the first given.
    pub fn lookup_table(&self, table: u32, dst: Ipv6Addr) -> Option<&Route6> {
        self.tables
            .get(&table)?
            .iter()
            .filter(|r| r.dst.contains(&dst))
            .min_by_key(|r| (std::cmp::Reverse(r.dst.prefix_len()), r.metric))
    }

    /// `fib6_rule_lookup` with the default rules: table local, then main.
    /// `None` is `ip6_null_entry` (network unreachable).
    pub fn lookup(&self, dst: Ipv6Addr) -> Option<Found6> {
        for table in [TABLE_LOCAL, TABLE_MAIN] {
            if let Some(r) = self.lookup_table(table, dst) {
                return Some(Found6 {
                    table,
                    route: r.clone(),
                });
            }
        }
        None
    }

    /// `ip -6 route show table all`, a device name per index.
    pub fn show(&self, dev_name: &dyn Fn(usize) -> String) -> Vec<String> {
        let mut out = Vec::new();
        for (t, routes) in &self.tables {
            let mut rs: Vec<&Route6> = routes.iter().collect();
            rs.sort_by_key(|r| (r.dst.addr(), r.dst.prefix_len(), r.metric));
            for r in rs {
                out.push(Show(r, *t, dev_name).to_string());
            }
        }
        out
    }
}

struct Show<'a>(&'a Route6, u32, &'a dyn Fn(usize) -> String);

impl fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Show(r, t, name) = self;
        if !matches!(r.rtype, RouteType::Unicast) {
            write!(f, "{} ", r.rtype.name())?;
        }
        if r.dst.prefix_len() == 0 {
            write!(f, "default")?;
        } else {
            write!(f, "{}", r.dst)?;
        }
        if let Some(v) = r.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = r.dev {
            write!(f, " dev {}", name(d))?;
        }
        if *t != TABLE_MAIN {
            write!(f, " table {}", table_name(*t))?;
        }
        if r.kernel {
            write!(f, " proto kernel")?;
        }
        if let Some(s) = r.src {
            write!(f, " src {s}")?;
        }
        write!(f, " metric {}", r.metric)?;
        if r.onlink {
            write!(f, " onlink")?;
        }
        if let Some(m) = r.mtu {
            write!(f, " mtu {m}")?;
        }
        write!(f, " pref medium")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dst: &str, via: Option<&str>, dev: usize, metric: u32) -> Route6 {
        Route6 {
            dst: dst.parse().unwrap(),
            rtype: RouteType::Unicast,
            via: via.map(|v| v.parse().unwrap()),
            dev: Some(dev),
            src: None,
            metric,
            kernel: false,
            mtu: None,
            onlink: false,
        }
    }

    #[test]
    fn longest_prefix_then_lowest_metric() {
        let mut f = Fib6::default();
        f.add(TABLE_MAIN, r("::/0", Some("fe80::1"), 1, 1024))
            .unwrap();
        f.add(TABLE_MAIN, r("fd00:10:244::/56", None, 2, 1024))
            .unwrap();
        f.add(TABLE_MAIN, r("fd00:10:244:1::/64", None, 3, 1024))
            .unwrap();
        f.add(TABLE_MAIN, r("fd00:10:244:1::/64", None, 4, 256))
            .unwrap();
        let a = |s: &str| f.lookup(s.parse().unwrap()).unwrap().route.dev;
        assert_eq!(a("fd00:10:244:1::5"), Some(4));
        assert_eq!(a("fd00:10:244:2::5"), Some(2));
        assert_eq!(a("2001:db8::1"), Some(1));
        let e = f
            .add(TABLE_MAIN, r("fd00:10:244::/56", None, 2, 1024))
            .unwrap_err();
        assert!(e.contains("File exists"), "{e}");
        // the same prefix on another device is another route
        f.add(TABLE_MAIN, r("fd00:10:244::/56", None, 9, 1024))
            .unwrap();
        let mut empty = Fib6::default();
        assert!(empty.lookup("fd00::1".parse().unwrap()).is_none());
        empty
            .add(TABLE_LOCAL, r("fd00::1/128", None, 0, 0))
            .unwrap();
        assert_eq!(
            empty.lookup("fd00::1".parse().unwrap()).unwrap().table,
            TABLE_LOCAL
        );
    }

    #[test]
    fn shows_as_ip_does() {
        let mut f = Fib6::default();
        let mut k = r("fd00:10:244:1::/64", None, 0, 256);
        k.kernel = true;
        f.add(TABLE_MAIN, k).unwrap();
        f.add(TABLE_MAIN, r("::/0", Some("fd00::1"), 0, 1024))
            .unwrap();
        let names = |_: usize| "eth0".to_string();
        assert_eq!(
            f.show(&names),
            vec![
                "default via fd00::1 dev eth0 metric 1024 pref medium",
                "fd00:10:244:1::/64 dev eth0 proto kernel metric 256 pref medium",
            ]
        );
    }
}
