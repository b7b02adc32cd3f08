//! Lidar throughput: HDL-64E preset on the quickstart scene in clear air, heavy fog and heavy
//! rain, on the CPU backend and (when an adapter exists) the GPU backend. Throughput in rays.
//! Names: lidar/hdl64e/quickstart/{clear,fog50m,rain50mmh}/{cpu,gpu}. Quickstart's actors move:
//! `clear-frozen` renders the same frame with every actor held at its frame-time pose (no
//! motion within the sweep, TLAS not swept), the cost of actor motion by difference.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::scenario::{self, LidarPreset, LidarSpec};
use verisim::{FrameInputs, Simulation};

const WEATHERS: [(&str, &str); 3] = [
    ("clear", "()"),
    ("fog50m", "(fog_visibility_m: Some(50.0))"),
    ("rain50mmh", "(rain_mm_per_h: 50.0, wetness: 0.8)"),
];

fn inputs(weather: &str) -> (Simulation, FrameInputs) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/quickstart.ron");
    let (mut s, _) = scenario::load(&path).expect("quickstart loads");
    let pose = s.rig.lidars[0].pose;
    s.rig.lidars[0] = LidarSpec::from_preset(LidarPreset::VelodyneHdl64e, pose);
    s.rig.cameras.clear();
    s.weather = ron::from_str(weather).expect("weather");
    let mut sim = Simulation::new(s);
    sim.advance_to_frame(3);
    let inputs = sim.frame_inputs();
    (sim, inputs)
}

/// The same frame with every actor held at its frame-time pose.
fn frozen(sim: &Simulation, inputs: &FrameInputs) -> FrameInputs {
    use verisim::geometry::{Placement, build_tlas};
    let placements: Vec<Placement> = std::iter::once(Placement::fixed(
        sim.assets.static_mesh,
        glam::Affine3A::IDENTITY,
        0,
    ))
    .chain(
        inputs
            .objects
            .iter()
            .map(|o| Placement::fixed(o.mesh, o.world_from_object, o.instance_id)),
    )
    .collect();
    let mut f = inputs.clone();
    f.tlas = build_tlas(&sim.assets.pool, &placements);
    f
}

fn bench_lidar(c: &mut Criterion) {
    {
        let (sim, inputs) = inputs("()");
        let still = frozen(&sim, &inputs);
        let moving = inputs
            .objects
            .iter()
            .filter(|o| o.velocity_m_per_s.length() > 0.1)
            .count();
        eprintln!(
            "quickstart frame 3: {moving} of {} actors moving",
            inputs.objects.len()
        );
        let l = inputs.lidar.as_ref().expect("lidar");
        let rays = (l.params.channels * l.params.columns) as u64;
        let mut g = c.benchmark_group("lidar");
        g.throughput(Throughput::Elements(rays));
        let mut cpu = CpuBackend::new(&sim.assets.pool);
        g.bench_function("hdl64e/quickstart/clear-frozen/cpu", |b| {
            b.iter(|| cpu.render(&still).unwrap())
        });
        g.finish();
    }
    for (name, weather) in WEATHERS {
        let (sim, inputs) = inputs(weather);
        let l = inputs.lidar.as_ref().expect("lidar");
        let rays = (l.params.channels * l.params.columns) as u64;
        let mut g = c.benchmark_group("lidar");
        g.throughput(Throughput::Elements(rays));
        let mut cpu = CpuBackend::new(&sim.assets.pool);
        g.bench_function(format!("hdl64e/quickstart/{name}/cpu"), |b| {
            b.iter(|| cpu.render(&inputs).unwrap())
        });
        match verisim::backend::gpu::GpuBackend::new(&sim.assets.pool) {
            Ok(mut gpu) => {
                eprintln!("GPU bench on {}", gpu.describe());
                g.bench_function(format!("hdl64e/quickstart/{name}/gpu"), |b| {
                    b.iter(|| gpu.render(&inputs).unwrap())
                });
            }
            Err(e) => eprintln!("GPU bench skipped: {e}"),
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_lidar
}
criterion_main!(benches);
