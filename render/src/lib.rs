//! podpath-render: the trace as text, JSON, pcapng and sequence diagrams
//! (Mermaid, PlantUML).
//!
//! Renderers read only the [`Trace`]; they never run the simulation again.

pub mod json;
pub mod pcapng;
pub mod seq;
pub mod text;

pub use podpath_sim::trace::Trace;
