//! A user-space TCP/HTTP proxy: it accepts the client's connection, picks a
//! server and opens its own connection to it, and relays. The model behind
//! HAProxy (configured from haproxy.cfg by `app/haproxy.rs`) and
//! ingress-nginx.
//!
//! - `mode tcp`: the server is chosen at accept; bytes are relayed both
//!   ways; a FIN on one side closes the other.
//! - `mode http`: the request is read whole, routed by ACLs (Host header,
//!   path) to a backend, sent to the chosen server (with X-Forwarded-For
//!   under `option forwardfor`); the response goes back and the server
//!   connection is closed (`option http-server-close`). A request for the
//!   `stats uri` is answered by the stats page (`app/haproxy_stats.rs`).
//! - balance roundrobin (weighted), leastconn, source, random (`balance.rs`).
//! - health checks on the virtual clock (`check`, `inter`, `rise`, `fall`,
//!   `option httpchk METHOD PATH`, `http-check expect status N`) with
//!   HAProxy's health counter (src/check.c `set_server_check_status()`): a
//!   server starts UP with health = rise, so one failure takes it DOWN at
//!   first; once fully up it takes `fall` failures; `rise` successes bring
//!   it back.
//! - the traffic log (`app/haproxy_log.rs`): one line per stream at its
//!   end, into the flow's trace.
//!
//! Simplifications (listed by `podpath explain`): roundrobin is smooth
//! weighted round robin (HAProxy's tree-based order can differ in which
//! server comes first, not in the shares); `source` hashes the address
//! with FNV-1a over the servers' weights (HAProxy's map-based hash
//! differs); no retries/redispatch (a failed connect gives the client 503
//! in http mode, a close in tcp mode); one request per client connection;
//! a check that is neither answered nor refused fails after `timeout
//! check` (= inter); log lines go into the trace, not to syslog datagrams.

mod balance;
mod route;

pub use balance::{Backend, Balance, Mode, Server};
pub use route::{
    ingress_route, Cond, Frontend, IngressRoute, IngressServer, Location, PathType, ReqView, Rule,
};

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use super::haproxy_log::LogCtx;
use super::haproxy_stats as stats;
use super::{ip4, AppAction, AppEvent, FlowOf};
use crate::net::netfilter::ScriptChooser;
use crate::net::tcp::ConnKey;

/// What answers a stream: a server, the stats page, or nobody yet.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    None,
    Server(usize, usize),
    Stats,
}

/// One client connection and its stream (one request per connection).
#[derive(Clone, Debug)]
struct Session {
    frontend: usize,
    client: ConnKey,
    flow: u32,
    server: Option<ConnKey>,
    backend: Option<usize>,
    target: Target,
    /// client bytes not yet sent to the server
    pending: Vec<u8>,
    server_connected: bool,
    /// http: the response bytes so far
    resp: Vec<u8>,
    done: bool,
    /// ingress-nginx rewrite-target for this request
    rewrite: Option<String>,
    /// `struct strm_logs`: the accept date (virtual ns) and the timers in
    /// ms from it (-1: did not happen)
    accept_ns: u64,
    t_idle: i64,
    t_request: i64,
    t_queue: i64,
    t_connect: i64,
    t_data: i64,
    bytes_in: u64,
    bytes_out: u64,
    status: i32,
    /// termination state: `sess_term_cond`, `sess_fin_state`
    term: (char, char),
    req_line: Option<String>,
    client_eof: bool,
    server_eof: bool,
    logged: bool,
    /// counted in the frontend's (and process's) current connections
    open: bool,
    /// counted in the backend's and the server's current sessions
    be_counted: bool,
    srv_counted: bool,
}

#[derive(Clone, Debug)]
enum ConnRole {
    Client(usize),
    Server(usize),
    Check(usize, usize),
}

/// A check in flight: its connection once opened, and when it started.
#[derive(Clone, Debug)]
struct CheckRun {
    key: Option<ConnKey>,
    start_ns: u64,
}

/// A `frontend`, `backend` or `listen` section in configuration order:
/// the stats page lists proxies this way.
#[derive(Clone, Debug)]
pub struct Section {
    pub name: String,
    pub fe: Option<usize>,
    pub be: Option<usize>,
}

/// The `global` section's settings that show.
#[derive(Clone, Debug)]
pub struct Global {
    pub maxconn: u64,
    pub nbthread: u32,
}

/// A proxy process on a host.
#[derive(Clone, Debug)]
pub struct Proxy {
    pub name: String,
    /// "haproxy", "ingress-nginx": how log lines name the program
    pub program: String,
    pub frontends: Vec<Frontend>,
    pub backends: Vec<Backend>,
    /// configuration order of the sections (the stats page's order)
    pub sections: Vec<Section>,
    pub global: Global,
    /// the host's name (`%H`, `stats show-node`)
    pub hostname: String,
    /// The configuration text it was started from (haproxy.cfg,
    /// nginx.conf), as given: what live mode hands the real program and a
    /// snapshot writes beside the host's state.
    pub config_text: String,
    sessions: Vec<Session>,
    conns: BTreeMap<ConnKey, ConnRole>,
    rng: ChaCha8Rng,
    flow: u32,
    stopped: bool,
    /// check in flight per (backend, server)
    checks: BTreeMap<(usize, usize), CheckRun>,
    start_ns: u64,
    /// current client connections of the process (`actconn`)
    actconn: u32,
    /// streams so far (`%rt`), log lines so far (`%lc`)
    uniq_id: u64,
    log_count: u64,
}

const CHECK: u64 = 1 << 62;
const CHECK_TIMEOUT: u64 = 1 << 61;

/// Milliseconds since the Unix epoch of a virtual time.
fn epoch_ms(ns: u64) -> u64 {
    crate::trace::EPOCH_UNIX_S * 1000 + ns / 1_000_000
}

fn ms_since(from_ns: u64, now_ns: u64) -> i64 {
    (now_ns.saturating_sub(from_ns) / 1_000_000) as i64
}

impl Proxy {
    pub fn new(
        name: &str,
        program: &str,
        frontends: Vec<Frontend>,
        backends: Vec<Backend>,
        rng: ChaCha8Rng,
    ) -> Proxy {
        let mut sections: Vec<Section> = frontends
            .iter()
            .enumerate()
            .map(|(i, f)| Section {
                name: f.name.clone(),
                fe: Some(i),
                be: None,
            })
            .collect();
        sections.extend(backends.iter().enumerate().map(|(i, b)| Section {
            name: b.name.clone(),
            fe: None,
            be: Some(i),
        }));
        Proxy {
            name: name.to_string(),
            program: program.to_string(),
            frontends,
            backends,
            sections,
            global: Global {
                maxconn: 4096,
                nbthread: 1,
            },
            hostname: name.rsplit(' ').next().unwrap_or(name).to_string(),
            config_text: String::new(),
            sessions: Vec::new(),
            conns: BTreeMap::new(),
            rng,
            flow: 0,
            stopped: false,
            checks: BTreeMap::new(),
            start_ns: 0,
            actconn: 0,
            uniq_id: 0,
            log_count: 0,
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
            let moved = |i: usize| -> Option<usize> {
                old.get(i)
                    .and_then(|o| servers.iter().position(|n| same(n, o)))
            };
            for sess in self.sessions.iter_mut() {
                if let Target::Server(b, s) = sess.target {
                    if b == bi {
                        match moved(s) {
                            Some(n) => sess.target = Target::Server(b, n),
                            None => {
                                sess.target = Target::None;
                                sess.srv_counted = false;
                            }
                        }
                    }
                }
            }
            be.rebase_sticks(&moved);
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
        self.frontends.iter().position(|f| {
            f.binds
                .iter()
                .any(|(a, p)| *p == port && a.is_none_or(|b| b == addr))
        })
    }

    fn http(&self, sid: usize) -> bool {
        self.frontends[self.sessions[sid].frontend].mode == Mode::Http
    }

    /// The backend takes the stream (`stream_set_backend()`): its current
    /// and total sessions.
    fn set_backend(&mut self, sid: usize, b: usize, now: u64) {
        let s = &mut self.sessions[sid];
        if s.backend.is_none() {
            s.backend = Some(b);
            s.be_counted = true;
            // the request bytes read so far count for the backend too
            let n = s.bytes_in;
            let be = &mut self.backends[b];
            be.c.sess(epoch_ms(now));
            be.c.bin += n;
        }
    }

    /// Routes the request (http) or the connection (tcp) and connects to
    /// the chosen server.
    fn connect(
        &mut self,
        sid: usize,
        src: Ipv4Addr,
        host: &str,
        path: &str,
        now: u64,
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
                    return self.refuse(sid, status, &why, now);
                }
            }
        } else if f.mode == Mode::Http {
            f.route(&view)
        } else {
            f.default_backend
                .map(|b| (b, "default_backend".to_string()))
        };
        let fname = f.name.clone();
        let Some((b, rule)) = route else {
            self.sessions[sid].done = true;
            self.sessions[sid].term = ('S', 'C');
            return self.refuse(
                sid,
                503,
                &format!("{fname}: no backend for Host {host} path {path}"),
                now,
            );
        };
        self.set_backend(sid, b, now);
        let program = self.program.clone();
        let Some((srv, why)) = self.backends[b].choose(src, &mut self.rng, script, &program) else {
            // srv_redispatch_connect(): SRV_STATUS_NOSRV, STRM_ET_CONN_ERR
            self.sessions[sid].done = true;
            self.sessions[sid].term = ('S', 'C');
            let bn = self.backends[b].name.clone();
            return self.refuse(
                sid,
                503,
                &format!("backend {bn} has no server available"),
                now,
            );
        };
        let ms = epoch_ms(now);
        let s = &mut self.sessions[sid];
        s.target = Target::Server(b, srv);
        s.srv_counted = true;
        s.t_queue = ms_since(s.accept_ns, now);
        let client = s.client;
        let n = s.bytes_in;
        let http = self.frontends[s.frontend].mode == Mode::Http;
        let be = &mut self.backends[b];
        be.c.lbtot += 1;
        if http {
            be.c.h1_bytes_out += n;
        }
        let sv = &mut be.servers[srv];
        sv.conns += 1;
        sv.c.lbtot += 1;
        sv.c.sess(ms);
        sv.c.bin += n;
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
    fn refuse(&mut self, sid: usize, status: u16, why: &str, now: u64) -> Vec<AppAction> {
        let s = &self.sessions[sid];
        let f = &self.frontends[s.frontend];
        let client = s.client;
        if f.ingress.is_some() {
            let resp = nginx_page(status);
            let mut out = vec![AppAction::Served(FlowOf::Conn(client))];
            out.extend(self.reply(
                sid,
                resp.into_bytes(),
                status,
                format!("{status} ({why})"),
                now,
            ));
            out.push(AppAction::Close(client));
            return out;
        }
        if f.mode == Mode::Http {
            // src/http.c http_err_msgs[]
            let body = format!(
                "<html><body><h1>{status} {}</h1>\nNo server is available to handle this request.\n</body></html>\n",
                super::http::reason(status)
            );
            let resp = format!(
                "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n{body}",
                super::http::reason(status),
                body.len()
            );
            let mut out = vec![AppAction::Served(FlowOf::Conn(client))];
            out.extend(self.reply(
                sid,
                resp.into_bytes(),
                status,
                format!("{status} ({why})"),
                now,
            ));
            out.push(AppAction::Close(client));
            self.client_gone(sid);
            out
        } else {
            let mut out = vec![AppAction::Log(format!(
                "{}: {why}: client closed",
                self.program
            ))];
            out.extend(self.finish(sid, now));
            out.push(AppAction::Close(client));
            out
        }
    }

    /// Sends a response HAProxy makes itself, counts it and ends the stream.
    fn reply(
        &mut self,
        sid: usize,
        resp: Vec<u8>,
        status: u16,
        what: String,
        now: u64,
    ) -> Vec<AppAction> {
        let s = &mut self.sessions[sid];
        s.status = status as i32;
        s.bytes_out += resp.len() as u64;
        let client = s.client;
        let n = resp.len() as u64;
        self.count_out(sid, n);
        let mut out = vec![AppAction::Send(
            client,
            resp,
            format!("{}: {what}", self.program),
        )];
        out.extend(self.finish(sid, now));
        out
    }

    /// Bytes toward the client, on the frontend, backend and server.
    fn count_out(&mut self, sid: usize, n: u64) {
        let s = &self.sessions[sid];
        let (f, b, t) = (s.frontend, s.backend, s.target.clone());
        let http = self.frontends[f].mode == Mode::Http;
        let fe = &mut self.frontends[f].c;
        fe.bout += n;
        if http {
            fe.h1_bytes_out += n;
        }
        if let Some(b) = b {
            self.backends[b].c.bout += n;
            if let Target::Server(b, sv) = t {
                if let Some(sv) = self.backends[b].servers.get_mut(sv) {
                    sv.c.bout += n;
                }
                if http {
                    self.backends[b].c.h1_bytes_in += n;
                }
            }
        }
    }

    /// Bytes from the client, on the frontend, backend and server.
    fn count_in(&mut self, sid: usize, n: u64) {
        let s = &mut self.sessions[sid];
        s.bytes_in += n;
        let (f, b, t) = (s.frontend, s.backend, s.target.clone());
        let http = self.frontends[f].mode == Mode::Http;
        let fe = &mut self.frontends[f].c;
        fe.bin += n;
        if http {
            fe.h1_bytes_in += n;
        }
        if let Some(b) = b {
            self.backends[b].c.bin += n;
            if let Target::Server(b, sv) = t {
                if let Some(sv) = self.backends[b].servers.get_mut(sv) {
                    sv.c.bin += n;
                }
                if http {
                    self.backends[b].c.h1_bytes_out += n;
                }
            }
        }
    }

    /// The stream ends (`process_stream()`'s release): counters, response
    /// classes, time averages, the backend's and server's current
    /// sessions, and the log line.
    fn finish(&mut self, sid: usize, now: u64) -> Vec<AppAction> {
        if self.sessions[sid].logged {
            return vec![];
        }
        self.sessions[sid].logged = true;
        let s = self.sessions[sid].clone();
        let http = self.frontends[s.frontend].mode == Mode::Http;
        let t_close = ms_since(s.accept_ns, now);
        if http && s.status > 0 {
            self.frontends[s.frontend].c.rsp(s.status as u16);
            if let Some(b) = s.backend {
                self.backends[b].c.rsp(s.status as u16);
                self.backends[b].c.req_tot += 1;
                if let Target::Server(b, sv) = s.target {
                    if let Some(sv) = self.backends[b].servers.get_mut(sv) {
                        sv.c.rsp(s.status as u16);
                        sv.c.req_tot += 1;
                    }
                }
            }
        }
        if http {
            let fe = &mut self.frontends[s.frontend].c;
            fe.h1_streams = fe.h1_streams.saturating_sub(1);
        }
        // stream_update_time_stats()
        if s.t_connect >= 0 {
            let t_data = if http { s.t_data } else { s.t_connect };
            if t_data >= 0 {
                let t_request = s.t_request.max(0);
                let q = (s.t_queue - t_request).max(0) as u64;
                let c = (s.t_connect - s.t_queue).max(0) as u64;
                let d = (t_data - s.t_connect).max(0) as u64;
                if let Target::Server(b, sv) = s.target {
                    let be = &mut self.backends[b];
                    if let Some(sv) = be.servers.get_mut(sv) {
                        let n = if http { sv.c.req_tot } else { sv.c.lbtot };
                        sv.c.times(n, q, c, d, t_close as u64);
                    }
                    let n = if http { be.c.req_tot } else { be.c.lbtot };
                    be.c.times(n, q, c, d, t_close as u64);
                }
            }
        }
        // the backend's count drops before the log (src/stream.c)
        if s.be_counted {
            if let Some(b) = s.backend {
                let c = &mut self.backends[b].c;
                c.cur = c.cur.saturating_sub(1);
            }
            self.sessions[sid].be_counted = false;
        }
        // the server's session ends with its connection, which the proxy
        // closes with the stream
        self.release_server(sid);
        let out = self.log_line(sid, t_close, now);
        if let Target::Server(b, sv) = s.target {
            if let Some(sv) = self.backends[b].servers.get_mut(sv) {
                sv.conns = sv.conns.saturating_sub(1);
            }
        }
        // tcp: the stream's end closes the client connection too (the
        // proxy closes the client side once the server side has closed)
        if self.sessions[sid].client_eof || !http {
            self.client_gone(sid);
        }
        out
    }

    fn release_server(&mut self, sid: usize) {
        let s = &mut self.sessions[sid];
        if !s.srv_counted {
            return;
        }
        s.srv_counted = false;
        if let Target::Server(b, sv) = s.target {
            if let Some(sv) = self
                .backends
                .get_mut(b)
                .and_then(|be| be.servers.get_mut(sv))
            {
                sv.c.cur = sv.c.cur.saturating_sub(1);
            }
        }
    }

    /// The client connection is gone: the frontend's and process's counts.
    fn client_gone(&mut self, sid: usize) {
        let s = &mut self.sessions[sid];
        if !s.open {
            return;
        }
        s.open = false;
        let f = s.frontend;
        let http = self.frontends[f].mode == Mode::Http;
        let c = &mut self.frontends[f].c;
        c.cur = c.cur.saturating_sub(1);
        if http {
            c.h1_conns = c.h1_conns.saturating_sub(1);
        }
        self.actconn = self.actconn.saturating_sub(1);
    }

    /// The stream's log line (`strm_log()`), if the frontend logs.
    fn log_line(&mut self, sid: usize, t_close: i64, now: u64) -> Vec<AppAction> {
        let s = &self.sessions[sid];
        let f = &self.frontends[s.frontend];
        let Some(log) = &f.log else {
            return vec![];
        };
        let Some(fmt) = &log.format else {
            return vec![];
        };
        if log.targets.is_empty() || (log.dontlognull && s.bytes_in == 0) {
            return vec![];
        }
        let backend = s
            .backend
            .map(|b| self.backends[b].name.as_str())
            .unwrap_or(f.name.as_str());
        let (server, srvconn, server_addr) = match s.target {
            Target::Server(b, sv) => {
                let sv = &self.backends[b].servers[sv];
                (sv.name.as_str(), sv.c.cur, Some((sv.addr, sv.port)))
            }
            Target::Stats => ("<STATS>", 0, None),
            Target::None => ("<NOSRV>", 0, None),
        };
        let beconn = s.backend.map(|b| self.backends[b].c.cur).unwrap_or(0);
        self.log_count += 1;
        let ctx = LogCtx {
            http: f.mode == Mode::Http,
            client: (ip4(s.client.2), s.client.3),
            frontend_addr: (ip4(s.client.0), s.client.1),
            backend_src: s.server.map(|k| (ip4(k.0), k.1)),
            server_addr,
            accept_ms: epoch_ms(s.accept_ns),
            frontend: &f.name,
            backend,
            server,
            hostname: &self.hostname,
            t_handshake: 0,
            t_idle: s.t_idle,
            t_request: s.t_request,
            t_queue: s.t_queue,
            t_connect: s.t_connect,
            t_data: s.t_data,
            t_close,
            status: s.status,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            term: s.term,
            actconn: self.actconn,
            feconn: f.c.cur,
            beconn,
            srvconn,
            retries: 0,
            log_count: self.log_count - 1,
            uniq_id: self.uniq_id.saturating_sub(1),
            pid: 1,
            request: s.req_line.as_deref(),
        };
        let line = fmt.render(&ctx);
        let _ = now;
        vec![AppAction::FlowLog {
            flow: s.flow,
            program: format!("{} → {}", self.program, log.targets.join(", ")),
            line,
        }]
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

    fn check_result(&mut self, b: usize, s: usize, r: CheckResult, now: u64) -> Vec<AppAction> {
        let mut out = self.check_result_inner(b, s, r, now);
        if !out.is_empty() || self.checks.is_empty() {
            out.push(self.check_summary());
        }
        out
    }

    /// `set_server_check_status()` then `check_notify_failure()` /
    /// `check_notify_success()` (src/check.c), and the server's UP/DOWN
    /// messages (src/server.c `srv_update_status()`).
    fn check_result_inner(
        &mut self,
        b: usize,
        s: usize,
        r: CheckResult,
        now: u64,
    ) -> Vec<AppAction> {
        let Some(run) = self.checks.remove(&(b, s)) else {
            return vec![];
        };
        let now_s = epoch_ms(now) / 1000;
        let be = &mut self.backends[b];
        let bname = be.name.clone();
        let sv = &mut be.servers[s];
        let h = &mut sv.health;
        h.in_progress = false;
        h.status = r.status;
        h.desc = r.desc;
        h.code = r.code;
        h.info = r.info.clone();
        h.duration_ms = Some(now.saturating_sub(run.start_ns) / 1_000_000);
        let top = h.rise + h.fall - 1;
        if r.passed {
            if h.health < top {
                h.health += 1;
                if h.health >= h.rise {
                    h.health = top;
                }
            }
        } else if h.health > 0 {
            sv.health.failed_checks += 1;
            let h = &mut sv.health;
            h.health -= 1;
            if h.health < h.rise {
                h.health = 0;
            }
        }
        let mut out = Vec::new();
        let reason = |h: &stats::Health| {
            let mut m = format!(", reason: {}", h.desc);
            if let Some(c) = h.code {
                m.push_str(&format!(", code: {c}"));
            }
            if !h.info.is_empty() {
                m.push_str(&format!(", info: \"{}\"", h.info));
            }
            if let Some(d) = h.duration_ms {
                m.push_str(&format!(", check duration: {d}ms"));
            }
            m
        };
        let h = &sv.health;
        if sv.up && h.health == 0 {
            sv.up = false;
            sv.health.running = false;
            sv.health.down_trans += 1;
            sv.health.last_change_s = now_s;
            let msg = reason(&sv.health);
            let name = sv.name.clone();
            let left = be.servers.iter().filter(|x| x.up).count();
            let cur = be.servers[s].c.cur;
            out.push(AppAction::Log(format!(
                "{}: Server {bname}/{name} is DOWN{msg}. {left} active and 0 backup servers left. {cur} sessions active, 0 requeued, 0 remaining in queue.",
                self.program
            )));
            if left == 0 {
                be.last_change_s = now_s;
                be.down_trans += 1;
                let kind = if self.frontends.iter().any(|f| f.name == bname) {
                    "proxy"
                } else {
                    "backend"
                };
                out.push(AppAction::Log(format!(
                    "{}: {kind} {bname} has no server available!",
                    self.program
                )));
            }
        } else if !sv.up && h.health >= h.rise {
            let was_empty = be.servers.iter().all(|x| !x.up);
            let sv = &mut be.servers[s];
            sv.up = true;
            sv.health.running = true;
            sv.health.down_time_s += now_s.saturating_sub(sv.health.last_change_s);
            sv.health.last_change_s = now_s;
            let msg = reason(&sv.health);
            let name = sv.name.clone();
            let online = be.servers.iter().filter(|x| x.up).count();
            out.push(AppAction::Log(format!(
                "{}: Server {bname}/{name} is UP{msg}. {online} active and 0 backup servers online. 0 sessions requeued, 0 total in queue.",
                self.program
            )));
            if was_empty {
                be.down_time_s += now_s.saturating_sub(be.last_change_s);
                be.last_change_s = now_s;
            }
        }
        out
    }

    fn check_token(b: usize, s: usize) -> u64 {
        CHECK | ((b as u64) << 16) | s as u64
    }

    fn check_of(token: u64) -> (usize, usize) {
        (((token >> 16) & 0xffff) as usize, (token & 0xffff) as usize)
    }

    /// Whether the backend checks with plain `check` (a tcp-check connect):
    /// its connection errors end with "at initial connection step of
    /// tcp-check" (src/check.c `chk_report_conn_err()`).
    fn conn_error(&self, b: usize, errno: &str, expired: bool) -> CheckResult {
        let suffix = if self.backends[b].httpchk.is_none() {
            " at initial connection step of tcp-check"
        } else {
            ""
        };
        if expired {
            CheckResult::fail("L4TOUT", "Layer4 timeout", None, suffix.to_string())
        } else {
            CheckResult::fail(
                "L4CON",
                "Layer4 connection problem",
                None,
                format!("{errno}{suffix}"),
            )
        }
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
            AppEvent::Start { flow } => self.on_start(*flow, now),
            AppEvent::Stop => {
                self.stopped = true;
                vec![]
            }
            AppEvent::Timer { token } if token & CHECK_TIMEOUT != 0 => {
                let (b, s) = Self::check_of(*token);
                let connected = self
                    .checks
                    .get(&(b, s))
                    .and_then(|c| c.key)
                    .is_some_and(|k| matches!(self.conns.get(&k), Some(ConnRole::Check(..))));
                let r = if connected {
                    CheckResult::fail("L7TOUT", "Layer7 timeout", None, String::new())
                } else {
                    self.conn_error(b, "", true)
                };
                self.check_result(b, s, r, now)
            }
            AppEvent::Timer { token } if token & CHECK != 0 => self.on_check_timer(*token, now),
            AppEvent::Opened { key, token } if token & CHECK != 0 => {
                let mut out = Vec::new();
                if let Some(c) = self.checks.get_mut(&Self::check_of(*token)) {
                    c.key = Some(*key);
                    let (b, s) = Self::check_of(*token);
                    self.conns.insert(*key, ConnRole::Check(b, s));
                    // a check with nothing to send after its connect (a
                    // layer-4 check) connects with TCP_QUICKACK off
                    // (src/tcpcheck.c tcpcheck_eval_connect():
                    // CONNECT_DELACK_ALWAYS when no rule follows; src/
                    // proto_tcp.c tcp_connect_server() setsockopt)
                    if self.backends[b].httpchk.is_none() {
                        out.push(AppAction::QuickAckOff(*key));
                    }
                }
                out
            }
            AppEvent::ConnectFailed { token, why } if token & CHECK != 0 => {
                let (b, s) = Self::check_of(*token);
                let r = self.conn_error(b, &errno_text(why), false);
                self.check_result(b, s, r, now)
            }
            AppEvent::Accepted { key, flow, .. } => self.on_accept(*key, *flow, now, script),
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
                self.server_failed(sid, why, now)
            }
            AppEvent::Connected { key } => self.on_connected(*key, now),
            AppEvent::Data { key, data } => match self.conns.get(key).cloned() {
                Some(ConnRole::Check(b, s)) => self.on_check_data(*key, b, s, data, now),
                Some(ConnRole::Client(sid)) => self.on_client_data(sid, data, now, script),
                Some(ConnRole::Server(sid)) => self.on_server_data(sid, data, now),
                None => vec![],
            },
            AppEvent::Eof { key } => self.on_eof(*key, now),
            AppEvent::Refused { key, .. }
            | AppEvent::Reset { key }
            | AppEvent::TimedOut { key, .. } => self.on_error(ev, *key, now),
            AppEvent::Closed { key } => {
                match self.conns.remove(key) {
                    Some(ConnRole::Server(sid)) => {
                        self.sessions[sid].server_eof = true;
                        self.release_server(sid);
                    }
                    Some(ConnRole::Client(sid)) => self.client_gone(sid),
                    _ => {}
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn on_start(&mut self, flow: u32, now: u64) -> Vec<AppAction> {
        self.flow = flow;
        self.start_ns = now;
        let now_s = epoch_ms(now) / 1000;
        let mut out = vec![self.check_summary()];
        for (b, be) in self.backends.iter_mut().enumerate() {
            be.last_change_s = now_s;
            let (rise, fall) = (be.rise, be.fall);
            let n = be.servers.len().max(1) as u64;
            for (s, sv) in be.servers.iter_mut().enumerate() {
                // src/server.c: "health: up, but will fall down at first
                // failure"
                sv.health.rise = rise;
                sv.health.fall = fall;
                sv.health.health = rise;
                sv.health.last_change_s = now_s;
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

    fn on_check_timer(&mut self, token: u64, now: u64) -> Vec<AppAction> {
        let (b, s) = Self::check_of(token);
        let Some(be) = self.backends.get_mut(b) else {
            return vec![];
        };
        let inter = be.inter_ns;
        let what = match &be.httpchk {
            Some((m, p)) => format!("{m} {p}"),
            None => "TCP connect".into(),
        };
        let bname = be.name.clone();
        let Some(sv) = be.servers.get_mut(s) else {
            return vec![];
        };
        sv.health.in_progress = true;
        let (addr, port, name) = (sv.addr, sv.port, sv.name.clone());
        self.checks.insert(
            (b, s),
            CheckRun {
                key: None,
                start_ns: now,
            },
        );
        vec![
            AppAction::Connect {
                flow: FlowOf::Id(self.flow),
                dst: addr,
                port,
                token: token & !CHECK_TIMEOUT,
                note: format!("{}: health check {bname}/{name} ({what})", self.program),
            },
            AppAction::Timer {
                at_ns: now + inter,
                token,
            },
            AppAction::Timer {
                at_ns: now + inter - 1,
                token: token | CHECK_TIMEOUT,
            },
        ]
    }

    fn on_check_data(
        &mut self,
        key: ConnKey,
        b: usize,
        s: usize,
        data: &[u8],
        now: u64,
    ) -> Vec<AppAction> {
        let text = String::from_utf8_lossy(data);
        let line = text.lines().next().unwrap_or("").to_string();
        let mut w = line.splitn(3, ' ');
        let _version = w.next();
        let code: u16 = w.next().and_then(|c| c.parse().ok()).unwrap_or(0);
        let reason = w.next().unwrap_or("").to_string();
        // the default expectation is "status 200-399" (src/tcpcheck.c)
        let ok = match self.backends[b].expect_status {
            Some(want) => code == want,
            None => (200..400).contains(&code),
        };
        let r = if code == 0 {
            CheckResult::fail("L7RSP", "Layer7 invalid response", None, String::new())
        } else if ok {
            CheckResult {
                passed: true,
                status: "L7OK",
                desc: "Layer7 check passed",
                code: Some(code),
                info: String::new(),
            }
        } else {
            CheckResult::fail("L7STS", "Layer7 wrong status", Some(code), reason)
        };
        let mut out = self.check_result(b, s, r, now);
        out.push(AppAction::Close(key));
        out
    }

    fn on_accept(
        &mut self,
        key: ConnKey,
        flow: u32,
        now: u64,
        script: Option<&mut ScriptChooser>,
    ) -> Vec<AppAction> {
        let Some(f) = self.frontend_of(ip4(key.0), key.1) else {
            return vec![AppAction::Close(key)];
        };
        let ms = epoch_ms(now);
        let fe = &mut self.frontends[f];
        fe.c.conn(ms);
        fe.c.sess(ms);
        let http = fe.mode == Mode::Http;
        if http {
            fe.c.h1_conns += 1;
            fe.c.h1_conns_tot += 1;
        }
        self.actconn += 1;
        self.uniq_id += 1;
        let sid = self.sessions.len();
        self.sessions.push(Session {
            frontend: f,
            client: key,
            flow,
            server: None,
            backend: None,
            target: Target::None,
            pending: Vec::new(),
            server_connected: false,
            resp: Vec::new(),
            done: false,
            rewrite: None,
            accept_ns: now,
            t_idle: -1,
            t_request: -1,
            t_queue: -1,
            t_connect: -1,
            t_data: -1,
            bytes_in: 0,
            bytes_out: 0,
            status: if http { -1 } else { 0 },
            term: ('-', '-'),
            req_line: None,
            client_eof: false,
            server_eof: false,
            logged: false,
            open: true,
            be_counted: false,
            srv_counted: false,
        });
        self.conns.insert(key, ConnRole::Client(sid));
        let mut out = Vec::new();
        // no log format: src/frontend.c frontend_accept() logs the connect
        if let Some(log) = &self.frontends[f].log {
            if log.format.is_none() && !log.targets.is_empty() {
                out.push(AppAction::FlowLog {
                    flow,
                    program: format!("{} → {}", self.program, log.targets.join(", ")),
                    line: format!(
                        "Connect from {}:{} to {}:{} ({}/{})",
                        key.2,
                        key.3,
                        key.0,
                        key.1,
                        self.frontends[f].name,
                        if http { "HTTP" } else { "TCP" }
                    ),
                });
            }
        }
        if !http {
            out.extend(self.connect(sid, ip4(key.2), "", "", now, script));
        }
        out
    }

    fn on_connected(&mut self, key: ConnKey, now: u64) -> Vec<AppAction> {
        match self.conns.get(&key).cloned() {
            Some(ConnRole::Check(b, s)) => match self.backends[b].httpchk.clone() {
                Some((m, p)) => vec![AppAction::Send(
                    key,
                    format!("{m} {p} HTTP/1.0\r\n\r\n").into_bytes(),
                    format!("{}: health check {m} {p}", self.program),
                )],
                None => {
                    let r = CheckResult {
                        passed: true,
                        status: "L4OK",
                        desc: "Layer4 check passed",
                        code: None,
                        info: String::new(),
                    };
                    let mut out = self.check_result(b, s, r, now);
                    // the check's connection is closed without lingering:
                    // an RST, before the delayed handshake ACK (src/
                    // check.c: a finished check's connection is closed
                    // with linger off)
                    out.push(AppAction::Abort(key));
                    out
                }
            },
            Some(ConnRole::Server(sid)) => {
                let http = self.http(sid);
                let s = &mut self.sessions[sid];
                s.server_connected = true;
                s.t_connect = ms_since(s.accept_ns, now);
                if let Some(b) = s.backend {
                    self.backends[b].c.connect += 1;
                    if http {
                        self.backends[b].c.h1_conns += 1;
                        self.backends[b].c.h1_conns_tot += 1;
                        self.backends[b].c.h1_streams_tot += 1;
                    }
                    if let Target::Server(b, sv) = self.sessions[sid].target {
                        if let Some(sv) = self.backends[b].servers.get_mut(sv) {
                            sv.c.connect += 1;
                        }
                    }
                }
                let s = &mut self.sessions[sid];
                let data = std::mem::take(&mut s.pending);
                if data.is_empty() {
                    return vec![];
                }
                let note = format!("{}: request to the server", self.program);
                vec![AppAction::Send(key, data, note)]
            }
            _ => vec![],
        }
    }

    /// The connection to the server failed (connect error, RST, timeout).
    fn server_failed(&mut self, sid: usize, why: &str, now: u64) -> Vec<AppAction> {
        let Some(s) = self.sessions.get_mut(sid) else {
            return vec![];
        };
        if s.done {
            return vec![];
        }
        s.done = true;
        // default_srv_error(): STRM_ET_CONN_ERR -> SF_ERR_SRVCL, SF_FINST_C
        s.term = ('S', 'C');
        if let Some(b) = s.backend {
            self.backends[b].c.econ += 1;
            if let Target::Server(b, sv) = self.sessions[sid].target {
                if let Some(sv) = self.backends[b].servers.get_mut(sv) {
                    sv.c.econ += 1;
                }
            }
        }
        self.sessions[sid].server_eof = true;
        self.refuse(sid, 503, why, now)
    }

    fn on_client_data(
        &mut self,
        sid: usize,
        data: &[u8],
        now: u64,
        script: Option<&mut ScriptChooser>,
    ) -> Vec<AppAction> {
        if !self.http(sid) {
            self.count_in(sid, data.len() as u64);
            let s = &mut self.sessions[sid];
            return match (s.server, s.server_connected) {
                (Some(k), true) => vec![AppAction::Send(
                    k,
                    data.to_vec(),
                    format!("{}: relay", self.program),
                )],
                _ => {
                    s.pending.extend_from_slice(data);
                    vec![]
                }
            };
        }
        let s = &mut self.sessions[sid];
        if s.server.is_some() || s.done {
            return vec![];
        }
        if s.t_idle < 0 {
            // mux_h1: idle time = until the first byte of the request
            s.t_idle = ms_since(s.accept_ns, now);
        }
        s.pending.extend_from_slice(data);
        let Some(h) = crate::app::http::Head::parse(&s.pending) else {
            return vec![];
        };
        // the head without the blank line, and where it ends
        let head = crate::app::http::Head::text(&s.pending, &h);
        let end = h.len - 4;
        let n = h.len as u64;
        self.count_in(sid, n);
        let s = &mut self.sessions[sid];
        s.t_request = ms_since(s.accept_ns, now);
        let line = h.start.clone();
        s.req_line = Some(line.clone());
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or("").to_string();
        let uri = words.next().unwrap_or("/").to_string();
        let http11 = words.next() == Some("HTTP/1.1");
        let host = h.header("host").unwrap_or_default().to_string();
        let auth = h.header("authorization").map(str::to_string);
        let f = s.frontend;
        let ms = epoch_ms(now);
        self.frontends[f].c.req(ms);
        self.frontends[f].c.h1_streams += 1;
        self.frontends[f].c.h1_streams_tot += 1;
        // http_process_req_common() on the frontend, then on the backend
        if let Some(cfg) = self.frontends[f].stats.clone() {
            if cfg.matches(&method, &uri) {
                return self.serve_stats(
                    sid,
                    &cfg,
                    &method,
                    &uri,
                    http11,
                    auth.as_deref(),
                    None,
                    now,
                );
            }
        }
        let client = self.sessions[sid].client;
        let path = uri.split('?').next().unwrap_or("/").to_string();
        // the backend's own stats section, if the route leads to one
        if self.frontends[f].ingress.is_none() {
            let view = ReqView {
                host: &host,
                path: &path,
                src: ip4(client.2),
            };
            if let Some((b, _)) = self.frontends[f].route(&view) {
                if let Some(cfg) = self.backends[b].stats.clone() {
                    if cfg.matches(&method, &uri) {
                        self.set_backend(sid, b, now);
                        return self.serve_stats(
                            sid,
                            &cfg,
                            &method,
                            &uri,
                            http11,
                            auth.as_deref(),
                            Some(b),
                            now,
                        );
                    }
                }
            }
        }
        let out = self.connect(sid, ip4(client.2), &host, &path, now, script);
        // ingress-nginx's $req_id (drawn even when nginx answers itself)
        let request_id = if self.frontends[f].ingress.is_some() {
            format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
        } else {
            String::new()
        };
        if self.sessions[sid].done {
            return out;
        }
        self.rewrite_request(sid, &head, end, &host, &request_id);
        out
    }

    /// The request as it goes to the server: rewrite-target, forwarding
    /// headers.
    fn rewrite_request(
        &mut self,
        sid: usize,
        head: &str,
        end: usize,
        host: &str,
        request_id: &str,
    ) {
        let ingress = self.frontends[self.sessions[sid].frontend]
            .ingress
            .is_some();
        let s = &mut self.sessions[sid];
        let client = s.client;
        let Some(b) = s.backend else {
            return;
        };
        let be = &self.backends[b];
        let ff = self.frontends[s.frontend].forwardfor || be.forwardfor;
        let mut lines: Vec<String> = head.split("\r\n").map(|l| l.to_string()).collect();
        if let (Some(target), Some(first)) = (&s.rewrite, lines.first_mut()) {
            // nginx `rewrite (?i)PATH TARGET break;`: the whole URI becomes
            // the target (query kept)
            let mut w: Vec<String> = first.split(' ').map(|x| x.to_string()).collect();
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
                format!("X-Forwarded-Host: {}", host.split(':').next().unwrap_or("")),
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
    }

    /// A request for the stats page: 401 without valid credentials, the
    /// page otherwise (`http_handle_stats()`). Logged as `<STATS>` with
    /// termination state `LR`.
    #[allow(clippy::too_many_arguments)]
    fn serve_stats(
        &mut self,
        sid: usize,
        cfg: &stats::StatsCfg,
        method: &str,
        uri: &str,
        http11: bool,
        auth: Option<&str>,
        backend: Option<usize>,
        now: u64,
    ) -> Vec<AppAction> {
        let f = self.sessions[sid].frontend;
        let own = backend.or_else(|| {
            // a listen section is its own backend
            let name = &self.frontends[f].name;
            self.backends.iter().position(|b| b.name == *name)
        });
        if let Some(b) = own {
            self.set_backend(sid, b, now);
        }
        let s = &mut self.sessions[sid];
        s.target = Target::Stats;
        s.term = ('L', 'R');
        s.done = true;
        let client = s.client;
        // the frontend counts requests it answered itself when it is also
        // the backend (fe == be)
        let same = own.is_some_and(|b| self.backends[b].name == self.frontends[f].name);
        if same {
            self.frontends[f].c.intercepted += 1;
        }
        let mut out = vec![AppAction::Served(FlowOf::Conn(client))];
        if !cfg.authorized(auth) {
            let resp = stats::unauthorized(cfg);
            out.extend(self.reply(sid, resp, 401, "401 Unauthorized (stats auth)".into(), now));
            return out;
        }
        let s = &mut self.sessions[sid];
        let t = ms_since(s.accept_ns, now);
        s.t_queue = t;
        s.t_connect = t;
        s.t_data = t;
        let req = cfg.request(method, uri, http11);
        let body = {
            let page = self.page(now, cfg);
            stats::response(&page, cfg, &req)
        };
        let status = if req.format == stats::Format::Other {
            501
        } else {
            200
        };
        let what = match req.format {
            stats::Format::Csv => format!("{status} stats page (CSV)"),
            stats::Format::Html => format!("{status} stats page (HTML)"),
            stats::Format::Other => format!("{status} stats page (JSON/typed not modelled)"),
        };
        out.extend(self.reply(sid, body, status, what, now));
        out
    }

    /// The stats page's view of the process.
    fn page(&self, now: u64, cfg: &stats::StatsCfg) -> stats::Page<'_> {
        let now_ms = epoch_ms(now);
        let total_conn_rate: u64 = self
            .frontends
            .iter()
            .map(|f| f.c.conn_rate.read(now_ms))
            .sum();
        let proxies = self
            .sections
            .iter()
            .map(|sec| {
                let fe = sec.fe.map(|i| {
                    let f = &self.frontends[i];
                    stats::FeView {
                        name: &f.name,
                        uuid: f.uuid,
                        http: f.mode == Mode::Http,
                        maxconn: f.maxconn,
                        c: &f.c,
                    }
                });
                let be = sec.be.map(|i| &self.backends[i]);
                let servers = be
                    .map(|b| {
                        b.servers
                            .iter()
                            .enumerate()
                            .map(|(k, s)| stats::SvView {
                                proxy: &b.name,
                                name: &s.name,
                                uuid: b.uuid,
                                puid: k as u32 + 1,
                                http: b.mode == Mode::Http,
                                addr: std::net::SocketAddrV4::new(s.addr, s.port),
                                weight: s.weight,
                                health: &s.health,
                                c: &s.c,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let be = be.map(|b| {
                    // fullconn: a tenth of the maxconn of the frontends that
                    // reach the backend (src/proxy.c)
                    let bi = sec.be.unwrap_or(0);
                    let fe_max: u64 = self
                        .frontends
                        .iter()
                        .filter(|f| {
                            f.default_backend == Some(bi) || f.rules.iter().any(|r| r.backend == bi)
                        })
                        .map(|f| f.maxconn)
                        .sum();
                    stats::BeView {
                        name: &b.name,
                        uuid: b.uuid,
                        http: b.mode == Mode::Http,
                        fullconn: fe_max.div_ceil(10).max(1),
                        algo: b.balance.algo(),
                        has_servers: !b.servers.is_empty(),
                        up_weight: b
                            .servers
                            .iter()
                            .filter(|s| s.up)
                            .map(|s| s.weight as u64)
                            .sum(),
                        total_uweight: b.servers.iter().map(|s| s.weight as u64).sum(),
                        act: b.servers.iter().filter(|s| s.up).count() as u64,
                        down_trans: b.down_trans,
                        last_change_s: b.last_change_s,
                        down_time_s: b.down_time_s,
                        c: &b.c,
                    }
                });
                stats::PxView {
                    name: &sec.name,
                    fe,
                    servers,
                    be,
                }
            })
            .collect();
        let _ = cfg;
        stats::Page {
            now_ms,
            start_ms: epoch_ms(self.start_ns),
            pid: 1,
            nbthread: self.global.nbthread,
            maxconn: self.global.maxconn,
            actconn: self.actconn as u64,
            conn_rate: total_conn_rate,
            node: &self.hostname,
            proxies,
        }
    }

    fn on_server_data(&mut self, sid: usize, data: &[u8], now: u64) -> Vec<AppAction> {
        let client = self.sessions[sid].client;
        if !self.http(sid) {
            let n = data.len() as u64;
            self.sessions[sid].bytes_out += n;
            self.count_out(sid, n);
            return vec![AppAction::Send(
                client,
                data.to_vec(),
                format!("{}: relay", self.program),
            )];
        }
        let s = &mut self.sessions[sid];
        s.resp.extend_from_slice(data);
        if s.t_data < 0 && s.resp.windows(4).any(|w| w == b"\r\n\r\n") {
            s.t_data = ms_since(s.accept_ns, now);
        }
        if !complete(&s.resp) {
            return vec![];
        }
        let resp = std::mem::take(&mut s.resp);
        let status_line = crate::app::http::Head::parse(&resp)
            .map(|h| h.start)
            .unwrap_or_default();
        s.status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(-1);
        let server = s.server;
        s.done = true;
        let n = resp.len() as u64;
        s.bytes_out += n;
        self.count_out(sid, n);
        let mut out = vec![AppAction::Send(
            client,
            resp,
            format!(
                "{}: response {} to the client",
                self.program,
                status_line.trim_start_matches("HTTP/1.1 ")
            ),
        )];
        if let Some(k) = server {
            out.push(AppAction::Close(k));
        }
        out.extend(self.finish(sid, now));
        out
    }

    fn on_eof(&mut self, key: ConnKey, now: u64) -> Vec<AppAction> {
        match self.conns.get(&key).cloned() {
            Some(ConnRole::Client(sid)) => {
                self.sessions[sid].client_eof = true;
                let s = &self.sessions[sid];
                if !self.http(sid) && s.server_connected && !s.server_eof {
                    if let Some(k) = s.server {
                        // HAProxy forwards the shutdown: the client's FIN
                        // becomes a FIN to the server and the client's side
                        // stays open until the server's FIN comes back
                        // (src/stream.c process_stream(): an empty request
                        // channel shut for reading shuts the server side
                        // for writing, sc_shutw(); the response channel's
                        // shutdown then shuts the client side)
                        return vec![AppAction::Shutdown(k)];
                    }
                }
                let mut out = vec![AppAction::Close(key)];
                if self.sessions[sid].logged {
                    self.client_gone(sid);
                }
                let s = &self.sessions[sid];
                if !self.http(sid) {
                    // a FIN on one side closes the other: the stream ends
                    if let Some(k) = s.server {
                        out.push(AppAction::Close(k));
                    }
                    out.extend(self.finish(sid, now));
                } else if !s.done {
                    // the client left before a whole request: `CR`
                    self.sessions[sid].term = ('C', 'R');
                    self.sessions[sid].done = true;
                    out.extend(self.finish(sid, now));
                }
                out
            }
            Some(ConnRole::Server(sid)) => {
                let mut out = Vec::new();
                // a server side already shut for writing (the client's FIN
                // was forwarded) is closed already
                if !self.sessions[sid].client_eof || self.http(sid) {
                    out.push(AppAction::Close(key));
                }
                self.sessions[sid].server_eof = true;
                if !self.http(sid) {
                    out.push(AppAction::Close(self.sessions[sid].client));
                    if self.sessions[sid].client_eof && self.sessions[sid].logged {
                        self.client_gone(sid);
                    }
                    out.extend(self.finish(sid, now));
                }
                out
            }
            Some(ConnRole::Check(..)) => vec![AppAction::Close(key)],
            None => vec![],
        }
    }

    fn on_error(&mut self, ev: &AppEvent, key: ConnKey, now: u64) -> Vec<AppAction> {
        let errno = match ev {
            AppEvent::Refused { why, .. } => errno_text(why),
            AppEvent::Reset { .. } => "Connection reset by peer".to_string(),
            _ => "Connection timed out".to_string(),
        };
        match self.conns.remove(&key) {
            Some(ConnRole::Check(b, s)) => {
                let r = match ev {
                    AppEvent::TimedOut { .. } => self.conn_error(b, "", true),
                    _ => self.conn_error(b, &errno, false),
                };
                self.check_result(b, s, r, now)
            }
            Some(ConnRole::Server(sid)) => {
                self.release_server(sid);
                if self.sessions[sid].done {
                    return vec![];
                }
                let why = match ev {
                    AppEvent::Refused { why, .. } => why.clone(),
                    _ => errno,
                };
                self.server_failed(sid, &why, now)
            }
            Some(ConnRole::Client(sid)) => {
                let mut out = Vec::new();
                self.sessions[sid].client_eof = true;
                if let Some(k) = self.sessions[sid].server {
                    out.push(AppAction::Close(k));
                }
                if !self.sessions[sid].done || !self.http(sid) {
                    self.sessions[sid].term = ('C', 'D');
                    out.extend(self.finish(sid, now));
                }
                self.client_gone(sid);
                out
            }
            None => vec![],
        }
    }
}

/// A check's outcome for `set_server_check_status()`.
struct CheckResult {
    passed: bool,
    status: &'static str,
    desc: &'static str,
    code: Option<u16>,
    info: String,
}

impl CheckResult {
    fn fail(status: &'static str, desc: &'static str, code: Option<u16>, info: String) -> Self {
        CheckResult {
            passed: false,
            status,
            desc,
            code,
            info,
        }
    }
}

/// The stack's reason for a failed connect as `strerror()` words.
fn errno_text(why: &str) -> String {
    let w = why.to_ascii_lowercase();
    if w.contains("refused") || w.contains("rst") {
        "Connection refused".into()
    } else if w.contains("no route") || w.contains("unreachable") {
        "No route to host".into()
    } else if w.contains("timed out") {
        "Connection timed out".into()
    } else {
        why.to_string()
    }
}

/// nginx's own pages (ingress-nginx's default backend and errors).
fn nginx_page(status: u16) -> String {
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
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A whole HTTP response: headers and Content-Length bytes of body.
fn complete(buf: &[u8]) -> bool {
    crate::app::http::message_len(buf).is_some()
}
