//! DNS over UDP: a CoreDNS-like server answering A records from a table,
//! and a stub resolver that asks once, waits 5 s, asks again, as glibc does
//! with `options timeout:5 attempts:2`.
//!
//! With a host's `resolv.conf` (search list, `ndots`), the resolver tries the
//! names glibc's `res_search` tries, in its order, moving on after NXDOMAIN
//! or an empty answer.
//!
//! Simplifications (listed by `podpath explain`): the server's table holds
//! A records only: it answers A, PTR for an address it holds, and for
//! any other type of a name it holds NOERROR with an empty answer (no
//! AAAA, SRV, TXT or CNAME records); a resolver asks A (`gethostbyname`)
//! unless a bundle flow asks another type; one nameserver; no TCP
//! fallback.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{AppAction, AppEvent};
use crate::wire::dns::{qtype_name, DnsRepr, RCODE_NXDOMAIN, TYPE_A, TYPE_PTR};

/// The address of a reverse name (`5.0.244.10.in-addr.arpa`), as CoreDNS's
/// kubernetes plugin reads a PTR query (plugin/pkg/dnsutil ExtractAddressFromReverse).
fn reverse_addr(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let o: Vec<u8> = rest
        .split('.')
        .rev()
        .map(|x| x.parse::<u8>().ok())
        .collect::<Option<Vec<u8>>>()?;
    let [a, b, c, d] = o[..] else { return None };
    Some(Ipv4Addr::new(a, b, c, d))
}

/// `dig -x ADDR`'s name: the address's octets reversed under in-addr.arpa.
pub fn reverse_name(a: Ipv4Addr) -> String {
    let o = a.octets();
    format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
}

/// TTL CoreDNS's kubernetes plugin gives Service records.
pub const TTL: u32 = 5;

#[derive(Clone, Debug)]
pub struct DnsServer {
    pub name: String,
    pub port: u16,
    /// name (without the trailing dot) -> address (A records)
    pub records: BTreeMap<String, Ipv4Addr>,
    /// name -> IPv6 address (AAAA records)
    pub records6: BTreeMap<String, std::net::Ipv6Addr>,
}

impl DnsServer {
    pub fn on_event(&mut self, ev: &AppEvent) -> Vec<AppAction> {
        let AppEvent::Datagram {
            from,
            to,
            data,
            flow,
            ..
        } = ev
        else {
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
        let t = qtype_name(q.qtype);
        // A from the table; PTR of an address the table holds (CoreDNS's
        // kubernetes plugin answers PTR for Service and pod addresses);
        // any other type of a name the table holds: NOERROR with no answer
        // (the table has A records only); a name it lacks: NXDOMAIN
        let ptr = (q.qtype == TYPE_PTR)
            .then(|| reverse_addr(&name))
            .flatten()
            .and_then(|a| self.records.iter().find(|(_, v)| **v == a))
            .map(|(n, _)| n.clone());
        let known = self.records.contains_key(&name) || self.records6.contains_key(&name);
        let held = known.then_some(());
        let what = match (q.qtype, held, ptr) {
            (TYPE_A, Some(()), _) if self.records.contains_key(&name) => {
                let a = self.records[&name];
                r.answers = vec![(a, TTL)];
                format!("{}: A {name} -> {a}", self.name)
            }
            (crate::wire::dns::TYPE_AAAA, Some(()), _) if self.records6.contains_key(&name) => {
                let a = self.records6[&name];
                r.answers6 = vec![(a, TTL)];
                format!("{}: AAAA {name} -> {a}", self.name)
            }
            (TYPE_PTR, _, Some(n)) => {
                r.names = vec![(n.clone(), TTL)];
                format!("{}: PTR {name} -> {n}", self.name)
            }
            (TYPE_PTR, _, _) | (_, None, _) => {
                r.rcode = RCODE_NXDOMAIN;
                format!("{}: {t} {name} -> NXDOMAIN", self.name)
            }
            (_, Some(()), _) => format!(
                "{}: {t} {name} -> no {t} record (NOERROR, empty answer: the table holds A and AAAA records only)",
                self.name
            ),
        };
        vec![
            AppAction::Served(super::FlowOf::Id(*flow)),
            AppAction::SendUdp {
                src: *to,
                dst: *from,
                payload: r.emit(),
                note: what,
            },
        ]
    }
}

pub use crate::net::resolv::ResolvConf;

/// What to do with the address once resolved: an HTTP GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThenHttp {
    pub port: u16,
    pub host_header: String,
    pub path: String,
    /// `user:password` of the URL: curl sends it as `Authorization: Basic`
    pub user: Option<String>,
    /// Method, header lines and body when they are not curl's GET.
    pub extra: super::http::RequestExtra,
    /// Which families curl asks getaddrinfo for (`-4`, `-6`, neither).
    pub family: IpResolve,
}

/// curl's `--ipv4`/`--ipv6` (CURLOPT_IPRESOLVE), and so the family its
/// getaddrinfo call asks: without either, AF_UNSPEC (curl 8.5's
/// `Curl_getaddrinfo_ex` asks PF_UNSPEC when `Curl_ipv6works`, that is
/// when an AF_INET6 socket can be made, which any Linux with IPv6 allows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpResolve {
    /// AF_UNSPEC: glibc asks A and AAAA (`T_QUERY_A_AND_AAAA`) and sorts
    /// the answers (`rfc3484_sort`, [`super::gai`]).
    #[default]
    Whatever,
    /// `curl -4`: AF_INET, A only.
    V4,
    /// `curl -6`: AF_INET6, AAAA only.
    V6,
}

/// One A lookup, like `getent hosts NAME` with one nameserver; with several
/// candidate names (a search list), each is asked in turn until one has an
/// address.
#[derive(Clone, Debug)]
pub struct DnsClient {
    pub flow: u32,
    pub flow_id: String,
    pub server: std::net::IpAddr,
    pub port: u16,
    /// The name as the program gave it.
    pub name: String,
    /// The names to ask, in order (the name itself without a search list).
    pub candidates: Vec<String>,
    /// Which candidate is being asked.
    pub idx: usize,
    pub started_ns: u64,
    pub id: u16,
    pub tries: u32,
    pub done: bool,
    pub then: Option<ThenHttp>,
    /// Whether the socket is connect()ed to the server (glibc's resolver
    /// is; a bare `sendto` client is not).
    pub connected: bool,
    /// The socket's sk_txhash when connected.
    pub txhash: Option<u32>,
    /// The query type (A unless the flow asks another: `DNS AAAA name`).
    pub qtype: u16,
    /// getaddrinfo(AF_UNSPEC): each name asked A and AAAA at once, the A
    /// query (`id`) then the AAAA one (`id2`), back to back on the same
    /// connected socket (glibc's `send_dg`, one `sendmmsg` of both).
    pub pair: bool,
    /// The AAAA query's id when `pair` (drawn apart from the A one, as
    /// each `__res_context_mkquery` draws its own).
    pub id2: u16,
    /// The answers of the name being asked, in the order they arrived
    /// (getaddrinfo lists the first to arrive first, `gaih_getanswer`).
    pub got: Vec<DnsRepr>,
    /// The address the socket is bound to (`dig -b ADDR`), else the
    /// route's source.
    pub src: Option<Ipv4Addr>,
    /// The port the socket is bound to (`dig -b ADDR#PORT`), else an
    /// ephemeral one.
    pub sport: Option<u16>,
    /// How long each attempt waits for the answer (glibc's `options
    /// timeout:N`, default 5 s).
    pub wait_ns: u64,
    /// With `then`: curl's `-m` (the flow's timeout), counted from the
    /// lookup's start. Simplification: it cuts the connection and
    /// transfer after the lookup, not the lookup itself (glibc's own
    /// timeouts and attempts end that).
    pub curl_timeout_ns: Option<u64>,
}

pub const TIMEOUT_NS: u64 = 5_000_000_000;
pub const ATTEMPTS: u32 = 2;

impl DnsClient {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        flow: u32,
        flow_id: &str,
        server: std::net::IpAddr,
        port: u16,
        name: &str,
        candidates: Vec<String>,
        now: u64,
        then: Option<ThenHttp>,
    ) -> DnsClient {
        let family = then.as_ref().map(|t| t.family);
        let qtype = if family == Some(IpResolve::V6) {
            crate::wire::dns::TYPE_AAAA
        } else {
            TYPE_A
        };
        let pair = family == Some(IpResolve::Whatever);
        DnsClient {
            flow,
            flow_id: flow_id.to_string(),
            server,
            port,
            name: name.to_string(),
            candidates,
            idx: 0,
            started_ns: now,
            id: 0,
            tries: 0,
            done: false,
            then,
            connected: false,
            txhash: None,
            qtype,
            pair,
            id2: 0,
            got: Vec::new(),
            src: None,
            sport: None,
            wait_ns: TIMEOUT_NS,
            curl_timeout_ns: None,
        }
    }

    /// The name being asked now.
    pub fn current(&self) -> &str {
        self.candidates
            .get(self.idx)
            .map(|s| s.as_str())
            .unwrap_or(&self.name)
    }

    /// The query as [`DnsClient::query`] with the message id `id`.
    pub fn query_with_id(&mut self, id: u16) -> Vec<u8> {
        self.id = id;
        self.query()
    }

    pub fn query(&self) -> Vec<u8> {
        DnsRepr::query_type(self.id, self.current(), self.qtype).emit()
    }

    /// The AAAA query of a pair.
    pub fn query2(&self) -> Vec<u8> {
        DnsRepr::query_type(self.id2, self.current(), crate::wire::dns::TYPE_AAAA).emit()
    }

    /// What a pair's query asks, for the packet's note: `A` or `A+AAAA`.
    pub fn asks(&self) -> String {
        if self.pair {
            "A+AAAA".into()
        } else {
            qtype_name(self.qtype)
        }
    }

    /// The outcome of a lookup that found nothing: curl's "Could not
    /// resolve host", or the query's NXDOMAIN or empty answer.
    fn not_found(&self, rcode: u8, ms: f64, via: &str) -> AppAction {
        let t = self.asks();
        let nx = self.got.iter().any(|g| g.rcode == RCODE_NXDOMAIN);
        let why = if nx {
            "NXDOMAIN".to_string()
        } else if self.qtype == TYPE_A {
            "no address".to_string()
        } else {
            format!("no {t} record (NOERROR, empty answer)")
        };
        let (d, text) = if self.then.is_some() {
            (
                crate::trace::Disposition::NotResolved {
                    name: self.name.clone(),
                },
                format!("curl: (6) Could not resolve host: {}", self.name),
            )
        } else {
            (
                crate::trace::Disposition::Answered {
                    http_status: None,
                    dns_rcode: Some(rcode),
                },
                format!(
                    "DNS {t} {}: {why} from {} in {ms:.3} ms{via}",
                    self.name, self.server
                ),
            )
        };
        AppAction::Outcome(self.flow, d, text)
    }

    pub fn on_event(&mut self, ev: &AppEvent, now: u64) -> Vec<AppAction> {
        let ms = (now.saturating_sub(self.started_ns)) as f64 / 1e6;
        match ev {
            AppEvent::Datagram { data, from, .. } if !self.done => {
                let Ok(r) = DnsRepr::parse(data) else {
                    return vec![];
                };
                let ours = r.id == self.id || (self.pair && r.id == self.id2);
                if !r.response || !ours || from.0 != self.server {
                    return vec![];
                }
                if self.got.iter().any(|g| g.id == r.id) {
                    // a second copy of an answer already read
                    return vec![];
                }
                self.got.push(r.clone());
                if self.pair && self.got.len() < 2 {
                    // send_dg waits for both answers of the pair
                    return vec![];
                }
                let asked = self.current().to_string();
                let t = self.asks();
                // a name is found when an answer holds records
                // (res_query.c: either of the pair NOERROR with ancount)
                let found = self.got.iter().any(|g| {
                    g.rcode != RCODE_NXDOMAIN
                        && !(g.answers.is_empty() && g.answers6.is_empty() && g.names.is_empty())
                });
                if !found && self.idx + 1 < self.candidates.len() {
                    // res_search: NXDOMAIN or no data: the next name.
                    self.idx += 1;
                    self.got.clear();
                    return vec![AppAction::NextQuery];
                }
                self.done = true;
                let n = self.candidates.len();
                let via = if n > 1 {
                    format!(" (as {asked}, query {} of {n})", self.idx + 1)
                } else {
                    String::new()
                };
                if !found {
                    return vec![self.not_found(r.rcode, ms, &via)];
                }
                if let Some(t) = &self.then {
                    // the addresses in the order the answers came
                    let dsts: Vec<std::net::IpAddr> = self
                        .got
                        .iter()
                        .flat_map(|g| {
                            g.answers
                                .iter()
                                .map(|a| std::net::IpAddr::V4(a.0))
                                .chain(g.answers6.iter().map(|a| std::net::IpAddr::V6(a.0)))
                        })
                        .collect();
                    if !dsts.is_empty() {
                        return vec![AppAction::StartHttp {
                            flow: self.flow,
                            flow_id: self.flow_id.clone(),
                            name: self.name.clone(),
                            dsts,
                            then: t.clone(),
                            note: format!("{via} in {ms:.3} ms"),
                        }];
                    }
                }
                if self.qtype != TYPE_A {
                    // AAAA addresses (RFC 3596), or PTR names
                    let ns: Vec<String> = r
                        .answers6
                        .iter()
                        .map(|(a, _)| a.to_string())
                        .chain(r.names.iter().map(|(n, _)| n.clone()))
                        .collect();
                    let d = crate::trace::Disposition::Answered {
                        http_status: None,
                        dns_rcode: Some(r.rcode),
                    };
                    let text = format!(
                        "DNS {t} {} -> {} from {} in {ms:.3} ms{via}",
                        self.name,
                        ns.join(", "),
                        self.server
                    );
                    return vec![AppAction::Outcome(self.flow, d, text)];
                }
                if r.answers.is_empty() {
                    return vec![];
                }
                let a: Vec<String> = r.answers.iter().map(|(a, _)| a.to_string()).collect();
                let text = format!(
                    "DNS A {} -> {} from {} in {ms:.3} ms{via}",
                    self.name,
                    a.join(", "),
                    self.server
                );
                let d = crate::trace::Disposition::Answered {
                    http_status: None,
                    dns_rcode: Some(r.rcode),
                };
                vec![AppAction::Outcome(self.flow, d, text)]
            }
            AppEvent::Timer { .. } if !self.done => {
                if self.tries >= ATTEMPTS {
                    self.done = true;
                    return vec![AppAction::Outcome(
                        self.flow,
                        crate::trace::Disposition::TimedOut,
                        format!(
                            "DNS {} {}: no answer from {} after {} queries ({ms:.0} ms)",
                            self.asks(),
                            self.current(),
                            self.server,
                            self.tries
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rc() -> ResolvConf {
        ResolvConf {
            nameserver: Ipv4Addr::new(10, 96, 0, 10).into(),
            search: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
                "cluster.local".into(),
            ],
            ndots: 5,
        }
    }

    #[test]
    fn search_order_follows_res_search() {
        assert_eq!(
            rc().candidates("web"),
            [
                "web.default.svc.cluster.local",
                "web.svc.cluster.local",
                "web.cluster.local",
                "web"
            ]
        );
        // four dots < ndots 5: the search list still comes first
        assert_eq!(
            rc().candidates("a.b.c.d.e")[0],
            "a.b.c.d.e.default.svc.cluster.local"
        );
        // enough dots: as-is first
        assert_eq!(rc().candidates("a.b.c.d.e.f")[0], "a.b.c.d.e.f");
        // trailing dot: only the name
        assert_eq!(
            rc().candidates("web.default.svc.cluster.local."),
            ["web.default.svc.cluster.local"]
        );
        assert_eq!(ResolvConf::parse(&rc().text()), Some(rc()));
        assert_eq!(
            rc().text(),
            "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
        );
    }
}
