//! Scan timing: a spinning lidar on a moving ego sees each column from the pose at its firing
//! time, so walls shear by speed x elapsed scan time; motion compensation removes it.

use crate::common;

use verisim::Simulation;
use verisim::abi::NO_RETURN;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::sensors::lidar::{motion_compensate, point_times_s, slot_time_s};

const SPEED: f32 = 20.0;
const SWEEP_S: f32 = 0.1;

/// Walls across the road 20 m ahead and 20 m behind; the ego drives along +x at 20 m/s.
fn scene(speed: f32) -> String {
    format!(
        r#"Scenario(
    name: "shear", map: (ground_size_m: 0.0, boxes: [
        (center: (20.25, 0.0), size_m: (0.5, 60.0, 10.0), class: Wall),
        (center: (-20.25, 0.0), size_m: (0.5, 60.0, 10.0), class: Wall)]),
    ego: (route: [(0.0, 0.0), (1000.0, 0.0)], speed_m_per_s: {speed}),
    rig: (lidars: [(channels: 1, elevations: Table([0.0]), azimuth_resolution_deg: 0.2,
                    rotation_hz: 10.0, motion_distortion: true, max_range_m: 100.0,
                    pose: (xyz_m: (0.0, 0.0, 1.5)))]),
    run: (frames: 1),
)"#
    )
}

/// Least-squares slope of x against t.
fn slope(pts: &[(f32, f32)]) -> f32 {
    let n = pts.len() as f32;
    let (st, sx) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (mt, mx) = (st / n, sx / n);
    let num: f32 = pts.iter().map(|p| (p.0 - mt) * (p.1 - mx)).sum();
    let den: f32 = pts.iter().map(|p| (p.0 - mt) * (p.0 - mt)).sum();
    num / den
}

fn check(backend: &mut dyn Backend, speed: f32) {
    let scenario = common::scenario_from_str("shear.ron", &scene(speed));
    let mut sim = Simulation::new(scenario);
    let inputs = sim.frame_inputs();
    let lidar = backend.render(&inputs).unwrap().lidar.unwrap();
    let times = point_times_s(&lidar, SWEEP_S);
    let pts: Vec<_> = lidar.points().zip(&times).collect();
    let front: Vec<(f32, f32)> = pts
        .iter()
        .filter(|(p, _)| p.x > 0.0)
        .map(|(p, t)| (**t, p.x))
        .collect();
    let back: Vec<(f32, f32)> = pts
        .iter()
        .filter(|(p, _)| p.x < 0.0)
        .map(|(p, t)| (**t, p.x))
        .collect();
    assert!(front.len() > 300 && back.len() > 300);
    // In the sensor frame at firing time, a static wall at X sits at X − v·t: slope −v.
    for (name, w) in [("front", &front), ("back", &back)] {
        let s = slope(w);
        eprintln!("speed {speed}: {name} wall slope dx/dt = {s:.4} m/s");
        assert!((s + speed).abs() < 0.01 * speed.max(1.0), "{name}: {s}");
    }
    // The rear wall is seen at the start and the end of the sweep: the seam between the two
    // halves is the distance driven in one sweep, v·T (less one column).
    let first = back
        .iter()
        .cloned()
        .fold((f32::MAX, 0.0), |a, p| if p.0 < a.0 { p } else { a });
    let last = back
        .iter()
        .cloned()
        .fold((f32::MIN, 0.0), |a, p| if p.0 > a.0 { p } else { a });
    let seam = first.1 - last.1;
    let expected = speed * (last.0 - first.0);
    eprintln!("speed {speed}: seam {seam:.4} m, v·Δt {expected:.4} m");
    assert!((seam - expected).abs() < 0.01, "seam {seam} vs {expected}");
    assert!(speed == 0.0 || (last.0 - first.0 - SWEEP_S).abs() < 0.002);

    // Motion compensation puts every point in the frame of the mid-sweep pose: walls straight.
    let comp = motion_compensate(&lidar, &inputs.lidar.as_ref().unwrap().params);
    for sign in [1.0f32, -1.0] {
        let xs: Vec<f32> = comp
            .iter()
            .filter(|h| h.label != NO_RETURN && h.x * sign > 0.0)
            .map(|h| h.x)
            .collect();
        let (lo, hi) = xs
            .iter()
            .fold((f32::MAX, f32::MIN), |a, &x| (a.0.min(x), a.1.max(x)));
        eprintln!("compensated wall x in [{lo:.4}, {hi:.4}]");
        assert!(hi - lo < 0.005, "compensated wall spread {}", hi - lo);
        assert!((lo.abs() - 20.0).abs() < 0.005);
    }
}

#[test]
fn walls_shear_by_speed_times_scan_time_and_compensation_straightens_them() {
    let scenario = common::scenario_from_str("shear.ron", &scene(SPEED));
    let pool = Simulation::new(scenario).assets.pool.clone();
    let mut cpu = CpuBackend::new(&pool);
    check(&mut cpu, SPEED);
    check(&mut cpu, 0.0);
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn walls_shear_by_speed_times_scan_time_on_the_gpu() {
    let scenario = common::scenario_from_str("shear.ron", &scene(SPEED));
    let pool = Simulation::new(scenario).assets.pool.clone();
    check(common::gpu_backend(&pool).as_mut(), SPEED);
}

#[test]
fn slot_times_span_the_sweep_centred_on_the_frame() {
    let (ch, cols) = (64, 2000);
    let first = slot_time_s(0, ch, cols, SWEEP_S);
    let last = slot_time_s((ch * cols - 1) as usize, ch, cols, SWEEP_S);
    assert!((first + 0.05 - 0.5 * SWEEP_S / cols as f32).abs() < 1e-6);
    assert!((last - 0.05 + 0.5 * SWEEP_S / cols as f32).abs() < 1e-6);
    // The forward column (azimuth 0) fires at the frame time.
    assert!(slot_time_s((ch * cols / 2) as usize, ch, cols, SWEEP_S).abs() < SWEEP_S / cols as f32);
}
