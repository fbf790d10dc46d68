//! `podpath live --kind`: run a scenario's objects on a kind cluster, send
//! its flows from its pods, capture on the nodes' interfaces, collect the
//! nodes' network state as a snapshot bundle, replay the bundle in the
//! simulator and diff real against simulated, interface by interface.
//!
//! The pipeline ([`run`]) talks to the cluster only through [`KindBackend`]:
//! the kube context, apply and delete the objects, pod readiness, captures
//! on the nodes, flows from pods, the snapshot. Two backends:
//! - [`Kubectl`]: a real kind cluster through the `kubectl` and `docker`
//!   command lines (`docker exec` into the node containers for captures and
//!   network state). No container engine can run on the machines podpath is
//!   built on, so this adapter is not exercised by the tests.
//! - [`NetnsKind`]: a kind-like cluster built in network namespaces on this
//!   machine (kind's docker network, one namespace per node and pod, kindnet's
//!   veths and routes, kube-proxy in iptables mode), which gives real node
//!   state and real captures; the tests run the whole pipeline against it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};

use crate::live::{self, LiveFlow, RealCaptures, RealTimes};
use podpath_sim::world::World;

/// What the pipeline needs from a cluster.
pub trait KindBackend {
    /// The kube context in use (refused unless it starts with `kind-`).
    fn context(&self) -> Result<String>;
    /// The cluster's node names.
    fn nodes(&self) -> Result<Vec<String>>;
    /// Creates the run's namespace and applies the objects; returns how many.
    fn apply(&mut self, ns: &str, world: &World, manifests: &str) -> Result<usize>;
    /// (ready, total) pods of the run.
    fn ready(&self, ns: &str) -> Result<(usize, usize)>;
    /// Starts captures on every interface of every node.
    fn start_captures(&mut self, world: &World) -> Result<()>;
    /// Sends the flows from their pods; returns the outcomes and how long the
    /// run took.
    fn run_flows(&mut self, ns: &str, world: &World) -> Result<(Vec<LiveFlow>, u64)>;
    /// Stops the captures and reads them (nodes' interfaces only).
    fn collect(&mut self) -> Result<(RealCaptures, RealTimes)>;
    /// Writes the nodes' (and pods') network state as a podpath-snapshot/1
    /// bundle; returns warnings.
    fn snapshot(&mut self, world: &World, dir: &Path) -> Result<Vec<String>>;
    /// Removes everything the run created.
    fn delete(&mut self, ns: &str);
}

/// Waits at most `limit` for every pod to be ready, printing progress.
fn wait_ready(b: &dyn KindBackend, ns: &str, limit: Duration, out: &mut dyn Write) -> Result<()> {
    let step = Duration::from_millis(250);
    let mut waited = Duration::ZERO;
    loop {
        let (r, t) = b.ready(ns)?;
        writeln!(out, "kind: {r}/{t} pods ready")?;
        if r == t {
            return Ok(());
        }
        if waited >= limit {
            bail!(
                "only {r} of {t} pods became ready within {} s",
                limit.as_secs()
            );
        }
        std::thread::sleep(step);
        waited += step;
    }
}

/// The whole pipeline. Everything it creates is removed on the way out,
/// also on error (the netns backend also on Ctrl-C).
#[allow(clippy::too_many_arguments)]
pub fn run(
    b: &mut dyn KindBackend,
    world: &World,
    manifests: &str,
    node_names: &[String],
    bundle_dir: &Path,
    out: &mut dyn Write,
) -> Result<(Vec<LiveFlow>, RealCaptures, u64, Vec<String>)> {
    let ctx = b.context()?;
    if !ctx.starts_with("kind-") {
        bail!(
            "refusing kube context '{ctx}': podpath live --kind only runs on kind clusters (contexts named kind-*), so that it never touches a real cluster"
        );
    }
    let nodes = b.nodes()?;
    for n in node_names {
        if !nodes.contains(n) {
            bail!(
                "the scenario's Node '{n}' is not a node of the cluster (nodes: {})",
                nodes.join(", ")
            );
        }
    }
    let ns = format!("podpath-{}", std::process::id());
    writeln!(out, "kind: context {ctx}, nodes {}", nodes.join(", "))?;
    let res = (|| -> Result<_> {
        let n = b.apply(&ns, world, manifests)?;
        writeln!(out, "kind: applied {n} objects (namespace {ns})")?;
        wait_ready(&*b, &ns, Duration::from_secs(120), out)?;
        let warnings = b.snapshot(world, bundle_dir)?;
        b.start_captures(world)?;
        let (flows, elapsed) = b.run_flows(&ns, world)?;
        let (real, _times) = b.collect()?;
        let nodes: Vec<&str> = node_names.iter().map(|s| s.as_str()).collect();
        let real: RealCaptures = real
            .into_iter()
            .filter(|((h, _, _), _)| nodes.contains(&h.as_str()))
            .collect();
        Ok((flows, real, elapsed, warnings))
    })();
    writeln!(out, "kind: removing what the run created")?;
    b.delete(&ns);
    res
}

/// A kind-like cluster in network namespaces: the scenario's world (its
/// cluster expanded with kindnet) is built when the objects are applied.
pub struct NetnsKind {
    lab: live::Lab,
    context: String,
    nodes: Vec<String>,
    pods: usize,
    built: bool,
}

impl NetnsKind {
    pub fn new(prefix: &str, world: &World, context: Option<&str>) -> Result<NetnsKind> {
        if let Err(why) = live::netns_available(prefix) {
            bail!("a kind-like cluster needs network namespaces: {why}");
        }
        let dir = std::env::temp_dir().join(format!("{prefix}kind-{}", std::process::id()));
        Ok(NetnsKind {
            lab: live::Lab::new(prefix, &dir)?,
            context: context.unwrap_or("kind-podpath-netns").to_string(),
            nodes: world
                .hosts
                .iter()
                .filter(|h| h.kind == podpath_sim::net::host::HostKind::Node)
                .map(|h| h.name.clone())
                .collect(),
            pods: world
                .hosts
                .iter()
                .filter(|h| h.kind == podpath_sim::net::host::HostKind::Pod)
                .count(),
            built: false,
        })
    }
}

impl KindBackend for NetnsKind {
    fn context(&self) -> Result<String> {
        Ok(self.context.clone())
    }
    fn nodes(&self) -> Result<Vec<String>> {
        Ok(self.nodes.clone())
    }
    fn apply(&mut self, _ns: &str, world: &World, manifests: &str) -> Result<usize> {
        // kubelet, kindnet and kube-proxy at once: the expanded world
        self.lab.build(world)?;
        self.built = true;
        Ok(manifests.matches("\nkind: ").count() + usize::from(manifests.starts_with("kind: ")))
    }
    fn ready(&self, _ns: &str) -> Result<(usize, usize)> {
        Ok((if self.built { self.pods } else { 0 }, self.pods))
    }
    fn start_captures(&mut self, world: &World) -> Result<()> {
        self.lab.start_captures(world)
    }
    fn run_flows(&mut self, _ns: &str, world: &World) -> Result<(Vec<LiveFlow>, u64)> {
        self.lab.run_flows(world)
    }
    fn collect(&mut self) -> Result<(RealCaptures, RealTimes)> {
        self.lab.collect()
    }
    fn snapshot(&mut self, world: &World, dir: &Path) -> Result<Vec<String>> {
        crate::snapshot::snapshot_netns(&self.lab.prefix, dir, crate::snapshot::live_extras(world))
    }
    fn delete(&mut self, _ns: &str) {
        self.lab.teardown();
    }
}

/// A real kind cluster through `kubectl` and `docker` (not exercised by the
/// tests: no container engine runs where podpath is built).
pub struct Kubectl {
    pub context: Option<String>,
    caps: Vec<(String, String, String, std::process::Child)>,
    dir: PathBuf,
}

fn tool(name: &str) -> Result<()> {
    match Command::new(name).arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(_) => Ok(()),
        Err(_) => bail!("'{name}' is not installed or not on PATH: podpath live --kind needs kubectl and docker (and kind to have created the cluster)"),
    }
}

impl Kubectl {
    pub fn new(context: Option<&str>) -> Result<Kubectl> {
        tool("kubectl")?;
        tool("docker")?;
        // Ctrl-C: delete the run's namespace (and with it its pods), then exit.
        let ctx: Vec<String> = context
            .map(|c| vec!["--context".to_string(), c.to_string()])
            .unwrap_or_default();
        let ns = format!("podpath-{}", std::process::id());
        let _ = ctrlc::set_handler(move || {
            let _ = Command::new("kubectl")
                .args(&ctx)
                .args(["delete", "namespace", &ns, "--wait=false"])
                .status();
            eprintln!("podpath: interrupted; namespace {ns} deleted");
            std::process::exit(130);
        });
        Ok(Kubectl {
            context: context.map(str::to_string),
            caps: Vec::new(),
            dir: std::env::temp_dir().join(format!("podpath-kind-{}", std::process::id())),
        })
    }
    fn kubectl(&self, args: &[&str], input: Option<&str>) -> Result<String> {
        let mut a = vec!["kubectl"];
        if let Some(c) = &self.context {
            a.extend(["--context", c.as_str()]);
        }
        a.extend_from_slice(args);
        live::run(&a, input, 60).map_err(|e| anyhow!("{e:#} (is the cluster reachable?)"))
    }
    fn docker_exec(&self, node: &str, args: &[&str]) -> Result<String> {
        let mut a = vec!["docker", "exec", node];
        a.extend_from_slice(args);
        live::run(&a, None, 60)
    }
}

impl KindBackend for Kubectl {
    fn context(&self) -> Result<String> {
        match &self.context {
            Some(c) => Ok(c.clone()),
            None => Ok(self
                .kubectl(&["config", "current-context"], None)?
                .trim()
                .to_string()),
        }
    }
    fn nodes(&self) -> Result<Vec<String>> {
        let s = self.kubectl(
            &["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"],
            None,
        )?;
        Ok(s.split_whitespace().map(str::to_string).collect())
    }
    fn apply(&mut self, ns: &str, _world: &World, manifests: &str) -> Result<usize> {
        self.kubectl(&["create", "namespace", ns], None)?;
        let out = self.kubectl(&["apply", "-n", ns, "-f", "-"], Some(manifests))?;
        Ok(out.lines().count())
    }
    fn ready(&self, ns: &str) -> Result<(usize, usize)> {
        let v: serde_json::Value =
            serde_json::from_str(&self.kubectl(&["get", "pods", "-n", ns, "-o", "json"], None)?)?;
        let pods = v["items"].as_array().cloned().unwrap_or_default();
        let ready = pods
            .iter()
            .filter(|p| {
                p["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            })
            .count();
        Ok((ready, pods.len()))
    }
    fn start_captures(&mut self, _world: &World) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for node in self.nodes()? {
            let links: serde_json::Value =
                serde_json::from_str(&self.docker_exec(&node, &["ip", "-j", "link", "show"])?)?;
            for l in links.as_array().into_iter().flatten() {
                let Some(dev) = l["ifname"].as_str() else {
                    continue;
                };
                for dir in ["in", "out"] {
                    let f = self.dir.join(format!("{node}-{dev}-{dir}.pcap"));
                    let child = Command::new("docker")
                        .args([
                            "exec", &node, "tcpdump", "-U", "-n", "-i", dev, "-Q", dir, "-w", "-",
                        ])
                        .stdout(std::fs::File::create(&f)?)
                        .stderr(Stdio::null())
                        .spawn()?;
                    self.caps
                        .push((node.clone(), dev.to_string(), dir.to_string(), child));
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1));
        Ok(())
    }
    fn run_flows(&mut self, ns: &str, world: &World) -> Result<(Vec<LiveFlow>, u64)> {
        let mut out = Vec::new();
        for f in &world.flows {
            let pod = &world.hosts[f.from].name;
            let cmd = live::flow_command(&f.request);
            let mut a = vec!["exec", "-n", ns, pod.as_str(), "--"];
            a.extend(cmd.iter().map(|s| s.as_str()));
            let outcome = match self.kubectl(&a, None) {
                Ok(s) => s.trim().to_string(),
                Err(e) => format!("ERROR {e:#}"),
            };
            out.push(LiveFlow {
                id: f.id.clone(),
                outcome,
            });
        }
        Ok((out, 0))
    }
    fn collect(&mut self) -> Result<(RealCaptures, RealTimes)> {
        let mut real: RealCaptures = BTreeMap::new();
        let times: RealTimes = BTreeMap::new();
        for (node, dev, dir, mut child) in std::mem::take(&mut self.caps) {
            let _ = self.docker_exec(&node, &["pkill", "-INT", "tcpdump"]);
            let _ = child.wait();
            let f = self.dir.join(format!("{node}-{dev}-{dir}.pcap"));
            let frames = live::read_pcap(&f).unwrap_or_default();
            real.insert((node, dev, dir), frames);
        }
        Ok((real, times))
    }
    fn snapshot(&mut self, world: &World, dir: &Path) -> Result<Vec<String>> {
        // The nodes, and the pods' network namespaces inside them (kind's
        // containerd names them cni-*), each pod found by its address and
        // named as in the scenario.
        let pods: serde_json::Value =
            serde_json::from_str(&self.kubectl(&["get", "pods", "-A", "-o", "json"], None)?)?;
        let mut by_ip: BTreeMap<String, String> = BTreeMap::new();
        for p in pods["items"].as_array().into_iter().flatten() {
            if let (Some(ip), Some(name)) = (
                p["status"]["podIP"].as_str(),
                p["metadata"]["name"].as_str(),
            ) {
                if p["spec"]["hostNetwork"].as_bool() != Some(true) {
                    by_ip.insert(ip.to_string(), name.to_string());
                }
            }
        }
        let mut hosts: Vec<(String, crate::snapshot::Exec)> = Vec::new();
        for node in self.nodes()? {
            let n = node.clone();
            hosts.push((
                node.clone(),
                Box::new(move |args: &[&str]| {
                    let mut a = vec!["docker", "exec", n.as_str()];
                    a.extend_from_slice(args);
                    live::run(&a, None, 60)
                }),
            ));
            let list = self.docker_exec(&node, &["ip", "-j", "netns", "list"])?;
            let list: serde_json::Value = serde_json::from_str(&list).unwrap_or_default();
            for e in list.as_array().into_iter().flatten() {
                let Some(ns) = e["name"].as_str() else {
                    continue;
                };
                let addrs = self.docker_exec(
                    &node,
                    &[
                        "ip", "netns", "exec", ns, "ip", "-j", "-4", "addr", "show", "eth0",
                    ],
                )?;
                let pod = by_ip
                    .iter()
                    .find(|(ip, _)| addrs.contains(&format!("\"{ip}\"")))
                    .map(|(_, n)| n.clone());
                let Some(pod) = pod else { continue };
                let (n, ns) = (node.clone(), ns.to_string());
                hosts.push((
                    pod,
                    Box::new(move |args: &[&str]| {
                        let mut a = vec![
                            "docker",
                            "exec",
                            n.as_str(),
                            "ip",
                            "netns",
                            "exec",
                            ns.as_str(),
                        ];
                        a.extend_from_slice(args);
                        live::run(&a, None, 60)
                    }),
                ));
            }
        }
        crate::snapshot::snapshot_via(&hosts, dir, crate::snapshot::live_extras(world))
    }
    fn delete(&mut self, ns: &str) {
        for (node, _, _, mut c) in std::mem::take(&mut self.caps) {
            let _ = self.docker_exec(&node, &["pkill", "tcpdump"]);
            let _ = c.kill();
        }
        let _ = self.kubectl(&["delete", "namespace", ns, "--wait=false"], None);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
