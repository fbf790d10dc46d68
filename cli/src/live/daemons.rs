//! The real daemons of a live run: HAProxy and keepalived, run from the
//! scenario's own configuration text (the `config_text` the simulator's
//! programs keep), each in its host's namespace, started when the flows'
//! clock starts (the simulator starts them at virtual time 0) and waited
//! for, bounded, until they serve: HAProxy until each frontend's port
//! listens, keepalived until a MASTER-at-start instance holds its VIPs.
//!
//! HAProxy runs as `haproxy -db -f CFG` (foreground, no daemon mode: a
//! child like the python servers). keepalived runs as `keepalived -n -l -D
//! -P -f CFG -p PID -r VRRP_PID -c CHECKERS_PID` (no fork into the
//! background, log to the console, detailed, the VRRP subsystem only), its
//! pid files in the lab dir so that several instances run side by side.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use podpath_sim::app::proxy::Proxy;
use podpath_sim::world::World;

use super::{App, Daemon, Keepalived, Lab, VrrpState};

/// How long a daemon may take to serve (HAProxy to listen, keepalived's
/// MASTER to hold its VIPs), in 20 ms steps: 10 s.
const WAIT_STEPS: u32 = 500;

/// Whether `tool` is on the PATH.
fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The programs of the world that live mode runs for real, in the
/// simulator's start order (hosts, then each host's apps): (host, app).
pub fn real_daemons(w: &World) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (hi, apps) in w.apps.iter().enumerate() {
        for (ai, a) in apps.iter().enumerate() {
            if is_haproxy(a).is_some() || matches!(a, App::Keepalived(_)) {
                out.push((hi, ai));
            }
        }
    }
    out
}

/// The HAProxy of an app (not ingress-nginx or a tcp-forward, which the
/// proxy model also runs).
pub fn is_haproxy(a: &App) -> Option<&Proxy> {
    match a {
        App::Proxy(p) if p.program == "haproxy" => Some(p),
        _ => None,
    }
}

impl Lab {
    /// Starts the world's HAProxy and keepalived programs for real and
    /// waits until each serves.
    pub(super) fn start_daemons(&mut self, w: &World) -> Result<()> {
        let list = real_daemons(w);
        let need_haproxy = list
            .iter()
            .any(|&(h, a)| is_haproxy(&w.apps[h][a]).is_some());
        let need_keepalived = list
            .iter()
            .any(|&(h, a)| matches!(w.apps[h][a], App::Keepalived(_)));
        for (tool, need) in [("haproxy", need_haproxy), ("keepalived", need_keepalived)] {
            if need && !have(tool) {
                bail!("the scenario runs {tool}, which is not installed (scripts/test installs it as root)");
            }
        }
        // all started first, as the simulator starts them all at 0, then
        // waited for
        for (n, &(hi, ai)) in list.iter().enumerate() {
            let host = w.hosts[hi].name.clone();
            match &w.apps[hi][ai] {
                App::Keepalived(k) => self.start_keepalived(&host, n, k)?,
                a => {
                    if let Some(p) = is_haproxy(a) {
                        self.start_haproxy(&host, n, p)?;
                    }
                }
            }
        }
        for (n, &(hi, ai)) in list.iter().enumerate() {
            if let Some(p) = is_haproxy(&w.apps[hi][ai]) {
                let host = w.hosts[hi].name.clone();
                self.wait_for_haproxy(&host, n, p)?;
            }
        }
        // keepalived: an instance that is MASTER at start holds its VIPs
        // before the first flow (the simulator's MASTER adds them at 0).
        for &(hi, ai) in &list {
            if let App::Keepalived(k) = &w.apps[hi][ai] {
                let host = w.hosts[hi].name.clone();
                for i in &k.instances {
                    if i.initial == VrrpState::Master || i.priority == 255 {
                        for v in &i.vips {
                            self.wait_for_vip(&host, &i.interface, &v.to_string())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `haproxy -db -f CFG`.
    fn start_haproxy(&mut self, host: &str, n: usize, p: &Proxy) -> Result<()> {
        let cfg = self.dir.join(format!("haproxy-{host}-{n}.cfg"));
        std::fs::write(&cfg, &p.config_text)?;
        let log = self.dir.join(format!("haproxy-{host}-{n}.log"));
        let what = format!("haproxy on {host}");
        self.spawn_daemon(
            host,
            &what,
            &["haproxy", "-db", "-f", &path(&cfg)],
            &log,
            Vec::new(),
        )
    }

    /// Waits until every frontend of the HAProxy started `n`th listens.
    fn wait_for_haproxy(&mut self, host: &str, n: usize, p: &Proxy) -> Result<()> {
        let log = self.dir.join(format!("haproxy-{host}-{n}.log"));
        let what = format!("haproxy on {host}");
        for f in &p.frontends {
            for &(_, port) in &f.binds {
                let want = format!(":{port}");
                self.wait_daemon(&what, &log, |lab| {
                    lab.exec(host, &["ss", "-Hltn"], None)
                        .unwrap_or_default()
                        .lines()
                        .any(|l| {
                            l.split_whitespace()
                                .nth(3)
                                .is_some_and(|a| a.ends_with(&want))
                        })
                })
                .with_context(|| format!("frontend {} (port {port})", f.name))?;
            }
        }
        Ok(())
    }

    /// `keepalived -n -l -D -P -f CFG` with its own pid files.
    fn start_keepalived(&mut self, host: &str, n: usize, k: &Keepalived) -> Result<()> {
        let cfg = self.dir.join(format!("keepalived-{host}-{n}.conf"));
        std::fs::write(&cfg, &k.config_text)?;
        let log = self.dir.join(format!("keepalived-{host}-{n}.log"));
        let pid = |x: &str| self.dir.join(format!("keepalived-{host}-{n}{x}.pid"));
        let (main, vrrp, checkers) = (pid(""), pid("-vrrp"), pid("-checkers"));
        self.spawn_daemon(
            host,
            &format!("keepalived on {host}"),
            &[
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-P",
                "-f",
                &path(&cfg),
                "-p",
                &path(&main),
                "-r",
                &path(&vrrp),
                "-c",
                &path(&checkers),
            ],
            &log,
            vec![vrrp, checkers],
        )
    }

    fn spawn_daemon(
        &mut self,
        host: &str,
        what: &str,
        argv: &[&str],
        log: &Path,
        pid_files: Vec<PathBuf>,
    ) -> Result<()> {
        let ns = self.nsname(host);
        let out = std::fs::File::create(log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        if let Ok(mut pids) = self.daemon_pids.lock() {
            pids.push(child.id());
        }
        self.daemons.push(Daemon {
            what: what.to_string(),
            child,
            log: log.to_path_buf(),
            pid_files,
        });
        Ok(())
    }

    /// Waits (bounded) until `ready`; an error with the daemon's log when
    /// it ends first or does not get there.
    fn wait_daemon(&mut self, what: &str, log: &Path, ready: impl Fn(&Lab) -> bool) -> Result<()> {
        let tail = |log: &Path| {
            let t = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = t.lines().collect();
            lines[lines.len().saturating_sub(8)..].join("\n")
        };
        for _ in 0..WAIT_STEPS {
            if ready(self) {
                return Ok(());
            }
            let ended = self
                .daemons
                .iter_mut()
                .find(|d| d.what == what)
                .map(|d| d.child.try_wait().ok().flatten().is_some())
                .unwrap_or(true);
            if ended {
                bail!("{what} ended before it served:\n{}", tail(log));
            }
            sleep(Duration::from_millis(20));
        }
        bail!(
            "{what} did not serve within {} s:\n{}",
            WAIT_STEPS / 50,
            tail(log)
        )
    }

    /// Waits until `vip` (A.B.C.D/LEN) is an address of `dev` on `host`.
    fn wait_for_vip(&mut self, host: &str, dev: &str, vip: &str) -> Result<()> {
        let what = format!("keepalived on {host}");
        let log = self
            .daemons
            .iter()
            .find(|d| d.what == what)
            .map(|d| d.log.clone())
            .unwrap_or_default();
        let want = format!(" {vip} ");
        self.wait_daemon(&what, &log, |lab| {
            lab.exec(host, &["ip", "-o", "-4", "addr", "show", "dev", dev], None)
                .unwrap_or_default()
                .contains(&want)
        })
        .with_context(|| format!("the MASTER's VIP {vip} on {host}/{dev}"))
    }

    /// Ends the daemons: SIGTERM (keepalived's parent ends its children),
    /// then, after 3 s, SIGKILL to what is left.
    pub(super) fn stop_daemons(&mut self) {
        for d in &self.daemons {
            let _ = Command::new("kill")
                .args(["-TERM", &d.child.id().to_string()])
                .status();
        }
        if let Ok(mut pids) = self.daemon_pids.lock() {
            pids.clear();
        }
        for mut d in std::mem::take(&mut self.daemons) {
            let mut done = false;
            for _ in 0..150 {
                if d.child.try_wait().ok().flatten().is_some() {
                    done = true;
                    break;
                }
                sleep(Duration::from_millis(20));
            }
            if done {
                continue;
            }
            let _ = d.child.kill();
            let _ = d.child.wait();
            // keepalived's children outlive a killed parent
            for f in &d.pid_files {
                if let Some(pid) = std::fs::read_to_string(f)
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                {
                    if Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = Command::new("kill")
                            .args(["-KILL", &pid.to_string()])
                            .status();
                    }
                }
            }
        }
    }
}

fn path(p: &Path) -> String {
    p.to_str().unwrap_or_default().to_string()
}
