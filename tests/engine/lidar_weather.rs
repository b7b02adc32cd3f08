//! Weather in the points: the fog max-range law, α recovered from intensity decay, fog
//! backscatter near the sensor, rain and snow returns, LISA summaries, and GPU = CPU.

use crate::common;

use verisim::Simulation;
use verisim::abi::NO_RETURN;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::classes::Class;
use verisim::frame::LidarFrame;
use verisim::scenario::{LidarPreset, LidarSpec};
use verisim::sensors::lidar::weather_summary;

/// Detection range of a 10% target chosen so that a 50% wall is seen to R0 = 120 m in clear
/// air: R0 = R_det·√(0.5/0.1).
const R_DET_M: f64 = 120.0 / 2.236_068;

/// One horizontal beam and a flat wall of `material` facing it, `distance_m` ahead.
fn wall_scene(distance_m: f64, material: &str, fog: Option<f64>) -> String {
    let fog = fog.map_or("None".to_string(), |v| format!("Some({v})"));
    format!(
        r#"Scenario(
    name: "wall", map: (ground_size_m: 0.0, boxes: [(center: ({c}, 0.0), size_m: (0.5, 30.0, 30.0), class: Wall, material: Some("{material}"))]),
    weather: (fog_visibility_m: {fog}),
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (lidars: [(channels: 1, elevations: Table([0.0]), azimuth_resolution_deg: 1.0, max_range_m: 1000.0,
                    detection_range_m: {R_DET_M}, return_mode: Last, pose: (xyz_m: (0.0, 0.0, 1.73)))]),
    run: (frames: 1),
)"#,
        c = distance_m + 0.25
    )
}

/// Whether the forward beams (|azimuth| < 1°) return from the wall.
fn wall_detected(distance_m: f64, material: &str, fog: Option<f64>) -> bool {
    let scenario = common::scenario_from_str("wall.ron", &wall_scene(distance_m, material, fog));
    let mut sim = Simulation::new(scenario);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    let lidar = cpu.render(&sim.frame_inputs()).unwrap().lidar.unwrap();
    lidar.points().any(|p| {
        p.label & 0xFFFF == Class::Wall.id() as u32 && p.y.atan2(p.x).to_degrees().abs() < 1.0
    })
}

/// Farthest detected wall distance, by bisection (detection falls monotonically with range).
fn farthest_detected(material: &str, fog: Option<f64>) -> f64 {
    let (mut lo, mut hi) = (2.0, 400.0);
    assert!(wall_detected(lo, material, fog) && !wall_detected(hi, material, fog));
    while hi - lo > 0.05 {
        let mid = 0.5 * (lo + hi);
        if wall_detected(mid, material, fog) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// R with R²·exp(2αR) = R0², i.e. R·exp(αR) = R0 (Newton on ln R + αR − ln R0).
fn fog_limit(r0: f64, alpha: f64) -> f64 {
    let mut r = r0;
    for _ in 0..50 {
        let f = r.ln() + alpha * r - r0.ln();
        r -= f / (1.0 / r + alpha);
    }
    r
}

#[test]
fn max_range_in_fog_follows_the_two_way_extinction_law() {
    // Clear air: the 1/R² law and the reflectivity set the limit, R0 = R_det·√(ρ/0.1); the
    // forward beam meets the wall within 0.5° of the normal, and R is to its centre.
    let r0 = farthest_detected("wall_target", None);
    // Black rubber (ρ 0.06, Lambertian; car paint's clear coat would mirror the beam back).
    let black = farthest_detected("rubber", None);
    eprintln!("clear: 50% wall to {r0:.2} m, black rubber to {black:.2} m");
    assert!((r0 - 120.0).abs() < 0.01 * 120.0, "clear limit {r0}");
    let expected_black = R_DET_M * (0.06f64 / 0.1).sqrt();
    assert!(
        (black - expected_black).abs() < 0.01 * expected_black,
        "black {black}"
    );
    for mor in [50.0, 100.0, 200.0, 1000.0] {
        let alpha = 20f64.ln() / mor;
        let expected = fog_limit(r0, alpha);
        let got = farthest_detected("wall_target", Some(mor));
        eprintln!("MOR {mor} m: farthest {got:.2} m, law {expected:.2} m");
        assert!(
            (got - expected).abs() < 0.10 * expected,
            "MOR {mor}: {got} vs {expected}"
        );
    }
}

fn flat_ground(fog: Option<f64>) -> String {
    let fog = fog.map_or("None".to_string(), |v| format!("Some({v})"));
    format!(
        r#"Scenario(
    name: "flat", map: (ground_size_m: 2000.0),
    weather: (fog_visibility_m: {fog}),
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (lidars: [(channels: 24, upper_fov: -1.5, lower_fov: -24.0, azimuth_resolution_deg: 2.0,
                    max_range_m: 200.0, detection_range_m: 150.0, return_mode: Last,
                    pose: (xyz_m: (0.0, 0.0, 1.73)))]),
    run: (frames: 1),
)"#
    )
}

fn render_cpu(text: &str) -> LidarFrame {
    let scenario = common::scenario_from_str("s.ron", text);
    let mut sim = Simulation::new(scenario);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    cpu.render(&sim.frame_inputs()).unwrap().lidar.unwrap()
}

#[test]
fn alpha_fitted_from_ground_intensity_decay_recovers_the_visibility() {
    // The same uniform ground in clear air is the reference: ln(I_fog/I_clear) = −2αR.
    let clear = render_cpu(&flat_ground(None));
    for mor in [60.0, 150.0, 400.0] {
        let fog = render_cpu(&flat_ground(Some(mor)));
        let terrain = Class::Terrain.id() as u32;
        let (mut sx, mut sy, mut sxx, mut sxy, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (a, b) in fog.hits.iter().zip(&clear.hits) {
            if a.label & 0xFFFF != terrain || b.label & 0xFFFF != terrain || a.label == NO_RETURN {
                continue;
            }
            let r = ((a.x * a.x + a.y * a.y + a.z * a.z) as f64).sqrt();
            let y = (a.intensity as f64 / b.intensity as f64).ln();
            sx += r;
            sy += y;
            sxx += r * r;
            sxy += r * y;
            n += 1.0;
        }
        assert!(n > 100.0, "only {n} ground pairs");
        let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        let alpha = -slope / 2.0;
        let fitted = 20f64.ln() / alpha;
        eprintln!("MOR {mor} m: fitted {fitted:.1} m from {n} points");
        assert!(
            (fitted - mor).abs() < 0.15 * mor,
            "fitted {fitted} vs {mor}"
        );
    }
}

fn quickstart(weather: &str) -> verisim::Scenario {
    let mut s = common::load_scene("scenes/quickstart.ron");
    let pose = s.rig.lidars[0].pose;
    s.rig.lidars[0] = LidarSpec::from_preset(LidarPreset::VelodyneHdl64e, pose);
    s.rig.cameras.clear();
    let text = format!("({weather})");
    s.weather = ron::from_str(&text).unwrap();
    s
}

fn render_quickstart(weather: &str) -> LidarFrame {
    let mut sim = Simulation::new(quickstart(weather));
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    sim.advance_to_frame(3);
    cpu.render(&sim.frame_inputs()).unwrap().lidar.unwrap()
}

fn range(p: &verisim::abi::LidarHit) -> f32 {
    (p.x * p.x + p.y * p.y + p.z * p.z).sqrt()
}

fn class_points(f: &LidarFrame, c: Class) -> Vec<f32> {
    f.points()
        .filter(|p| p.label & 0xFFFF == c.id() as u32)
        .map(range)
        .collect()
}

#[test]
fn fog_backscatter_appears_near_the_sensor_in_dense_fog_only() {
    for mor in [30.0, 50.0, 80.0] {
        let f = render_quickstart(&format!("fog_visibility_m: Some({mor})"));
        let fog = class_points(&f, Class::Fog);
        let s = weather_summary(&f);
        eprintln!(
            "MOR {mor}: {} fog points, max range {:.2} m; {s:?}",
            fog.len(),
            fog.iter().cloned().fold(0.0, f32::max)
        );
        assert!(fog.len() > 1000, "MOR {mor}: {} fog points", fog.len());
        assert!(fog.iter().all(|&r| r < 20.0));
        // LISA's counts: in strongest-return mode a ray whose target the fog hid reports the
        // fog itself, so it counts as scattered.
        assert_eq!(s.scattered, fog.len() as u64);
        assert!(s.lost + s.scattered + s.unaffected <= s.rays);
        // Every fog point carries instance 0.
        assert!(
            f.points()
                .filter(|p| p.label & 0xFFFF == Class::Fog.id() as u32)
                .all(|p| p.label >> 16 == 0)
        );
    }
    for mor in [1000.0, 3000.0] {
        let f = render_quickstart(&format!("fog_visibility_m: Some({mor})"));
        let n = class_points(&f, Class::Fog).len();
        eprintln!("MOR {mor}: {n} fog points");
        assert_eq!(n, 0, "MOR {mor}");
    }
}

#[test]
fn heavy_rain_removes_more_far_returns_and_snow_scatters() {
    let far = |f: &LidarFrame| f.points().filter(|p| range(p) > 50.0).count();
    let clear = render_quickstart("");
    let light = render_quickstart("rain_mm_per_h: 5.0");
    let heavy = render_quickstart("rain_mm_per_h: 50.0");
    let (c, l, h) = (far(&clear), far(&light), far(&heavy));
    let rain_points = class_points(&heavy, Class::Rain).len();
    eprintln!(
        "far returns: clear {c}, 5 mm/h {l}, 50 mm/h {h}; rain points at 50 mm/h {rain_points}, at 5 mm/h {}",
        class_points(&light, Class::Rain).len()
    );
    eprintln!("summary 50 mm/h: {:?}", weather_summary(&heavy));
    assert!(l < c && h < l, "{c} {l} {h}");
    assert!((c - h) as f64 > 2.0 * (c - l) as f64);
    assert!(weather_summary(&heavy).lost > weather_summary(&light).lost);

    let snow = render_quickstart("snow_mm_per_h: 2.0");
    let flakes = class_points(&snow, Class::Snow);
    eprintln!(
        "snow 2 mm/h: {} snow points; {:?}",
        flakes.len(),
        weather_summary(&snow)
    );
    assert!(flakes.len() > 100, "{} snow points", flakes.len());
    assert!(
        flakes.len() > rain_points,
        "snow scatters more than heavy rain"
    );
    assert!(flakes.iter().all(|&r| r < 40.0));
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn weather_sweeps_match_between_gpu_and_cpu() {
    for weather in [
        "fog_visibility_m: Some(40.0)",
        "rain_mm_per_h: 50.0, wetness: 0.8",
        "snow_mm_per_h: 3.0, wetness: 0.5",
    ] {
        let mut sim = Simulation::new(quickstart(weather));
        let mut gpu = common::gpu_backend(&sim.assets.pool);
        let mut cpu = CpuBackend::new(&sim.assets.pool);
        sim.advance_to_frame(2);
        let inputs = sim.frame_inputs();
        let g = gpu.render(&inputs).unwrap().lidar.unwrap();
        let c = cpu.render(&inputs).unwrap().lidar.unwrap();
        assert_eq!(g.hits.len(), c.hits.len());
        let (mut same_label, mut close, mut both) = (0usize, 0usize, 0usize);
        for (a, b) in g.hits.iter().zip(&c.hits) {
            same_label += usize::from(a.label == b.label);
            if a.label != NO_RETURN && b.label != NO_RETURN {
                both += 1;
                close += usize::from((range(a) - range(b)).abs() <= 1e-3);
            }
        }
        let n = g.hits.len();
        eprintln!(
            "{weather}: labels equal {same_label}/{n}, ranges within 1 mm {close}/{both}; GPU {:?}",
            weather_summary(&g)
        );
        assert!(
            same_label as f64 >= 0.9999 * n as f64,
            "{weather}: {same_label}/{n}"
        );
        assert!(
            close as f64 >= 0.9999 * both as f64,
            "{weather}: {close}/{both}"
        );
    }
}

#[test]
fn dual_returns_pair_the_fog_with_the_target_behind_it() {
    let mut s = quickstart("fog_visibility_m: Some(60.0)");
    s.rig.lidars[0].return_mode = verisim::scenario::ReturnMode::Dual;
    let mut sim = Simulation::new(s);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    let f = cpu.render(&sim.frame_inputs()).unwrap().lidar.unwrap();
    let rays = (f.channels * f.columns) as usize;
    assert_eq!(f.hits.len(), 2 * rays);
    let fog = Class::Fog.id() as u32;
    let (mut pairs, mut behind) = (0, 0);
    for (a, b) in f.hits[..rays].iter().zip(&f.hits[rays..]) {
        if a.label == NO_RETURN || b.label == NO_RETURN {
            assert_eq!(b.label, NO_RETURN, "a second return needs a first");
            continue;
        }
        pairs += 1;
        // Exactly one of the two is the fog; the fog is the nearer.
        assert!((a.label & 0xFFFF == fog) != (b.label & 0xFFFF == fog));
        let (soft, hard) = if a.label & 0xFFFF == fog {
            (a, b)
        } else {
            (b, a)
        };
        behind += usize::from(range(hard) > range(soft));
    }
    eprintln!("dual: {pairs} rays with two returns, hard behind fog in {behind}");
    assert!(pairs > 1000 && behind == pairs);
}
