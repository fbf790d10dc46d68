//! Which network namespaces a machine has, and what to call them.
//!
//! A network namespace lives as long as something holds it: a process (its
//! `/proc/PID/ns/net`), a bind mount (`ip netns add` mounts it on
//! `/run/netns/NAME`, as containerd's CNI setup does with `cni-UUID`), or
//! an open file descriptor. The namespace's identity is the nsfs inode of
//! that link: `stat` gives the same `st_dev`/`st_ino` through every holder
//! (iproute2's `netns_identify_pid`, ip/ipnetns.c, compares exactly these
//! two fields). Namespaces held only by a file descriptor (rare; no path
//! names them) are not found.
//!
//! [`read_machine`] reads what the scan needs (the I/O); [`scan`] is pure:
//! it deduplicates by inode and names each namespace.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A namespace's identity: `st_dev` and `st_ino` of its nsfs link.
pub type NsKey = (u64, u64);

/// One process: its pid, its `comm`, its network namespace, its cgroup
/// file's text (a container's id is in it).
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub comm: String,
    pub ns: NsKey,
    pub cgroup: String,
}

/// What the scan reads from the machine.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// The root (initial) network namespace: pid 1's, or where pid 1's
    /// link cannot be read (a sandbox), that of kthreadd (pid 2: kernel
    /// threads run in the initial namespace, `init_net`).
    pub root: Option<NsKey>,
    /// The process through which the root namespace is entered (1 or 2).
    pub root_pid: u32,
    /// The namespace this process runs in.
    pub own: Option<NsKey>,
    /// The machine's host name (the root namespace's host in the bundle).
    pub hostname: String,
    /// `/run/netns/NAME` entries that are mounted namespaces.
    pub named: Vec<(String, NsKey)>,
    pub procs: Vec<Proc>,
    /// Pod names from the CRI (`crictl`), by namespace.
    pub pods: BTreeMap<NsKey, String>,
}

/// How a command is run in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enter {
    /// This process already runs in it.
    Here,
    /// `ip netns exec NAME` (a namespace under /run/netns).
    Named(String),
    /// `nsenter --net=/proc/PID/ns/net`.
    Pid(u32),
}

/// Where a namespace was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Root,
    Named(String),
    Process { pid: u32, comm: String },
}

/// A namespace found on the machine, with the bundle host it becomes.
#[derive(Debug, Clone)]
pub struct Found {
    pub key: NsKey,
    pub host: String,
    pub origin: Origin,
    pub enter: Enter,
    /// The pod the CRI says runs in it.
    pub pod: Option<String>,
}

impl Found {
    /// Whether `sel` (from `--only-ns`) selects this namespace: `root`, a
    /// name under /run/netns, `pid:PID` (the namespace of that process, any
    /// of its holders), or the bundle host name.
    pub fn selected_by(&self, sel: &str, procs: &[Proc]) -> bool {
        if let Some(p) = sel.strip_prefix("pid:") {
            return p
                .parse::<u32>()
                .ok()
                .and_then(|pid| procs.iter().find(|x| x.pid == pid))
                .is_some_and(|x| x.ns == self.key);
        }
        match &self.origin {
            Origin::Root if sel == "root" => return true,
            Origin::Named(n) if n == sel => return true,
            _ => {}
        }
        self.host == sel
    }
}

impl Found {
    /// `HOST/netns.json`: where the namespace was found and how it was
    /// entered.
    pub fn about(&self) -> serde_json::Value {
        let mut v = match &self.origin {
            Origin::Root => serde_json::json!({"origin": "root"}),
            Origin::Named(n) => serde_json::json!({"origin": "named", "name": n}),
            Origin::Process { pid, comm } => {
                serde_json::json!({"origin": "process", "pid": pid, "comm": comm})
            }
        };
        v["dev"] = self.key.0.into();
        v["inode"] = self.key.1.into();
        v["entered"] = match &self.enter {
            Enter::Here => "directly".into(),
            Enter::Named(n) => format!("ip netns exec {n}").into(),
            Enter::Pid(p) => format!("nsenter --net=/proc/{p}/ns/net").into(),
        };
        if let Some(p) = &self.pod {
            v["pod"] = p.clone().into();
        }
        v
    }
}

/// A bundle host name: letters, digits, `.`, `_` and `-` (it is a directory
/// name and the HOST of `HOST/IF`).
pub fn clean_name(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let t = t.trim_matches('-').to_string();
    if t.is_empty() || t == "." || t == ".." {
        "ns".into()
    } else {
        t
    }
}

/// The container a cgroup path names: docker's `/docker/ID` or
/// `docker-ID.scope`, containerd's `cri-containerd-ID.scope`, CRI-O's
/// `crio-ID.scope`, podman's `libpod-ID.scope` (ID: 64 hex digits); the
/// name is `ctr-` and its first 12 digits, as `docker ps` shortens it.
pub fn container_of(cgroup: &str) -> Option<String> {
    for line in cgroup.lines() {
        let path = line.rsplit(':').next().unwrap_or("");
        for part in path.split('/').rev() {
            let id = part.strip_suffix(".scope").unwrap_or(part);
            let id = ["docker-", "cri-containerd-", "crio-", "libpod-"]
                .iter()
                .find_map(|p| id.strip_prefix(p))
                .unwrap_or(id);
            if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(format!("ctr-{}", &id[..12]));
            }
        }
    }
    None
}

/// Every network namespace once: the root one, then the named ones (by
/// name), then those only processes hold (by the lowest pid holding it).
/// A namespace both named and held by processes is the named one. Hosts
/// are named after the pod where the CRI tells, else the `/run/netns`
/// name, else the container (cgroup), else `pid-PID-COMM`; `root` becomes
/// the machine's host name. Names are made unique with `-2`, `-3`...
pub fn scan(m: &Machine) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut seen: BTreeMap<NsKey, usize> = BTreeMap::new();
    let enter_pid = |pid: u32, key: NsKey| {
        if m.own == Some(key) {
            Enter::Here
        } else {
            Enter::Pid(pid)
        }
    };
    if let Some(root) = m.root {
        let host = if m.hostname.trim().is_empty() {
            "root".to_string()
        } else {
            m.hostname.trim().to_string()
        };
        seen.insert(root, out.len());
        out.push(Found {
            key: root,
            host,
            origin: Origin::Root,
            enter: enter_pid(m.root_pid.max(1), root),
            pod: None,
        });
    }
    let mut named = m.named.clone();
    named.sort();
    for (name, key) in named {
        if seen.contains_key(&key) {
            continue; // a second name of one namespace (or the root's)
        }
        seen.insert(key, out.len());
        out.push(Found {
            key,
            host: name.clone(),
            origin: Origin::Named(name.clone()),
            enter: Enter::Named(name),
            pod: None,
        });
    }
    let mut procs: Vec<&Proc> = m.procs.iter().collect();
    procs.sort_by_key(|p| p.pid);
    for p in procs {
        if seen.contains_key(&p.ns) {
            continue;
        }
        seen.insert(p.ns, out.len());
        let host =
            container_of(&p.cgroup).unwrap_or_else(|| format!("pid-{}-{}", p.pid, p.comm.trim()));
        out.push(Found {
            key: p.ns,
            host,
            origin: Origin::Process {
                pid: p.pid,
                comm: p.comm.trim().to_string(),
            },
            enter: enter_pid(p.pid, p.ns),
            pod: None,
        });
    }
    // (a hostNetwork pod's sandbox is in the root namespace: the root
    // keeps the machine's name)
    for f in out.iter_mut().filter(|f| f.origin != Origin::Root) {
        if let Some(pod) = m.pods.get(&f.key) {
            f.pod = Some(pod.clone());
            f.host = pod.clone();
        }
    }
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for f in &mut out {
        let base = clean_name(&f.host);
        let n = used.entry(base.clone()).or_insert(0);
        *n += 1;
        f.host = if *n == 1 { base } else { format!("{base}-{n}") };
    }
    out
}

/// The nsfs identity of a namespace link (`stat`, following the link).
pub fn ns_key(path: &Path) -> Option<NsKey> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Reads the machine: pid 1's and this process's namespaces, /run/netns,
/// every process's namespace, comm and cgroup. Processes that end while
/// they are read are left out; a `/run/netns` entry that is not a mounted
/// namespace (another file system than pid 1's namespace link) is left out
/// with a warning.
pub fn read_machine(warnings: &mut Vec<String>) -> Machine {
    let kthreadd = std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd");
    let (root, root_pid) = match ns_key(Path::new("/proc/1/ns/net")) {
        Some(k) => (Some(k), 1),
        None if kthreadd => (ns_key(Path::new("/proc/2/ns/net")), 2),
        None => (None, 1),
    };
    if root.is_none() {
        warnings.push("the root network namespace cannot be read (neither pid 1's nor kthreadd's /proc/PID/ns/net); left out".into());
    }
    let mut m = Machine {
        root,
        root_pid,
        own: ns_key(Path::new("/proc/self/ns/net")),
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default(),
        ..Machine::default()
    };
    let nsfs_dev = m.root.or(m.own).map(|k| k.0);
    if let Ok(dir) = std::fs::read_dir("/run/netns") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            match ns_key(&e.path()) {
                Some(k) if Some(k.0) == nsfs_dev => m.named.push((name, k)),
                _ => warnings.push(format!(
                    "/run/netns/{name} is not a mounted network namespace; left out"
                )),
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let p = e.path();
            let Some(ns) = ns_key(&p.join("ns/net")) else {
                continue;
            };
            m.procs.push(Proc {
                pid,
                comm: std::fs::read_to_string(p.join("comm")).unwrap_or_default(),
                ns,
                cgroup: std::fs::read_to_string(p.join("cgroup")).unwrap_or_default(),
            });
        }
    }
    m
}

/// The pods the CRI knows, by network namespace: `crictl pods -o json`
/// lists the sandboxes (`items[].id`, `.metadata.name`, `.namespace`,
/// `.state`), `crictl inspectp -o json ID` gives the sandbox's process
/// (`info.pid`) or its namespace path (`info.runtimeSpec.linux.namespaces`,
/// type `network`), as containerd's CRI plugin reports them. Each pod is
/// named `pod-NAMESPACE-NAME`. A failing crictl is a warning.
pub fn cri_pods(warnings: &mut Vec<String>) -> BTreeMap<NsKey, String> {
    cri_pods_with(
        &|a: &[&str]| crate::live::run(a, None, 20),
        &|p: &str| ns_key(Path::new(p)),
        warnings,
    )
}

/// [`cri_pods`] with the commands run by `run` and namespace links read
/// by `key_of`.
fn cri_pods_with(
    run: &dyn Fn(&[&str]) -> anyhow::Result<String>,
    key_of: &dyn Fn(&str) -> Option<NsKey>,
    warnings: &mut Vec<String>,
) -> BTreeMap<NsKey, String> {
    let mut out = BTreeMap::new();
    let list = match run(&["crictl", "pods", "-o", "json"]) {
        Ok(t) => serde_json::from_str::<serde_json::Value>(&t).unwrap_or_default(),
        Err(e) => {
            warnings.push(format!(
                "crictl pods: {e:#}; pods named after their processes"
            ));
            return out;
        }
    };
    for p in list["items"].as_array().into_iter().flatten() {
        if p["state"].as_str() != Some("SANDBOX_READY") {
            continue;
        }
        let (Some(id), Some(name), Some(ns)) = (
            p["id"].as_str(),
            p["metadata"]["name"].as_str(),
            p["metadata"]["namespace"].as_str(),
        ) else {
            continue;
        };
        let Ok(t) = run(&["crictl", "inspectp", "-o", "json", id]) else {
            warnings.push(format!(
                "crictl inspectp {id} failed; pod {ns}/{name} named after its process"
            ));
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
        let by_path = v["info"]["runtimeSpec"]["linux"]["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["type"].as_str() == Some("network"))
            .and_then(|n| n["path"].as_str())
            .and_then(key_of);
        let by_pid = v["info"]["pid"]
            .as_u64()
            .and_then(|pid| key_of(&format!("/proc/{pid}/ns/net")));
        if let Some(k) = by_path.or(by_pid) {
            out.insert(k, format!("pod-{ns}-{name}"));
        }
    }
    out
}

/// Where containerd's runtime v2 shims keep each task's OCI bundle
/// (`NAMESPACE/ID/config.json`, `init.pid`).
pub const CONTAINERD_TASKS: &str = "/run/containerd/io.containerd.runtime.v2.task";

/// The pods containerd runs, by network namespace, read from its task
/// bundles (no crictl needed): a sandbox's `config.json` carries the CRI
/// plugin's annotations `io.kubernetes.cri.container-type` = `sandbox`,
/// `io.kubernetes.cri.sandbox-name` and `io.kubernetes.cri.sandbox-namespace`,
/// and its network namespace as `linux.namespaces[]` of type `network`
/// (a path), else the namespace of the process in `init.pid`. Each pod is
/// named `pod-NAMESPACE-NAME`.
pub fn containerd_pods(
    tasks: &Path,
    key_of: &dyn Fn(&str) -> Option<NsKey>,
) -> BTreeMap<NsKey, String> {
    let mut out = BTreeMap::new();
    let dirs = |p: &Path| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    for ns in dirs(tasks) {
        for task in dirs(&ns) {
            let Ok(t) = std::fs::read_to_string(task.join("config.json")) else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
            let an = &v["annotations"];
            if an["io.kubernetes.cri.container-type"].as_str() != Some("sandbox") {
                continue;
            }
            let (Some(name), Some(pns)) = (
                an["io.kubernetes.cri.sandbox-name"].as_str(),
                an["io.kubernetes.cri.sandbox-namespace"].as_str(),
            ) else {
                continue;
            };
            let by_path = v["linux"]["namespaces"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|n| n["type"].as_str() == Some("network"))
                .and_then(|n| n["path"].as_str())
                .and_then(key_of);
            let by_pid = std::fs::read_to_string(task.join("init.pid"))
                .ok()
                .and_then(|p| key_of(&format!("/proc/{}/ns/net", p.trim())));
            if let Some(k) = by_path.or(by_pid) {
                out.insert(k, format!("pod-{pns}-{name}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, comm: &str, ino: u64, cgroup: &str) -> Proc {
        Proc {
            pid,
            comm: format!("{comm}\n"),
            ns: (4, ino),
            cgroup: cgroup.into(),
        }
    }

    /// A node as /proc shows it: the root namespace (pid 1 and most
    /// processes), a named namespace its pause process also holds, a
    /// namespace two processes hold (named after the lower pid), a docker
    /// container's, and one the CRI names.
    fn machine() -> Machine {
        let docker = format!("0::/system.slice/docker-{}.scope\n", "ab12".repeat(16));
        Machine {
            root: Some((4, 1)),
            root_pid: 1,
            own: Some((4, 1)),
            hostname: "node-1\n".into(),
            named: vec![("cni-7f3e".into(), (4, 20)), ("blue".into(), (4, 10))],
            procs: vec![
                proc(1, "systemd", 1, ""),
                proc(2, "kthreadd", 1, ""),
                proc(900, "pause", 20, ""),
                proc(1300, "python3", 30, ""),
                proc(1234, "sleep", 30, ""),
                proc(1500, "nginx", 40, &docker),
                proc(1600, "pause", 50, ""),
                proc(1700, "coredns", 50, ""),
            ],
            pods: [((4, 50), "pod-kube-system-coredns-x1".to_string())].into(),
        }
    }

    #[test]
    fn every_namespace_once_named_after_who_holds_it() {
        let f = scan(&machine());
        let got: Vec<(&str, &Origin, &Enter)> = f
            .iter()
            .map(|x| (x.host.as_str(), &x.origin, &x.enter))
            .collect();
        assert_eq!(
            got,
            vec![
                ("node-1", &Origin::Root, &Enter::Here),
                (
                    "blue",
                    &Origin::Named("blue".into()),
                    &Enter::Named("blue".into())
                ),
                (
                    "cni-7f3e",
                    &Origin::Named("cni-7f3e".into()),
                    &Enter::Named("cni-7f3e".into())
                ),
                (
                    "pid-1234-sleep",
                    &Origin::Process {
                        pid: 1234,
                        comm: "sleep".into()
                    },
                    &Enter::Pid(1234)
                ),
                (
                    "ctr-ab12ab12ab12",
                    &Origin::Process {
                        pid: 1500,
                        comm: "nginx".into()
                    },
                    &Enter::Pid(1500)
                ),
                (
                    "pod-kube-system-coredns-x1",
                    &Origin::Process {
                        pid: 1600,
                        comm: "pause".into()
                    },
                    &Enter::Pid(1600)
                ),
            ]
        );
        // one entry per inode
        let mut keys: Vec<NsKey> = f.iter().map(|x| x.key).collect();
        keys.dedup();
        assert_eq!(keys.len(), f.len());
    }

    #[test]
    fn run_from_inside_a_namespace_enters_the_root_through_pid_1() {
        let mut m = machine();
        m.own = Some((4, 30));
        let f = scan(&m);
        assert_eq!(f[0].enter, Enter::Pid(1));
        assert_eq!(f[3].enter, Enter::Here);
    }

    #[test]
    fn names_are_cleaned_and_made_unique() {
        let mut m = machine();
        m.procs = vec![
            proc(1, "systemd", 1, ""),
            proc(7, "my prog/x", 60, ""),
            proc(8, "a", 61, ""),
        ];
        m.named = vec![("pid-8-a".into(), (4, 62))];
        let f = scan(&m);
        let hosts: Vec<&str> = f.iter().map(|x| x.host.as_str()).collect();
        assert_eq!(hosts, ["node-1", "pid-8-a", "pid-7-my-prog-x", "pid-8-a-2"]);
    }

    #[test]
    fn only_ns_selects_by_name_pid_root_or_host() {
        let m = machine();
        let f = scan(&m);
        let pick = |sel: &str| -> Vec<&str> {
            f.iter()
                .filter(|x| x.selected_by(sel, &m.procs))
                .map(|x| x.host.as_str())
                .collect()
        };
        assert_eq!(pick("root"), ["node-1"]);
        assert_eq!(pick("pid:1300"), ["pid-1234-sleep"]);
        assert_eq!(pick("pid:900"), ["cni-7f3e"]);
        assert_eq!(pick("blue"), ["blue"]);
        assert_eq!(
            pick("pod-kube-system-coredns-x1"),
            ["pod-kube-system-coredns-x1"]
        );
        assert!(pick("pid:99999").is_empty());
    }

    /// crictl's answers as containerd's CRI plugin gives them: a pod with
    /// its own namespace (found by path), one found by its sandbox pid, a
    /// hostNetwork pod (the root namespace), one not ready.
    #[test]
    fn pods_from_crictl() {
        let pods = r#"{"items": [
          {"id": "aaa", "metadata": {"name": "web-1", "namespace": "default"}, "state": "SANDBOX_READY"},
          {"id": "bbb", "metadata": {"name": "dns-2", "namespace": "kube-system"}, "state": "SANDBOX_READY"},
          {"id": "ccc", "metadata": {"name": "kube-proxy-x", "namespace": "kube-system"}, "state": "SANDBOX_READY"},
          {"id": "ddd", "metadata": {"name": "old", "namespace": "default"}, "state": "SANDBOX_NOTREADY"}]}"#;
        let run = |a: &[&str]| -> anyhow::Result<String> {
            Ok(match a {
                [_, "pods", ..] => pods.to_string(),
                [.., "aaa"] => r#"{"info": {"pid": 900, "runtimeSpec": {"linux": {"namespaces": [
                    {"type": "pid"}, {"type": "network", "path": "/var/run/netns/cni-1"}]}}}}"#
                    .into(),
                [.., "bbb"] => r#"{"info": {"pid": 1600}}"#.into(),
                [.., "ccc"] => r#"{"info": {"pid": 1, "runtimeSpec": {"linux": {"namespaces": [{"type": "pid"}]}}}}"#.into(),
                _ => anyhow::bail!("unexpected {a:?}"),
            })
        };
        let key_of = |p: &str| -> Option<NsKey> {
            match p {
                "/var/run/netns/cni-1" => Some((4, 20)),
                "/proc/1600/ns/net" => Some((4, 50)),
                "/proc/1/ns/net" => Some((4, 1)),
                _ => None,
            }
        };
        let mut w = Vec::new();
        let got = cri_pods_with(&run, &key_of, &mut w);
        assert!(w.is_empty(), "{w:?}");
        let mut m = machine();
        m.pods = got;
        let f = scan(&m);
        let hosts: Vec<&str> = f.iter().map(|x| x.host.as_str()).collect();
        assert_eq!(
            hosts,
            [
                "node-1",
                "blue",
                "pod-default-web-1",
                "pid-1234-sleep",
                "ctr-ab12ab12ab12",
                "pod-kube-system-dns-2"
            ]
        );
        assert_eq!(f[0].pod, None);
        assert_eq!(f[2].about()["pod"], "pod-default-web-1");
        assert_eq!(f[2].about()["origin"], "named");
    }

    /// containerd's task bundles: a sandbox with a namespace path, one
    /// found by its init.pid, an application container (not a sandbox).
    #[test]
    fn pods_from_containerd_task_bundles() {
        let root = std::env::temp_dir().join(format!("podpath-ctrd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let task = |id: &str, cfg: &str, pid: &str| {
            let d = root.join("k8s.io").join(id);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("config.json"), cfg).unwrap();
            std::fs::write(d.join("init.pid"), pid).unwrap();
        };
        let sandbox = |name: &str, extra: &str| {
            format!(
                r#"{{"annotations": {{"io.kubernetes.cri.container-type": "sandbox",
                "io.kubernetes.cri.sandbox-name": "{name}", "io.kubernetes.cri.sandbox-namespace": "default"}},
                "linux": {{"namespaces": [{{"type": "pid"}}{extra}]}}}}"#
            )
        };
        task(
            "aaa",
            &sandbox(
                "web-1",
                r#", {"type": "network", "path": "/var/run/netns/cni-1"}"#,
            ),
            "900",
        );
        task("bbb", &sandbox("web-2", ""), "1600");
        task(
            "ccc",
            r#"{"annotations": {"io.kubernetes.cri.container-type": "container",
              "io.kubernetes.cri.sandbox-name": "web-2", "io.kubernetes.cri.sandbox-namespace": "default"}}"#,
            "1700",
        );
        let key_of = |p: &str| -> Option<NsKey> {
            match p {
                "/var/run/netns/cni-1" => Some((4, 20)),
                "/proc/1600/ns/net" => Some((4, 50)),
                "/proc/1700/ns/net" => Some((4, 50)),
                _ => None,
            }
        };
        let got = containerd_pods(&root, &key_of);
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(
            got,
            [
                ((4, 20), "pod-default-web-1".to_string()),
                ((4, 50), "pod-default-web-2".to_string())
            ]
            .into()
        );
        assert!(containerd_pods(Path::new("/nonexistent/podpath"), &key_of).is_empty());
    }

    #[test]
    fn container_ids_from_cgroup_paths() {
        let id = "0123456789abcdef".repeat(4);
        for (cg, want) in [
            (format!("12:pids:/docker/{id}\n"), Some("ctr-0123456789ab")),
            (
                format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-{id}.scope\n"),
                Some("ctr-0123456789ab"),
            ),
            (format!("0::/machine.slice/libpod-{id}.scope"), Some("ctr-0123456789ab")),
            ("0::/user.slice/user-0.slice/session-1.scope\n".to_string(), None),
            ("0::/\n".to_string(), None),
        ] {
            assert_eq!(container_of(&cg).as_deref(), want, "{cg}");
        }
    }
}
