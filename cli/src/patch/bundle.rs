//! Patches to a snapshot bundle (`podpath diff BUNDLE --patch FILE`,
//! `podpath why --bundle DIR`): a bundle holds the dumps of real machines,
//! not a scenario or cluster objects, so the patch is `podpath/v1
//! Commands`, and each command changes the dump it would change on the
//! machine, in a copy of the bundle:
//!
//! - `iptables ...`: the host's `iptables-save.txt` (as the scenario's
//!   iptables text: the line before its table's COMMIT);
//! - `nft ...`: appended to `nft-ruleset.txt` (made when the host has none);
//! - `sysctl -w K=V`: a `K = V` line appended to `sysctl.txt` (the last
//!   one read wins);
//! - `ip route add|replace|del`: an entry of `ip-route.json`, as `ip -j
//!   route` prints it (a route's `dst` is compared as written: `10.0.0.1`
//!   and `10.0.0.1/32` are different);
//! - `ip link set DEV mtu N|up|down`: the link's `mtu`, `flags` (`UP`) and
//!   `operstate` in `ip-link.json`;
//! - `ip neigh add|replace|del`: an entry of `ip-neigh.json` (a static
//!   entry is `PERMANENT`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

/// A patched copy of a bundle (under a scratch directory, with the
/// bundle's own name: a replay is named after it), removed when dropped.
pub struct Patched {
    pub dir: PathBuf,
    scratch: PathBuf,
}

impl Drop for Patched {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from).with_context(|| format!("{}: not readable", from.display()))? {
        let e = e?;
        let t = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &t)?;
        } else {
            std::fs::copy(e.path(), &t)?;
        }
    }
    Ok(())
}

/// A directory name no other call of this process or another uses.
fn scratch() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("podpath-bundle-{}-{n}", std::process::id()))
}

/// Applies the patch `ptext` (file `pfile`) to a copy of the bundle `dir`.
pub fn apply(dir: &Path, ptext: &str, pfile: &str) -> Result<Patched> {
    let patches: Vec<Value> = serde_saphyr::from_multiple(ptext)
        .with_context(|| format!("{pfile}: not a patch (YAML documents)"))?;
    let scratch = scratch();
    let name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "bundle".into());
    let out = Patched {
        dir: scratch.join(name),
        scratch,
    };
    copy_dir(dir, &out.dir)?;
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("bundle.json"))
            .with_context(|| format!("{}: no bundle.json", dir.display()))?,
    )
    .with_context(|| format!("{}/bundle.json: not JSON", dir.display()))?;
    let hosts: Vec<&str> = manifest["hosts"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (i, p) in patches.iter().filter(|p| !p.is_null()).enumerate() {
        let at = format!("{pfile}: document {}", i + 1);
        if p["apiVersion"] != "podpath/v1" || p["kind"] != "Commands" {
            bail!(
                "{at}: a bundle holds the dumps of machines, not a scenario or cluster objects: a patch to it is apiVersion podpath/v1, kind Commands"
            );
        }
        let Some(per_host) = p["commands"].as_object() else {
            bail!("{at}: kind Commands needs `commands: {{HOST: [COMMAND, ...]}}`");
        };
        for (host, lines) in per_host {
            if !hosts.contains(&host.as_str()) {
                bail!("{at}: commands for host '{host}', which the bundle does not have (its hosts: {})", hosts.join(", "));
            }
            let Some(lines) = lines.as_array() else {
                bail!("{at}: commands.{host} must be a list of command lines");
            };
            let lines: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
            host_commands(
                &out.dir.join(host),
                &lines,
                &format!("{at}: commands.{host}"),
            )?;
        }
    }
    Ok(out)
}

fn read_or(p: &Path, default: &str) -> Result<String> {
    match std::fs::read_to_string(p) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(default.to_string()),
        Err(e) => Err(e).with_context(|| format!("{}: not readable", p.display())),
    }
}

fn read_json(p: &Path) -> Result<Vec<Value>> {
    let t = read_or(p, "[]")?;
    let v: Value =
        serde_json::from_str(&t).with_context(|| format!("{}: not JSON", p.display()))?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

fn write_json(p: &Path, v: Vec<Value>) -> Result<()> {
    std::fs::write(p, serde_json::to_string(&Value::Array(v))?)?;
    Ok(())
}

/// A route of `ip -j route` in the scenario's form (what the command
/// parser edits), with its index in the dump.
fn route_of(r: &Value, i: usize) -> Value {
    let mut m = Map::new();
    m.insert("dst".into(), r["dst"].clone());
    for (from, to) in [
        ("gateway", "via"),
        ("dev", "dev"),
        ("prefsrc", "src"),
        ("metric", "metric"),
    ] {
        if !r[from].is_null() {
            m.insert(to.into(), r[from].clone());
        }
    }
    if !r["table"].is_null() && r["table"] != "main" && r["table"] != 254 {
        m.insert("table".into(), r["table"].clone());
    }
    m.insert("__orig".into(), json!(i));
    Value::Object(m)
}

/// A route the command added, as `ip -j route` prints one.
fn route_json(r: &Value) -> Value {
    let mut m = Map::new();
    if let Some(t) = r["type"].as_str() {
        m.insert("type".into(), json!(t));
    }
    m.insert("dst".into(), r["dst"].clone());
    for (from, to) in [
        ("via", "gateway"),
        ("dev", "dev"),
        ("src", "prefsrc"),
        ("metric", "metric"),
        ("table", "table"),
    ] {
        if !r[from].is_null() {
            m.insert(to.into(), r[from].clone());
        }
    }
    m.insert("protocol".into(), json!("boot"));
    if r["via"].is_null() {
        m.insert("scope".into(), json!("link"));
    }
    let flags: Vec<Value> = if r["onlink"] == true {
        vec![json!("onlink")]
    } else {
        vec![]
    };
    m.insert("flags".into(), Value::Array(flags));
    Value::Object(m)
}

/// The commands of one host, on the dumps in its directory `hd`.
fn host_commands(hd: &Path, lines: &[&str], at: &str) -> Result<()> {
    let f = |n: &str| hd.join(n);
    let ipt = read_or(&f("iptables-save.txt"), "")?;
    let nft = read_or(&f("nft-ruleset.txt"), "")?;
    let routes = read_json(&f("ip-route.json"))?;
    let neighs = read_json(&f("ip-neigh.json"))?;
    let mut h = Map::new();
    h.insert("iptables".into(), json!(ipt));
    h.insert("nftables".into(), json!(nft));
    h.insert(
        "routes".into(),
        Value::Array(
            routes
                .iter()
                .enumerate()
                .map(|(i, r)| route_of(r, i))
                .collect(),
        ),
    );
    h.insert(
        "neighbors".into(),
        Value::Array(
            neighs
                .iter()
                .enumerate()
                .map(|(i, n)| json!({"ip": n["dst"], "mac": n["lladdr"], "dev": n["dev"], "__orig": i}))
                .collect(),
        ),
    );
    for (n, l) in lines.iter().enumerate() {
        super::command(&mut h, l.trim(), &format!("{at}[{n}] '{l}'"))?;
    }
    if h["iptables"] != json!(ipt) {
        std::fs::write(f("iptables-save.txt"), h["iptables"].as_str().unwrap_or(""))?;
    }
    if h["nftables"] != json!(nft) {
        std::fs::write(f("nft-ruleset.txt"), h["nftables"].as_str().unwrap_or(""))?;
    }
    if let Some(s) = h.get("sysctl").and_then(Value::as_object) {
        let mut t = read_or(&f("sysctl.txt"), "")?;
        if !t.is_empty() && !t.ends_with('\n') {
            t.push('\n');
        }
        for (k, v) in s {
            t.push_str(&format!("{k} = {}\n", v.as_str().unwrap_or("")));
        }
        std::fs::write(f("sysctl.txt"), t)?;
    }
    let back = |list: &Value, orig: &[Value], new: &dyn Fn(&Value) -> Value| -> Vec<Value> {
        list.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| match x["__orig"].as_u64() {
                        Some(i) => orig[i as usize].clone(),
                        None => new(x),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    write_json(
        &f("ip-route.json"),
        back(&h["routes"], &routes, &route_json),
    )?;
    write_json(
        &f("ip-neigh.json"),
        back(
            &h["neighbors"],
            &neighs,
            &|x| json!({"dst": x["ip"], "dev": x["dev"], "lladdr": x["mac"], "state": ["PERMANENT"]}),
        ),
    )?;
    if let Some(devs) = h.get("devices").and_then(Value::as_object) {
        let mut links = read_json(&f("ip-link.json"))?;
        for (dev, d) in devs {
            let Some(l) = links.iter_mut().find(|l| l["ifname"] == dev.as_str()) else {
                bail!("{at}: Cannot find device \"{dev}\" (ip-link.json has no such link)");
            };
            if let Some(m) = d.get("mtu") {
                l["mtu"] = m.clone();
            }
            if let Some(up) = d.get("up").and_then(Value::as_bool) {
                let mut flags: Vec<Value> = l["flags"].as_array().cloned().unwrap_or_default();
                flags.retain(|x| x != "UP" && x != "LOWER_UP");
                if up {
                    flags.push(json!("UP"));
                    flags.push(json!("LOWER_UP"));
                }
                l["flags"] = Value::Array(flags);
                l["operstate"] = json!(if up { "UP" } else { "DOWN" });
            }
        }
        write_json(&f("ip-link.json"), links)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../sim/tests/bundles/hairpin"
        ))
    }

    #[test]
    fn commands_change_the_dumps_they_would_change() {
        let p = apply(
            &bundle(),
            "apiVersion: podpath/v1\nkind: Commands\ncommands:\n  pod:\n    - ip route del default\n    - ip route add 10.0.0.0/8 via 10.244.0.1 dev eth0\n    - ip link set dev eth0 mtu 1400\n    - ip neigh add 10.244.0.9 lladdr 02:00:00:00:00:09 dev eth0\n  node:\n    - sysctl -w net.ipv4.ip_forward=0\n    - iptables -I FORWARD 1 -j DROP\n    - nft add table inet t\n",
            "p.yaml",
        )
        .unwrap();
        let routes = read_json(&p.dir.join("pod/ip-route.json")).unwrap();
        assert!(routes.iter().all(|r| r["dst"] != "default"));
        let added = routes.iter().find(|r| r["dst"] == "10.0.0.0/8").unwrap();
        assert_eq!(added["gateway"], "10.244.0.1");
        // the dump's other routes are kept as they were
        assert!(routes
            .iter()
            .any(|r| r["table"] == "local" && r["dst"] == "127.0.0.1"));
        let links = read_json(&p.dir.join("pod/ip-link.json")).unwrap();
        assert_eq!(
            links.iter().find(|l| l["ifname"] == "eth0").unwrap()["mtu"],
            1400
        );
        let neigh = read_json(&p.dir.join("pod/ip-neigh.json")).unwrap();
        assert!(neigh
            .iter()
            .any(|n| n["dst"] == "10.244.0.9" && n["state"][0] == "PERMANENT"));
        let sys = std::fs::read_to_string(p.dir.join("node/sysctl.txt")).unwrap();
        assert!(sys.ends_with("net.ipv4.ip_forward = 0\n"));
        let ipt = std::fs::read_to_string(p.dir.join("node/iptables-save.txt")).unwrap();
        assert!(ipt.contains("-I FORWARD 1 -j DROP\n"), "{ipt}");
        assert_eq!(
            std::fs::read_to_string(p.dir.join("node/nft-ruleset.txt")).unwrap(),
            "add table inet t\n"
        );
        let dir = p.dir.clone();
        assert!(dir.ends_with("hairpin"), "{}", dir.display());
        drop(p);
        assert!(!dir.exists(), "the copy is removed");
    }

    #[test]
    fn what_a_bundle_cannot_take_is_refused() {
        for (patch, says) in [
            ("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", "kind Commands"),
            ("apiVersion: podpath/v1\nkind: Commands\ncommands:\n  nope: [\"ip link set eth0 up\"]\n", "the bundle does not have"),
            ("apiVersion: podpath/v1\nkind: Commands\ncommands:\n  pod: [\"ip link set eth9 up\"]\n", "Cannot find device"),
            ("apiVersion: podpath/v1\nkind: Commands\ncommands:\n  pod: [\"ip route del 10.9.0.0/16\"]\n", "No such process"),
        ] {
            let e = apply(&bundle(), patch, "p.yaml").err().unwrap();
            assert!(format!("{e:#}").contains(says), "{patch}: {e:#}");
        }
    }
}
