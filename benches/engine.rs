//! Engine throughput: BVH build, lidar sweep and camera frame on the quickstart scene, on the
//! CPU backend and (when an adapter exists) on the GPU backend.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verisim::backend::Backend;
use verisim::cpu::CpuBackend;
use verisim::geometry::GeometryPool;
use verisim::geometry::map::build_static_world;
use verisim::scenario;
use verisim::{FrameInputs, Simulation};

fn quickstart() -> Simulation {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/quickstart.ron");
    let (s, _) = scenario::load(&path).expect("quickstart loads");
    let mut sim = Simulation::new(s);
    sim.advance_to_frame(3);
    sim
}

/// Inputs with only the lidar, or only the camera.
fn split(inputs: &FrameInputs) -> (FrameInputs, FrameInputs) {
    let mut lidar = inputs.clone();
    lidar.cameras.clear();
    let mut camera = inputs.clone();
    camera.lidar = None;
    (lidar, camera)
}

fn bench_bvh(c: &mut Criterion) {
    let sim = quickstart();
    let world = build_static_world(&sim.scenario.map, sim.scenario.run.seed);
    let mut g = c.benchmark_group("bvh");
    g.throughput(Throughput::Elements(world.mesh.len() as u64));
    g.bench_function(
        format!("build/quickstart_static_{}_tris", world.mesh.len()),
        |b| {
            b.iter(|| {
                let mut pool = GeometryPool::default();
                pool.add(&world.mesh);
                pool
            })
        },
    );
    g.finish();
}

fn bench_backend(c: &mut Criterion, name: &str, backend: &mut dyn Backend, inputs: &FrameInputs) {
    let (lidar, camera) = split(inputs);
    let rays = lidar
        .lidar
        .as_ref()
        .map_or(0, |l| (l.params.channels * l.params.columns) as u64);
    let mut g = c.benchmark_group("lidar");
    g.throughput(Throughput::Elements(rays));
    g.bench_function(format!("hdl64/quickstart/{name}"), |b| {
        b.iter(|| backend.render(&lidar).unwrap())
    });
    g.finish();
    let cam = &camera.cameras[0].params;
    let mut g = c.benchmark_group("camera");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        format!("{}x{}/quickstart/{name}", cam.width, cam.height),
        |b| b.iter(|| backend.render(&camera).unwrap()),
    );
    g.finish();
}

fn bench_sensors(c: &mut Criterion) {
    let mut sim = quickstart();
    let inputs = sim.frame_inputs();
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    bench_backend(c, "cpu", &mut cpu, &inputs);
    match verisim::gpu::GpuBackend::new(&sim.assets.pool) {
        Ok(mut gpu) => {
            eprintln!("GPU benches on {}", gpu.describe());
            bench_backend(c, "gpu", &mut gpu, &inputs);
        }
        Err(e) => eprintln!("GPU benches skipped: {e}"),
    }
}

fn bench_frame_extract(c: &mut Criterion) {
    let mut sim = quickstart();
    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements(1));
    g.bench_function("frame_inputs/quickstart", |b| b.iter(|| sim.frame_inputs()));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(4));
    targets = bench_bvh, bench_sensors, bench_frame_extract
}
criterion_main!(benches);
