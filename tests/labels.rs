//! Labels against geometry: lidar points inside their actor's box, 2D boxes equal to the
//! instance masks, truncation from an independent wide render, occlusion of a hidden car.

mod common;

use std::collections::HashMap;

use glam::Vec3;
use verisim::Simulation;
use verisim::backend::{Backend, CameraFrame};
use verisim::cpu::CpuBackend;
use verisim::labels::boxes::label_camera;

#[test]
fn lidar_points_labeled_as_actors_lie_in_their_boxes() {
    // Geometry only: no range noise and no rolling shutter, so points sit where the rays hit.
    let scenario = verisim::scenario::apply_overrides(
        &common::load_scene("scenes/quickstart.ron"),
        &[
            "rig.lidars.0.noise_stddev_m=0".into(),
            "rig.lidars.0.motion_distortion=false".into(),
        ],
    )
    .unwrap();
    let mut sim = Simulation::new(scenario);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    sim.advance_to_frame(4);
    let inputs = sim.frame_inputs();
    let lidar = cpu.render(&inputs).unwrap().lidar.unwrap();
    let world_from_lidar = inputs.lidar.as_ref().unwrap().world_from_lidar;
    let objects: HashMap<u32, _> = inputs.objects.iter().map(|o| (o.instance_id, o)).collect();
    let (mut inside, mut total) = (0, 0);
    for p in lidar.points() {
        let inst = p.label >> 16;
        if inst == 0 {
            continue;
        }
        let o = objects[&inst];
        let local = o
            .world_from_object
            .inverse()
            .transform_point3(world_from_lidar.transform_point3(Vec3::new(p.x, p.y, p.z)));
        let m = 0.05;
        let ok = local.x.abs() <= o.size_m.x / 2.0 + m
            && local.y.abs() <= o.size_m.y / 2.0 + m
            && local.z >= -m
            && local.z <= o.size_m.z + m;
        inside += usize::from(ok);
        total += 1;
    }
    assert!(total > 500, "only {total} actor points");
    assert!(
        inside as f64 >= 0.99 * total as f64,
        "{inside} of {total} inside"
    );
}

fn mask_bbox(cam: &CameraFrame, inst: u32) -> Option<[u32; 4]> {
    let mut b: Option<[u32; 4]> = None;
    for (i, p) in cam.pixels.iter().enumerate() {
        if p.label >> 16 == inst {
            let (x, y) = (i as u32 % cam.width, i as u32 / cam.width);
            b = Some(match b {
                None => [x, y, x, y],
                Some([a, c, d, e]) => [a.min(x), c.min(y), d.max(x), e.max(y)],
            });
        }
    }
    b
}

#[test]
fn boxes_equal_instance_mask_bounds() {
    let scenario = common::load_scene("scenes/quickstart.ron");
    let mut sim = Simulation::new(scenario);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    sim.advance_to_frame(2);
    let inputs = sim.frame_inputs();
    let frames = cpu.render(&inputs).unwrap();
    let labels = label_camera(
        &sim.assets.pool,
        &inputs.cameras[0],
        &frames.cameras[0],
        &inputs.objects,
    );
    assert!(labels.iter().filter(|l| !l.dont_care).count() >= 5);
    for l in &labels {
        let b = mask_bbox(&frames.cameras[0], l.instance_id).expect("labeled objects are visible");
        for k in 0..4 {
            assert!(
                (l.bbox[k] - b[k] as f32).abs() <= 1.0,
                "instance {}: {:?} vs {:?}",
                l.instance_id,
                l.bbox,
                b
            );
        }
        assert!((0.0..=1.0).contains(&l.truncation));
    }
}

fn scene_with(actors: &str, width: u32, cx: f32) -> Simulation {
    let text = format!(
        r#"Scenario(
    name: "labels", map: (ground_size_m: 400.0),
    actors: [{actors}],
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (cameras: [(width: {width}, height: 200, intrinsics: Pinhole(fx: 300.0, fy: 300.0, cx: {cx}, cy: 100.0),
                     pose: (xyz_m: (0.0, 0.0, 1.6)))]),
    run: (frames: 1),
)"#
    );
    Simulation::new(common::scenario_from_str("labels.ron", &text))
}

#[test]
fn truncation_is_the_fraction_outside_the_image() {
    // A car near the right border of a 300 px image; an independent render with a 900 px image
    // around it (same intrinsics otherwise) shows the whole car.
    let car = "(kind: Car, spawn: Some((12.0, -4.5, 90.0)))";
    let mut narrow = scene_with(car, 300, 150.0);
    let mut wide = scene_with(car, 900, 450.0);
    let ni = narrow.frame_inputs();
    let wi = wide.frame_inputs();
    let nf = CpuBackend::new(&narrow.assets.pool).render(&ni).unwrap();
    let wf = CpuBackend::new(&wide.assets.pool).render(&wi).unwrap();
    let cam = &wf.cameras[0];
    let (mut all, mut in_narrow) = (0u32, 0u32);
    for (i, p) in cam.pixels.iter().enumerate() {
        if p.label >> 16 == 1 {
            all += 1;
            let x = i as u32 % cam.width;
            in_narrow += u32::from((300..600).contains(&x));
        }
    }
    let expected = 1.0 - in_narrow as f32 / all as f32;
    assert!(
        expected > 0.2 && expected < 0.8,
        "the test car should be cut by the border: {expected}"
    );
    let labels = label_camera(
        &narrow.assets.pool,
        &ni.cameras[0],
        &nf.cameras[0],
        &ni.objects,
    );
    let l = labels
        .iter()
        .find(|l| l.instance_id == 1)
        .expect("car labeled");
    assert!(
        (l.truncation - expected).abs() < 0.02,
        "truncation {} vs {expected}",
        l.truncation
    );
    assert_eq!(l.occlusion, 0);
}

#[test]
fn a_car_half_hidden_behind_another_is_occluded() {
    let actors =
        "(kind: Car, spawn: Some((14.0, 0.0, 0.0))), (kind: Car, spawn: Some((24.0, 1.2, 0.0)))";
    let mut sim = scene_with(actors, 400, 200.0);
    let inputs = sim.frame_inputs();
    let frames = CpuBackend::new(&sim.assets.pool).render(&inputs).unwrap();
    let labels = label_camera(
        &sim.assets.pool,
        &inputs.cameras[0],
        &frames.cameras[0],
        &inputs.objects,
    );
    let front = labels.iter().find(|l| l.instance_id == 1).unwrap();
    let back = labels.iter().find(|l| l.instance_id == 2).unwrap();
    assert_eq!(
        front.occlusion, 0,
        "front car visible fraction {}",
        front.visible_fraction
    );
    assert!(
        back.occlusion >= 1,
        "hidden car: visible fraction {}",
        back.visible_fraction
    );
    assert!(back.visible_fraction < 0.85 && back.visible_fraction > 0.0);
    assert!(front.truncation < 0.01 && back.truncation < 0.01);
}
