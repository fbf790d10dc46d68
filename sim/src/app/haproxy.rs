//! haproxy.cfg (a subset of HAProxy 2.6) into the proxy model of
//! `app/proxy/`.
//!
//! Lines are split as src/tools.c `parse_line()` splits them: `#` starts a
//! comment outside quotes, `"..."` and `'...'` group words, `\ `, `\"`,
//! `\#`, `\\`, `\t`, `\n`, `\r` and `\xHH` escape.
//!
//! Sections: `global` (`log`, `maxconn`, `nbthread`; process settings
//! that do not change a path are accepted; `nbproc` is refused as 2.6
//! refuses it), `defaults` (mode, balance, options, `log`, `log-format`,
//! `stats`, timeouts ignored), `frontend` (bind, mode, acl, use_backend,
//! default_backend, option forwardfor, `maxconn`), `backend` (mode,
//! balance roundrobin|leastconn|source|random[(N)], server NAME ADDR:PORT
//! [weight N] [check] [inter T] [rise N] [fall N], option httpchk,
//! `http-check expect status N`, stick-table / stick on src), `listen` (a
//! frontend and backend in one). Logging: `log global` / `log ADDR
//! FACILITY [LEVEL]` / `no log`, `option tcplog`, `option httplog [clf]`,
//! `log-format`, `option dontlognull`, `option logasap`. Stats: `stats
//! enable|uri|auth|realm|refresh|hide-version|show-legends|show-node`.
//! ACL criteria: `hdr(host)` / `hdr_dom(host)` (-i), `path_beg`, `path`,
//! `src`. Anything else is an error naming the line, not silently ignored.

use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;

use super::haproxy_log::{
    LogCfg, LogFormat, LogFormatError, CLF_LOG_FORMAT, HTTP_LOG_FORMAT, TCP_LOG_FORMAT,
};
use super::haproxy_stats::StatsCfg;
use super::proxy::{Backend, Balance, Cond, Frontend, Global, Mode, Proxy, Rule, Section, Server};

/// An error in haproxy.cfg, in HAProxy's words where HAProxy has them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HaproxyError {
    /// A line HAProxy (or podpath's model of it) refuses: the line number
    /// and what is wrong with it, naming the keyword, the offending value
    /// and the expected form.
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    /// A `log-format` (set on `line`) that does not compile for `proxy`.
    #[error("line {line}: failed to parse log-format for proxy '{proxy}' : {source}")]
    LogFormat {
        line: usize,
        proxy: String,
        source: LogFormatError,
    },
    /// No `frontend` or `listen` section: nothing accepts connections.
    #[error("no frontend or listen section")]
    NoFrontend,
}

/// A [`HaproxyError::Line`] at line `$l`, its message formatted as
/// `format!` formats.
macro_rules! herr {
    ($l:expr, $($fmt:tt)+) => {
        HaproxyError::Line {
            line: $l,
            message: format!($($fmt)+),
        }
    };
}

/// What a `defaults` section passes on.
#[derive(Default, Clone)]
struct Defaults {
    mode: Option<Mode>,
    balance: Option<Balance>,
    forwardfor: bool,
    httpchk: Option<(String, String)>,
    log: LogLines,
    stats: Option<StatsCfg>,
}

/// The logging lines of a section: targets, format (and the line that set
/// it), null connections, logasap.
#[derive(Default, Clone)]
struct LogLines {
    targets: Vec<String>,
    format: Option<(String, usize, FormatKind)>,
    dontlognull: bool,
    logasap: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FormatKind {
    Tcp,
    Http,
    Clf,
    Custom,
}

struct SectionLines {
    kind: String,
    name: String,
    line: usize,
    lines: Vec<(usize, Vec<String>)>,
}

/// src/tools.c `parse_line()` with PARSE_OPT_SHARP, DQUOTE, SQUOTE and
/// BKSLASH (environment variables are not expanded: refused).
pub fn split_line(raw: &str, l: usize) -> Result<Vec<String>, HaproxyError> {
    let b = raw.as_bytes();
    let mut words: Vec<String> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut started = false;
    let (mut sq, mut dq) = (false, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\r' | b'\n' => break,
            b'#' if !sq && !dq => break,
            b'"' if !sq => {
                dq = !dq;
                started = true;
            }
            b'\'' if !dq => {
                sq = !sq;
                started = true;
            }
            b'\\' if !sq => {
                let next = b.get(i + 1).copied();
                let (ch, skip) = match next {
                    Some(b' ') | Some(b'\\') | Some(b'#') | Some(b'\'') | Some(b'"') => {
                        (next.unwrap_or(b'\\'), 1)
                    }
                    Some(b't') => (b'\t', 1),
                    Some(b'n') => (b'\n', 1),
                    Some(b'r') => (b'\r', 1),
                    Some(b'x') => {
                        let hex = raw
                            .get(i + 2..i + 4)
                            .and_then(|h| u8::from_str_radix(h, 16).ok());
                        match hex {
                            Some(v) => (v, 3),
                            None => {
                                return Err(herr!(
                                    l,
                                    "truncated or invalid hexadecimal sequence at position {}",
                                    i + 1
                                ))
                            }
                        }
                    }
                    _ => (b'\\', 0),
                };
                cur.push(ch);
                started = true;
                i += skip;
            }
            b'$' if dq => return Err(herr!(l, "environment variables ('$...') are not modelled")),
            c if c.is_ascii_whitespace() && !sq && !dq => {
                if started {
                    words.push(String::from_utf8_lossy(&cur).to_string());
                    cur.clear();
                    started = false;
                }
            }
            c => {
                cur.push(c);
                started = true;
            }
        }
        i += 1;
    }
    if sq || dq {
        return Err(herr!(l, "unmatched quote"));
    }
    if started {
        words.push(String::from_utf8_lossy(&cur).to_string());
    }
    Ok(words)
}

fn dur_ns(s: &str) -> Option<u64> {
    let (n, mul) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1_000_000)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1_000)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000_000_000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000_000_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000_000_000)
    } else if let Some(n) = s.strip_suffix('d') {
        (n, 86_400_000_000_000)
    } else {
        (s, 1_000_000) // HAProxy's default unit is the millisecond
    };
    n.parse::<u64>().ok().and_then(|v| v.checked_mul(mul))
}

fn parse_balance(w: &[String], l: usize) -> Result<Balance, HaproxyError> {
    let a = w.get(1).map(|s| s.as_str()).unwrap_or("");
    Ok(match a {
        "roundrobin" | "static-rr" => Balance::RoundRobin,
        "leastconn" => Balance::LeastConn,
        "source" => Balance::Source,
        "random" => Balance::Random(2),
        r if r.starts_with("random(") && r.ends_with(')') => {
            let n = r[7..r.len() - 1]
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or(herr!(l, "balance '{r}': expected random(N) with N >= 1"))?;
            Balance::Random(n)
        }
        o => {
            return Err(herr!(
                l,
                "balance '{o}' is not modelled: expected roundrobin, leastconn, source or random"
            ))
        }
    })
}

fn parse_mode(w: &[String], l: usize) -> Result<Mode, HaproxyError> {
    match w.get(1).map(|s| s.as_str()) {
        Some("tcp") => Ok(Mode::Tcp),
        Some("http") => Ok(Mode::Http),
        o => Err(herr!(l, "mode '{}': expected tcp or http", o.unwrap_or(""))),
    }
}

fn addr_port(s: &str, l: usize, what: &str) -> Result<(Option<Ipv4Addr>, u16), HaproxyError> {
    let (a, p) = s
        .rsplit_once(':')
        .ok_or(herr!(l, "{what} '{s}': expected ADDR:PORT"))?;
    let port = p
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or(herr!(l, "{what} '{s}': bad port '{p}'"))?;
    let addr = match a {
        "" | "*" | "0.0.0.0" => None,
        a => Some(
            a.parse::<Ipv4Addr>()
                .map_err(|_| herr!(l, "{what} '{s}': bad address '{a}' (IPv4 only)"))?,
        ),
    };
    Ok((addr, port))
}

/// src/log.c `log_facilities[]` and `log_levels[]`.
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];
const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// `log <target> [len N] [format F] [sample R:S] <facility> [<max> [<min>]]`
/// (src/log.c `parse_logsrv()`): the target as written with its facility,
/// or None when the target takes no info-level messages (its max level is
/// below info).
fn log_target(w: &[String], l: usize) -> Result<Option<String>, HaproxyError> {
    let target = w.get(1).ok_or(herr!(
        l,
        "'log' expects either <address[:port]> and <facility> or 'global' as arguments."
    ))?;
    let mut i = 2;
    while let Some(k) = w.get(i).map(|s| s.as_str()) {
        match k {
            "len" | "format" | "sample" => {
                if w.get(i + 1).is_none() {
                    return Err(herr!(l, "log: '{k}' expects a value"));
                }
                i += 2;
            }
            _ => break,
        }
    }
    let fac = w.get(i).ok_or(herr!(l, "log {target}: missing facility"))?;
    if !FACILITIES.contains(&fac.as_str()) {
        return Err(herr!(l, "unknown log facility '{fac}'"));
    }
    let max = match w.get(i + 1) {
        Some(lv) => LEVELS
            .iter()
            .position(|x| x == lv)
            .ok_or(herr!(l, "unknown optional log level '{lv}'"))?,
        None => 7,
    };
    if let Some(min) = w.get(i + 2) {
        if !LEVELS.contains(&min.as_str()) {
            return Err(herr!(l, "unknown optional minimum log level '{min}'"));
        }
    }
    if w.len() > i + 3 {
        return Err(herr!(l, "log: too many arguments"));
    }
    if !target.starts_with('/')
        && !matches!(target.as_str(), "stdout" | "stderr")
        && !target.starts_with("ring@")
        && !target.starts_with("fd@")
    {
        let a = target.rsplit_once(':').map(|x| x.0).unwrap_or(target);
        if a.parse::<Ipv4Addr>().is_err() {
            return Err(herr!(
                l,
                "log: '{target}' is not an IPv4 address, a path or stdout/stderr"
            ));
        }
    }
    // info is level 6: a target whose max level is lower never gets the
    // traffic log
    Ok((max >= 6).then(|| format!("{target} {fac}")))
}

/// `log`, `no log`, `log-format`, and the logging options, in any section
/// that can log. Returns false when the line is none of them.
fn log_line(w: &[String], l: usize, g: &[String], lg: &mut LogLines) -> Result<bool, HaproxyError> {
    match (w[0].as_str(), w.get(1).map(|s| s.as_str())) {
        ("log", Some("global")) => lg.targets.extend(g.iter().cloned()),
        ("log", _) => {
            if let Some(t) = log_target(w, l)? {
                lg.targets.push(t)
            }
        }
        ("no", Some("log")) => lg.targets.clear(),
        ("log-format", _) => {
            if w.len() != 2 {
                return Err(herr!(
                    l,
                    "log-format expects one argument (put the format in quotes)"
                ));
            }
            lg.format = Some((w[1].clone(), l, FormatKind::Custom));
        }
        ("option", Some("tcplog")) => {
            lg.format = Some((TCP_LOG_FORMAT.into(), l, FormatKind::Tcp));
        }
        ("option", Some("httplog")) => {
            let kind = match w.get(2).map(|s| s.as_str()) {
                Some("clf") => FormatKind::Clf,
                None => FormatKind::Http,
                Some(o) => return Err(herr!(l, "option httplog: unknown argument '{o}'")),
            };
            let f = if kind == FormatKind::Clf {
                CLF_LOG_FORMAT
            } else {
                HTTP_LOG_FORMAT
            };
            lg.format = Some((f.into(), l, kind));
        }
        ("option", Some("dontlognull")) => lg.dontlognull = true,
        ("no", Some("option")) if w.get(2).map(|s| s.as_str()) == Some("dontlognull") => {
            lg.dontlognull = false
        }
        ("option", Some("logasap")) => lg.logasap = true,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `stats ...` lines (src/cfgparse-listen.c); returns false when the line
/// is not one.
fn stats_line(w: &[String], l: usize, st: &mut Option<StatsCfg>) -> Result<bool, HaproxyError> {
    if w[0] != "stats" {
        return Ok(false);
    }
    let sub = w.get(1).map(|s| s.as_str()).unwrap_or("");
    let c = st.get_or_insert_with(StatsCfg::default);
    let arg = |what: &str| {
        w.get(2)
            .cloned()
            .ok_or(herr!(l, "'stats {sub}' needs {what}"))
    };
    match sub {
        "enable" => {}
        "uri" => c.uri = arg("a URI prefix")?,
        "realm" => c.realm = Some(arg("a realm")?),
        "auth" => {
            let a = arg("USER:PASSWORD")?;
            let (u, p) = a.split_once(':').unwrap_or((&a, ""));
            c.users.push((u.to_string(), p.to_string()));
        }
        "refresh" => {
            let a = arg("a delay")?;
            // parse_time_err(..., TIME_UNIT_S): a bare number is seconds
            let ns = if a.chars().all(|ch| ch.is_ascii_digit()) {
                a.parse::<u64>().ok().map(|s| s * 1_000_000_000)
            } else {
                dur_ns(&a)
            };
            c.refresh_s = ns
                .map(|n| n / 1_000_000_000)
                .ok_or(herr!(l, "stats refresh '{a}': expected a delay"))?;
        }
        "hide-version" => c.hide_version = true,
        "show-legends" => c.show_legends = true,
        "show-node" => c.show_node = Some(w.get(2).cloned().unwrap_or_default()),
        "show-desc" | "show-modules" | "scope" => {}
        "admin" | "http-request" => {
            return Err(herr!(
                l, "'stats {sub}' is not modelled (the page has no admin form here)"
            ))
        }
        "socket" | "timeout" | "maxconn" | "bind-process" => {
            return Err(herr!(
                l, "'stats {sub}' is only valid in the 'global' section"
            ))
        }
        o => {
            return Err(herr!(
                l, "'stats' expects 'admin', 'auth', 'enable', 'hide-version', 'http-request', 'realm', 'refresh', 'scope', 'show-desc', 'show-legends', 'show-modules', 'show-node' or 'uri' (got '{o}')"
            ))
        }
    }
    Ok(true)
}

/// `global` keywords that set up the process and do not change a path.
fn global_noop(k: &str) -> bool {
    const KW: &[&str] = &[
        "daemon",
        "master-worker",
        "quiet",
        "zero-warning",
        "user",
        "group",
        "uid",
        "gid",
        "chroot",
        "pidfile",
        "description",
        "node",
        "ulimit-n",
        "fd-hard-limit",
        "maxconnrate",
        "maxsessrate",
        "maxsslrate",
        "maxcomprate",
        "maxpipes",
        "maxzlibmem",
        "maxcompcpuusage",
        "log-send-hostname",
        "log-tag",
        "spread-checks",
        "max-spread-checks",
        "cpu-map",
        "stats",
        "hard-stop-after",
        "grace",
        "ca-base",
        "crt-base",
        "key-base",
        "unix-bind",
        "server-state-base",
        "server-state-file",
        "strict-limits",
        "localpeer",
        "numa-cpu-mapping",
        "expose-experimental-directives",
        "insecure-fork-wanted",
        "insecure-setuid-wanted",
        "external-check",
        "set-dumpable",
        "noepoll",
        "nopoll",
        "nosplice",
        "nogetaddrinfo",
        "noreuseport",
        "busy-polling",
        "mworker-max-reloads",
        "lua-load",
        "lua-prepend-path",
        "issuers-chain-path",
        "default-path",
        "presetenv",
        "setenv",
        "unsetenv",
        "resetenv",
        "h2-workaround-bogus-websocket-clients",
        "pp2-never-send-local",
        "thread-groups",
        "cluster-secret",
        "httpclient.resolvers.id",
        "httpclient.resolvers.prefer",
        "httpclient.ssl.verify",
        "httpclient.ssl.ca-file",
    ];
    KW.contains(&k)
        || k.starts_with("tune.")
        || k.starts_with("ssl-")
        || k.starts_with("profiling.")
}

fn parse_global(
    s: &SectionLines,
    g: &mut Global,
    targets: &mut Vec<String>,
) -> Result<(), HaproxyError> {
    for (l, w) in &s.lines {
        let l = *l;
        match w[0].as_str() {
            "log" => {
                if let Some(t) = log_target(w, l)? {
                    targets.push(t);
                }
            }
            "maxconn" => {
                g.maxconn = w
                    .get(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|n| *n > 0)
                    .ok_or(herr!(l, "maxconn: expected a positive number"))?;
            }
            "nbthread" => {
                g.nbthread = w
                    .get(1)
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|n| (1..=4096).contains(n))
                    .ok_or(herr!(l, "nbthread: expected a number 1-4096"))?;
            }
            "nbproc" => {
                return Err(herr!(l, "nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available."))
            }
            k if global_noop(k) => {}
            o => return Err(herr!(l, "unknown keyword '{o}' in 'global' section")),
        }
    }
    Ok(())
}

fn parse_defaults(s: &SectionLines, d: &mut Defaults, g: &[String]) -> Result<(), HaproxyError> {
    for (l, w) in &s.lines {
        let l = *l;
        if log_line(w, l, g, &mut d.log)? || stats_line(w, l, &mut d.stats)? {
            continue;
        }
        match w[0].as_str() {
            "mode" => d.mode = Some(parse_mode(w, l)?),
            "balance" => d.balance = Some(parse_balance(w, l)?),
            "option" => match w.get(1).map(|x| x.as_str()) {
                Some("forwardfor") => d.forwardfor = true,
                Some("httpchk") => d.httpchk = Some(httpchk(w)),
                Some(o) if option_noop(o) => {}
                o => {
                    return Err(herr!(
                        l,
                        "option '{}' in defaults is not modelled",
                        o.unwrap_or("")
                    ))
                }
            },
            "timeout" | "retries" | "maxconn" | "default-server" | "http-check" => {}
            o => return Err(herr!(l, "'{o}' in defaults is not modelled")),
        }
    }
    Ok(())
}

/// Options that do not change what podpath models (connection reuse,
/// retries it does not make, header case).
fn option_noop(o: &str) -> bool {
    matches!(
        o,
        "redispatch"
            | "http-server-close"
            | "http-keep-alive"
            | "httpclose"
            | "forceclose"
            | "abortonclose"
            | "tcpka"
            | "clitcpka"
            | "srvtcpka"
            | "log-health-checks"
            | "log-separate-errors"
            | "dontlog-normal"
            | "socket-stats"
            | "splice-auto"
            | "splice-request"
            | "splice-response"
            | "contstats"
            | "allbackups"
            | "http-use-htx"
            | "http-buffer-request"
            | "tcp-smart-accept"
            | "tcp-smart-connect"
            | "http-ignore-probes"
    )
}

fn compile_log(lg: &LogLines, mode: Mode, name: &str) -> Result<Option<LogCfg>, HaproxyError> {
    if lg.targets.is_empty() && lg.format.is_none() {
        return Ok(None);
    }
    let http = mode == Mode::Http;
    let format = match &lg.format {
        None => None,
        Some((fmt, l, kind)) => {
            // src/proxy.c: httplog in a TCP proxy falls back to tcplog
            let fmt = if !http && matches!(kind, FormatKind::Http | FormatKind::Clf) {
                TCP_LOG_FORMAT
            } else {
                fmt.as_str()
            };
            let mut f = LogFormat::compile(fmt, http).map_err(|e| HaproxyError::LogFormat {
                line: *l,
                proxy: name.to_string(),
                source: e,
            })?;
            f.logasap = lg.logasap;
            Some(f)
        }
    };
    Ok(Some(LogCfg {
        targets: lg.targets.clone(),
        format,
        dontlognull: lg.dontlognull,
    }))
}

/// Splits the text into sections of lines of words.
fn sections(text: &str) -> Result<Vec<SectionLines>, HaproxyError> {
    let mut sections: Vec<SectionLines> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = i + 1;
        let words = split_line(raw, l)?;
        if words.is_empty() {
            continue;
        }
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        match words[0].as_str() {
            k @ ("global" | "defaults" | "frontend" | "backend" | "listen")
                if !indented || sections.is_empty() =>
            {
                let nm = words.get(1).cloned().unwrap_or_default();
                if matches!(k, "frontend" | "backend" | "listen") && nm.is_empty() {
                    return Err(herr!(l, "{k} needs a name"));
                }
                if matches!(k, "frontend" | "backend" | "listen")
                    && sections
                        .iter()
                        .any(|s| s.name == nm && s.kind != "defaults" && s.kind != "global")
                {
                    return Err(herr!(l, "{k} '{nm}' has the same name as another proxy"));
                }
                sections.push(SectionLines {
                    kind: k.to_string(),
                    name: nm,
                    line: l,
                    lines: Vec::new(),
                });
                // `listen NAME ADDR:PORT` binds on the section line
                if k == "listen" || k == "frontend" {
                    if let Some(b) = words.get(2) {
                        let s = sections.last_mut().expect("pushed");
                        s.lines.push((l, vec!["bind".into(), b.clone()]));
                    }
                }
            }
            _ => match sections.last_mut() {
                Some(s) => s.lines.push((l, words)),
                None => return Err(herr!(l, "'{}' outside any section", words[0])),
            },
        }
    }
    Ok(sections)
}

/// One `server` line (with the section's `default-server` options first).
fn server_line(
    w: &[String],
    l: usize,
    dflt: &[String],
    be: &mut Backend,
) -> Result<Server, HaproxyError> {
    let sname = w.get(1).ok_or(herr!(l, "server needs a name"))?;
    let ap = w.get(2).ok_or(herr!(l, "server {sname} needs ADDR:PORT"))?;
    let (addr, port) = addr_port(ap, l, "server address")?;
    let addr = addr.ok_or(herr!(l, "server {sname}: needs an address"))?;
    let mut sv = Server::new(sname, addr, port, 1, false);
    let w: Vec<String> = w[..3]
        .iter()
        .chain(dflt.iter())
        .chain(w[3..].iter())
        .cloned()
        .collect();
    let mut i = 3;
    while i < w.len() {
        let val = || w.get(i + 1).ok_or(herr!(l, "'{}' needs a value", w[i]));
        match w[i].as_str() {
            "weight" => {
                sv.weight = val()?
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 256)
                    .ok_or(herr!(l, "weight: expected 0-256"))?;
                i += 2;
            }
            "check" => {
                sv.check = true;
                sv.health.enabled = true;
                i += 1;
            }
            "inter" => {
                be.inter_ns = dur_ns(val()?)
                    .filter(|n| *n > 0)
                    .ok_or(herr!(l, "inter: bad duration"))?;
                i += 2;
            }
            "rise" | "fall" => {
                let n = val()?.parse::<u32>().ok().filter(|n| *n > 0).ok_or(herr!(
                    l,
                    "{}: expected a number",
                    w[i]
                ))?;
                if w[i] == "rise" {
                    be.rise = n
                } else {
                    be.fall = n
                }
                i += 2;
            }
            "maxconn" | "port" | "cookie" => i += 2,
            "backup" | "ssl" | "verify" | "sni" => {
                return Err(herr!(l, "server option '{}' is not modelled", w[i]))
            }
            o => return Err(herr!(l, "unknown server option '{o}'")),
        }
    }
    Ok(sv)
}

fn parse_backend(
    s: &SectionLines,
    d: &Defaults,
    g: &[String],
) -> Result<(Backend, LogLines), HaproxyError> {
    let mut be = Backend::new(&s.name, d.mode.unwrap_or(Mode::Tcp));
    if let Some(b) = d.balance {
        be.balance = b;
    }
    be.forwardfor = d.forwardfor;
    be.httpchk = d.httpchk.clone();
    if s.kind == "backend" {
        be.stats = d.stats.clone();
    }
    let mut lg = d.log.clone();
    let mut stats = be.stats.take();
    let mut dflt: Vec<String> = Vec::new();
    for (l, w) in &s.lines {
        let l = *l;
        if log_line(w, l, g, &mut lg)? {
            continue;
        }
        if s.kind == "backend" && stats_line(w, l, &mut stats)? {
            continue;
        }
        match w[0].as_str() {
            "mode" => be.mode = parse_mode(w, l)?,
            "balance" => be.balance = parse_balance(w, l)?,
            "option" => match w.get(1).map(|x| x.as_str()) {
                Some("forwardfor") => be.forwardfor = true,
                Some("httpchk") => be.httpchk = Some(httpchk(w)),
                Some("tcp-check") => be.httpchk = None,
                Some(o) if option_noop(o) => {}
                o if s.kind == "listen" => {
                    let _ = o; // frontend options, parsed with the frontend
                }
                o => {
                    return Err(herr!(
                        l,
                        "option '{}' in backend {} is not modelled",
                        o.unwrap_or(""),
                        s.name
                    ))
                }
            },
            "server" => {
                let sv = server_line(w, l, &dflt, &mut be)?;
                be.servers.push(sv);
            }
            "http-check" => match (w.get(1).map(|x| x.as_str()), w.get(2).map(|x| x.as_str())) {
                (Some("expect"), Some("status")) => {
                    be.expect_status = Some(
                        w.get(3)
                            .and_then(|v| v.parse::<u16>().ok())
                            .filter(|c| (100..=599).contains(c))
                            .ok_or(herr!(l, "http-check expect status: expected a status code"))?,
                    );
                }
                _ => return Err(herr!(l, "only 'http-check expect status N' is modelled")),
            },
            "stick-table" => {}
            "stick" => {
                if matches!(
                    w.get(1).map(|x| x.as_str()),
                    Some("on" | "match" | "store-request")
                ) && w.get(2).map(|x| x.as_str()) == Some("src")
                {
                    be.stick_src = true;
                } else {
                    return Err(herr!(
                        l,
                        "only 'stick on src' (and match/store-request src) is modelled"
                    ));
                }
            }
            "timeout" | "retries" | "maxconn" | "fullconn" => {}
            "default-server" => dflt.extend(w.iter().skip(1).cloned()),
            // listen sections also carry frontend keywords
            "bind" | "acl" | "use_backend" | "default_backend" | "stats" | "http-request"
            | "capture"
                if s.kind == "listen" => {}
            o => return Err(herr!(l, "'{o}' in backend {} is not modelled", s.name)),
        }
    }
    // src/cfgparse.c: stats need HTTP mode ("'stats' statement ignored")
    be.stats = stats.filter(|_| be.mode == Mode::Http);
    Ok((be, lg))
}

fn parse_acl(w: &[String], l: usize) -> Result<(String, Cond), HaproxyError> {
    let an = w.get(1).ok_or(herr!(l, "acl needs a name"))?;
    let crit = w.get(2).map(|x| x.as_str()).unwrap_or("");
    let vals: Vec<String> = w
        .iter()
        .skip(3)
        .filter(|x| *x != "-i" && *x != "-m")
        .cloned()
        .collect();
    if vals.is_empty() {
        return Err(herr!(l, "acl {an}: no value to match"));
    }
    let c = match crit {
        "hdr(host)" | "hdr_dom(host)" | "req.hdr(host)" => Cond::Host(vals),
        "path_beg" => Cond::PathBeg(vals),
        "path" => Cond::Path(vals),
        "src" => Cond::Src(
            vals.iter()
                .map(|v| {
                    let v = if v.contains('/') {
                        v.clone()
                    } else {
                        format!("{v}/32")
                    };
                    v.parse::<ipnet::Ipv4Net>()
                        .map_err(|_| herr!(l, "acl {an}: bad network '{v}'"))
                })
                .collect::<Result<_, _>>()?,
        ),
        o => {
            return Err(herr!(
                l,
                "acl criterion '{o}' is not modelled: expected hdr(host), path_beg, path or src"
            ))
        }
    };
    Ok((an.clone(), c))
}

fn parse_use_backend(
    w: &[String],
    l: usize,
    f: &Frontend,
    be_index: &dyn Fn(&str) -> Option<usize>,
) -> Result<Rule, HaproxyError> {
    let bn = w.get(1).ok_or(herr!(l, "use_backend needs a backend"))?;
    let b = be_index(bn).ok_or(herr!(l, "use_backend {bn}: no such backend"))?;
    let mut alts = vec![Vec::new()];
    match w.get(2).map(|x| x.as_str()) {
        Some("if") | None => {}
        Some(o) => {
            return Err(herr!(
                l,
                "use_backend {bn} {o}: only 'if' conditions are modelled"
            ))
        }
    }
    for t in w.iter().skip(3) {
        if t == "or" || t == "||" {
            alts.push(Vec::new());
            continue;
        }
        let (neg, an) = match t.strip_prefix('!') {
            Some(r) => (true, r.to_string()),
            None => (false, t.clone()),
        };
        if !f.acls.iter().any(|(n, _)| *n == an) {
            return Err(herr!(
                l,
                "use_backend {bn}: no acl named '{an}' before this line"
            ));
        }
        alts.last_mut().expect("one").push((neg, an));
    }
    Ok(Rule {
        alternatives: alts,
        backend: b,
        text: w.join(" "),
    })
}

fn parse_frontend(
    s: &SectionLines,
    d: &Defaults,
    g: &[String],
    global: &Global,
    be_index: &dyn Fn(&str) -> Option<usize>,
) -> Result<Frontend, HaproxyError> {
    let mut f = Frontend {
        name: s.name.clone(),
        binds: Vec::new(),
        mode: d.mode.unwrap_or(Mode::Tcp),
        acls: Vec::new(),
        rules: Vec::new(),
        default_backend: if s.kind == "listen" {
            be_index(&s.name)
        } else {
            None
        },
        forwardfor: d.forwardfor,
        ingress: None,
        stats: None,
        log: None,
        uuid: 0,
        maxconn: global.maxconn,
        c: Default::default(),
    };
    let mut lg = d.log.clone();
    let mut stats = d.stats.clone();
    for (l, w) in &s.lines {
        let l = *l;
        if log_line(w, l, g, &mut lg)? || stats_line(w, l, &mut stats)? {
            continue;
        }
        match w[0].as_str() {
            "bind" => {
                let ap = w.get(1).ok_or(herr!(l, "bind needs ADDR:PORT"))?;
                f.binds.push(addr_port(ap, l, "bind")?);
            }
            "mode" => f.mode = parse_mode(w, l)?,
            "option" => match w.get(1).map(|x| x.as_str()) {
                Some("forwardfor") => f.forwardfor = true,
                Some(o) if option_noop(o) => {}
                Some("httpchk" | "tcp-check") if s.kind == "listen" => {}
                o => {
                    return Err(herr!(
                        l,
                        "option '{}' in frontend {} is not modelled",
                        o.unwrap_or(""),
                        s.name
                    ))
                }
            },
            "maxconn" => {
                f.maxconn = w
                    .get(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or(herr!(l, "maxconn: expected a number"))?;
            }
            "acl" => {
                let a = parse_acl(w, l)?;
                f.acls.push(a);
            }
            "use_backend" => {
                let r = parse_use_backend(w, l, &f, be_index)?;
                f.rules.push(r);
            }
            "default_backend" => {
                let bn = w
                    .get(1)
                    .ok_or(herr!(l, "default_backend needs a backend"))?;
                f.default_backend =
                    Some(be_index(bn).ok_or(herr!(l, "default_backend {bn}: no such backend"))?);
            }
            "timeout" | "http-request" | "capture" => {}
            _ if s.kind == "listen" => {} // backend keywords, parsed there
            o => return Err(herr!(l, "'{o}' in frontend {} is not modelled", s.name)),
        }
    }
    if f.binds.is_empty() {
        return Err(herr!(s.line, "{} {} has no bind", s.kind, s.name));
    }
    f.stats = stats.filter(|_| f.mode == Mode::Http);
    if f.default_backend.is_none() && f.rules.is_empty() && f.stats.is_none() {
        return Err(herr!(
            s.line,
            "frontend {} has no default_backend or use_backend",
            s.name
        ));
    }
    f.log = compile_log(&lg, f.mode, &f.name)?;
    Ok(f)
}

/// Parses haproxy.cfg text into a proxy named `name` (the host). Errors
/// name the line.
pub fn parse(name: &str, text: &str, rng: ChaCha8Rng) -> Result<Proxy, HaproxyError> {
    let sections = sections(text)?;
    let mut global = Global {
        maxconn: 4096,
        nbthread: 1,
    };
    let mut global_logs: Vec<String> = Vec::new();
    for s in sections.iter().filter(|s| s.kind == "global") {
        parse_global(s, &mut global, &mut global_logs)?;
    }
    // backends first: frontends refer to them by name
    let mut defaults = Defaults::default();
    let mut backends: Vec<Backend> = Vec::new();
    let mut section_defaults: Vec<Defaults> = Vec::new();
    let mut uuid = 0u32;
    let mut order: Vec<Section> = Vec::new();
    for s in &sections {
        section_defaults.push(defaults.clone());
        match s.kind.as_str() {
            "defaults" => {
                // a new defaults section starts from scratch
                defaults = Defaults::default();
                parse_defaults(s, &mut defaults, &global_logs)?;
            }
            "backend" | "listen" => {
                let (mut be, _) = parse_backend(s, &defaults, &global_logs)?;
                uuid += 1;
                be.uuid = uuid;
                order.push(Section {
                    name: s.name.clone(),
                    fe: None,
                    be: Some(backends.len()),
                });
                backends.push(be);
            }
            "frontend" => {
                uuid += 1;
                order.push(Section {
                    name: s.name.clone(),
                    fe: None,
                    be: None,
                });
            }
            _ => {}
        }
    }
    let be_index = |n: &str| backends.iter().position(|b| b.name == n);
    let mut frontends = Vec::new();
    for (si, s) in sections.iter().enumerate() {
        if s.kind != "frontend" && s.kind != "listen" {
            continue;
        }
        let mut f = parse_frontend(s, &section_defaults[si], &global_logs, &global, &be_index)?;
        let entry = order
            .iter_mut()
            .position(|o| o.name == s.name)
            .expect("every proxy section is in the order");
        f.uuid = entry as u32 + 1;
        order[entry].fe = Some(frontends.len());
        frontends.push(f);
    }
    if frontends.is_empty() {
        return Err(HaproxyError::NoFrontend);
    }
    let mut p = Proxy::new(
        &format!("haproxy {name}"),
        "haproxy",
        frontends,
        backends,
        rng,
    );
    p.sections = order;
    p.global = global;
    p.hostname = name.to_string();
    Ok(p)
}

fn httpchk(w: &[String]) -> (String, String) {
    match (w.get(2), w.get(3)) {
        (Some(m), Some(p)) => (m.clone(), p.clone()),
        (Some(p), None) if p.starts_with('/') => ("OPTIONS".into(), p.clone()),
        _ => ("OPTIONS".into(), "/".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    const CFG: &str = "global\n  maxconn 2000\ndefaults\n  mode http\n  timeout connect 5s\nfrontend fe\n  bind 10.0.0.50:80\n  acl api hdr(host) -i api.example.com\n  acl v1 path_beg /api/v1\n  use_backend be_api if api v1\n  default_backend be_web\nbackend be_api\n  balance leastconn\n  option httpchk GET /healthz\n  server a 10.0.0.100:80 check inter 2s\n  server b 10.0.0.101:80 weight 2 check\nbackend be_web\n  server w 10.0.0.9:80\n";

    fn p(cfg: &str) -> Result<Proxy, HaproxyError> {
        parse("lb", cfg, ChaCha8Rng::seed_from_u64(0))
    }

    #[test]
    fn parses_sections_acls_and_servers() {
        let p = p(CFG).unwrap();
        assert_eq!(p.frontends.len(), 1);
        let f = &p.frontends[0];
        assert_eq!(
            (f.binds.clone(), f.mode, f.maxconn),
            (
                vec![(Some(Ipv4Addr::new(10, 0, 0, 50)), 80)],
                Mode::Http,
                2000
            )
        );
        let r = super::super::proxy::ReqView {
            host: "API.example.com:80",
            path: "/api/v1/users",
            src: Ipv4Addr::new(1, 2, 3, 4),
        };
        assert_eq!(f.route(&r).unwrap().0, 0);
        let r2 = super::super::proxy::ReqView {
            host: "api.example.com",
            path: "/other",
            src: Ipv4Addr::new(1, 2, 3, 4),
        };
        assert_eq!(f.route(&r2).unwrap(), (1, "default_backend".into()));
        let b = &p.backends[0];
        assert_eq!(b.balance, Balance::LeastConn);
        assert_eq!(b.httpchk, Some(("GET".into(), "/healthz".into())));
        assert_eq!(b.servers[1].weight, 2);
        assert!(p.has_checks());
        // proxies are numbered in configuration order
        let ids: Vec<(String, u32)> = p
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i as u32 + 1))
            .collect();
        assert_eq!(ids[0], ("fe".into(), 1));
        assert_eq!(p.backends[1].uuid, 3);
    }

    #[test]
    fn errors_name_the_line() {
        let e = p("frontend fe\n  bind :80\n  default_backend nope\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "line 3: default_backend nope: no such backend");
        let e = p("backend b\n  balance uri\n  server s 1.1.1.1:80\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 2: balance 'uri' is not modelled"),
            "{e}"
        );
        let e = p("backend b\n  server s 1.1.1.1\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 2: server address"), "{e}");
        let e = p("global\n  nbproc 4\nfrontend f\n  bind :80\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 2: nbproc is not supported any more since HAProxy 2.5"),
            "{e}"
        );
        let e = p("global\n  frobnicate\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "line 2: unknown keyword 'frobnicate' in 'global' section"
        );
        let e = p("global\n  log 127.0.0.1 local9\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "line 2: unknown log facility 'local9'");
    }

    #[test]
    fn lines_split_as_haproxy_splits_them() {
        assert_eq!(
            split_line("  stats realm My\\ Realm # comment", 1).unwrap(),
            ["stats", "realm", "My Realm"]
        );
        assert_eq!(
            split_line("log-format \"%ci:%cp [%t] %{+Q}r\"", 1).unwrap(),
            ["log-format", "%ci:%cp [%t] %{+Q}r"]
        );
        assert_eq!(
            split_line("a 'b #c' d\\#e", 1).unwrap(),
            ["a", "b #c", "d#e"]
        );
        assert_eq!(split_line("x \\x41", 1).unwrap(), ["x", "A"]);
        assert_eq!(
            split_line("a \"b", 7).unwrap_err().to_string(),
            "line 7: unmatched quote"
        );
    }

    /// Seed 000's internal load balancer: `listen stats` with stats auth and
    /// the logging section; its own log-format with HTTP variables is
    /// refused in a TCP proxy, as HAProxy 2.6 refuses it.
    #[test]
    fn stats_and_logging_of_seed_000() {
        let cfg = "global\n    log 127.0.0.1 local0\n    log 127.0.0.1 local1 notice\ndefaults\n    log global\n    mode tcp\n    option tcplog\n    option dontlognull\nfrontend fe\n    bind 10.0.0.50:80\n    default_backend be\nbackend be\n    server s1 10.0.0.100:80 check\nlisten stats\n    bind 10.0.0.50:8080\n    mode http\n    stats enable\n    stats uri /stats\n    stats refresh 30s\n    stats auth admin:password\n";
        let p = p(cfg).unwrap();
        let fe = &p.frontends[0];
        let log = fe.log.as_ref().unwrap();
        // local1 notice takes no info-level traffic log
        assert_eq!(log.targets, ["127.0.0.1 local0"]);
        assert!(log.dontlognull && log.format.is_some());
        let st = &p.frontends[1];
        let s = st.stats.as_ref().unwrap();
        assert_eq!(
            (s.uri.as_str(), s.refresh_s, s.users.clone()),
            (
                "/stats",
                30,
                vec![("admin".to_string(), "password".to_string())]
            )
        );
        // the listen with no server is a backend of its own, without servers
        assert!(p.backends[1].servers.is_empty());
        let bad = cfg.replace(
            "    option tcplog\n",
            "    log-format \"%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %sslc %sslv %{+Q}r\"\n",
        );
        let e = super::parse("lb", &bad, ChaCha8Rng::seed_from_u64(0))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "line 7: failed to parse log-format for proxy 'fe' : format variable 'tr' is reserved for HTTP mode"
        );
        // stats in a TCP proxy are ignored, as HAProxy ignores them
        let tcp = p_tcp_stats();
        assert!(tcp.frontends[0].stats.is_none());
    }

    fn p_tcp_stats() -> Proxy {
        p("frontend f\n  bind :80\n  stats enable\n  default_backend b\nbackend b\n  server s 1.1.1.1:80\n")
            .unwrap()
    }
}
