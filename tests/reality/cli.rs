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

/// Broken real (or synthetic) data is bad input, not a failed gate: a NaN point, an empty scan,
/// an unknown label type, a label or calib number that is NaN, a calib without
/// `Tr_velo_to_cam`, an image that does not belong to its calib, and a policy with a NaN
/// factor or an unknown field each exit 2 naming the file (and line), and write no report.
#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn broken_data_and_policies_are_bad_input_named_by_path() {
    let dir = tempfile::tempdir().unwrap();
    // A one-frame KITTI layout copied from real frame 4.
    let copy = |root: &Path| {
        for (sub, ext) in [
            ("velodyne", "bin"),
            ("image_2", "png"),
            ("label_2", "txt"),
            ("calib", "txt"),
        ] {
            let d = root.join("training").join(sub);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(kitti(sub, 4, ext), d.join(format!("000000.{ext}"))).unwrap();
        }
    };
    let good = dir.path().join("good");
    copy(&good);
    let file =
        |root: &Path, sub: &str, ext: &str| root.join(format!("training/{sub}/000000.{ext}"));
    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    let mut nan_cloud = std::fs::read(file(&good, "velodyne", "bin")).unwrap();
    nan_cloud[16 * 7..16 * 7 + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let label = text(&file(&good, "label_2", "txt"));
    let first = label.lines().next().unwrap().to_string();
    let calib = text(&file(&good, "calib", "txt"));
    let no_tr: String = calib
        .lines()
        .filter(|l| !l.starts_with("Tr_velo_to_cam"))
        .map(|l| format!("{l}\n"))
        .collect();
    let p2_far: String = calib
        .lines()
        .map(|l| {
            if let Some(v) = l.strip_prefix("P2: ") {
                let mut v: Vec<String> = v.split_whitespace().map(String::from).collect();
                v[2] = "9000.0".into();
                format!("P2: {}\n", v.join(" "))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let cases: Vec<(&str, &str, &str, Vec<u8>, &str)> = vec![
        ("nan-point", "velodyne", "bin", nan_cloud, "point 7"),
        ("empty-scan", "velodyne", "bin", Vec::new(), "empty scan"),
        (
            "unknown-type",
            "label_2",
            "txt",
            label.replacen("Car", "Spaceship", 1).into_bytes(),
            "unknown object type `Spaceship`",
        ),
        (
            "nan-label",
            "label_2",
            "txt",
            label
                .replacen(first.split_whitespace().nth(11).unwrap(), "nan", 1)
                .into_bytes(),
            "not a finite number",
        ),
        (
            "no-tr",
            "calib",
            "txt",
            no_tr.into_bytes(),
            "Tr_velo_to_cam",
        ),
        (
            "p2-far",
            "calib",
            "txt",
            p2_far.into_bytes(),
            "principal point",
        ),
    ];
    for (name, sub, ext, bytes, what) in cases {
        let bad = dir.path().join(name);
        copy(&bad);
        let target = file(&bad, sub, ext);
        std::fs::write(&target, bytes).unwrap();
        let rep = dir.path().join(format!("rep-{name}"));
        for (syn, real) in [(&good, &bad), (&bad, &good)] {
            let (code, stdout, stderr) = verisim(&[
                os("check"),
                os(syn),
                os("--real"),
                os(real),
                os("--out"),
                os(&rep),
            ]);
            assert_eq!(code, 2, "{name}: {stdout}{stderr}");
            assert!(
                stderr.contains(&*target.to_string_lossy()),
                "{name}: {stderr}"
            );
            assert!(stderr.contains(what), "{name}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(!rep.exists(), "{name}: a report was written");
        }
    }
    // Label errors name the line.
    let bad = dir.path().join("unknown-type");
    let (_, _, stderr) = verisim(&[
        os("check"),
        os(&good),
        os("--real"),
        os(&bad),
        os("--out"),
        os(&dir.path().join("r")),
    ]);
    assert!(stderr.contains("000000.txt: line 1:"), "{stderr}");
    // Policies are validated like scenarios.
    for (name, policy, what) in [
        ("nan", "(pass_factor: NaN)", "`pass_factor` is NaN"),
        (
            "order",
            "(pass_factor: 3.0, warn_factor: 2.0)",
            "below `pass_factor`",
        ),
        ("unknown", "(pass_factr: 1.5)", "pass_factr"),
        (
            "floor",
            "(checks: {\"lidar.z_hist\": (floor_pass: -1.0)})",
            "checks.lidar.z_hist.floor_pass",
        ),
    ] {
        let p = dir.path().join(format!("{name}.ron"));
        std::fs::write(&p, policy).unwrap();
        let rep = dir.path().join(format!("rep-policy-{name}"));
        let (code, stdout, stderr) = verisim(&[
            os("check"),
            os(&good),
            os("--real"),
            os(&good),
            os("--policy"),
            os(&p),
            os("--out"),
            os(&rep),
        ]);
        assert_eq!(code, 2, "{name}: {stdout}{stderr}");
        assert!(
            stderr.contains(&*p.to_string_lossy()) && stderr.contains(what),
            "{name}: {stderr}"
        );
        assert!(!rep.exists(), "{name}: a report was written");
    }
}
