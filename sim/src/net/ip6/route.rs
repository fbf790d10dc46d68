//! IPv6 routing tables (net/ipv6/route.c, ip6_fib.c): `ip -6 route` in
//! any table, looked up as `fib6_rule_lookup` does through the `ip -6
//! rule`s (net/ipv6/fib6_rules.c: the defaults 0 local and 32766 main,
//! `fib6_rules_net_init`; a rule matches on from, to, fwmark, iif, oif,
//! `not` inverting it, `fib6_rule_match`; its action a table, where a
//! miss or a `throw` route goes on to the next rule, or blackhole,
//! unreachable, prohibit, `fib6_rule_action`).
//!
//! A lookup takes the longest matching prefix, and of its routes the
//! lowest metric (`fib6_node` leaves are metric-ordered, `rt6_select`
//! takes the first). Where no route matches, the lookup ends at
//! `ip6_null_entry`: unreachable, -ENETUNREACH.
//!
//! A rule with `from` does not match a lookup whose source is not chosen
//! yet (`fib6_rule_match` without RT6_LOOKUP_F_HAS_SADDR, the rule made
//! without FIB_RULE_FIND_SADDR, as iproute2 makes them).
//!
//! Simplifications (named in `podpath explain`): `rt6_select`'s round robin over routes of equal metric and its
//! neighbour reachability scoring (`rt6_check_neigh`) are not modelled (the
//! first route given wins); no ECMP multipath.

use std::fmt;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use crate::net::fib::{table_name, IpRule, RouteType, RuleAction, TABLE_LOCAL, TABLE_MAIN};

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

#[derive(Clone, Debug)]
pub struct Fib6 {
    /// Table id -> routes in the order given.
    pub tables: std::collections::BTreeMap<u32, Vec<Route6>>,
    /// `ip -6 rule`, in priority order.
    pub rules: Vec<IpRule<Ipv6Net>>,
}

impl Default for Fib6 {
    /// The kernel's two default rules (`fib6_rules_net_init`: no 32767
    /// default table rule, as IPv4 has).
    fn default() -> Self {
        Fib6 {
            tables: Default::default(),
            rules: vec![
                IpRule::lookup_all(0, TABLE_LOCAL),
                IpRule::lookup_all(32766, TABLE_MAIN),
            ],
        }
    }
}

/// What an IPv6 lookup is for: the selectors `ip -6 rule` tests.
pub type Key6<'a> = crate::net::fib::FlowKey<'a, Ipv6Addr>;

impl Fib6 {
    /// `ip -6 rule add`: after the rules of its priority and lower.
    pub fn add_rule(&mut self, r: IpRule<Ipv6Net>) {
        crate::net::fib::insert_rule(&mut self.rules, r);
    }

    /// `fib6_rule_match`.
    fn rule_matches(r: &IpRule<Ipv6Net>, k: &Key6) -> bool {
        let src = k.src.filter(|s| !s.is_unspecified());
        r.matches(
            r.from
                .is_none_or(|n| n.prefix_len() == 0 || src.is_some_and(|s| n.contains(&s))),
            r.to.is_none_or(|n| k.dst.is_some_and(|d| n.contains(&d))),
            (k.mark, k.iif, k.oif),
        )
    }

    /// `fib6_rule_lookup` through the rules for `k`; None is
    /// `ip6_null_entry` (network unreachable). A blackhole, unreachable or
    /// prohibit rule gives a route of that type (table 0).
    pub fn lookup_key(&self, k: &Key6) -> Option<Found6> {
        let dst = k.dst?;
        for rule in self.rules.iter().filter(|r| Self::rule_matches(r, k)) {
            let table = match rule.action {
                RuleAction::Lookup(t) => t,
                ref a => {
                    let rtype = match a {
                        RuleAction::Blackhole => RouteType::Blackhole,
                        RuleAction::Unreachable => RouteType::Unreachable,
                        _ => RouteType::Prohibit,
                    };
                    return Some(Found6 {
                        table: 0,
                        route: Route6 {
                            dst: Ipv6Net::default(),
                            rtype,
                            via: None,
                            dev: None,
                            src: None,
                            metric: 0,
                            kernel: false,
                            mtu: None,
                            onlink: false,
                        },
                    });
                }
            };
            match self.lookup_table(table, dst) {
                Some(r) if r.rtype == RouteType::Throw => continue,
                Some(r) => {
                    return Some(Found6 {
                        table,
                        route: r.clone(),
                    })
                }
                None => continue,
            }
        }
        None
    }

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

    /// [`Fib6::lookup_key`] for a destination alone (no source, mark or
    /// device for the rules to test).
    pub fn lookup(&self, dst: Ipv6Addr) -> Option<Found6> {
        self.lookup_key(&Key6 {
            dst: Some(dst),
            ..Default::default()
        })
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
