//! Starting a program on a host from its own configuration text, whatever
//! file the text came from (a scenario's `apps`, a snapshot bundle's
//! `apps`): the program is parsed, binds its ports (a second bind of a port
//! is EADDRINUSE, as for the real program) and joins the host's programs.
//! The caller places a [`StartError`] in its own file.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{runtime::spawn, App, DnsServer, HttpResponseSpec, HttpServer};
use crate::det::host_rng;
use crate::net::host::Host;

/// Why a program does not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// Its configuration is refused: the parser's message, `line N: ...`
    /// counted in the configuration text.
    #[error("{0}")]
    Config(String),
    /// EADDRINUSE: `what` prefixes the message (`frontend web: `, `UDP `).
    #[error("{what}port {port} is already bound on {host} (EADDRINUSE)")]
    InUse {
        what: String,
        port: u16,
        host: String,
    },
    /// keepalived: an instance's interface is missing or has no address.
    #[error("{0}")]
    Interface(String),
}

fn in_use(what: &str, port: u16, hname: &str) -> StartError {
    StartError::InUse {
        what: what.to_string(),
        port,
        host: hname.to_string(),
    }
}

/// HAProxy (`haproxy -f CFG`): it binds every frontend's `bind` lines.
pub fn haproxy(
    h: &mut Host,
    apps: &mut Vec<App>,
    seed: u64,
    cfg: &str,
) -> Result<usize, StartError> {
    let hname = h.name.clone();
    let idx = apps.len();
    let rng = host_rng(seed, &format!("{hname}/haproxy"));
    let mut p =
        super::haproxy::parse(&hname, cfg, rng).map_err(|m| StartError::Config(m.to_string()))?;
    p.config_text = cfg.to_string();
    for f in &p.frontends {
        for &(bind, port) in &f.binds {
            if h.listen_tcp(port, bind.map(Into::into), idx).is_err() {
                return Err(in_use(&format!("frontend {}: ", f.name), port, &hname));
            }
        }
    }
    Ok(spawn(h, apps, App::Proxy(Box::new(p))))
}

/// keepalived (`keepalived -f CFG`): each vrrp_instance's interface must
/// exist, and it sends its adverts from that interface's first address.
pub fn keepalived(h: &mut Host, apps: &mut Vec<App>, cfg: &str) -> Result<usize, StartError> {
    let hname = h.name.clone();
    let mut k = super::keepalived::Keepalived::parse(&hname, cfg)
        .map_err(|m| StartError::Config(m.to_string()))?;
    k.config_text = cfg.to_string();
    for inst in &mut k.instances {
        let Some(d) = h.dev_index(&inst.interface) else {
            return Err(StartError::Interface(format!(
                "vrrp_instance {}: no interface '{}' on {hname}",
                inst.name, inst.interface
            )));
        };
        inst.primary = h.devs[d].addrs.first().map(|a| a.addr()).ok_or_else(|| {
            StartError::Interface(format!(
                "vrrp_instance {}: {} has no address to send adverts from",
                inst.name, inst.interface
            ))
        })?;
    }
    Ok(spawn(h, apps, App::Keepalived(Box::new(k))))
}

/// Envoy (the sidecar): it binds its outbound and inbound ports.
pub fn envoy(h: &mut Host, apps: &mut Vec<App>, seed: u64, cfg: &str) -> Result<usize, StartError> {
    let hname = h.name.clone();
    let idx = apps.len();
    let rng = host_rng(seed, &format!("{hname}/envoy"));
    let en =
        super::envoy::parse(&hname, cfg, rng).map_err(|m| StartError::Config(m.to_string()))?;
    for port in [super::envoy::OUTBOUND_PORT, super::envoy::INBOUND_PORT] {
        if h.listen_tcp(port, None, idx).is_err() {
            return Err(in_use("", port, &hname));
        }
    }
    Ok(spawn(h, apps, App::Envoy(Box::new(en))))
}

/// ingress-nginx: it binds `port`.
pub fn ingress_nginx(
    h: &mut Host,
    apps: &mut Vec<App>,
    seed: u64,
    port: u16,
    cfg: &str,
) -> Result<usize, StartError> {
    let hname = h.name.clone();
    let idx = apps.len();
    let rng = host_rng(seed, &format!("{hname}/ingress-nginx"));
    let mut p = super::ingress_nginx::parse(&hname, port, cfg, rng)
        .map_err(|m| StartError::Config(m.to_string()))?;
    p.config_text = cfg.to_string();
    if h.listen_tcp(port, None, idx).is_err() {
        return Err(in_use("", port, &hname));
    }
    Ok(spawn(h, apps, App::Proxy(Box::new(p))))
}

/// An HTTP server answering `routes` (path -> response), on `port` of
/// `bound` (every address when `None`).
pub fn http_server(
    h: &mut Host,
    apps: &mut Vec<App>,
    name: &str,
    port: u16,
    bound: Option<std::net::IpAddr>,
    routes: BTreeMap<String, HttpResponseSpec>,
) -> Result<usize, StartError> {
    let idx = spawn(
        h,
        apps,
        App::HttpServer(HttpServer::new(name, port, routes)),
    );
    if h.listen_tcp(port, bound, idx).is_err() {
        let hname = h.name.clone();
        return Err(in_use("", port, &hname));
    }
    Ok(idx)
}

/// A DNS server answering A queries for `records` on UDP `port`.
pub fn dns_server(
    h: &mut Host,
    apps: &mut Vec<App>,
    name: &str,
    port: u16,
    (records, records6): (
        BTreeMap<String, Ipv4Addr>,
        BTreeMap<String, std::net::Ipv6Addr>,
    ),
) -> Result<usize, StartError> {
    let idx = spawn(
        h,
        apps,
        App::DnsServer(DnsServer {
            name: name.to_string(),
            port,
            records,
            records6,
        }),
    );
    if h.bind_udp(port, idx).is_err() {
        let hname = h.name.clone();
        return Err(in_use("UDP ", port, &hname));
    }
    Ok(idx)
}

/// A UDP echo server on `port`: each datagram's bytes go back; with
/// `sink`, none does (a listener whose program is unknown).
pub fn udp_echo_server(
    h: &mut Host,
    apps: &mut Vec<App>,
    name: &str,
    port: u16,
    sink: bool,
) -> Result<usize, StartError> {
    let idx = spawn(
        h,
        apps,
        App::UdpEcho(super::udp::UdpEchoServer {
            name: name.to_string(),
            port,
            sink,
        }),
    );
    if h.bind_udp(port, idx).is_err() {
        let hname = h.name.clone();
        return Err(in_use("UDP ", port, &hname));
    }
    Ok(idx)
}

/// An SCTP echo server listening on `port`: each message back on its
/// association; with `sink`, none (a listener whose program is unknown).
pub fn sctp_echo_server(
    h: &mut Host,
    apps: &mut Vec<App>,
    name: &str,
    port: u16,
    sink: bool,
) -> Result<usize, StartError> {
    let idx = spawn(
        h,
        apps,
        App::SctpEcho(super::sctp::SctpEchoServer {
            name: name.to_string(),
            port,
            sink,
        }),
    );
    if h.listen_sctp(port, idx).is_err() {
        let hname = h.name.clone();
        return Err(in_use("SCTP ", port, &hname));
    }
    Ok(idx)
}

/// kube-network-policies (as kindnetd runs it): its evaluator over the
/// API objects `objects` (the informers' view: a `kubectl get -o yaml`
/// stream or the manifests) bound to nfnetlink queue `queue`
/// (`nfqueue.Open`, NFQNL_CFG_CMD_BIND: a queue another program holds is
/// EBUSY, nfnetlink_queue.c `nfqnl_recv_config`).
pub fn kube_network_policies(
    h: &mut Host,
    apps: &mut Vec<App>,
    queue: u16,
    objects: &str,
) -> Result<usize, StartError> {
    use crate::net::netfilter::nfqueue::QueueBinding;
    if h.nf_state.nfqueue.contains_key(&queue) {
        return Err(StartError::Config(format!(
            "nfqueue {queue} is already bound on {} (EBUSY)",
            h.name
        )));
    }
    let listener = evaluator(objects, queue)?;
    let name = "kube-network-policies".to_string();
    h.nf_state.nfqueue.insert(
        queue,
        QueueBinding {
            program: name.clone(),
            copy_range: 128,
            listener,
            last_id: 0,
        },
    );
    Ok(spawn(
        h,
        apps,
        App::Nfqueue(super::nfqueue::NfqueueProgram { name, queue }),
    ))
}

type Evaluators = std::collections::BTreeMap<
    (String, u16),
    std::sync::Arc<crate::k8s::kindnet_policy::Evaluator>,
>;

/// The evaluator over `objects` for queue `queue`: every node of a cluster
/// starts one over the same manifests, which are read once and shared (a
/// cache by content: the result depends on the text alone; at most 4
/// texts are kept).
fn evaluator(
    objects: &str,
    queue: u16,
) -> Result<std::sync::Arc<dyn crate::net::netfilter::nfqueue::QueueListener>, StartError> {
    use crate::k8s::kindnet_policy::{Config, Evaluator};
    static CACHE: std::sync::Mutex<Evaluators> = std::sync::Mutex::new(BTreeMap::new());
    let key = (objects.to_string(), queue);
    if let Ok(c) = CACHE.lock() {
        if let Some(e) = c.get(&key) {
            return Ok(e.clone());
        }
    }
    let cluster = crate::k8s::Cluster::from_yaml(objects, "kube-network-policies objects")
        .map_err(|e| StartError::Config(e.to_string()))?;
    let cfg = Config {
        queue,
        ..Config::default()
    };
    let e = std::sync::Arc::new(Evaluator::new(&cluster, cfg));
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= 4 {
            c.clear();
        }
        c.insert(key, e.clone());
    }
    Ok(e)
}
