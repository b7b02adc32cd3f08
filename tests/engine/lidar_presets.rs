//! Lidar presets: each reproduces its beam table, the HDL-64E on the quickstart scene returns
//! as many points as a KITTI frame, CARLA-named parameters resolve as documented, and bad
//! lidar input is reported with its place in the file.

use crate::common;

use verisim::Simulation;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::scenario::lidar_presets;
use verisim::scenario::{self, Elevations, LidarPreset, LidarSpec, MountPose, Source};
use verisim::sensors;

/// The sensor at 1.73 m inside a closed 40 x 40 x 20 m hall, so every beam of every preset
/// hits a surface within its range.
fn hall_scene(preset: &str) -> String {
    format!(
        r#"Scenario(
    name: "hall", map: (ground_size_m: 200.0, boxes: [(center: (0.0, 0.0), size_m: (40.0, 40.0, 20.0), class: Wall, material: Some("wall_target"))]),
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (lidars: [(preset: {preset}, pose: (xyz_m: (0.0, 0.0, 1.73)))]),
    run: (frames: 1),
)"#
    )
}

fn check_preset(backend: &mut dyn Backend, preset: LidarPreset, name: &str) {
    let scenario = common::scenario_from_str("hall.ron", &hall_scene(name));
    let spec = scenario.rig.lidars[0].clone();
    let table = lidar_presets::preset_values(preset).elevations_deg;
    assert_eq!(sensors::elevations_deg(&spec), table);
    let mut sim = Simulation::new(scenario);
    let inputs = sim.frame_inputs();
    let lidar = backend.render(&inputs).unwrap().lidar.unwrap();
    let ch = lidar.channels as usize;
    assert_eq!(ch, table.len());
    let mut per_beam = vec![0usize; ch];
    let mut worst = 0.0f32;
    for (slot, p) in lidar.hits.iter().enumerate() {
        if p.label == verisim::abi::NO_RETURN {
            continue;
        }
        let beam = slot % ch;
        let el = p.z.atan2(p.x.hypot(p.y)).to_degrees();
        worst = worst.max((el - table[beam]).abs());
        per_beam[beam] += 1;
    }
    eprintln!(
        "{name}: {} columns, worst elevation error {worst:.5}°",
        lidar.columns
    );
    assert!(worst < 0.01, "{name}: elevation off by {worst}°");
    for (beam, n) in per_beam.iter().enumerate() {
        assert!(
            *n as f64 >= 0.9 * lidar.columns as f64,
            "{name} beam {beam}: only {n} of {} columns returned",
            lidar.columns
        );
    }
}

fn presets_reproduce_their_elevation_tables_on(on: common::On) {
    let presets = [
        (LidarPreset::VelodyneHdl64e, "VelodyneHdl64e"),
        (LidarPreset::VelodyneHdl32e, "VelodyneHdl32e"),
        (LidarPreset::VelodyneVlp16, "VelodyneVlp16"),
        (LidarPreset::OusterOs1_128, "OusterOs1_128"),
    ];
    let pool = Simulation::new(common::scenario_from_str(
        "hall.ron",
        &hall_scene("VelodyneVlp16"),
    ))
    .assets
    .pool
    .clone();
    let mut backend = common::backend(on, &pool);
    for (p, name) in presets {
        check_preset(backend.as_mut(), p, name);
    }
}

#[test]
fn each_preset_reproduces_its_elevation_table() {
    presets_reproduce_their_elevation_tables_on(common::On::Cpu);
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn each_preset_reproduces_its_elevation_table_on_the_gpu() {
    presets_reproduce_their_elevation_tables_on(common::On::Gpu);
}

/// The quickstart scene with its lidar replaced by the HDL-64E preset (same mount).
pub fn quickstart_hdl64e() -> verisim::Scenario {
    let mut s = common::load_scene("scenes/quickstart.ron");
    let pose = s.rig.lidars[0].pose;
    s.rig.lidars[0] = LidarSpec::from_preset(LidarPreset::VelodyneHdl64e, pose);
    s.rig.cameras.clear();
    s
}

#[test]
fn hdl64e_on_quickstart_returns_a_kitti_sized_frame() {
    let mut sim = Simulation::new(quickstart_hdl64e());
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    for f in [0, 10] {
        sim.advance_to_frame(f);
        let inputs = sim.frame_inputs();
        let lidar = cpu.render(&inputs).unwrap().lidar.unwrap();
        let n = lidar.points().count();
        let mean_i = lidar.points().map(|p| p.intensity as f64).sum::<f64>() / n as f64;
        eprintln!(
            "HDL-64E quickstart frame {f}: {n} points of {} rays, mean intensity {mean_i:.3}",
            lidar.hits.len()
        );
        // The six shared KITTI frames hold 113,110 to 126,891 points; within 10 % of that.
        assert!((101_800..=139_600).contains(&n), "{n} points");
        assert!(lidar.points().all(|p| (0.0..=1.0).contains(&p.intensity)));
    }
}

#[test]
fn carla_named_parameters_resolve() {
    let text = r#"Scenario(
    name: "carla", map: (ground_size_m: 100.0),
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (lidars: [(channels: 32, upper_fov: 10.0, lower_fov: -30.0, points_per_second: 560000.0,
                    rotation_frequency: 20.0, range: 80.0, noise_stddev: 0.01,
                    dropoff_general_rate: 0.1, pose: (xyz_m: (0.0, 0.0, 1.8)))]),
    run: (frames: 1),
)"#;
    let s = common::scenario_from_str("carla.ron", text);
    let l = &s.rig.lidars[0];
    assert_eq!(l.channels, 32);
    assert_eq!(
        l.elevations,
        Elevations::Uniform {
            upper_deg: 10.0,
            lower_deg: -30.0
        }
    );
    assert_eq!(l.rotation_hz, 20.0);
    assert_eq!(l.max_range_m, 80.0);
    assert_eq!(l.noise_stddev_m, 0.01);
    assert_eq!(l.dropoff_general_rate, 0.1);
    // 560 000 rays/s over 32 lasers at 20 Hz: 875 columns of 0.4114°.
    assert!((l.azimuth_resolution_deg - 360.0 * 32.0 * 20.0 / 560_000.0).abs() < 1e-5);
    assert_eq!(sensors::columns(l).0, 875);

    // A preset with an override keeps the rest of the preset.
    let p = common::scenario_from_str(
        "p.ron",
        &hall_scene("VelodyneHdl64e, rotation_frequency: 20.0"),
    );
    let l = &p.rig.lidars[0];
    assert_eq!(l.channels, 64);
    assert!((l.azimuth_resolution_deg - 0.3456).abs() < 1e-4);
    assert!(l.motion_distortion && l.noise_stddev_m > 0.0 && l.detection_range_m > 0.0);

    // The resolved scenario (as `verisim validate` prints it) reads back to the same lidar.
    let ron_text = ron::ser::to_string_pretty(&p, ron::ser::PrettyConfig::default()).unwrap();
    let back = common::scenario_from_str("back.ron", &ron_text);
    assert_eq!(back.rig.lidars[0].channels, 64);
    assert_eq!(back.rig.lidars[0].elevations, l.elevations);
    assert_eq!(
        back.rig.lidars[0].azimuth_resolution_deg,
        l.azimuth_resolution_deg
    );
}

#[test]
fn bad_lidar_input_names_the_place() {
    let cases = [
        ("preset: NoSuchLidar", "rig.lidars[0].preset"),
        (
            "preset: VelodyneVlp16, noise_stddev: -1.0",
            "rig.lidars[0].noise_stddev",
        ),
        ("channels: 4, azimuth_resolution_deg: 1.0", "rig.lidars[0]"),
        (
            "channels: 1, elevations: Table([0.0]), azimuth_resolution_deg: 1.0, compensated_points: true",
            "rig.lidars[0].compensated_points",
        ),
        (
            "channels: 2, elevations: Table([1.0, 2.0, 3.0]), azimuth_resolution_deg: 1.0",
            "rig.lidars[0].elevations",
        ),
    ];
    for (lidar, field) in cases {
        let text = format!(
            "Scenario(\n name: \"bad\", map: (ground_size_m: 10.0),\n ego: (spawn: Some((0.0, 0.0, 0.0))),\n rig: (lidars: [({lidar}, pose: (xyz_m: (0.0, 0.0, 1.8)))]),\n run: (frames: 1),\n)"
        );
        let err = scenario::parse(&Source {
            path: "bad.ron".into(),
            text,
        })
        .expect_err(lidar)
        .to_string();
        eprintln!("{err}");
        assert!(err.starts_with("bad.ron:4:"), "{err}");
        assert!(err.contains(field), "{err}");
    }
    let _ = MountPose::default();
}
