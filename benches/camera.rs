//! Camera throughput: one 1242x375 labeled frame (render + 2D/3D labels) of a clear KITTI-like
//! street (`kitti_urban`) and of a rainy night city (`rain_night_city`), at 1 and 4 samples
//! per pixel, on the CPU backend and, when a hardware adapter exists, on the GPU backend (a
//! software adapter is skipped unless VERISIM_BENCH_SOFTWARE_GPU=1). Names:
//! camera/<backend>/<scene>/<spp>spp. End-to-end throughput with PNGs written is measured with
//! the release binary: `verisim render scenes/kitti_urban.ron --backend gpu --frames 500`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::labels::boxes::label_camera;
use verisim::scenario;
use verisim::{FrameInputs, Simulation};

fn scene(name: &str, spp: u32) -> (Simulation, FrameInputs) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenes/{name}.ron"));
    let (mut s, _) = scenario::load(&path).expect("scene loads");
    s.rig.lidars.clear();
    s.rig.cameras[0].samples_per_pixel = spp;
    let mut sim = Simulation::new(s);
    sim.advance_to_frame(3);
    let inputs = sim.frame_inputs();
    (sim, inputs)
}

fn labeled_frame(backend: &mut dyn Backend, sim: &Simulation, inputs: &FrameInputs) -> usize {
    let frames = backend.render(inputs).expect("render");
    let labels = label_camera(
        &sim.assets.pool,
        &inputs.cameras[0],
        inputs.lidar.as_ref(),
        &frames.cameras[0],
        &inputs.objects,
    );
    labels.len() + frames.cameras[0].pixels.len()
}

fn bench_camera(c: &mut Criterion) {
    let software_ok = std::env::var("VERISIM_BENCH_SOFTWARE_GPU").is_ok_and(|v| v == "1");
    for name in ["kitti_urban", "rain_night_city"] {
        for spp in [1u32, 4] {
            let (sim, inputs) = scene(name, spp);
            let mut g = c.benchmark_group("camera");
            g.sample_size(10);
            g.throughput(Throughput::Elements(1));
            let mut cpu = CpuBackend::new(&sim.assets.pool);
            g.bench_function(format!("cpu/{name}/{spp}spp"), |b| {
                b.iter(|| labeled_frame(&mut cpu, &sim, &inputs))
            });
            match verisim::backend::gpu::GpuBackend::new(&sim.assets.pool) {
                Ok(mut gpu) => {
                    let desc = gpu.describe();
                    if desc.contains("Cpu") && !software_ok {
                        eprintln!("camera bench: skipping software adapter ({desc})");
                    } else {
                        g.bench_function(format!("gpu/{name}/{spp}spp"), |b| {
                            b.iter(|| labeled_frame(&mut gpu, &sim, &inputs))
                        });
                    }
                }
                Err(e) => eprintln!("camera bench: no GPU ({e}); skipped"),
            }
            g.finish();
        }
    }
}

criterion_group!(benches, bench_camera);
criterion_main!(benches);
