//! NetworkPolicy as kindnet enforces it: kube-network-policies, embedded
//! in kindnetd, queues the first packet of a connection to or from a pod
//! that policies select to a user-space evaluator over nfnetlink_queue,
//! which answers NF_ACCEPT (and marks the connection with a conntrack
//! label, so the rest of it passes on conntrack) or NF_DROP.
//!
//! Read from (the version kind's kindnetd pins:
//! kubernetes-sigs/kind `images/kindnetd/go.mod`,
//! sigs.k8s.io/kube-network-policies v1.0.1-0.20260528073847-f67f0fb35e2b):
//! - kind `images/kindnetd/cmd/kindnetd/main.go`: `dataplane.Config{FailOpen:
//!   true, QueueID: 101, NetfilterBug1766Fix: true, NFTableName:
//!   "kindnet-network-policies"}`, StrictMode off, CTLabelAccept defaulted;
//! - kube-network-policies `pkg/dataplane/controller.go`
//!   (`syncNFTablesRules`, `addDNSRacersWorkaroundRules`, `Run`: the
//!   nfqueue config and the verdict with `nfqueue.WithLabel`),
//!   `pkg/dataplane/conntrack.go` (`generateLabelMask`), and the listing
//!   its own test expects (`pkg/dataplane/controller_test.go`
//!   `TestNetworkPolicies_SyncRules`, "default with pod IPs"), which
//!   [`nft_text`] prints with this config;
//! - `pkg/networkpolicy/engine.go` (`EvaluatePacket`: egress, then
//!   ingress; a denial ends it), `pkg/networkpolicy/networkpolicy.go`
//!   (`ManagedIPs`, `getLocalPodsForNetworkPolicy`,
//!   `getNetworkPoliciesForPod`, `EvaluatePolicyDirection`,
//!   `evaluateIngress`, `evaluateEgress`, `evaluateSelectors`,
//!   `evaluateIPBlocks`, `evaluatePorts`), `pkg/podinfo/ipresolver.go`
//!   (host-network pods are never found by IP), `pkg/network/packet.go`
//!   (`ParsePacket`: the IPv4 or IPv6 header, IPv6's hop-by-hop,
//!   routing, destination options and fragment headers, and the ports).
//!
//! The evaluator ([`Evaluator`]) follows kube-network-policies' code, not
//! [`super::netpol::evaluate`]; where the two could part, see
//! [`DIFFERENCES`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::netpol::{Direction, IpBlock, NamedPort, NetworkPolicy, Peer, PolicyPort, PortRef};
use super::objects::Cluster;
use crate::net::netfilter::nfqueue::{QueueAnswer, QueueListener, QueueVerdict, QueuedPacket};
use crate::trace::Action;

/// Whether the CNI `cni` enforces NetworkPolicy through
/// kube-network-policies (kindnet; the others' warning stays).
pub fn enforces(cni: &str) -> bool {
    cni == "kindnet"
}

/// kindnetd's `dataplane.Config` (kind `images/kindnetd/cmd/kindnetd/main.go`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `NFTableName`.
    pub table: String,
    /// `QueueID`.
    pub queue: u16,
    /// `FailOpen`: the queue rules carry `flags bypass` (and the
    /// evaluator's errors accept).
    pub fail_open: bool,
    /// `NetfilterBug1766Fix`: UDP port 53 is queued at PREROUTING after
    /// DNAT (the `prerouting` chain), not at POSTROUTING.
    pub dns_workaround: bool,
    /// `CTLabelAccept` (default 100).
    pub ct_label_accept: u8,
}

impl Default for Config {
    /// kindnetd's.
    fn default() -> Self {
        Config {
            table: "kindnet-network-policies".into(),
            queue: 101,
            fail_open: true,
            dns_workaround: true,
            ct_label_accept: 100,
        }
    }
}

impl Config {
    /// The conntrack label bit the accept verdict sets and the
    /// `ct label N` rule tests: `generateLabelMask(CTLabelAccept)` puts
    /// the bit at byte `15 - idx/8`, bit `idx % 8` of the 16 label bytes,
    /// which the kernel (and nft, printing in host byte order) reads as
    /// bit `8 * (15 - idx/8) + idx % 8`: 100 is label 28, as the
    /// upstream test's listing shows.
    pub fn label_bit(&self) -> u8 {
        let idx = self.ct_label_accept.min(127);
        8 * (15 - idx / 8) + idx % 8
    }
}

/// Where kube-network-policies' verdicts may part from the API semantics
/// ([`super::netpol::evaluate`]), as `podpath explain` names them.
pub const DIFFERENCES: &[&str] = &[
    "kindnet (kube-network-policies): packets a root-owned socket on the node sends (kubelet probes, host daemons) are accepted before the queue (`meta skuid 0 accept`), whatever the pods' ingress policies say; the spec engine applies them",
    "kindnet (kube-network-policies): only the first packet of a connection is judged; the connection keeps the verdict in its conntrack label (StrictMode is off in kindnetd), so a policy changed later does not cut established connections",
    "kindnet (kube-network-policies): UDP port 53 is judged at PREROUTING after DNAT (NetfilterBug1766Fix), every datagram of it (that chain has no conntrack-label test)",
    "kindnet (kube-network-policies): traffic a node masquerades (a NodePort reached from outside, sent to a pod on another node) is judged on the node that holds the pod with the masquerading node's address as its source",
];

/// The pods policies select on `node` (`ManagedIPs`: for every policy,
/// `getLocalPodsForNetworkPolicy`, the pods of its namespace on the node
/// its podSelector matches), by address: every address of
/// `status.podIPs` (both families on a dual-stack pod). Host-network pods
/// count (their status holds the node's addresses), as the Go code lists
/// them.
pub fn managed_ips(cluster: &Cluster, node: &str) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = cluster
        .pods
        .iter()
        .filter(|p| p.spec.node_name.as_deref() == Some(node))
        .filter(|p| {
            cluster.network_policies.iter().any(|np| {
                np.metadata.ns() == p.metadata.ns()
                    && np.spec.pod_selector.matches(&p.metadata.labels)
            })
        })
        .flat_map(pod_ips)
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// A pod's addresses: `status.podIPs`, else `status.podIP`.
fn pod_ips(p: &super::objects::Pod) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = p
        .status
        .pod_ips
        .iter()
        .map(|x| x.ip.as_str())
        .chain(p.status.pod_ip.as_deref())
        .filter_map(|ip| ip.parse().ok())
        .collect();
    v.dedup();
    v
}

/// The table as `nft list ruleset` prints it after `syncNFTablesRules`
/// (and `addDNSRacersWorkaroundRules`), for the pods `ips`: the sets of
/// the managed pod addresses, the `postrouting` chain (filter hook
/// postrouting, priority srcnat - 5: after DNAT, before SNAT, on the
/// FORWARD and OUTPUT paths alike), `input` (priority srcnat + 1: pod to
/// node) and `prerouting` (priority dstnat + 5: DNS after DNAT).
pub fn nft_text(cfg: &Config, ips: &[IpAddr]) -> String {
    let q = if cfg.fail_open {
        format!("queue flags bypass to {}", cfg.queue)
    } else {
        format!("queue to {}", cfg.queue)
    };
    let label = cfg.label_bit();
    let mut o = String::new();
    let _ = writeln!(o, "table inet {} {{", cfg.table);
    for (v, ty, v6) in [("v4", "ipv4_addr", false), ("v6", "ipv6_addr", true)] {
        let _ = writeln!(o, "\tset podips-{v} {{\n\t\ttype {ty}");
        let l: Vec<String> = ips
            .iter()
            .filter(|i| i.is_ipv6() == v6)
            .map(|i| i.to_string())
            .collect();
        if !l.is_empty() {
            let _ = writeln!(o, "\t\telements = {{ {} }}", l.join(", "));
        }
        o.push_str("\t}\n\n");
    }
    o.push_str("\tchain postrouting {\n\t\ttype filter hook postrouting priority srcnat - 5; policy accept;\n");
    if cfg.dns_workaround {
        o.push_str("\t\tudp dport 53 accept\n");
    }
    for t in [
        "nd-router-solicit",
        "nd-router-advert",
        "nd-neighbor-solicit",
        "nd-neighbor-advert",
        "nd-redirect",
    ] {
        let _ = writeln!(o, "\t\ticmpv6 type {t} accept");
    }
    o.push_str("\t\tmeta skuid 0 counter packets 0 bytes 0 accept\n");
    let _ = writeln!(
        o,
        "\t\tct label {label} ct state established,related counter packets 0 bytes 0 accept"
    );
    for (f, d) in [
        ("ip", "saddr"),
        ("ip", "daddr"),
        ("ip6", "saddr"),
        ("ip6", "daddr"),
    ] {
        let v = if f == "ip" { "v4" } else { "v6" };
        let _ = writeln!(o, "\t\t{f} {d} @podips-{v} {q}");
    }
    let _ = writeln!(o, "\t\tct label set {label}\n\t}}\n");
    o.push_str("\tchain input {\n\t\ttype filter hook input priority srcnat + 1; policy accept;\n");
    o.push_str("\t\tiifname \"lo\" accept\n");
    let _ = writeln!(o, "\t\tip saddr @podips-v4 ct state new {q}");
    let _ = writeln!(o, "\t\tip6 saddr @podips-v6 ct state new {q}");
    o.push_str("\t}\n");
    if cfg.dns_workaround {
        o.push_str("\n\tchain prerouting {\n\t\ttype filter hook prerouting priority dstnat + 5; policy accept;\n");
        o.push_str("\t\tmeta l4proto != udp accept\n\t\tudp dport != 53 accept\n");
        for (f, d) in [
            ("ip", "saddr"),
            ("ip", "daddr"),
            ("ip6", "saddr"),
            ("ip6", "daddr"),
        ] {
            let v = if f == "ip" { "v4" } else { "v6" };
            let _ = writeln!(o, "\t\t{f} {d} @podips-{v} {q}");
        }
        o.push_str("\t}\n");
    }
    o.push_str("}\n");
    o
}

/// A pod as kube-network-policies' PodInfo holds it (`api.NewPodInfo`):
/// its namespace and labels, its namespace's labels, its container ports.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PodInfo {
    namespace: String,
    name: String,
    labels: BTreeMap<String, String>,
    ns_labels: BTreeMap<String, String>,
    ports: Vec<NamedPort>,
}

impl PodInfo {
    fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One direction's verdict for the trace (`Action::Policy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideVerdict {
    pub direction: Direction,
    /// The pod whose policies were evaluated, `NS/NAME`.
    pub pod: String,
    /// The policies that select it for this direction, `NS/NAME`, in name
    /// order (empty: not isolated).
    pub policies: Vec<String>,
    /// The rule that admitted, `NS/NAME ingress[I]`.
    pub rule: Option<String>,
    pub allowed: bool,
}

/// The verdict on one packet (`PolicyEngine.EvaluatePacket`) and the
/// directions evaluated, egress first (a denied egress ends it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub allowed: bool,
    pub sides: Vec<SideVerdict>,
}

/// The packet as `network.ParsePacket` reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// `TCP`, `UDP`, `SCTP`, or "" for another protocol (ICMP, ICMPv6: no
    /// ports; an IPv6 fragment other than the first: no L4 header).
    pub proto: &'static str,
    pub sport: u16,
    pub dport: u16,
}

impl PacketInfo {
    /// `ParsePacket`: the addresses, the protocol and, for TCP, UDP and
    /// SCTP, the ports. None when it is too short or corrupted
    /// (`ErrorTooShort`, `ErrorCorrupted`) or of an unknown version.
    pub fn parse(b: &[u8]) -> Option<PacketInfo> {
        if b.len() < 20 {
            return None;
        }
        let (src, dst, protocol, l4) = match b[0] >> 4 {
            4 => {
                let hl = usize::from(b[0] & 0x0f) * 4;
                if hl < 20 || hl >= b.len() {
                    return None;
                }
                let ip = |o: usize| IpAddr::V4(Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]));
                (ip(12), ip(16), b[9], hl)
            }
            6 => {
                // 40 bytes of header and 8 of an extension or L4 header
                if b.len() < 48 {
                    return None;
                }
                let ip = |o: usize| {
                    let a: [u8; 16] = b[o..o + 16].try_into().expect("16 bytes");
                    IpAddr::V6(Ipv6Addr::from(a))
                };
                let (src, dst) = (ip(8), ip(24));
                let mut nh = b[6];
                let mut off = 40usize;
                // hop-by-hop (0), routing (43), destination options (60):
                // their length in 8-octet units past the first 8
                while matches!(nh, 0 | 43 | 60) {
                    nh = b[off];
                    off += 8 + usize::from(b[off + 1]) * 8;
                    if off + 8 >= b.len() {
                        return None;
                    }
                }
                if nh == 44 {
                    // a fragment: only the first carries the L4 header
                    // (the fragment is taken as the last extension header)
                    let frag = u16::from_be_bytes([b[off + 2], b[off + 3]]);
                    if frag & 0xfff8 != 0 {
                        return Some(PacketInfo {
                            src,
                            dst,
                            proto: "",
                            sport: 0,
                            dport: 0,
                        });
                    }
                    nh = b[off];
                    off += 8;
                }
                (src, dst, nh, off)
            }
            _ => return None,
        };
        let proto = match protocol {
            6 => "TCP",
            17 => "UDP",
            132 => "SCTP",
            _ => "",
        };
        let (mut sport, mut dport) = (0, 0);
        if !proto.is_empty() {
            let h = b.get(l4..l4 + 4)?;
            sport = u16::from_be_bytes([h[0], h[1]]);
            dport = u16::from_be_bytes([h[2], h[3]]);
        }
        Some(PacketInfo {
            src,
            dst,
            proto,
            sport,
            dport,
        })
    }
}

/// kube-network-policies' StandardNetworkPolicy evaluator over the
/// informers' objects: every NetworkPolicy, and the pods (not
/// host-network: `InformerResolver` indexes none of them) by address.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluator {
    pub cfg: Config,
    policies: Vec<NetworkPolicy>,
    pods: BTreeMap<IpAddr, PodInfo>,
}

impl Evaluator {
    pub fn new(cluster: &Cluster, cfg: Config) -> Evaluator {
        let mut policies = cluster.network_policies.clone();
        policies.sort_by(|a, b| {
            (a.metadata.ns(), &a.metadata.name).cmp(&(b.metadata.ns(), &b.metadata.name))
        });
        let mut pods = BTreeMap::new();
        for p in cluster.pods.iter().filter(|p| !p.spec.host_network) {
            let ips = pod_ips(p);
            if ips.is_empty() {
                continue;
            }
            let ports: Vec<NamedPort> = p
                .spec
                .containers
                .iter()
                .flat_map(|c| &c.ports)
                .filter_map(|cp| {
                    Some(NamedPort {
                        name: cp.name.clone()?,
                        port: cp.container_port,
                        protocol: cp.protocol.clone(),
                    })
                })
                .collect();
            // the informer's pod index: every address of the pod
            // (`podinfo` `InformerResolver`, by `status.podIPs`)
            let info = PodInfo {
                namespace: p.metadata.ns().to_string(),
                name: p.metadata.name.clone(),
                labels: p.metadata.labels.clone(),
                ns_labels: cluster.namespace_labels(p.metadata.ns()),
                ports,
            };
            for ip in ips {
                pods.entry(ip).or_insert_with(|| info.clone());
            }
        }
        Evaluator {
            cfg,
            policies,
            pods,
        }
    }

    /// `getNetworkPoliciesForPod`: the policies of the pod's namespace
    /// whose podSelector matches it (of any type).
    fn for_pod(&self, pod: &PodInfo) -> Vec<&NetworkPolicy> {
        self.policies
            .iter()
            .filter(|np| {
                np.metadata.ns() == pod.namespace && np.spec.pod_selector.matches(&pod.labels)
            })
            .collect()
    }

    /// `PolicyEngine.EvaluatePacket`: egress of the source pod, then
    /// ingress of the destination pod; a pod no policy selects passes
    /// (`VerdictNext`, then the pipeline's accept).
    pub fn evaluate(&self, p: &PacketInfo) -> Judgement {
        let src = self.pods.get(&p.src);
        let dst = self.pods.get(&p.dst);
        let mut sides = Vec::new();
        if let Some(s) = src {
            let v = self.direction(Direction::Egress, s, dst, p.dst, p);
            let denied = !v.allowed;
            sides.push(v);
            if denied {
                return Judgement {
                    allowed: false,
                    sides,
                };
            }
        }
        if let Some(d) = dst {
            let v = self.direction(Direction::Ingress, d, src, p.src, p);
            let allowed = v.allowed;
            sides.push(v);
            return Judgement { allowed, sides };
        }
        Judgement {
            allowed: true,
            sides,
        }
    }

    /// `EvaluatePolicyDirection` for the policies selecting `pod` in
    /// direction `d`, `peer` being the other end (a pod, or only its
    /// address `peer_ip`).
    fn direction(
        &self,
        d: Direction,
        pod: &PodInfo,
        peer: Option<&PodInfo>,
        peer_ip: IpAddr,
        p: &PacketInfo,
    ) -> SideVerdict {
        let typed: Vec<&NetworkPolicy> = self
            .for_pod(pod)
            .into_iter()
            .filter(|np| np.policy_types().contains(&d))
            .collect();
        let name = |np: &NetworkPolicy| format!("{}/{}", np.metadata.ns(), np.metadata.name);
        let mut v = SideVerdict {
            direction: d,
            pod: pod.key(),
            policies: typed.iter().map(|np| name(np)).collect(),
            rule: None,
            allowed: typed.is_empty(),
        };
        // the destination pod's container ports resolve named ports
        let owner = match d {
            Direction::Ingress => Some(pod),
            Direction::Egress => peer,
        };
        for np in typed {
            let ns = np.metadata.ns();
            let hit = match d {
                Direction::Ingress => np.spec.ingress.iter().position(|r| {
                    ports_ok(&r.ports, owner, p.dport, p.proto)
                        && (r.from.is_empty()
                            || r.from.iter().any(|x| peer_ok(x, ns, peer, peer_ip)))
                }),
                Direction::Egress => np.spec.egress.iter().position(|r| {
                    ports_ok(&r.ports, owner, p.dport, p.proto)
                        && (r.to.is_empty() || r.to.iter().any(|x| peer_ok(x, ns, peer, peer_ip)))
                }),
            };
            if let Some(i) = hit {
                let dir = match d {
                    Direction::Ingress => "ingress",
                    Direction::Egress => "egress",
                };
                v.rule = Some(format!("{} {dir}[{i}]", name(np)));
                v.allowed = true;
                return v;
            }
        }
        v
    }
}

/// `evaluatePorts`: an empty list admits every port; else a port of the
/// packet's protocol: without a number (all ports), the number, within
/// `endPort` (`port > Port && port <= EndPort`), or a name the port
/// owner's container ports give this number and protocol.
fn ports_ok(ports: &[PolicyPort], owner: Option<&PodInfo>, port: u16, proto: &str) -> bool {
    ports.is_empty()
        || ports.iter().any(|pp| {
            if pp.protocol() != proto {
                return false;
            }
            match &pp.port {
                None => true,
                Some(PortRef::Num(n)) => {
                    let port = i64::from(port);
                    port == *n || pp.end_port.is_some_and(|e| port > *n && port <= e)
                }
                Some(PortRef::Name(s)) => owner.is_some_and(|o| {
                    o.ports
                        .iter()
                        .any(|c| c.name == *s && c.port == port && c.protocol == proto)
                }),
            }
        })
}

/// One peer of a rule (`evaluateIngress` / `evaluateEgress`'s loop): an
/// ipBlock on the other end's address; selectors only on a pod.
fn peer_ok(peer: &Peer, policy_ns: &str, pod: Option<&PodInfo>, ip: IpAddr) -> bool {
    if let Some(b) = &peer.ip_block {
        return ip_block_ok(b, ip);
    }
    let Some(pod) = pod else {
        return false;
    };
    if peer.namespace_selector.is_none() && peer.pod_selector.is_none() {
        return false;
    }
    // evaluateSelectors
    if let Some(ps) = &peer.pod_selector {
        if !ps.matches(&pod.labels) {
            return false;
        }
        if peer.namespace_selector.is_none() {
            return pod.namespace == policy_ns;
        }
    }
    match &peer.namespace_selector {
        Some(ns) if ns.match_labels.is_empty() && ns.match_expressions.is_empty() => true,
        Some(ns) => ns.matches(&pod.ns_labels),
        None => true,
    }
}

/// `evaluateIPBlocks`: within the CIDR and none of the exceptions (a
/// block of one family holds no address of the other).
fn ip_block_ok(b: &IpBlock, ip: IpAddr) -> bool {
    let within = |s: &str| s.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&ip));
    within(&b.cidr) && !b.except.iter().any(|e| within(e))
}

impl SideVerdict {
    /// The trace's words for it.
    fn words(&self) -> String {
        let dir = match self.direction {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        };
        match (&self.rule, self.policies.is_empty()) {
            (_, true) => format!(
                "{dir} of {}: not isolated (no policy selects it for {dir})",
                self.pod
            ),
            (Some(r), false) => format!("{dir} of {}: allowed by {r}", self.pod),
            (None, false) => format!(
                "{dir} of {}: denied: selected by {}, no rule of them admits the packet",
                self.pod,
                self.policies.join(", ")
            ),
        }
    }

    fn action(&self) -> Action {
        Action::Policy {
            verdict: if self.allowed { "allowed" } else { "denied" }.into(),
            direction: match self.direction {
                Direction::Ingress => "ingress",
                Direction::Egress => "egress",
            }
            .into(),
            policies: self.policies.clone(),
            rule: self.rule.clone(),
        }
    }
}

impl QueueListener for Evaluator {
    /// The nfqueue callback of `Controller.Run`: the packet parsed (a
    /// packet it cannot parse gets the default verdict: NF_ACCEPT when
    /// failing open), evaluated, and NF_ACCEPT with the accept label
    /// (`nfqueue.WithLabel(generateLabelMask(CTLabelAccept))`) or NF_DROP.
    fn on_packet(&self, q: &QueuedPacket) -> QueueAnswer {
        let prog = format!("kube-network-policies (queue {}, packet {})", q.queue, q.id);
        let Some(p) = PacketInfo::parse(q.payload) else {
            let verdict = if self.cfg.fail_open {
                QueueVerdict::Accept
            } else {
                QueueVerdict::Drop
            };
            return QueueAnswer {
                verdict,
                ct_labels: 0,
                steps: vec![(
                    format!("{prog}: can not parse the packet: the default verdict"),
                    Action::Info,
                )],
                why: format!("{prog}: an unparsable packet, failOpen false: NF_DROP"),
            };
        };
        let j = self.evaluate(&p);
        let mut steps: Vec<(String, Action)> = j
            .sides
            .iter()
            .map(|s| (format!("{prog}: {}", s.words()), s.action()))
            .collect();
        let label = self.cfg.label_bit();
        if j.allowed {
            steps.push((
                format!("{prog}: NF_ACCEPT, ct label {label} set on the connection"),
                Action::Info,
            ));
            return QueueAnswer {
                verdict: QueueVerdict::Accept,
                ct_labels: 1u128 << label,
                steps,
                why: String::new(),
            };
        }
        let denied = j
            .sides
            .iter()
            .find(|s| !s.allowed)
            .map(SideVerdict::words)
            .unwrap_or_default();
        QueueAnswer {
            verdict: QueueVerdict::Drop,
            ct_labels: 0,
            steps,
            why: format!(
                "{prog} NF_DROP: {} {} -> {}: {denied}",
                if p.proto.is_empty() { "IP" } else { p.proto },
                crate::wire::endpoint(p.src, p.sport),
                crate::wire::endpoint(p.dst, p.dport)
            ),
        }
    }
}

#[cfg(test)]
mod tests;
