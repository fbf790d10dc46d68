//! The house rules of the layout, checked on the sources of all three
//! crates: no module uses one that uses it back (a module is a file; a use
//! is any path through `crate::`, `super::` or `self::`, in `use` items and
//! in expressions and types), and `net` never reaches `app` or `engine`.
//! `#[cfg(test)]` items are left out: tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use syn::visit::Visit;

/// Every `.rs` file under `root`, by its module path (`net::ip::input`).
fn modules(root: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().to_string())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                out.insert(parts.join("::"), p);
            }
        }
    }
    out
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// The paths a file uses, as segment lists (groups of `use` expanded).
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn tree(&mut self, prefix: Vec<String>, t: &syn::UseTree) {
        match t {
            syn::UseTree::Path(p) => {
                let mut v = prefix;
                v.push(p.ident.to_string());
                self.tree(v, &p.tree);
            }
            syn::UseTree::Name(n) => {
                let mut v = prefix;
                v.push(n.ident.to_string());
                self.0.push(v);
            }
            syn::UseTree::Rename(r) => {
                let mut v = prefix;
                v.push(r.ident.to_string());
                self.0.push(v);
            }
            syn::UseTree::Glob(_) => self.0.push(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.tree(prefix.clone(), t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        let attrs = match i {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(x) => &x.attrs,
            syn::Item::Use(u) => &u.attrs,
            _ => return syn::visit::visit_item(self, i),
        };
        if !is_test(attrs) {
            syn::visit::visit_item(self, i);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.tree(Vec::new(), &u.tree);
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.0
            .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }
}

/// The module a path names: the longest existing module prefix, after
/// `crate::`/`super::`/`self::` are resolved from `me`.
fn target(
    me: &str,
    me_is_dir: bool,
    path: &[String],
    mods: &BTreeMap<String, PathBuf>,
) -> Option<String> {
    let mut base: Vec<String> = if me.is_empty() {
        Vec::new()
    } else {
        me.split("::").map(str::to_string).collect()
    };
    // `super` in a file module means its parent; in mod.rs, the parent too
    let _ = me_is_dir;
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some("self") => rest = &rest[1..],
        _ => return None,
    }
    let full: Vec<String> = base.into_iter().chain(rest.iter().cloned()).collect();
    (0..=full.len())
        .rev()
        .map(|k| full[..k].join("::"))
        .find(|c| mods.contains_key(c))
}

/// Module -> the modules it uses.
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(root);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, p) in &mods {
        let file = syn::parse_file(&std::fs::read_to_string(p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut v = Paths::default();
        v.visit_file(&file);
        let is_dir = p.ends_with("mod.rs");
        let e = g.entry(m.clone()).or_default();
        for path in &v.0 {
            if let Some(t) = target(m, is_dir, path, &mods) {
                if &t != m {
                    e.insert(t);
                }
            }
        }
    }
    g
}

/// The cycles (strongly connected components of more than one module).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut dg: DiGraph<String, ()> = DiGraph::new();
    let idx: BTreeMap<&String, _> = g.keys().map(|k| (k, dg.add_node(k.clone()))).collect();
    for (a, bs) in g {
        for b in bs {
            if let Some(&bi) = idx.get(b) {
                dg.add_edge(idx[a], bi, ());
            }
        }
    }
    let mut out: Vec<Vec<String>> = tarjan_scc(&dg)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut v: Vec<String> = c.iter().map(|n| dg[*n].clone()).collect();
            v.sort();
            v
        })
        .collect();
    out.sort();
    out
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    for c in ["sim", "render", "cli"] {
        let g = graph(&crate_src(c));
        assert!(g.len() > 3, "{c}: no modules found");
        let cyc = cycles(&g);
        assert!(cyc.is_empty(), "{c}: import cycles: {cyc:?}");
    }
}

#[test]
fn net_stays_below_applications_and_the_engine() {
    let g = graph(&crate_src("sim"));
    for (m, uses) in &g {
        let top = m.split("::").next().unwrap_or("");
        let bad: Vec<&String> = uses
            .iter()
            .filter(|u| {
                let t = u.split("::").next().unwrap_or("");
                match top {
                    // the hook and table names import nothing
                    _ if m == "net::netfilter::points" => !u.is_empty(),
                    // the stack knows packets, not programs or the run loop
                    "net" | "wire" => matches!(t, "app" | "engine" | "scenario" | "k8s" | "world"),
                    // the ground floor imports nothing of podpath; the
                    // trace's step points are made of netfilter's hook and
                    // table names (a data module that imports nothing)
                    "det" | "yaml" => !u.is_empty() && t != top,
                    "trace" => !u.is_empty() && t != top && *u != "net::netfilter::points",
                    _ => false,
                }
            })
            .collect();
        assert!(bad.is_empty(), "{m} uses {bad:?}");
    }
}

/// The checker finds a cycle when there is one (so a clean result means
/// something).
#[test]
fn the_checker_sees_a_cycle() {
    let dir = std::env::temp_dir().join(format!("podpath-arch-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "pub struct B(pub super::a::A);\n").unwrap();
    let cyc = cycles(&graph(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(cyc, vec![vec!["a".to_string(), "b".to_string()]]);
}
