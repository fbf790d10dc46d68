//! The command and block level of nft text (parser_bison.y `input`,
//! `line`, `base_cmd`, `add_cmd`, `delete_cmd`, `flush_cmd`,
//! `table_block`, `chain_block`, `set_block`, `map_block`,
//! `flowtable_block`, the object blocks), `define NAME = VALUE` / `$NAME`
//! (`undefine`, `redefine`), and `include` (scanner.l
//! `scanner_include_file`).

use super::expr::{self, parse_nft_time, selector, type_of_name};
use super::lex::{render, tokenize, Tok};
use super::stmt::{limit_args, numgen_args, parse_rule, quota_args, Cx};
use super::*;
use crate::net::netfilter::Unmodelled;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Gives the files an `include` names: the pattern (a path, maybe with
/// `*?[` wildcards, relative to nft's working directory or absolute) to
/// the matching regular files as (path, text), in alphabetical order; an
/// error (the reason) when reading fails.
pub type IncludeReader<'a> = &'a dyn Fn(&str) -> Result<Vec<(String, String)>, String>;

/// nft's include nesting limit (include/nftables.h `MAX_INCLUDE_DEPTH`).
const MAX_INCLUDE_DEPTH: usize = 16;
/// nft's default include directory (`DEFAULT_INCLUDE_PATH`, the sysconfdir
/// distributions build with).
const DEFAULT_INCLUDE_PATH: &str = "/etc";

const FAMILIES: &[&str] = &["ip", "ip6", "inet", "arp", "bridge", "netdev"];

fn err(line: usize, m: impl Into<String>) -> NftError {
    NftError {
        line,
        message: m.into(),
    }
}

/// Expands `define`/`$var` and `include` over the tokens, as the scanner
/// and parser do before the commands see them.
struct Expand<'a> {
    defines: BTreeMap<String, Vec<Tok>>,
    read: IncludeReader<'a>,
}

impl Expand<'_> {
    fn run(&mut self, toks: Vec<Tok>, depth: usize) -> Result<Vec<Tok>, NftError> {
        let mut out: Vec<Tok> = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let at_start = out
                .last()
                .is_none_or(|t| t.is("\n") || t.is(";") || t.is("{"));
            let x = &toks[i];
            if at_start && (x.is("define") || x.is("redefine")) {
                let name = toks.get(i + 1).filter(|t| !t.quoted).map(|t| t.s.clone());
                let Some(name) = name else {
                    return Err(err(
                        x.line,
                        "syntax error, unexpected newline, expecting string",
                    ));
                };
                if !toks.get(i + 2).is_some_and(|t| t.is("=")) {
                    return Err(err(x.line, "syntax error, expecting '='"));
                }
                let mut j = i + 3;
                let mut val = Vec::new();
                let mut depth_b = 0i32;
                while let Some(t) = toks.get(j) {
                    if t.is("\n") && depth_b == 0 {
                        break;
                    }
                    if t.is("{") {
                        depth_b += 1;
                    }
                    if t.is("}") {
                        depth_b -= 1;
                    }
                    if !t.is("\n") {
                        val.push(t.clone());
                    }
                    j += 1;
                }
                let val = self.substitute(val)?;
                if x.is("define") && self.defines.contains_key(&name) {
                    return Err(err(
                        x.line,
                        format!("Error: redefinition of symbol '{name}'"),
                    ));
                }
                self.defines.insert(name, val);
                i = j;
                continue;
            }
            if at_start && x.is("undefine") {
                if let Some(n) = toks.get(i + 1) {
                    self.defines.remove(&n.s);
                }
                i += 2;
                continue;
            }
            if at_start && x.is("include") {
                let Some(path) = toks.get(i + 1).filter(|t| t.quoted) else {
                    return Err(err(
                        x.line,
                        "syntax error, unexpected newline, expecting quoted string",
                    ));
                };
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(err(
                        x.line,
                        format!("Error: Include nested too deeply, max {MAX_INCLUDE_DEPTH} levels"),
                    ));
                }
                for (_, text) in self.include(&path.s, x.line)? {
                    let inner = tokenize(&text)?;
                    let inner = self.run(inner, depth + 1)?;
                    // the included tokens keep the including line (one
                    // text, one line space)
                    out.extend(inner.into_iter().map(|mut t| {
                        t.line = x.line;
                        t
                    }));
                    out.push(Tok {
                        s: "\n".into(),
                        quoted: false,
                        line: x.line,
                    });
                }
                i += 2;
                continue;
            }
            if let Some(name) = x.s.strip_prefix('$').filter(|_| !x.quoted) {
                let v = self
                    .defines
                    .get(name)
                    .ok_or_else(|| err(x.line, format!("Error: unknown identifier '{name}'")))?;
                out.extend(v.iter().map(|t| Tok {
                    line: x.line,
                    ..t.clone()
                }));
                i += 1;
                continue;
            }
            out.push(x.clone());
            i += 1;
        }
        Ok(out)
    }

    fn substitute(&self, v: Vec<Tok>) -> Result<Vec<Tok>, NftError> {
        let mut out = Vec::new();
        for t in v {
            match t.s.strip_prefix('$').filter(|_| !t.quoted) {
                Some(name) => {
                    let d = self.defines.get(name).ok_or_else(|| {
                        err(t.line, format!("Error: unknown identifier '{name}'"))
                    })?;
                    out.extend(d.iter().cloned());
                }
                None => out.push(t),
            }
        }
        Ok(out)
    }

    /// scanner.l `scanner_include_file`: a path starting with `/`, `./`
    /// or `../` is globbed as it is, any other in the include directory;
    /// a pattern without wildcards must match a file ("File not found").
    fn include(&self, name: &str, line: usize) -> Result<Vec<(String, String)>, NftError> {
        let direct = name.starts_with('/') || name.starts_with("./") || name.starts_with("../");
        let pattern = if direct {
            name.to_string()
        } else {
            format!("{DEFAULT_INCLUDE_PATH}/{name}")
        };
        let wildcard = name.contains(['*', '?', '[']);
        let files = (self.read)(&pattern).map_err(|e| {
            err(
                line,
                format!("Error: Could not open file \"{pattern}\": {e}"),
            )
        })?;
        if files.is_empty() && !wildcard {
            return Err(err(line, format!("Error: File not found: {name}")));
        }
        Ok(files)
    }
}

/// The token cursor of the command level.
struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn word_at(&self, k: usize) -> Option<&str> {
        self.t
            .get(self.i + k)
            .filter(|t| !t.quoted)
            .map(|t| t.s.as_str())
    }
    fn line(&self) -> usize {
        self.t
            .get(self.i)
            .or(self.t.last())
            .map(|t| t.line)
            .unwrap_or(0)
    }
    fn unexpected(&self, expecting: &str) -> NftError {
        let s = match self.peek() {
            None => "end of file".to_string(),
            Some(t) if t.s == "\n" => "newline".into(),
            Some(t) if t.quoted => format!("quoted string \"{}\"", t.s),
            Some(t) => t.s.clone(),
        };
        let e = if expecting.is_empty() {
            String::new()
        } else {
            format!(", expecting {expecting}")
        };
        err(self.line(), format!("syntax error, unexpected {s}{e}"))
    }
    /// A name (a string or a quoted string).
    fn name(&mut self, what: &str) -> Result<String, NftError> {
        match self.peek() {
            Some(t) if t.quoted || !"{},;@\n".contains(t.s.as_str()) => {
                let s = t.s.clone();
                self.i += 1;
                Ok(s)
            }
            _ => Err(self.unexpected(what)),
        }
    }
    fn eat(&mut self, s: &str) -> bool {
        if self.peek().is_some_and(|t| t.is(s)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, s: &str) -> Result<(), NftError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{s}'")))
        }
    }
    fn skip_nl(&mut self) {
        while self.peek().is_some_and(|t| t.is("\n") || t.is(";")) {
            self.i += 1;
        }
    }
    /// Tokens to the end of the line or `;` or an unmatched `}`.
    fn until_end(&mut self) -> Vec<Tok> {
        let mut v = Vec::new();
        let mut depth = 0;
        while let Some(t) = self.t.get(self.i) {
            if (t.is("\n") || t.is(";")) && depth == 0 {
                break;
            }
            if t.is("}") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            if t.is("{") {
                depth += 1;
            }
            // line ends inside braces separate the rules of a binding
            // chain
            if !t.is("\n") || depth > 0 {
                v.push(t.clone());
            }
            self.i += 1;
        }
        v
    }
    /// The tokens of a `{ ... }` group (the brace at the cursor), without
    /// the braces.
    fn group(&mut self) -> Result<Vec<Tok>, NftError> {
        self.expect("{")?;
        let mut v = Vec::new();
        let mut depth = 1;
        while let Some(t) = self.t.get(self.i).cloned() {
            self.i += 1;
            if t.is("{") {
                depth += 1;
            }
            if t.is("}") {
                depth -= 1;
                if depth == 0 {
                    return Ok(v);
                }
            }
            v.push(t);
        }
        Err(err(
            self.line(),
            "syntax error, unexpected end of file, expecting '}'",
        ))
    }
    /// `[FAMILY] NAME` of a table.
    fn table_spec(&mut self) -> Result<(String, String), NftError> {
        let fam = match self.word_at(0) {
            Some(f)
                if FAMILIES.contains(&f)
                    && self.word_at(1).is_some_and(|n| !"{\n;".contains(n)) =>
            {
                let f = f.to_string();
                self.i += 1;
                f
            }
            _ => "ip".to_string(),
        };
        let name = self.name("string")?;
        Ok((fam, name))
    }
}

/// Priority names (src/rule.c `std_prios`, `bridge_std_prios`).
/// A base chain's priority in its family: the bridge family names its
/// own (nftables src/rule.c `bridge_std_prios`: dstnat -300
/// (NF_BR_PRI_NAT_DST_BRIDGED), filter -200 (NF_BR_PRI_FILTER_BRIDGED),
/// out 100 (NF_BR_PRI_NAT_DST_OTHER), srcnat 300 (NF_BR_PRI_NAT_SRC));
/// the others `std_prios`.
fn family_priority(words: &[String], fam: &str) -> Option<i32> {
    if fam != "bridge" {
        return priority(words);
    }
    let joined = words.join("").replace(' ', "");
    let (name, rest) = match joined.find(['-', '+']) {
        Some(k) if k > 0 => joined.split_at(k),
        _ => (joined.as_str(), ""),
    };
    let base = match name {
        "dstnat" => -300,
        "filter" => -200,
        "out" => 100,
        "srcnat" => 300,
        _ => return priority(words),
    };
    match rest.split_at_checked(1) {
        Some(("-", d)) => Some(base - d.parse::<i32>().ok()?),
        Some(("+", d)) => Some(base + d.parse::<i32>().ok()?),
        _ => Some(base),
    }
}

pub(crate) fn priority(words: &[String]) -> Option<i32> {
    let base = |w: &str| -> Option<i32> {
        Some(match w {
            "raw" => -300,
            "mangle" => -150,
            "dstnat" => -100,
            "filter" => 0,
            "security" => 50,
            "srcnat" => 100,
            "out" => 100,
            n => n.parse().ok()?,
        })
    };
    let joined = words.join("").replace(' ', "");
    if let Ok(p) = joined.parse::<i32>() {
        return Some(p);
    }
    for (i, ch) in joined.char_indices().skip(1) {
        if ch == '-' || ch == '+' {
            let b = base(&joined[..i])?;
            let d: i32 = joined[i + 1..].parse().ok()?;
            return Some(if ch == '-' { b - d } else { b + d });
        }
    }
    base(&joined)
}

/// Object kinds of `add`/table blocks: the words and how many they take.
fn object_kind(p: &P) -> Option<(String, usize)> {
    match p.word_at(0)? {
        k @ ("counter" | "quota" | "limit" | "synproxy" | "secmark" | "flowtable" | "tunnel") => {
            Some((k.to_string(), 1))
        }
        "ct" => match p.word_at(1)? {
            k @ ("helper" | "timeout" | "expectation") => Some((format!("ct {k}"), 2)),
            _ => None,
        },
        _ => None,
    }
}

impl Nft {
    fn table_idx(&self, family: &str, name: &str) -> Option<usize> {
        self.tables
            .iter()
            .position(|t| t.family == family && t.name == name)
    }

    fn table_mut(&mut self, family: &str, name: &str) -> &mut NftTable {
        let pos = match self.table_idx(family, name) {
            Some(p) => p,
            None => {
                self.tables.push(NftTable::new(family, name));
                self.tables.len() - 1
            }
        };
        &mut self.tables[pos]
    }

    /// The table a command names, which must exist (nft: "No such file or
    /// directory").
    /// (nft -f runs against the kernel's ruleset: a script may add to a
    /// table that exists there, such as iptables-nft's; podpath takes the
    /// table as existing.)
    fn existing(&mut self, fam: &str, name: &str, _line: usize) -> Result<&mut NftTable, NftError> {
        Ok(self.table_mut(fam, name))
    }

    /// Reads `nft -f` text or `nft list ruleset` text; `include` finds no
    /// file (use [`Nft::parse_with`] to give it files).
    pub fn parse(text: &str) -> Result<Nft, NftError> {
        Nft::parse_with(text, &|_| Ok(Vec::new()))
    }

    /// Reads `nft -f` text, `include`s read through `read`.
    pub fn parse_with(text: &str, read: IncludeReader) -> Result<Nft, NftError> {
        let toks = tokenize(text)?;
        let mut ex = Expand {
            defines: BTreeMap::new(),
            read,
        };
        let toks = ex.run(toks, 0)?;
        let mut p = P { t: toks, i: 0 };
        let mut nft = Nft::default();
        loop {
            p.skip_nl();
            let Some(w) = p.peek().map(|t| t.s.clone()) else {
                break;
            };
            nft.line(&mut p, &w)?;
        }
        nft.finish()?;
        Ok(nft)
    }

    /// One command line (parser_bison.y `base_cmd`).
    fn line(&mut self, p: &mut P, w: &str) -> Result<(), NftError> {
        match w {
            "add" | "create" => {
                p.i += 1;
                self.add(p, false)
            }
            "insert" => {
                p.i += 1;
                if p.word_at(0) != Some("rule") {
                    return Err(p.unexpected("rule"));
                }
                self.add(p, true)
            }
            "replace" => {
                p.i += 1;
                if p.word_at(0) != Some("rule") {
                    return Err(p.unexpected("rule"));
                }
                p.i += 1;
                self.replace_rule(p)
            }
            "table" | "chain" | "rule" | "set" | "map" | "element" | "counter" | "quota"
            | "limit" | "ct" | "flowtable" | "synproxy" | "secmark" => self.add(p, false),
            "flush" | "delete" | "destroy" | "reset" => {
                p.i += 1;
                self.flush_delete(p, w)
            }
            "list" | "monitor" | "describe" | "export" | "import" | "rename" => {
                let line = p.line();
                p.until_end();
                if w == "rename" {
                    self.keep(line, "rename chain");
                }
                Ok(())
            }
            _ => Err(p.unexpected("")),
        }
    }

    fn keep(&mut self, line: usize, what: &str) {
        self.unmodelled.push(Unmodelled {
            line,
            construct: format!("nft: {what}"),
            effect: "ignored".into(),
        });
    }

    /// `add table|chain|rule|set|map|element|OBJECT ...` (parser_bison.y
    /// `add_cmd`; `add` may be left out).
    fn add(&mut self, p: &mut P, insert: bool) -> Result<(), NftError> {
        let line = p.line();
        if let Some((kind, n)) = object_kind(p) {
            p.i += n;
            let (fam, tname) = p.table_spec()?;
            let name = p.name("string")?;
            let body = if p.peek().is_some_and(|t| t.is("{")) {
                p.group()?
            } else {
                Vec::new()
            };
            let obj = self.object(&kind, &name, &body, line)?;
            let t = self.existing(&fam, &tname, line)?;
            if t.objects.insert((kind, name), obj).is_none() {
                t.hgen += 1;
            }
            return Ok(());
        }
        let what = p.name("table, chain, rule, set, map or element")?;
        let (fam, tname) = p.table_spec()?;
        match what.as_str() {
            "table" => {
                self.table_mut(&fam, &tname);
                if p.peek().is_some_and(|t| t.is("{")) {
                    p.i += 1;
                    self.table_body(p, &fam, &tname)?;
                }
            }
            "chain" => {
                let name = p.name("string")?;
                self.existing(&fam, &tname, line)?;
                let mut c = NftChain {
                    name: name.clone(),
                    base: None,
                    rules: Vec::new(),
                    handle: 0,
                };
                if p.eat("{") {
                    self.chain_body(p, &fam, &tname, &mut c)?;
                }
                let t = self.existing(&fam, &tname, line)?;
                match t.chain(&name) {
                    Some(i) => {
                        if c.base.is_some() {
                            t.chains[i].base = c.base;
                        }
                        t.chains[i].rules.extend(c.rules);
                    }
                    None => {
                        t.add_chain(c);
                    }
                }
                t.assign_handles(std::slice::from_ref(&name));
            }
            "set" | "map" => {
                let name = p.name("string")?;
                let mut s = NftSet {
                    name: name.clone(),
                    is_map: what == "map",
                    ..Default::default()
                };
                if p.eat("{") {
                    self.set_body(p, &mut s)?;
                }
                let t = self.existing(&fam, &tname, line)?;
                if let std::collections::btree_map::Entry::Vacant(e) = t.sets.entry(name) {
                    e.insert(s);
                    t.hgen += 1;
                }
            }
            "rule" => self.add_rule(p, &fam, &tname, insert)?,
            "element" => {
                let name = p.name("string")?;
                let t = self.existing(&fam, &tname, line)?;
                let Some(s) = t.sets.get(&name) else {
                    return Err(err(
                        line,
                        format!("Error: Could not process rule: No such file or directory (set {name} in table {fam} {tname})"),
                    ));
                };
                let (key, data) = (s.key.clone(), s.is_map.then(|| s.data.clone()));
                let (els, next) = expr::elements(&p.t, p.i, &key, data.as_deref())?;
                p.i = next;
                let t = self.existing(&fam, &tname, line)?;
                if let Some(s) = t.sets.get_mut(&name) {
                    s.elements.extend(els);
                }
            }
            _ => {
                p.i -= 1;
                return Err(p.unexpected("table, chain, rule, set, map or element"));
            }
        }
        Ok(())
    }

    /// `add rule [FAMILY] TABLE CHAIN [handle|index|position N] RULE`.
    fn add_rule(
        &mut self,
        p: &mut P,
        fam: &str,
        tname: &str,
        insert: bool,
    ) -> Result<(), NftError> {
        let chain = p.name("string")?;
        let line = p.line();
        // where: after (add) or before (insert) the rule of that handle,
        // or of that index (0-based)
        let mut at: Option<(bool, u64)> = None;
        while let Some(w @ ("handle" | "index" | "position")) = p.word_at(0) {
            let is_index = w == "index";
            let v = p.t.get(p.i + 1).map(|t| t.s.clone()).unwrap_or_default();
            let n: u64 = v.parse().map_err(|_| {
                err(
                    line,
                    format!("Error: syntax error, unexpected {v}, expecting number"),
                )
            })?;
            at = Some((is_index, n));
            p.i += 2;
        }
        let toks = p.until_end();
        let rule = self.rule(fam, tname, &toks, line)?;
        let t = self.existing(fam, tname, line)?;
        let ci = match t.chain(&chain) {
            Some(ci) => ci,
            None => {
                // a chain of the kernel's ruleset: iptables-nft's built-in
                // chains as iptables/nft.c `legacy_table` registers them,
                // else kept with its hook unknown
                let base = iptables_nft_builtin(fam, tname, &chain);
                let known = base.is_some();
                let ci = t.add_chain(NftChain {
                    name: chain.clone(),
                    base,
                    rules: Vec::new(),
                    handle: 0,
                });
                if !known {
                    self.unmodelled.push(Unmodelled {
                    line,
                    construct: format!("nft: chain {chain} of table {fam} {tname}, not defined in this text"),
                    effect: "its rules are kept; taken as a regular chain (its hook, if any, is unknown)".into(),
                });
                }
                ci
            }
        };
        let t = self.existing(fam, tname, line)?;
        let c = &mut t.chains[ci];
        let pos = match at {
            None if insert => 0,
            None => c.rules.len(),
            Some((is_index, n)) => {
                let found = if is_index {
                    usize::try_from(n).ok().filter(|&i| i < c.rules.len())
                } else {
                    c.rules.iter().position(|r| r.handle == n && n != 0)
                };
                let Some(i) = found else {
                    return Err(err(
                        line,
                        format!("Error: Could not process rule: No such file or directory ({} {n} in chain {fam} {tname} {chain})", if is_index { "index" } else { "handle" }),
                    ));
                };
                if insert {
                    i
                } else {
                    i + 1
                }
            }
        };
        if c.handle == 0 {
            // the chain this command made (iptables-nft's built-in one)
            t.hgen += 1;
            t.chains[ci].handle = t.hgen;
        }
        t.hgen += rule.subs + 1;
        let mut rule = rule;
        rule.handle = t.hgen;
        t.chains[ci].rules.insert(pos, rule);
        Ok(())
    }

    /// `replace rule [FAMILY] TABLE CHAIN handle N RULE`: the rule of that
    /// handle replaced, keeping its handle and place (what the kernel's
    /// NLM_F_REPLACE does in nf_tables_newrule).
    fn replace_rule(&mut self, p: &mut P) -> Result<(), NftError> {
        let line = p.line();
        let (fam, tname) = p.table_spec()?;
        let chain = p.name("string")?;
        let h = match (p.word_at(0), p.t.get(p.i + 1).map(|t| t.s.parse::<u64>())) {
            (Some("handle"), Some(Ok(h))) => h,
            _ => return Err(p.unexpected("handle")),
        };
        p.i += 2;
        let toks = p.until_end();
        let mut rule = self.rule(&fam, &tname, &toks, line)?;
        let t = self.existing(&fam, &tname, line)?;
        let at = t.chain(&chain).and_then(|i| {
            let k = t.chains[i].rules.iter().position(|r| r.handle == h)?;
            Some((i, k))
        });
        let Some((i, k)) = at else {
            return Err(err(line, format!("Error: Could not process rule: No such file or directory (handle {h} in chain {fam} {tname} {chain})")));
        };
        t.hgen += rule.subs;
        rule.handle = h;
        t.chains[i].rules[k] = rule;
        Ok(())
    }

    /// One rule of table `fam tname`; its binding chains (`jump { ... }`)
    /// are added to the table.
    fn rule(
        &mut self,
        fam: &str,
        tname: &str,
        toks: &[Tok],
        line: usize,
    ) -> Result<NftRule, NftError> {
        let mut cx = Cx {
            unmodelled: &mut self.unmodelled,
            ipv6_kept: &mut self.ipv6_kept,
            next_id: &mut self.next_id,
            anon: Vec::new(),
            meters: Vec::new(),
            family: fam.to_string(),
        };
        let exprs = parse_rule(toks, line, &mut cx)?;
        let anon = std::mem::take(&mut cx.anon);
        for m in std::mem::take(&mut cx.meters) {
            let t = self.table_mut(fam, tname);
            t.sets.entry(m.clone()).or_insert(NftSet {
                name: m,
                dynamic: true,
                flags: vec!["dynamic".into()],
                ..Default::default()
            });
        }
        for (name, inner) in anon {
            let mut c = NftChain {
                name,
                base: None,
                rules: Vec::new(),
                handle: 0,
            };
            // its rules: separated by `;` or line ends at depth 0
            let mut depth = 0i32;
            let mut cur: Vec<Tok> = Vec::new();
            for t in inner.iter().chain(std::iter::once(&Tok {
                s: ";".into(),
                quoted: false,
                line,
            })) {
                if t.is("{") {
                    depth += 1;
                } else if t.is("}") {
                    depth -= 1;
                }
                if depth == 0 && (t.is(";") || t.is("\n")) {
                    if !cur.is_empty() {
                        let r = self.rule(fam, tname, &cur, cur[0].line)?;
                        c.rules.push(r);
                    }
                    cur.clear();
                } else {
                    cur.push(t.clone());
                }
            }
            self.table_mut(fam, tname).add_chain(c);
        }
        Ok(NftRule {
            exprs,
            text: render(toks),
            line,
            handle: 0,
            subs: anon_handles(toks),
        })
    }

    /// `flush|delete|destroy|reset ...` (parser_bison.y `flush_cmd`,
    /// `delete_cmd`, `destroy_cmd`).
    fn flush_delete(&mut self, p: &mut P, cmd: &str) -> Result<(), NftError> {
        let line = p.line();
        if p.word_at(0) == Some("ruleset") {
            p.i += 1;
            let fam = p
                .word_at(0)
                .filter(|f| FAMILIES.contains(f))
                .map(str::to_string);
            if fam.is_some() {
                p.i += 1;
            }
            if cmd == "flush" {
                match fam {
                    Some(f) => self.tables.retain(|t| t.family != f),
                    None => self.tables.clear(),
                }
            }
            return Ok(());
        }
        if let Some((kind, n)) = object_kind(p) {
            p.i += n;
            let (fam, tname) = p.table_spec()?;
            let name = p.name("string")?;
            p.until_end();
            if cmd == "delete" || cmd == "destroy" {
                if let Some(i) = self.table_idx(&fam, &tname) {
                    self.tables[i].objects.remove(&(kind, name));
                }
            }
            return Ok(());
        }
        let what = p.name("table, chain, set, map, rule or element")?;
        if ![
            "table", "chain", "set", "map", "element", "rule", "meter", "counters", "quotas",
        ]
        .contains(&what.as_str())
        {
            p.i -= 1;
            let mut e = p.unexpected("table, chain, set, map, rule or element");
            e.message = format!("{} (in '{cmd}')", e.message);
            return Err(e);
        }
        let (fam, tname) = p.table_spec()?;
        let name = if what == "table" {
            None
        } else {
            Some(p.name("string")?)
        };
        let Some(ti) = self.table_idx(&fam, &tname) else {
            // (a table of the kernel's ruleset, which podpath does not
            // see: nothing to remove)
            p.until_end();
            return Ok(());
        };
        let rest = p.until_end();
        let t = &mut self.tables[ti];
        match (cmd, what.as_str(), name) {
            ("reset", _, _) => {}
            ("flush", "chain", Some(n)) => {
                if let Some(i) = t.chain(&n) {
                    t.chains[i].rules.clear();
                }
            }
            ("flush", "set" | "map" | "meter", Some(n)) => {
                if let Some(s) = t.sets.get_mut(&n) {
                    s.elements.clear();
                }
            }
            ("flush", "table", None) => {
                for c in t.chains.iter_mut() {
                    c.rules.clear();
                }
                for s in t.sets.values_mut() {
                    s.elements.clear();
                }
            }
            (_, "chain", Some(n)) => {
                t.chains.retain(|c| c.name != n);
                t.reindex();
            }
            (_, "set" | "map", Some(n)) => {
                t.sets.remove(&n);
            }
            (_, "element", Some(n)) => {
                let s = t
                    .sets
                    .get(&n)
                    .map(|s| (s.key.clone(), s.is_map.then(|| s.data.clone())));
                if let Some((key, data)) = s {
                    let (els, _) = expr::elements(&rest, 0, &key, data.as_deref())?;
                    if let Some(s) = t.sets.get_mut(&n) {
                        s.elements.retain(|(k, _)| !els.iter().any(|(d, _)| d == k));
                    }
                }
            }
            (_, "rule", Some(c)) => {
                let h = match (rest.first(), rest.get(1)) {
                    (Some(w), Some(n)) if w.is("handle") => n.s.parse::<u64>().ok(),
                    _ => None,
                };
                let Some(h) = h else {
                    return Err(err(
                        line,
                        "Error: syntax error: expected `delete rule FAMILY TABLE CHAIN handle N`",
                    ));
                };
                let gone = t.chain(&c).and_then(|i| {
                    let ch = &mut t.chains[i];
                    let k = ch.rules.iter().position(|r| r.handle == h)?;
                    Some(ch.rules.remove(k))
                });
                if gone.is_none() && cmd == "delete" {
                    return Err(err(line, format!("Error: Could not process rule: No such file or directory (handle {h} in chain {fam} {tname} {c})")));
                }
            }
            (_, "table", None) => {
                self.tables.remove(ti);
            }
            _ => {}
        }
        Ok(())
    }

    /// The body of `table FAMILY NAME { ... }` (the brace consumed).
    fn table_body(&mut self, p: &mut P, fam: &str, tname: &str) -> Result<(), NftError> {
        // the block's chains, in the order written (its rules take their
        // handles in this order)
        let mut order: Vec<String> = Vec::new();
        loop {
            p.skip_nl();
            let line = p.line();
            let Some(w) = p.peek().map(|t| t.s.clone()) else {
                return Err(p.unexpected("'}'"));
            };
            if let Some((kind, n)) = object_kind(p) {
                p.i += n;
                let name = p.name("string")?;
                let body = if p.peek().is_some_and(|t| t.is("{")) {
                    p.group()?
                } else {
                    Vec::new()
                };
                let obj = self.object(&kind, &name, &body, line)?;
                let t = self.table_mut(fam, tname);
                if t.objects.insert((kind, name), obj).is_none() {
                    t.pending += 1;
                }
                continue;
            }
            match w.as_str() {
                "}" => {
                    p.i += 1;
                    self.table_mut(fam, tname).assign_handles(&order);
                    return Ok(());
                }
                "comment" => {
                    p.until_end();
                }
                "flags" => {
                    p.i += 1;
                    let f = p.until_end();
                    let t = self.table_mut(fam, tname);
                    t.flags
                        .extend(f.iter().filter(|x| !x.is(",")).map(|x| x.s.clone()));
                }
                "set" | "map" => {
                    p.i += 1;
                    let name = p.name("string")?;
                    p.expect("{")?;
                    let mut s = NftSet {
                        name: name.clone(),
                        is_map: w == "map",
                        ..Default::default()
                    };
                    self.set_body(p, &mut s)?;
                    let t = self.table_mut(fam, tname);
                    if t.sets.insert(name, s).is_none() {
                        t.pending += 1;
                    }
                }
                "chain" => {
                    p.i += 1;
                    let name = p.name("string")?;
                    p.expect("{")?;
                    let mut c = NftChain {
                        name,
                        base: None,
                        rules: Vec::new(),
                        handle: 0,
                    };
                    self.table_mut(fam, tname);
                    self.chain_body(p, fam, tname, &mut c)?;
                    if !order.contains(&c.name) {
                        order.push(c.name.clone());
                    }
                    let t = self.table_mut(fam, tname);
                    match t.chain(&c.name) {
                        Some(i) => {
                            if c.base.is_some() {
                                t.chains[i].base = c.base;
                            }
                            t.chains[i].rules.extend(c.rules);
                        }
                        None => {
                            t.add_chain(c);
                        }
                    }
                }
                _ => return Err(p.unexpected("'}'")),
            }
        }
    }

    /// The body of a chain (the brace consumed): its hook spec, policy,
    /// and rules.
    fn chain_body(
        &mut self,
        p: &mut P,
        fam: &str,
        tname: &str,
        c: &mut NftChain,
    ) -> Result<(), NftError> {
        loop {
            p.skip_nl();
            let line = p.line();
            match p.peek().map(|t| (t.s.clone(), t.quoted)) {
                None => return Err(p.unexpected("'}'")),
                Some((s, false)) if s == "}" => {
                    p.i += 1;
                    return Ok(());
                }
                Some((s, false)) if s == "type" && selector(&p.t, p.i).is_none() => {
                    let body = p.until_end();
                    c.base = Some(chain_spec(&body, fam, line)?);
                }
                Some((s, false)) if s == "policy" => {
                    let body = p.until_end();
                    let drop = body.get(1).is_some_and(|x| x.s == "drop");
                    if let Some(b) = c.base.as_mut() {
                        b.policy_drop = drop;
                    }
                }
                Some((s, false)) if s == "comment" || s == "flags" => {
                    p.until_end();
                }
                Some((s, false)) if s == "devices" => {
                    let body = p.until_end();
                    if let Some(b) = c.base.as_mut() {
                        b.devices.extend(device_names(&body));
                    }
                }
                Some(_) => {
                    let toks = p.until_end();
                    let r = self.rule(fam, tname, &toks, line)?;
                    c.rules.push(r);
                }
            }
        }
    }

    /// The body of a set or map (the brace consumed).
    fn set_body(&mut self, p: &mut P, s: &mut NftSet) -> Result<(), NftError> {
        loop {
            p.skip_nl();
            let line = p.line();
            let Some(w) = p.peek().filter(|t| !t.quoted).map(|t| t.s.clone()) else {
                return Err(p.unexpected("'}'"));
            };
            match w.as_str() {
                "}" => {
                    p.i += 1;
                    return Ok(());
                }
                "elements" => {
                    p.i += 1;
                    p.expect("=")?;
                    let data = s.is_map.then(|| s.data.clone());
                    let (els, next) = expr::elements(&p.t, p.i, &s.key, data.as_deref())?;
                    p.i = next;
                    s.elements.extend(els);
                }
                "type" | "typeof" => {
                    p.i += 1;
                    let body = p.until_end();
                    set_type(s, &body, w == "typeof", line)?;
                }
                "flags" => {
                    p.i += 1;
                    let body = p.until_end();
                    for f in body.iter().filter(|x| !x.is(",")) {
                        s.flags.push(f.s.clone());
                        if f.s == "dynamic" {
                            s.dynamic = true;
                        }
                    }
                }
                "timeout" => {
                    p.i += 1;
                    let body = p.until_end();
                    let v = body.first().map(|x| x.s.clone()).unwrap_or_default();
                    s.timeout_ns = Some(
                        parse_nft_time(&v)
                            .ok_or_else(|| err(line, format!("Error: bad timeout '{v}'")))?,
                    );
                }
                "size" | "gc-interval" | "policy" | "comment" | "auto-merge" | "counter"
                | "quota" | "limit" | "ct" | "last" => {
                    p.until_end();
                }
                _ => return Err(p.unexpected("'}'")),
            }
        }
    }

    /// A named object's block (parser_bison.y `counter_block`...).
    fn object(
        &mut self,
        kind: &str,
        name: &str,
        body: &[Tok],
        line: usize,
    ) -> Result<NftObject, NftError> {
        let toks: Vec<Tok> = body
            .iter()
            .filter(|t| !t.is("\n") && !t.is(";"))
            .cloned()
            .collect();
        // the statement's words, without `comment "..."`
        let mut words: Vec<Tok> = Vec::new();
        let mut skip = false;
        for t in &toks {
            if std::mem::take(&mut skip) {
                continue;
            }
            if t.is("comment") {
                skip = true;
                continue;
            }
            words.push(t.clone());
        }
        let stmt = match kind {
            "limit" => {
                let start = usize::from(words.first().is_some_and(|t| t.is("rate")));
                let (mut e, _) = limit_args(&words, start, line)?;
                self.next_id += 1;
                if let Expr::Limit { id, .. } = &mut e {
                    *id = self.next_id;
                }
                Some(e)
            }
            "synproxy" => Some(Expr::Synproxy(super::stmt::synproxy_args(&words, 0).0)),
            "quota" => {
                let (mut e, _) = quota_args(&words, 0, line)?;
                self.next_id += 1;
                if let Expr::Quota { id, .. } = &mut e {
                    *id = self.next_id;
                }
                Some(e)
            }
            _ => None,
        };
        if kind == "flowtable"
            || kind == "secmark"
            || kind == "ct timeout"
            || kind == "ct expectation"
        {
            // kept; used only by statements that are themselves unmodelled
            // (synproxy, flow add) or have no effect podpath models
        }
        Ok(NftObject {
            kind: kind.to_string(),
            name: name.to_string(),
            stmt,
            body: render(&toks),
            line,
        })
    }

    /// Checks references, builds the set indexes and the hook lists.
    fn finish(&mut self) -> Result<(), NftError> {
        self.check()?;
        for t in self.tables.iter_mut() {
            for set in t.sets.values_mut() {
                set.build_index();
            }
        }
        self.bases.clear();
        self.bases6.clear();
        self.l2bases.clear();
        for (ti, t) in self.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                let Some(b) = &c.base else { continue };
                match (t.evaluated(), b.runs, b.l2) {
                    (true, true, Some(h)) => self
                        .l2bases
                        .entry(h)
                        .or_default()
                        .push((b.priority, ti, ci)),
                    (true, true, None) => {
                        // ip chains see IPv4 packets, ip6 chains IPv6
                        // ones, inet chains both
                        let e = (b.priority, ti, ci);
                        if t.family != "ip6" {
                            self.bases.entry(b.hook).or_default().push(e);
                        }
                        if t.family != "ip" {
                            self.bases6.entry(b.hook).or_default().push(e);
                        }
                    }
                    (false, ..) => {}
                    _ => self.unmodelled.push(Unmodelled {
                        line: b.line,
                        construct: format!(
                            "nft: {} base chain {} (hook {}) of table {} {}",
                            t.family, c.name, b.hook_name, t.family, t.name
                        ),
                        effect: "never run: podpath has no hook for this family".into(),
                    }),
                }
            }
        }
        Ok(())
    }

    /// Reads `nft list ruleset` output of a machine whose iptables is
    /// iptables-nft: the tables it marks as managed by iptables-nft are the
    /// iptables rules (read from `iptables-save` instead) and are left out.
    pub fn parse_listing(text: &str) -> Result<Nft, NftError> {
        let lines: Vec<&str> = text.lines().collect();
        let mut skip = vec![false; lines.len()];
        let mut i = 0;
        let mut warned = false;
        while i < lines.len() {
            let t = lines[i].trim_start();
            if t.starts_with("# Warning: table ") && t.contains("iptables-nft") {
                warned = true;
                i += 1;
                continue;
            }
            if !t.starts_with("table ") {
                i += 1;
                continue;
            }
            let mut depth = 0i32;
            let mut j = i;
            let mut builtin_chain = false;
            while j < lines.len() {
                let l = lines[j];
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                let lt = l.trim_start();
                if let Some(c) = lt.strip_prefix("chain ") {
                    let c = c.trim_end_matches('{').trim();
                    builtin_chain |=
                        ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"].contains(&c);
                }
                if depth <= 0 && (j > i || l.contains('}')) {
                    break;
                }
                j += 1;
            }
            let w: Vec<&str> = t.split_whitespace().collect();
            let iptables_name = matches!(w.get(1), Some(&"ip") | Some(&"ip6"))
                && w.get(2)
                    .is_some_and(|n| ["filter", "nat", "mangle", "raw", "security"].contains(n));
            if warned || (iptables_name && builtin_chain) {
                let last = j.min(lines.len() - 1);
                skip[i..=last].iter_mut().for_each(|k| *k = true);
            }
            warned = false;
            i = j + 1;
        }
        let kept: String = lines
            .iter()
            .zip(&skip)
            .map(|(l, s)| {
                if *s {
                    "\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        Nft::parse(&kept)
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// The built-in chain iptables-nft creates for `table`/`chain` (iptables
/// nft.c `legacy_table`: filter INPUT/FORWARD/OUTPUT at 0, mangle all five
/// at -150 (OUTPUT of type route), nat PREROUTING/OUTPUT at -100 and
/// INPUT/POSTROUTING at 100, raw PREROUTING/OUTPUT at -300, security
/// INPUT/FORWARD/OUTPUT at 50; policy accept).
fn iptables_nft_builtin(fam: &str, table: &str, chain: &str) -> Option<BaseChain> {
    if fam != "ip" && fam != "ip6" {
        return None;
    }
    let hook = Hook::from_iptables(chain)?;
    let (ty, priority) = match (table, hook) {
        ("filter", Hook::Input | Hook::Forward | Hook::Output) => (ChainType::Filter, 0),
        ("mangle", Hook::Output) => (ChainType::Route, -150),
        ("mangle", _) => (ChainType::Filter, -150),
        ("nat", Hook::Prerouting | Hook::Output) => (ChainType::Nat, -100),
        ("nat", Hook::Input | Hook::Postrouting) => (ChainType::Nat, 100),
        ("raw", Hook::Prerouting | Hook::Output) => (ChainType::Filter, -300),
        ("security", Hook::Input | Hook::Forward | Hook::Output) => (ChainType::Filter, 50),
        _ => return None,
    };
    Some(BaseChain {
        ty,
        hook_name: hook.name().to_string(),
        hook,
        runs: fam == "ip" || fam == "ip6",
        l2: None,
        priority,
        policy_drop: false,
        devices: Vec::new(),
        line: 0,
    })
}

/// Device names of `devices = { a, b }` / `device "x"`.
fn device_names(body: &[Tok]) -> Vec<String> {
    body.iter()
        .filter(|x| x.quoted || !["devices", "device", "=", "{", "}", ","].contains(&x.s.as_str()))
        .map(|x| x.s.clone())
        .collect()
}

/// `type filter|nat|route hook HOOK [device D] priority P`.
fn chain_spec(body: &[Tok], fam: &str, line: usize) -> Result<BaseChain, NftError> {
    let w: Vec<&str> = body.iter().map(|t| t.s.as_str()).collect();
    let ty = match w.get(1) {
        Some(&"filter") => ChainType::Filter,
        Some(&"nat") => ChainType::Nat,
        Some(&"route") => ChainType::Route,
        other => {
            return Err(err(
                line,
                format!("Error: unknown chain type {}", other.unwrap_or(&"")),
            ))
        }
    };
    let hook_name = w
        .iter()
        .position(|x| *x == "hook")
        .and_then(|i| w.get(i + 1))
        .map(|h| h.to_string())
        .ok_or_else(|| err(line, "syntax error, unexpected newline, expecting hook"))?;
    let known = match fam {
        "netdev" => ["ingress", "egress"].contains(&hook_name.as_str()),
        "arp" => ["input", "output"].contains(&hook_name.as_str()),
        "inet" => Hook::from_name(&hook_name).is_some() || hook_name == "ingress",
        _ => Hook::from_name(&hook_name).is_some(),
    };
    if !known {
        return Err(err(
            line,
            format!("Error: unknown chain hook {hook_name} (family {fam})"),
        ));
    }
    let pi = w
        .iter()
        .position(|x| *x == "priority")
        .ok_or_else(|| err(line, "syntax error, unexpected newline, expecting priority"))?;
    let end = w[pi + 1..]
        .iter()
        .position(|x| *x == ";" || *x == "policy")
        .map(|e| pi + 1 + e)
        .unwrap_or(w.len());
    let words: Vec<String> = w[pi + 1..end].iter().map(|s| s.to_string()).collect();
    let priority = family_priority(&words, fam).ok_or_else(|| {
        err(
            line,
            format!("Error: '{}' is not a valid priority", words.join(" ")),
        )
    })?;
    let policy_drop = w
        .iter()
        .position(|x| *x == "policy")
        .and_then(|i| w.get(i + 1))
        .is_some_and(|p| *p == "drop");
    let devices = match w.iter().position(|x| *x == "device" || *x == "devices") {
        Some(d) => device_names(&body[d..pi.max(d)]),
        None => Vec::new(),
    };
    let v4 = if fam == "ip" || fam == "ip6" || fam == "inet" {
        Hook::from_name(&hook_name)
    } else {
        None
    };
    let l2 = L2Hook::from_family(fam, &hook_name);
    let (hook, runs) = match v4 {
        Some(h) => (h, true),
        None => (Hook::Prerouting, l2.is_some()),
    };
    Ok(BaseChain {
        ty,
        hook_name,
        hook,
        runs,
        l2,
        priority,
        policy_drop,
        devices,
        line,
    })
}

/// `type A . B [: C]` / `typeof EXPR . EXPR [: EXPR]`.
fn set_type(s: &mut NftSet, body: &[Tok], typeof_: bool, line: usize) -> Result<(), NftError> {
    let colon = body.iter().position(|t| t.is(":"));
    let (k, d) = match colon {
        Some(c) => (&body[..c], Some(&body[c + 1..])),
        None => (body, None),
    };
    let parse = |part: &[Tok]| -> Result<Vec<KeyType>, NftError> {
        if !typeof_ {
            return Ok(part
                .iter()
                .filter(|t| !t.is("."))
                .map(|t| type_of_name(&t.s))
                .collect());
        }
        let mut out = Vec::new();
        let mut j = 0;
        while j < part.len() {
            if part[j].is(".") {
                j += 1;
                continue;
            }
            if part[j].is("numgen") {
                let (_, _, _, n) = numgen_args(part, j)
                    .ok_or_else(|| err(line, "syntax error, unexpected numgen"))?;
                out.push(KeyType::Other);
                j = n;
                continue;
            }
            match selector(part, j) {
                Some((info, n)) => {
                    out.push(info.ty);
                    j += n;
                }
                None => {
                    // `typeof ... : verdict`, objects, or an expression
                    // podpath does not read (values kept as symbols)
                    out.push(type_of_name(&part[j].s));
                    j += 1;
                }
            }
        }
        Ok(out)
    };
    s.key = parse(k)?;
    if let Some(d) = d {
        let objects = ["counter", "quota", "limit", "secmark", "synproxy"];
        let first = d.first().map(|t| t.s.as_str()).unwrap_or("");
        let ct_object = first == "ct"
            && (!typeof_
                || d.get(1)
                    .is_some_and(|t| ["helper", "timeout", "expectation"].contains(&t.s.as_str())));
        s.data = if objects.contains(&first) || ct_object {
            Vec::new()
        } else {
            parse(d)?
        };
        s.is_map = true;
    }
    Ok(())
}

/// The hooks of `t`'s base chains each chain is reached from (its own
/// for a base chain, through jumps and gotos for the others), as the
/// kernel's nft_chain_validate walks them.
fn chain_hooks(t: &NftTable) -> Vec<BTreeSet<String>> {
    let mut hooks: Vec<BTreeSet<String>> = vec![BTreeSet::new(); t.chains.len()];
    let index = |n: &str| t.chains.iter().position(|c| c.name == n);
    let mut todo: Vec<(usize, String)> = t
        .chains
        .iter()
        .enumerate()
        .filter_map(|(k, c)| c.base.as_ref().map(|b| (k, b.hook_name.clone())))
        .collect();
    while let Some((k, h)) = todo.pop() {
        if !hooks[k].insert(h.clone()) {
            continue;
        }
        for r in &t.chains[k].rules {
            for (n, chain) in refs(&r.exprs) {
                if let Some(j) = index(n).filter(|_| chain) {
                    todo.push((j, h.clone()));
                }
            }
        }
    }
    hooks
}

/// net/netfilter/nft_fib.c nft_fib_validate: `fib ... oif|oifname` runs
/// at prerouting, input and forward; `fib ... type` with `iif` there too,
/// with `oif` at output, postrouting and forward
/// (nft_chain_validate_hooks: -EOPNOTSUPP, "Could not process rule:
/// Operation not supported").
fn fib_hooks(t: &NftTable) -> Result<(), NftError> {
    if !matches!(t.family.as_str(), "ip" | "ip6" | "inet") {
        return Ok(());
    }
    let hooks = chain_hooks(t);
    for (c, hs) in t.chains.iter().zip(&hooks) {
        for r in c.rules.iter().filter(|r| r.text.contains("fib")) {
            let Ok(toks) = tokenize(&r.text) else {
                continue;
            };
            let w = |k: usize| toks.get(k).filter(|x| !x.quoted).map(|x| x.s.as_str());
            for k in (0..toks.len()).filter(|&k| w(k) == Some("fib")) {
                let mut j = k + 1;
                let mut flags = Vec::new();
                while let Some(f) =
                    w(j).filter(|f| ["saddr", "daddr", "mark", "iif", "oif"].contains(f))
                {
                    flags.push(f);
                    j += 1;
                    if w(j) == Some(".") {
                        j += 1;
                    } else {
                        break;
                    }
                }
                let allowed: &[&str] = match (w(j), flags.contains(&"iif"), flags.contains(&"oif"))
                {
                    (Some("oif" | "oifname"), _, _) | (Some("type"), true, _) => {
                        &["prerouting", "input", "forward"]
                    }
                    (Some("type"), false, true) => &["output", "postrouting", "forward"],
                    _ => continue,
                };
                if let Some(h) = hs.iter().find(|h| !allowed.contains(&h.as_str())) {
                    return Err(err(
                        r.line,
                        format!(
                            "Error: Could not process rule: Operation not supported (fib {} is not available at hook {h}: only {})",
                            render(&toks[k + 1..=j]),
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// evaluate.c expr_evaluate_relational: an address matched against a
/// named set of the other address family (`ip6 daddr @set1` of an
/// ipv4_addr set): "datatype mismatch, expected IPv6 address, expression
/// has type IPv4 address".
fn set_key_types(t: &NftTable, r: &NftRule) -> Result<(), NftError> {
    let Ok(toks) = tokenize(&r.text) else {
        return Ok(());
    };
    let w = |k: usize| toks.get(k).filter(|x| !x.quoted).map(|x| x.s.as_str());
    let desc = |k: &KeyType| match k {
        KeyType::Addr4 => Some("IPv4 address"),
        KeyType::Addr6 => Some("IPv6 address"),
        _ => None,
    };
    for k in 0..toks.len() {
        let want = match (w(k), w(k + 1)) {
            (Some("ip"), Some("saddr" | "daddr")) => KeyType::Addr4,
            (Some("ip6"), Some("saddr" | "daddr")) => KeyType::Addr6,
            _ => continue,
        };
        if k > 0 && w(k - 1) == Some(".") {
            continue;
        }
        let mut j = k + 2;
        if matches!(w(j), Some("==" | "!=" | "eq" | "ne")) {
            j += 1;
        }
        if w(j) != Some("@") {
            continue;
        }
        let Some(set) = w(j + 1).and_then(|n| t.sets.get(n)) else {
            continue;
        };
        if let ([have], Some(exp)) = (set.key.as_slice(), desc(&want)) {
            if let Some(got) = desc(have).filter(|_| *have != want) {
                return Err(err(
                    r.line,
                    format!("Error: datatype mismatch, expected {exp}, expression has type {got}"),
                ));
            }
        }
    }
    Ok(())
}

impl Nft {
    /// Every jump/goto names a chain of its table; every @set exists (nft:
    /// "Could not process rule: No such file or directory").
    fn check(&self) -> Result<(), NftError> {
        for t in &self.tables {
            for c in &t.chains {
                for r in &c.rules {
                    // a named counter, quota or limit must exist
                    // (nft_objref.c nft_objref_init: -ENOENT)
                    for e in &r.exprs {
                        if let Expr::ObjRef { kind, name } = e {
                            if matches!(kind.as_str(), "counter" | "quota" | "limit")
                                && !t.objects.contains_key(&(kind.clone(), name.clone()))
                            {
                                return Err(err(
                                    r.line,
                                    format!(
                                        "Error: Could not process rule: No such file or directory: {kind} '{name}' (in chain {}) does not exist in table {} {}",
                                        c.name, t.family, t.name
                                    ),
                                ));
                            }
                        }
                    }
                    flow_offload_ok(t, c, r)?;
                    set_key_types(t, r)?;
                    for (n, chain) in refs(&r.exprs) {
                        let ok = if chain {
                            t.chain(n).is_some()
                        } else {
                            t.sets.contains_key(n)
                        };
                        if !ok {
                            return Err(err(
                                r.line,
                                format!(
                                    "Error: Could not process rule: No such file or directory: {} '{n}' (in chain {}) does not exist in table {} {}",
                                    if chain { "chain" } else { "set or map" },
                                    c.name,
                                    t.family,
                                    t.name
                                ),
                            ));
                        }
                    }
                }
            }
            fib_hooks(t)?;
            for s in t.sets.values() {
                for (_, v) in &s.elements {
                    if let Some(Data::Verdict(NVerdict::Jump(n) | NVerdict::Goto(n))) = v {
                        if t.chain(n).is_none() {
                            return Err(err(
                                0,
                                format!(
                                    "Error: Could not process rule: No such file or directory: map {} points at chain '{n}', which does not exist",
                                    s.name
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolves `meta skuid|skgid NAME` with the dumped machine's passwd
    /// and group files, as `nft -f` on it does when it loads the script
    /// (nftables src/meta.c uid_type_parse/gid_type_parse: getpwnam/
    /// getgrnam, else a number): the rule then holds the id, and its text
    /// says the id, as `nft list` prints it (uid_type_print prints names
    /// only with `-u`/`--guid`). A name a given file lacks is nft's error
    /// ("Error: User does not exist" / "Error: Group does not exist") at
    /// the rule's line; without the file the name stays unresolved
    /// ([`Nft::unresolved`]).
    pub fn resolve_names(&mut self, etc: &crate::net::names::Etc) -> Result<(), NftError> {
        use crate::net::names::{Db, Lookup};
        for r in self
            .tables
            .iter_mut()
            .flat_map(|t| &mut t.chains)
            .flat_map(|c| &mut c.rules)
        {
            for e in &mut r.exprs {
                let Expr::Unresolved {
                    cmp,
                    db,
                    names,
                    construct,
                } = e
                else {
                    continue;
                };
                let mut ids = Vec::new();
                for n in names.iter() {
                    match etc.id(*db, n) {
                        Lookup::Found(id) => ids.push((n.clone(), id)),
                        Lookup::Missing => {
                            let what = if *db == Db::Passwd { "User" } else { "Group" };
                            return Err(NftError {
                                line: r.line,
                                message: format!("Error: {what} does not exist"),
                            });
                        }
                        Lookup::NoDb => {}
                    }
                }
                if ids.len() < names.len() {
                    continue;
                }
                let mut c = std::mem::replace(&mut **cmp, Expr::Nop(String::new()));
                if let Expr::Cmp { rhs, .. } = &mut c {
                    let vals: Vec<&mut Val> = match rhs {
                        Rhs::Vals(v) => v.iter_mut().collect(),
                        Rhs::Anon(els) => els.iter_mut().flatten().collect(),
                        _ => Vec::new(),
                    };
                    for v in vals {
                        if let Val::Sym(n) | Val::Str(n) = v {
                            if let Some((_, id)) = ids.iter().find(|(x, _)| x == n) {
                                *v = Val::Int(*id);
                            }
                        }
                    }
                }
                let mut words: Vec<String> = construct.split(' ').map(str::to_string).collect();
                for w in &mut words {
                    let (core, tail) = match w.find([',', '}']) {
                        Some(k) => w.split_at(k),
                        None => (w.as_str(), ""),
                    };
                    let core = core.trim_matches('"');
                    if let Some((_, id)) = ids.iter().find(|(x, _)| x == core) {
                        *w = format!("{id}{tail}");
                    }
                }
                let resolved = words.join(" ");
                r.text = r.text.replacen(construct.as_str(), &resolved, 1);
                *e = c;
            }
        }
        Ok(())
    }

    /// The `meta skuid|skgid` names no passwd/group file given resolved,
    /// by line (see [`crate::net::names`]).
    pub fn unresolved(&self) -> Vec<Unmodelled> {
        let mut out = Vec::new();
        for r in self
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
        {
            for e in &r.exprs {
                if let Expr::Unresolved { db, construct, .. } = e {
                    out.push(Unmodelled {
                        line: r.line,
                        construct: format!("nft: {construct}"),
                        effect: format!("{}: treated as not matching", db.needs_file()),
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// `nft list ruleset`-like text of the whole ruleset.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for t in &self.tables {
            s.push_str(&format!("table {} {} {{\n", t.family, t.name));
            for o in t.objects.values() {
                s.push_str(&format!("\t{} {} {{ {} }}\n", o.kind, o.name, o.body));
            }
            for set in t.sets.values() {
                s.push_str(&set_text(set));
            }
            for c in &t.chains {
                s.push_str(&format!("\tchain {} {{\n", c.name));
                if let Some(b) = &c.base {
                    s.push_str(&format!(
                        "\t\ttype {} hook {} priority {}; policy {};\n",
                        match b.ty {
                            ChainType::Filter => "filter",
                            ChainType::Nat => "nat",
                            ChainType::Route => "route",
                        },
                        b.hook_name,
                        b.priority,
                        if b.policy_drop { "drop" } else { "accept" }
                    ));
                }
                for r in &c.rules {
                    s.push_str(&format!("\t\t{}\n", r.text));
                }
                s.push_str("\t}\n");
            }
            s.push_str("}\n");
        }
        s
    }
}

fn verdicts(v: &NVerdict) -> Option<&str> {
    match v {
        NVerdict::Jump(n) | NVerdict::Goto(n) => Some(n.as_str()),
        _ => None,
    }
}

/// The names a rule refers to: (name, is a chain).
fn refs(exprs: &[Expr]) -> Vec<(&str, bool)> {
    let mut names: Vec<(&str, bool)> = Vec::new();
    for e in exprs {
        match e {
            Expr::Verdict(v) => names.extend(verdicts(v).map(|n| (n, true))),
            Expr::Numgen { map, .. } => names.extend(
                map.iter()
                    .filter_map(|(_, v)| verdicts(v))
                    .map(|n| (n, true)),
            ),
            Expr::Vmap { map, .. } => match map {
                MapRef::Named(m) => names.push((m, false)),
                MapRef::Anon(els) => names.extend(els.iter().filter_map(|(_, d)| match d {
                    Some(Data::Verdict(v)) => verdicts(v).map(|n| (n, true)),
                    _ => None,
                })),
            },
            Expr::Cmp {
                rhs: Rhs::Named(m), ..
            }
            | Expr::ObjMap {
                map: MapRef::Named(m),
                ..
            }
            | Expr::Update { set: m, .. } => names.push((m, false)),
            Expr::Nat {
                to:
                    NatTo::Map {
                        map: MapRef::Named(m),
                        ..
                    }
                    | NatTo::NumgenMap {
                        map: MapRef::Named(m),
                        ..
                    }
                    | NatTo::NumMap {
                        map: MapRef::Named(m),
                        ..
                    }
                    | NatTo::AddrPortMap {
                        map: MapRef::Named(m),
                        ..
                    }
                    | NatTo::PrefixMap {
                        map: MapRef::Named(m),
                        ..
                    },
                ..
            } => names.push((m, false)),
            _ => {}
        }
    }
    names
}

fn set_text(set: &NftSet) -> String {
    let mut s = format!(
        "\t{} {} {{\n",
        if set.is_map { "map" } else { "set" },
        set.name
    );
    let tn = |v: &[KeyType]| -> String {
        v.iter()
            .map(|k| type_name(*k))
            .collect::<Vec<_>>()
            .join(" . ")
    };
    if set.is_map {
        let d = if set.data.is_empty() {
            "counter".to_string()
        } else {
            tn(&set.data)
        };
        s.push_str(&format!("\t\ttype {} : {d}\n", tn(&set.key)));
    } else if !set.key.is_empty() {
        s.push_str(&format!("\t\ttype {}\n", tn(&set.key)));
    }
    if !set.flags.is_empty() {
        s.push_str(&format!("\t\tflags {}\n", set.flags.join(",")));
    }
    if let Some(t) = set.timeout_ns {
        s.push_str(&format!("\t\ttimeout {}ms\n", t / 1_000_000));
    }
    if !set.elements.is_empty() {
        let els: Vec<String> = set
            .elements
            .iter()
            .map(|(k, v)| {
                let k: Vec<String> = k
                    .iter()
                    .enumerate()
                    .map(|(i, x)| val_text(x, set.key.get(i).copied().unwrap_or_default()))
                    .collect();
                match v {
                    Some(v) => format!("{} : {v}", k.join(" . ")),
                    None => k.join(" . "),
                }
            })
            .collect();
        s.push_str(&format!("\t\telements = {{ {} }}\n", els.join(", ")));
    }
    s.push_str("\t}\n");
    s
}

/// A value as nft prints it for its type.
fn val_text(v: &Val, ty: KeyType) -> String {
    match (v, ty) {
        (Val::Range(a, b), KeyType::Addr4) => {
            format!("{}-{}", Ipv4Addr::from(*a), Ipv4Addr::from(*b))
        }
        _ => v.to_string(),
    }
}

/// The datatype name of a key type (the inverse of `type_of_name`).
fn type_name(k: KeyType) -> &'static str {
    match k {
        KeyType::Addr4 => "ipv4_addr",
        KeyType::Addr6 => "ipv6_addr",
        KeyType::Port => "inet_service",
        KeyType::Proto => "inet_proto",
        KeyType::Name => "ifname",
        KeyType::Mark => "mark",
        KeyType::CtState => "ct_state",
        KeyType::CtStatus => "ct_status",
        KeyType::TcpFlags => "tcp_flag",
        KeyType::IcmpType => "icmp_type",
        KeyType::Icmp6Type => "icmpv6_type",
        KeyType::IcmpCode => "icmp_code",
        KeyType::EtherType => "ether_type",
        KeyType::Ether => "ether_addr",
        KeyType::ArpOp => "arp_op",
        KeyType::PktType => "pkt_type",
        KeyType::Nfproto => "nf_proto",
        KeyType::FibType => "fib_addrtype",
        KeyType::Verdict => "verdict",
        KeyType::Time => "time",
        KeyType::Hour => "hour",
        KeyType::Day => "day",
        KeyType::Boolean => "boolean",
        KeyType::Other => "integer",
    }
}

/// A rule's `flow add|offload @NAME` as the kernel takes it
/// (net/netfilter/nft_flow_offload.c): the flowtable must exist in the
/// rule's table (`nft_flow_offload_init` → nft_flowtable_lookup: ENOENT),
/// the table be of family ip, ip6 or inet and a base chain's hook be
/// forward (`nft_flow_offload_validate`: EOPNOTSUPP).
fn flow_offload_ok(t: &NftTable, c: &NftChain, r: &NftRule) -> Result<(), NftError> {
    for e in &r.exprs {
        let Expr::FlowOffload { flowtable } = e else {
            continue;
        };
        if !t
            .objects
            .contains_key(&("flowtable".to_string(), flowtable.clone()))
        {
            return Err(err(
                r.line,
                format!(
                    "Error: Could not process rule: No such file or directory: flowtable '{flowtable}' does not exist in table {} {}",
                    t.family, t.name
                ),
            ));
        }
        let hook_ok = c.base.as_ref().is_none_or(|b| b.hook_name == "forward");
        if !matches!(t.family.as_str(), "ip" | "ip6" | "inet") || !hook_ok {
            return Err(err(
                r.line,
                format!(
                    "Error: Could not process rule: Operation not supported: flow offload runs in forward chains of ip, ip6 and inet tables only (chain {} of table {} {})",
                    c.name, t.family, t.name
                ),
            ));
        }
    }
    Ok(())
}

/// The handles a rule's anonymous objects take before its own (nft 1.0.6,
/// checked with `nft -a list ruleset`): each anonymous set of more than one
/// element (nft folds a one-element set into a comparison), each map or
/// vmap literal, and each binding chain (`jump { ... }`) with its rules. A
/// `meter`'s set is counted where the table's sets are.
fn anon_handles(toks: &[Tok]) -> u64 {
    let close = |from: usize| {
        let mut depth = 0i32;
        for (j, t) in toks.iter().enumerate().skip(from) {
            if t.is("{") {
                depth += 1;
            } else if t.is("}") {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
        }
        toks.len()
    };
    let mut n = 0;
    let mut i = 0;
    while i < toks.len() {
        if !toks[i].is("{") {
            i += 1;
            continue;
        }
        let end = close(i);
        let inner = &toks[i + 1..end.min(toks.len())];
        let prev = |k: usize| i.checked_sub(k).map(|j| &toks[j]);
        let is = |k: usize, w: &str| prev(k).is_some_and(|t| t.is(w));
        if is(1, "jump") || is(1, "goto") {
            n += 1;
            let mut depth = 0i32;
            let mut start = 0;
            for (j, t) in inner.iter().enumerate().chain(std::iter::once((
                inner.len(),
                &Tok {
                    s: ";".into(),
                    quoted: false,
                    line: 0,
                },
            ))) {
                if t.is("{") {
                    depth += 1;
                } else if t.is("}") {
                    depth -= 1;
                } else if depth == 0 && (t.is(";") || t.is("\n")) {
                    if j > start {
                        n += anon_handles(&inner[start..j]) + 1;
                    }
                    start = j + 1;
                }
            }
        } else if is(1, "vmap") || is(1, "map") {
            n += 1;
        } else if !is(2, "meter") && !is(2, "@") {
            let mut depth = 0i32;
            let commas = inner
                .iter()
                .filter(|t| {
                    if t.is("{") {
                        depth += 1;
                    } else if t.is("}") {
                        depth -= 1;
                    }
                    depth == 0 && t.is(",")
                })
                .count();
            if commas > 0 {
                n += 1;
            }
        }
        i = end + 1;
    }
    n
}
