//! Scenario patches (`podpath diff A --patch FILE`): a change a user would
//! make, applied to a scenario's text, giving the scenario of the other
//! side. A patch file is YAML, one or more documents, each of one kind:
//!
//! - `apiVersion: podpath/v1` `kind: Scenario`: a JSON merge patch (RFC
//!   7386) onto the scenario: mappings merge key by key, `null` removes a
//!   key, anything else (a list, a scalar) replaces.
//! - a Kubernetes object (`apiVersion: v1`, `kind: Service`, ...): merged
//!   the same way onto the object of that kind, namespace and name in the
//!   scenario's `cluster.manifests` (what `kubectl patch --type merge`
//!   does), or added when there is none; `$patch: delete` removes it (the
//!   strategic merge patch's directive).
//! - `apiVersion: podpath/v1` `kind: Commands` with `commands: {HOST:
//!   [LINE, ...]}`: kernel commands run on a host before the flows, in
//!   order: `iptables [-t TABLE] -A|-I|-D CHAIN ...`, `nft add|insert|
//!   delete ...`, `sysctl -w KEY=VALUE`, `ip route add|replace|del ...`,
//!   `ip link set [dev] DEV mtu N|up|down`, `ip neigh add|replace|del ADDR
//!   lladdr MAC dev DEV`.
//!   Each becomes the scenario's form of it: a line of the host's
//!   iptables-restore text (on a host the cluster makes, applied on top as
//!   `iptables-restore --noflush`), a line of its `nft -f` script, a
//!   sysctl, a route, a device's `mtu` or `up`.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

pub mod bundle;

/// RFC 7386 merge of `patch` onto `target`.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("an object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Applies the patch `ptext` (from file `pfile`) to the scenario `text`;
/// `kind_of` names the kind of a host the scenario's world has (a Node or
/// Pod the cluster makes, for commands on it). Returns the patched
/// scenario's text.
pub fn apply(
    text: &str,
    file: &str,
    ptext: &str,
    pfile: &str,
    kind_of: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    let mut doc: Value =
        serde_saphyr::from_str(text).with_context(|| format!("{file}: not a scenario (YAML)"))?;
    let patches: Vec<Value> = serde_saphyr::from_multiple(ptext)
        .with_context(|| format!("{pfile}: not a patch (YAML documents)"))?;
    if patches.is_empty() {
        bail!("{pfile}: no document: a patch holds a podpath/v1 Scenario merge, Kubernetes objects, or podpath/v1 Commands");
    }
    for (i, p) in patches.iter().enumerate() {
        let at = format!("{pfile}: document {}", i + 1);
        let api = p["apiVersion"].as_str().unwrap_or("");
        let kind = p["kind"].as_str().unwrap_or("");
        match (api, kind) {
            ("podpath/v1", "Scenario") => {
                let mut m = p.clone();
                if let Some(o) = m.as_object_mut() {
                    o.remove("apiVersion");
                    o.remove("kind");
                }
                merge(&mut doc, &m);
            }
            ("podpath/v1", "Commands") => commands(&mut doc, p, &at, kind_of)?,
            ("podpath/v1", k) => bail!(
                "{at}: kind '{k}': a podpath/v1 patch document is kind Scenario (a merge onto the scenario) or Commands (kernel commands per host)"
            ),
            ("", _) | (_, "") => bail!(
                "{at}: expected apiVersion and kind (podpath/v1 Scenario or Commands, or a Kubernetes object)"
            ),
            _ => object(&mut doc, p, &at)?,
        }
    }
    serde_saphyr::to_string(&doc).context("the patched scenario cannot be written as YAML")
}

/// The Kubernetes objects of a scenario's `cluster.manifests` (none when
/// it has no cluster).
pub fn manifests(text: &str) -> Result<Vec<Value>> {
    let doc: Value = serde_saphyr::from_str(text).context("not a scenario (YAML)")?;
    let Some(m) = doc["cluster"]["manifests"].as_str() else {
        return Ok(Vec::new());
    };
    let mut objs: Vec<Value> =
        serde_saphyr::from_multiple(m).context("the scenario's cluster.manifests is not YAML")?;
    objs.retain(|o| !o.is_null());
    Ok(objs)
}

/// The identity of a Kubernetes object: kind, namespace, name.
pub fn ident(o: &Value) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let ns = match o["metadata"]["namespace"].as_str() {
        Some(n) => n.to_string(),
        None if matches!(o["kind"].as_str(), Some("Node" | "Namespace")) => String::new(),
        None => "default".to_string(),
    };
    (s(&o["kind"]), ns, s(&o["metadata"]["name"]))
}

/// Merges (adds, deletes) one Kubernetes object of the patch in the
/// scenario's `cluster.manifests`.
fn object(doc: &mut Value, p: &Value, at: &str) -> Result<()> {
    let Some(manifests) = doc["cluster"]["manifests"].as_str() else {
        bail!("{at}: a Kubernetes object, but the scenario has no cluster.manifests to patch");
    };
    let mut objs: Vec<Value> = serde_saphyr::from_multiple(manifests)
        .context("the scenario's cluster.manifests is not YAML")?;
    objs.retain(|o| !o.is_null());
    let id = ident(p);
    if id.2.is_empty() {
        bail!("{at}: a {} without metadata.name", id.0);
    }
    let found = objs.iter().position(|o| ident(o) == id);
    let delete = p.get("$patch").and_then(Value::as_str) == Some("delete");
    match (found, delete) {
        (Some(i), true) => {
            objs.remove(i);
        }
        (None, true) => bail!(
            "{at}: $patch: delete of {} {}/{}, which the scenario's manifests do not have",
            id.0,
            id.1,
            id.2
        ),
        (Some(i), false) => merge(&mut objs[i], p),
        (None, false) => objs.push(p.clone()),
    }
    let mut text = String::new();
    for o in &objs {
        text.push_str("---\n");
        text.push_str(&serde_saphyr::to_string(o).context("an object cannot be written")?);
    }
    doc["cluster"]["manifests"] = Value::String(text);
    Ok(())
}

/// The host entry of the scenario for `host`: the scenario's own, or a new
/// one of the kind the cluster makes it.
fn host_entry<'a>(
    doc: &'a mut Value,
    host: &str,
    at: &str,
    kind_of: &dyn Fn(&str) -> Option<String>,
) -> Result<&'a mut Map<String, Value>> {
    if !doc["hosts"].is_object() {
        doc["hosts"] = Value::Object(Map::new());
    }
    let hosts = doc["hosts"].as_object_mut().expect("an object");
    if !hosts.contains_key(host) {
        let Some(kind) = kind_of(host) else {
            bail!("{at}: commands for host '{host}', which the scenario does not have");
        };
        hosts.insert(host.to_string(), serde_json::json!({ "kind": kind }));
    }
    hosts[host]
        .as_object_mut()
        .with_context(|| format!("{at}: hosts.{host} is not a mapping"))
}

fn commands(
    doc: &mut Value,
    p: &Value,
    at: &str,
    kind_of: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    let Some(per_host) = p["commands"].as_object() else {
        bail!("{at}: kind Commands needs `commands: {{HOST: [COMMAND, ...]}}`");
    };
    for (host, lines) in per_host {
        let Some(lines) = lines.as_array() else {
            bail!("{at}: commands.{host} must be a list of command lines");
        };
        for (n, l) in lines.iter().enumerate() {
            let Some(line) = l.as_str() else {
                bail!("{at}: commands.{host}[{n}] is not a command line");
            };
            let at = format!("{at}: commands.{host}[{n}] '{line}'");
            let h = host_entry(doc, host, &at, kind_of)?;
            command(h, line.trim(), &at)?;
        }
    }
    Ok(())
}

/// One kernel command onto a host's scenario entry.
fn command(h: &mut Map<String, Value>, line: &str, at: &str) -> Result<()> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.first().copied() {
        Some("iptables" | "iptables-legacy" | "iptables-nft") => iptables(h, &words[1..], at),
        Some("nft") => {
            let cmd = words[1..].join(" ");
            if ![
                "add ", "insert ", "delete ", "replace ", "flush ", "create ",
            ]
            .iter()
            .any(|v| cmd.starts_with(v))
            {
                bail!("{at}: expected `nft add|insert|delete|replace|flush|create ...`");
            }
            append_text(h, "nftables", &format!("{cmd}\n"));
            Ok(())
        }
        Some("sysctl") => {
            // the rest of the line is KEY=VALUE, the value maybe quoted
            // ("32768 60999")
            let rest = line["sysctl".len()..].trim_start();
            let kv = rest.strip_prefix("-w").unwrap_or(rest).trim();
            let Some((k, v)) = kv.split_once('=') else {
                bail!("{at}: expected `sysctl -w KEY=VALUE`");
            };
            let (k, v) = (k.trim(), v.trim());
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            let s = h
                .entry("sysctl")
                .or_insert_with(|| Value::Object(Map::new()));
            s[k] = Value::String(v.to_string());
            Ok(())
        }
        Some("ip") if matches!(words.get(1).copied(), Some("link" | "l" | "li" | "lin")) => {
            link(h, &words[2..], at)
        }
        Some("ip")
            if matches!(
                words.get(1).copied(),
                Some("neigh" | "neighbor" | "neighbour" | "n" | "ne" | "nei")
            ) =>
        {
            neigh(h, &words[2..], at)
        }
        Some("ip") => route(h, &words[1..], at),
        _ => bail!(
            "{at}: podpath applies iptables, nft, sysctl, `ip route`, `ip link set` and `ip neigh` commands"
        ),
    }
}

/// Appends `line` to the host's text field `key` (made when missing).
fn append_text(h: &mut Map<String, Value>, key: &str, line: &str) {
    let mut t = h.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    if !t.is_empty() && !t.ends_with('\n') {
        t.push('\n');
    }
    t.push_str(line);
    h.insert(key.to_string(), Value::String(t));
}

/// `iptables [-t TABLE] -A|-I|-D CHAIN ...` as a line of the host's
/// iptables-restore text, inside its table's section (before its COMMIT;
/// the section is added when the text has none).
fn iptables(h: &mut Map<String, Value>, args: &[&str], at: &str) -> Result<()> {
    let mut args = args.to_vec();
    let mut table = "filter".to_string();
    if let Some(i) = args.iter().position(|a| *a == "-t" || *a == "--table") {
        let Some(t) = args.get(i + 1) else {
            bail!("{at}: -t needs a table");
        };
        table = t.to_string();
        args.drain(i..i + 2);
    }
    if !matches!(
        args.first().copied(),
        Some("-A" | "-I" | "-D" | "--append" | "--insert" | "--delete")
    ) {
        bail!("{at}: expected `iptables [-t TABLE] -A|-I|-D CHAIN ...`");
    }
    let rule = args.join(" ");
    let text = h
        .get("iptables")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let head = format!("*{table}");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let start = lines.iter().position(|l| l.trim() == head);
    match start.and_then(|s| {
        lines[s..]
            .iter()
            .position(|l| l.trim() == "COMMIT")
            .map(|c| s + c)
    }) {
        Some(commit) => lines.insert(commit, rule),
        None => {
            lines.push(head);
            lines.push(rule);
            lines.push("COMMIT".into());
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    h.insert("iptables".into(), Value::String(out));
    Ok(())
}

/// `ip link set [dev] DEV mtu N` (and `up`/`down`) onto the host's device:
/// the device entry's `mtu` (on a device the cluster makes, the new MTU
/// of it; `ip link set` checks the range: ETH_MIN_MTU 68 for IPv4 up to
/// the 65535 of a loopback, dev_validate_mtu in net/core/dev.c).
fn link(h: &mut Map<String, Value>, args: &[&str], at: &str) -> Result<()> {
    let usage = || anyhow::anyhow!("{at}: expected `ip link set [dev] DEV mtu N|up|down`");
    if args.first().copied() != Some("set") {
        return Err(usage());
    }
    let mut rest = &args[1..];
    if rest.first().copied() == Some("dev") {
        rest = &rest[1..];
    }
    let (dev, opts) = rest.split_first().ok_or_else(usage)?;
    let devs = h
        .entry("devices")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(devs) = devs.as_object_mut() else {
        bail!("{at}: the host's devices are not a mapping");
    };
    let d = devs
        .entry(dev.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    let mut i = 0;
    while i < opts.len() {
        match (opts[i], opts.get(i + 1)) {
            ("mtu", Some(v)) => {
                let n: u32 = v.parse().map_err(|_| usage())?;
                if !(68..=65535).contains(&n) {
                    bail!("{at}: Error: mtu less than device minimum or greater than maximum (68..65535)");
                }
                d["mtu"] = Value::from(n);
                i += 2;
            }
            ("up", _) => {
                d["up"] = Value::Bool(true);
                i += 1;
            }
            ("down", _) => {
                d["up"] = Value::Bool(false);
                i += 1;
            }
            _ => return Err(usage()),
        }
    }
    Ok(())
}

/// `ip route add|replace|del DST [via GW] [dev DEV] [src SRC] [metric N]
/// [table T] [onlink]` (`ip r`, `ip ro` too) onto the host's routes.
/// `ip neigh add|replace|del ADDR [lladdr MAC] [nud permanent|noarp|
/// reachable|stale] dev DEV` (iproute2's ip/ipneigh.c keywords): a static
/// entry in the host's `neighbors` (an entry podpath is given is
/// PERMANENT, as `ip neigh add` makes one by default). `proxy` entries are
/// not modelled and are refused.
fn neigh(h: &mut Map<String, Value>, args: &[&str], at: &str) -> Result<()> {
    let usage = || {
        anyhow::anyhow!(
            "{at}: expected `ip neigh add|replace|del ADDR lladdr MAC [nud permanent|noarp|reachable|stale] dev DEV`"
        )
    };
    let (verb, rest) = args.split_first().ok_or_else(usage)?;
    let (mut ip, mut mac, mut dev) = (None, None, None);
    let mut i = 0;
    while i < rest.len() {
        let val = rest.get(i + 1).copied();
        match (rest[i], val) {
            ("lladdr", Some(v)) => mac = Some(v),
            ("dev", Some(v)) => dev = Some(v),
            ("nud", Some("permanent" | "noarp" | "reachable" | "stale")) => {}
            ("nud", Some(v)) => bail!("{at}: nud {v}: podpath's static neighbours are permanent, noarp, reachable or stale"),
            ("proxy", _) => bail!("{at}: proxy neighbour entries (`ip neigh add proxy`) are not modelled"),
            ("to", Some(v)) if ip.is_none() => ip = Some(v),
            (a, _) if ip.is_none() => {
                ip = Some(a);
                i += 1;
                continue;
            }
            _ => return Err(usage()),
        }
        i += 2;
    }
    let (Some(ip), Some(dev)) = (ip, dev) else {
        return Err(usage());
    };
    if ip.parse::<std::net::Ipv4Addr>().is_err() {
        bail!("{at}: Error: an inet address is expected rather than \"{ip}\".");
    }
    let list = h
        .entry("neighbors")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        bail!("{at}: the host's neighbors are not a list");
    };
    let same = |x: &Value| x["ip"] == ip && x["dev"] == dev;
    match *verb {
        "add" | "a" | "replace" | "change" | "chg" => {
            let Some(mac) = mac else {
                bail!("{at}: a static neighbour needs `lladdr MAC`");
            };
            let ok = mac.split(':').count() == 6
                && mac
                    .split(':')
                    .all(|b| b.len() <= 2 && u8::from_str_radix(b, 16).is_ok());
            if !ok {
                bail!("{at}: \"{mac}\" is invalid lladdr.");
            }
            if matches!(*verb, "add" | "a") && list.iter().any(same) {
                bail!("{at}: RTNETLINK answers: File exists");
            }
            list.retain(|x| !same(x));
            list.push(serde_json::json!({"ip": ip, "mac": mac.to_ascii_lowercase(), "dev": dev}));
        }
        "del" | "delete" | "d" => {
            let before = list.len();
            list.retain(|x| !same(x));
            if list.len() == before {
                bail!("{at}: RTNETLINK answers: No such file or directory (the scenario gives this host no neighbour {ip} on {dev})");
            }
        }
        _ => return Err(usage()),
    }
    Ok(())
}

fn route(h: &mut Map<String, Value>, args: &[&str], at: &str) -> Result<()> {
    let usage = || {
        anyhow::anyhow!("{at}: expected `ip route add|replace|del DST [via GW] [dev DEV] [src SRC] [metric N] [table T] [onlink]`")
    };
    if !matches!(args.first().copied(), Some("route" | "r" | "ro" | "rou")) {
        return Err(usage());
    }
    let verb = args.get(1).copied().ok_or_else(usage)?;
    let mut r = Map::new();
    let mut i = 2;
    let mut kind = None;
    while i < args.len() {
        let w = args[i];
        let val = args.get(i + 1).copied();
        match (w, val) {
            ("via", Some(v)) | ("dev", Some(v)) | ("src", Some(v)) | ("table", Some(v)) => {
                r.insert(w.to_string(), Value::String(v.to_string()));
                i += 2;
            }
            ("metric" | "preference" | "priority", Some(v)) => {
                let n: u32 = v.parse().map_err(|_| usage())?;
                r.insert("metric".into(), Value::from(n));
                i += 2;
            }
            ("onlink", _) => {
                r.insert("onlink".into(), Value::Bool(true));
                i += 1;
            }
            ("blackhole" | "unreachable" | "prohibit" | "local", _) if !r.contains_key("dst") => {
                kind = Some(w);
                i += 1;
            }
            (d, _) if !r.contains_key("dst") => {
                r.insert("dst".into(), Value::String(d.to_string()));
                i += 1;
            }
            _ => return Err(usage()),
        }
    }
    if !r.contains_key("dst") {
        return Err(usage());
    }
    if let Some(k) = kind {
        r.insert("type".into(), Value::String(k.to_string()));
    }
    let routes = h
        .entry("routes")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = routes.as_array_mut() else {
        bail!("{at}: the host's routes are not a list");
    };
    let same_dst = |x: &Value| {
        x["dst"] == r["dst"]
            && x.get("table").unwrap_or(&Value::Null) == r.get("table").unwrap_or(&Value::Null)
    };
    match verb {
        "add" | "a" => list.push(Value::Object(r)),
        "replace" | "change" => {
            list.retain(|x| !same_dst(x));
            list.push(Value::Object(r));
        }
        "del" | "delete" | "d" => {
            let before = list.len();
            list.retain(|x| !same_dst(x));
            if list.len() == before {
                bail!("{at}: RTNETLINK answers: No such process (the scenario gives this host no route to {}; a route the cluster makes cannot be deleted by a patch)", r["dst"].as_str().unwrap_or(""));
            }
        }
        _ => return Err(usage()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_follows_rfc_7386() {
        // RFC 7386 section 3's example
        let mut t: Value = serde_json::json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["example", "sample"], "content": "This will be unchanged"});
        let p = serde_json::json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null}, "tags": ["example"]});
        merge(&mut t, &p);
        assert_eq!(
            t,
            serde_json::json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"], "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
        );
    }

    #[test]
    fn iptables_lines_go_before_their_tables_commit() {
        let mut h = Map::new();
        h.insert(
            "iptables".into(),
            Value::String("*filter\n:FORWARD DROP [0:0]\nCOMMIT\n".into()),
        );
        iptables(&mut h, &["-I", "FORWARD", "1", "-j", "ACCEPT"], "t").unwrap();
        iptables(
            &mut h,
            &["-t", "nat", "-A", "POSTROUTING", "-j", "MASQUERADE"],
            "t",
        )
        .unwrap();
        assert_eq!(
            h["iptables"],
            "*filter\n:FORWARD DROP [0:0]\n-I FORWARD 1 -j ACCEPT\nCOMMIT\n*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n"
        );
        assert!(iptables(&mut h, &["-L"], "t").is_err());
    }

    #[test]
    fn routes_are_added_replaced_and_deleted() {
        let mut h = Map::new();
        route(
            &mut h,
            &[
                "route",
                "add",
                "10.0.0.0/8",
                "via",
                "1.2.3.4",
                "dev",
                "eth0",
            ],
            "t",
        )
        .unwrap();
        route(
            &mut h,
            &["route", "replace", "10.0.0.0/8", "dev", "eth1"],
            "t",
        )
        .unwrap();
        assert_eq!(
            h["routes"],
            serde_json::json!([{"dst": "10.0.0.0/8", "dev": "eth1"}])
        );
        route(&mut h, &["route", "del", "10.0.0.0/8"], "t").unwrap();
        let e = route(&mut h, &["route", "del", "10.0.0.0/8"], "t").unwrap_err();
        assert!(e.to_string().contains("No such process"), "{e}");
    }

    #[test]
    fn link_mtu_and_state_are_set_and_bad_mtus_refused() {
        let mut h = Map::new();
        command(&mut h, "ip link set dev eth0 mtu 1400", "t").unwrap();
        command(&mut h, "ip l set eth1 down", "t").unwrap();
        assert_eq!(
            Value::Object(h.clone())["devices"],
            serde_json::json!({"eth0": {"mtu": 1400}, "eth1": {"up": false}})
        );
        let e = command(&mut h, "ip link set dev eth0 mtu 40", "t").unwrap_err();
        assert!(e.to_string().contains("device minimum"), "{e}");
        let e = command(&mut h, "ip link set dev eth0 mtu x", "t").unwrap_err();
        assert!(e.to_string().contains("expected `ip link set"), "{e}");
        let e = command(&mut h, "ip link add foo type dummy", "t").unwrap_err();
        assert!(e.to_string().contains("expected `ip link set"), "{e}");
    }

    #[test]
    fn static_neighbours_are_added_replaced_deleted_and_bad_ones_refused() {
        let mut h = Map::new();
        command(
            &mut h,
            "ip neigh add 10.0.0.1 lladdr 02:AA:bb:00:00:01 nud permanent dev eth0",
            "t",
        )
        .unwrap();
        let e = command(
            &mut h,
            "ip neigh add 10.0.0.1 lladdr 02:aa:bb:00:00:01 dev eth0",
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("File exists"), "{e}");
        command(
            &mut h,
            "ip n replace 10.0.0.1 lladdr 02:aa:bb:00:00:02 dev eth0",
            "t",
        )
        .unwrap();
        assert_eq!(
            Value::Object(h.clone())["neighbors"],
            serde_json::json!([{"ip": "10.0.0.1", "mac": "02:aa:bb:00:00:02", "dev": "eth0"}])
        );
        for (bad, says) in [
            (
                "ip neigh add 10.0.0.2 lladdr 02:zz:00:00:00:01 dev eth0",
                "invalid lladdr",
            ),
            ("ip neigh add 10.0.0.2 dev eth0", "needs `lladdr MAC`"),
            ("ip neigh add proxy 10.0.0.2 dev eth0", "not modelled"),
            (
                "ip neigh add nope lladdr 02:00:00:00:00:01 dev eth0",
                "inet address is expected",
            ),
            (
                "ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:01",
                "expected `ip neigh",
            ),
        ] {
            let e = command(&mut h, bad, "t").unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        command(&mut h, "ip neigh del 10.0.0.1 dev eth0", "t").unwrap();
        let e = command(&mut h, "ip neigh del 10.0.0.1 dev eth0", "t").unwrap_err();
        assert!(e.to_string().contains("No such file or directory"), "{e}");
    }
}
