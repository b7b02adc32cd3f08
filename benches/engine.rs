//! Engine throughput: BVH build, lidar sweep and camera frame on the quickstart scene, on the
//! CPU backend and (when an adapter exists) on the GPU backend.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
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
    match verisim::backend::gpu::GpuBackend::new(&sim.assets.pool) {
        Ok(mut gpu) => {
            eprintln!("GPU benches on {}", gpu.describe());
            bench_backend(c, "gpu", &mut gpu, &inputs);
        }
        Err(e) => eprintln!("GPU benches skipped: {e}"),
    }
}

/// A world with about 1,000 IDM vehicles and 1,000 pedestrians.
fn busy_world() -> Simulation {
    let mut roads = String::new();
    for k in 0..10 {
        let y = k as f32 * 60.0;
        roads += &format!(
            "(shape: Straight(from: (0.0, {y}), to: (5000.0, {y})), lanes_per_direction: 2, sidewalk_width_m: 0.0),"
        );
    }
    let mut peds = String::new();
    for k in 0..1000 {
        let (x, y) = ((k % 100) as f32 * 50.0, (k / 100) as f32 * 60.0 + 9.0);
        peds += &format!(
            "(kind: Pedestrian, route: [({x}, {y}), ({}, {y})], speed_m_per_s: 1.4, loop_route: true),",
            x + 40.0
        );
    }
    let text = format!(
        "Scenario(name: \"busy\", map: (ground_size_m: 0.0, roads: [{roads}]), actors: [{peds}],\n\
         ego: (spawn: Some((0.0, -20.0, 0.0))), rig: (), traffic: Some((vehicles_per_km_per_lane: 5.0)),\n\
         run: (frames: 1))"
    );
    let source = scenario::Source {
        path: "busy.ron".into(),
        text,
    };
    Simulation::new(scenario::parse(&source).expect("busy scenario parses"))
}

fn bench_world_step(c: &mut Criterion) {
    let mut sim = busy_world();
    let n = sim.states().len();
    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        format!("step/{n}_actors_1000_vehicles_1000_pedestrians"),
        |b| b.iter(|| sim.step()),
    );
    g.finish();
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
    targets = bench_bvh, bench_sensors, bench_frame_extract, bench_world_step
}
criterion_main!(benches);
