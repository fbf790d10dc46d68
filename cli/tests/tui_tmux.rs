#![allow(clippy::disallowed_methods)] // bounded waits on a real terminal use the wall clock
//! `podpath step` in a real terminal: tmux runs it in an 80x24 pane, keys
//! are sent with send-keys and the screen read with capture-pane. Every wait
//! is bounded; the session is killed at the end. Skipped with a printed
//! reason where tmux is missing (CI installs it).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let o = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn wait_for(session: &str, what: &str) -> String {
    let t0 = Instant::now();
    loop {
        let s = tmux(&["capture-pane", "-p", "-t", session]);
        if s.contains(what) {
            return s;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = tmux(&["kill-session", "-t", session]);
            panic!("no {what:?} on the screen within 10 s:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `what` is no longer on the screen.
fn wait_gone(session: &str, what: &str) {
    let t0 = Instant::now();
    loop {
        let s = tmux(&["capture-pane", "-p", "-t", session]);
        if !s.contains(what) {
            return;
        }
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = tmux(&["kill-session", "-t", session]);
            panic!("{what:?} still on the screen after 10 s:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn step_in_a_real_terminal() {
    if !common::have("tmux") {
        common::skip(
            "tui_tmux::step_in_a_real_terminal",
            "tmux is not installed (scripts/test installs it as root)",
        );
        return;
    }
    let session = format!("podpath-step-{}", std::process::id());
    let bin = env!("CARGO_BIN_EXE_podpath");
    let o = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "80",
            "-y",
            "24",
            bin,
            "step",
            "minikube-service",
        ])
        .env("TERM", "xterm-256color")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = wait_for(&session, "podpath step · minikube-service");
    assert!(s.contains("hop 1/37"), "{s}");
    // next hop four times, then the help overlay
    for _ in 0..4 {
        tmux(&["send-keys", "-t", &session, "j"]);
    }
    let s = wait_for(&session, "hop 5/37");
    assert!(s.contains("minikube"), "{s}");
    tmux(&["send-keys", "-t", &session, "?"]);
    wait_for(&session, "jump to the drop");
    tmux(&["send-keys", "-t", &session, "Escape"]);
    // an Escape followed at once by a key reads as Alt+key: wait for the
    // overlay to close first
    wait_gone(&session, "jump to the drop");
    tmux(&["send-keys", "-t", &session, "f"]);
    wait_for(&session, "flow health#2");
    // quit: the program ends and the terminal is given back
    tmux(&["send-keys", "-t", &session, "q"]);
    let t0 = Instant::now();
    loop {
        let alive = Command::new("tmux")
            .args(["has-session", "-t", &session])
            .output()
            .is_ok_and(|o| o.status.success());
        if !alive {
            break;
        }
        // the session outlives the program only if it did not exit
        let s = tmux(&["capture-pane", "-p", "-t", &session]);
        if t0.elapsed() > Duration::from_secs(10) {
            let _ = tmux(&["kill-session", "-t", &session]);
            panic!("podpath step did not exit on q:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn step_refuses_without_a_terminal() {
    let o = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .arg("step")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs a terminal"));
}
