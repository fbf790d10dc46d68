//! `podpath`: a thin command line over podpath-sim and podpath-render. One
//! dispatch `match`; each command is a function in `cmd/`.

mod align;
mod cmd;
mod delta;
mod diff;
mod explain;
mod golden;
mod kind;
mod live;
mod patch;
mod scenarios;
mod snapshot;
pub mod step;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// mimalloc: `reach`'s probes allocate and free small objects by the
/// million on every thread; glibc's malloc took 40 % of a matrix's time
/// (sim/benches/reach.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "podpath",
    version,
    about = "A deterministic packet-level simulator of Kubernetes traffic paths",
    after_help = "\
In `podpath run --format trace` (every hop), the mark before a step says what it did:
  !!  the packet was dropped or rejected here (the reason follows)
  <>  NAT rewrote an address or port (DNAT, SNAT, or their reversal on a reply)
  ->  delivered to a local socket (the state of the TCP connection follows)
  xx  a NetworkPolicy denies the packet (the policies that selected the pod; the drop follows, naming the generated rule)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario (a YAML file or an embedded name; default: the
    /// embedded default) and print, per flow, how it ended, the path, who
    /// answered and every NAT rewrite; `--format trace` prints every hop
    /// (marks: `!!` dropped, `<>` NAT rewrite, `->` delivered to a socket, `xx` denied by a NetworkPolicy).
    Run(cmd::run::RunArgs),
    /// Step through a run hop by hop in the terminal (keys: ? for help).
    Step(cmd::step::StepArgs),
    /// Draw the scenario's topology (hosts, devices, links) as SVG.
    Topo(cmd::topo::TopoArgs),
    /// Build the scenario out of network namespaces on this machine (root),
    /// send its flows through the real kernel, capture every device; with
    /// --diff, compare with the simulation interface by interface.
    Live(cmd::live::LiveArgs),
    /// Write a podpath-snapshot/1 bundle of this machine (--host: its root
    /// namespace and every other network namespace, named or held only by
    /// processes), of the network namespaces whose names start with PREFIX
    /// (--netns), or of a kind cluster's nodes (--kind, through docker
    /// exec; only contexts named kind-*). It only reads.
    Snapshot(cmd::snapshot::SnapshotArgs),
    /// Print what a scenario's `cluster` (Kubernetes objects) expands to:
    /// the nodes, pods, devices, routes, neighbours and iptables rules.
    Expand(cmd::expand::ExpandArgs),
    /// What podpath makes of real machines' dumps and of bundles.
    Inspect(cmd::inspect::InspectArgs),
    /// Print the iptables-restore payload kube-proxy (iptables mode) writes
    /// on a node of the scenario's cluster; --full: the node's whole
    /// iptables-save, with the jump rules and the CNI's rules. With
    /// `proxyMode: ipvs`: the iptables rules ipvs mode writes, `ipset save`
    /// and `ipvsadm -Sn`. With `proxyMode: nftables`: the `nft -f`
    /// transaction kube-proxy writes (the `ip kube-proxy` table).
    KubeProxyRules(cmd::kube_proxy_rules::KubeProxyRulesArgs),
    /// Every branch each flow can take through random rule matches
    /// (`-m statistic`), with its probability; the probabilities sum to 1.
    Paths(cmd::paths::PathsArgs),
    /// What the cluster's CNI programs on a node for its NetworkPolicies:
    /// felix's chains and IP sets (calico), kube-network-policies' table
    /// and the policies its evaluator holds (kindnet), or that the CNI
    /// enforces none (flannel, host-gw).
    PolicyRules(cmd::policy_rules::PolicyRulesArgs),
    /// Who can reach whom in the scenario's cluster: every pod to every
    /// pod at each containerPort it declares and to every Service port,
    /// each probe a simulated connection (--engine sim) or the
    /// NetworkPolicy API semantics (--engine spec); --compare lists where
    /// they disagree (exit 1). Truth tables (`.` allowed, `X` denied) or
    /// JSON; --shard I/N and --merge split and join a large matrix.
    Reach(cmd::reach::ReachArgs),
    /// Compare scenarios' traces with golden traces (DIR/NAME/trace.json)
    /// and check their `expect:`s: exit 0 when all match, 1 with a per-hop
    /// diff when one does not.
    Check(cmd::check::CheckArgs),
    /// What changed for traffic between two worlds (scenarios, bundles, or
    /// a scenario and --patch): each flow whose fate changed (outcome, who
    /// answered, path, NAT, drop; random choices renamed) with the first
    /// step where the runs part; --reach, every matrix cell that flipped.
    /// Exit 1 when anything changed.
    Diff(cmd::diff::DiffArgs),
    /// For a failed flow (dropped, rejected, reset, timed out, a proxy's
    /// 5xx): the point that decided it and the changes that make it
    /// succeed, each proven by a re-run with the change applied, with the
    /// other flows it changes. Exit 1 when none is proven.
    Why(cmd::why::WhyArgs),
    /// List the embedded scenarios.
    List,
    /// What podpath models, and what it simplifies.
    Explain,
}

fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let code = match cli.cmd {
        Cmd::Run(a) => cmd::run::run(a, &mut out)?,
        Cmd::Step(a) => {
            drop(out);
            return cmd::step::run(a);
        }
        Cmd::Topo(a) => cmd::topo::run(a, &mut out)?,
        Cmd::Live(a) => cmd::live::run(a, &mut out)?,
        Cmd::Snapshot(a) => cmd::snapshot::run(a, &mut out)?,
        Cmd::Expand(a) => cmd::expand::run(a, &mut out)?,
        Cmd::Inspect(a) => cmd::inspect::run(a, &mut out)?,
        Cmd::KubeProxyRules(a) => cmd::kube_proxy_rules::run(a, &mut out)?,
        Cmd::Paths(a) => cmd::paths::run(a, &mut out)?,
        Cmd::PolicyRules(a) => cmd::policy_rules::run(a, &mut out)?,
        Cmd::Reach(a) => cmd::reach::run(a, &mut out)?,
        Cmd::Check(a) => cmd::check::run(a, &mut out)?,
        Cmd::Diff(a) => cmd::diff::run(a, &mut out)?,
        Cmd::Why(a) => cmd::why::run(a, &mut out)?,
        Cmd::List => cmd::list::run(&mut out)?,
        Cmd::Explain => {
            out.write_all(explain::TEXT.as_bytes())?;
            ExitCode::SUCCESS
        }
    };
    out.flush()?;
    Ok(code)
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
