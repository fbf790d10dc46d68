//! A host's `routes` entry for IPv6, added as `ip -6 route add` would: a
//! destination with a colon (`fd00::/64`, `::/0`), or `default` with an
//! IPv6 gateway. The gateway is checked as `ip6_route_check_nh` does: a
//! link-local gateway needs `dev`; another one must be reachable through
//! an on-link route (on `dev` when given).

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::error::{Errs, ScenarioError};
use super::schema::RouteDoc;
use crate::net::fib::{self, RouteType};
use crate::net::host::Host;
use crate::net::ip6::route::{Route6, METRIC_USER};
use crate::wire::ipv6::addr::scope;

/// Whether a `routes` entry is IPv6.
pub(super) fn is_v6(rd: &RouteDoc) -> bool {
    rd.dst.value.contains(':') || rd.via.as_ref().is_some_and(|v| v.value.contains(':'))
}

pub(super) fn add_route6(
    h: &mut Host,
    rd: &RouteDoc,
    rk: String,
    hname: &str,
    e: &Errs,
) -> Result<(), ScenarioError> {
    let dst: Ipv6Net = match rd.dst.value.as_str() {
        "default" => "::/0".parse().expect("valid"),
        s if s.contains('/') => s.parse().map_err(|_| {
            e.at(
                &rd.dst,
                format!("{rk}.dst"),
                format!("bad IPv6 destination '{s}': expected 'default', ADDR or ADDR/LEN"),
            )
        })?,
        s => Ipv6Net::new(
            s.parse::<Ipv6Addr>().map_err(|_| {
                e.at(
                    &rd.dst,
                    format!("{rk}.dst"),
                    format!("bad IPv6 destination '{s}': expected 'default', ADDR or ADDR/LEN"),
                )
            })?,
            128,
        )
        .expect("128"),
    };
    if dst.trunc() != dst {
        // inet6_rtm_newroute takes it and masks it; iproute2 refuses
        return Err(e.at(
            &rd.dst,
            format!("{rk}.dst"),
            format!("'{dst}' has host bits set: write {}", dst.trunc()),
        ));
    }
    let rtype = match &rd.route_type {
        Some(t) => RouteType::from_name(&t.value)
            .filter(|r| *r != RouteType::Broadcast)
            .ok_or_else(|| {
                e.at(
                    t,
                    format!("{rk}.type"),
                    format!("unknown IPv6 route type '{}': expected unicast, local, blackhole, unreachable, prohibit or throw", t.value),
                )
            })?,
        None => RouteType::Unicast,
    };
    let addr = |v: &Option<serde_saphyr::Spanned<String>>,
                what: &str|
     -> Result<Option<Ipv6Addr>, ScenarioError> {
        match v {
            Some(x) => x.value.parse::<Ipv6Addr>().map(Some).map_err(|_| {
                e.at(
                    x,
                    format!("{rk}.{what}"),
                    format!("bad IPv6 {what} '{}'", x.value),
                )
            }),
            None => Ok(None),
        }
    };
    let via = addr(&rd.via, "via")?;
    let src = addr(&rd.src, "src")?;
    let mut dev = match &rd.dev {
        Some(d) => Some(h.dev_index(&d.value).ok_or_else(|| {
            e.at(
                d,
                format!("{rk}.dev"),
                format!("no device '{}' on host {hname}", d.value),
            )
        })?),
        None => None,
    };
    if let Some(gw) = via {
        if scope(gw) == 0x02 && dev.is_none() && !rd.onlink {
            return Err(e.at(
                rd.via.as_ref().expect("via"),
                format!("{rk}.via"),
                format!("gateway {gw} is link-local: add 'dev' (Nexthop has invalid gateway)"),
            ));
        }
        if scope(gw) != 0x02 && !rd.onlink {
            // ip6_route_check_nh: an on-link (gatewayless) route to gw
            let on = h
                .ip6
                .fib
                .lookup(gw)
                .filter(|f| f.route.via.is_none() && f.route.rtype == RouteType::Unicast);
            match on {
                Some(f) if dev.is_none() || f.route.dev == dev => dev = f.route.dev,
                _ => {
                    return Err(e.at(
                        rd.via.as_ref().expect("via"),
                        format!("{rk}.via"),
                        format!("gateway {gw} is not on a connected IPv6 subnet of {hname} (Nexthop has invalid gateway); add 'dev' and 'onlink: true'"),
                    ))
                }
            }
        }
    }
    if dev.is_none() && rtype == RouteType::Unicast {
        return Err(e.at(&rd.dst, rk, "a unicast route needs 'dev' or 'via'".into()));
    }
    let table = match &rd.table {
        Some(t) => fib::table_id(&t.value.0).ok_or_else(|| {
            e.at(
                t,
                format!("{rk}.table"),
                format!("bad table '{}'", t.value.0),
            )
        })?,
        None if rtype == RouteType::Local => fib::TABLE_LOCAL,
        None => fib::TABLE_MAIN,
    };
    let metric = if rd.metric == 0 {
        METRIC_USER
    } else {
        rd.metric
    };
    h.ip6
        .fib
        .add(
            table,
            Route6 {
                dst,
                rtype,
                via,
                dev,
                src,
                metric,
                kernel: false,
                mtu: None,
                onlink: rd.onlink,
            },
        )
        .map_err(|m| e.at(&rd.dst, rk, m))
}
