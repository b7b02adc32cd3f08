//! Analytic geometry: lidar over a flat plane, camera pixel extent of a box of known size.

use crate::common;

use verisim::Simulation;
use verisim::abi::NO_RETURN;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::classes::Class;
use verisim::geometry::map::TERRAIN_Z_M;

const ELEVATIONS: [f32; 6] = [-2.0, -5.0, -10.0, -15.0, -20.0, -24.9];
const MOUNT_Z: f32 = 1.73;

fn flat_ground_scene() -> String {
    format!(
        r#"Scenario(
    name: "flat", map: (ground_size_m: 2000.0),
    ego: (spawn: Some((3.0, -2.0, 30.0))),
    rig: (lidars: [(channels: 6, elevations: Table({ELEVATIONS:?}), azimuth_resolution_deg: 1.0,
                    max_range_m: 200.0, pose: (xyz_m: (0.0, 0.0, {MOUNT_Z})))]),
    run: (frames: 1),
)"#
    )
}

fn check_flat_ground(backend: &mut dyn Backend, sim: &mut Simulation) {
    let inputs = sim.frame_inputs();
    let lidar = backend.render(&inputs).unwrap().lidar.unwrap();
    let h = MOUNT_Z - TERRAIN_Z_M;
    assert_eq!(
        lidar.points().count(),
        6 * 360,
        "every ray must hit the plane"
    );
    for (slot, p) in lidar.hits.iter().enumerate() {
        assert_ne!(p.label, NO_RETURN);
        let beam = slot % 6;
        let el = ELEVATIONS[beam].to_radians();
        let expected = h / (-el).sin();
        let r = (p.x * p.x + p.y * p.y + p.z * p.z).sqrt();
        assert!(
            (r - expected).abs() < 0.01,
            "beam {beam}: range {r} vs {expected}"
        );
        let measured_el = p.z.atan2(p.x.hypot(p.y)).to_degrees();
        assert!(
            (measured_el - ELEVATIONS[beam]).abs() < 0.01,
            "beam {beam}: elevation {measured_el}"
        );
        assert_eq!(p.label & 0xFFFF, Class::Terrain.id() as u32);
    }
}

#[test]
fn lidar_over_flat_ground_returns_h_over_sin_elevation() {
    let scenario = common::scenario_from_str("flat.ron", &flat_ground_scene());
    let mut sim = Simulation::new(scenario);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    check_flat_ground(&mut cpu, &mut sim);
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn lidar_over_flat_ground_on_the_gpu() {
    let scenario = common::scenario_from_str("flat.ron", &flat_ground_scene());
    let mut sim = Simulation::new(scenario);
    check_flat_ground(common::gpu_backend(&sim.assets.pool).as_mut(), &mut sim);
}

/// A 4 m wide, 3 m tall wall whose front face is 19.75 m ahead of a 90° camera (fx = 320 px).
fn wall_scene() -> &'static str {
    r#"Scenario(
    name: "wall", map: (ground_size_m: 400.0, boxes: [(center: (20.0, 0.0), size_m: (0.5, 4.0, 3.0), class: Wall)]),
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (cameras: [(width: 640, height: 480, intrinsics: Fov(horizontal_deg: 90.0), pose: (xyz_m: (0.0, 0.0, 1.5)))]),
    run: (frames: 1),
)"#
}

fn check_wall(backend: &mut dyn Backend, sim: &mut Simulation) {
    let inputs = sim.frame_inputs();
    let cam = &backend.render(&inputs).unwrap().cameras[0];
    let (fx, cx, cy) = (320.0f32, 320.0f32, 240.0f32);
    let z = 19.75f32;
    let is_wall = |x: u32, y: u32| {
        cam.pixels[(y * cam.width + x) as usize].label & 0xFFFF == Class::Wall.id() as u32
    };
    // Horizontal extent on the row through the optical centre.
    let row = 240;
    let cols: Vec<u32> = (0..cam.width).filter(|&x| is_wall(x, row)).collect();
    let width_px = (cols.last().unwrap() - cols.first().unwrap() + 1) as f32;
    let expected_w = fx * 4.0 / z;
    assert!(
        (width_px - expected_w).abs() <= 1.0,
        "width {width_px} px vs {expected_w}"
    );
    // A pixel belongs to the wall when its centre (index + 0.5) lies inside the projected edges.
    let first_inside = |edge: f32| (edge - 0.5).ceil();
    let last_inside = |edge: f32| (edge - 0.5).ceil() - 1.0;
    let left = first_inside(cx - fx * 2.0 / z);
    let right = last_inside(cx + fx * 2.0 / z);
    assert!(
        (cols[0] as f32 - left).abs() <= 1.0,
        "left edge {} vs {left}",
        cols[0]
    );
    assert!(
        (*cols.last().unwrap() as f32 - right).abs() <= 1.0,
        "right edge vs {right}"
    );
    // Vertical extent on the centre column: from z = 3 m down to the ground.
    let rows: Vec<u32> = (0..cam.height).filter(|&y| is_wall(320, y)).collect();
    let top = first_inside(cy - fx * (3.0 - 1.5) / z);
    let bottom = last_inside(cy + fx * 1.5 / z);
    assert!(
        (rows[0] as f32 - top).abs() <= 1.0,
        "top {} vs {top}",
        rows[0]
    );
    assert!(
        (*rows.last().unwrap() as f32 - bottom).abs() <= 1.0,
        "bottom {} vs {bottom}",
        rows.last().unwrap()
    );
    let depth = cam.pixels[(row * cam.width + 320) as usize].depth_m;
    assert!((depth - z).abs() < 0.01, "depth {depth} vs {z}");
}

#[test]
fn camera_sees_a_box_with_the_right_pixel_extent() {
    let scenario = common::scenario_from_str("wall.ron", wall_scene());
    let mut sim = Simulation::new(scenario);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    check_wall(&mut cpu, &mut sim);
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn camera_sees_a_box_with_the_right_pixel_extent_on_the_gpu() {
    let scenario = common::scenario_from_str("wall.ron", wall_scene());
    let mut sim = Simulation::new(scenario);
    check_wall(common::gpu_backend(&sim.assets.pool).as_mut(), &mut sim);
}
