//! The CPU lidar traces four neighbouring columns of a beam together (`cpu::packet`). Each
//! ray must get exactly the hit the one-ray traversal (`cpu::bvh::trace_at`, the shader's twin)
//! gives it, bit for bit, and the packed sweep must equal casting every slot on its own. The
//! camera's packed centre rays must likewise give each pixel what tracing it alone gives.

use crate::common;

use glam::Vec3;
use verisim::abi::LidarParams;
use verisim::backend::cpu::CpuBackend;
use verisim::backend::cpu::bvh::{Hit, instance_ray, intersect_triangle, trace_at};
use verisim::backend::cpu::camera::{Ctx, camera_image, pixel_radiance};
use verisim::backend::cpu::lidar::{hard_only, lidar_ray, lidar_ray_at, lidar_sweep_with_field};
use verisim::backend::cpu::packet::{LANES, PacketStacks, trace_packet};
use verisim::backend::cpu::particle_grid::GridView;
use verisim::rng::rand;
use verisim::scenario::{LidarPreset, LidarSpec, ReturnMode};
use verisim::{FrameInputs, Simulation};

/// `scene` at `frame` with an HDL-64E (`weather` and return mode set), no cameras.
fn lidar_frame(
    scene: &str,
    frame: u32,
    weather: &str,
    mode: ReturnMode,
) -> (Simulation, FrameInputs) {
    let mut s = common::load_scene(scene);
    let pose = s.rig.lidars[0].pose;
    s.rig.lidars[0] = LidarSpec::from_preset(LidarPreset::VelodyneHdl64e, pose);
    s.rig.lidars[0].return_mode = mode;
    s.rig.cameras.clear();
    s.weather = ron::from_str(weather).expect("weather");
    let mut sim = Simulation::new(s);
    sim.advance_to_frame(frame);
    let inputs = sim.frame_inputs();
    (sim, inputs)
}

fn same(a: &Hit, b: &Hit) -> bool {
    a.t.to_bits() == b.t.to_bits()
        && a.u.to_bits() == b.u.to_bits()
        && a.v.to_bits() == b.v.to_bits()
        && a.tri == b.tri
        && a.inst == b.inst
        && a.time_s.to_bits() == b.time_s.to_bits()
}

/// Every ray of the sweep, in packets of four neighbouring columns of a beam (the moving
/// actors met at each column's time), gets the one-ray hit.
#[test]
fn packets_of_a_beams_columns_hit_what_single_rays_hit() {
    let (sim, inputs) = lidar_frame("scenes/quickstart.ron", 3, "()", ReturnMode::Strongest);
    let cpu = CpuBackend::new(&sim.assets.pool);
    let scene = cpu.view(&inputs);
    let l = inputs.lidar.as_ref().unwrap();
    let lp = &l.params;
    let mut stacks = PacketStacks::default();
    let (mut hits, mut rays) = (0usize, 0usize);
    for beam in 0..lp.channels {
        for c0 in (0..lp.columns).step_by(LANES) {
            let ray: [_; LANES] = std::array::from_fn(|k| {
                let col = (c0 + k as u32).min(lp.columns - 1);
                lidar_ray_at(lp, &l.beams, &l.columns, col * lp.channels + beam)
            });
            let got = trace_packet(
                &scene,
                &ray.map(|r| r.o),
                &ray.map(|r| r.d),
                &ray.map(|r| r.time_s),
                lp.max_range_m,
                0b1111,
                &mut stacks,
            );
            for (r, g) in ray.iter().zip(&got) {
                let want = trace_at(&scene, r.o, r.d, lp.max_range_m, false, r.time_s);
                assert!(
                    same(g, &want),
                    "beam {beam} column {c0}+: {g:?} vs {want:?}"
                );
                hits += usize::from(want.is_hit());
                rays += 1;
            }
        }
    }
    // The comparison means something only if most rays hit (ground, buildings, actors).
    assert!(hits * 10 > rays * 6, "{hits} of {rays} rays hit");
}

/// Rays that share nothing (origins and directions drawn at random across the scene, some
/// inside actors) still get their own hits, and lanes left out of `live` come back as misses
/// at the range limit. Where two triangles lie at the same distance (to rounding), either is
/// right.
#[test]
fn incoherent_packets_and_partial_packets_are_exact() {
    let (sim, inputs) = lidar_frame("scenes/kitti_urban.ron", 2, "()", ReturnMode::Strongest);
    let cpu = CpuBackend::new(&sim.assets.pool);
    let scene = cpu.view(&inputs);
    let mut stacks = PacketStacks::default();
    let draw = |i: u32, k: u32| rand(7, 0x7061_636b, i, k);
    let (mut hits, mut ties) = (0, 0);
    for p in 0..2_000u32 {
        let o: [Vec3; LANES] = std::array::from_fn(|k| {
            let i = p * 4 + k as u32;
            Vec3::new(
                -40.0 + 80.0 * draw(i, 0),
                -40.0 + 80.0 * draw(i, 1),
                0.3 + 3.0 * draw(i, 2),
            )
        });
        let d: [Vec3; LANES] = std::array::from_fn(|k| {
            let i = p * 4 + k as u32;
            let az = std::f32::consts::TAU * draw(i, 3);
            let el = -0.6 + 0.8 * draw(i, 4);
            Vec3::new(el.cos() * az.cos(), el.cos() * az.sin(), el.sin())
        });
        let time_s: [f32; LANES] = std::array::from_fn(|k| -0.05 + 0.1 * draw(p * 4 + k as u32, 5));
        let live = if p % 3 == 0 { 0b1010 } else { 0b1111 };
        let got = trace_packet(&scene, &o, &d, &time_s, 120.0, live, &mut stacks);
        for k in 0..LANES {
            if live >> k & 1 == 0 {
                assert!(
                    !got[k].is_hit() && got[k].t == 120.0,
                    "dead lane {k}: {:?}",
                    got[k]
                );
                continue;
            }
            let want = trace_at(&scene, o[k], d[k], 120.0, false, time_s[k]);
            hits += usize::from(want.is_hit());
            if same(&got[k], &want) {
                continue;
            }
            // Two triangles at the same distance, to rounding (coplanar or touching faces in
            // a mesh): the visit order picks one (a box entered at the distance of a hit
            // already found is not opened), and the packet's order differs. Its hit must then
            // be a true hit of that ray at that distance.
            let g = &got[k];
            assert!(
                g.is_hit() && want.is_hit() && (g.t - want.t).abs() <= 1.0e-5 * want.t,
                "packet {p} lane {k}: {g:?} vs {want:?}"
            );
            let inst = &scene.instances[g.inst as usize];
            let (oo, od) = instance_ray(inst, o[k], d[k], time_s[k]);
            let (t, _, _) = intersect_triangle(oo, od, &scene.triangles[g.tri as usize]);
            assert_eq!(
                t.to_bits(),
                g.t.to_bits(),
                "packet {p} lane {k}: {g:?} vs {want:?}"
            );
            ties += 1;
        }
    }
    assert!(hits > 2_000, "only {hits} hits");
    assert!(ties * 200 < hits, "{ties} ties in {hits} hits");
}

/// The packed sweep (tasks of columns, packets across them) writes every slot exactly as
/// casting that slot alone does: fog returns, dual returns and the last partial packet
/// included (HDL-64E's 2,083 columns are not a multiple of four). Where only hard returns can
/// exist (`hard_only`) the sweep shades four rays at a time: clear air, a wet road, snow
/// cover on the ground, drop-out, no range noise, an ideal lidar, dual returns and actors
/// turning at an intersection (their normals turned at each ray's time) each take that path
/// and must give the one-ray bits too.
#[test]
fn packed_sweep_equals_casting_each_slot() {
    struct Case {
        scene: (&'static str, u32),
        weather: &'static str,
        mode: ReturnMode,
        tweak: fn(&mut LidarParams),
        /// Whether the sweep shades the case four rays at a time.
        hard_only: bool,
    }
    let case = |weather, mode, hard_only| Case {
        scene: ("scenes/quickstart.ron", 2),
        weather,
        mode,
        tweak: |_| {},
        hard_only,
    };
    let cases = [
        case("()", ReturnMode::Strongest, true),
        Case {
            scene: ("scenes/traffic_city.ron", 80),
            ..case("()", ReturnMode::Strongest, true)
        },
        case("(wetness: 0.8)", ReturnMode::Last, true),
        Case {
            tweak: |lp| {
                lp.snow_cover = 0.5;
                lp.wetness = 0.3;
                lp.dropoff_general_rate = 0.02;
                lp.dropoff_intensity_limit = 0.2;
                lp.dropoff_zero_intensity = 0.6;
            },
            ..case("()", ReturnMode::Strongest, true)
        },
        Case {
            tweak: |lp| {
                lp.min_power_per_m2 = 0.0;
                lp.noise_stddev_m = 0.0;
            },
            ..case("()", ReturnMode::Dual, true)
        },
        case("(fog_visibility_m: Some(60.0))", ReturnMode::Dual, false),
        case(
            "(rain_mm_per_h: 10.0, wetness: 0.6)",
            ReturnMode::Last,
            false,
        ),
        Case {
            tweak: |lp| lp.min_power_per_m2 = 0.0,
            ..case(
                "(fog_visibility_m: Some(60.0))",
                ReturnMode::Strongest,
                false,
            )
        },
    ];
    let mut turning = 0;
    for Case {
        scene: (file, frame),
        weather,
        mode,
        tweak,
        hard_only: fast,
    } in cases
    {
        let (sim, inputs) = lidar_frame(file, frame, weather, mode);
        let cpu = CpuBackend::new(&sim.assets.pool);
        let scene = cpu.view(&inputs);
        let precip = verisim::physics::precip_field::ParticleField::default()
            .frame_inputs(&inputs.precip)
            .unwrap();
        let field = GridView::new(&precip);
        let l = inputs.lidar.as_ref().unwrap();
        let mut lp = l.params;
        tweak(&mut lp);
        let lp = &lp;
        assert_eq!(hard_only(lp, &field), fast, "{weather} {mode:?}");
        assert_ne!(lp.columns as usize % LANES, 0);
        let swept = lidar_sweep_with_field(&scene, &field, lp, &l.beams, &l.columns);
        let rays = (lp.channels * lp.columns) as usize;
        let dual = matches!(mode, ReturnMode::Dual);
        assert_eq!(swept.len(), if dual { 2 * rays } else { rays });
        let mut points = 0;
        for slot in 0..rays {
            let [a, b] = lidar_ray(&scene, &field, lp, &l.beams, &l.columns, slot as u32);
            assert_eq!(swept[slot], a, "{file} {weather} {mode:?}: slot {slot}");
            if dual {
                assert_eq!(
                    swept[rays + slot],
                    b,
                    "{weather} {mode:?}: second return of slot {slot}"
                );
            }
            points += usize::from(a.intensity > 0.0);
            let ray = lidar_ray_at(lp, &l.beams, &l.columns, slot as u32);
            let h = trace_at(&scene, ray.o, ray.d, lp.max_range_m, false, ray.time_s);
            turning += usize::from(
                h.is_hit() && scene.instances[h.inst as usize].yaw_rate_rad_per_s != 0.0,
            );
        }
        assert!(
            points * 2 > rays,
            "{file} {weather} {mode:?}: {points} points of {rays} rays"
        );
    }
    assert!(turning > 50, "{turning} rays hit a turning actor");
}

/// The CPU camera traces its centre rays four neighbouring pixels at a time: every pixel's
/// label and depth (its centre ray's hit: class, instance and distance, bit for bit) equal
/// those of tracing that pixel alone, on quickstart at full KITTI size with moving actors, at
/// 1 and 4 spp.
#[test]
fn packed_camera_equals_tracing_each_pixel() {
    for spp in [1u32, 4] {
        let mut s = common::load_scene("scenes/quickstart.ron");
        s.rig.lidars.clear();
        s.rig.cameras.truncate(1);
        s.rig.cameras[0].samples_per_pixel = spp;
        let mut sim = Simulation::new(s);
        sim.advance_to_frame(3);
        let inputs = sim.frame_inputs();
        let cpu = CpuBackend::new(&sim.assets.pool);
        let scene = cpu.view(&inputs);
        let cameras = verisim::backend::exposure::prepare_cameras(&sim.assets.pool, &inputs);
        let cam = &cameras[0];
        let cp = &cam.params;
        let packed = camera_image(&scene, cp, &cam.lights);
        let field = GridView::empty();
        let mut no_grid = *cp;
        no_grid.light_grid_cells = 0;
        let c = Ctx {
            scene: &scene,
            cp: &no_grid,
            lights: &cam.lights,
            light_grid: &[],
            field: &field,
        };
        let mut objects = 0;
        for y in 0..cp.height {
            for x in 0..cp.width {
                let (want, _) = pixel_radiance(&c, x, y);
                let got = packed[(y * cp.width + x) as usize];
                assert_eq!(
                    (got.label, got.depth_m.to_bits()),
                    (want.label, want.depth_m.to_bits()),
                    "{spp} spp: pixel {x},{y}"
                );
                objects += usize::from(want.label >> 16 != 0);
            }
        }
        assert!(objects > 1_000, "{objects} pixels of actors");
    }
}
