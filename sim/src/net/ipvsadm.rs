//! `ipvsadm -S [-n]` output (what `ipvsadm -R` reads): virtual services
//! (`-A -t|-u|--sctp-service ADDR:PORT` or `-A -f MARK [-6]`, `-s SCHED`,
//! `-p [TIMEOUT]`, `-M NETMASK`, `-b FLAGS`, `--pe NAME`, `-o`) and real
//! servers (`-a SERVICE -r ADDR[:PORT] -m|-g|-i -w WEIGHT [-x N] [-y N]`),
//! as ipvsadm.c reads them (`parse_options`, `parse_service`: `[v6]:port`,
//! a host name or a service name where `-n` was not given; `print_service_entry`
//! writes them) and the kernel takes them (libipvs.c `ipvs_strerror` for
//! the refusals: "Service already exists", "Service not defined"...).
//!
//! Loaded into the IPVS model ([`super::ipvs`]): TCP and UDP services of
//! IPv4 and IPv6 addresses with masquerading (-m) real servers and the rr, wrr, lc,
//! wlc and sh schedulers. What ipvsadm takes but podpath does not evaluate
//! (fwmark services, -g/-i forwarding, persistence, other schedulers, host
//! names no hosts file given resolves are listed apart, as unresolved:
//! [`crate::net::names`]) is listed as unmodelled with its line;
//! IPv6 services are kept for when IPv6 lands.

use std::net::{IpAddr, Ipv4Addr};

use super::ipvs::{Ipvs, RealServer, Scheduler, VirtualService};
use super::netfilter::Unmodelled;

/// What podpath simplifies in the services it loads.
pub const SIMPLIFIED: &[&str] = &[
    "lc and wlc count the connections podpath scheduled (not active/inactive as the kernel's 256*active+inactive)",
    "thresholds (-x/-y) are kept, not enforced",
];

/// A line ipvsadm or the kernel would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct IpvsadmError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// How a real server is reached (`-m`, `-g`, `-i`; ipvsadm's default -g).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fwd {
    Masq,
    Route,
    Tunnel,
}

/// The virtual address of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vaddr {
    /// Protocol (6, 17, 132), address and port.
    Addr(u8, IpAddr, u16),
    /// `-f MARK` (with `-6`: IPv6).
    Fwmark(u32, bool),
    /// A host name `ipvsadm -S` without `-n` printed (resolved by ipvsadm
    /// -R on the machine; not here): protocol, name, port.
    Host(u8, String, u16),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedReal {
    pub line: usize,
    /// Address and port (a name when it could not be resolved).
    pub addr: Result<IpAddr, String>,
    pub port: u16,
    pub fwd: Fwd,
    pub weight: u32,
    pub upper: Option<u32>,
    pub lower: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedService {
    pub line: usize,
    pub vaddr: Vaddr,
    pub scheduler: String,
    /// `-p TIMEOUT` (seconds; 300 when -p has no value).
    pub persistent: Option<u32>,
    pub netmask: Option<String>,
    pub sched_flags: Option<String>,
    pub pe: Option<String>,
    pub ops: bool,
    pub reals: Vec<SavedReal>,
}

/// An `ipvsadm -S` dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpvsadmDump {
    pub services: Vec<SavedService>,
    pub unmodelled: Vec<Unmodelled>,
    /// Host names (a dump written without `-n`) that no hosts file given
    /// resolves: what `ipvsadm -R` on the dumped machine would resolve
    /// ([`crate::net::names`]); their service or real server is left out.
    pub unresolved: Vec<Unmodelled>,
}

/// Schedulers the kernel has (net/netfilter/ipvs/ip_vs_*.c).
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// /etc/services names `ipvsadm -S` without `-n` prints.
const SERVICES: &[(&str, u16)] = &[
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("http", 80),
    ("www", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("submission", 587),
    ("ldaps", 636),
    ("imaps", 993),
    ("pop3s", 995),
    ("mysql", 3306),
    ("radan-http", 8088),
    ("http-alt", 8080),
    ("webcache", 8080),
    ("postgresql", 5432),
];

/// `parse_service`: `A.B.C.D[:PORT]`, `[V6][:PORT]`, `NAME[:PORT]`.
fn addr_port(s: &str) -> Option<(Result<IpAddr, String>, Option<u16>)> {
    let (a, p) = if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once(']')?;
        (a, p.strip_prefix(':'))
    } else if s.parse::<std::net::Ipv6Addr>().is_ok() {
        (s, None)
    } else {
        match s.rsplit_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        }
    };
    let port = match p {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .or_else(|| SERVICES.iter().find(|(n, _)| *n == p).map(|(_, v)| *v))?,
        ),
    };
    let addr = match a.parse::<IpAddr>() {
        Ok(ip) => Ok(ip),
        Err(_) if a == "localhost" || a == "localhost.localdomain" => {
            Ok(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        Err(_)
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)) =>
        {
            Err(a.to_string())
        }
        Err(_) => return None,
    };
    Some((addr, port))
}

/// One line's options after the command.
struct Opts {
    vaddr: Option<Vaddr>,
    sched: Option<String>,
    persistent: Option<u32>,
    netmask: Option<String>,
    sched_flags: Option<String>,
    pe: Option<String>,
    ops: bool,
    real: Option<(Result<IpAddr, String>, Option<u16>)>,
    fwd: Option<Fwd>,
    weight: Option<u32>,
    upper: Option<u32>,
    lower: Option<u32>,
}

fn parse_opts(w: &[&str]) -> Result<Opts, String> {
    let mut o = Opts {
        vaddr: None,
        sched: None,
        persistent: None,
        netmask: None,
        sched_flags: None,
        pe: None,
        ops: false,
        real: None,
        fwd: None,
        weight: None,
        upper: None,
        lower: None,
    };
    let mut v6 = false;
    let mut i = 0;
    let num = |s: Option<&&str>, what: &str, max: u64| -> Result<u32, String> {
        s.and_then(|s| s.parse::<u64>().ok())
            .filter(|v| *v <= max)
            .map(|v| v as u32)
            .ok_or_else(|| format!("illegal {what} specified"))
    };
    while i < w.len() {
        let a = w[i];
        let val = w.get(i + 1);
        let mut step = 2;
        match a {
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" => {
                let proto = match a {
                    "-t" | "--tcp-service" => 6,
                    "-u" | "--udp-service" => 17,
                    _ => 132,
                };
                let s = val.ok_or("option requires an argument")?;
                let (addr, port) = addr_port(s)
                    .ok_or_else(|| "illegal virtual server address[:port] specified".to_string())?;
                let port = port.unwrap_or(0);
                o.vaddr = Some(match addr {
                    Ok(ip) => Vaddr::Addr(proto, ip, port),
                    Err(name) => Vaddr::Host(proto, name, port),
                });
            }
            "-f" | "--fwmark-service" => {
                let m = val
                    .and_then(|s| s.parse::<u32>().ok())
                    .filter(|m| *m > 0)
                    .ok_or_else(|| {
                        format!("invalid fwmark value `{}' specified", val.unwrap_or(&""))
                    })?;
                o.vaddr = Some(Vaddr::Fwmark(m, false));
            }
            "-6" | "--ipv6" => {
                v6 = true;
                step = 1;
            }
            "-s" | "--scheduler" => {
                let s = val.ok_or("option requires an argument")?;
                if !SCHEDULERS.contains(s) {
                    return Err("Scheduler or persistence engine not found".into());
                }
                o.sched = Some(s.to_string());
            }
            "-p" | "--persistent" => match val.and_then(|s| s.parse::<u32>().ok()) {
                Some(t) => o.persistent = Some(t),
                None => {
                    o.persistent = Some(300);
                    step = 1;
                }
            },
            "-M" | "--netmask" => {
                o.netmask = Some(val.ok_or("option requires an argument")?.to_string())
            }
            "-b" | "--sched-flags" => {
                o.sched_flags = Some(val.ok_or("option requires an argument")?.to_string())
            }
            "--pe" | "pe" => o.pe = Some(val.ok_or("option requires an argument")?.to_string()),
            "-o" | "--ops" | "ops" => {
                o.ops = true;
                step = 1;
            }
            "-r" | "--real-server" => {
                let s = val.ok_or("option requires an argument")?;
                o.real =
                    Some(addr_port(s).ok_or_else(|| {
                        "illegal real server address[:port] specified".to_string()
                    })?);
            }
            "-m" | "--masquerading" | "-g" | "--gatewaying" | "-i" | "--ipip" => {
                o.fwd = Some(match a {
                    "-m" | "--masquerading" => Fwd::Masq,
                    "-g" | "--gatewaying" => Fwd::Route,
                    _ => Fwd::Tunnel,
                });
                step = 1;
            }
            "-w" | "--weight" => o.weight = Some(num(val, "weight", 65535)?),
            "-x" | "--u-threshold" => {
                o.upper = Some(num(val, "upper threshold", u64::from(u32::MAX))?)
            }
            "-y" | "--l-threshold" => {
                o.lower = Some(num(val, "lower threshold", u64::from(u32::MAX))?)
            }
            "--tun-type" | "--tun-port" => {}
            "--tun-nocsum" | "--tun-csum" | "--tun-remcsum" => step = 1,
            _ if !a.starts_with('-') => return Err(format!("unexpected argument {a}")),
            _ => return Err(format!("unknown option `{a}'")),
        }
        i += step;
    }
    if v6 {
        if let Some(Vaddr::Fwmark(m, _)) = o.vaddr {
            o.vaddr = Some(Vaddr::Fwmark(m, true));
        }
    }
    Ok(o)
}

/// Parses `ipvsadm -S` output (or any `ipvsadm -R` input).
pub fn parse(text: &str, source: &str) -> Result<IpvsadmDump, IpvsadmError> {
    let mut d = IpvsadmDump::default();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let err = |m: String| IpvsadmError {
            file: source.to_string(),
            line,
            message: m,
        };
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let w: Vec<&str> = l.split_whitespace().collect();
        let o = parse_opts(&w[1..]).map_err(err)?;
        let find = |d: &IpvsadmDump, v: &Vaddr| d.services.iter().position(|s| &s.vaddr == v);
        match w[0] {
            "-A" | "--add-service" | "-E" | "--edit-service" => {
                let v = o
                    .vaddr
                    .clone()
                    .ok_or_else(|| err("You need to supply the 'service-address' option for the 'add-service' command".into()))?;
                let edit = matches!(w[0], "-E" | "--edit-service");
                match (find(&d, &v), edit) {
                    (Some(_), false) => return Err(err("Service already exists".into())),
                    (None, true) => return Err(err("No such service".into())),
                    (Some(i), true) => d.services.remove(i).reals,
                    (None, false) => Vec::new(),
                };
                d.services.push(SavedService {
                    line,
                    vaddr: v,
                    scheduler: o.sched.unwrap_or_else(|| "wlc".into()),
                    persistent: o.persistent,
                    netmask: o.netmask,
                    sched_flags: o.sched_flags,
                    pe: o.pe,
                    ops: o.ops,
                    reals: Vec::new(),
                });
            }
            "-D" | "--delete-service" => {
                let v = o.vaddr.ok_or_else(|| err("missing service".into()))?;
                let i = find(&d, &v).ok_or_else(|| err("No such service".into()))?;
                d.services.remove(i);
            }
            "-C" | "--clear" => d.services.clear(),
            "-a" | "--add-server" | "-e" | "--edit-server" | "-d" | "--delete-server" => {
                let v = o
                    .vaddr
                    .clone()
                    .ok_or_else(|| err("missing service".into()))?;
                let (addr, port) = o.real.clone().ok_or_else(|| {
                    err(
                        "You need to supply the 'real-server' option for the 'add-server' command"
                            .into(),
                    )
                })?;
                let i = find(&d, &v).ok_or_else(|| err("Service not defined".into()))?;
                let svc_port = match &v {
                    Vaddr::Addr(_, _, p) | Vaddr::Host(_, _, p) => *p,
                    Vaddr::Fwmark(..) => 0,
                };
                let r = SavedReal {
                    line,
                    addr,
                    port: port.unwrap_or(svc_port),
                    fwd: o.fwd.unwrap_or(Fwd::Route),
                    weight: o.weight.unwrap_or(1),
                    upper: o.upper,
                    lower: o.lower,
                };
                let reals = &mut d.services[i].reals;
                let at = reals
                    .iter()
                    .position(|x| (&x.addr, x.port) == (&r.addr, r.port));
                match (w[0], at) {
                    ("-a" | "--add-server", Some(_)) => {
                        return Err(err("Destination already exists".into()))
                    }
                    ("-a" | "--add-server", None) => reals.push(r),
                    (_, None) => return Err(err("No such destination".into())),
                    ("-d" | "--delete-server", Some(j)) => {
                        reals.remove(j);
                    }
                    (_, Some(j)) => reals[j] = r,
                }
            }
            "--set" | "--start-daemon" | "--stop-daemon" => {
                d.unmodelled.push(Unmodelled {
                    line,
                    construct: format!("ipvsadm {}", w[0]),
                    effect: "ignored (timeouts and the sync daemon are not modelled)".into(),
                });
            }
            other => return Err(err(format!("unknown command `{other}'"))),
        }
    }
    d.unmodelled.extend(unmodelled_of(&d));
    d.unmodelled.sort();
    d.unresolved = unresolved_of(&d);
    Ok(d)
}

/// The host names no hosts file resolved (ipvsadm.c parse_service →
/// host_to_addr → gethostbyname: the dumped machine's resolver).
fn unresolved_of(d: &IpvsadmDump) -> Vec<Unmodelled> {
    let mut out = Vec::new();
    let mut push = |line, h: &str, left: &str| {
        out.push(Unmodelled {
            line,
            construct: format!("ipvsadm: host name '{h}'"),
            effect: format!(
                "{}: {left} (or write the dump with ipvsadm -S -n)",
                crate::net::names::Db::Hosts.needs_file()
            ),
        })
    };
    for s in &d.services {
        if let Vaddr::Host(_, h, _) = &s.vaddr {
            // (its real servers go with it)
            push(s.line, h, "the service is left out");
            continue;
        }
        for r in &s.reals {
            if let Err(h) = &r.addr {
                push(r.line, h, "the real server is left out");
            }
        }
    }
    out.sort();
    out
}

/// What the dump holds that the IPVS model does not evaluate.
fn unmodelled_of(d: &IpvsadmDump) -> Vec<Unmodelled> {
    let mut out = Vec::new();
    let mut push = |line, construct: String, effect: &str| {
        out.push(Unmodelled {
            line,
            construct,
            effect: effect.to_string(),
        })
    };
    const OUT: &str = "the service is left out (its packets go on to the local stack)";
    for s in &d.services {
        match &s.vaddr {
            Vaddr::Fwmark(m, _) => push(s.line, format!("ipvsadm: -f {m} (fwmark service)"), OUT),
            Vaddr::Host(..) => {}
            Vaddr::Addr(..) => {
                if Scheduler::from_name(&s.scheduler).is_none() {
                    push(s.line, format!("ipvsadm: -s {}", s.scheduler), OUT);
                }
                if s.persistent.is_some() && persistence_of(s).is_none() {
                    push(
                        s.line,
                        format!("ipvsadm: -M {}", s.netmask.as_deref().unwrap_or("")),
                        "not a netmask of the service's family (a dotted IPv4 mask, an IPv6 prefix length): each connection is scheduled anew",
                    );
                }
                if s.sched_flags.is_some() || s.pe.is_some() || s.ops {
                    push(s.line, "ipvsadm: -b/--pe/-o".into(), "ignored");
                }
                for r in &s.reals {
                    match (&r.addr, r.fwd) {
                        (Err(_), _) => {}
                        (Ok(_), Fwd::Route) => push(
                            r.line,
                            "ipvsadm: -g (direct routing)".into(),
                            "the real server is left out",
                        ),
                        (Ok(_), Fwd::Tunnel) => push(
                            r.line,
                            "ipvsadm: -i (ipip tunnel)".into(),
                            "the real server is left out",
                        ),
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

pub use crate::net::names::parse_hosts;

impl IpvsadmDump {
    /// Resolves the host names `ipvsadm -S` without `-n` printed (what
    /// `ipvsadm -R` on the machine would resolve: ipvsadm.c parse_service
    /// → host_to_addr) with `names` (lower-case keys: a hosts file's, the
    /// bundle's own hosts); what stays unresolved stays in `unresolved`. Returns
    /// the names resolved, with their addresses.
    pub fn resolve(
        &mut self,
        names: &std::collections::BTreeMap<String, Ipv4Addr>,
    ) -> Vec<(String, Ipv4Addr)> {
        let mut done = Vec::new();
        let mut look = |h: &str| {
            let a = names.get(&h.to_ascii_lowercase()).copied()?;
            if !done.iter().any(|(n, _)| n == h) {
                done.push((h.to_string(), a));
            }
            Some(a)
        };
        for s in &mut self.services {
            if let Vaddr::Host(p, h, port) = &s.vaddr {
                if let Some(a) = look(h) {
                    s.vaddr = Vaddr::Addr(*p, IpAddr::V4(a), *port);
                }
            }
            for r in &mut s.reals {
                if let Err(h) = &r.addr {
                    if let Some(a) = look(h) {
                        r.addr = Ok(IpAddr::V4(a));
                    }
                }
            }
        }
        if !done.is_empty() {
            // what --set/--start-daemon lines left, then the services anew
            let mut u: Vec<Unmodelled> = self
                .unmodelled
                .iter()
                .filter(|u| u.construct.starts_with("ipvsadm --"))
                .cloned()
                .collect();
            u.extend(unmodelled_of(self));
            u.sort();
            self.unmodelled = u;
            self.unresolved = unresolved_of(self);
        }
        done
    }

    /// The services the IPVS model evaluates: TCP/UDP on IPv4 and IPv6
    /// addresses with a modelled scheduler, their masquerading real servers
    /// of the service's family.
    pub fn to_ipvs(&self) -> Ipvs {
        let mut ipvs = Ipvs::default();
        for s in &self.services {
            let Vaddr::Addr(proto @ (6 | 17), vip, vport) = s.vaddr else {
                continue;
            };
            let Some(sched) = Scheduler::from_name(&s.scheduler) else {
                continue;
            };
            let reals = s
                .reals
                .iter()
                .filter(|r| r.fwd == Fwd::Masq)
                .filter_map(|r| match r.addr {
                    Ok(ip) if ip.is_ipv6() == vip.is_ipv6() => Some(RealServer {
                        ip,
                        port: r.port,
                        weight: r.weight,
                        conns: 0,
                    }),
                    _ => None,
                })
                .collect();
            ipvs.services.push({
                let mut v = VirtualService::new(proto, vip, vport, sched, reals);
                v.persistence = persistence_of(s);
                v
            });
        }
        ipvs
    }
}

/// `-p TIMEOUT [-M NETMASK]` of a service (netmask 255.255.255.255, or
/// prefix length 128 for IPv6, when not given, as ipvsadm's defaults);
/// None without -p or with a netmask that is not one of the service's
/// family (ipvsadm.c: an IPv4 dotted mask, an IPv6 prefix length 1-128).
fn persistence_of(s: &SavedService) -> Option<crate::net::ipvs::Persistence> {
    let t = s.persistent?;
    let v6 = matches!(s.vaddr, Vaddr::Addr(_, IpAddr::V6(_), _));
    let netmask = match (s.netmask.as_deref(), v6) {
        (None, false) => IpAddr::V4(Ipv4Addr::BROADCAST),
        (None, true) => IpAddr::V6(std::net::Ipv6Addr::from(u128::MAX)),
        (Some(m), false) => IpAddr::V4(m.parse().ok()?),
        (Some(m), true) => {
            let len: u32 = m.parse().ok().filter(|l| (1..=128).contains(l))?;
            IpAddr::V6(std::net::Ipv6Addr::from(u128::MAX << (128 - len)))
        }
    };
    Some(crate::net::ipvs::Persistence {
        timeout_ns: u64::from(t) * 1_000_000_000,
        netmask,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_proxy_dump() {
        // kube-proxy ipvs mode, `ipvsadm -S -n` (the form print_service_entry writes)
        let d = parse(
            "-A -t 10.96.0.1:443 -s rr\n-a -t 10.96.0.1:443 -r 172.18.0.3:6443 -m -w 1\n\
             -A -u 10.96.0.10:53 -s rr\n-a -u 10.96.0.10:53 -r 10.244.0.2:53 -m -w 1\n\
             -a -u 10.96.0.10:53 -r 10.244.0.3:53 -m -w 0\n\
             -A -t 10.254.0.1:443 -s rr -p 10800\n-a -t 10.254.0.1:443 -r 192.168.123.250:6443 -m -w 1\n",
            "d",
        )
        .unwrap();
        let ipvs = d.to_ipvs();
        assert_eq!(ipvs.services.len(), 3);
        let dns = &ipvs.services[1];
        assert_eq!((dns.proto, dns.vport, dns.reals.len()), (17, 53, 2));
        assert_eq!(dns.reals[1].weight, 0);
        // -p 10800: persistence, modelled (sessionAffinity: ClientIP)
        assert!(d.unmodelled.is_empty(), "{:?}", d.unmodelled);
        assert_eq!(
            ipvs.services[2].persistence,
            Some(crate::net::ipvs::Persistence {
                timeout_ns: 10_800_000_000_000,
                netmask: std::net::Ipv4Addr::BROADCAST.into()
            })
        );
    }

    #[test]
    fn names_defaults_and_refusals() {
        // ipvsadm -S without -n: names; -a without -m is -g (DR), weight 1
        let d = parse(
            "-A -t localhost.localdomain:http -s rr\n-a -t localhost.localdomain:http -r 192.168.199.229:http -m -w 1\n\
             -A -t s2:http -s wlc\n-a -t s2:http -r 172.16.122.193\n-A -f 1 -s rr\n-A -t [2001:db8::1]:80 -s rr\n",
            "d",
        )
        .unwrap();
        assert_eq!(d.services.len(), 4);
        assert_eq!(
            d.services[0].vaddr,
            Vaddr::Addr(6, IpAddr::V4(Ipv4Addr::LOCALHOST), 80)
        );
        assert_eq!(d.services[1].reals[0].fwd, Fwd::Route);
        assert_eq!(d.services[1].reals[0].port, 80);
        let lines: Vec<usize> = d.unmodelled.iter().map(|u| u.line).collect();
        assert_eq!(lines, [5]);
        let lines: Vec<usize> = d.unresolved.iter().map(|u| u.line).collect();
        assert_eq!(lines, [3], "s2: the dumped machine's name");
        // localhost's service and the IPv6 one (no real server yet)
        let ipvs = d.to_ipvs();
        assert_eq!(ipvs.services.len(), 2);
        assert_eq!(
            ipvs.services[1].vip,
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        let e = parse("-A -t 1.1.1.1:80 -s rr\n-A -t 1.1.1.1:80 -s rr\n", "f").unwrap_err();
        assert_eq!(e.to_string(), "f:2: Service already exists");
        let e = parse("-a -t 1.1.1.1:80 -r 2.2.2.2 -m\n", "f").unwrap_err();
        assert_eq!(e.message, "Service not defined");
        let e = parse("-A -t 1.1.1.1:80 -s bogus\n", "f").unwrap_err();
        assert_eq!(e.message, "Scheduler or persistence engine not found");
        assert!(parse(
            "-A -t 1.1.1.1:80 -s rr\n-a -t 1.1.1.1:80 -r 2.2.2.2 -m -w 70000\n",
            "f"
        )
        .is_err());
    }

    /// A hosts file (first line wins, case-insensitive, IPv6 lines
    /// skipped) resolves the service's name: the service is then loaded,
    /// its masquerading real servers with it; a name it lacks stays
    /// unmodelled.
    #[test]
    fn host_names_resolve_from_a_hosts_file() {
        let hosts =
            parse_hosts("127.0.0.1 localhost\n::1 s2\n10.0.0.9 S2 s2.lan # vip\n10.0.0.8 s2\n");
        assert_eq!(hosts["s2"], Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(hosts["s2.lan"], Ipv4Addr::new(10, 0, 0, 9));
        let text = "-A -t s2:http -s rr\n-a -t s2:http -r web1:http -m -w 1\n-a -t s2:http -r 172.16.0.3:http -m -w 1\n-A -t other:http -s rr\n";
        let mut d = parse(text, "x").unwrap();
        assert!(d.unmodelled.is_empty());
        assert_eq!(d.unresolved.len(), 2);
        assert!(
            d.unresolved[0].effect.contains("/etc/hosts"),
            "{:?}",
            d.unresolved
        );
        assert!(d.to_ipvs().services.is_empty());
        let done = d.resolve(&hosts);
        assert_eq!(done, vec![("s2".to_string(), Ipv4Addr::new(10, 0, 0, 9))]);
        // web1 is unknown: that real server is left out; `other` too
        let u: Vec<String> = d.unresolved.iter().map(|u| u.construct.clone()).collect();
        assert_eq!(
            u,
            vec!["ipvsadm: host name 'web1'", "ipvsadm: host name 'other'"]
        );
        let ipvs = d.to_ipvs();
        assert_eq!(ipvs.services.len(), 1);
        assert_eq!(ipvs.services[0].reals.len(), 1);
    }

    /// The real dumps of the corpus all load; alibaba/LVS#15's
    /// (tests/data/refused), whose `(null)` forwarding method (a FULLNAT
    /// kernel's) `ipvsadm -R` refuses, are refused.
    #[test]
    fn corpus_loads() {
        let root = env!("CARGO_MANIFEST_DIR");
        for (top, loads) in [("corpus", true), ("refused", false)] {
            let dir = format!("{root}/tests/data/{top}/ipvsadm");
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            assert!(files.len() >= if loads { 5 } else { 2 });
            for p in files {
                let t = std::fs::read_to_string(&p).unwrap();
                let r = parse(&t, "c");
                if loads {
                    let d = r.unwrap();
                    assert!(!d.services.is_empty(), "{}", p.display());
                } else {
                    let e = r.unwrap_err();
                    assert_eq!(
                        (e.line, e.message.as_str()),
                        (2, "unexpected argument (null)")
                    );
                }
            }
        }
    }

    /// An IPv6 dump (kube-proxy's IPv6 proxier, `ipvsadm -S -n`): services
    /// and real servers as `[ADDR]:PORT`; `-M` a prefix length; a real
    /// server of the other family is not loaded.
    #[test]
    fn ipv6_services_load() {
        let d = parse(
            "-A -t [fd00:10:96::1]:80 -s rr\n-a -t [fd00:10:96::1]:80 -r [fd00:10:244::5]:8080 -m -w 1\n\
             -A -u [fd00:10:96::a]:53 -s rr -p 10800 -M 64\n-a -u [fd00:10:96::a]:53 -r [fd00:10:244:1::3]:53 -m -w 1\n\
             -a -u [fd00:10:96::a]:53 -r 10.244.1.3:53 -m -w 1\n",
            "d6",
        )
        .unwrap();
        let ipvs = d.to_ipvs();
        assert_eq!(ipvs.services.len(), 2);
        let http = &ipvs.services[0];
        assert_eq!(http.vip, "fd00:10:96::1".parse::<IpAddr>().unwrap());
        assert_eq!(
            (http.reals[0].ip, http.reals[0].port),
            ("fd00:10:244::5".parse().unwrap(), 8080)
        );
        let dns = &ipvs.services[1];
        assert_eq!(
            dns.reals.len(),
            1,
            "the IPv4 real server is not of the service's family"
        );
        assert_eq!(
            dns.persistence.map(|p| p.netmask),
            Some("ffff:ffff:ffff:ffff::".parse().unwrap())
        );
        assert!(d.unmodelled.is_empty(), "{:?}", d.unmodelled);
        // a dotted mask on an IPv6 service is no netmask of its family
        let bad = parse("-A -t [fd00::1]:80 -s rr -p 60 -M 255.255.255.0\n", "d").unwrap();
        assert_eq!(bad.to_ipvs().services[0].persistence, None);
        assert_eq!(bad.unmodelled.len(), 1, "{:?}", bad.unmodelled);
    }
}
