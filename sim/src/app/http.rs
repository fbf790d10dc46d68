//! HTTP/1.1 over TCP: a client that sends one request per connection and
//! closes after the response, and a server answering from a route table (as
//! the seed's Gin service answers `/health` with JSON).

use std::collections::BTreeMap;

use super::{AppAction, AppEvent};
use crate::net::tcp::ConnKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponseSpec {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

#[derive(Clone, Debug)]
pub struct HttpServer {
    pub name: String,
    pub port: u16,
    pub routes: BTreeMap<String, HttpResponseSpec>,
    /// The exact bytes answered to every request (a bundle's `response`),
    /// after which the server closes the connection; `routes` are unused.
    pub raw: Option<Vec<u8>>,
    bufs: BTreeMap<ConnKey, Vec<u8>>,
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// An HTTP/1.x message head (RFC 9112 2.1): the start line and the header
/// fields, parsed once for every program that speaks HTTP (curl, the
/// servers, HAProxy, ingress-nginx, Envoy) by `httparse`, the parser hyper
/// uses. In a head httparse refuses (a malformed field line) every
/// `name: value` line still counts, as the tolerant readers before it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The request line or status line.
    pub start: String,
    /// The header fields in order, names as sent.
    pub fields: Vec<(String, String)>,
    /// Bytes of the head, the blank line included.
    pub len: usize,
}

impl Head {
    /// The head at the start of `buf`, once it ended (`\r\n\r\n`).
    pub fn parse(buf: &[u8]) -> Option<Head> {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let text = &buf[..end + 4];
        let line_end = text.windows(2).position(|w| w == b"\r\n").unwrap_or(end);
        let start = String::from_utf8_lossy(&text[..line_end]).to_string();
        let mut fields = Vec::new();
        let mut headers = [httparse::EMPTY_HEADER; 100];
        // the field lines only (httparse's own start-line grammar is
        // stricter than the programs podpath models)
        if let Ok(httparse::Status::Complete((_, hs))) =
            httparse::parse_headers(&text[line_end + 2..], &mut headers)
        {
            for h in hs {
                fields.push((
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).trim().to_string(),
                ));
            }
        } else {
            // tolerant, as the readers before it: every `name: value`
            // line, lines without a colon skipped
            for l in String::from_utf8_lossy(&text[line_end + 2..end]).split("\r\n") {
                if let Some((k, v)) = l.split_once(':') {
                    fields.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
        }
        Some(Head {
            start,
            fields,
            len: end + 4,
        })
    }

    /// The first field of that name (names compare without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Content-Length`, 0 when absent or not a number.
    pub fn content_length(&self) -> usize {
        self.header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    }

    /// `Transfer-Encoding: chunked` (RFC 9112 7.1).
    pub fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    /// The head as text, without the blank line that ends it.
    pub fn text(buf: &[u8], h: &Head) -> String {
        String::from_utf8_lossy(&buf[..h.len - 4]).to_string()
    }
}

/// The length of the whole message at the start of `buf` (head and
/// Content-Length bytes of body) once it arrived.
pub fn message_len(buf: &[u8]) -> Option<usize> {
    let h = Head::parse(buf)?;
    let len = h.len + h.content_length();
    (buf.len() >= len).then_some(len)
}

/// Whether a response in `buf` has neither Content-Length nor chunking, so
/// its body runs to the connection's end (RFC 9112 6.3, rule 8).
fn to_eof(buf: &[u8]) -> bool {
    Head::parse(buf).is_some_and(|h| {
        let status = Head::text(buf, &h);
        let code = status.split_whitespace().nth(1).unwrap_or("");
        !h.chunked()
            && h.header("content-length").is_none()
            && !matches!(code, "204" | "304")
            && !code.starts_with('1')
    })
}

/// A complete HTTP message in `buf`: (head, body) once the headers ended and
/// the body arrived: Content-Length bytes, or every chunk up to the last
/// (`Transfer-Encoding: chunked`, RFC 9112 7.1), decoded.
fn complete(buf: &[u8]) -> Option<(String, Vec<u8>)> {
    let h = Head::parse(buf)?;
    let head = Head::text(buf, &h);
    let body = &buf[h.len..];
    if h.chunked() {
        return dechunk(body).map(|b| (head, b));
    }
    let len = h.content_length();
    (body.len() >= len).then(|| (head, body[..len].to_vec()))
}

/// A whole chunked body, decoded; None until the last chunk arrived.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            // trailer section: ends with an empty line
            return b.windows(2).any(|w| w == b"\r\n").then_some(out);
        }
        if b.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

impl HttpServer {
    pub fn new(name: &str, port: u16, routes: BTreeMap<String, HttpResponseSpec>) -> HttpServer {
        HttpServer {
            name: name.to_string(),
            port,
            routes,
            raw: None,
            bufs: BTreeMap::new(),
        }
    }

    pub fn on_event(&mut self, ev: &AppEvent) -> Vec<AppAction> {
        match ev {
            AppEvent::Data { key, data } => {
                let buf = self.bufs.entry(*key).or_default();
                buf.extend_from_slice(data);
                let Some((head, _body)) = complete(buf) else {
                    return vec![];
                };
                self.bufs.remove(key);
                let line = head.lines().next().unwrap_or("").to_string();
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("");
                let target = parts.next().unwrap_or("/");
                let path = target.split('?').next().unwrap_or("/");
                if let Some(raw) = &self.raw {
                    return vec![
                        AppAction::Served(super::FlowOf::Conn(*key)),
                        AppAction::Send(
                            *key,
                            raw.clone(),
                            format!("{}: {method} {path} -> its {} bytes", self.name, raw.len()),
                        ),
                        AppAction::Close(*key),
                    ];
                }
                let spec = self.routes.get(path).cloned().unwrap_or(HttpResponseSpec {
                    status: 404,
                    content_type: "text/plain".into(),
                    body: "404 page not found".into(),
                });
                let resp = format!(
                    "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{}",
                    spec.status,
                    reason(spec.status),
                    spec.content_type,
                    spec.body.len(),
                    spec.body
                );
                vec![
                    AppAction::Served(super::FlowOf::Conn(*key)),
                    AppAction::Send(
                        *key,
                        resp.into_bytes(),
                        format!(
                            "{}: {method} {path} -> {} {}",
                            self.name,
                            spec.status,
                            reason(spec.status)
                        ),
                    ),
                ]
            }
            AppEvent::Eof { key } => {
                self.bufs.remove(key);
                vec![AppAction::Close(*key)]
            }
            _ => vec![],
        }
    }
}

/// What a client's request carries beyond curl's `GET PATH` (a bundle
/// flow's `request` method, `headers` and `body`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestExtra {
    /// The method (`GET` when not given).
    pub method: Option<String>,
    /// The header lines, in the order sent, instead of curl's own.
    pub headers: Option<Vec<String>>,
    /// The body, sent with the head in one write.
    pub body: Vec<u8>,
    /// No request at all: connect, then close once established (a bundle
    /// flow without a request: `nc -z`, a health check's TCP connect).
    pub connect_only: bool,
}

/// The token of a client's give-up timer (`timeout_s`).
pub const GIVE_UP: u64 = 1 << 40;

/// The token of the Happy Eyeballs timer: the second family's start.
pub const HAPPY_EYEBALLS: u64 = (1 << 40) + 1;

/// curl's `CURL_HET_DEFAULT`: the second family starts 200 ms after the
/// first unless the first has failed before.
pub const HAPPY_EYEBALLS_NS: u64 = 200_000_000;

/// curl 8.5's Happy Eyeballs (lib/connect.c, the `cf_he` filter with two
/// `eyeballer`s): the addresses getaddrinfo returned split by family, the
/// family of the first address tried first; the other family starts
/// [`HAPPY_EYEBALLS_NS`] later, or at once when every address of the first
/// failed (`baller->primary->is_done`). Within a family the addresses are
/// tried one after another, the next when one fails. The first attempt to
/// connect wins; the others are closed (in SYN-SENT close() sends nothing,
/// and a late SYN-ACK meets no socket: the kernel answers it with a RST).
///
/// Simplification (named in `podpath explain`): curl gives each attempt
/// of a family with more addresses left half the remaining connect
/// timeout (`USETIME`); podpath lets each run until TCP gives up, which
/// only differs with more than one address per family and a connect
/// timeout under Linux's SYN retries (127 s).
#[derive(Clone, Debug, Default)]
pub struct Eyeballs {
    /// `[first family, the other]`, each in getaddrinfo's order.
    pub fams: [Vec<std::net::IpAddr>; 2],
    /// The next address to try, per family.
    pub next: [usize; 2],
    /// Whether the family's eyeballer started.
    pub started: [bool; 2],
    /// Attempts under way: connection, address, family.
    pub attempts: Vec<(ConnKey, std::net::IpAddr, usize)>,
}

impl Eyeballs {
    /// getaddrinfo's list, split by family (the first address's first).
    pub fn new(addrs: &[std::net::IpAddr]) -> Eyeballs {
        let first = addrs.first().map(|a| a.is_ipv6());
        let mut e = Eyeballs::default();
        for a in addrs {
            let f = usize::from(Some(a.is_ipv6()) != first);
            e.fams[f].push(*a);
        }
        e
    }

    /// The next address of family `f` to try, taken.
    pub fn take(&mut self, f: usize) -> Option<std::net::IpAddr> {
        self.started[f] = true;
        let a = self.fams[f].get(self.next[f]).copied();
        if a.is_some() {
            self.next[f] += 1;
        }
        a
    }

    /// Whether family `f` has an address left to try.
    pub fn more(&self, f: usize) -> bool {
        self.next[f] < self.fams[f].len()
    }

    /// The family to start once an attempt of family `f` failed: the same
    /// one while it has addresses left, else the other one when it has
    /// not started yet.
    pub fn after_failure(&self, f: usize) -> Option<usize> {
        if self.more(f) {
            return Some(f);
        }
        let o = 1 - f;
        (!self.started[o] && self.more(o)).then_some(o)
    }
}

/// One request on one connection, like `curl http://host:port/path`.
#[derive(Clone, Debug)]
pub struct HttpClient {
    pub flow: u32,
    pub flow_id: String,
    pub dst: std::net::IpAddr,
    pub port: u16,
    pub host_header: String,
    pub path: String,
    /// `user:password` of the URL
    pub user: Option<String>,
    pub extra: RequestExtra,
    /// The connection, once connect() was called (the winning one, with
    /// several attempts).
    pub conn: Option<ConnKey>,
    /// The addresses to try, with the attempts under way.
    pub he: Eyeballs,
    pub started_ns: u64,
    buf: Vec<u8>,
    done: bool,
}

impl HttpClient {
    pub fn new(
        flow: u32,
        flow_id: &str,
        dst: std::net::IpAddr,
        req: &super::ThenHttp,
        now: u64,
    ) -> HttpClient {
        HttpClient {
            flow,
            flow_id: flow_id.to_string(),
            dst,
            port: req.port,
            host_header: req.host_header.clone(),
            path: req.path.clone(),
            user: req.user.clone(),
            extra: req.extra.clone(),
            conn: None,
            he: Eyeballs::new(&[dst]),
            started_ns: now,
            buf: Vec::new(),
            done: false,
        }
    }

    /// curl's request: Host, then Authorization (credentials of the URL,
    /// `-u`), User-Agent, Accept (with a body, Content-Length); or the
    /// method and header lines the flow gives, exactly; then the body.
    pub fn request_bytes(&self) -> Vec<u8> {
        let method = self.extra.method.as_deref().unwrap_or("GET");
        if let Some(lines) = &self.extra.headers {
            let mut out = format!("{method} {} HTTP/1.1\r\n", self.path);
            for l in lines {
                out.push_str(l);
                out.push_str("\r\n");
            }
            out.push_str("\r\n");
            let mut b = out.into_bytes();
            b.extend_from_slice(&self.extra.body);
            return b;
        }
        let auth = self
            .user
            .as_ref()
            .map(|u| {
                format!(
                    "Authorization: Basic {}\r\n",
                    data_encoding::BASE64.encode(u.as_bytes())
                )
            })
            .unwrap_or_default();
        let length = if self.extra.body.is_empty() {
            String::new()
        } else {
            format!("Content-Length: {}\r\n", self.extra.body.len())
        };
        let mut b = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\n{auth}User-Agent: curl/8.5.0\r\nAccept: */*\r\n{length}\r\n",
            self.path, self.host_header
        )
        .into_bytes();
        b.extend_from_slice(&self.extra.body);
        b
    }

    fn outcome(&mut self, d: crate::trace::Disposition, text: String) -> AppAction {
        self.done = true;
        AppAction::Outcome(self.flow, d, text)
    }

    /// The outcome of a whole response: its status line and body on one
    /// line (cut after 200 characters), then the connection closed.
    fn answer(&mut self, key: ConnKey, head: String, body: Vec<u8>, now: u64) -> Vec<AppAction> {
        let ms = |n: u64| format!("{:.3} ms", (n.saturating_sub(self.started_ns)) as f64 / 1e6);
        let status = head.lines().next().unwrap_or("").to_string();
        // the body on one line, cut after 200 characters
        let b = String::from_utf8_lossy(&body);
        let mut one: String = b.split_whitespace().collect::<Vec<_>>().join(" ");
        if one.chars().count() > 200 {
            one = one.chars().take(200).collect::<String>() + "…";
        }
        let text = format!(
            "{} in {}: {}",
            status
                .trim_start_matches("HTTP/1.1 ")
                .trim_start_matches("HTTP/1.0 ")
                .trim(),
            ms(now),
            one
        );
        let code = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok());
        let d = crate::trace::Disposition::Answered {
            http_status: code,
            dns_rcode: None,
        };
        let mut full = String::from_utf8_lossy(&body).to_string();
        if full.len() > 65536 {
            let mut cut = 65536;
            while !full.is_char_boundary(cut) {
                cut -= 1;
            }
            full.truncate(cut);
        }
        vec![
            self.outcome(d, format!("HTTP {text}")),
            AppAction::ResponseBody {
                flow: self.flow,
                body: full,
            },
            AppAction::Close(key),
        ]
    }

    /// Happy Eyeballs' part of an event: the second family's timer, the
    /// winner's connection (the other attempts closed), an attempt's
    /// failure (the next address, or the other family). None when the
    /// event is the request's to handle.
    fn eyeballs(&mut self, ev: &AppEvent) -> Option<Vec<AppAction>> {
        match ev {
            AppEvent::Timer { token } if *token == HAPPY_EYEBALLS => {
                let go =
                    !self.done && self.conn.is_none() && !self.he.started[1] && self.he.more(1);
                Some(if go {
                    vec![AppAction::ConnectNext {
                        family: 1,
                        note: "curl: Happy Eyeballs: no connection after 200 ms, the other family starts".into(),
                    }]
                } else {
                    vec![]
                })
            }
            AppEvent::Connected { key } if self.conn.is_none() => {
                let mut out = Vec::new();
                for (k, a, _) in std::mem::take(&mut self.he.attempts) {
                    if k == *key {
                        self.dst = a;
                    } else {
                        out.push(AppAction::GiveUp(k));
                    }
                }
                self.conn = Some(*key);
                Some(out)
            }
            AppEvent::Refused { key, .. }
            | AppEvent::TimedOut { key, .. }
            | AppEvent::Reset { key }
                if self.conn.is_none() && !self.done =>
            {
                let i = self.he.attempts.iter().position(|(k, _, _)| k == key)?;
                let (_, a, f) = self.he.attempts.remove(i);
                self.dst = a;
                if let Some(n) = self.he.after_failure(f) {
                    let how = match ev {
                        AppEvent::Refused { why, .. } => why.clone(),
                        AppEvent::TimedOut { .. } => "timed out".into(),
                        _ => "reset".into(),
                    };
                    let next = if n == f {
                        "the next address"
                    } else {
                        "the other family at once (its eyeballer waited on this one to fail)"
                    };
                    return Some(vec![AppAction::ConnectNext {
                        family: n,
                        note: format!(
                            "curl: {} failed ({how}): {next}",
                            crate::wire::endpoint(a, self.port)
                        ),
                    }]);
                }
                // the last attempt's failure is the request's outcome
                (!self.he.attempts.is_empty()).then(Vec::new)
            }
            _ => None,
        }
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        let mut first = Vec::new();
        if let Some(out) = self.eyeballs(ev) {
            if !matches!(ev, AppEvent::Connected { .. }) {
                return out;
            }
            first = out;
        }
        let mut out = self.on_request_event(ev, now);
        first.append(&mut out);
        first
    }

    /// The request's part of an event: once connected, the request and
    /// its answer; the outcome of a failure.
    fn on_request_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        let ms = |n: u64| format!("{:.3} ms", (n.saturating_sub(self.started_ns)) as f64 / 1e6);
        match ev {
            AppEvent::Connected { key } if self.extra.connect_only => {
                let text = format!(
                    "connected to {} in {} (handshake done; closed without a payload)",
                    crate::wire::endpoint(self.dst, self.port),
                    ms(now)
                );
                vec![
                    self.outcome(
                        crate::trace::Disposition::Answered {
                            http_status: None,
                            dns_rcode: None,
                        },
                        text,
                    ),
                    AppAction::Close(*key),
                ]
            }
            AppEvent::Connected { key } => vec![AppAction::Send(
                *key,
                self.request_bytes(),
                format!(
                    "curl: {} {} Host: {}",
                    self.extra.method.as_deref().unwrap_or("GET"),
                    self.path,
                    self.host_header
                ),
            )],
            // `curl -m`: the whole operation's time is up
            AppEvent::Timer { token } if *token == GIVE_UP && !self.done => {
                let mut out = vec![self.outcome(
                    crate::trace::Disposition::TimedOut,
                    format!(
                        "curl: (28) Operation timed out after {} with {} bytes received",
                        ms(now),
                        self.buf.len()
                    ),
                )];
                if let Some(k) = self.conn {
                    out.push(AppAction::GiveUp(k));
                }
                out.extend(
                    std::mem::take(&mut self.he.attempts)
                        .into_iter()
                        .filter(|(k, _, _)| Some(*k) != self.conn)
                        .map(|(k, _, _)| AppAction::GiveUp(k)),
                );
                out
            }
            AppEvent::Data { key, data } if !self.done => {
                self.buf.extend_from_slice(data);
                if to_eof(&self.buf) {
                    return vec![];
                }
                let Some((head, body)) = complete(&self.buf) else {
                    return vec![];
                };
                self.answer(*key, head, body, now)
            }
            // a response delimited by the connection's end
            AppEvent::Eof { key } if !self.done && Head::parse(&self.buf).is_some() => {
                let h = Head::parse(&self.buf).expect("parsed");
                let head = Head::text(&self.buf, &h);
                let body = self.buf[h.len..].to_vec();
                self.answer(*key, head, body, now)
            }
            AppEvent::Refused { why, .. } if !self.done => {
                vec![self.outcome(
                    crate::trace::Disposition::Rejected { with: why.clone() },
                    format!(
                        "curl: ({}) failed to connect to {}: {why} after {}",
                        7,
                        crate::wire::endpoint(self.dst, self.port),
                        ms(now)
                    ),
                )]
            }
            AppEvent::TimedOut { tries, data, .. } if !self.done => {
                vec![self.outcome(crate::trace::Disposition::TimedOut, if *data {
                    format!(
                        "curl: (56) recv failure from {} after {}: connection timed out ({} retransmissions unanswered)",
                        crate::wire::endpoint(self.dst, self.port),
                        ms(now),
                        tries - 1
                    )
                } else {
                    format!(
                        "curl: (28) connection to {} timed out after {} ({} SYNs unanswered)",
                        crate::wire::endpoint(self.dst, self.port),
                        ms(now),
                        tries
                    )
                })]
            }
            AppEvent::Reset { .. } if !self.done => vec![self.outcome(
                crate::trace::Disposition::Reset,
                format!("curl: (56) connection reset by peer after {}", ms(now)),
            )],
            AppEvent::Eof { key } => vec![AppAction::Close(*key)],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn he_client() -> (HttpClient, ConnKey, ConnKey) {
        let v6: std::net::IpAddr = "fd00:10:96::a".parse().unwrap();
        let v4: std::net::IpAddr = "10.96.0.10".parse().unwrap();
        let then = super::super::ThenHttp {
            port: 80,
            host_header: "web".into(),
            path: "/".into(),
            user: None,
            extra: RequestExtra::default(),
            family: super::super::IpResolve::Whatever,
        };
        let mut c = HttpClient::new(1, "f", v6, &then, 0);
        c.he = Eyeballs::new(&[v6, v4]);
        // the runtime's first attempt: the IPv6 address
        assert_eq!(c.he.take(0), Some(v6));
        let k6 = ("fd00:10:244::9".parse().unwrap(), 40000, v6, 80);
        c.he.attempts.push((k6, v6, 0));
        let k4 = ("10.244.0.9".parse().unwrap(), 40001, v4, 80);
        (c, k6, k4)
    }

    #[test]
    fn happy_eyeballs_starts_ipv4_after_200_ms_and_the_first_to_connect_wins() {
        let (mut c, k6, k4) = he_client();
        assert_eq!(
            c.he.fams[1],
            vec!["10.96.0.10".parse::<std::net::IpAddr>().unwrap()]
        );
        let out = c.on_event(
            &AppEvent::Timer {
                token: HAPPY_EYEBALLS,
            },
            200_000_000,
        );
        assert!(
            matches!(out[..], [AppAction::ConnectNext { family: 1, .. }]),
            "{out:?}"
        );
        assert_eq!(c.he.take(1), Some("10.96.0.10".parse().unwrap()));
        c.he.attempts.push((k4, k4.2, 1));
        // IPv4 connects first: the IPv6 attempt is given up (close() in
        // SYN-SENT), the request goes on the IPv4 connection
        let out = c.on_event(&AppEvent::Connected { key: k4 }, 201_000_000);
        assert_eq!(out[0], AppAction::GiveUp(k6));
        assert!(
            matches!(&out[1], AppAction::Send(k, _, _) if *k == k4),
            "{out:?}"
        );
        assert_eq!(c.dst, k4.2);
        assert_eq!(c.conn, Some(k4));
        // a late timer does nothing
        assert!(c
            .on_event(
                &AppEvent::Timer {
                    token: HAPPY_EYEBALLS
                },
                0
            )
            .is_empty());
    }

    #[test]
    fn happy_eyeballs_starts_ipv4_at_once_when_ipv6_fails() {
        let (mut c, k6, _) = he_client();
        let out = c.on_event(
            &AppEvent::Refused {
                key: k6,
                why: "ICMPv6 unreachable port (ECONNREFUSED)".into(),
            },
            1_000_000,
        );
        assert!(
            matches!(out[..], [AppAction::ConnectNext { family: 1, .. }]),
            "{out:?}"
        );
        // no outcome yet: the flow is not over
        assert!(!out.iter().any(|a| matches!(a, AppAction::Outcome(..))));
        // the timer then finds IPv4 started
        c.he.take(1);
        assert!(c
            .on_event(
                &AppEvent::Timer {
                    token: HAPPY_EYEBALLS
                },
                0
            )
            .is_empty());
    }

    #[test]
    fn the_last_failed_attempt_is_the_flows_outcome() {
        let (mut c, k6, k4) = he_client();
        c.he.take(1);
        c.he.attempts.push((k4, k4.2, 1));
        let refused = |k| AppEvent::Refused {
            key: k,
            why: "RST".into(),
        };
        // one of two failing: wait for the other
        assert!(c.on_event(&refused(k6), 1).is_empty());
        let out = c.on_event(&refused(k4), 2);
        assert!(
            matches!(&out[..], [AppAction::Outcome(_, crate::trace::Disposition::Rejected { .. }, t)] if t.contains("10.96.0.10:80")),
            "{out:?}"
        );
    }

    #[test]
    fn a_head_parses_once_it_ended() {
        let msg = b"GET /api HTTP/1.1\r\nHost: api.example.com\r\ncontent-LENGTH: 3\r\n\r\nabcdef";
        assert_eq!(Head::parse(&msg[..20]), None);
        let h = Head::parse(msg).expect("head");
        assert_eq!(h.start, "GET /api HTTP/1.1");
        assert_eq!(h.header("host"), Some("api.example.com"));
        assert_eq!(h.content_length(), 3);
        assert_eq!(h.len, msg.len() - 6);
        // the message is the head and three bytes of body
        assert_eq!(message_len(msg), Some(msg.len() - 3));
        assert_eq!(message_len(&msg[..msg.len() - 4]), None);
    }

    #[test]
    fn chunked_bodies_and_bad_field_lines() {
        let msg = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(complete(msg).map(|(_, b)| b), Some(b"abc".to_vec()));
        // a line httparse refuses: it is skipped, the others kept
        let h = Head::parse(b"HTTP/1.1 200 OK\r\nA: 1\r\nbad line\r\nB: 2\r\n\r\n").expect("head");
        assert_eq!(h.header("b"), Some("2"));
        assert_eq!(h.fields.len(), 2);
    }
}
