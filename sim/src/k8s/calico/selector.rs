//! Calico's label selectors, as far as a Kubernetes NetworkPolicy becomes
//! one: the tree felix parses, its canonical text and its unique id (what
//! names the `cali40s:` IP set), and its evaluation on an endpoint's labels.
//!
//! Read from projectcalico/calico v3.32.1:
//! - `libcalico-go/lib/selector/parser/ast.go` (`collectFragments` of each
//!   node: `a == "v"` quoted with `"` unless the value holds one, `k in
//!   {"a", "b"}` over the sorted, de-duplicated set, `has(k)`, `!` before
//!   the operand, `(` `&&` `)` around every AND of two or more, `all()`;
//!   `updateFields`: the id is `hash.MakeUniqueID("s", text)`);
//! - `parser/parser.go` (`parseAndExpression`: a run of `&&` is one AND
//!   node; a parenthesised expression is its own node, so `(a) && (b && c)`
//!   nests; a single operation in parentheses is that operation);
//! - `parser/stringset.go` (`ConvertToStringSetInPlace`: sorted, unique);
//! - `libcalico-go/lib/hash/unique_id.go` (`MakeUniqueID`: prefix, `:`,
//!   base64url without padding of SHA-224 of `prefix:content`).
//!
//! The trees are built directly in the shape felix's parser gives the text
//! libcalico-go's conversion writes (see [`super::conv`]), rather than by
//! parsing that text back.

use std::collections::BTreeMap;

use sha2::{Digest, Sha224};

/// A selector node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sel {
    All,
    Eq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Has(String),
    Not(Box<Sel>),
    /// Two or more operands (a lone operand is itself).
    And(Vec<Sel>),
}

/// `hash.MakeUniqueID`.
pub fn make_unique_id(prefix: &str, content: &str) -> String {
    let h = Sha224::digest(format!("{prefix}:{content}").as_bytes());
    format!("{prefix}:{}", data_encoding::BASE64URL_NOPAD.encode(&h))
}

fn quoted(s: &str) -> String {
    // appendLabelOpAndQuotedString
    if s.contains('"') {
        format!("'{s}'")
    } else {
        format!("\"{s}\"")
    }
}

/// A set as `ConvertToStringSetInPlace` leaves it.
pub fn string_set(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

impl Sel {
    /// An AND of these terms as `parseAndExpression` builds it: one term
    /// is itself, none is `all()`.
    pub fn and(mut terms: Vec<Sel>) -> Sel {
        match terms.len() {
            0 => Sel::All,
            1 => terms.remove(0),
            _ => Sel::And(terms),
        }
    }

    /// The canonical text (`collectFragments`).
    pub fn text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    fn write(&self, s: &mut String) {
        match self {
            Sel::All => s.push_str("all()"),
            Sel::Eq(k, v) => {
                s.push_str(k);
                s.push_str(" == ");
                s.push_str(&quoted(v));
            }
            Sel::In(k, vs) | Sel::NotIn(k, vs) => {
                let op = if matches!(self, Sel::In(..)) {
                    "in"
                } else {
                    "not in"
                };
                let vals: Vec<String> = vs.iter().map(|v| quoted(v)).collect();
                s.push_str(&format!("{k} {op} {{{}}}", vals.join(", ")));
            }
            Sel::Has(k) => s.push_str(&format!("has({k})")),
            Sel::Not(x) => {
                s.push('!');
                x.write(s);
            }
            Sel::And(xs) => {
                s.push('(');
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        s.push_str(" && ");
                    }
                    x.write(s);
                }
                s.push(')');
            }
        }
    }

    /// The selector's unique id (`Selector.UniqueID`), `s:` + hash.
    pub fn unique_id(&self) -> String {
        make_unique_id("s", &self.text())
    }

    /// Whether an endpoint with these labels matches (`Evaluate` of each
    /// node: `NotIn` holds when the label is absent).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Sel::All => true,
            Sel::Eq(k, v) => labels.get(k) == Some(v),
            Sel::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Sel::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Sel::Has(k) => labels.contains_key(k),
            Sel::Not(x) => !x.matches(labels),
            Sel::And(xs) => xs.iter().all(|x| x.matches(labels)),
        }
    }

    /// The tree with `prefix` before every label name (`PrefixVisitor`).
    pub fn prefixed(&self, prefix: &str) -> Sel {
        let p = |k: &String| format!("{prefix}{k}");
        match self {
            Sel::All => Sel::All,
            Sel::Eq(k, v) => Sel::Eq(p(k), v.clone()),
            Sel::In(k, v) => Sel::In(p(k), v.clone()),
            Sel::NotIn(k, v) => Sel::NotIn(p(k), v.clone()),
            Sel::Has(k) => Sel::Has(p(k)),
            Sel::Not(x) => Sel::Not(Box::new(x.prefixed(prefix))),
            Sel::And(xs) => Sel::And(xs.iter().map(|x| x.prefixed(prefix)).collect()),
        }
    }
}
