//! `podpath snapshot`: a podpath-snapshot/1 bundle of network namespaces on
//! this machine (by name prefix, or the whole machine), or of a kind
//! cluster's nodes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

#[derive(Args)]
pub struct SnapshotArgs {
    /// The namespaces under /run/netns whose names start with PREFIX.
    #[arg(long, value_name = "PREFIX", required_unless_present_any = ["kind", "host"])]
    pub netns: Option<String>,
    /// The machine this runs on: its root namespace and every network
    /// namespace on it, named (/run/netns) or held only by processes
    /// (/proc/*/ns/net), each once.
    #[arg(long, conflicts_with_all = ["netns", "kind"])]
    pub host: bool,
    /// With --host: only these namespaces (comma-separated): `root`, a name
    /// under /run/netns, `pid:PID` (that process's namespace), or a host
    /// name of the bundle (`pid-1234-sleep`, `pod-NS-NAME`).
    #[arg(long, value_name = "NS,...", value_delimiter = ',', requires = "host")]
    pub only_ns: Vec<String>,
    #[arg(long, conflicts_with = "netns")]
    pub kind: bool,
    /// With --kind: the kube context (default: the current one).
    #[arg(long, requires = "kind")]
    pub context: Option<String>,
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(a: SnapshotArgs, stdout: &mut impl Write) -> Result<ExitCode> {
    let warnings = if a.kind {
        use crate::kind::KindBackend;
        let mut k = crate::kind::Kubectl::new(a.context.as_deref())?;
        let ctx = k.context()?;
        if !ctx.starts_with("kind-") {
            bail!("refusing kube context '{ctx}': podpath snapshot --kind only reads kind clusters (contexts named kind-*)");
        }
        let empty = podpath_sim::world::World {
            scenario: ctx,
            seed: 0,
            hosts: Default::default(),
            apps: Default::default(),
            flows: Vec::new(),
            faults: Vec::new(),
            horizon_ns: 0,
            resyncs: Vec::new(),
        };
        k.snapshot(&empty, &a.out)?
    } else if a.host {
        crate::snapshot::snapshot_host(&a.only_ns, &a.out, crate::snapshot::Extras::default())?
    } else {
        crate::snapshot::snapshot_netns(
            a.netns.as_deref().unwrap_or_default(),
            &a.out,
            crate::snapshot::Extras::default(),
        )?
    };
    for w in warnings {
        eprintln!("warning: {w}");
    }
    writeln!(stdout, "wrote {}", a.out.display())?;
    Ok(ExitCode::SUCCESS)
}
