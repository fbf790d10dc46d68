//! Routing a request: HAProxy's ACLs and `use_backend` rules, and
//! ingress-nginx's server blocks and locations.

use std::net::Ipv4Addr;

use super::balance::Mode;
use crate::app::haproxy_log::LogCfg;
use crate::app::haproxy_stats::{Counters, StatsCfg};

/// A condition of an ACL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `hdr(host) -i a b` (port stripped, case-insensitive)
    Host(Vec<String>),
    /// `path_beg /a /b`
    PathBeg(Vec<String>),
    /// `path /a` (exact)
    Path(Vec<String>),
    /// `src 10.0.0.0/8`
    Src(Vec<ipnet::Ipv4Net>),
}

/// What a request looks like to ACLs.
pub struct ReqView<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub src: Ipv4Addr,
}

impl Cond {
    pub fn matches(&self, r: &ReqView) -> bool {
        match self {
            Cond::Host(v) => {
                let h = r.host.split(':').next().unwrap_or("").to_ascii_lowercase();
                v.iter().any(|x| x.eq_ignore_ascii_case(&h))
            }
            Cond::PathBeg(v) => v.iter().any(|p| r.path.starts_with(p.as_str())),
            Cond::Path(v) => v.iter().any(|p| r.path == p),
            Cond::Src(v) => v.iter().any(|n| n.contains(&r.src)),
        }
    }
}

/// `use_backend B if a !b` (terms ANDed; `or`/`||` separate alternatives).
#[derive(Clone, Debug)]
pub struct Rule {
    pub alternatives: Vec<Vec<(bool, String)>>,
    pub backend: usize,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Frontend {
    pub name: String,
    /// `bind [ADDR]:PORT` lines (None: any address)
    pub binds: Vec<(Option<Ipv4Addr>, u16)>,
    pub mode: Mode,
    pub acls: Vec<(String, Cond)>,
    pub rules: Vec<Rule>,
    pub default_backend: Option<usize>,
    pub forwardfor: bool,
    /// ingress-nginx: server blocks by host, with locations; when set, they
    /// route instead of ACL rules.
    pub ingress: Option<Vec<IngressServer>>,
    /// `stats ...` of a frontend or listen section
    pub stats: Option<StatsCfg>,
    /// where and how its traffic is logged (`log`, `option tcplog`, ...)
    pub log: Option<LogCfg>,
    /// the proxy's id, in configuration order
    pub uuid: u32,
    /// `maxconn` (the global one when unset)
    pub maxconn: u64,
    pub c: Counters,
}

/// An nginx `server` block of ingress-nginx: one Ingress host.
#[derive(Clone, Debug)]
pub struct IngressServer {
    /// `api.example.com`, `*.example.com`, or `_` (any host)
    pub host: String,
    pub locations: Vec<Location>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathType {
    Exact,
    /// element-wise prefix ("/api" matches "/api" and "/api/x", not "/apix")
    Prefix,
    /// nginx's string prefix
    ImplementationSpecific,
}

#[derive(Clone, Debug)]
pub struct Location {
    pub path_type: PathType,
    pub path: String,
    pub backend: usize,
    /// `nginx.ingress.kubernetes.io/rewrite-target`
    pub rewrite: Option<String>,
    /// `ns/name` of the Ingress
    pub ingress: String,
}

impl Location {
    fn matches(&self, path: &str) -> bool {
        match self.path_type {
            PathType::Exact => path == self.path,
            PathType::ImplementationSpecific => path.starts_with(&self.path),
            PathType::Prefix => {
                let p = self.path.trim_end_matches('/');
                p.is_empty() || path == p || path.starts_with(&format!("{p}/"))
            }
        }
    }
}

/// What ingress-nginx does with a request.
pub enum IngressRoute {
    Proxy {
        backend: usize,
        rewrite: Option<String>,
        why: String,
    },
    /// Answered by nginx itself (404 from the default backend, /healthz).
    Respond { status: u16, why: String },
}

/// ingress-nginx's choice: the server block by Host (exact, then wildcard
/// one label deep, then the default server), then the location: Exact
/// before prefixes, the longest prefix first.
pub fn ingress_route(servers: &[IngressServer], host: &str, path: &str) -> IngressRoute {
    let h = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    let wildcard = |pat: &str| {
        pat.strip_prefix("*.").is_some_and(|suffix| {
            h.strip_suffix(suffix)
                .and_then(|r| r.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.'))
        })
    };
    let server = servers
        .iter()
        .find(|s| s.host == h)
        .or_else(|| servers.iter().find(|s| wildcard(&s.host)))
        .or_else(|| servers.iter().find(|s| s.host == "_"));
    let Some(server) = server else {
        if path == "/healthz" {
            return IngressRoute::Respond {
                status: 200,
                why: "default server: location /healthz".into(),
            };
        }
        return IngressRoute::Respond {
            status: 404,
            why: format!("no Ingress rule for host '{h}': default backend"),
        };
    };
    let mut best: Option<&Location> = None;
    for l in &server.locations {
        if !l.matches(path) {
            continue;
        }
        best = match best {
            None => Some(l),
            Some(b) => {
                let rank = |x: &Location| (x.path_type == PathType::Exact, x.path.len());
                if rank(l) > rank(b) {
                    Some(l)
                } else {
                    Some(b)
                }
            }
        };
    }
    match best {
        Some(l) => IngressRoute::Proxy {
            backend: l.backend,
            rewrite: l.rewrite.clone(),
            why: format!(
                "Ingress {}: host {} path {} ({:?})",
                l.ingress, server.host, l.path, l.path_type
            ),
        },
        None if path == "/healthz" && server.host == "_" => IngressRoute::Respond {
            status: 200,
            why: "default server: location /healthz".into(),
        },
        None => IngressRoute::Respond {
            status: 404,
            why: format!(
                "host {}: no path matches {path}: default backend",
                server.host
            ),
        },
    }
}

impl Frontend {
    fn acl(&self, name: &str, r: &ReqView) -> bool {
        self.acls.iter().any(|(n, c)| n == name && c.matches(r))
    }

    /// The backend for a request, and the rule that chose it.
    pub fn route(&self, r: &ReqView) -> Option<(usize, String)> {
        for rule in &self.rules {
            let hit = rule
                .alternatives
                .iter()
                .any(|terms| terms.iter().all(|(neg, a)| self.acl(a, r) != *neg));
            if hit {
                return Some((rule.backend, rule.text.clone()));
            }
        }
        self.default_backend
            .map(|b| (b, "default_backend".to_string()))
    }
}
