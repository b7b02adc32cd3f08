//! Physics benches: particle advection (CPU twin, rayon) and vehicle steps.

use std::hint::black_box;

use bytemuck::Zeroable;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::{Vec2, Vec3};
use verisim::physics::friction::RoadSurface;
use verisim::physics::lateral::{
    CenterLine, Pose2, PurePursuitParams, bicycle_step, pure_pursuit_steer_near,
};
use verisim::physics::longitudinal::{
    LeaderState, car_following_accel_m_per_s2, integrate_longitudinal,
};
use verisim::physics::precip::{
    KIND_RAIN, KIND_SNOW, Particle, PrecipConfig, PrecipParams, advance_particles_cpu,
    spawn_particle,
};
use verisim::physics::vehicle::VehicleType;

fn particles_bench(c: &mut Criterion) {
    const N: u32 = 1_000_000;
    let config = PrecipConfig {
        half_extents_m: Vec3::new(40.0, 40.0, 10.0),
        wind_m_per_s: Vec3::new(3.0, 1.0, 0.0),
        dt_s: 0.05,
        rain_mm_per_h: 10.0,
        snow_mm_per_h: 1.0,
        seed: 1,
        ..Default::default()
    };
    let mut group = c.benchmark_group("physics/particles");
    group.throughput(Throughput::Elements(N as u64));
    for (name, kind) in [("advect_1M", KIND_RAIN), ("advect_1M_snow", KIND_SNOW)] {
        let mut params = config.params(N).unwrap();
        let mut particles: Vec<Particle> =
            (0..N).map(|i| spawn_particle(kind, i, &params)).collect();
        group.bench_function(name, |b| {
            b.iter(|| {
                params.tick = params.tick.wrapping_add(1);
                advance_particles_cpu(black_box(&mut particles), black_box(&params));
            })
        });
    }
    group.finish();
    let _ = PrecipParams::zeroed();
    gpu_particles_bench(c, &config);
}

/// The same advection on the GPU (one step per iteration, waited for).
fn gpu_particles_bench(c: &mut Criterion, config: &PrecipConfig) {
    const N: u32 = 1_000_000;
    let ctx = match verisim::backend::gpu::GpuContext::new() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("GPU particle bench skipped: {e}");
            return;
        }
    };
    eprintln!("GPU particle bench on {}", ctx.describe());
    let mut params = config.params(N).unwrap();
    let particles: Vec<Particle> = (0..N)
        .map(|i| spawn_particle(KIND_RAIN, i, &params))
        .collect();
    let mut stage = verisim::backend::gpu::particles::ParticleStage::new(&ctx, &particles);
    let mut group = c.benchmark_group("physics/particles");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("advect_1M/gpu", |b| {
        b.iter(|| {
            params.tick = params.tick.wrapping_add(1);
            stage.advance(&ctx, std::slice::from_ref(&params));
            stage.finish(&ctx).unwrap();
        })
    });
    group.finish();
}

struct Vehicle {
    pose: Pose2,
    speed_m_per_s: f32,
    arc_m: f32,
    segment: usize,
}

fn idm_bench(c: &mut Criterion) {
    const N: usize = 1000;
    let r = 2000.0f32;
    let pts: Vec<Vec2> = (0..=512)
        .map(|i| {
            let a = i as f32 / 512.0 * std::f32::consts::TAU - std::f32::consts::FRAC_PI_2;
            Vec2::new(r * a.cos(), r + r * a.sin())
        })
        .collect();
    let line = CenterLine::new(&pts).unwrap();
    let ring_m = line.length_m();
    let kind = VehicleType::Car;
    let (idm, bicycle, pp) = (
        kind.idm_params(),
        kind.bicycle_params(),
        PurePursuitParams::default(),
    );
    let mu = RoadSurface::dry().mu(20.0);
    let spacing = ring_m / N as f32;
    let mut vehicles: Vec<Vehicle> = (0..N)
        .map(|i| {
            let s = i as f32 * spacing;
            Vehicle {
                pose: Pose2 {
                    position_m: line.point_at(s),
                    heading_rad: {
                        let d = line.point_at(s + 0.5) - line.point_at(s);
                        d.y.atan2(d.x)
                    },
                },
                speed_m_per_s: 15.0,
                arc_m: s,
                segment: line.project(line.point_at(s)).segment,
            }
        })
        .collect();
    let dt = 0.05;
    let mut group = c.benchmark_group("physics/idm");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("step_1000", |b| {
        b.iter(|| {
            let leaders: Vec<(f32, f32)> = (0..N)
                .map(|i| {
                    let ahead = &vehicles[(i + 1) % N];
                    let gap =
                        (ahead.arc_m - vehicles[i].arc_m).rem_euclid(ring_m) - kind.length_m();
                    (gap, ahead.speed_m_per_s)
                })
                .collect();
            for (v, (gap, leader_speed)) in vehicles.iter_mut().zip(leaders) {
                let a = car_following_accel_m_per_s2(
                    v.speed_m_per_s,
                    25.0,
                    Some(LeaderState {
                        gap_m: gap,
                        speed_m_per_s: leader_speed,
                    }),
                    &idm,
                    mu,
                );
                let step = integrate_longitudinal(v.speed_m_per_s, a, dt);
                let cmd = pure_pursuit_steer_near(
                    v.pose,
                    step.speed_m_per_s,
                    &line,
                    &pp,
                    &bicycle,
                    v.segment,
                );
                v.segment = cmd.projection.segment;
                v.pose = bicycle_step(v.pose, step.distance_m, cmd.steer_rad, &bicycle);
                v.speed_m_per_s = step.speed_m_per_s;
                v.arc_m = (v.arc_m + step.distance_m).rem_euclid(ring_m);
            }
            black_box(&vehicles);
        })
    });
    group.finish();
}

criterion_group!(benches, particles_bench, idm_bench);
criterion_main!(benches);
