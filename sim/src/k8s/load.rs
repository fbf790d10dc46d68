//! Reading a cluster's objects from text: what `kubectl get -A -o yaml`
//! or `-o json` prints (a `kind: List` with `items`; API list kinds such as
//! `PodList` too), or manifests (YAML documents separated by `---`, or a
//! stream of JSON objects). The format is told by the content: JSON when
//! the first character that is not blank is `{`, YAML otherwise (JSON is
//! also YAML, but reading it as JSON is faster and its errors clearer).
//!
//! - Within a ceiling ([`crate::yaml::Limits`]: 1 GiB and 100 million YAML
//!   nodes per document by default) past which the text is refused with a
//!   message naming the file and the limit. A cluster of 1,000 nodes and
//!   10,000 pods is far below it (`sim/tests/k8s_scale.rs`).
//! - Objects of kinds podpath does not use (ConfigMap, Secret, Deployment,
//!   a CRD's kind...) are skipped and counted by kind in
//!   [`Cluster::skipped`] ([`Cluster::skipped_warning`] says it in a line).
//! - Each object is read straight into its type (YAML: its kind is read
//!   first, then the document again with the kind known; JSON: each item
//!   is kept as raw text, its kind read, then the item), so nothing but the
//!   fields podpath uses is held in memory, whatever the file's size.

use std::fmt;

use serde::Deserialize;

use super::netpol::{Namespace, NetworkPolicy};
use super::objects::{err, Cluster, EndpointSlice, Ingress, K8sError, Node, Pod, Service};
use crate::yaml::Limits;

/// `List`, or an API list kind (`PodList`, `ServiceList`...): unpacked.
fn is_list(kind: &str) -> bool {
    kind.ends_with("List")
}

#[derive(Deserialize)]
struct NameOnly {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct KindOnly {
    #[serde(default, rename = "apiVersion")]
    api_version: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    kind: Option<serde_saphyr::Spanned<String>>,
    #[serde(default, rename = "metadata")]
    name: Option<serde_saphyr::Spanned<NameOnly>>,
    #[serde(default)]
    items: Vec<KindOnly>,
}

impl KindOnly {
    fn kind(&self) -> Option<&str> {
        self.kind.as_ref().map(|k| k.value.as_str())
    }

    /// The first line of the object within its document (1-based; 0 when
    /// unknown): the earliest of its apiVersion, kind and metadata.
    fn first_line(&self) -> usize {
        let lines = [
            self.api_version.as_ref().map(|s| s.referenced.line()),
            self.kind.as_ref().map(|s| s.referenced.line()),
            self.name
                .as_ref()
                .map(|s| s.referenced.line().saturating_sub(1)),
        ];
        lines
            .into_iter()
            .flatten()
            .filter(|l| *l > 0)
            .min()
            .unwrap_or(0) as usize
    }
}

/// Sets each object's `metadata.line` (a line of the whole manifests text)
/// from the spans read for it; a List's items each get their own.
fn set_lines(o: &mut Object, k: &KindOnly, start: usize) {
    let line = match k.first_line() {
        0 => start,
        l => start + l - 1,
    };
    match o {
        Object::Service(x) => x.metadata.line = line,
        Object::EndpointSlice(x) => x.metadata.line = line,
        Object::Pod(x) => x.metadata.line = line,
        Object::Node(x) => x.metadata.line = line,
        Object::Ingress(x) => x.metadata.line = line,
        Object::NetworkPolicy(x) => x.metadata.line = line,
        Object::Namespace(x) => x.metadata.line = line,
        Object::List(l) => {
            for (o, k) in l.items.iter_mut().zip(&k.items) {
                set_lines(o, k, start);
            }
        }
        Object::Other(_) => {}
    }
}

/// One manifest document.
///
/// Read by kind without buffering the document (see [`ObjectSeed`]): a
/// buffered (internally tagged) read would infer types from the text, so
/// `namespace: on` would be a boolean; read straight into its typed object,
/// a scalar in a string field is that string, as kubectl's YAML reader
/// converts by the target type (sigs.k8s.io/yaml `convertToJSONableObject`).
#[derive(Clone, Debug)]
pub enum Object {
    Service(Service),
    EndpointSlice(EndpointSlice),
    Pod(Pod),
    Node(Node),
    Ingress(Ingress),
    NetworkPolicy(NetworkPolicy),
    Namespace(Namespace),
    List(ObjectList),
    /// An object of a kind podpath does not use (its kind).
    Other(String),
}

#[derive(Clone, Debug)]
pub struct ObjectList {
    pub items: Vec<Object>,
}

/// Reads one object whose kind (and, for a List, its items' kinds) was
/// read first, straight into its type.
struct ObjectSeed<'a>(&'a KindOnly);

impl<'de> serde::de::DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Object;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Object, D::Error> {
        Ok(match self.0.kind() {
            Some("Service") => Object::Service(Service::deserialize(d)?),
            Some("EndpointSlice") => Object::EndpointSlice(EndpointSlice::deserialize(d)?),
            Some("Pod") => Object::Pod(Pod::deserialize(d)?),
            Some("Node") => Object::Node(Node::deserialize(d)?),
            Some("Ingress") => Object::Ingress(Ingress::deserialize(d)?),
            Some("NetworkPolicy") => Object::NetworkPolicy(NetworkPolicy::deserialize(d)?),
            Some("Namespace") => Object::Namespace(Namespace::deserialize(d)?),
            Some(k) if is_list(k) => Object::List(ObjectList {
                items: d.deserialize_map(ListVisitor(self.0))?,
            }),
            k => {
                serde::de::IgnoredAny::deserialize(d)?;
                Object::Other(k.unwrap_or("").to_string())
            }
        })
    }
}

/// A List's fields: its `items`, each read with its own kind.
struct ListVisitor<'a>(&'a KindOnly);

impl<'de> serde::de::Visitor<'de> for ListVisitor<'_> {
    type Value = Vec<Object>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a List object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Vec<Object>, A::Error> {
        let mut items = Vec::new();
        while let Some(k) = m.next_key::<String>()? {
            if k == "items" {
                items = m.next_value_seed(ItemsSeed(self.0))?;
            } else {
                m.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(items)
    }
}

struct ItemsSeed<'a>(&'a KindOnly);

impl<'de> serde::de::DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = Vec<Object>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ItemsSeed<'_> {
    type Value = Vec<Object>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_unit<E>(self) -> Result<Vec<Object>, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut q: A) -> Result<Vec<Object>, A::Error> {
        let mut out = Vec::new();
        let mut kinds = self.0.items.iter();
        loop {
            let Some(k) = kinds.next() else {
                // no more kinds read: anything left is skipped
                while q.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                break;
            };
            match q.next_element_seed(ObjectSeed(k))? {
                Some(o) => out.push(o),
                None => break,
            }
        }
        Ok(out)
    }
}

impl Cluster {
    /// Reads the objects of `text` (YAML or JSON, told by the content; see
    /// the module's doc) within the default ceiling. `file` names the input
    /// in errors.
    pub fn from_text(text: &str, file: &str) -> Result<Cluster, K8sError> {
        Self::from_text_within(text, file, &Limits::DEFAULT)
    }

    /// The same as [`Cluster::from_text`] (the name it had when it read
    /// only YAML).
    pub fn from_yaml(text: &str, file: &str) -> Result<Cluster, K8sError> {
        Self::from_text(text, file)
    }

    /// [`Cluster::from_text`] within the ceiling `limits`.
    pub fn from_text_within(text: &str, file: &str, limits: &Limits) -> Result<Cluster, K8sError> {
        if let Some(m) = limits.size_message(text.len()) {
            return Err(err(file.to_string(), "size", m));
        }
        let objects = if looks_like_json(text) {
            json_objects(text, file)?
        } else {
            yaml_objects(text, file, limits)?
        };
        let mut c = Cluster::default();
        fn add(c: &mut Cluster, o: Object) {
            match o {
                Object::Service(s) => c.services.push(s),
                Object::EndpointSlice(s) => c.slices.push(s),
                Object::Pod(p) => c.pods.push(p),
                Object::Node(n) => c.nodes.push(n),
                Object::Ingress(i) => c.ingresses.push(i),
                Object::NetworkPolicy(p) => c.network_policies.push(p),
                Object::Namespace(n) => c.namespaces.push(n),
                Object::List(l) => l.items.into_iter().for_each(|o| add(c, o)),
                Object::Other(k) => *c.skipped.entry(k).or_default() += 1,
            }
        }
        for o in objects {
            add(&mut c, o);
        }
        c.sort();
        // kube-controller-manager writes the slices of a Service with a
        // selector the manifests give none for
        c.reconcile_endpoint_slices();
        c.validate()?;
        Ok(c)
    }
}

/// JSON when the first character that is not blank (nor a BOM) is `{`.
fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .starts_with('{')
}

/// The YAML documents of `text` (`---` separated), each with the line it
/// starts at.
fn yaml_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs: Vec<(usize, String)> = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push((i + 2, String::new()));
        } else if let Some((_, d)) = docs.last_mut() {
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.retain(|(_, d)| {
        !d.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        })
    });
    docs
}

/// Every object of YAML `text`, one document at a time, so an error can
/// name the document's line and object even when the YAML library gives
/// no location.
fn yaml_objects(text: &str, file: &str, limits: &Limits) -> Result<Vec<Object>, K8sError> {
    let mut objects: Vec<Object> = Vec::new();
    for (start, doc) in yaml_documents(text) {
        let yaml_err = |e: serde_saphyr::Error, what: &str| {
            let rel = e.location().map(|l| l.line() as usize).unwrap_or(0);
            let line = start + rel.saturating_sub(1);
            match limits.breach_message(&e) {
                Some(m) => K8sError {
                    object: format!("{file} (the document at line {start})"),
                    field: "size".into(),
                    message: m,
                    line: start,
                },
                None => K8sError {
                    object: what.to_string(),
                    field: "YAML".into(),
                    message: crate::yaml::message(&e),
                    line,
                },
            }
        };
        let k: KindOnly = serde_saphyr::from_str_with_options(&doc, limits.options())
            .map_err(|e| yaml_err(e, &format!("the document at {file} line {start}")))?;
        check(&k, start)?;
        let what = format!(
            "{} {} (document at line {start})",
            k.kind().unwrap_or("?"),
            k.name
                .as_ref()
                .map(|m| m.value.name.as_str())
                .unwrap_or("?")
        );
        let mut o =
            serde_saphyr::with_deserializer_from_str_with_options(&doc, limits.options(), |de| {
                use serde::de::DeserializeSeed;
                ObjectSeed(&k).deserialize(de)
            })
            .map_err(|e| yaml_err(e, &what))?;
        set_lines(&mut o, &k, start);
        objects.push(o);
    }
    Ok(objects)
}

/// Every object names its kind (a List's items too).
fn check(k: &KindOnly, start: usize) -> Result<(), K8sError> {
    match k.kind() {
        None => {
            let mut x = err(
                format!("the document at line {start}"),
                "kind",
                "missing: every object names its kind",
            );
            x.line = start;
            Err(x)
        }
        Some(l) if is_list(l) => k.items.iter().try_for_each(|x| check(x, start)),
        Some(_) => Ok(()),
    }
}

/// A JSON object's kind and, for a List, its items as raw text.
#[derive(Deserialize)]
struct JsonPeek<'a> {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<NameOnly>,
    #[serde(default, borrow)]
    items: Option<Vec<&'a serde_json::value::RawValue>>,
}

/// The 1-based line of byte `offset`, counted on from a cursor (offsets
/// come in increasing order, so the text is scanned once).
struct LineCursor<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl LineCursor<'_> {
    fn line_at(&mut self, offset: usize) -> usize {
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let end = offset.min(self.text.len());
        self.line += self.text.as_bytes()[self.offset..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = end;
        self.line
    }
}

/// Every object of JSON `text`: one object (a List or not) or a stream of
/// them, as `kubectl get -o json` prints.
fn json_objects(text: &str, file: &str) -> Result<Vec<Object>, K8sError> {
    let mut cur = LineCursor {
        text,
        offset: 0,
        line: 1,
    };
    let mut out = Vec::new();
    let stream =
        serde_json::Deserializer::from_str(text).into_iter::<&serde_json::value::RawValue>();
    for raw in stream {
        let raw = raw.map_err(|e| json_err(&e, file.to_string(), 1))?;
        out.push(json_object(text, raw.get(), file, &mut cur)?);
    }
    Ok(out)
}

/// The byte offset of `part` (a slice of `text`) in `text`.
fn offset_in(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// One JSON object (raw text `raw`, a slice of `text`) read into its type.
fn json_object(
    text: &str,
    raw: &str,
    file: &str,
    cur: &mut LineCursor,
) -> Result<Object, K8sError> {
    let line = cur.line_at(offset_in(text, raw));
    let peek: JsonPeek = serde_json::from_str(raw)
        .map_err(|e| json_err(&e, format!("the object at {file} line {line}"), line))?;
    let Some(kind) = peek.kind.as_deref() else {
        let mut x = err(
            format!("the object at line {line}"),
            "kind",
            "missing: every object names its kind",
        );
        x.line = line;
        return Err(x);
    };
    let what = format!(
        "{kind} {} (object at line {line})",
        peek.metadata
            .as_ref()
            .map(|m| m.name.as_str())
            .unwrap_or("?")
    );
    fn typed<'a, T: Deserialize<'a>>(raw: &'a str, what: &str, line: usize) -> Result<T, K8sError> {
        serde_json::from_str(raw).map_err(|e| json_err(&e, what.to_string(), line))
    }
    let mut o = match kind {
        "Service" => Object::Service(typed(raw, &what, line)?),
        "EndpointSlice" => Object::EndpointSlice(typed(raw, &what, line)?),
        "Pod" => Object::Pod(typed(raw, &what, line)?),
        "Node" => Object::Node(typed(raw, &what, line)?),
        "Ingress" => Object::Ingress(typed(raw, &what, line)?),
        "NetworkPolicy" => Object::NetworkPolicy(typed(raw, &what, line)?),
        "Namespace" => Object::Namespace(typed(raw, &what, line)?),
        k if is_list(k) => {
            let mut items = Vec::new();
            for it in peek.items.unwrap_or_default() {
                items.push(json_object(text, it.get(), file, cur)?);
            }
            return Ok(Object::List(ObjectList { items }));
        }
        k => return Ok(Object::Other(k.to_string())),
    };
    match &mut o {
        Object::Service(x) => x.metadata.line = line,
        Object::EndpointSlice(x) => x.metadata.line = line,
        Object::Pod(x) => x.metadata.line = line,
        Object::Node(x) => x.metadata.line = line,
        Object::Ingress(x) => x.metadata.line = line,
        Object::NetworkPolicy(x) => x.metadata.line = line,
        Object::Namespace(x) => x.metadata.line = line,
        _ => {}
    }
    Ok(o)
}

/// serde_json's error about `object` (which starts at `line`), at its line
/// in the whole text, in plain words.
fn json_err(e: &serde_json::Error, object: String, line: usize) -> K8sError {
    let m = e.to_string();
    let m = m
        .rsplit_once(" at line ")
        .map(|(a, _)| a.to_string())
        .unwrap_or(m);
    K8sError {
        object,
        field: "JSON".into(),
        message: crate::yaml::plain_type_words(&m),
        line: line + e.line().saturating_sub(1),
    }
}
