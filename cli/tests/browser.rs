//! The HTML report in a real headless browser (Chromium; CI installs it):
//! the page loads without console errors, and its DOM and a screenshot show
//! the diagrams. Skipped with a printed reason where Chromium is missing.

mod common;

use std::process::Command;

fn chromium() -> Option<&'static str> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(c);
        }
    }
    common::skip(
        "browser::html_report_loads_in_headless_chromium",
        "no Chromium (scripts/test installs it as root: apt-get install chromium)",
    );
    None
}

#[test]
fn html_report_loads_in_headless_chromium() {
    let Some(c) = chromium() else { return };
    let dir = std::env::temp_dir().join(format!("podpath-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_podpath"))
        .args(["run", "minikube-service", "--html", html.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let url = format!("file://{}", html.display());
    let common = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--user-data-dir=/tmp/podpath-chromium-profile",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let png = dir.join("shot.png");
    let shot = Command::new(c)
        .args(common)
        .args([
            "--window-size=1400,1800",
            &format!("--screenshot={}", png.display()),
            &url,
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&shot.stderr);
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:?}"
    );
    let img = std::fs::read(&png).expect("Chromium wrote a screenshot");
    assert_eq!(&img[..8], b"\x89PNG\r\n\x1a\n");
    // a page of diagrams, not a blank or error page: the PNG is far larger
    // than a blank 1400x1800 capture (a few KB)
    assert!(img.len() > 50_000, "screenshot only {} bytes", img.len());
    let dom = Command::new(c)
        .args(common)
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("Flow health#1"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    assert!(dom.matches("<svg").count() >= 5);
    assert!(dom.contains("DNAT: 192.168.49.2:30080"));
    std::fs::remove_dir_all(&dir).unwrap();
}
