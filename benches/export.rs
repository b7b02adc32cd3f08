//! Where a labeled frame's CPU time goes after rendering, on one core: 2D/3D box extraction
//! (label_camera), COCO RLE masks, encoding every KITTI file (PNG image/depth/semantic/
//! instance, velodyne .bin, labels, times, calib) and their SHA-256 checksums, and the MCAP
//! episode file assembled from those files when a run finishes (`mcap_per_frame`), and
//! nuScenes' per-frame work (`nuscenes_frame`). With the
//! renderer on a GPU these run on the writer's threads while the next frame renders, so
//! (cores / this time) bounds the end-to-end rate (`benches/pipeline.rs` measures it whole).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use verisim::Simulation;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::export::dataset::{DatasetDir, Format, FrameRecord, RunConfig, sha256_hex};
use verisim::export::kitti::{KittiLayout, encode_frame};
use verisim::export::{coco, mcap, nuscenes};
use verisim::labels::boxes::label_camera;
use verisim::scenario;

fn bench_export(c: &mut Criterion) {
    // One core: the figure is per core; the writer runs frames on all cores at once.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool");
    // quickstart (11 actors) and kitti_urban (about 30 labelled objects, cars beside the
    // camera), whose writer bounds its end-to-end rate on a GPU.
    for (scene, frame) in [("quickstart", 3), ("kitti_urban", 3)] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenes")
            .join(format!("{scene}.ron"));
        let (s, source) = scenario::load(&path).expect("the scene loads");
        let cfg = RunConfig::new(&s, &source, &[], &[Format::Mcap], None);
        let mut sim = Simulation::new(s);
        sim.advance_to_frame(frame);
        let inputs = sim.frame_inputs();
        let pool = sim.assets.pool.clone();
        let frames = CpuBackend::new(&pool).render(&inputs).expect("renders");
        let cam_in = &inputs.cameras[0];
        let cam = &frames.cameras[0];
        let labels = label_camera(&pool, cam_in, inputs.lidar.as_ref(), cam, &inputs.objects);
        let layout = KittiLayout::new(std::path::Path::new("/nonexistent"), 1, true);
        let mut g = c.benchmark_group(format!("export/{scene}/1core"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("label_camera", |b| {
            b.iter(|| {
                one.install(|| {
                    label_camera(&pool, cam_in, inputs.lidar.as_ref(), cam, &inputs.objects)
                })
            })
        });
        g.bench_function("coco_rle", |b| {
            b.iter(|| one.install(|| coco::objects(cam)))
        });
        g.bench_function("encode_kitti_files", |b| {
            b.iter(|| one.install(|| encode_frame(&layout, &inputs, &frames, &labels).unwrap()))
        });
        // nuScenes' per-frame work: the sweep in five floats and the annotated objects (the
        // points inside each box counted); the tables are written once at the end.
        g.bench_function("nuscenes_frame", |b| {
            b.iter(|| {
                one.install(|| {
                    let lidar = frames.lidar.as_ref().expect("a lidar");
                    (
                        nuscenes::pcd_bin(lidar),
                        nuscenes::world_objects(&inputs, Some(lidar), &labels),
                    )
                })
            })
        });
        let files = encode_frame(&layout, &inputs, &frames, &labels).unwrap();
        g.bench_function("sha256_of_files", |b| {
            b.iter(|| files.iter().map(|(_, f)| sha256_hex(f)).collect::<Vec<_>>())
        });
        // An episode of EPISODE copies of the frame on disk, assembled into one MCAP file (a
        // tmpfs or page-cached disk: the reads are of files just written).
        const EPISODE: u32 = 4;
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let dir = DatasetDir::new(tmp.path());
        let disk = KittiLayout::new(tmp.path(), inputs.cameras.len(), true);
        let mut records = Vec::new();
        for f in 0..EPISODE {
            let mut at = inputs.clone();
            at.frame = f;
            for (p, bytes) in encode_frame(&disk, &at, &frames, &labels).unwrap() {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, bytes).unwrap();
            }
            records.push(FrameRecord {
                frame: f,
                seed: 0,
                time_s: f as f64 * 0.1,
                variation: None,
                braking: None,
                pose: [0.0; 12],
                sk_calib: String::new(),
                coco: Vec::new(),
                files: Vec::new(),
                sk_points: Default::default(),
                mcap: Some(mcap::frame_facts(&inputs, &labels, Vec::new())),
            });
        }
        let refs: Vec<&FrameRecord> = records.iter().collect();
        g.throughput(Throughput::Elements(EPISODE as u64));
        g.bench_function("mcap_per_frame", |b| {
            b.iter(|| one.install(|| mcap::write_episode(&dir, &cfg, 0, &refs).unwrap()))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_export
}
criterion_main!(benches);
