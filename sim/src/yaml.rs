//! YAML (and JSON, a subset) loading with errors for a person: the line and
//! column, the key path the error is about (`traffic[0].count`), and serde's
//! type words in plain ones. Imports nothing of podpath.

use serde::de::DeserializeOwned;

/// The ceiling podpath puts on one input text: its size in bytes and, for
/// YAML, the nodes (mappings, sequences and scalars, aliases counted as
/// often as they are replayed) in one document. Past it the input is
/// refused with a message naming the file and the limit
/// ([`Limits::size_message`], [`Limits::breach_message`]).
///
/// The default, 1 GiB and 100 million nodes, is far above the largest
/// input podpath is built for: `kubectl get -A -o yaml` (or `-o json`) of a
/// cluster of 1,000 nodes and 10,000 pods with every field kubectl prints
/// (managedFields, a node's image list) is about 100-150 MB and 5 million
/// nodes. It exists so that a runaway input (a billion-laughs alias bomb)
/// ends in an error rather than in exhausted memory. The YAML library's own
/// budget (250,000 nodes, 1 million events, 64 MiB of scalars, depth 64) is
/// replaced by this one: a 100-node cluster already breached it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_nodes: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_bytes: 1 << 30,
        max_nodes: 100_000_000,
    };

    /// The YAML library's options with this ceiling as its budget (events
    /// at twice the nodes: a node is at most a start and an end event;
    /// nesting up to 256, as deep as managedFields of CRDs go and more).
    pub fn options(&self) -> serde_saphyr::Options {
        let mut b = serde_saphyr::Budget::default();
        b.max_nodes = self.max_nodes;
        b.max_events = self.max_nodes.saturating_mul(2);
        b.max_total_scalar_bytes = self.max_bytes;
        b.max_reader_input_bytes = Some(self.max_bytes);
        b.max_depth = 256;
        b.max_documents = usize::MAX;
        let mut o = serde_saphyr::Options::default();
        o.budget = Some(b);
        o
    }

    /// The refusal of a text of `len` bytes past the ceiling; `None` within it.
    pub fn size_message(&self, len: usize) -> Option<String> {
        (len > self.max_bytes).then(|| {
            format!(
                "{len} bytes is more than podpath reads from one file: its ceiling is {} bytes{}",
                self.max_bytes,
                if self.max_bytes == Self::DEFAULT.max_bytes {
                    " (1 GiB)"
                } else {
                    ""
                }
            )
        })
    }

    /// The refusal for a YAML error that is a breach of this ceiling (as
    /// opposed to a syntax or type error); `None` for other errors.
    pub fn breach_message(&self, e: &serde_saphyr::Error) -> Option<String> {
        use serde_saphyr::budget::BudgetBreach as B;
        let mut e = e;
        while let serde_saphyr::Error::WithSnippet { error, .. }
        | serde_saphyr::Error::AliasError { error, .. } = e
        {
            e = error;
        }
        let serde_saphyr::Error::Budget { breach, .. } = e else {
            return None;
        };
        let what = match breach {
            B::Nodes { .. } | B::Events { .. } => format!(
                "more than {} YAML nodes in one document: podpath's ceiling for one document",
                self.max_nodes
            ),
            B::ScalarBytes { .. } | B::InputBytes { .. } => format!(
                "more than {} bytes of text: podpath's ceiling for one file",
                self.max_bytes
            ),
            B::Depth { .. } => "nested more than 256 levels deep: podpath's ceiling".to_string(),
            other => format!("the YAML library's limit on anchors and aliases ({other:?})"),
        };
        Some(what)
    }
}

/// Why a YAML text is not what was expected, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {key}: {message}")]
pub struct YamlError {
    /// 1-based; 0 when unknown.
    pub line: usize,
    pub column: usize,
    /// The key path (`hosts.a.devices.eth0.mtu`); empty at the top.
    pub key: String,
    pub message: String,
}

/// Reads `text` into a `T`; an error names the key path it is about.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    from_str_within::<T>(text, &Limits::DEFAULT)
}

/// [`from_str`] within the ceiling `limits`.
pub fn from_str_within<T: DeserializeOwned>(text: &str, limits: &Limits) -> Result<T, YamlError> {
    if let Some(m) = limits.size_message(text.len()) {
        return Err(YamlError {
            line: 0,
            column: 0,
            key: String::new(),
            message: m,
        });
    }
    // serde_path_to_error names the key an error is about
    let mut path = String::new();
    let r = serde_saphyr::with_deserializer_from_str_with_options(text, limits.options(), |de| {
        serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
            // a Spanned value's own field is not a key of the document
            path = e
                .path()
                .to_string()
                .replace(".value.", ".")
                .trim_end_matches(".value")
                .to_string();
            e.into_inner()
        })
    });
    r.map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((0, 0));
        let m = limits
            .breach_message(&e)
            .unwrap_or_else(|| plain_type_words(&message(&e)));
        YamlError {
            line,
            column,
            key: if path == "." || path == "?" {
                String::new()
            } else {
                path.clone()
            },
            message: match scalar_at(text, line, column) {
                Some(v) if m.starts_with("expected ") => format!("'{v}': {m}"),
                _ => m,
            },
        }
    })
}

/// The plain scalar that starts at `line`:`column` (1-based) of `text`.
fn scalar_at(text: &str, line: usize, column: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let rest: String = l.chars().skip(column.checked_sub(1)?).collect();
    let v: String = rest
        .chars()
        .take_while(|c| !matches!(c, ',' | '}' | ']' | '#'))
        .collect();
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
    (!v.is_empty()).then(|| v.to_string())
}

/// serde's type words as a person would say them: `expected u32` ->
/// `expected an integer 0-4294967295`.
pub(crate) fn plain_type_words(m: &str) -> String {
    let mut m = m.to_string();
    for (t, words) in [
        ("u8", "an integer 0-255"),
        ("u16", "an integer 0-65535"),
        ("u32", "an integer 0-4294967295"),
        ("u64", "a non-negative integer"),
        ("i64", "an integer"),
        ("f64", "a number"),
        ("a boolean", "true or false"),
    ] {
        if m == format!("invalid {t}") || m == format!("invalid value for {t}") {
            return format!("expected {words}");
        }
        for end in ["", ",", ")"] {
            let from = format!("expected {t}{end}");
            if m.ends_with(&from) || m.contains(&format!("{from} ")) {
                m = m.replace(&from, &format!("expected {words}{end}"));
            }
        }
    }
    m
}

/// The YAML library's error as one line for a person: without the location
/// it repeats (the caller names file and line) and without advice about the
/// library's own options.
pub fn message(e: &serde_saphyr::Error) -> String {
    let msg = e.to_string();
    let mut first = msg.lines().next().unwrap_or("").trim().to_string();
    for _ in 0..2 {
        if let Some(r) = first.strip_prefix("error: ") {
            first = r.to_string();
        }
        if first.starts_with("line ") {
            if let Some((_, r)) = first.split_once(": ") {
                first = r.to_string();
            }
        }
    }
    if let Some(r) = first.strip_prefix("duplicate mapping key: ") {
        let key = r.split(", set DuplicateKeyPolicy").next().unwrap_or(r);
        first = format!("duplicate key '{key}' (each key may appear once in a mapping)");
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        count: u32,
    }

    #[test]
    fn errors_name_the_key_path_in_plain_words() {
        let e = from_str::<Doc>("items:\n  - {count: 1}\n  - {count: many}\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "items[1].count"));
        assert_eq!(e.message, "'many': expected an integer 0-4294967295");
        let e = from_str::<Doc>("items: []\nitemz: []\n").unwrap_err();
        assert!(e.message.contains("unknown field `itemz`"), "{e}");
    }
}
