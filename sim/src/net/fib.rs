//! The forwarding information base: routing tables, `ip rule`, longest-prefix
//! match, route types and source address selection (`fib_lookup`,
//! `fib_rules_lookup`, `inet_select_addr`).
//!
//! Simplifications (listed by `podpath explain`): no multipath routes, no
//! route cache or exceptions (PMTU is taken from the device), no broadcast
//! routes in the local table, metrics break ties between equal prefixes and
//! nothing else.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use prefix_trie::PrefixMap;

pub const TABLE_LOCAL: u32 = 255;
pub const TABLE_MAIN: u32 = 254;
pub const TABLE_DEFAULT: u32 = 253;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteType {
    Unicast,
    Local,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    /// `RTN_BROADCAST` (table local, `broadcast 10.0.0.255 dev eth0`, as
    /// fib_add_ifaddr in net/ipv4/fib_frontend.c adds it for a subnet's
    /// broadcast address): a packet to it is delivered locally as a
    /// broadcast (route.c ip_route_input_slow, `brd_input`), and one sent
    /// to it leaves the route's device to ff:ff:ff:ff:ff:ff (arp.c
    /// arp_constructor: the neighbour of an RTN_BROADCAST address is
    /// NUD_NOARP with the device's broadcast address).
    Broadcast,
}

impl RouteType {
    pub fn name(self) -> &'static str {
        match self {
            RouteType::Unicast => "unicast",
            RouteType::Local => "local",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
            RouteType::Throw => "throw",
            RouteType::Broadcast => "broadcast",
        }
    }
    pub fn from_name(s: &str) -> Option<RouteType> {
        Some(match s {
            "unicast" => RouteType::Unicast,
            "local" => RouteType::Local,
            "blackhole" => RouteType::Blackhole,
            "unreachable" => RouteType::Unreachable,
            "prohibit" => RouteType::Prohibit,
            "throw" => RouteType::Throw,
            "broadcast" => RouteType::Broadcast,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub dst: Ipv4Net,
    pub rtype: RouteType,
    pub via: Option<Ipv4Addr>,
    /// Device index on the host.
    pub dev: Option<usize>,
    pub src: Option<Ipv4Addr>,
    pub metric: u32,
    pub onlink: bool,
    /// `scope link` (directly connected) vs `scope global`.
    pub scope_link: bool,
    pub proto: String,
}

/// Why a lookup found nothing usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// No route in any table the rules led to (ENETUNREACH).
    NoRoute,
}

/// The result of a route lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    pub table: u32,
    pub rule_priority: u32,
    pub route: Route,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleAction {
    Lookup(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One `ip rule` (`N`: the family's prefix; `ip -6 rule`'s are
/// `IpRule<Ipv6Net>`, in [`crate::net::ip6::route::Fib6`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRule<N = Ipv4Net> {
    pub priority: u32,
    pub not: bool,
    pub from: Option<N>,
    pub to: Option<N>,
    pub fwmark: Option<(u32, u32)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub action: RuleAction,
}

impl<N: fmt::Display> fmt::Display for IpRule<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.priority)?;
        if self.not {
            write!(f, " not")?;
        }
        match &self.from {
            Some(n) => write!(f, " from {n}")?,
            None => write!(f, " from all")?,
        }
        if let Some(n) = &self.to {
            write!(f, " to {n}")?;
        }
        if let Some((v, m)) = self.fwmark {
            if m == 0xffff_ffff {
                write!(f, " fwmark 0x{v:x}")?;
            } else {
                write!(f, " fwmark 0x{v:x}/0x{m:x}")?;
            }
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        match &self.action {
            RuleAction::Lookup(t) => write!(f, " lookup {}", table_name(*t)),
            RuleAction::Blackhole => write!(f, " blackhole"),
            RuleAction::Unreachable => write!(f, " unreachable"),
            RuleAction::Prohibit => write!(f, " prohibit"),
        }
    }
}

/// `ip rule add`: after the rules of its priority and lower.
pub fn insert_rule<N>(rules: &mut Vec<IpRule<N>>, r: IpRule<N>) {
    let pos = rules.partition_point(|x| x.priority <= r.priority);
    rules.insert(pos, r);
}

impl<N> IpRule<N> {
    /// `from all lookup TABLE` at `priority` (the kernel's default rules).
    pub fn lookup_all(priority: u32, table: u32) -> IpRule<N> {
        IpRule {
            priority,
            not: false,
            from: None,
            to: None,
            fwmark: None,
            iif: None,
            oif: None,
            action: RuleAction::Lookup(table),
        }
    }

    /// `fib_rule_match` (net/core/fib_rules.c): the family's verdicts on
    /// `from` and `to`, then the selectors both families share (fwmark,
    /// iif, where a locally generated packet's is `lo`, oif), inverted by
    /// `not`.
    pub fn matches(
        &self,
        from_ok: bool,
        to_ok: bool,
        (mark, iif, oif): (u32, Option<&str>, Option<&str>),
    ) -> bool {
        let m = from_ok
            && to_ok
            && self.fwmark.is_none_or(|(v, m)| mark & m == v)
            && self
                .iif
                .as_deref()
                .is_none_or(|i| iif == Some(i) || (iif.is_none() && i == "lo"))
            && self.oif.as_deref().is_none_or(|o| oif == Some(o));
        m != self.not
    }
}

pub fn table_name(t: u32) -> String {
    match t {
        TABLE_LOCAL => "local".into(),
        TABLE_MAIN => "main".into(),
        TABLE_DEFAULT => "default".into(),
        n => n.to_string(),
    }
}

pub fn table_id(s: &str) -> Option<u32> {
    match s {
        "local" => Some(TABLE_LOCAL),
        "main" => Some(TABLE_MAIN),
        "default" => Some(TABLE_DEFAULT),
        n => n.parse().ok(),
    }
}

/// What a lookup is for: the selectors `ip rule` and the tables test
/// (`A`: the family's address; IPv6's is [`crate::net::ip6::route::Key6`]).
#[derive(Clone, Debug)]
pub struct FlowKey<'a, A = Ipv4Addr> {
    pub dst: Option<A>,
    /// None (or IPv6's `::`): not chosen yet.
    pub src: Option<A>,
    pub mark: u32,
    pub iif: Option<&'a str>,
    pub oif: Option<&'a str>,
}

impl<A> Default for FlowKey<'_, A> {
    fn default() -> Self {
        FlowKey {
            dst: None,
            src: None,
            mark: 0,
            iif: None,
            oif: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Fib {
    /// The routing tables, shared between copies of the host until one
    /// changes them (a world's copy for a `reach` probe reads them only).
    pub tables: std::sync::Arc<BTreeMap<u32, PrefixMap<Ipv4Net, Vec<Route>>>>,
    pub rules: Vec<IpRule>,
}

impl Default for Fib {
    fn default() -> Self {
        Fib::new()
    }
}

impl Fib {
    /// A FIB with the kernel's three default rules.
    pub fn new() -> Fib {
        Fib {
            tables: Default::default(),
            rules: vec![
                IpRule::lookup_all(0, TABLE_LOCAL),
                IpRule::lookup_all(32766, TABLE_MAIN),
                IpRule::lookup_all(32767, TABLE_DEFAULT),
            ],
        }
    }

    pub fn add_route(&mut self, table: u32, r: Route) {
        let t = std::sync::Arc::make_mut(&mut self.tables)
            .entry(table)
            .or_default();
        let key = r.dst.trunc();
        match t.get_mut(&key) {
            Some(v) => {
                v.push(r);
                v.sort_by_key(|r| r.metric);
            }
            None => {
                t.insert(key, vec![r]);
            }
        }
    }

    pub fn add_rule(&mut self, r: IpRule) {
        insert_rule(&mut self.rules, r);
    }

    /// Longest-prefix match in one table.
    pub fn lookup_table(&self, table: u32, dst: Ipv4Addr, oif: Option<usize>) -> Option<&Route> {
        let t = self.tables.get(&table)?;
        let key = Ipv4Net::new(dst, 32).expect("/32");
        // Walk covering prefixes from longest to shortest; the first with a
        // usable route wins (an oif constraint can skip routes on other devices).
        let mut covers: Vec<(Ipv4Net, &Vec<Route>)> = t.cover(&key).collect();
        covers.sort_by_key(|c| std::cmp::Reverse(c.0.prefix_len()));
        for (_, routes) in covers {
            for r in routes {
                if let (Some(o), Some(d)) = (oif, r.dev) {
                    if o != d && r.rtype == RouteType::Unicast {
                        continue;
                    }
                }
                return Some(r);
            }
        }
        None
    }

    fn rule_matches(r: &IpRule, k: &FlowKey) -> bool {
        r.matches(
            r.from
                .is_none_or(|n| k.src.is_some_and(|s| n.contains(&s)) || n.prefix_len() == 0),
            r.to.is_none_or(|n| k.dst.is_some_and(|d| n.contains(&d))),
            (k.mark, k.iif, k.oif),
        )
    }

    /// The full policy-routing lookup: rules in priority order, each pointing
    /// at a table; `throw` routes and tables without a match fall through to
    /// the next rule. `oif_idx` restricts unicast routes to one device.
    pub fn lookup(
        &self,
        k: &FlowKey,
        oif_idx: Option<usize>,
    ) -> Result<Lookup, (LookupError, Option<IpRule>)> {
        let dst = k.dst.expect("lookup needs a destination");
        for rule in &self.rules {
            if !Self::rule_matches(rule, k) {
                continue;
            }
            let table = match rule.action {
                RuleAction::Lookup(t) => t,
                RuleAction::Blackhole | RuleAction::Unreachable | RuleAction::Prohibit => {
                    let rtype = match rule.action {
                        RuleAction::Blackhole => RouteType::Blackhole,
                        RuleAction::Unreachable => RouteType::Unreachable,
                        _ => RouteType::Prohibit,
                    };
                    return Ok(Lookup {
                        table: 0,
                        rule_priority: rule.priority,
                        route: Route {
                            dst: Ipv4Net::default(),
                            rtype,
                            via: None,
                            dev: None,
                            src: None,
                            metric: 0,
                            onlink: false,
                            scope_link: false,
                            proto: "rule".into(),
                        },
                    });
                }
            };
            if let Some(r) = self.lookup_table(table, dst, oif_idx) {
                if r.rtype == RouteType::Throw {
                    continue;
                }
                return Ok(Lookup {
                    table,
                    rule_priority: rule.priority,
                    route: r.clone(),
                });
            }
        }
        Err((LookupError::NoRoute, None))
    }

    /// All routes of all tables, for display and export.
    pub fn all_routes(&self) -> Vec<(u32, Route)> {
        let mut out = Vec::new();
        for (t, m) in self.tables.iter() {
            for (_, rs) in m.iter() {
                for r in rs {
                    out.push((*t, r.clone()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dst: &str, dev: usize, via: Option<&str>) -> Route {
        Route {
            dst: dst.parse().unwrap(),
            rtype: RouteType::Unicast,
            via: via.map(|v| v.parse().unwrap()),
            dev: Some(dev),
            src: None,
            metric: 0,
            onlink: false,
            scope_link: via.is_none(),
            proto: "static".into(),
        }
    }

    #[test]
    fn longest_prefix_wins_and_rules_select_tables() {
        let mut f = Fib::new();
        f.add_route(TABLE_MAIN, r("0.0.0.0/0", 1, Some("10.0.0.1")));
        f.add_route(TABLE_MAIN, r("10.0.0.0/8", 2, None));
        f.add_route(TABLE_MAIN, r("10.244.0.0/16", 3, None));
        f.add_route(100, r("100.64.0.0/10", 4, None));
        let k = |d: &str| FlowKey {
            dst: Some(d.parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(f.lookup(&k("10.244.1.5"), None).unwrap().route.dev, Some(3));
        assert_eq!(f.lookup(&k("10.1.1.5"), None).unwrap().route.dev, Some(2));
        assert_eq!(f.lookup(&k("8.8.8.8"), None).unwrap().route.dev, Some(1));
        assert_eq!(f.lookup(&k("100.64.0.5"), None).unwrap().route.dev, Some(1));
        f.add_rule(IpRule {
            priority: 100,
            not: false,
            from: None,
            to: Some("100.64.0.0/10".parse().unwrap()),
            fwmark: None,
            iif: None,
            oif: None,
            action: RuleAction::Lookup(100),
        });
        let l = f.lookup(&k("100.64.0.5"), None).unwrap();
        assert_eq!((l.table, l.route.dev, l.rule_priority), (100, Some(4), 100));
        // throw falls through to the next rule
        let mut t = r("100.64.0.5/32", 9, None);
        t.rtype = RouteType::Throw;
        f.add_route(100, t);
        assert_eq!(f.lookup(&k("100.64.0.5"), None).unwrap().route.dev, Some(1));
    }

    #[test]
    fn no_route_is_an_error() {
        let f = Fib::new();
        let k = FlowKey {
            dst: Some("1.1.1.1".parse().unwrap()),
            ..Default::default()
        };
        assert!(f.lookup(&k, None).is_err());
    }
}
