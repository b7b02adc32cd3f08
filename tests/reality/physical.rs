//! Physical-consistency checks on real renders, end to end through the CLI: the fog visibility
//! fitted from the synthetic camera's road contrast against depth_2 (Koschmieder) and from the
//! lidar's road returns against range recovers the configured visibility; a clear-weather render
//! reads as "no fog"; the brakings a dataset records stay within μ·g; the truth comes from the
//! dataset's resolved scenario (file plus --set overrides) and manifest, command-line flags
//! overriding it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use verisim::classes::Class;
use verisim::reality::contrast::ContrastAcc;
use verisim::sensors::camera_model::srgb_encode;

fn real_root() -> PathBuf {
    std::env::var_os("VERISIM_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"))
}

fn verisim(args: &[String]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args(args)
        .output()
        .expect("run verisim");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Renders `scene` (under scenes/) into `dir` on the CPU with `extra` arguments and `sets`.
fn render_scene(scene: &str, dir: &Path, extra: &[&str], sets: &[&str]) {
    let scene = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenes")
        .join(scene);
    let mut args: Vec<String> = vec![
        "render".into(),
        scene.display().to_string(),
        "--out".into(),
        dir.display().to_string(),
        "--backend".into(),
        "cpu".into(),
        "-q".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    for s in sets {
        args.push("--set".into());
        args.push(s.to_string());
    }
    let (code, out) = verisim(&args);
    assert_eq!(code, 0, "render failed: {out}");
}

/// Three half-resolution frames of the fog highway (KITTI layout) with `sets`.
fn render(dir: &Path, sets: &[&str]) {
    let base = [
        "run.frames=3",
        "rig.cameras.0.width=621",
        "rig.cameras.0.height=188",
        "rig.cameras.0.samples_per_pixel=1",
        "rig.lidars.0.azimuth_resolution_deg=0.7",
    ];
    let all: Vec<&str> = base.iter().chain(sets).copied().collect();
    render_scene("fog_highway.ron", dir, &["--format", "kitti"], &all);
}

/// `verisim check DIR --profile <shipped KITTI profile>` plus `extra`; returns the report.
fn check(dir: &Path, out: &Path, extra: &[&str]) -> Value {
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/reference/kitti-hdl64e.profile.json");
    let mut args: Vec<String> = vec![
        "check".into(),
        dir.display().to_string(),
        "--profile".into(),
        profile.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let (code, text) = verisim(&args);
    assert!(code == 0 || code == 1, "check crashed ({code}): {text}");
    let json = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    serde_json::from_str(&json).expect("report parses")
}

fn physical<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["physical"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {:#}", r["physical"]))
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn camera_contrast_recovers_fog_visibility_with_truth_from_the_dataset() {
    let _ = real_root(); // the shipped profile stands in for the real data
    let tmp = tempfile::tempdir().unwrap();
    // The scene file says 120 m; the override the dataset was rendered with must win.
    let fog = tmp.path().join("fog60");
    render(&fog, &["weather.fog_visibility_m=Some(60.0)"]);
    let r = check(&fog, &tmp.path().join("r1"), &[]);
    assert_eq!(
        num(&r["truth"]["fog_visibility_m"]),
        Some(60.0),
        "{}",
        r["truth"]
    );
    assert!(
        r["truth"]["scenario"]
            .as_str()
            .is_some_and(|s| s.ends_with("scenario.ron")),
        "{}",
        r["truth"]
    );
    let c = physical(&r, "physical.visibility_camera");
    eprintln!("{c}");
    assert_eq!(num(&c["truth"]), Some(60.0));
    let v = num(&c["estimate"]).expect("a fitted visibility");
    assert!((v - 60.0).abs() <= 0.2 * 60.0, "fitted {v} m vs 60 m: {c}");
    assert_eq!(c["pass"], true);
    // The lidar check reads the same truth.
    assert_eq!(
        num(&physical(&r, "physical.visibility_lidar")["truth"]),
        Some(60.0)
    );
    let md = std::fs::read_to_string(tmp.path().join("r1/report.md")).unwrap();
    assert!(md.contains("scenario.ron") && md.contains("physical.visibility_camera"));

    // A flag overrides the dataset's truth: a wrong visibility now fails the camera check.
    let r = check(
        &fog,
        &tmp.path().join("r2"),
        &["--truth-visibility-m", "200"],
    );
    assert_eq!(num(&r["truth"]["fog_visibility_m"]), Some(200.0));
    assert!(r["truth"]["notes"].to_string().contains("command line"));
    let c = physical(&r, "physical.visibility_camera");
    assert_eq!(num(&c["truth"]), Some(200.0));
    assert_eq!(c["pass"], false, "{c}");
    assert_eq!(r["verdict"], "fail");
}

#[test]
fn clear_weather_render_reads_as_no_fog() {
    let tmp = tempfile::tempdir().unwrap();
    let clear = tmp.path().join("clear");
    render(&clear, &["weather.fog_visibility_m=None"]);
    let r = check(&clear, &tmp.path().join("r"), &[]);
    assert!(r["truth"]["fog_visibility_m"].is_null(), "{}", r["truth"]);
    let c = physical(&r, "physical.visibility_camera");
    eprintln!("{c}");
    assert!(
        num(&c["estimate"]).is_none_or(|v| v >= 5000.0),
        "clear air fitted as fog: {c}"
    );
    assert_eq!(c["pass"], true);
    let l = physical(&r, "physical.visibility_lidar");
    eprintln!("{l}");
    assert!(
        num(&l["estimate"]).is_none_or(|v| v >= 5000.0),
        "clear air fitted as fog from the road returns: {l}"
    );
    assert!(l["note"].as_str().unwrap().contains("range bins 7–"), "{l}");
    assert_eq!(l["pass"], true);
}

#[test]
fn lidar_road_returns_recover_fog_visibility() {
    let tmp = tempfile::tempdir().unwrap();
    for v in [200.0, 1000.0] {
        let dir = tmp.path().join(format!("fog{v}"));
        render(&dir, &[&format!("weather.fog_visibility_m=Some({v})")]);
        let r = check(&dir, &tmp.path().join(format!("r{v}")), &[]);
        let l = physical(&r, "physical.visibility_lidar");
        eprintln!("{l}");
        assert_eq!(num(&l["truth"]), Some(v));
        let est = num(&l["estimate"]).expect("a fitted visibility");
        assert!((est - v).abs() <= 0.15 * v, "fitted {est} m vs {v} m: {l}");
        assert_eq!(l["pass"], true);
        if v == 200.0 {
            // Told the fog were twice as thin, the same returns fail the check.
            let r = check(
                &dir,
                &tmp.path().join("wrong"),
                &["--truth-visibility-m", "400"],
            );
            let l = physical(&r, "physical.visibility_lidar");
            assert_eq!(l["pass"], false, "{l}");
        }
    }
}

/// The braking scene (cars braking hard on dry, wet, snow and ice from t = 2 s), 30 frames of a
/// tiny camera.
fn render_braking(dir: &Path) {
    let sets = [
        "run.frames=30",
        "rig.cameras.0.width=160",
        "rig.cameras.0.height=60",
    ];
    render_scene("braking.ron", dir, &[], &sets);
}

#[test]
fn recorded_brakings_stay_within_friction() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("braking");
    render_braking(&dir);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let frames = manifest["vs:frames"].as_array().unwrap();
    // Before t = 2 s the cars cruise; from then on each frame records the hardest braking, at
    // μ·g on its own surface (REFERENCE.md: dry 0.8, wet 0.55, snow 0.3, ice 0.1).
    assert!(
        frames[..19].iter().all(|f| f["braking"].is_null()),
        "braking before 2 s"
    );
    let braking: Vec<&Value> = frames[21..].iter().map(|f| &f["braking"]).collect();
    for b in &braking {
        let (d, mu) = (num(&b["decel_m_per_s2"]).unwrap(), num(&b["mu"]).unwrap());
        assert!(
            [0.8, 0.55, 0.3, 0.1].iter().any(|m| (mu - m).abs() < 1e-6),
            "{b}"
        );
        assert!(
            (d / (mu * 9.81) - 1.0).abs() < 1e-3,
            "not braking at μ·g: {b}"
        );
    }
    let r = check(&dir, &tmp.path().join("r"), &[]);
    let c = physical(&r, "physical.deceleration");
    eprintln!("{c}");
    assert_eq!(c["pass"], true);
    let recorded = frames.iter().filter(|f| !f["braking"].is_null()).count();
    assert!(
        c["note"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{recorded} brakings;")),
        "{c}"
    );

    // A manifest claiming a braking beyond its friction fails the check; one with a friction
    // that is not a number is an input error naming the file and field.
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut m: Value = serde_json::from_str(&text).unwrap();
    m["vs:frames"][25]["braking"]["decel_m_per_s2"] = serde_json::json!(5.0);
    m["vs:frames"][25]["braking"]["mu"] = serde_json::json!(0.1);
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    let r = check(&dir, &tmp.path().join("r2"), &[]);
    let c = physical(&r, "physical.deceleration");
    assert_eq!(c["pass"], false, "{c}");
    assert_eq!(num(&c["estimate"]), Some(5.0));
    assert_eq!(r["verdict"], "fail");
    m["vs:frames"][25]["braking"]["mu"] = serde_json::json!("slippery");
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/reference/kitti-hdl64e.profile.json");
    let (code, text) = verisim(&[
        "check".into(),
        dir.display().to_string(),
        "--profile".into(),
        profile.display().to_string(),
        "--out".into(),
        tmp.path().join("r3").display().to_string(),
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("manifest.json")
            && text.contains("vs:frames[].braking")
            && text.contains("mu"),
        "{text}"
    );
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn unreadable_scenario_copy_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("ds");
    std::fs::create_dir_all(d.join("training/velodyne")).unwrap();
    let k = real_root().join("kitti_object_openpcdet/training/velodyne/000000.bin");
    std::fs::copy(&k, d.join("training/velodyne/000000.bin")).unwrap();
    std::fs::write(
        d.join("scenario.ron"),
        "Scenario(name: \"x\", weather: (fog_visibility_m: Some(-3.0)))",
    )
    .unwrap();
    let out = tmp.path().join("r");
    let (code, text) = verisim(&[
        "check".into(),
        d.display().to_string(),
        "--profile".into(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/reference/kitti-hdl64e.profile.json")
            .display()
            .to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("scenario.ron") && text.contains("fog_visibility_m"),
        "{text}"
    );
    assert!(!out.join("report.json").exists(), "half-written report");
}

type Frame = (usize, usize, Vec<u8>, Vec<u16>, Vec<u8>, [f64; 4]);

/// A frame built from Koschmieder's law itself: a level camera 1.6 m over a flat road of
/// linear luminance 0.1, sky above the horizon showing the airlight 0.5, sRGB-encoded.
fn koschmieder_frame(sigma: f64) -> Frame {
    let (w, h) = (200usize, 120usize);
    let k = [100.0, 100.0, 100.0, 40.0];
    let (a, l0, cam_h) = (0.5f64, 0.1f64, 1.6f64);
    let mut rgb = vec![0u8; w * h * 3];
    let (mut depth, mut sem) = (vec![0u16; w * h], vec![0u8; w * h]);
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            let yn = (r as f64 - k[3]) / k[1];
            let l = if yn <= 0.01 {
                sem[i] = Class::Sky.id() as u8;
                a
            } else {
                let z = cam_h / yn;
                let xn = (c as f64 - k[2]) / k[0];
                let d = z * (1.0 + xn * xn + yn * yn).sqrt();
                sem[i] = Class::Road.id() as u8;
                depth[i] = (z * 256.0).round().min(65535.0) as u16;
                l0 * (-sigma * d).exp() + a * (1.0 - (-sigma * d).exp())
            };
            let code = (srgb_encode(l as f32) * 255.0).round() as u8;
            rgb[i * 3..i * 3 + 3].copy_from_slice(&[code; 3]);
        }
    }
    (w, h, rgb, depth, sem, k)
}

#[test]
fn contrast_fit_recovers_the_visibility_of_frames_built_from_the_law() {
    for v in [50.0f64, 120.0, 300.0] {
        let (w, h, rgb, d, s, k) = koschmieder_frame(3.912 / v);
        let mut acc = ContrastAcc::new();
        acc.add_frame(w, h, &rgb, &d, &s, k, 0.0);
        let fit = acc.fit().expect("fit");
        let got = fit.visibility_m().expect("fog");
        assert!((got - v).abs() / v < 0.05, "V {v}: fitted {got} ({fit:?})");
        // C0 = (0.1 − 0.5)/0.5
        assert!((fit.contrast_at_zero + 0.8).abs() < 0.05, "{fit:?}");
    }
    let (w, h, rgb, d, s, k) = koschmieder_frame(0.0);
    let mut acc = ContrastAcc::new();
    acc.add_frame(w, h, &rgb, &d, &s, k, 0.0);
    let fit = acc.fit().expect("fit");
    assert_eq!(fit.visibility_m(), None, "{fit:?}");
    // Without visible sky the airlight is unknown: the frame is skipped, not guessed.
    let (w, h, rgb, d, mut s, k) = koschmieder_frame(0.03);
    s.iter_mut()
        .filter(|c| **c == Class::Sky.id() as u8)
        .for_each(|c| *c = Class::Building.id() as u8);
    let mut acc = ContrastAcc::new();
    acc.add_frame(w, h, &rgb, &d, &s, k, 0.0);
    assert_eq!(acc.frames_without_airlight, 1);
    assert!(acc.fit().is_none());
}

#[test]
fn variation_values_parse_or_name_the_manifest() {
    use verisim::reality::truth::set_number;
    let m = Path::new("out/manifest.json");
    assert_eq!(set_number("k", "Some(50.0)", m).unwrap(), Some(50.0));
    assert_eq!(set_number("k", " 12 ", m).unwrap(), Some(12.0));
    assert_eq!(set_number("k", "None", m).unwrap(), None);
    let e = set_number("weather.rain_mm_per_h=lots", "lots", m).unwrap_err();
    assert!(e.to_string().contains("out/manifest.json") && e.to_string().contains("lots"));
}
