//! The scenario format (`apiVersion: podpath/v1`, `kind: Scenario`): the
//! schema as serde reads it (unknown keys are errors) and writes it back
//! (`podpath expand` prints a whole scenario in this form).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// A scalar read as text whatever its YAML type (sysctl values: `1`, `"1"`,
/// `"32768 60999"`).
/// A dump's text as a host carries it (iptables-save, nft): shared, not
/// copied, between the hosts a cluster makes with the same text (its nodes'
/// kube-proxy rules), and parsed once for them all (see `Host::nf`).
pub type Text = std::sync::Arc<str>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar(pub String);

impl Serialize for Scalar {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, string or boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(if v { "1".into() } else { "0".into() }))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioDoc {
    pub api_version: Spanned<String>,
    pub kind: Spanned<String>,
    pub metadata: Metadata,
    #[serde(default)]
    pub seed: u64,
    /// Virtual time after which the run stops (default 300s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, HostDoc>,
    /// A Kubernetes cluster described by its objects; expanded into nodes,
    /// pods and their kernel state (see `podpath expand`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkDoc>,
    /// L2 segments: each becomes a switch (a bridge `br0` in a namespace of
    /// its own, named after the segment) with one port per member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<TrafficDoc>,
    /// A timeline of faults: links down and up, nodes down, conntrack
    /// flushed, processes stopped, latency changed, endpoints removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultDoc>,
    /// The cluster as it is after each `endpointRemoved` fault (filled by
    /// `expand_cluster`, in time order).
    #[serde(skip)]
    pub resyncs: Vec<ResyncText>,
    /// Pods of a cluster that has no kube-dns Service: kubelet gives them no
    /// nameserver (filled by `expand_cluster`, for the error that says so).
    #[serde(skip)]
    pub pods_without_dns: std::collections::BTreeSet<String>,
}

/// The expansion of the cluster after one of its objects changed (an
/// `endpointRemoved`, `policyApplied`, `policyDeleted`, `podLabelsChanged`
/// or `namespaceLabelsChanged` fault).
#[derive(Debug)]
pub struct ResyncText {
    pub fault: usize,
    /// The endpoint that left (an `endpointRemoved`): UDP conntrack entries
    /// DNATed to it are cleared, as kube-proxy does.
    pub endpoint: Option<Ipv4Addr>,
    /// Who reprograms the nodes: `kube-proxy` for an endpoint, the CNI's
    /// policy agent (`felix`, `kube-network-policies`) for a policy or a
    /// label, or `none` when the CNI enforces no NetworkPolicy.
    pub agent: String,
    pub what: String,
    /// The hosts as the cluster makes them after the change.
    pub hosts: BTreeMap<String, HostDoc>,
    /// kindnet: kube-network-policies' evaluator over the objects after
    /// the change (its informers see the new objects at that instant).
    pub evaluator: Option<std::sync::Arc<crate::k8s::kindnet_policy::Evaluator>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaultDoc {
    pub at: Spanned<String>,
    /// HOST/DEV
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_down: Option<Spanned<String>>,
    /// HOST/DEV
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_up: Option<Spanned<String>>,
    /// HOST
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_down: Option<Spanned<String>>,
    /// HOST
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conntrack_flush: Option<Spanned<String>>,
    /// HOST/APP-NAME (the app's `name`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Spanned<String>>,
    /// HOST/DEV: the link's new latency (`latency: 20ms`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Spanned<String>>,
    /// with `link`: the share of frames lost from then on (`30%`, `0.3`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Spanned<String>>,
    /// An endpoint leaves its EndpointSlices (`10.244.1.2` or `NS/POD`):
    /// kube-proxy, ingress-nginx and the sidecars resync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_removed: Option<Spanned<String>>,
    /// A NetworkPolicy created or replaced (`kubectl apply`): the
    /// manifest's text, one or more `kind: NetworkPolicy` documents. The
    /// CNI's policy agent resyncs at that instant; established connections
    /// stay as conntrack keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_applied: Option<Spanned<String>>,
    /// A NetworkPolicy deleted: `NS/NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_deleted: Option<Spanned<String>>,
    /// A pod's labels replaced: `{pod: NS/NAME, labels: {...}}` (the whole
    /// new set, as after `kubectl apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_labels_changed: Option<LabelsChangeDoc>,
    /// A namespace's labels replaced: `{namespace: NS, labels: {...}}`
    /// (`kubernetes.io/metadata.name` is kept, as the API server keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_labels_changed: Option<LabelsChangeDoc>,
    /// The control plane rewrites hosts' state at this instant: what
    /// `endpointRemoved` becomes in `podpath expand`'s output (a scenario
    /// without its cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync: Option<ResyncDoc>,
}

/// `podLabelsChanged` / `namespaceLabelsChanged`: the object and its new
/// labels.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelsChangeDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Spanned<String>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A control-plane resync written out: why, the endpoint that left, and the
/// hosts as the cluster makes them afterwards (their rules, sets, IPVS
/// services and proxy configurations replace the ones before).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResyncDoc {
    pub what: String,
    /// The endpoint that left, for an `endpointRemoved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Spanned<String>>,
    /// Who reprograms the nodes (default `kube-proxy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default)]
    pub hosts: BTreeMap<String, HostDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterDoc {
    /// flannel-vxlan | flannel-host-gw
    pub cni: Spanned<String>,
    /// kube-proxy's mode: iptables (default), ipvs or nftables
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_mode: Option<Spanned<String>>,
    /// `--service-cluster-ip-range` (default 10.96.0.0/12)
    #[serde(
        default,
        rename = "serviceCIDR",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_cidr: Option<Spanned<String>>,
    /// The pod network (kube-proxy's --cluster-cidr, flannel's Network).
    #[serde(rename = "clusterCIDR")]
    pub cluster_cidr: Spanned<String>,
    /// The nodes' network (the prefix of their eth0 addresses).
    pub node_network: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Devices of other hosts to put on the nodes' network (`client/eth0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attach: Vec<String>,
    /// The nodes' default gateway (default: the node network's first address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_gateway: Option<Spanned<String>>,
    /// kube-apiserver's `--service-node-port-range` (default 30000-32767):
    /// a Service's nodePort outside it is refused, as the API server does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_node_port_range: Option<Spanned<String>>,
    /// The objects: Nodes, Pods, Services, EndpointSlices, as multi-document
    /// YAML or JSON (`kubectl get -A -o yaml` or `-o json` output works as
    /// is, up to the ceiling of `yaml::Limits`; other kinds are skipped and
    /// counted: `k8s::load`).
    pub manifests: Spanned<String>,
}

/// The part of a scenario a cluster expands to: the hosts, links and
/// segments `k8s::cluster::expand` builds (values, not YAML text).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpansionDoc {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, HostDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The source write-up the scenario models (a file in shared/seeds/).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostDoc {
    pub kind: Spanned<String>,
    /// A pod's Kubernetes namespace (summaries name it `NAMESPACE/NAME`;
    /// `expect: {servedBy: NS/NAME}` matches it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub devices: BTreeMap<String, DeviceDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbors: Vec<NeighDoc>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, Spanned<Scalar>>,
    /// iptables-save text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables: Option<Spanned<Text>>,
    /// ip6tables-save text (run on IPv6 packets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6tables: Option<Spanned<Text>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppDoc>,
    /// /etc/resolv.conf for programs on this host that resolve names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolv_conf: Option<ResolvDoc>,
    /// `ipset save` text (the sets `-m set` refers to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipset: Option<Spanned<String>>,
    /// nftables ruleset: `nft list ruleset` text or `nft -f` commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables: Option<Spanned<Text>>,
    /// iptables text a scenario adds to a host the cluster makes, applied
    /// on top as `iptables-restore --noflush` (see `merge_host`).
    #[serde(skip)]
    pub iptables_extra: Vec<Spanned<Text>>,
    /// IPVS virtual services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipvs: Vec<IpvsDoc>,
    /// What the generated rules in `iptables` stand for (the policy behind
    /// felix's rules), from the component that wrote them; never in a file.
    #[serde(skip)]
    pub rule_notes: Option<std::sync::Arc<crate::net::netfilter::notes::RuleNotes>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IpvsDoc {
    /// `tcp 10.96.0.10:53` (protocol, address:port)
    pub service: Spanned<String>,
    /// rr | wrr | lc | sh (default rr)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<Spanned<String>>,
    /// `10.244.1.3:53` or `10.244.1.3:53 weight 2`
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reals: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResolvDoc {
    pub nameserver: Spanned<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    /// `options ndots:N` (glibc's default 1; kubelet writes 5 for pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndots: Option<usize>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeviceDoc {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub dev_type: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addrs: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<Spanned<Scalar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<Spanned<String>>,
    #[serde(default)]
    pub hairpin: bool,
    #[serde(default = "yes")]
    pub up: bool,
    /// vxlan: VNI (`id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// vxlan: UDP destination port (`dstport`; Linux's default 8472).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// vxlan: local tunnel address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Spanned<String>>,
    /// vxlan: FDB learning (`nolearning` = false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning: Option<bool>,
    /// vxlan: the underlay device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<Spanned<String>>,
    /// vxlan: `bridge fdb append MAC dev DEV dst IP` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fdb: Vec<FdbDoc>,
    /// tun: the userspace WireGuard serving it (tailscaled, HeadCNI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard: Option<WireguardDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WireguardDoc {
    /// This end's name (its public key); default `HOST/DEV`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// UDP port (Tailscale: 41641).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<WgPeerDoc>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WgPeerDoc {
    /// The peer's name (its public key): the peer's `wireguard.name`.
    pub name: String,
    #[serde(rename = "allowedIPs")]
    pub allowed_ips: Vec<Spanned<String>>,
    /// ADDR:PORT
    pub endpoint: Spanned<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FdbDoc {
    pub mac: Spanned<String>,
    pub dst: Spanned<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteDoc {
    pub dst: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Spanned<Scalar>>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub route_type: Option<Spanned<String>>,
    #[serde(default)]
    pub metric: u32,
    #[serde(default)]
    pub onlink: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleDoc {
    /// `inet` (the default) or `inet6` (`ip -6 rule`); a `from` or `to`
    /// of IPv6 makes it an IPv6 rule too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Spanned<String>>,
    pub priority: u32,
    #[serde(default)]
    pub not: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<Spanned<Scalar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Spanned<Scalar>>,
    /// blackhole | unreachable | prohibit (instead of a table)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NeighDoc {
    pub ip: Spanned<String>,
    pub mac: Spanned<String>,
    pub dev: Spanned<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppDoc {
    pub kind: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// http-server, dns-server: `[ADDR]:PORT`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<Spanned<String>>,
    /// haproxy: haproxy.cfg text; keepalived: keepalived.conf text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, ResponseDoc>,
    /// dns-server: name -> IPv4 address (A records).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub records: BTreeMap<String, Spanned<String>>,
    /// tcp-forward: where each accepted connection is forwarded (`ADDR:PORT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Spanned<String>>,
    /// Every socket the program listens on has IP_TRANSPARENT
    /// (`setsockopt(IP_TRANSPARENT)`, as Envoy's and HAProxy's
    /// `transparent` listeners set it): TPROXY may hand it connections
    /// for any destination, which it accepts with that destination as
    /// its local address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transparent: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResponseDoc {
    #[serde(default = "ok200")]
    pub status: u16,
    #[serde(default = "json_ct")]
    pub content_type: String,
    #[serde(default)]
    pub body: String,
}

fn ok200() -> u16 {
    200
}
/// An HTTP response's default `Content-Type`: JSON.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

fn json_ct() -> String {
    JSON_CONTENT_TYPE.into()
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkDoc {
    pub a: Spanned<String>,
    pub b: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SegmentDoc {
    pub name: Spanned<String>,
    pub members: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrafficDoc {
    pub id: Spanned<String>,
    pub from: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping: Option<PingDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp: Option<SctpDoc>,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Spanned<String>>,
    /// How long an http or sctp client waits for its whole answer before
    /// it gives up (`curl -m`, `ncat -w`): a duration (`10s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Spanned<String>>,
    /// What must happen to each flow of the entry: `answered`, `dropped`,
    /// `rejected`, `timedOut`, `reset`, `notResolved`, `failed`, or a map
    /// `{status: 200, servedBy: default/web-*, reset: true, ...}`. `run`
    /// and `check` exit 1 naming the flow when one is not met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Spanned<ExpectDoc>>,
}

/// A traffic entry's `expect:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectDoc(pub Vec<crate::trace::Expect>);

const EXPECT_WORDS: &str = "answered, dropped, rejected, timedOut, reset, notResolved or failed";

fn expect_word(w: &str) -> Option<crate::trace::Expect> {
    use crate::trace::Expect;
    Some(match w {
        "answered" => Expect::Answered,
        "dropped" => Expect::Dropped,
        "rejected" | "refused" => Expect::Rejected,
        "timedOut" | "timeout" | "timed-out" => Expect::TimedOut,
        "reset" => Expect::Reset,
        "notResolved" | "not-resolved" => Expect::NotResolved,
        "failed" => Expect::Failed,
        _ => return None,
    })
}

impl Serialize for ExpectDoc {
    /// As a map of what must happen (`{status: 200, dropped: true}`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use crate::trace::Expect;
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for e in &self.0 {
            match e {
                Expect::Status(c) => m.serialize_entry("status", c)?,
                Expect::ServedBy(p) => m.serialize_entry("servedBy", p)?,
                Expect::Answered => m.serialize_entry("answered", &true)?,
                Expect::Dropped => m.serialize_entry("dropped", &true)?,
                Expect::Rejected => m.serialize_entry("rejected", &true)?,
                Expect::TimedOut => m.serialize_entry("timedOut", &true)?,
                Expect::Reset => m.serialize_entry("reset", &true)?,
                Expect::NotResolved => m.serialize_entry("notResolved", &true)?,
                Expect::Failed => m.serialize_entry("failed", &true)?,
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ExpectDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ExpectDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "one of {EXPECT_WORDS}, or a map like {{status: 200, servedBy: default/web-*}}"
                )
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<ExpectDoc, E> {
                expect_word(v).map(|e| ExpectDoc(vec![e])).ok_or_else(|| {
                    E::custom(format!("unknown expectation '{v}': expected {EXPECT_WORDS}, or a map like {{status: 200}}"))
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<ExpectDoc, A::Error> {
                use crate::trace::Expect;
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "status" => {
                            let s: u16 = m.next_value()?;
                            if !(100..=599).contains(&s) {
                                return Err(A::Error::custom(format!(
                                    "status {s}: expected an HTTP status 100-599"
                                )));
                            }
                            out.push(Expect::Status(s));
                        }
                        "servedBy" => out.push(Expect::ServedBy(m.next_value()?)),
                        w => {
                            let Some(e) = expect_word(w) else {
                                return Err(A::Error::custom(format!("unknown expectation '{w}': expected status, servedBy, {EXPECT_WORDS}")));
                            };
                            let on: bool = m.next_value()?;
                            if !on {
                                return Err(A::Error::custom(format!("'{w}: false' says nothing: write what must happen ({w}: true, or another expectation)")));
                            }
                            out.push(e);
                        }
                    }
                }
                if out.is_empty() {
                    return Err(A::Error::custom(
                        "an empty 'expect' says nothing: name what must happen",
                    ));
                }
                Ok(ExpectDoc(out))
            }
        }
        d.deserialize_any(V)
    }
}

fn one() -> u32 {
    1
}

/// One SCTP association to `dst` (`ADDR:PORT`): `message` sent and its
/// echo awaited (`ncat --sctp`); without one, the association set up and
/// closed (a connect probe).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SctpDoc {
    pub dst: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `ping -c 1 -s SIZE [-M do|dont] DST`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PingDoc {
    pub dst: Spanned<String>,
    /// ICMP data bytes (default 56, as ping's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// Don't-fragment (default true: Linux's path-MTU discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<bool>,
    /// Echo requests to send, one second apart (`-c`; IPv6 pings only,
    /// default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u16>,
    /// The requests' hop limit (`-t`; IPv6 pings only; 1 to 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u8>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DnsDoc {
    /// The name to look up (A record).
    pub query: String,
    /// The record type asked: A (the default) or AAAA.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub qtype: Option<Spanned<String>>,
    /// Ask this server directly; without it, the host's resolv.conf
    /// (nameserver, search list, ndots) decides what is asked, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpDoc {
    pub get: Spanned<String>,
    /// Host header, when it differs from the URL's authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `curl -6`: resolve the name to its IPv6 address (AAAA) and connect
    /// over IPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Spanned<bool>>,
    /// `curl -4`: resolve the name to its IPv4 address (A) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Spanned<bool>>,
}
