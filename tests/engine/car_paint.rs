//! Car paint under a clear coat, as the lidar sees it: black bodies read near zero (KITTI's car
//! points: 64–87 % exactly 0, `shared/reference/objects.md` section 5), grey and silver far
//! below white, and the coat's mirror lobe returns only near normal incidence.

use crate::common;
use verisim::Simulation;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::classes::Class;
use verisim::sensors::lidar::coated_reflectance;

/// The lobe at normal incidence is F0/(4·m²) over the dimmed diffuse base; it is gone a few
/// degrees off normal; without a coat nothing changes, bit for bit.
#[test]
fn the_clear_coat_returns_only_near_normal_incidence() {
    let f0 = verisim::abi::shared::CLEARCOAT_F0;
    let m = 0.05f32;
    let inv_m2 = 1.0 / (m * m);
    let rho = 0.3f32;
    let at_normal = coated_reflectance(rho, inv_m2, 1.0);
    let expected = rho * (1.0 - f0) * (1.0 - f0) + f0 / (4.0 * m * m);
    assert!(
        (at_normal - expected).abs() < 1e-5,
        "{at_normal} vs {expected}"
    );
    for deg in [9.0f32, 20.0, 45.0, 70.0] {
        let c = deg.to_radians().cos();
        let coated = coated_reflectance(rho * c, inv_m2, c);
        // The diffuse base through the coat, Schlick's F at that angle.
        let f = f0 + (1.0 - f0) * (1.0 - c).powi(5);
        let base = rho * c * (1.0 - f) * (1.0 - f);
        assert!(
            (coated - base).abs() < 1e-3,
            "{deg}°: {coated} vs the base alone {base}"
        );
    }
    for c in [0.0f32, 0.3, 0.9, 1.0] {
        assert_eq!(
            coated_reflectance(rho * c, 0.0, c).to_bits(),
            (rho * c).to_bits()
        );
    }
}

/// Cars of each paint parked around a static HDL-64E on flat ground, one per direction.
#[test]
fn black_cars_read_near_zero_grey_and_silver_far_below_white() {
    let paints = ["paint_black", "paint_gray", "paint_silver", "paint_white"];
    let actors: Vec<String> = paints
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let a = (i as f32 * 90.0 + 45.0).to_radians();
            let (x, y) = (9.0 * a.cos(), 9.0 * a.sin());
            // Broadside to the sensor.
            let yaw = i as f32 * 90.0 + 45.0 + 90.0;
            format!("(kind: Car, material: Some(\"{p}\"), spawn: Some(({x}, {y}, {yaw})))")
        })
        .collect();
    let text = format!(
        r#"Scenario(
    name: "paint", map: (ground_size_m: 200.0),
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    actors: [{}],
    rig: (lidars: [(preset: VelodyneHdl64e, pose: (xyz_m: (0.0, 0.0, 1.73)))]),
    run: (frames: 1),
)"#,
        actors.join(", ")
    );
    let mut sim = Simulation::new(common::scenario_from_str("paint.ron", &text));
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    let frame = cpu.render(&sim.frame_inputs()).unwrap().lidar.unwrap();
    let car = Class::Car.id() as u32;
    let mut means = Vec::new();
    for (i, paint) in paints.iter().enumerate() {
        let centre = (i as f32 * 90.0 + 45.0).to_radians();
        let values: Vec<f32> = frame
            .points()
            .filter(|p| p.label & 0xFFFF == car)
            .filter(|p| {
                let off = (p.y.atan2(p.x) - centre + std::f32::consts::PI)
                    .rem_euclid(std::f32::consts::TAU)
                    - std::f32::consts::PI;
                off.abs() < 0.6
            })
            .map(|p| p.intensity)
            .collect();
        let n = values.len();
        let dark = values.iter().filter(|&&v| v < 0.05).count() as f64 / n as f64;
        let median = {
            let mut v = values.clone();
            v.sort_by(f32::total_cmp);
            v[n / 2]
        };
        let bright = values.iter().filter(|&&v| v >= 0.9).count();
        eprintln!(
            "{paint}: {n} points, {dark:.2} below 0.05, median {median:.3}, {bright} at ≥ 0.9"
        );
        assert!(n > 300, "{paint}: {n} points");
        // Plates, reflectors and the coat's lobe where the body faces the sensor.
        assert!(bright > 20, "{paint}: {bright} bright points");
        means.push((paint, median, dark));
    }
    let white = means[3].1;
    assert!(white > 0.3, "a white body reads {white}");
    // Carbon black reads near zero on most of the car (KITTI: 64–87 % of car points are 0).
    assert!(means[0].2 >= 0.5, "black: {} below 0.05", means[0].2);
    // Grey and silver read far below white: the pigment's low NIR return under the coat.
    for &(paint, median, _) in &means[1..3] {
        assert!(
            median < 0.1 && median < white / 4.0,
            "{paint}: median {median}"
        );
    }
}
