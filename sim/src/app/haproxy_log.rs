//! HAProxy's traffic log: `log-format` strings compiled as
//! `parse_logformat_string()` compiles them, and the line
//! `sess_build_logline()` builds at the end of a stream (HAProxy 2.6.0,
//! src/log.c). `option tcplog` and `option httplog` are the built-in
//! formats `default_tcp_log_format` and `default_http_log_format`.
//!
//! Formats are compiled with `LOG_OPT_MANDATORY|LOG_OPT_MERGE_SPACES`, as
//! src/cfgparse.c does: an absent string prints `-`, runs of spaces are one
//! separator, and a field that prints nothing (`%hr` without captures)
//! swallows the separator after it.
//!
//! Simplifications (in `podpath explain`): sample expressions `%[...]`,
//! the `+X` (hex) and `+E` (escape) modifiers are refused as not modelled;
//! no header captures (`%hr`, `%hs` print nothing, as HAProxy without
//! `capture`); no TLS (`%sslc`/`%sslv` print `-`); local time is UTC.

/// `option tcplog` (src/log.c `default_tcp_log_format`).
pub const TCP_LOG_FORMAT: &str =
    "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";
/// `option httplog` (src/log.c `default_http_log_format`).
pub const HTTP_LOG_FORMAT: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
/// `option httplog clf` (src/log.c `clf_http_log_format`).
pub const CLF_LOG_FORMAT: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";

/// Where and how a frontend logs its traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCfg {
    /// the `log` targets that take info-level messages, as written
    /// (`127.0.0.1 local0`)
    pub targets: Vec<String>,
    /// the compiled format; None (no `option tcplog`/`httplog`, no
    /// `log-format`): HAProxy logs `Connect from ...` at accept instead
    pub format: Option<LogFormat>,
    /// `option dontlognull`: no line for a connection that sent nothing
    pub dontlognull: bool,
}

/// A variable of a log-format string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    B,
    CC,
    CS,
    H,
    ID,
    ST,
    T,
    Ta,
    Tc,
    Th,
    Ti,
    Tl,
    Tq,
    Tr,
    TR,
    Td,
    Ts,
    Tt,
    Tu,
    Tw,
    U,
    Ac,
    Be,
    Bc,
    Bi,
    Bp,
    Bq,
    Ci,
    Cp,
    Fe,
    Fc,
    Fi,
    Fp,
    Ft,
    Hr,
    Hrl,
    Hs,
    Hsl,
    HM,
    HP,
    HPO,
    HQ,
    HU,
    HV,
    Lc,
    Ms,
    Pid,
    R,
    Rc,
    Rt,
    Srv,
    Sc,
    Si,
    Sp,
    Sq,
    Sslc,
    Sslv,
    Tdate,
    TrDate,
    Trg,
    Trl,
    TermState,
    TermStateCk,
}

/// src/log.c `logformat_keywords[]`: name, variable, HTTP mode only.
const KEYWORDS: &[(&str, Var, bool)] = &[
    ("B", Var::B, false),
    ("CC", Var::CC, true),
    ("CS", Var::CS, true),
    ("H", Var::H, false),
    ("ID", Var::ID, false),
    ("ST", Var::ST, false),
    ("T", Var::T, false),
    ("Ta", Var::Ta, true),
    ("Tc", Var::Tc, false),
    ("Th", Var::Th, false),
    ("Ti", Var::Ti, true),
    ("Tl", Var::Tl, false),
    ("Tq", Var::Tq, true),
    ("Tr", Var::Tr, true),
    ("TR", Var::TR, true),
    ("Td", Var::Td, false),
    ("Ts", Var::Ts, false),
    ("Tt", Var::Tt, false),
    ("Tu", Var::Tu, false),
    ("Tw", Var::Tw, false),
    ("U", Var::U, false),
    ("ac", Var::Ac, false),
    ("b", Var::Be, false),
    ("bc", Var::Bc, false),
    ("bi", Var::Bi, false),
    ("bp", Var::Bp, false),
    ("bq", Var::Bq, false),
    ("ci", Var::Ci, false),
    ("cp", Var::Cp, false),
    ("f", Var::Fe, false),
    ("fc", Var::Fc, false),
    ("fi", Var::Fi, false),
    ("fp", Var::Fp, false),
    ("ft", Var::Ft, false),
    ("hr", Var::Hr, false),
    ("hrl", Var::Hrl, false),
    ("hs", Var::Hs, false),
    ("hsl", Var::Hsl, false),
    ("HM", Var::HM, true),
    ("HP", Var::HP, true),
    ("HPO", Var::HPO, true),
    ("HQ", Var::HQ, true),
    ("HU", Var::HU, true),
    ("HV", Var::HV, true),
    ("lc", Var::Lc, false),
    ("ms", Var::Ms, false),
    ("pid", Var::Pid, false),
    ("r", Var::R, true),
    ("rc", Var::Rc, false),
    ("rt", Var::Rt, false),
    ("s", Var::Srv, false),
    ("sc", Var::Sc, false),
    ("si", Var::Si, false),
    ("sp", Var::Sp, false),
    ("sq", Var::Sq, false),
    ("sslc", Var::Sslc, false),
    ("sslv", Var::Sslv, false),
    ("t", Var::Tdate, false),
    ("tr", Var::TrDate, true),
    ("trg", Var::Trg, true),
    ("trl", Var::Trl, true),
    ("ts", Var::TermState, false),
    ("tsc", Var::TermStateCk, false),
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(String),
    Sep,
    Var { var: Var, quote: bool },
}

/// Why a log-format string does not compile, in HAProxy's words (src/log.c
/// `parse_logformat_string()`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogFormatError {
    /// `%{+X}` or `%{+E}`: a modifier HAProxy has and podpath does not model.
    #[error("log-format modifier '{sign}{name}' is not modelled")]
    ModifierNotModelled { sign: char, name: String },
    /// A modifier HAProxy does not know, in the `%{...}` argument `arg`.
    #[error("unknown log-format modifier '{name}' in '%{{{arg}}}'")]
    UnknownModifier { name: String, arg: String },
    /// `%{` with no `}` after it, in the format.
    #[error("missing '}}' after '%{{' in '{0}'")]
    MissingBrace(String),
    /// `%{...}` (the argument) followed by no variable name.
    #[error("parse argument modifier without variable name near '%{{{0}}}'")]
    ModifierWithoutVariable(String),
    /// `%` followed by a digit or a blank (`near`) at `position` of `fmt`.
    #[error("unexpected variable name near '{near}' at position {position} line : '{fmt}'. Maybe you want to write a single '%', use the syntax '%%'")]
    UnexpectedVariableName {
        near: char,
        position: usize,
        fmt: String,
    },
    /// `%[...]` in the format: sample expressions are not modelled.
    #[error("sample expressions ('%[...]') in log-format are not modelled: '{0}'")]
    SampleExpression(String),
    /// A variable name HAProxy does not know.
    #[error("no such format variable '{0}'. If you wanted to emit the '%' character verbatim, you need to use '%%'")]
    NoSuchVariable(String),
    /// A variable of HTTP mode in a TCP proxy.
    #[error("format variable '{0}' is reserved for HTTP mode")]
    HttpOnly(String),
}

/// A compiled log-format string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormat {
    nodes: Vec<Node>,
    /// `option logasap`: timers and bytes get a `+` (they are not final)
    pub logasap: bool,
}

/// Parses the `{+Q-M}` modifiers of `%{...}`; returns the quote flag.
fn modifiers(arg: &str, mut quote: bool) -> Result<bool, LogFormatError> {
    let mut rest = arg;
    while !rest.is_empty() {
        let (sign, r) = match rest.as_bytes()[0] {
            b'+' => (true, &rest[1..]),
            b'-' => (false, &rest[1..]),
            _ => (true, rest),
        };
        let end = r.find(['+', '-', ',']).unwrap_or(r.len());
        let name = &r[..end];
        match name {
            "Q" => quote = sign,
            "M" => {} // mandatory: always on (LOG_OPT_MANDATORY)
            "X" | "E" => {
                return Err(LogFormatError::ModifierNotModelled {
                    sign: if sign { '+' } else { '-' },
                    name: name.to_string(),
                })
            }
            "" => {}
            o => {
                return Err(LogFormatError::UnknownModifier {
                    name: o.to_string(),
                    arg: arg.to_string(),
                })
            }
        }
        rest = r[end..].trim_start_matches(',');
    }
    Ok(quote)
}

impl LogFormat {
    /// Compiles `fmt` for a proxy in `http` mode or not. Errors use
    /// HAProxy's words (src/log.c `parse_logformat_string()`).
    pub fn compile(fmt: &str, http: bool) -> Result<LogFormat, LogFormatError> {
        let b = fmt.as_bytes();
        let mut nodes: Vec<Node> = Vec::new();
        let mut text = String::new();
        let mut default_quote = false;
        let flush = |text: &mut String, nodes: &mut Vec<Node>| {
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(text)));
            }
        };
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b' ' => {
                    flush(&mut text, &mut nodes);
                    while i < b.len() && b[i] == b' ' {
                        i += 1;
                    }
                    nodes.push(Node::Sep);
                }
                b'%' => {
                    i += 1;
                    let mut quote = default_quote;
                    let mut arg: Option<String> = None;
                    match b.get(i) {
                        Some(b'%') => {
                            text.push('%');
                            i += 1;
                            continue;
                        }
                        Some(b'{') => {
                            let close = fmt[i..]
                                .find('}')
                                .ok_or_else(|| LogFormatError::MissingBrace(fmt.to_string()))?;
                            let a = &fmt[i + 1..i + close];
                            quote = modifiers(a, quote)?;
                            arg = Some(a.to_string());
                            i += close + 1;
                            if !b
                                .get(i)
                                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'[')
                            {
                                return Err(LogFormatError::ModifierWithoutVariable(a.to_string()));
                            }
                        }
                        Some(c) if c.is_ascii_digit() || *c == b' ' || *c == b'\t' => {
                            return Err(LogFormatError::UnexpectedVariableName {
                                near: *c as char,
                                position: i,
                                fmt: fmt.to_string(),
                            });
                        }
                        _ => {}
                    }
                    if b.get(i) == Some(&b'[') {
                        return Err(LogFormatError::SampleExpression(fmt.to_string()));
                    }
                    let start = i;
                    while i < b.len() && b[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    let name = &fmt[start..i];
                    if name.is_empty() {
                        text.push('%');
                        continue;
                    }
                    flush(&mut text, &mut nodes);
                    if name == "o" {
                        // %o: the modifiers apply to every variable after it
                        if arg.is_some() {
                            default_quote = quote;
                        }
                        continue;
                    }
                    let Some(&(_, var, http_only)) = KEYWORDS.iter().find(|k| k.0 == name) else {
                        return Err(LogFormatError::NoSuchVariable(name.to_string()));
                    };
                    if http_only && !http {
                        return Err(LogFormatError::HttpOnly(name.to_string()));
                    }
                    nodes.push(Node::Var { var, quote });
                }
                _ => {
                    let c = fmt[i..].chars().next().unwrap_or(' ');
                    text.push(c);
                    i += c.len_utf8();
                }
            }
        }
        flush(&mut text, &mut nodes);
        Ok(LogFormat {
            nodes,
            logasap: false,
        })
    }

    /// Builds the line for one stream.
    pub fn render(&self, c: &LogCtx) -> String {
        let mut out = String::new();
        // a line starts as if after a space: a leading separator is dropped
        let mut last_isspace = true;
        for n in &self.nodes {
            match n {
                Node::Sep => {
                    if !last_isspace {
                        out.push(' ');
                        last_isspace = true;
                    }
                }
                Node::Text(t) => {
                    out.push_str(t);
                    last_isspace = false;
                }
                Node::Var { var, quote } => {
                    if self.var(&mut out, *var, *quote, c) {
                        last_isspace = false;
                    }
                }
            }
        }
        out
    }

    /// Appends one variable; false when it printed nothing and leaves the
    /// separator state alone (`%hr` without captures).
    fn var(&self, out: &mut String, var: Var, quote: bool, c: &LogCtx) -> bool {
        let text = |out: &mut String, s: Option<&str>| {
            if quote {
                out.push('"');
            }
            match s {
                Some(s) if !s.is_empty() => out.push_str(s),
                _ if !quote => out.push('-'),
                _ => {}
            }
            if quote {
                out.push('"');
            }
        };
        let plus = |out: &mut String| {
            if self.logasap {
                out.push('+');
            }
        };
        let t_request = c.t_request;
        let idle_hs = if c.t_idle >= 0 {
            c.t_idle + c.t_handshake
        } else {
            0
        };
        let ms = |v: i64| v.to_string();
        match var {
            Var::Ci => text(out, Some(&c.client.0.to_string())),
            Var::Cp => text(out, Some(&c.client.1.to_string())),
            Var::Fi => text(out, Some(&c.frontend_addr.0.to_string())),
            Var::Fp => text(out, Some(&c.frontend_addr.1.to_string())),
            Var::Bi => text(out, c.backend_src.map(|a| a.0.to_string()).as_deref()),
            Var::Bp => text(out, c.backend_src.map(|a| a.1.to_string()).as_deref()),
            Var::Si => text(out, c.server_addr.map(|a| a.0.to_string()).as_deref()),
            Var::Sp => text(out, c.server_addr.map(|a| a.1.to_string()).as_deref()),
            Var::Tdate => out.push_str(&date_log(c.accept_ms)),
            Var::TrDate => out.push_str(&date_log(c.accept_ms + idle_hs as u64)),
            Var::T | Var::Tl => out.push_str(&gmt_log(c.accept_ms)),
            Var::Trg | Var::Trl => out.push_str(&gmt_log(c.accept_ms + idle_hs as u64)),
            Var::Ts => out.push_str(&(c.accept_ms / 1000).to_string()),
            Var::Ms => out.push_str(&format!("{:03}", c.accept_ms % 1000)),
            Var::Fe | Var::Ft => text(out, Some(c.frontend)),
            Var::Be => text(out, Some(c.backend)),
            Var::Srv => text(out, Some(c.server)),
            Var::Sslc | Var::Sslv => text(out, None),
            Var::Th => out.push_str(&ms(c.t_handshake)),
            Var::Ti => out.push_str(&ms(c.t_idle)),
            Var::TR => out.push_str(&ms(if t_request >= 0 {
                t_request - c.t_idle - c.t_handshake
            } else {
                -1
            })),
            Var::Tq => out.push_str(&ms(t_request)),
            Var::Tw => out.push_str(&ms(if c.t_queue >= 0 {
                c.t_queue - t_request
            } else {
                -1
            })),
            Var::Tc => out.push_str(&ms(if c.t_connect >= 0 {
                c.t_connect - c.t_queue
            } else {
                -1
            })),
            Var::Tr => out.push_str(&ms(if c.t_data >= 0 {
                c.t_data - c.t_connect
            } else {
                -1
            })),
            Var::Td => out.push_str(&ms(if c.http {
                if c.t_data >= 0 {
                    c.t_close - c.t_data
                } else {
                    -1
                }
            } else if c.t_connect >= 0 {
                c.t_close - c.t_connect
            } else {
                -1
            })),
            Var::Ta => {
                plus(out);
                out.push_str(&ms(c.t_close - idle_hs));
            }
            Var::Tt => {
                plus(out);
                out.push_str(&ms(c.t_close));
            }
            Var::Tu => {
                plus(out);
                out.push_str(&ms(c.t_close - c.t_idle.max(0)));
            }
            Var::ST => out.push_str(&c.status.to_string()),
            Var::B => {
                plus(out);
                out.push_str(&c.bytes_out.to_string());
            }
            Var::U => out.push_str(&c.bytes_in.to_string()),
            Var::CC | Var::CS | Var::ID => text(out, None),
            Var::H => text(out, Some(c.hostname)),
            Var::TermState => {
                out.push(c.term.0);
                out.push(c.term.1);
            }
            Var::TermStateCk => {
                out.push(c.term.0);
                out.push(c.term.1);
                out.push_str("--");
            }
            Var::Ac => out.push_str(&c.actconn.to_string()),
            Var::Fc => out.push_str(&c.feconn.to_string()),
            Var::Bc => out.push_str(&c.beconn.to_string()),
            Var::Sc => out.push_str(&c.srvconn.to_string()),
            Var::Rc => out.push_str(&c.retries.to_string()),
            Var::Sq | Var::Bq => out.push('0'),
            Var::Lc => out.push_str(&c.log_count.to_string()),
            Var::Rt => out.push_str(&c.uniq_id.to_string()),
            Var::Pid => out.push_str(&c.pid.to_string()),
            // no captures: nothing at all, not even `-`
            Var::Hr | Var::Hs | Var::Hrl | Var::Hsl => return false,
            Var::R => quoted(out, quote, &encode(c.request.unwrap_or("<BADREQ>"))),
            Var::HM => quoted(out, quote, &encode(&req_part(c.request, 0))),
            Var::HU | Var::HP | Var::HPO | Var::HQ => {
                let uri = req_part(c.request, 1);
                let v = match var {
                    Var::HP => uri.split('?').next().unwrap_or("").to_string(),
                    Var::HPO => {
                        let p = uri.split('?').next().unwrap_or("");
                        // an absolute URI: the path after the authority
                        match p.split_once("://") {
                            Some((_, rest)) => rest
                                .find('/')
                                .map(|i| rest[i..].to_string())
                                .unwrap_or_default(),
                            None => p.to_string(),
                        }
                    }
                    Var::HQ => uri
                        .find('?')
                        .map(|i| uri[i..].to_string())
                        .unwrap_or_default(),
                    _ => uri,
                };
                quoted(out, quote, &encode(&v))
            }
            Var::HV => quoted(out, quote, &encode(&req_part(c.request, 2))),
        }
        true
    }
}

fn quoted(out: &mut String, quote: bool, s: &str) {
    if quote {
        out.push('"');
    }
    out.push_str(s);
    if quote {
        out.push('"');
    }
}

/// One part of the request line (method, URI, version), `<BADREQ>` without
/// a request.
fn req_part(req: Option<&str>, i: usize) -> String {
    req.and_then(|r| r.split_whitespace().nth(i))
        .unwrap_or("<BADREQ>")
        .to_string()
}

/// src/log.c `url_encode_map`: `"`, `#` and bytes outside 0x20-0x7e become
/// `#XX`.
fn encode(s: &str) -> String {
    let mut o = String::new();
    for &b in s.as_bytes() {
        if !(0x20..0x7f).contains(&b) || b == b'"' || b == b'#' {
            o.push_str(&format!("#{b:02X}"));
        } else {
            o.push(b as char);
        }
    }
    o
}

/// What a log line is made of, for one stream. Timers are in milliseconds
/// from the accept (-1: the event did not happen), as `struct strm_logs`.
pub struct LogCtx<'a> {
    pub http: bool,
    pub client: (std::net::Ipv4Addr, u16),
    pub frontend_addr: (std::net::Ipv4Addr, u16),
    pub backend_src: Option<(std::net::Ipv4Addr, u16)>,
    pub server_addr: Option<(std::net::Ipv4Addr, u16)>,
    /// accept date, ms since the Unix epoch
    pub accept_ms: u64,
    pub frontend: &'a str,
    pub backend: &'a str,
    pub server: &'a str,
    pub hostname: &'a str,
    pub t_handshake: i64,
    pub t_idle: i64,
    pub t_request: i64,
    pub t_queue: i64,
    pub t_connect: i64,
    pub t_data: i64,
    pub t_close: i64,
    pub status: i32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub term: (char, char),
    pub actconn: u32,
    pub feconn: u32,
    pub beconn: u32,
    pub srvconn: u32,
    pub retries: u32,
    pub log_count: u64,
    pub uniq_id: u64,
    pub pid: u32,
    /// the request line (`GET / HTTP/1.1`)
    pub request: Option<&'a str>,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn civil(ms: u64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// src/tools.c `date2str_log()`: `06/Feb/2009:12:12:51.443`.
pub fn date_log(ms: u64) -> String {
    let d = civil(ms);
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02}.{:03}",
        d.day(),
        MONTHS[d.month() as usize - 1],
        d.year(),
        d.hour(),
        d.minute(),
        d.second(),
        ms % 1000
    )
}

/// src/tools.c `gmt2str_log()`: `06/Feb/2009:12:12:51 +0000`.
pub fn gmt_log(ms: u64) -> String {
    let d = civil(ms);
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        d.day(),
        MONTHS[d.month() as usize - 1],
        d.year(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ctx() -> LogCtx<'static> {
        LogCtx {
            http: true,
            client: (Ipv4Addr::new(10, 0, 1, 2), 33317),
            frontend_addr: (Ipv4Addr::new(10, 0, 0, 50), 80),
            backend_src: None,
            server_addr: None,
            // 06/Feb/2009:12:14:14.655 UTC
            accept_ms: 1_233_922_454_655,
            frontend: "http-in",
            backend: "static",
            server: "srv1",
            hostname: "lb",
            t_handshake: 0,
            t_idle: 0,
            t_request: 10,
            t_queue: 10,
            t_connect: 40,
            t_data: 109,
            t_close: 109,
            status: 200,
            bytes_in: 100,
            bytes_out: 2750,
            term: ('-', '-'),
            actconn: 1,
            feconn: 1,
            beconn: 1,
            srvconn: 1,
            retries: 0,
            log_count: 0,
            uniq_id: 0,
            pid: 1,
            request: Some("GET /index.html HTTP/1.1"),
        }
    }

    #[test]
    fn httplog_matches_the_documented_example() {
        // doc/configuration.txt 8.2.3 (HTTP log format), without captures:
        // the two missing captures leave one space
        let f = LogFormat::compile(HTTP_LOG_FORMAT, true).unwrap();
        assert_eq!(
            f.render(&ctx()),
            "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 \"GET /index.html HTTP/1.1\""
        );
    }

    #[test]
    fn tcplog_and_its_timers() {
        let f = LogFormat::compile(TCP_LOG_FORMAT, false).unwrap();
        let mut c = ctx();
        c.http = false;
        // TCP: no request time (-1), so Tw = t_queue + 1 (src/log.c)
        c.t_request = -1;
        c.t_queue = 0;
        c.t_connect = 0;
        c.t_close = 5007;
        c.bytes_out = 212;
        c.frontend = "fnt";
        c.backend = "bck";
        assert_eq!(
            f.render(&c),
            "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] fnt bck/srv1 1/0/5007 212 -- 1/1/1/1/0 0/0"
        );
    }

    #[test]
    fn errors_use_haproxys_words() {
        let e = LogFormat::compile("%ci %tr", false)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "format variable 'tr' is reserved for HTTP mode");
        let e = LogFormat::compile("%zz", true).unwrap_err().to_string();
        assert!(e.starts_with("no such format variable 'zz'"), "{e}");
        assert!(LogFormat::compile("%[src]", true)
            .unwrap_err()
            .to_string()
            .contains("not modelled"));
        assert!(LogFormat::compile("100% sure", true)
            .unwrap_err()
            .to_string()
            .starts_with("unexpected variable name near ' '"));
        // %% is a literal percent
        let f = LogFormat::compile("50%% %ST", true).unwrap();
        assert_eq!(f.render(&ctx()), "50% 200");
    }

    #[test]
    fn quote_modifier_and_clf() {
        let f = LogFormat::compile("%{+Q}ci %{+Q}r %ST", true).unwrap();
        assert_eq!(
            f.render(&ctx()),
            "\"10.0.1.2\" \"GET /index.html HTTP/1.1\" 200"
        );
        let f = LogFormat::compile(CLF_LOG_FORMAT, true).unwrap();
        let line = f.render(&ctx());
        assert!(
            line.starts_with("10.0.1.2 - - [06/Feb/2009:12:14:14 +0000] \"GET /index.html HTTP/1.1\" 200 2750 \"\" \"\" \"33317\" 655 \"http-in\" \"static\" \"srv1\" 10"),
            "{line}"
        );
    }
}
