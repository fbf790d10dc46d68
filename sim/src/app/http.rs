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
    /// The connection, once connect() was called.
    pub conn: Option<ConnKey>,
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

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
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
