//! The shipped weather scenes: GPU against the CPU twin (labels on ≥ 99.5% of pixels, mean
//! |ΔRGB| ≤ 2/255 with the same counter-based random numbers), and golden images at 160x48
//! (regenerate on purpose with UPDATE_GOLDEN=1).

use crate::common;

use std::path::PathBuf;

use verisim::Simulation;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::frame::CameraFrame;
use verisim::scenario::Scenario;

const SCENES: [&str; 4] = [
    "kitti_urban",
    "fog_highway",
    "rain_night_city",
    "snow_intersection",
];

/// The scene with its first camera resized (KittiP2 intrinsics scale with the image), the
/// lidar removed and `spp` samples per pixel.
fn small(name: &str, width: u32, height: u32, spp: u32) -> Scenario {
    let mut s = common::load_scene(&format!("scenes/{name}.ron"));
    s.rig.lidars.clear();
    s.rig.cameras.truncate(1);
    let c = &mut s.rig.cameras[0];
    c.width = width;
    c.height = height;
    c.samples_per_pixel = spp;
    s
}

fn compare(name: &str, a: &CameraFrame, b: &CameraFrame, rgb_tol: f64, label_frac: f64) {
    let n = a.pixels.len();
    let (mut sem, mut inst, mut diff) = (0usize, 0usize, 0u64);
    for (p, q) in a.pixels.iter().zip(&b.pixels) {
        sem += usize::from(p.label & 0xFFFF == q.label & 0xFFFF);
        inst += usize::from(p.label >> 16 == q.label >> 16);
        for k in 0..3 {
            let (x, y) = ((p.rgba >> (8 * k)) & 0xFF, (q.rgba >> (8 * k)) & 0xFF);
            diff += x.abs_diff(y) as u64;
        }
    }
    let (sem, inst) = (sem as f64 / n as f64, inst as f64 / n as f64);
    let mean = diff as f64 / (3 * n) as f64;
    eprintln!(
        "{name}: semantic equal {sem:.5}, instance equal {inst:.5}, mean |ΔRGB| {mean:.3}/255"
    );
    assert!(
        sem >= label_frac && inst >= label_frac,
        "{name}: labels differ"
    );
    assert!(
        mean <= rgb_tol,
        "{name}: mean |ΔRGB| {mean}/255 > {rgb_tol}"
    );
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn weather_scenes_gpu_matches_cpu() {
    for (name, spp) in [
        ("kitti_urban", 1),
        ("fog_highway", 1),
        ("rain_night_city", 4),
        ("snow_intersection", 1),
    ] {
        let mut sim = Simulation::new(small(name, 310, 94, spp));
        let mut gpu = common::gpu_backend(&sim.assets.pool);
        let mut cpu = CpuBackend::new(&sim.assets.pool);
        sim.advance_to_frame(3);
        let inputs = sim.frame_inputs();
        let g = gpu.render(&inputs).unwrap().cameras.remove(0);
        let c = cpu.render(&inputs).unwrap().cameras.remove(0);
        compare(&format!("{name} ({spp} spp)"), &g, &c, 2.0, 0.995);
    }
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn rgb_of(frame: &CameraFrame) -> Vec<u8> {
    frame
        .pixels
        .iter()
        .flat_map(|p| p.rgba.to_le_bytes()[..3].to_vec())
        .collect()
}

/// Semantic class ids, one byte per pixel.
fn labels_of(frame: &CameraFrame) -> Vec<u8> {
    frame
        .pixels
        .iter()
        .map(|p| (p.label & 0xFF) as u8)
        .collect()
}

#[test]
fn golden_images_of_the_shipped_scenes() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let (w, h) = (160u32, 48u32);
    for name in SCENES {
        let mut sim = Simulation::new(small(name, w, h, 1));
        let mut cpu = CpuBackend::new(&sim.assets.pool);
        sim.advance_to_frame(2);
        let inputs = sim.frame_inputs();
        let frame = cpu.render(&inputs).unwrap().cameras.remove(0);
        let (rgb, labels) = (rgb_of(&frame), labels_of(&frame));
        let rgb_path = golden_dir().join(format!("{name}.png"));
        let label_path = golden_dir().join(format!("{name}_labels.png"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            image::save_buffer(&rgb_path, &rgb, w, h, image::ExtendedColorType::Rgb8).unwrap();
            image::save_buffer(&label_path, &labels, w, h, image::ExtendedColorType::L8).unwrap();
            eprintln!("updated {}", rgb_path.display());
            continue;
        }
        let want_rgb = image::open(&rgb_path)
            .unwrap_or_else(|e| panic!("{}: {e} (create with UPDATE_GOLDEN=1)", rgb_path.display()))
            .to_rgb8()
            .into_raw();
        let want_labels = image::open(&label_path)
            .unwrap_or_else(|e| panic!("{}: {e}", label_path.display()))
            .to_luma8()
            .into_raw();
        assert_eq!(
            want_labels, labels,
            "{name}: labels differ from the golden image"
        );
        let diff: u64 = want_rgb
            .iter()
            .zip(&rgb)
            .map(|(a, b)| a.abs_diff(*b) as u64)
            .sum();
        let mean = diff as f64 / rgb.len() as f64;
        eprintln!("{name}: mean |ΔRGB| against golden {mean:.3}/255");
        assert!(
            mean <= 1.0,
            "{name}: mean |ΔRGB| {mean}/255 against the golden image"
        );
    }
}

/// The GPU renders the golden scenes' images within the twin tolerances of the CPU's.
#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn golden_scenes_render_alike_on_the_gpu() {
    for name in SCENES {
        let mut sim = Simulation::new(small(name, 160, 48, 1));
        let mut cpu = CpuBackend::new(&sim.assets.pool);
        let mut gpu = common::gpu_backend(&sim.assets.pool);
        sim.advance_to_frame(2);
        let inputs = sim.frame_inputs();
        let frame = cpu.render(&inputs).unwrap().cameras.remove(0);
        let g = gpu.render(&inputs).unwrap().cameras.remove(0);
        compare(&format!("{name} golden (GPU)"), &g, &frame, 2.0, 0.995);
    }
}

/// The lamp grid only skips lamps whose light cannot reach LAMP_CUTOFF: the night scene
/// renders to the same bytes with the grid as with every lamp tried at every point, while
/// the grid's cells list far fewer lamps than the frame has.
#[test]
fn lamp_grid_renders_the_same_image_as_trying_every_lamp() {
    let mut sim = Simulation::new(small("rain_night_city", 160, 48, 1));
    let cpu = CpuBackend::new(&sim.assets.pool);
    sim.advance_to_frame(2);
    let inputs = sim.frame_inputs();
    // The backend's exposure stage sets the exposure and builds the grid for it.
    let cameras = verisim::backend::exposure::prepare_cameras(&sim.assets.pool, &inputs);
    let cam = &cameras[0];
    let cells = cam.params.light_grid_cells as usize;
    assert!(cells > 0, "no lamp grid at night");
    let lamps = cam.lights.len();
    let header = verisim::sensors::camera_model::LIGHT_GRID_HEADER;
    let listed = cam.light_grid[header + cells] as usize - (header + cells + 1);
    let per_cell = listed as f64 / cells as f64;
    eprintln!("{lamps} lamps, {cells} cells, {per_cell:.2} lamps per cell");
    assert!(lamps >= 10, "only {lamps} lamps");
    assert!(
        per_cell < 0.5 * lamps as f64,
        "the grid culls little: {per_cell} of {lamps} lamps per cell"
    );
    let view = cpu.view(&inputs);
    let with_grid = verisim::backend::cpu::camera::camera_image_full(
        &view,
        &verisim::backend::cpu::particle_grid::GridView::empty(),
        &cam.params,
        &cam.lights,
        &cam.light_grid,
    );
    let every_lamp = verisim::backend::cpu::camera::camera_image(&view, &cam.params, &cam.lights);
    let same = with_grid
        .iter()
        .zip(&every_lamp)
        .filter(|(a, b)| a == b)
        .count();
    assert_eq!(same, with_grid.len(), "pixels differ with the lamp grid");
}
