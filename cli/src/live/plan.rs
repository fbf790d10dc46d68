//! What `Lab::build` does to this machine, as a plan: the commands that
//! build the world's hosts out of network namespaces, in order, computed
//! from the world alone (no I/O, so it can be read and tested without
//! root). The lab runs them one after the other and stops at the first
//! that fails.
//!
//! The order is the kernel's: namespaces, then devices (bridges and
//! dummies, veth pairs, then VXLAN devices, which need their underlay),
//! link settings, addresses and VXLAN forwarding entries, sysctls, and
//! last routes (device routes before gateways), policy rules, permanent
//! neighbours and the rulesets (`iptables-restore`, `nft -f`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use podpath_sim::app::App;
use podpath_sim::net::fib::{table_name, RouteType, RuleAction, TABLE_LOCAL, TABLE_MAIN};
use podpath_sim::net::host::{DevKind, Host};
use podpath_sim::world::{Request, World};

/// One command of the plan: the argv of one `ip`, `bridge` or
/// `ip netns exec` call, its stdin, and how its failure reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub argv: Vec<String>,
    pub stdin: Option<String>,
    /// Seconds the command may take.
    pub timeout_s: u64,
    /// The host it configures: its error says `on host H`.
    pub host: Option<String>,
    /// Said around the error, outside `on host H`.
    pub context: Option<String>,
    /// When set, a failure is only warned about, with this after the error.
    pub warn: Option<&'static str>,
}

/// One step of building the hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ip netns add NS`: the host's namespace, to be removed again.
    Netns { host: String, ns: String },
    /// The host's resolv.conf in `dir` (`/etc/netns/NS`), which
    /// `ip netns exec` mounts over /etc/resolv.conf.
    Resolv { dir: PathBuf, text: String },
    /// A command to run.
    Run(Cmd),
}

#[cfg(test)]
impl Step {
    /// The step as a shell line (stdin and file contents left out).
    pub fn line(&self) -> String {
        match self {
            Step::Netns { ns, .. } => format!("ip netns add {ns}"),
            Step::Resolv { dir, .. } => format!("write {}", dir.join("resolv.conf").display()),
            Step::Run(c) => c.argv.join(" "),
        }
    }
}

/// A host's namespace, for the commands that configure it.
struct On<'a> {
    host: &'a str,
    ns: String,
}

impl<'a> On<'a> {
    fn new(prefix: &str, host: &'a str) -> On<'a> {
        On {
            host,
            ns: nsname(prefix, host),
        }
    }

    /// `ip -n NS ARGS`.
    fn ip(&self, args: &[&str]) -> Step {
        let mut argv = strings(&["ip", "-n", &self.ns]);
        argv.extend(strings(args));
        Step::Run(self.cmd(argv, None))
    }

    /// `ip netns exec NS ARGS`, with `stdin`.
    fn exec(&self, args: &[&str], stdin: Option<&str>) -> Cmd {
        let mut argv = strings(&["ip", "netns", "exec", &self.ns]);
        argv.extend(strings(args));
        self.cmd(argv, stdin.map(str::to_string))
    }

    /// `bridge -n NS ARGS` (its error does not name the host).
    fn bridge(&self, args: &[&str]) -> Step {
        let mut argv = strings(&["bridge", "-n", &self.ns]);
        argv.extend(strings(args));
        Step::Run(Cmd {
            argv,
            stdin: None,
            timeout_s: 10,
            host: None,
            context: None,
            warn: None,
        })
    }

    fn cmd(&self, argv: Vec<String>, stdin: Option<String>) -> Cmd {
        Cmd {
            argv,
            stdin,
            timeout_s: 20,
            host: Some(self.host.to_string()),
            context: None,
            warn: None,
        }
    }
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The namespace of `host` in a run with this prefix.
pub fn nsname(prefix: &str, host: &str) -> String {
    format!("{prefix}{host}")
}

/// The steps that build the world's hosts, devices, links, addresses,
/// routes, rules, neighbours, sysctls and rulesets in namespaces named
/// with `prefix`; an error for what live mode cannot build.
pub fn plan(w: &World, prefix: &str) -> Result<Vec<Step>> {
    check(w)?;
    let mut steps = namespaces(w, prefix);
    steps.extend(namespace_defaults(w, prefix));
    steps.extend(devices(w, prefix)?);
    for h in &w.hosts {
        steps.extend(links(h, &On::new(prefix, &h.name)));
    }
    for h in &w.hosts {
        steps.extend(sysctls(h, &On::new(prefix, &h.name)));
    }
    steps.extend(nonlocal_binds(w, prefix));
    // routes (the kernel adds local and connected routes itself)
    for h in &w.hosts {
        let on = On::new(prefix, &h.name);
        steps.extend(routes(h, &on));
        steps.extend(rules(h, &on));
        steps.extend(neighbours(h, &on));
        steps.extend(rulesets(h, &on));
    }
    Ok(steps)
}

/// What live mode cannot build: URL credentials (the client does not send
/// them), TUN devices (a userspace WireGuard serves them), IPIP tunnels.
fn check(w: &World) -> Result<()> {
    for f in &w.flows {
        let creds = match &f.request {
            Request::HttpGet { user, .. } => user.is_some(),
            Request::Resolve { then: Some(t), .. } => t.user.is_some(),
            _ => false,
        };
        if creds {
            bail!(
                "traffic {}: live mode's client does not send URL credentials (user:password@) yet",
                f.id
            );
        }
    }
    for h in &w.hosts {
        for d in &h.devs {
            if d.kind == DevKind::Tun {
                bail!(
                    "{}/{} is a TUN device served by a userspace WireGuard (tailscaled, HeadCNI); live mode cannot build it yet",
                    h.name,
                    d.name
                );
            }
            if d.kind == DevKind::Ipip {
                bail!(
                    "{}/{} is an IPIP tunnel; live mode does not build ipip devices yet (and needs the kernel's ipip module)",
                    h.name,
                    d.name
                );
            }
        }
    }
    Ok(())
}

/// One namespace per host.
fn namespaces(w: &World, prefix: &str) -> Vec<Step> {
    w.hosts
        .iter()
        .map(|h| Step::Netns {
            host: h.name.clone(),
            ns: nsname(prefix, &h.name),
        })
        .collect()
}

/// Whether the world gives any host an IPv6 address of its own (not only
/// the link-local and loopback addresses every host has).
pub fn has_ipv6(w: &World) -> bool {
    w.hosts
        .iter()
        .any(|h| h.ip6.addrs.values().flatten().any(|a| !a.auto))
}

/// IPv6 as the model starts it: in a world with no IPv6 address, none at
/// all (`disable_ipv6`); else addresses usable at once (podpath's world
/// starts after DAD: `accept_dad` 0), no router solicitations and no
/// router advertisements taken (podpath does not run router discovery).
/// Set on `default` before the devices exist: a device copies it when it
/// is made.
fn ipv6_defaults(w: &World) -> &'static [&'static str] {
    if has_ipv6(w) {
        &[
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.conf.all.accept_ra=0",
            "net.ipv6.conf.default.accept_ra=0",
            "net.ipv6.conf.all.router_solicitations=0",
            "net.ipv6.conf.default.router_solicitations=0",
        ]
    } else {
        &[
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]
    }
}

/// Each namespace as the comparison needs it (IPv6 as the model starts
/// it, no reverse-path filter until the model's sysctls), its loopback up,
/// its resolv.conf. TCP keeps the kernel's options (timestamps, SACK,
/// window scaling), as podpath models them.
fn namespace_defaults(w: &World, prefix: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for h in &w.hosts {
        let on = On::new(prefix, &h.name);
        for k in ipv6_defaults(w).iter().copied().chain([
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ]) {
            steps.push(Step::Run(on.exec(&["sysctl", "-qw", k], None)));
        }
        steps.push(on.ip(&["link", "set", "lo", "up"]));
        if let Some(rc) = &h.resolv {
            steps.push(Step::Resolv {
                dir: Path::new("/etc/netns").join(&on.ns),
                text: rc.text(),
            });
        }
    }
    steps
}

/// The devices: bridges and dummies, veth pairs, then VXLAN devices (a
/// VXLAN device needs its underlay).
fn devices(w: &World, prefix: &str) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for h in &w.hosts {
        let on = On::new(prefix, &h.name);
        for d in h.devs.iter().skip(1) {
            match d.kind {
                DevKind::Bridge => steps.push(on.ip(&["link", "add", &d.name, "type", "bridge"])),
                DevKind::Dummy => steps.push(on.ip(&["link", "add", &d.name, "type", "dummy"])),
                _ => {}
            }
        }
    }
    steps.extend(veths(w, prefix));
    for h in &w.hosts {
        steps.extend(vxlans(h, &On::new(prefix, &h.name))?);
    }
    Ok(steps)
}

/// A veth pair for each link (added once, from its first end), and for a
/// veth with no link a peer left down in the same namespace.
fn veths(w: &World, prefix: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (hi, h) in w.hosts.iter().enumerate() {
        let on = On::new(prefix, &h.name);
        for (di, d) in h.devs.iter().enumerate() {
            if d.kind != DevKind::Veth {
                continue;
            }
            match d.peer {
                Some(p) if (hi, di) < (p.host, p.dev) => {
                    let ph = &w.hosts[p.host];
                    let peer_ns = nsname(prefix, &ph.name);
                    // gso_max_segs 1 on both ends: TCP builds one-MSS
                    // packets (sk_gso_max_segs), so the captures hold the
                    // segments a real NIC sends, not veth's GSO batches
                    steps.push(on.ip(&[
                        "link",
                        "add",
                        &d.name,
                        "gso_max_segs",
                        "1",
                        "type",
                        "veth",
                        "peer",
                        "name",
                        &ph.devs[p.dev].name,
                        "gso_max_segs",
                        "1",
                        "netns",
                        &peer_ns,
                    ]));
                }
                Some(_) => {}
                None => {
                    // No link: the peer stays down in the same namespace.
                    let peer = format!("ppx{hi}x{di}");
                    steps.push(on.ip(&[
                        "link", "add", &d.name, "type", "veth", "peer", "name", &peer,
                    ]));
                }
            }
        }
    }
    steps
}

/// A host's VXLAN devices: VNI, UDP port, local address, underlay device,
/// learning.
fn vxlans(h: &Host, on: &On) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for d in h.devs.iter().skip(1) {
        if d.kind != DevKind::Vxlan {
            continue;
        }
        let c = d
            .vxlan
            .as_ref()
            .ok_or_else(|| anyhow!("{}/{} has no vxlan settings", h.name, d.name))?;
        let vni = c.vni.to_string();
        let port = c.port.to_string();
        let mut a = vec![
            "link".to_string(),
            "add".into(),
            d.name.clone(),
            "type".into(),
            "vxlan".into(),
            "id".into(),
            vni,
            "dstport".into(),
            port,
        ];
        if let Some(l) = c.local {
            a.push("local".into());
            a.push(l.to_string());
        }
        if let Some(u) = c.dev {
            a.push("dev".into());
            a.push(h.devs[u].name.clone());
        }
        if !c.learning {
            a.push("nolearning".into());
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        steps.push(on.ip(&a));
    }
    Ok(steps)
}

/// A host's link settings (MAC, MTU, bridge port, hairpin), then its
/// devices up, then their addresses and VXLAN forwarding entries.
fn links(h: &Host, on: &On) -> Vec<Step> {
    let mut steps = Vec::new();
    for d in h.devs.iter().skip(1) {
        let mac = d.mac.to_string();
        let mtu = d.mtu.to_string();
        steps.push(on.ip(&["link", "set", "dev", &d.name, "address", &mac, "mtu", &mtu]));
        if let Some(m) = d.master {
            steps.push(on.ip(&["link", "set", "dev", &d.name, "master", &h.devs[m].name]));
            if d.hairpin {
                steps.push(on.bridge(&["link", "set", "dev", &d.name, "hairpin", "on"]));
            }
        }
    }
    for d in h.devs.iter().skip(1) {
        if d.up {
            steps.push(on.ip(&["link", "set", "dev", &d.name, "up"]));
        }
    }
    for (i, d) in h.devs.iter().enumerate().skip(1) {
        for a in &d.addrs {
            steps.push(on.ip(&["addr", "add", &a.to_string(), "dev", &d.name]));
        }
        // the given IPv6 addresses (the kernel makes the link-local)
        for a in h
            .ip6
            .addrs
            .get(&i)
            .into_iter()
            .flatten()
            .filter(|a| !a.auto)
        {
            let net = a.net.to_string();
            let mut args = vec!["-6", "addr", "add", &net, "dev", &d.name, "nodad"];
            if a.noprefixroute {
                args.push("noprefixroute");
            }
            steps.push(on.ip(&args));
        }
        if let Some(c) = &d.vxlan {
            for (mac, dsts) in &c.fdb {
                for dst in dsts {
                    steps.push(on.bridge(&[
                        "fdb",
                        "append",
                        &mac.to_string(),
                        "dev",
                        &d.name,
                        "dst",
                        &dst.to_string(),
                    ]));
                }
            }
        }
    }
    steps
}

/// A host's sysctls as the model has them: forwarding, reverse-path
/// filter, route_localnet, the local port range, SYN retries, proxy ARP,
/// bridge netfilter.
fn sysctls(h: &Host, on: &On) -> Vec<Step> {
    let mut keys: Vec<(String, String)> = vec![
        (
            "net.ipv4.ip_forward".into(),
            h.sysctl.get("net.ipv4.ip_forward"),
        ),
        (
            "net.ipv4.conf.all.rp_filter".into(),
            h.sysctl.get("net.ipv4.conf.all.rp_filter"),
        ),
        (
            "net.ipv4.conf.all.route_localnet".into(),
            h.sysctl.get("net.ipv4.conf.all.route_localnet"),
        ),
        (
            "net.ipv4.ip_local_port_range".into(),
            h.sysctl.get("net.ipv4.ip_local_port_range"),
        ),
        (
            "net.ipv4.tcp_syn_retries".into(),
            h.sysctl.get("net.ipv4.tcp_syn_retries"),
        ),
        (
            "net.ipv4.tcp_syn_linear_timeouts".into(),
            h.sysctl.get("net.ipv4.tcp_syn_linear_timeouts"),
        ),
        // per namespace, copied from the machine's: the window scale a SYN
        // offers follows it
        (
            "net.ipv4.tcp_rmem".into(),
            h.sysctl.get("net.ipv4.tcp_rmem"),
        ),
    ];
    for d in h.devs.iter() {
        keys.push((
            format!("net.ipv4.conf.{}.rp_filter", d.name),
            h.sysctl.get(&format!("net.ipv4.conf.{}.rp_filter", d.name)),
        ));
        keys.push((
            format!("net.ipv4.conf.{}.route_localnet", d.name),
            h.sysctl
                .get(&format!("net.ipv4.conf.{}.route_localnet", d.name)),
        ));
        let pa = h.sysctl.get(&format!("net.ipv4.conf.{}.proxy_arp", d.name));
        if pa == "1" {
            keys.push((format!("net.ipv4.conf.{}.proxy_arp", d.name), pa));
            // podpath answers proxied requests at once (see net/ipv4)
            keys.push((format!("net.ipv4.neigh.{}.proxy_delay", d.name), "0".into()));
        }
    }
    for k in [
        "net.ipv4.tcp_timestamps",
        "net.ipv4.tcp_sack",
        "net.ipv4.tcp_window_scaling",
        "net.ipv6.conf.all.forwarding",
        "net.ipv6.conf.all.disable_ipv6",
        "net.ipv6.conf.all.hop_limit",
    ] {
        let v = h.sysctl.get(k);
        let default = podpath_sim::net::sysctl::KNOWN
            .iter()
            .any(|(n, d)| *n == k && *d == v);
        if !default {
            keys.push((k.into(), v));
        }
    }
    for d in h.devs.iter() {
        let k = format!("net.ipv6.conf.{}.disable_ipv6", d.name);
        if h.sysctl.get(&k) == "1" {
            keys.push((k, "1".into()));
        }
    }
    if h.sysctl.get("net.ipv4.conf.all.proxy_arp") == "1" {
        keys.push(("net.ipv4.conf.all.proxy_arp".into(), "1".into()));
    }
    if h.devs.iter().any(|d| d.kind == DevKind::Bridge) {
        for k in [
            "net.bridge.bridge-nf-call-iptables",
            "net.bridge.bridge-nf-call-ip6tables",
        ] {
            keys.push((k.into(), h.sysctl.get(k)));
        }
    }
    keys.into_iter()
        .map(|(k, v)| {
            let mut c = on.exec(&["sysctl", "-qw", &sysctl_arg(&k, &v)], None);
            // Kernels before 6.5 have no tcp_syn_linear_timeouts.
            if k.ends_with("tcp_syn_linear_timeouts") {
                c.warn = Some("the kernel's SYN backoff may differ from the model's");
            }
            Step::Run(c)
        })
        .collect()
}

/// `net.ipv4.ip_nonlocal_bind=1` on each host whose HAProxy binds an
/// address the host does not have when it starts (a keepalived VIP on the
/// backup, or on the master before it takes over). The kernel refuses such
/// a bind() with EADDRNOTAVAIL unless the sysctl (or IP_FREEBIND) allows it
/// (net/ipv4/af_inet.c `__inet_bind`, `inet_addr_valid_or_nonlocal`); the
/// simulator's bind() does not check that the address is local, so the
/// live hosts are given the sysctl that makes the kernel agree (what real
/// keepalived + HAProxy deployments set).
fn nonlocal_binds(w: &World, prefix: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (h, apps) in w.hosts.iter().zip(&w.apps) {
        let nonlocal = apps.iter().any(|a| match a {
            App::Proxy(p) if p.program == "haproxy" => p
                .frontends
                .iter()
                .flat_map(|f| &f.binds)
                .any(|(addr, _)| addr.is_some_and(|a| !h.is_local(a))),
            _ => false,
        });
        if nonlocal {
            let on = On::new(prefix, &h.name);
            steps.push(Step::Run(
                on.exec(&["sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"], None),
            ));
        }
    }
    steps
}

/// `sysctl -w`'s argument for key `k`: the slash form keeps device names
/// with dots intact.
fn sysctl_arg(k: &str, v: &str) -> String {
    if let Some(rest) = k.strip_prefix("net.ipv4.neigh.") {
        let (dev, key) = rest.rsplit_once('.').unwrap_or((rest, ""));
        format!("net/ipv4/neigh/{dev}/{key}={v}")
    } else {
        match (
            podpath_sim::net::sysctl::per_device(k),
            podpath_sim::net::sysctl::per_device6(k),
        ) {
            (Some((dev, key)), _) => format!("net/ipv4/conf/{dev}/{key}={v}"),
            (_, Some((dev, key))) => format!("net/ipv6/conf/{dev}/{key}={v}"),
            _ => format!("{k}={v}"),
        }
    }
}

/// A host's routes but the kernel's own, device routes first: a gateway
/// must be reachable when its route is added (`default via 169.254.1.1`
/// needs the link route to 169.254.1.1).
fn routes(h: &Host, on: &On) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut routes = h.fib.all_routes();
    routes.sort_by_key(|(_, r)| r.via.is_some());
    for (table, r) in routes {
        if r.proto == "kernel" {
            continue;
        }
        let mut a: Vec<String> = vec!["route".into(), "add".into()];
        if r.rtype != RouteType::Unicast {
            a.push(r.rtype.name().into());
        }
        a.push(r.dst.to_string());
        if let Some(v) = r.via {
            a.push("via".into());
            a.push(v.to_string());
        }
        if let Some(d) = r.dev {
            a.push("dev".into());
            a.push(h.devs[d].name.clone());
        }
        if let Some(s) = r.src {
            a.push("src".into());
            a.push(s.to_string());
        }
        if r.metric != 0 {
            a.push("metric".into());
            a.push(r.metric.to_string());
        }
        if r.onlink {
            a.push("onlink".into());
        }
        if table != TABLE_MAIN && !(table == TABLE_LOCAL && r.rtype == RouteType::Local) {
            a.push("table".into());
            a.push(table_name(table));
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        steps.push(on.ip(&a));
    }
    steps.extend(routes6(h, on));
    steps
}

/// The IPv6 routes given (`ip -6 route add`), on-link ones first.
fn routes6(h: &Host, on: &On) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut all: Vec<(u32, &podpath_sim::net::ip6::Route6)> = h
        .ip6
        .fib
        .tables
        .iter()
        .flat_map(|(t, rs)| rs.iter().map(move |r| (*t, r)))
        .filter(|(_, r)| !r.kernel)
        .collect();
    all.sort_by_key(|(_, r)| r.via.is_some());
    for (table, r) in all {
        let mut a: Vec<String> = vec!["-6".into(), "route".into(), "add".into()];
        if r.rtype != RouteType::Unicast {
            a.push(r.rtype.name().into());
        }
        a.push(r.dst.to_string());
        if let Some(v) = r.via {
            a.extend(["via".into(), v.to_string()]);
        }
        if let Some(d) = r.dev {
            a.extend(["dev".into(), h.devs[d].name.clone()]);
        }
        if let Some(s) = r.src {
            a.extend(["src".into(), s.to_string()]);
        }
        a.extend(["metric".into(), r.metric.to_string()]);
        if r.onlink {
            a.push("onlink".into());
        }
        if table != TABLE_MAIN && !(table == TABLE_LOCAL && r.rtype == RouteType::Local) {
            a.extend(["table".into(), table_name(table)]);
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        steps.push(on.ip(&a));
    }
    steps
}

/// A host's policy rules but the kernel's defaults (IPv4's three, IPv6's
/// two: `ip -6 rule add` for those).
fn rules(h: &Host, on: &On) -> Vec<Step> {
    let v4 = h.fib.rules.iter().map(|r| rule_args(r, false));
    let v6 = h.ip6.fib.rules.iter().map(|r| rule_args(r, true));
    v4.chain(v6)
        .flatten()
        .map(|a| {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            on.ip(&a)
        })
        .collect()
}

/// `[-6] rule add ...` for one rule; None for a default one.
fn rule_args<N: std::fmt::Display>(
    rule: &podpath_sim::net::fib::IpRule<N>,
    v6: bool,
) -> Option<Vec<String>> {
    let defaults: &[u32] = if v6 { &[0, 32766] } else { &[0, 32766, 32767] };
    if defaults.contains(&rule.priority)
        && rule.from.is_none()
        && rule.to.is_none()
        && rule.fwmark.is_none()
    {
        return None;
    }
    let mut a: Vec<String> = Vec::new();
    if v6 {
        a.push("-6".into());
    }
    a.extend([
        "rule".into(),
        "add".into(),
        "priority".into(),
        rule.priority.to_string(),
    ]);
    if rule.not {
        a.push("not".into());
    }
    if let Some(f) = &rule.from {
        a.push("from".into());
        a.push(f.to_string());
    }
    if let Some(t) = &rule.to {
        a.push("to".into());
        a.push(t.to_string());
    }
    if let Some((v, m)) = rule.fwmark {
        a.push("fwmark".into());
        a.push(format!("0x{v:x}/0x{m:x}"));
    }
    if let Some(i) = &rule.iif {
        a.push("iif".into());
        a.push(i.clone());
    }
    if let Some(o) = &rule.oif {
        a.push("oif".into());
        a.push(o.clone());
    }
    match rule.action {
        RuleAction::Lookup(t) => {
            a.push("table".into());
            a.push(table_name(t));
        }
        RuleAction::Blackhole => a.push("blackhole".into()),
        RuleAction::Unreachable => a.push("unreachable".into()),
        RuleAction::Prohibit => a.push("prohibit".into()),
    }
    Some(a)
}

/// A host's neighbour entries with an address, as permanent ones.
fn neighbours(h: &Host, on: &On) -> Vec<Step> {
    let mut steps = Vec::new();
    for ((dev, ip), e) in &h.neigh.entries {
        if let Some(mac) = e.mac {
            steps.push(on.ip(&[
                "neigh",
                "replace",
                &ip.to_string(),
                "lladdr",
                &mac.to_string(),
                "dev",
                &h.devs[*dev].name,
                "nud",
                "permanent",
            ]));
        }
    }
    for ((dev, ip), e) in &h.ip6.neigh {
        if let (Some(mac), podpath_sim::net::neigh::table::Nud::Permanent) = (e.mac, e.state) {
            steps.push(on.ip(&[
                "-6",
                "neigh",
                "replace",
                &ip.to_string(),
                "lladdr",
                &mac.to_string(),
                "dev",
                &h.devs[*dev].name,
                "nud",
                "permanent",
            ]));
        }
    }
    steps
}

/// A host's IP sets (`ipset restore`), iptables rules (`iptables-restore`)
/// and nftables ruleset (`nft -f -`).
fn rulesets(h: &Host, on: &On) -> Vec<Step> {
    let mut steps = Vec::new();
    if !h.ipset_text.is_empty() {
        // the sets first: iptables-restore refuses a -m set of no set
        let mut c = on.exec(&["ipset", "restore"], Some(&h.ipset_text));
        c.context = Some(format!("{}: loading its IP sets", h.name));
        steps.push(Step::Run(c));
    }
    if h.nf.rule_count() > 0 {
        steps.push(Step::Run(
            on.exec(&["iptables-restore"], Some(&h.nf.to_save_text())),
        ));
    }
    if h.nf6_active() {
        steps.push(Step::Run(
            on.exec(&["ip6tables-restore"], Some(&h.nf6.to_save_text())),
        ));
    }
    if !h.nft_text.is_empty() {
        let mut c = on.exec(&["nft", "-f", "-"], Some(&h.nft_text));
        c.context = Some(format!("{}: loading its nftables ruleset", h.name));
        steps.push(Step::Run(c));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(name: &str) -> Vec<String> {
        let e = crate::scenarios::find(name).expect("embedded scenario");
        let w = podpath_sim::scenario::load(e.text, name, None).expect("loads");
        plan(&w, "ppt-")
            .expect("plan")
            .iter()
            .map(Step::line)
            .collect()
    }

    /// Two namespaces joined by one link: `a` (10.0.0.1) routes through
    /// `b` (10.0.0.2), which serves HTTP; `extra` goes into host a.
    fn two_hosts(extra: &str, url: &str) -> World {
        let y = format!(
            r#"apiVersion: podpath/v1
kind: Scenario
metadata: {{name: two}}
hosts:
  a:
    kind: client
    devices:
      eth0: {{addrs: [10.0.0.1/24], mtu: 1400}}
    routes:
      - {{dst: default, via: 10.0.0.2}}
      - {{dst: 192.168.7.0/24, dev: eth0}}
{extra}
  b:
    kind: external
    devices:
      eth0: {{addrs: [10.0.0.2/24]}}
    sysctl: {{net.ipv4.ip_forward: 1}}
    apps:
      - {{kind: http-server, listen: ":80", routes: {{/: {{body: hi}}}}}}
links:
  - {{a: a/eth0, b: b/eth0}}
traffic:
  - {{id: get, from: a, http: {{get: "{url}"}}}}
"#
        );
        podpath_sim::scenario::load(&y, "two.yaml", None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn run_lines(steps: &[Step]) -> Vec<String> {
        steps.iter().map(Step::line).collect()
    }

    #[test]
    fn two_namespaces_one_veth_pair_then_addresses_then_routes() {
        let w = two_hosts("", "http://10.0.0.2/");
        let steps = plan(&w, "ppt-").expect("plan");
        let l = run_lines(&steps);
        // the namespaces, first and in the world's order
        assert_eq!(
            steps[..2],
            [
                Step::Netns {
                    host: "a".into(),
                    ns: "ppt-a".into()
                },
                Step::Netns {
                    host: "b".into(),
                    ns: "ppt-b".into()
                }
            ]
        );
        // the link is one veth pair, added once from its first end, its
        // peer named as b's device, put into b's namespace
        let adds: Vec<&String> = l.iter().filter(|x| x.contains(" link add ")).collect();
        assert_eq!(
            adds,
            ["ip -n ppt-a link add eth0 gso_max_segs 1 type veth peer name eth0 gso_max_segs 1 netns ppt-b"],
            "{}",
            l.join("\n")
        );
        let pos = |s: &str| {
            l.iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("no `{s}` in the plan:\n{}", l.join("\n")))
        };
        let veth = pos(adds[0]);
        let mtu = l
            .iter()
            .position(|x| {
                x.starts_with("ip -n ppt-a link set dev eth0 address ") && x.ends_with(" mtu 1400")
            })
            .unwrap_or_else(|| panic!("no MTU in the plan:\n{}", l.join("\n")));
        let up_a = pos("ip -n ppt-a link set dev eth0 up");
        let addr_a = pos("ip -n ppt-a addr add 10.0.0.1/24 dev eth0");
        let addr_b = pos("ip -n ppt-b addr add 10.0.0.2/24 dev eth0");
        let fwd_b = pos("ip netns exec ppt-b sysctl -qw net.ipv4.ip_forward=1");
        let dev_route = pos("ip -n ppt-a route add 192.168.7.0/24 dev eth0");
        let gw_route = l
            .iter()
            .position(|x| x.starts_with("ip -n ppt-a route add 0.0.0.0/0 via 10.0.0.2"))
            .unwrap_or_else(|| panic!("no default route in the plan:\n{}", l.join("\n")));
        assert!(
            veth < mtu && mtu < up_a && up_a < addr_a && addr_a < addr_b,
            "{}",
            l.join("\n")
        );
        // sysctls after every address, device routes before gateways
        assert!(
            addr_b < fwd_b && fwd_b < dev_route && dev_route < gw_route,
            "{}",
            l.join("\n")
        );
        // the kernel's own routes (connected, local) are not added
        assert!(
            !l.iter().any(|x| x.contains("route add 10.0.0.0/24")),
            "{}",
            l.join("\n")
        );
        // nothing but the namespaces' loopbacks and the veth is a device
        assert!(!l.iter().any(|x| x.contains("bridge -n")));
        assert!(!steps.iter().any(|s| matches!(s, Step::Resolv { .. })));
    }

    #[test]
    fn every_command_names_its_host_and_only_syn_linear_timeouts_may_fail() {
        let w = two_hosts("", "http://10.0.0.2/");
        let steps = plan(&w, "ppt-").expect("plan");
        let cmds: Vec<&Cmd> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Run(c) => Some(c),
                _ => None,
            })
            .collect();
        assert!(!cmds.is_empty());
        for c in &cmds {
            // `ip -n NS ...` or `ip netns exec NS ...`
            let ns = if c.argv[1] == "-n" {
                &c.argv[2]
            } else {
                &c.argv[3]
            };
            let host = c.host.as_deref().map(|h| format!("ppt-{h}"));
            assert_eq!(host.as_ref(), Some(ns), "{:?}", c.argv);
            assert_eq!(c.timeout_s, 20, "{:?}", c.argv);
            let linear = c
                .argv
                .last()
                .is_some_and(|a| a.starts_with("net.ipv4.tcp_syn_linear_timeouts="));
            assert_eq!(c.warn.is_some(), linear, "{:?}", c.argv);
        }
        assert_eq!(
            cmds.iter().filter(|c| c.warn.is_some()).count(),
            2,
            "one tcp_syn_linear_timeouts per host"
        );
    }

    #[test]
    fn rulesets_go_last_through_stdin() {
        let extra = "    iptables: |\n      *filter\n      :INPUT ACCEPT [0:0]\n      :FORWARD ACCEPT [0:0]\n      :OUTPUT ACCEPT [0:0]\n      -A OUTPUT -d 10.0.0.9/32 -j DROP\n      COMMIT";
        let w = two_hosts(extra, "http://10.0.0.2/");
        let steps = plan(&w, "ppt-").expect("plan");
        let Some(Step::Run(last)) = steps
            .iter()
            .rfind(|s| matches!(s, Step::Run(c) if c.host.as_deref() == Some("a")))
        else {
            panic!("no command for host a");
        };
        assert_eq!(
            last.argv,
            ["ip", "netns", "exec", "ppt-a", "iptables-restore"]
        );
        let stdin = last.stdin.as_deref().unwrap_or_default();
        assert!(
            stdin.contains("-A OUTPUT -d 10.0.0.9/32 -j DROP"),
            "{stdin}"
        );
        // b has no rules: no iptables-restore there
        assert_eq!(
            steps
                .iter()
                .filter(
                    |s| matches!(s, Step::Run(c) if c.argv.iter().any(|a| a == "iptables-restore"))
                )
                .count(),
            1
        );
    }

    #[test]
    fn url_credentials_are_refused_before_anything_is_built() {
        let w = two_hosts("", "http://u:p@10.0.0.2/");
        let e = plan(&w, "ppt-").expect_err("credentials");
        assert_eq!(
            e.to_string(),
            "traffic get: live mode's client does not send URL credentials (user:password@) yet"
        );
    }

    #[test]
    fn sysctl_keys_with_dotted_devices_use_the_slash_form() {
        assert_eq!(
            sysctl_arg("net.ipv4.conf.eth0.1.rp_filter", "2"),
            "net/ipv4/conf/eth0.1/rp_filter=2"
        );
        assert_eq!(
            sysctl_arg("net.ipv4.neigh.flannel.1.proxy_delay", "0"),
            "net/ipv4/neigh/flannel.1/proxy_delay=0"
        );
        assert_eq!(
            sysctl_arg("net.ipv4.ip_forward", "1"),
            "net.ipv4.ip_forward=1"
        );
    }

    #[test]
    fn haproxy_on_a_vip_gets_nonlocal_bind() {
        let l = lines("keepalived-nodeport");
        let nonlocal: Vec<&String> = l
            .iter()
            .filter(|x| x.contains("ip_nonlocal_bind"))
            .collect();
        // both load balancers bind the VIP, which neither holds at start
        assert_eq!(
            nonlocal,
            [
                "ip netns exec ppt-lb1 sysctl -qw net.ipv4.ip_nonlocal_bind=1",
                "ip netns exec ppt-lb2 sysctl -qw net.ipv4.ip_nonlocal_bind=1"
            ]
        );
        // a frontend on the host's own address needs none
        assert!(!lines("cloud-lb-alb")
            .iter()
            .any(|x| x.contains("ip_nonlocal_bind")));
    }

    #[test]
    fn pod_to_pod_vxlan_plan() {
        let l = lines("pod-to-pod-vxlan");
        let has = |s: &str| {
            l.iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("no `{s}` in the plan:\n{}", l.join("\n")))
        };
        // namespaces first, one per host
        assert_eq!(l[0], "ip netns add ppt-node-a");
        let ns = has("ip netns add ppt-pod-b");
        let lo = has("ip -n ppt-node-a link set lo up");
        let sysctl = has("ip netns exec ppt-node-a sysctl -qw net.ipv4.conf.all.rp_filter=0");
        assert!(ns < sysctl && sysctl < lo);
        // a veth pair from the pod into the node's namespace
        let veth = l
            .iter()
            .position(|x| {
                x.starts_with("ip -n ppt-")
                    && x.contains(" type veth peer name ")
                    && x.ends_with(" netns ppt-pod-a")
            })
            .or_else(|| {
                l.iter()
                    .position(|x| x.contains(" type veth peer name ") && x.contains("ppt-node-a"))
            });
        let veth = veth.unwrap_or_else(|| panic!("no veth in the plan:\n{}", l.join("\n")));
        // the VXLAN device after the veths, then addresses
        let vx = has("ip -n ppt-node-a link add flannel.1 type vxlan id 1 dstport 8472 local 172.18.0.2 dev eth0 nolearning");
        let addr = has("ip -n ppt-pod-b addr add 10.244.1.20/24 dev eth0");
        // the overlay route, after the device routes
        let route =
            has("ip -n ppt-node-a route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink");
        assert!(
            lo < veth && veth < vx && vx < addr && addr < route,
            "{}",
            l.join("\n")
        );
    }
}
