//! DNS over UDP: a CoreDNS-like server answering A records from a table,
//! and a stub resolver that asks once, waits 5 s, asks again, as glibc does
//! with `options timeout:5 attempts:2`.
//!
//! Simplifications (listed by `podpath explain`): A records only; no search
//! list expansion yet (the client asks the name it is given); no TCP fallback.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{AppAction, AppEvent};
use crate::wire::dns::{DnsRepr, RCODE_NXDOMAIN};

/// TTL CoreDNS's kubernetes plugin gives Service records.
pub const TTL: u32 = 5;

#[derive(Clone, Debug)]
pub struct DnsServer {
    pub name: String,
    pub port: u16,
    /// name (without the trailing dot) -> address
    pub records: BTreeMap<String, Ipv4Addr>,
}

impl DnsServer {
    pub fn on_event(&mut self, ev: &AppEvent) -> Vec<AppAction> {
        let AppEvent::Datagram { from, to, data, .. } = ev else {
            return vec![];
        };
        let Ok(q) = DnsRepr::parse(data) else {
            return vec![];
        };
        if q.response {
            return vec![];
        }
        let name = q.qname.trim_end_matches('.').to_ascii_lowercase();
        let mut r = q.clone();
        r.response = true;
        r.aa = true;
        r.ra = true;
        let what = match self.records.get(&name) {
            Some(a) => {
                r.answers = vec![(*a, TTL)];
                format!("{}: A {name} -> {a}", self.name)
            }
            None => {
                r.rcode = RCODE_NXDOMAIN;
                format!("{}: A {name} -> NXDOMAIN", self.name)
            }
        };
        vec![AppAction::SendUdp {
            src: *to,
            dst: *from,
            payload: r.emit(),
            note: what,
        }]
    }
}

/// One A lookup, like `getent hosts NAME` with one nameserver.
#[derive(Clone, Debug)]
pub struct DnsClient {
    pub flow: u32,
    pub flow_id: String,
    pub server: Ipv4Addr,
    pub port: u16,
    pub name: String,
    pub started_ns: u64,
    pub id: u16,
    pub tries: u32,
    pub done: bool,
}

pub const TIMEOUT_NS: u64 = 5_000_000_000;
pub const ATTEMPTS: u32 = 2;

impl DnsClient {
    pub fn query(&self) -> Vec<u8> {
        DnsRepr::query(self.id, &self.name).emit()
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        let ms = (now.saturating_sub(self.started_ns)) as f64 / 1e6;
        match ev {
            AppEvent::Datagram { data, from, .. } if !self.done => {
                let Ok(r) = DnsRepr::parse(data) else {
                    return vec![];
                };
                if !r.response || r.id != self.id || from.0 != self.server {
                    return vec![];
                }
                self.done = true;
                let text = if r.rcode == RCODE_NXDOMAIN {
                    format!(
                        "DNS A {}: NXDOMAIN from {} in {ms:.3} ms",
                        self.name, self.server
                    )
                } else {
                    let a: Vec<String> = r.answers.iter().map(|(a, _)| a.to_string()).collect();
                    format!(
                        "DNS A {} -> {} from {} in {ms:.3} ms",
                        self.name,
                        a.join(", "),
                        self.server
                    )
                };
                vec![AppAction::Outcome(self.flow, text)]
            }
            AppEvent::Timer { .. } if !self.done => {
                if self.tries >= ATTEMPTS {
                    self.done = true;
                    return vec![AppAction::Outcome(
                        self.flow,
                        format!(
                            "DNS A {}: no answer from {} after {} queries ({ms:.0} ms)",
                            self.name, self.server, self.tries
                        ),
                    )];
                }
                self.tries += 1;
                vec![AppAction::Resend]
            }
            _ => vec![],
        }
    }
}
