//! Statistics throughput on the CPU, one core (per-frame functions are sequential; rayon spreads
//! frames over cores): lidar points/s and camera frames/s at 1242x375, plus `check` end to end
//! on the shared real data.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use verisim::reality::camera::{CameraAgg, accumulate_image};
use verisim::reality::lidar::{LidarAgg, LidarValidity, SensorModel, accumulate_frame};
use verisim::reality::readers::{read_lidar, read_rgb};

fn real_root() -> PathBuf {
    std::env::var_os("VERISIM_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"))
}

fn benches(c: &mut Criterion) {
    let k = real_root().join("kitti_object_openpcdet/training");
    let Ok(pc) = read_lidar(&k.join("velodyne/000001.bin")) else {
        eprintln!(
            "real data not found under {}; skipping reality benches",
            real_root().display()
        );
        return;
    };
    let model = SensorModel::hdl64e();
    let mut g = c.benchmark_group("reality/lidar");
    g.throughput(Throughput::Elements(pc.points.len() as u64));
    g.bench_function("hdl64/kitti_frame_stats", |b| {
        let mut agg = LidarAgg::new(&model);
        let mut v = LidarValidity::default();
        b.iter(|| {
            black_box(accumulate_frame(
                &model,
                black_box(&pc.points),
                None,
                &mut agg,
                &mut v,
            ))
        })
    });
    g.finish();

    let img = read_rgb(&k.join("image_2/000001.png")).expect("image");
    let mut g = c.benchmark_group("reality/camera");
    g.throughput(Throughput::Elements(1));
    g.bench_function("kitti_1242x375_frame_stats", |b| {
        let mut agg = CameraAgg::default();
        b.iter(|| {
            black_box(accumulate_image(
                img.width() as usize,
                img.height() as usize,
                black_box(img.as_raw()),
                &mut agg,
            ))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("reality/check");
    g.sample_size(10);
    g.bench_function("end_to_end_kitti_3_vs_3", |b| {
        let out = tempfile::tempdir().unwrap();
        let opts = verisim::reality::CheckOptions {
            synthetic: (0..3)
                .map(|i| k.join(format!("velodyne/{i:06}.bin")))
                .collect(),
            real: verisim::reality::RealSource::Datasets(
                (3..6)
                    .map(|i| k.join(format!("velodyne/{i:06}.bin")))
                    .collect(),
            ),
            out_dir: out.path().join("r"),
            policy: None,
            tier: None,
            sensor: None,
            truth: Default::default(),
            power: None,
        };
        b.iter(|| black_box(verisim::reality::run_check(&opts).unwrap().verdict))
    });
    g.finish();
}

criterion_group!(reality, benches);
criterion_main!(reality);
