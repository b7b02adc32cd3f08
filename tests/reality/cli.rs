//! The `verisim check` / `verisim profile` commands end to end: exit codes 0/1/2, report files,
//! corrupt inputs naming the path without a panic, the shipped profile, differential privacy.

use std::path::{Path, PathBuf};
use std::process::Command;

fn real_root() -> PathBuf {
    std::env::var_os("VERISIM_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"))
}

fn kitti(sub: &str, i: usize, ext: &str) -> PathBuf {
    real_root().join(format!(
        "kitti_object_openpcdet/training/{sub}/{i:06}.{ext}"
    ))
}

fn verisim(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args(args)
        .output()
        .expect("run verisim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn os<P: AsRef<std::ffi::OsStr> + ?Sized>(p: &P) -> &std::ffi::OsStr {
    p.as_ref()
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn real_vs_real_check_exits_0_and_writes_reports() {
    let out = tempfile::tempdir().unwrap();
    let (a0, a1, a2) = (
        kitti("velodyne", 0, "bin"),
        kitti("velodyne", 1, "bin"),
        kitti("velodyne", 2, "bin"),
    );
    let (b0, b1, b2) = (
        kitti("velodyne", 3, "bin"),
        kitti("velodyne", 4, "bin"),
        kitti("velodyne", 5, "bin"),
    );
    let (code, stdout, stderr) = verisim(&[
        os("check"),
        os(&a0),
        os(&a1),
        os(&a2),
        os("--real"),
        os(&b0),
        os(&b1),
        os(&b2),
        os("--out"),
        os(out.path()),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for f in ["report.json", "report.html", "report.md"] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(v["verdict"], "pass");
    let checks = v["checks"].as_array().unwrap();
    let c = checks.iter().find(|c| c["id"] == "lidar.bev_jsd").unwrap();
    for k in [
        "statistic",
        "metric",
        "synthetic_value",
        "real_value",
        "score",
        "baseline",
        "thresholds",
        "verdict",
    ] {
        assert!(c.get(k).is_some(), "{k}");
    }
    assert!(
        c["extra"]["js_distance_natural_log_scipy"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        v["synthetic"]["sources"][0]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.find("Reality check").unwrap() < html.find("lidar.range_hist").unwrap());
    assert!(
        html.contains("<svg") && !html.contains("<script") && !html.contains("http://")
            || html.contains("xmlns=\"http://www.w3.org/2000/svg\"")
    );
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn defect_check_exits_1() {
    // Intensities x3 written as a KITTI split dir with one frame.
    let dir = tempfile::tempdir().unwrap();
    let velo = dir.path().join("training/velodyne");
    std::fs::create_dir_all(&velo).unwrap();
    let bytes = std::fs::read(kitti("velodyne", 0, "bin")).unwrap();
    let mut out = Vec::with_capacity(bytes.len());
    for (i, c) in bytes.chunks_exact(4).enumerate() {
        let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        out.extend((if i % 4 == 3 { v * 3.0 } else { v }).to_le_bytes());
    }
    std::fs::write(velo.join("000000.bin"), out).unwrap();
    let rep = tempfile::tempdir().unwrap();
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/reference/kitti-hdl64e.profile.json");
    let (code, stdout, stderr) = verisim(&[
        os("check"),
        os(dir.path()),
        os("--profile"),
        os(&profile),
        os("--out"),
        os(rep.path()),
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.path().join("report.json")).unwrap())
            .unwrap();
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "lidar.intensity_hist")
        .unwrap()
        .clone();
    assert_eq!(c["verdict"], "fail");
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn corrupt_inputs_exit_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let rep = dir.path().join("rep");
    let real = kitti("velodyne", 3, "bin");
    // truncated .bin
    let t = dir.path().join("000000.bin");
    std::fs::write(
        &t,
        &std::fs::read(kitti("velodyne", 0, "bin")).unwrap()[..1000 * 16 + 5],
    )
    .unwrap();
    // PCD header claiming more points than the file holds
    let pcd = dir.path().join("lie.pcd");
    std::fs::write(&pcd, "VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\nWIDTH 100\nHEIGHT 1\nPOINTS 100\nDATA binary\n0123456789abcdef").unwrap();
    // a non-image .png
    let png = dir.path().join("000001.png");
    std::fs::write(&png, "definitely not a png").unwrap();
    for (bad, what) in [
        (&t, "byte offset 16000"),
        (&pcd, "POINTS 100"),
        (&png, "not a readable image"),
    ] {
        let (code, stdout, stderr) = verisim(&[
            os("check"),
            os(bad),
            os("--real"),
            os(&real),
            os("--out"),
            os(&rep),
        ]);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(stderr.contains(&*bad.to_string_lossy()), "{stderr}");
        assert!(stderr.contains(what), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // usage errors
    let (code, _, _) = verisim(&[os("check"), os(&real), os("--out"), os(&rep)]);
    assert_eq!(code, 2);
    let (code, _, stderr) = verisim(&[
        os("check"),
        os(&real),
        os("--real"),
        os(&real),
        os("--out"),
        os(&rep),
        os("--tier"),
        os("nope"),
    ]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn profile_with_differential_privacy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.profile.json");
    let split = real_root().join("kitti_object_openpcdet/training");
    let (code, _, stderr) = verisim(&[
        os("profile"),
        os(&split),
        os("--out"),
        os(&out),
        os("--epsilon"),
        os("1.0"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let p = verisim::reality::Profile::load(&out).unwrap();
    let dp = p.differential_privacy.as_ref().unwrap();
    assert_eq!(dp.epsilon, 1.0);
    assert!(p.frames.is_empty());
    let plain = verisim::reality::Profile::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/reference/kitti-hdl64e.profile.json"),
    )
    .unwrap();
    assert!(plain.differential_privacy.is_none());
    assert_ne!(
        p.groups[0].lidar.range_m.counts,
        plain.groups[0].lidar.range_m.counts
    );
    assert!(p.groups[0].lidar.range_m.counts.iter().all(|c| *c >= 0.0));
    let (code, _, _) = verisim(&[
        os("profile"),
        os(&split),
        os("--out"),
        os(&out),
        os("--epsilon"),
        os("-1"),
    ]);
    assert_eq!(code, 2);
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn shipped_profile_is_small_and_aggregated() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/reference/kitti-hdl64e.profile.json");
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len < 2_000_000, "{len} bytes");
    let p = verisim::reality::Profile::load(&path).unwrap();
    assert_eq!(p.sensor.name, "HDL-64E");
    assert_eq!(p.groups.len(), 6);
    // Recomputing from the real frames gives the same aggregates (the asset is verisim's own output).
    let again = verisim::reality::profile::profile_paths(
        "kitti-hdl64e",
        &[real_root().join("kitti_object_openpcdet")],
        None,
    )
    .unwrap();
    assert_eq!(again.groups.len(), p.groups.len());
    for (a, b) in again.groups.iter().zip(&p.groups) {
        assert_eq!(a.frames, b.frames);
        for (x, y) in a.lidar.range_m.counts.iter().zip(&b.lidar.range_m.counts) {
            assert!((x - y).abs() < 1e-9);
        }
    }
    assert_eq!(again.sources[0].sha256, p.sources[0].sha256);
}
