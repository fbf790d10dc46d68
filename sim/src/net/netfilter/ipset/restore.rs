//! `ipset restore` input (what `ipset save` writes): one command a line, as
//! ipset's `restore` and `ipset_parse_line` read it (src/ipset.c /
//! lib/ipset.c: `build_argv` splits on blanks outside double quotes;
//! commands match as prefixes of their names and aliases, `ipset_match_cmd`
//! in src/ui.c; `-exist`/`-!` anywhere on a line), each applied in order as
//! the kernel would (ip_set_core.c: `ip_set_create`, `ip_set_uadt`,
//! `ip_set_rename`, `ip_set_swap`, `ip_set_destroy`, `ip_set_flush`).
//! Element syntax per set type follows lib/parse.c (`ipset_parse_ip4_net6`,
//! `ipset_parse_proto_port`, `ipset_parse_iface`, `ipset_parse_ether`,
//! `ipset_parse_setname`) and the type's `lib/ipset_<type>.c` argument
//! lists.

use super::{Dim, Elem, Family, Ipset, IpsetError, IpsetErrorKind, IpsetStore, Member};
use crate::net::netfilter::Unmodelled;
use crate::wire::Mac;

type K = IpsetErrorKind;

/// A set type: canonical name, old aliases, dimensions (lib/ipset_*.c).
struct TypeDef {
    name: &'static str,
    aliases: &'static [&'static str],
    dims: &'static [Dim],
}

use Dim::{Iface, Ip, Mac as DMac, Mark, Net, Port, Set};

const TYPES: &[TypeDef] = &[
    TypeDef {
        name: "bitmap:ip",
        aliases: &["ipmap"],
        dims: &[Ip],
    },
    TypeDef {
        name: "bitmap:ip,mac",
        aliases: &["macipmap"],
        dims: &[Ip, DMac],
    },
    TypeDef {
        name: "bitmap:port",
        aliases: &["portmap"],
        dims: &[Port],
    },
    TypeDef {
        name: "hash:ip",
        aliases: &["iphash"],
        dims: &[Ip],
    },
    TypeDef {
        name: "hash:ip,mac",
        aliases: &["ipmachash"],
        dims: &[Ip, DMac],
    },
    TypeDef {
        name: "hash:ip,mark",
        aliases: &["ipmarkhash"],
        dims: &[Ip, Mark],
    },
    TypeDef {
        name: "hash:ip,port",
        aliases: &["ipporthash"],
        dims: &[Ip, Port],
    },
    TypeDef {
        name: "hash:ip,port,ip",
        aliases: &["ipportiphash"],
        dims: &[Ip, Port, Ip],
    },
    TypeDef {
        name: "hash:ip,port,net",
        aliases: &["ipportnethash"],
        dims: &[Ip, Port, Net],
    },
    TypeDef {
        name: "hash:mac",
        aliases: &["machash"],
        dims: &[DMac],
    },
    TypeDef {
        name: "hash:net",
        aliases: &["nethash"],
        dims: &[Net],
    },
    TypeDef {
        name: "hash:net,iface",
        aliases: &["netifacehash"],
        dims: &[Net, Iface],
    },
    TypeDef {
        name: "hash:net,net",
        aliases: &["netnethash"],
        dims: &[Net, Net],
    },
    TypeDef {
        name: "hash:net,port",
        aliases: &["netporthash"],
        dims: &[Net, Port],
    },
    TypeDef {
        name: "hash:net,port,net",
        aliases: &["netportnethash"],
        dims: &[Net, Port, Net],
    },
    TypeDef {
        name: "list:set",
        aliases: &["setlist"],
        dims: &[Set],
    },
];

/// The commands of ipset in the order `ipset_commands` (src/ui.c) tries
/// them, with their names; `None` for those invalid in restore mode.
const COMMANDS: &[(Option<Cmd>, &[&str])] = &[
    (Some(Cmd::Create), &["create", "new", "-N"]),
    (Some(Cmd::Add), &["add", "-A"]),
    (Some(Cmd::Del), &["del", "-D"]),
    (Some(Cmd::Test), &["test", "-T"]),
    (Some(Cmd::Destroy), &["destroy", "x", "-X"]),
    (Some(Cmd::List), &["list", "-L"]),
    (Some(Cmd::List), &["save", "-S"]),
    (None, &["restore", "-R"]),
    (Some(Cmd::Flush), &["flush", "-F"]),
    (Some(Cmd::Rename), &["rename", "e", "-E"]),
    (Some(Cmd::Swap), &["swap", "w", "-W"]),
    (None, &["help", "-h", "-H"]),
    (None, &["version", "-v", "-V"]),
    (Some(Cmd::Quit), &["quit"]),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Create,
    Add,
    Del,
    Test,
    Destroy,
    List,
    Flush,
    Rename,
    Swap,
    Quit,
}

/// `ipset_match_cmd`: `arg` (two leading dashes ignored) is a prefix of a
/// name.
fn match_cmd(arg: &str) -> Option<Option<Cmd>> {
    let a = arg.strip_prefix("--").unwrap_or(arg);
    if a.is_empty() || a == "-" {
        return None;
    }
    COMMANDS
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.starts_with(a)))
        .map(|(c, _)| *c)
}

/// `build_argv`: words split on blanks outside double quotes.
fn argv(line: &str) -> Result<Vec<String>, IpsetErrorKind> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' | '\r' | '\n' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if quoted {
        return Err(K::Syntax("Missing close quote!".into()));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, IpsetErrorKind> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok().map(|x| x.to_string()),
        None => Some(s.to_string()),
    };
    v.and_then(|x| x.parse().ok())
        .ok_or_else(|| K::Syntax(format!("'{s}' is not a valid number")))
}

impl IpsetStore {
    /// Parses `ipset save` text (or any `ipset restore` input). Errors name
    /// the line.
    pub fn parse(text: &str, source: &str) -> Result<IpsetStore, IpsetError> {
        let mut st = IpsetStore::default();
        st.restore(text, source, false)?;
        Ok(st)
    }

    /// Applies `ipset restore` input to the sets, `exist` as `ipset
    /// -exist restore`.
    pub fn restore(&mut self, text: &str, source: &str, exist: bool) -> Result<(), IpsetError> {
        let r = self.restore_lines(text, source, exist);
        self.refresh_unmodelled();
        r
    }

    /// The sets podpath keeps but does not evaluate, by their `create` line.
    fn refresh_unmodelled(&mut self) {
        self.unmodelled = self
            .sets
            .values()
            .filter(|s| super::needs_mac(&s.dims))
            .map(|s| Unmodelled {
                line: s.line,
                construct: format!("ipset: {}", s.kind),
                effect: "netfilter's packet in podpath carries no MAC: a test of the set is taken as --assume-unmodelled says (not matching by default)".into(),
            })
            .collect();
        self.unmodelled.sort();
    }

    fn restore_lines(&mut self, text: &str, source: &str, exist: bool) -> Result<(), IpsetError> {
        for (n, line) in text.lines().enumerate() {
            let err = |kind| IpsetError {
                file: source.to_string(),
                line: n + 1,
                kind,
            };
            let l = line.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let mut w = argv(l).map_err(err)?;
            let before = w.len();
            w.retain(|a| !matches!(a.as_str(), "-exist" | "--exist" | "-!"));
            let exist = exist || w.len() != before;
            if w.is_empty() {
                continue;
            }
            match self.command(&w, n + 1, exist) {
                Ok(true) => {}
                Ok(false) => return Ok(()), // quit
                Err(k) => return Err(err(k)),
            }
        }
        Ok(())
    }

    /// One command line; `Ok(false)` for `quit`.
    fn command(&mut self, w: &[String], line: usize, exist: bool) -> Result<bool, IpsetErrorKind> {
        let cmd = match match_cmd(&w[0]) {
            Some(Some(c)) => c,
            Some(None) => {
                return Err(K::Syntax(format!(
                    "Command `{}' is invalid in restore mode.",
                    w[0]
                )))
            }
            None => return Err(K::Keyword(w[0].clone())),
        };
        let arg = |i: usize| -> Result<&str, IpsetErrorKind> {
            w.get(i)
                .map(String::as_str)
                .ok_or_else(|| K::MissingArg(w[0].clone()))
        };
        match cmd {
            Cmd::Create => self.create(arg(1)?, arg(2)?, &w[3..], line, exist)?,
            Cmd::Add | Cmd::Del | Cmd::Test => {
                self.adt(cmd, arg(1)?, arg(2)?, &w[3..], line, exist)?
            }
            Cmd::Destroy => self.destroy(w.get(1).map(String::as_str))?,
            Cmd::Flush => match w.get(1) {
                Some(n) => {
                    let s = self.get_mut(n)?;
                    s.members.clear();
                    s.index.clear();
                }
                None => self.sets.values_mut().for_each(|s| {
                    s.members.clear();
                    s.index.clear();
                }),
            },
            Cmd::Rename => self.rename(arg(1)?, arg(2)?)?,
            Cmd::Swap => self.swap(arg(1)?, arg(2)?)?,
            Cmd::List => {}
            Cmd::Quit => return Ok(false),
        }
        Ok(true)
    }

    fn get_mut(&mut self, name: &str) -> Result<&mut Ipset, IpsetErrorKind> {
        self.sets
            .get_mut(name)
            .ok_or_else(|| K::NoSuchSet(name.to_string()))
    }

    /// Whether a `list:set` holds `name`.
    fn referenced(&self, name: &str) -> bool {
        self.sets.values().any(|s| {
            s.members
                .iter()
                .any(|m| matches!(m.elems.first(), Some(Elem::Set(x)) if x == name))
        })
    }

    /// `destroy [NAME]` (ip_set_destroy): a set a list:set holds is in use.
    fn destroy(&mut self, name: Option<&str>) -> Result<(), IpsetErrorKind> {
        const IN_USE: &str = "Set cannot be destroyed: it is in use by a kernel component";
        match name {
            Some(n) => {
                if !self.sets.contains_key(n) {
                    return Err(K::NoSuchSet(n.to_string()));
                }
                if self.referenced(n) {
                    return Err(K::Refused(IN_USE));
                }
                self.sets.remove(n);
            }
            None => {
                // ip_set_destroy of all sets: busy when any is referenced
                if self.sets.keys().any(|n| self.referenced(n)) {
                    return Err(K::Refused(IN_USE));
                }
                self.sets.clear();
            }
        }
        Ok(())
    }

    /// `rename FROM TO` (ip_set_rename); a list:set's member follows it.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), IpsetErrorKind> {
        if self.sets.contains_key(to) {
            return Err(K::Refused(
                "Set cannot be renamed: a set with the new name already exists",
            ));
        }
        let mut s = self
            .sets
            .remove(from)
            .ok_or_else(|| K::NoSuchSet(from.to_string()))?;
        s.name = to.to_string();
        self.sets.insert(to.to_string(), s);
        for s in self.sets.values_mut() {
            for m in &mut s.members {
                if let Some(Elem::Set(x)) = m.elems.first_mut() {
                    if x == from {
                        *x = to.to_string();
                    }
                }
            }
        }
        Ok(())
    }

    /// `swap A B` (ip_set_swap): the contents trade places, the names (and
    /// so what list:sets and rules reference) stay.
    fn swap(&mut self, a: &str, b: &str) -> Result<(), IpsetErrorKind> {
        let sa = self
            .sets
            .get(a)
            .cloned()
            .ok_or_else(|| K::NoSuchSet(a.to_string()))?;
        let sb = self.sets.get(b).cloned().ok_or(K::Refused(
            "Sets cannot be swapped: the second set does not exist",
        ))?;
        if sa.kind != sb.kind || sa.family != sb.family {
            return Err(K::Refused(
                "The sets cannot be swapped: their type does not match",
            ));
        }
        self.sets.insert(
            a.to_string(),
            Ipset {
                name: a.to_string(),
                ..sb
            },
        );
        self.sets.insert(
            b.to_string(),
            Ipset {
                name: b.to_string(),
                ..sa
            },
        );
        Ok(())
    }

    /// `create NAME TYPE [options]` (ip_set_create; -exist: an identical
    /// set is kept).
    fn create(
        &mut self,
        name: &str,
        kind: &str,
        opts: &[String],
        line: usize,
        exist: bool,
    ) -> Result<(), IpsetErrorKind> {
        if name.len() > 31 {
            return Err(K::Syntax(format!(
                "setname '{name}' is longer than 31 characters"
            )));
        }
        let t = TYPES
            .iter()
            .find(|t| t.name == kind || t.aliases.contains(&kind))
            .ok_or_else(|| K::SetType(kind.to_string()))?;
        let set = create_opts(name, t, opts, line)?;
        if let Some(old) = self.sets.get(name) {
            if exist && old.kind == set.kind && old.family == set.family {
                return Ok(());
            }
            return Err(K::Exists);
        }
        self.sets.insert(name.to_string(), set);
        Ok(())
    }

    /// `add`/`del`/`test NAME ELEMENT [options]` (ip_set_uadt and the
    /// type's `uadt`).
    fn adt(
        &mut self,
        cmd: Cmd,
        name: &str,
        elem: &str,
        opts: &[String],
        line: usize,
        exist: bool,
    ) -> Result<(), IpsetErrorKind> {
        let set = self
            .sets
            .get(name)
            .ok_or_else(|| K::NoSuchSet(name.to_string()))?;
        let mut opts = opts.to_vec();
        let mut elem = elem;
        if set.dims == [Dim::Set] {
            // the old `NAME,before|after,REF` form
            let mut parts = elem.split(',');
            if let (Some(n), Some(w), Some(r), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                elem = n;
                opts.insert(0, w.to_string());
                opts.insert(1, r.to_string());
            }
        }
        let mut m = parse_member(set, elem, line)?;
        let pos = adt_opts(set, cmd, &mut m, &opts)?;
        if set.dims == [Dim::Set] {
            return self.adt_list(cmd, name, m, pos, exist);
        }
        let entries = expand(set, &m.elems)?;
        if cmd == Cmd::Test {
            let ok = entries.iter().all(|e| {
                test_element(
                    set,
                    &Member {
                        elems: e.clone(),
                        nomatch: m.nomatch,
                        ..Member::default()
                    },
                )
            });
            if !ok {
                return Err(K::Syntax(format!("{elem} is NOT in set {name}.")));
            }
            return Ok(());
        }
        let set = self.get_mut(name)?;
        for e in entries {
            let key = key_of(set, &e);
            let found = set.index.contains(&key);
            if let (Cmd::Add, true) = (cmd, found) {
                // bitmap:ip,mac: a MAC is filled into an entry without one
                if let Some(x) = set
                    .members
                    .iter_mut()
                    .find(|x| key_of_kind(&x.elems, &set.kind) == key)
                {
                    if matches!(x.elems.get(1), Some(Elem::Mac(None))) {
                        *x = Member {
                            elems: e,
                            ..m.clone()
                        };
                        continue;
                    }
                }
            }
            match (cmd, found) {
                (Cmd::Add, true) if exist => {
                    if let Some(x) = set
                        .members
                        .iter_mut()
                        .find(|x| key_of_kind(&x.elems, &set.kind) == key)
                    {
                        *x = Member {
                            elems: e,
                            ..m.clone()
                        };
                    }
                }
                (Cmd::Add, true) => {
                    return Err(K::Refused(
                        "Element cannot be added to the set: it's already added",
                    ))
                }
                (Cmd::Add, false) => {
                    if set.members.len() >= set.maxelem && set.kind.starts_with("hash:") {
                        return Err(K::Refused("Hash is full, cannot add more elements"));
                    }
                    set.index.insert(key);
                    set.members.push(Member {
                        elems: e,
                        ..m.clone()
                    });
                }
                (_, true) => {
                    set.index.remove(&key);
                    let kind = set.kind.clone();
                    set.members.retain(|x| key_of_kind(&x.elems, &kind) != key);
                }
                (_, false) if exist => {}
                (_, false) => {
                    return Err(K::Refused(
                        "Element cannot be deleted from the set: it's not added",
                    ))
                }
            }
        }
        Ok(())
    }

    /// `add`/`del`/`test` of a list:set: the member set must exist and not
    /// be a list:set; `before`/`after` place it (ip_set_list_set.c
    /// `list_set_uadd`, `list_set_udel`, `list_set_utest`).
    fn adt_list(
        &mut self,
        cmd: Cmd,
        name: &str,
        m: Member,
        pos: Option<(bool, String)>,
        exist: bool,
    ) -> Result<(), IpsetErrorKind> {
        let Some(Elem::Set(member)) = m.elems.first().cloned() else {
            return Err(K::Refused("No reference set specified."));
        };
        match self.sets.get(&member) {
            None => {
                return Err(K::Refused(
                    "Set to be added/deleted/tested as element does not exist.",
                ))
            }
            Some(s) if s.dims == [Dim::Set] => {
                return Err(K::Refused(
                    "Sets with list:set type cannot be added to the set.",
                ))
            }
            _ => {}
        }
        let set = self.get_mut(name)?;
        let idx = |n: &str| {
            set.members
                .iter()
                .position(|x| matches!(x.elems.first(), Some(Elem::Set(s)) if s == n))
        };
        let at = idx(&member);
        let refpos = pos.as_ref().map(|(_, r)| {
            idx(r).ok_or(K::Refused(
                "Set to be added/deleted/tested as element does not exist.",
            ))
        });
        match cmd {
            Cmd::Add => {
                if let Some(i) = at {
                    if exist {
                        set.members[i] = m;
                        return Ok(());
                    }
                    return Err(K::Refused(
                        "Element cannot be added to the set: it's already added",
                    ));
                }
                let i = match (&pos, refpos) {
                    (Some((true, _)), Some(r)) => r?,
                    (Some((false, _)), Some(r)) => r? + 1,
                    _ => set.members.len(),
                };
                set.members.insert(i, m);
            }
            Cmd::Del | Cmd::Test => {
                let ok = match (at, &pos, refpos) {
                    (Some(i), Some((before, _)), Some(Ok(r))) => {
                        if *before {
                            i + 1 == r
                        } else {
                            r + 1 == i
                        }
                    }
                    (Some(_), None, _) => true,
                    _ => false,
                };
                match (cmd, ok) {
                    (Cmd::Del, true) => {
                        if let Some(i) = at {
                            set.members.remove(i);
                        }
                    }
                    (Cmd::Del, false) if exist => {}
                    (Cmd::Del, false) => {
                        return Err(K::Refused(
                            "Element cannot be deleted from the set: it's not added",
                        ))
                    }
                    (_, true) => {}
                    (_, false) => return Err(K::Syntax(format!("{member} is NOT in set {name}."))),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// An option's name with its leading dashes dropped (ipset takes
/// `--hashsize` and `-hashsize` as `hashsize`; `-4`, `-6` stay).
fn opt_name(o: &str) -> &str {
    if matches!(o, "-4" | "-6") {
        return o;
    }
    o.strip_prefix("--")
        .or_else(|| o.strip_prefix('-'))
        .unwrap_or(o)
}

/// The `create` options of a type (lib/ipset_<type>.c `create_args`;
/// bucketsize, initval and bitmask from ipset 7).
fn create_opts(
    name: &str,
    t: &TypeDef,
    opts: &[String],
    line: usize,
) -> Result<Ipset, IpsetErrorKind> {
    let hash = t.name.starts_with("hash:");
    let mut s = Ipset {
        name: name.to_string(),
        kind: t.name.to_string(),
        family: if hash { Family::Inet } else { Family::Unspec },
        dims: t.dims.to_vec(),
        members: Vec::new(),
        index: Default::default(),
        options: Vec::new(),
        range: None,
        netmask: None,
        markmask: u32::MAX,
        maxelem: if t.name == "list:set" { 8 } else { 65536 },
        timeout: None,
        counters: false,
        comment: false,
        skbinfo: false,
        line,
    };
    let mut i = 0;
    while i < opts.len() {
        let o = opt_name(&opts[i]);
        let flag = matches!(
            o,
            "counters" | "comment" | "skbinfo" | "forceadd" | "-4" | "-6"
        );
        let val = if flag {
            ""
        } else {
            opts.get(i + 1)
                .map(String::as_str)
                .ok_or_else(|| K::Syntax(format!("Missing mandatory argument of option '{o}'")))?
        };
        let ok = match o {
            "family" | "-4" | "-6" if hash => {
                s.family = match (o, val) {
                    ("-4", _) | (_, "inet" | "ipv4") => Family::Inet,
                    ("-6", _) | (_, "inet6" | "ipv6") => Family::Inet6,
                    _ => return Err(K::Syntax(format!("unknown family '{val}'"))),
                };
                if t.dims.contains(&Dim::Mac) && t.name == "hash:mac" {
                    return Err(K::Refused("Protocol family not supported by the set type"));
                }
                true
            }
            "hashsize" | "probes" | "resize" | "gc" | "bucketsize" | "initval" if hash => {
                num::<u64>(val)?;
                true
            }
            // ipset 4's hash:ip,port* `--from/--to/--network`: accepted,
            // without effect (lib/args.c IPSET_ARG_FROM_IP...)
            "from" | "to" | "network" if hash => true,
            "maxelem" if hash => {
                s.maxelem = num(val)?;
                true
            }
            "size" if t.name == "list:set" => {
                s.maxelem = num::<usize>(val)?.max(4);
                true
            }
            "netmask" | "bitmask" if matches!(t.name, "hash:ip" | "bitmap:ip" | "hash:net,net") => {
                let n: u8 = num(val)?;
                if n == 0 || n > 128 {
                    return Err(K::Refused("The value of the netmask parameter is invalid"));
                }
                s.netmask = Some(n);
                true
            }
            "markmask" if t.name == "hash:ip,mark" => {
                s.markmask = num(val)?;
                if s.markmask == 0 {
                    return Err(K::Refused("The value of the markmask parameter is invalid"));
                }
                true
            }
            "range" | "from" | "network" if t.name.starts_with("bitmap:") => {
                s.range = Some(bitmap_range(
                    t.name,
                    o,
                    val,
                    opts.get(i + 2),
                    opts.get(i + 3),
                )?);
                if o == "from" {
                    i += 2;
                }
                true
            }
            "timeout" => {
                s.timeout = Some(num(val)?);
                true
            }
            "counters" => {
                s.counters = true;
                true
            }
            "comment" => {
                s.comment = true;
                true
            }
            "skbinfo" => {
                s.skbinfo = true;
                true
            }
            "forceadd" => hash,
            _ => false,
        };
        if !ok {
            return Err(K::Option(o.to_string()));
        }
        s.options.push((o.to_string(), val.to_string()));
        i += if flag { 1 } else { 2 };
    }
    if t.name.starts_with("bitmap:") && s.range.is_none() {
        return Err(K::Syntax(format!(
            "Argument `range' is required for type {}",
            t.name
        )));
    }
    if let (Some(n), Family::Inet | Family::Unspec) = (s.netmask, s.family) {
        if n > 32 {
            return Err(K::Refused("The value of the netmask parameter is invalid"));
        }
    }
    // IPSET_BITMAP_MAX_RANGE: at most 65536 entries (netmask blocks)
    if let Some((lo, hi)) = s.range {
        let n = s.netmask.unwrap_or(32).min(32);
        if (u64::from(hi) - u64::from(lo)) >> (32 - n) >= 65536 {
            return Err(K::Refused(
                "The range you specified exceeds the size limit of the set type",
            ));
        }
    }
    Ok(s)
}

/// `range FROM-TO|NET` (bitmap:ip, bitmap:ip,mac), `range P1-P2`
/// (bitmap:port), or the old `from A to B` / `network NET`; at most 65536
/// entries (IPSET_BITMAP_MAX_RANGE).
fn bitmap_range(
    kind: &str,
    opt: &str,
    val: &str,
    to_kw: Option<&String>,
    to: Option<&String>,
) -> Result<(u32, u32), IpsetErrorKind> {
    let text = match (opt, to_kw.map(|s| opt_name(s)), to) {
        ("from", Some("to"), Some(t)) => format!("{val}-{t}"),
        ("from", _, _) => return Err(K::Syntax("from needs to".into())),
        _ => val.to_string(),
    };
    let (lo, hi) = if kind == "bitmap:port" {
        let (a, b) = text.split_once('-').unwrap_or((&text, &text));
        (port_num(a, "tcp")? as u32, port_num(b, "tcp")? as u32)
    } else {
        match v4_part(&text, true)? {
            Elem::V4 { lo, hi, .. } => (lo, hi),
            _ => return Err(K::Address(text)),
        }
    };
    if lo > hi {
        return Err(K::Syntax(format!("range {text}: FROM is above TO")));
    }
    Ok((lo, hi))
}

/// The options after an element: extensions (which the set must have been
/// created with), `nomatch` (hash:net* types), `before|after NAME`
/// (list:set), `wildcard` (hash:net,iface); returns the list:set position.
fn adt_opts(
    set: &Ipset,
    cmd: Cmd,
    m: &mut Member,
    opts: &[String],
) -> Result<Option<(bool, String)>, IpsetErrorKind> {
    let mut pos = None;
    let mut i = 0;
    let has_net = set.dims.contains(&Dim::Net) || set.kind == "hash:net,iface";
    while i < opts.len() {
        let o = opt_name(&opts[i]);
        if o == "nomatch" && has_net {
            m.nomatch = true;
            i += 1;
            continue;
        }
        if o == "wildcard" && set.kind == "hash:net,iface" {
            if let Some(Elem::Iface { wildcard, .. }) = m.elems.get_mut(1) {
                *wildcard = true;
            }
            i += 1;
            continue;
        }
        let val = opts
            .get(i + 1)
            .ok_or_else(|| K::Syntax(format!("Missing mandatory argument of option '{o}'")))?;
        let add = cmd == Cmd::Add;
        match o {
            "before" | "after" if set.dims == [Dim::Set] => {
                pos = Some((o == "before", val.clone()));
            }
            "timeout" if add && set.timeout.is_some() => m.timeout = Some(num(val)?),
            "timeout" if add => {
                return Err(K::Refused(
                    "Timeout cannot be used: set was created without timeout support",
                ))
            }
            "packets" | "bytes" if add && set.counters => {
                let v = Some(num(val)?);
                if o == "packets" {
                    m.packets = v;
                } else {
                    m.bytes = v;
                }
            }
            "packets" | "bytes" if add => {
                return Err(K::Refused(
                    "Packet/byte counters cannot be used: set was created without counter support",
                ))
            }
            "comment" if add && set.comment => m.comment = Some(val.clone()),
            "comment" if add => {
                return Err(K::Refused(
                    "Comment cannot be used: set was created without comment support",
                ))
            }
            "skbmark" | "skbprio" | "skbqueue" if add && set.skbinfo => {
                m.skbinfo.push((o.to_string(), val.clone()))
            }
            "skbmark" | "skbprio" | "skbqueue" if add => {
                return Err(K::Refused(
                    "Skbinfo mapping cannot be used: set was created without skbinfo support",
                ))
            }
            _ => return Err(K::Option(o.to_string())),
        }
        i += 2;
    }
    Ok(pos)
}

/// What identifies an entry: its elements, but a `bitmap:ip,mac` entry by
/// its address alone (the bitmap is indexed by address).
fn key_of(set: &Ipset, elems: &[Elem]) -> Vec<Elem> {
    key_of_kind(elems, &set.kind)
}

fn key_of_kind(elems: &[Elem], kind: &str) -> Vec<Elem> {
    if kind == "bitmap:ip,mac" {
        elems.iter().take(1).cloned().collect()
    } else {
        elems.to_vec()
    }
}

/// The kernel entries an element stands for (the type's `uadt` walks its
/// ranges): an address range or network of an `ip` part is one entry per
/// address (per netmask block), a range of a `net` part the CIDR blocks
/// that cover it (`ip_set_range_to_cidr`), a port range one entry per
/// port; at most the set's `maxelem` (else the hash is full).
fn expand(set: &Ipset, elems: &[Elem]) -> Result<Vec<Vec<Elem>>, IpsetErrorKind> {
    let mut alts: Vec<Vec<Elem>> = Vec::new();
    let limit = set.maxelem.max(65536) as u64;
    let mut total: u64 = 1;
    for (e, d) in elems.iter().zip(&set.dims) {
        let v = match (e, d) {
            (Elem::V4 { lo, hi, .. }, Dim::Ip) => {
                let n = set.netmask.filter(|n| *n <= 32).unwrap_or(32);
                let step = 1u64 << (32 - n);
                let count = (u64::from(*hi) - u64::from(*lo)) / step + 1;
                if count.saturating_mul(total) > limit {
                    return Err(K::Refused("Hash is full, cannot add more elements"));
                }
                let mut out = Vec::new();
                let mut a = u64::from(*lo);
                while a <= u64::from(*hi) {
                    let x = a as u32;
                    let mask = if n == 0 { 0 } else { u32::MAX << (32 - n) };
                    out.push(Elem::V4 {
                        lo: x & mask,
                        hi: (x & mask) | !mask,
                        cidr: n,
                    });
                    a = (u64::from(x & mask)) + step;
                }
                out
            }
            (Elem::V4 { lo, hi, cidr }, Dim::Net) => {
                let mut out = Vec::new();
                let (mut a, hi) = (u64::from(*lo), u64::from(*hi));
                if hi - a + 1 == 1u64 << (32 - cidr) && a.trailing_zeros() >= u32::from(32 - cidr) {
                    out.push(e.clone());
                } else {
                    while a <= hi {
                        let mut c = 32u32 - a.trailing_zeros().min(32);
                        while a + (1u64 << (32 - c)) - 1 > hi {
                            c += 1;
                        }
                        let sz = 1u64 << (32 - c);
                        out.push(Elem::V4 {
                            lo: a as u32,
                            hi: (a + sz - 1) as u32,
                            cidr: c as u8,
                        });
                        a += sz;
                        if out.len() as u64 > limit {
                            return Err(K::Refused("Hash is full, cannot add more elements"));
                        }
                    }
                }
                out
            }
            (Elem::Port { proto, lo, hi }, _) => (*lo..=*hi)
                .map(|p| Elem::Port {
                    proto: *proto,
                    lo: p,
                    hi: p,
                })
                .collect(),
            _ => vec![e.clone()],
        };
        total = total.saturating_mul(v.len() as u64);
        if total > limit {
            return Err(K::Refused("Hash is full, cannot add more elements"));
        }
        alts.push(v);
    }
    let mut out: Vec<Vec<Elem>> = vec![Vec::new()];
    for v in alts {
        let mut next = Vec::with_capacity(out.len() * v.len());
        for prefix in &out {
            for e in &v {
                let mut p = prefix.clone();
                p.push(e.clone());
                next.push(p);
            }
        }
        out = next;
    }
    Ok(out)
}

/// An element of a set, part by part as the type's dimensions say.
fn parse_member(set: &Ipset, text: &str, line: usize) -> Result<Member, IpsetErrorKind> {
    if set.dims == [Dim::Set] {
        return Ok(Member {
            elems: vec![Elem::Set(text.to_string())],
            line,
            ..Member::default()
        });
    }
    // an interface name may hold commas only as the last part
    let parts: Vec<&str> = text.splitn(set.dims.len(), ',').collect();
    let mac_optional = set.kind == "bitmap:ip,mac" && parts.len() == 1;
    if parts.len() != set.dims.len() && !mac_optional {
        return Err(K::Parts {
            element: text.to_string(),
            parts: parts.len(),
            set: set.name.clone(),
            kind: set.kind.clone(),
            needs: set.dims.len(),
        });
    }
    let mut elems = Vec::new();
    for (i, d) in set.dims.iter().enumerate() {
        let Some(p) = parts.get(i) else {
            elems.push(Elem::Mac(None));
            continue;
        };
        elems.push(parse_part(set, *d, p)?);
    }
    if let (Some(r), Some(Elem::V4 { lo, hi, .. })) = (set.range, elems.first()) {
        if set.kind != "bitmap:port" && (*lo < r.0 || *hi > r.1) {
            return Err(K::Refused("Element is out of the range of the set"));
        }
    }
    Ok(Member {
        elems,
        line,
        ..Member::default()
    })
}

fn parse_part(set: &Ipset, d: Dim, p: &str) -> Result<Elem, IpsetErrorKind> {
    Ok(match d {
        Dim::Ip | Dim::Net => {
            let e = match set.family {
                Family::Inet6 => v6_part(p)?,
                _ => v4_part(p, true)?,
            };
            // hash:net types store no /0 (IPSET_ERR_INVALID_CIDR), but
            // hash:net,iface does
            if let Elem::V4 { cidr: 0, .. } | Elem::V6 { cidr: 0, .. } = e {
                if d == Dim::Net && set.kind != "hash:net,iface" {
                    return Err(K::Refused(
                        "The value of the CIDR parameter of the IP address is invalid",
                    ));
                }
            }
            let null = matches!(
                e,
                Elem::V4 { lo: 0, hi: 0, .. } | Elem::V6 { lo: 0, hi: 0, .. }
            );
            if null && set.kind == "hash:ip" {
                return Err(K::Refused(
                    "Null-valued element, cannot be stored in a hash type of set",
                ));
            }
            match (set.netmask, e) {
                (Some(n), Elem::V6 { lo, hi, cidr }) if d == Dim::Ip && n <= 128 => {
                    let mask = if n == 0 { 0 } else { u128::MAX << (128 - n) };
                    Elem::V6 {
                        lo: lo & mask,
                        hi: hi | !mask,
                        cidr: cidr.min(n),
                    }
                }
                (Some(n), Elem::V4 { lo, hi, cidr }) if d == Dim::Ip && n <= 32 => {
                    let mask = if n == 0 { 0 } else { u32::MAX << (32 - n) };
                    Elem::V4 {
                        lo: lo & mask,
                        hi: hi | !mask,
                        cidr: cidr.min(n),
                    }
                }
                (_, e) => e,
            }
        }
        Dim::Port => {
            if set.kind == "bitmap:port" {
                let (proto, lo, hi) = proto_port(p, set.family, true)?;
                let _ = proto;
                if let Some(r) = set.range {
                    if u32::from(lo) < r.0 || u32::from(hi) > r.1 {
                        return Err(K::Refused("Element is out of the range of the set"));
                    }
                }
                Elem::Port { proto: 0, lo, hi }
            } else {
                let (proto, lo, hi) = proto_port(p, set.family, false)?;
                Elem::Port { proto, lo, hi }
            }
        }
        Dim::Iface => {
            let (name, physdev) = match p.strip_prefix("physdev:") {
                Some(n) => (n, true),
                None => (p, false),
            };
            if name.is_empty() || name.len() > 15 {
                return Err(K::Syntax(format!("invalid interface name '{p}'")));
            }
            Elem::Iface {
                name: name.to_string(),
                physdev,
                wildcard: false,
            }
        }
        Dim::Mark => Elem::Mark(num::<u32>(p)? & set.markmask),
        Dim::Mac => {
            let mac = Mac::parse(p)
                .ok_or_else(|| K::Syntax(format!("cannot parse '{p}' as ethernet address")))?;
            if mac == Mac::ZERO && set.kind == "hash:mac" {
                return Err(K::Refused(
                    "Null-valued element, cannot be stored in a hash type of set",
                ));
            }
            Elem::Mac(Some(mac))
        }
        Dim::Set => Elem::Set(p.to_string()),
    })
}

/// `ipset_parse_ip4_net6`/`ipset_parse_ipnet`: `A.B.C.D`, `A.B.C.D/N`,
/// `A-B` (a range is allowed where `range_ok`).
fn v4_part(p: &str, range_ok: bool) -> Result<Elem, IpsetErrorKind> {
    let bad = || K::Address(p.to_string());
    let ip = |s: &str| -> Result<u32, IpsetErrorKind> {
        // ipset resolves names too; a dump holds numbers (a short form
        // such as `0/0` is inet_pton-invalid but ipset accepts it via
        // getaddrinfo: accepted as zeros-padded)
        let s2;
        let s = if s.matches('.').count() < 3 && s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            let mut v: Vec<&str> = s.split('.').collect();
            while v.len() < 4 {
                v.push("0");
            }
            s2 = v.join(".");
            s2.as_str()
        } else {
            s
        };
        s.parse::<std::net::Ipv4Addr>()
            .map(u32::from)
            .map_err(|_| bad())
    };
    if let Some((a, n)) = p.split_once('/') {
        let n: u8 = n.parse().map_err(|_| bad())?;
        if n > 32 {
            return Err(K::Refused(
                "The value of the CIDR parameter of the IP address is invalid",
            ));
        }
        let mask = if n == 0 { 0 } else { u32::MAX << (32 - n) };
        let a = ip(a)?;
        return Ok(Elem::V4 {
            lo: a & mask,
            hi: (a & mask) | !mask,
            cidr: n,
        });
    }
    if let Some((a, b)) = p.split_once('-') {
        if !range_ok {
            return Err(K::Refused(
                "Range is not supported in the \"net\" component of the element",
            ));
        }
        let (lo, hi) = (ip(a)?, ip(b)?);
        if lo > hi {
            return Err(bad());
        }
        // the most specific block of the range ranks it
        let span = u64::from(hi - lo) + 1;
        let cidr = 32 - (64 - span.leading_zeros() - 1) as u8;
        return Ok(Elem::V4 { lo, hi, cidr });
    }
    let a = ip(p)?;
    Ok(Elem::V4 {
        lo: a,
        hi: a,
        cidr: 32,
    })
}

/// An IPv6 address, network or range, kept for when IPv6 lands.
fn v6_part(p: &str) -> Result<Elem, IpsetErrorKind> {
    let bad = || K::Address(p.to_string());
    let ip = |s: &str| {
        s.parse::<std::net::Ipv6Addr>()
            .map(u128::from)
            .map_err(|_| bad())
    };
    if let Some((a, n)) = p.split_once('/') {
        let n: u8 = n.parse().map_err(|_| bad())?;
        if n > 128 {
            return Err(K::Refused(
                "The value of the CIDR parameter of the IP address is invalid",
            ));
        }
        let mask = if n == 0 { 0 } else { u128::MAX << (128 - n) };
        let a = ip(a)?;
        return Ok(Elem::V6 {
            lo: a & mask,
            hi: (a & mask) | !mask,
            cidr: n,
        });
    }
    if p.contains('-') {
        // ipset_parse_ip4_net6 / ipset_parse_ip4_single6: IPv6 as an
        // address or a network only
        return Err(K::Syntax(format!("IPv6 range '{p}' is not supported")));
    }
    let a = ip(p)?;
    Ok(Elem::V6 {
        lo: a,
        hi: a,
        cidr: 128,
    })
}

/// Protocol names of /etc/protocols that dumps carry (getprotobyname).
const PROTOS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ipip", 4),
    ("ipencap", 4),
    ("tcp", 6),
    ("egp", 8),
    ("udp", 17),
    ("ipv6", 41),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("ospf", 89),
    ("pim", 103),
    ("vrrp", 112),
    ("l2tp", 115),
    ("sctp", 132),
    ("udplite", 136),
];

/// Service names of /etc/services that rules use (getservbyname).
const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("submission", 587),
    ("ldaps", 636),
    ("imaps", 993),
    ("pop3s", 995),
    ("mysql", 3306),
    ("postgresql", 5432),
];

/// lib/icmp.c `icmp_typecodes` (prefix match, case-insensitive).
const ICMP: &[(&str, u8, u8)] = &[
    ("echo-reply", 0, 0),
    ("pong", 0, 0),
    ("network-unreachable", 3, 0),
    ("host-unreachable", 3, 1),
    ("protocol-unreachable", 3, 2),
    ("port-unreachable", 3, 3),
    ("fragmentation-needed", 3, 4),
    ("source-route-failed", 3, 5),
    ("network-unknown", 3, 6),
    ("host-unknown", 3, 7),
    ("network-prohibited", 3, 9),
    ("host-prohibited", 3, 10),
    ("TOS-network-unreachable", 3, 11),
    ("TOS-host-unreachable", 3, 12),
    ("communication-prohibited", 3, 13),
    ("host-precedence-violation", 3, 14),
    ("precedence-cutoff", 3, 15),
    ("source-quench", 4, 0),
    ("network-redirect", 5, 0),
    ("host-redirect", 5, 1),
    ("TOS-network-redirect", 5, 2),
    ("TOS-host-redirect", 5, 3),
    ("echo-request", 8, 0),
    ("ping", 8, 0),
    ("router-advertisement", 9, 0),
    ("router-solicitation", 10, 0),
    ("ttl-zero-during-transit", 11, 0),
    ("ttl-zero-during-reassembly", 11, 1),
    ("ip-header-bad", 12, 0),
    ("required-option-missing", 12, 1),
    ("timestamp-request", 13, 0),
    ("timestamp-reply", 14, 0),
    ("address-mask-request", 17, 0),
    ("address-mask-reply", 18, 0),
];

/// ipset's lib/icmpv6.c `icmpv6_typecodes` (its spelling "neigbour" kept
/// beside "neighbour"), matched by prefix as `name_to_icmpv6` does.
const ICMPV6: &[(&str, u8, u8)] = &[
    ("no-route", 1, 0),
    ("communication-prohibited", 1, 1),
    ("address-unreachable", 1, 3),
    ("port-unreachable", 1, 4),
    ("packet-too-big", 2, 0),
    ("ttl-zero-during-transit", 3, 0),
    ("ttl-zero-during-reassembly", 3, 1),
    ("bad-header", 4, 0),
    ("unknown-header-type", 4, 1),
    ("unknown-option", 4, 2),
    ("echo-request", 128, 0),
    ("ping", 128, 0),
    ("echo-reply", 129, 0),
    ("pong", 129, 0),
    ("router-solicitation", 133, 0),
    ("router-advertisement", 134, 0),
    ("neighbour-solicitation", 135, 0),
    ("neigbour-solicitation", 135, 0),
    ("neighbour-advertisement", 136, 0),
    ("neigbour-advertisement", 136, 0),
    ("redirect", 137, 0),
];

fn port_num(s: &str, _proto: &str) -> Result<u16, IpsetErrorKind> {
    s.parse::<u16>()
        .ok()
        .or_else(|| SERVICES.iter().find(|(n, _)| *n == s).map(|(_, p)| *p))
        .ok_or_else(|| K::Port(s.to_string()))
}

/// `ipset_parse_proto_port` (tcp when no protocol is given; ICMP as a type
/// name or TYPE/CODE; other protocols with pseudo port 0 only) or, for
/// bitmap:port, `ipset_parse_tcp_udp_port`.
fn proto_port(p: &str, family: Family, bitmap: bool) -> Result<(u8, u16, u16), IpsetErrorKind> {
    let (proto_s, port_s) = match p.split_once(':') {
        Some((a, b)) => (a, b),
        None => ("tcp", p),
    };
    let proto = proto_s
        .parse::<u8>()
        .ok()
        .or_else(|| {
            PROTOS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(proto_s))
                .map(|(_, v)| *v)
        })
        .ok_or_else(|| K::Protocol(proto_s.to_string()))?;
    if bitmap && !matches!(proto, 6 | 17) {
        return Err(K::Syntax(format!(
            "Invalid protocol '{proto_s}': only tcp and udp are allowed"
        )));
    }
    match proto {
        6 | 17 | 132 | 136 => {
            let (a, b) = port_s.split_once('-').unwrap_or((port_s, port_s));
            let (lo, hi) = (port_num(a, proto_s)?, port_num(b, proto_s)?);
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            Ok((proto, lo, hi))
        }
        1 | 58 => {
            if (proto == 1) != (family != Family::Inet6) {
                return Err(K::Syntax(format!(
                    "Protocol {proto_s} cannot be used with this family"
                )));
            }
            let names = if proto == 58 { ICMPV6 } else { ICMP };
            let tc = match port_s.split_once('/') {
                Some((t, c)) => (num::<u8>(t)?, num::<u8>(c)?),
                None => names
                    .iter()
                    .find(|(n, _, _)| {
                        n.len() >= port_s.len()
                            && n[..port_s.len()].eq_ignore_ascii_case(port_s)
                            && !port_s.is_empty()
                    })
                    .map(|(_, t, c)| (*t, *c))
                    .ok_or_else(|| K::Port(port_s.to_string()))?,
            };
            let v = u16::from(tc.0) << 8 | u16::from(tc.1);
            Ok((proto, v, v))
        }
        _ if port_s == "0" => Ok((proto, 0, 0)),
        _ => Err(K::Syntax(format!(
            "Protocol {proto_s} can be used with pseudo port value 0 only."
        ))),
    }
}

/// `ipset test` of an element (the type's `uadt` with IPSET_TEST): an
/// address given as a host is looked up through every network
/// (`mtype_test_cidrs`), a network or range as that entry exactly.
fn test_element(set: &Ipset, q: &Member) -> bool {
    let part_hits = |e: &Elem, x: &Elem| match (e, x) {
        (
            Elem::V4 { lo, hi, .. },
            Elem::V4 {
                lo: a,
                hi: b,
                cidr: 32,
            },
        ) if a == b => lo <= a && a <= hi,
        (
            Elem::V6 { lo, hi, .. },
            Elem::V6 {
                lo: a,
                hi: b,
                cidr: 128,
            },
        ) if a == b => lo <= a && a <= hi,
        (Elem::Mac(_), Elem::Mac(None)) => true,
        (Elem::Iface { .. }, Elem::Iface { .. }) => true,
        _ => e == x,
    };
    let iface_hits = |e: &Elem, x: &Elem| match (e, x) {
        (
            Elem::Iface {
                name,
                physdev,
                wildcard,
            },
            Elem::Iface {
                name: n,
                physdev: p,
                ..
            },
        ) => {
            physdev == p
                && (if *wildcard {
                    n.starts_with(name.as_str())
                } else {
                    n == name
                })
        }
        _ => true,
    };
    let hits: Vec<&Member> = set
        .members
        .iter()
        .filter(|m| m.elems.iter().zip(&q.elems).all(|(e, x)| part_hits(e, x)))
        .collect();
    let Some(top) = hits.iter().map(|m| super::rank(m)).max() else {
        return false;
    };
    // the most specific networks decide; hash:net,iface stops there even
    // when only another interface is stored (IP_SET_HASH_WITH_MULTI)
    hits.iter()
        .filter(|m| super::rank(m) == top)
        .find(|m| m.elems.iter().zip(&q.elems).all(|(e, x)| iface_hits(e, x)))
        .is_some_and(|m| m.nomatch == q.nomatch)
}

#[cfg(test)]
mod tests;
