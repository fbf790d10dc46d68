//! What every API object shares: its metadata, and the error that names an
//! object and one of its fields.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// An inconsistency in the objects, naming the object and the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct K8sError {
    /// `Service default/web`, `EndpointSlice default/web-abc12`, ...
    pub object: String,
    /// `spec.ports[0].name`
    pub field: String,
    pub message: String,
    /// Line in the manifests text, when known (1-based; 0: unknown).
    pub line: usize,
}

impl fmt::Display for K8sError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.object, self.field, self.message)
    }
}

/// An error about an object, at the line where the object starts.
pub(super) fn err_at(
    meta: &ObjectMeta,
    object: String,
    field: impl Into<String>,
    message: impl Into<String>,
) -> K8sError {
    K8sError {
        line: meta.line,
        ..err(object, field, message)
    }
}

pub(super) fn err(
    object: String,
    field: impl Into<String>,
    message: impl Into<String>,
) -> K8sError {
    K8sError {
        object,
        field: field.into(),
        message: message.into(),
        line: 0,
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The line of the manifests where the object starts (0: unknown), for
    /// errors that name it.
    #[serde(skip)]
    pub line: usize,
}

impl ObjectMeta {
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}
