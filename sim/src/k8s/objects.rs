//! Kubernetes API objects, the fields the data path depends on.
//!
//! Field names are the API's (camelCase); anything else in a manifest
//! (status, managedFields, annotations) is ignored, so the output of
//! `kubectl get svc,endpointslices,pods,nodes -A -o yaml` can be fed in as it
//! is (a `kind: List` is unpacked; reading is [`super::load`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Deserialize;

pub(super) use super::meta::err;
use super::meta::err_at;
pub use super::meta::K8sError;
pub use super::meta::ObjectMeta;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub metadata: ObjectMeta,
    pub spec: ServiceSpec,
    #[serde(default)]
    pub status: ServiceStatus,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(default, rename = "type")]
    pub svc_type: Option<String>,
    #[serde(default, rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    /// Dual-stack: the ClusterIPs of each family, the first being
    /// `clusterIP` (pkg/apis/core/types.go `ClusterIPs`).
    #[serde(default, rename = "clusterIPs")]
    pub cluster_ips: Vec<String>,
    /// `IPv4`, `IPv6`, in the order of `clusterIPs`.
    #[serde(default)]
    pub ip_families: Vec<String>,
    /// `SingleStack` (default), `PreferDualStack` or `RequireDualStack`.
    #[serde(default)]
    pub ip_family_policy: Option<String>,
    #[serde(default)]
    pub ports: Vec<ServicePort>,
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    #[serde(default, rename = "externalIPs")]
    pub external_ips: Vec<String>,
    #[serde(default)]
    pub load_balancer_source_ranges: Vec<String>,
    #[serde(default)]
    pub external_traffic_policy: Option<String>,
    #[serde(default)]
    pub internal_traffic_policy: Option<String>,
    #[serde(default)]
    pub session_affinity: Option<String>,
    #[serde(default)]
    pub session_affinity_config: Option<SessionAffinityConfig>,
    #[serde(default)]
    pub health_check_node_port: Option<u16>,
    /// The EndpointSlice controller marks every selected pod's endpoint
    /// ready, ready or not ([`super::endpointslice`]).
    #[serde(default)]
    pub publish_not_ready_addresses: bool,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionAffinityConfig {
    #[serde(default, rename = "clientIP")]
    pub client_ip: Option<ClientIpConfig>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClientIpConfig {
    #[serde(default)]
    pub timeout_seconds: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    #[serde(default)]
    pub name: String,
    #[serde(default = "tcp")]
    pub protocol: String,
    pub port: u16,
    #[serde(default)]
    pub target_port: Option<IntOrString>,
    #[serde(default)]
    pub node_port: Option<u16>,
}

fn tcp() -> String {
    "TCP".into()
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum IntOrString {
    Int(u16),
    Str(String),
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    #[serde(default)]
    pub load_balancer: LoadBalancerStatus,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerStatus {
    #[serde(default)]
    pub ingress: Vec<LoadBalancerIngress>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerIngress {
    #[serde(default)]
    pub ip: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSlice {
    pub metadata: ObjectMeta,
    #[serde(default = "ipv4")]
    pub address_type: String,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub ports: Vec<EndpointPort>,
}

fn ipv4() -> String {
    "IPv4".into()
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub addresses: Vec<String>,
    #[serde(default)]
    pub conditions: EndpointConditions,
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
}

/// `nil` means ready/serving and not terminating, as the API defines.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConditions {
    #[serde(default)]
    pub ready: Option<bool>,
    #[serde(default)]
    pub serving: Option<bool>,
    #[serde(default)]
    pub terminating: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointPort {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "tcp")]
    pub protocol: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default)]
    pub status: PodStatus,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub host_network: bool,
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Init containers; those with `restartPolicy: Always` (sidecars) keep
    /// running, and their named ports count for a Service's targetPort.
    #[serde(default)]
    pub init_containers: Vec<Container>,
    #[serde(default)]
    pub service_account_name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
    /// An init container's `restartPolicy` (`Always`: a sidecar).
    #[serde(default)]
    pub restart_policy: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    #[serde(default)]
    pub name: Option<String>,
    pub container_port: u16,
    #[serde(default = "tcp")]
    pub protocol: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, rename = "podIP")]
    pub pod_ip: Option<String>,
    /// Dual-stack: one address per family, the first being `podIP`.
    #[serde(default, rename = "podIPs")]
    pub pod_ips: Vec<PodIp>,
    /// `Pending`, `Running`, `Succeeded`, `Failed` (a terminal pod is no
    /// endpoint).
    #[serde(default)]
    pub phase: Option<String>,
    /// The pod's conditions; `Ready` decides its endpoint's readiness.
    #[serde(default)]
    pub conditions: Vec<PodCondition>,
}

/// One of a pod's `status.podIPs`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct PodIp {
    pub ip: String,
}

/// One of a pod's `status.conditions`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodCondition {
    #[serde(rename = "type")]
    pub cond_type: String,
    /// "True", "False" or "Unknown".
    #[serde(default)]
    pub status: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: NodeSpec,
    #[serde(default)]
    pub status: NodeStatus,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    #[serde(default, rename = "podCIDR")]
    pub pod_cidr: Option<String>,
    /// Dual-stack: one subnet per family, the first being `podCIDR`.
    #[serde(default, rename = "podCIDRs")]
    pub pod_cidrs: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    #[serde(default)]
    pub addresses: Vec<NodeAddress>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeAddress {
    #[serde(rename = "type")]
    pub addr_type: String,
    pub address: String,
}

impl Node {
    /// The node's IPv4 InternalIP (its eth0 address).
    pub fn internal_ip(&self) -> Option<Ipv4Addr> {
        self.status
            .addresses
            .iter()
            .filter(|a| a.addr_type == "InternalIP")
            .find_map(|a| a.address.parse().ok())
    }
    /// The node's IPv6 InternalIP, on a dual-stack node (kubelet's
    /// `--node-ip=v4,v6` lists one InternalIP per family).
    pub fn internal_ip6(&self) -> Option<Ipv6Addr> {
        self.status
            .addresses
            .iter()
            .filter(|a| a.addr_type == "InternalIP")
            .find_map(|a| a.address.parse().ok())
    }
    /// The node's IPv6 pod subnet, from `spec.podCIDRs` (or `podCIDR`).
    pub fn pod_cidr6(&self) -> Option<Ipv6Net> {
        self.spec
            .pod_cidrs
            .iter()
            .chain(self.spec.pod_cidr.iter())
            .find_map(|c| c.parse().ok())
    }
    /// The node's pod subnets, `podCIDRs` or else `podCIDR`; Err names
    /// one that is not a CIDR.
    pub fn pod_cidrs(&self) -> Result<Vec<ipnet::IpNet>, String> {
        let list: Vec<&String> = if self.spec.pod_cidrs.is_empty() {
            self.spec.pod_cidr.iter().collect()
        } else {
            self.spec.pod_cidrs.iter().collect()
        };
        list.into_iter()
            .map(|c| c.parse::<ipnet::IpNet>().map_err(|_| c.clone()))
            .collect()
    }
}

impl Pod {
    /// The pod's IPv6 address, from `status.podIPs` (or `podIP`).
    pub fn ip6(&self) -> Option<Ipv6Addr> {
        self.status
            .pod_ips
            .iter()
            .map(|p| &p.ip)
            .chain(self.status.pod_ip.iter())
            .find_map(|p| p.parse().ok())
    }
    /// The pod's IPv4 address, from `podIP` (or `status.podIPs`).
    pub fn ip4(&self) -> Option<Ipv4Addr> {
        self.status
            .pod_ip
            .iter()
            .chain(self.status.pod_ips.iter().map(|p| &p.ip))
            .find_map(|p| p.parse().ok())
    }
}

impl Service {
    /// The Service's ClusterIP of the family (`clusterIPs`, else
    /// `clusterIP`); None for a headless Service or a family it lacks.
    pub fn cluster_ip_of(&self, v6: bool) -> Option<IpAddr> {
        self.spec
            .cluster_ips
            .iter()
            .chain(self.spec.cluster_ip.iter())
            .filter_map(|c| c.parse::<IpAddr>().ok())
            .find(|a| a.is_ipv6() == v6)
    }
    /// The Service's address families (`ipFamilies`, else the families
    /// of its ClusterIPs, else IPv4), as the EndpointSlice controller's
    /// `getAddressTypesForService` reads them.
    pub fn families(&self) -> Vec<bool> {
        if !self.spec.ip_families.is_empty() {
            return self.spec.ip_families.iter().map(|f| f == "IPv6").collect();
        }
        let mut v: Vec<bool> = Vec::new();
        for a in self
            .spec
            .cluster_ips
            .iter()
            .chain(self.spec.cluster_ip.iter())
            .filter_map(|c| c.parse::<IpAddr>().ok())
        {
            if !v.contains(&a.is_ipv6()) {
                v.push(a.is_ipv6());
            }
        }
        if v.is_empty() {
            v.push(false);
        }
        v
    }
}

/// All objects of a cluster, sorted by namespace/name in each kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cluster {
    pub services: Vec<Service>,
    pub slices: Vec<EndpointSlice>,
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
    pub ingresses: Vec<Ingress>,
    /// networking.k8s.io/v1 NetworkPolicies ([`super::netpol`]).
    pub network_policies: Vec<super::netpol::NetworkPolicy>,
    /// Namespaces given as objects (their labels); a namespace objects
    /// name without one has only its `kubernetes.io/metadata.name` label.
    pub namespaces: Vec<super::netpol::Namespace>,
    /// The Services whose EndpointSlices podpath's EndpointSlice
    /// controller wrote (a Service with a selector and no EndpointSlice in
    /// the manifests: [`super::endpointslice`]), by (namespace, name); they
    /// follow the pods when labels change.
    pub controller_services: std::collections::BTreeSet<(String, String)>,
    /// Objects of kinds podpath does not use (ConfigMap, Secret, a CRD...),
    /// skipped when read, counted by kind.
    pub skipped: BTreeMap<String, usize>,
}

/// networking.k8s.io/v1 Ingress: the fields ingress-nginx routes by.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: IngressSpec,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    #[serde(default)]
    pub ingress_class_name: Option<String>,
    #[serde(default)]
    pub default_backend: Option<IngressBackend>,
    #[serde(default)]
    pub rules: Vec<IngressRule>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub http: Option<HttpIngressRuleValue>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressRuleValue {
    #[serde(default)]
    pub paths: Vec<HttpIngressPath>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressPath {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub path_type: Option<String>,
    pub backend: IngressBackend,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressBackend {
    #[serde(default)]
    pub service: Option<IngressServiceBackend>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressServiceBackend {
    pub name: String,
    #[serde(default)]
    pub port: ServiceBackendPort,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBackendPort {
    #[serde(default)]
    pub number: Option<u16>,
    #[serde(default)]
    pub name: Option<String>,
}

impl Cluster {
    /// The warning line for NetworkPolicies read but not enforced: their
    /// API semantics are modelled ([`super::netpol::evaluate`]), no CNI's
    /// programming of them is yet, so the traffic runs as if there were
    /// none (said, never silent).
    pub fn policy_warning(&self, cni: &str) -> Option<String> {
        let n = self.network_policies.len();
        (n > 0).then(|| {
            let s = if n == 1 { "y" } else { "ies" };
            format!("{n} NetworkPolic{s} read and validated but not enforced: the CNI {cni} programs no NetworkPolicy (flannel has no policy controller), so traffic runs as if there were none")
        })
    }

    /// The warning line for the objects skipped when read ("skipped 312
    /// objects of kinds podpath does not use: ConfigMap 120, Secret 80,
    /// ..."), the most numerous kind first; `None` when none was.
    pub fn skipped_warning(&self) -> Option<String> {
        let total: usize = self.skipped.values().sum();
        if total == 0 {
            return None;
        }
        let mut kinds: Vec<(&String, &usize)> = self.skipped.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let list: Vec<String> = kinds
            .iter()
            .map(|(k, n)| {
                let k = if k.is_empty() {
                    "(no kind)"
                } else {
                    k.as_str()
                };
                format!("{k} {n}")
            })
            .collect();
        let s = if total == 1 { "" } else { "s" };
        // policies of the admin tiers decide traffic: say that they were
        // not applied (podpath models networking.k8s.io NetworkPolicy only)
        let admin: Vec<&str> = ["AdminNetworkPolicy", "BaselineAdminNetworkPolicy"]
            .into_iter()
            .filter(|k| self.skipped.contains_key(*k))
            .collect();
        let note = if admin.is_empty() {
            String::new()
        } else {
            format!(
                " ({} not modelled: the run and `reach` apply none of their rules, as if the CNI ignored them)",
                admin.join(" and ")
            )
        };
        Some(format!(
            "skipped {total} object{s} of kinds podpath does not use: {}{note}",
            list.join(", ")
        ))
    }

    pub fn sort(&mut self) {
        let key = |m: &ObjectMeta| (m.ns().to_string(), m.name.clone());
        self.services.sort_by_key(|s| key(&s.metadata));
        self.slices.sort_by_key(|s| key(&s.metadata));
        self.pods.sort_by_key(|s| key(&s.metadata));
        self.nodes.sort_by_key(|s| key(&s.metadata));
        self.ingresses.sort_by_key(|s| key(&s.metadata));
        self.network_policies.sort_by_key(|s| key(&s.metadata));
        self.namespaces.sort_by_key(|s| s.metadata.name.clone());
    }

    /// The labels of namespace `ns` as the API server keeps them (a
    /// namespace without an object has only its name label).
    pub fn namespace_labels(&self, ns: &str) -> BTreeMap<String, String> {
        match self.namespaces.iter().find(|n| n.metadata.name == ns) {
            Some(n) => n.labels(),
            None => BTreeMap::from([(super::netpol::NAMESPACE_NAME_LABEL.into(), ns.into())]),
        }
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.metadata.name == name)
    }

    pub fn service(&self, ns: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.metadata.ns() == ns && s.metadata.name == name)
    }

    /// Refuses node ports outside the API server's
    /// `--service-node-port-range` (default 30000-32767), in its words
    /// (pkg/registry/core/service/portallocator: "provided port is not in
    /// the valid range").
    pub fn validate_node_ports(&self, range: (u16, u16)) -> Result<(), K8sError> {
        let (lo, hi) = range;
        for s in &self.services {
            let o = format!("Service {}/{}", s.metadata.ns(), s.metadata.name);
            let ports = s
                .spec
                .ports
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    p.node_port
                        .map(|n| (format!("spec.ports[{i}].nodePort"), n))
                })
                .chain(
                    s.spec
                        .health_check_node_port
                        .map(|n| ("spec.healthCheckNodePort".to_string(), n)),
                );
            for (field, n) in ports {
                if !(lo..=hi).contains(&n) {
                    let mut e = err(
                        o.clone(),
                        field,
                        format!("Invalid value: {n}: provided port is not in the valid range. The range of valid ports is {lo}-{hi}"),
                    );
                    e.line = s.metadata.line;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Checks that the objects agree with each other, as the API server and
    /// the controllers would have made them.
    pub fn validate(&self) -> Result<(), K8sError> {
        self.validate_unique_names()?;
        for s in &self.services {
            validate_service(s)?;
        }
        for sl in &self.slices {
            self.validate_slice(sl)?;
        }
        for p in &self.pods {
            validate_labels(
                &format!("Pod {}/{}", p.metadata.ns(), p.metadata.name),
                &p.metadata,
            )?;
            self.validate_pod(p)?;
        }
        for n in &self.namespaces {
            validate_labels(&format!("Namespace {}", n.metadata.name), &n.metadata)?;
        }
        for p in &self.network_policies {
            p.validate()?;
        }
        Ok(())
    }

    /// One object per kind, namespace and name, as the API server keeps
    /// them (a second one is `AlreadyExists`).
    fn validate_unique_names(&self) -> Result<(), K8sError> {
        // one object per kind, namespace and name, as the API server keeps them
        let metas = [
            (
                "Service",
                self.services
                    .iter()
                    .map(|x| &x.metadata)
                    .collect::<Vec<_>>(),
            ),
            (
                "EndpointSlice",
                self.slices.iter().map(|x| &x.metadata).collect(),
            ),
            ("Pod", self.pods.iter().map(|x| &x.metadata).collect()),
            ("Node", self.nodes.iter().map(|x| &x.metadata).collect()),
            (
                "Ingress",
                self.ingresses.iter().map(|x| &x.metadata).collect(),
            ),
            (
                "NetworkPolicy",
                self.network_policies.iter().map(|x| &x.metadata).collect(),
            ),
            (
                "Namespace",
                self.namespaces.iter().map(|x| &x.metadata).collect(),
            ),
        ];
        for (kind, ms) in metas {
            let mut seen: BTreeMap<(&str, &str), &ObjectMeta> = BTreeMap::new();
            for m in ms {
                let cluster_scoped = kind == "Node" || kind == "Namespace";
                let ns = if cluster_scoped { "" } else { m.ns() };
                if let Some(first) = seen.insert((ns, m.name.as_str()), m) {
                    let name = if cluster_scoped {
                        m.name.clone()
                    } else {
                        format!("{ns}/{}", m.name)
                    };
                    let at = if first.line > 0 {
                        format!(" (the first is at line {})", first.line)
                    } else {
                        String::new()
                    };
                    return Err(err_at(
                        m,
                        format!("{kind} {name}"),
                        "metadata.name",
                        format!("a second {kind} {name}{at}: the API server keeps one object per name (AlreadyExists)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// An EndpointSlice names an existing Service (label
    /// `kubernetes.io/service-name`), its ports match the Service's port
    /// names, and its addresses are IPv4 addresses inside their node's
    /// podCIDR (or the node's own address).
    fn validate_slice(&self, sl: &EndpointSlice) -> Result<(), K8sError> {
        let o = format!("EndpointSlice {}/{}", sl.metadata.ns(), sl.metadata.name);
        let Some(svc) = sl.metadata.labels.get("kubernetes.io/service-name") else {
            return Err(err_at(
                &sl.metadata,
                o.clone(),
                "metadata.labels[kubernetes.io/service-name]",
                "missing: every EndpointSlice names its Service with this label",
            ));
        };
        let Some(s) = self.service(sl.metadata.ns(), svc) else {
            return Err(err_at(
                &sl.metadata,
                o.clone(),
                "metadata.labels[kubernetes.io/service-name]",
                format!("Service {}/{svc} does not exist", sl.metadata.ns()),
            ));
        };
        for (i, p) in sl.ports.iter().enumerate() {
            let name = p.name.clone().unwrap_or_default();
            if !s.spec.ports.iter().any(|sp| sp.name == name) {
                let names: Vec<&str> = s.spec.ports.iter().map(|p| p.name.as_str()).collect();
                return Err(err_at(
                    &sl.metadata,
                    o.clone(),
                    format!("ports[{i}].name"),
                    format!(
                        "'{name}' matches no port of Service {}/{svc} (its ports are named {:?})",
                        sl.metadata.ns(),
                        names
                    ),
                ));
            }
        }
        let v6 = match sl.address_type.as_str() {
            "IPv4" => false,
            "IPv6" => true,
            // FQDN slices name no address a proxy programs
            "FQDN" => return Ok(()),
            t => {
                return Err(err_at(
                    &sl.metadata,
                    o.clone(),
                    "addressType",
                    format!("'{t}': expected IPv4, IPv6 or FQDN"),
                ))
            }
        };
        let fam = if v6 { "IPv6" } else { "IPv4" };
        for (i, ep) in sl.endpoints.iter().enumerate() {
            for (j, a) in ep.addresses.iter().enumerate() {
                let ip = match a.parse::<IpAddr>() {
                    Ok(ip) if ip.is_ipv6() == v6 => ip,
                    _ => {
                        return Err(err_at(
                            &sl.metadata,
                            o.clone(),
                            format!("endpoints[{i}].addresses[{j}]"),
                            format!("'{a}' is not an {fam} address (addressType {fam})"),
                        ))
                    }
                };
                if let Some(nn) = &ep.node_name {
                    let Some(node) = self.node(nn) else {
                        if self.nodes.is_empty() {
                            continue;
                        }
                        return Err(err_at(
                            &sl.metadata,
                            o.clone(),
                            format!("endpoints[{i}].nodeName"),
                            format!("Node '{nn}' does not exist"),
                        ));
                    };
                    let (inside, cidr, is_node_ip) = match ip {
                        IpAddr::V4(ip) => {
                            let c = node
                                .spec
                                .pod_cidr
                                .as_ref()
                                .and_then(|c| c.parse::<Ipv4Net>().ok());
                            (
                                c.map(|c| c.contains(&ip)),
                                c.map(|c| c.to_string()),
                                node.internal_ip() == Some(ip),
                            )
                        }
                        IpAddr::V6(ip) => {
                            let c = node.pod_cidr6();
                            (
                                c.map(|c| c.contains(&ip)),
                                c.map(|c| c.to_string()),
                                node.internal_ip6() == Some(ip),
                            )
                        }
                    };
                    if inside == Some(false) && !is_node_ip {
                        return Err(err_at(
                            &sl.metadata,
                            o.clone(),
                            format!("endpoints[{i}].addresses[{j}]"),
                            format!(
                                "{ip} is outside the podCIDR {} of Node {nn}",
                                cidr.unwrap_or_default()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A Pod's podIP is an IPv4 address inside its Node's podCIDR (unless
    /// the pod uses the host's network).
    /// A Pod's `status.podIP` and `status.podIPs` as the API server
    /// validates them (validation.go `validatePodIPs`): podIPs[0] is
    /// podIP, at most one address per family; each lies in its node's
    /// podCIDR of that family (unless the pod uses the host's network).
    fn validate_pod(&self, p: &Pod) -> Result<(), K8sError> {
        let o = format!("Pod {}/{}", p.metadata.ns(), p.metadata.name);
        let bad = |f: String, m: String| Err(err_at(&p.metadata, o.clone(), f, m));
        let Some(ip) = &p.status.pod_ip else {
            return Ok(());
        };
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return bad(
                "status.podIP".into(),
                format!("'{ip}' is not an IP address"),
            );
        };
        let ips = &p.status.pod_ips;
        if let Some(first) = ips.first() {
            if first.ip.parse::<IpAddr>().ok() != Some(ip) {
                return bad(
                    "status.podIPs[0].ip".into(),
                    format!("'{}' must be the same as podIP '{ip}'", first.ip),
                );
            }
        }
        if ips.len() > 2 {
            return bad(
                "status.podIPs".into(),
                "may hold at most two addresses, one per family".into(),
            );
        }
        let mut all = vec![("status.podIP".to_string(), ip)];
        for (i, a) in ips.iter().enumerate().skip(1) {
            let f = format!("status.podIPs[{i}].ip");
            match a.ip.parse::<IpAddr>() {
                Ok(x) if x.is_ipv6() == ip.is_ipv6() => {
                    return bad(
                        f,
                        "may specify no more than one IP for each IP family".into(),
                    )
                }
                Ok(x) => all.push((f, x)),
                Err(_) => return bad(f, format!("'{}' is not an IP address", a.ip)),
            }
        }
        if p.spec.host_network {
            return Ok(());
        }
        let Some(nn) = &p.spec.node_name else {
            return Ok(());
        };
        let Some(node) = self.node(nn) else {
            return bad(
                "spec.nodeName".into(),
                format!("Node '{nn}' does not exist"),
            );
        };
        let cidrs = node.pod_cidrs().map_err(|c| {
            err(
                format!("Node {nn}"),
                "spec.podCIDR",
                format!("'{c}' is not a CIDR"),
            )
        })?;
        for (f, a) in all {
            if let Some(c) = cidrs
                .iter()
                .find(|c| matches!(c, ipnet::IpNet::V6(_)) == a.is_ipv6())
            {
                if !c.contains(&a) {
                    return bad(f, format!("{a} is outside the podCIDR {c} of Node {nn}"));
                }
            }
        }
        Ok(())
    }
}

/// A Service's own fields, as the API server's validation checks them:
/// clusterIP, port names and protocols, externalIPs,
/// loadBalancerSourceRanges and the traffic policies.
/// The object's labels as the API server validates them
/// (apimachinery's `ValidateLabels`: each key a qualified name, each value
/// a label value).
fn validate_labels(o: &str, m: &ObjectMeta) -> Result<(), K8sError> {
    for (k, v) in &m.labels {
        let path = format!("metadata.labels[{k}]");
        super::netpol::label_key(o, &path, k)?;
        super::netpol::label_value(o, &path, v)?;
    }
    Ok(())
}

/// The dual-stack fields as the API server validates them
/// (pkg/apis/core/validation/validation.go
/// `validateServiceClusterIPsRelatedFields`, `validateIPFamilies`):
/// `clusterIPs` starts with `clusterIP`, holds at most one address per
/// family, agrees with `ipFamilies` in order, and with the policy.
/// The ClusterIP of a family a PreferDualStack or RequireDualStack
/// Service lacks is allocated with the cluster's ranges
/// ([`super::ipalloc`]).
fn validate_service_families(s: &Service, o: &str) -> Result<(), K8sError> {
    let bad = |f: &str, m: String| Err(err_at(&s.metadata, o.to_string(), f, m));
    let sp = &s.spec;
    if let (Some(first), Some(cip)) = (sp.cluster_ips.first(), &sp.cluster_ip) {
        if first != cip {
            return bad(
                "spec.clusterIPs[0]",
                format!("'{first}' must be the same as clusterIP '{cip}'"),
            );
        }
    }
    if sp.cluster_ips.len() > 2 {
        return bad(
            "spec.clusterIPs",
            "may hold at most two addresses, one per family".into(),
        );
    }
    let mut fams: Vec<bool> = Vec::new();
    for (i, c) in sp.cluster_ips.iter().enumerate() {
        if c == "None" {
            if i > 0 || sp.cluster_ips.len() > 1 {
                return bad(
                    &format!("spec.clusterIPs[{i}]"),
                    "'None' (headless) must be the only value".into(),
                );
            }
            continue;
        }
        let Ok(a) = c.parse::<IpAddr>() else {
            return bad(
                &format!("spec.clusterIPs[{i}]"),
                format!("'{c}' is not an IP address"),
            );
        };
        if fams.contains(&a.is_ipv6()) {
            return bad(
                "spec.clusterIPs",
                "may specify no more than one IP for each IP family".into(),
            );
        }
        fams.push(a.is_ipv6());
    }
    for (i, f) in sp.ip_families.iter().enumerate() {
        if f != "IPv4" && f != "IPv6" {
            return bad(
                &format!("spec.ipFamilies[{i}]"),
                format!("'{f}': expected IPv4 or IPv6"),
            );
        }
        if sp.ip_families[..i].contains(f) {
            return bad(
                &format!("spec.ipFamilies[{i}]"),
                format!("'{f}' is listed twice"),
            );
        }
        if let Some(&v6) = fams.get(i) {
            if v6 != (f == "IPv6") {
                return bad(
                    &format!("spec.clusterIPs[{i}]"),
                    format!(
                        "'{}' is not an {f} address, as ipFamilies[{i}] says it is",
                        sp.cluster_ips[i]
                    ),
                );
            }
        }
    }
    let n = fams.len().max(sp.ip_families.len());
    match sp.ip_family_policy.as_deref() {
        None | Some("SingleStack") => {
            if n > 1 {
                return bad(
                    "spec.ipFamilyPolicy",
                    "SingleStack (the default) allows one family; this Service lists two (set PreferDualStack or RequireDualStack)".into(),
                );
            }
        }
        Some("PreferDualStack") => {}
        // the API server allocates the family a dual-stack Service lacks
        // (`super::ipalloc`), and refuses RequireDualStack where the
        // cluster has one family
        Some("RequireDualStack") => {}
        Some(p) => {
            return bad(
                "spec.ipFamilyPolicy",
                format!("'{p}': expected SingleStack, PreferDualStack or RequireDualStack"),
            );
        }
    }
    Ok(())
}

fn validate_service(s: &Service) -> Result<(), K8sError> {
    let o = format!("Service {}/{}", s.metadata.ns(), s.metadata.name);
    if let Some(ip) = &s.spec.cluster_ip {
        if ip != "None" && ip.parse::<IpAddr>().is_err() {
            return Err(err_at(
                &s.metadata,
                o.clone(),
                "spec.clusterIP",
                format!("'{ip}' is not an IP address"),
            ));
        }
    }
    validate_service_families(s, &o)?;
    if s.spec.ports.len() > 1 {
        for (i, p) in s.spec.ports.iter().enumerate() {
            if p.name.is_empty() {
                return Err(err_at(
                    &s.metadata,
                    o.clone(),
                    format!("spec.ports[{i}].name"),
                    "a Service with more than one port must name every port",
                ));
            }
        }
    }
    for (i, p) in s.spec.ports.iter().enumerate() {
        if !matches!(p.protocol.as_str(), "TCP" | "UDP" | "SCTP") {
            return Err(err_at(
                &s.metadata,
                o.clone(),
                format!("spec.ports[{i}].protocol"),
                format!("'{}': expected TCP, UDP or SCTP", p.protocol),
            ));
        }
    }
    for (i, ip) in s.spec.external_ips.iter().enumerate() {
        if ip.parse::<IpAddr>().is_err() {
            return Err(err_at(
                &s.metadata,
                o.clone(),
                format!("spec.externalIPs[{i}]"),
                format!("'{ip}' is not an IP address"),
            ));
        }
    }
    // kube-proxy trims blanks around each range
    for (i, r) in s.spec.load_balancer_source_ranges.iter().enumerate() {
        if r.trim().parse::<ipnet::IpNet>().is_err() {
            return Err(err_at(
                &s.metadata,
                o.clone(),
                format!("spec.loadBalancerSourceRanges[{i}]"),
                format!("'{r}' is not a CIDR"),
            ));
        }
    }
    for (f, v) in [
        (
            "spec.externalTrafficPolicy",
            &s.spec.external_traffic_policy,
        ),
        (
            "spec.internalTrafficPolicy",
            &s.spec.internal_traffic_policy,
        ),
    ] {
        if let Some(v) = v {
            if v != "Cluster" && v != "Local" {
                return Err(err_at(
                    &s.metadata,
                    o.clone(),
                    f,
                    format!("'{v}': expected Cluster or Local"),
                ));
            }
        }
    }
    Ok(())
}
