//! The Kubernetes layer: the API objects users already have (`kubectl get -o
//! yaml` of Services, EndpointSlices, Pods, Nodes) and the kernel state the
//! real components program from them.
//!
//! - [`objects`]: the subset of the API the data path depends on, read from
//!   multi-document YAML (unknown fields are ignored, as `kubectl apply`
//!   ignores status and managed fields), with consistency checks whose errors
//!   name the object and the field.
//! - [`load`]: reading them from `kubectl get -o yaml|json` (or manifests),
//!   within a ceiling, kinds podpath does not use skipped and counted.
//! - [`ipalloc`]: the API server's ClusterIP allocation, for a Service
//!   without one (and the families of a dual-stack one).
//! - [`endpointslice`]: the EndpointSlice controller, for a Service with a
//!   selector and no EndpointSlice given.
//! - [`kubeproxy`]: kube-proxy's iptables mode, rule for rule
//!   (`pkg/proxy/iptables/proxier.go`, the 1.28 layout).

pub mod calico;
pub mod cluster;
pub mod endpointslice;
pub mod ingress;
pub mod ipalloc;
pub mod kindnet_policy;
pub mod kubeproxy;
pub mod kubeproxy_nft;
pub mod load;
pub mod meta;
pub mod netpol;
pub mod objects;
pub mod reach;

pub use objects::{Cluster, K8sError};
