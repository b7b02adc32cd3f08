//! Motion within a sweep and an exposure: moving actors are met where they are at each ray's
//! time (lidar columns fire over the sweep, camera samples spread over the shutter), the
//! compensated point cloud removes the ego's motion, and labels stay with the geometry.

use crate::common;

use glam::Vec3;
use verisim::Simulation;
use verisim::abi::NO_RETURN;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::frame::LidarFrame;
use verisim::geometry::bvh::Aabb;
use verisim::geometry::pool::swept_bounds;
use verisim::geometry::{MeshId, Placement};
use verisim::scenario::Source;
use verisim::scenario::materials;
use verisim::sensors::lidar::point_times_s;

const SPEED: f32 = 20.0;
const SWEEP_S: f32 = 0.1;
/// The moving target: a box of a car's length and width (flat faces, so the shear and blur
/// laws can be read off its edges).
const CAR_L: f32 = 4.5;
const CAR_W: f32 = 1.8;
/// The car's centre line, metres ahead of the static lidar.
const CAR_X: f32 = 8.0;

/// A static lidar at 0.8 m (the height of the car's body box); a car crossing 8 m ahead along
/// +y at `speed`, centred on the lidar's x axis at the frame time.
fn passing_car(speed: f32) -> String {
    format!(
        r#"Scenario(
    name: "passing", map: (ground_size_m: 0.0),
    actors: [(kind: Target, size_m: Some(({CAR_L}, {CAR_W}, 1.5)), spawn: Some(({CAR_X}, 0.0, 90.0)), route: [({CAR_X}, 1000.0)], speed_m_per_s: {speed})],
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (lidars: [(channels: 1, elevations: Table([0.0]), azimuth_resolution_deg: 0.02,
                    rotation_hz: 10.0, motion_distortion: true, max_range_m: 100.0,
                    pose: (xyz_m: (0.0, 0.0, 0.8)))]),
    run: (frames: 1),
)"#
    )
}

/// (world point, firing time) of the car's returns.
fn car_points(lidar: &LidarFrame, instance: u32) -> Vec<(Vec3, f32)> {
    let times = point_times_s(lidar, SWEEP_S);
    lidar
        .hits
        .iter()
        .filter(|h| h.label != NO_RETURN)
        .zip(times)
        .filter(|(h, _)| h.label >> 16 == instance)
        .map(|(h, t)| (Vec3::new(h.x, h.y, h.z + 0.8), t))
        .collect()
}

fn check_passing_car(backend: &mut dyn Backend, speed: f32) {
    let mut sim = Simulation::new(common::scenario_from_str(
        "passing.ron",
        &passing_car(speed),
    ));
    let inputs = sim.frame_inputs();
    let car = inputs.objects[0];
    assert!((car.velocity_m_per_s - Vec3::new(0.0, speed, 0.0)).length() < 1e-3);
    let lidar = backend.render(&inputs).unwrap().lidar.unwrap();
    let pts = car_points(&lidar, car.instance_id);
    assert!(pts.len() > 100, "{} car points", pts.len());
    let near_face = CAR_X - 0.5 * CAR_W;
    // Each return, moved back by v·t to the frame time, lies on the car's near face.
    let mut y_back = (f32::MAX, f32::MIN);
    for &(p, t) in &pts {
        let q = p - car.velocity_m_per_s * t;
        assert!((q.x - near_face).abs() < 0.02, "x {} at t {t}", q.x);
        assert!(q.y.abs() <= 0.5 * CAR_L + 0.02, "y {} at t {t}", q.y);
        y_back = (y_back.0.min(q.y), y_back.1.max(q.y));
        // Labels against geometry: inside the label box posed at the point's time.
        let local = car.world_from_object_at(t).inverse().transform_point3(p);
        assert!(local.x.abs() <= 0.5 * CAR_L + 0.02 && local.y.abs() <= 0.5 * CAR_W + 0.02);
    }
    assert!((y_back.1 - y_back.0 - CAR_L).abs() < 0.02, "{y_back:?}");
    // As scanned, the car is sheared: its ends are seen at different times, so the extent is
    // the length plus the distance driven between the first and the last column on it.
    let first = pts.iter().min_by(|a, b| a.0.y.total_cmp(&b.0.y)).unwrap();
    let last = pts.iter().max_by(|a, b| a.0.y.total_cmp(&b.0.y)).unwrap();
    let extent = last.0.y - first.0.y;
    let expected = CAR_L + speed * (last.1 - first.1);
    eprintln!(
        "speed {speed}: scanned extent {extent:.4} m over {:.5} s, length + v·Δt {expected:.4} m",
        last.1 - first.1
    );
    assert!((extent - expected).abs() < 0.02, "{extent} vs {expected}");
    if speed > 0.0 {
        assert!(
            extent - CAR_L > 0.15,
            "a car at {speed} m/s must look sheared"
        );
    }
}

/// The geometry of the passing-car scene (the same at any speed).
fn passing_pool() -> verisim::geometry::GeometryPool {
    let scenario = common::scenario_from_str("passing.ron", &passing_car(SPEED));
    Simulation::new(scenario).assets.pool.clone()
}

#[test]
fn a_car_passing_a_static_lidar_is_sheared_by_speed_times_column_time() {
    let mut cpu = CpuBackend::new(&passing_pool());
    check_passing_car(&mut cpu, SPEED);
    check_passing_car(&mut cpu, 0.0);
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn a_car_passing_a_static_lidar_is_sheared_on_the_gpu() {
    check_passing_car(common::gpu_backend(&passing_pool()).as_mut(), SPEED);
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn gpu_matches_cpu_on_moving_actors() {
    let mut sim = Simulation::new(common::scenario_from_str(
        "passing.ron",
        &passing_car(SPEED),
    ));
    let mut gpu = common::gpu_backend(&sim.assets.pool);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    let inputs = sim.frame_inputs();
    let (g, c) = (gpu.render(&inputs).unwrap(), cpu.render(&inputs).unwrap());
    let (gl, cl) = (g.lidar.unwrap(), c.lidar.unwrap());
    let mut car = 0;
    for (a, b) in gl.hits.iter().zip(&cl.hits) {
        assert_eq!(a.label, b.label);
        if a.label != NO_RETURN {
            car += 1;
            let (ra, rb) = (Vec3::new(a.x, a.y, a.z), Vec3::new(b.x, b.y, b.z));
            assert!((ra.length() - rb.length()).abs() < 1e-3, "{ra} vs {rb}");
        }
    }
    assert!(car > 100);
}

/// Renders `text` with the CPU backend into a fresh directory.
fn render_dataset(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("verisim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let source = Source {
        path: format!("{name}.ron").into(),
        text: text.to_owned(),
    };
    let scenario = verisim::scenario::parse(&source).unwrap();
    let opts = verisim::pipeline::render::RenderOptions::new(&dir, verisim::BackendKind::Cpu);
    verisim::pipeline::render::render(&scenario, &source, &opts, |_| {}).unwrap();
    dir
}

fn read_f32s(path: &std::path::Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn compensated_points_of_a_wall_are_unsheared_and_listed_in_the_manifest() {
    // Walls across the road 20 m ahead and behind; the ego drives along +x at 20 m/s.
    let text = format!(
        r#"Scenario(
    name: "comp", map: (ground_size_m: 0.0, boxes: [
        (center: (20.25, 0.0), size_m: (0.5, 60.0, 10.0), class: Wall),
        (center: (-20.25, 0.0), size_m: (0.5, 60.0, 10.0), class: Wall)]),
    ego: (route: [(0.0, 0.0), (1000.0, 0.0)], speed_m_per_s: {SPEED}),
    rig: (lidars: [(channels: 1, elevations: Table([0.0]), azimuth_resolution_deg: 0.2,
                    rotation_hz: 10.0, motion_distortion: true, compensated_points: true,
                    max_range_m: 100.0, pose: (xyz_m: (0.0, 0.0, 1.5)))]),
    run: (frames: 1),
)"#
    );
    let dir = render_dataset("compensated", &text);
    let raw = read_f32s(&dir.join("training/velodyne/000000.bin"));
    let comp = read_f32s(&dir.join("training/velodyne_compensated/000000.bin"));
    let times = read_f32s(&dir.join("training/velodyne_times/000000.times"));
    assert_eq!(raw.len(), comp.len());
    assert_eq!(raw.len() / 4, times.len());
    let spread = |pts: &[f32], sign: f32| {
        pts.chunks_exact(4)
            .map(|p| p[0])
            .filter(|x| x * sign > 0.0)
            .fold((f32::MAX, f32::MIN), |a, x| (a.0.min(x), a.1.max(x)))
    };
    for sign in [1.0f32, -1.0] {
        let (lo, hi) = spread(&raw, sign);
        let (clo, chi) = spread(&comp, sign);
        eprintln!("wall {sign}: raw x in [{lo:.3}, {hi:.3}], compensated [{clo:.4}, {chi:.4}]");
        // Raw: seen over (most of) a sweep at 20 m/s, the wall spreads over metres.
        assert!(hi - lo > 0.25 * SPEED * SWEEP_S, "raw spread {}", hi - lo);
        assert!(chi - clo < 0.02, "compensated spread {}", chi - clo);
        assert!((clo.abs() - 20.0).abs() < 0.02 && (chi.abs() - 20.0).abs() < 0.02);
    }
    // Each compensated point is its raw point moved by the ego's travel v·t (t from .times).
    for (k, (r, c)) in raw.chunks_exact(4).zip(comp.chunks_exact(4)).enumerate() {
        assert!((c[0] - (r[0] + SPEED * times[k])).abs() < 0.01);
        assert!((c[1] - r[1]).abs() < 1e-4 && (c[2] - r[2]).abs() < 1e-4);
        assert_eq!(r[3], c[3], "intensity kept");
    }
    let report = verisim::export::verify::verify(&dir).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("training/velodyne_compensated/000000.bin"));
    // A missing compensated file is found by verify.
    std::fs::remove_file(dir.join("training/velodyne_compensated/000000.bin")).unwrap();
    let report = verisim::export::verify::verify(&dir).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path.contains("velodyne_compensated")),
        "{:?}",
        report.problems
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A static camera at 0.8 m looking along +y (400 px focal length), a car whose near side is
/// `Z` m away crossing along +x at `speed`; a `shutter_s` exposure with 64 samples per pixel.
fn crossing_car(speed: f32, blur: bool) -> String {
    format!(
        r#"Scenario(
    name: "blur", map: (ground_size_m: 0.0),
    actors: [(kind: Target, size_m: Some(({L}, {W}, 1.5)), material: Some("paint_black"), spawn: Some((0.0, {y}, 0.0)),
              route: [(1000.0, {y})], speed_m_per_s: {speed})],
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (cameras: [(width: 320, height: 40, intrinsics: Pinhole(fx: {F}, fy: {F}, cx: 160.0, cy: 20.0),
                     pose: (xyz_m: (0.0, 0.0, 0.8), rpy_deg: (0.0, 0.0, 90.0)),
                     samples_per_pixel: 64, shutter_s: {T}, motion_blur: {blur},
                     exposure_mode: Manual(ev100: 12.0), sensor: (electrons_at_unit: 0.0))]),
    run: (frames: 1),
)"#,
        y = Z + 0.5 * CAR_W,
        L = CAR_L,
        W = CAR_W,
        F = FOCAL_PX,
        T = SHUTTER_S,
    )
}

const Z: f32 = 10.0;
const FOCAL_PX: f32 = 400.0;
const SHUTTER_S: f32 = 0.02;

/// Width of a blurred edge: twice the distance between its 25% and 75% crossings (a linear
/// ramp of width b rises from 25% to 75% over b/2).
fn ramp_width(f: &[f32], rising: bool) -> f32 {
    let cross = |level: f32| -> f32 {
        let idx: Vec<usize> = if rising {
            (0..f.len() - 1).collect()
        } else {
            (0..f.len() - 1).rev().collect()
        };
        for i in idx {
            let (a, b) = if rising {
                (f[i], f[i + 1])
            } else {
                (f[i + 1], f[i])
            };
            if a < level && b >= level {
                let x = (level - a) / (b - a);
                return if rising {
                    i as f32 + x
                } else {
                    i as f32 + 1.0 - x
                };
            }
        }
        panic!("no crossing of {level}");
    };
    (cross(0.75) - cross(0.25)).abs() * 2.0
}

/// Car coverage per column (0 sky, 1 car) from the radiance of the middle rows, and the
/// columns where the centre-ray labels show the car.
fn coverage(speed: f32, blur: bool) -> (Vec<f32>, Vec<usize>) {
    let mut sim = Simulation::new(common::scenario_from_str(
        "blur.ron",
        &crossing_car(speed, blur),
    ));
    let inputs = sim.frame_inputs();
    let cam = &inputs.cameras[0];
    let mats = materials::gpu_table();
    let scene = verisim::backend::cpu::bvh::SceneView {
        blas_nodes: &sim.assets.pool.nodes,
        triangles: &sim.assets.pool.triangles,
        instances: &inputs.tlas.instances,
        tlas_nodes: &inputs.tlas.nodes,
        materials: &mats,
        tlas_root: 0,
    };
    let rad = verisim::backend::cpu::camera::radiance_image(&scene, &cam.params, &cam.lights);
    let w = cam.params.width as usize;
    let lum = |v: Vec3| 0.2126 * v.x + 0.7152 * v.y + 0.0722 * v.z;
    let rows = 16..24;
    let col: Vec<f32> = (0..w)
        .map(|x| rows.clone().map(|y| lum(rad[y * w + x])).sum::<f32>() / rows.len() as f32)
        .collect();
    let (sky, car) = (0.5 * (col[0] + col[w - 1]), col[w / 2]);
    let f = col.iter().map(|l| (l - sky) / (car - sky)).collect();
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    let frame = cpu.render(&inputs).unwrap();
    let labels: Vec<usize> = (0..w)
        .filter(|&x| frame.cameras[0].pixels[20 * w + x].label >> 16 == 1)
        .collect();
    (f, labels)
}

#[test]
fn camera_blur_of_a_crossing_car_spans_v_t_f_over_z_pixels() {
    let expected = SPEED * SHUTTER_S * FOCAL_PX / Z; // 16 px
    for (speed, blur, want) in [
        (SPEED, true, expected),
        (SPEED, false, 0.0),
        (0.0, true, 0.0),
    ] {
        let (f, labels) = coverage(speed, blur);
        let w = f.len();
        let (left, right) = (
            ramp_width(&f[..w / 2], true),
            ramp_width(&f[w / 2..], false),
        );
        eprintln!(
            "speed {speed} blur {blur}: edge ramps {left:.2} px and {right:.2} px, v·t·f/Z {want:.2}"
        );
        if want > 0.0 {
            assert!((left - want).abs() <= 1.0, "left edge {left} vs {want}");
            assert!((right - want).abs() <= 1.0, "right edge {right} vs {want}");
        } else {
            // A sharp edge spreads over the pixel footprint only (1–2 px by this measure).
            assert!(left <= 2.0 && right <= 2.0, "sharp edges {left}, {right}");
        }
        // Labels come from the centre ray at the exposure's mid time: the car as posed at the
        // frame time, L·f/Z wide and centred, whatever the blur.
        let span = (labels.last().unwrap() - labels[0] + 1) as f32;
        let centre = 0.5 * (labels[0] + labels.last().unwrap() + 1) as f32;
        assert!(
            (span - CAR_L * FOCAL_PX / Z).abs() <= 1.0,
            "label span {span}"
        );
        assert!((centre - 160.0).abs() <= 1.0, "label centre {centre}");
    }
}

/// World box of `b` under `m`.
fn world_box(b: &Aabb, m: &glam::Affine3A) -> Aabb {
    let mut out = Aabb::EMPTY;
    for k in 0..8 {
        let c = Vec3::new(
            if k & 1 == 0 { b.min.x } else { b.max.x },
            if k & 2 == 0 { b.min.y } else { b.max.y },
            if k & 4 == 0 { b.min.z } else { b.max.z },
        );
        out.grow_point(m.transform_point3(c));
    }
    out
}

/// The box moved to any time of the window lies inside the swept bounds, which stay tight
/// (within 5 cm of the farthest the box reaches); a still placement keeps its frame-time box.
#[test]
fn swept_bounds_hold_an_instance_over_its_motion() {
    let b = Aabb {
        min: Vec3::new(-2.25, -0.9, 0.0),
        max: Vec3::new(2.25, 0.9, 1.5),
    };
    let window = [-0.05, 0.05];
    for (v, w) in [
        (Vec3::new(20.0, 0.0, 0.0), 0.0),
        (Vec3::new(-3.0, 14.0, 0.0), 0.0),
        (Vec3::new(8.0, 3.0, 0.0), 1.5),
        (Vec3::ZERO, -4.0),
    ] {
        let p = Placement {
            mesh: MeshId(0),
            world_from_object: glam::Affine3A::from_rotation_translation(
                glam::Quat::from_rotation_z(0.7),
                Vec3::new(30.0, -12.0, 0.0),
            ),
            instance_id: 1,
            velocity_m_per_s: v,
            yaw_rate_rad_per_s: w,
        };
        let bound = swept_bounds(&b, &p, window);
        let mut reached = Aabb::EMPTY;
        for k in 0..=200 {
            let t = window[0] + (window[1] - window[0]) * k as f32 / 200.0;
            let e = world_box(&b, &p.world_from_object_at(t));
            for c in [e.min, e.max] {
                assert!(
                    c.cmpge(bound.min - 1e-4).all() && c.cmple(bound.max + 1e-4).all(),
                    "v {v} w {w} t {t}: {c} outside {bound:?}"
                );
            }
            reached.grow(&e);
        }
        let slack = (bound.max - reached.max).max(reached.min - bound.min);
        assert!(slack.max_element() < 0.05, "v {v} w {w}: slack {slack}");
    }
    let still = Placement::fixed(
        MeshId(0),
        glam::Affine3A::from_translation(Vec3::X * 5.0),
        0,
    );
    let s = swept_bounds(&b, &still, window);
    assert_eq!(
        (s.min, s.max),
        (Vec3::new(2.75, -0.9, 0.0), Vec3::new(7.25, 0.9, 1.5))
    );
}
