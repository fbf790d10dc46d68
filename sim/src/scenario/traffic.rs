//! The `traffic` section: the flows the clients start (HTTP GETs, DNS
//! queries, pings), each checked against the hosts it names and the
//! horizon it must start before.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_saphyr::Spanned;

use super::error::{Errs, ScenarioError};
use super::schema::{DnsDoc, HttpDoc, PingDoc, ScenarioDoc, TrafficDoc};
use super::value::duration;
use crate::world::{FlowSpec, Request};

/// `traffic`: the flows, in the file's order; ids are unique and `from`
/// names a host or segment of `names`.
pub(super) fn build_traffic(
    doc: &ScenarioDoc,
    names: &[&String],
    e: &Errs,
) -> Result<Vec<FlowSpec>, ScenarioError> {
    let mut flows = Vec::new();
    let mut ids = BTreeSet::new();
    for (ti, td) in doc.traffic.iter().enumerate() {
        let tk = format!("traffic[{ti}]");
        if !ids.insert(td.id.value.clone()) {
            return Err(e.at(
                &td.id,
                format!("{tk}.id"),
                format!("duplicate traffic id '{}'", td.id.value),
            ));
        }
        flows.push(flow_of(doc, td, tk, names, e)?);
    }
    Ok(flows)
}

/// One `traffic[i]` entry (key path `tk`): its client, request, start,
/// count, interval and expectations.
fn flow_of(
    doc: &ScenarioDoc,
    td: &TrafficDoc,
    tk: String,
    names: &[&String],
    e: &Errs,
) -> Result<FlowSpec, ScenarioError> {
    let from = names
        .iter()
        .position(|n| n.as_str() == td.from.value)
        .ok_or_else(|| {
            e.at(
                &td.from,
                format!("{tk}.from"),
                format!("no host '{}'", td.from.value),
            )
        })?;
    if td.ping.is_some() && (td.http.is_some() || td.dns.is_some()) {
        return Err(e.at(
            &td.id,
            tk,
            "a traffic entry needs exactly one of 'http', 'dns' or 'ping'".into(),
        ));
    }
    let request = request_of(doc, td, &tk, e)?;
    let dur = |s: &Option<Spanned<String>>, k: &str| -> Result<u64, ScenarioError> {
        match s {
            Some(v) => duration(&v.value).map_err(|m| e.at(v, format!("{tk}.{k}"), m.to_string())),
            None => Ok(0),
        }
    };
    if let Some(t) = &td.timeout {
        if td.http.is_none() && td.sctp.is_none() {
            return Err(e.at(
                t,
                format!("{tk}.timeout"),
                "timeout (curl -m, ncat -w) applies to http and sctp flows".into(),
            ));
        }
    }
    Ok(FlowSpec {
        streams: Vec::new(),
        id: td.id.value.clone(),
        from,
        request,
        start_ns: dur(&td.start, "start")?,
        count: td.count.max(1),
        after_previous: false,
        client: crate::world::ClientOpts {
            timeout_ns: match &td.timeout {
                Some(_) => Some(dur(&td.timeout, "timeout")?.max(1)),
                None => None,
            },
            ..Default::default()
        },
        interval_ns: match &td.interval {
            Some(_) => dur(&td.interval, "interval")?,
            None => 100_000_000,
        },
        expect: td
            .expect
            .as_ref()
            .map(|x| x.value.0.clone())
            .unwrap_or_default(),
    })
}

/// What a flow sends: exactly one of `http`, `dns`, `ping` or `sctp`.
fn request_of(
    doc: &ScenarioDoc,
    td: &TrafficDoc,
    tk: &str,
    e: &Errs,
) -> Result<Request, ScenarioError> {
    let given = [
        td.http.is_some(),
        td.dns.is_some(),
        td.ping.is_some(),
        td.sctp.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(e.at(
            &td.id,
            tk.to_string(),
            "a traffic entry needs exactly one of 'http', 'dns', 'ping' or 'sctp'".into(),
        ));
    }
    Ok(match (&td.http, &td.dns) {
        (None, None) if td.sctp.is_some() => sctp_request(td.sctp.as_ref().expect("sctp"), tk, e)?,
        (None, None) if td.ping.is_some() => ping_request(td.ping.as_ref().expect("ping"), tk, e)?,
        (Some(http), None) => http_request(doc, td, http, tk, e)?,
        (None, Some(dns)) => dns_request(doc, td, dns, tk, e)?,
        _ => {
            return Err(e.at(
                &td.id,
                tk.to_string(),
                "a traffic entry needs exactly one of 'http', 'dns', 'ping' or 'sctp'".into(),
            ))
        }
    })
}

/// `sctp: {dst: ADDR:PORT, message: TEXT}`.
fn sctp_request(s: &super::schema::SctpDoc, tk: &str, e: &Errs) -> Result<Request, ScenarioError> {
    let bad = |what: String| e.at(&s.dst, format!("{tk}.sctp.dst"), what);
    let (a, p) = s
        .dst
        .value
        .rsplit_once(':')
        .ok_or_else(|| bad(format!("'{}' is not ADDR:PORT", s.dst.value)))?;
    let dst = a
        .parse::<Ipv4Addr>()
        .map_err(|_| bad(format!("bad address '{a}'")))?;
    let port = p
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad(format!("bad port '{p}': expected 1-65535")))?;
    Ok(Request::Sctp {
        dst,
        port,
        payload: s.message.as_ref().map(|m| m.as_bytes().to_vec()),
    })
}

/// `ping`: an ICMP echo of `size` bytes (56, as ping's default), DF set
/// unless `df: false`.
fn ping_request(p: &PingDoc, tk: &str, e: &Errs) -> Result<Request, ScenarioError> {
    if p.dst.value.contains(':') {
        return ping6_request(p, tk, e);
    }
    if p.hop_limit.is_some() {
        return Err(e.at(
            &p.dst,
            format!("{tk}.ping.hopLimit"),
            "hopLimit applies to IPv6 pings only".into(),
        ));
    }
    if p.count.is_some_and(|c| c != 1) {
        return Err(e.at(
            &p.dst,
            format!("{tk}.ping.count"),
            "count applies to IPv6 pings only (podpath's IPv4 ping sends one request)".into(),
        ));
    }
    let dst = p.dst.value.parse::<Ipv4Addr>().map_err(|_| {
        e.at(
            &p.dst,
            format!("{tk}.ping.dst"),
            format!("bad address '{}'", p.dst.value),
        )
    })?;
    let size = p.size.unwrap_or(56);
    if size > 65507 {
        return Err(e.at(
            &p.dst,
            format!("{tk}.ping.size"),
            format!("size {size} is over 65507, the most an IPv4 echo can carry"),
        ));
    }
    Ok(Request::Ping {
        ident: None,
        timestamp: false,
        dst,
        size,
        df: p.df.unwrap_or(true),
    })
}

/// `ping` to an IPv6 address: `ping -6 -c COUNT -s SIZE`. Path MTU
/// discovery is the kernel's (`df` does not apply: an IPv6 source
/// fragments what exceeds the path MTU).
fn ping6_request(p: &PingDoc, tk: &str, e: &Errs) -> Result<Request, ScenarioError> {
    let dst = p.dst.value.parse::<std::net::Ipv6Addr>().map_err(|_| {
        e.at(
            &p.dst,
            format!("{tk}.ping.dst"),
            format!("bad IPv6 address '{}'", p.dst.value),
        )
    })?;
    if p.df.is_some() {
        return Err(e.at(
            &p.dst,
            format!("{tk}.ping.df"),
            "'df' is for IPv4: IPv6 routers never fragment, and the source fragments by the path MTU".into(),
        ));
    }
    let size = p.size.unwrap_or(56);
    // 65535 payload less the 8-byte ICMPv6 header (no jumbograms)
    if size > 65527 {
        return Err(e.at(
            &p.dst,
            format!("{tk}.ping.size"),
            format!("size {size} is over 65527, the most an IPv6 echo can carry"),
        ));
    }
    if p.hop_limit == Some(0) {
        return Err(e.at(
            &p.dst,
            format!("{tk}.ping.hopLimit"),
            "ping: invalid argument: '0': out of range: 1 <= value <= 255".into(),
        ));
    }
    let count = p.count.unwrap_or(1);
    if count == 0 {
        return Err(e.at(
            &p.dst,
            format!("{tk}.ping.count"),
            "ping: invalid argument: '0': out of range: 1 <= value <= 9223372036854775807".into(),
        ));
    }
    Ok(Request::Ping6 {
        dst,
        size,
        count,
        hlim: p.hop_limit,
    })
}

/// `http.get: http://[USER:PASS@]ADDR[:PORT]/PATH`, curl's way: an
/// address is connected to; a name is resolved first (the client needs a
/// resolv.conf).
fn http_request(
    doc: &ScenarioDoc,
    td: &TrafficDoc,
    http: &HttpDoc,
    tk: &str,
    e: &Errs,
) -> Result<Request, ScenarioError> {
    let url = &http.get;
    let rest = url.value.strip_prefix("http://").ok_or_else(|| {
        e.at(
            url,
            format!("{tk}.http.get"),
            format!("'{}': expected http://ADDR[:PORT]/PATH", url.value),
        )
    })?;
    let (auth, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // `user:password@` before the host: curl's Basic credentials
    let (user, auth) = match auth.rsplit_once('@') {
        Some((u, a)) => (Some(u.to_string()), a),
        None => (None, auth),
    };
    // an IPv6 literal is bracketed (RFC 3986 3.2.2: `[2001:db8::1]:8080`)
    let (addr, port) = match auth.strip_prefix('[') {
        Some(v6) => {
            let (a, after) = v6.split_once(']').ok_or_else(|| {
                e.at(
                    url,
                    format!("{tk}.http.get"),
                    format!("'{}': an IPv6 address needs its closing ']'", url.value),
                )
            })?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => {
                    return Err(e.at(
                        url,
                        format!("{tk}.http.get"),
                        format!("'{after}' after ']': expected :PORT"),
                    ))
                }
            };
            if a.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(e.at(
                    url,
                    format!("{tk}.http.get"),
                    format!("'[{a}]' is not an IPv6 address"),
                ));
            }
            (a, port)
        }
        None => match auth.rsplit_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (auth, None),
        },
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| e.at(url, format!("{tk}.http.get"), format!("bad port '{p}'")))?,
        None => 80,
    };
    let host_header = http.host.clone().unwrap_or_else(|| auth.to_string());
    fn on(b: &Option<Spanned<bool>>) -> Option<&Spanned<bool>> {
        b.as_ref().filter(|b| b.value)
    }
    let family = match (on(&http.ipv4), on(&http.ipv6)) {
        (Some(_), Some(b)) => return Err(e.at(
            b,
            format!("{tk}.http.ipv6"),
            "`ipv4: true` and `ipv6: true` together: curl takes the last of -4 and -6; give one"
                .to_string(),
        )),
        (Some(_), None) => crate::app::IpResolve::V4,
        (None, Some(_)) => crate::app::IpResolve::V6,
        (None, None) => crate::app::IpResolve::Whatever,
    };
    Ok(match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) if family == crate::app::IpResolve::V6 => {
            let b = http.ipv6.as_ref().expect("checked");
            return Err(e.at(
                b,
                format!("{tk}.http.ipv6"),
                format!(
                    "'{addr}' is an IPv4 address: `ipv6: true` (curl -6) needs a name or an IPv6 address"
                ),
            ));
        }
        Ok(std::net::IpAddr::V6(_)) if family == crate::app::IpResolve::V4 => {
            let b = http.ipv4.as_ref().expect("checked");
            return Err(e.at(
                b,
                format!("{tk}.http.ipv4"),
                format!(
                    "'{addr}' is an IPv6 address: `ipv4: true` (curl -4) needs a name or an IPv4 address"
                ),
            ));
        }
        Ok(dst) => Request::HttpGet {
            dst,
            port,
            host_header,
            path: path.to_string(),
            user,
            extra: Default::default(),
        },
        Err(_) => {
            let valid = !addr.is_empty()
                && addr.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !valid {
                return Err(e.at(
                    url,
                    format!("{tk}.http.get"),
                    format!("'{addr}' is neither an IPv4 address nor a host name"),
                ));
            }
            if doc
                .hosts
                .get(&td.from.value)
                .is_some_and(|h| h.resolv_conf.is_none())
            {
                return Err(e.at(
                    url,
                    format!("{tk}.http.get"),
                    format!(
                        "'{addr}' is a name, and host '{}' has no resolvConf to resolve it with{}",
                        td.from.value,
                        no_dns_hint(doc, &td.from.value)
                    ),
                ));
            }
            Request::Resolve {
                name: addr.to_string(),
                then: Some(crate::app::ThenHttp {
                    port,
                    host_header,
                    path: path.to_string(),
                    user,
                    extra: Default::default(),
                    family,
                }),
            }
        }
    })
}

/// `dns`: an A query to `server` (port 53 unless given), or without a
/// server a lookup through the client's resolv.conf.
fn dns_request(
    doc: &ScenarioDoc,
    td: &TrafficDoc,
    dns: &DnsDoc,
    tk: &str,
    e: &Errs,
) -> Result<Request, ScenarioError> {
    Ok(match &dns.server {
        Some(server) => Request::DnsA {
            server: server.value.parse::<std::net::IpAddr>().map_err(|_| {
                e.at(
                    server,
                    format!("{tk}.dns.server"),
                    format!("bad address '{}'", server.value),
                )
            })?,
            port: dns.port.unwrap_or(53),
            name: dns.query.trim_end_matches('.').to_string(),
            qtype: match dns.qtype.as_ref().map(|t| (t, t.value.as_str())) {
                None | Some((_, "A")) => crate::wire::dns::TYPE_A,
                Some((_, "AAAA")) => crate::wire::dns::TYPE_AAAA,
                Some((t, other)) => {
                    return Err(e.at(
                        t,
                        format!("{tk}.dns.type"),
                        format!("'{other}': expected A or AAAA"),
                    ))
                }
            },
        },
        None => {
            if doc
                .hosts
                .get(&td.from.value)
                .is_some_and(|h| h.resolv_conf.is_none())
            {
                return Err(e.at(
                    &td.id,
                    format!("{tk}.dns"),
                    format!(
                        "no 'server', and host '{}' has no resolvConf{}",
                        td.from.value,
                        no_dns_hint(doc, &td.from.value)
                    ),
                ));
            }
            Request::Resolve {
                name: dns.query.clone(),
                then: None,
            }
        }
    })
}

/// Why a cluster's pod has no resolv.conf, when that is the reason.
fn no_dns_hint(doc: &ScenarioDoc, host: &str) -> &'static str {
    if doc.pods_without_dns.contains(host) {
        ": the cluster has no Service kube-system/kube-dns, so kubelet gives its pods no nameserver; add a kube-dns Service (with CoreDNS pods and their EndpointSlice) to the manifests"
    } else {
        ""
    }
}

/// At most this many flows run in one scenario: each keeps its whole trace
/// (every hop and step) in memory.
pub const MAX_FLOWS: u64 = 100_000;

/// Refuses flow counts past [`MAX_FLOWS`] and flows that would start after
/// the horizon (they would never run).
pub(super) fn check_flow_counts(
    flows: &[FlowSpec],
    doc: &ScenarioDoc,
    horizon_ns: u64,
    e: &Errs,
) -> Result<(), ScenarioError> {
    let mut total: u64 = 0;
    for (i, (f, td)) in flows.iter().zip(&doc.traffic).enumerate() {
        let key = format!("traffic[{i}].count");
        total += u64::from(f.count);
        if total > MAX_FLOWS {
            return Err(e.at(
                &td.id,
                key,
                format!(
                    "count {}: podpath keeps every flow's trace in memory and runs at most {MAX_FLOWS} flows in one scenario ({total} asked for by here)",
                    f.count
                ),
            ));
        }
        let last = u64::from(f.count.saturating_sub(1))
            .checked_mul(f.interval_ns)
            .and_then(|x| x.checked_add(f.start_ns));
        if last.is_none_or(|t| t > horizon_ns) {
            // the first connection past the horizon (1-based)
            let past = if f.start_ns > horizon_ns {
                1
            } else {
                (horizon_ns - f.start_ns) / f.interval_ns.max(1) + 2
            };
            return Err(e.at(
                &td.id,
                key,
                format!(
                    "flows {past}-{} of '{}' would start after the horizon ({:.3} s) and never run: lower count or interval, or raise horizon",
                    f.count,
                    f.id,
                    horizon_ns as f64 / 1e9
                ),
            ));
        }
    }
    Ok(())
}
