//! podpath-sim: the model and the engine.
//!
//! A deterministic packet-level simulator of Kubernetes traffic paths. Hosts run
//! a Linux-equivalent stack ([`net`]) over real frame bytes ([`wire`]); the
//! [`engine`] moves frames between them on a virtual clock and records a
//! [`trace::Trace`], the one output of a run. Nothing here writes files, reads
//! the wall clock or knows about output formats.

pub mod app;
pub mod det;
pub mod engine;
pub mod k8s;
pub mod net;
pub mod scenario;
pub mod shared;
pub mod topo;
pub mod trace;
pub mod wire;
pub mod world;
pub mod yaml;
