//! Real versus real passes every lidar and camera gate; defects built by transforming real frames
//! are caught by the gate meant for them. Real KITTI frames are read in place from
//! `VERISIM_REAL_DATA` (default ../shared/data/real relative to the crate).

use std::path::PathBuf;
use verisim::reality::check::{Modality, Verdict};
use verisim::reality::profile::{FrameData, profile_frames};
use verisim::reality::readers::{read_kitti_calib, read_kitti_labels, read_lidar, read_rgb};
use verisim::reality::{GatePolicy, PhysicalTruth, Profile, Report, SensorModel, compare};

fn real_root() -> PathBuf {
    match std::env::var_os("VERISIM_REAL_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"),
    }
}

fn kitti_frame(i: usize) -> FrameData {
    let d = real_root().join("kitti_object_openpcdet/training");
    let id = format!("{i:06}");
    FrameData {
        id: id.clone(),
        lidar: Some(read_lidar(&d.join(format!("velodyne/{id}.bin"))).expect("velodyne")),
        image: Some(read_rgb(&d.join(format!("image_2/{id}.png"))).expect("image")),
        labels: Some(read_kitti_labels(&d.join(format!("label_2/{id}.txt"))).expect("labels")),
        calib: Some(read_kitti_calib(&d.join(format!("calib/{id}.txt"))).expect("calib")),
        expects_calib: true,
    }
}

fn profile(name: &str, frames: Vec<FrameData>) -> Profile {
    let keyed: Vec<(String, FrameData)> = frames.into_iter().map(|f| (f.id.clone(), f)).collect();
    profile_frames(name, &SensorModel::hdl64e(), &keyed)
}

fn group_a() -> Vec<FrameData> {
    (0..3).map(kitti_frame).collect()
}

fn real_b() -> Profile {
    profile("real-b", (3..6).map(kitti_frame).collect())
}

fn run(synth: Vec<FrameData>, real: &Profile) -> Report {
    let policy = GatePolicy::shipped_default();
    compare(
        &profile("synthetic", synth),
        real,
        &policy,
        "default",
        "",
        None,
        &PhysicalTruth::default(),
    )
}

fn verdict(r: &Report, id: &str) -> Verdict {
    r.check(id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .verdict
}

fn assert_caught(r: &Report, id: &str) {
    for c in &r.checks {
        if c.gated {
            eprintln!(
                "{:28} {:?} score {:?} pass {:?}",
                c.id,
                c.verdict,
                c.score,
                c.thresholds.as_ref().map(|t| t.pass)
            );
        }
    }
    let c = r.check(id).unwrap();
    assert_eq!(
        c.verdict,
        Verdict::Fail,
        "{id} should fail: score {:?}, thresholds {:?}",
        c.score,
        c.thresholds
    );
    assert_eq!(r.verdict, Verdict::Fail);
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn real_vs_real_passes_every_lidar_and_camera_gate() {
    let real = real_b();
    assert_eq!(real.groups.len(), 3);
    let r = run(group_a(), &real);
    let gated: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.gated && matches!(c.modality, Modality::Lidar | Modality::Camera))
        .collect();
    assert!(gated.len() >= 25, "only {} gated checks", gated.len());
    for c in &gated {
        assert_eq!(
            c.verdict,
            Verdict::Pass,
            "{}: score {:?} thresholds {:?}",
            c.id,
            c.score,
            c.thresholds
        );
        assert_eq!(c.thresholds.as_ref().unwrap().source, "baseline");
    }
    assert!(r.validity.iter().all(|v| v.pass), "{:?}", r.validity);
    assert_eq!(r.verdict, Verdict::Pass);
}

fn map_points(frames: &mut [FrameData], mut f: impl FnMut(&mut Vec<[f32; 4]>)) {
    for fr in frames {
        f(&mut fr.lidar.as_mut().unwrap().points);
    }
}

fn map_images(frames: &mut [FrameData], f: impl Fn(&image::RgbImage) -> image::RgbImage) {
    for fr in frames {
        let img = fr.image.take().unwrap();
        fr.image = Some(f(&img));
    }
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn lidar_defects_are_caught_by_their_gates() {
    let real = real_b();

    let mut a = group_a();
    map_points(&mut a, |p| p.iter_mut().for_each(|q| q[3] *= 3.0));
    let r = run(a, &real);
    assert_caught(&r, "lidar.intensity_hist");
    assert!(
        r.validity
            .iter()
            .any(|v| !v.pass && v.expectation.contains("intensity"))
    );

    let mut a = group_a();
    map_points(&mut a, |p| p.iter_mut().for_each(|q| q[2] -= 0.5)); // sensor 0.5 m higher
    let r = run(a, &real);
    assert_caught(&r, "lidar.mount_height");
    let c = r.check("lidar.mount_height").unwrap();
    assert!((c.synthetic_value.unwrap() - c.real_value.unwrap() - 0.5).abs() < 0.1);
    assert_eq!(verdict(&r, "lidar.intensity_hist"), Verdict::Pass);

    let mut a = group_a();
    map_points(&mut a, |p| {
        p.retain(|q| (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt() <= 40.0)
    });
    let r = run(a, &real);
    assert_caught(&r, "lidar.range_p99");

    // Half the beams: drop every other laser of the HDL-64E table.
    let model = SensorModel::hdl64e();
    let bounds: Vec<f32> = model
        .elevation_deg
        .windows(2)
        .map(|w| (0.5 * (w[0] + w[1])).to_radians().tan() as f32)
        .collect();
    let mut a = group_a();
    map_points(&mut a, |p| {
        p.retain(|q| {
            let t = q[2] / (q[0] * q[0] + q[1] * q[1]).sqrt().max(1e-6);
            bounds.partition_point(|&b| b > t) % 2 == 0
        })
    });
    let r = run(a, &real);
    assert_caught(&r, "lidar.beam_drop_rate");
    assert_caught(&r, "lidar.beam_share");
    assert_caught(&r, "lidar.points_per_frame");
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn camera_defects_are_caught_by_their_gates() {
    let real = real_b();

    let mut a = group_a();
    map_images(&mut a, |img| image::imageops::blur(img, 1.5));
    let r = run(a, &real);
    assert_caught(&r, "camera.noise_sigma");
    assert_caught(&r, "camera.laplacian_variance");

    let mut a = group_a();
    map_images(&mut a, |img| {
        let mut o = img.clone();
        o.pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| (v as f32 * 0.7).round() as u8));
        o
    });
    let r = run(a, &real);
    assert_caught(&r, "camera.luminance_p99");
    assert_eq!(verdict(&r, "camera.spectrum_slope"), Verdict::Pass);

    let mut a = group_a();
    map_images(&mut a, |img| {
        let mut o = img.clone();
        o.pixels_mut().for_each(|p| p.0 = [p.0[2], p.0[1], p.0[0]]);
        o
    });
    let r = run(a, &real);
    // KITTI's camera is nearly grey-balanced, so a red/blue swap barely moves colour histograms
    // or white balance; foliage turning from yellow-green to cyan-green fails the foliage-hue
    // gate (log odds of R > B among green-dominant pixels flip sign), and the blue/red noise
    // ratio (a sensor fingerprint) is flagged too. The log odds themselves (camera.foliage_hue)
    // move by 1.06 but three baseline frames spread by 1.0 (frame 5 is mostly trees), so the
    // gate that fails is the share of frames with yellow-green foliage: 1 real, 0 swapped.
    assert_caught(&r, "camera.foliage_yellow_green_share");
    let c = r.check("camera.foliage_hue").unwrap();
    assert!(c.synthetic_value.unwrap() < 0.0 && c.real_value.unwrap() > 0.0);
    assert_ne!(verdict(&r, "camera.noise_b_over_r"), Verdict::Pass);
    assert_eq!(verdict(&r, "camera.luminance_median"), Verdict::Pass);
    // The statistic is antisymmetric under the swap: each frame's value negates exactly.
    for i in 0..3 {
        let f = kitti_frame(i);
        let img = f.image.unwrap();
        let mut sw = img.clone();
        sw.pixels_mut().for_each(|p| p.0 = [p.0[2], p.0[1], p.0[0]]);
        let mut agg = verisim::reality::camera::CameraAgg::default();
        let (w, h) = (img.width() as usize, img.height() as usize);
        let a = verisim::reality::camera::accumulate_image(w, h, img.as_raw(), &mut agg);
        let b = verisim::reality::camera::accumulate_image(w, h, sw.as_raw(), &mut agg);
        assert!(a.foliage_red_blue_log_odds > 0.2, "frame {i}: {a:?}");
        assert!((a.foliage_red_blue_log_odds + b.foliage_red_blue_log_odds).abs() < 1e-12);
    }
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn tier_override_changes_gating() {
    let p = GatePolicy::shipped_default();
    assert_eq!(p.pass_factor, 1.5);
    let smoke = p.for_tier(Some("smoke")).unwrap();
    assert_eq!(smoke.pass_factor, 3.0);
    assert!(!smoke.check("camera.noise_sigma").gate);
    assert!(p.check("camera.noise_sigma").gate);
    assert!(p.for_tier(Some("no-such-tier")).is_err());
    let mut a = group_a();
    map_images(&mut a, |img| image::imageops::blur(img, 1.5));
    let r = compare(
        &profile("s", a),
        &real_b(),
        &smoke,
        "smoke",
        "",
        Some("smoke"),
        &PhysicalTruth::default(),
    );
    assert_eq!(verdict(&r, "camera.noise_sigma"), Verdict::Info);
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn absolute_floors_apply_without_a_baseline() {
    // A real profile with one group has no disjoint split: the policy's floors gate.
    let real = profile("one", vec![kitti_frame(3)]);
    let r = run(vec![kitti_frame(4)], &real);
    let c = r.check("lidar.mount_height").unwrap();
    let t = c.thresholds.as_ref().unwrap();
    assert_eq!(t.source, "floor");
    assert!(c.baseline.is_none());
    assert_eq!(c.verdict, Verdict::Pass);
}

/// The lidar of a world where every labelled car is its box: each ray that crosses a Car box
/// before its recorded range ends on the box's face (what the box actors of 2026-11 gave).
fn box_cars(frames: &mut [FrameData]) {
    use verisim::reality::objects::box_coordinates;
    use verisim::reality::readers::rect_from_velo;
    for f in frames {
        let (rot, t) = rect_from_velo(f.calib.as_ref().unwrap()).unwrap();
        let inv = rot.inverse();
        let cars: Vec<_> = f
            .labels
            .as_ref()
            .unwrap()
            .iter()
            .filter(|o| o.class == "Car")
            .cloned()
            .collect();
        for q in &mut f.lidar.as_mut().unwrap().points {
            let p = rot * glam::DVec3::new(q[0] as f64, q[1] as f64, q[2] as f64) + t;
            let mut nearest: Option<f64> = None;
            for o in &cars {
                let (a, b) = (box_coordinates(o, t), box_coordinates(o, p));
                let [h, w, l] = o.dims_m;
                let slabs = [
                    (a.along_m, b.along_m - a.along_m, -l / 2.0, l / 2.0),
                    (a.up_m, b.up_m - a.up_m, 0.0, h),
                    (a.across_m, b.across_m - a.across_m, -w / 2.0, w / 2.0),
                ];
                let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
                for (o0, d, lo, hi) in slabs {
                    let (u, v) = ((lo - o0) / d, (hi - o0) / d);
                    t0 = t0.max(u.min(v));
                    t1 = t1.min(u.max(v));
                }
                if t0 <= t1 && nearest.is_none_or(|n| t0 < n) {
                    nearest = Some(t0);
                }
            }
            if let Some(s) = nearest {
                // The sensor sits at t (rectified frame); the hit is that far along its ray.
                let hit = inv * ((p - t) * s);
                *q = [hit.x as f32, hit.y as f32, hit.z as f32, 0.3];
            }
        }
    }
}

fn object_scores(synth: Vec<FrameData>, real: &Profile) -> Vec<(String, f64)> {
    run(synth, real)
        .checks
        .iter()
        .filter(|c| c.modality == Modality::Objects)
        .map(|c| {
            (
                c.id.clone(),
                c.score.expect("object statistics on both sides"),
            )
        })
        .collect()
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn object_statistics_see_box_cars_and_not_sensor_noise() {
    // Paired: the same six frames, the same cars seen from the same places, once as recorded and
    // once with every car replaced by its box. Only the shape differs, so the shape statistics
    // must move; 2 cm of range noise on every point must not move them.
    let all: Vec<FrameData> = (0..6).map(kitti_frame).collect();
    let real = profile("real-all", all.clone());
    let mut boxed = all.clone();
    box_cars(&mut boxed);
    let mut noisy = all;
    let mut state = 0x9e37_79b9_u32;
    map_points(&mut noisy, |p| {
        for q in p.iter_mut() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let u = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            let scale = 1.0 + 0.04 * u / (q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt().max(1.0);
            q[..3].iter_mut().for_each(|v| *v *= scale);
        }
    });
    let boxed = object_scores(boxed, &real);
    let noisy = object_scores(noisy, &real);
    for ((id, b), (_, n)) in boxed.iter().zip(&noisy) {
        eprintln!("{id:28} box cars {b:.3}  2 cm noise {n:.3}");
    }
    let score = |v: &[(String, f64)], id: &str| v.iter().find(|(i, _)| i == id).unwrap().1;
    for (id, at_least) in [
        ("objects.car_height_profile", 0.2),
        ("objects.car_side_view", 0.4),
        ("objects.car_top_view", 0.3),
        ("objects.car_inside_share", 0.5),
    ] {
        assert!(
            score(&boxed, id) >= at_least,
            "{id}: box cars {}",
            score(&boxed, id)
        );
        assert!(
            score(&noisy, id) < 0.1,
            "{id}: 2 cm noise {}",
            score(&noisy, id)
        );
    }
    // The labels did not change: box sizes, angles and 2D boxes score zero.
    for id in [
        "objects.car_alpha",
        "objects.car_width",
        "objects.car_aspect_2d",
    ] {
        assert_eq!(score(&boxed, id), 0.0, "{id}");
    }
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn object_checks_gate_only_with_enough_real_cars() {
    let real = real_b();
    let r = run(group_a(), &real);
    let objects: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.modality == Modality::Objects)
        .collect();
    assert_eq!(objects.len(), 9);
    for c in &objects {
        assert_eq!(c.verdict, Verdict::Info, "{}", c.id);
        assert!(!c.gated, "{}", c.id);
        assert!(c.note.contains("holds 3 cars"), "{}: {}", c.id, c.note);
    }
    // With the count requirement lifted the same checks gate against the baseline.
    let mut policy = GatePolicy::shipped_default();
    for c in policy.checks.values_mut() {
        c.min_real_samples = 0;
    }
    let r = compare(
        &profile("synthetic", group_a()),
        &real,
        &policy,
        "lifted",
        "",
        None,
        &PhysicalTruth::default(),
    );
    for c in r.checks.iter().filter(|c| c.modality == Modality::Objects) {
        assert!(c.gated, "{}", c.id);
        assert_ne!(c.verdict, Verdict::Info, "{}", c.id);
        assert_eq!(
            c.thresholds.as_ref().unwrap().source,
            "baseline",
            "{}",
            c.id
        );
    }
}
