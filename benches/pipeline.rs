//! The end-to-end ceiling that everything but the renderer sets: whole `render` runs (simulate,
//! label, encode, checksum, write, records, manifest) with a backend that hands back frames
//! rendered beforehand on the CPU, so the renderer costs nothing but a copy. `render_only` is
//! the same run with the frames dropped (the render thread's own work: simulation, camera
//! metering, the copy); `end_to_end` writes every format with `--no-fsync`. On a machine with
//! a GPU, a renderer faster than `end_to_end` here leaves the run bound by the writer.
//!
//! The files go under `VERISIM_BENCH_OUT` (default `/dev/shm`, else the temporary directory),
//! a fresh directory per run.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use verisim::backend::cpu::CpuBackend;
use verisim::backend::{Backend, BackendError};
use verisim::frame::FrameInputs;
use verisim::frame::SensorFrames;
use verisim::geometry::GeometryPool;
use verisim::pipeline::render::{RenderOptions, render_with};
use verisim::scenario::{self, Scenario, Source};

/// Frames rendered once on the CPU, by frame index, handed back on every later run.
type Cache = Arc<Mutex<HashMap<u32, SensorFrames>>>;

struct Replay {
    cache: Cache,
    cpu: CpuBackend,
    queue: VecDeque<SensorFrames>,
}

impl Backend for Replay {
    fn describe(&self) -> String {
        "replay of frames rendered beforehand on the CPU".into()
    }

    fn submit(&mut self, inputs: &FrameInputs) -> Result<(), BackendError> {
        let cached = self.cache.lock().unwrap().get(&inputs.frame).cloned();
        let frames = match cached {
            Some(f) => f,
            None => {
                let f = self.cpu.render(inputs)?;
                self.cache.lock().unwrap().insert(inputs.frame, f.clone());
                f
            }
        };
        self.queue.push_back(frames);
        Ok(())
    }

    fn collect(&mut self) -> Result<SensorFrames, BackendError> {
        Ok(self.queue.pop_front().expect("a frame was submitted"))
    }

    fn frames_in_flight(&self) -> usize {
        3
    }
}

fn out_root() -> PathBuf {
    std::env::var_os("VERISIM_BENCH_OUT")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(std::env::temp_dir)
}

fn load(scene: &str, sets: &[&str]) -> (Scenario, Source) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenes")
        .join(format!("{scene}.ron"));
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let (s, source) = scenario::load(&path).expect("the scene loads");
    let s = scenario::apply_overrides(&s, &sets).expect("the overrides apply");
    (s, source)
}

fn bench_pipeline(c: &mut Criterion) {
    const FRAMES: u32 = 24;
    let frames = format!("run.frames={FRAMES}");
    let cases: [(&str, &str, Vec<&str>); 3] = [
        ("quickstart", "lidar", vec!["rig.cameras=[]", &frames]),
        ("quickstart", "camera", vec!["rig.lidars=[]", &frames]),
        ("kitti_urban", "camera+lidar", vec![&frames]),
    ];
    let root = out_root().join(format!("verisim-pipeline-{}", std::process::id()));
    for (scene, sensors, sets) in cases {
        let (scenario, source) = load(scene, &sets);
        let cache = Cache::default();
        let out = root.join(format!("{scene}-{sensors}"));
        let clear = || {
            let _ = std::fs::remove_dir_all(&out);
        };
        let run = |render_only: bool| {
            let mut opts = RenderOptions::new(&out, verisim::backend::BackendKind::Cpu);
            opts.render_only = render_only;
            opts.fsync = false;
            let make = |pool: &GeometryPool| -> Result<Box<dyn Backend>, BackendError> {
                Ok(Box::new(Replay {
                    cache: cache.clone(),
                    cpu: CpuBackend::new(pool),
                    queue: VecDeque::new(),
                }))
            };
            render_with(&scenario, &source, &opts, make, |_| {}).expect("the run succeeds")
        };
        let mut g = c.benchmark_group(format!("pipeline/{scene}/{sensors}"));
        g.throughput(Throughput::Elements(FRAMES as u64));
        for (name, render_only) in [("render_only", true), ("end_to_end", false)] {
            g.bench_function(name, |b| {
                // Renders the frames once, into the cache, only for the cases the filter runs.
                if cache.lock().unwrap().is_empty() {
                    clear();
                    run(true);
                }
                b.iter_batched(clear, |()| run(render_only), BatchSize::PerIteration)
            });
        }
        g.finish();
        // CPU time per frame of one more end-to-end run: what the writer costs whatever the
        // renderer, so that a machine's ceiling is its writer threads over the writer's time.
        if !cache.lock().unwrap().is_empty() {
            clear();
            let s = run(false).stages;
            let per_frame = |cpu: Option<f64>| cpu.map_or(f64::NAN, |c| c * 1e3 / FRAMES as f64);
            eprintln!(
                "pipeline/{scene}/{sensors}: CPU per frame end to end: render thread {:.2} ms, \
                 writer {:.2} ms over {} threads",
                per_frame(s.render_cpu),
                per_frame(s.writer_cpu),
                s.writer_threads
            );
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_pipeline
}
criterion_main!(benches);
