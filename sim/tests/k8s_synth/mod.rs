//! A synthetic cluster as `kubectl get -A -o json` (or `-o yaml`) prints
//! it, generated from a seed: `nodes` Nodes, `pods` Pods spread over them,
//! `services` Services each with one EndpointSlice of its pods, plus the
//! objects a real dump also holds that podpath does not use (a Deployment
//! and a ReplicaSet per Service, a ConfigMap and a Secret per namespace, a
//! ServiceAccount per namespace). Objects carry the fields kubectl prints
//! (uid, resourceVersion, managedFields, conditions, container statuses,
//! a node's images), so the parser reads what a real dump makes it read.
//!
//! Addresses: nodes 172.16.0.0/16 (node `i` at 172.16.i/250.i%250+2), pod
//! CIDRs /24s of 10.128.0.0/10, ClusterIPs from 10.96.1.1 in 10.96.0.0/12.
//! Used by `sim/tests/k8s_scale.rs` and `sim/benches/k8s.rs`.
#![allow(dead_code)]

use serde_json::{json, Value};

/// The shape of the cluster.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub nodes: usize,
    pub pods: usize,
    pub services: usize,
    pub seed: u64,
}

/// splitmix64: a seeded sequence (no wall clock, no global state).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn hex(&mut self, len: usize) -> String {
        let v = self.next();
        format!("{v:016x}")[..len].to_string()
    }
    fn uid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

pub fn node_name(i: usize) -> String {
    format!("node-{i:04}")
}

pub fn node_ip(i: usize) -> String {
    format!("172.16.{}.{}", i / 250, i % 250 + 2)
}

fn pod_cidr(i: usize) -> String {
    format!("10.{}.{}.0/24", 128 + i / 256, i % 256)
}

/// Pod `j`'s node, address, Service and name.
pub fn pod_node(shape: &Shape, j: usize) -> usize {
    j % shape.nodes
}

pub fn pod_ip(shape: &Shape, j: usize) -> String {
    let n = pod_node(shape, j);
    let k = j / shape.nodes;
    format!("10.{}.{}.{}", 128 + n / 256, n % 256, k + 2)
}

pub fn pod_service(shape: &Shape, j: usize) -> usize {
    j % shape.services
}

pub fn pod_name(j: usize) -> String {
    format!("web-{j:05}")
}

pub fn namespace(s: usize) -> String {
    format!("ns-{:02}", s % 20)
}

pub fn cluster_ip(s: usize) -> String {
    format!("10.96.{}.{}", 1 + s / 250, s % 250 + 1)
}

fn managed(manager: &str, fields: Value) -> Value {
    json!([{
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": "Update",
        "time": "2026-11-30T10:00:00Z"
    }])
}

fn node(i: usize, r: &mut Rng) -> Value {
    let images: Vec<Value> = (0..8)
        .map(|k| {
            json!({
                "names": [format!("registry.k8s.io/image-{k}@sha256:{}{}", r.hex(16), r.hex(16)), format!("registry.k8s.io/image-{k}:v1.{k}")],
                "sizeBytes": 10_000_000 + k * 1000
            })
        })
        .collect();
    let cond = |t: &str, s: &str| json!({"lastHeartbeatTime": "2026-12-01T10:00:00Z", "lastTransitionTime": "2026-11-30T10:00:00Z", "message": format!("kubelet reports {t}"), "reason": format!("Kubelet{t}"), "status": s, "type": t});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
            "creationTimestamp": "2026-11-30T10:00:00Z",
            "labels": {"kubernetes.io/hostname": node_name(i), "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": format!("zone-{}", i % 3)},
            "managedFields": managed("kubelet", json!({"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/hostname": {}}}, "f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {"f:status": {}}}}})),
            "name": node_name(i),
            "resourceVersion": format!("{}", 1000 + i),
            "uid": r.uid()
        },
        "spec": {"podCIDR": pod_cidr(i), "podCIDRs": [pod_cidr(i)], "providerID": format!("kind://docker/kind/{}", node_name(i))},
        "status": {
            "addresses": [{"address": node_ip(i), "type": "InternalIP"}, {"address": node_name(i), "type": "Hostname"}],
            "allocatable": {"cpu": "8", "ephemeral-storage": "100Gi", "memory": "32Gi", "pods": "110"},
            "capacity": {"cpu": "8", "ephemeral-storage": "100Gi", "memory": "32Gi", "pods": "110"},
            "conditions": [cond("MemoryPressure", "False"), cond("DiskPressure", "False"), cond("PIDPressure", "False"), cond("Ready", "True")],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.18", "kernelVersion": "6.1.0", "kubeProxyVersion": "v1.30.0", "kubeletVersion": "v1.30.0", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)"}
        }
    })
}

fn pod(shape: &Shape, j: usize, r: &mut Rng) -> Value {
    let s = pod_service(shape, j);
    let n = pod_node(shape, j);
    let hash = r.hex(10);
    let cond = |t: &str| json!({"lastProbeTime": null, "lastTransitionTime": "2026-11-30T10:00:00Z", "status": "True", "type": t});
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "creationTimestamp": "2026-11-30T10:00:00Z",
            "generateName": format!("svc-{s}-{hash}-"),
            "labels": {"app": format!("svc-{s}"), "pod-template-hash": hash},
            "managedFields": managed("kube-controller-manager", json!({"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}}, "f:ownerReferences": {}}, "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:ports": {}}}}})),
            "name": pod_name(j),
            "namespace": namespace(s),
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true, "kind": "ReplicaSet", "name": format!("svc-{s}-{hash}"), "uid": r.uid()}],
            "resourceVersion": format!("{}", 5000 + j),
            "uid": r.uid()
        },
        "spec": {
            "containers": [{
                "image": "registry.k8s.io/e2e-test-images/agnhost:2.45",
                "imagePullPolicy": "IfNotPresent",
                "name": "web",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "10m", "memory": "64Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": format!("kube-api-access-{}", r.hex(5)), "readOnly": true}]
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "nodeName": node_name(n),
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}]
        },
        "status": {
            "conditions": [cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
            "containerStatuses": [{"containerID": format!("containerd://{}{}", r.hex(16), r.hex(16)), "image": "registry.k8s.io/e2e-test-images/agnhost:2.45", "imageID": format!("registry.k8s.io/e2e-test-images/agnhost@sha256:{}", r.hex(16)), "lastState": {}, "name": "web", "ready": true, "restartCount": 0, "started": true, "state": {"running": {"startedAt": "2026-11-30T10:00:05Z"}}}],
            "hostIP": node_ip(n),
            "phase": "Running",
            "podIP": pod_ip(shape, j),
            "podIPs": [{"ip": pod_ip(shape, j)}],
            "qosClass": "Burstable",
            "startTime": "2026-11-30T10:00:00Z"
        }
    })
}

fn service(s: usize, r: &mut Rng) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"creationTimestamp": "2026-11-30T10:00:00Z", "labels": {"app": format!("svc-{s}")}, "name": format!("svc-{s}"), "namespace": namespace(s), "resourceVersion": format!("{}", 100 + s), "uid": r.uid()},
        "spec": {
            "clusterIP": cluster_ip(s),
            "clusterIPs": [cluster_ip(s)],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app": format!("svc-{s}")},
            "sessionAffinity": "None",
            "type": "ClusterIP"
        },
        "status": {"loadBalancer": {}}
    })
}

fn slice(shape: &Shape, s: usize, r: &mut Rng) -> Value {
    // the pods of Service s are s, s+S, s+2S...
    let eps: Vec<Value> = (s..shape.pods)
        .step_by(shape.services.max(1))
        .map(|j| {
            json!({
                "addresses": [pod_ip(shape, j)],
                "conditions": {"ready": true, "serving": true, "terminating": false},
                "nodeName": node_name(pod_node(shape, j)),
                "targetRef": {"kind": "Pod", "name": pod_name(j), "namespace": namespace(s), "uid": r.uid()},
                "zone": format!("zone-{}", pod_node(shape, j) % 3)
            })
        })
        .collect();
    json!({
        "addressType": "IPv4",
        "apiVersion": "discovery.k8s.io/v1",
        "endpoints": eps,
        "kind": "EndpointSlice",
        "metadata": {
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2026-11-30T10:00:10Z"},
            "generateName": format!("svc-{s}-"),
            "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io", "kubernetes.io/service-name": format!("svc-{s}")},
            "name": format!("svc-{s}-{}", r.hex(5)),
            "namespace": namespace(s),
            "resourceVersion": format!("{}", 20000 + s),
            "uid": r.uid()
        },
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
    })
}

/// The objects podpath does not use, by kind: a Deployment and a
/// ReplicaSet per Service, a ConfigMap, a Secret and a ServiceAccount per
/// namespace.
fn unused(shape: &Shape, r: &mut Rng) -> Vec<Value> {
    let mut out = Vec::new();
    for s in 0..shape.services {
        for kind in ["Deployment", "ReplicaSet"] {
            out.push(json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": format!("svc-{s}"), "namespace": namespace(s), "uid": r.uid()}, "spec": {"replicas": 10, "selector": {"matchLabels": {"app": format!("svc-{s}")}}}}));
        }
    }
    for ns in 0..shape.services.min(20) {
        let ns = namespace(ns);
        out.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": ns}, "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"}}));
        out.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-token", "namespace": ns}, "type": "Opaque", "data": {"token": "c2VjcmV0"}}));
        out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}));
    }
    out
}

/// How many objects [`unused`] makes, by kind.
pub fn unused_counts(shape: &Shape) -> Vec<(&'static str, usize)> {
    let ns = shape.services.min(20);
    vec![
        ("Deployment", shape.services),
        ("ReplicaSet", shape.services),
        ("ConfigMap", ns),
        ("Secret", ns),
        ("ServiceAccount", ns),
    ]
}

/// The cluster as kubectl's `kind: List`.
pub fn list(shape: &Shape) -> Value {
    let mut r = Rng(shape.seed);
    let mut items = Vec::new();
    for i in 0..shape.nodes {
        items.push(node(i, &mut r));
    }
    for j in 0..shape.pods {
        items.push(pod(shape, j, &mut r));
    }
    for s in 0..shape.services {
        items.push(service(s, &mut r));
    }
    for s in 0..shape.services {
        items.push(slice(shape, s, &mut r));
    }
    items.extend(unused(shape, &mut r));
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// `kubectl get -A -o json`: indented by 4 spaces, as kubectl prints.
pub fn json_text(shape: &Shape) -> String {
    let mut out = Vec::new();
    let f = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, f);
    serde::Serialize::serialize(&list(shape), &mut ser).expect("a Value serializes");
    out.push(b'\n');
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// `kubectl get -A -o yaml`.
pub fn yaml_text(shape: &Shape) -> String {
    serde_saphyr::to_string(&list(shape)).expect("a Value serializes")
}

/// A scenario of the cluster (CNI `cni`, kube-proxy iptables) with
/// `flows` HTTP GETs, each from a pod (picked from the seed) to a
/// Service's ClusterIP, one after another 1 ms apart. `manifests` is the
/// cluster's text (JSON or YAML).
pub fn scenario(shape: &Shape, manifests: &str, flows: usize) -> String {
    scenario_with(shape, "flannel-vxlan", manifests, flows)
}

/// [`scenario`] under CNI `cni` (`calico-bgp`, `kindnet`...).
pub fn scenario_with(shape: &Shape, cni: &str, manifests: &str, flows: usize) -> String {
    let mut r = Rng(shape.seed ^ 0x5eed);
    let mut s = String::new();
    s.push_str(
        "apiVersion: podpath/v1\nkind: Scenario\nmetadata: {name: synthetic-cluster}\nseed: 1\n",
    );
    s.push_str(&format!("cluster:\n  cni: {cni}\n"));
    s.push_str("  clusterCIDR: 10.128.0.0/10\n  nodeNetwork: 172.16.0.0/16\n  manifests: |\n");
    for l in manifests.lines() {
        s.push_str("    ");
        s.push_str(l);
        s.push('\n');
    }
    s.push_str("traffic:\n");
    for f in 0..flows {
        let from = pod_name(r.below(shape.pods));
        let to = cluster_ip(r.below(shape.services));
        s.push_str(&format!(
            "  - {{id: f{f}, from: {from}, http: {{get: \"http://{to}/\"}}, start: {}ms}}\n",
            f + 1
        ));
    }
    s
}

/// `n` policies over the synthetic cluster's namespaces (`ns-00`..`ns-19`)
/// and apps (`svc-S`): each selects one app's pods and admits 8080 from
/// two other apps of any namespace labelled `team`, from its own
/// namespace, and from an ipBlock; every fifth also limits the app's
/// egress to its namespace.
pub fn policies(shape: &Shape, n: usize) -> Vec<serde_json::Value> {
    let mut v = Vec::new();
    for ns in 0..20 {
        v.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": format!("ns-{ns:02}"), "labels": {"team": format!("t{}", ns % 4)}}}));
    }
    for k in 0..n {
        let s = k % shape.services;
        let mut types = vec!["Ingress"];
        let mut spec = json!({
            "podSelector": {"matchLabels": {"app": format!("svc-{s}")}},
            "ingress": [
                {"from": [
                    {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["t0", "t1"]}]},
                     "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": [format!("svc-{}", (s + 1) % shape.services), format!("svc-{}", (s + 7) % shape.services)]}]}},
                    {"podSelector": {}},
                    {"ipBlock": {"cidr": "10.128.0.0/16", "except": ["10.128.3.0/24"]}}
                 ],
                 "ports": [{"port": "http"}, {"port": 9000, "endPort": 9100}]}
            ]
        });
        if k % 5 == 0 {
            types.push("Egress");
            spec["egress"] = json!([{"to": [{"podSelector": {}}]}]);
        }
        spec["policyTypes"] = json!(types);
        v.push(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": format!("pol-{k:02}"), "namespace": namespace(s)},
            "spec": spec}),
        );
    }
    v
}

/// `podpath reach`'s setup of the synthetic cluster with `npol` policies
/// ([`policies`]) under calico-bgp; `world`: the world built too (the sim
/// engine's).
pub fn reach_setup(shape: &Shape, npol: usize, world: bool) -> podpath_sim::k8s::reach::Setup {
    let mut list = list(shape);
    if let Some(items) = list["items"].as_array_mut() {
        items.extend(policies(shape, npol));
    }
    let text = scenario_with(
        shape,
        "calico-bgp",
        &serde_json::to_string_pretty(&list).unwrap(),
        1,
    );
    let doc = podpath_sim::scenario::parse(&text, "cluster.yaml").unwrap();
    let (cluster, net) =
        podpath_sim::scenario::cluster_of(doc.cluster.as_ref().unwrap(), "cluster.yaml").unwrap();
    assert_eq!(cluster.network_policies.len(), npol);
    let world = world.then(|| podpath_sim::scenario::load(&text, "cluster.yaml", None).unwrap());
    podpath_sim::k8s::reach::Setup::new(&cluster, &net, world)
}
