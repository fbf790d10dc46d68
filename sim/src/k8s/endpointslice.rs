//! The EndpointSlice controller (kube-controller-manager's
//! `endpointslice-controller.k8s.io`): the EndpointSlices of a Service
//! with a selector, written from the pods it selects.
//!
//! Modelled on kubernetes `pkg/controller/endpointslice` and
//! `staging/src/k8s.io/endpointslice` (v1.31):
//! - the pods are those of the Service's namespace whose labels match its
//!   selector (`syncService`: `labels.Set(service.Spec.Selector)`); a
//!   Service without a selector, or of type ExternalName, gets none;
//! - a pod is an endpoint when it has an IP and is not terminal
//!   (`ShouldPodBeInEndpoints(pod, true)`: phase Succeeded or Failed
//!   excluded);
//! - `podToEndpoint`: the pod's IP, `serving` = the pod's Ready condition,
//!   `ready` = serving (or the Service's `publishNotReadyAddresses`), the
//!   pod's nodeName, the zone of its node's `topology.kubernetes.io/zone`
//!   label;
//! - `getEndpointPorts`: for each Service port, `FindPort`: a numeric
//!   targetPort is used as it is (whatever the pod declares), a named one
//!   is looked up among the containers' ports (then the sidecar init
//!   containers') by name and protocol, and a port not found is left out
//!   of that pod's ports;
//! - pods are grouped by their port list into slices of at most 100
//!   endpoints (`maxEndpointsPerSlice`), with the labels
//!   `kubernetes.io/service-name` and
//!   `endpointslice.kubernetes.io/managed-by`; a Service selecting no pod
//!   gets one empty placeholder slice.
//!
//! When it runs: only for a Service with a selector that has no
//! EndpointSlice in the manifests. Slices given (`kubectl get -o yaml` of
//! a real cluster) are the real controller's output and are taken as they
//! are. The Services it wrote for are kept in
//! [`Cluster::controller_services`], and their slices are written again
//! when a pod's labels change on the fault timeline.
//!
//! Simplifications (named in `podpath explain`):
//! - a pod whose `status.conditions` are absent is taken as Ready (a
//!   hand-written manifest has no status); with conditions given, Ready
//!   is the `Ready` condition's `"True"`, as `IsPodReady`;
//! - no pod is terminating (no `deletionTimestamp` is read);
//! - a slice's name is `<service>-` and five characters drawn from
//!   the controller's alphabet by a hash of the namespace, Service and
//!   slice number, not the API server's random `generateName` suffix, so
//!   the same manifests give the same names;
//! - IPv4 only (the addressType of the Service's ClusterIP).

use std::collections::BTreeMap;

use super::meta::ObjectMeta;
use super::objects::{
    Cluster, Endpoint, EndpointConditions, EndpointPort, EndpointSlice, IntOrString, Pod, Service,
    ServicePort,
};

/// The controller's name in `endpointslice.kubernetes.io/managed-by`.
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// `--max-endpoints-per-slice`'s default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The label naming a slice's Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `IsPodReady`: the pod's `Ready` condition is `"True"` (a pod without
/// conditions is taken as ready: see the module's simplifications).
pub fn is_pod_ready(p: &Pod) -> bool {
    if p.status.conditions.is_empty() {
        return true;
    }
    p.status
        .conditions
        .iter()
        .any(|c| c.cond_type == "Ready" && c.status == "True")
}

/// `FindPort`: the pod's port for Service port `sp`; None where a named
/// targetPort names no port of that protocol.
pub fn find_port(pod: &Pod, sp: &ServicePort) -> Option<u16> {
    match &sp.target_port {
        // the API server defaults targetPort to port
        None => Some(sp.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::Str(name)) => {
            let sidecars = pod
                .spec
                .init_containers
                .iter()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            pod.spec
                .containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| &c.ports)
                .find(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol == sp.protocol)
                .map(|p| p.container_port)
        }
    }
}

/// Whether the pod's labels match the Service's selector.
pub fn selects(s: &Service, p: &Pod) -> bool {
    p.metadata.ns() == s.metadata.ns()
        && s.spec
            .selector
            .iter()
            .all(|(k, v)| p.metadata.labels.get(k) == Some(v))
}

/// Whether the controller manages Service `s`'s slices at all.
pub fn manages(s: &Service) -> bool {
    !s.spec.selector.is_empty() && s.spec.svc_type.as_deref() != Some("ExternalName")
}

/// The name of slice `n` of Service `ns/name`: `name-` and five
/// characters of `utilrand.String`'s alphabet, from an FNV-1a hash.
fn slice_name(ns: &str, name: &str, n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{ns}/{name}/{n}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let suffix: String = (0..5)
        .map(|i| ALPHABET[((h >> (i * 12)) % ALPHABET.len() as u64) as usize] as char)
        .collect();
    format!("{name}-{suffix}")
}

/// The EndpointSlices the controller writes for Service `s` from the pods
/// and nodes of `c`.
///
/// One set of slices per address family of the Service
/// (pkg/controller/endpointslice/reconciler.go `Reconcile`, families from
/// `getAddressTypesForService`), each with the pods' address of that
/// family (`getEndpointAddresses`: the podIPs entry of the family).
pub fn slices_for(c: &Cluster, s: &Service) -> Vec<EndpointSlice> {
    let mut out = Vec::new();
    for v6 in s.families() {
        slices_of_family(c, s, v6, &mut out);
    }
    out
}

fn slices_of_family(c: &Cluster, s: &Service, v6: bool, out: &mut Vec<EndpointSlice>) {
    let ns = s.metadata.ns();
    // pods grouped by their port list (`endpointutil.NewPortMapKey`)
    let mut groups: BTreeMap<Vec<(String, u16, String)>, Vec<Endpoint>> = BTreeMap::new();
    for p in c.pods.iter().filter(|p| selects(s, p)) {
        let ip = if v6 {
            p.ip6().map(|a| a.to_string())
        } else {
            p.ip4().map(|a| a.to_string())
        };
        let Some(ip) = ip else {
            continue;
        };
        if matches!(p.status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            continue;
        }
        let ports: Vec<(String, u16, String)> = s
            .spec
            .ports
            .iter()
            .filter_map(|sp| Some((sp.name.clone(), find_port(p, sp)?, sp.protocol.clone())))
            .collect();
        let serving = is_pod_ready(p);
        let ready = s.spec.publish_not_ready_addresses || serving;
        let node = p.spec.node_name.as_deref().and_then(|n| c.node(n));
        groups.entry(ports).or_default().push(Endpoint {
            addresses: vec![ip],
            conditions: EndpointConditions {
                ready: Some(ready),
                serving: Some(serving),
                terminating: Some(false),
            },
            node_name: p.spec.node_name.clone(),
            zone: node.and_then(|n| {
                n.metadata
                    .labels
                    .get("topology.kubernetes.io/zone")
                    .cloned()
            }),
        });
    }
    if groups.is_empty() {
        // the placeholder slice: no endpoints, no ports
        groups.insert(Vec::new(), Vec::new());
    }
    for (ports, eps) in groups {
        let chunks: Vec<Vec<Endpoint>> = if eps.is_empty() {
            vec![Vec::new()]
        } else {
            eps.chunks(MAX_ENDPOINTS_PER_SLICE)
                .map(<[Endpoint]>::to_vec)
                .collect()
        };
        for endpoints in chunks {
            let name = slice_name(ns, &s.metadata.name, out.len());
            out.push(EndpointSlice {
                metadata: ObjectMeta {
                    name,
                    namespace: Some(ns.to_string()),
                    labels: BTreeMap::from([
                        (SERVICE_NAME_LABEL.to_string(), s.metadata.name.clone()),
                        (
                            "endpointslice.kubernetes.io/managed-by".to_string(),
                            MANAGED_BY.to_string(),
                        ),
                    ]),
                    line: s.metadata.line,
                    ..Default::default()
                },
                address_type: if v6 { "IPv6" } else { "IPv4" }.into(),
                endpoints,
                ports: ports
                    .iter()
                    .map(|(name, port, protocol)| EndpointPort {
                        name: Some(name.clone()),
                        port: Some(*port),
                        protocol: protocol.clone(),
                    })
                    .collect(),
            });
        }
    }
}

impl Cluster {
    /// The controller's pass over every Service: a Service with a selector
    /// and no EndpointSlice gets the controller's, and one whose slices it
    /// wrote before gets them written again (the pods may have changed).
    pub fn reconcile_endpoint_slices(&mut self) {
        let mut given: std::collections::BTreeSet<(String, String)> = Default::default();
        for sl in &self.slices {
            if let Some(svc) = sl.metadata.labels.get(SERVICE_NAME_LABEL) {
                given.insert((sl.metadata.ns().to_string(), svc.clone()));
            }
        }
        let mut written = Vec::new();
        for s in self.services.iter().filter(|s| manages(s)) {
            let key = (s.metadata.ns().to_string(), s.metadata.name.clone());
            if self.controller_services.contains(&key) || !given.contains(&key) {
                written.push((key, slices_for(self, s)));
            }
        }
        for (key, slices) in written {
            self.slices.retain(|sl| {
                !(sl.metadata.ns() == key.0
                    && sl.metadata.labels.get(SERVICE_NAME_LABEL) == Some(&key.1))
            });
            self.slices.extend(slices);
            self.controller_services.insert(key);
        }
        let key = |m: &ObjectMeta| (m.ns().to_string(), m.name.clone());
        self.slices.sort_by_key(|s| key(&s.metadata));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(yaml: &str) -> Cluster {
        Cluster::from_text(yaml, "test.yaml").expect("valid")
    }

    const PODS: &str = r#"
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {topology.kubernetes.io/zone: zone-1}}
spec: {podCIDR: 10.244.1.0/24}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
spec: {podCIDR: 10.244.2.0/24}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: shop, labels: {app: web}}
spec:
  nodeName: node-b
  containers: [{name: c, ports: [{name: web, containerPort: 9090}]}]
status:
  podIP: 10.244.2.7
  conditions: [{type: Ready, status: "False"}]
---
apiVersion: v1
kind: Pod
metadata: {name: done, namespace: shop, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.244.1.9, phase: Succeeded}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec:
  nodeName: node-a
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.244.1.6}
"#;

    fn with_service(svc: &str) -> Cluster {
        cluster(&format!("{PODS}---\n{svc}"))
    }

    #[test]
    fn named_target_port_groups_pods_by_their_ports() {
        let c = with_service(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: web}\n  ports: [{name: h, port: 80, targetPort: http}]\n",
        );
        assert!(c
            .controller_services
            .contains(&("shop".into(), "web".into())));
        assert_eq!(c.slices.len(), 2, "{:#?}", c.slices);
        // web-1 has a port named http: 8080; web-2 has none (no port)
        let with: Vec<&EndpointSlice> = c.slices.iter().filter(|s| !s.ports.is_empty()).collect();
        assert_eq!(with.len(), 1);
        assert_eq!(with[0].ports[0].port, Some(8080));
        assert_eq!(with[0].endpoints[0].addresses, vec!["10.244.1.5"]);
        assert_eq!(with[0].endpoints[0].conditions.ready, Some(true));
        assert_eq!(with[0].endpoints[0].node_name.as_deref(), Some("node-a"));
        assert_eq!(with[0].endpoints[0].zone.as_deref(), Some("zone-1"));
        let without = c.slices.iter().find(|s| s.ports.is_empty()).unwrap();
        assert_eq!(without.endpoints[0].addresses, vec!["10.244.2.7"]);
        assert_eq!(without.endpoints[0].conditions.ready, Some(false));
        assert!(c.slices.iter().all(|s| s.metadata.name.starts_with("web-")
            && s.metadata.name.len() == 9
            && s.metadata.labels["endpointslice.kubernetes.io/managed-by"] == MANAGED_BY));
    }

    #[test]
    fn numeric_target_port_is_used_as_given_and_terminal_pods_are_left_out() {
        let c = with_service(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: web}\n  publishNotReadyAddresses: true\n  ports: [{port: 80, targetPort: 7777}]\n",
        );
        assert_eq!(c.slices.len(), 1);
        let s = &c.slices[0];
        assert_eq!(s.ports[0].port, Some(7777));
        let ips: Vec<&str> = s
            .endpoints
            .iter()
            .map(|e| e.addresses[0].as_str())
            .collect();
        assert_eq!(ips, vec!["10.244.1.5", "10.244.2.7"]);
        // publishNotReadyAddresses: ready though not serving
        assert_eq!(s.endpoints[1].conditions.ready, Some(true));
        assert_eq!(s.endpoints[1].conditions.serving, Some(false));
    }

    #[test]
    fn no_pod_selected_gives_the_placeholder_and_given_slices_are_kept() {
        let c = with_service(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: wbe}\n  ports: [{port: 80}]\n",
        );
        assert_eq!(c.slices.len(), 1);
        assert!(c.slices[0].endpoints.is_empty() && c.slices[0].ports.is_empty());
        let given = with_service(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: web}\n  ports: [{port: 80}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-given, namespace: shop, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nendpoints: [{addresses: [10.244.1.6]}]\nports: [{name: \"\", port: 8080}]\n",
        );
        assert_eq!(given.slices.len(), 1);
        assert_eq!(given.slices[0].metadata.name, "web-given");
        assert!(given.controller_services.is_empty());
    }

    #[test]
    fn a_label_change_moves_the_pod_in_or_out() {
        let mut c = with_service(
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  clusterIP: 10.96.0.10\n  selector: {app: db}\n  ports: [{port: 80}]\n",
        );
        assert_eq!(c.slices[0].endpoints.len(), 1);
        let p = c.pods.iter_mut().find(|p| p.metadata.name == "db").unwrap();
        p.metadata.labels.insert("app".into(), "other".into());
        c.reconcile_endpoint_slices();
        assert_eq!(c.slices.len(), 1);
        assert!(c.slices[0].endpoints.is_empty());
    }
}
