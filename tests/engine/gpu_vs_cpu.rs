//! The GPU backend against its CPU twin on the same FrameInputs: lidar one to one, camera
//! labels and colours within the stated tolerances.

use crate::common;

use verisim::Simulation;
use verisim::abi::NO_RETURN;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;

fn compare_scene(path: &str, frames: &[u32]) {
    compare(path, common::load_scene(path), frames);
}

/// The GPU and CPU renders of `scenario` (named `path` in messages) at `frames`.
pub fn compare(path: &str, scenario: verisim::Scenario, frames: &[u32]) {
    let mut sim = Simulation::try_new(scenario).unwrap_or_else(|e| panic!("{e}"));
    let mut gpu = common::gpu_backend(&sim.assets.pool);
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    for &f in frames {
        sim.advance_to_frame(f);
        let inputs = sim.frame_inputs();
        let g = gpu.render(&inputs).expect("gpu render");
        let c = cpu.render(&inputs).expect("cpu render");

        let (gl, cl) = (g.lidar.as_ref().unwrap(), c.lidar.as_ref().unwrap());
        assert_eq!(gl.hits.len(), cl.hits.len());
        let g_count = gl.points().count();
        let c_count = cl.points().count();
        assert_eq!(
            g_count, c_count,
            "{path} frame {f}: GPU and CPU return counts differ"
        );
        let mut close = 0usize;
        let mut same_label = 0usize;
        let mut both = 0usize;
        let mut same_intensity = 0usize;
        for (a, b) in gl.hits.iter().zip(&cl.hits) {
            if a.label == NO_RETURN || b.label == NO_RETURN {
                assert_eq!(
                    a.label, b.label,
                    "one backend returned where the other did not"
                );
                continue;
            }
            both += 1;
            let ra = (a.x * a.x + a.y * a.y + a.z * a.z).sqrt();
            let rb = (b.x * b.x + b.y * b.y + b.z * b.z).sqrt();
            if (ra - rb).abs() <= 1e-3 {
                close += 1;
            }
            if a.label == b.label {
                same_label += 1;
            }
            if (a.intensity - b.intensity).abs() < 1e-3 {
                same_intensity += 1;
            }
        }
        assert!(both > 1000, "too few returns to compare: {both}");
        let close_frac = close as f64 / both as f64;
        let label_frac = same_label as f64 / both as f64;
        eprintln!(
            "{path} frame {f}: {both} points, ranges within 1 mm {close_frac:.5}, labels equal {label_frac:.5}, intensities equal {:.5}",
            same_intensity as f64 / both as f64
        );
        assert!(
            close_frac >= 0.999,
            "ranges within 1 mm for only {close_frac}"
        );
        assert!(label_frac >= 0.999, "labels equal for only {label_frac}");
        // Rays that graze an edge may hit the neighbouring face on the other backend.
        let intensity_frac = same_intensity as f64 / both as f64;
        assert!(
            intensity_frac >= 0.999,
            "intensities within 1e-3 for only {intensity_frac}"
        );

        for (gc, cc) in g.cameras.iter().zip(&c.cameras) {
            let n = gc.pixels.len();
            let mut sem = 0usize;
            let mut inst = 0usize;
            let mut rgb_diff = 0u64;
            for (a, b) in gc.pixels.iter().zip(&cc.pixels) {
                sem += usize::from(a.label & 0xFFFF == b.label & 0xFFFF);
                inst += usize::from(a.label >> 16 == b.label >> 16);
                for k in 0..3 {
                    let (x, y) = ((a.rgba >> (8 * k)) & 0xFF, (b.rgba >> (8 * k)) & 0xFF);
                    rgb_diff += x.abs_diff(y) as u64;
                }
            }
            let (sem_frac, inst_frac) = (sem as f64 / n as f64, inst as f64 / n as f64);
            let mean_rgb = rgb_diff as f64 / (3 * n) as f64;
            eprintln!(
                "{path} frame {f} camera: semantic equal {sem_frac:.5}, instance equal {inst_frac:.5}, mean |ΔRGB| {mean_rgb:.4}/255"
            );
            assert!(sem_frac >= 0.995 && inst_frac >= 0.995);
            assert!(mean_rgb <= 2.0, "mean RGB difference {mean_rgb}/255");
        }
    }
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn smoke_scene_gpu_matches_cpu() {
    compare_scene("scenes/smoke.ron", &[0, 2]);
}

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn quickstart_gpu_matches_cpu() {
    compare_scene("scenes/quickstart.ron", &[5]);
}

/// Frames kept in flight come back in submission order, each equal to the same frame rendered
/// alone: per-frame readback buffers are neither mixed up nor overwritten when reused.
#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn pipelined_frames_come_back_in_order_and_equal_single_renders() {
    let scenario = common::load_scene("scenes/smoke.ron");
    let mut sim = Simulation::new(scenario);
    let mut gpu = common::gpu_backend(&sim.assets.pool);
    let inputs: Vec<_> = (1..=5)
        .map(|f| {
            sim.advance_to_frame(f);
            sim.frame_inputs()
        })
        .collect();
    let single: Vec<_> = inputs.iter().map(|i| gpu.render(i).unwrap()).collect();
    // Distinct frames, so a mix-up would show.
    assert!(single.windows(2).all(|w| w[0] != w[1]));
    // All five in flight, then collected; then submitting and collecting interleaved, which
    // reuses the readback sets.
    for i in &inputs {
        gpu.submit(i).unwrap();
    }
    let mut piped: Vec<_> = (0..inputs.len()).map(|_| gpu.collect().unwrap()).collect();
    assert!(gpu.collect().is_err(), "nothing is left in flight");
    gpu.submit(&inputs[0]).unwrap();
    for i in &inputs[1..] {
        gpu.submit(i).unwrap();
        piped.push(gpu.collect().unwrap());
    }
    piped.push(gpu.collect().unwrap());
    for (k, frame) in piped.iter().enumerate() {
        assert!(
            *frame == single[k % inputs.len()],
            "pipelined frame {k} differs from its single render"
        );
    }
}
