//! podpath-render: the trace as text, JSON, pcapng, sequence diagrams
//! (Mermaid, PlantUML, SVG, ASCII), a topology picture and a self-contained
//! HTML report.
//!
//! Renderers read only the [`Trace`]; they never run the simulation again.

pub mod html;
pub mod json;
pub mod pcapng;
pub mod seq;
pub mod text;
pub mod topo;

pub use podpath_sim::trace::Trace;
pub mod summary;
