//! A snapshot bundle's `flows`: what each client sends and how it runs
//! (DESIGN §5's flow keys), read key by key.
//!
//! `request` is `HTTP <METHOD> <path> Host: <host>`, `DNS A <name>`,
//! `UDP <payload>` (one datagram with exactly those bytes), `ICMP echo
//! id=0x.. seq=N`, `ICMP timestamp id=0x.. seq=N`, podpath's own `PING size
//! N df B` and `RESOLVE [-6] name [HTTP GET path Host: h]`, or absent: a plain
//! TCP connect (handshake, then close), a datagram with no payload for
//! `udp`. `src`, `src_port_hint`, `uid`, `timeout_s`, `headers` and `body`
//! shape the client, `spoofed` (with `src`) sends a UDP datagram, a TCP
//! SYN or an ICMP query from a raw socket with a forged source; `start`
//! sends the flow at a time instead of after the previous one ended; `t`
//! is informational.
//!
//! `DNS T name` asks type T (A, AAAA, PTR, SRV, TXT, CNAME; `DNS PTR
//! ADDR` asks the address's in-addr.arpa name, as `dig -x`).
//!
//! On a DNS flow `src` and `src_port_hint` bind the resolver's socket
//! (`dig -b ADDR#PORT`), `timeout_s` is each attempt's wait (glibc's
//! `options timeout:N`; two attempts), `spoofed` sends the query from a raw
//! socket; on an ICMP flow an unspoofed `src` binds the ping socket
//! (`ping -I ADDR`).
//!
//! Not modelled yet, and refused by name rather than run otherwise: other
//! DNS types, `src_port_hint` on ICMP flows (an ICMP query has no port: its
//! identifier is `ICMP echo id=0x..`), the client options on `RESOLVE`
//! flows but `timeout_s` on one that fetches (curl's `-m`).

use std::net::Ipv4Addr;

use super::ScenarioError;
use crate::app::http::RequestExtra;
use crate::world::{ClientOpts, FlowSpec, Request};

/// One `flows[i]` entry as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlowDoc {
    #[serde(default)]
    id: Option<String>,
    from: String,
    #[serde(default)]
    proto: Option<String>,
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    request: Option<String>,
    /// The client's source port when it was pinned (null: ephemeral).
    #[serde(default)]
    src_port_hint: Option<u16>,
    /// The client binds this source address instead of the routed one.
    #[serde(default)]
    src: Option<String>,
    /// With `src`: a forged source from a raw socket.
    #[serde(default)]
    spoofed: bool,
    /// The uid (and gid) the client runs as.
    #[serde(default)]
    uid: Option<u32>,
    /// How long the client waits for its answer, in seconds.
    #[serde(default)]
    timeout_s: Option<f64>,
    /// An HTTP request's header lines, in the order sent.
    #[serde(default)]
    headers: Option<Vec<String>>,
    /// An HTTP request's body: `length` copies of `byte`.
    #[serde(default)]
    body: Option<BodyDoc>,
    /// Seconds since the first flow started: the flow is sent at that
    /// time instead of after the previous one ended.
    #[serde(default)]
    start: Option<f64>,
    /// The same, in ns (bundles of podpath before `start`).
    #[serde(default)]
    start_ns: Option<u64>,
    /// Informational: when it started on the machine, in seconds.
    #[serde(default)]
    #[allow(dead_code)]
    t: Option<f64>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BodyDoc {
    length: usize,
    byte: String,
}

/// The largest body a bundle flow may ask for (16 MiB): the request is
/// held in memory whole.
const MAX_BODY: usize = 16 << 20;

fn err(msg: String) -> ScenarioError {
    ScenarioError {
        file: "bundle.json".into(),
        line: 0,
        column: 0,
        key: String::new(),
        message: msg,
    }
}

/// A number of seconds >= 0 in ns.
fn seconds(fi: usize, key: &str, s: f64) -> Result<u64, ScenarioError> {
    if !(s.is_finite() && (0.0..=1e6).contains(&s)) {
        return Err(err(format!(
            "flows[{fi}].{key}: {s} is not a number of seconds from 0 to 1000000"
        )));
    }
    Ok((s * 1e9).round() as u64)
}

/// One `flows[i]` entry: its client, its request (which must go over the
/// `proto` it names), how the client runs and when it starts.
pub(super) fn flow_of(
    fi: usize,
    f: &FlowDoc,
    host_names: &[String],
    warnings: &mut Vec<String>,
) -> Result<FlowSpec, ScenarioError> {
    let from = f.from.as_str();
    let Some(hi) = host_names.iter().position(|x| x == from) else {
        return Err(err(format!("flows[{fi}].from: no host '{from}'")));
    };
    let req = f.request.as_deref().unwrap_or("");
    let want = if req.starts_with("DNS ")
        || req.starts_with("UDP ")
        || req == "UDP"
        || (req.starts_with("RESOLVE ") && !req.contains(" HTTP GET "))
    {
        "udp"
    } else if req.starts_with("PING ") || req.starts_with("PING6 ") || req.starts_with("ICMP ") {
        "icmp"
    } else if req == "SCTP" || req.starts_with("SCTP ") {
        "sctp"
    } else if req.is_empty() {
        f.proto.as_deref().unwrap_or("tcp")
    } else {
        "tcp"
    };
    if let Some(p) = f.proto.as_deref().filter(|p| *p != want) {
        return Err(err(format!(
            "flows[{fi}].proto: '{p}', but request '{req}' is sent over {want}"
        )));
    }
    let id = f.id.clone().unwrap_or_else(|| format!("flow{}", fi + 1));
    let start_ns = match (f.start, f.start_ns) {
        (Some(s), _) => Some(seconds(fi, "start", s)?),
        (None, ns) => ns,
    };
    let dst_s = f.dst.as_deref().unwrap_or("");
    let mut request = flow_request(fi, req, want, dst_s, warnings)?;
    http_extra(fi, f, &mut request)?;
    let client = client_of(fi, f, &request)?;
    Ok(FlowSpec {
        streams: Vec::new(),
        expect: Vec::new(),
        id,
        from: hi,
        request,
        start_ns: start_ns.unwrap_or(0),
        count: 1,
        interval_ns: 0,
        after_previous: start_ns.is_none(),
        client,
    })
}

/// `src`, `src_port_hint`, `spoofed`, `uid`, `timeout_s`: how the client
/// runs; what podpath does not model for this kind of request is refused.
fn client_of(fi: usize, f: &FlowDoc, request: &Request) -> Result<ClientOpts, ScenarioError> {
    let src = match f.src.as_deref() {
        None => None,
        Some(s) => Some(
            s.parse::<Ipv4Addr>()
                .map_err(|_| err(format!("flows[{fi}].src: bad address '{s}'")))?,
        ),
    };
    if let (
        Some(_),
        Request::Udp {
            dst: std::net::IpAddr::V6(d),
            ..
        },
    ) = (src, request)
    {
        return Err(err(format!(
            "flows[{fi}].src: an IPv4 source for a datagram to the IPv6 address {d} (the socket is AF_INET6; a source of its family is not modelled yet)"
        )));
    }
    if f.spoofed {
        if src.is_none() {
            return Err(err(format!(
                "flows[{fi}].spoofed: needs 'src' (the forged source)"
            )));
        }
        if !matches!(
            request,
            Request::Udp { .. }
                | Request::Ping { .. }
                | Request::HttpGet { .. }
                | Request::DnsA { .. }
        ) {
            return Err(err(format!(
                "flows[{fi}].spoofed: a forged source is modelled for UDP datagrams, DNS queries, TCP SYNs and ICMP queries, not for a name resolved then fetched"
            )));
        }
    }
    let timeout_ns = f
        .timeout_s
        .map(|s| seconds(fi, "timeout_s", s))
        .transpose()?;
    let sockets = matches!(
        request,
        Request::HttpGet { .. } | Request::Udp { .. } | Request::DnsA { .. } | Request::Sctp { .. }
    );
    let icmp = matches!(request, Request::Ping { .. });
    // RESOLVE ... HTTP GET: curl -m, the whole operation's deadline
    let curl = matches!(request, Request::Resolve { then: Some(_), .. });
    for (key, given, ok) in [
        ("src", src.is_some(), sockets || icmp),
        ("src_port_hint", f.src_port_hint.is_some(), sockets),
        ("timeout_s", timeout_ns.is_some(), sockets || icmp || curl),
    ] {
        if given && !ok {
            return Err(err(format!(
                "flows[{fi}].{key}: honoured for TCP, UDP, SCTP, DNS and ICMP flows (an ICMP query has no port; timeout_s also for a name resolved then fetched); for this request it is not modelled yet"
            )));
        }
    }
    Ok(ClientOpts {
        src,
        sport: f.src_port_hint,
        spoofed: f.spoofed,
        uid: f.uid,
        timeout_ns,
    })
}

/// `headers` and `body` of an HTTP request.
fn http_extra(fi: usize, f: &FlowDoc, request: &mut Request) -> Result<(), ScenarioError> {
    let Request::HttpGet { extra, .. } = request else {
        if f.headers.is_some() || f.body.is_some() {
            return Err(err(format!(
                "flows[{fi}]: 'headers' and 'body' go with an HTTP request"
            )));
        }
        return Ok(());
    };
    if let Some(h) = &f.headers {
        if let Some(bad) = h.iter().find(|l| !l.contains(':') || l.contains('\n')) {
            return Err(err(format!(
                "flows[{fi}].headers: '{bad}' is not a header line NAME: VALUE"
            )));
        }
        extra.headers = Some(h.clone());
    }
    if let Some(b) = &f.body {
        let byte = match b.byte.as_bytes() {
            [c] => *c,
            _ => {
                return Err(err(format!(
                    "flows[{fi}].body.byte: '{}' is not one byte",
                    b.byte
                )))
            }
        };
        if b.length > MAX_BODY {
            return Err(err(format!(
                "flows[{fi}].body.length: {} is over the {MAX_BODY}-byte ceiling",
                b.length
            )));
        }
        extra.body = vec![byte; b.length];
    }
    Ok(())
}

/// `ADDR:PORT` or `[ADDR6]:PORT` of `dst`.
fn addr_port(fi: usize, dst: &str) -> Result<(std::net::IpAddr, u16), ScenarioError> {
    let (a, p) = dst
        .rsplit_once(':')
        .ok_or_else(|| err(format!("flows[{fi}].dst: '{dst}' is not IP:PORT")))?;
    let addr: std::net::IpAddr = match a.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().map(Into::into),
        None => a.parse::<Ipv4Addr>().map(Into::into),
    }
    .map_err(|_| err(format!("flows[{fi}].dst: bad address '{a}'")))?;
    let port: u16 = p
        .parse()
        .map_err(|_| err(format!("flows[{fi}].dst: bad port '{p}'")))?;
    Ok((addr, port))
}

/// A flow's `request` line with its `dst` (`proto` is what it goes over).
fn flow_request(
    fi: usize,
    req: &str,
    proto: &str,
    dst_s: &str,
    warnings: &mut Vec<String>,
) -> Result<Request, ScenarioError> {
    if let Some(rest) = req.strip_prefix("PING size ") {
        return ping_request(fi, rest, dst_s);
    }
    if let Some(rest) = req.strip_prefix("PING6 size ") {
        return ping6_request(fi, rest, dst_s);
    }
    if let Some(rest) = req.strip_prefix("ICMP ") {
        return icmp_request(fi, rest, dst_s);
    }
    if let Some(rest) = req.strip_prefix("RESOLVE ") {
        return Ok(resolve_request(rest, dst_s));
    }
    let (ip, port) = addr_port(fi, dst_s)?;
    // SCTP and DNS flows are IPv4 (their sockets are modelled so)
    let v4 = |what: &str| {
        match ip {
        std::net::IpAddr::V4(a) => Ok(a),
        std::net::IpAddr::V6(_) => Err(err(format!(
            "flows[{fi}].dst: {what} to an IPv6 address is not modelled yet (TCP, UDP and PING6 are)"
        ))),
    }
    };
    if req == "UDP" || req.starts_with("UDP ") || (req.is_empty() && proto == "udp") {
        let payload = req.strip_prefix("UDP ").unwrap_or("").as_bytes().to_vec();
        return Ok(Request::Udp {
            dst: ip,
            port,
            payload,
        });
    }
    if req == "SCTP" || req.starts_with("SCTP ") || (req.is_empty() && proto == "sctp") {
        // `SCTP`: an association set up and closed; `SCTP TEXT`: the
        // message TEXT and its echo
        let payload = req.strip_prefix("SCTP ").map(|t| t.as_bytes().to_vec());
        return Ok(Request::Sctp {
            dst: v4("SCTP")?,
            port,
            payload,
        });
    }
    if let Some(rest) = req.strip_prefix("DNS ") {
        let (ty, name) = rest.split_once(' ').unwrap_or((rest, ""));
        let Some(&(_, qtype)) = crate::wire::dns::QTYPES.iter().find(|(n, _)| *n == ty) else {
            return Err(err(format!(
                "flows[{fi}].request: DNS {ty} queries are not modelled yet (A, AAAA, PTR, SRV, TXT and CNAME are)"
            )));
        };
        let name = name.trim().trim_end_matches('.');
        // `DNS PTR 10.244.0.5`: the reverse name, as `dig -x` asks it
        let name = match (qtype, name.parse::<Ipv4Addr>()) {
            (crate::wire::dns::TYPE_PTR, Ok(a)) => crate::app::dns::reverse_name(a),
            _ => name.to_string(),
        };
        return Ok(Request::DnsA {
            server: ip,
            port,
            name,
            qtype,
        });
    }
    if req.is_empty() {
        // a plain connect: the handshake, then close, no payload
        return Ok(Request::HttpGet {
            dst: ip,
            port,
            host_header: dst_s.to_string(),
            path: "/".into(),
            user: None,
            extra: RequestExtra {
                connect_only: true,
                ..Default::default()
            },
        });
    }
    let Some(rest) = req.strip_prefix("HTTP ") else {
        warnings.push(format!(
            "bundle.json: flows[{fi}]: request '{req}' is not modelled yet; sent as HTTP GET /"
        ));
        return Ok(Request::HttpGet {
            dst: ip,
            port,
            host_header: dst_s.to_string(),
            path: "/".into(),
            user: None,
            extra: RequestExtra::default(),
        });
    };
    let (method, rest) = rest.split_once(' ').unwrap_or((rest, "/"));
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(err(format!(
            "flows[{fi}].request: '{method}' is not an HTTP method (GET, POST, ...)"
        )));
    }
    let (path, hh) = rest.split_once(" Host: ").unwrap_or((rest, dst_s));
    Ok(Request::HttpGet {
        dst: ip,
        port,
        host_header: hh.to_string(),
        path: path.to_string(),
        user: None,
        extra: RequestExtra {
            method: (method != "GET").then(|| method.to_string()),
            ..Default::default()
        },
    })
}

/// `PING size N df true|false` to `dst` ADDR:0.
fn ping_request(fi: usize, rest: &str, dst_s: &str) -> Result<Request, ScenarioError> {
    let mut w = rest.split_whitespace();
    let size = w.next().and_then(|n| n.parse().ok()).unwrap_or(56);
    let df = w.nth(1) != Some("false");
    let dst = icmp_dst(fi, dst_s)?;
    Ok(Request::Ping {
        dst,
        size,
        df,
        ident: None,
        timestamp: false,
    })
}

/// `PING6 size N count C [hlim H]` to `dst` (an IPv6 address).
fn ping6_request(fi: usize, rest: &str, dst_s: &str) -> Result<Request, ScenarioError> {
    let mut w = rest.split_whitespace();
    let size = w.next().and_then(|n| n.parse().ok()).unwrap_or(56);
    let bad = || {
        err(format!(
            "flows[{fi}].request: expected 'PING6 size N count C [hlim H]'"
        ))
    };
    let count = match (w.next(), w.next()) {
        (Some("count"), Some(c)) => c.parse().ok().filter(|c| *c > 0),
        (None, _) => Some(1),
        _ => None,
    }
    .ok_or_else(bad)?;
    let hlim = match (w.next(), w.next()) {
        (Some("hlim"), Some(h)) => Some(h.parse().ok().filter(|h| *h > 0).ok_or_else(bad)?),
        (None, _) => None,
        _ => return Err(bad()),
    };
    let dst = dst_s
        .trim_start_matches('[')
        .trim_end_matches("]:0")
        .trim_end_matches(']');
    let dst = dst.parse().map_err(|_| {
        err(format!(
            "flows[{fi}].dst: '{dst_s}' is not an IPv6 address (a PING6 flow's dst)"
        ))
    })?;
    Ok(Request::Ping6 {
        dst,
        size,
        count,
        hlim,
    })
}

/// An ICMP flow's `dst`: `ADDR` (or podpath's older `ADDR:0`).
fn icmp_dst(fi: usize, dst_s: &str) -> Result<Ipv4Addr, ScenarioError> {
    let a = dst_s.strip_suffix(":0").unwrap_or(dst_s);
    a.parse()
        .map_err(|_| err(format!("flows[{fi}].dst: bad address '{dst_s}'")))
}

/// `ICMP echo id=0x.. seq=N`: one echo request with that identifier and
/// sequence number (56 data bytes, DF set, as ping sends); `ICMP timestamp
/// id=0x.. seq=N`: one timestamp request (RFC 792 type 13, as `hping3
/// --icmp-ts` or `nping --icmp-type tstamp` send it), which the kernel
/// answers (net/ipv4/icmp.c icmp_timestamp).
fn icmp_request(fi: usize, rest: &str, dst_s: &str) -> Result<Request, ScenarioError> {
    let mut w = rest.split_whitespace();
    let kind = w.next().unwrap_or("");
    if kind != "echo" && kind != "timestamp" {
        return Err(err(format!(
            "flows[{fi}].request: 'ICMP {kind}': expected ICMP echo id=0x.. seq=N or ICMP timestamp id=0x.. seq=N"
        )));
    }
    let (mut id, mut seq) = (None, None);
    for kv in w {
        match kv.split_once('=') {
            Some(("id", v)) => {
                let h = v.strip_prefix("0x").unwrap_or(v);
                id = Some(
                    u16::from_str_radix(h, if v.starts_with("0x") { 16 } else { 10 })
                        .map_err(|_| err(format!("flows[{fi}].request: bad id '{v}'")))?,
                );
            }
            Some(("seq", v)) => {
                seq = Some(
                    v.parse::<u16>()
                        .map_err(|_| err(format!("flows[{fi}].request: bad seq '{v}'")))?,
                );
            }
            _ => {
                return Err(err(format!(
                    "flows[{fi}].request: '{kv}': expected id=0x.. or seq=N"
                )))
            }
        }
    }
    let (Some(id), Some(seq)) = (id, seq) else {
        return Err(err(format!(
            "flows[{fi}].request: ICMP {kind} needs id=0x.. and seq=N"
        )));
    };
    let timestamp = kind == "timestamp";
    Ok(Request::Ping {
        dst: icmp_dst(fi, dst_s)?,
        // a timestamp request carries its three timestamps (12 bytes)
        size: if timestamp { 12 } else { 56 },
        df: true,
        ident: Some((id, seq)),
        timestamp,
    })
}

/// `RESOLVE name` or `RESOLVE [-4|-6] name HTTP GET path Host: h` (`dst`
/// gives the HTTP port as `:port`, 80 when absent; `-6`: curl -6, the
/// lookup asks AAAA and the GET goes over IPv6; `-4`: curl -4, A only;
/// neither: getaddrinfo AF_UNSPEC, A and AAAA, curl's Happy Eyeballs).
fn resolve_request(rest: &str, dst_s: &str) -> Request {
    let r = rest.trim_start();
    let (family, rest) = if let Some(r) = r.strip_prefix("-6 ") {
        (crate::app::IpResolve::V6, r)
    } else if let Some(r) = r.strip_prefix("-4 ") {
        (crate::app::IpResolve::V4, r)
    } else {
        (crate::app::IpResolve::Whatever, rest)
    };
    let (name, http) = match rest.split_once(" HTTP GET ") {
        Some((n, h)) => (n.trim(), Some(h)),
        None => (rest.trim(), None),
    };
    let then = match http {
        Some(h) => {
            let (path, hh) = h.split_once(" Host: ").unwrap_or((h, name));
            let port = dst_s
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok())
                .unwrap_or(80);
            Some(crate::app::ThenHttp {
                port,
                host_header: hh.to_string(),
                path: path.to_string(),
                user: None,
                extra: RequestExtra::default(),
                family,
            })
        }
        None => None,
    };
    Request::Resolve {
        name: name.to_string(),
        then,
    }
}
