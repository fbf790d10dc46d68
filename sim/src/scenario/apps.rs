//! A host's `apps`: the programs it runs, each parsed from its own
//! configuration (HAProxy, keepalived, ingress-nginx, Envoy) or from the
//! scenario's keys (http-server, dns-server, tcp-forward), and the ports
//! they bind (a second bind of a port is EADDRINUSE, as for the real
//! programs).

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::error::{Errs, ScenarioError};
use super::schema::{AppDoc, HostDoc};
use crate::app::launch::{self, StartError};
use crate::app::{App, HttpResponseSpec};
use crate::det::host_rng;
use crate::net::host::Host;

/// The host an app starts on: its name, the run's seed (each program's
/// random stream derives from it) and the file errors point into.
#[derive(Clone, Copy)]
struct Site<'a> {
    hname: &'a str,
    seed: u64,
    file: &'a str,
    e: &'a Errs<'a>,
}

/// `EADDRINUSE`: the port a program asks for is bound already; the error
/// points at the config (or `listen`) that asked. `what` prefixes the
/// message (`frontend web: `, `UDP `).
fn in_use<T>(
    e: &Errs,
    at: &Spanned<T>,
    key: String,
    what: &str,
    port: u16,
    hname: &str,
) -> ScenarioError {
    e.at(
        at,
        key,
        format!("{what}port {port} is already bound on {hname} (EADDRINUSE)"),
    )
}

/// Starts `hosts.NAME.apps` on `h`, in the file's order; the programs, by
/// their index in the host's app list (`World::apps`).
pub(super) fn build_apps(
    h: &mut Host,
    hd: &HostDoc,
    hname: &str,
    seed: u64,
    file: &str,
    e: &Errs,
) -> Result<Vec<App>, ScenarioError> {
    let kp = format!("hosts.{hname}");
    let site = Site {
        hname,
        seed,
        file,
        e,
    };
    let mut apps: Vec<App> = Vec::new();
    for (ai, ad) in hd.apps.iter().enumerate() {
        let ak = format!("{kp}.apps[{ai}]");
        let first = apps.len();
        if matches!(
            ad.kind.value.as_str(),
            "haproxy" | "keepalived" | "ingress-nginx" | "envoy" | "kube-network-policies"
        ) {
            start_configured(h, &mut apps, ad, &ak, site)?;
        } else if ad.kind.value == "tcp-forward" {
            start_tcp_forward(h, &mut apps, ad, &ak, site)?;
        } else {
            start_server(h, &mut apps, ad, &ak, site)?;
        }
        if ad.transparent {
            for owner in first..apps.len() {
                h.set_transparent(owner);
            }
        }
    }
    Ok(apps)
}

/// A program that reads a configuration file (`config`): HAProxy,
/// keepalived, ingress-nginx or Envoy. A parser's "line N: ..." is placed
/// on the scenario's line.
fn start_configured(
    h: &mut Host,
    apps: &mut Vec<App>,
    ad: &AppDoc,
    ak: &str,
    site: Site,
) -> Result<(), ScenarioError> {
    let Site { file, e, .. } = site;
    let Some(cfg) = &ad.config else {
        return Err(e.at(
            &ad.kind,
            format!("{ak}.config"),
            format!(
                "{} needs 'config' (its configuration file's text)",
                ad.kind.value
            ),
        ));
    };
    // "line N: ..." from the config parsers -> the scenario's line
    let base = (cfg.referenced.line() as usize).max(1);
    let cfg_err = |m: String| -> ScenarioError {
        let (line, msg) = match m.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
            Some((n, rest)) => match n.parse::<usize>() {
                Ok(n) => (base + n - 1, rest.to_string()),
                Err(_) => (base, m.clone()),
            },
            None => (base, m.clone()),
        };
        ScenarioError {
            file: file.into(),
            line,
            column: 0,
            key: format!("{ak}.config"),
            message: msg,
        }
    };
    match ad.kind.value.as_str() {
        "envoy" => start_envoy(h, apps, cfg, ak, &cfg_err, site),
        "ingress-nginx" => start_ingress_nginx(h, apps, ad, cfg, ak, &cfg_err, site),
        "haproxy" => start_haproxy(h, apps, cfg, ak, &cfg_err, site),
        "kube-network-policies" => start_kube_network_policies(h, apps, ad, cfg, ak, site),
        _ => start_keepalived(h, apps, cfg, ak, &cfg_err, site),
    }
}

/// A [`StartError`] of a program started from `config`, placed on the
/// scenario's line: a parser's "line N: ..." through `cfg_err`, the rest
/// at the `config` key.
fn place(
    err: StartError,
    e: &Errs,
    cfg: &Spanned<String>,
    ak: &str,
    cfg_err: &dyn Fn(String) -> ScenarioError,
) -> ScenarioError {
    match err {
        StartError::Config(m) => cfg_err(m),
        other => e.at(cfg, format!("{ak}.config"), other.to_string()),
    }
}

/// Envoy (the sidecar): it binds its outbound and inbound ports.
fn start_envoy(
    h: &mut Host,
    apps: &mut Vec<App>,
    cfg: &Spanned<String>,
    ak: &str,
    cfg_err: &dyn Fn(String) -> ScenarioError,
    site: Site,
) -> Result<(), ScenarioError> {
    launch::envoy(h, apps, site.seed, &cfg.value)
        .map(drop)
        .map_err(|x| place(x, site.e, cfg, ak, cfg_err))
}

/// ingress-nginx: it binds `listen`'s port (80 when not given).
fn start_ingress_nginx(
    h: &mut Host,
    apps: &mut Vec<App>,
    ad: &AppDoc,
    cfg: &Spanned<String>,
    ak: &str,
    cfg_err: &dyn Fn(String) -> ScenarioError,
    site: Site,
) -> Result<(), ScenarioError> {
    let e = site.e;
    let port = match &ad.listen {
        None => 80,
        Some(l) => l
            .value
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| {
                e.at(
                    l,
                    format!("{ak}.listen"),
                    format!("bad listen address '{}': expected [ADDR]:PORT", l.value),
                )
            })?,
    };
    launch::ingress_nginx(h, apps, site.seed, port, &cfg.value)
        .map(drop)
        .map_err(|x| place(x, e, cfg, ak, cfg_err))
}

/// kube-network-policies: its evaluator over the API objects in `config`,
/// bound to the nfnetlink queue `listen` names (kindnetd's 101 when not
/// given).
fn start_kube_network_policies(
    h: &mut Host,
    apps: &mut Vec<App>,
    ad: &AppDoc,
    cfg: &Spanned<String>,
    ak: &str,
    site: Site,
) -> Result<(), ScenarioError> {
    let e = site.e;
    let queue = match &ad.listen {
        None => crate::k8s::kindnet_policy::Config::default().queue,
        Some(l) => l.value.trim().parse::<u16>().map_err(|_| {
            e.at(
                l,
                format!("{ak}.listen"),
                format!(
                    "bad queue number '{}': expected 0-65535 (the nfnetlink queue it binds)",
                    l.value
                ),
            )
        })?,
    };
    launch::kube_network_policies(h, apps, queue, &cfg.value)
        .map(drop)
        .map_err(|x| e.at(cfg, format!("{ak}.config"), x.to_string()))
}

/// HAProxy: it binds every frontend's `bind` lines.
fn start_haproxy(
    h: &mut Host,
    apps: &mut Vec<App>,
    cfg: &Spanned<String>,
    ak: &str,
    cfg_err: &dyn Fn(String) -> ScenarioError,
    site: Site,
) -> Result<(), ScenarioError> {
    launch::haproxy(h, apps, site.seed, &cfg.value)
        .map(drop)
        .map_err(|x| place(x, site.e, cfg, ak, cfg_err))
}

/// keepalived: each vrrp_instance's interface must exist, and sends its
/// adverts from that interface's first address.
fn start_keepalived(
    h: &mut Host,
    apps: &mut Vec<App>,
    cfg: &Spanned<String>,
    ak: &str,
    cfg_err: &dyn Fn(String) -> ScenarioError,
    site: Site,
) -> Result<(), ScenarioError> {
    launch::keepalived(h, apps, &cfg.value)
        .map(drop)
        .map_err(|x| place(x, site.e, cfg, ak, cfg_err))
}

/// tcp-forward: a user-space TCP forwarder (minikube's service tunnel,
/// kubectl port-forward), HAProxy's model in tcp mode with one server.
fn start_tcp_forward(
    h: &mut Host,
    apps: &mut Vec<App>,
    ad: &AppDoc,
    ak: &str,
    site: Site,
) -> Result<(), ScenarioError> {
    let Site { hname, seed, e, .. } = site;
    let (Some(listen), Some(to)) = (&ad.listen, &ad.to) else {
        return Err(e.at(
            &ad.kind,
            format!("{ak}.to"),
            "tcp-forward needs 'listen: [ADDR]:PORT' and 'to: ADDR:PORT'".into(),
        ));
    };
    let name = ad.name.clone().unwrap_or_else(|| "tcp-forward".into());
    let cfg = format!(
        "frontend {name}\n  bind {}\n  mode tcp\n  default_backend to\nbackend to\n  mode tcp\n  server target {}\n",
        if listen.value.starts_with(':') { format!("*{}", listen.value) } else { listen.value.clone() },
        to.value
    );
    let rng = host_rng(seed, &format!("{hname}/{name}"));
    let mut p = crate::app::haproxy::parse(hname, &cfg, rng).map_err(|m| {
        let m = m.to_string();
        let m = m.split_once(": ").map(|x| x.1.to_string()).unwrap_or(m);
        e.at(to, ak.to_string(), m)
    })?;
    p.name = format!("{name} {hname}");
    p.program = name.clone();
    let idx = apps.len();
    let (bind, port) = p.frontends[0].binds[0];
    if h.listen_tcp(port, bind.map(Into::into), idx).is_err() {
        return Err(in_use(e, listen, format!("{ak}.listen"), "", port, hname));
    }
    crate::app::runtime::spawn(h, apps, App::Proxy(Box::new(p)));
    Ok(())
}

/// `listen: [ADDR]:PORT`: the port, and the address when one is given
/// (none, `*` and `0.0.0.0` mean every IPv4 address; `[::]:PORT` every
/// address of both families, as a program's AF_INET6 socket with
/// `bindv6only` 0 listens; `[ADDR]:PORT` one IPv6 address).
fn listen_addr(
    listen: &Spanned<String>,
    ak: &str,
    e: &Errs,
) -> Result<(u16, Option<std::net::IpAddr>), ScenarioError> {
    let port = listen
        .value
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| {
            e.at(
                listen,
                format!("{ak}.listen"),
                format!(
                    "bad listen address '{}': expected [ADDR]:PORT",
                    listen.value
                ),
            )
        })?;
    let bound = match listen.value.rsplit_once(':') {
        Some((a, _)) if !a.is_empty() && a != "0.0.0.0" && a != "*" => {
            let a = a
                .strip_prefix('[')
                .and_then(|x| x.strip_suffix(']'))
                .unwrap_or(a);
            Some(a.parse::<std::net::IpAddr>().map_err(|_| {
                e.at(
                    listen,
                    format!("{ak}.listen"),
                    format!("bad listen address '{a}'"),
                )
            })?)
        }
        _ => None,
    };
    Ok((port, bound))
}

/// A server the scenario describes itself: an http-server (its routes'
/// responses) or a dns-server (its A records), listening on `listen`.
fn start_server(
    h: &mut Host,
    apps: &mut Vec<App>,
    ad: &AppDoc,
    ak: &str,
    site: Site,
) -> Result<(), ScenarioError> {
    let Site { hname, e, .. } = site;
    let Some(listen) = &ad.listen else {
        return Err(e.at(
            &ad.kind,
            format!("{ak}.listen"),
            format!("{} needs 'listen: [ADDR]:PORT'", ad.kind.value),
        ));
    };
    let (port, bound) = listen_addr(listen, ak, e)?;
    match ad.kind.value.as_str() {
        "http-server" => {
            let routes = ad
                .routes
                .iter()
                .map(|(p, r)| {
                    (
                        p.clone(),
                        HttpResponseSpec {
                            status: r.status,
                            content_type: r.content_type.clone(),
                            body: r.body.clone(),
                        },
                    )
                })
                .collect();
            let name = ad.name.clone().unwrap_or_else(|| format!("{hname}:{port}"));
            if let Err(x) = launch::http_server(h, apps, &name, port, bound, routes) {
                return Err(e.at(listen, format!("{ak}.listen"), x.to_string()));
            }
        }
        "dns-server" => {
            // a name's addresses: an IPv4 one (its A record) and an IPv6
            // one (its AAAA record), `10.96.0.5` or `fd00::5` or both
            // (`10.96.0.5 fd00::5`, a dual-stack Service's)
            let mut records = BTreeMap::new();
            let mut records6 = BTreeMap::new();
            for (n, a) in &ad.records {
                let key = n.trim_end_matches('.').to_ascii_lowercase();
                for word in a.value.split([' ', ',']).filter(|w| !w.is_empty()) {
                    let bad = || {
                        e.at(
                            a,
                            format!("{ak}.records.{n}"),
                            format!("bad address '{word}': expected an IPv4 or IPv6 address"),
                        )
                    };
                    match word.parse::<std::net::IpAddr>().map_err(|_| bad())? {
                        std::net::IpAddr::V4(v) if !records.contains_key(&key) => {
                            records.insert(key.clone(), v);
                        }
                        std::net::IpAddr::V6(v) if !records6.contains_key(&key) => {
                            records6.insert(key.clone(), v);
                        }
                        _ => {
                            return Err(e.at(
                                a,
                                format!("{ak}.records.{n}"),
                                format!("two addresses of one family for '{n}': the table holds one A and one AAAA record a name"),
                            ))
                        }
                    }
                }
            }
            let name = ad.name.clone().unwrap_or_else(|| format!("{hname}:{port}"));
            if let Err(x) = launch::dns_server(h, apps, &name, port, (records, records6)) {
                return Err(e.at(listen, format!("{ak}.listen"), x.to_string()));
            }
        }
        "udp-echo-server" => {
            // each datagram's bytes sent back (RFC 862), as a bundle's
            // udp-echo-server
            let name = ad.name.clone().unwrap_or_else(|| format!("{hname}:{port}"));
            if let Err(x) = launch::udp_echo_server(h, apps, &name, port, false) {
                return Err(e.at(listen, format!("{ak}.listen"), x.to_string()));
            }
        }
        "sctp-echo-server" => {
            // each SCTP message sent back on its association
            let name = ad.name.clone().unwrap_or_else(|| format!("{hname}:{port}"));
            if let Err(x) = launch::sctp_echo_server(h, apps, &name, port, false) {
                return Err(e.at(listen, format!("{ak}.listen"), x.to_string()));
            }
        }
        other => {
            return Err(e.at(
                &ad.kind,
                format!("{ak}.kind"),
                format!("unknown app kind '{other}': expected http-server, dns-server, udp-echo-server, sctp-echo-server, haproxy, keepalived, ingress-nginx, envoy or tcp-forward"),
            ))
        }
    }
    Ok(())
}
