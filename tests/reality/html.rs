//! The HTML report opens in headless Chromium with no console errors. Reported as ignored when
//! the build found no Chromium (CI installs it: `apt-get install -y chromium`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser: `$CHROMIUM`, else /usr/bin/chromium (build.rs looks for the same).
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// Loads `html` in headless Chromium; returns the console messages Chromium logged at error level
/// or from uncaught exceptions, and the dumped DOM.
fn console_errors(html: &Path) -> (Vec<String>, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors = stderr
        .lines()
        .filter(|l| {
            l.contains("CONSOLE")
                && (l.contains("ERROR") || l.contains("Uncaught") || l.contains("console.error"))
                || l.contains(":ERROR:CONSOLE")
        })
        .map(str::to_string)
        .collect();
    (errors, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn real_root() -> PathBuf {
    std::env::var_os("VERISIM_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"))
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
#[cfg_attr(
    verisim_no_chromium,
    ignore = "needs Chromium: /usr/bin/chromium was not found at build time (apt-get install chromium)"
)]
fn html_report_has_no_console_errors_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    // Control: a page with a console error is detected, so the check below can fail.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><body><script>console.error('boom'); undefinedFn();</script></body></html>",
    )
    .unwrap();
    let (errs, _) = console_errors(&bad);
    assert!(
        !errs.is_empty(),
        "the console-error detector saw nothing on a page that logs errors"
    );

    let k = real_root().join("kitti_object_openpcdet/training");
    let opts = verisim::reality::CheckOptions {
        synthetic: (0..3)
            .map(|i| k.join(format!("velodyne/{i:06}.bin")))
            .collect(),
        real: verisim::reality::RealSource::Datasets(
            (3..6)
                .map(|i| k.join(format!("velodyne/{i:06}.bin")))
                .collect(),
        ),
        out_dir: dir.path().join("report"),
        policy: None,
        tier: None,
        sensor: None,
        truth: Default::default(),
        power: None,
    };
    verisim::reality::run_check(&opts).unwrap();
    let html = dir.path().join("report/report.html");
    let (errs, dom) = console_errors(&html);
    assert!(errs.is_empty(), "console errors: {errs:?}");
    assert!(
        dom.contains("Reality check") && dom.contains("lidar.bev_jsd"),
        "DOM not rendered"
    );
}
