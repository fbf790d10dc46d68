//! ingress-nginx: the controller's routing as nginx runs it, from the
//! routes podpath generates out of Ingress objects (`k8s/ingress.rs`). The
//! config text is podpath's own, one line per nginx construct:
//!
//! ```text
//! server api.example.com
//!   location Prefix /api/v1 upstream default-api-service-8080 rewrite / ingress default/api-ingress
//! upstream default-api-service-8080 10.244.0.10:8080 10.244.0.11:8080
//! ```
//!
//! Upstreams are the Service's ready endpoints (ingress-nginx balances
//! over endpoints itself, round robin), or the ClusterIP with the
//! `service-upstream` annotation. Requests get X-Request-ID, X-Real-IP and
//! X-Forwarded-* headers; hosts without a rule get the default backend's
//! 404, `/healthz` on the default server 200; an upstream without
//! endpoints gives 503.

use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;

use super::proxy::{
    Backend, Balance, Frontend, IngressServer, Location, Mode, PathType, Proxy, Server,
};

/// A line of the ingress-nginx config that podpath cannot read: the line
/// number and what is wrong (the keyword, the offending value, the
/// expected form).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IngressNginxError {
    pub line: usize,
    pub message: String,
}

/// An [`IngressNginxError`] at line `$l`, its message formatted as
/// `format!` formats.
macro_rules! ierr {
    ($l:expr, $($fmt:tt)+) => {
        IngressNginxError {
            line: $l,
            message: format!($($fmt)+),
        }
    };
}

/// Parses the config text of the ingress-nginx instance `name` listening on
/// `port`.
pub fn parse(
    name: &str,
    port: u16,
    text: &str,
    rng: ChaCha8Rng,
) -> Result<Proxy, IngressNginxError> {
    let mut servers: Vec<IngressServer> = Vec::new();
    let mut backends: Vec<Backend> = Vec::new();
    // locations refer to upstreams by name, possibly before they are listed
    let mut pending: Vec<(usize, usize, String, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = i + 1;
        let line = raw.split('#').next().unwrap_or("");
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.is_empty() {
            continue;
        }
        match w[0] {
            "server" => {
                let h = w.get(1).ok_or(ierr!(l, "server needs a host (or _)"))?;
                servers.push(IngressServer {
                    host: h.to_ascii_lowercase(),
                    locations: Vec::new(),
                });
            }
            "location" => {
                let sv = servers
                    .len()
                    .checked_sub(1)
                    .ok_or(ierr!(l, "location outside a server"))?;
                let pt = match w.get(1).copied() {
                    Some("Exact") => PathType::Exact,
                    Some("Prefix") => PathType::Prefix,
                    Some("ImplementationSpecific") => PathType::ImplementationSpecific,
                    o => {
                        return Err(ierr!(
                            l,
                            "path type '{}': expected Exact, Prefix or ImplementationSpecific",
                            o.unwrap_or("")
                        ))
                    }
                };
                let path = w.get(2).ok_or(ierr!(l, "location needs a path"))?;
                if !path.starts_with('/') {
                    return Err(ierr!(l, "path '{path}' must start with /"));
                }
                let mut loc = Location {
                    path_type: pt,
                    path: path.to_string(),
                    backend: usize::MAX,
                    rewrite: None,
                    ingress: String::new(),
                };
                let mut k = 3;
                let mut up = None;
                while k < w.len() {
                    let v = w.get(k + 1).ok_or(ierr!(l, "'{}' needs a value", w[k]))?;
                    match w[k] {
                        "upstream" => up = Some(v.to_string()),
                        "rewrite" => loc.rewrite = Some(v.to_string()),
                        "ingress" => loc.ingress = v.to_string(),
                        o => return Err(ierr!(l, "unknown location option '{o}'")),
                    }
                    k += 2;
                }
                let up = up.ok_or(ierr!(l, "location {path} has no upstream"))?;
                let li = servers[sv].locations.len();
                servers[sv].locations.push(loc);
                pending.push((sv, li, up, l));
            }
            "upstream" => {
                let n = w.get(1).ok_or(ierr!(l, "upstream needs a name"))?;
                let mut b = Backend::new(n, Mode::Http);
                b.balance = Balance::RoundRobin;
                for (j, ep) in w.iter().skip(2).enumerate() {
                    let (a, p) = ep
                        .rsplit_once(':')
                        .ok_or(ierr!(l, "endpoint '{ep}': expected ADDR:PORT"))?;
                    let addr: Ipv4Addr = a
                        .parse()
                        .map_err(|_| ierr!(l, "endpoint '{ep}': bad address"))?;
                    let port: u16 = p
                        .parse()
                        .map_err(|_| ierr!(l, "endpoint '{ep}': bad port"))?;
                    b.servers
                        .push(Server::new(&format!("{n}-{j}"), addr, port, 1, false));
                }
                backends.push(b);
            }
            o => {
                return Err(ierr!(
                    l,
                    "unknown keyword '{o}': expected server, location or upstream"
                ))
            }
        }
    }
    for (sv, li, up, l) in pending {
        let b = backends
            .iter()
            .position(|b| b.name == up)
            .ok_or(ierr!(l, "no upstream named '{up}'"))?;
        servers[sv].locations[li].backend = b;
    }
    let f = Frontend {
        name: "ingress-nginx".into(),
        binds: vec![(None, port)],
        mode: Mode::Http,
        acls: Vec::new(),
        rules: Vec::new(),
        default_backend: None,
        forwardfor: true,
        ingress: Some(servers),
        stats: None,
        log: None,
        uuid: 1,
        maxconn: 4096,
        c: Default::default(),
    };
    Ok(Proxy::new(
        &format!("ingress-nginx {name}"),
        "ingress-nginx",
        vec![f],
        backends,
        rng,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::proxy::{ingress_route, IngressRoute};
    use super::*;
    use rand_core::SeedableRng;

    const CFG: &str = "server api.example.com\n  location Prefix /api/v1 upstream a rewrite / ingress default/api\n  location Exact /api/v1/users upstream b ingress default/api\nserver *.example.com\n  location Prefix / upstream b ingress default/wild\nupstream a 10.244.0.10:8080\nupstream b\n";

    fn route(host: &str, path: &str) -> String {
        let p = parse("n", 80, CFG, ChaCha8Rng::seed_from_u64(0)).unwrap();
        match ingress_route(p.frontends[0].ingress.as_ref().unwrap(), host, path) {
            IngressRoute::Proxy {
                backend, rewrite, ..
            } => format!("{} {:?}", p.backends[backend].name, rewrite),
            IngressRoute::Respond { status, .. } => status.to_string(),
        }
    }

    #[test]
    fn kubernetes_path_matching() {
        assert_eq!(route("api.example.com", "/api/v1/orders"), "a Some(\"/\")");
        assert_eq!(route("api.example.com", "/api/v1"), "a Some(\"/\")");
        // element-wise prefix: /api/v1x is not under /api/v1
        assert_eq!(route("api.example.com", "/api/v1x"), "404");
        // Exact beats the prefix
        assert_eq!(route("API.example.com:80", "/api/v1/users"), "b None");
        // wildcard: one label only
        assert_eq!(route("www.example.com", "/x"), "b None");
        assert_eq!(route("a.b.example.com", "/x"), "404");
        assert_eq!(route("other.org", "/healthz"), "200");
        assert_eq!(route("other.org", "/"), "404");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(
            "n",
            80,
            "server a\n  location Regex /x upstream u\n",
            ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("line 2: path type 'Regex'"), "{e}");
        let e = parse(
            "n",
            80,
            "server a\n  location Prefix /x upstream u\n",
            ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "line 2: no upstream named 'u'");
    }
}
