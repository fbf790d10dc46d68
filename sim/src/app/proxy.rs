//! A user-space TCP/HTTP proxy: it accepts the client's connection, picks a
//! server and opens its own connection to it, and relays. The model behind
//! HAProxy (configured from haproxy.cfg by `app/haproxy.rs`).
//!
//! - `mode tcp`: the server is chosen at accept; bytes are relayed both
//!   ways; a FIN on one side closes the other.
//! - `mode http`: the request is read whole, routed by ACLs (Host header,
//!   path) to a backend, sent to the chosen server (with X-Forwarded-For
//!   under `option forwardfor`); the response goes back and the server
//!   connection is closed (`option http-server-close`).
//! - balance roundrobin (weighted), leastconn, source, random (random(2):
//!   two weighted draws, the less loaded wins); `stick on src`.
//! - health checks on the virtual clock (`check`, `inter`, `rise`, `fall`,
//!   `option httpchk METHOD PATH`): servers go DOWN after `fall` failed
//!   checks and UP after `rise` good ones; a DOWN server gets no traffic.
//!
//! Simplifications (listed by `podpath explain`): roundrobin is smooth
//! weighted round robin (HAProxy's tree-based order can differ in which
//! server comes first, not in the shares); `source` hashes the address
//! with FNV-1a over the servers' weights (HAProxy's map-based hash
//! differs); no retries/redispatch (a failed connect gives the client 503
//! in http mode, a close in tcp mode); one request per client connection;
//! a check that is neither answered nor refused fails after `timeout
//! check` (= inter).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use super::{AppAction, AppEvent, FlowOf};
use crate::net::netfilter::TableKind;
use crate::net::netfilter::{Chooser, RuleRef, ScriptChooser};
use crate::net::tcp::ConnKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tcp,
    Http,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastConn,
    Source,
    /// random(N): N weighted draws, the least loaded wins.
    Random(u32),
}

impl Balance {
    pub fn name(self) -> String {
        match self {
            Balance::RoundRobin => "roundrobin".into(),
            Balance::LeastConn => "leastconn".into(),
            Balance::Source => "source".into(),
            Balance::Random(n) => format!("random({n})"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub weight: u32,
    pub check: bool,
    pub up: bool,
    /// consecutive good / failed checks
    ok_run: u32,
    fail_run: u32,
    /// current connections (leastconn, random)
    pub conns: u32,
    /// smooth weighted round robin's current weight
    cw: i64,
}

impl Server {
    pub fn new(name: &str, addr: Ipv4Addr, port: u16, weight: u32, check: bool) -> Server {
        Server {
            name: name.to_string(),
            addr,
            port,
            weight,
            check,
            up: true,
            ok_run: 0,
            fail_run: 0,
            conns: 0,
            cw: 0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Backend {
    pub name: String,
    pub mode: Mode,
    pub balance: Balance,
    pub servers: Vec<Server>,
    /// `option httpchk METHOD PATH` (None: a TCP connect check)
    pub httpchk: Option<(String, String)>,
    pub inter_ns: u64,
    pub rise: u32,
    pub fall: u32,
    pub forwardfor: bool,
    /// `stick on src`: client address -> server
    pub stick_src: bool,
    sticks: BTreeMap<Ipv4Addr, usize>,
    /// leastconn's round robin among equals
    lc_next: usize,
}

impl Backend {
    pub fn new(name: &str, mode: Mode) -> Backend {
        Backend {
            name: name.to_string(),
            mode,
            balance: Balance::RoundRobin,
            servers: Vec::new(),
            httpchk: None,
            inter_ns: 2_000_000_000,
            rise: 2,
            fall: 3,
            forwardfor: false,
            stick_src: false,
            sticks: BTreeMap::new(),
            lc_next: 0,
        }
    }

    /// Picks a server for a client; None when no server is UP. The string
    /// says why, for the trace.
    /// With `script` (`podpath paths`), `random`'s weighted draws are made
    /// as a chain of binary decisions (server i with weight_i / remaining
    /// weight), which the path enumeration forces both ways.
    pub fn choose(
        &mut self,
        client: Ipv4Addr,
        rng: &mut ChaCha8Rng,
        mut script: Option<&mut ScriptChooser>,
        program: &str,
    ) -> Option<(usize, String)> {
        let up: Vec<usize> = (0..self.servers.len())
            .filter(|&i| self.servers[i].up && self.servers[i].weight > 0)
            .collect();
        if up.is_empty() {
            return None;
        }
        if self.stick_src {
            if let Some(&s) = self.sticks.get(&client) {
                if up.contains(&s) {
                    return Some((
                        s,
                        format!("stick-table: {client} sticks to {}", self.servers[s].name),
                    ));
                }
            }
        }
        let total: u32 = up.iter().map(|&i| self.servers[i].weight).sum();
        let (s, why) = match self.balance {
            Balance::RoundRobin => {
                // smooth weighted round robin
                let mut best = up[0];
                for &i in &up {
                    self.servers[i].cw += self.servers[i].weight as i64;
                    if self.servers[i].cw > self.servers[best].cw {
                        best = i;
                    }
                }
                self.servers[best].cw -= total as i64;
                (
                    best,
                    format!(
                        "roundrobin over {} UP servers (total weight {total})",
                        up.len()
                    ),
                )
            }
            Balance::LeastConn => {
                // fewest connections per weight; round robin among equals
                let load = |s: &Server| (s.conns as u64 * 1_000_000) / s.weight.max(1) as u64;
                let min = up
                    .iter()
                    .map(|&i| load(&self.servers[i]))
                    .min()
                    .unwrap_or(0);
                let eq: Vec<usize> = up
                    .iter()
                    .copied()
                    .filter(|&i| load(&self.servers[i]) == min)
                    .collect();
                let pick = eq[self.lc_next % eq.len()];
                self.lc_next = self.lc_next.wrapping_add(1);
                (
                    pick,
                    format!(
                        "leastconn: {} has {} connection(s), the fewest",
                        self.servers[pick].name, self.servers[pick].conns
                    ),
                )
            }
            Balance::Source => {
                let mut h: u32 = 0x811c_9dc5;
                for b in client.octets() {
                    h ^= b as u32;
                    h = h.wrapping_mul(0x0100_0193);
                }
                let mut slot = h % total;
                let mut pick = up[0];
                for &i in &up {
                    if slot < self.servers[i].weight {
                        pick = i;
                        break;
                    }
                    slot -= self.servers[i].weight;
                }
                (
                    pick,
                    format!("source: hash of {client} mod total weight {total}"),
                )
            }
            Balance::Random(draws) => {
                let mut best: Option<usize> = None;
                for d in 0..draws.max(1) {
                    let mut pick = up[up.len() - 1];
                    if let Some(sc) = script.as_deref_mut() {
                        let mut remaining = total;
                        for (k, &i) in up.iter().enumerate().take(up.len() - 1) {
                            let w = self.servers[i].weight;
                            let p = w as f64 / remaining as f64;
                            let at = RuleRef {
                                table: TableKind::Nat,
                                chain: format!(
                                    "app:{program} backend {} random draw {} server {}",
                                    self.name,
                                    d + 1,
                                    self.servers[i].name
                                ),
                                rule: k + 1,
                            };
                            let threshold = (p * 2_147_483_648.0).round() as u32;
                            if sc.statistic_random(&at, p, threshold) {
                                pick = i;
                                break;
                            }
                            remaining -= w;
                        }
                    } else {
                        let mut slot = rng.next_u32() % total;
                        for &i in &up {
                            if slot < self.servers[i].weight {
                                pick = i;
                                break;
                            }
                            slot -= self.servers[i].weight;
                        }
                    }
                    best = Some(match best {
                        Some(b) if self.servers[b].conns <= self.servers[pick].conns => b,
                        _ => pick,
                    });
                }
                let b = best.unwrap_or(up[0]);
                (
                    b,
                    format!("random({draws}): {draws} weighted draws, the least loaded"),
                )
            }
        };
        if self.stick_src {
            self.sticks.insert(client, s);
        }
        Some((s, why))
    }
}

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
    pub bind: Option<Ipv4Addr>,
    pub port: u16,
    pub mode: Mode,
    pub acls: Vec<(String, Cond)>,
    pub rules: Vec<Rule>,
    pub default_backend: Option<usize>,
    pub forwardfor: bool,
    /// ingress-nginx: server blocks by host, with locations; when set, they
    /// route instead of ACL rules.
    pub ingress: Option<Vec<IngressServer>>,
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

#[derive(Clone, Debug)]
struct Session {
    frontend: usize,
    client: ConnKey,
    server: Option<ConnKey>,
    backend: usize,
    srv: usize,
    /// client bytes not yet sent to the server
    pending: Vec<u8>,
    server_connected: bool,
    /// http: the response bytes so far
    resp: Vec<u8>,
    done: bool,
    /// ingress-nginx rewrite-target for this request
    rewrite: Option<String>,
}

#[derive(Clone, Debug)]
enum ConnRole {
    Client(usize),
    Server(usize),
    Check(usize, usize),
}

/// A proxy process on a host.
#[derive(Clone, Debug)]
pub struct Proxy {
    pub name: String,
    /// "HAProxy", "ingress-nginx": how log lines name the program
    pub program: String,
    pub frontends: Vec<Frontend>,
    pub backends: Vec<Backend>,
    sessions: Vec<Session>,
    conns: BTreeMap<ConnKey, ConnRole>,
    rng: ChaCha8Rng,
    flow: u32,
    stopped: bool,
    /// check in flight per (backend, server): its connection, if opened
    checks: BTreeMap<(usize, usize), Option<ConnKey>>,
    log: Vec<String>,
}

const CHECK: u64 = 1 << 62;
const CHECK_TIMEOUT: u64 = 1 << 61;

impl Proxy {
    pub fn new(
        name: &str,
        program: &str,
        frontends: Vec<Frontend>,
        backends: Vec<Backend>,
        rng: ChaCha8Rng,
    ) -> Proxy {
        Proxy {
            name: name.to_string(),
            program: program.to_string(),
            frontends,
            backends,
            sessions: Vec::new(),
            conns: BTreeMap::new(),
            rng,
            flow: 0,
            stopped: false,
            checks: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    /// New endpoints for the backends, as ingress-nginx's Lua balancer gets
    /// them (no reload): servers still listed keep their state and
    /// connection counts, a removed one takes no new requests (requests in
    /// flight finish). Backends with health checks are left alone (their
    /// timers name servers by position; a hand-written haproxy.cfg does not
    /// follow the cluster anyway). Returns whether a backend changed.
    pub fn update_endpoints(&mut self, new: Proxy) -> bool {
        let mut changed = false;
        for nb in new.backends {
            let Some(bi) = self.backends.iter().position(|b| b.name == nb.name) else {
                continue;
            };
            let be = &mut self.backends[bi];
            if be.servers.iter().chain(&nb.servers).any(|s| s.check) {
                continue;
            }
            let key = |s: &Server| (s.addr, s.port, s.weight);
            if be.servers.iter().map(key).eq(nb.servers.iter().map(key)) {
                continue;
            }
            changed = true;
            let old = std::mem::take(&mut be.servers);
            let same = |a: &Server, b: &Server| a.addr == b.addr && a.port == b.port;
            let servers: Vec<Server> = nb
                .servers
                .into_iter()
                .map(|ns| match old.iter().find(|o| same(o, &ns)) {
                    Some(o) => Server {
                        weight: ns.weight,
                        ..o.clone()
                    },
                    None => ns,
                })
                .collect();
            let moved = |i: usize| -> usize {
                old.get(i)
                    .and_then(|o| servers.iter().position(|n| same(n, o)))
                    .unwrap_or(usize::MAX)
            };
            for sess in self.sessions.iter_mut().filter(|x| x.backend == bi) {
                sess.srv = moved(sess.srv);
            }
            be.sticks = std::mem::take(&mut be.sticks)
                .into_iter()
                .filter_map(|(c, i)| Some((c, moved(i))).filter(|x| x.1 != usize::MAX))
                .collect();
            be.lc_next = 0;
            be.servers = servers;
        }
        changed
    }

    pub fn has_checks(&self) -> bool {
        self.backends
            .iter()
            .any(|b| b.servers.iter().any(|s| s.check))
    }

    /// The frontend a connection to (addr, port) reaches.
    fn frontend_of(&self, addr: Ipv4Addr, port: u16) -> Option<usize> {
        self.frontends
            .iter()
            .position(|f| f.port == port && f.bind.is_none_or(|b| b == addr))
    }

    fn connect(
        &mut self,
        sid: usize,
        src: Ipv4Addr,
        host: &str,
        path: &str,
        script: Option<&mut ScriptChooser>,
    ) -> Vec<AppAction> {
        let s = &self.sessions[sid];
        let f = &self.frontends[s.frontend];
        let view = ReqView { host, path, src };
        let route = if let Some(servers) = &f.ingress {
            match ingress_route(servers, host, path) {
                IngressRoute::Proxy {
                    backend,
                    rewrite,
                    why,
                } => {
                    self.sessions[sid].rewrite = rewrite;
                    Some((backend, why))
                }
                IngressRoute::Respond { status, why } => {
                    self.sessions[sid].done = true;
                    return self.refuse(sid, status, &why);
                }
            }
        } else if f.mode == Mode::Http {
            f.route(&view)
        } else {
            f.default_backend
                .map(|b| (b, "default_backend".to_string()))
        };
        let s = &self.sessions[sid];
        let f = &self.frontends[s.frontend];
        let client = s.client;
        let Some((b, rule)) = route else {
            self.sessions[sid].done = true;
            return self.refuse(
                sid,
                503,
                &format!("{}: no backend for Host {host} path {path}", f.name),
            );
        };
        self.sessions[sid].backend = b;
        let fname = f.name.clone();
        let program = self.program.clone();
        let Some((srv, why)) = self.backends[b].choose(src, &mut self.rng, script, &program) else {
            self.sessions[sid].done = true;
            let bn = self.backends[b].name.clone();
            return self.refuse(sid, 503, &format!("backend {bn} has no server available"));
        };
        self.sessions[sid].srv = srv;
        let be = &mut self.backends[b];
        be.servers[srv].conns += 1;
        let sv = &be.servers[srv];
        let note = format!(
            "{}: frontend {fname} -> backend {} ({rule}) -> server {} {}:{} [{why}]",
            self.program, be.name, sv.name, sv.addr, sv.port
        );
        vec![AppAction::Connect {
            flow: FlowOf::Conn(client),
            dst: sv.addr,
            port: sv.port,
            token: sid as u64,
            note,
        }]
    }

    /// Answers the client with an error status (http) or closes it (tcp).
    fn refuse(&mut self, sid: usize, status: u16, why: &str) -> Vec<AppAction> {
        let s = &self.sessions[sid];
        let f = &self.frontends[s.frontend];
        if f.ingress.is_some() {
            // nginx's own pages
            let (reason, body) = match status {
                200 => ("OK", String::new()),
                503 => (
                    "Service Temporarily Unavailable",
                    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_string(),
                ),
                s => (
                    super::http::reason(s),
                    format!(
                        "<html>\r\n<head><title>{s} {r}</title></head>\r\n<body>\r\n<center><h1>{s} {r}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                        r = super::http::reason(s)
                    ),
                ),
            };
            let ct = if body.is_empty() {
                "text/plain"
            } else {
                "text/html"
            };
            let resp = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return vec![
                AppAction::Served(super::FlowOf::Conn(s.client)),
                AppAction::Send(
                    s.client,
                    resp.into_bytes(),
                    format!("{}: {status} ({why})", self.program),
                ),
                AppAction::Close(s.client),
            ];
        }
        if f.mode == Mode::Http {
            let body = format!(
                "<html><body><h1>{status} {}</h1>\nNo server is available to handle this request.\n</body></html>\n",
                super::http::reason(status)
            );
            let resp = format!(
                "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n{body}",
                super::http::reason(status),
                body.len()
            );
            vec![
                AppAction::Served(super::FlowOf::Conn(s.client)),
                AppAction::Send(
                    s.client,
                    resp.into_bytes(),
                    format!("{}: {status} ({why})", self.program),
                ),
                AppAction::Close(s.client),
            ]
        } else {
            self.log
                .push(format!("{}: {why}: client closed", self.program));
            vec![AppAction::Close(s.client)]
        }
    }

    fn release(&mut self, sid: usize) {
        let s = &self.sessions[sid];
        if s.server.is_some() || !s.done {
            let (b, srv) = (s.backend, s.srv);
            if let Some(sv) = self
                .backends
                .get_mut(b)
                .and_then(|be| be.servers.get_mut(srv))
            {
                sv.conns = sv.conns.saturating_sub(1);
            }
        }
    }

    /// The daemon flow's outcome: each checked backend's servers UP.
    fn check_summary(&self) -> AppAction {
        let parts: Vec<String> = self
            .backends
            .iter()
            .filter(|b| b.servers.iter().any(|s| s.check))
            .map(|b| {
                let up: Vec<&str> = b
                    .servers
                    .iter()
                    .filter(|s| s.up)
                    .map(|s| s.name.as_str())
                    .collect();
                format!(
                    "backend {}: {}/{} servers UP ({})",
                    b.name,
                    up.len(),
                    b.servers.len(),
                    up.join(", ")
                )
            })
            .collect();
        AppAction::Outcome(
            self.flow,
            crate::trace::Disposition::Daemon,
            format!("health checks: {}", parts.join("; ")),
        )
    }

    fn check_result(&mut self, b: usize, s: usize, ok: bool, why: &str) -> Vec<AppAction> {
        let mut out = self.check_result_inner(b, s, ok, why);
        if !out.is_empty() || self.checks.is_empty() {
            out.push(self.check_summary());
        }
        out
    }

    fn check_result_inner(&mut self, b: usize, s: usize, ok: bool, why: &str) -> Vec<AppAction> {
        if self.checks.remove(&(b, s)).is_none() {
            return vec![];
        }
        let be = &mut self.backends[b];
        let (rise, fall) = (be.rise, be.fall);
        let bname = be.name.clone();
        let sv = &mut be.servers[s];
        let mut out = Vec::new();
        if ok {
            sv.ok_run += 1;
            sv.fail_run = 0;
            if !sv.up && sv.ok_run >= rise {
                sv.up = true;
                out.push(AppAction::Log(format!(
                    "{}: Server {bname}/{} is UP, reason: {why}, check passed {rise} times",
                    self.program, sv.name
                )));
            }
        } else {
            sv.fail_run += 1;
            sv.ok_run = 0;
            if sv.up && sv.fail_run >= fall {
                sv.up = false;
                out.push(AppAction::Log(format!(
                    "{}: Server {bname}/{} is DOWN, reason: {why}, {fall} consecutive failed checks",
                    self.program, sv.name
                )));
                let left = be.servers.iter().filter(|x| x.up).count();
                if left == 0 {
                    out.push(AppAction::Log(format!(
                        "{}: backend {bname} has no server available!",
                        self.program
                    )));
                }
            }
        }
        out
    }

    fn check_token(b: usize, s: usize) -> u64 {
        CHECK | ((b as u64) << 16) | s as u64
    }

    pub fn on_event(
        &mut self,
        ev: &AppEvent,
        now: u64,
        script: Option<&mut ScriptChooser>,
    ) -> Vec<AppAction> {
        if self.stopped {
            return vec![];
        }
        match ev {
            AppEvent::Start { flow } => {
                self.flow = *flow;
                let mut out = vec![self.check_summary()];
                for (b, be) in self.backends.iter().enumerate() {
                    let n = be.servers.len().max(1) as u64;
                    for (s, sv) in be.servers.iter().enumerate() {
                        if sv.check {
                            // the first checks are spread over one interval
                            out.push(AppAction::Timer {
                                at_ns: now + be.inter_ns * s as u64 / n,
                                token: Self::check_token(b, s),
                            });
                        }
                    }
                }
                out
            }
            AppEvent::Stop => {
                self.stopped = true;
                vec![]
            }
            AppEvent::Timer { token } if token & CHECK_TIMEOUT != 0 => {
                let (b, s) = (((token >> 16) & 0xffff) as usize, (token & 0xffff) as usize);
                self.check_result(b, s, false, "Layer4 timeout")
            }
            AppEvent::Timer { token } if token & CHECK != 0 => {
                let (b, s) = (((token >> 16) & 0xffff) as usize, (token & 0xffff) as usize);
                let Some(be) = self.backends.get(b) else {
                    return vec![];
                };
                let Some(sv) = be.servers.get(s) else {
                    return vec![];
                };
                self.checks.insert((b, s), None);
                let what = match &be.httpchk {
                    Some((m, p)) => format!("{m} {p}"),
                    None => "TCP connect".into(),
                };
                vec![
                    AppAction::Connect {
                        flow: FlowOf::Id(self.flow),
                        dst: sv.addr,
                        port: sv.port,
                        token: token & !CHECK_TIMEOUT,
                        note: format!(
                            "{}: health check {}/{} ({what})",
                            self.program, be.name, sv.name
                        ),
                    },
                    AppAction::Timer {
                        at_ns: now + be.inter_ns,
                        token: *token,
                    },
                    AppAction::Timer {
                        at_ns: now + be.inter_ns - 1,
                        token: token | CHECK_TIMEOUT,
                    },
                ]
            }
            AppEvent::Opened { key, token } if token & CHECK != 0 => {
                let (b, s) = (((token >> 16) & 0xffff) as usize, (token & 0xffff) as usize);
                if let Some(c) = self.checks.get_mut(&(b, s)) {
                    *c = Some(*key);
                    self.conns.insert(*key, ConnRole::Check(b, s));
                }
                vec![]
            }
            AppEvent::ConnectFailed { token, why } if token & CHECK != 0 => {
                let (b, s) = (((token >> 16) & 0xffff) as usize, (token & 0xffff) as usize);
                self.check_result(b, s, false, &format!("Layer4 connection problem ({why})"))
            }
            AppEvent::Accepted { key, .. } => {
                let Some(f) = self.frontend_of(key.0, key.1) else {
                    return vec![AppAction::Close(*key)];
                };
                let sid = self.sessions.len();
                self.sessions.push(Session {
                    frontend: f,
                    client: *key,
                    server: None,
                    backend: 0,
                    srv: 0,
                    pending: Vec::new(),
                    server_connected: false,
                    resp: Vec::new(),
                    done: false,
                    rewrite: None,
                });
                self.conns.insert(*key, ConnRole::Client(sid));
                if self.frontends[f].mode == Mode::Tcp {
                    return self.connect(sid, key.2, "", "", script);
                }
                vec![]
            }
            AppEvent::Opened { key, token } => {
                let sid = *token as usize;
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.server = Some(*key);
                    self.conns.insert(*key, ConnRole::Server(sid));
                }
                vec![]
            }
            AppEvent::ConnectFailed { token, why } => {
                let sid = *token as usize;
                self.release(sid);
                self.refuse(sid, 503, why)
            }
            AppEvent::Connected { key } => match self.conns.get(key).cloned() {
                Some(ConnRole::Check(b, s)) => match self.backends[b].httpchk.clone() {
                    Some((m, p)) => vec![AppAction::Send(
                        *key,
                        format!("{m} {p} HTTP/1.0\r\n\r\n").into_bytes(),
                        format!("{}: health check {m} {p}", self.program),
                    )],
                    None => {
                        let mut out = self.check_result(b, s, true, "Layer4 check passed");
                        out.push(AppAction::Close(*key));
                        out
                    }
                },
                Some(ConnRole::Server(sid)) => {
                    let s = &mut self.sessions[sid];
                    s.server_connected = true;
                    let data = std::mem::take(&mut s.pending);
                    if data.is_empty() {
                        return vec![];
                    }
                    let note = format!("{}: request to the server", self.program);
                    vec![AppAction::Send(*key, data, note)]
                }
                _ => vec![],
            },
            AppEvent::Data { key, data } => match self.conns.get(key).cloned() {
                Some(ConnRole::Check(b, s)) => {
                    let line = String::from_utf8_lossy(data)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let code: u16 = line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0);
                    let ok = (200..400).contains(&code);
                    let why = if ok {
                        format!("Layer7 check passed, code: {code}")
                    } else {
                        format!("Layer7 wrong status, code: {code}")
                    };
                    let mut out = self.check_result(b, s, ok, &why);
                    out.push(AppAction::Close(*key));
                    out
                }
                Some(ConnRole::Client(sid)) => {
                    let f = self.sessions[sid].frontend;
                    if self.frontends[f].mode == Mode::Tcp {
                        let s = &mut self.sessions[sid];
                        match (s.server, s.server_connected) {
                            (Some(k), true) => vec![AppAction::Send(
                                k,
                                data.clone(),
                                format!("{}: relay", self.program),
                            )],
                            _ => {
                                s.pending.extend_from_slice(data);
                                vec![]
                            }
                        }
                    } else {
                        let s = &mut self.sessions[sid];
                        if s.server.is_some() || s.done {
                            return vec![];
                        }
                        s.pending.extend_from_slice(data);
                        let Some(end) = s.pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                            return vec![];
                        };
                        let head = String::from_utf8_lossy(&s.pending[..end]).to_string();
                        let line = head.lines().next().unwrap_or("").to_string();
                        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                        let host = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.trim()
                                    .eq_ignore_ascii_case("host")
                                    .then(|| v.trim().to_string())
                            })
                            .unwrap_or_default();
                        let client = s.client;
                        let out = self.connect(
                            sid,
                            client.2,
                            &host,
                            path.split('?').next().unwrap_or("/"),
                            script,
                        );
                        // the request as it goes to the server
                        let ingress = self.frontends[self.sessions[sid].frontend]
                            .ingress
                            .is_some();
                        let request_id = if ingress {
                            format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
                        } else {
                            String::new()
                        };
                        let s = &mut self.sessions[sid];
                        if s.done {
                            return out;
                        }
                        let be = &self.backends[s.backend];
                        let ff = self.frontends[s.frontend].forwardfor || be.forwardfor;
                        let mut lines: Vec<String> =
                            head.split("\r\n").map(|l| l.to_string()).collect();
                        if let (Some(target), Some(first)) = (&s.rewrite, lines.first_mut()) {
                            // nginx `rewrite (?i)PATH TARGET break;`: the
                            // whole URI becomes the target (query kept)
                            let mut w: Vec<String> =
                                first.split(' ').map(|x| x.to_string()).collect();
                            if w.len() == 3 {
                                let q = w[1]
                                    .split_once('?')
                                    .map(|x| format!("?{}", x.1))
                                    .unwrap_or_default();
                                w[1] = format!("{target}{q}");
                                *first = w.join(" ");
                            }
                        }
                        if ingress {
                            let port = client.1;
                            lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
                            lines.extend([
                                format!("X-Request-ID: {request_id}"),
                                format!("X-Real-IP: {}", client.2),
                                format!("X-Forwarded-For: {}", client.2),
                                format!(
                                    "X-Forwarded-Host: {}",
                                    host.split(':').next().unwrap_or("")
                                ),
                                format!("X-Forwarded-Port: {port}"),
                                "X-Forwarded-Proto: http".to_string(),
                                "X-Forwarded-Scheme: http".to_string(),
                                "X-Scheme: http".to_string(),
                                "Connection: close".to_string(),
                            ]);
                        } else if ff {
                            lines.push(format!("X-Forwarded-For: {}", client.2));
                        }
                        let mut req = lines.join("\r\n").into_bytes();
                        req.extend_from_slice(&s.pending[end..]);
                        s.pending = req;
                        out
                    }
                }
                Some(ConnRole::Server(sid)) => {
                    let f = self.sessions[sid].frontend;
                    let client = self.sessions[sid].client;
                    if self.frontends[f].mode == Mode::Tcp {
                        return vec![AppAction::Send(
                            client,
                            data.clone(),
                            format!("{}: relay", self.program),
                        )];
                    }
                    let s = &mut self.sessions[sid];
                    s.resp.extend_from_slice(data);
                    if !complete(&s.resp) {
                        return vec![];
                    }
                    let resp = std::mem::take(&mut s.resp);
                    let status = String::from_utf8_lossy(&resp)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let server = s.server;
                    s.done = true;
                    let mut out = vec![AppAction::Send(
                        client,
                        resp,
                        format!(
                            "{}: response {} to the client",
                            self.program,
                            status.trim_start_matches("HTTP/1.1 ")
                        ),
                    )];
                    if let Some(k) = server {
                        out.push(AppAction::Close(k));
                    }
                    out
                }
                None => vec![],
            },
            AppEvent::Eof { key } => match self.conns.get(key).cloned() {
                Some(ConnRole::Client(sid)) => {
                    let mut out = vec![AppAction::Close(*key)];
                    if let Some(k) = self.sessions[sid].server {
                        if self.frontends[self.sessions[sid].frontend].mode == Mode::Tcp {
                            out.push(AppAction::Close(k));
                        }
                    }
                    out
                }
                Some(ConnRole::Server(sid)) => {
                    let mut out = vec![AppAction::Close(*key)];
                    if self.frontends[self.sessions[sid].frontend].mode == Mode::Tcp {
                        out.push(AppAction::Close(self.sessions[sid].client));
                    }
                    out
                }
                Some(ConnRole::Check(..)) => vec![AppAction::Close(*key)],
                None => vec![],
            },
            AppEvent::Refused { key, .. }
            | AppEvent::Reset { key }
            | AppEvent::TimedOut { key, .. } => {
                let why = match ev {
                    AppEvent::Refused { why, .. } => format!("Layer4 connection problem ({why})"),
                    AppEvent::Reset { .. } => "Layer4 connection reset".to_string(),
                    _ => "Layer4 timeout".to_string(),
                };
                match self.conns.remove(key) {
                    Some(ConnRole::Check(b, s)) => self.check_result(b, s, false, &why),
                    Some(ConnRole::Server(sid)) => {
                        self.release(sid);
                        if self.sessions[sid].done {
                            return vec![];
                        }
                        self.sessions[sid].done = true;
                        self.refuse(sid, 503, &why)
                    }
                    Some(ConnRole::Client(sid)) => {
                        let mut out = Vec::new();
                        if let Some(k) = self.sessions[sid].server {
                            out.push(AppAction::Close(k));
                        }
                        out
                    }
                    None => vec![],
                }
            }
            AppEvent::Closed { key } => {
                if let Some(ConnRole::Server(sid)) = self.conns.remove(key) {
                    self.release(sid);
                }
                vec![]
            }
            _ => vec![],
        }
    }
}

/// A whole HTTP response: headers and Content-Length bytes of body.
fn complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    buf.len() - (end + 4) >= len
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn be(balance: Balance, weights: &[u32]) -> Backend {
        let mut b = Backend::new("be", Mode::Tcp);
        b.balance = balance;
        for (i, w) in weights.iter().enumerate() {
            b.servers.push(Server::new(
                &format!("s{i}"),
                Ipv4Addr::new(10, 0, 0, i as u8 + 1),
                80,
                *w,
                false,
            ));
        }
        b
    }

    #[test]
    fn roundrobin_follows_weights() {
        let mut b = be(Balance::RoundRobin, &[3, 1]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let picks: Vec<usize> = (0..8)
            .map(|_| {
                b.choose(Ipv4Addr::new(1, 1, 1, 1), &mut rng, None, "t")
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(picks.iter().filter(|&&p| p == 0).count(), 6);
        assert_eq!(picks, [0, 0, 1, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn down_servers_get_nothing_and_source_is_stable() {
        let mut b = be(Balance::Source, &[1, 1, 1]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = Ipv4Addr::new(192, 168, 1, 100);
        let first = b.choose(c, &mut rng, None, "t").unwrap().0;
        for _ in 0..5 {
            assert_eq!(b.choose(c, &mut rng, None, "t").unwrap().0, first);
        }
        for s in &mut b.servers {
            s.up = false;
        }
        assert!(b.choose(c, &mut rng, None, "t").is_none());
    }

    #[test]
    fn leastconn_prefers_the_idle_server() {
        let mut b = be(Balance::LeastConn, &[1, 1]);
        b.servers[0].conns = 3;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            b.choose(Ipv4Addr::new(1, 1, 1, 1), &mut rng, None, "t")
                .unwrap()
                .0,
            1
        );
    }
}
