//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::process::Command;

/// Records that a test could not run: prints `SKIPPED <test>: <why>` and,
/// when the test command (`scripts/test`) set `PODPATH_SKIP_LOG`, appends the
/// same line there, so the run ends with a count of what did not run instead
/// of a green result that hides it.
pub fn skip(test: &str, why: &str) {
    let line = format!("SKIPPED {test}: {why}");
    eprintln!("{line}");
    if let Ok(p) = std::env::var("PODPATH_SKIP_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this process is root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Why network-namespace tests cannot run here (not root, a tool missing,
/// `ip netns add` refused), or None when they can. `tools` are the commands
/// the test needs beside `ip`.
pub fn netns_unavailable(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("not root (network namespaces need root)".into());
    }
    for t in std::iter::once(&"ip").chain(tools) {
        if !have(t) {
            return Some(format!(
                "{t} is not installed (scripts/test installs it as root)"
            ));
        }
    }
    // one name per call: the tests of a binary run in parallel threads of
    // one process, and a shared name made one probe fail on the other's
    // namespace (EEXIST), skipping a test that could run
    static PROBES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let k = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = format!("ppk{}p{k}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &probe])
        .output()
        .is_ok_and(|o| o.status.success());
    let _ = Command::new("ip").args(["netns", "del", &probe]).output();
    if !ok {
        return Some("cannot create a network namespace (ip netns add failed)".into());
    }
    None
}
