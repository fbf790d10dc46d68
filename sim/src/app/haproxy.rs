//! haproxy.cfg (a subset) into the proxy model of `app/proxy.rs`.
//!
//! Sections: `global` and `defaults` (mode, balance, option forwardfor,
//! option httpchk, timeouts ignored), `frontend` (bind, mode, acl,
//! use_backend, default_backend, option forwardfor), `backend` (mode,
//! balance roundrobin|leastconn|source|random[(N)], server NAME ADDR:PORT
//! [weight N] [check] [inter T] [rise N] [fall N], option httpchk,
//! stick-table / stick on src), `listen` (a frontend and backend in one).
//! ACL criteria: `hdr(host)` / `hdr_dom(host)` (-i), `path_beg`, `path`,
//! `src`. Anything else is an error naming the line, not silently ignored.

use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;

use super::proxy::{Backend, Balance, Cond, Frontend, Mode, Proxy, Rule, Server};

#[derive(Default, Clone)]
struct Defaults {
    mode: Option<Mode>,
    balance: Option<Balance>,
    forwardfor: bool,
    httpchk: Option<(String, String)>,
}

struct Section {
    kind: String,
    name: String,
    line: usize,
    lines: Vec<(usize, Vec<String>)>,
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
    } else {
        (s, 1_000_000) // HAProxy's default unit is the millisecond
    };
    n.parse::<u64>().ok().map(|v| v * mul)
}

fn parse_balance(w: &[String], l: usize) -> Result<Balance, String> {
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
                .ok_or(format!("line {l}: balance '{r}': expected random(N) with N >= 1"))?;
            Balance::Random(n)
        }
        o => {
            return Err(format!(
                "line {l}: balance '{o}' is not modelled: expected roundrobin, leastconn, source or random"
            ))
        }
    })
}

fn parse_mode(w: &[String], l: usize) -> Result<Mode, String> {
    match w.get(1).map(|s| s.as_str()) {
        Some("tcp") => Ok(Mode::Tcp),
        Some("http") => Ok(Mode::Http),
        o => Err(format!(
            "line {l}: mode '{}': expected tcp or http",
            o.unwrap_or("")
        )),
    }
}

fn addr_port(s: &str, l: usize, what: &str) -> Result<(Option<Ipv4Addr>, u16), String> {
    let (a, p) = s
        .rsplit_once(':')
        .ok_or(format!("line {l}: {what} '{s}': expected ADDR:PORT"))?;
    let port = p
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or(format!("line {l}: {what} '{s}': bad port '{p}'"))?;
    let addr = match a {
        "" | "*" | "0.0.0.0" => None,
        a => Some(
            a.parse::<Ipv4Addr>()
                .map_err(|_| format!("line {l}: {what} '{s}': bad address '{a}' (IPv4 only)"))?,
        ),
    };
    Ok((addr, port))
}

/// Parses haproxy.cfg text into a proxy named `name` (the host). Errors
/// name the line.
pub fn parse(name: &str, text: &str, rng: ChaCha8Rng) -> Result<Proxy, String> {
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = i + 1;
        let line = raw.split('#').next().unwrap_or("");
        let words: Vec<String> = line.split_whitespace().map(|w| w.to_string()).collect();
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
                    return Err(format!("line {l}: {k} needs a name"));
                }
                sections.push(Section {
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
                None => return Err(format!("line {l}: '{}' outside any section", words[0])),
            },
        }
    }
    // backends first: frontends refer to them by name
    let mut defaults = Defaults::default();
    let mut backends: Vec<Backend> = Vec::new();
    let mut be_lines: Vec<usize> = Vec::new();
    let mut section_defaults: Vec<Defaults> = Vec::new();
    for s in &sections {
        section_defaults.push(defaults.clone());
        match s.kind.as_str() {
            "defaults" => {
                for (l, w) in &s.lines {
                    match w[0].as_str() {
                        "mode" => defaults.mode = Some(parse_mode(w, *l)?),
                        "balance" => defaults.balance = Some(parse_balance(w, *l)?),
                        "option" => match w.get(1).map(|x| x.as_str()) {
                            Some("forwardfor") => defaults.forwardfor = true,
                            Some("httpchk") => defaults.httpchk = Some(httpchk(w)),
                            _ => {} // httplog, dontlognull, redispatch...: logging and retries
                        },
                        "timeout" | "log" | "retries" | "maxconn" => {}
                        o => return Err(format!("line {l}: '{o}' in defaults is not modelled")),
                    }
                }
            }
            "backend" | "listen" => {
                let d = &defaults;
                let mut be = Backend::new(&s.name, d.mode.unwrap_or(Mode::Tcp));
                if let Some(b) = d.balance {
                    be.balance = b;
                }
                be.forwardfor = d.forwardfor;
                be.httpchk = d.httpchk.clone();
                let mut dflt: Vec<String> = Vec::new();
                for (l, w) in &s.lines {
                    match w[0].as_str() {
                        "mode" => be.mode = parse_mode(w, *l)?,
                        "balance" => be.balance = parse_balance(w, *l)?,
                        "option" => match w.get(1).map(|x| x.as_str()) {
                            Some("forwardfor") => be.forwardfor = true,
                            Some("httpchk") => be.httpchk = Some(httpchk(w)),
                            Some("tcp-check") => be.httpchk = None,
                            _ => {}
                        },
                        "server" => {
                            let sname = w.get(1).ok_or(format!("line {l}: server needs a name"))?;
                            let ap = w
                                .get(2)
                                .ok_or(format!("line {l}: server {sname} needs ADDR:PORT"))?;
                            let (addr, port) = addr_port(ap, *l, "server address")?;
                            let addr =
                                addr.ok_or(format!("line {l}: server {sname}: needs an address"))?;
                            let mut sv = Server::new(sname, addr, port, 1, false);
                            // `default-server` options earlier in the section come first
                            let w: Vec<String> = w[..3]
                                .iter()
                                .chain(dflt.iter())
                                .chain(w[3..].iter())
                                .cloned()
                                .collect();
                            let mut i = 3;
                            while i < w.len() {
                                let val = || {
                                    w.get(i + 1)
                                        .ok_or(format!("line {l}: '{}' needs a value", w[i]))
                                };
                                match w[i].as_str() {
                                    "weight" => {
                                        sv.weight = val()?
                                            .parse::<u32>()
                                            .ok()
                                            .filter(|n| *n <= 256)
                                            .ok_or(format!("line {l}: weight: expected 0-256"))?;
                                        i += 2;
                                    }
                                    "check" => {
                                        sv.check = true;
                                        i += 1;
                                    }
                                    "inter" => {
                                        be.inter_ns = dur_ns(val()?)
                                            .filter(|n| *n > 0)
                                            .ok_or(format!("line {l}: inter: bad duration"))?;
                                        i += 2;
                                    }
                                    "rise" | "fall" => {
                                        let n =
                                            val()?.parse::<u32>().ok().filter(|n| *n > 0).ok_or(
                                                format!("line {l}: {}: expected a number", w[i]),
                                            )?;
                                        if w[i] == "rise" {
                                            be.rise = n
                                        } else {
                                            be.fall = n
                                        }
                                        i += 2;
                                    }
                                    "maxconn" | "port" | "cookie" => i += 2,
                                    "backup" | "ssl" | "verify" | "sni" => {
                                        return Err(format!(
                                            "line {l}: server option '{}' is not modelled",
                                            w[i]
                                        ))
                                    }
                                    o => {
                                        return Err(format!(
                                            "line {l}: unknown server option '{o}'"
                                        ))
                                    }
                                }
                            }
                            be.servers.push(sv);
                        }
                        "stick-table" => {}
                        "stick" => {
                            if matches!(
                                w.get(1).map(|x| x.as_str()),
                                Some("on" | "match" | "store-request")
                            ) && w.get(2).map(|x| x.as_str()) == Some("src")
                            {
                                be.stick_src = true;
                            } else {
                                return Err(format!("line {l}: only 'stick on src' (and match/store-request src) is modelled"));
                            }
                        }
                        "timeout" | "log" | "retries" | "maxconn" | "http-check" => {}
                        "default-server" => dflt.extend(w.iter().skip(1).cloned()),
                        // listen sections also carry frontend keywords
                        "bind" | "acl" | "use_backend" | "default_backend"
                            if s.kind == "listen" => {}
                        o => {
                            return Err(format!(
                                "line {l}: '{o}' in backend {} is not modelled",
                                s.name
                            ))
                        }
                    }
                }
                if be.servers.is_empty() {
                    return Err(format!(
                        "line {}: {} {} has no server",
                        s.line, s.kind, s.name
                    ));
                }
                backends.push(be);
                be_lines.push(s.line);
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
        let d = &section_defaults[si];
        let mut binds = Vec::new();
        let mut f = Frontend {
            name: s.name.clone(),
            bind: None,
            port: 0,
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
        };
        for (l, w) in &s.lines {
            match w[0].as_str() {
                "bind" => {
                    let ap = w.get(1).ok_or(format!("line {l}: bind needs ADDR:PORT"))?;
                    binds.push(addr_port(ap, *l, "bind")?);
                }
                "mode" => f.mode = parse_mode(w, *l)?,
                "option" => {
                    if w.get(1).map(|x| x.as_str()) == Some("forwardfor") {
                        f.forwardfor = true;
                    }
                }
                "acl" => {
                    let an = w.get(1).ok_or(format!("line {l}: acl needs a name"))?;
                    let crit = w.get(2).map(|x| x.as_str()).unwrap_or("");
                    let vals: Vec<String> = w
                        .iter()
                        .skip(3)
                        .filter(|x| *x != "-i" && *x != "-m")
                        .cloned()
                        .collect();
                    if vals.is_empty() {
                        return Err(format!("line {l}: acl {an}: no value to match"));
                    }
                    let c = match crit {
                        "hdr(host)" | "hdr_dom(host)" | "req.hdr(host)" => Cond::Host(vals),
                        "path_beg" => Cond::PathBeg(vals),
                        "path" => Cond::Path(vals),
                        "src" => Cond::Src(
                            vals.iter()
                                .map(|v| {
                                    let v = if v.contains('/') { v.clone() } else { format!("{v}/32") };
                                    v.parse::<ipnet::Ipv4Net>().map_err(|_| format!("line {l}: acl {an}: bad network '{v}'"))
                                })
                                .collect::<Result<_, _>>()?,
                        ),
                        o => {
                            return Err(format!(
                                "line {l}: acl criterion '{o}' is not modelled: expected hdr(host), path_beg, path or src"
                            ))
                        }
                    };
                    f.acls.push((an.clone(), c));
                }
                "use_backend" => {
                    let bn = w
                        .get(1)
                        .ok_or(format!("line {l}: use_backend needs a backend"))?;
                    let b = be_index(bn)
                        .ok_or(format!("line {l}: use_backend {bn}: no such backend"))?;
                    let mut alts = vec![Vec::new()];
                    match w.get(2).map(|x| x.as_str()) {
                        Some("if") => {}
                        Some(o) => {
                            return Err(format!(
                                "line {l}: use_backend {bn} {o}: only 'if' conditions are modelled"
                            ))
                        }
                        None => {}
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
                            return Err(format!(
                                "line {l}: use_backend {bn}: no acl named '{an}' before this line"
                            ));
                        }
                        alts.last_mut().expect("one").push((neg, an));
                    }
                    f.rules.push(Rule {
                        alternatives: alts,
                        backend: b,
                        text: w.join(" "),
                    });
                }
                "default_backend" => {
                    let bn = w
                        .get(1)
                        .ok_or(format!("line {l}: default_backend needs a backend"))?;
                    f.default_backend = Some(
                        be_index(bn)
                            .ok_or(format!("line {l}: default_backend {bn}: no such backend"))?,
                    );
                }
                "timeout" | "log" | "maxconn" | "http-request" | "capture" | "stats" => {}
                _ if s.kind == "listen" => {} // backend keywords, parsed above
                o => {
                    return Err(format!(
                        "line {l}: '{o}' in frontend {} is not modelled",
                        s.name
                    ))
                }
            }
        }
        if binds.is_empty() {
            return Err(format!(
                "line {}: {} {} has no bind",
                s.line, s.kind, s.name
            ));
        }
        if f.default_backend.is_none() && f.rules.is_empty() {
            return Err(format!(
                "line {}: frontend {} has no default_backend or use_backend",
                s.line, s.name
            ));
        }
        for (a, p) in binds {
            let mut g = f.clone();
            g.bind = a;
            g.port = p;
            frontends.push(g);
        }
    }
    if frontends.is_empty() {
        return Err("no frontend or listen section".into());
    }
    let _ = be_lines;
    Ok(Proxy::new(
        &format!("haproxy {name}"),
        "haproxy",
        frontends,
        backends,
        rng,
    ))
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

    #[test]
    fn parses_sections_acls_and_servers() {
        let p = parse("lb", CFG, ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert_eq!(p.frontends.len(), 1);
        let f = &p.frontends[0];
        assert_eq!(
            (f.bind, f.port, f.mode),
            (Some(Ipv4Addr::new(10, 0, 0, 50)), 80, Mode::Http)
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
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(
            "lb",
            "frontend fe\n  bind :80\n  default_backend nope\n",
            ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap_err();
        assert_eq!(e, "line 3: default_backend nope: no such backend");
        let e = parse(
            "lb",
            "backend b\n  balance uri\n  server s 1.1.1.1:80\n",
            ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap_err();
        assert!(
            e.starts_with("line 2: balance 'uri' is not modelled"),
            "{e}"
        );
        let e = parse(
            "lb",
            "backend b\n  server s 1.1.1.1\n",
            ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap_err();
        assert!(e.starts_with("line 2: server address"), "{e}");
    }
}
