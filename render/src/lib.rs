//! podpath-render: the trace as text and JSON.
//!
//! Renderers read only the [`Trace`]; they never run the simulation again.

pub mod json;
pub mod text;

pub use podpath_sim::trace::Trace;
