//! `podpath`: a thin command line over podpath-sim and podpath-render.

mod check;
mod diff;
mod explain;
mod kind;
mod live;
mod scenarios;
mod snapshot;
pub mod step;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use podpath_sim::engine::Engine;

#[derive(Parser)]
#[command(
    name = "podpath",
    version,
    about = "A deterministic packet-level simulator of Kubernetes traffic paths"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    /// The sequence diagram drawn with text characters.
    Seq,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario (a YAML file or an embedded name; default: the embedded default) and print its trace.
    Run {
        scenario: Option<String>,
        /// Replay a podpath-snapshot/1 bundle instead of a scenario.
        #[arg(long, value_name = "DIR", conflicts_with = "scenario")]
        bundle: Option<PathBuf>,
        /// Only this flow (its id, e.g. `health#2`, or the traffic id for all its connections).
        #[arg(long)]
        flow: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Write every packet seen on every device as pcapng (Wireshark, tshark).
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
        /// Write a Mermaid sequence diagram.
        #[arg(long, value_name = "FILE")]
        mermaid: Option<PathBuf>,
        /// Write a PlantUML sequence diagram.
        #[arg(long, value_name = "FILE")]
        plantuml: Option<PathBuf>,
        /// Write the sequence diagram as SVG (drawn in-process).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Write a self-contained HTML report (topology, sequence diagrams,
        /// hop tables, the pcapng to download).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Step through a run hop by hop in the terminal (keys: ? for help).
    Step {
        scenario: Option<String>,
        /// Start at this flow.
        #[arg(long)]
        flow: Option<String>,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Draw the scenario's topology (hosts, devices, links) as SVG.
    Topo {
        scenario: Option<String>,
        #[arg(long, value_name = "FILE")]
        svg: PathBuf,
    },
    /// Build the scenario out of network namespaces on this machine (root),
    /// send its flows through the real kernel, capture every device; with
    /// --diff, compare with the simulation interface by interface.
    Live {
        scenario: Option<String>,
        /// Use network namespaces (the only live backend on this machine).
        #[arg(long)]
        netns: bool,
        /// Run on a kind cluster (kubectl and docker; only contexts named
        /// kind-*): apply the scenario's objects, send its flows from its
        /// pods, capture on the nodes, replay their snapshot, diff.
        #[arg(long, conflicts_with = "netns")]
        kind: bool,
        /// With --kind: a kind-like cluster built in network namespaces on
        /// this machine instead of a real one.
        #[arg(long, requires = "kind")]
        fake_netns: bool,
        /// With --kind: the kube context (default: the current one).
        #[arg(long, requires = "kind")]
        context: Option<String>,
        /// Compare real and simulated captures; exit 1 on a difference.
        #[arg(long)]
        diff: bool,
        /// Write the real captures as pcapng (same layout as `run --pcap`).
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
        /// Prefix of the namespaces this run creates.
        #[arg(long, default_value = "pp-")]
        prefix: String,
        #[arg(long)]
        seed: Option<u64>,
        /// Keep the snapshot bundle taken before the flows in DIR.
        #[arg(long, value_name = "DIR")]
        bundle_out: Option<PathBuf>,
    },
    /// Write a podpath-snapshot/1 bundle of the network namespaces whose
    /// names start with PREFIX (--netns), or of a kind cluster's nodes
    /// (--kind, through docker exec; only contexts named kind-*).
    Snapshot {
        #[arg(long, value_name = "PREFIX", required_unless_present = "kind")]
        netns: Option<String>,
        #[arg(long, conflicts_with = "netns")]
        kind: bool,
        /// With --kind: the kube context (default: the current one).
        #[arg(long, requires = "kind")]
        context: Option<String>,
        #[arg(short = 'o', long = "out", value_name = "DIR")]
        out: PathBuf,
    },
    /// Print what a scenario's `cluster` (Kubernetes objects) expands to:
    /// the nodes, pods, devices, routes, neighbours and iptables rules.
    Expand { scenario: Option<String> },
    /// Print the iptables-restore payload kube-proxy (iptables mode) writes
    /// on a node of the scenario's cluster; --full: the node's whole
    /// iptables-save, with the jump rules and the CNI's rules. With
    /// `proxyMode: ipvs`: the iptables rules ipvs mode writes, `ipset save`
    /// and `ipvsadm -Sn`. With `proxyMode: nftables`: the `nft -f`
    /// transaction kube-proxy writes (the `ip kube-proxy` table).
    KubeProxyRules {
        scenario: Option<String>,
        #[arg(long)]
        node: String,
        #[arg(long)]
        full: bool,
    },
    /// Every branch each flow can take through random rule matches
    /// (`-m statistic`), with its probability; the probabilities sum to 1.
    Paths {
        scenario: Option<String>,
        /// Only this traffic entry.
        #[arg(long)]
        flow: Option<String>,
        #[arg(long)]
        seed: Option<u64>,
        /// Give up beyond this many paths per flow.
        #[arg(long, default_value_t = 4096)]
        max: usize,
    },
    /// Compare scenarios' traces with golden traces (DIR/NAME/trace.json):
    /// exit 0 when all match, 1 with a per-hop diff when one does not.
    Check {
        /// Scenario files or embedded names (default: the embedded default).
        scenarios: Vec<String>,
        #[arg(long, value_name = "DIR")]
        golden: PathBuf,
        /// Write the current traces as the new golden ones.
        #[arg(long)]
        bless: bool,
    },
    /// List the embedded scenarios.
    List,
    /// What podpath models, and what it simplifies.
    Explain,
}

fn load(scenario: Option<&str>, seed: Option<u64>) -> Result<podpath_sim::engine::World> {
    let (text, file) = scenario_text(scenario)?;
    Ok(podpath_sim::scenario::load(&text, &file, seed)?)
}

/// The scenario's cluster objects and network settings.
fn cluster_of(
    scenario: Option<&str>,
) -> Result<(
    podpath_sim::k8s::Cluster,
    podpath_sim::k8s::cluster::NetConfig,
)> {
    let (text, file) = scenario_text(scenario)?;
    let doc = podpath_sim::scenario::parse(&text, &file)?;
    let Some(c) = &doc.cluster else {
        bail!("{file}: this scenario has no 'cluster' (Kubernetes objects) to expand");
    };
    Ok(podpath_sim::scenario::cluster_of(c, &file)?)
}

fn scenario_text(scenario: Option<&str>) -> Result<(String, String)> {
    Ok(match scenario {
        None => {
            let e = scenarios::find(scenarios::DEFAULT).expect("default is embedded");
            (e.text.to_string(), format!("<embedded {}>", e.name))
        }
        Some(s) => match scenarios::find(s) {
            Some(e) if !PathBuf::from(s).exists() => {
                (e.text.to_string(), format!("<embedded {}>", e.name))
            }
            _ => {
                let t = std::fs::read_to_string(s).with_context(|| {
                    format!("cannot read scenario '{s}' (not a file, and not an embedded scenario: try `podpath list`)")
                })?;
                (t, s.to_string())
            }
        },
    })
}

/// Wall-clock time of a closure: live mode reports it; the simulator itself
/// never reads a clock.
#[allow(clippy::disallowed_methods)]
fn timed<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let t0 = std::time::Instant::now();
    let v = f();
    (v, t0.elapsed().as_nanos() as u64)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &t)?;
        } else {
            std::fs::copy(e.path(), t)?;
        }
    }
    Ok(())
}

/// Loads a snapshot bundle; warnings go to stderr.
fn load_bundle(dir: &std::path::Path, seed: Option<u64>) -> Result<podpath_sim::engine::World> {
    let read = |p: &str| -> std::result::Result<String, String> {
        std::fs::read_to_string(dir.join(p))
            .map_err(|e| format!("cannot read {}: {e}", dir.join(p).display()))
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "bundle".into());
    let (world, warnings) = podpath_sim::scenario::bundle::load(&read, &name, seed.unwrap_or(0))
        .map_err(|mut e| {
            e.file = dir.join(&e.file).display().to_string();
            e
        })?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(world)
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    match cli.cmd {
        Cmd::Run {
            scenario,
            flow,
            format,
            seed,
            pcap,
            bundle,
            mermaid,
            plantuml,
            svg,
            html,
        } => {
            let world = match &bundle {
                Some(dir) => load_bundle(dir, seed)?,
                None => load(scenario.as_deref(), seed)?,
            };
            let mut trace = Engine::new(world).run();
            if let Some(f) = &flow {
                trace
                    .flows
                    .retain(|x| &x.id == f || x.id.split('#').next() == Some(f.as_str()));
                if trace.flows.is_empty() {
                    bail!("no flow '{f}' in this scenario");
                }
            }
            if let Some(p) = &mermaid {
                std::fs::write(p, podpath_render::seq::mermaid(&trace))
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if let Some(p) = &html {
                let pcap = podpath_render::pcapng::render(&trace);
                let page =
                    podpath_render::html::render(&trace, &pcap).map_err(|e| anyhow::anyhow!(e))?;
                std::fs::write(p, page).with_context(|| format!("cannot write {}", p.display()))?;
            }
            if let Some(p) = &svg {
                let s = podpath_render::seq::svg(&trace).map_err(|e| anyhow::anyhow!(e))?;
                std::fs::write(p, s).with_context(|| format!("cannot write {}", p.display()))?;
            }
            if let Some(p) = &plantuml {
                std::fs::write(p, podpath_render::seq::plantuml(&trace))
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if let Some(p) = &pcap {
                if let Some(f) = &flow {
                    let keep: Vec<String> = trace.flows.iter().map(|x| x.id.clone()).collect();
                    let _ = f;
                    trace.captures.retain(|c| keep.contains(&c.flow));
                }
                std::fs::write(p, podpath_render::pcapng::render(&trace))
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            let out = match format {
                Format::Text => podpath_render::text::render(&trace),
                Format::Json => podpath_render::json::render(&trace),
                Format::Seq => {
                    podpath_render::seq::ascii(&trace).map_err(|e| anyhow::anyhow!(e))?
                }
            };
            stdout.write_all(out.as_bytes())?;
        }
        Cmd::Live {
            scenario,
            netns,
            kind,
            fake_netns,
            context,
            diff,
            pcap,
            prefix,
            seed,
            bundle_out,
        } => {
            if kind {
                return live_kind(
                    scenario.as_deref(),
                    seed,
                    &prefix,
                    fake_netns,
                    context.as_deref(),
                    diff,
                    &mut stdout,
                );
            }
            if !netns {
                bail!("choose a backend: --netns (network namespaces on this machine) or --kind (a kind cluster)");
            }
            return live_netns(
                scenario.as_deref(),
                seed,
                &prefix,
                diff,
                pcap.as_deref(),
                bundle_out.as_deref(),
                &mut stdout,
            );
        }
        Cmd::Snapshot {
            netns,
            kind,
            context,
            out,
        } => {
            let warnings = if kind {
                use kind::KindBackend;
                let mut k = kind::Kubectl::new(context.as_deref())?;
                let ctx = k.context()?;
                if !ctx.starts_with("kind-") {
                    bail!("refusing kube context '{ctx}': podpath snapshot --kind only reads kind clusters (contexts named kind-*)");
                }
                let empty = podpath_sim::engine::World {
                    scenario: ctx,
                    seed: 0,
                    hosts: Vec::new(),
                    flows: Vec::new(),
                    faults: Vec::new(),
                    horizon_ns: 0,
                    resyncs: Vec::new(),
                };
                k.snapshot(&empty, &out)?
            } else {
                snapshot::snapshot_netns(
                    netns.as_deref().unwrap_or_default(),
                    &out,
                    snapshot::Extras::default(),
                )?
            };
            for w in warnings {
                eprintln!("warning: {w}");
            }
            writeln!(stdout, "wrote {}", out.display())?;
        }
        Cmd::Expand { scenario } => {
            let (text, file) = scenario_text(scenario.as_deref())?;
            let doc = podpath_sim::scenario::parse(&text, &file)?;
            match podpath_sim::scenario::expansion_text(&doc, &file)? {
                Some(y) => stdout.write_all(y.as_bytes())?,
                None => {
                    bail!("{file}: this scenario has no 'cluster' (Kubernetes objects) to expand")
                }
            }
        }
        Cmd::KubeProxyRules {
            scenario,
            node,
            full,
        } => {
            let (objs, net) = cluster_of(scenario.as_deref())?;
            let Some(n) = objs.node(&node) else {
                let names: Vec<&str> = objs
                    .nodes
                    .iter()
                    .map(|n| n.metadata.name.as_str())
                    .collect();
                bail!(
                    "no Node '{node}' in the cluster (nodes: {})",
                    names.join(", ")
                );
            };
            let ip = n
                .internal_ip()
                .with_context(|| format!("Node {node} has no InternalIP"))?;
            let cfg = podpath_sim::k8s::cluster::proxier_config(&net, &node, ip);
            let out = if net.proxy_mode == "ipvs" {
                // ipvs mode: the iptables rules ipvs mode writes, then the
                // state in the kernel's other two places
                let extra = if full {
                    podpath_sim::k8s::cluster::cni_rules(&net, n)?
                } else {
                    Default::default()
                };
                let st = podpath_sim::k8s::cluster::ipvs_state(&objs, &node, ip);
                format!(
                    "{}# ipset save\n{}# ipvsadm -Sn\n{}",
                    podpath_sim::k8s::kubeproxy::node_iptables_save_ipvs(&cfg, &extra),
                    st.ipsets,
                    st.ipvsadm_save()
                )
            } else if net.proxy_mode == "nftables" {
                // nftables mode: the `nft -f` transaction kube-proxy sends;
                // --full adds the node's iptables-save (the CNI's rules)
                let nft = podpath_sim::k8s::kubeproxy_nft::nft_rules(&objs, &cfg);
                if full {
                    let extra = podpath_sim::k8s::cluster::cni_rules(&net, n)?;
                    format!(
                        "# iptables-save\n{}# nft -f\n{nft}",
                        podpath_sim::k8s::kubeproxy::node_iptables_save_others(&extra)
                    )
                } else {
                    nft
                }
            } else if full {
                let extra = podpath_sim::k8s::cluster::cni_rules(&net, n)?;
                podpath_sim::k8s::kubeproxy::node_iptables_save(&objs, &cfg, &extra)
            } else {
                podpath_sim::k8s::kubeproxy::restore_input(&objs, &cfg)
            };
            stdout.write_all(out.as_bytes())?;
        }
        Cmd::Step {
            scenario,
            flow,
            seed,
        } => {
            use std::io::IsTerminal;
            if !std::io::stdout().is_terminal() {
                bail!("podpath step needs a terminal; use `podpath run` for text output");
            }
            let world = load(scenario.as_deref(), seed)?;
            let trace = Engine::new(world).run();
            drop(stdout);
            let mut app = step::App::new(&trace);
            if let Some(f) = &flow {
                app.flow = trace
                    .flows
                    .iter()
                    .position(|x| &x.id == f || x.id.split('#').next() == Some(f.as_str()))
                    .with_context(|| format!("no flow '{f}' in this scenario"))?;
            }
            step::run_app(app)?;
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::Topo { scenario, svg } => {
            let world = load(scenario.as_deref(), None)?;
            let mut w = world;
            w.flows.clear();
            let trace = Engine::new(w).run();
            let s = podpath_render::topo::svg(&trace).map_err(|e| anyhow::anyhow!(e))?;
            std::fs::write(&svg, s).with_context(|| format!("cannot write {}", svg.display()))?;
            writeln!(stdout, "wrote {}", svg.display())?;
        }
        Cmd::Paths {
            scenario,
            flow,
            seed,
            max,
        } => {
            let w = load(scenario.as_deref(), seed)?;
            let ids: Vec<(String, String)> = w
                .flows
                .iter()
                .filter(|f| flow.as_ref().is_none_or(|x| *x == f.id))
                .map(|f| (f.id.clone(), w.hosts[f.from].name.clone()))
                .collect();
            if ids.is_empty() {
                bail!(
                    "no traffic entry '{}' in this scenario",
                    flow.unwrap_or_default()
                );
            }
            let make = || load(scenario.as_deref(), seed).expect("loaded once already");
            for (id, from) in ids {
                // progress on a terminal only (indicatif hides it when piped)
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_message(format!("flow {id}: exploring branches"));
                let paths = podpath_sim::engine::paths::enumerate_with(
                    &make,
                    &id,
                    max,
                    &mut |runs, pending| {
                        bar.set_message(format!(
                            "flow {id}: {runs} run(s), {pending} branch(es) to go"
                        ));
                        bar.tick();
                    },
                )
                .map_err(|e| anyhow::anyhow!("flow {id}: {e}"))?;
                bar.finish_and_clear();
                writeln!(stdout, "flow {id} (from {from}): {} path(s)", paths.len())?;
                let mut sum = 0.0;
                for (i, p) in paths.iter().enumerate() {
                    sum += p.probability;
                    writeln!(stdout, "  path {}  p = {:.6}", i + 1, p.probability)?;
                    for (at, prob, taken) in &p.decisions {
                        writeln!(
                            stdout,
                            "    {at} p={prob} -> {}",
                            if *taken { "matched" } else { "not matched" }
                        )?;
                    }
                    for r in &p.rewrites {
                        writeln!(stdout, "    {r}")?;
                    }
                    writeln!(stdout, "    => {}", p.outcome)?;
                }
                writeln!(stdout, "  sum of probabilities: {sum:.6}")?;
            }
        }
        Cmd::Check {
            scenarios,
            golden,
            bless,
        } => {
            let list: Vec<Option<&str>> = if scenarios.is_empty() {
                vec![None]
            } else {
                scenarios.iter().map(|s| Some(s.as_str())).collect()
            };
            let mut bad = 0;
            let bar = indicatif::ProgressBar::new(list.len() as u64);
            for s in &list {
                bar.inc(1);
                bar.set_message(s.unwrap_or(scenarios::DEFAULT).to_string());
                let world = load(*s, None)?;
                let name = world.scenario.clone();
                let trace = Engine::new(world).run();
                let json = podpath_render::json::render(&trace);
                let text = podpath_render::text::render(&trace);
                let shown = s.unwrap_or(scenarios::DEFAULT);
                let pcap = podpath_render::pcapng::render(&trace);
                match check::check_one(&name, &json, &text, &pcap, &golden, bless)? {
                    check::Verdict::Same => writeln!(stdout, "ok       {shown}")?,
                    check::Verdict::Blessed => writeln!(
                        stdout,
                        "blessed  {shown} -> {}",
                        golden.join(&name).join("trace.json").display()
                    )?,
                    check::Verdict::Missing => {
                        bad += 1;
                        writeln!(
                            stdout,
                            "MISSING  {shown}: no {} (run with --bless to create it)",
                            golden.join(&name).join("trace.json").display()
                        )?
                    }
                    check::Verdict::Differs(report) => {
                        bad += 1;
                        writeln!(
                            stdout,
                            "DIFFERS  {shown} (golden {}):",
                            golden.join(&name).join("trace.json").display()
                        )?;
                        stdout.write_all(report.as_bytes())?;
                    }
                }
            }
            bar.finish_and_clear();
            if bad > 0 {
                writeln!(
                    stdout,
                    "{bad} of {} scenario(s) differ from the golden traces",
                    list.len()
                )?;
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::List => {
            for e in scenarios::ALL {
                let d = scenarios::description(e.text);
                let mark = if e.name == scenarios::DEFAULT {
                    " (default)"
                } else {
                    ""
                };
                writeln!(stdout, "{:<24} {d}{mark}", e.name)?;
            }
        }
        Cmd::Explain => stdout.write_all(explain::TEXT.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The apps and flows a snapshot bundle records beside the kernel state,
/// so that its replay runs the same servers and requests.
pub fn live_extras(world: &podpath_sim::engine::World) -> snapshot::Extras {
    snapshot::Extras {
        apps: world
            .hosts
            .iter()
            .flat_map(|h| {
                h.tcp.listeners.iter().filter_map(move |(port, (_, app))| match &h.apps[*app] {
                    podpath_sim::app::App::HttpServer(s) => Some(serde_json::json!({
                        "host": h.name, "kind": "http-server", "listen": format!("0.0.0.0:{port}"),
                        "routes": s.routes.iter().map(|(p, r)| (p.clone(), serde_json::json!({"status": r.status, "content_type": r.content_type, "body": r.body}))).collect::<serde_json::Map<_, _>>(),
                    })),
                    _ => None,
                }).chain(h.udp_listeners.iter().filter_map(move |(port, app)| match &h.apps[*app] {
                    podpath_sim::app::App::DnsServer(d) => Some(serde_json::json!({
                        "host": h.name, "kind": "dns-server", "listen": format!("0.0.0.0:{port}"),
                        "records": d.records.iter().map(|(n, a)| (n.clone(), serde_json::json!(a.to_string()))).collect::<serde_json::Map<_, _>>(),
                    })),
                    _ => None,
                }))
            })
            .collect(),
        flows: world
            .flows
            .iter()
            .flat_map(|f| {
                let (dst, request) = match &f.request {
                    podpath_sim::engine::Request::HttpGet { dst, port, host_header, path } => {
                        (format!("{dst}:{port}"), format!("HTTP GET {path} Host: {host_header}"))
                    }
                    podpath_sim::engine::Request::DnsA { server, port, name } => (format!("{server}:{port}"), format!("DNS A {name}")),
                    podpath_sim::engine::Request::Ping { dst, size, df } => (format!("{dst}:0"), format!("PING size {size} df {df}")),
                    podpath_sim::engine::Request::Resolve { name, then: None } => ("0.0.0.0:0".to_string(), format!("RESOLVE {name}")),
                    podpath_sim::engine::Request::Resolve { name, then: Some(t) } => (format!("0.0.0.0:{}", t.port), format!("RESOLVE {name} HTTP GET {} Host: {}", t.path, t.host_header)),
                };
                let from = world.hosts[f.from].name.clone();
                (0..f.count).map(move |k| serde_json::json!({
                    "id": if f.count > 1 { format!("{}#{}", f.id, k + 1) } else { f.id.clone() },
                    "from": from, "proto": if request.starts_with("DNS") || (request.starts_with("RESOLVE") && !request.contains(" HTTP GET ")) { "udp" } else { "tcp" }, "dst": dst,
                    "request": request,
                    "start_ns": f.start_ns + k as u64 * f.interval_ns,
                }))
            })
            .collect(),
    }
}

/// `podpath live --kind`: see kind.rs.
fn live_kind(
    scenario: Option<&str>,
    seed: Option<u64>,
    prefix: &str,
    fake_netns: bool,
    context: Option<&str>,
    do_diff: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let (text, file) = scenario_text(scenario)?;
    let doc = podpath_sim::scenario::parse(&text, &file)?;
    let Some(c) = &doc.cluster else {
        bail!("{file}: live --kind needs a scenario with a 'cluster' (Kubernetes objects)");
    };
    let manifests = c.manifests.value.clone();
    let (objs, _) = podpath_sim::scenario::cluster_of(c, &file)?;
    let node_names: Vec<String> = objs.nodes.iter().map(|n| n.metadata.name.clone()).collect();
    let world = load(scenario, seed)?;
    let mut backend: Box<dyn kind::KindBackend> = if fake_netns {
        Box::new(kind::NetnsKind::new(prefix, &world, context)?)
    } else {
        Box::new(kind::Kubectl::new(context)?)
    };
    let dir = std::env::temp_dir().join(format!("{prefix}kind-bundle-{}", std::process::id()));
    let (flows, real, elapsed, warnings) =
        kind::run(backend.as_mut(), &world, &manifests, &node_names, &dir, out)?;
    drop(backend);
    for w in warnings {
        eprintln!("warning: snapshot: {w}");
    }
    for f in &flows {
        writeln!(out, "live {}: {}", f.id, f.outcome)?;
    }
    // The simulation of the cluster as the snapshot found it.
    let mut bw = load_bundle(&dir, seed)?;
    if elapsed > 0 {
        bw.horizon_ns = elapsed;
    }
    let trace = Engine::new(bw).run();
    let _ = std::fs::remove_dir_all(&dir);
    for f in &trace.flows {
        writeln!(out, "sim  {}: {}", f.id, f.outcome)?;
    }
    if !do_diff {
        return Ok(ExitCode::SUCCESS);
    }
    let sim = diff::sim_captures(&trace, &|h: &str| node_names.iter().any(|n| n == h));
    let r = diff::report(&sim, real);
    out.write_all(r.text.as_bytes())?;
    writeln!(
        out,
        "kind: {} of {} node interface directions match (snapshot replay); {} ports renamed; {} ACK/reply races tolerated",
        r.matched, r.total, r.renamed, r.races
    )?;
    let matched = r.matched;
    let ifaces_len = r.total;
    Ok(if matched == ifaces_len {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn live_netns(
    scenario: Option<&str>,
    seed: Option<u64>,
    prefix: &str,
    do_diff: bool,
    pcap: Option<&std::path::Path>,
    bundle_out: Option<&std::path::Path>,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let world = load(scenario, seed)?;
    if let Err(why) = live::netns_available(prefix) {
        bail!("live --netns is not possible here: {why}");
    }
    let dir = std::env::temp_dir().join(format!("{prefix}live-{}", std::process::id()));
    let mut lab = live::Lab::new(prefix, &dir)?;
    lab.build(&world)?;
    // Snapshot the namespaces before any traffic, to replay the bundle too.
    let bundle_dir = dir.join("bundle");
    let extras = live_extras(&world);
    let snap = snapshot::snapshot_netns(prefix, &bundle_dir, extras);
    lab.start_captures(&world)?;
    let (flows, lab_elapsed_ns) = lab.run_flows(&world)?;
    let (real, times) = lab.collect()?;

    let t0 = times.values().flatten().min().copied().unwrap_or(0);
    lab.teardown();
    drop(lab);
    for f in &flows {
        writeln!(out, "live {}: {}", f.id, f.outcome)?;
    }
    // The simulation covers the same stretch of time the captures did.
    let mut sim_world = load(scenario, seed)?;
    sim_world.horizon_ns = lab_elapsed_ns;
    let (trace, sim_ns) = timed(|| Engine::new(sim_world).run());
    if let Some(p) = pcap {
        let mut t = trace.clone();
        t.captures = real
            .iter()
            .flat_map(|((h, d, dir), frames)| {
                let ts = times
                    .get(&(h.clone(), d.clone(), dir.clone()))
                    .cloned()
                    .unwrap_or_default();
                frames
                    .iter()
                    .enumerate()
                    .map(move |(i, b)| podpath_sim::trace::Capture {
                        time_ns: ts.get(i).map(|t| t - t0).unwrap_or(0),
                        host: h.clone(),
                        dev: d.clone(),
                        dir: if dir == "out" {
                            podpath_sim::trace::Direction::Out
                        } else {
                            podpath_sim::trace::Direction::In
                        },
                        packet: 0,
                        flow: String::new(),
                        hop: None,
                        comment: format!("real capture on {h}/{d}"),
                        bytes: b.clone(),
                    })
            })
            .collect();
        t.captures.sort_by_key(|c| c.time_ns);
        std::fs::write(p, podpath_render::pcapng::render(&t))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let bundle_world = match snap {
        Ok(w) => {
            for x in w {
                eprintln!("warning: snapshot: {x}");
            }
            Some(load_bundle(&bundle_dir, seed))
        }
        Err(e) => {
            eprintln!("warning: snapshot failed: {e:#}");
            None
        }
    };
    if let Some(keep) = bundle_out {
        copy_dir(&bundle_dir, keep)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !do_diff {
        return Ok(ExitCode::SUCCESS);
    }
    let sim = diff::sim_captures(&trace, &|_| true);
    for f in &trace.flows {
        writeln!(out, "sim  {}: {}", f.id, f.outcome)?;
    }
    writeln!(
        out,
        "time: real run {:.3} s (flows and captures), simulation {:.3} ms (wall clock)",
        lab_elapsed_ns as f64 / 1e9,
        sim_ns as f64 / 1e6
    )?;
    let r = diff::report(&sim, real.clone());
    out.write_all(r.text.as_bytes())?;
    writeln!(
        out,
        "{} of {} interface directions match; {} ports renamed (ephemeral/random choices); {} IGMP frames of the real kernel left out; {} ACK/reply races tolerated",
        r.matched, r.total, r.renamed, r.housekeeping, r.races
    )?;
    // The same flows replayed from the snapshot of the real namespaces.
    let mut bundle_ok = true;
    if let Some(bw) = bundle_world {
        let mut bw = bw?;
        bw.horizon_ns = lab_elapsed_ns;
        let bt = Engine::new(bw).run();
        let b = diff::report(&diff::sim_captures(&bt, &|_| true), real);
        for l in b.text.lines().filter(|l| l.starts_with("DIFFER")) {
            writeln!(out, "bundle {l}")?;
        }
        writeln!(
            out,
            "bundle replay: {} of {} interface directions match; {} ports renamed",
            b.matched, b.total, b.renamed
        )?;
        bundle_ok = b.matched == b.total;
    }
    Ok(if r.matched == r.total && bundle_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(c) => c,
        Err(e) => {
            // Broken pipes (podpath run | head) end quietly.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
