//! `verisim power` end to end on the shared KITTI frames: the defects the default policy must
//! fail are failed (in both directions between the two halves), nothing fails between the
//! clean halves, and bad input is refused.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn real_root() -> PathBuf {
    std::env::var_os("VERISIM_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"))
}

/// The overall verdict of `family` (and `side`) at magnitude `m` in a power report.
fn verdict_at(r: &Value, family: &str, side: Option<&str>, m: f64) -> String {
    let f = r["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == family && f["side"].as_str() == side)
        .unwrap_or_else(|| panic!("no {family} {side:?} in the report"));
    let i = f["magnitudes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|v| (v.as_f64().unwrap() - m).abs() < 1e-9)
        .unwrap_or_else(|| panic!("{family}: no magnitude {m}"));
    f["verdicts"][i].as_str().unwrap().to_string()
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn the_default_policy_fails_the_defects_it_must_catch() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("power");
    let o = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args(["power", "--real"])
        .arg(real_root().join("kitti_object_openpcdet"))
        .arg("--out")
        .arg(&out)
        .args([
            "--family",
            "intensity_gain,mount_height,beam_loss,range_cut,blur,camera_gain,red_gain",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&std::fs::read(out.join("power.json")).unwrap()).unwrap();
    assert_eq!(r["halves"][0].as_array().unwrap().len(), 3);
    assert_eq!(
        r["false_alarms"],
        serde_json::json!([]),
        "clean halves fail a gate"
    );
    for (family, side, m) in [
        ("intensity_gain", Some("up"), 2.0),
        ("mount_height", None, 0.25),
        ("beam_loss", None, 0.5),
        // Points beyond half the HDL-64E's 120 m removed.
        ("range_cut", None, 60.0),
        ("blur", None, 1.5),
        ("camera_gain", Some("down"), 0.8),
        ("red_gain", Some("down"), 0.85),
    ] {
        assert_eq!(
            verdict_at(&r, family, side, m),
            "fail",
            "{family} {side:?} at {m}"
        );
    }
    // Severity is monotone where the statistic is: a larger mount error never passes where a
    // smaller one failed.
    let mh: Vec<String> = [0.05, 0.1, 0.15, 0.25, 0.5]
        .iter()
        .map(|&m| verdict_at(&r, "mount_height", None, m))
        .collect();
    let first = mh.iter().position(|v| v == "fail").unwrap();
    assert!(mh[first..].iter().all(|v| v == "fail"), "{mh:?}");
    // The markdown names every family run and says what each check detects.
    let md = std::fs::read_to_string(out.join("power.md")).unwrap();
    for needle in [
        "| mount_height |",
        "| red_gain up |",
        "## What each check can detect",
        "lidar.mount_height",
    ] {
        assert!(md.contains(needle), "power.md lacks `{needle}`");
    }

    // `check --power` carries the table into the check's report (real against real here).
    let kitti = real_root().join("kitti_object_openpcdet");
    let rep = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .arg("check")
        .arg(&kitti)
        .arg("--real")
        .arg(&kitti)
        .arg("--out")
        .arg(&rep)
        .arg("--power")
        .arg(out.join("power.json"))
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(rep.join("report.json")).unwrap()).unwrap();
    let mh = report["power"]["detects"]["lidar.mount_height"]
        .as_array()
        .unwrap();
    assert!(
        mh.iter().any(|d| d
            .as_str()
            .unwrap()
            .starts_with("mount_height 0.05 m / 0.15 m")),
        "{mh:?}"
    );
    let missed: Vec<&str> = report["power"]["not_detected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(missed.contains(&"red_gain up"), "{missed:?}");
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(md.contains("## What each check can detect") && md.contains("red_gain up"));
}

#[test]
fn check_refuses_a_power_file_that_is_not_one_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("power.json");
    std::fs::write(&bad, br#"{"families": []}"#).unwrap();
    let rep = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args([
            "check",
            "nonexistent-synthetic",
            "--real",
            "nonexistent-real",
            "--out",
        ])
        .arg(&rep)
        .arg("--power")
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("power.json") && err.contains("not a `verisim power` result"),
        "{err}"
    );
    assert!(!rep.exists(), "a report was started");
}

#[test]
fn power_refuses_unknown_families_and_too_few_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args(["power", "--real", "x", "--out"])
        .arg(tmp.path().join("p"))
        .args(["--family", "gamma_rays"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("gamma_rays") && err.contains("intensity_gain"),
        "{err}"
    );

    // One KITTI frame: no two halves.
    let d = tmp.path().join("one/training/velodyne");
    std::fs::create_dir_all(&d).unwrap();
    let points: Vec<u8> = [[5.0f32, 0.0, -1.7, 0.3]; 64]
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(d.join("000000.bin"), points).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args(["power", "--real"])
        .arg(tmp.path().join("one"))
        .arg("--out")
        .arg(tmp.path().join("p"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("at least 2 real frames"), "{err}");
    assert!(!tmp.path().join("p/power.json").exists());
}
