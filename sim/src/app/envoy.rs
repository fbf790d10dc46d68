//! An Istio sidecar (Envoy) in a pod: istio-init's iptables send the pod's
//! outgoing TCP to 15001 and incoming TCP to 15006 (REDIRECT); Envoy runs as
//! uid 1337, which those rules let through.
//!
//! - Outbound (15001): the original destination (SO_ORIGINAL_DST, from
//!   conntrack) names the cluster: a Service's ClusterIP:port gives its
//!   endpoints, which Envoy balances itself (round robin here; kube-proxy's
//!   rules are never used); anything else is passed through as it is. The
//!   HTTP request gets x-request-id, traceparent, x-forwarded-proto and
//!   x-envoy-attempt-count, and goes to the endpoint over mTLS (a TLS 1.3
//!   handshake, then application_data records, `wire/tls.rs`).
//! - Inbound (15006): the peer's TLS is terminated, x-forwarded-client-cert
//!   names both workloads' SPIFFE identities, and the request goes to the
//!   application on 127.0.0.1:PORT.
//!
//! Simplifications (listed by `podpath explain`): HTTP/1.1 only, one
//! request per connection, round robin instead of LEAST_REQUEST, inbound to
//! 127.0.0.1 (Istio < 1.10; newer versions connect to the pod IP from
//! 127.0.0.6), no metadata exchange, no retries, the TLS model of
//! `wire/tls.rs`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use super::{AppAction, AppEvent, FlowOf};
use crate::net::tcp::ConnKey;
use crate::wire::tls;

pub const UID: u32 = 1337;
pub const OUTBOUND_PORT: u16 = 15001;
pub const INBOUND_PORT: u16 = 15006;

/// Outbound clusters as configured: Service ClusterIP:port -> (cluster
/// name, endpoints).
pub type ClusterMap = BTreeMap<(Ipv4Addr, u16), (String, Vec<(Ipv4Addr, u16)>)>;

/// An outbound cluster: a Service port and its endpoints.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// `outbound|9080||reviews.default.svc.cluster.local`
    pub name: String,
    pub endpoints: Vec<(Ipv4Addr, u16)>,
    next: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Outbound,
    Inbound,
}

#[derive(Clone, Debug)]
struct Session {
    kind: Kind,
    down: ConnKey,
    up: Option<ConnKey>,
    orig_dst: (Ipv4Addr, u16),
    /// plaintext from the side that speaks HTTP (the app, or the app's reply)
    plain: Vec<u8>,
    /// TLS bytes not yet framed into records
    tls_buf: Vec<u8>,
    /// records seen in the handshake so far
    hs_records: usize,
    handshake_done: bool,
    /// TLS keys: (ours to send, theirs to read) and record counters
    keys: Option<([u8; 32], [u8; 32])>,
    seq_out: u64,
    seq_in: u64,
    /// the request to send once the mTLS connection is up
    pending: Vec<u8>,
    /// the peer identity (inbound: the client's SPIFFE id)
    started_ns: u64,
    done: bool,
    mtls: bool,
}

#[derive(Clone, Copy, Debug)]
enum Role {
    Down(usize),
    Up(usize),
}

/// Envoy in one pod.
#[derive(Clone, Debug)]
pub struct Envoy {
    pub name: String,
    /// `spiffe://cluster.local/ns/NS/sa/SA` of this workload
    pub spiffe: String,
    pub clusters: BTreeMap<(Ipv4Addr, u16), Cluster>,
    /// pod IPs of meshed workloads -> their SPIFFE ids (mTLS to them)
    pub peers: BTreeMap<Ipv4Addr, String>,
    sessions: Vec<Session>,
    conns: BTreeMap<ConnKey, Role>,
    rng: ChaCha8Rng,
}

impl Envoy {
    /// An EDS push from istiod: each cluster's endpoints become the new
    /// configuration's (connections already made stay). Returns whether a
    /// cluster changed.
    pub fn update_endpoints(&mut self, new: Envoy) -> bool {
        let mut changed = false;
        for (k, nc) in new.clusters {
            if let Some(c) = self.clusters.get_mut(&k) {
                if c.endpoints != nc.endpoints {
                    c.endpoints = nc.endpoints;
                    c.next = 0;
                    changed = true;
                }
            }
        }
        changed
    }
}

/// The whole HTTP message's length once it arrived (the one head parser,
/// [`super::http::message_len`]).
fn http_complete(buf: &[u8]) -> Option<usize> {
    super::http::message_len(buf)
}

/// Adds header lines after the request/status line's headers.
fn add_headers(msg: &[u8], extra: &[String]) -> Vec<u8> {
    let Some(end) = msg.windows(4).position(|w| w == b"\r\n\r\n") else {
        return msg.to_vec();
    };
    let mut out = msg[..end].to_vec();
    for h in extra {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(h.as_bytes());
    }
    out.extend_from_slice(&msg[end..]);
    out
}

impl Envoy {
    pub fn new(
        pod: &str,
        spiffe: &str,
        clusters: ClusterMap,
        peers: BTreeMap<Ipv4Addr, String>,
        rng: ChaCha8Rng,
    ) -> Envoy {
        Envoy {
            name: format!("envoy {pod}"),
            spiffe: spiffe.to_string(),
            clusters: clusters
                .into_iter()
                .map(|(k, (name, endpoints))| {
                    (
                        k,
                        Cluster {
                            name,
                            endpoints,
                            next: 0,
                        },
                    )
                })
                .collect(),
            peers,
            sessions: Vec::new(),
            conns: BTreeMap::new(),
            rng,
        }
    }

    fn keys_for(
        client: (Ipv4Addr, u16),
        server: (Ipv4Addr, u16),
        we_are_client: bool,
    ) -> ([u8; 32], [u8; 32]) {
        let c = format!("{}:{}", client.0, client.1);
        let s = format!("{}:{}", server.0, server.1);
        let c2s = tls::direction_key(&c, &s, "c2s");
        let s2c = tls::direction_key(&c, &s, "s2c");
        if we_are_client {
            (c2s, s2c)
        } else {
            (s2c, c2s)
        }
    }

    fn hex(&mut self, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.rng.fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The outbound request is complete: pick the upstream, connect.
    fn outbound_route(&mut self, sid: usize) -> Vec<AppAction> {
        let s = &self.sessions[sid];
        let od = s.orig_dst;
        let down = s.down;
        let rid = {
            let h = self.hex(16);
            format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        };
        let trace = self.hex(16);
        let span = self.hex(8);
        let extra = vec![
            "x-forwarded-proto: http".to_string(),
            format!("x-request-id: {rid}"),
            format!("traceparent: 00-{trace}-{span}-01"),
            "x-envoy-attempt-count: 1".to_string(),
        ];
        let (dst, why) = match self.clusters.get_mut(&od) {
            Some(c) if !c.endpoints.is_empty() => {
                let e = c.endpoints[c.next % c.endpoints.len()];
                c.next = c.next.wrapping_add(1);
                (
                    e,
                    format!(
                        "cluster {} (EDS, {} endpoint(s)): endpoint {}:{}",
                        c.name,
                        c.endpoints.len(),
                        e.0,
                        e.1
                    ),
                )
            }
            Some(c) => {
                let name = c.name.clone();
                let s = &mut self.sessions[sid];
                s.done = true;
                let body = "no healthy upstream";
                let resp = format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\ncontent-type: text/plain\r\nserver: envoy\r\n\r\n{body}",
                    body.len()
                );
                return vec![
                    AppAction::Served(super::FlowOf::Conn(down)),
                    AppAction::Send(
                        down,
                        resp.into_bytes(),
                        format!("{}: cluster {name} has no endpoints: 503", self.name),
                    ),
                    AppAction::Close(down),
                ];
            }
            None => (
                od,
                format!(
                    "PassthroughCluster: {}:{} is not a Service port in the mesh",
                    od.0, od.1
                ),
            ),
        };
        let s = &mut self.sessions[sid];
        s.pending = add_headers(&std::mem::take(&mut s.plain), &extra);
        s.mtls = self.peers.contains_key(&dst.0);
        let note = format!(
            "{}: outbound listener 0.0.0.0:{OUTBOUND_PORT} (original destination {}:{}) -> {why}{}, x-request-id {rid}",
            self.name,
            od.0,
            od.1,
            if s.mtls { ", mTLS" } else { ", plaintext" }
        );
        vec![AppAction::Connect {
            flow: FlowOf::Conn(down),
            dst: dst.0,
            port: dst.1,
            token: sid as u64,
            note,
        }]
    }

    /// Sends a message through the session's TLS connection (or plain).
    fn send_tls(&mut self, sid: usize, key: ConnKey, plain: &[u8], what: String) -> AppAction {
        let s = &mut self.sessions[sid];
        if !s.mtls {
            return AppAction::Send(key, plain.to_vec(), what);
        }
        let (ko, _) = s.keys.expect("keys after the handshake");
        let rec = tls::seal(&ko, s.seq_out, plain);
        s.seq_out += 1;
        AppAction::Send(key, rec, format!("{what} in a TLS application_data record"))
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        match ev {
            AppEvent::Accepted { key, orig_dst, .. } => {
                // SO_ORIGINAL_DST: where the client meant to go before the
                // REDIRECT to 15001/15006
                let od = orig_dst.unwrap_or((super::ip4(key.0), key.1));
                let kind = if key.1 == INBOUND_PORT {
                    Kind::Inbound
                } else {
                    Kind::Outbound
                };
                let sid = self.sessions.len();
                let mtls = kind == Kind::Inbound && self.peers.contains_key(&super::ip4(key.2));
                self.sessions.push(Session {
                    kind,
                    down: *key,
                    up: None,
                    orig_dst: od,
                    plain: Vec::new(),
                    tls_buf: Vec::new(),
                    hs_records: 0,
                    handshake_done: false,
                    keys: None,
                    seq_out: 0,
                    seq_in: 0,
                    pending: Vec::new(),
                    started_ns: now,
                    done: false,
                    mtls,
                });
                self.conns.insert(*key, Role::Down(sid));
                if kind == Kind::Inbound {
                    // the TLS connection's addresses as the client saw them
                    let keys = Self::keys_for((super::ip4(key.2), key.3), od, false);
                    self.sessions[sid].keys = Some(keys);
                }
                vec![]
            }
            AppEvent::Opened { key, token } => {
                let sid = *token as usize;
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.up = Some(*key);
                    if s.kind == Kind::Outbound && s.mtls {
                        s.keys = Some(Self::keys_for(
                            (super::ip4(key.0), key.1),
                            (super::ip4(key.2), key.3),
                            true,
                        ));
                    }
                    self.conns.insert(*key, Role::Up(sid));
                }
                vec![]
            }
            AppEvent::ConnectFailed { token, why } => {
                let sid = *token as usize;
                let down = self.sessions[sid].down;
                self.sessions[sid].done = true;
                let body = format!("upstream connect error or disconnect/reset before headers. reset reason: connection failure ({why})");
                let resp = format!(
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\ncontent-type: text/plain\r\nserver: envoy\r\n\r\n{body}",
                    body.len()
                );
                vec![
                    AppAction::Served(super::FlowOf::Conn(down)),
                    AppAction::Send(
                        down,
                        resp.into_bytes(),
                        format!("{}: 503 ({why})", self.name),
                    ),
                    AppAction::Close(down),
                ]
            }
            AppEvent::Connected { key } => {
                let Some(Role::Up(sid)) = self.conns.get(key).copied() else {
                    return vec![];
                };
                let s = &mut self.sessions[sid];
                match (s.kind, s.mtls) {
                    (Kind::Outbound, true) => {
                        let host = self
                            .clusters
                            .get(&s.orig_dst)
                            .map(|c| c.name.clone())
                            .unwrap_or_default();
                        // Istio's SNI: outbound_.PORT_.SUBSET_.HOST
                        let parts: Vec<&str> = host.split('|').collect();
                        let sni = match parts.as_slice() {
                            [dir, port, subset, fqdn] => format!("{dir}_.{port}_.{subset}_.{fqdn}"),
                            _ => host.clone(),
                        };
                        let ch = tls::client_hello(
                            &sni,
                            &["istio-peer-exchange", "istio"],
                            &mut self.rng,
                        );
                        vec![AppAction::Send(
                            *key,
                            ch,
                            format!("{}: mTLS ClientHello (SNI {sni})", self.name),
                        )]
                    }
                    _ => {
                        let p = std::mem::take(&mut s.pending);
                        vec![AppAction::Send(
                            *key,
                            p,
                            format!("{}: request upstream", self.name),
                        )]
                    }
                }
            }
            AppEvent::Data { key, data } => {
                let Some(role) = self.conns.get(key).copied() else {
                    return vec![];
                };
                match role {
                    Role::Down(sid) => self.on_down_data(sid, *key, data),
                    Role::Up(sid) => self.on_up_data(sid, *key, data, now),
                }
            }
            AppEvent::Eof { key } => {
                let mut out = vec![AppAction::Close(*key)];
                if let Some(Role::Down(sid)) = self.conns.get(key).copied() {
                    if let Some(u) = self.sessions[sid].up {
                        if !self.sessions[sid].done {
                            out.push(AppAction::Close(u));
                        }
                    }
                }
                out
            }
            AppEvent::Refused { key, why } => {
                let Some(Role::Up(sid)) = self.conns.get(key).copied() else {
                    return vec![];
                };
                self.on_event(
                    &AppEvent::ConnectFailed {
                        token: sid as u64,
                        why: why.clone(),
                    },
                    now,
                )
            }
            AppEvent::Closed { key } => {
                self.conns.remove(key);
                vec![]
            }
            _ => vec![],
        }
    }

    /// Bytes from the downstream side (the app outbound, the peer inbound).
    fn on_down_data(&mut self, sid: usize, key: ConnKey, data: &[u8]) -> Vec<AppAction> {
        let s = &mut self.sessions[sid];
        if s.kind == Kind::Outbound {
            if s.up.is_some() || s.done {
                return vec![];
            }
            s.plain.extend_from_slice(data);
            if http_complete(&s.plain).is_none() {
                return vec![];
            }
            return self.outbound_route(sid);
        }
        // inbound: TLS from the peer sidecar (or plaintext)
        if !s.mtls {
            s.plain.extend_from_slice(data);
            if http_complete(&s.plain).is_none() || s.up.is_some() {
                return vec![];
            }
            return self.inbound_connect(sid);
        }
        s.tls_buf.extend_from_slice(data);
        let mut buf = std::mem::take(&mut s.tls_buf);
        let recs = tls::take_records(&mut buf);
        self.sessions[sid].tls_buf = buf;
        let mut out = Vec::new();
        for (ct, body) in recs {
            let s = &mut self.sessions[sid];
            if !s.handshake_done {
                s.hs_records += 1;
                if ct == tls::HANDSHAKE && s.hs_records == 1 {
                    // ClientHello: answer with the server flight
                    let mut rec = vec![ct, 3, 1];
                    rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
                    rec.extend_from_slice(&body);
                    let sid_bytes = tls::hello_session_id(&rec);
                    let fl = tls::server_flight(&sid_bytes, &mut self.rng);
                    out.push(AppAction::Send(
                        key,
                        fl,
                        format!(
                            "{}: inbound listener 0.0.0.0:{INBOUND_PORT} (original destination {}:{}): mTLS ServerHello, certificate {}",
                            self.name, s.orig_dst.0, s.orig_dst.1, self.spiffe
                        ),
                    ));
                } else if ct == tls::APPLICATION_DATA {
                    // the client's encrypted flight: handshake complete
                    s.handshake_done = true;
                }
                continue;
            }
            if ct != tls::APPLICATION_DATA {
                continue;
            }
            let (_, ki) = s.keys.expect("keys");
            if let Some(p) = tls::open(&ki, s.seq_in, &body) {
                s.seq_in += 1;
                s.plain.extend_from_slice(&p);
            }
        }
        let s = &self.sessions[sid];
        if s.up.is_none() && http_complete(&s.plain).is_some() {
            out.extend(self.inbound_connect(sid));
        }
        out
    }

    fn inbound_connect(&mut self, sid: usize) -> Vec<AppAction> {
        let s = &mut self.sessions[sid];
        let client = super::ip4(s.down.2);
        let peer = self.peers.get(&client).cloned();
        let mut extra = Vec::new();
        if let Some(p) = &peer {
            extra.push(format!(
                "x-forwarded-client-cert: By={};Hash={};Subject=\"\";URI={p}",
                self.spiffe,
                sha_hex(p)
            ));
        }
        s.pending = add_headers(&std::mem::take(&mut s.plain), &extra);
        let port = s.orig_dst.1;
        let note = format!(
            "{}: inbound|{port}|| -> 127.0.0.1:{port} (the application){}",
            self.name,
            peer.map(|p| format!(", peer {p}")).unwrap_or_default()
        );
        vec![AppAction::Connect {
            flow: FlowOf::Conn(s.down),
            dst: Ipv4Addr::LOCALHOST,
            port,
            token: sid as u64,
            note,
        }]
    }

    /// Bytes from the upstream side (the peer sidecar outbound, the app
    /// inbound).
    fn on_up_data(&mut self, sid: usize, key: ConnKey, data: &[u8], now: u64) -> Vec<AppAction> {
        let s = &mut self.sessions[sid];
        let down = s.down;
        if s.kind == Kind::Inbound {
            // the application's response: back to the peer over TLS
            s.plain.extend_from_slice(data);
            if http_complete(&s.plain).is_none() {
                return vec![];
            }
            let resp = std::mem::take(&mut s.plain);
            s.done = true;
            let status = super::http::Head::parse(&resp)
                .map(|h| h.start)
                .unwrap_or_default();
            let a = self.send_tls(
                sid,
                down,
                &resp,
                format!("{}: response {status}", self.name),
            );
            return vec![a, AppAction::Close(key)];
        }
        // outbound: the peer sidecar
        if !s.mtls {
            s.plain.extend_from_slice(data);
        } else {
            s.tls_buf.extend_from_slice(data);
            let mut buf = std::mem::take(&mut s.tls_buf);
            let recs = tls::take_records(&mut buf);
            self.sessions[sid].tls_buf = buf;
            let mut out = Vec::new();
            for (ct, body) in recs {
                let s = &mut self.sessions[sid];
                if !s.handshake_done {
                    s.hs_records += 1;
                    if ct == tls::APPLICATION_DATA {
                        // the server's encrypted flight: ours, then the request
                        s.handshake_done = true;
                        let fl = tls::client_flight(&mut self.rng);
                        out.push(AppAction::Send(
                            key,
                            fl,
                            format!(
                                "{}: mTLS client certificate {}, Finished",
                                self.name, self.spiffe
                            ),
                        ));
                        let req = std::mem::take(&mut self.sessions[sid].pending);
                        out.push(self.send_tls(sid, key, &req, format!("{}: request", self.name)));
                    }
                    continue;
                }
                if ct != tls::APPLICATION_DATA {
                    continue;
                }
                let (_, ki) = s.keys.expect("keys");
                if let Some(p) = tls::open(&ki, s.seq_in, &body) {
                    s.seq_in += 1;
                    s.plain.extend_from_slice(&p);
                }
            }
            if !out.is_empty() {
                return out;
            }
        }
        let s = &mut self.sessions[sid];
        if http_complete(&s.plain).is_none() || s.done {
            return vec![];
        }
        let resp = std::mem::take(&mut s.plain);
        s.done = true;
        let ms = now.saturating_sub(s.started_ns) / 1_000_000;
        let resp = add_headers(
            &resp,
            &[
                format!("x-envoy-upstream-service-time: {ms}"),
                "server: envoy".into(),
            ],
        );
        let status = super::http::Head::parse(&resp)
            .map(|h| h.start)
            .unwrap_or_default();
        vec![
            AppAction::Send(
                down,
                resp,
                format!("{}: response {status} to the application", self.name),
            ),
            AppAction::Close(key),
        ]
    }
}

fn sha_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An error in the sidecar's configuration text: the line and what is
/// wrong there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvoyError {
    /// A word that should be `ADDR:PORT` has no `:`.
    #[error("line {line}: '{value}': expected ADDR:PORT")]
    NotAddrPort { line: usize, value: String },
    /// The address of an `ADDR:PORT` is not an IPv4 address.
    #[error("line {line}: '{value}': bad address")]
    BadAddress { line: usize, value: String },
    /// The port of an `ADDR:PORT` is not a number 0-65535.
    #[error("line {line}: '{value}': bad port")]
    BadPort { line: usize, value: String },
    /// A keyword (`identity`, `cluster`, `peer`) without the value it
    /// needs (`what`).
    #[error("line {line}: {keyword} needs {what}")]
    Missing {
        line: usize,
        keyword: &'static str,
        what: &'static str,
    },
    /// A line starting with another word than identity, cluster or peer.
    #[error("line {line}: unknown keyword '{keyword}': expected identity, cluster or peer")]
    UnknownKeyword { line: usize, keyword: String },
    /// No `identity` line: the sidecar has no SPIFFE id to present.
    #[error("no identity line")]
    NoIdentity,
}

impl EnvoyError {
    /// [`EnvoyError::Missing`]: `keyword` on `line` needs `what`.
    fn missing(line: usize, keyword: &'static str, what: &'static str) -> EnvoyError {
        EnvoyError::Missing {
            line,
            keyword,
            what,
        }
    }
}

/// Parses the sidecar's configuration (what istiod would push, in
/// podpath's line format):
///
/// ```text
/// identity spiffe://cluster.local/ns/default/sa/productpage
/// cluster 10.96.0.42:9080 outbound|9080||reviews.default.svc.cluster.local 10.244.1.5:9080
/// peer 10.244.1.5 spiffe://cluster.local/ns/default/sa/reviews
/// ```
pub fn parse(pod: &str, text: &str, rng: ChaCha8Rng) -> Result<Envoy, EnvoyError> {
    let mut identity = None;
    let mut clusters = BTreeMap::new();
    let mut peers = BTreeMap::new();
    let ap = |s: &str, l: usize| -> Result<(Ipv4Addr, u16), EnvoyError> {
        let (a, p) = s.rsplit_once(':').ok_or_else(|| EnvoyError::NotAddrPort {
            line: l,
            value: s.to_string(),
        })?;
        Ok((
            a.parse().map_err(|_| EnvoyError::BadAddress {
                line: l,
                value: s.to_string(),
            })?,
            p.parse().map_err(|_| EnvoyError::BadPort {
                line: l,
                value: s.to_string(),
            })?,
        ))
    };
    for (i, raw) in text.lines().enumerate() {
        let l = i + 1;
        let w: Vec<&str> = raw
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        match w.first().copied() {
            None => {}
            Some("identity") => {
                identity = Some(
                    w.get(1)
                        .ok_or(EnvoyError::missing(l, "identity", "a SPIFFE id"))?
                        .to_string(),
                )
            }
            Some("cluster") => {
                let vip = ap(
                    w.get(1)
                        .ok_or(EnvoyError::missing(l, "cluster", "ADDR:PORT"))?,
                    l,
                )?;
                let name = w
                    .get(2)
                    .ok_or(EnvoyError::missing(l, "cluster", "a name"))?
                    .to_string();
                let eps = w
                    .iter()
                    .skip(3)
                    .map(|e| ap(e, l))
                    .collect::<Result<Vec<_>, _>>()?;
                clusters.insert(vip, (name, eps));
            }
            Some("peer") => {
                let a: Ipv4Addr = w
                    .get(1)
                    .and_then(|x| x.parse().ok())
                    .ok_or(EnvoyError::missing(l, "peer", "an address"))?;
                peers.insert(
                    a,
                    w.get(2)
                        .ok_or(EnvoyError::missing(l, "peer", "a SPIFFE id"))?
                        .to_string(),
                );
            }
            Some(o) => {
                return Err(EnvoyError::UnknownKeyword {
                    line: l,
                    keyword: o.to_string(),
                })
            }
        }
    }
    let identity = identity.ok_or(EnvoyError::NoIdentity)?;
    Ok(Envoy::new(pod, &identity, clusters, peers, rng))
}

/// istio-init's nat rules (istio-iptables, REDIRECT mode) for a pod.
pub const ISTIO_INIT_RULES: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:ISTIO_INBOUND - [0:0]
:ISTIO_IN_REDIRECT - [0:0]
:ISTIO_OUTPUT - [0:0]
:ISTIO_REDIRECT - [0:0]
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A OUTPUT -p tcp -j ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp -m tcp --dport 15008 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
COMMIT
";
